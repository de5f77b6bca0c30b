//! The subscriber list through the library and the real binary: byte-exact edits, locking,
//! crash safety, races with hand edits, validation positions and the import rules.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use paperwire::exit::Exit;
use paperwire::subscribers::{
    self, AddOptions, NewSubscriber, SubscriberEmail, SubscriberError, SubscriberStore,
};

/// The example list, and a config whose sections fit it (shared with the serve tests).
pub(crate) const EXAMPLE: &str = include_str!("../../subscribers.example.toml");
pub(crate) const SECTIONS: &[&str] =
    &["Federated Learning", "Pruning & Compression", "More papers"];

pub(crate) const CONFIG: &str = r#"
[newsletter]
title    = "Trending Papers"
from     = "Paperwire <digest@example.org>"
list_id  = "trending.example.org"
base_url = "https://digest.example.org"

[[source]]
kind = "file"
path = "papers.txt"

[[section]]
name     = "Federated Learning"
keywords = ["federated"]

[[section]]
name     = "Pruning & Compression"
keywords = ["prun*"]
"#;

/// A directory with `paperwire.toml` and `subscribers.toml`.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(subscribers: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("paperwire.toml"), CONFIG).unwrap();
        fs::write(dir.path().join("subscribers.toml"), subscribers).unwrap();
        Self { dir }
    }
    fn list_path(&self) -> PathBuf {
        self.dir.path().join("subscribers.toml")
    }
    fn list(&self) -> String {
        fs::read_to_string(self.list_path()).unwrap()
    }
    fn store(&self) -> SubscriberStore {
        SubscriberStore::new(self.list_path())
    }
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_paperwire"));
        cmd.arg("subscribers")
            .arg("--config")
            .arg(self.dir.path().join("paperwire.toml"))
            .args(args)
            .env_remove("PAPERWIRE_TEST_PAUSE_BEFORE_RENAME")
            .stdin(Stdio::null());
        cmd
    }
    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }
    /// Temporary files an edit writes beside the list.
    fn temp_files(&self) -> Vec<PathBuf> {
        fs::read_dir(self.dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.starts_with(".subscribers.toml.") && name.ends_with(".tmp")
            })
            .collect()
    }
    fn wait_for_temp_file(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.temp_files().is_empty() {
            assert!(Instant::now() < deadline, "no temporary file appeared");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn email(s: &str) -> SubscriberEmail {
    SubscriberEmail::parse(s).unwrap()
}

fn today() -> AddOptions {
    AddOptions {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        resubscribe: false,
    }
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn comments_survive_add_pause_resume_and_remove_byte_for_byte() {
    let fx = Fixture::new(EXAMPLE);
    let store = fx.store();
    let new = NewSubscriber {
        name: Some("Barbara".into()),
        topics: vec!["Pruning & Compression".into()],
        ..NewSubscriber::new(email("barbara@example.org"))
    };
    store.add(&new, SECTIONS, today()).unwrap();
    let added = fx.list();
    assert_eq!(
        added,
        format!(
            "{EXAMPLE}\n[[subscriber]]\nemail = \"barbara@example.org\"\nname = \"Barbara\"\n\
             topics = [\"Pruning & Compression\"]\nsince = 2026-11-30\n"
        )
    );

    assert!(store.pause(&email("ADA@example.org")).unwrap());
    assert_eq!(
        fx.list(),
        added.replacen(
            "paused     = false                      # true = no mail until resumed",
            "paused     = true                      # true = no mail until resumed",
            1
        )
    );
    assert!(
        !store.pause(&email("ada@example.org")).unwrap(),
        "already paused"
    );
    assert!(store.resume(&email("ada@example.org")).unwrap().was_paused);
    assert_eq!(fx.list(), added);

    // Pausing someone without a `paused` key adds one line to their entry only.
    store.pause(&email("grace@example.org")).unwrap();
    assert_eq!(
        fx.list(),
        added.replacen(
            "format = \"text\"\n",
            "format = \"text\"\npaused = true\n",
            1
        )
    );
    store.resume(&email("grace@example.org")).unwrap();

    store.remove(&email("Barbara@Example.org"), false).unwrap();
    assert_eq!(
        fx.list(),
        EXAMPLE.replacen(
            "format = \"text\"\n",
            "format = \"text\"\npaused = false\n",
            1
        )
    );
}

#[test]
fn add_then_remove_gives_back_the_original_file_exactly() {
    for original in [
        EXAMPLE.to_owned(),
        EXAMPLE.trim_end().to_owned(),
        String::new(),
        "# nobody yet\n".to_owned(),
        "# nobody yet, and no final newline".to_owned(),
    ] {
        let fx = Fixture::new(&original);
        let add = fx.run(&["add", "x@example.org", "--topics", "Federated Learning"]);
        assert_eq!(code(&add), 0, "{}", stderr(&add));
        assert!(fx.list().contains("email = \"x@example.org\""));
        let remove = fx.run(&["remove", "X@EXAMPLE.ORG"]);
        assert_eq!(code(&remove), 0, "{}", stderr(&remove));
        assert_eq!(fx.list(), original, "add + remove changed {original:?}");
    }
}

#[test]
fn add_sets_since_to_today_and_refuses_duplicates_ignoring_case() {
    let fx = Fixture::new(EXAMPLE);
    let out = fx.run(&[
        "add",
        "new@example.org",
        "--format",
        "text",
        "--max-papers",
        "7",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let today = chrono::Utc::now().date_naive();
    let list = subscribers::load(&fx.list_path(), SECTIONS).unwrap();
    let new = list.last().unwrap();
    assert_eq!(new.since, Some(today));
    assert_eq!(new.max_papers, Some(7));
    assert_eq!(new.format, subscribers::MailFormat::Text);

    let before = fx.list();
    let dup = fx.run(&["add", "ADA@example.org"]);
    assert_eq!(code(&dup), 2);
    assert!(
        stderr(&dup).contains("ADA@example.org is already subscribed"),
        "{}",
        stderr(&dup)
    );
    assert!(
        stderr(&dup).contains("subscribers.toml:7"),
        "{}",
        stderr(&dup)
    );
    let topic = fx.run(&["add", "t@example.org", "--topics", "Knitting"]);
    assert_eq!(code(&topic), 2);
    assert!(stderr(&topic).contains("unknown topic `Knitting`"));
    let bad = fx.run(&["add", "not an address"]);
    assert_eq!(code(&bad), 2);
    assert_eq!(fx.list(), before);
}

#[test]
fn unknown_addresses_are_an_error_with_exit_2() {
    let fx = Fixture::new(EXAMPLE);
    for verb in ["remove", "pause", "resume"] {
        let out = fx.run(&[verb, "nobody@example.org"]);
        assert_eq!(code(&out), 2, "{verb}");
        assert!(
            stderr(&out).contains("nobody@example.org is not in"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(fx.list(), EXAMPLE);
}

#[test]
fn an_unsubscribed_address_comes_back_only_with_resubscribe() {
    let fx = Fixture::new(EXAMPLE);
    let store = fx.store();
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
        .unwrap()
        .to_utc();
    store.unsubscribe(&email("grace@example.org"), at).unwrap();
    let left = fx.list();
    assert!(left.contains("unsubscribed_at = 2026-12-01T08:00:00Z"));

    let refused = fx.run(&["add", "Grace@example.org"]);
    assert_eq!(code(&refused), 2);
    assert!(
        stderr(&refused).contains("--resubscribe"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(fx.list(), left);

    let back = fx.run(&["add", "grace@example.org", "--resubscribe"]);
    assert_eq!(code(&back), 0, "{}", stderr(&back));
    let grace = subscribers::load(&fx.list_path(), SECTIONS)
        .unwrap()
        .remove(1);
    assert_eq!(grace.unsubscribed_at, None);
    assert_eq!(grace.since, Some(chrono::Utc::now().date_naive()));
}

#[test]
fn import_is_all_or_nothing_and_refuses_to_resubscribe_without_the_flag() {
    let fx = Fixture::new(EXAMPLE);
    let at = chrono::Utc::now();
    fx.store()
        .unsubscribe(&email("alan@example.org"), at)
        .unwrap();
    let before = fx.list();

    let csv = fx.dir.path().join("old.csv");
    fs::write(
        &csv,
        "email,name,topics\nnew@example.org,New,Federated Learning\nALAN@example.org,Alan,\n",
    )
    .unwrap();
    let refused = fx.run(&["import", csv.to_str().unwrap()]);
    assert_eq!(code(&refused), 2);
    let message = stderr(&refused);
    assert!(
        message.contains("old.csv:3:1: ALAN@example.org unsubscribed at"),
        "{message}"
    );
    assert_eq!(
        fx.list(),
        before,
        "nothing is imported when one row is refused"
    );

    let bad = fx.dir.path().join("bad.csv");
    fs::write(
        &bad,
        "email,name,topics\nok@example.org,,\nnot-an-address,,\nada@example.org,,\nz@example.org,,Knitting|Federated Learning\n",
    )
    .unwrap();
    let out = fx.run(&["import", bad.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    let message = stderr(&out);
    for expected in [
        "bad.csv:3:1: `not-an-address` is not a valid email address",
        "bad.csv:4:1: ada@example.org is already subscribed",
        "bad.csv:5:1: unknown topic `Knitting`",
    ] {
        assert!(
            message.contains(expected),
            "{expected:?} missing from {message}"
        );
    }
    assert_eq!(fx.list(), before);

    let accepted = fx.run(&["import", csv.to_str().unwrap(), "--resubscribe"]);
    assert_eq!(code(&accepted), 0, "{}", stderr(&accepted));
    let list = subscribers::load(&fx.list_path(), SECTIONS).unwrap();
    assert_eq!(list.len(), 4);
    assert!(list.iter().all(|s| s.unsubscribed_at.is_none()));
    assert_eq!(list[3].topics, ["Federated Learning"]);
}

#[test]
fn every_validation_error_is_listed_with_its_position() {
    let text = "\
[[subscriber]]
email = \"ada@@example.org\"
colour = \"blue\"

[[subscriber]]
email = \"Grace@example.org\"
topics = [\"Knitting\"]
max_papers = \"ten\"

[[subscriber]]
email = \"grace@EXAMPLE.org\"
format = \"pdf\"
since = \"yesterday\"
";
    let fx = Fixture::new(text);
    let Err(SubscriberError::Invalid(problems)) = subscribers::load(&fx.list_path(), SECTIONS)
    else {
        panic!("the list should be invalid");
    };
    let path = fx.list_path();
    let got: Vec<String> = problems.0.iter().map(ToString::to_string).collect();
    let expected = [
        format!(
            "{}:2:9: `ada@@example.org` is not a valid email address",
            path.display()
        ),
        format!("{}:3:1: unknown key `colour`", path.display()),
        format!("{}:7:11: unknown topic `Knitting`", path.display()),
        format!(
            "{}:8:14: `max_papers` must be an integer, found a string",
            path.display()
        ),
        format!(
            "{}:11:9: grace@EXAMPLE.org is listed twice (first on line 6",
            path.display()
        ),
        format!("{}:12:10: unknown format `pdf`", path.display()),
        format!(
            "{}:13:9: `since` must be a date like 2026-11-28, found a string",
            path.display()
        ),
    ];
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for (got, expected) in got.iter().zip(&expected) {
        assert!(
            got.starts_with(expected.as_str()),
            "{got:?} should start with {expected:?}"
        );
    }

    let out = fx.run(&["list"]);
    assert_eq!(code(&out), 2);
    assert_eq!(
        stderr(&out).matches("subscribers.toml:").count(),
        expected.len()
    );
}

#[test]
fn a_missing_list_is_a_clear_error() {
    let fx = Fixture::new("");
    fs::remove_file(fx.list_path()).unwrap();
    let err = subscribers::load(&fx.list_path(), SECTIONS).unwrap_err();
    assert!(matches!(err, SubscriberError::Missing { .. }));
    assert!(err.to_string().contains("does not exist"));
    let out = fx.run(&["list"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("does not exist"));
    let out = fx.run(&["remove", "ada@example.org"]);
    assert_eq!(code(&out), 2);
    assert!(!fx.list_path().exists());
}

#[test]
fn a_held_lock_makes_an_edit_give_up_with_exit_75() {
    let fx = Fixture::new(EXAMPLE);
    let store = fx.store().with_lock_wait(Duration::from_millis(200));
    let lock = fs::File::create(store.lock_path()).unwrap();
    lock.lock().unwrap();
    let started = Instant::now();
    let err = store
        .add(
            &NewSubscriber::new(email("x@example.org")),
            SECTIONS,
            today(),
        )
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(matches!(err, SubscriberError::LockTimeout { .. }), "{err}");
    assert_eq!(Exit::of(&err), Exit::TryLater);
    assert!(err.to_string().contains("subscribers.toml.lock"));
    drop(lock);
    store
        .add(
            &NewSubscriber::new(email("x@example.org")),
            SECTIONS,
            today(),
        )
        .unwrap();
}

#[test]
fn a_process_killed_between_temp_write_and_rename_leaves_the_original_intact() {
    let fx = Fixture::new(EXAMPLE);
    let mut child = fx
        .command(&["add", "killed@example.org"])
        .env("PAPERWIRE_TEST_PAUSE_BEFORE_RENAME", "20000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    fx.wait_for_temp_file();
    let temp = fx.temp_files().remove(0);
    assert!(
        fs::read_to_string(&temp)
            .unwrap()
            .contains("killed@example.org"),
        "the new version was written to the temporary file"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(fx.list(), EXAMPLE);

    // The kernel dropped the lock; the next edit proceeds at once and sweeps the leftover.
    let started = Instant::now();
    let out = fx.run(&["add", "next@example.org"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(fx.temp_files().is_empty());
    assert!(fx.list().starts_with(EXAMPLE));
    assert!(!fx.list().contains("killed@example.org"));
}

#[test]
fn a_hand_edit_racing_an_add_is_not_lost() {
    let fx = Fixture::new(EXAMPLE);
    let child = fx
        .command(&["add", "racer@example.org"])
        .env("PAPERWIRE_TEST_PAUSE_BEFORE_RENAME", "400")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    fx.wait_for_temp_file();
    // An editor that knows nothing of the lock saves the file meanwhile.
    let hand_edited =
        format!("{EXAMPLE}\n# added by hand\n[[subscriber]]\nemail = \"hand@example.org\"\n");
    fs::write(fx.list_path(), &hand_edited).unwrap();

    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list = fx.list();
    assert!(
        list.starts_with(&hand_edited),
        "the hand edit survives byte for byte:\n{list}"
    );
    assert!(list.contains("email = \"racer@example.org\""));
    let emails: Vec<String> = subscribers::load(&fx.list_path(), SECTIONS)
        .unwrap()
        .into_iter()
        .map(|s| s.email.to_string())
        .collect();
    assert_eq!(emails[3..], ["hand@example.org", "racer@example.org"]);
}

#[cfg(unix)]
#[test]
fn an_edit_keeps_the_files_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let fx = Fixture::new(EXAMPLE);
    fs::set_permissions(fx.list_path(), fs::Permissions::from_mode(0o640)).unwrap();
    fx.store()
        .add(
            &NewSubscriber::new(email("p@example.org")),
            SECTIONS,
            today(),
        )
        .unwrap();
    let mode = fs::metadata(fx.list_path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
}

#[test]
fn list_and_export_print_the_checked_list() {
    let fx = Fixture::new(EXAMPLE);
    fx.store().pause(&email("grace@example.org")).unwrap();
    let out = fx.run(&["list"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("grace@example.org  Grace Hopper  paused"),
        "{table}"
    );
    assert!(table.contains("3 subscribers, 2 getting mail"), "{table}");

    let out = fx.run(&["list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["email"], "ada@example.org");
    assert_eq!(json[0]["since"], "2026-11-28");
    assert_eq!(json[1]["paused"], true);

    let out = fx.run(&["export", "--csv"]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "email,name,topics,format,max_papers,paused\n\
         ada@example.org,Ada,Federated Learning; Pruning & Compression,html,20,false\n\
         grace@example.org,Grace Hopper,,text,,true\n\
         alan@example.org,,,html,,false\n"
    );
}

#[test]
fn removing_an_unsubscribed_address_keeps_its_record_unless_forget() {
    let env = crate::harness::TestEnv::new();
    env.subscribers(
        "[[subscriber]]\nemail = \"gone@example.org\"\nunsubscribed_at = 2026-11-01T08:00:00Z\n",
    );
    env.config(None);
    let out = env.run(&[
        "subscribers",
        "--config",
        "paperwire.toml",
        "remove",
        "gone@example.org",
    ]);
    out.assert_code(2);
    assert!(out.stderr.contains("--forget"), "{out}");
    let out = env.run(&[
        "subscribers",
        "--config",
        "paperwire.toml",
        "add",
        "gone@example.org",
    ]);
    out.assert_code(2);
    env.run(&[
        "subscribers",
        "--config",
        "paperwire.toml",
        "remove",
        "--forget",
        "gone@example.org",
    ])
    .assert_code(0);
    assert!(!env.read("subscribers.toml").contains("gone@example.org"));
}

#[test]
fn names_and_addresses_that_cannot_go_into_a_header_are_refused_everywhere() {
    let env = crate::harness::TestEnv::new();
    env.subscribers(
        "[[subscriber]]\nemail = \"ok@example.org\"\nname = \"Line\\nBreak\"\n\n[[subscriber]]\nemail = \"josé@bücher.example\"\n\n[[subscriber]]\nemail = '\"a b\"@example.org'\n",
    );
    env.config(None);
    let out = env.run(&["check", "--config", "paperwire.toml"]);
    out.assert_code(2);
    for needle in [
        "subscribers.toml:3:",
        "line break",
        "SMTPUTF8",
        "quoted or spaced",
    ] {
        assert!(out.stderr.contains(needle), "{needle}: {out}");
    }
    env.subscribers("[[subscriber]]\nemail = \"ok@example.org\"\n");
    let out = env.run(&[
        "subscribers",
        "--config",
        "paperwire.toml",
        "add",
        "new@example.org",
        "--name",
        "A\rB",
    ]);
    out.assert_code(2);
    env.write("in.csv", "email,name\nx@example.org,\"two\nlines\"\n");
    let out = env.run(&[
        "subscribers",
        "--config",
        "paperwire.toml",
        "import",
        "in.csv",
    ]);
    out.assert_code(2);
    assert!(out.stderr.contains("line break"), "{out}");
    assert_eq!(
        env.read("subscribers.toml"),
        "[[subscriber]]\nemail = \"ok@example.org\"\n"
    );
}

/// Appends changes to the list's log, as the server (or signup, preferences, bounces) does.
fn log_changes(fx: &Fixture, changes: &[(&str, subscribers::ChangeKind)]) {
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
        .unwrap()
        .to_utc();
    let changes: Vec<subscribers::Change> = changes
        .iter()
        .map(|(address, kind)| subscribers::Change::new(email(address), at, kind.clone()))
        .collect();
    fx.store().change_log().append(&changes).unwrap();
}

fn folding_changes(fx: &Fixture) {
    log_changes(
        fx,
        &[
            ("ada@example.org", subscribers::ChangeKind::Pause),
            ("grace@example.org", subscribers::ChangeKind::Unsubscribe),
            (
                "new@example.org",
                subscribers::ChangeKind::Subscribe(subscribers::Profile {
                    topics: Some(vec!["Federated Learning".into()]),
                    ..subscribers::Profile::default()
                }),
            ),
        ],
    );
}

fn find(list: &[subscribers::Subscriber], address: &str) -> subscribers::Subscriber {
    let found: Vec<_> = list
        .iter()
        .filter(|s| s.email.as_str() == address)
        .collect();
    assert_eq!(found.len(), 1, "{address} once");
    found[0].clone()
}

#[test]
fn a_process_killed_before_the_folds_rename_loses_nothing_and_applies_nothing_twice() {
    let fx = Fixture::new(EXAMPLE);
    folding_changes(&fx);
    let mut child = fx
        .command(&["add", "killed@example.org"])
        .env("PAPERWIRE_TEST_PAUSE_BEFORE_RENAME", "20000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    fx.wait_for_temp_file();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(fx.list(), EXAMPLE, "the list is whole and untouched");
    // Every reader still sees the changes, once.
    let list = subscribers::load(&fx.list_path(), SECTIONS).unwrap();
    assert!(find(&list, "ada@example.org").paused);
    assert!(find(&list, "grace@example.org").unsubscribed_at.is_some());
    assert_eq!(
        find(&list, "new@example.org").topics,
        ["Federated Learning"]
    );
    assert!(
        !list
            .iter()
            .any(|s| s.email.as_str() == "killed@example.org")
    );

    let out = fx.run(&["resume", "ada@example.org"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list = subscribers::load(&fx.list_path(), SECTIONS).unwrap();
    assert!(
        !find(&list, "ada@example.org").paused,
        "the resume came after the pause"
    );
    assert_eq!(fx.list().matches("new@example.org").count(), 1);
    assert_eq!(
        fs::read_to_string(fx.store().change_log().path()).unwrap(),
        ""
    );
}

#[test]
fn a_process_killed_after_the_folds_rename_never_applies_the_changes_again() {
    let fx = Fixture::new(EXAMPLE);
    folding_changes(&fx);
    let mut child = fx
        .command(&["add", "killed@example.org"])
        .env("PAPERWIRE_TEST_PAUSE_AFTER_RENAME", "20000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fx.list().contains("killed@example.org") {
        assert!(Instant::now() < deadline, "the edit never renamed");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL, with the folded lines still in the log
    child.wait().unwrap();
    let log = fs::read_to_string(fx.store().change_log().path()).unwrap();
    assert!(
        log.contains("\"op\":\"pause\"") && log.contains("\"fold\""),
        "{log}"
    );

    // A hand edit resumes Ada; the pause in the log is already in the file and must not come back.
    let edited = fx
        .list()
        .replacen("paused     = true ", "paused     = false", 1);
    assert!(edited.contains("paused     = false                     # true"));
    fs::write(fx.list_path(), &edited).unwrap();
    let list = subscribers::load(&fx.list_path(), SECTIONS).unwrap();
    assert!(!find(&list, "ada@example.org").paused);
    assert_eq!(
        find(&list, "new@example.org").topics,
        ["Federated Learning"]
    );
    assert!(find(&list, "killed@example.org").since.is_some());

    let out = fx.run(&["add", "after@example.org"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = fx.list();
    assert!(text.starts_with(&edited), "{text}");
    assert_eq!(text.matches("new@example.org").count(), 1);
    assert_eq!(
        fs::read_to_string(fx.store().change_log().path()).unwrap(),
        ""
    );
}

#[test]
fn check_reports_suppressions_and_skipped_log_lines() {
    let env = crate::harness::TestEnv::new();
    env.subscribers("[[subscriber]]\nemail = \"ok@example.org\"\n");
    env.config(None);
    let log = paperwire::subscribers::ChangeLog::beside(&env.path("subscribers.toml"));
    log.append(&[
        subscribers::Change::unsubscribe(email("gone@example.org")),
        subscribers::Change::unsubscribe(email("ok@example.org")),
    ])
    .unwrap();
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(log.path())
        .unwrap();
    std::io::Write::write_all(&mut file, b"{\"torn\n").unwrap();
    let out = env.run(&["check", "--config", "paperwire.toml"]);
    out.assert_code(0);
    assert!(out.stdout.contains("1 subscriber (0 active)"), "{out}");
    assert!(
        out.stderr
            .contains("subscribers.toml.changes:3:1: skipped an unreadable change"),
        "{out}"
    );
    assert!(
        out.stderr.contains("gone@example.org") && out.stderr.contains("not on the list"),
        "{out}"
    );
}

#[test]
fn an_edit_reading_a_list_that_an_editor_is_writing_in_place_reads_it_again() {
    let fx = Fixture::new(EXAMPLE);
    // The editor has written half of the file so far.
    let cut = EXAMPLE.find("email  = \"grace").unwrap() + 12;
    fs::write(fx.list_path(), &EXAMPLE[..cut]).unwrap();
    let child = fx
        .command(&["add", "x@example.org"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    fs::write(fx.list_path(), EXAMPLE).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(fx.list().starts_with(EXAMPLE));
}

#[cfg(unix)]
#[test]
fn a_symlinked_list_is_edited_where_it_lives_and_its_log_sits_beside_it() {
    let fx = Fixture::new("");
    let real_dir = tempfile::tempdir().unwrap();
    let real = real_dir.path().join("people.toml");
    fs::write(&real, EXAMPLE).unwrap();
    fs::remove_file(fx.list_path()).unwrap();
    std::os::unix::fs::symlink(&real, fx.list_path()).unwrap();

    // Appended through the link, read through the link and through the file itself.
    log_changes(&fx, &[("ada@example.org", subscribers::ChangeKind::Pause)]);
    assert!(real_dir.path().join("people.toml.changes").exists());
    for path in [fx.list_path(), real.clone()] {
        let list = subscribers::load(&path, SECTIONS).unwrap();
        assert!(find(&list, "ada@example.org").paused);
    }
    let out = fx.run(&["add", "linked@example.org"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        fs::symlink_metadata(fx.list_path())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let text = fs::read_to_string(&real).unwrap();
    assert!(
        text.contains("linked@example.org") && text.contains("paused     = true "),
        "{text}"
    );
    assert_eq!(
        fs::read_to_string(real_dir.path().join("people.toml.changes")).unwrap(),
        ""
    );
}
