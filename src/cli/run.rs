//! `paperwire run`: the scheduler daemon. It holds `state.dir/send.lock` for its whole life,
//! sends each edition at the `[schedule] cron` time through the same
//! [`run_edition`] as `paperwire send`, retries deferred recipients at growing intervals,
//! catches up on an edition missed while it was down, and stops cleanly on SIGTERM/SIGINT.
//! `run --once` does the run that is due now, if any, and exits with its code (systemd timers).
//!
//! The timing decisions are pure functions in [`paperwire::schedule`]; this file is the loop
//! around them: sleeping (in bounded chunks, re-reading the wall clock, so a suspended machine
//! or a clock jump does not oversleep), logging the next run in plain words on stderr, and
//! the signal handling.
//!
//! Environment for tests only: `PAPERWIRE_TEST_NOW` (RFC 3339) starts the scheduler's clock at
//! that instant and `PAPERWIRE_TEST_CLOCK_RATE` makes it run that many times faster than real
//! time (the sending itself is unaffected); `PAPERWIRE_RETRY_INTERVAL_MS` replaces the first
//! 5-minute wait before deferred recipients are retried; `PAPERWIRE_RETRY_BASE_MS` shortens
//! the in-run backoff as for `send`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use paperwire::config::Settings;
use paperwire::deliver::edition::{EditionOutcome, EditionRequest, SendLock, run_edition};
use paperwire::deliver::{DeliverError, Silent};
use paperwire::edition::EditionId;
use paperwire::exit::{Classify, Exit};
use paperwire::schedule::{
    Clock, EditionState, RetryPolicy, Schedule, ShiftedClock, SystemClock, describe_span,
    due_on_start, edition_state,
};
use tokio::sync::watch;

use super::common;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The config (default: $PAPERWIRE_CONFIG, else ./paperwire.toml). Needs a [schedule]
    /// table.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Do the run that is due now (a missed edition younger than schedule.catch_up, or one
    /// with deferred recipients), then exit with its exit code; nothing due exits 0. For
    /// systemd timers.
    #[arg(long)]
    once: bool,
}

/// The longest one sleep lasts before the wall clock is read again.
const SLEEP_CHUNK: Duration = Duration::from_secs(20);
/// How long a stop waits for messages in flight before giving up on them.
const STOP_GRACE: Duration = Duration::from_secs(5);

pub fn run(args: RunArgs) -> anyhow::Result<Exit> {
    let settings = common::load_settings(args.config.as_deref(), false)?;
    let Some(config) = settings.schedule.clone() else {
        anyhow::bail!(
            "{} has no [schedule] table: `paperwire run` needs one, like\n\n[schedule]\ncron     = \"0 7 * * 1-5\"\ncatch_up = \"6h\"\n\n(or run `paperwire send` from cron instead)",
            settings.path.display()
        );
    };
    let schedule = Schedule::parse(&config.cron, settings.newsletter.timezone)?;
    let clock = clock_from_env()?;
    let _lock = SendLock::acquire(&settings.state_dir)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let daemon = Daemon {
        catch_up: config.catch_up,
        retry_deadline: settings.delivery.retry_deadline,
        settings,
        schedule,
        clock,
        stop: Arc::new(AtomicBool::new(false)),
        stopped: stop_rx,
        _stop_tx: Arc::clone(&stop_tx),
        retries: RetryPolicy::new(common::env_millis(
            "PAPERWIRE_RETRY_INTERVAL_MS",
            RetryPolicy::DEFAULT_BASE,
        )),
        retry_base: common::env_millis("PAPERWIRE_RETRY_BASE_MS", Duration::from_secs(2)),
    };
    let exit = runtime.block_on(async {
        let stop = Arc::clone(&daemon.stop);
        tokio::spawn(async move {
            common::wait_for_signal().await;
            eprintln!("paperwire: stopping: no new messages; letting those in flight finish");
            stop.store(true, Ordering::SeqCst);
            let _ = stop_tx.send(true);
        });
        if args.once {
            daemon.once().await
        } else {
            daemon.forever().await
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    exit
}

/// The scheduler's clock: the system's, or a shifted one for tests.
fn clock_from_env() -> anyhow::Result<Arc<dyn Clock>> {
    let Ok(now) = std::env::var("PAPERWIRE_TEST_NOW") else {
        return Ok(Arc::new(SystemClock));
    };
    let rate = std::env::var("PAPERWIRE_TEST_CLOCK_RATE").ok();
    let clock = ShiftedClock::from_env_values(&now, rate.as_deref())?;
    eprintln!(
        "paperwire: PAPERWIRE_TEST_NOW is set: the scheduler's clock starts at {now} (for tests only)"
    );
    Ok(Arc::new(clock))
}

struct Daemon {
    settings: Settings,
    schedule: Schedule,
    catch_up: Duration,
    retry_deadline: Duration,
    clock: Arc<dyn Clock>,
    /// Set on SIGTERM/SIGINT; `run_edition` starts no new message once it is.
    stop: Arc<AtomicBool>,
    /// Wakes sleeps and waits when the stop comes.
    stopped: watch::Receiver<bool>,
    _stop_tx: Arc<watch::Sender<bool>>,
    /// When deferred recipients are retried.
    retries: RetryPolicy,
    /// The in-run backoff base.
    retry_base: Duration,
}

/// An edition the daemon is working on.
struct Pending {
    scheduled: DateTime<Utc>,
    id: EditionId,
    /// When to run it (again).
    next_try: DateTime<Utc>,
    /// Retries of deferred recipients stop here (set at its first run, or from the scheduled
    /// time for an edition resumed after a restart).
    deadline: Option<DateTime<Utc>>,
    /// Runs so far in this process.
    runs: u32,
}

/// How one run of an edition ended.
enum Ran {
    Finished(Result<EditionOutcome, DeliverError>),
    /// Stopped, and messages were still in flight after the grace period.
    Abandoned,
}

impl Daemon {
    /// The long-running loop. Returns on a stop (exit 0), or with an error when the schedule
    /// stops making sense.
    async fn forever(self) -> anyhow::Result<Exit> {
        let start = self.clock.now();
        // Firings at or before `cursor` are handled (or deliberately skipped): an edition is
        // never started twice by one daemon, whatever the clock does.
        let mut cursor = start;
        let mut pending = self.due_at(start)?;
        if let Some(p) = &pending {
            eprintln!(
                "paperwire: edition {} was due {} ({} ago) and is not complete: sending it now",
                p.id,
                self.schedule.describe(p.scheduled),
                describe_span(start - p.scheduled)
            );
        }
        loop {
            if self.stopping() {
                return Ok(Exit::Done);
            }
            let next_edition = self.schedule.next_after(cursor)?;
            let retry_first = pending
                .as_ref()
                .filter(|p| p.next_try < next_edition)
                .map(|p| p.next_try);
            let now = self.clock.now();
            let when = match retry_first {
                Some(at) => {
                    if let Some(p) = pending.as_ref().filter(|p| p.runs > 0) {
                        eprintln!(
                            "paperwire: retrying edition {} at {} (in {})",
                            p.id,
                            self.schedule.describe(at),
                            describe_span(at - now)
                        );
                    }
                    at
                }
                None => {
                    eprintln!(
                        "paperwire: next edition {} at {} (in {})",
                        self.schedule.edition_id(next_edition),
                        self.schedule.describe(next_edition),
                        describe_span(next_edition - now)
                    );
                    next_edition
                }
            };
            if !self.sleep_until(when).await {
                return Ok(Exit::Done);
            }
            if retry_first.is_none() {
                // Slept through several firings (a suspended machine): the latest one counts.
                let now = self.clock.now();
                let latest = self
                    .schedule
                    .last_at_or_before(now)?
                    .map_or(next_edition, |l| l.max(next_edition));
                cursor = latest;
                let id = self.schedule.edition_id(latest);
                if let Some(old) = pending.take() {
                    eprintln!(
                        "paperwire: edition {}: no more retries, edition {id} is due",
                        old.id
                    );
                }
                // Waking a little late is normal; only a firing missed by more than catch_up
                // (and a minute) is skipped, so `catch_up = "0s"` still sends on time.
                let late = now - latest;
                let allowed = self.catch_up.max(Duration::from_secs(60));
                if late > TimeDelta::from_std(allowed).unwrap_or(TimeDelta::MAX) {
                    eprintln!(
                        "paperwire: edition {id} was due {}, {} ago, longer than schedule.catch_up (was the machine asleep?): skipping it",
                        self.schedule.describe(latest),
                        describe_span(late)
                    );
                    continue;
                }
                pending = Some(Pending {
                    scheduled: latest,
                    id,
                    next_try: now,
                    deadline: None,
                    runs: 0,
                });
            }
            let Some(p) = pending.as_mut() else { continue };
            let retry = match self.run_pending(p).await {
                Ran::Abandoned => return Ok(Exit::Done),
                Ran::Finished(result) => self.log_result(&p.id, result),
            };
            if self.stopping() {
                return Ok(Exit::Done);
            }
            if !retry {
                pending = None;
                continue;
            }
            let now = self.clock.now();
            let deadline = p.deadline.unwrap_or(now);
            let next_edition = self.schedule.next_after(cursor)?;
            match self.retries.next_retry(p.runs, now, deadline, next_edition) {
                Some(at) => p.next_try = at,
                None => {
                    eprintln!(
                        "paperwire: edition {}: no more retries (delivery.retry_deadline reached, or the next edition comes first); the journal keeps who is left",
                        p.id
                    );
                    pending = None;
                }
            }
        }
    }

    /// `run --once`: the due run, if any, and its exit code.
    async fn once(self) -> anyhow::Result<Exit> {
        let now = self.clock.now();
        let Some(mut p) = self.due_at(now)? else {
            let next = self.schedule.next_after(now)?;
            eprintln!(
                "paperwire: nothing due; next edition {} at {}",
                self.schedule.edition_id(next),
                self.schedule.describe(next)
            );
            return Ok(Exit::Done);
        };
        let outcome = match self.run_pending(&mut p).await {
            Ran::Abandoned => return Ok(Exit::TryLater),
            Ran::Finished(r) => r?,
        };
        match outcome {
            EditionOutcome::Sent(report) => {
                if !report.all_ok() || std::io::stdout().is_terminal() {
                    println!("{}", report.summary());
                }
                Ok(report.exit())
            }
            EditionOutcome::NothingToSend(why) => {
                eprintln!("paperwire: {why}: nothing sent");
                Ok(Exit::Done)
            }
        }
    }

    /// The edition due at `now` on start: the last scheduled one, when it is not complete and
    /// young enough (see [`due_on_start`]).
    fn due_at(&self, now: DateTime<Utc>) -> anyhow::Result<Option<Pending>> {
        let Some(last) = self.schedule.last_at_or_before(now)? else {
            return Ok(None);
        };
        let id = self.schedule.edition_id(last);
        let state = edition_state(&self.settings.state_dir, &id);
        if !due_on_start(last, now, state, self.catch_up, self.retry_deadline) {
            return Ok(None);
        }
        // A resumed edition's retries are counted from its scheduled time.
        let deadline = (state == EditionState::Incomplete)
            .then(|| last + TimeDelta::from_std(self.retry_deadline).unwrap_or(TimeDelta::MAX));
        Ok(Some(Pending {
            scheduled: last,
            id,
            next_try: now,
            deadline,
            runs: 0,
        }))
    }

    /// Runs the edition once; on a stop, waits a bounded time for messages in flight.
    async fn run_pending(&self, p: &mut Pending) -> Ran {
        p.runs += 1;
        if p.deadline.is_none() {
            let first_run = self.clock.now();
            p.deadline = Some(
                first_run + TimeDelta::from_std(self.retry_deadline).unwrap_or(TimeDelta::MAX),
            );
        }
        let request = EditionRequest {
            edition: p.id.clone(),
            today: self.schedule.local_date(p.scheduled),
            papers_file: None,
            dry_run: false,
            only: Vec::new(),
            test_to: None,
            transport: None,
            retry_base: self.retry_base,
        };
        let run = run_edition(
            &self.settings,
            request,
            Arc::clone(&self.stop),
            Arc::new(Silent),
        );
        tokio::pin!(run);
        let mut stopped = self.stopped.clone();
        tokio::select! {
            result = &mut run => Ran::Finished(result),
            Ok(_) = stopped.wait_for(|s| *s) => {
                match tokio::time::timeout(STOP_GRACE, &mut run).await {
                    Ok(result) => Ran::Finished(result),
                    Err(_) => {
                        eprintln!(
                            "paperwire: edition {}: messages still in flight after {} s were abandoned (a restart sends them again)",
                            p.id,
                            STOP_GRACE.as_secs()
                        );
                        Ran::Abandoned
                    }
                }
            }
        }
    }

    /// Logs how a run ended; whether the edition should be run again later (deferred
    /// recipients, or a temporary failure such as an unreachable server).
    fn log_result(&self, id: &EditionId, result: Result<EditionOutcome, DeliverError>) -> bool {
        match result {
            Ok(EditionOutcome::Sent(report)) => {
                eprintln!("paperwire: {}", report.summary());
                report.deferred > 0 && !report.interrupted
            }
            Ok(EditionOutcome::NothingToSend(why)) => {
                eprintln!("paperwire: edition {id}: {why}: nothing sent");
                false
            }
            Err(e) => {
                let again = e.exit() == Exit::TryLater;
                eprintln!(
                    "paperwire: edition {id}: error: {}{}",
                    super::cause_chain(&anyhow::Error::from(e)),
                    if again { "" } else { " (not retried)" }
                );
                again
            }
        }
    }

    /// Sleeps until `when` on the scheduler's clock, in chunks, re-reading the clock after
    /// each; `false` when a stop came first.
    async fn sleep_until(&self, when: DateTime<Utc>) -> bool {
        let mut stopped = self.stopped.clone();
        loop {
            if self.stopping() {
                return false;
            }
            let now = self.clock.now();
            if now >= when {
                return true;
            }
            let left = (when - now).to_std().unwrap_or_default();
            let nap = self
                .clock
                .real_span(left)
                .clamp(Duration::from_millis(1), SLEEP_CHUNK);
            tokio::select! {
                () = tokio::time::sleep(nap) => {}
                Ok(_) = stopped.wait_for(|s| *s) => return false,
            }
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}
