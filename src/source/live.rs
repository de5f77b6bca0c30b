//! The configured `[[source]]`s, fetched and merged into one list for an edition.
//!
//! Which day — the edition's day: with an explicit date, that day. Otherwise the sources that
//! can be asked for any day (Hugging Face, an arXiv source with a `query`) settle it, in config
//! order: the first takes the most recent *completed* day in the newsletter's time zone that has
//! papers, going back up to [`LOOKBACK_DAYS`] days (a day's Hugging Face list fills up during
//! that day, and weekends and holidays have none: Monday's edition takes Friday's); the others
//! are asked for that same day.
//!
//! Listings — arXiv's RSS or Atom listing, a file that names its day — hold one announcement
//! and cannot be asked for another. A listing whose day is not the edition's day is **left out
//! with a warning**, never merged: its papers belong to another edition. When nothing but
//! listings is configured, the edition's day is the newest listing's own day, provided it is no
//! more than [`LOOKBACK_DAYS`] days old; an older one is stale and gives no papers ("no papers
//! for …", exit 0, saying why). With an explicit date that no source can give — only listings,
//! all of another day — the fetch is an error (exit 2): the request cannot be answered. Lists
//! that carry no day (page text, a Hugging Face JSON file, most non-arXiv feeds) are merged as
//! they are.
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
    parse_papers, read_papers_file, warn_empty_days,
};
use crate::config::{Settings, SourceSettings};
use crate::paper::{Paper, merge_papers};

/// How many completed days the default date looks back over for one with papers; also how old
/// a listing may be when only listings are configured.
pub const LOOKBACK_DAYS: u64 = 7;

/// The merged papers of every configured source.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub papers: Vec<Paper>,
    /// The edition's day: the explicit date, else the day the first day-seeking source settled
    /// on, else the newest listing's day (see the module docs).
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

/// One source's list, by the name it goes by in messages.
struct Got {
    name: String,
    list: PaperList,
    /// Why the list was left out of the edition, if it was.
    left_out: Option<String>,
}

/// Whether a source can be asked for any day (rather than holding one listing).
fn seeks_a_day(source: &SourceSettings) -> bool {
    matches!(
        source,
        SourceSettings::HuggingFace { .. } | SourceSettings::Arxiv { query: Some(_), .. }
    )
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
    let http = if settings
        .sources
        .iter()
        .any(|s| !matches!(s, SourceSettings::File { .. }))
    {
        Some(Http::new(opts)?)
    } else {
        None
    };
    let http = http.as_ref();
    let mut warnings = Vec::new();
    let mut got: Vec<Option<Got>> = settings.sources.iter().map(|_| None).collect();
    // Day-seeking sources first: the first settles the day, the others are asked for it.
    let mut day = date;
    for (i, source) in settings.sources.iter().enumerate() {
        if seeks_a_day(source) {
            let (settled, g) = fetch_day_source(http, source, day, now, tz, &mut warnings).await?;
            day = day.or(Some(settled));
            got[i] = Some(g);
        }
    }
    let day_given = day.is_some();
    for (i, source) in settings.sources.iter().enumerate() {
        if !seeks_a_day(source) {
            got[i] = Some(fetch_listing(settings, http, source).await?);
        }
    }
    let mut got: Vec<Got> = got.into_iter().flatten().collect();
    let day = settle_listings(&mut got, day, date.is_some(), day_given, today)?;
    finish(got, day, today, warnings, settings.sources.len() > 1)
}

/// One Hugging Face or arXiv API source: the day it settled on, and its list.
async fn fetch_day_source(
    http: Option<&Http>,
    source: &SourceSettings,
    day: Option<NaiveDate>,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
    warnings: &mut Vec<String>,
) -> Result<(NaiveDate, Got), SourceError> {
    let http = http.expect("built when a source needs HTTP");
    let days = match day {
        Some(d) => vec![d],
        None => edition_candidates(now, tz),
    };
    let (name, (settled, list)) = match source {
        SourceSettings::HuggingFace { url, limit } => (
            url.clone(),
            fetch_huggingface(http, url, *limit, &days, warnings).await?,
        ),
        SourceSettings::Arxiv {
            url,
            query: Some(query),
            limit,
            ..
        } => (
            url.clone(),
            super::arxiv_api::fetch(http, url, query, *limit, &days, warnings).await?,
        ),
        _ => unreachable!("only day-seeking sources come here"),
    };
    Ok((
        settled,
        Got {
            name,
            list,
            left_out: None,
        },
    ))
}

/// One listing or file source.
async fn fetch_listing(
    settings: &Settings,
    http: Option<&Http>,
    source: &SourceSettings,
) -> Result<Got, SourceError> {
    let (name, list) = match source {
        SourceSettings::File { path } => {
            if settings.is_bundled() {
                (
                    BUNDLED_SAMPLE_NAME.to_owned(),
                    parse_papers(BUNDLED_SAMPLE, Path::new(BUNDLED_SAMPLE_NAME))?,
                )
            } else {
                (path.display().to_string(), read_papers_file(path)?)
            }
        }
        SourceSettings::Arxiv {
            url,
            skip_replacements,
            ..
        } => {
            let http = http.expect("built when a source needs HTTP");
            let mut list = fetch_arxiv_listing(http, url).await?;
            if *skip_replacements {
                list.papers.retain(|p| {
                    !matches!(
                        p.announce_type.as_deref(),
                        Some("replace" | "replace-cross")
                    )
                });
            }
            (url.clone(), list)
        }
        SourceSettings::HuggingFace { .. } => unreachable!("Hugging Face seeks a day"),
    };
    Ok(Got {
        name,
        list,
        left_out: None,
    })
}

/// Leaves out every listing whose day is not the edition's day, and returns that day. With no
/// day given (neither a date nor a day-seeking source), the newest recent listing sets it.
fn settle_listings(
    got: &mut [Got],
    day: Option<NaiveDate>,
    explicit: bool,
    day_given: bool,
    today: NaiveDate,
) -> Result<Option<NaiveDate>, SourceError> {
    let oldest = today.checked_sub_days(Days::new(LOOKBACK_DAYS));
    let day = if day_given {
        day
    } else {
        // Only listings and undated lists: the newest listing's day, if it is recent.
        got.iter()
            .filter_map(|g| g.list.date)
            .max()
            .filter(|d| oldest.is_none_or(|o| *d >= o))
    };
    for g in got.iter_mut() {
        let Some(listed) = g.list.date else { continue };
        if Some(listed) == day {
            continue;
        }
        g.left_out = Some(match day {
            Some(d) => format!("its listing is for {listed}, not the edition's day {d}"),
            None => format!(
                "its listing is for {listed}, more than {LOOKBACK_DAYS} days before {today}: stale"
            ),
        });
    }
    let all_left_out = got.iter().all(|g| g.left_out.is_some());
    if explicit && all_left_out {
        let d = day.expect("an explicit date");
        let why = got
            .iter()
            .map(|g| {
                format!(
                    "{}: the listing only holds the latest announcement ({}); it cannot give {d}",
                    g.name,
                    g.list
                        .date
                        .map_or_else(|| "of unknown date".to_owned(), |x| x.to_string())
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Err(SourceError::Unsupported(why));
    }
    Ok(day)
}

/// Merges what was not left out; warns about the rest.
fn finish(
    got: Vec<Got>,
    day: Option<NaiveDate>,
    today: NaiveDate,
    mut warnings: Vec<String>,
    several: bool,
) -> Result<Fetched, SourceError> {
    let mut skipped = 0;
    let mut names = Vec::new();
    let mut lists = Vec::new();
    for g in got {
        if let Some(why) = &g.left_out {
            let n = g.list.papers.len();
            warnings.push(format!(
                "{}: left out {n} paper{}: {why}",
                g.name,
                if n == 1 { "" } else { "s" }
            ));
            names.push(format!("{} ({why})", g.name));
            continue;
        }
        if g.list.skipped > 0 {
            warnings.push(format!(
                "{}: skipped {} item{} without a title or an abstract",
                g.name,
                g.list.skipped,
                if g.list.skipped == 1 { "" } else { "s" }
            ));
        }
        if g.list.papers.is_empty() && several {
            warnings.push(format!("{}: no papers", g.name));
        }
        skipped += g.list.skipped;
        names.push(g.name);
        lists.push(g.list.papers);
    }
    let papers = merge_papers(lists);
    if papers.is_empty() {
        return Err(SourceError::NoPapers {
            date: day.unwrap_or(today),
            source_name: names.join(", "),
        });
    }
    Ok(Fetched {
        papers,
        date: day,
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

/// One day's Hugging Face list: the first of `days` (the explicit day, or the completed days
/// most recent first) that has papers.
async fn fetch_huggingface(
    http: &Http,
    base: &str,
    limit: Option<u32>,
    days: &[NaiveDate],
    warnings: &mut Vec<String>,
) -> Result<(NaiveDate, PaperList), SourceError> {
    let mut empty_days = Vec::new();
    for day in days {
        let url = hf_url(base, *day, limit)?;
        let body = http.get_text(&url, Gate::None).await?;
        let mut list = parse_expecting(&body, Path::new(url.as_str()), &[Format::HuggingFaceJson])?;
        if let Some(n) = limit {
            list.papers.truncate(n as usize);
        }
        if !list.papers.is_empty() {
            warn_empty_days(base, &empty_days, *day, warnings);
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

/// An arXiv listing (RSS or Atom), which only holds the latest announcement.
async fn fetch_arxiv_listing(http: &Http, base: &str) -> Result<PaperList, SourceError> {
    let url = url::Url::parse(base)
        .map_err(|e| SourceError::Unsupported(format!("source url `{base}`: {e}")))?;
    let body = http.get_text(&url, Gate::Arxiv).await?;
    parse_expecting(
        &body,
        Path::new(url.as_str()),
        &[Format::ArxivRss, Format::Atom],
    )
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
