//! How many requests an evaluation may make, from the caps it asks for: the job waits for the
//! rate limit's reset rather than starting and running the budget dry half-way.

use std::collections::HashSet;

use crate::fetch::OWNED_ATTRIBUTION_REQUESTS;
use crate::submission::ParsedSubmission;

/// Pages of a list of at most `cap` items, 100 a page.
fn pages(cap: usize) -> u64 {
    cap.div_ceil(100) as u64
}

/// The most requests one pull request costs: the pull request, every page of its files,
/// reviews, review comments and commits up to the caps [`crate::fetch`] asks for, and its
/// check runs.
pub(crate) fn requests_per_pull_request() -> u64 {
    use crate::fetch::{MAX_PR_COMMITS, MAX_PR_FILES, MAX_PR_REVIEW_COMMENTS, MAX_PR_REVIEWS};
    1 + pages(MAX_PR_FILES)
        + pages(MAX_PR_REVIEWS)
        + pages(MAX_PR_REVIEW_COMMENTS)
        + pages(MAX_PR_COMMITS)
        + 1
}

/// The most requests one repository costs: metadata, the default branch's check runs and
/// head, the candidate's commits, the tarball, tags and releases (one page each), the
/// workflow runs and at most [`crate::fetch::MAX_JOB_REQUESTS`] job listings, and reading
/// history for attribution: in a project the candidate contributed to, a list per file and
/// then each commit; in one they own, the contributors listing and at most
/// [`OWNED_ATTRIBUTION_REQUESTS`] more.
pub(crate) fn requests_per_repository() -> u64 {
    let contributed =
        crate::attribution::MAX_FILES_PER_REPO + crate::fetch::MAX_ATTRIBUTION_COMMITS;
    let owned = 1 + OWNED_ATTRIBUTION_REQUESTS;
    4 + 1 + 2 + 1 + crate::fetch::MAX_JOB_REQUESTS as u64 + contributed.max(owned) as u64
}

/// An upper bound on the requests an evaluation makes: per pull request and per repository
/// (the repository of every pull request is read too) as above, and 8 for the issue,
/// configuration, searches and publishing.
pub(crate) fn request_estimate(parsed: &ParsedSubmission) -> u64 {
    let mut repos: HashSet<String> = parsed
        .repositories
        .iter()
        .map(|r| r.full_name().to_ascii_lowercase())
        .collect();
    repos.extend(
        parsed
            .pull_requests
            .iter()
            .map(|p| p.repo.full_name().to_ascii_lowercase()),
    );
    requests_per_pull_request() * parsed.pull_requests.len() as u64
        + requests_per_repository() * repos.len() as u64
        + 8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The figures of the closing note: a pull request read to its caps is 65 requests, not
    /// the 6 of a small one, and a repository 32.
    #[test]
    fn the_estimate_counts_every_page_up_to_the_caps() {
        assert_eq!(requests_per_pull_request(), 1 + 30 + 10 + 20 + 3 + 1);
        // A contributed project's history (6 files listed, 10 commits read) costs more than
        // an owned repository's (contributors, then 5).
        assert_eq!(requests_per_repository(), 4 + 1 + 2 + 1 + 8 + 6 + 10);
        let repo = |name: &str| crate::submission::RepoRef {
            owner: "o".into(),
            name: name.into(),
        };
        let pr = |repo_name: &str, number: u64| crate::submission::PrRef {
            repo: repo(repo_name),
            number,
        };
        let parsed = ParsedSubmission {
            repositories: vec![repo("a"), repo("b")],
            // Two pull requests in `a` and one in `c`: three repositories in all.
            pull_requests: vec![pr("a", 1), pr("A", 2), pr("c", 3)],
            ..ParsedSubmission::default()
        };
        assert_eq!(request_estimate(&parsed), 3 * 65 + 3 * 32 + 8);
        assert_eq!(request_estimate(&ParsedSubmission::default()), 8);
    }
}
