//! An edition's send journal, `journal.jsonl`: one JSON line per outcome, appended with one unbuffered write right after
//! the server's reply, so that a rerun or a restart after a crash sends only to recipients not
//! yet delivered.
//!
//! A crash can tear at most the last line; reading skips any line that does not parse, bytes
//! that are not UTF-8 included (with a warning that counts them), instead of failing, and the
//! next append starts on a fresh line.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// What happened to one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The server accepted it (2xx).
    Delivered,
    /// A permanent failure (5xx): not retried in this edition.
    Failed,
    /// Transient failures left after the in-run retries: the next run tries again.
    Deferred,
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub at: chrono::DateTime<chrono::Utc>,
    /// Lowercased address.
    pub email: String,
    pub outcome: Outcome,
    pub detail: String,
    pub message_id: String,
}

/// The last known outcome per address.
#[derive(Debug, Clone, Default)]
pub struct JournalState {
    pub last: HashMap<String, Entry>,
    pub torn_lines: usize,
}

impl JournalState {
    pub fn outcome(&self, email_key: &str) -> Option<Outcome> {
        self.last.get(email_key).map(|e| e.outcome)
    }
}

/// Reads a journal (a missing file is an empty journal). It is read as bytes: a line that is
/// not UTF-8 or not an entry (a torn write, a stray byte) is skipped and counted, so that one
/// bad line can never block the rest of the edition.
pub fn read(path: &Path) -> std::io::Result<JournalState> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(JournalState::default()),
        Err(e) => return Err(e),
    }
    let mut state = JournalState::default();
    let lines = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty());
    for line in lines {
        match serde_json::from_slice::<Entry>(line) {
            Ok(entry) => {
                // A delivery is final: a later line never undoes it.
                if state.outcome(&entry.email) != Some(Outcome::Delivered) {
                    state.last.insert(entry.email.clone(), entry);
                }
            }
            Err(_) => state.torn_lines += 1,
        }
    }
    if state.torn_lines > 0 {
        tracing::warn!(
            "{}: skipped {} unreadable line(s) (a crash mid-write, or an edit by hand?)",
            path.display(),
            state.torn_lines
        );
    }
    Ok(state)
}

/// The time of the journal's first readable line (`None` for a missing or empty journal),
/// read line by line: a journal can be large and only its start is wanted.
pub fn first_entry_time(path: &Path) -> std::io::Result<Option<chrono::DateTime<chrono::Utc>>> {
    #[derive(Deserialize)]
    struct At {
        at: chrono::DateTime<chrono::Utc>,
    }
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    for line in std::io::BufRead::lines(std::io::BufReader::new(file)) {
        if let Ok(entry) = serde_json::from_str::<At>(&line?) {
            return Ok(Some(entry.at));
        }
    }
    Ok(None)
}

/// An open journal, shared by the send workers.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
}

impl Journal {
    /// Opens for appending, creating it; makes sure the next line starts on a fresh line.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)?;
        if crate::fsutil::ends_mid_line(&mut file)? {
            file.write_all(b"\n")?;
        }
        Ok(Self {
            path: path.to_owned(),
            file: Mutex::new(file),
        })
    }

    /// Appends one entry with a single write of the whole line.
    pub fn record(&self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.write_all(&line)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_lines_are_skipped_and_counted_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let line = |email: &str, outcome: &str| {
            format!(
                r#"{{"at":"2026-11-28T07:00:00Z","email":"{email}","outcome":"{outcome}","detail":"d","message_id":"<m>"}}"#
            )
        };
        let mut bytes = Vec::new();
        bytes.extend_from_slice(line("ada@example.org", "delivered").as_bytes());
        bytes.extend_from_slice(b"\nx\xff\n\xfe\xfd{\"at\n");
        bytes.extend_from_slice(line("bob@example.org", "failed").as_bytes());
        bytes.extend_from_slice(b"\n\n{\"at\":\"2026-11-28T07:0");
        std::fs::write(&path, &bytes).unwrap();
        let state = read(&path).unwrap();
        assert_eq!(state.torn_lines, 3);
        assert_eq!(state.outcome("ada@example.org"), Some(Outcome::Delivered));
        assert_eq!(state.outcome("bob@example.org"), Some(Outcome::Failed));
        // The next append starts on a fresh line and reads back.
        let journal = Journal::open(&path).unwrap();
        let entry = Entry {
            at: chrono::Utc::now(),
            email: "cy@example.org".into(),
            outcome: Outcome::Delivered,
            detail: "250".into(),
            message_id: "<c>".into(),
        };
        journal.record(&entry).unwrap();
        let state = read(&path).unwrap();
        assert_eq!(state.outcome("cy@example.org"), Some(Outcome::Delivered));
        assert_eq!(state.torn_lines, 3);
    }
}
