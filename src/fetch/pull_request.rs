//! One linked pull request: its page, files, reviews, review comments, commits and the check
//! runs of its head, each list capped and turned into what is kept as its pages arrive.

use super::runs::check_runs;
use super::{Fetcher, kept_text, ts};
use crate::github::GhError;
use crate::github::types::{PullCommit, PullFile, Review, ReviewComment, login_or_ghost};
use crate::snapshot::{PrCommit, PrFile, PrReview, PrReviewComment, PullRequestSnapshot};
use crate::submission::PrRef;

/// Items read per pull request, each list paginated by 100 (GitHub lists at most 3,000 files
/// and 250 commits of a pull request). The pipeline's request estimate counts their pages.
pub(crate) const MAX_PR_FILES: usize = 3000;
pub(crate) const MAX_PR_REVIEWS: usize = 1000;
pub(crate) const MAX_PR_REVIEW_COMMENTS: usize = 2000;
pub(crate) const MAX_PR_COMMITS: usize = 250;

fn to_u32(n: Option<u64>) -> Option<u32> {
    n.map(|x| x as u32)
}

fn pr_file(f: PullFile) -> PrFile {
    PrFile {
        filename: f.filename.unwrap_or_default(),
        status: f.status.unwrap_or_default(),
        additions: f.additions.unwrap_or(0) as u32,
        deletions: f.deletions.unwrap_or(0) as u32,
        patch: f.patch,
    }
}

fn pr_review(r: Review) -> PrReview {
    PrReview {
        id: r.id.unwrap_or(0),
        html_url: r.html_url.unwrap_or_default(),
        author: login_or_ghost(r.user.as_ref()),
        state: r.state.unwrap_or_default(),
        body: kept_text(r.body.unwrap_or_default()),
        commit_id: r.commit_id,
        submitted_at: r.submitted_at.as_deref().and_then(ts),
    }
}

fn pr_review_comment(c: ReviewComment) -> PrReviewComment {
    PrReviewComment {
        id: c.id.unwrap_or(0),
        html_url: c.html_url.unwrap_or_default(),
        author: login_or_ghost(c.user.as_ref()),
        body: kept_text(c.body.unwrap_or_default()),
        path: c.path,
        diff_hunk: c.diff_hunk.map(kept_text),
        line: to_u32(c.line),
        original_line: to_u32(c.original_line),
        commit_id: c.commit_id,
        original_commit_id: c.original_commit_id,
        in_reply_to_id: c.in_reply_to_id,
        pull_request_review_id: c.pull_request_review_id,
        created_at: c.created_at.as_deref().and_then(ts).unwrap_or(0),
    }
}

fn pr_commit(c: PullCommit) -> PrCommit {
    let commit = c.commit.unwrap_or_default();
    PrCommit {
        sha: c.sha.unwrap_or_default(),
        author_login: c.author.and_then(|a| a.login),
        message: kept_text(commit.message.unwrap_or_default()),
        committed_at: commit
            .committer
            .and_then(|p| p.date)
            .as_deref()
            .and_then(ts),
    }
}

impl Fetcher<'_> {
    /// `None` when the pull request is not public.
    pub(super) async fn pull_request(
        &self,
        p: &PrRef,
    ) -> Result<Option<PullRequestSnapshot>, GhError> {
        let (full, number) = (p.repo.full_name(), p.number);
        let pr = self.session.pull_request(&full, number).await?;
        if pr.base.repo.as_ref().is_none_or(|r| r.private) {
            return Ok(None);
        }
        let repo_name = pr
            .base
            .repo
            .as_ref()
            .map(|r| r.full_name.clone())
            .unwrap_or_else(|| full.clone());
        let s = self.session;
        let files = s.pull_request_files(&full, number, MAX_PR_FILES, pr_file);
        let reviews = s.pull_request_reviews(&full, number, MAX_PR_REVIEWS, pr_review);
        let comments = s.pull_request_review_comments(
            &full,
            number,
            MAX_PR_REVIEW_COMMENTS,
            pr_review_comment,
        );
        let commits = s.pull_request_commits(&full, number, MAX_PR_COMMITS, pr_commit);
        let checks = s.check_runs(&repo_name, &pr.head.sha);
        let (files, reviews, review_comments, commits, checks) =
            futures::join!(files, reviews, comments, commits, checks);
        let (files, reviews, review_comments, commits) =
            (files?, reviews?, review_comments?, commits?);
        let head_checks = match checks {
            Ok(c) => Some(check_runs(c)),
            Err(GhError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        Ok(Some(PullRequestSnapshot {
            repo: repo_name,
            number,
            html_url: pr.html_url,
            title: pr.title,
            author: pr.user.login,
            state: pr.state,
            merged: pr.merged.unwrap_or(false) || pr.merged_at.is_some(),
            head_sha: pr.head.sha,
            created_at: ts(&pr.created_at).unwrap_or(0),
            files,
            commits,
            reviews,
            review_comments,
            head_checks,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::MAX_KEPT_TEXT_BYTES;

    fn from<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    /// GitHub allows 64 K characters in a comment; what is kept of each text is 8 KiB.
    #[test]
    fn kept_texts_are_cut_to_8_kib() {
        let long = "ü".repeat(60_000);
        let comment = pr_review_comment(from(serde_json::json!({
            "id": 1, "body": long, "diff_hunk": long, "user": {"login": "r"}
        })));
        assert!(comment.body.len() <= MAX_KEPT_TEXT_BYTES && comment.body.ends_with('…'));
        assert!(
            comment
                .diff_hunk
                .is_some_and(|h| h.len() <= MAX_KEPT_TEXT_BYTES)
        );
        let review = pr_review(from(serde_json::json!({"body": long})));
        assert!(review.body.len() <= MAX_KEPT_TEXT_BYTES);
        let commit = pr_commit(from(serde_json::json!({"commit": {"message": long}})));
        assert!(commit.message.len() <= MAX_KEPT_TEXT_BYTES);
        let short = pr_review(from(serde_json::json!({"body": "Looks good."})));
        assert_eq!(short.body, "Looks good.");
        assert_eq!(short.author, "ghost");
    }
}
