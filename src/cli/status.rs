//! `paperwire status`: the last editions at a glance — how many papers, who got them, who is
//! still waiting — read from the journals (through [`paperwire::state`]), so it is right even
//! after a crash.

use std::fmt::Write as _;
use std::path::Path;

use paperwire::exit::Exit;
use paperwire::state::{EditionSummary, StateDir};

use super::common;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// How many editions to show, newest first.
    #[arg(long, default_value_t = 7)]
    last: usize,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(config: Option<&Path>, args: StatusArgs) -> anyhow::Result<Exit> {
    let settings = common::load_settings(config, false)?;
    let state = StateDir::new(&settings.state_dir);
    let rows = state
        .editions()
        .iter()
        .rev()
        .take(args.last)
        .map(|id| state.edition(id).summary())
        .collect::<Result<Vec<_>, _>>()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if rows.is_empty() {
        println!("no editions yet in {}", settings.state_dir.display());
    } else {
        print!("{}", table(&rows)?);
    }
    Ok(Exit::Done)
}

fn table(rows: &[EditionSummary]) -> Result<String, std::fmt::Error> {
    let mut out = format!(
        "{:<20} {:>6} {:>9} {:>6} {:>8}  last activity\n",
        "edition", "papers", "delivered", "failed", "deferred"
    );
    for r in rows {
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
    Ok(out)
}
