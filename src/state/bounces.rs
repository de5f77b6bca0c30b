//! `state.dir/bounces.jsonl`: what bounce and complaint reports said about subscribers, one
//! JSON `bounce::Event` a line, appended.
//!
//! The same rules as the send journal: each line goes out in one unbuffered write, so a crash
//! tears at most the last line; reading skips a line that does not parse (with a warning) and
//! never blocks; the next append starts on a fresh line. Nothing is locked: two importers that
//! append the same event make a duplicate line, which the `bounce::Ledger` folds on reading.
//! A missing file is an empty log.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::bounce::Event;
use crate::bounce::store::{EventStore, Loaded};

/// The file name under `state.dir`.
pub const FILE_NAME: &str = "bounces.jsonl";

/// `state.dir/bounces.jsonl`.
#[derive(Debug, Clone)]
pub struct BounceLog {
    path: PathBuf,
}

impl BounceLog {
    /// The log at `path` (`StateDir::bounce_log` gives the one in `state.dir`).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The longest line read; longer ones are torn or hostile, and skipped.
const MAX_LINE: usize = 64 * 1024;

impl EventStore for BounceLog {
    fn load(&self) -> std::io::Result<Loaded> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::default()),
            Err(e) => return Err(e),
        };
        let mut loaded = Loaded::default();
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = (&mut reader)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            if line.len() > MAX_LINE && !line.ends_with(b"\n") {
                // Skip the rest of an over-long line.
                skip_line(&mut reader)?;
                loaded.torn_lines += 1;
                continue;
            }
            if line.trim_ascii().is_empty() {
                continue;
            }
            match serde_json::from_slice::<Event>(line.trim_ascii()) {
                Ok(event) => {
                    if !loaded.ledger.insert(event) {
                        loaded.duplicate_lines += 1;
                    }
                }
                Err(_) => loaded.torn_lines += 1,
            }
        }
        if loaded.torn_lines > 0 {
            tracing::warn!(
                "{}: skipped {} unreadable line(s) (a crash mid-write, or an edit by hand?)",
                self.path.display(),
                loaded.torn_lines
            );
        }
        Ok(loaded)
    }

    fn append(&self, events: &[Event]) -> std::io::Result<()> {
        self.write(events, true)
    }
}

impl BounceLog {
    /// Appends `events` in one unbuffered write without waiting for the disk: what the send
    /// journal does for each outcome, so that a send that refuses many addresses does not
    /// wait for the disk once for each. A crash of the process loses nothing; [`Self::sync`]
    /// at the end of the run makes it durable.
    pub fn append_unsynced(&self, events: &[Event]) -> std::io::Result<()> {
        self.write(events, false)
    }

    /// Waits until what was appended is on disk (nothing when the log does not exist).
    pub fn sync(&self) -> std::io::Result<()> {
        match File::open(&self.path) {
            Ok(f) => f.sync_data(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn write(&self, events: &[Event], sync: bool) -> std::io::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&self.path)?;
        if crate::fsutil::ends_mid_line(&mut file)? {
            file.write_all(b"\n")?;
        }
        let mut lines = Vec::new();
        for event in events {
            serde_json::to_writer(&mut lines, event).map_err(std::io::Error::other)?;
            lines.push(b'\n');
        }
        file.write_all(&lines)?;
        if sync { file.sync_data() } else { Ok(()) }
    }
}

fn skip_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounce::{EventKind, ReportId};

    fn event(address: &str, report: &str) -> Event {
        Event {
            at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            address: address.into(),
            kind: EventKind::Hard,
            edition: Some(crate::edition::EditionId::parse("2026-11-28").unwrap()),
            report: ReportId::new(report.into()),
            status: Some("5.1.1".into()),
            detail: Some("smtp; 550 5.1.1 unknown \"user\"\n".into()),
        }
    }

    #[test]
    fn events_round_trip_and_a_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let store = BounceLog::new(dir.path().join("state").join(FILE_NAME));
        assert!(store.load().unwrap().ledger.is_empty());
        store.append(&[event("ada@example.org", "r1")]).unwrap();
        store
            .append(&[
                event("bob@example.org", "r2"),
                event("ada@example.org", "r3"),
            ])
            .unwrap();
        let loaded = store.load().unwrap();
        assert_eq!(loaded.ledger.len(), 3);
        assert_eq!(
            loaded.ledger.events("ada@example.org")[1],
            event("ada@example.org", "r3")
        );
        assert_eq!((loaded.torn_lines, loaded.duplicate_lines), (0, 0));
    }

    #[test]
    fn torn_and_garbage_lines_are_skipped_and_appends_start_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let store = BounceLog::new(dir.path().join(FILE_NAME));
        store.append(&[event("ada@example.org", "r1")]).unwrap();
        // A crash mid-write, then garbage, a huge line, and a duplicate.
        let mut f = OpenOptions::new().append(true).open(store.path()).unwrap();
        let whole = serde_json::to_string(&event("bob@example.org", "r2")).unwrap();
        f.write_all(b"not json\n").unwrap();
        f.write_all(&vec![b'x'; MAX_LINE * 2]).unwrap();
        f.write_all(b"\n").unwrap();
        f.write_all(
            serde_json::to_string(&event("ada@example.org", "r1"))
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
        f.write_all(b"\n").unwrap();
        f.write_all(&whole.as_bytes()[..whole.len() / 2]).unwrap();
        drop(f);
        store.append(&[event("carol@example.org", "r3")]).unwrap();
        let loaded = store.load().unwrap();
        assert_eq!(loaded.torn_lines, 3);
        assert_eq!(loaded.duplicate_lines, 1);
        assert_eq!(loaded.ledger.len(), 2);
        assert_eq!(loaded.ledger.events("carol@example.org").len(), 1);
    }
}
