//! What the web archive reads from an edition's state, beside its frozen paper list: the
//! sections its email had (`sections.json`, written when the list is frozen, so that editing the
//! keyword rules later never regroups a past edition or breaks the email's links into it), and
//! when it was first complete (`published.json`, the Atom entry's date). Both are written whole
//! and read back the same, so the same state always gives the same archive.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::edition::EditionFiles;
use super::{StateError, io};
use crate::digest::Digest;
use crate::edition::EditionProgress;
use crate::paper::PaperId;

/// `sections.json`: the edition's sections in order, each with its papers' ids by rank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditionSections {
    pub sections: Vec<SectionRecord>,
    /// Papers that matched no section while the catch-all was off (left out of the edition).
    #[serde(default)]
    pub unmatched: usize,
}

/// One section of `sections.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionRecord {
    pub name: String,
    #[serde(default)]
    pub catch_all: bool,
    pub papers: Vec<PaperId>,
}

impl EditionSections {
    /// The grouping of `digest`, as its email shows it.
    pub fn of(digest: &Digest) -> Self {
        Self {
            sections: digest
                .sections
                .iter()
                .map(|s| SectionRecord {
                    name: s.name.clone(),
                    catch_all: s.is_catch_all,
                    papers: s
                        .papers
                        .iter()
                        .map(|&i| digest.papers[i].id.clone())
                        .collect(),
                })
                .collect(),
            unmatched: digest.unmatched_left_out,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct PublishedRecord {
    at: DateTime<Utc>,
}

impl EditionFiles {
    pub fn sections_path(&self) -> std::path::PathBuf {
        self.dir().join("sections.json")
    }

    pub fn published_path(&self) -> std::path::PathBuf {
        self.dir().join("published.json")
    }

    /// Records the edition's sections, whole or not at all.
    pub fn write_sections(&self, sections: &EditionSections) -> Result<(), StateError> {
        let path = self.sections_path();
        let json = serde_json::to_vec_pretty(sections)
            .map_err(|e| io(format!("cannot write {}", path.display()))(e.into()))?;
        self.write_file(&path, &json)
    }

    /// The recorded sections; `None` for an edition frozen before they were recorded.
    pub fn read_sections(&self) -> Result<Option<EditionSections>, StateError> {
        read_json(&self.sections_path())
    }

    /// Marks the edition as first complete at `at`, unless it already is; whether this call
    /// marked it.
    pub fn mark_published(&self, at: DateTime<Utc>) -> Result<bool, StateError> {
        let path = self.published_path();
        if path.exists() {
            return Ok(false);
        }
        let json = serde_json::to_vec_pretty(&PublishedRecord { at })
            .map_err(|e| io(format!("cannot write {}", path.display()))(e.into()))?;
        self.write_file(&path, &json)?;
        Ok(true)
    }

    /// Whether the edition belongs in the archive: marked published, or complete now (an
    /// edition sent before the mark existed).
    pub fn is_published(&self) -> bool {
        self.published_path().exists() || self.progress() == EditionProgress::Complete
    }

    /// When the edition was first complete: the mark's time, else (an edition sent before the
    /// mark existed) its journal's first entry.
    pub fn published_at(&self) -> Result<Option<DateTime<Utc>>, StateError> {
        if let Some(record) = read_json::<PublishedRecord>(&self.published_path())? {
            return Ok(Some(record.at));
        }
        let path = self.journal_path();
        super::journal::first_entry_time(&path)
            .map_err(io(format!("cannot read {}", path.display())))
    }
}

/// A JSON file of state, `None` when it does not exist.
fn read_json<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
) -> Result<Option<T>, StateError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(format!("cannot read {}", path.display()))(e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        io(format!("cannot read {}", path.display()))(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            e,
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edition::EditionId;
    use crate::state::StateDir;

    #[test]
    fn sections_and_the_published_mark_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let ed = StateDir::new(dir.path()).edition(&EditionId::parse("2026-11-28").unwrap());
        assert_eq!(ed.read_sections().unwrap(), None);
        let sections = EditionSections {
            sections: vec![SectionRecord {
                name: "Graphs".into(),
                catch_all: false,
                papers: vec![PaperId::parse("2405.10000").unwrap()],
            }],
            unmatched: 2,
        };
        ed.write_sections(&sections).unwrap();
        assert_eq!(ed.read_sections().unwrap(), Some(sections));

        assert!(!ed.is_published());
        assert_eq!(ed.published_at().unwrap(), None);
        let at = "2026-11-28T07:03:00Z".parse().unwrap();
        assert!(ed.mark_published(at).unwrap());
        assert!(
            !ed.mark_published(Utc::now()).unwrap(),
            "the first mark stays"
        );
        assert!(ed.is_published());
        assert_eq!(ed.published_at().unwrap(), Some(at));
    }

    #[test]
    fn an_unmarked_edition_dates_from_its_journal() {
        let dir = tempfile::tempdir().unwrap();
        let ed = StateDir::new(dir.path()).edition(&EditionId::parse("2026-11-28").unwrap());
        std::fs::create_dir_all(ed.dir()).unwrap();
        let line = |at: &str| {
            format!(
                "{}\n",
                serde_json::json!({"at": at, "email": "a@example.org", "outcome": "delivered", "detail": "250"})
            )
        };
        std::fs::write(
            ed.journal_path(),
            line("2026-11-28T07:00:05Z") + &line("2026-11-28T07:00:09Z"),
        )
        .unwrap();
        assert_eq!(
            ed.published_at().unwrap(),
            Some("2026-11-28T07:00:05Z".parse().unwrap())
        );
    }
}
