//! Editions: the id of one issue of the newsletter, and how far one got.
//!
//! The id is the send date in the newsletter's time zone (`2026-11-28`), or any
//! `[0-9A-Za-z._-]+` given with `--edition` (a schedule that fires twice a day). It names the
//! edition's directory under `state.dir/editions/` (see [`crate::state`]) and goes into every
//! Message-ID, so it must be safe in both.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a string is not an edition id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EditionIdError {
    #[error("`{0}` is not an edition id (letters, digits, `.`, `_` and `-` only)")]
    Invalid(String),
    /// Starts like a date (`YYYY-MM-DD`) but is not one: the edition's date comes from it, so
    /// `2026-13-01` would be sent as today's edition under a wrong name.
    #[error("{}", not_a_date(.0, .1))]
    NotADate(String, String),
}

fn not_a_date(id: &str, prefix: &str) -> String {
    let what = if id == prefix {
        format!("edition `{id}` is not a date")
    } else {
        format!("edition `{id}` starts like a date, but `{prefix}` is not one")
    };
    format!(
        "{what}: an edition id that starts with YYYY-MM-DD must start with a real date (other ids, such as `morning`, are fine)"
    )
}

/// An edition's id: safe as a directory name and inside a Message-ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EditionId(String);

impl EditionId {
    pub fn parse(raw: &str) -> Result<Self, EditionIdError> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw != "."
            && raw != ".."
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            return Err(EditionIdError::Invalid(raw.to_owned()));
        }
        if let Some(prefix) = date_prefix(raw)
            && chrono::NaiveDate::parse_from_str(prefix, "%Y-%m-%d").is_err()
        {
            return Err(EditionIdError::NotADate(raw.to_owned(), prefix.to_owned()));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The edition of a local date.
    pub fn for_date(date: chrono::NaiveDate) -> Self {
        Self(date.format("%Y-%m-%d").to_string())
    }

    /// The date this id names, when it is one (`2026-11-28`, or `2026-11-28T0700`-style ids
    /// that start with a date).
    pub fn date(&self) -> Option<chrono::NaiveDate> {
        self.0
            .get(..10)
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The first ten characters when they have the shape `dddd-dd-dd`.
fn date_prefix(raw: &str) -> Option<&str> {
    let prefix = raw.get(..10)?;
    let shaped = prefix.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        _ => b.is_ascii_digit(),
    });
    shaped.then_some(prefix)
}

impl TryFrom<String> for EditionId {
    type Error = EditionIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EditionId> for String {
    fn from(id: EditionId) -> Self {
        id.0
    }
}

impl fmt::Display for EditionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How far an edition got (read from its state by [`crate::state`], used by the scheduler).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditionProgress {
    /// No send of it has started (no frozen list, journal or report).
    NotStarted,
    /// Started, but interrupted, cut short by a crash, or with deferred recipients left.
    Incomplete,
    /// Its last run finished with nothing left to retry (permanent failures stay failed).
    Complete,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edition_ids_are_safe_names() {
        assert!(EditionId::parse("2026-11-28").is_ok());
        assert!(EditionId::parse("2026-11-28T07.00_b").is_ok());
        for bad in ["", "..", "a/b", "a b", "é"] {
            assert!(EditionId::parse(bad).is_err(), "{bad}");
        }
        // An id that starts like a date must start with a real one; other ids are free.
        for bad in ["2026-13-01", "2026-02-30", "2026-00-10T07", "0000-00-00"] {
            assert!(
                matches!(EditionId::parse(bad), Err(EditionIdError::NotADate(..))),
                "{bad}"
            );
        }
        for good in [
            "morning",
            "2026-11-28T0700",
            "2024-02-29",
            "2026-1-1",
            "20261301",
        ] {
            assert!(EditionId::parse(good).is_ok(), "{good}");
        }
        assert_eq!(
            EditionId::parse("2026-11-28").unwrap().date(),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 28)
        );
    }
}
