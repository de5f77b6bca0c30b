//! `paperwire fetch`: the configured sources' merged paper list as paperwire's normalized JSON.
//!
//! For looking at what an edition would get, and for saving a list explicitly (`--out`), which
//! `send --papers FILE` can then use. The file is written whole or not at all: a temporary file
//! beside it, synced, then renamed over it.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};
use paperwire::exit::Exit;
use paperwire::source::{fetch_all, to_normalized_json};

/// Fetch today's papers from the configured sources and print them as JSON.
#[derive(Debug, Clone, clap::Args)]
pub struct FetchArgs {
    /// The day to fetch (default: the most recent completed day with papers in the
    /// newsletter's time zone).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub date: Option<NaiveDate>,
    /// Write the list to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date like 2026-11-28"))
}

pub async fn run(config: Option<&Path>, args: FetchArgs) -> anyhow::Result<Exit> {
    let settings = super::common::load_settings(config, false)?;
    let fetched = match fetch_all(&settings, args.date, Utc::now()).await {
        Ok(f) => f,
        Err(e) if e.is_empty_day() => {
            eprintln!("paperwire: {e}; nothing written");
            return Ok(Exit::Done);
        }
        Err(e) => return Err(e.into()),
    };
    for w in &fetched.warnings {
        eprintln!("paperwire: warning: {w}");
    }
    let json = to_normalized_json(&fetched.papers, fetched.date);
    match &args.out {
        Some(path) => {
            super::common::write_atomically(path, json.as_bytes())?;
            eprintln!(
                "{} papers{} written to {}",
                fetched.papers.len(),
                fetched
                    .date
                    .map(|d| format!(" for {d}"))
                    .unwrap_or_default(),
                path.display()
            );
        }
        None => super::common::emit(None, json.as_bytes())?,
    }
    Ok(Exit::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked() {
        assert_eq!(
            parse_date("2024-05-24").unwrap(),
            NaiveDate::from_ymd_opt(2024, 5, 24).unwrap()
        );
        assert!(parse_date("24/05/2024").unwrap_err().contains("not a date"));
    }
}
