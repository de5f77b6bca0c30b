//! Splices give the reference's bytes (the check `Splicer::new` runs, made loud).

use super::tests_on_fixtures::splices_match;
use super::*;
use crate::render::Templates;

#[test]
fn the_built_in_templates_splice_to_the_reference_bytes() {
    let renderer = Renderer::new(&Templates::builtin()).unwrap();
    let splicer = Splicer::new(&renderer).unwrap();
    assert!(splices_match(&splicer, &renderer));
    assert!(splicer.usable);
}

#[test]
fn a_splice_holds_the_block_the_values_and_nothing_muted() {
    use super::tests_on_fixtures::{edition, settings, spliced};
    use crate::digest::personal::{Pick, Ranking};
    let renderer = Renderer::new(&Templates::builtin()).unwrap();
    let splicer = Splicer::new(&renderer).unwrap();
    let papers: Vec<crate::paper::Paper> = (0..6)
        .map(|i| {
            crate::paper::Paper::new(
                crate::paper::PaperId::parse(&format!("2405.{:05}", 40000 + i)).unwrap(),
                format!(
                    "Paper {i} on {}",
                    if i % 2 == 0 { "pruning" } else { "graphs" }
                ),
                "An abstract.",
            )
        })
        .collect();
    let rules = crate::digest::Rules {
        sections: vec![
            crate::digest::SectionRule {
                name: "Pruning".into(),
                keywords: vec![Keyword::parse("pruning").unwrap()],
                exclude: vec![],
            },
            crate::digest::SectionRule {
                name: "Graphs".into(),
                keywords: vec![Keyword::parse("graphs").unwrap()],
                exclude: vec![],
            },
        ],
        catch_all: None,
    };
    let digest = Digest::build(papers, &rules);
    let spec = VariantSpec::new(&[], &["Pruning", "Graphs"], usize::MAX, false);
    let catalog = splicer
        .catalog(&renderer, &digest, &edition(), &settings())
        .unwrap();
    let skeleton = splicer
        .skeleton(&renderer, &digest, &spec, &edition(), &settings())
        .unwrap();
    let ranking = Ranking {
        muted: vec![],
        block: vec![Pick {
            paper: 3,
            why: "by Tri Dao".into(),
        }],
    };
    let mute = [std::sync::Arc::new(Keyword::parse("graphs").unwrap())];
    let plan = splicer.plan(
        &skeleton,
        &catalog,
        &digest,
        &settings(),
        &super::Reader {
            spec: &spec,
            ranking: &ranking,
            mute: &mute,
        },
    );
    let person = Person {
        name: Some("Ada"),
        email: "ada@example.org",
        unsubscribe_url: "https://u.example.org/x",
        preferences_url: "https://u.example.org/preferences?token=p.q",
    };
    let text = spliced(&skeleton, &catalog, &plan, &person, false);
    // Paper 3 is about graphs, which this reader mutes: no block, no Graphs section.
    assert!(!text.contains("For you"), "{text}");
    assert!(!text.to_lowercase().contains("graphs"), "{text}");
    assert!(text.contains("3 papers"), "{text}");
    let plan = splicer.plan(
        &skeleton,
        &catalog,
        &digest,
        &settings(),
        &super::Reader {
            spec: &spec,
            ranking: &ranking,
            mute: &[],
        },
    );
    let text = spliced(&skeleton, &catalog, &plan, &person, false);
    assert!(
        text.contains("== For you ==\n\n* Paper 3 on graphs\n  > by Tri Dao\n"),
        "{text}"
    );
    assert_eq!(text.matches("Paper 3 on graphs").count(), 1, "{text}");
    assert!(
        text.contains("In this issue: For you (1) · Pruning (3) · Graphs (2)"),
        "{text}"
    );
    assert!(text.contains("Hi Ada,"), "{text}");
}

#[test]
fn templates_a_splice_cannot_follow_are_rendered_whole() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("partials")).unwrap();
    // Numbering papers with @index: a skeleton renders one paper per section.
    let html = include_str!("../../../templates/digest.html.hbs")
        .replace("{{> paper}}", "<p>{{@index}}</p>{{> paper}}");
    std::fs::write(dir.path().join("digest.html.hbs"), html).unwrap();
    let renderer = Renderer::new(&Templates::load(Some(dir.path())).unwrap()).unwrap();
    let splicer = Splicer::new(&renderer).unwrap();
    assert!(!splicer.usable);
}

#[test]
fn text_is_escaped_as_the_css_inliner_escapes_it() {
    let reference = |s: &str| {
        s.chars()
            .map(|c| match c {
                '&' => "&amp;".to_owned(),
                '<' => "&lt;".to_owned(),
                '>' => "&gt;".to_owned(),
                '\u{a0}' => "&nbsp;".to_owned(),
                c => c.to_string(),
            })
            .collect::<String>()
    };
    for s in [
        "",
        "plain",
        "a & b <c> d\u{a0}e",
        "Â¡ ¢ \u{a0}\u{a0} é & 中 <",
        "&&<<>>",
        "ends with &",
    ] {
        let mut out = String::from("x");
        escape_text(s, &mut out);
        assert_eq!(out, format!("x{}", reference(s)), "{s:?}");
    }
}
