//! The digest pipeline end to end through the CLI: inputs → sections → rendered parts, the
//! bundled sample, snapshots, and every kind of bad input.

use std::collections::BTreeMap;

use crate::harness::TestEnv;

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/daily-papers-page.txt"
);
const HF: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/hf-daily-papers.sample.json"
);
const RSS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/arxiv-rss.sample.xml"
);

/// Section name → titles, from the text part ("== Name ==" then "* Title" lines).
fn sections_of(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    let mut title: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("== ").and_then(|l| l.strip_suffix(" ==")) {
            current = Some(name.to_owned());
            out.entry(name.to_owned()).or_default();
        } else if let Some(t) = line.strip_prefix("* ") {
            title = Some(t.to_owned());
        } else if let Some(more) = title
            .as_mut()
            .filter(|_| line.starts_with("  ") && !line.starts_with("   "))
        {
            // A wrapped title continues until the first blank-indented teaser line; titles in
            // these tests are short, so the first indented line is already the teaser.
            let _ = more;
        }
        if let (Some(sec), Some(t)) = (&current, title.take()) {
            out.get_mut(sec).unwrap().push(t);
        }
    }
    out
}

fn page(papers: &[(&str, &str)]) -> String {
    let mut s = String::from("Daily Papers\n\nby AK and the research community\n\n");
    for (t, a) in papers {
        s.push_str(&format!("{t}\n\n{a}\n\n"));
    }
    s
}

#[test]
fn bundled_sample_previews_offline_within_the_size_budget() {
    let env = TestEnv::new();
    env.run(&["preview", "--out", "d.html"]).assert_code(0);
    let html = env.read("d.html");
    assert!(html.len() < 90 * 1024, "HTML is {} bytes", html.len());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("lang=\"en\"") && html.contains("<title>"));
    assert!(!html.contains("<script"));
    let shown = html.matches("<h3").count();
    assert!(
        html.contains(&format!(
            "{} more papers are not in this email — over this newsletter's limit of 60 papers per email.",
            90 - shown
        )),
        "{shown} shown"
    );
    env.run(&["preview", "--text", "--out", "d.txt"])
        .assert_code(0);
    let text = env.read("d.txt");
    assert!(text.len() < 40 * 1024, "text is {} bytes", text.len());
    assert!(
        text.lines()
            .filter(|l| !l.contains("://"))
            .all(|l| l.chars().count() <= 80)
    );
}

#[test]
fn the_seed_page_all_90_papers_appear_or_are_counted() {
    let env = TestEnv::new();
    env.run(&["preview", "--papers", SEED, "--text", "--out", "d.txt"])
        .assert_code(0);
    let text = env.read("d.txt");
    let shown: usize = sections_of(&text).values().map(Vec::len).sum();
    let counted: usize = text
        .lines()
        .find_map(|l| l.split_once(" more papers are not in this email — "))
        .map_or(0, |(n, _)| n.parse().unwrap());
    let per_section: usize = text
        .lines()
        .filter_map(|l| l.split_once(" more in "))
        .map(|(n, _)| n.parse::<usize>().unwrap())
        .sum();
    assert_eq!(shown + counted, 90, "{text}");
    assert_eq!(per_section, counted, "one accounting: {text}");
    assert!(text.contains("See all of today's papers: https://"));
}

#[test]
fn snapshots_of_the_bundled_sample() {
    let env = TestEnv::new();
    let html = env.run(&["preview", "--edition", "2026-11-28"]);
    html.assert_code(0);
    insta::assert_snapshot!("sample_html", html.stdout);
    let text = env.run(&["preview", "--edition", "2026-11-28", "--text"]);
    text.assert_code(0);
    insta::assert_snapshot!("sample_text", text.stdout);
}

#[test]
fn every_input_format_previews() {
    let env = TestEnv::new();
    for (file, expect) in [
        (HF, "MagicPose4D"),
        (
            RSS,
            "Multimodal Federated Learning via Contrastive Representation Ensemble",
        ),
        (SEED, "Tackling Data Heterogeneity"),
    ] {
        let out = env.run(&["preview", "--papers", file, "--text"]);
        out.assert_code(0);
        assert!(out.stdout.contains(expect), "{file}: {}", out.stdout);
    }
    // Normalized JSON, as `fetch` writes it, round-trips through preview.
    let cfg = env.config(None);
    let cfg = cfg.to_str().unwrap();
    env.run(&["fetch", "--config", cfg, "--out", "papers.json"])
        .assert_code(0);
    let out = env.run(&[
        "preview",
        "--config",
        cfg,
        "--papers",
        "papers.json",
        "--text",
    ]);
    out.assert_code(0);
    assert!(out.stdout.contains("Tackling Data Heterogeneity"));
}

#[test]
fn hf_items_with_missing_and_null_fields_render_with_their_links() {
    let env = TestEnv::new();
    let json = r#"[
      {"paper": {"id": "2405.00001v3", "title": "Nulls everywhere", "summary": "An abstract.",
                 "authors": [{"name": "A"}, {"name": "B"}, {"name": "C"}, {"name": "D"}],
                 "upvotes": null, "githubRepo": null, "ai_summary": null, "ai_keywords": null},
       "title": "Nulls everywhere", "numComments": null, "thumbnail": null},
      {"paper": {"id": "2405.00002", "title": "Rich", "summary": "Long abstract. More.",
                 "authors": [], "upvotes": 12, "githubRepo": "https://github.com/x/y",
                 "projectPage": "javascript:alert(1)", "ai_summary": "The AI summary."}}
    ]"#;
    env.write("p.json", json);
    let out = env.run(&["preview", "--papers", "p.json", "--text"]);
    out.assert_code(0);
    let t = &out.stdout;
    assert!(t.contains("A, B, C et al."), "{t}");
    assert!(t.contains("https://arxiv.org/abs/2405.00001") && !t.contains("2405.00001v3"));
    assert!(
        t.contains("12 upvotes")
            && t.contains("The AI summary.")
            && t.contains("Code: https://github.com/x/y")
    );
    assert!(!t.contains("javascript:"));
}

#[test]
fn matching_rules_whole_words_phrases_prefixes_excludes_ties_and_catch_all() {
    let env = TestEnv::new();
    env.write(
        "p.txt",
        page(&[
            ("Organ transplants", "We study the organ and its organs."),
            ("A GAN for faces", "Adversarial."),
            ("ViTamin is not a model", "Nothing here."),
            ("Plain ViT baselines", "Nothing here."),
            ("Fighting client-drift", "Heterogeneous clients."),
            ("Client and drift", "The client. Drift is separate."),
            ("Pruned networks", "Nothing here."),
            ("Medical image analysis", "A medical image model."),
            ("Both topics", "A GAN and a ViT."),
            ("Nothing at all", "Unrelated words."),
        ]),
    );
    let sections = r#"
[[section]]
name = "GANs"
keywords = ["GAN"]

[[section]]
name = "ViT"
keywords = ["ViT"]

[[section]]
name = "Drift"
keywords = ["client drift"]

[[section]]
name = "Pruning"
keywords = ["prun*"]

[[section]]
name = "Imaging"
keywords = ["image"]
exclude = ["medical"]
"#;
    let cfg = env
        .config_builder(None)
        .sources("[[source]]\nkind = \"file\"\npath = \"p.txt\"\n")
        .sections(sections)
        .write();
    let cfg = cfg.to_str().unwrap();
    let out = env.run(&["preview", "--config", cfg, "--text"]);
    out.assert_code(0);
    let got = sections_of(&out.stdout);
    let want = |s: &str| got.get(s).cloned().unwrap_or_default();
    assert_eq!(
        want("GANs"),
        ["A GAN for faces", "Both topics"],
        "{}",
        out.stdout
    );
    assert_eq!(want("ViT"), ["Plain ViT baselines"]);
    assert_eq!(want("Drift"), ["Fighting client-drift"]);
    assert_eq!(want("Pruning"), ["Pruned networks"]);
    assert!(want("Imaging").is_empty());
    assert_eq!(
        want("More papers"),
        [
            "Organ transplants",
            "ViTamin is not a model",
            "Client and drift",
            "Medical image analysis",
            "Nothing at all"
        ]
    );

    // With the catch-all off, unmatched papers are counted and left out.
    let cfg2 = env
        .config_builder(None)
        .file_name("off.toml")
        .sources("[[source]]\nkind = \"file\"\npath = \"p.txt\"\n")
        .sections(sections)
        .with_catch_all("enabled = false")
        .write();
    let out = env.run(&["preview", "--config", cfg2.to_str().unwrap(), "--text"]);
    out.assert_code(0);
    assert!(!out.stdout.contains("== More papers =="));
    assert!(
        out.stdout
            .contains("5 more papers are not in this email — matching no section."),
        "{}",
        out.stdout
    );

    // explain names the scores and the keywords.
    let out = env.run(&["explain", "--config", cfg, "both topics"]);
    out.assert_code(0);
    assert!(
        out.stdout.contains("GAN (title 0, abstract 1)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("goes to: GANs"));
    let out = env.run(&["explain", "--config", cfg, "medical"]);
    assert!(
        out.stdout.contains("excluded by: medical"),
        "{}",
        out.stdout
    );
}

#[test]
fn title_hits_outweigh_abstract_hits_and_upvotes_rank_within_a_section() {
    let env = TestEnv::new();
    env.write(
        "p.json",
        r#"[
      {"paper": {"id": "2405.00011", "title": "About pruning", "summary": "Mentions a GAN once.", "upvotes": 1}},
      {"paper": {"id": "2405.00012", "title": "More pruning", "summary": "No gan here.", "upvotes": 9}},
      {"paper": {"id": "2405.00013", "title": "Third pruning", "summary": "x", "upvotes": 9}}
    ]"#,
    );
    let cfg = env
        .config_builder(None)
        .sections("[[section]]\nname = \"GANs\"\nkeywords = [\"GAN\"]\n\n[[section]]\nname = \"Pruning\"\nkeywords = [\"prun*\"]\n")
        .write();
    let out = env.run(&[
        "preview",
        "--config",
        cfg.to_str().unwrap(),
        "--papers",
        "p.json",
        "--text",
    ]);
    out.assert_code(0);
    let got = sections_of(&out.stdout);
    assert_eq!(
        got["Pruning"],
        ["More pruning", "Third pruning", "About pruning"],
        "{}",
        out.stdout
    );
    assert!(!got.contains_key("GANs"));
}

#[test]
fn hostile_titles_show_literally_in_both_parts() {
    let env = TestEnv::new();
    env.write(
        "p.txt",
        page(&[(
            "<script>alert(1)</script></table>{{x}} & \"quotes\"",
            "An <b>abstract</b> with {{y}}.",
        )]),
    );
    let html = env.run(&["preview", "--papers", "p.txt"]);
    html.assert_code(0);
    assert!(
        html.stdout
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;/table&gt;{{x}} &amp; "),
        "{}",
        html.stdout
    );
    assert!(
        html.stdout
            .contains("An &lt;b&gt;abstract&lt;/b&gt; with {{y}}.")
    );
    assert!(!html.stdout.contains("<script>") && !html.stdout.contains("<b>abstract"));
    let text = env.run(&["preview", "--papers", "p.txt", "--text"]);
    assert!(
        text.stdout
            .contains("<script>alert(1)</script></table>{{x}} & \"quotes\"")
    );
    assert!(text.stdout.contains("An <b>abstract</b> with {{y}}."));
}

#[test]
fn bad_inputs_exit_2_name_the_place_and_write_nothing() {
    let env = TestEnv::new();
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "missing",
            vec!["preview", "--papers", "nope.txt", "--out", "o.html"],
            "nope.txt",
        ),
        (
            "binary",
            vec!["preview", "--papers", "bin.dat", "--out", "o.html"],
            "bin.dat",
        ),
        (
            "json",
            vec!["preview", "--papers", "bad.json", "--out", "o.html"],
            "bad.json:3:",
        ),
        (
            "toml",
            vec!["preview", "--config", "bad.toml", "--out", "o.html"],
            "bad.toml:4:",
        ),
        (
            "unknown key",
            vec!["preview", "--config", "unknown.toml", "--out", "o.html"],
            "unknown.toml:",
        ),
    ];
    env.write("bin.dat", [0u8, 159, 146, 150, 0, 1, 2]);
    env.write(
        "bad.json",
        "[\n  {\"paper\": {\"id\": \"2405.00001\",\n   \"title\": }\n]",
    );
    env.write(
        "bad.toml",
        "[newsletter]\ntitle = \"x\"\nfrom = \"a@b.c\"\nlist_id = = \"x\"\n",
    );
    let base = env.config_builder(None).render();
    env.write(
        "unknown.toml",
        base.replace("[newsletter]\n", "[newsletter]\ncolour = \"red\"\n"),
    );
    for (what, args, place) in cases {
        let out = env.run(&args);
        out.assert_code(2);
        assert!(out.stderr.contains(place), "{what}: {}", out.stderr);
        assert!(!env.exists("o.html"), "{what}: an output file was written");
    }
    let out = env.run(&["preview", "--config", "unknown.toml"]);
    assert!(out.stderr.contains("colour"), "{}", out.stderr);
}

#[test]
fn config_problems_are_all_listed_with_positions() {
    let env = TestEnv::new();
    let cfg = env
        .config_builder(None)
        .sections("[[section]]\nname = \"A\"\nkeywords = []\n\n[[section]]\nname = \"A\"\nkeywords = [\"x\"]\n\n[[section]]\nname = \"B\"\nkeywords = [\"a*b\"]\n")
        .with_newsletter("timezone = \"Mars/Olympus\"")
        .write();
    let out = env.run(&["check", "--config", cfg.to_str().unwrap()]);
    out.assert_code(2);
    for needle in [
        "has no keywords",
        "two sections are named `A`",
        "`*` may only end",
        "Mars/Olympus",
    ] {
        assert!(out.stderr.contains(needle), "{needle}: {}", out.stderr);
    }
    assert!(out.stderr.contains("paperwire.toml:"), "{}", out.stderr);
}

#[test]
fn templates_that_do_not_compile_or_name_unknown_fields_are_caught() {
    let env = TestEnv::new();
    env.write(
        "tpl/partials/paper.html.hbs",
        "<h3>{{#if title}}{{title}}</h3>\n",
    );
    let cfg = env
        .config_builder(None)
        .with_templates("dir = \"tpl\"")
        .write();
    let cfg = cfg.to_str().unwrap();
    let out = env.run(&["preview", "--config", cfg, "--out", "o.html"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("tpl/partials/paper.html.hbs:"),
        "{}",
        out.stderr
    );
    assert!(!env.exists("o.html"));

    env.write(
        "tpl/partials/paper.html.hbs",
        "<h3>{{title}} {{no_such_field}}</h3>\n",
    );
    let out = env.run(&["check", "--config", cfg]);
    out.assert_code(2);
    assert!(out.stderr.contains("no_such_field"), "{}", out.stderr);

    // A valid override is used, file by file.
    env.write(
        "tpl/partials/paper.html.hbs",
        "<h3 class=\"custom\">{{title}}</h3>\n",
    );
    let out = env.run(&["preview", "--config", cfg]);
    out.assert_code(0);
    assert!(out.stdout.contains("class=\"custom\"") && out.stdout.contains("Unsubscribe"));
}

#[test]
fn check_accepts_the_example_config_and_the_bundled_sample() {
    let env = TestEnv::new();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/paperwire.example.toml");
    let out = env.run(&["check", "--config", example]);
    out.assert_code(0);
    assert!(out.stdout.contains("ok"), "{out}");
    env.run(&["check"]).assert_code(0);
}

#[test]
fn check_counts_every_problem_and_catches_what_would_break_a_send() {
    let env = TestEnv::new();
    env.subscribers(
        "[[subscriber]]\nemail = \"not an address\"\n\n[[subscriber]]\nemail = \"a@example.org\"\ntopics = [\"Nope\"]\n\n[[subscriber]]\nemail = \"A@example.org\"\n",
    );
    env.write("tpl/partials/footer.txt.hbs", "-- \nbye\n");
    let cfg = env
        .config_builder(None)
        .with_newsletter(
            "subject = \"{{titel}} {{date}}\"\nbase_url = \"http://digest.example.org\"",
        )
        .with_templates("dir = \"tpl\"")
        .sources("[[source]]\nkind = \"file\"\npath = \"missing.txt\"\n")
        .write();
    let out = env.run(&["check", "--config", cfg.to_str().unwrap()]);
    out.assert_code(2);
    for needle in [
        "no unsubscribe link",
        "titel",
        "missing.txt does not exist",
        "not a valid email address",
        "Nope",
        "subscribers.toml:",
        "is not https",
        "paperwire: 6 problems found",
    ] {
        assert!(out.stderr.contains(needle), "{needle}:\n{}", out.stderr);
    }
}

#[test]
fn source_text_cannot_reach_the_per_person_slots() {
    let env = TestEnv::new();
    env.write(
        "p.json",
        r#"[{"paper": {"id": "2405.00021", "title": "Hi PWSLOT0EMAIL0", "summary": "PWSLOT0UNSUB0 here.",
            "githubRepo": "https://evil.example/c?who=PWSLOT0EMAIL0&u=PWSLOT0UNSUB0"}}]"#,
    );
    for args in [
        vec!["preview", "--papers", "p.json"],
        vec!["preview", "--papers", "p.json", "--text"],
    ] {
        let out = env.run(&args);
        out.assert_code(0);
        assert!(!out.stdout.contains("Hi you@example.org"), "{}", out.stdout);
        assert!(!out.stdout.contains("who=you"), "{}", out.stdout);
        assert!(
            out.stdout.contains("evil.example/c?who=PWSLOT%30EMAIL0"),
            "{}",
            out.stdout
        );
        assert_eq!(
            out.stdout.matches("/unsubscribe").count(),
            1,
            "only the footer's own link"
        );
    }
}

#[test]
fn unknown_keys_and_wrong_types_do_not_hide_the_other_problems() {
    let env = TestEnv::new();
    let cfg = env
        .config_builder(None)
        .with_newsletter("colour = \"red\"\ntimezone = \"Mars/Olympus\"")
        .with_delivery("concurrency = 0\nretries = \"three\"\nspeed = [\n  1,\n  2,\n]")
        .write();
    let out = env.run(&["check", "--config", cfg.to_str().unwrap()]);
    out.assert_code(2);
    for needle in [
        "colour",
        "speed",
        "retries",
        "invalid type",
        "Mars/Olympus",
        "concurrency must be",
    ] {
        assert!(out.stderr.contains(needle), "{needle}:\n{}", out.stderr);
    }
    let text = env.read("paperwire.toml");
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(
        out.stderr
            .contains(&format!("paperwire.toml:{}:", line_of("colour"))),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("paperwire.toml:{}:", line_of("retries"))),
        "{}",
        out.stderr
    );
}
