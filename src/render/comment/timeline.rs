//! The picture: a mermaid timeline of the linked work by month. Only months, counts and fixed
//! words go into it; no untrusted text ever reaches mermaid.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::{Attribution, Report};
use crate::render::text::{iso_month, plural};

/// Months shown at most: the most recent ones with activity.
const MAX_MONTHS: usize = 24;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Month {
    pub pull_requests: usize,
    pub reviews: usize,
    pub review_comments: usize,
    pub releases: usize,
}

/// Activity by month (`2025-06`), oldest first.
pub(super) fn by_month(report: &Report) -> BTreeMap<String, Month> {
    let mut months: BTreeMap<String, Month> = BTreeMap::new();
    let mut add = |at: Option<&str>, f: fn(&mut Month)| {
        if let Some(m) = at.and_then(iso_month) {
            f(months.entry(m.to_string()).or_default());
        }
    };
    for p in &report.pull_requests {
        if p.attribution == Attribution::Authored {
            add(p.opened_at.as_deref(), |m| m.pull_requests += 1);
        }
    }
    for r in &report.reviews {
        add(r.submitted_at.as_deref(), |m| m.reviews += 1);
    }
    for c in &report.review_comments {
        add(c.created_at.as_deref(), |m| m.review_comments += 1);
    }
    for r in &report.releases {
        add(Some(&r.published_at), |m| m.releases += 1);
    }
    months
}

/// The first and last month with dated activity.
pub(super) fn span(report: &Report) -> Option<(String, String)> {
    let months = by_month(report);
    let first = months.keys().next()?.clone();
    let last = months.keys().next_back()?.clone();
    Some((first, last))
}

fn words(m: &Month) -> Vec<String> {
    let mut out = Vec::new();
    if m.pull_requests > 0 {
        out.push(format!(
            "{} authored",
            plural(m.pull_requests, "pull request")
        ));
    }
    if m.reviews > 0 {
        out.push(plural(m.reviews, "review"));
    }
    if m.releases > 0 {
        out.push(plural(m.releases, "release"));
    }
    out
}

/// The chart shows pull requests authored, reviews written and releases; review comments date
/// the span of the work in the header, and are listed with their dates further down.
pub(super) fn timeline(out: &mut String, report: &Report) {
    let months: BTreeMap<String, Month> = by_month(report)
        .into_iter()
        .filter(|(_, m)| !words(m).is_empty())
        .collect();
    if months.is_empty() {
        return;
    }
    let skipped = months.len().saturating_sub(MAX_MONTHS);
    out.push_str("```mermaid\ntimeline\n    title Linked work by month\n");
    for (month, m) in months.iter().skip(skipped) {
        let _ = writeln!(out, "    {month} : {}", words(m).join(" : "));
    }
    out.push_str("```\n\n");
    if skipped > 0 {
        let _ = writeln!(
            out,
            "Earlier activity, in {}, is left out of the picture.\n",
            plural(skipped, "further month")
        );
    }
}
