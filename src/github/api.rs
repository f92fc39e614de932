//! Every GitHub endpoint Folio calls, one method each, with typed input and output. This is
//! the one list to check the App's permissions against: a new call is added here, never as a
//! path string elsewhere. Names from users or GitHub go into paths only through
//! [`super::web`], which encodes each segment on its own.
//!
//! | method | endpoint | App permission |
//! |---|---|---|
//! | `issue` | `GET /repos/{r}/issues/{n}` | Issues: read |
//! | `issue_comments` | `GET /repos/{r}/issues/{n}/comments` | Issues: read |
//! | `create_issue_comment` | `POST /repos/{r}/issues/{n}/comments` | Issues: write |
//! | `update_issue_comment` | `PATCH /repos/{r}/issues/comments/{id}` | Issues: write |
//! | `delete_issue_comment` | `DELETE /repos/{r}/issues/comments/{id}` | Issues: write |
//! | `add_reaction` | `POST /repos/{r}/issues/comments/{id}/reactions` | Issues: write |
//! | `add_labels` | `POST /repos/{r}/issues/{n}/labels` | Issues: write |
//! | `remove_label` | `DELETE /repos/{r}/issues/{n}/labels/{name}` | Issues: write |
//! | `create_label` | `POST /repos/{r}/labels` | Issues: write |
//! | `collaborator_permission` | `GET /repos/{r}/collaborators/{login}/permission` | Metadata: read |
//! | `file_contents` | `GET /repos/{r}/contents/{path}` | Contents: read |
//! | `repository` | `GET /repos/{r}` | Metadata: read |
//! | `commit` | `GET /repos/{r}/commits/{ref}` | Contents: read |
//! | `commits_by` | `GET /repos/{r}/commits?path=&author=` | Contents: read |
//! | `commit_at` | `GET /repos/{r}/commits?sha=&per_page=1&page=` | Contents: read |
//! | `contributors` | `GET /repos/{r}/contributors?anon=1` | Metadata: read |
//! | `check_runs` | `GET /repos/{r}/commits/{ref}/check-runs` | Checks: read |
//! | `branch_check_runs` | `GET /repos/{r}/commits/{branch}/check-runs?per_page=100` | Checks: read |
//! | `workflow_runs` | `GET /repos/{r}/actions/runs?status=completed` | none for public repositories (Actions: read for private ones) |
//! | `workflow_run_jobs` | `GET /repos/{r}/actions/runs/{id}/jobs` | none for public repositories (Actions: read for private ones) |
//! | `tags` | `GET /repos/{r}/tags` | Metadata: read |
//! | `releases` | `GET /repos/{r}/releases` | Contents: read |
//! | `tarball` | `GET /repos/{r}/tarball/{sha}` | Contents: read |
//! | `pull_request` | `GET /repos/{r}/pulls/{n}` | Pull requests: read |
//! | `pull_request_files` | `GET /repos/{r}/pulls/{n}/files` | Pull requests: read |
//! | `pull_request_reviews` | `GET /repos/{r}/pulls/{n}/reviews` | Pull requests: read |
//! | `pull_request_review_comments` | `GET /repos/{r}/pulls/{n}/comments` | Pull requests: read |
//! | `pull_request_commits` | `GET /repos/{r}/pulls/{n}/commits` | Pull requests: read |
//! | `search_issues` | `GET /search/issues?q=` | none (public data) |
//! | `app_slug` | `GET /app` | App JWT |
//! | `create_installation_token` | `POST /app/installations/{id}/access_tokens` | App JWT |
//! | `hook_deliveries` | `GET /app/hook/deliveries` | App JWT |
//! | `redeliver` | `POST /app/hook/deliveries/{id}/attempts` | App JWT |
//! | `convert_manifest` | `POST /app-manifests/{code}/conversions` | none (the code) |

use serde_json::json;

use super::types::{
    App, CheckRuns, CollaboratorPermission, Commit, CommitSummary, ContributorItem, FileContents,
    HookDelivery, InstallationToken, Issue, IssueComment, ListedCommit, ManifestConversion,
    PullCommit, PullFile, PullRequest, Reaction, ReactionContent, Release, Repository, Review,
    ReviewComment, SearchResults, Tag, WorkflowJobItem, WorkflowJobs, WorkflowRunItem,
    WorkflowRuns,
};
use super::web::{query_value, repo, segment, segments};
use super::{Counters, Download, GhError, GitHub, Session, session::decode};

fn repo_path(full_name: &str) -> String {
    format!("/repos/{}", repo(full_name))
}

impl Session {
    /// `None` when the issue is gone.
    pub async fn issue(&self, full: &str, number: i64) -> Result<Option<Issue>, GhError> {
        self.get_optional(&format!("{}/issues/{number}", repo_path(full)))
            .await
    }

    pub async fn issue_comments(
        &self,
        full: &str,
        number: i64,
        max: usize,
    ) -> Result<Vec<IssueComment>, GhError> {
        self.get_all(
            &format!("{}/issues/{number}/comments", repo_path(full)),
            max,
        )
        .await
    }

    pub async fn create_issue_comment(
        &self,
        full: &str,
        number: i64,
        body: &str,
    ) -> Result<IssueComment, GhError> {
        self.post_json(
            &format!("{}/issues/{number}/comments", repo_path(full)),
            &json!({ "body": body }),
        )
        .await
    }

    pub async fn update_issue_comment(
        &self,
        full: &str,
        id: i64,
        body: &str,
    ) -> Result<(), GhError> {
        self.patch_json::<_, serde_json::Value>(
            &format!("{}/issues/comments/{id}", repo_path(full)),
            &json!({ "body": body }),
        )
        .await
        .map(|_| ())
    }

    /// Deletes a comment; `Ok(false)` when it was already gone.
    pub async fn delete_issue_comment(&self, full: &str, id: i64) -> Result<bool, GhError> {
        match self
            .delete(&format!("{}/issues/comments/{id}", repo_path(full)))
            .await
        {
            Ok(()) => Ok(true),
            Err(GhError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Reacts to an issue comment. Adding a reaction that is already there is not an error
    /// (GitHub answers 200 with it), so a retried job reacts once.
    pub(crate) async fn add_reaction(
        &self,
        full: &str,
        comment_id: i64,
        content: ReactionContent,
    ) -> Result<Reaction, GhError> {
        self.post_json(
            &format!("{}/issues/comments/{comment_id}/reactions", repo_path(full)),
            &json!({ "content": content.as_str() }),
        )
        .await
    }

    pub async fn add_labels(
        &self,
        full: &str,
        number: i64,
        labels: &[&str],
    ) -> Result<(), GhError> {
        self.post_json::<_, serde_json::Value>(
            &format!("{}/issues/{number}/labels", repo_path(full)),
            &json!({ "labels": labels }),
        )
        .await
        .map(|_| ())
    }

    pub async fn remove_label(&self, full: &str, number: i64, name: &str) -> Result<(), GhError> {
        self.delete(&format!(
            "{}/issues/{number}/labels/{}",
            repo_path(full),
            segment(name)
        ))
        .await
    }

    /// Creates a label; `Ok(false)` when one of that name exists already (GitHub answers 422
    /// `already_exists`), which is left as it is.
    pub async fn create_label(
        &self,
        full: &str,
        name: &str,
        color: &str,
        description: &str,
    ) -> Result<bool, GhError> {
        match self
            .post_json::<_, serde_json::Value>(
                &format!("{}/labels", repo_path(full)),
                &json!({ "name": name, "color": color, "description": description }),
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(GhError::Other { status: 422, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `None` when the user is not a collaborator (GitHub answers 404).
    pub async fn collaborator_permission(
        &self,
        full: &str,
        login: &str,
    ) -> Result<Option<CollaboratorPermission>, GhError> {
        self.get_optional(&format!(
            "{}/collaborators/{}/permission",
            repo_path(full),
            segment(login)
        ))
        .await
    }

    /// `None` when the file does not exist.
    pub async fn file_contents(
        &self,
        full: &str,
        path: &str,
    ) -> Result<Option<FileContents>, GhError> {
        self.get_optional(&format!("{}/contents/{}", repo_path(full), segments(path)))
            .await
    }

    pub async fn repository(&self, full: &str) -> Result<Repository, GhError> {
        self.get_json(&repo_path(full)).await
    }

    /// One commit by SHA or branch name, with its files.
    pub async fn commit(&self, full: &str, git_ref: &str) -> Result<Commit, GhError> {
        self.get_json(&format!("{}/commits/{}", repo_path(full), segment(git_ref)))
            .await
    }

    /// One page of a user's commits, optionally only those touching `path`.
    pub async fn commits_by(
        &self,
        full: &str,
        author: &str,
        path: Option<&str>,
        per_page: u32,
    ) -> Result<Vec<CommitSummary>, GhError> {
        let filter = match path {
            Some(p) => format!("path={}&", query_value(p)),
            None => String::new(),
        };
        self.get_json(&format!(
            "{}/commits?{filter}author={}&per_page={per_page}",
            repo_path(full),
            query_value(author)
        ))
        .await
    }

    /// The commit at `position` (1 = newest) in the history from `git_ref`: one commit per
    /// page, so that the last position, the history's length, is its first commit. `None`
    /// past the end.
    pub async fn commit_at(
        &self,
        full: &str,
        git_ref: &str,
        position: u64,
    ) -> Result<Option<ListedCommit>, GhError> {
        let page: Vec<ListedCommit> = self
            .get_json(&format!(
                "{}/commits?sha={}&per_page=1&page={position}",
                repo_path(full),
                query_value(git_ref)
            ))
            .await?;
        Ok(page.into_iter().next())
    }

    /// Who wrote the repository's default branch, e-mail authors with no account included
    /// (`anon=1`): the first page of 100 only, which is enough to tell whether one person
    /// wrote it. Conditional like every cached GET.
    pub async fn contributors(&self, full: &str) -> Result<Vec<ContributorItem>, GhError> {
        self.get_json(&format!(
            "{}/contributors?anon=1&per_page=100",
            repo_path(full)
        ))
        .await
    }

    pub async fn check_runs(&self, full: &str, git_ref: &str) -> Result<CheckRuns, GhError> {
        self.get_json(&format!(
            "{}/commits/{}/check-runs",
            repo_path(full),
            segment(git_ref)
        ))
        .await
    }

    /// The check runs of a branch's head, one page of 100: every run carries `head_sha`, so
    /// the page also says which commit the head is.
    pub(crate) async fn branch_check_runs(
        &self,
        full: &str,
        branch: &str,
    ) -> Result<CheckRuns, GhError> {
        self.get_json(&format!(
            "{}/commits/{}/check-runs?per_page=100",
            repo_path(full),
            segment(branch)
        ))
        .await
    }

    /// The newest completed workflow runs, one page of 100: one request per repository,
    /// conditional like every cached GET. Folio reads public repositories, whose runs need no
    /// App permission.
    pub async fn workflow_runs(&self, full: &str) -> Result<Vec<WorkflowRunItem>, GhError> {
        let r: WorkflowRuns = self
            .get_json(&format!(
                "{}/actions/runs?status=completed&per_page=100",
                repo_path(full)
            ))
            .await?;
        Ok(r.workflow_runs)
    }

    /// The jobs of one run (every matrix leg is a job), first page of 100.
    pub async fn workflow_run_jobs(
        &self,
        full: &str,
        run_id: u64,
    ) -> Result<Vec<WorkflowJobItem>, GhError> {
        let r: WorkflowJobs = self
            .get_json(&format!(
                "{}/actions/runs/{run_id}/jobs?per_page=100",
                repo_path(full)
            ))
            .await?;
        Ok(r.jobs)
    }

    pub async fn tags(&self, full: &str, max: usize) -> Result<Vec<Tag>, GhError> {
        self.get_all(&format!("{}/tags", repo_path(full)), max)
            .await
    }

    pub async fn releases(&self, full: &str, max: usize) -> Result<Vec<Release>, GhError> {
        self.get_all(&format!("{}/releases", repo_path(full)), max)
            .await
    }

    /// The repository's archive at one commit, as a download to read as it arrives.
    pub async fn tarball(&self, full: &str, sha: &str) -> Result<Download, GhError> {
        self.download(&format!("{}/tarball/{}", repo_path(full), segment(sha)))
            .await
    }

    pub async fn pull_request(&self, full: &str, number: u64) -> Result<PullRequest, GhError> {
        self.get_json(&format!("{}/pulls/{number}", repo_path(full)))
            .await
    }

    /// The lists of a pull request, at most `max` items each, every item turned into what is
    /// kept (`keep`) as its page arrives, so that no more than one page of GitHub's answer is
    /// held at a time.
    pub async fn pull_request_files<U>(
        &self,
        full: &str,
        number: u64,
        max: usize,
        keep: impl FnMut(PullFile) -> U,
    ) -> Result<Vec<U>, GhError> {
        self.get_all_map(
            &format!("{}/pulls/{number}/files", repo_path(full)),
            max,
            keep,
        )
        .await
    }

    pub async fn pull_request_reviews<U>(
        &self,
        full: &str,
        number: u64,
        max: usize,
        keep: impl FnMut(Review) -> U,
    ) -> Result<Vec<U>, GhError> {
        self.get_all_map(
            &format!("{}/pulls/{number}/reviews", repo_path(full)),
            max,
            keep,
        )
        .await
    }

    pub async fn pull_request_review_comments<U>(
        &self,
        full: &str,
        number: u64,
        max: usize,
        keep: impl FnMut(ReviewComment) -> U,
    ) -> Result<Vec<U>, GhError> {
        self.get_all_map(
            &format!("{}/pulls/{number}/comments", repo_path(full)),
            max,
            keep,
        )
        .await
    }

    pub async fn pull_request_commits<U>(
        &self,
        full: &str,
        number: u64,
        max: usize,
        keep: impl FnMut(PullCommit) -> U,
    ) -> Result<Vec<U>, GhError> {
        self.get_all_map(
            &format!("{}/pulls/{number}/commits", repo_path(full)),
            max,
            keep,
        )
        .await
    }

    /// One page of up to 100 search results: enough to tell whether a bot's pull requests
    /// were merged. [`SearchResults::complete`] says whether the page holds every match.
    pub async fn search_issues(&self, query: &str) -> Result<SearchResults, GhError> {
        self.get_json(&format!(
            "/search/issues?q={}&per_page=100",
            query_value(query)
        ))
        .await
    }

    /// The app's slug (its bot user is `<slug>[bot]`), fetched once with the app JWT.
    pub async fn app_slug(&self) -> Result<String, GhError> {
        if let Some(s) = self.gh.app_slug.lock().ok().and_then(|s| s.clone()) {
            return Ok(s);
        }
        let jwt = self.gh.app_jwt()?;
        let path = "/app";
        let resp = self
            .gh
            .send_with_retries(
                "GET",
                path,
                None,
                Some(&format!("Bearer {jwt}")),
                None,
                &self.counters,
                "app",
            )
            .await?;
        let app: App = decode(path, &resp.body)?;
        if let Ok(mut s) = self.gh.app_slug.lock() {
            *s = Some(app.slug.clone());
        }
        Ok(app.slug)
    }

    /// One page of the App's webhook delivery log, newest first, with the next page's path.
    /// Never answered from the cache: the log must be read as it is now.
    pub async fn hook_deliveries(
        &self,
        page: Option<&str>,
    ) -> Result<(Vec<HookDelivery>, Option<String>), GhError> {
        let first = "/app/hook/deliveries?per_page=100";
        self.get_page(page.unwrap_or(first)).await
    }

    /// Asks GitHub to send a logged delivery again.
    pub async fn redeliver(&self, delivery_id: i64) -> Result<(), GhError> {
        self.post_empty(&format!("/app/hook/deliveries/{delivery_id}/attempts"))
            .await
    }
}

impl GitHub {
    /// Mints an installation token with the App JWT.
    pub(crate) async fn create_installation_token(
        &self,
        installation: i64,
        counters: &Counters,
    ) -> Result<InstallationToken, GhError> {
        let jwt = self.app_jwt()?;
        let path = format!("/app/installations/{installation}/access_tokens");
        let resp = self
            .send_with_retries(
                "POST",
                &path,
                Some(b"{}".to_vec()),
                Some(&format!("Bearer {jwt}")),
                None,
                counters,
                "app",
            )
            .await?;
        decode(&path, &resp.body)
    }

    /// Exchanges an App Manifest code for the new App's credentials. Unauthenticated: the
    /// code is the credential. Sent once, never retried: a code works only once, so a retry
    /// after a lost answer would fail anyway.
    pub async fn convert_manifest(&self, code: &str) -> Result<ManifestConversion, GhError> {
        let path = format!("/app-manifests/{}/conversions", segment(code));
        let resp = self
            .send_once("POST", &path, None, &Counters::default())
            .await?;
        decode(&path, &resp.body)
    }
}
