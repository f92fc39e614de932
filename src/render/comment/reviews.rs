//! The candidate's review comments, quoted, dated, linked, with kind and outcome; then the
//! sources with their attribution and the warnings. Usefulness and tone stay in the JSON:
//! they are never printed next to the candidate's words.

use std::fmt::Write as _;

use super::{
    Cut, Limits, QUOTE_CHARS, TITLE_CHARS, WARNING_CHARS, link_or_text, links_for, short_sha,
    web_base,
};
use crate::model::{CommentKind, RepoAttribution, Report, ReviewCommentSummary, Source};
use crate::render::neutralise::{inline_capped, quote};
use crate::render::text::{iso_date, plural, repo_of, short_url};

/// The kind in words, when it is one a reader can use; `other` says nothing.
fn kind_words(c: &ReviewCommentSummary) -> Option<&'static str> {
    match c.signals.kind? {
        CommentKind::Other => None,
        k => Some(crate::report::kind_name(k)),
    }
}

/// One review comment: date, link, kind, outcome, and its words.
pub(super) fn comment_line(
    c: &ReviewCommentSummary,
    web: Option<&str>,
    limits: &Limits,
    cut: &mut Cut,
) -> String {
    let mut facts = Vec::new();
    if let Some(d) = c.created_at.as_deref().and_then(iso_date) {
        facts.push(d.to_string());
    }
    facts.push(link_or_text(&short_url(&c.pull_request), Some(&c.url)));
    facts.extend(kind_words(c).map(str::to_string));
    facts.extend(super::summary::outcome(c).into_iter().map(str::to_string));
    let mut line = facts.join(" · ");
    if let Some(x) = c.excerpt.as_deref().filter(|x| !x.trim().is_empty()) {
        if limits.quotes {
            let repo = repo_of(&c.pull_request);
            let _ = write!(
                line,
                "\n  > {}",
                quote(x, QUOTE_CHARS, links_for(web, repo.as_deref()))
            );
        } else {
            cut.quotes += 1;
        }
    }
    line
}

pub(super) fn review_comments(out: &mut String, report: &Report, limits: &Limits, cut: &mut Cut) {
    let all = super::summary::ranked_comments(report);
    if all.is_empty() {
        return;
    }
    let web = web_base(report);
    // Those quoted at a glance are not repeated: they are there with their links and dates.
    let above = super::summary::glance_quotes(report, limits);
    let comments: Vec<&ReviewCommentSummary> = all
        .into_iter()
        .filter(|c| !above.iter().any(|a| std::ptr::eq(*a, *c)))
        .collect();
    let intro = match above.len() {
        n if comments.is_empty() => {
            format!(
                "{} by the candidate, all quoted at a glance.",
                plural(n, "review comment")
            )
        }
        0 => plural(comments.len(), "review comment"),
        n => format!("{} more besides the {n} quoted at a glance", comments.len()),
    };
    let intro = if comments.len() > 1 {
        format!("{intro}, those that led to a change first.")
    } else {
        format!("{intro}.")
    };
    let _ = writeln!(out, "### Review comments by the candidate\n\n{intro}\n");
    if comments.is_empty() {
        return;
    }
    for (i, c) in comments.iter().enumerate() {
        if i >= limits.comments {
            cut.comments += comments.len() - i;
            let _ = writeln!(
                out,
                "- and {}: run `folio evaluate --format json` to see every one",
                plural(comments.len() - i, "more comment")
            );
            break;
        }
        let _ = writeln!(out, "- {}", comment_line(c, web.as_deref(), limits, cut));
    }
    out.push('\n');
}

/// The sources with their attribution and the commit each was read at. The candidate's pull
/// requests listed under Testing are not listed again: one line says where they are.
pub(super) fn sources(out: &mut String, report: &Report, limits: &Limits, cut: &mut Cut) {
    out.push_str("### Sources\n\n");
    if report.sources.is_empty() {
        out.push_str("No sources.\n\n");
        return;
    }
    let listed = super::details::listed_pull_requests(report, limits);
    let shown: Vec<&Source> = report
        .sources
        .iter()
        .filter(|s| !matches!(s, Source::PullRequest { url, .. } if listed.contains(&url.as_str())))
        .collect();
    let under_testing = report.sources.len() - shown.len();
    if under_testing > 0 {
        let _ = writeln!(
            out,
            "- {} by the candidate: under Testing",
            plural(under_testing, "pull request")
        );
    }
    let web = web_base(report);
    for (i, s) in shown.iter().enumerate() {
        if i >= limits.sources {
            cut.sources += shown.len() - i;
            let _ = writeln!(out, "- and {}", plural(shown.len() - i, "more source"));
            break;
        }
        let line = match s {
            Source::PullRequest {
                url,
                attribution,
                title,
                commit,
            } => {
                let repo = repo_of(url);
                let mut l = link_or_text(&short_url(url), Some(url));
                if let Some(t) = title {
                    let _ = write!(
                        l,
                        " “{}”",
                        quote(t, TITLE_CHARS, links_for(web.as_deref(), repo.as_deref()))
                    );
                }
                let _ = write!(
                    l,
                    ": {}{}",
                    attribution.as_str(),
                    if attribution.is_credited() {
                        ""
                    } else {
                        " (not credited)"
                    }
                );
                if let Some(sha) = commit {
                    let _ = write!(l, ", at {}", short_sha(sha));
                }
                l
            }
            Source::Repository {
                url,
                attribution,
                from_template,
                commit,
            } => {
                let mut l = format!(
                    "{}: {}",
                    link_or_text(&short_url(url), Some(url)),
                    attribution.as_str()
                );
                if *from_template {
                    l.push_str(", generated from a template");
                }
                if *attribution == RepoAttribution::Unrelated {
                    l.push_str(" (not credited)");
                }
                if let Some(sha) = commit {
                    let _ = write!(l, ", at {}", short_sha(sha));
                }
                l
            }
        };
        let _ = writeln!(out, "- {line}");
    }
    out.push('\n');
}

pub(super) fn warnings(out: &mut String, report: &Report, limits: &Limits, cut: &mut Cut) {
    if report.warnings.is_empty() {
        return;
    }
    out.push_str("### Warnings\n\n");
    for (i, w) in report.warnings.iter().enumerate() {
        if i >= limits.warnings {
            cut.warnings += report.warnings.len() - i;
            let _ = writeln!(
                out,
                "- and {}",
                plural(report.warnings.len() - i, "more warning")
            );
            break;
        }
        let _ = writeln!(out, "- {}", inline_capped(w, WARNING_CHARS));
    }
    out.push('\n');
}
