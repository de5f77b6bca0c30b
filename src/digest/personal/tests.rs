//! Ranking properties on the seed's 90 papers (`samples/daily-papers.txt`).

use super::*;
use crate::digest::{Rules, SectionRule};
use crate::paper::Paper;

fn seed() -> Vec<Paper> {
    let list =
        crate::source::parse_papers(crate::source::BUNDLED_SAMPLE, std::path::Path::new("seed"))
            .unwrap();
    // Give every paper an arXiv id and two authors, so that likes and authors can name them.
    list.papers
        .into_iter()
        .enumerate()
        .map(|(i, mut p)| {
            p.id = PaperId::parse(&format!("2405.{:05}", 20000 + i)).unwrap();
            p.authors = vec![format!("Author{i} Smith"), format!("Writer{} Jones", i % 7)];
            p
        })
        .collect()
}

fn digest(papers: Vec<Paper>) -> Digest {
    let kw = |k: &str| Keyword::parse(k).unwrap();
    Digest::build(
        papers,
        &Rules {
            sections: vec![SectionRule {
                name: "Federated Learning".into(),
                keywords: vec![kw("federated")],
                exclude: vec![],
            }],
            catch_all: Some("More papers".into()),
        },
    )
}

fn profile(interests: &[&str], authors: &[&str], like: &[&str], mute: &[&str]) -> Profile {
    Profile {
        interests: interests
            .iter()
            .map(|k| Arc::new(Keyword::parse(k).unwrap()))
            .collect(),
        authors: authors
            .iter()
            .map(|a| Arc::new(Author::parse(a).unwrap()))
            .collect(),
        like: like.iter().map(|i| PaperId::parse(i).unwrap()).collect(),
        mute: mute
            .iter()
            .map(|k| Arc::new(Keyword::parse(k).unwrap()))
            .collect(),
        for_you: None,
    }
}

/// A liked paper from an earlier edition that is a near-duplicate of `p`: other id, the title
/// reworded a little, every tenth word of the abstract dropped.
fn near_duplicate(p: &Paper, id: &str) -> Paper {
    let words: Vec<&str> = p.abstract_text.split_whitespace().collect();
    let abstract_text: Vec<&str> = words
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 10 != 3)
        .map(|(_, w)| *w)
        .collect();
    Paper::new(
        PaperId::parse(id).unwrap(),
        format!("Revisiting {}", p.title),
        abstract_text.join(" "),
    )
}

#[test]
fn a_near_duplicate_of_a_liked_paper_ranks_first() {
    let papers = seed();
    for target in (0..papers.len()).step_by(9) {
        let liked = near_duplicate(&papers[target], "2401.00001");
        let d = digest(papers.clone());
        let index = EditionIndex::build(&d, std::slice::from_ref(&liked));
        let r = index.rank(&d, &profile(&[], &[], &["2401.00001"], &[]), 60);
        assert_eq!(r.block[0].paper, target, "{}", papers[target].title);
        assert_eq!(r.block[0].why, "like 2401.00001");
        // Only papers that really resemble it follow, above the floor.
        for pick in &r.block[1..] {
            let b = index.explain(&d, &profile(&[], &[], &["2401.00001"], &[]), pick.paper);
            assert!(b.score >= FLOOR, "{b:?}");
        }
    }
}

#[test]
fn a_followed_authors_paper_is_in_the_block_whatever_the_spelling() {
    let d = digest(seed());
    let index = EditionIndex::build(&d, &[]);
    for (written, paper) in [
        ("A. Smith", None),
        ("author42 smith", Some(42)),
        ("Smith, Author7", Some(7)),
    ] {
        let p = profile(&["federated"], &[written], &[], &[]);
        let r = index.rank(&d, &p, 60);
        match paper {
            Some(i) => {
                assert_eq!(r.block[0].paper, i, "{written}");
                assert!(
                    r.block[0].why.contains(&format!("by Author{i} Smith")),
                    "{:?}",
                    r.block[0]
                );
            }
            // "A. Smith" matches every "AuthorN Smith": the block is full of their papers.
            None => assert!(r.block.iter().all(|b| b.why.contains("by Author")), "{r:?}"),
        }
    }
}

#[test]
fn interests_use_the_section_keyword_syntax_and_weights() {
    let d = digest(seed());
    let index = EditionIndex::build(&d, &[]);
    let p = profile(&["loss function*", "client drift"], &[], &[], &[]);
    let r = index.rank(&d, &p, 60);
    assert!(!r.block.is_empty());
    for pick in &r.block {
        let b = index.explain(&d, &p, pick.paper);
        let expect: f64 = b
            .interests
            .iter()
            .map(|h| {
                let title = if h.in_title > 0 { 3.0 } else { 0.0 };
                title + h.in_abstract.min(3) as f64
            })
            .sum();
        assert_eq!(b.score, expect);
        assert!(
            pick.why.starts_with("matches loss function"),
            "{}",
            pick.why
        );
        assert_eq!(pick.why, b.why);
    }
    // Ranked by score: the block's scores never increase.
    let scores: Vec<f64> = r
        .block
        .iter()
        .map(|b| index.explain(&d, &p, b.paper).score)
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
}

#[test]
fn the_floor_keeps_weak_matches_out_and_the_size_is_the_readers() {
    let d = digest(seed());
    let index = EditionIndex::build(&d, &[]);
    // A word that no paper has: no block at all.
    assert!(
        index
            .rank(&d, &profile(&["zyxwvut"], &[], &[], &[]), 60)
            .block
            .is_empty()
    );
    let mut p = profile(&["model*"], &[], &[], &[]);
    assert_eq!(index.rank(&d, &p, 60).block.len(), DEFAULT_FOR_YOU);
    p.for_you = Some(2);
    assert_eq!(index.rank(&d, &p, 60).block.len(), 2);
    assert_eq!(index.rank(&d, &p, 1).block.len(), 1, "the reader's cap");
    p.for_you = Some(0);
    assert!(index.rank(&d, &p, 60).block.is_empty());
    for pick in index
        .rank(&d, &profile(&["model*"], &[], &[], &[]), 60)
        .block
    {
        assert!(
            index
                .explain(&d, &profile(&["model*"], &[], &[], &[]), pick.paper)
                .score
                >= FLOOR
        );
    }
}

#[test]
fn a_mute_removes_papers_wherever_the_word_is_and_never_ranks_them() {
    let mut papers = seed();
    papers[3].links.code =
        crate::paper::HttpUrl::parse_opt(Some("https://github.com/x/benchmark-suite"));
    let d = digest(papers);
    let index = EditionIndex::build(&d, &[]);
    let p = profile(&["federated"], &[], &[], &["benchmark*"]);
    let r = index.rank(&d, &p, 60);
    assert!(r.muted.contains(&3), "a word in a link counts");
    for &m in &r.muted {
        let b = index.explain(&d, &p, m);
        assert_eq!(b.muted_by, ["benchmark*"]);
    }
    let mentions = d
        .papers
        .iter()
        .filter(|p| p.abstract_text.to_lowercase().contains("benchmark"))
        .count();
    assert!(r.muted.len() > mentions / 2 && mentions > 0);
    assert!(r.block.iter().all(|b| !r.muted.contains(&b.paper)));
}

/// A random profile over the seed: interests and mutes from its titles' words (whole, as
/// prefixes, as phrases, and some no paper has), followed authors in several spellings, liked
/// papers known and unknown.
fn random_profile(rng: &mut crate::test_rng::Rng, papers: &[Paper]) -> Profile {
    let keyword = |rng: &mut crate::test_rng::Rng| -> Arc<Keyword> {
        let title: Vec<&str> = papers[rng.below(papers.len())]
            .title
            .split_whitespace()
            .collect();
        let at = rng.below(title.len());
        let word = title[at];
        let raw = match rng.below(5) {
            0 => format!("{}*", word.chars().take(4).collect::<String>()),
            1 if at + 1 < title.len() => format!("{word} {}", title[at + 1]),
            2 => format!("zq{}", rng.below(50)),
            _ => word.to_owned(),
        };
        Arc::new(Keyword::parse(&raw).unwrap_or_else(|_| Keyword::parse("model*").unwrap()))
    };
    let interests = (0..rng.below(4)).map(|_| keyword(rng)).collect();
    let mute = (0..rng.below(3)).map(|_| keyword(rng)).collect();
    let authors = (0..rng.below(3))
        .map(|_| {
            let i = rng.below(papers.len());
            let raw = match rng.below(4) {
                0 => format!("Author{i} Smith"),
                1 => format!("W. Jones, {}", i % 3),
                2 => format!("Jones, Writer{}", i % 7),
                _ => "A. Smith".to_owned(),
            };
            Arc::new(Author::parse(&raw).unwrap())
        })
        .collect();
    let like = (0..rng.below(3))
        .map(|_| match rng.below(3) {
            0 => PaperId::parse("2401.00001").unwrap(),
            1 => PaperId::parse("2401.99999").unwrap(),
            _ => papers[rng.below(papers.len())].id.clone(),
        })
        .collect();
    Profile {
        interests,
        authors,
        like,
        mute,
        for_you: (rng.below(3) == 0).then(|| rng.below(8)),
    }
}

#[test]
fn memoized_hits_rank_exactly_as_fresh_ones_and_the_memo_stays_bounded() {
    let papers = seed();
    let liked = [near_duplicate(&papers[4], "2401.00001")];
    let d = digest(papers.clone());
    let memoized = EditionIndex::build(&d, &liked);
    let fresh = EditionIndex::build(&d, &liked).with_memo_limits(0, 0);
    let small = EditionIndex::build(&d, &liked).with_memo_limits(5, 40);
    let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
    let (mut blocks, mut mutes) = (0, 0);
    for case in 0..300 {
        let p = random_profile(&mut rng, &papers);
        let expected = fresh.rank(&d, &p, 60);
        blocks += usize::from(!expected.block.is_empty());
        mutes += usize::from(!expected.muted.is_empty());
        let ranked = fresh.ranked(&d, &p);
        // Twice: the first time fills the memo, the second reads it.
        for index in [&memoized, &small, &memoized] {
            assert_eq!(index.rank(&d, &p, 60), expected, "case {case}: {p:?}");
            assert_eq!(index.ranked(&d, &p), ranked, "case {case}: {p:?}");
            for paper in expected
                .muted
                .iter()
                .chain(ranked.iter().map(|r| &r.0))
                .take(8)
            {
                assert_eq!(
                    index.explain(&d, &p, *paper),
                    fresh.explain(&d, &p, *paper),
                    "case {case}: {p:?}"
                );
            }
        }
        for k in &p.interests {
            assert_eq!(&*memoized.interest_hits(k), fresh.interest_hits_afresh(k));
        }
        for k in &p.mute {
            assert_eq!(&*memoized.muted_by(k), fresh.muted_by_afresh(k));
        }
        for a in &p.authors {
            assert_eq!(&*memoized.papers_by(a), fresh.papers_by_afresh(a));
        }
    }
    assert!(
        blocks > 100 && mutes > 50,
        "{blocks} blocks, {mutes} with mutes"
    );
    assert_eq!(fresh.memo_len(), [(0, 0); 3]);
    for (entries, items) in small.memo_len() {
        assert!(
            entries > 0 && entries <= 5 && items <= 40,
            "{:?}",
            small.memo_len()
        );
    }
    for (entries, items) in memoized.memo_len() {
        assert!(entries > 5 && items > 40, "{:?}", memoized.memo_len());
    }
}
