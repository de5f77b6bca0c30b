//! The bounce module against real reports (`tests/fixtures/bounces/`, origins in its README):
//! DSNs made by the private Postfix instance, DSNs and ARF reports of other MTAs and providers,
//! and hostile messages; then resolution, deduplication and import end to end in memory.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::import::{Outcome, import, reset, send_failure};
use super::read::{Input, Item, Limits, messages};
use super::store::MemoryStore;
use super::verp::VerpKey;
use super::*;
use crate::edition::EditionId;
use crate::subscribers::SubscriberEmail;

/// The Postfix fixtures were made by the integration tests' config: this list id, a From at
/// example.org, VERP on bounces@bounce.test with this secret.
const LIST_ID: &str = "test.example.org";
const SECRET: &[u8] = b"bounce-test-secret";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bounces")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn ctx() -> Context<'static> {
    Context {
        from_domain: "example.org",
        verp: None,
        envelope_recipient: None,
    }
}

fn verp_key(secret: &[u8]) -> VerpKey {
    VerpKey::new(secret, LIST_ID, &"bounces@bounce.test".parse().unwrap()).unwrap()
}

fn roster() -> Roster {
    Roster::new(
        LIST_ID,
        [
            "ada@example.org",
            "gone@example.org",
            "full@example.org",
            "grace@example.org",
        ]
        .map(|e| SubscriberEmail::parse(e).unwrap()),
        ["2026-11-01", "2026-11-07"].map(|e| EditionId::parse(e).unwrap()),
    )
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
        .unwrap()
        .to_utc()
}

/// One line per report, for the snapshot.
fn describe(report: &Report) -> String {
    let ours = |o: &Original| {
        o.ours
            .as_ref()
            .map(|o| format!(" edition={}", o.edition.as_str()))
            .unwrap_or_default()
    };
    match report {
        Report::Bounce(b) => {
            let rcpts: Vec<String> = b
                .recipients
                .iter()
                .map(|r| {
                    format!(
                        "{} {}",
                        r.final_recipient.as_deref().unwrap_or("?"),
                        r.status
                    )
                })
                .collect();
            format!(
                "bounce {:?}: {}{}",
                b.severity(),
                rcpts.join(", "),
                ours(&b.original)
            )
        }
        Report::Complaint(c) => format!(
            "complaint {}: [{}]{}",
            c.feedback_type,
            c.recipients.join(", "),
            ours(&c.original)
        ),
        Report::Skipped(s) => format!("skip: {s}"),
    }
}

#[test]
fn every_fixture_reads_as_expected() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md" && !n.ends_with(".mbox"))
        .collect();
    names.sort();
    let lines: Vec<String> = names
        .iter()
        .map(|n| format!("{n}: {}", describe(&parse(&fixture(n), &ctx()))))
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn an_mbox_of_real_bounces_reads_message_by_message() {
    let input = Input::Path(fixtures().join("sisimai.mbox"));
    let mut lines = Vec::new();
    for item in messages(&input, Limits::default()).unwrap() {
        let Item::Message { origin, bytes } = item else {
            panic!("{item:?}");
        };
        let line = origin.rsplit('/').next().unwrap().to_owned();
        lines.push(format!("{line}: {}", describe(&parse(&bytes, &ctx()))));
    }
    assert_eq!(lines.len(), 37);
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn postfix_dsns_resolve_to_the_subscriber_and_edition() {
    for (name, address, kind, status) in [
        (
            "postfix-hard-5.1.1.eml",
            "gone@example.org",
            EventKind::Hard,
            "5.1.1",
        ),
        (
            "postfix-soft-4.7.1.eml",
            "full@example.org",
            EventKind::Soft,
            "4.7.1",
        ),
    ] {
        let report = parse(&fixture(name), &ctx());
        let events = resolve(&report, &roster(), now()).unwrap();
        assert_eq!(events.len(), 1, "{name}");
        let e = &events[0];
        assert_eq!((e.address.as_str(), e.kind), (address, kind), "{name}");
        assert_eq!(e.status.as_deref(), Some(status));
        assert_eq!(
            e.edition.as_ref().map(EditionId::as_str),
            Some("2026-11-01")
        );
        assert!(e.at < now(), "the DSN's own Arrival-Date");
        // The report is about a message to this subscriber: the Message-ID says so, even
        // when the list does not have the Final-Recipient (forwarded, say).
        let mut forwarded = String::from_utf8(fixture(name)).unwrap();
        forwarded = forwarded.replace(address, "somewhere@forward.example");
        let events = resolve(&parse(forwarded.as_bytes(), &ctx()), &roster(), now()).unwrap();
        assert_eq!(events[0].address, address);
    }
}

#[test]
fn verp_dsns_verify_with_the_secret_and_forged_tags_are_skipped() {
    let key = verp_key(SECRET);
    let verp = Context {
        verp: Some(&key),
        ..ctx()
    };
    let report = parse(&fixture("postfix-verp-5.1.1.eml"), &verp);
    let events = resolve(&report, &roster(), now()).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].address, "gone@example.org");
    assert_eq!(
        events[0].edition.as_ref().map(EditionId::as_str),
        Some("2026-11-07")
    );
    for (name, key) in [
        ("hostile-forged-verp.eml", verp_key(SECRET)),
        ("postfix-verp-5.1.1.eml", verp_key(b"another secret")),
    ] {
        let verp = Context {
            verp: Some(&key),
            ..ctx()
        };
        let report = parse(&fixture(name), &verp);
        assert!(
            matches!(&report, Report::Skipped(Skip::ForgedTag { .. })),
            "{name}: {report:?}"
        );
        assert!(resolve(&report, &roster(), now()).is_err());
    }
    // VERP on: an untagged DSN is not trusted, however plausible its body.
    let report = parse(&fixture("postfix-hard-5.1.1.eml"), &verp);
    assert_eq!(report, Report::Skipped(Skip::MissingTag));
    // The tag in an MTA's RECIPIENT counts first.
    let tagged = key
        .sender(
            "grace@example.org",
            &EditionId::parse("2026-11-01").unwrap(),
        )
        .to_string();
    let from_pipe = Context {
        envelope_recipient: Some(&tagged),
        ..verp
    };
    let events = resolve(
        &parse(&fixture("postfix-hard-5.1.1.eml"), &from_pipe),
        &roster(),
        now(),
    )
    .unwrap();
    assert_eq!(events[0].address, "grace@example.org");
}

#[test]
fn a_complaint_with_a_redacted_recipient_resolves_through_our_message_id() {
    let ours = crate::bounce::ident::AddressHash::of(LIST_ID, "ada@example.org");
    let hex: String = ours.bytes().iter().map(|b| format!("{b:02x}")).collect();
    let arf = String::from_utf8(fixture("flanker-arf-yahoo.eml"))
        .unwrap()
        .replace(
            "20120711015015.4A8BE2E088E@www.example.com",
            &format!("2026-11-01.{hex}@example.org"),
        )
        .replace("user@yahoo.com", "redacted");
    let report = parse(arf.as_bytes(), &ctx());
    let events = resolve(&report, &roster(), now()).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].address, "ada@example.org");
    assert_eq!(events[0].kind, EventKind::Complaint);
    assert_eq!(events[0].status.as_deref(), Some("abuse"));
    // Without our Message-ID, a redacted complaint names no one.
    let report = parse(&fixture("flanker-arf-aol.eml"), &ctx());
    assert!(matches!(
        resolve(&report, &roster(), now()),
        Err(Skip::Unresolved(_))
    ));
}

/// A DSN listing every subscriber as failed: with paperwire's Message-ID it can only be about
/// that message's one recipient; without it, at most [`parse::MAX_RECIPIENTS`] are read.
#[test]
fn a_report_naming_many_recipients_cannot_knock_out_the_list() {
    let mut groups = String::new();
    for i in 0..500 {
        groups.push_str(&format!(
            "Final-Recipient: rfc822; user{i}@example.org\nAction: failed\nStatus: 5.1.1\n\n"
        ));
    }
    groups.push_str("Final-Recipient: rfc822; ada@example.org\nAction: failed\nStatus: 5.1.1\n\n");
    let dsn = |message_id: &str| {
        format!(
            "From: MAILER-DAEMON@mta.example.net\nTo: bounces@bounce.test\nMessage-ID: <flood@mta.example.net>\n\
             MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n\
             --b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\n{groups}\
             --b\nContent-Type: text/rfc822-headers\n\nMessage-ID: {message_id}\nTo: x@example.org\n\n--b--\n"
        )
    };
    let gone = crate::bounce::ident::AddressHash::of(LIST_ID, "gone@example.org");
    let hex: String = gone.bytes().iter().map(|b| format!("{b:02x}")).collect();
    let ours = dsn(&format!("<2026-11-01.{hex}@example.org>"));
    let Report::Bounce(b) = parse(ours.as_bytes(), &ctx()) else {
        panic!("a bounce");
    };
    assert_eq!(b.recipients.len(), parse::MAX_RECIPIENTS);
    let events = resolve(&Report::Bounce(b), &roster(), now()).unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| e.address.as_str())
            .collect::<Vec<_>>(),
        ["gone@example.org"]
    );
    // Not ours, and ada is past the cap: nobody on the list is named.
    let foreign = dsn("<elsewhere@example.net>");
    assert!(resolve(&parse(foreign.as_bytes(), &ctx()), &roster(), now()).is_err());
}

#[test]
fn the_report_id_survives_copies_between_mailboxes() {
    // With a Message-ID: added delivery headers do not change it.
    let a = fixture("sendmail-5.1.1.eml");
    let b = fixture("sendmail-5.1.1-crlf.eml");
    let id = |raw: &[u8]| match parse(raw, &ctx()) {
        Report::Bounce(b) => b.id,
        other => panic!("{other:?}"),
    };
    assert_eq!(id(&a), id(&b));
    let mut relayed = b"Delivered-To: someone@else.example\r\nReceived: by x; today\r\n".to_vec();
    relayed.extend_from_slice(&b);
    assert_eq!(id(&relayed), id(&a));
    // Without one: the body decides, whatever the line ends.
    let bare = fixture("flanker-bare-delivery-status.eml");
    let crlf: Vec<u8> = String::from_utf8(bare.clone())
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes();
    assert_eq!(id(&bare), id(&crlf));
    let mut other = bare.clone();
    other.extend_from_slice(b"\nX: another report\n");
    assert_ne!(id(&bare), id(&other));
}

/// The acceptance for junk: garbage, truncated and hostile messages change nothing and each
/// is reported with a reason.
#[test]
fn hostile_messages_change_nothing_and_are_reported() {
    let key = verp_key(SECRET);
    let store = MemoryStore::default();
    let mut items: Vec<Item> = [
        "hostile-truncated.eml",
        "hostile-malformed-mime.eml",
        "hostile-not-a-bounce.eml",
        "hostile-bad-fields.eml",
        "hostile-garbage.bin",
        "hostile-forged-verp.eml",
        "flanker-broken-mime.eml",
        "google-boundary-mismatch.eml",
    ]
    .into_iter()
    .map(|n| Item::Message {
        origin: n.to_owned(),
        bytes: fixture(n),
    })
    .collect();
    // A huge message, as the reader reports it (see `read`'s tests for the reading).
    let huge = format!(
        "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n{}",
        "x".repeat(3 << 20)
    );
    items.extend(
        messages_of(
            huge.as_bytes(),
            Limits {
                max_message_bytes: 1 << 20,
            },
        )
        .into_iter()
        .map(|i| match i {
            Item::TooBig { size, limit, .. } => Item::TooBig {
                origin: "huge".into(),
                size,
                limit,
            },
            other => other,
        }),
    );
    let verp = Context {
        verp: Some(&key),
        ..ctx()
    };
    let mut lines = Vec::new();
    let summary = import(
        items,
        &verp,
        &roster(),
        &store,
        now(),
        |origin, outcome| match outcome {
            Outcome::Skipped(skip) => lines.push(format!("{origin}: {skip}")),
            other => panic!("{origin} must be skipped, not {other:?}"),
        },
    )
    .unwrap();
    assert!(store.load().unwrap().ledger.is_empty(), "nothing stored");
    assert_eq!((summary.skipped, summary.recorded), (9, 0));
    assert!(summary.touched().is_empty());
    insta::assert_snapshot!(lines.join("\n"));
}

fn messages_of(bytes: &[u8], limits: Limits) -> Vec<Item> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("message.eml");
    std::fs::write(&path, bytes).unwrap();
    messages(&Input::Path(path), limits).unwrap().collect()
}

#[test]
fn importing_the_fixtures_twice_counts_each_report_once() {
    let store = MemoryStore::default();
    let items = || {
        [
            "postfix-hard-5.1.1.eml",
            "postfix-soft-4.7.1.eml",
            "postfix-hard-5.1.1.eml",
        ]
        .map(|n| Item::Message {
            origin: n.to_owned(),
            bytes: fixture(n),
        })
    };
    let mut kinds = Vec::new();
    let first = import(items(), &ctx(), &roster(), &store, now(), |_, o| {
        kinds.push(o.clone())
    })
    .unwrap();
    assert!(matches!(kinds[0], Outcome::Recorded(_)));
    assert!(matches!(kinds[1], Outcome::Recorded(_)));
    assert_eq!(
        kinds[2],
        Outcome::Duplicate,
        "the same report within one import"
    );
    assert_eq!((first.recorded, first.duplicates), (2, 1));
    assert_eq!(first.touched(), ["gone@example.org", "full@example.org"]);
    let second = import(items(), &ctx(), &roster(), &store, now(), |_, _| {}).unwrap();
    assert_eq!((second.recorded, second.duplicates), (0, 3));
    assert_eq!(store.load().unwrap().ledger.len(), 2);
    // A send-time 5xx in the same edition is its own event, but the same day: still one.
    let mut ledger = second.ledger.clone();
    let edition = EditionId::parse("2026-11-01").unwrap();
    let sent = send_failure(
        "gone@example.org",
        &edition,
        "550 5.1.1 No such user",
        now(),
    );
    assert!(ledger.insert(sent.clone()));
    assert!(
        !ledger.insert(sent),
        "a rerun of the edition counts it once"
    );
    match ledger.verdict("gone@example.org", now(), &Policy::default()) {
        Verdict::Keep(score) => assert_eq!(score.points, 1.0),
        other => panic!("{other:?}"),
    }
}

#[test]
fn empty_input_is_not_a_message() {
    assert_eq!(parse(b"", &ctx()), Report::Skipped(Skip::NotAMessage));
}

#[test]
fn a_complaint_trusts_the_verp_tag_of_its_original_mail_from() {
    let key = verp_key(SECRET);
    let tagged = key
        .sender("ada@example.org", &EditionId::parse("2026-11-07").unwrap())
        .to_string();
    let arf = String::from_utf8(fixture("flanker-arf-yahoo.eml")).unwrap();
    assert!(
        arf.contains("Original-Mail-From:"),
        "the fixture names its sender"
    );
    let arf: String = arf
        .lines()
        .map(|l| {
            if l.starts_with("Original-Mail-From:") {
                format!("Original-Mail-From: <{tagged}>")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let verp = Context {
        verp: Some(&key),
        ..ctx()
    };
    let events = resolve(&parse(arf.as_bytes(), &verp), &roster(), now()).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].address.as_str(), events[0].kind),
        ("ada@example.org", EventKind::Complaint)
    );
    assert_eq!(
        events[0].edition.as_ref().map(EditionId::as_str),
        Some("2026-11-07")
    );
    // A person brings the address back: the complaint no longer decides.
    let mut ledger = Ledger::default();
    ledger.insert(events[0].clone());
    assert!(matches!(
        ledger.verdict("ada@example.org", now(), &Policy::default()),
        Verdict::Complained(_)
    ));
    ledger.insert(reset("ada@example.org", now()));
    assert!(matches!(
        ledger.verdict("ada@example.org", now(), &Policy::default()),
        Verdict::Keep(_)
    ));
}
