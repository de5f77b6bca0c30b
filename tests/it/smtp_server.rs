//! Self-tests of the SMTP server in `harness::smtp`: before other tests trust it to judge
//! paperwire's delivery, prove it with lettre's own client (the one paperwire uses) and with
//! raw TCP — messages arrive intact (dot-stuffing undone, 8-bit bodies kept), every fault does
//! what it says, pipelining and split lines work, many connections are served at once, and
//! STARTTLS and implicit TLS work with lettre's TLS and follow RFC 3207 byte for byte.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::harness::{Faults, Outcome, SmtpServer, TestCert};

const WAIT: Duration = Duration::from_secs(5);

type Transport = AsyncSmtpTransport<Tokio1Executor>;

fn transport(server: &SmtpServer) -> Transport {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(server.port())
        .timeout(Some(Duration::from_secs(5)))
        .build()
}

/// A plain-text message from the digest address to `to`.
fn simple(to: &str, subject: &str) -> Message {
    Message::builder()
        .from("Paperwire <digest@example.org>".parse().unwrap())
        .to(to.parse().unwrap())
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(format!("Hello {to}\n"))
        .unwrap()
}

/// The reply code of a lettre error, if the server sent one.
fn code(err: &lettre::transport::smtp::Error) -> Option<u16> {
    err.status().map(u16::from)
}

const TEXT_BODY: &str = "Hello Ada,\n\
.a line that starts with a dot\n\
.\n\
..two dots\n\
the line after a lone dot\n";

const HTML_BODY: &str = "<p>Hello Ada,</p>\n.<p>dot first</p>\n";

#[tokio::test]
async fn lettre_messages_arrive_intact_with_dot_stuffing_undone() {
    let server = SmtpServer::start();
    let smtp = transport(&server);

    let first = Message::builder()
        .from("Paperwire <digest@example.org>".parse().unwrap())
        .reply_to("editor@example.org".parse().unwrap())
        .to("Ada <ada@example.org>".parse().unwrap())
        .subject("Trending Papers — 2026-11-28")
        .message_id(Some("<2026-11-28.ada@test.example.org>".to_owned()))
        .multipart(MultiPart::alternative_plain_html(
            TEXT_BODY.to_owned(),
            HTML_BODY.to_owned(),
        ))
        .unwrap();
    let second = Message::builder()
        .from("Paperwire <digest@example.org>".parse().unwrap())
        .to("Grace Hopper <grace@example.org>".parse().unwrap())
        .cc("alan@example.org".parse().unwrap())
        .subject("Second")
        .header(ContentType::TEXT_PLAIN)
        .body("just text\n".to_owned())
        .unwrap();

    let reply = smtp.send(first).await.expect("first message accepted");
    assert_eq!(u16::from(reply.code()), 250);
    smtp.send(second).await.expect("second message accepted");

    let got = server.wait_for(2, WAIT);
    assert_eq!(got.len(), 2);
    assert_eq!(
        server.connections(),
        2,
        "lettre without a pool: one connection each"
    );

    let m = &got[0];
    assert_eq!(m.mail_from, "digest@example.org");
    assert_eq!(m.rcpt_to, ["ada@example.org"]);
    assert_eq!(m.connection_id, 1);
    assert_eq!(m.auth_user, None);
    let raw = m.text();
    assert!(
        raw.contains("\r\n.a line that starts with a dot\r\n"),
        "{raw}"
    );
    assert!(raw.contains("\r\n.\r\n..two dots\r\n"), "{raw}");
    assert!(
        !raw.contains("\r\n..a line"),
        "dot-stuffing left in:\n{raw}"
    );
    assert!(!raw.ends_with("\r\n.\r\n"), "terminator kept:\n{raw}");

    let s = m.summary();
    assert_eq!(s.from.as_deref(), Some("Paperwire <digest@example.org>"));
    assert_eq!(s.to.as_deref(), Some("Ada <ada@example.org>"));
    assert_eq!(s.reply_to.as_deref(), Some("editor@example.org"));
    assert_eq!(s.subject.as_deref(), Some("Trending Papers — 2026-11-28"));
    assert_eq!(s.return_path, "digest@example.org");
    assert_eq!(
        s.message_id.as_deref(),
        Some("2026-11-28.ada@test.example.org")
    );
    assert!(s.date.is_some(), "{s:?}");
    assert_eq!(s.content_type.as_deref(), Some("multipart/alternative"));
    assert_eq!(
        s.part_types,
        ["multipart/alternative", "text/plain", "text/html"]
    );
    let text = s.text.as_deref().unwrap().replace("\r\n", "\n");
    assert_eq!(text, TEXT_BODY);
    let html = s.html.as_deref().unwrap().replace("\r\n", "\n");
    assert_eq!(html, HTML_BODY);
    assert!(s.header("MIME-Version").is_some());

    let m = &got[1];
    assert_eq!(m.rcpt_to, ["grace@example.org", "alan@example.org"]);
    assert_eq!(m.connection_id, 2);
    let s = m.summary();
    assert_eq!(s.part_types, ["text/plain"]);
    assert_eq!(s.html, None);
    assert_eq!(s.text.as_deref().map(str::trim_end), Some("just text"));
    assert_eq!(server.outcomes("alan@example.org"), [Outcome::Delivered]);
}

#[tokio::test]
async fn eight_bit_bodies_arrive_unencoded() {
    let server = SmtpServer::start();
    let body = "Grüße — naïve café ✓\n";
    let msg = Message::builder()
        .from("digest@example.org".parse().unwrap())
        .to("ada@example.org".parse().unwrap())
        .subject("8bit")
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .header(ContentTransferEncoding::EightBit)
                .body(body.to_owned()),
        )
        .unwrap();
    transport(&server).send(msg).await.expect("accepted");
    let got = server.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    assert!(
        got[0].text().contains("Grüße — naïve café ✓"),
        "{}",
        got[0].text()
    );
    let text = got[0].summary().text.unwrap().replace("\r\n", "\n");
    // lettre ends the data with CRLF.CRLF even after a CRLF, so trailing blank lines vary.
    assert_eq!(text.trim_end(), body.trim_end(), "raw: {:?}", got[0].text());
}

#[tokio::test]
async fn greylisted_recipient_gets_451_until_its_count_is_used_up() {
    // The rule is set in one case and the recipient written in another.
    let server = SmtpServer::with_faults(Faults::new().temp_fail_times("Grey@Example.org", 2));
    let smtp = transport(&server);

    for _ in 0..2 {
        let err = smtp
            .send(simple("grey@example.ORG", "hi"))
            .await
            .expect_err("greylisted");
        assert!(err.is_transient(), "{err}");
        assert_eq!(code(&err), Some(451));
        assert!(err.to_string().contains("Greylisted"), "{err}");
    }
    smtp.send(simple("grey@example.ORG", "hi"))
        .await
        .expect("third attempt accepted");

    assert_eq!(server.attempts("grey@example.org"), 3);
    assert_eq!(
        server.outcomes("GREY@example.org"),
        [Outcome::TempFailed, Outcome::TempFailed, Outcome::Delivered]
    );
    assert_eq!(server.messages_to("grey@example.org").len(), 1);
    assert_eq!(server.messages()[0].rcpt_to, ["grey@example.ORG"]);
}

#[tokio::test]
async fn unknown_user_gets_550_every_time() {
    let server = SmtpServer::with_faults(Faults::new().perm_fail("nobody@example.org"));
    let smtp = transport(&server);
    for _ in 0..2 {
        let err = smtp
            .send(simple("nobody@example.org", "hi"))
            .await
            .expect_err("no such user");
        assert!(err.is_permanent(), "{err}");
        assert_eq!(code(&err), Some(550));
    }
    smtp.send(simple("ada@example.org", "hi"))
        .await
        .expect("other addresses unaffected");
    assert_eq!(server.attempts("nobody@example.org"), 2);
    assert_eq!(
        server.outcomes("nobody@example.org"),
        [Outcome::PermFailed, Outcome::PermFailed]
    );
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_to, ["ada@example.org"]);
}

#[tokio::test]
async fn drop_in_data_is_a_connection_error_without_a_reply_code() {
    let server = SmtpServer::with_faults(Faults::new().drop_in_data("ada@example.org", 1));
    let smtp = transport(&server);

    let err = smtp
        .send(simple("ada@example.org", "dropped"))
        .await
        .expect_err("connection cut in DATA");
    assert!(!err.is_permanent() && !err.is_transient(), "{err}");
    assert_eq!(code(&err), None, "no SMTP reply was sent: {err}");
    assert!(server.messages().is_empty());
    assert_eq!(server.outcomes("ada@example.org"), [Outcome::Dropped]);

    smtp.send(simple("ada@example.org", "again"))
        .await
        .expect("second attempt accepted");
    assert_eq!(
        server.outcomes("ada@example.org"),
        [Outcome::Dropped, Outcome::Delivered]
    );
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn hang_after_data_leaves_the_client_waiting_until_it_times_out() {
    let server = SmtpServer::with_faults(Faults::new().hang_after_data("ada@example.org", 1));
    // Note: lettre 0.11's async `.timeout()` bounds only the TCP connect, not the replies, so
    // a caller has to put its own timeout around `send` (as paperwire must for timeout_secs).
    let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(server.port())
        .timeout(Some(Duration::from_millis(500)))
        .build();

    let started = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_millis(500),
        smtp.send(simple("ada@example.org", "swallowed")),
    )
    .await;
    let waited = started.elapsed();
    match result {
        Err(_elapsed) => {}
        Ok(Err(e)) => assert!(e.is_timeout(), "expected a timeout, got {e}"),
        Ok(Ok(reply)) => panic!("a hung server answered: {reply:?}"),
    }
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert!(
        server.wait_until(WAIT, |s| s.outcomes("ada@example.org") == [Outcome::Hung]),
        "{:?}",
        server.all_attempts()
    );
    assert!(
        server.messages().is_empty(),
        "a hung message is not accepted"
    );

    // Only the first attempt hangs.
    tokio::time::timeout(WAIT, smtp.send(simple("ada@example.org", "again")))
        .await
        .expect("no hang the second time")
        .expect("accepted");
    assert_eq!(
        server.outcomes("ada@example.org"),
        [Outcome::Hung, Outcome::Delivered]
    );
    // Dropping the server must not wait for the hung connection.
    let started = Instant::now();
    drop(server);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn reject_data_gets_554_after_the_body() {
    let server = SmtpServer::with_faults(Faults::new().reject_data("ada@example.org"));
    let err = transport(&server)
        .send(simple("ada@example.org", "rejected"))
        .await
        .expect_err("rejected after DATA");
    assert!(err.is_permanent(), "{err}");
    assert_eq!(code(&err), Some(554));
    assert_eq!(server.attempts("ada@example.org"), 1);
    assert_eq!(server.outcomes("ada@example.org"), [Outcome::DataRejected]);
    assert!(server.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_connections_are_served_at_the_same_time() {
    const N: usize = 16;
    let server =
        SmtpServer::with_faults(Faults::new().delay_per_message(Duration::from_millis(100)));
    let smtp = transport(&server);
    let sends: Vec<_> = (0..N)
        .map(|i| {
            let smtp = smtp.clone();
            tokio::spawn(async move { smtp.send(simple(&format!("u{i}@example.org"), "c")).await })
        })
        .collect();
    for send in sends {
        send.await.unwrap().expect("accepted");
    }
    let got = server.wait_for(N, WAIT);
    assert_eq!(got.len(), N);
    assert_eq!(server.connections(), N as u64);
    let mut ids: Vec<u64> = got.iter().map(|m| m.connection_id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), N, "one connection per message");
    assert!(
        server.max_concurrent_connections() >= 2,
        "connections were served one at a time"
    );
    for i in 0..N {
        assert_eq!(server.messages_to(&format!("U{i}@example.org")).len(), 1);
    }
}

#[tokio::test]
async fn auth_is_advertised_and_required_only_when_configured() {
    let server = SmtpServer::builder().auth("mailer", "s3cret").start();
    let good = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(server.port())
        .credentials(Credentials::new("mailer".into(), "s3cret".into()))
        .build();
    good.send(simple("ada@example.org", "authed"))
        .await
        .expect("authenticated send");
    let bad = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(server.port())
        .credentials(Credentials::new("mailer".into(), "wrong".into()))
        .build();
    let err = bad
        .send(simple("ada@example.org", "nope"))
        .await
        .expect_err("wrong password");
    assert_eq!(code(&err), Some(535), "{err}");
    let err = transport(&server)
        .send(simple("ada@example.org", "anonymous"))
        .await
        .expect_err("no credentials");
    assert_eq!(code(&err), Some(530), "{err}");

    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].auth_user.as_deref(), Some("mailer"));

    // AUTH LOGIN over raw TCP, too.
    let mut c = Raw::connect(&server);
    let ehlo = c.cmd("EHLO client.test");
    assert!(
        ehlo.lines.iter().any(|l| l == "AUTH PLAIN LOGIN"),
        "{ehlo:?}"
    );
    assert_eq!(c.cmd("AUTH LOGIN").code, 334);
    assert_eq!(c.cmd("bWFpbGVy").code, 334); // "mailer"
    assert_eq!(c.cmd("czNjcmV0").code, 235); // "s3cret"
    assert_eq!(c.cmd("MAIL FROM:<a@example.org>").code, 250);
}

// ---------------------------------------------------------------------------------------------
// Raw TCP: the protocol itself.

#[derive(Debug)]
struct Reply {
    code: u16,
    /// The text of each line, after the code and separator.
    lines: Vec<String>,
}

struct Raw {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Raw {
    /// Connects and checks the 220 greeting.
    fn connect(server: &SmtpServer) -> Self {
        let stream = TcpStream::connect(server.addr()).expect("connect");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut raw = Self {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        };
        let greeting = raw.reply();
        assert_eq!(greeting.code, 220, "{greeting:?}");
        raw
    }

    fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).expect("write");
    }

    /// Reads one (possibly multi-line) reply.
    fn reply(&mut self) -> Reply {
        read_reply(&mut self.reader)
    }

    fn cmd(&mut self, line: &str) -> Reply {
        self.send(&format!("{line}\r\n"));
        self.reply()
    }

    /// Whether the server has closed the connection (EOF on read).
    fn is_closed(&mut self) -> bool {
        let mut buf = String::new();
        matches!(self.reader.read_line(&mut buf), Ok(0) | Err(_))
    }
}

/// Reads one (possibly multi-line) reply from `reader`.
fn read_reply(reader: &mut impl BufRead) -> Reply {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).expect("read reply");
        assert!(n > 0, "connection closed; replies so far: {lines:?}");
        assert!(line.ends_with("\r\n"), "reply line without CRLF: {line:?}");
        let code: u16 = line[..3].parse().expect("reply code");
        let sep = line.as_bytes()[3];
        lines.push((code, line[4..].trim_end().to_owned()));
        if sep == b' ' {
            break;
        }
        assert_eq!(sep, b'-', "bad separator in {line:?}");
    }
    assert!(lines.iter().all(|(c, _)| *c == lines[0].0), "{lines:?}");
    Reply {
        code: lines[0].0,
        lines: lines.into_iter().map(|(_, l)| l).collect(),
    }
}

const LIST_MESSAGE: &str = "From: Paperwire <digest@example.org>\r\n\
To: Ada <ada@example.org>\r\n\
Subject: =?utf-8?q?Trending_Papers_=E2=80=94_today?=\r\n\
Message-ID: <2026-11-28.ada@test.example.org>\r\n\
Date: Sat, 28 Nov 2026 07:00:00 +0000\r\n\
List-Id: Test Digest <test.example.org>\r\n\
List-Unsubscribe: <https://digest.example.org/unsubscribe?token=abc>,\r\n <mailto:digest@example.org?subject=unsubscribe>\r\n\
List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
..stuffed first line\r\n\
body\r\n";

#[test]
fn pipelined_commands_in_one_write_are_all_answered_in_order() {
    let server = SmtpServer::start();
    let mut c = Raw::connect(&server);
    c.send(
        "EHLO client.test\r\nMAIL FROM:<digest@example.org> BODY=8BITMIME SIZE=600\r\n\
         RCPT TO:<ada@example.org>\r\nRCPT TO:<Alan@Example.org>\r\nDATA\r\n",
    );
    let ehlo = c.reply();
    assert_eq!(ehlo.code, 250);
    for ext in ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"] {
        assert!(
            ehlo.lines.iter().any(|l| l == ext),
            "{ext} missing: {ehlo:?}"
        );
    }
    assert!(
        ehlo.lines.iter().any(|l| l.starts_with("SIZE ")),
        "{ehlo:?}"
    );
    assert!(
        !ehlo
            .lines
            .iter()
            .any(|l| l.starts_with("STARTTLS") || l.starts_with("AUTH")),
        "{ehlo:?}"
    );
    let codes: Vec<u16> = (0..4).map(|_| c.reply().code).collect();
    assert_eq!(codes, [250, 250, 250, 354]);
    // The body and the next commands in one write as well.
    c.send(&format!("{LIST_MESSAGE}.\r\nNOOP\r\nQUIT\r\n"));
    let done = c.reply();
    assert_eq!(done.code, 250, "{done:?}");
    assert!(done.lines[0].starts_with("2.0.0"), "{done:?}");
    assert_eq!(c.reply().code, 250);
    assert_eq!(c.reply().code, 221);
    assert!(c.is_closed(), "QUIT closes the connection");

    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_to, ["ada@example.org", "Alan@Example.org"]);
    let expected = LIST_MESSAGE.replace("\r\n..stuffed", "\r\n.stuffed");
    assert_eq!(got[0].text(), expected);

    let s = got[0].summary();
    assert_eq!(s.subject.as_deref(), Some("Trending Papers — today"));
    assert_eq!(
        s.message_id.as_deref(),
        Some("2026-11-28.ada@test.example.org")
    );
    assert_eq!(s.date.as_deref(), Some("Sat, 28 Nov 2026 07:00:00 +0000"));
    assert_eq!(s.list_id.as_deref(), Some("Test Digest <test.example.org>"));
    assert_eq!(
        s.list_unsubscribe.as_deref(),
        Some(
            "<https://digest.example.org/unsubscribe?token=abc>, \
             <mailto:digest@example.org?subject=unsubscribe>"
        )
    );
    assert_eq!(
        s.list_unsubscribe_post.as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(s.content_type.as_deref(), Some("text/plain"));
    assert_eq!(s.text.as_deref(), Some(".stuffed first line\r\nbody\r\n"));
}

#[test]
fn lines_arriving_byte_by_byte_are_reassembled() {
    let server = SmtpServer::start();
    let mut c = Raw::connect(&server);
    let trickle = |c: &mut Raw, s: &str| {
        for b in s.as_bytes() {
            c.writer.write_all(std::slice::from_ref(b)).unwrap();
        }
    };
    trickle(&mut c, "HELO client.test\r\n");
    let helo = c.reply();
    assert_eq!((helo.code, helo.lines.len()), (250, 1), "{helo:?}");
    trickle(&mut c, "MAIL FROM:<>\r\n");
    assert_eq!(c.reply().code, 250, "null reverse path is allowed");
    trickle(&mut c, "RCPT TO:<ada@example.org>\r\n");
    assert_eq!(c.reply().code, 250);
    trickle(&mut c, "DATA\r\n");
    assert_eq!(c.reply().code, 354);
    trickle(&mut c, "Subject: slow\r\n\r\n...\r\n.x\r\n.\r\n");
    assert_eq!(c.reply().code, 250);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].mail_from, "");
    assert_eq!(got[0].text(), "Subject: slow\r\n\r\n..\r\nx\r\n");
}

#[test]
fn commands_out_of_order_get_503_and_unknown_ones_500() {
    let server = SmtpServer::start();
    let mut c = Raw::connect(&server);
    assert_eq!(c.cmd("MAIL FROM:<a@example.org>").code, 503, "before EHLO");
    assert_eq!(c.cmd("EHLO").code, 501, "EHLO needs a domain");
    assert_eq!(
        c.cmd("ehlo client.test").code,
        250,
        "verbs are case-insensitive"
    );
    assert_eq!(c.cmd("RCPT TO:<b@example.org>").code, 503, "before MAIL");
    assert_eq!(c.cmd("DATA").code, 503, "before MAIL");
    assert_eq!(c.cmd("MAIL TO:<a@example.org>").code, 501);
    assert_eq!(c.cmd("MAIL FROM:a@example.org").code, 501, "needs <>");
    assert_eq!(c.cmd("MAIL FROM:<a@example.org> FROBNICATE=1").code, 555);
    assert_eq!(c.cmd("mail from: <a@example.org>").code, 250);
    assert_eq!(c.cmd("MAIL FROM:<a@example.org>").code, 503, "nested MAIL");
    assert_eq!(c.cmd("DATA").code, 503, "before RCPT");
    assert_eq!(c.cmd("RCPT TO:<>").code, 501);
    assert_eq!(c.cmd("RCPT TO:<not-an-address>").code, 501);
    assert_eq!(c.cmd("FROB").code, 500);
    assert_eq!(c.cmd("").code, 500);
    assert_eq!(c.cmd("STARTTLS").code, 502, "not advertised, not offered");
    assert_eq!(c.cmd("AUTH PLAIN AGEAYg==").code, 502, "not advertised");
    assert_eq!(c.cmd("VRFY ada").code, 252);
    assert_eq!(c.cmd("NOOP").code, 250);
    let long = format!("NOOP {}", "x".repeat(10_000));
    assert_eq!(c.cmd(&long).code, 500, "line too long");
    assert_eq!(c.cmd("NOOP").code, 250, "still in step after a long line");
    assert_eq!(c.cmd("DATA extra").code, 501);
    assert_eq!(c.cmd("QUIT").code, 221);
    assert!(c.is_closed());
    assert!(server.messages().is_empty());
    assert_eq!(
        server.attempts("b@example.org"),
        0,
        "a 503 RCPT is no attempt"
    );
}

#[test]
fn several_transactions_share_a_connection_and_rset_forgets_one() {
    let server = SmtpServer::with_faults(Faults::new().perm_fail("nobody@example.org"));
    let mut c = Raw::connect(&server);
    assert_eq!(c.cmd("EHLO client.test").code, 250);

    // A mixed transaction: the refused recipient is left out, the other gets the message.
    assert_eq!(c.cmd("MAIL FROM:<digest@example.org>").code, 250);
    let refused = c.cmd("RCPT TO:<nobody@example.org>");
    assert_eq!(refused.code, 550);
    assert_eq!(refused.lines, ["5.1.1 No such user"]);
    assert_eq!(c.cmd("RCPT TO:<ada@example.org>").code, 250);
    assert_eq!(c.cmd("DATA").code, 354);
    assert_eq!(c.cmd("Subject: one\r\n\r\nfirst\r\n.").code, 250);

    // A transaction reset before DATA leaves nothing behind.
    assert_eq!(c.cmd("MAIL FROM:<digest@example.org>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<grace@example.org>").code, 250);
    assert_eq!(c.cmd("RSET").code, 250);
    assert_eq!(c.cmd("DATA").code, 503, "RSET ended the transaction");

    // Only refused recipients: DATA has no one to deliver to.
    assert_eq!(c.cmd("MAIL FROM:<digest@example.org>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<nobody@example.org>").code, 550);
    assert_eq!(c.cmd("DATA").code, 554);

    // EHLO again also resets; then a second message on the same connection.
    assert_eq!(c.cmd("EHLO client.test").code, 250);
    assert_eq!(c.cmd("MAIL FROM:<digest@example.org>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<alan@example.org>").code, 250);
    assert_eq!(c.cmd("DATA").code, 354);
    assert_eq!(c.cmd("Subject: two\r\n\r\nsecond\r\n.").code, 250);
    assert_eq!(c.cmd("QUIT").code, 221);

    let got = server.messages();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].rcpt_to, ["ada@example.org"]);
    assert_eq!(got[1].rcpt_to, ["alan@example.org"]);
    assert_eq!((got[0].connection_id, got[1].connection_id), (1, 1));
    assert_eq!(server.connections(), 1);
    assert_eq!(server.attempts("nobody@example.org"), 2);
    assert_eq!(server.outcomes("grace@example.org"), [Outcome::Accepted]);
}

#[test]
fn size_limit_is_advertised_and_enforced() {
    let server = SmtpServer::builder().max_size(100).start();
    let mut c = Raw::connect(&server);
    let ehlo = c.cmd("EHLO client.test");
    assert!(ehlo.lines.iter().any(|l| l == "SIZE 100"), "{ehlo:?}");
    assert_eq!(c.cmd("MAIL FROM:<a@example.org> SIZE=101").code, 552);
    assert_eq!(c.cmd("MAIL FROM:<a@example.org> SIZE=50").code, 250);
    assert_eq!(c.cmd("RCPT TO:<ada@example.org>").code, 250);
    assert_eq!(c.cmd("DATA").code, 354);
    let big = format!("Subject: big\r\n\r\n{}\r\n.", "y".repeat(200));
    assert_eq!(c.cmd(&big).code, 552);
    assert_eq!(c.cmd("NOOP").code, 250, "the connection stays usable");
    assert!(server.messages().is_empty());
    assert_eq!(server.outcomes("ada@example.org"), [Outcome::DataRejected]);
}

#[test]
fn wait_for_returns_early_or_at_the_timeout() {
    let server = SmtpServer::start();
    let started = Instant::now();
    assert!(server.wait_for(1, Duration::from_millis(100)).is_empty());
    assert!(started.elapsed() >= Duration::from_millis(100));

    let addr = server.addr();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut c = Raw {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        };
        assert_eq!(c.reply().code, 220);
        c.send("HELO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
        let codes: Vec<u16> = (0..4).map(|_| c.reply().code).collect();
        assert_eq!(codes, [250, 250, 250, 354]);
        c.send("\r\nhi\r\n.\r\n");
        assert_eq!(c.reply().code, 250);
    });
    let started = Instant::now();
    let got = server.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
    sender.join().unwrap();
}

#[test]
fn dropping_the_server_frees_its_port_and_closes_connections() {
    let server = SmtpServer::with_faults(Faults::new().hang_after_data("ada@example.org", 1));
    let addr = server.addr();
    assert_eq!(server.url(), format!("smtp://127.0.0.1:{}", addr.port()));
    let mut c = Raw::connect(&server);
    c.send("HELO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<ada@example.org>\r\nDATA\r\n");
    let codes: Vec<u16> = (0..4).map(|_| c.reply().code).collect();
    assert_eq!(codes, [250, 250, 250, 354]);
    c.send("Subject: hang\r\n\r\nx\r\n.\r\n");
    assert!(server.wait_until(WAIT, |s| s.outcomes("ada@example.org") == [Outcome::Hung]));
    drop(server);
    assert!(c.is_closed(), "the hung connection is closed on drop");
    assert!(
        TcpStream::connect(addr).is_err(),
        "nothing listens any more"
    );
}

// ---------------------------------------------------------------------------------------------
// TLS.

/// lettre's own TLS client (not paperwire's code) trusting `cert`'s CA, with `credentials`.
fn tls_transport(
    server: &SmtpServer,
    cert: &TestCert,
    implicit: bool,
    credentials: Option<Credentials>,
) -> Transport {
    let params = TlsParameters::builder("localhost".to_owned())
        .add_root_certificate(Certificate::from_pem(cert.ca_pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("localhost")
        .port(server.port())
        .timeout(Some(WAIT))
        .tls(if implicit {
            Tls::Wrapper(params)
        } else {
            Tls::Required(params)
        });
    match credentials {
        Some(c) => builder.credentials(c).build(),
        None => builder.build(),
    }
}

#[tokio::test]
async fn lettre_sends_over_starttls_and_implicit_tls() {
    let cert = TestCert::localhost();
    for implicit in [false, true] {
        let builder = SmtpServer::builder().auth("mailer", "s3cret");
        let server = if implicit {
            builder.implicit_tls(&cert)
        } else {
            builder.starttls(&cert)
        }
        .start();
        let smtp = tls_transport(&server, &cert, implicit, None);
        let err = smtp
            .send(simple("ada@example.org", "anonymous"))
            .await
            .expect_err("AUTH is still required over TLS");
        assert_eq!(code(&err), Some(530), "{err}");

        let credentials = Credentials::new("mailer".into(), "s3cret".into());
        let authed = tls_transport(&server, &cert, implicit, Some(credentials));
        authed
            .send(simple("ada@example.org", "over TLS"))
            .await
            .unwrap_or_else(|e| panic!("implicit={implicit}: {e}"));
        let got = server.wait_for_async(1, WAIT).await;
        assert_eq!(got.len(), 1);
        assert!(got[0].tls, "implicit={implicit}");
        assert_eq!(got[0].auth_user.as_deref(), Some("mailer"));
        assert_eq!(got[0].summary().subject.as_deref(), Some("over TLS"));
        assert_eq!(server.tls_failures(), 0);
    }
}

#[test]
fn starttls_follows_rfc_3207() {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;

    let cert = TestCert::localhost();
    let server = SmtpServer::builder().starttls(&cert).start();
    let mut c = Raw::connect(&server);
    let ehlo = c.cmd("EHLO client.test");
    assert!(ehlo.lines.iter().any(|l| l == "STARTTLS"), "{ehlo:?}");
    assert_eq!(c.cmd("STARTTLS now").code, 501);
    assert_eq!(c.cmd("STARTTLS").code, 220);

    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(cert.ca_pem().as_bytes()) {
        roots.add(der.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let tcp = c.reader.into_inner();
    let mut tls = BufReader::new(rustls::StreamOwned::new(conn, tcp));
    let mut cmd = |line: &str| {
        tls.get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
        read_reply(&mut tls)
    };
    // The session starts over: EHLO again, and no STARTTLS on offer any more.
    assert_eq!(cmd("MAIL FROM:<digest@example.org>").code, 503);
    let ehlo = cmd("EHLO client.test");
    assert_eq!(ehlo.code, 250);
    assert!(!ehlo.lines.iter().any(|l| l == "STARTTLS"), "{ehlo:?}");
    assert_eq!(cmd("STARTTLS").code, 503);
    assert_eq!(cmd("MAIL FROM:<digest@example.org>").code, 250);
    assert_eq!(cmd("RCPT TO:<ada@example.org>").code, 250);
    assert_eq!(cmd("DATA").code, 354);
    assert_eq!(cmd("Subject: hi\r\n\r\nbody\r\n.").code, 250);
    assert_eq!(cmd("QUIT").code, 221);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls);

    // A plain server has no STARTTLS, and its messages say so.
    let plain = SmtpServer::start();
    let mut c = Raw::connect(&plain);
    assert!(
        !c.cmd("EHLO client.test")
            .lines
            .iter()
            .any(|l| l == "STARTTLS")
    );
    assert_eq!(c.cmd("STARTTLS").code, 502);
}
