//! Checking `subscribers.toml` with a position for every problem.
//!
//! The file is read with `toml_edit`'s spanned document so that each problem — unknown key,
//! wrong type, bad address, duplicate, unknown topic — points at its own `line:col`, and all
//! of them are reported in one pass rather than stopping at the first.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use toml_edit::{Document, Item, TableLike, Value};

use super::counts::MaxPapers;
use super::{MailFormat, Subscriber, SubscriberEmail};
use crate::diag::{Location, Problem, Problems, line_col};
use crate::digest::personal::Profile as PersonalProfile;

/// The keys a `[[subscriber]]` table may have.
pub(super) const KNOWN_KEYS: &[&str] = &[
    "email",
    "name",
    "topics",
    "format",
    "max_papers",
    "paused",
    "since",
    "unsubscribed_at",
    "bounced_at",
    "interests",
    "authors",
    "like",
    "mute",
    "for_you",
];

/// Parses and checks the text of a subscriber list; `path` names it in messages and
/// `sections` are the topics a subscriber may choose.
pub fn parse(text: &str, path: &Path, sections: &[&str]) -> Result<Vec<Subscriber>, Problems> {
    super::personal::sharing(|| parse_list(text, path, sections))
}

fn parse_list(text: &str, path: &Path, sections: &[&str]) -> Result<Vec<Subscriber>, Problems> {
    // A valid list (the usual case) loads through serde, which needs a fraction of the memory
    // of the spanned `toml_edit` document (350 MB for 100,000 subscribers); anything it does
    // not accept goes through the checker below, which finds and places every problem.
    if let Some(subscribers) = fast::parse(text, sections) {
        return Ok(subscribers);
    }
    let doc = Document::parse(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        Problems::one(
            Location::at(path, text, offset),
            e.message().trim().to_owned(),
        )
    })?;
    let mut checker = Checker {
        path,
        text,
        sections,
        problems: Vec::new(),
        first_seen: HashMap::new(),
    };
    let mut subscribers = Vec::new();
    for (key, item) in doc.as_table().iter() {
        let key_span = doc.as_table().key(key).and_then(|k| k.span());
        if key != "subscriber" {
            checker.problem(
                key_span.or_else(|| item.span()),
                format!("unknown key `{key}` (the file holds [[subscriber]] tables only)"),
            );
            continue;
        }
        match item {
            Item::ArrayOfTables(tables) => {
                for table in tables.iter() {
                    subscribers.extend(checker.subscriber(table, table.span()));
                }
            }
            Item::Value(Value::Array(array)) => {
                for value in array.iter() {
                    match value {
                        Value::InlineTable(table) => {
                            subscribers.extend(checker.subscriber(table, table.span()))
                        }
                        other => checker.problem(
                            other.span(),
                            format!(
                                "`subscriber` entries must be tables, found {}",
                                value_kind(other)
                            ),
                        ),
                    }
                }
            }
            other => checker.problem(
                other.span().or(key_span),
                format!(
                    "`subscriber` must be [[subscriber]] tables, found {}",
                    item_kind(other)
                ),
            ),
        }
    }
    if checker.problems.is_empty() {
        Ok(subscribers)
    } else {
        let mut problems = checker.problems;
        problems.sort_by_key(|p| (p.location.line, p.location.col));
        Err(Problems(problems))
    }
}

/// [`parse`] of an open file of `len` bytes. A valid list is read a block at a time, so that
/// its text is never held whole next to the subscribers; anything else is read whole for the
/// checker.
pub(super) fn parse_file(
    file: &mut std::fs::File,
    len: u64,
    path: &Path,
    sections: &[&str],
) -> Result<Vec<Subscriber>, super::SubscriberError> {
    use std::io::{Read, Seek};
    let read_error = |source| super::SubscriberError::Read {
        path: path.to_owned(),
        source,
    };
    let lean = super::personal::sharing(|| fast::parse_stream(&mut *file, len, sections));
    if let Some(list) = lean.map_err(read_error)? {
        return Ok(list);
    }
    let mut bytes = Vec::new();
    file.rewind().map_err(read_error)?;
    file.read_to_end(&mut bytes).map_err(read_error)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not UTF-8 text",
        ))
    })?;
    parse(&text, path, sections).map_err(super::SubscriberError::Invalid)
}

struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
    sections: &'a [&'a str],
    problems: Vec<Problem>,
    /// Lowercased address → byte offset of its first entry's `email` value.
    first_seen: HashMap<String, Option<usize>>,
}

impl Checker<'_> {
    fn problem(&mut self, span: Option<Range<usize>>, message: String) {
        let location = match span {
            Some(span) => Location::at(self.path, self.text, span.start),
            None => Location::file(self.path),
        };
        self.problems.push(Problem::new(location, message));
    }

    /// One entry; `None` when it has problems (already recorded).
    fn subscriber(
        &mut self,
        table: &dyn TableLike,
        table_span: Option<Range<usize>>,
    ) -> Option<Subscriber> {
        let before = self.problems.len();
        let key_span = |key: &str| table.key(key).and_then(|k| k.span());

        for (key, item) in table.iter() {
            if !KNOWN_KEYS.contains(&key) {
                self.problem(
                    key_span(key).or_else(|| item.span()),
                    format!(
                        "unknown key `{key}` in [[subscriber]] (expected one of: {})",
                        KNOWN_KEYS.join(", ")
                    ),
                );
            }
        }

        let email = self.email(table, table_span);

        let name = table
            .get("name")
            .and_then(|item| {
                let name = self.string(item, "name")?;
                match super::check_name(name) {
                    Ok(()) => Some(name),
                    Err(message) => {
                        self.problem(item.span(), message);
                        None
                    }
                }
            })
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);

        let topics = table
            .get("topics")
            .map(|item| self.topics(item))
            .unwrap_or_default();

        let format = table
            .get("format")
            .and_then(|item| {
                let raw = self.string(item, "format")?;
                raw.parse::<MailFormat>()
                    .map_err(|e| self.problem(item.span(), e))
                    .ok()
            })
            .unwrap_or_default();

        let max_papers = table
            .get("max_papers")
            .and_then(|item| match item.as_integer() {
                Some(n) => MaxPapers::new(n)
                    .map(MaxPapers::get)
                    .map_err(|m| self.problem(item.span(), m))
                    .ok(),
                None => {
                    self.wrong_type(item, "max_papers", "an integer");
                    None
                }
            });

        let paused = table
            .get("paused")
            .and_then(|item| match item.as_bool() {
                Some(b) => Some(b),
                None => {
                    self.wrong_type(item, "paused", "true or false");
                    None
                }
            })
            .unwrap_or(false);

        let since = table.get("since").and_then(|item| self.since(item));
        let unsubscribed_at = table
            .get("unsubscribed_at")
            .and_then(|item| self.utc_time(item, "unsubscribed_at"));
        let bounced_at = table
            .get("bounced_at")
            .and_then(|item| self.utc_time(item, "bounced_at"));
        let profile = self.profile(table);

        if self.problems.len() > before {
            return None;
        }
        Some(Subscriber {
            email: email?,
            name,
            topics: topics.into(),
            format,
            max_papers,
            paused,
            since,
            unsubscribed_at,
            bounced_at,
            profile: profile.into(),
        })
    }

    /// The personal fields (see [`super::personal`]), each value checked where it is.
    fn profile(&mut self, table: &dyn TableLike) -> PersonalProfile {
        use super::personal as p;
        PersonalProfile {
            interests: self.values(table, "interests", |r| p::keyword("interests", r)),
            authors: self.values(table, "authors", p::author),
            like: self.values(table, "like", p::like),
            mute: self.values(table, "mute", |r| p::keyword("mute", r)),
            for_you: table
                .get("for_you")
                .and_then(|item| match item.as_integer() {
                    Some(n) => p::for_you(n).map_err(|m| self.problem(item.span(), m)).ok(),
                    None => {
                        self.wrong_type(item, "for_you", "an integer");
                        None
                    }
                }),
        }
    }

    /// An array of strings under `key`, each checked by `parse` at its own position.
    fn values<T>(
        &mut self,
        table: &dyn TableLike,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Vec<T> {
        let Some(item) = table.get(key) else {
            return Vec::new();
        };
        let Some(array) = item.as_array() else {
            self.wrong_type(item, key, "an array of strings");
            return Vec::new();
        };
        let mut out = Vec::new();
        for value in array.iter() {
            match value.as_str().map(&parse) {
                Some(Ok(v)) => out.push(v),
                Some(Err(message)) => self.problem(value.span(), message),
                None => self.problem(
                    value.span(),
                    format!(
                        "`{key}` entries must be strings, found {}",
                        value_kind(value)
                    ),
                ),
            }
        }
        out
    }

    /// The entry's address, checked and not seen before on the list.
    fn email(
        &mut self,
        table: &dyn TableLike,
        table_span: Option<Range<usize>>,
    ) -> Option<SubscriberEmail> {
        let email = match table.get("email") {
            None => {
                self.problem(table_span, "this [[subscriber]] has no `email`".to_owned());
                None
            }
            Some(item) => {
                self.string(item, "email")
                    .and_then(|raw| match SubscriberEmail::parse(raw) {
                        Ok(email) => Some(email),
                        Err(e) => {
                            self.problem(item.span(), e.to_string());
                            None
                        }
                    })
            }
        };
        if let (Some(email), Some(item)) = (&email, table.get("email")) {
            // The offset is kept and turned into a line only for a duplicate: counting lines
            // for every entry would make a long list quadratic to load.
            let offset = item.span().map(|s| s.start);
            match self.first_seen.get(&email.key()) {
                Some(first) => {
                    let first_line = first.map_or(0, |o| line_col(self.text, o).0);
                    let message = format!(
                        "{email} is listed twice (first on line {first_line}; addresses are compared ignoring case)"
                    );
                    self.problem(item.span(), message);
                }
                None => {
                    self.first_seen.insert(email.key(), offset);
                }
            }
        }

        email
    }

    fn string<'i>(&mut self, item: &'i Item, key: &str) -> Option<&'i str> {
        match item.as_str() {
            Some(s) => Some(s),
            None => {
                self.wrong_type(item, key, "a string");
                None
            }
        }
    }

    fn wrong_type(&mut self, item: &Item, key: &str, expected: &str) {
        self.problem(
            item.span(),
            format!("`{key}` must be {expected}, found {}", item_kind(item)),
        );
    }

    fn topics(&mut self, item: &Item) -> Vec<String> {
        let Some(array) = item.as_array() else {
            self.wrong_type(item, "topics", "an array of section names");
            return Vec::new();
        };
        let mut topics = Vec::new();
        for value in array.iter() {
            let Some(topic) = value.as_str() else {
                self.problem(
                    value.span(),
                    format!("a topic must be a string, found {}", value_kind(value)),
                );
                continue;
            };
            match check_topic(topic, self.sections) {
                Ok(known) => topics.push(known.to_owned()),
                Err(message) => self.problem(value.span(), message),
            }
        }
        topics
    }

    fn since(&mut self, item: &Item) -> Option<chrono::NaiveDate> {
        let date = item
            .as_datetime()
            .filter(|d| d.time.is_none() && d.offset.is_none())
            .and_then(|d| d.date);
        match date {
            Some(d) => {
                let parsed = chrono::NaiveDate::from_ymd_opt(
                    i32::from(d.year),
                    d.month.into(),
                    d.day.into(),
                );
                if parsed.is_none() {
                    self.problem(item.span(), format!("`since` {d} is not a calendar date"));
                }
                parsed
            }
            None => {
                self.wrong_type(item, "since", "a date like 2026-11-28");
                None
            }
        }
    }

    fn utc_time(&mut self, item: &Item, key: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        let Some(datetime) = item.as_datetime() else {
            self.wrong_type(item, key, "a date-time like 2026-12-01T08:00:00Z");
            return None;
        };
        if datetime.date.is_none() || datetime.time.is_none() || datetime.offset.is_none() {
            self.problem(
                item.span(),
                format!(
                    "`{key}` {datetime} needs a date, a time and an offset, like 2026-12-01T08:00:00Z"
                ),
            );
            return None;
        }
        chrono::DateTime::parse_from_rfc3339(&datetime.to_string())
            .map(|d| d.with_timezone(&chrono::Utc))
            .map_err(|e| self.problem(item.span(), format!("`{key}` {datetime}: {e}")))
            .ok()
    }
}

/// The lean path for a list without problems: `None` as soon as anything is off (then the
/// checker reports it), else exactly the subscribers the checker would return.
mod fast {
    use std::borrow::Cow;
    use std::collections::HashSet;

    use serde::Deserialize;

    use crate::digest::personal::Profile as PersonalProfile;

    use super::super::counts::MaxPapers;
    use super::super::{MailFormat, Subscriber, SubscriberEmail, Topics};

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File<'a> {
        #[serde(borrow, default)]
        subscriber: Vec<Entry<'a>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry<'a> {
        #[serde(borrow)]
        email: Cow<'a, str>,
        #[serde(borrow, default)]
        name: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        topics: Option<Vec<Cow<'a, str>>>,
        #[serde(borrow, default)]
        format: Option<Cow<'a, str>>,
        #[serde(default)]
        max_papers: Option<i64>,
        #[serde(default)]
        paused: Option<bool>,
        #[serde(default)]
        since: Option<toml::value::Datetime>,
        #[serde(default)]
        unsubscribed_at: Option<toml::value::Datetime>,
        #[serde(default)]
        bounced_at: Option<toml::value::Datetime>,
        #[serde(borrow, default)]
        interests: Vec<Cow<'a, str>>,
        #[serde(borrow, default)]
        authors: Vec<Cow<'a, str>>,
        #[serde(borrow, default)]
        like: Vec<Cow<'a, str>>,
        #[serde(borrow, default)]
        mute: Vec<Cow<'a, str>>,
        #[serde(default)]
        for_you: Option<i64>,
    }

    /// The text cut before every line that is exactly `[[subscriber]]`: each piece is a TOML
    /// document of its own, so the whole file is never held as one parsed tree. A cut inside a
    /// multi-line string leaves that string unterminated, which fails the piece before it.
    fn pieces(text: &str) -> impl Iterator<Item = &str> {
        let mut starts = vec![0];
        let mut at = 0;
        for line in text.split_inclusive('\n') {
            if at > 0 && line.trim() == "[[subscriber]]" {
                starts.push(at);
            }
            at += line.len();
        }
        starts.push(text.len());
        (0..starts.len() - 1).map(move |i| &text[starts[i]..starts[i + 1]])
    }

    pub(super) fn parse(text: &str, sections: &[&str]) -> Option<Vec<Subscriber>> {
        let mut lean = Lean::new(sections, 0);
        lean.feed(text, false)?;
        Some(lean.out)
    }

    /// How much of the file is read at a time.
    const BLOCK: usize = 4 << 20;

    /// [`parse`] of a file read a block at a time, so that its text is never held whole;
    /// `len` (the file's size) sizes the list.
    pub(super) fn parse_stream(
        file: impl std::io::Read,
        len: u64,
        sections: &[&str],
    ) -> std::io::Result<Option<Vec<Subscriber>>> {
        parse_blocks(file, len, sections, BLOCK)
    }

    pub(super) fn parse_blocks(
        mut file: impl std::io::Read,
        len: u64,
        sections: &[&str],
        block: usize,
    ) -> std::io::Result<Option<Vec<Subscriber>>> {
        // Room for a list of short entries; pages never touched cost no memory.
        let capacity = usize::try_from(len / 48).unwrap_or(0);
        let mut lean = Lean::new(sections, capacity);
        let mut buf: Vec<u8> = Vec::with_capacity(2 * block);
        loop {
            let filled = buf.len();
            buf.resize(filled + block, 0);
            let n = file.read(&mut buf[filled..])?;
            buf.truncate(filled + n);
            let end = if n == 0 {
                buf.len()
            } else {
                match last_cut(&buf) {
                    Some(cut) => cut,
                    None => continue,
                }
            };
            let Ok(text) = std::str::from_utf8(&buf[..end]) else {
                return Ok(None);
            };
            if lean.feed(text, n != 0).is_none() {
                return Ok(None);
            }
            buf.drain(..end);
            if n == 0 {
                return Ok(Some(lean.out));
            }
        }
    }

    /// The start of the last complete line that is `[[subscriber]]` (not at 0): where a block
    /// can end so that [`pieces`] cuts it as it would cut the whole file.
    fn last_cut(buf: &[u8]) -> Option<usize> {
        const HEADER: &[u8] = b"[[subscriber]]";
        memchr::memmem::rfind_iter(buf, HEADER).find_map(|at| {
            let line_start = buf[..at].iter().rposition(|b| *b == b'\n')? + 1;
            let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r');
            let rest = &buf[at + HEADER.len()..];
            let newline = rest.iter().position(|b| *b == b'\n')?;
            (buf[line_start..at].iter().all(blank) && rest[..newline].iter().all(blank))
                .then_some(line_start)
        })
    }

    /// The lean reader's state across blocks.
    struct Lean<'s> {
        sections: &'s [&'s str],
        /// Hashes of the lowercased addresses seen: a repeat (or, very rarely, a collision)
        /// sends the list to the checker, which compares the addresses themselves.
        seen: HashSet<u64>,
        hasher: std::hash::RandomState,
        out: Vec<Subscriber>,
        started: bool,
        /// One per worker thread.
        interners: Vec<Interner<'s>>,
    }

    /// Each distinct choice of topics, once.
    #[derive(Default)]
    struct Interner<'s> {
        choices: std::collections::HashMap<Vec<&'s str>, Topics>,
        chosen: Vec<&'s str>,
        /// Interests, mutes and followed authors, each once per thread (a list's readers
        /// follow the same few: unshared, they would cost about a kilobyte a reader).
        personal: super::super::personal::Shared,
    }

    impl<'s> Lean<'s> {
        fn new(sections: &'s [&'s str], capacity: usize) -> Self {
            let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
            Self {
                sections,
                seen: HashSet::with_capacity(capacity / 2),
                hasher: std::hash::RandomState::new(),
                out: Vec::with_capacity(capacity),
                started: false,
                interners: (0..workers).map(|_| Interner::default()).collect(),
            }
        }

        /// Reads whole pieces, on every core for a long text; `more` says whether more text
        /// follows.
        fn feed(&mut self, text: &str, more: bool) -> Option<()> {
            let runs = split_runs(text, self.interners.len());
            let first = !self.started;
            let sections = self.sections;
            let count = runs.len();
            let parsed: Vec<Option<Vec<Subscriber>>> = if count == 1 {
                vec![read_run(
                    text,
                    sections,
                    &mut self.interners[0],
                    first,
                    more,
                )]
            } else {
                std::thread::scope(|scope| {
                    let handles: Vec<_> = runs
                        .iter()
                        .zip(self.interners.iter_mut())
                        .enumerate()
                        .map(|(k, (run, interner))| {
                            let more = more || k + 1 < count;
                            scope.spawn(move || {
                                read_run(run, sections, interner, first && k == 0, more)
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().expect("reading the list does not panic"))
                        .collect()
                })
            };
            self.started = true;
            for run in parsed {
                for subscriber in run? {
                    if !self.first_time(&subscriber.email) {
                        return None;
                    }
                    self.out.push(subscriber);
                }
            }
            Some(())
        }

        /// Whether `email` is new to the list.
        fn first_time(&mut self, email: &SubscriberEmail) -> bool {
            use std::hash::{BuildHasher, Hasher};
            let mut h = self.hasher.build_hasher();
            for b in email.as_str().bytes() {
                h.write_u8(b.to_ascii_lowercase());
            }
            self.seen.insert(h.finish())
        }
    }

    /// `text` in about `parts` runs of whole pieces (one when it is short).
    fn split_runs(text: &str, parts: usize) -> Vec<&str> {
        if parts < 2 || text.len() < 1 << 20 {
            return vec![text];
        }
        let mut runs = Vec::new();
        let mut start = 0;
        for k in 1..parts {
            let target = text.len() / parts * k;
            match last_cut(&text.as_bytes()[..target]) {
                Some(cut) if cut > start => {
                    runs.push(&text[start..cut]);
                    start = cut;
                }
                _ => {}
            }
        }
        runs.push(&text[start..]);
        runs
    }

    /// The subscribers of a run of whole pieces; `first`: it starts the file; `more`: text
    /// follows it.
    fn read_run<'s>(
        text: &str,
        sections: &'s [&'s str],
        interner: &mut Interner<'s>,
        first: bool,
        more: bool,
    ) -> Option<Vec<Subscriber>> {
        let mut shared = std::mem::take(&mut interner.personal);
        let out = super::super::personal::sharing_in(&mut shared, || {
            read_pieces(text, sections, interner, first, more)
        });
        interner.personal = shared;
        out
    }

    /// [`read_run`], with the personal fields' sharing in place.
    fn read_pieces<'s>(
        text: &str,
        sections: &'s [&'s str],
        interner: &mut Interner<'s>,
        first: bool,
        more: bool,
    ) -> Option<Vec<Subscriber>> {
        let mut out = Vec::new();
        for (i, piece) in pieces(text).enumerate() {
            let file: File<'_> = toml::from_str(piece).ok()?;
            // Subscribers before the first cut that do not come from [[subscriber]] tables
            // (an inline `subscriber = [...]`) cannot be followed by [[subscriber]] tables:
            // that is an error, and the checker reports it.
            if i == 0
                && first
                && (piece.len() < text.len() || more)
                && !file.subscriber.is_empty()
                && !piece.trim_start().starts_with("[[subscriber]]")
            {
                return None;
            }
            entries(file, sections, interner, &mut out)?;
        }
        Some(out)
    }

    impl<'s> Interner<'s> {
        /// The section names of `list` (all known), shared with everyone who chose the same.
        fn topics(&mut self, list: &[Cow<'_, str>], sections: &'s [&'s str]) -> Option<Topics> {
            self.chosen.clear();
            for t in list {
                self.chosen.push(super::check_topic(t, sections).ok()?);
            }
            if let Some(topics) = self.choices.get(self.chosen.as_slice()) {
                return Some(topics.clone());
            }
            let topics: Topics = self
                .chosen
                .iter()
                .map(|t| (*t).to_owned())
                .collect::<Vec<_>>()
                .into();
            self.choices.insert(self.chosen.clone(), topics.clone());
            Some(topics)
        }
    }

    fn entries<'s>(
        file: File<'_>,
        sections: &'s [&'s str],
        interner: &mut Interner<'s>,
        out: &mut Vec<Subscriber>,
    ) -> Option<()> {
        for e in file.subscriber {
            let email = SubscriberEmail::parse(&e.email).ok()?;
            let topics = match &e.topics {
                Some(list) => interner.topics(list, sections)?,
                None => Topics::default(),
            };
            let format = match &e.format {
                Some(f) => f.parse::<MailFormat>().ok()?,
                None => MailFormat::default(),
            };
            let max_papers = match e.max_papers {
                Some(n) => Some(MaxPapers::new(n).ok()?.get()),
                None => None,
            };
            let since = match e.since {
                Some(d) if d.time.is_none() && d.offset.is_none() => {
                    let d = d.date?;
                    Some(chrono::NaiveDate::from_ymd_opt(
                        i32::from(d.year),
                        d.month.into(),
                        d.day.into(),
                    )?)
                }
                Some(_) => return None,
                None => None,
            };
            let unsubscribed_at = utc_time(e.unsubscribed_at)?;
            let bounced_at = utc_time(e.bounced_at)?;
            if e.name
                .as_deref()
                .is_some_and(|n| super::super::check_name(n).is_err())
            {
                return None;
            }
            let profile = profile(&e)?;
            out.push(Subscriber {
                email,
                name: e
                    .name
                    .as_deref()
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
                topics,
                format,
                max_papers,
                paused: e.paused.unwrap_or(false),
                since,
                unsubscribed_at,
                bounced_at,
                profile: profile.into(),
            });
        }
        Some(())
    }

    /// The personal fields, `None` on any problem (the checker then reports it).
    fn profile(e: &Entry<'_>) -> Option<PersonalProfile> {
        use super::super::personal as p;
        Some(PersonalProfile {
            interests: p::list(&e.interests, |r| p::keyword("interests", r)).ok()?,
            authors: p::list(&e.authors, p::author).ok()?,
            like: p::list(&e.like, p::like).ok()?,
            mute: p::list(&e.mute, |r| p::keyword("mute", r)).ok()?,
            for_you: match e.for_you {
                Some(n) => Some(p::for_you(n).ok()?),
                None => None,
            },
        })
    }

    /// `Some(None)` when absent, `None` when it is not a full date-time with an offset.
    fn utc_time(
        value: Option<toml::value::Datetime>,
    ) -> Option<Option<chrono::DateTime<chrono::Utc>>> {
        match value {
            Some(d) if d.date.is_some() && d.time.is_some() && d.offset.is_some() => Some(Some(
                chrono::DateTime::parse_from_rfc3339(&d.to_string())
                    .ok()?
                    .with_timezone(&chrono::Utc),
            )),
            Some(_) => None,
            None => Some(None),
        }
    }
}

/// The section named `topic`, or a message listing the sections.
pub fn check_topic<'s>(topic: &str, sections: &[&'s str]) -> Result<&'s str, String> {
    let wanted = topic.trim();
    if let Some(known) = sections.iter().find(|s| **s == wanted) {
        return Ok(known);
    }
    let hint = sections
        .iter()
        .find(|s| s.eq_ignore_ascii_case(wanted))
        .map(|s| format!(" — did you mean `{s}`?"))
        .unwrap_or_default();
    Err(format!(
        "unknown topic `{topic}`{hint} (the sections are: {})",
        sections.join(", ")
    ))
}

fn item_kind(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Value(v) => value_kind(v),
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
    }
}

fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::InlineTable(_) => "an inline table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECTIONS: &[&str] = &["Federated Learning", "Pruning & Compression", "More papers"];

    fn problems(text: &str) -> Vec<String> {
        parse(text, Path::new("subs.toml"), SECTIONS)
            .unwrap_err()
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_example_file_loads() {
        let text = include_str!("../../subscribers.example.toml");
        let subs = parse(text, Path::new("x"), SECTIONS).unwrap();
        assert_eq!(subs.len(), 3);
        assert_eq!(
            subs[0].topics,
            ["Federated Learning", "Pruning & Compression"]
        );
        assert_eq!(subs[0].max_papers, Some(20));
        assert_eq!(subs[0].since, chrono::NaiveDate::from_ymd_opt(2026, 11, 28));
        assert_eq!(subs[1].format, MailFormat::Text);
        assert!(subs[2].is_active());
    }

    #[test]
    fn every_problem_is_listed_with_its_position() {
        let text = "\
[[subscriber]]
email = \"not an address\"
colour = \"blue\"

[[subscriber]]
email = \"a@example.org\"
topics = [\"Federated Learning\", \"Knitting\", 3]
format = \"pdf\"
max_papers = \"ten\"
paused = \"no\"
since = 2026-11-28T10:00:00
unsubscribed_at = 2026-12-01T08:00:00

[[subscriber]]
email = \"A@Example.org\"
max_papers = 0

[[subscriber]]
name = \"nobody\"
";
        let got = problems(text);
        let expected = [
            "subs.toml:2:9: `not an address` is not a valid email address",
            "subs.toml:3:1: unknown key `colour` in [[subscriber]]",
            "subs.toml:7:33: unknown topic `Knitting`",
            "subs.toml:7:45: a topic must be a string, found an integer",
            "subs.toml:8:10: unknown format `pdf`",
            "subs.toml:9:14: `max_papers` must be an integer, found a string",
            "subs.toml:10:10: `paused` must be true or false, found a string",
            "subs.toml:11:9: `since` must be a date like 2026-11-28, found a date-time",
            "subs.toml:12:19: `unsubscribed_at` 2026-12-01T08:00:00 needs a date, a time and an offset",
            "subs.toml:15:9: A@Example.org is listed twice (first on line 6;",
            "subs.toml:16:14: `max_papers` must be a whole number from 1 to 1000, found `0`",
            "subs.toml:18:1: this [[subscriber]] has no `email`",
        ];
        assert_eq!(got.len(), expected.len(), "{got:#?}");
        for (got, want) in got.iter().zip(expected) {
            assert!(got.starts_with(want), "{got:?} should start with {want:?}");
        }
    }

    #[test]
    fn unknown_top_level_keys_and_syntax_errors_have_positions() {
        let got = problems("title = \"x\"\n[[subscriber]]\nemail = \"a@b.org\"\n");
        assert_eq!(got.len(), 1);
        assert!(
            got[0].starts_with("subs.toml:1:1: unknown key `title`"),
            "{got:?}"
        );

        let got = problems("[[subscriber]]\nemail = \"a@b.org\n");
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("subs.toml:2:"), "{got:?}");
    }

    #[test]
    fn topic_hints_the_right_spelling() {
        let got =
            problems("[[subscriber]]\nemail = \"a@b.org\"\ntopics = [\"federated learning\"]\n");
        assert!(
            got[0].contains("did you mean `Federated Learning`"),
            "{got:?}"
        );
    }

    #[test]
    fn the_lean_path_returns_what_the_checker_returns() {
        let text = format!(
            "{}\n{}",
            include_str!("../../subscribers.example.toml"),
            "[[subscriber]]\nemail = \" X@Example.org \"\nname = \"  \"\ntopics = [\" More papers \"]\n\
             unsubscribed_at = 2026-12-01T08:00:00+02:00\n\n\
             [[subscriber]]\nemail = \"y@example.org\"\nname = \" Y \\\"Z\\\" \"\nmax_papers = 3\npaused = true\n"
        );
        let fast = fast::parse(&text, SECTIONS).expect("a valid list");
        // The checker alone (the lean path refuses a duplicate, so add one and drop it after).
        let dup = format!(
            "{text}\n[[subscriber]]\nemail = \"a@b.org\"\n[[subscriber]]\nemail = \"A@b.org\"\n"
        );
        assert!(fast::parse(&dup, SECTIONS).is_none());
        assert_eq!(fast.len(), 5);
        assert_eq!(fast[3].name, None);
        assert_eq!(fast[3].email.as_str(), "X@Example.org");
        assert_eq!(fast[4].name.as_deref(), Some("Y \"Z\""));
        let doc_checked = {
            // The checker's own pass over the same text.
            let doc = Document::parse(text.as_str()).unwrap();
            let mut checker = Checker {
                path: Path::new("x"),
                text: &text,
                sections: SECTIONS,
                problems: Vec::new(),
                first_seen: HashMap::new(),
            };
            let mut subs = Vec::new();
            if let Some(Item::ArrayOfTables(tables)) = doc.as_table().get("subscriber") {
                for t in tables.iter() {
                    subs.extend(checker.subscriber(t, t.span()));
                }
            }
            assert!(checker.problems.is_empty());
            subs
        };
        assert_eq!(fast, doc_checked);
        // Every kind of problem falls back to the checker.
        for bad in [
            "colour = 1",
            "topics = [\"Knitting\"]",
            "topics = [3]",
            "format = \"pdf\"",
            "max_papers = 0",
            "max_papers = 1001",
            "for_you = 51",
            "max_papers = \"ten\"",
            "paused = \"no\"",
            "since = 2026-11-28T10:00:00",
            "unsubscribed_at = 2026-12-01T08:00:00",
        ] {
            let t = format!("[[subscriber]]\nemail = \"z@b.org\"\n{bad}\n");
            assert!(fast::parse(&t, SECTIONS).is_none(), "{bad}");
        }
        assert!(fast::parse("title = 1\n", SECTIONS).is_none());
        // Cut into pieces at [[subscriber]] lines: what would change the meaning falls back.
        let inline_then_tables =
            "subscriber = [{ email = \"a@b.org\" }]\n[[subscriber]]\nemail = \"c@d.org\"\n";
        assert!(fast::parse(inline_then_tables, SECTIONS).is_none());
        assert!(parse(inline_then_tables, Path::new("x"), SECTIONS).is_err());
        let in_a_string =
            "[[subscriber]]\nemail = \"a@b.org\"\nname = \"\"\"\n[[subscriber]]\n\"\"\"\n";
        assert!(fast::parse(in_a_string, SECTIONS).is_none());
        // Read whole (not cut in two): one entry, whose multi-line name is the one problem.
        let problems = parse(in_a_string, Path::new("x"), SECTIONS).unwrap_err();
        assert_eq!(problems.0.len(), 1, "{problems}");
        assert!(problems.to_string().contains("line break"), "{problems}");
        let spaced =
            "# list\n[[ subscriber ]]\nemail = \"a@b.org\"\n[[subscriber]]\nemail = \"c@d.org\"\n";
        assert_eq!(parse(spaced, Path::new("x"), SECTIONS).unwrap().len(), 2);
        let commented = "# list\n\n[[subscriber]]\nemail = \"a@b.org\"\n[[ subscriber ]]\nemail = \"c@d.org\"\n\n[[subscriber]]\nemail = \"e@f.org\"\n";
        assert_eq!(fast::parse(commented, SECTIONS).unwrap().len(), 3);
        assert!(fast::parse("[[subscriber]]\nname = \"x\"\n", SECTIONS).is_none());
    }

    #[test]
    fn reading_a_block_at_a_time_gives_what_reading_it_whole_gives() {
        let example = include_str!("../../subscribers.example.toml");
        let text = format!(
            "{example}\n[[subscriber]]\nemail = \"x@example.org\"\nname = \"Łukasz Zoë\"\n\n  [[subscriber]]  \r\nemail = \"y@example.org\"\nname = \"李\""
        );
        let whole = fast::parse(&text, SECTIONS).expect("valid");
        assert_eq!(whole.len(), 5);
        for block in [7, 64, 100, 1000, 1 << 20] {
            let streamed =
                fast::parse_blocks(text.as_bytes(), text.len() as u64, SECTIONS, block).unwrap();
            assert_eq!(streamed.as_ref(), Some(&whole), "blocks of {block}");
        }
        // A cut inside a multi-line string, or a repeated address: the checker takes over.
        for bad in [
            format!(
                "{example}\n[[subscriber]]\nemail = \"x@example.org\"\nname = \"\"\"\n[[subscriber]]\n\"\"\"\n"
            ),
            format!("{example}\n[[subscriber]]\nemail = \"ADA@example.org\"\n"),
        ] {
            for block in [50, 1 << 20] {
                assert!(
                    fast::parse_blocks(bad.as_bytes(), 0, SECTIONS, block)
                        .unwrap()
                        .is_none()
                );
            }
        }
    }

    #[test]
    fn readers_who_follow_the_same_keywords_and_authors_share_them_across_blocks() {
        let entry = |i: usize| {
            format!(
                "[[subscriber]]\nemail = \"r{i}@example.org\"\ninterests = [\"KV cache*\"]\n\
                 authors = [\"Tri Dao\"]\nmute = [\"survey\"]\n\n"
            )
        };
        let text: String = (0..50).map(entry).collect();
        let list = fast::parse_blocks(text.as_bytes(), text.len() as u64, SECTIONS, 300)
            .unwrap()
            .expect("valid");
        assert_eq!(list.len(), 50);
        let (first, last) = (&list[0].profile, &list[49].profile);
        assert!(std::sync::Arc::ptr_eq(
            &first.interests[0],
            &last.interests[0]
        ));
        assert!(std::sync::Arc::ptr_eq(&first.authors[0], &last.authors[0]));
        assert!(std::sync::Arc::ptr_eq(&first.mute[0], &last.mute[0]));
        assert_eq!(last.interests[0].as_str(), "KV cache*");
    }

    #[test]
    fn inline_tables_are_accepted_too() {
        let text = "subscriber = [{ email = \"a@b.org\", format = \"text\" }]\n";
        let subs = parse(text, Path::new("x"), SECTIONS).unwrap();
        assert_eq!(subs[0].format, MailFormat::Text);
    }

    #[test]
    fn empty_file_is_an_empty_list() {
        assert!(
            parse("# nobody yet\n", Path::new("x"), SECTIONS)
                .unwrap()
                .is_empty()
        );
    }
}
