//! Paper sources: where an edition's list of papers comes from.
//!
//! Files (`--papers`, `kind = "file"`) in any of the supported formats, detected from the
//! content; and (issue 5) the live Hugging Face and arXiv endpoints over HTTP. Every source
//! yields the same [`PaperList`] of normalized [`Paper`]s; several sources merge by id.
//!
//! HELPER-OWNED (sources helper): this file's bodies are being filled in.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diag::Problems;
use crate::exit::{Classify, Exit};
use crate::paper::Paper;

/// The seed's 90 papers, compiled in: what `preview` shows with no config and no `--papers`.
pub const BUNDLED_SAMPLE: &str = include_str!("../../samples/daily-papers.txt");
/// The name the bundled sample goes by in messages.
pub const BUNDLED_SAMPLE_NAME: &str = "<bundled samples/daily-papers.txt>";

/// The formats a paper list file can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// The Daily Papers page as text: chrome lines, then title / abstract pairs.
    PageText,
    /// `GET https://huggingface.co/api/daily_papers`: an array of `{paper: {...}, ...}` items.
    HuggingFaceJson,
    /// paperwire's own normalized JSON (what `paperwire fetch` writes).
    PaperwireJson,
    /// An arXiv RSS 2.0 listing.
    ArxivRss,
}

/// Papers read from one source.
#[derive(Debug, Clone)]
pub struct PaperList {
    pub papers: Vec<Paper>,
    /// Items skipped because they lacked a title or an abstract.
    pub skipped: usize,
    pub format: Format,
}

/// Why a source gave no papers.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A body or file that is not what it should be (exit 2).
    #[error("{0}")]
    Malformed(Problems),
}

impl Classify for SourceError {
    fn exit(&self) -> Exit {
        match self {
            SourceError::Read { .. } | SourceError::Malformed(_) => Exit::Usage,
        }
    }
}

/// Detects the format of `text` and parses it; `path` names it in errors.
pub fn parse_papers(text: &str, path: &Path) -> Result<PaperList, SourceError> {
    let _ = (text, path);
    todo!("sources helper")
}

/// Reads and parses a paper list file.
pub fn read_papers_file(path: &Path) -> Result<PaperList, SourceError> {
    let text = std::fs::read_to_string(path).map_err(|source| SourceError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_papers(&text, path)
}
