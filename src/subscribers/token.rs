//! One-click unsubscribe tokens (contract in DESIGN.md):
//! `<base64url(email)>.<base64url(HMAC-SHA256(secret, list_id + "\n" + lowercase(email)))>`,
//! no padding, no expiry, verified in constant time.
//!
//! HELPER-OWNED (subscribers helper).

use super::SubscriberEmail;

/// The token for `email` on the list `list_id`.
pub fn sign(secret: &[u8], list_id: &str, email: &SubscriberEmail) -> String {
    let _ = (secret, list_id, email);
    todo!("subscribers helper")
}

/// `<base_url>/unsubscribe?token=<token>`.
pub fn unsubscribe_url(base_url: &str, token: &str) -> String {
    format!(
        "{}/unsubscribe?token={token}",
        base_url.trim_end_matches('/')
    )
}
