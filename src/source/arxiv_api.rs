//! The arXiv API (`export.arxiv.org/api/query`) as a source: a configured `search_query`
//! (`cat:cs.LG AND abs:diffusion`), restricted to the papers submitted on the edition's day,
//! read page by page.
//!
//! The day is a `submittedDate:[YYYYMMDD0000 TO YYYYMMDD2359]` clause (arXiv reads it in GMT),
//! so unlike a listing this source can give any day. Pages of [`PAGE_SIZE`] go through the
//! process-wide arXiv gate, 3 s apart, as arXiv's terms ask; paging stops at
//! `<opensearch:totalResults>` or at the source's `limit` (default [`DEFAULT_LIMIT`], the size
//! arXiv suggests a query should stay under), newest first. An empty page before the total is
//! reached is arXiv's known hiccup: a partial list would silently shrink the edition, so it is
//! "try again later", like a 503.

use std::path::Path;

use chrono::NaiveDate;

use super::http::{Gate, Http};
use super::{Format, PaperList, SourceError, atom, expect_format, warn_empty_days};

/// Results asked for per request.
pub const PAGE_SIZE: usize = 100;
/// Papers taken from one query and day when the source sets no `limit`.
pub const DEFAULT_LIMIT: usize = 1000;

/// `base?search_query=(QUERY) AND submittedDate:[…]&start=…&max_results=…&sortBy=…`.
pub(super) fn page_url(
    base: &str,
    query: &str,
    day: NaiveDate,
    start: usize,
    max_results: usize,
) -> Result<url::Url, SourceError> {
    let mut url = url::Url::parse(base)
        .map_err(|e| SourceError::Unsupported(format!("source url `{base}`: {e}")))?;
    let d = day.format("%Y%m%d");
    url.query_pairs_mut()
        .append_pair(
            "search_query",
            &format!("({query}) AND submittedDate:[{d}0000 TO {d}2359]"),
        )
        .append_pair("start", &start.to_string())
        .append_pair("max_results", &max_results.to_string())
        .append_pair("sortBy", "submittedDate")
        .append_pair("sortOrder", "descending");
    Ok(url)
}

/// The first of `days` with papers for `query`, and its papers.
pub(super) async fn fetch(
    http: &Http,
    base: &str,
    query: &str,
    limit: Option<u32>,
    days: &[NaiveDate],
    warnings: &mut Vec<String>,
) -> Result<(NaiveDate, PaperList), SourceError> {
    let cap = limit.map_or(DEFAULT_LIMIT, |n| n as usize).max(1);
    let mut empty_days = Vec::new();
    for &day in days {
        let list = fetch_day(http, base, query, cap, day, warnings).await?;
        if !list.papers.is_empty() {
            warn_empty_days(base, &empty_days, day, warnings);
            return Ok((day, list));
        }
        empty_days.push(day);
    }
    Ok((
        days[0],
        PaperList {
            papers: Vec::new(),
            skipped: 0,
            format: Format::Atom,
            date: None,
        },
    ))
}

/// Every page of one day's answer, up to `cap` papers.
async fn fetch_day(
    http: &Http,
    base: &str,
    query: &str,
    cap: usize,
    day: NaiveDate,
    warnings: &mut Vec<String>,
) -> Result<PaperList, SourceError> {
    let mut papers = Vec::new();
    let mut skipped = 0;
    let mut start = 0;
    loop {
        let want = PAGE_SIZE.min(cap - papers.len());
        let url = page_url(base, query, day, start, want)?;
        let body = http.get_text(&url, Gate::Arxiv).await?;
        let path = Path::new(url.as_str());
        expect_format(&body, path, &[Format::Atom])?;
        let page = atom::parse_feed(&body, path)?;
        let total = page.total_results.unwrap_or(start + page.entries);
        start += page.entries;
        skipped += page.list.skipped;
        papers.extend(page.list.papers);
        if start >= total {
            break;
        }
        if page.entries == 0 {
            return Err(SourceError::Unavailable {
                url: url.to_string(),
                message: format!(
                    "the API answered an empty page after {start} of {total} results (a partial list); try again later"
                ),
                later: crate::exit::Temporary,
            });
        }
        if papers.len() >= cap {
            warnings.push(format!(
                "{base}: `{query}` has {total} papers submitted on {day}; took the newest {cap} (raise the source's `limit` or narrow its `query`)"
            ));
            break;
        }
    }
    papers.truncate(cap);
    Ok(PaperList {
        papers: crate::paper::merge_papers([papers]),
        skipped,
        format: Format::Atom,
        date: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_urls_carry_query_day_and_paging() {
        let d = NaiveDate::from_ymd_opt(2024, 5, 24).unwrap();
        let url = page_url(
            "https://export.arxiv.org/api/query",
            "cat:cs.LG AND abs:diffusion",
            d,
            100,
            50,
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://export.arxiv.org/api/query?search_query=%28cat%3Acs.LG+AND+abs%3Adiffusion%29+AND+submittedDate%3A%5B202405240000+TO+202405242359%5D&start=100&max_results=50&sortBy=submittedDate&sortOrder=descending"
        );
    }
}
