//! `folio review-signals` without the CLI wiring: stdin JSON lines to stdout. Used by
//! `scripts/bench-review-signals.sh` when the `folio` binary does not have the subcommand.

use std::io::{stdin, stdout};
use std::process::ExitCode;

fn main() -> ExitCode {
    match folio::review_signals::run(
        stdin().lock(),
        stdout().lock(),
        folio::review_signals::Mode::Signals,
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("folio review-signals: {}", e.one_line());
            e.exit_code()
        }
    }
}
