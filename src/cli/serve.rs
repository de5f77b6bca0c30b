//! `paperwire serve`: runs the one-click unsubscribe endpoint and the digest preview
//! ([`paperwire::serve`]) on loopback, for a reverse proxy at `newsletter.base_url` to expose.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use paperwire::config::{self, ConfigError};
use paperwire::exit::Exit;
use paperwire::serve::{self, PreviewFn, ServeContext, ServeLimits};
use paperwire::subscribers::SubscriberStore;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; keep it on loopback and put an HTTPS reverse proxy in front.
    #[arg(long, default_value = serve::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// The config file (default: $PAPERWIRE_CONFIG, then ./paperwire.toml).
    #[arg(long)]
    config: Option<PathBuf>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<Exit> {
    let settings = config::load(&config::locate(args.config.as_deref(), false)?)?;
    let secret =
        config::secret_from_env("PAPERWIRE_SECRET")?.ok_or_else(|| ConfigError::MissingSecret {
            name: "PAPERWIRE_SECRET",
            why: "`serve` needs the secret that signed the unsubscribe links to check them".into(),
        })?;
    if secret.len() < 16 {
        tracing::warn!("PAPERWIRE_SECRET is shorter than 16 bytes; use a long random value");
    }
    if !args.listen.ip().is_loopback() {
        tracing::warn!(
            "listening on {}, not loopback: make sure only an HTTPS reverse proxy can reach it",
            args.listen
        );
    }

    let title = settings.newsletter.title.clone();
    // `GET /`: the current digest, rendered on each request (never cached): the latest
    // edition's frozen list when there is one, else the configured sources.
    let preview: PreviewFn = {
        let settings = settings.clone();
        Arc::new(move || {
            // A thread of its own: the sources may need an async runtime, and this runs on
            // one of the server's blocking threads.
            let settings = settings.clone();
            std::thread::spawn(move || super::preview::current_digest_html(&settings))
                .join()
                .map_err(|_| "the preview panicked".to_owned())?
                .map_err(|e| super::cause_chain(&e))
        })
    };
    let context = ServeContext {
        store: SubscriberStore::new(&settings.subscribers_path),
        secret: Arc::from(secret.into_bytes()),
        list_id: settings.newsletter.list_id.clone(),
        title,
        preview,
    };
    let limits = ServeLimits::default();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!(
        "paperwire serve: listening on http://{}",
        listener.local_addr()?
    );
    serve::serve(
        listener,
        serve::router(context, limits),
        limits,
        shutdown_signal(),
    )
    .await;
    Ok(Exit::Done)
}

/// Ctrl-C, or SIGTERM from systemd.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    eprintln!("paperwire serve: shutting down");
}
