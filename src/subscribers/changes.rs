//! The changes that reach the list through its change log, and what each one does to an entry.
//!
//! One-click unsubscribes, confirmed signups, preference changes and bounces must be durable
//! the moment they are answered, without waiting for a rewrite of the whole list. So they are
//! recorded as typed [`Change`]s (see [`super::log`]) and applied later, in a batch, by the
//! fold, while every reader applies the pending ones in memory. Both go through
//! `Change::effect`, so the file and the in-memory view can never disagree about what a change
//! means. The effects are pure: they look at an entry's `Status` and say which fields to set.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use super::parse::check_topic;
use super::{MailFormat, Subscriber, SubscriberEmail, Topics};

/// One change to one subscriber's entry, as it is recorded in the change log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// When it was asked for: becomes `unsubscribed_at`, `bounced_at` or `since`.
    pub at: chrono::DateTime<chrono::Utc>,
    pub email: SubscriberEmail,
    #[serde(flatten)]
    pub kind: ChangeKind,
}

/// What a [`Change`] does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ChangeKind {
    /// Sets `unsubscribed_at` (the first time wins). For an address not on the list it is kept
    /// as a suppression: no mail goes there, and `add`/`import` refuse it without
    /// `--resubscribe`.
    Unsubscribe,
    /// The person's own confirmed request to get mail: adds the entry, or brings back one that
    /// unsubscribed or bounced (clearing both, `since` = the change's date), and applies the
    /// profile. An active entry just gets the profile.
    Subscribe(Profile),
    /// Sets the profile's fields on an entry (a preference page); nothing for an unknown address.
    Update(Profile),
    /// `paused = true`.
    Pause,
    /// `paused = false`, and clears `bounced_at` (an operator checked the address).
    Resume,
    /// `paused = false` only: a reader un-pausing on the preference page. A bounce stays until
    /// an operator resumes the address (or the person subscribes again and confirms).
    Unpause,
    /// Sets `bounced_at` (the first time wins); for an unknown address, a suppression.
    Bounced,
}

/// The fields a subscriber chooses. `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// `Some("")` removes the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Section names; `Some(vec![])` means every section (removes the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<MailFormat>,
    /// `Some(0)` removes the cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_papers: Option<usize>,
    /// The personal fields (see [`super::personal`]), as the reader typed them and checked
    /// before they are recorded; `Some(vec![])` removes the key. An entry that no longer reads
    /// (the syntax changed) is left out when applied, like a topic that is no longer a section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interests: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authors: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub like: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mute: Option<Vec<String>>,
    /// `Some(None)` (`null` in the log) removes the key: the default block size again.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub for_you: Option<Option<usize>>,
}

/// A key that is there, even as `null`, is `Some`: `null` removes, a missing key keeps.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl Change {
    /// A change at `at`, to the second (as the list writes times).
    pub fn new(
        email: SubscriberEmail,
        at: chrono::DateTime<chrono::Utc>,
        kind: ChangeKind,
    ) -> Self {
        use chrono::SubsecRound;
        Self {
            at: at.trunc_subsecs(0),
            email,
            kind,
        }
    }

    /// A one-click unsubscribe, now.
    pub fn unsubscribe(email: SubscriberEmail) -> Self {
        Self::new(email, chrono::Utc::now(), ChangeKind::Unsubscribe)
    }

    /// What this change does to an entry in state `current` (`None`: not on the list).
    pub(super) fn effect(&self, current: Option<Status>) -> Effect {
        let Some(status) = current else {
            return match &self.kind {
                ChangeKind::Unsubscribe | ChangeKind::Bounced => Effect::Suppress,
                ChangeKind::Subscribe(profile) => {
                    let mut fields = vec![Field::Since(self.at.date_naive())];
                    fields.extend(profile.ops().into_iter().filter_map(|op| match op {
                        FieldOp::Set(field) => Some(field),
                        FieldOp::Unset(_) => None,
                    }));
                    Effect::Append(fields)
                }
                ChangeKind::Update(_)
                | ChangeKind::Pause
                | ChangeKind::Resume
                | ChangeKind::Unpause => Effect::Ignore,
            };
        };
        let ops = match &self.kind {
            ChangeKind::Unsubscribe if !status.unsubscribed => {
                vec![FieldOp::Set(Field::UnsubscribedAt(self.at))]
            }
            ChangeKind::Bounced if !status.bounced => vec![FieldOp::Set(Field::BouncedAt(self.at))],
            ChangeKind::Unsubscribe | ChangeKind::Bounced => Vec::new(),
            ChangeKind::Subscribe(profile) => {
                let mut ops = Vec::new();
                if status.unsubscribed || status.bounced {
                    ops.push(FieldOp::Unset("unsubscribed_at"));
                    ops.push(FieldOp::Unset("bounced_at"));
                    ops.push(FieldOp::Set(Field::Since(self.at.date_naive())));
                }
                ops.extend(profile.ops());
                ops
            }
            ChangeKind::Update(profile) => profile.ops(),
            ChangeKind::Pause => vec![FieldOp::Set(Field::Paused(true))],
            ChangeKind::Unpause if status.paused => vec![FieldOp::Set(Field::Paused(false))],
            ChangeKind::Unpause => Vec::new(),
            ChangeKind::Resume => {
                let mut ops = Vec::new();
                if status.paused {
                    ops.push(FieldOp::Set(Field::Paused(false)));
                }
                if status.bounced {
                    ops.push(FieldOp::Unset("bounced_at"));
                }
                ops
            }
        };
        Effect::Edit(ops)
    }
}

impl Profile {
    fn ops(&self) -> Vec<FieldOp> {
        let mut ops = Vec::new();
        match self.name.as_deref().map(str::trim) {
            Some("") => ops.push(FieldOp::Unset("name")),
            Some(name) => ops.push(FieldOp::Set(Field::Name(name.to_owned()))),
            None => {}
        }
        match &self.topics {
            Some(topics) if topics.is_empty() => ops.push(FieldOp::Unset("topics")),
            Some(topics) => ops.push(FieldOp::Set(Field::Topics(topics.clone()))),
            None => {}
        }
        if let Some(format) = self.format {
            ops.push(FieldOp::Set(Field::Format(format)));
        }
        match self.max_papers.map(NonZeroUsize::new) {
            Some(Some(max)) => ops.push(FieldOp::Set(Field::MaxPapers(max))),
            Some(None) => ops.push(FieldOp::Unset("max_papers")),
            None => {}
        }
        let lists = [
            (PersonalList::Interests, &self.interests),
            (PersonalList::Authors, &self.authors),
            (PersonalList::Like, &self.like),
            (PersonalList::Mute, &self.mute),
        ];
        for (list, items) in lists {
            match items {
                Some(items) if items.is_empty() => ops.push(FieldOp::Unset(list.key())),
                Some(items) => ops.push(FieldOp::Set(Field::Personal(list, items.clone()))),
                None => {}
            }
        }
        match self.for_you {
            Some(Some(n)) => ops.push(FieldOp::Set(Field::ForYou(n))),
            Some(None) => ops.push(FieldOp::Unset("for_you")),
            None => {}
        }
        ops
    }
}

/// The personal fields that are lists of strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PersonalList {
    Interests,
    Authors,
    Like,
    Mute,
}

impl PersonalList {
    pub(super) fn key(self) -> &'static str {
        match self {
            Self::Interests => "interests",
            Self::Authors => "authors",
            Self::Like => "like",
            Self::Mute => "mute",
        }
    }

    /// Sets this list of `profile` from the entries as written; entries that do not read are
    /// left out.
    fn set(self, profile: &mut crate::digest::personal::Profile, items: &[String]) {
        use super::personal;
        match self {
            Self::Interests => {
                profile.interests = items
                    .iter()
                    .filter_map(|i| personal::keyword("interests", i).ok())
                    .collect();
            }
            Self::Authors => {
                profile.authors = items
                    .iter()
                    .filter_map(|i| personal::author(i).ok())
                    .collect();
            }
            Self::Like => {
                profile.like = items
                    .iter()
                    .filter_map(|i| personal::like(i).ok())
                    .collect();
            }
            Self::Mute => {
                profile.mute = items
                    .iter()
                    .filter_map(|i| personal::keyword("mute", i).ok())
                    .collect();
            }
        }
    }
}

/// The part of an entry that decides what a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Status {
    pub unsubscribed: bool,
    pub bounced: bool,
    pub paused: bool,
}

/// What a change does to the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Effect {
    /// A new entry with these fields (after `email`).
    Append(Vec<Field>),
    /// These edits of the existing entry (none: nothing to do).
    Edit(Vec<FieldOp>),
    /// The address is not on the list: keep the change as a suppression.
    Suppress,
    /// The address is not on the list and the change means nothing without an entry.
    Ignore,
}

/// One field edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FieldOp {
    Set(Field),
    /// Removes the key.
    Unset(&'static str),
}

/// A field and its new value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Field {
    Name(String),
    Topics(Vec<String>),
    Format(MailFormat),
    MaxPapers(NonZeroUsize),
    Paused(bool),
    Since(chrono::NaiveDate),
    UnsubscribedAt(chrono::DateTime<chrono::Utc>),
    BouncedAt(chrono::DateTime<chrono::Utc>),
    /// `interests`, `authors`, `like` or `mute`, as written.
    Personal(PersonalList, Vec<String>),
    ForYou(usize),
}

impl Field {
    /// The key in `subscribers.toml`.
    pub(super) fn key(&self) -> &'static str {
        match self {
            Self::Name(_) => "name",
            Self::Topics(_) => "topics",
            Self::Format(_) => "format",
            Self::MaxPapers(_) => "max_papers",
            Self::Paused(_) => "paused",
            Self::Since(_) => "since",
            Self::UnsubscribedAt(_) => "unsubscribed_at",
            Self::BouncedAt(_) => "bounced_at",
            Self::Personal(list, _) => list.key(),
            Self::ForYou(_) => "for_you",
        }
    }
}

/// Applies pending changes to a loaded list, as the fold will write them; returns the
/// suppressions (changes kept for addresses not on the list).
pub(super) fn apply_to_list(
    list: &mut Vec<Subscriber>,
    pending: &[&Change],
    sections: &[&str],
) -> Vec<Change> {
    if pending.is_empty() {
        return Vec::new();
    }
    let keys: HashSet<String> = pending.iter().map(|c| c.email.key()).collect();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, s) in list.iter().enumerate() {
        let key = s.email.key();
        if keys.contains(&key) {
            index.entry(key).or_insert(i);
        }
    }
    let mut suppressed: Vec<Change> = Vec::new();
    for change in pending {
        let key = change.email.key();
        let at = index.get(&key).copied();
        match (change.effect(at.map(|i| list[i].status())), at) {
            (Effect::Append(fields), _) => {
                let mut s = Subscriber::new(change.email.clone());
                for field in fields {
                    s.apply(&FieldOp::Set(field), sections);
                }
                index.insert(key.clone(), list.len());
                list.push(s);
                suppressed.retain(|c| c.email.key() != key);
            }
            (Effect::Edit(ops), Some(i)) => {
                for op in &ops {
                    list[i].apply(op, sections);
                }
            }
            (Effect::Suppress, _) if !suppressed.iter().any(|c| c.email.key() == key) => {
                suppressed.push((*change).clone());
            }
            _ => {}
        }
    }
    suppressed
}

impl Subscriber {
    fn status(&self) -> Status {
        Status {
            unsubscribed: self.unsubscribed_at.is_some(),
            bounced: self.bounced_at.is_some(),
            paused: self.paused,
        }
    }

    /// One field edit, as the fold writes it; a topic that is not a section is left out.
    fn apply(&mut self, op: &FieldOp, sections: &[&str]) {
        match op {
            FieldOp::Set(Field::Name(name)) => self.name = Some(name.clone()),
            FieldOp::Set(Field::Topics(topics)) => {
                self.topics = topics
                    .iter()
                    .filter_map(|t| check_topic(t, sections).ok().map(str::to_owned))
                    .collect::<Vec<_>>()
                    .into();
            }
            FieldOp::Set(Field::Format(format)) => self.format = *format,
            FieldOp::Set(Field::MaxPapers(max)) => self.max_papers = Some(max.get()),
            FieldOp::Set(Field::Paused(paused)) => self.paused = *paused,
            FieldOp::Set(Field::Since(date)) => self.since = Some(*date),
            FieldOp::Set(Field::UnsubscribedAt(at)) => self.unsubscribed_at = Some(*at),
            FieldOp::Set(Field::BouncedAt(at)) => self.bounced_at = Some(*at),
            FieldOp::Set(Field::Personal(list, items)) => list.set(&mut self.profile, items),
            FieldOp::Set(Field::ForYou(n)) => self.profile.for_you = Some(*n),
            FieldOp::Unset("name") => self.name = None,
            FieldOp::Unset("topics") => self.topics = Topics::default(),
            FieldOp::Unset("format") => self.format = MailFormat::default(),
            FieldOp::Unset("max_papers") => self.max_papers = None,
            FieldOp::Unset("paused") => self.paused = false,
            FieldOp::Unset("since") => self.since = None,
            FieldOp::Unset("unsubscribed_at") => self.unsubscribed_at = None,
            FieldOp::Unset("bounced_at") => self.bounced_at = None,
            FieldOp::Unset("interests") => self.profile.interests = Vec::new(),
            FieldOp::Unset("authors") => self.profile.authors = Vec::new(),
            FieldOp::Unset("like") => self.profile.like = Vec::new(),
            FieldOp::Unset("mute") => self.profile.mute = Vec::new(),
            FieldOp::Unset("for_you") => self.profile.for_you = None,
            FieldOp::Unset(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn change(kind: ChangeKind) -> Change {
        Change::new(
            SubscriberEmail::parse("a@example.org").unwrap(),
            at("2026-12-01T08:00:00Z"),
            kind,
        )
    }

    #[test]
    fn a_log_line_is_flat_json_and_reads_back() {
        let c = change(ChangeKind::Subscribe(Profile {
            topics: Some(vec!["Graphs".into()]),
            max_papers: Some(5),
            ..Profile::default()
        }));
        let line = serde_json::to_string(&c).unwrap();
        assert_eq!(
            line,
            r#"{"at":"2026-12-01T08:00:00Z","email":"a@example.org","op":"subscribe","topics":["Graphs"],"max_papers":5}"#
        );
        assert_eq!(serde_json::from_str::<Change>(&line).unwrap(), c);
        let line = serde_json::to_string(&change(ChangeKind::Unsubscribe)).unwrap();
        assert_eq!(
            line,
            r#"{"at":"2026-12-01T08:00:00Z","email":"a@example.org","op":"unsubscribe"}"#
        );
    }

    #[test]
    fn personal_fields_travel_in_the_log_and_null_removes_the_block_size() {
        let c = change(ChangeKind::Update(Profile {
            interests: Some(vec!["KV cache*".into()]),
            like: Some(Vec::new()),
            for_you: Some(None),
            ..Profile::default()
        }));
        let line = serde_json::to_string(&c).unwrap();
        assert_eq!(
            line,
            r#"{"at":"2026-12-01T08:00:00Z","email":"a@example.org","op":"update","interests":["KV cache*"],"like":[],"for_you":null}"#
        );
        assert_eq!(serde_json::from_str::<Change>(&line).unwrap(), c);
        let kept = r#"{"at":"2026-12-01T08:00:00Z","email":"a@example.org","op":"update"}"#;
        let Change {
            kind: ChangeKind::Update(p),
            ..
        } = serde_json::from_str(kept).unwrap()
        else {
            panic!("an update")
        };
        assert_eq!(p.for_you, None, "a missing key keeps the field");
        assert_eq!(
            c.effect(Some(Status::default())),
            Effect::Edit(vec![
                FieldOp::Set(Field::Personal(
                    PersonalList::Interests,
                    vec!["KV cache*".into()]
                )),
                FieldOp::Unset("like"),
                FieldOp::Unset("for_you"),
            ])
        );
        let mut s = Subscriber::new(c.email.clone());
        s.profile.for_you = Some(3);
        for op in [
            FieldOp::Set(Field::Personal(
                PersonalList::Authors,
                vec!["Tri Dao".into(), "  ".into()],
            )),
            FieldOp::Set(Field::Personal(
                PersonalList::Like,
                vec!["2411.01234v2".into()],
            )),
            FieldOp::Unset("for_you"),
        ] {
            s.apply(&op, &[]);
        }
        assert_eq!(
            s.profile.authors.len(),
            1,
            "an entry that does not read is left out"
        );
        assert_eq!(s.profile.like[0].as_str(), "2411.01234");
        assert_eq!(s.profile.for_you, None);
    }

    #[test]
    fn unsubscribe_keeps_the_first_time_and_suppresses_unknown_addresses() {
        let c = change(ChangeKind::Unsubscribe);
        assert_eq!(c.effect(None), Effect::Suppress);
        let active = Status::default();
        assert_eq!(
            c.effect(Some(active)),
            Effect::Edit(vec![FieldOp::Set(Field::UnsubscribedAt(c.at))])
        );
        let gone = Status {
            unsubscribed: true,
            ..active
        };
        assert_eq!(c.effect(Some(gone)), Effect::Edit(vec![]));
    }

    #[test]
    fn subscribe_brings_back_and_resume_clears_a_bounce() {
        let c = change(ChangeKind::Subscribe(Profile {
            name: Some(String::new()),
            ..Profile::default()
        }));
        let date = c.at.date_naive();
        assert_eq!(
            c.effect(None),
            Effect::Append(vec![Field::Since(date)]),
            "an empty name is not written"
        );
        let bounced = Status {
            bounced: true,
            ..Status::default()
        };
        assert_eq!(
            c.effect(Some(bounced)),
            Effect::Edit(vec![
                FieldOp::Unset("unsubscribed_at"),
                FieldOp::Unset("bounced_at"),
                FieldOp::Set(Field::Since(date)),
                FieldOp::Unset("name"),
            ])
        );
        assert_eq!(
            change(ChangeKind::Resume).effect(Some(bounced)),
            Effect::Edit(vec![FieldOp::Unset("bounced_at")])
        );
        assert_eq!(change(ChangeKind::Pause).effect(None), Effect::Ignore);
    }

    #[test]
    fn unpause_only_unpauses_and_leaves_a_bounce() {
        let c = change(ChangeKind::Unpause);
        let bounced_and_paused = Status {
            bounced: true,
            paused: true,
            ..Status::default()
        };
        assert_eq!(
            c.effect(Some(bounced_and_paused)),
            Effect::Edit(vec![FieldOp::Set(Field::Paused(false))])
        );
        let bounced = Status {
            bounced: true,
            ..Status::default()
        };
        assert_eq!(c.effect(Some(bounced)), Effect::Edit(vec![]));
        assert_eq!(c.effect(None), Effect::Ignore);
        let line = serde_json::to_string(&c).unwrap();
        assert_eq!(
            line,
            r#"{"at":"2026-12-01T08:00:00Z","email":"a@example.org","op":"unpause"}"#
        );
    }
}
