//! The markers a skeleton carries where a reader's own email differs from the next reader's.
//! They all start with the slot prefix, so that text from a source can never forge one (see
//! `model::defuse`), and are plain ASCII that escaping, wrapping and CSS inlining keep as is.
//! A key is uppercase letters and digits; `_` ends it.

/// `PWSLOT0V_KEY_`: the reader's value of KEY.
pub(crate) const VALUE: &str = "PWSLOT0V_";
/// `PWSLOT0G_KEY_` at the start of a line: the line is there when KEY is set.
pub(super) const SET: &str = "PWSLOT0G_";
/// `PWSLOT0U_KEY_` at the start of a line: the line is there when KEY is not set.
pub(super) const UNSET: &str = "PWSLOT0U_";
/// `PWSLOT0T_GROUP_` at the start of a line: a line of the template of each paper of GROUP.
pub(super) const GROUP: &str = "PWSLOT0T_";
/// A line that is exactly this: the paper's own lines go here.
pub(super) const CHUNK: &str = "PWSLOT0C_";
/// `PWSLOT0I_KEY_…PWSLOT0J_…PWSLOT0K_`: the first text when KEY is set, else the second.
pub(super) const IF: &str = "PWSLOT0I_";
pub(super) const ELSE: &str = "PWSLOT0J_";
pub(super) const FI: &str = "PWSLOT0K_";
/// `PWSLOT0W_WIDTH_INDENT_FIRST_…PWSLOT0X_`: text to word-wrap once its values are filled
/// (INDENT and FIRST hex-encoded).
pub(super) const WRAP: &str = "PWSLOT0W_";
pub(super) const WRAP_END: &str = "PWSLOT0X_";
/// `PWSLOT0B_TAG_` and `PWSLOT0E_` lines around a paper in the catalog.
pub(super) const BEGIN: &str = "PWSLOT0B_";
pub(super) const END: &str = "PWSLOT0E_";
/// A template the skeleton cannot follow; the reader's email is then rendered whole.
pub(super) const POISON: &str = "PWSLOT0Z_";
/// The field of a skeleton item saying which group (or section) it is.
pub(super) const ITEM_FIELD: &str = "pw";
/// Whether any section is visible.
pub(super) const ANY_SECTION: &str = "ANYSEC";

pub(crate) fn value(key: &str) -> String {
    format!("{VALUE}{key}_")
}

pub(super) fn guard(key: &str, set: bool) -> String {
    format!("{}{key}_", if set { SET } else { UNSET })
}

pub(super) fn group(tag: &str) -> String {
    format!("{GROUP}{tag}_")
}

/// The key of "GROUP has papers".
pub(super) fn has_key(group: &str) -> String {
    format!("HAS{group}")
}

pub(super) fn inline_if(key: &str, set: &str, unset: &str) -> String {
    format!("{IF}{key}_{set}{ELSE}{unset}{FI}")
}

/// The key of a string that is exactly one value marker.
pub(super) fn value_key(s: &str) -> Option<&str> {
    let key = s.strip_prefix(VALUE)?.strip_suffix('_')?;
    (!key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
    .then_some(key)
}

/// `KEY_rest` → (`KEY`, `rest`).
pub(super) fn split_key(s: &str) -> Option<(&str, &str)> {
    let end = s.find('_')?;
    Some((&s[..end], &s[end + 1..]))
}

pub(super) fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn unhex(s: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}
