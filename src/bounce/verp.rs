//! VERP: an envelope sender per message, `<local>+<tag>@<domain>` derived from
//! `delivery.return_path`, so that a bounce names its subscriber by the address it comes back
//! to, without trusting anything the bounce's body says.
//!
//! The tag is 32 characters of lowercase base32 (RFC 4648 "extended hex", which survives MTAs
//! that change a local part's case) over 20 bytes: the first 8 bytes of the subscriber's
//! address hash (the one in paperwire's Message-IDs, see [`super::ident`]), a 4-byte hash of
//! the edition id, and an 8-byte HMAC-SHA256 over both and the list id. The MAC key is derived
//! from `PAPERWIRE_SECRET` for this purpose only, so a tag can never pass for an unsubscribe
//! token or the other way round; it is checked in constant time. A tag that has the shape but
//! not the MAC is forged (or damaged) and its report is skipped.

use data_encoding::BASE32_DNSSEC;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::ident::{AddressHash, edition_hash};
use crate::edition::EditionId;

type HmacSha256 = Hmac<Sha256>;

/// Characters in a tag (config checks that the return path leaves room for them).
pub const TAG_CHARS: usize = crate::config::VERP_TAG_CHARS;
/// Longest local part SMTP allows (RFC 5321 §4.5.3.1.1).
const MAX_LOCAL_PART: usize = 64;
const MAC_LEN: usize = 8;
const PAYLOAD_LEN: usize = 12;
// Base32 spends 8 characters on 5 bytes.
const _: () = assert!((PAYLOAD_LEN + MAC_LEN) * 8 / 5 == TAG_CHARS);

/// Why VERP cannot be used with a return path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a VERP sender built on `{return_path}` would have a local part of {len} characters; SMTP allows {MAX_LOCAL_PART} (shorten the part before the @)"
)]
pub struct VerpError {
    pub return_path: String,
    pub len: usize,
}

/// What a tag names: the subscriber's address hash prefix and the edition's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VerpTag {
    pub address: [u8; 8],
    pub edition: [u8; 4],
}

/// What an address says about VERP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagCheck {
    /// Not a VERP address of this return path.
    NotVerp,
    /// A tag this server signed.
    Valid(VerpTag),
    /// A VERP address whose tag does not verify.
    Forged(&'static str),
}

/// The key and return path that make and check tags.
#[derive(Clone)]
pub struct VerpKey {
    key: [u8; 32],
    list_id: String,
    local: String,
    domain: String,
}

impl std::fmt::Debug for VerpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerpKey")
            .field("list_id", &self.list_id)
            .field(
                "return_path",
                &format_args!("{}@{}", self.local, self.domain),
            )
            .finish_non_exhaustive()
    }
}

/// Checks that `return_path` leaves room for a tag in the local part.
pub fn check_return_path(return_path: &lettre::Address) -> Result<(), VerpError> {
    let len = return_path.user().len() + 1 + TAG_CHARS;
    if len > MAX_LOCAL_PART {
        Err(VerpError {
            return_path: return_path.to_string(),
            len,
        })
    } else {
        Ok(())
    }
}

impl VerpKey {
    /// A key for the list `list_id` whose bounces go to (tagged forms of) `return_path`.
    pub fn new(
        secret: &[u8],
        list_id: &str,
        return_path: &lettre::Address,
    ) -> Result<Self, VerpError> {
        check_return_path(return_path)?;
        let mut derive = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
        derive.update(b"paperwire VERP tag key v1");
        Ok(Self {
            key: derive.finalize().into_bytes().into(),
            list_id: list_id.to_owned(),
            local: return_path.user().to_owned(),
            domain: return_path.domain().to_owned(),
        })
    }

    fn mac(&self, payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(self.list_id.as_bytes());
        mac.update(b"\n");
        mac.update(payload);
        mac
    }

    /// The tag for a message of `edition` to `email_key` (a lowercased address).
    pub fn tag(&self, email_key: &str, edition: &EditionId) -> String {
        let mut bytes = Vec::with_capacity(PAYLOAD_LEN + MAC_LEN);
        bytes.extend_from_slice(&AddressHash::of(&self.list_id, email_key).prefix());
        bytes.extend_from_slice(&edition_hash(edition));
        let mac = self.mac(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&mac[..MAC_LEN]);
        BASE32_DNSSEC.encode(&bytes)
    }

    /// The envelope sender for a message of `edition` to `email_key`.
    pub fn sender(&self, email_key: &str, edition: &EditionId) -> lettre::Address {
        let user = format!("{}+{}", self.local, self.tag(email_key, edition));
        lettre::Address::new(user, &self.domain)
            .expect("a checked return path with a base32 tag is an address")
    }

    /// Whether `address` (bare, or in angle brackets) is a VERP form of the return path, and
    /// if so whether its tag is one this key made.
    pub fn check(&self, address: &str) -> TagCheck {
        let address = address.trim().trim_start_matches('<').trim_end_matches('>');
        let Some((local, domain)) = address.rsplit_once('@') else {
            return TagCheck::NotVerp;
        };
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return TagCheck::NotVerp;
        }
        let prefix_len = self.local.len() + 1;
        let is_ours = local.len() >= prefix_len
            && local.is_char_boundary(prefix_len)
            && local[..self.local.len()].eq_ignore_ascii_case(&self.local)
            && local.as_bytes()[self.local.len()] == b'+';
        if !is_ours {
            return TagCheck::NotVerp;
        }
        let tag = local[prefix_len..].to_ascii_lowercase();
        if tag.len() != TAG_CHARS {
            return TagCheck::Forged("the tag has the wrong length");
        }
        let Ok(bytes) = BASE32_DNSSEC.decode(tag.as_bytes()) else {
            return TagCheck::Forged("the tag is not base32");
        };
        let (payload, mac) = bytes.split_at(PAYLOAD_LEN);
        if self.mac(payload).verify_truncated_left(mac).is_err() {
            return TagCheck::Forged("the tag's signature does not match");
        }
        let mut tag = VerpTag {
            address: [0; 8],
            edition: [0; 4],
        };
        tag.address.copy_from_slice(&payload[..8]);
        tag.edition.copy_from_slice(&payload[8..]);
        TagCheck::Valid(tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"correct horse battery staple";
    const LIST: &str = "trending.example.org";

    fn key() -> VerpKey {
        VerpKey::new(SECRET, LIST, &"bounces@example.org".parse().unwrap()).unwrap()
    }

    fn edition(s: &str) -> EditionId {
        EditionId::parse(s).unwrap()
    }

    #[test]
    fn a_sender_carries_a_tag_that_verifies() {
        let key = key();
        let sender = key.sender("ada@example.org", &edition("2026-11-28"));
        let s = sender.to_string();
        assert!(
            s.starts_with("bounces+") && s.ends_with("@example.org"),
            "{s}"
        );
        assert_eq!(sender.user().len(), "bounces+".len() + TAG_CHARS);
        let TagCheck::Valid(tag) = key.check(&s) else {
            panic!("{s} should verify");
        };
        assert_eq!(
            tag.address,
            AddressHash::of(LIST, "ada@example.org").prefix()
        );
        assert_eq!(tag.edition, edition_hash(&edition("2026-11-28")));
        // An MTA that shouts, or wraps the address in brackets, changes nothing.
        assert_eq!(
            key.check(&format!("<{}>", s.to_uppercase())),
            TagCheck::Valid(tag)
        );
        // Each message gets its own tag.
        assert_ne!(
            key.tag("ada@example.org", &edition("2026-11-29")),
            key.tag("ada@example.org", &edition("2026-11-28"))
        );
        assert_ne!(
            key.tag("bob@example.org", &edition("2026-11-28")),
            key.tag("ada@example.org", &edition("2026-11-28"))
        );
    }

    #[test]
    fn forged_and_foreign_tags_are_refused() {
        let key = key();
        let good = key
            .sender("ada@example.org", &edition("2026-11-28"))
            .to_string();
        let other_secret = VerpKey::new(
            b"another secret",
            LIST,
            &"bounces@example.org".parse().unwrap(),
        )
        .unwrap();
        let other_list = VerpKey::new(
            SECRET,
            "other.example.org",
            &"bounces@example.org".parse().unwrap(),
        )
        .unwrap();
        assert!(matches!(other_secret.check(&good), TagCheck::Forged(_)));
        assert!(matches!(other_list.check(&good), TagCheck::Forged(_)));
        // One character changed, in the payload and in the MAC.
        for at in ["bounces+".len(), "bounces+".len() + TAG_CHARS - 1] {
            let mut bytes = good.clone().into_bytes();
            bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
            let flipped = String::from_utf8(bytes).unwrap();
            assert!(
                matches!(key.check(&flipped), TagCheck::Forged(_)),
                "{flipped}"
            );
        }
        for bad in [
            "bounces+@example.org",
            "bounces+short@example.org",
            "bounces+zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz@example.org",
            &good.replace("@", "x@"),
        ] {
            assert!(matches!(key.check(bad), TagCheck::Forged(_)), "{bad}");
        }
        for not_verp in [
            "bounces@example.org",
            "ada@example.org",
            "bouncesx+abc@example.org",
            &good.replace("example.org", "example.net"),
            "no at sign",
            "",
        ] {
            assert_eq!(key.check(not_verp), TagCheck::NotVerp, "{not_verp}");
        }
    }

    #[test]
    fn a_return_path_too_long_for_a_tag_is_refused() {
        let long: lettre::Address = format!("{}@example.org", "b".repeat(32)).parse().unwrap();
        let err = VerpKey::new(SECRET, LIST, &long).unwrap_err();
        assert_eq!(err.len, 65);
        let fits: lettre::Address = format!("{}@example.org", "b".repeat(31)).parse().unwrap();
        assert!(VerpKey::new(SECRET, LIST, &fits).is_ok());
    }

    #[test]
    fn a_return_path_with_a_detail_keeps_it() {
        let key = VerpKey::new(SECRET, LIST, &"news+bounces@example.org".parse().unwrap()).unwrap();
        let sender = key.sender("ada@example.org", &edition("x")).to_string();
        assert!(sender.starts_with("news+bounces+"), "{sender}");
        assert!(matches!(key.check(&sender), TagCheck::Valid(_)));
    }
}
