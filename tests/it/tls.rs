//! TLS mode confusion: the wrong mode for a server fails before anything is sent, with a
//! message that says which mode to try.

use crate::harness::{SmtpServer, TestEnv};

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
    assert!(out.stderr.contains("does not offer STARTTLS"), "{out}");
    assert!(out.stderr.contains("smtps://"), "{out}");
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
