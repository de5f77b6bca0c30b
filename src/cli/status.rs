//! `paperwire status`: the last editions at a glance — how many papers, who got them, who is
//! still waiting, how many addresses bounced or complained — and with `--failed` who failed for
//! good and why, read from the journals and the bounce log (through [`paperwire::state`]), so
//! it is right even after a crash.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use paperwire::bounce::EventStore;
use paperwire::bounce::tally::{self, EditionTally};
use paperwire::edition::EditionId;
use paperwire::exit::Exit;
use paperwire::state::{EditionSummary, StateDir};

use super::common;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// How many editions to show, newest first (0: all of them).
    #[arg(long, value_name = "N", default_value_t = 7)]
    last: usize,
    /// Only this edition.
    #[arg(long, value_name = "ID")]
    edition: Option<String>,
    /// List the addresses that failed permanently (5xx), with when and the server's reply.
    #[arg(long)]
    failed: bool,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

/// One edition's row: its summary, and what came back about it.
#[derive(Debug, serde::Serialize)]
struct Row {
    #[serde(flatten)]
    summary: EditionSummary,
    /// Addresses that bounced (hard, soft) or complained, from the bounce log.
    bounces: EditionTally,
}

/// One permanent failure, as `status --failed` shows it.
#[derive(Debug, serde::Serialize)]
struct Failed {
    edition: String,
    email: String,
    at: chrono::DateTime<chrono::Utc>,
    detail: String,
}

pub fn run(config: Option<&Path>, args: StatusArgs) -> anyhow::Result<Exit> {
    let settings = common::load_settings(config, false)?;
    let state = StateDir::new(&settings.state_dir);
    let ids: Vec<EditionId> = match &args.edition {
        Some(id) => {
            let id = EditionId::parse(id)?;
            if !state.editions().contains(&id) {
                anyhow::bail!(
                    "no edition {id} in {} (`paperwire status` lists them)",
                    settings.state_dir.display()
                );
            }
            vec![id]
        }
        // `--last 0`: all of them.
        None => {
            let all = state.editions();
            let n = if args.last == 0 { all.len() } else { args.last };
            all.into_iter().rev().take(n).collect()
        }
    };
    if args.failed {
        return failed(&state, &ids, args.json);
    }
    let log = state.bounce_log();
    let bounces = tally::by_edition(
        &log.load()
            .with_context(|| format!("cannot read {}", log.path().display()))?
            .ledger,
    );
    let rows = ids
        .iter()
        .map(|id| {
            Ok(Row {
                summary: state.edition(id).summary()?,
                bounces: bounces.of(id),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if args.json {
        common::println(&serde_json::to_string_pretty(&rows)?)?;
    } else if rows.is_empty() {
        common::println(&format!(
            "no editions yet in {}",
            settings.state_dir.display()
        ))?;
    } else {
        common::print(&table(&rows)?)?;
    }
    Ok(Exit::Done)
}

/// `--failed`: every permanent failure of the editions, newest edition first.
fn failed(state: &StateDir, ids: &[EditionId], json: bool) -> anyhow::Result<Exit> {
    let mut rows = Vec::new();
    for id in ids {
        for e in state.edition(id).failed()? {
            rows.push(Failed {
                edition: id.to_string(),
                email: e.email,
                at: e.at,
                detail: e.detail,
            });
        }
    }
    if json {
        common::println(&serde_json::to_string_pretty(&rows)?)?;
    } else if rows.is_empty() {
        common::println(&format!(
            "no permanent failures in {}",
            match ids {
                [] => format!("{} (no editions yet)", state.path().display()),
                [one] => format!("edition {one}"),
                _ => format!("the last {} editions", ids.len()),
            }
        ))?;
    } else {
        let width = rows.iter().map(|r| r.email.len()).max().unwrap_or(0);
        let mut out = format!(
            "{:<20} {:<width$}  {:<20}  reply\n",
            "edition", "address", "when"
        );
        for r in &rows {
            writeln!(
                out,
                "{:<20} {:<width$}  {:<20}  {}",
                r.edition,
                r.email,
                r.at.format("%Y-%m-%d %H:%M UTC").to_string(),
                r.detail
            )?;
        }
        common::print(&out)?;
    }
    Ok(Exit::Done)
}

fn table(rows: &[Row]) -> Result<String, std::fmt::Error> {
    let mut out = format!(
        "{:<20} {:>6} {:>9} {:>6} {:>8} {:>9} {:>7} {:>10}  last activity\n",
        "edition",
        "papers",
        "delivered",
        "failed",
        "deferred",
        "not tried",
        "bounced",
        "complaints"
    );
    for Row {
        summary: r,
        bounces,
    } in rows
    {
        writeln!(
            out,
            "{:<20} {:>6} {:>9} {:>6} {:>8} {:>9} {:>7} {:>10}  {}",
            r.edition,
            r.papers.map_or("-".to_owned(), |p| p.to_string()),
            r.delivered,
            r.failed,
            r.deferred,
            r.not_tried,
            bounces.bounces(),
            bounces.complaints,
            r.last_activity.map_or("-".to_owned(), |t| t
                .format("%Y-%m-%d %H:%M UTC")
                .to_string())
        )?;
    }
    Ok(out)
}
