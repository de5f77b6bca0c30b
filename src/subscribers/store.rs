//! Locked, atomic edits of the subscriber list.
//!
//! Paperwire is not the only writer of `subscribers.toml`: people edit it by hand, several
//! `paperwire subscribers …` commands may run at once, and `paperwire serve` records one-click
//! unsubscribes. So every edit:
//!
//! 1. takes the sidecar lock `subscribers.toml.lock` (an OS file lock, which the kernel drops
//!    when the process dies, so a `kill -9` never leaves it stale), polling for up to 10 s;
//! 2. reads the file and makes its change on the `toml_edit` document;
//! 3. writes the result to a temporary file in the same directory, with the original's
//!    permissions, and fsyncs it;
//! 4. checks that the file still holds exactly what was read — a hand edit does not take the
//!    lock — and if not, throws the temporary file away and starts over from step 2;
//! 5. renames the temporary file over the list and fsyncs the directory.
//!
//! A crash at any point leaves either the old or the new file, whole; a leftover temporary
//! file is removed by the next edit (it holds the lock, so no one else is writing one).
//!
//! Test hook: when `PAPERWIRE_TEST_PAUSE_BEFORE_RENAME=<ms>` is set, an edit sleeps that long
//! between writing the temporary file and renaming it, so that tests can kill the process or
//! edit the file by hand in that window. It is for tests only; nothing else sets it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use toml_edit::{Item, Table, Value};

use super::csv_import::read_import_rows;
use super::document::{self, Roster};
use super::parse::check_topic;
use super::{NewSubscriber, Subscriber, SubscriberEmail, SubscriberError, read_list};
use crate::diag::{Problem, Problems};
use crate::exit::Temporary;

/// How long an edit waits for another one to finish.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);
const LOCK_POLL_INTERVAL: Duration = Duration::from_millis(20);
/// How many times an edit starts over because the file changed under it.
const MAX_ATTEMPTS: usize = 50;
/// Test-only: milliseconds to sleep between writing the temporary file and renaming it.
pub const PAUSE_BEFORE_RENAME_ENV: &str = "PAPERWIRE_TEST_PAUSE_BEFORE_RENAME";

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
    /// The address had unsubscribed and `resubscribe` was given.
    Resubscribed,
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

    /// Adds a subscriber at the end of the list with `since` = `options.today`; creates the
    /// file when it does not exist. An address already present (ignoring case) is an error; one
    /// that unsubscribed is refused unless `options.resubscribe`.
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
        self.edit(true, |text, roster| {
            let outcome = match roster.find(&new.email) {
                None => {
                    roster.push(new_entry(new, &topics, options.today));
                    AddOutcome::Added
                }
                Some(index) => match roster.unsubscribed_at(index) {
                    None => {
                        return Err(SubscriberError::AlreadySubscribed {
                            email: new.email.clone(),
                            path: self.path.clone(),
                            line: document::entry_line(text, index),
                        });
                    }
                    Some(at) if !options.resubscribe => {
                        return Err(SubscriberError::Unsubscribed {
                            email: new.email.clone(),
                            at,
                        });
                    }
                    Some(_) => {
                        resubscribe(roster, index, new, &topics, options.today);
                        AddOutcome::Resubscribed
                    }
                },
            };
            Ok((outcome, true))
        })
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
        self.edit(true, |text, roster| {
            let mut problems = csv_problems.clone();
            for row in &rows {
                let Some(index) = roster.find(&row.subscriber.email) else {
                    continue;
                };
                let email = &row.subscriber.email;
                match roster.unsubscribed_at(index) {
                    None => problems.push(Problem::new(
                        row.location.clone(),
                        format!(
                            "{email} is already subscribed ({}:{})",
                            self.path.display(),
                            document::entry_line(text, index)
                        ),
                    )),
                    Some(at) if !options.resubscribe => problems.push(Problem::new(
                        row.location.clone(),
                        format!(
                            "{email} unsubscribed at {at}; an import does not add them back unless --resubscribe is given"
                        ),
                    )),
                    Some(_) => {}
                }
            }
            if !problems.is_empty() {
                problems.sort_by_key(|p| p.location.line);
                return Err(SubscriberError::Invalid(Problems(problems)));
            }
            let mut summary = ImportSummary::default();
            for row in &rows {
                let new = &row.subscriber;
                match roster.find(&new.email) {
                    Some(index) => {
                        resubscribe(roster, index, new, &new.topics, options.today);
                        summary.resubscribed += 1;
                    }
                    None => {
                        roster.push(new_entry(new, &new.topics, options.today));
                        summary.added += 1;
                    }
                }
            }
            let changed = summary.added + summary.resubscribed > 0;
            Ok((summary, changed))
        })
    }

    /// Removes the entry for `email` (ignoring case).
    /// Removes an entry. An address that unsubscribed keeps its entry (so that an old CSV
    /// cannot add it back) unless `forget` — e.g. for a request to erase the data.
    pub fn remove(&self, email: &SubscriberEmail, forget: bool) -> Result<(), SubscriberError> {
        self.edit(false, |_, roster| {
            let index = self.existing(roster, email)?;
            if let Some(at) = roster.unsubscribed_at(index).filter(|_| !forget) {
                return Err(SubscriberError::KeepUnsubscribed {
                    email: email.clone(),
                    at,
                });
            }
            roster.remove(index);
            Ok(((), true))
        })
    }

    /// Sets `paused = true`; returns whether it was not paused before.
    pub fn pause(&self, email: &SubscriberEmail) -> Result<bool, SubscriberError> {
        self.edit(false, |_, roster| {
            let index = self.existing(roster, email)?;
            let changed = roster.set(index, "paused", Value::from(true));
            Ok((changed, changed))
        })
    }

    /// Sets `paused = false` where it was true; returns whether it was paused.
    pub fn resume(&self, email: &SubscriberEmail) -> Result<bool, SubscriberError> {
        self.edit(false, |_, roster| {
            let index = self.existing(roster, email)?;
            let changed =
                roster.is_paused(index) && roster.set(index, "paused", Value::from(false));
            Ok((changed, changed))
        })
    }

    /// Records a one-click unsubscribe: sets `unsubscribed_at = at`. Idempotent: an address
    /// that already unsubscribed keeps its first time, and an unknown address changes nothing.
    pub fn unsubscribe(
        &self,
        email: &SubscriberEmail,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<UnsubscribeOutcome, SubscriberError> {
        self.edit(true, |_, roster| {
            let Some(index) = roster.find(email) else {
                return Ok((UnsubscribeOutcome::NotSubscribed, false));
            };
            if roster.unsubscribed_at(index).is_some() {
                return Ok((UnsubscribeOutcome::AlreadyUnsubscribed, false));
            }
            roster.set(index, "unsubscribed_at", document::utc_datetime_value(at));
            Ok((UnsubscribeOutcome::Unsubscribed, true))
        })
    }

    fn existing(&self, roster: &Roster, email: &SubscriberEmail) -> Result<usize, SubscriberError> {
        roster.find(email).ok_or_else(|| SubscriberError::NotFound {
            email: email.clone(),
            path: self.path.clone(),
        })
    }

    /// The locked read–change–replace loop described in the module docs. `change` gets the
    /// text as read and its document, and says whether it changed anything.
    fn edit<T>(
        &self,
        create_if_missing: bool,
        mut change: impl FnMut(&str, &mut Roster) -> Result<(T, bool), SubscriberError>,
    ) -> Result<T, SubscriberError> {
        let _lock = self.acquire_lock()?;
        self.remove_leftover_temp_files();
        // One-click unsubscribes that could not be written earlier ride along with this edit.
        let pending = super::pending::Folding::begin(&self.path).map_err(|source| {
            SubscriberError::Write {
                path: super::pending::sidecar(&self.path),
                source,
            }
        })?;
        let finish = |pending: super::pending::Folding| {
            pending.done().map_err(|source| SubscriberError::Write {
                path: super::pending::sidecar(&self.path),
                source,
            })
        };
        for _ in 0..MAX_ATTEMPTS {
            let before = read_list(&self.path)?;
            let text = match &before {
                Some(text) => text.as_str(),
                None if create_if_missing => "",
                None => {
                    return Err(SubscriberError::Missing {
                        path: self.path.clone(),
                    });
                }
            };
            let mut roster = Roster::parse(text, &self.path)?;
            let (outcome, mut changed) = change(text, &mut roster)?;
            for (email, at) in &pending.requests {
                let Ok(email) = SubscriberEmail::parse(email) else {
                    continue;
                };
                if let Some(index) = roster.find(&email)
                    && roster.unsubscribed_at(index).is_none()
                {
                    roster.set(index, "unsubscribed_at", document::utc_datetime_value(*at));
                    changed = true;
                }
            }
            if !changed {
                finish(pending)?;
                return Ok(outcome);
            }
            if self.replace_if_unchanged(before.as_deref(), &roster.render())? {
                finish(pending)?;
                return Ok(outcome);
            }
            tracing::info!(path = %self.path.display(), "the list changed while editing it; starting over");
        }
        Err(SubscriberError::KeptChanging {
            path: self.path.clone(),
            later: Temporary,
        })
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

    /// Writes `new_text` beside the list and renames it over, unless the list no longer holds
    /// `expected` (`None`: did not exist). Returns whether it replaced the list.
    fn replace_if_unchanged(
        &self,
        expected: Option<&str>,
        new_text: &str,
    ) -> Result<bool, SubscriberError> {
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
        let mut file = new_private_file(&temp.0).map_err(write_error)?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions).map_err(write_error)?;
        }
        file.write_all(new_text.as_bytes()).map_err(write_error)?;
        file.sync_all().map_err(write_error)?;
        drop(file);

        pause_before_rename_for_tests();

        if read_list(&self.path)?.as_deref() != expected {
            return Ok(false);
        }
        std::fs::rename(&temp.0, &self.path).map_err(write_error)?;
        std::mem::forget(temp);
        if let Err(e) = sync_directory(&self.directory()) {
            tracing::warn!(path = %self.path.display(), "could not fsync the directory after replacing the list: {e}");
        }
        Ok(true)
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

fn sync_directory(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn pause_before_rename_for_tests() {
    if let Some(ms) = std::env::var(PAUSE_BEFORE_RENAME_ENV)
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
    put("email", document::string_value(new.email.as_str()));
    if let Some(name) = &new.name {
        put("name", document::string_value(name));
    }
    if !topics.is_empty() {
        put("topics", document::strings_value(topics));
    }
    if let Some(format) = new.format {
        put("format", document::string_value(format.as_str()));
    }
    if let Some(max) = new.max_papers {
        put("max_papers", Value::from(max.get() as i64));
    }
    if new.paused {
        put("paused", Value::from(true));
    }
    put("since", document::date_value(today));
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
    roster.set(index, "since", document::date_value(today));
    if let Some(name) = &new.name {
        roster.set(index, "name", document::string_value(name));
    }
    if !topics.is_empty() {
        roster.set(index, "topics", document::strings_value(topics));
    }
    if let Some(format) = new.format {
        roster.set(index, "format", document::string_value(format.as_str()));
    }
    if let Some(max) = new.max_papers {
        roster.set(index, "max_papers", Value::from(max.get() as i64));
    }
}
