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
#[derive(Debug, Default)]
pub struct Lookup {
    pub found: Vec<Paper>,
    /// Ids the API answered without (no such paper, or an id it refuses).
    pub unknown: Vec<PaperId>,
    /// Ids not asked, or whose answer could not be read: nothing is known of them, so they
    /// are asked again next time.
    pub unasked: Vec<PaperId>,
    /// Why `unasked` is not empty: the API could not be reached, kept failing, or answered
    /// with something that is not its feed.
    pub trouble: Option<SourceError>,
}

/// How one request went.
enum Answer {
    Papers(Vec<Paper>),
    /// The API's error feed: it refuses an id of the request.
    Refused,
    /// No answer, or one that cannot be read.
    Failed(SourceError),
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

/// Looks up `ids` on the API at `base`. A request that fails (the API cannot be reached, keeps
/// failing, or answers with something other than its feed) stops the lookup: the ids it and
/// later requests held are `unasked`, with the reason, so that the caller asks again later.
pub async fn lookup_ids(base: &str, ids: &[PaperId], opts: &HttpOptions) -> Lookup {
    let mut out = Lookup::default();
    let http = match Http::new(opts) {
        Ok(http) => http,
        Err(e) => return out.stop(ids, e),
    };
    for (n, batch) in ids.chunks(BATCH).enumerate() {
        match ask(&http, base, batch).await {
            Answer::Papers(papers) => settle(batch, papers, &mut out),
            Answer::Refused if batch.len() > 1 => {
                for (i, id) in batch.iter().enumerate() {
                    match ask(&http, base, std::slice::from_ref(id)).await {
                        Answer::Papers(papers) => {
                            settle(std::slice::from_ref(id), papers, &mut out);
                        }
                        Answer::Refused => out.unknown.push(id.clone()),
                        Answer::Failed(e) => return out.stop(&ids[n * BATCH + i..], e),
                    }
                }
            }
            Answer::Refused => out.unknown.extend(batch.iter().cloned()),
            Answer::Failed(e) => return out.stop(&ids[n * BATCH..], e),
        }
    }
    out
}

impl Lookup {
    /// Gives up on `rest` because of `trouble`.
    fn stop(mut self, rest: &[PaperId], trouble: SourceError) -> Self {
        self.unasked = rest.to_vec();
        self.trouble = Some(trouble);
        self
    }
}

async fn ask(http: &Http, base: &str, ids: &[PaperId]) -> Answer {
    let url = match url(base, ids) {
        Ok(url) => url,
        Err(e) => return Answer::Failed(e),
    };
    let body = match http.get_text(&url, Gate::Arxiv).await {
        Ok(body) => body,
        Err(e) => return Answer::Failed(e),
    };
    let path = Path::new(url.as_str());
    let parsed =
        expect_format(&body, path, &[Format::Atom]).and_then(|()| atom::parse_feed(&body, path));
    match parsed {
        Ok(feed) => Answer::Papers(feed.list.papers),
        Err(_) if atom::is_api_error(&body, path) => Answer::Refused,
        Err(e) => Answer::Failed(e),
    }
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
