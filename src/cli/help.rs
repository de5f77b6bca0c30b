//! The long help (`--help`, and the man page) of the commands people run from cron, systemd and
//! shells: which environment variables they read, what their exit codes mean, and examples.
//! Kept here, apart from the flag definitions, so the texts read as one page; kept as data (name
//! and text pairs) so that `--help` lays them out as aligned plain text and `paperwire man` as
//! the tagged paragraphs of a man page, from the same words.

/// One command's long help after its options.
pub struct Extra {
    /// Paragraphs before the tables.
    pub intro: &'static [&'static str],
    /// Environment variables it reads: name, what for.
    pub env: &'static [(&'static str, &'static str)],
    /// Exit codes: code, meaning.
    pub exit: &'static [(&'static str, &'static str)],
    /// Paragraphs after the exit codes.
    pub notes: &'static [&'static str],
    /// Command lines and what they do (empty: the line says it all).
    pub examples: &'static [(&'static str, &'static str)],
}

/// The width `--help` wraps these texts at.
const WIDTH: usize = 96;
/// Where the text of an `Environment:` row starts.
const ENV_COLUMN: usize = 27;
/// Where the text of an `Exit codes:` row starts.
const EXIT_COLUMN: usize = 6;
/// Where the text of an `Examples:` row starts, when the command fits before it.
const EXAMPLE_COLUMN: usize = 48;

impl Extra {
    /// The text `--help` prints after the options.
    pub fn text(&self) -> String {
        let mut blocks: Vec<String> = self.intro.iter().map(|p| wrap(p, "", "")).collect();
        if !self.env.is_empty() {
            blocks.push(format!("Environment:\n{}", table(self.env, ENV_COLUMN)));
        }
        if !self.exit.is_empty() {
            blocks.push(format!("Exit codes:\n{}", table(self.exit, EXIT_COLUMN)));
        }
        blocks.extend(self.notes.iter().map(|p| wrap(p, "", "")));
        if !self.examples.is_empty() {
            blocks.push(format!(
                "Examples:\n{}",
                table(self.examples, EXAMPLE_COLUMN)
            ));
        }
        blocks.join("\n\n")
    }

    /// The long help of the command at `path` (`[]` for `paperwire` itself, `["send"]`).
    pub fn of(path: &[&str]) -> Option<&'static Self> {
        match path {
            [] => Some(&MAIN),
            ["send"] => Some(&SEND),
            ["run"] => Some(&RUN),
            ["serve"] => Some(&SERVE),
            ["completions"] => Some(&COMPLETIONS),
            ["bounces", "import"] => Some(&BOUNCES_IMPORT),
            _ => None,
        }
    }
}

/// Rows of `name  text`, the text starting at `column` (on the next line when the name is too
/// long) and wrapped with a hanging indent.
fn table(rows: &[(&str, &str)], column: usize) -> String {
    let indent = " ".repeat(column);
    rows.iter()
        .map(|(name, text)| {
            let head = format!("  {name}");
            if text.is_empty() {
                head
            } else if head.len() + 2 <= column {
                wrap(text, &format!("{head:<column$}"), &indent)
            } else {
                format!("{head}\n{}", wrap(text, &indent, &indent))
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn wrap(text: &str, first: &str, rest: &str) -> String {
    let options = textwrap::Options::new(WIDTH)
        .initial_indent(first)
        .subsequent_indent(rest)
        .break_words(false);
    textwrap::fill(text, options)
}

/// The environment every command that sends reads.
const SENDING_ENV: &[(&str, &str)] = &[
    (
        "PAPERWIRE_CONFIG",
        "the config file when --config is not given",
    ),
    (
        "PAPERWIRE_SECRET",
        "signs the one-click unsubscribe links (required for smtp and sendmail; keep it stable); PAPERWIRE_SECRET_FILE names a file holding it instead (systemd credentials)",
    ),
    (
        "PAPERWIRE_SMTP_URL",
        "overrides delivery.smtp_url, e.g. smtps://user@relay:465",
    ),
    (
        "PAPERWIRE_SMTP_PASSWORD",
        "the SMTP password (or PAPERWIRE_SMTP_PASSWORD_FILE)",
    ),
    (
        "PAPERWIRE_LOG",
        "log filter, e.g. `info` or `paperwire=debug,lettre=debug`",
    ),
];

/// After `paperwire --help`.
pub const MAIN: Extra = Extra {
    intro: &[
        "Start with `paperwire init` (a starter paperwire.toml and subscribers.toml), then `paperwire check`. `--config FILE` goes anywhere on the line; without it paperwire reads $PAPERWIRE_CONFIG, then ./paperwire.toml.",
    ],
    env: &[],
    exit: &[
        ("0", "done: all delivered, or nothing to do"),
        (
            "1",
            "some recipients failed permanently (5xx), in this run or an earlier one of the edition",
        ),
        ("2", "usage, config or input error; nothing was sent"),
        (
            "75",
            "temporary failure (a server or source unreachable, deferred recipients, interrupted, a lock held by another run): run again later",
        ),
    ],
    notes: &[],
    examples: &[],
};

/// After `paperwire send --help`.
pub const SEND: Extra = Extra {
    intro: &[],
    env: SENDING_ENV,
    exit: &[
        (
            "0",
            "every recipient delivered (now or in an earlier run), or nothing to send (an empty day says why on stderr)",
        ),
        (
            "1",
            "some recipients failed permanently (5xx), in this run or an earlier one of the edition; the summary and report.json name every one",
        ),
        ("2", "usage, config or input error; nothing was sent"),
        (
            "75",
            "deferred recipients (4xx, timeouts) or interrupted: run again, the journal makes it safe. 75 wins over 1 when a run has both: the rerun then ends with 1.",
        ),
    ],
    notes: &[
        "Quiet on success when stdout is not a terminal, so cron mails only what needs a look. A subscriber whose topics have no papers in the edition gets no email (the summary counts them).",
    ],
    examples: &[
        (
            "paperwire send --dry-run",
            "render and check every message, send nothing",
        ),
        (
            "paperwire send --only ada@example.org --test-to me@example.org",
            "Ada's exact message, to me, unjournaled",
        ),
        (
            "PAPERWIRE_SECRET_FILE=/etc/paperwire/secret paperwire send -c /srv/paperwire/paperwire.toml",
            "",
        ),
    ],
};

/// After `paperwire run --help`.
pub const RUN: Extra = Extra {
    intro: &[],
    env: SENDING_ENV,
    exit: &[
        (
            "0",
            "stopped by SIGTERM/SIGINT (messages in flight finished); with --once: the due run delivered everything, or nothing was due",
        ),
        ("1", "--once: some recipients failed permanently"),
        (
            "2",
            "config error at start (no [schedule] table, a bad cron line…)",
        ),
        (
            "75",
            "another send or daemon holds state.dir/send.lock; with --once: deferred recipients or interrupted (the next firing retries)",
        ),
    ],
    notes: &[],
    examples: &[
        (
            "paperwire run -c /srv/paperwire/paperwire.toml",
            "the daemon (systemd Type=exec)",
        ),
        (
            "paperwire run --once -c /srv/paperwire/paperwire.toml",
            "from a systemd timer",
        ),
    ],
};

/// After `paperwire serve --help`.
pub const SERVE: Extra = Extra {
    intro: &[],
    env: &[
        (
            "PAPERWIRE_CONFIG",
            "the config file when --config is not given",
        ),
        (
            "PAPERWIRE_SECRET",
            "the key that signed the unsubscribe links (required); PAPERWIRE_SECRET_FILE names a file holding it instead",
        ),
        (
            "PAPERWIRE_LOG",
            "log filter; by default each unsubscribe is logged (an audit line)",
        ),
    ],
    exit: &[
        ("0", "stopped by SIGTERM/SIGINT"),
        ("2", "config error, or no PAPERWIRE_SECRET"),
        ("75", "the address is in use (another serve still running?)"),
    ],
    notes: &[
        "Endpoints: POST /unsubscribe?token=… (one-click, RFC 8058), GET /unsubscribe?token=… (a confirm page; a GET never unsubscribes), GET / (a preview of the current digest).",
    ],
    examples: &[
        (
            "paperwire serve",
            "on 127.0.0.1:8080, behind an HTTPS proxy",
        ),
        (
            "paperwire serve --listen 127.0.0.1:9000 -c /srv/paperwire/paperwire.toml",
            "",
        ),
    ],
};

/// After `paperwire bounces import --help`.
pub const BOUNCES_IMPORT: Extra = Extra {
    intro: &[
        "Reads delivery status notifications (RFC 3464) and complaint reports (ARF, RFC 5965) from Maildirs (new/ and cur/), mbox files, .eml files and directories of them, or one message (or an mbox) on standard input (`-`). What each says is kept in state.dir/bounces.jsonl; an address whose score reaches [bounce] threshold within [bounce] window (a hard bounce 1, a soft one ½, at most once a day) gets bounced_at, and one whose reader complained is unsubscribed, through the list's change log. Importing a report again counts it once, so a cron job may import the same Maildir every time.",
        "A message that is no bounce or complaint, is cut off, too big (over 10 MiB), names no subscriber, or carries a forged VERP tag changes nothing: it is counted and listed with its reason.",
    ],
    env: &[
        (
            "PAPERWIRE_CONFIG",
            "the config file when --config is not given",
        ),
        (
            "PAPERWIRE_SECRET",
            "with bounce.verp: the key the VERP tags are checked with (PAPERWIRE_SECRET_FILE names a file holding it instead)",
        ),
        (
            "ORIGINAL_RECIPIENT",
            "with `-`: the address the MTA delivered the message to (Postfix's local(8) sets it for a pipe alias; else RECIPIENT), where a VERP tag is read",
        ),
    ],
    exit: &[
        (
            "0",
            "imported (messages that could not be used are skipped, not errors)",
        ),
        (
            "2",
            "usage or config error, a PATH that cannot be read, or a subscriber list that does not parse; nothing was imported",
        ),
        (
            "75",
            "a temporary failure writing the bounce log or the change log (a full disk): run again (an MTA retries the message later)",
        ),
    ],
    notes: &[],
    examples: &[
        (
            "bounces: \"|paperwire -c /srv/paperwire/paperwire.toml bounces import -\"",
            "an /etc/aliases line: each bounce as it arrives",
        ),
        (
            "paperwire bounces import ~/Maildir/.Bounces",
            "a Maildir, e.g. from cron",
        ),
        ("paperwire bounces import --json bounces.mbox", ""),
    ],
};

/// After `paperwire completions --help`.
pub const COMPLETIONS: Extra = Extra {
    intro: &[],
    env: &[],
    exit: &[],
    notes: &[],
    examples: &[
        (
            "source <(paperwire completions bash)",
            "bash, this shell only",
        ),
        (
            "paperwire completions bash > ~/.local/share/bash-completion/completions/paperwire",
            "",
        ),
        (
            "paperwire completions zsh > ~/.zfunc/_paperwire",
            "with fpath+=~/.zfunc",
        ),
        (
            "paperwire completions fish > ~/.config/fish/completions/paperwire.fish",
            "",
        ),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_text_lays_out_the_tables_in_columns() {
        insta::assert_snapshot!(SEND.text());
    }

    #[test]
    fn no_line_is_wider_than_the_help() {
        for extra in [&MAIN, &SEND, &RUN, &SERVE, &COMPLETIONS, &BOUNCES_IMPORT] {
            for line in extra.text().lines() {
                // A single word (a long command line) may not fit; then it stands alone.
                assert!(
                    line.chars().count() <= WIDTH || !line.trim().contains("  "),
                    "{line}"
                );
            }
        }
    }
}
