//! Relay-initiated pull ("Collect Usage") over the device management API (PROTOCOL.md §5.2):
//! `POST /smartlic-service/close-reports`, `GET /smartlic-service/all-reports` (HTTP basic
//! auth), the `smart_license` document stored exactly like a push; on the next update the
//! answers waiting for the device are installed with `POST /smartlic-service/import`.

use serde::Deserialize;
use serde_json::Value;

use crate::intake::Source;
use crate::store::{self, Bind, DeviceRow};
use crate::{ConnectMethod, Relay, RelayError, Result, check, normalize_host};

/// What `collect` did for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    pub host: String,
    pub udi: Option<String>,
    /// Answers installed before collecting.
    pub installed: usize,
    pub reports: usize,
    pub poll_id: Option<String>,
    pub new: bool,
    /// `Some` when the device could not be reached or refused.
    pub failure: Option<String>,
}

/// What installing answers on pulled devices did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Installed {
    pub installed: Vec<String>,
    pub failures: Vec<String>,
}

#[derive(Deserialize)]
struct AllReports {
    smart_license: Option<String>,
}

/// The device management API of one device.
struct DeviceClient<'a> {
    http: reqwest::Client,
    device: &'a DeviceRow,
    host: String,
}

impl DeviceClient<'_> {
    fn new<'a>(device: &'a DeviceRow, roots: &slp_http::TrustRoots) -> Result<DeviceClient<'a>> {
        let host = device.host.clone().ok_or_else(|| RelayError::Invalid {
            what: format!("device {}", device.udi.as_deref().unwrap_or("?")),
            reason: "has no host to pull from".into(),
        })?;
        let http = roots
            .client()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| RelayError::Device { host: host.clone(), reason: e.to_string() })?;
        Ok(DeviceClient { http, device, host })
    }

    fn fail(&self, reason: String) -> RelayError {
        RelayError::Device { host: self.host.clone(), reason }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> Result<String> {
        let url = format!("{}/smartlic-service/{path}", self.host);
        let mut request = self.http.request(method, &url).basic_auth(
            self.device.username.clone().unwrap_or_default(),
            self.device.password.clone(),
        );
        if let Some(body) = body {
            request = request.header("content-type", "application/xml").body(body);
        }
        let response = request.send().await.map_err(|e| {
            self.fail(if let Some(problem) = slp_http::tls::certificate_problem(&e) {
                problem
            } else if e.is_connect() {
                "Unable to connect to the device".to_owned()
            } else if e.is_timeout() {
                "Timeout waiting for the device".to_owned()
            } else {
                e.to_string()
            })
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| self.fail(e.to_string()))?;
        if status.as_u16() == 401 {
            return Err(self.fail(format!(
                "{path}: authentication refused (HTTP 401): check the username and password (a privilege 15 user)"
            )));
        }
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| text.chars().take(300).collect());
            return Err(self.fail(format!("{path}: HTTP {}: {message}", status.as_u16())));
        }
        Ok(text)
    }
}

impl Relay {
    /// Collects usage from every rest-pull device of the inventory (or the one at `host`):
    /// installs waiting answers first, then closes and pulls the reports. In connected mode a
    /// forwarding cycle follows (see `cli`).
    pub async fn collect(&self, host: Option<&str>) -> Result<Vec<Collected>> {
        let host = host.map(normalize_host).transpose()?;
        let devices = {
            let mut conn = self.store.pool().acquire().await.map_err(RelayError::Database)?;
            store::devices(&mut conn).await?
        };
        let targets: Vec<DeviceRow> = devices
            .into_iter()
            .filter(|d| d.connect_method == ConnectMethod::RestPull.as_str() && d.host.is_some())
            .filter(|d| host.is_none() || d.host == host)
            .collect();
        if let Some(host) = &host
            && targets.is_empty()
        {
            return Err(RelayError::Invalid {
                what: format!("--host {host}"),
                reason: "is not a rest-pull device of the inventory (see `slp relay pi list`)"
                    .into(),
            });
        }
        let mut out = Vec::new();
        for device in &targets {
            out.push(self.collect_one(device).await?);
        }
        Ok(out)
    }

    async fn collect_one(&self, device: &DeviceRow) -> Result<Collected> {
        let client = DeviceClient::new(device, self.roots())?;
        let mut result = Collected {
            host: client.host.clone(),
            udi: device.udi.clone(),
            installed: 0,
            reports: 0,
            poll_id: None,
            new: false,
            failure: None,
        };
        let step = async {
            result.installed = self.install_on(&client).await?;
            client.call(reqwest::Method::POST, "close-reports", None).await?;
            let text = client.call(reqwest::Method::GET, "all-reports", None).await?;
            let reports: AllReports = serde_json::from_str(&text)
                .map_err(|e| client.fail(format!("all-reports: unreadable reply: {e}")))?;
            let document = reports.smart_license.ok_or_else(|| {
                client.fail("all-reports: the reply has no smart_license document".into())
            })?;
            let accepted =
                self.accept(&document, None, Source::Pull { device_id: device.id }).await?;
            Ok::<_, RelayError>(accepted)
        };
        match step.await {
            Ok(accepted) => {
                result.udi = Some(accepted.udi);
                result.reports = accepted.reports;
                result.poll_id = accepted.poll_id;
                result.new = accepted.new;
                tracing::info!(host = %result.host, udi = ?result.udi, reports = result.reports, new = result.new, "usage collected");
            }
            Err(
                err @ (RelayError::Device { .. }
                | RelayError::Refused { .. }
                | RelayError::BadAnswer { .. }),
            ) => {
                let alert = match &err {
                    RelayError::Refused { reason, .. } => format!("REJECTED: {reason}"),
                    _ => format!("COMM FAILED: {err}"),
                };
                let mut tx = self.store.begin().await?;
                store::set_alert(&mut tx, device.id, Some(&alert)).await?;
                tx.commit().await.map_err(RelayError::Database)?;
                tracing::warn!(host = %result.host, error = %err, "collect failed");
                result.failure = Some(err.to_string());
            }
            Err(err) => return Err(err),
        }
        Ok(result)
    }

    /// Installs the answers waiting for `client`'s device; returns how many.
    async fn install_on(&self, client: &DeviceClient<'_>) -> Result<usize> {
        let Some(udi) = client.device.udi.clone() else { return Ok(0) };
        let answers = {
            let mut conn = self.store.pool().acquire().await.map_err(RelayError::Database)?;
            store::answers_where(
                &mut conn,
                "udi = ? AND installed_at IS NULL AND delivered_poll IS NULL",
                &[&udi],
            )
            .await?
        };
        if answers.is_empty() {
            return Ok(0);
        }
        let texts: Vec<String> = answers.iter().map(|a| a.xml.clone()).collect();
        let merged = check::merge_answers(&texts)?;
        client.call(reqwest::Method::POST, "import", Some(merged)).await?;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        for answer in &answers {
            store::exec(
                &mut tx,
                "UPDATE answers SET installed_at = ? WHERE id = ?",
                &[Bind::Int(now), Bind::Int(answer.id)],
            )
            .await?;
        }
        store::touch_device(&mut tx, client.device.id, now, None).await?;
        tx.commit().await.map_err(RelayError::Database)?;
        tracing::info!(host = %client.host, udi = %udi, answers = answers.len(), "answers installed on the device");
        Ok(answers.len())
    }

    /// Installs waiting answers on every rest-pull device (or the one at `host`).
    pub async fn install_answers(&self, host: Option<&str>) -> Result<Installed> {
        let devices = {
            let mut conn = self.store.pool().acquire().await.map_err(RelayError::Database)?;
            store::devices(&mut conn).await?
        };
        let mut out = Installed::default();
        for device in devices.iter().filter(|d| {
            d.connect_method == ConnectMethod::RestPull.as_str()
                && d.host.is_some()
                && d.udi.is_some()
                && (host.is_none() || d.host.as_deref() == host)
        }) {
            let client = DeviceClient::new(device, self.roots())?;
            match self.install_on(&client).await {
                Ok(0) => {}
                Ok(n) => out.installed.push(format!(
                    "{} ({}): {n} answer(s) installed",
                    client.host,
                    device.udi.as_deref().unwrap_or("?")
                )),
                Err(err @ RelayError::Device { .. }) => {
                    let mut tx = self.store.begin().await?;
                    store::set_alert(&mut tx, device.id, Some(&format!("COMM FAILED: {err}")))
                        .await?;
                    tx.commit().await.map_err(RelayError::Database)?;
                    out.failures.push(err.to_string());
                }
                Err(err) => return Err(err),
            }
        }
        Ok(out)
    }
}
