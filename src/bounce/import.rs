//! One import: messages in, events stored, verdicts out — the core of `bounces import`, with
//! the list behind [`Directory`] and the events behind [`EventStore`], so it runs the same on
//! files, in tests and on an MTA's pipe.
//!
//! Every message ends as exactly one [`Outcome`], handed to the caller as it happens: new
//! events, a duplicate of a report already imported, or a skip with its reason; the
//! [`Summary`] counts them. Nothing here fails the batch but the store: a message that cannot
//! be read or used is a skip.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};

use super::parse::{Context, parse};
use super::read::Item;
use super::report::{Report, ReportId, Skip};
use super::resolve::{Directory, Event, EventKind, resolve};
use super::score::{Ledger, Policy, Verdict};
use super::store::EventStore;
use crate::edition::EditionId;

/// What became of one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// New events (a bounce or complaint about subscribers on the list).
    Recorded(Vec<Event>),
    /// A report imported before: nothing new.
    Duplicate,
    Skipped(Skip),
}

/// What an import did, in counts (each message's outcome goes to the caller as it happens).
#[derive(Debug, Default)]
pub struct Summary {
    pub recorded: usize,
    pub duplicates: usize,
    pub skipped: usize,
    /// Every event: the stored ones and the new ones.
    pub ledger: Ledger,
    /// Unreadable lines in the store, skipped.
    pub torn_lines: usize,
    /// The addresses new events are about, in first-seen order.
    touched: Vec<String>,
    touched_set: HashSet<String>,
}

impl Summary {
    /// The addresses new events are about, in first-seen order.
    pub fn touched(&self) -> &[String] {
        &self.touched
    }

    /// The verdict on each address a new event is about.
    pub fn verdicts(&self, now: DateTime<Utc>, policy: &Policy) -> Vec<(String, Verdict)> {
        self.touched
            .iter()
            .map(|a| (a.clone(), self.ledger.verdict(a, now, policy)))
            .collect()
    }

    fn touch(&mut self, address: &str) {
        if self.touched_set.insert(address.to_owned()) {
            self.touched.push(address.to_owned());
        }
    }
}

/// Events written to the store at once (one sync each time). Reports are read, never moved or
/// deleted, so what a crash loses before a write is found again by the next import.
const BATCH: usize = 1000;

/// Reads `items`, records what is new in `store`, and tells `each` what became of each message
/// (its origin and outcome) as it goes; memory stays that of one message and the ledger.
pub fn import(
    items: impl IntoIterator<Item = Item>,
    ctx: &Context<'_>,
    dir: &impl Directory,
    store: &impl EventStore,
    now: DateTime<Utc>,
    mut each: impl FnMut(&str, &Outcome),
) -> std::io::Result<Summary> {
    let loaded = store.load()?;
    let mut pending: Vec<Event> = Vec::new();
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
            Err(skip) => {
                summary.skipped += 1;
                Outcome::Skipped(skip)
            }
            Ok(events) => {
                let fresh: Vec<Event> = events
                    .into_iter()
                    .filter(|e| summary.ledger.insert(e.clone()))
                    .collect();
                if fresh.is_empty() {
                    summary.duplicates += 1;
                    Outcome::Duplicate
                } else {
                    summary.recorded += 1;
                    for e in &fresh {
                        summary.touch(&e.address);
                    }
                    pending.extend(fresh.iter().cloned());
                    Outcome::Recorded(fresh)
                }
            }
        };
        each(&origin, &outcome);
        if pending.len() >= BATCH {
            store.append(&std::mem::take(&mut pending))?;
        }
    }
    store.append(&pending)?;
    Ok(summary)
}

/// A [`ReportId`] for an event paperwire makes itself, from the parts that identify it.
fn own_id(parts: &str) -> ReportId {
    let digest = Sha256::digest(parts.as_bytes());
    ReportId::new(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
}

/// The event that makes a synchronous 5xx at send time count as a hard bounce: one per
/// (edition, address), so a rerun of the edition does not count it again.
pub fn send_failure(
    address_key: &str,
    edition: &EditionId,
    detail: &str,
    at: DateTime<Utc>,
) -> Event {
    Event {
        at,
        address: address_key.to_owned(),
        kind: EventKind::Hard,
        edition: Some(edition.clone()),
        report: own_id(&format!("send\n{}\n{address_key}", edition.as_str())),
        status: None,
        detail: Some(detail.chars().take(300).collect()),
    }
}

/// The event that forgets an address's earlier bounces and complaints: a person checked the
/// address and brought it back (`subscribers resume`, `add --resubscribe`).
pub fn reset(address_key: &str, at: DateTime<Utc>) -> Event {
    Event {
        at,
        address: address_key.to_owned(),
        kind: EventKind::Reset,
        edition: None,
        report: own_id(&format!("reset\n{address_key}\n{}", at.to_rfc3339())),
        status: None,
        detail: None,
    }
}
