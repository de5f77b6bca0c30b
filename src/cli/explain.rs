//! `paperwire explain PAPER`: how each section scored a paper and which keywords hit — for
//! people writing section rules; with `--subscriber EMAIL`, how that reader's own fields
//! (interests, followed authors, likes, mutes) score it, and the "why" line their "For you"
//! block shows.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use paperwire::digest::Rules;
use paperwire::digest::personal::{Breakdown, FLOOR};
use paperwire::edition::EditionId;
use paperwire::exit::Exit;
use paperwire::paper::Paper;
use paperwire::pipeline::{self, ReaderView};
use paperwire::source::{self, Loaded};

use super::common;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A paper id (2405.10000) or a piece of its title (case-insensitive).
    paper: String,
    /// A paper list (default: the configured sources).
    #[arg(long, value_name = "FILE")]
    papers: Option<PathBuf>,
    /// Also show how this subscriber's own fields score the paper, as in their email.
    #[arg(long, value_name = "EMAIL")]
    subscriber: Option<String>,
    /// With --subscriber: the edition (default: today's); once its send started, its frozen
    /// paper list is used, as the send does.
    #[arg(long, value_name = "ID", value_parser = parse_edition)]
    edition: Option<EditionId>,
}

fn parse_edition(raw: &str) -> Result<EditionId, String> {
    EditionId::parse(raw).map_err(|e| e.to_string())
}

pub async fn run(config: Option<&Path>, args: ExplainArgs) -> anyhow::Result<Exit> {
    let settings = common::load_settings(config, true)?;
    if let Some(email) = &args.subscriber {
        let edition = args
            .edition
            .clone()
            .unwrap_or_else(|| EditionId::for_date(pipeline::today(&settings)));
        let Some(view) =
            pipeline::reader_view(&settings, &edition, args.papers.as_deref(), email).await?
        else {
            anyhow::bail!("no papers for edition {edition}");
        };
        let found = find(&view.digest.papers, &args.paper)?;
        let mut out = String::new();
        for i in found {
            explain(&mut out, &settings.rules, &view.digest.papers[i])?;
            explain_reader(&mut out, &view, i)?;
        }
        print!("{out}");
        return Ok(Exit::Done);
    }
    let papers = match source::load(&settings, args.papers.as_deref(), chrono::Utc::now()).await? {
        Loaded::Papers(p) => p,
        Loaded::EmptyDay(why) => anyhow::bail!(why),
    };
    let mut out = String::new();
    for i in find(&papers, &args.paper)? {
        explain(&mut out, &settings.rules, &papers[i])?;
    }
    common::print(&out)?;
    Ok(Exit::Done)
}

/// Indices of the papers whose id is `needle` or whose title contains it.
fn find(papers: &[Paper], needle: &str) -> anyhow::Result<Vec<usize>> {
    let wanted = needle.trim().to_lowercase();
    let found: Vec<usize> = papers
        .iter()
        .enumerate()
        .filter(|(_, p)| p.id.as_str() == wanted || p.title.to_lowercase().contains(&wanted))
        .map(|(i, _)| i)
        .collect();
    if found.is_empty() {
        anyhow::bail!("no paper has the id or a title containing `{needle}`");
    }
    Ok(found)
}

/// One reader's breakdown of paper `i`: each interest, author and like with its points, the
/// total against the floor, where it ranks, and the "why" line.
fn explain_reader(out: &mut String, view: &ReaderView, i: usize) -> std::fmt::Result {
    let profile = &view.subscriber.profile;
    let b: Breakdown = view.index.explain(&view.digest, profile, i);
    writeln!(out, "  for {}:", view.subscriber.email)?;
    for h in &b.interests {
        writeln!(
            out,
            "    interest {:<24} title {}, abstract {}  {:>5.1}",
            h.keyword, h.in_title, h.in_abstract, h.points
        )?;
    }
    for a in &b.authors {
        writeln!(
            out,
            "    author   {:<24} ({} on the paper)  {:>5.1}",
            a.followed, a.on_paper, a.points
        )?;
    }
    for l in &b.likes {
        match l.similarity {
            Some(s) => writeln!(out, "    like     {:<24} similarity {s:.2}", l.like)?,
            None => writeln!(out, "    like     {:<24} not found (left out)", l.like)?,
        }
    }
    if b.like_points > 0.0 {
        writeln!(out, "    most like a liked paper{:>24.1}", b.like_points)?;
    }
    writeln!(out, "    score {:.1} (the block needs {FLOOR:.1})", b.score)?;
    let in_block = view.ranking.block.iter().position(|p| p.paper == i);
    let place = match in_block {
        _ if !b.muted_by.is_empty() => format!(
            "muted by {}: in no part of this email",
            b.muted_by.join(", ")
        ),
        Some(n) => format!(
            "in the For-you block, {} of {}",
            n + 1,
            view.ranking.block.len()
        ),
        None if profile.block_size() == 0 || !profile.ranks() => {
            "this reader has no For-you block".to_owned()
        }
        None if b.score < FLOOR => "not in the For-you block: below the floor".to_owned(),
        None => match view.index.ranked_ahead(&view.digest, profile, i) {
            ahead if ahead >= view.ranking.block.len() => format!(
                "not in the For-you block: block full: {ahead} {} scored higher",
                if ahead == 1 { "paper" } else { "papers" }
            ),
            _ => "not in the For-you block: in no section of this email".to_owned(),
        },
    };
    writeln!(out, "    {place}")?;
    // A muted paper is in no part of the email: it has no "why" line there either.
    if !b.why.is_empty() && b.muted_by.is_empty() {
        writeln!(out, "    why: {}", b.why)?;
    }
    Ok(())
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
