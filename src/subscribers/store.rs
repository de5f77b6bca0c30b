//! Locked, atomic edits of the subscriber list.
//!
//! Paperwire is not the only writer of `subscribers.toml`: people edit it by hand, several
//! `paperwire subscribers …` commands may run at once, and `paperwire serve` appends one-click
//! unsubscribes to the change log ([`super::log`]). So every edit:
//!
//! 1. takes the sidecar lock `subscribers.toml.lock` (an OS file lock, which the kernel drops
//!    when the process dies, so a `kill -9` never leaves it stale), polling for up to 10 s;
//! 2. reads the change log and the file, scans the file once for the entries it is about
//!    (`Roster`), applies the log's pending changes (the fold) and then its own change, only
//!    to the bytes of those entries;
//! 3. writes the result to a temporary file in the same directory, with the original's
//!    permissions, and fsyncs it; when it folded changes, appends a fold record naming that
//!    file to the log (so that a crash after the rename never applies them twice);
//! 4. checks that the file still holds exactly what was read — a hand edit does not take the
//!    lock — and if not, throws the temporary file away and starts over from step 2;
//! 5. renames the temporary file over the list, fsyncs the directory, and drops the folded
//!    lines from the log (keeping suppressions: changes for addresses not on the list).
//!
//! A crash at any point leaves either the old or the new file, whole, and no change lost or
//! applied twice; a leftover temporary file is removed by the next edit (it holds the lock, so
//! no one else is writing one). A list that does not parse is read once more after a moment
//! when it changed just now: an editor may be writing it in place.
//!
//! Test hooks: when `PAPERWIRE_TEST_PAUSE_BEFORE_RENAME=<ms>` is set, an edit sleeps that long
//! between writing the temporary file and renaming it, and `PAPERWIRE_TEST_PAUSE_AFTER_RENAME`
//! between the rename and dropping the folded lines from the log, so that tests can kill the
//! process or edit the file by hand in those windows. They are for tests only; nothing else sets
//! them.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use toml_edit::{Item, Table, Value};

use super::changes::{Change, ChangeKind, Effect, Field, FieldOp};
use super::csv_import::read_import_rows;
use super::fingerprint::{Fingerprint, Fingerprinting};
use super::log::{ChangeLog, FileId, FoldRecord, Logged, sync_directory};
use super::parse::check_topic;
use super::splice::{Roster, date_value, field_value, strings_value, utc_datetime_value};
use super::unsubscribed::{Records, Unsubscribed};
use super::{
    NewSubscriber, Subscriber, SubscriberEmail, SubscriberError, list_text, read_list_with_id,
};
use crate::diag::{Problem, Problems};
use crate::exit::Temporary;

/// How long an edit waits for another one to finish.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);
const LOCK_POLL_INTERVAL: Duration = Duration::from_millis(20);
/// How many times an edit starts over because the file changed under it.
const MAX_ATTEMPTS: usize = 50;
/// Test-only: milliseconds to sleep between writing the temporary file and renaming it.
pub const PAUSE_BEFORE_RENAME_ENV: &str = "PAPERWIRE_TEST_PAUSE_BEFORE_RENAME";
/// Test-only: milliseconds to sleep between the rename and the rewrite of the change log.
pub const PAUSE_AFTER_RENAME_ENV: &str = "PAPERWIRE_TEST_PAUSE_AFTER_RENAME";

/// How `add` and `import` treat what they find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddOptions {
    /// The `since` date written for new entries (today, UTC, outside tests).
    pub today: chrono::NaiveDate,
    /// Take back an address that has `unsubscribed_at` (clearing it) instead of refusing.
    pub resubscribe: bool,
}

impl AddOptions {
    /// Today in UTC, refusing unsubscribed addresses.
    pub fn today_utc() -> Self {
        Self {
            today: chrono::Utc::now().date_naive(),
            resubscribe: false,
        }
    }
}

/// What `add` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    Added,
    /// The address had unsubscribed or bounced and `resubscribe` was given.
    Resubscribed,
}

/// What `resume` found (and undid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResumeOutcome {
    pub was_paused: bool,
    /// It had `bounced_at`, which is cleared.
    pub was_bounced: bool,
}

impl ResumeOutcome {
    pub fn changed(&self) -> bool {
        self.was_paused || self.was_bounced
    }
}

/// Why an entry on the list gets no mail for good.
enum Gone {
    Unsubscribed(String),
    Bounced(String),
}

/// Whether the entry unsubscribed or bounced, with when (unsubscribing wins).
fn gone(roster: &mut Roster<'_>, index: usize) -> Option<Gone> {
    roster
        .unsubscribed_at(index)
        .map(Gone::Unsubscribed)
        .or_else(|| roster.bounced_at(index).map(Gone::Bounced))
}

/// What `import` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportSummary {
    pub added: usize,
    pub resubscribed: usize,
}

/// What an unsubscribe request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsubscribeOutcome {
    Unsubscribed,
    /// Nothing changed: the address had already unsubscribed.
    AlreadyUnsubscribed,
    /// Nothing changed: the address is not on the list (removed, or never there).
    NotSubscribed,
}

/// The subscriber list on disk, and the only way paperwire changes it.
#[derive(Debug, Clone)]
pub struct SubscriberStore {
    path: PathBuf,
    lock_wait: Duration,
}

/// What a fold did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FoldSummary {
    /// Changes taken from the log (applied, or kept as suppressions).
    pub folded: usize,
    /// Changes kept in the log for addresses not on the list.
    pub suppressions: usize,
}

/// An edit in progress: the list as read, with the pending changes already applied.
pub(super) struct Editing<'t> {
    pub roster: Roster<'t>,
    /// Suppressions by lowercased address: the log lines that hold them, and the first one.
    suppressed: HashMap<String, (Vec<usize>, Change)>,
    lifted: bool,
    /// The unsubscribes folded before (see [`super::unsubscribed`]), less those that came back.
    records: Records,
    /// Unsubscribes this fold writes into the list, for the record.
    new_records: Records,
    /// An address left the record: it is written whole.
    records_dropped: bool,
}

impl Editing<'_> {
    /// The suppression of an address that is not on the list, if it has one.
    fn suppression(&self, email: &SubscriberEmail) -> Option<&Change> {
        self.suppressed.get(&email.key()).map(|(_, c)| c)
    }

    /// Drops an address's suppression (it asked to come back, or to be forgotten).
    fn lift(&mut self, email: &SubscriberEmail) {
        self.lifted |= self.suppressed.remove(&email.key()).is_some();
        self.came_back(&email.key());
    }

    /// The address (lowercased) subscribed again: its unsubscribe leaves the record.
    fn came_back(&mut self, key: &str) {
        self.new_records.remove(key);
        self.records_dropped |= self.records.remove(key).is_some();
    }

    /// Writes the recorded unsubscribes back into entries that lost them (the list was
    /// replaced by an older copy of itself).
    fn reapply_records(&mut self) {
        for (key, at) in &self.records {
            for i in self.roster.find_all_key(key) {
                if !self.roster.status(i).unsubscribed {
                    self.roster
                        .apply(i, &FieldOp::Set(Field::UnsubscribedAt(*at)));
                }
            }
        }
    }

    /// Keeps an unsubscribe of an address on the list for the record.
    fn record(&mut self, change: &Change) {
        let key = change.email.key();
        if !self.records.contains_key(&key) {
            let at = self.new_records.entry(key).or_insert(change.at);
            *at = (*at).min(change.at);
        }
    }

    /// Applies the pending changes in the order they came.
    fn fold(&mut self, pending: &[&Logged]) {
        for logged in pending {
            let change = &logged.change;
            // A list with the address twice (which the loader refuses) gets the change on
            // every entry: an unsubscribe must stop all mail to the address.
            let indices = self.roster.find_all(&change.email);
            for &i in indices.iter().skip(1) {
                let status = self.roster.status(i);
                if let Effect::Edit(ops) = change.effect(Some(status)) {
                    for op in &ops {
                        self.roster.apply(i, op);
                    }
                }
            }
            let index = indices.first().copied();
            match &change.kind {
                ChangeKind::Unsubscribe if index.is_some() => self.record(change),
                ChangeKind::Subscribe(_) => self.came_back(&change.email.key()),
                _ => {}
            }
            let status = index.map(|i| self.roster.status(i));
            match (change.effect(status), index) {
                (Effect::Append(fields), _) => {
                    self.roster
                        .push(&change.email, fields_entry(&change.email, &fields));
                    self.suppressed.remove(&change.email.key());
                }
                (Effect::Edit(ops), Some(i)) => {
                    for op in &ops {
                        self.roster.apply(i, op);
                    }
                }
                (Effect::Suppress, _) => {
                    let held = self
                        .suppressed
                        .entry(change.email.key())
                        .or_insert_with(|| (Vec::new(), change.clone()));
                    held.0.extend(logged.index);
                }
                (Effect::Edit(_) | Effect::Ignore, _) => {
                    tracing::info!(email = %change.email, "a change for an address not on the list was dropped");
                }
            }
        }
    }

    /// The log lines that stay: the suppressions.
    fn kept_lines(&self) -> BTreeSet<usize> {
        self.suppressed
            .values()
            .flat_map(|(lines, _)| lines.iter().copied())
            .collect()
    }
}

impl SubscriberStore {
    /// A list reached through a symlink is edited where it really lives (the rename would
    /// otherwise replace the link with a copy).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let path = match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(&path).unwrap_or(path),
            _ => path,
        };
        Self {
            path,
            lock_wait: LOCK_WAIT,
        }
    }

    /// Waits this long for the lock instead of [`LOCK_WAIT`].
    pub fn with_lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The list's change log (see [`super::log`]).
    pub fn change_log(&self) -> ChangeLog {
        ChangeLog::beside(&self.path)
    }

    /// The sidecar lock: `subscribers.toml.lock` beside `subscribers.toml`.
    pub fn lock_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_owned();
        name.push(".lock");
        self.path.with_file_name(name)
    }

    /// Loads and checks the list (see [`super::load`]).
    pub fn load(&self, sections: &[&str]) -> Result<Vec<Subscriber>, SubscriberError> {
        super::load(&self.path, sections)
    }

    /// Writes the pending changes of the log into the list: one rewrite, under the lock. A list
    /// that does not exist yet is created by the first confirmed signup it folds (and not
    /// created for anything else).
    pub fn fold(&self) -> Result<FoldSummary, SubscriberError> {
        self.edit(true, &[], |_| Ok(()))
            .map(|((), summary)| summary)
    }

    /// Adds a subscriber at the end of the list with `since` = `options.today`; creates the
    /// file when it does not exist. An address already present (ignoring case) is an error; one
    /// that unsubscribed or bounced is refused unless `options.resubscribe`.
    pub fn add(
        &self,
        new: &NewSubscriber,
        sections: &[&str],
        options: AddOptions,
    ) -> Result<AddOutcome, SubscriberError> {
        let topics = checked_topics(&new.topics, sections)?;
        if let Some(name) = &new.name {
            super::check_name(name).map_err(SubscriberError::BadName)?;
        }
        let keys = [new.email.clone()];
        self.edit(true, &keys, |editing| {
            match editing.roster.find(&new.email) {
                None => {
                    if let Some(gone) = editing.suppression(&new.email) {
                        if !options.resubscribe {
                            return Err(SubscriberError::Unsubscribed {
                                email: new.email.clone(),
                                at: written_time(gone.at),
                            });
                        }
                        editing.lift(&new.email);
                    }
                    editing
                        .roster
                        .push(&new.email, new_entry(new, &topics, options.today));
                    Ok(AddOutcome::Added)
                }
                Some(index) => match gone(&mut editing.roster, index) {
                    None => Err(SubscriberError::AlreadySubscribed {
                        email: new.email.clone(),
                        path: self.path.clone(),
                        line: editing.roster.entry_line(index),
                    }),
                    Some(Gone::Unsubscribed(at)) if !options.resubscribe => {
                        Err(SubscriberError::Unsubscribed {
                            email: new.email.clone(),
                            at,
                        })
                    }
                    Some(Gone::Bounced(at)) if !options.resubscribe => {
                        Err(SubscriberError::Bounced {
                            email: new.email.clone(),
                            at,
                        })
                    }
                    Some(_) => {
                        resubscribe(&mut editing.roster, index, new, &topics, options.today);
                        editing.came_back(&new.email.key());
                        Ok(AddOutcome::Resubscribed)
                    }
                },
            }
        })
        .map(|(outcome, _)| outcome)
    }

    /// Adds everyone in an import CSV (see [`super::parse_import_csv`]), or no one: bad rows,
    /// rows already on the list, and rows that unsubscribed (unless `options.resubscribe`) are
    /// all reported with their line in `csv_path`.
    pub fn import_csv(
        &self,
        csv_text: &str,
        csv_path: &Path,
        sections: &[&str],
        options: AddOptions,
    ) -> Result<ImportSummary, SubscriberError> {
        let (rows, csv_problems) = read_import_rows(csv_text, csv_path, sections);
        let keys: Vec<SubscriberEmail> = rows.iter().map(|r| r.subscriber.email.clone()).collect();
        self.edit(true, &keys, |editing| {
            let mut problems = csv_problems.clone();
            for row in &rows {
                let email = &row.subscriber.email;
                let left = match editing.roster.find(email) {
                    Some(index) => match gone(&mut editing.roster, index) {
                        None => {
                            problems.push(Problem::new(
                                row.location.clone(),
                                format!(
                                    "{email} is already subscribed ({}:{})",
                                    self.path.display(),
                                    editing.roster.entry_line(index)
                                ),
                            ));
                            continue;
                        }
                        Some(Gone::Unsubscribed(at)) => format!("unsubscribed at {at}"),
                        Some(Gone::Bounced(at)) => format!("bounced at {at}"),
                    },
                    None => match editing.suppression(email) {
                        Some(gone) => format!("unsubscribed at {}", written_time(gone.at)),
                        None => continue,
                    },
                };
                if !options.resubscribe {
                    problems.push(Problem::new(
                        row.location.clone(),
                        format!(
                            "{email} {left}; an import does not add them back unless --resubscribe is given"
                        ),
                    ));
                }
            }
            if !problems.is_empty() {
                problems.sort_by_key(|p| p.location.line);
                return Err(SubscriberError::Invalid(Problems(problems)));
            }
            let mut summary = ImportSummary::default();
            for row in &rows {
                let new = &row.subscriber;
                match editing.roster.find(&new.email) {
                    Some(index) => {
                        resubscribe(&mut editing.roster, index, new, &new.topics, options.today);
                        editing.came_back(&new.email.key());
                        summary.resubscribed += 1;
                    }
                    None => {
                        if editing.suppression(&new.email).is_some() {
                            editing.lift(&new.email);
                            summary.resubscribed += 1;
                        } else {
                            summary.added += 1;
                        }
                        editing
                            .roster
                            .push(&new.email, new_entry(new, &new.topics, options.today));
                    }
                }
            }
            Ok(summary)
        })
        .map(|(summary, _)| summary)
    }

    /// Removes an entry. An address that unsubscribed keeps its entry (so that an old CSV
    /// cannot add it back) unless `forget` — e.g. for a request to erase the data, which also
    /// erases a suppression of the address.
    pub fn remove(&self, email: &SubscriberEmail, forget: bool) -> Result<(), SubscriberError> {
        let keys = [email.clone()];
        self.edit(false, &keys, |editing| {
            let Some(index) = editing.roster.find(email) else {
                if forget && editing.suppression(email).is_some() {
                    editing.lift(email);
                    return Ok(());
                }
                return Err(self.not_found(email));
            };
            if let Some(at) = editing.roster.unsubscribed_at(index).filter(|_| !forget) {
                return Err(SubscriberError::KeepUnsubscribed {
                    email: email.clone(),
                    at,
                });
            }
            editing.roster.remove(email, index);
            if forget {
                editing.lift(email);
            }
            Ok(())
        })
        .map(|((), _)| ())
    }

    /// Sets `paused = true`; returns whether it was not paused before.
    pub fn pause(&self, email: &SubscriberEmail) -> Result<bool, SubscriberError> {
        self.set_paused(email, true)
    }

    /// Sends to the address again: `paused = false` where it was true, and `bounced_at`
    /// cleared (a person checked the address) — what a `resume` change does.
    pub fn resume(&self, email: &SubscriberEmail) -> Result<ResumeOutcome, SubscriberError> {
        let keys = [email.clone()];
        let resume = Change::new(email.clone(), chrono::Utc::now(), ChangeKind::Resume);
        self.edit(false, &keys, |editing| {
            let index = editing
                .roster
                .find(email)
                .ok_or_else(|| self.not_found(email))?;
            let before = editing.roster.status(index);
            if let Effect::Edit(ops) = resume.effect(Some(before)) {
                for op in &ops {
                    editing.roster.apply(index, op);
                }
            }
            Ok(ResumeOutcome {
                was_paused: before.paused,
                was_bounced: before.bounced,
            })
        })
        .map(|(outcome, _)| outcome)
    }

    fn set_paused(&self, email: &SubscriberEmail, paused: bool) -> Result<bool, SubscriberError> {
        let keys = [email.clone()];
        self.edit(false, &keys, |editing| {
            let index = editing
                .roster
                .find(email)
                .ok_or_else(|| self.not_found(email))?;
            let was = editing.roster.is_paused(index);
            if was == paused {
                return Ok(false);
            }
            Ok(editing.roster.set(index, "paused", Value::from(paused)))
        })
        .map(|(changed, _)| changed)
    }

    /// Records an unsubscribe at once (the server appends to the change log instead): sets
    /// `unsubscribed_at = at`. Idempotent: an address that already unsubscribed keeps its first
    /// time; an unknown address is kept as a suppression.
    pub fn unsubscribe(
        &self,
        email: &SubscriberEmail,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<UnsubscribeOutcome, SubscriberError> {
        let keys = [email.clone()];
        self.edit(true, &keys, |editing| {
            let Some(index) = editing.roster.find(email) else {
                return Ok(UnsubscribeOutcome::NotSubscribed);
            };
            if editing.roster.unsubscribed_at(index).is_some() {
                return Ok(UnsubscribeOutcome::AlreadyUnsubscribed);
            }
            editing
                .roster
                .set(index, "unsubscribed_at", utc_datetime_value(at));
            editing.record(&Change::new(email.clone(), at, ChangeKind::Unsubscribe));
            Ok(UnsubscribeOutcome::Unsubscribed)
        })
        .map(|(outcome, _)| outcome)
    }

    fn not_found(&self, email: &SubscriberEmail) -> SubscriberError {
        SubscriberError::NotFound {
            email: email.clone(),
            path: self.path.clone(),
        }
    }

    /// The locked read–change–replace loop described in the module docs, which first folds the
    /// change log's pending changes into the list. `keys` are the addresses `change` looks up.
    fn edit<T>(
        &self,
        create_if_missing: bool,
        keys: &[SubscriberEmail],
        mut change: impl FnMut(&mut Editing<'_>) -> Result<T, SubscriberError>,
    ) -> Result<(T, FoldSummary), SubscriberError> {
        let lock = self.acquire_lock()?;
        let log = self.change_log();
        let log_error = |source| SubscriberError::Write {
            path: log.path().to_owned(),
            source,
        };
        log.migrate_legacy().map_err(log_error)?;
        let unsubscribed = Unsubscribed::beside(&self.path);
        let records_error = |source| SubscriberError::Write {
            path: unsubscribed.path().to_owned(),
            source,
        };
        self.remove_leftover_temp_files();
        let mut reread_once = true;
        for _ in 0..MAX_ATTEMPTS {
            let snapshot = log.snapshot().map_err(log_error)?;
            for problem in &snapshot.skipped {
                tracing::warn!("{problem}");
            }
            let (bytes, list_id) = read_list_with_id(&self.path)?;
            let before = bytes
                .as_deref()
                .map(|bytes| list_text(&self.path, bytes))
                .transpose()?;
            let text = match before {
                Some(text) => text,
                None if create_if_missing => "",
                None => {
                    return Err(SubscriberError::Missing {
                        path: self.path.clone(),
                    });
                }
            };
            let pending = snapshot.pending(list_id);
            let records = unsubscribed.read().map_err(records_error)?;
            let wanted: HashSet<String> = keys
                .iter()
                .chain(pending.iter().map(|l| &l.change.email))
                .map(SubscriberEmail::key)
                .collect();
            let (roster, fit) = match self.scan(text, &wanted, &records, &lock) {
                Ok(scanned) => scanned,
                // An editor writing the file in place (not atomically) may be halfway through.
                Err(SubscriberError::Invalid(_))
                    if reread_once && super::recently_modified(&self.path) =>
                {
                    reread_once = false;
                    std::thread::sleep(super::REREAD_AFTER);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut vouch = Vouch {
                lock: &lock,
                text: fit.then_some(text),
            };
            // An address the edit is about that is on the list twice: which entry it meant is
            // not known, and changing one would leave the other as it was.
            if let Some(problems) = roster.listed_twice(&self.path, keys) {
                return Err(SubscriberError::Invalid(problems));
            }
            let mut editing = Editing {
                roster,
                suppressed: HashMap::new(),
                lifted: false,
                records,
                new_records: Records::new(),
                records_dropped: false,
            };
            editing.reapply_records();
            editing.fold(&pending);
            let outcome = change(&mut editing)?;
            let keep = editing.kept_lines();
            let summary = FoldSummary {
                folded: pending.len(),
                suppressions: editing.suppressed.len(),
            };
            let touches_log = !pending.is_empty() || !snapshot.records.is_empty() || editing.lifted;
            // Before the log can drop them: the record outlives the list's copy of them.
            unsubscribed
                .append(&editing.new_records)
                .map_err(records_error)?;
            if editing.roster.changed() {
                let record = touches_log.then(|| (snapshot.len, keep.clone()));
                let replaced = self.replace_if_unchanged(before, &editing.roster, &log, record)?;
                let Some(written) = replaced else {
                    tracing::info!(path = %self.path.display(), "the list changed while editing it; starting over");
                    continue;
                };
                vouch.text = None;
                if editing.roster.output_reusable() {
                    remember(&lock, written);
                }
                pause_for_tests(PAUSE_AFTER_RENAME_ENV);
            }
            if editing.records_dropped {
                editing.records.extend(editing.new_records.drain());
                unsubscribed
                    .rewrite(&editing.records)
                    .map_err(records_error)?;
            }
            if touches_log {
                log.rewrite(snapshot.len, &keep).map_err(log_error)?;
            }
            return Ok((outcome, summary));
        }
        Err(SubscriberError::KeptChanging {
            path: self.path.clone(),
            later: Temporary,
        })
    }

    /// Reads the list's `text` for an edit about the addresses `wanted`: only the parts that can
    /// hold them when it is the text fingerprinted in the lock file (see
    /// [`super::fingerprint`]), else all of it, checking it. With whether it checked all of it
    /// and found it fit to be fingerprinted ([`Vouch`]).
    /// Reading all of it, it finds the entries of the recorded unsubscribes too (the text may
    /// be an older copy that lost some); the fingerprint also vouches that they are all in it,
    /// so that the next edit need not look for them.
    fn scan<'t>(
        &self,
        text: &'t str,
        wanted: &HashSet<String>,
        records: &Records,
        lock: &File,
    ) -> Result<(Roster<'t>, bool), SubscriberError> {
        if Fingerprint::read(lock).is_some_and(|f| f.matches(text.as_bytes()))
            && let Some(scanned) = Roster::scan_checked(text, &self.path, wanted)
        {
            return scanned.map(|roster| (roster, false));
        }
        let mut all = wanted.clone();
        all.extend(records.keys().cloned());
        let mut roster = Roster::scan(text, &self.path, &all)?;
        let fit = roster.reusable() && records_hold(&mut roster, records);
        Ok((roster, fit))
    }

    fn acquire_lock(&self) -> Result<File, SubscriberError> {
        let lock_path = self.lock_path();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|source| SubscriberError::Write {
                path: lock_path.clone(),
                source,
            })?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(source)) => {
                    return Err(SubscriberError::Write {
                        path: lock_path,
                        source,
                    });
                }
            }
            let waited = started.elapsed();
            if waited >= self.lock_wait {
                return Err(SubscriberError::LockTimeout {
                    lock_path,
                    waited,
                    later: Temporary,
                });
            }
            std::thread::sleep(LOCK_POLL_INTERVAL.min(self.lock_wait - waited));
        }
    }

    fn directory(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }

    /// `.subscribers.toml.` — the start of every temporary file's name.
    fn temp_prefix(&self) -> String {
        format!(
            ".{}.",
            self.path.file_name().unwrap_or_default().to_string_lossy()
        )
    }

    /// Temporary files left by an edit that crashed. Only the lock holder writes them, and we
    /// hold the lock.
    fn remove_leftover_temp_files(&self) {
        let prefix = self.temp_prefix();
        let Ok(entries) = std::fs::read_dir(self.directory()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix) && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Writes the edited list beside the list and renames it over, unless the list no longer
    /// holds `expected` (`None`: did not exist). With `record` (the log's length as read and
    /// the lines that stay), a fold record naming the new file goes into the change log first.
    /// Returns the fingerprint of what it wrote, if it replaced the list.
    fn replace_if_unchanged(
        &self,
        expected: Option<&str>,
        roster: &Roster<'_>,
        log: &ChangeLog,
        record: Option<(u64, BTreeSet<usize>)>,
    ) -> Result<Option<Fingerprint>, SubscriberError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let write_error = |source| SubscriberError::Write {
            path: self.path.clone(),
            source,
        };
        let temp = TempFile(self.directory().join(format!(
            "{}{}.{}.tmp",
            self.temp_prefix(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )));
        let permissions = std::fs::metadata(&self.path).ok().map(|m| m.permissions());
        let file = new_private_file(&temp.0).map_err(write_error)?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions).map_err(write_error)?;
        }
        // The fingerprint of what is written is worked out on another core meanwhile.
        let (file, written) = std::thread::scope(|s| {
            let hashing = s.spawn(|| {
                let mut sink = Fingerprinting::new(std::io::sink());
                roster.write_to(&mut sink).map(|()| sink.finish().1)
            });
            let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
            roster.write_to(&mut out).map_err(write_error)?;
            let file = out.into_inner().map_err(|e| write_error(e.into_error()))?;
            file.sync_all().map_err(write_error)?;
            let written = hashing.join().expect("hashing does not panic");
            Ok::<_, SubscriberError>((file, written.map_err(write_error)?))
        })?;
        if let Some((covers, keep)) = record {
            let list = FileId::of(&file.metadata().map_err(write_error)?);
            log.append_record(FoldRecord {
                list,
                covers,
                keep: keep.into_iter().collect(),
            })
            .map_err(|source| SubscriberError::Write {
                path: log.path().to_owned(),
                source,
            })?;
        }
        drop(file);

        pause_for_tests(PAUSE_BEFORE_RENAME_ENV);

        if !still_holds(&self.path, expected).map_err(|source| SubscriberError::Read {
            path: self.path.clone(),
            source,
        })? {
            return Ok(None);
        }
        std::fs::rename(&temp.0, &self.path).map_err(write_error)?;
        std::mem::forget(temp);
        if let Err(e) = sync_directory(&self.path) {
            tracing::warn!(path = %self.path.display(), "could not fsync the directory after replacing the list: {e}");
        }
        Ok(Some(written))
    }
}

/// Whether every entry of a recorded unsubscribe has its `unsubscribed_at`.
fn records_hold(roster: &mut Roster<'_>, records: &Records) -> bool {
    records.keys().all(|key| {
        roster
            .find_all_key(key)
            .into_iter()
            .all(|i| roster.status(i).unsubscribed)
    })
}

/// Whether the file at `path` still holds exactly `expected` (`None`: does not exist), read a
/// block at a time.
fn still_holds(path: &Path, expected: Option<&str>) -> std::io::Result<bool> {
    let mut file = match (File::open(path), expected) {
        (Ok(file), Some(_)) => file,
        (Err(e), None) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        (Err(e), _) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => return Ok(false),
    };
    let expected = expected.unwrap_or_default().as_bytes();
    if file.metadata()?.len() != expected.len() as u64 {
        return Ok(false);
    }
    let mut block = vec![0u8; 1 << 20];
    let mut at = 0;
    loop {
        let n = file.read(&mut block)?;
        if n == 0 {
            return Ok(at == expected.len());
        }
        if expected.get(at..at + n) != Some(&block[..n]) {
            return Ok(false);
        }
        at += n;
    }
}

/// Keeps `fingerprint` in the lock file; an edit that cannot only costs the next one a full
/// check.
fn remember(lock: &File, fingerprint: Fingerprint) {
    if let Err(e) = fingerprint.write(lock) {
        tracing::debug!("could not keep the list's fingerprint in its lock file: {e}");
    }
}

/// How a time is written in messages.
fn written_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A new entry from a change's fields.
fn fields_entry(email: &SubscriberEmail, fields: &[Field]) -> Table {
    let mut table = Table::new();
    table.insert("email", Item::Value(Value::from(email.as_str())));
    for field in fields.iter().filter(|f| !matches!(f, Field::Since(_))) {
        table.insert(field.key(), Item::Value(field_value(field)));
    }
    // `since` last, as `add` writes it.
    for field in fields.iter().filter(|f| matches!(f, Field::Since(_))) {
        table.insert(field.key(), Item::Value(field_value(field)));
    }
    table
}

/// The text an edit read and checked whole, found fit to be fingerprinted: its fingerprint goes
/// into the lock file when the edit is over, however it ends — unless the edit replaced the
/// list (then `text` is `None`, and the fingerprint of what it wrote is there instead). Hashing
/// the text only then spares the usual edit, which does replace the list, a pass over all of it.
struct Vouch<'a> {
    lock: &'a File,
    text: Option<&'a str>,
}

impl Drop for Vouch<'_> {
    fn drop(&mut self) {
        if let Some(text) = self.text {
            remember(self.lock, Fingerprint::of(text.as_bytes()));
        }
    }
}

/// A temporary file that is removed unless it was renamed into place.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A new file readable by its owner only (a fresh list holds personal data); an existing
/// list's permissions are copied over it afterwards.
fn new_private_file(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn pause_for_tests(variable: &str) {
    if let Some(ms) = std::env::var(variable)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// The topics as the config spells them, or the first unknown one.
fn checked_topics(topics: &[String], sections: &[&str]) -> Result<Vec<String>, SubscriberError> {
    topics
        .iter()
        .map(|t| {
            check_topic(t, sections)
                .map(str::to_owned)
                .map_err(|_| SubscriberError::UnknownTopic {
                    topic: t.clone(),
                    known: sections.iter().map(|s| (*s).to_owned()).collect(),
                })
        })
        .collect()
}

fn new_entry(new: &NewSubscriber, topics: &[String], today: chrono::NaiveDate) -> Table {
    let mut table = Table::new();
    let mut put = |key: &str, value: Value| {
        table.insert(key, Item::Value(value));
    };
    put("email", Value::from(new.email.as_str()));
    if let Some(name) = &new.name {
        put("name", Value::from(name));
    }
    if !topics.is_empty() {
        put("topics", strings_value(topics));
    }
    if let Some(format) = new.format {
        put("format", Value::from(format.as_str()));
    }
    if let Some(max) = new.max_papers {
        put("max_papers", Value::from(max.get() as i64));
    }
    if new.paused {
        put("paused", Value::from(true));
    }
    for (key, value) in super::personal::toml_fields(&new.profile) {
        put(key, value);
    }
    put("since", date_value(today));
    table
}

/// Takes back an address that unsubscribed: clears `unsubscribed_at`, restarts `since`, and
/// applies whatever the new request says.
fn resubscribe(
    roster: &mut Roster,
    index: usize,
    new: &NewSubscriber,
    topics: &[String],
    today: chrono::NaiveDate,
) {
    roster.unset(index, "unsubscribed_at");
    roster.unset(index, "bounced_at");
    roster.set(index, "since", date_value(today));
    if let Some(name) = &new.name {
        roster.set(index, "name", Value::from(name));
    }
    if !topics.is_empty() {
        roster.set(index, "topics", strings_value(topics));
    }
    if let Some(format) = new.format {
        roster.set(index, "format", Value::from(format.as_str()));
    }
    if let Some(max) = new.max_papers {
        roster.set(index, "max_papers", Value::from(max.get() as i64));
    }
    for (key, value) in super::personal::toml_fields(&new.profile) {
        roster.set(index, key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> SubscriberEmail {
        SubscriberEmail::parse(s).unwrap()
    }

    #[test]
    fn an_edit_of_the_bytes_it_fingerprinted_reads_only_the_parts_it_needs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscribers.toml");
        let mut text = String::new();
        for i in 0..200 {
            text.push_str(&format!("[[subscriber]]\nemail = \"r{i}@example.org\"\n\n"));
        }
        // A syntax error far from r0: reading the whole list, an edit refuses it.
        let broken = text.replace("\"r150@example.org\"", "\"r150@example.org");
        std::fs::write(&path, &broken).unwrap();
        let store = SubscriberStore::new(&path);
        let refused = |result: Result<bool, SubscriberError>, line: usize| {
            let at = format!("subscribers.toml:{line}:");
            matches!(result, Err(SubscriberError::Invalid(p)) if p.to_string().contains(&at))
        };
        assert!(refused(store.pause(&email("r0@example.org")), 452));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), broken);

        // Were these the bytes an edit had checked (forged here), the next edit would read
        // only the parts that can hold r0, and not see the error.
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .open(store.lock_path())
            .unwrap();
        Fingerprint::of(broken.as_bytes()).write(&lock).unwrap();
        assert!(store.pause(&email("r0@example.org")).unwrap());
        let paused = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            paused,
            broken.replacen(
                "\"r0@example.org\"\n",
                "\"r0@example.org\"\npaused = true\n",
                1
            )
        );
        assert_eq!(
            Fingerprint::read(&lock),
            Some(Fingerprint::of(paused.as_bytes()))
        );
        // An edit about r150 reads its part, finds the error, and reads the whole list.
        assert!(refused(store.pause(&email("r150@example.org")), 453));
        // Any other bytes: the whole list is read.
        std::fs::write(&path, format!("{paused}\n")).unwrap();
        assert!(refused(store.pause(&email("r1@example.org")), 453));
    }
}
