//! The check [`super::Splicer::new`] runs: on a small edition that exercises every per-reader
//! part (a block, mutes that hide a section, caps, one paper, escaping), a splice must give
//! exactly the bytes of the reference rendering, in both parts, or splices are not used.

use super::super::{EditionInfo, Person, Renderer, VariantSpec};
use super::{Catalog, Piece, Planned, Skeleton, Splicer};
use crate::config::DigestSettings;
use crate::digest::personal::{Pick, Ranking};
use crate::digest::{Digest, Keyword, Rules, SectionRule};
use crate::edition::EditionId;
use crate::paper::{Paper, PaperId};

fn papers() -> Vec<Paper> {
    let topics = [
        ("Pruning", "pruning weights & <sparsity>"),
        ("Graphs", "graph message passing"),
        ("Pruning", "structured pruning of \"heads\""),
        ("Graphs", "graph transformers"),
        ("Cooking", "recipes and O'Brien's stew"),
        ("Graphs", "graph benchmarks"),
    ];
    topics
        .iter()
        .enumerate()
        .map(|(i, (t, words))| {
            let mut p = Paper::new(
                PaperId::parse(&format!("2405.{:05}", 30000 + i)).unwrap(),
                format!("{t} study {i}: {words}"),
                format!("We study {words}. It works well in practice, mostly."),
            );
            p.authors = vec!["Seán O'Brien".into(), "Zoë Müller".into()];
            p.upvotes = Some(i as u32);
            p
        })
        .collect()
}

fn digest() -> Digest {
    let section = |name: &str, kw: &str| SectionRule {
        name: name.into(),
        keywords: vec![Keyword::parse(kw).unwrap()],
        exclude: vec![],
    };
    Digest::build(
        papers(),
        &Rules {
            sections: vec![
                section("Pruning & Co", "pruning"),
                section("Graph's", "graph*"),
            ],
            catch_all: Some("More <papers>".into()),
        },
    )
}

pub(super) fn edition() -> EditionInfo {
    EditionInfo {
        id: EditionId::parse("2026-11-28").unwrap(),
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
        title: "Fixture".into(),
        list_id: "f.example.org".into(),
        base_url: "https://f.example.org".into(),
        more_url: "https://f.example.org/all".into(),
        reply_to: None,
        from: "digest@f.example.org".into(),
        archive_url: Some("https://f.example.org/archive".into()),
    }
}

pub(super) fn settings() -> DigestSettings {
    DigestSettings {
        max_papers: 60,
        teaser_chars: 80,
        repeat_after_days: 0,
        max_authors: 2,
    }
}

/// (topics, cap, text only, block, mutes) of each case.
type Case = (
    &'static [&'static str],
    usize,
    bool,
    &'static [usize],
    &'static [&'static str],
);

const CASES: &[Case] = &[
    (&[], usize::MAX, false, &[4, 1], &[]),
    (&[], usize::MAX, true, &[4, 1], &[]),
    (&[], 3, false, &[2, 5], &["graph*"]),
    (&["Graph's"], usize::MAX, false, &[], &["benchmark*"]),
    (&["Pruning & Co"], 1, true, &[0], &[]),
    (&["Pruning & Co"], 1, false, &[3], &[]),
    (&[], 2, false, &[], &["pruning", "graph*"]),
];

fn ranking(digest: &Digest, block: &[usize], mute: &[std::sync::Arc<Keyword>]) -> Ranking {
    let index = crate::digest::personal::EditionIndex::build(digest, &[]);
    let profile = crate::digest::personal::Profile {
        mute: mute.to_vec(),
        ..Default::default()
    };
    let muted = index.rank(digest, &profile, 60).muted;
    Ranking {
        block: block
            .iter()
            .map(|&paper| Pick {
                paper,
                why: format!("matches <x> & by Seán O'Brien · like 2411.0123{paper}"),
            })
            .collect(),
        muted,
    }
}

/// A part assembled to a string.
pub(super) fn spliced(
    skeleton: &Skeleton,
    catalog: &Catalog,
    plan: &Planned,
    person: &Person<'_>,
    html: bool,
) -> String {
    let mut out = String::new();
    Splicer::assemble(skeleton, catalog, plan, person, html, &mut |p| match p {
        Piece::Fixed {
            catalog: true,
            index,
        } => out.push_str(&catalog.fixed[index]),
        Piece::Fixed {
            catalog: false,
            index,
        } => out.push_str(&skeleton.fixed[index]),
        Piece::Own(s) => out.push_str(s),
    });
    out
}

/// Whether every case splices to the reference's bytes.
pub(super) fn splices_match(splicer: &Splicer, renderer: &Renderer) -> bool {
    let digest = digest();
    let (edition, settings) = (edition(), settings());
    let names: Vec<&str> = digest.sections.iter().map(|s| s.name.as_str()).collect();
    let person = Person {
        name: Some("Ada <&> O'Brien"),
        email: "ada@example.org",
        unsubscribe_url: "https://f.example.org/unsubscribe?token=a.b",
        preferences_url: "https://f.example.org/preferences?token=p.q",
    };
    let Ok(catalog) = splicer.catalog(renderer, &digest, &edition, &settings) else {
        return false;
    };
    CASES.iter().all(|&(topics, cap, text_only, block, mute)| {
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        let spec = VariantSpec::new(&topics, &names, cap, text_only);
        let mute: Vec<std::sync::Arc<Keyword>> = mute
            .iter()
            .map(|k| std::sync::Arc::new(Keyword::parse(k).unwrap()))
            .collect();
        let ranking = ranking(&digest, block, &mute);
        let Ok(reference) =
            renderer.render_personal(&digest, &spec, &edition, &settings, &ranking, &mute)
        else {
            return false;
        };
        let reference = reference.personalize(&person);
        let Ok(skeleton) = splicer.skeleton(renderer, &digest, &spec, &edition, &settings) else {
            return false;
        };
        let plan = splicer.plan(
            &skeleton,
            &catalog,
            &digest,
            &settings,
            &super::Reader {
                spec: &spec,
                ranking: &ranking,
                mute: &mute,
            },
        );
        let text = spliced(&skeleton, &catalog, &plan, &person, false);
        let html = (!text_only).then(|| spliced(&skeleton, &catalog, &plan, &person, true));
        let same = text == reference.text && html == reference.html;
        if !same {
            tracing::debug!(
                "splice differs from the reference:\n--- reference\n{}\n--- splice\n{}",
                reference.html.as_deref().unwrap_or(&reference.text),
                html.as_deref().unwrap_or(&text)
            );
        }
        same
    })
}
