//! `folio scan PATH`: load a local directory into a snapshot and run the practice detectors.

use std::path::Path;

use crate::cli_error::CliError;
use crate::model::OutputFormat;

/// Runs the scan and returns what to print on stdout.
pub fn run(path: &Path, format: OutputFormat) -> Result<String, CliError> {
    let _ = (path, format);
    Err(CliError::usage(
        "folio scan is not available in this build yet; use `folio evaluate` instead",
    ))
}
