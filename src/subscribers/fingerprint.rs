//! Remembering the list as paperwire last checked it, so that the next edit need not check it
//! all again.
//!
//! An edit must refuse a list it cannot read, and point at the problem; reading all of a list
//! of a million people as TOML takes about a second of CPU. Yet most edits follow another
//! paperwire edit (a fold of one-click unsubscribes, a command-line edit), and the list is then
//! byte for byte what that edit wrote — and checked. So every edit leaves a *fingerprint* of
//! the list it checked or wrote (its length and a 128-bit XXH3 hash of its bytes) in the list's
//! lock file, `subscribers.toml.lock`, which only the holder of its lock reads or writes. The
//! next edit hashes the bytes it reads (a few hundredths of a second): when they match, it skips
//! the check and finds the entries it is about with a byte search ([`super::locate`]); when they
//! do not — a hand edit, an editor that saved in place, another file put in its place, even one
//! of the same size and age — it reads and checks the whole list as before.
//!
//! The fingerprint speaks of bytes, not of a file's name, inode or times, so it cannot be
//! fooled by a write that keeps those, and it needs no fsync: a lost or torn one only costs the
//! next edit a full check. It is written only for a list that the check found fit for the byte
//! search (see [`super::locate`]), and its version changes whenever what an edit checks does.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{Xxh3Default, xxh3_128};

/// Bumped whenever what an edit checks, or what the byte search relies on, changes: a
/// fingerprint of another version counts for nothing.
const VERSION: u32 = 1;

/// The most a lock file holding a fingerprint is read of.
const MAX_LINE: u64 = 1024;

/// A list's bytes as paperwire checked them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fingerprint {
    len: u64,
    hash: u128,
}

/// The lock file's content.
#[derive(Serialize, Deserialize)]
struct Line {
    checked: Stored,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    len: u64,
    xxh3_128: String,
}

impl Fingerprint {
    pub(super) fn of(bytes: &[u8]) -> Self {
        Self {
            len: bytes.len() as u64,
            hash: xxh3_128(bytes),
        }
    }

    /// Whether `bytes` are the ones fingerprinted (the length is compared before any hashing).
    pub(super) fn matches(&self, bytes: &[u8]) -> bool {
        self.len == bytes.len() as u64 && *self == Self::of(bytes)
    }

    /// The fingerprint kept in the lock file, if it holds one of this version.
    pub(super) fn read(mut lock: &File) -> Option<Self> {
        lock.seek(SeekFrom::Start(0)).ok()?;
        let mut text = String::new();
        lock.take(MAX_LINE).read_to_string(&mut text).ok()?;
        let line: Line = serde_json::from_str(text.trim_end()).ok()?;
        let stored = line.checked;
        (stored.version == VERSION).then_some(())?;
        Some(Self {
            len: stored.len,
            hash: u128::from_str_radix(&stored.xxh3_128, 16).ok()?,
        })
    }

    /// Keeps the fingerprint in the lock file (whose lock the caller holds), in place of any
    /// other. Not synced: losing it only costs a full check.
    pub(super) fn write(&self, mut lock: &File) -> std::io::Result<()> {
        let line = Line {
            checked: Stored {
                version: VERSION,
                len: self.len,
                xxh3_128: format!("{:032x}", self.hash),
            },
        };
        let mut bytes = serde_json::to_vec(&line).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        lock.seek(SeekFrom::Start(0))?;
        lock.write_all(&bytes)?;
        lock.set_len(bytes.len() as u64)
    }
}

/// A writer that fingerprints the bytes that pass through it.
pub(super) struct Fingerprinting<W> {
    inner: W,
    hasher: Box<Xxh3Default>,
    len: u64,
}

impl<W: Write> Fingerprinting<W> {
    pub(super) fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Box::default(),
            len: 0,
        }
    }

    /// The writer, and the fingerprint of what was written through it.
    pub(super) fn finish(self) -> (W, Fingerprint) {
        let fingerprint = Fingerprint {
            len: self.len,
            hash: self.hasher.digest128(),
        };
        (self.inner, fingerprint)
    }
}

impl<W: Write> Write for Fingerprinting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_kept_in_the_lock_file_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscribers.toml.lock");
        let lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .unwrap();
        assert_eq!(Fingerprint::read(&lock), None, "an empty lock file");
        let long = Fingerprint::of(&[b'x'; 5000]);
        long.write(&lock).unwrap();
        let short = Fingerprint::of(b"[[subscriber]]\n");
        short.write(&lock).unwrap();
        assert_eq!(Fingerprint::read(&lock), Some(short));
        assert!(short.matches(b"[[subscriber]]\n"));
        assert!(
            !short.matches(b"[[subscriber]]\r"),
            "same length, other bytes"
        );
        assert!(!short.matches(b"[[subscriber]]\n\n"));

        std::fs::write(&path, "{\"checked\":{\"version\":1,\"len\":3,\"xxh3_1").unwrap();
        assert_eq!(Fingerprint::read(&lock), None, "a torn line");
        std::fs::write(
            &path,
            "{\"checked\":{\"version\":0,\"len\":15,\"xxh3_128\":\"0\"}}\n",
        )
        .unwrap();
        assert_eq!(Fingerprint::read(&lock), None, "another version");
    }

    #[test]
    fn what_is_written_through_is_fingerprinted_as_a_whole() {
        let mut out = Fingerprinting::new(Vec::new());
        out.write_all(b"[[subscriber]]\n").unwrap();
        out.write_all(b"email = \"a@b.org\"\n").unwrap();
        let (bytes, fingerprint) = out.finish();
        assert_eq!(fingerprint, Fingerprint::of(&bytes));
    }
}
