//! `paperwire status`: the last editions at a glance — how many papers, who got them, who is
//! still waiting — read from the journals, so it is right even after a crash.

use std::fmt::Write as _;
use std::path::PathBuf;

use paperwire::deliver::journal::{self, Outcome};
use paperwire::edition::{EditionDir, EditionId};
use paperwire::exit::Exit;

use super::common;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The config (default: $PAPERWIRE_CONFIG, else ./paperwire.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// How many editions to show, newest first.
    #[arg(long, default_value_t = 7)]
    last: usize,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, serde::Serialize)]
struct EditionStatus {
    edition: String,
    papers: Option<usize>,
    delivered: usize,
    failed: usize,
    deferred: usize,
    last_activity: Option<chrono::DateTime<chrono::Utc>>,
}

pub fn run(args: StatusArgs) -> anyhow::Result<Exit> {
    let settings = common::load_settings(args.config.as_deref(), false)?;
    let mut ids: Vec<EditionId> = std::fs::read_dir(settings.state_dir.join("editions"))
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| EditionId::parse(e.file_name().to_str()?).ok())
        .collect();
    ids.sort();
    ids.reverse();
    ids.truncate(args.last);
    let mut rows = Vec::new();
    for id in ids {
        let dir = EditionDir::new(&settings.state_dir, &id);
        let state = journal::read(&dir.journal())?;
        let count = |o: Outcome| state.last.values().filter(|e| e.outcome == o).count();
        rows.push(EditionStatus {
            edition: id.to_string(),
            papers: paperwire::deliver::frozen_papers(&dir)
                .ok()
                .flatten()
                .map(|p| p.len()),
            delivered: count(Outcome::Delivered),
            failed: count(Outcome::Failed),
            deferred: count(Outcome::Deferred),
            last_activity: state.last.values().map(|e| e.at).max(),
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(Exit::Done);
    }
    if rows.is_empty() {
        println!("no editions yet in {}", settings.state_dir.display());
        return Ok(Exit::Done);
    }
    let mut out = format!(
        "{:<20} {:>6} {:>9} {:>6} {:>8}  last activity\n",
        "edition", "papers", "delivered", "failed", "deferred"
    );
    for r in &rows {
        writeln!(
            out,
            "{:<20} {:>6} {:>9} {:>6} {:>8}  {}",
            r.edition,
            r.papers.map_or("-".to_owned(), |p| p.to_string()),
            r.delivered,
            r.failed,
            r.deferred,
            r.last_activity.map_or("-".to_owned(), |t| t
                .format("%Y-%m-%d %H:%M UTC")
                .to_string())
        )?;
    }
    print!("{out}");
    Ok(Exit::Done)
}
