//! Who calls: the [`Role`] an API client or user holds, the authenticated [`Principal`] of a
//! request, and the [`Scope`] a request may touch. Shared by API clients
//! ([`crate::domain::clients`]), users ([`crate::domain::users`]) and the log ([`crate::actor`]).

use serde::Serialize;

use crate::{AuthorityError, Result};

/// What an API client may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything in its smart account.
    Admin,
    /// Only `reportusage`, `authrequest`, `poll` and usage file uploads (a relay or a
    /// controller), and the account identity reads (`/v2/accounts`, the account searches) a
    /// reporting script starts with.
    Reporter,
    /// Only reads (GET, and the read-only queries sent as POST: license lists and summaries).
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Reporter, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reporter => "reporter",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Role, String> {
        Role::parse(text)
            .ok_or_else(|| format!("{text:?} is not a role: use admin, reporter or viewer"))
    }
}

/// The authenticated caller of an API request: an API client, acting for itself or (the
/// OAuth2 password grant) for a user of its smart account, with that user's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub client_id: String,
    /// The client's name (`--name`).
    pub name: String,
    /// The user the client acts for, if it logged one in (`grant_type=password`).
    pub user: Option<String>,
    /// The user's role, or the client's own.
    pub role: Role,
    pub account_id: i64,
    pub account_domain: String,
    pub account_name: String,
}

impl Principal {
    /// Who the caller is, for messages: `API client "ci"` or `user "alice" (through API
    /// client "ci")`.
    pub fn who(&self) -> String {
        match &self.user {
            Some(user) => format!("user {user:?} (through API client {:?})", self.name),
            None => format!("API client {:?}", self.name),
        }
    }

    /// Refuses a smart account other than the client's; `given` is the caller's spelling
    /// (domain, name or numeric id).
    pub fn require_account(&self, matches: bool, given: &str) -> Result<()> {
        if matches {
            Ok(())
        } else {
            Err(AuthorityError::Forbidden {
                reason: format!(
                    "{} is scoped to smart account {:?}; it has no access to {given:?}",
                    self.who(),
                    self.account_domain
                ),
            })
        }
    }
}

/// What one API request may touch, resolved once before its handler runs (by the route's
/// guard in `crate::http`): the authenticated caller, whose role the route allows; the smart
/// account the request names (its `{domain}`, else `X-CSW-SMART-ACCOUNT-ID`, else the caller's
/// own), which is the caller's; and the virtual account of its `{va}`, if the path has one,
/// which exists in that smart account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub principal: Principal,
    pub account: slp_store::Account,
    pub va: Option<slp_store::VirtualAccount>,
}
