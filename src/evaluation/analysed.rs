//! Each repository's practices, analysed once per evaluation: attribution and the report
//! read the same result. Analysis is CPU work on untrusted files, so it runs off the async
//! threads, one repository at a time, and under crash-loop protection: the start is written
//! down before each repository and cleared when it returns, and a repository whose analysis
//! twice never returned (the process was killed) is not analysed again for the submission.

use std::collections::HashMap;

use tracing::warn;

use crate::analyze::practices::{PracticeTable, RepoOutcome, analyze_repo_guarded};
use crate::fetch::{FetchedRepo, Portfolio};
use crate::model::{PracticeFinding, RepoAttribution};
use crate::snapshot::RepoSnapshot;
use crate::store::{AnalysisKey, Store, StoreError};

/// Analyses of a repository at one commit that started and never returned, after which it is
/// skipped: one may be bad luck (a restart, an unrelated kill), two is the file.
pub(crate) const MAX_UNCLEAN_ENDS: i64 = 2;

/// What one repository's analysis gave.
#[derive(Debug, Clone)]
pub(crate) enum RepoAnalysis {
    Analysed {
        findings: Vec<PracticeFinding>,
        /// Files that could not be read, each already worded for the report.
        notes: Vec<String>,
    },
    /// Not analysed within Folio's limits: its practices are unknown.
    Unknown { warning: String },
}

/// The analyses of one evaluation, by lower-case `owner/name`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Analyses(HashMap<String, RepoAnalysis>);

impl Analyses {
    pub(crate) fn of(&self, repo: &FetchedRepo) -> Option<&RepoAnalysis> {
        self.0.get(&repo.meta.full_name.to_ascii_lowercase())
    }
}

/// How one repository is analysed; tests count the calls.
pub(crate) type Analyser = fn(&RepoSnapshot, &PracticeTable) -> RepoOutcome;

/// The analyser of the service and `folio evaluate`.
pub(crate) const ANALYSER: Analyser = analyze_repo_guarded;

/// Where starts are written down: the service's store, for one submission. `folio evaluate`
/// has none (a crash there ends one command, not a loop).
#[derive(Clone, Copy)]
pub(crate) struct AttemptLog<'a> {
    pub(crate) store: &'a dyn Store,
    pub(crate) submission_id: i64,
}

/// The words for a repository left unknown, the same as for a file that trips a parser.
pub(crate) fn over_limits_warning(full_name: &str) -> String {
    format!("a file in {full_name} could not be analysed within Folio's limits")
}

/// Analyses every repository the report credits (the candidate's own, and projects they
/// contributed to), each once.
pub(crate) async fn analyse_portfolio(
    portfolio: &Portfolio,
    table: &PracticeTable,
    log: Option<AttemptLog<'_>>,
    analyser: Analyser,
) -> Result<Analyses, StoreError> {
    let mut out = HashMap::new();
    for repo in &portfolio.repositories {
        if repo.attribution == RepoAttribution::Unrelated {
            continue;
        }
        let name = repo.meta.full_name.to_ascii_lowercase();
        if out.contains_key(&name) {
            continue;
        }
        let commit = repo.snapshot.commit.clone().unwrap_or_default();
        let key = log.map(|l| {
            (
                l.store,
                AnalysisKey {
                    submission_id: l.submission_id,
                    repo: &name,
                    commit_sha: &commit,
                },
            )
        });
        if let Some((store, key)) = key {
            let unclean = store.unclean_analysis_ends(key).await?;
            if unclean >= MAX_UNCLEAN_ENDS {
                warn!(repo = %repo.meta.full_name, commit = %commit, unclean, "analysis ended the process before; skipped");
                let warning = over_limits_warning(&repo.meta.full_name);
                out.insert(name, RepoAnalysis::Unknown { warning });
                continue;
            }
            store.analysis_started(key).await?;
        }
        let (snapshot, owned_table) = (repo.snapshot.clone(), table.clone());
        let outcome = tokio::task::spawn_blocking(move || analyser(&snapshot, &owned_table)).await;
        // It returned, whatever it found: nothing is held against it next time.
        if let Some((store, key)) = key {
            store.analysis_ended(key).await?;
        }
        let analysis = match outcome {
            Ok(RepoOutcome::Analysed { findings, warnings }) => RepoAnalysis::Analysed {
                findings,
                notes: warnings
                    .into_iter()
                    .map(|n| format!("{}: {n}", repo.meta.full_name))
                    .collect(),
            },
            Ok(RepoOutcome::OverLimits { warning }) => RepoAnalysis::Unknown { warning },
            Err(e) => {
                warn!(repo = %repo.meta.full_name, error = %e, "analysis task failed");
                RepoAnalysis::Unknown {
                    warning: over_limits_warning(&repo.meta.full_name),
                }
            }
        };
        out.insert(name, analysis);
    }
    Ok(Analyses(out))
}

#[cfg(test)]
mod tests {
    /// The evaluation analyses a repository in one place only, so that attribution and the
    /// report cannot each run their own analysis again.
    #[test]
    fn the_evaluation_calls_the_analysis_from_this_module_alone() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/evaluation");
        let mut callers = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            if code.contains("analyze_repo_guarded") || code.contains("analyze_repo_with_warnings")
            {
                callers.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        assert_eq!(callers, ["analysed.rs"]);
    }
}
