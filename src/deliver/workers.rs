//! The send loop: `delivery.concurrency` workers take recipients from one queue, build each
//! message from its variant (rendered and encoded once, shared), send it with in-run retries for
//! transient failures at the pace of `delivery.max_per_second`, and journal each outcome right
//! after the server's reply; a recipient the server refuses for good also counts as a hard
//! bounce (see [`super::refusals`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use tokio_util::sync::CancellationToken;

use super::refusals::Refusals;
use super::transport::{Failure, Label, Transport};
use super::{DeliverError, Prepared, Progress, SendRequest, lock, message, problem};
use crate::paper::Paper;
use crate::render::{Person, VariantSpec};
use crate::state::{EditionSections, Entry, Journal, Outcome, Report};
use crate::subscribers::{MailFormat, Subscriber};

/// What the workers share.
struct Shared {
    prepared: Prepared,
    request: SendRequest,
    subject: String,
    /// Each variant rendered and encoded once, shared by every subscriber who gets it.
    caches: Caches,
    journal: Option<Journal>,
    /// Cancelled on a stop from outside, or when a worker hits an error that ends the run.
    stop: CancellationToken,
    report: Mutex<Report>,
    pacer: Option<Mutex<Pacer>>,
    /// The paper list still to freeze before the first message goes out.
    unfrozen: Mutex<Option<Vec<Paper>>>,
    /// Whether `unfrozen` is done with (frozen now, or nothing to freeze): the fast path.
    frozen: AtomicBool,
    /// Where refusals count as bounces (a journaled run only: not a proof, not a dry run).
    refusals: Option<Refusals>,
}

/// How one message's delivery ended.
struct Delivery {
    outcome: Outcome,
    detail: String,
    /// The server refused the recipient for good.
    refused: bool,
}

/// `delivery.max_per_second`: the next free send slot, shared by all workers.
struct Pacer {
    next: tokio::time::Instant,
    period: Duration,
}

/// A message ready to go.
struct Built {
    envelope: Envelope,
    bytes: Vec<u8>,
    message_id: String,
}

/// One worker's totals.
#[derive(Default)]
struct Tally {
    building: Duration,
    sending: Duration,
    message_bytes: u64,
}

/// Dry run: builds every queued message (rendering and validating it), sends nothing, writes
/// nothing. A message that cannot be built is that recipient's problem, not the run's.
pub(super) fn dry_run(
    prepared: &Prepared,
    request: &SendRequest,
    subject: &str,
    queue: &[usize],
    report: &mut Report,
) -> Result<(), DeliverError> {
    let caches = Caches::new();
    for &i in queue {
        let s = &prepared.subscribers[i];
        let built = build(prepared, &caches, request, subject, s);
        match built {
            Ok(_) => report.would_send += 1,
            Err(DeliverError::Build(e)) => {
                report.failed += 1;
                report.problems.push(problem(s, Outcome::Failed, e.reason));
            }
            Err(e) => return Err(e),
        }
    }
    report.variants = lock(&caches.variants).len();
    Ok(())
}

/// Sends to every queued recipient; returns the report with this run's counts and times.
pub(super) async fn run(
    mut prepared: Prepared,
    request: SendRequest,
    subject: String,
    queue: Vec<usize>,
    report: Report,
    stop: CancellationToken,
    progress: Arc<dyn Progress>,
) -> Result<Report, DeliverError> {
    let journal = if request.journaled() {
        Some(prepared.files.open_journal()?)
    } else {
        None
    };
    let delivery = &prepared.settings.delivery;
    let pacer = (delivery.max_per_second > 0).then(|| {
        Mutex::new(Pacer {
            next: tokio::time::Instant::now(),
            period: Duration::from_secs_f64(1.0 / f64::from(delivery.max_per_second)),
        })
    });
    let workers = delivery.concurrency.min(queue.len()).max(1);
    progress.start(queue.len());
    let unfrozen = Mutex::new(prepared.unfrozen.take());
    let refusals = request
        .journaled()
        .then(|| Refusals::new(&prepared.settings));
    let shared = Arc::new(Shared {
        prepared,
        request,
        subject,
        caches: Caches::new(),
        journal,
        stop: stop.child_token(),
        report: Mutex::new(report),
        pacer,
        unfrozen,
        frozen: AtomicBool::new(false),
        refusals,
    });
    let queue = Arc::new(Mutex::new(queue.into_iter()));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (shared, queue, progress) = (shared.clone(), queue.clone(), progress.clone());
        tasks.spawn(async move { worker(&shared, &queue, progress.as_ref()).await });
    }
    let mut first_error = None;
    let mut total = Tally::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(t)) => {
                total.building += t.building;
                total.sending += t.sending;
                total.message_bytes += t.message_bytes;
            }
            Ok(Err(e)) => {
                shared.stop.cancel();
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(DeliverError::Worker(e.to_string()));
            }
        }
    }
    progress.finish();
    if let Some(refusals) = &shared.refusals {
        refusals.finish();
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let mut report = lock(&shared.report).clone();
    let left = lock(&queue).len();
    report.interrupted = shared.stop.is_cancelled() && left > 0;
    report.not_tried = left;
    report.variants = lock(&shared.caches.variants).len();
    report.build_seconds = total.building.as_secs_f64();
    report.send_seconds = total.sending.as_secs_f64();
    report.message_bytes = total.message_bytes;
    Ok(report)
}

/// One worker: takes recipients until the queue is empty or a stop comes.
async fn worker(
    shared: &Shared,
    queue: &Mutex<std::vec::IntoIter<usize>>,
    progress: &dyn Progress,
) -> Result<Tally, DeliverError> {
    let mut transport = shared.request.transport.open();
    let mut tally = Tally::default();
    while !shared.stop.is_cancelled() {
        let Some(i) = lock(queue).next() else { break };
        let s = &shared.prepared.subscribers[i];
        let t0 = Instant::now();
        let built = build(
            &shared.prepared,
            &shared.caches,
            &shared.request,
            &shared.subject,
            s,
        );
        let built = match built {
            Ok(built) => built,
            // A message that cannot be built fails that recipient for good (it would fail the
            // same way on every rerun) and the run goes on.
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
        tally.building += t0.elapsed();
        let t1 = Instant::now();
        let test_to = shared.request.test_to.as_ref().map(ToString::to_string);
        let label = Label {
            edition: shared.request.edition.as_str(),
            seq: i + 1,
            // A proof's file is named for where it went.
            address: test_to.as_deref().unwrap_or(s.email.as_str()),
            proof: test_to.is_some(),
        };
        let delivery = shared.deliver(&mut transport, label, &built).await?;
        tally.sending += t1.elapsed();
        if delivery.outcome == Outcome::Delivered {
            tally.message_bytes += built.bytes.len() as u64;
        }
        let refused = delivery.refused.then(|| delivery.detail.clone());
        shared.record(s, delivery.outcome, delivery.detail, built.message_id)?;
        if let Some(detail) = refused {
            shared.count_refusal(s, &detail);
        }
        progress.advance();
    }
    transport.close().await;
    Ok(tally)
}

/// The variants and personal parts a send shares.
pub(super) struct Caches {
    variants: Mutex<HashMap<VariantSpec, Arc<message::EncodedVariant>>>,
    personal: super::personal::Shared,
}

impl Caches {
    pub(super) fn new() -> Self {
        Self {
            variants: Mutex::new(HashMap::new()),
            personal: super::personal::Shared::default(),
        }
    }
}

/// The subscriber's variant, rendered and encoded on first use (outside the cache's lock, so
/// that workers build in parallel; two may render the same new variant once each).
fn variant_for(
    prepared: &Prepared,
    cache: &Mutex<HashMap<VariantSpec, Arc<message::EncodedVariant>>>,
    spec: &VariantSpec,
) -> Result<Arc<message::EncodedVariant>, DeliverError> {
    if let Some(v) = lock(cache).get(spec) {
        return Ok(Arc::clone(v));
    }
    let rendered = prepared.renderer.render_variant(
        &prepared.digest,
        spec,
        &prepared.edition,
        &prepared.settings.digest,
    )?;
    let v = Arc::new(message::EncodedVariant::new(&rendered));
    tracing::debug!(
        "rendered a variant: {}, {}, {}",
        match spec.topics.as_slice() {
            [] => "every section".to_owned(),
            topics => topics.join(", "),
        },
        match spec.cap {
            usize::MAX => "no cap".to_owned(),
            cap => format!("at most {cap} papers"),
        },
        if spec.text_only { "text" } else { "html" }
    );
    lock(cache).insert(spec.clone(), Arc::clone(&v));
    Ok(v)
}

/// Builds one subscriber's message: from their variant, or spliced for them when they have
/// personal fields.
fn build(
    prepared: &Prepared,
    caches: &Caches,
    request: &SendRequest,
    subject: &str,
    s: &Subscriber,
) -> Result<Built, DeliverError> {
    let settings = &prepared.settings;
    let spec = VariantSpec::new(
        &s.topics,
        &settings.section_names(),
        s.max_papers.unwrap_or(usize::MAX),
        s.format == MailFormat::Text,
    );
    let url = request.key.unsubscribe_url(
        &settings.newsletter.base_url,
        &settings.newsletter.list_id,
        &s.email,
    );
    let preferences = request.key.preferences_url(
        &settings.newsletter.base_url,
        &settings.newsletter.list_id,
        &s.email,
    );
    let person = Person {
        name: s.name.as_deref(),
        email: s.email.as_str(),
        unsubscribe_url: &url,
        preferences_url: &preferences,
    };
    let meta = message::MessageMeta {
        subject,
        unsubscribe_url: &url,
        date: std::time::SystemTime::now(),
    };
    let bytes = if s.profile.is_personal() {
        let shared = &caches.personal;
        super::personal::build(prepared, shared, &spec, s, &person, &meta, &request.edition)?
    } else {
        let variant = variant_for(prepared, &caches.variants, &spec)?;
        variant.build(settings, &request.edition, s, &person, &meta)?
    };
    let verp = request.verp.as_ref().map(|key| (key, &request.edition));
    let envelope = match &request.test_to {
        // A proof's bounce must not count against the subscriber whose message it is: no tag.
        Some(to) => Envelope::new(Some(message::sender(settings, s, None)), vec![to.clone()])
            .map_err(|e| DeliverError::Setup(e.to_string()))?,
        None => message::envelope(settings, s, verp)?,
    };
    let message_id = message::message_id(settings, &request.edition, &s.email.key());
    Ok(Built {
        envelope,
        bytes,
        message_id,
    })
}

impl Shared {
    /// Freezes the edition's paper list, once, before the first message is handed to the
    /// transport (the other workers wait for it): from then on every rerun sends the same list.
    fn freeze(&self) -> Result<(), DeliverError> {
        if self.frozen.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut unfrozen = lock(&self.unfrozen);
        if let Some(papers) = unfrozen.as_ref() {
            let files = &self.prepared.files;
            // The sections its email has, for the web archive; first, so that a crash between
            // the two leaves the edition unfrozen and the next run records its own.
            files.write_sections(&EditionSections::of(&self.prepared.digest))?;
            files.freeze(papers, self.request.edition.date())?;
            tracing::info!(
                "froze edition {}'s paper list ({} papers) in {}",
                self.request.edition,
                papers.len(),
                files.papers_path().display()
            );
            *unfrozen = None;
        }
        self.frozen.store(true, Ordering::Release);
        Ok(())
    }

    /// Sends one message, retrying transient failures with exponential backoff and jitter
    /// (backon's schedule; the loop is ours so that each attempt reuses the worker's
    /// connection). A stop is checked before every attempt, the first included; the edition's
    /// list is frozen before the first attempt of the run. Errors only when the list cannot be
    /// frozen.
    async fn deliver(
        &self,
        transport: &mut Transport,
        label: Label<'_>,
        built: &Built,
    ) -> Result<Delivery, DeliverError> {
        let retries = self.prepared.settings.delivery.retries;
        let base = self.request.retry_base;
        let mut delays = backon::BackoffBuilder::build(
            backon::ExponentialBuilder::default()
                .with_min_delay(base)
                .with_max_delay(base * 30)
                .with_jitter()
                .with_max_times(retries as usize),
        );
        let mut attempt = 0u32;
        let mut last = "not sent: the run was stopped first".to_owned();
        let ended = |outcome, detail, refused| {
            Ok(Delivery {
                outcome,
                detail,
                refused,
            })
        };
        loop {
            self.wait_for_slot().await;
            if self.stop.is_cancelled() {
                return ended(Outcome::Deferred, last, false);
            }
            self.freeze()?;
            attempt += 1;
            last = match transport.send(&built.envelope, &built.bytes, label).await {
                Ok(reply) => {
                    tracing::debug!("{}: {reply}", label.address);
                    return ended(Outcome::Delivered, reply, false);
                }
                Err(Failure::Permanent(e)) => return ended(Outcome::Failed, e, false),
                Err(Failure::Refused(e)) => return ended(Outcome::Failed, e, true),
                Err(Failure::Transient(e)) => e,
            };
            let Some(delay) = delays.next().filter(|_| !self.stop.is_cancelled()) else {
                return ended(Outcome::Deferred, last, false);
            };
            tracing::info!(
                "{}: {last}; retrying (attempt {attempt} of {retries})",
                label.address
            );
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.stop.cancelled() => {}
            }
        }
    }

    /// Takes the next free slot of the global rate, then waits for it.
    async fn wait_for_slot(&self) {
        let Some(p) = &self.pacer else { return };
        let slot = {
            let mut pacer = lock(p);
            let slot = pacer.next.max(tokio::time::Instant::now());
            pacer.next = slot + pacer.period;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }

    /// Counts a refusal as a hard bounce; an address that reaches the threshold is named in
    /// the report.
    fn count_refusal(&self, s: &Subscriber, detail: &str) {
        let Some(refusals) = &self.refusals else {
            return;
        };
        let now = chrono::Utc::now();
        if let Some(retired) = refusals.record(s, &self.request.edition, detail, now) {
            lock(&self.report).retired.push(retired.to_string());
        }
    }

    /// Journals one outcome (one unbuffered write) and counts it in the report.
    fn record(
        &self,
        s: &Subscriber,
        outcome: Outcome,
        detail: String,
        message_id: String,
    ) -> Result<(), DeliverError> {
        if let Some(j) = &self.journal {
            let entry = Entry {
                at: chrono::Utc::now(),
                email: s.email.key(),
                outcome,
                detail: detail.clone(),
                message_id,
            };
            j.record(&entry).map_err(super::io(format!(
                "cannot append to {}",
                j.path().display()
            )))?;
        }
        match outcome {
            Outcome::Delivered => {}
            Outcome::Failed => tracing::info!("{}: failed for good: {detail}", s.email),
            Outcome::Deferred => tracing::info!("{}: deferred to the next run: {detail}", s.email),
        }
        let mut r = lock(&self.report);
        match outcome {
            Outcome::Delivered => r.delivered += 1,
            Outcome::Failed => r.failed += 1,
            Outcome::Deferred => r.deferred += 1,
        }
        if outcome != Outcome::Delivered {
            let mut line = problem(s, outcome, detail);
            if let Some(to) = &self.request.test_to {
                // A proof's problem is its test address's.
                line.email = to.to_string();
            }
            r.problems.push(line);
        }
        Ok(())
    }
}
