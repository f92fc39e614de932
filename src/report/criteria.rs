//! Per criterion: gathers the credited evidence, lets the rubric decide, and words the reason.

use std::collections::BTreeSet;

use super::rubric::{CriterionFacts, Decision, Rubric};
use super::{ReportInput, credited_present};
use crate::model::{
    Attribution, CommentKind, Criterion, CriterionResult, Level, PracticeFinding, PracticeStatus,
    PullRequestSummary, ReviewCommentSummary,
};

/// Review comment kinds that show substance (as opposed to approvals, nits, praise).
const SUBSTANTIVE_KINDS: &[CommentKind] = &[
    CommentKind::Defect,
    CommentKind::Alternative,
    CommentKind::TestRequest,
    CommentKind::Security,
    CommentKind::Question,
    CommentKind::DocRequest,
];

/// What was found for one criterion, before the rubric decides.
struct Gathered {
    facts: CriterionFacts,
    evidence_count: usize,
    /// Credited findings named in `because`.
    named: Vec<String>,
    /// Uncredited findings, shown as context.
    context: Vec<String>,
}

pub(super) fn criterion_result(
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
    let rubber = input.reviews.iter().filter(|r| r.rubber_stamp).count();
    let substantive_reviews = input.reviews.len() - rubber;
    let responses: u32 = authored(&input.pull_requests)
        .map(|p| p.review_responses)
        .sum();

    let mut facts = CriterionFacts {
        // Comments that could not be judged (not in English) give nothing to assess on their
        // own; any review does (approving without a word is a practice too). Adding material
        // must never take a criterion back to `not_assessed`, so this only ever grows.
        assessable: !assessed.is_empty() || !input.reviews.is_empty(),
        ..Default::default()
    };
    let m = &mut facts.metrics;
    m.insert("reviews", input.reviews.len() as f64);
    m.insert("assessed_comments", assessed.len() as f64);
    m.insert("useful_comments", useful.len() as f64);
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
