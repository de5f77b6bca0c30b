//! List hygiene from the command line: `bounces import` over real reports (and garbage), a
//! complaint piped in as an MTA alias would, refusals at send time that retire an address, and
//! the way back (`subscribers resume`). The end-to-end test through a private Postfix, with
//! VERP tags, is skipped (with a line on stderr) where Postfix cannot run, unless
//! `PAPERWIRE_REQUIRE_POSTFIX` is set (CI sets it).

use std::path::Path;
use std::time::Duration;

use crate::harness::postfix::{BOUNCE_DOMAIN, Postfix};
use crate::harness::{Faults, Output, SmtpServer, TestEnv};

const SECRET: (&str, &str) = ("PAPERWIRE_SECRET", "hygiene-test-secret");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bounces");

fn subscribers(addresses: &[&str]) -> String {
    addresses
        .iter()
        .map(|a| format!("[[subscriber]]\nemail = \"{a}\"\n\n"))
        .collect()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).unwrap()
}

fn send(env: &TestEnv, edition: &str) -> Output {
    env.run_with_env(&["send", "--edition", edition], &[SECRET])
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The addresses `subscribers list --bounced --json` names.
fn bounced(env: &TestEnv) -> Vec<String> {
    let out = env.run(&["subscribers", "list", "--bounced", "--json"]);
    out.assert_code(0);
    json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["email"].as_str().unwrap().to_owned())
        .collect()
}

/// Every file and its bytes under `dir` (the list, its change log, the state).
fn snapshot_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap();
        out.push((entry.display().to_string(), bytes));
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn garbage_truncated_and_hostile_messages_change_nothing_and_are_reported() {
    let env = TestEnv::new();
    env.subscribers(&subscribers(&["ada@example.org", "gone@example.org"]));
    env.config(None);
    for name in [
        "hostile-garbage.bin",
        "hostile-malformed-mime.eml",
        "hostile-not-a-bounce.eml",
        "hostile-truncated.eml",
        "hostile-bad-fields.eml",
        "success-delivered.eml",
        "hotmail-delayed.eml",
    ] {
        env.write(Path::new("junk").join(name), fixture(name));
    }
    // An mbox whose second message is not a report: its origin names the line it starts on.
    let mut mbox = b"From MAILER-DAEMON Mon Nov 30 10:00:00 2026\n".to_vec();
    mbox.extend_from_slice(&fixture("hostile-not-a-bounce.eml"));
    mbox.extend_from_slice(b"\nFrom someone Mon Nov 30 10:00:01 2026\nSubject: hi\n\nhello\n");
    env.write("junk.mbox", &mbox);
    // A huge message: read through, not kept.
    let mut huge = b"Subject: big\nContent-Type: text/plain\n\n".to_vec();
    huge.resize(11 * 1024 * 1024, b'x');
    env.write(Path::new("junk").join("huge.eml"), &huge);
    let before = snapshot_of(env.root());

    let out = env.run(&["bounces", "import", "junk", "junk.mbox"]);
    out.assert_code(0);
    insta::assert_snapshot!(out.stdout);
    // Nothing written: not the list, not a change log, not a bounce log.
    let after: Vec<(String, Vec<u8>)> = snapshot_of(env.root())
        .into_iter()
        .filter(|(p, _)| !p.contains("bounces.jsonl"))
        .collect();
    assert_eq!(after, before);
    if env.exists("state/bounces.jsonl") {
        assert_eq!(env.read("state/bounces.jsonl").trim(), "");
    }

    let out = env.run(&["bounces", "import", "--json", "junk"]);
    out.assert_code(0);
    let report = json(&out);
    assert_eq!(report["skipped"].as_array().unwrap().len(), 9, "{out}");
    assert_eq!(report["skipped_by_kind"]["too big"], 1, "{out}");
}

#[test]
fn bad_arguments_exit_2_and_import_nothing() {
    let env = TestEnv::new();
    env.subscribers(&subscribers(&["gone@example.org"]));
    env.config(None);
    env.write("dsn.eml", fixture("postfix-hard-5.1.1.eml"));
    let out = env.run(&["bounces", "import", "dsn.eml", "missing.mbox"]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr.trim(), @"paperwire: error: cannot read missing.mbox: No such file or directory (os error 2)");
    let out = env.run(&["bounces", "import", "-", "-"]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr.trim(), @"paperwire: error: standard input (`-`) is named more than once; it can be read only once");
    assert!(!env.exists("state/bounces.jsonl"));
    // A Maildir with a message that cannot be read (a dangling link): named, nothing imported.
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(env.path("md").join(sub)).unwrap();
    }
    env.write("md/cur/1.host:2,S", fixture("postfix-hard-5.1.1.eml"));
    std::os::unix::fs::symlink("/nonexistent", env.path("md/new/x.eml")).unwrap();
    let out = env.run(&["bounces", "import", "--json", "md"]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr.trim(), @"paperwire: error: cannot read md/new/x.eml: No such file or directory (os error 2)");
    assert_eq!(out.stdout, "", "{out}");
    assert!(!env.exists("state/bounces.jsonl"));
    // A list that does not parse: its file:line:col, nothing imported.
    env.subscribers("[[subscriber]]\nemail = \"not an address\"\n");
    let out = env.run(&["bounces", "import", "dsn.eml"]);
    out.assert_code(2);
    assert!(out.stderr.contains("subscribers.toml:2:"), "{out}");
    assert!(!env.exists("state/bounces.jsonl"));
}

/// A feedback loop's report piped in (`bounces: "|paperwire bounces import -"`): the reader is
/// unsubscribed at once; the same report again counts once.
#[test]
fn a_complaint_on_stdin_unsubscribes_and_counts_once() {
    let env = TestEnv::new();
    env.subscribers(&subscribers(&["ada@example.org", "kijitora@y.example.com"]));
    env.config(None);
    let report = fixture("arf-amazonses-abuse.eml");
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let out = env.run_with(&["bounces", "import", "-"], &[], Some(&report));
    out.assert_code(0);
    assert!(
        out.stdout
            .starts_with("1 message: 1 new report, 0 imported before, 0 skipped\n"),
        "{out}"
    );
    assert!(
        out.stdout.contains("kijitora@y.example.com: complained ("),
        "{out}"
    );
    let list = json(&env.run(&["subscribers", "list", "--json"]));
    let kijitora = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == "kijitora@y.example.com")
        .unwrap();
    // When paperwire acted on it, not the report's own (years old) Date: a confirmation asked
    // for between the two must not bring the reader back.
    let unsubscribed_at = kijitora["unsubscribed_at"].as_str().expect("unsubscribed");
    let unsubscribed_at = chrono::DateTime::parse_from_rfc3339(unsubscribed_at).unwrap();
    assert!(unsubscribed_at >= before, "{list:#}");

    let log = env.read("state/bounces.jsonl");
    let out = env.run_with(&["bounces", "import", "-"], &[], Some(&report));
    out.assert_code(0);
    assert!(
        out.stdout
            .starts_with("1 message: 0 new reports, 1 imported before, 0 skipped\n"),
        "{out}"
    );
    assert!(out.stdout.ends_with("no address retired\n"), "{out}");
    assert_eq!(env.read("state/bounces.jsonl"), log);
    // No mail to them in the next edition.
    let out = env.run(&["send", "--edition", "2026-11-28"]);
    out.assert_code(0);
    assert_eq!(env.list("outbox").len(), 1, "{out}");
}

/// A 550 at RCPT in three editions retires the address during the third send; the fourth
/// edition does not try it; `status` counts the bounces per edition; a person resumes it, and
/// its old refusals no longer count.
#[test]
fn refusals_at_send_time_retire_an_address_and_resume_brings_it_back() {
    // picky@'s server refuses the message after DATA (554 5.6.0): the content, not the address.
    let server = SmtpServer::with_faults(
        Faults::new()
            .perm_fail("gone@example.org")
            .reject_data("picky@example.org"),
    );
    let env = TestEnv::new();
    env.subscribers(&subscribers(&[
        "ada@example.org",
        "gone@example.org",
        "picky@example.org",
    ]));
    env.config_builder(Some(&server.url()))
        .with_digest("repeat_after_days = 1")
        .write();
    for edition in ["2026-11-01", "2026-11-02"] {
        send(&env, edition).assert_code(1);
        assert!(bounced(&env).is_empty());
    }
    let out = send(&env, "2026-11-03");
    out.assert_code(1);
    assert!(
        out.stdout.contains(
            "gone@example.org: bounced (score 3: 3 days of hard bounces, 0 of soft; last "
        ),
        "{out}"
    );
    assert_eq!(bounced(&env), ["gone@example.org"]);
    let out = env.run(&["subscribers", "list", "--bounced"]);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    insta::assert_snapshot!(
        "list_bounced_names_the_last_refusal",
        out.stdout.replace(&today, "<today>")
    );
    assert!(
        out.stdout.contains("550"),
        "the last refusal is shown: {out}"
    );

    let out = send(&env, "2026-11-04");
    out.assert_code(1);
    assert!(out.stdout.contains("failed picky@example.org"), "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&env.read("state/editions/2026-11-04/report.json")).unwrap();
    assert_eq!(report["recipients"], 2, "{report:#}");
    // Named when asked for by name.
    let out = env.run_with_env(
        &[
            "send",
            "--edition",
            "2026-11-04",
            "--only",
            "gone@example.org",
        ],
        &[SECRET],
    );
    assert!(
        out.stdout.contains("not sent to gone@example.org: bounced"),
        "{out}"
    );
    assert_eq!(server.attempts("gone@example.org"), 3);
    assert_eq!(server.messages_to("ada@example.org").len(), 4);

    let status = json(&env.run(&["status", "--json"]));
    let hard: Vec<(String, u64)> = status
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["edition"].as_str().unwrap().to_owned(),
                r["bounces"]["hard"].as_u64().unwrap(),
            )
        })
        .collect();
    for (edition, n) in &hard {
        // gone@ in the first three; picky@'s refusals are not bounces.
        let want = u64::from(edition.as_str() != "2026-11-04");
        assert_eq!(*n, want, "{edition}: {status:#}");
    }
    // The table without its last column (the time of each run).
    let out = env.run(&["status"]);
    let cut = out.stdout.find("last activity").expect("a header");
    let table: String = out
        .stdout
        .lines()
        .map(|l| format!("{}\n", l.get(..cut).unwrap_or(l).trim_end()))
        .collect();
    insta::assert_snapshot!("status_counts_bounces_per_edition", table);

    // The refusals of an edition count once, however often it is rerun.
    let out = env.run(&["subscribers", "resume", "gone@example.org"]);
    out.assert_code(0);
    assert!(out.stdout.contains("bounced_at cleared"), "{out}");
    assert!(bounced(&env).is_empty());
    send(&env, "2026-11-05").assert_code(1);
    assert_eq!(server.attempts("gone@example.org"), 4);
    assert!(
        bounced(&env).is_empty(),
        "only one refusal since the resume"
    );
}

/// Retiring an address during a send does not turn its failure into a success: a rerun of the
/// edition still names it ("now retired: bounced"), counts it in report.json and exits 1, as
/// for any earlier failure, until an operator resumes the address.
#[test]
fn a_rerun_still_names_a_failure_whose_address_was_retired() {
    let server = SmtpServer::with_faults(Faults::new().perm_fail("gone@example.org"));
    let env = TestEnv::new();
    env.subscribers(&subscribers(&["ada@example.org", "gone@example.org"]));
    env.config_builder(Some(&server.url()))
        .with_table("bounce", "threshold = 1")
        .write();
    let out = send(&env, "2026-11-01");
    out.assert_code(1);
    assert_eq!(bounced(&env), ["gone@example.org"]);

    let out = send(&env, "2026-11-01");
    out.assert_code(1);
    assert!(
        out.stdout.contains("failed gone@example.org: ")
            && out
                .stdout
                .contains(" (in an earlier run; now retired: bounced)"),
        "{out}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&env.read("state/editions/2026-11-01/report.json")).unwrap();
    assert_eq!(report["failed_earlier"], 1, "{report:#}");
    assert_eq!(report["already_delivered"], 1, "{report:#}");
    let problem = &report["problems"][0];
    assert_eq!(problem["email"], "gone@example.org", "{report:#}");
    assert_eq!(
        (&problem["earlier"], &problem["retired"]),
        (&serde_json::json!(true), &serde_json::json!(true)),
        "{report:#}"
    );
    assert!(
        problem["detail"].as_str().unwrap().contains("550"),
        "{report:#}"
    );
    assert_eq!(server.attempts("gone@example.org"), 1, "never tried again");

    // Removing the address ends it.
    env.run(&["subscribers", "remove", "gone@example.org"])
        .assert_code(0);
    let out = send(&env, "2026-11-01");
    out.assert_code(0);
    assert!(!out.stdout.contains("gone@"), "{out}");
}

/// `check` says that VERP needs PAPERWIRE_SECRET where it is not set (a warning: the config may
/// be checked elsewhere), since `send` and `bounces import` then stop with exit 2.
#[test]
fn check_warns_when_verp_has_no_secret() {
    let env = TestEnv::new();
    env.subscribers(&subscribers(&["ada@example.org"]));
    env.config_builder(None)
        .with_delivery("return_path = \"bounces@example.org\"")
        .with_table("bounce", "verp = true")
        .write();
    let out = env.run(&["check"]);
    out.assert_code(0);
    let warning = out
        .stderr
        .lines()
        .find(|l| l.contains("bounce.verp"))
        .unwrap_or_else(|| panic!("no warning: {out}"));
    insta::assert_snapshot!(warning, @"warning: paperwire.toml: bounce.verp is on but PAPERWIRE_SECRET is not set here: `send` and `bounces import` need it for the VERP tags, and without it they stop (exit 2)");
    env.write("dsn.eml", fixture("postfix-hard-5.1.1.eml"));
    env.run(&["bounces", "import", "dsn.eml"]).assert_code(2);

    let out = env.run_with_env(&["check"], &[SECRET]);
    out.assert_code(0);
    assert!(!out.stderr.contains("bounce.verp"), "{out}");
}

/// Adding back a bounced address needs --resubscribe, like an unsubscribed one.
#[test]
fn a_bounced_address_is_not_added_back_without_resubscribe() {
    let env = TestEnv::new();
    env.subscribers(
        "[[subscriber]]\nemail = \"gone@example.org\"\nbounced_at = 2026-11-03T08:00:00Z\n",
    );
    env.config(None);
    let out = env.run(&["subscribers", "add", "gone@example.org"]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr.trim(), @"paperwire: error: gone@example.org bounced at 2026-11-03T08:00:00Z (mail to it failed too often); after checking the address, pass --resubscribe, or run `paperwire subscribers resume gone@example.org`");
    let out = env.run(&["subscribers", "export", "--csv"]);
    assert!(!out.stdout.contains("gone@"), "{out}");
    let out = env.run(&["subscribers", "add", "gone@example.org", "--resubscribe"]);
    out.assert_code(0);
    assert!(bounced(&env).is_empty());
}

/// End to end through Postfix with VERP: the relay refuses gone@ after Postfix took the
/// message, Postfix's DSN comes back to the tagged envelope sender, `bounces import` of the
/// Maildir retires gone@ after the third edition, the fourth does not go to it, and importing
/// the Maildir again counts nothing twice.
#[test]
fn through_postfix_an_address_refused_in_three_editions_gets_nothing_in_the_fourth() {
    let relay = SmtpServer::with_faults(
        Faults::new()
            .perm_fail("gone@example.org")
            .temp_fail_times("full@example.org", u32::MAX),
    );
    let Some(postfix) = Postfix::start(relay.port(), "through_postfix_three_editions") else {
        return;
    };
    let env = TestEnv::new();
    env.subscribers(&subscribers(&[
        "ada@example.org",
        "gone@example.org",
        "full@example.org",
    ]));
    env.config_builder(Some(&postfix.smtp_url()))
        .with_delivery(&format!("return_path = \"bounces@{BOUNCE_DOMAIN}\""))
        .with_digest("repeat_after_days = 1")
        .with_table("bounce", "verp = true")
        .write();
    let maildir = postfix.maildir().display().to_string();
    let import = || {
        let out = env.run_with_env(&["bounces", "import", &maildir], &[SECRET]);
        out.assert_code(0);
        out
    };
    for (n, edition) in ["2026-10-01", "2026-10-02", "2026-10-03"]
        .iter()
        .enumerate()
    {
        send(&env, edition).assert_code(0);
        let dsns = postfix.wait_for_dsns(2 * (n + 1), Duration::from_secs(30));
        for (path, bytes) in &dsns {
            let text = String::from_utf8_lossy(bytes);
            assert!(
                text.contains("bounces+"),
                "{} did not come back to a tagged sender:\n{text}",
                path.display()
            );
        }
        let out = import();
        assert!(out.stdout.contains("2 new reports"), "{out}");
    }
    let out = import();
    assert!(
        out.stdout
            .starts_with("6 messages: 0 new reports, 6 imported before, 0 skipped\n"),
        "{out}"
    );
    assert_eq!(bounced(&env), ["gone@example.org"]);
    let attempts = relay.attempts("gone@example.org");
    assert_eq!(attempts, 3);
    send(&env, "2026-10-04").assert_code(0);
    // full@ is refused again (soft: 4 days = 2 points, below 3) and ada@ gets hers: wait for
    // both, then gone@ was not tried.
    postfix.wait_for_dsns(7, Duration::from_secs(30));
    assert!(relay.wait_until(
        Duration::from_secs(30),
        |r| r.messages_to("ada@example.org").len() == 4
    ));
    assert_eq!(relay.attempts("gone@example.org"), attempts);
    let out = import();
    assert!(out.stdout.contains("1 new report"), "{out}");
    assert_eq!(bounced(&env), ["gone@example.org"]);

    // A DSN with a tag this key did not sign, on the pipe as an MTA hands it over: skipped.
    let log = env.read("state/bounces.jsonl");
    let forged = fixture("hostile-forged-verp.eml");
    let out = env.run_with(&["bounces", "import", "-"], &[SECRET], Some(&forged));
    out.assert_code(0);
    assert!(out.stdout.contains("skipped: 1 forged VERP tag"), "{out}");
    assert_eq!(env.read("state/bounces.jsonl"), log);
}

/// `import --resubscribe` of an address that bounced brings it back as `resume` does: its old
/// refusals are forgotten, so one more refusal does not retire it again at once.
#[test]
fn an_import_with_resubscribe_forgets_the_old_bounces() {
    let server = SmtpServer::with_faults(Faults::new().perm_fail("gone@example.org"));
    let env = TestEnv::new();
    env.subscribers(&subscribers(&["ada@example.org", "gone@example.org"]));
    env.config_builder(Some(&server.url()))
        .with_digest("repeat_after_days = 1")
        .write();
    for edition in ["2026-11-01", "2026-11-02", "2026-11-03"] {
        send(&env, edition).assert_code(1);
    }
    assert_eq!(bounced(&env), ["gone@example.org"]);
    env.write("back.csv", "email\ngone@example.org\n");
    let out = env.run(&["subscribers", "import", "back.csv"]);
    out.assert_code(2);
    assert!(out.stderr.contains("gone@example.org bounced at"), "{out}");
    let out = env.run(&["subscribers", "import", "back.csv", "--resubscribe"]);
    out.assert_code(0);
    assert!(bounced(&env).is_empty(), "{out}");
    send(&env, "2026-11-04").assert_code(1);
    assert_eq!(server.attempts("gone@example.org"), 4);
    assert!(
        bounced(&env).is_empty(),
        "only one refusal since the import"
    );
}
