//! Folio's comments other than the evidence: needs information, a broken configuration, a
//! failed evaluation, waiting for a maintainer. Each starts with the marker and neutralises
//! whatever it quotes the way the evidence comment does: a handle becomes a profile link and
//! a reference an explicit link into the hiring repository, both read from the issue's address.

use std::fmt::Write as _;

use super::{CommentContext, DISCLAIMER, MARKER, WARNING_CHARS, origin, person, terms};
use crate::render::neutralise::{Links, inline_capped, quote};
use crate::render::text::repo_of;

/// GitHub's web address and the hiring repository, from the tracking issue's address.
struct IssueLinks {
    web: Option<String>,
    repo: Option<String>,
}

impl IssueLinks {
    fn of(ctx: &CommentContext) -> Self {
        let url = ctx.issue_url.as_deref();
        Self {
            web: url.and_then(origin),
            repo: url.and_then(repo_of),
        }
    }

    fn links(&self) -> Links<'_> {
        Links {
            web: self.web.as_deref(),
            repo: self.repo.as_deref(),
        }
    }
}

fn short_footer(out: &mut String, ctx: &CommentContext) {
    let _ = writeln!(
        out,
        "\n---\n<sub>Written {} · Folio {} · {}</sub>\n\n{DISCLAIMER}",
        inline_capped(&ctx.evaluated_at, 40),
        crate::model::FOLIO_VERSION,
        terms(ctx),
    );
}

/// The submission cannot be evaluated as it stands: what to fix.
pub fn needs_info(problems: &[String], ctx: &CommentContext) -> String {
    let links = IssueLinks::of(ctx);
    let mut out = format!("{MARKER}\n## Folio needs more information\n\n");
    out.push_str("This submission could not be evaluated:\n\n");
    let shown = problems.len().min(50);
    for p in &problems[..shown] {
        let _ = writeln!(out, "- {}", quote(p, WARNING_CHARS, links.links()));
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
    let links = IssueLinks::of(ctx);
    let mut out = format!("{MARKER}\n## Folio configuration problem\n\n");
    let _ = writeln!(
        out,
        "The Folio configuration, `.github/folio.yml`, could not be used:\n\n> {}\n\n\
         Fix the file in this repository (or in the organisation's `.github` repository, if \
         that is where it lives). Until then Folio does not evaluate submissions here; other \
         repositories are not affected. Once the file is fixed, a maintainer can comment \
         `/folio refresh` to evaluate this submission.",
        quote(message, 1000, links.links())
    );
    short_footer(&mut out, ctx);
    out
}

/// A job that died: that it failed, and how to retry.
pub fn evaluation_failed(reason: &str, ctx: &CommentContext) -> String {
    let links = IssueLinks::of(ctx);
    let mut out = format!("{MARKER}\n## Folio evaluation failed\n\n");
    let _ = writeln!(
        out,
        "The evaluation could not be completed:\n\n> {}\n\nThis is a failure on Folio's side or \
         GitHub's, not a finding about the candidate. To try again, a maintainer can comment \
         `/folio refresh` on this issue.",
        quote(reason, 1000, links.links())
    );
    short_footer(&mut out, ctx);
    out
}

/// The author is not the candidate and lacks triage permission: a maintainer must confirm.
/// Both are named by their profile links, without a ping.
pub fn awaiting_confirmation(author: &str, candidate: &str, ctx: &CommentContext) -> String {
    let links = IssueLinks::of(ctx);
    let mut out = format!("{MARKER}\n## Waiting for a maintainer\n\n");
    let _ = writeln!(
        out,
        "This submission names {} as the candidate, but it was opened by {}, who is not the \
         candidate and has no triage permission on this repository. So that nobody can have a \
         stranger profiled or claim someone else's work, Folio waits: a maintainer (triage \
         permission or higher) must confirm by commenting `/folio refresh`.",
        person(candidate, links.web.as_deref()),
        person(author, links.web.as_deref())
    );
    short_footer(&mut out, ctx);
    out
}

/// Marks Folio's answer to `/folio forget`. It is not the evidence marker, so the answer is
/// never taken for the evidence comment and edited into a new evaluation.
pub const FORGOTTEN_MARKER: &str = "<!-- folio:forgotten v1 -->";

/// The one answer to `/folio forget`: what was deleted, with the candidate named as a profile
/// link (no ping). `web` is GitHub's web address.
pub fn forgotten(candidate: Option<&str>, web: &str, comment_deleted: bool) -> String {
    let mut out = format!("{FORGOTTEN_MARKER}\n## Folio forgot this submission\n\n");
    let whose = match candidate {
        Some(c) => format!("about {}", person(c, Some(web))),
        None => "about the candidate".to_string(),
    };
    let _ = writeln!(
        out,
        "At this request Folio deleted what it stored {whose} for this issue: the submission, \
         its evaluations and its queued and finished jobs."
    );
    if comment_deleted {
        out.push_str("It also deleted its evidence comment.\n");
    }
    out.push_str(
        "\nCached public GitHub responses and repository snapshots are shared between \
         submissions and are not tied to one candidate; they expire on their own. Folio now \
         leaves this issue alone, edits and reopening included, until a maintainer comments \
         `/folio refresh`.\n",
    );
    out
}
