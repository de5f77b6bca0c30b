//! Delivery: one personalized email per active subscriber, at most one repeat per crash, and
//! exit codes that say what happened.
//!
//! The edition's paper list is frozen in `papers.json` at its first send; the journal records
//! each recipient's outcome right after the server's reply, and a rerun skips those already
//! delivered (and those that failed permanently). Rendering happens once per variant (the
//! topics, cap and format a group of subscribers share), and so is the encoding of its bodies
//! ([`message::EncodedVariant`]); each message only fills in the per-person strings (headers
//! through lettre's builder, and the few body lines that hold a slot).

pub mod edition;
pub mod journal;
pub mod message;
pub mod transport;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::Settings;
use crate::digest::Digest;
use crate::edition::{EditionDir, EditionId};
use crate::exit::{Classify, Exit};
use crate::render::{EditionInfo, Person, Renderer, VariantSpec};
use crate::subscribers::{MailFormat, Subscriber, token};
use journal::{Entry, Journal, Outcome};
use transport::{Failure, TransportSpec};

/// Why a send could not run at all (per-recipient failures are in the [`Report`]).
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("another send holds the lock {0} (is a send or `paperwire run` still going?)")]
    Locked(PathBuf),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the SMTP server is unreachable, nothing was sent: {0}")]
    Unreachable(String),
    #[error("the SMTP setup is wrong, nothing was sent: {0}")]
    Setup(String),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    #[error(transparent)]
    Subscribers(#[from] crate::subscribers::SubscriberError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Build(#[from] message::BuildError),
}

impl Classify for DeliverError {
    fn exit(&self) -> Exit {
        match self {
            DeliverError::Locked(_) | DeliverError::Unreachable(_) => Exit::TryLater,
            // A path that is wrong (a file where the outbox should be, no permission) will not
            // fix itself; a full disk or a vanished mount may.
            DeliverError::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound
                | std::io::ErrorKind::PermissionDenied
                | std::io::ErrorKind::AlreadyExists
                | std::io::ErrorKind::NotADirectory
                | std::io::ErrorKind::IsADirectory
                | std::io::ErrorKind::InvalidInput => Exit::Usage,
                _ => Exit::TryLater,
            },
            DeliverError::Setup(_) | DeliverError::Build(_) | DeliverError::Invalid(_) => {
                Exit::Usage
            }
            DeliverError::Render(e) => e.exit(),
            DeliverError::Config(e) => e.exit(),
            DeliverError::Source(e) => e.exit(),
            DeliverError::Subscribers(e) => e.exit(),
        }
    }
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> DeliverError {
    let context = context.into();
    move |source| DeliverError::Io { context, source }
}

/// What one run was asked to do.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub edition: EditionId,
    pub dry_run: bool,
    /// Only these addresses (lowercased); empty = everyone.
    pub only: Vec<String>,
    /// Send the chosen subscriber's exact message to this address instead, unjournaled.
    pub test_to: Option<lettre::Address>,
    pub transport: TransportSpec,
    /// The unsubscribe-token key.
    pub secret: Vec<u8>,
    /// Base of the in-run retry backoff.
    pub retry_base: Duration,
}

/// One recipient's line in the report.
#[derive(Debug, Clone, Serialize)]
pub struct RecipientReport {
    pub email: String,
    pub outcome: Outcome,
    pub detail: String,
}

/// What a run did: printed with `--json`, written to `report.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub edition: String,
    pub dry_run: bool,
    pub papers: usize,
    pub recipients: usize,
    pub delivered: usize,
    pub already_delivered: usize,
    pub failed: usize,
    pub failed_earlier: usize,
    pub deferred: usize,
    pub interrupted: bool,
    /// Only some subscribers were asked for (`--only`): the edition is not done for the rest.
    pub partial: bool,
    /// Dry run: the messages that would have been sent.
    pub would_send: usize,
    pub variants: usize,
    pub seconds: f64,
    /// Time spent building messages (rendering variants included), summed over the workers.
    pub build_seconds: f64,
    /// Time spent in the transport (SMTP round trips included), summed over the workers.
    pub send_seconds: f64,
    /// Bytes of the messages delivered in this run.
    pub message_bytes: u64,
    /// Failures and deferrals, per recipient.
    pub problems: Vec<RecipientReport>,
}

impl Report {
    /// 75 when something must be retried, 1 when something failed for good, else 0.
    /// Permanent failures of earlier runs of the edition count too: a rerun must not turn a
    /// failure someone should look at into a silent success.
    pub fn exit(&self) -> Exit {
        if self.deferred > 0 || self.interrupted {
            Exit::TryLater
        } else if self.failed + self.failed_earlier > 0 {
            Exit::SomeFailed
        } else {
            Exit::Done
        }
    }

    pub fn all_ok(&self) -> bool {
        self.exit() == Exit::Done
    }

    /// A short human summary.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "edition {}: {}{} delivered, {} already delivered, {} failed, {} deferred{}{}",
            self.edition,
            if self.dry_run {
                format!("{} to send ({} variants), ", self.would_send, self.variants)
            } else {
                String::new()
            },
            self.delivered,
            self.already_delivered,
            self.failed + self.failed_earlier,
            self.deferred,
            if self.interrupted {
                ", interrupted"
            } else {
                ""
            },
            if self.dry_run {
                " (dry run: nothing sent)"
            } else {
                ""
            },
        );
        for p in &self.problems {
            let what = match p.outcome {
                Outcome::Delivered => "delivered",
                Outcome::Failed => "failed",
                Outcome::Deferred => "deferred",
            };
            s.push_str(&format!("\n  {what} {}: {}", p.email, p.detail));
        }
        s
    }
}

/// Everything the send loop needs, prepared by [`prepare`].
pub struct Prepared {
    pub settings: Settings,
    pub edition: EditionInfo,
    pub digest: Digest,
    pub subscribers: Vec<Subscriber>,
    pub renderer: Renderer,
}

/// Progress callbacks (a progress bar on a TTY).
pub trait Progress: Send + Sync {
    fn start(&self, total: usize);
    fn advance(&self);
    fn finish(&self);
}

/// No progress display.
pub struct Silent;
impl Progress for Silent {
    fn start(&self, _: usize) {}
    fn advance(&self) {}
    fn finish(&self) {}
}

struct Shared {
    prepared: Prepared,
    request: SendRequest,
    subject: String,
    /// Each variant rendered and encoded once, shared by every subscriber who gets it.
    variants: Mutex<HashMap<VariantSpec, Arc<message::EncodedVariant>>>,
    journal: Option<Journal>,
    stop: Arc<AtomicBool>,
    report: Mutex<Report>,
    pacer: Option<Mutex<Pacer>>,
}

/// `delivery.max_per_second`: the next free send slot, shared by all workers.
struct Pacer {
    next: tokio::time::Instant,
    period: Duration,
}

impl Shared {
    fn variant_for(&self, s: &Subscriber) -> Result<Arc<message::EncodedVariant>, DeliverError> {
        let p = &self.prepared;
        let names = p.settings.section_names();
        let spec = VariantSpec::new(
            &s.topics,
            &names,
            s.max_papers.unwrap_or(usize::MAX),
            s.format == MailFormat::Text,
        );
        if let Some(v) = self
            .variants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&spec)
        {
            return Ok(Arc::clone(v));
        }
        let rendered =
            p.renderer
                .render_variant(&p.digest, &spec, &p.edition, &p.settings.digest)?;
        let v = Arc::new(message::EncodedVariant::new(&rendered));
        self.variants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(spec, Arc::clone(&v));
        Ok(v)
    }

    fn message_for(
        &self,
        s: &Subscriber,
    ) -> Result<(lettre::address::Envelope, Vec<u8>, String), DeliverError> {
        let p = &self.prepared;
        let variant = self.variant_for(s)?;
        let url = token::unsubscribe_url(
            &p.settings.newsletter.base_url,
            &token::sign(
                &self.request.secret,
                &p.settings.newsletter.list_id,
                &s.email,
            ),
        );
        let bytes = variant.build(
            &p.settings,
            &self.request.edition,
            s,
            &Person {
                name: s.name.as_deref(),
                email: s.email.as_str(),
                unsubscribe_url: &url,
            },
            &message::MessageMeta {
                subject: &self.subject,
                unsubscribe_url: &url,
                date: std::time::SystemTime::now(),
            },
        )?;
        let mut envelope = message::envelope(&p.settings, s)?;
        if let Some(to) = &self.request.test_to {
            envelope = lettre::address::Envelope::new(envelope.from().cloned(), vec![to.clone()])
                .map_err(|e| DeliverError::Setup(e.to_string()))?;
        }
        let id = message::message_id(&p.settings, &self.request.edition, &s.email.key());
        Ok((envelope, bytes, id))
    }

    fn record(
        &self,
        s: &Subscriber,
        outcome: Outcome,
        detail: String,
        message_id: String,
    ) -> Result<(), DeliverError> {
        if let Some(j) = &self.journal {
            j.record(&Entry {
                at: chrono::Utc::now(),
                email: s.email.key(),
                outcome,
                detail: detail.clone(),
                message_id,
            })
            .map_err(io(format!("cannot append to {}", j.path().display())))?;
        }
        let mut r = self.report.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Outcome::Delivered => r.delivered += 1,
            Outcome::Failed => r.failed += 1,
            Outcome::Deferred => r.deferred += 1,
        }
        if outcome != Outcome::Delivered {
            r.problems.push(RecipientReport {
                email: s.email.to_string(),
                outcome,
                detail,
            });
        }
        Ok(())
    }
}

/// Runs the send: every recipient not yet delivered in this edition, `delivery.concurrency` at a
/// time, each with in-run retries for transient failures. Returns the report; errors only for
/// what stops the whole run before anything is sent (or a journal that cannot be written).
pub async fn send(
    prepared: Prepared,
    request: SendRequest,
    stop: Arc<AtomicBool>,
    progress: Arc<dyn Progress>,
) -> Result<Report, DeliverError> {
    let started = Instant::now();
    let settings = &prepared.settings;
    let dir = EditionDir::new(&settings.state_dir, &request.edition);
    let journaled = !request.dry_run && request.test_to.is_none();
    let state = if request.test_to.is_some() {
        journal::State::default()
    } else {
        journal::read(&dir.journal())
            .map_err(io(format!("cannot read {}", dir.journal().display())))?
    };

    let mut report = Report {
        edition: request.edition.to_string(),
        dry_run: request.dry_run,
        partial: !request.only.is_empty(),
        papers: prepared.digest.paper_count(),
        ..Report::default()
    };
    let mut queue = Vec::new();
    for (i, s) in prepared.subscribers.iter().enumerate() {
        if !s.is_active() {
            continue;
        }
        if !request.only.is_empty() && !request.only.contains(&s.email.key()) {
            continue;
        }
        report.recipients += 1;
        match state.outcome(&s.email.key()) {
            Some(Outcome::Delivered) => report.already_delivered += 1,
            Some(Outcome::Failed) => {
                report.failed_earlier += 1;
            }
            _ => queue.push(i),
        }
    }

    let subject = crate::render::render_subject(
        &settings.newsletter.subject,
        &prepared.edition,
        prepared.digest.paper_count(),
    )?;

    // Dry run: build every message (rendering and validating it), send nothing, write nothing.
    if request.dry_run {
        let shared = Shared {
            prepared,
            request,
            subject,
            variants: Mutex::new(HashMap::new()),
            journal: None,
            stop,
            report: Mutex::new(Report::default()),
            pacer: None,
        };
        for &i in &queue {
            let s = &shared.prepared.subscribers[i];
            match shared.message_for(s) {
                Ok(_) => report.would_send += 1,
                // One unbuildable message is that recipient's problem, not the run's.
                Err(DeliverError::Build(e)) => {
                    report.failed += 1;
                    report.problems.push(RecipientReport {
                        email: s.email.to_string(),
                        outcome: Outcome::Failed,
                        detail: e.reason,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        report.variants = shared.variants.lock().map(|v| v.len()).unwrap_or(0);
        report.seconds = started.elapsed().as_secs_f64();
        return Ok(report);
    }

    if queue.is_empty() {
        report.seconds = started.elapsed().as_secs_f64();
        if journaled {
            write_report(&dir, &report)?;
        }
        return Ok(report);
    }

    // Preflight: one connection and a MAIL FROM before anything is sent, so a wrong host,
    // password, TLS mode or a relay that refuses our sender stops the run cleanly (exit 75 or
    // 2) instead of failing every recipient of the edition for good.
    if let TransportSpec::Smtp {
        endpoint,
        tls,
        password,
        timeout,
    } = &request.transport
    {
        match transport::connect(endpoint, tls, password.as_deref(), *timeout).await {
            Ok(mut c) => {
                let sender = prepared
                    .settings
                    .delivery
                    .return_path
                    .clone()
                    .unwrap_or_else(|| prepared.settings.newsletter.from.email.clone());
                use lettre::transport::smtp::commands::{Mail, Rset};
                let mail = tokio::time::timeout(
                    *timeout,
                    c.command(Mail::new(Some(sender.clone()), vec![])),
                )
                .await;
                match mail {
                    Err(_) => {
                        return Err(DeliverError::Unreachable(format!(
                            "{}:{} did not answer MAIL FROM:<{sender}> within {timeout:?}",
                            endpoint.host, endpoint.port
                        )));
                    }
                    Ok(Ok(_)) => {
                        let _ = c.command(Rset).await;
                        let _ = c.quit().await;
                    }
                    Ok(Err(e)) if e.is_permanent() => {
                        return Err(DeliverError::Setup(format!(
                            "{}:{} refuses the sender {sender}: {e}",
                            endpoint.host, endpoint.port
                        )));
                    }
                    Ok(Err(e)) => {
                        return Err(DeliverError::Unreachable(format!(
                            "{}:{} did not accept MAIL FROM:<{sender}>: {e}",
                            endpoint.host, endpoint.port
                        )));
                    }
                }
            }
            Err(Failure::Transient(e)) => return Err(DeliverError::Unreachable(e)),
            Err(Failure::Permanent(e)) => return Err(DeliverError::Setup(e)),
        }
    }
    if let TransportSpec::Outbox { dir } = &request.transport {
        std::fs::create_dir_all(dir)
            .map_err(io(format!("cannot create the outbox {}", dir.display())))?;
    }

    let journal = if journaled {
        std::fs::create_dir_all(&dir.dir)
            .map_err(io(format!("cannot create {}", dir.dir.display())))?;
        Some(
            Journal::open(&dir.journal())
                .map_err(io(format!("cannot open {}", dir.journal().display())))?,
        )
    } else {
        None
    };
    let pacer = (settings.delivery.max_per_second > 0).then(|| {
        Mutex::new(Pacer {
            next: tokio::time::Instant::now(),
            period: Duration::from_secs_f64(1.0 / f64::from(settings.delivery.max_per_second)),
        })
    });
    let workers = settings.delivery.concurrency.min(queue.len()).max(1);
    let retries = settings.delivery.retries;
    progress.start(queue.len());
    let shared = Arc::new(Shared {
        prepared,
        request,
        subject,
        variants: Mutex::new(HashMap::new()),
        journal,
        stop,
        report: Mutex::new(report),
        pacer,
    });
    let queue = Arc::new(Mutex::new(queue.into_iter()));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let shared = Arc::clone(&shared);
        let queue = Arc::clone(&queue);
        let progress = Arc::clone(&progress);
        tasks.spawn(async move {
            let mut transport = shared.request.transport.open();
            let mut done = 0usize;
            let (mut building, mut sending) = (Duration::ZERO, Duration::ZERO);
            let mut message_bytes = 0u64;
            loop {
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some(i) = next else { break };
                let s = &shared.prepared.subscribers[i];
                let t0 = Instant::now();
                let (envelope, bytes, id) = match shared.message_for(s) {
                    Ok(built) => built,
                    // A message that cannot be built fails that recipient for good (it would
                    // fail the same way on every rerun) and the run goes on.
                    Err(DeliverError::Build(e)) => {
                        let id = message::message_id(
                            &shared.prepared.settings,
                            &shared.request.edition,
                            &s.email.key(),
                        );
                        shared.record(s, Outcome::Failed, e.reason, id)?;
                        progress.advance();
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let t1 = Instant::now();
                building += t1 - t0;
                let mut attempt = 0u32;
                // Exponential backoff with jitter between in-run attempts (backon's schedule;
                // the loop is ours so that each attempt can reuse the worker's connection).
                let mut delays = backon::BackoffBuilder::build(
                    backon::ExponentialBuilder::default()
                        .with_min_delay(shared.request.retry_base)
                        .with_max_delay(shared.request.retry_base * 30)
                        .with_jitter()
                        .with_max_times(retries as usize),
                );
                let outcome = loop {
                    if let Some(p) = &shared.pacer {
                        // Take the next free slot of the global rate, then wait for it.
                        let slot = {
                            let mut pacer = p.lock().unwrap_or_else(|e| e.into_inner());
                            let slot = pacer.next.max(tokio::time::Instant::now());
                            pacer.next = slot + pacer.period;
                            slot
                        };
                        tokio::time::sleep_until(slot).await;
                    }
                    attempt += 1;
                    let t0 = Instant::now();
                    let result = transport.send(&envelope, &bytes).await;
                    sending += t0.elapsed();
                    match result {
                        Ok(reply) => break (Outcome::Delivered, reply),
                        Err(Failure::Permanent(e)) => break (Outcome::Failed, e),
                        Err(Failure::Transient(e)) => {
                            let delay = delays.next();
                            let Some(delay) = delay.filter(|_| !shared.stop.load(Ordering::SeqCst))
                            else {
                                break (Outcome::Deferred, e);
                            };
                            tracing::info!(
                                "{}: {e}; retrying (attempt {attempt} of {retries})",
                                s.email
                            );
                            sleep_unless_stopped(delay, &shared.stop).await;
                        }
                    }
                };
                if outcome.0 == Outcome::Delivered {
                    message_bytes += bytes.len() as u64;
                }
                drop(bytes);
                shared.record(s, outcome.0, outcome.1, id)?;
                progress.advance();
                done += 1;
            }
            transport.close().await;
            Ok::<_, DeliverError>((done, building, sending, message_bytes))
        });
    }
    let mut first_error = None;
    let (mut building, mut sending, mut message_bytes) = (Duration::ZERO, Duration::ZERO, 0);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok((_, b, s, n))) => {
                building += b;
                sending += s;
                message_bytes += n;
            }
            Ok(Err(e)) => {
                shared.stop.store(true, Ordering::SeqCst);
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error
                    .get_or_insert(DeliverError::Setup(format!("a send worker panicked: {e}")));
            }
        }
    }
    progress.finish();
    if let Some(e) = first_error {
        return Err(e);
    }
    let mut report = shared
        .report
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let left = queue.lock().map(|q| q.len()).unwrap_or(0);
    report.interrupted = shared.stop.load(Ordering::SeqCst) && left > 0;
    report.variants = shared.variants.lock().map(|v| v.len()).unwrap_or(0);
    report.seconds = started.elapsed().as_secs_f64();
    report.build_seconds = building.as_secs_f64();
    report.send_seconds = sending.as_secs_f64();
    report.message_bytes = message_bytes;
    if journaled {
        write_report(&dir, &report)?;
    }
    Ok(report)
}

/// Sleeps for `delay`, or less when a stop is asked for (SIGTERM must not wait out a backoff).
async fn sleep_unless_stopped(delay: Duration, stop: &AtomicBool) {
    let deadline = tokio::time::Instant::now() + delay;
    while !stop.load(Ordering::SeqCst) {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            break;
        }
        tokio::time::sleep((deadline - now).min(Duration::from_millis(50))).await;
    }
}

/// `report.json`: the last run's summary.
fn write_report(dir: &EditionDir, report: &Report) -> Result<(), DeliverError> {
    let json =
        serde_json::to_vec_pretty(report).map_err(|e| io("report")(std::io::Error::other(e)))?;
    std::fs::create_dir_all(&dir.dir)
        .map_err(io(format!("cannot create {}", dir.dir.display())))?;
    crate::fsutil::write_atomically(&dir.report(), &json)
        .map_err(io(format!("cannot write {}", dir.report().display())))
}

/// Ids of papers delivered (to at least one recipient) in other editions recent enough to
/// count: all earlier editions when `repeat_after_days` is 0, else those of the last N days.
pub fn previously_sent(
    state_dir: &std::path::Path,
    current: &EditionId,
    today: chrono::NaiveDate,
    repeat_after_days: u32,
) -> std::collections::HashSet<crate::paper::PaperId> {
    let mut ids = std::collections::HashSet::new();
    let Ok(entries) = std::fs::read_dir(state_dir.join("editions")) else {
        return ids;
    };
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Ok(id) = EditionId::parse(&name) else {
            continue;
        };
        if &id == current {
            continue;
        }
        if repeat_after_days > 0 {
            match id.date() {
                Some(d) if (today - d).num_days() < i64::from(repeat_after_days) => {}
                _ => continue,
            }
        }
        let dir = EditionDir::new(state_dir, &id);
        let delivered_any = journal::read(&dir.journal())
            .map(|s| s.last.values().any(|e| e.outcome == Outcome::Delivered))
            .unwrap_or(false);
        if !delivered_any {
            continue;
        }
        if let Ok(list) = crate::source::read_papers_file(&dir.papers()) {
            ids.extend(list.papers.into_iter().map(|p| p.id));
        }
    }
    ids
}

/// The frozen list `papers.json` of an edition, when its first send has started.
pub fn frozen_papers(
    dir: &EditionDir,
) -> Result<Option<Vec<crate::paper::Paper>>, crate::source::SourceError> {
    if !dir.papers().exists() {
        return Ok(None);
    }
    crate::source::read_papers_file(&dir.papers()).map(|l| Some(l.papers))
}

/// Freezes an edition's paper list at its first send.
pub fn freeze_papers(
    dir: &EditionDir,
    papers: &[crate::paper::Paper],
    date: Option<chrono::NaiveDate>,
) -> Result<(), DeliverError> {
    std::fs::create_dir_all(&dir.dir)
        .map_err(io(format!("cannot create {}", dir.dir.display())))?;
    let json = crate::source::to_normalized_json(papers, date);
    crate::fsutil::write_atomically(&dir.papers(), json.as_bytes())
        .map_err(io(format!("cannot write {}", dir.papers().display())))
}
