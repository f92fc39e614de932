//! Rendering a report as Markdown (the evidence comment, the scan view), plain text (the scan
//! view on a terminal) or JSON. Rendering never analyzes: it only lays out what the report
//! already holds.

pub mod comment;
pub mod json;
pub mod neutralise;
pub mod scan;
pub mod text;

pub use comment::{
    CommentContext, MARKER, awaiting_confirmation, comment, config_error, evaluation_failed,
    needs_info,
};
pub use json::json;
