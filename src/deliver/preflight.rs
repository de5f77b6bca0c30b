//! Before anything is sent: one SMTP connection and a MAIL FROM, so that a wrong host, password,
//! TLS mode or a relay that refuses our sender stops the run cleanly (exit 75 or 2) instead of
//! failing every recipient of the edition for good; and an outbox directory that exists.

use lettre::transport::smtp::commands::{Mail, Rset};
use secrecy::ExposeSecret;

use super::transport::{self, Failure, TransportSpec};
use super::{DeliverError, io};

/// Checks that `transport` can take messages from `sender` (the first message's envelope
/// sender: with VERP, a tagged one, so that a relay that refuses tagged senders stops the run
/// here).
pub(super) async fn check(
    transport: &TransportSpec,
    sender: &lettre::Address,
) -> Result<(), DeliverError> {
    match transport {
        TransportSpec::Smtp {
            endpoint,
            tls,
            password,
            timeout,
        } => {
            let password = password.as_ref().map(ExposeSecret::expose_secret);
            let mut c = match transport::connect(endpoint, tls, password, *timeout).await {
                Ok(c) => c,
                Err(Failure::Transient(e)) => return Err(DeliverError::unreachable(e)),
                Err(Failure::Permanent(e) | Failure::Refused(e)) => {
                    return Err(DeliverError::Setup(e));
                }
            };
            let server = format!("{}:{}", endpoint.host, endpoint.port);
            let mail = c.command(Mail::new(Some(sender.clone()), vec![]));
            match tokio::time::timeout(*timeout, mail).await {
                Err(_) => Err(DeliverError::unreachable(format!(
                    "{server} did not answer MAIL FROM:<{sender}> within {timeout:?}"
                ))),
                Ok(Ok(_)) => {
                    tracing::info!("{server} answers and takes the sender {sender}");
                    let _ = c.command(Rset).await;
                    let _ = c.quit().await;
                    Ok(())
                }
                Ok(Err(e)) if e.is_permanent() => Err(DeliverError::Setup(format!(
                    "{server} refuses the sender {sender}: {e}"
                ))),
                Ok(Err(e)) => Err(DeliverError::unreachable(format!(
                    "{server} did not accept MAIL FROM:<{sender}>: {e}"
                ))),
            }
        }
        TransportSpec::Outbox { dir } => std::fs::create_dir_all(dir)
            .map_err(io(format!("cannot create the outbox {}", dir.display()))),
        TransportSpec::Sendmail { .. } => Ok(()),
    }
}
