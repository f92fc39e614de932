//! Why a `.github/folio.yml` cannot be used, said for the person who has to fix it: the
//! file, the key, the line, and serde's and the YAML parser's messages in plain words.

use std::fmt;

use thiserror::Error;

/// Which file a configuration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFile {
    HiringRepo,
    OrgDotGithub,
    /// Parsed without knowing where it came from.
    Unspecified,
}

impl fmt::Display for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::HiringRepo => "`.github/folio.yml` in this repository",
            Self::OrgDotGithub => "`.github/folio.yml` in the organisation's `.github` repository",
            Self::Unspecified => "`.github/folio.yml`",
        })
    }
}

/// A configuration that cannot be used. Its `Display` is meant for the tracking issue: the
/// file, the key, the line, what is wrong and what the key may be.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct RepoConfigError {
    pub file: ConfigFile,
    /// Dotted key path (`limits.pull_request_links`); `None` when the whole file is at fault.
    pub key: Option<String>,
    /// 1-based line, when the parser knows it.
    pub line: Option<usize>,
    pub problem: String,
}

impl fmt::Display for RepoConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(k) = &self.key {
            write!(f, ", key `{k}`")?;
        }
        if let Some(l) = self.line {
            write!(f, " (line {l})")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl RepoConfigError {
    pub(super) fn at(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            file: ConfigFile::Unspecified,
            key: Some(key.into()),
            line: None,
            problem: problem.into(),
        }
    }

    pub(super) fn in_file(mut self, file: ConfigFile) -> Self {
        self.file = file;
        self
    }
}

pub(super) fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(" column ") => msg[..i].to_string(),
        _ => msg.to_string(),
    }
}

/// yaml_serde starts some messages with the key path (`limits.x: …`); the error names the key
/// itself, so drop it rather than say it twice.
pub(super) fn strip_path(msg: &str) -> String {
    match msg.split_once(": ") {
        Some((head, rest))
            if !head.is_empty()
                && head
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']')) =>
        {
            rest.to_string()
        }
        _ => msg.to_string(),
    }
}

/// serde's messages, in words for someone editing a YAML file.
pub(super) fn humanise(msg: &str) -> String {
    let mut m = msg
        .replace("unknown field", "unknown key")
        .replace("unknown variant", "unknown value")
        .replace(", expected one of", "; it may be one of")
        .replace(", there are no fields", "; this section takes no keys")
        .replace("invalid type: string", "wrong type: found the text")
        .replace("invalid type: integer", "wrong type: found the number")
        .replace(
            "invalid type: floating point",
            "wrong type: found the number",
        )
        .replace("invalid type: boolean", "wrong type: found")
        .replace("invalid type: sequence", "wrong type: found a list")
        .replace("invalid type: map", "wrong type: found a mapping")
        .replace("invalid type: unit value", "wrong type: found nothing")
        .replace("invalid value: integer", "wrong value: the number");
    for (from, to) in [
        ("expected u32", "expected a whole number of 0 or more"),
        ("expected u64", "expected a whole number of 0 or more"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected a mapping of keys to values"),
        ("expected a string", "expected text"),
        (", expected `", "; it may be `"),
    ] {
        m = m.replace(from, to);
    }
    if let Some(i) = m.find("expected struct ") {
        m.truncate(i);
        m.push_str("expected a mapping of keys to values");
    }
    m
}
