//! The network settings the guide configures on the way to CSSM or CSLU ("Setting Up a
//! Connection to CSSM", "Zero-touch DNS discovery of cslu-local"): `ip name-server [vrf …]`,
//! `ip domain name [vrf …]` (and the older `ip domain-name`), `ip domain lookup
//! source-interface`, `ip http client source-interface` and `ntp server`.
//!
//! `ip host NAME ADDR` maps a name statically, and the device's HTTP client uses it.
//! Limits, stated where a user would look: other names resolve with the host's resolver, not
//! through the configured name servers (a DNS server on port 53 cannot be run
//! hermetically), and it keeps its clock from the `Clock`, not from the NTP servers (so `show
//! clock` keeps the `*` of a clock not synchronized). What the configuration changes is the
//! CSLU URL of zero-touch discovery ([`cslu_url`]) and the running configuration.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::state::{Config, DEFAULT_CSLU_URL};

/// How many name servers one `ip name-server` command takes (the guide: "up to six").
pub const MAX_NAME_SERVERS: usize = 6;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ip {
    /// `ip http client source-interface IF`.
    pub http_client_source_interface: Option<String>,
    /// `ip name-server ADDR…` (global), in the order given.
    pub name_servers: Vec<String>,
    /// `ip name-server vrf VRF ADDR…`.
    pub vrf_name_servers: BTreeMap<String, Vec<String>>,
    /// `ip domain name NAME`.
    pub domain_name: Option<String>,
    /// `ip domain name vrf VRF NAME`.
    pub vrf_domain_names: BTreeMap<String, String>,
    /// `ip domain lookup source-interface IF`.
    pub domain_lookup_source_interface: Option<String>,
    /// `ntp server ADDR [version N] [prefer]` by address.
    pub ntp_servers: BTreeMap<String, NtpServer>,
    /// `ip host NAME ADDR…`: static name-to-address mappings (the guide's "Setting Up a
    /// Connection to CSSM", step 7: "if automatic DNS mapping is not available"). The device's
    /// HTTP client resolves these names to these addresses.
    pub hosts: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NtpServer {
    pub version: Option<u8>,
    pub prefer: bool,
}

/// Why a configuration value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpError {
    #[error("% Invalid IP address {0:?}")]
    BadAddress(String),
    #[error("% Invalid interface {0:?}")]
    BadInterface(String),
    #[error("% Invalid domain name {0:?}")]
    BadDomain(String),
    #[error("% Only {MAX_NAME_SERVERS} name servers can be configured")]
    TooManyNameServers,
}

/// Interface types IOS-XE names on a Catalyst 9000, by the name it prints.
const INTERFACE_TYPES: &[&str] = &[
    "AppGigabitEthernet",
    "FortyGigabitEthernet",
    "GigabitEthernet",
    "HundredGigE",
    "Loopback",
    "Port-channel",
    "TenGigabitEthernet",
    "Tunnel",
    "TwentyFiveGigE",
    "Vlan",
];

/// An interface name as IOS prints it: `gi0/0` → `GigabitEthernet0/0`, `vlan100` → `Vlan100`.
pub fn interface_name(word: &str) -> Result<String, IpError> {
    let split = word.find(|c: char| c.is_ascii_digit()).unwrap_or(word.len());
    let (kind, number) = word.split_at(split);
    let kind_lower = kind.to_ascii_lowercase();
    let hits: Vec<&&str> = INTERFACE_TYPES
        .iter()
        .filter(|t| !kind_lower.is_empty() && t.to_ascii_lowercase().starts_with(&kind_lower))
        .collect();
    let exact = INTERFACE_TYPES.iter().find(|t| t.eq_ignore_ascii_case(kind));
    let numbered = !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit() || c == '/' || c == '.')
        && !number.ends_with('/');
    match (exact.or(if hits.len() == 1 { Some(hits[0]) } else { None }), numbered) {
        (Some(kind), true) => Ok(format!("{kind}{number}")),
        _ => Err(IpError::BadInterface(word.to_owned())),
    }
}

fn address(word: &str) -> Result<String, IpError> {
    word.parse::<std::net::IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| IpError::BadAddress(word.to_owned()))
}

/// A host name or address (`ntp server` takes either).
fn host(word: &str) -> Result<String, IpError> {
    if word.parse::<std::net::IpAddr>().is_ok() || domain(word).is_ok() {
        Ok(word.to_owned())
    } else {
        Err(IpError::BadAddress(word.to_owned()))
    }
}

fn domain(word: &str) -> Result<String, IpError> {
    let ok = !word.is_empty()
        && word.len() <= 253
        && word.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
        });
    if ok { Ok(word.to_ascii_lowercase()) } else { Err(IpError::BadDomain(word.to_owned())) }
}

impl Ip {
    /// `ip name-server [vrf VRF] ADDR…`: added to those already configured, as IOS does.
    pub fn add_name_servers(&mut self, vrf: Option<&str>, addrs: &[String]) -> Result<(), IpError> {
        let parsed = addrs.iter().map(|a| address(a)).collect::<Result<Vec<_>, _>>()?;
        let list = match vrf {
            Some(vrf) => self.vrf_name_servers.entry(vrf.to_owned()).or_default(),
            None => &mut self.name_servers,
        };
        for addr in parsed {
            if !list.contains(&addr) {
                if list.len() >= MAX_NAME_SERVERS {
                    return Err(IpError::TooManyNameServers);
                }
                list.push(addr);
            }
        }
        Ok(())
    }

    /// `no ip name-server [vrf VRF] [ADDR…]`: the named servers, or all of them.
    pub fn remove_name_servers(&mut self, vrf: Option<&str>, addrs: &[String]) {
        let list = match vrf {
            Some(vrf) => match self.vrf_name_servers.get_mut(vrf) {
                Some(list) => list,
                None => return,
            },
            None => &mut self.name_servers,
        };
        if addrs.is_empty() {
            list.clear();
        } else {
            list.retain(|a| !addrs.iter().any(|gone| address(gone).is_ok_and(|g| g == *a)));
        }
        self.vrf_name_servers.retain(|_, list| !list.is_empty());
    }

    pub fn set_domain(&mut self, vrf: Option<&str>, name: Option<&str>) -> Result<(), IpError> {
        let name = name.map(domain).transpose()?;
        match (vrf, name) {
            (None, name) => self.domain_name = name,
            (Some(vrf), Some(name)) => {
                self.vrf_domain_names.insert(vrf.to_owned(), name);
            }
            (Some(vrf), None) => {
                self.vrf_domain_names.remove(vrf);
            }
        }
        Ok(())
    }

    pub fn add_ntp(
        &mut self,
        server: &str,
        version: Option<u8>,
        prefer: bool,
    ) -> Result<(), IpError> {
        self.ntp_servers.insert(host(server)?, NtpServer { version, prefer });
        Ok(())
    }

    /// `ip host NAME ADDR…`: replaces the name's addresses.
    pub fn set_host(&mut self, name: &str, addrs: &[String]) -> Result<(), IpError> {
        let name = domain(name)?;
        let addrs = addrs.iter().map(|a| address(a)).collect::<Result<Vec<_>, _>>()?;
        self.hosts.insert(name, addrs);
        Ok(())
    }

    /// The static mappings as the HTTP client takes them.
    pub fn static_hosts(&self) -> Vec<(String, std::net::IpAddr)> {
        self.hosts
            .iter()
            .flat_map(|(name, addrs)| {
                addrs.iter().filter_map(move |a| a.parse().ok().map(|ip| (name.clone(), ip)))
            })
            .collect()
    }

    /// The domain that completes an unqualified name: `ip domain name`, else the one VRF's.
    pub fn search_domain(&self) -> Option<&str> {
        self.domain_name.as_deref().or_else(|| {
            (self.vrf_domain_names.len() == 1)
                .then(|| self.vrf_domain_names.values().next().map(String::as_str))
                .flatten()
        })
    }

    /// The lines of the name-resolution settings, in the order a 17.x device prints them.
    pub fn dns_lines(&self) -> String {
        let mut out = String::new();
        if !self.name_servers.is_empty() {
            let _ = writeln!(out, "ip name-server {}", self.name_servers.join(" "));
        }
        for (vrf, list) in &self.vrf_name_servers {
            let _ = writeln!(out, "ip name-server vrf {vrf} {}", list.join(" "));
        }
        if let Some(interface) = &self.domain_lookup_source_interface {
            let _ = writeln!(out, "ip domain lookup source-interface {interface}");
        }
        if let Some(name) = &self.domain_name {
            let _ = writeln!(out, "ip domain name {name}");
        }
        for (vrf, name) in &self.vrf_domain_names {
            let _ = writeln!(out, "ip domain name vrf {vrf} {name}");
        }
        for (name, addrs) in &self.hosts {
            let _ = writeln!(out, "ip host {name} {}", addrs.join(" "));
        }
        out
    }

    /// `ip http client …` lines (with the other `ip http` lines of a real configuration).
    pub fn http_lines(&self) -> String {
        self.http_client_source_interface
            .as_ref()
            .map(|interface| format!("ip http client source-interface {interface}\n"))
            .unwrap_or_default()
    }

    /// `ntp server …` lines (at the end of a real configuration, after `call-home`).
    pub fn ntp_lines(&self) -> String {
        let mut out = String::new();
        for (server, ntp) in &self.ntp_servers {
            let _ = write!(out, "ntp server {server}");
            if let Some(version) = ntp.version {
                let _ = write!(out, " version {version}");
            }
            if ntp.prefer {
                out.push_str(" prefer");
            }
            out.push('\n');
        }
        out
    }
}

/// The CSLU URL with transport cslu: `license smart url cslu`, else zero-touch discovery. The
/// guide ("Zero-touch DNS discovery of cslu-local"): with a name server configured the device
/// finds `cslu-local`; with a name server and a domain, `cslu-local.<domain>` — an unqualified
/// name completed with `ip domain name`, as IOS does.
pub fn cslu_url(config: &Config) -> String {
    if let Some(url) = &config.url_cslu {
        return url.clone();
    }
    match config.settings.ip.search_domain() {
        Some(domain) => {
            DEFAULT_CSLU_URL.replacen("//cslu-local:", &format!("//cslu-local.{domain}:"), 1)
        }
        None => DEFAULT_CSLU_URL.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces_are_named_as_ios_prints_them() {
        assert_eq!(interface_name("gigabitethernet0/0").unwrap(), "GigabitEthernet0/0");
        assert_eq!(interface_name("Gi1/0/1").unwrap(), "GigabitEthernet1/0/1");
        assert_eq!(interface_name("vlan100").unwrap(), "Vlan100");
        assert_eq!(interface_name("Vlan100").unwrap(), "Vlan100");
        assert_eq!(interface_name("te1/1/1").unwrap(), "TenGigabitEthernet1/1/1");
        for bad in ["", "Vlan", "100", "xyz1", "t1", "gi0/"] {
            assert!(interface_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn name_servers_add_up_to_six_and_go_one_by_one_or_all() {
        let mut ip = Ip::default();
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ip.add_name_servers(None, &list(&["209.165.201.1", "209.165.200.225"])).unwrap();
        ip.add_name_servers(None, &list(&["209.165.201.1", "2001:db8::1"])).unwrap();
        assert_eq!(ip.name_servers, list(&["209.165.201.1", "209.165.200.225", "2001:db8::1"]));
        assert_eq!(
            ip.add_name_servers(None, &list(&["192.168.1.300"])),
            Err(IpError::BadAddress("192.168.1.300".to_owned()))
        );
        ip.add_name_servers(None, &list(&["10.0.0.1", "10.0.0.2", "10.0.0.3"])).unwrap();
        assert_eq!(
            ip.add_name_servers(None, &list(&["10.0.0.4"])),
            Err(IpError::TooManyNameServers)
        );
        ip.remove_name_servers(None, &list(&["10.0.0.1"]));
        assert_eq!(ip.name_servers.len(), 5);
        ip.add_name_servers(Some("Mgmt-vrf"), &list(&["173.37.137.85"])).unwrap();
        ip.remove_name_servers(None, &[]);
        assert!(ip.name_servers.is_empty());
        assert_eq!(ip.dns_lines(), "ip name-server vrf Mgmt-vrf 173.37.137.85\n");
    }
}
