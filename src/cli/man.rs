//! `paperwire man`: the manual pages, generated from the clap definitions (clap_mangen), so
//! they always match `--help`. One page on stdout (the main one, or a subcommand's), or every
//! page into a directory for `man paperwire-send` to find.
//!
//! clap_mangen renders the standard sections; the synopsis (with each option's value, which
//! clap_mangen leaves out) and the long help's environment, exit codes, notes and examples are
//! ours, as tagged paragraphs (`.TP`) that `man` lays out as tables rather than reflowing the
//! plain-text columns of `--help` into one paragraph.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Arg, ArgAction, Command, CommandFactory};
use clap_mangen::roff::{Roff, bold, roman};
use paperwire::exit::Exit;

use super::help::Extra;

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
        write_pages(&cmd, &mut Vec::new(), dir)
            .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
        eprintln!("wrote the man pages into {}", dir.display());
        return Ok(Exit::Done);
    }
    let mut page = &cmd;
    for name in &args.command {
        let Some(sub) = page.find_subcommand(name) else {
            anyhow::bail!(
                "`{}` has no subcommand `{name}`; it has: {}",
                page.get_display_name().unwrap_or(page.get_name()),
                page.get_subcommands()
                    .map(Command::get_name)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        page = sub;
    }
    let path: Vec<&str> = args.command.iter().map(String::as_str).collect();
    super::common::emit(None, &render(page, &path)?)?;
    Ok(Exit::Done)
}

/// Writes the page of `cmd` and of every subcommand under it into `dir`.
fn write_pages<'c>(cmd: &'c Command, path: &mut Vec<&'c str>, dir: &Path) -> anyhow::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        path.push(sub.get_name());
        write_pages(sub, path, dir)?;
        path.pop();
    }
    let name = clap_mangen::Man::new(cmd.clone()).get_filename();
    let file = dir.join(name);
    std::fs::write(&file, render(cmd, path)?)
        .with_context(|| format!("cannot write {}", file.display()))
}

/// One page: clap_mangen's sections with our synopsis, and the long help's tables.
fn render(cmd: &Command, path: &[&str]) -> std::io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone().override_usage(synopsis(cmd)));
    let extra = Extra::of(path);
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    // Ragged right and no hyphenation: command lines, paths and addresses stay whole.
    Roff::new()
        .control("ad", ["l"])
        .control("nh", [])
        .to_writer(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if let Some(extra) = extra {
        let mut roff = Roff::new();
        for p in extra.intro {
            roff.control("PP", []).text([roman(*p)]);
        }
        roff.to_writer(&mut out)?;
    }
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out)?;
    }
    if let Some(extra) = extra {
        out.write_all(extra_sections(extra).render().as_bytes())?;
    }
    if cmd.get_version().is_some() {
        man.render_version_section(&mut out)?;
    }
    Ok(out)
}

/// ENVIRONMENT, EXIT STATUS, NOTES and EXAMPLES, each row a tagged paragraph.
fn extra_sections(extra: &Extra) -> Roff {
    let mut roff = Roff::new();
    tagged(&mut roff, "ENVIRONMENT", extra.env);
    tagged(&mut roff, "EXIT STATUS", extra.exit);
    if !extra.notes.is_empty() {
        roff.control("SH", ["NOTES"]);
        for p in extra.notes {
            roff.control("PP", []).text([roman(*p)]);
        }
    }
    tagged(&mut roff, "EXAMPLES", extra.examples);
    roff
}

/// A section of tagged paragraphs: the tag in bold, its text indented below or beside it.
fn tagged(roff: &mut Roff, heading: &str, rows: &[(&str, &str)]) {
    if rows.is_empty() {
        return;
    }
    roff.control("SH", [heading]);
    for (tag, text) in rows {
        roff.control("TP", []).text([bold(*tag)]);
        if !text.is_empty() {
            roff.text([roman(*text)]);
        }
    }
}

/// `paperwire send [--papers <FILE>] [-c|--config <FILE>] … [--only <EMAIL>]…`: every option
/// with its value, as `--help`'s usage line would spell it out.
fn synopsis(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_bin_name().unwrap_or(cmd.get_name()).to_owned()];
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        if arg.is_positional() || matches!(arg.get_id().as_str(), "help" | "version") {
            continue;
        }
        let flag = match (arg.get_short(), arg.get_long()) {
            (Some(s), Some(l)) => format!("-{s}|--{l}"),
            (Some(s), None) => format!("-{s}"),
            (None, Some(l)) => format!("--{l}"),
            (None, None) => continue,
        };
        // A no-break space keeps each option with its value when `man` wraps the line.
        let value = if arg.get_action().takes_values() {
            format!("\u{a0}{}", value_name(arg))
        } else {
            String::new()
        };
        let again = if matches!(arg.get_action(), ArgAction::Count | ArgAction::Append) {
            "…"
        } else {
            ""
        };
        if arg.is_required_set() {
            parts.push(format!("{flag}{value}{again}"));
        } else {
            parts.push(format!("[{flag}{value}]{again}"));
        }
    }
    for arg in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        let again = if matches!(arg.get_action(), ArgAction::Append) {
            "…"
        } else {
            ""
        };
        let name = value_name(arg);
        parts.push(if arg.is_required_set() {
            format!("{name}{again}")
        } else {
            format!("[{name}]{again}")
        });
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        parts.push("<COMMAND>".to_owned());
    }
    parts.join(" ")
}

/// `<FILE>`, or the choices (`<smtp|outbox|sendmail>`) when there are a few.
fn value_name(arg: &Arg) -> String {
    let choices: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_owned())
        .collect();
    if !choices.is_empty() && choices.len() <= 6 {
        return format!("<{}>", choices.join("|"));
    }
    match arg.get_value_names() {
        Some(names) => names
            .iter()
            .map(|n| format!("<{n}>"))
            .collect::<Vec<_>>()
            .join(" "),
        None => format!("<{}>", arg.get_id().as_str().to_uppercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built() -> Command {
        let mut cmd = super::super::Cli::command().disable_help_subcommand(true);
        cmd.build();
        cmd
    }

    #[test]
    fn the_synopsis_names_each_option_with_its_value() {
        let cmd = built();
        let send = cmd.find_subcommand("send").unwrap();
        insta::assert_snapshot!(synopsis(send).replace('\u{a0}', " "), @"paperwire send [--papers <FILE>] [--edition <ID>] [--dry-run] [--only <EMAIL>]… [--test-to <EMAIL>] [--transport <smtp|outbox|sendmail>] [--json] [-v|--verbose]… [-c|--config <FILE>]");
        let add = cmd
            .find_subcommand("subscribers")
            .and_then(|s| s.find_subcommand("add"))
            .unwrap();
        assert!(synopsis(add).ends_with(" <EMAIL>"), "{}", synopsis(add));
        assert!(synopsis(&cmd).ends_with(" <COMMAND>"), "{}", synopsis(&cmd));
    }
}
