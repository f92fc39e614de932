//! The storage contract, run against every backend: SQLite always, PostgreSQL when
//! `FOLIO_TEST_POSTGRES_URL` is set (`.ci/run` sets it).

use crate::harness;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use folio::clock::{Clock, ManualClock, SystemClock};
use folio::store::{DynStore, IngestOutcome, Job, JobState, NewDelivery, NewJob};
use folio::worker::{JobError, JobHandler, WorkerPool};

/// Each backend under test, each on a fresh database.
async fn backends() -> Vec<(String, DynStore, Option<tempfile::TempDir>)> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let s = folio::store::connect(&url).await.unwrap();
    s.migrate().await.unwrap();
    out.push(("sqlite".to_string(), s, Some(dir)));
    if let Ok(pg) = std::env::var("FOLIO_TEST_POSTGRES_URL") {
        let url = harness::fresh_pg_database(&pg).await;
        let s = folio::store::connect(&url).await.unwrap();
        s.migrate().await.unwrap();
        out.push(("postgres".to_string(), s, None));
    }
    out
}

/// Each backend on a fresh database whose clock moves only when the test says so.
async fn manual_backends() -> Vec<(
    String,
    DynStore,
    Arc<ManualClock>,
    Option<tempfile::TempDir>,
)> {
    let mut out = Vec::new();
    let clock = ManualClock::starting_now();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let s = folio::store::connect_with_clock(&url, clock.clone())
        .await
        .unwrap();
    s.migrate().await.unwrap();
    out.push(("sqlite".to_string(), s, clock, Some(dir)));
    if let Ok(pg) = std::env::var("FOLIO_TEST_POSTGRES_URL") {
        let clock = ManualClock::starting_now();
        let url = harness::fresh_pg_database(&pg).await;
        let s = folio::store::connect_with_clock(&url, clock.clone())
            .await
            .unwrap();
        s.migrate().await.unwrap();
        out.push(("postgres".to_string(), s, clock, None));
    }
    out
}

fn now_ms() -> i64 {
    SystemClock.now().as_millis()
}

fn delivery(guid: &str, key: Option<&str>) -> NewDelivery {
    NewDelivery {
        guid: guid.into(),
        event: "issues".into(),
        action: Some("opened".into()),
        installation_id: Some(1),
        received_at: now_ms(),
        issue: None,
        body_hash: None,
        job: key.map(|k| job(k, None)),
    }
}

fn job(key: &str, actor: Option<&str>) -> NewJob {
    NewJob {
        kind: "test".into(),
        dedupe_key: key.into(),
        payload: format!("{{\"key\":\"{key}\"}}"),
        actor: actor.map(str::to_string),
        run_at: now_ms(),
        installation_id: None,
    }
}

fn job_for(key: &str, installation: i64, run_at: i64) -> NewJob {
    NewJob {
        installation_id: Some(installation),
        run_at,
        ..job(key, None)
    }
}

#[tokio::test]
async fn a_lease_has_one_owner_until_it_expires() {
    for (name, store, clock, _dir) in manual_backends().await {
        let ttl = Duration::from_millis(1500);
        assert!(
            store.try_lease("reconcile", "a", ttl).await.unwrap(),
            "{name}"
        );
        assert!(
            !store.try_lease("reconcile", "b", ttl).await.unwrap(),
            "{name}"
        );
        assert!(
            store.try_lease("reconcile", "a", ttl).await.unwrap(),
            "{name}: renewal"
        );
        assert!(
            store.try_lease("other", "b", ttl).await.unwrap(),
            "{name}: by name"
        );
        clock.advance(Duration::from_millis(1400));
        assert!(
            !store.try_lease("reconcile", "b", ttl).await.unwrap(),
            "{name}: not yet expired"
        );
        clock.advance(Duration::from_millis(200));
        assert!(
            store.try_lease("reconcile", "b", ttl).await.unwrap(),
            "{name}: expired"
        );
        assert!(
            !store.try_lease("reconcile", "a", ttl).await.unwrap(),
            "{name}"
        );
    }
}

/// One org's burst of submissions must not starve another org: a claim prefers the
/// installation with the fewest running jobs, and only then the oldest job.
#[tokio::test]
async fn claims_share_the_workers_fairly_between_installations() {
    for (name, store, _dir) in backends().await {
        let t = now_ms() - 10_000;
        for n in 0..3 {
            store
                .enqueue(&job_for(&format!("busy-{n}"), 1, t + n))
                .await
                .unwrap();
        }
        store.enqueue(&job_for("quiet", 2, t + 100)).await.unwrap();
        let lease = Duration::from_secs(60);
        let first = store.claim("w1", lease).await.unwrap().unwrap();
        assert_eq!(first.dedupe_key, "busy-0", "{name}: oldest first");
        let second = store.claim("w2", lease).await.unwrap().unwrap();
        assert_eq!(
            second.dedupe_key, "quiet",
            "{name}: the installation with nothing running goes next, though its job is newer"
        );
        let third = store.claim("w3", lease).await.unwrap().unwrap();
        assert_eq!(third.dedupe_key, "busy-1", "{name}");
    }
}

/// The same signed body under a new delivery id is a duplicate, in one batch or a later one.
#[tokio::test]
async fn ingest_dedupes_on_the_body_too() {
    for (name, store, _dir) in backends().await {
        let signed = |guid: &str, hash: &str, key: &str| NewDelivery {
            body_hash: Some(hash.into()),
            ..delivery(guid, Some(key))
        };
        let out = store
            .ingest(vec![
                signed("a", "h1", "issue:1"),
                signed("b", "h1", "issue:1"),
                signed("c", "h2", "issue:2"),
            ])
            .await
            .unwrap();
        assert!(
            matches!(out[0], IngestOutcome::Accepted { job_id: Some(_) }),
            "{name}"
        );
        assert_eq!(out[1], IngestOutcome::Duplicate, "{name}: same body");
        assert!(
            matches!(out[2], IngestOutcome::Accepted { job_id: Some(_) }),
            "{name}"
        );
        let later = store
            .ingest(vec![
                signed("d", "h2", "issue:2"),
                signed("e", "h3", "issue:3"),
            ])
            .await
            .unwrap();
        assert_eq!(later[0], IngestOutcome::Duplicate, "{name}: seen before");
        assert!(
            matches!(later[1], IngestOutcome::Accepted { job_id: Some(_) }),
            "{name}"
        );
        assert_eq!(store.delivery_count().await.unwrap(), 3, "{name}");
        assert_eq!(store.list_jobs(None, 10).await.unwrap().len(), 3, "{name}");
    }
}

/// GitHub's repository id, not the name, is a submission's identity: after a rename, events
/// under the new name find the submission made under the old one, and closing it there
/// starts the purge clock that erases it after 90 days.
#[tokio::test]
async fn a_submission_follows_its_repository_through_a_rename() {
    const REPO_ID: i64 = 4242;
    let day = Duration::from_secs(86_400);
    for (name, store, clock, _dir) in manual_backends().await {
        let made = store
            .upsert_submission(
                7,
                "acme/hiring",
                Some(REPO_ID),
                1,
                Some("octocat"),
                Some("octocat"),
            )
            .await
            .unwrap();
        assert_eq!(made.repo_id, Some(REPO_ID), "{name}");
        // The repository is renamed; the first event under the new name closes the issue.
        store
            .set_issue_state(
                "acme/talent",
                Some(REPO_ID),
                1,
                Some(clock.now().as_millis()),
            )
            .await
            .unwrap();
        let closed = store.submission("acme/talent", 1).await.unwrap();
        let closed = closed.unwrap_or_else(|| panic!("{name}: not found under the new name"));
        assert_eq!(closed.id, made.id, "{name}: the same submission");
        assert_eq!(closed.state, "closed", "{name}");
        assert!(
            store.submission("acme/hiring", 1).await.unwrap().is_none(),
            "{name}: the old name is gone"
        );
        // A later event under the new name is the same submission too.
        let again = store
            .upsert_submission(7, "acme/talent", Some(REPO_ID), 1, None, Some("octocat"))
            .await
            .unwrap();
        assert_eq!(again.id, made.id, "{name}: one submission");
        assert_eq!(again.candidate.as_deref(), Some("octocat"), "{name}");
        // A new repository that takes the old name has submissions of its own.
        let other = store
            .upsert_submission(7, "acme/hiring", Some(REPO_ID + 1), 1, None, Some("hubot"))
            .await
            .unwrap();
        assert_ne!(other.id, made.id, "{name}");
        // The same when the renamed repository has sent nothing since: its submission keeps
        // its own identity and comes back under its new name.
        let stale = store
            .upsert_submission(7, "acme/old", Some(5000), 2, None, Some("octocat"))
            .await
            .unwrap();
        // The newcomer's first event closes its issue: not the other repository's.
        store
            .set_issue_state("acme/old", Some(5001), 2, Some(clock.now().as_millis()))
            .await
            .unwrap();
        let newcomer = store
            .upsert_submission(7, "acme/old", Some(5001), 2, None, Some("hubot"))
            .await
            .unwrap();
        assert_ne!(newcomer.id, stale.id, "{name}");
        assert_eq!(newcomer.author.as_deref(), Some("hubot"), "{name}");
        let back = store
            .upsert_submission(7, "acme/older", Some(5000), 2, None, None)
            .await
            .unwrap();
        assert_eq!(back.id, stale.id, "{name}");
        assert_eq!(back.state, "open", "{name}: closed only under its own id");
        assert_eq!(back.author.as_deref(), Some("octocat"), "{name}");

        clock.advance(89 * day);
        let counts = store.purge(clock.now().as_millis(), 90, 7).await.unwrap();
        assert_eq!(counts.submissions, 0, "{name}: closed 89 days ago");
        clock.advance(2 * day);
        let counts = store.purge(clock.now().as_millis(), 90, 7).await.unwrap();
        assert_eq!(counts.submissions, 1, "{name}: closed 91 days ago");
        assert!(
            store.submission("acme/talent", 1).await.unwrap().is_none(),
            "{name}"
        );
        assert!(
            store.submission("acme/hiring", 1).await.unwrap().is_some(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn ingest_dedupes_and_coalesces() {
    for (name, store, _dir) in backends().await {
        let batch = vec![
            delivery("a", Some("issue:1")),
            delivery("b", Some("issue:1")),
            delivery("a", Some("issue:1")),
            delivery("c", Some("issue:2")),
            delivery("d", None),
        ];
        let out = store.ingest(batch).await.unwrap();
        assert!(
            matches!(out[0], IngestOutcome::Accepted { job_id: Some(_) }),
            "{name}"
        );
        assert_eq!(out[2], IngestOutcome::Duplicate, "{name}");
        assert_eq!(out[0], out[1], "{name}: same issue, same job");
        assert_ne!(out[0], out[3], "{name}");
        assert_eq!(out[4], IngestOutcome::Accepted { job_id: None }, "{name}");
        // A later batch with a seen id is a duplicate too.
        let again = store
            .ingest(vec![delivery("c", Some("issue:2"))])
            .await
            .unwrap();
        assert_eq!(again[0], IngestOutcome::Duplicate, "{name}");
        assert_eq!(store.delivery_count().await.unwrap(), 4, "{name}");
        assert_eq!(store.queue_stats().await.unwrap().pending, 2, "{name}");
    }
}

/// One group commit merges a key's deliveries as separate commits would: the last payload,
/// the actor who asked, the earliest run time, and nothing from a redelivery of a delivery
/// already stored, even when the redelivery comes last in the batch.
#[tokio::test]
async fn a_batch_coalesces_like_deliveries_one_by_one() {
    for (name, store, _dir) in backends().await {
        let with = |guid: &str, payload: &str, actor: Option<&str>, run_at: i64| NewDelivery {
            job: Some(NewJob {
                payload: payload.into(),
                actor: actor.map(str::to_string),
                run_at,
                ..job("issue:9", None)
            }),
            ..delivery(guid, None)
        };
        store
            .ingest(vec![with("old", "first", None, 500)])
            .await
            .unwrap();
        let out = store
            .ingest(vec![
                with("asked", "second", Some("maintainer"), 300),
                with("edited", "third", None, 400),
                with("old", "stale redelivery", None, 100),
            ])
            .await
            .unwrap();
        assert_eq!(out[2], IngestOutcome::Duplicate, "{name}");
        assert_eq!(out[0], out[1], "{name}: one job for the key");
        let jobs = store.list_jobs(Some(JobState::Pending), 10).await.unwrap();
        assert_eq!(jobs.len(), 1, "{name}");
        assert_eq!(
            jobs[0].payload, "third",
            "{name}: the last new delivery's payload"
        );
        assert_eq!(jobs[0].actor.as_deref(), Some("maintainer"), "{name}");
        assert_eq!(
            jobs[0].run_at, 300,
            "{name}: the earliest run time of new deliveries"
        );
        assert_eq!(
            out[0],
            IngestOutcome::Accepted {
                job_id: Some(jobs[0].id)
            },
            "{name}"
        );
    }
}

#[tokio::test]
async fn coalescing_keeps_the_actor_who_asked() {
    for (name, store, _dir) in backends().await {
        store.enqueue(&job("k", Some("maintainer"))).await.unwrap();
        store.enqueue(&job("k", None)).await.unwrap();
        let jobs = store.list_jobs(Some(JobState::Pending), 10).await.unwrap();
        assert_eq!(jobs.len(), 1, "{name}");
        assert_eq!(jobs[0].actor.as_deref(), Some("maintainer"), "{name}");
    }
}

#[tokio::test]
async fn one_key_never_runs_twice_at_once() {
    for (name, store, _dir) in backends().await {
        store.enqueue(&job("k", None)).await.unwrap();
        let first = store
            .claim("w1", Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        // A new request for the same issue while it runs: queued, but not claimable.
        store.enqueue(&job("k", None)).await.unwrap();
        assert!(
            store
                .claim("w2", Duration::from_secs(60))
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        assert!(store.complete(first.id, "w1").await.unwrap(), "{name}");
        let second = store
            .claim("w2", Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert_ne!(first.id, second.id, "{name}");
    }
}

#[tokio::test]
async fn an_expired_lease_makes_the_job_claimable_again() {
    for (name, store, clock, _dir) in manual_backends().await {
        let due = NewJob {
            run_at: clock.now().as_millis(),
            ..job("k", None)
        };
        store.enqueue(&due).await.unwrap();
        let j = store
            .claim("dead-worker", Duration::from_millis(1500))
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .claim("w2", Duration::from_secs(60))
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        clock.advance(Duration::from_millis(1499));
        assert!(
            store
                .claim("w2", Duration::from_secs(60))
                .await
                .unwrap()
                .is_none(),
            "{name}: the lease has a millisecond left"
        );
        clock.advance(Duration::from_millis(1));
        let again = store
            .claim("w2", Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.id, j.id, "{name}");
        assert_eq!(again.attempts, 2, "{name}");
        // The dead worker's late completion is refused: it no longer holds the lease.
        assert!(
            !store.complete(j.id, "dead-worker").await.unwrap(),
            "{name}"
        );
        assert!(store.complete(j.id, "w2").await.unwrap(), "{name}");
    }
}

#[tokio::test]
async fn failures_retry_then_die_and_can_be_requeued() {
    for (name, store, _dir) in backends().await {
        let id = store.enqueue(&job("k", None)).await.unwrap();
        let j = store
            .claim("w", Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .fail(j.id, "w", "boom", Some(now_ms() + 60_000))
                .await
                .unwrap()
        );
        assert!(
            store
                .claim("w", Duration::from_secs(60))
                .await
                .unwrap()
                .is_none(),
            "{name}: backoff"
        );
        let j = store.job(id).await.unwrap().unwrap();
        assert_eq!(j.state, "pending", "{name}");
        assert_eq!(j.last_error.as_deref(), Some("boom"), "{name}");

        let id2 = store.enqueue(&job("other", None)).await.unwrap();
        let j2 = store
            .claim("w", Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(j2.id, id2);
        assert!(store.fail(j2.id, "w", "fatal", None).await.unwrap());
        let dead = store.list_jobs(Some(JobState::Dead), 10).await.unwrap();
        assert_eq!(dead.len(), 1, "{name}");
        assert_eq!(dead[0].last_error.as_deref(), Some("fatal"));
        assert!(store.retry_dead(id2).await.unwrap(), "{name}");
        assert!(
            !store.retry_dead(id2).await.unwrap(),
            "{name}: no longer dead"
        );
        assert_eq!(store.job(id2).await.unwrap().unwrap().state, "pending");
    }
}

#[tokio::test]
async fn submissions_retention_and_forget() {
    for (name, store, _dir) in backends().await {
        let s = store
            .upsert_submission(7, "acme/hiring", None, 1, Some("octocat"), Some("octocat"))
            .await
            .unwrap();
        store
            .record_evaluation(&folio::store::EvaluationRecord {
                submission_id: s.id,
                outcome: folio::store::EvaluationOutcome::Evaluated,
                report_json: Some("{}".into()),
                comment_id: Some(99),
                content_hash: Some("h".into()),
                api_requests: 12,
                created_at: now_ms(),
            })
            .await
            .unwrap();
        assert_eq!(
            store.last_comment_id(s.id).await.unwrap(),
            Some(99),
            "{name}"
        );
        store
            .upsert_submission(7, "acme/hiring", None, 2, Some("hubot"), Some("recruiter"))
            .await
            .unwrap();
        store
            .upsert_submission(7, "acme/hiring", None, 3, Some("someone"), None)
            .await
            .unwrap();

        // Closed 91 days ago: purged. Closed yesterday: kept.
        let day = 86_400_000;
        store
            .set_issue_state("acme/hiring", None, 1, Some(now_ms() - 91 * day))
            .await
            .unwrap();
        store
            .set_issue_state("acme/hiring", None, 2, Some(now_ms() - day))
            .await
            .unwrap();
        store
            .cache_put(
                "installation:7",
                "/repos/a/b",
                &folio::store::CachedResponse {
                    etag: Some("\"e\"".into()),
                    last_modified: None,
                    body: b"{}".to_vec(),
                    stored_at: now_ms() - 8 * day,
                },
            )
            .await
            .unwrap();
        let counts = store.purge(now_ms(), 90, 7).await.unwrap();
        assert_eq!(counts.submissions, 1, "{name}");
        assert_eq!(counts.http_cache, 1, "{name}");
        assert!(
            store.submission("acme/hiring", 1).await.unwrap().is_none(),
            "{name}"
        );
        assert!(
            store.last_evaluation(s.id).await.unwrap().is_none(),
            "{name}: cascade"
        );
        assert!(
            store.submission("acme/hiring", 2).await.unwrap().is_some(),
            "{name}"
        );

        assert_eq!(store.forget_login("HUBOT").await.unwrap(), 1, "{name}");
        assert!(
            store.submission("acme/hiring", 2).await.unwrap().is_none(),
            "{name}"
        );

        store
            .upsert_installation(7, "acme", "Organization")
            .await
            .unwrap();
        assert_eq!(store.delete_installation(7).await.unwrap(), 1, "{name}");
        assert!(
            store.submission("acme/hiring", 3).await.unwrap().is_none(),
            "{name}"
        );
    }
}

/// `/folio forget`: one issue's submission, evaluations and jobs (dead ones too) go, the
/// running job stays without who asked, other issues are untouched, and the issue is
/// remembered as forgotten until it is cleared. `folio forget LOGIN` takes the same path.
#[tokio::test]
async fn forgetting_one_submission_erases_its_rows_and_remembers_the_issue() {
    for (name, store, _dir) in backends().await {
        let mine = store
            .upsert_submission(7, "Acme/Hiring", None, 4, Some("octocat"), Some("octocat"))
            .await
            .unwrap();
        let other = store
            .upsert_submission(7, "acme/hiring", None, 5, Some("hubot"), Some("hubot"))
            .await
            .unwrap();
        for sub in [&mine, &other] {
            store
                .record_evaluation(&folio::store::EvaluationRecord {
                    submission_id: sub.id,
                    outcome: folio::store::EvaluationOutcome::Evaluated,
                    report_json: Some("{}".into()),
                    comment_id: Some(1),
                    content_hash: None,
                    api_requests: 1,
                    created_at: now_ms(),
                })
                .await
                .unwrap();
        }
        // A dead evaluation of issue 4, the running forget job, and issue 5's job.
        store
            .enqueue(&job("issue:acme/hiring#4", Some("octocat")))
            .await
            .unwrap();
        let dead = store
            .claim("w", Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        store.fail(dead.id, "w", "boom", None).await.unwrap();
        store
            .enqueue(&job("forget:acme/hiring#4", Some("octocat")))
            .await
            .unwrap();
        let running = store
            .claim("w", Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        store
            .enqueue(&job_for("issue:acme/hiring#5", 7, now_ms() + 3_600_000))
            .await
            .unwrap();

        assert_eq!(
            store.forgotten("acme/hiring", 4).await.unwrap(),
            None,
            "{name}"
        );
        let erased = store
            .forget_submission("acme/hiring", 4, Some(running.id))
            .await
            .unwrap();
        assert_eq!(
            (erased.submissions, erased.evaluations, erased.jobs),
            (1, 1, 1),
            "{name}"
        );
        assert!(
            store.submission("Acme/Hiring", 4).await.unwrap().is_none(),
            "{name}"
        );
        assert!(
            store.last_evaluation(mine.id).await.unwrap().is_none(),
            "{name}"
        );
        assert!(store.job(dead.id).await.unwrap().is_none(), "{name}");
        let kept = store.job(running.id).await.unwrap().unwrap();
        assert_eq!(kept.actor, None, "{name}: who asked is erased");
        assert!(
            store.last_evaluation(other.id).await.unwrap().is_some(),
            "{name}"
        );
        assert_eq!(store.queue_stats().await.unwrap().pending, 1, "{name}");

        assert_eq!(
            store.forgotten("ACME/hiring", 4).await.unwrap(),
            Some(false),
            "{name}"
        );
        // Again: nothing more to erase, the issue stays forgotten.
        let again = store
            .forget_submission("acme/hiring", 4, Some(running.id))
            .await
            .unwrap();
        assert_eq!(again, folio::store::Erased::default(), "{name}");
        assert!(store.job(running.id).await.unwrap().is_some(), "{name}");
        store.mark_forget_answered("acme/hiring", 4).await.unwrap();
        assert_eq!(
            store.forgotten("acme/hiring", 4).await.unwrap(),
            Some(true),
            "{name}"
        );
        assert!(
            store.clear_forgotten("acme/hiring", 4).await.unwrap(),
            "{name}"
        );
        assert_eq!(
            store.forgotten("acme/hiring", 4).await.unwrap(),
            None,
            "{name}"
        );

        // `folio forget LOGIN` erases the jobs of the issues it forgets too.
        assert_eq!(store.forget_login("hubot").await.unwrap(), 1, "{name}");
        assert!(
            store.last_evaluation(other.id).await.unwrap().is_none(),
            "{name}"
        );
        assert_eq!(store.queue_stats().await.unwrap().pending, 0, "{name}");
        assert_eq!(
            store.forgotten("acme/hiring", 5).await.unwrap(),
            None,
            "{name}"
        );
    }
}

/// On SQLite an erased login is gone from the database files, not only from the tables.
#[tokio::test]
async fn an_erased_login_is_gone_from_the_sqlite_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = folio::store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let login = "zq-withdrawn-candidate";
    let sub = store
        .upsert_submission(7, "acme/hiring", None, 9, Some(login), Some(login))
        .await
        .unwrap();
    store
        .record_evaluation(&folio::store::EvaluationRecord {
            submission_id: sub.id,
            outcome: folio::store::EvaluationOutcome::Evaluated,
            report_json: Some(format!("{{\"candidate\":\"{login}\"}}")),
            comment_id: Some(1),
            content_hash: None,
            api_requests: 1,
            created_at: now_ms(),
        })
        .await
        .unwrap();
    let contains = || {
        ["t.db", "t.db-wal"].iter().any(|f| {
            std::fs::read(dir.path().join(f))
                .map(|b| b.windows(login.len()).any(|w| w == login.as_bytes()))
                .unwrap_or(false)
        })
    };
    assert!(contains(), "the login was written");
    store
        .forget_submission("acme/hiring", 9, None)
        .await
        .unwrap();
    assert!(!contains(), "the login is still in the database files");
}

struct Recorder {
    runs: AtomicUsize,
    delay: Duration,
    fail_times: usize,
}

#[async_trait]
impl JobHandler for Recorder {
    async fn handle(&self, _job: &Job) -> Result<(), JobError> {
        let n = self.runs.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        if n < self.fail_times {
            return Err(JobError::Retry(anyhow::anyhow!("transient failure {n}")));
        }
        Ok(())
    }
    async fn on_dead(&self, _job: &Job, _error: &str) {}
}

fn queue_settings(grace_ms: u64) -> folio::config::QueueSettings {
    folio::config::QueueSettings {
        lease: Duration::from_millis(600),
        max_attempts: 3,
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(100),
        poll_interval: Duration::from_millis(20),
        shutdown_grace: Duration::from_millis(grace_ms),
    }
}

#[tokio::test]
async fn a_job_of_a_vanished_worker_runs_again_after_its_lease() {
    for (name, store, _dir) in backends().await {
        store.enqueue(&job("k", None)).await.unwrap();
        // A worker claims it and then disappears without a word.
        store
            .claim("vanished", Duration::from_millis(300))
            .await
            .unwrap()
            .unwrap();
        let handler = Arc::new(Recorder {
            runs: AtomicUsize::new(0),
            delay: Duration::ZERO,
            fail_times: 0,
        });
        let pool = WorkerPool::start(
            store.clone(),
            handler.clone(),
            queue_settings(500),
            2,
            Arc::new(tokio::sync::Notify::new()),
            "test",
        );
        wait_until(|| handler.runs.load(Ordering::SeqCst) == 1).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        pool.shutdown().await;
        let stats = store.queue_stats().await.unwrap();
        assert_eq!(
            (stats.pending, stats.running, stats.done),
            (0, 0, 1),
            "{name}"
        );
    }
}

#[tokio::test]
async fn retries_with_backoff_then_succeeds() {
    for (name, store, _dir) in backends().await {
        let id = store.enqueue(&job("k", None)).await.unwrap();
        let handler = Arc::new(Recorder {
            runs: AtomicUsize::new(0),
            delay: Duration::ZERO,
            fail_times: 2,
        });
        let pool = WorkerPool::start(
            store.clone(),
            handler.clone(),
            queue_settings(500),
            1,
            Arc::new(tokio::sync::Notify::new()),
            "test",
        );
        wait_until(|| handler.runs.load(Ordering::SeqCst) == 3).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        pool.shutdown().await;
        let j = store.job(id).await.unwrap().unwrap();
        assert_eq!(j.state, "done", "{name}");
        assert_eq!(j.attempts, 3, "{name}");
    }
}

#[tokio::test]
async fn shutdown_leaves_no_job_half_marked() {
    for (name, store, _dir) in backends().await {
        let quick = store.enqueue(&job("quick", None)).await.unwrap();
        let handler = Arc::new(Recorder {
            runs: AtomicUsize::new(0),
            delay: Duration::from_millis(150),
            fail_times: 0,
        });
        let pool = WorkerPool::start(
            store.clone(),
            handler.clone(),
            queue_settings(1000),
            1,
            Arc::new(tokio::sync::Notify::new()),
            "test",
        );
        wait_until(|| handler.runs.load(Ordering::SeqCst) == 1).await;
        // Shutdown while the job runs: it finishes within the grace period.
        pool.shutdown().await;
        assert_eq!(
            store.job(quick).await.unwrap().unwrap().state,
            "done",
            "{name}"
        );

        // A job longer than the grace period is given back, whole, for the next start.
        let slow = store.enqueue(&job("slow", None)).await.unwrap();
        let handler = Arc::new(Recorder {
            runs: AtomicUsize::new(0),
            delay: Duration::from_secs(30),
            fail_times: 0,
        });
        let pool = WorkerPool::start(
            store.clone(),
            handler.clone(),
            queue_settings(100),
            1,
            Arc::new(tokio::sync::Notify::new()),
            "test",
        );
        wait_until(|| handler.runs.load(Ordering::SeqCst) == 1).await;
        pool.shutdown().await;
        let j = store.job(slow).await.unwrap().unwrap();
        assert_eq!(j.state, "pending", "{name}");
        assert_eq!(j.lease_owner, None, "{name}");
        assert_eq!(j.attempts, 0, "{name}: an interrupted run is not counted");
    }
}

async fn wait_until(mut cond: impl FnMut() -> bool) {
    for _ in 0..400 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not met within 10 s");
}

/// Erasing a submission (forget, issue deletion, retention, uninstall) takes its deliveries
/// and the cache entries fetched for it alone; an entry another submission read stays.
#[tokio::test]
async fn erasure_takes_the_deliveries_and_the_caches_read_for_that_submission_alone() {
    use folio::store::{CacheLink, CachedResponse};
    for (name, store, _dir) in backends().await {
        let cached = |url: &str| CachedResponse {
            etag: Some(format!("\"{url}\"")),
            last_modified: None,
            body: format!("{{\"url\":\"{url}\"}}").into_bytes(),
            stored_at: now_ms(),
        };
        let one = store
            .upsert_submission(7, "acme/hiring", None, 1, Some("octocat"), Some("octocat"))
            .await
            .unwrap();
        let two = store
            .upsert_submission(7, "acme/hiring", None, 2, Some("hubot"), Some("hubot"))
            .await
            .unwrap();
        let scope = "installation:7";
        for url in ["/repos/octocat/hello", "/repos/acme/hiring/contents/x"] {
            store.cache_put(scope, url, &cached(url)).await.unwrap();
        }
        store
            .snapshot_put("octocat/hello", "abc", b"{}")
            .await
            .unwrap();
        let http = |url: &str| CacheLink::Http {
            scope: scope.into(),
            url: url.into(),
        };
        store
            .link_cache(
                one.id,
                &[
                    http("/repos/octocat/hello"),
                    http("/repos/acme/hiring/contents/x"),
                    CacheLink::Snapshot {
                        repo: "octocat/hello".into(),
                        commit: "abc".into(),
                    },
                ],
            )
            .await
            .unwrap();
        // Linking twice is harmless.
        store
            .link_cache(one.id, &[http("/repos/octocat/hello")])
            .await
            .unwrap();
        store
            .link_cache(two.id, &[http("/repos/acme/hiring/contents/x")])
            .await
            .unwrap();
        let about = |guid: &str, number: i64| NewDelivery {
            issue: Some(("acme/hiring".into(), number)),
            ..delivery(guid, None)
        };
        store
            .ingest(vec![about("d1", 1), about("d2", 1), about("d3", 2)])
            .await
            .unwrap();
        assert_eq!(store.delivery_count().await.unwrap(), 3, "{name}");

        let erased = store
            .forget_submission("Acme/Hiring", 1, None)
            .await
            .unwrap();
        assert_eq!(erased.submissions, 1, "{name}");
        assert_eq!(erased.deliveries, 2, "{name}");
        assert_eq!(erased.cached, 2, "{name}: the response and the snapshot");
        assert!(
            store
                .cache_get(scope, "/repos/octocat/hello")
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        assert!(
            store
                .snapshot_get("octocat/hello", "abc")
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        assert!(
            store
                .cache_get(scope, "/repos/acme/hiring/contents/x")
                .await
                .unwrap()
                .is_some(),
            "{name}: still read by the other submission"
        );
        assert_eq!(store.delivery_count().await.unwrap(), 1, "{name}");

        // The issue's deletion erases the other one, and then the shared entry goes too.
        store
            .delete_submission("acme/hiring", 2, None)
            .await
            .unwrap();
        assert!(
            store
                .cache_get(scope, "/repos/acme/hiring/contents/x")
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        assert_eq!(store.delivery_count().await.unwrap(), 0, "{name}");
    }
}

/// The database holds candidates' data: its file, and the write-ahead log beside it, are
/// readable by the service's user alone, whatever the umask (SQLite on its own creates them
/// 0644 less the umask).
#[tokio::test]
async fn the_sqlite_database_and_its_log_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("folio.db");
    let store = folio::store::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
        .ingest(vec![delivery("mode-1", Some("acme/hiring#1"))])
        .await
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db), 0o600);
    let wal = dir.path().join("folio.db-wal");
    assert!(wal.exists(), "WAL mode keeps a -wal file");
    assert_eq!(mode(&wal), 0o600);
}
