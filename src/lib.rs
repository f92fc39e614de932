//! Folio: evidence of engineering practice from a candidate's public GitHub work.
//!
//! Data flows one way; each step is a module named after what it does:
//! `webhook` (verify, dedupe, persist) → `store` (durable job queue) → `worker` → `fetch`
//! (the only GitHub I/O, producing `snapshot`s) → `analyze` (pure) → `report` (criteria and
//! levels) → `render` (Markdown / JSON) → `publish` (the one comment).

pub mod analyze;
pub mod cli_error;
pub mod model;
pub mod render;
pub mod repo_config;
pub mod report;
pub mod review_signals;
pub mod scan;
pub mod snapshot;
