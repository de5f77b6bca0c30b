//! What a new user meets trying paperwire from the README, and must not trip over: no email
//! without papers, edition ids that say what they mean, an explicit `--papers` that is honoured
//! (or refused) rather than ignored, proofs that say whose they are, a stop that counts who was
//! not tried, `check` that finds every problem in one run, errors in paperwire's own words, and
//! output that can be piped into `head`.

use std::process::Stdio;
use std::time::Duration;

use crate::harness::{Faults, Output, Redactor, SmtpServer, TestEnv};

const SECRET: (&str, &str) = ("PAPERWIRE_SECRET", "test-secret");
const EDITION: &str = "2026-11-28";
const REPORT: &str = "state/editions/2026-11-28/report.json";
const JOURNAL: &str = "state/editions/2026-11-28/journal.jsonl";

/// The default sections plus one that no paper of the sample matches.
const WITH_AN_EMPTY_SECTION: &str = r#"[[section]]
name     = "Federated Learning"
keywords = ["federated", "FedAvg", "client drift", "FL"]

[[section]]
name     = "Knitting"
keywords = ["knitting", "crochet"]
"#;

fn send(env: &TestEnv, extra: &[&str]) -> Output {
    let mut args = vec!["send", "--edition", EDITION];
    args.extend_from_slice(extra);
    env.run_with_env(&args, &[SECRET])
}

fn report(env: &TestEnv) -> serde_json::Value {
    serde_json::from_str(&env.read(REPORT)).unwrap()
}

/// `[[subscriber]]` tables: (address, topics).
fn subscribers(people: &[(&str, &[&str])]) -> String {
    people
        .iter()
        .map(|(email, topics)| {
            let topics: Vec<String> = topics.iter().map(|t| format!("\"{t}\"")).collect();
            if topics.is_empty() {
                format!("[[subscriber]]\nemail = \"{email}\"\n\n")
            } else {
                format!(
                    "[[subscriber]]\nemail = \"{email}\"\ntopics = [{}]\n\n",
                    topics.join(", ")
                )
            }
        })
        .collect()
}

/// The run's duration, which differs from run to run, as `[T]`.
fn without_time(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = match line.rsplit_once(", in ") {
            Some((head, tail)) if tail.ends_with(" s") || tail.contains(" s (") => {
                let rest = tail.split_once(" s").map_or("", |(_, r)| r);
                format!("{head}, in [T]{rest}")
            }
            _ => line.to_owned(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.trim_end().to_owned()
}

#[test]
fn a_reader_with_nothing_in_their_topics_gets_no_email_and_is_counted() {
    let env = TestEnv::new();
    env.subscribers(&subscribers(&[
        ("ada@example.org", &["Federated Learning"]),
        ("kit@example.org", &["Knitting"]),
        ("all@example.org", &[]),
    ]));
    env.config_builder(None)
        .sections(WITH_AN_EMPTY_SECTION)
        .write();
    let dry = send(&env, &["--dry-run"]);
    dry.assert_code(0);
    insta::assert_snapshot!(without_time(&dry.stdout), @"edition 2026-11-28: 2 to send (2 variants), 0 delivered, 0 already delivered, 0 failed, 0 deferred, 1 had nothing in their topics today (no email), in [T] (dry run: nothing sent)");

    let out = send(&env, &["--json"]);
    out.assert_code(0);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (
            json["delivered"].as_u64(),
            json["nothing_in_topics"].as_u64()
        ),
        (Some(2), Some(1)),
        "{out}"
    );
    let emls = env.list("outbox");
    assert_eq!(emls.len(), 2, "{emls:?}");
    assert!(!emls.iter().any(|f| f.contains("kit@")), "{emls:?}");
    // Not journaled as delivered: the edition was not delivered to them.
    assert!(!env.read(JOURNAL).contains("kit@example.org"));

    // A rerun of the frozen list finds the same, and sends nothing.
    let again = send(&env, &["--json"]);
    again.assert_code(0);
    let json: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(
        (
            json["delivered"].as_u64(),
            json["already_delivered"].as_u64(),
            json["nothing_in_topics"].as_u64()
        ),
        (Some(0), Some(2), Some(1))
    );
    assert_eq!(env.list("outbox").len(), 2);
    assert_eq!(report(&env)["nothing_in_topics"], 1);

    // A preview of their email says the same.
    let preview = env.run(&[
        "preview",
        "--edition",
        EDITION,
        "--subscriber",
        "kit@example.org",
        "--eml",
    ]);
    preview.assert_code(0);
    assert!(preview.stdout.is_empty(), "{preview}");
    insta::assert_snapshot!(preview.stderr, @"paperwire: kit@example.org has nothing in their topics in edition 2026-11-28 (`send` does not email them): nothing to preview");

    // Asked for by name, the reason is said, even off a terminal.
    let only = send(&env, &["--only", "kit@example.org"]);
    only.assert_code(0);
    insta::assert_snapshot!(without_time(&only.stdout), @r"
    edition 2026-11-28: 0 delivered, 0 already delivered, 0 failed, 0 deferred, 1 had nothing in their topics today (no email), in [T]
      not sent to kit@example.org: nothing in their topics today (no email without papers)
    ");
    assert_eq!(env.list("outbox").len(), 2);
}

#[test]
fn only_a_paused_or_unsubscribed_address_says_why_nothing_was_sent() {
    let env = TestEnv::new();
    env.subscribers(
        "[[subscriber]]\nemail = \"ada@example.org\"\npaused = true\n\n[[subscriber]]\nemail = \"bo@example.org\"\nunsubscribed_at = 2026-11-01T08:00:00Z\n",
    );
    env.config(None);
    let out = send(
        &env,
        &["--only", "ada@example.org", "--only", "bo@example.org"],
    );
    out.assert_code(0);
    insta::assert_snapshot!(without_time(&out.stdout), @r"
    edition 2026-11-28: 0 delivered, 0 already delivered, 0 failed, 0 deferred, in [T]
      not sent to ada@example.org: paused (`paperwire subscribers resume ada@example.org` sends to them again)
      not sent to bo@example.org: unsubscribed
    ");
    assert!(env.list("outbox").is_empty());
}

#[test]
fn an_edition_id_that_starts_like_a_date_must_be_one() {
    let env = TestEnv::new();
    env.config(None);
    let out = env.run_with_env(&["send", "--edition", "2026-13-01"], &[SECRET]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr, @"paperwire: error: edition `2026-13-01` is not a date: an edition id that starts with YYYY-MM-DD must start with a real date (other ids, such as `morning`, are fine)");
    assert!(env.list("outbox").is_empty());
    let out = env.run(&["preview", "--edition", "2026-02-30T0700"]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr, @"paperwire: error: edition `2026-02-30T0700` starts like a date, but `2026-02-30` is not one: an edition id that starts with YYYY-MM-DD must start with a real date (other ids, such as `morning`, are fine)");
    // Other ids are the contract's.
    env.run_with_env(&["send", "--edition", "morning"], &[SECRET])
        .assert_code(0);
    assert_eq!(env.list("outbox").len(), 2);
}

#[test]
fn preview_papers_wins_over_a_frozen_list_and_a_papers_file_must_be_readable() {
    let env = TestEnv::new();
    env.subscribers(&subscribers(&[("ada@example.org", &[])]));
    env.config(None);
    send(&env, &[]).assert_code(0);
    env.write(
        "one.txt",
        "Daily Papers\n\nA Single Federated Paper\n\nWe study federated learning.\n",
    );
    let preview = env.run(&["preview", "--edition", EDITION, "--papers", "one.txt"]);
    preview.assert_code(0);
    assert!(
        preview.stdout.contains("A Single Federated Paper"),
        "{preview}"
    );
    assert!(
        preview
            .stderr
            .contains("`paperwire send` would send the frozen list"),
        "{preview}"
    );
    // Without --papers, the frozen list: what send delivers.
    let frozen = env.run(&["preview", "--edition", EDITION]);
    frozen.assert_code(0);
    assert!(!frozen.stdout.contains("A Single Federated Paper"));
    assert!(frozen.stderr.is_empty(), "{frozen}");

    env.write("dir/x", "");
    let out = env.run(&["preview", "--edition", EDITION, "--papers", "dir"]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr, @"paperwire: error: cannot read dir: Is a directory (os error 21)");
    // A missing file is a usage error for send too, frozen list or not.
    env.subscribers(&subscribers(&[
        ("ada@example.org", &[]),
        ("bo@example.org", &[]),
    ]));
    let out = send(&env, &["--papers", "nope.json"]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr, @"paperwire: error: cannot read nope.json: No such file or directory (os error 2)");
    assert_eq!(env.list("outbox").len(), 1, "nothing more was sent");
}

#[test]
fn a_stopped_send_says_how_many_were_not_tried_and_status_agrees() {
    let server =
        SmtpServer::with_faults(Faults::new().delay_per_message(Duration::from_millis(200)));
    let env = TestEnv::new();
    let people: Vec<String> = (0..30).map(|i| format!("p{i}@example.org")).collect();
    let refs: Vec<(&str, &[&str])> = people.iter().map(|p| (p.as_str(), &[][..])).collect();
    env.subscribers(&subscribers(&refs));
    env.config_builder(Some(&server.url()))
        .with_delivery("concurrency = 2")
        .write();
    let child = env.spawn(&["send", "--edition", EDITION], &[SECRET]);
    assert!(server.wait_until(Duration::from_secs(20), |s| s.messages().len() >= 3));
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = Output::of_child(child);
    assert_eq!(out.code, Some(75), "{out}");
    let r = report(&env);
    let (delivered, deferred, not_tried) = (
        r["delivered"].as_u64().unwrap(),
        r["deferred"].as_u64().unwrap(),
        r["not_tried"].as_u64().unwrap(),
    );
    assert!(not_tried > 0, "{r}");
    assert_eq!(delivered + deferred + not_tried, 30, "{r}");
    assert!(
        out.stdout
            .contains(&format!(", {not_tried} not tried (interrupted), in ")),
        "{out}"
    );
    let status = env.run(&["status"]);
    status.assert_code(0);
    let header = status.stdout.lines().next().unwrap();
    assert!(header.contains("not tried"), "{status}");
    let row: Vec<String> = status
        .stdout
        .lines()
        .find(|l| l.starts_with(EDITION))
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        row[2..6],
        [
            delivered.to_string(),
            "0".to_owned(),
            deferred.to_string(),
            not_tried.to_string()
        ],
        "{status}"
    );
}

#[test]
fn a_proof_is_named_for_its_test_address_and_says_whose_message_it_is() {
    let env = TestEnv::new();
    env.subscribers(&subscribers(&[
        ("ada@example.org", &[]),
        ("lin@example.org", &[]),
    ]));
    env.config(None);
    let out = send(
        &env,
        &["--only", "lin@example.org", "--test-to", "me@example.org"],
    );
    out.assert_code(0);
    insta::assert_snapshot!(without_time(&out.stdout), @"edition 2026-11-28: proof of lin@example.org's message sent to me@example.org (not journaled), in [T]");
    assert_eq!(
        env.list("outbox"),
        ["2026-11-28-proof-000002-me@example.org.eml"]
    );
    assert!(!env.exists(JOURNAL));
    // The proof is Lin's exact message: To names Lin.
    let eml = env.read("outbox/2026-11-28-proof-000002-me@example.org.eml");
    assert!(eml.contains("\r\nTo: lin@example.org\r\n"), "{eml}");

    let dotless = send(
        &env,
        &["--only", "lin@example.org", "--test-to", "me@example"],
    );
    dotless.assert_code(2);
    insta::assert_snapshot!(dotless.stderr, @"paperwire: error: --test-to: `me@example` has no dot in its domain, which is almost always a typo (a missing `.com`, `.org`…); public mail domains have one");
}

#[test]
fn check_reports_the_config_the_list_and_the_file_sources_in_one_run() {
    let env = TestEnv::new();
    env.subscribers(&subscribers(&[
        ("ada@example.org", &["Federated Learning"]),
        ("bo@example.org", &["Knitting"]),
    ]));
    let cfg = env
        .config_builder(None)
        .with_newsletter("from = \"Paperwire digest@example.org>\"")
        .with_schedule("cron = \"0 7 * *\"")
        .sources("[[source]]\nkind = \"file\"\npath = \"gone.txt\"\n")
        .no_default_files()
        .write();
    let out = env.run(&["check", "--config", cfg.to_str().unwrap()]);
    out.assert_code(2);
    let stderr = out
        .stderr
        .replace(&format!("{}/", env.root().display()), "");
    insta::assert_snapshot!(stderr, @r#"
    paperwire.toml:4:8: newsletter.from `Paperwire digest@example.org>` is not a mailbox: write an address (digest@example.org) or a name and an address (Paperwire <digest@example.org>; quote a name with commas or dots: "Papers, Daily" <digest@example.org>)
    paperwire.toml:39:8: schedule.cron `0 7 * *` is not a five-field cron expression (minute hour day-of-month month day-of-week, like `0 7 * * 1-5`): it has 4 fields (seconds and years are not used)
    paperwire.toml: the file source gone.txt does not exist
    subscribers.toml:7:11: unknown topic `Knitting` (the sections are: Federated Learning, Losses & Optimization, More papers)
    paperwire: 4 problems found
    "#);
}

#[test]
fn config_problems_are_listed_one_per_line_and_counted() {
    let env = TestEnv::new();
    env.config_builder(None)
        .with_newsletter("timezone = \"Mars/Olympus\"")
        .with_digest("max_papers = 0")
        .write();
    let out = env.run_with_env(&["send"], &[SECRET]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr, @r"
    paperwire.toml:7:12: newsletter.timezone `Mars/Olympus` is not an IANA time zone (like Europe/Paris)
    paperwire.toml:39:14: digest.max_papers must be at least 1
    paperwire: 2 problems found
    ");
}

#[test]
fn a_flagged_address_can_be_removed_paused_and_resumed_by_name() {
    let env = TestEnv::new();
    env.subscribers(
        "[[subscriber]]\nemail = \"ada@example.org\"\n\n[[subscriber]]\nemail = \"bob@example\"\n",
    );
    env.config(None);
    for cmd in ["pause", "resume"] {
        env.run(&["subscribers", cmd, "bob@example"]).assert_code(0);
    }
    let out = env.run(&["subscribers", "remove", "bob@example"]);
    out.assert_code(0);
    assert_eq!(out.stdout, "removed bob@example\n");
    assert_eq!(
        env.read("subscribers.toml"),
        "[[subscriber]]\nemail = \"ada@example.org\"\n"
    );
    env.run(&["check"]).assert_code(0);
    // Adding it is still refused, and an address not on the list is not found.
    env.run(&["subscribers", "add", "bob@example"])
        .assert_code(2);
    let out = env.run(&["subscribers", "remove", "cy@example"]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr, @"paperwire: error: cy@example is not in ./subscribers.toml");
}

#[test]
fn a_reader_that_stops_reading_is_no_error() {
    let env = TestEnv::new();
    let people: Vec<String> = (0..2000).map(|i| format!("p{i}@example.org")).collect();
    let refs: Vec<(&str, &[&str])> = people.iter().map(|p| (p.as_str(), &[][..])).collect();
    env.subscribers(&subscribers(&refs));
    env.config(None);
    send(&env, &[]).assert_code(0);
    for args in [
        &["subscribers", "export"][..],
        &["subscribers", "export", "--csv"],
        &["subscribers", "list"],
        &["subscribers", "list", "--json"],
        &["status"],
        &["status", "--failed"],
        &["man"],
        &["completions", "bash"],
        &["preview"],
        &["check"],
        &["explain", "federated"],
        &["send", "--dry-run"],
        &["archive", "--out", "site"],
    ] {
        // stdout is a pipe whose reader is gone: every write fails with EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = env
            .command(args)
            .stdout(Stdio::from(writer))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("Broken pipe") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn errors_are_in_paperwires_words() {
    let env = TestEnv::new();
    env.config(None);
    let out = env.run(&["subscribers", "add", "cy@example.org", "--max-papers", "0"]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr, @r"
    error: invalid value '0' for '--max-papers <N>': `max_papers` must be a whole number from 1 to 1000, found `0` (for no cap of their own, leave --max-papers out)

    For more information, try '--help'.
    ");
    let out = env.run(&["fetch", "--out", "no/such/dir/x.json"]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr, @"paperwire: error: cannot write no/such/dir/x.json: No such file or directory (os error 2)");
    let out = env.run(&["preview", "--out", "papers.txt/x.html"]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr, @"paperwire: error: cannot write papers.txt/x.html: papers.txt is not a directory");
}

#[test]
fn status_last_0_shows_every_edition() {
    let env = TestEnv::new();
    env.config(None);
    for (day, title) in [
        ("2026-11-27", "Federated One"),
        ("2026-11-28", "Federated Two"),
    ] {
        env.write(
            "papers.txt",
            format!("Daily Papers\n\n{title}\n\nWe study federated learning.\n"),
        );
        env.run_with_env(&["send", "--edition", day], &[SECRET])
            .assert_code(0);
    }
    let out = env.run(&["status", "--last", "0"]);
    out.assert_code(0);
    let editions: Vec<&str> = out
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(editions, ["2026-11-28", "2026-11-27"], "{out}");
    let one = env.run(&["status", "--last", "1"]);
    assert_eq!(one.stdout.lines().count(), 2, "{one}");
}

#[test]
fn check_warns_about_placeholders_for_real_mail_and_unused_template_files() {
    let env = TestEnv::new();
    env.write("tpl/digest.htm.hbs", "<p>{{edition.id}}</p>\n");
    env.write("tpl/partials/paper.html", "<h3>{{title}}</h3>\n");
    env.write("tpl/README.md", "notes\n");
    env.write("tpl/web/edition.htm.hbs", "<p></p>\n");
    // The readers' pages are overridable from the same directory; a misspelt one is named too.
    env.write(
        "tpl/confirm.txt.hbs",
        "Hello {{name}}, confirm: {{confirm_url}}\n",
    );
    env.write("tpl/pages/prefs.html.hbs", "<p></p>\n");
    let cfg = env
        .config_builder(Some("smtp://127.0.0.1:2525"))
        .with_templates("dir = \"tpl\"")
        .write();
    let out = env.run(&["check", "--config", cfg.to_str().unwrap()]);
    out.assert_code(0);
    assert!(
        out.stdout
            .contains(": ok — 2 sections, 1 source, templates ok, 2 subscribers"),
        "{out}"
    );
    let stderr = Redactor::default()
        .replace(&format!("{}/", env.root().display()), "")
        .redact(&out.stderr);
    insta::assert_snapshot!(stderr, @r"
    warning: paperwire.toml: delivery.transport sends real mail but PAPERWIRE_SECRET is not set here: it signs the unsubscribe links, and `send` stops without it (exit 2)
    warning: paperwire.toml: newsletter.from uses example.org, a domain reserved for examples, while delivery.transport sends real mail: put your own there (mail from it will not be delivered, and its links will not work)
    warning: paperwire.toml: newsletter.base_url uses digest.example.org, a domain reserved for examples, while delivery.transport sends real mail: put your own there (mail from it will not be delivered, and its links will not work)
    warning: tpl/digest.htm.hbs is not used: a templates directory holds digest.html.hbs, digest.txt.hbs, partials/NAME.html.hbs or NAME.txt.hbs, the web archive's web/ templates, and the readers' pages/ templates, confirm.html.hbs and confirm.txt.hbs (a misspelled name?)
    warning: tpl/web/edition.htm.hbs is not used: a templates directory holds digest.html.hbs, digest.txt.hbs, partials/NAME.html.hbs or NAME.txt.hbs, the web archive's web/ templates, and the readers' pages/ templates, confirm.html.hbs and confirm.txt.hbs (a misspelled name?)
    warning: tpl/partials/paper.html is not used: a templates directory holds digest.html.hbs, digest.txt.hbs, partials/NAME.html.hbs or NAME.txt.hbs, the web archive's web/ templates, and the readers' pages/ templates, confirm.html.hbs and confirm.txt.hbs (a misspelled name?)
    warning: tpl/pages/prefs.html.hbs is not used: a templates directory holds digest.html.hbs, digest.txt.hbs, partials/NAME.html.hbs or NAME.txt.hbs, the web archive's web/ templates, and the readers' pages/ templates, confirm.html.hbs and confirm.txt.hbs (a misspelled name?)
    ");
    // A preview says it too.
    let preview = env.run(&["preview", "--config", cfg.to_str().unwrap()]);
    preview.assert_code(0);
    assert!(
        preview.stderr.contains("digest.htm.hbs is not used"),
        "{preview}"
    );
    // Where the secret is set, `check` does not ask for it.
    let out = env.run_with_env(
        &["check", "--config", cfg.to_str().unwrap()],
        &[("PAPERWIRE_SECRET", "a-secret-long-enough-for-the-check")],
    );
    out.assert_code(0);
    assert!(!out.stderr.contains("PAPERWIRE_SECRET"), "{out}");
    // With the outbox, the placeholders are fine (the starter config's own).
    env.config_builder(None)
        .with_templates("dir = \"tpl\"")
        .write();
    let out = env.run(&["check"]);
    out.assert_code(0);
    assert!(!out.stderr.contains("reserved for examples"), "{out}");
}
