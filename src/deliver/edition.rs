//! One edition from start to finish, shared by `paperwire send` and the `paperwire run`
//! daemon: resolve the secret and transport, load the subscribers, take the edition's frozen
//! paper list (or fetch and freeze it), group it, and send.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::config::{self, ConfigError, Settings, TransportKind};
use crate::diag::{Location, Problems};
use crate::digest::{Digest, Rules, without_repeats};
use crate::edition::{EditionDir, EditionId, send_lock_path};
use crate::render::{EditionInfo, Renderer, Templates};
use crate::source::{self, Loaded};
use crate::subscribers::SubscriberEmail;

use super::transport::{SmtpTls, TransportSpec};
use super::{
    DeliverError, Prepared, Progress, Report, SendRequest, freeze_papers, frozen_papers,
    previously_sent,
};

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

/// The secret that signs unsubscribe links. Without `PAPERWIRE_SECRET`, the outbox (and a dry
/// run) use a throwaway key, with a warning; smtp and sendmail refuse.
pub fn resolve_secret(kind: TransportKind, dry_run: bool) -> Result<Vec<u8>, ConfigError> {
    match config::secret_from_env("PAPERWIRE_SECRET")? {
        Some(s) => Ok(s.into_bytes()),
        None if kind == TransportKind::Outbox || dry_run => {
            tracing::warn!(
                "PAPERWIRE_SECRET is not set: unsubscribe links use a throwaway key and will not work"
            );
            Ok(rand::random::<[u8; 32]>().to_vec())
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
            let endpoint = settings.smtp_endpoint()?;
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
                password: config::secret_from_env("PAPERWIRE_SMTP_PASSWORD")?,
                timeout: settings.delivery.timeout,
            }
        }
    })
}

/// `state.dir/send.lock`, held for a whole send or daemon run; the kernel drops it if the
/// process dies, so a `kill -9` never leaves a stale lock.
#[derive(Debug)]
pub struct SendLock {
    _file: std::fs::File,
}

impl SendLock {
    /// Takes the lock or fails at once.
    pub fn acquire(state_dir: &std::path::Path) -> Result<Self, DeliverError> {
        let io = |context: String| move |source| DeliverError::Io { context, source };
        std::fs::create_dir_all(state_dir).map_err(io(format!(
            "cannot create the state directory {}",
            state_dir.display()
        )))?;
        let path = send_lock_path(state_dir);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(format!("cannot open {}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(DeliverError::Locked(path)),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(io(format!("cannot lock {}", path.display()))(e))
            }
        }
    }
}

/// Runs one edition. The caller holds the [`SendLock`] (except for dry runs and proofs, which
/// write nothing).
pub async fn run_edition(
    settings: &Settings,
    request: EditionRequest,
    stop: Arc<AtomicBool>,
    progress: Arc<dyn Progress>,
) -> Result<EditionOutcome, DeliverError> {
    let kind = request.transport.unwrap_or(settings.delivery.transport);
    let secret = resolve_secret(kind, request.dry_run)?;
    let transport = transport_spec(settings, kind)?;
    if request.test_to.is_some() && request.only.len() != 1 {
        return Err(DeliverError::Invalid(
            "--test-to needs exactly one --only EMAIL: whose message to send".into(),
        ));
    }
    let subscribers =
        crate::subscribers::load(&settings.subscribers_path, &settings.section_names())?;
    for e in &request.only {
        if !subscribers.iter().any(|s| s.email.key() == e.key()) {
            return Err(DeliverError::Invalid(format!(
                "--only {e}: not in {}",
                settings.subscribers_path.display()
            )));
        }
    }
    let renderer = Renderer::new(&Templates::load(settings.templates_dir.as_deref())?)?;
    let dir = EditionDir::new(&settings.state_dir, &request.edition);
    let writes_state = !request.dry_run && request.test_to.is_none();

    let papers = match frozen_papers(&dir)? {
        Some(p) => {
            if let Some(file) = &request.papers_file {
                tracing::warn!(
                    "edition {}'s paper list was frozen at its first send ({}); ignoring --papers {}",
                    request.edition,
                    dir.papers().display(),
                    file.display()
                );
            }
            p
        }
        None => {
            let fresh =
                match source::load(settings, request.papers_file.as_deref(), chrono::Utc::now())
                    .await?
                {
                    Loaded::Papers(p) => p,
                    Loaded::EmptyDay(why) => return Ok(EditionOutcome::NothingToSend(why)),
                };
            let seen = previously_sent(
                &settings.state_dir,
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
            fresh
        }
    };
    let rules = Rules::compile(&settings.sections, &settings.catch_all)
        .map_err(|e| DeliverError::Invalid(e.to_string()))?;
    let digest = Digest::build(papers.clone(), &rules);
    if digest.paper_count() == 0 {
        return Ok(EditionOutcome::NothingToSend(format!(
            "no papers for edition {} (none left after leaving out papers already sent, or none matched a section)",
            request.edition
        )));
    }
    if writes_state && !dir.papers().exists() {
        freeze_papers(&dir, &papers, request.edition.date())?;
    }
    let edition = EditionInfo::from_settings(
        settings,
        request.edition.clone(),
        request.edition.date().unwrap_or(request.today),
    );
    let prepared = Prepared {
        settings: settings.clone(),
        edition,
        digest,
        subscribers,
        renderer,
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
    super::send(prepared, send_request, stop, progress)
        .await
        .map(EditionOutcome::Sent)
}
