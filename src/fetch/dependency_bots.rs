//! Merged pull requests of dependency bots, counted per repository through the search API.

use std::collections::HashMap;

use tracing::debug;

use super::Fetcher;
use crate::submission::RepoRef;

/// Merged dependency-bot pull requests per repository (lower-case `owner/name`), and whether
/// every search answered in full.
pub(super) struct BotCounts {
    counts: HashMap<String, u32>,
    complete: bool,
}

impl BotCounts {
    /// A count found is a fact; zero is only a fact when every search answered in full,
    /// otherwise it is unknown.
    pub(super) fn of(&self, full_name: &str) -> Option<u32> {
        match self.counts.get(&full_name.to_ascii_lowercase()).copied() {
            Some(n) if n > 0 => Some(n),
            _ if self.complete => Some(0),
            _ => None,
        }
    }
}

impl Fetcher<'_> {
    /// Merged pull requests of dependency bots per repository, through the search API (one
    /// query per bot for all repositories). A failed or incomplete search leaves the counts
    /// it could not establish unknown; what another search found still counts.
    pub(super) async fn dependency_bot_prs(&self, repos: &[(RepoRef, bool)]) -> BotCounts {
        let mut out = BotCounts {
            counts: HashMap::new(),
            complete: true,
        };
        if repos.is_empty() {
            return out;
        }
        let scope: String = repos
            .iter()
            .map(|(r, _)| format!("repo:{}", r.full_name()))
            .collect::<Vec<_>>()
            .join(" ");
        for bot in ["app/dependabot", "app/renovate"] {
            let q = format!("is:pr is:merged author:{bot} {scope}");
            match self.session.search_issues(&q).await {
                Ok(page) => {
                    out.complete &= page.complete();
                    for item in page.items {
                        // repository_url: {api}/repos/{owner}/{name}
                        if let Some(url) = item.repository_url.as_deref() {
                            let parts: Vec<&str> = url.rsplitn(3, '/').collect();
                            if parts.len() >= 2 {
                                let key = format!("{}/{}", parts[1], parts[0]).to_ascii_lowercase();
                                *out.counts.entry(key).or_default() += 1;
                            }
                        }
                    }
                }
                Err(e) => {
                    debug!(error = %e, "dependency bot search failed");
                    out.complete = false;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_search_leaves_zero_unknown_but_keeps_what_was_found() {
        let counts = HashMap::from([("o/bot".to_string(), 3)]);
        let partial = BotCounts {
            counts: counts.clone(),
            complete: false,
        };
        assert_eq!(partial.of("O/Bot"), Some(3));
        assert_eq!(partial.of("o/none"), None);
        let full = BotCounts {
            counts,
            complete: true,
        };
        assert_eq!(full.of("o/none"), Some(0));
    }

    #[test]
    fn a_search_page_is_complete_only_when_it_holds_every_match() {
        let page = |v: serde_json::Value| {
            serde_json::from_value::<crate::github::types::SearchResults>(v)
                .unwrap()
                .complete()
        };
        let item = serde_json::json!({"repository_url": "https://api.github.com/repos/o/r"});
        assert!(page(
            serde_json::json!({"total_count": 1, "incomplete_results": false, "items": [item.clone()]})
        ));
        assert!(!page(
            serde_json::json!({"total_count": 150, "incomplete_results": false, "items": [item.clone()]})
        ));
        assert!(!page(
            serde_json::json!({"total_count": 1, "incomplete_results": true, "items": [item]})
        ));
        assert!(!page(serde_json::json!({"items": []})));
    }
}
