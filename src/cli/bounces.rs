//! `paperwire bounces import PATH…|-`: reads bounces and complaints, keeps what they say, and
//! stops mail to addresses that bounced too often or complained. The work happens in
//! [`paperwire::hygiene`]; this file parses arguments and prints the summary.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use paperwire::bounce::Verdict;
use paperwire::bounce::read::Input;
use paperwire::exit::Exit;
use paperwire::hygiene::{self, ImportReport};

use super::common;

#[derive(Debug, clap::Args)]
pub struct BouncesArgs {
    #[command(subcommand)]
    cmd: BouncesCmd,
}

#[derive(Debug, clap::Subcommand)]
pub enum BouncesCmd {
    /// Read bounces (DSNs) and complaints (ARF) from Maildirs, mbox files, .eml files or
    /// standard input; retire addresses that bounced too often or complained.
    #[command(after_long_help = super::help::BOUNCES_IMPORT.text())]
    Import {
        /// A Maildir, an mbox file, an .eml file or a directory of them; `-` reads one message
        /// (or an mbox) from standard input.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Print the outcome as JSON, every skipped message included.
        #[arg(long)]
        json: bool,
    },
}

/// How many skipped messages the text summary names one by one.
const LISTED_SKIPS: usize = 50;

pub fn run(config: Option<&Path>, args: BouncesArgs) -> anyhow::Result<Exit> {
    let BouncesCmd::Import { paths, json } = args.cmd;
    let settings = common::load_settings(config, false)?;
    let inputs: Vec<Input> = paths.iter().map(|p| Input::from_arg(p)).collect();
    // Postfix's local(8) (and Exim's pipe transport) say where a piped message was delivered.
    let envelope_recipient = if inputs == [Input::Stdin] {
        ["ORIGINAL_RECIPIENT", "RECIPIENT"]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    } else {
        None
    };
    let report = hygiene::import_bounces(
        &settings,
        &inputs,
        envelope_recipient.as_deref(),
        chrono::Utc::now(),
    )?;
    if json {
        common::println(&serde_json::to_string_pretty(&to_json(&report))?)?;
    } else {
        common::print(&summary(&report)?)?;
    }
    Ok(Exit::Done)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The text summary: counts, skips by reason and one by one, and the addresses retired.
fn summary(r: &ImportReport) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    writeln!(
        out,
        "{}: {}, {} imported before, {} skipped",
        plural(r.messages, "message", "messages"),
        plural(r.recorded, "new report", "new reports"),
        r.duplicates,
        r.skipped.len()
    )?;
    if !r.skipped.is_empty() {
        let kinds: Vec<String> = r
            .skipped_by_kind()
            .into_iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        writeln!(out, "skipped: {}", kinds.join(", "))?;
        for s in r.skipped.iter().take(LISTED_SKIPS) {
            writeln!(out, "  {}: {}", s.origin, s.reason)?;
        }
        if r.skipped.len() > LISTED_SKIPS {
            writeln!(
                out,
                "  … and {} more (--json lists every one)",
                r.skipped.len() - LISTED_SKIPS
            )?;
        }
    }
    if r.retired.is_empty() {
        writeln!(out, "no address retired")?;
    } else {
        writeln!(
            out,
            "retired {}:",
            plural(r.retired.len(), "address", "addresses")
        )?;
        for retired in &r.retired {
            writeln!(out, "  {retired}")?;
        }
    }
    Ok(out)
}

fn to_json(r: &ImportReport) -> serde_json::Value {
    let skipped: Vec<serde_json::Value> = r
        .skipped
        .iter()
        .map(|s| {
            serde_json::json!({
                "origin": s.origin,
                "kind": s.reason.kind(),
                "reason": s.reason.to_string(),
            })
        })
        .collect();
    let retired: Vec<serde_json::Value> = r
        .retired
        .iter()
        .map(|x| {
            let why = match x.verdict {
                Verdict::Complained(_) => "complained",
                Verdict::Bounced(_) | Verdict::Keep(_) => "bounced",
            };
            serde_json::json!({ "email": x.email, "why": why, "text": x.to_string() })
        })
        .collect();
    serde_json::json!({
        "messages": r.messages,
        "recorded": r.recorded,
        "duplicates": r.duplicates,
        "skipped": skipped,
        "skipped_by_kind": r
            .skipped_by_kind()
            .into_iter()
            .map(|(kind, n)| (kind.to_owned(), serde_json::Value::from(n)))
            .collect::<serde_json::Map<_, _>>(),
        "retired": retired,
    })
}
