//! Paper sources end to end: every file format through `parse_papers`, and the live
//! Hugging Face and arXiv sources against a local wiremock server on 127.0.0.1.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use paperwire::exit::Exit;
use paperwire::paper::PaperId;
use paperwire::source::{
    BUNDLED_SAMPLE, Format, SourceError, parse_papers, read_papers_file, to_normalized_json,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

fn malformed(err: SourceError) -> String {
    assert!(matches!(err, SourceError::Malformed(_)), "{err:?}");
    assert_eq!(Exit::of(&err), Exit::Usage);
    err.to_string()
}

// ---------------------------------------------------------------------------------------------
// Part 1: formats.

#[test]
fn the_daily_papers_page_has_90_papers() {
    let list = read_papers_file(&fixture("daily-papers-page.txt")).unwrap();
    assert_eq!(list.format, Format::PageText);
    assert_eq!(list.papers.len(), 90);
    assert_eq!(list.skipped, 0);
    let first = &list.papers[0];
    assert_eq!(
        first.title,
        "MagicPose4D: Crafting Articulated Models with Appearance and Motion Control"
    );
    assert!(
        first
            .abstract_text
            .starts_with("With the success of 2D and 3D")
    );
    assert!(!first.id.is_arxiv());
    assert_eq!(first.id, PaperId::from_title(&first.title));
    assert_eq!(first.links, Default::default());
    // No chrome line became a paper.
    assert!(list.papers.iter().all(|p| {
        let t = p.title.to_lowercase();
        t != "subscribe" && t != "daily papers" && t != "new"
    }));
    // The bundled sample is the same page.
    let bundled = parse_papers(BUNDLED_SAMPLE, Path::new("bundled")).unwrap();
    assert_eq!(bundled.papers, list.papers);
}

#[test]
fn page_text_with_crlf_and_no_final_newline_reads_the_same() {
    let text = fixture_text("daily-papers-page.txt");
    let lf = parse_papers(&text, Path::new("a.txt")).unwrap();
    let crlf = text.replace('\n', "  \r\n\r\n");
    let crlf = crlf.trim_end();
    let other = parse_papers(crlf, Path::new("b.txt")).unwrap();
    assert_eq!(lf.papers, other.papers);
}

#[test]
fn page_text_missing_abstract_is_an_error_with_its_line() {
    let text = "Daily Papers\n\nFirst title\n\nFirst abstract.\n\nSecond title\n";
    let msg = malformed(parse_papers(text, Path::new("page.txt")).unwrap_err());
    assert_eq!(
        msg,
        "page.txt:7:1: the title `Second title` has no abstract after it"
    );
}

#[test]
fn empty_page_text_is_no_papers_but_an_empty_json_array_is_a_valid_empty_list() {
    let msg = malformed(parse_papers("", Path::new("empty.txt")).unwrap_err());
    assert!(msg.contains("no papers in empty.txt"), "{msg}");
    let msg = malformed(parse_papers("new\nSubscribe\n", Path::new("chrome.txt")).unwrap_err());
    assert!(msg.contains("no papers in chrome.txt"), "{msg}");
    let list = parse_papers(" [ ] \n", Path::new("empty.json")).unwrap();
    assert_eq!(list.format, Format::HuggingFaceJson);
    assert!(list.papers.is_empty());
}

#[test]
fn hugging_face_json_maps_every_field() {
    let list = read_papers_file(&fixture("hf-daily-papers.sample.json")).unwrap();
    assert_eq!(list.format, Format::HuggingFaceJson);
    assert_eq!(list.papers.len(), 12);
    assert_eq!(list.skipped, 0);
    let p = &list.papers[0];
    assert_eq!(p.id.as_str(), "2405.10000");
    assert_eq!(p.authors, ["Solo Author"]);
    assert_eq!(p.upvotes, Some(1));
    assert_eq!(p.comments, Some(0));
    assert_eq!(p.github_stars, Some(0));
    assert_eq!(
        p.links.hf.as_ref().map(|u| u.as_str()),
        Some("https://huggingface.co/papers/2405.10000")
    );
    assert_eq!(
        p.links.code.as_ref().map(|u| u.as_str()),
        Some("https://github.com/example/repo0")
    );
    assert_eq!(
        p.thumbnail.as_ref().map(|u| u.as_str()),
        Some("https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2405.10000.png")
    );
    assert_eq!(p.ai_keywords, ["keyword one", "keyword two"]);
    assert!(
        p.ai_summary
            .as_deref()
            .unwrap()
            .starts_with("With the success")
    );
    assert_eq!(
        p.published_at.unwrap().to_rfc3339(),
        "2024-05-20T17:59:59+00:00"
    );
    assert_eq!(
        p.submitted_at.unwrap().to_rfc3339(),
        "2024-05-27T00:00:00+00:00"
    );
    // githubRepo: null and missing ai_* fields are simply absent.
    let q = &list.papers[1];
    assert_eq!(q.links.code, None);
    assert_eq!(q.ai_summary, None);
    assert!(q.ai_keywords.is_empty());
    assert_eq!(q.authors.len(), 2);
}

#[test]
fn hostile_content_stays_text_and_unsafe_links_are_dropped() {
    let text = r#"[{"paper": {"id": "2405.99999", "title": "<script>alert(1)</script> {{x}}",
        "summary": "{{#each this}}<img src=x onerror=alert(1)>{{/each}}",
        "authors": [{"name": "<b>Mallory</b>"}],
        "githubRepo": "javascript:alert(1)", "projectPage": "data:text/html,<script>",
        "ai_summary": "{{{raw}}}"},
      "thumbnail": "/relative/thumb.png", "numComments": 1}]"#;
    let list = parse_papers(text, Path::new("hostile.json")).unwrap();
    let p = &list.papers[0];
    assert_eq!(p.title, "<script>alert(1)</script> {{x}}");
    assert_eq!(
        p.abstract_text,
        "{{#each this}}<img src=x onerror=alert(1)>{{/each}}"
    );
    assert_eq!(p.authors, ["<b>Mallory</b>"]);
    assert_eq!(p.links.code, None);
    assert_eq!(p.links.project, None);
    assert_eq!(p.thumbnail, None);
    // Every link left is http(s).
    let links = p.resolved_links();
    for u in [links.abs, links.pdf, links.hf].into_iter().flatten() {
        assert!(u.as_str().starts_with("https://"), "{u}");
    }
}

#[test]
fn hugging_face_items_without_title_or_abstract_are_skipped_and_counted() {
    let text = r#"[
      {"paper": {"id": "2405.00001", "title": "Kept", "summary": "Abstract"}},
      {"paper": {"id": "2405.00002", "title": null, "summary": "No title"}},
      {"paper": {"id": "2405.00003", "title": "No abstract"}},
      {"paper": {"id": "2405.00004", "title": "   ", "summary": "Blank title"}}
    ]"#;
    let list = parse_papers(text, Path::new("hf.json")).unwrap();
    assert_eq!(list.papers.len(), 1);
    assert_eq!(list.skipped, 3);
}

#[test]
fn truncated_and_malformed_json_name_line_and_column() {
    let full = fixture_text("hf-daily-papers.sample.json");
    let cut = &full[..full.len() / 2];
    let msg = malformed(parse_papers(cut, Path::new("cut.json")).unwrap_err());
    let lines = cut.lines().count();
    assert!(
        msg.starts_with(&format!("cut.json:{lines}:")),
        "{msg} (expected line {lines})"
    );
    assert!(msg.contains("truncated"), "{msg}");

    let msg = malformed(
        parse_papers(
            "[\n  {\"paper\": {\"title\": \"T\",}}\n]",
            Path::new("bad.json"),
        )
        .unwrap_err(),
    );
    assert!(msg.starts_with("bad.json:2:"), "{msg}");
}

#[test]
fn html_where_papers_were_expected_is_named() {
    let html = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head></html>";
    let msg = malformed(parse_papers(html, Path::new("papers.json")).unwrap_err());
    assert_eq!(
        msg,
        "papers.json:1:1: not a paper list (looks like HTML: an error page or a login page?)"
    );
}

#[test]
fn normalized_json_round_trips_every_source() {
    for name in [
        "daily-papers-page.txt",
        "hf-daily-papers.sample.json",
        "arxiv-rss.sample.xml",
    ] {
        let list = read_papers_file(&fixture(name)).unwrap();
        let date = NaiveDate::from_ymd_opt(2024, 5, 27);
        let json = to_normalized_json(&list.papers, date);
        let back = parse_papers(&json, Path::new("papers.json")).unwrap();
        assert_eq!(back.format, Format::PaperwireJson);
        assert_eq!(back.papers, list.papers, "{name}");
        assert_eq!(back.date, date);
        assert_eq!(to_normalized_json(&back.papers, back.date), json);
    }
    let empty = to_normalized_json(&[], None);
    assert_eq!(
        empty,
        "{\n  \"paperwire\": \"papers/1\",\n  \"papers\": []\n}\n"
    );
    assert!(
        parse_papers(&empty, Path::new("e.json"))
            .unwrap()
            .papers
            .is_empty()
    );
}

#[test]
fn normalized_json_rejects_unsafe_links_with_a_position() {
    let text = "{\n  \"paperwire\": \"papers/1\",\n  \"papers\": [\n    {\"id\": \"2405.10000\", \"title\": \"T\", \"abstract\": \"A\", \"links\": {\"abs\": \"javascript:alert(1)\"}}\n  ]\n}\n";
    let msg = malformed(parse_papers(text, Path::new("p.json")).unwrap_err());
    assert!(msg.starts_with("p.json:4:"), "{msg}");
}

#[test]
fn arxiv_rss_fixture() {
    let list = read_papers_file(&fixture("arxiv-rss.sample.xml")).unwrap();
    assert_eq!(list.format, Format::ArxivRss);
    assert_eq!(list.papers.len(), 6);
    assert_eq!(list.date, NaiveDate::from_ymd_opt(2024, 5, 27));
    let p = &list.papers[0];
    assert_eq!(p.id.as_str(), "2405.20000");
    assert_eq!(
        p.title,
        "Multimodal Federated Learning via Contrastive Representation Ensemble"
    );
    assert!(p.abstract_text.starts_with("With the increasing amount"));
    assert!(!p.abstract_text.contains("Announce Type"));
    assert_eq!(p.authors, ["First Author", "Second Author", "Third Author"]);
    assert_eq!(p.categories, ["cs.LG", "cs.CV"]);
    assert_eq!(p.announce_type.as_deref(), Some("new"));
    assert_eq!(
        p.links.abs.as_ref().map(|u| u.as_str()),
        Some("https://arxiv.org/abs/2405.20000")
    );
    let types: Vec<_> = list
        .papers
        .iter()
        .map(|p| p.announce_type.as_deref().unwrap())
        .collect();
    assert_eq!(
        types,
        ["new", "cross", "replace", "new", "replace-cross", "new"]
    );
}

#[test]
fn arxiv_rss_without_items_is_a_valid_empty_list() {
    let text =
        "<?xml version='1.0'?>\n<rss version=\"2.0\"><channel><title>cs.LG</title></channel></rss>";
    let list = parse_papers(text, Path::new("weekend.xml")).unwrap();
    assert!(list.papers.is_empty());
    assert_eq!(list.format, Format::ArxivRss);
}

#[test]
fn truncated_rss_is_an_error_with_a_position() {
    let full = fixture_text("arxiv-rss.sample.xml");
    let cut = &full[..full.len() / 2];
    let msg = malformed(parse_papers(cut, Path::new("cut.xml")).unwrap_err());
    assert!(msg.contains("truncated"), "{msg}");
    assert!(msg.starts_with("cut.xml:"), "{msg}");
}

#[test]
fn a_real_arxiv_api_answer() {
    let list = read_papers_file(&fixture("arxiv-api.sample.xml")).unwrap();
    assert_eq!(list.format, Format::Atom);
    assert_eq!(list.date, None, "a search answer is not a listing");
    assert_eq!((list.papers.len(), list.skipped), (2, 0));
    let p = &list.papers[0];
    assert_eq!(p.id.as_str(), "1205.1001");
    assert_eq!(
        p.title,
        "Membrane lateral structure: The influence of immobilized particles on domain size"
    );
    assert!(
        p.abstract_text
            .starts_with("In experiments on model membranes, a formation")
    );
    assert!(p.abstract_text.ends_with("of the molecular interactions."));
    assert_eq!(
        p.authors,
        ["Timo Fischer", "H. Jelger Risselada", "Richard L. C. Vink"]
    );
    assert_eq!(p.categories, ["cond-mat.soft", "physics.bio-ph"]);
    let links = p.resolved_links();
    assert_eq!(
        links.abs.map(|u| u.to_string()).as_deref(),
        Some("https://arxiv.org/abs/1205.1001")
    );
    assert_eq!(
        links.pdf.map(|u| u.to_string()).as_deref(),
        Some("https://arxiv.org/pdf/1205.1001")
    );
    assert_eq!(
        p.published_at.unwrap().to_rfc3339(),
        "2012-05-04T16:23:05+00:00"
    );
    assert_eq!(list.papers[1].id.as_str(), "1001.1001");
    assert_eq!(list.papers[1].categories, ["astro-ph.SR"]);
}

#[test]
fn an_arxiv_api_error_is_an_input_error_with_its_position() {
    let msg = malformed(read_papers_file(&fixture("arxiv-api-error.xml")).unwrap_err());
    assert!(
        msg.ends_with(
            "arxiv-api-error.xml:11:3: the arXiv API refused the query: incorrect id format for 1234.12345"
        ),
        "{msg}"
    );
}

#[test]
fn the_arxiv_atom_listing_reads_like_the_rss_listing() {
    let atom = read_papers_file(&fixture("arxiv-atom.sample.xml")).unwrap();
    let rss = read_papers_file(&fixture("arxiv-rss.sample.xml")).unwrap();
    assert_eq!(atom.format, Format::Atom);
    assert_eq!(atom.date, NaiveDate::from_ymd_opt(2024, 5, 27));
    assert_eq!(atom.papers.len(), 6);
    for (a, r) in atom.papers.iter().zip(&rss.papers) {
        assert_eq!(a.id, r.id);
        assert_eq!(a.title, r.title);
        assert_eq!(a.abstract_text, r.abstract_text);
        assert_eq!(a.authors, r.authors);
        assert_eq!(a.categories, r.categories);
        assert_eq!(a.announce_type, r.announce_type);
        assert_eq!(a.links, r.links);
    }
}

#[test]
fn a_hugging_face_paper_feed_keeps_its_ids_and_splits_the_ai_summary() {
    let list = read_papers_file(&fixture("hf-papers-feed.sample.xml")).unwrap();
    assert_eq!(list.format, Format::ArxivRss);
    assert_eq!(list.date, None, "no channel date: not a listing");
    let ids: Vec<_> = list.papers.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["2506.14965", "2506.15154"]);
    let p = &list.papers[0];
    assert_eq!(
        p.title,
        "Revisiting Reinforcement Learning for LLM Reasoning from A Cross-Domain Perspective"
    );
    assert!(
        p.ai_summary
            .as_deref()
            .unwrap()
            .starts_with("Guru, a diverse RL reasoning corpus")
    );
    assert!(
        p.abstract_text
            .starts_with("Reinforcement learning (RL) has emerged")
    );
    assert!(!p.abstract_text.contains("AI-generated summary"));
    assert_eq!(
        p.links.hf.as_ref().map(|u| u.as_str()),
        Some("https://huggingface.co/papers/2506.14965")
    );
    assert_eq!(p.links.abs, None, "derived from the id");
    // The same paper from the Hugging Face API merges into one record.
    let api = parse_papers(
        r#"[{"paper": {"id": "2506.14965", "title": "Revisiting RL", "summary": "Short.", "upvotes": 42}}]"#,
        Path::new("hf.json"),
    )
    .unwrap();
    let merged = paperwire::paper::merge_papers([api.papers, list.papers]);
    assert_eq!(merged.len(), 2);
    assert_eq!(merged[0].upvotes, Some(42));
    assert!(
        merged[0].abstract_text.len() > 500,
        "the longer abstract wins"
    );
}

#[test]
fn an_aggregator_feed_with_html_descriptions_becomes_text() {
    let list = read_papers_file(&fixture("aggregator-html.sample.xml")).unwrap();
    assert_eq!(list.date, None);
    let ids: Vec<_> = list.papers.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["2412.21055", "2501.01098"]);
    for p in &list.papers {
        for text in [&p.title, &p.abstract_text] {
            assert!(!text.contains('<') && !text.contains("&lt;"), "{text}");
        }
    }
    let p = &list.papers[0];
    assert!(
        p.abstract_text.starts_with("We consider the surface code"),
        "{}",
        p.abstract_text
    );
    assert_eq!(p.authors, ["Jan Behrends", "Benjamin Béri"]);
    assert_eq!(
        p.links.abs.as_ref().map(|u| u.as_str()),
        Some("https://arxiv.org/abs/2412.21055")
    );
}

#[test]
fn hugging_face_json_of_the_2024_shape() {
    let list = read_papers_file(&fixture("hf-daily-papers-2024.sample.json")).unwrap();
    assert_eq!((list.papers.len(), list.skipped), (2, 0));
    let p = &list.papers[0];
    assert_eq!(p.authors, ["Chameleon Team"], "hidden authors are left out");
    assert_eq!(list.papers[1].authors, ["First Visible", "Third Visible"]);
    assert_eq!(
        p.submitted_at.unwrap().to_rfc3339(),
        "2024-05-17T02:39:30.112+00:00"
    );
    assert_eq!(
        p.published_at.unwrap().to_rfc3339(),
        "2024-05-16T05:05:12+00:00"
    );
    assert_eq!((p.upvotes, p.comments), (Some(113), Some(6)));
    assert_eq!(p.ai_summary, None);
}

#[test]
fn a_feed_with_chinese_and_japanese_titles() {
    let list = read_papers_file(&fixture("cjk-titles.sample.xml")).unwrap();
    let ids: Vec<_> = list.papers.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["2506.14965", "2506.15154"]);
    assert!(list.papers[0].title.starts_with("面向大规模语言模型推理"));
    assert!(list.papers[0].abstract_text.starts_with("强化学习已成为"));
    assert!(!list.papers[0].abstract_text.contains("<p>"));
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    let err = read_papers_file(Path::new("/nonexistent/papers.json")).unwrap_err();
    assert!(matches!(err, SourceError::Read { .. }));
    assert!(err.to_string().contains("/nonexistent/papers.json"));
    assert_eq!(Exit::of(&err), Exit::Usage);
}

// ---------------------------------------------------------------------------------------------
// Part 2: live sources against a local server.

mod live {
    use std::time::{Duration, Instant};

    use chrono::{DateTime, NaiveDate, Utc};
    use paperwire::config::{ConfigOrigin, Settings};
    use paperwire::exit::Exit;
    use paperwire::source::{Fetched, HttpOptions, SourceError, USER_AGENT, fetch_all_with};
    use wiremock::matchers::{header, header_regex, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::{fixture, fixture_text};

    /// Production shape, test speed.
    fn fast() -> HttpOptions {
        HttpOptions {
            connect_timeout: Duration::from_millis(500),
            timeout: Duration::from_millis(1500),
            retries: 2,
            backoff_min: Duration::from_millis(5),
            backoff_max: Duration::from_millis(20),
            retry_after_max: Duration::from_secs(2),
            max_body: 20 * 1024 * 1024,
            arxiv_interval: Duration::from_millis(5),
        }
    }

    fn settings(sources: &str) -> Settings {
        try_settings(sources).unwrap()
    }

    fn try_settings(sources: &str) -> Result<Settings, String> {
        let text = format!(
            r#"
[newsletter]
title    = "Trending Papers"
from     = "Paperwire <digest@example.org>"
list_id  = "trending.example.org"
base_url = "https://digest.example.org"
timezone = "UTC"

{sources}

[[section]]
name     = "Federated Learning"
keywords = ["federated"]
"#
        );
        let path = std::path::Path::new("/tmp/paperwire-test.toml");
        Settings::parse(
            &text,
            path,
            std::path::Path::new("/tmp"),
            ConfigOrigin::File(path.to_owned()),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn an_arxiv_query_asks_the_api_and_belongs_to_arxiv_sources() {
        let s = settings("[[source]]\nkind = \"arxiv\"\nquery = \"cat:cs.LG\"");
        assert_eq!(
            s.sources[0],
            paperwire::config::SourceSettings::Arxiv {
                url: "https://export.arxiv.org/api/query".into(),
                skip_replacements: false,
                query: Some("cat:cs.LG".into()),
                limit: None,
            }
        );
        let s = settings("[[source]]\nkind = \"arxiv\"");
        assert!(matches!(
            &s.sources[0],
            paperwire::config::SourceSettings::Arxiv { url, query: None, .. }
                if url == "https://rss.arxiv.org/rss/cs.LG"
        ));
        let err =
            try_settings("[[source]]\nkind = \"huggingface\"\nquery = \"cat:cs.LG\"").unwrap_err();
        assert!(
            err.contains("`query` is for sources of kind \"arxiv\", not \"huggingface\""),
            "{err}"
        );
        let err = try_settings("[[source]]\nkind = \"arxiv\"\nquery = \"  \"").unwrap_err();
        assert!(err.contains("`query` is empty"), "{err}");
    }

    fn hf(server: &MockServer) -> Settings {
        settings(&format!(
            "[[source]]\nkind = \"huggingface\"\nurl = \"{}/api/daily_papers\"",
            server.uri()
        ))
    }

    fn arxiv(server: &MockServer, skip: bool) -> Settings {
        settings(&format!(
            "[[source]]\nkind = \"arxiv\"\nurl = \"{}/rss/cs.LG\"\nskip_replacements = {skip}",
            server.uri()
        ))
    }

    fn day(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    /// Monday 2024-05-27, 08:00 UTC.
    fn monday() -> DateTime<Utc> {
        "2024-05-27T08:00:00Z".parse().unwrap()
    }

    fn json(body: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_raw(body.as_bytes().to_vec(), "application/json")
    }

    async fn fetch(s: &Settings, date: Option<&str>) -> Result<Fetched, SourceError> {
        fetch_all_with(s, date.map(day), monday(), &fast()).await
    }

    #[tokio::test]
    async fn huggingface_day_with_manners() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/daily_papers"))
            .and(query_param("date", "2024-05-24"))
            .and(header("user-agent", USER_AGENT))
            .and(header_regex("accept-encoding", "gzip"))
            .respond_with(json(&fixture_text("hf-daily-papers.sample.json")))
            .expect(1)
            .mount(&server)
            .await;
        let got = fetch(&hf(&server), Some("2024-05-24")).await.unwrap();
        assert_eq!(got.papers.len(), 12);
        assert_eq!(got.date, Some(day("2024-05-24")));
        assert_eq!(got.skipped, 0);
        assert!(got.warnings.is_empty(), "{:?}", got.warnings);
        assert_eq!(got.papers[0].upvotes, Some(1));
    }

    #[tokio::test]
    async fn limit_is_sent_and_applied() {
        let server = MockServer::start().await;
        Mock::given(query_param("limit", "3"))
            .respond_with(json(&fixture_text("hf-daily-papers.sample.json")))
            .expect(1)
            .mount(&server)
            .await;
        let s = settings(&format!(
            "[[source]]\nkind = \"huggingface\"\nurl = \"{}/api/daily_papers\"\nlimit = 3",
            server.uri()
        ));
        let got = fetch(&s, Some("2024-05-24")).await.unwrap();
        assert_eq!(got.papers.len(), 3);
    }

    #[tokio::test]
    async fn the_default_day_skips_the_weekend() {
        let server = MockServer::start().await;
        for empty in ["2024-05-26", "2024-05-25"] {
            Mock::given(query_param("date", empty))
                .respond_with(json("[]"))
                .expect(1)
                .mount(&server)
                .await;
        }
        Mock::given(query_param("date", "2024-05-24"))
            .respond_with(json(&fixture_text("hf-daily-papers.sample.json")))
            .expect(1)
            .mount(&server)
            .await;
        // Today (the 27th) is never asked for: its list is still filling up.
        Mock::given(query_param("date", "2024-05-27"))
            .respond_with(json("[]"))
            .expect(0)
            .mount(&server)
            .await;
        let got = fetch(&hf(&server), None).await.unwrap();
        assert_eq!(got.date, Some(day("2024-05-24")));
        assert_eq!(got.papers.len(), 12);
        assert_eq!(
            got.warnings,
            [format!(
                "{}/api/daily_papers: no papers for 2024-05-26, 2024-05-25; using 2024-05-24",
                server.uri()
            )]
        );
    }

    #[tokio::test]
    async fn an_empty_day_is_no_papers_not_a_failure() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(json("[]"))
            .mount(&server)
            .await;
        let err = fetch(&hf(&server), Some("2024-05-25")).await.unwrap_err();
        match &err {
            SourceError::NoPapers { date, .. } => assert_eq!(*date, day("2024-05-25")),
            other => panic!("{other:?}"),
        }
        assert!(err.is_empty_day());
        assert!(
            err.to_string()
                .starts_with("no papers for 2024-05-25 from "),
            "{err}"
        );
        // With no date, a whole week without papers is the same answer, for yesterday.
        let err = fetch(&hf(&server), None).await.unwrap_err();
        assert!(
            matches!(err, SourceError::NoPapers { date, .. } if date == day("2024-05-26")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn too_many_requests_waits_for_retry_after_then_succeeds() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
            .up_to_n_times(1)
            .expect(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(json(&fixture_text("hf-daily-papers.sample.json")))
            .expect(1)
            .with_priority(2)
            .mount(&server)
            .await;
        let started = Instant::now();
        let got = fetch(&hf(&server), Some("2024-05-24")).await.unwrap();
        assert_eq!(got.papers.len(), 12);
        // The backoff alone would have waited 5 ms: the server's second was honoured.
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_retry_after_beyond_the_cap_means_try_later() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
            .expect(1)
            .mount(&server)
            .await;
        let err = fetch(&hf(&server), Some("2024-05-24")).await.unwrap_err();
        assert_eq!(Exit::of(&err), Exit::TryLater);
        let msg = err.to_string();
        assert!(msg.contains("429") && msg.contains("3600s"), "{msg}");
        assert!(msg.contains(&server.uri()), "{msg}");
    }

    #[tokio::test]
    async fn a_server_error_is_retried() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(500))
            .up_to_n_times(1)
            .expect(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(json(&fixture_text("hf-daily-papers.sample.json")))
            .expect(1)
            .with_priority(2)
            .mount(&server)
            .await;
        let got = fetch(&hf(&server), Some("2024-05-24")).await.unwrap();
        assert_eq!(got.papers.len(), 12);
    }

    #[tokio::test]
    async fn a_server_that_keeps_failing_means_try_later_naming_url_and_status() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(503))
            .expect(3)
            .mount(&server)
            .await;
        let err = fetch(&hf(&server), Some("2024-05-24")).await.unwrap_err();
        assert_eq!(Exit::of(&err), Exit::TryLater);
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!(
                "{}/api/daily_papers?date=2024-05-24: HTTP 503",
                server.uri()
            )),
            "{msg}"
        );
        assert!(msg.contains("after 3 attempts"), "{msg}");
    }

    #[tokio::test]
    async fn a_slow_server_times_out_and_means_try_later() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(json("[]").set_delay(Duration::from_millis(800)))
            .expect(2)
            .mount(&server)
            .await;
        let opts = HttpOptions {
            timeout: Duration::from_millis(150),
            retries: 1,
            ..fast()
        };
        let started = Instant::now();
        let err = fetch_all_with(&hf(&server), Some(day("2024-05-24")), monday(), &opts)
            .await
            .unwrap_err();
        assert_eq!(Exit::of(&err), Exit::TryLater);
        assert!(err.to_string().contains("timed out"), "{err}");
        assert!(started.elapsed() < Duration::from_millis(1500));
    }

    #[tokio::test]
    async fn an_unreachable_server_means_try_later() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let s = settings(&format!(
            "[[source]]\nkind = \"huggingface\"\nurl = \"http://127.0.0.1:{port}/api\""
        ));
        let err = fetch(&s, Some("2024-05-24")).await.unwrap_err();
        assert_eq!(Exit::of(&err), Exit::TryLater);
        let msg = err.to_string();
        assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
        assert!(msg.contains("cannot connect"), "{msg}");
    }

    #[tokio::test]
    async fn a_missing_endpoint_is_a_config_error() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(404).set_body_string("{\"error\":\"Not Found\"}"))
            .expect(1)
            .mount(&server)
            .await;
        let err = fetch(&hf(&server), Some("2024-05-24")).await.unwrap_err();
        assert_eq!(Exit::of(&err), Exit::Usage);
        assert!(err.to_string().ends_with("HTTP 404: Not Found"), "{err}");
    }

    /// Each bad body, served with 200, is an input error (exit 2) saying what it is.
    #[tokio::test]
    async fn bad_bodies_are_input_errors() {
        let full = fixture_text("hf-daily-papers.sample.json");
        let truncated = full[..full.len() / 3].to_owned();
        let cases: Vec<(ResponseTemplate, &str)> = vec![
            (
                ResponseTemplate::new(200).set_body_string("Service temporarily unavailable"),
                "plain text; expected Hugging Face daily papers JSON",
            ),
            (json(&truncated), "truncated"),
            (
                ResponseTemplate::new(200).set_body_raw(
                    b"<!DOCTYPE html><html><body>Oops</body></html>".to_vec(),
                    "text/html",
                ),
                "looks like HTML",
            ),
            (
                json("{\"error\": \"Invalid date\"}"),
                "the server said: Invalid date",
            ),
            (json(""), "an empty body"),
            (
                ResponseTemplate::new(200).set_body_bytes(vec![0xff, 0xfe, 0x00, 0x5b]),
                "not UTF-8",
            ),
        ];
        for (response, expected) in cases {
            let server = MockServer::start().await;
            Mock::given(method("GET"))
                .respond_with(response)
                .expect(1)
                .mount(&server)
                .await;
            let err = fetch(&hf(&server), Some("2024-05-24")).await.unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, SourceError::Malformed(_)), "{err:?}");
            assert_eq!(Exit::of(&err), Exit::Usage, "{msg}");
            assert!(msg.contains(expected), "{msg} (expected {expected})");
            assert!(msg.starts_with(&server.uri()), "{msg}");
        }
    }

    #[tokio::test]
    async fn an_absurdly_large_body_is_refused() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(json(&format!("[{}]", " ".repeat(10_000))))
            .expect(1)
            .mount(&server)
            .await;
        let opts = HttpOptions {
            max_body: 4096,
            ..fast()
        };
        let err = fetch_all_with(&hf(&server), Some(day("2024-05-24")), monday(), &opts)
            .await
            .unwrap_err();
        assert!(
            matches!(err, SourceError::TooLarge { limit: 4096, .. }),
            "{err:?}"
        );
        assert_eq!(Exit::of(&err), Exit::Usage);
    }

    #[tokio::test]
    async fn arxiv_listing_with_and_without_replacements() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/rss/cs.LG"))
            .and(header("user-agent", USER_AGENT))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                fixture_text("arxiv-rss.sample.xml").into_bytes(),
                "application/rss+xml",
            ))
            .mount(&server)
            .await;
        let all = fetch(&arxiv(&server, false), None).await.unwrap();
        assert_eq!(all.papers.len(), 6);
        assert_eq!(all.date, Some(day("2024-05-27")));
        let fresh = fetch(&arxiv(&server, true), None).await.unwrap();
        let types: Vec<_> = fresh
            .papers
            .iter()
            .map(|p| p.announce_type.as_deref().unwrap())
            .collect();
        assert_eq!(types, ["new", "cross", "new", "new"]);
        // The listing's own day is fine; any other day is not something RSS can give.
        assert!(
            fetch(&arxiv(&server, false), Some("2024-05-27"))
                .await
                .is_ok()
        );
        let err = fetch(&arxiv(&server, false), Some("2024-05-20"))
            .await
            .unwrap_err();
        assert_eq!(Exit::of(&err), Exit::Usage);
        assert!(
            err.to_string()
                .contains("only holds the latest announcement"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_empty_arxiv_listing_is_no_papers() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string(
                "<?xml version='1.0'?><rss version=\"2.0\"><channel><title>cs.LG</title>\
                 <pubDate>Sat, 25 May 2024 00:00:00 -0400</pubDate></channel></rss>",
            ))
            .mount(&server)
            .await;
        let err = fetch(&arxiv(&server, false), None).await.unwrap_err();
        assert!(
            matches!(err, SourceError::NoPapers { date, .. } if date == day("2024-05-25")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn requests_to_arxiv_are_spaced() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200).set_body_string(fixture_text("arxiv-rss.sample.xml")),
            )
            .expect(2)
            .mount(&server)
            .await;
        let s = settings(&format!(
            "[[source]]\nkind = \"arxiv\"\nurl = \"{0}/rss/cs.LG\"\n\n[[source]]\nkind = \"arxiv\"\nurl = \"{0}/rss/cs.CL\"",
            server.uri()
        ));
        let opts = HttpOptions {
            arxiv_interval: Duration::from_millis(400),
            ..fast()
        };
        let started = Instant::now();
        let got = fetch_all_with(&s, None, monday(), &opts).await.unwrap();
        assert_eq!(got.papers.len(), 6, "the same papers merge");
        assert!(
            started.elapsed() >= Duration::from_millis(390),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn sources_merge_field_by_field() {
        let server = MockServer::start().await;
        Mock::given(path("/api/daily_papers"))
            .respond_with(json(&fixture_text("hf-daily-papers.sample.json")))
            .mount(&server)
            .await;
        let rss = "<?xml version='1.0'?>\n<rss xmlns:arxiv=\"http://arxiv.org/schemas/atom\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" version=\"2.0\"><channel><title>cs.CV</title>\
            <pubDate>Sun, 26 May 2024 00:00:00 -0400</pubDate>\
            <item><title>MagicPose4D</title><link>https://arxiv.org/abs/2405.10000</link>\
            <description>arXiv:2405.10000v2 Announce Type: new \nAbstract: Short.</description>\
            <category>cs.CV</category><category>cs.GR</category><arxiv:announce_type>new</arxiv:announce_type>\
            <dc:creator>Solo Author</dc:creator></item>\
            <item><title>Only on arXiv</title><link>https://arxiv.org/abs/2405.29999</link>\
            <description>arXiv:2405.29999v1 Announce Type: new \nAbstract: Elsewhere.</description></item>\
            </channel></rss>";
        Mock::given(path("/rss/cs.CV"))
            .respond_with(ResponseTemplate::new(200).set_body_string(rss))
            .mount(&server)
            .await;
        let s = settings(&format!(
            "[[source]]\nkind = \"huggingface\"\nurl = \"{0}/api/daily_papers\"\n\n[[source]]\nkind = \"arxiv\"\nurl = \"{0}/rss/cs.CV\"",
            server.uri()
        ));
        let got = fetch(&s, None).await.unwrap();
        assert_eq!(got.papers.len(), 13);
        assert_eq!(got.date, Some(day("2024-05-26")), "the HF day decides");
        let merged = &got.papers[0];
        assert_eq!(merged.id.as_str(), "2405.10000");
        assert_eq!(merged.upvotes, Some(1), "from Hugging Face");
        assert_eq!(merged.categories, ["cs.CV", "cs.GR"], "from arXiv");
        assert!(merged.abstract_text.len() > 100, "the longer abstract wins");
        assert_eq!(got.papers[12].id.as_str(), "2405.29999");
    }

    /// An arXiv API answer with `total` results, entries `start..start+n` of them.
    fn api_page(total: usize, start: usize, n: usize) -> String {
        let entries: String = (start..start + n)
            .map(|i| {
                format!(
                    "<entry><id>http://arxiv.org/abs/2405.{:05}v1</id><published>2024-05-24T10:00:00Z</published>\
                     <title>Diffusion paper {i}</title><summary>  Abstract {i}.\n</summary>\
                     <author><name>Author {i}</name></author>\
                     <link href=\"http://arxiv.org/abs/2405.{:05}v1\" rel=\"alternate\" type=\"text/html\"/>\
                     <arxiv:primary_category xmlns:arxiv=\"http://arxiv.org/schemas/atom\" term=\"cs.LG\"/></entry>",
                    10000 + i,
                    10000 + i
                )
            })
            .collect();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\
             <opensearch:totalResults xmlns:opensearch=\"http://a9.com/-/spec/opensearch/1.1/\">{total}</opensearch:totalResults>\
             {entries}</feed>"
        )
    }

    fn atom(body: String) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "application/atom+xml")
    }

    fn api(server: &MockServer, extra: &str) -> Settings {
        settings(&format!(
            "[[source]]\nkind = \"arxiv\"\nurl = \"{}/api/query\"\nquery = \"cat:cs.LG AND abs:diffusion\"\n{extra}",
            server.uri()
        ))
    }

    #[tokio::test]
    async fn the_arxiv_api_is_paged_3_s_apart_for_the_day() {
        let server = MockServer::start().await;
        for (start, n) in [(0, 100), (100, 100), (200, 50)] {
            Mock::given(method("GET"))
                .and(path("/api/query"))
                .and(query_param(
                    "search_query",
                    "(cat:cs.LG AND abs:diffusion) AND submittedDate:[202405240000 TO 202405242359]",
                ))
                .and(query_param("start", start.to_string()))
                .and(query_param("max_results", "100"))
                .and(query_param("sortBy", "submittedDate"))
                .and(header("user-agent", USER_AGENT))
                .respond_with(atom(api_page(250, start, n)))
                .expect(1)
                .mount(&server)
                .await;
        }
        let opts = HttpOptions {
            arxiv_interval: Duration::from_millis(200),
            ..fast()
        };
        let started = Instant::now();
        let got = fetch_all_with(&api(&server, ""), Some(day("2024-05-24")), monday(), &opts)
            .await
            .unwrap();
        assert_eq!(got.papers.len(), 250);
        assert_eq!(got.date, Some(day("2024-05-24")));
        assert!(got.warnings.is_empty(), "{:?}", got.warnings);
        assert_eq!(got.papers[0].id.as_str(), "2405.10000");
        assert_eq!(got.papers[249].categories, ["cs.LG"]);
        // Three requests through the arXiv gate: two full intervals between them.
        assert!(
            started.elapsed() >= Duration::from_millis(390),
            "{:?}",
            started.elapsed()
        );
        // The production spacing is arXiv's 3 s.
        assert_eq!(
            HttpOptions::default().arxiv_interval,
            Duration::from_secs(3)
        );
    }

    #[tokio::test]
    async fn the_arxiv_api_stops_at_the_limit_and_says_so() {
        let server = MockServer::start().await;
        Mock::given(query_param("start", "0"))
            .and(query_param("max_results", "100"))
            .respond_with(atom(api_page(400, 0, 100)))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(query_param("start", "100"))
            .and(query_param("max_results", "50"))
            .respond_with(atom(api_page(400, 100, 50)))
            .expect(1)
            .mount(&server)
            .await;
        let got = fetch(&api(&server, "limit = 150"), Some("2024-05-24"))
            .await
            .unwrap();
        assert_eq!(got.papers.len(), 150);
        assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
        assert!(
            got.warnings[0].contains("has 400 papers submitted on 2024-05-24; took the newest 150")
        );
    }

    #[tokio::test]
    async fn the_arxiv_api_without_a_date_looks_back_for_a_day_with_papers() {
        let server = MockServer::start().await;
        for empty in ["20240526", "20240525"] {
            Mock::given(query_param(
                "search_query",
                format!(
                    "(cat:cs.LG AND abs:diffusion) AND submittedDate:[{empty}0000 TO {empty}2359]"
                ),
            ))
            .respond_with(atom(api_page(0, 0, 0)))
            .expect(1)
            .mount(&server)
            .await;
        }
        Mock::given(query_param(
            "search_query",
            "(cat:cs.LG AND abs:diffusion) AND submittedDate:[202405240000 TO 202405242359]",
        ))
        .respond_with(atom(api_page(3, 0, 3)))
        .expect(1)
        .mount(&server)
        .await;
        let got = fetch(&api(&server, ""), None).await.unwrap();
        assert_eq!(got.date, Some(day("2024-05-24")));
        assert_eq!(got.papers.len(), 3);
        assert_eq!(
            got.warnings,
            [format!(
                "{}/api/query: no papers for 2024-05-26, 2024-05-25; using 2024-05-24",
                server.uri()
            )]
        );
    }

    #[tokio::test]
    async fn arxiv_api_errors_and_partial_answers() {
        // A refused query is a config error (exit 2), said in arXiv's words.
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(atom(fixture_text("arxiv-api-error.xml")))
            .mount(&server)
            .await;
        let err = fetch(&api(&server, ""), Some("2024-05-24"))
            .await
            .unwrap_err();
        assert_eq!(Exit::of(&err), Exit::Usage);
        assert!(
            err.to_string()
                .contains("the arXiv API refused the query: incorrect id format"),
            "{err}"
        );
        // An empty page before the total is reached: try again later, never a short list.
        let server = MockServer::start().await;
        Mock::given(query_param("start", "0"))
            .respond_with(atom(api_page(250, 0, 100)))
            .mount(&server)
            .await;
        Mock::given(query_param("start", "100"))
            .respond_with(atom(api_page(250, 100, 0)))
            .mount(&server)
            .await;
        let err = fetch(&api(&server, ""), Some("2024-05-24"))
            .await
            .unwrap_err();
        assert_eq!(Exit::of(&err), Exit::TryLater);
        assert!(
            err.to_string().contains("empty page after 100 of 250"),
            "{err}"
        );
        // RSS where the API's Atom was expected.
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200).set_body_string(fixture_text("arxiv-rss.sample.xml")),
            )
            .mount(&server)
            .await;
        let err = fetch(&api(&server, ""), Some("2024-05-24"))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("(RSS feed; expected Atom feed)"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_atom_listing_is_an_arxiv_source_too() {
        let server = MockServer::start().await;
        Mock::given(path("/atom/cs.LG"))
            .respond_with(atom(fixture_text("arxiv-atom.sample.xml")))
            .mount(&server)
            .await;
        let s = settings(&format!(
            "[[source]]\nkind = \"arxiv\"\nurl = \"{}/atom/cs.LG\"\nskip_replacements = true",
            server.uri()
        ));
        let got = fetch(&s, None).await.unwrap();
        assert_eq!(got.date, Some(day("2024-05-27")));
        assert_eq!(got.papers.len(), 4, "replacements skipped");
    }

    /// The HF mock of the weekend test: Friday 24 May has the fixture's 12 papers.
    async fn mount_hf_friday(server: &MockServer) {
        for empty in ["2024-05-26", "2024-05-25"] {
            Mock::given(path("/api/daily_papers"))
                .and(query_param("date", empty))
                .respond_with(json("[]"))
                .mount(server)
                .await;
        }
        Mock::given(path("/api/daily_papers"))
            .and(query_param("date", "2024-05-24"))
            .respond_with(json(&fixture_text("hf-daily-papers.sample.json")))
            .mount(server)
            .await;
    }

    /// The arXiv RSS fixture, announced on `date` (RFC 2822).
    fn listing_of(date: &str) -> ResponseTemplate {
        let body =
            fixture_text("arxiv-rss.sample.xml").replace("Mon, 27 May 2024 00:00:00 -0400", date);
        ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "application/rss+xml")
    }

    fn hf_and_arxiv(server: &MockServer) -> Settings {
        settings(&format!(
            "[[source]]\nkind = \"arxiv\"\nurl = \"{0}/rss/cs.LG\"\n\n[[source]]\nkind = \"huggingface\"\nurl = \"{0}/api/daily_papers\"",
            server.uri()
        ))
    }

    #[tokio::test]
    async fn a_stale_listing_is_left_out_of_a_mixed_edition_with_a_warning() {
        let server = MockServer::start().await;
        mount_hf_friday(&server).await;
        Mock::given(path("/rss/cs.LG"))
            .respond_with(listing_of("Thu, 01 Feb 2024 00:00:00 -0500"))
            .mount(&server)
            .await;
        for date in [None, Some("2024-05-24")] {
            let got = fetch(&hf_and_arxiv(&server), date).await.unwrap();
            assert_eq!(
                got.date,
                Some(day("2024-05-24")),
                "the HF day, though listed second"
            );
            assert_eq!(got.papers.len(), 12, "only Hugging Face's papers");
            assert!(got.papers.iter().all(|p| p.upvotes.is_some()));
            let stale = format!(
                "{}/rss/cs.LG: left out 6 papers: its listing is for 2024-02-01, not the edition's day 2024-05-24",
                server.uri()
            );
            assert!(got.warnings.contains(&stale), "{:?}", got.warnings);
        }
    }

    #[tokio::test]
    async fn a_listing_of_the_editions_day_merges() {
        let server = MockServer::start().await;
        mount_hf_friday(&server).await;
        Mock::given(path("/rss/cs.LG"))
            .respond_with(listing_of("Fri, 24 May 2024 00:00:00 -0400"))
            .mount(&server)
            .await;
        let got = fetch(&hf_and_arxiv(&server), None).await.unwrap();
        assert_eq!(got.papers.len(), 18);
        assert!(
            !got.warnings.iter().any(|w| w.contains("left out")),
            "{:?}",
            got.warnings
        );
    }

    #[tokio::test]
    async fn a_stale_listing_alone_gives_no_papers_and_says_why() {
        let server = MockServer::start().await;
        Mock::given(path("/rss/cs.LG"))
            .respond_with(listing_of("Thu, 01 Feb 2024 00:00:00 -0500"))
            .mount(&server)
            .await;
        let err = fetch(&arxiv(&server, false), None).await.unwrap_err();
        assert!(err.is_empty_day());
        assert_eq!(
            err.to_string(),
            format!(
                "no papers for 2024-05-27 from {}/rss/cs.LG (its listing is for 2024-02-01, more than 7 days before 2024-05-27: stale)",
                server.uri()
            )
        );
        // A listing of a few days ago is still the latest announcement (a long weekend).
        let server = MockServer::start().await;
        Mock::given(path("/rss/cs.LG"))
            .respond_with(listing_of("Fri, 24 May 2024 00:00:00 -0400"))
            .mount(&server)
            .await;
        let got = fetch(&arxiv(&server, false), None).await.unwrap();
        assert_eq!((got.papers.len(), got.date), (6, Some(day("2024-05-24"))));
    }

    #[tokio::test]
    async fn an_arxiv_api_source_is_asked_for_the_hugging_face_day() {
        let server = MockServer::start().await;
        mount_hf_friday(&server).await;
        Mock::given(path("/api/query"))
            .and(query_param(
                "search_query",
                "(cat:cs.LG AND abs:diffusion) AND submittedDate:[202405240000 TO 202405242359]",
            ))
            .respond_with(atom(api_page(2, 0, 2)))
            .expect(1)
            .mount(&server)
            .await;
        // The weekend: nothing submitted that matches.
        Mock::given(path("/api/query"))
            .respond_with(atom(api_page(0, 0, 0)))
            .with_priority(10)
            .expect(2)
            .mount(&server)
            .await;
        let s = settings(&format!(
            "[[source]]\nkind = \"arxiv\"\nurl = \"{0}/api/query\"\nquery = \"cat:cs.LG AND abs:diffusion\"\n\n[[source]]\nkind = \"huggingface\"\nurl = \"{0}/api/daily_papers\"",
            server.uri()
        ));
        // The API source comes first and settles on Friday itself (its mock has nothing else);
        // Hugging Face is then asked for that day only.
        let got = fetch(&s, None).await.unwrap();
        assert_eq!(got.date, Some(day("2024-05-24")));
        // 2405.10000 is in both: one record, with HF's upvotes and the API's category.
        assert_eq!(got.papers.len(), 13);
        let both = got
            .papers
            .iter()
            .find(|p| p.id.as_str() == "2405.10000")
            .unwrap();
        assert_eq!(
            (both.upvotes, both.categories.as_slice()),
            (Some(1), &["cs.LG".to_owned()][..])
        );
    }

    #[tokio::test]
    async fn file_sources_and_the_bundled_sample() {
        let s = settings(&format!(
            "[[source]]\nkind = \"file\"\npath = \"{}\"",
            fixture("arxiv-rss.sample.xml").display()
        ));
        let got = fetch(&s, None).await.unwrap();
        assert_eq!(got.papers.len(), 6);
        assert_eq!(got.date, Some(day("2024-05-27")));

        let bundled = paperwire::config::load(&ConfigOrigin::Bundled).unwrap();
        let got = fetch(&bundled, None).await.unwrap();
        assert_eq!(got.papers.len(), 90);

        let missing = settings("[[source]]\nkind = \"file\"\npath = \"/nonexistent/p.json\"");
        let err = fetch(&missing, None).await.unwrap_err();
        assert!(matches!(err, SourceError::Read { .. }), "{err:?}");
    }
}
