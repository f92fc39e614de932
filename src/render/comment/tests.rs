use super::*;
use crate::render::text::short_url;

fn ctx() -> CommentContext {
    CommentContext {
        submitted_by: Some("alice".into()),
        evaluated_at: "2026-12-02T03:00:00Z".into(),
        issue_url: Some("https://github.com/acme/hiring/issues/5".into()),
        terms_url: None,
    }
}

#[test]
fn short_urls_never_carry_a_hash() {
    assert_eq!(
        short_url("https://github.com/o/r/pull/7#discussion_r1"),
        "o/r pull 7"
    );
    assert_eq!(short_url("https://github.com/o/r"), "o/r");
}

#[test]
fn other_comments_start_with_the_marker_and_neutralise() {
    let c = ctx();
    let texts = [
        needs_info(&["no pull request or repository links found @x".into()], &c),
        needs_info(&[], &c),
        config_error(
            "limits.pull_request_links: expected a whole number </details>",
            &c,
        ),
        evaluation_failed("GitHub answered 502 three times #1", &c),
        awaiting_confirmation("mallory", "@octocat", &c),
    ];
    for t in &texts {
        assert!(t.starts_with(MARKER), "{t}");
        assert_eq!(t.matches("folio:evidence").count(), 1);
        let scanned = crate::render::neutralise::tests::scanned_text(t);
        assert!(
            !scanned.contains("@x") && !scanned.contains("@octocat"),
            "{t}"
        );
        assert!(!scanned.contains("#1"), "{t}");
        assert!(!t.contains("</details>"));
        assert!(t.contains(DISCLAIMER));
    }
    assert!(texts[3].contains("/folio refresh"));
    assert!(texts[4].contains("/folio refresh"));
}

#[test]
fn the_footer_links_to_the_terms_when_their_address_is_known() {
    let report = crate::model::Report {
        folio_version: "0.1.0".into(),
        candidate: Some("octocat".into()),
        sources: Vec::new(),
        practices: Vec::new(),
        pull_requests: Vec::new(),
        reviews: Vec::new(),
        review_comments: Vec::new(),
        criteria: Vec::new(),
        warnings: Vec::new(),
        api_requests: 3,
        rubric_version: "test".into(),
        practices_by_repository: Vec::new(),
        releases: Vec::new(),
    };
    let linked = CommentContext {
        terms_url: Some("https://folio.example.com/privacy".into()),
        ..ctx()
    };
    let body = comment(&report, &linked);
    let footer = body.rsplit("---\n").next().unwrap_or_default();
    assert!(
        footer.contains("[the candidate's terms](https://folio.example.com/privacy)"),
        "{footer}"
    );
    assert!(!footer.contains("`docs/privacy.md`"), "{footer}");

    let unlinked = comment(&report, &ctx());
    let footer = unlinked.rsplit("---\n").next().unwrap_or_default();
    assert!(footer.contains("`docs/privacy.md`"), "{footer}");
    assert!(!footer.contains("](http"), "{footer}");

    // An address that is not http(s) is never linked.
    let odd = CommentContext {
        terms_url: Some("javascript:alert(1)".into()),
        ..ctx()
    };
    let body = comment(&report, &odd);
    assert!(!body.contains("javascript:"), "{body}");
}

#[test]
fn the_answer_to_forget_names_the_candidate_without_a_ping_and_is_not_the_evidence() {
    let with = forgotten(Some("octocat"), "https://github.com", true);
    assert!(with.starts_with(FORGOTTEN_MARKER), "{with}");
    assert!(!with.contains("folio:evidence"), "{with}");
    assert!(
        with.contains("[octocat](https://github.com/octocat)"),
        "{with}"
    );
    let scanned = crate::render::neutralise::tests::scanned_text(&with);
    assert!(!scanned.contains("@octocat"), "{with}");
    assert!(with.contains("evidence comment"), "{with}");
    let without = forgotten(Some("@mallory </details>"), "https://github.com", false);
    assert!(!without.contains("evidence comment"), "{without}");
    let scanned = crate::render::neutralise::tests::scanned_text(&without);
    assert!(!scanned.contains("@mallory"), "{without}");
    assert!(!without.contains("</details>"), "{without}");
}

/// Each practice's entry says who put it there: the candidate, the template, another
/// maintainer, or (where no line could be attributed) a repository the candidate owns.
#[test]
fn practice_entries_say_who_added_the_practice() {
    use crate::model::{
        Attribution, Criterion, CriterionResult, Evidence, Level, PracticeFinding, PracticeStatus,
    };
    let entry = |id: &str, repo: &str, a: Attribution| {
        let mut f = PracticeFinding::new(id, PracticeStatus::Present);
        f.attribution = Some(a);
        f.repository = Some(repo.into());
        f.evidence.push(Evidence {
            url: Some(format!("https://github.com/{repo}/blob/abc/ci.yml#L3")),
            path: Some("ci.yml".into()),
            line: Some(3),
            detail: "ruff check .".into(),
        });
        f
    };
    let report = crate::model::Report {
        folio_version: "0.1.0".into(),
        candidate: Some("octocat".into()),
        sources: Vec::new(),
        practices: Vec::new(),
        pull_requests: Vec::new(),
        reviews: Vec::new(),
        review_comments: Vec::new(),
        criteria: vec![CriterionResult {
            id: Criterion::StaticChecks,
            level: Level::Some,
            because: "some because: a linter.".into(),
            evidence_count: 2,
        }],
        warnings: Vec::new(),
        api_requests: 3,
        rubric_version: "test".into(),
        practices_by_repository: vec![
            entry("lint", "octocat/a", Attribution::Authored),
            entry("lint", "octocat/b", Attribution::Template),
            entry("lint", "octocat/c", Attribution::Project),
            entry("lint", "octocat/d", Attribution::Owned),
        ],
        releases: Vec::new(),
    };
    let body = comment(&report, &ctx());
    for line in [
        "- octocat/a (added by the candidate): found",
        "- octocat/b (came with the template; context only): found",
        "- octocat/c (added by another maintainer; context only): found",
        "- octocat/d (in a repository the candidate owns): found",
    ] {
        assert!(body.contains(line), "{line} missing from:\n{body}");
    }
}
