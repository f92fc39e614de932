//! Folio's labels, end to end against the fake GitHub: an installation on a few repositories
//! makes the missing ones at once and leaves existing ones alone; an installation on many
//! makes them in a repository when its first submission arrives, once.

use crate::support;

use std::time::Duration;

use crate::evaluation::start;
use support::fake_github::{CommitSpec, Event, FakeGitHub, Permission};

const HIRING: &str = "acme/hiring";
const INSTALLATION: u64 = 42;
const WAIT: Duration = Duration::from_secs(30);

fn label_writes(gh: &FakeGitHub) -> Vec<String> {
    gh.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path_and_query.ends_with("/labels"))
        .filter(|r| !r.path_and_query.contains("/issues/"))
        .map(|r| format!("{} {} -> {}", r.method, r.path_and_query, r.status))
        .collect()
}

fn names(gh: &FakeGitHub, repo: &str) -> Vec<String> {
    gh.repo_labels(repo).into_iter().map(|l| l.0).collect()
}

fn submission(gh: &FakeGitHub, repo: &str, number: u64) {
    gh.issue(repo, number)
        .author("octocat")
        .title("Candidate portfolio")
        .body(
            "### GitHub username\n\noctocat\n\n### Pull requests\n\n_No response_\n\n\
             ### Repositories\n\nhttps://github.com/octocat/hello\n\n### Notes\n\n_No response_\n",
        );
}

fn candidate(gh: &FakeGitHub) {
    gh.user("octocat");
    gh.repo("octocat/hello").public().commit(
        CommitSpec::new("Start hello")
            .author("octocat")
            .file("pyproject.toml", "[project]\nname = \"hello\"\n"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installing_on_a_few_repositories_makes_the_missing_labels_and_keeps_existing_ones() {
    let gh = FakeGitHub::start().await;
    gh.installation(INSTALLATION)
        .organization("acme")
        .repos(&[HIRING, "acme/jobs"]);
    // The hiring repository already has the submission label, in its own colour.
    gh.repo(HIRING)
        .public()
        .collaborator("recruiter", Permission::Triage)
        .label("folio: submission", "000000");
    // Another repository names its labels in `.github/folio.yml`.
    gh.repo("acme/jobs").commit(CommitSpec::new("Folio settings").file(
        ".github/folio.yml",
        "labels:\n  evaluated: \"hiring: evaluated\"\n  needs_info: \"hiring: needs info\"\n  submission: \"hiring: portfolio\"\n",
    ));
    candidate(&gh);
    let app = start(&gh).await;

    assert_eq!(
        gh.send_webhook(Event::InstallationCreated {
            installation: INSTALLATION
        })
        .await,
        202
    );
    app.wait_idle(WAIT).await;

    let hiring = gh.repo_labels(HIRING);
    let existing = hiring
        .iter()
        .find(|l| l.0 == "folio: submission")
        .expect("the existing label");
    assert_eq!(existing.1, "000000", "an existing label is never changed");
    assert_eq!(existing.2, None);
    for made in ["folio: evaluated", "folio: needs-info"] {
        let label = hiring
            .iter()
            .find(|l| l.0 == made)
            .unwrap_or_else(|| panic!("{made} was not made: {hiring:?}"));
        assert_ne!(label.1, "ededed", "made with Folio's colour: {label:?}");
        assert!(
            label.2.as_deref().is_some_and(|d| d.contains("Folio")),
            "{label:?}"
        );
    }
    assert_eq!(
        names(&gh, "acme/jobs"),
        [
            "hiring: evaluated",
            "hiring: needs info",
            "hiring: portfolio"
        ]
    );
    // Three creations asked in each repository; the existing label's was refused by GitHub.
    let writes = label_writes(&gh);
    assert_eq!(writes.len(), 6, "{writes:#?}");
    assert_eq!(
        writes.iter().filter(|w| w.ends_with("-> 422")).count(),
        1,
        "{writes:#?}"
    );

    // The first submission does not ask again.
    gh.reset_log();
    submission(&gh, HIRING, 1);
    gh.send_webhook(Event::IssueOpened {
        repo: HIRING.into(),
        number: 1,
    })
    .await;
    app.wait_idle(WAIT).await;
    assert!(label_writes(&gh).is_empty(), "{:#?}", label_writes(&gh));
    assert!(
        gh.issue_labels(HIRING, 1)
            .contains(&"folio: evaluated".to_string())
    );
    gh.evidence_comment(HIRING, 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_many_repositories_the_labels_come_with_each_repositorys_first_submission() {
    let gh = FakeGitHub::start().await;
    let repos = [
        HIRING,
        "acme/one",
        "acme/two",
        "acme/three",
        "acme/four",
        "acme/five",
    ];
    gh.installation(INSTALLATION)
        .organization("acme")
        .repos(&repos);
    for repo in repos {
        gh.repo(repo).public();
    }
    gh.repo(HIRING)
        .collaborator("recruiter", Permission::Triage);
    candidate(&gh);
    let app = start(&gh).await;

    gh.send_webhook(Event::InstallationCreated {
        installation: INSTALLATION,
    })
    .await;
    app.wait_idle(WAIT).await;
    assert!(label_writes(&gh).is_empty(), "{:#?}", label_writes(&gh));

    submission(&gh, HIRING, 1);
    gh.send_webhook(Event::IssueOpened {
        repo: HIRING.into(),
        number: 1,
    })
    .await;
    app.wait_idle(WAIT).await;
    assert_eq!(label_writes(&gh).len(), 3, "{:#?}", label_writes(&gh));
    gh.evidence_comment(HIRING, 1);
    assert_eq!(
        names(&gh, HIRING),
        ["folio: evaluated", "folio: needs-info", "folio: submission"]
    );
    assert!(names(&gh, "acme/one").is_empty());

    // The second submission in the same repository makes nothing.
    gh.reset_log();
    submission(&gh, HIRING, 2);
    gh.send_webhook(Event::IssueOpened {
        repo: HIRING.into(),
        number: 2,
    })
    .await;
    app.wait_idle(WAIT).await;
    assert!(label_writes(&gh).is_empty(), "{:#?}", label_writes(&gh));
    gh.evidence_comment(HIRING, 2);

    // A repository added to the installation later gets its labels at once.
    gh.repo("acme/new").public();
    let mut selected = repos.to_vec();
    selected.push("acme/new");
    gh.installation(INSTALLATION).repos(&selected);
    gh.send_webhook(Event::InstallationRepositoriesAdded {
        installation: INSTALLATION,
        repos: vec!["acme/new".into()],
    })
    .await;
    app.wait_idle(WAIT).await;
    assert_eq!(
        names(&gh, "acme/new"),
        ["folio: evaluated", "folio: needs-info", "folio: submission"]
    );
    app.stop().await;
}
