//! The direct topology ("Connected Directly to CSSM"): ID tokens, trust establishment with them,
//! and the device messages of smart transport (served at `/licservice/license` by
//! `crate::http::device`).
//!
//! A device message carries the same `<smartLicense>` document as a file upload
//! (`slp_wire::online`), so it goes through [`Authority::upload`] like a file: one ingestion path.
//! Devices are authenticated by their key: the system information and every report are signed
//! by the key the UDI is bound to. The first binding over smart transport needs an ID token.

use chrono::{DateTime, Duration, SecondsFormat};
use serde::Serialize;
use slp_store::IdToken;
use slp_wire::online::{self, MessageType, Request};

use crate::{Authority, AuthorityError, Result};

/// Largest device message accepted.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;

/// An ID token as listed.
#[derive(Debug, Clone, Serialize)]
pub struct TokenView {
    pub id: i64,
    /// The token text; none for a token created before the authority kept it (migration 12)
    /// or while it had no token key, or whose sealed text does not open with this key.
    pub token: Option<String>,
    pub description: String,
    pub created: String,
    /// Who created it (`cli:alice`, `api:ops (…)`), when known.
    pub created_by: Option<String>,
    pub expires: String,
    /// `Allowed` or `Not Allowed`, as given at creation.
    pub export_controlled: String,
    pub max_uses: Option<i64>,
    pub uses: i64,
    /// `Active`, `Expired`, `Used up` or `Revoked`.
    pub status: String,
}

/// Cisco's `exportControlled` of a token create call, `Allowed` or `Not Allowed` in any case
/// and spacing (`Allowed` when not given).
pub fn export_controlled(given: Option<&str>) -> Result<&'static str> {
    let Some(text) = given.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok("Allowed");
    };
    let squeezed: String =
        text.chars().filter(|c| !c.is_whitespace() && *c != '_').collect::<String>().to_lowercase();
    match squeezed.as_str() {
        "allowed" => Ok("Allowed"),
        "notallowed" => Ok("Not Allowed"),
        _ => Err(AuthorityError::Invalid {
            field: "exportControlled",
            value: crate::sanity::shortened(text),
            reason: "is \"Allowed\" or \"Not Allowed\"".to_owned(),
        }),
    }
}

fn hash(token: &str) -> String {
    slp_core::text::sha256_hex(token.trim().as_bytes())
}

fn time(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Why token `token` cannot be used at `now`.
fn token_refusal(token: &IdToken, now: i64) -> AuthorityError {
    let reason = if token.revoked_at.is_some() {
        "the ID token has been revoked".to_owned()
    } else if now >= token.expires_at {
        format!("the ID token expired on {}", time(token.expires_at))
    } else {
        format!(
            "the ID token {} has no uses left: used {} time(s), its limit",
            token.id, token.uses
        )
    };
    AuthorityError::Token { reason }
}

impl Authority {
    /// Creates an ID token for a virtual account (export-controlled features `Allowed`);
    /// returns the token and its row.
    pub async fn create_token(
        &self,
        account: &str,
        va: &str,
        description: &str,
        expires_after_days: u32,
        max_uses: Option<u32>,
    ) -> Result<(String, TokenView)> {
        self.create_token_with(account, va, description, expires_after_days, max_uses, None).await
    }

    /// [`Authority::create_token`] with Cisco's `exportControlled` (`Allowed` or `Not
    /// Allowed`, [`export_controlled`]); slp records it and shows it in lists. The token text
    /// is kept sealed with the authority's token key, when it has one.
    pub async fn create_token_with(
        &self,
        account: &str,
        va: &str,
        description: &str,
        expires_after_days: u32,
        max_uses: Option<u32>,
        export: Option<&str>,
    ) -> Result<(String, TokenView)> {
        let export = export_controlled(export)?;
        let max_days = slp_wire::cssm::limits::MAX_TOKEN_DAYS;
        if !(1..=max_days).contains(&u64::from(expires_after_days)) {
            return Err(AuthorityError::Invalid {
                field: "expires-after-days",
                value: expires_after_days.to_string(),
                reason: format!("an ID token is valid for 1 to {max_days} days"),
            });
        }
        if max_uses == Some(0) {
            return Err(AuthorityError::Invalid {
                field: "max-uses",
                value: "0".to_owned(),
                reason: "a token must allow at least one use".to_owned(),
            });
        }
        let description = crate::sanity::check_text(
            "description",
            description,
            crate::sanity::MAX_DESCRIPTION_CHARS,
        )?;
        let now = self.clock.now();
        // Cisco's tokens are opaque base64 text that starts with an encoded UUID; so are ours.
        let raw = format!("{}-{:032x}", uuid::Uuid::new_v4(), rand::random::<u128>());
        let token =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw.as_bytes());
        let token_hash = hash(&token);
        let token_text = self.token_key.as_ref().map(|key| key.seal(&token_hash, &token));
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        let row = tx
            .insert_token(&IdToken {
                id: 0,
                va_id: va_row.id,
                token_hash,
                description: description.clone(),
                created_at: now.timestamp(),
                expires_at: (now + Duration::days(i64::from(expires_after_days))).timestamp(),
                max_uses: max_uses.map(i64::from),
                uses: 0,
                revoked_at: None,
                token_text,
                created_by: Some(self.actor()),
                export_controlled: export.to_owned(),
            })
            .await?;
        tx.log(self.event(
            &account_row,
            Some(&va_row),
            format!("ID token {} created ({description})", row.id),
        ))
        .await?;
        tx.commit().await?;
        let view = TokenView { token: Some(token.clone()), ..self.token_view(&row) };
        Ok((token, view))
    }

    pub(crate) fn token_view(&self, token: &IdToken) -> TokenView {
        let now = self.clock.now().timestamp();
        let status = if token.revoked_at.is_some() {
            "Revoked"
        } else if now >= token.expires_at {
            "Expired"
        } else if token.max_uses.is_some_and(|max| token.uses >= max) {
            "Used up"
        } else {
            "Active"
        };
        TokenView {
            id: token.id,
            token: self.token_text(token),
            description: token.description.clone(),
            created: time(token.created_at),
            created_by: token.created_by.clone(),
            expires: time(token.expires_at),
            export_controlled: token.export_controlled.clone(),
            max_uses: token.max_uses,
            uses: token.uses,
            status: status.to_owned(),
        }
    }

    /// The text of `token`, when it was kept and opens with this authority's token key.
    fn token_text(&self, token: &IdToken) -> Option<String> {
        let sealed = token.token_text.as_deref()?;
        let Some(key) = &self.token_key else {
            tracing::warn!(
                token = token.id,
                "ID token text kept, but the authority has no token key to open it"
            );
            return None;
        };
        key.open(&token.token_hash, sealed)
            .map_err(|reason| tracing::warn!(token = token.id, %reason, "ID token text not shown"))
            .ok()
    }

    /// The ID tokens of a virtual account.
    pub async fn tokens(&self, account: &str, va: &str) -> Result<Vec<TokenView>> {
        let mut tx = self.store.read().await?;
        let (_, va_row) = Self::resolve(&mut tx, account, va).await?;
        Ok(tx.tokens(va_row.id).await?.iter().map(|t| self.token_view(t)).collect())
    }

    /// Revokes tokens by their text (the CSSM API's `tokens/revoke`), all or none: a token that
    /// is not one of this virtual account's is refused by its position. Returns their ids.
    pub async fn revoke_tokens_by_text(
        &self,
        account: &str,
        va: &str,
        tokens: &[String],
    ) -> Result<Vec<i64>> {
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        let mut ids = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            let row = tx.token_by_hash(&hash(token)).await?.filter(|t| t.va_id == va_row.id);
            let Some(row) = row else {
                return Err(AuthorityError::TokenNotFound {
                    what: format!("tokens[{i}]"),
                    va: va_row.name,
                });
            };
            tx.revoke_token(row.id, self.clock.now().timestamp()).await?;
            tx.log(self.event(&account_row, Some(&va_row), format!("ID token {} revoked", row.id)))
                .await?;
            ids.push(row.id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Revokes a token by its id (from `token list`).
    pub async fn revoke_token(&self, account: &str, va: &str, id: i64) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let (account_row, va_row) = Self::resolve(&mut tx, account, va).await?;
        if !tx.tokens(va_row.id).await?.iter().any(|t| t.id == id) {
            return Err(AuthorityError::TokenNotFound {
                what: format!("token id {id}"),
                va: va_row.name,
            });
        }
        tx.revoke_token(id, self.clock.now().timestamp()).await?;
        tx.log(self.event(&account_row, Some(&va_row), format!("ID token {id} revoked"))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Trust establishment: checks the token, then takes the device's document (system
    /// information + trust requests) into the token's virtual account; returns the answer (trust
    /// codes and the account's policy). Without `force`, a UDI that already has a trust code
    /// is refused. The token's use is taken ([`slp_store::Tx::claim_token`]) in the same
    /// transaction as the trust, so concurrent devices never take more uses than the token
    /// allows, and a refused document gives its use back.
    pub async fn trust_with_token(
        &self,
        token: &str,
        document: &str,
        udi: &str,
        force: bool,
    ) -> Result<String> {
        let now = self.clock.now().timestamp();
        let mut tx = self.store.begin().await?;
        let token_row =
            tx.token_by_hash(&hash(token)).await?.ok_or(AuthorityError::UnknownToken)?;
        let va = tx.va(token_row.va_id).await?.ok_or_else(|| AuthorityError::Token {
            reason: "the token's virtual account is gone".to_owned(),
        })?;
        let account = tx.account(va.account_id).await?.ok_or_else(|| AuthorityError::Token {
            reason: "the token's smart account is gone".to_owned(),
        })?;
        if !tx.claim_token(token_row.id, now).await? {
            // Why not, as the store has it now (another device may have taken the last use).
            let current = tx.token_by_hash(&token_row.token_hash).await?.unwrap_or(token_row);
            return Err(token_refusal(&current, now));
        }
        if !force
            && let Some(pi) = tx.pi_by_udi(account.id, udi).await?
            && pi.trust_id.is_some()
            && pi.va_id == va.id
        {
            return Err(AuthorityError::Device {
                udi: udi.to_owned(),
                reason: "a trust code is already installed for this product instance; use force to overwrite it".to_owned(),
            });
        }
        let outcome = self
            .upload_with_token(
                &mut tx,
                &account,
                &va,
                &format!("trust request of {udi}"),
                document.as_bytes(),
            )
            .await?;
        tx.commit().await?;
        Ok(outcome.ack)
    }

    /// A message from a device over smart transport; every refusal is an `ERROR` reply.
    pub async fn device_message(&self, request: &Request) -> online::Response {
        self.device_reply(request, self.handle_device_message(request).await)
    }

    pub(crate) fn device_reply(
        &self,
        request: &Request,
        outcome: Result<online::Response>,
    ) -> online::Response {
        match outcome {
            Ok(response) => response,
            Err(err) => {
                tracing::warn!(device.udi = %request.header.udi, error = %err, "device message refused");
                match &err {
                    // Anyone may claim a UDI without credentials: the answer names no smart or
                    // virtual account (the log above has them for the operator). With an ID
                    // token the sender proved the account, and gets the whole refusal.
                    AuthorityError::BindRefused(refusal)
                        if request.header.kind != MessageType::TrustRequest =>
                    {
                        online::Response::error(format!(
                            "product instance {udi} is bound to device key {bound}; this device's key {offered} may bind it only with proof: establish trust with an ID token of its virtual account (`license smart trust idtoken TOKEN all force` on the device), or ask the authority's operator to allow key {offered} once (`slp authority pi rebind … --key {offered}`; the authority's log names the account)",
                            udi = refusal.udi,
                            bound = refusal.bound.as_deref().unwrap_or("?"),
                            offered = refusal.offered,
                        ))
                    }
                    _ => online::Response::error(err.to_string()),
                }
            }
        }
    }

    pub(crate) async fn handle_device_message(
        &self,
        request: &Request,
    ) -> Result<online::Response> {
        let udi = request.header.udi.to_string();
        let document = || {
            request.data.smart_license.as_deref().ok_or_else(|| AuthorityError::Device {
                udi: udi.clone(),
                reason: "the message carries no <smartLicense> document".to_owned(),
            })
        };
        match request.header.kind {
            MessageType::Hello => Ok(online::Response::ok(None)),
            MessageType::Poll => Ok(online::Response::no_data()),
            MessageType::TrustRequest => {
                let token = request.data.id_token.as_deref().ok_or_else(|| {
                    AuthorityError::Token { reason: "no ID token in the trust request".to_owned() }
                })?;
                let ack =
                    self.trust_with_token(token, document()?, &udi, request.data.force).await?;
                Ok(online::Response::ok(Some(ack)))
            }
            MessageType::Usage | MessageType::AuthRequest | MessageType::AuthReturn => {
                let (domain, va_name) = {
                    let mut tx = self.store.read().await?;
                    // The message names no account, and a UDI is scoped to its smart account
                    // (several may hold it): the device's own is the trusted instance whose
                    // bound key signed the document. A key no trusted instance is bound to
                    // goes to the one holder, if only one holds the UDI (whose check refuses
                    // a new key and says how to proceed); with several it is told only that
                    // trust is missing, whoever holds the UDI.
                    let signers = signing_key_ids(document()?);
                    let trusted: Vec<_> = tx
                        .pis_by_udi(&udi)
                        .await?
                        .into_iter()
                        .filter(|pi| pi.trust_id.is_some())
                        .collect();
                    let signed_by = |pi: &slp_store::ProductInstance| {
                        slp_wire::keys::key_id(&pi.public_key).is_ok_and(|id| signers.contains(&id))
                    };
                    let only = if trusted.len() == 1 { trusted.first().cloned() } else { None };
                    let pi = trusted
                        .iter()
                        .filter(|pi| signed_by(pi))
                        .max_by_key(|pi| (pi.trusted_at, pi.id))
                        .cloned()
                        .or(only)
                        .ok_or_else(|| AuthorityError::Device {
                            udi: udi.clone(),
                            reason: "no trust is established for this product instance with the key that signed the message: license smart trust idtoken <token> first".to_owned(),
                        })?;
                    let va = tx.va(pi.va_id).await?.ok_or_else(|| AuthorityError::Device {
                        udi: udi.clone(),
                        reason: "its virtual account is gone".to_owned(),
                    })?;
                    let account =
                        tx.account(va.account_id).await?.ok_or_else(|| AuthorityError::Device {
                            udi: udi.clone(),
                            reason: "its smart account is gone".to_owned(),
                        })?;
                    (account.domain, va.name)
                };
                let outcome = self
                    .upload(
                        &domain,
                        &va_name,
                        &format!("smart transport message of {udi}"),
                        document()?.as_bytes(),
                    )
                    .await?;
                Ok(online::Response::ok(Some(outcome.ack)))
            }
        }
    }
}

/// The key ids that signed a device message's document: those of its signed items and of its
/// RUM reports. Unreadable parts add none (the upload that follows names what is wrong).
fn signing_key_ids(document: &str) -> std::collections::BTreeSet<String> {
    let Ok(doc) = slp_wire::xml::Document::parse(document) else {
        return std::collections::BTreeSet::new();
    };
    let mut ids: std::collections::BTreeSet<String> = doc
        .items
        .iter()
        .filter_map(|item| item.signature.as_ref().map(|s| s.key.clone()))
        .collect();
    ids.extend(
        doc.reports
            .iter()
            .filter_map(|report| slp_wire::rum::Envelope::parse(report).ok())
            .map(|envelope| envelope.signature.key),
    );
    ids
}
