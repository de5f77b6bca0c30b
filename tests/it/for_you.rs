//! The "For you" block and the other per-reader fields (`interests`, `authors`, `like`, `mute`,
//! `for_you`) end to end: `send` to a real SMTP server on 127.0.0.1, every message parsed.
//!
//! The first test pins what readers *without* personal fields get: their messages are compared
//! byte for byte (Date and MIME boundaries redacted) with snapshots taken before the block
//! existed, so that personalization can never change anyone else's email.

use std::time::Duration;

use crate::harness::{Output, Redactor, SmtpServer, TestEnv};

const SECRET: (&str, &str) = ("PAPERWIRE_SECRET", "test-secret");

/// Readers with no personal field: HTML and text, every section or some, capped or not.
const PLAIN_READERS: &str = r#"
[[subscriber]]
email  = "ada@example.org"
name   = "Ada Lovelace"
topics = ["Federated Learning"]

[[subscriber]]
email  = "grace@example.org"
name   = "Grace Hopper"
format = "text"

[[subscriber]]
email      = "alan@example.org"
max_papers = 3

[[subscriber]]
email      = "edsger@example.org"
topics     = ["Losses & Optimization", "More papers"]
max_papers = 4
format     = "text"
"#;

/// A config reading `papers.json` (a copy of the Hugging Face fixture: ids, authors, links).
fn setup(env: &TestEnv, server: &SmtpServer, subscribers: &str) {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf-daily-papers.sample.json");
    env.write("papers.json", std::fs::read(fixture).unwrap());
    env.subscribers(subscribers);
    env.config_builder(Some(&server.url()))
        .sources("[[source]]\nkind = \"file\"\npath = \"papers.json\"\n")
        .write();
}

fn send(env: &TestEnv) {
    send_output(env, &[]).assert_code(0);
}

/// `send` of the edition 2026-11-28, with `flags` before the command (`-v`).
fn send_output(env: &TestEnv, flags: &[&str]) -> Output {
    let mut args = flags.to_vec();
    args.extend([
        "send",
        "--config",
        "paperwire.toml",
        "--edition",
        "2026-11-28",
    ]);
    env.run_with_env(&args, &[SECRET])
}

/// Readers with every personal field, on the same list as [`PLAIN_READERS`].
const PERSONAL_READERS: &str = r#"
[[subscriber]]
email     = "tri@example.org"
interests = ["federated", "pruning"]
authors   = ["First Author"]
like      = ["2405.10111"]
mute      = ["benchmark*"]

[[subscriber]]
email   = "mute@example.org"
mute    = ["loss*"]
format  = "text"
"#;

#[test]
fn readers_without_personal_fields_get_todays_email_byte_for_byte() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    setup(&env, &server, &format!("{PLAIN_READERS}{PERSONAL_READERS}"));
    send(&env);
    server.wait_for(6, Duration::from_secs(10));
    let redactor = Redactor::default().keep_message_id();
    for who in ["ada", "grace", "alan", "edsger"] {
        let mail = &server.messages_to(&format!("{who}@example.org"))[0];
        insta::assert_snapshot!(format!("plain_reader_{who}"), redactor.redact(&mail.text()));
    }
}

// ---------------------------------------------------------------------------------------------
// The seed's 90 papers with arXiv ids and authors, and earlier editions to like papers from.

const NAMES: &[&str] = &[
    "Ada Lovelace",
    "Grace Hopper",
    "José García",
    "Łukasz Nowak",
    "Zoë Müller",
    "Søren Øster",
    "Hélène Dupont",
    "Ngọc Trần",
    "Alan Turing",
    "Edsger Dijkstra",
    "Barbara Liskov",
];

/// The seed with ids `2405.2NNNN` and two authors each; paper 42 is (also) by Tri Dao.
fn seed_papers() -> Vec<paperwire::paper::Paper> {
    let list = paperwire::source::parse_papers(
        paperwire::source::BUNDLED_SAMPLE,
        std::path::Path::new("seed"),
    )
    .unwrap();
    list.papers
        .into_iter()
        .enumerate()
        .map(|(i, mut p)| {
            p.id = paperwire::paper::PaperId::parse(&format!("2405.{:05}", 20000 + i)).unwrap();
            p.authors = vec![
                NAMES[i % NAMES.len()].to_owned(),
                NAMES[(i * 7 + 3) % NAMES.len()].to_owned(),
            ];
            if i == 42 {
                p.authors.insert(1, "Tri Dao".to_owned());
            }
            p
        })
        .collect()
}

/// An edition with the seed as `papers.json`, and `earlier` frozen as edition 2026-11-27.
fn seed_setup(
    env: &TestEnv,
    server: &SmtpServer,
    subscribers: &str,
    earlier: &[paperwire::paper::Paper],
) {
    let papers = seed_papers();
    env.write(
        "papers.json",
        paperwire::source::to_normalized_json(&papers, None),
    );
    if !earlier.is_empty() {
        env.write(
            "state/editions/2026-11-27/papers.json",
            paperwire::source::to_normalized_json(earlier, None),
        );
    }
    env.subscribers(subscribers);
    env.config_builder(Some(&server.url()))
        .sources("[[source]]\nkind = \"file\"\npath = \"papers.json\"\n")
        // Nothing may be asked of the real arXiv: an unknown liked id goes to a closed port.
        .with_table("for_you", "arxiv_api = \"http://127.0.0.1:9/api/query\"")
        .write();
}

/// The text part of the one message `who` got.
fn text_part(server: &SmtpServer, who: &str) -> String {
    let mail = &server.messages_to(who)[0];
    let parsed = mail.parse();
    parsed.body_text(0).unwrap().replace("\r\n", "\n")
}

/// The titles (first line of each `* ` item) of the text part's "For you" block.
fn block_titles(text: &str) -> Vec<String> {
    let Some(block) = text.split("== For you ==").nth(1) else {
        return Vec::new();
    };
    let block = block.split("\n== ").next().unwrap();
    block
        .lines()
        .filter_map(|l| l.strip_prefix("* "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_near_duplicate_of_a_liked_paper_ranks_first_and_is_not_repeated_below() {
    let seed = seed_papers();
    let target = &seed[17];
    let mut liked = paperwire::paper::Paper::new(
        paperwire::paper::PaperId::parse("2401.00017").unwrap(),
        format!("Revisiting {}", target.title),
        target
            .abstract_text
            .split_whitespace()
            .enumerate()
            .filter(|(i, _)| i % 9 != 4)
            .map(|(_, w)| w)
            .collect::<Vec<_>>()
            .join(" "),
    );
    liked.authors = vec!["Someone Else".into()];
    let server = SmtpServer::start();
    let env = TestEnv::new();
    let readers =
        "[[subscriber]]\nemail = \"likes@example.org\"\nlike = [\"2401.00017\"]\nfor_you = 3\n";
    seed_setup(&env, &server, readers, &[liked]);
    send(&env);
    server.wait_for(1, Duration::from_secs(10));
    let text = text_part(&server, "likes@example.org");
    let titles = block_titles(&text);
    let start: String = target.title.chars().take(40).collect();
    assert!(!titles.is_empty(), "{text}");
    assert!(titles[0].starts_with(&start), "{titles:?}\n{text}");
    assert!(text.contains("> like 2401.00017"), "{text}");
    assert_eq!(text.matches(&start).count(), 1, "shown once, in the block");
}

#[test]
fn a_followed_authors_paper_is_in_the_block_even_outside_the_readers_topics() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    let readers = "[[subscriber]]\nemail = \"fan@example.org\"\nauthors = [\"T. Dao\"]\n\
                   topics = [\"Federated Learning\"]\nformat = \"text\"\n";
    seed_setup(&env, &server, readers, &[]);
    send(&env);
    server.wait_for(1, Duration::from_secs(10));
    let text = text_part(&server, "fan@example.org");
    let start: String = seed_papers()[42].title.chars().take(40).collect();
    let titles = block_titles(&text);
    assert_eq!(titles.len(), 1, "{text}");
    assert!(titles[0].starts_with(&start), "{titles:?}");
    assert!(text.contains("> by Tri Dao"), "{text}");
}

#[test]
fn a_muted_keyword_appears_nowhere_in_that_email() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    // "federated" is in many papers and in a section's name.
    let readers = "[[subscriber]]\nemail = \"quiet@example.org\"\nname = \"Quiet\"\n\
                   mute = [\"federated\", \"FL\"]\ninterests = [\"loss function*\"]\n";
    seed_setup(&env, &server, readers, &[]);
    send(&env);
    server.wait_for(1, Duration::from_secs(10));
    let mail = &server.messages_to("quiet@example.org")[0];
    let parsed = mail.parse();
    let raw = mail.text();
    let headers = raw.split("\r\n\r\n").next().unwrap();
    let text = parsed.body_text(0).unwrap();
    let html = parsed.body_html(0).unwrap();
    for (part, body) in [("headers", headers), ("text", &text), ("html", &html)] {
        assert!(
            !body.to_lowercase().contains("federated"),
            "{part}:\n{body}"
        );
    }
    assert!(text.contains("== For you =="), "{text}");
    assert!(!text.contains("== Federated Learning =="));
    // The counts leave the muted papers out: shown and "more" lines add up to the rest.
    let muted = seed_papers()
        .iter()
        .filter(|p| {
            let t = format!("{} {}", p.title, p.abstract_text).to_lowercase();
            t.contains("federated") || t.split(|c: char| !c.is_alphanumeric()).any(|w| w == "fl")
        })
        .count();
    let shown = text.lines().filter(|l| l.starts_with("* ")).count();
    let more: usize = text
        .lines()
        .filter_map(|l| {
            l.split_once(" more in ")
                .map(|(n, _)| n.parse::<usize>().unwrap())
        })
        .sum();
    assert!(muted > 0);
    assert_eq!(shown + more, 90 - muted, "{text}");
}

/// The block's papers in the text part: (arXiv id, "why" line), in order.
fn block_reasons(text: &str) -> Vec<(String, String)> {
    let block = text.split("== For you ==").nth(1).unwrap_or_default();
    let block = block.split("\n== ").next().unwrap();
    let mut out = Vec::new();
    for item in block.split("\n* ").skip(1) {
        let mut why = String::new();
        let mut in_why = false;
        for line in item.lines() {
            if let Some(rest) = line.strip_prefix("  > ") {
                why.push_str(rest);
                in_why = true;
            } else if in_why && line.starts_with("    ") {
                why.push(' ');
                why.push_str(line.trim());
            } else {
                in_why = false;
            }
        }
        let id = item
            .split("arxiv.org/abs/")
            .nth(1)
            .map(|r| r.split_whitespace().next().unwrap().to_owned())
            .unwrap();
        out.push((id, why));
    }
    out
}

#[test]
fn the_why_line_in_the_email_is_the_one_explain_shows() {
    let seed = seed_papers();
    let liked = paperwire::paper::Paper::new(
        paperwire::paper::PaperId::parse("2401.00005").unwrap(),
        seed[5].title.clone(),
        seed[5].abstract_text.clone(),
    );
    let server = SmtpServer::start();
    let env = TestEnv::new();
    let readers = "[[subscriber]]\nemail = \"why@example.org\"\ninterests = [\"loss function*\", \"pruning\"]\n\
                   authors = [\"T. Dao\"]\nlike = [\"2401.00005\"]\nformat = \"text\"\n";
    seed_setup(&env, &server, readers, &[liked]);
    send(&env);
    server.wait_for(1, Duration::from_secs(10));
    let reasons = block_reasons(&text_part(&server, "why@example.org"));
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    let kinds = ["matches", "by Tri Dao", "like 2401.00005"];
    for kind in kinds {
        assert!(
            reasons.iter().any(|(_, w)| w.contains(kind)),
            "{kind}: {reasons:?}"
        );
    }
    for (n, (id, why)) in reasons.iter().enumerate() {
        let out = env.run(&[
            "explain",
            id,
            "--subscriber",
            "why@example.org",
            "--edition",
            "2026-11-28",
        ]);
        out.assert_code(0);
        assert!(
            out.stdout.contains(&format!("\n    why: {why}\n")),
            "{why}\n{}",
            out.stdout
        );
        assert!(
            out.stdout
                .contains(&format!("in the For-you block, {} of 5", n + 1)),
            "{}",
            out.stdout
        );
    }
}

/// `explain --subscriber` says where a paper is in that reader's email: a muted one is in no
/// part of it (and has no "why" line), one that scores but did not fit says the block is full.
#[test]
fn explain_says_muted_and_block_full() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    let readers = "[[subscriber]]\nemail = \"one@example.org\"\n\
                   interests = [\"loss function*\", \"federated\"]\nmute = [\"federated\"]\nfor_you = 1\n";
    seed_setup(&env, &server, readers, &[]);
    let explain = |id: &str| {
        let out = env.run(&[
            "explain",
            id,
            "--subscriber",
            "one@example.org",
            "--edition",
            "2026-11-28",
        ]);
        out.assert_code(0);
        out.stdout
    };
    let text =
        |p: &paperwire::paper::Paper| format!("{} {}", p.title, p.abstract_text).to_lowercase();
    let seed = seed_papers();
    let muted = seed.iter().find(|p| text(p).contains("federated")).unwrap();
    let out = explain(muted.id.as_str());
    assert!(
        out.contains("    muted by federated: in no part of this email\n"),
        "{out}"
    );
    assert!(
        !out.contains("why:"),
        "a muted paper has no why line: {out}"
    );
    // Of the papers that match and are not muted, one is the block; each other one says how
    // many scored higher, and those counts are 1, 2, … in some order.
    let candidates: Vec<_> = seed
        .iter()
        .filter(|p| text(p).contains("loss function") && !text(p).contains("federated"))
        .collect();
    assert!(candidates.len() > 2, "the seed has several matches");
    let mut in_block = 0;
    let mut ahead = Vec::new();
    for p in &candidates {
        let out = explain(p.id.as_str());
        if out.contains("in the For-you block, 1 of 1") {
            in_block += 1;
        } else if let Some(rest) = out.split("not in the For-you block: block full: ").nth(1) {
            ahead.push(
                rest.split_whitespace()
                    .next()
                    .unwrap()
                    .parse::<usize>()
                    .unwrap(),
            );
            assert!(out.contains("why: matches loss function"), "{out}");
        } else {
            assert!(out.contains("below the floor"), "{out}");
        }
    }
    assert_eq!(in_block, 1);
    ahead.sort_unstable();
    assert_eq!(ahead, (1..=ahead.len()).collect::<Vec<_>>());
    assert!(!ahead.is_empty());
}

/// `check` looks liked papers up on the arXiv API (here a local server): the answer is cached
/// in the state directory, the id arXiv does not know is reported, and a later send neither
/// asks again nor fails.
#[tokio::test(flavor = "multi_thread")]
async fn check_reports_liked_ids_no_one_knows_and_caches_the_rest() {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let api = MockServer::start().await;
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/arxiv-api.sample.xml");
    Mock::given(method("GET"))
        .and(path("/api/query"))
        .and(query_param("id_list", "1205.1001,2411.99999"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(std::fs::read_to_string(fixture).unwrap()),
        )
        .expect(1)
        .mount(&api)
        .await;
    let server = SmtpServer::start();
    let env = TestEnv::new();
    let readers =
        "[[subscriber]]\nemail = \"ada@example.org\"\nlike = [\"1205.1001\", \"2411.99999v2\"]\n";
    seed_setup(&env, &server, readers, &[]);
    let config = env.read("paperwire.toml").replace(
        "http://127.0.0.1:9/api/query",
        &format!("{}/api/query", api.uri()),
    );
    env.write("paperwire.toml", config);
    let out = env.run(&["check"]);
    out.assert_code(0);
    assert!(
        out.stderr.contains("liked paper 2411.99999 (ada@example.org) is in no paper list and arXiv does not know it; it is ignored"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("1205.1001"), "{}", out.stderr);
    let cache = env.read("state/liked-papers.json");
    assert!(cache.contains("Membrane lateral structure"), "{cache}");
    assert!(
        !cache.contains("chromosphere"),
        "only the ids asked for are kept"
    );
    // The send finds both answers in the cache: no request (the mock expects exactly one).
    send(&env);
    server.wait_for(1, Duration::from_secs(10));
    api.verify().await;
}

/// A check against an arXiv API (a local server) that answers `answer` for every request.
async fn check_with_api(
    answer: wiremock::ResponseTemplate,
    readers: &str,
    requests: u64,
) -> (TestEnv, crate::harness::Output) {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer};
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/query"))
        .respond_with(answer)
        .expect(requests)
        .mount(&api)
        .await;
    let server = SmtpServer::start();
    let env = TestEnv::new();
    seed_setup(&env, &server, readers, &[]);
    let config = env.read("paperwire.toml").replace(
        "http://127.0.0.1:9/api/query",
        &format!("{}/api/query", api.uri()),
    );
    env.write("paperwire.toml", config);
    let out = env.run(&["check"]);
    out.assert_code(0);
    // Asked again: nothing was cached for ids arXiv could not be asked about.
    env.run(&["check"]).assert_code(0);
    api.verify().await;
    (env, out)
}

const ONE_LIKE: &str = "[[subscriber]]\nemail = \"ada@example.org\"\nlike = [\"2411.01234\"]\n";

/// An API that fails, or answers with something that is not its feed, is not an answer: the
/// id is not reported as unknown, nothing is cached, and the next check asks again.
#[tokio::test(flavor = "multi_thread")]
async fn an_api_that_fails_or_answers_garbage_is_not_an_answer() {
    use wiremock::ResponseTemplate;
    let cases = [
        (ResponseTemplate::new(500), 4, "HTTP 500"),
        (
            ResponseTemplate::new(200).set_body_string("<html><body>maintenance</body></html>"),
            2,
            "",
        ),
    ];
    for (answer, requests, reason) in cases {
        let (env, out) = check_with_api(answer, ONE_LIKE, requests).await;
        assert!(
            out.stderr
                .contains("liked papers: could not look up 1 id(s) on arXiv (")
                && out.stderr.contains(reason),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(
                "liked paper 2411.01234 (ada@example.org) could not be looked up now; it is left out until it can be"
            ),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("does not know"), "{}", out.stderr);
        assert!(
            !env.exists("state/liked-papers.json")
                || !env.read("state/liked-papers.json").contains("2411.01234"),
            "nothing cached"
        );
    }
}

/// A liked paper that is in today's list needs no lookup and is not reported.
#[tokio::test(flavor = "multi_thread")]
async fn a_liked_paper_in_todays_list_is_found_there() {
    let readers = "[[subscriber]]\nemail = \"ada@example.org\"\nlike = [\"2405.20042\"]\n";
    let (_env, out) = check_with_api(wiremock::ResponseTemplate::new(500), readers, 0).await;
    assert!(!out.stderr.contains("2405.20042"), "{}", out.stderr);
    assert!(!out.stderr.contains("liked paper"), "{}", out.stderr);
}

#[test]
fn a_liked_id_no_one_can_resolve_never_fails_a_send() {
    // The config's arXiv API is a closed port on 127.0.0.1: the lookup fails at once.
    let server = SmtpServer::start();
    let env = TestEnv::new();
    let readers = "[[subscriber]]\nemail = \"ada@example.org\"\nlike = [\"2411.99999\"]\n\
                   interests = [\"federated\"]\nformat = \"text\"\n";
    seed_setup(&env, &server, readers, &[]);
    let out = send_output(&env, &[]);
    out.assert_code(0);
    assert!(
        out.stderr
            .contains("liked papers: could not look up 1 id(s) on arXiv"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("asked again next time"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("liked papers not found"),
        "{}",
        out.stderr
    );
    server.wait_for(1, Duration::from_secs(10));
    let text = text_part(&server, "ada@example.org");
    assert!(
        !block_titles(&text).is_empty(),
        "the interests still rank: {text}"
    );
    assert!(!text.contains("2411.99999"), "{text}");
}

/// A send splices personal emails from shared parts; `preview --eml` renders them whole (the
/// reference): the two give the same message.
#[test]
fn a_spliced_message_is_the_reference_rendering_byte_for_byte() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    let readers = r#"
[[subscriber]]
email     = "one@example.org"
name      = "Seán O'Brien"
interests = ["loss function*", "pruning"]
authors   = ["T. Dao"]
mute      = ["federated"]
max_papers = 9

[[subscriber]]
email     = "two@example.org"
topics    = ["Losses & Optimization"]
interests = ["cross-entropy"]
format    = "text"

# Every section, no cap: over the HTML budget, so papers drop until it fits; long "why"
# lines with accents and a name that is not ASCII.
[[subscriber]]
email     = "three@example.org"
name      = "Zoë Łukasiewicz-Müller = «test»"
interests = ["diffusion", "language model*", "reinforcement learning", "segmentation", "graph*"]
authors   = ["T. Dao", "Müller, Zoë", "Yann LeCun"]
for_you   = 12

[[subscriber]]
email     = "four@example.org"
topics    = ["Federated Learning", "More papers"]
interests = ["vision transformer*", "message passing"]
mute      = ["federated", "benchmark*"]
for_you   = 3
max_papers = 4
"#;
    seed_setup(&env, &server, readers, &[]);
    let out = send_output(&env, &["-v"]);
    out.assert_code(0);
    // The send spliced (the built-in templates can be): what is compared below is a splice.
    assert!(
        !out.stderr.contains("rendered one by one"),
        "{}",
        out.stderr
    );
    server.wait_for(4, Duration::from_secs(10));
    let redactor = Redactor::default().keep_message_id();
    for who in [
        "one@example.org",
        "two@example.org",
        "three@example.org",
        "four@example.org",
    ] {
        let out = env.run_with_env(
            &[
                "preview",
                "--eml",
                "--subscriber",
                who,
                "--edition",
                "2026-11-28",
            ],
            &[SECRET],
        );
        out.assert_code(0);
        let sent = redactor.redact(&server.messages_to(who)[0].text());
        let preview = redactor.redact(&out.stdout);
        let first = sent.lines().zip(preview.lines()).position(|(a, b)| a != b);
        if let Some(n) = first {
            let around = |t: &str| {
                t.lines()
                    .skip(n.saturating_sub(2))
                    .take(5)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            panic!(
                "{who}: line {n} differs\n--- sent\n{}\n--- preview\n{}",
                around(&sent),
                around(&preview)
            );
        }
        // SMTP ends the data with a line break of its own.
        assert_eq!(sent.trim_end(), preview.trim_end(), "{who}");
    }
}

#[test]
fn subscribers_add_and_csv_carry_the_personal_fields() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    setup(&env, &server, "");
    env.run(&[
        "subscribers",
        "add",
        "tri@example.org",
        "--interests",
        "speculative decoding,KV cache*",
        "--authors",
        "Tri Dao;LeCun, Yann",
        "--like",
        "2411.01234v2",
        "--mute",
        "benchmark*",
        "--for-you",
        "3",
    ])
    .assert_code(0);
    let list = env.read("subscribers.toml");
    for line in [
        r#"interests = ["speculative decoding", "KV cache*"]"#,
        r#"authors = ["Tri Dao", "LeCun, Yann"]"#,
        r#"like = ["2411.01234"]"#,
        r#"mute = ["benchmark*"]"#,
        "for_you = 3",
    ] {
        assert!(list.contains(line), "{line}\n{list}");
    }
    let bad = env.run(&[
        "subscribers",
        "add",
        "x@example.org",
        "--like",
        "t-0123456789abcdef",
    ]);
    bad.assert_code(2);
    assert!(bad.stderr.contains("is not an arXiv id"), "{}", bad.stderr);
    // Exported, then imported into another list: the same fields.
    let csv = env.run(&["subscribers", "export", "--csv"]);
    csv.assert_code(0);
    env.write("export.csv", &csv.stdout);
    env.subscribers("");
    env.run(&["subscribers", "import", "export.csv"])
        .assert_code(0);
    let again = env.run(&["subscribers", "export", "--csv"]);
    assert_eq!(again.stdout, csv.stdout);
    assert!(
        csv.stdout.contains("2411.01234,benchmark*,3"),
        "{}",
        csv.stdout
    );
}

#[test]
fn the_counts_have_one_range_at_every_door() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    setup(&env, &server, "");
    let add = |extra: &[&str]| {
        let mut args = vec!["subscribers", "add", "big@example.org"];
        args.extend_from_slice(extra);
        let out = env.run(&args);
        out.assert_code(2);
        out.stderr.lines().next().unwrap_or_default().to_owned()
    };
    insta::assert_snapshot!(add(&["--for-you", "1000"]), @"error: invalid value '1000' for '--for-you <N>': `for_you` must be a whole number from 0 to 50, found `1000`");
    insta::assert_snapshot!(add(&["--for-you", "-1"]), @"error: invalid value '-1' for '--for-you <N>': `for_you` must be a whole number from 0 to 50, found `-1`");
    insta::assert_snapshot!(add(&["--max-papers", "5000"]), @"error: invalid value '5000' for '--max-papers <N>': `max_papers` must be a whole number from 1 to 1000, found `5000` (for no cap of their own, leave --max-papers out)");
    insta::assert_snapshot!(add(&["--max-papers=0"]), @"error: invalid value '0' for '--max-papers <N>': `max_papers` must be a whole number from 1 to 1000, found `0` (for no cap of their own, leave --max-papers out)");
    assert!(!env.read("subscribers.toml").contains("big@"));
    // The largest values pass every door, and the page shows them inside its own bounds.
    env.run(&[
        "subscribers",
        "add",
        "big@example.org",
        "--for-you",
        "50",
        "--max-papers",
        "1000",
    ])
    .assert_code(0);
    env.run(&["check"]).assert_code(0);
    // CSV import and the list's loader use the same rule, with the cell or the position.
    env.write(
        "more.csv",
        "email,max_papers,for_you\nc@example.org,1001,\nd@example.org,,51\n",
    );
    let import = env.run(&["subscribers", "import", "more.csv"]);
    import.assert_code(2);
    insta::assert_snapshot!(import.stderr, @r"
    paperwire: error: nothing was imported from more.csv
    more.csv:2:1: `max_papers` must be a whole number from 1 to 1000, found `1001`
    more.csv:3:1: `for_you` must be a whole number from 0 to 50, found `51`
    paperwire: 2 problems found
    ");
    env.subscribers(
        "[[subscriber]]\nemail = \"e@example.org\"\nfor_you = 1000\nmax_papers = 5000\n",
    );
    let check = env.run(&["check"]);
    check.assert_code(2);
    let problems: Vec<&str> = check
        .stderr
        .lines()
        .filter(|l| !l.starts_with("warning:"))
        .collect();
    insta::assert_snapshot!(problems.join("\n"), @r"
    ./subscribers.toml:3:11: `for_you` must be a whole number from 0 to 50, found `1000`
    ./subscribers.toml:4:14: `max_papers` must be a whole number from 1 to 1000, found `5000`
    paperwire: 2 problems found
    ");
}

/// The personal lines of `subscribers.toml`, in order.
fn personal_lines(list: &str) -> Vec<&str> {
    list.lines()
        .filter(|l| {
            ["interests", "authors", "like", "mute", "for_you"]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .collect()
}

#[test]
fn entries_split_alike_on_the_command_line_and_in_csv_and_come_back_whole() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    setup(&env, &server, "");
    env.run(&[
        "subscribers",
        "add",
        "semi@example.org",
        "--interests",
        "foo;bar, speculative decoding|KV cache*",
        "--authors",
        "A|B Name;LeCun, Yann",
        "--authors",
        "Tri Dao, Yann LeCun",
        "--mute",
        "x|y",
    ])
    .assert_code(0);
    let added = env.read("subscribers.toml");
    assert_eq!(
        personal_lines(&added),
        [
            r#"interests = ["foo", "bar", "speculative decoding", "KV cache*"]"#,
            r#"authors = ["A", "B Name", "LeCun, Yann", "Tri Dao, Yann LeCun"]"#,
            r#"mute = ["x", "y"]"#,
        ]
    );
    // A CSV cell splits as the command line does.
    env.write(
        "cells.csv",
        "email,interests,authors,mute\n\
         cell@example.org,\"foo;bar, speculative decoding|KV cache*\",\"A|B Name;LeCun, Yann\",x|y\n",
    );
    env.run(&["subscribers", "import", "cells.csv"])
        .assert_code(0);
    let both = env.read("subscribers.toml");
    let cell = &both[both.find("cell@example.org").unwrap()..];
    assert_eq!(
        personal_lines(cell),
        [
            r#"interests = ["foo", "bar", "speculative decoding", "KV cache*"]"#,
            r#"authors = ["A", "B Name", "LeCun, Yann"]"#,
            r#"mute = ["x", "y"]"#,
        ]
    );
    // Export, then import into an empty list: the same entries.
    let csv = env.run(&["subscribers", "export", "--csv"]);
    csv.assert_code(0);
    env.write("backup.csv", &csv.stdout);
    env.subscribers("");
    env.run(&["subscribers", "import", "backup.csv"])
        .assert_code(0);
    assert_eq!(
        personal_lines(&env.read("subscribers.toml")),
        personal_lines(&both)
    );
    // An entry that holds a separator is refused at the door that would keep it whole.
    env.subscribers("[[subscriber]]\nemail = \"s@example.org\"\nmute = [\"x|y\"]\n");
    let check = env.run(&["check"]);
    check.assert_code(2);
    assert!(
        check.stderr.contains(
            "./subscribers.toml:3:9: `mute`: keyword `x|y` holds `|`, which separates entries"
        ),
        "{}",
        check.stderr
    );
}
