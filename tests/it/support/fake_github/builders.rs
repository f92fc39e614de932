//! Test-side builders. Each call changes the fake's state at once (no `.build()`), so a test
//! can read state back (`head_sha()`) between steps.

use super::state::{
    Asset, CheckRun, Commit, Delivery, FileChange, Installation, Issue, IssueComment, Label, Pull,
    Release, Review, ReviewComment, Selection, TagRef, World, hex40, key, parse_time,
};
use super::{Permission, Shared, lock};

/// One commit to add: message, author and file changes.
#[derive(Debug, Clone)]
pub struct CommitSpec {
    message: String,
    author: Option<String>,
    identity: Option<(String, String)>,
    date: Option<i64>,
    changes: Vec<(String, Option<Vec<u8>>)>,
}

impl CommitSpec {
    pub fn new(message: &str) -> Self {
        Self {
            message: message.to_string(),
            author: None,
            identity: None,
            date: None,
            changes: Vec::new(),
        }
    }

    /// The GitHub user the commit is attributed to (default: the repository owner).
    pub fn author(mut self, login: &str) -> Self {
        self.author = Some(login.to_string());
        self
    }

    /// A git identity with no GitHub account behind it (`author` is then `null`, as GitHub
    /// reports for unknown emails).
    pub fn unlinked_author(mut self, name: &str, email: &str) -> Self {
        self.identity = Some((name.to_string(), email.to_string()));
        self
    }

    /// `2024-05-01T12:00:00Z`; default: the story clock, one hour after the previous event.
    pub fn date(mut self, rfc3339: &str) -> Self {
        self.date = parse_time(rfc3339);
        self
    }

    pub fn file(mut self, path: &str, content: impl AsRef<[u8]>) -> Self {
        self.changes
            .push((path.to_string(), Some(content.as_ref().to_vec())));
        self
    }

    pub fn delete(mut self, path: &str) -> Self {
        self.changes.push((path.to_string(), None));
        self
    }
}

/// Applies a commit on top of `parent` in `repo_key`; returns the new SHA.
fn apply_commit(
    world: &mut World,
    repo_key: &str,
    spec: CommitSpec,
    parent: Option<String>,
) -> String {
    let date = match spec.date {
        Some(d) => d,
        None => world.tick(),
    };
    let owner = world
        .repo(repo_key)
        .map(|r| r.owner.clone())
        .unwrap_or_default();
    let (author_login, author_name, author_email) = match (&spec.identity, &spec.author) {
        (Some((name, email)), _) => (None, name.clone(), email.clone()),
        (None, login) => {
            let login = login.clone().unwrap_or(owner);
            let user = world.ensure_user(&login);
            let email = format!("{}+{}@users.noreply.github.com", user.id, user.login);
            (
                Some(user.login.clone()),
                user.name.clone().unwrap_or(user.login),
                email,
            )
        }
    };
    let Some(repo) = world.repo_mut(repo_key) else {
        return String::new();
    };
    let old_tree = parent
        .as_deref()
        .and_then(|p| repo.commit(p))
        .map(|c| c.tree.clone())
        .unwrap_or_default();
    let mut tree = old_tree.clone();
    let mut files = Vec::new();
    for (path, content) in spec.changes {
        let before = old_tree.get(&path);
        let change = match (&content, before) {
            (Some(new), Some(old)) if new == old => None,
            (Some(new), old) => Some(file_change(&path, old.map(Vec::as_slice), Some(new))),
            (None, Some(old)) => Some(file_change(&path, Some(old), None)),
            (None, None) => None,
        };
        match content {
            Some(new) => {
                tree.insert(path.clone(), new);
            }
            None => {
                tree.remove(&path);
            }
        }
        if let Some(change) = change {
            files.retain(|f: &FileChange| f.filename != change.filename);
            files.push(change);
        }
    }
    let mut tree_digest = Vec::new();
    for (path, content) in &tree {
        tree_digest.extend_from_slice(path.as_bytes());
        tree_digest.extend_from_slice(hex40(&[content]).as_bytes());
    }
    let sha = hex40(&[
        parent.as_deref().unwrap_or("").as_bytes(),
        spec.message.as_bytes(),
        author_email.as_bytes(),
        &date.to_be_bytes(),
        &tree_digest,
    ]);
    repo.commits.push(Commit {
        sha: sha.clone(),
        parents: parent.into_iter().collect(),
        author_login: author_login.clone(),
        author_name,
        author_email,
        committer_login: author_login,
        message: spec.message,
        date,
        tree,
        files,
    });
    sha
}

/// A GitHub-style file entry with a unified diff of the whole change as one hunk.
pub fn file_change(path: &str, old: Option<&[u8]>, new: Option<&[u8]>) -> FileChange {
    let status = match (old, new) {
        (None, _) => "added",
        (_, None) => "removed",
        _ => "modified",
    };
    let blob_sha = hex40(&[b"blob", new.or(old).unwrap_or_default()]);
    let text = |b: Option<&[u8]>| b.map(|b| std::str::from_utf8(b).ok().map(str::to_string));
    let (patch, additions, deletions) = match (text(old), text(new)) {
        // Binary content: GitHub sends no patch.
        (Some(None), _) | (_, Some(None)) => (None, 0, 0),
        (old, new) => {
            let old = old.flatten().unwrap_or_default();
            let new = new.flatten().unwrap_or_default();
            let (patch, add, del) = unified_hunk(&old, &new);
            (Some(patch), add, del)
        }
    };
    FileChange {
        filename: path.to_string(),
        status: status.to_string(),
        additions,
        deletions,
        patch,
        blob_sha,
        previous_filename: None,
    }
}

/// One hunk covering the changed middle of the file (common prefix and suffix trimmed, three
/// lines of context), which is what GitHub shows for a single contiguous change.
pub fn unified_hunk(old: &str, new: &str) -> (String, u64, u64) {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut prefix = 0;
    while prefix < a.len() && prefix < b.len() && a[prefix] == b[prefix] {
        prefix += 1;
    }
    let mut suffix = 0;
    while suffix < a.len() - prefix
        && suffix < b.len() - prefix
        && a[a.len() - 1 - suffix] == b[b.len() - 1 - suffix]
    {
        suffix += 1;
    }
    let ctx_before = prefix.min(3);
    let ctx_after = suffix.min(3);
    let removed = &a[prefix..a.len() - suffix];
    let added = &b[prefix..b.len() - suffix];
    let old_count = ctx_before + removed.len() + ctx_after;
    let new_count = ctx_before + added.len() + ctx_after;
    let start = |count: usize| {
        if count == 0 {
            prefix - ctx_before
        } else {
            prefix - ctx_before + 1
        }
    };
    let mut out = format!(
        "@@ -{},{} +{},{} @@",
        start(old_count),
        old_count,
        start(new_count),
        new_count
    );
    for line in &a[prefix - ctx_before..prefix] {
        out.push_str("\n ");
        out.push_str(line);
    }
    for line in removed {
        out.push_str("\n-");
        out.push_str(line);
    }
    for line in added {
        out.push_str("\n+");
        out.push_str(line);
    }
    for line in &a[a.len() - suffix..a.len() - suffix + ctx_after] {
        out.push_str("\n ");
        out.push_str(line);
    }
    (out, added.len() as u64, removed.len() as u64)
}

/// Counts `+` and `-` lines of a hand-written patch.
fn count_patch(patch: &str) -> (u64, u64) {
    let mut add = 0;
    let mut del = 0;
    for line in patch.lines() {
        if line.starts_with('+') {
            add += 1;
        } else if line.starts_with('-') {
            del += 1;
        }
    }
    (add, del)
}

pub struct UserBuilder {
    world: Shared,
    login: String,
}

impl UserBuilder {
    pub(crate) fn new(world: Shared, login: &str) -> Self {
        lock(&world).ensure_user(login);
        Self {
            world,
            login: login.to_string(),
        }
    }

    fn edit(self, f: impl FnOnce(&mut super::state::User)) -> Self {
        if let Some(user) = lock(&self.world).users.get_mut(&key(&self.login)) {
            f(user);
        }
        self
    }

    pub fn name(self, name: &str) -> Self {
        self.edit(|u| u.name = Some(name.to_string()))
    }

    pub fn organization(self) -> Self {
        self.edit(|u| u.kind = "Organization".to_string())
    }

    pub fn bot(self) -> Self {
        self.edit(|u| u.kind = "Bot".to_string())
    }

    pub fn id(&self) -> u64 {
        lock(&self.world)
            .user(&self.login)
            .map(|u| u.id)
            .unwrap_or_default()
    }
}

/// A GitHub release to add.
#[derive(Debug, Clone)]
pub struct ReleaseSpec {
    tag: String,
    name: Option<String>,
    body: Option<String>,
    author: Option<String>,
    draft: bool,
    prerelease: bool,
    date: Option<i64>,
    assets: Vec<(String, String, u64)>,
}

impl ReleaseSpec {
    pub fn new(tag: &str) -> Self {
        Self {
            tag: tag.to_string(),
            name: Some(tag.to_string()),
            body: None,
            author: None,
            draft: false,
            prerelease: false,
            date: None,
            assets: Vec::new(),
        }
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = Some(body.to_string());
        self
    }

    pub fn author(mut self, login: &str) -> Self {
        self.author = Some(login.to_string());
        self
    }

    pub fn draft(mut self) -> Self {
        self.draft = true;
        self
    }

    pub fn prerelease(mut self) -> Self {
        self.prerelease = true;
        self
    }

    pub fn date(mut self, rfc3339: &str) -> Self {
        self.date = parse_time(rfc3339);
        self
    }

    /// An asset by name (`hello-1.0.0.tar.gz`, `hello.intoto.jsonl`, `sbom.cdx.json`).
    pub fn asset(mut self, name: &str, content_type: &str, size: u64) -> Self {
        self.assets
            .push((name.to_string(), content_type.to_string(), size));
        self
    }
}

pub struct RepoBuilder {
    world: Shared,
    full_name: String,
}

impl RepoBuilder {
    pub(crate) fn new(world: Shared, full_name: &str) -> Self {
        lock(&world).ensure_repo(full_name);
        Self {
            world,
            full_name: full_name.to_string(),
        }
    }

    fn edit(self, f: impl FnOnce(&mut super::state::Repo)) -> Self {
        if let Some(repo) = lock(&self.world).repo_mut(&self.full_name) {
            f(repo);
        }
        self
    }

    pub fn public(self) -> Self {
        self.edit(|r| r.private = false)
    }

    pub fn private(self) -> Self {
        self.edit(|r| r.private = true)
    }

    pub fn description(self, text: &str) -> Self {
        self.edit(|r| r.description = Some(text.to_string()))
    }

    pub fn archived(self) -> Self {
        self.edit(|r| r.archived = true)
    }

    /// This repository is a fork of `parent` (which is created if needed).
    pub fn fork_of(self, parent: &str) -> Self {
        lock(&self.world).ensure_repo(parent);
        self.edit(|r| r.fork_parent = Some(parent.to_string()))
    }

    /// This repository is a template (`is_template: true`).
    pub fn template(self) -> Self {
        self.edit(|r| r.is_template = true)
    }

    /// This repository was generated from the template `template` (`template_repository`).
    pub fn generated_from(self, template: &str) -> Self {
        {
            let mut world = lock(&self.world);
            world.ensure_repo(template).is_template = true;
        }
        self.edit(|r| r.template_repository = Some(template.to_string()))
    }

    /// Renames the default branch (before or after commits).
    pub fn default_branch(self, name: &str) -> Self {
        self.edit(|r| {
            if let Some(sha) = r.branches.remove(&r.default_branch) {
                r.branches.insert(name.to_string(), sha);
            }
            r.default_branch = name.to_string();
        })
    }

    /// Commits one file to the default branch, authored by the owner.
    pub fn file(self, path: &str, content: impl AsRef<[u8]>) -> Self {
        let exists = lock(&self.world)
            .repo(&self.full_name)
            .and_then(|r| {
                r.head_sha()
                    .and_then(|h| r.commit(&h).map(|c| c.tree.contains_key(path)))
            })
            .unwrap_or(false);
        let verb = if exists { "Update" } else { "Add" };
        self.commit(CommitSpec::new(&format!("{verb} {path}")).file(path, content))
    }

    /// Commits to the default branch.
    pub fn commit(self, spec: CommitSpec) -> Self {
        {
            let mut world = lock(&self.world);
            let head = world.repo(&self.full_name).and_then(|r| r.head_sha());
            let sha = apply_commit(&mut world, &self.full_name, spec, head);
            if let Some(repo) = world.repo_mut(&self.full_name) {
                let branch = repo.default_branch.clone();
                repo.branches.insert(branch, sha);
            }
        }
        self
    }

    /// Tags the current head of the default branch.
    pub fn tag(self, name: &str) -> Self {
        let head = self.head_sha();
        self.tag_at(name, &head)
    }

    pub fn tag_at(self, name: &str, sha: &str) -> Self {
        self.edit(|r| {
            r.tags.retain(|t| t.name != name);
            r.tags.push(TagRef {
                name: name.to_string(),
                sha: sha.to_string(),
            });
        })
    }

    pub fn release(self, spec: ReleaseSpec) -> Self {
        {
            let mut world = lock(&self.world);
            let id = world.next_id();
            let created_at = match spec.date {
                Some(d) => d,
                None => world.tick(),
            };
            let owner = world
                .repo(&self.full_name)
                .map(|r| r.owner.clone())
                .unwrap_or_default();
            let author = spec.author.unwrap_or(owner);
            world.ensure_user(&author);
            let assets = spec
                .assets
                .into_iter()
                .map(|(name, content_type, size)| Asset {
                    id: world.next_id(),
                    name,
                    content_type,
                    size,
                })
                .collect();
            if let Some(repo) = world.repo_mut(&self.full_name) {
                repo.releases.push(Release {
                    id,
                    tag_name: spec.tag,
                    name: spec.name,
                    body: spec.body,
                    author,
                    draft: spec.draft,
                    prerelease: spec.prerelease,
                    created_at,
                    assets,
                });
            }
        }
        self
    }

    /// A completed check run on a commit of this repository.
    pub fn check_run(self, sha: &str, name: &str, conclusion: &str) -> Self {
        {
            let mut world = lock(&self.world);
            add_check_run(&mut world, &self.full_name, sha, name, conclusion);
        }
        self
    }

    /// A completed Actions run of the workflow file `path` on `branch` (at its head, or at
    /// the branch name itself for a tag), with its jobs as (name, conclusion). The run
    /// concludes `failure` when a job failed, else `success`.
    pub fn workflow_run(
        self,
        path: &str,
        event: &str,
        branch: &str,
        jobs: &[(&str, &str)],
    ) -> Self {
        {
            let mut world = lock(&self.world);
            let id = world.next_id();
            let created_at = world.tick();
            let check_suite_id = world.next_id();
            let job_ids: Vec<u64> = jobs.iter().map(|_| world.next_id()).collect();
            if let Some(repo) = world.repo_mut(&self.full_name) {
                let head_sha = repo.branches.get(branch).cloned().unwrap_or_default();
                let failed = jobs.iter().any(|(_, c)| *c != "success" && *c != "skipped");
                // As on GitHub, each job is also a check run of the commit (same id), in the
                // run's check suite.
                if !head_sha.is_empty() {
                    for (jid, (name, conclusion)) in job_ids.iter().zip(jobs) {
                        repo.check_runs.push(CheckRun {
                            id: *jid,
                            head_sha: head_sha.clone(),
                            name: name.to_string(),
                            status: "completed".to_string(),
                            conclusion: Some(conclusion.to_string()),
                            app_slug: "github-actions".to_string(),
                            completed_at: created_at + 60,
                            check_suite_id: Some(check_suite_id),
                        });
                    }
                }
                repo.workflow_runs.push(super::state::WorkflowRun {
                    id,
                    path: path.to_string(),
                    event: event.to_string(),
                    head_branch: branch.to_string(),
                    head_sha,
                    status: "completed".to_string(),
                    conclusion: Some(if failed { "failure" } else { "success" }.to_string()),
                    created_at,
                    check_suite_id,
                    jobs: job_ids
                        .into_iter()
                        .zip(jobs)
                        .map(|(jid, (n, c))| (jid, n.to_string(), Some(c.to_string())))
                        .collect(),
                });
            }
        }
        self
    }

    pub fn collaborator(self, login: &str, permission: Permission) -> Self {
        lock(&self.world).ensure_user(login);
        self.edit(|r| {
            r.collaborators
                .insert(key(login), (login.to_string(), permission));
        })
    }

    pub fn label(self, name: &str, color: &str) -> Self {
        {
            let mut world = lock(&self.world);
            ensure_label(&mut world, &self.full_name, name, Some(color));
        }
        self
    }

    /// Head of the default branch. Panics when the repository has no commit yet: that is a
    /// mistake in the test's story.
    pub fn head_sha(&self) -> String {
        lock(&self.world)
            .repo(&self.full_name)
            .and_then(|r| r.head_sha())
            .unwrap_or_else(|| panic!("{} has no commits yet", self.full_name))
    }

    pub fn id(&self) -> u64 {
        lock(&self.world)
            .repo(&self.full_name)
            .map(|r| r.id)
            .unwrap_or_default()
    }
}

pub(crate) fn add_check_run(
    world: &mut World,
    repo: &str,
    sha: &str,
    name: &str,
    conclusion: &str,
) {
    let id = world.next_id();
    let completed_at = world.tick();
    if let Some(repo) = world.repo_mut(repo) {
        repo.check_runs.push(CheckRun {
            id,
            head_sha: sha.to_string(),
            name: name.to_string(),
            status: "completed".to_string(),
            conclusion: Some(conclusion.to_string()),
            app_slug: "github-actions".to_string(),
            completed_at,
            check_suite_id: None,
        });
    }
}

/// Finds or creates a label in the repository (GitHub creates unknown labels on use).
pub(crate) fn ensure_label(
    world: &mut World,
    repo: &str,
    name: &str,
    color: Option<&str>,
) -> Label {
    let id = world.next_id();
    let Some(repo) = world.repo_mut(repo) else {
        return Label {
            id,
            name: name.to_string(),
            color: "ededed".to_string(),
            description: None,
        };
    };
    let label = repo.labels.entry(key(name)).or_insert_with(|| Label {
        id,
        name: name.to_string(),
        color: color.unwrap_or("ededed").to_string(),
        description: None,
    });
    if let Some(color) = color {
        label.color = color.to_string();
    }
    label.clone()
}

/// A review to add to a pull request.
#[derive(Debug, Clone)]
pub struct ReviewSpec {
    user: String,
    state: String,
    body: String,
    commit: Option<String>,
    id: Option<u64>,
}

impl ReviewSpec {
    /// `state`: `APPROVED`, `CHANGES_REQUESTED`, `COMMENTED` or `DISMISSED`.
    pub fn new(user: &str, state: &str) -> Self {
        Self {
            user: user.to_string(),
            state: state.to_string(),
            body: String::new(),
            commit: None,
            id: None,
        }
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.to_string();
        self
    }

    /// The commit reviewed (default: the head at the time the review is added).
    pub fn commit(mut self, sha: &str) -> Self {
        self.commit = Some(sha.to_string());
        self
    }

    pub fn id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }
}

/// A review comment (a comment on a line of the diff).
#[derive(Debug, Clone)]
pub struct ReviewCommentSpec {
    user: String,
    path: String,
    body: String,
    line: Option<u64>,
    original_line: Option<u64>,
    start_line: Option<u64>,
    outdated: bool,
    diff_hunk: Option<String>,
    commit: Option<String>,
    original_commit: Option<String>,
    in_reply_to: Option<u64>,
    review_id: Option<u64>,
    id: Option<u64>,
}

impl ReviewCommentSpec {
    pub fn new(user: &str, path: &str, body: &str) -> Self {
        Self {
            user: user.to_string(),
            path: path.to_string(),
            body: body.to_string(),
            line: None,
            original_line: None,
            start_line: None,
            outdated: false,
            diff_hunk: None,
            commit: None,
            original_commit: None,
            in_reply_to: None,
            review_id: None,
            id: None,
        }
    }

    pub fn line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    pub fn start_line(mut self, line: u64) -> Self {
        self.start_line = Some(line);
        self
    }

    pub fn original_line(mut self, line: u64) -> Self {
        self.original_line = Some(line);
        self
    }

    /// The commented lines changed in a later commit: GitHub then reports `line: null` and
    /// keeps `original_line` and `original_commit_id`.
    pub fn outdated(mut self) -> Self {
        self.outdated = true;
        self
    }

    pub fn diff_hunk(mut self, hunk: &str) -> Self {
        self.diff_hunk = Some(hunk.to_string());
        self
    }

    pub fn commit(mut self, sha: &str) -> Self {
        self.commit = Some(sha.to_string());
        self
    }

    pub fn original_commit(mut self, sha: &str) -> Self {
        self.original_commit = Some(sha.to_string());
        self
    }

    pub fn reply_to(mut self, id: u64) -> Self {
        self.in_reply_to = Some(id);
        self
    }

    pub fn review(mut self, review_id: u64) -> Self {
        self.review_id = Some(review_id);
        self
    }

    pub fn id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }
}

/// The lines of `patch` up to and including new-side line `line`: GitHub's `diff_hunk` for a
/// comment on that line.
fn hunk_up_to(patch: &str, line: u64) -> String {
    let mut out = Vec::new();
    let mut new_line = 0u64;
    for text in patch.lines() {
        if let Some(rest) = text.strip_prefix("@@ ") {
            out.clear();
            new_line = rest
                .split_whitespace()
                .find_map(|p| p.strip_prefix('+'))
                .and_then(|p| p.split(',').next())
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(1)
                .saturating_sub(1);
            out.push(text);
            continue;
        }
        out.push(text);
        if !text.starts_with('-') {
            new_line += 1;
        }
        if new_line >= line && !text.starts_with('-') {
            break;
        }
    }
    out.join("\n")
}

pub struct PullBuilder {
    world: Shared,
    repo: String,
    number: u64,
}

impl PullBuilder {
    pub(crate) fn new(world: Shared, repo: &str, number: u64) -> Self {
        {
            let mut w = lock(&world);
            let exists = w
                .repo(repo)
                .map(|r| r.pulls.contains_key(&number))
                .unwrap_or(false);
            if !exists {
                let id = w.next_id();
                let created_at = w.tick();
                let r = w.ensure_repo(repo);
                let author = r.owner.clone();
                let base_ref = r.default_branch.clone();
                let head_repo = key(&r.full_name());
                r.pulls.insert(
                    number,
                    Pull {
                        number,
                        id,
                        title: format!("Pull request {number}"),
                        body: None,
                        author,
                        state: "open".to_string(),
                        merged: false,
                        merged_by: None,
                        draft: false,
                        base_ref,
                        head_ref: format!("topic-{number}"),
                        head_repo,
                        commits: Vec::new(),
                        files: Vec::new(),
                        reviews: Vec::new(),
                        review_comments: Vec::new(),
                        labels: Vec::new(),
                        created_at,
                        closed_at: None,
                        deleted: false,
                    },
                );
            }
        }
        Self {
            world,
            repo: repo.to_string(),
            number,
        }
    }

    fn edit(self, f: impl FnOnce(&mut Pull)) -> Self {
        if let Some(pull) = lock(&self.world)
            .repo_mut(&self.repo)
            .and_then(|r| r.pulls.get_mut(&self.number))
        {
            f(pull);
        }
        self
    }

    pub fn author(self, login: &str) -> Self {
        lock(&self.world).ensure_user(login);
        self.edit(|p| p.author = login.to_string())
    }

    pub fn title(self, title: &str) -> Self {
        self.edit(|p| p.title = title.to_string())
    }

    pub fn body(self, body: &str) -> Self {
        self.edit(|p| p.body = Some(body.to_string()))
    }

    pub fn draft(self) -> Self {
        self.edit(|p| p.draft = true)
    }

    pub fn closed(self) -> Self {
        let at = lock(&self.world).tick();
        self.edit(|p| {
            p.state = "closed".to_string();
            p.closed_at = Some(at);
        })
    }

    /// Merged by the base repository's owner.
    pub fn merged(self) -> Self {
        let owner = lock(&self.world)
            .repo(&self.repo)
            .map(|r| r.owner.clone())
            .unwrap_or_default();
        self.merged_by(&owner)
    }

    pub fn merged_by(self, login: &str) -> Self {
        let at = {
            let mut w = lock(&self.world);
            w.ensure_user(login);
            w.tick()
        };
        self.edit(|p| {
            p.state = "closed".to_string();
            p.merged = true;
            p.merged_by = Some(login.to_string());
            p.closed_at = Some(at);
        })
    }

    /// The head branch lives in `repo` (a fork) under `branch`.
    pub fn head(self, repo: &str, branch: &str) -> Self {
        lock(&self.world).ensure_repo(repo);
        self.edit(|p| {
            p.head_repo = key(repo);
            p.head_ref = branch.to_string();
        })
    }

    pub fn base_branch(self, branch: &str) -> Self {
        self.edit(|p| p.base_ref = branch.to_string())
    }

    pub fn label(self, name: &str) -> Self {
        {
            let mut w = lock(&self.world);
            ensure_label(&mut w, &self.repo, name, None);
        }
        self.edit(|p| {
            if !p.labels.iter().any(|l| l.eq_ignore_ascii_case(name)) {
                p.labels.push(name.to_string());
            }
        })
    }

    /// Adds a commit to the pull request, on top of its previous commit (or of the base
    /// branch's head for the first one). Its author defaults to the pull request's author.
    pub fn commit(self, spec: CommitSpec) -> Self {
        {
            let mut w = lock(&self.world);
            let found = w.repo(&self.repo).and_then(|r| {
                let pull = r.pulls.get(&self.number)?;
                let parent = pull
                    .commits
                    .last()
                    .cloned()
                    .or_else(|| r.branches.get(&pull.base_ref).cloned());
                Some((parent, pull.author.clone()))
            });
            // `new` always creates the pull request, so it is there.
            let (parent, author) = found.unwrap_or_default();
            let spec = if spec.author.is_none() && spec.identity.is_none() {
                spec.author(&author)
            } else {
                spec
            };
            let sha = apply_commit(&mut w, &self.repo, spec, parent);
            if let Some(pull) = w
                .repo_mut(&self.repo)
                .and_then(|r| r.pulls.get_mut(&self.number))
            {
                pull.commits.push(sha);
            }
        }
        self
    }

    /// A file entry with a hand-written patch, for diffs the story needs verbatim. Once any is
    /// set, the pull request's files are exactly these.
    pub fn file_patch(self, filename: &str, status: &str, patch: &str) -> Self {
        let (additions, deletions) = count_patch(patch);
        let change = FileChange {
            filename: filename.to_string(),
            status: status.to_string(),
            additions,
            deletions,
            patch: Some(patch.to_string()),
            blob_sha: hex40(&[b"blob", patch.as_bytes()]),
            previous_filename: None,
        };
        self.edit(|p| p.files.push(change))
    }

    pub fn review(self, spec: ReviewSpec) -> Self {
        {
            let mut w = lock(&self.world);
            w.ensure_user(&spec.user);
            let id = match spec.id {
                Some(id) => id,
                None => w.next_id(),
            };
            let at = w.tick();
            let head = self.head_in(&w);
            if let Some(pull) = w
                .repo_mut(&self.repo)
                .and_then(|r| r.pulls.get_mut(&self.number))
            {
                pull.reviews.push(Review {
                    id,
                    user: spec.user,
                    body: spec.body,
                    state: spec.state,
                    commit_id: spec.commit.unwrap_or(head),
                    submitted_at: at,
                });
            }
        }
        self
    }

    pub fn review_comment(self, spec: ReviewCommentSpec) -> Self {
        {
            let mut w = lock(&self.world);
            w.ensure_user(&spec.user);
            let id = match spec.id {
                Some(id) => id,
                None => w.next_id(),
            };
            let at = w.tick();
            let head = self.head_in(&w);
            let patch = self
                .files_in(&w)
                .into_iter()
                .find(|f| f.filename == spec.path)
                .and_then(|f| f.patch);
            let original_line = spec.original_line.or(spec.line);
            let diff_hunk = spec
                .diff_hunk
                .unwrap_or_else(|| match (&patch, original_line) {
                    (Some(p), Some(l)) => hunk_up_to(p, l),
                    (Some(p), None) => p.clone(),
                    (None, _) => String::new(),
                });
            let commit_id = spec.commit.unwrap_or_else(|| head.clone());
            let original_commit_id = spec.original_commit.unwrap_or_else(|| commit_id.clone());
            let line = if spec.outdated {
                None
            } else {
                spec.line.or(original_line)
            };
            if let Some(pull) = w
                .repo_mut(&self.repo)
                .and_then(|r| r.pulls.get_mut(&self.number))
            {
                pull.review_comments.push(ReviewComment {
                    id,
                    review_id: spec.review_id,
                    user: spec.user,
                    body: spec.body,
                    path: spec.path,
                    diff_hunk,
                    line,
                    original_line,
                    start_line: spec.start_line,
                    side: "RIGHT".to_string(),
                    commit_id,
                    original_commit_id,
                    in_reply_to_id: spec.in_reply_to,
                    created_at: at,
                });
            }
        }
        self
    }

    /// A completed check run on the pull request's current head commit.
    pub fn check_run(self, name: &str, conclusion: &str) -> Self {
        {
            let mut w = lock(&self.world);
            let head = self.head_in(&w);
            add_check_run(&mut w, &self.repo, &head, name, conclusion);
        }
        self
    }

    /// The head commit: the last commit added, or a SHA derived from the pull request when
    /// it has none (GitHub always has one).
    pub fn head_sha(&self) -> String {
        let w = lock(&self.world);
        self.head_in(&w)
    }

    fn head_in(&self, w: &World) -> String {
        pull_head(w, &self.repo, self.number)
    }

    fn files_in(&self, w: &World) -> Vec<FileChange> {
        w.repo(&self.repo)
            .and_then(|r| r.pulls.get(&self.number).map(|p| pull_files(r, p)))
            .unwrap_or_default()
    }
}

pub(crate) fn pull_head(w: &World, repo: &str, number: u64) -> String {
    w.repo(repo)
        .and_then(|r| r.pulls.get(&number))
        .and_then(|p| p.commits.last().cloned())
        .unwrap_or_else(|| hex40(&[repo.as_bytes(), &number.to_be_bytes(), b"head"]))
}

/// The pull request's files: the explicit ones, or the net change of its commits.
pub(crate) fn pull_files(repo: &super::state::Repo, pull: &Pull) -> Vec<FileChange> {
    if !pull.files.is_empty() {
        return pull.files.clone();
    }
    let Some(last) = pull.commits.last().and_then(|s| repo.commit(s)) else {
        return Vec::new();
    };
    let base_tree = pull
        .commits
        .first()
        .and_then(|s| repo.commit(s))
        .and_then(|c| c.parents.first())
        .and_then(|p| repo.commit(p))
        .map(|c| c.tree.clone())
        .unwrap_or_default();
    let mut paths: Vec<&String> = base_tree.keys().chain(last.tree.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|path| {
            let old = base_tree.get(path);
            let new = last.tree.get(path);
            if old == new {
                return None;
            }
            Some(file_change(
                path,
                old.map(Vec::as_slice),
                new.map(Vec::as_slice),
            ))
        })
        .collect()
}

pub struct IssueBuilder {
    world: Shared,
    repo: String,
    number: u64,
}

impl IssueBuilder {
    pub(crate) fn new(world: Shared, repo: &str, number: u64) -> Self {
        {
            let mut w = lock(&world);
            let exists = w
                .repo(repo)
                .map(|r| r.issues.contains_key(&number))
                .unwrap_or(false);
            if !exists {
                let id = w.next_id();
                let at = w.tick();
                let r = w.ensure_repo(repo);
                let author = r.owner.clone();
                r.issues.insert(
                    number,
                    Issue {
                        number,
                        id,
                        title: format!("Issue {number}"),
                        body: None,
                        author,
                        state: "open".to_string(),
                        state_reason: None,
                        labels: Vec::new(),
                        created_at: at,
                        updated_at: at,
                        closed_at: None,
                        deleted: false,
                    },
                );
            }
        }
        Self {
            world,
            repo: repo.to_string(),
            number,
        }
    }

    fn edit(self, f: impl FnOnce(&mut Issue)) -> Self {
        if let Some(issue) = lock(&self.world)
            .repo_mut(&self.repo)
            .and_then(|r| r.issues.get_mut(&self.number))
        {
            f(issue);
        }
        self
    }

    pub fn author(self, login: &str) -> Self {
        lock(&self.world).ensure_user(login);
        self.edit(|i| i.author = login.to_string())
    }

    pub fn title(self, title: &str) -> Self {
        self.edit(|i| i.title = title.to_string())
    }

    pub fn body(self, body: &str) -> Self {
        self.edit(|i| i.body = Some(body.to_string()))
    }

    pub fn label(self, name: &str) -> Self {
        {
            let mut w = lock(&self.world);
            ensure_label(&mut w, &self.repo, name, None);
        }
        self.edit(|i| {
            if !i.labels.iter().any(|l| l.eq_ignore_ascii_case(name)) {
                i.labels.push(name.to_string());
            }
        })
    }

    pub fn closed(self) -> Self {
        let at = lock(&self.world).tick();
        self.edit(|i| {
            i.state = "closed".to_string();
            i.state_reason = Some("completed".to_string());
            i.closed_at = Some(at);
            i.updated_at = at;
        })
    }

    /// A comment by a user.
    pub fn comment(self, author: &str, body: &str) -> Self {
        self.add_comment(author, body, false);
        self
    }

    /// A comment the app wrote earlier (author `<slug>[bot]`, via the app).
    pub fn app_comment(self, body: &str) -> Self {
        let bot = lock(&self.world).app.bot_login();
        self.add_comment(&bot, body, true);
        self
    }

    /// Adds a comment and returns its id (for `PATCH` tests).
    pub fn comment_id(&self, author: &str, body: &str) -> u64 {
        self.add_comment(author, body, false)
    }

    fn add_comment(&self, author: &str, body: &str, via_app: bool) -> u64 {
        let mut w = lock(&self.world);
        w.ensure_user(author);
        let id = w.next_id();
        let at = w.tick();
        if let Some(repo) = w.repo_mut(&self.repo) {
            repo.issue_comments.push(IssueComment {
                id,
                issue_number: self.number,
                user: author.to_string(),
                body: body.to_string(),
                created_at: at,
                updated_at: at,
                via_app,
            });
        }
        id
    }
}

pub struct InstallationBuilder {
    world: Shared,
    id: u64,
}

impl InstallationBuilder {
    pub(crate) fn new(world: Shared, id: u64) -> Self {
        {
            let mut w = lock(&world);
            if !w.installations.contains_key(&id) {
                let created_at = w.tick();
                w.installations.insert(
                    id,
                    Installation {
                        id,
                        account: "acme".to_string(),
                        selection: Selection::Selected(Vec::new()),
                        suspended: false,
                        created_at,
                    },
                );
                w.ensure_user("acme");
            }
        }
        Self { world, id }
    }

    fn edit(self, f: impl FnOnce(&mut Installation)) -> Self {
        if let Some(inst) = lock(&self.world).installations.get_mut(&self.id) {
            f(inst);
        }
        self
    }

    /// Installed on an organization account.
    pub fn organization(self, login: &str) -> Self {
        UserBuilder::new(self.world.clone(), login).organization();
        self.edit(|i| i.account = login.to_string())
    }

    /// Installed on a user account.
    pub fn user_account(self, login: &str) -> Self {
        lock(&self.world).ensure_user(login);
        self.edit(|i| i.account = login.to_string())
    }

    /// Access to these repositories only (`repository_selection: selected`); creates them.
    pub fn repos(self, repos: &[&str]) -> Self {
        {
            let mut w = lock(&self.world);
            for repo in repos {
                w.ensure_repo(repo);
            }
        }
        self.edit(|i| i.selection = Selection::Selected(repos.iter().map(|r| key(r)).collect()))
    }

    /// Access to every repository of the account (`repository_selection: all`).
    pub fn all_repos(self) -> Self {
        self.edit(|i| i.selection = Selection::All)
    }

    pub fn suspended(self) -> Self {
        self.edit(|i| i.suspended = true)
    }
}

/// The `status` GitHub's delivery log shows for a receiver's answer: `OK` for any 2xx (the
/// docs define a failed delivery as one whose status is not `OK`), else
/// `Invalid HTTP Response: <code>`.
pub(crate) fn delivery_status(code: u16) -> String {
    if (200..300).contains(&code) {
        "OK".to_string()
    } else {
        format!("Invalid HTTP Response: {code}")
    }
}

/// A delivery in the app's webhook delivery log.
#[derive(Debug, Clone)]
pub struct DeliverySpec {
    event: String,
    action: Option<String>,
    guid: Option<String>,
    status_code: u16,
    status: Option<String>,
    redelivery: bool,
    installation_id: Option<u64>,
    repository_id: Option<u64>,
    at: Option<i64>,
}

impl DeliverySpec {
    pub fn new(event: &str) -> Self {
        Self {
            event: event.to_string(),
            action: None,
            guid: None,
            status_code: 200,
            status: None,
            redelivery: false,
            installation_id: None,
            repository_id: None,
            at: None,
        }
    }

    pub fn action(mut self, action: &str) -> Self {
        self.action = Some(action.to_string());
        self
    }

    pub fn guid(mut self, guid: &str) -> Self {
        self.guid = Some(guid.to_string());
        self
    }

    /// The receiver's answer; `status` follows (`OK` for 2xx, else `Invalid HTTP Response: 502`).
    pub fn status_code(mut self, code: u16) -> Self {
        self.status_code = code;
        self
    }

    /// The receiver did not answer in time (`status_code: 0`, `status: "timed out"`).
    pub fn timed_out(mut self) -> Self {
        self.status_code = 0;
        self.status = Some("timed out".to_string());
        self
    }

    pub fn redelivery(mut self) -> Self {
        self.redelivery = true;
        self
    }

    pub fn installation(mut self, id: u64) -> Self {
        self.installation_id = Some(id);
        self
    }

    pub fn repository(mut self, id: u64) -> Self {
        self.repository_id = Some(id);
        self
    }

    pub fn at(mut self, rfc3339: &str) -> Self {
        self.at = parse_time(rfc3339);
        self
    }

    pub(crate) fn apply(self, world: &mut World) -> u64 {
        let id = world.next_id();
        let delivered_at = match self.at {
            Some(t) => t,
            None => super::state::now_secs(),
        };
        let status = self
            .status
            .unwrap_or_else(|| delivery_status(self.status_code));
        let guid = self.guid.unwrap_or_else(|| {
            let h = hex40(&[b"delivery", &id.to_be_bytes()]);
            format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )
        });
        world.deliveries.push(Delivery {
            id,
            guid,
            delivered_at,
            redelivery: self.redelivery,
            duration: 0.27,
            status,
            status_code: self.status_code,
            event: self.event,
            action: self.action,
            installation_id: self.installation_id,
            repository_id: self.repository_id,
        });
        id
    }
}
