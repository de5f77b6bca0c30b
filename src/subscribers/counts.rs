//! The two numbers a reader sets — `max_papers` (the most papers in their email) and `for_you`
//! (the size of their "For you" block) — each with one range, checked by the same code at every
//! door: the list's loader (and so `check`), `subscribers add`, CSV `import` and the preference
//! page, whose inputs take their `min`/`max` from here. A value one door accepts is one every
//! other door shows and saves again.

use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;

/// `max_papers`: from 1 to [`MaxPapers::MAX`]; no cap of their own is written as no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MaxPapers(NonZeroUsize);

impl MaxPapers {
    /// The smallest cap.
    pub const MIN: usize = 1;
    /// The largest cap.
    pub const MAX: usize = 1000;

    /// `n`, when it is in range; else what is wrong, naming the field.
    pub fn new(n: i64) -> Result<Self, String> {
        usize::try_from(n)
            .ok()
            .filter(|n| (Self::MIN..=Self::MAX).contains(n))
            .and_then(NonZeroUsize::new)
            .map(Self)
            .ok_or_else(|| out_of_range("max_papers", Self::MIN, Self::MAX, &n.to_string()))
    }

    pub fn get(self) -> usize {
        self.0.get()
    }
}

impl FromStr for MaxPapers {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        whole(raw, "max_papers", Self::MIN, Self::MAX).and_then(Self::new)
    }
}

impl fmt::Display for MaxPapers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `for_you`: from 0 (no block) to [`ForYou::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ForYou(usize);

impl ForYou {
    /// No block.
    pub const MIN: usize = 0;
    /// The largest block.
    pub const MAX: usize = 50;

    /// `n`, when it is in range; else what is wrong, naming the field.
    pub fn new(n: i64) -> Result<Self, String> {
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= Self::MAX)
            .map(Self)
            .ok_or_else(|| out_of_range("for_you", Self::MIN, Self::MAX, &n.to_string()))
    }

    pub fn get(self) -> usize {
        self.0
    }
}

impl FromStr for ForYou {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        whole(raw, "for_you", Self::MIN, Self::MAX).and_then(Self::new)
    }
}

impl fmt::Display for ForYou {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `raw` as a whole number (a huge one saturates, to be refused by its range).
fn whole(raw: &str, key: &str, min: usize, max: usize) -> Result<i64, String> {
    let t = raw.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(out_of_range(key, min, max, raw));
    }
    Ok(t.parse::<i64>().unwrap_or(if t.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    }))
}

fn out_of_range(key: &str, min: usize, max: usize, found: &str) -> String {
    format!("`{key}` must be a whole number from {min} to {max}, found `{found}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_count_has_one_range() {
        assert_eq!("1".parse::<MaxPapers>().unwrap().get(), 1);
        assert_eq!(" 1000 ".parse::<MaxPapers>().unwrap().get(), 1000);
        assert_eq!("0".parse::<ForYou>().unwrap().get(), 0);
        assert_eq!("50".parse::<ForYou>().unwrap().get(), 50);
        for bad in [
            "0",
            "1001",
            "5000",
            "-1",
            "ten",
            "",
            "99999999999999999999999",
        ] {
            let e = bad.parse::<MaxPapers>().unwrap_err();
            assert!(
                e.starts_with("`max_papers` must be a whole number from 1 to 1000, found `"),
                "{e}"
            );
        }
        for bad in ["51", "1000", "-1", "1.5", "+", "-99999999999999999999999"] {
            let e = bad.parse::<ForYou>().unwrap_err();
            assert!(
                e.starts_with("`for_you` must be a whole number from 0 to 50, found `"),
                "{e}"
            );
        }
        assert_eq!(
            ForYou::new(-1).unwrap_err(),
            "`for_you` must be a whole number from 0 to 50, found `-1`"
        );
        assert!(MaxPapers::new(1000).is_ok() && MaxPapers::new(1001).is_err());
    }
}
