//! The one normalized shape of a paper, whatever source it came from.
//!
//! Sources parse their own formats into [`Paper`]; everything downstream (grouping, ranking,
//! rendering, the frozen `papers.json` of an edition) sees only this type. Identity is a
//! [`PaperId`]: the arXiv id without its version when known, else a stable id derived from the
//! title, so the same paper from two sources merges into one record.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Why a string is not a paper id.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{0}` is not a paper id (an arXiv id like 2405.10000 or a title id like t-0123456789abcdef)"
)]
pub struct PaperIdError(pub String);

/// A paper's identity: an arXiv id without version (`2405.10000`, `cs/0112017`) or a title-derived
/// id (`t-` and 16 hex digits) for papers that arrived without one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PaperId(String);

impl PaperId {
    /// Parses an arXiv id, dropping a version suffix (`2405.10000v2` → `2405.10000`) and an
    /// `arXiv:` prefix, or accepts a title id produced by [`PaperId::from_title`].
    pub fn parse(raw: &str) -> Result<Self, PaperIdError> {
        let s = raw.trim();
        let s = s
            .strip_prefix("arXiv:")
            .or_else(|| s.strip_prefix("arxiv:"))
            .unwrap_or(s);
        if let Some(hex) = s.strip_prefix("t-")
            && hex.len() == 16
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Ok(Self(s.to_owned()));
        }
        let base = strip_version(s);
        if is_new_style_arxiv(base) || is_old_style_arxiv(base) {
            Ok(Self(base.to_owned()))
        } else {
            Err(PaperIdError(raw.to_owned()))
        }
    }

    /// A stable id for a paper known only by its title: case and whitespace do not change it.
    pub fn from_title(title: &str) -> Self {
        let normalized = title
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let hash = Sha256::digest(normalized.as_bytes());
        let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self(format!("t-{hex}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this id is a real arXiv id (and so has abs/pdf pages).
    pub fn is_arxiv(&self) -> bool {
        !self.0.starts_with("t-")
    }
}

fn strip_version(s: &str) -> &str {
    if let Some(pos) = s.rfind('v') {
        let (head, tail) = s.split_at(pos);
        if tail.len() > 1 && tail[1..].bytes().all(|b| b.is_ascii_digit()) && !head.is_empty() {
            return head;
        }
    }
    s
}

fn is_new_style_arxiv(s: &str) -> bool {
    // YYMM.NNNN (2007–2014) or YYMM.NNNNN (2015 on).
    let Some((yymm, num)) = s.split_once('.') else {
        return false;
    };
    yymm.len() == 4
        && yymm.bytes().all(|b| b.is_ascii_digit())
        && (4..=5).contains(&num.len())
        && num.bytes().all(|b| b.is_ascii_digit())
}

fn is_old_style_arxiv(s: &str) -> bool {
    // archive(.subject)/YYMMNNN, e.g. cs/0112017, math.GT/0309136
    let Some((archive, num)) = s.split_once('/') else {
        return false;
    };
    !archive.is_empty()
        && archive
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'.' || b == b'-')
        && num.len() == 7
        && num.bytes().all(|b| b.is_ascii_digit())
}

impl TryFrom<String> for PaperId {
    type Error = PaperIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PaperId> for String {
    fn from(id: PaperId) -> Self {
        id.0
    }
}

impl fmt::Display for PaperId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a string is not a link we will put in an email.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an http(s) URL")]
pub struct HttpUrlError(pub String);

/// A URL that is safe to turn into a link: absolute, `http` or `https`, nothing else
/// (`javascript:`, `data:` and relative links from a source are dropped at the boundary).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HttpUrl(String);

impl HttpUrl {
    pub fn parse(raw: &str) -> Result<Self, HttpUrlError> {
        let trimmed = raw.trim();
        match url::Url::parse(trimmed) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                Ok(Self(u.to_string()))
            }
            _ => Err(HttpUrlError(raw.to_owned())),
        }
    }

    /// Parses, dropping anything unsafe or malformed: for optional links from sources.
    pub fn parse_opt(raw: Option<&str>) -> Option<Self> {
        raw.filter(|s| !s.trim().is_empty())
            .and_then(|s| Self::parse(s).ok())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for HttpUrl {
    type Error = HttpUrlError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<HttpUrl> for String {
    fn from(u: HttpUrl) -> Self {
        u.0
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a paper can be read. Every field is optional; [`Paper::links`] fills the arXiv ones
/// from the id when the source did not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Links {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abs: Option<HttpUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf: Option<HttpUrl>,
    /// The Hugging Face paper page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hf: Option<HttpUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<HttpUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<HttpUrl>,
}

/// One paper, normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paper {
    pub id: PaperId,
    pub title: String,
    #[serde(rename = "abstract")]
    pub abstract_text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    #[serde(default)]
    pub links: Links,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upvotes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_stars: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<HttpUrl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_summary: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ai_keywords: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// arXiv's announce type: `new`, `cross`, `replace`, `replace-cross`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce_type: Option<String>,
}

impl Paper {
    /// A paper with only the required fields; sources fill in the rest.
    pub fn new(id: PaperId, title: impl Into<String>, abstract_text: impl Into<String>) -> Self {
        Self {
            id,
            title: title.into(),
            abstract_text: abstract_text.into(),
            authors: Vec::new(),
            links: Links::default(),
            upvotes: None,
            comments: None,
            github_stars: None,
            published_at: None,
            submitted_at: None,
            thumbnail: None,
            ai_summary: None,
            ai_keywords: Vec::new(),
            categories: Vec::new(),
            announce_type: None,
        }
    }

    /// The links to show: the source's, with arXiv abs/pdf derived from an arXiv id, and an
    /// arXiv title search for papers that have no page of their own.
    pub fn resolved_links(&self) -> Links {
        let mut links = self.links.clone();
        if self.id.is_arxiv() {
            let id = self.id.as_str();
            links
                .abs
                .get_or_insert_with(|| HttpUrl(format!("https://arxiv.org/abs/{id}")));
            links
                .pdf
                .get_or_insert_with(|| HttpUrl(format!("https://arxiv.org/pdf/{id}")));
        } else if links.abs.is_none() && links.hf.is_none() {
            links.abs = Some(arxiv_title_search(&self.title));
        }
        links
    }

    /// The page the title links to: HF page, else arXiv abstract, else a title search.
    pub fn primary_url(&self) -> HttpUrl {
        let links = self.resolved_links();
        links
            .hf
            .or(links.abs)
            .unwrap_or_else(|| arxiv_title_search(&self.title))
    }

    /// Merges another record of the same paper into this one, field by field: what this one
    /// lacks is taken from `other` (HF upvotes and AI summary, arXiv categories, …).
    pub fn merge_from(&mut self, other: Paper) {
        fn fill<T>(mine: &mut Option<T>, theirs: Option<T>) {
            if mine.is_none() {
                *mine = theirs;
            }
        }
        fn fill_vec<T>(mine: &mut Vec<T>, theirs: Vec<T>) {
            if mine.is_empty() {
                *mine = theirs;
            }
        }
        if self.abstract_text.len() < other.abstract_text.len() {
            self.abstract_text = other.abstract_text;
        }
        fill_vec(&mut self.authors, other.authors);
        fill(&mut self.links.abs, other.links.abs);
        fill(&mut self.links.pdf, other.links.pdf);
        fill(&mut self.links.hf, other.links.hf);
        fill(&mut self.links.code, other.links.code);
        fill(&mut self.links.project, other.links.project);
        fill(&mut self.upvotes, other.upvotes);
        fill(&mut self.comments, other.comments);
        fill(&mut self.github_stars, other.github_stars);
        fill(&mut self.published_at, other.published_at);
        fill(&mut self.submitted_at, other.submitted_at);
        fill(&mut self.thumbnail, other.thumbnail);
        fill(&mut self.ai_summary, other.ai_summary);
        fill_vec(&mut self.ai_keywords, other.ai_keywords);
        fill_vec(&mut self.categories, other.categories);
        fill(&mut self.announce_type, other.announce_type);
    }
}

/// `https://arxiv.org/search/?searchtype=title&query=…` for a paper known only by its title.
pub fn arxiv_title_search(title: &str) -> HttpUrl {
    let mut url = url::Url::parse("https://arxiv.org/search/").expect("constant URL");
    url.query_pairs_mut()
        .append_pair("searchtype", "title")
        .append_pair(
            "query",
            &title.split_whitespace().collect::<Vec<_>>().join(" "),
        );
    HttpUrl(url.to_string())
}

/// Merges papers from several sources by id, keeping the first occurrence's position and
/// filling its gaps from later records of the same paper.
pub fn merge_papers(lists: impl IntoIterator<Item = Vec<Paper>>) -> Vec<Paper> {
    let mut out: Vec<Paper> = Vec::new();
    let mut index: std::collections::HashMap<PaperId, usize> = std::collections::HashMap::new();
    for list in lists {
        for paper in list {
            match index.get(&paper.id) {
                Some(&i) => out[i].merge_from(paper),
                None => {
                    index.insert(paper.id.clone(), out.len());
                    out.push(paper);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arxiv_ids_lose_their_version() {
        assert_eq!(
            PaperId::parse("2405.10000v2").unwrap().as_str(),
            "2405.10000"
        );
        assert_eq!(
            PaperId::parse("arXiv:2611.01234").unwrap().as_str(),
            "2611.01234"
        );
        assert_eq!(
            PaperId::parse("cs/0112017v1").unwrap().as_str(),
            "cs/0112017"
        );
        assert!(PaperId::parse("hello").is_err());
        assert!(PaperId::parse("2405.1").is_err());
    }

    #[test]
    fn title_ids_are_stable_across_case_and_spacing() {
        let a = PaperId::from_title("Deep  Learning\nfor Cats");
        let b = PaperId::from_title("deep learning for cats");
        assert_eq!(a, b);
        assert!(!a.is_arxiv());
        assert_eq!(PaperId::parse(a.as_str()).unwrap(), a);
    }

    #[test]
    fn only_http_links_survive() {
        assert!(HttpUrl::parse("javascript:alert(1)").is_err());
        assert!(HttpUrl::parse("data:text/html,x").is_err());
        assert!(HttpUrl::parse("/relative").is_err());
        assert!(HttpUrl::parse("https://github.com/x/y").is_ok());
    }
}
