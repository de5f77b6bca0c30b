//! An edition's send journal, `journal.jsonl`: one JSON line per outcome, appended with one unbuffered write right after
//! the server's reply, so that a rerun or a restart after a crash sends only to recipients not
//! yet delivered.
//!
//! A crash can tear at most the last line; reading skips a line that does not parse (with a
//! warning) instead of failing, and the next append starts on a fresh line.

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

/// Reads a journal (a missing file is an empty journal).
pub fn read(path: &Path) -> std::io::Result<JournalState> {
    let mut text = String::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_string(&mut text)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(JournalState::default()),
        Err(e) => return Err(e),
    }
    let mut state = JournalState::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Entry>(line) {
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
            "{}: skipped {} unreadable line(s) (a crash mid-write?)",
            path.display(),
            state.torn_lines
        );
    }
    Ok(state)
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
        let len = file.metadata()?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            use std::io::{Seek, SeekFrom};
            file.seek(SeekFrom::Start(len - 1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
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
