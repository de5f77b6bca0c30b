//! Groups an edition's papers into topical sections and ranks them: pure code, no I/O.
//!
//! A [`Digest`] is built once per edition from the paper list and the config's section rules.
//! Papers rank by their score in their section, then upvotes, then input order. Each subscriber
//! then gets a [`DigestView`] of it: only their topics, capped to their number of papers — the
//! best papers across those sections by the same ranking, every section kept (with what was
//! left out of it counted). Views with the same (topics, cap) are identical, which is what lets
//! the send path render once per distinct view rather than once per person.

mod keyword;
pub mod personal;

use std::cmp::Reverse;
use std::collections::HashSet;

pub use keyword::{Keyword, KeywordError, Words};

use crate::paper::Paper;

/// Weight of a keyword hit in the title.
pub const TITLE_WEIGHT: u32 = 3;
/// Weight of one mention in the abstract.
pub const ABSTRACT_WEIGHT: u32 = 1;
/// Mentions of one keyword in one abstract that count, at most.
pub const ABSTRACT_MENTIONS_CAP: usize = 3;

/// A section's compiled rules.
#[derive(Debug, Clone)]
pub struct SectionRule {
    pub name: String,
    pub keywords: Vec<Keyword>,
    pub exclude: Vec<Keyword>,
}

/// All sections' rules, in config order, and the catch-all.
#[derive(Debug, Clone)]
pub struct Rules {
    pub sections: Vec<SectionRule>,
    /// The catch-all section's name, when papers that match no section get one.
    pub catch_all: Option<String>,
}

impl Rules {
    /// Section names in order, with the catch-all last when there is one.
    pub fn section_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.sections.iter().map(|s| s.name.as_str()).collect();
        names.extend(self.catch_all.as_deref());
        names
    }

    /// How each section scores a paper, in section order.
    pub fn explain(&self, paper: &Paper) -> Vec<SectionScore> {
        let title = Words::new(&paper.title);
        let abstract_words = Words::new(&paper.abstract_text);
        self.sections
            .iter()
            .map(|rule| {
                let hits: Vec<KeywordHit> = rule
                    .keywords
                    .iter()
                    .filter_map(|k| {
                        let in_title = k.count_in(&title);
                        let in_abstract = k.count_in(&abstract_words);
                        (in_title + in_abstract > 0).then(|| KeywordHit {
                            keyword: k.as_str().to_owned(),
                            in_title,
                            in_abstract,
                        })
                    })
                    .collect();
                let excluded_by: Vec<String> = rule
                    .exclude
                    .iter()
                    .filter(|k| k.count_in(&title) + k.count_in(&abstract_words) > 0)
                    .map(|k| k.as_str().to_owned())
                    .collect();
                let score = if excluded_by.is_empty() {
                    hits.iter().map(KeywordHit::score).sum()
                } else {
                    0
                };
                SectionScore {
                    section: rule.name.clone(),
                    score,
                    hits,
                    excluded_by,
                }
            })
            .collect()
    }

    /// The index of the section a paper goes to: the best score, ties to the earlier section;
    /// `None` when nothing matched.
    pub fn assign(&self, paper: &Paper) -> Option<usize> {
        self.assign_scored(paper).map(|(i, _)| i)
    }

    /// [`Rules::assign`] with the winning score.
    pub fn assign_scored(&self, paper: &Paper) -> Option<(usize, u32)> {
        let scores = self.explain(paper);
        let mut best: Option<(usize, u32)> = None;
        for (i, s) in scores.iter().enumerate() {
            if s.score > 0 && best.is_none_or(|(_, b)| s.score > b) {
                best = Some((i, s.score));
            }
        }
        best
    }
}

/// One keyword's hits in one paper.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeywordHit {
    pub keyword: String,
    pub in_title: usize,
    pub in_abstract: usize,
}

impl KeywordHit {
    pub fn score(&self) -> u32 {
        let title = if self.in_title > 0 { TITLE_WEIGHT } else { 0 };
        let abs = self.in_abstract.min(ABSTRACT_MENTIONS_CAP) as u32 * ABSTRACT_WEIGHT;
        title + abs
    }
}

/// How one section scored one paper.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SectionScore {
    pub section: String,
    pub score: u32,
    pub hits: Vec<KeywordHit>,
    /// Exclude keywords that hit; a non-empty list zeroes the score.
    pub excluded_by: Vec<String>,
}

/// A section of the digest: its papers as indices into [`Digest::papers`], ranked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub is_catch_all: bool,
    pub papers: Vec<usize>,
}

/// The edition's papers grouped and ranked; built once per edition.
#[derive(Debug, Clone)]
pub struct Digest {
    pub papers: Vec<Paper>,
    /// Each paper's score in its section (0 in the catch-all or in none), by paper index.
    pub scores: Vec<u32>,
    /// Non-empty sections in config order; the catch-all last.
    pub sections: Vec<Section>,
    /// Papers that matched no section while the catch-all is off.
    pub unmatched_left_out: usize,
}

impl Digest {
    /// Groups and ranks: each paper to its best section (or the catch-all), then within a
    /// section by [`Digest::rank_key`]: score, upvotes (most first), input order.
    pub fn build(papers: Vec<Paper>, rules: &Rules) -> Self {
        let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); rules.sections.len()];
        let mut unmatched = Vec::new();
        let mut scores = vec![0; papers.len()];
        for (i, paper) in papers.iter().enumerate() {
            match rules.assign_scored(paper) {
                Some((s, score)) => {
                    buckets[s].push(i);
                    scores[i] = score;
                }
                None => unmatched.push(i),
            }
        }
        let key = |i: usize| rank_key(&papers, &scores, i);
        let rank = |list: &mut Vec<usize>| list.sort_by_key(|&i| key(i));
        let mut sections: Vec<Section> = Vec::new();
        for (rule, mut list) in rules.sections.iter().zip(buckets) {
            if list.is_empty() {
                continue;
            }
            rank(&mut list);
            sections.push(Section {
                name: rule.name.clone(),
                is_catch_all: false,
                papers: list,
            });
        }
        let mut unmatched_left_out = 0;
        if let Some(name) = &rules.catch_all {
            if !unmatched.is_empty() {
                rank(&mut unmatched);
                sections.push(Section {
                    name: name.clone(),
                    is_catch_all: true,
                    papers: unmatched,
                });
            }
        } else {
            unmatched_left_out = unmatched.len();
        }
        Self {
            papers,
            scores,
            sections,
            unmatched_left_out,
        }
    }

    /// How paper `i` ranks, best first when sorted ascending: its section score, then its
    /// upvotes, both highest first, then input order.
    pub fn rank_key(&self, i: usize) -> (Reverse<u32>, Reverse<u32>, usize) {
        rank_key(&self.papers, &self.scores, i)
    }

    /// Papers in at least one section.
    pub fn paper_count(&self) -> usize {
        self.sections.iter().map(|s| s.papers.len()).sum()
    }

    /// A subscriber's view: their topics (section names, case-insensitive; empty = all) and at
    /// most `cap` papers — the best across those sections by [`Digest::rank_key`], so a section
    /// of strong matches is not cut to make room for weak ones elsewhere. Every chosen section
    /// stays in the view, with none of its papers shown if none made the cut; since a section
    /// is ranked by the same key, what it shows is always its best papers.
    pub fn view(&self, topics: &[String], cap: usize) -> DigestView {
        let wanted: Vec<&Section> = self.sections_for(topics).collect();
        let available: usize = wanted.iter().map(|s| s.papers.len()).sum();
        let mut best: Vec<(usize, usize)> = wanted
            .iter()
            .enumerate()
            .flat_map(|(w, s)| s.papers.iter().map(move |&i| (w, i)))
            .collect();
        best.sort_by_key(|&(_, i)| self.rank_key(i));
        let mut take = vec![0usize; wanted.len()];
        for &(w, _) in best.iter().take(cap) {
            take[w] += 1;
        }
        let sections: Vec<ViewSection> = wanted
            .iter()
            .zip(take)
            .map(|(s, n)| ViewSection {
                name: s.name.clone(),
                is_catch_all: s.is_catch_all,
                papers: s.papers[..n].to_vec(),
                left_out: s.papers.len() - n,
            })
            .collect();
        let shown = sections.iter().map(|s| s.papers.len()).sum();
        DigestView {
            sections,
            shown,
            left_out: available - shown,
            other_topics: self.paper_count() - available,
        }
    }
}

impl Digest {
    /// The sections of `topics` (section names, case-insensitive; empty = all) that have papers.
    fn sections_for<'d>(&'d self, topics: &'d [String]) -> impl Iterator<Item = &'d Section> {
        self.sections
            .iter()
            .filter(|s| topics.is_empty() || topics.iter().any(|t| t.eq_ignore_ascii_case(&s.name)))
    }

    /// The papers in the sections of `topics` (empty = all): 0 when a reader of those topics
    /// has nothing in this edition.
    pub fn papers_for(&self, topics: &[String]) -> usize {
        self.sections_for(topics).map(|s| s.papers.len()).sum()
    }
}

fn rank_key(papers: &[Paper], scores: &[u32], i: usize) -> (Reverse<u32>, Reverse<u32>, usize) {
    (
        Reverse(scores[i]),
        Reverse(papers[i].upvotes.unwrap_or(0)),
        i,
    )
}

/// What one subscriber sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestView {
    /// Every section of the subscriber's topics that has papers today, in digest order, even
    /// those with none shown.
    pub sections: Vec<ViewSection>,
    pub shown: usize,
    /// Papers of the chosen topics not shown because of the cap.
    pub left_out: usize,
    /// Papers in sections the subscriber did not choose.
    pub other_topics: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewSection {
    pub name: String,
    pub is_catch_all: bool,
    pub papers: Vec<usize>,
    pub left_out: usize,
}

/// Drops papers whose ids were delivered in earlier editions (`digest.repeat_after_days`).
pub fn without_repeats(
    papers: Vec<Paper>,
    already_sent: &HashSet<crate::paper::PaperId>,
) -> Vec<Paper> {
    papers
        .into_iter()
        .filter(|p| !already_sent.contains(&p.id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paper::PaperId;

    fn paper(title: &str, abs: &str, upvotes: Option<u32>) -> Paper {
        let mut p = Paper::new(PaperId::from_title(title), title, abs);
        p.upvotes = upvotes;
        p
    }

    fn rules(sections: &[(&str, &[&str], &[&str])], catch_all: bool) -> Rules {
        let compile = |list: &[&str]| list.iter().map(|k| Keyword::parse(k).unwrap()).collect();
        Rules {
            sections: sections
                .iter()
                .map(|(n, k, e)| SectionRule {
                    name: n.to_string(),
                    keywords: compile(k),
                    exclude: compile(e),
                })
                .collect(),
            catch_all: catch_all.then(|| "Other".to_owned()),
        }
    }

    #[test]
    fn title_beats_abstract_and_ties_go_to_the_earlier_section() {
        let r = rules(&[("A", &["alpha"], &[]), ("B", &["beta"], &[])], true);
        assert_eq!(
            r.assign(&paper("Beta things", "alpha alpha", None)),
            Some(1)
        );
        assert_eq!(r.assign(&paper("x", "alpha beta", None)), Some(0));
        assert_eq!(r.assign(&paper("x", "gamma", None)), None);
    }

    #[test]
    fn exclude_keeps_a_paper_out() {
        let r = rules(
            &[("A", &["alpha"], &["beta"]), ("B", &["gamma"], &[])],
            true,
        );
        assert_eq!(r.assign(&paper("alpha", "beta gamma", None)), Some(1));
    }

    #[test]
    fn ranking_and_catch_all() {
        let r = rules(&[("A", &["alpha"], &[])], false);
        let d = Digest::build(
            vec![
                paper("alpha 1", "", Some(1)),
                paper("alpha 2", "", Some(5)),
                paper("alpha 3", "", Some(1)),
                paper("none", "", None),
            ],
            &r,
        );
        assert_eq!(d.sections.len(), 1);
        assert_eq!(d.sections[0].papers, vec![1, 0, 2]);
        assert_eq!(d.unmatched_left_out, 1);
    }

    #[test]
    fn ranking_is_score_then_upvotes() {
        let r = rules(&[("A", &["alpha"], &[])], true);
        let d = Digest::build(
            vec![
                paper("x", "alpha", Some(50)),
                paper("alpha", "", Some(1)),
                paper("alpha", "alpha", Some(1)),
                paper("alpha", "", Some(9)),
            ],
            &r,
        );
        // Title + abstract (4), then title (3) by upvotes, then abstract only (1).
        assert_eq!(d.sections[0].papers, vec![2, 3, 1, 0]);
        assert_eq!(d.scores, vec![1, 3, 4, 3]);
    }

    #[test]
    fn a_cap_takes_the_best_papers_across_sections_and_keeps_every_section() {
        let r = rules(
            &[
                ("A", &["alpha"], &[]),
                ("B", &["beta"], &[]),
                ("C", &["gamma"], &[]),
            ],
            true,
        );
        let d = Digest::build(
            vec![
                paper("alpha", "", Some(1)),
                paper("alpha", "", Some(2)),
                paper("beta beta", "beta beta beta", Some(0)),
                paper("beta", "beta", Some(5)),
                paper("gamma", "", Some(100)),
                paper("gamma", "", None),
                paper("zzz", "", Some(1000)),
            ],
            &r,
        );
        let v = d.view(&[], 3);
        assert_eq!(v.shown, 3);
        let shown: Vec<(&str, Vec<usize>, usize)> = v
            .sections
            .iter()
            .map(|s| (s.name.as_str(), s.papers.clone(), s.left_out))
            .collect();
        // B's two papers score 6 and 4; then the best title-only hit by upvotes is gamma's.
        assert_eq!(
            shown,
            [
                ("A", vec![], 2),
                ("B", vec![2, 3], 0),
                ("C", vec![4], 1),
                ("Other", vec![], 1)
            ]
        );
        assert_eq!(v.left_out, 4);
        let v = d.view(&["b".into()], 10);
        assert_eq!((v.shown, v.other_topics, v.sections.len()), (2, 5, 1));
        // What a reader of some topics has today, whatever their cap.
        assert_eq!(d.papers_for(&[]), 7);
        assert_eq!(d.papers_for(&["b".into(), "C".into()]), 4);
        assert_eq!(d.papers_for(&["Delta".into()]), 0);
        // Every count adds up, whatever the cap.
        for cap in 0..9 {
            let v = d.view(&[], cap);
            let per_section: usize = v.sections.iter().map(|s| s.left_out).sum();
            assert_eq!(v.shown + per_section, 7);
            assert_eq!(v.left_out, per_section);
        }
    }
}
