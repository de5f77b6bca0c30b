//! Raw config → [`Settings`]: one function per table, each checking its values and recording
//! every problem with its `file:line:col`, so that a user sees all of them at once.

use std::path::Path;
use std::time::Duration;

use lettre::message::Mailbox;
use toml::Spanned;

use super::raw::{
    RawArchive, RawCatchAll, RawDelivery, RawDigest, RawNewsletter, RawSchedule, RawSection,
    RawSource, deserialize_all_problems,
};
use super::{
    ArchiveSettings, ConfigOrigin, DEFAULT_ARXIV_API_URL, DEFAULT_ARXIV_URL, DEFAULT_HF_URL,
    DeliverySettings, DigestSettings, ExtraCas, Newsletter, Salvage, ScheduleSettings, Secrets,
    Settings, SmtpEndpoint, SourceSettings, SubjectTemplate, TransportKind, parse_duration,
};
use crate::diag::{Location, Problem, Problems};
use crate::digest::{Keyword, Rules, SectionRule};
use crate::schedule::Schedule;

impl Settings {
    /// Parses and checks config text; `path` names it in messages, `base_dir` anchors relative
    /// paths. Returns every problem found, not just the first. The environment is not read
    /// (see [`super::load`]).
    pub fn parse(
        text: &str,
        path: &Path,
        base_dir: &Path,
        origin: ConfigOrigin,
    ) -> Result<Self, Problems> {
        Self::parse_salvaging(text, path, base_dir, origin).map_err(|(problems, _)| problems)
    }

    /// [`Settings::parse`], and on problems what the rest of the file still says (see
    /// [`Salvage`]), when it could be read that far.
    pub(super) fn parse_salvaging(
        text: &str,
        path: &Path,
        base_dir: &Path,
        origin: ConfigOrigin,
    ) -> Result<Self, (Problems, Option<Box<Salvage>>)> {
        let (raw, problems) =
            deserialize_all_problems(text, path).map_err(|problems| (problems, None))?;
        let mut ck = Checker {
            path,
            text,
            base_dir,
            problems,
        };
        let newsletter = ck.newsletter(&raw.newsletter);
        let sources = ck.sources(&raw.sources);
        let rules = ck.rules(&raw.sections, &raw.catch_all);
        let digest = ck.digest(&raw.digest);
        let delivery = ck.delivery(&raw.delivery);
        let timezone = newsletter.as_ref().map_or(chrono_tz::UTC, |n| n.timezone);
        let schedule = raw.schedule.as_ref().map(|s| ck.schedule(s, timezone));
        let bounce = super::bounce::check(
            &raw.bounce,
            delivery.as_ref().and_then(|d| d.return_path.as_ref()),
            raw.delivery.return_path.is_some(),
            &mut |offset, message| ck.bad(offset, message),
        );
        let archive = raw
            .archive
            .as_ref()
            .map(|a| ck.archive(a, newsletter.as_ref()));
        let templates_dir = raw.templates.dir.as_ref().map(|d| base_dir.join(d));
        let subscribers_path = base_dir.join(&raw.subscribers.path);
        let serve = super::serve::check(&raw.serve, &mut |offset, message| ck.bad(offset, message));
        let for_you =
            super::for_you::check(&raw.for_you, &mut |offset, message| ck.bad(offset, message));
        if !ck.problems.is_empty() {
            let salvage = Salvage {
                path: path.to_owned(),
                origin,
                section_names: rules
                    .section_names()
                    .into_iter()
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect(),
                sources,
                templates_dir,
                subscribers_path,
                digest,
            };
            return Err((Problems(ck.problems), Some(Box::new(salvage))));
        }
        let (Some(newsletter), Some(delivery), Some(bounce), Some(serve), Some(for_you)) =
            (newsletter, delivery, bounce, serve, for_you)
        else {
            unreachable!("every None above recorded a problem");
        };
        Ok(Settings {
            origin,
            path: path.to_owned(),
            newsletter,
            sources,
            rules,
            digest,
            templates_dir,
            subscribers_path,
            delivery,
            state_dir: base_dir.join(&raw.state.dir),
            // A table that did not check recorded a problem above.
            schedule: schedule.flatten(),
            bounce,
            archive: archive.flatten(),
            serve,
            for_you,
            secrets: Secrets::default(),
        })
    }
}

/// The text being checked and the problems found so far.
struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
    base_dir: &'a Path,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn bad(&mut self, offset: usize, message: impl Into<String>) {
        let at = Location::at(self.path, self.text, offset);
        self.problems.push(Problem::new(at, message));
    }

    /// The value `parse` makes of `raw`, or `None` after recording `what(error)` at its place.
    fn parsed<T, E>(
        &mut self,
        raw: &Spanned<String>,
        parse: impl FnOnce(&str) -> Result<T, E>,
        what: impl FnOnce(E) -> String,
    ) -> Option<T> {
        parse(raw.get_ref())
            .map_err(|e| self.bad(raw.span().start, what(e)))
            .ok()
    }

    fn mailbox(&mut self, key: &str, raw: &Spanned<String>) -> Option<Mailbox> {
        self.parsed(raw, str::parse::<Mailbox>, |_| {
            format!(
                "newsletter.{key} `{}` is not a mailbox: write an address (digest@example.org) or a name and an address (Paperwire <digest@example.org>; quote a name with commas or dots: \"Papers, Daily\" <digest@example.org>)",
                raw.get_ref()
            )
        })
    }

    fn newsletter(&mut self, n: &RawNewsletter) -> Option<Newsletter> {
        if n.title.get_ref().trim().is_empty() {
            self.bad(n.title.span().start, "newsletter.title is empty");
        }
        let from = self.mailbox("from", &n.from);
        let reply_to = n
            .reply_to
            .as_ref()
            .and_then(|r| self.mailbox("reply_to", r));
        let list_id = n.list_id.get_ref().trim().to_owned();
        if list_id.is_empty()
            || !list_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-_".contains(&b))
        {
            self.bad(
                n.list_id.span().start,
                format!(
                    "newsletter.list_id `{list_id}` must be a dotted name like trending.example.org"
                ),
            );
        }
        let base_url = self.parsed(&n.base_url, parse_base_url, |()| {
            format!(
                "newsletter.base_url `{}` is not an http(s) URL",
                n.base_url.get_ref()
            )
        });
        let timezone = self.parsed(&n.timezone, str::parse::<chrono_tz::Tz>, |_| {
            format!(
                "newsletter.timezone `{}` is not an IANA time zone (like Europe/Paris)",
                n.timezone.get_ref()
            )
        });
        let subject = match &n.subject {
            Some(s) => self.parsed(s, SubjectTemplate::parse, |e| {
                format!("newsletter.subject is not a valid template: {e}")
            }),
            None => SubjectTemplate::parse(SubjectTemplate::DEFAULT).ok(),
        };
        let more_url = match &n.more_url {
            Some(u) => self
                .parsed(u, crate::paper::HttpUrl::parse, |e| {
                    format!("newsletter.more_url: {e}")
                })
                .map(|u| u.as_str().to_owned()),
            None => Some("https://huggingface.co/papers".to_owned()),
        };
        let unsubscribe_mailto = match &n.unsubscribe_mailto {
            Some(m) => self.parsed(m, str::parse::<lettre::Address>, |_| {
                format!(
                    "newsletter.unsubscribe_mailto `{}` is not an address (like unsubscribe@example.org, without a name or <>)",
                    m.get_ref()
                )
            }),
            None => from.as_ref().map(|f| f.email.clone()),
        };
        Some(Newsletter {
            title: n.title.get_ref().trim().to_owned(),
            from: from?,
            reply_to,
            list_id,
            base_url: base_url?,
            timezone: timezone?,
            subject: subject?,
            more_url: more_url?,
            unsubscribe_mailto: unsubscribe_mailto?,
        })
    }

    fn sources(&mut self, raw: &[RawSource]) -> Vec<SourceSettings> {
        let mut sources = Vec::new();
        for s in raw {
            let url = s.url.as_ref().map(|u| u.get_ref().clone());
            if let Some(u) = &s.url
                && crate::paper::HttpUrl::parse(u.get_ref()).is_err()
            {
                self.bad(
                    u.span().start,
                    format!("source url `{}` is not an http(s) URL", u.get_ref()),
                );
            }
            match s.kind.get_ref().as_str() {
                kind @ ("huggingface" | "file") if s.query.is_some() => self.bad(
                    s.query.as_ref().map_or(s.kind.span().start, |q| q.span().start),
                    format!("`query` is for sources of kind \"arxiv\", not \"{kind}\""),
                ),
                "huggingface" => sources.push(SourceSettings::HuggingFace {
                    url: url.unwrap_or_else(|| DEFAULT_HF_URL.to_owned()),
                    limit: s.limit,
                }),
                "arxiv" => sources.push(self.arxiv_source(s, url)),
                "file" => match &s.path {
                    Some(p) => sources.push(SourceSettings::File {
                        path: self.base_dir.join(p.get_ref()),
                    }),
                    None => self.bad(
                        s.kind.span().start,
                        "a source of kind \"file\" needs `path`",
                    ),
                },
                other => self.bad(
                    s.kind.span().start,
                    format!(
                        "unknown source kind `{other}` (expected \"huggingface\", \"arxiv\" or \"file\")"
                    ),
                ),
            }
        }
        sources
    }

    /// An arXiv source: the API with a `query` (default URL export.arxiv.org), else a listing.
    fn arxiv_source(&mut self, s: &RawSource, url: Option<String>) -> SourceSettings {
        let query = s.query.as_ref().map(|q| q.get_ref().trim().to_owned());
        if let Some(q) = &s.query
            && q.get_ref().trim().is_empty()
        {
            self.bad(
                q.span().start,
                "`query` is empty (an arXiv search like \"cat:cs.LG AND abs:diffusion\", or leave it out to read the listing)",
            );
        }
        let default_url = if query.is_some() {
            DEFAULT_ARXIV_API_URL
        } else {
            DEFAULT_ARXIV_URL
        };
        SourceSettings::Arxiv {
            url: url.unwrap_or_else(|| default_url.to_owned()),
            skip_replacements: s.skip_replacements.unwrap_or(false),
            query,
            limit: s.limit,
        }
    }

    /// `[[section]]` and `[catch_all]`, compiled into the digest's rules.
    fn rules(&mut self, raw: &[RawSection], catch_all: &RawCatchAll) -> Rules {
        let mut sections: Vec<SectionRule> = Vec::new();
        for s in raw {
            let name = s.name.get_ref().trim().to_owned();
            if name.is_empty() {
                self.bad(s.name.span().start, "a section name is empty");
            } else if sections.iter().any(|o| o.name.eq_ignore_ascii_case(&name))
                || (catch_all.enabled && catch_all.name.eq_ignore_ascii_case(&name))
            {
                self.bad(
                    s.name.span().start,
                    format!("two sections are named `{name}`"),
                );
            }
            if s.keywords.get_ref().is_empty() {
                self.bad(
                    s.keywords.span().start,
                    format!("section `{name}` has no keywords"),
                );
            }
            let keywords = self.keywords(&name, s.keywords.get_ref());
            let exclude = self.keywords(&name, &s.exclude);
            sections.push(SectionRule {
                name,
                keywords,
                exclude,
            });
        }
        Rules {
            sections,
            catch_all: catch_all.enabled.then(|| catch_all.name.clone()),
        }
    }

    fn keywords(&mut self, section: &str, raw: &[Spanned<String>]) -> Vec<Keyword> {
        raw.iter()
            .filter_map(|k| self.parsed(k, Keyword::parse, |e| format!("section `{section}`: {e}")))
            .collect()
    }

    fn digest(&mut self, d: &RawDigest) -> DigestSettings {
        if *d.max_papers.get_ref() == 0 {
            self.bad(
                d.max_papers.span().start,
                "digest.max_papers must be at least 1",
            );
        }
        if *d.teaser_chars.get_ref() < 40 {
            self.bad(
                d.teaser_chars.span().start,
                "digest.teaser_chars must be at least 40",
            );
        }
        DigestSettings {
            max_papers: *d.max_papers.get_ref() as usize,
            teaser_chars: *d.teaser_chars.get_ref() as usize,
            repeat_after_days: d.repeat_after_days,
            max_authors: d.max_authors.max(1) as usize,
        }
    }

    fn delivery(&mut self, d: &RawDelivery) -> Option<DeliverySettings> {
        let transport = self.parsed(&d.transport, str::parse::<TransportKind>, |e| {
            format!("delivery.transport: {e}")
        });
        let smtp = self.parsed(&d.smtp_url, SmtpEndpoint::parse, |e| {
            format!("delivery.smtp_url: {e}")
        });
        if *d.concurrency.get_ref() == 0 || *d.concurrency.get_ref() > 256 {
            self.bad(
                d.concurrency.span().start,
                "delivery.concurrency must be between 1 and 256",
            );
        }
        let return_path = d.return_path.as_ref().and_then(|r| {
            self.parsed(r, str::parse::<lettre::Address>, |_| {
                format!(
                    "delivery.return_path `{}` is not an address (like bounces@example.org, without a name or <>)",
                    r.get_ref()
                )
            })
        });
        let retry_deadline = self
            .parsed(&d.retry_deadline, parse_duration, |e| {
                format!("delivery.retry_deadline: {e}")
            })
            .unwrap_or_default();
        let tls_ca = d.tls_ca_file.as_ref().and_then(|f| {
            let path = self.base_dir.join(f.get_ref());
            self.parsed(
                f,
                |_| ExtraCas::load(&path),
                |e| format!("delivery.tls_ca_file: {e}"),
            )
        });
        Some(DeliverySettings {
            transport: transport?,
            outbox_dir: self.base_dir.join(&d.outbox_dir),
            smtp: smtp?,
            concurrency: *d.concurrency.get_ref() as usize,
            max_per_second: d.max_per_second,
            retries: d.retries,
            return_path,
            timeout: Duration::from_secs(u64::from(d.timeout_secs.max(1))),
            sendmail_command: d.sendmail_command.clone(),
            retry_deadline,
            tls_ca,
        })
    }

    fn schedule(&mut self, s: &RawSchedule, timezone: chrono_tz::Tz) -> Option<ScheduleSettings> {
        let schedule = self.parsed(&s.cron, |c| Schedule::parse(c, timezone), |e| e.to_string());
        let catch_up = self.parsed(&s.catch_up, parse_duration, |e| {
            format!("schedule.catch_up: {e}")
        });
        Some(ScheduleSettings {
            schedule: schedule?,
            catch_up: catch_up?,
        })
    }
}

impl Checker<'_> {
    /// `[archive]`: the directory (relative to the config) and the public URL, by default
    /// `<newsletter.base_url>/archive`.
    fn archive(
        &mut self,
        a: &RawArchive,
        newsletter: Option<&Newsletter>,
    ) -> Option<ArchiveSettings> {
        let base_url = match &a.base_url {
            Some(u) => self.parsed(u, parse_base_url, |()| {
                format!("archive.base_url `{}` is not an http(s) URL", u.get_ref())
            })?,
            None => format!("{}/archive", newsletter?.base_url),
        };
        Some(ArchiveSettings {
            dir: a.dir.as_ref().map(|d| self.base_dir.join(d)),
            base_url,
        })
    }
}

/// `newsletter.base_url`: an http(s) URL with a host, kept without its trailing slash.
fn parse_base_url(raw: &str) -> Result<String, ()> {
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            Ok(u.as_str().trim_end_matches('/').to_owned())
        }
        _ => Err(()),
    }
}
