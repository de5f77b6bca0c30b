//! Groups an edition's papers into topical sections and ranks them: pure code, no I/O.
//!
//! A [`Digest`] is built once per edition from the paper list and the config's section rules.
//! Each subscriber then gets a [`DigestView`] of it: only their topics, capped to their number
//! of papers. Views with the same (topics, cap) are identical, which is what lets the send path
//! render once per distinct view rather than once per person.

mod keyword;

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
        let scores = self.explain(paper);
        let mut best: Option<(usize, u32)> = None;
        for (i, s) in scores.iter().enumerate() {
            if s.score > 0 && best.is_none_or(|(_, b)| s.score > b) {
                best = Some((i, s.score));
            }
        }
        best.map(|(i, _)| i)
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
    /// Non-empty sections in config order; the catch-all last.
    pub sections: Vec<Section>,
    /// Papers that matched no section while the catch-all is off.
    pub unmatched_left_out: usize,
}

impl Digest {
    /// Groups and ranks: each paper to its best section (or the catch-all), then within a
    /// section by upvotes (most first), then input order.
    pub fn build(papers: Vec<Paper>, rules: &Rules) -> Self {
        let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); rules.sections.len()];
        let mut unmatched = Vec::new();
        for (i, paper) in papers.iter().enumerate() {
            match rules.assign(paper) {
                Some(s) => buckets[s].push(i),
                None => unmatched.push(i),
            }
        }
        let rank = |list: &mut Vec<usize>| {
            list.sort_by_key(|&i| (std::cmp::Reverse(papers[i].upvotes.unwrap_or(0)), i));
        };
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
            sections,
            unmatched_left_out,
        }
    }

    /// Papers in at least one section.
    pub fn paper_count(&self) -> usize {
        self.sections.iter().map(|s| s.papers.len()).sum()
    }

    /// A subscriber's view: their topics (section names, case-insensitive; empty = all) and at
    /// most `cap` papers. The cap is shared out round-robin over the sections by rank, so every
    /// chosen section keeps its best papers.
    pub fn view(&self, topics: &[String], cap: usize) -> DigestView {
        let wanted: Vec<&Section> = self
            .sections
            .iter()
            .filter(|s| topics.is_empty() || topics.iter().any(|t| t.eq_ignore_ascii_case(&s.name)))
            .collect();
        let available: usize = wanted.iter().map(|s| s.papers.len()).sum();
        let mut take = vec![0usize; wanted.len()];
        let mut remaining = cap.min(available);
        let mut depth = 0;
        while remaining > 0 {
            for (i, s) in wanted.iter().enumerate() {
                if remaining > 0 && s.papers.len() > depth {
                    take[i] += 1;
                    remaining -= 1;
                }
            }
            depth += 1;
        }
        let sections: Vec<ViewSection> = wanted
            .iter()
            .zip(take)
            .filter(|(_, n)| *n > 0)
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

/// What one subscriber sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestView {
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
    fn views_share_the_cap_round_robin() {
        let r = rules(&[("A", &["alpha"], &[]), ("B", &["beta"], &[])], true);
        let d = Digest::build(
            vec![
                paper("alpha", "", None),
                paper("alpha", "", None),
                paper("alpha", "", None),
                paper("beta", "", None),
                paper("zzz", "", None),
            ],
            &r,
        );
        let v = d.view(&[], 3);
        assert_eq!(v.shown, 3);
        assert_eq!(v.sections.len(), 3);
        assert_eq!(v.left_out, 2);
        let v = d.view(&["b".into()], 10);
        assert_eq!((v.shown, v.other_topics), (1, 4));
    }
}
