use super::*;
use crate::analyze::practices::{PracticeTable, analyze_repo};
use crate::snapshot::{RepoActivity, RepoSnapshot, WorkflowJob};

const CI: &str = "name: CI
on:
  push:
    branches: [main]
  pull_request:
permissions:
  contents: read
jobs:
  test:
    name: test
    strategy:
      matrix:
        python: ['3.11', '3.12']
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-python@v5
        with:
          cache: pip
      - run: ruff check .
      - run: mypy src
      - run: pytest
";

/// A run in the shape of `GET /repos/{o}/{r}/actions/runs` and its jobs listing.
fn run_from_api(run: &str, jobs: Option<&str>) -> WorkflowRun {
    let r: serde_json::Value = serde_json::from_str(run).expect("run json");
    let s = |k: &str| r[k].as_str().map(str::to_string);
    let path = s("path").unwrap_or_default();
    WorkflowRun {
        workflow_path: path.split('@').next().unwrap_or("").to_string(),
        event: s("event").unwrap_or_default(),
        head_branch: s("head_branch"),
        status: s("status").unwrap_or_default(),
        conclusion: s("conclusion"),
        html_url: s("html_url").unwrap_or_default(),
        created_at: 1_579_721_588_000,
        jobs: jobs.map(|j| {
            let v: serde_json::Value = serde_json::from_str(j).expect("jobs json");
            v["jobs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|j| WorkflowJob {
                    name: j["name"].as_str().unwrap_or("").to_string(),
                    conclusion: j["conclusion"].as_str().map(str::to_string),
                    html_url: j["html_url"].as_str().map(str::to_string),
                })
                .collect()
        }),
    }
}

fn api_run(branch: &str, conclusion: &str) -> String {
    format!(
        r#"{{"id": 30433642, "name": "CI", "path": ".github/workflows/ci.yml@{branch}", "event": "push",
        "head_branch": "{branch}", "status": "completed", "conclusion": "{conclusion}",
        "html_url": "https://github.com/octo-org/octo-repo/actions/runs/30433642",
        "created_at": "2020-01-22T19:33:08Z"}}"#
    )
}

fn api_jobs(legs: &[(&str, &str)]) -> String {
    let jobs: Vec<String> = legs
        .iter()
        .enumerate()
        .map(|(i, (name, c))| {
            format!(
                r#"{{"id": {i}, "run_id": 30433642, "name": "{name}", "status": "completed", "conclusion": "{c}",
                "html_url": "https://github.com/octo-org/octo-repo/runs/29679449/jobs/{i}"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"total_count": {}, "jobs": [{}]}}"#,
        legs.len(),
        jobs.join(",")
    )
}

fn exercised(runs: Option<Vec<WorkflowRun>>) -> Vec<(String, Option<bool>, usize)> {
    let snap = RepoSnapshot {
        full_name: Some("octo-org/octo-repo".into()),
        files: [(".github/workflows/ci.yml".to_string(), CI.to_string())].into(),
        activity: Some(RepoActivity {
            default_branch: Some("main".into()),
            workflow_runs: runs,
            ..Default::default()
        }),
        ..Default::default()
    };
    let table = PracticeTable::builtin();
    analyze_repo(&snap, &table)
        .into_iter()
        .filter(|f| {
            [
                "lint",
                "type_check",
                "tests_in_ci",
                "matrix_build",
                "ci_cache",
                "least_privilege_token",
            ]
            .contains(&f.id.as_str())
        })
        .map(|f| {
            let links = f
                .evidence
                .iter()
                .filter(|e| {
                    e.url
                        .as_deref()
                        .is_some_and(|u| u.contains("/actions/runs/"))
                })
                .count();
            (f.id, f.exercised, links)
        })
        .collect()
}

#[test]
fn every_leg_green_is_seen_running_with_the_run_link() {
    let legs = api_jobs(&[("test (3.11)", "success"), ("test (3.12)", "success")]);
    let got = exercised(Some(vec![run_from_api(
        &api_run("main", "success"),
        Some(&legs),
    )]));
    assert_eq!(got.len(), 6);
    for (id, ex, links) in got {
        assert_eq!(ex, Some(true), "{id}");
        assert_eq!(links, 1, "{id}");
    }
}

#[test]
fn one_failed_leg_is_ran_did_not_pass() {
    let legs = api_jobs(&[("test (3.11)", "success"), ("test (3.12)", "failure")]);
    let got = exercised(Some(vec![run_from_api(
        &api_run("main", "failure"),
        Some(&legs),
    )]));
    for (id, ex, links) in got {
        assert_eq!(ex, Some(false), "{id}");
        assert_eq!(links, 1, "{id}");
    }
}

#[test]
fn cancelled_skipped_other_branches_and_unfetched_runs_are_unknown() {
    let cancelled = api_jobs(&[("test (3.11)", "cancelled"), ("test (3.12)", "success")]);
    let skipped = api_jobs(&[("test (3.11)", "skipped"), ("test (3.12)", "skipped")]);
    for runs in [
        Some(vec![run_from_api(
            &api_run("main", "cancelled"),
            Some(&cancelled),
        )]),
        Some(vec![run_from_api(
            &api_run("main", "success"),
            Some(&skipped),
        )]),
        Some(vec![run_from_api(&api_run("feature", "success"), None)]),
        Some(vec![]),
        None,
    ] {
        for (id, ex, links) in exercised(runs.clone()) {
            assert_eq!(ex, None, "{id} {runs:?}");
            assert_eq!(links, 0, "{id}");
        }
    }
}

#[test]
fn a_green_run_without_its_jobs_counts_and_a_red_one_stays_unknown() {
    let green = exercised(Some(vec![run_from_api(&api_run("main", "success"), None)]));
    assert!(green.iter().all(|(_, ex, _)| *ex == Some(true)));
    let red = exercised(Some(vec![run_from_api(&api_run("main", "failure"), None)]));
    assert!(red.iter().all(|(_, ex, _)| ex.is_none()));
}

#[test]
fn job_names_match_matrix_legs_reusable_calls_and_expressions() {
    assert!(job_name_matches("test", "test"));
    assert!(job_name_matches("test", "test (3.12, ubuntu-latest)"));
    assert!(job_name_matches("ci", "ci / lint"));
    assert!(!job_name_matches("test", "tests"));
    assert!(!job_name_matches("test", "lint (test)"));
    assert!(job_name_matches(
        "Python ${{ matrix.python }}",
        "Python 3.12"
    ));
    assert!(job_name_matches(
        "${{ matrix.os }} / py${{ matrix.py }}",
        "ubuntu / py3.12"
    ));
    assert!(!job_name_matches("Python ${{ matrix.python }}", "Lint"));
}

#[test]
fn run_dates_are_civil_dates() {
    assert_eq!(date(1_579_721_588_000), "2020-01-22");
    assert_eq!(date(0), "1970-01-01");
    assert_eq!(date(951_782_400_000), "2000-02-29");
}
