//! Papers by arXiv id from the arXiv API (`…/api/query?id_list=…`): for the papers readers
//! liked that no earlier edition holds. Ids go [`BATCH`] to a request, through the process-wide
//! arXiv gate (3 s apart, as arXiv's terms ask). A batch the API refuses as a whole (its error
//! feed, for an id it thinks malformed) is asked again one id at a time, so that one bad id
//! cannot hide the others.

use std::path::Path;

use super::http::{Gate, Http, HttpOptions};
use super::{Format, SourceError, atom, expect_format};
use crate::paper::{Paper, PaperId};

/// Ids per request.
pub const BATCH: usize = 50;

/// What the API said about some ids.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    pub found: Vec<Paper>,
    /// Ids the API answered without (no such paper, or an id it refuses).
    pub unknown: Vec<PaperId>,
}

/// `base?id_list=a,b,c&max_results=n`.
fn url(base: &str, ids: &[PaperId]) -> Result<url::Url, SourceError> {
    let mut url = url::Url::parse(base)
        .map_err(|e| SourceError::Unsupported(format!("arXiv API url `{base}`: {e}")))?;
    let list: Vec<&str> = ids.iter().map(PaperId::as_str).collect();
    url.query_pairs_mut()
        .append_pair("id_list", &list.join(","))
        .append_pair("max_results", &ids.len().to_string());
    Ok(url)
}

/// Looks up `ids` on the API at `base`; fails only when the API cannot be reached (or keeps
/// failing), so that the caller can try again later.
pub async fn lookup_ids(
    base: &str,
    ids: &[PaperId],
    opts: &HttpOptions,
) -> Result<Lookup, SourceError> {
    let http = Http::new(opts)?;
    let mut out = Lookup::default();
    for batch in ids.chunks(BATCH) {
        match ask(&http, base, batch).await {
            Ok(papers) => settle(batch, papers, &mut out),
            Err(SourceError::Malformed(_)) if batch.len() > 1 => {
                for id in batch {
                    match ask(&http, base, std::slice::from_ref(id)).await {
                        Ok(papers) => settle(std::slice::from_ref(id), papers, &mut out),
                        Err(SourceError::Malformed(_)) => out.unknown.push(id.clone()),
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(SourceError::Malformed(_)) => out.unknown.extend(batch.iter().cloned()),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

async fn ask(http: &Http, base: &str, ids: &[PaperId]) -> Result<Vec<Paper>, SourceError> {
    let url = url(base, ids)?;
    let body = http.get_text(&url, Gate::Arxiv).await?;
    let path = Path::new(url.as_str());
    expect_format(&body, path, &[Format::Atom])?;
    Ok(atom::parse_feed(&body, path)?.list.papers)
}

/// The papers of `batch` the answer holds; the rest are unknown.
fn settle(batch: &[PaperId], papers: Vec<Paper>, out: &mut Lookup) {
    for id in batch {
        if !papers.iter().any(|p| &p.id == id) {
            out.unknown.push(id.clone());
        }
    }
    out.found
        .extend(papers.into_iter().filter(|p| batch.contains(&p.id)));
}
