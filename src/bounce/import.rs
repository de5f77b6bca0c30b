//! One import: messages in, events stored, verdicts out — the core of `bounces import`, with
//! the list behind [`Directory`] and the events behind [`EventStore`], so it runs the same on
//! files, in tests and on an MTA's pipe.
//!
//! Every message ends as exactly one line of the [`Summary`]: new events, a duplicate of a
//! report already imported, or a skip with its reason. Nothing here fails the batch but the
//! store: a message that cannot be read or used is a skip.

use chrono::{DateTime, Utc};

use super::parse::{Context, parse};
use super::read::Item;
use super::report::{Report, Skip};
use super::resolve::{Directory, Event, EventKind, resolve};
use super::score::{Ledger, Policy, Verdict};
use super::store::EventStore;

/// What became of one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// New events (a bounce or complaint about subscribers on the list).
    Recorded(Vec<Event>),
    /// A report imported before: nothing new.
    Duplicate,
    Skipped(Skip),
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Summary {
    /// (origin, outcome) per message, in reading order.
    pub messages: Vec<(String, Outcome)>,
    /// Every event: the stored ones and the new ones.
    pub ledger: Ledger,
    /// Unreadable lines in the store, skipped.
    pub torn_lines: usize,
}

impl Summary {
    pub fn new_events(&self) -> impl Iterator<Item = &Event> {
        self.messages.iter().flat_map(|(_, o)| match o {
            Outcome::Recorded(events) => events.as_slice(),
            _ => &[],
        })
    }

    pub fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.messages.iter().filter(|(_, o)| f(o)).count()
    }

    /// The verdict on each address a new event is about, in first-seen order.
    pub fn verdicts(&self, now: DateTime<Utc>, policy: &Policy) -> Vec<(String, Verdict)> {
        let mut seen: Vec<&str> = Vec::new();
        for e in self.new_events() {
            if !seen.contains(&e.address.as_str()) {
                seen.push(&e.address);
            }
        }
        seen.into_iter()
            .map(|a| (a.to_owned(), self.ledger.verdict(a, now, policy)))
            .collect()
    }
}

/// Reads `items`, records what is new in `store`, and says what became of each message.
pub fn import(
    items: impl IntoIterator<Item = Item>,
    ctx: &Context<'_>,
    dir: &impl Directory,
    store: &impl EventStore,
    now: DateTime<Utc>,
) -> std::io::Result<Summary> {
    let loaded = store.load()?;
    let mut summary = Summary {
        ledger: loaded.ledger,
        torn_lines: loaded.torn_lines,
        ..Summary::default()
    };
    for item in items {
        let (origin, report) = match item {
            Item::Message { origin, bytes } => (origin, parse(&bytes, ctx)),
            Item::TooBig {
                origin,
                size,
                limit,
            } => (origin, Report::Skipped(Skip::TooBig { size, limit })),
            Item::Unreadable { origin, error } => {
                (origin, Report::Skipped(Skip::Unreadable(error.to_string())))
            }
        };
        let outcome = match resolve(&report, dir, now) {
            Err(skip) => Outcome::Skipped(skip),
            Ok(events) => {
                let fresh: Vec<Event> = events
                    .into_iter()
                    .filter(|e| summary.ledger.insert(e.clone()))
                    .collect();
                if fresh.is_empty() {
                    Outcome::Duplicate
                } else {
                    store.append(&fresh)?;
                    Outcome::Recorded(fresh)
                }
            }
        };
        summary.messages.push((origin, outcome));
    }
    Ok(summary)
}

/// The event that makes a synchronous 5xx at send time count as a hard bounce: one per
/// (edition, address), so a rerun of the edition does not count it again.
pub fn send_failure(
    address_key: &str,
    edition: &crate::edition::EditionId,
    detail: &str,
    at: DateTime<Utc>,
) -> Event {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::digest(format!("send\n{}\n{address_key}", edition.as_str()).as_bytes());
    Event {
        at,
        address: address_key.to_owned(),
        kind: EventKind::Hard,
        edition: Some(edition.clone()),
        report: super::ReportId::new(digest[..16].iter().map(|b| format!("{b:02x}")).collect()),
        status: None,
        detail: Some(detail.chars().take(300).collect()),
    }
}
