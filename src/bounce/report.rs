//! What one message says, as a typed outcome: a bounce (RFC 3464 delivery status notification)
//! with its failed recipients, a complaint (RFC 5965 feedback report), or a skip with the
//! reason. Parsing never fails: anything that is not a report we can use is a [`Skip`], so one
//! bad message never stops a batch.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::fields::{Action, Status};
use super::ident::OurMessageId;
use super::verp::VerpTag;

/// A report's identity, for "importing the same report twice counts once": a hash of the
/// report's own Message-ID (which the reporting MTA makes unique, and which survives copies
/// between mailboxes and the headers MTAs add on the way), or of its body when it has none.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportId(String);

impl ReportId {
    pub fn new(hex: String) -> Self {
        Self(hex)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How bad a failure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// 4.x.x: the address may work again (mailbox full, greylisting gave up, host down).
    Soft,
    /// 5.x.x: the address does not take mail (no such user, domain gone, policy refusal).
    Hard,
}

/// One recipient the report says failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRecipient {
    /// `Final-Recipient` when it is an address.
    pub final_recipient: Option<String>,
    /// `Original-Recipient` when it is an address.
    pub original_recipient: Option<String>,
    pub action: Action,
    pub status: Status,
    /// `Diagnostic-Code`, as the remote server said it.
    pub diagnostic: Option<String>,
}

impl FailedRecipient {
    pub fn severity(&self) -> Severity {
        if self.status.class == 5 {
            Severity::Hard
        } else {
            Severity::Soft
        }
    }
}

/// What a report quotes of the message it is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Original {
    /// Its Message-ID, without brackets.
    pub message_id: Option<String>,
    /// The edition and address hash, when paperwire made that Message-ID.
    pub ours: Option<OurMessageId>,
}

/// A delivery status notification with at least one failed recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    pub id: ReportId,
    /// When the report says it happened (`Arrival-Date`, else the report's `Date`).
    pub at: Option<DateTime<Utc>>,
    pub original: Original,
    /// The VERP tag it came back to, when VERP is on (checked).
    pub tag: Option<VerpTag>,
    pub recipients: Vec<FailedRecipient>,
}

impl Bounce {
    /// The worst failure in the report.
    pub fn severity(&self) -> Severity {
        self.recipients
            .iter()
            .map(FailedRecipient::severity)
            .max()
            .unwrap_or(Severity::Soft)
    }
}

/// A feedback report in which a person (or their provider for them) calls the message abuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complaint {
    pub id: ReportId,
    pub at: Option<DateTime<Utc>>,
    /// `Feedback-Type`, lowercased (`abuse` or `fraud`).
    pub feedback_type: String,
    /// `Original-Rcpt-To`, else the quoted message's `To` — often redacted, often empty.
    pub recipients: Vec<String>,
    pub original: Original,
    pub tag: Option<VerpTag>,
}

/// Why a message was skipped. Each says what was wrong in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    #[error("not a message (no header could be read)")]
    NotAMessage,
    #[error("not a delivery status notification (RFC 3464) or a feedback report (RFC 5965): {0}")]
    NotAReport(&'static str),
    #[error("truncated: the {0} part is cut off (no MIME boundary after it)")]
    Truncated(&'static str),
    #[error("the delivery report names no recipient with a usable Action and Status")]
    NoRecipient,
    #[error("reports only successful deliveries (Action: {0})")]
    Success(&'static str),
    #[error("a delay warning: the reporting server is still trying, its final report will count")]
    Delayed,
    #[error("a feedback report of type `{0}`, which is not a complaint")]
    NotAComplaint(String),
    #[error("forged VERP tag on {address}: {reason}")]
    ForgedTag {
        address: String,
        reason: &'static str,
    },
    #[error("no VERP tag (bounce.verp is on, so untagged reports are not trusted)")]
    MissingTag,
    #[error("larger than {limit} bytes ({size} bytes)")]
    TooBig { size: u64, limit: u64 },
    #[error("cannot be read: {0}")]
    Unreadable(String),
    #[error("{0}")]
    Unresolved(String),
}

impl Skip {
    /// The kind of reason in a few words, for counting skips by reason.
    pub fn kind(&self) -> &'static str {
        match self {
            Skip::NotAMessage => "not a message",
            Skip::NotAReport(_) => "not a bounce or complaint",
            Skip::Truncated(_) => "truncated",
            Skip::NoRecipient => "no failed recipient",
            Skip::Success(_) => "success report",
            Skip::Delayed => "delay warning",
            Skip::NotAComplaint(_) => "feedback but no complaint",
            Skip::ForgedTag { .. } => "forged VERP tag",
            Skip::MissingTag => "no VERP tag",
            Skip::TooBig { .. } => "too big",
            Skip::Unreadable(_) => "unreadable",
            Skip::Unresolved(_) => "not about a subscriber",
        }
    }
}

/// The typed outcome of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    Bounce(Bounce),
    Complaint(Complaint),
    Skipped(Skip),
}
