//! A real SMTP server (RFC 5321) on 127.0.0.1 for the integration tests, with fault injection.
//!
//! Why it exists: paperwire's delivery code has to be tested against a server that speaks the
//! protocol byte for byte (greeting, EHLO, pipelining, DATA with dot-stuffing, reply codes) and
//! that can misbehave on cue: greylist (451), refuse (550), drop the connection in the middle of
//! DATA, swallow a message and never answer, reject after DATA (554). The `mailin-embedded`
//! crate did not fit (it does not build without its TLS feature, and with it drags in a second
//! crypto stack), so this is a small server of our own.
//!
//! It runs on its own thread with its own single-threaded tokio runtime, so sync tests and
//! `#[tokio::test]`s can both use it, and every connection is a task of its own. Dropping the
//! [`SmtpServer`] stops the runtime, which closes every socket (including the "hung" ones).
//!
//! ```ignore
//! let server = SmtpServer::with_faults(
//!     Faults::new().temp_fail_times("grey@example.org", 1).perm_fail("nobody@example.org"),
//! );
//! // … point the code under test at server.url() …
//! let got = server.wait_for(2, Duration::from_secs(5));
//! assert_eq!(server.outcomes("grey@example.org"), [Outcome::TempFailed, Outcome::Delivered]);
//! let mail = got[0].summary(); // From, To, Subject, List-* headers, text and HTML parts
//! ```
//!
//! TLS: [`SmtpServerBuilder::starttls`] advertises STARTTLS and upgrades on it (the client must
//! then say EHLO again), [`SmtpServerBuilder::implicit_tls`] speaks TLS from the first byte.
//! Both take a [`TestCert`]: a throwaway CA (whose PEM goes in `delivery.tls_ca_file`) and a
//! server certificate it issued, made with rcgen and served with rustls (*ring*). Each
//! [`Received`] says whether it came over TLS.
//!
//! Fault rules are decided per recipient address (compared case-insensitively) with counters
//! shared across connections:
//! * at RCPT, `perm_fail` answers 550 every time; otherwise the first `temp_fail_times` RCPTs of
//!   the address get 451 and later ones 250;
//! * at DATA, each recipient's transactions that reach DATA are counted: the first
//!   `drop_in_data` of them are cut off mid-body, the next `hang_after_data` are read to the end
//!   and never answered, and after those `reject_data` (if set) answers 554. With several
//!   recipients in one transaction the worst fault wins (drop, then hang, then reject).

#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The server's name in its greeting and EHLO reply.
pub const SERVER_NAME: &str = "smtp.paperwire.test";
/// The default `SIZE` limit advertised in EHLO and enforced on DATA (bytes).
pub const DEFAULT_MAX_SIZE: usize = 10 * 1024 * 1024;
/// The longest command line accepted (RFC 5321 says 512; we are lenient up to this).
const MAX_COMMAND_LINE: usize = 4096;

// ---------------------------------------------------------------------------------------------
// What tests see.

/// One message the server accepted (answered 250 after DATA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The envelope sender from `MAIL FROM:<…>` (empty for the null path `<>`).
    pub mail_from: String,
    /// The accepted envelope recipients, in RCPT order, as the client spelled them.
    pub rcpt_to: Vec<String>,
    /// The message as transmitted, dot-stuffing undone, without the terminating `.` line.
    pub data: Vec<u8>,
    /// Which TCP connection carried it (1 for the first accepted connection).
    pub connection_id: u64,
    /// The user name that authenticated on the connection, when AUTH is configured.
    pub auth_user: Option<String>,
    /// Whether the message came over TLS (implicit, or after STARTTLS).
    pub tls: bool,
}

impl Received {
    /// The raw message as text (lossy UTF-8), handy for `contains` checks and snapshots.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The message parsed by mail-parser. Panics when it is not a parsable message.
    pub fn parse(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .unwrap_or_else(|| panic!("not a parsable message:\n{}", self.text()))
    }

    /// An owned summary of the headers and bodies tests usually check.
    pub fn summary(&self) -> MailSummary {
        MailSummary::of(self)
    }

    /// Whether `addr` is among the envelope recipients (case-insensitive).
    pub fn is_for(&self, addr: &str) -> bool {
        self.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(addr))
    }
}

/// What happened to one recipient attempt (one RCPT TO command).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// RCPT was accepted and the transaction has not finished (yet): no DATA came, the client
    /// reset, or the connection went away before the end of the data.
    Accepted,
    /// RCPT got `451 4.7.1` (greylisting, `temp_fail_times`).
    TempFailed,
    /// RCPT got `550 5.1.1` (`perm_fail`).
    PermFailed,
    /// The server closed the connection in the middle of DATA (`drop_in_data`).
    Dropped,
    /// The whole DATA was read and never answered (`hang_after_data`).
    Hung,
    /// DATA ended with `554` (`reject_data`) or `552` (too big).
    DataRejected,
    /// DATA ended with `250`; the message is in [`SmtpServer::messages`].
    Delivered,
}

/// One RCPT TO attempt and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The recipient, lowercased.
    pub rcpt: String,
    pub connection_id: u64,
    pub outcome: Outcome,
}

// ---------------------------------------------------------------------------------------------
// Fault rules.

#[derive(Debug, Clone, Default)]
struct AddressRule {
    temp_fail: u32,
    perm_fail: bool,
    drop_in_data: u32,
    hang_after_data: u32,
    reject_data: bool,
}

/// Fault injection rules, given to the server when it starts. Builder style; addresses are
/// matched case-insensitively against RCPT TO. See the module docs for how counts combine.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    rules: HashMap<String, AddressRule>,
    delay_per_message: Option<Duration>,
}

impl Faults {
    pub fn new() -> Self {
        Self::default()
    }

    fn rule(&mut self, addr: &str) -> &mut AddressRule {
        self.rules.entry(addr.to_ascii_lowercase()).or_default()
    }

    /// The first `n` RCPTs for `addr` get `451 4.7.1 Greylisted, try again later`.
    pub fn temp_fail_times(mut self, addr: &str, n: u32) -> Self {
        self.rule(addr).temp_fail = n;
        self
    }

    /// Every RCPT for `addr` gets `550 5.1.1 No such user`.
    pub fn perm_fail(mut self, addr: &str) -> Self {
        self.rule(addr).perm_fail = true;
        self
    }

    /// The first `n` transactions for `addr` that reach DATA: after part of the body arrives the
    /// server closes the connection without a reply.
    pub fn drop_in_data(mut self, addr: &str, n: u32) -> Self {
        self.rule(addr).drop_in_data = n;
        self
    }

    /// The first `n` transactions for `addr` that reach DATA (after any `drop_in_data` ones):
    /// the server reads the whole message and never replies; the socket stays open until the
    /// server is dropped, so the client must time out.
    pub fn hang_after_data(mut self, addr: &str, n: u32) -> Self {
        self.rule(addr).hang_after_data = n;
        self
    }

    /// Transactions for `addr` get `554 5.6.0 Message rejected` after the end of DATA.
    pub fn reject_data(mut self, addr: &str) -> Self {
        self.rule(addr).reject_data = true;
        self
    }

    /// Every message waits this long before its final 250 (to make sends overlap).
    pub fn delay_per_message(mut self, delay: Duration) -> Self {
        self.delay_per_message = Some(delay);
        self
    }
}

/// What a transaction does after DATA, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DataFault {
    Drop,
    Hang,
    Reject,
    None,
}

// ---------------------------------------------------------------------------------------------
// TLS.

/// A throwaway certificate authority and a server certificate it issued (ECDSA P-256, made by
/// rcgen with *ring*).
#[derive(Clone)]
pub struct TestCert {
    ca_pem: String,
    names: Vec<String>,
    config: Arc<rustls::ServerConfig>,
}

impl fmt::Debug for TestCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCert")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

impl TestCert {
    /// A new CA and a certificate for `localhost` and `127.0.0.1` from it.
    pub fn localhost() -> Self {
        Self::for_names(&["localhost", "127.0.0.1"])
    }

    /// A new CA and a certificate from it for `names` (DNS names or IP addresses).
    pub fn for_names(names: &[&str]) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "paperwire test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let ca = rcgen::Issuer::new(ca_params, ca_key);

        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).expect("server params");
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().map_or("server", |n| n.as_str()),
        );
        let key = KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &ca).expect("server certificate");

        let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone(), ca_cert.der().clone()], key_der)
        .expect("server TLS config");
        Self {
            ca_pem: ca_cert.pem(),
            names,
            config: Arc::new(config),
        }
    }

    /// The CA certificate, PEM: what `delivery.tls_ca_file` points at.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsStyle {
    StartTls,
    Implicit,
}

/// The connection, in plain text or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// Only while STARTTLS swaps one for the other.
    Gone,
}

impl Stream {
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(s) => Some(s),
            Stream::Tls(s) => Some(s.get_ref().0),
            Stream::Gone => None,
        }
    }

    fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "TLS upgrade failed")
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Gone => Poll::Ready(Err(gone())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The server.

/// Starts an [`SmtpServer`] with options beyond fault rules.
#[derive(Debug, Clone)]
pub struct SmtpServerBuilder {
    faults: Faults,
    auth: Option<(String, String)>,
    max_size: usize,
    tls: Option<(TlsStyle, TestCert)>,
}

impl SmtpServerBuilder {
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Requires AUTH (PLAIN or LOGIN, advertised in EHLO) with these credentials before MAIL.
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// The `SIZE` limit advertised and enforced (552 when exceeded).
    pub fn max_size(mut self, bytes: usize) -> Self {
        self.max_size = bytes;
        self
    }

    /// Advertises STARTTLS in EHLO and upgrades on it with `cert`; after the upgrade the
    /// client must say EHLO again.
    pub fn starttls(mut self, cert: &TestCert) -> Self {
        self.tls = Some((TlsStyle::StartTls, cert.clone()));
        self
    }

    /// Speaks TLS from the first byte (like port 465) with `cert`.
    pub fn implicit_tls(mut self, cert: &TestCert) -> Self {
        self.tls = Some((TlsStyle::Implicit, cert.clone()));
        self
    }

    pub fn start(self) -> SmtpServer {
        SmtpServer::start_with(self)
    }
}

#[derive(Debug, Default)]
struct Counters {
    rcpt: u32,
    data: u32,
}

#[derive(Debug, Default)]
struct State {
    messages: Vec<Received>,
    counters: HashMap<String, Counters>,
    log: Vec<Attempt>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    connections: AtomicU64,
    active: AtomicU64,
    max_active: AtomicU64,
    faults: Faults,
    auth: Option<(String, String)>,
    max_size: usize,
    tls: Option<(TlsStyle, tokio_rustls::TlsAcceptor)>,
    /// TLS handshakes that failed (the client refused the certificate, say).
    tls_failures: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn rule(&self, addr: &str) -> Option<&AddressRule> {
        self.faults.rules.get(&addr.to_ascii_lowercase())
    }

    fn set_outcome(&self, indexes: impl IntoIterator<Item = usize>, outcome: Outcome) {
        let mut st = self.lock();
        for i in indexes {
            st.log[i].outcome = outcome;
        }
        drop(st);
        self.changed.notify_all();
    }
}

/// A running SMTP server on `127.0.0.1:<ephemeral>`; stops when dropped.
pub struct SmtpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl SmtpServer {
    /// A well-behaved server.
    pub fn start() -> Self {
        Self::builder().start()
    }

    /// A server that misbehaves as `faults` say.
    pub fn with_faults(faults: Faults) -> Self {
        Self::builder().faults(faults).start()
    }

    pub fn builder() -> SmtpServerBuilder {
        SmtpServerBuilder {
            faults: Faults::default(),
            auth: None,
            max_size: DEFAULT_MAX_SIZE,
            tls: None,
        }
    }

    fn start_with(opts: SmtpServerBuilder) -> Self {
        // Bind here, synchronously, so the port is listening before `start` returns.
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0 for SMTP");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("listener address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            connections: AtomicU64::new(0),
            active: AtomicU64::new(0),
            max_active: AtomicU64::new(0),
            faults: opts.faults,
            auth: opts.auth,
            max_size: opts.max_size,
            tls: opts.tls.map(|(style, cert)| {
                (
                    style,
                    tokio_rustls::TlsAcceptor::from(Arc::clone(&cert.config)),
                )
            }),
            tls_failures: AtomicU64::new(0),
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("smtp-test-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("SMTP test runtime");
                rt.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("tokio listener");
                    tokio::select! {
                        () = accept_loop(listener, thread_shared) => {}
                        _ = rx => {}
                    }
                });
                // Dropping the runtime drops every connection task and so closes its socket.
                drop(rt);
            })
            .expect("spawn SMTP test thread");
        Self {
            addr,
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `smtp://127.0.0.1:PORT`, for `delivery.smtp_url` or `PAPERWIRE_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// How many TLS handshakes failed (implicit or after STARTTLS).
    pub fn tls_failures(&self) -> u64 {
        self.shared.tls_failures.load(Ordering::SeqCst)
    }

    /// Every accepted message so far, in the order the server answered 250.
    pub fn messages(&self) -> Vec<Received> {
        self.shared.lock().messages.clone()
    }

    /// The accepted messages with `addr` among their envelope recipients.
    pub fn messages_to(&self, addr: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.is_for(addr))
            .collect()
    }

    /// Blocks until at least `n` messages were accepted or `timeout` passed, then returns all of
    /// them (possibly fewer than `n`: assert on the length). Safe in async tests only while
    /// the sender runs elsewhere (a child process, another thread); else use
    /// [`SmtpServer::wait_for_async`].
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        while st.messages.len() < n {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        st.messages.clone()
    }

    /// [`SmtpServer::wait_for`] without blocking the async test's thread.
    pub async fn wait_for_async(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let msgs = self.messages();
            if msgs.len() >= n || Instant::now() >= deadline {
                return msgs;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Blocks until `done(self)` holds or `timeout` passed; returns whether it held.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&SmtpServer) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// How many TCP connections were accepted.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// The most connections that were open at the same time.
    pub fn max_concurrent_connections(&self) -> u64 {
        self.shared.max_active.load(Ordering::SeqCst)
    }

    /// How many RCPT TO commands named `addr` (case-insensitive), whatever their outcome.
    pub fn attempts(&self, addr: &str) -> u32 {
        let key = addr.to_ascii_lowercase();
        self.shared.lock().counters.get(&key).map_or(0, |c| c.rcpt)
    }

    /// The outcome of each RCPT attempt for `addr`, oldest first.
    pub fn outcomes(&self, addr: &str) -> Vec<Outcome> {
        let key = addr.to_ascii_lowercase();
        self.shared
            .lock()
            .log
            .iter()
            .filter(|a| a.rcpt == key)
            .map(|a| a.outcome)
            .collect()
    }

    /// Every RCPT attempt on the server, oldest first.
    pub fn all_attempts(&self) -> Vec<Attempt> {
        self.shared.lock().log.clone()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let id = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
                let active = shared.active.fetch_add(1, Ordering::SeqCst) + 1;
                shared.max_active.fetch_max(active, Ordering::SeqCst);
                let session = Session::new(stream, id, Arc::clone(&shared));
                tokio::spawn(session.run());
            }
            // Out of file descriptors and the like: back off and keep serving.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One connection.

struct Transaction {
    mail_from: String,
    /// Accepted recipients: (as spelled, index into the attempt log).
    rcpts: Vec<(String, usize)>,
    /// Whether any RCPT was tried (to tell 503 "need RCPT" from 554 "no valid recipients").
    rcpt_tried: bool,
}

/// Lowers the active-connection gauge however the task ends (also when the runtime drops it).
struct ActiveGuard(Arc<Shared>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Session {
    stream: Stream,
    buf: Vec<u8>,
    id: u64,
    shared: Arc<Shared>,
    _active: ActiveGuard,
    greeted: bool,
    auth_user: Option<String>,
    tx: Option<Transaction>,
}

/// Whether to keep serving the connection after a command.
enum Next {
    Continue,
    Close,
    /// Never answer again; hold the socket until the server is dropped.
    Hang,
}

impl Session {
    fn new(stream: TcpStream, id: u64, shared: Arc<Shared>) -> Self {
        Self {
            stream: Stream::Plain(stream),
            buf: Vec::new(),
            id,
            _active: ActiveGuard(Arc::clone(&shared)),
            shared,
            greeted: false,
            auth_user: None,
            tx: None,
        }
    }

    async fn run(mut self) {
        if let Some((TlsStyle::Implicit, _)) = &self.shared.tls
            && !self.upgrade().await
        {
            return;
        }
        if self
            .reply(&format!("220 {SERVER_NAME} ESMTP ready"))
            .await
            .is_err()
        {
            return;
        }
        loop {
            let line = match self.read_line(Some(MAX_COMMAND_LINE)).await {
                Ok(Some(Ok(line))) => line,
                Ok(Some(Err(()))) => {
                    if self.reply("500 5.5.2 Line too long").await.is_err() {
                        return;
                    }
                    continue;
                }
                Ok(None) | Err(_) => break,
            };
            match self.command(&line).await {
                Ok(Next::Continue) => {}
                Ok(Next::Close) | Err(_) => break,
                Ok(Next::Hang) => std::future::pending::<()>().await,
            }
        }
        // The client went away (or quit) mid-transaction: its accepted RCPTs stay `Accepted`.
    }

    /// The next line including its `\n`, or `None` at end of stream. With a `limit`, a longer
    /// line is discarded and reported as `Err(())`.
    async fn read_line(
        &mut self,
        limit: Option<usize>,
    ) -> std::io::Result<Option<Result<Vec<u8>, ()>>> {
        let mut scanned = 0;
        let mut too_long = false;
        loop {
            if let Some(pos) = self.buf[scanned..].iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=scanned + pos).collect();
                let too_long = too_long || limit.is_some_and(|l| line.len() > l);
                return Ok(Some(if too_long { Err(()) } else { Ok(line) }));
            }
            if let Some(limit) = limit
                && self.buf.len() > limit
            {
                // Keep reading until the end of this line, but do not keep its bytes.
                too_long = true;
                self.buf.clear();
            }
            scanned = self.buf.len();
            let mut chunk = [0u8; 16 * 1024];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn reply(&mut self, text: &str) -> std::io::Result<()> {
        self.stream
            .write_all(format!("{text}\r\n").as_bytes())
            .await?;
        self.stream.flush().await
    }

    async fn command(&mut self, raw: &[u8]) -> std::io::Result<Next> {
        let line = String::from_utf8_lossy(raw);
        let line = line.trim_end_matches(['\r', '\n']);
        let (verb, arg) = match line.split_once(' ') {
            Some((v, a)) => (v, a.trim()),
            None => (line, ""),
        };
        let verb = verb.to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => self.hello(&verb, arg).await?,
            "MAIL" => self.mail(arg).await?,
            "RCPT" => self.rcpt(arg).await?,
            "DATA" => return self.data(arg).await,
            "AUTH" => return self.auth(arg).await,
            "RSET" => {
                self.tx = None;
                self.reply("250 2.0.0 OK").await?;
            }
            "NOOP" => self.reply("250 2.0.0 OK").await?,
            "VRFY" => {
                self.reply(
                    "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery",
                )
                .await?
            }
            "HELP" => self.reply("214 2.0.0 See RFC 5321").await?,
            "QUIT" => {
                self.reply(&format!("221 2.0.0 {SERVER_NAME} closing connection"))
                    .await?;
                return Ok(Next::Close);
            }
            "STARTTLS" if self.offers_starttls() => return self.starttls(arg).await,
            "EXPN" | "TURN" | "ETRN" | "STARTTLS" => {
                self.reply("502 5.5.1 Command not implemented").await?
            }
            _ => self.reply("500 5.5.2 Command unrecognized").await?,
        }
        Ok(Next::Continue)
    }

    async fn hello(&mut self, verb: &str, arg: &str) -> std::io::Result<()> {
        if arg.is_empty() {
            return self
                .reply(&format!("501 5.5.4 Syntax: {verb} hostname"))
                .await;
        }
        self.greeted = true;
        self.tx = None;
        if verb == "HELO" {
            return self.reply(&format!("250 {SERVER_NAME} hello {arg}")).await;
        }
        let mut lines = vec![
            format!("{SERVER_NAME} hello {arg}"),
            "PIPELINING".to_owned(),
            "8BITMIME".to_owned(),
            format!("SIZE {}", self.shared.max_size),
            "ENHANCEDSTATUSCODES".to_owned(),
        ];
        if self.offers_starttls() && !self.stream.is_tls() {
            lines.push("STARTTLS".to_owned());
        }
        if self.shared.auth.is_some() {
            lines.push("AUTH PLAIN LOGIN".to_owned());
        }
        let last = lines.len() - 1;
        let text = lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("250{}{l}\r\n", if i == last { ' ' } else { '-' }))
            .collect::<String>();
        self.stream.write_all(text.as_bytes()).await?;
        self.stream.flush().await
    }

    async fn mail(&mut self, arg: &str) -> std::io::Result<()> {
        if !self.greeted {
            return self.reply("503 5.5.1 Send EHLO/HELO first").await;
        }
        if self.shared.auth.is_some() && self.auth_user.is_none() {
            return self.reply("530 5.7.0 Authentication required").await;
        }
        if self.tx.is_some() {
            return self.reply("503 5.5.1 Nested MAIL command").await;
        }
        let Some(rest) = strip_prefix_ci(arg, "FROM:") else {
            return self.reply("501 5.5.4 Syntax: MAIL FROM:<address>").await;
        };
        let Some((from, params)) = parse_path(rest) else {
            return self.reply("501 5.1.7 Bad sender address syntax").await;
        };
        for param in params.split_whitespace() {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            match key.to_ascii_uppercase().as_str() {
                "SIZE" => match value.parse::<usize>() {
                    Ok(size) if size > self.shared.max_size => {
                        return self
                            .reply("552 5.3.4 Message size exceeds fixed maximum message size")
                            .await;
                    }
                    Ok(_) => {}
                    Err(_) => return self.reply("501 5.5.4 Bad SIZE parameter").await,
                },
                "BODY" if ["7BIT", "8BITMIME"].contains(&value.to_ascii_uppercase().as_str()) => {}
                _ => {
                    return self
                        .reply(&format!("555 5.5.4 Unsupported parameter {param}"))
                        .await;
                }
            }
        }
        self.tx = Some(Transaction {
            mail_from: from,
            rcpts: Vec::new(),
            rcpt_tried: false,
        });
        self.reply("250 2.1.0 Sender OK").await
    }

    async fn rcpt(&mut self, arg: &str) -> std::io::Result<()> {
        let Some(tx) = self.tx.as_mut() else {
            return self.reply("503 5.5.1 Need MAIL command first").await;
        };
        let Some(rest) = strip_prefix_ci(arg, "TO:") else {
            return self.reply("501 5.5.4 Syntax: RCPT TO:<address>").await;
        };
        let to = match parse_path(rest) {
            Some((to, params))
                if (to.contains('@') || to.eq_ignore_ascii_case("postmaster"))
                    && params.trim().is_empty() =>
            {
                to
            }
            Some((_, params)) if !params.trim().is_empty() => {
                return self.reply("555 5.5.4 RCPT parameters not supported").await;
            }
            _ => return self.reply("501 5.1.3 Bad recipient address syntax").await,
        };
        tx.rcpt_tried = true;
        let key = to.to_ascii_lowercase();
        let rule = self.shared.rule(&key).cloned().unwrap_or_default();
        let reply = {
            let mut st = self.shared.lock();
            let counters = st.counters.entry(key.clone()).or_default();
            counters.rcpt += 1;
            let n = counters.rcpt;
            let (outcome, reply) = if rule.perm_fail {
                (Outcome::PermFailed, "550 5.1.1 No such user")
            } else if n <= rule.temp_fail {
                (Outcome::TempFailed, "451 4.7.1 Greylisted, try again later")
            } else {
                (Outcome::Accepted, "250 2.1.5 Recipient OK")
            };
            st.log.push(Attempt {
                rcpt: key,
                connection_id: self.id,
                outcome,
            });
            let index = st.log.len() - 1;
            if outcome == Outcome::Accepted {
                tx.rcpts.push((to, index));
            }
            reply
        };
        self.shared.changed.notify_all();
        self.reply(reply).await
    }

    async fn data(&mut self, arg: &str) -> std::io::Result<Next> {
        if !arg.is_empty() {
            self.reply("501 5.5.4 DATA takes no arguments").await?;
            return Ok(Next::Continue);
        }
        let Some(tx) = self.tx.as_ref() else {
            self.reply("503 5.5.1 Need MAIL command first").await?;
            return Ok(Next::Continue);
        };
        if tx.rcpts.is_empty() {
            let text = if tx.rcpt_tried {
                "554 5.5.1 No valid recipients"
            } else {
                "503 5.5.1 Need RCPT command first"
            };
            self.reply(text).await?;
            return Ok(Next::Continue);
        }
        let tx = self.tx.take().expect("checked above");
        let indexes: Vec<usize> = tx.rcpts.iter().map(|(_, i)| *i).collect();

        // Count this transaction for each recipient and pick the worst fault among them.
        let fault = {
            let mut st = self.shared.lock();
            let mut worst = DataFault::None;
            for (to, _) in &tx.rcpts {
                let key = to.to_ascii_lowercase();
                let counters = st.counters.entry(key.clone()).or_default();
                counters.data += 1;
                let k = counters.data;
                let fault = match self.shared.rule(&key) {
                    Some(r) if k <= r.drop_in_data => DataFault::Drop,
                    Some(r) if k <= r.drop_in_data + r.hang_after_data => DataFault::Hang,
                    Some(r) if r.reject_data => DataFault::Reject,
                    _ => DataFault::None,
                };
                worst = worst.min(fault);
            }
            worst
        };

        self.reply("354 Start mail input; end with <CRLF>.<CRLF>")
            .await?;

        if fault == DataFault::Drop {
            // Wait for part of the body, then cut the connection without a word (RST).
            if self.buf.is_empty() {
                let mut chunk = [0u8; 1024];
                let _ = self.stream.read(&mut chunk).await;
            }
            self.shared.set_outcome(indexes, Outcome::Dropped);
            if let Some(tcp) = self.stream.tcp() {
                let _ = tcp.set_zero_linger();
            }
            return Ok(Next::Close);
        }

        let mut data = Vec::new();
        let mut too_big = false;
        loop {
            let line = match self.read_line(None).await? {
                Some(Ok(line)) => line,
                Some(Err(())) => unreachable!("no limit on data lines"),
                None => return Ok(Next::Close),
            };
            if line == b".\r\n" || line == b".\n" {
                break;
            }
            let content = line.strip_prefix(b".").unwrap_or(&line);
            if data.len() + content.len() > self.shared.max_size {
                too_big = true;
            } else {
                data.extend_from_slice(content);
            }
        }

        match fault {
            DataFault::Hang => {
                self.shared.set_outcome(indexes, Outcome::Hung);
                return Ok(Next::Hang);
            }
            DataFault::Reject => {
                self.shared.set_outcome(indexes, Outcome::DataRejected);
                self.reply("554 5.6.0 Message rejected").await?;
                return Ok(Next::Continue);
            }
            DataFault::Drop | DataFault::None => {}
        }
        if too_big {
            self.shared.set_outcome(indexes, Outcome::DataRejected);
            self.reply("552 5.3.4 Message size exceeds fixed maximum message size")
                .await?;
            return Ok(Next::Continue);
        }
        if let Some(delay) = self.shared.faults.delay_per_message {
            tokio::time::sleep(delay).await;
        }
        // Store before answering: once the client sees 250, the message is in `messages()`.
        let queued = {
            let mut st = self.shared.lock();
            st.messages.push(Received {
                mail_from: tx.mail_from,
                rcpt_to: tx.rcpts.into_iter().map(|(to, _)| to).collect(),
                data,
                connection_id: self.id,
                auth_user: self.auth_user.clone(),
                tls: self.stream.is_tls(),
            });
            for &i in &indexes {
                st.log[i].outcome = Outcome::Delivered;
            }
            st.messages.len()
        };
        self.shared.changed.notify_all();
        self.reply(&format!("250 2.0.0 OK queued as {queued}"))
            .await?;
        Ok(Next::Continue)
    }

    fn offers_starttls(&self) -> bool {
        matches!(self.shared.tls, Some((TlsStyle::StartTls, _)))
    }

    /// Wraps the plain connection in TLS (server side); `false` when the handshake failed and
    /// the connection is gone.
    async fn upgrade(&mut self) -> bool {
        let Some((_, acceptor)) = self.shared.tls.clone() else {
            return false;
        };
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            return false;
        };
        match acceptor.accept(tcp).await {
            Ok(tls) => {
                self.stream = Stream::Tls(Box::new(tls));
                true
            }
            Err(_) => {
                self.shared.tls_failures.fetch_add(1, Ordering::SeqCst);
                false
            }
        }
    }

    /// RFC 3207: `220`, the handshake, then a fresh start (the client must EHLO again).
    async fn starttls(&mut self, arg: &str) -> std::io::Result<Next> {
        if !arg.is_empty() {
            self.reply("501 5.5.4 STARTTLS takes no arguments").await?;
            return Ok(Next::Continue);
        }
        if self.stream.is_tls() {
            self.reply("503 5.5.1 TLS already active").await?;
            return Ok(Next::Continue);
        }
        self.reply("220 2.0.0 Ready to start TLS").await?;
        // Anything the client pipelined after STARTTLS was sent in the clear: drop it.
        self.buf.clear();
        if !self.upgrade().await {
            return Ok(Next::Close);
        }
        self.greeted = false;
        self.auth_user = None;
        self.tx = None;
        Ok(Next::Continue)
    }

    async fn auth(&mut self, arg: &str) -> std::io::Result<Next> {
        let Some((user, password)) = self.shared.auth.clone() else {
            self.reply("502 5.5.1 AUTH not available").await?;
            return Ok(Next::Continue);
        };
        if !self.greeted {
            self.reply("503 5.5.1 Send EHLO first").await?;
            return Ok(Next::Continue);
        }
        if self.auth_user.is_some() || self.tx.is_some() {
            self.reply("503 5.5.1 AUTH not allowed now").await?;
            return Ok(Next::Continue);
        }
        let mut words = arg.split_whitespace();
        let mechanism = words.next().unwrap_or("").to_ascii_uppercase();
        let initial = words.next().map(str::to_owned);
        let (given_user, given_password) = match mechanism.as_str() {
            "PLAIN" => {
                let response = match initial {
                    Some(r) => r,
                    None => match self.challenge("").await? {
                        Some(r) => r,
                        None => return Ok(Next::Close),
                    },
                };
                let Some(decoded) = self.decode_response(&response).await? else {
                    return Ok(Next::Continue);
                };
                let mut fields = decoded.split('\0');
                let _authzid = fields.next();
                (
                    fields.next().unwrap_or("").to_owned(),
                    fields.next().unwrap_or("").to_owned(),
                )
            }
            "LOGIN" => {
                let user_b64 = match initial {
                    Some(r) => r,
                    None => match self.challenge("VXNlcm5hbWU6").await? {
                        Some(r) => r,
                        None => return Ok(Next::Close),
                    },
                };
                let Some(u) = self.decode_response(&user_b64).await? else {
                    return Ok(Next::Continue);
                };
                let Some(pass_b64) = self.challenge("UGFzc3dvcmQ6").await? else {
                    return Ok(Next::Close);
                };
                let Some(p) = self.decode_response(&pass_b64).await? else {
                    return Ok(Next::Continue);
                };
                (u, p)
            }
            _ => {
                self.reply("504 5.5.4 Unrecognized authentication type")
                    .await?;
                return Ok(Next::Continue);
            }
        };
        if given_user == user && given_password == password {
            self.auth_user = Some(given_user);
            self.reply("235 2.7.0 Authentication successful").await?;
        } else {
            self.reply("535 5.7.8 Authentication credentials invalid")
                .await?;
        }
        Ok(Next::Continue)
    }

    /// Sends a `334` challenge and returns the client's response line (`None` at end of stream).
    async fn challenge(&mut self, text: &str) -> std::io::Result<Option<String>> {
        self.reply(&format!("334 {text}")).await?;
        Ok(match self.read_line(Some(MAX_COMMAND_LINE)).await? {
            Some(Ok(line)) => Some(
                String::from_utf8_lossy(&line)
                    .trim_end_matches(['\r', '\n'])
                    .to_owned(),
            ),
            Some(Err(())) => Some(String::new()),
            None => None,
        })
    }

    /// Decodes a base64 SASL response; on `*` or bad base64 answers 501 and returns `None`.
    async fn decode_response(&mut self, response: &str) -> std::io::Result<Option<String>> {
        if response == "*" {
            self.reply("501 5.7.0 Authentication cancelled").await?;
            return Ok(None);
        }
        match base64::engine::general_purpose::STANDARD.decode(response.trim()) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(_) => {
                self.reply("501 5.5.2 Invalid base64").await?;
                Ok(None)
            }
        }
    }
}

/// `s` without a case-insensitive ASCII `prefix`.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Parses `<path> params…` (spaces before `<` tolerated); returns the address without any
/// source route, and the rest of the line.
fn parse_path(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start().strip_prefix('<')?;
    let end = s.find('>')?;
    let inner = &s[..end];
    let addr = match inner.strip_prefix('@') {
        Some(route) => route.split_once(':')?.1,
        None => inner,
    };
    if addr.chars().any(char::is_whitespace) {
        return None;
    }
    Some((addr.to_owned(), &s[end + 1..]))
}

// ---------------------------------------------------------------------------------------------
// Reading messages.

/// The parts of a received message tests usually check, owned and decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailSummary {
    /// The envelope sender (`MAIL FROM`), which a receiving MTA turns into `Return-Path`.
    pub return_path: String,
    /// The envelope recipients.
    pub rcpt_to: Vec<String>,
    /// `From`, formatted `Name <addr>` (or `addr`), several joined by `, `.
    pub from: Option<String>,
    pub to: Option<String>,
    pub reply_to: Option<String>,
    /// Decoded (RFC 2047) subject.
    pub subject: Option<String>,
    /// Without angle brackets.
    pub message_id: Option<String>,
    /// Raw values (unfolded, trimmed).
    pub date: Option<String>,
    pub list_id: Option<String>,
    pub list_unsubscribe: Option<String>,
    pub list_unsubscribe_post: Option<String>,
    /// The top-level `type/subtype`, e.g. `multipart/alternative`.
    pub content_type: Option<String>,
    /// Every part's `type/subtype` in order, the root first.
    pub part_types: Vec<String>,
    /// The first `text/plain` body (decoded), if there is one.
    pub text: Option<String>,
    /// The first `text/html` body (decoded), if there is one.
    pub html: Option<String>,
    /// Every top-level header as (name, unfolded raw value), in order.
    pub headers: Vec<(String, String)>,
}

impl MailSummary {
    pub fn of(received: &Received) -> Self {
        use mail_parser::{MimeHeaders as _, PartType};

        let msg = received.parse();
        let raw = |name: &str| msg.header_raw(name).map(unfold);
        let addresses = |addr: Option<&mail_parser::Address<'_>>| {
            addr.map(|a| {
                a.iter()
                    .map(|m| match (m.name(), m.address()) {
                        (Some(n), Some(a)) => format!("{n} <{a}>"),
                        (None, Some(a)) => a.to_owned(),
                        (Some(n), None) => n.to_owned(),
                        (None, None) => String::new(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
        };
        let ctype = |ct: &mail_parser::ContentType<'_>| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        };
        let part_types = msg
            .parts
            .iter()
            .map(|p| {
                p.content_type()
                    .map(ctype)
                    .unwrap_or_else(|| "text/plain".to_owned())
            })
            .collect();
        let text = msg
            .text_body
            .iter()
            .find_map(|&i| match &msg.parts[i as usize].body {
                PartType::Text(t) => Some(t.to_string()),
                _ => None,
            });
        let html = msg
            .html_body
            .iter()
            .find_map(|&i| match &msg.parts[i as usize].body {
                PartType::Html(t) => Some(t.to_string()),
                _ => None,
            });
        Self {
            return_path: received.mail_from.clone(),
            rcpt_to: received.rcpt_to.clone(),
            from: addresses(msg.from()),
            to: addresses(msg.to()),
            reply_to: addresses(msg.reply_to()),
            subject: msg.subject().map(str::to_owned),
            message_id: msg.message_id().map(str::to_owned),
            date: raw("Date"),
            list_id: raw("List-Id"),
            list_unsubscribe: raw("List-Unsubscribe"),
            list_unsubscribe_post: raw("List-Unsubscribe-Post"),
            content_type: msg.root_part().content_type().map(ctype),
            part_types,
            text,
            html,
            headers: msg
                .headers_raw()
                .map(|(n, v)| (n.to_owned(), unfold(v)))
                .collect(),
        }
    }

    /// The first top-level header called `name` (case-insensitive), unfolded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A raw header value with folding undone and the ends trimmed.
fn unfold(raw: &str) -> String {
    raw.replace("\r\n", "").replace('\n', "").trim().to_owned()
}
