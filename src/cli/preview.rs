//! `paperwire preview`: the digest as HTML (or text) in a file or on stdout, for a look before
//! it goes out. Changes no state; with no config and no `--papers` it shows the bundled sample.

use std::path::{Path, PathBuf};

use paperwire::edition::EditionId;
use paperwire::exit::Exit;
use paperwire::pipeline::{self, Preview, PreviewRequest};

use super::common;

#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    /// A paper list (Daily Papers page text, HF JSON, an RSS or Atom feed, or paperwire JSON).
    #[arg(long, value_name = "FILE")]
    papers: Option<PathBuf>,
    /// Render what this subscriber would get (their topics, cap and format).
    #[arg(long, value_name = "EMAIL")]
    subscriber: Option<String>,
    /// The plain-text part instead of the HTML.
    #[arg(long)]
    text: bool,
    /// Write here (whole or not at all) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write the exact message `send` would deliver to `--subscriber` (an .eml file).
    #[arg(long, requires = "subscriber")]
    eml: bool,
    /// The edition id to show (default: today in the newsletter's time zone).
    #[arg(long, value_name = "ID")]
    edition: Option<String>,
}

pub async fn run(config: Option<&Path>, args: PreviewArgs) -> anyhow::Result<Exit> {
    let settings = common::load_settings(config, true)?;
    let request = PreviewRequest {
        papers_file: args.papers,
        subscriber: args.subscriber,
        text: args.text,
        eml: args.eml,
        edition: args.edition.as_deref().map(EditionId::parse).transpose()?,
    };
    match pipeline::preview(&settings, &request).await? {
        Preview::Bytes(bytes) => common::emit(args.out.as_deref(), &bytes)?,
        Preview::EmptyDay(why) => eprintln!("paperwire: {why}: nothing to preview"),
    }
    Ok(Exit::Done)
}
