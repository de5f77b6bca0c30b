//! The small harness every integration test shares: a temp directory to run the real
//! `paperwire` binary in, a config writer that follows the `paperwire.toml` contract, process
//! helpers with a clean `PAPERWIRE_*` environment and a timeout, and redaction for snapshots
//! of emails. The SMTP server for tests lives in [`smtp`], a private Postfix in [`postfix`].
//!
//! ```ignore
//! let env = TestEnv::new();
//! let server = SmtpServer::start();
//! env.config_builder(Some(&server.url())).with_delivery("retries = 1").write();
//! let out = env.run(&["send", "--edition", "2026-11-28"]);
//! out.assert_code(0);
//! let mail = server.wait_for(2, Duration::from_secs(5));
//! ```

#![allow(dead_code)]

pub mod postfix;
pub mod smtp;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[allow(unused_imports)] // re-exported for the test modules that use them
pub use smtp::{Attempt, Faults, MailSummary, Outcome, Received, SmtpServer, TestCert};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_paperwire");
/// How long [`TestEnv::run`] lets the binary run before killing it and failing the test.
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The subscribers [`TestEnv::config`] writes when `subscribers.toml` does not exist yet.
pub const DEFAULT_SUBSCRIBERS: &str = r#"[[subscriber]]
email  = "ada@example.org"
name   = "Ada"
topics = ["Federated Learning"]
format = "html"

[[subscriber]]
email  = "grace@example.org"
name   = "Grace Hopper"
format = "text"
"#;

/// The `[[section]]`s of the default config.
pub const DEFAULT_SECTIONS: &str = r#"[[section]]
name     = "Federated Learning"
keywords = ["federated", "FedAvg", "client drift", "FL"]
exclude  = []

[[section]]
name     = "Losses & Optimization"
keywords = ["loss function*", "cross-entropy", "optimi*", "convergence"]
"#;

/// The `[[source]]` of the default config: a copy of the bundled sample page.
pub const DEFAULT_SOURCES: &str = r#"[[source]]
kind = "file"
path = "papers.txt"
"#;

/// A temporary directory the binary runs in; removed on drop.
pub struct TestEnv {
    dir: tempfile::TempDir,
    run_timeout: Duration,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("paperwire-it-")
            .tempdir()
            .expect("create temp dir");
        Self {
            dir,
            run_timeout: DEFAULT_RUN_TIMEOUT,
        }
    }

    /// Changes how long `run*` waits for the binary before killing it.
    pub fn with_run_timeout(mut self, timeout: Duration) -> Self {
        self.run_timeout = timeout;
        self
    }

    /// The temp directory (the binary's working directory).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `rel` under the temp directory.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `contents` to `rel`, creating parent directories; returns the full path.
    pub fn write(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
        }
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Reads `rel` as UTF-8; panics with the path when it is missing.
    pub fn read(&self, rel: impl AsRef<Path>) -> String {
        let path = self.path(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    pub fn exists(&self, rel: impl AsRef<Path>) -> bool {
        self.path(rel).exists()
    }

    /// The files directly in `rel` (names only, sorted); empty when the directory is missing.
    pub fn list(&self, rel: impl AsRef<Path>) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path(rel))
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Writes `subscribers.toml`.
    pub fn subscribers(&self, toml: &str) -> PathBuf {
        self.write("subscribers.toml", toml)
    }

    /// Writes the default `paperwire.toml` (transport smtp to `smtp_url` when given, else
    /// outbox) and the files it points at that do not exist yet; returns the config's path.
    /// See [`ConfigBuilder`] to vary it.
    pub fn config(&self, smtp_url: Option<&str>) -> PathBuf {
        self.config_builder(smtp_url).write()
    }

    /// A [`ConfigBuilder`] for this directory.
    pub fn config_builder(&self, smtp_url: Option<&str>) -> ConfigBuilder<'_> {
        ConfigBuilder::new(self, smtp_url)
    }

    /// A `Command` for the binary with cwd = the temp dir, no inherited `PAPERWIRE_*` or
    /// `RUST_LOG`, `NO_COLOR=1`, stdin null and stdout/stderr piped.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(self.root());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PAPERWIRE_") {
                cmd.env_remove(&key);
            }
        }
        cmd.env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs the binary to completion (killing it after the run timeout).
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[], None)
    }

    /// [`TestEnv::run`] with extra environment variables.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.run_with(args, env, None)
    }

    /// [`TestEnv::run`] with extra environment variables and, optionally, bytes on stdin.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {BIN}: {e}"));
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("piped stdin");
            let input = input.to_vec();
            // A thread, so a binary that does not read stdin cannot block us.
            std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        wait_output(child, self.run_timeout, args)
    }

    /// Starts the binary and returns at once (for kill -9 and concurrency tests); stdout and
    /// stderr are piped. Collect them with [`Output::of_child`].
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        cmd.spawn().unwrap_or_else(|e| panic!("spawn {BIN}: {e}"))
    }
}

/// Waits for `child` up to `timeout`, reading its pipes meanwhile; kills it and panics on timeout.
fn wait_output(mut child: Child, timeout: Duration, args: &[&str]) -> Output {
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().expect("wait for child") {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let collect = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.map(|h| String::from_utf8_lossy(&h.join().unwrap_or_default()).into_owned())
            .unwrap_or_default()
    };
    let out = Output {
        code: status.and_then(|s| s.code()),
        stdout: collect(stdout),
        stderr: collect(stderr),
    };
    if status.is_none() {
        panic!("paperwire {args:?} still running after {timeout:?}; killed\n{out}");
    }
    out
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// How a run of the binary ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The exit code; `None` when a signal ended the process.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Waits for a [`TestEnv::spawn`]ed (possibly killed) child and collects its output.
    pub fn of_child(child: Child) -> Self {
        let out = child.wait_with_output().expect("wait for child");
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics, showing stdout and stderr, unless the exit code is `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit code\n{self}");
        self
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The config file.

/// Writes a `paperwire.toml` following the `paperwire.toml` contract (see paperwire.example.toml), with overridable parts.
///
/// The default: `[newsletter]` (title "Test Digest", from `Paperwire <digest@example.org>`,
/// list_id `test.example.org`, base_url `https://digest.example.org`, UTC), one file source
/// `papers.txt` (a copy of `samples/daily-papers.txt`), [`DEFAULT_SECTIONS`], `[catch_all]`,
/// `[subscribers] path = "subscribers.toml"`, `[state] dir = "state"`, and `[delivery]` with
/// `outbox_dir = "outbox"`, `concurrency = 4`, `timeout_secs = 5`, transport `smtp` (with
/// `smtp_url`) when a URL is given, else `outbox`.
///
/// `with_<table>("key = value\n…")` sets keys in a table, replacing ones already there (so
/// `with_delivery("retries = 1\nconcurrency = 2")`); `without(table, key)` removes one;
/// `sources`/`sections` replace the `[[source]]`/`[[section]]` arrays; `raw` appends text
/// verbatim (for deliberately broken files too).
pub struct ConfigBuilder<'a> {
    env: &'a TestEnv,
    file: String,
    sources: String,
    sections: String,
    sets: Vec<(String, String)>,
    removals: Vec<(String, String)>,
    raw: String,
    defaults: bool,
}

impl<'a> ConfigBuilder<'a> {
    pub fn new(env: &'a TestEnv, smtp_url: Option<&str>) -> Self {
        let delivery = match smtp_url {
            Some(url) => format!("transport = \"smtp\"\nsmtp_url = {}", toml_str(url)),
            None => "transport = \"outbox\"".to_owned(),
        };
        Self {
            env,
            file: "paperwire.toml".to_owned(),
            sources: DEFAULT_SOURCES.to_owned(),
            sections: DEFAULT_SECTIONS.to_owned(),
            sets: vec![("delivery".to_owned(), delivery)],
            removals: Vec::new(),
            raw: String::new(),
            defaults: true,
        }
    }

    /// Writes to `rel` instead of `paperwire.toml`.
    pub fn file_name(mut self, rel: &str) -> Self {
        self.file = rel.to_owned();
        self
    }

    /// Sets keys (a TOML fragment) in `[table]`, creating the table if needed.
    pub fn with_table(mut self, table: &str, fragment: &str) -> Self {
        self.sets.push((table.to_owned(), fragment.to_owned()));
        self
    }

    pub fn with_newsletter(self, fragment: &str) -> Self {
        self.with_table("newsletter", fragment)
    }
    pub fn with_delivery(self, fragment: &str) -> Self {
        self.with_table("delivery", fragment)
    }
    pub fn with_digest(self, fragment: &str) -> Self {
        self.with_table("digest", fragment)
    }
    pub fn with_state(self, fragment: &str) -> Self {
        self.with_table("state", fragment)
    }
    pub fn with_subscribers(self, fragment: &str) -> Self {
        self.with_table("subscribers", fragment)
    }
    pub fn with_catch_all(self, fragment: &str) -> Self {
        self.with_table("catch_all", fragment)
    }
    pub fn with_templates(self, fragment: &str) -> Self {
        self.with_table("templates", fragment)
    }
    pub fn with_schedule(self, fragment: &str) -> Self {
        self.with_table("schedule", fragment)
    }

    /// Removes `key` from `[table]`.
    pub fn without(mut self, table: &str, key: &str) -> Self {
        self.removals.push((table.to_owned(), key.to_owned()));
        self
    }

    /// Replaces the `[[source]]` entries (give the full `[[source]]` text).
    pub fn sources(mut self, toml: &str) -> Self {
        self.sources = toml.to_owned();
        self
    }

    /// Replaces the `[[section]]` entries (give the full `[[section]]` text).
    pub fn sections(mut self, toml: &str) -> Self {
        self.sections = toml.to_owned();
        self
    }

    /// Appends `text` verbatim at the end of the file.
    pub fn raw(mut self, text: &str) -> Self {
        self.raw.push_str(text);
        self.raw.push('\n');
        self
    }

    /// Do not write `papers.txt` and `subscribers.toml` when they are missing.
    pub fn no_default_files(mut self) -> Self {
        self.defaults = false;
        self
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let base = format!(
            r#"# Written by the integration-test harness.
[newsletter]
title    = "Test Digest"
from     = "Paperwire <digest@example.org>"
list_id  = "test.example.org"
base_url = "https://digest.example.org"
timezone = "UTC"

{sources}
{sections}
[catch_all]
enabled = true
name    = "More papers"

[subscribers]
path = "subscribers.toml"

[delivery]
outbox_dir   = "outbox"
concurrency  = 4
timeout_secs = 5

[state]
dir = "state"
"#,
            sources = self.sources,
            sections = self.sections,
        );
        let mut doc: toml_edit::DocumentMut = base
            .parse()
            .unwrap_or_else(|e| panic!("harness config base does not parse: {e}\n{base}"));
        for (table, fragment) in &self.sets {
            let frag: toml_edit::DocumentMut = fragment
                .parse()
                .unwrap_or_else(|e| panic!("fragment for [{table}] does not parse: {e}"));
            if !doc.contains_key(table) {
                doc.insert(table, toml_edit::Item::Table(toml_edit::Table::new()));
            }
            let target = doc[table.as_str()]
                .as_table_mut()
                .unwrap_or_else(|| panic!("[{table}] is not a table"));
            for (key, item) in frag.iter() {
                target.insert(key, item.clone());
            }
        }
        for (table, key) in &self.removals {
            if let Some(t) = doc.get_mut(table).and_then(|t| t.as_table_mut()) {
                t.remove(key);
            }
        }
        let mut text = doc.to_string();
        text.push_str(&self.raw);
        text
    }

    /// Writes the config (and, unless told otherwise, missing `papers.txt` and
    /// `subscribers.toml`); returns the config's path.
    pub fn write(self) -> PathBuf {
        if self.defaults {
            if !self.env.exists("papers.txt") {
                let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/daily-papers.txt");
                let text = std::fs::read(&sample)
                    .unwrap_or_else(|e| panic!("read {}: {e}", sample.display()));
                self.env.write("papers.txt", text);
            }
            if !self.env.exists("subscribers.toml") {
                self.env.subscribers(DEFAULT_SUBSCRIBERS);
            }
        }
        self.env.write(&self.file, self.render())
    }
}

/// `s` as a TOML basic string.
fn toml_str(s: &str) -> String {
    toml_edit::Value::from(s).to_string().trim().to_owned()
}

// ---------------------------------------------------------------------------------------------
// Snapshots of emails.

/// [`Redactor::default`] applied to `raw`.
pub fn redact_email(raw: &str) -> String {
    Redactor::default().redact(raw)
}

/// Makes a raw email stable for `insta` snapshots: line endings become `\n`, the top-level
/// `Date` becomes `[DATE]`, `Message-ID` becomes `<[MESSAGE-ID]>` (unless kept), every MIME
/// boundary becomes `[BOUNDARY-n]` (numbered in order of appearance), then custom replacements
/// apply (for dates in subjects, tokens, ports…).
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    keep_message_id: bool,
    replacements: Vec<(String, String)>,
}

impl Redactor {
    /// Keep `Message-ID` as is (when it is deterministic).
    pub fn keep_message_id(mut self) -> Self {
        self.keep_message_id = true;
        self
    }

    /// Also replace every `from` with `to`.
    pub fn replace(mut self, from: &str, to: &str) -> Self {
        self.replacements.push((from.to_owned(), to.to_owned()));
        self
    }

    pub fn redact(&self, raw: &str) -> String {
        let text = raw.replace("\r\n", "\n");
        let boundaries = boundaries(&text);

        // The top-level header block, up to the first empty line.
        let mut out = String::with_capacity(text.len());
        let mut in_headers = true;
        let mut skipping_folded = false;
        for line in text.split_inclusive('\n') {
            if in_headers {
                if line == "\n" {
                    in_headers = false;
                } else if skipping_folded && line.starts_with([' ', '\t']) {
                    continue;
                } else {
                    skipping_folded = false;
                    let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
                    if name == "date" {
                        out.push_str("Date: [DATE]\n");
                        skipping_folded = true;
                        continue;
                    }
                    if name == "message-id" && !self.keep_message_id {
                        let orig = line.split(':').next().unwrap_or("Message-ID");
                        out.push_str(&format!("{orig}: <[MESSAGE-ID]>\n"));
                        skipping_folded = true;
                        continue;
                    }
                }
            }
            out.push_str(line);
        }

        // Longest first, so a boundary that contains another is replaced whole.
        let mut numbered: Vec<(usize, &String)> = boundaries.iter().enumerate().collect();
        numbered.sort_by_key(|(_, b)| std::cmp::Reverse(b.len()));
        for (i, b) in numbered {
            out = out.replace(b.as_str(), &format!("[BOUNDARY-{}]", i + 1));
        }
        for (from, to) in &self.replacements {
            out = out.replace(from.as_str(), to);
        }
        out
    }
}

/// Every distinct `boundary=` parameter value in `text`, in order of appearance.
fn boundaries(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut found: Vec<String> = Vec::new();
    let mut from = 0;
    while let Some(pos) = lower[from..].find("boundary=") {
        let start = from + pos + "boundary=".len();
        let rest = &text[start..];
        let value = match rest.strip_prefix('"') {
            Some(q) => q.split('"').next().unwrap_or(""),
            None => rest
                .split(|c: char| c == ';' || c.is_whitespace())
                .next()
                .unwrap_or(""),
        };
        if !value.is_empty() && !found.iter().any(|f| f == value) {
            found.push(value.to_owned());
        }
        from = start;
    }
    found
}

// ---------------------------------------------------------------------------------------------
// Self-tests of the harness itself.

#[cfg(test)]
mod self_tests {
    use super::*;

    #[test]
    fn files_round_trip_in_the_temp_dir() {
        let env = TestEnv::new();
        let p = env.write("a/b/c.txt", "hello");
        assert_eq!(p, env.path("a/b/c.txt"));
        assert!(p.starts_with(env.root()));
        assert_eq!(env.read("a/b/c.txt"), "hello");
        assert!(env.exists("a/b"));
        assert_eq!(env.list("a/b"), ["c.txt"]);
        assert!(env.list("missing").is_empty());
    }

    #[test]
    fn temp_dir_is_removed_on_drop() {
        let env = TestEnv::new();
        let root = env.root().to_owned();
        assert!(root.is_dir());
        drop(env);
        assert!(!root.exists());
    }

    #[test]
    fn default_configs_load_with_paperwire_itself() {
        use paperwire::config::{ConfigOrigin, TransportKind, load};

        let env = TestEnv::new();
        let path = env.config(None);
        let settings = load(&ConfigOrigin::File(path.clone())).expect("outbox config loads");
        assert_eq!(settings.delivery.transport, TransportKind::Outbox);
        assert!(env.exists("papers.txt"));
        assert_eq!(
            settings.section_names(),
            ["Federated Learning", "Losses & Optimization", "More papers"]
        );
        assert_eq!(settings.subscribers_path, env.path("subscribers.toml"));
        let subs: toml::Table = env
            .read("subscribers.toml")
            .parse()
            .expect("subscribers TOML");
        assert_eq!(subs["subscriber"].as_array().map(Vec::len), Some(2));

        let url = "smtp://127.0.0.1:2525";
        let path = env
            .config_builder(Some(url))
            .with_delivery("concurrency = 2\nretries = 1\ntimeout_secs = 1")
            .with_schedule("cron = \"0 7 * * *\"")
            .write();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("concurrency").count(), 1, "{text}");
        let settings = load(&ConfigOrigin::File(path)).expect("smtp config loads");
        assert_eq!(settings.delivery.transport, TransportKind::Smtp);
        assert_eq!(settings.delivery.smtp.authority(), "127.0.0.1:2525");
        assert_eq!(settings.delivery.concurrency, 2);
        assert_eq!(settings.delivery.timeout, std::time::Duration::from_secs(1));
        assert!(settings.schedule.is_some());
    }

    #[test]
    fn config_builder_removes_and_appends() {
        let env = TestEnv::new();
        let text = env
            .config_builder(None)
            .without("delivery", "timeout_secs")
            .raw("bogus_key = 1")
            .render();
        assert!(!text.contains("timeout_secs"), "{text}");
        assert!(text.trim_end().ends_with("bogus_key = 1"), "{text}");
    }

    #[test]
    fn run_uses_the_temp_dir_and_a_clean_environment() {
        let env = TestEnv::new();
        let cmd = env.command(&["--help"]);
        assert_eq!(cmd.get_current_dir(), Some(env.root()));
        assert!(cmd.get_envs().any(|(k, v)| k == "RUST_LOG" && v.is_none()));
        let out = env.run(&["--help"]);
        assert_eq!(out.code, Some(0), "{out}");
    }

    #[test]
    fn redaction_hides_volatile_parts() {
        let raw = "From: a@example.org\r\nDate: Tue, 1 Dec 2026 07:00:00 +0000\r\n\
                   Message-ID: <Xk2j@host>\r\nContent-Type: multipart/alternative;\r\n \
                   boundary=\"abc123\"\r\n\r\n--abc123\r\nContent-Type: text/plain\r\n\r\n\
                   Date: in the body stays\r\n--abc123--\r\n";
        insta::assert_snapshot!(redact_email(raw), @r#"
        From: a@example.org
        Date: [DATE]
        Message-ID: <[MESSAGE-ID]>
        Content-Type: multipart/alternative;
         boundary="[BOUNDARY-1]"

        --[BOUNDARY-1]
        Content-Type: text/plain

        Date: in the body stays
        --[BOUNDARY-1]--
        "#);
        let kept = Redactor::default()
            .keep_message_id()
            .replace("a@example.org", "[FROM]")
            .redact(raw);
        assert!(kept.contains("Message-ID: <Xk2j@host>"), "{kept}");
        assert!(kept.starts_with("From: [FROM]\n"), "{kept}");
    }
}
