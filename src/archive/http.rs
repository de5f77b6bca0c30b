//! `GET /archive/…` for `paperwire serve`: the archive directory over HTTP, and nothing outside
//! it.
//!
//! A request path is percent-decoded once and then taken apart segment by segment: `..`, `.`,
//! empty segments (`//`, a leading `/` after decoding), backslashes, NUL, `%` left after
//! decoding (double encoding) and names starting with a dot are refused with a 404, whatever
//! encoding they arrived in. What is left is resolved with the file system (so a symlink is
//! followed) and served only if the real path is a regular file inside the real archive
//! directory. Files are served by tower-http's `ServeFile` (conditional requests, ranges,
//! `HEAD`), with the content types and cache lifetimes set here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::services::ServeFile;

/// Where the archive is mounted.
pub const PREFIX: &str = "/archive";

/// Seconds browsers and proxies may keep a page that changes when the next edition comes out
/// (listings, the feed, an edition's page: its "next" link).
const MAX_AGE_LISTING: u32 = 300;
/// Seconds for anything else (images and the like).
const MAX_AGE_OTHER: u32 = 3600;

/// The routes `/archive`, `/archive/` and `/archive/{*path}`, serving files from `dir`.
pub fn routes<S>(dir: PathBuf) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let dir: Arc<Path> = Arc::from(dir);
    let handler = move |request: Request| {
        let dir = Arc::clone(&dir);
        async move { serve(&dir, request).await }
    };
    Router::new()
        .route(PREFIX, get(handler.clone()))
        .route(&format!("{PREFIX}/"), get(handler.clone()))
        .route(&format!("{PREFIX}/{{*path}}"), get(handler))
}

/// Answers one request for a file under `root`.
pub async fn serve(root: &Path, request: Request) -> Response {
    let Some(rest) = request.uri().path().strip_prefix(PREFIX) else {
        return not_found();
    };
    let Some(rest) = rest.strip_prefix('/') else {
        // `/archive` itself: the pages' relative links need the trailing slash.
        return redirect("archive/");
    };
    let Some(segments) = checked_segments(rest) else {
        return not_found();
    };
    let mut path = root.to_path_buf();
    path.extend(&segments);
    let Some(file) = resolve(root, &path, rest.is_empty() || rest.ends_with('/')) else {
        return not_found();
    };
    let file = match file {
        Resolved::File(f) => f,
        Resolved::Directory => {
            let last = segments.last().map_or("archive", String::as_str);
            return redirect(&format!("{last}/"));
        }
    };
    let (content_type, max_age) = kind(&file);
    match ServeFile::new(&file).try_call(request).await {
        Ok(response) => {
            let mut response = response.map(Body::new);
            let headers = response.headers_mut();
            if let Some(t) = content_type {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(t));
            }
            let cache = format!("public, max-age={max_age}");
            if let Ok(v) = HeaderValue::from_str(&cache) {
                headers.insert(header::CACHE_CONTROL, v);
            }
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'none'",
                ),
            );
            response
        }
        Err(e) => {
            tracing::warn!("cannot serve {}: {e}", file.display());
            not_found()
        }
    }
}

/// The decoded segments of a request path below `/archive/`, or `None` when one of them could
/// lead anywhere but to a plain name inside the directory.
fn checked_segments(raw: &str) -> Option<Vec<String>> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    let trimmed = decoded.strip_suffix('/').unwrap_or(&decoded);
    if trimmed.is_empty() {
        return Some(Vec::new());
    }
    trimmed
        .split('/')
        .map(|s| {
            let plain = !s.is_empty() && !s.starts_with('.') && !s.contains(['\\', '\0', '%', ':']);
            plain.then(|| s.to_owned())
        })
        .collect()
}

enum Resolved {
    File(PathBuf),
    /// A directory asked for without its trailing slash.
    Directory,
}

/// The real file `path` names (a directory's `index.html`), if it is a regular file inside the
/// real `root`.
fn resolve(root: &Path, path: &Path, trailing_slash: bool) -> Option<Resolved> {
    let root = std::fs::canonicalize(root).ok()?;
    let real = std::fs::canonicalize(path).ok()?;
    if !real.starts_with(&root) {
        return None;
    }
    let meta = std::fs::metadata(&real).ok()?;
    if meta.is_dir() {
        if !trailing_slash {
            return Some(Resolved::Directory);
        }
        let index = std::fs::canonicalize(real.join("index.html")).ok()?;
        let ok = index.starts_with(&root) && std::fs::metadata(&index).ok()?.is_file();
        return ok.then_some(Resolved::File(index));
    }
    (meta.is_file() && !trailing_slash).then_some(Resolved::File(real))
}

/// The content type to insist on (others are guessed by `ServeFile`) and the cache lifetime.
fn kind(file: &Path) -> (Option<&'static str>, u32) {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    match ext {
        "html" => (Some("text/html; charset=utf-8"), MAX_AGE_LISTING),
        "xml" if name == "feed.xml" => {
            (Some("application/atom+xml; charset=utf-8"), MAX_AGE_LISTING)
        }
        "xml" => (Some("application/xml; charset=utf-8"), MAX_AGE_LISTING),
        "json" => (Some("application/json"), MAX_AGE_LISTING),
        _ => (None, MAX_AGE_OTHER),
    }
}

fn not_found() -> Response {
    let mut response = (
        StatusCode::NOT_FOUND,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        "Not found\n",
    )
        .into_response();
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A permanent redirect to a path relative to the request's (so it holds behind any prefix).
fn redirect(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
        Err(_) => not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_pass() {
        assert_eq!(checked_segments(""), Some(vec![]));
        assert_eq!(
            checked_segments("2026-11-28/index.html"),
            Some(vec!["2026-11-28".into(), "index.html".into()])
        );
        for bad in [
            "..",
            "../paperwire.toml",
            "%2e%2e/paperwire.toml",
            "%2E%2E%2Fpaperwire.toml",
            "..%2fpaperwire.toml",
            "%252e%252e/paperwire.toml",
            "..%5cpaperwire.toml",
            "..\\paperwire.toml",
            "/etc/passwd",
            "%2fetc%2fpasswd",
            "a//b",
            "./index.html",
            ".git/config",
            "a%00b",
            "c:/windows",
            "%ff",
        ] {
            assert_eq!(checked_segments(bad), None, "{bad}");
        }
    }
}
