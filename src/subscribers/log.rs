//! The change log beside the list: `subscribers.toml.changes`, one JSON [`Change`] a line.
//!
//! A one-click unsubscribe must be durable when it is answered, yet must not wait for a
//! rewrite of a list of a million people. So it is appended here — under the log's own OS lock,
//! fsync'd before [`ChangeLog::append`] returns — and folded into the list later, in a batch
//! (see [`super::store`]). Every reader applies the changes still pending in memory, so a change
//! counts from the moment it is appended.
//!
//! Exactly once. A fold rewrites the list and then drops the lines it applied from the log; a
//! crash between the two must not apply them twice (a `pause` applied again after a later
//! `resume` would undo it). So before it renames the new list into place, a fold appends a
//! *fold record* naming the new list file (its device and inode) and how many bytes of the log
//! it covers. While the list is that file, the covered lines are in it and are skipped; if the
//! rename never happened, the record names a file that is not the list and counts for nothing.
//! Covered lines a fold keeps (suppressions: changes for addresses not on the list) are listed
//! in the record.
//!
//! The log is only ever replaced whole (temp file, fsync, rename) by a fold, which holds the
//! list's lock; appenders check after taking the log's lock that they hold the file that is at
//! the path, and open it again if a fold replaced it meanwhile.
//!
//! A torn line (a crash in the middle of an append) or a garbage line is skipped with a warning
//! and never blocks anything. The old sidecar `subscribers.toml.unsubscribes` (one
//! `{"email", "at"}` line per unsubscribe) is still read, and moved into the log by a fold.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::SubscriberEmail;
use super::changes::{Change, ChangeKind};
use crate::diag::{Location, Problem};

/// The log of changes beside one list.
#[derive(Debug, Clone)]
pub struct ChangeLog {
    path: PathBuf,
    legacy: PathBuf,
    list: PathBuf,
}

/// Which file a path names: a fold record's proof that its rename happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    #[cfg(unix)]
    pub(super) fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// Without inodes, the size and modification time stand in for the file's identity.
    #[cfg(not(unix))]
    pub(super) fn of(meta: &std::fs::Metadata) -> Self {
        let nanos = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        Self {
            dev: meta.len(),
            ino: nanos,
        }
    }

    pub(super) fn of_path(path: &Path) -> Option<Self> {
        std::fs::metadata(path).ok().map(|m| Self::of(&m))
    }
}

/// Written by a fold just before it renames the new list into place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FoldRecord {
    /// The new list file.
    pub list: FileId,
    /// How many bytes at the start of the log it applied.
    pub covers: u64,
    /// Indices (0-based) of covered lines that stay in the log.
    #[serde(default)]
    pub keep: Vec<usize>,
}

#[derive(Serialize, Deserialize)]
struct RecordLine {
    fold: FoldRecord,
}

/// A line of the old `.unsubscribes` sidecar.
#[derive(Deserialize)]
struct LegacyLine {
    email: String,
    at: chrono::DateTime<chrono::Utc>,
}

/// A change read from the log, with where it is.
#[derive(Debug, Clone)]
pub(super) struct Logged {
    /// The line's index (0-based) in the log; `None` for the old sidecar's lines.
    pub index: Option<usize>,
    pub offset: u64,
    pub change: Change,
}

/// The log as read at one moment.
#[derive(Debug, Default)]
pub(super) struct Snapshot {
    pub changes: Vec<Logged>,
    pub records: Vec<FoldRecord>,
    /// Bytes read.
    pub len: u64,
    /// Lines that could not be read, with their place.
    pub skipped: Vec<Problem>,
}

impl Snapshot {
    /// The changes that are not in the list whose file is `list`, in the order they came.
    pub(super) fn pending(&self, list: Option<FileId>) -> Vec<&Logged> {
        let record = self.records.iter().rev().find(|r| Some(r.list) == list);
        self.changes
            .iter()
            .filter(|c| match (record, c.index) {
                (Some(r), Some(index)) => c.offset >= r.covers || r.keep.contains(&index),
                _ => true,
            })
            .collect()
    }
}

impl ChangeLog {
    /// `subscribers.toml.changes` beside `subscribers.toml` — beside the file itself when the
    /// list is reached through a symlink, so that every reader finds the same log.
    pub fn beside(list: &Path) -> Self {
        let resolved;
        let list = match std::fs::symlink_metadata(list) {
            Ok(m) if m.file_type().is_symlink() => {
                resolved = std::fs::canonicalize(list).unwrap_or_else(|_| list.to_owned());
                resolved.as_path()
            }
            _ => list,
        };
        let sibling = |suffix: &str| {
            let mut name = list.file_name().unwrap_or_default().to_os_string();
            name.push(suffix);
            list.with_file_name(name)
        };
        Self {
            path: sibling(".changes"),
            legacy: sibling(".unsubscribes"),
            list: list.to_owned(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `changes` and returns once they are on disk.
    pub fn append(&self, changes: &[Change]) -> std::io::Result<()> {
        let mut bytes = Vec::new();
        for change in changes {
            serde_json::to_writer(&mut bytes, change).map_err(std::io::Error::other)?;
            bytes.push(b'\n');
        }
        self.append_bytes(&bytes)
    }

    pub(super) fn append_record(&self, record: FoldRecord) -> std::io::Result<()> {
        let mut bytes =
            serde_json::to_vec(&RecordLine { fold: record }).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        self.append_bytes(&bytes)
    }

    fn append_bytes(&self, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let created = !self.path.exists();
        let mut file = self
            .open_locked(Lock::Exclusive)?
            .expect("created when missing");
        if created && let Ok(meta) = std::fs::metadata(&self.list) {
            let _ = file.set_permissions(meta.permissions());
        }
        // After a torn line (a crash mid-append), start on a line of our own.
        if crate::fsutil::ends_mid_line(&mut file)? {
            file.write_all(b"\n")?;
        }
        file.write_all(bytes)?;
        file.sync_data()?;
        if created {
            sync_directory(&self.path)?;
        }
        Ok(())
    }

    /// The log file under its lock: shared for reading, exclusive for writing (then created when
    /// missing). `None`: there is no log. Waits for the lock; takes the file now at the path.
    fn open_locked(&self, lock: Lock) -> std::io::Result<Option<File>> {
        loop {
            let opened = match lock {
                Lock::Shared => File::open(&self.path),
                Lock::Exclusive => OpenOptions::new()
                    .read(true)
                    .append(true)
                    .create(true)
                    .open(&self.path),
            };
            let file = match opened {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            match lock {
                Lock::Shared => file.lock_shared()?,
                Lock::Exclusive => file.lock()?,
            }
            // A fold may have replaced the log while we waited for the lock.
            if FileId::of_path(&self.path) == Some(FileId::of(&file.metadata()?)) {
                return Ok(Some(file));
            }
        }
    }

    /// Reads the log (and the old sidecar) as it is now.
    pub(super) fn snapshot(&self) -> std::io::Result<Snapshot> {
        let mut snapshot = Snapshot::default();
        if let Some(mut file) = self.open_locked(Lock::Shared)? {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            drop(file);
            snapshot.len = bytes.len() as u64;
            self.parse(&bytes, &mut snapshot);
        }
        snapshot
            .changes
            .splice(0..0, self.legacy_changes(&mut snapshot.skipped)?);
        Ok(snapshot)
    }

    fn parse(&self, bytes: &[u8], snapshot: &mut Snapshot) {
        for (index, offset, line) in lines(bytes) {
            let skip = |why: String| {
                Problem::new(
                    Location {
                        path: self.path.clone(),
                        line: index + 1,
                        col: 1,
                    },
                    format!("skipped an unreadable change ({why})"),
                )
            };
            let Some(text) = line.strip_suffix(b"\n") else {
                snapshot.skipped.push(skip("the line is incomplete".into()));
                continue;
            };
            let text = String::from_utf8_lossy(text);
            if text.trim().is_empty() {
                continue;
            }
            if let Ok(record) = serde_json::from_str::<RecordLine>(&text) {
                snapshot.records.push(record.fold);
                continue;
            }
            match serde_json::from_str::<Change>(&text) {
                Ok(change) => snapshot.changes.push(Logged {
                    index: Some(index),
                    offset,
                    change,
                }),
                Err(e) => snapshot.skipped.push(skip(e.to_string())),
            }
        }
    }

    /// The old sidecar's unsubscribes (they are idempotent, so reading them twice is harmless).
    fn legacy_changes(&self, skipped: &mut Vec<Problem>) -> std::io::Result<Vec<Logged>> {
        let mut text = String::new();
        match File::open(&self.legacy) {
            Ok(mut file) => {
                file.lock_shared()?;
                file.read_to_string(&mut text)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
        Ok(self.parse_legacy(&text, skipped))
    }

    fn parse_legacy(&self, text: &str, skipped: &mut Vec<Problem>) -> Vec<Logged> {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let parsed = serde_json::from_str::<LegacyLine>(line)
                .map_err(|e| e.to_string())
                .and_then(|l| {
                    let email = SubscriberEmail::parse(&l.email).map_err(|e| e.to_string())?;
                    Ok(Change::new(email, l.at, ChangeKind::Unsubscribe))
                });
            match parsed {
                Ok(change) => out.push(Logged {
                    index: None,
                    offset: 0,
                    change,
                }),
                Err(why) if !line.trim().is_empty() => skipped.push(Problem::new(
                    Location {
                        path: self.legacy.clone(),
                        line: i + 1,
                        col: 1,
                    },
                    format!("skipped an unreadable unsubscribe ({why})"),
                )),
                Err(_) => {}
            }
        }
        out
    }

    /// Moves the old sidecar's unsubscribes into the log and removes the sidecar. The caller
    /// holds the list's lock.
    pub(super) fn migrate_legacy(&self) -> std::io::Result<()> {
        let file = match OpenOptions::new().read(true).write(true).open(&self.legacy) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        file.lock()?;
        let mut text = String::new();
        (&file).read_to_string(&mut text)?;
        let mut skipped = Vec::new();
        let changes: Vec<Change> = self
            .parse_legacy(&text, &mut skipped)
            .into_iter()
            .map(|l| l.change)
            .collect();
        for problem in skipped {
            tracing::warn!("{problem}");
        }
        self.append(&changes)?;
        std::fs::remove_file(&self.legacy)?;
        sync_directory(&self.legacy)
    }

    /// Drops the lines a fold applied: of the first `covers` bytes only the lines in `keep`
    /// stay, and fold records go. The caller holds the list's lock (only folds rewrite the log).
    pub(super) fn rewrite(&self, covers: u64, keep: &BTreeSet<usize>) -> std::io::Result<()> {
        let Some(mut file) = self.open_locked(Lock::Exclusive)? else {
            return Ok(());
        };
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0))?;
        file.read_to_end(&mut bytes)?;
        let mut out = Vec::with_capacity(bytes.len());
        for (index, offset, line) in lines(&bytes) {
            let kept = if offset < covers {
                keep.contains(&index)
            } else {
                serde_json::from_slice::<RecordLine>(line).is_err()
            };
            if kept {
                out.extend_from_slice(line);
            }
        }
        if out == bytes {
            return Ok(());
        }
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let temp = self.path.with_file_name(format!(
            ".{}.{}.{}.tmp",
            self.path.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let mut new = File::create(&temp)?;
            new.set_permissions(file.metadata()?.permissions())?;
            new.write_all(&out)?;
            new.sync_all()?;
            std::fs::rename(&temp, &self.path)?;
            sync_directory(&self.path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        // The lock on the old file is held until here, so appenders wait and then find the new.
        drop(file);
        result
    }
}

/// Appends for a server: many requests at once share one write and one fsync (a group commit),
/// so a burst of one-click unsubscribes costs a few fsyncs, not one each in a queue.
///
/// A thread of its own owns the appends; [`ChangeWriter::append`] hands it a change and waits
/// for the batch that carries it to be on disk. With [`ChangeWriter::folding`], another thread
/// folds what was appended into the list (see the `folder` module).
#[derive(Debug, Clone)]
pub struct ChangeWriter {
    jobs: std::sync::mpsc::Sender<Job>,
}

#[derive(Debug)]
struct Job {
    change: Change,
    done: tokio::sync::oneshot::Sender<std::io::Result<()>>,
}

/// The most changes one write carries.
const MAX_BATCH: usize = 4096;

impl ChangeWriter {
    /// Starts the writing thread; it ends when the last clone of the writer is dropped. Each
    /// batch on disk sends its size to `appended`.
    pub fn start(log: ChangeLog, appended: Option<std::sync::mpsc::Sender<usize>>) -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("change-log".into())
            .spawn(move || {
                while let Ok(first) = queue.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match queue.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    let changes: Vec<Change> = batch.iter().map(|j| j.change.clone()).collect();
                    let result = log.append(&changes);
                    if result.is_ok()
                        && let Some(appended) = &appended
                    {
                        let _ = appended.send(changes.len());
                    }
                    for job in batch {
                        let outcome = match &result {
                            Ok(()) => Ok(()),
                            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
                        };
                        let _ = job.done.send(outcome);
                    }
                }
            })
            .expect("spawn the change log's writer");
        Self { jobs }
    }

    /// Appends `change`; returns once it is on disk.
    pub async fn append(&self, change: Change) -> std::io::Result<()> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job { change, done })
            .map_err(|_| std::io::Error::other("the change log's writer has stopped"))?;
        outcome
            .await
            .map_err(|_| std::io::Error::other("the change log's writer has stopped"))?
    }
}

#[derive(Clone, Copy)]
enum Lock {
    Shared,
    Exclusive,
}

/// Each line with its index and byte offset; the last one may lack its newline.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, u64, &[u8])> {
    let mut offset = 0usize;
    bytes
        .split_inclusive(|b| *b == b'\n')
        .enumerate()
        .map(move |(index, line)| {
            let start = offset;
            offset += line.len();
            (index, start as u64, line)
        })
}

/// Makes a rename or a new file in `path`'s directory durable.
pub(super) fn sync_directory(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(email: &str, kind: ChangeKind) -> Change {
        Change::new(
            SubscriberEmail::parse(email).unwrap(),
            chrono::DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
                .unwrap()
                .to_utc(),
            kind,
        )
    }

    #[test]
    fn torn_and_garbage_lines_are_skipped_and_the_next_append_starts_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("subscribers.toml");
        let log = ChangeLog::beside(&list);
        log.append(&[change("a@example.org", ChangeKind::Unsubscribe)])
            .unwrap();
        let mut f = OpenOptions::new().append(true).open(log.path()).unwrap();
        f.write_all(b"not json\n{\"at\":\"2026-12-01T0").unwrap();
        drop(f);
        log.append(&[change("b@example.org", ChangeKind::Pause)])
            .unwrap();
        let snapshot = log.snapshot().unwrap();
        let emails: Vec<&str> = snapshot
            .changes
            .iter()
            .map(|c| c.change.email.as_str())
            .collect();
        assert_eq!(emails, ["a@example.org", "b@example.org"]);
        assert_eq!(snapshot.skipped.len(), 2, "{:?}", snapshot.skipped);
        assert!(snapshot.skipped[0].to_string().contains(".changes:2:1:"));
    }

    #[test]
    fn a_fold_record_hides_what_it_covers_only_while_its_file_is_the_list() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("subscribers.toml");
        std::fs::write(&list, "").unwrap();
        let log = ChangeLog::beside(&list);
        log.append(&[
            change("a@example.org", ChangeKind::Unsubscribe),
            change("b@example.org", ChangeKind::Unsubscribe),
        ])
        .unwrap();
        let covers = log.snapshot().unwrap().len;
        let id = FileId::of_path(&list).unwrap();
        log.append_record(FoldRecord {
            list: id,
            covers,
            keep: vec![1],
        })
        .unwrap();
        log.append(&[change("c@example.org", ChangeKind::Pause)])
            .unwrap();
        let snapshot = log.snapshot().unwrap();
        let pending = |id| -> Vec<String> {
            snapshot
                .pending(id)
                .iter()
                .map(|c| c.change.email.to_string())
                .collect()
        };
        assert_eq!(pending(Some(id)), ["b@example.org", "c@example.org"]);
        assert_eq!(pending(None).len(), 3);

        log.rewrite(covers, &BTreeSet::from([1])).unwrap();
        let after = log.snapshot().unwrap();
        assert!(after.records.is_empty());
        assert_eq!(after.changes.len(), 2);
    }

    #[test]
    fn the_old_sidecar_is_read_and_moved_into_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("subscribers.toml");
        let log = ChangeLog::beside(&list);
        std::fs::write(
            dir.path().join("subscribers.toml.unsubscribes"),
            "{\"email\":\"old@example.org\",\"at\":\"2026-11-01T08:00:00Z\"}\n",
        )
        .unwrap();
        assert_eq!(log.snapshot().unwrap().changes.len(), 1);
        log.migrate_legacy().unwrap();
        assert!(!dir.path().join("subscribers.toml.unsubscribes").exists());
        let snapshot = log.snapshot().unwrap();
        assert_eq!(snapshot.changes.len(), 1);
        assert_eq!(snapshot.changes[0].change.kind, ChangeKind::Unsubscribe);
        assert_eq!(snapshot.changes[0].index, Some(0));
    }
}
