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
