//! The record of unsubscribes already folded into the list: `subscribers.toml.unsubscribed`.
//!
//! Once a fold has written `unsubscribed_at` into the list, the change log drops the
//! unsubscribe. Should the list then be overwritten by an older copy of itself (an editor
//! saving a stale buffer, a restored backup), the list alone would forget a request that was
//! answered, and `send` would mail the address again. So a fold first appends every
//! unsubscribe it folds here — one JSON line `{"email", "at"}`, fsync'd — and every reader of
//! the list, and every fold, applies what is here: an entry of such an address without
//! `unsubscribed_at` gets it back. Only unsubscribes are kept, so the file grows with them and
//! not with every change. An address leaves the record when it comes back (a confirmed signup
//! folded, `add`/`import --resubscribe`, `remove --forget`): the file is then written whole
//! (temporary file, fsync, rename) by the fold, which holds the list's lock.
//!
//! A torn or garbage line is skipped with a warning; the next append starts on a new line.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Subscriber;
use super::log::sync_directory;

/// Unsubscribed addresses (lowercased) with when they unsubscribed (the earliest time kept).
pub(super) type Records = HashMap<String, DateTime<Utc>>;

/// The record beside one list.
#[derive(Debug, Clone)]
pub(super) struct Unsubscribed {
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Line<'a> {
    email: &'a str,
    at: DateTime<Utc>,
}

impl Unsubscribed {
    /// The record of the list at `list`: its name with `.unsubscribed` appended.
    pub(super) fn beside(list: &Path) -> Self {
        let mut name = list.file_name().unwrap_or_default().to_owned();
        name.push(".unsubscribed");
        Self {
            path: list.with_file_name(name),
        }
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// What the record holds; nothing when it does not exist.
    pub(super) fn read(&self) -> std::io::Result<Records> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Records::new()),
            Err(e) => return Err(e),
        };
        let mut records = Records::new();
        for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
            let line = line?;
            match serde_json::from_slice::<Line<'_>>(&line) {
                Ok(Line { email, at }) => {
                    let at_first = records.entry(email.to_lowercase()).or_insert(at);
                    *at_first = (*at_first).min(at);
                }
                Err(_) if line.iter().all(u8::is_ascii_whitespace) => {}
                Err(_) => tracing::warn!(
                    "{}:{}: skipped a line that is not an unsubscribe record",
                    self.path.display(),
                    i + 1
                ),
            }
        }
        Ok(records)
    }

    /// Adds `records`, durable on return.
    pub(super) fn append<'a>(
        &self,
        records: impl IntoIterator<Item = (&'a String, &'a DateTime<Utc>)>,
    ) -> std::io::Result<()> {
        let mut text = String::new();
        for (email, at) in records {
            let line =
                serde_json::to_string(&Line { email, at: *at }).map_err(std::io::Error::other)?;
            text.push_str(&line);
            text.push('\n');
        }
        if text.is_empty() {
            return Ok(());
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)?;
        // After a torn last line, start a new one.
        let len = file.metadata()?.len();
        if crate::fsutil::ends_mid_line(&mut file)? {
            text.insert(0, '\n');
        }
        file.write_all(text.as_bytes())?;
        file.sync_data()?;
        if len == 0 {
            sync_directory(&self.path)?;
        }
        Ok(())
    }

    /// Replaces the record with `records`: temporary file, fsync, rename.
    pub(super) fn rewrite(&self, records: &Records) -> std::io::Result<()> {
        let mut temp_name = self.path.file_name().unwrap_or_default().to_owned();
        temp_name.push(format!(".{}.tmp", std::process::id()));
        let temp = self.path.with_file_name(temp_name);
        let mut sorted: Vec<_> = records.iter().collect();
        sorted.sort();
        let written = (|| {
            let mut out = std::io::BufWriter::new(File::create(&temp)?);
            for (email, at) in sorted {
                serde_json::to_writer(&mut out, &Line { email, at: *at })?;
                out.write_all(b"\n")?;
            }
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            std::fs::rename(&temp, &self.path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written?;
        sync_directory(&self.path)
    }
}

/// Gives every subscriber whose address is in `records` and who has no `unsubscribed_at` the
/// recorded one: what a reader does before it applies the change log's pending changes.
pub(super) fn apply(subscribers: &mut [Subscriber], records: &Records) {
    if records.is_empty() {
        return;
    }
    for subscriber in subscribers {
        if subscriber.unsubscribed_at.is_none()
            && let Some(at) = records.get(&subscriber.email.key())
        {
            subscriber.unsubscribed_at = Some(*at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn records_survive_torn_lines_keep_the_first_time_and_rewrite_whole() {
        let dir = tempfile::tempdir().unwrap();
        let record = Unsubscribed::beside(&dir.path().join("subscribers.toml"));
        assert!(record.path().ends_with("subscribers.toml.unsubscribed"));
        assert!(record.read().unwrap().is_empty());
        let ann = ("ann@example.org".to_owned(), at("2026-12-01T08:00:00Z"));
        record.append([(&ann.0, &ann.1)]).unwrap();
        // A torn line (a crash mid-append): skipped, and the next append starts a new line.
        let mut file = OpenOptions::new().append(true).open(record.path()).unwrap();
        file.write_all(b"{\"email\":\"bo").unwrap();
        let later = ("ANN@example.org".to_owned(), at("2026-12-02T08:00:00Z"));
        let bob = ("bob@example.org".to_owned(), at("2026-12-03T08:00:00Z"));
        record
            .append([(&later.0, &later.1), (&bob.0, &bob.1)])
            .unwrap();
        let read = record.read().unwrap();
        assert_eq!(
            read,
            Records::from([
                ("ann@example.org".to_owned(), ann.1),
                ("bob@example.org".to_owned(), bob.1)
            ])
        );
        let mut less = read.clone();
        less.remove("bob@example.org");
        record.rewrite(&less).unwrap();
        assert_eq!(record.read().unwrap(), less);
        assert_eq!(
            std::fs::read_to_string(record.path()).unwrap(),
            "{\"email\":\"ann@example.org\",\"at\":\"2026-12-01T08:00:00Z\"}\n"
        );
    }
}
