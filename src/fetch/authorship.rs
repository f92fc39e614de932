//! What a repository's history says about who wrote its practices: the contributors of a
//! repository the candidate owns and its first commit (a template's copy, or the candidate's
//! own start), and the candidate's commits to the evidence files. A lookup that fails leaves
//! its piece unknown; [`crate::attribution`] decides from what is known.

use std::collections::BTreeSet;

use futures::stream::{self, StreamExt};
use tracing::debug;

use super::{CONCURRENCY, Fetcher};
use crate::attribution::{
    CandidateCommit, CandidateHistory, Contributor, FirstCommitFiles,
    candidate_is_only_human_author,
};
use crate::github::GhError;
use crate::github::types::{CommitSummary, ContributorItem};

/// GitHub lists at most this many files of one commit on a page.
const COMMIT_FILES_LISTED: usize = 300;
/// One page of the contributors listing; a full page may leave people out.
const CONTRIBUTORS_PAGE: usize = 100;
/// One page of a commit listing.
const COMMITS_PAGE: u32 = 100;
/// Commits read per repository to attribute practices of a project the candidate contributed
/// to; older ones rarely add what is still there, and each costs a request.
pub(crate) const MAX_ATTRIBUTION_COMMITS: usize = 10;
/// Requests spent per owned repository with other human authors to find who added its
/// practices: its first commit, the template's files when it is one, the candidate's commits.
pub(crate) const OWNED_ATTRIBUTION_REQUESTS: usize = 5;

/// A repository's first commit, as the commit listing gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FirstCommit {
    pub sha: String,
    pub message: String,
}

/// What the contributors listing and the first commit of a repository the candidate owns say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OwnedHistory {
    /// `Some(true)` when the candidate is the only human author; `None` when the listing
    /// failed.
    pub only_human_author: Option<bool>,
    pub first_commit: Option<FirstCommit>,
    /// Requests made to find the first commit, out of the attribution allowance.
    pub requests: usize,
}

fn contributor(c: &ContributorItem) -> Contributor {
    match (c.kind.as_deref(), &c.login) {
        (Some("Bot"), Some(login)) => Contributor::Bot(login.clone()),
        (Some("Anonymous"), _) | (_, None) => Contributor::Anonymous,
        (_, Some(login)) => Contributor::User(login.clone()),
    }
}

/// Where the first commit is in the history from the head (1 = the head): the number of
/// commits, which the contributors' counts add up to when the page holds every contributor.
fn first_commit_position(listed: &[ContributorItem]) -> Option<u64> {
    if listed.len() >= CONTRIBUTORS_PAGE {
        return None;
    }
    let total: u64 = listed.iter().map(|c| c.contributions).sum();
    (total > 0).then_some(total)
}

/// The paths all of whose commits by the candidate were read with their patches.
fn complete_paths(
    listed: &[(String, Vec<String>, bool)],
    commits: &[CandidateCommit],
) -> BTreeSet<String> {
    listed
        .iter()
        .filter(|(_, _, full_page)| !full_page)
        .filter(|(path, shas, _)| {
            shas.iter().all(|sha| {
                commits.iter().any(|c| {
                    &c.sha == sha
                        && c.files
                            .iter()
                            .any(|(p, patch)| p == path && patch.is_some())
                })
            })
        })
        .map(|(path, _, _)| path.clone())
        .collect()
}

impl Fetcher<'_> {
    /// The contributors of a repository the candidate owns (one request, cached), and, when
    /// their counts give the history's length, its first commit (one more).
    pub(super) async fn owned_history(&self, full: &str, head: &str) -> OwnedHistory {
        let mut out = OwnedHistory::default();
        let listed = match self.session.contributors(full).await {
            Ok(listed) => listed,
            Err(e) => {
                debug!(repo = full, error = %e, "contributors not fetched");
                return out;
            }
        };
        let people: Vec<Contributor> = listed.iter().map(contributor).collect();
        out.only_human_author = Some(candidate_is_only_human_author(self.candidate, &people));
        let Some(position) = first_commit_position(&listed) else {
            return out;
        };
        out.requests = 1;
        match self.session.commit_at(full, head, position).await {
            Ok(Some(c)) if c.parents.is_empty() => {
                out.first_commit = Some(FirstCommit {
                    sha: c.sha,
                    message: c.commit.and_then(|g| g.message).unwrap_or_default(),
                });
            }
            // The counts lag behind the branch (GitHub caches them): not the first commit.
            Ok(_) => debug!(
                repo = full,
                position, "first commit not at the counted position"
            ),
            Err(e) => debug!(repo = full, error = %e, "first commit not fetched"),
        }
        out
    }

    /// The files of a repository's first commit with their patches (one request).
    pub(crate) async fn first_commit_files(
        &self,
        full: &str,
        sha: &str,
    ) -> Result<FirstCommitFiles, GhError> {
        let files = self
            .session
            .commit(full, sha)
            .await?
            .files
            .unwrap_or_default();
        Ok(FirstCommitFiles {
            complete: files.len() < COMMIT_FILES_LISTED,
            files: files
                .into_iter()
                .filter_map(|f| Some((f.filename?, f.patch)))
                .collect(),
        })
    }

    /// The candidate's commits that touched any of `paths`, with their patches, for
    /// [`crate::attribution`]: one listing per path, then one request per distinct commit,
    /// at most [`MAX_ATTRIBUTION_COMMITS`] of them (newest first).
    pub(crate) async fn candidate_commits(
        &self,
        full: &str,
        paths: &[String],
    ) -> Result<Vec<CandidateCommit>, GhError> {
        Ok(self
            .candidate_history(full, paths, MAX_ATTRIBUTION_COMMITS)
            .await?
            .commits)
    }

    /// As [`Self::candidate_commits`], reading at most `max_commits` commits, and saying for
    /// which paths every commit of the candidate was read.
    pub(crate) async fn candidate_history(
        &self,
        full: &str,
        paths: &[String],
        max_commits: usize,
    ) -> Result<CandidateHistory, GhError> {
        let lists: Vec<Result<Vec<CommitSummary>, GhError>> = stream::iter(paths.to_vec())
            .map(|p| async move {
                self.session
                    .commits_by(full, self.candidate, Some(&p), COMMITS_PAGE)
                    .await
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let mut listed: Vec<(String, Vec<String>, bool)> = Vec::new();
        let mut shas: Vec<String> = Vec::new();
        for (path, list) in paths.iter().zip(lists) {
            let list = list?;
            let full_page = list.len() >= COMMITS_PAGE as usize;
            let of_path: Vec<String> = list.into_iter().map(|c| c.sha).collect();
            for sha in &of_path {
                if !shas.contains(sha) {
                    shas.push(sha.clone());
                }
            }
            listed.push((path.clone(), of_path, full_page));
        }
        shas.truncate(max_commits);
        let details: Vec<Result<_, GhError>> = stream::iter(shas.clone())
            .map(|sha| async move { self.session.commit(full, &sha).await })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let mut commits = Vec::new();
        for d in details {
            let d = match d {
                Ok(d) => d,
                // Gone since it was listed (a force-push): nothing to attribute.
                Err(GhError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            commits.push(CandidateCommit {
                sha: d.sha,
                parents: d.parents.map_or(0, |p| p.len()),
                author_login: d.author.and_then(|a| a.login),
                files: d
                    .files
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|f| Some((f.filename?, f.patch)))
                    .collect(),
            });
        }
        Ok(CandidateHistory {
            complete_paths: complete_paths(&listed, &commits),
            commits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(login: Option<&str>, kind: &str, contributions: u64) -> ContributorItem {
        ContributorItem {
            login: login.map(str::to_string),
            kind: Some(kind.to_string()),
            contributions,
        }
    }

    #[test]
    fn contributors_are_people_bots_or_unlinked_e_mails() {
        assert_eq!(
            contributor(&item(Some("octocat"), "User", 3)),
            Contributor::User("octocat".into())
        );
        assert_eq!(
            contributor(&item(Some("dependabot[bot]"), "Bot", 3)),
            Contributor::Bot("dependabot[bot]".into())
        );
        assert_eq!(
            contributor(&item(None, "Anonymous", 1)),
            Contributor::Anonymous
        );
    }

    #[test]
    fn the_first_commit_is_at_the_sum_of_the_counts_of_a_page_that_holds_everyone() {
        let few = vec![
            item(Some("octocat"), "User", 30),
            item(Some("dependabot[bot]"), "Bot", 4),
            item(None, "Anonymous", 2),
        ];
        assert_eq!(first_commit_position(&few), Some(36));
        let many: Vec<ContributorItem> = (0..CONTRIBUTORS_PAGE)
            .map(|_| item(Some("x"), "User", 1))
            .collect();
        assert_eq!(first_commit_position(&many), None);
        assert_eq!(first_commit_position(&[]), None);
    }

    #[test]
    fn a_path_is_complete_when_every_listed_commit_was_read_with_its_patch() {
        let commit = |sha: &str, patch: Option<&str>| CandidateCommit {
            sha: sha.into(),
            parents: 1,
            author_login: Some("octocat".into()),
            files: vec![("ci.yml".into(), patch.map(str::to_string))],
        };
        let listed = vec![
            ("ci.yml".to_string(), vec!["a".to_string()], false),
            ("tox.ini".to_string(), vec![], false),
            ("big.yml".to_string(), vec![], true),
        ];
        let got = complete_paths(&listed, &[commit("a", Some("+x"))]);
        assert_eq!(
            got,
            BTreeSet::from(["ci.yml".to_string(), "tox.ini".to_string()])
        );
        // The commit was not read (over the bound), or GitHub left its patch out.
        assert!(!complete_paths(&listed, &[]).contains("ci.yml"));
        assert!(!complete_paths(&listed, &[commit("a", None)]).contains("ci.yml"));
    }
}
