//! The evidence comment (SPEC §5) and Folio's other issue comments. Every comment starts with
//! [`MARKER`]; every piece of untrusted text goes through [`neutralise`].
//!
//! Layout of the evidence comment: marker, header (candidate, submitter, what was looked at),
//! summary table, mermaid chart, one `<details>` per criterion, sources, warnings, footer.
//! When it would exceed GitHub's limit, the details are shortened in stages, lowest-value
//! evidence first, and the comment says what was cut.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::model::{
    Attribution, CommentKind, Criterion, CriterionResult, Evidence, Level, PracticeFinding,
    PracticeStatus, PullRequestSummary, RepoAttribution, Report, ReviewCommentSummary,
    ReviewSummary, Source, Tone,
};
use crate::render::neutralise::{self, inline, inline_capped};
use crate::report::{kind_name, rubric};

/// The hidden marker by which Folio finds its own comment. Neutralised text can never contain
/// it (see [`neutralise::inline`]).
pub const MARKER: &str = "<!-- folio:evidence v1 -->";

/// GitHub's limit on a comment body. Counted here in bytes, which is never fewer than
/// characters, so the limit holds however GitHub counts.
pub const MAX_COMMENT_LEN: usize = 65_536;

const DISCLAIMER: &str = "Evidence for reviewers, not a hiring decision.";
const JSON_HINT: &str = "`folio evaluate --format json`";

/// Untrusted text lengths, in characters, before escaping.
const TITLE_CHARS: usize = 120;
const EXCERPT_CHARS: usize = 240;
const DETAIL_CHARS: usize = 160;
const WARNING_CHARS: usize = 300;
const NOTE_CHARS: usize = 300;
const URL_CHARS: usize = 600;

/// What the comment needs besides the report. No clock: the time is passed in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommentContext {
    /// Login of whoever opened the tracking issue.
    pub submitted_by: Option<String>,
    /// RFC 3339 time of the evaluation.
    pub evaluated_at: String,
    /// The tracking issue, when known.
    pub issue_url: Option<String>,
}

/// How much detail to show; each stage of trimming lowers these.
#[derive(Debug, Clone, Copy)]
struct Limits {
    context_evidence: bool,
    evidence_per_entry: usize,
    comments: usize,
    pull_requests: usize,
    reviews: usize,
    excerpts: bool,
    details: bool,
    sources: usize,
    warnings: usize,
}

const STAGES: [Limits; 6] = [
    Limits {
        context_evidence: true,
        evidence_per_entry: usize::MAX,
        comments: usize::MAX,
        pull_requests: usize::MAX,
        reviews: usize::MAX,
        excerpts: true,
        details: true,
        sources: usize::MAX,
        warnings: usize::MAX,
    },
    // Project evidence is context only: it goes first.
    Limits {
        context_evidence: false,
        evidence_per_entry: 10,
        comments: 60,
        pull_requests: 40,
        reviews: 40,
        excerpts: true,
        details: true,
        sources: usize::MAX,
        warnings: 100,
    },
    Limits {
        context_evidence: false,
        evidence_per_entry: 3,
        comments: 25,
        pull_requests: 20,
        reviews: 15,
        excerpts: true,
        details: true,
        sources: 60,
        warnings: 50,
    },
    Limits {
        context_evidence: false,
        evidence_per_entry: 1,
        comments: 10,
        pull_requests: 10,
        reviews: 5,
        excerpts: false,
        details: true,
        sources: 40,
        warnings: 30,
    },
    Limits {
        context_evidence: false,
        evidence_per_entry: 0,
        comments: 0,
        pull_requests: 0,
        reviews: 0,
        excerpts: false,
        details: true,
        sources: 30,
        warnings: 20,
    },
    Limits {
        context_evidence: false,
        evidence_per_entry: 0,
        comments: 0,
        pull_requests: 0,
        reviews: 0,
        excerpts: false,
        details: false,
        sources: 20,
        warnings: 10,
    },
];

/// What a stage left out, for the note that says so.
#[derive(Debug, Default)]
struct Cut {
    context_links: usize,
    evidence_links: usize,
    comments: usize,
    pull_requests: usize,
    reviews: usize,
    excerpts: usize,
    details: bool,
    sources: usize,
    warnings: usize,
}

impl Cut {
    fn is_empty(&self) -> bool {
        self.describe().is_empty()
    }

    fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |n: usize, what: &str| {
            if n > 0 {
                out.push(format!("{n} {what}"));
            }
        };
        push(
            self.context_links,
            "links to project (context-only) evidence",
        );
        push(self.evidence_links, "further evidence links");
        push(self.comments, "review comments");
        push(self.pull_requests, "pull requests");
        push(self.reviews, "reviews");
        push(self.excerpts, "comment excerpts");
        push(self.sources, "sources");
        push(self.warnings, "warnings");
        if self.details {
            out.push("the per-criterion details".to_string());
        }
        out
    }
}

/// The evidence comment for a report, at most [`MAX_COMMENT_LEN`] bytes.
pub fn comment(report: &Report, ctx: &CommentContext) -> String {
    for limits in STAGES {
        let mut cut = Cut::default();
        let body = render(report, ctx, &limits, &mut cut);
        if body.len() <= MAX_COMMENT_LEN {
            return body;
        }
    }
    // Only reachable with absurd inputs (say, thousands of sources): keep the summary, which
    // is bounded, and point to the full output.
    let mut out = String::new();
    out.push_str(MARKER);
    out.push('\n');
    header(&mut out, report, ctx);
    summary_table(&mut out, report);
    let _ = writeln!(
        out,
        "\n> [!NOTE]\n> This report is too large for a GitHub comment: the details, sources and \
         warnings were left out. Run {JSON_HINT} to see all of it.\n"
    );
    footer(&mut out, report, ctx);
    truncate_to(out, MAX_COMMENT_LEN)
}

fn truncate_to(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

fn render(report: &Report, ctx: &CommentContext, limits: &Limits, cut: &mut Cut) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str(MARKER);
    out.push('\n');
    header(&mut out, report, ctx);
    summary_table(&mut out, report);
    chart(&mut out, report);

    let mut details = String::new();
    out.push_str("\n### Details\n\n");
    if limits.details {
        for c in &report.criteria {
            criterion_details(&mut details, report, c, limits, cut);
        }
    } else {
        cut.details = true;
        for c in &report.criteria {
            let _ = writeln!(details, "- **{}**: {}", c.id.title(), inline(&c.because));
        }
    }
    sources(&mut details, report, limits, cut);
    warnings(&mut details, report, limits, cut);
    if !cut.is_empty() {
        let _ = writeln!(
            out,
            "> [!NOTE]\n> Shortened to fit GitHub's comment size limit, lowest-value evidence \
             first. Left out: {}. Run {JSON_HINT} to see all of it.\n",
            cut.describe().join(", ")
        );
    }
    out.push_str(&details);
    footer(&mut out, report, ctx);
    out
}

/// `https://github.com` from the first source, so that profile links work on GHES too.
fn web_base(report: &Report) -> Option<String> {
    report.sources.iter().find_map(|s| {
        let url = match s {
            Source::PullRequest { url, .. } | Source::Repository { url, .. } => url,
        };
        let parsed = url::Url::parse(url).ok()?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return None;
        }
        let host = parsed.host_str()?;
        Some(match parsed.port() {
            Some(p) => format!("{}://{host}:{p}", parsed.scheme()),
            None => format!("{}://{host}", parsed.scheme()),
        })
    })
}

/// A login, linked to its profile, never as an `@mention`.
fn person(login: &str, base: Option<&str>) -> String {
    let safe_login = login
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '[' || c == ']');
    match base {
        Some(b) if safe_login && !login.is_empty() && login.len() <= 64 => {
            format!("**{}**", neutralise::link(login, &format!("{b}/{login}")))
        }
        _ => format!("**{}**", inline_capped(login, 64)),
    }
}

fn header(out: &mut String, report: &Report, ctx: &CommentContext) {
    let base = web_base(report);
    let _ = writeln!(out, "## Folio evidence report\n");
    match &report.candidate {
        Some(c) => {
            let _ = write!(out, "Candidate: {}", person(c, base.as_deref()));
        }
        None => out.push_str("Candidate: not named (local scan)"),
    }
    match (&ctx.submitted_by, &report.candidate) {
        (Some(s), Some(c)) if s.eq_ignore_ascii_case(c) => {
            out.push_str(" · submitted by the candidate");
        }
        (Some(s), _) => {
            let _ = write!(out, " · submitted by {}", person(s, base.as_deref()));
        }
        (None, _) => {}
    }
    out.push_str("\n\n");

    let (mut prs, mut repos) = (Vec::new(), Vec::new());
    for s in &report.sources {
        match s {
            Source::PullRequest { attribution, .. } => prs.push(attribution.as_str()),
            Source::Repository { attribution, .. } => repos.push(attribution.as_str()),
        }
    }
    let _ = writeln!(
        out,
        "Looked at {}, {}, and {} and {} by the candidate.{}\n",
        counted(prs.len(), "pull request", &prs),
        counted(repos.len(), "repository", &repos),
        plural(report.reviews.len(), "review"),
        plural(report.review_comments.len(), "review comment"),
        if report.practices.is_empty() {
            ""
        } else {
            " Repository files were read at the commits listed at the end."
        },
    );
    let _ = writeln!(
        out,
        "Only credited evidence (authored, owned, reviewed) moves a level; project evidence is \
         shown as context. \"No evidence\" means none was found in the linked material, not a \
         failing grade. {DISCLAIMER}\n"
    );
}

fn plural(n: usize, what: &str) -> String {
    match (n, what) {
        (1, _) => format!("1 {what}"),
        (_, "repository") => format!("{n} repositories"),
        _ => format!("{n} {what}s"),
    }
}

fn counted(n: usize, what: &str, kinds: &[&str]) -> String {
    let mut s = plural(n, what);
    let set: BTreeSet<&str> = kinds.iter().copied().collect();
    if !set.is_empty() {
        let parts: Vec<String> = set
            .iter()
            .map(|k| format!("{} {k}", kinds.iter().filter(|x| *x == k).count()))
            .collect();
        let _ = write!(s, " ({})", parts.join(", "));
    }
    s
}

fn level_label(l: Level) -> &'static str {
    match l {
        Level::Strong => "🟢 **strong**",
        Level::Some => "🟡 **some**",
        Level::None => "⚪ no evidence in the linked material",
        Level::NotAssessed => "➖ not assessed",
    }
}

fn level_word(l: Level) -> &'static str {
    match l {
        Level::Strong => "strong",
        Level::Some => "some",
        Level::None => "no evidence",
        Level::NotAssessed => "not assessed",
    }
}

/// The first sentence of a `because`: the rubric keeps its reasons to one sentence each.
fn first_sentence(s: &str) -> &str {
    match s.find(". ") {
        Some(i) => &s[..=i],
        None => s,
    }
}

/// The first sentence, without the words ("Strong because", "No evidence in the linked
/// material") that the level column already says.
fn table_reason(because: &str) -> String {
    let s = first_sentence(because);
    for prefix in [
        "Strong because ",
        "Some because ",
        "No evidence in the linked material: ",
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            let mut chars = rest.chars();
            return match chars.next() {
                Some(c) => c.to_uppercase().chain(chars).collect(),
                None => String::new(),
            };
        }
    }
    s.to_string()
}

fn summary_table(out: &mut String, report: &Report) {
    out.push_str("| Criterion | Level | Why | Strongest evidence |\n|---|---|---|---|\n");
    for c in &report.criteria {
        let links = top_evidence(report, c);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            c.id.title(),
            level_label(c.level),
            inline(&table_reason(&c.because)),
            if links.is_empty() {
                "—".to_string()
            } else {
                links.join(" · ")
            }
        );
    }
    out.push('\n');
}

fn link_or_text(text: &str, url: Option<&str>) -> String {
    match url {
        Some(u) if u.chars().count() <= URL_CHARS => neutralise::link(text, u),
        _ => inline(text),
    }
}

/// Up to three links behind a level: credited and exercised first.
fn top_evidence(report: &Report, c: &CriterionResult) -> Vec<String> {
    if matches!(c.level, Level::NotAssessed | Level::None) {
        return Vec::new();
    }
    let mut out = Vec::new();
    if c.id == Criterion::CodeReview {
        let mut comments: Vec<&ReviewCommentSummary> = report
            .review_comments
            .iter()
            .filter(|x| x.useful == Some(true))
            .collect();
        comments.sort_by_key(|x| std::cmp::Reverse(x.led_to_change == Some(true)));
        for x in comments.into_iter().take(3) {
            let mut label = x
                .signals
                .kind
                .map_or("useful comment", kind_name)
                .to_string();
            if x.led_to_change == Some(true) {
                label.push_str(", led to a change");
            }
            out.push(link_or_text(&label, Some(&x.url)));
        }
        return out;
    }
    let mut findings: Vec<&PracticeFinding> = report
        .practices
        .iter()
        .filter(|p| {
            rubric::criterion_of(&p.id) == Some(c.id)
                && p.status == PracticeStatus::Present
                && p.attribution.is_some_and(Attribution::is_credited)
        })
        .collect();
    findings.sort_by_key(|p| std::cmp::Reverse(p.exercised == Some(true)));
    for p in findings {
        if out.len() == 3 {
            break;
        }
        let ev = p.evidence.first();
        out.push(match ev {
            Some(e) if e.url.is_some() => link_or_text(&p.id, e.url.as_deref()),
            Some(e) => format!("{} ({})", inline(&p.id), location(e)),
            None => inline(&p.id),
        });
    }
    for pr in relevant_prs(report, c.id) {
        if out.len() == 3 {
            break;
        }
        out.push(link_or_text(&short_url(&pr.url), Some(&pr.url)));
    }
    out
}

/// Authored pull requests that count towards a criterion.
fn relevant_prs(report: &Report, c: Criterion) -> Vec<&PullRequestSummary> {
    report
        .pull_requests
        .iter()
        .filter(|p| p.attribution == Attribution::Authored)
        .filter(|p| match c {
            Criterion::Testing => {
                (p.test_files_changed > 0 && p.code_files_changed > 0)
                    || p.property_based
                    || p.new_property_tests > 0
            }
            Criterion::CiCd => p.checks_passed == Some(true),
            _ => false,
        })
        .collect()
}

/// `owner/repo pull 7` from a pull request or comment URL; written without `#` so that the
/// text itself never cross-links.
fn short_url(u: &str) -> String {
    let parsed = match url::Url::parse(u) {
        Ok(p) if matches!(p.scheme(), "https" | "http") => p,
        // Never linked (see `neutralise::url`), so say so rather than echo it.
        _ => return "an address that is not a web link".to_string(),
    };
    let segs: Vec<&str> = parsed
        .path_segments()
        .map(|s| s.filter(|x| !x.is_empty()).collect())
        .unwrap_or_default();
    match segs.as_slice() {
        [owner, repo, "pull", n, ..] => format!("{owner}/{repo} pull {n}"),
        [owner, repo, "issues", n, ..] => format!("{owner}/{repo} issue {n}"),
        [owner, repo] => format!("{owner}/{repo}"),
        _ => segs.join("/"),
    }
}

fn location(e: &Evidence) -> String {
    match (&e.path, e.line) {
        (Some(p), Some(l)) => format!("{} line {l}", inline_capped(p, DETAIL_CHARS)),
        (Some(p), None) => inline_capped(p, DETAIL_CHARS),
        (None, _) => "link".to_string(),
    }
}

fn chart(out: &mut String, report: &Report) {
    // Only fixed words go into the chart: untrusted text never reaches mermaid.
    out.push_str("```mermaid\nflowchart LR\n");
    for c in &report.criteria {
        let class = match c.level {
            Level::Strong => "lvlStrong",
            Level::Some => "lvlSome",
            Level::None => "lvlNone",
            Level::NotAssessed => "lvlNotAssessed",
        };
        let _ = writeln!(
            out,
            "  {}[\"{}<br/>{}\"]:::{class}",
            c.id.as_str(),
            c.id.title(),
            level_word(c.level)
        );
    }
    out.push_str(
        "  classDef lvlStrong fill:#1a7f37,stroke:#116329,color:#ffffff\n  \
         classDef lvlSome fill:#d4a72c,stroke:#9a6700,color:#1f2328\n  \
         classDef lvlNone fill:#f6f8fa,stroke:#8c959f,color:#1f2328\n  \
         classDef lvlNotAssessed fill:#ffffff,stroke:#d0d7de,color:#656d76,stroke-dasharray: 4 4\n\
         ```\n",
    );
}

fn criterion_details(
    out: &mut String,
    report: &Report,
    c: &CriterionResult,
    limits: &Limits,
    cut: &mut Cut,
) {
    let _ = writeln!(
        out,
        "<details>\n<summary><b>{}</b>: {} ({})</summary>\n",
        c.id.title(),
        level_word(c.level),
        if c.evidence_count == 1 {
            "1 piece of credited evidence".to_string()
        } else {
            format!("{} pieces of credited evidence", c.evidence_count)
        }
    );
    let _ = writeln!(out, "{}\n", inline(&c.because));
    if c.id == Criterion::CodeReview {
        review_details(out, report, limits, cut);
    } else {
        practice_details(out, report, c.id, limits, cut);
        pr_details(out, report, c.id, limits, cut);
    }
    out.push_str("</details>\n\n");
}

fn status_words(f: &PracticeFinding) -> String {
    let mut s = match f.status {
        PracticeStatus::Present => "present".to_string(),
        PracticeStatus::Absent => "not found".to_string(),
        PracticeStatus::CouldNotParse => "unknown: a file that decides it could not be read".into(),
        PracticeStatus::NotAssessable => "not assessable from the linked material".into(),
    };
    if f.status == PracticeStatus::Present {
        match f.exercised {
            Some(true) => s.push_str(", seen running"),
            Some(false) => s.push_str(", not seen running"),
            None => {}
        }
    }
    s
}

fn practice_details(
    out: &mut String,
    report: &Report,
    c: Criterion,
    limits: &Limits,
    cut: &mut Cut,
) {
    let merged: Vec<&PracticeFinding> = report
        .practices
        .iter()
        .filter(|p| rubric::criterion_of(&p.id) == Some(c))
        .collect();
    if merged.is_empty() {
        out.push_str("No repository findings for this criterion.\n\n");
        return;
    }
    out.push_str("**Practices**\n\n");
    for m in merged {
        let _ = writeln!(out, "- **{}**: {}", inline(&m.id), status_words(m));
        let per_repo: Vec<&PracticeFinding> = report
            .practices_by_repository
            .iter()
            .filter(|f| f.id == m.id)
            .collect();
        let entries: Vec<&PracticeFinding> = if per_repo.is_empty() {
            vec![m]
        } else {
            per_repo
        };
        let bare = |f: &PracticeFinding| {
            f.status != PracticeStatus::Present && f.evidence.is_empty() && f.notes.is_empty()
        };
        // "Not found" in every repository says nothing more per repository; one line will do.
        if entries.iter().all(|f| bare(f)) {
            continue;
        }
        for f in entries {
            let credited = f.attribution.is_some_and(Attribution::is_credited);
            if bare(f) {
                if entries_are_several(report, &m.id) {
                    let _ = writeln!(out, "  - {}: {}", repo_label(f), status_words(f));
                }
                continue;
            }
            let _ = writeln!(
                out,
                "  - {} · {}{}: {}",
                repo_label(f),
                f.attribution.map_or("unattributed", Attribution::as_str),
                if credited {
                    ""
                } else {
                    " (context, not credited)"
                },
                status_words(f)
            );
            if !credited && !limits.context_evidence {
                cut.context_links += f.evidence.len();
                continue;
            }
            for (i, e) in f.evidence.iter().enumerate() {
                if i >= limits.evidence_per_entry {
                    cut.evidence_links += f.evidence.len() - i;
                    break;
                }
                let _ = writeln!(out, "    - {}", evidence_line(e));
            }
            for n in &f.notes {
                let _ = writeln!(out, "    - note: {}", inline_capped(n, NOTE_CHARS));
            }
        }
    }
    out.push('\n');
}

fn entries_are_several(report: &Report, id: &str) -> bool {
    report
        .practices_by_repository
        .iter()
        .filter(|f| f.id == id)
        .count()
        > 1
}

fn repo_label(f: &PracticeFinding) -> String {
    inline_capped(
        f.repository.as_deref().unwrap_or("scanned directory"),
        TITLE_CHARS,
    )
}

fn evidence_line(e: &Evidence) -> String {
    let place = match &e.url {
        Some(u) if u.chars().count() <= URL_CHARS && neutralise::url(u).is_some() => {
            let text = match (&e.path, e.line) {
                (Some(p), Some(l)) => format!("{} line {l}", truncate_chars(p, DETAIL_CHARS)),
                (Some(p), None) => truncate_chars(p, DETAIL_CHARS),
                (None, _) => short_url(u),
            };
            neutralise::link(&text, u)
        }
        _ => location(e),
    };
    if e.detail.trim().is_empty() {
        place
    } else {
        format!("{place}: {}", inline_capped(&e.detail, DETAIL_CHARS))
    }
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn pr_line(pr: &PullRequestSummary) -> String {
    let mut facts = vec![format!(
        "{} test and {} code files changed (+{} / +{} lines)",
        pr.test_files_changed, pr.code_files_changed, pr.test_lines_added, pr.code_lines_added
    )];
    if pr.new_tests + pr.new_parametrized + pr.new_fixtures > 0 {
        facts.push(format!(
            "{} new tests, {} parametrizations, {} fixtures",
            pr.new_tests, pr.new_parametrized, pr.new_fixtures
        ));
    }
    if pr.property_based || pr.new_property_tests > 0 {
        facts.push(format!(
            "property-based tests ({} new)",
            pr.new_property_tests
        ));
    }
    facts.push(
        match pr.checks_passed {
            Some(true) => "checks passed",
            Some(false) => "checks did not pass",
            None => "no checks seen",
        }
        .to_string(),
    );
    let title = pr
        .title
        .as_deref()
        .map(|t| format!(" “{}”", inline_capped(t, TITLE_CHARS)))
        .unwrap_or_default();
    format!(
        "{}{title} · {}: {}",
        link_or_text(&short_url(&pr.url), Some(&pr.url)),
        pr.attribution.as_str(),
        facts.join("; ")
    )
}

fn pr_details(out: &mut String, report: &Report, c: Criterion, limits: &Limits, cut: &mut Cut) {
    if !matches!(c, Criterion::Testing | Criterion::CiCd) {
        return;
    }
    let prs: Vec<&PullRequestSummary> = report
        .pull_requests
        .iter()
        .filter(|p| p.attribution == Attribution::Authored)
        .collect();
    if prs.is_empty() {
        return;
    }
    out.push_str("**Authored pull requests**\n\n");
    // Those that count towards the level first.
    let counted = relevant_prs(report, c);
    let mut ordered: Vec<&PullRequestSummary> = counted.clone();
    ordered.extend(
        prs.iter()
            .filter(|p| !counted.iter().any(|q| q.url == p.url)),
    );
    for (i, pr) in ordered.iter().enumerate() {
        if i >= limits.pull_requests {
            cut.pull_requests += ordered.len() - i;
            break;
        }
        let _ = writeln!(out, "- {}", pr_line(pr));
    }
    out.push('\n');
}

fn comment_value(c: &ReviewCommentSummary) -> (bool, bool, bool) {
    (
        c.useful == Some(true),
        c.led_to_change == Some(true),
        c.author_replied == Some(true),
    )
}

fn review_comment_line(c: &ReviewCommentSummary, limits: &Limits, cut: &mut Cut) -> String {
    let mut facts = Vec::new();
    facts.push(
        match c.useful {
            Some(true) => "useful",
            Some(false) => "not rated useful",
            None => "not judged (not in English)",
        }
        .to_string(),
    );
    if let Some(k) = c.signals.kind {
        facts.push(kind_name(k).to_string());
    }
    let s = &c.signals;
    for (flag, word) in [
        (s.references_code, "references code"),
        (s.has_rationale, "gives a rationale"),
        (s.is_actionable, "actionable"),
        (s.has_suggestion_block, "suggestion block"),
        (s.proposes_alternative, "proposes an alternative"),
    ] {
        if flag == Some(true) {
            facts.push(word.to_string());
        }
    }
    match c.led_to_change {
        Some(true) => facts.push("led to a change".into()),
        Some(false) => facts.push("no change followed".into()),
        None => {}
    }
    if c.author_replied == Some(true) {
        facts.push("the author replied".into());
    }
    if let Some(t) = s.tone {
        let word = match t {
            Tone::Empathetic => "empathetic",
            Tone::Neutral => "neutral",
            Tone::Harsh => "harsh",
        };
        facts.push(format!("tone {word} (context only)"));
    }
    let mut line = format!(
        "{} on {} · reviewed: {}",
        link_or_text("comment", Some(&c.url)),
        link_or_text(&short_url(&c.pull_request), Some(&c.pull_request)),
        facts.join(", ")
    );
    if let Some(x) = &c.excerpt {
        if limits.excerpts {
            let _ = write!(line, "<br>“{}”", inline_capped(x, EXCERPT_CHARS));
        } else {
            cut.excerpts += 1;
        }
    }
    if limits.excerpts && !c.why.is_empty() {
        let why: Vec<String> = c
            .why
            .iter()
            .map(|w| inline_capped(w, DETAIL_CHARS))
            .collect();
        let _ = write!(line, "<br><sub>why: {}</sub>", why.join("; "));
    }
    line
}

fn review_line(r: &ReviewSummary) -> String {
    let state = inline_capped(&r.state.to_lowercase().replace('_', " "), 40);
    format!(
        "{} on {} · reviewed: {state}, {}{}",
        link_or_text("review", Some(&r.url)),
        link_or_text(&short_url(&r.pull_request), Some(&r.pull_request)),
        plural(r.comment_count as usize, "comment"),
        if r.rubber_stamp {
            ", approval without a substantive comment"
        } else {
            ""
        }
    )
}

fn review_details(out: &mut String, report: &Report, limits: &Limits, cut: &mut Cut) {
    let mut comments: Vec<&ReviewCommentSummary> = report.review_comments.iter().collect();
    comments.sort_by_key(|c| std::cmp::Reverse(comment_value(c)));
    if !comments.is_empty() {
        out.push_str("**Review comments by the candidate** (most useful first)\n\n");
        for (i, c) in comments.iter().enumerate() {
            if i >= limits.comments {
                cut.comments += comments.len() - i;
                break;
            }
            let _ = writeln!(out, "- {}", review_comment_line(c, limits, cut));
        }
        let kinds: Vec<(CommentKind, usize)> = kinds_histogram(&report.review_comments);
        if !kinds.is_empty() {
            let parts: Vec<String> = kinds
                .iter()
                .map(|(k, n)| format!("{} {n}", kind_name(*k)))
                .collect();
            let _ = writeln!(out, "\nKinds: {}.", parts.join(", "));
        }
        out.push('\n');
    }
    if !report.reviews.is_empty() {
        out.push_str("**Reviews by the candidate**\n\n");
        let mut reviews: Vec<&ReviewSummary> = report.reviews.iter().collect();
        reviews.sort_by_key(|r| r.rubber_stamp);
        for (i, r) in reviews.iter().enumerate() {
            if i >= limits.reviews {
                cut.reviews += reviews.len() - i;
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
        for (i, p) in answered.iter().enumerate() {
            if i >= limits.pull_requests {
                cut.pull_requests += answered.len() - i;
                break;
            }
            let _ = writeln!(
                out,
                "- {} · authored: {} with commits or replies",
                link_or_text(&short_url(&p.url), Some(&p.url)),
                plural(p.review_responses as usize, "answer")
            );
        }
        out.push('\n');
    }
    if comments.is_empty() && report.reviews.is_empty() && answered.is_empty() {
        out.push_str("No reviews were linked.\n\n");
    }
}

fn kinds_histogram(comments: &[ReviewCommentSummary]) -> Vec<(CommentKind, usize)> {
    let mut counts: std::collections::BTreeMap<CommentKind, usize> = Default::default();
    for c in comments {
        if let Some(k) = c.signals.kind {
            *counts.entry(k).or_default() += 1;
        }
    }
    counts.into_iter().collect()
}

fn short_sha(sha: &str) -> String {
    inline(&sha.chars().take(12).collect::<String>())
}

fn sources(out: &mut String, report: &Report, limits: &Limits, cut: &mut Cut) {
    out.push_str("### Sources\n\n");
    if report.sources.is_empty() {
        out.push_str("No sources.\n\n");
        return;
    }
    out.push_str("| Source | Kind | Attribution | Commit |\n|---|---|---|---|\n");
    for (i, s) in report.sources.iter().enumerate() {
        if i >= limits.sources {
            cut.sources += report.sources.len() - i;
            break;
        }
        let row = match s {
            Source::PullRequest {
                url,
                attribution,
                title,
                commit,
            } => format!(
                "| {}{} | pull request | {}{} | {} |",
                link_or_text(&short_url(url), Some(url)),
                title
                    .as_deref()
                    .map(|t| format!(" “{}”", inline_capped(t, TITLE_CHARS)))
                    .unwrap_or_default(),
                attribution.as_str(),
                if attribution.is_credited() {
                    ""
                } else {
                    " (not credited)"
                },
                commit.as_deref().map(short_sha).unwrap_or_default()
            ),
            Source::Repository {
                url,
                attribution,
                from_template,
                commit,
            } => format!(
                "| {} | repository | {}{}{} | {} |",
                link_or_text(&short_url(url), Some(url)),
                attribution.as_str(),
                if *from_template {
                    ", generated from a template"
                } else {
                    ""
                },
                if *attribution == RepoAttribution::Unrelated {
                    " (not credited)"
                } else {
                    ""
                },
                commit.as_deref().map(short_sha).unwrap_or_default()
            ),
        };
        out.push_str(&row);
        out.push('\n');
    }
    out.push('\n');
}

fn warnings(out: &mut String, report: &Report, limits: &Limits, cut: &mut Cut) {
    if report.warnings.is_empty() {
        return;
    }
    out.push_str("### Warnings\n\n");
    for (i, w) in report.warnings.iter().enumerate() {
        if i >= limits.warnings {
            cut.warnings += report.warnings.len() - i;
            break;
        }
        let _ = writeln!(out, "- {}", inline_capped(w, WARNING_CHARS));
    }
    out.push('\n');
}

/// `owner/name at abc123` (or `owner/name pull 7 at …`, a head commit) for every commit the
/// report was computed at.
fn commits(report: &Report) -> Vec<String> {
    report
        .sources
        .iter()
        .filter_map(|s| match s {
            Source::Repository {
                url,
                commit: Some(sha),
                ..
            }
            | Source::PullRequest {
                url,
                commit: Some(sha),
                ..
            } => Some(format!(
                "{} at {}",
                inline_capped(&short_url(url), TITLE_CHARS),
                short_sha(sha)
            )),
            _ => None,
        })
        .collect()
}

fn footer(out: &mut String, report: &Report, ctx: &CommentContext) {
    let mut commits = commits(report);
    let total = commits.len();
    if total > 12 {
        commits.truncate(12);
        commits.push(format!("and {} more", total - 12));
    }
    let _ = writeln!(
        out,
        "---\n<sub>Evaluated {} · commits: {} · {} GitHub API requests · rubric {} · Folio {}</sub>\n\n{DISCLAIMER}",
        inline_capped(&ctx.evaluated_at, 40),
        if commits.is_empty() {
            "none".to_string()
        } else {
            commits.join(", ")
        },
        report.api_requests,
        inline_capped(&report.rubric_version, 40),
        inline_capped(&report.folio_version, 20),
    );
}

fn short_footer(out: &mut String, ctx: &CommentContext) {
    let _ = writeln!(
        out,
        "\n---\n<sub>{} · Folio {}</sub>\n\n{DISCLAIMER}",
        inline_capped(&ctx.evaluated_at, 40),
        crate::model::FOLIO_VERSION
    );
}

/// The submission cannot be evaluated as it stands: what to fix.
pub fn needs_info(problems: &[String], ctx: &CommentContext) -> String {
    let mut out = format!("{MARKER}\n## Folio needs more information\n\n");
    out.push_str("This submission could not be evaluated:\n\n");
    let shown = problems.len().min(50);
    for p in &problems[..shown] {
        let _ = writeln!(out, "- {}", inline_capped(p, WARNING_CHARS));
    }
    if problems.len() > shown {
        let _ = writeln!(out, "- and {} more problems", problems.len() - shown);
    }
    if problems.is_empty() {
        out.push_str("- the submission has no usable content\n");
    }
    out.push_str(
        "\nEdit the issue to fix this: Folio evaluates it again when the issue body changes. \
         The form asks for the candidate's GitHub login, pull request links (one per line) and \
         repository links.\n",
    );
    short_footer(&mut out, ctx);
    out
}

/// `.github/folio.yml` is broken: which key is wrong and what it may be.
pub fn config_error(message: &str, ctx: &CommentContext) -> String {
    let mut out = format!("{MARKER}\n## Folio configuration problem\n\n");
    let _ = writeln!(
        out,
        "The Folio configuration, `.github/folio.yml`, could not be used:\n\n> {}\n\n\
         Fix the file in this repository (or in the organisation's `.github` repository, if \
         that is where it lives). Until then Folio does not evaluate submissions here; other \
         repositories are not affected. Once the file is fixed, a maintainer can comment \
         `/folio refresh` to evaluate this submission.",
        inline_capped(message, 1000)
    );
    short_footer(&mut out, ctx);
    out
}

/// A job that died: that it failed, and how to retry.
pub fn evaluation_failed(reason: &str, ctx: &CommentContext) -> String {
    let mut out = format!("{MARKER}\n## Folio evaluation failed\n\n");
    let _ = writeln!(
        out,
        "The evaluation could not be completed:\n\n> {}\n\nThis is a failure on Folio's side or \
         GitHub's, not a finding about the candidate. To try again, a maintainer can comment \
         `/folio refresh` on this issue.",
        inline_capped(reason, 1000)
    );
    if let Some(u) = &ctx.issue_url {
        let _ = writeln!(out, "\nIssue: {}", link_or_text("this issue", Some(u)));
    }
    short_footer(&mut out, ctx);
    out
}

/// The author is not the candidate and lacks triage permission: a maintainer must confirm.
pub fn awaiting_confirmation(author: &str, candidate: &str, ctx: &CommentContext) -> String {
    let mut out = format!("{MARKER}\n## Waiting for a maintainer\n\n");
    let _ = writeln!(
        out,
        "This submission names **{}** as the candidate, but it was opened by **{}**, who is \
         not the candidate and has no triage permission on this repository. So that nobody can \
         have a stranger profiled or claim someone else's work, Folio waits: a maintainer \
         (triage permission or higher) must confirm by commenting `/folio refresh`.",
        inline_capped(candidate, 64),
        inline_capped(author, 64)
    );
    short_footer(&mut out, ctx);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> CommentContext {
        CommentContext {
            submitted_by: Some("alice".into()),
            evaluated_at: "2026-12-02T03:00:00Z".into(),
            issue_url: Some("https://github.com/acme/hiring/issues/5".into()),
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
    fn first_sentence_stops_at_the_first_full_stop() {
        assert_eq!(first_sentence("A b. C d."), "A b.");
        assert_eq!(first_sentence("A b"), "A b");
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
            assert!(!t.contains("@x") && !t.contains("@octocat") && !t.contains("#1"));
            assert!(!t.contains("</details>"));
            assert!(t.contains(DISCLAIMER));
        }
        assert!(texts[3].contains("/folio refresh"));
        assert!(texts[4].contains("/folio refresh"));
    }
}
