//! Exit codes, the same for every command, and how an error maps to one.
//!
//! `0` done (all delivered, or nothing to do) · `1` some recipients failed permanently ·
//! `2` usage, config or input error (nothing sent) · `75` temporary failure, run again later.
//! Library errors carry their class; the binary asks [`classify`] for the code of whatever
//! error reached it.

/// What a run's outcome means to cron and systemd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Done = 0,
    SomeFailed = 1,
    Usage = 2,
    TryLater = 75,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Errors that know which exit code they mean.
pub trait Classify {
    fn exit(&self) -> Exit;
}

/// The exit code for an error chain: the first cause that knows its class decides; I/O errors
/// with no class are temporary (a full disk, a vanished mount), anything else is an input error.
pub fn classify(err: &(dyn std::error::Error + 'static)) -> Exit {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(c) = e.downcast_ref::<crate::config::ConfigError>() {
            return c.exit();
        }
        if let Some(c) = e.downcast_ref::<crate::diag::Problems>() {
            return c.exit();
        }
        if let Some(c) = e.downcast_ref::<crate::source::SourceError>() {
            return c.exit();
        }
        if let Some(c) = e.downcast_ref::<crate::subscribers::SubscriberError>() {
            return c.exit();
        }
        if let Some(c) = e.downcast_ref::<crate::render::RenderError>() {
            return c.exit();
        }
        if let Some(c) = e.downcast_ref::<crate::deliver::DeliverError>() {
            return c.exit();
        }
        cur = e.source();
    }
    if err.downcast_ref::<std::io::Error>().is_some() {
        Exit::TryLater
    } else {
        Exit::Usage
    }
}

impl Classify for crate::config::ConfigError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

impl Classify for crate::diag::Problems {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}
