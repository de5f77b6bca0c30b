//! A server that refuses a recipient for good at send time (a 5xx to RCPT TO) has said what a
//! DSN would say later: the address does not take mail. So each such refusal goes into the
//! bounce log as a hard bounce of the edition (`bounce::import::send_failure`: once per
//! edition and address, however often the edition is rerun), and an address whose score
//! reaches `[bounce] threshold` gets `bounced_at` through the list's change log at once.
//!
//! The events are appended as the send journal's lines are, one unbuffered write each (a crash
//! of the process loses none), and synced once when the run ends. The bounce log is read once,
//! at the first refusal of the run. A log that cannot be read or written costs the address its
//! bounce (with a warning), never the run.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::bounce::import::send_failure;
use crate::bounce::retire::{Retirement, retirement};
use crate::bounce::{EventStore, Ledger, Policy};
use crate::config::Settings;
use crate::edition::EditionId;
use crate::state::{BounceLog, StateDir};
use crate::subscribers::{ChangeLog, Subscriber};

/// The send-time refusals of one run.
pub(super) struct Refusals {
    log: BounceLog,
    changes: ChangeLog,
    policy: Policy,
    /// The bounce log as read at the first refusal, with this run's events added.
    ledger: Mutex<Option<Ledger>>,
}

impl Refusals {
    pub(super) fn new(settings: &Settings) -> Self {
        Self {
            log: StateDir::new(&settings.state_dir).bounce_log(),
            changes: ChangeLog::beside(&settings.subscribers_path),
            policy: Policy::from(&settings.bounce),
            ledger: Mutex::new(None),
        }
    }

    /// Records that the server refused `s` for good in `edition`; returns the retirement when
    /// this made the address reach the threshold (its `bounced_at` change is appended).
    pub(super) fn record(
        &self,
        s: &Subscriber,
        edition: &EditionId,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Option<Retirement> {
        match self.try_record(s, edition, detail, now) {
            Ok(retired) => retired,
            Err(e) => {
                tracing::warn!(
                    "{}: the refusal could not be counted as a bounce ({}): {e}",
                    s.email,
                    self.log.path().display()
                );
                None
            }
        }
    }

    fn try_record(
        &self,
        s: &Subscriber,
        edition: &EditionId,
        detail: &str,
        now: DateTime<Utc>,
    ) -> std::io::Result<Option<Retirement>> {
        let mut guard = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        let ledger = match &mut *guard {
            Some(ledger) => ledger,
            empty => empty.insert(self.log.load()?.ledger),
        };
        let event = send_failure(&s.email.key(), edition, detail, now);
        if ledger.insert(event.clone()) {
            self.log.append_unsynced(std::slice::from_ref(&event))?;
        }
        let Some(retired) = retirement(ledger, s, now, &self.policy) else {
            return Ok(None);
        };
        self.changes.append(&[retired.change(now)])?;
        tracing::info!("{retired}");
        Ok(Some(retired))
    }

    /// Makes the run's events durable.
    pub(super) fn finish(&self) {
        let touched = self
            .ledger
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some();
        if touched && let Err(e) = self.log.sync() {
            tracing::warn!("cannot sync {}: {e}", self.log.path().display());
        }
    }
}
