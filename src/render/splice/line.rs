//! A skeleton's per-reader lines read once, when the skeleton (or the catalog) is made, instead
//! of for every reader: each line to fill becomes [`Seg`]ments — text, a value by its [`Key`],
//! an inline conditional, a wrap — and each guard and group its key. Filling a line for a
//! reader is then a walk over segments, with no marker to search for and no key to compare as
//! a string. What a line compiles to is exactly what reading its markers at fill time gave:
//! a marker that does not parse stays text, as it did.

use super::marks;
use crate::render::find_slot;

/// A per-reader value or condition, by the key its marker names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    Pre,
    Contents,
    Notes,
    Topics,
    One,
    Shown,
    Total,
    LeftOut,
    OverCap,
    OverSize,
    Other,
    Unmatched,
    LeftOutTotal,
    /// The block has papers.
    HasBlock,
    /// Some section is visible.
    AnySection,
    /// The "why" line of the block's current paper.
    Why,
    /// Skeleton section N is visible.
    Section(usize),
    /// Skeleton section N has papers.
    SectionHas(usize),
    /// Skeleton section N's papers left out.
    SectionLeft(usize),
    /// Skeleton section N's papers.
    SectionTotal(usize),
    /// No value: prints nothing, is never set.
    Unknown,
}

impl Key {
    pub(super) fn parse(key: &str) -> Self {
        let numbered = |prefix: &str| key.strip_prefix(prefix)?.parse::<usize>().ok();
        match key {
            "PRE" => Self::Pre,
            "CONTENTS" => Self::Contents,
            "NOTES" => Self::Notes,
            "TOPICS" => Self::Topics,
            "ONE" => Self::One,
            "SHOWN" => Self::Shown,
            "TOTAL" => Self::Total,
            "LEFTOUT" => Self::LeftOut,
            "OVERCAP" => Self::OverCap,
            "OVERSIZE" => Self::OverSize,
            "OTHER" => Self::Other,
            "UNMATCHED" => Self::Unmatched,
            "LOT" => Self::LeftOutTotal,
            "HASB" => Self::HasBlock,
            marks::ANY_SECTION => Self::AnySection,
            "WHY" => Self::Why,
            _ => {
                if let Some(i) = numbered("SEC") {
                    Self::Section(i)
                } else if let Some(i) = numbered("HASS") {
                    Self::SectionHas(i)
                } else if let Some(i) = numbered("L") {
                    Self::SectionLeft(i)
                } else if let Some(i) = numbered("T") {
                    Self::SectionTotal(i)
                } else {
                    Self::Unknown
                }
            }
        }
    }
}

/// Which papers a group line is repeated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Group {
    /// The "For you" block's.
    Block,
    /// Skeleton section N's.
    Section(usize),
    /// None.
    Unknown,
}

impl Group {
    pub(super) fn parse(tag: &str) -> Self {
        if tag == "B" {
            return Self::Block;
        }
        match tag.strip_prefix('S').map(str::parse::<usize>) {
            Some(Ok(i)) => Self::Section(i),
            _ => Self::Unknown,
        }
    }
}

/// A piece of a line to fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seg {
    /// Text as it is (per-person slots included: those are filled after).
    Text(Box<str>),
    Value(Key),
    /// `set` when the key is set, else `unset`.
    If {
        key: Key,
        set: Vec<Seg>,
        unset: Vec<Seg>,
    },
    /// Text word-wrapped once filled.
    Wrap {
        width: usize,
        indent: Box<str>,
        first: Box<str>,
        text: Vec<Seg>,
    },
}

/// `raw`'s segments.
pub(super) fn compile(raw: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    let mut text = String::new();
    let push = |segs: &mut Vec<Seg>, text: &mut String, seg: Seg| {
        if !text.is_empty() {
            segs.push(Seg::Text(std::mem::take(text).into()));
        }
        segs.push(seg);
    };
    let mut rest = raw;
    while let Some(at) = find_slot(rest) {
        text.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(r) = tail.strip_prefix(marks::VALUE)
            && let Some((key, after)) = marks::split_key(r)
        {
            push(&mut segs, &mut text, Seg::Value(Key::parse(key)));
            rest = after;
        } else if let Some(r) = tail.strip_prefix(marks::IF)
            && let Some((key, after)) = marks::split_key(r)
            && let Some((set, after)) = after.split_once(marks::ELSE)
            && let Some((unset, after)) = after.split_once(marks::FI)
        {
            let seg = Seg::If {
                key: Key::parse(key),
                set: compile(set),
                unset: compile(unset),
            };
            push(&mut segs, &mut text, seg);
            rest = after;
        } else if let Some(r) = tail.strip_prefix(marks::WRAP)
            && let Some((spec, after)) = r.split_once(marks::WRAP_END)
            && let Some(seg) = wrap(spec)
        {
            push(&mut segs, &mut text, seg);
            rest = after;
        } else {
            // A per-person slot (filled later), or not one of ours: kept as it is.
            text.push_str(crate::render::SLOT_PREFIX);
            rest = &tail[crate::render::SLOT_PREFIX.len()..];
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        segs.push(Seg::Text(text.into()));
    }
    segs
}

/// `WIDTH_INDENT_FIRST_text` (INDENT and FIRST hex-encoded).
fn wrap(spec: &str) -> Option<Seg> {
    let (width, r) = marks::split_key(spec)?;
    let (indent, r) = marks::split_key(r)?;
    let (first, text) = marks::split_key(r)?;
    Some(Seg::Wrap {
        width: width.parse().ok()?,
        indent: marks::unhex(indent)?.into(),
        first: marks::unhex(first)?.into(),
        text: compile(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Seg {
        Seg::Text(s.into())
    }

    #[test]
    fn keys_read_as_the_fill_read_them() {
        assert_eq!(Key::parse("LOT"), Key::LeftOutTotal);
        assert_eq!(Key::parse("LEFTOUT"), Key::LeftOut);
        assert_eq!(Key::parse("L3"), Key::SectionLeft(3));
        assert_eq!(Key::parse("T0"), Key::SectionTotal(0));
        assert_eq!(Key::parse("TOTAL"), Key::Total);
        assert_eq!(Key::parse("SEC12"), Key::Section(12));
        assert_eq!(Key::parse("HASS2"), Key::SectionHas(2));
        assert_eq!(Key::parse("HASB"), Key::HasBlock);
        assert_eq!(Key::parse("ANYSEC"), Key::AnySection);
        assert_eq!(Key::parse("LX"), Key::Unknown);
        assert_eq!(Key::parse(""), Key::Unknown);
        assert_eq!(Group::parse("B"), Group::Block);
        assert_eq!(Group::parse("S4"), Group::Section(4));
        assert_eq!(Group::parse("SEC4"), Group::Unknown);
    }

    #[test]
    fn markers_become_segments_and_broken_ones_stay_text() {
        let line = format!(
            "a {} b {}ONE_x{}y{} c",
            marks::value("SHOWN"),
            marks::IF,
            marks::ELSE,
            marks::FI
        );
        assert_eq!(
            compile(&line),
            vec![
                text("a "),
                Seg::Value(Key::Shown),
                text(" b "),
                Seg::If {
                    key: Key::One,
                    set: vec![text("x")],
                    unset: vec![text("y")],
                },
                text(" c"),
            ]
        );
        // An inline conditional without its end, and a per-person slot: text.
        let broken = format!("{}ONE_x{}y and PWSLOT0N_", marks::IF, marks::ELSE);
        assert_eq!(compile(&broken), vec![text(&broken)]);
        let wrapped = format!(
            "{}72_{}_{}_{} more{}",
            marks::WRAP,
            marks::hex("  "),
            marks::hex("> "),
            marks::value("L0"),
            marks::WRAP_END
        );
        assert_eq!(
            compile(&wrapped),
            vec![Seg::Wrap {
                width: 72,
                indent: "  ".into(),
                first: "> ".into(),
                text: vec![Seg::Value(Key::SectionLeft(0)), text(" more")],
            }]
        );
    }
}
