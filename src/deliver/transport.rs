//! Transports: where built messages go. SMTP (one connection per worker, opened by us with
//! `TCP_NODELAY`; implicit TLS done by us with rustls, STARTTLS by lettre; both trusting the
//! web PKI roots plus `delivery.tls_ca_file`), an outbox directory of `.eml` files named for
//! whose message each is, or the local `sendmail` binary.
//!
//! Every failure is classified once, here: [`Failure::Refused`] (the server refused the
//! recipient for good: a 5xx to RCPT TO, or an address or mailbox status after DATA — what
//! counts as a hard bounce), [`Failure::Permanent`] (another 5xx reply, or a wrong setting such
//! as an untrusted certificate: never retried in this edition either, but no fault of the
//! address) or [`Failure::Transient`] (4xx, timeouts, dropped connections: retried, then
//! deferred to the next run).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, CertificateStore, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;
use rustls::pki_types::ServerName;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::config::{ExtraCas, SmtpEndpoint, TlsMode};

/// How one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Transient(String),
    Permanent(String),
    /// The server refused this recipient for good: the address does not take mail.
    Refused(String),
}

impl Failure {
    pub fn detail(&self) -> &str {
        match self {
            Failure::Transient(s) | Failure::Permanent(s) | Failure::Refused(s) => s,
        }
    }
}

/// What every worker needs to open its transport.
#[derive(Debug, Clone)]
pub enum TransportSpec {
    Smtp {
        endpoint: SmtpEndpoint,
        tls: SmtpTls,
        password: Option<SecretString>,
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
    Outbox(Outbox),
    Sendmail(Sendmail),
}

/// Whose message it is: the outbox names its file after it.
#[derive(Debug, Clone, Copy)]
pub struct Label<'a> {
    pub edition: &'a str,
    /// The recipient's position on the subscriber list, from 1.
    pub seq: usize,
    /// Where the message goes (a proof's test address for a proof).
    pub address: &'a str,
    /// A proof (`--test-to`): another person's message sent to `address`.
    pub proof: bool,
}

impl TransportSpec {
    pub fn open(&self) -> Transport {
        match self {
            TransportSpec::Smtp {
                endpoint,
                tls,
                password,
                timeout,
            } => Transport::Smtp(Box::new(SmtpWorker {
                endpoint: endpoint.clone(),
                tls: tls.clone(),
                password: password.clone(),
                timeout: *timeout,
                conn: None,
            })),
            TransportSpec::Outbox { dir } => Transport::Outbox(Outbox { dir: dir.clone() }),
            TransportSpec::Sendmail { command } => Transport::Sendmail(Sendmail {
                command: command.clone().unwrap_or_else(|| "sendmail".to_owned()),
            }),
        }
    }
}

impl Transport {
    /// Sends one message; returns the server's reply (or a description) on success.
    pub async fn send(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
        label: Label<'_>,
    ) -> Result<String, Failure> {
        match self {
            Transport::Smtp(w) => w.send(envelope, message).await,
            Transport::Outbox(t) => t.write(message, label).await,
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

/// An outbox directory: one `.eml` per message, named `<edition>-<seq>-<address>.eml` (the
/// address made safe for a file name), so that `ls` says whose message each file is. Each is
/// written to a hidden temporary file and renamed into place without replacing anything: a
/// reader never sees half a message, and a name already taken (a proof sent with `--test-to`,
/// two addresses that look alike once made safe) gets `-2`, `-3`… instead.
pub struct Outbox {
    dir: std::path::PathBuf,
}

impl Outbox {
    async fn write(&self, message: &[u8], label: Label<'_>) -> Result<String, Failure> {
        let dir = self.dir.clone();
        let stem = outbox_stem(label);
        let bytes = message.to_vec();
        tokio::task::spawn_blocking(move || write_new_eml(&dir, &stem, &bytes))
            .await
            .map_err(|e| Failure::Transient(format!("cannot write to the outbox: {e}")))?
            .map(|path| format!("written to {}", path.display()))
            .map_err(|e| {
                Failure::Transient(format!(
                    "cannot write to the outbox {}: {e}",
                    self.dir.display()
                ))
            })
    }
}

/// `2026-11-28-000042-ada@example.org`: the edition, the list position, and the address with
/// anything but letters, digits and `@._+-` replaced by `_` (and cut at 100 characters). A
/// proof is `2026-11-28-proof-000042-me@example.org`: the position of whose message it is, and
/// the test address it went to.
pub fn outbox_stem(label: Label<'_>) -> String {
    let safe: String = label
        .address
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | '+' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let proof = if label.proof { "proof-" } else { "" };
    format!("{}-{proof}{:06}-{safe}", label.edition, label.seq)
}

/// Writes `bytes` as `dir/<stem>.eml`, or `<stem>-2.eml`… when taken; returns the path.
fn write_new_eml(
    dir: &std::path::Path,
    stem: &str,
    bytes: &[u8],
) -> io::Result<std::path::PathBuf> {
    use std::io::Write;
    let mut file = tempfile::Builder::new()
        .prefix(".paperwire-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    file.write_all(bytes)?;
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{stem}.eml")
        } else {
            format!("{stem}-{n}.eml")
        };
        let path = dir.join(name);
        match file.persist_noclobber(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists && n < 1000 => {
                file = e.file;
                n += 1;
            }
            Err(e) => return Err(e.error),
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
            // sysexits.h: EX_NOUSER, EX_NOHOST — the address does not take mail.
            Some(code @ (67 | 68)) => Err(Failure::Refused(format!(
                "`{}` refused the recipient (exit {code}){said}",
                self.command
            ))),
            // sysexits.h: EX_USAGE, EX_DATAERR, EX_NOPERM.
            Some(code @ (64 | 65 | 77)) => Err(Failure::Permanent(format!(
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
    tls: SmtpTls,
    password: Option<SecretString>,
    timeout: Duration,
    conn: Option<AsyncSmtpConnection>,
}

impl SmtpWorker {
    async fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<String, Failure> {
        if self.conn.as_ref().is_none_or(|c| c.has_broken()) {
            self.conn = Some(
                connect(
                    &self.endpoint,
                    &self.tls,
                    self.password.as_ref().map(ExposeSecret::expose_secret),
                    self.timeout,
                )
                .await
                // The run's preflight connection worked, so a failure to reconnect now (a
                // rotated certificate, a relay restarting) is not this recipient's fault:
                // defer them rather than fail them for good.
                .map_err(|f| Failure::Transient(f.detail().to_owned()))?,
            );
            tracing::info!("connected to {}", self.endpoint.authority());
        }
        let conn = self.conn.as_mut().expect("just connected");
        match tokio::time::timeout(self.timeout * 2, transaction(conn, envelope, message)).await {
            Ok(Ok(response)) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Ok(Err((stage, e))) => {
                // As lettre's own `send`: after an error the connection is given up.
                conn.abort().await;
                self.conn = None;
                Err(classify_at(stage, &e, &self.endpoint))
            }
            Err(_) => {
                self.conn = None;
                Err(Failure::Transient(format!(
                    "no reply from {} within {:?}",
                    self.endpoint.authority(),
                    self.timeout * 2
                )))
            }
        }
    }
}

/// The command of a mail transaction a reply answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Mail,
    Rcpt,
    /// DATA, or the end of the message.
    Data,
}

/// lettre's `send`, one command at a time, so that a failure says which command it answered:
/// a refusal of MAIL FROM is about the sender, of RCPT TO about the recipient.
async fn transaction(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    message: &[u8],
) -> Result<Response, (Stage, lettre::transport::smtp::Error)> {
    let mut options = Vec::new();
    // paperwire's messages are 7-bit (quoted-printable bodies, encoded headers); should one
    // not be, it is declared as lettre would.
    if !message.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), options))
        .await
        .map_err(|e| (Stage::Mail, e))?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new()))
            .await
            .map_err(|e| (Stage::Rcpt, e))?;
    }
    conn.command(Data).await.map_err(|e| (Stage::Data, e))?;
    conn.message(message).await.map_err(|e| (Stage::Data, e))
}

/// A failure of a transaction: a 5xx to RCPT TO refuses the recipient; so does one after
/// DATA whose enhanced status is about the address or the mailbox (X.1.x, X.2.x — servers
/// that check recipients late say so); anything else is classified as before.
fn classify_at(
    stage: Stage,
    e: &lettre::transport::smtp::Error,
    endpoint: &SmtpEndpoint,
) -> Failure {
    let about_the_address = match stage {
        Stage::Mail => false,
        Stage::Rcpt => true,
        Stage::Data => enhanced_subject(&e.to_string()).is_some_and(|s| s == 1 || s == 2),
    };
    if e.is_permanent() && about_the_address {
        Failure::Refused(e.to_string())
    } else {
        classify(e, endpoint)
    }
}

/// The subject of an RFC 3463 enhanced status code (`5.1.1` → 1) in a reply's text.
fn enhanced_subject(text: &str) -> Option<u8> {
    text.split(|c: char| c.is_whitespace() || c == ':' || c == '(' || c == ')')
        .find_map(|word| {
            let mut parts = word.split('.');
            let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
            let number =
                |p: &str| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
            (parts.next().is_none()
                && matches!(class, "2" | "4" | "5")
                && number(subject)
                && number(detail))
            .then(|| subject.parse().ok())
            .flatten()
        })
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
    let at = endpoint.authority();
    let hint = match endpoint.tls {
        TlsMode::Implicit => format!(
            "the server at {at} does not speak TLS from the first byte; if it is a submission port, try smtp://{at}?tls=required (STARTTLS)"
        ),
        TlsMode::StartTls | TlsMode::Opportunistic => format!(
            "STARTTLS failed at {at}; if this is an implicit-TLS port (usually 465), try smtps://{at}"
        ),
        TlsMode::None => "the server expects TLS; try smtps:// or ?tls=required".to_owned(),
    };
    format!("{err} — {hint}")
}

/// What a TLS client trusts: the web PKI roots (`webpki-roots`, built in) plus the CA
/// certificates of `delivery.tls_ca_file`; hostname verification is always on. Built once per
/// run and shared by the workers.
#[derive(Clone)]
pub struct SmtpTls {
    /// For STARTTLS, which lettre performs on the connection it already holds.
    starttls: TlsParameters,
    /// For implicit TLS, which we perform on our own socket (rustls with *ring*).
    implicit: tokio_rustls::TlsConnector,
    /// `delivery.tls_ca_file`, for messages.
    ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for SmtpTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTls")
            .field("domain", &self.starttls.domain())
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

impl SmtpTls {
    /// TLS settings for connections to `endpoint.host`, trusting `extra` on top of the web
    /// PKI roots.
    pub fn new(endpoint: &SmtpEndpoint, extra: Option<&ExtraCas>) -> Result<Self, String> {
        let certs = extra.map_or(&[][..], |e| &e.certs[..]);
        let ca_file = extra.map(|e| e.path.clone());
        let named = |e: &dyn std::fmt::Display| match &ca_file {
            Some(p) => format!("TLS setup for {} with {}: {e}", endpoint.host, p.display()),
            None => format!("TLS setup for {}: {e}", endpoint.host),
        };

        let mut builder = TlsParameters::builder(endpoint.host.clone())
            .certificate_store(CertificateStore::WebpkiRoots);
        for cert in certs {
            builder = builder
                .add_root_certificate(Certificate::from_der(cert.to_vec()).map_err(|e| named(&e))?);
        }
        let starttls = builder.build_rustls().map_err(|e| named(&e))?;

        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in certs {
            roots.add(cert.clone()).map_err(|e| named(&e))?;
        }
        // The provider is named, not taken from a process default: one TLS stack, *ring*.
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| named(&e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Self {
            starttls,
            implicit: tokio_rustls::TlsConnector::from(Arc::new(config)),
            ca_file,
        })
    }
}

/// Our TLS socket for implicit TLS, handed to lettre as a plain stream: lettre cannot wrap a
/// socket it did not open in TLS itself, and it has no way to set `TCP_NODELAY` on one it did.
/// (lettre's `is_encrypted()` says `false` for it: [`connect`] keeps its own flag.)
#[derive(Debug)]
struct TlsSocket(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncRead for TlsSocket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsSocket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsSocket {
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// The rustls error somewhere in `e`'s chain (lettre wraps the `io::Error` that tokio-rustls
/// wraps it in; `io::Error::source` skips its payload, so look inside by hand).
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(inner) = err.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                return Some(r);
            }
            cur = inner.source();
            continue;
        }
        cur = err.source();
    }
    None
}

/// A failed TLS handshake with `where_`. A certificate that is not trusted or names another host
/// or a server that speaks no TLS is a wrong setting that no retry fixes (permanent); a
/// dropped or reset connection may be temporary.
fn handshake_failure(
    e: &(dyn std::error::Error + 'static),
    endpoint: &SmtpEndpoint,
    tls: &SmtpTls,
    what: &str,
) -> Failure {
    let where_ = endpoint.authority();
    let found = rustls_error(e);
    // The rustls error says it all; lettre's wrapping only repeats "Connection error: ".
    let text = match found {
        Some(r) => format!("{what} with {where_} failed: {r}"),
        None => format!("{what} with {where_} failed: {e}"),
    };
    match found {
        Some(rustls::Error::InvalidCertificate(cert)) => {
            use rustls::CertificateError as C;
            let hint = match cert {
                C::NotValidForName | C::NotValidForNameContext { .. } => format!(
                    "the server's certificate is not issued for `{}`; connect by the name on its certificate",
                    endpoint.host
                ),
                C::UnknownIssuer => match &tls.ca_file {
                    Some(p) => format!(
                        "the certificate of {} is not signed by a public CA nor by one in delivery.tls_ca_file ({})",
                        endpoint.host,
                        p.display()
                    ),
                    None => format!(
                        "the certificate of {} is not signed by a public CA; if the server uses a private CA, set delivery.tls_ca_file to its PEM certificate",
                        endpoint.host
                    ),
                },
                _ => format!(
                    "the certificate of {} is not valid; for a private CA, set delivery.tls_ca_file to its PEM certificate",
                    endpoint.host
                ),
            };
            Failure::Permanent(format!("{text} — {hint}"))
        }
        Some(_) => Failure::Permanent(tls_hint(&text, endpoint)),
        None if text.contains("corrupt message") || text.contains("WRONG_VERSION_NUMBER") => {
            Failure::Permanent(tls_hint(&text, endpoint))
        }
        None => Failure::Transient(text),
    }
}

/// Our TCP socket, with `TCP_NODELAY`.
async fn open_socket(endpoint: &SmtpEndpoint, timeout: Duration) -> Result<TcpStream, Failure> {
    let where_ = endpoint.authority();
    let stream = tokio::time::timeout(
        timeout,
        TcpStream::connect((endpoint.host.as_str(), endpoint.port)),
    )
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
    Ok(stream)
}

/// Reads the greeting and sends EHLO on an open stream (plain or TLS), within `timeout`.
async fn greet(
    stream: Box<dyn AsyncTokioStream>,
    hello: &ClientId,
    timeout: Duration,
    where_: &str,
    no_greeting: &str,
) -> Result<AsyncSmtpConnection, Failure> {
    tokio::time::timeout(
        timeout,
        AsyncSmtpConnection::connect_with_transport(stream, hello),
    )
    .await
    .map_err(|_| Failure::Transient(no_greeting.to_owned()))?
    .map_err(|e| Failure::Transient(format!("cannot talk SMTP to {where_}: {e}")))
}

/// Opens a connection: our own TCP socket with `TCP_NODELAY` (lettre never sets it, and every
/// SMTP command then waits ~40 ms on Nagle + delayed ACK), then implicit TLS (ours), EHLO,
/// STARTTLS (lettre's) as configured, and AUTH when a user is given.
pub async fn connect(
    endpoint: &SmtpEndpoint,
    tls: &SmtpTls,
    password: Option<&str>,
    timeout: Duration,
) -> Result<AsyncSmtpConnection, Failure> {
    let hello = ClientId::default();
    let where_ = endpoint.authority();
    let stream = open_socket(endpoint, timeout).await?;
    let (mut conn, mut encrypted) = if endpoint.tls == TlsMode::Implicit {
        let name = ServerName::try_from(endpoint.host.clone()).map_err(|e| {
            Failure::Permanent(format!(
                "`{}` cannot be checked against a TLS certificate: {e}",
                endpoint.host
            ))
        })?;
        let stream = tokio::time::timeout(timeout, tls.implicit.connect(name, stream))
            .await
            .map_err(|_| {
                Failure::Transient(format!(
                    "no TLS handshake with {where_} within {timeout:?}; if it is a plain or STARTTLS port, try smtp://{where_}?tls=required"
                ))
            })?
            .map_err(|e| handshake_failure(&e, endpoint, tls, "TLS handshake"))?;
        let conn = greet(
            Box::new(TlsSocket(stream)),
            &hello,
            timeout,
            &where_,
            &format!("no SMTP greeting from {where_} over TLS within {timeout:?}"),
        )
        .await?;
        (conn, true)
    } else {
        let conn = greet(
            Box::new(stream),
            &hello,
            timeout,
            &where_,
            &format!(
                "no SMTP greeting from {where_} within {timeout:?}; if it is an implicit-TLS port (usually 465), try smtps://{where_}"
            ),
        )
        .await?;
        (conn, false)
    };
    if !encrypted {
        let offers_starttls = conn
            .server_info()
            .supports_feature(lettre::transport::smtp::extension::Extension::StartTls);
        match endpoint.tls {
            TlsMode::StartTls if !offers_starttls => {
                // It greeted in plain text, so it is no implicit-TLS port: smtps:// would not
                // help. Either the server has no TLS at all, or this is not the port meant.
                return Err(Failure::Permanent(format!(
                    "{where_} answered in plain text and does not offer STARTTLS, but the URL asks for it (tls=required); check the port (STARTTLS is usually on 587, implicit TLS on 465 with smtps://), or, for a relay on this machine or a network you trust, use plain smtp://{where_}"
                )));
            }
            TlsMode::StartTls | TlsMode::Opportunistic if offers_starttls => {
                tokio::time::timeout(timeout, conn.starttls(tls.starttls.clone(), &hello))
                    .await
                    .map_err(|_| {
                        Failure::Transient(format!(
                            "no STARTTLS handshake with {where_} within {timeout:?}"
                        ))
                    })?
                    .map_err(|e| handshake_failure(&e, endpoint, tls, "STARTTLS"))?;
                encrypted = conn.is_encrypted();
            }
            _ => {}
        }
    }
    if let Some(user) = &endpoint.user {
        let Some(password) = password else {
            return Err(Failure::Permanent(
                "the SMTP URL names a user but PAPERWIRE_SMTP_PASSWORD is not set".to_owned(),
            ));
        };
        // Only over TLS that was actually negotiated: `tls=opportunistic` against a server
        // that offers no STARTTLS (or has it stripped) must not leak the password.
        if !encrypted && !endpoint.is_loopback() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_status_codes_are_found_in_replies() {
        assert_eq!(
            enhanced_subject("permanent error (550): 5.1.1 <gone@example.org>: No such user"),
            Some(1)
        );
        assert_eq!(enhanced_subject("552 5.2.2 Mailbox full"), Some(2));
        assert_eq!(
            enhanced_subject("554 5.7.1 Message rejected as spam"),
            Some(7)
        );
        assert_eq!(
            enhanced_subject("permanent error (554): Message rejected"),
            None
        );
        assert_eq!(enhanced_subject("see 10.1.1.1 or v1.2.3"), None);
    }

    #[test]
    fn outbox_names_say_whose_message_it_is_and_are_never_reused() {
        let label = |address| Label {
            edition: "2026-11-28",
            seq: 42,
            address,
            proof: false,
        };
        assert_eq!(
            outbox_stem(label("Ada.Lovelace+news@Example.org")),
            "2026-11-28-000042-ada.lovelace+news@example.org"
        );
        assert_eq!(
            outbox_stem(label("o'brien/x{}@example.org")),
            "2026-11-28-000042-o_brien_x__@example.org"
        );
        let proof = Label {
            proof: true,
            ..label("me@example.org")
        };
        assert_eq!(outbox_stem(proof), "2026-11-28-proof-000042-me@example.org");
        let long = format!("{}@example.org", "a".repeat(300));
        assert_eq!(
            outbox_stem(label(&long)).len(),
            "2026-11-28-000042-".len() + 100
        );

        let dir = tempfile::tempdir().unwrap();
        let first = write_new_eml(dir.path(), "x", b"one").unwrap();
        let second = write_new_eml(dir.path(), "x", b"two").unwrap();
        assert_eq!(first.file_name().unwrap(), "x.eml");
        assert_eq!(second.file_name().unwrap(), "x-2.eml");
        assert_eq!(std::fs::read(&first).unwrap(), b"one");
        assert_eq!(std::fs::read(&second).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left behind: {names:?}");
    }
}
