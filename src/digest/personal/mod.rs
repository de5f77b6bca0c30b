//! Each reader's own ranking of the day's papers — pure code, no I/O.
//!
//! A reader's [`Profile`] (the `interests`, `authors`, `like`, `mute` and `for_you` fields of
//! their `[[subscriber]]` entry) scores every paper of the edition: interest keywords hit the
//! title and abstract with the section weights ([`crate::digest::TITLE_WEIGHT`] …), a followed
//! author is a strong boost ([`AUTHOR_POINTS`]), and a paper like one the reader liked scores
//! by the tf-idf cosine similarity of their titles and abstracts ([`LIKE_POINTS`] at
//! similarity 1). The best papers above the floor ([`FLOOR`]) make the reader's "For you"
//! block, each with one short line saying why. A `mute` keyword that hits anything the email
//! would show of a paper (title, abstract, summary, authors, links) keeps that paper out of the
//! reader's whole email.
//!
//! The edition is indexed once ([`EditionIndex`]); ranking for one reader then only walks the
//! postings of their own keywords, authors and likes. [`EditionIndex::explain`] gives one
//! paper's breakdown (`paperwire explain --subscriber`), from the same numbers as the block.

mod authors;
mod index;
mod memo;

use std::cmp::Reverse;
use std::sync::Arc;

use serde::Serialize;

pub use authors::{Author, AuthorError};
pub use index::EditionIndex;
use index::{Field, InterestHits, PapersBy};

use super::{Digest, Keyword, KeywordHit};
use crate::paper::PaperId;

/// Points for a paper by an author the reader follows (per followed author): more than the
/// strongest single keyword hit, so that a followed author's paper makes the block.
pub const AUTHOR_POINTS: f64 = 10.0;
/// Points for a paper identical to one the reader liked (cosine similarity 1); in proportion
/// below that.
pub const LIKE_POINTS: f64 = 10.0;
/// Similarity to a liked paper below which it does not count (unrelated papers of one field
/// share vocabulary up to about this much).
pub const LIKE_MIN_SIMILARITY: f64 = 0.15;
/// A paper needs at least this score to be in the block: one interest in the title, three
/// mentions in the abstract, a followed author, or a similarity of 0.3 to a liked paper.
pub const FLOOR: f64 = 3.0;
/// The block's size when `for_you` is not set but `interests`, `authors` or `like` is.
pub const DEFAULT_FOR_YOU: usize = 5;
/// Reasons named in a "why" line, at most, per kind.
const WHY_MAX: usize = 2;

/// A reader's personal fields, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// Keywords and authors are shared (`Arc`) so that a list whose readers follow the same
    /// ones holds each once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interests: Vec<Arc<Keyword>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<Arc<Author>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub like: Vec<PaperId>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mute: Vec<Arc<Keyword>>,
    /// The block's size as written (`None`: the default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub for_you: Option<usize>,
}

impl Profile {
    /// Whether anything ranks papers for this reader.
    pub fn ranks(&self) -> bool {
        !self.interests.is_empty() || !self.authors.is_empty() || !self.like.is_empty()
    }

    /// The "For you" block's size: `for_you`, else [`DEFAULT_FOR_YOU`] when something ranks.
    pub fn block_size(&self) -> usize {
        match self.for_you {
            Some(n) => n,
            None if self.ranks() => DEFAULT_FOR_YOU,
            None => 0,
        }
    }

    /// Whether this reader's email differs from the shared one (a block or mutes).
    pub fn is_personal(&self) -> bool {
        (self.block_size() > 0 && self.ranks()) || !self.mute.is_empty()
    }

    /// Whether any field is set (the preference is written back by edits and exports).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One paper of a reader's block.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    /// Index into [`Digest::papers`].
    pub paper: usize,
    /// "matches speculative decoding · by Tri Dao · like 2411.01234".
    pub why: String,
}

/// A reader's ranking of the edition.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ranking {
    /// Papers a `mute` keyword keeps out of the reader's email, ascending.
    pub muted: Vec<usize>,
    /// The "For you" block, best first.
    pub block: Vec<Pick>,
}

/// One interest's hits in one paper.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterestHit {
    pub keyword: String,
    pub in_title: usize,
    pub in_abstract: usize,
    pub points: f64,
}

/// A followed author on one paper.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthorHit {
    /// As the reader wrote it.
    pub followed: String,
    /// As the paper lists it.
    pub on_paper: String,
    pub points: f64,
}

/// One liked paper's similarity to one paper.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LikeSimilarity {
    pub like: String,
    /// `None` when the liked paper's text is not known (not in an earlier edition, not found
    /// on arXiv).
    pub similarity: Option<f64>,
}

/// How one reader's profile scores one paper.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breakdown {
    pub paper: String,
    pub interests: Vec<InterestHit>,
    pub authors: Vec<AuthorHit>,
    pub likes: Vec<LikeSimilarity>,
    /// The best similarity that counts, and its points.
    pub like_points: f64,
    /// Mute keywords that hit the paper (it is then in no part of the email).
    pub muted_by: Vec<String>,
    pub score: f64,
    /// The "why" line the block shows (empty when nothing scored).
    pub why: String,
}

impl Breakdown {
    fn new(paper: &PaperId) -> Self {
        Self {
            paper: paper.to_string(),
            interests: Vec::new(),
            authors: Vec::new(),
            likes: Vec::new(),
            like_points: 0.0,
            muted_by: Vec::new(),
            score: 0.0,
            why: String::new(),
        }
    }
}

/// A profile's scores for every paper, and the hits behind them.
struct Scored {
    scores: Vec<f64>,
    /// Per interest (in profile order): (paper, in title, in abstract), by paper.
    interests: Vec<Arc<[InterestHits]>>,
}

/// The block's order: by score, then by the digest's own ranking.
fn block_order(digest: &Digest, scores: &[f64], a: usize, b: usize) -> std::cmp::Ordering {
    scores[b]
        .total_cmp(&scores[a])
        .then_with(|| digest.rank_key(a).cmp(&digest.rank_key(b)))
}

impl EditionIndex {
    /// Ranks the edition for one reader: what their mutes remove, and their block — at most
    /// `min(profile.block_size(), limit)` papers of the digest's sections, each scoring at
    /// least [`FLOOR`], by score, then by the digest's own ranking.
    pub fn rank(&self, digest: &Digest, profile: &Profile, limit: usize) -> Ranking {
        let muted = self.muted(profile);
        let size = profile.block_size().min(limit);
        if size == 0 || !profile.ranks() {
            return Ranking {
                muted,
                block: Vec::new(),
            };
        }
        let scored = self.scores(profile);
        let scores = &scored.scores;
        let mut best: Vec<usize> = (0..self.len())
            .filter(|&i| self.may_be_picked(i, scores, &muted))
            .collect();
        best.sort_by(|&a, &b| block_order(digest, scores, a, b));
        let block = best
            .into_iter()
            .take(size)
            .map(|paper| Pick {
                paper,
                why: self.why(profile, paper, &scored),
            })
            .collect();
        Ranking { muted, block }
    }

    /// How many papers the block would take before `paper`: those that may be picked and
    /// score higher (or as high, and rank before it in the digest).
    pub fn ranked_ahead(&self, digest: &Digest, profile: &Profile, paper: usize) -> usize {
        let muted = self.muted(profile);
        let scored = self.scores(profile);
        let scores = &scored.scores;
        (0..self.len())
            .filter(|&i| i != paper && self.may_be_picked(i, scores, &muted))
            .filter(|&i| block_order(digest, scores, i, paper).is_lt())
            .count()
    }

    /// Whether paper `i` may be in the block: it scores the floor, is in a section of the
    /// email, and no mute hits it.
    fn may_be_picked(&self, i: usize, scores: &[f64], muted: &[usize]) -> bool {
        scores[i] >= FLOOR && self.in_section(i) && muted.binary_search(&i).is_err()
    }

    /// Papers hit by a mute keyword anywhere the email would show them, ascending.
    fn muted(&self, profile: &Profile) -> Vec<usize> {
        let mut muted: Vec<usize> = Vec::new();
        for k in &profile.mute {
            muted.extend_from_slice(&self.muted_by(k));
        }
        if profile.mute.len() > 1 {
            muted.sort_unstable();
            muted.dedup();
        }
        muted
    }

    /// Every paper's score for `profile`, from the postings of the profile's own terms.
    fn scores(&self, profile: &Profile) -> Scored {
        let mut scores = vec![0.0; self.len()];
        let mut interests = Vec::with_capacity(profile.interests.len());
        for k in &profile.interests {
            let hits = self.interest_hits(k);
            for &(p, in_title, in_abstract) in hits.iter() {
                scores[p] += interest_points(in_title, in_abstract);
            }
            interests.push(hits);
        }
        for followed in &profile.authors {
            let by = self.papers_by(followed);
            // Once per paper, however many of its authors can be the followed one.
            for (n, &(p, _)) in by.iter().enumerate() {
                if n == 0 || by[n - 1].0 != p {
                    scores[p] += AUTHOR_POINTS;
                }
            }
        }
        let mut best_like = vec![0.0f64; self.len()];
        for id in &profile.like {
            for &(p, sim) in self.similar_to(id) {
                let b = &mut best_like[p as usize];
                *b = b.max(f64::from(sim));
            }
        }
        for (s, like) in scores.iter_mut().zip(best_like) {
            *s += like_points(like);
        }
        Scored { scores, interests }
    }

    /// How `profile` scores paper `paper`, with the "why" line the block would show.
    pub fn explain(&self, digest: &Digest, profile: &Profile, paper: usize) -> Breakdown {
        let scored = self.scores(profile);
        self.breakdown(digest, profile, paper, &scored)
    }

    /// One paper's breakdown from the profile's scores.
    fn breakdown(
        &self,
        digest: &Digest,
        profile: &Profile,
        paper: usize,
        scored: &Scored,
    ) -> Breakdown {
        let mut b = Breakdown::new(&digest.papers[paper].id);
        for (k, hits) in profile.interests.iter().zip(&scored.interests) {
            if let Ok(at) = hits.binary_search_by_key(&paper, |h| h.0) {
                let (_, in_title, in_abstract) = hits[at];
                b.interests.push(InterestHit {
                    keyword: k.as_str().to_owned(),
                    in_title,
                    in_abstract,
                    points: interest_points(in_title, in_abstract),
                });
            }
        }
        for followed in &profile.authors {
            if let Some((_, a)) = self.papers_by(followed).iter().find(|(p, _)| *p == paper) {
                b.authors.push(AuthorHit {
                    followed: followed.to_string(),
                    on_paper: a.to_string(),
                    points: AUTHOR_POINTS,
                });
            }
        }
        for id in &profile.like {
            let similarity = self.knows_liked(id).then(|| self.similarity(id, paper));
            b.likes.push(LikeSimilarity {
                like: id.to_string(),
                similarity,
            });
        }
        let best = self.best_like(profile, paper);
        b.like_points = best.map_or(0.0, |(_, s)| like_points(s));
        let all = [Field::Title, Field::Abstract, Field::Other];
        b.muted_by = profile
            .mute
            .iter()
            .filter(|k| all.iter().any(|&f| k.count_in(self.words(paper, f)) > 0))
            .map(|k| k.as_str().to_owned())
            .collect();
        b.score = scored.scores[paper];
        b.why = self.why(profile, paper, scored);
        b
    }

    /// The similarity of today's `paper` to the liked paper `id` (0 below what is kept).
    fn similarity(&self, id: &PaperId, paper: usize) -> f64 {
        self.similar_to(id)
            .iter()
            .find(|(p, _)| *p as usize == paper)
            .map_or(0.0, |&(_, s)| f64::from(s))
    }

    /// The liked paper `paper` is most like, when that counts: (its place in `like`, the
    /// similarity); the first of equals.
    fn best_like(&self, profile: &Profile, paper: usize) -> Option<(usize, f64)> {
        let mut best: Option<(usize, f64)> = None;
        for (n, id) in profile.like.iter().enumerate() {
            let s = self.similarity(id, paper);
            if s >= LIKE_MIN_SIMILARITY && best.is_none_or(|(_, bs)| s > bs) {
                best = Some((n, s));
            }
        }
        best
    }

    /// "matches speculative decoding · by Tri Dao · like 2411.01234": the interests that hit
    /// (most points first), the followed authors as the paper lists them, and the liked paper
    /// it is most like.
    fn why(&self, profile: &Profile, paper: usize, scored: &Scored) -> String {
        let mut parts = Vec::new();
        let mut interests: Vec<(&str, f64)> = profile
            .interests
            .iter()
            .zip(&scored.interests)
            .filter_map(|(k, hits)| {
                let at = hits.binary_search_by_key(&paper, |h| h.0).ok()?;
                Some((k.as_str(), interest_points(hits[at].1, hits[at].2)))
            })
            .collect();
        interests.sort_by_key(|&(_, points)| Reverse((points * 10.0) as i64));
        if !interests.is_empty() {
            let names: Vec<&str> = interests
                .iter()
                .take(WHY_MAX)
                .map(|(k, _)| k.trim_end_matches('*'))
                .collect();
            parts.push(format!("matches {}", names.join(", ")));
        }
        let by: Vec<PapersBy> = profile.authors.iter().map(|f| self.papers_by(f)).collect();
        let mut authors: Vec<&str> = by
            .iter()
            .filter_map(|by| by.iter().find(|(p, _)| *p == paper))
            .map(|(_, a)| a.as_str())
            .collect();
        authors.dedup();
        authors.truncate(WHY_MAX);
        if !authors.is_empty() {
            parts.push(format!("by {}", authors.join(", ")));
        }
        if let Some((n, _)) = self.best_like(profile, paper) {
            parts.push(format!("like {}", profile.like[n]));
        }
        parts.join(" · ")
    }

    /// The reader's papers of the day in score order (those scoring anything), for `explain`.
    pub fn ranked(&self, digest: &Digest, profile: &Profile) -> Vec<(usize, f64)> {
        let scores = self.scores(profile).scores;
        let mut ranked: Vec<(usize, f64)> = scores
            .iter()
            .enumerate()
            .filter(|&(i, &s)| s > 0.0 && self.in_section(i))
            .map(|(i, &s)| (i, s))
            .collect();
        ranked.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then_with(|| digest.rank_key(a.0).cmp(&digest.rank_key(b.0)))
        });
        ranked
    }
}

fn interest_points(in_title: usize, in_abstract: usize) -> f64 {
    let hit = KeywordHit {
        keyword: String::new(),
        in_title,
        in_abstract,
    };
    f64::from(hit.score())
}

fn like_points(similarity: f64) -> f64 {
    if similarity >= LIKE_MIN_SIMILARITY {
        LIKE_POINTS * similarity
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests;
