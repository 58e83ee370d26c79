//! Configuration beyond the `license` commands that the guide has a user type on the device:
//! Call Home ([`callhome`]), name resolution, the HTTP client and NTP ([`ip`]), the
//! `SLA-TrustPoint` ([`pki`]) and the utility / custom ID settings ([`licensing`]). Each
//! command is one line of [`TABLE`], which the IOS command table ([`crate::commands`]) joins;
//! [`run`] carries them out.

pub mod callhome;
pub mod ip;
pub mod licensing;
pub mod mgmt;
pub mod pki;

use serde::{Deserialize, Serialize};

use crate::DeviceError;
use crate::agent::Device;
use crate::commands::Mode;

/// The settings of this module, one field of [`crate::state::Config`]. Every part defaults to
/// a new device's configuration, so a state file written before they existed loads with them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub call_home: callhome::CallHome,
    pub ip: ip::Ip,
    pub trustpoints: pki::Trustpoints,
    pub licensing: licensing::Licensing,
    pub management: mgmt::Management,
}

/// A command of [`TABLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    ServiceCallHome,
    NoServiceCallHome,
    CallHome,
    ContactEmail,
    NoContactEmail,
    HttpProxy,
    NoHttpProxy,
    Profile,
    NoProfile,
    Active,
    NoActive,
    TransportMethod,
    NoTransportMethod,
    AddressHttp,
    NoAddressHttp,
    AddressEmail,
    NoAddressEmail,
    Anonymous,
    NoAnonymous,
    ShowProfileAll,
    ShowProfile,
    ShowSmartLicensing,
    Trustpoint,
    NoTrustpoint,
    Enrollment,
    NoEnrollment,
    RevocationCheck,
    NoRevocationCheck,
    HttpClientSource,
    NoHttpClientSource,
    NameServer,
    NameServerVrf,
    NoNameServer,
    NoNameServerVrf,
    DomainName,
    DomainNameVrf,
    NoDomainName,
    NoDomainNameVrf,
    DomainLookupSource,
    NoDomainLookupSource,
    Ntp { version: bool, prefer: bool },
    Host,
    NoHost,
    NoNtp,
    UrlUtility,
    NoUrlUtility,
    Utility,
    NoUtility,
    CustomerInfo,
    NoCustomerInfo,
    CustomId,
    NoCustomId,
}

const SHOW: &[Mode] = &[Mode::User, Mode::Exec];
const CONF: &[Mode] = &[Mode::Config];
const HOME: &[Mode] = &[Mode::CallHome];
const PROFILE: &[Mode] = &[Mode::CallHomeProfile];
const TRUSTPOINT: &[Mode] = &[Mode::CaTrustpoint];

/// The commands, in the syntax of [`crate::commands`]' table.
pub const TABLE: &[(&[Mode], &str, Cmd)] = &[
    (SHOW, "show call-home profile all", Cmd::ShowProfileAll),
    (SHOW, "show call-home profile WORD", Cmd::ShowProfile),
    (SHOW, "show call-home smart-licensing", Cmd::ShowSmartLicensing),
    (CONF, "service call-home", Cmd::ServiceCallHome),
    (CONF, "no service call-home", Cmd::NoServiceCallHome),
    (CONF, "call-home", Cmd::CallHome),
    (HOME, "contact-email-addr WORD", Cmd::ContactEmail),
    (HOME, "no contact-email-addr", Cmd::NoContactEmail),
    (HOME, "http-proxy WORD port <1-65535>", Cmd::HttpProxy),
    (HOME, "no http-proxy", Cmd::NoHttpProxy),
    (HOME, "profile WORD", Cmd::Profile),
    (HOME, "no profile WORD", Cmd::NoProfile),
    (PROFILE, "active", Cmd::Active),
    (PROFILE, "no active", Cmd::NoActive),
    (PROFILE, "destination transport-method {email|http}", Cmd::TransportMethod),
    (PROFILE, "no destination transport-method {email|http}", Cmd::NoTransportMethod),
    (PROFILE, "destination address http WORD", Cmd::AddressHttp),
    (PROFILE, "no destination address http WORD", Cmd::NoAddressHttp),
    (PROFILE, "destination address email WORD", Cmd::AddressEmail),
    (PROFILE, "no destination address email WORD", Cmd::NoAddressEmail),
    (PROFILE, "anonymous-reporting-only", Cmd::Anonymous),
    (PROFILE, "no anonymous-reporting-only", Cmd::NoAnonymous),
    (CONF, "crypto pki trustpoint WORD", Cmd::Trustpoint),
    (CONF, "no crypto pki trustpoint WORD", Cmd::NoTrustpoint),
    (TRUSTPOINT, "enrollment {pkcs12|selfsigned|terminal}", Cmd::Enrollment),
    (TRUSTPOINT, "no enrollment", Cmd::NoEnrollment),
    (TRUSTPOINT, "revocation-check {crl|none|ocsp}", Cmd::RevocationCheck),
    (TRUSTPOINT, "no revocation-check", Cmd::NoRevocationCheck),
    (CONF, "ip http client source-interface WORD", Cmd::HttpClientSource),
    (CONF, "no ip http client source-interface", Cmd::NoHttpClientSource),
    (CONF, "ip name-server WORD", Cmd::NameServer),
    (CONF, "ip name-server WORD WORD", Cmd::NameServer),
    (CONF, "ip name-server WORD WORD WORD", Cmd::NameServer),
    (CONF, "ip name-server WORD WORD WORD WORD", Cmd::NameServer),
    (CONF, "ip name-server WORD WORD WORD WORD WORD", Cmd::NameServer),
    (CONF, "ip name-server WORD WORD WORD WORD WORD WORD", Cmd::NameServer),
    (CONF, "ip name-server vrf WORD WORD", Cmd::NameServerVrf),
    (CONF, "ip name-server vrf WORD WORD WORD", Cmd::NameServerVrf),
    (CONF, "ip name-server vrf WORD WORD WORD WORD", Cmd::NameServerVrf),
    (CONF, "ip name-server vrf WORD WORD WORD WORD WORD", Cmd::NameServerVrf),
    (CONF, "ip name-server vrf WORD WORD WORD WORD WORD WORD", Cmd::NameServerVrf),
    (CONF, "ip name-server vrf WORD WORD WORD WORD WORD WORD WORD", Cmd::NameServerVrf),
    (CONF, "no ip name-server", Cmd::NoNameServer),
    (CONF, "no ip name-server WORD", Cmd::NoNameServer),
    (CONF, "no ip name-server vrf WORD", Cmd::NoNameServerVrf),
    (CONF, "no ip name-server vrf WORD WORD", Cmd::NoNameServerVrf),
    (CONF, "ip domain name WORD", Cmd::DomainName),
    (CONF, "ip domain-name WORD", Cmd::DomainName),
    (CONF, "ip domain name vrf WORD WORD", Cmd::DomainNameVrf),
    (CONF, "no ip domain name", Cmd::NoDomainName),
    (CONF, "no ip domain-name", Cmd::NoDomainName),
    (CONF, "no ip domain name vrf WORD", Cmd::NoDomainNameVrf),
    (CONF, "ip domain lookup source-interface WORD", Cmd::DomainLookupSource),
    (CONF, "no ip domain lookup source-interface", Cmd::NoDomainLookupSource),
    (CONF, "ntp server WORD", Cmd::Ntp { version: false, prefer: false }),
    (CONF, "ntp server WORD prefer", Cmd::Ntp { version: false, prefer: true }),
    (CONF, "ntp server WORD version <2-4>", Cmd::Ntp { version: true, prefer: false }),
    (CONF, "ntp server WORD version <2-4> prefer", Cmd::Ntp { version: true, prefer: true }),
    (CONF, "no ntp server WORD", Cmd::NoNtp),
    (CONF, "ip host WORD WORD", Cmd::Host),
    (CONF, "ip host WORD WORD WORD", Cmd::Host),
    (CONF, "ip host WORD WORD WORD WORD", Cmd::Host),
    (CONF, "no ip host WORD", Cmd::NoHost),
    (CONF, "license smart url utility WORD", Cmd::UrlUtility),
    (CONF, "no license smart url utility", Cmd::NoUrlUtility),
    (CONF, "license smart utility", Cmd::Utility),
    (CONF, "no license smart utility", Cmd::NoUtility),
    (
        CONF,
        "license smart utility customer_info {city|country|id|name|postalcode|state|street} WORD",
        Cmd::CustomerInfo,
    ),
    (
        CONF,
        "no license smart utility customer_info {city|country|id|name|postalcode|state|street}",
        Cmd::NoCustomerInfo,
    ),
    (CONF, "license smart custom_id WORD", Cmd::CustomId),
    (CONF, "no license smart custom_id", Cmd::NoCustomId),
];

/// Where the session is: its mode and the sub-mode's object (the profile or trustpoint name).
pub struct Place<'a> {
    pub mode: &'a mut Mode,
    pub target: &'a mut Option<String>,
}

fn refused(err: impl std::fmt::Display) -> DeviceError {
    DeviceError::Refused(err.to_string())
}

/// A name typed with or without the quotes IOS prints around it (`profile "CiscoTAC-1"`).
fn unquoted(word: &str) -> String {
    word.trim_matches('"').to_owned()
}

/// Runs one command of [`TABLE`]; returns what it prints.
pub fn run(
    cmd: Cmd,
    args: &[String],
    device: &mut Device,
    place: Place<'_>,
) -> Result<String, DeviceError> {
    let arg = |idx: usize| args.get(idx).cloned().unwrap_or_default();
    let serial = device.state.active().udi.sn.clone();
    let settings = &mut device.state.running.settings;
    let target = place.target.clone().unwrap_or_default();
    match cmd {
        Cmd::ShowProfileAll => {
            return Ok(
                callhome::show_profiles(&settings.call_home, None, &serial).unwrap_or_default()
            );
        }
        Cmd::ShowProfile => {
            let name = unquoted(&arg(0));
            // The guide is silent on an unknown profile's message; slp says so plainly.
            return callhome::show_profiles(&settings.call_home, Some(&name), &serial)
                .ok_or_else(|| refused(format!("% Profile {name} does not exist")));
        }
        Cmd::ShowSmartLicensing => {
            return Ok(callhome::show_smart_licensing(&device.state.running));
        }
        Cmd::ServiceCallHome => settings.call_home.service = true,
        Cmd::NoServiceCallHome => settings.call_home.service = false,
        Cmd::CallHome => {
            *place.mode = Mode::CallHome;
            *place.target = None;
        }
        Cmd::ContactEmail => {
            let email = arg(0);
            // The guide: "up to 200 characters in email address format with no spaces".
            if email.len() > 200 || !email.contains('@') {
                return Err(refused(format!("% Invalid email address {email:?}")));
            }
            settings.call_home.contact_email = Some(email);
        }
        Cmd::NoContactEmail => settings.call_home.contact_email = None,
        Cmd::HttpProxy => {
            let port = arg(1).parse::<u16>().unwrap_or_default();
            settings.call_home.http_proxy = Some((unquoted(&arg(0)), port));
        }
        Cmd::NoHttpProxy => settings.call_home.http_proxy = None,
        Cmd::Profile => {
            let name = unquoted(&arg(0));
            settings.call_home.profile_mut(&name);
            *place.mode = Mode::CallHomeProfile;
            *place.target = Some(name);
        }
        Cmd::NoProfile => settings.call_home.remove_profile(&unquoted(&arg(0))),
        Cmd::Active | Cmd::NoActive => {
            settings.call_home.profile_mut(&target).active = cmd == Cmd::Active;
        }
        Cmd::TransportMethod | Cmd::NoTransportMethod => {
            let on = cmd == Cmd::TransportMethod;
            let profile = settings.call_home.profile_mut(&target);
            if arg(0) == "http" {
                profile.http = on;
            } else {
                profile.email = on;
            }
        }
        Cmd::AddressHttp => {
            let url = arg(0);
            // The guide: "include either http:// (default) or https://".
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(refused(format!("% Invalid URL {url:?}: use http:// or https://")));
            }
            let profile = settings.call_home.profile_mut(&target);
            if !profile.http_addresses.contains(&url) {
                profile.http_addresses.push(url);
            }
        }
        Cmd::NoAddressHttp => {
            let url = arg(0);
            settings.call_home.profile_mut(&target).http_addresses.retain(|u| *u != url);
        }
        Cmd::AddressEmail => {
            let email = arg(0);
            let profile = settings.call_home.profile_mut(&target);
            if !profile.email_addresses.contains(&email) {
                profile.email_addresses.push(email);
            }
        }
        Cmd::NoAddressEmail => {
            let email = arg(0);
            settings.call_home.profile_mut(&target).email_addresses.retain(|e| *e != email);
        }
        Cmd::Anonymous | Cmd::NoAnonymous => {
            settings.call_home.profile_mut(&target).anonymous = cmd == Cmd::Anonymous;
        }
        Cmd::Trustpoint => {
            let name = arg(0);
            settings.trustpoints.0.entry(name.clone()).or_default();
            *place.mode = Mode::CaTrustpoint;
            *place.target = Some(name);
        }
        Cmd::NoTrustpoint => {
            settings.trustpoints.0.remove(&arg(0));
        }
        Cmd::Enrollment | Cmd::NoEnrollment => {
            let value = (cmd == Cmd::Enrollment).then(|| arg(0));
            settings.trustpoints.0.entry(target).or_default().enrollment = value;
        }
        Cmd::RevocationCheck | Cmd::NoRevocationCheck => {
            let value = (cmd == Cmd::RevocationCheck).then(|| arg(0));
            settings.trustpoints.0.entry(target).or_default().revocation_check = value;
        }
        Cmd::HttpClientSource => {
            settings.ip.http_client_source_interface =
                Some(ip::interface_name(&arg(0)).map_err(refused)?);
        }
        Cmd::NoHttpClientSource => settings.ip.http_client_source_interface = None,
        Cmd::NameServer => settings.ip.add_name_servers(None, args).map_err(refused)?,
        Cmd::NameServerVrf => settings
            .ip
            .add_name_servers(Some(&arg(0)), args.get(1..).unwrap_or_default())
            .map_err(refused)?,
        Cmd::NoNameServer => settings.ip.remove_name_servers(None, args),
        Cmd::NoNameServerVrf => {
            settings.ip.remove_name_servers(Some(&arg(0)), args.get(1..).unwrap_or_default())
        }
        Cmd::DomainName => settings.ip.set_domain(None, Some(&arg(0))).map_err(refused)?,
        Cmd::DomainNameVrf => {
            settings.ip.set_domain(Some(&arg(0)), Some(&arg(1))).map_err(refused)?
        }
        Cmd::NoDomainName => settings.ip.set_domain(None, None).map_err(refused)?,
        Cmd::NoDomainNameVrf => settings.ip.set_domain(Some(&arg(0)), None).map_err(refused)?,
        Cmd::DomainLookupSource => {
            settings.ip.domain_lookup_source_interface =
                Some(ip::interface_name(&arg(0)).map_err(refused)?);
        }
        Cmd::NoDomainLookupSource => settings.ip.domain_lookup_source_interface = None,
        Cmd::Ntp { version, prefer } => {
            let version = if version { arg(1).parse::<u8>().ok() } else { None };
            settings.ip.add_ntp(&arg(0), version, prefer).map_err(refused)?;
        }
        Cmd::Host => {
            settings.ip.set_host(&arg(0), args.get(1..).unwrap_or_default()).map_err(refused)?
        }
        Cmd::NoHost => {
            settings.ip.hosts.remove(&arg(0).to_ascii_lowercase());
        }
        Cmd::NoNtp => {
            settings.ip.ntp_servers.remove(&arg(0));
        }
        Cmd::UrlUtility => settings.licensing.url_utility = Some(arg(0)),
        Cmd::NoUrlUtility => settings.licensing.url_utility = None,
        Cmd::Utility => settings.licensing.utility = true,
        Cmd::NoUtility => {
            settings.licensing.utility = false;
            settings.licensing.customer_info.clear();
        }
        Cmd::CustomerInfo => {
            settings.licensing.customer_info.insert(arg(0), arg(1));
        }
        Cmd::NoCustomerInfo => {
            settings.licensing.customer_info.remove(&arg(0));
        }
        Cmd::CustomId => settings.licensing.custom_id = Some(arg(0)),
        Cmd::NoCustomId => settings.licensing.custom_id = None,
    }
    Ok(String::new())
}
