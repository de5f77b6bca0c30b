//! Author names as readers write them and as papers list them, matched ignoring case, accents
//! and initials: "T. Dao", "Tri Dao", "tri dao" and "Dao, Tri" are one person; "Łukasz" and
//! "Lukasz" too (accents and letters like `ł` are transliterated to ASCII).

use std::fmt;

/// Why a followed author cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("author `{0}` has no letters")]
pub struct AuthorError(pub String);

/// A person's name, normalized for matching; displays as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    written: String,
    /// The family name, transliterated and lowercased, its parts joined ("le cun" → "lecun").
    family: String,
    /// The given names, transliterated and lowercased ("j", "tri").
    given: Vec<String>,
}

impl Author {
    /// Parses "Tri Dao", "T. Dao" or "Dao, Tri".
    pub fn parse(raw: &str) -> Result<Self, AuthorError> {
        let written = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let (family, given) = match written.split_once(',') {
            Some((family, given)) => (tokens(family), tokens(given)),
            None => {
                let mut all = tokens(&written);
                let family = all.pop().into_iter().collect();
                (family, all)
            }
        };
        if family.is_empty() {
            return Err(AuthorError(raw.to_owned()));
        }
        Ok(Self {
            written,
            family: family.concat(),
            given,
        })
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.written
    }

    /// The normalized family name (the key papers are indexed by).
    pub(crate) fn family(&self) -> &str {
        &self.family
    }

    /// Whether two names can be the same person: the same family name, and first given names
    /// that agree (an initial agrees with any name it starts; a missing one agrees with all).
    pub fn matches(&self, other: &Author) -> bool {
        if self.family != other.family {
            return false;
        }
        match (self.given.first(), other.given.first()) {
            (Some(a), Some(b)) if a.len() == 1 || b.len() == 1 => a[..1] == b[..1],
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }
}

impl fmt::Display for Author {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

impl serde::Serialize for Author {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.written)
    }
}

/// Lowercase ASCII runs of letters and digits, after transliteration.
fn tokens(s: &str) -> Vec<String> {
    deunicode::deunicode(s)
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) -> bool {
        Author::parse(a)
            .unwrap()
            .matches(&Author::parse(b).unwrap())
    }

    #[test]
    fn case_accents_initials_and_order_do_not_matter() {
        assert!(same("T. Dao", "Tri Dao"));
        assert!(same("tri dao", "Tri Dao"));
        assert!(same("Dao, Tri", "T Dao"));
        assert!(same("Łukasz Kaiser", "Lukasz Kaiser"));
        assert!(same("José García", "J. Garcia"));
        assert!(same("J.-B. Alayrac", "Jean-Baptiste Alayrac"));
        assert!(same("Dao", "Tri Dao"));
        assert!(same("Yann LeCun", "Y. LeCun"));
    }

    #[test]
    fn other_people_do_not_match() {
        assert!(!same("T. Dao", "Quang Dao Nguyen"));
        assert!(!same("Tri Dao", "Tom Dao"));
        assert!(!same("S. Dao", "Tri Dao"));
        assert!(!same("Tri Dao", "Tri Daos"));
        assert!(Author::parse(" . ").is_err());
    }
}
