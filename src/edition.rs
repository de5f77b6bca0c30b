//! Editions: the id of one issue of the newsletter, and how far one got.
//!
//! The id is the send date in the newsletter's time zone (`2026-11-28`), or any
//! `[0-9A-Za-z._-]+` given with `--edition` (a schedule that fires twice a day). It names the
//! edition's directory under `state.dir/editions/` (see [`crate::state`]) and goes into every
//! Message-ID, so it must be safe in both.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an edition id (letters, digits, `.`, `_` and `-` only)")]
pub struct EditionIdError(pub String);

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
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(EditionIdError(raw.to_owned()))
        }
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
        assert_eq!(
            EditionId::parse("2026-11-28").unwrap().date(),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 28)
        );
    }
}
