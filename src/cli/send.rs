//! `paperwire send`: build the edition's digest and deliver one personalized email to every
//! active subscriber. Quiet on success when not on a terminal, so cron mails only what needs a
//! look; the full summary also goes to `editions/<id>/report.json`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use paperwire::config::{self, TransportKind};
use paperwire::deliver::transport::TransportSpec;
use paperwire::deliver::{self, Prepared, Progress, SendRequest, Silent};
use paperwire::edition::{EditionDir, EditionId, send_lock_path};
use paperwire::exit::Exit;
use paperwire::render::{EditionInfo, Renderer, Templates};

use super::common;

#[derive(Debug, clap::Args)]
pub struct SendArgs {
    /// The config (default: $PAPERWIRE_CONFIG, else ./paperwire.toml). Required: send never
    /// falls back to the bundled sample.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Use this paper list instead of the configured sources (ignored once the edition's list
    /// is frozen).
    #[arg(long, value_name = "FILE")]
    papers: Option<PathBuf>,
    /// The edition id (default: today in the newsletter's time zone).
    #[arg(long, value_name = "ID")]
    edition: Option<String>,
    /// Render and validate every message, report what would be sent, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Only these subscribers (repeatable).
    #[arg(long, value_name = "EMAIL")]
    only: Vec<String>,
    /// Send the chosen subscriber's exact message to this address instead (unjournaled).
    #[arg(long, value_name = "EMAIL")]
    test_to: Option<String>,
    /// Override delivery.transport.
    #[arg(long, value_parser = ["smtp", "outbox", "sendmail"])]
    transport: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: SendArgs) -> anyhow::Result<Exit> {
    let settings = common::load_settings(args.config.as_deref(), false)?;
    let kind = match &args.transport {
        Some(t) => t.parse::<TransportKind>().map_err(anyhow::Error::msg)?,
        None => settings.delivery.transport,
    };
    let secret = match config::secret_from_env("PAPERWIRE_SECRET")? {
        Some(s) => s.into_bytes(),
        None if kind == TransportKind::Outbox || args.dry_run => {
            tracing::warn!(
                "PAPERWIRE_SECRET is not set: unsubscribe links use a throwaway key and will not work"
            );
            eprintln!(
                "paperwire: warning: PAPERWIRE_SECRET is not set; the outbox's unsubscribe links use a throwaway key"
            );
            rand::random::<[u8; 32]>().to_vec()
        }
        None => {
            return Err(config::ConfigError::MissingSecret {
                name: "PAPERWIRE_SECRET",
                why: "it signs the unsubscribe links; smtp and sendmail refuse to send without it"
                    .into(),
            }
            .into());
        }
    };
    let transport = match kind {
        TransportKind::Outbox => TransportSpec::Outbox {
            dir: settings.delivery.outbox_dir.clone(),
        },
        TransportKind::Sendmail => TransportSpec::Sendmail {
            command: settings.delivery.sendmail_command.clone(),
        },
        TransportKind::Smtp => {
            let endpoint = settings.smtp_endpoint()?;
            let password = config::secret_from_env("PAPERWIRE_SMTP_PASSWORD")?;
            TransportSpec::Smtp {
                endpoint,
                password,
                timeout: settings.delivery.timeout,
            }
        }
    };
    let test_to = match &args.test_to {
        Some(a) => Some(
            a.parse::<lettre::Address>()
                .with_context(|| format!("--test-to `{a}` is not an address"))?,
        ),
        None => None,
    };
    let mut only = Vec::new();
    for e in &args.only {
        only.push(paperwire::subscribers::SubscriberEmail::parse(e)?.key());
    }
    if test_to.is_some() && only.len() != 1 {
        anyhow::bail!("--test-to needs exactly one --only EMAIL: whose message to send");
    }

    let subscribers =
        paperwire::subscribers::load(&settings.subscribers_path, &settings.section_names())?;
    for e in &only {
        if !subscribers.iter().any(|s| &s.email.key() == e) {
            anyhow::bail!("--only {e}: not in {}", settings.subscribers_path.display());
        }
    }
    let templates = Templates::load(settings.templates_dir.as_deref())?;
    let renderer = Renderer::new(&templates)?;

    let today = common::today(&settings);
    let edition_id = match &args.edition {
        Some(id) => EditionId::parse(id)?,
        None => EditionId::for_date(today),
    };
    let dir = EditionDir::new(&settings.state_dir, &edition_id);

    // The send lock, for the whole run (not for a dry run or a proof, which write nothing).
    let _lock = if args.dry_run || test_to.is_some() {
        None
    } else {
        Some(take_send_lock(&settings.state_dir)?)
    };

    let papers = match deliver::frozen_papers(&dir)? {
        Some(p) => p,
        None => {
            let fresh = match common::load_papers(&settings, args.papers.as_deref())? {
                Ok(p) => p,
                Err(empty_day) => {
                    eprintln!("paperwire: {empty_day}: nothing sent");
                    return Ok(Exit::Done);
                }
            };
            let seen = deliver::previously_sent(
                &settings.state_dir,
                &edition_id,
                today,
                settings.digest.repeat_after_days,
            );
            let before = fresh.len();
            let fresh = paperwire::digest::without_repeats(fresh, &seen);
            if before > fresh.len() {
                tracing::info!(
                    "left out {} paper(s) sent in earlier editions",
                    before - fresh.len()
                );
            }
            fresh
        }
    };
    let digest = common::build_digest(&settings, papers.clone())?;
    if digest.paper_count() == 0 {
        eprintln!(
            "paperwire: no papers for edition {edition_id} (none left after leaving out papers already sent, or none matched a section): nothing sent"
        );
        return Ok(Exit::Done);
    }
    if !args.dry_run && test_to.is_none() && !dir.papers().exists() {
        deliver::freeze_papers(&dir, &papers, edition_id.date())?;
    }

    let edition = EditionInfo::from_settings(
        &settings,
        edition_id.clone(),
        edition_id.date().unwrap_or(today),
    );
    let prepared = Prepared {
        settings,
        edition,
        digest,
        subscribers,
        renderer,
    };
    let request = SendRequest {
        edition: edition_id.clone(),
        dry_run: args.dry_run,
        only,
        test_to,
        transport,
        secret,
        retry_base: retry_base(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let progress: Arc<dyn Progress> = if std::io::stderr().is_terminal() && !args.json {
        Arc::new(Bar(indicatif::ProgressBar::hidden()))
    } else {
        Arc::new(Silent)
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        let stop_on_signal = Arc::clone(&stop);
        tokio::spawn(async move {
            wait_for_signal().await;
            eprintln!("paperwire: stopping: letting messages in flight finish");
            stop_on_signal.store(true, Ordering::SeqCst);
        });
        deliver::send(prepared, request, Arc::clone(&stop), progress).await
    })?;
    runtime.shutdown_timeout(Duration::from_secs(2));

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if !report.all_ok() || std::io::stdout().is_terminal() || args.dry_run {
        println!("{}", report.summary());
    }
    Ok(report.exit())
}

/// `PAPERWIRE_RETRY_BASE_MS` shortens the in-run backoff (tests); default 2 s.
fn retry_base() -> Duration {
    std::env::var("PAPERWIRE_RETRY_BASE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(2), Duration::from_millis)
}

/// Takes `state.dir/send.lock` or fails at once; the kernel drops it if we die.
fn take_send_lock(state_dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("cannot create the state directory {}", state_dir.display()))?;
    let path = send_lock_path(state_dir);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(paperwire::deliver::DeliverError::Locked(path).into())
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(anyhow::Error::new(e).context(format!("cannot lock {}", path.display())))
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A progress bar on a terminal.
struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn start(&self, total: usize) {
        self.0.set_length(total as u64);
        self.0
            .set_draw_target(indicatif::ProgressDrawTarget::stderr());
        self.0.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} sent ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    }
    fn advance(&self) {
        self.0.inc(1);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}
