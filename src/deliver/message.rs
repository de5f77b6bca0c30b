//! Building one subscriber's email with lettre's builder: headers, parts, and the envelope.
//!
//! No header is built by string concatenation: lettre encodes names, subjects and addresses.
//! The Message-ID is deterministic per (edition, subscriber), so a rerun re-sends the *same*
//! message and receivers can deduplicate; List-Id, List-Unsubscribe (https + mailto) and
//! List-Unsubscribe-Post make one-click unsubscribe work (RFC 2369, RFC 8058).

use lettre::address::Envelope;
use lettre::message::header::{self, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use sha2::{Digest as _, Sha256};

use crate::bounce::verp::VerpKey;
use crate::config::Settings;
use crate::edition::EditionId;
use crate::render::{Person, Personalized, Variant};
use crate::subscribers::Subscriber;

macro_rules! text_header {
    ($ty:ident, $name:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty(pub String);
        impl Header for $ty {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }
            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok(Self(s.to_owned()))
            }
            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}

text_header!(ListId, "List-Id");
text_header!(ListUnsubscribe, "List-Unsubscribe");
text_header!(ListUnsubscribePost, "List-Unsubscribe-Post");

/// Why a message could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the message for {email}: {reason}")]
pub struct BuildError {
    pub email: String,
    pub reason: String,
}

/// The Message-ID of an edition's message to one address: `<edition.hash@from-domain>`.
pub fn message_id(settings: &Settings, edition: &EditionId, email_key: &str) -> String {
    let hash = Sha256::new()
        .chain_update(settings.newsletter.list_id.as_bytes())
        .chain_update(b"\n")
        .chain_update(email_key.as_bytes())
        .finalize();
    let hex = data_encoding::HEXLOWER.encode(&hash[..10]);
    format!(
        "<{}.{}@{}>",
        edition.as_str(),
        hex,
        settings.newsletter.from.email.domain()
    )
}

/// Everything per-message that is not in the rendered parts.
pub struct MessageMeta<'a> {
    pub subject: &'a str,
    pub unsubscribe_url: &'a str,
    pub date: std::time::SystemTime,
}

/// The envelope sender of a message: with VERP (`bounce.verp`), `delivery.return_path` with a
/// tag naming the subscriber and the edition; else `delivery.return_path`, else From.
pub fn sender(
    settings: &Settings,
    subscriber: &Subscriber,
    verp: Option<(&VerpKey, &EditionId)>,
) -> lettre::Address {
    match verp {
        Some((key, edition)) => key.sender(&subscriber.email.key(), edition),
        None => settings
            .delivery
            .return_path
            .clone()
            .unwrap_or_else(|| settings.newsletter.from.email.clone()),
    }
}

/// The envelope of a subscriber's message, from [`sender`] to the subscriber.
pub fn envelope(
    settings: &Settings,
    subscriber: &Subscriber,
    verp: Option<(&VerpKey, &EditionId)>,
) -> Result<Envelope, BuildError> {
    let return_path = sender(settings, subscriber, verp);
    Envelope::new(Some(return_path), vec![subscriber.email.address()]).map_err(|e| BuildError {
        email: subscriber.email.to_string(),
        reason: e.to_string(),
    })
}

/// The message headers (everything but the MIME structure), through lettre's builder: lettre
/// encodes names (RFC 2047), subjects and addresses and folds long lines.
fn builder(
    settings: &Settings,
    edition: &EditionId,
    subscriber: &Subscriber,
    meta: &MessageMeta<'_>,
) -> lettre::message::MessageBuilder {
    let n = &settings.newsletter;
    let to = Mailbox::new(
        subscriber
            .name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        subscriber.email.address(),
    );
    let mailto = format!("mailto:{}?subject=unsubscribe", n.unsubscribe_mailto);
    let mut builder = lettre::Message::builder()
        .from(n.from.clone())
        .to(to)
        .subject(meta.subject)
        .date(meta.date)
        .message_id(Some(message_id(settings, edition, &subscriber.email.key())))
        .header(ListId(format!(
            "\"{}\" <{}>",
            n.title.replace(['"', '\\'], ""),
            n.list_id
        )))
        .header(ListUnsubscribe(format!(
            "<{}>, <{}>",
            meta.unsubscribe_url, mailto
        )))
        .header(ListUnsubscribePost("List-Unsubscribe=One-Click".to_owned()))
        .header(header::MIME_VERSION_1_0);
    if let Some(r) = &n.reply_to {
        builder = builder.reply_to(r.clone());
    }
    builder
}

/// A text part with the given (already encoded or to-be-encoded) body. Both parts are always
/// quoted-printable: the digest is mostly ASCII (QP keeps it readable and small), any name or
/// title may bring non-ASCII, and one fixed encoding lets [`EncodedVariant`] encode the bodies
/// once per variant.
fn part<B: lettre::message::IntoBody>(content_type: header::ContentType, body: B) -> SinglePart {
    SinglePart::builder()
        .header(content_type)
        .header(header::ContentTransferEncoding::QuotedPrintable)
        .body(body)
}

/// Builds the message and its envelope from personalized parts, encoding the bodies — the
/// reference path (`preview --eml`); `send` uses [`EncodedVariant::build`], which gives the same
/// bytes without re-encoding the bodies for every message.
pub fn build(
    settings: &Settings,
    edition: &EditionId,
    subscriber: &Subscriber,
    parts: &Personalized,
    meta: &MessageMeta<'_>,
) -> Result<(Envelope, Vec<u8>), BuildError> {
    let envelope = envelope(settings, subscriber, None)?;
    let builder = builder(settings, edition, subscriber, meta);
    let message = match &parts.html {
        Some(html) => builder.multipart(
            MultiPart::alternative()
                .singlepart(part(header::ContentType::TEXT_PLAIN, parts.text.clone()))
                .singlepart(part(header::ContentType::TEXT_HTML, html.clone())),
        ),
        None => builder.singlepart(part(header::ContentType::TEXT_PLAIN, parts.text.clone())),
    }
    .map_err(|e| BuildError {
        email: subscriber.email.to_string(),
        reason: e.to_string(),
    })?;
    Ok((envelope, message.formatted()))
}

/// Placeholders for the bodies in the per-message MIME skeleton: a line of their own, found
/// from the end of the message (after every header), then replaced by the encoded body.
const TEXT_MARK: &[u8] = b"PWBODY0TEXT0";
const HTML_MARK: &[u8] = b"PWBODY0HTML0";

/// One variant's bodies, quoted-printable encoded once. Quoted-printable is line-local (each
/// CRLF-terminated line encodes on its own, soft breaks restart at every hard break), so runs
/// of lines without slots are encoded here once, and only the few lines with a slot (greeting,
/// unsubscribe link) are filled and encoded per message, with the very same encoder.
#[derive(Debug)]
pub struct EncodedVariant {
    text: EncodedBody,
    html: Option<EncodedBody>,
}

#[derive(Debug)]
struct EncodedBody {
    segments: Vec<Segment>,
    /// Encoded size without the slotted lines (a capacity hint).
    fixed_len: usize,
}

#[derive(Debug)]
enum Segment {
    /// Encoded bytes, CRLF-terminated.
    Encoded(Box<[u8]>),
    /// One raw line with slots, with its `\n`.
    Slotted(Box<str>),
}

impl EncodedBody {
    fn new(raw: &str) -> Self {
        let mut segments = Vec::new();
        let mut run = String::new();
        let mut fixed_len = 0;
        for line in raw.split_inclusive('\n') {
            if crate::render::has_slot(line) {
                if !run.is_empty() {
                    let enc = super::qp::encode(&run);
                    run.clear();
                    fixed_len += enc.len();
                    segments.push(Segment::Encoded(enc.into()));
                }
                segments.push(Segment::Slotted(line.into()));
            } else {
                run.push_str(line);
            }
        }
        if !run.is_empty() {
            let enc = super::qp::encode(&run);
            fixed_len += enc.len();
            segments.push(Segment::Encoded(enc.into()));
        }
        Self {
            segments,
            fixed_len,
        }
    }

    fn write(&self, person: &Person<'_>, escape: bool, out: &mut Vec<u8>) {
        let mut line = String::new();
        for seg in &self.segments {
            match seg {
                Segment::Encoded(bytes) => out.extend_from_slice(bytes),
                Segment::Slotted(raw) => {
                    line.clear();
                    crate::render::fill_slots_into(raw, person, escape, &mut line);
                    super::qp::encode_into(&line, out);
                }
            }
        }
    }
}

impl EncodedVariant {
    /// Encodes a rendered variant (its bodies still holding the slots).
    pub fn new(variant: &Variant) -> Self {
        Self {
            text: EncodedBody::new(&variant.text),
            html: variant.html.as_deref().map(EncodedBody::new),
        }
    }

    /// The message for one person: headers and MIME skeleton from lettre's builder (with
    /// placeholder bodies), then the encoded bodies with this person's lines spliced in.
    pub fn build(
        &self,
        settings: &Settings,
        edition: &EditionId,
        subscriber: &Subscriber,
        person: &Person<'_>,
        meta: &MessageMeta<'_>,
    ) -> Result<Vec<u8>, BuildError> {
        let capacity = self.text.fixed_len + self.html.as_ref().map_or(0, |h| h.fixed_len);
        assemble(
            settings,
            edition,
            subscriber,
            meta,
            capacity,
            &mut |out| self.text.write(person, false, out),
            self.html
                .as_ref()
                .map(|h| move |out: &mut Vec<u8>| h.write(person, true, out))
                .as_mut()
                .map(|f| f as &mut dyn FnMut(&mut Vec<u8>)),
        )
    }
}

/// Writes one encoded body.
pub type BodyWriter<'a> = &'a mut dyn FnMut(&mut Vec<u8>);

/// A message: headers and MIME skeleton from lettre's builder with placeholder bodies, then
/// the bodies as `text` and `html` write them (already encoded); `capacity` hints their size.
pub fn assemble(
    settings: &Settings,
    edition: &EditionId,
    subscriber: &Subscriber,
    meta: &MessageMeta<'_>,
    capacity: usize,
    text: BodyWriter<'_>,
    html: Option<BodyWriter<'_>>,
) -> Result<Vec<u8>, BuildError> {
    let mark = |m: &[u8]| {
        lettre::message::Body::dangerous_pre_encoded(
            m.to_vec(),
            header::ContentTransferEncoding::QuotedPrintable,
        )
    };
    let builder = builder(settings, edition, subscriber, meta);
    let message = match &html {
        Some(_) => builder.multipart(
            MultiPart::alternative()
                .singlepart(part(header::ContentType::TEXT_PLAIN, mark(TEXT_MARK)))
                .singlepart(part(header::ContentType::TEXT_HTML, mark(HTML_MARK))),
        ),
        None => builder.singlepart(part(header::ContentType::TEXT_PLAIN, mark(TEXT_MARK))),
    }
    .map_err(|e| BuildError {
        email: subscriber.email.to_string(),
        reason: e.to_string(),
    })?;
    let skeleton = message.formatted();
    let mut out = Vec::with_capacity(skeleton.len() + capacity + 1024);
    // The marks are the last lines of their parts: search from the end, so that nothing in
    // a header (a name, a subject) can be taken for one.
    let (head, html_tail) = match &html {
        Some(_) => {
            let at = rfind(&skeleton, HTML_MARK).expect("the HTML mark is in the skeleton");
            (&skeleton[..at], Some(&skeleton[at + HTML_MARK.len()..]))
        }
        None => (&skeleton[..], None),
    };
    let at = rfind(head, TEXT_MARK).expect("the text mark is in the skeleton");
    out.extend_from_slice(&head[..at]);
    text(&mut out);
    out.extend_from_slice(&head[at + TEXT_MARK.len()..]);
    if let (Some(html), Some(tail)) = (html, html_tail) {
        html(&mut out);
        out.extend_from_slice(tail);
    }
    Ok(out)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigOrigin, load};
    use crate::subscribers::{MailFormat, SubscriberEmail};

    fn subscriber(email: &str, name: Option<&str>) -> Subscriber {
        Subscriber {
            name: name.map(str::to_owned),
            format: MailFormat::Html,
            ..Subscriber::new(SubscriberEmail::parse(email).unwrap())
        }
    }

    #[test]
    fn a_message_id_is_the_hash_of_list_and_address() {
        let settings = load(&ConfigOrigin::Bundled).unwrap();
        let edition = EditionId::parse("2026-11-30").unwrap();
        let key = "ada@example.org";
        let hash = Sha256::digest(format!("{}\n{key}", settings.newsletter.list_id).as_bytes());
        let hex: String = hash[..10].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            message_id(&settings, &edition, key),
            format!(
                "<2026-11-30.{hex}@{}>",
                settings.newsletter.from.email.domain()
            )
        );
    }

    /// The boundary is random per message: compare with it replaced.
    fn normalized(bytes: &[u8]) -> String {
        let s = String::from_utf8(bytes.to_vec()).unwrap();
        match s.split("boundary=\"").nth(1) {
            Some(rest) => {
                let b = rest.split('"').next().unwrap().to_owned();
                s.replace(&b, "BOUNDARY")
            }
            None => s,
        }
    }

    fn variant(html: bool) -> Variant {
        let long = "x".repeat(150);
        let text = format!(
            "Digest \u{2014} 28 November\n\nHi PWSLOT0NAME0, here they are.\n= equals = signs ==\ntrailing space \n{long}\n\u{e9}t\u{e9} PWSLOT0NAME0 {long} PWSLOT0EMAIL0\n. a dot line\nUnsubscribe: PWSLOT0UNSUB0\nlast line PWSLOT0NAME0"
        );
        let html_body = format!(
            "<html><body style=\"margin:0\">\n<p>Hi PWSLOT0NAME0,</p>\n<p class=\"x\">{long} \u{1f600}</p>\n<a href=\"PWSLOT0UNSUB0\">Unsubscribe</a> PWSLOT0EMAIL0\n</body></html>\n"
        );
        Variant {
            html: html.then_some(html_body),
            text,
            shown: 1,
            paper_ids: vec![],
        }
    }

    #[test]
    fn the_encoded_variant_gives_the_bytes_of_the_builder() {
        let settings = load(&ConfigOrigin::Bundled).unwrap();
        let edition = EditionId::parse("2026-11-28").unwrap();
        let date = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let long_name = format!("Ada {} Lovelace", "Byron=".repeat(20));
        let people = [
            ("ada@example.org", Some("Ada Lovelace")),
            ("jose@example.org", Some("Jos\u{e9} Garc\u{ed}a")),
            ("li@example.org", Some("\u{674e} <b>&</b>")),
            ("x@example.org", None),
            (
                "long.address.for.a.long.token@sub.example.org",
                Some(long_name.as_str()),
            ),
            (
                "odd@example.org",
                Some("PWBODY0TEXT0 PWSLOT0EMAIL0 \"quoted\""),
            ),
        ];
        for html in [true, false] {
            let v = variant(html);
            let encoded = EncodedVariant::new(&v);
            for (email, name) in people {
                let s = subscriber(email, name);
                let url = format!(
                    "https://digest.example.org/unsubscribe?token={}",
                    "t".repeat(60)
                );
                let person = Person {
                    name: s.name.as_deref(),
                    email: s.email.as_str(),
                    unsubscribe_url: &url,
                    preferences_url: "https://digest.example.org/preferences?token=p.q",
                };
                let meta = MessageMeta {
                    subject: "Trending Papers \u{2014} Saturday",
                    unsubscribe_url: &url,
                    date,
                };
                let (_, reference) =
                    build(&settings, &edition, &s, &v.personalize(&person), &meta).unwrap();
                let fast = encoded
                    .build(&settings, &edition, &s, &person, &meta)
                    .unwrap();
                assert_eq!(
                    normalized(&fast),
                    normalized(&reference),
                    "{email} html={html}"
                );
                assert!(fast.split(|&b| b == b'\n').all(|l| l.len() <= 998));
                assert!(fast.is_ascii());
                let parsed = mail_parser::MessageParser::default().parse(&fast).unwrap();
                let text = parsed.body_text(0).unwrap().replace("\r\n", "\n");
                assert_eq!(text.trim_end(), v.personalize(&person).text, "{email}");
                if html {
                    let got = parsed.body_html(0).unwrap().replace("\r\n", "\n");
                    assert_eq!(
                        got.trim_end(),
                        v.personalize(&person).html.unwrap().trim_end()
                    );
                }
            }
        }
    }
}
