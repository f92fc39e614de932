//! The Markdown view of `folio scan`: every practice, grouped by criterion, each with its
//! evidence as `path:line`. File-derived text is neutralised.

use crate::analyze::practices::criterion_of;
use crate::model::{Criterion, Level, PracticeStatus, Report};
use crate::render::neutralise::inline;

fn status_word(s: PracticeStatus) -> &'static str {
    match s {
        PracticeStatus::Present => "present",
        PracticeStatus::Absent => "absent",
        PracticeStatus::CouldNotParse => "could not parse",
        PracticeStatus::NotAssessable => "not assessable",
    }
}

pub fn markdown(name: &str, report: &Report) -> String {
    let mut out = format!("# Folio scan: {}\n\n", inline(name));
    let present = report
        .practices
        .iter()
        .filter(|p| p.status == PracticeStatus::Present)
        .count();
    out.push_str(&format!(
        "{present} of {} practices present. Evidence for reviewers, not a hiring decision.\n",
        report.practices.len()
    ));
    for criterion in Criterion::ALL {
        let practices: Vec<_> = report
            .practices
            .iter()
            .filter(|p| criterion_of(&p.id) == Some(criterion))
            .collect();
        if practices.is_empty() {
            continue;
        }
        out.push_str(&format!("\n## {}\n\n", criterion.title()));
        for p in practices {
            out.push_str(&format!(
                "- **{}**: {}\n",
                inline(&p.id),
                status_word(p.status)
            ));
            for e in &p.evidence {
                let place = match (&e.path, e.line) {
                    (Some(path), Some(line)) => format!("{}:{line}", inline(path)),
                    (Some(path), None) => inline(path),
                    _ => e.url.as_deref().map(inline).unwrap_or_default(),
                };
                if place.is_empty() {
                    out.push_str(&format!("  - {}\n", inline(&e.detail)));
                } else {
                    out.push_str(&format!("  - {place}: {}\n", inline(&e.detail)));
                }
            }
            for n in &p.notes {
                out.push_str(&format!("  - note: {}\n", inline(n)));
            }
        }
    }
    if !report.warnings.is_empty() {
        out.push_str("\n## Warnings\n\n");
        for w in &report.warnings {
            out.push_str(&format!("- {}\n", inline(w)));
        }
    }
    out
}

/// Untrusted text for a terminal: control characters (escape sequences included) and the
/// source's invisible or bidi characters shown as `\u{..}`, cut to `max` characters.
fn plain(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() || crate::render::neutralise::is_invisible_or_bidi(c) {
            out.push_str(&format!("\\u{{{:04X}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// The first sentence of a `because`, without the level it restates.
fn reason(because: &str) -> String {
    let first = because.split(". ").next().unwrap_or_default();
    let first = first.trim_end_matches('.');
    for prefix in ["Strong because ", "Some because "] {
        if let Some(rest) = first.strip_prefix(prefix) {
            let mut chars = rest.chars();
            return chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
        }
    }
    first.to_string()
}

fn level_word(l: Level) -> &'static str {
    match l {
        Level::Strong => "strong",
        Level::Some => "some",
        Level::None => "no evidence found",
        Level::NotAssessed => "not assessed",
    }
}

/// Plain text for a person at a terminal. `preview` is the report built as if the scanned
/// directory were the candidate's own repository, so its levels are a preview of what the
/// linked repository alone would earn.
pub fn text(name: &str, preview: &Report) -> String {
    let mut out = format!("Folio scan: {}\n", plain(name, 200));
    out.push_str(
        "Levels below are a preview: what this directory would earn as the candidate's own \
         work, from its files alone (no pull requests, reviews or CI runs). Evidence for \
         reviewers, not a hiring decision.\n",
    );
    for c in &preview.criteria {
        out.push_str(&format!(
            "\n{}: {}\n  {}.\n",
            c.id.title(),
            level_word(c.level),
            // The first sentence says why in words; the rest is rubric arithmetic by id.
            plain(&reason(&c.because), 600)
        ));
        let practices: Vec<_> = preview
            .practices
            .iter()
            .filter(|p| criterion_of(&p.id) == Some(c.id))
            .collect();
        let mut missing: Vec<&str> = Vec::new();
        for p in practices {
            let name = crate::catalogue::name_of(&p.id);
            if p.status == PracticeStatus::Absent && p.evidence.is_empty() {
                missing.push(name);
                continue;
            }
            out.push_str(&format!(
                "  - {}: {}\n",
                plain(name, 100),
                status_word(p.status)
            ));
            for e in p.evidence.iter().take(5) {
                let place = match (&e.path, e.line) {
                    (Some(path), Some(line)) => format!("{}:{line}", plain(path, 200)),
                    (Some(path), None) => plain(path, 200),
                    _ => e.url.as_deref().map(|u| plain(u, 200)).unwrap_or_default(),
                };
                let detail = plain(e.detail.trim(), 120);
                out.push_str(&match (place.is_empty(), detail.is_empty()) {
                    (true, _) => format!("      {detail}\n"),
                    (false, true) => format!("      {place}\n"),
                    (false, false) => format!("      {place}  {detail}\n"),
                });
            }
            if p.evidence.len() > 5 {
                out.push_str(&format!("      and {} more\n", p.evidence.len() - 5));
            }
            for n in p.notes.iter().take(3) {
                out.push_str(&format!("      note: {}\n", plain(n, 300)));
            }
        }
        if !missing.is_empty() {
            out.push_str(&format!("  Not found: {}\n", missing.join(", ")));
        }
    }
    if !preview.warnings.is_empty() {
        out.push_str("\nWarnings\n");
        for w in preview.warnings.iter().take(50) {
            out.push_str(&format!("  - {}\n", plain(w, 300)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Evidence, PracticeFinding};

    #[test]
    fn groups_by_criterion_and_escapes() {
        let mut f = PracticeFinding::new("lint", PracticeStatus::Present);
        f.evidence.push(Evidence {
            url: None,
            path: Some(".github/workflows/ci.yml".into()),
            line: Some(12),
            detail: "ruff check @octocat <b>".into(),
        });
        let report = Report {
            folio_version: "0".into(),
            candidate: None,
            sources: vec![],
            practices: vec![f, PracticeFinding::new("changelog", PracticeStatus::Absent)],
            pull_requests: vec![],
            reviews: vec![],
            review_comments: vec![],
            criteria: vec![],
            warnings: vec![],
            api_requests: 0,
            rubric_version: String::new(),
            practices_by_repository: Vec::new(),
            releases: Vec::new(),
        };
        let md = markdown("repo", &report);
        assert!(md.contains("## Static checks"));
        assert!(md.contains(".github/workflows/ci.yml:12"));
        assert!(md.contains("`@octocat`"), "a handle is shown inert: {md}");
        assert!(!md.contains("<b>"));
        assert!(md.find("## Static checks") < md.find("## Release engineering"));
    }
}
