//! The edition's papers indexed once, so that ranking them for one reader is sparse work:
//! a sorted vocabulary with postings (keyword hits without scanning every abstract), papers by
//! their authors' family names, and tf-idf vectors from which each liked paper's most similar
//! papers of the day are found once per edition, however many readers liked it. An interest,
//! mute or followed author's hits are worked out the first time a reader has it and kept for
//! the others ([`Memo`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::authors::Author;
use super::memo::{self, Memo};
use crate::digest::{Digest, Keyword, Words};
use crate::paper::{Paper, PaperId};

/// Where a word occurs: title, abstract, or the rest a reader sees (AI summary, authors, links).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Field {
    Title = 0,
    Abstract = 1,
    Other = 2,
}

const FIELDS: [Field; 3] = [Field::Title, Field::Abstract, Field::Other];

#[derive(Debug, Clone, Copy)]
struct Posting {
    paper: u32,
    field: Field,
    pos: u32,
}

/// Similarities below this are noise between unrelated papers and are not kept.
const MIN_KEPT_SIMILARITY: f32 = 0.05;

/// Common English words that say nothing about a paper's subject.
const STOPWORDS: &[&str] = &[
    "about", "across", "after", "also", "among", "and", "any", "are", "based", "been", "between",
    "both", "but", "can", "could", "does", "each", "for", "from", "has", "have", "how", "into",
    "its", "more", "most", "not", "our", "over", "such", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "those", "through", "under", "use", "used", "using",
    "via", "was", "we", "were", "what", "when", "where", "which", "while", "who", "will", "with",
    "without", "yet",
];

/// One edition, indexed.
#[derive(Debug)]
pub struct EditionIndex {
    /// Per paper: its title, abstract and other words.
    words: Vec<[Words; 3]>,
    /// Sorted by word.
    vocab: Vec<(Box<str>, Vec<Posting>)>,
    /// Papers by the family names of their authors.
    by_family: HashMap<String, Vec<(u32, Arc<Author>)>>,
    /// Each liked paper's similar papers of the day, most similar first.
    similar: HashMap<PaperId, Vec<(u32, f32)>>,
    /// Whether a paper is in a section of the digest (and so may be in an email).
    in_section: Vec<bool>,
    /// [`Self::interest_hits`] by keyword.
    interests: Memo<InterestHits>,
    /// [`Self::muted_by`] by keyword.
    mutes: Memo<usize>,
    /// [`Self::papers_by`] by followed author (as written).
    authors: Memo<(usize, Arc<Author>)>,
}

/// One interest keyword in one paper: (paper, hits in the title, hits in the abstract).
pub(crate) type InterestHits = (usize, usize, usize);

/// A followed author's papers: (paper, the author as the paper lists them), by paper.
pub(crate) type PapersBy = Arc<[(usize, Arc<Author>)]>;

impl EditionIndex {
    /// Indexes `digest`'s papers; `liked` are the papers readers liked (from earlier editions
    /// or the arXiv API), compared with today's once here.
    pub fn build(digest: &Digest, liked: &[Paper]) -> Self {
        let words: Vec<[Words; 3]> = digest.papers.iter().map(paper_words).collect();
        let vocab = postings(&words);
        let mut by_family: HashMap<String, Vec<(u32, Arc<Author>)>> = HashMap::new();
        for (i, paper) in digest.papers.iter().enumerate() {
            for name in &paper.authors {
                if let Ok(author) = Author::parse(name) {
                    by_family
                        .entry(author.family().to_owned())
                        .or_default()
                        .push((i as u32, Arc::new(author)));
                }
            }
        }
        let mut in_section = vec![false; digest.papers.len()];
        for s in &digest.sections {
            for &i in &s.papers {
                in_section[i] = true;
            }
        }
        let tfidf = TfIdf::new(&words);
        let similar = liked
            .iter()
            .map(|p| {
                let own = digest.papers.iter().position(|d| d.id == p.id);
                (p.id.clone(), tfidf.similar(p, own))
            })
            .collect();
        Self {
            words,
            vocab,
            by_family,
            similar,
            in_section,
            interests: Memo::new(memo::ENTRIES, memo::ITEMS),
            mutes: Memo::new(memo::ENTRIES, memo::ITEMS),
            authors: Memo::new(memo::ENTRIES, memo::ITEMS),
        }
    }

    /// The same index keeping at most `entries` entries and `items` hits in each memo (0:
    /// works out every reader's hits afresh).
    #[cfg(test)]
    pub(super) fn with_memo_limits(mut self, entries: usize, items: usize) -> Self {
        self.interests = Memo::new(entries, items);
        self.mutes = Memo::new(entries, items);
        self.authors = Memo::new(entries, items);
        self
    }

    /// How many entries and hits the memos keep: interests, mutes, authors.
    #[cfg(test)]
    pub(super) fn memo_len(&self) -> [(usize, usize); 3] {
        [self.interests.len(), self.mutes.len(), self.authors.len()]
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    pub(crate) fn in_section(&self, paper: usize) -> bool {
        self.in_section[paper]
    }

    /// A paper's words in one field.
    pub(crate) fn words(&self, paper: usize, field: Field) -> &Words {
        &self.words[paper][field as usize]
    }

    /// Where the interest `keyword` hits title and abstract, by paper.
    pub(crate) fn interest_hits(&self, keyword: &Keyword) -> Arc<[InterestHits]> {
        self.interests
            .get_or(keyword.as_str(), || self.interest_hits_afresh(keyword))
    }

    /// [`Self::interest_hits`] worked out now.
    pub(super) fn interest_hits_afresh(&self, keyword: &Keyword) -> Vec<InterestHits> {
        // Hits come by paper, title before abstract.
        let mut per_paper: Vec<InterestHits> = Vec::new();
        for (p, field, n) in self.hits(keyword, &[Field::Title, Field::Abstract]) {
            if per_paper.last().is_none_or(|last| last.0 != p) {
                per_paper.push((p, 0, 0));
            }
            let last = per_paper.last_mut().expect("pushed above");
            match field {
                Field::Title => last.1 += n,
                _ => last.2 += n,
            }
        }
        per_paper
    }

    /// The papers the mute `keyword` hits anywhere the email would show them, ascending.
    pub(crate) fn muted_by(&self, keyword: &Keyword) -> Arc<[usize]> {
        self.mutes
            .get_or(keyword.as_str(), || self.muted_by_afresh(keyword))
    }

    /// [`Self::muted_by`] worked out now.
    pub(super) fn muted_by_afresh(&self, keyword: &Keyword) -> Vec<usize> {
        let mut papers: Vec<usize> = self
            .hits(keyword, &FIELDS)
            .into_iter()
            .map(|(p, _, _)| p)
            .collect();
        papers.dedup();
        papers
    }

    /// Every (paper, field) where `keyword` occurs among `fields`, with how often, by paper.
    fn hits(&self, keyword: &Keyword, fields: &[Field]) -> Vec<(usize, Field, usize)> {
        let Some(first) = keyword.words().first() else {
            return Vec::new();
        };
        let start = self.vocab.partition_point(|(w, _)| &**w < first.as_str());
        let one_word = keyword.words().len() == 1;
        let mut at: Vec<(u32, Field)> = Vec::new();
        for (word, postings) in &self.vocab[start..] {
            let matches = if one_word && keyword.is_prefix() {
                word.starts_with(first.as_str())
            } else {
                **word == **first
            };
            if !matches {
                break;
            }
            // A posting of a one-word keyword is a hit; a phrase must go on from there.
            at.extend(
                postings
                    .iter()
                    .filter(|p| fields.contains(&p.field))
                    .filter(|p| {
                        one_word
                            || keyword
                                .matches_at(self.words(p.paper as usize, p.field), p.pos as usize)
                    })
                    .map(|p| (p.paper, p.field)),
            );
        }
        at.sort_unstable();
        let mut found: Vec<(usize, Field, usize)> = Vec::new();
        for (paper, field) in at {
            match found.last_mut() {
                Some(last) if last.0 == paper as usize && last.1 == field => last.2 += 1,
                _ => found.push((paper as usize, field, 1)),
            }
        }
        found
    }

    /// Papers with an author who can be `followed`, with that author as the paper lists them,
    /// by paper.
    pub(crate) fn papers_by(&self, followed: &Author) -> PapersBy {
        self.authors
            .get_or(followed.as_str(), || self.papers_by_afresh(followed))
    }

    /// [`Self::papers_by`] worked out now.
    pub(super) fn papers_by_afresh(&self, followed: &Author) -> Vec<(usize, Arc<Author>)> {
        self.by_family
            .get(followed.family())
            .into_iter()
            .flatten()
            .filter(|(_, a)| a.matches(followed))
            .map(|(p, a)| (*p as usize, Arc::clone(a)))
            .collect()
    }

    /// Today's papers similar to the liked paper `id` (cosine of tf-idf vectors over title and
    /// abstract), most similar first; empty when its text is not known.
    pub(crate) fn similar_to(&self, id: &PaperId) -> &[(u32, f32)] {
        self.similar.get(id).map_or(&[], Vec::as_slice)
    }

    /// Whether the liked paper's text is known.
    pub(crate) fn knows_liked(&self, id: &PaperId) -> bool {
        self.similar.contains_key(id)
    }
}

fn paper_words(p: &Paper) -> [Words; 3] {
    let mut other = String::new();
    for part in p.ai_summary.iter().chain(&p.authors).chain(&p.ai_keywords) {
        other.push_str(part);
        other.push('\n');
    }
    let links = p.resolved_links();
    for url in [
        &links.abs,
        &links.pdf,
        &links.hf,
        &links.code,
        &links.project,
    ]
    .into_iter()
    .flatten()
    {
        other.push_str(url.as_str());
        other.push('\n');
    }
    [
        Words::new(&p.title),
        Words::new(&p.abstract_text),
        Words::new(&other),
    ]
}

fn postings(words: &[[Words; 3]]) -> Vec<(Box<str>, Vec<Posting>)> {
    let mut map: HashMap<&str, Vec<Posting>> = HashMap::new();
    for (paper, fields) in words.iter().enumerate() {
        for field in FIELDS {
            for (pos, w) in fields[field as usize].iter().enumerate() {
                map.entry(w).or_default().push(Posting {
                    paper: paper as u32,
                    field,
                    pos: pos as u32,
                });
            }
        }
    }
    let mut vocab: Vec<(Box<str>, Vec<Posting>)> =
        map.into_iter().map(|(w, p)| (w.into(), p)).collect();
    vocab.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    vocab
}

/// tf-idf over title and abstract (title words count twice), cosine similarity. Terms are
/// visited in sorted order, so that sums (and ties) are the same in every process.
struct TfIdf {
    /// Term → document frequency and index.
    terms: HashMap<String, (u32, usize)>,
    /// Per term index: (paper, weight) postings.
    postings: Vec<Vec<(u32, f32)>>,
    norms: Vec<f32>,
    n: usize,
}

impl TfIdf {
    fn new(words: &[[Words; 3]]) -> Self {
        let counts: Vec<BTreeMap<String, u32>> =
            words.iter().map(|w| term_counts(&w[0], &w[1])).collect();
        let mut terms: HashMap<String, (u32, usize)> = HashMap::new();
        for c in &counts {
            for t in c.keys() {
                let next = terms.len();
                terms.entry(t.clone()).or_insert((0, next)).0 += 1;
            }
        }
        let n = words.len();
        let mut postings = vec![Vec::new(); terms.len()];
        let mut norms = vec![0f32; n];
        for (paper, c) in counts.iter().enumerate() {
            let mut sum = 0f32;
            for (t, &tf) in c {
                let (df, index) = terms[t];
                let w = weight(tf, idf(n, df));
                postings[index].push((paper as u32, w));
                sum += w * w;
            }
            norms[paper] = sum.sqrt();
        }
        Self {
            terms,
            postings,
            norms,
            n,
        }
    }

    /// Today's papers by cosine similarity to `liked`, leaving out `own` (the liked paper
    /// itself, when it is in today's list too).
    fn similar(&self, liked: &Paper, own: Option<usize>) -> Vec<(u32, f32)> {
        let counts = term_counts(&Words::new(&liked.title), &Words::new(&liked.abstract_text));
        let mut dot = vec![0f32; self.n];
        let mut norm = 0f32;
        for (t, &tf) in &counts {
            let (df, index) = self.terms.get(t).map_or((0, None), |&(d, i)| (d, Some(i)));
            let w = weight(tf, idf(self.n, df));
            norm += w * w;
            if let Some(index) = index {
                for &(paper, pw) in &self.postings[index] {
                    dot[paper as usize] += w * pw;
                }
            }
        }
        let norm = norm.sqrt();
        let mut out: Vec<(u32, f32)> = dot
            .iter()
            .enumerate()
            .filter(|&(p, _)| Some(p) != own)
            .filter_map(|(p, &d)| {
                let denom = norm * self.norms[p];
                let sim = if denom > 0.0 { d / denom } else { 0.0 };
                (sim >= MIN_KEPT_SIMILARITY).then_some((p as u32, sim))
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

fn idf(n: usize, df: u32) -> f32 {
    ((n as f32 + 1.0) / (df as f32 + 1.0)).ln() + 1.0
}

fn weight(tf: u32, idf: f32) -> f32 {
    (1.0 + (tf as f32).ln()) * idf
}

fn term_counts(title: &Words, abstract_words: &Words) -> BTreeMap<String, u32> {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    let useful = |w: &&str| w.chars().count() >= 3 && !STOPWORDS.contains(w);
    for w in title.iter().filter(useful) {
        *counts.entry(w.to_owned()).or_default() += 2;
    }
    for w in abstract_words.iter().filter(useful) {
        *counts.entry(w.to_owned()).or_default() += 1;
    }
    counts
}
