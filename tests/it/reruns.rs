//! The operator's day: reruns that tell the truth. A run that sent nothing freezes nothing,
//! permanent failures stay named in every run (and after a crash) until fixed, one bad journal
//! byte does not block an edition, a stop is a stop even between retries, a preview shows what
//! the send will deliver, and which exit code wins when a run has both kinds of trouble.

use std::time::{Duration, Instant};

use crate::harness::{Faults, Output, Redactor, SmtpServer, TestEnv};

const SECRET: (&str, &str) = ("PAPERWIRE_SECRET", "test-secret");
const FAST_RETRY: (&str, &str) = ("PAPERWIRE_RETRY_BASE_MS", "20");
const EDITION: &str = "2026-11-28";
const JOURNAL: &str = "state/editions/2026-11-28/journal.jsonl";
const FROZEN: &str = "state/editions/2026-11-28/papers.json";
const REPORT: &str = "state/editions/2026-11-28/report.json";

/// `send --edition 2026-11-28` plus `extra`, with the secret and fast retries plus `env`.
fn send(env: &TestEnv, extra: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut args = vec!["send", "--edition", EDITION];
    args.extend_from_slice(extra);
    let mut all = vec![SECRET, FAST_RETRY];
    all.extend_from_slice(vars);
    env.run_with_env(&args, &all)
}

/// `[[subscriber]]` tables for these addresses.
fn subscribers(addresses: &[&str]) -> String {
    addresses
        .iter()
        .map(|a| format!("[[subscriber]]\nemail = \"{a}\"\n\n"))
        .collect()
}

/// A Daily Papers page (the text format) with these titles, each with an abstract.
fn page(titles: &[&str]) -> String {
    let mut text = String::from("Daily Papers\n\nby AK and the research community\n\n");
    for t in titles {
        text.push_str(&format!(
            "{t}\n\nWe study {t} in federated learning and report results.\n\n"
        ));
    }
    text
}

fn report(env: &TestEnv) -> serde_json::Value {
    serde_json::from_str(&env.read(REPORT)).unwrap()
}

/// Sends SIGTERM (`-TERM`) or SIGKILL (`-9`) to a spawned child.
fn signal(child: &std::process::Child, signal: &str) {
    std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
}

#[test]
fn a_send_that_sent_nothing_freezes_nothing_and_a_frozen_list_that_differs_is_named() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    env.subscribers(&subscribers(&["ada@example.org"]));
    env.write("papers.txt", page(&["Only One Federated Paper"]));
    env.write("full.txt", page(&["Federated Alpha", "Federated Beta"]));
    env.config(Some(&server.url()));
    // Implicit TLS against a plain port: the setup is wrong, nothing goes out.
    let tls_url = format!("smtps://127.0.0.1:{}", server.port());
    let out = send(&env, &[], &[("PAPERWIRE_SMTP_URL", &tls_url)]);
    out.assert_code(2);
    assert!(out.stderr.contains("nothing was sent"), "{out}");
    assert!(
        !env.exists(FROZEN),
        "a run that sent nothing froze the list"
    );
    assert!(
        !env.exists("state/editions/2026-11-28"),
        "{:?}",
        env.list("state/editions")
    );

    // The fixed run takes the list it is given, with no word about a frozen one.
    let out = send(&env, &["--papers", "full.txt"], &[]);
    out.assert_code(0);
    assert!(!out.stderr.contains("frozen"), "{out}");
    let mail = server.wait_for(1, Duration::from_secs(5));
    assert!(
        mail[0].text().contains("Federated Alpha"),
        "{}",
        mail[0].text()
    );
    assert!(!mail[0].text().contains("Only One"));
    assert!(env.read(FROZEN).contains("Federated Beta"));

    // Once frozen, a different --papers is named on stderr and the frozen list is kept.
    env.subscribers(&subscribers(&["ada@example.org", "bob@example.org"]));
    let out = send(&env, &["--papers", "papers.txt"], &[]);
    out.assert_code(0);
    insta::assert_snapshot!(out.stderr.trim_end(), @" WARN edition 2026-11-28's paper list was frozen when its first message went out (./state/editions/2026-11-28/papers.json, 2 papers); --papers papers.txt now differs from it (1 paper new, 2 gone): keeping the frozen list, so that everyone gets the same edition");
    let bob = server.wait_for(2, Duration::from_secs(5));
    let bob = bob.iter().find(|m| m.is_for("bob@example.org")).unwrap();
    assert!(bob.text().contains("Federated Alpha") && !bob.text().contains("Only One"));

    // The configured source (a local file) that now differs is named too; the same list is not.
    env.subscribers(&subscribers(&[
        "ada@example.org",
        "bob@example.org",
        "cy@example.org",
    ]));
    let out = send(&env, &[], &[]);
    out.assert_code(0);
    assert!(
        out.stderr
            .contains("the configured sources now differs from it"),
        "{out}"
    );
    env.write("papers.txt", page(&["Federated Alpha", "Federated Beta"]));
    let out = send(&env, &[], &[]);
    out.assert_code(0);
    assert!(!out.stderr.contains("frozen"), "{out}");
}

#[test]
fn permanent_failures_are_named_in_every_run_and_after_a_crash_until_fixed() {
    let server = SmtpServer::with_faults(
        Faults::new()
            .perm_fail("nobody@example.org")
            .delay_per_message(Duration::from_millis(150)),
    );
    let env = TestEnv::new();
    let mut list = vec!["nobody@example.org".to_owned()];
    list.extend((0..30).map(|i| format!("r{i}@example.org")));
    let refs: Vec<&str> = list.iter().map(String::as_str).collect();
    env.subscribers(&subscribers(&refs));
    env.config_builder(Some(&server.url()))
        .with_delivery("concurrency = 1")
        .write();
    // The first run fails `nobody` for good and is killed before it can write a report.
    let child = env.spawn(&["send", "--edition", EDITION], &[SECRET, FAST_RETRY]);
    assert!(server.wait_until(Duration::from_secs(20), |s| s.messages().len() >= 2));
    signal(&child, "-9");
    Output::of_child(child);
    assert!(!env.exists(REPORT));
    assert!(env.read(JOURNAL).contains("nobody@example.org"));

    // Every later run names it again — in the summary and in report.json — and exits 1.
    for _ in 0..2 {
        let out = send(&env, &[], &[]);
        out.assert_code(1);
        assert!(
            out.stdout.contains(
                "failed nobody@example.org: permanent error (550): 5.1.1 No such user (in an earlier run)"
            ),
            "{out}"
        );
        let problems = report(&env)["problems"].clone();
        assert_eq!(
            problems,
            serde_json::json!([{
                "email": "nobody@example.org",
                "outcome": "failed",
                "detail": problems[0]["detail"],
                "earlier": true
            }])
        );
        assert!(problems[0]["detail"].as_str().unwrap().contains("(550)"));
    }
    // `status --failed` names it, from the journal.
    let out = env.run(&["status", "--failed", "--edition", EDITION]);
    out.assert_code(0);
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("nobody@example.org"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.starts_with(EDITION) && line.contains("550"), "{out}");
    let json = env.run(&["status", "--failed", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(rows.len(), 1, "{json}");
    assert_eq!(rows[0]["email"], "nobody@example.org");
    assert_eq!(rows[0]["edition"], EDITION);

    assert_eq!(server.attempts("nobody@example.org"), 1, "never retried");
    for i in 0..30 {
        assert!(!server.messages_to(&format!("r{i}@example.org")).is_empty());
    }

    // Fixed (removed from the list): the edition is complete.
    env.subscribers(&subscribers(&refs[1..]));
    let out = send(&env, &[], &[]);
    out.assert_code(0);
    assert_eq!(report(&env)["problems"], serde_json::json!([]));
}

#[test]
fn an_unreadable_journal_line_is_skipped_with_a_warning_and_the_edition_goes_on() {
    let env = TestEnv::new();
    env.subscribers(&subscribers(&["ada@example.org", "bob@example.org"]));
    env.config(None);
    send(&env, &[], &[]).assert_code(0);
    let mut journal = std::fs::read(env.path(JOURNAL)).unwrap();
    journal.extend_from_slice(b"x\xff\n");
    std::fs::write(env.path(JOURNAL), journal).unwrap();
    env.subscribers(&subscribers(&[
        "ada@example.org",
        "bob@example.org",
        "cy@example.org",
    ]));
    let out = send(&env, &[], &[]);
    out.assert_code(0);
    insta::assert_snapshot!(out.stderr.trim_end(), @" WARN ./state/editions/2026-11-28/journal.jsonl: skipped 1 unreadable line(s) (a crash mid-write, or an edit by hand?)");
    let emls = env.list("outbox");
    assert_eq!(emls.len(), 3, "{emls:?}");
    assert_eq!(
        emls.iter().filter(|f| f.contains("cy@example.org")).count(),
        1
    );
    let out = env.run(&["status", "--edition", EDITION]);
    out.assert_code(0);
    assert!(out.stdout.contains(EDITION), "{out}");
}

#[test]
fn sigterm_while_a_worker_waits_to_retry_sends_nothing_more() {
    let server = SmtpServer::with_faults(Faults::new().temp_fail_times("grey@example.org", 100));
    let env = TestEnv::new();
    env.subscribers(&subscribers(&["grey@example.org"]));
    env.config_builder(Some(&server.url()))
        .with_delivery("retries = 5")
        .write();
    // The first retry waits at least 3 s.
    let child = env.spawn(
        &["send", "--edition", EDITION],
        &[SECRET, ("PAPERWIRE_RETRY_BASE_MS", "3000")],
    );
    assert!(
        server.wait_until(Duration::from_secs(20), |s| s.attempts("grey@example.org")
            >= 1)
    );
    std::thread::sleep(Duration::from_millis(300));
    let stopped = Instant::now();
    signal(&child, "-TERM");
    let out = Output::of_child(child);
    assert!(
        stopped.elapsed() < Duration::from_secs(3),
        "{:?}",
        stopped.elapsed()
    );
    assert_eq!(out.code, Some(75), "{out}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        server.attempts("grey@example.org"),
        1,
        "an attempt reached the server after the stop"
    );
    assert!(
        out.stdout
            .contains("deferred grey@example.org: transient error (451)"),
        "{out}"
    );
    let journal = env.read(JOURNAL);
    assert!(journal.contains("\"deferred\""), "{journal}");
}

#[test]
fn preview_shows_what_send_delivers_leaving_out_papers_sent_before() {
    let env = TestEnv::new();
    env.subscribers(&subscribers(&["ada@example.org"]));
    env.write(
        "papers.txt",
        page(&["Federated Old News", "Federated Yesterday"]),
    );
    env.config(None);
    send(&env, &[], &[]).assert_code(0);
    env.write(
        "papers.txt",
        page(&["Federated Old News", "Federated Fresh Result"]),
    );
    let next = ["--edition", "2026-11-29"];
    let html = env.run(&["preview", next[0], next[1]]);
    html.assert_code(0);
    assert!(html.stdout.contains("Federated Fresh Result"), "{html}");
    assert!(!html.stdout.contains("Federated Old News"), "{html}");
    let eml = env.run_with_env(
        &[
            "preview",
            next[0],
            next[1],
            "--subscriber",
            "ada@example.org",
            "--eml",
        ],
        &[SECRET],
    );
    eml.assert_code(0);
    let out = env.run_with_env(&["send", next[0], next[1]], &[SECRET]);
    out.assert_code(0);
    let sent: Vec<String> = env
        .list("outbox")
        .into_iter()
        .filter(|f| f.starts_with("2026-11-29"))
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let sent = env.read(format!("outbox/{}", sent[0]));
    let redact = Redactor::default().keep_message_id();
    assert_eq!(redact.redact(&eml.stdout), redact.redact(&sent));
    assert!(!sent.contains("Federated Old News"));

    // Once every paper was sent before, there is nothing to preview, as there is nothing to send.
    env.write("papers.txt", page(&["Federated Old News"]));
    let out = env.run(&["preview", "--edition", "2026-11-30"]);
    out.assert_code(0);
    assert!(out.stdout.is_empty(), "{out}");
    assert!(
        out.stderr
            .contains("all 1 were sent in earlier editions: nothing to preview"),
        "{out}"
    );
}

#[test]
fn deferred_wins_over_failed_then_the_rerun_exits_1() {
    let server = SmtpServer::with_faults(
        Faults::new()
            .perm_fail("nobody@example.org")
            .temp_fail_times("grey@example.org", 1),
    );
    let env = TestEnv::new();
    env.subscribers(&subscribers(&[
        "nobody@example.org",
        "grey@example.org",
        "ok@example.org",
    ]));
    env.config_builder(Some(&server.url()))
        .with_delivery("retries = 0")
        .write();
    let out = send(&env, &[], &[]);
    out.assert_code(75);
    assert!(out.stdout.contains("failed nobody@example.org"), "{out}");
    assert!(out.stdout.contains("deferred grey@example.org"), "{out}");
    let out = send(&env, &[], &[]);
    out.assert_code(1);
    assert_eq!(server.messages_to("grey@example.org").len(), 1);
    assert!(
        out.stdout
            .contains("1 delivered, 1 already delivered, 1 failed, 0 deferred"),
        "{out}"
    );
}

#[test]
fn the_summary_says_how_long_the_run_took() {
    let env = TestEnv::new();
    env.subscribers(&subscribers(&["ada@example.org"]));
    env.config(None);
    let out = send(&env, &["--dry-run"], &[]);
    out.assert_code(0);
    let summary = out.stdout.lines().next().unwrap_or_default();
    let took = summary
        .split(", in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<f64>().ok());
    assert!(took.is_some_and(|s| s < 60.0), "{summary}");
}

#[test]
fn the_throwaway_key_warning_comes_only_with_a_message_signed_by_it() {
    let env = TestEnv::new();
    env.subscribers(&subscribers(&["ada@example.org", "bob@example.org"]));
    env.config(None);
    let warning = "unsubscribe links use a throwaway key";
    let dry = env.run(&["send", "--dry-run"]);
    dry.assert_code(0);
    assert_eq!(dry.stderr.matches(warning).count(), 1, "{dry}");
    let first = env.run(&["send"]);
    first.assert_code(0);
    assert_eq!(first.stderr.matches(warning).count(), 1, "{first}");
    // Nothing left to send: nothing signed, nothing said.
    let again = env.run(&["send"]);
    again.assert_code(0);
    assert!(!again.stderr.contains("PAPERWIRE_SECRET"), "{again}");
}

#[test]
fn outbox_files_are_named_for_edition_position_and_address() {
    let env = TestEnv::new();
    env.subscribers(&subscribers(&[
        "Ada@Example.org",
        "o'brien+news@example.org",
        "cy@example.org",
    ]));
    env.config(None);
    send(&env, &[], &[]).assert_code(0);
    assert_eq!(
        env.list("outbox"),
        [
            "2026-11-28-000001-ada@example.org.eml",
            "2026-11-28-000002-o_brien+news@example.org.eml",
            "2026-11-28-000003-cy@example.org.eml",
        ]
    );
    // A proof of Ada's message is named for where it went, and replaces nothing; a second
    // proof gets a name of its own.
    for _ in 0..2 {
        send(
            &env,
            &["--only", "ada@example.org", "--test-to", "me@example.org"],
            &[],
        )
        .assert_code(0);
    }
    let proofs: Vec<String> = env
        .list("outbox")
        .into_iter()
        .filter(|f| f.contains("proof"))
        .collect();
    assert_eq!(
        proofs,
        [
            "2026-11-28-proof-000001-me@example.org-2.eml",
            "2026-11-28-proof-000001-me@example.org.eml"
        ]
    );
    let out = env.run(&["status", "--json"]);
    assert!(out.stdout.contains("\"delivered\": 3"), "{out}");
}
