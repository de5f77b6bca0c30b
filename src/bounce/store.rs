//! Where bounce events are kept, as a trait: [`EventStore`]. The file under `state.dir` is
//! `state::BounceLog` (only `state/` writes there); [`MemoryStore`] serves tests and dry runs.
//! Either way a duplicate (the same event appended twice, by two importers at once) folds into
//! one on loading, in the [`Ledger`].

use std::sync::Mutex;

use super::resolve::Event;
use super::score::Ledger;

/// What was read.
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    pub ledger: Ledger,
    /// Lines skipped because they did not parse (torn by a crash, edited by hand).
    pub torn_lines: usize,
    /// Lines that repeated an event already read.
    pub duplicate_lines: usize,
}

/// Keeps bounce events.
pub trait EventStore {
    /// Every event stored.
    fn load(&self) -> std::io::Result<Loaded>;
    /// Appends events (the caller leaves out those already stored).
    fn append(&self, events: &[Event]) -> std::io::Result<()>;
}

/// A store in memory, for tests and dry runs.
#[derive(Debug, Default)]
pub struct MemoryStore {
    events: Mutex<Vec<Event>>,
}

impl EventStore for MemoryStore {
    fn load(&self) -> std::io::Result<Loaded> {
        let mut loaded = Loaded::default();
        for e in self.events.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            if !loaded.ledger.insert(e.clone()) {
                loaded.duplicate_lines += 1;
            }
        }
        Ok(loaded)
    }

    fn append(&self, events: &[Event]) -> std::io::Result<()> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(events);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounce::report::ReportId;
    use crate::bounce::resolve::EventKind;

    #[test]
    fn the_memory_store_folds_duplicates() {
        let event = Event {
            at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            address: "ada@example.org".into(),
            kind: EventKind::Hard,
            edition: None,
            report: ReportId::new("r1".into()),
            status: None,
            detail: None,
        };
        let store = MemoryStore::default();
        store.append(std::slice::from_ref(&event)).unwrap();
        store.append(&[event]).unwrap();
        let loaded = store.load().unwrap();
        assert_eq!((loaded.ledger.len(), loaded.duplicate_lines), (1, 1));
    }
}
