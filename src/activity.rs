//! Dated activity for the evidence comment's timeline, taken from the fetched snapshots. Only
//! dates, tags and links are kept: untrusted text such as release notes stays out.

use crate::model::{ReleaseSummary, rfc3339_secs};
use crate::snapshot::RepoSnapshot;

/// Releases per repository at most: the timeline counts by month, and a repository that
/// publishes nightly must not crowd out the rest of the report.
pub(crate) const MAX_RELEASES_PER_REPO: usize = 100;

/// Published (not draft) releases of one repository, newest first, with a known date.
pub(crate) fn owned_releases(full_name: &str, snapshot: &RepoSnapshot) -> Vec<ReleaseSummary> {
    let mut out: Vec<ReleaseSummary> = snapshot
        .releases
        .iter()
        .flatten()
        .filter(|r| !r.draft)
        .filter_map(|r| {
            Some(ReleaseSummary {
                repository: full_name.to_string(),
                tag: r.tag_name.chars().take(100).collect(),
                published_at: rfc3339_secs(r.published_at?)?,
                url: r.html_url.clone().filter(|u| u.len() <= 600),
            })
        })
        .collect();
    out.sort_by(|a, b| b.published_at.cmp(&a.published_at));
    out.truncate(MAX_RELEASES_PER_REPO);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Release;

    fn release(tag: &str, at: Option<i64>, draft: bool) -> Release {
        Release {
            tag_name: tag.into(),
            name: Some("notes @someone".into()),
            body: Some("body".into()),
            html_url: Some(format!("https://github.com/o/r/releases/tag/{tag}")),
            draft,
            prerelease: false,
            published_at: at,
            author_login: None,
            asset_names: Vec::new(),
        }
    }

    #[test]
    fn keeps_dated_published_releases_newest_first_and_bounded() {
        let mut releases = vec![
            release("v1.0.0", Some(1_700_000_000), false),
            release("v1.1.0", Some(1_750_000_000), false),
            release("draft", Some(1_760_000_000), true),
            release("undated", None, false),
        ];
        releases
            .extend((0..150).map(|i| release(&format!("n{i}"), Some(1_600_000_000 + i), false)));
        let snap = RepoSnapshot {
            releases: Some(releases),
            ..RepoSnapshot::default()
        };
        let got = owned_releases("o/r", &snap);
        assert_eq!(got.len(), MAX_RELEASES_PER_REPO);
        assert_eq!(got[0].tag, "v1.1.0");
        assert_eq!(got[0].published_at, "2025-06-15T15:06:40Z");
        assert_eq!(got[1].tag, "v1.0.0");
        assert!(got.iter().all(|r| r.tag != "draft" && r.tag != "undated"));
        assert!(owned_releases("o/r", &RepoSnapshot::default()).is_empty());
    }
}
