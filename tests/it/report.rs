//! The evidence report end to end: four portfolios (strong, thin, nothing assessable, hostile
//! content) built from model values, rendered as the comment and as JSON, snapshot-tested, and
//! checked for structure, inertness, size and the JSON Schema in `docs/`.

use folio::model::{
    Attribution, ChangeSize, CommentKind, CommentSignals, Criterion, Evidence, Level,
    PracticeFinding, PracticeStatus, PullRequestState, PullRequestSummary, RepoAttribution, Report,
    ReviewCommentSummary, ReviewSummary, Source, Tone,
};
use folio::render::{self, CommentContext, MARKER};
use folio::report::{RepoPractices, ReportInput, Rubric, build};
use proptest::prelude::*;

const SHA_OWNED: &str = "3f2a9c1d5e7b4a6c8d0e2f4a6b8c0d2e4f6a8b0c";
const SHA_PROJECT: &str = "9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b";

fn ctx() -> CommentContext {
    CommentContext {
        submitted_by: Some("recruiter-jo".into()),
        evaluated_at: "2026-12-02T03:00:00Z".into(),
        issue_url: Some("https://github.com/acme/hiring/issues/41".into()),
        terms_url: None,
    }
}

fn rubric() -> Rubric {
    Rubric::builtin().expect("embedded rubric")
}

fn ev(repo: &str, sha: &str, path: &str, line: u32, detail: &str) -> Evidence {
    Evidence {
        url: Some(format!(
            "https://github.com/{repo}/blob/{sha}/{path}#L{line}"
        )),
        path: Some(path.into()),
        line: Some(line),
        detail: detail.into(),
    }
}

fn present(id: &str, exercised: Option<bool>, evidence: Vec<Evidence>) -> PracticeFinding {
    let mut f = PracticeFinding::new(id, PracticeStatus::Present);
    f.exercised = exercised;
    f.evidence = evidence;
    f
}

fn absent(id: &str) -> PracticeFinding {
    let mut f = PracticeFinding::new(id, PracticeStatus::Absent);
    f.exercised = Some(false);
    f
}

fn pr(
    repo: &str,
    n: u32,
    a: Attribution,
    tests: u32,
    code: u32,
    property: bool,
    checks: Option<bool>,
) -> PullRequestSummary {
    PullRequestSummary {
        url: format!("https://github.com/{repo}/pull/{n}"),
        attribution: a,
        test_files_changed: tests,
        code_files_changed: code,
        test_lines_added: tests * 35,
        code_lines_added: code * 40,
        property_based: property,
        checks_passed: checks,
        review_responses: if a == Attribution::Authored { 2 } else { 0 },
        title: Some(format!("Improve parsing of config files (part {n})")),
        new_tests: tests * 2,
        new_parametrized: u32::from(tests > 1),
        new_fixtures: 0,
        new_property_tests: u32::from(property),
        reviews_received: u32::from(a == Attribution::Authored),
        commits_after_review: u32::from(a == Attribution::Authored),
        thread_replies: 0,
        opened_at: Some(format!("2025-{:02}-02T10:00:00Z", n % 12 + 1)),
        state: Some(if checks == Some(true) {
            PullRequestState::Merged
        } else {
            PullRequestState::Open
        }),
        size: Some(ChangeSize {
            additions: tests * 35 + code * 40,
            deletions: code * 5,
            files: tests + code,
        }),
    }
}

#[allow(clippy::too_many_arguments)]
fn rc(
    pr_url: &str,
    id: u64,
    kind: CommentKind,
    useful: Option<bool>,
    led: Option<bool>,
    tone: Tone,
    excerpt: &str,
) -> ReviewCommentSummary {
    let judged = useful.is_some();
    ReviewCommentSummary {
        url: format!("{pr_url}#discussion_r{id}"),
        pull_request: pr_url.into(),
        signals: CommentSignals {
            references_code: judged.then_some(true),
            has_rationale: judged.then_some(useful == Some(true)),
            is_actionable: judged.then_some(useful == Some(true)),
            has_suggestion_block: judged.then_some(kind == CommentKind::Alternative),
            proposes_alternative: judged.then_some(kind == CommentKind::Alternative),
            tone: judged.then_some(tone),
            kind: judged.then_some(kind),
        },
        led_to_change: led,
        author_replied: Some(true),
        suggestion_applied: None,
        useful,
        why: if judged {
            vec!["names a function in the diff".into()]
        } else {
            vec![]
        },
        excerpt: Some(excerpt.into()),
        created_at: Some(format!(
            "2025-{:02}-{:02}T09:00:00Z",
            id % 12 + 1,
            id % 27 + 1
        )),
    }
}

fn strong_input() -> ReportInput {
    let own = "ada-dev/tidewater";
    let proj = "pyfoo/widgets";
    let prs = vec![
        pr(proj, 812, Attribution::Authored, 2, 3, true, Some(true)),
        pr(proj, 790, Attribution::Authored, 1, 1, false, Some(true)),
        pr(proj, 777, Attribution::Authored, 3, 2, false, Some(true)),
    ];
    let r1 = "https://github.com/pyfoo/widgets/pull/801";
    let r2 = "https://github.com/pyfoo/widgets/pull/805";
    ReportInput {
        candidate: Some("ada-dev".into()),
        sources: vec![
            Source::PullRequest {
                url: prs[0].url.clone(),
                attribution: Attribution::Authored,
                title: prs[0].title.clone(),
                commit: Some("aa11bb22cc33dd44ee55ff66aa77bb88cc99dd00".into()),
            },
            Source::PullRequest {
                url: r1.into(),
                attribution: Attribution::Reviewed,
                title: Some("Cache compiled schemas".into()),
                commit: None,
            },
            Source::Repository {
                url: format!("https://github.com/{own}"),
                attribution: RepoAttribution::Owned,
                from_template: false,
                commit: Some(SHA_OWNED.into()),
            },
            Source::Repository {
                url: format!("https://github.com/{proj}"),
                attribution: RepoAttribution::Contributed,
                from_template: false,
                commit: Some(SHA_PROJECT.into()),
            },
        ],
        repo_practices: vec![
            RepoPractices {
                repository: Some(own.into()),
                attribution: Attribution::Owned,
                findings: vec![
                    present(
                        "lint",
                        Some(true),
                        vec![ev(
                            own,
                            SHA_OWNED,
                            ".pre-commit-config.yaml",
                            8,
                            "ruff check",
                        )],
                    ),
                    present(
                        "format_check",
                        Some(true),
                        vec![ev(
                            own,
                            SHA_OWNED,
                            ".pre-commit-config.yaml",
                            10,
                            "ruff format",
                        )],
                    ),
                    present(
                        "type_check",
                        Some(true),
                        vec![ev(
                            own,
                            SHA_OWNED,
                            ".github/workflows/ci.yml",
                            31,
                            "mypy --strict src",
                        )],
                    ),
                    present(
                        "pre_commit",
                        None,
                        vec![ev(own, SHA_OWNED, ".pre-commit-config.yaml", 1, "repos:")],
                    ),
                    absent("sast"),
                    present(
                        "tests_in_ci",
                        Some(true),
                        vec![ev(
                            own,
                            SHA_OWNED,
                            ".github/workflows/ci.yml",
                            40,
                            "uv run pytest",
                        )],
                    ),
                    present(
                        "property_based_tests",
                        None,
                        vec![ev(
                            own,
                            SHA_OWNED,
                            "tests/test_tides.py",
                            3,
                            "from hypothesis import given",
                        )],
                    ),
                    present(
                        "coverage_gate",
                        Some(true),
                        vec![ev(own, SHA_OWNED, "pyproject.toml", 52, "fail_under = 95")],
                    ),
                    absent("mutation_testing"),
                    present(
                        "matrix_build",
                        Some(true),
                        vec![ev(
                            own,
                            SHA_OWNED,
                            ".github/workflows/ci.yml",
                            14,
                            "python-version: [\"3.11\", \"3.12\", \"3.13\"]",
                        )],
                    ),
                    present(
                        "ci_cache",
                        None,
                        vec![ev(
                            own,
                            SHA_OWNED,
                            ".github/workflows/ci.yml",
                            24,
                            "enable-cache: true",
                        )],
                    ),
                    present(
                        "least_privilege_token",
                        None,
                        vec![ev(
                            own,
                            SHA_OWNED,
                            ".github/workflows/ci.yml",
                            5,
                            "contents: read",
                        )],
                    ),
                    present(
                        "actions_pinned_by_sha",
                        None,
                        vec![ev(
                            own,
                            SHA_OWNED,
                            ".github/workflows/ci.yml",
                            20,
                            "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
                        )],
                    ),
                    present(
                        "lockfile",
                        None,
                        vec![ev(own, SHA_OWNED, "uv.lock", 1, "uv.lock")],
                    ),
                    present(
                        "dependency_update_bot",
                        Some(true),
                        vec![ev(
                            own,
                            SHA_OWNED,
                            ".github/dependabot.yml",
                            3,
                            "package-ecosystem: pip",
                        )],
                    ),
                    present(
                        "dependency_vuln_scan",
                        None,
                        vec![ev(
                            own,
                            SHA_OWNED,
                            ".github/workflows/ci.yml",
                            60,
                            "pip-audit",
                        )],
                    ),
                    absent("sbom"),
                    absent("signing"),
                    present(
                        "security_policy",
                        None,
                        vec![ev(own, SHA_OWNED, "SECURITY.md", 1, "SECURITY.md")],
                    ),
                    present(
                        "trusted_publishing",
                        Some(true),
                        vec![ev(
                            own,
                            SHA_OWNED,
                            ".github/workflows/release.yml",
                            33,
                            "pypa/gh-action-pypi-publish",
                        )],
                    ),
                    present(
                        "release_automation",
                        Some(true),
                        vec![ev(
                            own,
                            SHA_OWNED,
                            ".github/workflows/release.yml",
                            33,
                            "pypa/gh-action-pypi-publish",
                        )],
                    ),
                    present(
                        "changelog",
                        None,
                        vec![ev(own, SHA_OWNED, "CHANGELOG.md", 1, "CHANGELOG.md")],
                    ),
                    present(
                        "semver_tags",
                        None,
                        vec![Evidence {
                            url: Some(format!("https://github.com/{own}/tags")),
                            path: None,
                            line: None,
                            detail: "v1.4.0, v1.3.2, v1.3.1, v1.3.0, v1.2.0".into(),
                        }],
                    ),
                    absent("release_notes"),
                ],
            },
            RepoPractices {
                repository: Some(proj.into()),
                attribution: Attribution::Project,
                findings: vec![
                    present(
                        "lint",
                        Some(true),
                        vec![ev(proj, SHA_PROJECT, "tox.ini", 12, "flake8 src tests")],
                    ),
                    present(
                        "sast",
                        Some(true),
                        vec![ev(
                            proj,
                            SHA_PROJECT,
                            ".github/workflows/codeql.yml",
                            40,
                            "github/codeql-action/analyze",
                        )],
                    ),
                ],
            },
        ],
        pull_requests: prs,
        reviews: vec![
            ReviewSummary {
                url: format!("{r1}#pullrequestreview-2001"),
                pull_request: r1.into(),
                state: "CHANGES_REQUESTED".into(),
                comment_count: 4,
                rubber_stamp: false,
                submitted_at: Some("2025-05-20T08:00:00Z".into()),
            },
            ReviewSummary {
                url: format!("{r2}#pullrequestreview-2002"),
                pull_request: r2.into(),
                state: "APPROVED".into(),
                comment_count: 0,
                rubber_stamp: true,
                submitted_at: Some("2025-05-20T08:00:00Z".into()),
            },
        ],
        review_comments: vec![
            rc(
                r1,
                11,
                CommentKind::Defect,
                Some(true),
                Some(true),
                Tone::Neutral,
                "This cache key ignores the schema's $id, so two schemas with the same body collide.",
            ),
            rc(
                r1,
                12,
                CommentKind::TestRequest,
                Some(true),
                Some(true),
                Tone::Empathetic,
                "Could we add a test for the empty-schema case? It took the slow path before.",
            ),
            rc(
                r1,
                13,
                CommentKind::Alternative,
                Some(true),
                Some(false),
                Tone::Neutral,
                "An LRU from functools would bound memory here; see the suggestion.",
            ),
            rc(
                r1,
                14,
                CommentKind::Security,
                Some(true),
                Some(true),
                Tone::Neutral,
                "yaml.load without a Loader runs arbitrary constructors; use safe_load.",
            ),
            rc(
                r2,
                15,
                CommentKind::Question,
                Some(true),
                None,
                Tone::Neutral,
                "Why is the timeout 30s here when the client default is 10s?",
            ),
            rc(
                r2,
                16,
                CommentKind::NitStyle,
                Some(false),
                Some(false),
                Tone::Harsh,
                "Rename this.",
            ),
        ],
        warnings: vec!["https://gitlab.com/ada/x: not a GitHub link; ignored".into()],
        api_requests: 87,
    }
}

fn thin_input() -> ReportInput {
    let own = "sam-k/notes-cli";
    let r = "https://github.com/other/proj/pull/5";
    ReportInput {
        candidate: Some("sam-k".into()),
        sources: vec![
            Source::Repository {
                url: format!("https://github.com/{own}"),
                attribution: RepoAttribution::Owned,
                from_template: true,
                commit: Some(SHA_OWNED.into()),
            },
            Source::PullRequest {
                url: "https://github.com/other/proj/pull/9".into(),
                attribution: Attribution::Authored,
                title: Some("Fix typo in README".into()),
                commit: None,
            },
        ],
        repo_practices: vec![RepoPractices {
            repository: Some(own.into()),
            attribution: Attribution::Owned,
            findings: vec![
                present(
                    "lint",
                    None,
                    vec![ev(own, SHA_OWNED, ".pre-commit-config.yaml", 4, "flake8")],
                ),
                absent("format_check"),
                absent("type_check"),
                present(
                    "pre_commit",
                    None,
                    vec![ev(own, SHA_OWNED, ".pre-commit-config.yaml", 1, "repos:")],
                ),
                absent("sast"),
                absent("tests_in_ci"),
                absent("property_based_tests"),
                absent("coverage_gate"),
                absent("mutation_testing"),
                absent("matrix_build"),
                absent("ci_cache"),
                absent("least_privilege_token"),
                absent("actions_pinned_by_sha"),
                absent("lockfile"),
                absent("dependency_update_bot"),
                absent("dependency_vuln_scan"),
                absent("sbom"),
                absent("signing"),
                absent("security_policy"),
                absent("trusted_publishing"),
                absent("release_automation"),
                absent("changelog"),
                PracticeFinding::new("semver_tags", PracticeStatus::NotAssessable),
                absent("release_notes"),
            ],
        }],
        pull_requests: vec![pr(
            "other/proj",
            9,
            Attribution::Authored,
            0,
            1,
            false,
            None,
        )],
        reviews: vec![ReviewSummary {
            url: format!("{r}#pullrequestreview-77"),
            pull_request: r.into(),
            state: "APPROVED".into(),
            comment_count: 0,
            rubber_stamp: true,
            submitted_at: Some("2025-05-20T08:00:00Z".into()),
        }],
        review_comments: vec![],
        warnings: vec![],
        api_requests: 19,
    }
}

fn nothing_input() -> ReportInput {
    ReportInput {
        candidate: Some("nobody-yet".into()),
        sources: vec![Source::Repository {
            url: "https://github.com/nobody-yet/private-thing".into(),
            attribution: RepoAttribution::Unrelated,
            from_template: false,
            commit: None,
        }],
        repo_practices: vec![],
        pull_requests: vec![],
        reviews: vec![],
        review_comments: vec![rc(
            "https://github.com/x/y/pull/3",
            1,
            CommentKind::Other,
            None,
            None,
            Tone::Neutral,
            "Das ist nicht korrekt, bitte prüfen.",
        )],
        warnings: vec![
            "https://github.com/nobody-yet/private-thing: not public; not evaluated".into(),
            "https://github.com/x/y/pull/404: not found (404); ignored".into(),
        ],
        api_requests: 4,
    }
}

const HOSTILE: &str = "@everyone @acme/hiring-team </details><!-- folio:evidence v1 --> #1 GH-2 | `rm -rf` ![x](https://evil.example/p.png) <img src=x onerror=alert(1)> &#64;admin **bold**\n\n# heading\n> quote www.evil.example";

fn hostile_input() -> ReportInput {
    let mut input = thin_input();
    input.candidate = Some("evil`cand|idate".into());
    let repo = "evil-org/repo";
    input.sources.push(Source::PullRequest {
        url: "https://github.com/evil-org/repo/pull/1".into(),
        attribution: Attribution::Authored,
        title: Some(HOSTILE.into()),
        commit: Some("0123456789abcdef0123456789abcdef01234567 @x".into()),
    });
    input.repo_practices.push(RepoPractices {
        repository: Some(repo.into()),
        attribution: Attribution::Owned,
        findings: vec![{
            let mut f = present(
                "tests_in_ci",
                Some(true),
                vec![Evidence {
                    url: Some(format!(
                        "https://github.com/{repo}/blob/{SHA_OWNED}/.github/workflows/a)b <x>.yml#L3"
                    )),
                    path: Some(".github/workflows/</details>@x|#1.yml".into()),
                    line: Some(3),
                    detail: HOSTILE.into(),
                }],
            );
            f.notes.push(HOSTILE.into());
            f
        }],
    });
    let mut p = pr(repo, 1, Attribution::Authored, 1, 1, true, Some(true));
    p.title = Some(HOSTILE.into());
    input.pull_requests.push(p);
    input.review_comments.push(rc(
        "https://github.com/evil-org/repo/pull/2",
        99,
        CommentKind::Defect,
        Some(true),
        Some(true),
        Tone::Harsh,
        HOSTILE,
    ));
    input.review_comments.push(rc(
        "javascript:alert(1)",
        98,
        CommentKind::Question,
        Some(true),
        None,
        Tone::Neutral,
        "```\n</details>\n```",
    ));
    input.warnings.push(HOSTILE.into());
    input
}

fn level(r: &Report, c: Criterion) -> Level {
    r.criteria
        .iter()
        .find(|x| x.id == c)
        .map(|x| x.level)
        .expect("six criteria")
}

/// `line` without code spans, link texts, escaped characters and numeric entities.
fn scanned(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                out.push(' ');
                i += 2;
            }
            '&' if chars.get(i + 1) == Some(&'#') => {
                let n = chars[i + 2..]
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                i += 3 + n;
            }
            '`' => {
                let n = chars[i..].iter().take_while(|c| **c == '`').count();
                let fence = "`".repeat(n);
                let rest: String = chars[i + n..].iter().collect();
                match rest.find(&fence) {
                    Some(p) => i += 2 * n + rest[..p].chars().count(),
                    None => i += n,
                }
                out.push(' ');
            }
            '[' => {
                let rest: String = chars[i..].iter().collect();
                match rest.find("](") {
                    Some(p) => {
                        i += rest[..p].chars().count();
                        out.push(' ');
                    }
                    None => i += 1,
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Structure and inertness of a rendered comment: the checks the property test relies on.
fn check_comment(body: &str) -> Result<(), String> {
    if !body.starts_with(MARKER) {
        return Err("does not start with the marker".into());
    }
    if body.len() > 65_536 {
        return Err(format!("{} bytes", body.len()));
    }
    if body.matches("folio:evidence").count() != 1 {
        return Err("marker repeated".into());
    }
    if body.matches("<!--").count() != 1 {
        return Err("an HTML comment besides the marker".into());
    }
    let opens = body.matches("<details>").count();
    let closes = body.matches("</details>").count();
    if opens != closes || opens > 12 {
        return Err(format!("{opens} <details> and {closes} </details>"));
    }
    let mut in_fence = false;
    let mut in_table = false;
    for line in body.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // Link targets are URLs we built; `#L12` anchors live there. Link texts, code spans,
        // escaped characters and numeric entities are never scanned by GitHub for mentions.
        let line_scanned = scanned(line);
        let mut text = String::new();
        let mut rest = line_scanned.as_str();
        while let Some(i) = rest.find("](") {
            text.push_str(&rest[..i]);
            match rest[i..].find(')') {
                Some(j) => rest = &rest[i + j + 1..],
                None => {
                    rest = "";
                }
            }
        }
        text.push_str(rest);
        let chars: Vec<char> = text.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            let next = chars.get(i + 1).copied().unwrap_or(' ');
            let prev = i.checked_sub(1).map_or(' ', |p| chars[p]);
            // `name@host` is an address, which GitHub does not treat as a mention.
            if *c == '@'
                && (next.is_alphanumeric() || next == '_' || next == '-')
                && !prev.is_alphanumeric()
            {
                return Err(format!("mention in {line:?}"));
            }
            if *c == '#' && next.is_ascii_digit() {
                return Err(format!("issue reference in {line:?}"));
            }
        }
        let lower = text.to_lowercase();
        if lower.match_indices("gh-").any(|(i, _)| {
            let rest = &lower[i + 3..];
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            digits > 0
                && !rest[digits..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                && !lower[..i].ends_with(char::is_alphanumeric)
        }) {
            return Err(format!("GH- reference in {line:?}"));
        }
        if lower.contains("<img") || lower.contains("<script") {
            return Err(format!("HTML in {line:?}"));
        }
        if line.starts_with('|') {
            let pipes = line.matches('|').count() - line.matches("\\|").count();
            if !in_table {
                in_table = true;
            }
            if pipes != 5 {
                return Err(format!("table row with {pipes} pipes: {line:?}"));
            }
        } else {
            in_table = false;
        }
    }
    if in_fence {
        return Err("unclosed code fence".into());
    }
    Ok(())
}

#[test]
fn strong_portfolio() {
    let report = build(strong_input(), &rubric());
    assert_eq!(level(&report, Criterion::CodeReview), Level::Strong);
    assert_eq!(level(&report, Criterion::Testing), Level::Strong);
    assert_eq!(level(&report, Criterion::StaticChecks), Level::Strong);
    assert_eq!(level(&report, Criterion::CiCd), Level::Strong);
    assert_eq!(level(&report, Criterion::ReleaseEngineering), Level::Strong);
    assert_eq!(level(&report, Criterion::SupplyChain), Level::Strong);
    let body = render::comment(&report, &ctx());
    check_comment(&body).expect("well-formed");
    assert!(body.contains("Evidence for reviewers, not a hiring decision."));
    assert!(body.contains("```mermaid"));
    insta::assert_snapshot!("strong_comment", body);
    insta::assert_snapshot!("strong_json", render::json(&report));
}

#[test]
fn thin_portfolio() {
    let report = build(thin_input(), &rubric());
    assert_eq!(level(&report, Criterion::CodeReview), Level::None);
    assert_eq!(level(&report, Criterion::StaticChecks), Level::Some);
    assert_eq!(level(&report, Criterion::Testing), Level::None);
    assert_eq!(level(&report, Criterion::SupplyChain), Level::None);
    let body = render::comment(&report, &ctx());
    check_comment(&body).expect("well-formed");
    assert!(body.contains("| no evidence found |"));
    insta::assert_snapshot!("thin_comment", body);
}

#[test]
fn nothing_assessable() {
    let report = build(nothing_input(), &rubric());
    assert!(
        report
            .criteria
            .iter()
            .all(|c| c.level == Level::NotAssessed)
    );
    let body = render::comment(&report, &ctx());
    check_comment(&body).expect("well-formed");
    assert!(body.contains("not public"));
    insta::assert_snapshot!("nothing_comment", body);
}

#[test]
fn hostile_content() {
    let report = build(hostile_input(), &rubric());
    let body = render::comment(&report, &ctx());
    check_comment(&body).expect("inert and well-formed");
    assert!(!body.contains("javascript:"));
    assert!(!body.contains("a)b <x>"));
    insta::assert_snapshot!("hostile_comment", body);
}

/// The strong portfolio grown to 4 linked pull requests (3 authored, 1 reviewed) and 7 review
/// comments by the candidate, over the same 2 repositories.
fn four_pull_requests_input() -> ReportInput {
    let mut input = strong_input();
    let extra = pr(
        "pyfoo/widgets",
        823,
        Attribution::Authored,
        1,
        2,
        false,
        Some(true),
    );
    for p in [&input.pull_requests[1].clone(), &extra] {
        input.sources.push(Source::PullRequest {
            url: p.url.clone(),
            attribution: Attribution::Authored,
            title: p.title.clone(),
            commit: Some("bb22cc33dd44ee55ff66aa77bb88cc99dd00ee11".into()),
        });
    }
    input.pull_requests.push(extra);
    input.review_comments.push(rc(
        "https://github.com/pyfoo/widgets/pull/805",
        17,
        CommentKind::Defect,
        Some(true),
        Some(true),
        Tone::Neutral,
        "This retry loop never sleeps, so a flaky server gets hammered; back off between tries.",
    ));
    input
}

#[test]
fn permalinks_are_not_repeated_above_the_details() {
    let report = build(four_pull_requests_input(), &rubric());
    let body = render::comment(&report, &ctx());
    let top = body.split("### Details").next().unwrap_or_default();
    assert!(
        !top.contains(&format!("/blob/{SHA_OWNED}/"))
            && !top.contains(&format!("/blob/{SHA_PROJECT}/")),
        "at a glance and the table link repositories, not file permalinks:\n{top}"
    );
    // The table still links where each practice was found.
    assert!(top.contains("in [ada-dev/tidewater](https://github.com/ada-dev/tidewater)"));
}

#[test]
fn four_pull_requests_fit_in_twelve_thousand_characters() {
    let input = four_pull_requests_input();
    let prs = input
        .sources
        .iter()
        .filter(|s| matches!(s, Source::PullRequest { .. }))
        .count();
    let repos = input.sources.len() - prs;
    assert_eq!((prs, repos, input.review_comments.len()), (4, 2, 7));
    let report = build(input, &rubric());
    let body = render::comment(&report, &ctx());
    check_comment(&body).expect("well-formed");
    let chars = body.chars().count();
    eprintln!("the 4-pull-request portfolio renders {chars} characters");
    assert!(chars <= 12_000, "{chars} characters");
    // Nothing was cut to get there: every claim keeps its proof in the details.
    assert!(!body.contains("Shortened to fit"));
    for f in report.practices_by_repository.iter().filter(|f| {
        f.status == PracticeStatus::Present && f.attribution.is_some_and(Attribution::is_credited)
    }) {
        for e in &f.evidence {
            let url = e.url.as_deref().expect("evidence has a permalink");
            assert!(body.contains(url), "{url} is linked somewhere");
        }
    }
    for c in &report.review_comments {
        assert!(body.contains(&c.url), "{} is linked", c.url);
    }
}

#[test]
fn oversized_reports_are_trimmed_and_say_so() {
    let mut input = strong_input();
    let base_pr = input.pull_requests[0].clone();
    for i in 0..17 {
        let mut p = base_pr.clone();
        p.url = format!("{}{i}", p.url);
        input.pull_requests.push(p);
    }
    assert_eq!(input.pull_requests.len(), 20);
    let base = input.review_comments.clone();
    for i in 0..494 {
        let mut c = base[i % base.len()].clone();
        c.url = format!("{}{i}", c.url);
        c.excerpt = Some("x".repeat(400));
        input.review_comments.push(c);
    }
    for rp in &mut input.repo_practices {
        for f in &mut rp.findings {
            let first = f.evidence.first().cloned();
            if let Some(e) = first {
                for _ in 0..60 {
                    f.evidence.push(e.clone());
                }
            }
        }
    }
    let report = build(input, &rubric());
    let body = render::comment(&report, &ctx());
    check_comment(&body).expect("well-formed");
    assert!(body.len() <= 65_536);
    assert!(body.contains("Shortened to fit"), "says that it was cut");
    assert!(body.contains("folio evaluate --format json"));
    // Long evidence lists are trimmed to the most telling lines at every stage.
    assert!(
        body.contains("; and ") && body.contains(" more"),
        "evidence lists are trimmed"
    );
    // The summary and footer survive trimming.
    assert!(body.contains("| Code review |"));
    assert!(body.contains("Evidence for reviewers, not a hiring decision."));
}

#[test]
fn absurd_reports_still_fit() {
    let mut input = nothing_input();
    for i in 0..3000 {
        input.sources.push(Source::PullRequest {
            url: format!("https://github.com/o/r/pull/{i}"),
            attribution: Attribution::Unrelated,
            title: Some("t".repeat(500)),
            commit: None,
        });
        input.warnings.push(format!("{i}: {}", "w".repeat(500)));
    }
    let body = render::comment(&build(input, &rubric()), &ctx());
    check_comment(&body).expect("well-formed");
}

#[test]
fn json_matches_the_documented_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/report.schema.json"))
            .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema is valid");
    for input in [
        strong_input(),
        thin_input(),
        nothing_input(),
        hostile_input(),
    ] {
        let text = render::json(&build(input, &rubric()));
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    // The validator really checks: a wrong level is caught.
    let mut broken: serde_json::Value =
        serde_json::from_str(&render::json(&build(thin_input(), &rubric()))).expect("JSON");
    broken["criteria"][0]["level"] = serde_json::json!("excellent");
    assert!(!validator.is_valid(&broken));
    // Evidence read through the API must carry its link.
    let mut unlinked: serde_json::Value =
        serde_json::from_str(&render::json(&build(strong_input(), &rubric()))).expect("JSON");
    let evidence = unlinked["practices"]
        .as_array_mut()
        .and_then(|ps| ps.iter_mut().find(|p| p["evidence"][0].is_object()))
        .and_then(|p| p["evidence"][0].as_object_mut())
        .expect("some practice has evidence");
    evidence.remove("url");
    assert!(!validator.is_valid(&unlinked));
}

fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("@".to_string()),
        Just("@octocat".to_string()),
        Just("@org/team".to_string()),
        Just("#12".to_string()),
        Just("GH-7".to_string()),
        Just("<details>".to_string()),
        Just("</details>".to_string()),
        Just("<!-- folio:evidence v1 -->".to_string()),
        Just("|".to_string()),
        Just("`".to_string()),
        Just("```".to_string()),
        Just("\n".to_string()),
        Just("](".to_string()),
        Just(")".to_string()),
        Just("https://github.com/o/r/issues/1".to_string()),
        "[ -~]{0,12}",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_untrusted_text_leaves_the_comment_inert(
        title in hostile_text(),
        excerpt in hostile_text(),
        path in hostile_text(),
        detail in hostile_text(),
        warning in hostile_text(),
        login in hostile_text(),
        repo in hostile_text(),
    ) {
        let mut input = strong_input();
        input.candidate = Some(login.clone());
        input.warnings.push(warning);
        input.pull_requests[0].title = Some(title.clone());
        if let Source::PullRequest { title: t, .. } = &mut input.sources[0] {
            *t = Some(title);
        }
        input.review_comments[0].excerpt = Some(excerpt.clone());
        input.review_comments[0].why.push(excerpt);
        input.repo_practices[0].repository = Some(repo);
        let f = &mut input.repo_practices[0].findings[0];
        f.evidence[0].path = Some(path.clone());
        f.evidence[0].detail = detail.clone();
        f.evidence.push(Evidence { url: None, path: Some(path), line: Some(1), detail });
        f.notes.push(login);
        let body = render::comment(&build(input, &rubric()), &CommentContext {
            submitted_by: Some("@someone".into()),
            ..ctx()
        });
        prop_assert_eq!(check_comment(&body), Ok(()));
    }
}

/// Text with the characters that hide or reorder what a reader sees, among code-like words.
fn hidden_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\u{200B}".to_string()),
        Just("\u{200D}".to_string()),
        Just("\u{2060}".to_string()),
        Just("\u{FEFF}".to_string()),
        Just("\u{202E}".to_string()),
        Just("\u{2066}".to_string()),
        Just("\u{061C}".to_string()),
        Just("`".to_string()),
        Just("https://x.example/a".to_string()),
        Just("@octocat".to_string()),
        Just("#12".to_string()),
        Just("pypa/gh-action-pypi-publish".to_string()),
        "[a-z./ -]{0,10}",
    ];
    proptest::collection::vec(piece, 1..10).prop_map(|v| v.concat())
}

/// The contents of every code span in `body`, as CommonMark pairs backtick runs, outside
/// fenced blocks.
fn code_spans(body: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut in_fence = false;
    for line in body.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '\\' {
                i += 2;
                continue;
            }
            if chars[i] != '`' {
                i += 1;
                continue;
            }
            let n = chars[i..].iter().take_while(|c| **c == '`').count();
            let mut j = i + n;
            let mut end = None;
            while j < chars.len() {
                let m = chars[j..].iter().take_while(|c| **c == '`').count();
                if m == n {
                    end = Some(j);
                    break;
                }
                j += m.max(1);
            }
            match end {
                Some(j) => {
                    spans.push(chars[i + n..j].iter().collect());
                    i = j + n;
                }
                None => i += n,
            }
        }
    }
    spans
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// SPEC §5: the source's zero-width, joiner and bidi characters are shown as visible
    /// escapes, and Folio adds none: no code span it writes, and no other text, holds one.
    #[test]
    fn no_code_span_folio_writes_holds_a_hidden_character(
        title in hidden_text(),
        excerpt in hidden_text(),
        path in hidden_text(),
        detail in hidden_text(),
        note in hidden_text(),
        warning in hidden_text(),
        login in hidden_text(),
    ) {
        let mut input = strong_input();
        input.candidate = Some(login.clone());
        input.warnings.push(warning.clone());
        input.pull_requests[0].title = Some(title.clone());
        if let Source::PullRequest { title: t, .. } = &mut input.sources[1] {
            *t = Some(title.clone());
        }
        input.review_comments[0].excerpt = Some(excerpt.clone());
        input.review_comments[3].excerpt = Some(excerpt);
        let f = &mut input.repo_practices[0].findings[0];
        f.evidence[0].detail = detail.clone();
        f.evidence.push(Evidence { url: None, path: Some(path), line: Some(1), detail });
        f.notes.push(note);
        let report = build(input, &rubric());
        let c = CommentContext { submitted_by: Some(login), ..ctx() };
        let bodies = [
            render::comment(&report, &c),
            render::needs_info(&[warning.clone(), title.clone()], &c),
            render::evaluation_failed(&warning, &c),
            render::config_error(&title, &c),
        ];
        for body in &bodies {
            for span in code_spans(body) {
                prop_assert!(
                    !span.chars().any(folio::render::neutralise::is_invisible_or_bidi),
                    "code span {:?} in {}", span, body
                );
            }
            prop_assert!(
                !body.chars().any(folio::render::neutralise::is_invisible_or_bidi),
                "a hidden character in {}", body
            );
        }
    }
}

#[test]
fn other_comments() {
    let c = ctx();
    insta::assert_snapshot!(
        "needs_info",
        render::needs_info(
            &[
                "no pull request or repository links found".into(),
                "more than 20 pull request links (found 23)".into(),
                "https://gitlab.com/x/y: not a GitHub link @mallory #3".into(),
            ],
            &c
        )
    );
    let err = folio::repo_config::resolve(Some("limits:\n  pull_request_linkz: 5\n"), None)
        .expect_err("unknown key");
    insta::assert_snapshot!("config_error", render::config_error(&err.to_string(), &c));
    insta::assert_snapshot!(
        "evaluation_failed",
        render::evaluation_failed("GitHub kept answering 502 after 4 attempts", &c)
    );
    insta::assert_snapshot!(
        "awaiting_confirmation",
        render::awaiting_confirmation("mallory", "octocat", &c)
    );
}
