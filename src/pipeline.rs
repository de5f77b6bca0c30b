//! One edition from start to finish, and the previews of it: the stages wired together, so that
//! `paperwire send`, the `paperwire run` daemon, `paperwire preview` and `serve`'s `GET /` all go
//! through the same code.
//!
//! An edition run resolves the secret and transport, loads the subscribers, takes the edition's
//! frozen paper list (or fetches one and freezes it), groups it, and hands it to
//! [`crate::deliver::send`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::archive::{Archive, ArchiveError};
use crate::config::{ConfigError, Settings, TransportKind};
use crate::deliver::transport::{SmtpTls, TransportSpec};
use crate::deliver::{DeliverError, Prepared, Progress, SendRequest, SigningKey};
use crate::diag::{Location, Problems};
use crate::digest::personal::EditionIndex;
use crate::digest::{Digest, without_repeats};
use crate::edition::EditionId;
use crate::paper::Paper;
use crate::render::{EditionInfo, Person, RenderError, Renderer, Templates, VariantSpec};
use crate::source::{self, Loaded, SourceError};
use crate::state::{EditionFiles, Report, StateDir, StateError};
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
    /// The edition went out, but adding it to the web archive failed (a rerun adds it).
    #[error("edition sent, but not added to the web archive")]
    Archive(#[source] ArchiveError),
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
    /// Boxed: a report is much larger than a reason.
    Sent(Box<Report>),
    /// Nothing to send (no papers today, or none left after leaving out repeats): why.
    NothingToSend(String),
}

/// The key that signs unsubscribe links. Without `PAPERWIRE_SECRET`, the outbox (and a dry run)
/// use a throwaway key, which warns when the first message is signed with it; smtp and
/// sendmail refuse.
pub fn signing_key(
    settings: &Settings,
    kind: TransportKind,
    dry_run: bool,
) -> Result<SigningKey, ConfigError> {
    match settings.secrets.signing_key() {
        Some(key) => Ok(SigningKey::configured(key.clone())),
        None if kind == TransportKind::Outbox || dry_run => Ok(SigningKey::throwaway()),
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
    let key = signing_key(settings, kind, request.dry_run)?;
    let transport = transport_spec(settings, kind)?;
    if request.test_to.is_some() && request.only.len() != 1 {
        return Err(RunError::Invalid(
            "--test-to needs exactly one --only EMAIL: whose message to send".into(),
        ));
    }
    if !request.dry_run && request.test_to.is_none() {
        // Pending changes (one-click unsubscribes, …) go into the file before it is read; they
        // count in any case, so a fold that cannot run now only waits for the next one.
        let store = crate::subscribers::SubscriberStore::new(&settings.subscribers_path);
        if let Err(e) = store.fold() {
            tracing::warn!("could not fold the change log into the subscriber list: {e}");
        }
    }
    let subscribers = load_subscribers(settings, &request.only)?;
    let renderer = renderer(settings)?;
    let files = StateDir::new(&settings.state_dir).edition(&request.edition);
    let papers_file = request.papers_file.as_deref();
    let (papers, frozen) = match edition_papers(
        settings,
        &request.edition,
        request.today,
        papers_file,
        OnFrozen::KeepFrozen,
    )
    .await?
    {
        EditionPapers::Frozen(p) => (p, true),
        EditionPapers::Fresh(p) => (p, false),
        EditionPapers::EmptyDay(why) => return Ok(EditionOutcome::NothingToSend(why)),
    };
    let writes_state = !request.dry_run && request.test_to.is_none();
    let unfrozen = (writes_state && !frozen).then(|| papers.clone());
    let digest = Digest::build(papers, &settings.rules);
    if digest.paper_count() == 0 {
        return Ok(EditionOutcome::NothingToSend(format!(
            "no papers for edition {} (none left after leaving out papers already sent, or none matched a section)",
            request.edition
        )));
    }
    tracing::info!(
        "edition {}: {} papers in {} sections, for {} subscribers on the list",
        request.edition,
        digest.paper_count(),
        digest.sections.len(),
        subscribers.len()
    );
    let edition_files = files.clone();
    // A web template that does not compile stops the run before anything is sent.
    let archive = match settings.archive.as_ref().and_then(|a| a.dir.as_deref()) {
        Some(dir) if writes_state => Some(Archive::new(settings, dir)?),
        _ => None,
    };
    let lookup = crate::liked::Lookup::Online {
        opts: crate::liked::lookup_options(),
        save: writes_state,
    };
    let index = edition_index(settings, &digest, &subscribers, &lookup).await;
    let prepared = Prepared {
        settings: settings.clone(),
        edition: edition_info(settings, &request.edition, request.today),
        index,
        digest,
        subscribers,
        renderer,
        files,
        unfrozen,
    };
    let verp = match (&settings.delivery.return_path, settings.bounce.verp) {
        (Some(return_path), true) => Some(
            key.verp_key(&settings.newsletter.list_id, return_path)
                .map_err(|e| RunError::Invalid(e.to_string()))?,
        ),
        _ => None,
    };
    let send_request = SendRequest {
        edition: request.edition,
        dry_run: request.dry_run,
        only: request.only.iter().map(SubscriberEmail::key).collect(),
        test_to: request.test_to,
        transport,
        key,
        verp,
        retry_base: request.retry_base,
    };
    let report = crate::deliver::send(prepared, send_request, stop, progress).await?;
    if writes_state {
        publish(&edition_files, archive.as_ref())?;
    }
    Ok(EditionOutcome::Sent(Box::new(report)))
}

/// The templates compiled, saying on stderr which files in `[templates] dir` are not used (a
/// misspelled override would otherwise be ignored without a word).
fn renderer(settings: &Settings) -> Result<Renderer, RenderError> {
    let templates = Templates::load(settings.templates_dir.as_deref())?;
    for path in templates.ignored() {
        tracing::warn!("{}", ignored_template(path));
    }
    Renderer::new(&templates)
}

/// The warning for a file in `[templates] dir` that is not used.
pub fn ignored_template(path: &Path) -> String {
    format!(
        "{} is not used: a templates directory holds digest.html.hbs, digest.txt.hbs, partials/NAME.html.hbs or NAME.txt.hbs, the web archive's web/ templates, and the readers' pages/ templates, confirm.html.hbs and confirm.txt.hbs (a misspelled name?)",
        path.display()
    )
}

/// After a run: once the edition is complete, marks it published (the first time) and adds it
/// to the web archive when there is one (`archive.dir`). A rerun of a complete edition adds it again,
/// which repairs an archive that a failed write left behind.
fn publish(files: &EditionFiles, archive: Option<&Archive<'_>>) -> Result<(), RunError> {
    if files.progress() != crate::edition::EditionProgress::Complete {
        return Ok(());
    }
    files.mark_published(chrono::Utc::now())?;
    let Some(archive) = archive else {
        return Ok(());
    };
    let summary = archive.add(files.id()).map_err(RunError::Archive)?;
    tracing::info!(
        "archive {}: edition {} added ({} editions, {} files written{})",
        archive.out().display(),
        files.id(),
        summary.editions,
        summary.written,
        if summary.full {
            ", whole site built"
        } else {
            ""
        }
    );
    Ok(())
}

/// One reader's view of an edition, for `paperwire explain --subscriber`.
pub struct ReaderView {
    pub subscriber: Subscriber,
    pub digest: Digest,
    pub index: EditionIndex,
    /// The reader's ranking, as their email has it.
    pub ranking: crate::digest::personal::Ranking,
}

/// The edition's papers as `send` takes them (its frozen list once it started, else the
/// sources or `papers_file`), ranked for the subscriber `email` exactly as their email is.
pub async fn reader_view(
    settings: &Settings,
    edition: &EditionId,
    papers_file: Option<&Path>,
    email: &str,
) -> Result<Option<ReaderView>, RunError> {
    let subscriber = find_subscriber(settings, email)?;
    let papers = match edition_papers(
        settings,
        edition,
        today(settings),
        papers_file,
        OnFrozen::KeepFrozen,
    )
    .await?
    {
        EditionPapers::Frozen(p) | EditionPapers::Fresh(p) => p,
        EditionPapers::EmptyDay(_) => return Ok(None),
    };
    let digest = Digest::build(papers, &settings.rules);
    let lookup = crate::liked::Lookup::Online {
        opts: crate::liked::lookup_options(),
        save: true,
    };
    let list = std::slice::from_ref(&subscriber);
    let index = edition_index(settings, &digest, list, &lookup).await;
    let spec = VariantSpec::new(
        &subscriber.topics,
        &settings.section_names(),
        subscriber.max_papers.unwrap_or(usize::MAX),
        subscriber.format == MailFormat::Text,
    );
    let limit = spec.cap.min(settings.digest.max_papers);
    let ranking = index.rank(&digest, &subscriber.profile, limit);
    Ok(Some(ReaderView {
        subscriber,
        digest,
        index,
        ranking,
    }))
}

/// The subscriber list, checking that every `--only` address is on it.
/// The edition indexed for the readers' own rankings, with the papers they liked (looked up as
/// `lookup` allows; what cannot be found is a warning, never an error).
pub async fn edition_index(
    settings: &Settings,
    digest: &Digest,
    subscribers: &[Subscriber],
    lookup: &crate::liked::Lookup,
) -> EditionIndex {
    let wanted = crate::liked::wanted(subscribers);
    let liked = crate::liked::resolve(settings, &wanted, &digest.papers, lookup).await;
    for w in &liked.warnings {
        tracing::warn!("{w}");
    }
    if !liked.unresolved.is_empty() {
        tracing::warn!(
            "liked papers not found (left out of the rankings; `paperwire check` lists who liked them): {}",
            liked
                .unresolved
                .iter()
                .map(|i| i.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    EditionIndex::build(digest, &liked.papers)
}

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

/// An edition's paper list.
enum EditionPapers {
    /// Frozen when the edition's first message went out: every later run sends this one.
    Frozen(Vec<Paper>),
    /// Not frozen yet: the sources (or `--papers`) without the papers sent before.
    Fresh(Vec<Paper>),
    /// Nothing to send today: why.
    EmptyDay(String),
}

/// Which list an explicit `--papers` file gives once the edition's list is frozen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnFrozen {
    /// `send` and the daemon: the frozen list, so that everyone gets the same edition.
    KeepFrozen,
    /// `preview`: the file asked for, which changes nothing (and says that `send` would not).
    PreferFile,
}

/// The edition's papers, the same for `send`, the daemon and `preview`: its frozen list once
/// its first message went out, else the sources (or `papers_file`) without the papers sent in
/// earlier editions. A `papers_file` must be readable either way (a typo in its name is a usage
/// error, not a warning); on a frozen edition `send` keeps the frozen list and says so when the
/// file differs, `preview` shows the file and says that `send` would not.
async fn edition_papers(
    settings: &Settings,
    edition: &EditionId,
    today: chrono::NaiveDate,
    papers_file: Option<&Path>,
    on_frozen: OnFrozen,
) -> Result<EditionPapers, RunError> {
    let files = StateDir::new(&settings.state_dir).edition(edition);
    let Some(frozen) = files.frozen_papers()? else {
        return Ok(
            match fresh_papers(settings, edition, today, papers_file).await? {
                Loaded::Papers(p) => EditionPapers::Fresh(p),
                Loaded::EmptyDay(why) => EditionPapers::EmptyDay(why),
            },
        );
    };
    tracing::info!(
        "edition {edition}: {} papers, frozen when its first message went out, in {}",
        frozen.len(),
        files.papers_path().display()
    );
    let Some(file) = papers_file else {
        say_if_sources_differ(settings, &files, &frozen, today).await;
        return Ok(EditionPapers::Frozen(frozen));
    };
    let given = fresh_papers(settings, edition, today, Some(file)).await?;
    let now = match &given {
        Loaded::Papers(p) => p.as_slice(),
        Loaded::EmptyDay(_) => &[],
    };
    let what = list_name(Some(file));
    match on_frozen {
        OnFrozen::KeepFrozen => {
            if let Some(change) = difference(&frozen, now) {
                tracing::warn!(
                    "edition {edition}'s paper list was frozen when its first message went out ({}, {} papers); {what} now differs from it ({change}): keeping the frozen list, so that everyone gets the same edition",
                    files.papers_path().display(),
                    frozen.len(),
                );
            }
            Ok(EditionPapers::Frozen(frozen))
        }
        OnFrozen::PreferFile => {
            if let Some(change) = difference(&frozen, now) {
                tracing::warn!(
                    "showing {what}; edition {edition}'s paper list is frozen ({}, {} papers) and differs from it ({change}): `paperwire send` would send the frozen list",
                    files.papers_path().display(),
                    frozen.len(),
                );
            }
            Ok(match given {
                Loaded::Papers(p) => EditionPapers::Fresh(p),
                Loaded::EmptyDay(why) => EditionPapers::EmptyDay(why),
            })
        }
    }
}

/// The sources (or `papers_file`) without the papers sent in earlier editions.
async fn fresh_papers(
    settings: &Settings,
    edition: &EditionId,
    today: chrono::NaiveDate,
    papers_file: Option<&Path>,
) -> Result<Loaded, RunError> {
    let fresh = match source::load(settings, papers_file, chrono::Utc::now()).await? {
        Loaded::Papers(p) => p,
        empty @ Loaded::EmptyDay(_) => return Ok(empty),
    };
    tracing::info!(
        "read {} papers from {}",
        fresh.len(),
        list_name(papers_file)
    );
    let seen = StateDir::new(&settings.state_dir).papers_sent_before(
        edition,
        today,
        settings.digest.repeat_after_days,
    );
    let before = fresh.len();
    let fresh = without_repeats(fresh, &seen);
    if fresh.is_empty() {
        return Ok(Loaded::EmptyDay(format!(
            "no papers left for edition {edition}: all {before} were sent in earlier editions"
        )));
    }
    if before > fresh.len() {
        tracing::info!(
            "left out {} paper(s) sent in earlier editions",
            before - fresh.len()
        );
    }
    Ok(Loaded::Papers(fresh))
}

/// "--papers FILE" or "the configured sources", for messages.
fn list_name(papers_file: Option<&Path>) -> String {
    match papers_file {
        Some(f) => format!("--papers {}", f.display()),
        None => "the configured sources".to_owned(),
    }
}

/// "1 paper", "3 papers".
fn count(n: usize) -> String {
    format!("{n} {}", if n == 1 { "paper" } else { "papers" })
}

/// Says on stderr (cron mails it) when the sources, all local files, now give another list
/// than the edition's frozen one; the frozen list is kept either way, so that everyone gets the
/// same edition. Live sources are not fetched again for this: their lists grow during the day,
/// and a rerun must not depend on them.
async fn say_if_sources_differ(
    settings: &Settings,
    files: &EditionFiles,
    frozen: &[Paper],
    today: chrono::NaiveDate,
) {
    let local = settings.is_bundled()
        || settings
            .sources
            .iter()
            .all(|s| matches!(s, crate::config::SourceSettings::File { .. }));
    if !local {
        return;
    }
    let what = list_name(None);
    let now = match fresh_papers(settings, files.id(), today, None).await {
        Ok(Loaded::Papers(p)) => p,
        Ok(Loaded::EmptyDay(_)) => Vec::new(),
        Err(e) => {
            tracing::warn!(
                "cannot compare {what} with edition {}'s frozen paper list: {}; keeping the frozen list",
                files.id(),
                crate::exit::describe(&e)
            );
            return;
        }
    };
    if let Some(change) = difference(frozen, &now) {
        tracing::warn!(
            "edition {}'s paper list was frozen when its first message went out ({}, {} papers); {what} now differs from it ({change}): keeping the frozen list, so that everyone gets the same edition",
            files.id(),
            files.papers_path().display(),
            frozen.len(),
        );
    }
}

/// How `now` differs from `frozen` ("3 new papers, 1 gone"), or `None` when they hold the same
/// papers.
fn difference(frozen: &[Paper], now: &[Paper]) -> Option<String> {
    let was: HashSet<_> = frozen.iter().map(|p| &p.id).collect();
    let is: HashSet<_> = now.iter().map(|p| &p.id).collect();
    (was != is).then(|| {
        format!(
            "{} new, {} gone",
            count(is.difference(&was).count()),
            was.difference(&is).count()
        )
    })
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
    let renderer = renderer(settings)?;
    let today = today(settings);
    let edition_id = request
        .edition
        .clone()
        .unwrap_or_else(|| EditionId::for_date(today));
    // The papers `send` would take: the frozen list, or the sources without earlier editions'
    // (an explicit --papers wins over the frozen list here; a preview changes nothing).
    let papers_file = request.papers_file.as_deref();
    let papers = match edition_papers(
        settings,
        &edition_id,
        today,
        papers_file,
        OnFrozen::PreferFile,
    )
    .await?
    {
        EditionPapers::Frozen(p) | EditionPapers::Fresh(p) => p,
        EditionPapers::EmptyDay(why) => return Ok(Preview::EmptyDay(why)),
    };
    let digest = Digest::build(papers, &settings.rules);
    if digest.paper_count() == 0 {
        return Err(RunError::Invalid(
            "no papers to show: the list is empty, or no paper matched a section and the catch-all is off".into(),
        ));
    }
    let edition = edition_info(settings, &edition_id, today);
    let subscriber = match &request.subscriber {
        Some(email) => Some(find_subscriber(settings, email)?),
        None => None,
    };
    if let Some(s) = &subscriber
        && digest.papers_for(&s.topics) == 0
    {
        return Ok(Preview::EmptyDay(format!(
            "{} has nothing in their topics in edition {edition_id} (`send` does not email them)",
            s.email
        )));
    }
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
    let variant = match subscriber.as_ref().filter(|s| s.profile.is_personal()) {
        Some(s) => {
            let list = std::slice::from_ref(s);
            let index =
                edition_index(settings, &digest, list, &crate::liked::Lookup::Offline).await;
            let limit = spec.cap.min(settings.digest.max_papers);
            let ranking = index.rank(&digest, &s.profile, limit);
            renderer.render_personal(
                &digest,
                &spec,
                &edition,
                &settings.digest,
                &ranking,
                &s.profile.mute,
            )?
        }
        None => renderer.render_variant(&digest, &spec, &edition, &settings.digest)?,
    };
    let (unsubscribe_url, preferences_url) = match &subscriber {
        Some(s) => links_for_preview(settings, &s.email),
        None => (
            format!("{}/unsubscribe", settings.newsletter.base_url),
            format!("{}/preferences", settings.newsletter.base_url),
        ),
    };
    let person = Person {
        name: subscriber.as_ref().and_then(|s| s.name.as_deref()),
        email: subscriber
            .as_ref()
            .map_or("you@example.org", |s| s.email.as_str()),
        unsubscribe_url: &unsubscribe_url,
        preferences_url: &preferences_url,
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

/// The real unsubscribe and preference links when `PAPERWIRE_SECRET` is set; visibly fake ones
/// otherwise.
fn links_for_preview(settings: &Settings, email: &SubscriberEmail) -> (String, String) {
    use crate::subscribers::{links, token};
    let n = &settings.newsletter;
    let (unsubscribe, preferences) = match settings.secrets.signing_key() {
        Some(key) => (
            token::sign(key.expose_secret(), &n.list_id, email),
            links::sign_preferences(key.expose_secret(), &n.list_id, email),
        ),
        None => (
            "preview-without-PAPERWIRE_SECRET".to_owned(),
            "preview-without-PAPERWIRE_SECRET".to_owned(),
        ),
    };
    (
        token::unsubscribe_url(&n.base_url, &unsubscribe),
        links::preferences_url(&n.base_url, &preferences),
    )
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
    let renderer = renderer(settings)?;
    let digest = Digest::build(papers, &settings.rules);
    let edition = edition_info(settings, &edition_id, today(settings));
    let spec = VariantSpec::new(&[], &settings.section_names(), usize::MAX, false);
    let variant = renderer.render_variant(&digest, &spec, &edition, &settings.digest)?;
    let url = format!("{}/unsubscribe", settings.newsletter.base_url);
    let preferences = format!("{}/preferences", settings.newsletter.base_url);
    let filled = variant.personalize(&Person {
        name: None,
        email: "you@example.org",
        unsubscribe_url: &url,
        preferences_url: &preferences,
    });
    Ok(filled.html.unwrap_or(filled.text))
}
