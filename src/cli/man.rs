//! `paperwire man`: the manual pages, generated from the clap definitions (clap_mangen), so
//! they always match `--help`. One page on stdout (the main one, or a subcommand's), or every
//! page into a directory for `man paperwire-send` to find.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::CommandFactory;
use paperwire::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Print this subcommand's page instead of the main one (`paperwire man send`,
    /// `paperwire man subscribers add`).
    #[arg(value_name = "COMMAND")]
    command: Vec<String>,
    /// Write every page (paperwire.1, paperwire-send.1, …) into DIR instead, e.g.
    /// ~/.local/share/man/man1.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    dir: Option<PathBuf>,
}

pub fn run(_config: Option<&Path>, args: ManArgs) -> anyhow::Result<Exit> {
    let mut cmd = super::Cli::command().disable_help_subcommand(true);
    cmd.build();
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        clap_mangen::generate_to(cmd, dir)
            .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
        eprintln!("wrote the man pages into {}", dir.display());
        return Ok(Exit::Done);
    }
    let mut page = cmd;
    for name in &args.command {
        let Some(sub) = page.find_subcommand(name).cloned() else {
            anyhow::bail!(
                "`{}` has no subcommand `{name}`; it has: {}",
                page.get_display_name().unwrap_or(page.get_name()),
                page.get_subcommands()
                    .map(clap::Command::get_name)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        page = sub;
    }
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out)?;
    super::common::emit(None, &out)?;
    Ok(Exit::Done)
}
