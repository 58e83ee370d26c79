//! `slp authority --url URL --client-id ID --client-secret SECRET <command>`: the same
//! subcommands as the `--data` form, sent to a remote authority over its API (OAuth2 client
//! credentials, then the CSSM paths of [`crate::http`]).
//!
//! Tables have the local form's columns where the API carries them; `--json` prints the API's
//! rows (Cisco member names, camelCase), which is what scripts against the API already read.
//! Commands that are not the API client's to run (creating smart accounts and API clients,
//! adding purchased licenses, deciding license moves, generating SLACs, jobs, serve) are refused
//! with an error that names the local form.

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use slp_wire::cssm::manage::{
    AccountSearch, Alerts, CreatedToken, CreatedVirtualAccount, DeviceRemoval, DeviceSudi,
    DeviceTransfer, Devices, DevicesChanged, Done, Events, LicenseQuery, LicenseTransfer,
    LicenseTransferItem, LicenseTransferReply, Licenses, MoveRequests, NewMoveRequest, NewToken,
    NewVirtualAccount, OneMoveRequest, PolicyBody, PolicyClass, ProductInstances, Rename,
    TokenRevocation, Tokens, TokensRevoked, Uploaded, UsageFiles, VirtualAccounts,
};

use super::{
    AccountCmd, AlertCmd, ClientCmd, Command, EventCmd, JobsCmd, KeyCmd, LicenseCmd, MoveCmd,
    Output, PiCmd, PolicyAt, PolicyCmd, SlacCmd, TOKEN_COLUMNS, TokenCmd, UsageCmd, VaCmd, VaRef,
    dash, print_alerts, print_key, print_moves, print_policy, print_rows, print_uploads,
    short_time, token_cell, write_atomic, write_table,
};
use crate::http::BASE;
use crate::{Page, Paged, PolicyView};

/// A list reply of the management API: its rows and `totalRecords`.
trait ListReply: DeserializeOwned {
    type Row;
    fn into_page(self) -> Paged<Self::Row>;
}

macro_rules! list_reply {
    ($($reply:ty => $rows:ident: $row:ty),* $(,)?) => {$(
        impl ListReply for $reply {
            type Row = $row;
            fn into_page(self) -> Paged<$row> {
                Paged { total: self.total_records, items: self.$rows }
            }
        }
    )*};
}

list_reply! {
    VirtualAccounts => virtual_accounts: slp_wire::cssm::manage::VirtualAccount,
    Licenses => licenses: slp_wire::cssm::manage::License,
    Devices => devices: slp_wire::cssm::manage::Device,
    Tokens => tokens: slp_wire::cssm::manage::TokenInfo,
    Events => events: slp_wire::cssm::manage::Event,
    Alerts => alerts: slp_wire::cssm::manage::Alert,
    MoveRequests => move_requests: slp_wire::cssm::manage::MoveRequest,
    UsageFiles => usage_files: slp_wire::cssm::manage::UsageFile,
}
use slp_wire::cssm::oauth::{TokenReply, TokenRequest};

/// A connection to a remote authority: its base URL and an access token.
pub(super) struct Remote {
    http: reqwest::Client,
    base: Url,
    token: String,
}

/// Where the remote form gets its connection from (`--url`, `--client-id`, `--client-secret`).
pub(super) struct Credentials<'a> {
    pub url: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    /// `--ca FILE` besides the public (Mozilla) roots.
    pub roots: slp_http::TrustRoots,
}

impl Remote {
    /// Gets an access token with the client credentials.
    pub(super) async fn connect(credentials: &Credentials<'_>) -> anyhow::Result<Remote> {
        let base = Url::parse(credentials.url)
            .with_context(|| format!("--url {:?} is not a URL", credentials.url))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            bail!("--url {:?}: give the authority's http:// or https:// address", credentials.url);
        }
        let http = credentials
            .roots
            .client()
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .context("building the HTTP client")?;
        let mut remote = Remote { http, base, token: String::new() };
        let url = remote.url(&["oauth2", "token"], &[]);
        let reply = remote
            .http
            .post(url.clone())
            .form(&TokenRequest::client_credentials(
                credentials.client_id,
                credentials.client_secret,
            ))
            .send()
            .await
            .map_err(|err| {
                anyhow::anyhow!(
                    "cannot reach the authority at {url}: {}",
                    slp_http::tls::describe_request_error(&err)
                )
            })?;
        let token: TokenReply = read(reply, "POST", &url).await?;
        remote.token = token.access_token;
        Ok(remote)
    }

    /// The base URL with `segments` appended (each percent-encoded) and a query.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// An API path under [`BASE`]: `["v1", "accounts", domain, …]`.
    fn api(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut all: Vec<&str> = BASE.split('/').filter(|s| !s.is_empty()).collect();
        all.extend_from_slice(segments);
        self.url(&all, query)
    }

    async fn send<T: DeserializeOwned, B: Serialize>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> anyhow::Result<T> {
        let mut request = self.http.request(method.clone(), url.clone()).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let reply = request.send().await.with_context(|| format!("{method} {url}"))?;
        read(reply, method.as_str(), &url).await
    }

    async fn get<T: DeserializeOwned>(&self, url: Url) -> anyhow::Result<T> {
        self.send(Method::GET, url, None::<&()>).await
    }

    async fn post<T: DeserializeOwned, B: Serialize>(
        &self,
        url: Url,
        body: &B,
    ) -> anyhow::Result<T> {
        self.send(Method::POST, url, Some(body)).await
    }

    /// One page of a GET list: the rows and `totalRecords` of the reply to `url` with `limit`
    /// and `offset` added to its query.
    async fn get_page<R: ListReply>(&self, url: &Url, page: Page) -> anyhow::Result<Paged<R::Row>> {
        let mut url = url.clone();
        url.query_pairs_mut()
            .append_pair("limit", &page.limit.to_string())
            .append_pair("offset", &page.offset.to_string());
        let reply: R = self.get(url).await?;
        Ok(reply.into_page())
    }

    /// The raw bytes of a GET (a file download).
    async fn download(&self, url: Url) -> anyhow::Result<Vec<u8>> {
        let reply = self
            .http
            .get(url.clone())
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = reply.status();
        let bytes = reply.bytes().await.with_context(|| format!("GET {url}"))?;
        if !status.is_success() {
            bail!("{}", refusal("GET", &url, status, &bytes));
        }
        Ok(bytes.to_vec())
    }

    /// The API client's own smart account (the one `--account` defaults to).
    async fn own_domain(&self) -> anyhow::Result<String> {
        let search: AccountSearch = self.get(self.api(&["v2", "accounts", "search"], &[])).await?;
        search
            .accounts
            .into_iter()
            .next()
            .map(|a| a.domain)
            .context("the authority's accounts/search reply names no smart account")
    }
}

/// The reply's JSON, or an error with the API's message.
async fn read<T: DeserializeOwned>(
    reply: reqwest::Response,
    method: &str,
    url: &Url,
) -> anyhow::Result<T> {
    let status = reply.status();
    let bytes = reply.bytes().await.with_context(|| format!("{method} {url}"))?;
    if !status.is_success() {
        bail!("{}", refusal(method, url, status, &bytes));
    }
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{method} {url}: the reply is not the JSON expected"))
}

/// `the authority refused POST /…: 409 Conflict: <message>`.
fn refusal(method: &str, url: &Url, status: StatusCode, body: &[u8]) -> String {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let message = json["message"]
        .as_str()
        .or_else(|| json["error_description"].as_str())
        .or_else(|| json["error"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    format!("the authority refused {method} {}: {status}: {message}", url.path())
}

/// The API's identity of `PID:…,SN:…`.
fn sudi(udi: &str) -> anyhow::Result<DeviceSudi> {
    let parsed: slp_core::udi::Udi = udi.parse().with_context(|| format!("--udi {udi:?}"))?;
    Ok(DeviceSudi::of(&parsed.pid, &parsed.sn))
}

/// An optional value as table text.
fn or_dash(value: Option<&str>) -> String {
    dash(value.unwrap_or_default())
}

fn local_only(command: &str, why: &str) -> anyhow::Result<()> {
    bail!(
        "`{command}` is not available with --url: {why}; run it where the authority's database is (--data DIR or --database URL)"
    )
}

/// Runs one command against the remote authority.
pub(super) async fn dispatch(remote: &Remote, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Account(AccountCmd::List(output)) => {
            let search: AccountSearch =
                remote.get(remote.api(&["v2", "accounts", "search"], &[])).await?;
            print_rows(&output, &search.accounts, &["Name", "Domain", "Virtual Accounts"], |a| {
                vec![a.name.clone(), a.domain.clone(), a.virtual_accounts.len().to_string()]
            })?;
        }
        Command::Account(AccountCmd::Create { .. }) => {
            local_only("account create", "an API client belongs to one smart account")?;
        }
        Command::Va(cmd) => va(remote, cmd).await?,
        Command::License(LicenseCmd::Add { .. }) => {
            local_only(
                "license add",
                "purchased licenses are entered by the authority's operator",
            )?;
        }
        Command::License(LicenseCmd::List { at, page, output }) => {
            let url = remote.api(&["v1", "accounts", &at.account, "licenses"], &[]);
            let licenses = page
                .collect(|p| {
                    let url = url.clone();
                    let body = LicenseQuery {
                        virtual_accounts: vec![at.va.clone()],
                        limit: u64::try_from(p.limit).ok(),
                        offset: u64::try_from(p.offset).ok(),
                    };
                    async move {
                        let reply: Licenses = remote.post(url, &body).await?;
                        Ok(reply.into_page())
                    }
                })
                .await?;
            let headers = [
                "License",
                "Quantity",
                "In Use",
                "Available",
                "Reserved",
                "Status",
                "Expires",
                "Display Name",
            ];
            print_rows(&output, &licenses, &headers, |l| {
                let expires = l.license_details.iter().filter_map(|d| d.end_date.as_deref()).min();
                vec![
                    l.license.clone(),
                    l.quantity.to_string(),
                    l.in_use.to_string(),
                    l.available.to_string(),
                    l.reserved.to_string(),
                    l.status.clone(),
                    or_dash(expires),
                    dash(&l.display_name),
                ]
            })?;
        }
        Command::License(LicenseCmd::Transfer {
            at,
            license,
            quantity,
            to_va,
            preview,
            output,
        }) => {
            let url = va_path(remote, &at, &["licenses", "transfer"]);
            let body = LicenseTransfer {
                preview,
                licenses: vec![LicenseTransferItem {
                    license,
                    license_type: None,
                    quantity: u64::try_from(quantity)
                        .with_context(|| format!("--quantity {quantity}: give 1 or more"))?,
                    target_virtual_account: to_va,
                    precedence: Some("LONGEST_TERM_FIRST".to_owned()),
                }],
            };
            let reply: LicenseTransferReply = remote.post(url, &body).await?;
            let done = reply.licenses;
            if output.json {
                return print_rows(&output, &done, &[], |_| Vec::new());
            }
            for t in &done {
                let moves: Vec<Vec<String>> = t
                    .moves
                    .iter()
                    .map(|m| {
                        vec![
                            m.sku.clone(),
                            m.quantity.to_string(),
                            m.license_type.clone(),
                            or_dash(m.end_date.as_deref()),
                        ]
                    })
                    .collect();
                write_table(
                    &mut std::io::stdout().lock(),
                    &["SKU", "Quantity", "Type", "Expires"],
                    &moves,
                )?;
                println!(
                    "{} {} {} license(s) from {:?} to {:?}",
                    if preview { "Would transfer" } else { "Transferred" },
                    t.quantity,
                    t.license,
                    at.va,
                    t.target_virtual_account,
                );
            }
        }
        Command::Move(cmd) => moves(remote, cmd).await?,
        Command::Usage(UsageCmd::Upload { at, file, ack }) => {
            upload(remote, &at, &file, &ack).await?
        }
        Command::Usage(UsageCmd::List { at, page, output }) => {
            let url = va_path(remote, &at, &["usage-files"]);
            let files = page.collect(|p| remote.get_page::<UsageFiles>(&url, p)).await?;
            print_uploads(&output, &files)?;
        }
        Command::Pi(cmd) => pi(remote, cmd).await?,
        Command::Policy(cmd) => policy(remote, cmd).await?,
        Command::Event(EventCmd::List { account, va, udi, page, output }) => {
            let mut query = Vec::new();
            if let Some(va) = &va {
                query.push(("virtualAccount", va.as_str()));
            }
            if let Some(udi) = &udi {
                query.push(("udi", udi.as_str()));
            }
            let url = remote.api(&["v1", "accounts", &account, "events"], &query);
            let events = page.collect(|p| remote.get_page::<Events>(&url, p)).await?;
            let headers = ["Time", "Virtual Account", "UDI", "Who", "Message"];
            print_rows(&output, &events, &headers, |e| {
                vec![
                    short_time(&e.event_time),
                    or_dash(e.virtual_account.as_deref()),
                    or_dash(e.udi.as_deref()),
                    or_dash(e.user.as_deref()),
                    e.message.clone(),
                ]
            })?;
        }
        Command::Alert(AlertCmd::List { account, va, page, output }) => {
            let query: Vec<(&str, &str)> =
                va.as_deref().map(|va| ("virtualAccount", va)).into_iter().collect();
            let url = remote.api(&["v1", "accounts", &account, "alerts"], &query);
            let alerts = page.collect(|p| remote.get_page::<Alerts>(&url, p)).await?;
            print_alerts(&output, &alerts)?;
        }
        Command::Token(cmd) => token(remote, cmd).await?,
        Command::Client(
            ClientCmd::Create { .. } | ClientCmd::List { .. } | ClientCmd::Revoke { .. },
        ) => {
            local_only("client", "API clients are managed by the authority's operator")?;
        }
        Command::User(_) => {
            local_only("user", "users are managed by the authority's operator")?;
        }
        Command::Slac(SlacCmd::Generate { .. }) => {
            local_only(
                "slac generate",
                "over the API, devices and relays request codes with authrequest",
            )?;
        }
        Command::Jobs(JobsCmd::Run { .. }) => {
            local_only("jobs run", "the authority's replicas run scheduled jobs themselves")?;
        }
        Command::Serve { .. } => local_only("serve", "it serves a database, not a URL")?,
        Command::Key(KeyCmd::Show { json }) => {
            let reply: Value = remote.get(remote.api(&["v1", "authority", "key"], &[])).await?;
            let field = |name: &str| {
                reply[name]
                    .as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("the key reply has no {name}"))
            };
            print_key(&field("publicKey")?, &field("keyId")?, json)?;
        }
    }
    Ok(())
}

/// `…/v1/accounts/{account}/virtual-accounts/{va}/<rest>`.
fn va_path(remote: &Remote, at: &VaRef, rest: &[&str]) -> Url {
    let mut segments = vec!["v1", "accounts", &at.account, "virtual-accounts", &at.va];
    segments.extend_from_slice(rest);
    remote.api(&segments, &[])
}

async fn va(remote: &Remote, cmd: VaCmd) -> anyhow::Result<()> {
    match cmd {
        VaCmd::Create { account, name, description } => {
            let url =
                remote.api(&["v1", "accounts", &account, "customer", "virtual-accounts"], &[]);
            let body = NewVirtualAccount {
                name,
                description,
                is_default: false,
                commerce_access_level: Some("PUBLIC".to_owned()),
            };
            let created: CreatedVirtualAccount = remote.post(url, &body).await?;
            println!("Virtual account {:?} created in {account:?}", created.virtual_account.name);
        }
        VaCmd::List { account, page, output } => {
            let url =
                remote.api(&["v1", "accounts", &account, "customer", "virtual-accounts"], &[]);
            let vas = page.collect(|p| remote.get_page::<VirtualAccounts>(&url, p)).await?;
            let headers = [
                "Name",
                "Licenses",
                "Product Instances",
                "First Contact",
                "Default",
                "Description",
            ];
            print_rows(&output, &vas, &headers, |v| {
                vec![
                    v.name.clone(),
                    v.licenses.to_string(),
                    v.product_instances.to_string(),
                    dash(&v.first_contact),
                    v.is_default.to_string(),
                    dash(&v.description),
                ]
            })?;
        }
        VaCmd::Rename { account, name, new_name } => {
            let at = VaRef { account, va: name.clone() };
            let _: Done = remote
                .post(va_path(remote, &at, &["rename"]), &Rename { name: new_name.clone() })
                .await?;
            println!("Virtual account {name:?} renamed to {new_name:?}");
        }
        VaCmd::Set { .. } => anyhow::bail!(
            "va set is an operator's command: run it on the authority (--data or --database), not over --url"
        ),
        VaCmd::Delete { account, name } => {
            let at = VaRef { account, va: name.clone() };
            let _: Done =
                remote.send(Method::POST, va_path(remote, &at, &["delete"]), None::<&()>).await?;
            println!("Virtual account {name:?} deleted");
        }
    }
    Ok(())
}

async fn moves(remote: &Remote, cmd: MoveCmd) -> anyhow::Result<()> {
    match cmd {
        MoveCmd::Request { at, license, quantity, to_account, to_va, reason, output } => {
            let body = NewMoveRequest {
                target_smart_account: to_account,
                target_virtual_account: to_va,
                license,
                quantity,
                reason,
            };
            let reply: OneMoveRequest =
                remote.post(va_path(remote, &at, &["licenses", "move-requests"]), &body).await?;
            let request = reply.move_request;
            eprintln!("move request {} filed; an operator approves or rejects it", request.id);
            print_moves(&output, &[request])
        }
        MoveCmd::List { account, pending, page, output } => {
            let account = match account {
                Some(account) => account,
                None => remote.own_domain().await?,
            };
            let query: &[(&str, &str)] = if pending { &[("status", "PENDING")] } else { &[] };
            let url = remote.api(&["v1", "accounts", &account, "licenses", "move-requests"], query);
            let requests = page.collect(|p| remote.get_page::<MoveRequests>(&url, p)).await?;
            print_moves(&output, &requests)
        }
        MoveCmd::Approve { .. } | MoveCmd::Reject { .. } => local_only(
            "move approve/reject",
            "a move between smart accounts is decided by the licensing-operations user",
        ),
    }
}

async fn upload(remote: &Remote, at: &VaRef, file: &Path, ack: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let name = file
        .file_name()
        .map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
    let mut url = va_path(remote, at, &["usage-files"]);
    url.query_pairs_mut().append_pair("name", &name);
    let reply = remote
        .http
        .post(url.clone())
        .bearer_auth(&remote.token)
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let reply: Uploaded =
        read(reply, "POST", &url).await.with_context(|| format!("uploading {}", file.display()))?;
    let (what, content) = match (reply.ack.as_deref(), reply.ack_bundle.as_deref()) {
        (Some(xml), _) => ("ACK", xml.as_bytes().to_vec()),
        (None, Some(b64)) => (
            "ACK bundle",
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .context("the ackBundle of the reply is not base64")?,
        ),
        (None, None) => bail!("the authority's reply to the upload holds no ACK"),
    };
    write_atomic(ack, &content).with_context(|| format!("writing the {what} {}", ack.display()))?;
    for f in &reply.files {
        let summary = if f.replayed {
            "uploaded before: the stored ACK is given again".to_owned()
        } else {
            format!(
                "{} product instance(s), {} report(s) accepted, {} duplicate, {} trust code(s), {} authorization code(s), {} return(s)",
                f.product_instances,
                f.accepted,
                f.duplicate,
                f.trust_codes,
                f.authorizations,
                f.returns,
            )
        };
        println!("{}: {summary}", f.file_name);
    }
    println!("{what} written to {}", ack.display());
    Ok(())
}

async fn pi(remote: &Remote, cmd: PiCmd) -> anyhow::Result<()> {
    let changes = |output: &Output, reply: &DevicesChanged| {
        print_rows(
            output,
            &reply.product_instances,
            &["UDI", "Status", "To", "Authorization Codes"],
            |c| {
                vec![
                    c.sudi.udi(),
                    c.status.clone(),
                    c.target_virtual_account.as_deref().unwrap_or("(removed)").to_owned(),
                    dash(&c.authorization_codes.join(",")),
                ]
            },
        )
    };
    match cmd {
        PiCmd::List { at, page, output } => {
            let url = va_path(remote, &at, &["devices"]);
            let devices = page.collect(|p| remote.get_page::<Devices>(&url, p)).await?;
            let headers = ["UDI", "Hostname", "Last Contact", "Usage"];
            print_rows(&output, &devices, &headers, |d| {
                let usage: Vec<String> = d
                    .license_usage
                    .iter()
                    .map(|u| format!("{}={}", u.license, u.quantity))
                    .collect();
                vec![
                    d.sudi.udi(),
                    or_dash(d.host_name.as_deref()),
                    short_time(&d.last_contact_date),
                    dash(&usage.join(",")),
                ]
            })?;
        }
        PiCmd::Transfer { at, udis, to_va, output } => {
            let product_instances = udis
                .iter()
                .map(|udi| {
                    Ok(DeviceTransfer {
                        sudi: sudi(udi)?,
                        product_tag_name: None,
                        target_virtual_account: to_va.clone(),
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let url = va_path(remote, &at, &["devices", "transfer"]);
            let reply: DevicesChanged =
                remote.post(url, &ProductInstances { product_instances }).await?;
            changes(&output, &reply)?;
        }
        PiCmd::Rebind { .. } | PiCmd::Find { .. } => anyhow::bail!(
            "pi rebind and pi find are the operator's commands: run them on the authority (--data or --database), not over --url"
        ),
        PiCmd::Remove { at, udi, return_code, output } => {
            let return_code =
                match return_code {
                    Some(path) => Some(std::fs::read_to_string(&path).with_context(|| {
                        format!("reading the return code file {}", path.display())
                    })?),
                    None => None,
                };
            let removal = DeviceRemoval { sudi: sudi(&udi)?, return_code };
            let url = va_path(remote, &at, &["devices", "remove"]);
            let reply: DevicesChanged =
                remote.post(url, &ProductInstances { product_instances: vec![removal] }).await?;
            changes(&output, &reply)?;
        }
    }
    Ok(())
}

/// `…/reporting-policy` of a smart account or of one of its virtual accounts.
fn policy_path(remote: &Remote, at: &PolicyAt) -> Url {
    match &at.va {
        Some(va) => va_path(
            remote,
            &VaRef { account: at.account.clone(), va: va.clone() },
            &["reporting-policy"],
        ),
        None => remote.api(&["v1", "accounts", &at.account, "reporting-policy"], &[]),
    }
}

async fn policy(remote: &Remote, cmd: PolicyCmd) -> anyhow::Result<()> {
    match cmd {
        PolicyCmd::Set {
            at,
            name,
            unenforced_perpetual,
            unenforced_subscription,
            enforced,
            export,
            no_ack_required,
        } => {
            let class = |a: Option<slp_core::policy::Attributes>| {
                a.map(|a| PolicyClass {
                    first: a.first,
                    ongoing: a.ongoing,
                    on_change: a.on_change,
                })
            };
            let body = PolicyBody {
                name: name.clone(),
                ack_required: !no_ack_required,
                unenforced_perpetual: class(unenforced_perpetual),
                unenforced_subscription: class(unenforced_subscription),
                enforced: class(enforced),
                export: class(export),
            };
            let _: PolicyView =
                remote.send(Method::PUT, policy_path(remote, &at), Some(&body)).await?;
            println!("Policy {name:?} set for {}", super::policy_scope(&at));
        }
        PolicyCmd::Show { at, json } => {
            let policy: PolicyView = remote.get(policy_path(remote, &at)).await?;
            print_policy(&policy, json)?;
        }
        PolicyCmd::Clear { at } => {
            let policy: PolicyView =
                remote.send(Method::DELETE, policy_path(remote, &at), None::<&()>).await?;
            println!(
                "Custom policy of {} removed; in force now: {:?} ({})",
                super::policy_scope(&at),
                policy.name,
                policy.set_for
            );
        }
        PolicyCmd::Download { at, out } => {
            let document =
                remote.download(va_path(remote, &at, &["reporting-policy", "download"])).await?;
            write_atomic(&out, &document)
                .with_context(|| format!("writing the policy file {}", out.display()))?;
            println!("Policy written to {}", out.display());
        }
    }
    Ok(())
}

async fn token(remote: &Remote, cmd: TokenCmd) -> anyhow::Result<()> {
    match cmd {
        TokenCmd::Create { at, description, expires_after_days, max_uses, export_controlled } => {
            let body = NewToken {
                description,
                expires_after_days: u64::from(expires_after_days),
                max_uses: max_uses.map(u64::from),
                export_controlled,
            };
            let reply: CreatedToken = remote.post(va_path(remote, &at, &["tokens"]), &body).await?;
            let info = reply.token_info;
            let token = info.token.as_deref().context("the token reply holds no token")?;
            println!("{token}");
            eprintln!("ID token {} for {:?} expires {}", info.id, at.va, info.expiration_date);
        }
        TokenCmd::List { at, page, output } => {
            let url = va_path(remote, &at, &["tokens"]);
            let tokens = page.collect(|p| remote.get_page::<Tokens>(&url, p)).await?;
            print_rows(&output, &tokens, &TOKEN_COLUMNS, |t| {
                vec![
                    t.id.to_string(),
                    t.description.clone(),
                    short_time(&t.creation_date),
                    short_time(&t.expiration_date),
                    t.uses.to_string(),
                    t.max_uses.map_or_else(|| "-".to_owned(), |m| m.to_string()),
                    t.status.clone(),
                    t.export_controlled.clone(),
                    token_cell(t.token.as_deref()),
                ]
            })?;
        }
        TokenCmd::Revoke { at, id } => {
            let body = TokenRevocation { tokens: Vec::new(), ids: vec![id] };
            let _: TokensRevoked =
                remote.post(va_path(remote, &at, &["tokens", "revoke"]), &body).await?;
            println!("ID token {id} revoked");
        }
    }
    Ok(())
}
