//! `?` help texts, in the context of the words before them: `usage` after `show license`
//! displays usage, after `license smart save` it saves it, after `license smart` it sets the
//! reporting interval; `hostname` in global configuration names the system, after `license
//! smart privacy` it keeps the name out of reports. Wording follows the guide where it
//! describes the command (its "Command or Action / Purpose" tables and the command reference);
//! elsewhere IOS's usual phrasing.

/// The help text of keyword `word` after the keywords `path` (an argument in the path is
/// `WORD`, a number its `<min-max>`, a choice `{choice}`; a leading `no` is ignored).
pub fn text(path: &[&str], word: &str) -> &'static str {
    let path = match path {
        ["no", rest @ ..] => rest,
        _ => path,
    };
    contextual(path, word).unwrap_or_else(|| general(word))
}

/// Help for an argument (`WORD`) after the keywords `path`.
pub fn argument(path: &[&str]) -> &'static str {
    let path = match path {
        ["no", rest @ ..] => rest,
        _ => path,
    };
    match path {
        [.., "file"] | ["license", "smart", "import"] => "File path, e.g. bootflash:report.txt",
        [.., "save"] => "File path for the authorization request, e.g. bootflash:req.txt",
        [.., "idtoken"] => "ID token from the Smart Account's virtual account",
        [.., "request", "{choice}"] => "License to request an authorization code for (e.g. hseck9)",
        [.., "offline"] => "File path for the return code, e.g. bootflash:return.txt",
        ["license", "smart", "url", ..] | [.., "http"] => "URL",
        ["license", "smart", "proxy", "address"] => "Proxy server IP address or host name",
        ["license", "smart", "custom_id"] => "Custom ID",
        [.., "customer_info", _] => "Customer information value",
        ["hostname"] => "This system's network name",
        ["enable", "secret", ..] => "The enable secret (type 9: $9$…, or the password itself)",
        ["username"] => "User name",
        [.., "password"] | [.., "password", "<0-0>"] => "The user's password",
        [.., "secret"] | [.., "secret", _] => "The user's secret (type 9: $9$…)",
        ["interface"] => "Interface name, e.g. Tunnel1",
        ["test", "platform", "stack", ..] => "UDI, as PID:<pid>,SN:<sn>",
        ["show", "call-home", "profile"] | ["profile"] => "Profile name",
        ["contact-email-addr"] | [.., "email"] => "E-mail address",
        ["http-proxy"] => "Proxy server IP address or host name",
        ["crypto", "pki", "trustpoint"] => "Trustpoint name",
        [.., "source-interface"] => "Interface name, e.g. Vlan100 or GigabitEthernet0/0",
        ["ip", "name-server", "vrf"] | [.., "vrf"] => "VRF name",
        ["ip", "name-server", ..] => "Name server IP address (up to 6)",
        ["ip", "domain", "name", ..] | ["ip", "domain-name"] => "Default domain name",
        ["ntp", "server"] => "NTP server IP address or host name",
        ["ip", "host"] => "Name of the host",
        ["ip", "host", ..] => "Host IP address",
        _ => "Name, path or value",
    }
}

/// Help for a number (`<min-max>`) after the keywords `path`.
pub fn number(path: &[&str]) -> &'static str {
    let path = match path {
        ["no", rest @ ..] => rest,
        _ => path,
    };
    match path {
        [.., "interval"] => "Reporting interval in days (0: no reporting)",
        ["terminal", "length"] => "Number of lines on screen (0 for no pausing)",
        ["terminal", "width"] => "Number of characters on a screen line",
        ["line", "vty"] | ["line", "console"] => "First Line number",
        ["line", "vty", _] => "Last Line number",
        ["ip", "ssh", "version"] => "Protocol version (2; slp's server speaks 2 only)",
        ["exec-timeout"] => "Timeout in minutes",
        ["exec-timeout", _] => "Timeout in seconds",
        [.., "days"] => "Number of days",
        [.., "rum-id"] | ["show", "license", "rum", "id"] => "RUM report id",
        ["show", "license", "eventlog"] => "Days of events to show",
        [.., "port"] => "Port number",
        [.., "privilege"] => "User privilege level",
        [.., "password"] => "Specifies an UNENCRYPTED password will follow",
        [.., "secret"] => "Type of the secret: 0 (unencrypted) or 9 (scrypt hash)",
        [.., "version"] => "NTP version number",
        _ => "Number",
    }
}

fn contextual(path: &[&str], word: &str) -> Option<&'static str> {
    Some(match (path, word) {
        (["show", "license"], "all") => "Display all license information",
        (["show", "license", "rum", "id"], "all") => "Display all RUM reports",
        (["license", "smart", "save", "usage"], "all") => "Save all usage reports",
        (["license", "smart", "privacy"], "all") => "Withhold all data privacy information",
        (["show", "call-home", "profile"], "all") => "Display all destination profiles",
        (["transport", "input"], "all") => "All protocols",
        (["transport", "input"], "none") => "No protocols",
        (["transport", "input"], "ssh") => "TCP/IP SSH protocol",
        (["transport", "input"], "telnet") => "TCP/IP Telnet protocol",
        ([], "transport") => "Define transport protocols for line",
        ([], "terminal") => "Set terminal line parameters",
        ([], "logging") => "Modify message logging facilities",
        (["logging"], "console") => "Set console logging parameters",
        (["line"], "console") => "Primary terminal line",
        (["enable"], "secret") => "Assign the privileged level secret",
        (["ip"], "ssh") => "Configure ssh options",
        (["ip", "ssh"], "version") => "Specify protocol version supported",
        (["ip", "http"], "server") => "Enable http server",
        (["ip", "http", "authentication"], "local") => "Local username database for HTTP",
        (["login"], "local") => "Local password checking",
        (["show", "install"], "summary") => "Display the installed packages",
        (_, "all") => "All units of the HA set or stack",
        (["show", "license"], "usage") => "Display license usage information",
        (["license", "smart", "save"], "usage") => "Save license usage (RUM reports) to a file",
        (["license", "smart"], "usage") => "Usage reporting settings",
        (["license", "smart", "privacy"], "hostname") => "Withhold the hostname from reports",
        (["license", "smart", "privacy"], "version") => {
            "Withhold the software version from reports"
        }
        ([.., "WORD"], "version") => "NTP version number",
        // The guide's words ("Setting the Transport Type, URL, and Reporting Interval").
        (["license", "smart", "transport"], "cslu") => {
            "CSLU or SSM On-Prem, product instance-initiated (the default)"
        }
        (["license", "smart", "transport"], "smart") => "Enables Smart transport",
        (["license", "smart", "transport"], "callhome") => {
            "Enables Call Home as the transport mode"
        }
        (["license", "smart", "transport"], "automatic") => "Sets the transport mode cslu",
        (["license", "smart", "transport"], "off") => {
            "Disables all communication from the product instance"
        }
        (["test", "platform", "stack"], "add") => "A unit joins",
        (["license", "smart", "url"], "cslu") => "URL of CSLU or SSM On-Prem",
        (["license", "smart", "url"], "smart") => "URL of smart transport (CSSM)",
        (["license", "smart", "url"], "default") => "The configured transport's default URL",
        (["license", "smart", "url"], "utility") => "Utility URL (not supported)",
        (["license", "smart"], "utility") => "Utility reporting (not supported)",
        (["license", "smart", "proxy"], "address") => "Proxy server address",
        (["license", "smart", "proxy"], "port") => "Proxy server port",
        (["http-proxy", "WORD"], "port") => "Call Home proxy server port",
        (["destination"], "address") => "Destination address of the profile",
        (["destination", "address"], "http") => "HTTP destination URL",
        (["destination", "address"], "email") => "E-mail destination address",
        (["destination", "transport-method"], "http") => "Send messages by HTTP",
        (["destination", "transport-method"], "email") => "Send messages by e-mail",
        (["ip"], "http") => "HTTP client and server configuration",
        (["enrollment"], "terminal") => "Enroll by cut and paste at the terminal",
        (["ip", "http", "client"], "source-interface") => {
            "Configures a source interface for the HTTP client"
        }
        (["ip", "domain", "lookup"], "source-interface") => "Source interface of DNS lookups",
        (["ip", "domain"], "name") => "Define the default domain name",
        (["ip", "name-server"], "vrf") => "VRF of the name servers",
        (["ip", "domain", "name"], "vrf") => "VRF of the domain name",
        (["show", "license", "rum"], "id") => "RUM report by id",
        ([.., "customer_info"], "id") => "Customer ID",
        ([.., "customer_info"], "name") => "Customer name",
        ([.., "customer_info"], "city") => "Customer city",
        ([.., "customer_info"], "country") => "Customer country",
        ([.., "customer_info"], "postalcode") => "Customer postal code",
        ([.., "customer_info"], "state") => "Customer state",
        ([.., "customer_info"], "street") => "Customer street",
        (["show", "call-home"], "profile") => "Display Call Home destination profiles",
        (["show"], "call-home") => "Call Home information",
        // The guide's words ("Configuring Call Home as the Transport Mode").
        (["service"], "call-home") => "Enables the Call Home feature",
        ([], "call-home") => "Enters Call Home configuration mode",
        (["show", "license", "tech"], "support") => "All licensing information for Cisco TAC",
        _ => return None,
    })
}

fn general(word: &str) -> &'static str {
    match word {
        "enable" => "Turn on privileged commands",
        "disable" => "Turn off privileged commands",
        "configure" => "Enter configuration mode",
        "terminal" => "Configure from the terminal",
        "exit" => "Exit from the EXEC or the current mode",
        "end" => "Exit from configure mode",
        "show" => "Show running system information",
        "license" => "Smart licensing commands",
        "summary" => "Display summary of license usage",
        "status" => "Display overall license status",
        "reservation" => "License reservation (SLR) information",
        "udi" => "Display the UDIs of this product instance",
        "authorization" => "Authorization codes (SLAC)",
        "rum" => "RUM report information",
        "detail" => "Detailed report information",
        "eventlog" => "Display the license event log",
        "history" => "Display license history",
        "message" => "Imported messages",
        "tech" => "Display license information for technical support",
        "version" => "System hardware and software status",
        "clock" => "Display the system clock",
        "logging" => "Show the contents of logging buffers",
        "running-config" => "Current operating configuration",
        "copy" => "Copy from one file to another",
        "startup-config" => "Startup configuration",
        "write" => "Write running configuration to memory",
        "memory" => "Write to NV memory",
        "reload" => "Halt and perform a cold restart",
        "smart" => "Smart licensing",
        "save" => "Save data to a file",
        "unreported" => "Save the reports not yet sent or saved",
        "days" => "Save the reports of the last N days",
        "rum-id" => "Save one report by id",
        "file" => "Destination file",
        "import" => "Import an ACK, policy, trust code or authorization code file",
        "factory" => "Factory settings",
        "reset" => "Remove all licensing information",
        "request" => "Request an authorization code",
        "add" => "Add to the existing authorization",
        "replace" => "Replace the existing authorization",
        "local" => "This unit only (the active)",
        "return" => "Return an authorization code",
        "offline" => "Write the return code to a file or the screen",
        "online" => "Return through the configured transport",
        "trust" => "Trust establishment",
        "idtoken" => "Establish trust with an ID token",
        "force" => "Overwrite an existing trust code",
        "sync" => "Synchronize with CSSM or CSLU now",
        "platform" => "Platform commands",
        "redundancy" => "Redundancy commands",
        "force-switchover" => "Switch over to the standby",
        "test" => "Simulation commands (slp): stack membership",
        "stack" => "The HA set or stack",
        "standby" => "As the standby",
        "member" => "As a stack member",
        "remove" => "A unit leaves",
        "hsec-license-release" => "Release the HSECK9 key",
        "wanmacsec" => "WAN MACsec",
        "network-advantage" => "Network Advantage license",
        "network-essentials" => "Network Essentials license",
        "dna-advantage" => "DNA Advantage add-on license",
        "dna-essentials" => "DNA Essentials add-on license",
        "boot" => "License boot level",
        "level" => "License level",
        "addon" => "Add-on license",
        "no" => "Negate a command or set its defaults",
        "transport" => "Transport mode to CSLU or CSSM",
        "url" => "Transport URL",
        "proxy" => "Proxy for smart transport",
        "interval" => "Reporting interval in days",
        "privacy" => "Data privacy",
        "hostname" => "Set system's network name",
        "username" => "Establish a user name for the management API (privilege 15)",
        "privilege" => "Set user privilege level",
        "password" => "Specify the password for the user",
        "secret" => "Specify the secret for the user",
        "interface" => "Select an interface to configure",
        "tunnel" => "Tunnel interface commands",
        "mode" => "Tunnel encapsulation method",
        "ipsec" => "IPsec tunnel (uses the HSECK9 license)",
        "ipv4" => "over IPv4",
        "custom_id" => "Custom ID (not supported)",
        "customer_info" => "Customer information (not supported)",
        "smart-licensing" => "Smart licensing transport settings of Call Home",
        "service" => "Modify use of network based services",
        "contact-email-addr" => "Assigns the customer's email address",
        "http-proxy" => "HTTP proxy server for Call Home",
        "profile" => "Enter a Call Home destination profile",
        "active" => "Enables the destination profile",
        "anonymous-reporting-only" => "Send only crash, inventory and test messages",
        "destination" => "Message destination of the profile",
        "transport-method" => "Message transport method",
        "crypto" => "Encryption module",
        "pki" => "Public Key components",
        "trustpoint" => "Define a CA trustpoint",
        "enrollment" => "Certificate enrollment method",
        "pkcs12" => "Enroll from a PKCS#12 file",
        "selfsigned" => "Self-signed certificate",
        "revocation-check" => "Method to check that a peer's certificate is not revoked",
        "crl" => "Check with a certificate revocation list",
        "none" => "No revocation check: the certificate is always accepted",
        "ocsp" => "Check with an OCSP server",
        "ip" => "Global IP configuration subcommands",
        "client" => "HTTP client configuration",
        "name-server" => "Specify address of name server to use",
        "domain" => "IP DNS Resolver",
        "domain-name" => "Define the default domain name",
        "lookup" => "DNS lookup settings",
        "ntp" => "Configure NTP",
        "host" => "Add an entry to the ip hostname table",
        "server" => "Configure NTP server",
        "prefer" => "Prefer this server",
        "length" => "Set number of lines on a screen",
        "width" => "Set width of the display terminal",
        "install" => "Show install information",
        "logout" => "Exit from the EXEC",
        "line" => "Configure a terminal line",
        "vty" => "Virtual terminal",
        "input" => "Define which protocols to use when connecting to the terminal server",
        "login" => "Enable password checking",
        "exec-timeout" => "Set the EXEC timeout",
        "netconf-yang" => "Cisco NETCONF-YANG service",
        "restconf" => "Enable RESTCONF",
        "secure-server" => "Enable HTTP secure server",
        "authentication" => "Set http authentication method",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::commands::{Tok, keywords, table, tokens};

    /// Keywords that mean the same thing and so share their help text.
    const SYNONYMS: &[(&str, &str)] = &[("domain-name", "name")];

    /// Every keyword of every command, in its context: (path, keyword, help text).
    fn tree() -> Vec<(Vec<&'static str>, &'static str, &'static str)> {
        let mut entries = Vec::new();
        for (_, syntax, _) in table() {
            let toks = tokens(syntax);
            for (depth, tok) in toks.iter().enumerate() {
                let path = keywords(&toks, depth);
                let words: Vec<&'static str> = match tok {
                    Tok::Kw(kw) => vec![*kw],
                    Tok::Choice(options) => options.clone(),
                    _ => continue,
                };
                for word in words {
                    entries.push((path.clone(), word, text(&path, word)));
                }
            }
        }
        entries
    }

    /// Walks the whole command tree: every keyword has a help text, and no two different
    /// keywords share one unless they mean the same thing.
    #[test]
    fn help_texts_are_present_and_distinct_across_the_command_tree() {
        let entries = tree();
        assert!(entries.len() > 200, "{}", entries.len());
        let mut by_text: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (path, word, help) in &entries {
            assert!(!help.is_empty(), "no help for {word:?} after {path:?}");
            by_text.entry(help).or_default().insert(word);
        }
        for (help, words) in by_text {
            if words.len() > 1 {
                let pair: Vec<&str> = words.iter().copied().collect();
                let allowed = pair.len() == 2
                    && SYNONYMS.iter().any(|(a, b)| pair.contains(a) && pair.contains(b));
                assert!(allowed, "{words:?} share the help text {help:?}");
            }
        }
    }

    /// A keyword that means different things in different places says so: the cases the
    /// issue names (`usage`, `privacy hostname`) and the other words used in several commands.
    #[test]
    fn a_keyword_with_several_meanings_has_a_text_for_each() {
        let distinct = |cases: &[(&[&str], &str)]| {
            let texts: BTreeSet<&str> = cases.iter().map(|(path, word)| text(path, word)).collect();
            assert_eq!(texts.len(), cases.len(), "{cases:?}: {texts:?}");
        };
        distinct(&[
            (&["show", "license"], "usage"),
            (&["license", "smart", "save"], "usage"),
            (&["license", "smart"], "usage"),
        ]);
        distinct(&[(&[], "hostname"), (&["license", "smart", "privacy"], "hostname")]);
        distinct(&[(&["show"], "version"), (&["license", "smart", "privacy"], "version")]);
        distinct(&[
            (&["show", "license"], "all"),
            (&["show", "license", "rum", "id"], "all"),
            (&["license", "smart", "save", "usage"], "all"),
            (&["license", "smart", "privacy"], "all"),
            (&["license", "smart", "sync"], "all"),
        ]);
        distinct(&[
            (&["license", "smart", "url"], "cslu"),
            (&["license", "smart", "transport"], "cslu"),
        ]);
        distinct(&[
            (&["show", "license", "rum"], "id"),
            (&["license", "smart", "utility", "customer_info"], "id"),
        ]);
        distinct(&[(&["configure"], "terminal"), (&["enrollment"], "terminal")]);
        distinct(&[
            (&["license", "smart", "authorization", "request"], "add"),
            (&["test", "platform", "stack"], "add"),
        ]);
        // `no` forms share the positive form's texts.
        assert_eq!(
            text(&["no", "license", "smart", "privacy"], "hostname"),
            text(&["license", "smart", "privacy"], "hostname")
        );
    }

    /// Every number of every command has a help text of its own context.
    #[test]
    fn numbers_have_a_text_for_their_context() {
        for (_, syntax, _) in table() {
            let toks = tokens(syntax);
            for (depth, tok) in toks.iter().enumerate() {
                if let Tok::Num(..) = tok {
                    let help = number(&keywords(&toks, depth));
                    assert_ne!(help, "Number", "{syntax}");
                }
            }
        }
        assert_eq!(number(&["license", "smart", "proxy", "port"]), "Port number");
        assert_ne!(
            number(&["show", "license", "eventlog"]),
            number(&["license", "smart", "usage", "interval"])
        );
    }

    /// Where the guide words an option, `?` uses its words.
    #[test]
    fn help_follows_the_guide_wording() {
        let transport = ["license", "smart", "transport"];
        assert_eq!(text(&transport, "automatic"), "Sets the transport mode cslu");
        assert_eq!(text(&transport, "callhome"), "Enables Call Home as the transport mode");
        assert_eq!(text(&transport, "off"), "Disables all communication from the product instance");
        assert_eq!(text(&transport, "smart"), "Enables Smart transport");
        assert_eq!(text(&["service"], "call-home"), "Enables the Call Home feature");
        assert_eq!(text(&[], "call-home"), "Enters Call Home configuration mode");
        assert_eq!(text(&[], "active"), "Enables the destination profile");
        assert_eq!(
            text(&["ip", "http", "client"], "source-interface"),
            "Configures a source interface for the HTTP client"
        );
        assert_eq!(text(&["license", "smart", "url"], "utility"), "Utility URL (not supported)");
    }
}
