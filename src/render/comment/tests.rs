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

fn empty_report() -> crate::model::Report {
    crate::model::Report {
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
    }
}

fn found(
    id: &str,
    repo: &str,
    attribution: crate::model::Attribution,
    url: &str,
    detail: &str,
) -> crate::model::PracticeFinding {
    let mut f = crate::model::PracticeFinding::new(id, crate::model::PracticeStatus::Present);
    f.attribution = Some(attribution);
    f.repository = Some(repo.into());
    f.evidence.push(crate::model::Evidence {
        url: Some(url.into()),
        path: Some(".github/workflows/release.yml".into()),
        line: Some(33),
        detail: detail.into(),
    });
    f
}

fn criterion(id: crate::catalogue::Criterion) -> crate::model::CriterionResult {
    crate::model::CriterionResult {
        id,
        level: crate::model::Level::Some,
        because: "Some because a practice is present. Met: 1 practices present in the \
                  candidate's own work (at least 1)."
            .into(),
        evidence_count: 1,
    }
}

#[test]
fn the_arithmetic_names_practices_and_says_own_work_once() {
    let because = "Strong because tests run. Met: tests_in_ci present in the candidate's own \
                   work; 3 practices present in the candidate's own work (at least 2). \
                   Evidence: ci.yml line 4.";
    assert_eq!(
        details::arithmetic(because),
        "Met in the candidate's own work: Tests run in CI present; 3 practices present \
         (at least 2)."
    );
    // Conditions that do not mention the candidate's own work are left as they are.
    assert_eq!(
        details::arithmetic("Strong because x. Met: 4 reviews (at least 2)."),
        "Met: 4 reviews (at least 2)."
    );
    // A reason without arithmetic (no evidence, not assessed) is shown whole.
    assert_eq!(
        details::arithmetic("No evidence in the linked material."),
        "No evidence in the linked material."
    );
}

#[test]
fn practices_on_one_line_of_evidence_share_it_and_context_is_named_without_links() {
    use crate::model::Attribution;
    let publish = "https://github.com/o/r/blob/abc/.github/workflows/release.yml#L33";
    let mut report = empty_report();
    report.criteria = vec![criterion(crate::catalogue::Criterion::ReleaseEngineering)];
    report.practices_by_repository = vec![
        found(
            "trusted_publishing",
            "o/r",
            Attribution::Owned,
            publish,
            "pypa/gh-action-pypi-publish",
        ),
        found(
            "release_automation",
            "o/r",
            Attribution::Owned,
            publish,
            "pypa/gh-action-pypi-publish",
        ),
        found(
            "changelog",
            "up/stream",
            Attribution::Project,
            "https://github.com/up/stream/blob/def/CHANGELOG.md#L1",
            "CHANGELOG.md",
        ),
    ];
    let body = comment(&report, &ctx());
    assert_eq!(body.matches(publish).count(), 1, "{body}");
    assert!(
        body.contains(&format!(
            "- [Trusted publishing and Release automation]({publish}): \
             `pypa/gh-action-pypi-publish`"
        )),
        "{body}"
    );
    assert!(
        body.contains("In up/stream (added by another maintainer; context only): Changelog."),
        "{body}"
    );
    assert!(!body.contains("up/stream/blob"), "{body}");
}

#[test]
fn room_left_within_the_reading_length_explains_practices() {
    use crate::model::Attribution;
    let mut report = empty_report();
    report.criteria = vec![criterion(crate::catalogue::Criterion::ReleaseEngineering)];
    report.practices_by_repository = vec![found(
        "changelog",
        "o/r",
        Attribution::Owned,
        "https://github.com/o/r/blob/abc/CHANGELOG.md#L1",
        "CHANGELOG.md",
    )];
    let info = crate::catalogue::get("changelog").expect("in the catalogue");
    let short = comment(&report, &ctx());
    assert!(short.contains(&info.why), "{short}");
    assert!(short.contains(&format!("]({})", info.docs)), "{short}");
    assert!(short.chars().count() <= READING_LEN);

    // Warnings that fill the reading length leave no room for the explanation, and the
    // evidence stays.
    report.warnings = (0..60)
        .map(|i| format!("{i}: {}", "w".repeat(250)))
        .collect();
    let long = comment(&report, &ctx());
    assert!(
        !long.contains(&info.why),
        "explained past the reading length"
    );
    assert!(long.contains("https://github.com/o/r/blob/abc/CHANGELOG.md#L1"));
}

#[test]
fn explanations_go_to_the_most_telling_practice_of_each_criterion_first() {
    use crate::catalogue::Criterion;
    use crate::model::Attribution;
    let mut report = empty_report();
    report.criteria = vec![
        criterion(Criterion::Testing),
        criterion(Criterion::ReleaseEngineering),
    ];
    let mut ci = found(
        "tests_in_ci",
        "o/r",
        Attribution::Owned,
        "https://x/1",
        "pytest",
    );
    ci.exercised = Some(true);
    report.practices_by_repository = vec![
        found(
            "coverage_gate",
            "o/r",
            Attribution::Owned,
            "https://x/2",
            "fail_under",
        ),
        ci,
        found(
            "changelog",
            "o/r",
            Attribution::Owned,
            "https://x/3",
            "CHANGELOG.md",
        ),
        found("lint", "o/r", Attribution::Project, "https://x/4", "ruff"),
    ];
    let order: Vec<&str> = details::explanation_order(&report)
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    // Seen running comes first within a criterion; criteria take turns; context only is
    // never explained.
    assert_eq!(order, ["tests_in_ci", "changelog", "coverage_gate"]);
}

/// Each practice's entry says who put it there: the candidate, the template, another
/// maintainer, or (where no line could be attributed) a repository the candidate owns.
#[test]
fn practice_entries_say_who_added_the_practice() {
    use crate::model::Attribution;
    let mut report = empty_report();
    report.criteria = vec![criterion(crate::catalogue::Criterion::StaticChecks)];
    report.practices_by_repository = [
        ("octocat/a", Attribution::Authored),
        ("octocat/b", Attribution::Template),
        ("octocat/c", Attribution::Project),
        ("octocat/d", Attribution::Owned),
    ]
    .into_iter()
    .map(|(repo, a)| {
        let url = format!("https://github.com/{repo}/blob/abc/ci.yml#L3");
        found("lint", repo, a, &url, "ruff check .")
    })
    .collect();
    let body = comment(&report, &ctx());
    for line in [
        "In octocat/a (added by the candidate):\n- [Linter](",
        "In octocat/b (came with the template; context only): Linter.",
        "In octocat/c (added by another maintainer; context only): Linter.",
        "In octocat/d (owned by the candidate):\n- [Linter](",
    ] {
        assert!(body.contains(line), "{line} missing from:\n{body}");
    }
}
