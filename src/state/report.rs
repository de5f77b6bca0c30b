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
    /// The outcome is from an earlier run of the edition (a permanent failure, named again in
    /// every run until the address is fixed or removed).
    #[serde(default)]
    pub earlier: bool,
    /// The address has since been retired (`bounced_at`): it gets no more mail, but its
    /// earlier permanent failure still counts until someone resumes or removes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
}

/// Why an address asked for with `--only` got nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PassOver {
    Paused,
    Unsubscribed,
    /// `bounced_at` is set: the address bounced too often.
    Bounced,
    /// Their topics have no papers in this edition.
    NothingInTopics,
}

/// An address asked for with `--only` that got nothing, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassedOver {
    pub email: String,
    pub why: PassOver,
}

/// A proof (`send --only A --test-to B`): A's exact message, sent to B.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// Whose message it is.
    pub of: String,
    /// Where it went.
    pub to: String,
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
    /// Recipients the run did not get to because it was stopped: neither sent nor journaled
    /// (the next run sends to them).
    pub not_tried: usize,
    /// Active recipients whose topics have no papers in this edition. They get no email (an
    /// email without papers is no news) and are not journaled; a rerun of the edition's frozen
    /// list finds the same.
    pub nothing_in_topics: usize,
    /// `--only` addresses that got nothing (paused, unsubscribed, nothing in their topics).
    pub passed_over: Vec<PassedOver>,
    /// Set for a proof (`--test-to`): whose message went where. Proofs are not journaled.
    pub proof: Option<Proof>,
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
    /// Failures and deferrals, per recipient: this run's, and every permanent failure of the
    /// edition's earlier runs among this run's recipients.
    pub problems: Vec<RecipientReport>,
    /// Addresses whose refusals in this run made them reach `[bounce] threshold`: they get
    /// `bounced_at` and no more mail (each line names the address and its score).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<String>,
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

    /// A short human summary: the counts, how long the run took, every problem by address, and
    /// why an address asked for got nothing.
    pub fn summary(&self) -> String {
        let mut s = match &self.proof {
            Some(proof) if self.delivered > 0 => format!(
                "edition {}: proof of {}'s message sent to {} (not journaled), in {}",
                self.edition,
                proof.of,
                proof.to,
                duration(self.seconds)
            ),
            Some(proof) => format!(
                "edition {}: proof of {}'s message to {} not sent, in {}",
                self.edition,
                proof.of,
                proof.to,
                duration(self.seconds)
            ),
            None => self.counts(),
        };
        for p in &self.problems {
            let what = match p.outcome {
                Outcome::Delivered => "delivered",
                Outcome::Failed => "failed",
                Outcome::Deferred => "deferred",
            };
            let when = match (p.earlier, p.retired) {
                (true, true) => " (in an earlier run; now retired: bounced)",
                (true, false) => " (in an earlier run)",
                (false, _) => "",
            };
            s.push_str(&format!("\n  {what} {}: {}{when}", p.email, p.detail));
        }
        for p in &self.passed_over {
            let why = match p.why {
                PassOver::Paused => format!(
                    "paused (`paperwire subscribers resume {}` sends to them again)",
                    p.email
                ),
                PassOver::Unsubscribed => "unsubscribed".to_owned(),
                PassOver::Bounced => format!(
                    "bounced (after checking the address, `paperwire subscribers resume {}` sends to them again)",
                    p.email
                ),
                PassOver::NothingInTopics => {
                    "nothing in their topics today (no email without papers)".to_owned()
                }
            };
            s.push_str(&format!("\n  not sent to {}: {why}", p.email));
        }
        for r in &self.retired {
            s.push_str(&format!("\n  {r}"));
        }
        s
    }

    /// "edition 2026-11-28: 3 delivered, 0 already delivered, 0 failed, 0 deferred, in 0.2 s".
    fn counts(&self) -> String {
        let would = if self.dry_run {
            format!("{} to send ({} variants), ", self.would_send, self.variants)
        } else {
            String::new()
        };
        let not_tried = if self.not_tried > 0 || self.interrupted {
            format!(", {} not tried (interrupted)", self.not_tried)
        } else {
            String::new()
        };
        let nothing = match self.nothing_in_topics {
            0 => String::new(),
            n => format!(", {n} had nothing in their topics today (no email)"),
        };
        format!(
            "edition {}: {would}{} delivered, {} already delivered, {} failed, {} deferred{not_tried}{nothing}, in {}{}",
            self.edition,
            self.delivered,
            self.already_delivered,
            self.failed + self.failed_earlier,
            self.deferred,
            duration(self.seconds),
            if self.dry_run {
                " (dry run: nothing sent)"
            } else {
                ""
            },
        )
    }
}

/// A run's length for people: "0.4 s", "12 s", "3 min 05 s", "1 h 02 min".
pub fn duration(seconds: f64) -> String {
    let seconds = seconds.max(0.0);
    if seconds < 10.0 {
        return format!("{seconds:.1} s");
    }
    // Whole seconds from here on; the float is finite and non-negative.
    let whole = seconds.round() as u64;
    match whole {
        0..60 => format!("{whole} s"),
        60..3600 => format!("{} min {:02} s", whole / 60, whole % 60),
        _ => format!("{} h {:02} min", whole / 3600, whole % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(duration(0.0), "0.0 s");
        assert_eq!(duration(0.43), "0.4 s");
        assert_eq!(duration(9.94), "9.9 s");
        assert_eq!(duration(12.4), "12 s");
        assert_eq!(duration(185.0), "3 min 05 s");
        assert_eq!(duration(3725.0), "1 h 02 min");
        assert_eq!(duration(f64::NAN), "0.0 s");
    }
}
