//! One edition's files under `state.dir/editions/<id>/`: the frozen paper list, the journal and
//! the report, and what they say about how far the edition got.

use std::path::{Path, PathBuf};

use super::journal::{self, Entry, Journal, JournalState, Outcome};
use super::report::Report;
use super::{StateError, io};
use crate::edition::{EditionId, EditionProgress};
use crate::paper::Paper;

/// `state.dir/editions/<id>/`.
#[derive(Debug, Clone)]
pub struct EditionFiles {
    dir: PathBuf,
    id: EditionId,
}

/// An edition at a glance (`paperwire status`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct EditionSummary {
    pub edition: String,
    pub papers: Option<usize>,
    pub delivered: usize,
    pub failed: usize,
    pub deferred: usize,
    /// Recipients the last run did not get to because it was stopped (from its report; they
    /// have no journal line).
    pub not_tried: usize,
    pub last_activity: Option<chrono::DateTime<chrono::Utc>>,
}

impl EditionFiles {
    pub(super) fn new(dir: PathBuf, id: EditionId) -> Self {
        Self { dir, id }
    }

    pub fn id(&self) -> &EditionId {
        &self.id
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn papers_path(&self) -> PathBuf {
        self.dir.join("papers.json")
    }

    pub fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.jsonl")
    }

    pub fn report_path(&self) -> PathBuf {
        self.dir.join("report.json")
    }

    /// Whether the edition's paper list is frozen (its first message went out).
    pub fn is_frozen(&self) -> bool {
        self.papers_path().exists()
    }

    /// The frozen list `papers.json`, once the edition's first message went out.
    pub fn frozen_papers(&self) -> Result<Option<Vec<Paper>>, StateError> {
        if !self.is_frozen() {
            return Ok(None);
        }
        Ok(Some(
            crate::source::read_papers_file(&self.papers_path())?.papers,
        ))
    }

    /// Freezes the edition's paper list, whole or not at all.
    pub fn freeze(
        &self,
        papers: &[Paper],
        date: Option<chrono::NaiveDate>,
    ) -> Result<(), StateError> {
        self.create_dir()?;
        let json = crate::source::to_normalized_json(papers, date);
        let path = self.papers_path();
        crate::fsutil::write_atomically(&path, json.as_bytes())
            .map_err(io(format!("cannot write {}", path.display())))
    }

    /// Reads the journal (a missing one is empty).
    pub fn read_journal(&self) -> Result<JournalState, StateError> {
        let path = self.journal_path();
        journal::read(&path).map_err(io(format!("cannot read {}", path.display())))
    }

    /// Opens the journal for appending, creating the edition's directory.
    pub fn open_journal(&self) -> Result<Journal, StateError> {
        self.create_dir()?;
        let path = self.journal_path();
        Journal::open(&path).map_err(io(format!("cannot open {}", path.display())))
    }

    /// Writes `report.json`, whole or not at all.
    pub fn write_report(&self, report: &Report) -> Result<(), StateError> {
        let path = self.report_path();
        let json = serde_json::to_vec_pretty(report).map_err(|e| {
            io(format!("cannot write {}", path.display()))(std::io::Error::other(e))
        })?;
        self.create_dir()?;
        crate::fsutil::write_atomically(&path, &json)
            .map_err(io(format!("cannot write {}", path.display())))
    }

    /// The last run's report, when there is a readable one.
    pub fn read_report(&self) -> Option<Report> {
        let bytes = std::fs::read(self.report_path()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// How far the edition got: its report (the last finished run) and, for the recipients it
    /// left deferred, the journal (a later run may have delivered them).
    pub fn progress(&self) -> EditionProgress {
        let started =
            self.is_frozen() || self.journal_path().exists() || self.report_path().exists();
        if !started {
            return EditionProgress::NotStarted;
        }
        let Some(report) = self.read_report() else {
            return EditionProgress::Incomplete;
        };
        if report.interrupted || report.partial {
            return EditionProgress::Incomplete;
        }
        let deferred: Vec<String> = report
            .problems
            .iter()
            .filter(|p| p.outcome == Outcome::Deferred)
            .map(|p| p.email.to_lowercase())
            .collect();
        if deferred.is_empty() {
            return EditionProgress::Complete;
        }
        let Ok(journal) = self.read_journal() else {
            return EditionProgress::Incomplete;
        };
        let settled = |e: &String| {
            matches!(
                journal.outcome(e),
                Some(Outcome::Delivered | Outcome::Failed)
            )
        };
        if deferred.iter().all(settled) {
            EditionProgress::Complete
        } else {
            EditionProgress::Incomplete
        }
    }

    /// The edition at a glance, from its journal (right even after a crash).
    pub fn summary(&self) -> Result<EditionSummary, StateError> {
        let journal = self.read_journal()?;
        let count = |o: Outcome| journal.last.values().filter(|e| e.outcome == o).count();
        Ok(EditionSummary {
            edition: self.id.to_string(),
            papers: self.frozen_papers().ok().flatten().map(|p| p.len()),
            delivered: count(Outcome::Delivered),
            failed: count(Outcome::Failed),
            deferred: count(Outcome::Deferred),
            not_tried: self.read_report().map_or(0, |r| r.not_tried),
            last_activity: journal.last.values().map(|e| e.at).max(),
        })
    }

    /// The addresses that failed for good in this edition (their last journal line, sorted by
    /// address): from every run, a crashed one included.
    pub fn failed(&self) -> Result<Vec<Entry>, StateError> {
        let mut failed: Vec<Entry> = self
            .read_journal()?
            .last
            .into_values()
            .filter(|e| e.outcome == Outcome::Failed)
            .collect();
        failed.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(failed)
    }

    /// Writes one of the edition's files whole, creating the edition's directory.
    pub(super) fn write_file(&self, path: &Path, bytes: &[u8]) -> Result<(), StateError> {
        self.create_dir()?;
        crate::fsutil::write_atomically(path, bytes)
            .map_err(io(format!("cannot write {}", path.display())))
    }

    fn create_dir(&self) -> Result<(), StateError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(io(format!("cannot create {}", self.dir.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StateDir;

    #[test]
    fn progress_from_report_and_journal() {
        let dir = tempfile::tempdir().unwrap();
        let id = EditionId::parse("2026-11-28").unwrap();
        let ed = StateDir::new(dir.path()).edition(&id);
        assert_eq!(ed.progress(), EditionProgress::NotStarted);
        std::fs::create_dir_all(ed.dir()).unwrap();
        std::fs::write(ed.papers_path(), "[]").unwrap();
        assert_eq!(ed.progress(), EditionProgress::Incomplete);
        let report = |interrupted: bool, deferred: &[&str]| {
            let problems: Vec<_> = deferred
                .iter()
                .map(|e| serde_json::json!({"email": e, "outcome": "deferred", "detail": "451"}))
                .collect();
            serde_json::json!({"edition": "2026-11-28", "interrupted": interrupted, "deferred": deferred.len(), "problems": problems})
                .to_string()
        };
        std::fs::write(ed.report_path(), report(true, &[])).unwrap();
        assert_eq!(ed.progress(), EditionProgress::Incomplete);
        std::fs::write(
            ed.report_path(),
            r#"{"edition": "2026-11-28", "partial": true, "problems": []}"#,
        )
        .unwrap();
        assert_eq!(ed.progress(), EditionProgress::Incomplete, "send --only");
        std::fs::write(ed.report_path(), report(false, &[])).unwrap();
        assert_eq!(ed.progress(), EditionProgress::Complete);
        std::fs::write(ed.report_path(), report(false, &["Ada@example.org"])).unwrap();
        assert_eq!(ed.progress(), EditionProgress::Incomplete);
        // A later run delivered the deferred one but had no report of its own to write.
        let line = serde_json::json!({"at": "2026-11-28T07:10:00Z", "email": "ada@example.org", "outcome": "delivered", "detail": "250", "message_id": "<x>"});
        std::fs::write(ed.journal_path(), format!("{line}\n")).unwrap();
        assert_eq!(ed.progress(), EditionProgress::Complete);
    }
}
