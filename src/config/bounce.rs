//! `[bounce]` in `paperwire.toml`: when an address stops getting mail, and whether envelope
//! senders carry VERP tags, checked with each problem at its `file:line:col`. The bounce module
//! reads these values; it is not imported here (it sits above config).
//!
//! ```toml
//! [bounce]
//! threshold = 3        # score at which an address stops getting mail (hard 1, soft ½)
//! window    = "30d"    # scores older than this expire
//! verp      = false    # true: envelope sender bounces+<tag>@domain, from delivery.return_path
//! ```

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

/// `[bounce]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBounce {
    #[serde(default = "default_threshold")]
    threshold: Spanned<f64>,
    #[serde(default = "default_window")]
    window: Spanned<String>,
    #[serde(default = "default_verp")]
    verp: Spanned<bool>,
}

impl Default for RawBounce {
    fn default() -> Self {
        Self {
            threshold: default_threshold(),
            window: default_window(),
            verp: default_verp(),
        }
    }
}

fn default_threshold() -> Spanned<f64> {
    Spanned::new(0..0, 3.0)
}
fn default_window() -> Spanned<String> {
    Spanned::new(0..0, "30d".to_owned())
}
fn default_verp() -> Spanned<bool> {
    Spanned::new(0..0, false)
}

/// `[bounce]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct BounceSettings {
    /// The score at which an address stops getting mail (a hard bounce counts 1, a soft ½).
    pub threshold: f64,
    /// Scores older than this expire.
    pub window: Duration,
    /// Tag envelope senders (`delivery.return_path` is then set and leaves room for a tag).
    pub verp: bool,
}

/// Characters of the tag a VERP sender adds to the return path's local part (`+` and the
/// tag), which must stay within SMTP's 64.
pub const VERP_TAG_CHARS: usize = 32;
const MAX_LOCAL_PART: usize = 64;

/// The highest threshold accepted: past it, no address would ever stop getting mail within
/// any sensible window.
const MAX_THRESHOLD: f64 = 1000.0;

/// Checks `[bounce]`; `return_path` is `delivery.return_path` as parsed (`None` when unset),
/// `return_path_written` whether the key is there at all (a bad one is reported elsewhere).
/// Each problem goes to `bad(offset, message)`; `None` when there was one.
pub(super) fn check(
    raw: &RawBounce,
    return_path: Option<&lettre::Address>,
    return_path_written: bool,
    bad: &mut impl FnMut(usize, String),
) -> Option<BounceSettings> {
    let mut ok = true;
    let threshold = *raw.threshold.get_ref();
    if !(threshold.is_finite() && threshold > 0.0 && threshold <= MAX_THRESHOLD) {
        bad(
            raw.threshold.span().start,
            format!(
                "bounce.threshold must be a number above 0 and at most {MAX_THRESHOLD} (got {threshold})"
            ),
        );
        ok = false;
    }
    let window = match super::parse_duration(raw.window.get_ref()) {
        Ok(w) if !w.is_zero() => w,
        Ok(_) => {
            bad(
                raw.window.span().start,
                "bounce.window must be longer than 0".into(),
            );
            ok = false;
            Duration::ZERO
        }
        Err(e) => {
            bad(raw.window.span().start, format!("bounce.window: {e}"));
            ok = false;
            Duration::ZERO
        }
    };
    let verp = *raw.verp.get_ref();
    if verp {
        match return_path {
            Some(rp) if rp.user().len() + 1 + VERP_TAG_CHARS > MAX_LOCAL_PART => {
                bad(
                    raw.verp.span().start,
                    format!(
                        "bounce.verp: a VERP sender built on `{rp}` would have a local part of {} characters; SMTP allows {MAX_LOCAL_PART} (shorten the part before the @)",
                        rp.user().len() + 1 + VERP_TAG_CHARS
                    ),
                );
                ok = false;
            }
            Some(_) => {}
            None if !return_path_written => {
                bad(
                    raw.verp.span().start,
                    "bounce.verp needs delivery.return_path: the address bounces come back to, which gets a tag per message".into(),
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    ok.then_some(BounceSettings {
        threshold,
        window,
        verp,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{BUNDLED_CONFIG, ConfigOrigin, Settings};

    fn parse(extra: &str) -> Result<Settings, String> {
        let text = format!("{BUNDLED_CONFIG}\n{extra}\n");
        Settings::parse(
            &text,
            Path::new("paperwire.toml"),
            Path::new("."),
            ConfigOrigin::Bundled,
        )
        .map_err(|p| {
            // Line numbers past the bundled text, so the snapshot does not move with it.
            let base = BUNDLED_CONFIG.lines().count() + 1;
            p.0.iter()
                .map(|p| {
                    let s = p.to_string();
                    let (loc, msg) = s.split_once(": ").unwrap();
                    let mut parts = loc.rsplitn(3, ':');
                    let col = parts.next().unwrap();
                    let line: usize = parts.next().unwrap().parse().unwrap();
                    format!("+{}:{col}: {msg}", line - base)
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    #[test]
    fn defaults_and_written_values() {
        let s = parse("").unwrap();
        assert_eq!(s.bounce.threshold, 3.0);
        assert_eq!(s.bounce.window.as_secs(), 30 * 86_400);
        assert!(!s.bounce.verp);
        let s = parse("[bounce]\nthreshold = 2\nwindow = \"7d\"").unwrap();
        assert_eq!(s.bounce.threshold, 2.0);
        assert_eq!(s.bounce.window.as_secs(), 7 * 86_400);
        let s = parse("[bounce]\nthreshold = 1.5").unwrap();
        assert_eq!(s.bounce.threshold, 1.5);
    }

    #[test]
    fn verp_uses_the_return_path() {
        let with_rp = |rp: &str| {
            BUNDLED_CONFIG.replace(
                "# return_path  = \"bounces@example.org\"",
                &format!("return_path = \"{rp}\""),
            )
        };
        let text = format!(
            "{}\n[bounce]\nverp = true\n",
            with_rp("bounces@example.org")
        );
        let s = Settings::parse(
            &text,
            Path::new("p.toml"),
            Path::new("."),
            ConfigOrigin::Bundled,
        )
        .unwrap();
        assert!(s.bounce.verp);
        // A bad return path is reported once, where it is.
        let text = format!("{}\n[bounce]\nverp = true\n", with_rp("not an address"));
        let err = Settings::parse(
            &text,
            Path::new("p.toml"),
            Path::new("."),
            ConfigOrigin::Bundled,
        )
        .unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        assert!(err.to_string().contains("delivery.return_path"), "{err}");
    }

    #[test]
    fn bad_values_are_reported_where_they_are() {
        let long = format!("{}@example.org", "b".repeat(40));
        let err =
            parse("[bounce]\nthreshold = -1\nwindow = \"soon\"\nverp = true\nmood = \"grumpy\"\n")
                .unwrap_err();
        insta::assert_snapshot!(err);
        let err = parse("[bounce]\nthreshold = inf\nwindow = \"0d\"").unwrap_err();
        insta::assert_snapshot!("zero_and_infinite", err);
        let text = BUNDLED_CONFIG.replace(
            "# return_path  = \"bounces@example.org\"",
            &format!("return_path = \"{long}\""),
        );
        let err = Settings::parse(
            &format!("{text}\n[bounce]\nverp = true\n"),
            Path::new("p.toml"),
            Path::new("."),
            ConfigOrigin::Bundled,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("bounce.verp: a VERP sender built on"),
            "{err}"
        );
    }
}
