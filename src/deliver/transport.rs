//! Transports: where built messages go. SMTP (one connection per worker, opened by us with
//! `TCP_NODELAY`), an outbox directory of `.eml` files, or the local `sendmail` binary.
//!
//! Every failure is classified once, here: [`Failure::Permanent`] (a 5xx reply: never retried
//! in this edition) or [`Failure::Transient`] (4xx, timeouts, dropped connections: retried,
//! then deferred to the next run).

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncFileTransport, AsyncSendmailTransport, AsyncTransport, Tokio1Executor};

use crate::config::{SmtpEndpoint, TlsMode};

/// How one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Transient(String),
    Permanent(String),
}

impl Failure {
    pub fn detail(&self) -> &str {
        match self {
            Failure::Transient(s) | Failure::Permanent(s) => s,
        }
    }
}

/// What every worker needs to open its transport.
#[derive(Debug, Clone)]
pub enum TransportSpec {
    Smtp {
        endpoint: SmtpEndpoint,
        password: Option<String>,
        timeout: Duration,
    },
    Outbox {
        dir: std::path::PathBuf,
    },
    Sendmail {
        command: Option<String>,
    },
}

/// One worker's transport.
pub enum Transport {
    Smtp(Box<SmtpWorker>),
    Outbox(AsyncFileTransport<Tokio1Executor>),
    Sendmail(AsyncSendmailTransport<Tokio1Executor>),
}

impl TransportSpec {
    pub fn open(&self) -> Transport {
        match self {
            TransportSpec::Smtp {
                endpoint,
                password,
                timeout,
            } => Transport::Smtp(Box::new(SmtpWorker {
                endpoint: endpoint.clone(),
                password: password.clone(),
                timeout: *timeout,
                conn: None,
            })),
            TransportSpec::Outbox { dir } => Transport::Outbox(AsyncFileTransport::new(dir)),
            TransportSpec::Sendmail { command } => Transport::Sendmail(match command {
                Some(c) => AsyncSendmailTransport::new_with_command(c),
                None => AsyncSendmailTransport::new(),
            }),
        }
    }
}

impl Transport {
    /// Sends one message; returns the server's reply (or a description) on success.
    pub async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<String, Failure> {
        match self {
            Transport::Smtp(w) => w.send(envelope, message).await,
            Transport::Outbox(t) => t
                .send_raw(envelope, message)
                .await
                .map(|id| format!("written to outbox as {id}.eml"))
                .map_err(|e| Failure::Transient(format!("cannot write to the outbox: {e}"))),
            Transport::Sendmail(t) => t
                .send_raw(envelope, message)
                .await
                .map(|()| "accepted by sendmail".to_owned())
                .map_err(|e| Failure::Transient(format!("sendmail failed: {e}"))),
        }
    }

    pub async fn close(&mut self) {
        if let Transport::Smtp(w) = self
            && let Some(mut c) = w.conn.take()
        {
            let _ = c.quit().await;
        }
    }
}

/// One SMTP connection, reopened after any failure.
pub struct SmtpWorker {
    endpoint: SmtpEndpoint,
    password: Option<String>,
    timeout: Duration,
    conn: Option<AsyncSmtpConnection>,
}

impl SmtpWorker {
    async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<String, Failure> {
        if self.conn.as_ref().is_none_or(|c| c.has_broken()) {
            self.conn =
                Some(connect(&self.endpoint, self.password.as_deref(), self.timeout).await?);
        }
        let conn = self.conn.as_mut().expect("just connected");
        match tokio::time::timeout(self.timeout * 2, conn.send(envelope, message)).await {
            Ok(Ok(response)) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Ok(Err(e)) => {
                // lettre leaves the connection unusable after an error: start afresh.
                self.conn = None;
                Err(classify(&e, &self.endpoint))
            }
            Err(_) => {
                self.conn = None;
                Err(Failure::Transient(format!(
                    "no reply from {}:{} within {:?}",
                    self.endpoint.host,
                    self.endpoint.port,
                    self.timeout * 2
                )))
            }
        }
    }
}

fn classify(e: &lettre::transport::smtp::Error, endpoint: &SmtpEndpoint) -> Failure {
    let text = e.to_string();
    if e.is_permanent() {
        Failure::Permanent(text)
    } else if e.is_tls()
        || text.contains("WRONG_VERSION_NUMBER")
        || text.contains("corrupt message")
    {
        Failure::Transient(tls_hint(&text, endpoint))
    } else {
        Failure::Transient(text)
    }
}

/// Says which TLS mode to try when the one configured does not match the server.
fn tls_hint(err: &str, endpoint: &SmtpEndpoint) -> String {
    let hint = match endpoint.tls {
        TlsMode::Implicit => format!(
            "the server at {}:{} does not speak TLS from the first byte; if it is a submission port, try smtp://{}:{}?tls=required (STARTTLS)",
            endpoint.host, endpoint.port, endpoint.host, endpoint.port
        ),
        TlsMode::StartTls | TlsMode::Opportunistic => format!(
            "STARTTLS failed at {}:{}; if this is an implicit-TLS port (usually 465), try smtps://{}:{}",
            endpoint.host, endpoint.port, endpoint.host, endpoint.port
        ),
        TlsMode::None => "the server expects TLS; try smtps:// or ?tls=required".to_owned(),
    };
    format!("{err} — {hint}")
}

/// Opens a connection: our own TCP socket with `TCP_NODELAY` (lettre never sets it, and every
/// SMTP command then waits ~40 ms on Nagle + delayed ACK), then EHLO, STARTTLS or implicit TLS
/// as configured, and AUTH when a user is given.
pub async fn connect(
    endpoint: &SmtpEndpoint,
    password: Option<&str>,
    timeout: Duration,
) -> Result<AsyncSmtpConnection, Failure> {
    let hello = ClientId::default();
    let addr = (endpoint.host.as_str(), endpoint.port);
    let tls_params = || {
        TlsParameters::new(endpoint.host.clone())
            .map_err(|e| Failure::Transient(format!("TLS setup for {}: {e}", endpoint.host)))
    };
    let where_ = format!("{}:{}", endpoint.host, endpoint.port);
    let mut conn = if endpoint.tls == TlsMode::Implicit {
        // lettre's own socket here: implicit TLS needs the handshake before the greeting.
        tokio::time::timeout(
            timeout,
            AsyncSmtpConnection::connect_tokio1(addr, Some(timeout), &hello, Some(tls_params()?), None),
        )
        .await
        .map_err(|_| {
            Failure::Transient(format!(
                "no TLS handshake with {where_} within {timeout:?}; if it is a plain or STARTTLS port, try smtp://{where_}?tls=required"
            ))
        })?
        .map_err(|e| Failure::Transient(tls_hint(&format!("cannot connect to {where_}: {e}"), endpoint)))?
    } else {
        let stream = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| {
                Failure::Transient(format!(
                    "cannot connect to {where_}: timed out after {timeout:?}"
                ))
            })?
            .map_err(|e| Failure::Transient(format!("cannot connect to {where_}: {e}")))?;
        stream
            .set_nodelay(true)
            .map_err(|e| Failure::Transient(format!("cannot set TCP_NODELAY: {e}")))?;
        let mut conn = tokio::time::timeout(
            timeout,
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello),
        )
        .await
        .map_err(|_| {
            Failure::Transient(format!(
                "no SMTP greeting from {where_} within {timeout:?}; if it is an implicit-TLS port (usually 465), try smtps://{where_}"
            ))
        })?
        .map_err(|e| Failure::Transient(format!("cannot talk SMTP to {where_}: {e}")))?;
        let offers_starttls = conn
            .server_info()
            .supports_feature(lettre::transport::smtp::extension::Extension::StartTls);
        match endpoint.tls {
            TlsMode::StartTls if !offers_starttls => {
                return Err(Failure::Transient(format!(
                    "{where_} does not offer STARTTLS but tls=required; if it is an implicit-TLS port, try smtps://{where_}"
                )));
            }
            TlsMode::StartTls | TlsMode::Opportunistic if offers_starttls => {
                conn.starttls(tls_params()?, &hello).await.map_err(|e| {
                    Failure::Transient(tls_hint(&format!("STARTTLS with {where_}: {e}"), endpoint))
                })?;
            }
            _ => {}
        }
        conn
    };
    let _ = Tls::None; // (lettre's enum is not used: the modes above are ours)
    if let Some(user) = &endpoint.user {
        let Some(password) = password else {
            return Err(Failure::Permanent(
                "the SMTP URL names a user but PAPERWIRE_SMTP_PASSWORD is not set".to_owned(),
            ));
        };
        if endpoint.tls == TlsMode::None && !endpoint.is_loopback() {
            return Err(Failure::Permanent(format!(
                "refusing to send the SMTP password in clear text to {where_}; use ?tls=required or smtps://"
            )));
        }
        conn.auth(
            &[Mechanism::Plain, Mechanism::Login],
            &Credentials::new(user.clone(), password.to_owned()),
        )
        .await
        .map_err(|e| {
            if e.is_permanent() {
                Failure::Permanent(format!("SMTP AUTH as {user} at {where_} failed: {e}"))
            } else {
                Failure::Transient(format!("SMTP AUTH as {user} at {where_} failed: {e}"))
            }
        })?;
    }
    Ok(conn)
}
