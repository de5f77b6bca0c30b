//! One read of the subscriber list at a time for the reader-facing pages, shared by the
//! requests that wait for it.
//!
//! A preference page or a confirmation needs one reader's entry, but finding it means reading
//! the whole list (pending changes applied): at a million readers, a second and a couple of
//! hundred megabytes. Read once per request, a burst of readers opening their preference
//! pages after an edition would hold that many copies at once. Here requests take turns: one
//! reads while the others wait, and a request that was waiting takes the view read by a turn
//! that *began after it arrived* — which therefore holds every change appended before it
//! arrived — instead of reading again. At most one view is being read at a time, and a view is
//! kept only while some request still waits for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Reads of one list, taken in turns (see the module docs).
#[derive(Debug)]
pub(super) struct SharedReads<V> {
    /// Numbers handed out in order: to each request as it arrives, and to each read as it
    /// begins.
    ticket: AtomicU64,
    /// Requests waiting for their turn.
    waiting: AtomicUsize,
    latest: tokio::sync::Mutex<Latest<V>>,
    /// How many times the list was read (for tests and logs).
    reads: AtomicUsize,
}

#[derive(Debug)]
struct Latest<V> {
    /// The ticket of the read that gave `view`.
    began: u64,
    view: Option<Arc<V>>,
}

impl<V> Default for Latest<V> {
    fn default() -> Self {
        Self {
            began: 0,
            view: None,
        }
    }
}

impl<V> Default for SharedReads<V> {
    fn default() -> Self {
        Self {
            ticket: AtomicU64::new(0),
            waiting: AtomicUsize::new(0),
            latest: tokio::sync::Mutex::default(),
            reads: AtomicUsize::new(0),
        }
    }
}

impl<V> SharedReads<V> {
    /// A view that holds every change made before this call: one read while others wait, or
    /// the view of a read that began after this call did.
    pub(super) async fn view<E, F>(&self, read: F) -> Result<Arc<V>, E>
    where
        F: AsyncFnOnce() -> Result<V, E>,
    {
        let arrived = self.ticket.fetch_add(1, Ordering::SeqCst);
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut latest = self.latest.lock().await;
        let others = self.waiting.fetch_sub(1, Ordering::SeqCst) - 1;
        if latest.began > arrived
            && let Some(view) = latest.view.clone()
        {
            if others == 0 {
                latest.view = None;
            }
            return Ok(view);
        }
        latest.view = None;
        let began = self.ticket.fetch_add(1, Ordering::SeqCst);
        self.reads.fetch_add(1, Ordering::SeqCst);
        let view = Arc::new(read().await?);
        let keep = self.waiting.load(Ordering::SeqCst) > 0;
        *latest = Latest {
            began,
            view: keep.then(|| Arc::clone(&view)),
        };
        Ok(view)
    }

    /// How many times the list was read.
    pub(super) fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    /// Requests that wait share the next read; a request that arrives after a change sees it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_requests_share_a_read_that_began_after_they_arrived() {
        let reads = Arc::new(SharedReads::<u32>::default());
        let value = Arc::new(AtomicU32::new(1));
        let slow_read = |value: Arc<AtomicU32>| {
            async move || {
                let v = value.load(Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                Ok::<u32, ()>(v)
            }
        };
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let (reads, value) = (Arc::clone(&reads), Arc::clone(&value));
                tokio::spawn(async move { *reads.view(slow_read(value)).await.unwrap() })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), 1);
        }
        assert!(
            reads.reads() <= 3,
            "{} reads for 40 requests",
            reads.reads()
        );
        // A change, then a request: it reads again and sees the change.
        value.store(2, Ordering::SeqCst);
        assert_eq!(*reads.view(slow_read(Arc::clone(&value))).await.unwrap(), 2);
        // Nothing is kept once no request waits.
        assert!(reads.latest.lock().await.view.is_none());
    }

    /// A failed read fails its own request; the next request reads again.
    #[tokio::test]
    async fn a_failed_read_is_not_shared() {
        let reads = SharedReads::<u32>::default();
        assert_eq!(
            reads.view(async || Err::<u32, &str>("broken")).await,
            Err("broken")
        );
        assert_eq!(*reads.view(async || Ok::<u32, &str>(7)).await.unwrap(), 7);
        assert_eq!(reads.reads(), 2);
    }
}
