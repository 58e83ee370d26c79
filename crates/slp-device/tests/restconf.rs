//! RESTCONF's pure parts: content negotiation, RFC 8040 errors and their status codes, query
//! parameters, depth, XML bodies, data paths and the model's refusals as RESTCONF errors.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use slp_device::mgmt::restconf::{
    Content, ErrorType, Format, RestconfError, Target, body_format, filter_xml, negotiate,
    prune_json, read_query, status_of, target, xml_to_json, yang_error,
};
use slp_device::mgmt::yang;

fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(name, HeaderValue::from_str(value).unwrap());
    headers
}

#[test]
fn accept_picks_json_or_xml_as_ios_xe_takes_them_and_refuses_the_rest_with_406() {
    let accept = |value: &str| negotiate(&headers(header::ACCEPT, value));
    assert_eq!(negotiate(&HeaderMap::new()).unwrap(), Format::Xml);
    assert_eq!(accept("application/yang-data+json").unwrap(), Format::Json);
    assert_eq!(accept("application/json").unwrap(), Format::Json);
    assert_eq!(accept("application/yang-data+xml").unwrap(), Format::Xml);
    assert_eq!(accept("application/xml").unwrap(), Format::Xml);
    assert_eq!(accept("*/*").unwrap(), Format::Xml);
    // The first served type in order of preference.
    assert_eq!(accept("text/html, application/yang-data+json").unwrap(), Format::Json);
    assert_eq!(
        accept("application/yang-data+xml;q=0.5, application/yang-data+json").unwrap(),
        Format::Json
    );
    assert_eq!(accept("application/json;q=0, application/xml").unwrap(), Format::Xml);
    let refused = accept("text/html").unwrap_err();
    assert_eq!(refused.status, StatusCode::NOT_ACCEPTABLE);
    assert!(refused.message.contains("text/html"), "{}", refused.message);
}

#[test]
fn a_body_is_read_by_its_content_type_and_another_type_is_415() {
    let json = headers(header::CONTENT_TYPE, "application/yang-data+json; charset=utf-8");
    assert_eq!(body_format(&json, b"{}").unwrap(), Format::Json);
    let xml = headers(header::CONTENT_TYPE, "application/xml");
    assert_eq!(body_format(&xml, b"<a/>").unwrap(), Format::Xml);
    assert_eq!(body_format(&HeaderMap::new(), b"  <a/>").unwrap(), Format::Xml);
    assert_eq!(body_format(&HeaderMap::new(), b"{}").unwrap(), Format::Json);
    let form = headers(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    let refused = body_format(&form, b"a=b").unwrap_err();
    assert_eq!(refused.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(refused.message.contains("x-www-form-urlencoded"), "{}", refused.message);
}

#[test]
fn error_tags_map_to_the_statuses_of_rfc_8040_section_7() {
    for (tag, status) in [
        ("in-use", 409),
        ("invalid-value", 400),
        ("too-big", 413),
        ("missing-attribute", 400),
        ("unknown-element", 400),
        ("unknown-namespace", 400),
        ("access-denied", 403),
        ("lock-denied", 409),
        ("resource-denied", 409),
        ("data-exists", 409),
        ("data-missing", 409),
        ("operation-not-supported", 405),
        ("operation-failed", 500),
        ("malformed-message", 400),
    ] {
        assert_eq!(status_of(tag).as_u16(), status, "{tag}");
    }
}

#[test]
fn errors_are_ietf_restconf_errors_in_json_and_in_xml() {
    let err = RestconfError::invalid("bad <value> & more").at("/cisco-smart-license:licensing");
    let parsed: Value = serde_json::from_str(&err.body(Format::Json)).unwrap();
    assert_eq!(
        parsed,
        json!({"ietf-restconf:errors": {"error": [{
            "error-type": "protocol",
            "error-tag": "invalid-value",
            "error-path": "/cisco-smart-license:licensing",
            "error-message": "bad <value> & more",
        }]}})
    );
    let xml = err.body(Format::Xml);
    assert!(xml.starts_with("<errors xmlns=\"urn:ietf:params:xml:ns:yang:ietf-restconf\">"));
    assert!(
        xml.contains("<error-message xml:lang=\"en\">bad &lt;value&gt; &amp; more</error-message>"),
        "{xml}"
    );
    // Well-formed: it reads back.
    let back = xml_to_json(&xml).unwrap();
    assert_eq!(back["errors"]["error"]["error-tag"], "invalid-value");
    let response = RestconfError::unauthorized("who?").respond(Format::Json);
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Basic realm=\"restconf\"");
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/yang-data+json");
    assert_eq!(ErrorType::Application.as_str(), "application");
}

#[test]
fn query_parameters_depth_and_content_are_read_and_others_refused_by_name() {
    let read = read_query(Some("depth=3&content=nonconfig")).unwrap();
    assert_eq!(read.depth, Some(3));
    assert_eq!(read.content, Content::Nonconfig);
    assert_eq!(read_query(Some("depth=unbounded")).unwrap().depth, None);
    assert_eq!(read_query(None).unwrap().content, Content::All);
    for (query, named) in [
        ("depth=0", "depth"),
        ("depth=x", "depth"),
        ("content=some", "content"),
        ("fields=a", "fields"),
        ("color=red", "color"),
    ] {
        let err = read_query(Some(query)).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(err.message.contains(named), "{query}: {}", err.message);
    }
}

#[test]
fn depth_keeps_the_levels_asked_for_in_json_and_xml() {
    let mut value = json!({"m:top": {"a": {"b": {"c": "1"}}, "leaf": "x", "list": [{"k": "1", "in": {"d": "2"}}]}});
    prune_json(&mut value, 2);
    assert_eq!(value, json!({"m:top": {"a": {}, "leaf": "x", "list": [{}]}}));
    let mut value = json!({"m:top": {"a": {"b": "1"}}});
    prune_json(&mut value, 1);
    assert_eq!(value, json!({"m:top": {}}));
    let xml = "<top xmlns=\"urn:x\"><a><b>1</b></a><leaf>x</leaf><e/></top>";
    assert_eq!(
        filter_xml(xml, |level, _| level > 2).unwrap(),
        "<top xmlns=\"urn:x\"><a></a><leaf>x</leaf><e/></top>"
    );
    assert_eq!(filter_xml(xml, |level, _| level > 1).unwrap(), "<top xmlns=\"urn:x\"></top>");
    assert_eq!(
        filter_xml(xml, |_, name| name == "a").unwrap(),
        "<top xmlns=\"urn:x\"><leaf>x</leaf><e/></top>"
    );
}

#[test]
fn an_xml_body_reads_as_the_json_of_the_same_data_and_bad_xml_is_malformed() {
    let body = format!(
        "<transport xmlns=\"{}\"><transport-type>transport-type-cslu</transport-type><transport-cslu><url-cslu>http://c:8182/cslu/v1/pi</url-cslu></transport-cslu></transport>",
        yang::NAMESPACE
    );
    assert_eq!(
        xml_to_json(&body).unwrap(),
        json!({"cisco-smart-license:transport": {"transport-type": "transport-type-cslu",
            "transport-cslu": {"url-cslu": "http://c:8182/cslu/v1/pi"}}})
    );
    assert_eq!(
        xml_to_json("<input><a>1</a><a>2</a></input>").unwrap(),
        json!({"input": {"a": ["1", "2"]}})
    );
    for bad in ["<a><b></a>", "<a>", "", "<a/><b/>", "text"] {
        let err = xml_to_json(bad).unwrap_err();
        assert_eq!(err.tag, "malformed-message", "{bad}");
        assert_eq!(err.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let other = xml_to_json("<x xmlns=\"urn:other\"/>").unwrap_err();
    assert_eq!(other.tag, "unknown-namespace");
    assert!(other.message.contains("urn:other"), "{}", other.message);
}

#[test]
fn data_paths_name_the_module_and_unknown_ones_are_404_naming_the_path() {
    assert_eq!(target("ietf-yang-library:modules-state").unwrap(), Target::YangLibrary);
    assert_eq!(
        target("cisco-smart-license:licensing/state/state-info/udi").unwrap(),
        Target::Licensing("licensing/state/state-info/udi".to_owned())
    );
    for bad in ["licensing", "cisco-smart-license:other", "ietf-interfaces:interfaces"] {
        let err = target(bad).unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(err.path.as_deref(), Some(format!("/{bad}").as_str()));
    }
    // A node the model does not have, in the URI: 404; in a body: 400.
    let unknown = yang::parse_path("licensing/state/nothing").unwrap_err();
    let in_uri = yang_error(&unknown, true);
    assert_eq!(in_uri.status, StatusCode::NOT_FOUND);
    assert_eq!(in_uri.tag, "unknown-element");
    assert_eq!(yang_error(&unknown, false).status, StatusCode::BAD_REQUEST);
    let segments = yang::parse_path("licensing/config/transport").unwrap();
    let bad_value = yang::edit_lines_json(
        &segments,
        &json!({"cisco-smart-license:transport": {"transport-type": "pigeon"}}),
        false,
    )
    .unwrap_err();
    let err = yang_error(&bad_value, false);
    assert_eq!(err.status, StatusCode::BAD_REQUEST);
    assert_eq!(err.tag, "invalid-value");
    assert_eq!(
        err.path.as_deref(),
        Some("/cisco-smart-license:licensing/config/transport/transport-type")
    );
}
