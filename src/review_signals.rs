//! `folio review-signals`: JSON lines of review comments in, one JSON line of signals out.
//!
//! Proposed `--help` text:
//!
//! ```text
//! Reads review comments as JSON lines on stdin ({"body": ..., "path"?: ..., "diff_hunk"?: ...})
//! and writes one JSON line per input line: {"line", "judged", "signals", "useful", "why"}.
//! `useful` is judged from the text alone. Comments not in English are not judged: their
//! signals are null. A line that is not a valid comment gets {"line": N, "error": "..."} in its
//! place, the other lines are still processed, and the exit code is then 2. Blank lines are
//! skipped. `--explain` adds, per signal, the model's probability and the features that
//! decided it; `--features` writes the model's input features instead (for training).
//! ```

use std::io::{BufRead, Write};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::analyze::review::{comment_features, comment_signals};
use crate::cli_error::CliError;
use crate::model::CommentSignals;

#[derive(Debug, Deserialize)]
struct Input {
    body: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    diff_hunk: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Signals,
    Explain,
    Features,
}

#[derive(Debug, Serialize)]
struct Output<'a> {
    line: u64,
    judged: bool,
    signals: &'a CommentSignals,
    useful: Option<bool>,
    why: &'a [String],
    /// The model's probability per signal it decided (`--explain` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence: Option<&'a BTreeMap<&'static str, f32>>,
}

#[derive(Debug, Serialize)]
struct FeaturesLine {
    line: u64,
    judged: bool,
    features: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ErrorLine {
    line: u64,
    error: String,
}

/// Processes every line; bad lines become error objects in place. Returns a usage error (exit
/// code 2) at the end when any line was bad, so that a pipeline notices.
pub fn run(input: impl BufRead, output: impl Write, mode: Mode) -> Result<(), CliError> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, output);
    let mut bad: Vec<u64> = Vec::new();
    let mut buf = Vec::new();
    for (index, line) in input.split(b'\n').enumerate() {
        let number = index as u64 + 1;
        let raw = line
            .with_context(|| format!("reading input line {number}"))
            .map_err(CliError::Failure)?;
        let trimmed = raw.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        buf.clear();
        match serde_json::from_slice::<Input>(trimmed) {
            Ok(item) if mode == Mode::Features => {
                let features =
                    comment_features(&item.body, item.path.as_deref(), item.diff_hunk.as_deref());
                let line = FeaturesLine {
                    line: number,
                    judged: features.is_some(),
                    features: features.unwrap_or_default(),
                };
                serde_json::to_writer(&mut buf, &line).context("encoding output")?;
            }
            Ok(item) => {
                let report =
                    comment_signals(&item.body, item.path.as_deref(), item.diff_hunk.as_deref());
                let line = Output {
                    line: number,
                    judged: report.judged,
                    signals: &report.signals,
                    useful: report.useful_text,
                    why: &report.why,
                    confidence: (mode == Mode::Explain).then_some(&report.confidence),
                };
                serde_json::to_writer(&mut buf, &line).context("encoding output")?;
            }
            Err(e) => {
                bad.push(number);
                let line = ErrorLine {
                    line: number,
                    error: format!("line {number}: not a review comment object: {e}"),
                };
                serde_json::to_writer(&mut buf, &line).context("encoding output")?;
            }
        }
        buf.push(b'\n');
        out.write_all(&buf).context("writing output")?;
    }
    out.flush().context("writing output")?;
    match bad.as_slice() {
        [] => Ok(()),
        [one] => Err(CliError::usage(format!(
            "input line {one} is not a valid comment object"
        ))),
        [first, ..] => Err(CliError::usage(format!(
            "{} input lines are not valid comment objects (first: line {first})",
            bad.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_str(input: &str) -> (Result<(), CliError>, Vec<serde_json::Value>) {
        let mut out = Vec::new();
        let res = run(input.as_bytes(), &mut out, Mode::Signals);
        let lines = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (res, lines)
    }

    #[test]
    fn one_output_line_per_input_line() {
        let (res, lines) = run_str(
            "{\"body\": \"Can you add a test for the empty list?\"}\n\n{\"body\": \"LGTM\", \"path\": \"a.py\"}\n",
        );
        assert!(res.is_ok());
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["line"], 1);
        assert_eq!(lines[0]["signals"]["kind"], "test_request");
        assert_eq!(lines[1]["line"], 3);
        assert_eq!(lines[1]["signals"]["kind"], "approval_only");
        assert_eq!(lines[1]["useful"], false);
        assert!(!lines[0]["why"].as_array().unwrap().is_empty());
    }

    #[test]
    fn bad_line_gets_error_object_and_exit_code_2() {
        let (res, lines) =
            run_str("{\"body\": \"LGTM\"}\nnot json\n{\"nobody\": 1}\n{\"body\": \"ok\"}\n");
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[1]["line"], 2);
        assert!(lines[1]["error"].as_str().unwrap().contains("line 2"));
        assert!(lines[2]["error"].is_string());
        assert!(lines[3]["signals"].is_object());
        match res {
            Err(e @ CliError::Usage(_)) => {
                assert!(e.one_line().contains("first: line 2"));
            }
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    /// The whole output for the hard cases of the brief, reviewed by eye and kept as a snapshot.
    #[test]
    fn hard_cases_snapshot() {
        let bodies = [
            "won't this overflow when n is 0?",
            "LGTM, but `parse()` should reject an empty header, otherwise we silently return None.",
            "```suggestion\n    return sorted(items)\n```",
            "Oh great, another global variable. Genius.",
            "Il suffit de faire: `if rev.reviewer:`",
            "```python\nwith open(path) as f:\n    data = f.read()\n```",
        ];
        let input: String = bodies
            .iter()
            .map(|b| format!("{}\n", serde_json::json!({ "body": b })))
            .collect();
        let (res, lines) = run_str(&input);
        assert!(res.is_ok());
        insta::assert_yaml_snapshot!(lines);
    }

    #[test]
    fn non_english_is_null() {
        let (_, lines) = run_str("{\"body\": \"Il suffit de faire: `if rev.reviewer:`\"}\n");
        assert_eq!(lines[0]["judged"], false);
        assert!(lines[0]["signals"]["kind"].is_null());
        assert!(lines[0]["useful"].is_null());
    }
}
