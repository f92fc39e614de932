//! Stories of one evaluation, end to end: a signed delivery from the fake GitHub goes through
//! the real router, the durable queue and the worker, which fetches the portfolio from the
//! fake, analyzes it and publishes the one evidence comment on the tracking issue.

use crate::harness;
use crate::support;

use std::time::Duration;

use harness::{TestApp, spawn_for_github};
use serde_json::Value;
use support::fake_github::{
    CommitSpec, Event, FakeGitHub, Fault, Matcher, Permission, ReleaseSpec, ReviewCommentSpec,
    ReviewSpec,
};

const HIRING: &str = "acme/hiring";
const INSTALLATION: u64 = 42;
const MARKER: &str = "<!-- folio:evidence v1 -->";
const WAIT: Duration = Duration::from_secs(30);

pub(crate) const CI: &str = "name: ci
on: [push, pull_request]
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        python: ['3.11', '3.12']
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python }}
      - run: pip install -e .[test]
      - run: ruff check .
      - run: mypy --strict src
      - run: pytest --cov=hello --cov-fail-under=90
";

const PYPROJECT: &str = "[project]
name = \"hello\"
version = \"1.2.0\"

[tool.ruff]
line-length = 100
";

/// The hiring org with Folio installed, its collaborators, and a candidate (octocat) with one
/// repository of their own and two pull requests in someone else's project: one authored,
/// one reviewed.
fn hiring_world(gh: &FakeGitHub) {
    gh.installation(INSTALLATION)
        .organization("acme")
        .repos(&[HIRING]);
    gh.repo(HIRING)
        .public()
        .collaborator("recruiter", Permission::Triage)
        .collaborator("reader", Permission::Read);
    gh.user("octocat").name("The Octocat");

    gh.repo("octocat/hello")
        .public()
        .commit(
            CommitSpec::new("Start hello")
                .author("octocat")
                .file("pyproject.toml", PYPROJECT)
                .file(".github/workflows/ci.yml", CI)
                .file("src/hello/__init__.py", "def hello():\n    return 'hi'\n")
                .file(
                    "tests/test_hello.py",
                    "from hello import hello\n\ndef test_hello():\n    assert hello() == 'hi'\n",
                ),
        )
        .tag("v1.2.0")
        .release(ReleaseSpec::new("v1.2.0").body("Adds greetings"));

    // psf/requests: the candidate added the coverage gate in a commit of their own, while
    // the rest of the workflow is the project's.
    let upstream_ci = "name: tests
on: [push]
jobs:
  tests:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: python -m pytest tests
";
    let with_gate = format!("{upstream_ci}      - run: coverage report --fail-under=95\n");
    gh.repo("psf/requests")
        .public()
        .commit(
            CommitSpec::new("CI")
                .author("maintainer")
                .file(".github/workflows/tests.yml", upstream_ci)
                .file("pyproject.toml", "[project]\nname = \"requests\"\n"),
        )
        .commit(
            CommitSpec::new("Gate coverage at 95%")
                .author("octocat")
                .file(".github/workflows/tests.yml", with_gate),
        );
    gh.pull("psf/requests", 101)
        .author("octocat")
        .title("Retry idempotent requests on connection reset")
        .commit(
            CommitSpec::new("Retry on reset")
                .author("octocat")
                .file("src/requests/retry.py", "def retry():\n    return True\n")
                .file(
                    "tests/test_retry.py",
                    "def test_retry():\n    assert retry()\n",
                ),
        )
        .review(ReviewSpec::new("maintainer", "APPROVED").body("Thanks, looks good."))
        .check_run("tests", "success")
        .merged();
    gh.pull("psf/requests", 102)
        .author("maintainer")
        .title("Drop Python 3.8")
        .commit(
            CommitSpec::new("Drop 3.8")
                .author("maintainer")
                .file("setup.cfg", "[metadata]\npython_requires = >=3.9\n"),
        )
        .review_comment(
            ReviewCommentSpec::new(
                "octocat",
                "setup.cfg",
                "`python_requires` should move to pyproject.toml, because setup.cfg metadata is deprecated; suggest dropping setup.cfg here.",
            )
            .line(2),
        )
        .review(ReviewSpec::new("octocat", "CHANGES_REQUESTED").body("One change, see the comment."))
        .check_run("tests", "success");
}

fn form(username: &str, prs: &[&str], repos: &[&str]) -> String {
    let list = |items: &[&str]| {
        if items.is_empty() {
            "_No response_".to_string()
        } else {
            items.join("\n")
        }
    };
    format!(
        "### GitHub username\n\n{username}\n\n### Pull requests\n\n{}\n\n### Repositories\n\n{}\n\n### Notes\n\n_No response_\n",
        list(prs),
        list(repos)
    )
}

fn standard_form() -> String {
    form(
        "octocat",
        &[
            "https://github.com/psf/requests/pull/101",
            "https://github.com/psf/requests/pull/102",
        ],
        &["https://github.com/octocat/hello"],
    )
}

/// Starts Folio against the fake GitHub and points the App's webhook at it.
pub(crate) async fn start(gh: &FakeGitHub) -> TestApp {
    let app = spawn_for_github(&gh.url(), gh.app_id(), &gh.private_key_pem()).await;
    gh.set_webhook_secret(harness::SECRET);
    gh.webhook_to(&format!("{}/webhook", app.url));
    app
}

async fn open_issue(gh: &FakeGitHub, number: u64, author: &str, body: &str) -> u16 {
    gh.issue(HIRING, number)
        .author(author)
        .title("Candidate portfolio")
        .body(body);
    gh.send_webhook(Event::IssueOpened {
        repo: HIRING.into(),
        number,
    })
    .await
}

/// The one comment Folio wrote, after asserting that there is exactly one.
fn the_comment(gh: &FakeGitHub, number: u64) -> String {
    let comments: Vec<_> = gh
        .issue_comments(HIRING, number)
        .into_iter()
        .filter(|c| c.user == gh.bot_login())
        .collect();
    assert_eq!(
        comments.len(),
        1,
        "expected exactly one Folio comment, got {comments:#?}"
    );
    assert!(comments[0].via_app);
    comments[0].body.clone()
}

fn writes(gh: &FakeGitHub) -> Vec<String> {
    gh.requests()
        .into_iter()
        .filter(|r| r.method != "GET" && !r.path_and_query.contains("/access_tokens"))
        .map(|r| format!("{} {}", r.method, r.path_and_query))
        .collect()
}

/// Text in the comment that GitHub would turn into a mention: `@` then a login character.
fn pings(body: &str) -> Vec<String> {
    let chars: Vec<char> = body.chars().collect();
    let mut out = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        if *c == '@'
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric())
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_ascii_alphanumeric())
        {
            out.push(chars[i..(i + 20).min(chars.len())].iter().collect());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_delivery_becomes_one_comment_with_its_sources_and_their_attribution() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    let app = start(&gh).await;

    assert_eq!(open_issue(&gh, 1, "octocat", &standard_form()).await, 202);
    app.wait_idle(WAIT).await;

    let body = the_comment(&gh, 1);
    if let Ok(path) = std::env::var("FOLIO_DUMP_COMMENT") {
        std::fs::write(path, &body).expect("dump");
    }
    assert!(body.starts_with(MARKER), "{body}");
    assert!(body.contains("Evidence for reviewers, not a hiring decision."));
    // The footer links to the terms this service serves (FOLIO_PUBLIC_URL/privacy).
    let footer = body.rsplit("\n---\n").next().unwrap_or_default();
    assert!(
        footer.contains("[the candidate's terms](http://127.0.0.1:3000/privacy)"),
        "{footer}"
    );
    for link in [
        "https://github.com/psf/requests/pull/101",
        "https://github.com/psf/requests/pull/102",
        "https://github.com/octocat/hello",
    ] {
        assert!(body.contains(link), "{link} missing from:\n{body}");
    }
    assert!(pings(&body).is_empty(), "{:?}", pings(&body));
    assert!(
        gh.issue_labels(HIRING, 1)
            .contains(&"folio: evaluated".to_string())
    );

    let report = app.last_report(HIRING, 1).await;
    assert_eq!(report["candidate"], "octocat");
    let attribution = |url: &str| {
        report["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .find(|s| s["url"] == url)
            .map(|s| s["attribution"].clone())
            .unwrap_or_else(|| panic!("{url} not among the sources: {report:#}"))
    };
    assert_eq!(
        attribution("https://github.com/psf/requests/pull/101"),
        "authored"
    );
    assert_eq!(
        attribution("https://github.com/psf/requests/pull/102"),
        "reviewed"
    );
    assert_eq!(attribution("https://github.com/octocat/hello"), "owned");
    assert_eq!(
        attribution("https://github.com/psf/requests"),
        "contributed"
    );

    // Practices: in the candidate's own repository, of which they are the only author and
    // which no template made, every practice is `authored`; in psf/requests only the coverage
    // gate their commit added is `authored`, and the tests the project already ran stay
    // `project`.
    let practice = |repo: &str, id: &str| -> Value {
        report["practices_by_repository"]
            .as_array()
            .expect("practices by repository")
            .iter()
            .find(|p| p["id"] == id && p["repository"] == repo)
            .cloned()
            .unwrap_or_else(|| {
                panic!(
                    "no {id} for {repo} in {:#}",
                    report["practices_by_repository"]
                )
            })
    };
    assert_eq!(practice("octocat/hello", "lint")["attribution"], "authored");
    assert_eq!(
        practice("psf/requests", "coverage_gate")["attribution"],
        "authored"
    );
    assert_eq!(
        practice("psf/requests", "tests_in_ci")["attribution"],
        "project"
    );
    // Evidence is a permalink at the snapshot's commit with a line anchor.
    let evidence = practice("octocat/hello", "lint")["evidence"][0]["url"]
        .as_str()
        .expect("url")
        .to_string();
    let head = gh.repo("octocat/hello").head_sha();
    assert!(
        evidence.starts_with(&format!(
            "https://github.com/octocat/hello/blob/{head}/.github/workflows/ci.yml#L"
        )),
        "{evidence}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_a_repeated_job_and_a_refresh_each_leave_one_comment() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    let app = start(&gh).await;
    open_issue(&gh, 2, "octocat", &standard_form()).await;
    app.wait_idle(WAIT).await;
    let first = the_comment(&gh, 2);

    // GitHub redelivers the same delivery (same GUID): acknowledged, not run again.
    let delivery = gh.deliveries().last().cloned().expect("a delivery");
    let (event, payload) = gh.webhook_payload(Event::IssueOpened {
        repo: HIRING.into(),
        number: 2,
    });
    let resp = app.deliver(&event, &delivery.guid, &payload).await;
    assert!(resp.status().is_success());
    // An edit of the body queues a second evaluation job for the same issue.
    gh.send_webhook(Event::IssueEdited {
        repo: HIRING.into(),
        number: 2,
        previous_body: Some("before".into()),
    })
    .await;
    app.wait_idle(WAIT).await;
    // A maintainer asks for a refresh.
    let id = gh
        .issue(HIRING, 2)
        .comment_id("recruiter", "Looks thin?\n\n/folio refresh");
    gh.send_webhook(Event::IssueCommentCreated {
        repo: HIRING.into(),
        number: 2,
        comment_id: id,
    })
    .await;
    app.wait_idle(WAIT).await;

    let last = the_comment(&gh, 2);
    let sub = app
        .store
        .submission(HIRING, 2)
        .await
        .expect("store")
        .expect("submission");
    assert_eq!(
        app.store.evaluations_since(sub.id, 0).await.expect("store"),
        3,
        "the opening, the edit and the refresh each ran; the redelivery did not"
    );
    assert_eq!(
        first.lines().filter(|l| l.contains("| ")).count(),
        last.lines().filter(|l| l.contains("| ")).count()
    );
    let posts = writes(&gh)
        .into_iter()
        .filter(|w| w.starts_with("POST") && w.ends_with("/comments"))
        .count();
    assert_eq!(posts, 1, "{:#?}", writes(&gh));
    app.stop().await;
}

/// SPEC §5: an accepted `/folio refresh` is acknowledged on the command at once with 👀. When
/// the re-evaluation changes nothing, the evidence comment is left alone (its footer keeps the
/// time the evidence last changed) and a 👍 says it is done; when the evidence changed, the
/// comment is edited, which is the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_is_acknowledged_with_reactions_and_edits_the_comment_only_on_a_change() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    let app = start(&gh).await;
    open_issue(&gh, 20, "octocat", &standard_form()).await;
    app.wait_idle(WAIT).await;
    let first = the_comment(&gh, 20);
    let reactions = |id: u64| -> Vec<String> {
        gh.comment_reactions(HIRING, id)
            .into_iter()
            .map(|r| {
                assert_eq!(r.user, gh.bot_login(), "reacted as Folio");
                r.content
            })
            .collect()
    };

    // Nothing changed: 👀 then 👍 on the command, and no other write.
    gh.reset_log();
    let unchanged = gh
        .issue(HIRING, 20)
        .comment_id("recruiter", "/folio refresh");
    gh.send_webhook(Event::IssueCommentCreated {
        repo: HIRING.into(),
        number: 20,
        comment_id: unchanged,
    })
    .await;
    app.wait_idle(WAIT).await;
    assert_eq!(reactions(unchanged), ["eyes", "+1"]);
    assert_eq!(the_comment(&gh, 20), first, "the comment was not edited");
    let reaction_path = format!("/repos/{HIRING}/issues/comments/{unchanged}/reactions");
    assert_eq!(
        writes(&gh),
        [
            format!("POST {reaction_path}"),
            format!("POST {reaction_path}")
        ],
        "only the two reactions were written"
    );

    // The candidate's repository gained a practice: the comment is edited, once, and the
    // command gets 👀 only.
    gh.repo("octocat/hello").commit(
        CommitSpec::new("Keep dependencies up to date")
            .author("octocat")
            .file(
                ".github/dependabot.yml",
                "version: 2\nupdates:\n  - package-ecosystem: pip\n    directory: /\n    schedule:\n      interval: weekly\n",
            ),
    );
    gh.reset_log();
    let changed = gh
        .issue(HIRING, 20)
        .comment_id("recruiter", "/folio refresh");
    gh.send_webhook(Event::IssueCommentCreated {
        repo: HIRING.into(),
        number: 20,
        comment_id: changed,
    })
    .await;
    app.wait_idle(WAIT).await;
    assert_eq!(reactions(changed), ["eyes"]);
    let edited = the_comment(&gh, 20);
    assert_ne!(edited, first, "the comment was edited");
    assert!(edited.contains("Dependency updates bot"), "{edited}");
    let comment_writes: Vec<String> = writes(&gh)
        .into_iter()
        .filter(|w| !w.ends_with("/reactions"))
        .filter(|w| w.contains("/comments"))
        .collect();
    assert_eq!(comment_writes.len(), 1, "{comment_writes:?}");
    assert!(
        comment_writes[0].starts_with("PATCH "),
        "{comment_writes:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_from_a_reader_is_refused_and_changes_nothing() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    let app = start(&gh).await;
    open_issue(&gh, 3, "octocat", &standard_form()).await;
    app.wait_idle(WAIT).await;
    let before = the_comment(&gh, 3);
    gh.reset_log();

    let id = gh.issue(HIRING, 3).comment_id("reader", "/folio refresh");
    gh.send_webhook(Event::IssueCommentCreated {
        repo: HIRING.into(),
        number: 3,
        comment_id: id,
    })
    .await;
    app.wait_idle(WAIT).await;

    assert_eq!(the_comment(&gh, 3), before);
    assert!(writes(&gh).is_empty(), "{:#?}", writes(&gh));
    assert!(gh.comment_reactions(HIRING, id).is_empty());
    // The reader's permission was checked, and nothing of the portfolio was fetched again.
    let paths: Vec<String> = gh
        .requests()
        .into_iter()
        .map(|r| r.path_and_query)
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p.contains("/collaborators/reader/permission")),
        "{paths:#?}"
    );
    assert!(!paths.iter().any(|p| p.contains("/pulls/")), "{paths:#?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_to_other_hosts_are_listed_as_ignored_and_never_requested() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    // A host that records any connection: Folio must never reach it.
    let trap = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let trap_addr = trap.local_addr().expect("addr");
    let touched = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = touched.clone();
    tokio::spawn(async move {
        if trap.accept().await.is_ok() {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let app = start(&gh).await;
    let foreign = format!("http://{trap_addr}/octocat/hello/pull/1");
    let body = form(
        "octocat",
        &[
            "https://github.com/psf/requests/pull/101",
            &foreign,
            "https://gitlab.com/octocat/hello/-/merge_requests/3",
        ],
        &[],
    );
    open_issue(&gh, 4, "octocat", &body).await;
    app.wait_idle(WAIT).await;

    let comment = the_comment(&gh, 4);
    assert!(!touched.load(std::sync::atomic::Ordering::SeqCst));
    let report = app.last_report(HIRING, 4).await;
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains(&trap_addr.to_string()), "{warnings}");
    assert!(warnings.contains("gitlab.com"), "{warnings}");
    assert!(comment.contains("ignored"), "{comment}");
    assert!(
        !gh.requests()
            .iter()
            .any(|r| r.path_and_query.contains("merge_requests")),
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_pull_request_becomes_a_warning_and_the_rest_is_evaluated() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    gh.delete_pull("psf/requests", 102);
    let app = start(&gh).await;
    open_issue(&gh, 5, "octocat", &standard_form()).await;
    app.wait_idle(WAIT).await;

    let comment = the_comment(&gh, 5);
    let report = app.last_report(HIRING, 5).await;
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("https://github.com/psf/requests/pull/102"),
        "{warnings}"
    );
    assert!(comment.contains("https://github.com/psf/requests/pull/101"));
    assert_eq!(report["pull_requests"].as_array().map(Vec::len), Some(1));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_gateways_timeouts_and_a_secondary_rate_limit_are_survived() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    gh.set_timeout_hold(Duration::from_secs(8));
    gh.fail_next(
        Matcher::prefix("/repos/psf/requests/pulls/101"),
        Fault::Status(502),
        2,
    );
    gh.fail_next(
        Matcher::prefix("/repos/psf/requests/pulls/102"),
        Fault::SecondaryRateLimit {
            retry_after_secs: 1,
        },
        1,
    );
    gh.fail_next(
        Matcher::prefix("/repos/octocat/hello/tags"),
        Fault::Timeout,
        1,
    );
    gh.fail_next(
        Matcher::prefix("/repos/octocat/hello"),
        Fault::Status(503),
        1,
    );
    let app = start(&gh).await;
    open_issue(&gh, 6, "octocat", &standard_form()).await;
    app.wait_idle(Duration::from_secs(60)).await;

    let comment = the_comment(&gh, 6);
    let report = app.last_report(HIRING, 6).await;
    let sources = report["sources"].to_string();
    for pr in [101, 102] {
        assert!(
            sources.contains(&format!("https://github.com/psf/requests/pull/{pr}")),
            "{sources}"
        );
    }
    assert_eq!(report["warnings"].as_array().map(Vec::len), Some(0));
    assert_eq!(report["reviews"].as_array().map(Vec::len), Some(1));
    assert!(comment.contains("https://github.com/octocat/hello"));
    let statuses: Vec<u16> = gh.requests().iter().map(|r| r.status).collect();
    assert!(statuses.contains(&502) && statuses.contains(&403) && statuses.contains(&503));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_titles_and_comments_neither_ping_nor_break_the_comment() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    let hostile = "@acme/hiring-team @octocat fixes #1 GH-2 </details></td></table> <!-- folio:evidence v1 --> | `x` [link](https://evil.example) <img src=x onerror=alert(1)>";
    gh.pull("psf/requests", 101).title(hostile);
    gh.pull("psf/requests", 102).review_comment(
        ReviewCommentSpec::new(
            "octocat",
            "setup.cfg",
            &format!("{hostile}\n\n```\n</details>\n```"),
        )
        .line(1),
    );
    let app = start(&gh).await;
    open_issue(&gh, 7, "octocat", &standard_form()).await;
    app.wait_idle(WAIT).await;

    let body = the_comment(&gh, 7);
    // The hostile title is shown, defused.
    assert!(body.contains("hiring-team"), "{body}");
    assert!(pings(&body).is_empty(), "{:?}", pings(&body));
    assert_eq!(body.matches(MARKER).count(), 1);
    assert!(body.starts_with(MARKER));
    assert_eq!(
        body.matches("<details").count(),
        body.matches("</details>").count(),
        "{body}"
    );
    assert!(!body.contains("<img"));
    assert!(!body.contains("](https://evil.example)"));
    // References are explicit links (their text inside a link is never re-linked), never bare.
    assert!(!body.contains(" #1 ") && !body.contains(" GH-2 "), "{body}");
    assert!(
        body.contains("[\\#1](https://github.com/psf/requests/issues/1)")
            && body.contains("[GH-2](https://github.com/psf/requests/issues/2)"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_comment_stays_under_the_limit_with_many_sources() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    let mut prs = Vec::new();
    for n in 200..220u64 {
        let mut pull = gh
            .pull("psf/requests", n)
            .author("maintainer")
            .title(&"A very long title about refactoring the session adapters ".repeat(4));
        for c in 0..25u64 {
            pull = pull.review_comment(
                ReviewCommentSpec::new(
                    "octocat",
                    "src/requests/adapters.py",
                    &format!(
                        "Comment {c}: this should use a context manager, because the socket leaks when the adapter raises; consider `with closing(sock):` instead. {}",
                        "More detail on why. ".repeat(20)
                    ),
                )
                .line(c + 1),
            );
        }
        let _ = pull.review(ReviewSpec::new("octocat", "COMMENTED"));
        prs.push(format!("https://github.com/psf/requests/pull/{n}"));
    }
    let refs: Vec<&str> = prs.iter().map(String::as_str).collect();
    let app = start(&gh).await;
    open_issue(
        &gh,
        8,
        "octocat",
        &form("octocat", &refs, &["https://github.com/octocat/hello"]),
    )
    .await;
    app.wait_idle(Duration::from_secs(60)).await;

    let body = the_comment(&gh, 8);
    assert!(
        body.chars().count() <= 65_536,
        "{} chars",
        body.chars().count()
    );
    assert!(
        body.contains("folio evaluate"),
        "the cut must say how to see everything; {} chars, ending:\n{}\nwarnings: {:#}",
        body.chars().count(),
        body.chars()
            .skip(body.chars().count().saturating_sub(1500))
            .collect::<String>(),
        app.last_report(HIRING, 8).await["warnings"]
    );
    let report = app.last_report(HIRING, 8).await;
    assert_eq!(
        report["review_comments"].as_array().map(Vec::len),
        Some(500)
    );
    app.stop().await;
}

/// A portfolio of 5 pull requests and 3 repositories: the candidate's two repositories and a
/// project they contributed to, with pull requests in their own repository and in the project.
fn five_and_three(gh: &FakeGitHub) -> String {
    hiring_world(gh);
    gh.repo("octocat/tools").public().commit(
        CommitSpec::new("Tools")
            .author("octocat")
            .file("pyproject.toml", PYPROJECT)
            .file(".github/workflows/ci.yml", CI),
    );
    gh.pull("psf/requests", 103)
        .author("octocat")
        .title("Document retries")
        .commit(
            CommitSpec::new("Docs")
                .author("octocat")
                .file("docs/retry.md", "Retries\n"),
        )
        .merged();
    for n in [1, 2] {
        gh.pull("octocat/hello", n)
            .author("octocat")
            .title("Greeting options")
            .commit(
                CommitSpec::new("Options")
                    .author("octocat")
                    .file("src/hello/options.py", format!("OPTION = {n}\n")),
            )
            .check_run("ci", "success")
            .merged();
    }
    // CI ran on each default branch's head, as on any maintained repository.
    for repo in ["octocat/hello", "octocat/tools", "psf/requests"] {
        let head = gh.repo(repo).head_sha();
        gh.repo(repo).check_run(&head, "ci", "success");
    }
    // Actions runs: a green CI run on each default branch (the jobs of each are read), an
    // older one that is not, and a run on a pull request branch that is never judged.
    gh.repo("octocat/hello")
        .workflow_run(
            ".github/workflows/ci.yml",
            "push",
            "main",
            &[("test (3.11)", "failure")],
        )
        .workflow_run(
            ".github/workflows/ci.yml",
            "pull_request",
            "options",
            &[("test (3.11)", "success")],
        )
        .workflow_run(
            ".github/workflows/ci.yml",
            "push",
            "main",
            &[("test (3.11)", "success"), ("test (3.12)", "success")],
        );
    gh.repo("octocat/tools").workflow_run(
        ".github/workflows/ci.yml",
        "push",
        "main",
        &[("test (3.11)", "success"), ("test (3.12)", "success")],
    );
    gh.repo("psf/requests").workflow_run(
        ".github/workflows/tests.yml",
        "push",
        "main",
        &[("tests", "success")],
    );
    form(
        "octocat",
        &[
            "https://github.com/psf/requests/pull/101",
            "https://github.com/psf/requests/pull/102",
            "https://github.com/psf/requests/pull/103",
            "https://github.com/octocat/hello/pull/1",
            "https://github.com/octocat/hello/pull/2",
        ],
        &[
            "https://github.com/octocat/hello",
            "https://github.com/octocat/tools",
            "https://github.com/psf/requests",
        ],
    )
}

#[derive(Debug)]
struct Cost {
    requests: usize,
    billed: u64,
    writes: Vec<String>,
}

fn cost_since(gh: &FakeGitHub, remaining_before: u64) -> Cost {
    Cost {
        requests: gh.request_count(),
        billed: remaining_before - gh.rate_limit_remaining(),
        writes: writes(gh),
    }
}

/// The figures of the closing note: what a first evaluation costs against the budget (6 per
/// pull request, 7 per repository read, plus 8, plus at most 5 per owned repository with other
/// human authors, of which there is none here), and that an unchanged re-evaluation spends
/// only the hiring repository's reads and writes only the two reactions on the command.
///
/// Measured: 59 billed before owned repositories were credited line by line; their
/// contributors listing and first commit (two requests per owned repository) would have made
/// it 63. The jobs of a run at the default branch's head are read from that commit's check
/// runs, fetched already (3 requests fewer), and a repository without tags has no releases to
/// list (2 fewer): 58. The re-evaluation stays at 4 reads, plus its 2 reactions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_five_pull_request_three_repository_portfolio_stays_within_its_request_budget() {
    let gh = FakeGitHub::start().await;
    let body = five_and_three(&gh);
    let app = start(&gh).await;
    // Installed on the hiring repository alone: the labels are made then, not at the first
    // evaluation.
    gh.send_webhook(Event::InstallationCreated {
        installation: INSTALLATION,
    })
    .await;
    app.wait_idle(WAIT).await;
    gh.reset_log();
    let before = gh.rate_limit_remaining();
    open_issue(&gh, 9, "octocat", &body).await;
    app.wait_idle(WAIT).await;
    the_comment(&gh, 9);
    let first = cost_since(&gh, before);
    let budget = 6 * 5 + 7 * 3 + 8;
    eprintln!(
        "first evaluation: {} requests ({} billed against the rate limit), budget {budget}; writes {:?}",
        first.requests, first.billed, first.writes
    );
    for r in gh.requests() {
        eprintln!("  {} {} -> {}", r.method, r.path_and_query, r.status);
    }
    assert!(
        first.billed <= budget,
        "{} billed requests over the budget of {budget}",
        first.billed
    );
    // Each owned repository's contributors were listed, and its first commit looked up.
    let paths: Vec<String> = gh
        .requests()
        .into_iter()
        .map(|r| r.path_and_query)
        .collect();
    for repo in ["octocat/hello", "octocat/tools"] {
        for what in ["contributors?anon=1", "commits?sha="] {
            assert!(
                paths
                    .iter()
                    .any(|p| p.starts_with(&format!("/repos/{repo}/{what}"))),
                "{repo}: no {what} in {paths:#?}"
            );
        }
    }

    // The same portfolio again, unchanged: a maintainer's refresh.
    gh.reset_log();
    let before = gh.rate_limit_remaining();
    let id = gh
        .issue(HIRING, 9)
        .comment_id("recruiter", "/folio refresh");
    gh.send_webhook(Event::IssueCommentCreated {
        repo: HIRING.into(),
        number: 9,
        comment_id: id,
    })
    .await;
    app.wait_idle(WAIT).await;
    let again = cost_since(&gh, before);
    eprintln!(
        "unchanged re-evaluation: {} requests, {} billed, writes {:?}",
        again.requests, again.billed, again.writes
    );
    for r in gh.requests() {
        eprintln!("  {} {} -> {}", r.method, r.path_and_query, r.status);
    }
    let sub = app
        .store
        .submission(HIRING, 9)
        .await
        .expect("store")
        .expect("submission");
    assert_eq!(
        app.store.evaluations_since(sub.id, 0).await.expect("store"),
        2,
        "the refresh must have run a second evaluation"
    );
    // Every request for the portfolio was conditional and answered 304. What is billed is
    // the hiring repository's own reads: the issue (the refresh comment changed it), the
    // refresher's permission, and `.github/folio.yml`, whose absence GitHub answers with a
    // 404 that carries no ETag.
    let billed_portfolio: Vec<String> = gh
        .requests()
        .into_iter()
        .filter(|r| r.status != 304 && !r.path_and_query.starts_with("/repos/acme/"))
        .map(|r| format!("{} {} -> {}", r.method, r.path_and_query, r.status))
        .collect();
    assert!(billed_portfolio.is_empty(), "{billed_portfolio:#?}");
    // Its only writes acknowledge the command: 👀 when it starts, 👍 as nothing changed. Each
    // is billed like any request.
    let reaction = format!("POST /repos/{HIRING}/issues/comments/{id}/reactions");
    assert_eq!(again.writes, [reaction.clone(), reaction], "{again:?}");
    assert!(again.billed <= 4 + 2, "{again:?}");
    app.stop().await;
}

/// SPEC §8: a job that was cut off (the process killed with SIGKILL half-way through fetching)
/// runs again after a restart, and the issue still ends with exactly one comment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_cut_off_half_way_completes_after_a_restart_with_one_comment() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    gh.set_webhook_secret(harness::SECRET);
    let (dir, config, env) =
        harness::process_setup(None, &gh.url(), gh.app_id(), &gh.private_key_pem());
    // A production-sized lease: the restart must not wait for it to run out.
    let mut toml = std::fs::read_to_string(&config).expect("config");
    toml = toml.replace("lease_seconds = 3", "lease_seconds = 120");
    std::fs::write(&config, toml).expect("config");

    // Slow answers, so that the evaluation is surely in the middle of its fetch when killed.
    gh.set_latency(Duration::from_millis(150));
    let mut first = harness::FolioProcess::start(&env, &config, dir.path().join("first.log")).await;
    gh.webhook_to(&format!("{}/webhook", first.url));
    assert_eq!(open_issue(&gh, 10, "octocat", &standard_form()).await, 202);
    let deadline = tokio::time::Instant::now() + WAIT;
    while !gh
        .requests()
        .iter()
        .any(|r| r.path_and_query.starts_with("/repos/psf/requests/pulls/10"))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();
    assert!(gh.issue_comments(HIRING, 10).is_empty());

    gh.set_latency(Duration::ZERO);
    let second = harness::FolioProcess::start(&env, &config, dir.path().join("second.log")).await;
    // Well within the 120 s lease: the restart released the cut-off job at once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while gh.issue_comments(HIRING, 10).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no comment within 20 s of the restart; log:\n{}",
            std::fs::read_to_string(&second.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let any straggler finish, then there must still be one comment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let body = the_comment(&gh, 10);
    assert!(body.contains("https://github.com/psf/requests/pull/101"));
    drop(second);
}

/// `folio evaluate` runs the same fetch, analysis and report from a terminal, with a
/// personal token instead of the App.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folio_evaluate_prints_the_same_report_as_json_and_markdown() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    gh.add_personal_token("ghp_localtesttoken", "recruiter");
    let links = [
        "--candidate",
        "octocat",
        "https://github.com/psf/requests/pull/101",
        "https://github.com/psf/requests/pull/102",
        "https://github.com/octocat/hello",
    ];
    let gh_url = gh.url();
    let (json_out, md_out) = tokio::task::spawn_blocking({
        let gh_url = gh_url.clone();
        move || {
            let run = |extra: &[&str]| {
                let mut args: Vec<&str> = links.to_vec();
                args.extend_from_slice(extra);
                std::process::Command::new(env!("CARGO_BIN_EXE_folio"))
                    .arg("evaluate")
                    .args(&args)
                    .env_clear()
                    .env("PATH", std::env::var("PATH").unwrap_or_default())
                    .env("FOLIO_GITHUB_API_URL", &gh_url)
                    .env("GITHUB_TOKEN", "ghp_localtesttoken")
                    .output()
                    .expect("run folio evaluate")
            };
            (run(&["--format", "json"]), run(&[]))
        }
    })
    .await
    .expect("join");
    assert!(
        json_out.status.success(),
        "{}",
        String::from_utf8_lossy(&json_out.stderr)
    );
    let report: Value = serde_json::from_slice(&json_out.stdout).expect("JSON on stdout");
    assert_eq!(report["candidate"], "octocat");
    assert_eq!(report["sources"].as_array().map(Vec::len), Some(4));
    assert!(md_out.status.success());
    let md = String::from_utf8(md_out.stdout).expect("utf-8");
    assert!(md.starts_with(MARKER));
    assert!(md.contains("https://github.com/psf/requests/pull/102"));
    // Not a TTY: no progress lines on stderr.
    assert!(
        md_out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&md_out.stderr)
    );

    // A rejected token is a usage problem: exit code 2 and one line that says what to do.
    let bad = tokio::task::spawn_blocking({
        let gh_url = gh_url.clone();
        move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_folio"))
                .args([
                    "evaluate",
                    "--candidate",
                    "octocat",
                    "https://github.com/octocat/hello",
                ])
                .env_clear()
                .env("FOLIO_GITHUB_API_URL", &gh_url)
                .env("GITHUB_TOKEN", "ghp_wrong")
                .output()
                .expect("run")
        }
    })
    .await
    .expect("join");
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("GITHUB_TOKEN"), "{stderr}");
}

/// A measurement, not a check: run by `scripts/bench-evaluation.sh`. The time from a delivery
/// to the comment for the 5-pull-request, 3-repository portfolio when every GitHub answer
/// takes 50 ms, first and unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark; run scripts/bench-evaluation.sh"]
async fn bench_delivery_to_comment_with_50ms_latency() {
    let gh = FakeGitHub::start().await;
    let body = five_and_three(&gh);
    let app = start(&gh).await;
    gh.set_latency(Duration::from_millis(50));
    let started = std::time::Instant::now();
    open_issue(&gh, 11, "octocat", &body).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while gh.issue_comments(HIRING, 11).is_empty() {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let first = started.elapsed();
    let requests = gh.request_count();
    app.wait_idle(WAIT).await;
    gh.reset_log();
    let started = std::time::Instant::now();
    gh.send_webhook(Event::IssueEdited {
        repo: HIRING.into(),
        number: 11,
        previous_body: None,
    })
    .await;
    app.wait_idle(WAIT).await;
    let again = started.elapsed();
    println!(
        "delivery to comment, 50 ms per GitHub answer: first {:.2} s ({requests} requests); unchanged re-evaluation {:.2} s ({} requests)",
        first.as_secs_f64(),
        again.as_secs_f64(),
        gh.request_count()
    );
    app.stop().await;
}

/// SPEC §6: a broken `.github/folio.yml` gets a comment naming the key and what it may be,
/// and it takes down nothing else: another org's submission is evaluated as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_config_is_explained_on_the_issue_and_other_orgs_are_unaffected() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    gh.repo(HIRING)
        .file(".github/folio.yml", "limits:\n  pull_request_linkz: 3\n");
    gh.installation(43)
        .organization("globex")
        .repos(&["globex/hiring"]);
    gh.repo("globex/hiring").public();
    let app = start(&gh).await;

    open_issue(&gh, 12, "octocat", &standard_form()).await;
    gh.issue("globex/hiring", 1)
        .author("octocat")
        .title("Portfolio")
        .body(&standard_form());
    gh.send_webhook(Event::IssueOpened {
        repo: "globex/hiring".into(),
        number: 1,
    })
    .await;
    app.wait_idle(WAIT).await;

    // Markdown escapes aside (the key comes from the file, so it is untrusted text).
    let broken = the_comment(&gh, 12).replace('\\', "");
    assert!(broken.contains("pull_request_linkz"), "{broken}");
    assert!(broken.contains("pull_request_links"), "{broken}");
    let other: Vec<_> = gh
        .issue_comments("globex/hiring", 1)
        .into_iter()
        .filter(|c| c.user == gh.bot_login())
        .collect();
    assert_eq!(other.len(), 1);
    assert!(
        other[0]
            .body
            .contains("https://github.com/psf/requests/pull/101")
    );
    app.stop().await;
}

/// The org's `.github` repository is the fallback, and the file is read again at each
/// evaluation, so a change applies at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_org_config_applies_and_a_change_applies_at_the_next_evaluation() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    gh.repo("acme/.github").public().file(
        ".github/folio.yml",
        "labels:\n  evaluated: \"hiring: evidence ready\"\n",
    );
    let app = start(&gh).await;
    open_issue(&gh, 13, "octocat", &standard_form()).await;
    app.wait_idle(WAIT).await;
    assert!(
        gh.issue_labels(HIRING, 13)
            .contains(&"hiring: evidence ready".to_string()),
        "{:?}",
        gh.issue_labels(HIRING, 13)
    );

    // The hiring repository's own file now takes precedence.
    gh.repo(HIRING).file(
        ".github/folio.yml",
        "labels:\n  evaluated: \"evidence: ready\"\n",
    );
    let id = gh
        .issue(HIRING, 13)
        .comment_id("recruiter", "/folio refresh");
    gh.send_webhook(Event::IssueCommentCreated {
        repo: HIRING.into(),
        number: 13,
        comment_id: id,
    })
    .await;
    app.wait_idle(WAIT).await;
    assert!(
        gh.issue_labels(HIRING, 13)
            .contains(&"evidence: ready".to_string()),
        "{:?}",
        gh.issue_labels(HIRING, 13)
    );
    the_comment(&gh, 13);
    app.stop().await;
}

/// A job that keeps failing ends dead, and the one comment says so and how to retry, without
/// the internal error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluation_that_keeps_failing_says_so_in_the_one_comment() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    // The extra line lands in the test configuration's `[queue]` section.
    let app = harness::spawn_for_github_with(
        &gh.url(),
        gh.app_id(),
        &gh.private_key_pem(),
        "max_attempts = 2",
    )
    .await;
    gh.set_webhook_secret(harness::SECRET);
    gh.webhook_to(&format!("{}/webhook", app.url));
    gh.fail_next(
        Matcher::prefix("/repos/psf/requests/pulls/101"),
        Fault::Status(502),
        1000,
    );
    open_issue(&gh, 14, "octocat", &standard_form()).await;
    app.wait_idle(Duration::from_secs(60)).await;
    // The job is marked dead first, then the comment is written.
    let deadline = tokio::time::Instant::now() + WAIT;
    while gh.issue_comments(HIRING, 14).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no comment after the job died"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let body = the_comment(&gh, 14);
    assert!(body.starts_with(MARKER));
    assert!(body.contains("/folio refresh"), "{body}");
    // It says what happened in plain words; the error itself (a status, an API path) goes to
    // the log, never into the public comment.
    assert!(body.contains("could not finish this evaluation"), "{body}");
    for internal in [
        "502",
        "/repos/",
        "pulls/101",
        "after retries",
        "Bad Gateway",
    ] {
        assert!(!body.contains(internal), "{internal:?} in {body}");
    }
    assert_eq!(app.store.queue_stats().await.expect("stats").dead, 1);
    app.stop().await;
}

async fn refresh_by(gh: &FakeGitHub, number: u64, login: &str, text: &str) {
    let id = gh.issue(HIRING, number).comment_id(login, text);
    gh.send_webhook(Event::IssueCommentCreated {
        repo: HIRING.into(),
        number,
        comment_id: id,
    })
    .await;
}

/// Re-evaluations of one issue are limited per hour (`limits.reevaluations_per_hour`), and a
/// `/folio refresh` quoted or inside a code block is not a command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_are_limited_per_issue_and_quoted_commands_are_not_commands() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    gh.repo(HIRING).file(
        ".github/folio.yml",
        "limits:\n  reevaluations_per_hour: 2\n",
    );
    let app = start(&gh).await;
    open_issue(&gh, 15, "octocat", &standard_form()).await;
    app.wait_idle(WAIT).await;
    let sub = app
        .store
        .submission(HIRING, 15)
        .await
        .expect("store")
        .expect("submission");
    let evaluations = || async { app.store.evaluations_since(sub.id, 0).await.expect("store") };
    assert_eq!(evaluations().await, 1);

    refresh_by(&gh, 15, "recruiter", "> /folio refresh\n\nquoting the docs").await;
    refresh_by(&gh, 15, "recruiter", "```\n/folio refresh\n```").await;
    app.wait_idle(WAIT).await;
    assert_eq!(evaluations().await, 1, "quoted commands ran");

    refresh_by(&gh, 15, "recruiter", "/folio refresh").await;
    app.wait_idle(WAIT).await;
    assert_eq!(evaluations().await, 2);
    refresh_by(&gh, 15, "recruiter", "/folio refresh please").await;
    app.wait_idle(WAIT).await;
    assert_eq!(evaluations().await, 2, "the hourly limit of 2 was exceeded");
    the_comment(&gh, 15);
    app.stop().await;
}

/// SPEC §1: someone who is neither the candidate nor a maintainer submits for a candidate;
/// Folio asks a maintainer to confirm, and a maintainer's `/folio refresh` turns the same
/// comment into the evaluation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_for_someone_else_waits_for_a_maintainer_to_confirm() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    let app = start(&gh).await;
    open_issue(&gh, 16, "stranger", &standard_form()).await;
    app.wait_idle(WAIT).await;
    let waiting = the_comment(&gh, 16);
    assert!(waiting.contains("/folio refresh"), "{waiting}");
    assert!(!waiting.contains("https://github.com/psf/requests/pull/101"));
    assert!(
        !gh.requests()
            .iter()
            .any(|r| r.path_and_query.starts_with("/repos/psf/")),
        "nothing of the portfolio is fetched before a maintainer confirms"
    );

    refresh_by(&gh, 16, "recruiter", "/folio refresh").await;
    app.wait_idle(WAIT).await;
    let evaluated = the_comment(&gh, 16);
    assert!(evaluated.contains("https://github.com/psf/requests/pull/101"));

    // The confirmation was for octocat and those links: re-pointed at someone else, the
    // submission waits again, and nothing of the new person is read.
    gh.user("victim");
    gh.repo("victim/private-life").public().commit(
        CommitSpec::new("Diary")
            .author("victim")
            .file("pyproject.toml", "[project]\nname = \"diary\"\n"),
    );
    gh.reset_log();
    let before = standard_form();
    gh.issue(HIRING, 16).body(&form(
        "victim",
        &[],
        &["https://github.com/victim/private-life"],
    ));
    gh.send_webhook(Event::IssueEdited {
        repo: HIRING.into(),
        number: 16,
        previous_body: Some(before),
    })
    .await;
    app.wait_idle(WAIT).await;
    assert!(
        !gh.requests()
            .iter()
            .any(|r| r.path_and_query.contains("victim")),
        "{:#?}",
        gh.requests()
    );
    let waiting = the_comment(&gh, 16);
    assert!(waiting.contains("/folio refresh"), "{waiting}");
    assert!(!waiting.contains("private-life"), "{waiting}");
    let sub = app
        .store
        .submission(HIRING, 16)
        .await
        .expect("store")
        .expect("submission");
    assert_eq!(sub.confirmed_by, None);

    // Back to octocat but with other links: still a new confirmation to give.
    gh.reset_log();
    gh.issue(HIRING, 16).body(&form(
        "octocat",
        &["https://github.com/psf/requests/pull/102"],
        &[],
    ));
    gh.send_webhook(Event::IssueEdited {
        repo: HIRING.into(),
        number: 16,
        previous_body: None,
    })
    .await;
    app.wait_idle(WAIT).await;
    assert!(
        !gh.requests()
            .iter()
            .any(|r| r.path_and_query.starts_with("/repos/psf/")),
        "{:#?}",
        gh.requests()
    );
    refresh_by(&gh, 16, "recruiter", "/folio refresh").await;
    app.wait_idle(WAIT).await;
    let evaluated = the_comment(&gh, 16);
    assert!(
        evaluated.contains("https://github.com/psf/requests/pull/102"),
        "{evaluated}"
    );
    app.stop().await;
}

/// The per-issue limit holds whatever triggers the evaluation (closing and reopening too),
/// and an issue opened plain and then edited into a submission counts against its author's
/// daily limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_and_editing_into_a_submission_cannot_get_past_the_limits() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    gh.repo(HIRING).file(
        ".github/folio.yml",
        "limits:\n  reevaluations_per_hour: 2\n  submissions_per_day: 1\n",
    );
    let app = start(&gh).await;
    open_issue(&gh, 30, "octocat", &standard_form()).await;
    app.wait_idle(WAIT).await;
    let sub = app
        .store
        .submission(HIRING, 30)
        .await
        .expect("store")
        .expect("submission");
    for _ in 0..4 {
        gh.send_webhook(Event::IssueClosed {
            repo: HIRING.into(),
            number: 30,
        })
        .await;
        gh.send_webhook(Event::IssueReopened {
            repo: HIRING.into(),
            number: 30,
        })
        .await;
        app.wait_idle(WAIT).await;
    }
    assert_eq!(
        app.store.evaluations_since(sub.id, 0).await.expect("store"),
        2,
        "four reopenings within the hour, limit 2"
    );
    // Every evaluation edits the one comment.
    gh.evidence_comment(HIRING, 30);

    // The second submission of the day, disguised: opened plain, then edited into one.
    gh.issue(HIRING, 31)
        .author("octocat")
        .title("Hello")
        .body("Just saying hello.");
    gh.send_webhook(Event::IssueOpened {
        repo: HIRING.into(),
        number: 31,
    })
    .await;
    app.wait_idle(WAIT).await;
    assert!(
        !gh.issue_comments(HIRING, 31)
            .iter()
            .any(|c| c.user == gh.bot_login()),
        "a plain issue is left alone"
    );
    gh.reset_log();
    gh.issue(HIRING, 31).body(&standard_form());
    gh.send_webhook(Event::IssueEdited {
        repo: HIRING.into(),
        number: 31,
        previous_body: Some("Just saying hello.".into()),
    })
    .await;
    app.wait_idle(WAIT).await;
    let limited = the_comment(&gh, 31);
    assert!(limited.contains("submissions today"), "{limited}");
    assert!(
        !gh.requests()
            .iter()
            .any(|r| r.path_and_query.starts_with("/repos/psf/")),
        "the portfolio is not read over the limit"
    );
    app.stop().await;
}

/// Unusable input gets a comment that says what to fix and the needs-info label; private
/// repositories are listed as not public and never quoted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_input_asks_for_a_fix_and_private_work_is_never_quoted() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    gh.repo("octocat/secret")
        .private()
        .file(".github/workflows/ci.yml", "on: push # SECRET-MARKER\n");
    let app = start(&gh).await;

    open_issue(&gh, 17, "octocat", &form("octocat", &[], &[])).await;
    app.wait_idle(WAIT).await;
    let body = the_comment(&gh, 17);
    assert!(
        gh.issue_labels(HIRING, 17)
            .contains(&"folio: needs-info".to_string())
    );
    assert!(body.to_lowercase().contains("link"), "{body}");

    gh.issue(HIRING, 17).body(&form(
        "octocat",
        &["https://github.com/psf/requests/pull/101"],
        &["https://github.com/octocat/secret"],
    ));
    gh.send_webhook(Event::IssueEdited {
        repo: HIRING.into(),
        number: 17,
        previous_body: None,
    })
    .await;
    app.wait_idle(WAIT).await;
    let body = the_comment(&gh, 17);
    assert!(body.contains("not public"), "{body}");
    assert!(!body.contains("SECRET-MARKER"));
    let report = app.last_report(HIRING, 17).await;
    assert!(!report.to_string().contains("SECRET-MARKER"));
    let labels = gh.issue_labels(HIRING, 17);
    assert!(
        labels.contains(&"folio: evaluated".to_string()),
        "{labels:?}"
    );
    assert!(
        !labels.contains(&"folio: needs-info".to_string()),
        "{labels:?}"
    );
    app.stop().await;
}

/// SPEC §8: Folio never runs the rate limit dry. With less left than an evaluation needs,
/// the job waits for the reset instead of spending the rest, and no attempt is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluation_waits_for_the_rate_limit_reset_instead_of_running_it_dry() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    let app = start(&gh).await;
    gh.set_rate_limit_remaining(30);
    open_issue(&gh, 18, "octocat", &standard_form()).await;

    // The job reads the issue (which reports the remaining budget), then defers itself.
    let deadline = tokio::time::Instant::now() + WAIT;
    let job = loop {
        let jobs = app
            .store
            .list_jobs(Some(folio::store::JobState::Pending), 10)
            .await
            .expect("jobs");
        let later = app.store.clock().now().as_millis() + 60_000;
        if let Some(j) = jobs.into_iter().find(|j| j.run_at > later) {
            break j;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job was not deferred"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        job.attempts, 0,
        "a deferral is not a failed attempt: {job:?}"
    );
    assert!(
        job.last_error
            .as_deref()
            .is_some_and(|e| e.contains("rate limit")),
        "the reason is kept for `folio jobs list`: {job:?}"
    );
    assert!(gh.issue_comments(HIRING, 18).is_empty());
    assert!(
        !gh.requests()
            .iter()
            .any(|r| r.path_and_query.starts_with("/repos/psf/")),
        "nothing of the portfolio was fetched"
    );
    assert!(
        gh.rate_limit_remaining() > 20,
        "{}",
        gh.rate_limit_remaining()
    );
    app.stop().await;
}

/// Folio's own comment (it tells people to comment `/folio refresh`) and other bots'
/// comments never start an evaluation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_by_folio_or_other_bots_are_not_commands() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    gh.user("renovate[bot]").bot();
    let app = start(&gh).await;
    open_issue(&gh, 19, "octocat", &standard_form()).await;
    app.wait_idle(WAIT).await;
    let ours = gh
        .issue_comments(HIRING, 19)
        .into_iter()
        .find(|c| c.user == gh.bot_login())
        .expect("Folio's comment");
    gh.send_webhook(Event::IssueCommentCreated {
        repo: HIRING.into(),
        number: 19,
        comment_id: ours.id,
    })
    .await;
    refresh_by(&gh, 19, "renovate[bot]", "/folio refresh").await;
    app.wait_idle(WAIT).await;
    let sub = app
        .store
        .submission(HIRING, 19)
        .await
        .expect("store")
        .expect("submission");
    assert_eq!(
        app.store.evaluations_since(sub.id, 0).await.expect("store"),
        1
    );
    the_comment(&gh, 19);
    app.stop().await;
}

/// A workflow that would expand to gigabytes through YAML aliases is a warning naming the
/// repository and the file: the evaluation completes, and the rest is still analysed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_workflow_is_a_warning_and_the_evaluation_completes() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    let big = "x".repeat(600_000);
    let mut bomb = format!("name: bomb\non: [push]\nanchor: &a \"{big}\"\nlist:\n");
    for _ in 0..500 {
        bomb.push_str("  - *a\n");
    }
    gh.repo("octocat/hello").commit(
        CommitSpec::new("Add a workflow")
            .author("octocat")
            .file(".github/workflows/bomb.yml", bomb),
    );
    let app = start(&gh).await;
    assert_eq!(open_issue(&gh, 1, "octocat", &standard_form()).await, 202);
    app.wait_idle(WAIT).await;

    let body = the_comment(&gh, 1);
    assert!(body.starts_with(MARKER), "{body}");
    let report = app.last_report(HIRING, 1).await;
    let warnings = report["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| {
            let w = w.as_str().unwrap_or_default();
            w.starts_with("octocat/hello: could not parse .github/workflows/bomb.yml")
        }),
        "{warnings:#?}"
    );
    // The other workflow of the same repository is still read.
    let tests_in_ci = report["practices"]
        .as_array()
        .expect("practices")
        .iter()
        .find(|p| p["id"] == "tests_in_ci" && p["repository"] == "octocat/hello")
        .expect("tests_in_ci for octocat/hello");
    assert_eq!(tests_in_ci["present"], true, "{tests_in_ci:#}");
    app.stop().await;
}

/// Issue 17, crash-loop protection: an analysis that ends the process (an abort, an
/// out-of-memory kill) is no panic to catch, and the job would run it again after every
/// restart. Two starts recorded without an end, as two such crashes leave them, and the
/// repository is skipped: it is unknown, with a warning, and the rest is reported. A clean
/// analysis leaves no record that would skip it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_whose_analysis_twice_ended_the_process_is_skipped_with_a_warning() {
    use folio::store::AnalysisKey;
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    let app = start(&gh).await;
    open_issue(&gh, 31, "octocat", &standard_form()).await;
    app.wait_idle(WAIT).await;
    let first = app.last_report(HIRING, 31).await;
    let commit_of = |report: &Value, url: &str| -> String {
        report["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .find(|s| s["url"] == url)
            .and_then(|s| s["commit"].as_str())
            .unwrap_or_else(|| panic!("no commit for {url} in {report:#}"))
            .to_string()
    };
    let hello_commit = commit_of(&first, "https://github.com/octocat/hello");
    let requests_commit = commit_of(&first, "https://github.com/psf/requests");
    let sub = app
        .store
        .submission(HIRING, 31)
        .await
        .expect("store")
        .expect("submission");
    let hello = AnalysisKey {
        submission_id: sub.id,
        repo: "octocat/hello",
        commit_sha: &hello_commit,
    };
    let requests = AnalysisKey {
        submission_id: sub.id,
        repo: "psf/requests",
        commit_sha: &requests_commit,
    };
    for key in [hello, requests] {
        assert_eq!(
            app.store.unclean_analysis_ends(key).await.expect("store"),
            0,
            "a clean analysis left a record: {key:?}"
        );
    }
    let warning = "a file in octocat/hello could not be analysed within Folio's limits";
    assert!(
        !first["warnings"].to_string().contains(warning),
        "{:#}",
        first["warnings"]
    );

    // What two analyses killed from outside leave: their starts, never their ends.
    app.store.analysis_started(hello).await.expect("store");
    app.store.analysis_started(hello).await.expect("store");
    refresh_by(&gh, 31, "recruiter", "/folio refresh").await;
    app.wait_idle(WAIT).await;

    let report = app.last_report(HIRING, 31).await;
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(warnings.contains(&warning), "{warnings:#?}");
    let body = the_comment(&gh, 31);
    assert!(body.contains(warning), "{body}");
    let practices = report["practices_by_repository"]
        .as_array()
        .expect("practices by repository");
    assert!(
        !practices.iter().any(|p| p["repository"] == "octocat/hello"),
        "octocat/hello was analysed: {practices:#?}"
    );
    // The rest is evaluated as before: the project's practices and the pull requests.
    let coverage_gate = practices
        .iter()
        .find(|p| p["id"] == "coverage_gate" && p["repository"] == "psf/requests")
        .expect("coverage_gate for psf/requests");
    assert_eq!(coverage_gate["attribution"], "authored");
    assert_eq!(report["pull_requests"].as_array().map(Vec::len), Some(1));
    // The skip holds for this commit: nothing was started again.
    assert_eq!(
        app.store.unclean_analysis_ends(hello).await.expect("store"),
        2
    );
    assert_eq!(
        app.store
            .unclean_analysis_ends(requests)
            .await
            .expect("store"),
        0
    );
    app.stop().await;
}

/// Issue 17: a linked repository or pull request that does not exist and one that is private
/// (where the App is installed, so GitHub shows it to Folio) get the same words: a difference
/// would tell readers of the public comment which private repositories exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_private_links_read_the_same() {
    let gh = FakeGitHub::start().await;
    hiring_world(&gh);
    gh.installation(INSTALLATION)
        .repos(&[HIRING, "acme/secret-project"]);
    gh.repo("acme/secret-project")
        .private()
        .file("README.md", "SECRET-MARKER\n");
    gh.pull("acme/secret-project", 1)
        .author("octocat")
        .title("SECRET-MARKER")
        .commit(
            CommitSpec::new("Secret")
                .author("octocat")
                .file("a.py", "x = 1\n"),
        );
    let app = start(&gh).await;
    let links = [
        "https://github.com/acme/secret-project",
        "https://github.com/acme/nothing-here",
        "https://github.com/acme/secret-project/pull/1",
        "https://github.com/psf/requests/pull/999",
    ];
    let body = form(
        "octocat",
        &[
            links[2],
            links[3],
            "https://github.com/psf/requests/pull/101",
        ],
        &[links[0], links[1]],
    );
    open_issue(&gh, 33, "octocat", &body).await;
    app.wait_idle(WAIT).await;

    let report = app.last_report(HIRING, 33).await;
    let warnings: Vec<String> = report["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w.as_str().map(str::to_string))
        .collect();
    for link in links {
        let said: Vec<&str> = warnings
            .iter()
            .filter_map(|w| w.strip_prefix(link))
            .filter(|rest| rest.starts_with(':'))
            .collect();
        assert_eq!(
            said,
            [": not found or not public; not evaluated and not quoted"],
            "{link}: {warnings:#?}"
        );
    }
    let comment = the_comment(&gh, 33);
    assert!(!comment.contains("SECRET-MARKER"), "{comment}");
    app.stop().await;
}
