//! What GitHub answers, as Folio reads it: only the fields Folio uses. Fields GitHub may omit
//! or send as `null` are `Option`, so that one odd item does not fail a whole list.

use serde::Deserialize;
use serde::de::IgnoredAny;

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub login: String,
}

/// A user GitHub may leave out (a deleted account is `null`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserRef {
    #[serde(default)]
    pub login: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Issue {
    #[serde(default)]
    pub body: Option<String>,
    pub user: User,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub html_url: Option<String>,
    /// Present when the "issue" is a pull request.
    #[serde(default)]
    pub pull_request: Option<IgnoredAny>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IssueComment {
    pub id: i64,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub user: Option<User>,
}

/// The reactions Folio gives a command comment: 👀 when it starts, 👍 when an unchanged
/// re-evaluation is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReactionContent {
    Eyes,
    PlusOne,
}

impl ReactionContent {
    /// GitHub's name for the reaction.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Eyes => "eyes",
            Self::PlusOne => "+1",
        }
    }
}

/// A reaction as GitHub answers it (201 when created, 200 when it was there already).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Reaction {
    pub id: i64,
    pub content: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CollaboratorPermission {
    #[serde(default)]
    pub permission: Option<String>,
    #[serde(default)]
    pub role_name: Option<String>,
}

/// A file from the contents API.
#[derive(Debug, Clone, Deserialize)]
pub struct FileContents {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub encoding: Option<String>,
}

impl FileContents {
    /// The file as UTF-8 text; `None` when it is not text or not decodable.
    pub fn text(self) -> Option<String> {
        use base64::Engine as _;
        let raw = self.content?;
        if self.encoding.as_deref() != Some("base64") {
            return Some(raw);
        }
        // GitHub wraps the base64 at 60 columns.
        let cleaned: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(cleaned.as_bytes())
            .ok()?;
        String::from_utf8(bytes).ok()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RepoName {
    pub full_name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Repository {
    pub full_name: String,
    pub html_url: String,
    pub owner: User,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub fork: bool,
    #[serde(default)]
    pub parent: Option<RepoName>,
    #[serde(default)]
    pub template_repository: Option<RepoName>,
    #[serde(default)]
    pub default_branch: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RefRepo {
    pub full_name: String,
    #[serde(default)]
    pub private: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GitRef {
    pub sha: String,
    #[serde(default)]
    pub repo: Option<RefRepo>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PullRequest {
    pub html_url: String,
    pub title: String,
    pub user: User,
    pub state: String,
    #[serde(default)]
    pub merged: Option<bool>,
    #[serde(default)]
    pub merged_at: Option<String>,
    pub created_at: String,
    pub head: GitRef,
    pub base: GitRef,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PullFile {
    #[serde(default)]
    pub filename: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub additions: Option<u64>,
    #[serde(default)]
    pub deletions: Option<u64>,
    #[serde(default)]
    pub patch: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Review {
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub user: Option<UserRef>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub commit_id: Option<String>,
    #[serde(default)]
    pub submitted_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReviewComment {
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub user: Option<UserRef>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub diff_hunk: Option<String>,
    #[serde(default)]
    pub line: Option<u64>,
    #[serde(default)]
    pub original_line: Option<u64>,
    #[serde(default)]
    pub commit_id: Option<String>,
    #[serde(default)]
    pub original_commit_id: Option<String>,
    #[serde(default)]
    pub in_reply_to_id: Option<u64>,
    #[serde(default)]
    pub pull_request_review_id: Option<u64>,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// The login of a user who may be absent; GitHub's own placeholder for a deleted one.
pub fn login_or_ghost(user: Option<&UserRef>) -> String {
    user.and_then(|u| u.login.clone())
        .unwrap_or_else(|| "ghost".to_string())
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct GitPerson {
    #[serde(default)]
    pub date: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct GitCommit {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub committer: Option<GitPerson>,
}

/// A commit in a pull request's list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PullCommit {
    #[serde(default)]
    pub sha: Option<String>,
    #[serde(default)]
    pub author: Option<UserRef>,
    #[serde(default)]
    pub commit: Option<GitCommit>,
}

/// A commit in a repository's list (only its SHA is used).
#[derive(Debug, Clone, Deserialize)]
pub struct CommitSummary {
    pub sha: String,
}

/// A commit in a repository's list, with its message and how many parents it has: enough to
/// recognise the repository's first commit and what made it.
#[derive(Debug, Clone, Deserialize)]
pub struct ListedCommit {
    pub sha: String,
    #[serde(default)]
    pub parents: Vec<IgnoredAny>,
    #[serde(default)]
    pub commit: Option<GitCommit>,
}

/// One entry of `GET /repos/{r}/contributors?anon=1`: an account (`User`, `Bot`), or an author
/// e-mail linked to no account (`Anonymous`, without a login).
#[derive(Debug, Clone, Deserialize)]
pub struct ContributorItem {
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Commits on the default branch.
    #[serde(default)]
    pub contributions: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CommitFile {
    #[serde(default)]
    pub filename: Option<String>,
    #[serde(default)]
    pub patch: Option<String>,
}

/// One commit with its changed files.
#[derive(Debug, Clone, Deserialize)]
pub struct Commit {
    pub sha: String,
    #[serde(default)]
    pub parents: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    pub author: Option<UserRef>,
    #[serde(default)]
    pub files: Option<Vec<CommitFile>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AppRef {
    #[serde(default)]
    pub slug: Option<String>,
}

/// Something GitHub names by its number only (a check suite).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IdRef {
    #[serde(default)]
    pub id: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CheckRun {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub head_sha: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub app: Option<AppRef>,
    /// The suite the run belongs to: an Actions run reports its jobs in one suite.
    #[serde(default)]
    pub check_suite: Option<IdRef>,
}

/// One page of a commit's check runs; `total_count` says how many there are in all.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CheckRuns {
    #[serde(default)]
    pub total_count: Option<u64>,
    #[serde(default)]
    pub check_runs: Vec<CheckRun>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ShaRef {
    #[serde(default)]
    pub sha: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Tag {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub commit: Option<ShaRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Asset {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Release {
    #[serde(default)]
    pub tag_name: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub draft: Option<bool>,
    #[serde(default)]
    pub prerelease: Option<bool>,
    #[serde(default)]
    pub published_at: Option<String>,
    #[serde(default)]
    pub author: Option<UserRef>,
    #[serde(default)]
    pub assets: Option<Vec<Asset>>,
}

/// A search result (only where it lives is used).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SearchItem {
    #[serde(default)]
    pub repository_url: Option<String>,
}

/// One page of search results. `complete` is false when GitHub says the results are
/// incomplete (it timed out) or when more matched than the page holds.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchResults {
    #[serde(default)]
    pub items: Vec<SearchItem>,
    #[serde(default)]
    pub total_count: Option<u64>,
    #[serde(default)]
    pub incomplete_results: bool,
}

impl SearchResults {
    pub fn complete(&self) -> bool {
        !self.incomplete_results
            && self
                .total_count
                .is_some_and(|n| n <= self.items.len() as u64)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct InstallationToken {
    pub token: String,
    #[serde(default)]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct App {
    pub slug: String,
}

/// One entry of the App's webhook delivery log (`hook-delivery-item`).
#[derive(Debug, Clone, Deserialize)]
pub struct HookDelivery {
    pub id: i64,
    pub guid: String,
    pub delivered_at: String,
    pub redelivery: bool,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub status_code: i64,
    #[serde(default)]
    pub event: String,
}

/// What the App Manifest conversion answers: the new App's identity and secrets.
#[derive(Clone, Deserialize)]
pub struct ManifestConversion {
    pub id: u64,
    #[serde(default)]
    pub slug: Option<String>,
    pub html_url: String,
    pub pem: String,
    pub webhook_secret: Option<String>,
}

// By hand, so that the key and the secret never reach a log line.
impl std::fmt::Debug for ManifestConversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManifestConversion")
            .field("id", &self.id)
            .field("slug", &self.slug)
            .field("html_url", &self.html_url)
            .field("pem", &"[redacted]")
            .field("webhook_secret", &"[redacted]")
            .finish()
    }
}

/// One page of `GET /repos/{r}/actions/runs`.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkflowRuns {
    #[serde(default)]
    pub workflow_runs: Vec<WorkflowRunItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkflowRunItem {
    pub id: u64,
    /// `.github/workflows/ci.yml`, sometimes with an `@ref` suffix.
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub head_branch: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub head_sha: Option<String>,
    /// The check suite the run's jobs are reported in, as check runs of `head_sha`.
    #[serde(default)]
    pub check_suite_id: Option<u64>,
}

/// One page of `GET /repos/{r}/actions/runs/{id}/jobs`.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkflowJobs {
    #[serde(default)]
    pub jobs: Vec<WorkflowJobItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkflowJobItem {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
}
