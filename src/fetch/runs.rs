//! What ran on a repository: the check runs of a commit, and the newest completed workflow
//! runs with the jobs of those the analysis judges, read from the head's check runs where
//! they are there already and else one job listing per run, within a bound.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};
use tracing::debug;

use super::{CONCURRENCY, Fetcher, ts};
use crate::github::types::CheckRuns;
use crate::snapshot::{CheckRun, WorkflowJob, WorkflowRun};

/// Job listings read per repository (one request each): one per workflow file, newest
/// first. A run beyond the bound keeps `jobs: None` and is judged by its own conclusion.
pub(crate) const MAX_JOB_REQUESTS: usize = 8;

/// The completed check runs of the default branch's head, by check suite: an Actions run's
/// jobs, when the run is at that commit.
pub(super) struct HeadJobs {
    pub(super) sha: String,
    by_suite: HashMap<u64, Vec<WorkflowJob>>,
}

/// The completed check runs of a page by check suite, and the commit they are of. `None`
/// when the page does not hold every check run of the commit: a suite's jobs could be
/// missing from it.
pub(super) fn head_jobs(checks: &CheckRuns) -> Option<HeadJobs> {
    if checks
        .total_count
        .is_none_or(|t| t > checks.check_runs.len() as u64)
    {
        return None;
    }
    let mut by_suite: HashMap<u64, Vec<WorkflowJob>> = HashMap::new();
    for c in &checks.check_runs {
        let Some(suite) = c.check_suite.as_ref().and_then(|s| s.id) else {
            continue;
        };
        if c.status.as_deref() != Some("completed") {
            continue;
        }
        by_suite.entry(suite).or_default().push(WorkflowJob {
            name: c.name.clone().unwrap_or_default(),
            conclusion: c.conclusion.clone(),
            html_url: c.html_url.clone(),
        });
    }
    Some(HeadJobs {
        sha: head_sha(checks)?,
        by_suite,
    })
}

/// The commit the check runs are of: every run names it.
pub(super) fn head_sha(checks: &CheckRuns) -> Option<String> {
    checks
        .check_runs
        .iter()
        .find_map(|c| c.head_sha.as_deref())
        .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string)
}

/// The check runs as the snapshot keeps them.
pub(super) fn check_runs(checks: CheckRuns) -> Vec<CheckRun> {
    checks
        .check_runs
        .into_iter()
        .map(|c| CheckRun {
            name: c.name.unwrap_or_default(),
            status: c.status.unwrap_or_default(),
            conclusion: c.conclusion,
            app_slug: c.app.and_then(|a| a.slug),
        })
        .collect()
}

/// The runs whose jobs are read, newest first, at most [`MAX_JOB_REQUESTS`]: per workflow
/// file the latest completed run on `default_branch`, else its latest completed run on any
/// ref. `runs` is sorted newest first.
fn runs_needing_jobs(runs: &[(u64, WorkflowRun)], default_branch: &str) -> Vec<u64> {
    let completed = || runs.iter().filter(|(_, r)| r.status == "completed");
    let mut paths: Vec<&str> = Vec::new();
    for (_, r) in completed() {
        if !paths.contains(&r.workflow_path.as_str()) {
            paths.push(&r.workflow_path);
        }
    }
    let mut out = Vec::new();
    for path in paths {
        let of_path = || completed().filter(|(_, r)| r.workflow_path == path);
        let pick = of_path()
            .find(|(_, r)| r.head_branch.as_deref() == Some(default_branch))
            .or_else(|| of_path().next());
        if let Some((id, _)) = pick {
            out.push(*id);
        }
        if out.len() >= MAX_JOB_REQUESTS {
            break;
        }
    }
    out
}

impl Fetcher<'_> {
    /// The repository's newest completed workflow runs (one listing), with the jobs of the
    /// runs the analysis judges: per workflow file, the latest on the default branch, or,
    /// for a workflow with no default-branch run (tag- and release-triggered ones), the
    /// latest on any ref. `None` when the listing failed: unknown, never "did not run".
    pub(super) async fn workflow_runs(
        &self,
        full: &str,
        default_branch: &str,
        head_jobs: Option<&HeadJobs>,
    ) -> Option<Vec<WorkflowRun>> {
        let listed = match self.session.workflow_runs(full).await {
            Ok(l) => l,
            Err(e) => {
                debug!(repo = full, error = %e, "workflow runs not fetched");
                return None;
            }
        };
        // A run at the default branch's head reports its jobs as check runs of that commit,
        // in its check suite: those were read already, so its jobs cost no request.
        let mut known_jobs: HashMap<u64, Vec<WorkflowJob>> = HashMap::new();
        if let Some(head) = head_jobs {
            for r in &listed {
                if r.head_sha.as_deref() == Some(head.sha.as_str())
                    && let Some(jobs) = r.check_suite_id.and_then(|s| head.by_suite.get(&s))
                {
                    known_jobs.insert(r.id, jobs.clone());
                }
            }
        }
        let mut runs: Vec<(u64, WorkflowRun)> = listed
            .into_iter()
            .filter_map(|r| {
                let path = r.path?;
                let path = match path.split_once('@') {
                    Some((p, _)) => p.to_string(),
                    None => path,
                };
                Some((
                    r.id,
                    WorkflowRun {
                        workflow_path: path,
                        event: r.event.unwrap_or_default(),
                        head_branch: r.head_branch,
                        status: r.status.unwrap_or_default(),
                        conclusion: r.conclusion,
                        html_url: r.html_url?,
                        created_at: r.created_at.as_deref().and_then(ts)? * 1000,
                        jobs: None,
                    },
                ))
            })
            .collect();
        runs.sort_by_key(|(_, r)| std::cmp::Reverse(r.created_at));
        let mut wanted = runs_needing_jobs(&runs, default_branch);
        wanted.retain(|id| match known_jobs.remove(id) {
            Some(jobs) => {
                if let Some((_, run)) = runs.iter_mut().find(|(rid, _)| rid == id) {
                    run.jobs = Some(jobs);
                }
                false
            }
            None => true,
        });
        let jobs: Vec<(u64, Option<Vec<WorkflowJob>>)> = stream::iter(wanted)
            .map(|id| async move {
                let jobs = match self.session.workflow_run_jobs(full, id).await {
                    Ok(jobs) => Some(
                        jobs.into_iter()
                            .map(|j| WorkflowJob {
                                name: j.name.unwrap_or_default(),
                                conclusion: j.conclusion,
                                html_url: j.html_url,
                            })
                            .collect(),
                    ),
                    Err(e) => {
                        debug!(repo = full, run = id, error = %e, "run jobs not fetched");
                        None
                    }
                };
                (id, jobs)
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        for (id, j) in jobs {
            if let Some((_, run)) = runs.iter_mut().find(|(rid, _)| *rid == id) {
                run.jobs = j;
            }
        }
        Some(runs.into_iter().map(|(_, r)| r).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: u64, path: &str, branch: &str, at: i64) -> (u64, WorkflowRun) {
        (
            id,
            WorkflowRun {
                workflow_path: path.into(),
                event: "push".into(),
                head_branch: Some(branch.into()),
                status: "completed".into(),
                conclusion: Some("success".into()),
                html_url: format!("https://github.com/o/r/actions/runs/{id}"),
                created_at: at,
                jobs: None,
            },
        )
    }

    #[test]
    fn jobs_are_read_for_the_latest_default_branch_run_of_each_workflow() {
        // Newest first, as the listing gives them.
        let runs = vec![
            run(5, "ci.yml", "feature", 50),
            run(4, "ci.yml", "main", 40),
            run(3, "release.yml", "v1.0.0", 30),
            run(2, "ci.yml", "main", 20),
            run(1, "release.yml", "v0.9.0", 10),
        ];
        assert_eq!(runs_needing_jobs(&runs, "main"), vec![4, 3]);
    }

    #[test]
    fn job_requests_are_bounded_per_repository() {
        let runs: Vec<_> = (0..20)
            .map(|i| run(100 - i, &format!("w{i}.yml"), "main", 1000 - i as i64))
            .collect();
        let picked = runs_needing_jobs(&runs, "main");
        assert_eq!(picked.len(), MAX_JOB_REQUESTS);
        assert_eq!(picked[0], 100);
    }

    #[test]
    fn the_heads_check_runs_are_the_jobs_of_its_runs_by_check_suite() {
        let sha = "a".repeat(40);
        let run = |name: &str, suite: u64, conclusion: &str| {
            serde_json::json!({"name": name, "head_sha": sha, "status": "completed",
                "conclusion": conclusion, "html_url": format!("https://github.com/o/r/runs/{suite}"),
                "check_suite": {"id": suite}})
        };
        let checks: CheckRuns = serde_json::from_value(serde_json::json!({
            "total_count": 3,
            "check_runs": [run("test (3.11)", 7, "success"), run("test (3.12)", 7, "failure"), run("lint", 8, "success")],
        }))
        .unwrap();
        let jobs = head_jobs(&checks).expect("a complete page");
        assert_eq!(jobs.sha, sha);
        let of = |suite: u64| -> Vec<(String, Option<String>)> {
            jobs.by_suite[&suite]
                .iter()
                .map(|j| (j.name.clone(), j.conclusion.clone()))
                .collect()
        };
        assert_eq!(
            of(7),
            vec![
                ("test (3.11)".to_string(), Some("success".to_string())),
                ("test (3.12)".to_string(), Some("failure".to_string()))
            ]
        );
        assert_eq!(of(8).len(), 1);
        // A page that does not hold every check run could miss a suite's jobs.
        let cut: CheckRuns = serde_json::from_value(serde_json::json!({
            "total_count": 140,
            "check_runs": [run("lint", 8, "success")],
        }))
        .unwrap();
        assert!(head_jobs(&cut).is_none());
    }
}
