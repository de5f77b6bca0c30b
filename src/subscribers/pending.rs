//! Unsubscribe requests that could not be written into the list are never lost.
//!
//! A one-click unsubscribe must work even while the list is broken by a hand edit or its lock
//! is held too long: mail providers do not retry the POST. Such a request goes to a sidecar,
//! `<list>.unsubscribes`, one JSON line each (appended under the sidecar's own OS lock). Every
//! load honours the sidecar, so no mail goes to those addresses, and the next successful edit of
//! the list folds the requests into it and empties the sidecar.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SubscriberEmail;

#[derive(Debug, Serialize, Deserialize)]
struct Line {
    email: String,
    at: chrono::DateTime<chrono::Utc>,
}

/// `subscribers.toml.unsubscribes` beside the list.
pub fn sidecar(list: &Path) -> PathBuf {
    let mut name = list.file_name().unwrap_or_default().to_os_string();
    name.push(".unsubscribes");
    list.with_file_name(name)
}

fn open_locked(list: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(sidecar(list))?;
    file.lock()?;
    Ok(file)
}

/// Records a request that could not go into the list itself.
pub fn record(
    list: &Path,
    email: &SubscriberEmail,
    at: chrono::DateTime<chrono::Utc>,
) -> std::io::Result<()> {
    let mut file = open_locked(list)?;
    let mut line = serde_json::to_vec(&Line {
        email: email.key(),
        at,
    })
    .map_err(std::io::Error::other)?;
    line.push(b'\n');
    file.write_all(&line)?;
    file.sync_all()
}

/// The pending requests by lowercased address (the first time wins); none when there is no
/// sidecar. Unreadable lines are skipped.
pub fn read(list: &Path) -> HashMap<String, chrono::DateTime<chrono::Utc>> {
    let mut text = String::new();
    match File::open(sidecar(list)) {
        Ok(mut f) => {
            if f.read_to_string(&mut text).is_err() {
                return HashMap::new();
            }
        }
        Err(_) => return HashMap::new(),
    }
    parse(&text)
}

fn parse(text: &str) -> HashMap<String, chrono::DateTime<chrono::Utc>> {
    let mut out = HashMap::new();
    for line in text.lines() {
        if let Ok(l) = serde_json::from_str::<Line>(line) {
            out.entry(l.email).or_insert(l.at);
        }
    }
    out
}

/// Holds the sidecar's lock while an edit folds the pending requests into the list.
pub struct Folding {
    file: Option<File>,
    pub requests: HashMap<String, chrono::DateTime<chrono::Utc>>,
}

impl Folding {
    /// Takes the sidecar's lock (when there is a sidecar) and reads it.
    pub fn begin(list: &Path) -> std::io::Result<Self> {
        if !sidecar(list).exists() {
            return Ok(Self {
                file: None,
                requests: HashMap::new(),
            });
        }
        let mut file = open_locked(list)?;
        let mut text = String::new();
        file.seek(SeekFrom::Start(0))?;
        file.read_to_string(&mut text)?;
        Ok(Self {
            requests: parse(&text),
            file: Some(file),
        })
    }

    /// The list now holds every request: empty the sidecar.
    pub fn done(self) -> std::io::Result<()> {
        match self.file {
            Some(file) => {
                file.set_len(0)?;
                file.sync_all()
            }
            None => Ok(()),
        }
    }
}
