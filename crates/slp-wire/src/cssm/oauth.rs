//! The OAuth2 token endpoint (PROTOCOL.md §7.1): its parameters and its reply.
//!
//! Cisco's clients reach it at `https://id.cisco.com/oauth2/default/v1/token`, at the legacy
//! `https://cloudsso.cisco.com/as/token.oauth2` ([`PATHS`]) and send the parameters as a form
//! body, in the query string with an empty body, or (SSM On-Prem style) as a JSON object; the
//! client id and secret may come by HTTP Basic instead. Two grants: `client_credentials` (an
//! API client acts for itself) and `password` (a client acts for a user of its smart account).

use serde::{Deserialize, Serialize};

/// Where a token is asked for: slp's own path first, then Cisco's SSO token URLs
/// (id.cisco.com, cloudsso.cisco.com).
pub const PATHS: [&str; 3] = ["/oauth2/token", "/oauth2/default/v1/token", "/as/token.oauth2"];

/// `grant_type=client_credentials`.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";
/// `grant_type=password`.
pub const PASSWORD: &str = "password";

/// The parameters of a token request, wherever they were sent (query string, form or JSON
/// body). Every member is optional here: which are needed depends on the grant, and the
/// endpoint names what is missing. Its schema is the body of a complete request (below).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The password grant's user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Accepted and ignored (Cisco's clients send none, or `openid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// A complete token request as a body: `grant_type` and what that grant needs —
/// `client_credentials` a `client_id` and `client_secret`, `password` a `client_id` (its
/// `client_secret` optional), `username` and `password`, none of them empty. The endpoint also
/// takes the client by HTTP Basic, and the parameters in the query string with an empty body.
impl schemars::JsonSchema for TokenRequest {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TokenRequest".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let text = serde_json::json!({"type": "string"});
        let given = serde_json::json!({"type": "string", "minLength": 1});
        schemars::json_schema!({
            "type": "object",
            "required": ["grant_type", "client_id"],
            "properties": {
                "grant_type": {"type": "string", "enum": [CLIENT_CREDENTIALS, PASSWORD]},
                "client_id": text,
                "client_secret": text,
                "username": text,
                "password": text,
                "scope": text,
            },
            "oneOf": [
                {
                    "required": ["client_secret"],
                    "properties": {"grant_type": {"enum": [CLIENT_CREDENTIALS]}},
                },
                {
                    "required": ["username", "password"],
                    "properties": {
                        "grant_type": {"enum": [PASSWORD]},
                        "client_id": given,
                        "username": given,
                        "password": given,
                    },
                },
            ],
        })
    }
}

impl TokenRequest {
    /// The client-credentials grant of `client_id`.
    pub fn client_credentials(client_id: &str, client_secret: &str) -> TokenRequest {
        TokenRequest {
            grant_type: Some(CLIENT_CREDENTIALS.to_owned()),
            client_id: Some(client_id.to_owned()),
            client_secret: Some(client_secret.to_owned()),
            ..TokenRequest::default()
        }
    }

    /// Each member of `self`, or else of `other` (the body's parameters over the query's).
    pub fn or(self, other: TokenRequest) -> TokenRequest {
        TokenRequest {
            grant_type: self.grant_type.or(other.grant_type),
            client_id: self.client_id.or(other.client_id),
            client_secret: self.client_secret.or(other.client_secret),
            username: self.username.or(other.username),
            password: self.password.or(other.password),
            scope: self.scope.or(other.scope),
        }
    }
}

/// The reply to a granted token request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenReply {
    pub access_token: String,
    /// `Bearer`.
    #[serde(default = "bearer")]
    pub token_type: String,
    /// Seconds the token is valid. Cisco sends 3599; a reply without it reads as an hour.
    #[serde(default = "an_hour", deserialize_with = "super::tolerant::i64_or_text")]
    #[schemars(with = "crate::cssm::tolerant::schema::IntOrText")]
    pub expires_in: i64,
}

fn bearer() -> String {
    "Bearer".to_owned()
}

fn an_hour() -> i64 {
    3600
}

/// A refused token request (RFC 6749 §5.2): `invalid_request`, `invalid_client`,
/// `invalid_grant`, `unsupported_grant_type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenError {
    pub error: String,
    #[serde(default)]
    pub error_description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_reads_as_cisco_and_slp_send_it() {
        let cisco: TokenReply = serde_json::from_str(
            r#"{"access_token":"abc","token_type":"Bearer","expires_in":3599,"scope":"openid"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cisco.expires_in, 3599);
        let bare: TokenReply = serde_json::from_str(r#"{"access_token":"abc","expires_in":"60"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((bare.token_type.as_str(), bare.expires_in), ("Bearer", 60));
    }

    #[test]
    fn body_parameters_win_over_the_query() {
        let body = TokenRequest { client_id: Some("body".to_owned()), ..TokenRequest::default() };
        let query = TokenRequest::client_credentials("query", "s");
        let merged = body.or(query);
        assert_eq!(merged.client_id.as_deref(), Some("body"));
        assert_eq!(merged.client_secret.as_deref(), Some("s"));
        assert_eq!(merged.grant_type.as_deref(), Some(CLIENT_CREDENTIALS));
    }
}
