//! `paperwire send` against a real SMTP server on 127.0.0.1: personalization, headers, the
//! journal across reruns and crashes, fault handling and exit codes.

use std::time::Duration;

use crate::harness::{Faults, SmtpServer, TestEnv};

const SECRET: (&str, &str) = ("PAPERWIRE_SECRET", "test-secret");
const FAST_RETRY: (&str, &str) = ("PAPERWIRE_RETRY_BASE_MS", "20");

const SUBSCRIBERS: &str = r#"
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
max_papers = 2

[[subscriber]]
email  = "paused@example.org"
paused = true

[[subscriber]]
email = "gone@example.org"
unsubscribed_at = 2026-11-01T08:00:00Z
"#;

fn send(env: &TestEnv, extra: &[&str]) -> crate::harness::Output {
    send_with_env(env, extra, &[SECRET, FAST_RETRY])
}

/// `send` of edition 2026-11-28 with `extra` arguments and exactly these environment variables.
fn send_with_env(env: &TestEnv, extra: &[&str], vars: &[(&str, &str)]) -> crate::harness::Output {
    let mut args = vec![
        "send",
        "--config",
        "paperwire.toml",
        "--edition",
        "2026-11-28",
    ];
    args.extend_from_slice(extra);
    env.run_with_env(&args, vars)
}

/// Sends `signal` (`-9`, `-TERM`) to a spawned `send`.
fn signal(child: &std::process::Child, signal: &str) {
    std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
}

/// `n` subscribers `{prefix}0@example.org` … `{prefix}{n-1}@example.org`.
fn many_subscribers(env: &TestEnv, prefix: &str, n: usize) {
    let subs: String = (0..n)
        .map(|i| format!("[[subscriber]]\nemail = \"{prefix}{i}@example.org\"\n\n"))
        .collect();
    env.subscribers(&subs);
}

/// Starts `send` of edition 2026-11-28 in the background.
fn spawn_send(env: &TestEnv) -> std::process::Child {
    env.spawn(
        &[
            "send",
            "--config",
            "paperwire.toml",
            "--edition",
            "2026-11-28",
        ],
        &[SECRET, FAST_RETRY],
    )
}

fn make_executable(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn journal(env: &TestEnv) -> Vec<serde_json::Value> {
    if !env.exists("state/editions/2026-11-28/journal.jsonl") {
        return Vec::new();
    }
    env.read("state/editions/2026-11-28/journal.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_active_subscriber_gets_one_personalized_message() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    env.subscribers(SUBSCRIBERS);
    env.config_builder(Some(&server.url()))
        .with_newsletter("reply_to = \"editor@example.org\"")
        .with_delivery("return_path = \"bounces@example.org\"")
        .write();
    let out = send(&env, &[]);
    out.assert_code(0);
    assert_eq!(
        out.stdout, "",
        "a successful run off a terminal prints nothing"
    );
    let got = server.wait_for(3, Duration::from_secs(5));
    assert_eq!(got.len(), 3);
    assert!(server.messages_to("paused@example.org").is_empty());
    assert!(server.messages_to("gone@example.org").is_empty());

    let ada = server.messages_to("ada@example.org")[0].summary();
    assert_eq!(
        ada.part_types,
        ["multipart/alternative", "text/plain", "text/html"]
    );
    assert_eq!(ada.to.as_deref(), Some("Ada Lovelace <ada@example.org>"));
    assert_eq!(ada.from.as_deref(), Some("Paperwire <digest@example.org>"));
    assert_eq!(ada.reply_to.as_deref(), Some("editor@example.org"));
    assert_eq!(ada.return_path, "bounces@example.org");
    assert_eq!(
        ada.subject.as_deref(),
        Some("Test Digest — Saturday, 28 November 2026")
    );
    let mid = ada.message_id.clone().unwrap();
    assert!(
        mid.starts_with("2026-11-28.") && mid.ends_with("@example.org"),
        "{mid}"
    );
    assert!(ada.date.is_some());
    assert_eq!(
        ada.list_id.as_deref(),
        Some("\"Test Digest\" <test.example.org>")
    );
    let lu = ada.list_unsubscribe.clone().unwrap();
    assert!(
        lu.starts_with("<https://digest.example.org/unsubscribe?token="),
        "{lu}"
    );
    assert!(
        lu.ends_with("<mailto:digest@example.org?subject=unsubscribe>"),
        "{lu}"
    );
    assert_eq!(
        ada.list_unsubscribe_post.as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let url = lu
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    let text = ada.text.clone().unwrap();
    let html = ada.html.clone().unwrap();
    assert!(text.contains(&format!("Unsubscribe: {url}")), "{text}");
    assert!(html.contains(&format!("href=\"{url}\"")));
    assert!(text.contains("Hi Ada Lovelace,") && html.contains("Hi Ada Lovelace,"));
    // Ada's topics: only Federated Learning.
    assert!(
        text.contains("== Federated Learning ==") && !text.contains("== Losses & Optimization ==")
    );
    assert!(
        text.contains("not in this email — outside your topics."),
        "{text}"
    );

    let grace = server.messages_to("grace@example.org")[0].summary();
    assert_eq!(grace.part_types, ["text/plain"]);
    assert!(grace.html.is_none());
    assert!(grace.text.unwrap().contains("== Losses & Optimization =="));

    let alan = server.messages_to("alan@example.org")[0].summary();
    assert_eq!(alan.to.as_deref(), Some("alan@example.org"));
    let alan_text = alan.text.unwrap();
    assert_eq!(
        alan_text.lines().filter(|l| l.starts_with("* ")).count(),
        2,
        "{alan_text}"
    );
    assert!(alan_text.contains("Hi there,"));

    // The journal has one delivered line per recipient; the report says so.
    let j = journal(&env);
    assert_eq!(j.len(), 3);
    assert!(j.iter().all(|e| e["outcome"] == "delivered"));
    let report: serde_json::Value =
        serde_json::from_str(&env.read("state/editions/2026-11-28/report.json")).unwrap();
    assert_eq!(report["delivered"], 3);
    assert!(env.exists("state/editions/2026-11-28/papers.json"));

    // status shows the edition at a glance.
    let out = env.run(&["status", "--config", "paperwire.toml"]);
    out.assert_code(0);
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("2026-11-28"))
        .unwrap_or_default();
    assert_eq!(
        row.split_whitespace().take(5).collect::<Vec<_>>(),
        ["2026-11-28", "90", "3", "0", "0"],
        "{out}"
    );

    // A rerun sends nothing and says so in --json.
    let out = send(&env, &["--json"]);
    out.assert_code(0);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (
            report["delivered"].as_u64(),
            report["already_delivered"].as_u64()
        ),
        (Some(0), Some(3))
    );
    assert_eq!(server.messages().len(), 3);
}

#[test]
fn message_ids_are_stable_across_runs_and_the_frozen_list_is_reused() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    env.subscribers("[[subscriber]]\nemail = \"ada@example.org\"\n");
    env.config(Some(&server.url()));
    send(&env, &[]).assert_code(0);
    let first = server.wait_for(1, Duration::from_secs(5))[0]
        .summary()
        .message_id;
    // Change the source: the edition's frozen list is used anyway.
    env.write(
        "papers.txt",
        "Daily Papers\n\nA different paper about federated things\n\nAbstract.\n",
    );
    std::fs::remove_file(env.path("state/editions/2026-11-28/journal.jsonl")).unwrap();
    send(&env, &[]).assert_code(0);
    let msgs = server.wait_for(2, Duration::from_secs(5));
    assert_eq!(msgs[1].summary().message_id, first);
    assert!(!msgs[1].text().contains("A different paper"));
}

#[test]
fn transient_failures_retry_permanent_ones_do_not_and_exit_codes_say_so() {
    let server = SmtpServer::with_faults(
        Faults::new()
            .temp_fail_times("grey@example.org", 1)
            .perm_fail("nobody@example.org")
            .drop_in_data("flaky@example.org", 1),
    );
    let env = TestEnv::new();
    env.subscribers(
        "[[subscriber]]\nemail = \"grey@example.org\"\n\n[[subscriber]]\nemail = \"nobody@example.org\"\n\n[[subscriber]]\nemail = \"flaky@example.org\"\n\n[[subscriber]]\nemail = \"ok@example.org\"\n",
    );
    env.config_builder(Some(&server.url()))
        .with_delivery("retries = 2")
        .write();
    let out = send(&env, &[]);
    out.assert_code(1);
    assert!(out.stdout.contains("failed nobody@example.org"), "{out}");
    assert_eq!(server.messages().len(), 3);
    assert_eq!(
        server.attempts("nobody@example.org"),
        1,
        "a 5xx is never retried"
    );
    assert!(server.attempts("grey@example.org") >= 2);
    let j = journal(&env);
    let outcome = |who: &str| {
        j.iter()
            .find(|e| e["email"] == who)
            .map(|e| e["outcome"].clone())
    };
    assert_eq!(outcome("nobody@example.org"), Some("failed".into()));
    assert_eq!(outcome("grey@example.org"), Some("delivered".into()));
    assert_eq!(outcome("flaky@example.org"), Some("delivered".into()));
    // The permanent failure is not retried by a rerun of the same edition, and the rerun still
    // says that someone failed for good.
    let out = send(&env, &[]);
    out.assert_code(1);
    assert!(out.stdout.contains("1 failed"), "{out}");
    assert_eq!(server.attempts("nobody@example.org"), 1);
}

#[test]
fn a_server_that_never_replies_defers_and_the_next_run_delivers() {
    let server = SmtpServer::with_faults(Faults::new().hang_after_data("slow@example.org", 1));
    let env = TestEnv::new();
    env.subscribers("[[subscriber]]\nemail = \"slow@example.org\"\n\n[[subscriber]]\nemail = \"ok@example.org\"\n");
    env.config_builder(Some(&server.url()))
        .with_delivery("retries = 0\ntimeout_secs = 1")
        .write();
    let out = send(&env, &[]);
    out.assert_code(75);
    assert!(out.stdout.contains("deferred slow@example.org"), "{out}");
    let j = journal(&env);
    assert!(
        j.iter()
            .any(|e| e["email"] == "slow@example.org" && e["outcome"] == "deferred")
    );
    let out = send(&env, &[]);
    out.assert_code(0);
    assert_eq!(server.messages_to("slow@example.org").len(), 1);
    assert_eq!(server.messages_to("ok@example.org").len(), 1);
}

#[test]
fn kill_9_mid_send_then_rerun_repeats_at_most_concurrency_messages() {
    let server =
        SmtpServer::with_faults(Faults::new().delay_per_message(Duration::from_millis(40)));
    let env = TestEnv::new();
    many_subscribers(&env, "r", 40);
    env.config_builder(Some(&server.url()))
        .with_delivery("concurrency = 3")
        .write();
    let child = spawn_send(&env);
    assert!(server.wait_until(Duration::from_secs(20), |s| s.messages().len() >= 10));
    signal(&child, "-9");
    let out = crate::harness::Output::of_child(child);
    assert_eq!(out.code, None, "killed by a signal");
    let out = send(&env, &[]);
    out.assert_code(0);
    let mut twice = 0;
    for i in 0..40 {
        let n = server.messages_to(&format!("r{i}@example.org")).len();
        assert!(n >= 1, "r{i} got nothing");
        if n > 1 {
            twice += 1;
        }
    }
    assert!(twice <= 3, "{twice} recipients got two copies");
    // A finished edition's rerun sends nothing.
    let before = server.messages().len();
    send(&env, &[]).assert_code(0);
    assert_eq!(server.messages().len(), before);
}

#[test]
fn a_second_send_fails_at_once_while_the_first_holds_the_lock() {
    let server =
        SmtpServer::with_faults(Faults::new().delay_per_message(Duration::from_millis(300)));
    let env = TestEnv::new();
    env.subscribers(
        "[[subscriber]]\nemail = \"a@example.org\"\n\n[[subscriber]]\nemail = \"b@example.org\"\n",
    );
    env.config_builder(Some(&server.url()))
        .with_delivery("concurrency = 1")
        .write();
    let child = spawn_send(&env);
    assert!(server.wait_until(Duration::from_secs(10), |s| s.connections() >= 2));
    let second = send(&env, &[]);
    second.assert_code(75);
    assert!(second.stderr.contains("send.lock"), "{second}");
    let first = crate::harness::Output::of_child(child);
    assert_eq!(first.code, Some(0), "{first}");
    assert_eq!(server.messages().len(), 2);
}

#[test]
fn dry_run_renders_everything_and_writes_nothing() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    env.subscribers(SUBSCRIBERS);
    env.config(Some(&server.url()));
    let out = send(&env, &["--dry-run"]);
    out.assert_code(0);
    assert!(out.stdout.contains("3 to send"), "{out}");
    assert!(out.stdout.contains("dry run"), "{out}");
    assert!(!env.exists("state") && !env.exists("outbox"));
    assert_eq!(server.connections(), 0);
}

#[test]
fn test_to_sends_one_subscribers_exact_message_unjournaled() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    env.subscribers(SUBSCRIBERS);
    env.config(Some(&server.url()));
    send(
        &env,
        &[
            "--only",
            "ada@example.org",
            "--test-to",
            "editor@example.org",
        ],
    )
    .assert_code(0);
    let got = server.wait_for(1, Duration::from_secs(5));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_to, ["editor@example.org"]);
    assert_eq!(
        got[0].summary().to.as_deref(),
        Some("Ada Lovelace <ada@example.org>")
    );
    assert!(!env.exists("state/editions/2026-11-28/journal.jsonl"));
}

#[test]
fn unreachable_smtp_exits_75_and_sends_nothing() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let env = TestEnv::new();
    env.subscribers(SUBSCRIBERS);
    env.config(Some(&format!("smtp://127.0.0.1:{port}")));
    let out = send(&env, &[]);
    out.assert_code(75);
    assert!(out.stderr.contains("unreachable"), "{out}");
    assert!(journal(&env).is_empty());
}

#[test]
fn smtp_without_a_secret_refuses_and_outbox_warns() {
    let env = TestEnv::new();
    env.subscribers(SUBSCRIBERS);
    env.config(Some("smtp://127.0.0.1:25"));
    let out = env.run(&["send", "--config", "paperwire.toml"]);
    out.assert_code(2);
    assert!(out.stderr.contains("PAPERWIRE_SECRET"), "{out}");
    let out = env.run(&[
        "send",
        "--config",
        "paperwire.toml",
        "--transport",
        "outbox",
    ]);
    out.assert_code(0);
    assert!(out.stderr.contains("PAPERWIRE_SECRET"));
    assert_eq!(
        env.list("outbox")
            .iter()
            .filter(|f| f.ends_with(".eml"))
            .count(),
        3
    );
}

#[test]
fn an_empty_day_sends_nothing_and_says_why() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    env.subscribers(SUBSCRIBERS);
    env.write("papers.json", "[]");
    env.config_builder(Some(&server.url()))
        .sources("[[source]]\nkind = \"file\"\npath = \"papers.json\"\n")
        .write();
    let out = send(&env, &[]);
    out.assert_code(0);
    assert!(out.stderr.contains("no papers"), "{out}");
    assert_eq!(server.connections(), 0);
}

#[test]
fn papers_sent_in_an_earlier_edition_are_left_out() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    env.subscribers("[[subscriber]]\nemail = \"ada@example.org\"\n");
    env.config(Some(&server.url()));
    send(&env, &[]).assert_code(0);
    let out = env.run_with_env(
        &[
            "send",
            "--config",
            "paperwire.toml",
            "--edition",
            "2026-11-29",
        ],
        &[SECRET],
    );
    out.assert_code(0);
    assert!(out.stderr.contains("no papers"), "{out}");
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn the_readme_main_job_works_on_a_fresh_copy() {
    let env = TestEnv::new();
    let root = env!("CARGO_MANIFEST_DIR");
    for f in [
        "paperwire.example.toml",
        "subscribers.example.toml",
        "samples/daily-papers.txt",
    ] {
        env.write(f, std::fs::read(format!("{root}/{f}")).unwrap());
    }
    let out = env.run(&["send", "--config", "paperwire.example.toml"]);
    out.assert_code(0);
    let emls: Vec<String> = env
        .list("outbox")
        .into_iter()
        .filter(|f| f.ends_with(".eml"))
        .collect();
    assert_eq!(emls.len(), 3, "{out}");
    for f in emls {
        let raw = std::fs::read(env.path("outbox").join(&f)).unwrap();
        let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert!(msg.message_id().is_some() && msg.header("List-Unsubscribe-Post").is_some());
    }
    // The rerun sends nothing more.
    env.run(&["send", "--config", "paperwire.example.toml"])
        .assert_code(0);
    assert_eq!(
        env.list("outbox")
            .iter()
            .filter(|f| f.ends_with(".eml"))
            .count(),
        3
    );
}

#[test]
fn sigterm_stops_starting_messages_journals_the_in_flight_and_exits_75() {
    let server =
        SmtpServer::with_faults(Faults::new().delay_per_message(Duration::from_millis(100)));
    let env = TestEnv::new();
    many_subscribers(&env, "t", 30);
    env.config_builder(Some(&server.url()))
        .with_delivery("concurrency = 2")
        .write();
    let child = spawn_send(&env);
    assert!(server.wait_until(Duration::from_secs(20), |s| s.messages().len() >= 4));
    let started = std::time::Instant::now();
    signal(&child, "-TERM");
    let out = crate::harness::Output::of_child(child);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(out.code, Some(75), "{out}");
    let delivered = journal(&env)
        .iter()
        .filter(|e| e["outcome"] == "delivered")
        .count();
    assert_eq!(
        delivered,
        server.messages().len(),
        "every accepted message is journaled"
    );
    assert!(delivered < 30);
    send(&env, &[]).assert_code(0);
    for i in 0..30 {
        assert_eq!(
            server.messages_to(&format!("t{i}@example.org")).len(),
            1,
            "t{i}"
        );
    }
}

#[test]
fn the_sendmail_transport_pipes_each_message_to_the_command() {
    let env = TestEnv::new();
    env.subscribers(SUBSCRIBERS);
    let script = env.write(
        "fake-sendmail",
        format!(
            "#!/bin/sh\ncat > \"{}/mail.$$.eml\"\necho \"$@\" > \"{}/args.$$\"\n",
            env.path("spool").display(),
            env.path("spool").display()
        ),
    );
    std::fs::create_dir_all(env.path("spool")).unwrap();
    make_executable(&script);
    env.config_builder(None)
        .with_delivery(&format!(
            "transport = \"sendmail\"\nsendmail_command = \"{}\"",
            script.display()
        ))
        .write();
    send(&env, &[]).assert_code(0);
    let mails: Vec<String> = env
        .list("spool")
        .into_iter()
        .filter(|f| f.ends_with(".eml"))
        .collect();
    assert_eq!(mails.len(), 3);
    let all = mails
        .iter()
        .map(|f| env.read(format!("spool/{f}")))
        .collect::<String>();
    assert!(all.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    let args: String = env
        .list("spool")
        .into_iter()
        .filter(|f| f.starts_with("args"))
        .map(|f| env.read(format!("spool/{f}")))
        .collect();
    assert!(
        args.contains("ada@example.org") && args.contains("digest@example.org"),
        "{args}"
    );
}

#[test]
fn smtp_auth_uses_the_user_from_the_url_and_the_password_from_the_environment() {
    let server = SmtpServer::builder().auth("mailer", "s3cret").start();
    let env = TestEnv::new();
    env.subscribers("[[subscriber]]\nemail = \"ada@example.org\"\n");
    env.config(Some(&format!("smtp://mailer@127.0.0.1:{}", server.port())));
    let out = send_with_env(&env, &[], &[SECRET, ("PAPERWIRE_SMTP_PASSWORD", "s3cret")]);
    out.assert_code(0);
    assert_eq!(server.messages()[0].auth_user.as_deref(), Some("mailer"));
    // No password: a setup error before anything is sent.
    let env2 = TestEnv::new();
    env2.subscribers("[[subscriber]]\nemail = \"ada@example.org\"\n");
    env2.config(Some(&format!("smtp://mailer@127.0.0.1:{}", server.port())));
    let out = env2.run_with_env(&["send", "--config", "paperwire.toml"], &[SECRET]);
    out.assert_code(2);
    assert!(out.stderr.contains("PAPERWIRE_SMTP_PASSWORD"), "{out}");
}

#[test]
fn sendmail_exit_codes_say_permanent_or_temporary_and_keep_the_reason() {
    let env = TestEnv::new();
    env.subscribers("[[subscriber]]\nemail = \"nouser@example.org\"\n\n[[subscriber]]\nemail = \"later@example.org\"\n");
    let script = env.write(
        "fake-sendmail",
        "#!/bin/sh\ncat > /dev/null\ncase \"$*\" in\n  *nouser*) echo 'no such user here' >&2; exit 67;;\n  *) echo 'queue full' >&2; exit 75;;\nesac\n",
    );
    make_executable(&script);
    env.config_builder(None)
        .with_delivery(&format!(
            "transport = \"sendmail\"\nsendmail_command = \"{}\"\nretries = 0",
            script.display()
        ))
        .write();
    let out = send(&env, &[]);
    out.assert_code(75);
    assert!(
        out.stdout.contains("failed nouser@example.org")
            && out.stdout.contains("no such user here"),
        "{out}"
    );
    assert!(
        out.stdout.contains("deferred later@example.org") && out.stdout.contains("queue full"),
        "{out}"
    );
}

#[test]
fn an_outbox_that_is_a_file_is_a_config_error_not_a_retry() {
    let env = TestEnv::new();
    env.subscribers("[[subscriber]]\nemail = \"ada@example.org\"\n");
    env.write("outbox", "not a directory");
    env.config(None);
    let out = send(&env, &[]);
    out.assert_code(2);
    assert!(out.stderr.contains("outbox"), "{out}");
}

#[test]
fn max_per_second_spaces_the_messages_out() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    many_subscribers(&env, "p", 6);
    env.config_builder(Some(&server.url()))
        .with_delivery("max_per_second = 10\nconcurrency = 3")
        .write();
    let started = std::time::Instant::now();
    send(&env, &[]).assert_code(0);
    // Six messages at ten a second take at least five intervals, whatever the concurrency.
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.messages().len(), 6);
}

#[test]
fn a_server_that_refuses_the_sender_stops_the_run_before_anyone_fails() {
    // This server wants AUTH, and the config gives no user: MAIL FROM gets 530.
    let server = SmtpServer::builder().auth("mailer", "s3cret").start();
    let env = TestEnv::new();
    env.subscribers(SUBSCRIBERS);
    env.config(Some(&server.url()));
    let out = send(&env, &[]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("refuses the sender digest@example.org"),
        "{out}"
    );
    assert!(journal(&env).is_empty(), "no recipient is marked as failed");
}

#[test]
fn a_list_with_an_address_twice_is_refused_and_sends_nothing() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    env.subscribers(
        "[[subscriber]]\nemail = \"Ann@example.org\"\n\n[[subscriber]]\nemail = \"ann@example.org\"\n\n[[subscriber]]\nemail = \"bob@example.org\"\n",
    );
    env.config(Some(&server.url()));
    let out = send(&env, &[]);
    out.assert_code(2);
    assert!(
        out.stderr.contains(
            "subscribers.toml:5:9: ann@example.org is listed twice (first on line 2; addresses are compared ignoring case)"
        ),
        "{out}"
    );
    assert_eq!(server.connections(), 0);
}
