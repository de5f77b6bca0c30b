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

#[test]
fn chinese_and_japanese_titles_wrap_in_the_text_part() {
    let titles = [
        "面向大规模语言模型推理的跨领域强化学习再审视：数学、代码、科学、逻辑、模拟与表格六大推理领域的系统性实证研究与开放数据集",
        "大規模言語モデルのための音楽特徴量を考慮したマルチタスク学習によるキャプション生成手法の提案と、長尺楽曲に対する時間情報付き詳細記述の自動生成",
    ];
    let papers = titles
        .iter()
        .map(|t| {
            Paper::new(
                PaperId::from_title(t),
                *t,
                "强化学习已成为提升大规模语言模型推理能力的一种有前景的方法，但大多数公开工作狭隘地聚焦于数学和代码。",
            )
        })
        .collect();
    let d = digest(papers);
    let r = Renderer::new(&Templates::builtin()).unwrap();
    let spec = VariantSpec::new(&[], &["Pruning", "More"], 60, true);
    let v = r
        .render_variant(&d, &spec, &edition(), &settings())
        .unwrap();
    let long: Vec<&str> = v
        .text
        .lines()
        .filter(|l| !l.contains("://") && textwrap::core::display_width(l) > 78)
        .collect();
    assert!(long.is_empty(), "lines over 78 columns: {long:#?}");
    // Every character is still there, in order, and no line starts with closing punctuation.
    let joined: String = v.text.lines().map(str::trim).collect();
    assert!(joined.contains(&titles[0].replace(' ', "")), "{}", v.text);
    assert!(
        !v.text
            .lines()
            .any(|l| l.trim_start().starts_with(['、', '。', '：', '，']))
    );
    // URLs and English stay whole.
    let u = text_part_words("see https://github.com/LLM360/Reasoning360 state-of-the-art")
        .map(|w| w.word)
        .collect::<Vec<_>>();
    assert_eq!(
        u,
        [
            "see",
            "https://github.com/LLM360/Reasoning360",
            "state-of-the-art"
        ]
    );
}
