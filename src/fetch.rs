//! Fetching a portfolio from GitHub into immutable snapshots: the only I/O of an evaluation.
//! Independent requests run concurrently within a bound; every list is paginated; repository
//! files come from one tarball per repository at one commit, cached by commit SHA.

use std::collections::{BTreeMap, HashMap};

use futures::stream::{self, StreamExt};
use serde::Deserialize;
use tracing::{Instrument, debug, info_span, warn};

use crate::archive::{
    self, ArchiveBudget, ExtractError, Extracted, FileRules, Limits, StreamError, TooLarge,
};
use crate::attribution::{TemplateOrigin, template_origin};
use crate::config::ArchiveSettings;
use crate::github::{GhError, Session};
use crate::model::RepoAttribution;
use crate::snapshot::{
    CheckRun, PrCommit, PrFile, PrReview, PrReviewComment, PullRequestSnapshot, Release,
    RepoActivity, RepoSnapshot, SkippedFile, Tag, WorkflowJob, WorkflowRun,
};
use crate::store::DynStore;
use crate::submission::{PrRef, RepoRef};

mod authorship;

pub(crate) use authorship::{MAX_ATTRIBUTION_COMMITS, OWNED_ATTRIBUTION_REQUESTS, OwnedHistory};

const CONCURRENCY: usize = 4;
/// Downloads of one archive, when the connection fails part-way.
const MAX_ARCHIVE_ATTEMPTS: u32 = 3;
/// Job listings read per repository (one request each): one per workflow file, newest
/// first. A run beyond the bound keeps `jobs: None` and is judged by its own conclusion.
pub(crate) const MAX_JOB_REQUESTS: usize = 8;

#[derive(Debug, Clone, PartialEq)]
pub struct RepoMeta {
    pub full_name: String,
    pub html_url: String,
    pub owner: String,
    pub private: bool,
    pub fork: bool,
    pub parent: Option<String>,
    pub from_template: bool,
    pub template: Option<String>,
    /// How it came from a template: GitHub's template, cruft's or copier's answers file, or
    /// (read for owned repositories only) a first commit that names cookiecutter.
    pub template_origin: Option<TemplateOrigin>,
    pub default_branch: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FetchedRepo {
    pub meta: RepoMeta,
    pub snapshot: RepoSnapshot,
    pub attribution: RepoAttribution,
    /// Whether it was linked directly (else it is the repository of a linked pull request).
    pub linked: bool,
    /// Contributors and first commit, for a repository the candidate owns.
    pub owned_history: Option<OwnedHistory>,
    /// Wanted text files not kept, past the text kept per repository (sorted).
    pub left_out: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Portfolio {
    pub pull_requests: Vec<PullRequestSnapshot>,
    pub repositories: Vec<FetchedRepo>,
    /// Links that could not be used, with the reason, for the report's warnings.
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
struct User {
    login: String,
}

#[derive(Deserialize)]
struct RepoJson {
    full_name: String,
    html_url: String,
    owner: User,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    fork: bool,
    #[serde(default)]
    parent: Option<Box<RepoJsonShort>>,
    #[serde(default)]
    template_repository: Option<Box<RepoJsonShort>>,
    #[serde(default)]
    default_branch: Option<String>,
}

#[derive(Deserialize)]
struct RepoJsonShort {
    full_name: String,
}

#[derive(Deserialize)]
struct Ref {
    sha: String,
    #[serde(default)]
    repo: Option<RepoJsonLite>,
}

#[derive(Deserialize)]
struct RepoJsonLite {
    full_name: String,
    #[serde(default)]
    private: bool,
}

#[derive(Deserialize)]
struct PullJson {
    html_url: String,
    title: String,
    user: User,
    state: String,
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default)]
    merged_at: Option<String>,
    created_at: String,
    head: Ref,
    base: Ref,
}

fn ts(s: &str) -> Option<i64> {
    humantime::parse_rfc3339_weak(s.trim_end_matches('Z'))
        .or_else(|_| humantime::parse_rfc3339(s))
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
}

/// A link that is missing or private, in the one wording for both: a difference would tell
/// whoever reads the public comment which private repositories exist where Folio is installed.
fn unavailable(link: &str) -> String {
    format!("{link}: not found or not public; not evaluated and not quoted")
}

/// The public warning for a link that could not be read: what happened in plain words, the
/// error itself to the log only.
fn warning_for(link: &str, e: &GhError) -> String {
    match e {
        GhError::NotFound(_) | GhError::Forbidden { .. } => unavailable(link),
        GhError::TooLarge { limit, .. } => {
            format!("{link}: one of GitHub's answers for it is larger than {limit} bytes; skipped")
        }
        // Where to is left out: the comment is public, the address may be anything.
        GhError::Redirect { .. } => {
            format!("{link}: GitHub redirected the request away from GitHub; skipped")
        }
        other => {
            warn!(%link, error = %other, "link not fetched");
            format!("{link}: GitHub answered with an error; skipped")
        }
    }
}

/// Why a repository was not read.
#[derive(Debug)]
enum RepoError {
    GitHub(GhError),
    /// Its archive is over a cap.
    TooLarge(TooLarge),
}

impl From<GhError> for RepoError {
    fn from(e: GhError) -> Self {
        Self::GitHub(e)
    }
}

impl RepoError {
    fn warning(&self, link: &str) -> String {
        match self {
            Self::GitHub(e) => warning_for(link, e),
            Self::TooLarge(t) => {
                format!("{link}: too large to analyse ({t}); its files were not read")
            }
        }
    }
}

/// Items read per pull request, each list paginated by 100 (GitHub lists at most 3,000 files
/// and 250 commits of a pull request). The pipeline's request estimate counts their pages.
pub(crate) const MAX_PR_FILES: usize = 3000;
pub(crate) const MAX_PR_REVIEWS: usize = 1000;
pub(crate) const MAX_PR_REVIEW_COMMENTS: usize = 2000;
pub(crate) const MAX_PR_COMMITS: usize = 250;
/// Texts kept from pull requests and releases (review and comment bodies, diff hunks, commit
/// messages, release notes), at most this many bytes each: GitHub allows 64 K characters, and
/// a quote or a signal needs far less.
pub(crate) const MAX_KEPT_TEXT_BYTES: usize = 8 * 1024;

fn kept_text(text: String) -> String {
    match crate::render::neutralise::cut_bytes(&text, MAX_KEPT_TEXT_BYTES) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(cut) => cut,
    }
}

fn text_at(v: &serde_json::Value, k: &str) -> Option<String> {
    v.get(k).and_then(|x| x.as_str()).map(str::to_string)
}

fn number_at(v: &serde_json::Value, k: &str) -> Option<u64> {
    v.get(k).and_then(|x| x.as_u64())
}

fn login_of(v: &serde_json::Value) -> String {
    v.get("user")
        .and_then(|u| u.get("login"))
        .and_then(|l| l.as_str())
        .unwrap_or("ghost")
        .to_string()
}

fn pr_file(f: serde_json::Value) -> PrFile {
    PrFile {
        filename: text_at(&f, "filename").unwrap_or_default(),
        status: text_at(&f, "status").unwrap_or_default(),
        additions: number_at(&f, "additions").unwrap_or(0) as u32,
        deletions: number_at(&f, "deletions").unwrap_or(0) as u32,
        patch: text_at(&f, "patch"),
    }
}

fn pr_review(r: serde_json::Value) -> PrReview {
    PrReview {
        id: number_at(&r, "id").unwrap_or(0),
        html_url: text_at(&r, "html_url").unwrap_or_default(),
        author: login_of(&r),
        state: text_at(&r, "state").unwrap_or_default(),
        body: kept_text(text_at(&r, "body").unwrap_or_default()),
        commit_id: text_at(&r, "commit_id"),
        submitted_at: text_at(&r, "submitted_at").and_then(|t| ts(&t)),
    }
}

fn pr_review_comment(c: serde_json::Value) -> PrReviewComment {
    PrReviewComment {
        id: number_at(&c, "id").unwrap_or(0),
        html_url: text_at(&c, "html_url").unwrap_or_default(),
        author: login_of(&c),
        body: kept_text(text_at(&c, "body").unwrap_or_default()),
        path: text_at(&c, "path"),
        diff_hunk: text_at(&c, "diff_hunk").map(kept_text),
        line: number_at(&c, "line").map(|x| x as u32),
        original_line: number_at(&c, "original_line").map(|x| x as u32),
        commit_id: text_at(&c, "commit_id"),
        original_commit_id: text_at(&c, "original_commit_id"),
        in_reply_to_id: number_at(&c, "in_reply_to_id"),
        pull_request_review_id: number_at(&c, "pull_request_review_id"),
        created_at: text_at(&c, "created_at").and_then(|t| ts(&t)).unwrap_or(0),
    }
}

fn pr_commit(c: serde_json::Value) -> PrCommit {
    PrCommit {
        sha: text_at(&c, "sha").unwrap_or_default(),
        author_login: c
            .get("author")
            .and_then(|a| a.get("login"))
            .and_then(|l| l.as_str())
            .map(str::to_string),
        message: kept_text(
            c.get("commit")
                .and_then(|x| x.get("message"))
                .and_then(|m| m.as_str())
                .unwrap_or("")
                .to_string(),
        ),
        committed_at: c
            .get("commit")
            .and_then(|x| x.get("committer"))
            .and_then(|x| x.get("date"))
            .and_then(|d| d.as_str())
            .and_then(ts),
    }
}

/// The repository files analysis reads, and those it reads first when a repository's text is
/// over its budget.
pub(crate) const FILE_RULES: FileRules = FileRules {
    wanted: crate::analyze::practices::is_wanted_path,
    first: crate::analyze::practices::is_read_first,
};

/// The caps of one archive: the operator's settings, the installation's `max_tarball_mb`, and
/// no more kept text than analysis parses per repository.
pub(crate) fn archive_limits(settings: &ArchiveSettings, max_tarball_bytes: u64) -> Limits {
    Limits {
        compressed_bytes: max_tarball_bytes,
        unpacked_bytes: settings.max_unpacked_bytes,
        entries: settings.max_entries,
        kept_bytes: crate::analyze::practices::MAX_PARSED_BYTES,
    }
}

/// Errors that say nothing about one link but about the whole evaluation: GitHub is
/// unavailable, or it rejects our credentials. They fail (or defer) the evaluation instead of
/// turning every link into a warning.
fn is_fatal(e: &GhError) -> bool {
    e.is_transient() || matches!(e, GhError::Unauthorized(_))
}

pub struct Fetcher<'a> {
    pub session: &'a Session,
    pub web_url: &'a url::Url,
    pub store: Option<&'a DynStore>,
    pub candidate: &'a str,
    /// What one repository archive may cost.
    pub(crate) archive: Limits,
    /// Bytes held by archive extractions, shared by every evaluation of the process.
    pub(crate) archive_budget: &'a ArchiveBudget,
    /// Which repository files the analyzers need, and which first.
    pub(crate) files: FileRules,
}

impl Fetcher<'_> {
    pub async fn portfolio(&self, prs: &[PrRef], repos: &[RepoRef]) -> Result<Portfolio, GhError> {
        let mut out = Portfolio::default();
        let results: Vec<(String, Result<Option<PullRequestSnapshot>, GhError>)> =
            stream::iter(prs.iter().cloned())
                .map(|p| async move {
                    let link = format!(
                        "{}/{}/pull/{}",
                        self.web_url.as_str().trim_end_matches('/'),
                        p.repo.full_name(),
                        p.number
                    );
                    let span =
                        info_span!("pull_request", repo = %p.repo.full_name(), pr = p.number);
                    (link, self.pull_request(&p).instrument(span).await)
                })
                .buffered(CONCURRENCY)
                .collect()
                .await;
        let mut repo_order: Vec<(RepoRef, bool)> =
            repos.iter().map(|r| (r.clone(), true)).collect();
        for (link, r) in results {
            match r {
                Ok(Some(pr)) => {
                    let (owner, name) = pr.repo.split_once('/').unwrap_or((&pr.repo, ""));
                    let rr = RepoRef {
                        owner: owner.to_string(),
                        name: name.to_string(),
                    };
                    if !repo_order
                        .iter()
                        .any(|(x, _)| x.full_name().eq_ignore_ascii_case(&rr.full_name()))
                    {
                        repo_order.push((rr, false));
                    }
                    out.pull_requests.push(pr);
                }
                Ok(None) => out.warnings.push(unavailable(&link)),
                Err(e) if is_fatal(&e) => return Err(e),
                Err(e) => out.warnings.push(warning_for(&link, &e)),
            }
        }

        let authored_in: Vec<String> = out
            .pull_requests
            .iter()
            .filter(|p| p.author.eq_ignore_ascii_case(self.candidate))
            .map(|p| p.repo.to_ascii_lowercase())
            .collect();
        let bot_merged = self.dependency_bot_prs(&repo_order).await;
        let results: Vec<(String, bool, Result<Option<FetchedRepo>, RepoError>)> =
            stream::iter(repo_order)
                .map(|(r, linked)| {
                    let authored = authored_in.contains(&r.full_name().to_ascii_lowercase());
                    let bot = bot_merged.of(&r.full_name());
                    async move {
                        let link = format!(
                            "{}/{}",
                            self.web_url.as_str().trim_end_matches('/'),
                            r.full_name()
                        );
                        let span = info_span!("repository", repo = %r.full_name());
                        let res = self
                            .repository(&r, authored, bot)
                            .instrument(span)
                            .await
                            .map(|o| {
                                o.map(|mut f| {
                                    f.linked = linked;
                                    f
                                })
                            });
                        (link, linked, res)
                    }
                })
                .buffered(CONCURRENCY)
                .collect()
                .await;
        for (link, linked, r) in results {
            match r {
                Ok(Some(repo)) => {
                    // Only a repository that is analysed has text that was left out of it.
                    if !repo.left_out.is_empty() && repo.attribution != RepoAttribution::Unrelated {
                        let left_out: Vec<&str> =
                            repo.left_out.iter().map(String::as_str).collect();
                        out.warnings.push(format!(
                            "{}: {}",
                            repo.meta.full_name,
                            crate::analyze::practices::budget_warning(
                                &left_out,
                                self.archive.kept_bytes
                            )
                        ));
                    }
                    out.repositories.push(repo)
                }
                Ok(None) if linked => out.warnings.push(unavailable(&link)),
                Ok(None) => {}
                Err(RepoError::GitHub(e)) if is_fatal(&e) => return Err(e),
                Err(e) if linked => out.warnings.push(e.warning(&link)),
                Err(e) => debug!(%link, error = ?e, "repository of a pull request not fetched"),
            }
        }
        Ok(out)
    }

    /// `None` when the pull request is not public.
    async fn pull_request(&self, p: &PrRef) -> Result<Option<PullRequestSnapshot>, GhError> {
        let base = format!("/repos/{}/pulls/{}", p.repo.full_name(), p.number);
        let pr: PullJson = self.session.get_json(&base).await?;
        if pr.base.repo.as_ref().is_none_or(|r| r.private) {
            return Ok(None);
        }
        let repo_name = pr
            .base
            .repo
            .as_ref()
            .map(|r| r.full_name.clone())
            .unwrap_or_else(|| p.repo.full_name());
        let (files_path, reviews_path, comments_path, commits_path) = (
            format!("{base}/files"),
            format!("{base}/reviews"),
            format!("{base}/comments"),
            format!("{base}/commits"),
        );
        // Each page is turned into what is kept as it arrives, so that at most one page of
        // GitHub's JSON is held at a time.
        let files = self.session.get_all_map(&files_path, MAX_PR_FILES, pr_file);
        let reviews = self
            .session
            .get_all_map(&reviews_path, MAX_PR_REVIEWS, pr_review);
        let comments =
            self.session
                .get_all_map(&comments_path, MAX_PR_REVIEW_COMMENTS, pr_review_comment);
        let commits = self
            .session
            .get_all_map(&commits_path, MAX_PR_COMMITS, pr_commit);
        let checks_path = format!("/repos/{repo_name}/commits/{}/check-runs", pr.head.sha);
        let checks = self.session.get_json::<CheckRuns>(&checks_path);
        let (files, reviews, review_comments, commits, checks) =
            futures::join!(files, reviews, comments, commits, checks);
        let (files, reviews, review_comments, commits) =
            (files?, reviews?, review_comments?, commits?);
        let head_checks = match checks {
            Ok(c) => Some(c.into_runs()),
            Err(GhError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        Ok(Some(PullRequestSnapshot {
            repo: repo_name,
            number: p.number,
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

    /// Merged pull requests of dependency bots per repository, through the search API (one
    /// query per bot for all repositories). A failed or incomplete search leaves the counts
    /// it could not establish unknown; what another search found still counts.
    async fn dependency_bot_prs(&self, repos: &[(RepoRef, bool)]) -> BotCounts {
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

    /// The repository's newest completed workflow runs (one listing), with the jobs of the
    /// runs the analysis judges: per workflow file, the latest on the default branch, or,
    /// for a workflow with no default-branch run (tag- and release-triggered ones), the
    /// latest on any ref. `None` when the listing failed: unknown, never "did not run".
    async fn workflow_runs(
        &self,
        full: &str,
        default_branch: &str,
        head_jobs: Option<&HeadJobs>,
    ) -> Option<Vec<WorkflowRun>> {
        let listed = match self.session.workflow_runs(full).await {
            Ok(l) => l,
            Err(e) => {
                debug!(repo = full, error = %e, "workflow runs not fetched");
                return None;
            }
        };
        // A run at the default branch's head reports its jobs as check runs of that commit,
        // in its check suite: those were read already, so its jobs cost no request.
        let mut known_jobs: HashMap<u64, Vec<WorkflowJob>> = HashMap::new();
        if let Some(head) = head_jobs {
            for r in &listed {
                if r.head_sha.as_deref() == Some(head.sha.as_str())
                    && let Some(jobs) = r.check_suite_id.and_then(|s| head.by_suite.get(&s))
                {
                    known_jobs.insert(r.id, jobs.clone());
                }
            }
        }
        let mut runs: Vec<(u64, WorkflowRun)> = listed
            .into_iter()
            .filter_map(|r| {
                let path = r.path?;
                let path = match path.split_once('@') {
                    Some((p, _)) => p.to_string(),
                    None => path,
                };
                Some((
                    r.id,
                    WorkflowRun {
                        workflow_path: path,
                        event: r.event.unwrap_or_default(),
                        head_branch: r.head_branch,
                        status: r.status.unwrap_or_default(),
                        conclusion: r.conclusion,
                        html_url: r.html_url?,
                        created_at: r.created_at.as_deref().and_then(ts)? * 1000,
                        jobs: None,
                    },
                ))
            })
            .collect();
        runs.sort_by_key(|(_, r)| std::cmp::Reverse(r.created_at));
        let mut wanted = runs_needing_jobs(&runs, default_branch);
        wanted.retain(|id| match known_jobs.remove(id) {
            Some(jobs) => {
                if let Some((_, run)) = runs.iter_mut().find(|(rid, _)| rid == id) {
                    run.jobs = Some(jobs);
                }
                false
            }
            None => true,
        });
        let jobs: Vec<(u64, Option<Vec<WorkflowJob>>)> = stream::iter(wanted)
            .map(|id| async move {
                let jobs = match self.session.workflow_run_jobs(full, id).await {
                    Ok(jobs) => Some(
                        jobs.into_iter()
                            .map(|j| WorkflowJob {
                                name: j.name.unwrap_or_default(),
                                conclusion: j.conclusion,
                                html_url: j.html_url,
                            })
                            .collect(),
                    ),
                    Err(e) => {
                        debug!(repo = full, run = id, error = %e, "run jobs not fetched");
                        None
                    }
                };
                (id, jobs)
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        for (id, j) in jobs {
            if let Some((_, run)) = runs.iter_mut().find(|(rid, _)| *rid == id) {
                run.jobs = j;
            }
        }
        Some(runs.into_iter().map(|(_, r)| r).collect())
    }

    /// `None` when the repository is not public.
    async fn repository(
        &self,
        r: &RepoRef,
        candidate_authored_pr: bool,
        bot_merged: Option<u32>,
    ) -> Result<Option<FetchedRepo>, RepoError> {
        let path = format!("/repos/{}", r.full_name());
        let repo: RepoJson = self.session.get_json(&path).await?;
        if repo.private || repo.visibility.as_deref().is_some_and(|v| v != "public") {
            return Ok(None);
        }
        let full = repo.full_name.clone();
        let branch = repo.default_branch.clone().unwrap_or_else(|| "main".into());
        // The default branch's check runs, asked for by branch name, also say which commit
        // is its head (every run carries `head_sha`), which saves a request per repository;
        // only a branch without runs needs the commit lookup.
        let checks = self
            .session
            .get_json::<CheckRuns>(&format!(
                "/repos/{full}/commits/{}/check-runs?per_page=100",
                enc(&branch)
            ))
            .await;
        let (default_branch_checks, head_from_checks, head_jobs) = match checks {
            Ok(c) => {
                let sha = c.head_sha();
                let jobs = c.head_jobs();
                (Some(c.into_runs()), sha, jobs)
            }
            Err(GhError::NotFound(_)) => (None, None, None),
            Err(e) => return Err(e.into()),
        };
        #[derive(Deserialize)]
        struct Commit {
            sha: String,
        }
        let head = match head_from_checks {
            Some(sha) => Commit { sha },
            None => {
                self.session
                    .get_json::<Commit>(&format!("/repos/{full}/commits/{}", enc(&branch)))
                    .await?
            }
        };
        let owner_is_candidate = repo.owner.login.eq_ignore_ascii_case(self.candidate);
        let attribution = if owner_is_candidate && !repo.fork {
            RepoAttribution::Owned
        } else if owner_is_candidate {
            RepoAttribution::Fork
        } else if candidate_authored_pr {
            RepoAttribution::Contributed
        } else {
            let mine: Vec<serde_json::Value> = self
                .session
                .get_json(&format!(
                    "/repos/{full}/commits?author={}&per_page=1",
                    enc(self.candidate)
                ))
                .await
                .unwrap_or_default();
            if mine.is_empty() {
                RepoAttribution::Unrelated
            } else {
                RepoAttribution::Contributed
            }
        };

        let files = self.files_at(&full, &head.sha);
        let (tags_path, releases_path) = (
            format!("/repos/{full}/tags"),
            format!("/repos/{full}/releases"),
        );
        let tags_and_releases = async {
            let tags = self
                .session
                .get_all::<serde_json::Value>(&tags_path, 100)
                .await?;
            // A published release always has its tag (GitHub turns a release whose tag is
            // deleted back into a draft), so a repository without tags has none to read.
            let releases = if tags.is_empty() {
                Vec::new()
            } else {
                self.session
                    .get_all::<serde_json::Value>(&releases_path, 30)
                    .await?
            };
            Ok::<_, GhError>((tags, releases))
        };
        let runs = self.workflow_runs(&full, &branch, head_jobs.as_ref());
        let owned = async {
            match attribution {
                RepoAttribution::Owned => Some(self.owned_history(&full, &head.sha).await),
                _ => None,
            }
        };
        let (files, tags_and_releases, workflow_runs, owned_history) =
            futures::join!(files, tags_and_releases, runs, owned);
        let kept = files?;
        let (tags, releases) = tags_and_releases?;
        let origin = template_origin(
            repo.template_repository.is_some(),
            &kept.files,
            owned_history
                .as_ref()
                .and_then(|h| h.first_commit.as_ref())
                .map(|c| c.message.as_str()),
        );
        let tags = tags
            .iter()
            .filter_map(|t| {
                Some(Tag {
                    name: t.get("name")?.as_str()?.to_string(),
                    commit_time: None,
                    commit: t
                        .get("commit")
                        .and_then(|c| c.get("sha"))
                        .and_then(|s| s.as_str())
                        .map(str::to_string),
                })
            })
            .collect();
        let releases = releases
            .iter()
            .filter_map(|r| {
                let s = |k: &str| r.get(k).and_then(|x| x.as_str()).map(str::to_string);
                Some(Release {
                    tag_name: s("tag_name")?,
                    name: s("name"),
                    body: s("body").map(kept_text),
                    html_url: s("html_url"),
                    draft: r.get("draft").and_then(|x| x.as_bool()).unwrap_or(false),
                    prerelease: r
                        .get("prerelease")
                        .and_then(|x| x.as_bool())
                        .unwrap_or(false),
                    published_at: s("published_at").and_then(|t| ts(&t)),
                    author_login: r
                        .get("author")
                        .and_then(|a| a.get("login"))
                        .and_then(|l| l.as_str())
                        .map(str::to_string),
                    asset_names: r
                        .get("assets")
                        .and_then(|a| a.as_array())
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| {
                                    x.get("name").and_then(|n| n.as_str()).map(str::to_string)
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                })
            })
            .collect();
        Ok(Some(FetchedRepo {
            meta: RepoMeta {
                full_name: full.clone(),
                html_url: repo.html_url,
                owner: repo.owner.login,
                private: false,
                fork: repo.fork,
                parent: repo.parent.map(|p| p.full_name),
                from_template: origin.is_some(),
                template: repo.template_repository.map(|t| t.full_name),
                template_origin: origin,
                default_branch: branch,
            },
            snapshot: RepoSnapshot {
                full_name: Some(full),
                commit: Some(head.sha),
                files: kept.files,
                skipped: kept.skipped,
                tags: Some(tags),
                releases: Some(releases),
                activity: Some(RepoActivity {
                    dependency_bot_merged_prs: bot_merged,
                    default_branch_checks,
                    default_branch: repo.default_branch.clone(),
                    workflow_runs,
                }),
            },
            attribution,
            linked: true,
            owned_history,
            left_out: kept.left_out,
        }))
    }

    /// The files the analyzers need at one commit: from the snapshot cache, or from the
    /// repository tarball (then cached by commit SHA). An archive over a cap is remembered the
    /// same way, so that the next evaluation does not download it again.
    async fn files_at(&self, full: &str, sha: &str) -> Result<Extracted, RepoError> {
        if self.store.is_some() {
            self.session
                .note_cache_link(crate::store::CacheLink::Snapshot {
                    repo: full.to_string(),
                    commit: sha.to_string(),
                });
        }
        if let Some(store) = self.store
            && let Ok(Some(bytes)) = store.snapshot_get(full, sha).await
            && let Some(cached) = CachedFiles::decode(&bytes)
        {
            match cached.too_large {
                Some(verdict) if verdict.holds_under(&self.archive) => {
                    debug!(repo = full, sha, %verdict, "too large, as found before");
                    return Err(RepoError::TooLarge(verdict));
                }
                // A cap was raised since: the archive gets another try.
                Some(_) => {}
                None => {
                    debug!(repo = full, sha, "repository snapshot from cache");
                    return Ok(Extracted {
                        files: cached.files,
                        skipped: cached.skipped,
                        left_out: cached.left_out,
                    });
                }
            }
        }
        let result = self.download_files(full, sha).await;
        let none = Extracted::default();
        let (kept, too_large) = match &result {
            Ok(kept) => (kept, None),
            Err(RepoError::TooLarge(verdict)) => (&none, Some(*verdict)),
            Err(RepoError::GitHub(_)) => return result,
        };
        let cached = CachedFilesRef {
            files: &kept.files,
            skipped: &kept.skipped,
            left_out: &kept.left_out,
            too_large,
        };
        if let Some(store) = self.store
            && let Some(bytes) = cached.encode()
        {
            let _ = store.snapshot_put(full, sha, &bytes).await;
        }
        result
    }

    /// Downloads the archive and extracts it as it arrives, under the process-wide budget.
    async fn download_files(&self, full: &str, sha: &str) -> Result<Extracted, RepoError> {
        // Reserved before the download starts, so that waiting holds no connection open.
        let _held = self.archive_budget.reserve(self.archive.held_bytes()).await;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let download = self.session.tarball(full, sha).await?;
            let extracted =
                archive::extract_stream(download.into_stream(), self.files, self.archive).await;
            return match extracted {
                Ok(kept) => Ok(kept),
                Err(StreamError::Extract(ExtractError::TooLarge(verdict))) => {
                    Err(RepoError::TooLarge(verdict))
                }
                Err(StreamError::Extract(ExtractError::Unreadable(e))) => {
                    Err(RepoError::GitHub(GhError::Decode {
                        path: full.to_string(),
                        message: format!("unreadable archive: {e}"),
                    }))
                }
                // Cut off part-way: the archive again, from its start.
                Err(StreamError::Source(e))
                    if e.is_transient() && attempt < MAX_ARCHIVE_ATTEMPTS =>
                {
                    debug!(repo = full, error = %e, "archive download cut off; again");
                    continue;
                }
                Err(StreamError::Source(e)) => Err(RepoError::GitHub(e)),
            };
        }
    }
}

/// Merged dependency-bot pull requests per repository (lower-case `owner/name`), and whether
/// every search answered in full.
struct BotCounts {
    counts: HashMap<String, u32>,
    complete: bool,
}

impl BotCounts {
    /// A count found is a fact; zero is only a fact when every search answered in full,
    /// otherwise it is unknown.
    fn of(&self, full_name: &str) -> Option<u32> {
        match self.counts.get(&full_name.to_ascii_lowercase()).copied() {
            Some(n) if n > 0 => Some(n),
            _ if self.complete => Some(0),
            _ => None,
        }
    }
}

/// The runs whose jobs are read, newest first, at most [`MAX_JOB_REQUESTS`]: per workflow
/// file the latest completed run on `default_branch`, else its latest completed run on any
/// ref. `runs` is sorted newest first.
fn runs_needing_jobs(runs: &[(u64, WorkflowRun)], default_branch: &str) -> Vec<u64> {
    let completed = || runs.iter().filter(|(_, r)| r.status == "completed");
    let mut paths: Vec<&str> = Vec::new();
    for (_, r) in completed() {
        if !paths.contains(&r.workflow_path.as_str()) {
            paths.push(&r.workflow_path);
        }
    }
    let mut out = Vec::new();
    for path in paths {
        let of_path = || completed().filter(|(_, r)| r.workflow_path == path);
        let pick = of_path()
            .find(|(_, r)| r.head_branch.as_deref() == Some(default_branch))
            .or_else(|| of_path().next());
        if let Some((id, _)) = pick {
            out.push(*id);
        }
        if out.len() >= MAX_JOB_REQUESTS {
            break;
        }
    }
    out
}

/// What the snapshot cache keeps per repository and commit: the files kept, or the verdict
/// that the archive is over a cap.
#[derive(Deserialize)]
struct CachedFiles {
    files: BTreeMap<String, String>,
    skipped: Vec<SkippedFile>,
    #[serde(default)]
    left_out: Vec<String>,
    #[serde(default)]
    too_large: Option<TooLarge>,
}

impl CachedFiles {
    /// Reads an entry: gzip-compressed JSON, or plain JSON as entries were first written.
    fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let unpacked = std::io::BufReader::new(flate2::read::GzDecoder::new(bytes));
            serde_json::from_reader(unpacked).ok()
        } else {
            serde_json::from_slice(bytes).ok()
        }
    }
}

/// [`CachedFiles`] as written, borrowing what was just extracted.
#[derive(serde::Serialize)]
struct CachedFilesRef<'a> {
    files: &'a BTreeMap<String, String>,
    skipped: &'a [SkippedFile],
    left_out: &'a [String],
    too_large: Option<TooLarge>,
}

impl CachedFilesRef<'_> {
    /// JSON written straight into gzip: the kept text is never copied whole as JSON, and the
    /// entry kept for the cache's days is a fraction of its size.
    fn encode(&self) -> Option<Vec<u8>> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        serde_json::to_writer(&mut gz, self).ok()?;
        gz.finish().ok()
    }
}

#[derive(Deserialize)]
struct CheckRuns {
    #[serde(default)]
    total_count: Option<u64>,
    #[serde(default)]
    check_runs: Vec<serde_json::Value>,
}

/// The completed check runs of the default branch's head, by check suite: an Actions run's
/// jobs, when the run is at that commit.
struct HeadJobs {
    sha: String,
    by_suite: HashMap<u64, Vec<WorkflowJob>>,
}

impl CheckRuns {
    /// `None` when the page does not hold every check run of the commit: a suite's jobs
    /// could be missing from it.
    fn head_jobs(&self) -> Option<HeadJobs> {
        if self
            .total_count
            .is_none_or(|t| t > self.check_runs.len() as u64)
        {
            return None;
        }
        let mut by_suite: HashMap<u64, Vec<WorkflowJob>> = HashMap::new();
        for c in &self.check_runs {
            let s = |k: &str| c.get(k).and_then(|x| x.as_str()).map(str::to_string);
            let Some(suite) = c
                .get("check_suite")
                .and_then(|x| x.get("id"))
                .and_then(|x| x.as_u64())
            else {
                continue;
            };
            if s("status").as_deref() != Some("completed") {
                continue;
            }
            by_suite.entry(suite).or_default().push(WorkflowJob {
                name: s("name").unwrap_or_default(),
                conclusion: s("conclusion"),
                html_url: s("html_url"),
            });
        }
        Some(HeadJobs {
            sha: self.head_sha()?,
            by_suite,
        })
    }

    fn head_sha(&self) -> Option<String> {
        self.check_runs
            .iter()
            .find_map(|c| c.get("head_sha").and_then(|s| s.as_str()))
            .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_string)
    }

    fn into_runs(self) -> Vec<CheckRun> {
        self.check_runs
            .iter()
            .map(|c| {
                let s = |k: &str| c.get(k).and_then(|x| x.as_str()).map(str::to_string);
                CheckRun {
                    name: s("name").unwrap_or_default(),
                    status: s("status").unwrap_or_default(),
                    conclusion: s("conclusion"),
                    app_slug: c
                        .get("app")
                        .and_then(|a| a.get("slug"))
                        .and_then(|x| x.as_str())
                        .map(str::to_string),
                }
            })
            .collect()
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: u64, path: &str, branch: &str, at: i64) -> (u64, WorkflowRun) {
        (
            id,
            WorkflowRun {
                workflow_path: path.into(),
                event: "push".into(),
                head_branch: Some(branch.into()),
                status: "completed".into(),
                conclusion: Some("success".into()),
                html_url: format!("https://github.com/o/r/actions/runs/{id}"),
                created_at: at,
                jobs: None,
            },
        )
    }

    #[test]
    fn jobs_are_read_for_the_latest_default_branch_run_of_each_workflow() {
        // Newest first, as the listing gives them.
        let runs = vec![
            run(5, "ci.yml", "feature", 50),
            run(4, "ci.yml", "main", 40),
            run(3, "release.yml", "v1.0.0", 30),
            run(2, "ci.yml", "main", 20),
            run(1, "release.yml", "v0.9.0", 10),
        ];
        assert_eq!(runs_needing_jobs(&runs, "main"), vec![4, 3]);
    }

    #[test]
    fn job_requests_are_bounded_per_repository() {
        let runs: Vec<_> = (0..20)
            .map(|i| run(100 - i, &format!("w{i}.yml"), "main", 1000 - i as i64))
            .collect();
        let picked = runs_needing_jobs(&runs, "main");
        assert_eq!(picked.len(), MAX_JOB_REQUESTS);
        assert_eq!(picked[0], 100);
    }

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

    #[test]
    fn cached_files_are_stored_compressed_and_read_either_way() {
        let files = BTreeMap::from([("pyproject.toml".to_string(), "x = 1\n".repeat(1000))]);
        let skipped = vec![SkippedFile {
            path: "big.txt".into(),
            reason: "larger than 1024 KiB".into(),
        }];
        let left_out = vec!["a.txt".to_string()];
        let entry = CachedFilesRef {
            files: &files,
            skipped: &skipped,
            left_out: &left_out,
            too_large: None,
        };
        let packed = entry.encode().unwrap();
        assert!(packed.len() < 1000, "{}", packed.len());
        let read = CachedFiles::decode(&packed).unwrap();
        assert_eq!(
            (read.files, read.skipped, read.left_out),
            (files.clone(), skipped, left_out)
        );
        // An entry written before compression, or before `too_large`, still reads.
        let legacy = serde_json::json!({"files": files, "skipped": []}).to_string();
        let read = CachedFiles::decode(legacy.as_bytes()).unwrap();
        assert_eq!(read.files, files);
        assert!(read.too_large.is_none());
        let verdict = CachedFilesRef {
            files: &BTreeMap::new(),
            skipped: &[],
            left_out: &[],
            too_large: Some(TooLarge::Entries { limit: 9 }),
        };
        let read = CachedFiles::decode(&verdict.encode().unwrap()).unwrap();
        assert_eq!(read.too_large, Some(TooLarge::Entries { limit: 9 }));
    }

    /// GitHub allows 64 K characters in a comment; what is kept of each text is 8 KiB.
    #[test]
    fn kept_texts_are_cut_to_8_kib() {
        let long = "ü".repeat(60_000);
        let comment = pr_review_comment(serde_json::json!({
            "id": 1, "body": long, "diff_hunk": long, "user": {"login": "r"}
        }));
        assert!(comment.body.len() <= MAX_KEPT_TEXT_BYTES && comment.body.ends_with('…'));
        assert!(
            comment
                .diff_hunk
                .is_some_and(|h| h.len() <= MAX_KEPT_TEXT_BYTES)
        );
        let review = pr_review(serde_json::json!({"body": long}));
        assert!(review.body.len() <= MAX_KEPT_TEXT_BYTES);
        let commit = pr_commit(serde_json::json!({"commit": {"message": long}}));
        assert!(commit.message.len() <= MAX_KEPT_TEXT_BYTES);
        let short = pr_review(serde_json::json!({"body": "Looks good."}));
        assert_eq!(short.body, "Looks good.");
        assert_eq!(short.author, "ghost");
    }

    #[test]
    fn the_heads_check_runs_are_the_jobs_of_its_runs_by_check_suite() {
        let sha = "a".repeat(40);
        let run = |name: &str, suite: u64, conclusion: &str| {
            serde_json::json!({"name": name, "head_sha": sha, "status": "completed",
                "conclusion": conclusion, "html_url": format!("https://github.com/o/r/runs/{suite}"),
                "check_suite": {"id": suite}})
        };
        let checks: CheckRuns = serde_json::from_value(serde_json::json!({
            "total_count": 3,
            "check_runs": [run("test (3.11)", 7, "success"), run("test (3.12)", 7, "failure"), run("lint", 8, "success")],
        }))
        .unwrap();
        let jobs = checks.head_jobs().expect("a complete page");
        assert_eq!(jobs.sha, sha);
        let of = |suite: u64| -> Vec<(String, Option<String>)> {
            jobs.by_suite[&suite]
                .iter()
                .map(|j| (j.name.clone(), j.conclusion.clone()))
                .collect()
        };
        assert_eq!(
            of(7),
            vec![
                ("test (3.11)".to_string(), Some("success".to_string())),
                ("test (3.12)".to_string(), Some("failure".to_string()))
            ]
        );
        assert_eq!(of(8).len(), 1);
        // A page that does not hold every check run could miss a suite's jobs.
        let cut: CheckRuns = serde_json::from_value(serde_json::json!({
            "total_count": 140,
            "check_runs": [run("lint", 8, "success")],
        }))
        .unwrap();
        assert!(cut.head_jobs().is_none());
    }

    #[test]
    fn timestamps() {
        assert_eq!(ts("2011-01-26T19:01:12Z"), Some(1296068472));
    }
}
