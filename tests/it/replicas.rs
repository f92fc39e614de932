//! Several `folio serve` replicas on one PostgreSQL database (SPEC §7, §8): deliveries reach
//! either replica, GitHub redelivers some, one replica dies with SIGKILL half-way, and still
//! every tracking issue ends with exactly one evidence comment.
//!
//! Needs `FOLIO_TEST_POSTGRES_URL` (`.ci/run` sets it); without it the story is skipped.

use crate::harness;
use crate::support;

use std::time::Duration;

use harness::FolioProcess;
use support::fake_github::{CommitSpec, Event, FakeGitHub, Permission};

const HIRING: &str = "acme/hiring";
const ISSUES: u64 = 50;

fn world(gh: &FakeGitHub) {
    gh.installation(42).organization("acme").repos(&[HIRING]);
    gh.repo(HIRING)
        .public()
        .collaborator("recruiter", Permission::Triage);
    gh.repo("octocat/hello").public().commit(
        CommitSpec::new("Start")
            .author("octocat")
            .file(
                ".github/workflows/ci.yml",
                "on: [push]\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest\n",
            )
            .file("pyproject.toml", "[project]\nname = \"hello\"\n"),
    );
    gh.pull("octocat/hello", 1)
        .author("octocat")
        .title("Add tests")
        .commit(
            CommitSpec::new("Tests")
                .author("octocat")
                .file("tests/test_x.py", "def test_x():\n    assert True\n"),
        )
        .merged();
    for n in 1..=ISSUES {
        // Each candidate opens their own issue, so no daily submission limit applies.
        let login = format!("candidate{n}");
        gh.issue(HIRING, n).author(&login).title("Portfolio").body(&format!(
            "### GitHub username\n\n{login}\n\n### Pull requests\n\nhttps://github.com/octocat/hello/pull/1\n\n### Repositories\n\nhttps://github.com/octocat/hello\n\n### Notes\n\n_No response_\n"
        ));
    }
}

async fn send(
    http: &reqwest::Client,
    url: &str,
    event: &str,
    guid: &str,
    body: &[u8],
) -> reqwest::StatusCode {
    http.post(format!("{url}/webhook"))
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", guid)
        .header(
            "X-Hub-Signature-256",
            folio::webhook::verify::sign(harness::SECRET, body),
        )
        .header("Content-Type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .map(|r| r.status())
        .unwrap_or_else(|e| panic!("delivery {guid} to {url} failed: {e}"))
}

fn folio_comments(gh: &FakeGitHub, n: u64) -> usize {
    gh.issue_comments(HIRING, n)
        .iter()
        .filter(|c| c.user == gh.bot_login())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_the_work_and_one_dying_loses_nothing() {
    let Ok(admin) = std::env::var("FOLIO_TEST_POSTGRES_URL") else {
        eprintln!("FOLIO_TEST_POSTGRES_URL is not set; skipping the replicas story");
        return;
    };
    let db = harness::fresh_pg_database(&admin).await;
    let gh = FakeGitHub::start().await;
    world(&gh);
    let (dir, config, mut env) =
        harness::process_setup(Some(&db), &gh.url(), gh.app_id(), &gh.private_key_pem());
    env.insert("FOLIO_WORKERS".into(), "3".into());
    // Slow enough answers that evaluations are in flight when a replica dies.
    gh.set_latency(Duration::from_millis(20));

    let mut a = FolioProcess::start(&env, &config, dir.path().join("a.log")).await;
    let b = FolioProcess::start(&env, &config, dir.path().join("b.log")).await;

    // 200 deliveries: each issue's `opened` and a body edit, each delivered to one replica
    // and redelivered (same GUID) to the other.
    let mut deliveries = Vec::new();
    for n in 1..=ISSUES {
        let (event, opened) = gh.webhook_payload(Event::IssueOpened {
            repo: HIRING.into(),
            number: n,
        });
        let (_, edited) = gh.webhook_payload(Event::IssueEdited {
            repo: HIRING.into(),
            number: n,
            previous_body: Some("draft".into()),
        });
        let (first, second) = if n % 2 == 0 {
            (&a.url, &b.url)
        } else {
            (&b.url, &a.url)
        };
        for (guid, body) in [(format!("open-{n}"), opened), (format!("edit-{n}"), edited)] {
            deliveries.push((first.clone(), event.clone(), guid.clone(), body.clone()));
            deliveries.push((second.clone(), event.clone(), guid, body));
        }
    }
    assert_eq!(deliveries.len(), 200);
    let http = reqwest::Client::new();
    let statuses = futures::future::join_all(
        deliveries
            .iter()
            .map(|(url, event, guid, body)| send(&http, url, event, guid, body)),
    )
    .await;
    let failed: Vec<_> = statuses.iter().filter(|s| !s.is_success()).collect();
    assert!(
        failed.is_empty(),
        "every delivery is acknowledged: {failed:?}"
    );

    // Kill replica A with SIGKILL once some evaluations are done and others are running.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while (1..=ISSUES).filter(|n| folio_comments(&gh, *n) > 0).count() < 5 {
        assert!(tokio::time::Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill();
    gh.set_latency(Duration::ZERO);

    // B finishes everything, including what A held when it died (its leases expire).
    let store = folio::store::connect(&db).await.expect("store");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let stats = store.queue_stats().await.expect("stats");
        let commented = (1..=ISSUES).filter(|n| folio_comments(&gh, *n) > 0).count();
        if stats.pending == 0 && stats.running == 0 && commented == ISSUES as usize {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not finished: {stats:?}, {commented} issues commented; B's log:\n{}",
            std::fs::read_to_string(&b.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for n in 1..=ISSUES {
        assert_eq!(folio_comments(&gh, n), 1, "issue {n}");
    }
    let posts = gh
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path_and_query.ends_with("/comments"))
        .count();
    assert_eq!(posts, ISSUES as usize, "one comment created per issue");
    // Each redelivered GUID was stored once.
    assert_eq!(store.delivery_count().await.expect("count"), 100);
    let stats = store.queue_stats().await.expect("stats");
    assert_eq!(stats.dead, 0);
    drop(b);
}

/// A measurement, not a check: run by `scripts/bench-queue.sh`. Evaluations per second with
/// the fake GitHub answering at once, for one and for two replicas on PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark; run scripts/bench-queue.sh"]
async fn bench_queue_throughput_with_one_and_two_replicas() {
    let Ok(admin) = std::env::var("FOLIO_TEST_POSTGRES_URL") else {
        eprintln!("FOLIO_TEST_POSTGRES_URL is not set");
        return;
    };
    for replicas in [1usize, 2] {
        let db = harness::fresh_pg_database(&admin).await;
        let gh = FakeGitHub::start().await;
        world(&gh);
        let (dir, config, env) =
            harness::process_setup(Some(&db), &gh.url(), gh.app_id(), &gh.private_key_pem());
        let mut procs = Vec::new();
        for r in 0..replicas {
            procs.push(
                FolioProcess::start(&env, &config, dir.path().join(format!("{r}.log"))).await,
            );
        }
        let http = reqwest::Client::new();
        let started = std::time::Instant::now();
        for n in 1..=ISSUES {
            let (event, body) = gh.webhook_payload(Event::IssueOpened {
                repo: HIRING.into(),
                number: n,
            });
            let url = &procs[n as usize % replicas].url;
            assert!(
                send(&http, url, &event, &format!("g{n}"), &body)
                    .await
                    .is_success()
            );
        }
        while (1..=ISSUES).filter(|n| folio_comments(&gh, *n) > 0).count() < ISSUES as usize {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{replicas} replica(s): {ISSUES} evaluations in {secs:.2} s = {:.1} evaluations/s ({} GitHub requests)",
            ISSUES as f64 / secs,
            gh.request_count()
        );
    }
}
