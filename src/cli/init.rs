//! `paperwire init [DIR]`: a commented starter `paperwire.toml` and `subscribers.toml`, so that
//! someone who ran `cargo install` (and has no clone with the examples) can start. It never
//! overwrites: when either file exists it writes nothing.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use paperwire::exit::Exit;

/// The starter config: real sources, a few sections, the outbox transport.
const STARTER_CONFIG: &str = include_str!("starter/paperwire.toml");
/// The starter list: every field, commented out.
const STARTER_SUBSCRIBERS: &str = include_str!("starter/subscribers.toml");

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Where to write the two files (created if missing; default: the current directory).
    #[arg(value_name = "DIR", default_value = ".")]
    dir: PathBuf,
}

pub fn run(config: Option<&Path>, args: InitArgs) -> anyhow::Result<Exit> {
    if let Some(path) = config {
        anyhow::bail!(
            "`init` writes DIR/paperwire.toml and takes no --config (got {}); run `paperwire init DIR`",
            path.display()
        );
    }
    let files = [
        (args.dir.join("paperwire.toml"), STARTER_CONFIG),
        (args.dir.join("subscribers.toml"), STARTER_SUBSCRIBERS),
    ];
    let existing: Vec<String> = files
        .iter()
        .filter(|(p, _)| p.symlink_metadata().is_ok())
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        anyhow::bail!(
            "{} already exist{}; init never overwrites, so nothing was written (move {} away, or run `paperwire init` in another directory)",
            existing.join(" and "),
            if existing.len() == 1 { "s" } else { "" },
            if existing.len() == 1 { "it" } else { "them" },
        );
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let mut written: Vec<&Path> = Vec::new();
    for (path, text) in &files {
        if let Err(e) = create_new(path, text) {
            // All or nothing: take back what this run wrote.
            for done in written {
                let _ = std::fs::remove_file(done);
            }
            return Err(e);
        }
        written.push(path);
    }
    super::common::println(&format!(
        "wrote {} and {}\nnext: edit them, then `paperwire check`{}",
        files[0].0.display(),
        files[1].0.display(),
        if args.dir == Path::new(".") {
            String::new()
        } else {
            format!(" (in {}, or with --config)", args.dir.display())
        }
    ))?;
    Ok(Exit::Done)
}

/// Writes a file that must not exist yet (`O_EXCL`: a file created meanwhile is not replaced).
fn create_new(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written.with_context(|| format!("cannot write {}", path.display()))
}
