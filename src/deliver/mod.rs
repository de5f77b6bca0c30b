//! Delivery (being written by the lead).

use crate::exit::{Classify, Exit};

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("{0}")]
    Other(String),
}

impl Classify for DeliverError {
    fn exit(&self) -> Exit {
        Exit::TryLater
    }
}
