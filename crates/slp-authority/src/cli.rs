//! `slp authority`: the license authority's command line.
//!
//! ```text
//! slp authority (--data DIR | --database URL | --url URL [--ca FILE] --client-id ID --client-secret S)
//!               [--report-skew-hours H] [--report-max-age-days D] [--token-key-file F] <command>
//!   account create --name NAME --domain DOMAIN        account list [--json]
//!   va create|rename|delete|list --account A …
//!   va set --account A --va V --first-contact allow|deny
//!   license add --account A --va V --tag T --sku S --quantity N [--type T] [--enforcement E] [--expires YYYY-MM-DD]
//!   license list --account A --va V [--json]
//!   license transfer --account A --va V --license L --quantity N --to-va T [--preview] [--json]
//!   move request --account A --va V --license L --quantity N --to-account B --to-va T --reason R
//!   move list [--account A] [--pending] [--json]    move approve ID [--note N]    move reject ID --reason R
//!   usage upload --account A --va V FILE --ack OUT    usage list --account A --va V [--json]
//!   pi list --account A --va V [--json]
//!   pi rebind --account A --va V --udi UDI --key KEYID    pi find --udi UDI
//!   pi transfer --account A --va V --udi UDI… --to-va T    pi remove --account A --va V --udi UDI [--return-code FILE]
//!   policy set|show|clear --account A [--va V] …    policy download --account A --va V --out FILE
//!   event list --account A [--va V] [--udi UDI] [--json]
//!   alert list --account A [--va V] [--json]
//!   token create|list|revoke --account A --va V …
//!   client create --account A --name N --role admin|reporter|viewer [--json]
//!   client list --account A [--json]                 client revoke --account A --client-id ID
//!   user add --account A --username U --role admin|reporter|viewer [--password-file F]
//!   user list --account A [--json]                   user remove --account A --username U
//!   user passwd --account A --username U [--password-file F]
//!   slac generate --account A --va V --license L [--count N] (--udi UDI | --csv REQ.csv) --out OUT
//!   jobs run [--runner NAME] [--json]
//!   key show [--json]                                (the public key relays pin)
//!   serve [--listen ADDR] [--replica NAME] [--tls-cert FILE --tls-key FILE | --insecure-http]
//! ```
//!
//! Every `… list` reads the whole list a page at a time; `--limit N [--offset M]` prints one page.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use serde::Serialize;
use slp_clock::Clock;
use slp_core::license::{Enforcement, Term};
use slp_core::policy::Attributes;
use slp_store::{ConnectOptions, Store};

use crate::{Authority, LicenseSpec, PolicySpec, UploadOutcome};

mod pages;
mod remote;

/// Arguments of `slp authority`.
#[derive(Debug, Args)]
pub struct AuthorityArgs {
    /// Data directory of the embedded SQLite database (DIR/authority.db, created if missing).
    #[arg(long, value_name = "DIR", global = true)]
    data: Option<PathBuf>,
    /// Database URL instead of --data (which wins when both are given), e.g.
    /// postgres://user@host/db (PostgreSQL) or sqlite:path?mode=rwc.
    #[arg(long, value_name = "URL", global = true, env = "SLP_DATABASE_URL")]
    database: Option<String>,
    /// The file of the secret ID token text is sealed with (32 random bytes, base64), created
    /// 0600 when missing. Default with --data: DIR/token-text.key. With --database, replicas
    /// must share one file; without it, new tokens are kept by digest only and lists cannot
    /// show their text.
    #[arg(long, value_name = "FILE", global = true, env = "SLP_TOKEN_KEY_FILE")]
    token_key_file: Option<PathBuf>,
    /// A remote authority's address (https://host:port, or http:// on loopback): the same
    /// commands go over its API with --client-id and --client-secret instead of opening a
    /// database. Wins over --database.
    #[arg(
        long,
        value_name = "URL",
        global = true,
        env = "SLP_AUTHORITY_URL",
        conflicts_with = "data"
    )]
    url: Option<String>,
    /// The API client's id (from `client create`), with --url.
    #[arg(long, value_name = "ID", global = true, env = "SLP_CLIENT_ID")]
    client_id: Option<String>,
    /// The API client's secret, with --url.
    #[arg(
        long,
        value_name = "SECRET",
        global = true,
        env = "SLP_CLIENT_SECRET",
        allow_hyphen_values = true
    )]
    client_secret: Option<String>,
    /// RUM reports stating a time more than this many hours after the authority's clock are
    /// refused (a device clock running ahead; a report from the future would hide every later
    /// one). Applies to every ingest: usage upload, bundles, reportusage, smart transport.
    #[arg(
        long,
        value_name = "HOURS",
        global = true,
        default_value_t = crate::DEFAULT_REPORT_SKEW_HOURS,
        value_parser = clap::value_parser!(u32).range(0..=8_760)
    )]
    report_skew_hours: u32,
    /// RUM reports stating a time more than this many days before the authority's clock are
    /// refused.
    #[arg(
        long,
        value_name = "DAYS",
        global = true,
        default_value_t = crate::DEFAULT_REPORT_MAX_AGE_DAYS,
        value_parser = clap::value_parser!(u32).range(1..=36_500)
    )]
    report_max_age_days: u32,
    /// With --url: trust this CA (PEM) for the authority's certificate, besides the public
    /// (Mozilla) roots. The certificate is always verified.
    #[arg(long, value_name = "FILE", global = true, env = "SLP_CA")]
    ca: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Smart accounts.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Virtual accounts of a smart account.
    #[command(subcommand)]
    Va(VaCmd),
    /// The license pool of a virtual account.
    #[command(subcommand)]
    License(LicenseCmd),
    /// Moves of licenses to another smart account: filed as requests, approved or rejected by
    /// the licensing-operations user (this command line).
    #[command(subcommand)]
    Move(MoveCmd),
    /// Usage data files: upload (gives the ACK file) and list.
    #[command(subcommand)]
    Usage(UsageCmd),
    /// Product instances of a virtual account.
    #[command(subcommand)]
    Pi(PiCmd),
    /// Reporting policies: a virtual account's, or a smart account's for its virtual accounts without one.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// The activity log.
    #[command(subcommand)]
    Event(EventCmd),
    /// Alerts: insufficient licenses, subscriptions expiring (30/60/90 days) or expired,
    /// product instances past their ACK deadline.
    #[command(subcommand)]
    Alert(AlertCmd),
    /// ID tokens for trust establishment (`license smart trust idtoken`).
    #[command(subcommand)]
    Token(TokenCmd),
    /// API clients (OAuth2 client credentials) of a smart account.
    #[command(subcommand)]
    Client(ClientCmd),
    /// Users of a smart account: they log in with a username and password (the OAuth2 password
    /// grant, through an API client; the web console), with a role like an API client's.
    #[command(subcommand)]
    User(UserCmd),
    /// Authorization codes (SLAC) for devices named by PID and serial number.
    #[command(subcommand)]
    Slac(SlacCmd),
    /// Serve the authority API (CSSM paths, OAuth2 at /oauth2/token) and the device endpoint
    /// (smart transport: /licservice/license) until Ctrl-C or SIGTERM.
    Serve {
        /// Address to listen on; port 0 lets the system choose. The bound address is printed as
        /// `listening on https://…` (or http:// without TLS) once the server is ready. An address
        /// that is not loopback needs --tls-cert and --tls-key, or --insecure-http.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        /// This replica's name in the scheduled-job log (default: host name and process id).
        /// Replicas on one database run each scheduled job once between them.
        #[arg(long, value_name = "NAME")]
        replica: Option<String>,
        #[command(flatten)]
        tls: slp_http::ServeTls,
    },
    /// Scheduled jobs (license expiry, alert digest, token purge): `serve` runs them; `jobs run`
    /// runs the due ones now (for cron, or an authority that is not served).
    #[command(subcommand)]
    Jobs(JobsCmd),
    /// The authority's signing key: `key show` prints the public key and key id that a relay
    /// pins (`slp relay prefs set --authority-key FILE`) to verify every answer it imports.
    #[command(subcommand)]
    Key(KeyCmd),
}

#[derive(Debug, Subcommand)]
enum KeyCmd {
    /// Prints `Public key: <base64>` and `Key id: <id>` (save it to a file for the relay).
    Show {
        /// Print {"public_key", "key_id"} as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Prints the authority's public key for `key show`.
fn print_key(public_key: &str, key_id: &str, json: bool) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"public_key": public_key, "key_id": key_id})
            )?
        );
    } else {
        println!("Public key: {public_key}");
        println!("Key id: {key_id}");
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
enum JobsCmd {
    /// Runs every due job that no replica has claimed.
    Run {
        /// The name this run is logged under.
        #[arg(long, value_name = "NAME", default_value = "cli")]
        runner: String,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
enum SlacCmd {
    /// Generates SLACs ("Authorize License Enforced Features"), reserving the licenses: for one
    /// device (--udi; writes the code file the device imports) or for every line of a request
    /// CSV from a relay (--csv; writes the codes CSV `slp relay import` reads). All or nothing.
    Generate {
        #[command(flatten)]
        at: VaRef,
        /// The license: feature name (hseck9) or entitlement tag.
        #[arg(long)]
        license: String,
        /// Keys per device.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        count: u64,
        /// One device, PID:…,SN:….
        #[arg(long, value_name = "UDI", required_unless_present = "csv", conflicts_with = "csv")]
        udi: Option<String>,
        /// A request CSV (PID,Serial Number) from `slp relay pi auth-request`.
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// Where to write the code file (--udi) or the codes CSV (--csv).
        #[arg(long, value_name = "OUT")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCmd {
    /// Creates an ID token and prints it (`token list` shows it again: the authority keeps
    /// it sealed with its token key).
    Create {
        #[command(flatten)]
        at: VaRef,
        #[arg(long, default_value = "")]
        description: String,
        /// Days until the token expires (1..365).
        #[arg(long, default_value_t = 30)]
        expires_after_days: u32,
        /// How many times the token may be used (default: unlimited).
        #[arg(long)]
        max_uses: Option<u32>,
        /// Cisco's export-controlled flag, "Allowed" (default) or "Not Allowed": recorded and
        /// listed (slp tokens restrict no feature).
        #[arg(long, value_name = "FLAG")]
        export_controlled: Option<String>,
    },
    /// Lists the ID tokens of a virtual account with their text, status and uses (the text
    /// of a token created before the authority kept it shows as "(not stored)").
    List {
        #[command(flatten)]
        at: VaRef,
        #[command(flatten)]
        page: pages::PageArgs,
        #[command(flatten)]
        output: Output,
    },
    /// Revokes a token by the id `token list` shows.
    Revoke {
        #[command(flatten)]
        at: VaRef,
        #[arg(long)]
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
enum ClientCmd {
    /// Creates an API client and prints its client id and secret (the secret only this once).
    Create {
        #[arg(long, value_name = "DOMAIN")]
        account: String,
        #[arg(long)]
        name: String,
        /// admin (everything), reporter (reportusage, authrequest, poll) or viewer (reads).
        #[arg(long)]
        role: crate::Role,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Lists the API clients of a smart account.
    List {
        #[arg(long, value_name = "DOMAIN")]
        account: String,
        #[command(flatten)]
        output: Output,
    },
    /// Revokes an API client: its secret and access tokens stop working at once.
    Revoke {
        #[arg(long, value_name = "DOMAIN")]
        account: String,
        #[arg(long)]
        client_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// Adds a user; the password is asked for on the terminal (twice), or read from
    /// --password-file. Only an argon2id hash of it is kept.
    Add {
        #[arg(long, value_name = "DOMAIN")]
        account: String,
        #[arg(long)]
        username: String,
        /// admin (everything), reporter (reportusage, authrequest, poll) or viewer (reads).
        #[arg(long)]
        role: crate::Role,
        /// Read the password from the first line of FILE instead of the terminal.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Lists the users of a smart account.
    List {
        #[arg(long, value_name = "DOMAIN")]
        account: String,
        #[command(flatten)]
        output: Output,
    },
    /// Removes a user: its access tokens stop working at once.
    Remove {
        #[arg(long, value_name = "DOMAIN")]
        account: String,
        #[arg(long)]
        username: String,
    },
    /// Sets a user's password: asked for on the terminal (twice), or read from
    /// --password-file. The user's access tokens stop working at once.
    Passwd {
        #[arg(long, value_name = "DOMAIN")]
        account: String,
        #[arg(long)]
        username: String,
        /// Read the new password from the first line of FILE instead of the terminal.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
}

/// The columns of `token list`, local and remote.
const TOKEN_COLUMNS: [&str; 9] =
    ["Id", "Description", "Created", "Expires", "Uses", "Max Uses", "Status", "Export", "Token"];

/// A token's text in a table: the text, or why there is none.
fn token_cell(token: Option<&str>) -> String {
    token.map_or_else(|| "(not stored)".to_owned(), str::to_owned)
}

/// A user's new password: the first line of `file`, or typed on the terminal twice.
fn new_password(username: &str, file: Option<&Path>) -> anyhow::Result<String> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file).with_context(|| {
            format!("reading the password of user {username:?} from {}", file.display())
        })?;
        return Ok(text.lines().next().unwrap_or_default().to_owned());
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        anyhow::bail!(
            "no terminal to ask for the password of user {username:?}: give --password-file FILE"
        );
    }
    let password = rpassword::prompt_password(format!("Password for {username}: "))
        .context("reading the password from the terminal")?;
    let again = rpassword::prompt_password(format!("Password for {username} (again): "))
        .context("reading the password from the terminal")?;
    if password != again {
        anyhow::bail!("the two passwords typed for user {username:?} differ; nothing was changed");
    }
    Ok(password)
}

#[derive(Debug, Args)]
struct Output {
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct VaRef {
    /// Smart account domain (or name).
    #[arg(long, value_name = "DOMAIN")]
    account: String,
    /// Virtual account name.
    #[arg(long, value_name = "NAME")]
    va: String,
}

#[derive(Debug, Subcommand)]
enum AccountCmd {
    /// Creates a smart account.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        domain: String,
    },
    /// Lists smart accounts.
    List(Output),
}

#[derive(Debug, Subcommand)]
enum VaCmd {
    /// Creates a virtual account.
    Create {
        #[arg(long, value_name = "DOMAIN")]
        account: String,
        #[arg(long)]
        name: String,
        /// Free text shown in virtual account lists (Cisco's `description`).
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Lists the virtual accounts of a smart account.
    List {
        #[arg(long, value_name = "DOMAIN")]
        account: String,
        #[command(flatten)]
        page: pages::PageArgs,
        #[command(flatten)]
        output: Output,
    },
    /// Renames a virtual account.
    Rename {
        #[arg(long, value_name = "DOMAIN")]
        account: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        new_name: String,
    },
    /// Deletes a virtual account that holds no licenses and no product instances.
    Delete {
        #[arg(long, value_name = "DOMAIN")]
        account: String,
        #[arg(long)]
        name: String,
    },
    /// Changes a virtual account's settings (logged).
    Set {
        #[command(flatten)]
        at: VaRef,
        /// Whether a UDI never seen before binds to the first device key that proves it
        /// (`allow`, trust on first use, the default) or only with an ID token of the virtual
        /// account or an operator's `pi rebind` (`deny`).
        #[arg(long, value_name = "allow|deny", value_parser = parse_first_contact)]
        first_contact: slp_store::FirstContact,
    },
}

#[derive(Debug, Subcommand)]
enum LicenseCmd {
    /// Adds licenses to the pool.
    Add {
        #[command(flatten)]
        at: VaRef,
        /// Feature name from the catalog (e.g. network-advantage) or an entitlement tag.
        #[arg(long)]
        tag: String,
        #[arg(long)]
        sku: String,
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
        quantity: i64,
        /// perpetual or subscription (default: the catalog's).
        #[arg(long = "type", value_parser = parse_term)]
        term: Option<Term>,
        /// unenforced, enforced or export-controlled (default: the catalog's, else unenforced).
        #[arg(long, value_parser = parse_enforcement)]
        enforcement: Option<Enforcement>,
        /// Last day of a subscription, YYYY-MM-DD.
        #[arg(long, value_parser = parse_date)]
        expires: Option<NaiveDate>,
    },
    /// Lists the pool: purchased, in use, balance, reserved, expiry and alerts.
    List {
        #[command(flatten)]
        at: VaRef,
        #[command(flatten)]
        page: pages::PageArgs,
        #[command(flatten)]
        output: Output,
    },
    /// Transfers available licenses to another virtual account of the same smart account,
    /// longest term first (perpetual, then the latest-ending subscriptions).
    Transfer {
        #[command(flatten)]
        at: VaRef,
        /// Feature name (e.g. network-advantage) or entitlement tag.
        #[arg(long)]
        license: String,
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
        quantity: i64,
        /// The virtual account that receives them.
        #[arg(long, value_name = "NAME")]
        to_va: String,
        /// Show what would move, change nothing.
        #[arg(long)]
        preview: bool,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
enum MoveCmd {
    /// Files a request to move licenses from a virtual account to another smart account
    /// (checked now and again on approval; nothing moves until then).
    Request {
        #[command(flatten)]
        at: VaRef,
        /// Feature name (e.g. network-advantage) or entitlement tag.
        #[arg(long)]
        license: String,
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=1_000_000))]
        quantity: i64,
        /// The smart account that receives them (domain or name).
        #[arg(long, value_name = "DOMAIN")]
        to_account: String,
        /// Its virtual account.
        #[arg(long, value_name = "NAME")]
        to_va: String,
        /// Why (the operator decides on it).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        output: Output,
    },
    /// Lists move requests, newest first (all smart accounts unless --account).
    List {
        #[arg(long, value_name = "DOMAIN")]
        account: Option<String>,
        /// Only pending requests.
        #[arg(long)]
        pending: bool,
        #[command(flatten)]
        page: pages::PageArgs,
        #[command(flatten)]
        output: Output,
    },
    /// Approves a pending request: the licenses move now (LONGEST_TERM_FIRST).
    Approve {
        id: i64,
        /// A note kept with the decision.
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        output: Output,
    },
    /// Rejects a pending request; nothing moves.
    Reject {
        id: i64,
        /// Why (the requester sees it).
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
enum UsageCmd {
    /// Uploads a usage file (saved usage, SLAC request or SLAC return) and writes the ACK file;
    /// or a relay's usage bundle (UD_SA_….tar.gz, detected by content) and writes the ACK bundle.
    Upload {
        #[command(flatten)]
        at: VaRef,
        /// The file a device wrote, or the bundle a relay exported.
        file: PathBuf,
        /// Where to write the ACK file for `license smart import` (for a bundle: the ACK bundle
        /// for `slp relay import`).
        #[arg(long, value_name = "OUT")]
        ack: PathBuf,
    },
    /// Lists the usage files uploaded to a virtual account.
    List {
        #[command(flatten)]
        at: VaRef,
        #[command(flatten)]
        page: pages::PageArgs,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
enum PiCmd {
    /// Lists product instances with their usage.
    List {
        #[command(flatten)]
        at: VaRef,
        #[command(flatten)]
        page: pages::PageArgs,
        #[command(flatten)]
        output: Output,
    },
    /// Moves product instances to another virtual account of the smart account, with their
    /// usage and open authorization codes (all or none).
    Transfer {
        #[command(flatten)]
        at: VaRef,
        /// The product instance, PID:…,SN:… (repeat for several).
        #[arg(long = "udi", value_name = "UDI", required = true)]
        udis: Vec<String>,
        /// The virtual account that receives them.
        #[arg(long, value_name = "NAME")]
        to_va: String,
        #[command(flatten)]
        output: Output,
    },
    /// Lets one new device key bind a UDI once, logged: a replacement device for a registered
    /// product instance (a trust request from any other new key stays refused), or a never-seen
    /// UDI where first contact is denied. The key id is the one the refusal names.
    Rebind {
        #[command(flatten)]
        at: VaRef,
        /// The product instance, PID:…,SN:….
        #[arg(long, value_name = "UDI")]
        udi: String,
        /// The new device's key id (16 hex digits).
        #[arg(long, value_name = "KEYID")]
        key: String,
        #[command(flatten)]
        output: Output,
    },
    /// Lists every smart and virtual account a UDI is registered in (a UDI is scoped to its
    /// smart account, so several may hold it; only on the authority's own command line: it
    /// looks across smart accounts).
    Find {
        /// The product instance, PID:…,SN:….
        #[arg(long, value_name = "UDI")]
        udi: String,
        #[command(flatten)]
        output: Output,
    },
    /// Removes a product instance; one holding an authorization code needs the device's return
    /// code file (`license smart authorization return … bootflash:FILE`).
    Remove {
        #[command(flatten)]
        at: VaRef,
        /// The product instance, PID:…,SN:….
        #[arg(long, value_name = "UDI")]
        udi: String,
        /// The device's return code file.
        #[arg(long, value_name = "FILE")]
        return_code: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Args)]
struct PolicyAt {
    /// Smart account domain (or name).
    #[arg(long, value_name = "DOMAIN")]
    account: String,
    /// Virtual account name; without it, the smart account's own policy (in force for each
    /// virtual account that has none).
    #[arg(long, value_name = "NAME")]
    va: Option<String>,
}

#[derive(Debug, Subcommand)]
enum PolicyCmd {
    /// Sets the custom policy of a virtual account, or of the smart account without --va
    /// (classes not given keep the Cisco default).
    Set {
        #[command(flatten)]
        at: PolicyAt,
        #[arg(long)]
        name: String,
        /// FIRST,ONGOING,ON_CHANGE in days.
        #[arg(long, value_name = "F,O,C")]
        unenforced_perpetual: Option<Attributes>,
        #[arg(long, value_name = "F,O,C")]
        unenforced_subscription: Option<Attributes>,
        #[arg(long, value_name = "F,O,C")]
        enforced: Option<Attributes>,
        #[arg(long, value_name = "F,O,C")]
        export: Option<Attributes>,
        /// Reports need no acknowledgement.
        #[arg(long)]
        no_ack_required: bool,
    },
    /// Shows the policy in force for a virtual account (its own, else the smart account's,
    /// else the Cisco default), or the smart account's policy without --va.
    Show {
        #[command(flatten)]
        at: PolicyAt,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Removes a custom policy: the smart account's policy, else the Cisco default, applies again.
    Clear {
        #[command(flatten)]
        at: PolicyAt,
    },
    /// Writes the policy in force as a signed policy file (root `<smartLicensePolicy>`, as
    /// CSSM's download) for `license smart import`.
    Download {
        #[command(flatten)]
        at: VaRef,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum AlertCmd {
    /// Lists the alerts of a smart account (or one virtual account).
    List {
        #[arg(long, value_name = "DOMAIN")]
        account: String,
        #[arg(long)]
        va: Option<String>,
        #[command(flatten)]
        page: pages::PageArgs,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
enum EventCmd {
    /// Lists the activity log of a smart account (or one virtual account, or one product
    /// instance): time, virtual account, UDI, who (cli:USER, api:CLIENT, device, system), message.
    List {
        #[arg(long, value_name = "DOMAIN")]
        account: String,
        #[arg(long)]
        va: Option<String>,
        /// Only the events of this product instance (PID:…,SN:…).
        #[arg(long)]
        udi: Option<String>,
        #[command(flatten)]
        page: pages::PageArgs,
        #[command(flatten)]
        output: Output,
    },
}

fn parse_term(text: &str) -> Result<Term, String> {
    Term::parse(text).ok_or_else(|| format!("{text:?} is not perpetual or subscription"))
}

fn parse_enforcement(text: &str) -> Result<Enforcement, String> {
    Enforcement::parse(text)
        .ok_or_else(|| format!("{text:?} is not unenforced, enforced or export-controlled"))
}

fn parse_first_contact(text: &str) -> Result<slp_store::FirstContact, String> {
    slp_store::FirstContact::parse(text).ok_or_else(|| format!("{text:?} is not allow or deny"))
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|err| format!("{text:?} is not a date YYYY-MM-DD ({err})"))
}

/// Runs `slp authority …`.
pub fn run(args: AuthorityArgs, clock: Arc<dyn Clock>) -> anyhow::Result<ExitCode> {
    // `serve` answers requests on every core (the runtime `slp bench ingest` measures); a
    // one-shot command needs one thread.
    let mut builder = if matches!(args.command, Command::Serve { .. }) {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let runtime = builder.enable_all().build().context("starting the async runtime")?;
    runtime.block_on(run_async(args, clock))
}

async fn open(args: &AuthorityArgs, clock: Arc<dyn Clock>) -> anyhow::Result<Authority> {
    let store = match (&args.data, &args.database) {
        (Some(dir), _) => Store::open_dir(dir)
            .await
            .with_context(|| format!("opening the authority data directory {}", dir.display()))?,
        (None, Some(url)) => Store::connect(url, &ConnectOptions::default())
            .await
            .context("opening the authority database")?,
        (None, None) => anyhow::bail!("give --data DIR or --database URL"),
    };
    let window = crate::ReportWindow::new(args.report_skew_hours, args.report_max_age_days);
    let authority = Authority::open(store, clock).await?.with_report_window(window);
    let key_file =
        args.token_key_file.clone().or_else(|| args.data.as_deref().map(crate::TokenKey::path_in));
    Ok(match key_file {
        Some(path) => authority.with_token_key(crate::TokenKey::load_or_create(&path)?),
        None => {
            tracing::warn!(
                "no token key file (--token-key-file): ID tokens created now are kept by digest only, and lists cannot show them"
            );
            authority
        }
    })
}

async fn run_async(args: AuthorityArgs, clock: Arc<dyn Clock>) -> anyhow::Result<ExitCode> {
    if let Command::Serve { listen, replica, tls } = &args.command {
        let listen = *listen;
        // Certificate, key and address are checked before anything is opened.
        let tls = tls.resolve(listen)?;
        // A service's clock runs: from --now (virtual) or from the system time.
        let clock: Arc<dyn Clock> = Arc::new(slp_clock::VirtualClock::running(clock.now(), 1));
        let authority = Arc::new(open(&args, clock).await?);
        let replica = replica.clone().unwrap_or_else(|| {
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "authority".to_owned());
            format!("{host}-{}", std::process::id())
        });
        let scheduler = tokio::spawn(scheduler(authority.clone(), replica));
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding the authority endpoint to {listen}"))?;
        let addr = listener.local_addr()?;
        println!("listening on {}://{addr}", slp_http::tls::scheme(tls.as_ref()));
        std::io::Write::flush(&mut std::io::stdout())?;
        crate::http::serve(authority.clone(), listener, tls, shutdown_signal())
            .await
            .context("serving")?;
        scheduler.abort();
        tracing::info!("authority stopped");
        authority.store().close().await;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(url) = &args.url {
        let (Some(client_id), Some(client_secret)) = (&args.client_id, &args.client_secret) else {
            anyhow::bail!(
                "--url needs --client-id and --client-secret (from `client create` on the authority)"
            );
        };
        let roots = slp_http::TrustRoots::optional(args.ca.as_deref())?;
        let credentials = remote::Credentials { url, client_id, client_secret, roots };
        let remote = remote::Remote::connect(&credentials).await?;
        return remote::dispatch(&remote, args.command).await.map(|()| ExitCode::SUCCESS);
    }
    let authority = open(&args, clock).await?.with_actor(crate::domain::actor::cli_operator());
    let result = dispatch(&authority, args.command).await;
    authority.store().close().await;
    result.map(|()| ExitCode::SUCCESS)
}

/// Wakes every minute and runs the scheduled jobs that are due (once across replicas).
async fn scheduler(authority: Arc<Authority>, replica: String) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(err) = authority.run_due_jobs(&replica).await {
            tracing::warn!(error = %err, replica = %replica, "scheduled jobs failed; retrying next minute");
        }
    }
}

use slp_host::shutdown_signal;

async fn dispatch(authority: &Authority, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Account(AccountCmd::Create { name, domain }) => {
            let account = authority.create_account(&name, &domain).await?;
            println!("Smart account {:?} ({}) created", account.name, account.domain);
        }
        Command::Account(AccountCmd::List(output)) => {
            let rows = authority.accounts().await?;
            print_rows(&output, &rows, &["Name", "Domain", "Virtual Accounts", "Created"], |a| {
                vec![
                    a.name.clone(),
                    a.domain.clone(),
                    a.virtual_accounts.to_string(),
                    short_time(&a.created_at),
                ]
            })?;
        }
        Command::Va(VaCmd::Create { account, name, description }) => {
            let va = authority.create_va_described(&account, &name, &description).await?;
            println!("Virtual account {:?} created in {:?}", va.name, va.smart_account);
        }
        Command::Va(VaCmd::List { account, page, output }) => {
            let rows = page.pick(authority.vas(&account).await?).await?;
            print_rows(
                &output,
                &rows,
                &[
                    "Name",
                    "Licenses",
                    "Product Instances",
                    "First Contact",
                    "Created",
                    "Description",
                ],
                |v| {
                    vec![
                        v.name.clone(),
                        v.licenses.to_string(),
                        v.product_instances.to_string(),
                        v.first_contact.clone(),
                        short_time(&v.created_at),
                        dash(&v.description),
                    ]
                },
            )?;
        }
        Command::Va(VaCmd::Set { at, first_contact }) => {
            authority.set_first_contact(&at.account, &at.va, first_contact).await?;
            println!(
                "Virtual account {:?}: first contact of new UDIs {}",
                at.va,
                first_contact.as_str()
            );
        }
        Command::Va(VaCmd::Rename { account, name, new_name }) => {
            authority.rename_va(&account, &name, &new_name).await?;
            println!("Virtual account {name:?} renamed to {new_name:?}");
        }
        Command::Va(VaCmd::Delete { account, name }) => {
            authority.delete_va(&account, &name).await?;
            println!("Virtual account {name:?} deleted");
        }
        Command::License(LicenseCmd::Add {
            at,
            tag,
            sku,
            quantity,
            term,
            enforcement,
            expires,
        }) => {
            let spec = LicenseSpec { tag: tag.clone(), sku, quantity, term, enforcement, expires };
            authority.add_license(&at.account, &at.va, &spec).await?;
            println!("{quantity} {tag} license(s) added to {:?}", at.va);
        }
        Command::License(LicenseCmd::List { at, page, output }) => {
            let rows = page.pick(authority.licenses(&at.account, &at.va).await?).await?;
            print_rows(
                &output,
                &rows,
                &[
                    "License",
                    "SKU",
                    "Type",
                    "Enforcement",
                    "Purchased",
                    "In Use",
                    "Balance",
                    "Reserved",
                    "Expires",
                    "Alert",
                    "Display Name",
                ],
                |l| {
                    vec![
                        l.license.clone(),
                        dash(&l.sku),
                        dash(&l.license_type),
                        dash(&l.enforcement),
                        l.purchased.to_string(),
                        l.in_use.to_string(),
                        l.balance.to_string(),
                        l.reserved.to_string(),
                        l.expires.clone().unwrap_or_else(|| "-".to_owned()),
                        l.alert.clone().unwrap_or_default(),
                        // The name its PID family's devices print: two network-advantage
                        // rows of a mixed pool differ here (C9300-24 / C9300-48).
                        crate::domain::manage::display_name(&l.entitlement_tag),
                    ]
                },
            )?;
        }
        Command::Move(cmd) => move_command(authority, cmd).await?,
        Command::License(LicenseCmd::Transfer {
            at,
            license,
            quantity,
            to_va,
            preview,
            output,
        }) => {
            let spec = crate::TransferSpec { license, quantity, to: to_va };
            let done = authority.transfer_licenses(&at.account, &at.va, &[spec], preview).await?;
            if output.json {
                print_rows(&output, &done, &[], |_| Vec::new())?;
            } else {
                for t in &done {
                    let moves: Vec<Vec<String>> = t
                        .moves
                        .iter()
                        .map(|m| {
                            vec![
                                m.sku.clone(),
                                m.quantity.to_string(),
                                m.license_type.clone(),
                                m.expires.clone().unwrap_or_else(|| "-".to_owned()),
                            ]
                        })
                        .collect();
                    write_table(
                        &mut std::io::stdout().lock(),
                        &["SKU", "Quantity", "Type", "Expires"],
                        &moves,
                    )?;
                    println!(
                        "{} {} {} license(s) from {:?} to {:?} ({} were available)",
                        if t.preview { "Would transfer" } else { "Transferred" },
                        t.quantity,
                        t.license,
                        t.from,
                        t.to,
                        t.available
                    );
                }
            }
        }
        Command::Slac(SlacCmd::Generate { at, license, count, udi, csv, out }) => {
            let (udis, what) = match (&udi, &csv) {
                (Some(udi), _) => (vec![udi.clone()], "--udi".to_owned()),
                (None, Some(file)) => {
                    let text = std::fs::read_to_string(file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    let name = file.display().to_string();
                    let rows = slp_wire::slac_csv::read_requests(&text, &name)?;
                    (rows.into_iter().map(|(_, u)| u.to_string()).collect(), name)
                }
                (None, None) => anyhow::bail!("give --udi PID:…,SN:… or --csv FILE"),
            };
            let codes = authority
                .generate_codes(&at.account, &at.va, &udis, &license, count, &what)
                .await?;
            if csv.is_some() {
                let rows: Vec<(slp_core::udi::Udi, String)> = codes
                    .iter()
                    .map(|(udi, code)| Ok((udi.parse()?, code.clone())))
                    .collect::<Result<_, slp_core::udi::UdiError>>()?;
                write_atomic(&out, slp_wire::slac_csv::write_codes(&rows).as_bytes())
                    .with_context(|| format!("writing {}", out.display()))?;
            } else if let Some((_, code)) = codes.first() {
                write_atomic(&out, code.as_bytes())
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            for (udi, _) in &codes {
                println!("authorization code for {udi}: {count} x {license}");
            }
            println!("{} code(s) written to {}", codes.len(), out.display());
        }
        Command::Usage(UsageCmd::Upload { at, file, ack }) => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file
                .file_name()
                .map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
            if slp_wire::bundle::is_archive(&bytes) {
                let outcome = authority
                    .upload_bundle(&at.account, &at.va, &name, &bytes)
                    .await
                    .with_context(|| format!("uploading {}", file.display()))?;
                write_atomic(&ack, &outcome.ack)
                    .with_context(|| format!("writing the ACK bundle {}", ack.display()))?;
                for (member, one) in &outcome.files {
                    println!("{member}: {}", upload_summary(one));
                }
                println!(
                    "Processed {}: {} device file(s); ACK bundle written to {}",
                    file.display(),
                    outcome.files.len(),
                    ack.display()
                );
                return Ok(());
            }
            let outcome = authority
                .upload(&at.account, &at.va, &name, &bytes)
                .await
                .with_context(|| format!("uploading {}", file.display()))?;
            write_atomic(&ack, outcome.ack.as_bytes())
                .with_context(|| format!("writing the ACK file {}", ack.display()))?;
            if outcome.replayed {
                println!(
                    "{} was uploaded before: the same ACK is written to {}",
                    file.display(),
                    ack.display()
                );
            } else {
                println!("Processed {}: {}", file.display(), upload_summary(&outcome));
                println!("ACK written to {}", ack.display());
            }
        }
        Command::Usage(UsageCmd::List { at, page, output }) => {
            let at = &at;
            let rows = page
                .collect(
                    |p| async move { Ok(authority.uploads_page(&at.account, &at.va, p).await?) },
                )
                .await?;
            print_uploads(&output, &rows)?;
        }
        Command::Pi(PiCmd::List { at, page, output }) => {
            let at = &at;
            let rows = page
                .collect(|p| async move {
                    Ok(authority.product_instances_page(&at.account, &at.va, p).await?)
                })
                .await?;
            print_rows(
                &output,
                &rows,
                &["UDI", "Hostname", "Last Contact", "Trust", "Key", "Usage", "Authorizations"],
                |p| {
                    let usage: Vec<String> =
                        p.usage.iter().map(|u| format!("{}={}", u.license, u.count)).collect();
                    vec![
                        p.udi.clone(),
                        p.hostname.clone().unwrap_or_else(|| "-".to_owned()),
                        short_time(&p.last_contact),
                        p.trust_id.map_or_else(|| "-".to_owned(), |id| id.to_string()),
                        match &p.key_seen {
                            Some(seen) => format!("unverified ({seen})"),
                            None => p.key_id.clone(),
                        },
                        dash(&usage.join(",")),
                        dash(&p.authorizations.join(",")),
                    ]
                },
            )?;
        }
        Command::Pi(PiCmd::Transfer { at, udis, to_va, output }) => {
            let moves: Vec<crate::DeviceMove> =
                udis.into_iter().map(|udi| crate::DeviceMove { udi, to: to_va.clone() }).collect();
            let done = authority.transfer_devices(&at.account, &at.va, &moves).await?;
            print_device_changes(&output, &done)?;
        }
        Command::Pi(PiCmd::Rebind { at, udi, key, output }) => {
            let grant = authority.grant_bind(&at.account, &at.va, &udi, &key).await?;
            if output.json {
                print_json(&grant)?;
            } else {
                match &grant.replaces {
                    Some(bound) => println!(
                        "Device key {} may re-bind {} once (replacing key {bound}): grant {}",
                        grant.key_id, grant.udi, grant.id
                    ),
                    None => println!(
                        "Device key {} may bind {} once on first contact: grant {}",
                        grant.key_id, grant.udi, grant.id
                    ),
                }
            }
        }
        Command::Pi(PiCmd::Find { udi, output }) => {
            let found = authority.find_udi(&udi).await?;
            if found.is_empty() {
                anyhow::bail!("{udi} is not registered in any smart account");
            }
            if output.json {
                print_json(&found)?;
            } else {
                for at in &found {
                    println!(
                        "{} is registered in virtual account {:?} of smart account {:?} ({}), device key {}",
                        at.udi, at.virtual_account, at.smart_account, at.domain, at.key_id
                    );
                }
            }
        }
        Command::Pi(PiCmd::Remove { at, udi, return_code, output }) => {
            let return_code =
                match return_code {
                    Some(path) => Some(std::fs::read_to_string(&path).with_context(|| {
                        format!("reading the return code file {}", path.display())
                    })?),
                    None => None,
                };
            let removal = crate::DeviceRemoval { udi, return_code };
            let done = authority.remove_devices(&at.account, &at.va, &[removal]).await?;
            print_device_changes(&output, &done)?;
        }
        Command::Policy(PolicyCmd::Set {
            at,
            name,
            unenforced_perpetual,
            unenforced_subscription,
            enforced,
            export,
            no_ack_required,
        }) => {
            let spec = PolicySpec {
                name: name.clone(),
                ack_required: !no_ack_required,
                unenforced_perpetual,
                unenforced_subscription,
                enforced,
                export,
            };
            authority.set_policy(&at.account, at.va.as_deref(), &spec).await?;
            println!("Policy {name:?} set for {}", policy_scope(&at));
        }
        Command::Policy(PolicyCmd::Show { at, json }) => {
            let policy = authority.policy(&at.account, at.va.as_deref()).await?;
            print_policy(&policy, json)?;
        }
        Command::Policy(PolicyCmd::Clear { at }) => {
            let policy = authority.clear_policy(&at.account, at.va.as_deref()).await?;
            println!(
                "Custom policy of {} removed; in force now: {:?} ({})",
                policy_scope(&at),
                policy.name,
                policy.set_for
            );
        }
        Command::Policy(PolicyCmd::Download { at, out }) => {
            let document = authority.policy_document(&at.account, &at.va).await?;
            write_atomic(&out, document.as_bytes())
                .with_context(|| format!("writing the policy file {}", out.display()))?;
            println!("Policy written to {}", out.display());
        }
        Command::Token(TokenCmd::Create {
            at,
            description,
            expires_after_days,
            max_uses,
            export_controlled,
        }) => {
            let (token, view) = authority
                .create_token_with(
                    &at.account,
                    &at.va,
                    &description,
                    expires_after_days,
                    max_uses,
                    export_controlled.as_deref(),
                )
                .await?;
            println!("{token}");
            eprintln!("ID token {} for {:?} expires {}", view.id, at.va, view.expires);
        }
        Command::Token(TokenCmd::List { at, page, output }) => {
            let at = &at;
            let rows = page
                .collect(
                    |p| async move { Ok(authority.tokens_page(&at.account, &at.va, p).await?) },
                )
                .await?;
            print_rows(&output, &rows, &TOKEN_COLUMNS, |t| {
                vec![
                    t.id.to_string(),
                    t.description.clone(),
                    short_time(&t.created),
                    short_time(&t.expires),
                    t.uses.to_string(),
                    t.max_uses.map_or("-".to_owned(), |m| m.to_string()),
                    t.status.clone(),
                    t.export_controlled.clone(),
                    token_cell(t.token.as_deref()),
                ]
            })?;
        }
        Command::Token(TokenCmd::Revoke { at, id }) => {
            authority.revoke_token(&at.account, &at.va, id).await?;
            println!("ID token {id} revoked");
        }
        Command::Client(ClientCmd::Create { account, name, role, json }) => {
            let (credentials, view) = authority.create_client(&account, &name, role).await?;
            if json {
                let out = serde_json::json!({
                    "client_id": credentials.client_id,
                    "client_secret": credentials.client_secret,
                    "name": view.name,
                    "role": view.role,
                    "smart_account": view.smart_account,
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!("Client ID: {}", credentials.client_id);
                println!("Client secret: {}", credentials.client_secret);
                eprintln!(
                    "API client {:?} ({}) created in {:?}; the secret is shown only this once",
                    view.name, view.role, view.smart_account
                );
            }
        }
        Command::Client(ClientCmd::List { account, output }) => {
            let rows = authority.clients(&account).await?;
            print_rows(&output, &rows, &["Client ID", "Name", "Role", "Created", "Status"], |c| {
                vec![
                    c.client_id.clone(),
                    c.name.clone(),
                    c.role.clone(),
                    short_time(&c.created),
                    c.status.clone(),
                ]
            })?;
        }
        Command::Client(ClientCmd::Revoke { account, client_id }) => {
            authority.revoke_client(&account, &client_id).await?;
            println!("API client {client_id} revoked");
        }
        Command::User(UserCmd::Add { account, username, role, password_file }) => {
            let password = new_password(&username, password_file.as_deref())?;
            let view = authority.add_user(&account, &username, role, &password).await?;
            println!(
                "user {:?} added to smart account {:?} with role {}",
                view.username, view.smart_account, view.role
            );
        }
        Command::User(UserCmd::List { account, output }) => {
            let rows = authority.users(&account).await?;
            print_rows(&output, &rows, &["Username", "Role", "Created"], |u| {
                vec![u.username.clone(), u.role.clone(), short_time(&u.created)]
            })?;
        }
        Command::User(UserCmd::Remove { account, username }) => {
            authority.remove_user(&account, &username).await?;
            println!("user {username:?} removed from smart account {account:?}");
        }
        Command::User(UserCmd::Passwd { account, username, password_file }) => {
            let password = new_password(&username, password_file.as_deref())?;
            let view = authority.set_user_password(&account, &username, &password).await?;
            println!(
                "password of user {:?} of smart account {:?} changed; its access tokens no longer work",
                view.username, view.smart_account
            );
        }
        Command::Serve { .. } => unreachable_serve()?,
        Command::Key(KeyCmd::Show { json }) => {
            print_key(&authority.public_key(), &authority.key_id(), json)?;
        }
        Command::Jobs(JobsCmd::Run { runner, output }) => {
            let runs = authority.run_due_jobs(&runner).await?;
            if runs.is_empty() && !output.json {
                println!("no job due (or another replica ran it)");
            } else {
                print_rows(&output, &runs, &["Job", "Runner", "Result"], |r| {
                    vec![r.job.clone(), r.runner.clone(), r.summary.clone()]
                })?;
            }
        }
        Command::Alert(AlertCmd::List { account, va, page, output }) => {
            let rows = page.pick(authority.alerts(&account, va.as_deref()).await?).await?;
            print_alerts(&output, &rows)?;
        }
        Command::Event(EventCmd::List { account, va, udi, page, output }) => {
            let (account, va, udi) = (account.as_str(), va.as_deref(), udi.as_deref());
            let rows = page
                .collect(|p| async move { Ok(authority.events_page(account, va, udi, p).await?) })
                .await?;
            print_rows(
                &output,
                &rows,
                &["Time", "Virtual Account", "UDI", "Who", "Message"],
                |e| {
                    vec![
                        short_time(&e.at),
                        e.virtual_account.clone().unwrap_or_else(|| "-".to_owned()),
                        e.udi.clone().unwrap_or_else(|| "-".to_owned()),
                        e.actor.clone().unwrap_or_else(|| "-".to_owned()),
                        e.message.clone(),
                    ]
                },
            )?;
        }
    }
    Ok(())
}

/// `virtual account "Lab"` or `smart account "example.com"`.
fn policy_scope(at: &PolicyAt) -> String {
    match &at.va {
        Some(va) => format!("virtual account {va:?}"),
        None => format!("smart account {:?}", at.account),
    }
}

/// `policy show`: the policy's name, where it is set, and its classes as a table.
pub(crate) fn print_policy(policy: &crate::PolicyView, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, policy)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "Policy name: {} ({})", policy.name, policy.origin)?;
    let set_for = match (policy.set_for.as_str(), &policy.virtual_account) {
        ("virtual account", Some(va)) => format!("virtual account {va:?}"),
        ("smart account", _) => format!("smart account {:?}", policy.smart_account),
        _ => "default (no custom policy)".to_owned(),
    };
    writeln!(out, "Set for: {set_for}")?;
    writeln!(out, "Reporting ACK required: {}", if policy.ack_required { "yes" } else { "no" })?;
    let classes = [
        ("Unenforced/Non-Export Perpetual", policy.unenforced_perpetual),
        ("Unenforced/Non-Export Subscription", policy.unenforced_subscription),
        ("Enforced (Perpetual/Subscription)", policy.enforced),
        ("Export (Perpetual/Subscription)", policy.export),
    ];
    let rows: Vec<Vec<String>> = classes
        .iter()
        .map(|(label, c)| {
            vec![
                (*label).to_owned(),
                c.first.to_string(),
                c.ongoing.to_string(),
                c.on_change.to_string(),
            ]
        })
        .collect();
    write_table(
        &mut out,
        &["Class", "First report (days)", "Frequency (days)", "On change (days)"],
        &rows,
    )?;
    Ok(())
}

fn dash(text: &str) -> String {
    if text.is_empty() { "-".to_owned() } else { text.to_owned() }
}

/// `2026-11-15T10:00:00Z` → `2026-11-15 10:00:00`.
fn short_time(rfc3339: &str) -> String {
    rfc3339.trim_end_matches('Z').replacen('T', " ", 1)
}

fn unreachable_serve() -> anyhow::Result<()> {
    anyhow::bail!("serve is handled before the command dispatch")
}

fn print_device_changes(output: &Output, done: &[crate::DeviceChange]) -> anyhow::Result<()> {
    print_rows(output, done, &["UDI", "From", "To", "Authorization Codes"], |c| {
        vec![
            c.udi.clone(),
            c.from.clone(),
            c.to.clone().unwrap_or_else(|| "(removed)".to_owned()),
            dash(&c.authorization_codes.join(",")),
        ]
    })
}

async fn move_command(authority: &Authority, cmd: MoveCmd) -> anyhow::Result<()> {
    let (rows, output) = match cmd {
        MoveCmd::Request { at, license, quantity, to_account, to_va, reason, output } => {
            let spec = crate::MoveSpec {
                account: at.account,
                va: at.va,
                target_account: to_account,
                target_va: to_va,
                license,
                quantity,
                reason,
            };
            let request = authority.request_move(&spec).await?;
            eprintln!("move request {} filed; an operator approves or rejects it", request.id);
            (vec![request], output)
        }
        MoveCmd::List { account, pending, page, output } => {
            let account = account.as_deref();
            let rows = page
                .collect(
                    |p| async move { Ok(authority.move_requests_page(account, pending, p).await?) },
                )
                .await?;
            (rows, output)
        }
        MoveCmd::Approve { id, note, output } => {
            let (request, moved) = authority.approve_move(id, &note).await?;
            eprintln!(
                "move request {id} approved: {} {} license(s) moved from {:?} to {:?}",
                moved.quantity, moved.license, moved.from, moved.to
            );
            (vec![request], output)
        }
        MoveCmd::Reject { id, reason, output } => {
            let request = authority.reject_move(id, &reason).await?;
            eprintln!("move request {id} rejected");
            (vec![request], output)
        }
    };
    print_moves(&output, &rows)
}

/// The move-request table (or JSON).
fn print_moves(output: &Output, rows: &[crate::MoveRequestView]) -> anyhow::Result<()> {
    let headers = [
        "Id",
        "From",
        "To",
        "License",
        "Quantity",
        "Status",
        "Requested By",
        "Decided By",
        "Reason",
    ];
    print_rows(output, rows, &headers, |r| {
        vec![
            r.id.to_string(),
            format!("{}/{}", r.account, r.virtual_account),
            format!("{}/{}", r.target_account, r.target_virtual_account),
            r.license.clone(),
            r.quantity.to_string(),
            r.status.clone(),
            r.requested_by.clone(),
            r.decided_by.clone().unwrap_or_else(|| "-".to_owned()),
            r.decision_note.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| r.reason.clone()),
        ]
    })
}

/// One value as pretty JSON.
fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// The alert table (or JSON).
fn print_alerts(output: &Output, rows: &[crate::AlertView]) -> anyhow::Result<()> {
    let headers = ["Severity", "Virtual Account", "Alert", "Due", "Message"];
    print_rows(output, rows, &headers, |a| {
        vec![
            a.severity.clone(),
            a.virtual_account.clone(),
            a.kind.clone(),
            a.due.as_deref().map_or_else(|| "-".to_owned(), short_time),
            a.message.clone(),
        ]
    })
}

/// The usage-file status table (or JSON).
fn print_uploads(output: &Output, rows: &[crate::UploadView]) -> anyhow::Result<()> {
    print_rows(
        output,
        rows,
        &["File", "Uploaded", "Status", "Product Instances", "Reports", "SHA-256"],
        |u| {
            vec![
                u.file_name.clone(),
                short_time(&u.uploaded_at),
                u.status.clone(),
                u.product_instances.to_string(),
                u.reports.to_string(),
                u.sha256.chars().take(12).collect(),
            ]
        },
    )
}

fn print_rows<T: Serialize>(
    output: &Output,
    rows: &[T],
    headers: &[&str],
    cells: impl Fn(&T) -> Vec<String>,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if output.json {
        serde_json::to_writer_pretty(&mut out, rows)?;
        writeln!(out)?;
    } else {
        let rows: Vec<Vec<String>> = rows.iter().map(cells).collect();
        write_table(&mut out, headers, &rows)?;
    }
    Ok(())
}

/// Widest cell a table shows; longer text is cut with `…` (`--json` gives it whole).
const MAX_CELL_CHARS: usize = 200;

/// `cell` as a table shows it: at most [`MAX_CELL_CHARS`] characters, control characters
/// (a newline would break the row) shown as spaces.
fn table_cell(cell: &str) -> String {
    let mut shown: String =
        cell.chars().take(MAX_CELL_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if cell.chars().nth(MAX_CELL_CHARS).is_some() {
        shown.pop();
        shown.push('…');
    }
    shown
}

/// An aligned table: columns padded to their widest cell, two spaces apart. Cells are cut at
/// [`MAX_CELL_CHARS`], so no text, however long, breaks the layout (or the formatter, whose
/// widths are bounded).
fn write_table(
    out: &mut impl Write,
    headers: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> =
        rows.iter().map(|row| row.iter().map(|cell| table_cell(cell)).collect()).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let width = widths.get(i).copied().unwrap_or(0);
                let pad = width.saturating_sub(c.chars().count());
                format!("{c}{}", " ".repeat(pad))
            })
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    writeln!(out, "{}", line(headers.to_vec()))?;
    for row in &rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// Writes a file atomically: a temp file beside it, flushed, then renamed over it.
/// One line on what an upload did.
fn upload_summary(outcome: &UploadOutcome) -> String {
    if outcome.replayed {
        return "uploaded before: the stored ACK is given again".to_owned();
    }
    format!(
        "{} product instance(s), {} report(s) accepted, {} duplicate, {} trust code(s), {} authorization code(s), {} return(s){}",
        outcome.product_instances,
        outcome.accepted,
        outcome.duplicate,
        outcome.trust_codes,
        outcome.authorizations,
        outcome.returns,
        if outcome.policy { ", policy" } else { "" }
    )
}

use slp_host::write_atomic;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_cuts_long_text_instead_of_panicking() {
        let long = "d".repeat(1 << 20);
        let rows = vec![
            vec!["1".to_owned(), long.clone(), "Active".to_owned()],
            vec!["2".to_owned(), "two\nlines".to_owned(), "Revoked".to_owned()],
        ];
        let mut out = Vec::new();
        write_table(&mut out, &["Id", "Description", "Status"], &rows).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "one line per row: {text}");
        let cut = format!("{}…", "d".repeat(MAX_CELL_CHARS - 1));
        assert_eq!(lines[1], format!("1   {cut}  Active"));
        assert!(lines[2].starts_with("2   two lines"), "{}", lines[2]);
        let column = |line: &str, word: &str| line.find(word).map(|at| line[..at].chars().count());
        assert_eq!(column(lines[0], "Status"), column(lines[1], "Active"), "columns stay aligned");
        assert_eq!(column(lines[0], "Status"), column(lines[2], "Revoked"), "columns stay aligned");
    }
}
