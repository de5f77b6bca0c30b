//! `paperwire serve`: runs the one-click unsubscribe endpoint and the digest preview
//! ([`paperwire::serve`]) on loopback, for a reverse proxy at `newsletter.base_url` to expose.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use paperwire::config::ConfigError;
use paperwire::exit::{Exit, describe};
use paperwire::serve::{self, PreviewFn, ServeContext, ServeLimits};
use paperwire::subscribers::SubscriberStore;
use secrecy::ExposeSecret;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; keep it on loopback and put an HTTPS reverse proxy in front.
    #[arg(long, default_value = serve::DEFAULT_LISTEN)]
    listen: SocketAddr,
}

pub async fn run(config: Option<&Path>, args: ServeArgs) -> anyhow::Result<Exit> {
    let settings = super::common::load_settings(config, false)?;
    let secret = settings
        .secrets
        .signing_key()
        .ok_or_else(|| ConfigError::MissingSecret {
            name: "PAPERWIRE_SECRET",
            why: "`serve` needs the secret that signed the unsubscribe links to check them".into(),
        })?;
    if secret.expose_secret().len() < 16 {
        tracing::warn!("PAPERWIRE_SECRET is shorter than 16 bytes; use a long random value");
    }
    if !args.listen.ip().is_loopback() {
        tracing::warn!(
            "listening on {}, not loopback: make sure only an HTTPS reverse proxy can reach it",
            args.listen
        );
    }
    // `GET /`: the current digest, rendered on each request (never cached): the latest
    // edition's frozen list when there is one, else the configured sources.
    let preview: PreviewFn = {
        let settings = Arc::new(settings.clone());
        Arc::new(move || {
            let settings = Arc::clone(&settings);
            Box::pin(async move {
                paperwire::pipeline::current_digest_html(&settings)
                    .await
                    .map_err(|e| describe(&e))
            })
        })
    };
    let context = ServeContext {
        store: SubscriberStore::new(&settings.subscribers_path),
        secret: Arc::from(secret.expose_secret()),
        list_id: settings.newsletter.list_id.clone(),
        title: settings.newsletter.title.clone(),
        preview,
        archive: settings.archive.as_ref().and_then(|a| a.dir.clone()),
    };
    let limits = ServeLimits::default();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!(
        "paperwire serve: listening on http://{}",
        listener.local_addr()?
    );
    let stop = super::common::cancel_on_signal("paperwire serve: shutting down");
    serve::serve(
        listener,
        serve::router(context, limits),
        limits,
        stop.cancelled_owned(),
    )
    .await;
    Ok(Exit::Done)
}
