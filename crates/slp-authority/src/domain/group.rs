//! Group commit of `reportusage` requests.
//!
//! Each request reads and verifies its documents on its own (in parallel, off the async
//! threads), then queues what is left — the store work — here. One runner at a time takes
//! every request queued so far and applies them all in one transaction: the uploads, product
//! instances and reports they name are looked up once for the group, their reports, contact,
//! usage, events and upload records are written once at its end, and one commit (one WAL sync
//! on SQLite) makes the whole group durable. Every request is answered only once that commit is
//! on disk ([`slp_store::Commit::durable`]), so nothing acknowledged can be lost; on SQLite the
//! sync runs after the write lock is released, while the runner already applies the next group.
//!
//! A request of the group that is refused (a bad signature, a UDI of another virtual account)
//! gets its error, and the group runs again without it: the others never see its changes, as
//! if it had been sent alone. A failure of the store itself (begin, final write, commit) fails
//! the whole group; each of its requests gets the error and nothing is stored.
//!
//! The runner is a task of its own, so a client that hangs up does not cancel the requests
//! of others grouped with it; on SQLite it runs on a thread of its own ([`start_writer`]).

use std::collections::{BTreeMap, VecDeque};

use slp_core::udi::Udi;
use slp_store::{Account, Commit, StoreError, Tx, VirtualAccount};
use slp_wire::rum::Sudi;
use tokio::sync::oneshot;

use crate::domain::poll::{StoredAcknowledgement, StoredPollResult};
use crate::domain::upload::{IngestBatch, Parsed};
use crate::{Authority, AuthorityError, Result, actor};
use slp_wire::cssm::report::ACKNOWLEDGEMENTS;

/// A group holds at most about this many reports (a request is never split).
const GROUP_REPORTS: usize = 5_000;

/// The store work of one `reportusage` request.
pub(crate) struct UsageJob {
    pub(crate) account: Account,
    pub(crate) va: VirtualAccount,
    pub(crate) entries: Vec<UsageEntryJob>,
    pub(crate) poll_id: i64,
    /// Who the request's changes are logged under.
    pub(crate) actor: String,
}

/// One entry of a `reportusage` request.
pub(crate) struct UsageEntryJob {
    /// The SUDI and software tag its acknowledgement names.
    pub(crate) sudi: Sudi,
    pub(crate) tag: String,
    /// The UDI of the product instance it speaks for.
    pub(crate) udi: Udi,
    pub(crate) document: Parsed,
}

impl UsageJob {
    fn reports(&self) -> usize {
        self.entries.iter().map(|entry| entry.document.report_keys().count()).sum()
    }
}

/// The answer to a request, with its job handed back: the request drops it, so that freeing
/// its documents is not the writer's work.
type Reply = oneshot::Sender<(Result<()>, UsageJob)>;

/// Requests waiting for a runner, and the runner's turn.
#[derive(Default)]
pub(crate) struct UsageQueue {
    pending: std::sync::Mutex<VecDeque<(UsageJob, Reply)>>,
    turn: tokio::sync::Mutex<()>,
    /// Requests queued and not yet answered.
    unanswered: std::sync::atomic::AtomicUsize,
    /// SQLite: wakes the writer thread ([`start_writer`]), started with the first request.
    writer: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<Authority>>,
    /// What the committed groups took, for [`Authority::ingest_lane`].
    lane: std::sync::Mutex<IngestLane>,
}

/// What the group commit of `reportusage` requests has done since the authority was opened:
/// the groups committed, their requests and reports, and the wall time of each phase of the
/// serial lane (one group at a time): looking up ahead, applying the documents, writing, and
/// committing (on SQLite without the log's sync to disk, which runs off the lane). `slp bench
/// ingest` prints it per report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestLane {
    pub groups: u64,
    pub requests: u64,
    pub reports: u64,
    /// Reports stored for the first time (ACKed `ACCEPTED`).
    pub accepted: u64,
    /// Reports already stored (ACKed `DUPLICATE`).
    pub duplicate: u64,
    pub prefetch: std::time::Duration,
    pub apply: std::time::Duration,
    pub flush: std::time::Duration,
    pub commit: std::time::Duration,
}

/// Starts the thread that applies queued requests on SQLite, and returns what wakes it (with
/// the authority to apply them for). On a runtime of its own, the runner is never queued behind
/// the HTTP work of the async threads between its statements (it waits for the store many times
/// a group), and SQLite connections, which run on threads of their own, need no particular
/// runtime. The thread ends when every holder of the returned sender is gone.
fn start_writer() -> tokio::sync::mpsc::UnboundedSender<Authority> {
    let (wake, mut woken) = tokio::sync::mpsc::unbounded_channel::<Authority>();
    let started =
        std::thread::Builder::new().name("slp-usage-writer".to_owned()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(err) => {
                    tracing::error!(error = %err, "cannot start the reportusage writer's runtime");
                    return;
                }
            };
            runtime.block_on(async move {
                while let Some(authority) = woken.recv().await {
                    // Wake-ups queued meanwhile fold into this one: it applies until the queue is
                    // empty.
                    while woken.try_recv().is_ok() {}
                    while authority.usage_queue.has_pending() {
                        authority.run_queued().await;
                    }
                }
            });
        });
    if let Err(err) = started {
        tracing::error!(error = %err, "cannot start the reportusage writer thread");
    }
    wake
}

impl UsageQueue {
    fn has_pending(&self) -> bool {
        self.pending.lock().map(|p| !p.is_empty()).unwrap_or(false)
    }
}

/// Why a group did not commit.
enum GroupError {
    /// The request at this index was refused; the others may run again without it.
    Job(usize, AuthorityError),
    /// The store failed for the whole group.
    All(AuthorityError),
}

impl Authority {
    /// How many `reportusage` requests are read and verified but not yet answered: queued for
    /// the store's writer or being applied.
    pub fn usage_requests_pending(&self) -> usize {
        self.usage_queue.unanswered.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// What the group commit of `reportusage` requests has done so far ([`IngestLane`]).
    pub fn ingest_lane(&self) -> IngestLane {
        self.usage_queue.lane.lock().map(|lane| *lane).unwrap_or_default()
    }

    /// Applies `job` with whatever other requests are queued, and returns once it is committed
    /// (or refused).
    pub(crate) async fn commit_usage(&self, job: UsageJob) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        if let Ok(mut pending) = self.usage_queue.pending.lock() {
            pending.push_back((job, reply));
            self.usage_queue.unanswered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        // Every queued request is followed by a runner: it applies the queue, or finds it
        // taken by an earlier runner and ends. On SQLite the writer thread is the runner;
        // PostgreSQL connections belong to the runtime that opened them, so there a task is.
        let woken = self.store.backend() == slp_store::Backend::Sqlite
            && self.usage_queue.writer.get_or_init(start_writer).send(self.clone()).is_ok();
        if !woken {
            let runner = self.clone();
            tokio::spawn(async move { runner.run_queued().await });
        }
        match answer.await {
            Ok((result, job)) => {
                drop(job);
                result
            }
            Err(_) => Err(AuthorityError::GroupFailed {
                reason: "the authority stopped before the request was applied".to_owned(),
            }),
        }
    }

    /// Answers one queued request (its client may have gone: then nobody listens).
    fn answer(&self, reply: Reply, result: Result<()>, job: UsageJob) {
        self.usage_queue.unanswered.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        let _ = reply.send((result, job));
    }

    async fn run_queued(&self) {
        let _turn = self.usage_queue.turn.lock().await;
        let mut group: Vec<(UsageJob, Reply)> = Vec::new();
        if let Ok(mut pending) = self.usage_queue.pending.lock() {
            let mut reports = 0;
            while let Some(next) = pending.front() {
                let size = next.0.reports();
                if !group.is_empty() && reports + size > GROUP_REPORTS {
                    break;
                }
                reports += size;
                group.extend(pending.pop_front());
            }
        }
        while !group.is_empty() {
            match self.run_group(&group).await {
                Ok(commit) => {
                    // The next group begins while this one's commit reaches the disk; its
                    // requests are answered once it has.
                    let answered = std::mem::take(&mut group);
                    let authority = self.clone();
                    tokio::spawn(async move {
                        let durable = commit.durable().await.map_err(AuthorityError::from);
                        if let Err(err) = &durable {
                            tracing::error!(error = %err, requests = answered.len(), "reportusage group not synced to disk");
                        }
                        for (job, reply) in answered {
                            let result = match &durable {
                                Ok(()) => Ok(()),
                                Err(err) => Err(copy_of(err)),
                            };
                            authority.answer(reply, result, job);
                        }
                    });
                }
                Err(GroupError::Job(index, err)) => {
                    let (job, reply) = group.remove(index);
                    self.answer(reply, Err(err), job);
                }
                Err(GroupError::All(err)) => {
                    tracing::error!(error = %err, requests = group.len(), "reportusage group failed");
                    let mut all = group.drain(..);
                    let first = all.next();
                    for (job, reply) in all {
                        self.answer(reply, Err(copy_of(&err)), job);
                    }
                    if let Some((job, reply)) = first {
                        self.answer(reply, Err(err), job);
                    }
                }
            }
        }
    }

    async fn run_group(&self, group: &[(UsageJob, Reply)]) -> Result<Commit, GroupError> {
        let all = GroupError::All;
        let began = std::time::Instant::now();
        let mut tx = self.store.begin().await.map_err(|e| all(e.into()))?;
        let batch = IngestBatch::default();
        let mut digests: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        let mut udis = Vec::new();
        let mut reports = Vec::new();
        for (job, _) in group {
            for entry in &job.entries {
                digests.entry(job.va.id).or_default().push(entry.document.sha256().to_owned());
                // A UDI is scoped to its smart account: looked up in the job's.
                let account = job.account.id;
                udis.push((account, entry.udi.to_string()));
                for (udi, id) in entry.document.report_keys() {
                    let udi = udi.to_string();
                    udis.push((account, udi.clone()));
                    reports.push((account, udi, id));
                }
            }
        }
        udis.sort();
        udis.dedup();
        // Every virtual account of the group is locked (in id order, so replicas cannot
        // deadlock) before anything is looked up: what is read ahead stays true until commit.
        for va_id in digests.keys() {
            tx.lock_va(*va_id).await.map_err(|e| all(e.into()))?;
        }
        let digests: Vec<(i64, Vec<String>)> = digests.into_iter().collect();
        let poll_ids: Vec<i64> = group.iter().map(|(job, _)| job.poll_id).collect();
        batch.prefetch(&mut tx, &digests, &udis, &reports, &poll_ids).await.map_err(all)?;
        let prefetched = began.elapsed();
        let (mut accepted, mut duplicate) = (0u64, 0u64);
        for (index, (job, _)) in group.iter().enumerate() {
            let applied =
                actor::acting_as(job.actor.clone(), self.apply_usage(&mut tx, &batch, job)).await;
            match applied {
                Ok((new, again)) => {
                    accepted += new;
                    duplicate += again;
                }
                Err(err) => {
                    tx.rollback().await.map_err(|e| all(e.into()))?;
                    return Err(GroupError::Job(index, err));
                }
            }
        }
        let applied = began.elapsed();
        batch.flush(&mut tx).await.map_err(all)?;
        let flushed = began.elapsed();
        let commit = tx.commit_pending().await.map_err(|e| all(e.into()))?;
        let committed = began.elapsed();
        if let Ok(mut lane) = self.usage_queue.lane.lock() {
            lane.groups += 1;
            lane.requests += group.len() as u64;
            lane.reports += reports.len() as u64;
            lane.accepted += accepted;
            lane.duplicate += duplicate;
            lane.prefetch += prefetched;
            lane.apply += applied - prefetched;
            lane.flush += flushed - applied;
            lane.commit += committed - flushed;
        }
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        tracing::debug!(
            requests = group.len(),
            reports = reports.len(),
            prefetch_ms = ms(prefetched),
            apply_ms = ms(applied - prefetched),
            flush_ms = ms(flushed - applied),
            commit_ms = ms(committed - flushed),
            "reportusage group written"
        );
        Ok(commit)
    }

    /// One request of a group: every entry ingested, the acknowledgements stored under its
    /// poll id. A request replayed (its poll id stored) changes nothing. Returns how many
    /// reports were accepted and how many were duplicates.
    async fn apply_usage(
        &self,
        tx: &mut Tx,
        batch: &IngestBatch,
        job: &UsageJob,
    ) -> Result<(u64, u64)> {
        tx.lock_va(job.va.id).await?;
        let stored = match batch.poll_owner(job.poll_id) {
            Some(owner) => Self::poll_of_request(job.poll_id, owner, &job.va, ACKNOWLEDGEMENTS)?,
            None => {
                Self::existing_poll(tx, job.poll_id, &job.va, ACKNOWLEDGEMENTS).await?.is_some()
            }
        };
        if stored {
            tracing::info!(poll_id = job.poll_id, va = %job.va.name, "replayed reportusage: stored result");
            return Ok((0, 0));
        }
        let mut acknowledgements = Vec::new();
        let (mut accepted, mut duplicate) = (0u64, 0u64);
        for entry in &job.entries {
            // The ACK is in the entry's upload record (new or replayed): the result names it.
            let outcome =
                self.ingest(tx, batch, &job.account, &job.va, &entry.document, false).await?;
            accepted += outcome.accepted as u64;
            duplicate += outcome.duplicate as u64;
            acknowledgements.push(StoredAcknowledgement {
                sudi: entry.sudi.clone(),
                software_tag_identifier: entry.tag.clone(),
                smart_license: None,
                ack_upload: Some(entry.document.sha256().to_owned()),
            });
        }
        let result =
            StoredPollResult { acknowledgements: Some(acknowledgements), authorizations: None };
        // Written with the group's other results by `IngestBatch::flush`.
        batch.add_poll(self.poll_record(job.poll_id, &job.va, ACKNOWLEDGEMENTS, &result)?);
        Ok((accepted, duplicate))
    }
}

/// The error of a failed group as each of its requests gets it: a conflict stays a conflict
/// (the client sends again); anything else names what failed.
fn copy_of(err: &AuthorityError) -> AuthorityError {
    match err {
        AuthorityError::Store(StoreError::Duplicate { what, value }) => {
            AuthorityError::Store(StoreError::Duplicate { what, value: value.clone() })
        }
        other => AuthorityError::GroupFailed { reason: other.to_string() },
    }
}
