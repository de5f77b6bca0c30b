//! Bounces and complaints per edition, for `paperwire status`: how many addresses each
//! edition's messages bounced from (hard or soft) or drew a complaint from. Counted from the
//! events, an address once per edition and kind (an address that bounced both ways in one
//! edition counts as hard); events that name no edition (a report that quotes no paperwire
//! Message-ID and carries no VERP tag) are counted apart. Pure.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::resolve::EventKind;
use super::score::Ledger;
use crate::edition::EditionId;

/// One edition's bounces and complaints, in addresses.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EditionTally {
    /// Addresses with a permanent failure (5.x.x, or a 5xx at send time).
    pub hard: usize,
    /// Addresses whose reporting server gave up on a temporary failure (4.x.x), and no hard one.
    pub soft: usize,
    /// Addresses whose reader called the message abuse.
    pub complaints: usize,
}

impl EditionTally {
    pub fn bounces(&self) -> usize {
        self.hard + self.soft
    }
}

/// Every edition's tally, and the tally of events that name no edition.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub editions: BTreeMap<EditionId, EditionTally>,
    pub unattributed: EditionTally,
}

impl Tally {
    /// The tally of `edition` (zero when nothing came back about it).
    pub fn of(&self, edition: &EditionId) -> EditionTally {
        self.editions.get(edition).copied().unwrap_or_default()
    }
}

/// Counts the ledger's events by edition. Resets count nothing: what came back about an
/// edition stays a fact about it.
pub fn by_edition(ledger: &Ledger) -> Tally {
    let mut tally = Tally::default();
    for address in ledger.addresses() {
        // What this address did per edition: (worst bounce, complained).
        let mut seen: HashMap<Option<&EditionId>, (Option<EventKind>, bool)> = HashMap::new();
        for e in ledger.events(address) {
            let entry = seen.entry(e.edition.as_ref()).or_default();
            match e.kind {
                EventKind::Hard => entry.0 = Some(EventKind::Hard),
                EventKind::Soft if entry.0.is_none() => entry.0 = Some(EventKind::Soft),
                EventKind::Soft | EventKind::Reset => {}
                EventKind::Complaint => entry.1 = true,
            }
        }
        for (edition, (bounce, complained)) in seen {
            let t = match edition {
                Some(e) => tally.editions.entry(e.clone()).or_default(),
                None => &mut tally.unattributed,
            };
            match bounce {
                Some(EventKind::Hard) => t.hard += 1,
                Some(_) => t.soft += 1,
                None => {}
            }
            t.complaints += usize::from(complained);
        }
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounce::report::ReportId;
    use crate::bounce::resolve::Event;

    fn event(address: &str, edition: Option<&str>, kind: EventKind, report: &str) -> Event {
        Event {
            at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            address: address.into(),
            kind,
            edition: edition.map(|e| EditionId::parse(e).unwrap()),
            report: ReportId::new(report.into()),
            status: None,
            detail: None,
        }
    }

    #[test]
    fn addresses_count_once_per_edition_and_kind() {
        let mut ledger = Ledger::default();
        for e in [
            event("a@x.org", Some("2026-11-01"), EventKind::Soft, "1"),
            event("a@x.org", Some("2026-11-01"), EventKind::Hard, "2"),
            event("a@x.org", Some("2026-11-01"), EventKind::Hard, "3"),
            event("b@x.org", Some("2026-11-01"), EventKind::Soft, "4"),
            event("b@x.org", Some("2026-11-01"), EventKind::Soft, "5"),
            event("c@x.org", Some("2026-11-01"), EventKind::Complaint, "6"),
            event("c@x.org", Some("2026-11-02"), EventKind::Hard, "7"),
            event("c@x.org", None, EventKind::Reset, "8"),
            event("d@x.org", None, EventKind::Hard, "9"),
        ] {
            ledger.insert(e);
        }
        let tally = by_edition(&ledger);
        let first = EditionId::parse("2026-11-01").unwrap();
        let second = EditionId::parse("2026-11-02").unwrap();
        assert_eq!(
            tally.of(&first),
            EditionTally {
                hard: 1,
                soft: 1,
                complaints: 1
            }
        );
        assert_eq!(tally.of(&first).bounces(), 2);
        assert_eq!(tally.of(&second).hard, 1);
        assert_eq!(
            tally.of(&EditionId::parse("2026-11-03").unwrap()),
            EditionTally::default()
        );
        assert_eq!(tally.unattributed.hard, 1);
        assert_eq!(tally.editions.len(), 2);
    }
}
