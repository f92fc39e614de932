//! `/folio forget` on a tracking issue, end to end against the fake GitHub: the candidate's
//! withdrawal erases what Folio stored for the submission and its evidence comment, is
//! answered once, and keeps Folio away from the issue until a maintainer's `/folio refresh`;
//! anyone else's is refused without a write.

use crate::harness;
use crate::support;

use std::time::Duration;

use crate::evaluation::start;
use harness::TestApp;
use sqlx::Row;
use support::fake_github::{CommitSpec, Event, FakeGitHub, Permission};

const HIRING: &str = "acme/hiring";
const INSTALLATION: u64 = 42;
const MARKER: &str = "<!-- folio:evidence v1 -->";
const FORGOTTEN: &str = "<!-- folio:forgotten v1 -->";
const WAIT: Duration = Duration::from_secs(30);

fn world(gh: &FakeGitHub) {
    gh.installation(INSTALLATION)
        .organization("acme")
        .repos(&[HIRING]);
    gh.repo(HIRING)
        .public()
        .collaborator("recruiter", Permission::Triage)
        .collaborator("reader", Permission::Read);
    gh.user("octocat").name("The Octocat");
    gh.user("stranger");
    gh.repo("octocat/hello").public().commit(
        CommitSpec::new("Start hello")
            .author("octocat")
            .file("pyproject.toml", "[project]\nname = \"hello\"\n")
            .file("src/hello/__init__.py", "def hello():\n    return 'hi'\n"),
    );
}

fn form() -> String {
    "### GitHub username\n\noctocat\n\n### Pull requests\n\n_No response_\n\n### Repositories\n\nhttps://github.com/octocat/hello\n\n### Notes\n\n_No response_\n".to_string()
}

/// Opens the submission and waits for its evidence comment; returns that comment's id.
async fn evaluated_issue(gh: &FakeGitHub, app: &TestApp, number: u64) -> u64 {
    gh.issue(HIRING, number)
        .author("octocat")
        .title("Candidate portfolio")
        .body(&form());
    gh.send_webhook(Event::IssueOpened {
        repo: HIRING.into(),
        number,
    })
    .await;
    app.wait_idle(WAIT).await;
    let own = folio_comments(gh, number);
    assert_eq!(own.len(), 1, "{own:#?}");
    assert!(own[0].1.starts_with(MARKER));
    own[0].0
}

fn folio_comments(gh: &FakeGitHub, number: u64) -> Vec<(u64, String)> {
    gh.issue_comments(HIRING, number)
        .into_iter()
        .filter(|c| c.user == gh.bot_login())
        .map(|c| (c.id, c.body))
        .collect()
}

async fn comment(gh: &FakeGitHub, app: &TestApp, number: u64, login: &str, text: &str) {
    let id = gh.issue(HIRING, number).comment_id(login, text);
    gh.send_webhook(Event::IssueCommentCreated {
        repo: HIRING.into(),
        number,
        comment_id: id,
    })
    .await;
    app.wait_idle(WAIT).await;
}

fn writes(gh: &FakeGitHub) -> Vec<String> {
    gh.requests()
        .into_iter()
        .filter(|r| r.method != "GET" && !r.path_and_query.contains("/access_tokens"))
        .map(|r| format!("{} {}", r.method, r.path_and_query))
        .collect()
}

async fn database(app: &TestApp) -> sqlx::SqlitePool {
    let path = app.sqlite_path().expect("the app runs on SQLite");
    sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", path.display()))
        .await
        .expect("open the database")
}

/// Every row of every table, the caches' bodies included, as text, for searching.
async fn all_rows(db: &sqlx::SqlitePool) -> Vec<(String, String)> {
    let tables: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '_sqlx_migrations'",
    )
    .fetch_all(db)
    .await
    .expect("tables")
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    assert!(tables.iter().any(|t| t == "submissions"), "{tables:?}");
    let mut out = Vec::new();
    for table in tables {
        let columns: Vec<String> =
            sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA table_info({table})")))
                .fetch_all(db)
                .await
                .expect("columns")
                .iter()
                .map(|r| r.get::<String, _>("name"))
                .collect();
        let text = columns
            .iter()
            .map(|c| format!("COALESCE(CAST({c} AS TEXT), '')"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {text} FROM {table}")))
            .fetch_all(db)
            .await
            .expect("rows");
        for r in rows {
            out.push((table.clone(), r.get::<String, _>(0)));
        }
    }
    out
}

async fn count(db: &sqlx::SqlitePool, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(db)
        .await
        .expect("count")
        .get::<i64, _>(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_candidates_forget_erases_the_submission_and_the_comment_and_is_answered_once() {
    let gh = FakeGitHub::start().await;
    world(&gh);
    let app = start(&gh).await;
    let evidence = evaluated_issue(&gh, &app, 1).await;
    // A job of the issue that died: erased too.
    app.store
        .enqueue(&folio::store::NewJob {
            kind: "issue_closed".into(),
            dedupe_key: "issue-state:acme/hiring#1".into(),
            payload: "unreadable".into(),
            actor: Some("octocat".into()),
            run_at: 0,
            installation_id: Some(INSTALLATION as i64),
        })
        .await
        .expect("enqueue");
    app.wait_idle(WAIT).await;
    assert_eq!(app.store.queue_stats().await.expect("stats").dead, 1);
    let db = database(&app).await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM evaluations").await, 1);
    // What the erasure must find: the issue's deliveries, and the responses and snapshot
    // fetched for the portfolio.
    const ISSUE_DELIVERIES: &str =
        "SELECT COUNT(*) FROM deliveries WHERE repo = 'acme/hiring' AND issue_number = 1";
    assert!(count(&db, ISSUE_DELIVERIES).await >= 1);
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM http_cache WHERE url LIKE '/repos/octocat/hello%'"
        )
        .await
            >= 1
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM repo_snapshots WHERE repo = 'octocat/hello'"
        )
        .await,
        1
    );
    gh.reset_log();

    comment(
        &gh,
        &app,
        1,
        "octocat",
        "Please withdraw this.\n\n/folio forget",
    )
    .await;

    // On GitHub: the evidence comment is deleted and one answer, without a ping, says so.
    let w = writes(&gh);
    assert!(
        w.contains(&format!(
            "DELETE /repos/{HIRING}/issues/comments/{evidence}"
        )),
        "{w:#?}"
    );
    assert_eq!(
        w.iter().filter(|x| x.starts_with("POST")).count(),
        1,
        "{w:#?}"
    );
    let own = folio_comments(&gh, 1);
    assert_eq!(own.len(), 1, "{own:#?}");
    assert_ne!(own[0].0, evidence);
    let answer = &own[0].1;
    assert!(answer.starts_with(FORGOTTEN), "{answer}");
    assert!(answer.contains("[octocat]("), "{answer}");
    assert!(!answer.contains("@octocat"), "{answer}");
    assert!(answer.contains("evidence comment"), "{answer}");
    assert!(
        !gh.requests()
            .iter()
            .any(|r| r.path_and_query.contains("octocat/hello"))
    );

    // In the store: nothing of the submission in any table (the shared caches aside).
    assert!(
        app.store
            .submission(HIRING, 1)
            .await
            .expect("store")
            .is_none()
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM submissions").await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM evaluations").await, 0);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE dedupe_key LIKE '%acme/hiring#1' AND kind <> 'forget'"
        )
        .await,
        0
    );
    assert_eq!(count(&db, ISSUE_DELIVERIES).await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM submission_cache").await, 0);
    for (table, row) in all_rows(&db).await {
        assert!(
            !row.to_ascii_lowercase().contains("octocat"),
            "{table} still names the candidate: {row}"
        );
    }
    assert_eq!(app.store.queue_stats().await.expect("stats").dead, 0);

    // Edits and a second forget are ignored: no request to the portfolio, no write.
    gh.reset_log();
    gh.issue(HIRING, 1).body(&form().replace(
        "_No response_\n\n### Notes",
        "https://github.com/octocat/hello/pull/1\n\n### Notes",
    ));
    gh.send_webhook(Event::IssueEdited {
        repo: HIRING.into(),
        number: 1,
        previous_body: Some(form()),
    })
    .await;
    app.wait_idle(WAIT).await;
    comment(&gh, &app, 1, "octocat", "/folio forget").await;
    assert!(writes(&gh).is_empty(), "{:#?}", writes(&gh));
    assert!(
        app.store
            .submission(HIRING, 1)
            .await
            .expect("store")
            .is_none()
    );
    assert_eq!(folio_comments(&gh, 1).len(), 1);

    // A maintainer's refresh is a new consent: the issue is evaluated again.
    comment(&gh, &app, 1, "recruiter", "/folio refresh").await;
    let own = folio_comments(&gh, 1);
    assert_eq!(own.len(), 2, "{own:#?}");
    assert!(own.iter().any(|(_, b)| b.starts_with(MARKER)));
    assert!(
        app.store
            .submission(HIRING, 1)
            .await
            .expect("store")
            .is_some()
    );
    db.close().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_forget_is_refused_without_a_write() {
    let gh = FakeGitHub::start().await;
    world(&gh);
    let app = start(&gh).await;
    let evidence = evaluated_issue(&gh, &app, 2).await;
    let sub = app
        .store
        .submission(HIRING, 2)
        .await
        .expect("store")
        .expect("submission");
    gh.reset_log();

    comment(&gh, &app, 2, "stranger", "/folio forget").await;
    comment(&gh, &app, 2, "reader", "/folio forget").await;

    assert!(writes(&gh).is_empty(), "{:#?}", writes(&gh));
    let own = folio_comments(&gh, 2);
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].0, evidence);
    let kept = app
        .store
        .submission(HIRING, 2)
        .await
        .expect("store")
        .expect("the submission is kept");
    assert_eq!(kept.id, sub.id);
    assert_eq!(
        app.store.evaluations_since(sub.id, 0).await.expect("store"),
        1
    );
    assert_eq!(app.store.forgotten(HIRING, 2).await.expect("store"), None);

    // An issue that is not a submission is no business of Folio's, even for its author.
    gh.issue(HIRING, 3)
        .author("octocat")
        .title("Question about the role")
        .body("What does the team work on?");
    comment(&gh, &app, 3, "octocat", "/folio forget").await;
    assert!(writes(&gh).is_empty(), "{:#?}", writes(&gh));
    assert_eq!(app.store.forgotten(HIRING, 3).await.expect("store"), None);
    app.stop().await;
}
