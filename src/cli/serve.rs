//! `paperwire serve`: runs the one-click unsubscribe endpoint, the readers' own pages (signup
//! when `serve.signup` is on, preferences) and the digest preview ([`paperwire::serve`]) on
//! loopback, for a reverse proxy at `newsletter.base_url` to expose.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use paperwire::config::ConfigError;
use paperwire::exit::{Exit, describe};
use paperwire::serve::changes::LogChanges;
use paperwire::serve::{self, PreviewFn, SelfService, ServeContext, ServeLimits};
use paperwire::subscribers::{ChangeWriter, FoldPolicy, SubscriberStore};
use secrecy::ExposeSecret;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; keep it on loopback and put an HTTPS reverse proxy in front
    /// [default: `serve.listen`, else 127.0.0.1:8080]
    #[arg(long)]
    listen: Option<SocketAddr>,
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
    let listen = args.listen.unwrap_or(settings.serve.listen);
    if !listen.ip().is_loopback() {
        tracing::warn!(
            "listening on {listen}, not loopback: make sure only an HTTPS reverse proxy can reach it"
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
    let secret: Arc<[u8]> = Arc::from(secret.expose_secret());
    let store = SubscriberStore::new(&settings.subscribers_path);
    // One writer of the change log for every page that changes the list, and one fold thread.
    let changes = ChangeWriter::folding(store.clone(), FoldPolicy::default());
    let self_service = SelfService::new(
        Arc::new(settings.clone()),
        Arc::clone(&secret),
        Arc::new(LogChanges::new(
            changes.clone(),
            store.path(),
            &settings.section_names(),
        )),
        paperwire::pipeline::transport_spec(&settings, settings.delivery.transport)?,
    )?;
    let context = ServeContext {
        store,
        secret,
        list_id: settings.newsletter.list_id.clone(),
        title: settings.newsletter.title.clone(),
        preview,
        archive: settings.archive.as_ref().and_then(|a| a.dir.clone()),
    };
    let limits = ServeLimits::default();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    eprintln!(
        "paperwire serve: listening on http://{}{}",
        listener.local_addr()?,
        if settings.serve.signup {
            " (signup open)"
        } else {
            ""
        }
    );
    let stop = super::common::cancel_on_signal("paperwire serve: shutting down");
    serve::serve(
        listener,
        serve::router_with(context, changes, Some(self_service), limits),
        limits,
        stop.cancelled_owned(),
    )
    .await;
    Ok(Exit::Done)
}
