//! The `license smart` settings the guide and the command reference list beside transport and
//! URL: `license smart url utility URL`, `license smart utility [customer_info …]` and
//! `license smart custom_id ID`.
//!
//! The guide: "utility smart_url: Although available on the CLI, this option is not supported";
//! the command reference says the same of `custom_id`, and utility reporting needs a utility
//! (MSLA) policy no Catalyst switch takes. So these are accepted, kept, shown in the running
//! configuration and saved like any other line, `show license status` shows the custom ID
//! under `Miscellaneous:` (where every 17.x example prints `Custom Id: <empty>`), and `Utility:
//! Status:` stays `DISABLED`; nothing is sent for them.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

/// The `customer_info` fields, in the order the command reference lists them.
pub const CUSTOMER_INFO: &[&str] =
    &["city", "country", "id", "name", "postalcode", "state", "street"];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Licensing {
    /// `license smart url utility URL`.
    pub url_utility: Option<String>,
    /// `license smart utility`.
    pub utility: bool,
    /// `license smart utility customer_info FIELD VALUE`, by field.
    pub customer_info: BTreeMap<String, String>,
    /// `license smart custom_id ID`.
    pub custom_id: Option<String>,
}

impl Licensing {
    /// The `license smart …` lines these settings add to the running configuration.
    pub fn lines(&self) -> String {
        let mut out = String::new();
        if let Some(id) = &self.custom_id {
            let _ = writeln!(out, "license smart custom_id {id}");
        }
        if let Some(url) = &self.url_utility {
            let _ = writeln!(out, "license smart url utility {url}");
        }
        if self.utility {
            out.push_str("license smart utility\n");
        }
        for field in CUSTOMER_INFO {
            if let Some(value) = self.customer_info.get(*field) {
                let _ = writeln!(out, "license smart utility customer_info {field} {value}");
            }
        }
        out
    }

    /// What `Custom Id:` shows.
    pub fn custom_id_text(&self) -> &str {
        self.custom_id.as_deref().unwrap_or("<empty>")
    }
}
