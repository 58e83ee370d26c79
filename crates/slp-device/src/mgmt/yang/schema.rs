//! The schema: the `cisco-smart-license` tree slp implements, as static data. Instance data,
//! the XML and JSON encoders, filters, paths, edits and RPC inputs all walk this one
//! description (docs/yang.md prints it in pyang's tree format and says where each part comes
//! from).

/// A leaf's type, with the restrictions slp checks on input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// `string` with a length range (in characters).
    Str {
        min: usize,
        max: usize,
    },
    Bool,
    /// `uint8`/`uint16`/`uint32` with a range.
    Uint {
        bits: u8,
        min: u64,
        max: u64,
    },
    /// `uint64` (JSON: a string, RFC 7951 §6.1).
    Uint64,
    /// `yang:date-and-time`.
    DateTime,
    /// `inet:uri`.
    Uri,
    /// `empty` (XML `<x/>`, JSON `[null]`).
    Empty,
    /// An enumeration: the names exactly as the model spells them.
    Enum(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Container,
    /// A list keyed by the leaf named here (the first child).
    List {
        key: &'static str,
    },
    Leaf(Type),
}

/// One schema node.
#[derive(Debug, PartialEq, Eq)]
pub struct Node {
    pub name: &'static str,
    pub kind: Kind,
    /// `Some(false)` for `config false` subtrees; `None` inherits from the parent.
    pub config: Option<bool>,
    pub children: &'static [Node],
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&'static Node> {
        let children: &'static [Node] = self.children;
        children.iter().find(|c| c.name == name)
    }

    pub fn is_leaf(&self) -> bool {
        matches!(self.kind, Kind::Leaf(_))
    }

    pub fn leaf_type(&self) -> Option<Type> {
        match self.kind {
            Kind::Leaf(ty) => Some(ty),
            _ => None,
        }
    }

    /// Position of the child `name` (schema order, for sorting instance data).
    pub fn index_of(&self, name: &str) -> usize {
        self.children.iter().position(|c| c.name == name).unwrap_or(usize::MAX)
    }
}

const fn container(name: &'static str, children: &'static [Node]) -> Node {
    Node { name, kind: Kind::Container, config: None, children }
}

const fn state(name: &'static str, children: &'static [Node]) -> Node {
    Node { name, kind: Kind::Container, config: Some(false), children }
}

const fn list(name: &'static str, key: &'static str, children: &'static [Node]) -> Node {
    Node { name, kind: Kind::List { key }, config: None, children }
}

const fn leaf(name: &'static str, ty: Type) -> Node {
    Node { name, kind: Kind::Leaf(ty), config: None, children: &[] }
}

const S255: Type = Type::Str { min: 1, max: 255 };
const S0_255: Type = Type::Str { min: 0, max: 255 };
const S250: Type = Type::Str { min: 1, max: 250 };
const STR: Type = Type::Str { min: 0, max: 4096 };
const U32: Type = Type::Uint { bits: 32, min: 0, max: u32::MAX as u64 };
const BOOL: Type = Type::Bool;
const TIME: Type = Type::DateTime;

pub const REGISTRATION_STATE: &[&str] = &[
    "reg-state-not-registered",
    "reg-state-complete",
    "reg-state-in-progress",
    "reg-state-retry",
    "reg-state-failed",
];

pub const AUTHORIZATION_STATE: &[&str] = &[
    "auth-state-none",
    "auth-state-eval",
    "auth-state-eval-expired",
    "auth-state-authorized",
    "auth-state-authorized-reservation",
    "auth-state-out-of-compliance",
    "auth-state-authorization-expired",
];

pub const UTILITY_REPORTING_TYPE: &[&str] = &[
    "utility-reporting-type-none",
    "utility-reporting-type-subscription",
    "utility-reporting-type-certificate",
];

/// `transport-type-enum`: callhome and smart from the 2017 revision, cslu, off and automatic
/// added by 2020-11-01 (PROTOCOL.md §6.1; spellings confirmed by public tooling for cslu and
/// automatic).
pub const TRANSPORT_TYPE: &[&str] = &[
    "transport-type-callhome",
    "transport-type-smart",
    "transport-type-cslu",
    "transport-type-off",
    "transport-type-automatic",
];

pub const ENFORCEMENT_MODE: &[&str] = &[
    "enforcement-waiting",
    "enforcement-in-compliance",
    "enforcement-out-of-compliance",
    "enforcement-overage",
    "enforcement-evaluation",
    "enforcement-evaluation-expired",
    "enforcement-authorization-expired",
    "enforcement-reservation-in-compliance",
    "enforcement-invalid-tag",
    "enforcement-disabled",
];

/// `policy-types-enum` (2021 revision; spellings as PROTOCOL.md §3.1 records them).
pub const POLICY_TYPE: &[&str] = &[
    "cisco-invalid",
    "cisco-default",
    "platform-default",
    "factory-installed",
    "custom",
    "plr",
    "fla",
    "controller",
    "merged",
];

/// `license-auth-type-enum` (2021 revision; PROTOCOL.md §4.4).
pub const AUTH_TYPE: &[&str] = &["none", "auth-code", "slr", "plr", "fla", "pak"];

/// `license-enforcement-type` (2021 revision; spellings inferred, PROTOCOL.md §6.1).
pub const LICENSE_ENFORCEMENT_TYPE: &[&str] = &["invalid", "unenforced", "enforced", "export"];

/// `error-enum` of the `cisco-smart-license-errors` submodule: every value of the 2017
/// revision in order, then the later ones PROTOCOL.md §4.6 names.
pub const ERROR_ENUM: &[&str] = &[
    "success",
    "malloc",
    "nullpointer",
    "error3",
    "error4",
    "error5",
    "BadInputParams",
    "error7",
    "badhandle",
    "notfound",
    "notsupported",
    "alreadyinit",
    "notinit",
    "smfailtocreate",
    "smfailtorun",
    "smfailtoinit",
    "smfailtodestroy",
    "msgparse",
    "msgbuild",
    "notenabled",
    "invalidrequest",
    "init",
    "failtosetstate",
    "unsupportedresponse",
    "invalidresponse",
    "storagefailtostore",
    "storagefailtoretrieve",
    "nullccoidtoken",
    "matchidentifier",
    "matchvendor",
    "matchnonce",
    "commdisabled",
    "commsend",
    "commresponse",
    "communkown",
    "smpostnotallow",
    "reqmsgmissingmandatoryfield",
    "responsefailed",
    "pinotinit",
    "alreadyenabled",
    "alreadyregistered",
    "certinvalid",
    "certexpired",
    "notregistered",
    "csrgenerationfailed",
    "verifysignaturefailed",
    "generatesignaturefailed",
    "signcertverificationfailed",
    "nodecertverificationfailed",
    "parsecertificatefailed",
    "cryptorootcaimportfailed",
    "taginvalid",
    "standby",
    "registrationinprogress",
    "commretry",
    "authrenewinprogress",
    "idcertrenewinprogress",
    "noudichange",
    "callhomeserviceoff",
    "msgexecinprogress",
    "msgexecinproglocked",
    "certmatchessubsetudis",
    "storagegroupchangeincomplete",
    "storagemgmtnotinit",
    "tspathnotchanged",
    "cryptoinitnotcompleted",
    "notinunidentified",
    "platformpathinvalid",
    "platformudiinvalid",
    "storageobjfailtocreate",
    "storageobjfailtoerase",
    "storageobjdoesnotexist",
    "messageeventexceedspeer",
    "codevalidationfailed",
    "reserved",
    "noreservationinprogress",
    "noauthorizationinstalled",
    "reservationmismatch",
    "notreservationmode",
    "reservationerror",
    "sysmgrinit",
    "alreadyexists",
    "listinsertfailed",
    "sessionmgmtnotinit",
    "listinitfailed",
    "listbusy",
    "noclients",
    "ipc",
    "ipcopen",
    "ipcinit",
    "ipcconnect",
    "ipcevents",
    "ipcmgmt",
    "ipcsend",
    "ipcreceive",
    "ipctimeout",
    "enqueuefailed",
    "dequeuefailed",
    "shuttingdown",
    "couldnotvalidatetrustchain",
    "reservationalreadyinstalled",
    "reservationinstallparsefail",
    "base64encoding",
    "base64decoding",
    "invalidsoftwareidtag",
    "certificatemismatch",
    "noreservation",
    "agentunreachable",
    "ignoreevent",
    "b58overflow",
    "b58decode",
    "b58badlen",
    "b58invdigit",
    "b58decodeoverflow",
    "reservationversionoutofbound",
    "base58encode",
    "duplicatedentry",
    "missingentry",
    "badpeerinfoformat",
    "badapplicationhaattributedataset",
    "reservationinprogress",
    "xdmcreatehandle",
    "versionmismatchinentitlementrsp",
    "harolenotsupported",
    "apphainvalidcharacter",
    "apphaaddpeerfromsamedevice",
    "apphaappduplicatedinstance",
    "versionmismatchinregresponse",
    "conversionnocb",
    "conversionnotallowed",
    "conversioninprogress",
    "conversionalreadystarted",
    "conversionnotenabled",
    "versionconversionnotsupported",
    "noconversioninprogress",
    "cryptoversionmismatch",
    "conversionstoppedpartially",
    "utilityenabled",
    "utilitynotenabled",
    "transportnotavailable",
    "fqdn",
    "thirdparty",
    "transporttype",
    "requesteditemnotfound",
    "noreservationauthcode",
    "max",
];

const UDI: &[Node] = &[
    leaf("pid", S255),
    leaf("sn", S255),
    leaf("vid", S255),
    leaf("uuid", STR),
    leaf("suvi", S255),
    leaf("host-identifier", S255),
    leaf("mac-address", STR),
];

const CUSTOMER_INFO: &[Node] = &[
    leaf("id", S250),
    leaf("name", S250),
    leaf("street", S250),
    leaf("city", S250),
    leaf("state", S250),
    leaf("country", S250),
    leaf("postal-code", S250),
];

const COMM: &[Node] = &[
    leaf("last-comm-status-success", BOOL),
    leaf("fail-message", S0_255),
    leaf("last-comm-time", TIME),
    leaf("next-comm-time", TIME),
    leaf("comm-deadline-time", TIME),
];

const COMM_OOC: &[Node] = &[
    leaf("last-comm-status-success", BOOL),
    leaf("fail-message", S0_255),
    leaf("last-comm-time", TIME),
    leaf("next-comm-time", TIME),
    leaf("comm-deadline-time", TIME),
    leaf("ooc-time", TIME),
];

const POLICY_ATTRIBUTES: &[Node] = &[
    leaf("reporting-first-time", U32),
    leaf("reporting-ongoing", U32),
    leaf("reporting-macd", U32),
];

const CONFIG: Node = container(
    "config",
    &[
        leaf("enable", BOOL),
        leaf("custom-id", STR),
        container("privacy", &[leaf("hostname", BOOL), leaf("version", BOOL)]),
        container(
            "utility",
            &[leaf("utility-enable", BOOL), container("customer-info", CUSTOMER_INFO)],
        ),
        container(
            "usage",
            &[
                leaf("interval", Type::Uint { bits: 16, min: 1, max: 365 }),
                container(
                    "customer-tags",
                    &[
                        leaf("tag1", S255),
                        leaf("tag2", S255),
                        leaf("tag3", S255),
                        leaf("tag4", S255),
                    ],
                ),
            ],
        ),
        container(
            "transport",
            &[
                leaf("transport-type", Type::Enum(TRANSPORT_TYPE)),
                container(
                    "transport-smart",
                    &[
                        leaf("url-default", BOOL),
                        container(
                            "urls",
                            &[leaf("url-registration", Type::Uri), leaf("url-utility", Type::Uri)],
                        ),
                    ],
                ),
                container("transport-cslu", &[leaf("url-cslu", Type::Uri)]),
            ],
        ),
    ],
);

const STATE_INFO: &[Node] = &[
    leaf("custom-id", STR),
    container(
        "registration",
        &[
            leaf("registration-state", Type::Enum(REGISTRATION_STATE)),
            leaf("export-control-allowed", BOOL),
            container("registration-in-progress", &[leaf("start-time", TIME)]),
            container(
                "registration-failed",
                &[leaf("fail-time", TIME), leaf("fail-message", S0_255)],
            ),
            container(
                "registration-retry",
                &[
                    leaf("retry-next-time", TIME),
                    leaf("fail-time", TIME),
                    leaf("fail-message", S0_255),
                ],
            ),
            container(
                "registration-complete",
                &[
                    leaf("complete-time", TIME),
                    leaf("last-renew-time", TIME),
                    leaf("next-renew-time", TIME),
                    leaf("expire-time", TIME),
                    leaf("last-renew-success", BOOL),
                    leaf("fail-message", S0_255),
                    leaf("smart-account", S255),
                    leaf("virtual-account", S255),
                ],
            ),
        ],
    ),
    container(
        "authorization",
        &[
            leaf("authorization-state", Type::Enum(AUTHORIZATION_STATE)),
            container("authorization-none", &[]),
            container("authorization-eval", &[leaf("seconds-left", Type::Uint64)]),
            container("authorization-eval-expired", &[leaf("expire-time", TIME)]),
            container("authorization-authorized", COMM),
            container("authorization-authorized-reservation", &[leaf("reservation-time", TIME)]),
            container("authorization-out-of-compliance", COMM_OOC),
            container("authorization-authorization-expired", COMM),
        ],
    ),
    container(
        "utility",
        &[
            leaf("enabled", BOOL),
            leaf("reporting", Type::Enum(UTILITY_REPORTING_TYPE)),
            container(
                "reporting-times",
                &[
                    leaf("last-report-time", TIME),
                    leaf("last-report-success", BOOL),
                    leaf("fail-message", S0_255),
                    leaf("next-report-time", TIME),
                ],
            ),
            container("customer-info", CUSTOMER_INFO),
        ],
    ),
    container(
        "transport",
        &[
            leaf("transport-type", Type::Enum(TRANSPORT_TYPE)),
            container("url-settings", &[leaf("url-registration", STR), leaf("url-utility", STR)]),
        ],
    ),
    container("privacy", &[leaf("hostname", BOOL), leaf("version", BOOL)]),
    container(
        "evaluation",
        &[
            leaf("eval-in-use", BOOL),
            leaf("eval-expired", BOOL),
            container("eval-period-left", &[leaf("time-left", U32)]),
            container("eval-expire-time", &[leaf("expire-time", TIME)]),
        ],
    ),
    container("udi", UDI),
    list(
        "usage",
        "entitlement-tag",
        &[
            leaf("entitlement-tag", STR),
            leaf("short-name", STR),
            leaf("license-name", STR),
            leaf("description", STR),
            leaf("count", U32),
            leaf("enforcement-mode", Type::Enum(ENFORCEMENT_MODE)),
            leaf("post-paid", BOOL),
            leaf("subscription-id", STR),
        ],
    ),
    container(
        "policy",
        &[
            leaf("policy-type", Type::Enum(POLICY_TYPE)),
            leaf("policy-name", STR),
            leaf("install-time", TIME),
            leaf("ack-required", BOOL),
            container("policy-enforced", POLICY_ATTRIBUTES),
            container("policy-export", POLICY_ATTRIBUTES),
            container("policy-subscription", POLICY_ATTRIBUTES),
            container("policy-perpetual", POLICY_ATTRIBUTES),
        ],
    ),
    list(
        "trust-code",
        "key_udi",
        &[leaf("key_udi", STR), container("udi", UDI), leaf("install-time", TIME)],
    ),
    list(
        "rum-reports-closed-keys",
        "rum-report-key",
        &[
            leaf("rum-report-key", Type::Uint64),
            leaf("rum-report-id", Type::Uint64),
            container("udi", UDI),
            leaf("start-time", TIME),
            leaf("end-time", TIME),
            leaf("state", STR),
        ],
    ),
    container("rum-ack", &[leaf("last-received-time", TIME), leaf("next-report-deadline", TIME)]),
    container(
        "imported-authorizations",
        &[
            list(
                "overall-status",
                "key_udi",
                &[
                    leaf("key_udi", STR),
                    container("udi", UDI),
                    list(
                        "installed-list",
                        "install-type",
                        &[leaf("install-type", Type::Enum(AUTH_TYPE)), leaf("install-time", TIME)],
                    ),
                ],
            ),
            list(
                "authorization-list",
                "entitlement-tag",
                &[
                    leaf("entitlement-tag", STR),
                    leaf("short-name", STR),
                    leaf("license-name", STR),
                    leaf("description", STR),
                    leaf("total-count", U32),
                    leaf("license-enforcement-type", Type::Enum(LICENSE_ENFORCEMENT_TYPE)),
                    leaf("end-time", TIME),
                ],
            ),
        ],
    ),
];

const STATE: Node = state(
    "state",
    &[
        leaf("always-enabled", BOOL),
        leaf("smart-enabled", BOOL),
        leaf("version", S255),
        container("state-info", STATE_INFO),
    ],
);

/// The top-level container `licensing` (config true, with the config-false `state`).
pub static LICENSING: Node = Node {
    name: "licensing",
    kind: Kind::Container,
    config: Some(true),
    children: &[CONFIG, STATE],
};

/// An RPC of the model: its input leaves and output leaves.
#[derive(Debug, PartialEq, Eq)]
pub struct Rpc {
    pub name: &'static str,
    pub input: Node,
    pub output: Node,
    /// Input leaves that must be given.
    pub mandatory: &'static [&'static str],
}

const fn rpc(
    name: &'static str,
    input: &'static [Node],
    mandatory: &'static [&'static str],
    output: &'static [Node],
) -> Rpc {
    Rpc { name, input: container("input", input), output: container("output", output), mandatory }
}

const RETURN_CODE: Node = leaf("return-code", Type::Enum(ERROR_ENUM));
const FILE_PATH: Node = leaf("file-path", Type::Str { min: 1, max: 127 });

/// Every RPC of the model.
pub static RPCS: &[Rpc] = &[
    rpc(
        "register-id-token",
        &[leaf("id-token", S255), leaf("force", BOOL)],
        &["id-token"],
        &[RETURN_CODE],
    ),
    rpc("de-register", &[], &[], &[RETURN_CODE]),
    rpc("renew-id", &[], &[], &[RETURN_CODE]),
    rpc("renew-auth", &[], &[], &[RETURN_CODE]),
    rpc(
        "id-token-trust",
        &[leaf("id-token", S255), leaf("all-ha", BOOL), leaf("force", BOOL)],
        &["id-token"],
        &[RETURN_CODE],
    ),
    rpc("rum-save-usage-all", &[FILE_PATH], &["file-path"], &[RETURN_CODE]),
    rpc("rum-save-usage-unreported", &[FILE_PATH], &["file-path"], &[RETURN_CODE]),
    rpc(
        "rum-save-usage-days",
        &[FILE_PATH, leaf("days", Type::Uint { bits: 32, min: 1, max: 3650 })],
        &["file-path", "days"],
        &[RETURN_CODE],
    ),
    rpc("trust-request-save", &[FILE_PATH], &["file-path"], &[RETURN_CODE]),
    rpc(
        "authorization-request-online",
        &[leaf("feature-name", S255), leaf("local", BOOL), leaf("add", BOOL)],
        &["feature-name"],
        &[RETURN_CODE],
    ),
    rpc(
        "authorization-code-return-online",
        &[leaf("local", BOOL)],
        &[],
        &[RETURN_CODE, leaf("authorization-return-string", STR)],
    ),
    rpc(
        "authorization-code-return-offline",
        &[leaf("local", BOOL), FILE_PATH],
        &[],
        &[RETURN_CODE, leaf("authorization-return-string", STR)],
    ),
    rpc(
        "import-file",
        &[FILE_PATH],
        &["file-path"],
        &[RETURN_CODE, leaf("confirmation-codes", STR)],
    ),
];

/// The RPC named `name`.
pub fn rpc_named(name: &str) -> Option<&'static Rpc> {
    RPCS.iter().find(|r| r.name == name)
}

/// The typedef name of an enumeration, as pyang prints it.
fn enum_name(values: &'static [&'static str]) -> &'static str {
    let named: [(&[&str], &str); 9] = [
        (REGISTRATION_STATE, "registration-state-enum"),
        (AUTHORIZATION_STATE, "authorization-state-enum"),
        (UTILITY_REPORTING_TYPE, "utility-reporting-type-enum"),
        (TRANSPORT_TYPE, "transport-type-enum"),
        (ENFORCEMENT_MODE, "enforcement-mode-enum"),
        (POLICY_TYPE, "policy-types-enum"),
        (AUTH_TYPE, "license-auth-type-enum"),
        (LICENSE_ENFORCEMENT_TYPE, "license-enforcement-type-enum"),
        (ERROR_ENUM, "error-enum"),
    ];
    named.iter().find(|(v, _)| std::ptr::eq(*v, values)).map(|(_, n)| *n).unwrap_or("enumeration")
}

fn type_name(ty: Type) -> String {
    match ty {
        Type::Str { .. } => "string".into(),
        Type::Bool => "boolean".into(),
        Type::Uint { bits, .. } => format!("uint{bits}"),
        Type::Uint64 => "uint64".into(),
        Type::DateTime => "yang:date-and-time".into(),
        Type::Uri => "inet:uri".into(),
        Type::Empty => "empty".into(),
        Type::Enum(values) => enum_name(values).into(),
    }
}

/// The tree in pyang's `-f tree` format (docs/yang.md holds it; a test keeps them equal).
pub fn pyang_tree() -> String {
    let mut out = String::from("module: cisco-smart-license\n");
    tree_lines(&mut out, std::slice::from_ref(&LICENSING), "  ", true, None);
    out.push_str("\n  rpcs:\n");
    for (i, rpc) in RPCS.iter().enumerate() {
        let last = i + 1 == RPCS.len();
        out.push_str(&format!("    +---x {}\n", rpc.name));
        let indent = if last { "       " } else { "    |  " };
        let parts: Vec<(&str, &Node)> = [("w", &rpc.input), ("ro", &rpc.output)]
            .into_iter()
            .filter(|(_, n)| !n.children.is_empty())
            .collect();
        for (j, (mode, node)) in parts.iter().enumerate() {
            let end = j + 1 == parts.len();
            let flag = if *mode == "w" { "-w" } else { "ro" };
            out.push_str(&format!("{indent}+--{flag} {}\n", node.name));
            let inner = format!("{indent}{}", if end { "   " } else { "|  " });
            rpc_leaves(&mut out, node, &inner, flag, rpc.mandatory, *mode == "w");
        }
    }
    out
}

fn rpc_leaves(
    out: &mut String,
    node: &Node,
    indent: &str,
    flag: &str,
    mandatory: &[&str],
    input: bool,
) {
    let width = node.children.iter().map(|c| c.name.len() + 1).max().unwrap_or(0);
    for child in node.children {
        let optional = !(input && mandatory.contains(&child.name));
        let name = format!("{}{}", child.name, if optional { "?" } else { "" });
        let ty = child.leaf_type().map(type_name).unwrap_or_default();
        out.push_str(&format!("{indent}+--{flag} {name:<width$}   {ty}\n"));
    }
}

fn tree_lines(out: &mut String, nodes: &[Node], indent: &str, config: bool, key: Option<&str>) {
    let width = nodes
        .iter()
        .map(|n| match n.kind {
            Kind::Leaf(_) => n.name.len() + 1,
            Kind::List { .. } => n.name.len() + 1,
            Kind::Container => n.name.len(),
        })
        .max()
        .unwrap_or(0);
    for (i, node) in nodes.iter().enumerate() {
        let last = i + 1 == nodes.len();
        let config = node.config.unwrap_or(config);
        let flag = if config { "rw" } else { "ro" };
        let line = match node.kind {
            Kind::Container => format!("+--{flag} {}", node.name),
            Kind::List { key } => format!("+--{flag} {}* [{key}]", node.name),
            Kind::Leaf(ty) => {
                let mark = if key == Some(node.name) { "" } else { "?" };
                let name = format!("{}{mark}", node.name);
                format!("+--{flag} {name:<width$}   {}", type_name(ty))
            }
        };
        out.push_str(indent);
        out.push_str(line.trim_end());
        out.push('\n');
        if !node.children.is_empty() {
            let inner = format!("{indent}{}", if last { "   " } else { "|  " });
            let key = match node.kind {
                Kind::List { key } => Some(key),
                _ => None,
            };
            tree_lines(out, node.children, &inner, config, key);
        }
    }
}

/// The module as YANG text (for `<get-schema>`, RFC 6022): slp's own rendering of the tree
/// it serves, generated from this description — not Cisco's `cisco-smart-license.yang`.
pub fn yang_module() -> String {
    let mut out = format!(
        "module {module} {{\n  yang-version 1.1;\n  namespace \"{ns}\";\n  prefix cisco-smart-license;\n\n  \
         import ietf-yang-types {{ prefix yang; }}\n  import ietf-inet-types {{ prefix inet; }}\n\n  \
         organization \"slp (generated)\";\n  \
         description\n    \"GENERATED by slp from its own description of the tree it serves\n     \
         (crates/slp-device/src/mgmt/yang/schema.rs). This is not Cisco's\n     \
         cisco-smart-license.yang: only the nodes slp implements, with slp's types.\";\n\n  \
         revision {rev} {{\n    description \"The revision slp serves.\";\n  }}\n",
        module = super::MODULE,
        ns = super::NAMESPACE,
        rev = super::REVISION,
    );
    let enums: &[&[&str]] = &[
        REGISTRATION_STATE,
        AUTHORIZATION_STATE,
        UTILITY_REPORTING_TYPE,
        TRANSPORT_TYPE,
        ENFORCEMENT_MODE,
        POLICY_TYPE,
        AUTH_TYPE,
        LICENSE_ENFORCEMENT_TYPE,
        ERROR_ENUM,
    ];
    for values in enums {
        out.push_str(&format!("\n  typedef {} {{\n    type enumeration {{\n", enum_name(values)));
        for value in *values {
            out.push_str(&format!("      enum \"{value}\";\n"));
        }
        out.push_str("    }\n  }\n");
    }
    out.push('\n');
    yang_node(&mut out, &LICENSING, "  ", true);
    for rpc in RPCS {
        out.push_str(&format!("\n  rpc {} {{\n", rpc.name));
        for part in [&rpc.input, &rpc.output] {
            if part.children.is_empty() {
                continue;
            }
            out.push_str(&format!("    {} {{\n", part.name));
            for child in part.children {
                let mandatory = part.name == "input" && rpc.mandatory.contains(&child.name);
                yang_leaf(&mut out, child, "      ", mandatory);
            }
            out.push_str("    }\n");
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

fn yang_node(out: &mut String, node: &Node, indent: &str, parent_config: bool) {
    let config = node.config.unwrap_or(parent_config);
    match node.kind {
        Kind::Leaf(_) => yang_leaf(out, node, indent, false),
        Kind::Container | Kind::List { .. } => {
            match node.kind {
                Kind::List { key } => {
                    out.push_str(&format!(
                        "{indent}list {} {{\n{indent}  key \"{key}\";\n",
                        node.name
                    ));
                }
                _ => out.push_str(&format!("{indent}container {} {{\n", node.name)),
            }
            if config != parent_config {
                out.push_str(&format!("{indent}  config {config};\n"));
            }
            let inner = format!("{indent}  ");
            for child in node.children {
                yang_node(out, child, &inner, config);
            }
            out.push_str(&format!("{indent}}}\n"));
        }
    }
}

fn yang_leaf(out: &mut String, node: &Node, indent: &str, mandatory: bool) {
    let Some(ty) = node.leaf_type() else { return };
    out.push_str(&format!("{indent}leaf {} {{\n", node.name));
    match ty {
        Type::Str { min, max } => {
            out.push_str(&format!("{indent}  type string {{ length \"{min}..{max}\"; }}\n"))
        }
        Type::Uint { bits, min, max } => {
            out.push_str(&format!("{indent}  type uint{bits} {{ range \"{min}..{max}\"; }}\n"))
        }
        other => out.push_str(&format!("{indent}  type {};\n", type_name(other))),
    }
    if mandatory {
        out.push_str(&format!("{indent}  mandatory true;\n"));
    }
    out.push_str(&format!("{indent}}}\n"));
}
