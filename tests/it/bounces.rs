//! Bounces made by a real MTA: paperwire sends through a private Postfix, which relays to the
//! test SMTP server; that server refuses some recipients (550, 451) after Postfix accepted the
//! messages, so Postfix writes real DSNs into its Maildir, which the bounce module reads.
//!
//! Skipped (with a line on stderr) where Postfix is not installed; CI installs it and sets
//! `PAPERWIRE_REQUIRE_POSTFIX`, so there they run. Set `PAPERWIRE_SAVE_DSNS=DIR` to keep copies
//! of the DSNs (that is how `tests/fixtures/bounces/postfix-*.eml` were made).

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use paperwire::bounce::ident::{AddressHash, OurMessageId};
use paperwire::bounce::import::{Outcome, import};
use paperwire::bounce::read::{Input, Limits, messages};
use paperwire::bounce::verp::VerpKey;
use paperwire::bounce::{Context, Policy, Report, Roster, Severity, Skip, Verdict, parse};
use paperwire::edition::EditionId;
use paperwire::state::StateDir;
use paperwire::subscribers::SubscriberEmail;

use crate::harness::postfix::{BOUNCE_DOMAIN, Postfix};
use crate::harness::{Faults, SmtpServer, TestEnv};

const SECRET: &str = "bounce-test-secret";
const LIST_ID: &str = "test.example.org";
const FROM_DOMAIN: &str = "example.org";
const SUBSCRIBERS: &str = r#"[[subscriber]]
email = "ada@example.org"

[[subscriber]]
email = "gone@example.org"

[[subscriber]]
email = "full@example.org"
"#;

/// The relay refuses `gone@` for good (550 5.1.1) and `full@` every time (451 4.7.1); Postfix
/// tries each message once, so both come back as DSNs at once.
fn relay() -> SmtpServer {
    SmtpServer::with_faults(
        Faults::new()
            .perm_fail("gone@example.org")
            .temp_fail_times("full@example.org", u32::MAX),
    )
}

/// Bounces come back to `bounces@bounce.test`, which the instance keeps; the same papers may
/// go out again the next day, so that each test edition has something to send.
fn setup(postfix: &Postfix) -> TestEnv {
    let env = TestEnv::new();
    env.subscribers(SUBSCRIBERS);
    env.config_builder(Some(&postfix.smtp_url()))
        .with_delivery(&format!("return_path = \"bounces@{BOUNCE_DOMAIN}\""))
        .with_digest("repeat_after_days = 1")
        .write();
    env
}

fn send(env: &TestEnv, edition: &str) {
    env.run_with_env(
        &["send", "--edition", edition],
        &[("PAPERWIRE_SECRET", SECRET)],
    )
    .assert_code(0);
}

fn ctx() -> Context<'static> {
    Context {
        from_domain: FROM_DOMAIN,
        verp: None,
        envelope_recipient: None,
    }
}

fn roster(editions: &[&str]) -> Roster {
    Roster::new(
        LIST_ID,
        ["ada@example.org", "gone@example.org", "full@example.org"]
            .map(|e| SubscriberEmail::parse(e).unwrap()),
        editions.iter().map(|e| EditionId::parse(e).unwrap()),
    )
}

fn save(dsns: &[(std::path::PathBuf, Vec<u8>)], name: &str) {
    if let Some(dir) = std::env::var_os("PAPERWIRE_SAVE_DSNS") {
        for (i, (_, bytes)) in dsns.iter().enumerate() {
            std::fs::write(Path::new(&dir).join(format!("{name}-{i}.eml")), bytes).unwrap();
        }
    }
}

/// What the bounce module recognizes as paperwire's own Message-ID is what `send` writes.
#[test]
fn sent_message_ids_name_their_edition_and_subscriber() {
    let env = TestEnv::new();
    env.subscribers(SUBSCRIBERS);
    env.config(None);
    env.run(&["send", "--edition", "2026-11-28"]).assert_code(0);
    let files = env.list("outbox");
    assert_eq!(files.len(), 3, "{files:?}");
    for name in files {
        let raw = std::fs::read(env.path("outbox").join(&name)).unwrap();
        let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let to = message
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap();
        let id = message.message_id().unwrap();
        let ours = OurMessageId::parse(id, FROM_DOMAIN).unwrap_or_else(|| panic!("{id}"));
        assert_eq!(ours.edition.as_str(), "2026-11-28");
        assert_eq!(ours.address, AddressHash::of(LIST_ID, &to.to_lowercase()));
    }
}

#[test]
fn postfix_dsns_read_as_hard_and_soft_bounces_of_the_edition() {
    let relay = relay();
    let Some(postfix) = Postfix::start(relay.port(), "postfix_dsns_read_as_hard_and_soft") else {
        return;
    };
    let env = setup(&postfix);
    send(&env, "2026-11-01");
    let dsns = postfix.wait_for_dsns(2, Duration::from_secs(30));
    save(&dsns, "postfix");
    assert_eq!(dsns.len(), 2, "one DSN per refused message");
    assert_eq!(relay.messages_to("ada@example.org").len(), 1);

    let mut seen = Vec::new();
    for (path, bytes) in &dsns {
        let Report::Bounce(b) = parse(bytes, &ctx()) else {
            panic!(
                "{} is not read as a bounce:\n{}",
                path.display(),
                String::from_utf8_lossy(bytes)
            );
        };
        let ours = b
            .original
            .ours
            .as_ref()
            .expect("Postfix quotes paperwire's Message-ID");
        assert_eq!(ours.edition.as_str(), "2026-11-01");
        assert_eq!(b.recipients.len(), 1);
        let r = &b.recipients[0];
        let address = r.final_recipient.clone().unwrap();
        assert_eq!(ours.address, AddressHash::of(LIST_ID, &address));
        assert_eq!(r.original_recipient.as_deref(), Some(address.as_str()));
        assert!(b.at.is_some(), "Postfix gives an Arrival-Date");
        seen.push((address, b.severity(), r.status.to_string()));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "full@example.org".to_owned(),
                Severity::Soft,
                "4.7.1".to_owned()
            ),
            (
                "gone@example.org".to_owned(),
                Severity::Hard,
                "5.1.1".to_owned()
            ),
        ]
    );
}

#[test]
fn three_editions_refused_through_postfix_reach_the_threshold_and_count_once() {
    let relay = relay();
    let Some(postfix) = Postfix::start(relay.port(), "three_editions_refused_through_postfix")
    else {
        return;
    };
    let env = setup(&postfix);
    let editions = ["2020-01-01", "2020-01-02", "2020-01-03"];
    let store = StateDir::new(&env.path("state")).bounce_log();
    let policy = Policy::default();
    let input = Input::Path(postfix.maildir());
    for (n, edition) in editions.iter().enumerate() {
        send(&env, edition);
        postfix.wait_for_dsns(2 * (n + 1), Duration::from_secs(30));
    }
    let now = Utc::now();
    let items = messages(&input, Limits::default()).unwrap();
    let mut outcomes = Vec::new();
    let summary = import(
        items,
        &ctx(),
        &roster(&editions),
        &store,
        now,
        |origin, o| outcomes.push((origin.to_owned(), o.clone())),
    )
    .unwrap();
    assert_eq!(outcomes.len(), 6);
    assert_eq!(summary.recorded, 6, "{outcomes:#?}");
    let verdicts: std::collections::HashMap<String, Verdict> =
        summary.verdicts(now, &policy).into_iter().collect();
    let Verdict::Bounced(score) = &verdicts["gone@example.org"] else {
        panic!("gone@ should be bounced: {verdicts:?}");
    };
    assert_eq!((score.points, score.hard_days), (3.0, 3));
    let Verdict::Keep(score) = &verdicts["full@example.org"] else {
        panic!("full@ should be kept: {verdicts:?}");
    };
    assert_eq!((score.points, score.soft_days), (1.5, 3));
    assert!(!verdicts.contains_key("ada@example.org"));

    // The same Maildir again: every report is known, nothing is stored twice.
    let before = std::fs::read(store.path()).unwrap();
    let items = messages(&input, Limits::default()).unwrap();
    let again = import(
        items,
        &ctx(),
        &roster(&editions),
        &store,
        Utc::now(),
        |_, o| assert_eq!(*o, Outcome::Duplicate),
    )
    .unwrap();
    assert_eq!(again.duplicates, 6);
    assert_eq!(std::fs::read(store.path()).unwrap(), before);
}

#[test]
fn verp_tags_come_back_through_postfix_and_forged_ones_are_skipped() {
    use lettre::Transport;
    let relay = relay();
    let Some(postfix) = Postfix::start(relay.port(), "verp_tags_come_back_through_postfix") else {
        return;
    };
    let return_path: lettre::Address = format!("bounces@{BOUNCE_DOMAIN}").parse().unwrap();
    let key = VerpKey::new(SECRET.as_bytes(), LIST_ID, &return_path).unwrap();
    let edition = EditionId::parse("2026-11-07").unwrap();
    let sender = key.sender("gone@example.org", &edition);
    // A message as paperwire would send it, but with no Message-ID of ours: the tag alone
    // must name the subscriber.
    let message = lettre::Message::builder()
        .from("Paperwire <digest@example.org>".parse().unwrap())
        .to("gone@example.org".parse().unwrap())
        .subject("Test Digest")
        .message_id(Some("<not-ours@elsewhere.example>".into()))
        .body("hello".to_owned())
        .unwrap();
    let envelope = lettre::address::Envelope::new(
        Some(sender.clone()),
        vec!["gone@example.org".parse().unwrap()],
    )
    .unwrap();
    lettre::SmtpTransport::builder_dangerous("127.0.0.1")
        .port(postfix.port())
        .build()
        .send_raw(&envelope, &message.formatted())
        .expect("Postfix accepts the message");
    let dsns = postfix.wait_for_dsns(1, Duration::from_secs(30));
    save(&dsns, "postfix-verp");
    let bytes = &dsns[0].1;
    let verp_ctx = Context {
        verp: Some(&key),
        ..ctx()
    };
    let report = parse(bytes, &verp_ctx);
    let Report::Bounce(b) = &report else {
        panic!("not a bounce: {report:?}");
    };
    assert!(b.tag.is_some(), "the DSN came back to the tagged address");
    let events = paperwire::bounce::resolve(&report, &roster(&["2026-11-07"]), Utc::now()).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].address, "gone@example.org");
    assert_eq!(events[0].edition.as_ref(), Some(&edition));

    // The same DSN with the tag of another subscriber pasted in (last character changed so
    // it is not simply the tag of someone else): forged, skipped.
    let tag = sender.user().rsplit_once('+').unwrap().1.to_owned();
    let mut forged_tag = tag.clone();
    let last = forged_tag.pop().unwrap();
    forged_tag.push(if last == '0' { '1' } else { '0' });
    let forged = String::from_utf8_lossy(bytes).replace(&tag, &forged_tag);
    match parse(forged.as_bytes(), &verp_ctx) {
        Report::Skipped(Skip::ForgedTag { address, .. }) => {
            assert!(address.contains(&forged_tag), "{address}")
        }
        other => panic!("a forged tag must be skipped: {other:?}"),
    }
    // Without any tag, VERP mode does not trust the body.
    let untagged = String::from_utf8_lossy(bytes).replace(&format!("+{tag}"), "");
    assert_eq!(
        parse(untagged.as_bytes(), &verp_ctx),
        Report::Skipped(Skip::MissingTag)
    );
}
