//! Which paperwire message a report is about.
//!
//! paperwire gives every message the Message-ID `<edition.hash@from-domain>`, where `hash` is
//! the first ten bytes of SHA-256(`list_id` + "\n" + lowercased address), in hex (see
//! `deliver::message::message_id`). A bounce or complaint that quotes the original headers thus
//! names the edition and, through the hash, the subscriber, even when the report's own
//! recipient field holds a forwarding address, a file path, or `redacted` (feedback loops hide
//! the recipient). The hash is no secret (the list id is public): it identifies, it does not
//! authenticate; that is the VERP tag's job ([`super::verp`]).

use sha2::{Digest as _, Sha256};

use crate::edition::EditionId;

/// Bytes of the address hash carried in a Message-ID.
pub const ADDRESS_HASH_LEN: usize = 10;

/// The hash naming one address on one list (as in the Message-ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressHash([u8; ADDRESS_HASH_LEN]);

impl AddressHash {
    /// The hash of `email_key` (a lowercased address) on the list `list_id`.
    pub fn of(list_id: &str, email_key: &str) -> Self {
        let digest = Sha256::digest(format!("{list_id}\n{email_key}").as_bytes());
        let mut out = [0u8; ADDRESS_HASH_LEN];
        out.copy_from_slice(&digest[..ADDRESS_HASH_LEN]);
        Self(out)
    }

    /// Parses the 20 hex digits of a Message-ID (either case).
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != ADDRESS_HASH_LEN * 2 {
            return None;
        }
        let mut out = [0u8; ADDRESS_HASH_LEN];
        for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
            let s = std::str::from_utf8(pair).ok()?;
            out[i] = u8::from_str_radix(s, 16).ok()?;
        }
        Some(Self(out))
    }

    pub fn bytes(&self) -> &[u8; ADDRESS_HASH_LEN] {
        &self.0
    }

    /// The first eight bytes: what a VERP tag carries.
    pub fn prefix(&self) -> [u8; 8] {
        let mut out = [0u8; 8];
        out.copy_from_slice(&self.0[..8]);
        out
    }
}

/// The short hash of an edition id that a VERP tag carries.
pub fn edition_hash(edition: &EditionId) -> [u8; 4] {
    let digest = Sha256::digest(format!("edition\n{}", edition.as_str()).as_bytes());
    [digest[0], digest[1], digest[2], digest[3]]
}

/// A Message-ID that paperwire made: the edition and the address hash it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurMessageId {
    pub edition: EditionId,
    pub address: AddressHash,
}

impl OurMessageId {
    /// Recognizes `<edition.hash@from_domain>` (angle brackets optional, domain compared
    /// without regard to case). Anything else, including another domain's ids, is `None`.
    pub fn parse(raw: &str, from_domain: &str) -> Option<Self> {
        let id = raw.trim();
        let id = id
            .strip_prefix('<')
            .and_then(|s| s.strip_suffix('>'))
            .unwrap_or(id);
        let (left, domain) = id.rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(from_domain) {
            return None;
        }
        let (edition, hash) = left.rsplit_once('.')?;
        Some(Self {
            edition: EditionId::parse(edition).ok()?,
            address: AddressHash::from_hex(hash)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_of_ours_names_its_edition_and_address() {
        // The shape `deliver::message::message_id` makes (tests/it/bounces.rs checks the real
        // thing on sent messages).
        let hash = AddressHash::of("test.example.org", "ada@example.org");
        let hex: String = hash.bytes().iter().map(|b| format!("{b:02x}")).collect();
        let id = format!("<2026-11-28.{hex}@example.org>");
        let ours = OurMessageId::parse(&id, "example.org").expect("our own id is recognized");
        assert_eq!(ours.edition.as_str(), "2026-11-28");
        assert_eq!(ours.address, hash);
        // Upper-case domain and hex, no brackets.
        let loud = id.trim_matches(['<', '>']).to_uppercase();
        assert_eq!(OurMessageId::parse(&loud, "example.org"), Some(ours));
    }

    #[test]
    fn other_ids_are_not_ours() {
        for raw in [
            "<2026-11-28.0123456789abcdef0123@other.example>",
            "<2026-11-28.0123456789abcdef012@example.org>",
            "<2026-11-28.0123456789abcdef01zz@example.org>",
            "<0123456789abcdef0123@example.org>",
            "<a b.0123456789abcdef0123@example.org>",
            "<20261130081214.62EB298E0C4@mta.paperwire.test>",
            "",
            "<>",
        ] {
            assert_eq!(OurMessageId::parse(raw, "example.org"), None, "{raw}");
        }
        let dotted = OurMessageId::parse(
            "<2026-11-28.pm.0123456789abcdef0123@example.org>",
            "example.org",
        )
        .unwrap();
        assert_eq!(dotted.edition.as_str(), "2026-11-28.pm");
    }
}
