//! Cisco's SLAC files and reservation flow between a device and `slp authority serve`, driven
//! the way public tools drive CSSM: a saved SLAC request read field by field and sent as an
//! `authrequest` (dbrown92700/SmartLicensing `slac_report.py` / `main.py`), the answer imported
//! on the device; the code returned by the return code the device printed (gve-sw
//! `03 - remove license.py`); a policy file as CSSM's download shapes it.

use serde_json::{Value, json};

use crate::util::{Lab, T0, auth, authority, field, init_sw1x, pool_figures, start_service};

const T1: &str = "2026-11-10T10:00:00Z";
const API: &str = "/services/api/smart-accounts-and-licensing";

/// The `<data>` text of the first `<element>` of an XML document, unescaped: what
/// `xmltodict.parse(xml)['smartLicense'][element]['data']` gives the scripts.
fn xml_data(xml: &str, element: &str) -> String {
    let open = format!("<{element}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{element}> in:\n{xml}"));
    let rest = &xml[start + open.len()..];
    let data = rest.strip_prefix("<data>").unwrap_or_else(|| panic!("<{element}> has no <data>"));
    let end = data.find("</data>").unwrap();
    data[..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// A new API client of example.com with `role`: (client id, secret).
fn client(lab: &Lab, name: &str, role: &str) -> (String, String) {
    let out = auth(
        lab,
        T0,
        &["client", "create", "--account", "example.com", "--name", name, "--role", role, "--json"],
    );
    let client: Value = serde_json::from_str(&out).unwrap();
    let text = |member: &str| client[member].as_str().unwrap().to_owned();
    (text("client_id"), text("client_secret"))
}

/// The scripts' token request: a form body with the client credentials.
fn token(url: &str, (id, secret): &(String, String)) -> String {
    let form = format!("client_id={id}&client_secret={secret}&grant_type=client_credentials");
    let reply: Value = reqwest::blocking::Client::new()
        .post(format!("{url}/oauth2/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .unwrap()
        .json()
        .unwrap();
    reply["access_token"].as_str().unwrap().to_owned()
}

/// A served authority: (server, a reporter's token, the numeric id of example.com / Lab looked
/// up by an admin).
fn served(lab: &Lab) -> (crate::util::Running, String, i64) {
    let reporter = client(lab, "reporter", "reporter");
    let admin = client(lab, "admin", "admin");
    let server =
        start_service(lab, T1, &["authority", "--data", "A", "serve", "--listen", "127.0.0.1:0"]);
    let va_id = lab_va_id(&server.url, &token(&server.url, &admin));
    let token = token(&server.url, &reporter);
    (server, token, va_id)
}

/// POST `body` (as `json.dumps` sends it) with the scripts' headers; the JSON reply.
fn post(url: &str, token: &str, headers: &[(&str, String)], body: &Value) -> Value {
    let mut request = reqwest::blocking::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("Accept", "*/*")
        .header("Content-type", "application/json")
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().unwrap();
    let status = response.status();
    let reply: Value = response.json().unwrap();
    assert!(status.is_success(), "{status}: {reply}");
    reply
}

/// The numeric id of example.com / Lab from `GET v2/accounts/search`.
fn lab_va_id(url: &str, token: &str) -> i64 {
    let reply: Value = reqwest::blocking::Client::new()
        .get(format!("{url}{API}/v2/accounts/search"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let account = reply["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["domain"] == "example.com")
        .unwrap();
    let va = account["virtual_accounts"].as_array().unwrap().iter().find(|v| v["name"] == "Lab");
    va.unwrap()["virtual_account_id"].as_i64().unwrap()
}

#[test]
fn a_saved_slac_request_read_like_slac_report_py_gets_a_code_the_device_installs() {
    let lab = Lab::new();
    authority(&lab);
    init_sw1x(&lab, T1);
    let (server, token, va_id) = served(&lab);

    // `main.py` get_slac_request: the two device commands, then the file.
    lab.exec(
        "D",
        T1,
        &[
            "license smart authorization request add hseck9 local",
            "license smart authorization request save bootflash:slac.txt",
        ],
    );
    let slac_xml = lab.read("D/bootflash/slac.txt");
    assert!(slac_xml.contains("\n<smartLicense>\n"), "{slac_xml}");

    // `SlacReport.create_slac_req_payload`, member by member (a missing one is a KeyError there).
    let sys_info: Value =
        serde_json::from_str(&xml_data(&slac_xml, "smartLicenseSystemInfo")).unwrap();
    let auth_request: Value =
        serde_json::from_str(&xml_data(&slac_xml, "smartLicenseAuthRequest")).unwrap();
    let first = &auth_request[0];
    for member in [
        "sudi",
        "hostname",
        "software_tag_identifier",
        "keys",
        "trust_request",
        "confirm_code",
        "remove_code",
    ] {
        assert!(first.get(member).is_some(), "auth request lacks {member}: {first}");
    }
    assert_eq!(first["hostname"], "sw1");
    assert_eq!(first["keys"][0]["count"], 1);
    let device = &sys_info["device_list"][0];
    assert_eq!(device["hostname"], "sw1", "{sys_info}");
    let upload_payload = json!({
        "data": {
            "timestamp": sys_info["timestamp"],
            "nonce": sys_info["nonce"],
            "license_pool_id": va_id,
            "device_type": "DNA On Prem",
            "licenses": [{
                "sudi": first["sudi"],
                "software_tag_identifier": device["software_tag_identifier"],
                "hostname": device["hostname"],
                "trust_request": device["hostname"],
                "keys": first["keys"],
                "confirm_code": first["confirm_code"],
                "remove_code": first["remove_code"],
            }],
        }
    });
    // `virtual_account_header`. The script's base URL doubles the slash before `services`;
    // that the gateway takes is tested with the routes, so the path here is the plain one.
    let requesting = json!({
        "udi_pid": sys_info["sudi"]["udi_pid"],
        "udi_serial_number": sys_info["sudi"]["udi_serial_number"],
        "display_name": sys_info["hostname"],
        "host_identifier": sys_info["hostname"],
    });
    let headers = [
        ("X-CSW-REQUESTING-SYSTEM", requesting.to_string()),
        ("X-CSW-SMART-ACCOUNT-ID", "example.com".to_owned()),
        ("X-CSW-VIRTUAL-ACCOUNT-ID", va_id.to_string()),
    ];
    let url = format!("{}{API}", server.url);
    let response =
        post(&format!("{url}/v2/devices/authrequest"), &token, &headers, &upload_payload);
    assert_eq!(response["status"], "OK_POLL", "{response}");

    // `create_poll_payload`, then poll until COMPLETE.
    let poll_payload = json!({
        "data": {
            "timestamp": response["timestamp"],
            "nonce": response["nonce"],
            "poll_id": response["poll_id"],
            "type": "authorizations",
            "action": "authorizations",
        }
    });
    let reply = post(&format!("{url}/v2/accounts/poll"), &token, &headers, &poll_payload);
    assert_eq!(reply["status"], "COMPLETE", "{reply}");
    let entry = &reply["data"]["authorizations"][0];
    assert_eq!(entry["status"], "SUCCESS", "{reply}");
    use base64::Engine;
    let ack = base64::engine::general_purpose::STANDARD
        .decode(entry["smart_license"].as_str().unwrap())
        .unwrap();
    std::fs::write(lab.path("ack_slac.txt"), ack).unwrap();
    assert_eq!(pool_figures(&lab, T1, "hseck9")[0], "2");

    // `send_ack`: the device imports it and the feature is authorized.
    let out = lab.exec(
        "D",
        T1,
        &[
            &format!("license smart import {}", lab.path("ack_slac.txt").display()),
            "show license authorization",
        ],
    );
    assert!(out.contains("Import Data Successful"), "{out}");
    assert!(out.contains("%SMART_LIC-6-AUTHORIZATION_INSTALL_SUCCESS"), "{out}");
    assert!(out.contains("Status: SMART AUTHORIZATION INSTALLED"), "{out}");
    let licenses = auth(&lab, T1, &["license", "list", "--account", "example.com", "--va", "Lab"]);
    let row = licenses.lines().find(|l| l.starts_with("hseck9")).unwrap();
    assert!(row.split_whitespace().any(|w| w == "1"), "one key reserved: {licenses}");

    // A request saved now (for a new code in its place) carries the confirmation code of the
    // installed code.
    lab.exec(
        "D",
        T1,
        &[
            "license smart authorization request replace hseck9 local",
            "license smart authorization request save bootflash:slac2.txt",
        ],
    );
    let again: Value = serde_json::from_str(&xml_data(
        &lab.read("D/bootflash/slac2.txt"),
        "smartLicenseAuthRequest",
    ))
    .unwrap();
    let shown = lab.exec("D", T1, &["show license authorization"]);
    assert_eq!(again[0]["confirm_code"], field(&shown, "Last Confirmation code:"));
    drop(server);
}

#[test]
fn a_code_reserved_by_pid_and_serial_installs_and_its_printed_return_code_frees_the_key() {
    let lab = Lab::new();
    authority(&lab);
    init_sw1x(&lab, T1);
    let (server, token, va_id) = served(&lab);
    let url = format!("{}{API}", server.url);
    // `createDeviceHeaders`.
    let headers = [
        ("X-CSW-SMART-ACCOUNT-ID", "example.com".to_owned()),
        ("X-CSW-VIRTUAL-ACCOUNT-ID", va_id.to_string()),
        (
            "X-CSW-REQUESTING-SYSTEM",
            json!({"udi_pid": "C9300X-24HX", "udi_serial_number": "FOC2233A5ZV"}).to_string(),
        ),
    ];
    // `LICENSE_TAG`: the entitlement tag of hseck9 as the pool lists it.
    let listed =
        auth(&lab, T1, &["license", "list", "--account", "example.com", "--va", "Lab", "--json"]);
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let row = listed.as_array().unwrap().iter().find(|r| r["license"] == "hseck9").unwrap();
    let hsec = row["entitlement_tag"].as_str().unwrap().to_owned();

    // `requestAuthCode`: no file from the device, only its PID and serial number.
    let body = json!({"data": {
        "timestamp": 1_794_736_800_000_i64,
        "nonce": "Q1w2E3r4T5y6U7i8",
        "licenses": [{
            "sudi": {"udi_pid": "C9300X-24HX", "udi_serial_number": "FOC2233A5ZV"},
            "hostname": "sw1",
            "keys": [{"entitlement": hsec, "count": "1"}],
        }],
    }});
    let poll_id =
        post(&format!("{url}/v2/devices/authrequest"), &token, &headers, &body)["poll_id"].clone();
    let poll = |poll_id: &Value, nonce: &str| -> Value {
        let body = json!({"data": {
            "timestamp": "1794736801000", "nonce": nonce, "poll_id": poll_id, "action": "authorizations",
        }});
        let reply = post(&format!("{url}/v2/accounts/poll"), &token, &headers, &body);
        assert_eq!(reply["status"], "COMPLETE", "{reply}");
        reply["data"]["authorizations"][0].clone()
    };
    let entry = poll(&poll_id, "Q1w2E3r4T5y6U7i8");
    assert_eq!(entry["status"], "SUCCESS", "{entry}");
    use base64::Engine;
    let license_key = base64::engine::general_purpose::STANDARD
        .decode(entry["smart_license"].as_str().unwrap())
        .unwrap();
    std::fs::write(lab.path("lic.txt"), license_key).unwrap();
    assert_eq!(pool_figures(&lab, T1, "hseck9")[0], "2");

    // "license smart import <bootflash|tftp>:lic.txt"
    let out = lab.exec(
        "D",
        T1,
        &[
            &format!("license smart import {}", lab.path("lic.txt").display()),
            "show license authorization",
        ],
    );
    assert!(out.contains("%SMART_LIC-6-AUTHORIZATION_INSTALL_SUCCESS: A new licensing authorization code was successfully installed on: PID:C9300X-24HX,SN:FOC2233A5ZV."), "{out}");
    assert!(out.contains("Status: SMART AUTHORIZATION INSTALLED"), "{out}");
    lab.exec(
        "D",
        T1,
        &["configure terminal", "interface Tunnel0", "tunnel mode ipsec ipv4", "end"],
    );

    // The device gives the code back and prints its return code; 03 - remove license.py sends it.
    lab.exec(
        "D",
        T1,
        &[
            "configure terminal",
            "interface Tunnel0",
            "no tunnel mode ipsec ipv4",
            "exit",
            "platform hsec-license-release",
            "end",
        ],
    );
    let out =
        lab.exec("D", T1, &["license smart authorization return local offline bootflash:ret.txt"]);
    let remove_code = out
        .lines()
        .skip_while(|l| !l.contains("Enter this return code"))
        .find_map(|l| l.strip_prefix("Return code: "))
        .unwrap_or_else(|| panic!("no return code in:\n{out}"))
        .trim()
        .to_owned();
    let body = json!({"data": {
        "timestamp": 1_794_736_900_000_i64,
        "nonce": "R9e8M7o6V5e4C3o2",
        "licenses": [{
            "sudi": {"udi_pid": "C9300X-24HX", "udi_serial_number": "FOC2233A5ZV"},
            "hostname": "sw1",
            "keys": [],
            "remove_code": remove_code,
        }],
    }});
    let poll_id =
        post(&format!("{url}/v2/devices/authrequest"), &token, &headers, &body)["poll_id"].clone();
    let device = poll(&poll_id, "R9e8M7o6V5e4C3o2");
    assert_eq!(device["sudi"]["udi_serial_number"], "FOC2233A5ZV");
    assert!(device["error_code"].is_null(), "{device}");
    assert_eq!(device["status"], "SUCCESS", "{device}");
    assert!(device["smart_license"].is_null(), "{device}");
    let licenses =
        auth(&lab, T1, &["license", "list", "--account", "example.com", "--va", "Lab", "--json"]);
    let rows: Value = serde_json::from_str(&licenses).unwrap();
    let hseck9 = rows.as_array().unwrap().iter().find(|r| r["license"] == "hseck9").unwrap();
    assert_eq!(hseck9["reserved"], 0, "the key is back in the pool: {hseck9}");
    drop(server);
}
