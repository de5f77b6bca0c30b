//! `paperwire check`: validates the config, the templates (rendering a fixture that fills every
//! field, in strict mode), the Subject template, the file sources and the subscriber list, and
//! lists every problem at once.

use std::path::Path;

use paperwire::config::{Settings, SourceSettings};
use paperwire::edition::EditionId;
use paperwire::exit::{Exit, describe};
use paperwire::pipeline;
use paperwire::render::{EditionInfo, Renderer, Templates, WebRenderer, render_subject};
use paperwire::subscribers::SubscriberError;

use super::common;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

pub fn run(config: Option<&Path>, _args: CheckArgs) -> anyhow::Result<Exit> {
    let settings = common::load_settings(config, true)?;
    let mut problems: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();

    if let Err(e) = Templates::load(settings.templates_dir.as_deref()).and_then(|t| {
        Renderer::new(&t)?;
        WebRenderer::new(&t, &settings.digest)
    }) {
        problems.push(describe(&e));
    }
    let today = pipeline::today(&settings);
    let edition = EditionInfo::from_settings(&settings, EditionId::for_date(today), today);
    if let Err(e) = render_subject(&settings.newsletter.subject, &edition, 1) {
        problems.push(format!("{}: {e}", settings.path.display()));
    }
    if !settings.is_bundled() {
        for source in &settings.sources {
            if let SourceSettings::File { path } = source
                && !path.is_file()
            {
                problems.push(format!(
                    "{}: the file source {} does not exist",
                    settings.path.display(),
                    path.display()
                ));
            }
        }
    }
    if !settings.newsletter.base_url.starts_with("https://") {
        warnings.push(format!(
            "{}: newsletter.base_url {} is not https; one-click unsubscribe (RFC 8058) needs an https URL",
            settings.path.display(),
            settings.newsletter.base_url
        ));
    }

    let subscribers_note = check_subscribers(&settings, &mut problems, &mut warnings);
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if problems.is_empty() {
        println!(
            "{}: ok — {} sections, {} sources, templates ok, {}",
            settings.path.display(),
            settings.rules.sections.len(),
            settings.sources.len(),
            subscribers_note
        );
        Ok(Exit::Done)
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        eprintln!(
            "paperwire: {} problem{} found",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        Ok(Exit::Usage)
    }
}

/// The subscriber list's problems (added to `problems`) and a note on who is on it.
fn check_subscribers(
    settings: &Settings,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> String {
    if settings.subscribers_path.exists() {
        match paperwire::subscribers::read(&settings.subscribers_path, &settings.section_names()) {
            Ok(view) => {
                warnings.extend(view.skipped.iter().map(ToString::to_string));
                if !view.suppressed.is_empty() {
                    let log = paperwire::subscribers::ChangeLog::beside(&settings.subscribers_path);
                    let addresses: Vec<&str> =
                        view.suppressed.iter().map(|c| c.email.as_str()).collect();
                    warnings.push(format!(
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
                format!(
                    "{} subscribers ({} active){pending}",
                    list.len(),
                    list.iter().filter(|s| s.is_active()).count()
                )
            }
            Err(SubscriberError::Invalid(list)) => {
                problems.extend(list.0.iter().map(ToString::to_string));
                String::new()
            }
            Err(e) => {
                problems.push(describe(&e));
                String::new()
            }
        }
    } else if settings.is_bundled() {
        "no subscriber list (bundled sample)".to_owned()
    } else {
        problems.push(format!(
            "{}: the subscriber list does not exist (subscribers.path)",
            settings.subscribers_path.display()
        ));
        String::new()
    }
}
