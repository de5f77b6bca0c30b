//! The README cannot drift from the binary: the shell blocks of its Quickstart and Subscribers
//! sections run, as written, in a temporary directory, and its table of template fields is
//! checked against the fields the templates really get (both ways).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::harness::{BIN, Output, TestEnv};

const README: &str = include_str!("../../README.md");

/// The text under `heading` (a whole line, `## …` or `### …`) up to the next heading of the
/// same or a higher level.
fn section(heading: &str) -> &'static str {
    let level = heading.chars().take_while(|&c| c == '#').count();
    let start = README
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README has no `{heading}`"))
        + heading.len()
        + 2;
    let rest = &README[start..];
    let end = rest
        .match_indices("\n#")
        .find(|(i, _)| {
            let hashes = rest[i + 1..].chars().take_while(|&c| c == '#').count();
            hashes <= level && rest[i + 1 + hashes..].starts_with(' ')
        })
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end]
}

/// The bodies of the fenced blocks tagged `lang` in `text`.
fn blocks(text: &str, lang: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim_end() == format!("```{lang}") => current = Some(String::new()),
            Some(body) if line.trim_end() == "```" => {
                found.push(std::mem::take(body));
                current = None;
            }
            Some(body) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    found
}

/// Runs the README's `sh` blocks of `text`, in order, as one bash script with `-e` in `dir`:
/// `paperwire` is the binary under test (first on PATH), `cargo run -- ARGS` runs it, and
/// `cargo test|build|install` do nothing (this test is the `cargo test`, and the binary is
/// built). HOME is a directory of its own, so the blocks may write under `~`.
fn run_sh_blocks(env: &TestEnv, dir: &Path, text: &str) -> Output {
    let script = blocks(text, "sh").concat();
    assert!(!script.trim().is_empty(), "no sh blocks in\n{text}");
    let prelude = r#"set -euo pipefail
cargo() {
  case "$1" in
    run) shift; if [ "${1:-}" = "--" ]; then shift; fi; paperwire "$@" ;;
    test|build|install) ;;
    *) echo "the README runs an unexpected cargo command: cargo $*" >&2; return 1 ;;
  esac
}
"#;
    let bin_dir = Path::new(BIN).parent().unwrap();
    let home = env.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = Command::new("bash");
    cmd.args(["--noprofile", "--norc", "-c"])
        .arg(format!("{prelude}{script}"))
        .current_dir(dir)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HOME", &home)
        .env("MANPAGER", "cat")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PAPERWIRE_") {
            cmd.env_remove(&key);
        }
    }
    let out = cmd.output().expect("run bash");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Copies what a fresh clone has that the Quickstart uses.
fn fresh_clone(env: &TestEnv) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in [
        "paperwire.example.toml",
        "subscribers.example.toml",
        "samples/daily-papers.txt",
    ] {
        env.write(f, std::fs::read(root.join(f)).unwrap());
    }
}

#[test]
fn the_quickstart_runs_as_written_and_the_subscribers_section_after_it() {
    let env = TestEnv::new();
    fresh_clone(&env);
    // In the order a reader follows them: the Subscribers section's commands run in the
    // directory the Quickstart left them in, with its you@example.org on the list.
    let both = format!("{}{}", section("## Quickstart"), section("### Subscribers"));
    let out = run_sh_blocks(&env, env.root(), &both);
    out.assert_code(0);
    let list = listed(&out);
    assert_eq!(
        emails(&list),
        ["you@example.org", "ada@example.org", "grace@example.org"],
        "{out}"
    );
    let emls: Vec<String> = env
        .list("outbox")
        .into_iter()
        .filter(|f| f.ends_with(".eml"))
        .collect();
    assert_eq!(emls.len(), 3, "{emls:?}\n{out}");
    assert!(env.read("digest.html").contains("<html"), "{out}");
    assert!(
        env.read("my-digest/subscribers.toml")
            .contains("you@example.org")
    );
    assert!(env.exists("home/.local/share/man/man1/paperwire-send.1"));
    assert!(env.exists("home/.local/share/bash-completion/completions/paperwire"));
    assert!(out.stdout.contains("General Commands Manual"), "{out}");
}

#[test]
fn the_subscribers_commands_run_as_written() {
    let env = TestEnv::new();
    env.run(&["init"]).assert_code(0);
    let out = run_sh_blocks(&env, env.root(), section("### Subscribers"));
    out.assert_code(0);
    let list = listed(&out);
    assert_eq!(
        emails(&list),
        ["ada@example.org", "grace@example.org"],
        "{out}"
    );
    // A comma separates topics in a quoted cell, as `add --topics` does.
    assert_eq!(
        list[0]["topics"],
        serde_json::json!(["Federated Learning", "Graphs"])
    );
    let backup = env.read("backup.csv");
    assert!(backup.starts_with("email,name,topics"), "{backup}");
    assert!(
        backup.contains("lin@example.org,Lin,Federated Learning; Graphs"),
        "{backup}"
    );
    env.run(&["check"]).assert_code(0);
}

/// The JSON list the blocks printed last (`subscribers list --json`).
fn listed(out: &Output) -> Vec<serde_json::Value> {
    serde_json::from_str(
        out.stdout
            .lines()
            .skip_while(|l| !l.starts_with('['))
            .collect::<Vec<_>>()
            .join("\n")
            .as_str(),
    )
    .unwrap_or_else(|e| panic!("{e}\n{out}"))
}

fn emails(list: &[serde_json::Value]) -> Vec<&str> {
    list.iter().filter_map(|s| s["email"].as_str()).collect()
}

/// The template fields the README's table names: the backticked first cell of each row.
fn documented_fields() -> Vec<String> {
    let fields: Vec<String> = section("### Templates")
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect();
    assert!(fields.len() > 20, "{fields:?}");
    fields
}

/// A text template that names every documented field under `prefix`: a list's fields inside
/// its `#each`, everything else by its (dotted) path.
fn template_naming(fields: &[String], prefix: &str) -> String {
    let mut out = String::new();
    for field in fields {
        let Some(rest) = field.strip_prefix(prefix) else {
            continue;
        };
        if rest.contains("[]") {
            continue; // inside a list: named within that list's #each
        }
        let item = format!("{field}[].");
        if fields.iter().any(|f| f.starts_with(&item)) {
            out.push_str(&format!(
                "{{{{#each {rest}}}}}{}{{{{/each}}}}\n",
                template_naming(fields, &item)
            ));
        } else {
            out.push_str(&format!("{rest}={{{{{rest}}}}};\n"));
        }
    }
    out
}

/// A text template that lists the keys the templates really get at `path` (`""` at the top,
/// else `sections[].`, `newsletter.`…) and below it, descending into every object and list the
/// table documents: a field missing from the table shows up as a key of its parent.
fn keys_template(fields: &[String], path: &str) -> String {
    let mut out = format!("{{{{#each this}}}}{path}{{{{@key}}}}\n{{{{/each}}}}");
    let mut children: Vec<&str> = fields
        .iter()
        .filter_map(|f| f.strip_prefix(path))
        .filter_map(|rest| rest.split(['.', '[']).next())
        .collect();
    children.sort_unstable();
    children.dedup();
    for child in children {
        let list = format!("{path}{child}[].");
        let object = format!("{path}{child}.");
        if fields.iter().any(|f| f.starts_with(&list)) {
            out.push_str(&format!(
                "{{{{#each {child}}}}}{}{{{{/each}}}}",
                keys_template(fields, &list)
            ));
        } else if fields.iter().any(|f| f.starts_with(&object)) {
            out.push_str(&format!(
                "{{{{#with {child}}}}}{}{{{{/with}}}}",
                keys_template(fields, &object)
            ));
        }
    }
    out
}

#[test]
fn the_template_fields_table_names_every_field_and_only_real_ones() {
    let fields = documented_fields();
    let env = TestEnv::new();
    env.config_builder(None)
        .with_templates("dir = \"tpl\"")
        .write();

    // Every documented field renders in strict mode (`check` fills every field of a fixture).
    env.write("tpl/digest.txt.hbs", template_naming(&fields, ""));
    let out = env.run(&["check"]);
    out.assert_code(0);

    // And the table names every field there is.
    // Papers with every kind of field, links included (the sample page has titles only).
    env.write(
        "tpl/digest.txt.hbs",
        keys_template(&fields, "") + "{{subscriber.unsubscribe_url}}\n",
    );
    let hf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf-daily-papers.sample.json");
    env.write("hf.json", std::fs::read(hf).unwrap());
    let out = env.run(&["preview", "--text", "--papers", "hf.json"]);
    out.assert_code(0);
    let mut real: Vec<String> = out
        .stdout
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("http"))
        .map(str::to_owned)
        .collect();
    real.sort();
    real.dedup();
    // An object's own key (`newsletter`) is documented through its fields (`newsletter.title`).
    let mut documented = fields.clone();
    documented.extend(
        fields
            .iter()
            .filter(|f| !f.contains('['))
            .filter_map(|f| f.split_once('.').map(|(object, _)| object.to_owned())),
    );
    documented.sort();
    documented.dedup();
    assert_eq!(
        real, documented,
        "the README's template fields differ from the real ones"
    );
}
