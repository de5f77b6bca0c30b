//! How every page `serve` shows a reader answers — signup, preferences and the one-click
//! unsubscribe alike: a page of one family ([`crate::render::pages`]), rendered, with the headers
//! that keep it safe.
//!
//! Every answer is `no-store` (a page holds a personal link), sends no referrer (the token is in
//! the URL), may not be framed, and has a Content-Security-Policy that allows no script at all,
//! no outside resource, and only the page's own `<style>` blocks — named by their SHA-256, so
//! not even an injected style attribute would apply.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::render::pages::{Page, Pages};

/// What a handler's state gives the pages: the compiled templates and the newsletter's title.
pub(super) trait Look {
    fn pages(&self) -> &Pages;
    fn title(&self) -> &str;
}

/// A page of the family, rendered, with `status`.
pub(super) fn page(look: &impl Look, status: StatusCode, page: &Page) -> Response {
    match look.pages().page(look.title(), page) {
        Ok(html) => html_response(status, html),
        Err(e) => {
            tracing::error!("cannot render a page: {e}");
            let mut response = Response::new(Body::from("The page could not be shown.\n"));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            secure(&mut response, "default-src 'none'; frame-ancestors 'none'");
            response
        }
    }
}

/// A short answer: heading and paragraphs.
pub(super) fn message(
    look: &impl Look,
    status: StatusCode,
    heading: &str,
    paragraphs: &[&str],
) -> Response {
    page(look, status, &Page::message(heading, paragraphs))
}

/// `429 Too Many Requests`, with `Retry-After`.
pub(super) fn too_many(look: &impl Look, retry_after: std::time::Duration) -> Response {
    let minutes = retry_after.as_secs().div_ceil(60).max(1);
    let mut response = message(
        look,
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests",
        &[&format!(
            "Too many requests came from your network. Please try again in {minutes} {}.",
            if minutes == 1 { "minute" } else { "minutes" }
        )],
    );
    let seconds = retry_after.as_secs().max(1).to_string();
    if let Ok(value) = HeaderValue::from_str(&seconds) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// `503`, asking to try again in a minute (the change could not be recorded, or the list is
/// busy or broken).
pub(super) fn try_again(look: &impl Look) -> Response {
    let mut response = message(
        look,
        StatusCode::SERVICE_UNAVAILABLE,
        "Please try again",
        &["Your request could not be recorded just now. Please try again in a minute."],
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    response
}

fn html_response(status: StatusCode, html: String) -> Response {
    let policy = format!(
        "default-src 'none'; style-src {}; img-src 'self' data:; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
        style_sources(&html)
    );
    let mut response = Response::new(Body::from(html));
    *response.status_mut() = status;
    secure(&mut response, &policy);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

fn secure(response: &mut Response, policy: &str) {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Ok(value) = HeaderValue::from_str(policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// `'sha256-…'` for each `<style>` element's text in `html`, or `'none'` when there is none.
fn style_sources(html: &str) -> String {
    let mut sources = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find("<style") {
        let after = &rest[open..];
        let Some(body_start) = after.find('>').map(|i| i + 1) else {
            break;
        };
        let Some(body_len) = after[body_start..].find("</style>") else {
            break;
        };
        let css = &after[body_start..body_start + body_len];
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(css));
        sources.push(format!("'sha256-{hash}'"));
        rest = &after[body_start + body_len..];
    }
    if sources.is_empty() {
        "'none'".to_owned()
    } else {
        sources.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_style_block_is_named_by_its_hash() {
        let html = "<style>a{color:red}</style><p></p><style media=\"x\">\nb{}\n</style>";
        let sources = style_sources(html);
        let expect = |css: &str| {
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(Sha256::digest(css))
            )
        };
        assert_eq!(
            sources,
            format!("{} {}", expect("a{color:red}"), expect("\nb{}\n"))
        );
        assert_eq!(style_sources("<p>no style</p>"), "'none'");
    }
}
