//! TLS: each mode delivers over TLS against our test server (STARTTLS, implicit, opportunistic)
//! trusting a private CA through `delivery.tls_ca_file`; a certificate that is not trusted or
//! names another host stops the run before anything is sent (exit 2) with a message that says
//! why; and mode confusion (the wrong mode for a server) says which mode to try.

use std::time::Duration;

use crate::harness::{Output, SmtpServer, TestCert, TestEnv};

const SECRET: (&str, &str) = ("PAPERWIRE_SECRET", "s");
const TWO: &str =
    "[[subscriber]]\nemail = \"ada@example.org\"\n\n[[subscriber]]\nemail = \"bob@example.org\"\n";

/// `paperwire send` to `url` for two subscribers, trusting `ca` (its PEM written to `ca.pem`
/// and named by `delivery.tls_ca_file`) when given.
fn send_tls(url: &str, ca: Option<&TestCert>, env_vars: &[(&str, &str)]) -> (TestEnv, Output) {
    let env = TestEnv::new();
    env.subscribers(TWO);
    let mut config = env
        .config_builder(Some(url))
        .with_delivery("timeout_secs = 5");
    if let Some(cert) = ca {
        env.write("certs/ca.pem", cert.ca_pem());
        config = config.with_delivery("tls_ca_file = \"certs/ca.pem\"");
    }
    config.write();
    let mut vars = vec![SECRET];
    vars.extend_from_slice(env_vars);
    let out = env.run_with_env(
        &[
            "send",
            "--config",
            "paperwire.toml",
            "--edition",
            "2026-11-28",
        ],
        &vars,
    );
    (env, out)
}

/// Both messages arrived, over TLS (or not, as `tls` says), and parse.
fn assert_delivered(server: &SmtpServer, tls: bool) {
    let got = server.wait_for(2, Duration::from_secs(5));
    assert_eq!(got.len(), 2, "{got:?}");
    for m in &got {
        assert_eq!(m.tls, tls, "message {} tls", m.rcpt_to.join(","));
        let mail = m.summary();
        assert!(mail.subject.is_some_and(|s| !s.is_empty()));
        assert!(mail.text.is_some() && mail.html.is_some());
    }
    let mut to: Vec<String> = got.iter().flat_map(|m| m.rcpt_to.clone()).collect();
    to.sort();
    assert_eq!(to, ["ada@example.org", "bob@example.org"]);
}

#[test]
fn starttls_required_delivers_over_tls_to_a_private_ca() {
    let cert = TestCert::localhost();
    let server = SmtpServer::builder().starttls(&cert).start();
    let url = format!("smtp://localhost:{}?tls=required", server.port());
    let (_env, out) = send_tls(&url, Some(&cert), &[]);
    out.assert_code(0);
    assert_delivered(&server, true);
}

#[test]
fn implicit_tls_delivers_over_tls_to_a_private_ca() {
    let cert = TestCert::localhost();
    let server = SmtpServer::builder().implicit_tls(&cert).start();
    let url = format!("smtps://localhost:{}", server.port());
    let (_env, out) = send_tls(&url, Some(&cert), &[]);
    out.assert_code(0);
    assert_delivered(&server, true);
}

#[test]
fn opportunistic_upgrades_when_offered_and_stays_plain_when_not() {
    let cert = TestCert::localhost();
    let server = SmtpServer::builder().starttls(&cert).start();
    let url = format!("smtp://127.0.0.1:{}?tls=opportunistic", server.port());
    let (_env, out) = send_tls(&url, Some(&cert), &[]);
    out.assert_code(0);
    assert_delivered(&server, true);

    let plain = SmtpServer::start();
    let url = format!("smtp://127.0.0.1:{}?tls=opportunistic", plain.port());
    let (_env, out) = send_tls(&url, Some(&cert), &[]);
    out.assert_code(0);
    assert_delivered(&plain, false);
}

#[test]
fn auth_over_starttls_and_implicit_tls() {
    let cert = TestCert::localhost();
    let password = [("PAPERWIRE_SMTP_PASSWORD", "s3cret")];

    let server = SmtpServer::builder()
        .auth("mailer", "s3cret")
        .starttls(&cert)
        .start();
    let url = format!("smtp://mailer@localhost:{}?tls=required", server.port());
    let (_env, out) = send_tls(&url, Some(&cert), &password);
    out.assert_code(0);
    assert_delivered(&server, true);
    assert!(
        server
            .messages()
            .iter()
            .all(|m| m.auth_user.as_deref() == Some("mailer"))
    );

    let server = SmtpServer::builder()
        .auth("mailer", "s3cret")
        .implicit_tls(&cert)
        .start();
    let url = format!("smtps://mailer@127.0.0.1:{}", server.port());
    let (_env, out) = send_tls(&url, Some(&cert), &password);
    out.assert_code(0);
    assert_delivered(&server, true);
    assert!(
        server
            .messages()
            .iter()
            .all(|m| m.auth_user.as_deref() == Some("mailer"))
    );
}

/// `[::ffff:127.0.0.1]`: our loopback server, by an address paperwire does not count as
/// loopback (so the "no password in clear text" rule applies); `None` when this host cannot
/// reach IPv4 through IPv4-mapped IPv6 addresses.
fn not_loopback_name_for(server: &SmtpServer) -> Option<&'static str> {
    let mapped = "::ffff:127.0.0.1";
    std::net::TcpStream::connect((mapped, server.port()))
        .map_err(|e| eprintln!("skipped: cannot reach {mapped}: {e}"))
        .ok()?;
    Some("[::ffff:127.0.0.1]")
}

#[test]
fn auth_beyond_loopback_needs_tls_that_was_negotiated() {
    let password = [("PAPERWIRE_SMTP_PASSWORD", "s3cret")];
    // Implicit TLS is TLS, though lettre cannot tell on a socket it did not wrap itself.
    let cert = TestCert::for_names(&["::ffff:127.0.0.1"]);
    let server = SmtpServer::builder()
        .auth("mailer", "s3cret")
        .implicit_tls(&cert)
        .start();
    let Some(host) = not_loopback_name_for(&server) else {
        return;
    };
    let url = format!("smtps://mailer@{host}:{}", server.port());
    let (_env, out) = send_tls(&url, Some(&cert), &password);
    out.assert_code(0);
    assert_delivered(&server, true);

    // Opportunistic against a server without STARTTLS: no password in clear text.
    let plain = SmtpServer::builder().auth("mailer", "s3cret").start();
    let url = format!("smtp://mailer@{host}:{}?tls=opportunistic", plain.port());
    let (_env, out) = send_tls(&url, None, &password);
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("refusing to send the SMTP password in clear text"),
        "{out}"
    );
    assert!(plain.messages().is_empty());
}

/// Exit 2 (a wrong setting), nothing sent, the client refused the handshake, and stderr has
/// every one of `says`.
fn assert_refused(server: &SmtpServer, out: &Output, says: &[&str]) {
    out.assert_code(2);
    for s in says {
        assert!(out.stderr.contains(s), "stderr lacks {s:?}:\n{out}");
    }
    assert!(server.messages().is_empty());
    assert!(
        server.wait_until(Duration::from_secs(2), |s| s.tls_failures() >= 1),
        "the server saw no failed handshake"
    );
}

#[test]
fn an_untrusted_ca_stops_the_run_and_points_at_tls_ca_file() {
    let cert = TestCert::localhost();
    let server = SmtpServer::builder().starttls(&cert).start();
    let url = format!("smtp://localhost:{}?tls=required", server.port());
    let (_env, out) = send_tls(&url, None, &[]);
    assert_refused(
        &server,
        &out,
        &[
            "localhost",
            "not signed by a public CA",
            "delivery.tls_ca_file",
        ],
    );

    let server = SmtpServer::builder().implicit_tls(&cert).start();
    let url = format!("smtps://localhost:{}", server.port());
    let (_env, out) = send_tls(&url, None, &[]);
    assert_refused(
        &server,
        &out,
        &[
            "localhost",
            "not signed by a public CA",
            "delivery.tls_ca_file",
        ],
    );
}

#[test]
fn a_certificate_for_another_name_stops_the_run() {
    let cert = TestCert::for_names(&["mail.internal.test"]);
    let server = SmtpServer::builder().starttls(&cert).start();
    let url = format!("smtp://127.0.0.1:{}?tls=required", server.port());
    let (_env, out) = send_tls(&url, Some(&cert), &[]);
    assert_refused(
        &server,
        &out,
        &[
            "127.0.0.1",
            "mail.internal.test",
            "not issued for `127.0.0.1`",
        ],
    );

    let server = SmtpServer::builder().implicit_tls(&cert).start();
    let url = format!("smtps://localhost:{}", server.port());
    let (_env, out) = send_tls(&url, Some(&cert), &[]);
    assert_refused(&server, &out, &["localhost", "not issued for `localhost`"]);
}

#[test]
fn tls_ca_file_is_checked_at_load() {
    let env = TestEnv::new();
    env.subscribers(TWO);
    env.write("not-a-cert.pem", "hello\n");
    env.config_builder(Some("smtp://localhost:25"))
        .with_delivery("tls_ca_file = \"not-a-cert.pem\"")
        .write();
    let out = env.run_with_env(&["check", "--config", "paperwire.toml"], &[SECRET]);
    out.assert_code(2);
    assert!(out.stderr.contains("paperwire.toml:"), "{out}");
    assert!(out.stderr.contains("delivery.tls_ca_file"), "{out}");
    assert!(out.stderr.contains("no PEM certificate"), "{out}");

    env.config_builder(Some("smtp://localhost:25"))
        .with_delivery("tls_ca_file = \"missing.pem\"")
        .write();
    let out = env.run_with_env(&["check", "--config", "paperwire.toml"], &[SECRET]);
    out.assert_code(2);
    assert!(out.stderr.contains("cannot read"), "{out}");
    assert!(out.stderr.contains("missing.pem"), "{out}");
}

fn send_to(url: &str) -> crate::harness::Output {
    let env = TestEnv::new();
    env.subscribers("[[subscriber]]\nemail = \"ada@example.org\"\n");
    env.config(Some(url));
    env.run_with_env(
        &["send", "--config", "paperwire.toml"],
        &[("PAPERWIRE_SECRET", "s")],
    )
}

#[test]
fn implicit_tls_against_a_plain_server_says_to_try_starttls_or_plain() {
    let server = SmtpServer::start();
    let out = send_to(&format!("smtps://127.0.0.1:{}", server.port()));
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("does not speak TLS from the first byte"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains(&format!("smtp://127.0.0.1:{}?tls=required", server.port())),
        "{out}"
    );
    assert!(server.messages().is_empty());
}

#[test]
fn required_starttls_against_a_server_without_it_says_so() {
    let server = SmtpServer::start();
    let out = send_to(&format!("smtp://127.0.0.1:{}?tls=required", server.port()));
    out.assert_code(2);
    // It greeted in plain text, so smtps:// is not the way: plain smtp:// or another port.
    let port = server.port();
    insta::assert_snapshot!(
        out.stderr.replace(&port.to_string(), "[PORT]"),
        @"paperwire: error: the SMTP setup is wrong, nothing was sent: 127.0.0.1:[PORT] answered in plain text and does not offer STARTTLS, but the URL asks for it (tls=required); check the port (STARTTLS is usually on 587, implicit TLS on 465 with smtps://), or, for a relay on this machine or a network you trust, use plain smtp://127.0.0.1:[PORT]"
    );
    assert!(server.messages().is_empty());
}

#[test]
fn plain_smtp_to_a_silent_tls_port_times_out_with_a_hint() {
    // A listener that accepts and never speaks, like an implicit-TLS port waiting for a
    // ClientHello.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let env = TestEnv::new();
    env.subscribers("[[subscriber]]\nemail = \"ada@example.org\"\n");
    env.config_builder(Some(&format!("smtp://127.0.0.1:{port}")))
        .with_delivery("timeout_secs = 1")
        .write();
    let out = env.run_with_env(
        &["send", "--config", "paperwire.toml"],
        &[("PAPERWIRE_SECRET", "s")],
    );
    out.assert_code(75);
    assert!(out.stderr.contains("no SMTP greeting"), "{out}");
    assert!(
        out.stderr.contains(&format!("smtps://127.0.0.1:{port}")),
        "{out}"
    );
}
