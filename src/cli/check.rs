//! `paperwire check`: validates the config, the templates (rendering a fixture that fills every
//! field, in strict mode), the Subject template, the file sources and the subscriber list, and
//! lists every problem at once — a config with problems does not hide the others: what could be
//! read of it (section names, sources, paths) is still used to check the rest.

use std::path::Path;

use paperwire::config::{self, ConfigError, Salvage, Settings, SourceSettings, TransportKind};
use paperwire::edition::EditionId;
use paperwire::exit::{Exit, describe};
use paperwire::pipeline;
use paperwire::render::pages::Pages;
use paperwire::render::{EditionInfo, Renderer, Templates, WebRenderer, render_subject};
use paperwire::subscribers::{Subscriber, SubscriberError};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

/// What the check found.
#[derive(Default)]
struct Found {
    problems: Vec<String>,
    warnings: Vec<String>,
}

pub async fn run(config: Option<&Path>, _args: CheckArgs) -> anyhow::Result<Exit> {
    let origin = config::locate(config, true)?;
    let mut found = Found::default();
    let (settings, salvage) = match config::load_salvaging(&origin) {
        Ok(settings) => {
            let salvage = Salvage::of(&settings);
            (Some(settings), Some(salvage))
        }
        // Nothing to check without the file.
        Err(failure) if matches!(failure.error, ConfigError::Read { .. }) => {
            return Err(failure.error.into());
        }
        Err(failure) => {
            match &failure.error {
                ConfigError::Invalid(list) => {
                    found
                        .problems
                        .extend(list.0.iter().map(ToString::to_string));
                }
                other => found.problems.push(describe(other)),
            }
            (None, failure.salvage)
        }
    };
    if let Some(settings) = &settings {
        check_settings(settings, &mut found);
    }
    let note = match &salvage {
        Some(salvage) => {
            check_templates(salvage, &mut found);
            check_file_sources(salvage, &mut found);
            let (note, list) = check_subscribers(salvage, &mut found);
            if let Some(settings) = &settings {
                found.warnings.extend(check_likes(settings, &list).await);
            }
            note
        }
        None => {
            found.warnings.push(
                "the templates and the subscriber list were not checked: the config could not be read far enough to find them".to_owned(),
            );
            String::new()
        }
    };
    for w in &found.warnings {
        eprintln!("warning: {w}");
    }
    match (&settings, found.problems.is_empty()) {
        (Some(settings), true) => {
            super::common::println(&format!(
                "{}: ok — {}, {}, templates ok, {note}",
                settings.path.display(),
                plural(settings.rules.sections.len(), "section"),
                plural(settings.sources.len(), "source"),
            ))?;
            Ok(Exit::Done)
        }
        _ => {
            for p in &found.problems {
                eprintln!("{p}");
            }
            eprintln!(
                "paperwire: {}",
                super::error::problems_found(found.problems.len())
            );
            Ok(Exit::Usage)
        }
    }
}

/// "1 source", "3 sources".
fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// What only a config that loaded can tell: the Subject renders, the public URL is https, and a
/// real transport does not send from the starter's placeholder addresses.
fn check_settings(settings: &Settings, found: &mut Found) {
    let today = pipeline::today(settings);
    let edition = EditionInfo::from_settings(settings, EditionId::for_date(today), today);
    if let Err(e) = render_subject(&settings.newsletter.subject, &edition, 1) {
        found
            .problems
            .push(format!("{}: {e}", settings.path.display()));
    }
    let path = settings.path.display();
    let newsletter = &settings.newsletter;
    if !newsletter.base_url.starts_with("https://") {
        found.warnings.push(format!(
            "{path}: newsletter.base_url {} is not https; one-click unsubscribe (RFC 8058) needs an https URL",
            newsletter.base_url
        ));
    }
    if settings.bounce.verp && settings.secrets.signing_key().is_none() {
        // A warning, not a problem: the config may be checked where the secret is not set.
        found.warnings.push(format!(
            "{path}: bounce.verp is on but PAPERWIRE_SECRET is not set here: `send` and `bounces import` need it for the VERP tags, and without it they stop (exit 2)"
        ));
    }
    if settings.delivery.transport == TransportKind::Outbox || settings.is_bundled() {
        return;
    }
    if settings.secrets.signing_key().is_none() && !settings.bounce.verp {
        found.warnings.push(format!(
            "{path}: delivery.transport sends real mail but PAPERWIRE_SECRET is not set here: it signs the unsubscribe links, and `send` stops without it (exit 2)"
        ));
    }
    let mut placeholders = vec![("newsletter.from", newsletter.from.email.domain())];
    if let Some(r) = &newsletter.reply_to {
        placeholders.push(("newsletter.reply_to", r.email.domain()));
    }
    let host = url::Url::parse(&newsletter.base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    placeholders.push(("newsletter.base_url", &host));
    for (key, domain) in placeholders {
        if is_example_domain(domain) {
            found.warnings.push(format!(
                "{path}: {key} uses {domain}, a domain reserved for examples, while delivery.transport sends real mail: put your own there (mail from it will not be delivered, and its links will not work)"
            ));
        }
    }
}

/// The domains RFC 2606 reserves for documentation and tests.
fn is_example_domain(domain: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    ["example.org", "example.com", "example.net", "example"]
        .iter()
        .any(|e| d == *e || d.ends_with(&format!(".{e}")))
        || [".test", ".invalid", ".localhost"]
            .iter()
            .any(|tld| d.ends_with(tld))
}

/// The templates (the email's and the web archive's) compile and render the fixture strictly;
/// files in the directory that are not used are named.
fn check_templates(salvage: &Salvage, found: &mut Found) {
    match Templates::load(salvage.templates_dir.as_deref()) {
        Ok(templates) => {
            for path in templates.ignored() {
                found.warnings.push(pipeline::ignored_template(path));
            }
            let compiled = Renderer::new(&templates)
                .and_then(|_| WebRenderer::new(&templates, &salvage.digest).map(drop));
            if let Err(e) = compiled {
                found.problems.push(describe(&e));
            }
        }
        Err(e) => found.problems.push(describe(&e)),
    }
    // The readers' pages and the signup confirmation (`serve`).
    match Pages::load(salvage.templates_dir.as_deref()) {
        Ok(pages) => {
            for path in pages.ignored() {
                found.warnings.push(pipeline::ignored_template(path));
            }
        }
        Err(e) => found.problems.push(describe(&e)),
    }
}

/// Every `kind = "file"` source exists.
fn check_file_sources(salvage: &Salvage, found: &mut Found) {
    if salvage.is_bundled() {
        return;
    }
    for source in &salvage.sources {
        if let SourceSettings::File { path } = source
            && !path.is_file()
        {
            found.problems.push(format!(
                "{}: the file source {} does not exist",
                salvage.path.display(),
                path.display()
            ));
        }
    }
}

/// The subscriber list's problems, checked against the sections that could be read; its
/// change log's skipped lines and suppressions as warnings; and a note on who is on it.
fn check_subscribers(salvage: &Salvage, found: &mut Found) -> (String, Vec<Subscriber>) {
    let path = &salvage.subscribers_path;
    if !path.exists() {
        if salvage.is_bundled() {
            return ("no subscriber list (bundled sample)".to_owned(), Vec::new());
        }
        found.problems.push(format!(
            "{}: the subscriber list does not exist (subscribers.path)",
            path.display()
        ));
        return (String::new(), Vec::new());
    }
    let sections: Vec<&str> = salvage.section_names.iter().map(String::as_str).collect();
    let view = match paperwire::subscribers::read(path, &sections) {
        Ok(view) => view,
        Err(SubscriberError::Invalid(list)) => {
            found
                .problems
                .extend(list.0.iter().map(ToString::to_string));
            return (String::new(), Vec::new());
        }
        Err(e) => {
            found.problems.push(describe(&e));
            return (String::new(), Vec::new());
        }
    };
    found
        .warnings
        .extend(view.skipped.iter().map(ToString::to_string));
    if !view.suppressed.is_empty() {
        let log = paperwire::subscribers::ChangeLog::beside(path);
        let addresses: Vec<&str> = view.suppressed.iter().map(|c| c.email.as_str()).collect();
        found.warnings.push(format!(
            "{}: {} unsubscribe(s) or bounce(s) for addresses not on the list, kept so that no mail goes there: {}",
            log.path().display(),
            addresses.len(),
            addresses.join(", ")
        ));
    }
    let list = &view.subscribers;
    let pending = if view.pending > 0 {
        format!(", {} change(s) not yet written into the file", view.pending)
    } else {
        String::new()
    };
    let note = format!(
        "{} ({} active){pending}",
        plural(list.len(), "subscriber"),
        list.iter().filter(|s| s.is_active()).count()
    );
    (note, view.subscribers)
}

/// Liked papers that neither an earlier edition nor arXiv knows (looked up now, and cached):
/// warnings naming who liked them. They are ignored by sends.
async fn check_likes(settings: &Settings, list: &[Subscriber]) -> Vec<String> {
    let wanted = paperwire::liked::wanted(list);
    let lookup = paperwire::liked::Lookup::Online {
        opts: paperwire::liked::lookup_options(),
        save: true,
    };
    // Today's papers, where a file holds them (a liked paper may be among them).
    let today: Vec<_> = settings
        .sources
        .iter()
        .filter_map(|s| match s {
            SourceSettings::File { path } => paperwire::source::read_papers_file(path).ok(),
            _ => None,
        })
        .flat_map(|list| list.papers)
        .collect();
    let liked = paperwire::liked::resolve(settings, &wanted, &today, &lookup).await;
    let mut out = liked.warnings;
    let who = |id| {
        list.iter()
            .filter(|s| s.is_active() && s.profile.like.contains(id))
            .map(|s| s.email.as_str())
            .collect::<Vec<&str>>()
            .join(", ")
    };
    let path = settings.subscribers_path.display();
    for id in &liked.unresolved {
        out.push(format!(
            "{path}: liked paper {id} ({}) is in no paper list and arXiv does not know it; it is ignored",
            who(id)
        ));
    }
    for id in &liked.unasked {
        out.push(format!(
            "{path}: liked paper {id} ({}) could not be looked up now; it is left out until it can be",
            who(id)
        ));
    }
    out
}
