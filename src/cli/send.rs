//! `paperwire send`: build the edition's digest and deliver one personalized email to every
//! active subscriber. Quiet on success when not on a terminal, so cron mails only what needs a
//! look; the full summary also goes to `editions/<id>/report.json`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use paperwire::config::TransportKind;
use paperwire::deliver::{Progress, Silent};
use paperwire::edition::EditionId;
use paperwire::exit::Exit;
use paperwire::pipeline::{self, EditionOutcome, EditionRequest};
use paperwire::state::StateDir;
use paperwire::subscribers::SubscriberEmail;

use super::common;

#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// Use this paper list instead of the configured sources (until the edition's list is
    /// frozen at its first message; after that a different list is named on stderr, not used).
    #[arg(long, value_name = "FILE")]
    papers: Option<PathBuf>,
    /// The edition id (default: today in the newsletter's time zone).
    #[arg(long, value_name = "ID")]
    edition: Option<String>,
    /// Render and validate every message, report what would be sent, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Only these subscribers (repeatable).
    #[arg(long, value_name = "EMAIL")]
    only: Vec<String>,
    /// Send the chosen subscriber's exact message to this address instead (unjournaled).
    #[arg(long, value_name = "EMAIL")]
    test_to: Option<String>,
    /// Override delivery.transport.
    #[arg(long, value_parser = ["smtp", "outbox", "sendmail"])]
    transport: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(config: Option<&Path>, args: SendArgs) -> anyhow::Result<Exit> {
    // Send never falls back to the bundled sample.
    let settings = common::load_settings(config, false)?;
    let today = pipeline::today(&settings);
    let request = request(&args, today)?;
    let edition_label = request.edition.to_string();
    // Held for the whole run; a dry run and a proof write nothing and need no lock.
    let _lock = if args.dry_run || request.test_to.is_some() {
        None
    } else {
        Some(StateDir::new(&settings.state_dir).lock_for_send()?)
    };
    let progress: Arc<dyn Progress> = if std::io::stderr().is_terminal() && !args.json {
        Arc::new(common::Bar::new())
    } else {
        Arc::new(Silent)
    };
    let stop = common::cancel_on_signal("paperwire: stopping: letting messages in flight finish");
    let report = match pipeline::run_edition(&settings, request, stop, progress).await? {
        EditionOutcome::Sent(report) => report,
        EditionOutcome::NothingToSend(why) => {
            eprintln!("paperwire: {why}: nothing sent");
            if args.json {
                common::println(
                    &serde_json::json!({ "edition": edition_label, "nothing_to_send": why })
                        .to_string(),
                )?;
            }
            return Ok(Exit::Done);
        }
    };
    // Quiet on success off a terminal (cron), but never about what was asked for by hand: a
    // dry run, a proof, an `--only` address that got nothing.
    let asked = args.dry_run || report.proof.is_some() || !report.passed_over.is_empty();
    if args.json {
        common::println(&serde_json::to_string_pretty(&report)?)?;
    } else if !report.all_ok() || std::io::stdout().is_terminal() || asked {
        common::println(&report.summary())?;
    }
    Ok(super::exit_for_report(&report))
}

/// The edition request the flags ask for.
fn request(args: &SendArgs, today: chrono::NaiveDate) -> anyhow::Result<EditionRequest> {
    let transport = match &args.transport {
        Some(t) => Some(t.parse::<TransportKind>().map_err(anyhow::Error::msg)?),
        None => None,
    };
    // The same checks as a subscriber's address: a proof to `me@example` is a typo too.
    let test_to = match &args.test_to {
        Some(a) => Some(SubscriberEmail::parse(a).context("--test-to")?.address()),
        None => None,
    };
    let only = args
        .only
        .iter()
        .map(|e| SubscriberEmail::parse(e))
        .collect::<Result<Vec<_>, _>>()?;
    let edition = match &args.edition {
        Some(id) => EditionId::parse(id)?,
        None => EditionId::for_date(today),
    };
    Ok(EditionRequest {
        edition,
        today,
        papers_file: args.papers.clone(),
        dry_run: args.dry_run,
        only,
        test_to,
        transport,
        // `PAPERWIRE_RETRY_BASE_MS` shortens the in-run backoff (tests).
        retry_base: common::env_millis("PAPERWIRE_RETRY_BASE_MS", Duration::from_secs(2)),
    })
}
