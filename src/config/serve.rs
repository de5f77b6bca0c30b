//! `[serve]` in `paperwire.toml`: where `paperwire serve` listens, whether readers may sign
//! themselves up, whether to believe a reverse proxy about the client's address, and the limits
//! that keep a signup form from being turned against the list or against other people's inboxes.
//! Every problem is reported at its `file:line:col`. The serve module reads these values; it is
//! not imported here (it sits above config).
//!
//! ```toml
//! [serve]
//! listen         = "127.0.0.1:8080"
//! signup         = false   # true: /subscribe is open
//! trust_proxy    = false   # true: the client address is the last X-Forwarded-For entry
//! confirm_expiry = "48h"   # how long a confirmation link works
//! signups_per_client        = 10   # signup requests one client address may make per hour
//! confirmations_per_address = 3    # confirmation messages one address may get per day
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

/// `[serve]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServe {
    #[serde(default = "default_listen")]
    listen: Spanned<String>,
    #[serde(default)]
    signup: bool,
    #[serde(default)]
    trust_proxy: bool,
    #[serde(default = "default_confirm_expiry")]
    confirm_expiry: Spanned<String>,
    #[serde(default = "default_signups_per_client")]
    signups_per_client: Spanned<u32>,
    #[serde(default = "default_confirmations_per_address")]
    confirmations_per_address: Spanned<u32>,
}

impl Default for RawServe {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            signup: false,
            trust_proxy: false,
            confirm_expiry: default_confirm_expiry(),
            signups_per_client: default_signups_per_client(),
            confirmations_per_address: default_confirmations_per_address(),
        }
    }
}

/// Where `paperwire serve` listens unless told otherwise: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

fn default_listen() -> Spanned<String> {
    Spanned::new(0..0, DEFAULT_LISTEN.to_owned())
}
fn default_confirm_expiry() -> Spanned<String> {
    Spanned::new(0..0, "48h".to_owned())
}
fn default_signups_per_client() -> Spanned<u32> {
    Spanned::new(0..0, 10)
}
fn default_confirmations_per_address() -> Spanned<u32> {
    Spanned::new(0..0, 3)
}

/// The longest `confirm_expiry` accepted: a confirmation is about a request just made.
const MAX_CONFIRM_EXPIRY: Duration = Duration::from_secs(30 * 86_400);

/// `[serve]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeSettings {
    pub listen: SocketAddr,
    /// Whether `/subscribe` is open.
    pub signup: bool,
    /// Take the client's address from the last `X-Forwarded-For` entry (behind a proxy).
    pub trust_proxy: bool,
    /// How long a confirmation link works.
    pub confirm_expiry: Duration,
    /// Signup requests one client address may make per hour.
    pub signups_per_client: u32,
    /// Confirmation messages one address may get per day.
    pub confirmations_per_address: u32,
}

impl Default for ServeSettings {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("a valid socket address"),
            signup: false,
            trust_proxy: false,
            confirm_expiry: Duration::from_secs(48 * 3600),
            signups_per_client: 10,
            confirmations_per_address: 3,
        }
    }
}

/// Checks `[serve]`; each problem goes to `bad(offset, message)`. `None` when there was one.
pub(super) fn check(raw: &RawServe, bad: &mut impl FnMut(usize, String)) -> Option<ServeSettings> {
    let mut ok = true;
    let listen = match raw.listen.get_ref().trim().parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            bad(
                raw.listen.span().start,
                format!(
                    "serve.listen `{}` is not an address and port like 127.0.0.1:8080 or [::1]:8080",
                    raw.listen.get_ref()
                ),
            );
            None
        }
    };
    let confirm_expiry = match super::parse_duration(raw.confirm_expiry.get_ref()) {
        Ok(d) if !d.is_zero() && d <= MAX_CONFIRM_EXPIRY => d,
        Ok(_) => {
            bad(
                raw.confirm_expiry.span().start,
                "serve.confirm_expiry must be longer than 0 and at most 30d".into(),
            );
            ok = false;
            Duration::ZERO
        }
        Err(e) => {
            bad(
                raw.confirm_expiry.span().start,
                format!("serve.confirm_expiry: {e}"),
            );
            ok = false;
            Duration::ZERO
        }
    };
    for (key, value) in [
        ("signups_per_client", &raw.signups_per_client),
        ("confirmations_per_address", &raw.confirmations_per_address),
    ] {
        if !(1..=10_000).contains(value.get_ref()) {
            bad(
                value.span().start,
                format!(
                    "serve.{key} must be between 1 and 10000 (got {})",
                    value.get_ref()
                ),
            );
            ok = false;
        }
    }
    Some(ServeSettings {
        listen: listen?,
        signup: raw.signup,
        trust_proxy: raw.trust_proxy,
        confirm_expiry,
        signups_per_client: *raw.signups_per_client.get_ref(),
        confirmations_per_address: *raw.confirmations_per_address.get_ref(),
    })
    .filter(|_| ok)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{ConfigOrigin, Settings};

    const BASE: &str = r#"
[newsletter]
title    = "T"
from     = "T <t@example.org>"
list_id  = "t.example.org"
base_url = "https://t.example.org"
"#;

    fn parse(serve: &str) -> Result<Settings, String> {
        Settings::parse(
            &format!("{BASE}{serve}"),
            Path::new("paperwire.toml"),
            Path::new("."),
            ConfigOrigin::File("paperwire.toml".into()),
        )
        .map_err(|p| p.to_string())
    }

    #[test]
    fn defaults_keep_signup_closed_on_loopback() {
        let s = parse("").unwrap().serve;
        assert_eq!(s, super::ServeSettings::default());
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert!(!s.signup && !s.trust_proxy);
        assert_eq!(s.confirm_expiry.as_secs(), 48 * 3600);
    }

    #[test]
    fn every_key_is_read() {
        let s = parse(
            "[serve]\nlisten = \"[::1]:9000\"\nsignup = true\ntrust_proxy = true\nconfirm_expiry = \"30m\"\nsignups_per_client = 4\nconfirmations_per_address = 2\n",
        )
        .unwrap()
        .serve;
        assert_eq!(s.listen.to_string(), "[::1]:9000");
        assert!(s.signup && s.trust_proxy);
        assert_eq!(s.confirm_expiry.as_secs(), 1800);
        assert_eq!((s.signups_per_client, s.confirmations_per_address), (4, 2));
    }

    #[test]
    fn bad_values_are_reported_where_they_are() {
        let e = parse(
            "[serve]\nlisten = \"localhost\"\nconfirm_expiry = \"0s\"\nsignups_per_client = 0\nconfirmations_per_address = 3\n",
        )
        .unwrap_err();
        insta::assert_snapshot!(e);
        let e = parse("[serve]\nconfirm_expiry = \"soon\"\nport = 8080\n").unwrap_err();
        insta::assert_snapshot!(e);
    }
}
