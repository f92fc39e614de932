//! Rendering a report as Markdown (the evidence comment, the scan view) or JSON. Rendering
//! never analyzes: it only lays out what the report already holds.

pub mod neutralise;
pub mod scan;
