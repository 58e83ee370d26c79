//! The OpenAPI 3.0 document of the API, generated from the endpoint list the router is built
//! from (so it cannot drift) and from the request and reply types the handlers read and write
//! (`slp_wire::cssm`, via `schemars`: a member read with a tolerant reader is documented as
//! what it accepts, `1` or `"1"`, `null`), and snapshot-tested against
//! `crates/slp-authority/openapi.json`. Each operation's bodies and statuses are in
//! [`contract`], keyed by method and path; a test fails when a route has none.

use schemars::generate::{Contract as SerdeContract, SchemaSettings};
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};
use slp_wire::cssm::{manage, oauth, report};

use super::Endpoint;
use super::reporting::{SMART_ACCOUNT_HEADER, VIRTUAL_ACCOUNT_HEADER};
use crate::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use slp_wire::cssm::limits::MAX_OFFSET;

/// A body of a request or reply.
#[derive(Clone, Copy)]
enum Body {
    /// JSON of a type: its schema in the request (deserialize) or reply (serialize) form.
    Json(fn(&mut SchemaGenerator) -> schemars::Schema),
    /// The token endpoint's parameters: a form, a JSON object, or none (query string).
    Form,
    /// Bytes of a file (not empty).
    Binary,
    /// An XML document.
    Xml,
}

fn json<T: JsonSchema>() -> Body {
    Body::Json(|generator| generator.subschema_for::<T>())
}

/// What one operation reads and answers.
struct Contract {
    request: Option<Body>,
    reply: Body,
    /// Query parameters, from a type's properties.
    query: Option<Body>,
}

/// The contract of `method` `path` (the path as routed, [`super::BASE`] included).
fn contract(method: &str, path: &str) -> Option<Contract> {
    let path = path.strip_prefix(super::BASE).unwrap_or(path);
    let c = |request: Option<Body>, reply: Body| Some(Contract { request, reply, query: None });
    if oauth::PATHS.contains(&path) {
        return c(Some(Body::Form), json::<oauth::TokenReply>());
    }
    let va = path.strip_prefix("/v1/accounts/{domain}/").and_then(|rest| {
        rest.strip_prefix("virtual-accounts/{va}")
            .or_else(|| rest.strip_prefix("customer/virtual-accounts/{va}"))
    });
    let cva = path.ends_with("/customer/virtual-accounts")
        || path.ends_with("/CUSTOMER/virtual-accounts");
    let filter = |reply: Body| {
        Some(Contract { request: None, reply, query: Some(json::<manage::ListFilter>()) })
    };
    match (method, path, va) {
        ("POST", "/v2/devices/reportusage", _) => {
            c(Some(json::<report::ReportUsageRequest>()), json::<report::PollAccepted>())
        }
        ("POST", "/v2/devices/authrequest", _) => {
            c(Some(json::<report::AuthRequestRequest>()), json::<report::PollAccepted>())
        }
        ("POST", "/v2/accounts/poll", _) => {
            c(Some(json::<report::PollRequest>()), json::<report::PollComplete>())
        }
        ("GET", "/v1/authority/key", _) => c(None, json::<super::key::KeyReply>()),
        ("GET", "/v2/accounts", _) => c(None, json::<manage::Accounts>()),
        ("GET", "/v2/accounts/search", _) => c(None, json::<manage::AccountSearch>()),
        ("GET", "/v1/accounts/search", _) => Some(Contract {
            request: None,
            reply: json::<manage::DomainSearch>(),
            query: Some(json::<manage::DomainQuery>()),
        }),
        ("GET", _, None) if cva => c(None, json::<manage::VirtualAccounts>()),
        ("POST", _, None) if cva => {
            c(Some(json::<manage::NewVirtualAccount>()), json::<manage::CreatedVirtualAccount>())
        }
        ("POST", _, Some("/delete")) => c(None, json::<manage::Done>()),
        ("POST", _, Some("/rename")) => c(Some(json::<manage::Rename>()), json::<manage::Done>()),
        ("POST", "/v1/accounts/{domain}/licenses", _) => {
            c(Some(json::<manage::LicenseQuery>()), json::<manage::Licenses>())
        }
        ("GET", _, Some("/devices")) => c(None, json::<manage::Devices>()),
        ("POST", _, Some("/devices/transfer")) => c(
            Some(json::<manage::ProductInstances<manage::DeviceTransfer>>()),
            json::<manage::DevicesChanged>(),
        ),
        ("POST", _, Some("/devices/remove")) => c(
            Some(json::<manage::ProductInstances<manage::DeviceRemoval>>()),
            json::<manage::DevicesChanged>(),
        ),
        ("GET", _, Some("/tokens")) => c(None, json::<manage::Tokens>()),
        ("POST", _, Some("/tokens")) => {
            c(Some(json::<manage::NewToken>()), json::<manage::CreatedToken>())
        }
        ("POST", _, Some("/tokens/revoke")) => {
            c(Some(json::<manage::TokenRevocation>()), json::<manage::TokensRevoked>())
        }
        ("GET", _, Some("/usage-files")) => c(None, json::<manage::UsageFiles>()),
        ("POST", _, Some("/usage-files")) => Some(Contract {
            request: Some(Body::Binary),
            reply: json::<manage::Uploaded>(),
            query: Some(json::<manage::UploadQuery>()),
        }),
        ("GET", _, Some("/usage-files/{sha256}/ack")) => c(None, Body::Xml),
        ("POST", _, Some("/licenses/transfer")) => {
            c(Some(json::<manage::LicenseTransfer>()), json::<manage::LicenseTransferReply>())
        }
        ("POST", _, Some("/licenses/move-requests")) => {
            c(Some(json::<manage::NewMoveRequest>()), json::<manage::OneMoveRequest>())
        }
        ("GET", "/v1/accounts/{domain}/licenses/move-requests", _) => Some(Contract {
            request: None,
            reply: json::<manage::MoveRequests>(),
            query: Some(json::<manage::MoveFilter>()),
        }),
        ("GET", "/v1/accounts/{domain}/licenses/move-requests/{id}", _) => {
            c(None, json::<manage::OneMoveRequest>())
        }
        ("GET", _, Some("/events")) | ("GET", "/v1/accounts/{domain}/events", _) => {
            filter(json::<manage::Events>())
        }
        ("GET", "/v1/accounts/{domain}/alerts", _) => filter(json::<manage::Alerts>()),
        ("GET" | "DELETE", "/v1/accounts/{domain}/reporting-policy", _)
        | ("GET" | "DELETE", _, Some("/reporting-policy")) => c(None, json::<manage::Policy>()),
        ("PUT", "/v1/accounts/{domain}/reporting-policy", _)
        | ("PUT", _, Some("/reporting-policy")) => {
            c(Some(json::<manage::PolicyBody>()), json::<manage::Policy>())
        }
        ("GET", _, Some("/reporting-policy/download")) => c(None, Body::Xml),
        ("POST", "/v3/licenses/summary", _) => {
            c(Some(json::<manage::SummaryQuery>()), json::<manage::LicenseSummary>())
        }
        _ => None,
    }
}

/// The statuses `endpoint` can answer besides its success: what every handler of its kind
/// can be refused with. Every request that carries credentials (a bearer token, a client's)
/// can get 429 while its source address is over its failed-login limit (`slp_http::ops`).
fn refusals(endpoint: &Endpoint, contract: &Contract) -> Vec<u16> {
    let mut statuses = vec![400, 429];
    if endpoint.roles.is_empty() {
        // The token endpoint: a bad client or password.
        statuses.push(401);
    } else {
        statuses.extend([401, 403, 404]);
        if endpoint.method != "GET" {
            statuses.extend([409, 422]);
        }
    }
    if contract.request.is_some() {
        statuses.push(413);
    }
    statuses.sort_unstable();
    statuses.dedup();
    statuses
}

/// The schemas of one contract side, with their named definitions.
struct Schemas {
    generator: SchemaGenerator,
}

impl Schemas {
    fn new(contract: SerdeContract) -> Schemas {
        let settings = SchemaSettings::openapi3().with(|s| {
            s.contract = contract;
            s.definitions_path = "#/components/schemas/".into();
        });
        Schemas { generator: settings.into_generator() }
    }

    fn schema(&mut self, body: Body) -> Value {
        match body {
            Body::Json(schema) => schema(&mut self.generator).to_value(),
            Body::Form => self.generator.subschema_for::<oauth::TokenRequest>().to_value(),
            Body::Binary => json!({"type": "string", "format": "binary", "minLength": 1}),
            Body::Xml => json!({"type": "string"}),
        }
    }
}

fn media(body: Body) -> &'static str {
    match body {
        Body::Json(_) | Body::Form => "application/json",
        Body::Binary => "application/octet-stream",
        Body::Xml => "application/xml",
    }
}

pub(super) fn document(endpoints: &[Endpoint]) -> Value {
    let mut requests = Schemas::new(SerdeContract::Deserialize);
    let mut replies = Schemas::new(SerdeContract::Serialize);
    let mut paths = Map::new();
    for endpoint in endpoints {
        let Some(contract) = contract(endpoint.method, &endpoint.path) else { continue };
        let mut parameters: Vec<Value> = endpoint
            .path
            .split('/')
            .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(|name| path_parameter(name, &mut requests))
            .collect();
        parameters.extend(header_parameters(endpoint));
        if endpoint.paged && endpoint.method == "GET" {
            parameters.extend(page_parameters());
        }
        if let Some(query) = contract.query {
            parameters.extend(query_parameters(&requests.schema(query)));
        }
        let mut responses = Map::new();
        let reply = replies.schema(contract.reply);
        responses.insert(
            endpoint.success.to_string(),
            json!({"description": "success", "content": {media(contract.reply): {"schema": reply}}}),
        );
        for status in refusals(endpoint, &contract) {
            let error = match status {
                429 => "TooManyRequests",
                _ if endpoint.roles.is_empty() => "OAuthError",
                _ => "Error",
            };
            responses.insert(
                status.to_string(),
                json!({"$ref": format!("#/components/responses/{error}")}),
            );
        }
        let mut operation = json!({
            "summary": endpoint.summary,
            "operationId": operation_id(endpoint),
            "parameters": parameters,
            "responses": responses,
        });
        if endpoint.paged {
            operation["description"] = json!(format!(
                "A list, a page at a time: `limit` rows (default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE}; more is refused with 400) after `offset` rows, with `totalRecords`.{}",
                if endpoint.method == "POST" {
                    " `limit` and `offset` are members of the JSON body."
                } else {
                    ""
                }
            ));
        }
        if endpoint.roles.is_empty() {
            operation["security"] = json!([]);
        } else {
            operation["x-slp-roles"] = json!(endpoint.roles);
        }
        if let Some(body) = contract.request {
            let schema = requests.schema(body);
            let content = match body {
                Body::Form => json!({
                    "application/x-www-form-urlencoded": {"schema": schema},
                    "application/json": {"schema": schema},
                }),
                _ => json!({media(body): {"schema": schema}}),
            };
            operation["requestBody"] = json!({"required": true, "content": content});
            if let Body::Form = body {
                operation["description"] = json!(
                    "The parameters as a form or a JSON object; the endpoint also takes them in the query string with an empty body, and the client id and secret by HTTP Basic."
                );
            }
        }
        let entry = paths.entry(endpoint.path.clone()).or_insert_with(|| json!({}));
        entry[endpoint.method.to_lowercase()] = operation;
    }
    let mut paths = Value::Object(paths);
    let schemas = merge_definitions(requests, replies, &mut paths);
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "slp authority API",
            "description": "Cisco Smart Software Manager (CSSM) compatible licensing API of the slp authority. Paths and JSON member names follow Cisco's; see PROTOCOL.md §7. Request schemas say what is accepted (counts as numbers or strings, `null` for optional members); reply schemas what is sent.",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An access token from POST /oauth2/token"},
            },
            "responses": {
                "Error": {
                    "description": "An error; the message names what is wrong",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}},
                },
                "TooManyRequests": {
                    "description": "Too many failed logins from this client or address; `Retry-After` says when to try again",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}},
                },
                "OAuthError": {
                    "description": "A refused token request (RFC 6749 §5.2)",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthError"}}},
                },
            },
        },
    })
}

/// The named schemas of both sides in one `components/schemas`: a type whose request and reply
/// forms differ has its reply form under `<Name>Reply` (the `$ref`s of replies renamed to it).
fn merge_definitions(
    mut requests: Schemas,
    mut replies: Schemas,
    paths: &mut Value,
) -> Map<String, Value> {
    let mut schemas: Map<String, Value> =
        requests.generator.take_definitions(true).into_iter().collect();
    let mut reply_defs: Map<String, Value> =
        replies.generator.take_definitions(true).into_iter().collect();
    let renamed: Vec<String> = reply_defs
        .iter()
        .filter(|(name, schema)| schemas.get(*name).is_some_and(|other| other != *schema))
        .map(|(name, _)| name.clone())
        .collect();
    let rename = |value: &mut Value| rename_refs(value, &renamed);
    for (_, schema) in reply_defs.iter_mut() {
        rename(schema);
    }
    // Replies' `$ref`s in the paths: every response content schema.
    if let Some(paths) = paths.as_object_mut() {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for operation in item.values_mut() {
                if let Some(responses) = operation.get_mut("responses") {
                    rename(responses);
                }
            }
        }
    }
    for (name, schema) in reply_defs {
        let name = if renamed.contains(&name) { format!("{name}Reply") } else { name };
        schemas.insert(name, schema);
    }
    schemas.insert(
        "ApiError".to_owned(),
        json!({"type": "object", "required": ["status", "message"], "properties": {
            "status": {"type": "string", "enum": ["ERROR"]},
            "message": {"type": "string"},
        }}),
    );
    schemas.insert(
        "OAuthError".to_owned(),
        json!({"type": "object", "required": ["status", "message", "error"], "properties": {
            "status": {"type": "string", "enum": ["ERROR"]},
            "message": {"type": "string"},
            "error": {"type": "string", "enum": ["invalid_request", "invalid_client", "invalid_grant", "unsupported_grant_type"]},
            "error_description": {"type": "string"},
        }}),
    );
    schemas
}

fn rename_refs(value: &mut Value, renamed: &[String]) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get_mut("$ref")
                && let Some(name) = target.strip_prefix("#/components/schemas/")
                && renamed.iter().any(|r| r == name)
            {
                *target = format!("#/components/schemas/{name}Reply");
            }
            map.values_mut().for_each(|v| rename_refs(v, renamed));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_refs(v, renamed)),
        _ => {}
    }
}

/// The query parameters a type's properties describe (inline schemas of its members).
fn query_parameters(schema: &Value) -> Vec<Value> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    schema["properties"]
        .as_object()
        .map(|properties| {
            properties
                .iter()
                .map(|(name, schema)| {
                    json!({"name": name, "in": "query", "required": required.contains(&name.as_str()), "schema": schema})
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A path parameter: `{id}` a move request's number (what the handler parses it into), any
/// other a name or an id (a smart account's domain, a virtual account's name or number).
fn path_parameter(name: &str, requests: &mut Schemas) -> Value {
    let schema = match name {
        "id" => requests.generator.subschema_for::<i64>().to_value(),
        _ => json!({"type": "string", "minLength": 1}),
    };
    json!({"name": name, "in": "path", "required": true, "schema": schema})
}

/// Cisco's account headers, where they name the accounts: the reporting endpoints (the
/// virtual account is needed by `reportusage` and `authrequest`) and the license summary.
fn header_parameters(endpoint: &Endpoint) -> Vec<Value> {
    let path = endpoint.path.strip_prefix(super::BASE).unwrap_or(&endpoint.path);
    let va_needed = match path {
        "/v2/devices/reportusage" | "/v2/devices/authrequest" => true,
        "/v3/licenses/summary" => false,
        _ => return Vec::new(),
    };
    // Readable header text (visible ASCII, spaces, tabs), not blank: a blank header is none.
    let text = json!({"type": "string", "pattern": "^[\\t -~]*[!-~][\\t -~]*$"});
    vec![
        json!({"name": SMART_ACCOUNT_HEADER.to_uppercase(), "in": "header", "required": false,
               "description": "The smart account: its numeric id or domain (default: the caller's)",
               "schema": text}),
        json!({"name": VIRTUAL_ACCOUNT_HEADER.to_uppercase(), "in": "header", "required": va_needed,
               "description": if va_needed {
                   "The virtual account: its numeric id (from /v2/accounts/search) or name (else an entry's license_pool_id)"
               } else {
                   "Only this virtual account: its numeric id or name"
               },
               "schema": text}),
    ]
}

/// The `limit` and `offset` query parameters of a paged list.
fn page_parameters() -> [Value; 2] {
    [
        json!({"name": "limit", "in": "query", "required": false, "description": "rows in the page",
               "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE}}),
        json!({"name": "offset", "in": "query", "required": false, "description": "rows skipped before the page",
               "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}}),
    ]
}

/// `post_v1_accounts_domain_virtual_accounts_va_devices_transfer`.
fn operation_id(endpoint: &Endpoint) -> String {
    let path = endpoint.path.strip_prefix(super::BASE).unwrap_or(&endpoint.path);
    let words: Vec<String> = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    format!("{}_{}", endpoint.method.to_lowercase(), words.join("_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_request_and_reply_schema() {
        let endpoints = super::super::endpoints().endpoints;
        let missing: Vec<String> = endpoints
            .iter()
            .filter(|e| contract(e.method, &e.path).is_none())
            .map(|e| format!("{} {}", e.method, e.path))
            .collect();
        assert!(missing.is_empty(), "routes without a contract in openapi.rs: {missing:?}");
        let document = document(&endpoints);
        for e in &endpoints {
            let operation = &document["paths"][&e.path][e.method.to_lowercase()];
            let success = &operation["responses"][e.success.to_string()];
            assert!(success["content"].is_object(), "{} {}: no reply schema", e.method, e.path);
            if e.method != "GET" && e.method != "DELETE" && !e.path.ends_with("/delete") {
                assert!(
                    operation["requestBody"]["content"].is_object(),
                    "{} {}: no request schema",
                    e.method,
                    e.path
                );
            }
        }
    }
}
