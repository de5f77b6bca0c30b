//! The personal fields of a `[[subscriber]]` entry — `interests`, `authors`, `like`, `mute`,
//! `for_you` — checked one value at a time, for the list's loader, `subscribers add` and CSV
//! imports alike, and written back as TOML values by edits.
//!
//! Where several entries share one string (`subscribers add --interests …`, a CSV cell) they
//! are split by the same rule, [`split`]: `;` and `|` separate the entries of every field, and
//! `,` also separates interests, liked ids and mutes — not authors, whose names may read
//! "LeCun, Yann". No entry may hold a character that separates its field's entries, wherever it
//! is written (the list file, `add`, CSV, the preference page), so that an entry exported to CSV
//! comes back whole. Keywords lose nothing by it: punctuation does not count in matching.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use toml_edit::Value;

use crate::digest::Keyword;
use crate::digest::personal::{Author, Profile};
use crate::paper::PaperId;

/// The personal keys, in the order edits write them.
pub(super) const KEYS: [&str; 5] = ["interests", "authors", "like", "mute", "for_you"];

/// Keywords and authors already read in the list being loaded: readers who follow the same
/// ones share them.
#[derive(Default)]
struct Interner {
    keywords: HashMap<String, Arc<Keyword>>,
    authors: HashMap<String, Arc<Author>>,
}

thread_local! {
    static INTERNER: RefCell<Option<Interner>> = const { RefCell::new(None) };
}

/// Runs `f` with keywords and authors shared among the entries it reads.
pub(super) fn sharing<R>(f: impl FnOnce() -> R) -> R {
    let mut shared = Shared::default();
    sharing_in(&mut shared, f)
}

/// Keywords and authors kept between runs of [`sharing_in`] (one per thread that reads).
#[derive(Default)]
pub(super) struct Shared(Interner);

/// Runs `f` with the keywords and authors of `shared` (and those it reads added to them), on
/// this thread: threads that read parts of a list each keep their own, across blocks.
pub(super) fn sharing_in<R>(shared: &mut Shared, f: impl FnOnce() -> R) -> R {
    let mine = std::mem::take(&mut shared.0);
    let before = INTERNER.with(|i| i.borrow_mut().replace(mine));
    let out = f();
    shared.0 = INTERNER
        .with(|i| std::mem::replace(&mut *i.borrow_mut(), before))
        .unwrap_or_default();
    out
}

/// `make(raw)`, or the one already made from the same text.
fn shared<T>(
    raw: &str,
    table: fn(&mut Interner) -> &mut HashMap<String, Arc<T>>,
    make: impl FnOnce() -> Result<T, String>,
) -> Result<Arc<T>, String> {
    INTERNER.with(|i| match i.borrow_mut().as_mut() {
        Some(interner) => {
            let map = table(interner);
            if let Some(v) = map.get(raw) {
                return Ok(Arc::clone(v));
            }
            let v = Arc::new(make()?);
            map.insert(raw.to_owned(), Arc::clone(&v));
            Ok(v)
        }
        None => make().map(Arc::new),
    })
}

/// The fields whose entries can share one string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Interests,
    Authors,
    Like,
    Mute,
}

impl Field {
    /// The characters that separate this field's entries.
    pub fn separators(self) -> &'static [char] {
        match self {
            Self::Authors => &[';', '|'],
            Self::Interests | Self::Like | Self::Mute => &[';', '|', ','],
        }
    }
}

/// The entries of `raw` (a command-line value or a CSV cell), trimmed, empty ones left out.
pub fn split(field: Field, raw: &str) -> Vec<&str> {
    raw.split(field.separators())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

/// `Err` when `raw` holds one of `field`'s separators, which no entry may hold.
fn no_separator(field: Field, what: &str, raw: &str) -> Result<(), String> {
    match raw.chars().find(|c| field.separators().contains(c)) {
        None => Ok(()),
        Some(c) => Err(format!(
            "{what} `{}` holds `{c}`, which separates entries; write one entry without it",
            raw.trim()
        )),
    }
}

/// An interest or mute keyword (the section keyword syntax, without `;`, `|` or `,`), for
/// messages without the key's name (the preference page).
pub fn keyword_entry(raw: &str) -> Result<Keyword, String> {
    no_separator(Field::Interests, "keyword", raw)?;
    Keyword::parse(raw).map_err(|e| e.to_string())
}

/// A followed author (a name with letters, without `;` or `|`), for messages without the
/// key's name.
pub fn author_entry(raw: &str) -> Result<Author, String> {
    no_separator(Field::Authors, "author", raw)?;
    Author::parse(raw).map_err(|e| e.to_string())
}

/// An `interests` or `mute` entry: see [`keyword_entry`].
pub fn keyword(key: &str, raw: &str) -> Result<Arc<Keyword>, String> {
    shared(
        raw,
        |i| &mut i.keywords,
        || keyword_entry(raw).map_err(|e| format!("`{key}`: {e}")),
    )
}

/// An `authors` entry: see [`author_entry`].
pub fn author(raw: &str) -> Result<Arc<Author>, String> {
    shared(
        raw,
        |i| &mut i.authors,
        || author_entry(raw).map_err(|e| format!("`authors`: {e}")),
    )
}

/// A `like` entry: an arXiv id (`2411.01234`, `2411.01234v2`, `cs/0112017`).
pub fn like(raw: &str) -> Result<PaperId, String> {
    match PaperId::parse(raw) {
        Ok(id) if id.is_arxiv() => Ok(id),
        _ => Err(format!(
            "`like`: `{raw}` is not an arXiv id (like 2411.01234 or cs/0112017)"
        )),
    }
}

/// `for_you`: how many papers the block holds; 0 turns it off.
pub fn for_you(n: i64) -> Result<usize, String> {
    super::counts::ForYou::new(n).map(super::counts::ForYou::get)
}

/// Every value of `raw` checked by `parse`, or the first problem.
pub fn list<T>(
    raw: &[impl AsRef<str>],
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    raw.iter().map(|r| parse(r.as_ref())).collect()
}

/// The profile's fields as TOML values, for a new or updated entry.
pub(super) fn toml_fields(p: &Profile) -> Vec<(&'static str, Value)> {
    let strings = |items: Vec<String>| {
        toml_edit::Value::Array(
            items
                .iter()
                .map(String::as_str)
                .collect::<toml_edit::Array>(),
        )
    };
    let mut out = Vec::new();
    if !p.interests.is_empty() {
        out.push((
            "interests",
            strings(p.interests.iter().map(|k| k.as_str().to_owned()).collect()),
        ));
    }
    if !p.authors.is_empty() {
        out.push((
            "authors",
            strings(p.authors.iter().map(|a| a.as_str().to_owned()).collect()),
        ));
    }
    if !p.like.is_empty() {
        out.push((
            "like",
            strings(p.like.iter().map(|i| i.to_string()).collect()),
        ));
    }
    if !p.mute.is_empty() {
        out.push((
            "mute",
            strings(p.mute.iter().map(|k| k.as_str().to_owned()).collect()),
        ));
    }
    if let Some(n) = p.for_you {
        out.push(("for_you", Value::from(n as i64)));
    }
    out
}

/// The profile's CSV cells: interests, authors, like, mute, for_you.
pub(super) fn csv_cells(p: &Profile) -> [String; 5] {
    let join = |items: Vec<&str>| items.join("; ");
    [
        join(p.interests.iter().map(|k| k.as_str()).collect()),
        join(p.authors.iter().map(|a| a.as_str()).collect()),
        join(p.like.iter().map(PaperId::as_str).collect()),
        join(p.mute.iter().map(|k| k.as_str()).collect()),
        p.for_you.map(|n| n.to_string()).unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::parse;

    const SECTIONS: &[&str] = &["Federated Learning", "More papers"];

    #[test]
    fn personal_fields_load_and_default_the_block_size() {
        let text = r#"
[[subscriber]]
email     = "ada@example.org"
interests = ["speculative decoding", "KV cache*"]
authors   = ["Tri Dao", "LeCun, Yann"]
like      = ["2411.01234v2", "arXiv:2405.04434"]
mute      = ["benchmark*"]

[[subscriber]]
email   = "bob@example.org"
mute    = ["survey"]
for_you = 0
"#;
        let subs = parse(text, Path::new("s.toml"), SECTIONS).unwrap();
        let p = &subs[0].profile;
        assert_eq!(p.interests[1].as_str(), "KV cache*");
        assert_eq!(p.authors[1].as_str(), "LeCun, Yann");
        assert_eq!(p.like[0].as_str(), "2411.01234");
        assert_eq!(p.like[1].as_str(), "2405.04434");
        assert_eq!(p.block_size(), 5);
        assert!(p.is_personal());
        assert_eq!(subs[1].profile.block_size(), 0);
        assert!(
            subs[1].profile.is_personal(),
            "a mute alone changes the email"
        );
    }

    #[test]
    fn entries_split_alike_everywhere_and_authors_keep_their_commas() {
        use super::{Field, split};
        assert_eq!(
            split(Field::Interests, " speculative decoding, KV cache*;x|"),
            ["speculative decoding", "KV cache*", "x"]
        );
        assert_eq!(
            split(Field::Authors, "Tri Dao, Yann LeCun; LeCun, Yann|A"),
            ["Tri Dao, Yann LeCun", "LeCun, Yann", "A"]
        );
        assert_eq!(
            split(Field::Like, "2411.01234,2405.04434"),
            ["2411.01234", "2405.04434"]
        );
    }

    #[test]
    fn every_bad_value_has_its_position() {
        let text = "[[subscriber]]\nemail = \"a@b.org\"\ninterests = [\"ok\", \"a*b\", 3]\n\
                    authors = \"Tri Dao\"\nlike = [\"2411.01234\", \"t-0123456789abcdef\", \"24.1\"]\n\
                    mute = [\"  \"]\nfor_you = -1\n\
                    [[subscriber]]\nemail = \"c@d.org\"\ninterests = [\"foo;bar\"]\n\
                    authors = [\"A|B Name\", \"LeCun, Yann\"]\nmute = [\"x, y\"]\n";
        let problems: Vec<String> = parse(text, Path::new("s.toml"), SECTIONS)
            .unwrap_err()
            .0
            .iter()
            .map(ToString::to_string)
            .collect();
        let expected = [
            "s.toml:3:20: `interests`: keyword `a*b`: `*` may only end the keyword",
            "s.toml:3:27: `interests` entries must be strings, found an integer",
            "s.toml:4:11: `authors` must be an array of strings, found a string",
            "s.toml:5:23: `like`: `t-0123456789abcdef` is not an arXiv id",
            "s.toml:5:45: `like`: `24.1` is not an arXiv id",
            "s.toml:6:9: `mute`: keyword `  ` has no letters or digits",
            "s.toml:7:11: `for_you` must be a whole number from 0 to 50, found `-1`",
            "s.toml:10:14: `interests`: keyword `foo;bar` holds `;`, which separates entries",
            "s.toml:11:12: `authors`: author `A|B Name` holds `|`, which separates entries",
            "s.toml:12:9: `mute`: keyword `x, y` holds `,`, which separates entries",
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
        for (got, want) in problems.iter().zip(expected) {
            assert!(got.starts_with(want), "{got:?} should start with {want:?}");
        }
    }
}
