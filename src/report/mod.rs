//! Criteria and levels from the rubric (`config/rubric.toml`): turns what the analyzers found
//! into the report. Pure: no clock, no I/O.

mod criteria;
pub mod rubric;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

pub use criteria::kind_name;
pub use rubric::{
    CriterionFacts, Decision, LevelOverrides, Rubric, RubricError, RubricOverrides, Rule,
    criterion_of,
};

use criteria::criterion_result;

use crate::model::{
    Attribution, Criterion, FOLIO_VERSION, PracticeFinding, PracticeStatus, PullRequestSummary,
    Report, ReviewCommentSummary, ReviewSummary, Source,
};

/// One repository's practice findings, with how the repository is credited.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoPractices {
    /// `owner/name`; `None` for a local directory.
    pub repository: Option<String>,
    /// `owned` or `project`, or `authored` where the candidate's commits added the practice.
    /// A finding's own `attribution`, when set, wins over this.
    pub attribution: Attribution,
    pub findings: Vec<PracticeFinding>,
}

/// Everything the report is built from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportInput {
    pub candidate: Option<String>,
    pub sources: Vec<Source>,
    pub repo_practices: Vec<RepoPractices>,
    pub pull_requests: Vec<PullRequestSummary>,
    pub reviews: Vec<ReviewSummary>,
    pub review_comments: Vec<ReviewCommentSummary>,
    pub warnings: Vec<String>,
    pub api_requests: u64,
}

/// Builds the report: merges practices across repositories and computes the six criteria.
pub fn build(input: ReportInput, rubric: &Rubric) -> Report {
    let by_repo = flatten(&input.repo_practices);
    let order = rubric.practice_ids();
    let practices = merge(&by_repo, &order);
    let criteria = Criterion::ALL
        .into_iter()
        .map(|c| criterion_result(c, rubric, &by_repo, &input))
        .collect();
    Report {
        folio_version: FOLIO_VERSION.to_string(),
        candidate: input.candidate,
        sources: input.sources,
        practices,
        pull_requests: input.pull_requests,
        reviews: input.reviews,
        review_comments: input.review_comments,
        criteria,
        warnings: input.warnings,
        api_requests: input.api_requests,
        rubric_version: rubric.version().to_string(),
        practices_by_repository: by_repo,
        releases: Vec::new(),
    }
}

/// Every finding with its repository and effective attribution filled in.
fn flatten(repos: &[RepoPractices]) -> Vec<PracticeFinding> {
    let mut out = Vec::new();
    for rp in repos {
        for f in &rp.findings {
            let mut f = f.clone();
            f.attribution = Some(f.attribution.unwrap_or(rp.attribution));
            if f.repository.is_none() {
                f.repository.clone_from(&rp.repository);
            }
            // Keep `present` consistent with `status` whatever the detector set.
            f.present = f.status.present();
            out.push(f);
        }
    }
    out
}

fn is_credited(f: &PracticeFinding) -> bool {
    f.attribution.is_some_and(Attribution::is_credited)
}

pub(super) fn credited_present(f: &PracticeFinding) -> bool {
    f.status == PracticeStatus::Present && is_credited(f)
}

fn attribution_rank(a: Option<Attribution>) -> u8 {
    match a {
        Some(Attribution::Authored) => 4,
        Some(Attribution::Owned) => 3,
        Some(Attribution::Reviewed) => 2,
        Some(Attribution::Project | Attribution::Template) => 1,
        Some(Attribution::Unrelated) | None => 0,
    }
}

/// Orders findings of one practice: present before not, credited before context, exercised
/// before configured only.
fn finding_rank(f: &PracticeFinding) -> (bool, bool, bool, u8) {
    (
        f.status == PracticeStatus::Present,
        is_credited(f),
        f.exercised == Some(true),
        attribution_rank(f.attribution),
    )
}

fn merge(by_repo: &[PracticeFinding], order: &[String]) -> Vec<PracticeFinding> {
    let mut groups: BTreeMap<(usize, String), Vec<&PracticeFinding>> = BTreeMap::new();
    for f in by_repo {
        let pos = order
            .iter()
            .position(|id| *id == f.id)
            .unwrap_or(order.len());
        groups.entry((pos, f.id.clone())).or_default().push(f);
    }
    let several_repos = by_repo
        .iter()
        .map(|f| f.repository.as_deref())
        .collect::<BTreeSet<_>>()
        .len()
        > 1;
    groups
        .into_values()
        .filter_map(|mut group| {
            // Stable: ties keep the order the repositories were linked in.
            group.sort_by_key(|f| std::cmp::Reverse(finding_rank(f)));
            let primary = *group.first()?;
            let status = merged_status(&group);
            let mut merged = PracticeFinding::new(primary.id.clone(), status);
            merged.repository.clone_from(&primary.repository);
            if status == PracticeStatus::Present {
                merged.attribution = primary.attribution;
                merged.exercised = primary.exercised;
            } else {
                merged.exercised = if group.iter().all(|f| f.exercised.is_none()) {
                    None
                } else {
                    Some(false)
                };
            }
            for f in &group {
                // The entry names one repository, so its evidence comes from that one only;
                // the other repositories' evidence stays in `practices_by_repository`.
                if f.repository == primary.repository {
                    merged.evidence.extend(f.evidence.iter().cloned());
                }
                for note in &f.notes {
                    merged.notes.push(match (several_repos, &f.repository) {
                        (true, Some(repo)) => format!("{repo}: {note}"),
                        _ => note.clone(),
                    });
                }
            }
            Some(merged)
        })
        .collect()
}

/// Present anywhere wins; a file that could not be read makes absence unknowable, so it
/// outranks `absent`.
fn merged_status(group: &[&PracticeFinding]) -> PracticeStatus {
    let has = |s: PracticeStatus| group.iter().any(|f| f.status == s);
    if has(PracticeStatus::Present) {
        PracticeStatus::Present
    } else if has(PracticeStatus::CouldNotParse) {
        PracticeStatus::CouldNotParse
    } else if has(PracticeStatus::Absent) {
        PracticeStatus::Absent
    } else {
        PracticeStatus::NotAssessable
    }
}
