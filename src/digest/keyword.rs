//! Keyword rules: how a section's `keywords` and `exclude` entries match a paper's text.
//!
//! Text is split into words (runs of letters and digits) and lowercased once per paper;
//! a keyword is a sequence of words, matched as whole words. Between the words of a phrase the
//! text may have any whitespace or hyphens, nothing else ("client drift" hits "client-drift"
//! but not "client. Drift"). A trailing `*` turns the last word into a prefix.

use std::fmt;

/// Why a keyword entry cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeywordError {
    #[error("keyword `{0}` has no letters or digits")]
    Empty(String),
    #[error("keyword `{0}`: `*` may only end the keyword")]
    InnerStar(String),
}

/// A compiled keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyword {
    source: String,
    words: Vec<String>,
    prefix: bool,
}

impl Keyword {
    pub fn parse(raw: &str) -> Result<Self, KeywordError> {
        let trimmed = raw.trim();
        let (body, prefix) = match trimmed.strip_suffix('*') {
            Some(b) => (b, true),
            None => (trimmed, false),
        };
        if body.contains('*') {
            return Err(KeywordError::InnerStar(raw.to_owned()));
        }
        let words: Vec<String> = split_words(body).map(|(w, _)| w.to_lowercase()).collect();
        if words.is_empty() {
            return Err(KeywordError::Empty(raw.to_owned()));
        }
        Ok(Self {
            source: trimmed.to_owned(),
            words,
            prefix,
        })
    }

    /// The keyword as written in the config.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// How many times this keyword occurs in `text`.
    pub fn count_in(&self, text: &Words) -> usize {
        let n = self.words.len();
        if text.words.len() < n {
            return 0;
        }
        (0..=text.words.len() - n)
            .filter(|&start| self.matches_at(text, start))
            .count()
    }

    /// The keyword's lowercase words.
    pub(crate) fn words(&self) -> &[String] {
        &self.words
    }

    /// Whether the last word is a prefix (`prun*`).
    pub(crate) fn is_prefix(&self) -> bool {
        self.prefix
    }

    /// Whether the keyword occurs in `text` starting at word `start`.
    pub(crate) fn matches_at(&self, text: &Words, start: usize) -> bool {
        if start + self.words.len() > text.words.len() {
            return false;
        }
        let last = self.words.len() - 1;
        self.words.iter().enumerate().all(|(i, kw)| {
            let word = &text.words[start + i];
            if i > 0 && !word.joined {
                return false;
            }
            if i == last && self.prefix {
                word.text.starts_with(kw.as_str())
            } else {
                word.text == *kw
            }
        })
    }
}

impl serde::Serialize for Keyword {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[derive(Debug, Clone)]
struct Word {
    text: String,
    /// Only whitespace and hyphens stand between this word and the one before.
    joined: bool,
}

/// A text split into lowercase words, ready for matching many keywords.
#[derive(Debug, Clone)]
pub struct Words {
    words: Vec<Word>,
}

impl Words {
    /// The lowercase words, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        self.words.iter().map(|w| w.text.as_str())
    }

    pub fn new(text: &str) -> Self {
        Self {
            words: split_words(text)
                .map(|(w, joined)| Word {
                    text: w.to_lowercase(),
                    joined,
                })
                .collect(),
        }
    }
}

fn is_joiner(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '‐' | '‑' | '–')
}

/// Words of `text` with, for each, whether only joiners separate it from the previous word.
fn split_words(text: &str) -> impl Iterator<Item = (&str, bool)> {
    let mut rest = text;
    let mut first = true;
    std::iter::from_fn(move || {
        let start = rest.find(char::is_alphanumeric)?;
        let gap = &rest[..start];
        let joined = !first && gap.chars().all(is_joiner);
        first = false;
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(tail.len());
        let word = &tail[..end];
        rest = &tail[end..];
        Some((word, joined))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(kw: &str, text: &str) -> usize {
        Keyword::parse(kw).unwrap().count_in(&Words::new(text))
    }

    #[test]
    fn whole_words_only() {
        assert_eq!(hits("GAN", "an organ of GANs"), 0);
        assert_eq!(hits("GAN", "a GAN, and a gan."), 2);
        assert_eq!(hits("ViT", "ViTamin beats ViT"), 1);
    }

    #[test]
    fn phrases_cross_spaces_and_hyphens_only() {
        assert_eq!(hits("client drift", "client-drift and client\n  drift"), 2);
        assert_eq!(hits("client drift", "the client. Drift"), 0);
        assert_eq!(hits("cross-entropy", "cross entropy"), 1);
    }

    #[test]
    fn trailing_star_is_a_prefix() {
        assert_eq!(hits("prun*", "Pruning pruned prune"), 3);
        assert_eq!(hits("prun*", "unpruned"), 0);
        assert_eq!(hits("vision transformer*", "Vision Transformers"), 1);
    }

    #[test]
    fn bad_keywords() {
        assert!(Keyword::parse("  ").is_err());
        assert!(Keyword::parse("*").is_err());
        assert!(Keyword::parse("a*b").is_err());
    }
}
