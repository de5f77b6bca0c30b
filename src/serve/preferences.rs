//! The preference page every digest links to: `GET /preferences` shows a reader's topics,
//! format, cap, pause and "For you" fields (interests, followed authors, liked papers, mutes,
//! the block's size — see [`super::for_you_form`]); `POST /preferences` applies them, or with
//! `action=unsubscribe` unsubscribes.
//!
//! The link is signed for this page only ([`crate::subscribers::links::sign_preferences`]) and
//! does not expire, like the unsubscribe link beside it. The page shows and changes only the
//! address the link names; an address that is no longer subscribed is told so and nothing
//! changes (coming back is a signup of their own).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::changes::{PersonalChoice, Preferences, Unsubscribed};
use super::self_service::{
    ClientIp, SelfService, checked_format, checked_topics, field, fields, form_fields, token,
};
use super::{for_you_form, respond};
use crate::render::pages::{FieldErrors, Page, TopicChoice};
use crate::subscribers::counts::MaxPapers;
use crate::subscribers::links::{self, Purpose};
use crate::subscribers::{MailFormat, Subscriber, SubscriberEmail};

/// The address a `/preferences` link names, or the refusal.
fn verified(service: &SelfService, query: Option<&str>) -> Result<SubscriberEmail, Box<Response>> {
    let Some(token) = token(query) else {
        return Err(Box::new(respond::message(
            service,
            StatusCode::BAD_REQUEST,
            "Broken link",
            &["This link has no token. Please use the link from the email."],
        )));
    };
    links::verify_preferences(&service.secret, service.list_id(), &token).map_err(|e| {
        let other = links::purpose_of(&service.secret, service.list_id(), &token)
            == Some(Purpose::Confirm)
            || crate::subscribers::token::verify(&service.secret, service.list_id(), &token)
                .is_ok();
        Box::new(service.refused(&e, other))
    })
}

/// The page for `subscriber` as the list has it.
fn page_for(subscriber: &Subscriber, sections: &[&str], notice: &str) -> Page {
    let personal = for_you_form::shown(&PersonalChoice::of(subscriber));
    page_with(subscriber, personal, sections, notice)
}

/// The page for `subscriber`, with these "For you" fields.
fn page_with(
    subscriber: &Subscriber,
    personal: crate::render::pages::PersonalFields,
    sections: &[&str],
    notice: &str,
) -> Page {
    Page::Preferences {
        email: subscriber.email.to_string(),
        topics: TopicChoice::all(sections, &subscriber.topics),
        html: subscriber.format == MailFormat::Html,
        max_papers: subscriber
            .max_papers
            .map(|n| n.to_string())
            .unwrap_or_default(),
        paused: subscriber.paused,
        bounced: subscriber.bounced_at.is_some(),
        personal,
        notice: notice.to_owned(),
        error: String::new(),
        errors: Box::default(),
    }
}

/// The reader's current entry when they are subscribed; otherwise the page saying they are not.
async fn current(service: &SelfService, email: &SubscriberEmail) -> Result<Subscriber, Response> {
    match service.changes.lookup(email).await {
        Ok(Some(s)) if s.unsubscribed_at.is_none() => Ok(s),
        Ok(_) => Err(not_subscribed(service, email)),
        Err(e) => {
            tracing::error!(%email, "cannot read the subscriber list: {e:#}");
            Err(respond::try_again(service))
        }
    }
}

fn not_subscribed(service: &SelfService, email: &SubscriberEmail) -> Response {
    let text = format!(
        "{email} is not subscribed to {}, so there is nothing to change.",
        service.settings.newsletter.title
    );
    let mut page = Page::message("Not subscribed", &[&text]);
    if service.settings.serve.signup {
        page = page.with_link("subscribe", "Subscribe");
    }
    respond::page(service, StatusCode::OK, &page)
}

/// `GET /preferences`: the form. Changes nothing.
pub(super) async fn show(
    State(service): State<SelfService>,
    client: ClientIp,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(limited) = service.limit_token_pages(client) {
        return limited;
    }
    let email = match verified(&service, query.as_deref()) {
        Ok(email) => email,
        Err(refusal) => return *refusal,
    };
    match current(&service, &email).await {
        Ok(subscriber) => {
            let page = page_for(&subscriber, &service.sections(), "");
            respond::page(&service, StatusCode::OK, &page)
        }
        Err(response) => response,
    }
}

/// What is wrong with a form: the form as a whole (a choice the page does not offer), or the
/// typed fields, each in its place.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    Form(String),
    Fields(Box<FieldErrors>),
}

impl From<String> for Refusal {
    fn from(message: String) -> Self {
        Self::Form(message)
    }
}

/// What the form asks for, or what is wrong with it (every typed field that is wrong).
fn check(pairs: &[(String, String)], sections: &[&str]) -> Result<Preferences, Refusal> {
    let topics = checked_topics(&fields(pairs, "topics"), sections)?;
    let format = checked_format(field(pairs, "format"))?;
    let paused = match field(pairs, "paused") {
        "" => false,
        "1" | "on" | "true" => true,
        _ => return Err(Refusal::Form("Unexpected value for the pause box.".into())),
    };
    let mut problems = FieldErrors::default();
    let max_papers = match field(pairs, "max_papers").trim() {
        "" => None,
        raw => raw.parse::<MaxPapers>().map(Some).unwrap_or_else(|_| {
            problems.max_papers = format!(
                "The most papers per email must be a whole number from {} to {}, or empty.",
                MaxPapers::MIN,
                MaxPapers::MAX
            );
            None
        }),
    };
    let personal = for_you_form::check(&for_you_form::typed(pairs), &mut problems);
    let (Some(personal), 0) = (personal, problems.count()) else {
        return Err(Refusal::Fields(Box::new(problems)));
    };
    Ok(Preferences {
        topics,
        format,
        max_papers,
        paused,
        personal,
    })
}

/// `POST /preferences`: saves the form, or unsubscribes with `action=unsubscribe`.
pub(super) async fn save(
    State(service): State<SelfService>,
    client: ClientIp,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(limited) = service.limit_token_pages(client) {
        return limited;
    }
    let email = match verified(&service, query.as_deref()) {
        Ok(email) => email,
        Err(refusal) => return *refusal,
    };
    let pairs = match form_fields(&service, &headers, &body) {
        Ok(pairs) => pairs,
        Err(response) => return *response,
    };
    match field(&pairs, "action") {
        "unsubscribe" => unsubscribe(&service, &email).await,
        "" | "save" => apply(&service, &email, &pairs).await,
        _ => respond::message(
            &service,
            StatusCode::BAD_REQUEST,
            "Unexpected request",
            &["Please use the buttons on the page."],
        ),
    }
}

async fn apply(
    service: &SelfService,
    email: &SubscriberEmail,
    pairs: &[(String, String)],
) -> Response {
    let subscriber = match current(service, email).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let sections = service.sections();
    let choice = match check(pairs, &sections) {
        Ok(choice) => choice,
        Err(refusal) => {
            // Show what they tried, with what is wrong, each problem next to its field.
            let (error, errors) = match refusal {
                Refusal::Form(message) => (message, Box::default()),
                Refusal::Fields(errors) => (
                    match errors.count() {
                        1 => "Nothing was saved: one field needs a change (see below).".to_owned(),
                        n => format!("Nothing was saved: {n} fields need a change (see below)."),
                    },
                    errors,
                ),
            };
            let typed: Vec<String> = fields(pairs, "topics")
                .iter()
                .map(|t| t.trim().to_owned())
                .collect();
            let page = Page::Preferences {
                email: email.to_string(),
                topics: TopicChoice::all(&sections, &typed),
                html: field(pairs, "format") != "text",
                max_papers: field(pairs, "max_papers").to_owned(),
                paused: !field(pairs, "paused").is_empty(),
                bounced: subscriber.bounced_at.is_some(),
                personal: for_you_form::typed(pairs),
                notice: String::new(),
                error,
                errors,
            };
            return respond::page(service, StatusCode::BAD_REQUEST, &page);
        }
    };
    match service
        .changes
        .update_preferences(&subscriber, &choice)
        .await
    {
        Ok(changed) => {
            if changed {
                tracing::info!(%email, "preferences changed");
            }
            let personal = for_you_form::shown(&choice.personal);
            let updated = Subscriber {
                topics: choice.topics.into(),
                format: choice.format,
                max_papers: choice.max_papers.map(MaxPapers::get),
                paused: choice.paused,
                ..subscriber
            };
            let notice = if updated.bounced_at.is_some() {
                "Saved."
            } else if updated.paused {
                "Saved. Your emails are paused until you untick the box."
            } else {
                "Saved. The next edition follows these choices."
            };
            respond::page(
                service,
                StatusCode::OK,
                &page_with(&updated, personal, &sections, notice),
            )
        }
        Err(e) => {
            tracing::error!(%email, "could not save preferences: {e:#}");
            respond::try_again(service)
        }
    }
}

async fn unsubscribe(service: &SelfService, email: &SubscriberEmail) -> Response {
    let current = match service.changes.lookup(email).await {
        Ok(Some(current)) => current,
        Ok(None) => return not_subscribed(service, email),
        Err(e) => {
            tracing::error!(%email, "cannot read the subscriber list: {e:#}");
            return respond::try_again(service);
        }
    };
    match service.changes.unsubscribe(&current).await {
        Ok(outcome) => {
            if outcome == Unsubscribed::Now {
                tracing::info!(%email, "unsubscribed from the preference page");
            }
            let text = format!(
                "{email} will get no more {}.",
                service.settings.newsletter.title
            );
            let mut page = Page::message("Unsubscribed", &[&text]);
            if service.settings.serve.signup {
                page = page.with_link("subscribe", "Changed your mind? Subscribe again");
            }
            respond::page(service, StatusCode::OK, &page)
        }
        Err(e) => {
            tracing::error!(%email, "could not unsubscribe: {e:#}");
            respond::try_again(service)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_form_reads_into_checked_preferences() {
        let sections = ["Graphs", "Vision"];
        let p = check(
            &pairs(&[
                ("topics", "Vision"),
                ("format", "text"),
                ("max_papers", " 12 "),
                ("paused", "1"),
            ]),
            &sections,
        )
        .unwrap();
        assert_eq!(
            p,
            Preferences {
                topics: vec!["Vision".into()],
                format: MailFormat::Text,
                max_papers: MaxPapers::new(12).ok(),
                paused: true,
                personal: PersonalChoice::default(),
            }
        );
        let everything = check(&pairs(&[("max_papers", "")]), &sections).unwrap();
        assert!(everything.topics.is_empty() && everything.max_papers.is_none());
        assert!(!everything.paused);
        for bad in [
            pairs(&[("max_papers", "0")]),
            pairs(&[("max_papers", "1001")]),
            pairs(&[("max_papers", "ten")]),
            pairs(&[("topics", "Cooking")]),
            pairs(&[("format", "pdf")]),
            pairs(&[("paused", "maybe")]),
        ] {
            assert!(check(&bad, &sections).is_err(), "{bad:?}");
        }
    }
}
