//! Folding the change log into the list while a server runs.
//!
//! Appends are cheap and folds rewrite the list, so a server folds in batches: when it has
//! been idle for a moment (a burst of one-click unsubscribes after an edition is over), when
//! many changes are pending, or when the oldest pending change has waited long enough — and
//! once more when it stops. A fold that fails (the list is broken by a hand edit, its lock is
//! held) is tried again later; the changes are safe in the log meanwhile and count for every
//! reader.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::log::ChangeWriter;
use super::store::SubscriberStore;

/// When a server folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoldPolicy {
    /// Fold after no change was appended for this long.
    pub idle: Duration,
    /// Fold at once when this many changes are pending.
    pub max_pending: usize,
    /// Fold when the oldest pending change has waited this long, busy or not.
    pub max_delay: Duration,
    /// Wait this long after a failed fold.
    pub retry_after: Duration,
}

impl Default for FoldPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::from_millis(500),
            max_pending: 5000,
            max_delay: Duration::from_secs(5),
            retry_after: Duration::from_secs(5),
        }
    }
}

impl ChangeWriter {
    /// A writer for `store`'s change log whose appends a thread of its own folds into the list
    /// as `policy` says; both threads end when the last clone of the writer is dropped, after a
    /// last fold.
    pub fn folding(store: SubscriberStore, policy: FoldPolicy) -> Self {
        let (appended, batches) = std::sync::mpsc::channel();
        let writer = Self::start(store.change_log(), Some(appended));
        std::thread::Builder::new()
            .name("change-fold".into())
            .spawn(move || fold_loop(&store, &batches, policy))
            .expect("spawn the change log's folder");
        writer
    }
}

fn fold_loop(store: &SubscriberStore, batches: &Receiver<usize>, policy: FoldPolicy) {
    let mut pending = 0usize;
    // When the oldest pending change came, and when the last one did.
    let mut first = Instant::now();
    let mut last = Instant::now();
    let mut not_before = Instant::now();
    loop {
        let now = Instant::now();
        let received = if pending == 0 {
            batches.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            let due = (last + policy.idle)
                .min(first + policy.max_delay)
                .max(not_before);
            batches.recv_timeout(due.saturating_duration_since(now))
        };
        match received {
            Ok(n) => {
                if pending == 0 {
                    first = Instant::now();
                }
                pending += n;
                last = Instant::now();
                if pending < policy.max_pending || Instant::now() < not_before {
                    continue;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                if pending > 0 {
                    fold(store);
                }
                return;
            }
        }
        if fold(store) {
            pending = 0;
        } else {
            not_before = Instant::now() + policy.retry_after;
        }
    }
}

/// One fold; whether it worked.
fn fold(store: &SubscriberStore) -> bool {
    match store.fold() {
        Ok(summary) => {
            tracing::info!(
                folded = summary.folded,
                suppressions = summary.suppressions,
                "folded the change log into {}",
                store.path().display()
            );
            true
        }
        Err(e) => {
            tracing::warn!("could not fold the change log into the list yet: {e}");
            false
        }
    }
}
