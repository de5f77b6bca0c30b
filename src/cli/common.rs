//! What several subcommands share: loading the config, the paper list and the digest, and
//! writing output files whole.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use paperwire::config::{self, Settings};
use paperwire::digest::{Digest, Rules};
use paperwire::paper::Paper;
use paperwire::source;

/// Loads the config from `--config`, `PAPERWIRE_CONFIG` or `./paperwire.toml`; `allow_bundled`
/// falls back to the bundled sample (preview and check only).
pub fn load_settings(flag: Option<&Path>, allow_bundled: bool) -> anyhow::Result<Settings> {
    let origin = config::locate(flag, allow_bundled)?;
    Ok(config::load(&origin)?)
}

/// The paper list, outside any async runtime (preview, explain, serve): see
/// [`source::load`]. `Ok(Err(why))` is an empty day.
pub fn load_papers(
    settings: &Settings,
    papers_flag: Option<&Path>,
) -> anyhow::Result<Result<Vec<Paper>, String>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(
        match runtime.block_on(source::load(settings, papers_flag, chrono::Utc::now()))? {
            source::Loaded::Papers(p) => Ok(p),
            source::Loaded::EmptyDay(why) => Err(why),
        },
    )
}

/// Groups the papers by the config's sections.
pub fn build_digest(settings: &Settings, papers: Vec<Paper>) -> anyhow::Result<Digest> {
    let rules = Rules::compile(&settings.sections, &settings.catch_all)
        .context("compiling the section rules")?;
    Ok(Digest::build(papers, &rules))
}

/// Today's date in the newsletter's time zone.
pub fn today(settings: &Settings) -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&settings.newsletter.timezone)
        .date_naive()
}

/// Writes `bytes` to `path` whole or not at all.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    paperwire::fsutil::write_atomically(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes to `--out` (whole or not at all) or to stdout.
pub fn emit(out: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match out {
        Some(path) => write_atomically(path, bytes),
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
                // A reader that stopped early (`| head`) is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => Ok(other?),
            }
        }
    }
}

/// One subscriber of the configured list, by address (ignoring case).
pub fn find_subscriber(
    settings: &Settings,
    email: &str,
) -> anyhow::Result<paperwire::subscribers::Subscriber> {
    let wanted = paperwire::subscribers::SubscriberEmail::parse(email)?;
    let list = paperwire::subscribers::load(&settings.subscribers_path, &settings.section_names())?;
    list.into_iter()
        .find(|s| s.email.key() == wanted.key())
        .with_context(|| {
            format!(
                "{} is not in {}",
                wanted,
                settings.subscribers_path.display()
            )
        })
}

/// The real unsubscribe link when `PAPERWIRE_SECRET` is set; a visibly fake one otherwise.
pub fn unsubscribe_url_for_preview(
    settings: &Settings,
    email: &paperwire::subscribers::SubscriberEmail,
) -> String {
    use paperwire::subscribers::token;
    match config::secret_from_env("PAPERWIRE_SECRET") {
        Ok(Some(secret)) => token::unsubscribe_url(
            &settings.newsletter.base_url,
            &token::sign(secret.as_bytes(), &settings.newsletter.list_id, email),
        ),
        _ => token::unsubscribe_url(
            &settings.newsletter.base_url,
            "preview-without-PAPERWIRE_SECRET",
        ),
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd, kill).
pub async fn wait_for_signal() {
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

/// A duration in milliseconds from the environment, or `default`.
pub fn env_millis(var: &str, default: std::time::Duration) -> std::time::Duration {
    std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map_or(default, std::time::Duration::from_millis)
}
