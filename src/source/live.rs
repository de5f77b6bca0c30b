//! The configured `[[source]]`s, fetched and merged into one list for an edition.
//!
//! Which day: with an explicit date, that day only. Otherwise the most recent *completed* day
//! in the newsletter's time zone that has papers, going back up to [`LOOKBACK_DAYS`] days, since
//! a day's Hugging Face list fills up during that day and weekends and holidays have none
//! (Monday's edition takes Friday's). arXiv's RSS only holds the latest announcement, so an
//! explicit date other than the listing's is an error for that source.
//!
//! A source that fails makes the whole fetch fail (a partial list would silently shrink the
//! edition; the caller retries later). A source with no papers is a warning when the others
//! have some; when nothing at all comes back the result is [`SourceError::NoPapers`], which the
//! caller reports as "no papers for DATE" and exits 0.

use std::path::Path;

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::http::{Gate, Http, HttpOptions};
use super::{
    BUNDLED_SAMPLE, BUNDLED_SAMPLE_NAME, Format, PaperList, SourceError, parse_expecting,
    parse_papers, read_papers_file,
};
use crate::config::{Settings, SourceSettings};
use crate::paper::{Paper, merge_papers};

/// How many completed days the default date looks back over for one with papers.
pub const LOOKBACK_DAYS: u64 = 7;

/// The merged papers of every configured source.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub papers: Vec<Paper>,
    /// The day the list is for: the explicit date, else the day the Hugging Face source
    /// settled on, else the date a file or the arXiv listing carries.
    pub date: Option<NaiveDate>,
    /// Items skipped (no title or abstract) across all sources.
    pub skipped: usize,
    /// Things the user should hear about that did not stop the fetch.
    pub warnings: Vec<String>,
}

/// The days a default edition tries, most recent first: the completed days before `now`'s
/// local date in `tz`.
pub fn edition_candidates(now: DateTime<Utc>, tz: chrono_tz::Tz) -> Vec<NaiveDate> {
    let today = now.with_timezone(&tz).date_naive();
    (1..=LOOKBACK_DAYS)
        .filter_map(|d| today.checked_sub_days(Days::new(d)))
        .collect()
}

/// Fetches every configured source with the production HTTP settings and merges the lists.
pub async fn fetch_all(
    settings: &Settings,
    date: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<Fetched, SourceError> {
    fetch_all_with(settings, date, now, &HttpOptions::default()).await
}

/// [`fetch_all`] with explicit HTTP settings (tests use millisecond timeouts and backoff).
pub async fn fetch_all_with(
    settings: &Settings,
    date: Option<NaiveDate>,
    now: DateTime<Utc>,
    opts: &HttpOptions,
) -> Result<Fetched, SourceError> {
    if settings.sources.is_empty() {
        return Err(SourceError::NoSources {
            path: settings.path.clone(),
        });
    }
    let tz = settings.newsletter.timezone;
    let today = now.with_timezone(&tz).date_naive();
    let needs_http = settings
        .sources
        .iter()
        .any(|s| !matches!(s, SourceSettings::File { .. }));
    let http = if needs_http {
        Some(Http::new(opts)?)
    } else {
        None
    };

    let mut lists = Vec::new();
    let mut skipped = 0;
    let mut warnings = Vec::new();
    let mut list_date: Option<NaiveDate> = None;
    let mut hf_date: Option<NaiveDate> = None;
    let mut names = Vec::new();

    for source in &settings.sources {
        let (name, list) = match source {
            SourceSettings::File { path } => {
                let list = if settings.is_bundled() {
                    (
                        BUNDLED_SAMPLE_NAME.to_owned(),
                        parse_papers(BUNDLED_SAMPLE, Path::new(BUNDLED_SAMPLE_NAME))?,
                    )
                } else {
                    (path.display().to_string(), read_papers_file(path)?)
                };
                list_date = list_date.or(list.1.date);
                list
            }
            SourceSettings::HuggingFace { url, limit } => {
                let http = http.as_ref().expect("built when a source needs HTTP");
                let (day, list) =
                    fetch_huggingface(http, url, *limit, date, now, tz, &mut warnings).await?;
                hf_date = hf_date.or(Some(day));
                (url.clone(), list)
            }
            SourceSettings::Arxiv {
                url,
                skip_replacements,
            } => {
                let http = http.as_ref().expect("built when a source needs HTTP");
                let mut list = fetch_arxiv(http, url, date).await?;
                if *skip_replacements {
                    list.papers.retain(|p| {
                        !matches!(
                            p.announce_type.as_deref(),
                            Some("replace" | "replace-cross")
                        )
                    });
                }
                list_date = list_date.or(list.date);
                (url.clone(), list)
            }
        };
        if list.skipped > 0 {
            warnings.push(format!(
                "{name}: skipped {} item{} without a title or an abstract",
                list.skipped,
                if list.skipped == 1 { "" } else { "s" }
            ));
        }
        if list.papers.is_empty() && settings.sources.len() > 1 {
            warnings.push(format!("{name}: no papers"));
        }
        skipped += list.skipped;
        names.push(name);
        lists.push(list.papers);
    }

    let date = date.or(hf_date).or(list_date);
    let papers = merge_papers(lists);
    if papers.is_empty() {
        return Err(SourceError::NoPapers {
            date: date.unwrap_or(today),
            source_name: names.join(", "),
        });
    }
    Ok(Fetched {
        papers,
        date,
        skipped,
        warnings,
    })
}

/// `url?date=YYYY-MM-DD[&limit=N]`.
fn hf_url(base: &str, day: NaiveDate, limit: Option<u32>) -> Result<url::Url, SourceError> {
    let mut url = url::Url::parse(base)
        .map_err(|e| SourceError::Unsupported(format!("source url `{base}`: {e}")))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("date", &day.format("%Y-%m-%d").to_string());
        if let Some(n) = limit {
            q.append_pair("limit", &n.to_string());
        }
    }
    Ok(url)
}

/// One day's Hugging Face list: the explicit day, or the most recent completed day with papers.
async fn fetch_huggingface(
    http: &Http,
    base: &str,
    limit: Option<u32>,
    date: Option<NaiveDate>,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
    warnings: &mut Vec<String>,
) -> Result<(NaiveDate, PaperList), SourceError> {
    let days = match date {
        Some(d) => vec![d],
        None => edition_candidates(now, tz),
    };
    let mut empty_days = Vec::new();
    for day in &days {
        let url = hf_url(base, *day, limit)?;
        let body = http.get_text(&url, Gate::None).await?;
        let mut list = parse_expecting(&body, Path::new(url.as_str()), Format::HuggingFaceJson)?;
        if let Some(n) = limit {
            list.papers.truncate(n as usize);
        }
        if !list.papers.is_empty() {
            if !empty_days.is_empty() {
                warnings.push(format!(
                    "{base}: no papers for {}; using {day}",
                    empty_days
                        .iter()
                        .map(NaiveDate::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            return Ok((*day, list));
        }
        empty_days.push(*day);
    }
    // Nothing in the whole window: report the day the edition would have been for.
    let day = days[0];
    Ok((
        day,
        PaperList {
            papers: Vec::new(),
            skipped: 0,
            format: Format::HuggingFaceJson,
            date: Some(day),
        },
    ))
}

/// The arXiv listing, which only holds the latest announcement.
async fn fetch_arxiv(
    http: &Http,
    base: &str,
    date: Option<NaiveDate>,
) -> Result<PaperList, SourceError> {
    let url = url::Url::parse(base)
        .map_err(|e| SourceError::Unsupported(format!("source url `{base}`: {e}")))?;
    let body = http.get_text(&url, Gate::Arxiv).await?;
    let list = parse_expecting(&body, Path::new(url.as_str()), Format::ArxivRss)?;
    if let Some(want) = date {
        match list.date {
            Some(have) if have == want => {}
            have => {
                return Err(SourceError::Unsupported(format!(
                    "{base}: the arXiv RSS listing only holds the latest announcement ({}); it cannot give {want}",
                    have.map_or_else(|| "of unknown date".to_owned(), |d| d.to_string())
                )));
            }
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_completed_local_days() {
        // 2024-05-27 is a Monday; 03:00 UTC is still Sunday evening in New York.
        let now = DateTime::parse_from_rfc3339("2024-05-27T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let utc = edition_candidates(now, chrono_tz::UTC);
        assert_eq!(utc[0], NaiveDate::from_ymd_opt(2024, 5, 26).unwrap());
        assert_eq!(utc.len(), LOOKBACK_DAYS as usize);
        let ny = edition_candidates(now, chrono_tz::America::New_York);
        assert_eq!(ny[0], NaiveDate::from_ymd_opt(2024, 5, 25).unwrap());
    }

    #[test]
    fn hf_urls_carry_date_and_limit() {
        let d = NaiveDate::from_ymd_opt(2024, 5, 24).unwrap();
        assert_eq!(
            hf_url("https://huggingface.co/api/daily_papers", d, Some(50))
                .unwrap()
                .as_str(),
            "https://huggingface.co/api/daily_papers?date=2024-05-24&limit=50"
        );
        assert_eq!(
            hf_url("http://127.0.0.1:9/x?a=b", d, None)
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/x?a=b&date=2024-05-24"
        );
    }
}
