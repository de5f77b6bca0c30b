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

use crate::config::Settings;
use crate::edition::EditionId;
use crate::render::Personalized;
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
    let hash = Sha256::digest(format!("{}\n{}", settings.newsletter.list_id, email_key).as_bytes());
    let hex: String = hash[..10].iter().map(|b| format!("{b:02x}")).collect();
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

/// Builds the message and its envelope (`Return-Path` = `delivery.return_path`, else From).
pub fn build(
    settings: &Settings,
    edition: &EditionId,
    subscriber: &Subscriber,
    parts: &Personalized,
    meta: &MessageMeta<'_>,
) -> Result<(Envelope, Vec<u8>), BuildError> {
    let fail = |reason: String| BuildError {
        email: subscriber.email.to_string(),
        reason,
    };
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
    let return_path = settings
        .delivery
        .return_path
        .clone()
        .unwrap_or_else(|| n.from.email.clone());
    let envelope = Envelope::new(Some(return_path), vec![subscriber.email.address()])
        .map_err(|e| fail(e.to_string()))?;
    let message = match &parts.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            parts.text.clone(),
            html.clone(),
        )),
        None => builder.singlepart(SinglePart::plain(parts.text.clone())),
    }
    .map_err(|e| fail(e.to_string()))?;
    Ok((envelope, message.formatted()))
}
