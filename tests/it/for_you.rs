//! The "For you" block and the other per-reader fields (`interests`, `authors`, `like`, `mute`,
//! `for_you`) end to end: `send` to a real SMTP server on 127.0.0.1, every message parsed.
//!
//! The first test pins what readers *without* personal fields get: their messages are compared
//! byte for byte (Date and MIME boundaries redacted) with snapshots taken before the block
//! existed, so that personalization can never change anyone else's email.

use std::time::Duration;

use crate::harness::{Redactor, SmtpServer, TestEnv};

const SECRET: (&str, &str) = ("PAPERWIRE_SECRET", "test-secret");

/// Readers with no personal field: HTML and text, every section or some, capped or not.
const PLAIN_READERS: &str = r#"
[[subscriber]]
email  = "ada@example.org"
name   = "Ada Lovelace"
topics = ["Federated Learning"]

[[subscriber]]
email  = "grace@example.org"
name   = "Grace Hopper"
format = "text"

[[subscriber]]
email      = "alan@example.org"
max_papers = 3

[[subscriber]]
email      = "edsger@example.org"
topics     = ["Losses & Optimization", "More papers"]
max_papers = 4
format     = "text"
"#;

/// A config reading `papers.json` (a copy of the Hugging Face fixture: ids, authors, links).
fn setup(env: &TestEnv, server: &SmtpServer, subscribers: &str) {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf-daily-papers.sample.json");
    env.write("papers.json", std::fs::read(fixture).unwrap());
    env.subscribers(subscribers);
    env.config_builder(Some(&server.url()))
        .sources("[[source]]\nkind = \"file\"\npath = \"papers.json\"\n")
        .write();
}

fn send(env: &TestEnv) {
    env.run_with_env(
        &[
            "send",
            "--config",
            "paperwire.toml",
            "--edition",
            "2026-11-28",
        ],
        &[SECRET],
    )
    .assert_code(0);
}

#[test]
fn readers_without_personal_fields_get_todays_email_byte_for_byte() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    setup(&env, &server, PLAIN_READERS);
    send(&env);
    server.wait_for(4, Duration::from_secs(10));
    let redactor = Redactor::default().keep_message_id();
    for who in ["ada", "grace", "alan", "edsger"] {
        let mail = &server.messages_to(&format!("{who}@example.org"))[0];
        insta::assert_snapshot!(format!("plain_reader_{who}"), redactor.redact(&mail.text()));
    }
}
