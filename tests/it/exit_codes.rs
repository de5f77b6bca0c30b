//! Every error the library can return, pinned to the exit code the binary gives it
//! (`Exit::of`, the one rule: the first I/O error in the chain decides by its kind, a
//! `Temporary` marker means 75, anything else is a usage, config or input error). Each enum has
//! an exhaustive `match` below without a wildcard, so a new variant does not compile until it
//! has a row here.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::Duration;

use paperwire::archive::ArchiveError;
use paperwire::bounce::Skip;
use paperwire::bounce::read::ReadError;
use paperwire::bounce::verp::VerpError;
use paperwire::config::ConfigError;
use paperwire::deliver::DeliverError;
use paperwire::deliver::message::BuildError;
use paperwire::diag::{Location, Problems};
use paperwire::digest::KeywordError;
use paperwire::edition::EditionIdError;
use paperwire::exit::{Exit, Temporary};
use paperwire::hygiene::HygieneError;
use paperwire::paper::{HttpUrlError, PaperIdError};
use paperwire::pipeline::RunError;
use paperwire::render::RenderError;
use paperwire::schedule::ScheduleError;
use paperwire::serve::changes::ChangeError;
use paperwire::source::SourceError;
use paperwire::state::StateError;
use paperwire::subscribers::links::LinkError;
use paperwire::subscribers::token::TokenError;
use paperwire::subscribers::{SubscriberEmail, SubscriberEmailError, SubscriberError};

use super::harness::TestEnv;

fn io(kind: ErrorKind) -> std::io::Error {
    std::io::Error::new(kind, "io")
}

fn problems() -> Problems {
    Problems::one(Location::file(std::path::Path::new("f.toml")), "bad")
}

fn email() -> SubscriberEmail {
    SubscriberEmail::parse("ada@example.org").unwrap()
}

fn path() -> PathBuf {
    PathBuf::from("x")
}

fn config_errors() -> Vec<(ConfigError, Exit)> {
    fn _all_listed(e: &ConfigError) {
        match e {
            ConfigError::Read { .. }
            | ConfigError::Invalid(_)
            | ConfigError::Missing
            | ConfigError::MissingSecret { .. }
            | ConfigError::SecretFile { .. } => {}
        }
    }
    vec![
        (
            ConfigError::Read {
                path: path(),
                source: io(ErrorKind::NotFound),
            },
            Exit::Usage,
        ),
        (
            ConfigError::Read {
                path: path(),
                source: io(ErrorKind::Interrupted),
            },
            Exit::TryLater,
        ),
        (ConfigError::Invalid(problems()), Exit::Usage),
        (ConfigError::Missing, Exit::Usage),
        (
            ConfigError::MissingSecret {
                name: "PAPERWIRE_SECRET",
                why: "w".into(),
            },
            Exit::Usage,
        ),
        (
            ConfigError::SecretFile {
                name: "PAPERWIRE_SECRET",
                path: path(),
                source: io(ErrorKind::PermissionDenied),
            },
            Exit::Usage,
        ),
    ]
}

fn source_errors() -> Vec<(SourceError, Exit)> {
    fn _all_listed(e: &SourceError) {
        match e {
            SourceError::Read { .. }
            | SourceError::Malformed(_)
            | SourceError::NoPapers { .. }
            | SourceError::Unavailable { .. }
            | SourceError::Rejected { .. }
            | SourceError::TooLarge { .. }
            | SourceError::Unsupported(_)
            | SourceError::NoSources { .. } => {}
        }
    }
    let url = || "https://huggingface.co/api/daily_papers".to_owned();
    vec![
        (
            SourceError::Read {
                path: path(),
                source: io(ErrorKind::NotFound),
            },
            Exit::Usage,
        ),
        (
            SourceError::Read {
                path: path(),
                source: io(ErrorKind::InvalidData),
            },
            Exit::Usage,
        ),
        (
            SourceError::Read {
                path: path(),
                source: io(ErrorKind::TimedOut),
            },
            Exit::TryLater,
        ),
        (SourceError::Malformed(problems()), Exit::Usage),
        // An empty day never reaches the edge as an error: callers turn it into an outcome
        // (exit 0); were it to, it would not be taken for a temporary failure.
        (
            SourceError::NoPapers {
                date: chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
                source_name: "hf".into(),
            },
            Exit::Usage,
        ),
        (
            SourceError::Unavailable {
                url: url(),
                message: "503".into(),
                later: Temporary,
            },
            Exit::TryLater,
        ),
        (
            SourceError::Rejected {
                url: url(),
                status: 404,
                message: String::new(),
            },
            Exit::Usage,
        ),
        (
            SourceError::TooLarge {
                url: url(),
                limit: 1,
            },
            Exit::Usage,
        ),
        (SourceError::Unsupported("past date".into()), Exit::Usage),
        (SourceError::NoSources { path: path() }, Exit::Usage),
    ]
}

fn subscriber_errors() -> Vec<(SubscriberError, Exit)> {
    fn _all_listed(e: &SubscriberError) {
        match e {
            SubscriberError::Read { .. }
            | SubscriberError::Missing { .. }
            | SubscriberError::Invalid(_)
            | SubscriberError::Write { .. }
            | SubscriberError::LockTimeout { .. }
            | SubscriberError::KeptChanging { .. }
            | SubscriberError::AlreadySubscribed { .. }
            | SubscriberError::Unsubscribed { .. }
            | SubscriberError::Bounced { .. }
            | SubscriberError::KeepUnsubscribed { .. }
            | SubscriberError::BadName(_)
            | SubscriberError::NotFound { .. }
            | SubscriberError::UnknownTopic { .. }
            | SubscriberError::Unsupported { .. } => {}
        }
    }
    let at = || "2026-11-28".to_owned();
    vec![
        (
            SubscriberError::Read {
                path: path(),
                source: io(ErrorKind::InvalidData),
            },
            Exit::Usage,
        ),
        (
            SubscriberError::Read {
                path: path(),
                source: io(ErrorKind::Interrupted),
            },
            Exit::TryLater,
        ),
        (SubscriberError::Missing { path: path() }, Exit::Usage),
        (SubscriberError::Invalid(problems()), Exit::Usage),
        (
            SubscriberError::Write {
                path: path(),
                source: io(ErrorKind::StorageFull),
            },
            Exit::TryLater,
        ),
        (
            SubscriberError::Write {
                path: path(),
                source: io(ErrorKind::PermissionDenied),
            },
            Exit::Usage,
        ),
        (
            SubscriberError::LockTimeout {
                lock_path: path(),
                waited: Duration::from_secs(10),
                later: Temporary,
            },
            Exit::TryLater,
        ),
        (
            SubscriberError::KeptChanging {
                path: path(),
                later: Temporary,
            },
            Exit::TryLater,
        ),
        (
            SubscriberError::AlreadySubscribed {
                email: email(),
                path: path(),
                line: 1,
            },
            Exit::Usage,
        ),
        (
            SubscriberError::Unsubscribed {
                email: email(),
                at: at(),
            },
            Exit::Usage,
        ),
        (
            SubscriberError::Bounced {
                email: email(),
                at: at(),
            },
            Exit::Usage,
        ),
        (
            SubscriberError::KeepUnsubscribed {
                email: email(),
                at: at(),
            },
            Exit::Usage,
        ),
        (SubscriberError::BadName("x".into()), Exit::Usage),
        (
            SubscriberError::NotFound {
                email: email(),
                path: path(),
            },
            Exit::Usage,
        ),
        (
            SubscriberError::UnknownTopic {
                topic: "t".into(),
                known: vec![],
            },
            Exit::Usage,
        ),
        (
            SubscriberError::Unsupported {
                path: path(),
                message: "m".into(),
            },
            Exit::Usage,
        ),
    ]
}

fn render_errors() -> Vec<(RenderError, Exit)> {
    fn _all_listed(e: &RenderError) {
        match e {
            RenderError::Read { .. } | RenderError::Template { .. } | RenderError::Css(_) => {}
        }
    }
    vec![
        (
            RenderError::Read {
                path: path(),
                source: io(ErrorKind::NotFound),
            },
            Exit::Usage,
        ),
        (
            RenderError::Template {
                location: "t:1:1".into(),
                message: "m".into(),
            },
            Exit::Usage,
        ),
        (RenderError::Css("c".into()), Exit::Usage),
    ]
}

fn state_errors() -> Vec<(StateError, Exit)> {
    fn _all_listed(e: &StateError) {
        match e {
            StateError::Locked { .. } | StateError::Io { .. } | StateError::Papers(_) => {}
        }
    }
    vec![
        (
            StateError::Locked {
                path: path(),
                later: Temporary,
            },
            Exit::TryLater,
        ),
        (
            StateError::Io {
                context: "c".into(),
                source: io(ErrorKind::StorageFull),
            },
            Exit::TryLater,
        ),
        (
            StateError::Io {
                context: "c".into(),
                source: io(ErrorKind::NotADirectory),
            },
            Exit::Usage,
        ),
        (
            StateError::Papers(SourceError::Malformed(problems())),
            Exit::Usage,
        ),
    ]
}

fn deliver_errors() -> Vec<(DeliverError, Exit)> {
    fn _all_listed(e: &DeliverError) {
        match e {
            DeliverError::Io { .. }
            | DeliverError::Unreachable { .. }
            | DeliverError::Setup(_)
            | DeliverError::Render(_)
            | DeliverError::State(_)
            | DeliverError::Build(_)
            | DeliverError::Worker(_) => {}
        }
    }
    vec![
        (
            DeliverError::Io {
                context: "c".into(),
                source: io(ErrorKind::IsADirectory),
            },
            Exit::Usage,
        ),
        (
            DeliverError::Io {
                context: "c".into(),
                source: io(ErrorKind::StorageFull),
            },
            Exit::TryLater,
        ),
        (
            DeliverError::Unreachable {
                message: "m".into(),
                later: Temporary,
            },
            Exit::TryLater,
        ),
        (DeliverError::Setup("tls".into()), Exit::Usage),
        (
            DeliverError::Render(RenderError::Css("c".into())),
            Exit::Usage,
        ),
        (
            DeliverError::State(StateError::Locked {
                path: path(),
                later: Temporary,
            }),
            Exit::TryLater,
        ),
        (
            DeliverError::Build(BuildError {
                email: "e".into(),
                reason: "r".into(),
            }),
            Exit::Usage,
        ),
        (DeliverError::Worker("panicked".into()), Exit::Usage),
    ]
}

fn run_errors() -> Vec<(RunError, Exit)> {
    fn _all_listed(e: &RunError) {
        match e {
            RunError::Config(_)
            | RunError::Source(_)
            | RunError::Subscribers(_)
            | RunError::Render(_)
            | RunError::State(_)
            | RunError::Deliver(_)
            | RunError::Archive(_)
            | RunError::Invalid(_) => {}
        }
    }
    let unavailable = SourceError::Unavailable {
        url: "u".into(),
        message: "m".into(),
        later: Temporary,
    };
    vec![
        (RunError::Config(ConfigError::Missing), Exit::Usage),
        (RunError::Source(unavailable), Exit::TryLater),
        (
            RunError::Subscribers(SubscriberError::Missing { path: path() }),
            Exit::Usage,
        ),
        (RunError::Render(RenderError::Css("c".into())), Exit::Usage),
        (
            RunError::State(StateError::Locked {
                path: path(),
                later: Temporary,
            }),
            Exit::TryLater,
        ),
        (
            RunError::Deliver(DeliverError::Unreachable {
                message: "m".into(),
                later: Temporary,
            }),
            Exit::TryLater,
        ),
        (RunError::Invalid("--only".into()), Exit::Usage),
        (
            RunError::Archive(ArchiveError::Inconsistent("x".into())),
            Exit::Usage,
        ),
        (
            RunError::Archive(ArchiveError::Write {
                path: path(),
                source: io(ErrorKind::StorageFull),
            }),
            Exit::TryLater,
        ),
    ]
}

fn archive_errors() -> Vec<(ArchiveError, Exit)> {
    fn _all_listed(e: &ArchiveError) {
        match e {
            ArchiveError::State(_)
            | ArchiveError::Render(_)
            | ArchiveError::Write { .. }
            | ArchiveError::Inconsistent(_) => {}
        }
    }
    vec![
        (
            ArchiveError::State(StateError::Io {
                context: "c".into(),
                source: io(ErrorKind::PermissionDenied),
            }),
            Exit::Usage,
        ),
        (
            ArchiveError::Render(RenderError::Template {
                location: "web/edition.html.hbs:1:1".into(),
                message: "m".into(),
            }),
            Exit::Usage,
        ),
        (
            ArchiveError::Write {
                path: path(),
                source: io(ErrorKind::PermissionDenied),
            },
            Exit::Usage,
        ),
        (
            ArchiveError::Write {
                path: path(),
                source: io(ErrorKind::StorageFull),
            },
            Exit::TryLater,
        ),
        (ArchiveError::Inconsistent("x".into()), Exit::Usage),
    ]
}

fn input_errors() -> Vec<(Box<dyn std::error::Error + Send + Sync>, Exit)> {
    fn _all_listed(
        s: &ScheduleError,
        k: &KeywordError,
        e: &SubscriberEmailError,
        t: &TokenError,
        d: &EditionIdError,
    ) {
        match s {
            ScheduleError::Invalid { .. }
            | ScheduleError::Never(_)
            | ScheduleError::TestClock { .. } => {}
        }
        match k {
            KeywordError::Empty(_) | KeywordError::InnerStar(_) => {}
        }
        match e {
            SubscriberEmailError::Invalid(_)
            | SubscriberEmailError::NotAscii(_)
            | SubscriberEmailError::Quoted(_)
            | SubscriberEmailError::DotlessDomain(_) => {}
        }
        match t {
            TokenError::Malformed(_) | TokenError::BadSignature => {}
        }
        match d {
            EditionIdError::Invalid(_) | EditionIdError::NotADate(..) => {}
        }
    }
    let s = |x: &str| x.to_owned();
    vec![
        (
            Box::new(ScheduleError::Invalid {
                cron: s("x"),
                reason: s("r"),
            }),
            Exit::Usage,
        ),
        (Box::new(ScheduleError::Never(s("0 0 30 2 *"))), Exit::Usage),
        (
            Box::new(ScheduleError::TestClock {
                var: "PAPERWIRE_TEST_NOW",
                value: s("x"),
                reason: s("r"),
            }),
            Exit::Usage,
        ),
        (Box::new(KeywordError::Empty(s("*"))), Exit::Usage),
        (Box::new(KeywordError::InnerStar(s("a*b"))), Exit::Usage),
        (Box::new(SubscriberEmailError::Invalid(s("x"))), Exit::Usage),
        (
            Box::new(SubscriberEmailError::NotAscii(s("é@x.org"))),
            Exit::Usage,
        ),
        (
            Box::new(SubscriberEmailError::Quoted(s("\"a b\"@x.org"))),
            Exit::Usage,
        ),
        (
            Box::new(SubscriberEmailError::DotlessDomain(s("bob@example"))),
            Exit::Usage,
        ),
        (Box::new(TokenError::Malformed("short")), Exit::Usage),
        (Box::new(TokenError::BadSignature), Exit::Usage),
        (Box::new(EditionIdError::Invalid(s("a/b"))), Exit::Usage),
        (
            Box::new(EditionIdError::NotADate(s("2026-13-01"), s("2026-13-01"))),
            Exit::Usage,
        ),
        (Box::new(PaperIdError(s("x"))), Exit::Usage),
        (Box::new(HttpUrlError(s("javascript:x"))), Exit::Usage),
        (
            Box::new(BuildError {
                email: s("e"),
                reason: s("r"),
            }),
            Exit::Usage,
        ),
        (Box::new(problems()), Exit::Usage),
        (Box::new(Temporary), Exit::TryLater),
    ]
}

/// A bounce report's skip is an outcome the import counts, never an error at the edge; were one
/// to get there, it is bad input. An input that cannot be opened follows the I/O rule.
fn bounce_errors() -> Vec<(Box<dyn std::error::Error + Send + Sync>, Exit)> {
    fn _all_listed(s: &Skip, r: &ReadError) {
        match s {
            Skip::NotAMessage
            | Skip::NotAReport(_)
            | Skip::Truncated(_)
            | Skip::NoRecipient
            | Skip::Success(_)
            | Skip::Delayed
            | Skip::NotAComplaint(_)
            | Skip::ForgedTag { .. }
            | Skip::MissingTag
            | Skip::TooBig { .. }
            | Skip::Unreadable(_)
            | Skip::Unresolved(_) => {}
        }
        match r {
            ReadError::Open { .. } => {}
        }
    }
    let s = |x: &str| x.to_owned();
    let open = |kind| ReadError::Open {
        path: path(),
        source: io(kind),
    };
    vec![
        (Box::new(Skip::NotAMessage), Exit::Usage),
        (Box::new(Skip::NotAReport("r")), Exit::Usage),
        (Box::new(Skip::Truncated("delivery status")), Exit::Usage),
        (Box::new(Skip::NoRecipient), Exit::Usage),
        (Box::new(Skip::Success("delivered")), Exit::Usage),
        (Box::new(Skip::Delayed), Exit::Usage),
        (Box::new(Skip::NotAComplaint(s("not-spam"))), Exit::Usage),
        (
            Box::new(Skip::ForgedTag {
                address: s("bounces+x@example.org"),
                reason: "r",
            }),
            Exit::Usage,
        ),
        (Box::new(Skip::MissingTag), Exit::Usage),
        (Box::new(Skip::TooBig { size: 2, limit: 1 }), Exit::Usage),
        (Box::new(Skip::Unreadable(s("r"))), Exit::Usage),
        (Box::new(Skip::Unresolved(s("r"))), Exit::Usage),
        (Box::new(open(ErrorKind::NotFound)), Exit::Usage),
        (Box::new(open(ErrorKind::PermissionDenied)), Exit::Usage),
        (Box::new(open(ErrorKind::TimedOut)), Exit::TryLater),
        (
            Box::new(VerpError {
                return_path: s("b@example.org"),
                len: 65,
            }),
            Exit::Usage,
        ),
    ]
}

/// The reader-facing pages answer these with a page (403, 503), never with an exit; were one to
/// reach the edge, a refused link is bad input and a change that could not be made is worth
/// trying again.
fn serve_errors() -> Vec<(Box<dyn std::error::Error + Send + Sync>, Exit)> {
    fn _all_listed(c: &ChangeError, l: &LinkError) {
        match c {
            ChangeError::List(_) | ChangeError::Log(_) | ChangeError::Interrupted { .. } => {}
        }
        match l {
            LinkError::Malformed(_) | LinkError::BadSignature | LinkError::Expired => {}
        }
    }
    vec![
        (
            Box::new(ChangeError::List(SubscriberError::LockTimeout {
                lock_path: path(),
                waited: Duration::from_secs(10),
                later: Temporary,
            })),
            Exit::TryLater,
        ),
        (
            Box::new(ChangeError::List(SubscriberError::Missing { path: path() })),
            Exit::Usage,
        ),
        (
            Box::new(ChangeError::Log(std::io::Error::from(
                std::io::ErrorKind::StorageFull,
            ))),
            Exit::TryLater,
        ),
        (
            Box::new(ChangeError::Log(std::io::Error::other(
                "the change log's writer has stopped",
            ))),
            Exit::TryLater,
        ),
        (
            Box::new(ChangeError::Interrupted {
                reason: "task cancelled".into(),
                later: Temporary,
            }),
            Exit::TryLater,
        ),
        (Box::new(LinkError::Malformed("short")), Exit::Usage),
        (Box::new(LinkError::BadSignature), Exit::Usage),
        (Box::new(LinkError::Expired), Exit::Usage),
    ]
}

/// `bounces import` and the other list-hygiene chores: an input or a config problem is the
/// person's to fix; the logs follow the I/O rule (a full disk is temporary, so an MTA piping
/// bounces in retries the message later).
fn hygiene_errors() -> Vec<(HygieneError, Exit)> {
    fn _all_listed(e: &HygieneError) {
        match e {
            HygieneError::Config(_)
            | HygieneError::Subscribers(_)
            | HygieneError::Read(_)
            | HygieneError::StdinTwice
            | HygieneError::Verp(_)
            | HygieneError::Store { .. }
            | HygieneError::Changes { .. } => {}
        }
    }
    vec![
        (
            HygieneError::Config(ConfigError::MissingSecret {
                name: "PAPERWIRE_SECRET",
                why: "w".into(),
            }),
            Exit::Usage,
        ),
        (
            HygieneError::Subscribers(SubscriberError::Missing { path: path() }),
            Exit::Usage,
        ),
        (
            HygieneError::Read(ReadError::Open {
                path: path(),
                source: io(ErrorKind::NotFound),
            }),
            Exit::Usage,
        ),
        (HygieneError::StdinTwice, Exit::Usage),
        (
            HygieneError::Verp(VerpError {
                return_path: "b@example.org".into(),
                len: 65,
            }),
            Exit::Usage,
        ),
        (
            HygieneError::Store {
                path: path(),
                source: io(ErrorKind::StorageFull),
            },
            Exit::TryLater,
        ),
        (
            HygieneError::Store {
                path: path(),
                source: io(ErrorKind::PermissionDenied),
            },
            Exit::Usage,
        ),
        (
            HygieneError::Changes {
                path: path(),
                source: io(ErrorKind::StorageFull),
            },
            Exit::TryLater,
        ),
    ]
}

#[track_caller]
fn check<E: std::error::Error + Send + Sync + 'static>(rows: Vec<(E, Exit)>) -> usize {
    let n = rows.len();
    for (err, want) in rows {
        assert_eq!(Exit::of(&err), want, "{err:?}");
        // Context added by the binary on top never changes the code.
        let wrapped = anyhow::Error::new(err).context("while doing something");
        assert_eq!(Exit::of(wrapped.as_ref()), want, "{wrapped:#}");
    }
    n
}

#[test]
fn every_error_variant_has_its_exit_code() {
    let mut rows = 0;
    rows += check(config_errors());
    rows += check(source_errors());
    rows += check(subscriber_errors());
    rows += check(render_errors());
    rows += check(state_errors());
    rows += check(deliver_errors());
    rows += check(run_errors());
    rows += check(archive_errors());
    rows += check(hygiene_errors());
    for (err, want) in input_errors()
        .into_iter()
        .chain(bounce_errors())
        .chain(serve_errors())
    {
        assert_eq!(Exit::of(err.as_ref()), want, "{err:?}");
        rows += 1;
    }
    assert!(rows >= 60, "{rows} rows");
}

#[test]
fn io_error_kinds_follow_one_rule() {
    for kind in [
        ErrorKind::NotFound,
        ErrorKind::PermissionDenied,
        ErrorKind::IsADirectory,
        ErrorKind::NotADirectory,
        ErrorKind::InvalidData,
        ErrorKind::InvalidInput,
        ErrorKind::AlreadyExists,
        ErrorKind::ReadOnlyFilesystem,
    ] {
        assert_eq!(Exit::of(&io(kind)), Exit::Usage, "{kind:?}");
    }
    for kind in [
        ErrorKind::StorageFull,
        ErrorKind::QuotaExceeded,
        ErrorKind::TimedOut,
        ErrorKind::Interrupted,
        ErrorKind::ConnectionRefused,
        ErrorKind::ConnectionReset,
        ErrorKind::BrokenPipe,
        ErrorKind::WriteZero,
        ErrorKind::Other,
    ] {
        assert_eq!(Exit::of(&io(kind)), Exit::TryLater, "{kind:?}");
    }
}

#[test]
fn a_full_disk_is_a_temporary_failure_even_wrapped_in_context() {
    let env = TestEnv::new();
    let out = env.run(&["preview", "--out", "/dev/full"]);
    out.assert_code(75);
    assert!(
        out.stderr
            .contains("cannot write /dev/full: No space left on device"),
        "{out}"
    );
}

#[test]
fn a_missing_output_directory_is_a_usage_error() {
    let env = TestEnv::new();
    let out = env.run(&["preview", "--out", "no/such/dir/digest.html"]);
    out.assert_code(2);
}
