//! Signed links to a reader's own pages — the preference page and the signup confirmation —
//! each scoped to its one purpose.
//!
//! A link in an email is a capability: whoever holds it may act for the address it names. So
//! every kind of link is signed with its own key, derived from `PAPERWIRE_SECRET` and the
//! purpose (`HMAC(secret, "paperwire link key\n" + purpose)`): an unsubscribe token (signed with
//! the secret itself, see [`super::token`], whose format is a contract) can neither open the
//! preference page nor confirm a signup, and the reverse. Tags are compared in constant time
//! (`hmac`'s `verify_slice`).
//!
//! - Preferences: `<base64url(email)>.<base64url(HMAC(key, list_id + "\n" + lowercase(email)))>`,
//!   the unsubscribe token's shape under another key. It does not expire: it sits in every
//!   digest, and old digests must keep working.
//! - Confirmation: `<base64url(json)>.<base64url(HMAC(key, list_id + "\n" + base64url(json)))>`,
//!   where the JSON is the [`SignupRequest`] — address, name, topics, format and when it was
//!   asked — so that the confirm page can show what will be subscribed without storing anything
//!   before the reader confirms. It expires (`serve.confirm_expiry`). The JSON is read only
//!   after its tag has verified.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{MailFormat, SubscriberEmail};

type HmacSha256 = Hmac<Sha256>;

/// The longest token looked at; anything longer is refused before any work is done.
pub const MAX_TOKEN_LEN: usize = 4096;
/// How far in the future a confirmation's time may be (clock skew between restarts).
const FUTURE_SKEW_SECS: i64 = 300;

/// What a signed link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `/preferences`.
    Preferences,
    /// `/confirm`.
    Confirm,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Self::Preferences => "preferences",
            Self::Confirm => "confirm",
        }
    }
}

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not of the token's shape.
    #[error("the link is malformed ({0})")]
    Malformed(&'static str),
    /// Well-formed, but not signed by this server for this list and this purpose.
    #[error("the link's signature does not match")]
    BadSignature,
    /// A confirmation link older than `serve.confirm_expiry`.
    #[error("the link expired")]
    Expired,
}

/// The key of one purpose's tags.
fn purpose_key(secret: &[u8], purpose: Purpose) -> HmacSha256 {
    let mut derive = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    derive.update(b"paperwire link key\n");
    derive.update(purpose.label().as_bytes());
    let key = derive.finalize().into_bytes();
    HmacSha256::new_from_slice(&key).expect("HMAC takes keys of any length")
}

fn mac(secret: &[u8], purpose: Purpose, list_id: &str, message: &[u8]) -> HmacSha256 {
    let mut mac = purpose_key(secret, purpose);
    mac.update(list_id.as_bytes());
    mac.update(b"\n");
    mac.update(message);
    mac
}

/// Splits `<a>.<b>` and decodes both halves; the tag must be 32 bytes.
fn split(token: &str) -> Result<(&str, Vec<u8>, Vec<u8>), LinkError> {
    let token = token.trim();
    if token.len() > MAX_TOKEN_LEN {
        return Err(LinkError::Malformed("too long"));
    }
    let (body, tag) = token
        .split_once('.')
        .ok_or(LinkError::Malformed("no `.` separator"))?;
    let body_bytes = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| LinkError::Malformed("the first part is not base64url"))?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| LinkError::Malformed("the signature part is not base64url"))?;
    if tag.len() != 32 {
        return Err(LinkError::Malformed("the signature has the wrong length"));
    }
    Ok((body, body_bytes, tag))
}

/// The preference-page key, derived once: a send signs one link per message.
#[derive(Clone)]
pub struct PreferenceKey(HmacSha256);

impl std::fmt::Debug for PreferenceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreferenceKey([REDACTED])")
    }
}

impl PreferenceKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(purpose_key(secret, Purpose::Preferences))
    }

    /// The preference-page token for `email` on the list `list_id`.
    pub fn sign(&self, list_id: &str, email: &SubscriberEmail) -> String {
        let mut mac = self.0.clone();
        mac.update(list_id.as_bytes());
        mac.update(b"\n");
        mac.update(email.key().as_bytes());
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(email.as_str()),
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }
}

/// The preference-page token for `email` on the list `list_id`.
pub fn sign_preferences(secret: &[u8], list_id: &str, email: &SubscriberEmail) -> String {
    PreferenceKey::new(secret).sign(list_id, email)
}

/// The address a preference-page token was signed for.
pub fn verify_preferences(
    secret: &[u8],
    list_id: &str,
    token: &str,
) -> Result<SubscriberEmail, LinkError> {
    let (_, address, tag) = split(token)?;
    let email = std::str::from_utf8(&address)
        .ok()
        .and_then(|s| SubscriberEmail::parse(s).ok())
        .ok_or(LinkError::Malformed("the first part is not an address"))?;
    mac(
        secret,
        Purpose::Preferences,
        list_id,
        email.key().as_bytes(),
    )
    .verify_slice(&tag)
    .map_err(|_| LinkError::BadSignature)?;
    Ok(email)
}

/// `<base_url>/preferences?token=<token>`.
pub fn preferences_url(base_url: &str, token: &str) -> String {
    format!(
        "{}/preferences?token={token}",
        base_url.trim_end_matches('/')
    )
}

/// The preference-page link for `email`, signed.
pub fn signed_preferences_url(
    secret: &[u8],
    list_id: &str,
    base_url: &str,
    email: &SubscriberEmail,
) -> String {
    preferences_url(base_url, &sign_preferences(secret, list_id, email))
}

/// `<base_url>/confirm?token=<token>`.
pub fn confirm_url(base_url: &str, token: &str) -> String {
    format!("{}/confirm?token={token}", base_url.trim_end_matches('/'))
}

/// What a person asked for on the signup form, as a confirmation link carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupRequest {
    #[serde(rename = "e")]
    email: SubscriberEmail,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// Section names as the config spells them; empty = every section.
    #[serde(rename = "t", default, skip_serializing_if = "Vec::is_empty")]
    topics: Vec<String>,
    #[serde(rename = "f")]
    format: MailFormat,
    /// When it was asked for, in whole seconds since the epoch.
    #[serde(rename = "at")]
    asked_at: i64,
}

impl SignupRequest {
    /// A request made at `asked_at`. The caller has checked the name and the topics.
    pub fn new(
        email: SubscriberEmail,
        name: Option<String>,
        topics: Vec<String>,
        format: MailFormat,
        asked_at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        Self {
            email,
            name: name.filter(|n| !n.trim().is_empty()),
            topics,
            format,
            asked_at: asked_at.timestamp(),
        }
    }

    pub fn email(&self) -> &SubscriberEmail {
        &self.email
    }
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// Section names; empty = every section.
    pub fn topics(&self) -> &[String] {
        &self.topics
    }
    pub fn format(&self) -> MailFormat {
        self.format
    }
    pub fn asked_at(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.asked_at, 0).unwrap_or_default()
    }
}

/// The confirmation token carrying `request`.
pub fn sign_confirm(secret: &[u8], list_id: &str, request: &SignupRequest) -> String {
    let json = serde_json::to_vec(request).expect("a SignupRequest always serializes");
    let body = URL_SAFE_NO_PAD.encode(json);
    let tag = mac(secret, Purpose::Confirm, list_id, body.as_bytes())
        .finalize()
        .into_bytes();
    format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The request a confirmation token carries, if this server signed it for this list and it
/// was asked for at most `expiry` before `now`.
pub fn verify_confirm(
    secret: &[u8],
    list_id: &str,
    token: &str,
    now: chrono::DateTime<chrono::Utc>,
    expiry: std::time::Duration,
) -> Result<SignupRequest, LinkError> {
    let (body, json, tag) = split(token)?;
    mac(secret, Purpose::Confirm, list_id, body.as_bytes())
        .verify_slice(&tag)
        .map_err(|_| LinkError::BadSignature)?;
    // Signed by us, so well-formed unless the format changed under it.
    let request: SignupRequest = serde_json::from_slice(&json)
        .map_err(|_| LinkError::Malformed("the request cannot be read"))?;
    let age = now.timestamp() - request.asked_at;
    let expiry = i64::try_from(expiry.as_secs()).unwrap_or(i64::MAX);
    if age > expiry || age < -FUTURE_SKEW_SECS {
        return Err(LinkError::Expired);
    }
    Ok(request)
}

/// The purpose a token was signed for by this server on this list, if any of the purposes
/// here (an unsubscribe token is [`super::token`]'s to check). Lets an endpoint tell a link
/// meant for another page (refused as forbidden) from one that is garbled.
pub fn purpose_of(secret: &[u8], list_id: &str, token: &str) -> Option<Purpose> {
    let (body, _, tag) = split(token).ok()?;
    if mac(secret, Purpose::Confirm, list_id, body.as_bytes())
        .verify_slice(&tag)
        .is_ok()
    {
        return Some(Purpose::Confirm);
    }
    verify_preferences(secret, list_id, token)
        .ok()
        .map(|_| Purpose::Preferences)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscribers::token;
    use std::time::Duration;

    const SECRET: &[u8] = b"correct horse battery staple";
    const LIST: &str = "trending.example.org";
    const DAY: Duration = Duration::from_secs(86_400);

    fn email(s: &str) -> SubscriberEmail {
        SubscriberEmail::parse(s).unwrap()
    }

    fn now() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn request() -> SignupRequest {
        SignupRequest::new(
            email("Ada@Example.org"),
            Some("Ada Lovelace".into()),
            vec!["Federated Learning".into(), "Graphs".into()],
            MailFormat::Text,
            now(),
        )
    }

    #[test]
    fn a_preference_token_verifies_for_its_address_ignoring_case() {
        let token = sign_preferences(SECRET, LIST, &email("Ada@Example.org"));
        assert_eq!(
            verify_preferences(SECRET, LIST, &token).unwrap(),
            email("Ada@Example.org")
        );
        let lower = sign_preferences(SECRET, LIST, &email("ada@example.org"));
        assert_eq!(
            token.split_once('.').unwrap().1,
            lower.split_once('.').unwrap().1
        );
        assert_eq!(
            signed_preferences_url(SECRET, LIST, "https://d.example.org/", &email("a@b.org")),
            format!(
                "https://d.example.org/preferences?token={}",
                sign_preferences(SECRET, LIST, &email("a@b.org"))
            )
        );
    }

    #[test]
    fn tokens_of_one_purpose_never_pass_for_another() {
        let ada = email("ada@example.org");
        let unsubscribe = token::sign(SECRET, LIST, &ada);
        let preferences = sign_preferences(SECRET, LIST, &ada);
        let confirm = sign_confirm(SECRET, LIST, &request());
        // Same shape as the unsubscribe token, another key.
        assert_ne!(unsubscribe, preferences);
        assert_eq!(
            verify_preferences(SECRET, LIST, &unsubscribe),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            token::verify(SECRET, LIST, &preferences),
            Err(token::TokenError::BadSignature)
        );
        assert!(verify_confirm(SECRET, LIST, &unsubscribe, now(), DAY).is_err());
        assert!(verify_confirm(SECRET, LIST, &preferences, now(), DAY).is_err());
        assert!(verify_preferences(SECRET, LIST, &confirm).is_err());
        assert!(token::verify(SECRET, LIST, &confirm).is_err());
        assert_eq!(purpose_of(SECRET, LIST, &confirm), Some(Purpose::Confirm));
        assert_eq!(
            purpose_of(SECRET, LIST, &preferences),
            Some(Purpose::Preferences)
        );
        assert_eq!(purpose_of(SECRET, LIST, &unsubscribe), None);
        assert_eq!(purpose_of(b"another secret", LIST, &confirm), None);
    }

    #[test]
    fn a_confirmation_carries_the_request_until_it_expires() {
        let token = sign_confirm(SECRET, LIST, &request());
        let got = verify_confirm(SECRET, LIST, &token, now(), DAY).unwrap();
        assert_eq!(got, request());
        assert_eq!(got.email().as_str(), "Ada@Example.org");
        assert_eq!(got.name(), Some("Ada Lovelace"));
        assert_eq!(got.topics(), ["Federated Learning", "Graphs"]);
        assert_eq!(got.format(), MailFormat::Text);
        assert_eq!(got.asked_at(), now());
        let later = now() + chrono::Duration::seconds(86_400);
        assert!(verify_confirm(SECRET, LIST, &token, later, DAY).is_ok());
        let too_late = later + chrono::Duration::seconds(1);
        assert_eq!(
            verify_confirm(SECRET, LIST, &token, too_late, DAY),
            Err(LinkError::Expired)
        );
        let long_before = now() - chrono::Duration::hours(1);
        assert_eq!(
            verify_confirm(SECRET, LIST, &token, long_before, DAY),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn a_changed_request_or_another_list_or_secret_is_forged() {
        let token = sign_confirm(SECRET, LIST, &request());
        let (body, tag) = token.split_once('.').unwrap();
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap();
        for changed in [
            json.replace("Ada@Example.org", "eve@example.org"),
            json.replace("\"text\"", "\"html\""),
            json.replace("Graphs", "Vision"),
            json.replace("1800000000", "1900000000"),
        ] {
            assert_ne!(changed, json);
            let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(changed));
            assert_eq!(
                verify_confirm(SECRET, LIST, &forged, now(), DAY),
                Err(LinkError::BadSignature)
            );
        }
        assert_eq!(
            verify_confirm(b"another secret", LIST, &token, now(), DAY),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify_confirm(SECRET, "other.example.org", &token, now(), DAY),
            Err(LinkError::BadSignature)
        );
        let pref = sign_preferences(SECRET, LIST, &email("ada@example.org"));
        let (_, pref_tag) = pref.split_once('.').unwrap();
        let swapped = format!("{}.{pref_tag}", URL_SAFE_NO_PAD.encode("eve@example.org"));
        assert_eq!(
            verify_preferences(SECRET, LIST, &swapped),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn garbled_tokens_are_malformed() {
        let token = sign_confirm(SECRET, LIST, &request());
        let huge = "A".repeat(MAX_TOKEN_LEN + 1);
        for bad in [
            "",
            ".",
            "no-dot",
            &token[..token.len() - 3],
            &token.replace('.', "!"),
            huge.as_str(),
        ] {
            assert!(
                matches!(
                    verify_confirm(SECRET, LIST, bad, now(), DAY),
                    Err(LinkError::Malformed(_))
                ),
                "{bad:?}"
            );
            assert!(matches!(
                verify_preferences(SECRET, LIST, bad),
                Err(LinkError::Malformed(_))
            ));
        }
    }
}
