//! The "For you" part of the preference page: interests, followed authors, liked papers, mutes
//! and the block's size, read from the form and checked by the same rules as the list's
//! loader and `subscribers add` ([`crate::subscribers::personal`]), so that a page can never
//! record what the list would refuse to read. Problems are said in the reader's words, with
//! the line they are on.

use super::changes::PersonalChoice;
use super::self_service::field;
use crate::render::pages::{FieldErrors, PersonalFields};
use crate::subscribers::counts::ForYou;
use crate::subscribers::personal;

/// The most entries in one field: a reader's interests, not a dictionary.
const MAX_ENTRIES: usize = 100;
/// The longest entry.
const MAX_ENTRY_CHARS: usize = 200;

/// The fields as the form sent them (to show them again next to a problem).
pub(super) fn typed(pairs: &[(String, String)]) -> PersonalFields {
    PersonalFields {
        interests: field(pairs, "interests").to_owned(),
        authors: field(pairs, "authors").to_owned(),
        like: field(pairs, "like").to_owned(),
        mute: field(pairs, "mute").to_owned(),
        for_you: field(pairs, "for_you").trim().to_owned(),
    }
}

/// The fields as the form shows `choice`: one entry a line.
pub(super) fn shown(choice: &PersonalChoice) -> PersonalFields {
    PersonalFields {
        interests: choice.interests.join("\n"),
        authors: choice.authors.join("\n"),
        like: choice.like.join("\n"),
        mute: choice.mute.join("\n"),
        for_you: choice.for_you.map(|n| n.to_string()).unwrap_or_default(),
    }
}

/// What the fields ask for, or what is wrong with them: every field's first problem, each in
/// its own place of `problems` (which may already hold others of the form's).
pub(super) fn check(fields: &PersonalFields, problems: &mut FieldErrors) -> Option<PersonalChoice> {
    let keywords = |label: &str, text: &str| {
        entries(label, lines(text), |raw| {
            personal::keyword_entry(raw).map(|k| k.as_str().to_owned())
        })
    };
    let interests = keywords("Interests", &fields.interests);
    let authors = entries("Authors you follow", lines(&fields.authors), |raw| {
        personal::author_entry(raw).map(|a| a.as_str().to_owned())
    });
    let ids = fields
        .like
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty());
    let like = entries("Papers you liked", ids, |raw| match personal::like(raw) {
        Ok(id) => Ok(id.as_str().to_owned()),
        Err(_) => Err(format!(
            "`{raw}` is not an arXiv id (like 2411.01234 or cs/0112017)"
        )),
    });
    let mute = keywords("Mute", &fields.mute);
    let for_you = match fields.for_you.trim() {
        "" => Ok(None),
        raw => raw.parse::<ForYou>().map(|n| Some(n.get())).map_err(|_| {
            format!(
                "Papers in the block must be a whole number from {} to {}, or empty.",
                ForYou::MIN,
                ForYou::MAX
            )
        }),
    };
    let interests = noted(interests, &mut problems.interests);
    let authors = noted(authors, &mut problems.authors);
    let like = noted(like, &mut problems.like);
    let mute = noted(mute, &mut problems.mute);
    let for_you = noted(for_you, &mut problems.for_you);
    Some(PersonalChoice {
        interests: interests?,
        authors: authors?,
        like: dedup(like?),
        mute: mute?,
        for_you: for_you?,
    })
}

/// `r`'s value, or its problem put in `slot`.
fn noted<T>(r: Result<T, String>, slot: &mut String) -> Option<T> {
    r.map_err(|e| *slot = e).ok()
}

/// The non-empty lines of `text`, trimmed.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// Every entry checked by `parse`; the first problem names the field and the entry's place.
fn entries<'a>(
    label: &str,
    raw: impl Iterator<Item = &'a str>,
    parse: impl Fn(&str) -> Result<String, String>,
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (n, entry) in raw.enumerate() {
        if n == MAX_ENTRIES {
            return Err(format!("{label}: at most {MAX_ENTRIES} entries."));
        }
        if entry.chars().count() > MAX_ENTRY_CHARS {
            return Err(format!(
                "{label}, entry {}: at most {MAX_ENTRY_CHARS} characters.",
                n + 1
            ));
        }
        out.push(parse(entry).map_err(|e| format!("{label}, entry {}: {e}.", n + 1))?);
    }
    Ok(out)
}

/// `ids` without repeats (`2411.01234v2` and `2411.01234` are one paper), in order.
fn dedup(ids: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(interests: &str, authors: &str, like: &str, mute: &str, n: &str) -> PersonalFields {
        PersonalFields {
            interests: interests.into(),
            authors: authors.into(),
            like: like.into(),
            mute: mute.into(),
            for_you: n.into(),
        }
    }

    #[test]
    fn the_fields_read_into_a_checked_choice_and_show_again() {
        let check = |f: &PersonalFields| check(f, &mut FieldErrors::default());
        let choice = check(&fields(
            " speculative decoding \r\n\r\nKV cache*\n",
            "Tri Dao\nDao, Tri",
            "2411.01234v2, arXiv:2405.04434\n2411.01234",
            "benchmark*",
            " 3 ",
        ))
        .unwrap();
        assert_eq!(
            choice,
            PersonalChoice {
                interests: vec!["speculative decoding".into(), "KV cache*".into()],
                authors: vec!["Tri Dao".into(), "Dao, Tri".into()],
                like: vec!["2411.01234".into(), "2405.04434".into()],
                mute: vec!["benchmark*".into()],
                for_you: Some(3),
            }
        );
        assert_eq!(check(&shown(&choice)).unwrap(), choice);
        assert_eq!(
            check(&fields("", "", "", "", "")).unwrap(),
            PersonalChoice::default()
        );
    }

    #[test]
    fn each_problem_names_its_field_and_entry() {
        let cases = [
            (
                fields("ok\nKV* cache", "", "", "", ""),
                "Interests, entry 2: keyword `KV* cache`: `*` may only end the keyword.",
            ),
            (
                fields("", "", "2411.01234 not-an-id", "", ""),
                "Papers you liked, entry 2: `not-an-id` is not an arXiv id (like 2411.01234 or cs/0112017).",
            ),
            (
                fields("", "", "", "*", ""),
                "Mute, entry 1: keyword `*` has no letters or digits.",
            ),
            (
                fields("", "", "", "", "51"),
                "Papers in the block must be a whole number from 0 to 50, or empty.",
            ),
            (
                fields("", "", "", "", "-1"),
                "Papers in the block must be a whole number from 0 to 50, or empty.",
            ),
            (
                fields("", "", "", "x|y", ""),
                "Mute, entry 1: keyword `x|y` holds `|`, which separates entries; write one entry without it.",
            ),
            (
                fields("", "Tri Dao; Yann LeCun", "", "", ""),
                "Authors you follow, entry 1: author `Tri Dao; Yann LeCun` holds `;`, which separates entries; write one entry without it.",
            ),
            (
                fields("", "-- .", "", "", ""),
                "Authors you follow, entry 1: author `-- .` has no letters.",
            ),
        ];
        for (bad, message) in cases {
            let p = problems(&bad);
            assert_eq!(p.count(), 1, "{p:?}");
            let all = [p.interests, p.authors, p.like, p.mute, p.for_you];
            assert!(all.iter().any(|e| e == message), "{all:?}");
        }
        let many = "word\n".repeat(MAX_ENTRIES + 1);
        assert!(
            problems(&fields(&many, "", "", "", ""))
                .interests
                .contains("at most 100 entries")
        );
    }

    #[test]
    fn every_bad_field_is_reported_in_its_own_place() {
        let p = problems(&fields("KV* cache", "-- .", "bad", "ok", "51"));
        assert_eq!(
            p,
            FieldErrors {
                max_papers: String::new(),
                interests: "Interests, entry 1: keyword `KV* cache`: `*` may only end the keyword."
                    .into(),
                authors: "Authors you follow, entry 1: author `-- .` has no letters.".into(),
                like: "Papers you liked, entry 1: `bad` is not an arXiv id (like 2411.01234 or cs/0112017)."
                    .into(),
                mute: String::new(),
                for_you: "Papers in the block must be a whole number from 0 to 50, or empty."
                    .into(),
            }
        );
    }

    /// What is wrong with `f` (which must be wrong).
    fn problems(f: &PersonalFields) -> FieldErrors {
        let mut problems = FieldErrors::default();
        assert!(check(f, &mut problems).is_none(), "{f:?}");
        problems
    }
}
