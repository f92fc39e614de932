//! Seen running: whether the CI job that runs a practice passed in the workflow's latest
//! completed run. Pure: reads the workflow runs the fetch layer put in the snapshot.
//!
//! Per practice (documented in docs/rubric.md):
//! - judged by the jobs that run its evidence line: lint, format_check, type_check, sast,
//!   tests_in_ci, mutation_testing, dependency_vuln_scan, sbom, signing, trusted_publishing,
//!   release_automation, matrix_build (the matrix job), ci_cache (the caching job),
//!   pre_commit (the job that runs `pre-commit`);
//! - judged by every job of the workflows it lives in: least_privilege_token and
//!   actions_pinned_by_sha (the token and the pinned actions are used by every job);
//! - coverage_gate and property_based_tests follow tests_in_ci when their evidence is a
//!   configuration file (the gate and the Hypothesis tests run where the tests run);
//! - lockfile, security_policy, changelog, semver_tags, release_notes and
//!   dependency_update_bot are not CI jobs and keep their own rule.

use super::common::command_specs;
use super::facts::Facts;
use super::table::PracticeTable;
use super::workflow::{Job, Workflow, is_workflow_path};
use crate::model::{Evidence, PracticeFinding, PracticeStatus};
use crate::snapshot::WorkflowRun;

/// The outcome of the latest completed run for the jobs that run a practice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Every leg concluded `success`.
    Passed { url: String, at_ms: i64 },
    /// A leg concluded `failure` or `timed_out`: ran, did not pass.
    DidNotPass { url: String, at_ms: i64 },
    /// Cancelled, skipped, no run, or the jobs could not be matched.
    Unknown,
}

/// Whether `name` (from the jobs API) is a run of `pattern` (the job's `name:` or its id):
/// matrix legs append ` (3.12, ubuntu-latest)`, reusable workflows ` / inner`, and an
/// expression in the name matches anything.
pub(crate) fn job_name_matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains("${{") {
        return name == pattern
            || name
                .strip_prefix(pattern)
                .is_some_and(|rest| rest.starts_with(" (") || rest.starts_with(" / "));
    }
    let mut pieces: Vec<&str> = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find("${{") {
        pieces.push(&rest[..open]);
        rest = rest[open..]
            .find("}}")
            .map_or("", |c| &rest[open + c + 2..]);
    }
    pieces.push(rest);
    let mut at = 0usize;
    for (i, piece) in pieces.iter().enumerate() {
        if piece.is_empty() {
            continue;
        }
        if i == 0 {
            if !name.starts_with(piece) {
                return false;
            }
            at = piece.len();
        } else {
            match name.get(at..).and_then(|s| s.find(piece)) {
                Some(p) => at += p + piece.len(),
                None => return false,
            }
        }
    }
    true
}

fn job_label(job: &Job) -> &str {
    job.name.as_deref().unwrap_or(&job.id)
}

/// Tag- or release-triggered workflows run on tags, so their latest run on any ref counts.
fn runs_on_any_ref(wf: &Workflow) -> bool {
    wf.triggers.iter().any(|t| t == "release")
        || !wf.triggers.iter().any(|t| {
            matches!(
                t.as_str(),
                "push" | "pull_request" | "schedule" | "merge_group"
            )
        })
}

/// Judges the jobs `labels` of the workflow at `path` by its latest completed run.
pub(crate) fn judge(
    runs: &[WorkflowRun],
    path: &str,
    labels: &[&str],
    default_branch: Option<&str>,
    any_ref: bool,
) -> Verdict {
    let latest = runs
        .iter()
        .filter(|r| r.workflow_path == path && r.status == "completed")
        .filter(|r| {
            any_ref || (default_branch.is_some() && r.head_branch.as_deref() == default_branch)
        })
        .max_by_key(|r| r.created_at);
    let Some(run) = latest else {
        return Verdict::Unknown;
    };
    let (url, at_ms) = (run.html_url.clone(), run.created_at);
    let Some(jobs) = &run.jobs else {
        // Without the jobs only a green run says something about every job in it.
        return if run.conclusion.as_deref() == Some("success") {
            Verdict::Passed { url, at_ms }
        } else {
            Verdict::Unknown
        };
    };
    let legs: Vec<_> = jobs
        .iter()
        .filter(|j| labels.iter().any(|l| job_name_matches(l, &j.name)))
        .collect();
    if legs.is_empty() {
        return Verdict::Unknown;
    }
    if legs
        .iter()
        .any(|j| matches!(j.conclusion.as_deref(), Some("failure" | "timed_out")))
    {
        return Verdict::DidNotPass { url, at_ms };
    }
    if legs
        .iter()
        .all(|j| j.conclusion.as_deref() == Some("success"))
    {
        return Verdict::Passed { url, at_ms };
    }
    Verdict::Unknown
}

/// Practices judged by every job of the workflows they live in.
const WORKFLOW_WIDE: &[&str] = &["least_privilege_token", "actions_pinned_by_sha"];
/// Practices that run where the tests run when their evidence is configuration.
const WITH_TESTS: &[&str] = &["coverage_gate", "property_based_tests"];
/// Practices whose exercise is not a CI job.
const NOT_CI: &[&str] = &[
    "lockfile",
    "security_policy",
    "changelog",
    "semver_tags",
    "release_notes",
    "dependency_update_bot",
];

fn add(out: &mut Vec<(usize, Vec<usize>)>, wi: usize, ji: usize) {
    match out.iter_mut().find(|(w, _)| *w == wi) {
        Some((_, js)) if !js.contains(&ji) => js.push(ji),
        Some(_) => {}
        None => out.push((wi, vec![ji])),
    }
}

/// (workflow index, job indexes) that run one piece of evidence.
fn jobs_of(f: &Facts, id: &str, e: &Evidence, table: &PracticeTable) -> Vec<(usize, Vec<usize>)> {
    let (Some(path), Some(line)) = (e.path.as_deref(), e.line) else {
        return Vec::new();
    };
    let mut out: Vec<(usize, Vec<usize>)> = Vec::new();
    for c in f.ci.iter().filter(|c| c.path == path && c.line == line) {
        if let Some((wi, ji)) = c.job {
            add(&mut out, wi, ji);
        }
    }
    for u in f.uses.iter().filter(|u| u.path == path && u.line == line) {
        if let Some((wi, ji)) = u.job {
            add(&mut out, wi, ji);
        }
    }
    if out.is_empty()
        && let Some(wi) = f.workflows.iter().position(|w| w.path == path)
    {
        let wf = &f.workflows[wi];
        if WORKFLOW_WIDE.contains(&id) {
            for ji in 0..wf.jobs.len() {
                add(&mut out, wi, ji);
            }
        } else if let Some(ji) = wf.jobs.iter().rposition(|j| j.line <= line) {
            add(&mut out, wi, ji);
        }
    }
    if out.is_empty() && !is_workflow_path(path) {
        // A pre-commit hook or a configuration file: the jobs that run the tool behind it.
        let via = if id == "pre_commit" || path.starts_with(".pre-commit-config") {
            Some("pre_commit")
        } else if WITH_TESTS.contains(&id) {
            Some("tests_in_ci")
        } else {
            None
        };
        if let Some(def) = via.and_then(|v| table.get(v)) {
            let specs = command_specs(def);
            for c in f.ci_matching(&specs) {
                if let Some((wi, ji)) = c.job {
                    add(&mut out, wi, ji);
                }
            }
        }
    }
    if WORKFLOW_WIDE.contains(&id) {
        for (wi, js) in &mut out {
            *js = (0..f.workflows[*wi].jobs.len()).collect();
        }
    }
    out
}

/// Sets `exercised` of every present CI practice from the workflow runs, and adds the run's
/// link and date to its evidence. A practice that was already seen running another way keeps
/// it; unknown runs never take anything away.
pub(crate) fn apply(f: &Facts, table: &PracticeTable, findings: &mut [PracticeFinding]) {
    let Some(activity) = &f.snap.activity else {
        return;
    };
    let Some(runs) = &activity.workflow_runs else {
        return;
    };
    let branch = activity.default_branch.as_deref();
    for finding in findings.iter_mut() {
        if finding.status != PracticeStatus::Present || NOT_CI.contains(&finding.id.as_str()) {
            continue;
        }
        let mut passed: Option<(String, i64)> = None;
        let mut failed: Option<(String, i64)> = None;
        for e in &finding.evidence {
            for (wi, js) in jobs_of(f, &finding.id, e, table) {
                let Some(wf) = f.workflows.get(wi) else {
                    continue;
                };
                let labels: Vec<&str> = js
                    .iter()
                    .filter_map(|j| wf.jobs.get(*j))
                    .map(job_label)
                    .collect();
                match judge(runs, &wf.path, &labels, branch, runs_on_any_ref(wf)) {
                    Verdict::Passed { url, at_ms } => {
                        if passed.as_ref().is_none_or(|(_, t)| at_ms > *t) {
                            passed = Some((url, at_ms));
                        }
                    }
                    Verdict::DidNotPass { url, at_ms } => failed = Some((url, at_ms)),
                    Verdict::Unknown => {}
                }
            }
        }
        let (exercised, run, words) = match (passed, failed) {
            (Some(p), _) => (true, p, "passed"),
            (None, Some(fl)) => (false, fl, "ran, did not pass"),
            (None, None) => continue,
        };
        if finding.exercised != Some(true) {
            finding.exercised = Some(exercised);
        }
        finding.evidence.push(Evidence {
            url: Some(run.0),
            path: None,
            line: None,
            detail: format!("latest completed workflow run ({}): {words}", date(run.1)),
        });
    }
}

/// `YYYY-MM-DD` of a time in milliseconds (UTC).
fn date(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests;
