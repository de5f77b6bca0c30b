//! `[for_you]` in `paperwire.toml`: where the papers readers liked are looked up when no
//! earlier edition has them.
//!
//! ```toml
//! [for_you]
//! arxiv_api = "https://export.arxiv.org/api/query"   # tests point it at 127.0.0.1
//! ```

use serde::Deserialize;
use toml::Spanned;

/// `[for_you]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawForYou {
    #[serde(default)]
    arxiv_api: Option<Spanned<String>>,
}

/// `[for_you]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForYouSettings {
    /// The arXiv API endpoint liked papers are looked up on (`id_list=…`).
    pub arxiv_api: String,
}

/// Checks `[for_you]`; a problem goes to `bad` with its byte offset.
pub(super) fn check(raw: &RawForYou, bad: &mut dyn FnMut(usize, String)) -> Option<ForYouSettings> {
    let arxiv_api = match &raw.arxiv_api {
        None => super::DEFAULT_ARXIV_API_URL.to_owned(),
        Some(u) if crate::paper::HttpUrl::parse(u.get_ref()).is_ok() => u.get_ref().clone(),
        Some(u) => {
            bad(
                u.span().start,
                format!("for_you.arxiv_api `{}` is not an http(s) URL", u.get_ref()),
            );
            return None;
        }
    };
    Some(ForYouSettings { arxiv_api })
}
