//! The scheduler daemon behind `paperwire run`: it sends each edition at the `[schedule] cron`
//! time through the same [`run_edition`] as `paperwire send`, retries deferred recipients at
//! growing intervals, catches up on an edition missed while it was down, and stops cleanly when
//! its cancellation token is cancelled. [`Daemon::once`] does the run that is due now, if any
//! (systemd timers).
//!
//! The timing decisions are pure functions in [`crate::schedule`]; this is the loop around them:
//! sleeping (in bounded chunks, re-reading the clock, so a suspended machine or a clock jump
//! does not oversleep) and saying what it does in plain words through a [`Say`] callback.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::deliver::Silent;
use crate::edition::{EditionId, EditionProgress};
use crate::exit::Exit;
use crate::pipeline::{EditionOutcome, EditionRequest, RunError, run_edition};
use crate::schedule::{Clock, RetryPolicy, Schedule, ScheduleError, describe_span, due_on_start};
use crate::state::StateDir;

/// The longest one sleep lasts before the clock is read again.
const SLEEP_CHUNK: Duration = Duration::from_secs(20);
/// How long a stop waits for messages in flight before giving up on them.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Where the daemon's lines go (stderr, for `paperwire run`).
pub type Say = Arc<dyn Fn(&str) + Send + Sync>;

/// The daemon: the config, its schedule, and how it keeps time.
pub struct Daemon {
    settings: Settings,
    schedule: Schedule,
    catch_up: Duration,
    retry_deadline: Duration,
    clock: Arc<dyn Clock>,
    /// When deferred recipients are retried.
    retries: RetryPolicy,
    /// The in-run backoff base.
    retry_base: Duration,
    say: Say,
}

/// How [`Daemon::once`] ended.
#[derive(Debug)]
pub enum Once {
    /// Nothing was due; when the next edition is.
    NothingDue,
    Ran(EditionOutcome),
    /// Stopped while messages were in flight; they were abandoned.
    Abandoned,
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
    Finished(Result<EditionOutcome, RunError>),
    /// Stopped, and messages were still in flight after the grace period.
    Abandoned,
}

impl Daemon {
    /// A daemon for `settings`, which must have a `[schedule]` (`None` otherwise).
    pub fn new(
        settings: Settings,
        clock: Arc<dyn Clock>,
        retries: RetryPolicy,
        retry_base: Duration,
        say: Say,
    ) -> Option<Self> {
        let config = settings.schedule.clone()?;
        Some(Self {
            schedule: config.schedule,
            catch_up: config.catch_up,
            retry_deadline: settings.delivery.retry_deadline,
            settings,
            clock,
            retries,
            retry_base,
            say,
        })
    }

    /// The long-running loop: returns when `stop` is cancelled, or with an error when the
    /// schedule stops making sense.
    pub async fn forever(&self, stop: &CancellationToken) -> Result<(), ScheduleError> {
        let start = self.clock.now();
        // Firings at or before `cursor` are handled (or deliberately skipped): an edition is
        // never started twice by one daemon, whatever the clock does.
        let mut cursor = start;
        let mut pending = self.due_at(start)?;
        if let Some(p) = &pending {
            (self.say)(&format!(
                "edition {} was due {} ({} ago) and is not complete: sending it now",
                p.id,
                self.schedule.describe(p.scheduled),
                describe_span(start - p.scheduled)
            ));
        }
        while !stop.is_cancelled() {
            let next_edition = self.schedule.next_after(cursor)?;
            let retry_at = pending
                .as_ref()
                .map(|p| p.next_try)
                .filter(|at| *at < next_edition);
            self.announce(pending.as_ref(), retry_at, next_edition);
            if !self
                .sleep_until(retry_at.unwrap_or(next_edition), stop)
                .await
            {
                return Ok(());
            }
            if retry_at.is_none() {
                let (latest, fresh) = self.take_firing(next_edition, pending.take())?;
                cursor = latest;
                pending = fresh;
            }
            let Some(p) = pending.as_mut() else { continue };
            let retry = match self.run_pending(p, stop).await {
                Ran::Abandoned => return Ok(()),
                Ran::Finished(result) => self.log_result(&p.id, result),
            };
            if stop.is_cancelled() {
                return Ok(());
            }
            if !retry || !self.schedule_retry(p, cursor)? {
                pending = None;
            }
        }
        Ok(())
    }

    /// Says what the loop waits for next.
    fn announce(
        &self,
        pending: Option<&Pending>,
        retry_at: Option<DateTime<Utc>>,
        next: DateTime<Utc>,
    ) {
        let now = self.clock.now();
        match (retry_at, pending) {
            (Some(at), Some(p)) if p.runs > 0 => (self.say)(&format!(
                "retrying edition {} at {} (in {})",
                p.id,
                self.schedule.describe(at),
                describe_span(at - now)
            )),
            (Some(_), _) => {}
            (None, _) => (self.say)(&format!(
                "next edition {} at {} (in {})",
                self.schedule.edition_id(next),
                self.schedule.describe(next),
                describe_span(next - now)
            )),
        }
    }

    /// Woke for a scheduled firing: the firing that counts (the latest, when several passed
    /// while the machine slept) and the edition to send now, `None` when it is too late to
    /// catch up.
    fn take_firing(
        &self,
        next_edition: DateTime<Utc>,
        old: Option<Pending>,
    ) -> Result<(DateTime<Utc>, Option<Pending>), ScheduleError> {
        let now = self.clock.now();
        let latest = self
            .schedule
            .last_at_or_before(now)?
            .map_or(next_edition, |l| l.max(next_edition));
        let id = self.schedule.edition_id(latest);
        if let Some(old) = old {
            (self.say)(&format!(
                "edition {}: no more retries, edition {id} is due",
                old.id
            ));
        }
        // Waking a little late is normal; only a firing missed by more than catch_up (and a
        // minute) is skipped, so `catch_up = "0s"` still sends on time.
        let late = now - latest;
        let allowed = self.catch_up.max(Duration::from_secs(60));
        if late > TimeDelta::from_std(allowed).unwrap_or(TimeDelta::MAX) {
            (self.say)(&format!(
                "edition {id} was due {}, {} ago, longer than schedule.catch_up (was the machine asleep?): skipping it",
                self.schedule.describe(latest),
                describe_span(late)
            ));
            return Ok((latest, None));
        }
        Ok((latest, Some(Pending::at(latest, id, now, None))))
    }

    /// Sets when to retry a pending edition's deferred recipients; `false` when it should not be
    /// retried any more (its deadline passed, or the next edition comes first).
    fn schedule_retry(
        &self,
        p: &mut Pending,
        cursor: DateTime<Utc>,
    ) -> Result<bool, ScheduleError> {
        let now = self.clock.now();
        let deadline = p.deadline.unwrap_or(now);
        let next_edition = self.schedule.next_after(cursor)?;
        match self.retries.next_retry(p.runs, now, deadline, next_edition) {
            Some(at) => {
                p.next_try = at;
                Ok(true)
            }
            None => {
                (self.say)(&format!(
                    "edition {}: no more retries (delivery.retry_deadline reached, or the next edition comes first); the journal keeps who is left",
                    p.id
                ));
                Ok(false)
            }
        }
    }

    /// `run --once`: the due run, if any.
    pub async fn once(&self, stop: &CancellationToken) -> Result<Once, RunError> {
        let now = self.clock.now();
        let due = self
            .due_at(now)
            .map_err(|e| RunError::Invalid(e.to_string()))?;
        let Some(mut p) = due else {
            if let Some(why) = self.why_not_due(now) {
                (self.say)(&why);
            }
            if let Ok(next) = self.schedule.next_after(now) {
                (self.say)(&format!(
                    "nothing due; next edition {} at {}",
                    self.schedule.edition_id(next),
                    self.schedule.describe(next)
                ));
            }
            return Ok(Once::NothingDue);
        };
        match self.run_pending(&mut p, stop).await {
            Ran::Abandoned => Ok(Once::Abandoned),
            Ran::Finished(r) => Ok(Once::Ran(r?)),
        }
    }

    /// Why the last scheduled edition is not due at `now`, when that needs saying: it was
    /// missed by more than `schedule.catch_up` (a firing skipped without a word would look like
    /// a bug), or its deferred recipients are past `delivery.retry_deadline`. `None` when it is
    /// complete.
    fn why_not_due(&self, now: DateTime<Utc>) -> Option<String> {
        let last = self.schedule.last_at_or_before(now).ok()??;
        let id = self.schedule.edition_id(last);
        let progress = StateDir::new(&self.settings.state_dir)
            .edition(&id)
            .progress();
        let due = format!(
            "edition {id} was due {}, {} ago",
            self.schedule.describe(last),
            describe_span(now - last)
        );
        let span = |d: Duration| describe_span(TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX));
        match progress {
            EditionProgress::Complete => None,
            EditionProgress::NotStarted => Some(format!(
                "{due}, longer than schedule.catch_up ({}): skipped (`paperwire send --edition {id}` sends it anyway)",
                span(self.catch_up)
            )),
            EditionProgress::Incomplete => Some(format!(
                "{due}, longer than delivery.retry_deadline ({}): its deferred recipients are no longer retried (`paperwire send --edition {id}` tries them)",
                span(self.catch_up.max(self.retry_deadline))
            )),
        }
    }

    /// The edition due at `now` on start: the last scheduled one, when it is not complete and
    /// young enough (see [`due_on_start`]).
    fn due_at(&self, now: DateTime<Utc>) -> Result<Option<Pending>, ScheduleError> {
        let Some(last) = self.schedule.last_at_or_before(now)? else {
            return Ok(None);
        };
        let id = self.schedule.edition_id(last);
        let progress = StateDir::new(&self.settings.state_dir)
            .edition(&id)
            .progress();
        if !due_on_start(last, now, progress, self.catch_up, self.retry_deadline) {
            return Ok(None);
        }
        // A resumed edition's retries are counted from its scheduled time.
        let deadline = (progress == EditionProgress::Incomplete)
            .then(|| last + TimeDelta::from_std(self.retry_deadline).unwrap_or(TimeDelta::MAX));
        Ok(Some(Pending::at(last, id, now, deadline)))
    }

    /// Runs the edition once; on a stop, waits a bounded time for messages in flight.
    async fn run_pending(&self, p: &mut Pending, stop: &CancellationToken) -> Ran {
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
        let run = run_edition(&self.settings, request, stop.clone(), Arc::new(Silent));
        tokio::pin!(run);
        tokio::select! {
            result = &mut run => Ran::Finished(result),
            () = stop.cancelled() => match tokio::time::timeout(STOP_GRACE, &mut run).await {
                Ok(result) => Ran::Finished(result),
                Err(_) => {
                    (self.say)(&format!(
                        "edition {}: messages still in flight after {} s were abandoned (a restart sends them again)",
                        p.id,
                        STOP_GRACE.as_secs()
                    ));
                    Ran::Abandoned
                }
            },
        }
    }

    /// Says how a run ended; whether the edition should be run again later (deferred
    /// recipients, or a temporary failure such as an unreachable server).
    fn log_result(&self, id: &EditionId, result: Result<EditionOutcome, RunError>) -> bool {
        match result {
            Ok(EditionOutcome::Sent(report)) => {
                (self.say)(&report.summary());
                report.deferred > 0 && !report.interrupted
            }
            Ok(EditionOutcome::NothingToSend(why)) => {
                (self.say)(&format!("edition {id}: {why}: nothing sent"));
                false
            }
            Err(e) => {
                let again = Exit::of(&e) == Exit::TryLater;
                (self.say)(&format!(
                    "edition {id}: error: {}{}",
                    crate::exit::describe(&e),
                    if again { "" } else { " (not retried)" }
                ));
                again
            }
        }
    }

    /// Sleeps until `when` on the daemon's clock, in chunks, re-reading the clock after each;
    /// `false` when a stop came first.
    async fn sleep_until(&self, when: DateTime<Utc>, stop: &CancellationToken) -> bool {
        loop {
            if stop.is_cancelled() {
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
                () = stop.cancelled() => return false,
            }
        }
    }
}

impl Pending {
    fn at(
        scheduled: DateTime<Utc>,
        id: EditionId,
        now: DateTime<Utc>,
        deadline: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            scheduled,
            id,
            next_try: now,
            deadline,
            runs: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The loop on tokio's paused clock: days of schedule pass in milliseconds, and every
    //! sleep the daemon takes is real code, not a stub.

    use std::sync::Mutex;

    use super::*;
    use crate::config::{ConfigOrigin, load};

    /// Wall-clock time that moves with tokio's (paused, auto-advancing) clock.
    struct PausedClock {
        origin: DateTime<Utc>,
        start: tokio::time::Instant,
    }

    impl Clock for PausedClock {
        fn now(&self) -> DateTime<Utc> {
            self.origin + TimeDelta::from_std(self.start.elapsed()).unwrap_or(TimeDelta::MAX)
        }
    }

    fn settings(dir: &std::path::Path) -> Settings {
        let sample =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/daily-papers.txt");
        std::fs::copy(sample, dir.join("papers.txt")).unwrap();
        std::fs::write(
            dir.join("subscribers.toml"),
            "[[subscriber]]\nemail = \"ada@example.org\"\n",
        )
        .unwrap();
        let config = dir.join("paperwire.toml");
        std::fs::write(
            &config,
            r#"[newsletter]
title    = "Test"
from     = "Paperwire <digest@example.org>"
list_id  = "test.example.org"
base_url = "https://digest.example.org"

[[source]]
kind = "file"
path = "papers.txt"

[[section]]
name     = "Everything"
keywords = ["model*"]

[digest]
repeat_after_days = 1

[schedule]
cron     = "0 7 * * *"
catch_up = "1h"
"#,
        )
        .unwrap();
        load(&ConfigOrigin::File(config)).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn sends_each_firing_once_and_stops_when_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path());
        let state = StateDir::new(&settings.state_dir);
        let clock = Arc::new(PausedClock {
            origin: "2026-11-30T06:59:00Z".parse().unwrap(),
            start: tokio::time::Instant::now(),
        });
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let said = Arc::clone(&lines);
        let say: Say = Arc::new(move |l: &str| said.lock().unwrap().push(l.to_owned()));
        let retries = RetryPolicy::new(Duration::from_secs(300));
        let daemon = Daemon::new(settings, clock, retries, Duration::from_millis(1), say).unwrap();
        let stop = CancellationToken::new();
        let run = tokio::spawn({
            let stop = stop.clone();
            async move { daemon.forever(&stop).await }
        });
        // Three days pass on the paused clock (each sleep advances it at once).
        tokio::time::sleep(Duration::from_secs(3 * 86_400)).await;
        stop.cancel();
        run.await.unwrap().unwrap();

        let ids: Vec<String> = state.editions().iter().map(ToString::to_string).collect();
        assert_eq!(ids, ["2026-11-30", "2026-12-01", "2026-12-02"]);
        for id in state.editions() {
            let files = state.edition(&id);
            assert_eq!(files.progress(), EditionProgress::Complete, "{id}");
            assert_eq!(files.summary().unwrap().delivered, 1, "{id}");
        }
        let lines = lines.lock().unwrap();
        assert!(
            lines[0].starts_with("next edition 2026-11-30 at "),
            "{lines:?}"
        );
        assert_eq!(
            lines.iter().filter(|l| l.contains(": 1 delivered")).count(),
            3,
            "{lines:?}"
        );
    }
}
