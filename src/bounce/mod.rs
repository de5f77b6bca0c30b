//! List hygiene: reading bounces (RFC 3464 delivery status notifications) and complaints
//! (RFC 5965 feedback reports), and scoring them, so that addresses that no longer take mail
//! stop getting it before providers judge the sender by them.
//!
//! - [`read`] splits a Maildir, an mbox, `.eml` files or standard input into messages, with a
//!   size cap per message;
//! - [`mod@parse`] turns one message into a typed [`Report`] (bounce, complaint, or skip with a
//!   reason), with [`fields`] for the report parts, [`ident`] to recognize paperwire's own
//!   Message-IDs and [`verp`] for signed envelope-sender tags;
//! - [`mod@resolve`] maps a report to events about subscribers, using what the list knows;
//! - [`score`] is the scoring model (pure); [`store`] is where events are kept, as a trait
//!   (the file in `state.dir` is `state::BounceLog`);
//! - [`import`] puts it together: messages in, events stored, verdicts out;
//! - [`retire`] says which subscribers stop getting mail, as changes for the list's change log
//!   (which the caller appends); [`tally`] counts bounces and complaints per edition.

pub mod fields;
pub mod ident;
pub mod import;
pub mod parse;
pub mod read;
pub mod report;
pub mod resolve;
pub mod retire;
pub mod score;
pub mod store;
pub mod tally;
pub mod verp;

#[cfg(test)]
mod tests;

pub use parse::{Context, parse};
pub use report::{Bounce, Complaint, FailedRecipient, Original, Report, ReportId, Severity, Skip};
pub use resolve::{Directory, Event, EventKind, Roster, resolve};
pub use retire::{Retirement, retirements};
pub use score::{Ledger, Policy, Score, Verdict};
pub use store::{EventStore, Loaded, MemoryStore};
