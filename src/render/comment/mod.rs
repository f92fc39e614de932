//! The evidence comment and Folio's other issue comments. Every comment starts with
//! [`MARKER`]; every piece of untrusted text goes through [`neutralise`].
//!
//! The evidence comment is written for a busy hiring manager, top to bottom: header (who,
//! who submitted, the span of the linked work, what was looked at), at a glance, the criteria
//! table, a timeline of the linked work, one `<details>` per criterion, the candidate's review
//! comments, what Folio cannot see, questions to ask, sources, warnings, footer. When it would
//! exceed GitHub's limit, the details are shortened in stages, lowest-value evidence first,
//! and the comment says what was cut and how to see everything.

mod details;
mod notices;
mod reviews;
mod summary;
mod timeline;

use std::fmt::Write as _;

use crate::model::{Report, Source};
use crate::render::neutralise::{self, Links, inline, inline_capped};
use crate::render::text::plural;

pub use notices::{
    FORGOTTEN_MARKER, awaiting_confirmation, config_error, evaluation_failed, forgotten, needs_info,
};

/// The hidden marker by which Folio finds its own comment. Neutralised text can never contain
/// it (see [`neutralise::prose`] and [`neutralise::code`]).
pub const MARKER: &str = "<!-- folio:evidence v1 -->";

/// GitHub's limit on a comment body. Counted here in bytes, which is never fewer than
/// characters, so the limit holds however GitHub counts.
pub const MAX_COMMENT_LEN: usize = 65_536;

const DISCLAIMER: &str = "Evidence for reviewers, not a hiring decision.";
const JSON_HINT: &str = "`folio evaluate --format json`";
/// Where the candidate's terms live in Folio's repository, named when no published address is
/// known (a one-off `folio evaluate`).
const TERMS_DOC: &str = "docs/privacy.md";
const TERMS_TEXT: &str = "the candidate's terms";

/// Untrusted text lengths, in graphemes, before escaping.
const TITLE_CHARS: usize = 100;
const QUOTE_CHARS: usize = 200;
const DETAIL_CHARS: usize = 120;
const WARNING_CHARS: usize = 300;
const NOTE_CHARS: usize = 300;
const URL_CHARS: usize = 600;

/// What the comment needs besides the report. No clock: the time is passed in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommentContext {
    /// Login of whoever opened the tracking issue.
    pub submitted_by: Option<String>,
    /// RFC 3339 time shown in the footer: when the evidence last changed.
    pub evaluated_at: String,
    /// The tracking issue, when known.
    pub issue_url: Option<String>,
    /// Where the candidate's terms are published (the service's `/privacy` page or
    /// `FOLIO_PRIVACY_URL`); the footer links there.
    pub terms_url: Option<String>,
}

/// How much detail to show; each stage of trimming lowers these.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Whether evidence lines show what was found there (`ruff check`) besides the link.
    snippets: bool,
    evidence_per_entry: usize,
    comments: usize,
    pull_requests: usize,
    reviews: usize,
    quotes: bool,
    details: bool,
    sources: usize,
    warnings: usize,
}

const STAGES: [Limits; 5] = [
    Limits {
        snippets: true,
        evidence_per_entry: 3,
        comments: 25,
        pull_requests: 20,
        reviews: 10,
        quotes: true,
        details: true,
        sources: 60,
        warnings: 50,
    },
    // Review comments and reviews past the first few go first.
    Limits {
        snippets: false,
        evidence_per_entry: 2,
        comments: 15,
        pull_requests: 20,
        reviews: 5,
        quotes: true,
        details: true,
        sources: 40,
        warnings: 30,
    },
    Limits {
        snippets: false,
        evidence_per_entry: 1,
        comments: 10,
        pull_requests: 10,
        reviews: 3,
        quotes: false,
        details: true,
        sources: 30,
        warnings: 20,
    },
    Limits {
        snippets: false,
        evidence_per_entry: 0,
        comments: 0,
        pull_requests: 5,
        reviews: 0,
        quotes: false,
        details: true,
        sources: 20,
        warnings: 10,
    },
    Limits {
        snippets: false,
        evidence_per_entry: 0,
        comments: 0,
        pull_requests: 0,
        reviews: 0,
        quotes: false,
        details: false,
        sources: 10,
        warnings: 5,
    },
];

/// What a stage left out, for the note that says so.
#[derive(Debug, Default)]
struct Cut {
    comments: usize,
    pull_requests: usize,
    reviews: usize,
    quotes: usize,
    details: bool,
    sources: usize,
    warnings: usize,
}

impl Cut {
    fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |n: usize, one: &str, many: &str| {
            if n > 0 {
                out.push(crate::render::text::count_of(n, one, many));
            }
        };
        push(self.comments, "review comment", "review comments");
        push(self.pull_requests, "pull request", "pull requests");
        push(self.reviews, "review", "reviews");
        push(self.quotes, "quote", "quotes");
        push(self.sources, "source", "sources");
        push(self.warnings, "warning", "warnings");
        if self.details {
            out.push("the per-criterion details".to_string());
        }
        out
    }
}

/// What a reader takes in within a few minutes, in characters. Evidence snippets
/// and explanations of the practices give way to stay within it; evidence links only ever
/// give way to GitHub's limit.
pub const READING_LEN: usize = 12_000;

/// The evidence comment for a report, at most [`MAX_COMMENT_LEN`] bytes. Within
/// [`READING_LEN`], evidence shows what was found (`ruff check`) when there is room, and the
/// room left explains practices, the most telling of each criterion first. Past it, the
/// plainest rendering is used, trimmed in stages when it is over GitHub's limit.
pub fn comment(report: &Report, ctx: &CommentContext) -> String {
    let mut plainest = String::new();
    for snippets in [true, false] {
        let limits = Limits {
            snippets,
            ..STAGES[0]
        };
        let mut cut = Cut::default();
        plainest = render(report, ctx, &limits, &[], &mut cut);
        let len = plainest.chars().count();
        if len <= READING_LEN {
            return explained(report, ctx, &limits, plainest, READING_LEN - len);
        }
    }
    if plainest.len() <= MAX_COMMENT_LEN {
        return plainest;
    }
    for limits in &STAGES[1..] {
        let mut cut = Cut::default();
        let body = render(report, ctx, limits, &[], &mut cut);
        if body.len() <= MAX_COMMENT_LEN {
            return body;
        }
    }
    // Only reachable with absurd inputs (say, thousands of sources): keep the header and the
    // table, which are bounded, and point to the full output.
    let mut out = String::new();
    out.push_str(MARKER);
    out.push('\n');
    header(&mut out, report, ctx);
    summary::table(&mut out, report);
    let _ = writeln!(
        out,
        "> [!NOTE]\n> This report is too large for a GitHub comment: the details, sources and \
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

/// `plain` with as many practices explained as `room` characters allow, the most telling of
/// each criterion first; `plain` itself when none fits.
fn explained(
    report: &Report,
    ctx: &CommentContext,
    limits: &Limits,
    plain: String,
    room: usize,
) -> String {
    let mut left = room;
    let mut chosen: Vec<&str> = Vec::new();
    for info in details::explanation_order(report) {
        let cost = details::explanation(info).chars().count();
        if cost <= left {
            left -= cost;
            chosen.push(&info.id);
        }
    }
    if chosen.is_empty() {
        return plain;
    }
    let mut cut = Cut::default();
    let body = render(report, ctx, limits, &chosen, &mut cut);
    if body.chars().count() <= READING_LEN {
        body
    } else {
        plain
    }
}

/// The comment at `limits`, with the practices in `explain` saying why they matter.
fn render(
    report: &Report,
    ctx: &CommentContext,
    limits: &Limits,
    explain: &[&str],
    cut: &mut Cut,
) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str(MARKER);
    out.push('\n');
    header(&mut out, report, ctx);
    summary::at_a_glance(&mut out, report, limits);
    summary::table(&mut out, report);
    timeline::timeline(&mut out, report);

    let mut rest = String::new();
    details::all(&mut rest, report, limits, explain, cut);
    reviews::review_comments(&mut rest, report, limits, cut);
    summary::cannot_see(&mut rest);
    summary::questions(&mut rest, report);
    reviews::sources(&mut rest, report, limits, cut);
    reviews::warnings(&mut rest, report, limits, cut);
    let left_out = cut.describe();
    if !left_out.is_empty() {
        let _ = writeln!(
            out,
            "> [!NOTE]\n> Shortened to fit GitHub's comment size limit, lowest-value evidence \
             first. Left out: {}. Run {JSON_HINT} to see all of it.\n",
            left_out.join(", ")
        );
    }
    out.push_str(&rest);
    footer(&mut out, report, ctx);
    out
}

/// `https://github.com` from the first source, so that profile links work on GHES too.
fn web_base(report: &Report) -> Option<String> {
    report.sources.iter().find_map(|s| {
        let url = match s {
            Source::PullRequest { url, .. } | Source::Repository { url, .. } => url,
        };
        origin(url)
    })
}

/// `https://github.com` (with its port, if any) of a web address; `None` unless http(s).
fn origin(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return None;
    }
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(p) => format!("{}://{host}:{p}", parsed.scheme()),
        None => format!("{}://{host}", parsed.scheme()),
    })
}

/// Link context for text written in the repository of `url`.
fn links_for<'a>(web: Option<&'a str>, repo: Option<&'a str>) -> Links<'a> {
    Links { web, repo }
}

/// A login, linked to its profile, never as an `@mention`.
fn person(login: &str, base: Option<&str>) -> String {
    let safe_login = login
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '[' || c == ']');
    match base {
        Some(b) if safe_login && !login.is_empty() && login.len() <= 64 => {
            neutralise::link(login, &format!("{b}/{login}"))
        }
        _ => inline_capped(login, 64),
    }
}

fn link_or_text(text: &str, url: Option<&str>) -> String {
    match url {
        Some(u) if u.chars().count() <= URL_CHARS => neutralise::link(text, u),
        _ => inline(text),
    }
}

fn header(out: &mut String, report: &Report, ctx: &CommentContext) {
    let base = web_base(report);
    match &report.candidate {
        Some(c) => {
            let _ = writeln!(out, "## Folio evidence: {}\n", person(c, base.as_deref()));
        }
        None => out.push_str("## Folio evidence: local scan\n\n"),
    }
    let mut facts = Vec::new();
    match (&ctx.submitted_by, &report.candidate) {
        (Some(s), Some(c)) if s.eq_ignore_ascii_case(c) => {
            facts.push("submitted by the candidate".to_string());
        }
        (Some(s), _) => facts.push(format!("submitted by {}", person(s, base.as_deref()))),
        (None, _) => {}
    }
    if let Some((from, to)) = timeline::span(report) {
        facts.push(if from == to {
            format!("linked work from {from}")
        } else {
            format!("linked work from {from} to {to}")
        });
    }
    if !facts.is_empty() {
        let _ = writeln!(out, "{}\n", capitalised(&facts.join(" · ")));
    }

    let (mut prs, mut repos) = (Vec::new(), Vec::new());
    for s in &report.sources {
        match s {
            Source::PullRequest { attribution, .. } => prs.push(attribution.as_str()),
            Source::Repository { attribution, .. } => repos.push(attribution.as_str()),
        }
    }
    let _ = writeln!(
        out,
        "Looked at {}, {}, {} and {} by the candidate.\n",
        counted(&prs, "pull request"),
        counted(&repos, "repository"),
        plural(report.reviews.len(), "review"),
        plural(report.review_comments.len(), "review comment"),
    );
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `3 pull requests (2 authored, 1 reviewed)`.
fn counted(kinds: &[&str], what: &str) -> String {
    let mut s = plural(kinds.len(), what);
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for k in kinds {
        match seen.iter_mut().find(|(x, _)| x == k) {
            Some((_, n)) => *n += 1,
            None => seen.push((k, 1)),
        }
    }
    if !seen.is_empty() {
        let parts: Vec<String> = seen.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let _ = write!(s, " ({})", parts.join(", "));
    }
    s
}

fn short_sha(sha: &str) -> String {
    inline(&sha.chars().take(12).collect::<String>())
}

/// How many sources were read at a known commit: the repositories' are named under Sources,
/// the pull requests' heads are those of their links.
fn commits_evaluated(report: &Report) -> usize {
    report
        .sources
        .iter()
        .filter(|s| match s {
            Source::Repository { commit, .. } | Source::PullRequest { commit, .. } => {
                commit.is_some()
            }
        })
        .count()
}

fn footer(out: &mut String, report: &Report, ctx: &CommentContext) {
    let commits = match commits_evaluated(report) {
        0 => "no commit evaluated".to_string(),
        n => format!("{} evaluated", plural(n, "commit")),
    };
    let _ = writeln!(
        out,
        "---\n<sub>Evidence last changed {} · {commits} · {} · rubric {} · Folio {} · {}</sub>\n\n\
         {DISCLAIMER}",
        inline_capped(&ctx.evaluated_at, 40),
        crate::render::text::count_of(
            usize::try_from(report.api_requests).unwrap_or(usize::MAX),
            "GitHub API request",
            "GitHub API requests"
        ),
        inline_capped(&report.rubric_version, 40),
        inline_capped(&report.folio_version, 20),
        terms(ctx),
    );
}

fn terms(ctx: &CommentContext) -> String {
    match ctx.terms_url.as_deref() {
        Some(u) => link_or_text(TERMS_TEXT, Some(u)),
        None => format!("{TERMS_TEXT}: `{TERMS_DOC}` in Folio's repository"),
    }
}

#[cfg(test)]
mod tests;
