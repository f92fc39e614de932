//! Immutable snapshots of what was fetched (or read from disk). Analysis reads only these:
//! no I/O, no clock. The fetch layer (GitHub) and the local loader (`folio scan`) both produce
//! them, so the same detectors run on both.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A repository at one commit: the files the analyzers need, plus what the API knows about it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RepoSnapshot {
    /// `owner/name` on GitHub; `None` for a local directory.
    pub full_name: Option<String>,
    /// The commit the files were read at; permalinks are pinned to it.
    pub commit: Option<String>,
    /// Text files kept, keyed by their `/`-separated path relative to the repository root.
    pub files: BTreeMap<String, String>,
    /// Files that were present but not read, with the reason (too large, binary, symlink out of
    /// the tree). Detectors may mention them; they never count as evidence.
    pub skipped: Vec<SkippedFile>,
    /// Git tags, newest first, when known (a git checkout or the tags API). `None` = unknown.
    pub tags: Option<Vec<Tag>>,
    /// GitHub releases, when known (API only).
    pub releases: Option<Vec<Release>>,
    /// Facts that show a practice being exercised, only known from the GitHub API.
    pub activity: Option<RepoActivity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedFile {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub name: String,
    /// Unix seconds of the tagged commit, used to find the most recent tags.
    pub commit_time: Option<i64>,
    pub commit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub tag_name: String,
    pub name: Option<String>,
    pub body: Option<String>,
    pub html_url: Option<String>,
    pub draft: bool,
    pub prerelease: bool,
    /// Unix seconds.
    pub published_at: Option<i64>,
    /// Login of the account that created the release (`github-actions[bot]` for automation).
    pub author_login: Option<String>,
    pub asset_names: Vec<String>,
}

/// Exercise facts from the API. Each `None` means "not fetched", not "no".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoActivity {
    /// Merged pull requests opened by dependabot or renovate.
    pub dependency_bot_merged_prs: Option<u32>,
    /// Check runs on the default branch head: (name, conclusion).
    pub default_branch_checks: Option<Vec<CheckRun>>,
    /// The repository's default branch, as the API names it.
    #[serde(default)]
    pub default_branch: Option<String>,
    /// Recent completed workflow runs (Actions), newest first. `None` = not fetched or the
    /// lookup failed: unknown, never "did not run".
    #[serde(default)]
    pub workflow_runs: Option<Vec<WorkflowRun>>,
}

/// One workflow run, as the Actions runs listing gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRun {
    /// The workflow file, `.github/workflows/ci.yml` (the API's `@ref` suffix removed).
    pub workflow_path: String,
    /// push, pull_request, release, schedule, workflow_dispatch, ...
    pub event: String,
    pub head_branch: Option<String>,
    /// queued, in_progress, completed, ...
    pub status: String,
    /// success, failure, cancelled, skipped, timed_out, ... once completed.
    pub conclusion: Option<String>,
    pub html_url: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// The run's jobs (every matrix leg), when they were fetched.
    #[serde(default)]
    pub jobs: Option<Vec<WorkflowJob>>,
}

/// One job of a workflow run: a matrix leg is its own job, named `test (3.12)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowJob {
    pub name: String,
    pub conclusion: Option<String>,
    pub html_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRun {
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub app_slug: Option<String>,
}

/// A pull request with everything fetched for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PullRequestSnapshot {
    pub repo: String,
    pub number: u64,
    pub html_url: String,
    pub title: String,
    pub author: String,
    pub state: String,
    pub merged: bool,
    pub head_sha: String,
    /// Unix seconds.
    pub created_at: i64,
    pub files: Vec<PrFile>,
    pub commits: Vec<PrCommit>,
    pub reviews: Vec<PrReview>,
    pub review_comments: Vec<PrReviewComment>,
    pub head_checks: Option<Vec<CheckRun>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrFile {
    pub filename: String,
    /// added, modified, removed, renamed, ...
    pub status: String,
    pub additions: u32,
    pub deletions: u32,
    /// The unified diff; GitHub omits it for large or binary files.
    pub patch: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrCommit {
    pub sha: String,
    pub author_login: Option<String>,
    pub message: String,
    /// Unix seconds (committer date).
    pub committed_at: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrReview {
    pub id: u64,
    pub html_url: String,
    pub author: String,
    /// APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
    pub state: String,
    pub body: String,
    pub commit_id: Option<String>,
    /// Unix seconds.
    pub submitted_at: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrReviewComment {
    pub id: u64,
    pub html_url: String,
    pub author: String,
    pub body: String,
    pub path: Option<String>,
    pub diff_hunk: Option<String>,
    pub line: Option<u32>,
    pub original_line: Option<u32>,
    /// The commit the comment was made on; it differs from `original_commit_id` once outdated.
    pub commit_id: Option<String>,
    pub original_commit_id: Option<String>,
    pub in_reply_to_id: Option<u64>,
    pub pull_request_review_id: Option<u64>,
    /// Unix seconds.
    pub created_at: i64,
}
