//! Unit tests of rendering on hand-built papers.

use super::*;
use crate::digest::{Keyword, Rules, SectionRule};
use crate::edition::EditionId;
use crate::paper::{Paper, PaperId};

fn settings() -> DigestSettings {
    DigestSettings {
        max_papers: 60,
        teaser_chars: 120,
        repeat_after_days: 0,
        max_authors: 2,
    }
}

fn edition() -> EditionInfo {
    EditionInfo {
        id: EditionId::parse("2026-11-28").unwrap(),
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
        title: "Trending <Papers>".into(),
        list_id: "t.example.org".into(),
        base_url: "https://d.example.org".into(),
        more_url: "https://huggingface.co/papers".into(),
    }
}

fn digest(papers: Vec<Paper>) -> Digest {
    let rules = Rules {
        sections: vec![SectionRule {
            name: "Pruning".into(),
            keywords: vec![Keyword::parse("prun*").unwrap()],
            exclude: vec![],
        }],
        catch_all: Some("More".into()),
    };
    Digest::build(papers, &rules)
}

#[test]
fn hostile_titles_show_literally_in_both_parts() {
    let mut p = Paper::new(
        PaperId::from_title("x"),
        "<script>alert(1)</script></table>{{x}} pruning",
        "An abstract & more.",
    );
    p.links.code = crate::paper::HttpUrl::parse_opt(Some("javascript:alert(1)"));
    let d = digest(vec![p]);
    let r = Renderer::new(&Templates::builtin()).unwrap();
    let spec = VariantSpec::new(&[], &["Pruning", "More"], 60, false);
    let v = r
        .render_variant(&d, &spec, &edition(), &settings())
        .unwrap();
    let out = v.personalize(&Person {
        name: Some("<b>Eve</b>"),
        email: "eve@example.org",
        unsubscribe_url: "https://d.example.org/unsubscribe?token=a.b",
    });
    let html = out.html.unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;/table&gt;{{x}} pruning"));
    assert!(html.contains("Hi &lt;b&gt;Eve&lt;/b&gt;,"));
    assert!(!html.contains("javascript:"));
    assert!(
        out.text
            .contains("<script>alert(1)</script></table>{{x}} pruning")
    );
    assert!(out.text.contains("Hi <b>Eve</b>,"));
    assert!(
        out.text
            .contains("Unsubscribe: https://d.example.org/unsubscribe?token=a.b")
    );
    assert!(html.contains("href=\"https://d.example.org/unsubscribe?token=a.b\""));
}

#[test]
fn rendering_is_deterministic_and_css_is_inlined() {
    let papers: Vec<Paper> = (0..5)
        .map(|i| {
            Paper::new(
                PaperId::from_title(&format!("p{i}")),
                format!("Pruning {i}"),
                "Abs.",
            )
        })
        .collect();
    let d = digest(papers);
    let r = Renderer::new(&Templates::builtin()).unwrap();
    let spec = VariantSpec::new(&[], &["Pruning", "More"], 3, false);
    let a = r
        .render_variant(&d, &spec, &edition(), &settings())
        .unwrap();
    let b = r
        .render_variant(&d, &spec, &edition(), &settings())
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.shown, 3);
    let html = a.html.unwrap();
    assert!(html.contains("<h3 style="), "{html}");
    assert!(html.contains("@media"));
    assert!(a.text.contains("2 more in Pruning not shown."));
}

#[test]
fn teasers_cut_at_sentences_or_words() {
    let p = Paper::new(
        PaperId::from_title("t"),
        "t",
        "First sentence is here. Second sentence is a lot longer and goes on and on and on and on.",
    );
    assert_eq!(model::teaser(&p, 40), "First sentence is here.");
    let p = Paper::new(PaperId::from_title("t"), "t", "word ".repeat(50));
    let t = model::teaser(&p, 40);
    assert!(t.ends_with('…') && t.chars().count() <= 40, "{t}");
}

#[test]
fn strict_check_catches_unknown_fields() {
    let mut t = Templates::builtin();
    t.files.insert(
        "partials/paper.html.hbs".into(),
        (
            "<p>{{no_such_field}}</p>".into(),
            "over/partials/paper.html.hbs".into(),
        ),
    );
    let err = Renderer::new(&t).unwrap_err().to_string();
    assert!(err.contains("no_such_field"), "{err}");
    assert!(
        Renderer::new(&Templates::builtin())
            .unwrap()
            .check_strict(&Templates::builtin())
            .is_ok()
    );
}
