//! `report.json`: what one run of an edition did. The send loop fills it in, `send --json` prints
//! it, the scheduler reads it back to tell whether an edition is complete: one shape for all.

use serde::{Deserialize, Serialize};

use super::journal::Outcome;

/// One recipient's line in the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecipientReport {
    pub email: String,
    pub outcome: Outcome,
    #[serde(default)]
    pub detail: String,
}

/// What a run did: printed with `--json`, written to `report.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Report {
    pub edition: String,
    pub dry_run: bool,
    pub papers: usize,
    pub recipients: usize,
    pub delivered: usize,
    pub already_delivered: usize,
    pub failed: usize,
    pub failed_earlier: usize,
    pub deferred: usize,
    pub interrupted: bool,
    /// Only some subscribers were asked for (`--only`): the edition is not done for the rest.
    pub partial: bool,
    /// Dry run: the messages that would have been sent.
    pub would_send: usize,
    pub variants: usize,
    pub seconds: f64,
    /// Time spent building messages (rendering variants included), summed over the workers.
    pub build_seconds: f64,
    /// Time spent in the transport (SMTP round trips included), summed over the workers.
    pub send_seconds: f64,
    /// Bytes of the messages delivered in this run.
    pub message_bytes: u64,
    /// Failures and deferrals, per recipient.
    pub problems: Vec<RecipientReport>,
}

/// How a run ended, for the exit code and the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// Everyone asked for got it (or nothing was left to do).
    Complete,
    /// Some recipients failed for good, in this run or an earlier run of the edition: a rerun
    /// must not turn a failure someone should look at into a silent success.
    SomeFailed,
    /// Deferred recipients, or an interrupted run: run again later.
    Unfinished,
}

impl Report {
    /// How the run ended: unfinished wins over failed, failed over complete.
    pub fn end(&self) -> RunEnd {
        if self.deferred > 0 || self.interrupted {
            RunEnd::Unfinished
        } else if self.failed + self.failed_earlier > 0 {
            RunEnd::SomeFailed
        } else {
            RunEnd::Complete
        }
    }

    pub fn all_ok(&self) -> bool {
        self.end() == RunEnd::Complete
    }

    /// A short human summary.
    pub fn summary(&self) -> String {
        let would = if self.dry_run {
            format!("{} to send ({} variants), ", self.would_send, self.variants)
        } else {
            String::new()
        };
        let mut s = format!(
            "edition {}: {would}{} delivered, {} already delivered, {} failed, {} deferred{}{}",
            self.edition,
            self.delivered,
            self.already_delivered,
            self.failed + self.failed_earlier,
            self.deferred,
            if self.interrupted {
                ", interrupted"
            } else {
                ""
            },
            if self.dry_run {
                " (dry run: nothing sent)"
            } else {
                ""
            },
        );
        for p in &self.problems {
            let what = match p.outcome {
                Outcome::Delivered => "delivered",
                Outcome::Failed => "failed",
                Outcome::Deferred => "deferred",
            };
            s.push_str(&format!("\n  {what} {}: {}", p.email, p.detail));
        }
        s
    }
}
