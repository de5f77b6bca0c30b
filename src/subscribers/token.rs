//! One-click unsubscribe tokens (the format is a contract: links in sent emails must keep working):
//! `<base64url(email)>.<base64url(HMAC-SHA256(secret, list_id + "\n" + lowercase(email)))>`,
//! no padding, no expiry, verified in constant time.
//!
//! The token carries the address so that the endpoint needs no database lookup, and the MAC
//! binds it to this list (`list_id`) and to the server's secret, so that nobody can unsubscribe
//! someone else by guessing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::SubscriberEmail;

type HmacSha256 = Hmac<Sha256>;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not of the token's shape: truncated, garbled, not base64url, not an address.
    #[error("the unsubscribe link is malformed ({0})")]
    Malformed(&'static str),
    /// Well-formed, but not signed by this server for this list.
    #[error("the unsubscribe link's signature does not match")]
    BadSignature,
}

fn mac(secret: &[u8], list_id: &str, email: &SubscriberEmail) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(list_id.as_bytes());
    mac.update(b"\n");
    mac.update(email.key().as_bytes());
    mac
}

/// The token for `email` on the list `list_id`.
pub fn sign(secret: &[u8], list_id: &str, email: &SubscriberEmail) -> String {
    let tag = mac(secret, list_id, email).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(email.as_str()),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// The address a token was signed for, if this server signed it for this list. The signature
/// is compared in constant time.
pub fn verify(secret: &[u8], list_id: &str, token: &str) -> Result<SubscriberEmail, TokenError> {
    let (email_part, tag_part) = token
        .trim()
        .split_once('.')
        .ok_or(TokenError::Malformed("no `.` separator"))?;
    let email_bytes = URL_SAFE_NO_PAD
        .decode(email_part)
        .map_err(|_| TokenError::Malformed("the address part is not base64url"))?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag_part)
        .map_err(|_| TokenError::Malformed("the signature part is not base64url"))?;
    if tag.len() != 32 {
        return Err(TokenError::Malformed("the signature has the wrong length"));
    }
    let email = std::str::from_utf8(&email_bytes)
        .ok()
        .and_then(|s| SubscriberEmail::parse(s).ok())
        .ok_or(TokenError::Malformed("the address part is not an address"))?;
    mac(secret, list_id, &email)
        .verify_slice(&tag)
        .map_err(|_| TokenError::BadSignature)?;
    Ok(email)
}

/// `<base_url>/unsubscribe?token=<token>`.
pub fn unsubscribe_url(base_url: &str, token: &str) -> String {
    format!(
        "{}/unsubscribe?token={token}",
        base_url.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"correct horse battery staple";
    const LIST: &str = "trending.example.org";

    fn email(s: &str) -> SubscriberEmail {
        SubscriberEmail::parse(s).unwrap()
    }

    #[test]
    fn the_token_has_the_contract_shape() {
        let token = sign(SECRET, LIST, &email("Ada@Example.org"));
        let (address, tag) = token.split_once('.').unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(address).unwrap(), b"Ada@Example.org");
        let mut expected = HmacSha256::new_from_slice(SECRET).unwrap();
        expected.update(b"trending.example.org\nada@example.org");
        assert_eq!(
            URL_SAFE_NO_PAD.decode(tag).unwrap(),
            expected.finalize().into_bytes().as_slice()
        );
        assert!(!token.contains('=') && !token.contains('+') && !token.contains('/'));
    }

    #[test]
    fn a_signed_token_verifies_ignoring_case() {
        let token = sign(SECRET, LIST, &email("Ada@Example.org"));
        assert_eq!(
            verify(SECRET, LIST, &token).unwrap(),
            email("Ada@Example.org")
        );
        let lower = sign(SECRET, LIST, &email("ada@example.org"));
        assert_eq!(
            token.split_once('.').unwrap().1,
            lower.split_once('.').unwrap().1
        );
    }

    #[test]
    fn forged_tokens_are_refused() {
        let token = sign(SECRET, LIST, &email("ada@example.org"));
        assert_eq!(
            verify(b"another secret", LIST, &token),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            verify(SECRET, "other.example.org", &token),
            Err(TokenError::BadSignature)
        );
        // Someone else's address with Ada's signature.
        let (_, tag) = token.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("eve@example.org"));
        assert_eq!(verify(SECRET, LIST, &forged), Err(TokenError::BadSignature));
        // One flipped character in the signature.
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            verify(SECRET, LIST, &flipped),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn truncated_and_garbled_tokens_are_malformed() {
        let token = sign(SECRET, LIST, &email("ada@example.org"));
        for bad in [
            "",
            ".",
            "no-dot-at-all",
            &token[..token.len() - 5],
            &token[..token.find('.').unwrap()],
            &format!("{token}x"),
            &token.replace('.', "!"),
            &format!("***.{}", token.split_once('.').unwrap().1),
            &format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode("not an address"),
                token.split_once('.').unwrap().1
            ),
        ] {
            assert!(
                matches!(verify(SECRET, LIST, bad), Err(TokenError::Malformed(_))),
                "{bad:?} should be malformed"
            );
        }
    }

    #[test]
    fn the_url_joins_without_a_double_slash() {
        assert_eq!(
            unsubscribe_url("https://d.example.org/", "abc.def"),
            "https://d.example.org/unsubscribe?token=abc.def"
        );
    }
}
