//! What a verdict does to the list: the change that stops mail to an address whose bounces
//! reached the threshold (`bounced_at`) or whose reader complained (`unsubscribed_at`). Pure:
//! the caller appends the changes to the list's change log, since this module never touches
//! the list.
//!
//! Only what happened since the subscriber (re)joined counts: events before their `since`
//! date, or before a reset (a person checked the address), are history — so someone who
//! complained, left, and later signed up again is not unsubscribed again by the old report.
//! And a verdict only changes an entry that still gets mail: a bounced address is not bounced
//! again, one that unsubscribed is neither bounced nor unsubscribed again.
//!
//! Every address with events is judged on every import and send, not only those a new event
//! is about: an import or send that died after storing its events but before changing the
//! list is made good by the next one.

use std::fmt;

use chrono::{DateTime, Utc};

use super::resolve::Event;
use super::score::{Ledger, Policy, Verdict, verdict};
use crate::subscribers::{Change, ChangeKind, Subscriber, SubscriberEmail};

/// An address that stops getting mail, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Retirement {
    pub email: SubscriberEmail,
    /// [`Verdict::Bounced`] or [`Verdict::Complained`].
    pub verdict: Verdict,
}

impl Retirement {
    /// The change that records it, at `now` (the import or send that found it): `bounced_at`,
    /// or `unsubscribed_at` for a complaint. Not the report's own date, which may be old (a
    /// late report) or anything (a forged one): only a confirmation asked for after the
    /// unsubscribe brings a reader back, so `unsubscribed_at` must not be earlier than the
    /// moment paperwire acted on it.
    pub fn change(&self, now: DateTime<Utc>) -> Change {
        match &self.verdict {
            Verdict::Complained(_) => Change::new(self.email.clone(), now, ChangeKind::Unsubscribe),
            Verdict::Bounced(_) | Verdict::Keep(_) => {
                Change::new(self.email.clone(), now, ChangeKind::Bounced)
            }
        }
    }
}

impl fmt::Display for Retirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.verdict {
            Verdict::Complained(at) => write!(
                f,
                "{}: complained ({}), unsubscribed",
                self.email,
                at.format("%Y-%m-%d %H:%M UTC")
            ),
            Verdict::Bounced(score) | Verdict::Keep(score) => {
                write!(
                    f,
                    "{}: bounced (score {}: {} day{} of hard bounces, {} of soft",
                    self.email,
                    score.points,
                    score.hard_days,
                    if score.hard_days == 1 { "" } else { "s" },
                    score.soft_days
                )?;
                if let Some(last) = score.last {
                    write!(f, "; last {}", last.format("%Y-%m-%d"))?;
                }
                f.write_str("), no more mail until `paperwire subscribers resume`")
            }
        }
    }
}

/// The verdict on a subscriber from what happened since they joined (their `since` date).
pub fn standing(
    ledger: &Ledger,
    subscriber: &Subscriber,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Verdict {
    let events = ledger.events(&subscriber.email.key());
    let since = subscriber
        .since
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc());
    match since {
        Some(since) if events.iter().any(|e| e.at < since) => {
            let recent: Vec<Event> = events.iter().filter(|e| e.at >= since).cloned().collect();
            verdict(&recent, now, policy)
        }
        _ => verdict(events, now, policy),
    }
}

/// The retirement a subscriber's standing calls for, if any.
pub fn retirement(
    ledger: &Ledger,
    subscriber: &Subscriber,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Option<Retirement> {
    if ledger.events(&subscriber.email.key()).is_empty() {
        return None;
    }
    let verdict = standing(ledger, subscriber, now, policy);
    let due = match &verdict {
        Verdict::Keep(_) => false,
        Verdict::Bounced(_) => {
            subscriber.bounced_at.is_none() && subscriber.unsubscribed_at.is_none()
        }
        Verdict::Complained(_) => subscriber.unsubscribed_at.is_none(),
    };
    due.then(|| Retirement {
        email: subscriber.email.clone(),
        verdict,
    })
}

/// The retirements the events call for among `subscribers`, in list order.
pub fn retirements<'a>(
    ledger: &Ledger,
    subscribers: impl IntoIterator<Item = &'a Subscriber>,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Vec<Retirement> {
    if ledger.is_empty() {
        return Vec::new();
    }
    subscribers
        .into_iter()
        .filter_map(|s| retirement(ledger, s, now, policy))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounce::report::ReportId;
    use crate::bounce::resolve::EventKind;
    use crate::edition::EditionId;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn subscriber(email: &str) -> Subscriber {
        Subscriber::new(SubscriberEmail::parse(email).unwrap())
    }

    fn event(address: &str, when: &str, kind: EventKind, report: &str) -> Event {
        Event {
            at: at(when),
            address: address.into(),
            kind,
            edition: Some(EditionId::parse(&when[..10]).unwrap()),
            report: ReportId::new(report.into()),
            status: None,
            detail: None,
        }
    }

    fn ledger(events: &[Event]) -> Ledger {
        let mut ledger = Ledger::default();
        for e in events {
            ledger.insert(e.clone());
        }
        ledger
    }

    const NOW: &str = "2026-11-10T00:00:00Z";

    #[test]
    fn three_hard_days_bounce_and_a_complaint_unsubscribes() {
        let ledger = ledger(&[
            event(
                "gone@example.org",
                "2026-11-01T08:00:00Z",
                EventKind::Hard,
                "a",
            ),
            event(
                "gone@example.org",
                "2026-11-02T08:00:00Z",
                EventKind::Hard,
                "b",
            ),
            event(
                "gone@example.org",
                "2026-11-03T08:00:00Z",
                EventKind::Hard,
                "c",
            ),
            event(
                "angry@example.org",
                "2026-11-04T08:00:00Z",
                EventKind::Complaint,
                "d",
            ),
            event(
                "full@example.org",
                "2026-11-04T08:00:00Z",
                EventKind::Soft,
                "e",
            ),
        ]);
        let list = [
            subscriber("ada@example.org"),
            subscriber("Gone@Example.org"),
            subscriber("angry@example.org"),
            subscriber("full@example.org"),
        ];
        let got = retirements(&ledger, &list, at(NOW), &Policy::default());
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].email.as_str(), "Gone@Example.org");
        assert!(matches!(got[0].verdict, Verdict::Bounced(_)));
        let change = got[0].change(at(NOW));
        assert_eq!((change.kind, change.at), (ChangeKind::Bounced, at(NOW)));
        assert_eq!(
            got[0].to_string(),
            "Gone@Example.org: bounced (score 3: 3 days of hard bounces, 0 of soft; last 2026-11-03), no more mail until `paperwire subscribers resume`"
        );
        let change = got[1].change(at(NOW));
        assert_eq!(
            (change.kind, change.at),
            (ChangeKind::Unsubscribe, at(NOW)),
            "unsubscribed when paperwire acted on it, not at the report's own date"
        );
        assert_eq!(
            got[1].to_string(),
            "angry@example.org: complained (2026-11-04 08:00 UTC), unsubscribed"
        );
    }

    #[test]
    fn nothing_changes_twice_and_history_before_since_is_forgotten() {
        let ledger = ledger(&[
            event(
                "gone@example.org",
                "2026-11-01T08:00:00Z",
                EventKind::Hard,
                "a",
            ),
            event(
                "gone@example.org",
                "2026-11-02T08:00:00Z",
                EventKind::Hard,
                "b",
            ),
            event(
                "gone@example.org",
                "2026-11-03T08:00:00Z",
                EventKind::Hard,
                "c",
            ),
            event(
                "gone@example.org",
                "2026-11-04T08:00:00Z",
                EventKind::Complaint,
                "d",
            ),
        ]);
        let policy = Policy::default();
        let mut s = subscriber("gone@example.org");
        // Complained: an address that unsubscribed already is left alone.
        assert!(retirement(&ledger, &s, at(NOW), &policy).is_some());
        s.unsubscribed_at = Some(at("2026-11-05T00:00:00Z"));
        assert_eq!(retirement(&ledger, &s, at(NOW), &policy), None);
        // Back on 2026-11-04 (say through a confirmed signup): only that day on counts.
        s.unsubscribed_at = None;
        s.since = chrono::NaiveDate::from_ymd_opt(2026, 11, 4);
        assert_eq!(
            retirement(&ledger, &s, at(NOW), &policy).map(|r| r.verdict),
            Some(Verdict::Complained(at("2026-11-04T08:00:00Z")))
        );
        s.since = chrono::NaiveDate::from_ymd_opt(2026, 11, 5);
        assert_eq!(retirement(&ledger, &s, at(NOW), &policy), None);
        // A bounced address is not bounced again.
        let bounced_only = ledger_without_complaints();
        let mut s = subscriber("gone@example.org");
        assert!(retirement(&bounced_only, &s, at(NOW), &policy).is_some());
        s.bounced_at = Some(at("2026-11-03T09:00:00Z"));
        assert_eq!(retirement(&bounced_only, &s, at(NOW), &policy), None);
    }

    fn ledger_without_complaints() -> Ledger {
        ledger(&[
            event(
                "gone@example.org",
                "2026-11-01T08:00:00Z",
                EventKind::Hard,
                "a",
            ),
            event(
                "gone@example.org",
                "2026-11-02T08:00:00Z",
                EventKind::Hard,
                "b",
            ),
            event(
                "gone@example.org",
                "2026-11-03T08:00:00Z",
                EventKind::Hard,
                "c",
            ),
        ])
    }
}
