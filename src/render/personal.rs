//! A reader's own email: their "For you" block at the top, what their mutes remove gone from
//! every part of it, and the same accounting of what is left out ([`LeftOut`]) — every paper of
//! the edition, but the muted ones, counted once: in the block, in a section, or under a cause.
//!
//! Block papers count towards the reader's cap and are not shown again below; a section named
//! by a mute keyword is removed whole. This is the reference rendering of a personal email
//! (one full render per reader).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::model::{self, Cap, EditionInfo, LeftOut, Personal};
use super::{RenderError, Renderer, Variant, VariantSpec};
use crate::config::DigestSettings;
use crate::digest::personal::Ranking;
use crate::digest::{Digest, DigestView, Keyword, ViewSection, Words};

/// What one reader's email holds, before rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The block: paper indices and their "why" lines.
    pub block: Vec<(usize, String)>,
    /// The sections below the block (block papers and muted papers left out).
    pub view: DigestView,
    pub left: LeftOut,
    /// Papers of the edition for this reader (in any section, not muted).
    pub total: usize,
    /// The reader's topics without muted sections, for the footer.
    pub topics: Vec<String>,
}

/// Papers the reader's mutes remove: those `ranking` found, and every paper of a section whose
/// name a mute keyword hits.
pub fn muted_papers(digest: &Digest, ranking: &Ranking, mute: &[Arc<Keyword>]) -> BTreeSet<usize> {
    let mut muted: BTreeSet<usize> = ranking.muted.iter().copied().collect();
    if mute.is_empty() {
        return muted;
    }
    for s in &digest.sections {
        if section_muted(&s.name, mute) {
            muted.extend(s.papers.iter().copied());
        }
    }
    muted
}

fn section_muted(name: &str, mute: &[Arc<Keyword>]) -> bool {
    if mute.is_empty() {
        return false;
    }
    let words = Words::new(name);
    mute.iter().any(|k| k.count_in(&words) > 0)
}

/// The reader's email with at most `cap` papers (block included).
pub fn plan(
    digest: &Digest,
    spec: &VariantSpec,
    settings: &DigestSettings,
    ranking: &Ranking,
    mute: &[Arc<Keyword>],
    cap: usize,
) -> Plan {
    let limit = spec.cap.min(settings.max_papers);
    let muted = muted_papers(digest, ranking, mute);
    let block: Vec<(usize, String)> = ranking
        .block
        .iter()
        .filter(|p| !muted.contains(&p.paper))
        .take(limit)
        .map(|p| (p.paper, p.why.clone()))
        .collect();
    let shown_above = |i: &usize| muted.contains(i) || block.iter().any(|(b, _)| b == i);
    let wanted: Vec<&crate::digest::Section> = digest
        .sections
        .iter()
        .filter(|s| spec.topics.is_empty() || spec.topics.contains(&s.name))
        .filter(|s| !section_muted(&s.name, mute))
        .collect();
    let pools: Vec<Vec<usize>> = wanted
        .iter()
        .map(|s| {
            s.papers
                .iter()
                .copied()
                .filter(|i| !shown_above(i))
                .collect()
        })
        .collect();
    let available: usize = pools.iter().map(Vec::len).sum();
    let room = limit.saturating_sub(block.len()).min(available);
    let k = cap.saturating_sub(block.len()).min(room);
    // Each candidate with its key, worked out once; a paper in two of the reader's sections is
    // there twice, the first section first (the key ends with the section: no ties).
    let mut best: Vec<_> = pools
        .iter()
        .enumerate()
        .flat_map(|(w, pool)| pool.iter().map(move |&i| ((digest.rank_key(i), w), w)))
        .collect();
    best.sort_unstable();
    let mut take = vec![0usize; pools.len()];
    for &(_, w) in best.iter().take(k) {
        take[w] += 1;
    }
    let sections: Vec<ViewSection> = wanted
        .iter()
        .zip(&pools)
        .zip(&take)
        .map(|((s, pool), &n)| ViewSection {
            name: s.name.clone(),
            is_catch_all: s.is_catch_all,
            papers: pool[..n].to_vec(),
            left_out: pool.len() - n,
        })
        .collect();
    let in_section = |i: usize| digest.sections.iter().any(|s| s.papers.contains(&i));
    let sectioned: usize = digest.paper_count();
    let muted_sectioned = muted.iter().filter(|&&i| in_section(i)).count();
    let total = sectioned - muted_sectioned;
    let outside = total - block.len() - available;
    let no_section = if digest.unmatched_left_out == 0 {
        0
    } else {
        (0..digest.papers.len())
            .filter(|&i| !in_section(i) && !muted.contains(&i))
            .count()
    };
    let over_cap = available - room;
    let left = LeftOut {
        over_cap,
        cap: match over_cap {
            0 => Cap::None,
            _ if spec.cap < settings.max_papers => Cap::Reader(spec.cap),
            _ => Cap::Newsletter(settings.max_papers),
        },
        over_size: room - k,
        outside_topics: outside,
        no_section,
    };
    let topics = spec
        .topics
        .iter()
        .filter(|t| !section_muted(t, mute))
        .cloned()
        .collect();
    Plan {
        view: DigestView {
            sections,
            shown: block.len() + k,
            left_out: available - k,
            other_topics: outside,
        },
        block,
        left,
        total,
        topics,
    }
}

/// The reader's plan with the most papers whose HTML part fits [`super::HTML_BUDGET_BYTES`]
/// (`size` says how big a plan renders): papers drop from the sections, never from the block.
/// The last plan `size` was asked about is the one returned.
pub(crate) fn fit(
    digest: &Digest,
    spec: &VariantSpec,
    settings: &DigestSettings,
    ranking: &Ranking,
    mute: &[Arc<Keyword>],
    mut size: impl FnMut(&Plan) -> Result<usize, RenderError>,
) -> Result<Plan, RenderError> {
    let mut cap = usize::MAX;
    loop {
        let plan = plan(digest, spec, settings, ranking, mute, cap);
        let bytes = size(&plan)?;
        let below = plan.view.shown - plan.block.len();
        if bytes > super::HTML_BUDGET_BYTES && below > 0 {
            let next = (plan.view.shown * super::HTML_BUDGET_BYTES * 95 / 100 / bytes).max(1);
            cap = next.min(plan.view.shown - 1).max(plan.block.len());
            continue;
        }
        return Ok(plan);
    }
}

impl Renderer {
    /// Renders one reader's email from their ranking and mutes (slots for the per-person
    /// strings, as for a shared variant). Papers drop from the sections (never from the block)
    /// until the HTML part fits [`super::HTML_BUDGET_BYTES`].
    pub fn render_personal(
        &self,
        digest: &Digest,
        spec: &VariantSpec,
        edition: &EditionInfo,
        settings: &DigestSettings,
        ranking: &Ranking,
        mute: &[Arc<Keyword>],
    ) -> Result<Variant, RenderError> {
        let mut last: Option<(String, Option<String>)> = None;
        let plan = fit(digest, spec, settings, ranking, mute, |plan| {
            let (text, html) = self.render_plan(digest, spec, edition, settings, plan)?;
            let size = html.as_ref().map_or(0, String::len);
            last = Some((text, html));
            Ok(size)
        })?;
        let (text, html) = last.expect("fit renders at least once");
        Ok(Variant {
            html,
            text,
            shown: plan.view.shown,
            paper_ids: plan
                .block
                .iter()
                .map(|(i, _)| *i)
                .chain(plan.view.sections.iter().flat_map(|s| s.papers.clone()))
                .map(|i| digest.papers[i].id.clone())
                .collect(),
        })
    }

    /// The text and HTML parts of one plan.
    fn render_plan(
        &self,
        digest: &Digest,
        spec: &VariantSpec,
        edition: &EditionInfo,
        settings: &DigestSettings,
        plan: &Plan,
    ) -> Result<(String, Option<String>), RenderError> {
        let personal = Personal {
            for_you: &plan.block,
            total: Some(plan.total),
        };
        let model = model::build_personal(
            digest,
            &plan.view,
            edition,
            settings,
            &plan.topics,
            &plan.left,
            &personal,
        );
        self.render_model(&model, spec.text_only)
    }
}
