//! The checks serde cannot make: ranges of the limits, label names, practice ids and the
//! rubric's thresholds.

use std::collections::BTreeSet;

use super::{RepoConfig, RepoConfigError};
use crate::report::rubric::{self, RubricError};

/// GitHub refuses label names longer than this.
const MAX_LABEL_CHARS: usize = 50;

/// Every value of a parsed configuration within what it may be.
pub(super) fn validate(c: &RepoConfig) -> Result<(), RepoConfigError> {
    let l = &c.limits;
    for (key, value, min, max) in [
        ("limits.pull_request_links", l.pull_request_links, 1, 100),
        ("limits.repository_links", l.repository_links, 1, 50),
        (
            "limits.reevaluations_per_hour",
            l.reevaluations_per_hour,
            1,
            60,
        ),
        ("limits.submissions_per_day", l.submissions_per_day, 0, 100),
        ("limits.max_tarball_mb", l.max_tarball_mb, 1, 2048),
    ] {
        if !(min..=max).contains(&value) {
            return Err(RepoConfigError::at(
                key,
                format!("{value} is out of range; it may be a whole number from {min} to {max}"),
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for (key, label) in [
        ("labels.evaluated", &c.labels.evaluated),
        ("labels.needs_info", &c.labels.needs_info),
        ("labels.submission", &c.labels.submission),
    ] {
        let trimmed = label.trim();
        if trimmed.is_empty()
            || label.chars().count() > MAX_LABEL_CHARS
            || label.chars().any(char::is_control)
        {
            return Err(RepoConfigError::at(
                key,
                format!("it may be a label name of 1 to {MAX_LABEL_CHARS} characters on one line"),
            ));
        }
        if !seen.insert(trimmed.to_lowercase()) {
            return Err(RepoConfigError::at(
                key,
                "each label must differ from the others (GitHub ignores case)",
            ));
        }
    }
    if let Some(practices) = &c.practices {
        let known = rubric::known_practice_ids();
        for (id, extra) in practices {
            if !known.contains(id) {
                return Err(RepoConfigError::at(
                    format!("practices.{id}"),
                    format!("unknown practice id; it may be one of {}", known.join(", ")),
                ));
            }
            for (field, list) in [
                ("tools", &extra.tools),
                ("actions", &extra.actions),
                ("hooks", &extra.hooks),
                ("commands", &extra.commands),
                ("files", &extra.files),
            ] {
                if list.iter().any(|s| s.trim().is_empty() || s.len() > 200) {
                    return Err(RepoConfigError::at(
                        format!("practices.{id}.{field}"),
                        "each entry may be a non-empty text of at most 200 characters",
                    ));
                }
            }
        }
    }
    if c.rubric.is_some() {
        c.rubric().map_err(|e| match e {
            RubricError::Invalid { key, problem } => {
                RepoConfigError::at(format!("rubric.{key}"), problem)
            }
            RubricError::Parse(p) => RepoConfigError::at("rubric", p),
        })?;
    }
    Ok(())
}
