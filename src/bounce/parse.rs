//! One message → one [`Report`], with mail-parser for the MIME structure and
//! [`super::fields`] for the report parts.
//!
//! What counts:
//! - a `message/delivery-status` (or `message/global-delivery-status`) part: a DSN, whose
//!   recipients with `Action: failed` and a 4.x.x/5.x.x `Status` are the failures (a missing
//!   Status is read from the SMTP `Diagnostic-Code`); delay warnings and success reports are
//!   skipped, the final failure report is what counts;
//! - a `message/feedback-report` part: an ARF report, a complaint when its `Feedback-Type` is
//!   `abuse` or `fraud`.
//!
//! The quoted original (`message/rfc822` or `text/rfc822-headers`) gives the Message-ID, which
//! names the edition and subscriber when paperwire made it. With VERP on, the address the report
//! came back to must carry a valid tag: it is looked for in the delivery's `Delivered-To`,
//! `X-Original-To`, the report's `To`, the DSN's `X-Postfix-Sender`, the ARF's
//! `Original-Mail-From` and the original's `Return-Path`; the first VERP-shaped one decides.
//! A report part that runs to the end of the message, no boundary after it, was cut off and is
//! skipped as truncated; a cut in the quoted original after it does not matter.

use chrono::{DateTime, Utc};
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use sha2::{Digest as _, Sha256};

use super::fields::{self, Action, Group, Status};
use super::ident::OurMessageId;
use super::report::{Bounce, Complaint, FailedRecipient, Original, Report, ReportId, Skip};
use super::verp::{TagCheck, VerpKey, VerpTag};

/// The most failed recipients taken from one report (paperwire sends each message to one
/// address; a few more come from forwarding and aliases).
pub const MAX_RECIPIENTS: usize = 100;

/// What the parser needs to know about this newsletter.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The domain of `newsletter.from`, which paperwire's Message-IDs end with.
    pub from_domain: &'a str,
    /// The VERP key when `bounce.verp` is on: reports must then carry a valid tag.
    pub verp: Option<&'a VerpKey>,
    /// The address the report was delivered to, when the MTA says so outside the message
    /// (the `RECIPIENT` of a pipe delivery).
    pub envelope_recipient: Option<&'a str>,
}

/// Reads one message. Never fails: what cannot be used is a [`Report::Skipped`].
pub fn parse(raw: &[u8], ctx: &Context<'_>) -> Report {
    match parse_report(raw, ctx) {
        Ok(report) => report,
        Err(skip) => Report::Skipped(skip),
    }
}

/// The parts of a report that matter, found among the message's own parts (not inside the
/// quoted original).
#[derive(Default)]
struct Parts<'m> {
    delivery_status: Option<String>,
    feedback: Option<String>,
    original: Option<OriginalHeaders<'m>>,
    in_report: bool,
}

enum OriginalHeaders<'m> {
    Message(&'m Message<'m>),
    Headers(Vec<u8>),
}

fn text_of(part: &mail_parser::MessagePart<'_>) -> String {
    match &part.body {
        PartType::Text(t) | PartType::Html(t) => t.to_string(),
        PartType::Binary(b) | PartType::InlineBinary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

fn find_parts<'m>(message: &'m Message<'m>) -> Parts<'m> {
    let mut parts = Parts::default();
    for part in &message.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let (ctype, sub) = (
            ct.ctype().to_ascii_lowercase(),
            ct.subtype().unwrap_or("").to_ascii_lowercase(),
        );
        match (ctype.as_str(), sub.as_str()) {
            ("multipart", "report") => parts.in_report = true,
            ("message", "delivery-status" | "global-delivery-status") => {
                parts.delivery_status.get_or_insert_with(|| text_of(part));
            }
            ("message", "feedback-report") => {
                parts.feedback.get_or_insert_with(|| text_of(part));
            }
            ("message", "rfc822" | "global") => {
                if let (None, PartType::Message(m)) = (&parts.original, &part.body) {
                    parts.original = Some(OriginalHeaders::Message(m));
                }
            }
            ("text", "rfc822-headers" | "global-headers") if parts.original.is_none() => {
                parts.original = Some(OriginalHeaders::Headers(text_of(part).into_bytes()));
            }
            _ => {}
        }
    }
    parts
}

/// What a DSN and an ARF report are read with alike.
struct Common {
    id: ReportId,
    original: Original,
    /// Where the report may have been delivered, for the VERP tag, most trusted first.
    candidates: Vec<String>,
    original_return_path: Option<String>,
    date: Option<DateTime<Utc>>,
}

fn parse_report(raw: &[u8], ctx: &Context<'_>) -> Result<Report, Skip> {
    let message = MessageParser::default()
        .parse(raw)
        .filter(|m| !m.headers().is_empty())
        .ok_or(Skip::NotAMessage)?;
    let parts = find_parts(&message);
    if parts.delivery_status.is_none() && parts.feedback.is_none() {
        return Err(Skip::NotAReport(if parts.in_report {
            "its multipart/report has no message/delivery-status or message/feedback-report part"
        } else {
            "no message/delivery-status or message/feedback-report part"
        }));
    }
    check_whole(raw, &message)?;
    let (original, original_return_path) = original(&parts, ctx.from_domain);
    let common = Common {
        id: report_id(raw, &message),
        original,
        candidates: envelope_candidates(&message, ctx),
        original_return_path,
        date: message.date().and_then(|d| timestamp(d.to_timestamp())),
    };
    match &parts.delivery_status {
        Some(text) => dsn(text, common, ctx),
        None => arf(
            parts.feedback.as_deref().unwrap_or_default(),
            &parts,
            common,
            ctx,
        ),
    }
}

fn dsn(text: &str, mut common: Common, ctx: &Context<'_>) -> Result<Report, Skip> {
    let (per_message, recipients) = fields::dsn_groups(text);
    let recipients = failed_recipients(&recipients)?;
    common.candidates.extend(
        per_message
            .get("X-Postfix-Sender")
            .and_then(fields::rfc822_address),
    );
    common.candidates.extend(common.original_return_path);
    let tag = check_tag(ctx.verp, common.candidates)?;
    Ok(Report::Bounce(Bounce {
        id: common.id,
        at: arrival(&per_message, &["Arrival-Date"]).or(common.date),
        original: common.original,
        tag,
        recipients,
    }))
}

fn arf(
    text: &str,
    parts: &Parts<'_>,
    mut common: Common,
    ctx: &Context<'_>,
) -> Result<Report, Skip> {
    let feedback = Group::merged(fields::groups(text));
    let feedback_type = feedback
        .get("Feedback-Type")
        .map(|t| t.to_ascii_lowercase())
        .ok_or(Skip::NotAReport("its feedback report has no Feedback-Type"))?;
    if !matches!(feedback_type.as_str(), "abuse" | "fraud") {
        return Err(Skip::NotAComplaint(feedback_type));
    }
    common.candidates.extend(
        feedback
            .get("Original-Mail-From")
            .and_then(fields::bare_address),
    );
    common.candidates.extend(common.original_return_path);
    let tag = check_tag(ctx.verp, common.candidates)?;
    let mut recipients: Vec<String> = feedback
        .all("Original-Rcpt-To")
        .filter_map(fields::bare_address)
        .collect();
    if recipients.is_empty() {
        recipients = original_to(parts);
    }
    recipients.truncate(MAX_RECIPIENTS);
    Ok(Report::Complaint(Complaint {
        id: common.id,
        at: arrival(&feedback, &["Arrival-Date", "Received-Date"]).or(common.date),
        feedback_type,
        recipients,
        original: common.original,
        tag,
    }))
}

/// A report part (delivery status or feedback) inside a multipart must be followed by the
/// multipart's next boundary: one that runs to the end of the message was cut off (a
/// half-written file, a size limit on the way), and what is left of it cannot be trusted. A cut in the quoted
/// original after it does not matter: the report itself is whole.
fn check_whole(raw: &[u8], message: &Message<'_>) -> Result<(), Skip> {
    for (i, part) in message.parts.iter().enumerate() {
        let which = match part.content_type().map(|ct| {
            (
                ct.ctype().to_ascii_lowercase(),
                ct.subtype().unwrap_or("").to_ascii_lowercase(),
            )
        }) {
            Some((t, s)) if t == "message" && s.ends_with("delivery-status") => "delivery status",
            Some((t, s)) if t == "message" && s == "feedback-report" => "feedback report",
            _ => continue,
        };
        let boundary = message.parts.iter().find_map(|p| match &p.body {
            PartType::Multipart(children) if children.contains(&(i as u32)) => p
                .content_type()
                .and_then(|ct| ct.attribute("boundary"))
                .map(|b| format!("--{b}")),
            _ => None,
        });
        let start = (part.raw_body_offset() as usize).min(raw.len());
        // A report that is the whole message (no multipart around it) has no boundary to
        // check; its fields are checked one by one.
        let whole = boundary.is_none_or(|b| contains(&raw[start..], b.as_bytes()));
        if !whole {
            return Err(Skip::Truncated(which));
        }
    }
    Ok(())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(hay, needle).is_some()
}

/// The quoted original's Message-ID (and whether paperwire made it) and its Return-Path.
fn original(parts: &Parts<'_>, from_domain: &str) -> (Original, Option<String>) {
    let headers = match &parts.original {
        Some(OriginalHeaders::Message(m)) => Some(message_ids(m)),
        Some(OriginalHeaders::Headers(bytes)) => MessageParser::default()
            .parse_headers(bytes.as_slice())
            .map(|m| message_ids(&m)),
        None => None,
    };
    let Some((message_id, return_path)) = headers else {
        return (Original::default(), None);
    };
    let ours = message_id
        .as_deref()
        .and_then(|id| OurMessageId::parse(id, from_domain));
    (Original { message_id, ours }, return_path)
}

fn message_ids(m: &Message<'_>) -> (Option<String>, Option<String>) {
    let id = m.message_id().map(str::to_owned).filter(|s| !s.is_empty());
    let return_path = m.return_address().and_then(fields::bare_address);
    (id, return_path)
}

/// The quoted original's `To` addresses.
fn original_to(parts: &Parts<'_>) -> Vec<String> {
    let collect = |m: &Message<'_>| -> Vec<String> {
        m.header_raw("To")
            .map(|to| to.split(',').filter_map(fields::bare_address).collect())
            .unwrap_or_default()
    };
    match &parts.original {
        Some(OriginalHeaders::Message(m)) => collect(m),
        Some(OriginalHeaders::Headers(bytes)) => MessageParser::default()
            .parse_headers(bytes.as_slice())
            .map(|m| collect(&m))
            .unwrap_or_default(),
        None => Vec::new(),
    }
}

/// Where the report itself was delivered, most trusted first: what the MTA said, then the
/// delivery headers, then the report's `To`.
fn envelope_candidates(message: &Message<'_>, ctx: &Context<'_>) -> Vec<String> {
    let mut out: Vec<String> = ctx
        .envelope_recipient
        .and_then(fields::bare_address)
        .into_iter()
        .collect();
    for name in ["Delivered-To", "X-Original-To", "To"] {
        for (n, value) in message.headers_raw() {
            if n.eq_ignore_ascii_case(name) {
                out.extend(value.split(',').filter_map(fields::bare_address));
            }
        }
    }
    out
}

fn check_tag(key: Option<&VerpKey>, candidates: Vec<String>) -> Result<Option<VerpTag>, Skip> {
    let Some(key) = key else {
        return Ok(None);
    };
    for address in candidates {
        match key.check(&address) {
            TagCheck::NotVerp => continue,
            TagCheck::Valid(tag) => return Ok(Some(tag)),
            TagCheck::Forged(reason) => return Err(Skip::ForgedTag { address, reason }),
        }
    }
    Err(Skip::MissingTag)
}

/// The failed recipients of a DSN, or why there are none.
fn failed_recipients(groups: &[Group]) -> Result<Vec<FailedRecipient>, Skip> {
    let mut failed = Vec::new();
    let (mut delayed, mut succeeded) = (false, None);
    for g in groups {
        let status = g
            .get("Status")
            .and_then(Status::parse)
            .or_else(|| g.get("Diagnostic-Code").and_then(Status::from_diagnostic));
        let Some(status) = status else {
            continue;
        };
        // No Action field: a 4xx/5xx report is about a failure.
        let action = match g.get("Action").and_then(Action::parse) {
            Some(a) => a,
            None if status.class != 2 => Action::Failed,
            None => Action::Delivered,
        };
        match action {
            Action::Failed if status.class != 2 => {
                if failed.len() < MAX_RECIPIENTS {
                    failed.push(FailedRecipient {
                        final_recipient: g.get("Final-Recipient").and_then(fields::rfc822_address),
                        original_recipient: g
                            .get("Original-Recipient")
                            .and_then(fields::rfc822_address),
                        action,
                        status,
                        diagnostic: g.get("Diagnostic-Code").map(|d| clip(d, 300)),
                    });
                }
            }
            Action::Failed => {}
            Action::Delayed => delayed = true,
            Action::Delivered => succeeded = Some("delivered"),
            Action::Relayed => succeeded = Some("relayed"),
            Action::Expanded => succeeded = Some("expanded"),
        }
    }
    match (failed.is_empty(), delayed, succeeded) {
        (false, _, _) => Ok(failed),
        (true, true, _) => Err(Skip::Delayed),
        (true, false, Some(action)) => Err(Skip::Success(action)),
        (true, false, None) => Err(Skip::NoRecipient),
    }
}

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

fn arrival(group: &Group, names: &[&str]) -> Option<DateTime<Utc>> {
    names
        .iter()
        .filter_map(|n| group.get(n))
        .filter_map(mail_parser::DateTime::parse_rfc822)
        .map(|d| d.to_timestamp())
        .find_map(timestamp)
}

fn timestamp(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

/// The report's identity: its own Message-ID, else its body (line ends and trailing blanks
/// normalized, so that an mbox copy and a Maildir copy agree).
fn report_id(raw: &[u8], message: &Message<'_>) -> ReportId {
    let mut h = Sha256::new();
    match message.message_id().filter(|id| !id.trim().is_empty()) {
        Some(id) => {
            h.update(b"message-id\n");
            h.update(id.trim().as_bytes());
        }
        None => {
            let start = (message.root_part().raw_body_offset() as usize).min(raw.len());
            let body: Vec<u8> = raw[start..]
                .iter()
                .copied()
                .filter(|&b| b != b'\r')
                .collect();
            h.update(b"body\n");
            h.update(body.trim_ascii_end());
        }
    }
    let digest = h.finalize();
    ReportId::new(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
}
