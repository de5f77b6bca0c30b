//! The command line: clap definitions and dispatch, one file per subcommand. Each file parses
//! its arguments, calls the library, and prints; exit codes are decided here, at the edge
//! ([`exit_for_report`] and [`paperwire::exit::Exit::of`] in `main`).

mod archive;
mod bounces;
mod check;
mod common;
pub mod error;
mod explain;
mod fetch;
mod help;
mod init;
mod man;
mod preview;
mod run;
mod send;
mod serve;
mod status;
mod subscribers;

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};
use paperwire::exit::Exit;
use paperwire::state::{Report, RunEnd};

/// Turns the day's trending research papers into an email digest and delivers it.
#[derive(Debug, Parser)]
#[command(
    name = "paperwire",
    version,
    about,
    long_about = None,
    after_long_help = help::MAIN.text()
)]
pub struct Cli {
    /// More log output on stderr: -v the run's milestones, -vv paperwire's debug output
    /// (PAPERWIRE_LOG, an env-filter like `debug` or `paperwire=info,lettre=debug`, overrides).
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
    /// Write a commented starter paperwire.toml and subscribers.toml into DIR (default: the
    /// current directory); never overwrites.
    Init(init::InitArgs),
    /// Render the digest as HTML (or text) to a file or stdout; changes no state.
    Preview(preview::PreviewArgs),
    /// Validate the config, the templates and the subscriber list; list every problem.
    Check(check::CheckArgs),
    /// Show how each section scores a paper, and which keywords hit (with --subscriber, how
    /// that reader's own fields score it).
    Explain(explain::ExplainArgs),
    /// Run as a daemon: send each edition at the [schedule] cron time, retry deferred
    /// recipients, catch up after downtime (--once: do the due run and exit).
    #[command(after_long_help = help::RUN.text())]
    Run(run::RunArgs),
    /// Fetch the configured sources and write the merged list as normalized JSON.
    Fetch(fetch::FetchArgs),
    /// Show the last editions at a glance: papers, delivered, failed, deferred (--failed: who
    /// failed for good, and why).
    Status(status::StatusArgs),
    /// Manage the subscriber list (edits keep comments and formatting).
    Subscribers(subscribers::SubscribersArgs),
    /// Import bounces and complaints; addresses that bounce too often or complain stop
    /// getting mail.
    Bounces(bounces::BouncesArgs),
    /// Serve the one-click unsubscribe endpoint and a preview on loopback.
    #[command(after_long_help = help::SERVE.text())]
    Serve(serve::ServeArgs),
    /// Build the edition's digest and deliver it to every active subscriber.
    #[command(after_long_help = help::SEND.text())]
    Send(send::SendArgs),
    /// Build the web archive from the state directory: an index, a page per published
    /// edition, an Atom feed (--out DIR, default archive.dir).
    #[command(after_long_help = archive::HELP)]
    Archive(archive::ArchiveArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    #[command(after_long_help = help::COMPLETIONS.text())]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout, `paperwire man | man -l -`, or write every page
    /// into a directory (--dir).
    Man(man::ManArgs),
}

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Init(a) => init::run(config, a),
        Command::Preview(a) => preview::run(config, a).await,
        Command::Check(a) => check::run(config, a).await,
        Command::Explain(a) => explain::run(config, a).await,
        Command::Send(a) => send::run(config, a).await,
        Command::Run(a) => run::run(config, a).await,
        Command::Fetch(a) => fetch::run(config, a).await,
        Command::Subscribers(a) => subscribers::run(config, a),
        Command::Bounces(a) => bounces::run(config, a),
        Command::Status(a) => status::run(config, a),
        Command::Serve(a) => serve::run(config, a).await,
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "paperwire", &mut out);
            common::emit(None, &out)?;
            Ok(Exit::Done)
        }
        Command::Man(a) => man::run(config, a),
        Command::Archive(a) => archive::run(config, a),
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

/// Logs go to stderr, paperwire's own only (dependencies' through `PAPERWIRE_LOG`): warnings
/// by default so cron mails only what matters, `-v` the run's milestones, `-vv` debug output.
/// `serve` also logs each unsubscribe at the default level, with the time: an audit trail.
pub fn init_logging(verbose: u8, command: &Command) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let serving = matches!(command, Command::Serve(_));
    let mut default = format!("paperwire={level}");
    if serving && verbose == 0 {
        default.push_str(",paperwire::serve=info");
    }
    let filter = tracing_subscriber::EnvFilter::try_from_env("PAPERWIRE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if serving {
        builder.try_init()
    } else {
        builder.without_time().try_init()
    };
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every subcommand and every argument says what it is for in `--help` (and so in the man
    /// page and the shell completions).
    #[test]
    fn every_command_and_argument_has_a_description() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                let sub_path = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() && sub.get_long_about().is_none() {
                    missing.push(sub_path.clone());
                }
                walk(sub, &sub_path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "paperwire", &mut missing);
        assert!(missing.is_empty(), "no description: {missing:#?}");
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
