//! `paperwire explain PAPER`: how each section scored a paper and which keywords hit — for
//! people writing section rules.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use paperwire::digest::Rules;
use paperwire::exit::Exit;
use paperwire::paper::Paper;
use paperwire::source::{self, Loaded};

use super::common;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A paper id (2405.10000) or a piece of its title (case-insensitive).
    paper: String,
    /// A paper list (default: the configured sources).
    #[arg(long, value_name = "FILE")]
    papers: Option<PathBuf>,
}

pub async fn run(config: Option<&Path>, args: ExplainArgs) -> anyhow::Result<Exit> {
    let settings = common::load_settings(config, true)?;
    let papers = match source::load(&settings, args.papers.as_deref(), chrono::Utc::now()).await? {
        Loaded::Papers(p) => p,
        Loaded::EmptyDay(why) => anyhow::bail!(why),
    };
    let needle = args.paper.trim().to_lowercase();
    let found: Vec<_> = papers
        .iter()
        .filter(|p| p.id.as_str() == needle || p.title.to_lowercase().contains(&needle))
        .collect();
    if found.is_empty() {
        anyhow::bail!("no paper has the id or a title containing `{}`", args.paper);
    }
    let mut out = String::new();
    for paper in found {
        explain(&mut out, &settings.rules, paper)?;
    }
    common::print(&out)?;
    Ok(Exit::Done)
}

/// One paper's scores, the keywords that hit, and where it goes.
fn explain(out: &mut String, rules: &Rules, paper: &Paper) -> std::fmt::Result {
    let scores = rules.explain(paper);
    let chosen = rules.assign(paper);
    writeln!(
        out,
        "{} [{}]",
        paper.title.split_whitespace().collect::<Vec<_>>().join(" "),
        paper.id
    )?;
    for (i, s) in scores.iter().enumerate() {
        let mark = if chosen == Some(i) { "→" } else { " " };
        write!(out, "  {mark} {:<32} {:>3}", s.section, s.score)?;
        let hits: Vec<String> = s
            .hits
            .iter()
            .map(|h| {
                format!(
                    "{} (title {}, abstract {})",
                    h.keyword, h.in_title, h.in_abstract
                )
            })
            .collect();
        if !hits.is_empty() {
            write!(out, "  {}", hits.join(", "))?;
        }
        if !s.excluded_by.is_empty() {
            write!(out, "  excluded by: {}", s.excluded_by.join(", "))?;
        }
        writeln!(out)?;
    }
    match chosen {
        Some(i) => writeln!(out, "  goes to: {}", scores[i].section)?,
        None => match &rules.catch_all {
            Some(name) => writeln!(out, "  goes to: {name} (no section matched)")?,
            None => writeln!(out, "  left out (no section matched; the catch-all is off)")?,
        },
    }
    writeln!(
        out,
        "  scoring: {} per keyword in the title, {} per mention in the abstract (at most {} per keyword)",
        paperwire::digest::TITLE_WEIGHT,
        paperwire::digest::ABSTRACT_WEIGHT,
        paperwire::digest::ABSTRACT_MENTIONS_CAP
    )?;
    Ok(())
}
