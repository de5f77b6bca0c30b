//! `state.dir/liked-papers.json`: papers readers liked that no earlier edition holds, as the
//! arXiv API gave them, and the ids it did not know (with when it was asked), so that a send
//! does not ask arXiv again for what it already answered.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{StateError, io};
use crate::paper::{Paper, PaperId};

pub(super) const FILE_NAME: &str = "liked-papers.json";

/// The cache's contents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LikedCache {
    #[serde(default)]
    pub papers: Vec<Paper>,
    /// Ids arXiv did not know, and when it said so.
    #[serde(default)]
    pub unknown: BTreeMap<PaperId, chrono::DateTime<chrono::Utc>>,
}

/// The cache file.
#[derive(Debug, Clone)]
pub struct LikedCacheFile {
    path: PathBuf,
}

impl LikedCacheFile {
    pub(super) fn new(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cache; an absent or unreadable file is an empty cache (it only saves requests).
    pub fn read(&self) -> LikedCache {
        let Ok(bytes) = std::fs::read(&self.path) else {
            return LikedCache::default();
        };
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(
                "{}: unreadable ({e}); starting it afresh",
                self.path.display()
            );
            LikedCache::default()
        })
    }

    /// Writes the cache, whole or not at all.
    pub fn write(&self, cache: &LikedCache) -> Result<(), StateError> {
        let context = || format!("cannot write {}", self.path.display());
        let json = serde_json::to_vec_pretty(cache)
            .map_err(|e| io(context())(std::io::Error::other(e)))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io(context()))?;
        }
        crate::fsutil::write_atomically(&self.path, &json).map_err(io(context()))
    }
}
