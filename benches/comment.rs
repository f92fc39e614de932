//! Rendering cost of a large evidence report: `cargo bench --bench comment`.
//! Figures, not assertions: timing belongs here, never in tests.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed test step panics by design

use std::time::Instant;

use folio::model::{
    Attribution, CommentKind, CommentSignals, Evidence, PracticeFinding, PracticeStatus,
    PullRequestSummary, ReviewCommentSummary, Source, Tone,
};
use folio::render::{self, CommentContext};
use folio::report::{RepoPractices, ReportInput, Rubric, build, rubric};

fn large_input() -> ReportInput {
    let ids = rubric::known_practice_ids();
    let repos: Vec<RepoPractices> = (0..10)
        .map(|r| RepoPractices {
            repository: Some(format!("owner/repo{r}")),
            attribution: if r % 2 == 0 {
                Attribution::Owned
            } else {
                Attribution::Project
            },
            findings: ids
                .iter()
                .map(|id| {
                    let mut f = PracticeFinding::new(id.clone(), PracticeStatus::Present);
                    f.exercised = Some(r % 3 == 0);
                    f.evidence = (0..20)
                        .map(|l| Evidence {
                            url: Some(format!(
                                "https://github.com/owner/repo{r}/blob/{:040}/.github/workflows/ci.yml#L{l}",
                                r
                            )),
                            path: Some(".github/workflows/ci.yml".into()),
                            line: Some(l + 1),
                            detail: format!("step {l} of {id} @someone #12"),
                        })
                        .collect();
                    f
                })
                .collect(),
        })
        .collect();
    let prs = (0..20)
        .map(|n| PullRequestSummary {
            url: format!("https://github.com/o/r/pull/{n}"),
            attribution: Attribution::Authored,
            test_files_changed: 2,
            code_files_changed: 3,
            test_lines_added: 40,
            code_lines_added: 50,
            property_based: n % 4 == 0,
            checks_passed: Some(true),
            review_responses: 2,
            title: Some("A title with @mention and #1 and <b>html</b>".into()),
            new_tests: 3,
            new_parametrized: 1,
            new_fixtures: 0,
            new_property_tests: u32::from(n % 4 == 0),
            reviews_received: 0,
            commits_after_review: 0,
            thread_replies: 0,
            opened_at: Some(format!("2025-{:02}-01T00:00:00Z", n % 12 + 1)),
            state: Some(folio::model::PullRequestState::Merged),
            size: Some(folio::model::ChangeSize {
                additions: 90,
                deletions: 10,
                files: 5,
            }),
        })
        .collect();
    let comments = (0..500)
        .map(|i| ReviewCommentSummary {
            url: format!("https://github.com/o/r/pull/{}#discussion_r{i}", i % 20),
            pull_request: format!("https://github.com/o/r/pull/{}", i % 20),
            signals: CommentSignals {
                references_code: Some(true),
                has_rationale: Some(i % 2 == 0),
                is_actionable: Some(true),
                has_suggestion_block: Some(false),
                proposes_alternative: Some(i % 5 == 0),
                tone: Some(Tone::Neutral),
                kind: Some(CommentKind::Defect),
            },
            led_to_change: Some(i % 3 == 0),
            author_replied: Some(true),
            suggestion_applied: None,
            useful: Some(i % 2 == 0),
            why: vec!["names the function".into()],
            excerpt: Some("x".repeat(300)),
            created_at: Some(format!("2025-{:02}-03T00:00:00Z", i % 12 + 1)),
        })
        .collect();
    ReportInput {
        candidate: Some("octocat".into()),
        sources: (0..10)
            .map(|r| Source::Repository {
                url: format!("https://github.com/owner/repo{r}"),
                attribution: folio::model::RepoAttribution::Owned,
                from_template: false,
                commit: Some(format!("{r:040}")),
            })
            .collect(),
        repo_practices: repos,
        pull_requests: prs,
        reviews: vec![],
        review_comments: comments,
        warnings: vec!["https://example.com: not a GitHub link; ignored".into(); 30],
        api_requests: 500,
    }
}

fn main() {
    let rubric = match Rubric::builtin() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rubric: {e}");
            std::process::exit(1);
        }
    };
    let ctx = CommentContext {
        submitted_by: Some("octocat".into()),
        evaluated_at: "2026-12-02T00:00:00Z".into(),
        issue_url: None,
        terms_url: None,
    };
    let iterations = 50u32;
    let input = large_input();
    let t = Instant::now();
    let mut report = None;
    for _ in 0..iterations {
        report = Some(build(input.clone(), &rubric));
    }
    let build_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(iterations);
    let Some(report) = report else { return };
    let t = Instant::now();
    let mut body = String::new();
    for _ in 0..iterations {
        body = render::comment(&report, &ctx);
    }
    let comment_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(iterations);
    let t = Instant::now();
    let mut json = String::new();
    for _ in 0..iterations {
        json = render::json(&report);
    }
    let json_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(iterations);
    println!(
        "build: {build_ms:.2} ms; comment: {comment_ms:.2} ms ({} bytes, trimmed: {}); json: {json_ms:.2} ms ({} bytes)",
        body.len(),
        body.contains("Shortened to fit"),
        json.len()
    );
}
