//! The scoring model, as Mailman does it: a hard bounce counts 1, a soft one ½, at most once a
//! day per address (the worse of the day's); scores older than the window expire; at the
//! threshold the address stops getting mail. A complaint stops it at once. A reset (a person
//! checked the address and brought it back) forgets everything before it.
//!
//! "A day" is the day of the edition the bounce is about, when known (so three editions
//! rejected in one afternoon of catching up still count three, and two editions on one date
//! count once), else the day the bounce happened. The window is measured on the time the
//! bounce happened. Pure: the caller says what "now" is.
//!
//! The [`Ledger`] also deduplicates: an event is identified by its report and address, so the
//! same report imported twice (or a line appended twice by two importers) counts once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use super::report::ReportId;
use super::resolve::{Event, EventKind};

/// `[bounce] threshold` and `window`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    pub threshold: f64,
    pub window: Duration,
}

impl From<&crate::config::BounceSettings> for Policy {
    fn from(s: &crate::config::BounceSettings) -> Self {
        Self {
            threshold: s.threshold,
            window: s.window,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            threshold: 3.0,
            window: Duration::from_secs(30 * 86_400),
        }
    }
}

/// An address's standing.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Hard days + ½ × soft days, within the window.
    pub points: f64,
    pub hard_days: usize,
    pub soft_days: usize,
    /// The newest counted event.
    pub last: Option<DateTime<Utc>>,
}

/// What should happen to an address.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Keep sending.
    Keep(Score),
    /// The score reached the threshold: set `bounced_at`.
    Bounced(Score),
    /// The recipient complained (at this time): unsubscribe.
    Complained(DateTime<Utc>),
}

/// Every known event, by address, without duplicates.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    by_address: HashMap<String, Vec<Event>>,
    seen: HashSet<(ReportId, String, EventKind)>,
}

impl Ledger {
    /// Adds an event; `false` (and nothing changes) when the same report already said the
    /// same about this address.
    pub fn insert(&mut self, event: Event) -> bool {
        let key = (event.report.clone(), event.address.clone(), event.kind);
        if !self.seen.insert(key) {
            return false;
        }
        self.by_address
            .entry(event.address.clone())
            .or_default()
            .push(event);
        true
    }

    /// Whether this report already said something of this kind about this address.
    pub fn contains(&self, event: &Event) -> bool {
        self.seen
            .contains(&(event.report.clone(), event.address.clone(), event.kind))
    }

    /// The events about `address` (lowercased), in insertion order.
    pub fn events(&self, address: &str) -> &[Event] {
        self.by_address.get(address).map_or(&[], Vec::as_slice)
    }

    pub fn addresses(&self) -> impl Iterator<Item = &str> {
        self.by_address.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// What should happen to `address` now.
    pub fn verdict(&self, address: &str, now: DateTime<Utc>, policy: &Policy) -> Verdict {
        verdict(self.events(address), now, policy)
    }
}

/// The verdict on one address's events (any order).
pub fn verdict(events: &[Event], now: DateTime<Utc>, policy: &Policy) -> Verdict {
    let reset = events
        .iter()
        .filter(|e| e.kind == EventKind::Reset && e.at <= now)
        .map(|e| e.at)
        .max();
    let live = |e: &&Event| e.at <= now && reset.is_none_or(|r| e.at > r);
    if let Some(at) = events
        .iter()
        .filter(live)
        .filter(|e| e.kind == EventKind::Complaint)
        .map(|e| e.at)
        .min()
    {
        return Verdict::Complained(at);
    }
    let window = chrono::Duration::from_std(policy.window).unwrap_or(chrono::Duration::MAX);
    let oldest = now
        .checked_sub_signed(window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    // The worse of each day: true = hard.
    let mut days: BTreeMap<NaiveDate, bool> = BTreeMap::new();
    let mut last = None;
    for e in events.iter().filter(live).filter(|e| e.at >= oldest) {
        let hard = match e.kind {
            EventKind::Hard => true,
            EventKind::Soft => false,
            EventKind::Complaint | EventKind::Reset => continue,
        };
        let day = e
            .edition
            .as_ref()
            .and_then(|ed| ed.date())
            .unwrap_or_else(|| e.at.date_naive());
        *days.entry(day).or_insert(hard) |= hard;
        last = last.max(Some(e.at));
    }
    let hard_days = days.values().filter(|&&h| h).count();
    let soft_days = days.len() - hard_days;
    let score = Score {
        points: hard_days as f64 + 0.5 * soft_days as f64,
        hard_days,
        soft_days,
        last,
    };
    if score.points >= policy.threshold {
        Verdict::Bounced(score)
    } else {
        Verdict::Keep(score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edition::EditionId;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn ev(when: &str, kind: EventKind, edition: Option<&str>, report: &str) -> Event {
        Event {
            at: at(when),
            address: "ada@example.org".into(),
            kind,
            edition: edition.map(|e| EditionId::parse(e).unwrap()),
            report: ReportId::new(report.into()),
            status: None,
            detail: None,
        }
    }

    fn points(events: &[Event], now: &str, policy: &Policy) -> (f64, bool) {
        match verdict(events, at(now), policy) {
            Verdict::Keep(s) => (s.points, false),
            Verdict::Bounced(s) => (s.points, true),
            Verdict::Complained(_) => panic!("no complaint here"),
        }
    }

    use EventKind::{Complaint, Hard, Reset, Soft};

    #[test]
    fn three_hard_bounces_on_three_days_reach_the_default_threshold() {
        let p = Policy::default();
        let e = [
            ev("2026-11-01T08:00:00Z", Hard, None, "a"),
            ev("2026-11-02T08:00:00Z", Hard, None, "b"),
        ];
        assert_eq!(points(&e, "2026-11-03T00:00:00Z", &p), (2.0, false));
        let mut e = e.to_vec();
        e.push(ev("2026-11-03T08:00:00Z", Hard, None, "c"));
        assert_eq!(points(&e, "2026-11-03T09:00:00Z", &p), (3.0, true));
    }

    #[test]
    fn a_day_counts_once_and_the_worse_of_it() {
        let p = Policy::default();
        let e = [
            ev("2026-11-01T08:00:00Z", Soft, None, "a"),
            ev("2026-11-01T09:00:00Z", Hard, None, "b"),
            ev("2026-11-01T10:00:00Z", Soft, None, "c"),
            ev("2026-11-02T10:00:00Z", Soft, None, "d"),
            ev("2026-11-02T11:00:00Z", Soft, None, "e"),
        ];
        assert_eq!(points(&e, "2026-11-03T00:00:00Z", &p), (1.5, false));
    }

    #[test]
    fn the_edition_date_is_the_day_when_known() {
        let p = Policy::default();
        // Three editions caught up in one afternoon: three days.
        let e = [
            ev("2026-11-05T14:00:00Z", Hard, Some("2026-11-01"), "a"),
            ev("2026-11-05T14:01:00Z", Hard, Some("2026-11-02"), "b"),
            ev("2026-11-05T14:02:00Z", Hard, Some("2026-11-03"), "c"),
        ];
        assert_eq!(points(&e, "2026-11-05T15:00:00Z", &p), (3.0, true));
        // Two editions of one date (morning and evening runs): one day.
        let e = [
            ev("2026-11-05T08:00:00Z", Hard, Some("2026-11-05T0700"), "a"),
            ev("2026-11-05T20:00:00Z", Hard, Some("2026-11-05T1900"), "b"),
        ];
        assert_eq!(points(&e, "2026-11-06T00:00:00Z", &p), (1.0, false));
        // An id that is not a date falls back to the event's day.
        let e = [
            ev("2026-11-05T08:00:00Z", Hard, Some("special"), "a"),
            ev("2026-11-06T08:00:00Z", Hard, Some("special"), "b"),
        ];
        assert_eq!(points(&e, "2026-11-07T00:00:00Z", &p), (2.0, false));
    }

    #[test]
    fn scores_older_than_the_window_expire() {
        let p = Policy {
            threshold: 2.0,
            window: Duration::from_secs(7 * 86_400),
        };
        let e = [
            ev("2026-11-01T08:00:00Z", Hard, None, "a"),
            ev("2026-11-07T08:00:00Z", Hard, None, "b"),
        ];
        assert_eq!(points(&e, "2026-11-08T07:59:59Z", &p), (2.0, true));
        assert_eq!(points(&e, "2026-11-08T08:00:01Z", &p), (1.0, false));
        // Events from the future (clock skew) do not count yet.
        assert_eq!(points(&e, "2026-11-06T00:00:00Z", &p), (1.0, false));
    }

    #[test]
    fn fractional_thresholds_take_soft_bounces() {
        let p = Policy {
            threshold: 1.5,
            window: Duration::from_secs(30 * 86_400),
        };
        let e = [
            ev("2026-11-01T08:00:00Z", Soft, None, "a"),
            ev("2026-11-02T08:00:00Z", Soft, None, "b"),
            ev("2026-11-03T08:00:00Z", Soft, None, "c"),
        ];
        assert_eq!(points(&e, "2026-11-04T00:00:00Z", &p), (1.5, true));
    }

    #[test]
    fn a_complaint_wins_at_once_and_a_reset_forgets() {
        let p = Policy::default();
        let mut e = vec![
            ev("2026-11-01T08:00:00Z", Hard, None, "a"),
            ev("2026-11-02T08:00:00Z", Complaint, None, "b"),
        ];
        assert_eq!(
            verdict(&e, at("2026-11-03T00:00:00Z"), &p),
            Verdict::Complained(at("2026-11-02T08:00:00Z"))
        );
        e.push(ev("2026-11-04T08:00:00Z", Reset, None, "reset"));
        assert_eq!(points(&e, "2026-11-05T00:00:00Z", &p), (0.0, false));
        e.push(ev("2026-11-06T08:00:00Z", Hard, None, "c"));
        assert_eq!(points(&e, "2026-11-07T00:00:00Z", &p), (1.0, false));
    }

    #[test]
    fn the_ledger_counts_a_report_once() {
        let mut ledger = Ledger::default();
        let e = ev("2026-11-01T08:00:00Z", Hard, None, "same");
        assert!(ledger.insert(e.clone()));
        assert!(!ledger.insert(e.clone()));
        // The same report, imported later (another time stamp), is the same event.
        let mut later = e.clone();
        later.at = at("2026-11-02T08:00:00Z");
        assert!(!ledger.insert(later));
        assert!(ledger.insert(ev("2026-11-02T08:00:00Z", Hard, None, "other")));
        assert_eq!(ledger.len(), 2);
        assert_eq!(ledger.events("ada@example.org").len(), 2);
        assert!(ledger.events("bob@example.org").is_empty());
        assert_eq!(
            ledger.verdict(
                "ada@example.org",
                at("2026-11-03T00:00:00Z"),
                &Policy::default()
            ),
            verdict(
                ledger.events("ada@example.org"),
                at("2026-11-03T00:00:00Z"),
                &Policy::default()
            )
        );
    }
}
