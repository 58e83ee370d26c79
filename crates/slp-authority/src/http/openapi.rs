//! The OpenAPI 3.0 document of the API, generated from the endpoint list the router is built
//! from (so it cannot drift), and snapshot-tested against `crates/slp-authority/openapi.json`.
//! Written by hand rather than with a derive crate: the API's bodies follow Cisco's JSON
//! shapes, which are documented in PROTOCOL.md §7; the document lists every path, method,
//! parameter, role and status, which is what a client generator or a reviewer needs.

use serde_json::{Map, Value, json};

use super::Endpoint;
use crate::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

pub(super) fn document(endpoints: &[Endpoint]) -> Value {
    let mut paths = Map::new();
    for endpoint in endpoints {
        let mut parameters: Vec<Value> = endpoint
            .path
            .split('/')
            .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if endpoint.paged && endpoint.method == "GET" {
            parameters.extend(page_parameters());
        }
        let mut responses = Map::new();
        responses.insert(endpoint.success.to_string(), json!({"description": "success"}));
        if endpoint.method == "POST" || endpoint.paged {
            responses.insert("400".to_owned(), json!({"$ref": "#/components/responses/Error"}));
        }
        if endpoint.method == "POST" {
            responses.insert("413".to_owned(), json!({"$ref": "#/components/responses/Error"}));
        }
        if !endpoint.roles.is_empty() {
            for status in ["401", "403", "404"] {
                responses
                    .insert(status.to_owned(), json!({"$ref": "#/components/responses/Error"}));
            }
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
        if endpoint.method == "POST" {
            let media = if slp_wire::cssm::oauth::PATHS.contains(&endpoint.path.as_str()) {
                "application/x-www-form-urlencoded"
            } else if endpoint.path.ends_with("/usage-files") {
                "application/octet-stream"
            } else {
                "application/json"
            };
            operation["requestBody"] =
                json!({"required": false, "content": {media: {"schema": {"type": "object"}}}});
        }
        let entry = paths.entry(endpoint.path.clone()).or_insert_with(|| json!({}));
        entry[endpoint.method.to_lowercase()] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "slp authority API",
            "description": "Cisco Smart Software Manager (CSSM) compatible licensing API of the slp authority. Paths and JSON member names follow Cisco's; see PROTOCOL.md §7.",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An access token from POST /oauth2/token"},
            },
            "responses": {
                "Error": {
                    "description": "An error; the message names what is wrong",
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "properties": {"status": {"type": "string", "example": "ERROR"}, "message": {"type": "string"}},
                    }}},
                },
            },
        },
    })
}

/// The `limit` and `offset` query parameters of a paged list.
fn page_parameters() -> [Value; 2] {
    [
        json!({"name": "limit", "in": "query", "required": false, "description": "rows in the page",
               "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE}}),
        json!({"name": "offset", "in": "query", "required": false, "description": "rows skipped before the page",
               "schema": {"type": "integer", "minimum": 0, "default": 0}}),
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
