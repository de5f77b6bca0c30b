//! The long help (`--help`, and the man page) of the commands people run from cron, systemd and
//! shells: which environment variables they read, what their exit codes mean, and examples.
//! Kept here, apart from the flag definitions, so the texts read as one page.

/// After `paperwire --help`.
pub const MAIN: &str = "\
Start with `paperwire init` (a starter paperwire.toml and subscribers.toml), then
`paperwire check`. `--config FILE` goes anywhere on the line; without it paperwire reads
$PAPERWIRE_CONFIG, then ./paperwire.toml.

Exit codes (every command):
  0   done: all delivered, or nothing to do
  1   some recipients failed permanently (5xx), in this run or an earlier one of the edition
  2   usage, config or input error; nothing was sent
  75  temporary failure (a server or source unreachable, deferred recipients, interrupted,
      a lock held by another run): run again later";

/// The environment every command that sends reads.
macro_rules! sending_env {
    () => {
        "Environment:
  PAPERWIRE_CONFIG         the config file when --config is not given
  PAPERWIRE_SECRET         signs the one-click unsubscribe links (required for smtp and
                           sendmail; keep it stable); PAPERWIRE_SECRET_FILE names a file
                           holding it instead (systemd credentials)
  PAPERWIRE_SMTP_URL       overrides delivery.smtp_url, e.g. smtps://user@relay:465
  PAPERWIRE_SMTP_PASSWORD  the SMTP password (or PAPERWIRE_SMTP_PASSWORD_FILE)
  PAPERWIRE_LOG            log filter, e.g. `info` or `paperwire=debug,lettre=debug`"
    };
}

/// After `paperwire send --help`.
pub const SEND: &str = concat!(
    sending_env!(),
    "

Exit codes:
  0   every recipient delivered (now or in an earlier run), or nothing to send (an empty day
      says why on stderr)
  1   some recipients failed permanently (5xx), in this run or an earlier one of the edition;
      the summary and report.json name every one
  2   usage, config or input error; nothing was sent
  75  deferred recipients (4xx, timeouts) or interrupted: run again, the journal makes it
      safe. 75 wins over 1 when a run has both: the rerun then ends with 1.

Quiet on success when stdout is not a terminal, so cron mails only what needs a look.

Examples:
  paperwire send --dry-run                      render and check every message, send nothing
  paperwire send --only ada@example.org --test-to me@example.org
                                                Ada's exact message, to me, unjournaled
  PAPERWIRE_SECRET_FILE=/etc/paperwire/secret paperwire send -c /srv/paperwire/paperwire.toml"
);

/// After `paperwire run --help`.
pub const RUN: &str = concat!(
    sending_env!(),
    "

Exit codes:
  0   stopped by SIGTERM/SIGINT (messages in flight finished); with --once: the due run
      delivered everything, or nothing was due
  1   --once: some recipients failed permanently
  2   config error at start (no [schedule] table, a bad cron line…)
  75  another send or daemon holds state.dir/send.lock; with --once: deferred recipients or
      interrupted (the next firing retries)

Examples:
  paperwire run -c /srv/paperwire/paperwire.toml          the daemon (systemd Type=exec)
  paperwire run --once -c /srv/paperwire/paperwire.toml   from a systemd timer"
);

/// After `paperwire serve --help`.
pub const SERVE: &str = "\
Environment:
  PAPERWIRE_CONFIG         the config file when --config is not given
  PAPERWIRE_SECRET         the key that signed the unsubscribe links (required);
                           PAPERWIRE_SECRET_FILE names a file holding it instead
  PAPERWIRE_LOG            log filter; by default each unsubscribe is logged (an audit line)

Exit codes:
  0   stopped by SIGTERM/SIGINT
  2   config error, or no PAPERWIRE_SECRET
  75  the address is in use (another serve still running?)

Endpoints: POST /unsubscribe?token=… (one-click, RFC 8058), GET /unsubscribe?token=… (a
confirm page; a GET never unsubscribes), GET / (a preview of the current digest).

Examples:
  paperwire serve                                 on 127.0.0.1:8080, behind an HTTPS proxy
  paperwire serve --listen 127.0.0.1:9000 -c /srv/paperwire/paperwire.toml";

/// After `paperwire completions --help`.
pub const COMPLETIONS: &str = "\
Examples:
  source <(paperwire completions bash)                       bash, this shell only
  paperwire completions bash > ~/.local/share/bash-completion/completions/paperwire
  paperwire completions zsh > ~/.zfunc/_paperwire            (with fpath+=~/.zfunc)
  paperwire completions fish > ~/.config/fish/completions/paperwire.fish";
