//! `state.dir/`: the one module that reads and writes it, so that its layout and its rules
//! (whole-file writes, one journal line per write, OS locks the kernel drops on death) live in
//! one place.
//!
//! ```text
//! state.dir/
//!   send.lock                  held by `send` and `run` for their whole run
//!   editions/<id>/papers.json  the list frozen when the edition's first message goes out
//!   editions/<id>/journal.jsonl one line per recipient outcome
//!   editions/<id>/report.json  the last run's summary
//!   editions/<id>/sections.json the sections the edition's email had (for the archive)
//!   editions/<id>/published.json when the edition was first complete (for the archive)
//!   bounces.jsonl              what bounce and complaint reports said, one event a line
//!   liked-papers.json          liked papers looked up on the arXiv API (see [`liked`])
//! ```
//!
//! [`StateDir`] is the directory; [`EditionFiles`] one edition's files; [`journal`] and
//! [`report`] their formats; [`bounces`] the bounce log.

pub mod bounces;
mod edition;
pub mod journal;
pub mod liked;
mod published;
pub mod report;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::edition::EditionId;
use crate::exit::Temporary;
use crate::paper::PaperId;

pub use bounces::BounceLog;
pub use edition::{EditionFiles, EditionSummary};
pub use journal::{Entry, Journal, JournalState, Outcome};
pub use liked::{LikedCache, LikedCacheFile};
pub use published::{EditionSections, SectionRecord};
pub use report::{PassOver, PassedOver, Proof, RecipientReport, Report, RunEnd};

/// Why the state directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("another send holds the lock {path} (is a send or `paperwire run` still going?)")]
    Locked {
        path: PathBuf,
        #[source]
        later: Temporary,
    },
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A frozen `papers.json` that no longer reads.
    #[error(transparent)]
    Papers(#[from] crate::source::SourceError),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StateError {
    let context = context.into();
    move |source| StateError::Io { context, source }
}

/// `state.dir`.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// One edition's files (which may not exist yet).
    pub fn edition(&self, id: &EditionId) -> EditionFiles {
        EditionFiles::new(self.root.join("editions").join(id.as_str()), id.clone())
    }

    /// `bounces.jsonl`: the bounce and complaint events (see [`bounces`]).
    pub fn bounce_log(&self) -> BounceLog {
        BounceLog::new(self.root.join(bounces::FILE_NAME))
    }

    /// `liked-papers.json`: liked papers looked up on the arXiv API (see [`liked`]).
    pub fn liked_cache(&self) -> LikedCacheFile {
        LikedCacheFile::new(self.root.join(liked::FILE_NAME))
    }

    /// The papers with these ids found in editions' frozen lists, newest edition first (an
    /// unreadable list is skipped); stops reading once every id is found.
    pub fn papers_from_editions(
        &self,
        ids: &std::collections::BTreeSet<PaperId>,
    ) -> std::collections::HashMap<PaperId, crate::paper::Paper> {
        let mut found = std::collections::HashMap::new();
        for id in self.editions().iter().rev() {
            if found.len() == ids.len() {
                break;
            }
            let Ok(Some(list)) = self.edition(id).frozen_papers() else {
                continue;
            };
            for p in list {
                if ids.contains(&p.id) {
                    found.entry(p.id.clone()).or_insert(p);
                }
            }
        }
        found
    }

    /// The editions that have a directory, oldest first (ids sort by date).
    pub fn editions(&self) -> Vec<EditionId> {
        let mut ids: Vec<EditionId> = std::fs::read_dir(self.root.join("editions"))
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| EditionId::parse(e.file_name().to_str()?).ok())
            .collect();
        ids.sort();
        ids
    }

    /// The newest edition whose paper list is frozen.
    pub fn latest_frozen(&self) -> Option<EditionFiles> {
        self.editions()
            .iter()
            .rev()
            .map(|id| self.edition(id))
            .find(EditionFiles::is_frozen)
    }

    /// Takes `send.lock` or fails at once: held for a whole send or daemon run; the kernel drops
    /// it if the process dies, so a `kill -9` never leaves a stale lock.
    pub fn lock_for_send(&self) -> Result<SendLock, StateError> {
        std::fs::create_dir_all(&self.root).map_err(io(format!(
            "cannot create the state directory {}",
            self.root.display()
        )))?;
        let path = self.root.join("send.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(format!("cannot open {}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(SendLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StateError::Locked {
                path,
                later: Temporary,
            }),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(io(format!("cannot lock {}", path.display()))(e))
            }
        }
    }

    /// Ids of papers delivered (to at least one recipient) in other editions recent enough to
    /// count: all earlier editions when `repeat_after_days` is 0, else those of the last N days.
    pub fn papers_sent_before(
        &self,
        current: &EditionId,
        today: chrono::NaiveDate,
        repeat_after_days: u32,
    ) -> HashSet<PaperId> {
        let recent = |id: &EditionId| {
            repeat_after_days == 0
                || id
                    .date()
                    .is_some_and(|d| (today - d).num_days() < i64::from(repeat_after_days))
        };
        let mut ids = HashSet::new();
        for id in self.editions() {
            if &id == current || !recent(&id) {
                continue;
            }
            let files = self.edition(&id);
            let delivered_any = files
                .read_journal()
                .map(|s| s.last.values().any(|e| e.outcome == Outcome::Delivered))
                .unwrap_or(false);
            if delivered_any && let Ok(Some(list)) = files.frozen_papers() {
                ids.extend(list.into_iter().map(|p| p.id));
            }
        }
        ids
    }
}

/// `state.dir/send.lock`, held until dropped.
#[derive(Debug)]
pub struct SendLock {
    _file: std::fs::File,
}
