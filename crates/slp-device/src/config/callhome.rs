//! Call Home, as the guide configures it for `license smart transport callhome` ("Configuring
//! Call Home as the Transport Mode"): `service call-home`, the `call-home` sub-mode
//! (`contact-email-addr`, `http-proxy`, `profile "CiscoTAC-1"`) and the profile sub-mode
//! (`active`, `destination transport-method`, `destination address`), with
//! `show call-home profile {all|NAME}` and `show call-home smart-licensing`.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::state::{Config, DEFAULT_CALLHOME_URL};

/// The profile Cisco ships for Smart Call Home and smart licensing.
pub const TAC_PROFILE: &str = "CiscoTAC-1";
/// The contact address of a new Catalyst 9000's configuration: the one configured in the Smart
/// Licensing portal is used instead (the comment a real device prints above it says so).
pub const FACTORY_CONTACT: &str = "sch-smart-licensing@cisco.com";
/// CiscoTAC-1's built-in e-mail destination (real capture: genieparser
/// `ShowCallHomeProfileAll/golden_output2_include`, `Email address(es): callhome@cisco.com`).
const TAC_EMAIL: &str = "callhome@cisco.com";

/// `call-home` configuration. The default is what a new Catalyst 9000 on 17.x ships with (real
/// `show running-config` captures): `service call-home`, the contact address above and
/// CiscoTAC-1 active with HTTP transport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallHome {
    /// `service call-home`.
    pub service: bool,
    /// `contact-email-addr`.
    pub contact_email: Option<String>,
    /// `http-proxy ADDRESS port PORT` (call-home sub-mode), used by the callhome transport.
    #[serde(default)]
    pub http_proxy: Option<(String, u16)>,
    /// Profiles by name; CiscoTAC-1 always exists.
    pub profiles: BTreeMap<String, Profile>,
}

/// One destination profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub active: bool,
    /// `destination transport-method http`.
    pub http: bool,
    /// `destination transport-method email`.
    pub email: bool,
    /// `destination address http URL`, in the order given.
    pub http_addresses: Vec<String>,
    /// `destination address email ADDR`.
    pub email_addresses: Vec<String>,
    /// `anonymous-reporting-only`.
    #[serde(default)]
    pub anonymous: bool,
}

impl Profile {
    /// A profile made with `profile NAME`: active, e-mail transport (IOS's defaults for a new
    /// user profile).
    pub fn new_user() -> Profile {
        Profile {
            active: true,
            http: false,
            email: true,
            http_addresses: Vec::new(),
            email_addresses: Vec::new(),
            anonymous: false,
        }
    }

    /// CiscoTAC-1 as a new 17.x device has it: active, HTTP.
    fn factory_tac() -> Profile {
        Profile { active: true, http: true, email: false, ..Profile::new_user() }
    }

    /// CiscoTAC-1 before it was configured: the guide's "By default: The CiscoTAC-1 profile is
    /// inactive"; e-mail is its built-in transport.
    fn builtin_tac() -> Profile {
        Profile { active: false, ..Profile::new_user() }
    }

    /// The HTTP URL messages go to: the first configured address, else CiscoTAC-1's built-in one.
    pub fn http_url(&self, name: &str) -> Option<String> {
        self.http_addresses
            .first()
            .cloned()
            .or_else(|| (name == TAC_PROFILE).then(|| DEFAULT_CALLHOME_URL.to_owned()))
    }
}

impl Default for CallHome {
    fn default() -> CallHome {
        CallHome {
            service: true,
            contact_email: Some(FACTORY_CONTACT.to_owned()),
            http_proxy: None,
            profiles: BTreeMap::from([(TAC_PROFILE.to_owned(), Profile::factory_tac())]),
        }
    }
}

impl CallHome {
    /// `profile NAME`: the profile, made if new.
    pub fn profile_mut(&mut self, name: &str) -> &mut Profile {
        self.profiles.entry(name.to_owned()).or_insert_with(|| {
            if name == TAC_PROFILE { Profile::builtin_tac() } else { Profile::new_user() }
        })
    }

    /// `no profile NAME`: a user profile goes; CiscoTAC-1 cannot be removed and returns to its
    /// built-in settings instead.
    pub fn remove_profile(&mut self, name: &str) {
        if name == TAC_PROFILE {
            self.profiles.insert(TAC_PROFILE.to_owned(), Profile::builtin_tac());
        } else {
            self.profiles.remove(name);
        }
    }

    /// The profile smart licensing messages go through: an active profile with HTTP transport,
    /// CiscoTAC-1 first (the guide's troubleshooting: "Check if Call Home profile CiscoTAC-1 is
    /// active and destination URL is correct").
    pub fn licensing_profile(&self) -> Option<(&str, &Profile)> {
        let tac = self.profiles.get_key_value(TAC_PROFILE);
        tac.into_iter()
            .chain(self.profiles.iter().filter(|(name, _)| *name != TAC_PROFILE))
            .find(|(_, p)| p.active && p.http)
            .map(|(name, p)| (name.as_str(), p))
    }
}

/// Why the callhome transport cannot send, in the words the device prints.
pub fn unavailable(config: &Config) -> Option<&'static str> {
    let call_home = &config.settings.call_home;
    if !call_home.service {
        Some("% Error: Call Home is disabled: configure service call-home")
    } else if call_home.licensing_profile().is_none() {
        Some(
            "% Error: no active Call Home profile with destination transport-method http (profile \"CiscoTAC-1\": active)",
        )
    } else {
        None
    }
}

/// Where the callhome transport sends: the active profile's HTTP destination (`destination
/// address http`), else the `license smart url` URL, else CiscoTAC-1's built-in URL. `None` when
/// Call Home cannot send ([`unavailable`]). The guide expects both URLs to agree (its
/// troubleshooting checks the `show license status` URL and the profile's destination URL);
/// it is silent on which wins when they differ: the profile's own address does, as Call Home
/// carries the message.
pub fn push_url(config: &Config) -> Option<String> {
    if unavailable(config).is_some() {
        return None;
    }
    let (name, profile) = config.settings.call_home.licensing_profile()?;
    match profile.http_addresses.first() {
        Some(url) => Some(url.clone()),
        None => config.url_callhome.clone().or_else(|| profile.http_url(name)),
    }
}

/// The proxy of the callhome transport: Call Home's `http-proxy`, else `license smart proxy`.
pub fn proxy(config: &Config) -> Option<String> {
    config
        .settings
        .call_home
        .http_proxy
        .as_ref()
        .map(|(address, port)| format!("http://{address}:{port}"))
}

/// The `service call-home` line (near the top of a running configuration, with the other
/// `service` lines).
pub fn service_line(call_home: &CallHome) -> &'static str {
    if call_home.service { "service call-home\n" } else { "no service call-home\n" }
}

/// The `call-home` block, as a 17.x Catalyst prints it (real captures: the two comment lines
/// above the factory contact address, the profile name in quotes, sub-mode lines indented).
pub fn block(call_home: &CallHome) -> String {
    let mut out = String::from("call-home\n");
    if call_home.contact_email.as_deref() == Some(FACTORY_CONTACT) {
        out.push_str(
            " ! If contact email address in call-home is configured as sch-smart-licensing@cisco.com\n ! the email address configured in Cisco Smart License Portal will be used as contact email address to send SCH notifications.\n",
        );
    }
    if let Some(email) = &call_home.contact_email {
        let _ = writeln!(out, " contact-email-addr {email}");
    }
    if let Some((address, port)) = &call_home.http_proxy {
        let _ = writeln!(out, " http-proxy \"{address}\" port {port}");
    }
    for (name, profile) in &call_home.profiles {
        let tac = name == TAC_PROFILE;
        if tac && *profile == Profile::builtin_tac() {
            continue;
        }
        let _ = writeln!(out, " profile \"{name}\"");
        match (tac, profile.active) {
            (true, true) => out.push_str("  active\n"),
            (false, false) => out.push_str("  no active\n"),
            _ => {}
        }
        if profile.anonymous {
            out.push_str("  anonymous-reporting-only\n");
        }
        for address in &profile.email_addresses {
            let _ = writeln!(out, "  destination address email {address}");
        }
        for address in &profile.http_addresses {
            let _ = writeln!(out, "  destination address http {address}");
        }
        if profile.http {
            out.push_str("  destination transport-method http\n");
        }
        // A user profile sends by e-mail unless told not to; CiscoTAC-1 on a 17.x device
        // shows `Transport Method: http` with only the http line configured (real captures).
        match (tac, profile.email) {
            (false, false) => out.push_str("  no destination transport-method email\n"),
            (true, true) if profile.http => {
                out.push_str("  destination transport-method email\n");
            }
            _ => {}
        }
    }
    out
}

/// The day and time of CiscoTAC-1's periodic messages. A real device picks them at random when
/// the profile is made; here they derive from the serial number, so each device keeps its own.
fn periodic(serial: &str) -> (u32, u32, u32) {
    let seed = serial.bytes().fold(17u32, |acc, b| acc.wrapping_mul(31).wrapping_add(u32::from(b)));
    (1 + seed % 28, (seed / 28) % 24, (seed / 672) % 60)
}

/// `show call-home profile {all|NAME}` (layout of real captures: genieparser
/// `ShowCallHomeProfileAll/golden_output*`). `None` for a profile that does not exist.
pub fn show_profiles(call_home: &CallHome, name: Option<&str>, serial: &str) -> Option<String> {
    let mut out = String::new();
    let mut any = false;
    for (profile_name, profile) in &call_home.profiles {
        if name.is_some_and(|n| n != profile_name) {
            continue;
        }
        any = true;
        show_profile(&mut out, profile_name, profile, serial);
    }
    any.then_some(out)
}

fn show_profile(out: &mut String, name: &str, profile: &Profile, serial: &str) {
    let tac = name == TAC_PROFILE;
    let _ = writeln!(out, "Profile Name: {name}");
    let _ =
        writeln!(out, "    Profile status: {}", if profile.active { "ACTIVE" } else { "INACTIVE" });
    let mode = if profile.anonymous { "Anonymous Reporting Only" } else { "Full Reporting" };
    let _ = writeln!(out, "    Profile mode: {mode}");
    out.push_str("    Reporting Data: Smart Call Home, Smart Licensing\n");
    out.push_str("    Preferred Message Format: xml\n");
    out.push_str("    Message Size Limit: 3145728 Bytes\n");
    let method = match (profile.http, profile.email) {
        (true, true) => "http and email",
        (true, false) => "http",
        _ => "email",
    };
    let _ = writeln!(out, "    Transport Method: {method}");
    if profile.http
        && let Some(url) = profile.http_url(name)
    {
        let _ = writeln!(out, "    HTTP  address: {url}");
    }
    if profile.email || !profile.http {
        let emails = if !profile.email_addresses.is_empty() {
            profile.email_addresses.join(", ")
        } else if tac {
            TAC_EMAIL.to_owned()
        } else {
            "Not yet set up".to_owned()
        };
        let _ = writeln!(out, "    Email address(es): {emails}");
    }
    if tac {
        out.push_str("    Other address(es): default\n");
    } else if !profile.http && !profile.http_addresses.is_empty() {
        let _ = writeln!(out, "    Other address(es): {}", profile.http_addresses.join(", "));
    }
    out.push('\n');
    if tac {
        let (day, hour, minute) = periodic(serial);
        let config_minute = (minute + 15) % 60;
        let _ = writeln!(
            out,
            "    Periodic configuration info message is scheduled every {day} day of the month at {hour:02}:{config_minute:02}\n"
        );
        let _ = writeln!(
            out,
            "    Periodic inventory info message is scheduled every {day} day of the month at {hour:02}:{minute:02}\n"
        );
    }
    out.push_str("    Alert-group               Severity\n");
    out.push_str("    ------------------------  ------------\n");
    if tac {
        for (group, severity) in [
            ("crash", "debugging"),
            ("diagnostic", "minor"),
            ("environment", "warning"),
            ("inventory", "normal"),
        ] {
            let _ = writeln!(out, "    {group:<24}  {severity}");
        }
    } else {
        out.push_str("    N/A                       N/A\n");
    }
    out.push('\n');
    out.push_str("    Syslog-Pattern            Severity\n");
    out.push_str("    ------------------------  ------------\n");
    if tac {
        out.push_str("    APF-.-WLC_.*              warning\n");
        out.push_str("    .*                        major\n");
    } else {
        out.push_str("    N/A                       N/A\n");
    }
    out.push('\n');
}

/// `show call-home smart-licensing` (layout of the real capture in genieparser
/// `ShowCallHomeSmartLicensing/golden_output`, which the guide's troubleshooting quotes).
pub fn show_smart_licensing(config: &Config) -> String {
    let call_home = &config.settings.call_home;
    let mut out = String::from("Current smart-licensing transport settings:\n");
    let enabled = call_home.service && config.transport == crate::state::Transport::Callhome;
    let _ =
        writeln!(out, " Smart-license messages: {}", if enabled { "enabled" } else { "disabled" });
    if let Some((name, profile)) = call_home.licensing_profile() {
        let status = if profile.active { "ACTIVE" } else { "INACTIVE" };
        let _ = writeln!(out, " Profile: {name} (status: {status})");
        if let Some(url) = push_url(config) {
            let _ = writeln!(out, " Destination  URL(s):  {url}");
        }
    }
    out
}
