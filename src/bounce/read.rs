//! Messages from where bounces land: a Maildir (`new/` and `cur/`), an mbox, `.eml` files (one
//! message each, or a directory of them), or standard input (one message, or an mbox — an MTA
//! pipe may start it with a `From ` line).
//!
//! One message is in memory at a time, and at most [`Limits::max_message_bytes`] of it: a
//! larger one is read through (so a pipe is drained) and reported as too big instead. An mbox
//! is split on `From ` lines at the start or after a blank line; `>From ` lines are unquoted
//! (mboxrd). Each message carries its origin for reports: a path, or `path:line` in an mbox.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// How much of a message is read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_message_bytes: usize,
}

impl Default for Limits {
    /// 10 MiB: a DSN quotes at most the original message, and paperwire's are far smaller.
    fn default() -> Self {
        Self {
            max_message_bytes: 10 * 1024 * 1024,
        }
    }
}

/// One message, or why it could not be had.
#[derive(Debug)]
pub enum Item {
    Message {
        origin: String,
        bytes: Vec<u8>,
    },
    TooBig {
        origin: String,
        size: u64,
        limit: u64,
    },
    Unreadable {
        origin: String,
        error: std::io::Error,
    },
}

impl Item {
    pub fn origin(&self) -> &str {
        match self {
            Item::Message { origin, .. }
            | Item::TooBig { origin, .. }
            | Item::Unreadable { origin, .. } => origin,
        }
    }
}

/// Why an input could not be opened at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where to read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Path(PathBuf),
    Stdin,
}

impl Input {
    /// `-` is standard input.
    pub fn from_arg(arg: &Path) -> Self {
        if arg == Path::new("-") {
            Self::Stdin
        } else {
            Self::Path(arg.to_owned())
        }
    }
}

/// The messages of one input, one at a time.
pub fn messages(
    input: &Input,
    limits: Limits,
) -> Result<Box<dyn Iterator<Item = Item>>, ReadError> {
    match input {
        Input::Stdin => Ok(stream(
            "<stdin>".to_owned(),
            BufReader::new(std::io::stdin()),
            limits,
        )),
        Input::Path(path) => {
            let open = |source| ReadError::Open {
                path: path.clone(),
                source,
            };
            let meta = std::fs::metadata(path).map_err(open)?;
            if meta.is_dir() {
                let files = if path.join("cur").is_dir() || path.join("new").is_dir() {
                    let mut files = list_files(&path.join("new"))?;
                    files.extend(list_files(&path.join("cur"))?);
                    files
                } else {
                    list_files(path)?
                };
                Ok(Box::new(
                    files.into_iter().flat_map(move |f| one_file(f, limits)),
                ))
            } else {
                let file = File::open(path).map_err(open)?;
                Ok(stream(
                    path.display().to_string(),
                    BufReader::new(file),
                    limits,
                ))
            }
        }
    }
}

/// The regular files directly in `dir`, by name (a missing directory is empty; dot files,
/// like editors' and Maildir's own, are left out). Each is opened once here, so that one that
/// cannot be read (a dangling link, a denied permission) stops the import before anything is
/// read, as an input that cannot be opened does. A file gone since the listing was moved or
/// removed by the mail system meanwhile (a Maildir reader moves `new/` to `cur/`): it is left
/// out, and read where it went by the next import.
fn list_files(dir: &Path) -> Result<Vec<PathBuf>, ReadError> {
    let open = |path: &Path| {
        let path = path.to_owned();
        move |source| ReadError::Open { path, source }
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(open(dir)(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(open(dir))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = match entry.file_type() {
            Ok(kind) => kind,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(open(&path)(e)),
        };
        if kind.is_dir() || !(kind.is_file() || kind.is_symlink()) {
            continue;
        }
        match File::open(&path) {
            // A link to a directory is not a message.
            Ok(file) if file.metadata().is_ok_and(|m| m.is_dir()) => continue,
            Ok(_) => files.push(path),
            // The entry itself is gone: moved or removed since the listing.
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && std::fs::symlink_metadata(&path).is_err() => {}
            Err(e) => return Err(open(&path)(e)),
        }
    }
    files.sort();
    Ok(files)
}

/// A file of a directory: usually one message, an mbox if it starts like one.
fn one_file(path: PathBuf, limits: Limits) -> Box<dyn Iterator<Item = Item>> {
    let origin = path.display().to_string();
    match File::open(&path) {
        Ok(file) => stream(origin, BufReader::new(file), limits),
        Err(error) => Box::new(std::iter::once(Item::Unreadable { origin, error })),
    }
}

/// One message, or an mbox when the input starts with `From `.
fn stream<R: BufRead + 'static>(
    origin: String,
    mut reader: R,
    limits: Limits,
) -> Box<dyn Iterator<Item = Item>> {
    match reader.fill_buf() {
        Ok(buf) if buf.starts_with(b"From ") => Box::new(Mbox::new(origin, reader, limits)),
        Ok(_) => Box::new(std::iter::once(whole(origin, reader, limits))),
        Err(error) => Box::new(std::iter::once(Item::Unreadable { origin, error })),
    }
}

/// Reads a whole single-message input, up to the limit, draining the rest.
fn whole(origin: String, reader: impl Read, limits: Limits) -> Item {
    let mut bytes = Vec::new();
    let mut reader = reader;
    let cap = limits.max_message_bytes as u64;
    match (&mut reader).take(cap + 1).read_to_end(&mut bytes) {
        Ok(n) if n as u64 <= cap => Item::Message { origin, bytes },
        Ok(n) => {
            drop(bytes);
            match std::io::copy(&mut reader, &mut std::io::sink()) {
                Ok(rest) => Item::TooBig {
                    origin,
                    size: n as u64 + rest,
                    limit: cap,
                },
                Err(error) => Item::Unreadable { origin, error },
            }
        }
        Err(error) => Item::Unreadable { origin, error },
    }
}

/// Splits an mbox into messages, streaming.
struct Mbox<R> {
    origin: String,
    reader: R,
    limits: Limits,
    line_no: u64,
    /// The line the current message's `From ` line was on.
    start_line: u64,
    current: Vec<u8>,
    size: u64,
    prev_blank: bool,
    done: bool,
}

impl<R: BufRead> Mbox<R> {
    fn new(origin: String, reader: R, limits: Limits) -> Self {
        Self {
            origin,
            reader,
            limits,
            line_no: 0,
            start_line: 0,
            current: Vec::new(),
            size: 0,
            prev_blank: true,
            done: false,
        }
    }

    /// The finished message that started on `start_line`, if there was one.
    fn take(&mut self) -> Option<Item> {
        if self.start_line == 0 {
            return None;
        }
        let origin = format!("{}:{}", self.origin, self.start_line);
        let bytes = std::mem::take(&mut self.current);
        let size = std::mem::take(&mut self.size);
        let limit = self.limits.max_message_bytes as u64;
        Some(if size > limit {
            Item::TooBig {
                origin,
                size,
                limit,
            }
        } else {
            Item::Message { origin, bytes }
        })
    }

    /// Reads one line (keeping at most what the message may still hold); returns its first
    /// bytes (up to 6, to recognize separators and quoting), its length and whether it is
    /// blank. `None` at the end.
    fn line(&mut self, keep: &mut Vec<u8>) -> std::io::Result<Option<(usize, bool)>> {
        let mut len = 0usize;
        let mut blank = true;
        let room = self.limits.max_message_bytes;
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok((len > 0).then_some((len, blank)));
            }
            let (chunk, end) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..=i], true),
                None => (buf, false),
            };
            blank &= chunk.iter().all(|&b| matches!(b, b'\r' | b'\n'));
            let free = room
                .saturating_sub(keep.len())
                .max(if keep.len() < 6 { 6 } else { 0 });
            keep.extend_from_slice(&chunk[..chunk.len().min(free)]);
            len += chunk.len();
            let n = chunk.len();
            self.reader.consume(n);
            if end {
                return Ok(Some((len, blank)));
            }
        }
    }
}

impl<R: BufRead> Iterator for Mbox<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        let mut line = Vec::new();
        while !self.done {
            line.clear();
            let (len, blank) = match self.line(&mut line) {
                Ok(Some(l)) => l,
                Ok(None) => {
                    self.done = true;
                    break;
                }
                Err(error) => {
                    self.done = true;
                    return Some(Item::Unreadable {
                        origin: format!("{}:{}", self.origin, self.line_no + 1),
                        error,
                    });
                }
            };
            self.line_no += 1;
            let separator = line.starts_with(b"From ") && self.prev_blank;
            self.prev_blank = blank;
            if separator {
                let finished = self.take();
                self.start_line = self.line_no;
                if finished.is_some() {
                    return finished;
                }
                continue;
            }
            self.size += len as u64;
            let quoted = line.starts_with(b">") && {
                let rest = line.iter().position(|&b| b != b'>').map(|i| &line[i..]);
                rest.is_some_and(|r| r.starts_with(b"From "))
            };
            let body = if quoted { &line[1..] } else { &line[..] };
            if self.size <= self.limits.max_message_bytes as u64 {
                self.current.extend_from_slice(body);
            } else if !self.current.is_empty() {
                self.current = Vec::new();
            }
        }
        self.take().inspect(|_| self.start_line = 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(bytes: &[u8], limit: usize) -> Vec<(String, Result<String, u64>)> {
        let limits = Limits {
            max_message_bytes: limit,
        };
        stream("box".into(), std::io::Cursor::new(bytes.to_vec()), limits)
            .map(|item| match item {
                Item::Message { origin, bytes } => (origin, Ok(String::from_utf8(bytes).unwrap())),
                Item::TooBig { origin, size, .. } => (origin, Err(size)),
                Item::Unreadable { origin, error } => panic!("{origin}: {error}"),
            })
            .collect()
    }

    #[test]
    fn an_mbox_splits_on_from_lines_and_unquotes() {
        let mbox = b"From MAILER-DAEMON Mon Nov 30 08:12:14 2026\nSubject: one\n\nbody\n>From here\n>>From there\nFrom inside a paragraph stays\n\nFrom MAILER-DAEMON Mon Nov 30 08:12:15 2026\r\nSubject: two\r\n\r\nx\r\n";
        let got = collect(mbox, 1 << 20);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "box:1");
        assert_eq!(
            got[0].1.as_deref().unwrap(),
            "Subject: one\n\nbody\nFrom here\n>From there\nFrom inside a paragraph stays\n\n"
        );
        assert_eq!(got[1].0, "box:9");
        assert_eq!(got[1].1.as_deref().unwrap(), "Subject: two\r\n\r\nx\r\n");
    }

    #[test]
    fn a_single_message_is_read_whole() {
        let got = collect(b"Subject: one\n\nFrom me\n", 1 << 20);
        assert_eq!(
            got,
            [("box".to_owned(), Ok("Subject: one\n\nFrom me\n".to_owned()))]
        );
    }

    #[test]
    fn messages_over_the_limit_are_reported_not_kept() {
        let big = "x".repeat(5000);
        let got = collect(format!("Subject: big\n\n{big}\n").as_bytes(), 1000);
        assert_eq!(got, [("box".to_owned(), Err(5000 + 15))]);
        // In an mbox, the big one (even as one endless line) is skipped and the next read.
        let mbox = format!("From a\nSubject: big\n\n{big}\n\nFrom b\nSubject: small\n\nok\n");
        let got = collect(mbox.as_bytes(), 1000);
        assert_eq!(got[0], ("box:1".to_owned(), Err(5000 + 16)));
        assert_eq!(
            got[1],
            ("box:6".to_owned(), Ok("Subject: small\n\nok\n".to_owned()))
        );
        let endless = format!("From a\n{big}{big}");
        assert_eq!(
            collect(endless.as_bytes(), 1000),
            [("box:1".to_owned(), Err(10_000))]
        );
    }

    #[test]
    fn a_maildir_reads_new_then_cur_and_a_directory_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("Maildir");
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(md.join(sub)).unwrap();
        }
        std::fs::write(md.join("new/2.host"), "Subject: new\n\n").unwrap();
        std::fs::write(md.join("cur/1.host:2,S"), "Subject: cur\n\n").unwrap();
        std::fs::write(md.join("tmp/0.host"), "Subject: half-written\n").unwrap();
        let origins: Vec<String> = messages(&Input::Path(md.clone()), Limits::default())
            .unwrap()
            .map(|i| i.origin().rsplit('/').next().unwrap().to_owned())
            .collect();
        assert_eq!(origins, ["2.host", "1.host:2,S"]);
        let origins: Vec<String> = messages(&Input::Path(md.join("new")), Limits::default())
            .unwrap()
            .map(|i| i.origin().rsplit('/').next().unwrap().to_owned())
            .collect();
        assert_eq!(origins, ["2.host"]);
        assert!(matches!(
            messages(&Input::Path(dir.path().join("missing")), Limits::default()),
            Err(ReadError::Open { .. })
        ));
        assert_eq!(Input::from_arg(Path::new("-")), Input::Stdin);
    }

    #[test]
    fn a_file_in_a_maildir_that_cannot_be_read_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let md = dir.path().join("Maildir");
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(md.join(sub)).unwrap();
        }
        std::fs::write(md.join("cur/1.host:2,S"), "Subject: cur\n\n").unwrap();
        std::os::unix::fs::symlink(md.join("cur/1.host:2,S"), md.join("new/linked")).unwrap();
        std::os::unix::fs::symlink(md.join("cur"), md.join("new/a-directory")).unwrap();
        let origins: Vec<String> = messages(&Input::Path(md.clone()), Limits::default())
            .unwrap()
            .map(|i| i.origin().rsplit('/').next().unwrap().to_owned())
            .collect();
        assert_eq!(
            origins,
            ["linked", "1.host:2,S"],
            "a link to a message is read"
        );
        std::os::unix::fs::symlink("/nonexistent", md.join("new/x.eml")).unwrap();
        let Err(ReadError::Open { path, source }) =
            messages(&Input::Path(md.clone()), Limits::default())
        else {
            panic!("a dangling link is an error");
        };
        assert_eq!(path, md.join("new/x.eml"));
        assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    }
}
