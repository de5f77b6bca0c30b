//! Delivery: one personalized email per active subscriber, at most one repeat per crash, and a
//! report that says what happened.
//!
//! The journal (see [`crate::state`]) records each recipient's outcome right after the server's
//! reply, and a rerun skips those already delivered (and those that failed permanently).
//! Rendering happens once per variant (the topics, cap and format a group of subscribers share),
//! and so is the encoding of its bodies ([`message::EncodedVariant`]); each message only fills in
//! the per-person strings (headers through lettre's builder, and the few body lines that hold a
//! slot).
//!
//! - `preflight`: one connection and a MAIL FROM before anything is sent;
//! - `workers`: the send loop, `delivery.concurrency` workers with in-run retries and pacing;
//! - `refusals`: recipients a server refuses for good count as hard bounces;
//! - [`message`]: building one message; [`transport`]: SMTP, outbox and sendmail;
//! - [`notice`]: one-off messages outside an edition (the signup confirmation).

mod key;
pub mod message;
pub mod notice;
mod personal;
mod preflight;
pub mod qp;
mod refusals;
pub mod transport;
mod workers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::bounce::verp::VerpKey;
use crate::config::Settings;
use crate::digest::Digest;
use crate::digest::personal::EditionIndex;
use crate::edition::EditionId;
use crate::exit::Temporary;
use crate::paper::Paper;
use crate::render::{EditionInfo, Renderer};
use crate::state::{
    EditionFiles, JournalState, Outcome, PassOver, PassedOver, Proof, RecipientReport, Report,
    StateError,
};
use crate::subscribers::Subscriber;
pub use key::SigningKey;
use transport::TransportSpec;

/// Why a send could not run at all (per-recipient failures are in the [`Report`]).
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the SMTP server is unreachable, nothing was sent: {message}")]
    Unreachable {
        message: String,
        #[source]
        later: Temporary,
    },
    #[error("the SMTP setup is wrong, nothing was sent: {0}")]
    Setup(String),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Build(#[from] message::BuildError),
    #[error("a send worker stopped unexpectedly: {0}")]
    Worker(String),
}

impl DeliverError {
    fn unreachable(message: impl Into<String>) -> Self {
        Self::Unreachable {
            message: message.into(),
            later: Temporary,
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
    /// The key of the unsubscribe tokens.
    pub key: SigningKey,
    /// With `bounce.verp`: the key that tags each message's envelope sender.
    pub verp: Option<VerpKey>,
    /// Base of the in-run retry backoff.
    pub retry_base: Duration,
}

impl SendRequest {
    /// Whether this run writes the journal and the report (a dry run and a proof do not).
    fn journaled(&self) -> bool {
        !self.dry_run && self.test_to.is_none()
    }
}

/// Everything the send loop needs: the edition's digest, renderer and subscribers.
pub struct Prepared {
    pub settings: Settings,
    pub edition: EditionInfo,
    pub digest: Digest,
    pub subscribers: Vec<Subscriber>,
    pub renderer: Renderer,
    /// The edition indexed for the readers' own rankings (the "For you" block, mutes).
    pub index: EditionIndex,
    /// Where the edition's journal and report live.
    pub files: EditionFiles,
    /// The edition's paper list, to freeze right before the first message is handed to the
    /// transport; `None` when it is frozen already (or the run writes no state). A run that
    /// ends before anything went out leaves no frozen list behind.
    pub unfrozen: Option<Vec<Paper>>,
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

/// Runs the send: every recipient not yet delivered in this edition, `delivery.concurrency` at a
/// time, each with in-run retries for transient failures. A cancelled `stop` starts no new
/// message (or attempt) and lets those in flight finish. Returns the report; errors only for
/// what stops the whole run before anything is sent (or a journal that cannot be written).
pub async fn send(
    prepared: Prepared,
    request: SendRequest,
    stop: CancellationToken,
    progress: Arc<dyn Progress>,
) -> Result<Report, DeliverError> {
    let started = Instant::now();
    let journal = if request.test_to.is_some() {
        JournalState::default()
    } else {
        prepared.files.read_journal()?
    };
    let (mut report, queue) = plan(&prepared, &request, &journal);
    let subject = crate::render::render_subject(
        &prepared.settings.newsletter.subject,
        &prepared.edition,
        prepared.digest.paper_count(),
    )?;
    tracing::info!(
        "{} to send now ({} already delivered, {} failed in an earlier run)",
        queue.len(),
        report.already_delivered,
        report.failed_earlier
    );
    if request.dry_run {
        workers::dry_run(&prepared, &request, &subject, &queue, &mut report)?;
        log_variants(&report);
    } else if let Some(&first) = queue.first() {
        let verp = request.verp.as_ref().map(|key| (key, &request.edition));
        let sender = message::sender(&prepared.settings, &prepared.subscribers[first], verp);
        preflight::check(&request.transport, &sender).await?;
        let files = prepared.files.clone();
        let journaled = request.journaled();
        report = workers::run(prepared, request, subject, queue, report, stop, progress).await?;
        log_variants(&report);
        report.seconds = started.elapsed().as_secs_f64();
        if journaled {
            files.write_report(&report)?;
        }
        return Ok(report);
    }
    report.seconds = started.elapsed().as_secs_f64();
    if request.journaled() {
        prepared.files.write_report(&report)?;
    }
    Ok(report)
}

fn log_variants(report: &Report) {
    tracing::info!(
        "{} variant(s) rendered: subscribers with the same topics, cap and format share one",
        report.variants
    );
}

/// The report's starting counts and the queue: indices of the subscribers to send to now.
fn plan(
    prepared: &Prepared,
    request: &SendRequest,
    journal: &JournalState,
) -> (Report, Vec<usize>) {
    let mut report = Report {
        edition: request.edition.to_string(),
        dry_run: request.dry_run,
        partial: !request.only.is_empty(),
        papers: prepared.digest.paper_count(),
        ..Report::default()
    };
    let mut queue = Vec::new();
    let chosen = !request.only.is_empty();
    if let Some(to) = &request.test_to {
        report.proof = prepared
            .subscribers
            .iter()
            .find(|s| request.only.contains(&s.email.key()))
            .map(|s| Proof {
                of: s.email.to_string(),
                to: to.to_string(),
            });
    }
    let pass_over = |report: &mut Report, s: &Subscriber, why| {
        if chosen {
            report.passed_over.push(PassedOver {
                email: s.email.to_string(),
                why,
            });
        }
    };
    for (i, s) in prepared.subscribers.iter().enumerate() {
        if chosen && !request.only.contains(&s.email.key()) {
            continue;
        }
        let earlier = journal.last.get(&s.email.key());
        if !s.is_active() {
            if let Some(failed) = retired_failure(s, earlier) {
                // Retiring the address does not fix it: its failure is still named, and
                // still counts, as every other earlier failure does.
                report.recipients += 1;
                report.failed_earlier += 1;
                report.problems.push(failed);
                continue;
            }
            let why = if s.unsubscribed_at.is_some() {
                PassOver::Unsubscribed
            } else if s.bounced_at.is_some() {
                PassOver::Bounced
            } else {
                PassOver::Paused
            };
            pass_over(&mut report, s, why);
            continue;
        }
        report.recipients += 1;
        match earlier.map(|e| e.outcome) {
            Some(Outcome::Delivered) => report.already_delivered += 1,
            Some(Outcome::Failed) => {
                // Named in every run's summary and report until someone fixes the address
                // (or removes it): a crash or a rerun must not make a failure anonymous.
                report.failed_earlier += 1;
                let detail = earlier.map(|e| e.detail.clone()).unwrap_or_default();
                report.problems.push(RecipientReport {
                    earlier: true,
                    ..problem(s, Outcome::Failed, detail)
                });
            }
            // No email without papers: an empty digest is no news. Not journaled, so the
            // edition is not "delivered" to them; a rerun of the frozen list finds the same.
            _ if prepared.digest.papers_for(&s.topics) == 0 => {
                report.nothing_in_topics += 1;
                pass_over(&mut report, s, PassOver::NothingInTopics);
            }
            _ => queue.push(i),
        }
    }
    (report, queue)
}

/// The earlier permanent failure of an address that was retired since (it bounced, it did not
/// unsubscribe): a problem line that says so.
fn retired_failure(
    s: &Subscriber,
    earlier: Option<&crate::state::journal::Entry>,
) -> Option<RecipientReport> {
    let earlier = earlier.filter(|e| e.outcome == Outcome::Failed)?;
    if s.bounced_at.is_none() || s.unsubscribed_at.is_some() {
        return None;
    }
    Some(RecipientReport {
        earlier: true,
        retired: true,
        ..problem(s, Outcome::Failed, earlier.detail.clone())
    })
}

/// A recipient's problem line in the report.
fn problem(s: &Subscriber, outcome: Outcome, detail: String) -> RecipientReport {
    RecipientReport {
        email: s.email.to_string(),
        outcome,
        detail,
        earlier: false,
        retired: false,
    }
}

/// Locks a mutex, taking over a poisoned one (a panicked worker must not stop the others).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
