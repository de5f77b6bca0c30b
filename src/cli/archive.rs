//! `paperwire archive [--out DIR]`: builds the whole web archive (an index, one page per
//! published edition, an Atom feed) from the state directory ([`paperwire::archive`]). `send`
//! and `run` add each edition by themselves when `[archive] dir` is set; this rebuilds after a
//! template change, or writes the site elsewhere (a GitHub Pages artifact).

use std::path::{Path, PathBuf};

use anyhow::Context;
use paperwire::archive::Archive;
use paperwire::exit::Exit;

use super::common;

/// After `paperwire archive --help`.
pub const HELP: &str = "\
Writes DIR/index.html, DIR/pages/<n>.html, DIR/<edition>/index.html for every published edition
(its first send completed), DIR/feed.xml (Atom) and DIR/editions.json. The same state always
gives the same bytes, and files that did not change are not touched. With `[archive] dir` set,
`send` and `run` add each edition by themselves; run this after changing templates/web/.

Exit codes:
  0   built
  2   no archive directory, a template that does not compile, or a state file that does not read
  75  a temporary failure writing the site (a full disk): run again later

Example: paperwire archive --out site   (a GitHub Pages artifact)";

#[derive(Debug, clap::Args)]
pub struct ArchiveArgs {
    /// Where to write the site (default: archive.dir in the config).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub fn run(config: Option<&Path>, args: ArchiveArgs) -> anyhow::Result<Exit> {
    let settings = common::load_settings(config, false)?;
    let configured = settings.archive.as_ref().and_then(|a| a.dir.clone());
    let Some(out) = args.out.or(configured) else {
        anyhow::bail!(
            "no archive directory: pass --out DIR, or set `dir` in the [archive] table of {}",
            settings.path.display()
        );
    };
    let archive = Archive::new(&settings, &out)?;
    let summary = archive
        .build()
        .with_context(|| format!("cannot build the archive in {}", out.display()))?;
    common::println(&format!(
        "archive {}: {} edition{}, {} file{} written",
        out.display(),
        summary.editions,
        if summary.editions == 1 { "" } else { "s" },
        summary.written,
        if summary.written == 1 { "" } else { "s" },
    ))?;
    Ok(Exit::Done)
}
