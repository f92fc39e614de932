//! The Markdown view of `folio scan`: every practice, grouped by criterion, each with its
//! evidence as `path:line`. File-derived text is neutralised.

use crate::analyze::practices::criterion_of;
use crate::model::{Criterion, PracticeStatus, Report};
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
