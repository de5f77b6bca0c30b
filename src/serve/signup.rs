//! Signup with double opt-in: `GET /subscribe` (the form), `POST /subscribe` (asks for a
//! confirmation), `GET /confirm` (what will be subscribed, and a button) and `POST /confirm`
//! (the button: the reader is added).
//!
//! `POST /subscribe` never reads the list and always answers the same "check your inbox" page,
//! so it tells nobody whether an address is subscribed. Only the address's own inbox gets the
//! link that adds it, signed and dated ([`crate::subscribers::links::SignupRequest`]); a
//! honeypot field, a limit per client and a limit of confirmation messages per address keep the
//! form from being used to flood someone's inbox.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::changes::Confirmed;
use super::limits::{Decision, client_key};
use super::mailer::Outgoing;
use super::respond;
use super::self_service::{
    ClientIp, SelfService, checked_format, checked_topics, field, fields, form_fields,
    format_label, token, topics_label,
};
use crate::render::pages::{ConfirmMessage, Page, TopicChoice};
use crate::subscribers::links::{self, LinkError, Purpose, SignupRequest};
use crate::subscribers::{MailFormat, SubscriberEmail};

/// The longest name accepted.
const MAX_NAME_CHARS: usize = 100;
/// The longest address accepted (RFC 5321's path limit).
const MAX_EMAIL_CHARS: usize = 254;
/// The honeypot: a field people never see, so never fill.
const TRAP_FIELD: &str = "leave_empty";

/// What was typed into the form, for showing it again.
#[derive(Debug, Default)]
struct Typed<'a> {
    email: &'a str,
    name: &'a str,
    topics: Vec<&'a str>,
    format: &'a str,
}

fn form_page(service: &SelfService, typed: &Typed<'_>, error: &str) -> Page {
    let sections = service.sections();
    let chosen: Vec<String> = typed.topics.iter().map(|t| t.trim().to_owned()).collect();
    Page::Subscribe {
        email: typed.email.to_owned(),
        name: typed.name.to_owned(),
        topics: TopicChoice::all(&sections, &chosen),
        html: typed.format.trim() != "text",
        error: error.to_owned(),
    }
}

/// `GET /subscribe`.
pub(super) async fn form(State(service): State<SelfService>) -> Response {
    if !service.settings.serve.signup {
        return service.closed();
    }
    let page = form_page(&service, &Typed::default(), "");
    respond::page(&service, StatusCode::OK, &page)
}

/// The request the form describes, or what is wrong with it.
fn check(
    typed: &Typed<'_>,
    sections: &[&str],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<SignupRequest, String> {
    if typed.email.trim().is_empty() {
        return Err("Please enter your email address.".into());
    }
    if typed.email.len() > MAX_EMAIL_CHARS {
        return Err("That email address is too long.".into());
    }
    let email = SubscriberEmail::parse(typed.email).map_err(|e| format!("{e}."))?;
    let name = typed.name.trim();
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "Please keep the name under {MAX_NAME_CHARS} characters."
        ));
    }
    crate::subscribers::check_name(name).map_err(|e| format!("Please check the name: {e}."))?;
    let topics = checked_topics(&typed.topics, sections)?;
    let format = checked_format(typed.format)?;
    Ok(SignupRequest::new(
        email,
        Some(name.to_owned()),
        topics,
        format,
        now,
    ))
}

/// `POST /subscribe`: checks the form, sends a confirmation (within the limits) and answers
/// "check your inbox" whatever the address.
pub(super) async fn submit(
    State(service): State<SelfService>,
    client: ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !service.settings.serve.signup {
        return service.closed();
    }
    let now = Instant::now();
    match service.limits.signups.check(&client_key(client.0), now) {
        Decision::Allow => {}
        Decision::Limited(wait) => return respond::too_many(&service, wait),
        Decision::Full => {
            return respond::too_many(&service, std::time::Duration::from_secs(300));
        }
    }
    let pairs = match form_fields(&service, &headers, &body) {
        Ok(pairs) => pairs,
        Err(response) => return *response,
    };
    let typed = Typed {
        email: field(&pairs, "email"),
        name: field(&pairs, "name"),
        topics: fields(&pairs, "topics"),
        format: field(&pairs, "format"),
    };
    if !field(&pairs, TRAP_FIELD).is_empty() {
        tracing::info!(client = %client.0, "a signup filled the honeypot field; nothing sent");
        return check_inbox(&service);
    }
    let request = match check(&typed, &service.sections(), chrono::Utc::now()) {
        Ok(request) => request,
        Err(error) => {
            let page = form_page(&service, &typed, &error);
            return respond::page(&service, StatusCode::BAD_REQUEST, &page);
        }
    };
    let email = request.email().clone();
    if service
        .limits
        .confirmations
        .check(email.key().as_bytes(), now)
        .allowed()
    {
        send_confirmation(&service, &request);
    } else {
        tracing::info!(%email, "confirmation limit reached for this address; nothing sent");
    }
    check_inbox(&service)
}

fn check_inbox(service: &SelfService) -> Response {
    respond::message(
        service,
        StatusCode::OK,
        "Check your inbox",
        &[
            "If the address can get email, a message asking you to confirm is on its way.",
            "Open the link in it to start your subscription. Nothing is sent to you until you do.",
        ],
    )
}

/// Renders the confirmation message and queues it for the mailer.
fn send_confirmation(service: &SelfService, request: &SignupRequest) {
    let Some(mailer) = &service.mailer else {
        tracing::error!("signup is on but no transport was given; no confirmation sent");
        return;
    };
    let settings = &service.settings;
    let token = links::sign_confirm(&service.secret, service.list_id(), request);
    let hours = settings.serve.confirm_expiry.as_secs().div_ceil(3600);
    let message = ConfirmMessage {
        name: request.name().unwrap_or("there").to_owned(),
        email: request.email().to_string(),
        topics: topics_label(request.topics()),
        format: format_label(request.format()).to_owned(),
        confirm_url: links::confirm_url(&settings.newsletter.base_url, &token),
        expires: if hours == 1 {
            "1 hour".to_owned()
        } else {
            format!("{hours} hours")
        },
    };
    let built = service
        .pages
        .confirm_message(&settings.newsletter.title, &message)
        .map_err(|e| e.to_string())
        .and_then(|parts| {
            crate::deliver::notice::confirmation(settings, request.email(), request.name(), &parts)
                .map_err(|e| e.to_string())
        });
    match built {
        Ok((envelope, bytes)) => {
            if !mailer.queue(Outgoing { envelope, bytes }) {
                tracing::warn!(email = %request.email(), "the confirmation queue is full; dropped one");
            }
        }
        Err(e) => tracing::error!("cannot build a signup confirmation: {e}"),
    }
}

/// The signup a `/confirm` link carries, or the refusal.
/// The signup request a `/confirm` link carries, once signup is open, the client is within its
/// limit and the link verifies; otherwise the page that says why.
fn confirm_request(
    service: &SelfService,
    client: ClientIp,
    query: Option<&str>,
) -> Result<SignupRequest, Box<Response>> {
    if !service.settings.serve.signup {
        return Err(Box::new(service.closed()));
    }
    if let Some(limited) = service.limit_token_pages(client) {
        return Err(Box::new(limited));
    }
    verified(service, query)
}

fn verified(service: &SelfService, query: Option<&str>) -> Result<SignupRequest, Box<Response>> {
    let Some(token) = token(query) else {
        return Err(Box::new(respond::message(
            service,
            StatusCode::BAD_REQUEST,
            "Broken link",
            &["This link has no token. Please use the link from the email."],
        )));
    };
    links::verify_confirm(
        &service.secret,
        service.list_id(),
        &token,
        chrono::Utc::now(),
        service.settings.serve.confirm_expiry,
    )
    .map_err(|e| {
        let other = !matches!(e, LinkError::Expired)
            && (links::purpose_of(&service.secret, service.list_id(), &token)
                == Some(Purpose::Preferences)
                || crate::subscribers::token::verify(&service.secret, service.list_id(), &token)
                    .is_ok());
        Box::new(service.refused(&e, other))
    })
}

/// `GET /confirm`: shows what will be subscribed, with a button that POSTs. Changes nothing.
pub(super) async fn confirm_page(
    State(service): State<SelfService>,
    client: ClientIp,
    RawQuery(query): RawQuery,
) -> Response {
    let request = match confirm_request(&service, client, query.as_deref()) {
        Ok(request) => request,
        Err(refusal) => return *refusal,
    };
    let page = Page::Confirm {
        email: request.email().to_string(),
        name: request.name().unwrap_or_default().to_owned(),
        topics: topics_label(request.topics()),
        format: format_label(request.format()).to_owned(),
    };
    respond::page(&service, StatusCode::OK, &page)
}

/// `POST /confirm`: adds the reader (idempotent).
pub(super) async fn confirm(
    State(service): State<SelfService>,
    client: ClientIp,
    RawQuery(query): RawQuery,
) -> Response {
    let request = match confirm_request(&service, client, query.as_deref()) {
        Ok(request) => request,
        Err(refusal) => return *refusal,
    };
    let email = request.email().clone();
    match service.changes.add_confirmed(&request).await {
        Ok(Confirmed::Stale) => respond::message(
            &service,
            StatusCode::GONE,
            "This link is out of date",
            &[
                "You unsubscribed after asking for this link, so it no longer adds you.",
                "To come back, please sign up again.",
            ],
        ),
        Ok(outcome) => {
            tracing::info!(%email, ?outcome, "signup confirmed");
            subscribed(&service, &email, request.format())
        }
        Err(e) => {
            tracing::error!(%email, "could not record a confirmed signup: {e:#}");
            respond::try_again(&service)
        }
    }
}

fn subscribed(service: &SelfService, email: &SubscriberEmail, format: MailFormat) -> Response {
    let preferences = links::sign_preferences(&service.secret, service.list_id(), email);
    let kind = match format {
        MailFormat::Html => "email",
        MailFormat::Text => "plain-text email",
    };
    let first = format!(
        "{email} will get {} by {kind} from the next edition on.",
        service.settings.newsletter.title
    );
    // Relative: /confirm and /preferences sit side by side under any prefix.
    let page = Page::message("You are subscribed", &[&first]).with_link(
        &format!("preferences?token={preferences}"),
        "Manage your subscription",
    );
    respond::page(service, StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed<'a>(email: &'a str, name: &'a str, topics: &[&'a str], format: &'a str) -> Typed<'a> {
        Typed {
            email,
            name,
            topics: topics.to_vec(),
            format,
        }
    }

    #[test]
    fn the_form_is_checked_by_the_cli_rules() {
        let sections = ["Graphs", "Vision"];
        let now = chrono::Utc::now();
        let ok = check(
            &typed(" Ada@Example.org ", " Ada ", &["Vision", "Graphs"], "text"),
            &sections,
            now,
        )
        .unwrap();
        assert_eq!(ok.email().as_str(), "Ada@Example.org");
        assert_eq!(ok.name(), Some("Ada"));
        assert_eq!(ok.topics(), ["Graphs", "Vision"]);
        assert_eq!(ok.format(), MailFormat::Text);
        let none = check(&typed("a@b.org", "", &[], ""), &sections, now).unwrap();
        assert_eq!(none.name(), None);
        assert!(none.topics().is_empty());
        assert_eq!(none.format(), MailFormat::Html);
        for (bad, why) in [
            (typed("", "", &[], ""), "enter your email"),
            (
                typed("not an address", "", &[], ""),
                "not a valid email address",
            ),
            (typed("\"a b\"@example.org", "", &[], ""), "quoted"),
            (typed("a@b.org", "Eve\nBcc: x@y.org", &[], ""), "line break"),
            (
                typed("a@b.org", "", &["Cooking"], ""),
                "unknown topic `Cooking`",
            ),
            (typed("a@b.org", "", &[], "pdf"), "unknown format"),
        ] {
            let e = check(&bad, &sections, now).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert!(check(&typed(&long, "", &[], ""), &sections, now).is_err());
        let long_name = "x".repeat(MAX_NAME_CHARS + 1);
        assert!(check(&typed("a@b.org", &long_name, &[], ""), &sections, now).is_err());
    }
}
