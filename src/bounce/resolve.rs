//! From a report to events about subscribers, with what the list knows ([`Directory`]).
//!
//! Who a report is about, most trusted first:
//! 1. the VERP tag (signed): the subscriber whose address hash it carries, the one event;
//! 2. paperwire's own Message-ID in the quoted original: the subscriber whose address hash it
//!    carries — each message goes to one address, so one report makes at most one event, even
//!    when the failed recipient is a forwarding address, a file path or `redacted`;
//! 3. otherwise each failed recipient's `Original-Recipient`, then `Final-Recipient` (or a
//!    complaint's `Original-Rcpt-To` / quoted `To`) that is on the list.
//!
//! An event's time is the report's own (clamped to now, so a report dated in the future cannot
//! outlive the window), else the time of import.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ident::{AddressHash, edition_hash};
use super::report::{Original, Report, ReportId, Severity, Skip};
use super::verp::VerpTag;
use crate::edition::EditionId;
use crate::subscribers::SubscriberEmail;

/// What the list knows, for mapping reports to subscribers.
pub trait Directory {
    /// The subscriber with this address (any case).
    fn by_address(&self, address: &str) -> Option<SubscriberEmail>;
    /// The subscriber whose address hash starts with `prefix`.
    fn by_hash(&self, prefix: &[u8; 8]) -> Option<SubscriberEmail>;
    /// The edition whose id hashes to `hash` (for VERP tags).
    fn edition(&self, hash: &[u8; 4]) -> Option<EditionId>;
}

/// A [`Directory`] built from the list's addresses and the editions in `state.dir`.
#[derive(Debug, Default)]
pub struct Roster {
    by_key: HashMap<String, SubscriberEmail>,
    by_hash: HashMap<[u8; 8], SubscriberEmail>,
    editions: HashMap<[u8; 4], EditionId>,
}

impl Roster {
    pub fn new(
        list_id: &str,
        addresses: impl IntoIterator<Item = SubscriberEmail>,
        editions: impl IntoIterator<Item = EditionId>,
    ) -> Self {
        let mut roster = Self::default();
        for email in addresses {
            let key = email.key();
            roster
                .by_hash
                .insert(AddressHash::of(list_id, &key).prefix(), email.clone());
            roster.by_key.insert(key, email);
        }
        for edition in editions {
            roster.editions.insert(edition_hash(&edition), edition);
        }
        roster
    }
}

impl Directory for Roster {
    fn by_address(&self, address: &str) -> Option<SubscriberEmail> {
        self.by_key.get(&address.trim().to_lowercase()).cloned()
    }
    fn by_hash(&self, prefix: &[u8; 8]) -> Option<SubscriberEmail> {
        self.by_hash.get(prefix).cloned()
    }
    fn edition(&self, hash: &[u8; 4]) -> Option<EditionId> {
        self.editions.get(hash).cloned()
    }
}

/// What happened to an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A permanent failure (5.x.x), from a DSN or a 5xx at send time.
    Hard,
    /// A temporary failure the reporting server gave up on (4.x.x).
    Soft,
    /// The recipient called the message abuse.
    Complaint,
    /// A person checked the address and brought it back: earlier events no longer count.
    Reset,
}

impl From<Severity> for EventKind {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Hard => Self::Hard,
            Severity::Soft => Self::Soft,
        }
    }
}

/// One thing that happened to one address; a line of `state.dir/bounces.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    /// The lowercased address.
    pub address: String,
    pub kind: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edition: Option<EditionId>,
    /// The report it came from (the dedup key together with the address).
    pub report: ReportId,
    /// The status code (`5.1.1`) or feedback type (`abuse`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// What the remote server said, clipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The events a report makes, or why it makes none.
pub fn resolve(
    report: &Report,
    dir: &impl Directory,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, Skip> {
    match report {
        Report::Skipped(skip) => Err(skip.clone()),
        Report::Bounce(b) => {
            let at = b.at.map_or(now, |at| at.min(now));
            let edition = edition_of(b.tag.as_ref(), &b.original, dir);
            let mut targets: Vec<(SubscriberEmail, usize)> = Vec::new();
            if let Some(one) = trusted_target(b.tag.as_ref(), &b.original, dir)? {
                // The recipient that names the subscriber, if one does, else the worst.
                let worst = (0..b.recipients.len())
                    .max_by_key(|&i| b.recipients[i].severity())
                    .unwrap_or(0);
                let i = b
                    .recipients
                    .iter()
                    .position(|r| named(&one, [&r.original_recipient, &r.final_recipient]))
                    .unwrap_or(worst);
                targets.push((one, i));
            } else {
                for (i, r) in b.recipients.iter().enumerate() {
                    let found = [&r.original_recipient, &r.final_recipient]
                        .into_iter()
                        .flatten()
                        .find_map(|a| dir.by_address(a));
                    if let Some(email) = found
                        && !targets.iter().any(|(e, _)| e == &email)
                    {
                        targets.push((email, i));
                    }
                }
            }
            if targets.is_empty() {
                return Err(unresolved(
                    b.recipients
                        .iter()
                        .filter_map(|r| r.final_recipient.as_deref()),
                ));
            }
            Ok(targets
                .into_iter()
                .map(|(email, i)| {
                    let r = &b.recipients[i];
                    Event {
                        at,
                        address: email.key(),
                        kind: r.severity().into(),
                        edition: edition.clone(),
                        report: b.id.clone(),
                        status: Some(r.status.to_string()),
                        detail: r.diagnostic.clone(),
                    }
                })
                .collect())
        }
        Report::Complaint(c) => {
            let at = c.at.map_or(now, |at| at.min(now));
            let edition = edition_of(c.tag.as_ref(), &c.original, dir);
            let targets: Vec<SubscriberEmail> =
                match trusted_target(c.tag.as_ref(), &c.original, dir)? {
                    Some(one) => vec![one],
                    None => {
                        let mut found: Vec<SubscriberEmail> = Vec::new();
                        for email in c.recipients.iter().filter_map(|a| dir.by_address(a)) {
                            if !found.contains(&email) {
                                found.push(email);
                            }
                        }
                        found
                    }
                };
            if targets.is_empty() {
                return Err(unresolved(c.recipients.iter().map(String::as_str)));
            }
            Ok(targets
                .into_iter()
                .map(|email| Event {
                    at,
                    address: email.key(),
                    kind: EventKind::Complaint,
                    edition: edition.clone(),
                    report: c.id.clone(),
                    status: Some(c.feedback_type.clone()),
                    detail: None,
                })
                .collect())
        }
    }
}

/// The subscriber a tag or our own Message-ID names; an error when it names one that is not
/// on the list (removed since), `None` when the report carries neither.
fn trusted_target(
    tag: Option<&VerpTag>,
    original: &Original,
    dir: &impl Directory,
) -> Result<Option<SubscriberEmail>, Skip> {
    if let Some(tag) = tag {
        return dir.by_hash(&tag.address).map(Some).ok_or_else(|| {
            Skip::Unresolved("its VERP tag names no subscriber on the list".to_owned())
        });
    }
    if let Some(ours) = &original.ours {
        return dir
            .by_hash(&ours.address.prefix())
            .map(Some)
            .ok_or_else(|| {
                Skip::Unresolved(format!(
                    "its Message-ID <{}> names no subscriber on the list",
                    original.message_id.as_deref().unwrap_or_default()
                ))
            });
    }
    Ok(None)
}

fn edition_of(
    tag: Option<&VerpTag>,
    original: &Original,
    dir: &impl Directory,
) -> Option<EditionId> {
    tag.and_then(|t| dir.edition(&t.edition))
        .or_else(|| original.ours.as_ref().map(|o| o.edition.clone()))
}

fn named<const N: usize>(email: &SubscriberEmail, addresses: [&Option<String>; N]) -> bool {
    addresses
        .into_iter()
        .flatten()
        .any(|a| a.eq_ignore_ascii_case(email.as_str()))
}

fn unresolved<'a>(addresses: impl Iterator<Item = &'a str>) -> Skip {
    let mut list: Vec<&str> = addresses.take(5).collect();
    list.dedup();
    if list.is_empty() {
        Skip::Unresolved("names no recipient address and no paperwire message".to_owned())
    } else {
        Skip::Unresolved(format!(
            "names no address on the list ({})",
            list.join(", ")
        ))
    }
}
