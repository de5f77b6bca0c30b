//! Edits of the list that cost the change, not the list.
//!
//! [`Roster::scan`] reads the list once with `toml_parser`'s event parser — no tree is built —
//! and keeps only what an edit needs: where each entry asked for starts and ends, and where a
//! new entry goes. An edit then changes the bytes of the entries it is about (each one parsed on
//! its own with `toml_edit`, which keeps the spacing and comments around what it changes) or
//! appends a new one, and [`Roster::write_to`] copies everything else through untouched.
//! Comments and formatting stay byte for byte by construction; adding an entry and removing it
//! again gives back the original file.
//!
//! The file is scanned in pieces cut before each line that is exactly `[[subscriber]]`, so that
//! memory stays flat, on every core. A cut that falls inside a multi-line string leaves that
//! piece unterminated; such a piece is read again together with the pieces after it. Most of a
//! list is in one plain shape, which [`super::plain`] reads for a fraction of the cost: a part
//! of the list wholly in it at once, else each piece in it; `toml_parser` reads the rest.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::ops::Range;
use std::path::Path;

use toml_edit::{Array, ArrayOfTables, Datetime, DocumentMut, Item, Table, Value};
use toml_parser::decoder::Encoding;
use toml_parser::parser::{EventReceiver, parse_document};
use toml_parser::{ErrorSink, ParseError, Source, Span};

use super::changes::{Field, FieldOp, Status};
use super::locate::{cuts, cuts_within, next_cut, pieces_to_read};
use super::{SubscriberEmail, SubscriberError};
use crate::diag::{Location, Problems, line_col};

/// The list as read, with the entries an edit is about.
pub(super) struct Roster<'t> {
    text: &'t str,
    entries: Vec<Entry>,
    /// Lowercased address → index in `entries` (the first entry with that address).
    by_key: HashMap<String, usize>,
    /// Lowercased address → the indices of the entries after the first with that address (a
    /// list the loader refuses; an edit about such an address refuses too, a fold applies a
    /// change to every one of them).
    twins: HashMap<String, Vec<usize>>,
    /// Where new entries go: after the last entry; `None` when the file has no entries.
    last_body_end: Option<usize>,
    /// The end of the top-level text before the first entry (its last key-value line).
    top_end: usize,
    /// The text was found fit for [`Roster::scan_checked`] once fingerprinted: every line
    /// that is exactly `[[subscriber]]` starts an entry, and every address is plain ASCII.
    reusable: bool,
}

struct Entry {
    /// `None` for an entry this edit adds.
    spans: Option<Spans>,
    /// The entry alone, parsed when it is found.
    doc: Option<DocumentMut>,
    changed: bool,
    removed: bool,
}

/// Byte offsets of an entry in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Spans {
    /// The end of the previous entry (or of the top-level text): the comments above it start here.
    prefix_start: usize,
    /// `[[subscriber]]`.
    header_start: usize,
    /// The end of its last key-value line (newline included).
    body_end: usize,
    /// The `email` value.
    email_at: usize,
}

impl<'t> Roster<'t> {
    /// Reads `text` and finds the entries of the addresses in `wanted` (lowercased). Reports a
    /// syntax error with its file:line:col; refuses a list that is not `[[subscriber]]` tables.
    pub(super) fn scan(
        text: &'t str,
        path: &Path,
        wanted: &HashSet<String>,
    ) -> Result<Self, SubscriberError> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        let scans = if threads > 1 && text.len() > 4 << 20 {
            // Each part finds its own cuts too.
            let bounds = split_evenly(text, threads);
            std::thread::scope(|s| {
                let handles: Vec<_> = bounds
                    .windows(2)
                    .map(|part| {
                        let (start, end) = (part[0], part[1]);
                        s.spawn(move || scan_part(text, start, end, wanted))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("the scan does not panic"))
                    .collect::<Vec<_>>()
            })
        } else {
            vec![scan_part(text, 0, text.len(), wanted)]
        };
        // A part that failed may have been cut inside a multi-line string: read it whole then.
        let scans = if scans.len() > 1 && scans.iter().any(|s| s.failure.is_some()) {
            vec![scan_pieces(text, &cuts(text), wanted)]
        } else {
            scans
        };
        let mut roster = Self::empty(text);
        roster.reusable = true;
        for (i, scan) in scans.into_iter().enumerate() {
            if let Some(failure) = scan.failure {
                return Err(failure.into_error(path, text));
            }
            roster.reusable &= scan.plain && !scan.joined;
            if i == 0 {
                roster.top_end = scan.top_end;
            }
            for (key, mut spans) in scan.found {
                if spans.prefix_start == UNKNOWN {
                    spans.prefix_start = roster.last_body_end.unwrap_or(roster.top_end);
                }
                roster.found(key, spans);
            }
            roster.last_body_end = scan.last_body_end.or(roster.last_body_end);
        }
        roster.parse_entries(path)?;
        Ok(roster)
    }

    /// [`Roster::scan`] of a text that is byte for byte one that [`Roster::scan`] found
    /// [`Roster::reusable`] (see [`super::fingerprint`]): reads only the pieces that can hold
    /// the entries asked for ([`super::locate`]), and checks those. `None` when what it reads
    /// does not bear that out, or there is too much to read: then the whole text must be read.
    pub(super) fn scan_checked(
        text: &'t str,
        path: &Path,
        wanted: &HashSet<String>,
    ) -> Option<Result<Self, SubscriberError>> {
        if !wanted.iter().all(|k| k.is_ascii()) {
            return None;
        }
        let keys: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let runs = pieces_to_read(text, &keys)?;
        let mut roster = Self::empty(text);
        roster.reusable = true;
        let count = runs.len();
        for (i, cuts) in runs.iter().enumerate() {
            let scan = scan_pieces(text, cuts, wanted);
            if scan.failure.is_some() || scan.joined || !scan.plain {
                return None;
            }
            if i == 0 {
                roster.top_end = scan.top_end;
            }
            for (key, spans) in scan.found {
                // Found in the first piece of a run, which held no address asked for.
                if spans.prefix_start == UNKNOWN {
                    return None;
                }
                roster.found(key, spans);
            }
            if i + 1 == count {
                roster.last_body_end = scan.last_body_end;
            }
        }
        Some(roster.parse_entries(path).map(|()| roster))
    }

    fn empty(text: &'t str) -> Self {
        Self {
            text,
            entries: Vec::new(),
            by_key: HashMap::new(),
            twins: HashMap::new(),
            last_body_end: None,
            top_end: 0,
            reusable: false,
        }
    }

    /// An entry the scan found; the first one of an address is the one [`Roster::find`]
    /// finds, later ones are its twins.
    fn found(&mut self, key: String, spans: Spans) {
        let index = self.entries.len();
        self.entries.push(Entry {
            spans: Some(spans),
            doc: None,
            changed: false,
            removed: false,
        });
        match self.by_key.entry(key) {
            std::collections::hash_map::Entry::Occupied(first) => {
                self.twins
                    .entry(first.key().clone())
                    .or_default()
                    .push(index);
            }
            std::collections::hash_map::Entry::Vacant(new) => {
                new.insert(index);
            }
        }
    }

    /// Parses each entry found on its own.
    fn parse_entries(&mut self, path: &Path) -> Result<(), SubscriberError> {
        let text = self.text;
        for entry in &mut self.entries {
            let spans = entry.spans.expect("scanned");
            let piece = &text[spans.header_start..spans.body_end];
            match piece.parse::<DocumentMut>() {
                Ok(doc) => entry.doc = Some(doc),
                Err(_) => {
                    return Err(syntax_failure(piece, spans.header_start).into_error(path, text));
                }
            }
        }
        Ok(())
    }

    /// Whether the text read was found fit for [`Roster::scan_checked`].
    pub(super) fn reusable(&self) -> bool {
        self.reusable
    }

    /// Whether the text as [`Roster::write_to`] writes it is fit for [`Roster::scan_checked`]
    /// too: the text read was, and each new or changed entry, read on its own, has no
    /// `[[subscriber]]` line but its header and writes its address plainly. (What an edit
    /// removes takes whole lines, and the text between entries stays, so no other line can
    /// change what it is.)
    pub(super) fn output_reusable(&self) -> bool {
        let nothing = HashSet::new();
        self.reusable
            && self
                .entries
                .iter()
                .filter(|e| e.changed && !e.removed)
                .all(|entry| {
                    let text = entry.doc.as_ref().map(ToString::to_string);
                    let text = text.as_deref().unwrap_or_default();
                    let cuts = cuts(text);
                    let scan = scan_pieces(text, &cuts, &nothing);
                    cuts.len() == 2 && scan.failure.is_none() && !scan.joined && scan.plain
                })
    }

    /// The entry for `email` (ignoring case), if it was asked for and is on the list.
    pub(super) fn find(&self, email: &SubscriberEmail) -> Option<usize> {
        self.by_key.get(&email.key()).copied()
    }

    /// Every entry for `email` (ignoring case), in the order of the list.
    pub(super) fn find_all(&self, email: &SubscriberEmail) -> Vec<usize> {
        self.find_all_key(&email.key())
    }

    /// [`Roster::find_all`] of a lowercased address.
    pub(super) fn find_all_key(&self, key: &str) -> Vec<usize> {
        let first = self.by_key.get(key).copied();
        let twins = self.twins.get(key).into_iter().flatten().copied();
        first.into_iter().chain(twins).collect()
    }

    /// The first of `emails` that is on the list more than once, as the problem an edit about
    /// it refuses with: pointing at the second entry, and naming where the first one is.
    pub(super) fn listed_twice(&self, path: &Path, emails: &[SubscriberEmail]) -> Option<Problems> {
        emails.iter().find_map(|email| {
            let all = self.find_all(email);
            let [first, second, ..] = all[..] else {
                return None;
            };
            let at = |i: usize| self.entries[i].spans.map_or(0, |s| s.email_at);
            let first = Location::at(path, self.text, at(first));
            Some(Problems::one(
                Location::at(path, self.text, at(second)),
                format!(
                    "{} is listed twice (first at {first}; addresses are compared ignoring case), so nothing was changed: remove one of the two entries by hand first",
                    email.key()
                ),
            ))
        })
    }

    /// The 1-based line of an entry's `email` (0 for a new entry).
    pub(super) fn entry_line(&self, index: usize) -> usize {
        self.entries[index]
            .spans
            .map_or(0, |s| line_col(self.text, s.email_at).0)
    }

    fn table(&mut self, index: usize) -> &mut Table {
        self.entries[index]
            .doc
            .as_mut()
            .expect("every entry found or added has its document")
            .get_mut("subscriber")
            .and_then(Item::as_array_of_tables_mut)
            .and_then(|t| t.get_mut(0))
            .expect("an entry is one [[subscriber]] table")
    }

    /// The entry's `unsubscribed_at` as written, if it has one.
    pub(super) fn unsubscribed_at(&mut self, index: usize) -> Option<String> {
        written(self.table(index).get("unsubscribed_at")?)
    }

    /// The entry's `bounced_at` as written, if it has one.
    pub(super) fn bounced_at(&mut self, index: usize) -> Option<String> {
        written(self.table(index).get("bounced_at")?)
    }

    /// The entry's state as the changes see it.
    pub(super) fn status(&mut self, index: usize) -> Status {
        let table = self.table(index);
        Status {
            unsubscribed: table.contains_key("unsubscribed_at"),
            bounced: table.contains_key("bounced_at"),
            paused: table.get("paused").and_then(Item::as_bool).unwrap_or(false),
        }
    }

    pub(super) fn is_paused(&mut self, index: usize) -> bool {
        self.status(index).paused
    }

    /// Adds an entry after the last one; returns its index.
    pub(super) fn push(&mut self, email: &SubscriberEmail, table: Table) -> usize {
        let mut tables = ArrayOfTables::new();
        tables.push(table);
        let mut doc = DocumentMut::new();
        doc.insert("subscriber", Item::ArrayOfTables(tables));
        let index = self.entries.len();
        self.entries.push(Entry {
            spans: None,
            doc: Some(doc),
            changed: true,
            removed: false,
        });
        self.by_key.insert(email.key(), index);
        index
    }

    /// Removes an entry with the comment lines directly above it and the blank line before
    /// them; text further up (a file header, the previous entry's notes) stays.
    pub(super) fn remove(&mut self, email: &SubscriberEmail, index: usize) {
        self.entries[index].removed = true;
        self.by_key.remove(&email.key());
    }

    /// Sets `key`, keeping the spacing and comment around an existing value. Returns whether
    /// anything changed.
    pub(super) fn set(&mut self, index: usize, key: &str, mut value: Value) -> bool {
        let table = self.table(index);
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
        self.entries[index].changed = true;
        true
    }

    /// Removes `key`; returns whether it was there.
    pub(super) fn unset(&mut self, index: usize, key: &str) -> bool {
        let removed = self.table(index).remove(key).is_some();
        self.entries[index].changed |= removed;
        removed
    }

    /// Applies one field edit; returns whether anything changed.
    pub(super) fn apply(&mut self, index: usize, op: &FieldOp) -> bool {
        match op {
            FieldOp::Set(field) => self.set(index, field.key(), field_value(field)),
            FieldOp::Unset(key) => self.unset(index, key),
        }
    }

    /// Whether the edit changed anything.
    pub(super) fn changed(&self) -> bool {
        self.entries.iter().any(|e| e.removed || e.changed)
    }

    /// Writes the edited list: the original bytes, with the changed entries' bytes replaced.
    pub(super) fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        let text = self.text;
        let mut segments: Vec<(Range<usize>, Cow<'_, str>)> = Vec::new();
        let mut added = String::new();
        for entry in &self.entries {
            match (entry.spans, entry.removed) {
                (Some(s), true) => {
                    let above = &text[s.prefix_start..s.header_start];
                    let kept = text_before_last_blank_line(above).len();
                    segments.push((s.prefix_start + kept..s.body_end, Cow::Borrowed("")));
                }
                (Some(s), false) if entry.changed => {
                    let doc = entry.doc.as_ref().expect("a changed entry was parsed");
                    let mut rendered = self.with_lf(doc.to_string());
                    if !text[..s.body_end].ends_with('\n') && rendered.ends_with('\n') {
                        rendered.pop();
                    }
                    let rendered = self.with_file_line_ends(rendered);
                    segments.push((s.header_start..s.body_end, Cow::Owned(rendered)));
                }
                (Some(_), false) => {}
                (None, true) => {}
                (None, false) => {
                    let doc = entry.doc.as_ref().expect("a new entry has its document");
                    added.push_str(&self.separator_before_new(added.is_empty()));
                    added.push_str(&self.with_lf(doc.to_string()));
                }
            }
        }
        if !added.is_empty() {
            let at = self.new_entries_at().unwrap_or(text.len());
            segments.push((at..at, Cow::Owned(self.with_file_line_ends(added))));
        }
        segments.sort_by_key(|(r, _)| (r.start, r.end));
        let mut pieces: Vec<&str> = Vec::with_capacity(2 * segments.len() + 1);
        let mut at = 0;
        for (range, replacement) in &segments {
            pieces.push(&text[at..range.start]);
            pieces.push(replacement);
            at = range.end;
        }
        pieces.push(&text[at..]);
        // A file that did not end with a newline does not get one.
        if !text.is_empty()
            && !text.ends_with('\n')
            && let Some(last) = pieces.iter_mut().rev().find(|p| !p.is_empty())
        {
            *last = last.strip_suffix(self.line_end()).unwrap_or(last);
        }
        for piece in pieces {
            out.write_all(piece.as_bytes())?;
        }
        Ok(())
    }

    /// Where new entries go: after the last entry and the comment lines right below it (up to
    /// a blank line or the end), which speak of it; `None` when the file has no entries.
    fn new_entries_at(&self) -> Option<usize> {
        let mut at = self.last_body_end?;
        let text = self.text;
        while at < text.len() {
            let end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
            if !text[at..end].trim_start().starts_with('#') {
                break;
            }
            at = end;
        }
        Some(at)
    }

    /// The file's line ending, as its first line ends: new and rewritten lines end the same
    /// way, so that an edit never mixes `\r\n` into a `\n` file or the other way round.
    fn line_end(&self) -> &'static str {
        match memchr::memchr(b'\n', self.text.as_bytes()) {
            Some(at) if at > 0 && self.text.as_bytes()[at - 1] == b'\r' => "\r\n",
            _ => "\n",
        }
    }

    /// Text rendered by `toml_edit` for this file, with `\n` line ends (its own, when the file
    /// ends lines with `\r\n`, come out mixed).
    fn with_lf(&self, rendered: String) -> String {
        if self.line_end() == "\n" {
            rendered
        } else {
            rendered.replace("\r\n", "\n")
        }
    }

    /// Text with `\n` line ends, with the file's instead.
    fn with_file_line_ends(&self, lf: String) -> String {
        if self.line_end() == "\n" {
            lf
        } else {
            lf.replace('\n', "\r\n")
        }
    }

    /// What goes before a new entry: a blank line after the last entry; in a file without
    /// entries, the file's comments stay above the new entry.
    fn separator_before_new(&self, first: bool) -> String {
        let text = self.text;
        let Some(end) = self.new_entries_at().filter(|_| first) else {
            return if first {
                self.separator_in_empty_list()
            } else {
                "\n".to_owned()
            };
        };
        if end == text.len() && !text.ends_with('\n') {
            "\n\n".to_owned()
        } else {
            "\n".to_owned()
        }
    }

    fn separator_in_empty_list(&self) -> String {
        let text = self.text;
        let comments = &text[self.top_end..];
        if comments.is_empty() {
            if text.is_empty() || text.ends_with('\n') {
                String::new()
            } else {
                "\n".to_owned()
            }
        } else if comments.ends_with('\n') {
            "\n".to_owned()
        } else {
            "\n\n".to_owned()
        }
    }

    /// The text as an edit would write it (for tests).
    #[cfg(test)]
    pub(super) fn render(&self) -> String {
        let mut out = Vec::new();
        self.write_to(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }
}

/// A value as written, for messages.
fn written(item: &Item) -> Option<String> {
    Some(match item.as_value() {
        Some(Value::Datetime(d)) => d.value().to_string(),
        Some(other) => other.to_string().trim().to_owned(),
        None => "(unreadable)".to_owned(),
    })
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

/// The TOML value of a field.
pub(super) fn field_value(field: &Field) -> Value {
    match field {
        Field::Name(name) => Value::from(name.as_str()),
        Field::Topics(topics) => strings_value(topics),
        Field::Format(format) => Value::from(format.as_str()),
        Field::MaxPapers(max) => Value::from(max.get() as i64),
        Field::Paused(paused) => Value::from(*paused),
        Field::Since(date) => date_value(*date),
        Field::UnsubscribedAt(at) | Field::BouncedAt(at) => utc_datetime_value(*at),
        Field::Personal(_, items) => strings_value(items),
        Field::ForYou(n) => Value::from(i64::try_from(*n).unwrap_or(i64::MAX)),
    }
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

/// Placeholder for the prefix of a part's first entry, which starts where the previous part's
/// last entry ends.
const UNKNOWN: usize = usize::MAX;

/// Where `text` is split into at most `parts` runs of pieces of about equal bytes: 0, cuts
/// in between (see [`super::locate`]), and the end of the text.
fn split_evenly(text: &str, parts: usize) -> Vec<usize> {
    let mut bounds = vec![0];
    for part in 1..parts {
        let at = next_cut(text, text.len() / parts * part);
        if at > bounds[bounds.len() - 1] && at < text.len() {
            bounds.push(at);
        }
    }
    bounds.push(text.len());
    bounds
}

/// What one run of pieces found.
#[derive(Debug, Default, PartialEq, Eq)]
struct PartScan {
    found: Vec<(String, Spans)>,
    last_body_end: Option<usize>,
    top_end: usize,
    failure: Option<Failure>,
    /// A piece did not read on its own (a cut fell inside a multi-line value).
    joined: bool,
    /// Every address was written as an ASCII string without escapes.
    plain: bool,
}

/// Why the list cannot be edited.
#[derive(Debug, PartialEq, Eq)]
struct Failure {
    at: usize,
    message: String,
    unsupported: bool,
}

impl Failure {
    fn into_error(self, path: &Path, text: &str) -> SubscriberError {
        if self.unsupported {
            let (line, col) = line_col(text, self.at);
            SubscriberError::Unsupported {
                path: path.to_owned(),
                message: format!("{line}:{col}: {}", self.message),
            }
        } else {
            SubscriberError::Invalid(Problems::one(
                Location::at(path, text, self.at),
                self.message,
            ))
        }
    }
}

/// How a piece is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// With [`super::plain::entries`] where it can, else with [`super::plain::events`], else
    /// with `toml_parser`.
    Quick,
    /// With [`super::plain::events`] where it can, else with `toml_parser` (for the tests).
    #[cfg(test)]
    Events,
    /// With `toml_parser` only (what the quick readers are held to in the tests).
    #[cfg(test)]
    Parser,
}

/// Scans the part of `text` between the cuts `start` and `end`: all at once when it is all in
/// the plain shape (see [`super::plain::entries`]; its entries are then what reading it piece
/// by piece finds, as the pieces start at `[[subscriber]]` lines), else piece by piece.
fn scan_part(text: &str, start: usize, end: usize, wanted: &HashSet<String>) -> PartScan {
    let mut receiver = Scanner::new(text, wanted);
    receiver.prev_body_end = (start > 0).then_some(UNKNOWN);
    if !read_entries(&mut receiver, &text[start..end], start) {
        return scan_pieces(text, &cuts_within(text, start, end), wanted);
    }
    PartScan {
        found: receiver.found,
        last_body_end: receiver.last_body_end,
        top_end: receiver.top_end,
        failure: None,
        joined: false,
        plain: receiver.plain,
    }
}

/// Scans the pieces between consecutive `cuts` (a run of them, ending with a closing cut).
fn scan_pieces(text: &str, cuts: &[usize], wanted: &HashSet<String>) -> PartScan {
    scan_pieces_by(text, cuts, wanted, Reading::Quick)
}

fn scan_pieces_by(
    text: &str,
    cuts: &[usize],
    wanted: &HashSet<String>,
    reading: Reading,
) -> PartScan {
    let mut scan = PartScan::default();
    let mut tokens = Vec::new();
    let mut receiver = Scanner::new(text, wanted);
    receiver.prev_body_end = if cuts.first() == Some(&0) {
        None
    } else {
        Some(UNKNOWN)
    };
    let mut i = 0;
    while i + 1 < cuts.len() {
        let piece = &text[cuts[i]..cuts[i + 1]];
        let quickly = match reading {
            Reading::Quick => {
                read_entries(&mut receiver, piece, cuts[i])
                    || read_events(&mut receiver, piece, cuts[i])
            }
            #[cfg(test)]
            Reading::Events => read_events(&mut receiver, piece, cuts[i]),
            #[cfg(test)]
            Reading::Parser => false,
        };
        if quickly {
            i += 1;
            continue;
        }
        // A piece that does not parse on its own may end inside a multi-line string: try it
        // together with the next pieces.
        let mut end = i + 1;
        loop {
            let piece = &text[cuts[i]..cuts[end]];
            tokens.clear();
            tokens.extend(Source::new(piece).lex());
            let mut attempt = receiver.fork(cuts[i]);
            let mut errors: Vec<ParseError> = Vec::new();
            parse_document(&tokens, &mut attempt, &mut errors);
            attempt.finish_piece(piece.len());
            if errors.is_empty() && attempt.failure.is_none() {
                receiver.join(attempt);
                break;
            }
            scan.joined = true;
            if errors.is_empty() || end + 1 >= cuts.len() || end - i >= 64 {
                scan.failure = match attempt.failure.take() {
                    Some(failure) if errors.is_empty() => Some(failure),
                    _ => Some(syntax_failure(&text[cuts[i]..cuts[end]], cuts[i])),
                };
                return scan;
            }
            end += 1;
        }
        i = end;
    }
    scan.found = receiver.found;
    scan.last_body_end = receiver.last_body_end;
    scan.top_end = receiver.top_end;
    scan.plain = receiver.plain;
    scan
}

/// Reads the piece at `base` with [`super::plain::entries`] into `receiver`, leaving it as the
/// piece's events would have; `false` (and `receiver` as it was) when that reader does not
/// take the piece.
fn read_entries(receiver: &mut Scanner<'_>, piece: &str, base: usize) -> bool {
    let (wanted, lengths, top_end) = (receiver.wanted, receiver.lengths, receiver.top_end);
    let mut prev_body_end = receiver.prev_body_end;
    let mut last_body_end = receiver.last_body_end;
    let mut plain = receiver.plain;
    let mut found = std::mem::take(&mut receiver.found);
    let kept = found.len();
    let read = super::plain::entries(piece, |entry| {
        if let Some((at, email)) = entry.email {
            plain &= email.is_ascii();
            if let Some(key) = wanted_key(email, wanted, lengths) {
                found.push((
                    key,
                    Spans {
                        prefix_start: prev_body_end.unwrap_or(top_end),
                        header_start: base + entry.header,
                        body_end: base + entry.body_end,
                        email_at: base + at,
                    },
                ));
            }
        }
        prev_body_end = Some(base + entry.body_end);
        last_body_end = prev_body_end;
    });
    if read {
        receiver.prev_body_end = prev_body_end;
        receiver.last_body_end = last_body_end;
        receiver.plain = plain;
    } else {
        found.truncate(kept);
    }
    receiver.found = found;
    read
}

/// Reads the piece at `base` with [`super::plain::events`] into `receiver`; `false` (and
/// `receiver` as it was) when that reader does not take it, or finds anything wrong: then
/// `toml_parser` reads it, and says what.
fn read_events(receiver: &mut Scanner<'_>, piece: &str, base: usize) -> bool {
    let mut attempt = receiver.fork(base);
    attempt.bare_keys_checked = true;
    let mut errors: Vec<ParseError> = Vec::new();
    if !super::plain::events(piece, &mut attempt, &mut errors)
        || !errors.is_empty()
        || attempt.failure.is_some()
    {
        return false;
    }
    attempt.finish_piece(piece.len());
    receiver.join(attempt);
    true
}

/// The first syntax error in `piece`, as `toml_edit` words it.
fn syntax_failure(piece: &str, base: usize) -> Failure {
    match piece.parse::<DocumentMut>() {
        Err(e) => Failure {
            at: base + e.span().map_or(0, |s| s.start),
            message: e.message().trim().to_owned(),
            unsupported: false,
        },
        Ok(_) => Failure {
            at: base,
            message: "this part of the list cannot be read".to_owned(),
            unsupported: false,
        },
    }
}

/// A basic string (`"…"`) with nothing to decode — no escape, no quotation mark, no control
/// character but tab — is valid TOML as written (the text is UTF-8 already), so the scan need
/// not decode it to check it: most of a list's values are such strings.
fn plain_basic_string(raw: &str) -> bool {
    let Some(inner) = raw
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return false;
    };
    // Without an early exit, so that the compiler checks many bytes at once.
    !inner.bytes().fold(false, |bad, b| {
        bad | (b == b'"') | (b == b'\\') | (b == 0x7f) | ((b < 0x20) & (b != b'\t'))
    })
}

/// A bare key made only of `A-Za-z0-9_-` is valid as written (TOML's bare keys).
fn plain_bare_key(raw: &str) -> bool {
    !raw.is_empty()
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The lowercased address `email` (as decoded) if it is one of `wanted` (whose `lengths`
/// these are).
fn wanted_key(email: &str, wanted: &HashSet<String>, lengths: Lengths) -> Option<String> {
    let trimmed = email.trim();
    if trimmed.is_ascii() {
        // Lowercasing ASCII keeps the length.
        Some(trimmed)
            .filter(|t| lengths.may_hold(t.len()))
            .map(str::to_ascii_lowercase)
            .filter(|k| wanted.contains(k))
    } else {
        Some(trimmed.to_lowercase()).filter(|k| wanted.contains(k))
    }
}

/// Follows `toml_parser`'s events through a piece.
struct Scanner<'a> {
    text: &'a str,
    wanted: &'a HashSet<String>,
    base: usize,
    /// The entry being read.
    entry: Option<EntryScan>,
    /// The end of the previous entry (`None`: none yet, the top level is being read).
    prev_body_end: Option<usize>,
    top_end: usize,
    /// A table header being read: its start and whether it is `[[…]]`; its key parts.
    header: Option<(usize, bool)>,
    header_parts: Vec<(Span, Option<Encoding>)>,
    /// The entry's address being decoded (reused).
    value: String,
    /// The key parts of the key-value being read, before its `=`.
    key: Vec<(Span, Option<Encoding>)>,
    after_equals: bool,
    /// The line holds a header or a whole key-value: its newline ends the entry's body.
    line_ends_body: bool,
    depth: usize,
    expect_email: bool,
    found: Vec<(String, Spans)>,
    last_body_end: Option<usize>,
    failure: Option<Failure>,
    /// Every address so far was written as an ASCII string without escapes.
    plain: bool,
    lengths: Lengths,
    /// Every bare key comes from [`super::plain`], which hands over only keys made of
    /// bare-key bytes: they need no checking.
    bare_keys_checked: bool,
}

/// The lengths of the addresses asked for, so that most addresses on the list are passed over
/// without lowercasing and hashing them.
#[derive(Clone, Copy)]
struct Lengths {
    /// Bit `n` for a length `n` under 128.
    short: u128,
    long: bool,
}

impl Lengths {
    fn of(wanted: &HashSet<String>) -> Self {
        let mut lengths = Self {
            short: 0,
            long: false,
        };
        for key in wanted {
            match u32::try_from(key.len()) {
                Ok(n) if n < 128 => lengths.short |= 1 << n,
                _ => lengths.long = true,
            }
        }
        lengths
    }

    fn may_hold(self, len: usize) -> bool {
        match u32::try_from(len) {
            Ok(n) if n < 128 => self.short >> n & 1 == 1,
            _ => self.long,
        }
    }
}

struct EntryScan {
    prefix_start: usize,
    header_start: usize,
    body_end: usize,
    /// Whether it has an `email` yet.
    has_email: bool,
    /// Its lowercased address and where it is, when that address is wanted.
    email: Option<(String, usize)>,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, wanted: &'a HashSet<String>) -> Self {
        Self {
            text,
            wanted,
            base: 0,
            entry: None,
            prev_body_end: None,
            top_end: 0,
            header: None,
            header_parts: Vec::new(),
            value: String::new(),
            key: Vec::new(),
            after_equals: false,
            line_ends_body: false,
            depth: 0,
            expect_email: false,
            found: Vec::new(),
            last_body_end: None,
            failure: None,
            plain: true,
            lengths: Lengths::of(wanted),
            bare_keys_checked: false,
        }
    }

    /// A scanner for the piece at `base`, carrying over what the pieces before it found (and
    /// the buffers it reuses).
    fn fork(&mut self, base: usize) -> Self {
        let mut header_parts = std::mem::take(&mut self.header_parts);
        let mut key = std::mem::take(&mut self.key);
        header_parts.clear();
        key.clear();
        Self {
            text: self.text,
            wanted: self.wanted,
            base,
            entry: None,
            prev_body_end: self.prev_body_end,
            top_end: self.top_end,
            header: None,
            header_parts,
            value: std::mem::take(&mut self.value),
            key,
            after_equals: false,
            line_ends_body: false,
            depth: 0,
            expect_email: false,
            found: Vec::new(),
            last_body_end: self.last_body_end,
            failure: None,
            plain: self.plain,
            lengths: self.lengths,
            bare_keys_checked: false,
        }
    }

    fn join(&mut self, piece: Self) {
        self.prev_body_end = piece.prev_body_end;
        self.top_end = piece.top_end;
        self.last_body_end = piece.last_body_end;
        self.plain = piece.plain;
        self.found.extend(piece.found);
        self.header_parts = piece.header_parts;
        self.key = piece.key;
        self.value = piece.value;
    }

    fn fail(&mut self, at: usize, message: String, unsupported: bool) {
        if self.failure.is_none() {
            self.failure = Some(Failure {
                at: self.base + at,
                message,
                unsupported,
            });
        }
    }

    /// A token of the piece, for decoding.
    fn raw(&self, span: Span, encoding: Option<Encoding>) -> toml_parser::Raw<'a> {
        let text: &'a str = self.text;
        toml_parser::Raw::new_unchecked(
            &text[self.base + span.start()..self.base + span.end()],
            encoding,
            span,
        )
    }

    fn decode_key(&self, parts: &[(Span, Option<Encoding>)]) -> Vec<String> {
        parts
            .iter()
            .map(|(span, encoding)| {
                let mut out = String::new();
                self.raw(*span, *encoding).decode_key(&mut out, &mut ());
                out
            })
            .collect()
    }

    /// Whether a key is exactly `name` (without allocating for the usual bare key).
    fn key_is(&self, parts: &[(Span, Option<Encoding>)], name: &str) -> bool {
        match parts {
            [(span, None)] => &self.text[self.base + span.start()..self.base + span.end()] == name,
            [_] => self.decode_key(parts) == [name],
            _ => false,
        }
    }

    /// The entry read so far is complete.
    fn close_entry(&mut self) {
        let Some(entry) = self.entry.take() else {
            return;
        };
        self.prev_body_end = Some(entry.body_end);
        self.last_body_end = Some(entry.body_end);
        if let Some((key, email_at)) = entry.email {
            self.found.push((
                key,
                Spans {
                    prefix_start: entry.prefix_start,
                    header_start: entry.header_start,
                    body_end: entry.body_end,
                    email_at,
                },
            ));
        }
    }

    fn finish_piece(&mut self, len: usize) {
        if self.line_ends_body {
            self.end_line(len);
        }
        self.close_entry();
    }

    /// A header or key-value line ends at `end` (relative to the piece).
    fn end_line(&mut self, end: usize) {
        self.line_ends_body = false;
        match &mut self.entry {
            Some(entry) => entry.body_end = self.base + end,
            None => self.top_end = self.base + end,
        }
    }

    fn header_done(&mut self, close: Span) {
        let Some((start, array)) = self.header.take() else {
            return;
        };
        let parts = std::mem::take(&mut self.header_parts);
        if !array || !self.key_is(&parts, "subscriber") {
            let names = self.decode_key(&parts).join(".");
            let shown = if array {
                format!("[[{names}]]")
            } else {
                format!("[{names}]")
            };
            self.fail(
                start - self.base,
                format!("paperwire edits lists made of [[subscriber]] tables only; found {shown}"),
                true,
            );
            return;
        }
        self.header_parts = parts;
        self.header_parts.clear();
        self.close_entry();
        let prefix_start = self.prev_body_end.unwrap_or(self.top_end);
        self.entry = Some(EntryScan {
            prefix_start,
            header_start: start,
            body_end: self.base + close.end(),
            has_email: false,
            email: None,
        });
        self.line_ends_body = true;
    }

    fn key_done(&mut self, at: Span) {
        self.after_equals = true;
        if self.entry.is_none() {
            let first = &self.key[..self.key.len().min(1)];
            if self.key_is(first, "subscriber") {
                self.fail(
                    at.start(),
                    "paperwire edits lists written as [[subscriber]] tables only; rewrite `subscriber = [...]` as [[subscriber]] tables".to_owned(),
                    true,
                );
            }
            return;
        }
        if self.key_is(&self.key, "email") {
            if self.entry.as_ref().is_some_and(|e| e.has_email) {
                let start = self.key.first().map_or(at.start(), |(s, _)| s.start());
                self.fail(start, "duplicate key `email`".to_owned(), false);
            }
            self.expect_email = true;
        }
    }

    fn value_done(&mut self) {
        self.line_ends_body = true;
        self.key.clear();
    }
}

// Inlined into the quick reader's calls (`toml_parser` calls them through a `dyn`).
impl EventReceiver for Scanner<'_> {
    #[inline]
    fn std_table_open(&mut self, span: Span, _: &mut dyn ErrorSink) {
        self.header = Some((self.base + span.start(), false));
        self.header_parts.clear();
    }
    #[inline]
    fn std_table_close(&mut self, span: Span, _: &mut dyn ErrorSink) {
        self.header_done(span);
    }
    #[inline]
    fn array_table_open(&mut self, span: Span, _: &mut dyn ErrorSink) {
        self.header = Some((self.base + span.start(), true));
        self.header_parts.clear();
    }
    #[inline]
    fn array_table_close(&mut self, span: Span, _: &mut dyn ErrorSink) {
        self.header_done(span);
    }
    #[inline]
    fn inline_table_open(&mut self, _: Span, _: &mut dyn ErrorSink) -> bool {
        // An address is a string; the next key's value is not it.
        self.expect_email = false;
        self.depth += 1;
        true
    }
    #[inline]
    fn inline_table_close(&mut self, _: Span, _: &mut dyn ErrorSink) {
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 0 {
            self.value_done();
        }
    }
    #[inline]
    fn array_open(&mut self, _: Span, _: &mut dyn ErrorSink) -> bool {
        self.expect_email = false;
        self.depth += 1;
        true
    }
    #[inline]
    fn array_close(&mut self, _: Span, _: &mut dyn ErrorSink) {
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 0 {
            self.value_done();
        }
    }
    #[inline]
    fn simple_key(&mut self, span: Span, kind: Option<Encoding>, error: &mut dyn ErrorSink) {
        let raw = self.raw(span, kind);
        if !(kind.is_none() && (self.bare_keys_checked || plain_bare_key(raw.as_str()))) {
            raw.decode_key(&mut (), error);
        }
        if self.header.is_some() {
            self.header_parts.push((span, kind));
        } else if self.depth == 0 && !self.after_equals {
            self.key.push((span, kind));
        }
    }
    #[inline]
    fn key_val_sep(&mut self, span: Span, _: &mut dyn ErrorSink) {
        if self.depth == 0 {
            self.key_done(span);
        }
    }
    #[inline]
    fn scalar(&mut self, span: Span, kind: Option<Encoding>, error: &mut dyn ErrorSink) {
        // The parser checks the shape; a value is only checked when it is decoded.
        let raw = self.raw(span, kind);
        if self.depth > 0 || !std::mem::take(&mut self.expect_email) {
            if !(kind == Some(Encoding::BasicString) && plain_basic_string(raw.as_str())) {
                let _ = raw.decode_scalar(&mut (), error);
            }
            if self.depth == 0 {
                self.value_done();
            }
            return;
        }
        let written = raw.as_str();
        self.plain &= written.is_ascii() && !written.contains('\\');
        let mut value = std::mem::take(&mut self.value);
        value.clear();
        let scalar = if kind == Some(Encoding::BasicString) && plain_basic_string(written) {
            value.push_str(&written[1..written.len() - 1]);
            toml_parser::decoder::ScalarKind::String
        } else {
            raw.decode_scalar(&mut value, error)
        };
        if scalar == toml_parser::decoder::ScalarKind::String
            && let Some(entry) = &mut self.entry
        {
            entry.has_email = true;
            let wanted = wanted_key(&value, self.wanted, self.lengths);
            entry.email = wanted.map(|key| (key, self.base + span.start()));
        }
        self.value = value;
        self.value_done();
    }
    #[inline]
    fn comment(&mut self, span: Span, error: &mut dyn ErrorSink) {
        self.raw(span, None).decode_comment(error);
    }
    #[inline]
    fn newline(&mut self, span: Span, error: &mut dyn ErrorSink) {
        self.raw(span, None).decode_newline(error);
        if self.depth > 0 {
            return;
        }
        if self.line_ends_body {
            self.end_line(span.end());
        }
        self.after_equals = false;
        self.key.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::super::plain::tests::{FINE, LINES, Rng};
    use super::*;

    /// Every string the scan takes as written, TOML takes too, with the same value; and every
    /// key likewise. Strings are built from the characters that matter: quotes, backslashes,
    /// control characters, tab, DEL, non-ASCII.
    #[test]
    fn what_the_scan_does_not_decode_is_valid_toml() {
        let alphabet = [
            'a', '"', '\\', '\t', '\u{1}', '\n', '\u{7f}', 'é', ' ', '-', '_', '\'',
        ];
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let seed = rng.next();
            let len = (seed % 6) as usize;
            let inner: String = (0..len)
                .map(|i| alphabet[((seed >> (8 + 4 * i)) % alphabet.len() as u64) as usize])
                .collect();
            let quoted = format!("\"{inner}\"");
            if plain_basic_string(&quoted) {
                let doc: DocumentMut = format!("k = {quoted}\n").parse().unwrap();
                assert_eq!(doc["k"].as_str(), Some(inner.as_str()), "{quoted:?}");
            }
            if plain_bare_key(&inner) {
                let doc: DocumentMut = format!("{inner} = 1\n").parse().unwrap();
                assert!(doc.contains_key(&inner), "{inner:?}");
            }
        }
        assert!(plain_basic_string("\"\""));
        assert!(!plain_basic_string("\"\"\""));
        assert!(!plain_basic_string("\"a\\nb\""));
        assert!(!plain_bare_key(""));
        // What is not plain is still decoded, and a bad one still refused.
        for bad in ["name = \"a\u{1}b\"", "name = \"a\\qb\"", "na*me = \"x\""] {
            let text = format!("[[subscriber]]\nemail = \"a@b.org\"\n{bad}\n");
            assert!(
                Roster::scan(&text, Path::new("x"), &wanted(&[])).is_err(),
                "{bad}"
            );
        }
    }

    fn wanted(emails: &[&str]) -> HashSet<String> {
        emails.iter().map(|e| e.to_lowercase()).collect()
    }

    fn email(s: &str) -> SubscriberEmail {
        SubscriberEmail::parse(s).unwrap()
    }

    fn entry(email: &str) -> Table {
        let mut t = Table::new();
        t.insert("email", Item::Value(Value::from(email)));
        t.insert(
            "since",
            Item::Value(date_value(
                chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
            )),
        );
        t
    }

    fn add_then_remove(text: &str) -> String {
        let w = wanted(&["new@example.org"]);
        let mut r = Roster::scan(text, Path::new("x"), &w).unwrap();
        r.push(&email("new@example.org"), entry("new@example.org"));
        let added = r.render();
        let entry = "[[subscriber]]\nemail = \"new@example.org\"\nsince = 2026-11-28";
        let entry = if text.starts_with("[[subscriber]]\r\n") {
            entry.replace('\n', "\r\n")
        } else {
            entry.to_owned()
        };
        assert!(added.contains(&entry), "{added:?}");
        let mut r = Roster::scan(&added, Path::new("x"), &w).unwrap();
        let i = r.find(&email("NEW@example.org")).unwrap();
        r.remove(&email("new@example.org"), i);
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
            "[[subscriber]]\nemail = \"a@b.org\"",
            "[[subscriber]]\r\nemail = \"a@b.org\"\r\n",
        ] {
            assert_eq!(add_then_remove(text), text, "for {text:?}");
        }
    }

    #[test]
    fn an_address_listed_twice_is_found_twice_on_both_paths() {
        let text = "[[subscriber]]\nemail = \"Ann@example.org\"\n\n[[subscriber]]\nemail = \"bob@example.org\"\n\n[[subscriber]]\nemail = \"ann@example.org\"\n";
        let w = wanted(&["ann@example.org"]);
        let full = Roster::scan(text, Path::new("l.toml"), &w).unwrap();
        assert!(full.reusable());
        let fast = Roster::scan_checked(text, Path::new("l.toml"), &w)
            .expect("read in parts")
            .unwrap();
        for roster in [full, fast] {
            assert_eq!(roster.find_all(&email("ANN@example.org")).len(), 2);
            assert_eq!(roster.find(&email("ann@example.org")), Some(0));
            let emails = [email("bob@example.org"), email("ann@example.org")];
            let problems = roster.listed_twice(Path::new("l.toml"), &emails).unwrap();
            assert_eq!(
                problems.to_string(),
                "l.toml:8:9: ann@example.org is listed twice (first at l.toml:2:9; addresses are compared ignoring case), so nothing was changed: remove one of the two entries by hand first"
            );
            assert!(
                roster
                    .listed_twice(Path::new("l.toml"), &emails[..1])
                    .is_none()
            );
        }
    }

    #[test]
    fn removing_the_first_entry_keeps_the_file_header() {
        let text = "# header\n\n# about ada\n[[subscriber]]\nemail = \"ada@x.org\"\n\n[[subscriber]]\nemail = \"bob@x.org\"\n";
        let mut r = Roster::scan(text, Path::new("x"), &wanted(&["ada@x.org"])).unwrap();
        let i = r.find(&email("ada@x.org")).unwrap();
        r.remove(&email("ada@x.org"), i);
        assert_eq!(
            r.render(),
            "# header\n\n[[subscriber]]\nemail = \"bob@x.org\"\n"
        );
    }

    #[test]
    fn setting_a_value_keeps_its_comment() {
        let text = "[[subscriber]]\nemail = \"a@b.org\"\npaused     = false    # note\n";
        let mut r = Roster::scan(text, Path::new("x"), &wanted(&["a@b.org"])).unwrap();
        assert!(r.set(0, "paused", Value::from(true)));
        assert_eq!(
            r.render(),
            "[[subscriber]]\nemail = \"a@b.org\"\npaused     = true    # note\n"
        );
        assert!(!r.set(0, "paused", Value::from(true)));
    }

    #[test]
    fn new_and_rewritten_lines_end_as_the_files_lines_do() {
        let w = wanted(&["a@b.org", "new@example.org"]);
        let crlf = "# list\r\n\r\n[[subscriber]]\r\nemail = \"a@b.org\"\r\nname = \"A\" # hi\r\n";
        for (text, expected) in [
            (
                crlf.to_owned(),
                "# list\r\n\r\n[[subscriber]]\r\nemail = \"a@b.org\"\r\nname = \"A\" # hi\r\npaused = true\r\n\r\n[[subscriber]]\r\nemail = \"new@example.org\"\r\nsince = 2026-11-28\r\n",
            ),
            // No line end after the last line: none is added.
            (
                crlf.trim_end().to_owned(),
                "# list\r\n\r\n[[subscriber]]\r\nemail = \"a@b.org\"\r\nname = \"A\" # hi\r\npaused = true\r\n\r\n[[subscriber]]\r\nemail = \"new@example.org\"\r\nsince = 2026-11-28",
            ),
            (
                crlf.replace("\r\n", "\n"),
                "# list\n\n[[subscriber]]\nemail = \"a@b.org\"\nname = \"A\" # hi\npaused = true\n\n[[subscriber]]\nemail = \"new@example.org\"\nsince = 2026-11-28\n",
            ),
        ] {
            let mut r = Roster::scan(&text, Path::new("x"), &w).unwrap();
            assert!(r.set(0, "paused", Value::from(true)));
            r.push(&email("new@example.org"), entry("new@example.org"));
            assert_eq!(r.render(), expected, "for {text:?}");
        }
        // Into a CRLF file without entries.
        let text = "# empty\r\n";
        let mut r = Roster::scan(text, Path::new("x"), &w).unwrap();
        r.push(&email("new@example.org"), entry("new@example.org"));
        assert_eq!(
            r.render(),
            "# empty\r\n\r\n[[subscriber]]\r\nemail = \"new@example.org\"\r\nsince = 2026-11-28\r\n"
        );
    }

    #[test]
    fn a_new_entry_goes_below_the_comments_right_under_the_last_one() {
        let w = wanted(&["new@example.org"]);
        let new = "[[subscriber]]\nemail = \"new@example.org\"\nsince = 2026-11-28\n";
        for (text, expected) in [
            (
                "[[subscriber]]\nemail = \"a@b.org\"\n# about a\n  # more\n\n# footer\n",
                format!(
                    "[[subscriber]]\nemail = \"a@b.org\"\n# about a\n  # more\n\n{new}\n# footer\n"
                ),
            ),
            (
                "[[subscriber]]\nemail = \"a@b.org\"\n# about a",
                format!(
                    "[[subscriber]]\nemail = \"a@b.org\"\n# about a\n\n{}",
                    new.trim_end()
                ),
            ),
            (
                "[[subscriber]]\nemail = \"a@b.org\"\n\n# footer\n",
                format!("[[subscriber]]\nemail = \"a@b.org\"\n\n{new}\n# footer\n"),
            ),
        ] {
            let mut r = Roster::scan(text, Path::new("x"), &w).unwrap();
            r.push(&email("new@example.org"), entry("new@example.org"));
            assert_eq!(r.render(), expected, "for {text:?}");
            assert_eq!(add_then_remove(text), text, "for {text:?}");
        }
    }

    #[test]
    fn only_the_bytes_of_the_changed_entry_change() {
        let text = "# list\n[[subscriber]]\nemail = 'a@b.org' # first\nname = \"\"\"\n[[subscriber]]\n\"\"\"\n\n# b's note\n[[subscriber]] # b\n\"email\" = \"B@b.org\"\ntopics = [\n  \"X\", # x\n]\n[[subscriber]]\nemail = \"c@b.org\"";
        let mut r = Roster::scan(
            text,
            Path::new("x"),
            &wanted(&["a@b.org", "b@b.org", "c@b.org"]),
        )
        .unwrap();
        let b = r.find(&email("b@b.org")).unwrap();
        assert!(r.set(b, "paused", Value::from(true)));
        let c = r.find(&email("c@b.org")).unwrap();
        assert!(r.set(c, "paused", Value::from(true)));
        assert_eq!(
            r.render(),
            text.replace(
                "]\n[[subscriber]]\nemail = \"c@b.org\"",
                "]\npaused = true\n[[subscriber]]\nemail = \"c@b.org\"\npaused = true"
            )
        );
        assert_eq!(r.entry_line(b), 10);
    }

    #[test]
    fn a_big_list_is_scanned_in_parallel_parts_that_agree() {
        let mut text = String::from("# header\n\n");
        for i in 0..60_000 {
            text.push_str(&format!(
                "[[subscriber]]\nemail = \"r{i}@example.org\"\nname = \"R {i}\"\ntopics = [\"A\", \"B\"]\n\n"
            ));
        }
        assert!(text.len() > 4 << 20);
        let w = wanted(&["r0@example.org", "r30000@example.org", "r59999@example.org"]);
        let r = Roster::scan(&text, Path::new("x"), &w).unwrap();
        assert_eq!(r.entries.len(), 3);
        let whole = scan_pieces(&text, &cuts(&text), &w);
        let spans: Vec<Spans> = r.entries.iter().map(|e| e.spans.unwrap()).collect();
        let expected: Vec<Spans> = whole.found.iter().map(|(_, s)| *s).collect();
        assert_eq!(spans, expected);
        assert_eq!(r.last_body_end, whole.last_body_end);
    }

    /// A list with comments above and between entries, headers with notes (several entries
    /// in one piece), addresses in mixed case, and other addresses inside names.
    fn varied_list(n: usize) -> String {
        let mut text = String::from("# header\n\n");
        for i in 0..n {
            if i % 7 == 0 {
                text.push_str(&format!("# about r{i}@example.org\n"));
            }
            let header = if i % 11 == 5 {
                "[[subscriber]] # noted"
            } else {
                "[[subscriber]]"
            };
            let address = if i % 5 == 0 {
                format!("R{i}@Example.org")
            } else {
                format!("r{i}@example.org")
            };
            let next = i + 1;
            text.push_str(&format!(
                "{header}\nemail = \"{address}\"\nname = \"R <r{next}@example.org>\"\n"
            ));
            if i % 3 == 0 {
                text.push('\n');
            }
            if i % 13 == 0 {
                text.push_str("# trailing note\n\n");
            }
        }
        text
    }

    /// What a scan found: each entry's spans, which address is which entry, where the last
    /// entry and the top-level text end.
    type Summary = (Vec<Spans>, Vec<(String, usize)>, Option<usize>, usize);

    fn summary(r: &Roster<'_>) -> Summary {
        let mut keys: Vec<(String, usize)> =
            r.by_key.iter().map(|(k, i)| (k.clone(), *i)).collect();
        keys.sort();
        let spans = r.entries.iter().map(|e| e.spans.unwrap()).collect();
        (spans, keys, r.last_body_end, r.top_end)
    }

    #[test]
    fn a_checked_scan_finds_what_the_whole_scan_finds() {
        let text = varied_list(3000);
        let all = Roster::scan(&text, Path::new("x"), &wanted(&[])).unwrap();
        assert!(all.reusable());
        let many: Vec<String> = (100..130).map(|i| format!("r{i}@example.org")).collect();
        for asked in [
            vec![],
            vec!["r0@example.org"],
            vec!["r5@example.org"],
            vec!["R35@EXAMPLE.ORG", "r1234@example.org"],
            vec!["r2999@example.org"],
            vec!["r3000@example.org", "nobody@example.org"],
            vec!["r16@example.org", "r17@example.org", "r18@example.org"],
            many.iter().map(String::as_str).collect(),
        ] {
            let w = wanted(&asked);
            let whole = Roster::scan(&text, Path::new("x"), &w).unwrap();
            let checked = Roster::scan_checked(&text, Path::new("x"), &w)
                .expect("fit")
                .unwrap();
            assert_eq!(summary(&checked), summary(&whole), "for {asked:?}");
            assert!(checked.reusable());
        }
    }

    #[test]
    fn lists_the_byte_search_could_misread_are_not_reusable() {
        let reusable = |text: &str| {
            Roster::scan(text, Path::new("x"), &wanted(&[]))
                .unwrap()
                .reusable()
        };
        assert!(reusable(
            "[[subscriber]]\nemail = 'a@b.org'\nname = \"\"\"\nx\n\"\"\"\n"
        ));
        assert!(!reusable("[[subscriber]]\nemail = \"\\u0061@b.org\"\n"));
        assert!(!reusable("[[subscriber]]\nemail = \"jos\u{e9}@b.org\"\n"));
        assert!(!reusable(
            "[[subscriber]]\nemail = \"a@b.org\"\nname = \"\"\"\n[[subscriber]]\n\"\"\"\n"
        ));

        // What an edit writes is only as fit as what it adds.
        let text = "[[subscriber]]\nemail = \"a@b.org\"\n";
        let mut r = Roster::scan(text, Path::new("x"), &wanted(&["a@b.org"])).unwrap();
        assert!(r.set(0, "name", Value::from("A \"B\"\n[[subscriber]]")));
        r.push(&email("new@example.org"), entry("new@example.org"));
        assert!(r.output_reusable());
        let odd = SubscriberEmail::on_the_list("jos\u{e9}@example.org").unwrap();
        r.push(&odd, entry(odd.as_str()));
        assert!(!r.output_reusable());
    }

    /// A list of entries made of random lines, mostly in the plain shape.
    fn random_list(rng: &mut Rng) -> String {
        let mut text = String::new();
        let line = |text: &mut String, line: &str, rng: &mut Rng| {
            text.push_str(line);
            text.push_str(rng.ending());
        };
        if rng.below(20) == 0 {
            text.push('\u{feff}');
        }
        if rng.below(3) == 0 {
            line(&mut text, "# the list", rng);
        }
        for i in 0..=rng.below(12) {
            line(&mut text, "[[subscriber]]", rng);
            line(&mut text, &format!("email = \"r{i}@example.org\""), rng);
            for _ in 0..rng.below(5) {
                let any = LINES[rng.below(LINES.len())];
                let fine = LINES[rng.below(FINE)];
                line(&mut text, if rng.below(40) == 0 { any } else { fine }, rng);
            }
        }
        if rng.below(4) == 0 {
            let end = text.trim_end_matches(['\r', '\n']).len();
            text.truncate(end);
        }
        text
    }

    /// Reading pieces quickly where possible finds exactly what reading them all with
    /// `toml_parser` finds: the same entries and spans, or the same error at the same place.
    #[test]
    fn the_quick_reading_finds_what_the_parser_finds() {
        let w = wanted(&["r0@example.org", "r3@example.org", "a@b.org", "x@y.z"]);
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let (mut failed, mut found) = (0, 0);
        for _ in 0..6_000 {
            let text = random_list(&mut rng);
            let cuts = cuts(&text);
            let quick = scan_pieces_by(&text, &cuts, &w, Reading::Quick);
            let events = scan_pieces_by(&text, &cuts, &w, Reading::Events);
            let parser = scan_pieces_by(&text, &cuts, &w, Reading::Parser);
            assert_eq!(quick, parser, "{text:?}");
            assert_eq!(events, parser, "{text:?}");
            assert_eq!(scan_part(&text, 0, text.len(), &w), parser, "{text:?}");
            // In two parts, the second starting at a cut, as the threads of a big list's scan.
            let half = cuts.len() / 2;
            let (start, end) = (cuts[half], text.len());
            for (part, cuts) in [(0..start, &cuts[..=half]), (start..end, &cuts[half..])] {
                let parser = scan_pieces_by(&text, cuts, &w, Reading::Parser);
                let part = scan_part(&text, part.start, part.end, &w);
                assert_eq!(part, parser, "{text:?} at {start}");
            }
            failed += usize::from(quick.failure.is_some());
            found += usize::from(!quick.found.is_empty() && quick.failure.is_none());
        }
        assert!(
            failed > 1000 && found > 1000,
            "{failed} failed, {found} found"
        );
    }

    #[test]
    fn tricky_lists_read_the_same_both_ways() {
        let w = wanted(&["a@b.org", "b@b.org"]);
        for text in [
            "[[subscriber]]\nemail = \"a@b.org\"\nname = \"\"\"\n[[subscriber]]\nemail = \"b@b.org\"\n\"\"\"\n",
            "[[subscriber]]\nemail = \"a@b.org\"\nname = \"x\\u00e9\"\n[[subscriber]]\nemail = \"b\\u0040b.org\"\n",
            "\u{feff}[[subscriber]]\r\nemail = \"a@b.org\"\r\n\r\n[[subscriber]]\r\nemail = \"b@b.org\"",
            "[[subscriber]]\n\temail\t= \"a@b.org\" # \u{1}\n",
            "[[subscriber]]\nemail = \"a@b.org\"\nemail = \"b@b.org\"\n",
            "[[subscriber]]\nemail = \"a@b.org\"\nname = \"x\"\nname = \"y\"\n",
            "[[subscriber]]\nemail = \"a@b.org\"\nx.y = 1\n[[subscriber]]\nemail = \"b@b.org\"\nx = { y = 1 }\n",
            "[[subscriber]]\nemail = \"a@b.org\"\nsubscribed_at = 2024-02-30\n",
            "[[subscriber]]\nemail = \"a@b.org\"\nsubscribed_at = 2024-02-29\nat = 2026-12-01T08:00:00Z\n",
            "[[subscriber]]\nemail = \"Jos\u{e9}@b.org\"\n[[subscriber]]\nemail = \"B@B.org\"\n",
            "version = 1\n[[subscriber]]\nemail = \"a@b.org\"\n",
            "subscriber = []\n",
            "[[subscriber]]\nemail = \"a@b.org\"\n[extra]\n",
            "[[subscriber]]\nemail = \"a@b.org\"\ntopics = [\n  \"A\", # a\n]\n[[subscriber]]\nemail = \"b@b.org\"\n",
            "[[subscriber]]\nemail = \"a@b.org\"\n# a\rb\n",
        ] {
            let cuts = cuts(text);
            let parser = scan_pieces_by(text, &cuts, &w, Reading::Parser);
            for reading in [Reading::Quick, Reading::Events] {
                let quick = scan_pieces_by(text, &cuts, &w, reading);
                assert_eq!(quick, parser, "{reading:?}: {text:?}");
            }
        }
    }

    #[test]
    fn errors_have_positions_and_odd_shapes_are_refused() {
        let err = |text: &str| {
            Roster::scan(text, Path::new("s.toml"), &wanted(&[]))
                .err()
                .expect("refused")
                .to_string()
        };
        assert!(err("[[subscriber]]\nemail = \"a@b.org\n").starts_with("s.toml:2:"));
        assert!(
            err("[[subscriber]]\nemail = \"a\"\n[[subscriber]]\nemail = 3 3\n")
                .starts_with("s.toml:4:")
        );
        assert!(
            err("subscriber = [{ email = \"a@b.org\" }]\n")
                .contains("rewrite `subscriber = [...]`")
        );
        assert!(err("[[subscriber]]\nemail = \"a\"\n[extra]\n").contains(
            "3:1: paperwire edits lists made of [[subscriber]] tables only; found [extra]"
        ));
        assert!(err("[[subscriber]]\nemail = \"a\"\nemail = \"b\"\n").contains("duplicate key"));
    }
}
