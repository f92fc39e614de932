//! Folio: evidence of engineering practice from a candidate's public GitHub work.
//!
//! Data flows one way; each step is a module named after what it does:
//! `webhook` (verify, dedupe, persist) → `store` (durable job queue) → `worker` / `dispatch`
//! → `fetch` (the only GitHub I/O, producing `snapshot`s) → `analyze` (pure) → `report`
//! (criteria and levels) → `render` (Markdown / JSON) → `publish` (the one comment).
//! `pipeline` strings the steps together for one tracking issue. `reconcile` asks GitHub again
//! for deliveries that never reached the database.

pub(crate) mod activity;
pub mod analyze;
#[cfg(test)]
mod architecture_tests;
pub(crate) mod archive;
pub(crate) mod attribution;
pub(crate) mod catalogue;
pub mod cli;
pub mod cli_error;
pub mod clock;
pub mod config;
pub(crate) mod dispatch;
pub mod fetch;
pub mod github;
pub(crate) mod hiring_config;
pub(crate) mod ingest;
pub(crate) mod jobs;
pub(crate) mod labels;
pub mod model;
pub mod pipeline;
pub(crate) mod privacy;
pub(crate) mod private_file;
pub(crate) mod publish;
pub mod reconcile;
pub mod render;
pub mod repo_config;
pub mod report;
pub mod review_signals;
pub mod scan;
pub mod server;
pub mod setup;
pub(crate) mod setup_token;
pub(crate) mod snapshot;
pub(crate) mod state;
pub mod store;
pub(crate) mod submission;
pub mod telemetry;
pub mod webhook;
pub mod worker;
