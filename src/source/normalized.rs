//! paperwire's own paper list format: what `paperwire fetch` writes and what an edition's
//! frozen `papers.json` holds.
//!
//! ```json
//! {"paperwire": "papers/1", "date": "2024-05-27", "papers": [Paper, …]}
//! ```
//! Reading is strict (unknown keys, bad ids or non-http links are errors with a position):
//! this file is written by paperwire, so anything odd in it is an edit worth pointing at.
//! Writing is deterministic: the same papers and date always give the same bytes.

use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::hf_json::json_error;
use super::{Format, PaperList, SourceError, malformed_at};
use crate::diag::{Location, Problem, Problems};
use crate::paper::Paper;

/// The `paperwire` key's value for this version of the format.
pub const NORMALIZED_VERSION: &str = "papers/1";

#[derive(Serialize)]
struct Out<'a> {
    paperwire: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    date: Option<NaiveDate>,
    papers: &'a [Paper],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct In {
    #[allow(dead_code, reason = "checked before deserializing")]
    paperwire: String,
    #[serde(default)]
    date: Option<NaiveDate>,
    papers: Vec<Paper>,
}

/// The papers as paperwire's normalized JSON: pretty, deterministic, ending in a newline.
pub fn to_normalized_json(papers: &[Paper], date: Option<NaiveDate>) -> String {
    let mut s = serde_json::to_string_pretty(&Out {
        paperwire: NORMALIZED_VERSION,
        date,
        papers,
    })
    .expect("papers always serialize");
    s.push('\n');
    s
}

/// Parses a JSON object: paperwire's format, or an explanation of what the object is instead.
pub(super) fn parse_object(text: &str, path: &Path) -> Result<PaperList, SourceError> {
    // First syntax and the version key, so that another program's JSON gets a clear message
    // rather than "unknown field".
    let value: Value = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
    let Some(obj) = value.as_object() else {
        return Err(malformed_at(path, text, 0, "not a paper list"));
    };
    match obj.get("paperwire") {
        Some(Value::String(v)) if v == NORMALIZED_VERSION => {}
        Some(Value::String(v)) => {
            return Err(malformed_at(
                path,
                text,
                0,
                format!(
                    "paperwire papers format `{v}` is not supported (this version reads `{NORMALIZED_VERSION}`)"
                ),
            ));
        }
        _ => {
            let hint = obj
                .get("error")
                .and_then(Value::as_str)
                .map(|e| format!(" (the server said: {e})"))
                .unwrap_or_default();
            return Err(malformed_at(
                path,
                text,
                0,
                format!(
                    "not a paper list: a JSON object without `\"paperwire\": \"{NORMALIZED_VERSION}\"`{hint}"
                ),
            ));
        }
    }
    let parsed: In = serde_json::from_str(text).map_err(|e| json_error(path, &e))?;
    let mut problems = Vec::new();
    for (i, p) in parsed.papers.iter().enumerate() {
        if p.title.trim().is_empty() || p.abstract_text.trim().is_empty() {
            problems.push(Problem::new(
                Location::file(path),
                format!(
                    "paper {} (id {}) has an empty title or abstract",
                    i + 1,
                    p.id
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(SourceError::Malformed(Problems(problems)));
    }
    Ok(PaperList {
        papers: parsed.papers,
        skipped: 0,
        format: Format::PaperwireJson,
        date: parsed.date,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paper::{HttpUrl, PaperId};

    fn sample() -> Vec<Paper> {
        let mut a = Paper::new(PaperId::parse("2405.10000").unwrap(), "A", "Abs A");
        a.upvotes = Some(3);
        a.links.code = Some(HttpUrl::parse("https://github.com/a/b").unwrap());
        let b = Paper::new(PaperId::from_title("B"), "B <script>", "Abs {{x}}");
        vec![a, b]
    }

    #[test]
    fn round_trip_is_exact_and_deterministic() {
        let date = NaiveDate::from_ymd_opt(2024, 5, 27);
        let json = to_normalized_json(&sample(), date);
        assert_eq!(json, to_normalized_json(&sample(), date));
        assert!(json.starts_with("{\n  \"paperwire\": \"papers/1\",\n  \"date\": \"2024-05-27\","));
        let list = parse_object(&json, Path::new("p.json")).unwrap();
        assert_eq!(list.papers, sample());
        assert_eq!(list.date, date);
        assert_eq!(to_normalized_json(&list.papers, list.date), json);
    }

    #[test]
    fn other_objects_are_explained() {
        let err = parse_object(r#"{"error": "Invalid date"}"#, Path::new("p.json")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "p.json:1:1: not a paper list: a JSON object without `\"paperwire\": \"papers/1\"` (the server said: Invalid date)"
        );
        let err = parse_object(
            r#"{"paperwire": "papers/9", "papers": []}"#,
            Path::new("p.json"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("not supported"), "{err}");
    }

    #[test]
    fn unsafe_links_and_unknown_keys_are_positioned_errors() {
        let text = "{\"paperwire\": \"papers/1\", \"papers\": [\n {\"id\": \"2405.10000\", \"title\": \"T\", \"abstract\": \"A\",\n  \"links\": {\"code\": \"javascript:alert(1)\"}}]}";
        let err = parse_object(text, Path::new("p.json")).unwrap_err();
        assert!(err.to_string().starts_with("p.json:3:"), "{err}");
        assert!(err.to_string().contains("not an http(s) URL"), "{err}");
        let text = "{\"paperwire\": \"papers/1\", \"papers\": [], \"extra\": 1}";
        assert!(parse_object(text, Path::new("p.json")).is_err());
    }
}
