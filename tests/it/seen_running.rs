//! Stories of "seen running" against the fake GitHub: the workflow runs of an owned
//! repository decide whether its CI practices ran and passed, and a failed lookup never
//! lowers a level.

use crate::harness;
use crate::support;

use std::time::Duration;

use crate::evaluation::{CI, start};
use harness::TestApp;
use serde_json::Value;
use support::fake_github::{CommitSpec, Event, FakeGitHub, Fault, Matcher};

const HIRING: &str = "acme/hiring";
const INSTALLATION: u64 = 42;
const WAIT: Duration = Duration::from_secs(30);

const DEPENDABOT: &str = "version: 2
updates:
  - package-ecosystem: pip
    directory: /
    schedule:
      interval: weekly
";

const LOCK: &str = "version = 1\nrequires-python = \">=3.11\"\n";

/// The hiring org with Folio installed and the candidate's own repository: CI on every push,
/// Dependabot with one merged pull request, and `ci_conclusion` for both matrix legs of the
/// latest default-branch run (after an older, failed one).
fn world(gh: &FakeGitHub, ci_conclusion: &str) {
    gh.installation(INSTALLATION)
        .organization("acme")
        .repos(&[HIRING]);
    gh.repo(HIRING).public();
    gh.user("octocat").name("The Octocat");
    gh.repo("octocat/hello")
        .public()
        .commit(
            CommitSpec::new("Start hello")
                .author("octocat")
                .file(
                    "pyproject.toml",
                    "[project]\nname = \"hello\"\nversion = \"1.0.0\"\n",
                )
                .file("uv.lock", LOCK)
                .file(".github/workflows/ci.yml", CI)
                .file(".github/dependabot.yml", DEPENDABOT)
                .file("src/hello/__init__.py", "def hello():\n    return 'hi'\n")
                .file(
                    "tests/test_hello.py",
                    "from hello import hello\n\ndef test_hello():\n    assert hello() == 'hi'\n",
                ),
        )
        .workflow_run(
            ".github/workflows/ci.yml",
            "push",
            "main",
            &[("test (3.11)", "failure"), ("test (3.12)", "success")],
        )
        .workflow_run(
            ".github/workflows/ci.yml",
            "push",
            "main",
            &[
                ("test (3.11)", ci_conclusion),
                ("test (3.12)", ci_conclusion),
            ],
        );
    gh.pull("octocat/hello", 7)
        .author("dependabot[bot]")
        .title("Bump ruff")
        .merged();
}

fn form(repo: &str) -> String {
    format!(
        "### GitHub username\n\noctocat\n\n### Pull requests\n\n_No response_\n\n### Repositories\n\n{repo}\n\n### Notes\n\n_No response_\n"
    )
}

async fn evaluate(gh: &FakeGitHub) -> (TestApp, Value) {
    let app = start(gh).await;
    gh.issue(HIRING, 1)
        .author("octocat")
        .title("Candidate portfolio")
        .body(&form("https://github.com/octocat/hello"));
    let status = gh
        .send_webhook(Event::IssueOpened {
            repo: HIRING.into(),
            number: 1,
        })
        .await;
    assert_eq!(status, 202);
    app.wait_idle(WAIT).await;
    gh.evidence_comment(HIRING, 1);
    let report = app.last_report(HIRING, 1).await;
    (app, report)
}

fn practice<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["practices"]
        .as_array()
        .expect("practices")
        .iter()
        .find(|p| p["id"] == id && p["repository"] == "octocat/hello")
        .unwrap_or_else(|| panic!("no {id} for octocat/hello in {report:#}"))
}

fn run_links(p: &Value) -> Vec<String> {
    p["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter_map(|e| e["url"].as_str())
        .filter(|u| u.contains("/actions/runs/"))
        .map(str::to_string)
        .collect()
}

fn rank(level: &str) -> u8 {
    match level {
        "not_assessed" => 0,
        "none" => 1,
        "some" => 2,
        "strong" => 3,
        other => panic!("unknown level {other}"),
    }
}

fn levels(report: &Value) -> Vec<(String, String)> {
    report["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_string(),
                c["level"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_green_default_branch_run_shows_the_ci_practices_seen_running_with_its_link() {
    let gh = FakeGitHub::start().await;
    world(&gh, "success");
    let (_app, report) = evaluate(&gh).await;

    // The listing was read once. The latest default-branch run is at the branch's head, whose
    // check runs (read already) are its jobs, in its check suite: no jobs request.
    let requests: Vec<String> = gh
        .requests()
        .into_iter()
        .map(|r| r.path_and_query)
        .filter(|p| p.contains("/actions/runs"))
        .collect();
    assert_eq!(
        requests
            .iter()
            .filter(|p| p.contains("/actions/runs?"))
            .count(),
        1,
        "{requests:#?}"
    );
    assert_eq!(
        requests.iter().filter(|p| p.contains("/jobs")).count(),
        0,
        "{requests:#?}"
    );

    for id in ["tests_in_ci", "lint", "type_check", "matrix_build"] {
        let p = practice(&report, id);
        assert_eq!(p["exercised"], true, "{id}: {p:#}");
        let links = run_links(p);
        assert_eq!(links.len(), 1, "{id}: {p:#}");
        assert!(
            links[0].starts_with("https://github.com/octocat/hello/actions/runs/"),
            "{links:?}"
        );
    }
}

/// A commit pushed after the latest run (no CI for it) leaves that run behind the head: the
/// head's check runs are not its jobs, so they are read, with one request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobs_of_a_run_behind_the_head_are_read_with_one_request() {
    let gh = FakeGitHub::start().await;
    world(&gh, "success");
    gh.repo("octocat/hello").commit(
        CommitSpec::new("Docs")
            .author("octocat")
            .file("README.md", "# hello\n"),
    );
    let (_app, report) = evaluate(&gh).await;
    let jobs = gh
        .requests()
        .into_iter()
        .filter(|r| r.path_and_query.contains("/jobs"))
        .count();
    assert_eq!(jobs, 1);
    assert_eq!(practice(&report, "lint")["exercised"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_latest_run_is_ran_did_not_pass_not_seen_running() {
    let gh = FakeGitHub::start().await;
    world(&gh, "failure");
    let (_app, report) = evaluate(&gh).await;
    let p = practice(&report, "lint");
    assert_eq!(p["exercised"], false, "{p:#}");
    let details: Vec<&str> = p["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert!(
        details.iter().any(|d| d.contains("ran, did not pass")),
        "{details:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_search_call_lowers_no_level_and_keeps_what_the_other_search_found() {
    let clean = FakeGitHub::start().await;
    world(&clean, "success");
    let (_app, baseline) = evaluate(&clean).await;
    assert_eq!(
        practice(&baseline, "dependency_update_bot")["exercised"],
        true
    );

    let faulty = FakeGitHub::start().await;
    world(&faulty, "success");
    faulty.fail_next(
        Matcher::prefix("/search/issues").query_contains("author:app/renovate"),
        Fault::Status(422),
        10,
    );
    let (_app2, report) = evaluate(&faulty).await;
    assert!(
        faulty
            .requests()
            .iter()
            .any(|r| r.path_and_query.starts_with("/search/issues") && r.status == 422),
        "the renovate search was made and failed"
    );
    // Dependabot's merged pull request was found by the search that answered.
    assert_eq!(
        practice(&report, "dependency_update_bot")["exercised"],
        true
    );
    let before = levels(&baseline);
    let after = levels(&report);
    assert_eq!(before.len(), after.len());
    for ((id, was), (id2, is)) in before.iter().zip(&after) {
        assert_eq!(id, id2);
        assert!(
            rank(is) >= rank(was),
            "{id} dropped from {was} to {is} with a failing search"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failed_search_leaves_the_bot_practice_unknown_never_not_exercised() {
    let gh = FakeGitHub::start().await;
    world(&gh, "success");
    gh.fail_next(Matcher::prefix("/search/issues"), Fault::Status(422), 10);
    let (_app, report) = evaluate(&gh).await;
    assert_eq!(
        practice(&report, "dependency_update_bot")["exercised"],
        Value::Null
    );
}
