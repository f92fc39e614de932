//! Folio's integration tests, in one binary so that they are linked once.
//!
//! One module per area. `harness` starts a real Folio (router, ingestor, workers, database);
//! `support` holds the fake GitHub and webhook helpers. Two suites stay separate binaries:
//! `tests/otel.rs` needs `--features otel`, and `tests/metrics.rs` asserts exact counts on the
//! process-wide metrics recorder, which other tests in this binary would move.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed test step panics by design

mod harness;
mod support;

mod db_faults;
mod deploy;
mod downloads;
mod evaluation;
mod fake_github;
mod forget;
mod github_client;
mod labels;
mod logs;
mod owned_lines;
mod privacy;
mod reconcile;
mod replicas;
mod report;
mod review_accuracy;
mod scan;
mod scan_real;
mod seen_running;
mod self_scan;
mod setup;
mod store;
mod webhook;
