//! Readers help themselves: the signup form with double opt-in (`/subscribe`, `/confirm`) and
//! the preference page linked from every digest (`/preferences`).
//!
//! Server-rendered HTML forms, no JavaScript, no cookies. Nothing changes on a GET (mail
//! scanners follow links); every change is a POST carrying a link signed for that purpose
//! ([`crate::subscribers::links`]), and goes through [`SubscriberChanges`]. Requests are
//! limited per client address and confirmation messages per email address, in bounded memory
//! ([`super::limits`]). The client address is the TCP peer's, or, with `serve.trust_proxy`, the
//! last `X-Forwarded-For` entry (the one the proxy itself added).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::changes::SubscriberChanges;
use super::limits::{Decision, Limits};
use super::mailer::Mailer;
use super::respond::{self, Look};
use crate::config::Settings;
use crate::deliver::transport::TransportSpec;
use crate::render::RenderError;
use crate::render::pages::Pages;
use crate::subscribers::MailFormat;
use crate::subscribers::links::LinkError;

/// What the reader-facing pages need.
#[derive(Clone)]
pub struct SelfService {
    pub settings: Arc<Settings>,
    /// `PAPERWIRE_SECRET`: the links' keys derive from it.
    pub secret: Arc<[u8]>,
    pub changes: Arc<dyn SubscriberChanges>,
    pub pages: Arc<Pages>,
    /// Sends signup confirmations; `None` when signup is off.
    pub mailer: Option<Mailer>,
    pub limits: Arc<Limits>,
}

impl std::fmt::Debug for SelfService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfService")
            .field("signup", &self.settings.serve.signup)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Look for SelfService {
    fn pages(&self) -> &Pages {
        &self.pages
    }
    fn title(&self) -> &str {
        &self.settings.newsletter.title
    }
}

impl SelfService {
    /// The pages of `settings` (templates from `templates.dir`, limits from `[serve]`); when
    /// signup is on, confirmations go out through `transport` (started on the current tokio
    /// runtime).
    pub fn new(
        settings: Arc<Settings>,
        secret: Arc<[u8]>,
        changes: Arc<dyn SubscriberChanges>,
        transport: TransportSpec,
    ) -> Result<Self, RenderError> {
        let pages = Pages::load(settings.templates_dir.as_deref())?;
        let limits = Limits::new(
            settings.serve.signups_per_client,
            settings.serve.confirmations_per_address,
        );
        let mailer = settings.serve.signup.then(|| Mailer::start(transport));
        Ok(Self {
            settings,
            secret,
            changes,
            pages: Arc::new(pages),
            mailer,
            limits: Arc::new(limits),
        })
    }

    /// Uses these limits instead of the configured ones (tests of the tables' bounds).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = Arc::new(limits);
        self
    }

    /// The section names, in config order.
    pub(super) fn sections(&self) -> Vec<&str> {
        self.settings.section_names()
    }

    pub(super) fn list_id(&self) -> &str {
        &self.settings.newsletter.list_id
    }

    /// The answer to any request for the signup pages while signup is off.
    pub(super) fn closed(&self) -> Response {
        respond::message(
            self,
            StatusCode::NOT_FOUND,
            "Signup is closed",
            &["This newsletter does not take signups on the web."],
        )
    }

    /// Counts a request to the token pages from `client`; the answer when it is one too many.
    pub(super) fn limit_token_pages(&self, client: ClientIp) -> Option<Response> {
        let key = super::limits::client_key(client.0);
        match self
            .limits
            .token_pages
            .check(&key, std::time::Instant::now())
        {
            Decision::Allow => None,
            Decision::Limited(wait) => Some(respond::too_many(self, wait)),
            Decision::Full => Some(respond::too_many(self, std::time::Duration::from_secs(60))),
        }
    }

    /// The 403 page for a link that did not verify, saying why in words a reader can act on.
    pub(super) fn refused(&self, error: &LinkError, other_purpose: bool) -> Response {
        let why = match error {
            _ if other_purpose => "This link is meant for another page.",
            LinkError::Expired => "This link has expired. Please sign up again.",
            LinkError::Malformed(_) | LinkError::BadSignature => {
                "This link is not one of ours, or part of it is missing. Please use the link from the email as it is."
            }
        };
        let mut page = crate::render::pages::Page::message("This link does not work", &[why]);
        if matches!(error, LinkError::Expired) && self.settings.serve.signup {
            page = page.with_link("subscribe", "Sign up again");
        }
        respond::page(self, StatusCode::FORBIDDEN, &page)
    }
}

/// The client's address: the TCP peer, or with `serve.trust_proxy` the last `X-Forwarded-For`
/// entry (earlier entries are whatever the client sent, so they prove nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// From the peer's address and the request's headers.
    pub fn of(peer: Option<SocketAddr>, headers: &HeaderMap, trust_proxy: bool) -> Self {
        let forwarded = trust_proxy
            .then(|| {
                headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .next_back()
                    .and_then(parse_forwarded_ip)
            })
            .flatten();
        Self(forwarded.unwrap_or_else(|| {
            // Without a peer (a router driven by hand), everyone shares one key.
            peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.ip())
        }))
    }
}

/// `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]:443` or `192.0.2.1:443`.
fn parse_forwarded_ip(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim();
    raw.parse::<IpAddr>()
        .ok()
        .or_else(|| raw.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

impl FromRequestParts<SelfService> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        service: &SelfService,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(Self::of(
            peer,
            &parts.headers,
            service.settings.serve.trust_proxy,
        ))
    }
}

/// The `token` of a query string.
pub(super) fn token(query: Option<&str>) -> Option<String> {
    query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    })
}

/// The fields of a form POST (`application/x-www-form-urlencoded`), in order; repeated names
/// stay repeated. Anything else is a 415.
pub(super) fn form_fields(
    service: &SelfService,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, Box<Response>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if content_type != "application/x-www-form-urlencoded" && !body.is_empty() {
        return Err(Box::new(respond::message(
            service,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unexpected request",
            &["Please use the form on the page."],
        )));
    }
    Ok(url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

/// The first value of `name`, or "".
pub(super) fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Every value of `name`.
pub(super) fn fields<'a>(fields: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The topics as the config spells them, in config order, each checked by the CLI's rule
/// ([`crate::subscribers::check_topic`]); the first unknown one is the error.
pub(super) fn checked_topics(chosen: &[&str], sections: &[&str]) -> Result<Vec<String>, String> {
    let mut known = Vec::new();
    for t in chosen {
        known.push(crate::subscribers::check_topic(t, sections)?);
    }
    Ok(sections
        .iter()
        .filter(|s| known.contains(s))
        .map(|s| (*s).to_owned())
        .collect())
}

/// `html` or `text`; nothing given is `html`.
pub(super) fn checked_format(raw: &str) -> Result<MailFormat, String> {
    match raw.trim() {
        "" => Ok(MailFormat::Html),
        other => other.parse(),
    }
}

/// How the pages name a format.
pub(super) fn format_label(format: MailFormat) -> &'static str {
    match format {
        MailFormat::Html => "Formatted, with a plain-text copy",
        MailFormat::Text => "Plain text only",
    }
}

/// How the pages name a choice of topics.
pub(super) fn topics_label(topics: &[String]) -> String {
    if topics.is_empty() {
        "Every section".to_owned()
    } else {
        topics.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_the_peer_unless_the_proxy_is_trusted() {
        let peer: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.append(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().unwrap(),
        );
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(ClientIp::of(Some(peer), &headers, false).0, ip("10.0.0.1"));
        // The last entry is the one the proxy added; the first is the client's say-so.
        assert_eq!(
            ClientIp::of(Some(peer), &headers, true).0,
            ip("198.51.100.7")
        );
        headers.append("x-forwarded-for", "[2001:db8::5]:443".parse().unwrap());
        assert_eq!(
            ClientIp::of(Some(peer), &headers, true).0,
            ip("2001:db8::5")
        );
        let mut garbage = HeaderMap::new();
        garbage.insert("x-forwarded-for", "unknown".parse().unwrap());
        assert_eq!(ClientIp::of(Some(peer), &garbage, true).0, ip("10.0.0.1"));
        assert_eq!(ClientIp::of(None, &HeaderMap::new(), true).0, ip("0.0.0.0"));
    }

    #[test]
    fn topics_follow_the_cli_rules_and_the_config_order() {
        let sections = ["Graphs", "Vision", "More papers"];
        assert_eq!(
            checked_topics(&["Vision", " Graphs ", "Vision"], &sections).unwrap(),
            ["Graphs", "Vision"]
        );
        assert!(
            checked_topics(&["graphs"], &sections)
                .unwrap_err()
                .contains("did you mean `Graphs`")
        );
        assert!(checked_topics(&["Cooking"], &sections).is_err());
        assert_eq!(checked_format("").unwrap(), MailFormat::Html);
        assert_eq!(checked_format("text").unwrap(), MailFormat::Text);
        assert!(checked_format("pdf").is_err());
    }
}
