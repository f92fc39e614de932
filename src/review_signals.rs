//! `folio review-signals`: JSON lines of review comments in, one JSON line of signals out.

use std::io::{BufRead, Write};

use crate::cli_error::CliError;

pub fn run(input: impl BufRead, output: impl Write) -> Result<(), CliError> {
    let _ = (input, output);
    Err(CliError::usage(
        "folio review-signals is not available in this build yet",
    ))
}
