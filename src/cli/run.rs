//! `paperwire run`: the scheduler daemon ([`paperwire::daemon`]). It holds
//! `state.dir/send.lock` for its whole life and stops cleanly on SIGTERM/SIGINT. `run --once`
//! does the run that is due now, if any, and exits with its code (systemd timers).
//!
//! Environment for tests only: `PAPERWIRE_TEST_NOW` (RFC 3339) starts the scheduler's clock at
//! that instant and `PAPERWIRE_TEST_CLOCK_RATE` makes it run that many times faster than real
//! time (the sending itself is unaffected); `PAPERWIRE_RETRY_INTERVAL_MS` replaces the first
//! 5-minute wait before deferred recipients are retried; `PAPERWIRE_RETRY_BASE_MS` shortens
//! the in-run backoff as for `send`.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use paperwire::daemon::{Daemon, Once};
use paperwire::exit::Exit;
use paperwire::pipeline::EditionOutcome;
use paperwire::schedule::{Clock, RetryPolicy, ShiftedClock, SystemClock};
use paperwire::state::StateDir;

use super::common;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Do the run that is due now (a missed edition younger than schedule.catch_up, or one
    /// with deferred recipients), then exit with its exit code; nothing due exits 0. For
    /// systemd timers.
    #[arg(long)]
    once: bool,
}

pub async fn run(config: Option<&Path>, args: RunArgs) -> anyhow::Result<Exit> {
    let settings = common::load_settings(config, false)?;
    let no_schedule = format!(
        "{} has no [schedule] table: `paperwire run` needs one, like\n\n[schedule]\ncron     = \"0 7 * * 1-5\"\ncatch_up = \"6h\"\n\n(or run `paperwire send` from cron instead)",
        settings.path.display()
    );
    let clock = clock_from_env()?;
    let state = StateDir::new(&settings.state_dir);
    let retries = RetryPolicy::new(common::env_millis(
        "PAPERWIRE_RETRY_INTERVAL_MS",
        RetryPolicy::DEFAULT_BASE,
    ));
    let retry_base = common::env_millis("PAPERWIRE_RETRY_BASE_MS", Duration::from_secs(2));
    let say = Arc::new(|line: &str| eprintln!("paperwire: {line}"));
    let Some(daemon) = Daemon::new(settings, clock, retries, retry_base, say) else {
        anyhow::bail!(no_schedule);
    };
    let _lock = state.lock_for_send()?;
    let stop = common::cancel_on_signal(
        "paperwire: stopping: no new messages; letting those in flight finish",
    );
    if !args.once {
        daemon.forever(&stop).await?;
        return Ok(Exit::Done);
    }
    match daemon.once(&stop).await? {
        Once::NothingDue => Ok(Exit::Done),
        Once::Abandoned => Ok(Exit::TryLater),
        Once::Ran(EditionOutcome::Sent(report)) => {
            if !report.all_ok() || std::io::stdout().is_terminal() {
                common::println(&report.summary())?;
            }
            Ok(super::exit_for_report(&report))
        }
        Once::Ran(EditionOutcome::NothingToSend(why)) => {
            eprintln!("paperwire: {why}: nothing sent");
            Ok(Exit::Done)
        }
    }
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
