//! Stories of bounded downloads: what a hostile or merely huge repository or pull request can
//! cost Folio. Archives are read as they arrive under caps on entries and unpacked bytes, an
//! archive over a cap is remembered by commit, GitHub's answers are capped in bytes, redirects
//! go only to GitHub, and an evaluation waits rather than running the rate limit dry.

use crate::harness;
use crate::support;

use std::time::Duration;

use folio::config::{GithubSettings, Secret};
use folio::github::{GhError, GitHub};
use harness::TestApp;
use serde_json::Value;
use support::fake_github::{CommitSpec, Event, FakeGitHub, Fault, Matcher, ReviewCommentSpec};

const HIRING: &str = "acme/hiring";
const INSTALLATION: u64 = 42;
const WAIT: Duration = Duration::from_secs(60);

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

fn hiring(gh: &FakeGitHub) {
    gh.installation(INSTALLATION)
        .organization("acme")
        .repos(&[HIRING]);
    gh.repo(HIRING).public();
    gh.user("octocat").name("The Octocat");
}

async fn open_issue(gh: &FakeGitHub, number: u64, body: &str) -> u16 {
    gh.issue(HIRING, number)
        .author("octocat")
        .title("Candidate portfolio")
        .body(body);
    gh.send_webhook(Event::IssueOpened {
        repo: HIRING.into(),
        number,
    })
    .await
}

/// Starts Folio against the fake with `config` (whole TOML sections) after the test's queue
/// settings, and points the App's webhook at it.
async fn start_with(gh: &FakeGitHub, config: &str) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("folio.db").display());
    std::fs::write(
        dir.path().join("folio.toml"),
        format!("{}{config}", harness::TEST_CONFIG),
    )
    .expect("config");
    let env = harness::github_env(&url, &gh.url(), gh.app_id(), &gh.private_key_pem());
    let app = harness::spawn_with(env, Some(dir), None).await;
    gh.set_webhook_secret(harness::SECRET);
    gh.webhook_to(&format!("{}/webhook", app.url));
    app
}

/// The one comment Folio wrote on the issue, once it is there.
async fn comment_on(gh: &FakeGitHub, number: u64) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let comments: Vec<_> = gh
            .issue_comments(HIRING, number)
            .into_iter()
            .filter(|c| c.user == gh.bot_login())
            .collect();
        if let Some(c) = comments.first() {
            assert_eq!(comments.len(), 1, "{comments:#?}");
            return c.body.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "no comment");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn warnings_of(report: &Value) -> Vec<String> {
    report["warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn tarball_requests(gh: &FakeGitHub) -> Vec<String> {
    gh.requests()
        .into_iter()
        .map(|r| r.path_and_query)
        .filter(|p| p.contains("/tarball/") || p.starts_with("/codeload/"))
        .collect()
}

/// A repository with a pyproject, whose archive the fake replaces with `archive`.
fn hostile_repo(gh: &FakeGitHub, full: &str, archive: Vec<u8>) {
    gh.repo(full).public().commit(
        CommitSpec::new("Start")
            .author("octocat")
            .file("pyproject.toml", "[project]\nname = \"x\"\n"),
    );
    gh.fail_next(
        Matcher::prefix(&format!("/codeload/{full}/")),
        Fault::Archive(archive),
        10,
    );
}

/// An archive (GitHub's shape: one top directory) of the given files, gzip-compressed fast.
fn archive_of(files: impl IntoIterator<Item = (String, Box<dyn std::io::Read>, u64)>) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (path, data, size) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_cksum();
        builder
            .append_data(&mut h, format!("octocat-x-abc1234/{path}"), data)
            .expect("append");
    }
    builder
        .into_inner()
        .and_then(|gz| gz.finish())
        .expect("archive")
}

/// Finding 7: a gzip bomb stops at the cap on unpacked bytes and an archive of too many entries
/// at the cap on entries, each a warning while the rest is evaluated; the verdict is kept by
/// commit, so a second evaluation downloads neither again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_and_an_archive_of_too_many_entries_are_too_large_once() {
    let gh = FakeGitHub::start().await;
    hiring(&gh);
    // 64 MiB of zeros in one file: about 64 KiB compressed.
    let bomb = archive_of(std::iter::once((
        "data.txt".to_string(),
        Box::new(std::io::Read::take(std::io::repeat(0), 64 << 20)) as Box<dyn std::io::Read>,
        64 << 20,
    )));
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    hostile_repo(&gh, "octocat/bomb", bomb);
    let many = archive_of((0..3000).map(|i| {
        (
            format!("f{i}.md"),
            Box::new(std::io::empty()) as Box<dyn std::io::Read>,
            0,
        )
    }));
    hostile_repo(&gh, "octocat/many", many);
    gh.repo("octocat/fine").public().commit(
        CommitSpec::new("Start")
            .author("octocat")
            .file("pyproject.toml", "[project]\nname = \"fine\"\n"),
    );
    let app = start_with(
        &gh,
        &format!(
            "{}[archive]\nmax_unpacked_bytes = 16777216\nmax_entries = 1000\n",
            harness::GITHUB_TEST_CONFIG
        ),
    )
    .await;
    let links = [
        "https://github.com/octocat/bomb",
        "https://github.com/octocat/many",
        "https://github.com/octocat/fine",
    ];
    assert_eq!(open_issue(&gh, 1, &form("octocat", &[], &links)).await, 202);
    let body = comment_on(&gh, 1).await;
    app.wait_idle(WAIT).await;
    let report = app.last_report(HIRING, 1).await;
    let warnings = warnings_of(&report);
    assert!(
        warnings.iter().any(|w| w.contains("octocat/bomb")
            && w.contains(
                "too large to analyse (its archive unpacks to more than 16777216 bytes)"
            )),
        "{warnings:#?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("octocat/many")
            && w.contains("too large to analyse (its archive holds more than 1000 entries)")),
        "{warnings:#?}"
    );
    assert!(body.contains("octocat/fine"), "{body}");
    let first = tarball_requests(&gh);
    assert_eq!(
        first.iter().filter(|p| p.contains("/tarball/")).count(),
        3,
        "{first:#?}"
    );

    // The same links again: the verdicts are read from the cache, nothing is downloaded.
    gh.reset_log();
    gh.send_webhook(Event::IssueEdited {
        repo: HIRING.into(),
        number: 1,
        previous_body: None,
    })
    .await;
    app.wait_idle(WAIT).await;
    let sub = app
        .store
        .submission(HIRING, 1)
        .await
        .expect("store")
        .expect("submission");
    assert_eq!(
        app.store.evaluations_since(sub.id, 0).await.expect("store"),
        2
    );
    assert!(
        tarball_requests(&gh).is_empty(),
        "{:#?}",
        tarball_requests(&gh)
    );
    let again = warnings_of(&app.last_report(HIRING, 1).await);
    assert!(
        again
            .iter()
            .any(|w| w.contains("octocat/bomb") && w.contains("too large")),
        "{again:#?}"
    );
    app.stop().await;
}

/// Finding 8: an answer over the byte cap is refused part-way; the pull request it was for
/// becomes a warning, and the job completes for the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_whose_answer_is_over_the_byte_cap_becomes_a_warning() {
    let gh = FakeGitHub::start().await;
    hiring(&gh);
    gh.repo("octocat/hello").public().commit(
        CommitSpec::new("Start")
            .author("octocat")
            .file("pyproject.toml", "[project]\nname = \"hello\"\n")
            .file("src/x.py", "x = 1\n"),
    );
    let mut pull = gh
        .pull("octocat/hello", 3)
        .author("octocat")
        .title("Talkative");
    // 100 comments of 4 KiB on one page: 400 KiB, over the 256 KiB cap below.
    let long = "word ".repeat(800);
    for _ in 0..100 {
        pull = pull.review_comment(ReviewCommentSpec::new("reviewer", "src/x.py", &long).line(1));
    }
    let app = start_with(
        &gh,
        "[github]\nrequest_timeout_seconds = 5\nmax_retries = 1\nretry_base_ms = 50\nmax_response_bytes = 262144\n",
    )
    .await;
    let body = form(
        "octocat",
        &["https://github.com/octocat/hello/pull/3"],
        &["https://github.com/octocat/hello"],
    );
    assert_eq!(open_issue(&gh, 2, &body).await, 202);
    comment_on(&gh, 2).await;
    app.wait_idle(WAIT).await;
    let report = app.last_report(HIRING, 2).await;
    let warnings = warnings_of(&report);
    assert!(
        warnings.iter().any(
            |w| w.starts_with("https://github.com/octocat/hello/pull/3:")
                && w.contains("larger than 262144 bytes; skipped")
        ),
        "{warnings:#?}"
    );
    let sources = report["sources"].as_array().cloned().unwrap_or_default();
    assert!(
        sources
            .iter()
            .any(|s| s["url"] == "https://github.com/octocat/hello"),
        "{sources:#?}"
    );
    app.stop().await;
}

/// Finding 8: the request estimate counts every page a pull request may take. With less rate
/// limit left than that, a submission of one large pull request waits for the reset instead
/// of reading 2,000 review comments and running the installation dry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_pull_request_waits_for_the_reset_instead_of_draining_the_rate_limit() {
    let gh = FakeGitHub::start().await;
    hiring(&gh);
    gh.repo("octocat/hello").public().commit(
        CommitSpec::new("Start")
            .author("octocat")
            .file("pyproject.toml", "[project]\nname = \"hello\"\n")
            .file("src/x.py", "x = 1\n"),
    );
    let mut pull = gh.pull("octocat/hello", 4).author("octocat").title("Large");
    for n in 0..2000 {
        pull = pull.review_comment(
            ReviewCommentSpec::new("reviewer", "src/x.py", &format!("comment {n}")).line(1),
        );
    }
    let app = start_with(&gh, harness::GITHUB_TEST_CONFIG).await;
    // Enough for the issue and a small evaluation, not for 20 pages of comments on top.
    gh.set_rate_limit_remaining(45);
    let body = form("octocat", &["https://github.com/octocat/hello/pull/4"], &[]);
    assert_eq!(open_issue(&gh, 3, &body).await, 202);
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
            "the job was not deferred; {} left, comments {:?}",
            gh.rate_limit_remaining(),
            gh.issue_comments(HIRING, 3)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(job.attempts, 0, "{job:?}");
    assert!(
        !gh.requests()
            .iter()
            .any(|r| r.path_and_query.starts_with("/repos/octocat/hello/pulls")),
        "nothing of the pull request was read"
    );
    assert!(
        gh.rate_limit_remaining() >= 35,
        "{}",
        gh.rate_limit_remaining()
    );
    app.stop().await;
}

fn client_settings() -> GithubSettings {
    GithubSettings {
        request_timeout: Duration::from_secs(5),
        max_retries: 1,
        retry_base: Duration::from_millis(20),
        max_concurrent_requests: 4,
        max_response_bytes: 16 << 20,
    }
}

/// Low finding: redirects are followed only on GitHub. The API's own origin (a renamed
/// repository) is followed with the token; another host is not followed at all, and neither is
/// a tarball sent elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_only_to_github() {
    let gh = FakeGitHub::start().await;
    gh.installation(7).organization("acme").repos(&[HIRING]);
    gh.repo("octocat/hello").public().commit(
        CommitSpec::new("Start")
            .author("octocat")
            .file("pyproject.toml", "[project]\n"),
    );
    let api = url::Url::parse(&gh.url()).expect("url");
    let creds = GitHub::app(gh.app_id(), &Secret::new(gh.private_key_pem())).expect("key");
    let github = std::sync::Arc::new(
        GitHub::new(&api, Some(creds), None, client_settings()).expect("client"),
    );
    let session = github.session(Some(7));

    // Same origin: followed, and the token goes along (the fake refuses the repository without it).
    gh.fail_next(
        Matcher::exact("/repos/octocat/old-name"),
        Fault::Redirect(format!("{}/repos/octocat/hello", gh.url())),
        1,
    );
    let repo = session
        .repository("octocat/old-name")
        .await
        .expect("followed");
    assert_eq!(repo.full_name, "octocat/hello");

    // The same server under another name is another host: not followed.
    let elsewhere = gh.url().replace("127.0.0.1", "localhost");
    gh.fail_next(
        Matcher::exact("/repos/octocat/moved"),
        Fault::Redirect(format!("{elsewhere}/repos/octocat/hello")),
        1,
    );
    gh.reset_log();
    let err = session.repository("octocat/moved").await.unwrap_err();
    assert!(matches!(err, GhError::Redirect { .. }), "{err:?}");
    assert_eq!(gh.request_count(), 1, "{:#?}", gh.requests());

    let sha = gh.repo("octocat/hello").head_sha();
    gh.fail_next(
        Matcher::prefix("/repos/octocat/hello/tarball"),
        Fault::Redirect(format!(
            "{elsewhere}/codeload/octocat/hello/legacy.tar.gz/{sha}"
        )),
        1,
    );
    gh.reset_log();
    let err = session.tarball("octocat/hello", &sha).await.err();
    assert!(matches!(err, Some(GhError::Redirect { .. })), "{err:?}");
    assert!(
        !gh.requests()
            .iter()
            .any(|r| r.path_and_query.starts_with("/codeload/")),
        "{:#?}",
        gh.requests()
    );
    // GitHub's own redirect (to its codeload path on the same origin) is followed.
    assert!(session.tarball("octocat/hello", &sha).await.is_ok());
}

/// A figure of `/proc/{pid}/status` (`VmHWM`, `RssAnon`, `RssFile`), in MiB.
fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn peak_rss_mib(pid: u32) -> Option<f64> {
    status_mib(pid, "VmHWM")
}

/// One repository of about `mib` MiB as a tarball: a workflow, a pyproject, a few MiB of test
/// files (text the analysis keeps) and incompressible binary files (which it skips).
fn large_repo(gh: &FakeGitHub, full: &str, mib: usize) {
    let mut rng = fastrand::Rng::with_seed(full.len() as u64 * 7919);
    let mut commit = CommitSpec::new("Large repository")
        .author("octocat")
        .file(".github/workflows/ci.yml", crate::evaluation::CI)
        .file(
            "pyproject.toml",
            "[project]\nname = \"large\"\nversion = \"1.0.0\"\n",
        );
    let mut text_bytes = 0usize;
    let mut i = 0;
    // About 12 MiB of test files, half of that once compressed.
    while text_bytes < 12 << 20 {
        let mut src = String::with_capacity(10_500);
        while src.len() < 10_000 {
            let name: String = (0..12).map(|_| rng.alphanumeric()).collect();
            src.push_str(&format!(
                "def test_{}_{}():\n    assert {} == {}\n\n",
                name.to_ascii_lowercase(),
                rng.u32(..),
                rng.u32(..1000),
                rng.u32(..1000)
            ));
        }
        text_bytes += src.len();
        commit = commit.file(&format!("tests/test_module_{i:05}.py"), src);
        i += 1;
    }
    let blobs = mib.saturating_sub(6);
    for b in 0..blobs {
        let mut blob = vec![0u8; 1 << 20];
        rng.fill(&mut blob);
        commit = commit.file(&format!("assets/blob-{b:03}.bin"), blob);
    }
    gh.repo(full).public().commit(commit);
}

/// A measurement, not a check: run by `scripts/bench-eval-rss.sh`. The peak resident memory
/// of a `folio serve` process through one evaluation of four repositories whose tarballs are
/// about 99 MB each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark; run scripts/bench-eval-rss.sh"]
async fn bench_peak_rss_of_one_evaluation_of_four_large_repositories() {
    let gh = FakeGitHub::start().await;
    hiring(&gh);
    let names = [
        "octocat/big-a",
        "octocat/big-b",
        "octocat/big-c",
        "octocat/big-d",
    ];
    for name in names {
        large_repo(&gh, name, 99);
    }
    // The size of one archive as GitHub would send it.
    let token = gh.installation_token(INSTALLATION);
    let archive = reqwest::Client::new()
        .get(format!("{}/repos/{}/tarball", gh.url(), names[0]))
        .header("authorization", format!("token {token}"))
        .send()
        .await
        .expect("tarball")
        .bytes()
        .await
        .expect("tarball body");
    gh.set_webhook_secret(harness::SECRET);
    let (dir, config, env) =
        harness::process_setup(None, &gh.url(), gh.app_id(), &gh.private_key_pem());
    // The fake builds each archive under one lock, so the last one waits for the others.
    std::fs::write(
        &config,
        format!(
            "{}[github]\nrequest_timeout_seconds = 300\nmax_retries = 1\nretry_base_ms = 50\n",
            // The production lease: the tests' 3 s one expires under a loaded machine's
            // downloads of 400 MB, and a measurement of a cut-off job measures nothing.
            harness::TEST_CONFIG.replace("lease_seconds = 3\n", "lease_seconds = 30\n")
        ),
    )
    .expect("config");
    let folio = harness::FolioProcess::start(&env, &config, dir.path().join("folio.log")).await;
    let idle = peak_rss_mib(folio.pid()).unwrap_or(0.0);
    gh.webhook_to(&format!("{}/webhook", folio.url));
    let links: Vec<String> = names
        .iter()
        .map(|n| format!("https://github.com/{n}"))
        .collect();
    let links: Vec<&str> = links.iter().map(String::as_str).collect();
    // The peak splits into heap (anonymous) and the binary's own pages (file-backed), which a
    // debug build has many more of: sampled, since the kernel keeps only the total's peak.
    let pid = folio.pid();
    let sampler = tokio::spawn(async move {
        let (mut anon, mut file) = (0.0f64, 0.0f64);
        loop {
            let (Some(a), Some(f)) = (status_mib(pid, "RssAnon"), status_mib(pid, "RssFile"))
            else {
                return (anon, file);
            };
            (anon, file) = (anon.max(a), file.max(f));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let started = std::time::Instant::now();
    assert_eq!(open_issue(&gh, 1, &form("octocat", &[], &links)).await, 202);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1200);
    while gh.issue_comments(HIRING, 1).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no comment; log:\n{}",
            std::fs::read_to_string(&folio.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    let peak = peak_rss_mib(pid).unwrap_or(f64::NAN);
    let comment = gh.issue_comments(HIRING, 1).remove(0).body;
    let read: Vec<&&str> = names.iter().filter(|n| comment.contains(**n)).collect();
    // Killed (and reaped), so the sampler finds no more figures and returns its peaks.
    drop(folio);
    let (anon, file) = sampler.await.unwrap_or((f64::NAN, f64::NAN));
    eprintln!(
        "four repositories, tarball {:.1} MB each: peak RSS of folio serve {peak:.0} MiB (idle {idle:.0} MiB; sampled peaks: heap {anon:.0} MiB, binary and other file pages {file:.0} MiB), comment after {:.1} s, repositories named in it: {}",
        archive.len() as f64 / 1e6,
        elapsed.as_secs_f64(),
        read.len()
    );
    if read.len() < names.len() {
        let head: Vec<&str> = comment.lines().take(40).collect();
        eprintln!("the comment's first lines:\n{}", head.join("\n"));
    }
}
