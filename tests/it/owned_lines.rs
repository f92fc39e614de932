//! Stories of owned repositories credited line by line against the fake GitHub: what came
//! with a cookiecutter template is `template`, what another person added is `project`, what
//! the candidate's commits added is `authored`, and a contributors lookup that fails leaves the
//! repository's practices `owned`. The comment says which, in words.

use crate::support;

use std::time::Duration;

use crate::evaluation::start;
use serde_json::Value;
use support::fake_github::{CommitSpec, Event, FakeGitHub, Fault, Matcher};

const HIRING: &str = "acme/hiring";
const INSTALLATION: u64 = 42;
const WAIT: Duration = Duration::from_secs(30);

const PYPROJECT: &str = "[project]\nname = \"widgets\"\nversion = \"0.1.0\"\n";

/// A workflow whose steps are `runs`, one `- run:` line each.
fn ci(runs: &[&str]) -> String {
    let mut out = String::from(
        "name: ci\non: [push, pull_request]\npermissions:\n  contents: read\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n",
    );
    for r in runs {
        out.push_str(&format!("      - run: {r}\n"));
    }
    out
}

const WORKFLOW: &str = ".github/workflows/ci.yml";

/// Four repositories of the candidate's own:
/// - `widgets`: generated with cookiecutter (its first commit says so), then the candidate
///   added a type check;
/// - `shared`: the candidate started it, another maintainer (alice) added the linter, the
///   candidate added the type check;
/// - `solo`: the linter was added under an e-mail address no account claims;
/// - `big`: GitHub will not list its contributors.
fn world(gh: &FakeGitHub) {
    gh.installation(INSTALLATION)
        .organization("acme")
        .repos(&[HIRING]);
    gh.repo(HIRING).public();
    gh.user("octocat").name("The Octocat");
    gh.user("alice");
    gh.repo("octocat/widgets")
        .public()
        .commit(
            CommitSpec::new("Initial commit from cookiecutter-pypackage")
                .author("octocat")
                .file("pyproject.toml", PYPROJECT)
                .file(WORKFLOW, ci(&["ruff check .", "pytest"])),
        )
        .commit(
            CommitSpec::new("Type-check the package")
                .author("octocat")
                .file(
                    WORKFLOW,
                    ci(&["ruff check .", "pytest", "mypy --strict src"]),
                ),
        );
    gh.repo("octocat/shared")
        .public()
        .commit(
            CommitSpec::new("Start")
                .author("octocat")
                .file("pyproject.toml", PYPROJECT)
                .file(WORKFLOW, ci(&["pytest"])),
        )
        .commit(
            CommitSpec::new("Lint")
                .author("alice")
                .file(WORKFLOW, ci(&["pytest", "ruff check ."])),
        )
        .commit(CommitSpec::new("Types").author("octocat").file(
            WORKFLOW,
            ci(&["pytest", "ruff check .", "mypy --strict src"]),
        ));
    gh.repo("octocat/solo")
        .public()
        .commit(
            CommitSpec::new("Start")
                .author("octocat")
                .file("pyproject.toml", PYPROJECT)
                .file(WORKFLOW, ci(&["pytest"])),
        )
        .commit(
            CommitSpec::new("Lint")
                .unlinked_author("Pat", "pat@example.com")
                .file(WORKFLOW, ci(&["pytest", "ruff check ."])),
        );
    gh.repo("octocat/big").public().commit(
        CommitSpec::new("Start")
            .author("octocat")
            .file("pyproject.toml", PYPROJECT)
            .file(WORKFLOW, ci(&["ruff check .", "pytest"])),
    );
    gh.fail_next(
        Matcher::prefix("/repos/octocat/big/contributors"),
        Fault::Status(403),
        10,
    );
}

fn form() -> String {
    let repos = ["widgets", "shared", "solo", "big"]
        .map(|r| format!("https://github.com/octocat/{r}"))
        .join("\n");
    format!(
        "### GitHub username\n\noctocat\n\n### Pull requests\n\n_No response_\n\n### Repositories\n\n{repos}\n\n### Notes\n\n_No response_\n"
    )
}

fn attribution(report: &Value, repo: &str, id: &str) -> String {
    report["practices_by_repository"]
        .as_array()
        .expect("practices by repository")
        .iter()
        .find(|p| p["id"] == id && p["repository"] == repo)
        .and_then(|p| p["attribution"].as_str())
        .unwrap_or_else(|| panic!("no {id} for {repo}"))
        .to_string()
}

/// Requests made for one repository's history: the first commit's lookup, the candidate's
/// commits to a file, and single commits (not the default branch's head and its check runs,
/// which every repository costs).
fn history_requests(gh: &FakeGitHub, repo: &str) -> Vec<String> {
    let prefix = format!("/repos/{repo}/commits");
    gh.requests()
        .into_iter()
        .map(|r| r.path_and_query)
        .filter(|p| {
            p.starts_with(&prefix) && !p.contains("/check-runs") && *p != format!("{prefix}/main")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_repositories_are_credited_line_by_line_within_the_request_allowance() {
    let gh = FakeGitHub::start().await;
    world(&gh);
    let app = start(&gh).await;
    gh.issue(HIRING, 1)
        .author("octocat")
        .title("Candidate portfolio")
        .body(&form());
    let status = gh
        .send_webhook(Event::IssueOpened {
            repo: HIRING.into(),
            number: 1,
        })
        .await;
    assert_eq!(status, 202);
    app.wait_idle(WAIT).await;
    let report: Value = app.last_report(HIRING, 1).await;

    // Cookiecutter: what the first commit brought is the template's, the type check is the
    // candidate's, and the repository says it came from a template.
    assert_eq!(attribution(&report, "octocat/widgets", "lint"), "template");
    assert_eq!(
        attribution(&report, "octocat/widgets", "tests_in_ci"),
        "template"
    );
    assert_eq!(
        attribution(&report, "octocat/widgets", "type_check"),
        "authored"
    );
    let widgets = report["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .find(|s| s["url"] == "https://github.com/octocat/widgets")
        .cloned()
        .expect("widgets among the sources");
    assert_eq!(widgets["from_template"], true, "{widgets:#}");

    // Another maintainer's linter, the candidate's type check and first workflow.
    assert_eq!(attribution(&report, "octocat/shared", "lint"), "project");
    assert_eq!(
        attribution(&report, "octocat/shared", "type_check"),
        "authored"
    );
    assert_eq!(
        attribution(&report, "octocat/shared", "tests_in_ci"),
        "authored"
    );
    // An author with no account is someone else: the linter is not the candidate's.
    assert_eq!(attribution(&report, "octocat/solo", "lint"), "project");
    assert_eq!(
        attribution(&report, "octocat/solo", "tests_in_ci"),
        "authored"
    );
    // The contributors could not be listed: credited, but marked as not line by line.
    assert_eq!(attribution(&report, "octocat/big", "lint"), "owned");

    // The cost: the template's first commit is found and read (two requests), no commit of
    // the candidate's is; with other authors, at most 5 requests in all.
    let widgets = history_requests(&gh, "octocat/widgets");
    assert_eq!(widgets.len(), 2, "{widgets:#?}");
    assert!(
        widgets.iter().all(|p| !p.contains("author=")),
        "{widgets:#?}"
    );
    for repo in ["octocat/shared", "octocat/solo"] {
        let made = history_requests(&gh, repo);
        assert!(
            made.iter().any(|p| p.contains("author=octocat")),
            "{repo}: {made:#?}"
        );
        assert!(made.len() <= 5, "{repo}: {made:#?}");
    }
    assert!(history_requests(&gh, "octocat/big").is_empty());

    // The comment says who added each practice.
    let body = gh
        .issue_comments(HIRING, 1)
        .into_iter()
        .map(|c| c.body)
        .next()
        .expect("the evidence comment");
    for words in [
        "In octocat/widgets (came with the template; context only)",
        "In octocat/widgets (added by the candidate)",
        "In octocat/shared (added by another maintainer; context only)",
        "In octocat/big (owned by the candidate)",
    ] {
        assert!(body.contains(words), "{words} missing from:\n{body}");
    }
    app.stop().await;
}
