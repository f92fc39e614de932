//! Criteria and levels from the rubric (`config/rubric.toml`): turns what the analyzers found
//! into the report. Pure: no clock, no I/O.

pub mod rubric;

use std::collections::{BTreeMap, BTreeSet};

pub use rubric::{
    CriterionFacts, Decision, LevelOverrides, Rubric, RubricError, RubricOverrides, Rule,
    criterion_of,
};

use crate::model::{
    Attribution, CommentKind, Criterion, CriterionResult, FOLIO_VERSION, Level, PracticeFinding,
    PracticeStatus, PullRequestSummary, Report, ReviewCommentSummary, ReviewSummary, Source,
};

/// One repository's practice findings, with how the repository is credited.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoPractices {
    /// `owner/name`; `None` for a local directory.
    pub repository: Option<String>,
    /// `owned` or `project`, or `authored` where the candidate's commits added the practice.
    /// A finding's own `attribution`, when set, wins over this.
    pub attribution: Attribution,
    pub findings: Vec<PracticeFinding>,
}

/// Everything the report is built from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportInput {
    pub candidate: Option<String>,
    pub sources: Vec<Source>,
    pub repo_practices: Vec<RepoPractices>,
    pub pull_requests: Vec<PullRequestSummary>,
    pub reviews: Vec<ReviewSummary>,
    pub review_comments: Vec<ReviewCommentSummary>,
    pub warnings: Vec<String>,
    pub api_requests: u64,
}

/// Review comment kinds that show substance (as opposed to approvals, nits, praise).
const SUBSTANTIVE_KINDS: &[CommentKind] = &[
    CommentKind::Defect,
    CommentKind::Alternative,
    CommentKind::TestRequest,
    CommentKind::Security,
    CommentKind::Question,
    CommentKind::DocRequest,
];

/// Builds the report: merges practices across repositories and computes the six criteria.
pub fn build(input: ReportInput, rubric: &Rubric) -> Report {
    let by_repo = flatten(&input.repo_practices);
    let order = rubric.practice_ids();
    let practices = merge(&by_repo, &order);
    let criteria = Criterion::ALL
        .into_iter()
        .map(|c| criterion_result(c, rubric, &by_repo, &input))
        .collect();
    Report {
        folio_version: FOLIO_VERSION.to_string(),
        candidate: input.candidate,
        sources: input.sources,
        practices,
        pull_requests: input.pull_requests,
        reviews: input.reviews,
        review_comments: input.review_comments,
        criteria,
        warnings: input.warnings,
        api_requests: input.api_requests,
        rubric_version: rubric.version().to_string(),
        practices_by_repository: by_repo,
        releases: Vec::new(),
    }
}

/// Every finding with its repository and effective attribution filled in.
fn flatten(repos: &[RepoPractices]) -> Vec<PracticeFinding> {
    let mut out = Vec::new();
    for rp in repos {
        for f in &rp.findings {
            let mut f = f.clone();
            f.attribution = Some(f.attribution.unwrap_or(rp.attribution));
            if f.repository.is_none() {
                f.repository.clone_from(&rp.repository);
            }
            // Keep `present` consistent with `status` whatever the detector set.
            f.present = f.status.present();
            out.push(f);
        }
    }
    out
}

fn is_credited(f: &PracticeFinding) -> bool {
    f.attribution.is_some_and(Attribution::is_credited)
}

fn credited_present(f: &PracticeFinding) -> bool {
    f.status == PracticeStatus::Present && is_credited(f)
}

fn attribution_rank(a: Option<Attribution>) -> u8 {
    match a {
        Some(Attribution::Authored) => 4,
        Some(Attribution::Owned) => 3,
        Some(Attribution::Reviewed) => 2,
        Some(Attribution::Project) => 1,
        Some(Attribution::Unrelated) | None => 0,
    }
}

/// Orders findings of one practice: present before not, credited before context, exercised
/// before configured only.
fn finding_rank(f: &PracticeFinding) -> (bool, bool, bool, u8) {
    (
        f.status == PracticeStatus::Present,
        is_credited(f),
        f.exercised == Some(true),
        attribution_rank(f.attribution),
    )
}

fn merge(by_repo: &[PracticeFinding], order: &[String]) -> Vec<PracticeFinding> {
    let mut groups: BTreeMap<(usize, String), Vec<&PracticeFinding>> = BTreeMap::new();
    for f in by_repo {
        let pos = order
            .iter()
            .position(|id| *id == f.id)
            .unwrap_or(order.len());
        groups.entry((pos, f.id.clone())).or_default().push(f);
    }
    let several_repos = by_repo
        .iter()
        .map(|f| f.repository.as_deref())
        .collect::<BTreeSet<_>>()
        .len()
        > 1;
    groups
        .into_values()
        .filter_map(|mut group| {
            // Stable: ties keep the order the repositories were linked in.
            group.sort_by_key(|f| std::cmp::Reverse(finding_rank(f)));
            let primary = *group.first()?;
            let status = merged_status(&group);
            let mut merged = PracticeFinding::new(primary.id.clone(), status);
            merged.repository.clone_from(&primary.repository);
            if status == PracticeStatus::Present {
                merged.attribution = primary.attribution;
                merged.exercised = primary.exercised;
            } else {
                merged.exercised = if group.iter().all(|f| f.exercised.is_none()) {
                    None
                } else {
                    Some(false)
                };
            }
            for f in &group {
                merged.evidence.extend(f.evidence.iter().cloned());
                for note in &f.notes {
                    merged.notes.push(match (several_repos, &f.repository) {
                        (true, Some(repo)) => format!("{repo}: {note}"),
                        _ => note.clone(),
                    });
                }
            }
            Some(merged)
        })
        .collect()
}

/// Present anywhere wins; a file that could not be read makes absence unknowable, so it
/// outranks `absent`.
fn merged_status(group: &[&PracticeFinding]) -> PracticeStatus {
    let has = |s: PracticeStatus| group.iter().any(|f| f.status == s);
    if has(PracticeStatus::Present) {
        PracticeStatus::Present
    } else if has(PracticeStatus::CouldNotParse) {
        PracticeStatus::CouldNotParse
    } else if has(PracticeStatus::Absent) {
        PracticeStatus::Absent
    } else {
        PracticeStatus::NotAssessable
    }
}

/// What was found for one criterion, before the rubric decides.
struct Gathered {
    facts: CriterionFacts,
    evidence_count: usize,
    /// Credited findings named in `because`.
    named: Vec<String>,
    /// Uncredited findings, shown as context.
    context: Vec<String>,
}

fn criterion_result(
    criterion: Criterion,
    rubric: &Rubric,
    by_repo: &[PracticeFinding],
    input: &ReportInput,
) -> CriterionResult {
    let g = if criterion == Criterion::CodeReview {
        gather_reviews(input)
    } else {
        gather_practices(criterion, rubric, by_repo, input)
    };
    let decision = rubric.level(criterion, &g.facts);
    let because = because(criterion, rubric, &decision, &g);
    CriterionResult {
        id: criterion,
        level: decision.level,
        because,
        evidence_count: if decision.level == Level::NotAssessed {
            0
        } else {
            g.evidence_count
        },
    }
}

fn authored(prs: &[PullRequestSummary]) -> impl Iterator<Item = &PullRequestSummary> {
    prs.iter()
        .filter(|p| p.attribution == Attribution::Authored)
}

fn gather_practices(
    criterion: Criterion,
    rubric: &Rubric,
    by_repo: &[PracticeFinding],
    input: &ReportInput,
) -> Gathered {
    let weights = rubric.weights();
    let ids: Vec<String> = rubric
        .rules(criterion)
        .map(|r| r.practices.clone())
        .unwrap_or_default();
    let mut facts = CriterionFacts::default();
    let mut points = 0.0;
    let mut exercised = 0usize;
    let mut evidence_count = 0usize;
    let mut named = Vec::new();
    let mut context = Vec::new();
    for id in &ids {
        let of_id: Vec<&PracticeFinding> = by_repo.iter().filter(|f| &f.id == id).collect();
        if of_id
            .iter()
            .any(|f| matches!(f.status, PracticeStatus::Present | PracticeStatus::Absent))
        {
            facts.assessable = true;
        }
        let credited: Vec<&&PracticeFinding> =
            of_id.iter().filter(|f| credited_present(f)).collect();
        if credited.is_empty() {
            let ctx: Vec<String> = of_id
                .iter()
                .filter(|f| f.status == PracticeStatus::Present)
                .map(|f| describe(f))
                .collect();
            if !ctx.is_empty() {
                context.push(format!("{id} in {}", ctx.join(", ")));
            }
            continue;
        }
        let was_exercised = credited.iter().any(|f| f.exercised == Some(true));
        points += if was_exercised {
            weights.exercised
        } else {
            weights.present
        };
        if was_exercised {
            exercised += 1;
        }
        evidence_count += credited
            .iter()
            .map(|f| f.evidence.len().max(1))
            .sum::<usize>();
        facts.credited.insert(id.clone());
        let wheres: Vec<String> = credited.iter().map(|f| describe(f)).collect();
        named.push(format!("{id} in {}", wheres.join(", ")));
    }
    facts.metrics.insert("practice_points", points);
    facts
        .metrics
        .insert("credited_practices", facts.credited.len() as f64);
    facts
        .metrics
        .insert("exercised_practices", exercised as f64);

    let prs: Vec<&PullRequestSummary> = authored(&input.pull_requests).collect();
    match criterion {
        Criterion::Testing => {
            let with_tests = prs
                .iter()
                .filter(|p| p.test_files_changed > 0 && p.code_files_changed > 0)
                .count();
            let property = prs
                .iter()
                .filter(|p| p.property_based || p.new_property_tests > 0)
                .count();
            let counted = prs
                .iter()
                .filter(|p| {
                    (p.test_files_changed > 0 && p.code_files_changed > 0)
                        || p.property_based
                        || p.new_property_tests > 0
                })
                .count();
            facts.metrics.insert("prs_with_tests", with_tests as f64);
            facts
                .metrics
                .insert("prs_with_property_tests", property as f64);
            evidence_count += counted;
            if !prs.is_empty() {
                facts.assessable = true;
                named.push(format!(
                    "{with_tests} of {} authored pull requests changed tests with code, {property} added property-based tests",
                    prs.len()
                ));
            }
        }
        Criterion::CiCd => {
            let passed = prs.iter().filter(|p| p.checks_passed == Some(true)).count();
            facts.metrics.insert("prs_checks_passed", passed as f64);
            evidence_count += passed;
            if !prs.is_empty() {
                facts.assessable = true;
                named.push(format!(
                    "{passed} of {} authored pull requests passed their checks",
                    prs.len()
                ));
            }
        }
        _ => {}
    }
    Gathered {
        facts,
        evidence_count,
        named,
        context,
    }
}

/// `owner/name (owned, seen running)` for one finding.
fn describe(f: &PracticeFinding) -> String {
    let mut tags = vec![f.attribution.map_or("unattributed", Attribution::as_str)];
    match f.exercised {
        Some(true) => tags.push("seen running"),
        Some(false) => tags.push("not seen running"),
        None => {}
    }
    format!(
        "{} ({})",
        f.repository.as_deref().unwrap_or("the scanned directory"),
        tags.join(", ")
    )
}

fn gather_reviews(input: &ReportInput) -> Gathered {
    let comments = &input.review_comments;
    let assessed: Vec<&ReviewCommentSummary> =
        comments.iter().filter(|c| c.useful.is_some()).collect();
    let useful: Vec<&&ReviewCommentSummary> =
        assessed.iter().filter(|c| c.useful == Some(true)).collect();
    let led = comments
        .iter()
        .filter(|c| c.led_to_change == Some(true))
        .count();
    let kinds: BTreeSet<CommentKind> = useful
        .iter()
        .filter_map(|c| c.signals.kind)
        .filter(|k| SUBSTANTIVE_KINDS.contains(k))
        .collect();
    let percent = if assessed.is_empty() {
        0.0
    } else {
        (useful.len() as f64 * 100.0 / assessed.len() as f64).round()
    };
    let rubber = input.reviews.iter().filter(|r| r.rubber_stamp).count();
    let substantive_reviews = input.reviews.len() - rubber;
    let responses: u32 = authored(&input.pull_requests)
        .map(|p| p.review_responses)
        .sum();

    let mut facts = CriterionFacts {
        // Comments that could not be judged (not in English) give nothing to assess; reviews
        // without any comment still show a practice (approving without a word).
        assessable: !assessed.is_empty() || (!input.reviews.is_empty() && comments.is_empty()),
        ..Default::default()
    };
    let m = &mut facts.metrics;
    m.insert("reviews", input.reviews.len() as f64);
    m.insert("assessed_comments", assessed.len() as f64);
    m.insert("useful_comments", useful.len() as f64);
    m.insert("useful_percent", percent);
    m.insert("led_to_change", led as f64);
    m.insert("substantive_kinds", kinds.len() as f64);
    m.insert("review_responses", f64::from(responses));

    let prs: BTreeSet<&str> = comments.iter().map(|c| c.pull_request.as_str()).collect();
    let mut named = Vec::new();
    if !comments.is_empty() {
        named.push(format!(
            "{} review comments on {} pull requests ({} judged, {} useful, {} led to a change)",
            comments.len(),
            prs.len(),
            assessed.len(),
            useful.len(),
            led
        ));
    }
    if !kinds.is_empty() {
        let names: Vec<&str> = kinds.iter().map(|k| kind_name(*k)).collect();
        named.push(format!("useful kinds: {}", names.join(", ")));
    }
    if !input.reviews.is_empty() {
        named.push(format!(
            "{} reviews, {rubber} of them approvals without a substantive comment",
            input.reviews.len()
        ));
    }
    Gathered {
        facts,
        evidence_count: useful.len() + substantive_reviews,
        named,
        context: Vec::new(),
    }
}

pub fn kind_name(k: CommentKind) -> &'static str {
    match k {
        CommentKind::ApprovalOnly => "approval only",
        CommentKind::NitStyle => "style nit",
        CommentKind::Question => "question",
        CommentKind::Defect => "defect",
        CommentKind::Alternative => "alternative",
        CommentKind::TestRequest => "test request",
        CommentKind::DocRequest => "documentation request",
        CommentKind::Security => "security",
        CommentKind::PraiseSpecific => "specific praise",
        CommentKind::Other => "other",
    }
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.1}")
    }
}

/// The reviewer-facing reason for a level, naming the evidence behind it.
fn because(criterion: Criterion, rubric: &Rubric, d: &Decision, g: &Gathered) -> String {
    let Some(rules) = rubric.rules(criterion) else {
        return String::new();
    };
    let mut out = match (&d.rule, d.level) {
        (_, Level::NotAssessed) => return rules.not_assessed.clone(),
        (Some(rule), level) => {
            let word = if level == Level::Strong {
                "Strong"
            } else {
                "Some"
            };
            let mut conditions: Vec<String> = rule
                .require
                .iter()
                .map(|p| format!("{p} present in the candidate's own work"))
                .collect();
            conditions.extend(rule.at_least.iter().map(|(m, min)| {
                format!(
                    "{} {} (at least {})",
                    number(g.facts.metric(m)),
                    rubric.metric_label(m),
                    number(*min)
                )
            }));
            format!(
                "{word} because {}. Met: {}.",
                rule.because,
                conditions.join("; ")
            )
        }
        (None, _) => rules.none.clone(),
    };
    if !g.named.is_empty() {
        out.push_str(" Evidence: ");
        out.push_str(&g.named.join("; "));
        out.push('.');
    }
    if !g.context.is_empty() {
        out.push_str(" Context only, not credited: ");
        out.push_str(&g.context.join("; "));
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CommentSignals, Evidence, Tone};

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
        assert_eq!(lint.evidence.len(), 2);
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
    }
}
