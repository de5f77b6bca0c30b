//! `paperwire serve`: the one-click unsubscribe endpoint (RFC 8058) and a local preview.
//!
//! Mail clients and providers POST `List-Unsubscribe=One-Click` to the link in the
//! `List-Unsubscribe` header; people who click the link in the footer get a page with a confirm
//! button, because mail scanners fetch links and a GET must never unsubscribe. The token in the
//! link (see [`crate::subscribers::token`]) is checked in constant time. The unsubscribe is
//! appended to the list's change log and answered once it is on disk, so a burst of clicks
//! after an edition never waits for a rewrite of the list; a thread folds the log into the list
//! when the server has been idle a moment (see [`crate::subscribers::FoldPolicy`]).
//!
//! With `[archive] dir` set it also serves the web archive under `/archive/` (see
//! [`crate::archive::http`]).
//!
//! Readers' own pages — signup with double opt-in and the preference page every digest links
//! to — live in [`self_service`] and its siblings, and write the list through the same change
//! log writer. Every page a reader sees, the one-click confirm page and its answers included, is
//! one of the family [`crate::render::pages`] renders, sent with the same security headers.
//!
//! The server listens on loopback by default and is meant to sit behind an HTTPS reverse proxy
//! that exposes only `/subscribe`, `/confirm`, `/preferences`, `/unsubscribe` (and `/archive/`).
//! It caps request bodies, and times out slow clients: while sending headers, while the request
//! is handled, and over a connection's whole life.

pub mod changes;
mod for_you_form;
pub mod limits;
mod mailer;
mod preferences;
mod reads;
mod respond;
pub mod self_service;
mod signup;

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequest, Multipart, RawQuery, Request, State,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower_http::add_extension::AddExtension;
use tower_http::timeout::TimeoutLayer;

pub use self_service::SelfService;

use respond::Look;

use crate::render::pages::{Page, Pages};
use crate::subscribers::token::{self, TokenError};
use crate::subscribers::{Change, ChangeWriter, FoldPolicy, SubscriberEmail, SubscriberStore};

/// The largest request body accepted (the one-click body is 26 bytes).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// The default listen address: loopback only.
pub const DEFAULT_LISTEN: &str = crate::config::DEFAULT_LISTEN;

/// Renders the current digest as an HTML page for `GET /`; an error is shown as a 500 page.
pub type PreviewFn = Arc<dyn Fn() -> PreviewFuture + Send + Sync>;
/// What a [`PreviewFn`] returns: the page, or why there is none.
pub type PreviewFuture = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;

/// What the endpoints need.
#[derive(Clone)]
pub struct ServeContext {
    pub store: SubscriberStore,
    /// `PAPERWIRE_SECRET`, the key of the unsubscribe tokens.
    pub secret: Arc<[u8]>,
    /// `newsletter.list_id`, the tokens' scope.
    pub list_id: String,
    /// `newsletter.title`, for the pages.
    pub title: String,
    pub preview: PreviewFn,
    /// `archive.dir`: served under `/archive/` when set.
    pub archive: Option<std::path::PathBuf>,
}

/// How long slow clients get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// To send the request line and headers.
    pub header_read_timeout: Duration,
    /// To send the body and get the answer.
    pub request_timeout: Duration,
    /// For a whole (keep-alive) connection.
    pub connection_lifetime: Duration,
    /// For requests in flight to finish after shutdown was asked for.
    pub shutdown_grace: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(15),
            connection_lifetime: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// What the handlers share: the context, the writer of the list's change log, and the pages
/// every answer is rendered with.
#[derive(Clone)]
struct AppState {
    context: ServeContext,
    changes: ChangeWriter,
    pages: Arc<Pages>,
}

impl Look for AppState {
    fn pages(&self) -> &Pages {
        &self.pages
    }
    fn title(&self) -> &str {
        &self.context.title
    }
}

/// The routes: `GET /` (preview), `GET /unsubscribe` (confirm page), `POST /unsubscribe`, and
/// `GET /archive/…` when there is an archive directory.
pub fn router(context: ServeContext, limits: ServeLimits) -> Router {
    router_with_policy(context, limits, FoldPolicy::default())
}

/// [`router`], folding the change log into the list as `policy` says.
pub fn router_with_policy(
    context: ServeContext,
    limits: ServeLimits,
    policy: FoldPolicy,
) -> Router {
    let changes = ChangeWriter::folding(context.store.clone(), policy);
    router_with(context, changes, None, limits)
}

/// [`router`] appending through `changes` (the writer of `context.store`'s change log), and the
/// readers' own pages when given: `GET/POST /subscribe`, `GET/POST /confirm` and
/// `GET/POST /preferences` ([`self_service`]). Give those pages a
/// [`changes::LogChanges`] on the same writer, so that every change the server makes goes
/// through one writer and one folding thread.
pub fn router_with(
    context: ServeContext,
    changes: ChangeWriter,
    self_service: Option<SelfService>,
    limits: ServeLimits,
) -> Router {
    // The one-click pages look like the readers' other pages: the same templates (the
    // operator's, through the readers' pages when there are any).
    let pages = self_service.as_ref().map_or_else(
        || Arc::new(Pages::load(None).expect("the built-in page templates compile")),
        |s| Arc::clone(&s.pages),
    );
    let archive = context.archive.clone();
    let state = AppState {
        context,
        changes,
        pages,
    };
    let mut app = Router::new()
        .route("/", get(preview))
        .route("/unsubscribe", get(confirm_page).post(unsubscribe))
        .with_state(state);
    if let Some(dir) = archive {
        app = app.merge(crate::archive::http::routes(dir));
    }
    if let Some(service) = self_service {
        app = app.merge(
            Router::new()
                .route("/subscribe", get(signup::form).post(signup::submit))
                .route("/confirm", get(signup::confirm_page).post(signup::confirm))
                .route(
                    "/preferences",
                    get(preferences::show).post(preferences::save),
                )
                .with_state(service),
        );
    }
    app.layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
}

/// Serves `app` on `listener` until `shutdown` completes, then lets requests in flight finish
/// (up to `limits.shutdown_grace`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut shutdown = pin!(shutdown);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // The peer's address, for the rate limits ([`ConnectInfo`] is what axum reads).
        let service = TowerToHyperService::new(AddExtension::new(app.clone(), ConnectInfo(peer)));
        connections.spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            let connection = http.serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(limits.connection_lifetime, connection).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!("connection ended: {e}"),
                Err(_) => tracing::debug!("closed a connection that outlived its time limit"),
            }
        });
    }
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::info!("closing connections still open after the shutdown grace period");
    }
}

async fn preview(State(app): State<AppState>) -> Response {
    match (app.context.preview)().await {
        Ok(html) => (
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            axum::response::Html(html),
        )
            .into_response(),
        Err(message) => respond::message(
            &app,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Preview failed",
            &[&message],
        ),
    }
}

/// Why a request is turned away: becomes a page of the family with this status.
struct Refusal {
    status: StatusCode,
    heading: &'static str,
    why: String,
}

impl Refusal {
    fn new(status: StatusCode, heading: &'static str, why: impl Into<String>) -> Self {
        Self {
            status,
            heading,
            why: why.into(),
        }
    }

    fn respond(&self, app: &AppState) -> Response {
        respond::message(app, self.status, self.heading, &[&self.why])
    }
}

/// The address in the request's `token`, or why there is none.
fn checked_token(context: &ServeContext, query: Option<&str>) -> Result<SubscriberEmail, Refusal> {
    let token = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    let Some(token) = token else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "Broken link",
            "This unsubscribe link has no token. Please use the link from the email.",
        ));
    };
    token::verify(&context.secret, &context.list_id, &token).map_err(|e| {
        // A link signed for another page (preferences, a signup confirmation) is forbidden
        // here, not garbled.
        let other_purpose =
            crate::subscribers::links::purpose_of(&context.secret, &context.list_id, &token)
                .is_some();
        let status = match e {
            TokenError::Malformed(_) if !other_purpose => StatusCode::BAD_REQUEST,
            TokenError::Malformed(_) | TokenError::BadSignature => StatusCode::FORBIDDEN,
        };
        Refusal::new(
            status,
            "Broken link",
            format!(
                "{}. Please use the link from the email, or reply to it to be removed by hand.",
                capitalized(&e.to_string())
            ),
        )
    })
}

/// `text` with its first letter in upper case.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// `GET /unsubscribe`: a confirm button that POSTs to the same URL. Never unsubscribes.
async fn confirm_page(State(app): State<AppState>, RawQuery(query): RawQuery) -> Response {
    match checked_token(&app.context, query.as_deref()) {
        Ok(email) => respond::page(
            &app,
            StatusCode::OK,
            &Page::Unsubscribe {
                email: email.to_string(),
            },
        ),
        Err(refusal) => refusal.respond(&app),
    }
}

/// `POST /unsubscribe`: appends the unsubscribe to the change log and answers 200 once it is on
/// disk (no redirect, no cookie); 503 with `Retry-After` when it could not be written. An
/// address that is not on the list is kept as a suppression.
async fn unsubscribe(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Response {
    let email = match checked_token(&app.context, query.as_deref()) {
        Ok(email) => email,
        Err(refusal) => return refusal.respond(&app),
    };
    if let Err(refusal) = check_one_click_body(request).await {
        return refusal.respond(&app);
    }
    match app.changes.append(Change::unsubscribe(email.clone())).await {
        Ok(()) => {
            tracing::info!(%email, "unsubscribed");
            let done = format!("{email} will get no more {}.", app.context.title);
            respond::message(&app, StatusCode::OK, "Unsubscribed", &[&done])
        }
        Err(e) => {
            tracing::error!(%email, "could not record an unsubscribe: {e}");
            respond::try_again(&app)
        }
    }
}

/// Accepts the RFC 8058 body `List-Unsubscribe=One-Click` (urlencoded or multipart), or an
/// empty body; anything else is a 400.
async fn check_one_click_body(request: Request) -> Result<(), Refusal> {
    let content_type = content_type(request.headers());
    let wrong_body = || {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "Unexpected request",
            "An unsubscribe request carries List-Unsubscribe=One-Click.",
        )
    };
    let unreadable = |status: StatusCode, e: &dyn std::fmt::Display| {
        Refusal::new(status, "Unreadable request", e.to_string())
    };
    if content_type == "multipart/form-data" {
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| unreadable(e.status(), &e))?;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| unreadable(e.status(), &e))?
        {
            if field.name() == Some("List-Unsubscribe") {
                let value = field.text().await.map_err(|e| unreadable(e.status(), &e))?;
                return if value.trim() == "One-Click" {
                    Ok(())
                } else {
                    Err(wrong_body())
                };
            }
        }
        return Err(wrong_body());
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request too large",
                "The request body is too large.",
            )
        })?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let one_click = url::form_urlencoded::parse(body.trim_ascii())
        .any(|(k, v)| k == "List-Unsubscribe" && v.trim() == "One-Click");
    if one_click { Ok(()) } else { Err(wrong_body()) }
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reads_as_a_sentence() {
        assert_eq!(
            capitalized("the token is malformed"),
            "The token is malformed"
        );
        assert_eq!(capitalized("ébauche"), "Ébauche");
        assert_eq!(capitalized(""), "");
    }
}
