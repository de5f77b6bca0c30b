//! `paperwire subscribers …`: list, add, remove, pause, resume, import and export the
//! subscriber list. The work happens in [`paperwire::subscribers`]; this file parses arguments
//! and prints results.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use paperwire::digest::Keyword;
use paperwire::digest::personal::{Author, Profile};
use paperwire::exit::Exit;
use paperwire::hygiene::{self, BouncedEntry};
use paperwire::paper::PaperId;
use paperwire::subscribers::counts::{ForYou, MaxPapers};
use paperwire::subscribers::{
    self, AddOptions, AddOutcome, ImportSummary, MailFormat, NewSubscriber, SubscriberEmail,
    SubscriberStore,
    personal::{self, Field},
};

#[derive(Debug, clap::Args)]
pub struct SubscribersArgs {
    #[command(subcommand)]
    cmd: SubscribersCmd,
}

#[derive(Debug, clap::Subcommand)]
pub enum SubscribersCmd {
    /// Show everyone on the list, checking the file.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Only those whose mail bounced too often (`bounced_at`), with the last bounce
        /// recorded for each.
        #[arg(long)]
        bounced: bool,
    },
    /// Add a subscriber (since = today, UTC).
    Add {
        /// The address (checked; unique on the list, ignoring case).
        #[arg(value_parser = parse_email)]
        email: SubscriberEmail,
        /// The name for the greeting and the To header.
        #[arg(long)]
        name: Option<String>,
        /// Section names, comma-separated (default: every section).
        #[arg(long, value_delimiter = ',')]
        topics: Vec<String>,
        /// "html" (HTML with a text alternative) or "text".
        #[arg(long)]
        format: Option<MailFormat>,
        /// At most this many papers in this person's email (1 to 1000; for no cap of their
        /// own, leave it out).
        #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = parse_max_papers)]
        max_papers: Option<MaxPapers>,
        /// Take back an address that unsubscribed (only when they asked to come back) or
        /// bounced (only after checking that it takes mail again).
        #[arg(long)]
        resubscribe: bool,
        #[command(flatten)]
        personal: PersonalArgs,
    },
    /// Remove a subscriber's entry.
    Remove {
        /// The address to remove (ignoring case; any address on the list, even one the list
        /// check flags).
        #[arg(value_parser = parse_listed_email)]
        email: SubscriberEmail,
        /// Also erase an address that unsubscribed (normally its entry is kept so that no
        /// import adds it back).
        #[arg(long)]
        forget: bool,
    },
    /// Stop sending to a subscriber until `resume`.
    Pause {
        /// The address to pause (ignoring case).
        #[arg(value_parser = parse_listed_email)]
        email: SubscriberEmail,
    },
    /// Send to a paused or bounced subscriber again (for a bounced one: after checking that
    /// the address takes mail; its earlier bounces are forgotten).
    Resume {
        /// The address to resume (ignoring case).
        #[arg(value_parser = parse_listed_email)]
        email: SubscriberEmail,
    },
    /// Add everyone in a CSV file (columns email,name,topics, optionally format,max_papers,paused; topics separated by `;`, `|` or `,`).
    /// All or nothing: every bad row is reported and nothing is added.
    Import {
        /// The CSV file: a header row, then one person per row; several topics in the topics
        /// column are separated by `;`, `|` or `,` (a cell with a comma needs double quotes).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Take back addresses that unsubscribed (only when they asked to come back) or
        /// bounced (only after checking that they take mail again).
        #[arg(long)]
        resubscribe: bool,
    },
    /// Print the list: JSON with every field, or with --csv an importable CSV of everyone who
    /// has not unsubscribed or bounced.
    Export {
        /// CSV that `import` reads back (email,name,topics,format,max_papers,paused; topics
        /// joined with `;`), without the people who unsubscribed or bounced.
        #[arg(long)]
        csv: bool,
    },
}

/// The personal fields of `subscribers add` (see `subscribers.example.toml`). Entries are
/// separated as in a CSV cell: by `;` or `|`, and (except authors) by `,`.
#[derive(Debug, clap::Args)]
pub struct PersonalArgs {
    /// Interest keywords for the "For you" block, separated by `,`, `;` or `|` (section keyword
    /// syntax: `"speculative decoding,KV cache*"`).
    #[arg(long, value_parser = |r: &str| entries(Field::Interests, r, |e| personal::keyword("interests", e)))]
    interests: Vec<Entries<Arc<Keyword>>>,
    /// Followed authors, separated by `;` or `|` — not by `,`, which may be part of a name
    /// (`"Tri Dao;LeCun, Yann"`).
    #[arg(long, value_parser = |r: &str| entries(Field::Authors, r, personal::author))]
    authors: Vec<Entries<Arc<Author>>>,
    /// arXiv ids of papers this person liked, separated by `,`, `;` or `|`.
    #[arg(long, value_parser = |r: &str| entries(Field::Like, r, personal::like))]
    like: Vec<Entries<PaperId>>,
    /// Keywords that keep a paper out of this person's email, separated by `,`, `;` or `|`.
    #[arg(long, value_parser = |r: &str| entries(Field::Mute, r, |e| personal::keyword("mute", e)))]
    mute: Vec<Entries<Arc<Keyword>>>,
    /// Papers in the "For you" block (default 5 when interests, authors or likes are given;
    /// 0 = no block; at most 50).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    for_you: Option<ForYou>,
}

/// The entries of one command-line value.
#[derive(Debug, Clone)]
struct Entries<T>(Vec<T>);

/// `raw` split by `field`'s separators, each entry checked by `parse`.
fn entries<T>(
    field: Field,
    raw: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Entries<T>, String> {
    personal::list(&personal::split(field, raw), parse).map(Entries)
}

/// Every entry of every value, in order.
fn flat<T>(values: Vec<Entries<T>>) -> Vec<T> {
    values.into_iter().flat_map(|e| e.0).collect()
}

impl PersonalArgs {
    fn into_profile(self) -> Profile {
        Profile {
            interests: flat(self.interests),
            authors: flat(self.authors),
            like: flat(self.like),
            mute: flat(self.mute),
            for_you: self.for_you.map(ForYou::get),
        }
    }
}

/// `--max-papers`: [`MaxPapers`]'s range (no cap: leave the flag out).
fn parse_max_papers(raw: &str) -> Result<MaxPapers, String> {
    raw.parse()
        .map_err(|e| format!("{e} (for no cap of their own, leave --max-papers out)"))
}

fn parse_email(raw: &str) -> Result<SubscriberEmail, String> {
    SubscriberEmail::parse(raw).map_err(|e| e.to_string())
}

/// An address to find on the list: only its syntax is checked, so that an entry a new address
/// would be refused for (`bob@example`) can be removed, paused or resumed.
fn parse_listed_email(raw: &str) -> Result<SubscriberEmail, String> {
    SubscriberEmail::on_the_list(raw).map_err(|e| e.to_string())
}

pub fn run(config: Option<&Path>, args: SubscribersArgs) -> anyhow::Result<Exit> {
    let settings = super::common::load_settings(config, false)?;
    let sections = settings.section_names();
    let store = SubscriberStore::new(&settings.subscribers_path);
    // Written to stdout at the end: a reader that stops early (`export | head -1`) is no error.
    let mut out: Vec<u8> = Vec::new();
    match args.cmd {
        SubscribersCmd::List { json, bounced } if bounced => {
            let list = store.load(&sections)?;
            let entries = hygiene::bounced(&settings, &list)?;
            if json {
                serde_json::to_writer_pretty(&mut out, &entries)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", bounced_table(&entries))?;
            }
        }
        SubscribersCmd::List { json, .. } => {
            let list = store.load(&sections)?;
            if json {
                serde_json::to_writer_pretty(&mut out, &list)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", subscribers::table(&list))?;
            }
        }
        SubscribersCmd::Add {
            email,
            name,
            topics,
            format,
            max_papers,
            resubscribe,
            personal,
        } => {
            let new = NewSubscriber {
                email,
                name,
                topics: topics
                    .into_iter()
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect(),
                format,
                max_papers,
                paused: false,
                profile: personal.into_profile(),
            };
            let options = AddOptions {
                resubscribe,
                ..AddOptions::today_utc()
            };
            match store.add(&new, &sections, options)? {
                AddOutcome::Added => writeln!(out, "added {}", new.email)?,
                AddOutcome::Resubscribed => {
                    hygiene::forget_bounces(
                        &settings,
                        std::slice::from_ref(&new.email),
                        chrono::Utc::now(),
                    )?;
                    writeln!(out, "resubscribed {}", new.email)?;
                }
            }
        }
        SubscribersCmd::Remove { email, forget } => {
            store.remove(&email, forget)?;
            writeln!(out, "removed {email}")?;
        }
        SubscribersCmd::Pause { email } => {
            let changed = store.pause(&email)?;
            let note = if changed {
                "paused"
            } else {
                "was already paused:"
            };
            writeln!(out, "{note} {email}")?;
        }
        SubscribersCmd::Resume { email } => {
            let outcome = store.resume(&email)?;
            if outcome.was_bounced {
                hygiene::forget_bounces(
                    &settings,
                    std::slice::from_ref(&email),
                    chrono::Utc::now(),
                )?;
            }
            let note = match (outcome.was_paused, outcome.was_bounced) {
                (_, true) => "resumed (bounced_at cleared, earlier bounces forgotten)",
                (true, false) => "resumed",
                (false, false) => "was neither paused nor bounced:",
            };
            writeln!(out, "{note} {email}")?;
        }
        SubscribersCmd::Import { file, resubscribe } => {
            let summary = import(&settings, &store, &file, &sections, resubscribe)?;
            writeln!(
                out,
                "imported {} new, {} resubscribed",
                summary.added, summary.resubscribed
            )?;
        }
        SubscribersCmd::Export { csv } => {
            let list = store.load(&sections)?;
            if csv {
                write!(out, "{}", subscribers::export_csv(&list))?;
            } else {
                serde_json::to_writer_pretty(&mut out, &list)?;
                writeln!(out)?;
            }
        }
    }
    super::common::emit(None, &out)?;
    Ok(Exit::Done)
}

/// `list --bounced`: who bounced, when, and what the last bounce said.
fn bounced_table(entries: &[BouncedEntry]) -> String {
    if entries.is_empty() {
        return "no bounced addresses\n".to_owned();
    }
    let width = entries
        .iter()
        .map(|e| e.email.as_str().len())
        .max()
        .unwrap_or(0)
        .max("EMAIL".len());
    let mut text = format!("{:width$}  {:10}  LAST BOUNCE\n", "EMAIL", "BOUNCED");
    for e in entries {
        let last = e.last.as_ref().map_or_else(
            || "-".to_owned(),
            |ev| {
                let what = [ev.status.as_deref(), ev.detail.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                let edition = ev
                    .edition
                    .as_ref()
                    .map(|id| format!(" (edition {id})"))
                    .unwrap_or_default();
                format!("{} {what}{edition}", ev.at.format("%Y-%m-%d"))
            },
        );
        let line = format!(
            "{:width$}  {}  {}",
            e.email.as_str(),
            e.bounced_at.format("%Y-%m-%d"),
            last.replace(['\n', '\r'], " ")
        );
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text.push_str(&format!(
        "{} bounced; `paperwire subscribers resume EMAIL` sends to one again (after checking it)\n",
        entries.len()
    ));
    text
}

/// Imports `file`; with `resubscribe`, the addresses it brings back from `bounced_at` have
/// their earlier bounces forgotten, as `resume` does.
fn import(
    settings: &paperwire::config::Settings,
    store: &SubscriberStore,
    file: &Path,
    sections: &[&str],
    resubscribe: bool,
) -> anyhow::Result<ImportSummary> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let options = AddOptions {
        resubscribe,
        ..AddOptions::today_utc()
    };
    let bounced = |list: &[subscribers::Subscriber]| -> Vec<SubscriberEmail> {
        list.iter()
            .filter(|s| s.bounced_at.is_some())
            .map(|s| s.email.clone())
            .collect()
    };
    let before = if resubscribe {
        bounced(&store.load(sections)?)
    } else {
        Vec::new()
    };
    let summary = store
        .import_csv(&text, file, sections, options)
        .with_context(|| format!("nothing was imported from {}", file.display()))?;
    if !before.is_empty() {
        let still: std::collections::HashSet<String> = bounced(&store.load(sections)?)
            .iter()
            .map(SubscriberEmail::key)
            .collect();
        let back: Vec<SubscriberEmail> = before
            .into_iter()
            .filter(|e| !still.contains(&e.key()))
            .collect();
        hygiene::forget_bounces(settings, &back, chrono::Utc::now())?;
    }
    Ok(summary)
}
