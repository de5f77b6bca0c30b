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
        reply_to: None,
        from: "digest@d.example.org".into(),
        archive_url: None,
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
        preferences_url: "https://d.example.org/preferences?token=p.q",
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
    assert!(
        out.text
            .contains("Manage your subscription: https://d.example.org/preferences?token=p.q")
    );
    assert!(html.contains("<a class=\"t\" href=\"https://d.example.org/preferences?token=p.q\""));
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
    assert!(a.text.contains("\n2 more in Pruning\n"), "{}", a.text);
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

/// Papers in three sections and none: `n` of each kind, with authors and links so that a few
/// hundred of them overflow the HTML budget.
fn mixed_papers(n: usize) -> Vec<Paper> {
    let mut papers = Vec::new();
    for i in 0..n {
        for (topic, words) in [
            ("pruning", "sparse weights"),
            ("graph", "message passing"),
            ("federated", "client drift"),
            ("cooking", "recipes"),
        ] {
            let title = format!("A {topic} study number {i} on {words} at scale with long titles");
            let mut p = Paper::new(
                PaperId::parse(&format!("2405.{:05}", papers.len() + 10000)).unwrap(),
                title,
                format!("We study {topic} and {words}. ").repeat(12),
            );
            p.upvotes = Some((i * 7 % 50) as u32);
            p.authors = (0..6).map(|a| format!("Author Number{a}")).collect();
            p.links.code = crate::paper::HttpUrl::parse_opt(Some(&format!(
                "https://github.com/example/{topic}-{i}"
            )));
            papers.push(p);
        }
    }
    papers
}

fn three_sections(catch_all: bool) -> Rules {
    let section = |name: &str, kw: &str| SectionRule {
        name: name.into(),
        keywords: vec![Keyword::parse(kw).unwrap()],
        exclude: vec![],
    };
    Rules {
        sections: vec![
            section("Pruning", "prun*"),
            section("Graphs", "graph*"),
            section("Federated Learning", "federated"),
        ],
        catch_all: catch_all.then(|| "Everything else".into()),
    }
}

/// What a text part accounts for: papers shown, "N more in SECTION" lines, and the closing
/// line's total and numbered causes.
struct Accounting {
    shown: usize,
    per_section: Vec<(usize, String)>,
    closing: Option<(usize, String)>,
}

fn accounting(text: &str) -> Accounting {
    let shown = text.lines().filter(|l| l.starts_with("* ")).count();
    let per_section = text
        .lines()
        .filter_map(|l| {
            let (n, rest) = l.split_once(" more in ")?;
            Some((n.parse().ok()?, rest.to_owned()))
        })
        .collect();
    // The closing line may be wrapped: join the paragraph that starts with "N more paper".
    let closing = text
        .split("\n\n")
        .map(|p| p.replace('\n', " "))
        .find(|p| p.contains(" not in this email — "))
        .map(|p| {
            let n = p.split_whitespace().next().unwrap().parse().unwrap();
            (n, p)
        });
    Accounting {
        shown,
        per_section,
        closing,
    }
}

/// The numbers the closing line gives its causes, when it gives several.
fn cause_numbers(line: &str) -> Vec<usize> {
    let why = line.split(" — ").nth(1).unwrap();
    why.split([',', ' '])
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0].chars().all(|c| c.is_ascii_digit()) && w[1] != "papers" && w[1] != "paper")
        .map(|w| w[0].parse().unwrap())
        .collect()
}

/// One kind of reader for the accounting test: papers per kind, the catch-all, the
/// newsletter's cap, the reader's topics, cap and format.
struct Case {
    what: &'static str,
    n: usize,
    catch_all: bool,
    max: usize,
    topics: &'static [&'static str],
    cap: usize,
    text_only: bool,
}

#[test]
fn what_is_left_out_adds_up_for_every_kind_of_reader() {
    let r = Renderer::new(&Templates::builtin()).unwrap();
    let case = |what, n, catch_all, max, topics, cap, text_only| Case {
        what,
        n,
        catch_all,
        max,
        topics,
        cap,
        text_only,
    };
    let all = usize::MAX;
    let cases = [
        case("everything fits", 3, true, 60, &[], all, false),
        case("the newsletter's cap", 30, true, 60, &[], all, false),
        case("the reader's cap", 30, true, 60, &[], 5, false),
        case("topics", 5, true, 60, &["Graphs"], all, false),
        case(
            "topics and a cap",
            10,
            true,
            60,
            &["graphs", "Pruning"],
            4,
            false,
        ),
        case("text only with a cap", 10, true, 60, &[], 7, true),
        case("no catch-all", 5, false, 60, &[], all, false),
        case(
            "no catch-all, topics, cap",
            10,
            false,
            60,
            &["Pruning"],
            3,
            true,
        ),
        case("the size budget", 120, true, 1000, &[], all, false),
        case(
            "size, topics, cap",
            120,
            false,
            1000,
            &["Pruning", "Graphs"],
            200,
            false,
        ),
    ];
    for c in cases {
        check_accounting(&r, c);
    }
}

/// Renders one kind of reader's email and checks that every paper is accounted for once.
fn check_accounting(r: &Renderer, c: Case) {
    let Case {
        what,
        n,
        catch_all,
        max,
        topics,
        cap,
        text_only,
    } = c;
    let names = ["Pruning", "Graphs", "Federated Learning", "Everything else"];
    let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
    let papers = mixed_papers(n);
    let total = papers.len();
    let d = Digest::build(papers, &three_sections(catch_all));
    let settings = DigestSettings {
        max_papers: max,
        ..settings()
    };
    let spec = VariantSpec::new(&topics, &names, cap, text_only);
    let v = r.render_variant(&d, &spec, &edition(), &settings).unwrap();
    let a = accounting(&v.text);
    assert_eq!(a.shown, v.shown, "{what}");
    let in_sections: usize = a.per_section.iter().map(|(n, _)| n).sum();
    let chosen: Vec<&crate::digest::Section> = d
        .sections
        .iter()
        .filter(|s| spec.topics.is_empty() || spec.topics.contains(&s.name))
        .collect();
    let outside = d.paper_count() - chosen.iter().map(|s| s.papers.len()).sum::<usize>();
    // Every paper once: shown, or in a section's "more", or outside the topics, or in none.
    assert_eq!(
        a.shown + in_sections + outside + d.unmatched_left_out,
        total,
        "{what}:\n{}",
        v.text
    );
    match &a.closing {
        None => assert_eq!(a.shown, total, "{what}: nothing left out, no closing line"),
        Some((closing, line)) => {
            assert_eq!(*closing, total - a.shown, "{what}: {line}");
            let numbers = cause_numbers(line);
            if numbers.len() > 1 {
                assert_eq!(numbers.iter().sum::<usize>(), *closing, "{what}: {line}");
            }
            let cap_cause = if cap < max {
                "over your limit"
            } else {
                "over this newsletter's limit"
            };
            let size_cause = "to keep this email within the size";
            if in_sections > 0 {
                assert!(
                    line.contains(cap_cause) || line.contains(size_cause),
                    "{what}: {line}"
                );
            }
            assert_eq!(
                line.contains("outside your topics"),
                outside > 0,
                "{what}: {line}"
            );
            assert_eq!(
                line.contains("matching no section"),
                d.unmatched_left_out > 0,
                "{what}: {line}"
            );
        }
    }
    // Every chosen section is in "In this issue" and has its heading, shown papers or not.
    let contents = v
        .text
        .split("\n\n")
        .find(|p| p.starts_with("In this issue:"))
        .unwrap()
        .replace("\n  ", " ");
    for s in &chosen {
        assert!(contents.contains(&s.name), "{what}: {contents}");
        assert!(v.text.contains(&format!("== {} ==", s.name)), "{what}");
    }
    // The HTML part says the same.
    if let Some(html) = &v.html {
        for (n, section) in &a.per_section {
            assert!(
                html.contains(&format!("{n} more in {}", escape_html(section))),
                "{what}"
            );
        }
        if let Some((_, line)) = &a.closing {
            let first_words: String = line
                .split_whitespace()
                .take(6)
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                html.contains(&escape_html(&first_words)),
                "{what}: {first_words}"
            );
        }
    }
    if what.contains("size") {
        assert!(
            v.html.as_ref().unwrap().len() <= HTML_BUDGET_BYTES,
            "{what}"
        );
        let line = &a.closing.as_ref().unwrap().1;
        assert!(
            line.contains("to keep this email within the size"),
            "{what}: {line}"
        );
    }
}

#[test]
fn a_readers_cap_names_the_reader_and_takes_the_best_papers() {
    let r = Renderer::new(&Templates::builtin()).unwrap();
    let papers = mixed_papers(30);
    let d = Digest::build(papers, &three_sections(true));
    let names = ["Pruning", "Graphs", "Federated Learning", "Everything else"];
    let v = r
        .render_variant(
            &d,
            &VariantSpec::new(&[], &names, 5, true),
            &edition(),
            &settings(),
        )
        .unwrap();
    let closing = accounting(&v.text).closing.unwrap().1;
    assert_eq!(
        closing,
        "115 more papers are not in this email — over your limit of 5 papers per email."
    );
    // The five are the best across sections by score then upvotes (all score 3 here: the
    // most upvoted, 49), and every section stays listed with its count.
    let best: Vec<usize> = d
        .sections
        .iter()
        .flat_map(|s| s.papers.iter().copied())
        .collect::<Vec<_>>();
    let mut ranked = best.clone();
    ranked.sort_by_key(|&i| d.rank_key(i));
    for i in &ranked[..5] {
        assert!(
            v.text.contains(&d.papers[*i].title[..30]),
            "{}",
            d.papers[*i].title
        );
    }
    assert!(v.text.contains("In this issue: Pruning ("), "{}", v.text);
    assert!(v.text.contains(" of 30)"), "{}", v.text);
    assert!(v.text.contains("Everything else (0 of 30)"), "{}", v.text);
}

#[test]
fn the_footer_says_what_happens_to_replies_and_signs_off_per_rfc_3676() {
    let r = Renderer::new(&Templates::builtin()).unwrap();
    let d = digest(vec![Paper::new(
        PaperId::from_title("p"),
        "Pruning p",
        "Abs.",
    )]);
    let spec = VariantSpec::new(&[], &["Pruning", "More"], 60, false);
    for (reply_to, from, says) in [
        (
            Some("editor@d.example.org"),
            "digest@d.example.org",
            "Replies reach the editors at editor@d.example.org.",
        ),
        (
            None,
            "digest@d.example.org",
            "Replies go to digest@d.example.org.",
        ),
        (
            None,
            "no-reply@d.example.org",
            "This email comes from an address that takes no replies.",
        ),
        (
            None,
            "do_not_reply@d.example.org",
            "This email comes from an address that takes no replies.",
        ),
    ] {
        let e = EditionInfo {
            reply_to: reply_to.map(str::to_owned),
            from: from.into(),
            ..edition()
        };
        let v = r.render_variant(&d, &spec, &e, &settings()).unwrap();
        assert!(v.text.contains(says), "{}", v.text);
        assert!(v.html.as_ref().unwrap().contains(says));
        assert!(!v.text.contains("Replies reach the editors.") || reply_to.is_some());
        assert!(
            v.text.contains("\n-- \n"),
            "the signature separator is `-- `"
        );
    }
}

#[test]
fn section_lines_link_to_the_archive_once_it_exists() {
    let r = Renderer::new(&Templates::builtin()).unwrap();
    let d = Digest::build(mixed_papers(3), &three_sections(true));
    let names = ["Pruning", "Graphs", "Federated Learning", "Everything else"];
    let spec = VariantSpec::new(&[], &names, 2, false);
    let v = r
        .render_variant(&d, &spec, &edition(), &settings())
        .unwrap();
    assert!(
        v.html
            .as_ref()
            .unwrap()
            .contains("<h2 id=\"federated-learning\"")
    );
    assert!(!v.html.as_ref().unwrap().contains("/archive/"));
    let e = EditionInfo {
        archive_url: Some("https://d.example.org/archive/".into()),
        ..edition()
    };
    let v = r.render_variant(&d, &spec, &e, &settings()).unwrap();
    assert!(
        v.text
            .contains("3 more in Federated Learning: https://d.example.org/archive/2026-11-28/#federated-learning"),
        "{}",
        v.text
    );
    assert!(
        v.html
            .unwrap()
            .contains("href=\"https://d.example.org/archive/2026-11-28/#federated-learning\"")
    );
    assert_eq!(anchor("Pruning & Compression"), "pruning-compression");
    assert_eq!(anchor("  "), "section");
}

#[test]
fn the_text_part_leads_with_the_short_canonical_link() {
    let mut p = Paper::new(
        PaperId::parse("2405.10000").unwrap(),
        "Pruning things",
        "Abs.",
    );
    p.links.hf = crate::paper::HttpUrl::parse_opt(Some("https://huggingface.co/papers/2405.10000"));
    let d = digest(vec![p]);
    let r = Renderer::new(&Templates::builtin()).unwrap();
    let spec = VariantSpec::new(&[], &["Pruning", "More"], 60, true);
    let v = r
        .render_variant(&d, &spec, &edition(), &settings())
        .unwrap();
    assert!(
        v.text.contains("  Abs.\n  https://arxiv.org/abs/2405.10000\n  PDF: https://arxiv.org/pdf/2405.10000\n  Hugging Face page: https://huggingface.co/papers/2405.10000\n"),
        "{}",
        v.text
    );
}

/// The accounting test for readers with a "For you" block and mutes: the block's papers count
/// as shown (once), muted papers are in no count at all, and the rest adds up as before.
#[test]
fn what_is_left_out_adds_up_for_personal_readers() {
    use crate::digest::personal::{Pick, Ranking};
    use std::sync::Arc;
    let r = Renderer::new(&Templates::builtin()).unwrap();
    let names = ["Pruning", "Graphs", "Federated Learning", "Everything else"];
    // (papers per kind, catch-all, reader's topics, cap, text only, block, mutes)
    type Personal = (
        usize,
        bool,
        &'static [&'static str],
        usize,
        bool,
        &'static [usize],
        &'static [&'static str],
    );
    let cases: &[Personal] = &[
        (5, true, &[], usize::MAX, false, &[1, 6, 11], &[]),
        (10, true, &["Graphs"], 6, true, &[0, 2, 5], &[]),
        (10, false, &["Pruning"], 4, false, &[3, 1], &["graph*"]),
        (
            30,
            true,
            &[],
            5,
            false,
            &[4, 8, 12, 16, 20, 24],
            &["cooking"],
        ),
        (
            8,
            true,
            &["Pruning", "Graphs"],
            2,
            true,
            &[9],
            &["federated"],
        ),
        (120, true, &[], 1000, false, &[7, 3], &[]),
    ];
    for &(n, catch_all, topics, cap, text_only, block, mute) in cases {
        let what = format!("{n} {topics:?} cap {cap} block {block:?} mute {mute:?}");
        let papers = mixed_papers(n);
        let total = papers.len();
        let d = Digest::build(papers, &three_sections(catch_all));
        let settings = DigestSettings {
            max_papers: 1000,
            ..settings()
        };
        let topics: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        let spec = VariantSpec::new(&topics, &names, cap, text_only);
        let mute: Vec<Arc<Keyword>> = mute
            .iter()
            .map(|k| Arc::new(Keyword::parse(k).unwrap()))
            .collect();
        let index = crate::digest::personal::EditionIndex::build(&d, &[]);
        let profile = crate::digest::personal::Profile {
            mute: mute.clone(),
            ..Default::default()
        };
        let ranking = Ranking {
            muted: index.rank(&d, &profile, 60).muted,
            block: block
                .iter()
                .map(|&paper| Pick {
                    paper,
                    why: "by Tri Dao".into(),
                })
                .collect(),
        };
        let v = r
            .render_personal(&d, &spec, &edition(), &settings, &ranking, &mute)
            .unwrap();
        let a = accounting(&v.text);
        assert_eq!(a.shown, v.shown, "{what}");
        let muted = super::muted_papers(&d, &ranking, &mute).len();
        let shown_block = v.text.matches("  > by Tri Dao").count();
        let expected_block = block
            .iter()
            .filter(|&&b| !super::muted_papers(&d, &ranking, &mute).contains(&b))
            .count()
            .min(cap);
        assert_eq!(shown_block, expected_block, "{what}");
        let in_sections: usize = a.per_section.iter().map(|(n, _)| n).sum();
        match &a.closing {
            None => assert_eq!(a.shown + muted, total, "{what}:\n{}", v.text),
            Some((closing, line)) => {
                assert_eq!(*closing, total - muted - a.shown, "{what}: {line}");
                let numbers = cause_numbers(line);
                if numbers.len() > 1 {
                    assert_eq!(numbers.iter().sum::<usize>(), *closing, "{what}: {line}");
                }
                assert!(in_sections <= *closing, "{what}: {line}");
            }
        }
        for m in mute {
            let word = m.as_str().trim_end_matches('*');
            assert!(
                !v.text.to_lowercase().contains(word),
                "{what}: {word}\n{}",
                v.text
            );
        }
    }
}

/// The one-line shortcut of `wrap_text` gives what textwrap gives, on generated lines of every
/// width around the limit, in scripts textwrap measures and breaks differently.
#[test]
fn a_line_that_fits_is_wrapped_as_textwrap_wraps_it() {
    let words = [
        "a",
        "word",
        "speculative",
        "decoding",
        "·",
        "Zoë",
        "Müller",
        "中文分词",
        "😀",
        "e\u{301}",
        "—",
        "x-y",
        "https://e.org/x",
        "«test»",
        "\u{a0}",
        "  ",
        "\t",
        "ｆｕｌｌ",
    ];
    let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
    let mut next = || rng.next();
    let mut shortcuts = 0;
    for _ in 0..20_000 {
        let n = 1 + (next() % 9) as usize;
        let text: Vec<&str> = (0..n)
            .map(|_| words[(next() % words.len() as u64) as usize])
            .collect();
        let text = text.join(if next() % 5 == 0 { "" } else { " " });
        let first = ["", "  > ", "* ", "· "][(next() % 4) as usize];
        let width = 10 + (next() % 60) as usize;
        let reference = textwrap::fill(
            &text,
            textwrap::Options::new(width)
                .initial_indent(first)
                .subsequent_indent("  ")
                .break_words(false)
                .word_separator(textwrap::WordSeparator::Custom(super::text_part_words))
                .word_splitter(textwrap::WordSplitter::NoHyphenation),
        );
        if let Some(line) = super::one_line(&text, width, first) {
            shortcuts += 1;
            assert_eq!(line, reference, "{text:?} at {width} after {first:?}");
        }
        assert_eq!(super::wrap_text(&text, width, "  ", first), reference);
    }
    assert!(shortcuts > 5_000, "{shortcuts}");
}

/// Words without a break inside skip Unicode line breaking; every word still splits as line
/// breaking splits it, on generated words from the scripts and signs a text part meets.
#[test]
fn words_split_as_unicode_line_breaking_splits_them() {
    use textwrap::WordSeparator;
    let pieces = [
        "a", "Z", "é", "Ł", "ß", "ø", "ÿ", "ƒ", "ɐ", "·", "—", "-", "’", "'", "(", ")", "×", "÷",
        "中", "文", "😀", "\u{301}", "\u{a0}", "«", "»", "ｆ", "1", ".", ",", "/", "ǅ", "Ǆ", "ª",
    ];
    let mut rng = crate::test_rng::Rng(0x5851_f42d_4c95_7f2d);
    let mut next = || rng.next();
    let mut fast = 0;
    for _ in 0..30_000 {
        let n = 1 + (next() % 6) as usize;
        let word: String = (0..n)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        if word.is_ascii() {
            continue;
        }
        let line = format!("{word} x");
        let reference: Vec<_> = WordSeparator::AsciiSpace
            .find_words(&line)
            .flat_map(|w| {
                let mut parts: Vec<_> = WordSeparator::UnicodeBreakProperties
                    .find_words(w.word)
                    .collect();
                if let Some(last) = parts.last_mut() {
                    last.whitespace = w.whitespace;
                }
                parts
            })
            .collect();
        let ours: Vec<_> = super::text_part_words(&line).collect();
        if super::unbreakable(&word) {
            fast += 1;
        }
        if !word.contains('@') {
            assert_eq!(ours, reference, "{word:?}");
        }
    }
    assert!(fast > 1_000, "{fast}");
}

/// Lines of many words, wrapped over several lines with every kind of indent: the first fit
/// without textwrap gives what textwrap gives, and is taken for most lines.
#[test]
fn long_lines_wrap_as_textwrap_wraps_them() {
    let words = [
        "a",
        "In",
        "this",
        "issue:",
        "(12)",
        "·",
        "Zoë",
        "Müller",
        "Łukasz",
        "—",
        "x-y",
        "https://e.org/a-very-long-path/with/parts",
        "ada@example.org",
        "中文分词",
        "e\u{301}",
        "«test»",
        "Language",
        "Models",
        "(3",
        "of",
        "12)",
        "",
        "averyveryverylongwordwithoutend",
    ];
    let indents = ["", "  ", "    ", "  > ", "· ", "\u{3000}"];
    let mut rng = crate::test_rng::Rng(0x1405_7b7e_f767_814f);
    let mut next = || rng.next();
    let mut ours = 0;
    for _ in 0..20_000 {
        let n = (next() % 30) as usize;
        let mut text = String::new();
        for _ in 0..n {
            text.push_str(words[(next() % words.len() as u64) as usize]);
            text.push_str([" ", " ", " ", "  ", ""][(next() % 5) as usize]);
        }
        let first = indents[(next() % indents.len() as u64) as usize];
        let indent = indents[(next() % indents.len() as u64) as usize];
        let width = 5 + (next() % 80) as usize;
        let reference = textwrap::fill(
            &text,
            textwrap::Options::new(width)
                .initial_indent(first)
                .subsequent_indent(indent)
                .break_words(false)
                .word_separator(textwrap::WordSeparator::Custom(super::text_part_words))
                .word_splitter(textwrap::WordSplitter::NoHyphenation),
        );
        if let Some(wrapped) = super::first_fit(&text, width, indent, first) {
            ours += 1;
            assert_eq!(
                wrapped, reference,
                "{text:?} at {width} after {first:?}/{indent:?}"
            );
        }
        assert_eq!(super::wrap_text(&text, width, indent, first), reference);
    }
    assert!(ours > 4_000, "{ours}");
}
