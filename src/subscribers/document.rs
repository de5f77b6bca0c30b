//! Comment-preserving changes to the list's TOML document.
//!
//! Every edit parses the file into a `toml_edit` document, changes only the entry it is about,
//! and prints the document back: everything else — comments, blank lines, key alignment, the
//! presence or absence of a final newline — stays byte for byte. Adding an entry and removing it
//! again gives back the original file exactly.

use std::path::Path;

use toml_edit::{Array, ArrayOfTables, Datetime, DocumentMut, Item, Table, Value};

use super::{SubscriberEmail, SubscriberError};
use crate::diag::{Location, Problems, line_col};

/// The list as an editable document.
pub(super) struct Roster {
    doc: DocumentMut,
    /// Whether the file as read ended with a newline (or was empty); printing keeps it so.
    ends_with_newline: bool,
}

impl Roster {
    pub(super) fn parse(text: &str, path: &Path) -> Result<Self, SubscriberError> {
        let doc = text.parse::<DocumentMut>().map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            SubscriberError::Invalid(Problems::one(
                Location::at(path, text, offset),
                e.message().trim().to_owned(),
            ))
        })?;
        let roster = Self {
            doc,
            ends_with_newline: text.is_empty() || text.ends_with('\n'),
        };
        match roster.doc.get("subscriber") {
            None | Some(Item::ArrayOfTables(_)) => Ok(roster),
            Some(_) => Err(SubscriberError::Unsupported {
                path: path.to_owned(),
                message: "paperwire edits lists written as [[subscriber]] tables only; \
                          rewrite `subscriber = [...]` as [[subscriber]] tables"
                    .to_owned(),
            }),
        }
    }

    /// The document as text.
    pub(super) fn render(&self) -> String {
        let mut text = self.doc.to_string();
        if !self.ends_with_newline && text.ends_with('\n') {
            text.pop();
        }
        text
    }

    fn tables(&self) -> Option<&ArrayOfTables> {
        self.doc.get("subscriber")?.as_array_of_tables()
    }

    fn tables_mut(&mut self) -> Option<&mut ArrayOfTables> {
        self.doc.get_mut("subscriber")?.as_array_of_tables_mut()
    }

    /// The index of the entry whose `email` matches, ignoring case.
    pub(super) fn find(&self, email: &SubscriberEmail) -> Option<usize> {
        let wanted = email.key();
        self.tables()?.iter().position(|t| {
            t.get("email")
                .and_then(Item::as_str)
                .is_some_and(|e| e.trim().to_lowercase() == wanted)
        })
    }

    /// The entry's `unsubscribed_at` as written, if it has one.
    pub(super) fn unsubscribed_at(&self, index: usize) -> Option<String> {
        let item = self.tables()?.get(index)?.get("unsubscribed_at")?;
        Some(match item.as_value() {
            Some(Value::Datetime(d)) => d.value().to_string(),
            Some(other) => other.to_string().trim().to_owned(),
            None => "(unreadable)".to_owned(),
        })
    }

    pub(super) fn is_paused(&self, index: usize) -> bool {
        self.tables()
            .and_then(|t| t.get(index))
            .and_then(|t| t.get("paused"))
            .and_then(Item::as_bool)
            .unwrap_or(false)
    }

    /// Appends an entry after the last one, separated by a blank line. In a list with no entries
    /// yet, the file's comments stay above the new entry.
    pub(super) fn push(&mut self, mut table: Table) {
        if let Some(tables) = self.tables_mut().filter(|t| !t.is_empty()) {
            table.decor_mut().set_prefix("\n");
            tables.push(table);
            return;
        }
        let comments = self.doc.trailing().as_str().unwrap_or("").to_owned();
        let prefix = if comments.is_empty() {
            comments
        } else if comments.ends_with('\n') {
            comments + "\n"
        } else {
            comments + "\n\n"
        };
        table.decor_mut().set_prefix(prefix);
        self.doc.set_trailing("");
        match self.tables_mut() {
            Some(tables) => tables.push(table),
            None => {
                let mut tables = ArrayOfTables::new();
                tables.push(table);
                self.doc.insert("subscriber", Item::ArrayOfTables(tables));
            }
        }
    }

    /// Removes an entry with the comment lines directly above it and the blank line before
    /// them; text further up (a file header, the previous entry's notes) stays.
    pub(super) fn remove(&mut self, index: usize) {
        let Some(tables) = self.tables_mut() else {
            return;
        };
        let removed = tables.remove(index);
        let above = removed
            .decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or("");
        let kept = text_before_last_blank_line(above);
        if kept.is_empty() {
            return;
        }
        if let Some(next) = tables.get_mut(index) {
            let next_prefix = next
                .decor()
                .prefix()
                .and_then(|p| p.as_str())
                .unwrap_or("")
                .to_owned();
            next.decor_mut().set_prefix(format!("{kept}{next_prefix}"));
        } else {
            let trailing = self.doc.trailing().as_str().unwrap_or("").to_owned();
            self.doc.set_trailing(format!("{kept}{trailing}"));
        }
    }

    /// Sets `key` in an entry, keeping the spacing and comment around an existing value.
    /// Returns whether anything changed.
    pub(super) fn set(&mut self, index: usize, key: &str, mut value: Value) -> bool {
        let Some(table) = self.tables_mut().and_then(|t| t.get_mut(index)) else {
            return false;
        };
        match table.get_mut(key) {
            Some(Item::Value(old)) => {
                if same_value(old, &value) {
                    return false;
                }
                *value.decor_mut() = old.decor().clone();
                *old = value;
            }
            _ => {
                table.insert(key, Item::Value(value));
            }
        }
        true
    }

    /// Removes `key` from an entry; returns whether it was there.
    pub(super) fn unset(&mut self, index: usize, key: &str) -> bool {
        self.tables_mut()
            .and_then(|t| t.get_mut(index))
            .and_then(|t| t.remove(key))
            .is_some()
    }
}

/// Whether two values are written the same, ignoring the spacing and comments around them.
fn same_value(a: &Value, b: &Value) -> bool {
    let bare = |v: &Value| {
        let mut v = v.clone();
        v.decor_mut().clear();
        v.to_string()
    };
    bare(a) == bare(b)
}

/// The 1-based line of entry `index`'s `[[subscriber]]` header in `text`.
pub(super) fn entry_line(text: &str, index: usize) -> usize {
    toml_edit::Document::parse(text)
        .ok()
        .and_then(|doc| {
            let tables = doc.get("subscriber")?.as_array_of_tables()?;
            let table = tables.get(index)?;
            let span = table
                .get("email")
                .and_then(Item::span)
                .or_else(|| table.span())?;
            Some(line_col(text, span.start).0)
        })
        .unwrap_or(1)
}

/// `text` up to (not including) its last blank line; empty when it has none.
fn text_before_last_blank_line(text: &str) -> &str {
    let mut offset = 0;
    let mut last_blank_start = None;
    for line in text.split_inclusive('\n') {
        if line.trim().is_empty() && line.ends_with('\n') {
            last_blank_start = Some(offset);
        }
        offset += line.len();
    }
    last_blank_start.map_or("", |end| &text[..end])
}

/// A TOML string value.
pub(super) fn string_value(s: &str) -> Value {
    Value::from(s)
}

/// A TOML array of strings.
pub(super) fn strings_value(items: &[String]) -> Value {
    Value::Array(items.iter().map(String::as_str).collect::<Array>())
}

/// A TOML local date (`2026-11-28`).
pub(super) fn date_value(date: chrono::NaiveDate) -> Value {
    let datetime: Datetime = date
        .format("%Y-%m-%d")
        .to_string()
        .parse()
        .expect("a formatted date is a TOML date");
    Value::from(datetime)
}

/// A TOML offset date-time in UTC (`2026-12-01T08:00:00Z`).
pub(super) fn utc_datetime_value(at: chrono::DateTime<chrono::Utc>) -> Value {
    let datetime: Datetime = at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        .parse()
        .expect("an RFC 3339 time is a TOML date-time");
    Value::from(datetime)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(text: &str) -> Roster {
        Roster::parse(text, Path::new("x")).unwrap()
    }

    fn entry(email: &str) -> Table {
        let mut t = Table::new();
        t.insert("email", Item::Value(string_value(email)));
        t.insert(
            "since",
            Item::Value(date_value(
                chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
            )),
        );
        t
    }

    fn add_then_remove(text: &str) -> String {
        let mut r = roster(text);
        r.push(entry("new@example.org"));
        let added = r.render();
        assert!(added.contains("[[subscriber]]\nemail = \"new@example.org\"\nsince = 2026-11-28"));
        let mut r = roster(&added);
        let i = r
            .find(&SubscriberEmail::parse("NEW@example.org").unwrap())
            .unwrap();
        r.remove(i);
        r.render()
    }

    #[test]
    fn add_then_remove_is_the_identity() {
        let example = include_str!("../../subscribers.example.toml");
        for text in [
            example,
            example.trim_end(),
            "",
            "\n\n",
            "# header only\n",
            "# header only, no newline",
            "# head\n\n[[subscriber]]\nemail = \"a@b.org\"\n# tail comment\n",
            "[[subscriber]]\nemail = \"a@b.org\"\n\n\n",
        ] {
            assert_eq!(add_then_remove(text), text, "for {text:?}");
        }
    }

    #[test]
    fn removing_the_first_entry_keeps_the_file_header() {
        let text = "# header\n\n# about ada\n[[subscriber]]\nemail = \"ada@x.org\"\n\n[[subscriber]]\nemail = \"bob@x.org\"\n";
        let mut r = roster(text);
        r.remove(0);
        assert_eq!(
            r.render(),
            "# header\n\n[[subscriber]]\nemail = \"bob@x.org\"\n"
        );
    }

    #[test]
    fn setting_a_value_keeps_its_comment() {
        let text = "[[subscriber]]\nemail = \"a@b.org\"\npaused     = false    # note\n";
        let mut r = roster(text);
        assert!(r.set(0, "paused", Value::from(true)));
        assert_eq!(
            r.render(),
            "[[subscriber]]\nemail = \"a@b.org\"\npaused     = true    # note\n"
        );
        assert!(!r.set(0, "paused", Value::from(true)));
    }
}
