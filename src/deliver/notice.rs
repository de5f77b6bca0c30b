//! One-off messages to one person, outside any edition: the message that asks a new reader to
//! confirm their signup.
//!
//! It is not a newsletter message, so it carries no `List-*` headers (there is nothing to
//! unsubscribe from yet) and is marked `Auto-Submitted: auto-generated` (RFC 3834) so that
//! vacation responders leave it alone. Headers go through lettre's builder, like the digest's;
//! the envelope sender is `delivery.return_path` (else From), so bounces land where the digest's
//! do.

use lettre::address::Envelope;
use lettre::message::header::{self, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};

use super::message::BuildError;
use crate::config::Settings;
use crate::render::pages::ConfirmParts;
use crate::subscribers::SubscriberEmail;

/// `Auto-Submitted` (RFC 3834).
#[derive(Debug, Clone, PartialEq, Eq)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// The signup confirmation to `to` (named `name` in the To header when given), with the
/// rendered `parts`; returns the envelope and the message's bytes.
pub fn confirmation(
    settings: &Settings,
    to: &SubscriberEmail,
    name: Option<&str>,
    parts: &ConfirmParts,
) -> Result<(Envelope, Vec<u8>), BuildError> {
    let failed = |reason: String| BuildError {
        email: to.to_string(),
        reason,
    };
    let n = &settings.newsletter;
    let return_path = settings
        .delivery
        .return_path
        .clone()
        .unwrap_or_else(|| n.from.email.clone());
    let envelope =
        Envelope::new(Some(return_path), vec![to.address()]).map_err(|e| failed(e.to_string()))?;
    let recipient = Mailbox::new(
        name.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        to.address(),
    );
    let part = |content_type: header::ContentType, body: &str| {
        SinglePart::builder()
            .header(content_type)
            .header(header::ContentTransferEncoding::QuotedPrintable)
            .body(body.to_owned())
    };
    let mut builder = lettre::Message::builder()
        .from(n.from.clone())
        .to(recipient)
        .subject(format!("Confirm your subscription to {}", n.title))
        .date_now()
        .message_id(Some(format!(
            "<confirm.{:032x}@{}>",
            rand::random::<u128>(),
            n.from.email.domain()
        )))
        .header(AutoSubmitted)
        .header(header::MIME_VERSION_1_0);
    if let Some(r) = &n.reply_to {
        builder = builder.reply_to(r.clone());
    }
    let message = builder
        .multipart(
            MultiPart::alternative()
                .singlepart(part(header::ContentType::TEXT_PLAIN, &parts.text))
                .singlepart(part(header::ContentType::TEXT_HTML, &parts.html)),
        )
        .map_err(|e| failed(e.to_string()))?;
    Ok((envelope, message.formatted()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigOrigin, load};

    #[test]
    fn a_confirmation_is_a_plain_two_part_message_without_list_headers() {
        let settings = load(&ConfigOrigin::Bundled).unwrap();
        let parts = ConfirmParts {
            html: "<p>Ja, gern: <a href=\"https://d.example.org/confirm?token=a.b\">x</a></p>\n"
                .into(),
            text: "Confirm: https://d.example.org/confirm?token=a.b\n".into(),
        };
        let to = SubscriberEmail::parse("ada@example.org").unwrap();
        let (envelope, bytes) =
            confirmation(&settings, &to, Some("Ada \"the\" Countess"), &parts).unwrap();
        assert_eq!(envelope.to(), [to.address()]);
        assert_eq!(
            envelope.from(),
            Some(&settings.newsletter.from.email),
            "bounces go where the digest's do"
        );
        let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        assert_eq!(
            parsed.subject(),
            Some(format!("Confirm your subscription to {}", settings.newsletter.title).as_str())
        );
        let to_header = parsed.to().unwrap().first().unwrap();
        assert_eq!(to_header.name(), Some("Ada \"the\" Countess"));
        assert_eq!(to_header.address(), Some("ada@example.org"));
        assert_eq!(
            parsed.header("Auto-Submitted").and_then(|h| h.as_text()),
            Some("auto-generated")
        );
        assert!(parsed.header("List-Unsubscribe").is_none());
        assert!(parsed.message_id().is_some());
        assert_eq!(
            parsed.body_text(0).unwrap().trim_end(),
            parts.text.trim_end()
        );
        assert!(parsed.body_html(0).unwrap().contains("Ja, gern"));
    }
}
