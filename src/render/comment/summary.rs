//! The top of the comment, what a reader sees before scrolling: at a glance and the criteria
//! table; and the rule-built parts near the end: what Folio cannot see, questions to ask.
//! Everything here is chosen by fixed rules from the report, never by free text.

use std::fmt::Write as _;

use super::{Limits, QUOTE_CHARS, link_or_text, links_for, web_base};
use crate::catalogue;
use crate::model::{
    Attribution, Criterion, CriterionResult, Level, PracticeFinding, PracticeStatus,
    PullRequestSummary, Report, ReviewCommentSummary, Source,
};
use crate::render::neutralise::{inline, quote};
use crate::render::text::{iso_date, plural, repo_of, short_url};

/// Lines of "at a glance" at most.
const GLANCE_LINES: usize = 8;
const GLANCE_QUOTES: usize = 3;
/// Practices named per criterion at a glance; the table and the details name the rest.
const GLANCE_NAMES: usize = 1;

pub(super) fn level_word(l: Level) -> &'static str {
    match l {
        Level::Strong => "strong",
        Level::Some => "some",
        Level::None => "no evidence found",
        Level::NotAssessed => "not assessed",
    }
}

/// Findings that earn credit, per repository where known, seen running first.
pub(super) fn credited(report: &Report, c: Criterion) -> Vec<&PracticeFinding> {
    let source = if report.practices_by_repository.is_empty() {
        &report.practices
    } else {
        &report.practices_by_repository
    };
    let mut out: Vec<&PracticeFinding> = source
        .iter()
        .filter(|p| {
            catalogue::criterion_of(&p.id) == Some(c)
                && p.status == PracticeStatus::Present
                && p.attribution.is_some_and(Attribution::is_credited)
        })
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.exercised == Some(true)));
    out
}

/// Authored pull requests that changed tests together with code.
pub(super) fn tested_prs(report: &Report) -> Vec<&PullRequestSummary> {
    report
        .pull_requests
        .iter()
        .filter(|p| p.attribution == Attribution::Authored)
        .filter(|p| (p.test_files_changed > 0 && p.code_files_changed > 0) || p.property_based)
        .collect()
}

/// Review comments by usefulness and outcome, then newest first.
pub(super) fn ranked_comments(report: &Report) -> Vec<&ReviewCommentSummary> {
    let mut comments: Vec<&ReviewCommentSummary> = report.review_comments.iter().collect();
    comments.sort_by(|a, b| {
        let key = |c: &ReviewCommentSummary| {
            (
                c.led_to_change == Some(true),
                c.useful == Some(true),
                c.author_replied == Some(true),
            )
        };
        key(b)
            .cmp(&key(a))
            .then_with(|| b.created_at.cmp(&a.created_at))
    });
    comments
}

/// The outcome of a comment in plain words; nothing when none is known.
pub(super) fn outcome(c: &ReviewCommentSummary) -> Vec<&'static str> {
    let mut out = Vec::new();
    // A change answers the comment; that the author also replied adds nothing.
    if c.led_to_change == Some(true) {
        out.push("led to a change");
    } else if c.author_replied == Some(true) {
        out.push("the author replied");
    }
    out
}

fn comment_label(c: &ReviewCommentSummary) -> String {
    link_or_text(
        &format!("comment on {}", short_url(&c.pull_request)),
        Some(&c.url),
    )
}

fn criterion_sentence(report: &Report, c: &CriterionResult) -> Option<String> {
    if !matches!(c.level, Level::Strong | Level::Some) {
        return None;
    }
    let head = format!("**{}** ({})", c.id.title(), level_word(c.level));
    if c.id == Criterion::CodeReview {
        let n = report.review_comments.len();
        let changed = report
            .review_comments
            .iter()
            .filter(|x| x.led_to_change == Some(true))
            .count();
        return Some(format!(
            "{head}: {} by the candidate, {changed} of which led to a change.",
            plural(n, "review comment")
        ));
    }
    let found = credited(report, c.id);
    let mut names: Vec<String> = Vec::new();
    for p in &found {
        // Plain words here: the table links the repositories and the details hold each
        // practice's permalink, so repeating long links at a glance only costs room.
        let name = inline(catalogue::name_of(&p.id));
        if names.len() < GLANCE_NAMES && !names.contains(&name) {
            names.push(name);
        }
    }
    let mut s = head;
    if !names.is_empty() {
        // The table below names the repositories.
        let _ = write!(s, ": {}", names.join(", "));
        if found.iter().any(|p| p.exercised == Some(true)) {
            s.push_str(", seen running");
        }
    }
    if c.id == Criterion::CiCd && names.is_empty() {
        let passed = report
            .pull_requests
            .iter()
            .filter(|p| p.attribution == Attribution::Authored && p.checks_passed == Some(true))
            .count();
        if passed > 0 {
            let _ = write!(
                s,
                ": checks passed on {}",
                plural(passed, "authored pull request")
            );
        }
    }
    if c.id == Criterion::Testing {
        let prs = tested_prs(report);
        if !prs.is_empty() {
            let sep = if names.is_empty() { ": " } else { "; " };
            let _ = write!(
                s,
                "{sep}{} changed tests with code",
                plural(prs.len(), "authored pull request")
            );
        }
    }
    s.push('.');
    Some(s)
}

fn criterion_sentences(report: &Report) -> Vec<String> {
    report
        .criteria
        .iter()
        .filter_map(|c| criterion_sentence(report, c))
        .take(GLANCE_LINES - 1)
        .collect()
}

/// The review comments quoted at a glance: the most useful ones with words to quote, as many
/// as the lines left allow.
pub(super) fn glance_quotes<'a>(
    report: &'a Report,
    limits: &Limits,
) -> Vec<&'a ReviewCommentSummary> {
    if !limits.quotes {
        return Vec::new();
    }
    let room = GLANCE_LINES
        .saturating_sub(criterion_sentences(report).len())
        .min(GLANCE_QUOTES);
    ranked_comments(report)
        .into_iter()
        .filter(|c| c.useful == Some(true) || c.led_to_change == Some(true))
        .filter(|c| c.excerpt.as_deref().is_some_and(|x| !x.trim().is_empty()))
        .take(room)
        .collect()
}

pub(super) fn at_a_glance(out: &mut String, report: &Report, limits: &Limits) {
    out.push_str("### At a glance\n\n");
    let mut lines = criterion_sentences(report);
    let web = web_base(report);
    for c in glance_quotes(report, limits) {
        let repo = repo_of(&c.pull_request);
        let text = quote(
            c.excerpt.as_deref().unwrap_or_default(),
            QUOTE_CHARS,
            links_for(web.as_deref(), repo.as_deref()),
        );
        let mut facts = vec![link_or_text(&short_url(&c.pull_request), Some(&c.url))];
        facts.extend(
            c.created_at
                .as_deref()
                .and_then(iso_date)
                .map(str::to_string),
        );
        facts.extend(outcome(c).into_iter().map(str::to_string));
        lines.push(format!("“{text}” ({})", facts.join(", ")));
    }
    if lines.is_empty() {
        lines.push(
            "No credited evidence was found in the linked material; the criteria below say \
             what was looked at."
                .to_string(),
        );
    }
    for l in lines {
        let _ = writeln!(out, "- {l}");
    }
    out.push('\n');
}

/// The first sentence of a `because`: the rubric keeps its reasons to one sentence each.
fn first_sentence(s: &str) -> &str {
    match s.find(". ") {
        Some(i) => &s[..=i],
        None => s,
    }
}

/// The first sentence, without the words that the level column already says.
fn table_reason(because: &str) -> String {
    let s = first_sentence(because);
    for prefix in [
        "Strong because ",
        "Some because ",
        "No evidence in the linked material: ",
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return super::capitalised(rest);
        }
    }
    s.to_string()
}

/// A review comment named by its kind (`defect`, `test request`), or just `comment`.
fn kind_label(c: &ReviewCommentSummary) -> &'static str {
    match c.signals.kind {
        Some(k) if k != crate::model::CommentKind::Other => crate::report::kind_name(k),
        _ => "comment",
    }
}

/// Up to three links behind a level, named in plain words.
fn table_links(report: &Report, c: &CriterionResult) -> Vec<String> {
    if matches!(c.level, Level::NotAssessed | Level::None) {
        return Vec::new();
    }
    if c.id == Criterion::CodeReview {
        return ranked_comments(report)
            .into_iter()
            .filter(|x| x.useful == Some(true) || x.led_to_change == Some(true))
            .take(3)
            .map(|x| link_or_text(kind_label(x), Some(&x.url)))
            .collect();
    }
    // Practice names in words, linked to the repository where they were found: short links,
    // each claim's permalink being in the details.
    let mut per_repo: Vec<(Option<&str>, Vec<&str>)> = Vec::new();
    for p in credited(report, c.id) {
        let name = catalogue::name_of(&p.id);
        let repo = p.repository.as_deref();
        match per_repo.iter_mut().find(|(r, _)| *r == repo) {
            Some((_, names)) => {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            None => per_repo.push((repo, vec![name])),
        }
    }
    let mut out: Vec<String> = Vec::new();
    for (repo, names) in per_repo.into_iter().take(3) {
        let shown: Vec<String> = names.iter().take(3).map(|n| inline(n)).collect();
        let mut entry = shown.join(", ");
        if names.len() > 3 {
            let _ = write!(entry, " and {} more", names.len() - 3);
        }
        // Only a plain `owner/name` with its address is linked: anything else could break
        // the table row, and the details name the repository anyway.
        if let Some(r) = repo.filter(|r| plain_repo_name(r))
            && let Some(u) = repo_url(report, r)
        {
            let _ = write!(entry, " in {}", link_or_text(r, Some(u)));
        }
        out.push(entry);
    }
    out
}

fn plain_repo_name(r: &str) -> bool {
    r.len() <= 200
        && r.split('/').count() == 2
        && r.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

/// The web address of a linked repository, from the report's sources.
fn repo_url<'a>(report: &'a Report, name: &str) -> Option<&'a str> {
    report.sources.iter().find_map(|s| match s {
        Source::Repository { url, .. } if repo_of(url).as_deref() == Some(name) => {
            Some(url.as_str())
        }
        _ => None,
    })
}

pub(super) fn table(out: &mut String, report: &Report) {
    out.push_str("| Criterion | Level | Why | Evidence |\n|---|---|---|---|\n");
    for c in &report.criteria {
        let links = table_links(report, c);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            c.id.title(),
            level_word(c.level),
            inline(&table_reason(&c.because)),
            if links.is_empty() {
                "—".to_string()
            } else {
                links.join(", ")
            }
        );
    }
    out.push('\n');
}

pub(super) fn cannot_see(out: &mut String) {
    out.push_str(
        "> [!NOTE]\n> **What Folio cannot see.** Language idioms, typing depth, architecture, \
         concurrency, performance, observability, API design, documentation, and anything in \
         private repositories: the hiring document asks about them, and they are for the \
         interview.\n\n",
    );
}

/// What to ask when a criterion has no evidence: the practice gap and a neutral prompt.
fn gap_prompt(c: Criterion) -> (&'static str, &'static str) {
    match c {
        Criterion::CodeReview => ("useful review comment", "ask about a review they gave"),
        Criterion::Testing => ("automated testing", "ask how they test their changes"),
        Criterion::StaticChecks => ("static check", "ask which checks they rely on"),
        Criterion::CiCd => ("CI set-up", "ask how their changes are built and checked"),
        Criterion::ReleaseEngineering => ("release automation", "ask how they ship"),
        Criterion::SupplyChain => (
            "supply-chain practice",
            "ask how they keep dependencies up to date and safe",
        ),
    }
}

pub(super) fn questions(out: &mut String, report: &Report) {
    let mut qs: Vec<String> = Vec::new();
    for c in ranked_comments(report)
        .into_iter()
        .filter(|c| c.led_to_change == Some(true))
        .take(1)
    {
        qs.push(format!(
            "Their {} led to a change: ask them to walk through how they found it.",
            comment_label(c)
        ));
    }
    if let Some(pr) = tested_prs(report)
        .into_iter()
        .max_by_key(|p| p.test_lines_added)
    {
        qs.push(format!(
            "{} changed tests with the code: ask how they decided what to test.",
            link_or_text(&short_url(&pr.url), Some(&pr.url))
        ));
    }
    for c in &report.criteria {
        if qs.len() >= 4 {
            break;
        }
        if c.level == Level::Strong
            && let Some(p) = credited(report, c.id).first()
        {
            // The repository as the link: the practice's permalink is in the details.
            let place = match p.repository.as_deref() {
                Some(r) if plain_repo_name(r) => link_or_text(r, repo_url(report, r)),
                Some(r) => inline(r),
                None => "the linked work".to_string(),
            };
            qs.push(format!(
                "{} is set up in {place}: ask what it replaced and what it has caught.",
                inline(catalogue::name_of(&p.id)),
            ));
            break;
        }
    }
    for c in &report.criteria {
        if qs.len() >= 4 {
            break;
        }
        if c.level != Level::None {
            continue;
        }
        let (gap, prompt) = gap_prompt(c.id);
        let docs = catalogue::ids_of(c.id)
            .first()
            .and_then(|id| catalogue::get(id))
            .map(|p| link_or_text(&p.name, Some(&p.docs)));
        match docs {
            Some(d) => qs.push(format!(
                "No {gap} was found in the linked work: {prompt} (see {d})."
            )),
            None => qs.push(format!("No {gap} was found in the linked work: {prompt}.")),
        }
        if qs.len() >= 3 {
            break;
        }
    }
    if qs.is_empty() {
        return;
    }
    out.push_str("### Questions to ask\n\n");
    for q in qs.iter().take(4) {
        let _ = writeln!(out, "- {q}");
    }
    out.push('\n');
}
