//! The command line as people use it: `--config` anywhere, shell completions and a man page,
//! `init` for a fresh start, help that names the environment and the exit codes, addresses
//! that are almost certainly typos, and logs at the verbosity asked for.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{BIN, Output, TestEnv};

/// Runs `script` in bash (`-o pipefail`) with the binary's directory first on PATH.
fn bash(env: &TestEnv, script: &str) -> Output {
    let bin_dir = std::path::Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-o", "pipefail", "-ec", script])
        .current_dir(env.root())
        .env("PATH", path)
        .env_remove("PAPERWIRE_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn config_goes_anywhere_on_the_line() {
    let env = TestEnv::new();
    env.config_builder(None)
        .file_name("conf/digest.toml")
        .with_subscribers("path = \"../subscribers.toml\"")
        .write();
    let out = env.run(&[
        "subscribers",
        "add",
        "lin@example.org",
        "--config",
        "conf/digest.toml",
    ]);
    out.assert_code(0);
    assert_eq!(out.stdout, "added lin@example.org\n");
    let out = env.run(&["--config", "conf/digest.toml", "subscribers", "list"]);
    out.assert_code(0);
    assert!(out.stdout.contains("lin@example.org"), "{out}");
    let out = env.run(&["-c", "conf/digest.toml", "status"]);
    out.assert_code(0);
    let out = env.run(&["subscribers", "-c", "conf/digest.toml", "list", "--json"]);
    out.assert_code(0);
    assert!(out.stdout.contains("\"lin@example.org\""), "{out}");
}

#[test]
fn bash_completion_loads_and_other_shells_get_a_script() {
    let env = TestEnv::new();
    let out = bash(
        &env,
        "source <(paperwire completions bash)\ncomplete -p paperwire",
    );
    out.assert_code(0);
    assert!(
        out.stdout.contains("_paperwire") && out.stdout.trim_end().ends_with(" paperwire"),
        "{out}"
    );
    // Completing a subcommand name works in a real bash.
    let out = bash(
        &env,
        "source <(paperwire completions bash)\nCOMP_WORDS=(paperwire sub); COMP_CWORD=1; COMP_LINE='paperwire sub'; COMP_POINT=${#COMP_LINE}\n_paperwire paperwire sub paperwire\necho \"${COMPREPLY[@]}\"",
    );
    out.assert_code(0);
    assert_eq!(out.stdout.trim(), "subscribers", "{out}");
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = env.run(&["completions", shell]);
        out.assert_code(0);
        assert!(
            out.stdout.contains("paperwire") && out.stdout.len() > 500,
            "{shell}: {out}"
        );
    }
    let out = env.run(&["completions", "tcsh"]);
    out.assert_code(2);
}

#[test]
fn the_man_page_renders_with_man() {
    let env = TestEnv::new();
    let out = bash(
        &env,
        "paperwire man | MANWIDTH=100 MANPAGER=cat man --warnings -l -",
    );
    out.assert_code(0);
    assert!(out.stderr.is_empty(), "warnings from man/groff: {out}");
    // The synopsis keeps each option with its value with a no-break space.
    let page = out.stdout.replace('\u{a0}', " ");
    for expected in [
        "NAME",
        "paperwire - Turns the day's trending research papers",
        "SYNOPSIS",
        "SUBCOMMANDS",
        "paperwire-init(1)",
        "paperwire-send(1)",
        "-c, --config",
        "[-c|--config <FILE>]",
        "EXIT STATUS",
    ] {
        assert!(page.contains(expected), "no `{expected}` in\n{page}");
    }
    // The exit codes are a table: each code starts its own line, its text beside it.
    assert!(
        page.lines()
            .any(|l| l.trim_start().starts_with("75     temporary failure")),
        "{page}"
    );
    // A subcommand's page, and every page installed where `man` looks.
    let out = bash(
        &env,
        "paperwire man send | MANPAGER=cat man --warnings -l -",
    );
    out.assert_code(0);
    assert!(out.stderr.is_empty(), "{out}");
    let send = &out.stdout.replace('\u{a0}', " ");
    assert!(send.contains("paperwire-send") && send.contains("ENVIRONMENT"));
    // Every variable and every example is a tag of its own, not reflowed into a paragraph.
    for tag in [
        "PAPERWIRE_SECRET",
        "PAPERWIRE_SMTP_URL",
        "paperwire send --dry-run",
        "paperwire send --only ada@example.org --test-to me@example.org",
    ] {
        assert!(
            send.lines().any(|l| l.trim() == tag),
            "`{tag}` is no tag in\n{send}"
        );
    }
    assert!(send.contains("[--only <EMAIL>]…"), "{send}");
    let out = bash(
        &env,
        "paperwire man --dir share/man/man1 && MANPATH=share/man MANPAGER=cat man paperwire-subscribers-add",
    );
    out.assert_code(0);
    assert!(
        out.stdout
            .contains("paperwire-subscribers-add - Add a subscriber"),
        "{out}"
    );
    let out = env.run(&["man", "sned"]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr, @"paperwire: error: `paperwire` has no subcommand `sned`; it has: init, preview, check, explain, run, fetch, status, subscribers, bounces, serve, send, archive, completions, man");
}

#[test]
fn init_writes_a_starter_that_checks_and_never_overwrites() {
    let env = TestEnv::new();
    let out = env.run(&["init"]);
    out.assert_code(0);
    let config = env.read("paperwire.toml");
    let list = env.read("subscribers.toml");
    assert!(config.starts_with("# paperwire.toml") && list.starts_with("# subscribers.toml"));
    let check = env.run(&["check"]);
    check.assert_code(0);
    assert!(check.stdout.contains("paperwire.toml: ok"), "{check}");
    env.run(&[
        "subscribers",
        "add",
        "ada@example.org",
        "--topics",
        "Graphs",
    ])
    .assert_code(0);
    env.run(&["check"]).assert_code(0);

    // A second init writes nothing and says why.
    env.write("subscribers.toml", "# mine\n");
    let again = env.run(&["init"]);
    again.assert_code(2);
    insta::assert_snapshot!(again.stderr, @"paperwire: error: ./paperwire.toml and ./subscribers.toml already exist; init never overwrites, so nothing was written (move them away, or run `paperwire init` in another directory)");
    assert_eq!(env.read("subscribers.toml"), "# mine\n");
    assert_eq!(env.read("paperwire.toml"), config);

    // One existing file is enough to refuse; a new directory is created.
    env.write("half/subscribers.toml", "# mine\n");
    let half = env.run(&["init", "half"]);
    half.assert_code(2);
    insta::assert_snapshot!(half.stderr, @"paperwire: error: half/subscribers.toml already exists; init never overwrites, so nothing was written (move it away, or run `paperwire init` in another directory)");
    assert!(!env.exists("half/paperwire.toml"));
    let with_config = env.run(&["init", "--config", "x.toml"]);
    with_config.assert_code(2);
    insta::assert_snapshot!(with_config.stderr, @"paperwire: error: `init` writes DIR/paperwire.toml and takes no --config (got x.toml); run `paperwire init DIR`");
    let fresh = env.run(&["init", "new/digest"]);
    fresh.assert_code(0);
    env.run(&["check", "--config", "new/digest/paperwire.toml"])
        .assert_code(0);
}

#[test]
fn a_missing_config_points_at_init() {
    let env = TestEnv::new();
    let out = env.run(&["send"]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr, @"paperwire: error: no config: pass --config FILE, set PAPERWIRE_CONFIG, or create ./paperwire.toml (`paperwire init` writes a starter one)");
}

#[test]
fn long_help_names_the_environment_exit_codes_and_examples() {
    let env = TestEnv::new();
    for (cmd, vars) in [
        (
            "send",
            &[
                "PAPERWIRE_SECRET",
                "PAPERWIRE_SMTP_URL",
                "PAPERWIRE_SMTP_PASSWORD",
            ][..],
        ),
        ("run", &["PAPERWIRE_SECRET", "PAPERWIRE_SMTP_URL"][..]),
        ("serve", &["PAPERWIRE_SECRET"][..]),
    ] {
        let long = env.run(&[cmd, "--help"]);
        long.assert_code(0);
        for needle in vars
            .iter()
            .chain(&["PAPERWIRE_CONFIG", "Exit codes:", "Examples:", "  75  "])
        {
            assert!(
                long.stdout.contains(needle),
                "`{cmd} --help` lacks {needle}\n{long}"
            );
        }
        let short = env.run(&[cmd, "-h"]);
        assert!(!short.stdout.contains("Exit codes:"), "{short}");
    }
    let send = env.run(&["send", "--help"]).stdout;
    assert!(send.contains("75 wins over 1"), "{send}");
    let import = env.run(&["subscribers", "import", "--help"]).stdout;
    assert!(import.contains("separated by `;`, `|` or `,`"), "{import}");
}

#[test]
fn dotless_domains_are_refused_by_add_import_and_send() {
    let env = TestEnv::new();
    env.subscribers("[[subscriber]]\nemail = \"ada@example.org\"\n");
    env.config(None);
    let before = env.read("subscribers.toml");
    let add = env.run(&["subscribers", "add", "bob@example"]);
    add.assert_code(2);
    insta::assert_snapshot!(add.stderr, @r"
    error: invalid value 'bob@example' for '<EMAIL>': `bob@example` has no dot in its domain, which is almost always a typo (a missing `.com`, `.org`…); public mail domains have one

    For more information, try '--help'.
    ");
    env.write(
        "people.csv",
        "email,name,topics\ncy@example.org,Cy,\nbob@example,Bob,\n",
    );
    let import = env.run(&["subscribers", "import", "people.csv"]);
    import.assert_code(2);
    insta::assert_snapshot!(import.stderr, @"paperwire: error: nothing was imported from people.csv: people.csv:3:1: `bob@example` has no dot in its domain, which is almost always a typo (a missing `.com`, `.org`…); public mail domains have one");
    assert_eq!(env.read("subscribers.toml"), before);

    env.subscribers(
        "[[subscriber]]\nemail = \"ada@example.org\"\n\n[[subscriber]]\nemail = \"bob@example\"\n",
    );
    let send = env.run(&["send"]);
    send.assert_code(2);
    insta::assert_snapshot!(send.stderr, @"paperwire: error: ./subscribers.toml:5:9: `bob@example` has no dot in its domain, which is almost always a typo (a missing `.com`, `.org`…); public mail domains have one");
    assert!(env.list("outbox").is_empty());
    let only = env.run(&["send", "--only", "ann@gmail"]);
    only.assert_code(2);
}

#[test]
fn logs_show_milestones_with_v_and_only_paperwire_debug_with_vv() {
    let env = TestEnv::new();
    env.config(None);
    let quiet = env.run(&["send", "--dry-run"]);
    quiet.assert_code(0);
    assert!(
        !quiet.stderr.contains("INFO") && !quiet.stderr.contains("DEBUG"),
        "{quiet}"
    );

    let v = env.run(&["-v", "send", "--dry-run"]);
    v.assert_code(0);
    for milestone in [
        "read 90 papers from the configured sources",
        "papers in",
        "variant",
    ] {
        assert!(
            v.stderr.contains(milestone),
            "no `{milestone}` with -v\n{v}"
        );
    }
    assert!(!v.stderr.contains("DEBUG"), "{v}");

    let vv = env.run(&["-vv", "send", "--dry-run"]);
    vv.assert_code(0);
    assert!(vv.stderr.contains("DEBUG rendered a variant"), "{vv}");
    assert!(
        vv.stderr.lines().count() < 50,
        "{} lines\n{vv}",
        vv.stderr.lines().count()
    );

    // Dependencies speak only when PAPERWIRE_LOG asks them to.
    let all = env.run_with_env(&["send", "--dry-run"], &[("PAPERWIRE_LOG", "debug")]);
    all.assert_code(0);
    assert!(
        all.stderr.lines().count() > 10 * vv.stderr.lines().count(),
        "{all}"
    );
}

#[test]
fn serve_logs_each_unsubscribe_at_the_default_level() {
    let env = TestEnv::new();
    env.subscribers("[[subscriber]]\nemail = \"ada@example.org\"\n");
    env.config(None);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let secret = "serve-audit-secret";
    let child = env.spawn(
        &["serve", "--listen", &listen],
        &[("PAPERWIRE_SECRET", secret)],
    );
    let email = paperwire::subscribers::SubscriberEmail::parse("ada@example.org").unwrap();
    let token = paperwire::subscribers::token::sign(secret.as_bytes(), "test.example.org", &email);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let response = loop {
        match one_click(&listen, &token) {
            Ok(r) => break r,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("serve never answered: {e}"),
        }
    };
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = Output::of_child(child);
    let audit = out
        .stderr
        .lines()
        .find(|l| l.contains("unsubscribed"))
        .unwrap_or_else(|| panic!("no audit line\n{out}"));
    assert!(audit.contains("ada@example.org"), "{audit}");
    // With the time, for an audit trail: `2026-…T…Z  INFO …`.
    assert!(audit.contains('T') && audit.contains("INFO"), "{audit}");
}

/// A one-click unsubscribe POST over a plain socket; the whole response.
fn one_click(listen: &str, token: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(listen)?;
    let body = "List-Unsubscribe=One-Click";
    write!(
        stream,
        "POST /unsubscribe?token={token} HTTP/1.1\r\nHost: {listen}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

#[test]
fn on_a_terminal_the_progress_line_shows_a_rounded_rate() {
    let env = TestEnv::new();
    let subs: String = (0..40)
        .map(|i| format!("[[subscriber]]\nemail = \"p{i}@example.org\"\n\n"))
        .collect();
    env.subscribers(&subs);
    env.config(None);
    // `script` runs the send on a pseudo-terminal, where the progress line is drawn.
    let out = bash(&env, "script -qec 'paperwire send' /dev/null");
    out.assert_code(0);
    let rates: Vec<&str> = out
        .stdout
        .split(" sent (")
        .skip(1)
        .filter_map(|rest| rest.split("/s").next())
        .collect();
    assert!(!rates.is_empty(), "no progress line\n{out}");
    for rate in rates {
        let rounded = rate == "-"
            || rate.chars().all(|c| c.is_ascii_digit())
            || rate
                .split_once('.')
                .is_some_and(|(whole, tenth)| whole.len() == 1 && tenth.len() == 1);
        assert!(rounded, "rate `{rate}` is not rounded\n{out}");
    }
    assert!(out.stdout.contains("40 delivered"), "{out}");
}

#[test]
fn status_of_an_edition_that_does_not_exist_says_so() {
    let env = TestEnv::new();
    env.config(None);
    env.run(&["send", "--edition", "2026-11-28"]).assert_code(0);
    let out = env.run(&["status", "--edition", "2026-11-29"]);
    out.assert_code(2);
    insta::assert_snapshot!(out.stderr, @"paperwire: error: no edition 2026-11-29 in ./state (`paperwire status` lists them)");
    let out = env.run(&["status", "--failed"]);
    out.assert_code(0);
    assert_eq!(out.stdout, "no permanent failures in edition 2026-11-28\n");
}
