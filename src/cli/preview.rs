//! `paperwire preview`: the digest as HTML (or text) in a file or on stdout, for a look before
//! it goes out. Changes no state; with no config and no `--papers` it shows the bundled sample.

use std::path::PathBuf;

use paperwire::edition::EditionId;
use paperwire::exit::Exit;
use paperwire::render::{EditionInfo, Person, Renderer, Templates, VariantSpec};

use super::common;

#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    /// A paper list (Daily Papers page text, HF JSON, arXiv RSS or paperwire JSON).
    #[arg(long, value_name = "FILE")]
    papers: Option<PathBuf>,
    /// The config (default: $PAPERWIRE_CONFIG, ./paperwire.toml, else the bundled sample).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
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

pub fn run(args: PreviewArgs) -> anyhow::Result<Exit> {
    let settings = common::load_settings(args.config.as_deref(), true)?;
    let templates = Templates::load(settings.templates_dir.as_deref())?;
    let renderer = Renderer::new(&templates)?;
    let papers = match common::load_papers(&settings, args.papers.as_deref())? {
        Ok(p) => p,
        Err(empty_day) => {
            eprintln!("paperwire: {empty_day}: nothing to preview");
            return Ok(Exit::Done);
        }
    };
    let digest = common::build_digest(&settings, papers)?;
    if digest.paper_count() == 0 {
        anyhow::bail!(
            "no papers to show: the list is empty, or no paper matched a section and the catch-all is off"
        );
    }
    let date = common::today(&settings);
    let edition_id = match &args.edition {
        Some(id) => EditionId::parse(id)?,
        None => EditionId::for_date(date),
    };
    let edition = EditionInfo::from_settings(
        &settings,
        edition_id.clone(),
        edition_id.date().unwrap_or(date),
    );
    let names = settings.section_names();

    let subscriber = match &args.subscriber {
        Some(email) => Some(common::find_subscriber(&settings, email)?),
        None => None,
    };
    let spec = match &subscriber {
        Some(s) => VariantSpec::new(
            &s.topics,
            &names,
            s.max_papers.unwrap_or(usize::MAX),
            args.text || s.format == paperwire::subscribers::MailFormat::Text,
        ),
        None => VariantSpec::new(&[], &names, usize::MAX, args.text),
    };
    let variant = renderer.render_variant(&digest, &spec, &edition, &settings.digest)?;
    let unsubscribe_url = match &subscriber {
        Some(s) => common::unsubscribe_url_for_preview(&settings, &s.email),
        None => format!("{}/unsubscribe", settings.newsletter.base_url),
    };
    let person = Person {
        name: subscriber.as_ref().and_then(|s| s.name.as_deref()),
        email: subscriber
            .as_ref()
            .map_or("you@example.org", |s| s.email.as_str()),
        unsubscribe_url: &unsubscribe_url,
    };
    let filled = variant.personalize(&person);
    if args.eml {
        let s = subscriber
            .as_ref()
            .expect("clap requires --subscriber with --eml");
        let subject = paperwire::render::render_subject(
            &settings.newsletter.subject,
            &edition,
            digest.paper_count(),
        )?;
        let (_, bytes) = paperwire::deliver::message::build(
            &settings,
            &edition_id,
            s,
            &filled,
            &paperwire::deliver::message::MessageMeta {
                subject: &subject,
                unsubscribe_url: &unsubscribe_url,
                date: std::time::SystemTime::now(),
            },
        )?;
        common::emit(args.out.as_deref(), &bytes)?;
        return Ok(Exit::Done);
    }
    let body = match (args.text, filled.html) {
        (false, Some(html)) => html,
        _ => filled.text,
    };
    common::emit(args.out.as_deref(), body.as_bytes())?;
    Ok(Exit::Done)
}

/// The default view of the current digest as HTML, for `serve`'s `GET /`: the most recent
/// edition's frozen paper list when there is one, else the configured sources.
pub fn current_digest_html(settings: &paperwire::config::Settings) -> anyhow::Result<String> {
    let latest = std::fs::read_dir(settings.state_dir.join("editions"))
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| EditionId::parse(e.file_name().to_str()?).ok())
        .filter(|id| {
            paperwire::edition::EditionDir::new(&settings.state_dir, id)
                .papers()
                .exists()
        })
        .max();
    let (edition_id, papers) = match latest {
        Some(id) => {
            let dir = paperwire::edition::EditionDir::new(&settings.state_dir, &id);
            let papers = paperwire::deliver::frozen_papers(&dir)?.unwrap_or_default();
            (id, papers)
        }
        None => (
            EditionId::for_date(common::today(settings)),
            common::load_papers(settings, None)?.map_err(anyhow::Error::msg)?,
        ),
    };
    let renderer = Renderer::new(&Templates::load(settings.templates_dir.as_deref())?)?;
    let digest = common::build_digest(settings, papers)?;
    let date = edition_id.date().unwrap_or_else(|| common::today(settings));
    let edition = EditionInfo::from_settings(settings, edition_id, date);
    let spec = VariantSpec::new(&[], &settings.section_names(), usize::MAX, false);
    let variant = renderer.render_variant(&digest, &spec, &edition, &settings.digest)?;
    let url = format!("{}/unsubscribe", settings.newsletter.base_url);
    let filled = variant.personalize(&Person {
        name: None,
        email: "you@example.org",
        unsubscribe_url: &url,
    });
    Ok(filled.html.unwrap_or(filled.text))
}
