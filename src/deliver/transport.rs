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
use lettre::{AsyncFileTransport, AsyncTransport, Tokio1Executor};

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
    Sendmail(Sendmail),
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
            TransportSpec::Sendmail { command } => Transport::Sendmail(Sendmail {
                command: command.clone().unwrap_or_else(|| "sendmail".to_owned()),
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
            Transport::Sendmail(t) => t.send(envelope, message).await,
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

/// The local `sendmail` binary, run as `sendmail -i -f FROM -- TO…` like lettre's sendmail
/// transport, but keeping what lettre's drops: the command's stderr and its exit status, which
/// says whether a failure is permanent (sysexits `EX_NOUSER`, `EX_NOHOST`, `EX_DATAERR`, …) or
/// worth retrying (`EX_TEMPFAIL` and the rest).
pub struct Sendmail {
    command: String,
}

impl Sendmail {
    async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<String, Failure> {
        use tokio::io::AsyncWriteExt;
        let mut cmd = tokio::process::Command::new(&self.command);
        cmd.arg("-i");
        if let Some(from) = envelope.from() {
            cmd.arg("-f").arg(from);
        }
        cmd.arg("--")
            .args(envelope.to().iter().map(ToString::to_string))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| Failure::Transient(format!("cannot run `{}`: {e}", self.command)))?;
        let mut stdin = child.stdin.take().expect("piped");
        let written = stdin.write_all(message).await;
        drop(stdin);
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| Failure::Transient(format!("`{}` did not finish: {e}", self.command)))?;
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        let said = if stderr.is_empty() {
            String::new()
        } else {
            format!(": {stderr}")
        };
        match out.status.code() {
            Some(0) if written.is_ok() => Ok("accepted by sendmail".to_owned()),
            Some(0) => Err(Failure::Transient(format!(
                "`{}` exited before reading the whole message",
                self.command
            ))),
            // sysexits.h: EX_USAGE, EX_DATAERR, EX_NOUSER, EX_NOHOST, EX_NOPERM.
            Some(code @ (64 | 65 | 67 | 68 | 77)) => Err(Failure::Permanent(format!(
                "`{}` refused the message (exit {code}){said}",
                self.command
            ))),
            Some(code) => Err(Failure::Transient(format!(
                "`{}` failed (exit {code}){said}",
                self.command
            ))),
            None => Err(Failure::Transient(format!(
                "`{}` was killed by a signal{said}",
                self.command
            ))),
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
        .map_err(|e| {
            // A refused or reset connection may be temporary; a server that answers in plain
            // text where TLS was expected is a wrong setting that no retry fixes.
            let text = format!("cannot connect to {where_}: {e}");
            if e.is_tls() || text.contains("corrupt message") || text.contains("WRONG_VERSION_NUMBER") {
                Failure::Permanent(tls_hint(&text, endpoint))
            } else {
                Failure::Transient(text)
            }
        })?
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
                return Err(Failure::Permanent(format!(
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
        // Only over TLS that was actually negotiated: `tls=opportunistic` against a server
        // that offers no STARTTLS (or has it stripped) must not leak the password.
        if !conn.is_encrypted() && !endpoint.is_loopback() {
            return Err(Failure::Permanent(format!(
                "refusing to send the SMTP password in clear text to {where_} (no TLS was negotiated); use ?tls=required or smtps://"
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
