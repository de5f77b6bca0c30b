//! The command line: clap definitions and dispatch, one file per subcommand. Each file parses
//! its arguments, calls the library, and prints; exit codes are decided here, at the edge
//! ([`exit_for_report`] and [`paperwire::exit::Exit::of`] in `main`).

mod check;
mod common;
mod explain;
mod fetch;
mod preview;
mod run;
mod send;
mod serve;
mod status;
mod subscribers;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use paperwire::exit::Exit;
use paperwire::state::{Report, RunEnd};

/// Turns the day's trending research papers into an email digest and delivers it.
#[derive(Debug, Parser)]
#[command(name = "paperwire", version, about, long_about = None)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug); PAPERWIRE_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// The config file (default: $PAPERWIRE_CONFIG, else ./paperwire.toml; preview, check and
    /// explain fall back to the bundled sample).
    #[arg(short = 'c', long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the digest as HTML (or text) to a file or stdout; changes no state.
    Preview(preview::PreviewArgs),
    /// Validate the config, the templates and the subscriber list; list every problem.
    Check(check::CheckArgs),
    /// Show how each section scores a paper, and which keywords hit.
    Explain(explain::ExplainArgs),
    /// Run as a daemon: send each edition at the [schedule] cron time, retry deferred
    /// recipients, catch up after downtime (--once: do the due run and exit).
    Run(run::RunArgs),
    /// Fetch the configured sources and write the merged list as normalized JSON.
    Fetch(fetch::FetchArgs),
    /// Show the last editions at a glance: papers, delivered, failed, deferred.
    Status(status::StatusArgs),
    /// Manage the subscriber list (edits keep comments and formatting).
    Subscribers(subscribers::SubscribersArgs),
    /// Serve the one-click unsubscribe endpoint and a preview on loopback.
    Serve(serve::ServeArgs),
    /// Build the edition's digest and deliver it to every active subscriber.
    Send(send::SendArgs),
}

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Preview(a) => preview::run(config, a).await,
        Command::Check(a) => check::run(config, a),
        Command::Explain(a) => explain::run(config, a).await,
        Command::Send(a) => send::run(config, a).await,
        Command::Run(a) => run::run(config, a).await,
        Command::Fetch(a) => fetch::run(config, a).await,
        Command::Subscribers(a) => subscribers::run(config, a),
        Command::Status(a) => status::run(config, a),
        Command::Serve(a) => serve::run(config, a).await,
    }
}

/// The exit code of a finished send: 75 when something must be retried, 1 when something
/// failed for good (in this run or an earlier one of the edition), else 0.
pub fn exit_for_report(report: &Report) -> Exit {
    match report.end() {
        RunEnd::Complete => Exit::Done,
        RunEnd::SomeFailed => Exit::SomeFailed,
        RunEnd::Unfinished => Exit::TryLater,
    }
}

/// Logs go to stderr; quiet by default so cron mails only what matters.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PAPERWIRE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .try_init();
}
