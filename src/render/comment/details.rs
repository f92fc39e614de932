//! One `<details>` block per criterion: each practice by its plain name with why it matters
//! and a public explanation, the evidence per repository (trimmed to the most telling lines),
//! where it was not found on one line, the candidate's pull requests once each, and the rubric
//! arithmetic nested in "How this level was reached".

use std::fmt::Write as _;

use super::{
    Cut, DETAIL_CHARS, Limits, NOTE_CHARS, TITLE_CHARS, URL_CHARS, link_or_text, links_for,
    web_base,
};
use crate::catalogue::{self, PracticeInfo};
use crate::model::{
    Attribution, Criterion, CriterionResult, Evidence, PracticeFinding, PracticeStatus,
    PullRequestSummary, Report, ReviewSummary,
};
use crate::render::neutralise::{self, code, inline, inline_capped, quote};
use crate::render::text::{count_of, iso_date, plural, repo_of, short_url};

pub(super) fn all(out: &mut String, report: &Report, limits: &Limits, cut: &mut Cut) {
    out.push_str("### Details\n\n");
    if !limits.details {
        cut.details = true;
        for c in &report.criteria {
            let _ = writeln!(
                out,
                "- **{}** ({}): {}",
                c.id.title(),
                super::summary::level_word(c.level),
                inline(&c.because)
            );
        }
        out.push('\n');
        return;
    }
    for c in &report.criteria {
        criterion(out, report, c, limits, cut);
    }
}

fn criterion(
    out: &mut String,
    report: &Report,
    c: &CriterionResult,
    limits: &Limits,
    cut: &mut Cut,
) {
    let _ = writeln!(
        out,
        "<details>\n<summary><b>{}</b>: {} · {}</summary>\n",
        c.id.title(),
        super::summary::level_word(c.level),
        count_of(
            c.evidence_count,
            "piece of credited evidence",
            "pieces of credited evidence"
        )
    );
    match c.id {
        Criterion::CodeReview => code_review(out, report, limits, cut),
        _ => practices(out, report, c.id, limits, cut),
    }
    if c.id == Criterion::Testing {
        pull_requests(out, report, limits, cut);
    }
    if c.id == Criterion::CiCd {
        checks_line(out, report);
    }
    let _ = writeln!(
        out,
        "<details>\n<summary>How this level was reached</summary>\n\n{}\n\n</details>\n</details>\n",
        inline(arithmetic(&c.because))
    );
}

/// The rubric's arithmetic from a `because`: the thresholds met. Its first sentence is the
/// table's reason and its evidence list repeats the lines above, so both are left out when
/// the arithmetic is there to show.
fn arithmetic(because: &str) -> &str {
    let Some(start) = because.find("Met: ") else {
        return because;
    };
    let rest = &because[start..];
    match rest.find(" Evidence: ") {
        Some(end) => &rest[..end],
        None => rest,
    }
}

fn status_words(f: &PracticeFinding) -> &'static str {
    match (f.status, f.exercised) {
        (PracticeStatus::Present, Some(true)) => "found, seen running",
        (PracticeStatus::Present, Some(false)) => "found, not seen running",
        (PracticeStatus::Present, None) => "found",
        (PracticeStatus::Absent, _) => "not found",
        (PracticeStatus::CouldNotParse, _) => "unknown: a file that decides it could not be read",
        (PracticeStatus::NotAssessable, _) => "not assessable from the linked material",
    }
}

/// Who put the practice there, in words (SPEC §2's attribution of a practice).
fn who_added(a: Option<Attribution>) -> &'static str {
    match a {
        Some(Attribution::Authored) => "added by the candidate",
        Some(Attribution::Template) => "came with the template",
        Some(Attribution::Project) => "added by another maintainer",
        Some(Attribution::Owned) => "in a repository the candidate owns",
        Some(a @ (Attribution::Reviewed | Attribution::Unrelated)) => a.as_str(),
        None => "unattributed",
    }
}

fn entries_for<'a>(report: &'a Report, id: &str) -> Vec<&'a PracticeFinding> {
    let per_repo: Vec<&PracticeFinding> = report
        .practices_by_repository
        .iter()
        .filter(|f| f.id == id)
        .collect();
    if per_repo.is_empty() {
        report.practices.iter().filter(|f| f.id == id).collect()
    } else {
        per_repo
    }
}

fn repo_label(f: &PracticeFinding) -> String {
    inline_capped(
        f.repository.as_deref().unwrap_or("scanned directory"),
        TITLE_CHARS,
    )
}

fn docs_link(p: &PracticeInfo) -> String {
    link_or_text(&p.name, Some(&p.docs))
}

fn practices(out: &mut String, report: &Report, c: Criterion, limits: &Limits, cut: &mut Cut) {
    let mut nowhere: Vec<String> = Vec::new();
    let mut any = false;
    for id in catalogue::ids_of(c) {
        let Some(info) = catalogue::get(&id) else {
            continue;
        };
        let entries = entries_for(report, &id);
        let bare =
            |f: &PracticeFinding| f.status == PracticeStatus::Absent && f.evidence.is_empty();
        if entries.iter().all(|f| bare(f)) {
            if !entries.is_empty() {
                nowhere.push(docs_link(info));
            }
            continue;
        }
        any = true;
        // The name links to the public explanation: one link, no extra link text.
        let _ = writeln!(out, "**{}**: {}\n", docs_link(info), inline(&info.why),);
        let mut not_found: Vec<String> = Vec::new();
        for f in &entries {
            if bare(f) {
                not_found.push(repo_label(f));
                continue;
            }
            let credited = f.attribution.is_some_and(Attribution::is_credited);
            let mut line = format!(
                "- {} ({}{}): {}",
                repo_label(f),
                who_added(f.attribution),
                if credited { "" } else { "; context only" },
                status_words(f)
            );
            if !credited && !limits.context_evidence {
                cut.context_links += f.evidence.len();
            } else {
                let shown: Vec<String> = f
                    .evidence
                    .iter()
                    .take(limits.evidence_per_entry)
                    .map(evidence)
                    .collect();
                if !shown.is_empty() {
                    let _ = write!(line, ": {}", shown.join("; "));
                }
                let more = f.evidence.len() - shown.len();
                if more > 0 {
                    let _ = write!(line, "; and {more} more");
                }
            }
            if let Some(n) = f.notes.first() {
                let _ = write!(line, " (note: {})", inline_capped(n, NOTE_CHARS));
            }
            let _ = writeln!(out, "{line}");
        }
        if !not_found.is_empty() {
            let _ = writeln!(out, "- Not found in: {}", not_found.join(", "));
        }
        out.push('\n');
    }
    if !nowhere.is_empty() {
        let _ = writeln!(
            out,
            "Not found in any linked repository: {}.\n",
            nowhere.join(", ")
        );
    } else if !any {
        out.push_str("No repository was read for this criterion.\n\n");
    }
}

/// `[ci.yml line 12](permalink) `ruff check .``: the place as a link, what was there as code.
fn evidence(e: &Evidence) -> String {
    let text = match (&e.path, e.line) {
        (Some(p), Some(l)) => format!("{} line {l}", file_name(p)),
        (Some(p), None) => file_name(p).to_string(),
        (None, _) => e
            .url
            .as_deref()
            .map_or_else(|| "link".to_string(), short_url),
    };
    let place = match &e.url {
        Some(u) if u.chars().count() <= URL_CHARS && neutralise::url(u).is_some() => {
            neutralise::link(&crate::render::neutralise::cut(&text, DETAIL_CHARS), u)
        }
        _ => inline_capped(&text, DETAIL_CHARS),
    };
    if e.detail.trim().is_empty() {
        place
    } else {
        format!(
            "{place} {}",
            code(&crate::render::neutralise::cut(
                e.detail.trim(),
                DETAIL_CHARS
            ))
        )
    }
}

/// The path as written, shortened to its last two parts when long.
fn file_name(path: &str) -> &str {
    if path.len() <= 40 {
        return path;
    }
    match path.rmatch_indices('/').nth(1) {
        Some((i, _)) => &path[i + 1..],
        None => path,
    }
}

/// One line per authored pull request: date, state, size, test changes, checks.
pub(super) fn pr_line(pr: &PullRequestSummary, report: &Report) -> String {
    let mut head = Vec::new();
    if let Some(d) = pr.opened_at.as_deref().and_then(iso_date) {
        head.push(d.to_string());
    }
    let web = web_base(report);
    let repo = repo_of(&pr.url);
    let mut title = link_or_text(&short_url(&pr.url), Some(&pr.url));
    if let Some(t) = &pr.title {
        let _ = write!(
            title,
            " “{}”",
            quote(t, TITLE_CHARS, links_for(web.as_deref(), repo.as_deref()))
        );
    }
    head.push(title);
    if let Some(s) = pr.state {
        head.push(s.as_str().to_string());
    }
    if let Some(s) = pr.size {
        head.push(format!(
            "+{} −{} in {}",
            s.additions,
            s.deletions,
            plural(s.files as usize, "file")
        ));
    }
    let mut tests = Vec::new();
    if pr.test_files_changed > 0 {
        tests.push(format!(
            "{} changed (+{} lines) next to {}",
            plural(pr.test_files_changed as usize, "test file"),
            pr.test_lines_added,
            plural(pr.code_files_changed as usize, "code file")
        ));
    } else {
        tests.push("no test files changed".to_string());
    }
    for (n, what) in [
        (pr.new_tests, "new test"),
        (pr.new_parametrized, "parametrization"),
        (pr.new_fixtures, "fixture"),
        (pr.new_property_tests, "property-based test"),
    ] {
        if n > 0 {
            tests.push(plural(n as usize, what));
        }
    }
    let checks = match pr.checks_passed {
        Some(true) => "checks passed",
        Some(false) => "checks did not pass",
        None => "no checks seen",
    };
    format!(
        "{} · tests: {} · {checks}",
        head.join(" · "),
        tests.join(", ")
    )
}

fn authored(report: &Report) -> Vec<&PullRequestSummary> {
    let mut prs: Vec<&PullRequestSummary> = report
        .pull_requests
        .iter()
        .filter(|p| p.attribution == Attribution::Authored)
        .collect();
    prs.sort_by(|a, b| b.opened_at.cmp(&a.opened_at));
    prs
}

fn pull_requests(out: &mut String, report: &Report, limits: &Limits, cut: &mut Cut) {
    let prs = authored(report);
    if prs.is_empty() {
        return;
    }
    out.push_str("**Pull requests by the candidate**, newest first\n\n");
    for (i, pr) in prs.iter().enumerate() {
        if i >= limits.pull_requests {
            cut.pull_requests += prs.len() - i;
            let _ = writeln!(out, "- and {} more", plural(prs.len() - i, "pull request"));
            break;
        }
        let _ = writeln!(out, "- {}", pr_line(pr, report));
    }
    out.push('\n');
}

fn checks_line(out: &mut String, report: &Report) {
    let prs = authored(report);
    let known: Vec<&&PullRequestSummary> =
        prs.iter().filter(|p| p.checks_passed.is_some()).collect();
    if known.is_empty() {
        return;
    }
    let passed = known
        .iter()
        .filter(|p| p.checks_passed == Some(true))
        .count();
    let _ = writeln!(
        out,
        "Checks passed on {passed} of {} with checks (listed under Testing).\n",
        plural(known.len(), "authored pull request")
    );
}

fn review_line(r: &ReviewSummary) -> String {
    let state = match r.state.to_ascii_uppercase().as_str() {
        "APPROVED" => "approved",
        "CHANGES_REQUESTED" => "changes requested",
        "COMMENTED" => "commented",
        "DISMISSED" => "dismissed",
        _ => "reviewed",
    };
    let mut parts = Vec::new();
    if let Some(d) = r.submitted_at.as_deref().and_then(iso_date) {
        parts.push(d.to_string());
    }
    parts.push(format!(
        "{} on {}",
        link_or_text("review", Some(&r.url)),
        link_or_text(&short_url(&r.pull_request), Some(&r.pull_request))
    ));
    parts.push(state.to_string());
    parts.push(plural(r.comment_count as usize, "comment"));
    if r.rubber_stamp {
        parts.push("approval without a substantive comment".to_string());
    }
    parts.join(" · ")
}

fn code_review(out: &mut String, report: &Report, limits: &Limits, cut: &mut Cut) {
    let n = report.review_comments.len();
    if n > 0 {
        let _ = writeln!(
            out,
            "{} by the candidate, quoted under \"Review comments by the candidate\" below.\n",
            plural(n, "review comment")
        );
    }
    if !report.reviews.is_empty() {
        out.push_str("**Reviews by the candidate**\n\n");
        let mut reviews: Vec<&ReviewSummary> = report.reviews.iter().collect();
        reviews.sort_by(|a, b| {
            a.rubber_stamp
                .cmp(&b.rubber_stamp)
                .then_with(|| b.submitted_at.cmp(&a.submitted_at))
        });
        for (i, r) in reviews.iter().enumerate() {
            if i >= limits.reviews {
                cut.reviews += reviews.len() - i;
                let _ = writeln!(out, "- and {} more", plural(reviews.len() - i, "review"));
                break;
            }
            let _ = writeln!(out, "- {}", review_line(r));
        }
        out.push('\n');
    }
    let answered: Vec<&PullRequestSummary> = report
        .pull_requests
        .iter()
        .filter(|p| p.attribution == Attribution::Authored && p.review_responses > 0)
        .collect();
    if !answered.is_empty() {
        out.push_str("**Feedback the candidate received and answered**\n\n");
        for p in answered.iter().take(limits.pull_requests.max(1)) {
            let _ = writeln!(
                out,
                "- {}: {} with commits or replies",
                link_or_text(&short_url(&p.url), Some(&p.url)),
                plural(p.review_responses as usize, "answer")
            );
        }
        out.push('\n');
    }
    if n == 0 && report.reviews.is_empty() && answered.is_empty() {
        out.push_str("No reviews were linked.\n\n");
    }
}
