//! Rate limits for the reader-facing endpoints, in bounded memory.
//!
//! A public signup form invites two abuses: one client hammering it, and many clients (or one
//! with many addresses) using it to flood someone else's inbox with confirmation requests. So
//! requests are counted per client address and confirmation messages per email address. Both
//! tables have a fixed number of entries (least recently used first out), so a flood of
//! distinct addresses costs no more memory than a quiet day. An entry is only ever dropped when
//! it no longer remembers anything (its window has passed); when the table is full of entries
//! that still count, a new key is refused rather than an old one forgotten, so filling the table
//! can never reset someone's count.
//!
//! Keys are hashed with a per-process random key ([`RandomState`]) before they are stored, so
//! the memory per entry is fixed and nobody can aim collisions.

use std::collections::VecDeque;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;

/// What a limiter says about one more event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Over the limit; the next event would be allowed after this long.
    Limited(Duration),
    /// The table is full of keys that still count: a new key cannot be tracked, so it is
    /// refused (fail closed).
    Full,
}

impl Decision {
    pub fn allowed(self) -> bool {
        self == Self::Allow
    }
}

/// At most `limit` events per key in any `window` (a sliding log of the event times), for at
/// most `capacity` keys.
pub struct WindowLimiter {
    limit: usize,
    window: Duration,
    keys: Mutex<LruCache<u64, VecDeque<Instant>>>,
    hasher: RandomState,
}

impl std::fmt::Debug for WindowLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowLimiter")
            .field("limit", &self.limit)
            .field("window", &self.window)
            .field("keys", &self.len())
            .finish()
    }
}

impl WindowLimiter {
    pub fn new(limit: u32, window: Duration, capacity: NonZeroUsize) -> Self {
        Self {
            limit: (limit as usize).max(1),
            window,
            keys: Mutex::new(LruCache::new(capacity)),
            hasher: RandomState::new(),
        }
    }

    /// Counts one event for `key` at `now` if it is within the limit.
    pub fn check(&self, key: &[u8], now: Instant) -> Decision {
        let hash = self.hasher.hash_one(key);
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if !keys.contains(&hash) && keys.len() == keys.cap().get() {
            // Make room only by dropping an entry that no longer counts anything.
            let idle = keys
                .peek_lru()
                .is_some_and(|(_, times)| self.forgotten(times, now));
            if !idle {
                return Decision::Full;
            }
            keys.pop_lru();
        }
        let times = keys.get_or_insert_mut(hash, VecDeque::new);
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        if times.len() >= self.limit {
            let oldest = *times.front().expect("at the limit, so not empty");
            return Decision::Limited(self.window - now.saturating_duration_since(oldest));
        }
        times.push_back(now);
        Decision::Allow
    }

    /// Whether an entry remembers nothing that still counts.
    fn forgotten(&self, times: &VecDeque<Instant>, now: Instant) -> bool {
        times
            .back()
            .is_none_or(|t| now.saturating_duration_since(*t) >= self.window)
    }

    /// Keys held now (never more than the capacity).
    pub fn len(&self) -> usize {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .cap()
            .get()
    }
}

/// The part of a client's address that identifies it: the whole IPv4 address, or the /64 of
/// an IPv6 address (one subscriber line gets a whole /64, so counting single IPv6 addresses
/// would let one client count as billions).
pub fn client_key(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.octets().to_vec(),
            None => v6.octets()[..8].to_vec(),
        },
    }
}

/// The limits of one server.
#[derive(Debug)]
pub struct Limits {
    /// `POST /subscribe` per client address, per hour.
    pub signups: WindowLimiter,
    /// Confirmation messages per email address, per day.
    pub confirmations: WindowLimiter,
    /// Requests to the token pages (`/confirm`, `/preferences`) per client address, per hour.
    pub token_pages: WindowLimiter,
}

/// Entries per table: about 100 bytes each with a handful of times, so a few MB at most.
pub const TABLE_CAPACITY: usize = 20_000;
/// Requests one client may make to the token pages in an hour.
pub const TOKEN_PAGES_PER_HOUR: u32 = 120;
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

impl Limits {
    pub fn new(signups_per_client: u32, confirmations_per_address: u32) -> Self {
        Self::with_capacity(
            signups_per_client,
            confirmations_per_address,
            NonZeroUsize::new(TABLE_CAPACITY).expect("not zero"),
        )
    }

    pub fn with_capacity(
        signups_per_client: u32,
        confirmations_per_address: u32,
        capacity: NonZeroUsize,
    ) -> Self {
        Self {
            signups: WindowLimiter::new(signups_per_client, HOUR, capacity),
            confirmations: WindowLimiter::new(confirmations_per_address, DAY, capacity),
            token_pages: WindowLimiter::new(TOKEN_PAGES_PER_HOUR, HOUR, capacity),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(limit: u32, capacity: usize) -> WindowLimiter {
        WindowLimiter::new(
            limit,
            Duration::from_secs(60),
            NonZeroUsize::new(capacity).unwrap(),
        )
    }

    #[test]
    fn at_most_the_limit_in_any_window() {
        let l = limiter(3, 10);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(
                l.check(b"ada", t0 + Duration::from_secs(i)),
                Decision::Allow
            );
        }
        assert_eq!(
            l.check(b"ada", t0 + Duration::from_secs(10)),
            Decision::Limited(Duration::from_secs(50))
        );
        // Another key has its own count.
        assert_eq!(l.check(b"grace", t0), Decision::Allow);
        // The first event leaves the window at 60 s, the second at 61 s.
        assert_eq!(
            l.check(b"ada", t0 + Duration::from_secs(60)),
            Decision::Allow
        );
        assert!(!l.check(b"ada", t0 + Duration::from_secs(60)).allowed());
        assert_eq!(
            l.check(b"ada", t0 + Duration::from_secs(61)),
            Decision::Allow
        );
    }

    #[test]
    fn a_flood_of_distinct_keys_never_grows_the_table_nor_resets_a_count() {
        let l = limiter(2, 1000);
        let t0 = Instant::now();
        assert!(l.check(b"victim", t0).allowed());
        assert!(l.check(b"victim", t0).allowed());
        let mut refused = 0;
        for i in 0..100_000u32 {
            if l.check(&i.to_be_bytes(), t0 + Duration::from_millis(1)) == Decision::Full {
                refused += 1;
            }
            assert!(l.len() <= 1000);
        }
        assert_eq!(l.len(), 1000);
        assert_eq!(refused, 100_000 - 999);
        // The victim's count survived the flood.
        assert!(matches!(
            l.check(b"victim", t0 + Duration::from_secs(1)),
            Decision::Limited(_)
        ));
        // Once the window has passed, old entries make room again.
        let later = t0 + Duration::from_secs(61);
        assert_eq!(l.check(b"newcomer", later), Decision::Allow);
        assert_eq!(l.len(), 1000);
        assert_eq!(l.capacity(), 1000);
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), client_key(v4));
    }
}
