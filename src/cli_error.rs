//! The CLI's exit-code contract: 0 ok, 2 bad input or usage, 1 anything else.
//! Errors are printed to stderr as one line.

use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The user can fix this by changing the command line or the input.
    #[error("{0}")]
    Usage(String),
    /// Anything else: I/O, network, database.
    #[error(transparent)]
    Failure(#[from] anyhow::Error),
}

impl CliError {
    pub fn usage(msg: impl Into<String>) -> Self {
        Self::Usage(msg.into())
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) => ExitCode::from(2),
            Self::Failure(_) => ExitCode::from(1),
        }
    }

    /// One line: anyhow's `{:#}` joins the context chain with `: `.
    pub fn one_line(&self) -> String {
        let text = match self {
            Self::Usage(m) => m.clone(),
            Self::Failure(e) => format!("{e:#}"),
        };
        text.replace('\n', " ")
    }
}
