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
    // The file appears before its bytes are all written: wait for the pause before the rename.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fs::read_to_string(&temp)
        .unwrap()
        .contains("killed@example.org")
    {
        assert!(
            Instant::now() < deadline,
            "the new version was written to the temporary file"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
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
    assert_eq!(
        json[2]["authors"],
        serde_json::json!(["Tri Dao", "LeCun, Yann"])
    );
    assert_eq!(json[2]["for_you"], 5);
    assert!(
        json[0].get("interests").is_none(),
        "no personal fields, no keys"
    );

    // The personal columns, because one subscriber has personal fields.
    let out = fx.run(&["export", "--csv"]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "email,name,topics,format,max_papers,paused,interests,authors,like,mute,for_you\n\
         ada@example.org,Ada,Federated Learning; Pruning & Compression,html,20,false,,,,,\n\
         grace@example.org,Grace Hopper,,text,,true,,,,,\n\
         alan@example.org,,,html,,false,speculative decoding; KV cache*,\"Tri Dao; LeCun, Yann\",,benchmark*,5\n"
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

/// The fingerprint an edit keeps in the lock file, as it reads there.
fn kept_fingerprint(fx: &Fixture) -> String {
    fs::read_to_string(fx.store().lock_path()).unwrap_or_default()
}

/// Writes `text` over the list's bytes in place (same file, no truncation when the size is the
/// same), then sets its modification time back, as an editor that saves in place within the
/// same clock tick would leave it.
fn overwrite_in_place_keeping_mtime(fx: &Fixture, text: &str) {
    use std::io::Write;
    let before = fs::metadata(fx.list_path()).unwrap();
    let mut file = fs::OpenOptions::new()
        .write(true)
        .open(fx.list_path())
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file.set_len(text.len() as u64).unwrap();
    file.set_modified(before.modified().unwrap()).unwrap();
    drop(file);
    let after = fs::metadata(fx.list_path()).unwrap();
    assert_eq!(after.len(), before.len());
    assert_eq!(after.modified().unwrap(), before.modified().unwrap());
}

#[test]
fn a_hand_edit_between_two_edits_is_checked_again_and_never_overwritten() {
    let fx = Fixture::new(EXAMPLE);
    let store = fx.store();
    let first = NewSubscriber::new(email("first@example.org"));
    store.add(&first, SECTIONS, today()).unwrap();
    let written = fx.list();
    assert!(
        kept_fingerprint(&fx).contains(&format!("\"len\":{}", written.len())),
        "the edit fingerprinted what it wrote: {}",
        kept_fingerprint(&fx)
    );

    // A hand edit breaks an entry far from the next edit's: the next edit must see it.
    let broken = written.replace("\"Grace Hopper\"", "\"Grace Hopper");
    fs::write(fx.list_path(), &broken).unwrap();
    let err = store.pause(&email("first@example.org")).unwrap_err();
    let line = broken[..broken.find("Grace Hopper").unwrap()]
        .lines()
        .count();
    assert!(
        err.to_string()
            .starts_with(&format!("{}:{line}:", fx.list_path().display())),
        "{err}"
    );
    assert_eq!(fx.list(), broken, "nothing was written");

    // Mended by hand, with a note: the next edit keeps both.
    let mended = broken.replace("\"Grace Hopper\n", "\"Grace B. Hopper\" # mended\n");
    fs::write(fx.list_path(), &mended).unwrap();
    assert!(store.pause(&email("first@example.org")).unwrap());
    let list = fx.list();
    assert!(list.starts_with(&mended[..mended.find("first@").unwrap()]));
    assert!(list.ends_with("paused = true\n"), "{list}");
}

#[test]
fn an_edit_in_place_of_the_same_size_and_time_is_checked_again() {
    let fx = Fixture::new(EXAMPLE);
    let store = fx.store();
    store
        .add(
            &NewSubscriber::new(email("first@example.org")),
            SECTIONS,
            today(),
        )
        .unwrap();
    let written = fx.list();
    // Same length: a closing quote becomes an opening one.
    let broken = written.replace("\"grace@example.org\"", "\"grace@example.org'");
    overwrite_in_place_keeping_mtime(&fx, &broken);
    let err = store
        .remove(&email("first@example.org"), false)
        .unwrap_err();
    let line = broken[..broken.find("grace@").unwrap()].lines().count();
    assert!(
        err.to_string()
            .starts_with(&format!("{}:{line}:", fx.list_path().display())),
        "{err}"
    );
    assert_eq!(fx.list(), broken, "nothing was written");

    // A valid edit in place, the same way, survives the next edit byte for byte.
    let renamed = written.replace("Grace Hopper", "Grace Hoppex");
    overwrite_in_place_keeping_mtime(&fx, &renamed);
    store.remove(&email("first@example.org"), false).unwrap();
    assert_eq!(fx.list(), EXAMPLE.replace("Grace Hopper", "Grace Hoppex"));
}

#[test]
fn another_file_of_the_same_size_put_in_the_lists_place_is_checked_again() {
    let fx = Fixture::new(EXAMPLE);
    let store = fx.store();
    store.pause(&email("alan@example.org")).unwrap();
    let written = fx.list();
    let mtime = fs::metadata(fx.list_path()).unwrap().modified().unwrap();
    // The same people, one address written with an escape (a byte search for it finds
    // nothing), and a comment five characters shorter to keep the size.
    let swapped = written.replace("\"grace@", "\"gr\\u0061ce@").replace(
        "# required; unique, ignoring case",
        "# required; unique, ignoring",
    );
    assert_eq!(swapped.len(), written.len());
    let other = fx.dir.path().join("other.toml");
    fs::write(&other, &swapped).unwrap();
    fs::File::options()
        .write(true)
        .open(&other)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    fs::rename(&other, fx.list_path()).unwrap();

    let err = store
        .add(
            &NewSubscriber::new(email("Grace@example.org")),
            SECTIONS,
            today(),
        )
        .unwrap_err();
    assert!(
        matches!(err, SubscriberError::AlreadySubscribed { line: 18, .. }),
        "{err}"
    );
    assert_eq!(fx.list(), swapped, "nothing was written");
    assert!(store.resume(&email("alan@example.org")).unwrap().was_paused);
    assert_eq!(
        fx.list(),
        swapped.replace("\npaused = true\n", "\npaused = false\n")
    );
}

/// A list with comments above and between entries, notes after headers (two entries in one
/// piece of the byte search), addresses in mixed case and other addresses inside names.
fn varied_list(n: usize) -> String {
    let mut text = String::from("# the list\n\n");
    for i in 0..n {
        if i % 4 == 0 {
            text.push_str(&format!("# about r{i}@example.org\n"));
        }
        let header = if i % 9 == 4 {
            "[[subscriber]] # note"
        } else {
            "[[subscriber]]"
        };
        let address = if i % 3 == 0 {
            format!("R{i}@Example.org")
        } else {
            format!("r{i}@example.org")
        };
        let next = i + 1;
        text.push_str(&format!(
            "{header}\nemail = \"{address}\"\nname = \"R <r{next}@example.org>\"\n"
        ));
        if i % 5 == 0 {
            text.push_str("paused = true\n");
        }
        if i % 2 == 0 {
            text.push('\n');
        }
    }
    text
}

/// One step of [`edits_that_trust_the_last_edit_do_what_a_full_read_does`]: an edit through
/// the library, changes in the log folded, or a hand edit of the file.
fn random_step(rng: &mut impl rand::Rng, fx: &Fixture, hand: &mut Vec<String>) -> String {
    let who = rng.random_range(0..70);
    let address = match rng.random_range(0..3) {
        0 => format!("R{who}@EXAMPLE.org"),
        _ => format!("r{who}@example.org"),
    };
    let store = fx.store();
    let path = fx.dir.path().display().to_string();
    let shown = |result: String| result.replace(&path, "DIR");
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
        .unwrap()
        .to_utc();
    match rng.random_range(0..8) {
        0 => {
            let mut new = NewSubscriber::new(email(&address));
            new.name = Some(format!("N <r{}@example.org>", who + 1));
            shown(format!("{:?}", store.add(&new, SECTIONS, today())))
        }
        1 => shown(format!(
            "{:?}",
            store.remove(&email(&address), rng.random())
        )),
        2 => shown(format!("{:?}", store.pause(&email(&address)))),
        3 => shown(format!("{:?}", store.resume(&email(&address)))),
        4 => shown(format!("{:?}", store.unsubscribe(&email(&address), at))),
        5 => {
            let kind = if rng.random() {
                subscribers::ChangeKind::Unsubscribe
            } else {
                subscribers::ChangeKind::Pause
            };
            log_changes(
                fx,
                &[
                    (&address, kind),
                    ("new@example.org", subscribers::ChangeKind::Unsubscribe),
                ],
            );
            shown(format!("{:?}", store.fold()))
        }
        _ => {
            // The same hand edit to both lists: the first step picks it, the other replays it.
            let list = fx.list();
            let edit = hand.pop().unwrap_or_else(|| {
                // Before the header of the entry of `address` (or at the end), or after its
                // address's line: the list stays valid.
                let at = list.find(&format!("\"{address}\"")).unwrap_or(list.len());
                let header = list[..at].rfind("\n[[subscriber]]").map_or(0, |i| i + 1);
                let after = list[at..].find('\n').map_or(list.len(), |i| at + i + 1);
                match rng.random_range(0..4) {
                    0 => format!("insert {header} # a note by hand\n"),
                    1 => format!("insert {after} # [[subscriber]] r{who}@example.org\n"),
                    2 => format!(
                        "insert {} [[subscriber]]\nemail = \"HAND{who}@example.org\"\n\n",
                        list.len()
                    ),
                    _ => format!(
                        "insert {header} [[subscriber]]\nemail = \"x{who}@example.org\" # by hand\n"
                    ),
                }
            });
            let (at, text) = edit
                .strip_prefix("insert ")
                .and_then(|rest| rest.split_once(' '))
                .unwrap();
            let at: usize = at.parse().unwrap();
            let mut changed = list.clone();
            changed.insert_str(at.min(list.len()), text);
            fs::write(fx.list_path(), changed).unwrap();
            hand.push(edit);
            "hand edit".to_owned()
        }
    }
}

#[test]
fn edits_that_trust_the_last_edit_do_what_a_full_read_does() {
    use rand::SeedableRng;
    // The same steps on two copies; the second forgets the fingerprint before each step, so
    // every edit of it reads and checks the whole list.
    let trusting = Fixture::new(&varied_list(60));
    let checking = Fixture::new(&varied_list(60));
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    let mut done = 0;
    for step in 0..250 {
        let state = rng.clone();
        let mut hand = Vec::new();
        let trusted = random_step(&mut rng, &trusting, &mut hand);
        let mut replay = state;
        let _ = fs::remove_file(checking.store().lock_path());
        let checked = random_step(&mut replay, &checking, &mut hand);
        assert_eq!(trusted, checked, "step {step}");
        done += usize::from(trusted.starts_with("Ok"));
        assert_eq!(trusting.list(), checking.list(), "step {step}: {trusted}");
        if step % 50 == 49 {
            let list = fs::read_to_string(trusting.store().lock_path()).unwrap();
            assert!(list.contains("xxh3_128"), "step {step}: {list}");
        }
    }
    assert!(done >= 100, "only {done} steps did something");
}

/// Ann twice (in two spellings), with Bob between.
const ANN_TWICE: &str = "[[subscriber]]\nemail = \"Ann@example.org\"\n\n[[subscriber]]\nemail = \"bob@example.org\"\n\n[[subscriber]]\nemail = \"ann@example.org\"\n";

#[test]
fn an_edit_of_an_address_listed_twice_refuses_and_a_fold_changes_both_entries() {
    let fx = Fixture::new(ANN_TWICE);
    let refused = |fx: &Fixture, args: &[&str], line: usize| {
        let before = fx.list();
        let out = fx.run(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        let dir = fx.dir.path().display().to_string();
        assert_eq!(
            stderr(&out).replace(&dir, "<dir>"),
            format!(
                "paperwire: error: <dir>/subscribers.toml:{line}:9: ann@example.org is listed twice (first at <dir>/subscribers.toml:2:9; addresses are compared ignoring case), so nothing was changed: remove one of the two entries by hand first\n"
            ),
            "{args:?}"
        );
        assert_eq!(fx.list(), before, "{args:?}");
    };
    // The first edit reads the list whole (nothing fingerprinted yet), and fingerprints it.
    assert!(!kept_fingerprint(&fx).contains("xxh3_128"));
    refused(&fx, &["remove", "ann@example.org"], 8);
    assert!(kept_fingerprint(&fx).contains("xxh3_128"));
    // The next ones read only the parts that hold Ann, and still find both entries.
    for args in [
        &["remove", "ann@example.org"][..],
        &["pause", "ANN@example.org"],
        &["resume", "ann@example.org"],
        &["remove", "--forget", "ann@example.org"],
        &["add", "ann@example.org"],
    ] {
        refused(&fx, args, 8);
    }
    // An edit of Bob alone goes through; Ann's entries stay as they were.
    assert_eq!(code(&fx.run(&["pause", "bob@example.org"])), 0);
    refused(&fx, &["pause", "ann@example.org"], 9);
    // The loader refuses the list, so nothing is sent to anyone.
    let out = fx.run(&["list"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("ann@example.org is listed twice"));

    // An unsubscribe in the change log reaches every entry of the address when it is folded.
    log_changes(
        &fx,
        &[("ann@example.org", subscribers::ChangeKind::Unsubscribe)],
    );
    fx.store().fold().unwrap();
    let folded = fx.list();
    assert_eq!(
        folded
            .matches("unsubscribed_at = 2026-12-01T08:00:00Z")
            .count(),
        2,
        "{folded}"
    );
    // A pending unsubscribe folded by another edit (here the fast path) does the same.
    let fx = Fixture::new(ANN_TWICE);
    assert_eq!(code(&fx.run(&["pause", "bob@example.org"])), 0);
    log_changes(
        &fx,
        &[("ann@example.org", subscribers::ChangeKind::Unsubscribe)],
    );
    assert_eq!(code(&fx.run(&["resume", "bob@example.org"])), 0);
    assert_eq!(
        fx.list().matches("unsubscribed_at").count(),
        2,
        "{}",
        fx.list()
    );
}

#[test]
fn edits_of_a_crlf_list_keep_its_line_ends_byte_for_byte() {
    let original =
        "# readers\r\n\r\n[[subscriber]]\r\nemail = \"crlf@example.org\"\r\nname = \"C\"\r\n";
    let fx = Fixture::new(original);
    assert_eq!(code(&fx.run(&["pause", "crlf@example.org"])), 0);
    let paused = "# readers\r\n\r\n[[subscriber]]\r\nemail = \"crlf@example.org\"\r\nname = \"C\"\r\npaused = true\r\n";
    assert_eq!(fx.list(), paused);
    let new = NewSubscriber::new(email("new@example.org"));
    fx.store().add(&new, SECTIONS, today()).unwrap();
    let added = format!(
        "{paused}\r\n[[subscriber]]\r\nemail = \"new@example.org\"\r\nsince = 2026-11-30\r\n"
    );
    assert_eq!(fx.list(), added);
    assert_eq!(code(&fx.run(&["resume", "crlf@example.org"])), 0);
    assert_eq!(code(&fx.run(&["remove", "new@example.org"])), 0);
    assert_eq!(
        fx.list(),
        original.replace("name = \"C\"\r\n", "name = \"C\"\r\npaused = false\r\n")
    );
}

#[test]
fn add_keeps_the_last_entrys_notes_with_it_and_list_counts_one_subscriber() {
    let original =
        "[[subscriber]]\nemail = \"ada@example.org\"\n# Ada asked for the text version soon\n";
    let fx = Fixture::new(original);
    let out = fx.run(&["list"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        table.ends_with("\n1 subscriber, 1 getting mail\n"),
        "{table}"
    );
    let new = NewSubscriber::new(email("bob@example.org"));
    fx.store().add(&new, SECTIONS, today()).unwrap();
    assert_eq!(
        fx.list(),
        format!("{original}\n[[subscriber]]\nemail = \"bob@example.org\"\nsince = 2026-11-30\n")
    );
    assert_eq!(code(&fx.run(&["remove", "bob@example.org"])), 0);
    assert_eq!(fx.list(), original);
}

/// Appends one change made at `at` to the list's log.
fn log_change_at(fx: &Fixture, address: &str, at: &str, kind: subscribers::ChangeKind) {
    let at = chrono::DateTime::parse_from_rfc3339(at).unwrap().to_utc();
    let change = subscribers::Change::new(email(address), at, kind);
    fx.store().change_log().append(&[change]).unwrap();
}

fn unsubscribed_at(fx: &Fixture, address: &str) -> Option<String> {
    let list = subscribers::load(&fx.list_path(), SECTIONS).unwrap();
    find(&list, address).unsubscribed_at.map(|t| t.to_rfc3339())
}

#[test]
fn a_folded_unsubscribe_outlives_an_older_copy_of_the_list_saved_over_it() {
    let fx = Fixture::new(EXAMPLE);
    let stale = fx.list();
    let record = fx.dir.path().join("subscribers.toml.unsubscribed");
    log_change_at(
        &fx,
        "ada@example.org",
        "2026-12-01T08:00:00Z",
        subscribers::ChangeKind::Unsubscribe,
    );
    fx.store().fold().unwrap();
    assert!(fx.list().contains("unsubscribed_at = 2026-12-01T08:00:00Z"));
    assert!(
        fs::read_to_string(&record)
            .unwrap()
            .contains("ada@example.org")
    );

    // An editor saves its older buffer over the list: the log no longer holds the unsubscribe,
    // yet every reader still sees it, and nothing is sent to Ada.
    fs::write(fx.list_path(), &stale).unwrap();
    assert_eq!(
        unsubscribed_at(&fx, "ada@example.org").as_deref(),
        Some("2026-12-01T08:00:00+00:00")
    );
    let out = fx.run(&["list"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 subscribers, 2 getting mail"));
    // An edit that fails leaves the list as it is (and does not vouch for it); the next one
    // writes the unsubscribe back into the list.
    assert_eq!(code(&fx.run(&["pause", "nobody@example.org"])), 2);
    assert_eq!(fx.list(), stale);
    assert_eq!(code(&fx.run(&["pause", "grace@example.org"])), 0);
    let restored = fx.list();
    assert!(
        restored.contains("unsubscribed_at = 2026-12-01T08:00:00Z"),
        "{restored}"
    );
    // `add` still refuses her; `--resubscribe` takes her off the record for good.
    assert_eq!(code(&fx.run(&["add", "ada@example.org"])), 2);
    let out = fx.run(&["add", "--resubscribe", "ada@example.org"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(unsubscribed_at(&fx, "ada@example.org"), None);
    assert!(
        !fs::read_to_string(&record)
            .unwrap()
            .contains("ada@example.org")
    );
    fs::write(fx.list_path(), &stale).unwrap();
    fx.store().fold().unwrap();
    assert_eq!(fx.list(), stale);

    // A confirmed signup after the unsubscribe (a Subscribe change later in the log) wins,
    // folded together with it or after it.
    for together in [true, false] {
        let fx = Fixture::new(EXAMPLE);
        let unsubscribe = subscribers::ChangeKind::Unsubscribe;
        log_change_at(
            &fx,
            "grace@example.org",
            "2026-12-01T08:00:00Z",
            unsubscribe,
        );
        if !together {
            fx.store().fold().unwrap();
            assert!(unsubscribed_at(&fx, "grace@example.org").is_some());
        }
        let signup = subscribers::ChangeKind::Subscribe(subscribers::Profile::default());
        log_change_at(&fx, "grace@example.org", "2026-12-02T08:00:00Z", signup);
        assert_eq!(
            unsubscribed_at(&fx, "grace@example.org"),
            None,
            "{together}"
        );
        fx.store().fold().unwrap();
        fx.store().fold().unwrap();
        assert_eq!(
            unsubscribed_at(&fx, "grace@example.org"),
            None,
            "{together}"
        );
        let kept = fs::read_to_string(fx.dir.path().join("subscribers.toml.unsubscribed"));
        assert!(!kept.unwrap_or_default().contains("grace"), "{together}");
    }
}
