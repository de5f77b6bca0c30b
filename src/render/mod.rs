//! Rendering (being written by the lead).

use crate::exit::{Classify, Exit};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Template(String),
}

impl Classify for RenderError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}
