//! Exit codes, the same for every command, and the one rule that maps any error to one.
//!
//! `0` done (all delivered, or nothing to do) · `1` some recipients failed permanently ·
//! `2` usage, config or input error (nothing sent) · `75` temporary failure, run again later.
//!
//! The rule walks an error's whole chain of causes: the first [`std::io::Error`] decides by its
//! kind (a missing file or a denied permission needs a person; a full disk or a dropped
//! connection may pass), a [`Temporary`] marker means "run again later", and an error with
//! neither is a usage, config or input error. Library errors therefore never name an exit code:
//! a variant whose cause goes away by itself carries [`Temporary`] as its source. The binary
//! applies the rule once, at the edge; the scheduler asks it whether to retry.
//!
//! This module names no other module's types, so that every module may use [`Temporary`].

use std::io::ErrorKind;

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

    /// The exit code for an error, from its whole chain of causes (see the module docs).
    pub fn of(err: &(dyn std::error::Error + 'static)) -> Self {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = cause {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                return Self::of_io(io.kind());
            }
            if e.is::<Temporary>() {
                return Self::TryLater;
            }
            cause = e.source();
        }
        Self::Usage
    }

    /// The one rule for I/O errors: what a person must fix is a usage error; what may pass by
    /// itself (a full disk, a timeout, a dropped connection, anything unknown) is temporary.
    pub fn of_io(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::NotFound
            | ErrorKind::PermissionDenied
            | ErrorKind::AlreadyExists
            | ErrorKind::NotADirectory
            | ErrorKind::IsADirectory
            | ErrorKind::DirectoryNotEmpty
            | ErrorKind::ReadOnlyFilesystem
            | ErrorKind::InvalidInput
            | ErrorKind::InvalidData
            | ErrorKind::InvalidFilename
            | ErrorKind::FileTooLarge
            | ErrorKind::TooManyLinks
            | ErrorKind::CrossesDevices
            | ErrorKind::NotSeekable
            | ErrorKind::AddrNotAvailable
            | ErrorKind::Unsupported => Self::Usage,
            _ => Self::TryLater,
        }
    }
}

/// An error and its causes on one line, `outer: inner: root` (as anyhow's `{:#}` prints them;
/// library errors never repeat their source's text, so each part appears once).
pub fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

/// The source of an error variant whose cause goes away by itself: another process holds a
/// lock, a server does not answer. [`Exit::of`] maps it to 75; it prints as the advice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, thiserror::Error)]
#[error("try again later")]
pub struct Temporary;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Box<dyn std::error::Error + Send + Sync>);

    #[test]
    fn the_first_io_error_or_marker_in_the_chain_decides() {
        let full = std::io::Error::from(ErrorKind::StorageFull);
        assert_eq!(Exit::of(&Outer(Box::new(full))), Exit::TryLater);
        let missing = std::io::Error::from(ErrorKind::NotFound);
        assert_eq!(Exit::of(&Outer(Box::new(missing))), Exit::Usage);
        assert_eq!(Exit::of(&Outer(Box::new(Temporary))), Exit::TryLater);
        assert_eq!(Exit::of(&Outer(Box::new(std::fmt::Error))), Exit::Usage);
        let wrapped = anyhow::Error::from(std::io::Error::from(ErrorKind::StorageFull))
            .context("cannot write /dev/full");
        assert_eq!(Exit::of(wrapped.as_ref()), Exit::TryLater);
    }
}
