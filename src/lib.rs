//! paperwire: the day's trending research papers as an email digest.
//!
//! The pipeline: [`source`] reads paper lists into [`paper::Paper`]s, [`digest`] groups and
//! ranks them by the config's keyword rules, [`render`] turns a subscriber's view into HTML and
//! text, and [`deliver`] sends one message per subscriber with a crash-safe journal. The core
//! (digest, render) is pure; I/O lives at the edges behind small traits.

pub mod archive;
pub mod bounce;
pub mod config;
pub mod daemon;
pub mod deliver;
pub mod diag;
pub mod digest;
pub mod edition;
pub mod exit;
pub mod fsutil;
pub mod hygiene;
pub mod liked;
pub mod paper;
pub mod pipeline;
pub mod render;
pub mod schedule;
pub mod serve;
pub mod source;
pub mod state;
pub mod subscribers;
#[cfg(test)]
mod test_rng;
