//! A bounded memo that the send's workers share: a list of 100,000 readers draws its interests,
//! mutes and followed authors from far fewer distinct ones, so each one's hits in the edition
//! are worked out once and then read by every reader who has it. Past its limits (entries, and
//! items over all entries) it stops taking entries and the rest are worked out each time, so
//! that a list of all-different keywords cannot grow it without bound.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

/// Entries a memo keeps at most.
pub(super) const ENTRIES: usize = 50_000;
/// Items (hits) a memo keeps at most over all its entries: a few MB.
pub(super) const ITEMS: usize = 500_000;

/// Slices of hits by their text key, made once.
pub(super) struct Memo<T> {
    kept: RwLock<Kept<T>>,
    entries: usize,
    items: usize,
}

struct Kept<T> {
    map: HashMap<Box<str>, Arc<[T]>>,
    items: usize,
}

impl<T> Memo<T> {
    /// A memo keeping at most `entries` entries and `items` items over all of them.
    pub(super) fn new(entries: usize, items: usize) -> Self {
        Self {
            kept: RwLock::new(Kept {
                map: HashMap::new(),
                items: 0,
            }),
            entries,
            items,
        }
    }

    /// The hits for `key`: the ones kept, or `make()` (kept while there is room).
    pub(super) fn get_or(&self, key: &str, make: impl FnOnce() -> Vec<T>) -> Arc<[T]> {
        // Values are made outside the lock, so no panic can poison it while it is held.
        let read = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = read.map.get(key) {
            return Arc::clone(v);
        }
        drop(read);
        let value: Arc<[T]> = make().into();
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        if kept.map.len() < self.entries && kept.items + value.len() <= self.items {
            // Two workers may make the same value at once: the first one kept stays.
            if !kept.map.contains_key(key) {
                kept.items += value.len();
                kept.map.insert(key.into(), Arc::clone(&value));
            }
        }
        value
    }

    /// How many entries and items are kept.
    pub(super) fn len(&self) -> (usize, usize) {
        let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        (kept.map.len(), kept.items)
    }
}

impl<T> fmt::Debug for Memo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (entries, items) = self.len();
        f.debug_struct("Memo")
            .field("entries", &entries)
            .field("items", &items)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_are_made_once_and_the_limits_hold() {
        let memo: Memo<u8> = Memo::new(3, 100);
        let mut made = 0;
        for round in 0..3 {
            for key in ["a", "b", "c", "d", "e"] {
                let v = memo.get_or(key, || {
                    made += 1;
                    key.as_bytes().to_vec()
                });
                assert_eq!(&*v, key.as_bytes(), "round {round}");
            }
        }
        assert_eq!(memo.len(), (3, 3));
        // a, b, c made once; d and e each time.
        assert_eq!(made, 3 + 2 * 3);

        let memo: Memo<u8> = Memo::new(100, 10);
        for key in ["four", "five5", "six666", "a"] {
            assert_eq!(
                &*memo.get_or(key, || key.as_bytes().to_vec()),
                key.as_bytes()
            );
        }
        assert_eq!(memo.len(), (3, 10), "six666 would pass 10 items, a fits");

        let none: Memo<u8> = Memo::new(0, 0);
        assert_eq!(&*none.get_or("x", || vec![1]), [1]);
        assert_eq!(none.len(), (0, 0));
    }
}
