//! Tests of the report builder.

use super::*;
use crate::model::{CommentKind, CommentSignals, Evidence, Level, Tone};

fn rubric() -> Rubric {
    Rubric::builtin().expect("embedded rubric")
}

fn finding(id: &str, status: PracticeStatus, exercised: Option<bool>) -> PracticeFinding {
    let mut f = PracticeFinding::new(id, status);
    f.exercised = exercised;
    if status == PracticeStatus::Present {
        f.evidence.push(Evidence {
            url: Some(format!("https://github.com/o/r/blob/abc/{id}#L1")),
            path: Some(format!("{id}.yml")),
            line: Some(1),
            detail: id.to_string(),
        });
    }
    f
}

fn repo(name: &str, a: Attribution, findings: Vec<PracticeFinding>) -> RepoPractices {
    RepoPractices {
        repository: Some(name.to_string()),
        attribution: a,
        findings,
    }
}

fn level(r: &Report, c: Criterion) -> Level {
    r.criteria
        .iter()
        .find(|x| x.id == c)
        .map(|x| x.level)
        .expect("all six criteria")
}

fn comment(useful: Option<bool>, kind: CommentKind, tone: Tone) -> ReviewCommentSummary {
    ReviewCommentSummary {
        url: "https://github.com/o/r/pull/1#discussion_r1".into(),
        pull_request: "https://github.com/o/r/pull/1".into(),
        signals: CommentSignals {
            kind: useful.map(|_| kind),
            tone: useful.map(|_| tone),
            ..Default::default()
        },
        led_to_change: Some(true),
        author_replied: Some(true),
        suggestion_applied: None,
        useful,
        why: vec![],
        excerpt: None,
        created_at: None,
    }
}

#[test]
fn empty_input_is_not_assessed_everywhere() {
    let r = build(ReportInput::default(), &rubric());
    assert_eq!(r.criteria.len(), 6);
    assert!(r.criteria.iter().all(|c| c.level == Level::NotAssessed));
    assert!(r.criteria.iter().all(|c| !c.because.is_empty()));
    assert_eq!(r.rubric_version, rubric().version());
}

#[test]
fn project_evidence_is_context_only() {
    let input = ReportInput {
        repo_practices: vec![repo(
            "psf/black",
            Attribution::Project,
            vec![finding("lint", PracticeStatus::Present, Some(true))],
        )],
        ..Default::default()
    };
    let r = build(input, &rubric());
    assert_eq!(level(&r, Criterion::StaticChecks), Level::None);
    let sc = &r.criteria[2];
    assert!(sc.because.starts_with("No evidence in the linked material"));
    assert!(sc.because.contains("Context only"));
    assert!(sc.because.contains("psf/black"));
    assert_eq!(sc.evidence_count, 0);
}

#[test]
fn merge_puts_credited_evidence_first_and_keeps_repositories() {
    let input = ReportInput {
        repo_practices: vec![
            repo(
                "psf/black",
                Attribution::Project,
                vec![finding("lint", PracticeStatus::Present, Some(true))],
            ),
            repo(
                "me/lib",
                Attribution::Owned,
                vec![
                    finding("lint", PracticeStatus::Present, None),
                    finding("sbom", PracticeStatus::CouldNotParse, None),
                ],
            ),
            repo(
                "me/other",
                Attribution::Owned,
                vec![finding("sbom", PracticeStatus::Absent, Some(false))],
            ),
        ],
        ..Default::default()
    };
    let r = build(input, &rubric());
    let lint = r.practices.iter().find(|p| p.id == "lint").expect("lint");
    assert_eq!(lint.attribution, Some(Attribution::Owned));
    assert_eq!(lint.repository.as_deref(), Some("me/lib"));
    // Only me/lib's evidence: psf/black's stays with its own repository.
    assert_eq!(lint.evidence.len(), 1);
    assert_eq!(lint.present, Some(true));
    let sbom = r.practices.iter().find(|p| p.id == "sbom").expect("sbom");
    assert_eq!(sbom.status, PracticeStatus::CouldNotParse);
    assert_eq!(sbom.present, None);
    assert_eq!(r.practices_by_repository.len(), 4);
    assert!(
        r.practices_by_repository
            .iter()
            .all(|f| f.repository.is_some() && f.attribution.is_some())
    );
    // Practices follow the rubric's order: static checks before supply chain.
    assert_eq!(r.practices[0].id, "lint");
}

#[test]
fn a_findings_own_attribution_wins() {
    let mut f = finding("lockfile", PracticeStatus::Present, None);
    f.attribution = Some(Attribution::Authored);
    let input = ReportInput {
        repo_practices: vec![repo("x/y", Attribution::Project, vec![f])],
        ..Default::default()
    };
    let r = build(input, &rubric());
    assert_eq!(level(&r, Criterion::SupplyChain), Level::Some);
    assert_eq!(r.practices[0].attribution, Some(Attribution::Authored));
}

#[test]
fn exercise_counts_for_more_than_presence() {
    let ids = [
        "actions_pinned_by_sha",
        "lockfile",
        "dependency_update_bot",
        "sbom",
    ];
    let make = |exercised: Option<bool>| ReportInput {
        repo_practices: vec![repo(
            "me/lib",
            Attribution::Owned,
            ids.iter()
                .map(|id| finding(id, PracticeStatus::Present, exercised))
                .collect(),
        )],
        ..Default::default()
    };
    let configured = build(make(None), &rubric());
    let running = build(make(Some(true)), &rubric());
    assert_eq!(level(&configured, Criterion::SupplyChain), Level::Some);
    assert_eq!(level(&running, Criterion::SupplyChain), Level::Strong);
    assert!(running.criteria[5].because.starts_with("Strong because"));
    assert!(running.criteria[5].because.contains("lockfile in me/lib"));
}

#[test]
fn code_review_levels() {
    let r = rubric();
    let linked_none = build(ReportInput::default(), &r);
    assert_eq!(
        level(&linked_none, Criterion::CodeReview),
        Level::NotAssessed
    );

    let non_english = ReportInput {
        review_comments: vec![comment(None, CommentKind::Other, Tone::Neutral)],
        ..Default::default()
    };
    assert_eq!(
        level(&build(non_english, &r), Criterion::CodeReview),
        Level::NotAssessed
    );

    let rubber = ReportInput {
        reviews: vec![ReviewSummary {
            url: "u".into(),
            pull_request: "p".into(),
            state: "APPROVED".into(),
            comment_count: 0,
            rubber_stamp: true,
            submitted_at: None,
        }],
        ..Default::default()
    };
    assert_eq!(
        level(&build(rubber, &r), Criterion::CodeReview),
        Level::None
    );

    let kinds = [
        CommentKind::Defect,
        CommentKind::Alternative,
        CommentKind::TestRequest,
        CommentKind::Defect,
        CommentKind::Security,
    ];
    let strong = ReportInput {
        review_comments: kinds
            .iter()
            .map(|k| comment(Some(true), *k, Tone::Neutral))
            .collect(),
        ..Default::default()
    };
    let built = build(strong, &r);
    assert_eq!(level(&built, Criterion::CodeReview), Level::Strong);
    assert_eq!(built.criteria[0].evidence_count, 5);
}

#[test]
fn tone_never_changes_a_level() {
    let r = rubric();
    for tone in [Tone::Empathetic, Tone::Neutral, Tone::Harsh] {
        let input = ReportInput {
            review_comments: (0..6)
                .map(|i| {
                    let k = if i % 2 == 0 {
                        CommentKind::Defect
                    } else {
                        CommentKind::Question
                    };
                    comment(Some(true), k, tone)
                })
                .collect(),
            ..Default::default()
        };
        assert_eq!(
            level(&build(input, &r), Criterion::CodeReview),
            Level::Strong
        );
    }
}

#[test]
fn authored_pull_requests_feed_testing_and_ci() {
    let pr = |a: Attribution| PullRequestSummary {
        url: "https://github.com/o/r/pull/2".into(),
        attribution: a,
        test_files_changed: 1,
        code_files_changed: 2,
        test_lines_added: 10,
        code_lines_added: 20,
        property_based: false,
        checks_passed: Some(true),
        review_responses: 1,
        title: None,
        new_tests: 1,
        new_parametrized: 0,
        new_fixtures: 0,
        new_property_tests: 0,
        reviews_received: 1,
        commits_after_review: 1,
        thread_replies: 0,
        opened_at: None,
        state: None,
        size: None,
    };
    let r = rubric();
    let mine = build(
        ReportInput {
            pull_requests: vec![pr(Attribution::Authored)],
            ..Default::default()
        },
        &r,
    );
    assert_eq!(level(&mine, Criterion::Testing), Level::Some);
    assert_eq!(level(&mine, Criterion::CiCd), Level::Some);
    // Repository criteria stay not assessed: no repository was read.
    assert_eq!(level(&mine, Criterion::SupplyChain), Level::NotAssessed);
    let theirs = build(
        ReportInput {
            pull_requests: vec![pr(Attribution::Unrelated)],
            ..Default::default()
        },
        &r,
    );
    assert_eq!(level(&theirs, Criterion::Testing), Level::NotAssessed);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn arb_finding() -> impl Strategy<Value = PracticeFinding> {
        let ids = rubric::known_practice_ids();
        (
            proptest::sample::select(ids),
            prop_oneof![
                Just(PracticeStatus::Present),
                Just(PracticeStatus::Absent),
                Just(PracticeStatus::CouldNotParse),
                Just(PracticeStatus::NotAssessable),
            ],
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(id, status, exercised)| finding(&id, status, exercised))
    }

    fn arb_repos() -> impl Strategy<Value = Vec<RepoPractices>> {
        proptest::collection::vec(
            (
                prop_oneof![
                    Just(Attribution::Owned),
                    Just(Attribution::Authored),
                    Just(Attribution::Project),
                    Just(Attribution::Unrelated),
                ],
                proptest::collection::vec(arb_finding(), 0..12),
            ),
            0..4,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (a, findings))| repo(&format!("o/r{i}"), a, findings))
                .collect()
        })
    }

    fn levels(repos: Vec<RepoPractices>) -> Vec<Level> {
        let r = build(
            ReportInput {
                repo_practices: repos,
                ..Default::default()
            },
            &rubric(),
        );
        r.criteria.iter().map(|c| c.level).collect()
    }

    proptest! {
        #[test]
        fn six_criteria_with_reasons(repos in arb_repos()) {
            let r = build(ReportInput { repo_practices: repos, ..Default::default() }, &rubric());
            prop_assert_eq!(r.criteria.len(), 6);
            prop_assert!(r.criteria.iter().all(|c| !c.because.is_empty()));
            let ids: BTreeSet<&str> = r.practices.iter().map(|p| p.id.as_str()).collect();
            prop_assert_eq!(ids.len(), r.practices.len(), "one merged entry per id");
        }

        #[test]
        fn seeing_a_practice_run_never_lowers_a_level(repos in arb_repos()) {
            let before = levels(repos.clone());
            let mut exercised = repos;
            for rp in &mut exercised {
                for f in &mut rp.findings {
                    if f.status == PracticeStatus::Present {
                        f.exercised = Some(true);
                    }
                }
            }
            let after = levels(exercised);
            for (b, a) in before.iter().zip(&after) {
                prop_assert!(a >= b, "{:?} -> {:?}", before, after);
            }
        }

        #[test]
        fn project_evidence_never_raises_a_level(repos in arb_repos()) {
            let before = levels(repos.clone());
            let mut context = repos;
            for rp in &mut context {
                rp.attribution = Attribution::Project;
            }
            let after = levels(context);
            for (b, a) in before.iter().zip(&after) {
                // Same material, none of it credited: at most `none`, or still unassessed.
                prop_assert!(a <= b || *a == Level::None, "{:?} -> {:?}", before, after);
                prop_assert!(!matches!(a, Level::Some | Level::Strong));
            }
        }
    }

    fn pr(
        attribution: Attribution,
        tests: bool,
        checks: Option<bool>,
        property: bool,
    ) -> PullRequestSummary {
        PullRequestSummary {
            url: "https://github.com/o/r/pull/9".into(),
            attribution,
            test_files_changed: u32::from(tests),
            code_files_changed: 1,
            test_lines_added: 5,
            code_lines_added: 5,
            property_based: property,
            checks_passed: checks,
            review_responses: 1,
            title: None,
            new_tests: 0,
            new_parametrized: 0,
            new_fixtures: 0,
            new_property_tests: 0,
            reviews_received: 0,
            commits_after_review: 0,
            thread_replies: 0,
            opened_at: None,
            state: None,
            size: None,
        }
    }

    fn arb_attribution() -> impl Strategy<Value = Attribution> {
        prop_oneof![
            Just(Attribution::Authored),
            Just(Attribution::Reviewed),
            Just(Attribution::Owned),
            Just(Attribution::Project),
            Just(Attribution::Unrelated),
        ]
    }

    fn arb_pr() -> impl Strategy<Value = PullRequestSummary> {
        (
            arb_attribution(),
            any::<bool>(),
            proptest::option::of(any::<bool>()),
            any::<bool>(),
        )
            .prop_map(|(a, t, c, p)| pr(a, t, c, p))
    }

    fn arb_comment() -> impl Strategy<Value = ReviewCommentSummary> {
        (
            proptest::option::of(any::<bool>()),
            proptest::sample::select(vec![
                CommentKind::Defect,
                CommentKind::Question,
                CommentKind::NitStyle,
                CommentKind::Alternative,
                CommentKind::ApprovalOnly,
            ]),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(useful, kind, led)| {
                let mut c = comment(useful, kind, Tone::Neutral);
                c.led_to_change = led;
                c
            })
    }

    fn arb_review() -> impl Strategy<Value = ReviewSummary> {
        any::<bool>().prop_map(|rubber| ReviewSummary {
            url: "https://github.com/o/r/pull/3#pullrequestreview-1".into(),
            pull_request: "https://github.com/o/r/pull/3".into(),
            state: "APPROVED".into(),
            comment_count: u32::from(!rubber),
            rubber_stamp: rubber,
            submitted_at: None,
        })
    }

    fn arb_repo(i: usize) -> impl Strategy<Value = RepoPractices> {
        (
            arb_attribution(),
            proptest::collection::vec(arb_finding(), 0..10),
        )
            .prop_map(move |(a, findings)| repo(&format!("o/added{i}"), a, findings))
    }

    /// One more source of any kind and attribution, credited ones included: a repository, a
    /// pull request, or a pull request's reviews and review comments by the candidate.
    #[derive(Debug, Clone)]
    enum Added {
        Repo(RepoPractices),
        PullRequest(
            PullRequestSummary,
            Vec<ReviewSummary>,
            Vec<ReviewCommentSummary>,
        ),
    }

    fn arb_added() -> impl Strategy<Value = Added> {
        prop_oneof![
            arb_repo(0).prop_map(Added::Repo),
            (
                arb_pr(),
                proptest::collection::vec(arb_review(), 0..2),
                proptest::collection::vec(arb_comment(), 0..3),
            )
                .prop_map(|(p, r, c)| Added::PullRequest(p, r, c)),
        ]
    }

    fn arb_portfolio() -> impl Strategy<Value = ReportInput> {
        (
            arb_repos(),
            proptest::collection::vec(arb_pr(), 0..4),
            proptest::collection::vec(arb_review(), 0..3),
            proptest::collection::vec(arb_comment(), 0..7),
        )
            .prop_map(
                |(repo_practices, pull_requests, reviews, review_comments)| ReportInput {
                    repo_practices,
                    pull_requests,
                    reviews,
                    review_comments,
                    ..Default::default()
                },
            )
    }

    fn all_levels(input: ReportInput, rubric: &Rubric) -> Vec<Level> {
        build(input, rubric)
            .criteria
            .iter()
            .map(|c| c.level)
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

        #[test]
        fn adding_any_source_never_lowers_a_level(base in arb_portfolio(), added in arb_added()) {
            let rubric = rubric();
            let before = all_levels(base.clone(), &rubric);
            let mut more = base;
            match added {
                Added::Repo(r) => more.repo_practices.push(r),
                Added::PullRequest(p, r, c) => {
                    more.pull_requests.push(p);
                    more.reviews.extend(r);
                    more.review_comments.extend(c);
                }
            }
            let after = all_levels(more, &rubric);
            for (b, a) in before.iter().zip(&after) {
                prop_assert!(a >= b, "{:?} -> {:?}", before, after);
            }
        }
    }
}

mod calibration {
    use super::*;

    const DOC: &str = include_str!("../../docs/rubric.md");

    fn parse_level(s: &str) -> Level {
        match s {
            "strong" => Level::Strong,
            "some" => Level::Some,
            "none" => Level::None,
            "not_assessed" => Level::NotAssessed,
            other => panic!("unknown level {other}"),
        }
    }

    fn parse_attribution(s: &str) -> Attribution {
        match s {
            "authored" => Attribution::Authored,
            "owned" => Attribution::Owned,
            "template" => Attribution::Template,
            "project" => Attribution::Project,
            other => panic!("unknown attribution {other}"),
        }
    }

    fn pr_of(kind: &str) -> PullRequestSummary {
        let mut p = properties_pr(kind == "tests" || kind == "property");
        p.property_based = kind == "property";
        p.checks_passed = (kind == "checks").then_some(true);
        p
    }

    fn properties_pr(tests: bool) -> PullRequestSummary {
        PullRequestSummary {
            url: "https://github.com/o/r/pull/5".into(),
            attribution: Attribution::Authored,
            test_files_changed: u32::from(tests),
            code_files_changed: 1,
            test_lines_added: 3,
            code_lines_added: 3,
            property_based: false,
            checks_passed: None,
            review_responses: 0,
            title: None,
            new_tests: 0,
            new_parametrized: 0,
            new_fixtures: 0,
            new_property_tests: 0,
            reviews_received: 0,
            commits_after_review: 0,
            thread_replies: 0,
            opened_at: None,
            state: None,
            size: None,
        }
    }

    /// Builds a portfolio from the table's `practices` cell.
    fn portfolio(cell: &str) -> ReportInput {
        let mut input = ReportInput::default();
        for token in cell.split_whitespace() {
            if let Some(a) = token.strip_prefix("repo:") {
                let n = input.repo_practices.len();
                let findings = rubric::known_practice_ids()
                    .iter()
                    .map(|id| finding(id, PracticeStatus::Absent, None))
                    .collect();
                input.repo_practices.push(repo(
                    &format!("me/r{n}"),
                    parse_attribution(a),
                    findings,
                ));
            } else if let Some(kind) = token.strip_prefix("pr:") {
                input.pull_requests.push(pr_of(kind));
            } else {
                let (id, seen) = match token.strip_suffix('+') {
                    Some(id) => (id, true),
                    None => (token, false),
                };
                let rp = input
                    .repo_practices
                    .last_mut()
                    .expect("a repo: token first");
                let slot = rp
                    .findings
                    .iter_mut()
                    .find(|f| f.id == id)
                    .unwrap_or_else(|| panic!("unknown practice {id}"));
                *slot = finding(id, PracticeStatus::Present, seen.then_some(true));
            }
        }
        input
    }

    #[test]
    fn every_row_of_the_calibration_table_holds() {
        let rubric = rubric();
        assert!(
            DOC.contains(&format!("version `{}`", rubric.version())),
            "docs/rubric.md names the rubric version"
        );
        let mut rows = 0;
        let mut header: Vec<String> = Vec::new();
        for line in DOC.lines().filter(|l| l.starts_with('|')) {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            if cells.first() == Some(&"#") {
                header = cells.iter().map(|c| c.to_string()).collect();
                continue;
            }
            if header.is_empty() || cells[0].starts_with("---") || cells.len() != header.len() {
                continue;
            }
            let report = build(portfolio(cells[2]), &rubric);
            for c in Criterion::ALL {
                let col = header
                    .iter()
                    .position(|h| h == c.as_str())
                    .expect("a column per criterion");
                let got = level(&report, c);
                assert_eq!(
                    got,
                    parse_level(cells[col]),
                    "row {} ({}): {}",
                    cells[0],
                    cells[1],
                    c.as_str()
                );
            }
            rows += 1;
        }
        assert!(rows >= 12, "{rows} calibration rows");
    }
}
