//! The candidate's terms as this service serves them at `GET /privacy`: `docs/privacy.md`,
//! preceded by the retention periods this operator configured, since the document can only
//! name the defaults.

use crate::config::RetentionSettings;
use crate::render::text::count_of;

const TERMS: &str = include_str!("../docs/privacy.md");

pub(crate) const CONTENT_TYPE: &str = "text/markdown; charset=utf-8";

/// The page: a short block with this service's periods, then the terms.
pub(crate) fn page(retention: &RetentionSettings) -> String {
    let days = |n: u32| count_of(usize::try_from(n).unwrap_or(usize::MAX), "day", "days");
    format!(
        "**This service's periods**, as its operator configured them:\n\n\
         - the submission, its evaluations, jobs and webhook deliveries: deleted \
         **{closed} after the issue is closed**;\n\
         - the GitHub answers and repository files cached for it: deleted after **{cache}**.\n\n\
         These take the place of the default periods named below.\n\n---\n\n{TERMS}",
        closed = days(retention.closed_issue_days),
        cache = days(retention.cache_days),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retention(closed_issue_days: u32, cache_days: u32) -> RetentionSettings {
        RetentionSettings {
            closed_issue_days,
            cache_days,
            purge_interval: std::time::Duration::from_secs(3600),
        }
    }

    #[test]
    fn the_configured_periods_come_before_the_terms() {
        let p = page(&retention(30, 1));
        let (head, rest) = p.split_once("\n---\n").expect("a rule after the periods");
        assert!(
            head.contains("**30 days after the issue is closed**"),
            "{head}"
        );
        assert!(head.contains("**1 day**"), "{head}");
        assert!(rest.contains("# Folio: the candidate's terms"));
        assert!(rest.contains("## How to withdraw"));
    }
}
