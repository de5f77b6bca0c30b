//! The pages readers see in a browser — the signup form, the confirm page, the preference page
//! and the short answers after each — and the message that asks to confirm a signup.
//!
//! Same rules as the digest: Handlebars templates compiled into the binary, overridable file by
//! file from `templates.dir` (`pages/*.html.hbs`, `confirm.html.hbs`, `confirm.txt.hbs`), HTML
//! escaped, CSS inlined into the message's HTML part, pure. Every template is rendered once with
//! a full fixture in strict mode when loaded, so a misspelt field fails at startup with its
//! `file:line:col`, not in front of a reader.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use handlebars::Handlebars;
use serde::Serialize;

use crate::subscribers::counts::{ForYou, MaxPapers};

use super::{RenderError, normalize_html, normalize_text, render_error, template_error};

/// The page and message templates compiled into the binary, by file name.
const BUILTIN: &[(&str, &str)] = &[
    (
        "pages/layout.html.hbs",
        include_str!("../../templates/pages/layout.html.hbs"),
    ),
    (
        "pages/choices.html.hbs",
        include_str!("../../templates/pages/choices.html.hbs"),
    ),
    (
        "pages/subscribe.html.hbs",
        include_str!("../../templates/pages/subscribe.html.hbs"),
    ),
    (
        "pages/confirm.html.hbs",
        include_str!("../../templates/pages/confirm.html.hbs"),
    ),
    (
        "pages/preferences.html.hbs",
        include_str!("../../templates/pages/preferences.html.hbs"),
    ),
    (
        "pages/message.html.hbs",
        include_str!("../../templates/pages/message.html.hbs"),
    ),
    (
        "pages/unsubscribe.html.hbs",
        include_str!("../../templates/pages/unsubscribe.html.hbs"),
    ),
    (
        "confirm.html.hbs",
        include_str!("../../templates/confirm.html.hbs"),
    ),
    (
        "confirm.txt.hbs",
        include_str!("../../templates/confirm.txt.hbs"),
    ),
];

/// Partials every page may use (`{{#> layout}}`, `{{> choices}}`).
const PARTIALS: &[&str] = &["pages/layout.html.hbs", "pages/choices.html.hbs"];

/// One checkbox of the topics fieldset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicChoice {
    pub name: String,
    pub checked: bool,
}

impl TopicChoice {
    /// Every section, ticked where `chosen` names it.
    pub fn all(sections: &[&str], chosen: &[String]) -> Vec<Self> {
        sections
            .iter()
            .map(|s| Self {
                name: (*s).to_owned(),
                checked: chosen.iter().any(|c| c == s),
            })
            .collect()
    }
}

/// A page, with what it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// `GET /subscribe`, or the form again with what was typed and what is wrong with it.
    Subscribe {
        email: String,
        name: String,
        topics: Vec<TopicChoice>,
        html: bool,
        error: String,
    },
    /// `GET /confirm`: what will be subscribed, and the button.
    Confirm {
        email: String,
        name: String,
        /// "Graphs, Vision", or "Every section".
        topics: String,
        format: String,
    },
    /// `GET /preferences`, or after a save.
    Preferences {
        email: String,
        topics: Vec<TopicChoice>,
        html: bool,
        /// Empty: no cap.
        max_papers: String,
        paused: bool,
        /// Mail to the address bounced and the list retired it: the page says so (no details:
        /// the link's holder learns only that, not when or what the server answered).
        bounced: bool,
        /// The "For you" fields, as the form shows them.
        personal: PersonalFields,
        notice: String,
        /// What is wrong with the form as a whole (a summary when fields are wrong).
        error: String,
        /// What is wrong with each field, shown next to it.
        errors: Box<FieldErrors>,
    },
    /// `GET /unsubscribe` (the link in an email's footer): the one-click unsubscribe's button.
    Unsubscribe { email: String },
    /// A short answer: a heading, paragraphs and perhaps one link.
    Message {
        heading: String,
        paragraphs: Vec<String>,
        link: Option<(String, String)>,
    },
}

impl Page {
    /// A [`Page::Message`].
    pub fn message(heading: &str, paragraphs: &[&str]) -> Self {
        Self::Message {
            heading: heading.to_owned(),
            paragraphs: paragraphs.iter().map(|p| (*p).to_owned()).collect(),
            link: None,
        }
    }

    /// The same message with a link (`url`, `label`) under it.
    pub fn with_link(self, url: &str, label: &str) -> Self {
        match self {
            Self::Message {
                heading,
                paragraphs,
                ..
            } => Self::Message {
                heading,
                paragraphs,
                link: Some((url.to_owned(), label.to_owned())),
            },
            other => other,
        }
    }

    fn template(&self) -> &'static str {
        match self {
            Self::Subscribe { .. } => "pages/subscribe.html.hbs",
            Self::Confirm { .. } => "pages/confirm.html.hbs",
            Self::Preferences { .. } => "pages/preferences.html.hbs",
            Self::Unsubscribe { .. } => "pages/unsubscribe.html.hbs",
            Self::Message { .. } => "pages/message.html.hbs",
        }
    }

    /// What the template sees: the page's fields, its `heading` and `newsletter.title`.
    fn model(&self, title: &str) -> serde_json::Value {
        let mut model = match self {
            Self::Subscribe {
                email,
                name,
                topics,
                html,
                error,
            } => serde_json::json!({
                "heading": format!("Subscribe to {title}"),
                "email": email, "name": name, "topics": topics, "html": html, "error": error,
            }),
            Self::Confirm {
                email,
                name,
                topics,
                format,
            } => serde_json::json!({
                "heading": "Confirm your subscription",
                "email": email, "name": name, "topics": topics, "format": format,
            }),
            Self::Preferences {
                email,
                topics,
                html,
                max_papers,
                paused,
                bounced,
                personal,
                notice,
                error,
                errors,
            } => serde_json::json!({
                "heading": "Your subscription",
                "email": email, "topics": topics, "html": html, "max_papers": max_papers,
                "paused": paused, "bounced": bounced, "personal": personal, "notice": notice,
                "error": error, "errors": errors,
                "min_for_you": ForYou::MIN, "max_for_you": ForYou::MAX,
                "min_max_papers": MaxPapers::MIN, "max_max_papers": MaxPapers::MAX,
                "default_for_you": crate::digest::personal::DEFAULT_FOR_YOU,
            }),
            Self::Unsubscribe { email } => serde_json::json!({
                "heading": "Unsubscribe",
                "email": email,
            }),
            Self::Message {
                heading,
                paragraphs,
                link,
            } => serde_json::json!({
                "heading": heading,
                "paragraphs": paragraphs,
                "link_url": link.as_ref().map_or("", |l| l.0.as_str()),
                "link_label": link.as_ref().map_or("", |l| l.1.as_str()),
            }),
        };
        model["newsletter"] = serde_json::json!({ "title": title });
        model
    }
}

/// What is wrong with each typed field of the preference page (empty: nothing), each shown
/// next to its input and named by the input's `aria-describedby`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FieldErrors {
    pub max_papers: String,
    pub interests: String,
    pub authors: String,
    pub like: String,
    pub mute: String,
    pub for_you: String,
}

impl FieldErrors {
    /// How many fields are wrong.
    pub fn count(&self) -> usize {
        [
            &self.max_papers,
            &self.interests,
            &self.authors,
            &self.like,
            &self.mute,
            &self.for_you,
        ]
        .iter()
        .filter(|e| !e.is_empty())
        .count()
    }
}

/// The preference page's "For you" fields as text: one entry a line (liked ids may also be
/// separated by spaces or commas); `for_you` empty for the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PersonalFields {
    pub interests: String,
    pub authors: String,
    pub like: String,
    pub mute: String,
    pub for_you: String,
}

/// What the confirmation message says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfirmMessage {
    /// The greeting's name ("there" when none was given).
    pub name: String,
    pub email: String,
    /// "Graphs, Vision", or "Every section".
    pub topics: String,
    pub format: String,
    pub confirm_url: String,
    /// "48 hours".
    pub expires: String,
}

/// The confirmation message's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmParts {
    pub html: String,
    pub text: String,
}

/// The compiled page and message templates.
pub struct Pages {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
    css: css_inline::CSSInliner<'static>,
    files: BTreeMap<String, (String, PathBuf)>,
    /// Files in the templates directory's `pages/` that are not a page's name.
    ignored: Vec<PathBuf>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages")
    }
}

impl Pages {
    /// The built-in templates, overridden file by file by those in `dir` (when given);
    /// compiled, and checked by rendering fixtures in strict mode.
    pub fn load(dir: Option<&Path>) -> Result<Self, RenderError> {
        let mut files: BTreeMap<String, (String, PathBuf)> = BUILTIN
            .iter()
            .map(|(name, src)| {
                let origin = PathBuf::from(format!("<built-in templates/{name}>"));
                ((*name).to_owned(), ((*src).to_owned(), origin))
            })
            .collect();
        let mut ignored = Vec::new();
        if let Some(dir) = dir {
            ignored = super::unused_entries(&dir.join("pages"), |name| {
                BUILTIN.iter().any(|(b, _)| *b == format!("pages/{name}"))
            });
            for (name, _) in BUILTIN {
                let path = dir.join(name);
                if path.is_file() {
                    let src =
                        std::fs::read_to_string(&path).map_err(|source| RenderError::Read {
                            path: path.clone(),
                            source,
                        })?;
                    files.insert((*name).to_owned(), (src, path));
                }
            }
        }
        let mut html = Handlebars::new();
        html.register_escape_fn(super::escape_html);
        let mut text = Handlebars::new();
        text.register_escape_fn(handlebars::no_escape);
        for reg in [&mut html, &mut text] {
            reg.register_helper("wrap", Box::new(super::wrap_helper));
            reg.register_helper("concat", Box::new(super::concat_helper));
            reg.set_prevent_indent(true);
            reg.set_strict_mode(true);
        }
        for (name, (src, _)) in &files {
            let result = if PARTIALS.contains(&name.as_str()) {
                let partial = partial_name(name);
                html.register_partial(partial, src.as_str())
            } else if name.ends_with(".txt.hbs") {
                text.register_template_string(name, src.as_str())
            } else {
                html.register_template_string(name, src.as_str())
            };
            result.map_err(|e| template_error(&files, name, &e))?;
        }
        let css = css_inline::CSSInliner::options()
            .keep_at_rules(true)
            .load_remote_stylesheets(false)
            .build();
        let pages = Self {
            html,
            text,
            css,
            files,
            ignored,
        };
        pages.check()?;
        Ok(pages)
    }

    /// Files in `pages/` of the templates directory that are not used (a misspelt name), so
    /// that callers can say so.
    pub fn ignored(&self) -> &[PathBuf] {
        &self.ignored
    }

    /// Renders every template with a fixture (strict mode: a field that does not exist fails).
    fn check(&self) -> Result<(), RenderError> {
        let topics = TopicChoice::all(&["Graphs", "Vision"], &["Graphs".to_owned()]);
        for page in [
            Page::Subscribe {
                email: "ada@example.org".into(),
                name: "Ada".into(),
                topics: topics.clone(),
                html: true,
                error: "An error.".into(),
            },
            Page::Confirm {
                email: "ada@example.org".into(),
                name: "Ada".into(),
                topics: "Graphs".into(),
                format: "HTML".into(),
            },
            Page::Preferences {
                email: "ada@example.org".into(),
                topics,
                html: false,
                max_papers: "5".into(),
                paused: true,
                bounced: true,
                personal: PersonalFields {
                    interests: "speculative decoding\nKV cache*".into(),
                    authors: "Tri Dao".into(),
                    like: "2411.01234".into(),
                    mute: "benchmark*".into(),
                    for_you: "5".into(),
                },
                notice: "Saved.".into(),
                error: "An error.".into(),
                errors: Box::new(FieldErrors {
                    max_papers: "A problem.".into(),
                    interests: "A problem.".into(),
                    authors: "A problem.".into(),
                    like: "A problem.".into(),
                    mute: "A problem.".into(),
                    for_you: "A problem.".into(),
                }),
            },
            Page::Unsubscribe {
                email: "ada@example.org".into(),
            },
            Page::message("Done", &["A paragraph."]).with_link("https://example.org", "A link"),
        ] {
            self.page("Fixture", &page)?;
        }
        self.confirm_message(
            "Fixture",
            &ConfirmMessage {
                name: "Ada".into(),
                email: "ada@example.org".into(),
                topics: "Graphs".into(),
                format: "HTML".into(),
                confirm_url: "https://digest.example.org/confirm?token=fixture".into(),
                expires: "48 hours".into(),
            },
        )?;
        Ok(())
    }

    /// A whole HTML page for the newsletter titled `title`.
    pub fn page(&self, title: &str, page: &Page) -> Result<String, RenderError> {
        let name = page.template();
        let out = self
            .html
            .render(name, &page.model(title))
            .map_err(|e| render_error(&self.files, name, &e))?;
        Ok(normalize_html(&out))
    }

    /// The confirmation message's HTML part (CSS inlined) and text part.
    pub fn confirm_message(
        &self,
        title: &str,
        message: &ConfirmMessage,
    ) -> Result<ConfirmParts, RenderError> {
        let mut model = serde_json::to_value(message).expect("plain strings");
        model["newsletter"] = serde_json::json!({ "title": title });
        let html = self
            .html
            .render("confirm.html.hbs", &model)
            .map_err(|e| render_error(&self.files, "confirm.html.hbs", &e))?;
        let html = self
            .css
            .inline(&html)
            .map_err(|e| RenderError::Css(e.to_string()))?;
        let text = self
            .text
            .render("confirm.txt.hbs", &model)
            .map_err(|e| render_error(&self.files, "confirm.txt.hbs", &e))?;
        Ok(ConfirmParts {
            html: normalize_html(&html),
            text: normalize_text(&text),
        })
    }
}

/// `pages/layout.html.hbs` → `layout`.
fn partial_name(file: &str) -> &str {
    let base = file.rsplit('/').next().unwrap_or(file);
    base.strip_suffix(".html.hbs").unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages() -> Pages {
        Pages::load(None).unwrap()
    }

    #[test]
    fn every_page_escapes_what_readers_typed() {
        let html = pages()
            .page(
                "Trending <Papers>",
                &Page::Subscribe {
                    email: "\"><script>x</script>".into(),
                    name: "<b>Eve</b>".into(),
                    topics: TopicChoice::all(&["A & B"], &[]),
                    html: true,
                    error: "<i>bad</i>".into(),
                },
            )
            .unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""));
        assert!(html.contains("value=\"&lt;b&gt;Eve&lt;/b&gt;\""));
        assert!(html.contains(
            "<title>Subscribe to Trending &lt;Papers&gt; · Trending &lt;Papers&gt;</title>"
        ));
        assert!(html.contains("value=\"A &amp; B\""));
        assert!(html.contains("&lt;i&gt;bad&lt;/i&gt;"));
    }

    #[test]
    fn the_preference_page_shows_the_current_choices() {
        let html = pages()
            .page(
                "T",
                &Page::Preferences {
                    email: "ada@example.org".into(),
                    topics: TopicChoice::all(&["Graphs", "Vision"], &["Vision".into()]),
                    html: false,
                    max_papers: "7".into(),
                    paused: true,
                    bounced: false,
                    personal: PersonalFields {
                        interests: "speculative decoding\nKV cache*".into(),
                        authors: "Tri Dao".into(),
                        like: String::new(),
                        mute: "<b>ench*".into(),
                        for_you: "3".into(),
                    },
                    notice: String::new(),
                    error: String::new(),
                    errors: Box::default(),
                },
            )
            .unwrap();
        assert!(!html.contains("aria-invalid"), "{html}");
        assert!(
            html.contains(">speculative decoding\nKV cache*</textarea>"),
            "{html}"
        );
        assert!(html.contains(">&lt;b&gt;ench*</textarea>"), "{html}");
        assert!(
            html.contains("name=\"for_you\" min=\"0\" max=\"50\""),
            "{html}"
        );
        assert!(html.contains("value=\"3\""), "{html}");
        assert!(html.contains("empty for 5 when"), "{html}");
        assert!(html.contains("value=\"Graphs\">Graphs"), "{html}");
        assert!(html.contains("value=\"Vision\" checked>Vision"));
        assert!(html.contains("value=\"text\" checked>"));
        assert!(!html.contains("value=\"html\" checked>"));
        assert!(html.contains("name=\"paused\" value=\"1\" checked>"));
        assert!(html.contains("value=\"7\""));
        assert!(html.contains("name=\"action\" value=\"unsubscribe\""));
        assert!(!html.contains("class=\"notice\""));
    }

    #[test]
    fn the_unsubscribe_page_posts_one_click_to_its_own_url() {
        let html = pages()
            .page(
                "Trending <Papers>",
                &Page::Unsubscribe {
                    email: "ada@example.org".into(),
                },
            )
            .unwrap();
        // No `action`: the form posts to the very URL, token included.
        assert!(html.contains("<form method=\"post\">\n"), "{html}");
        assert!(
            html.contains("<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">")
        );
        assert!(
            html.contains(
                "Stop sending Trending &lt;Papers&gt; to <strong>ada@example.org</strong>?"
            )
        );
        assert!(html.contains("<title>Unsubscribe · Trending &lt;Papers&gt;</title>"));
    }

    #[test]
    fn files_in_pages_that_are_no_page_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pages")).unwrap();
        for name in [
            "pages/message.html.hbs",
            "pages/prefs.html.hbs",
            "pages/README",
        ] {
            std::fs::write(
                dir.path().join(name),
                "{{#> layout}}<p>{{heading}}</p>{{/layout}}\n",
            )
            .unwrap();
        }
        let pages = Pages::load(Some(dir.path())).unwrap();
        assert_eq!(pages.ignored(), [dir.path().join("pages/prefs.html.hbs")]);
    }

    #[test]
    fn the_confirmation_message_has_the_link_in_both_parts() {
        let parts = pages()
            .confirm_message(
                "Trending Papers",
                &ConfirmMessage {
                    name: "Ada".into(),
                    email: "ada@example.org".into(),
                    topics: "Every section".into(),
                    format: "Plain text only".into(),
                    confirm_url: "https://d.example.org/confirm?token=abc.def".into(),
                    expires: "48 hours".into(),
                },
            )
            .unwrap();
        assert!(
            parts
                .html
                .contains("href=\"https://d.example.org/confirm?token=abc.def\"")
        );
        assert!(parts.html.contains("style="), "CSS is inlined");
        assert!(
            parts
                .text
                .contains("\nhttps://d.example.org/confirm?token=abc.def\n")
        );
        assert!(
            parts
                .text
                .lines()
                .all(|l| l.len() <= 78 || l.contains("://"))
        );
    }

    #[test]
    fn an_override_with_a_misspelt_field_fails_at_load_with_its_place() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pages")).unwrap();
        std::fs::write(
            dir.path().join("pages/message.html.hbs"),
            "{{#> layout}}\n<p>{{paragrahps}}</p>\n{{/layout}}\n",
        )
        .unwrap();
        let e = Pages::load(Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("pages/message.html.hbs:2:"), "{e}");
        assert!(e.contains("`paragrahps`"), "{e}");
        std::fs::write(dir.path().join("pages/message.html.hbs"), "{{#if}}").unwrap();
        let e = Pages::load(Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("pages/message.html.hbs:1:"), "{e}");
    }
}
