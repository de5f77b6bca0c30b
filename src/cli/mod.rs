//! The command line: clap definitions and dispatch, one file per subcommand.

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

use clap::{Parser, Subcommand};
use paperwire::exit::Exit;

/// Turns the day's trending research papers into an email digest and delivers it.
#[derive(Debug, Parser)]
#[command(name = "paperwire", version, about, long_about = None)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug); PAPERWIRE_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
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
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Preview(a) => preview::run(a),
        Command::Check(a) => check::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Send(a) => send::run(a),
        Command::Run(a) => run::run(a),
        Command::Fetch(a) => block_on(fetch::run(a)),
        Command::Subscribers(a) => subscribers::run(a),
        Command::Status(a) => status::run(a),
        Command::Serve(a) => block_on(serve::run(a)),
    }
}

/// Runs an async subcommand on a fresh runtime.
fn block_on<F: std::future::Future<Output = anyhow::Result<Exit>>>(f: F) -> anyhow::Result<Exit> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)?
        .block_on(f)
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

/// The error and its causes, each once: "context: cause: root cause". Causes whose text is
/// already part of the previous message are skipped.
pub fn cause_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(if text.contains('\n') { ":\n" } else { ": " });
        }
        out.push_str(&text);
    }
    out
}
