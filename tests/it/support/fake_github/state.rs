//! GitHub as state: everything the fake knows, behind one mutex. Handlers and builders lock
//! it briefly and never across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::webhooks::Prepared;
use super::{Fault, Logged, Matcher, Permission};

/// Seconds since the Unix epoch, the unit every timestamp in the state uses.
pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Parses GitHub's timestamp format (`2024-01-02T03:04:05Z`); tests use it in builders.
pub fn parse_time(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp())
}

/// A 40-hex id derived from its inputs, so that the same story gives the same SHAs in every run
/// (snapshot tests downstream depend on that).
pub fn hex40(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())[..40].to_string()
}

pub fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

#[derive(Debug, Clone)]
pub struct App {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub owner: String,
    pub client_id: String,
    pub webhook_secret: String,
}

impl App {
    pub fn bot_login(&self) -> String {
        format!("{}[bot]", self.slug)
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub login: String,
    pub id: u64,
    /// `User`, `Organization` or `Bot`, as in GitHub's `type` field.
    pub kind: String,
    pub name: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    All,
    Selected(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Installation {
    pub id: u64,
    pub account: String,
    pub selection: Selection,
    pub suspended: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub installation_id: u64,
    pub expires_at: i64,
    /// Repository keys a repo-scoped token was limited to at minting.
    pub repos: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub filename: String,
    /// `added`, `modified`, `removed` or `renamed`.
    pub status: String,
    pub additions: u64,
    pub deletions: u64,
    pub patch: Option<String>,
    pub blob_sha: String,
    pub previous_filename: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Commit {
    pub sha: String,
    pub parents: Vec<String>,
    pub author_login: Option<String>,
    pub author_name: String,
    pub author_email: String,
    pub committer_login: Option<String>,
    pub message: String,
    pub date: i64,
    /// The whole tree at this commit: path → bytes.
    pub tree: BTreeMap<String, Vec<u8>>,
    pub files: Vec<FileChange>,
}

#[derive(Debug, Clone)]
pub struct TagRef {
    pub name: String,
    pub sha: String,
}

#[derive(Debug, Clone)]
pub struct Asset {
    pub id: u64,
    pub name: String,
    pub content_type: String,
    pub size: u64,
}

#[derive(Debug, Clone)]
pub struct Release {
    pub id: u64,
    pub tag_name: String,
    pub name: Option<String>,
    pub body: Option<String>,
    pub author: String,
    pub draft: bool,
    pub prerelease: bool,
    pub created_at: i64,
    pub assets: Vec<Asset>,
}

#[derive(Debug, Clone)]
pub struct CheckRun {
    pub id: u64,
    pub head_sha: String,
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub app_slug: String,
    pub completed_at: i64,
    /// The check suite of an Actions run's jobs; `None` for a check run added on its own.
    pub check_suite_id: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Review {
    pub id: u64,
    pub user: String,
    pub body: String,
    pub state: String,
    pub commit_id: String,
    pub submitted_at: i64,
}

#[derive(Debug, Clone)]
pub struct ReviewComment {
    pub id: u64,
    pub review_id: Option<u64>,
    pub user: String,
    pub body: String,
    pub path: String,
    pub diff_hunk: String,
    pub line: Option<u64>,
    pub original_line: Option<u64>,
    pub start_line: Option<u64>,
    pub side: String,
    pub commit_id: String,
    pub original_commit_id: String,
    pub in_reply_to_id: Option<u64>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Pull {
    pub number: u64,
    pub id: u64,
    pub title: String,
    pub body: Option<String>,
    pub author: String,
    pub state: String,
    pub merged: bool,
    pub merged_by: Option<String>,
    pub draft: bool,
    pub base_ref: String,
    pub head_ref: String,
    /// Key of the repository the head branch lives in (a fork, or the base repository).
    pub head_repo: String,
    /// SHAs of the pull request's commits, oldest first; the commits live in the base repo.
    pub commits: Vec<String>,
    /// Files set explicitly; when empty, the files are those of the commits.
    pub files: Vec<FileChange>,
    pub reviews: Vec<Review>,
    pub review_comments: Vec<ReviewComment>,
    pub labels: Vec<String>,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub number: u64,
    pub id: u64,
    pub title: String,
    pub body: Option<String>,
    pub author: String,
    pub state: String,
    pub state_reason: Option<String>,
    pub labels: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct IssueComment {
    pub id: u64,
    pub issue_number: u64,
    pub user: String,
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub via_app: bool,
}

/// A reaction on an issue comment (`+1`, `eyes`, ...), by one user.
#[derive(Debug, Clone)]
pub struct CommentReaction {
    pub id: u64,
    pub comment_id: u64,
    pub user: String,
    pub content: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct Label {
    pub id: u64,
    pub name: String,
    pub color: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub private: bool,
    pub description: Option<String>,
    pub fork_parent: Option<String>,
    pub is_template: bool,
    pub template_repository: Option<String>,
    pub archived: bool,
    pub default_branch: String,
    pub created_at: i64,
    /// Every commit in the repository (default branch history and pull request commits).
    pub commits: Vec<Commit>,
    /// Branch name → head SHA.
    pub branches: BTreeMap<String, String>,
    pub tags: Vec<TagRef>,
    pub releases: Vec<Release>,
    pub pulls: BTreeMap<u64, Pull>,
    pub issues: BTreeMap<u64, Issue>,
    pub issue_comments: Vec<IssueComment>,
    /// Reactions on issue comments, oldest first.
    pub comment_reactions: Vec<CommentReaction>,
    pub collaborators: BTreeMap<String, (String, Permission)>,
    pub check_runs: Vec<CheckRun>,
    pub workflow_runs: Vec<WorkflowRun>,
    pub labels: BTreeMap<String, Label>,
}

/// One Actions workflow run with its jobs (a matrix leg is its own job).
#[derive(Debug, Clone)]
pub struct WorkflowRun {
    pub id: u64,
    pub path: String,
    pub event: String,
    pub head_branch: String,
    pub head_sha: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub created_at: i64,
    /// The check suite its jobs are reported in, as check runs of `head_sha`.
    pub check_suite_id: u64,
    /// (id, name, conclusion)
    pub jobs: Vec<(u64, String, Option<String>)>,
}

impl Repo {
    fn new(id: u64, owner: &str, name: &str) -> Self {
        Self {
            id,
            owner: owner.to_string(),
            name: name.to_string(),
            private: false,
            description: None,
            fork_parent: None,
            is_template: false,
            template_repository: None,
            archived: false,
            default_branch: "main".to_string(),
            created_at: STORY_START,
            commits: Vec::new(),
            branches: BTreeMap::new(),
            tags: Vec::new(),
            releases: Vec::new(),
            pulls: BTreeMap::new(),
            issues: BTreeMap::new(),
            issue_comments: Vec::new(),
            comment_reactions: Vec::new(),
            collaborators: BTreeMap::new(),
            check_runs: Vec::new(),
            workflow_runs: Vec::new(),
            labels: BTreeMap::new(),
        }
    }

    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    pub fn head_sha(&self) -> Option<String> {
        self.branches.get(&self.default_branch).cloned()
    }

    pub fn commit(&self, sha: &str) -> Option<&Commit> {
        self.commits.iter().find(|c| c.sha == sha)
    }

    /// Resolves a ref as GitHub does for `commits/{ref}`, `tarball/{ref}` and `?ref=`:
    /// a branch, a tag (optionally `refs/heads/` / `refs/tags/`), a full SHA or a unique prefix
    /// of at least 7 hex digits.
    pub fn resolve(&self, reference: &str) -> Option<String> {
        let reference = reference.trim_start_matches("refs/");
        let bare = reference
            .strip_prefix("heads/")
            .or_else(|| reference.strip_prefix("tags/"))
            .unwrap_or(reference);
        if let Some(sha) = self.branches.get(bare) {
            return Some(sha.clone());
        }
        if let Some(tag) = self.tags.iter().find(|t| t.name == bare) {
            return Some(tag.sha.clone());
        }
        if bare.len() >= 7 && bare.chars().all(|c| c.is_ascii_hexdigit()) {
            let lower = bare.to_ascii_lowercase();
            let mut hits = self.commits.iter().filter(|c| c.sha.starts_with(&lower));
            if let (Some(first), None) = (hits.next(), hits.next()) {
                return Some(first.sha.clone());
            }
        }
        None
    }

    /// First-parent history from `sha`, newest first, as `git log --first-parent` walks it.
    pub fn history(&self, sha: &str) -> Vec<&Commit> {
        let mut out = Vec::new();
        let mut next = Some(sha.to_string());
        while let Some(current) = next.take() {
            let Some(commit) = self.commit(&current) else {
                break;
            };
            next = commit.parents.first().cloned();
            out.push(commit);
        }
        out
    }

    pub fn permission_of(&self, login: &str) -> Option<Permission> {
        if key(login) == key(&self.owner) {
            return Some(Permission::Admin);
        }
        self.collaborators.get(&key(login)).map(|(_, p)| *p)
    }
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: u64,
    pub guid: String,
    pub delivered_at: i64,
    pub redelivery: bool,
    pub duration: f64,
    pub status: String,
    pub status_code: u16,
    pub event: String,
    pub action: Option<String>,
    pub installation_id: Option<u64>,
    pub repository_id: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
pub struct RateBucket {
    pub limit: u64,
    pub remaining: u64,
    pub reset: i64,
}

impl RateBucket {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            remaining: limit,
            reset: now_secs() + 3600,
        }
    }

    /// GitHub refills the window when its reset time has passed.
    pub fn refresh(&mut self) {
        let now = now_secs();
        if now >= self.reset {
            self.remaining = self.limit;
            self.reset = now + 3600;
        }
    }

    pub fn used(&self) -> u64 {
        self.limit.saturating_sub(self.remaining)
    }
}

#[derive(Debug, Clone)]
pub struct FaultRule {
    pub matcher: Matcher,
    pub fault: Fault,
    pub remaining: u32,
}

pub struct World {
    pub base_url: String,
    pub app: App,
    pub users: BTreeMap<String, User>,
    pub repos: BTreeMap<String, Repo>,
    pub installations: BTreeMap<u64, Installation>,
    pub tokens: HashMap<String, IssuedToken>,
    pub personal_tokens: HashMap<String, String>,
    pub codeload_tokens: HashMap<String, (String, i64)>,
    pub manifest_codes: Vec<String>,
    pub deliveries: Vec<Delivery>,
    pub redelivery_requests: Vec<u64>,
    pub faults: Vec<FaultRule>,
    pub latency: Duration,
    pub timeout_hold: Duration,
    pub core: RateBucket,
    pub search: RateBucket,
    pub log: Vec<Logged>,
    /// Where deliveries go (the app's webhook URL), when a test wants them sent.
    pub webhook_target: Option<String>,
    /// What each sent delivery carried, by delivery id, so redelivery can send it again.
    pub delivery_payloads: HashMap<u64, Prepared>,
    /// Redeliveries requested through the API, sent by the request handler after it answers.
    pub pending_redeliveries: Vec<Prepared>,
    /// Comments the App wrote or edited that the story has not read yet, by repository and
    /// issue: a story must look at everything the bot says (see `FakeGitHub::issue_comments`).
    pub unread_bot_comments: BTreeMap<(String, u64), Vec<(u64, String)>>,
    next_id: u64,
    /// Clock for generated timestamps (commits, comments): a fixed start that moves one hour per
    /// event, so histories are ordered and identical across runs.
    story_clock: i64,
    request_seq: u64,
}

/// 2024-01-01T00:00:00Z.
const STORY_START: i64 = 1_704_067_200;

impl World {
    /// Notes that the App wrote or edited comment `id` on `repo`#`issue`, for the unread check.
    pub fn note_bot_comment(&mut self, repo: &str, issue: u64, id: u64, body: &str) {
        let preview: String = body.chars().take(160).collect();
        let unread = self
            .unread_bot_comments
            .entry((repo.to_string(), issue))
            .or_default();
        unread.retain(|(c, _)| *c != id);
        unread.push((id, preview));
    }

    pub fn new(base_url: String, app: App) -> Self {
        let mut world = Self {
            base_url,
            app,
            users: BTreeMap::new(),
            repos: BTreeMap::new(),
            installations: BTreeMap::new(),
            tokens: HashMap::new(),
            personal_tokens: HashMap::new(),
            codeload_tokens: HashMap::new(),
            manifest_codes: Vec::new(),
            deliveries: Vec::new(),
            redelivery_requests: Vec::new(),
            faults: Vec::new(),
            latency: Duration::ZERO,
            timeout_hold: Duration::from_secs(30),
            core: RateBucket::new(5000),
            search: RateBucket::new(30),
            log: Vec::new(),
            webhook_target: None,
            delivery_payloads: HashMap::new(),
            pending_redeliveries: Vec::new(),
            unread_bot_comments: BTreeMap::new(),
            next_id: 1000,
            story_clock: STORY_START,
            request_seq: 0,
        };
        let owner = world.app.owner.clone();
        world.ensure_user(&owner);
        let bot = world.app.bot_login();
        world.ensure_user(&bot);
        world
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn tick(&mut self) -> i64 {
        self.story_clock += 3600;
        self.story_clock
    }

    pub fn request_id(&mut self) -> String {
        self.request_seq += 1;
        format!(
            "FA4E:{:05X}:{:07X}:{:07X}:6567A1B2",
            0x1000,
            self.request_seq,
            self.request_seq * 7
        )
    }

    pub fn ensure_user(&mut self, login: &str) -> User {
        if let Some(user) = self.users.get(&key(login)) {
            return user.clone();
        }
        let id = self.next_id();
        let kind = if login.ends_with("[bot]") {
            "Bot"
        } else {
            "User"
        };
        let user = User {
            login: login.to_string(),
            id,
            kind: kind.to_string(),
            name: None,
            created_at: STORY_START - 86_400 * 365,
        };
        self.users.insert(key(login), user.clone());
        user
    }

    pub fn user(&self, login: &str) -> Option<&User> {
        self.users.get(&key(login))
    }

    pub fn repo(&self, full_name: &str) -> Option<&Repo> {
        self.repos.get(&key(full_name))
    }

    pub fn repo_mut(&mut self, full_name: &str) -> Option<&mut Repo> {
        self.repos.get_mut(&key(full_name))
    }

    pub fn repo_by_id(&self, id: u64) -> Option<&Repo> {
        self.repos.values().find(|r| r.id == id)
    }

    /// Creates the repository (public, branch `main`, no commits) when it does not exist yet.
    pub fn ensure_repo(&mut self, full_name: &str) -> &mut Repo {
        let k = key(full_name);
        let (owner, name) = full_name.split_once('/').unwrap_or((full_name, full_name));
        if !self.repos.contains_key(&k) {
            self.ensure_user(owner);
            let id = self.next_id();
            self.repos.insert(k.clone(), Repo::new(id, owner, name));
        }
        self.repos
            .entry(k)
            .or_insert_with(|| Repo::new(0, owner, name))
    }
}
