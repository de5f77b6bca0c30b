//! A private Postfix (Debian's package) on loopback, for tests that need bounces made by a real
//! MTA: it accepts what paperwire sends, relays it to a test SMTP server that refuses some
//! recipients after Postfix has accepted the message, and so writes real DSNs (RFC 3464
//! multipart/report), which it delivers into a Maildir of its own. `.ci/postfix/instance.sh`
//! does the setup (own config, queue and log directories, a port of its own, nothing
//! system-wide); this wraps it for one test and stops it on drop.
//!
//! Postfix must be installed (`.ci/postfix/install.sh`, which CI runs) and the tests must run as
//! root (the Postfix master starts as root). When either is missing, [`Postfix::start`] says so
//! on stderr (uncaptured) and returns `None`, and the test returns early — unless
//! `PAPERWIRE_REQUIRE_POSTFIX` is set (CI sets it), in which case it fails.
//!
//! ```ignore
//! let relay = SmtpServer::with_faults(Faults::new().perm_fail("gone@example.org"));
//! let Some(postfix) = Postfix::start(relay.port(), "my_test") else { return };
//! // … send to postfix.smtp_url() with a return path @BOUNCE_DOMAIN …
//! let dsns = postfix.wait_for_dsns(1, Duration::from_secs(20));
//! ```

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The domain whose mail the instance delivers into its Maildir: use it for return paths.
pub const BOUNCE_DOMAIN: &str = "bounce.test";

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/postfix/instance.sh");
const POSTFIX: &str = "/usr/sbin/postfix";

/// A running private Postfix instance.
pub struct Postfix {
    dir: tempfile::TempDir,
    port: u16,
}

/// Why Postfix cannot run here, if it cannot.
pub fn unavailable() -> Option<String> {
    if !Path::new(POSTFIX).exists() {
        return Some(format!(
            "Postfix is not installed ({POSTFIX} is missing; run .ci/postfix/install.sh)"
        ));
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    if uid != "0" {
        return Some(format!(
            "a Postfix master must be started as root, and this test runs as uid {uid}"
        ));
    }
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl Postfix {
    /// Starts an instance relaying to `127.0.0.1:relay_port`, or says on stderr why the test
    /// `test` cannot run here and returns `None` (panics instead when
    /// `PAPERWIRE_REQUIRE_POSTFIX` is set).
    pub fn start(relay_port: u16, test: &str) -> Option<Self> {
        if let Some(why) = unavailable() {
            if std::env::var_os("PAPERWIRE_REQUIRE_POSTFIX").is_some_and(|v| !v.is_empty()) {
                panic!("{test}: PAPERWIRE_REQUIRE_POSTFIX is set but {why}");
            }
            // Straight to the stderr stream, past the test harness's capture, so that the skip
            // shows in a normal `cargo test` run.
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("pw-postfix-")
            .tempdir_in("/tmp")
            .expect("create the Postfix instance directory");
        let port = free_port();
        let out = Command::new("bash")
            .arg(SCRIPT)
            .arg("start")
            .arg(dir.path())
            .arg(port.to_string())
            .arg(relay_port.to_string())
            .arg(BOUNCE_DOMAIN)
            .output()
            .expect("run .ci/postfix/instance.sh");
        let postfix = Self { dir, port };
        assert!(
            out.status.success(),
            "{test}: starting Postfix failed ({}):\n{}{}\nlog:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            postfix.log()
        );
        Some(postfix)
    }

    /// Where paperwire sends: `smtp://127.0.0.1:<port>`.
    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The Maildir the DSNs land in.
    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// The instance's log (its `maillog_file`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postfix.log")).unwrap_or_default()
    }

    /// The messages delivered so far (`new/`, by file name): (path, bytes).
    pub fn delivered(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.maildir().join("new"))
            .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .into_iter()
            .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
            .collect()
    }

    /// Waits until at least `n` messages were delivered into the Maildir; panics with the log
    /// after `timeout`.
    pub fn wait_for_dsns(&self, n: usize, timeout: Duration) -> Vec<(PathBuf, Vec<u8>)> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.delivered();
            if got.len() >= n {
                return got;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{} of {n} DSNs after {timeout:?}; Postfix log:\n{}",
                    got.len(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(SCRIPT)
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}
