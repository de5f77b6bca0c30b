//! The Hugging Face daily papers API (`GET /api/daily_papers?date=…`) as papers.
//!
//! The API is not ours and changes: fields come and go, some are `null`, casing is mixed
//! (`ai_summary` next to `githubRepo`). So items are read leniently from a JSON tree: a field
//! that is missing, null or of an unexpected type is treated as absent; an item without a
//! title or an abstract is skipped and counted; only the JSON syntax itself is strict (with
//! the line and column of the first error). Links pass through [`HttpUrl::parse_opt`], so
//! `javascript:` and relative links never reach an email. Authors marked `"hidden": true`
//! asked not to be shown and are left out. Items of the 2024 shape have no
//! `submittedOnDailyAt`: the item's own `publishedAt` (when it was put on the daily list) is
//! the submission time then.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Format, PaperList, SourceError, clean_text, malformed_at};
use crate::diag::{Location, Problems};
use crate::paper::{HttpUrl, Paper, PaperId};

/// The location of a serde_json error.
pub(super) fn json_error(path: &Path, err: &serde_json::Error) -> SourceError {
    let what = match err.classify() {
        serde_json::error::Category::Eof => "the JSON ends too early (truncated?)",
        serde_json::error::Category::Syntax => "malformed JSON",
        serde_json::error::Category::Data => "unexpected JSON content",
        serde_json::error::Category::Io => "cannot read JSON",
    };
    let msg = err.to_string();
    // serde_json appends " at line L column C"; we put the position in front instead.
    let msg = msg
        .rsplit_once(" at line ")
        .map_or(msg.as_str(), |(head, _)| head);
    SourceError::Malformed(Problems::one(
        Location {
            path: path.to_owned(),
            line: err.line().max(1),
            col: err.column().max(1),
        },
        format!("{what}: {msg}"),
    ))
}

pub(super) fn parse(text: &str, path: &Path) -> Result<PaperList, SourceError> {
    let value: Value = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
    let Value::Array(items) = value else {
        return Err(malformed_at(
            path,
            text,
            0,
            "not a paper list: expected a JSON array of papers",
        ));
    };
    parse_items(&items)
}

/// Papers from the items of the API's array.
pub(super) fn parse_items(items: &[Value]) -> Result<PaperList, SourceError> {
    let (papers, skipped) = super::collect_papers(items, paper_from_item);
    Ok(PaperList {
        papers,
        skipped,
        format: Format::HuggingFaceJson,
        date: None,
    })
}

/// The first non-empty string among `keys` of the objects `on`, in order.
fn text<'a>(on: &[&'a Value], keys: &[&str]) -> Option<&'a str> {
    on.iter()
        .flat_map(|v| keys.iter().map(move |k| v.get(k)))
        .flatten()
        .filter_map(Value::as_str)
        .find(|s| !s.trim().is_empty())
}

fn count(on: &[&Value], keys: &[&str]) -> Option<u32> {
    on.iter()
        .flat_map(|v| keys.iter().map(move |k| v.get(k)))
        .flatten()
        .find_map(|v| {
            v.as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        })
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

fn time(on: &[&Value], keys: &[&str]) -> Option<DateTime<Utc>> {
    text(on, keys)
        .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn strings(on: &[&Value], keys: &[&str]) -> Vec<String> {
    on.iter()
        .flat_map(|v| keys.iter().map(move |k| v.get(k)))
        .flatten()
        .filter_map(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(clean_text)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        })
        .find(|v| !v.is_empty())
        .unwrap_or_default()
}

fn paper_from_item(item: &Value) -> Option<Paper> {
    if !item.is_object() {
        return None;
    }
    // Daily papers nest the paper under `paper`; other HF endpoints return it flat.
    let paper = item.get("paper").filter(|p| p.is_object()).unwrap_or(item);
    let both = [paper, item];
    let title = clean_text(text(&both, &["title"])?);
    let abstract_text = clean_text(text(&both, &["summary", "abstract"])?);
    if title.is_empty() || abstract_text.is_empty() {
        return None;
    }
    let arxiv_id = text(&[paper], &["id"]).and_then(|s| PaperId::parse(s).ok());
    let id = arxiv_id
        .clone()
        .unwrap_or_else(|| PaperId::from_title(&title));
    let mut p = Paper::new(id, title, abstract_text);
    if let Some(id) = &arxiv_id {
        p.links.hf = HttpUrl::parse_opt(Some(&format!("https://huggingface.co/papers/{id}")));
    }
    p.authors = paper
        .get("authors")
        .and_then(Value::as_array)
        .map(|authors| {
            authors
                .iter()
                .filter(|a| a.get("hidden").and_then(Value::as_bool) != Some(true))
                .filter_map(|a| a.get("name").and_then(Value::as_str).or_else(|| a.as_str()))
                .map(clean_text)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    p.links.code = HttpUrl::parse_opt(text(&both, &["githubRepo", "github_repo"]));
    p.links.project = HttpUrl::parse_opt(text(&both, &["projectPage", "project_page"]));
    p.upvotes = count(&both, &["upvotes"]);
    p.comments = count(&[item, paper], &["numComments", "num_comments"]);
    p.github_stars = count(&both, &["githubStars", "github_stars"]);
    p.thumbnail = HttpUrl::parse_opt(text(&[item, paper], &["thumbnail"]));
    p.published_at = time(&both, &["publishedAt", "published_at"]);
    p.submitted_at = time(&both, &["submittedOnDailyAt", "submitted_on_daily_at"]).or_else(|| {
        // The 2024 shape: the item (not the nested paper) says when it joined the list.
        let nested = !std::ptr::eq(paper, item);
        nested
            .then(|| time(&[item], &["publishedAt", "published_at"]))
            .flatten()
    });
    p.ai_summary = text(&both, &["ai_summary", "aiSummary"])
        .map(clean_text)
        .filter(|s| !s.is_empty());
    p.ai_keywords = strings(&both, &["ai_keywords", "aiKeywords"]);
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<PaperList, SourceError> {
        parse(text, Path::new("hf.json"))
    }

    #[test]
    fn a_full_item() {
        let text = r#"[{"paper": {"id": "2405.10000v2", "title": " T ", "summary": "S\nwrapped",
            "authors": [{"name": "A One", "hidden": false}, {"name": ""}], "upvotes": 7,
            "publishedAt": "2024-05-20T17:59:59.000Z", "submittedOnDailyAt": "2024-05-27T00:00:00.000Z",
            "ai_summary": "AI", "ai_keywords": ["k1", "k2"], "githubRepo": "https://github.com/a/b",
            "githubStars": 3, "projectPage": "javascript:alert(1)", "somethingNew": {"x": 1}},
          "thumbnail": "https://cdn.example/t.png", "numComments": 2, "title": "T", "extra": null}]"#;
        let list = p(text).unwrap();
        assert_eq!(list.skipped, 0);
        let paper = &list.papers[0];
        assert_eq!(paper.id.as_str(), "2405.10000");
        assert_eq!(paper.title, "T");
        assert_eq!(paper.abstract_text, "S wrapped");
        assert_eq!(paper.authors, ["A One"]);
        assert_eq!(paper.upvotes, Some(7));
        assert_eq!(paper.comments, Some(2));
        assert_eq!(paper.github_stars, Some(3));
        assert_eq!(
            paper.links.hf.as_ref().unwrap().as_str(),
            "https://huggingface.co/papers/2405.10000"
        );
        assert_eq!(
            paper.links.code.as_ref().unwrap().as_str(),
            "https://github.com/a/b"
        );
        assert_eq!(paper.links.project, None);
        assert_eq!(
            paper.thumbnail.as_ref().unwrap().as_str(),
            "https://cdn.example/t.png"
        );
        assert_eq!(paper.ai_summary.as_deref(), Some("AI"));
        assert_eq!(paper.ai_keywords, ["k1", "k2"]);
        assert_eq!(
            paper.submitted_at.unwrap().to_rfc3339(),
            "2024-05-27T00:00:00+00:00"
        );
    }

    #[test]
    fn hidden_authors_are_left_out_and_the_2024_shape_has_a_submission_time() {
        let text = r#"[{"paper": {"id": "2405.09818", "title": "T", "summary": "S",
            "authors": [{"_id": "1", "name": "Shown", "hidden": false},
                        {"_id": "2", "name": "Hidden", "hidden": true},
                        {"_id": "3", "name": "No flag"}],
            "publishedAt": "2024-05-16T05:05:12.000Z", "upvotes": 113},
          "publishedAt": "2024-05-17T02:39:30.112Z", "title": "T", "numComments": 6}]"#;
        let paper = &p(text).unwrap().papers[0];
        assert_eq!(paper.authors, ["Shown", "No flag"]);
        assert_eq!(
            paper.published_at.unwrap().to_rfc3339(),
            "2024-05-16T05:05:12+00:00"
        );
        assert_eq!(
            paper.submitted_at.unwrap().to_rfc3339(),
            "2024-05-17T02:39:30.112+00:00"
        );
        // A flat item has only one publishedAt: it is not also the submission time.
        let flat = r#"[{"id": "2405.09818", "title": "T", "summary": "S", "publishedAt": "2024-05-16T05:05:12.000Z"}]"#;
        assert_eq!(p(flat).unwrap().papers[0].submitted_at, None);
    }

    #[test]
    fn nulls_and_wrong_types_are_absent() {
        let text = r#"[{"paper": {"id": null, "title": "T", "summary": "S", "authors": null,
            "upvotes": "many", "githubRepo": null, "ai_keywords": null, "publishedAt": "yesterday"},
            "numComments": null, "thumbnail": null}]"#;
        let paper = &p(text).unwrap().papers[0];
        assert_eq!(paper.id, PaperId::from_title("T"));
        assert_eq!(paper.links.hf, None);
        assert_eq!(paper.upvotes, None);
        assert_eq!(paper.published_at, None);
        assert!(paper.authors.is_empty());
    }

    #[test]
    fn items_without_title_or_abstract_are_counted() {
        let text = r#"[{"paper": {"id": "2405.00001", "title": "", "summary": "S"}},
            {"paper": {"id": "2405.00002", "title": "T"}}, 5, null,
            {"paper": {"id": "2405.00003", "title": "T3", "summary": "S3"}}]"#;
        let list = p(text).unwrap();
        assert_eq!(list.skipped, 4);
        assert_eq!(list.papers.len(), 1);
    }

    #[test]
    fn truncated_json_has_a_position() {
        let err = p("[\n  {\"paper\": {\"title\": \"T\"").unwrap_err();
        let s = err.to_string();
        assert!(s.starts_with("hf.json:2:"), "{s}");
        assert!(s.contains("truncated"), "{s}");
        let err = p("[\n {\"paper\": {,}}]").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("hf.json:2:13: malformed JSON: key must be a string"),
            "{err}"
        );
    }
}
