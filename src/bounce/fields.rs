//! The machine-readable parts of reports: `message/delivery-status` (RFC 3464) and
//! `message/feedback-report` (RFC 5965) are both groups of header-style fields, groups apart by
//! blank lines (a DSN's first group is about the message, each later one about a recipient).
//!
//! Reporters differ in small ways this reader allows for: LF or CRLF, folded lines, names in
//! any case, a missing blank line between groups, `Status: 5.0.0 (permanent failure)`,
//! `Action: failed (bad mailbox)`, and `rfc822;addr` with or without a space or brackets.

/// One group of fields, in order, names as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    fields: Vec<(String, String)>,
}

impl Group {
    /// The first value of `name` (case-insensitive), trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// Every value of `name` (case-insensitive), trimmed.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// One group with the fields of all, in order (a feedback report is one group, but some
    /// reporters put blank lines in it).
    pub fn merged(groups: Vec<Group>) -> Group {
        Group {
            fields: groups.into_iter().flat_map(|g| g.fields).collect(),
        }
    }

    fn has_any(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.get(n).is_some())
    }
}

/// The most groups and fields read from one part: more is hostile, not a report.
const MAX_GROUPS: usize = 1000;
const MAX_FIELDS_PER_GROUP: usize = 200;

/// Splits a report part into groups. Lines that are neither `Name: value` nor a continuation
/// are ignored; groups beyond the thousandth are dropped.
pub fn groups(text: &str) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    let mut current = Group::default();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
                if out.len() >= MAX_GROUPS {
                    return out;
                }
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            continue;
        }
        if current.fields.len() < MAX_FIELDS_PER_GROUP {
            current
                .fields
                .push((name.to_owned(), value.trim().to_owned()));
        }
    }
    if !current.is_empty() && out.len() < MAX_GROUPS {
        out.push(current);
    }
    out
}

/// A DSN's groups: the per-message fields, and one group per recipient. A group that names a
/// recipient is a recipient group even when it comes first (some reporters leave out the
/// blank line after the per-message fields).
pub fn dsn_groups(text: &str) -> (Group, Vec<Group>) {
    let mut per_message = Group::default();
    let mut recipients = Vec::new();
    for (i, g) in groups(text).into_iter().enumerate() {
        if g.has_any(&["Final-Recipient", "Original-Recipient", "Action", "Status"]) {
            recipients.push(g);
        } else if i == 0 {
            per_message = g;
        }
    }
    (per_message, recipients)
}

/// The address in an `rfc822; addr` (or `RFC822;<addr>`) value; `None` for other address types
/// (`x400;`, a file path) and for values with no `@`.
pub fn rfc822_address(value: &str) -> Option<String> {
    let (kind, addr) = match value.split_once(';') {
        Some((kind, addr)) => (kind.trim(), addr),
        None => ("rfc822", value),
    };
    if !kind.eq_ignore_ascii_case("rfc822") && !kind.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    bare_address(addr)
}

/// `<a@b>`, `a@b`, `"Name" <a@b>` → `a@b`; `None` when there is no `@` or there are spaces
/// in what is left.
pub fn bare_address(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let inner = match (raw.rfind('<'), raw.rfind('>')) {
        (Some(open), Some(close)) if open < close => &raw[open + 1..close],
        _ => raw,
    };
    // Stray brackets, as in `rfc822; a@b>`.
    let inner = inner.trim().trim_matches(['<', '>']).trim();
    (inner.contains('@') && !inner.contains(char::is_whitespace) && inner.len() <= 320)
        .then(|| inner.to_owned())
}

/// An enhanced status code (RFC 3463): `class.subject.detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl Status {
    /// Reads the code at the start of `raw` (`5.1.1`, `4.4.7 (delayed)`); classes 2, 4 and 5
    /// only, one to three digits for subject and detail.
    pub fn parse(raw: &str) -> Option<Self> {
        let code = raw
            .trim()
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()?;
        let mut parts = code.split('.');
        let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
        let ok = |s: &str| (1..=3).contains(&s.len());
        if parts.next().is_some() || class.len() != 1 || !ok(subject) || !ok(detail) {
            return None;
        }
        let class: u8 = class.parse().ok()?;
        if !matches!(class, 2 | 4 | 5) {
            return None;
        }
        Some(Self {
            class,
            subject: subject.parse().ok()?,
            detail: detail.parse().ok()?,
        })
    }

    /// The code in an SMTP diagnostic like `smtp; 550 5.1.1 <a@b>: unknown`: the enhanced
    /// code when there is one, else the reply code's class (`550` → 5.0.0).
    pub fn from_diagnostic(raw: &str) -> Option<Self> {
        let text = raw.split_once(';').map_or(raw, |(_, t)| t);
        // `550 5.1.1 …` or, from a multi-line reply, `550-5.1.1 …`.
        let mut words = text
            .split(|c: char| c.is_whitespace() || c == '-')
            .filter(|w| !w.is_empty());
        let reply = words.next()?;
        let class = match reply.as_bytes() {
            [c @ (b'2' | b'4' | b'5'), b'0'..=b'9', b'0'..=b'9'] => c - b'0',
            _ => return None,
        };
        if let Some(status) = words.next().and_then(Self::parse)
            && status.class == class
        {
            return Some(status);
        }
        Some(Self {
            class,
            subject: 0,
            detail: 0,
        })
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// What the reporting MTA did for one recipient (RFC 3464 §2.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Failed,
    Delayed,
    Delivered,
    Relayed,
    Expanded,
}

impl Action {
    /// The first word of the field, in any case.
    pub fn parse(raw: &str) -> Option<Self> {
        let word = raw
            .split(|c: char| !c.is_ascii_alphabetic())
            .find(|w| !w.is_empty())?;
        Some(match word.to_ascii_lowercase().as_str() {
            "failed" | "failure" => Self::Failed,
            "delayed" => Self::Delayed,
            "delivered" => Self::Delivered,
            "relayed" => Self::Relayed,
            "expanded" => Self::Expanded,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_unfold_and_split() {
        let text = "Reporting-MTA: dns; mta.example\r\nArrival-Date: Mon, 30 Nov 2026\r\n\r\n\
                    Final-Recipient: rfc822;\r\n  ada@example.org\r\nACTION: failed\r\nStatus: 5.1.1\r\n\r\n\r\n\
                    Final-Recipient: rfc822; bob@example.org\nAction: delayed\nStatus: 4.4.7\n";
        let (msg, rcpts) = dsn_groups(text);
        assert_eq!(msg.get("reporting-mta"), Some("dns; mta.example"));
        assert_eq!(rcpts.len(), 2);
        assert_eq!(
            rcpts[0].get("Final-Recipient"),
            Some("rfc822; ada@example.org")
        );
        assert_eq!(rcpts[0].get("action"), Some("failed"));
        assert_eq!(rcpts[1].get("Status"), Some("4.4.7"));
    }

    #[test]
    fn a_recipient_group_without_a_blank_line_before_it_still_counts() {
        let (msg, rcpts) = dsn_groups(
            "Reporting-MTA: dns; x\nFinal-Recipient: rfc822; a@b\nAction: failed\nStatus: 5.0.0\n",
        );
        assert!(msg.is_empty());
        assert_eq!(rcpts.len(), 1);
        assert_eq!(rcpts[0].get("Reporting-MTA"), Some("dns; x"));
    }

    #[test]
    fn hostile_groups_are_bounded() {
        let many = "Action: failed\n\n".repeat(MAX_GROUPS * 3);
        assert_eq!(groups(&many).len(), MAX_GROUPS);
        let wide = "X-Field: 1\n".repeat(MAX_FIELDS_PER_GROUP * 3);
        assert_eq!(
            groups(&wide)[0].all("x-field").count(),
            MAX_FIELDS_PER_GROUP
        );
        assert!(groups("no colon here\n: empty name\n\u{1}bad: x\n").is_empty());
    }

    #[test]
    fn addresses() {
        assert_eq!(
            rfc822_address("rfc822; ada@example.org").as_deref(),
            Some("ada@example.org")
        );
        assert_eq!(
            rfc822_address("RFC822;<Ada@Example.org>").as_deref(),
            Some("Ada@Example.org")
        );
        assert_eq!(
            rfc822_address("ada@example.org").as_deref(),
            Some("ada@example.org")
        );
        assert_eq!(rfc822_address("x400; /c=us/"), None);
        assert_eq!(rfc822_address("rfc822;/mail/spool/n2.nyaan"), None);
        assert_eq!(rfc822_address("rfc822; redacted"), None);
        assert_eq!(
            bare_address("\"Ada L\" <ada@example.org>").as_deref(),
            Some("ada@example.org")
        );
        assert_eq!(
            rfc822_address("rfc822; ada@example.org>").as_deref(),
            Some("ada@example.org")
        );
    }

    #[test]
    fn status_codes() {
        let s = |raw| Status::parse(raw).map(|s| s.to_string());
        assert_eq!(s("5.1.1").as_deref(), Some("5.1.1"));
        assert_eq!(s(" 4.4.7 (delayed)").as_deref(), Some("4.4.7"));
        assert_eq!(s("5.0.0 (permanent failure)").as_deref(), Some("5.0.0"));
        assert_eq!(s("5.1.351").as_deref(), Some("5.1.351"));
        assert_eq!(s("2.0.0").as_deref(), Some("2.0.0"));
        for bad in [
            "", "5", "5.1", "3.1.1", "5.1.1.1", "55.1.1", "5.1111.1", "x.1.1", "5.1.",
        ] {
            assert_eq!(Status::parse(bad), None, "{bad}");
        }
        let d = |raw| Status::from_diagnostic(raw).map(|s| s.to_string());
        assert_eq!(
            d("smtp; 550 5.1.1 <x>: user unknown").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(d("smtp;550-5.7.1 spam").as_deref(), Some("5.7.1"));
        assert_eq!(d("smtp; 452 mailbox full").as_deref(), Some("4.0.0"));
        assert_eq!(d("smtp; 550 4.1.1 mixed up").as_deref(), Some("5.0.0"));
        assert_eq!(d("X-Unix; exit 75"), None);
    }

    #[test]
    fn actions() {
        assert_eq!(Action::parse("failed"), Some(Action::Failed));
        assert_eq!(Action::parse(" Failed (bad mailbox)"), Some(Action::Failed));
        assert_eq!(Action::parse("DELAYED"), Some(Action::Delayed));
        assert_eq!(Action::parse("relayed"), Some(Action::Relayed));
        assert_eq!(Action::parse("whatever"), None);
        assert_eq!(Action::parse(""), None);
    }
}
