//! List hygiene: the bounce module's verdicts, applied to the subscriber list.
//!
//! [`import_bounces`] is `paperwire bounces import`: it reads bounces and complaints (through
//! [`crate::bounce::read`] and [`crate::bounce::import`]) against the list as every reader sees
//! it, keeps the events in `state.dir/bounces.jsonl`, and appends to the list's change log a
//! `bounced` change for each address whose score reached `[bounce] threshold` and an
//! `unsubscribe` for each whose reader complained. [`forget_bounces`] is what `subscribers
//! resume` and `add --resubscribe` do besides: a person checked the address, so its earlier
//! bounces no longer count. [`bounced`] lists the addresses that bounced, with the last report
//! about each. (The send's own refusals are counted in `deliver`.)

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use crate::bounce::import::{Outcome, import, reset};
use crate::bounce::read::{self, Input, Limits, ReadError};
use crate::bounce::retire::{Retirement, retirements};
use crate::bounce::verp::{VerpError, VerpKey};
use crate::bounce::{Context, Event, EventKind, EventStore, Policy, Roster, Skip};
use crate::config::{ConfigError, Settings};
use crate::state::StateDir;
use crate::subscribers::{self, Change, ChangeLog, Subscriber, SubscriberEmail, SubscriberError};

/// Why an import (or another bounce chore) could not run. A message that cannot be used is no
/// error: it is skipped, with its reason, in the [`ImportReport`].
#[derive(Debug, thiserror::Error)]
pub enum HygieneError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Subscribers(#[from] SubscriberError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("standard input (`-`) is named more than once; it can be read only once")]
    StdinTwice,
    #[error(transparent)]
    Verp(#[from] VerpError),
    #[error("cannot use the bounce log {path}")]
    Store {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot append to the subscriber list's change log {path}")]
    Changes {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A message that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// A path, or `path:line` in an mbox, or `<stdin>`.
    pub origin: String,
    pub reason: Skip,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Messages read (each ends as recorded, a duplicate, or skipped).
    pub messages: usize,
    /// Reports with something new about a subscriber.
    pub recorded: usize,
    /// Reports imported before: nothing new.
    pub duplicates: usize,
    /// Every skipped message, in the order read.
    pub skipped: Vec<Skipped>,
    /// Addresses that stop getting mail now.
    pub retired: Vec<Retirement>,
    /// Lines of the bounce log that could not be read (and were skipped).
    pub torn_lines: usize,
}

impl ImportReport {
    /// How many messages were skipped for each kind of reason, most first (then by name).
    pub fn skipped_by_kind(&self) -> Vec<(&'static str, usize)> {
        let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
        for s in &self.skipped {
            *counts.entry(s.reason.kind()).or_default() += 1;
        }
        let mut counts: Vec<(&'static str, usize)> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        counts
    }
}

/// Imports the reports in `inputs`. Every input is opened before anything is read: one that
/// cannot be opened stops the import with nothing changed. `envelope_recipient` is the address
/// the MTA delivered a piped message to (`$ORIGINAL_RECIPIENT`), for its VERP tag.
pub fn import_bounces(
    settings: &Settings,
    inputs: &[Input],
    envelope_recipient: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ImportReport, HygieneError> {
    if inputs.iter().filter(|i| **i == Input::Stdin).count() > 1 {
        return Err(HygieneError::StdinTwice);
    }
    let verp = verp_key(settings)?;
    let mut items = Vec::with_capacity(inputs.len());
    for input in inputs {
        items.push(read::messages(input, Limits::default())?);
    }
    let view = subscribers::read(&settings.subscribers_path, &settings.section_names())?;
    for problem in &view.skipped {
        tracing::warn!("{problem}");
    }
    let state = StateDir::new(&settings.state_dir);
    let roster = Roster::new(
        &settings.newsletter.list_id,
        view.subscribers.iter().map(|s| s.email.clone()),
        state.editions(),
    );
    let ctx = Context {
        from_domain: settings.newsletter.from.email.domain(),
        verp: verp.as_ref(),
        envelope_recipient,
    };
    let store = state.bounce_log();
    let mut report = ImportReport::default();
    let summary = import(
        items.into_iter().flatten(),
        &ctx,
        &roster,
        &store,
        now,
        |origin, outcome| {
            report.messages += 1;
            if let Outcome::Skipped(reason) = outcome {
                report.skipped.push(Skipped {
                    origin: origin.to_owned(),
                    reason: reason.clone(),
                });
            }
        },
    )
    .map_err(|source| HygieneError::Store {
        path: store.path().to_owned(),
        source,
    })?;
    report.recorded = summary.recorded;
    report.duplicates = summary.duplicates;
    report.torn_lines = summary.torn_lines;
    report.retired = retire(settings, &summary.ledger, &view.subscribers, now)?;
    Ok(report)
}

/// The VERP key when `bounce.verp` is on: reports must then carry a tag it made.
fn verp_key(settings: &Settings) -> Result<Option<VerpKey>, HygieneError> {
    let Some(return_path) = settings
        .delivery
        .return_path
        .as_ref()
        .filter(|_| settings.bounce.verp)
    else {
        return Ok(None);
    };
    let secret = settings
        .secrets
        .signing_key()
        .ok_or_else(|| ConfigError::MissingSecret {
            name: "PAPERWIRE_SECRET",
            why:
                "bounce.verp is on, and the VERP tags that bounces come back to are checked with it"
                    .into(),
        })?;
    Ok(Some(VerpKey::new(
        secret.expose_secret(),
        &settings.newsletter.list_id,
        return_path,
    )?))
}

/// Appends the changes the ledger calls for to the list's change log; returns them.
fn retire(
    settings: &Settings,
    ledger: &crate::bounce::Ledger,
    subscribers: &[Subscriber],
    now: DateTime<Utc>,
) -> Result<Vec<Retirement>, HygieneError> {
    let retired = retirements(ledger, subscribers, now, &Policy::from(&settings.bounce));
    let changes: Vec<Change> = retired.iter().map(|r| r.change(now)).collect();
    let log = ChangeLog::beside(&settings.subscribers_path);
    log.append(&changes)
        .map_err(|source| HygieneError::Changes {
            path: log.path().to_owned(),
            source,
        })?;
    Ok(retired)
}

/// A person checked these addresses and brought them back: their earlier bounces and
/// complaints no longer count. Nothing to do when nothing ever bounced.
pub fn forget_bounces(
    settings: &Settings,
    emails: &[SubscriberEmail],
    now: DateTime<Utc>,
) -> Result<(), HygieneError> {
    let log = StateDir::new(&settings.state_dir).bounce_log();
    if emails.is_empty() || !log.path().exists() {
        return Ok(());
    }
    let resets: Vec<Event> = emails.iter().map(|e| reset(&e.key(), now)).collect();
    log.append(&resets).map_err(|source| HygieneError::Store {
        path: log.path().to_owned(),
        source,
    })
}

/// A subscriber with `bounced_at`, and the last bounce about them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BouncedEntry {
    pub email: SubscriberEmail,
    pub name: Option<String>,
    pub bounced_at: DateTime<Utc>,
    /// The newest hard or soft bounce recorded for the address (of the latest edition, among
    /// those that came at once), if the log still has one.
    pub last: Option<Event>,
}

/// Everyone on `list` with `bounced_at`, in list order, with the last report about each.
pub fn bounced(
    settings: &Settings,
    list: &[Subscriber],
) -> Result<Vec<BouncedEntry>, HygieneError> {
    let log = StateDir::new(&settings.state_dir).bounce_log();
    let loaded = log.load().map_err(|source| HygieneError::Store {
        path: log.path().to_owned(),
        source,
    })?;
    Ok(list
        .iter()
        .filter_map(|s| {
            let bounced_at = s.bounced_at?;
            let last = loaded
                .ledger
                .events(&s.email.key())
                .iter()
                .filter(|e| matches!(e.kind, EventKind::Hard | EventKind::Soft))
                .max_by_key(|e| (e.at, e.edition.clone()))
                .cloned();
            Some(BouncedEntry {
                email: s.email.clone(),
                name: s.name.clone(),
                bounced_at,
                last,
            })
        })
        .collect())
}
