//! `paperwire check`: validates the config, the templates (rendering a fixture that fills every
//! field, in strict mode) and the subscriber list, and lists every problem at once.

use std::path::PathBuf;

use paperwire::exit::Exit;
use paperwire::render::{Renderer, Templates};

use super::common;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The config (default: $PAPERWIRE_CONFIG, ./paperwire.toml, else the bundled sample).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub fn run(args: CheckArgs) -> anyhow::Result<Exit> {
    let settings = common::load_settings(args.config.as_deref(), true)?;
    let mut problems: Vec<String> = Vec::new();
    match Templates::load(settings.templates_dir.as_deref()).and_then(|t| Renderer::new(&t)) {
        Ok(_) => {}
        Err(e) => problems.push(e.to_string()),
    }
    let subscribers_note = if settings.subscribers_path.exists() {
        match paperwire::subscribers::load(&settings.subscribers_path, &settings.section_names()) {
            Ok(list) => format!(
                "{} subscribers ({} active)",
                list.len(),
                list.iter().filter(|s| s.is_active()).count()
            ),
            Err(e) => {
                problems.push(e.to_string());
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
    };
    if problems.is_empty() {
        println!(
            "{}: ok — {} sections, {} sources, templates ok, {}",
            settings.path.display(),
            settings.sections.len(),
            settings.sources.len(),
            subscribers_note
        );
        Ok(Exit::Done)
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        eprintln!("paperwire: {} problem(s) found", problems.len());
        Ok(Exit::Usage)
    }
}
