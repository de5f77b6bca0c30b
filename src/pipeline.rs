//! One edition from start to finish, and the previews of it: the stages wired together, so that
//! `paperwire send`, the `paperwire run` daemon, `paperwire preview` and `serve`'s `GET /` all go
//! through the same code.
//!
//! An edition run resolves the secret and transport, loads the subscribers, takes the edition's
//! frozen paper list (or fetches one and freezes it), groups it, and hands it to
//! [`crate::deliver::send`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretSlice};
use tokio_util::sync::CancellationToken;

use crate::config::{ConfigError, Settings, TransportKind};
use crate::deliver::transport::{SmtpTls, TransportSpec};
use crate::deliver::{DeliverError, Prepared, Progress, SendRequest};
use crate::diag::{Location, Problems};
use crate::digest::{Digest, without_repeats};
use crate::edition::EditionId;
use crate::render::{EditionInfo, Person, RenderError, Renderer, Templates, VariantSpec};
use crate::source::{self, Loaded, SourceError};
use crate::state::{Report, StateDir, StateError};
use crate::subscribers::{MailFormat, Subscriber, SubscriberEmail, SubscriberError};

/// Why an edition (or a preview) could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Subscribers(#[from] SubscriberError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Deliver(#[from] DeliverError),
    /// A request that cannot be carried out as asked (a flag naming nobody, say).
    #[error("{0}")]
    Invalid(String),
}

/// What to do for one edition.
#[derive(Debug, Clone)]
pub struct EditionRequest {
    pub edition: EditionId,
    /// The local date "today" (for `repeat_after_days`, and the edition's date when its id
    /// is not a date).
    pub today: chrono::NaiveDate,
    /// Use this paper list instead of the configured sources (until the list is frozen).
    pub papers_file: Option<PathBuf>,
    pub dry_run: bool,
    /// Only these subscribers; empty = everyone.
    pub only: Vec<SubscriberEmail>,
    /// Send the one chosen subscriber's exact message to this address, unjournaled.
    pub test_to: Option<lettre::Address>,
    /// Overrides `delivery.transport`.
    pub transport: Option<TransportKind>,
    /// Base of the in-run retry backoff.
    pub retry_base: Duration,
}

/// How an edition run ended.
#[derive(Debug, Clone)]
pub enum EditionOutcome {
    Sent(Report),
    /// Nothing to send (no papers today, or none left after leaving out repeats): why.
    NothingToSend(String),
}

/// The key that signs unsubscribe links. Without `PAPERWIRE_SECRET`, the outbox (and a dry run)
/// use a throwaway key, with a warning; smtp and sendmail refuse.
pub fn signing_key(
    settings: &Settings,
    kind: TransportKind,
    dry_run: bool,
) -> Result<SecretSlice<u8>, ConfigError> {
    match settings.secrets.signing_key() {
        Some(key) => Ok(key.clone()),
        None if kind == TransportKind::Outbox || dry_run => {
            tracing::warn!(
                "PAPERWIRE_SECRET is not set: unsubscribe links use a throwaway key and will not work"
            );
            Ok(SecretSlice::from(rand::random::<[u8; 32]>().to_vec()))
        }
        None => Err(ConfigError::MissingSecret {
            name: "PAPERWIRE_SECRET",
            why: "it signs the unsubscribe links; smtp and sendmail refuse to send without it"
                .into(),
        }),
    }
}

/// Where messages go for `kind`.
pub fn transport_spec(
    settings: &Settings,
    kind: TransportKind,
) -> Result<TransportSpec, ConfigError> {
    Ok(match kind {
        TransportKind::Outbox => TransportSpec::Outbox {
            dir: settings.delivery.outbox_dir.clone(),
        },
        TransportKind::Sendmail => TransportSpec::Sendmail {
            command: settings.delivery.sendmail_command.clone(),
        },
        TransportKind::Smtp => {
            let endpoint = settings.delivery.smtp.clone();
            let tls = SmtpTls::new(&endpoint, settings.delivery.tls_ca.as_ref()).map_err(|e| {
                let path = settings
                    .delivery
                    .tls_ca
                    .as_ref()
                    .map_or(&settings.path, |c| &c.path);
                ConfigError::Invalid(Problems::one(Location::file(path), e))
            })?;
            TransportSpec::Smtp {
                endpoint,
                tls,
                password: settings.secrets.smtp_password().cloned(),
                timeout: settings.delivery.timeout,
            }
        }
    })
}

/// Runs one edition. The caller holds the send lock (except for dry runs and proofs, which
/// write nothing).
pub async fn run_edition(
    settings: &Settings,
    request: EditionRequest,
    stop: CancellationToken,
    progress: Arc<dyn Progress>,
) -> Result<EditionOutcome, RunError> {
    let kind = request.transport.unwrap_or(settings.delivery.transport);
    let secret = signing_key(settings, kind, request.dry_run)?;
    let transport = transport_spec(settings, kind)?;
    if request.test_to.is_some() && request.only.len() != 1 {
        return Err(RunError::Invalid(
            "--test-to needs exactly one --only EMAIL: whose message to send".into(),
        ));
    }
    let subscribers = load_subscribers(settings, &request.only)?;
    let renderer = Renderer::new(&Templates::load(settings.templates_dir.as_deref())?)?;
    let files = StateDir::new(&settings.state_dir).edition(&request.edition);
    let papers = match edition_papers(settings, &request).await? {
        Loaded::Papers(p) => p,
        Loaded::EmptyDay(why) => return Ok(EditionOutcome::NothingToSend(why)),
    };
    let digest = Digest::build(papers.clone(), &settings.rules);
    if digest.paper_count() == 0 {
        return Ok(EditionOutcome::NothingToSend(format!(
            "no papers for edition {} (none left after leaving out papers already sent, or none matched a section)",
            request.edition
        )));
    }
    let writes_state = !request.dry_run && request.test_to.is_none();
    if writes_state && !files.is_frozen() {
        files.freeze(&papers, request.edition.date())?;
    }
    let prepared = Prepared {
        settings: settings.clone(),
        edition: edition_info(settings, &request.edition, request.today),
        digest,
        subscribers,
        renderer,
        files,
    };
    let send_request = SendRequest {
        edition: request.edition,
        dry_run: request.dry_run,
        only: request.only.iter().map(SubscriberEmail::key).collect(),
        test_to: request.test_to,
        transport,
        secret,
        retry_base: request.retry_base,
    };
    let report = crate::deliver::send(prepared, send_request, stop, progress).await?;
    Ok(EditionOutcome::Sent(report))
}

/// The subscriber list, checking that every `--only` address is on it.
fn load_subscribers(
    settings: &Settings,
    only: &[SubscriberEmail],
) -> Result<Vec<Subscriber>, RunError> {
    let subscribers =
        crate::subscribers::load(&settings.subscribers_path, &settings.section_names())?;
    for e in only {
        if !subscribers.iter().any(|s| s.email.key() == e.key()) {
            return Err(RunError::Invalid(format!(
                "--only {e}: not in {}",
                settings.subscribers_path.display()
            )));
        }
    }
    Ok(subscribers)
}

/// The edition's papers: its frozen list once its first send started, else the sources (or
/// `--papers`) without the papers sent in earlier editions.
async fn edition_papers(settings: &Settings, request: &EditionRequest) -> Result<Loaded, RunError> {
    let state = StateDir::new(&settings.state_dir);
    let files = state.edition(&request.edition);
    if let Some(p) = files.frozen_papers()? {
        if let Some(file) = &request.papers_file {
            tracing::warn!(
                "edition {}'s paper list was frozen at its first send ({}); ignoring --papers {}",
                request.edition,
                files.papers_path().display(),
                file.display()
            );
        }
        return Ok(Loaded::Papers(p));
    }
    let fresh =
        match source::load(settings, request.papers_file.as_deref(), chrono::Utc::now()).await? {
            Loaded::Papers(p) => p,
            empty @ Loaded::EmptyDay(_) => return Ok(empty),
        };
    let seen = state.papers_sent_before(
        &request.edition,
        request.today,
        settings.digest.repeat_after_days,
    );
    let before = fresh.len();
    let fresh = without_repeats(fresh, &seen);
    if before > fresh.len() {
        tracing::info!(
            "left out {} paper(s) sent in earlier editions",
            before - fresh.len()
        );
    }
    Ok(Loaded::Papers(fresh))
}

/// The edition as templates see it; its date is the id's when the id is a date.
pub fn edition_info(settings: &Settings, id: &EditionId, today: chrono::NaiveDate) -> EditionInfo {
    EditionInfo::from_settings(settings, id.clone(), id.date().unwrap_or(today))
}

/// Today's date in the newsletter's time zone.
pub fn today(settings: &Settings) -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&settings.newsletter.timezone)
        .date_naive()
}

/// What `paperwire preview` shows.
#[derive(Debug, Clone, Default)]
pub struct PreviewRequest {
    /// A paper list instead of the configured sources.
    pub papers_file: Option<PathBuf>,
    /// Render what this subscriber would get.
    pub subscriber: Option<String>,
    /// The plain-text part instead of the HTML.
    pub text: bool,
    /// The exact message `send` would deliver to the subscriber.
    pub eml: bool,
    /// The edition (default: today's).
    pub edition: Option<EditionId>,
}

/// A rendered preview, or why there is nothing to show.
#[derive(Debug, Clone)]
pub enum Preview {
    Bytes(Vec<u8>),
    EmptyDay(String),
}

/// Renders the digest as `paperwire preview` shows it; changes no state.
pub async fn preview(settings: &Settings, request: &PreviewRequest) -> Result<Preview, RunError> {
    let renderer = Renderer::new(&Templates::load(settings.templates_dir.as_deref())?)?;
    let papers =
        match source::load(settings, request.papers_file.as_deref(), chrono::Utc::now()).await? {
            Loaded::Papers(p) => p,
            Loaded::EmptyDay(why) => return Ok(Preview::EmptyDay(why)),
        };
    let digest = Digest::build(papers, &settings.rules);
    if digest.paper_count() == 0 {
        return Err(RunError::Invalid(
            "no papers to show: the list is empty, or no paper matched a section and the catch-all is off".into(),
        ));
    }
    let edition_id = request
        .edition
        .clone()
        .unwrap_or_else(|| EditionId::for_date(today(settings)));
    let edition = edition_info(settings, &edition_id, today(settings));
    let subscriber = match &request.subscriber {
        Some(email) => Some(find_subscriber(settings, email)?),
        None => None,
    };
    let text = request.text
        || subscriber
            .as_ref()
            .is_some_and(|s| s.format == MailFormat::Text);
    let spec = match &subscriber {
        Some(s) => VariantSpec::new(
            &s.topics,
            &settings.section_names(),
            s.max_papers.unwrap_or(usize::MAX),
            text,
        ),
        None => VariantSpec::new(&[], &settings.section_names(), usize::MAX, text),
    };
    let variant = renderer.render_variant(&digest, &spec, &edition, &settings.digest)?;
    let unsubscribe_url = match &subscriber {
        Some(s) => unsubscribe_url_for_preview(settings, &s.email),
        None => format!("{}/unsubscribe", settings.newsletter.base_url),
    };
    let person = Person {
        name: subscriber.as_ref().and_then(|s| s.name.as_deref()),
        email: subscriber
            .as_ref()
            .map_or("you@example.org", |s| s.email.as_str()),
        unsubscribe_url: &unsubscribe_url,
    };
    let filled = variant.personalize(&person);
    if let (true, Some(s)) = (request.eml, &subscriber) {
        let subject = crate::render::render_subject(
            &settings.newsletter.subject,
            &edition,
            digest.paper_count(),
        )?;
        let meta = crate::deliver::message::MessageMeta {
            subject: &subject,
            unsubscribe_url: &unsubscribe_url,
            date: std::time::SystemTime::now(),
        };
        let (_, bytes) = crate::deliver::message::build(settings, &edition_id, s, &filled, &meta)
            .map_err(DeliverError::from)?;
        return Ok(Preview::Bytes(bytes));
    }
    let body = match (request.text, filled.html) {
        (false, Some(html)) => html,
        _ => filled.text,
    };
    Ok(Preview::Bytes(body.into_bytes()))
}

/// One subscriber of the configured list, by address (ignoring case).
pub fn find_subscriber(settings: &Settings, email: &str) -> Result<Subscriber, RunError> {
    let wanted = SubscriberEmail::parse(email).map_err(|e| RunError::Invalid(e.to_string()))?;
    let list = crate::subscribers::load(&settings.subscribers_path, &settings.section_names())?;
    list.into_iter()
        .find(|s| s.email.key() == wanted.key())
        .ok_or_else(|| {
            RunError::Invalid(format!(
                "{wanted} is not in {}",
                settings.subscribers_path.display()
            ))
        })
}

/// The real unsubscribe link when `PAPERWIRE_SECRET` is set; a visibly fake one otherwise.
fn unsubscribe_url_for_preview(settings: &Settings, email: &SubscriberEmail) -> String {
    use crate::subscribers::token;
    let token = match settings.secrets.signing_key() {
        Some(key) => token::sign(key.expose_secret(), &settings.newsletter.list_id, email),
        None => "preview-without-PAPERWIRE_SECRET".to_owned(),
    };
    token::unsubscribe_url(&settings.newsletter.base_url, &token)
}

/// The default view of the current digest as HTML, for `serve`'s `GET /`: the most recent
/// edition's frozen paper list when there is one, else the configured sources.
pub async fn current_digest_html(settings: &Settings) -> Result<String, RunError> {
    let (edition_id, papers) = match StateDir::new(&settings.state_dir).latest_frozen() {
        Some(files) => (
            files.id().clone(),
            files.frozen_papers()?.unwrap_or_default(),
        ),
        None => {
            let papers = match source::load(settings, None, chrono::Utc::now()).await? {
                Loaded::Papers(p) => p,
                Loaded::EmptyDay(why) => return Err(RunError::Invalid(why)),
            };
            (EditionId::for_date(today(settings)), papers)
        }
    };
    let renderer = Renderer::new(&Templates::load(settings.templates_dir.as_deref())?)?;
    let digest = Digest::build(papers, &settings.rules);
    let edition = edition_info(settings, &edition_id, today(settings));
    let spec = VariantSpec::new(&[], &settings.section_names(), usize::MAX, false);
    let variant = renderer.render_variant(&digest, &spec, &edition, &settings.digest)?;
    let url = format!("{}/unsubscribe", settings.newsletter.base_url);
    let filled = variant.personalize(&Person {
        name: None,
        email: "you@example.org",
        unsubscribe_url: &url,
    });
    Ok(filled.html.unwrap_or(filled.text))
}
