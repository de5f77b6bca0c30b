//! `paperwire run`, the scheduler daemon, against a real SMTP server on 127.0.0.1: editions on
//! time and never twice, deferred recipients retried, SIGTERM and a restart, `run --once`.
//!
//! The daemon's clock is shifted with `PAPERWIRE_TEST_NOW` (and sped up with
//! `PAPERWIRE_TEST_CLOCK_RATE`) so a real five-field schedule fires within seconds.

use std::process::Child;
use std::time::{Duration, Instant};

use crate::harness::{Faults, Output, SmtpServer, TestEnv};

const SECRET: (&str, &str) = ("PAPERWIRE_SECRET", "test-secret");
const FAST_RETRY: (&str, &str) = ("PAPERWIRE_RETRY_BASE_MS", "20");
const DAILY: &str = "cron = \"0 7 * * *\"\ncatch_up = \"6h\"";

/// `n` subscribers `r0@example.org`… with every section.
fn subscribers(env: &TestEnv, n: usize) -> Vec<String> {
    let emails: Vec<String> = (0..n).map(|i| format!("r{i}@example.org")).collect();
    let toml: String = emails
        .iter()
        .map(|e| format!("[[subscriber]]\nemail = \"{e}\"\n\n"))
        .collect();
    env.subscribers(&toml);
    emails
}

/// Starts `paperwire run` with the scheduler's clock at `now`, running `rate` times as fast.
fn daemon(env: &TestEnv, now: &str, rate: u32, extra_env: &[(&str, &str)]) -> Child {
    let rate = rate.to_string();
    let mut vars = vec![
        SECRET,
        FAST_RETRY,
        ("PAPERWIRE_TEST_NOW", now),
        ("PAPERWIRE_TEST_CLOCK_RATE", rate.as_str()),
    ];
    vars.extend_from_slice(extra_env);
    env.spawn(&["run", "--config", "paperwire.toml"], &vars)
}

/// `run --once` with the scheduler's clock at `now`.
fn once(env: &TestEnv, now: &str) -> Output {
    env.run_with_env(
        &["run", "--once", "--config", "paperwire.toml"],
        &[SECRET, FAST_RETRY, ("PAPERWIRE_TEST_NOW", now)],
    )
}

/// Sends SIGTERM and waits (at most 10 s) for the exit; returns the output and how long the
/// exit took.
fn terminate(child: Child) -> (Output, Duration) {
    let mut child = child;
    let asked = Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    while child.try_wait().expect("wait").is_none() {
        if asked.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("paperwire run still running 10 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = asked.elapsed();
    (Output::of_child(child), took)
}

/// The edition ids in the journal of the state directory, sorted.
fn editions(env: &TestEnv) -> Vec<String> {
    env.list("state/editions")
}

#[test]
fn a_daily_schedule_delivers_two_editions_and_never_one_twice() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    let emails = subscribers(&env, 3);
    env.config_builder(Some(&server.url()))
        .with_schedule(DAILY)
        .write();
    // A day of the scheduler's clock passes in 3 real seconds; 07:00 comes in 1/8 s.
    let child = daemon(&env, "2026-11-28T06:00:00Z", 28_800, &[]);
    let first = server.wait_for(3, Duration::from_secs(10));
    assert_eq!(first.len(), 3, "the first edition went out");

    // The daemon holds send.lock for its whole life: a second daemon and a send fail at once.
    let second = env.run_with_env(&["run", "--config", "paperwire.toml"], &[SECRET]);
    second.assert_code(75);
    assert!(second.stderr.contains("send.lock"), "{second}");
    let send = env.run_with_env(
        &["send", "--config", "paperwire.toml", "--edition", "x"],
        &[SECRET],
    );
    send.assert_code(75);

    // Tomorrow's list: other papers (today's are never sent twice).
    let tomorrow = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/hf-daily-papers.sample.json"),
    )
    .unwrap();
    env.write("papers.txt", tomorrow);
    let all = server.wait_for(6, Duration::from_secs(10));
    assert_eq!(all.len(), 6, "the second edition went out");

    let (out, took) = terminate(child);
    out.assert_code(0);
    assert!(
        took < Duration::from_secs(3),
        "stopped after {took:?}\n{out}"
    );
    assert!(
        out.stderr
            .contains("next edition 2026-11-28 at Sat 2026-11-28 07:00 UTC (in "),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("next edition 2026-11-29 at Sun 2026-11-29 07:00 UTC"),
        "{out}"
    );
    assert!(
        out.stderr.contains("edition 2026-11-29: 3 delivered"),
        "{out}"
    );
    assert_eq!(editions(&env)[..2], ["2026-11-28", "2026-11-29"]);
    // Each subscriber got each edition exactly once.
    let mut ids: Vec<String> = server
        .messages()
        .iter()
        .map(|m| m.summary().message_id.unwrap_or_default())
        .collect();
    assert_eq!(
        server.messages().len(),
        6,
        "nothing more after the second edition"
    );
    for e in &emails {
        assert_eq!(server.messages_to(e).len(), 2, "{e}");
    }
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        6,
        "six distinct (edition, subscriber) messages: {ids:?}"
    );
}

#[test]
fn a_deferred_recipient_is_retried_by_the_daemon_until_delivered() {
    let server = SmtpServer::with_faults(Faults::new().temp_fail_times("r1@example.org", 2));
    let env = TestEnv::new();
    subscribers(&env, 3);
    env.config_builder(Some(&server.url()))
        .with_delivery("retries = 0")
        .with_schedule(DAILY)
        .write();
    let child = daemon(
        &env,
        "2026-11-28T06:59:59.500Z",
        1,
        &[("PAPERWIRE_RETRY_INTERVAL_MS", "200")],
    );
    assert!(
        server.wait_until(Duration::from_secs(10), |s| s
            .messages_to("r1@example.org")
            .len()
            == 1),
        "the deferred recipient was never delivered"
    );
    let (out, _) = terminate(child);
    out.assert_code(0);
    use crate::harness::Outcome::{Delivered, TempFailed};
    assert_eq!(
        server.outcomes("r1@example.org"),
        [TempFailed, TempFailed, Delivered]
    );
    for e in ["r0@example.org", "r2@example.org"] {
        assert_eq!(server.messages_to(e).len(), 1, "{e}");
    }
    assert_eq!(
        out.stderr.matches("retrying edition 2026-11-28 at").count(),
        2,
        "{out}"
    );
    assert!(out.stderr.contains("1 deferred"), "{out}");
    assert!(
        out.stderr
            .contains("edition 2026-11-28: 1 delivered, 2 already delivered, 0 failed, 0 deferred"),
        "{out}"
    );
    // The edition is complete: --once has nothing to do.
    let again = once(&env, "2026-11-28T07:01:00Z");
    again.assert_code(0);
    assert!(again.stderr.contains("nothing due"), "{again}");
}

#[test]
fn sigterm_mid_send_exits_0_and_a_restart_completes_the_edition() {
    let server =
        SmtpServer::with_faults(Faults::new().delay_per_message(Duration::from_millis(300)));
    let env = TestEnv::new();
    let emails = subscribers(&env, 12);
    env.config_builder(Some(&server.url()))
        .with_delivery("concurrency = 2")
        .with_schedule(DAILY)
        .write();
    let child = daemon(&env, "2026-11-28T06:59:59.500Z", 1, &[]);
    assert!(server.wait_until(Duration::from_secs(10), |s| s.messages().len() >= 2));
    let (out, took) = terminate(child);
    out.assert_code(0);
    assert!(
        took < Duration::from_secs(3),
        "stopped after {took:?}\n{out}"
    );
    assert!(out.stderr.contains("stopping"), "{out}");
    assert!(out.stderr.contains("interrupted"), "{out}");
    let sent = server.messages().len();
    assert!(
        sent < emails.len(),
        "the stop came before the end ({sent} sent)"
    );

    // Restarted half a minute later, `run --once` finishes the interrupted edition.
    let restart = once(&env, "2026-11-28T07:00:30Z");
    restart.assert_code(0);
    let mut twice = 0;
    for e in &emails {
        let n = server.messages_to(e).len();
        assert!(n >= 1, "{e} got nothing");
        if n > 1 {
            twice += 1;
        }
    }
    assert!(
        twice <= 2,
        "{twice} recipients got two copies (concurrency is 2)"
    );
    // Complete now: nothing more is due, nothing more is sent.
    let before = server.messages().len();
    let again = once(&env, "2026-11-28T07:01:00Z");
    again.assert_code(0);
    assert!(again.stderr.contains("nothing due"), "{again}");
    assert_eq!(server.messages().len(), before);
}

#[test]
fn once_with_nothing_due_exits_0_with_a_note() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    subscribers(&env, 2);
    env.config_builder(Some(&server.url()))
        .with_schedule("cron = \"0 7 * * *\"\ncatch_up = \"1h\"")
        .write();
    // 07:00 was five hours ago, longer than catch_up: not sent, and it says which and why.
    let out = once(&env, "2026-11-28T12:00:00Z");
    out.assert_code(0);
    let said: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.contains("PAPERWIRE_TEST_NOW"))
        .collect();
    insta::assert_snapshot!(said.join("\n"), @r"
    paperwire: edition 2026-11-28 was due Sat 2026-11-28 07:00 UTC, 5 h 0 min ago, longer than schedule.catch_up (1 h 0 min): skipped (`paperwire send --edition 2026-11-28` sends it anyway)
    paperwire: nothing due; next edition 2026-11-29 at Sun 2026-11-29 07:00 UTC
    ");
    assert!(out.stdout.is_empty(), "{out}");
    assert!(server.messages().is_empty());
    assert!(editions(&env).is_empty());
    // Within catch_up, the missed edition is sent once; a second --once has nothing to do.
    once(&env, "2026-11-28T07:30:00Z").assert_code(0);
    assert_eq!(server.messages().len(), 2);
    once(&env, "2026-11-28T07:40:00Z").assert_code(0);
    assert_eq!(server.messages().len(), 2);
}

#[test]
fn run_needs_a_five_field_schedule() {
    let env = TestEnv::new();
    env.config(None);
    let out = env.run_with_env(&["run", "--config", "paperwire.toml"], &[SECRET]);
    out.assert_code(2);
    assert!(out.stderr.contains("no [schedule] table"), "{out}");

    env.config_builder(None)
        .with_schedule("cron = \"0 0 7 * * *\"")
        .write();
    let out = env.run_with_env(&["run", "--once", "--config", "paperwire.toml"], &[SECRET]);
    out.assert_code(2);
    assert!(out.stderr.contains("five-field"), "{out}");
    assert!(!env.exists("outbox"), "nothing sent");
}
