//! One evaluation, end to end: tracking issue → fetch → analyze → report → render → publish.
//! The service (a queued job) and `folio evaluate` (a terminal) share [`assemble`], so both
//! produce the same report from the same fetched data.

mod forget;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::Deserialize;
use sha2::Digest;
use tracing::{Instrument, info, info_span, warn};

use crate::analyze::practices::{PracticeTable, RepoOutcome, analyze_repo_guarded};
use crate::analyze::review::analyze_pull_request;
use crate::archive::ArchiveBudget;
use crate::cli_error::CliError;
use crate::config::Settings;
use crate::fetch::{FetchedRepo, Fetcher, OWNED_ATTRIBUTION_REQUESTS, Portfolio};
use crate::github::types::ReactionContent;
use crate::github::{GhError, GitHub, Session};
use crate::jobs::Trigger;
use crate::model::{Attribution, OutputFormat, PracticeFinding, RepoAttribution, Report, Source};
use crate::publish::{Published, Publisher};
use crate::render::comment::CommentContext;
use crate::repo_config::{Permission, RepoConfig};
use crate::report::rubric::Rubric;
use crate::report::{RepoPractices, ReportInput};
use crate::state::AppState;
use crate::store::{Confirmation, EvaluationOutcome, EvaluationRecord};
use crate::submission::{LinkLimits, ParsedSubmission};
use crate::worker::JobError;

/// The fixed parts of an analysis: the detector table, the rubric and the web host.
pub struct Analysis<'a> {
    pub table: &'a PracticeTable,
    pub rubric: &'a Rubric,
    pub web_url: &'a url::Url,
}

/// Builds the report from fetched data. Pure: no I/O, no clock.
pub fn assemble(
    analysis: &Analysis<'_>,
    candidate: &str,
    portfolio: &Portfolio,
    parsed: &ParsedSubmission,
    attributions: &PracticeAttributions,
    api_requests: u64,
) -> Report {
    let (table, rubric, web_url) = (analysis.table, analysis.rubric, analysis.web_url);
    let web = web_url.as_str().trim_end_matches('/');
    let mut warnings: Vec<String> = Vec::new();
    for i in &parsed.ignored {
        warnings.push(format!("{}: {}; ignored", i.link, i.reason));
    }
    warnings.extend(parsed.warnings.iter().cloned());
    warnings.extend(portfolio.warnings.iter().cloned());

    let mut sources = Vec::new();
    let mut pull_requests = Vec::new();
    let mut reviews = Vec::new();
    let mut review_comments = Vec::new();
    for pr in &portfolio.pull_requests {
        let analysis = analyze_pull_request(pr, candidate);
        if analysis.attribution == Attribution::Unrelated {
            warnings.push(format!(
                "{}: {candidate} neither authored nor reviewed this pull request; not credited",
                pr.html_url
            ));
        }
        sources.push(Source::PullRequest {
            url: pr.html_url.clone(),
            attribution: analysis.attribution,
            title: Some(pr.title.clone()),
            commit: Some(pr.head_sha.clone()),
        });
        pull_requests.extend(analysis.summary);
        reviews.extend(analysis.reviews);
        review_comments.extend(analysis.review_comments);
    }

    let mut repo_practices = Vec::new();
    for repo in &portfolio.repositories {
        if repo.linked || repo.attribution != RepoAttribution::Unrelated {
            sources.push(Source::Repository {
                url: format!("{web}/{}", repo.meta.full_name),
                attribution: repo.attribution,
                from_template: repo.meta.from_template,
                commit: repo.snapshot.commit.clone(),
            });
        }
        if repo.attribution == RepoAttribution::Unrelated {
            if repo.linked {
                warnings.push(format!(
                    "{web}/{}: no commits by {candidate}; listed, not credited",
                    repo.meta.full_name
                ));
            }
            continue;
        }
        // A file that trips a parser costs its repository's findings, with a warning that
        // says so, never the evaluation of the rest.
        let mut findings = match analyze_repo_guarded(&repo.snapshot, table) {
            RepoOutcome::Analysed {
                findings,
                warnings: notes,
            } => {
                let name = &repo.meta.full_name;
                warnings.extend(notes.into_iter().map(|n| format!("{name}: {n}")));
                findings
            }
            RepoOutcome::OverLimits { warning } => {
                warnings.push(warning);
                Vec::new()
            }
        };
        let sha = repo.snapshot.commit.clone().unwrap_or_default();
        for f in &mut findings {
            f.repository = Some(repo.meta.full_name.clone());
            if let Some(a) =
                attributions.get(&(repo.meta.full_name.to_ascii_lowercase(), f.id.clone()))
            {
                f.attribution = Some(*a);
            }
            for e in &mut f.evidence {
                if e.url.is_none()
                    && let Some(path) = &e.path
                {
                    let anchor = e.line.map(|l| format!("#L{l}")).unwrap_or_default();
                    e.url = Some(format!(
                        "{web}/{}/blob/{sha}/{path}{anchor}",
                        repo.meta.full_name
                    ));
                }
            }
        }
        let attribution = match repo.attribution {
            RepoAttribution::Owned => Attribution::Owned,
            _ => Attribution::Project,
        };
        repo_practices.push(RepoPractices {
            repository: Some(repo.meta.full_name.clone()),
            attribution,
            findings,
        });
    }

    let mut report = crate::report::build(
        ReportInput {
            candidate: Some(candidate.to_string()),
            sources,
            repo_practices,
            pull_requests,
            reviews,
            review_comments,
            warnings,
            api_requests,
        },
        rubric,
    );
    report.releases = portfolio
        .repositories
        .iter()
        .filter(|r| r.attribution == RepoAttribution::Owned)
        .flat_map(|r| crate::activity::owned_releases(&r.meta.full_name, &r.snapshot))
        .collect();
    report
}

/// Practice attributions decided line by line, keyed by (lower-case `owner/name`, practice
/// id); a practice missing here keeps its repository's attribution.
pub type PracticeAttributions = HashMap<(String, String), Attribution>;

/// Who added each practice, from the repositories' history. In a project the candidate
/// contributed to (or a fork), a practice is `authored` where their commits added its line. In
/// a repository they own, it is `authored`, `template` or `project` line by line
/// ([`crate::attribution::owned_attributions`]), and stays `owned` where that could not be
/// determined. Reading history is best effort: when it fails the practices keep their
/// repository's attribution.
pub async fn practice_attributions(
    fetcher: &Fetcher<'_>,
    portfolio: &Portfolio,
    table: &PracticeTable,
) -> Result<PracticeAttributions, GhError> {
    let mut out = HashMap::new();
    for repo in &portfolio.repositories {
        if repo.attribution == RepoAttribution::Unrelated {
            continue;
        }
        // Analysis is CPU work on untrusted files: off the async threads that answer webhooks.
        let (snapshot, table) = (repo.snapshot.clone(), table.clone());
        let analysed =
            tokio::task::spawn_blocking(move || analyze_repo_guarded(&snapshot, &table)).await;
        let findings = match analysed {
            Ok(RepoOutcome::Analysed { findings, .. }) => findings,
            // The warning is given once, by the report's own analysis of this repository.
            Ok(RepoOutcome::OverLimits { .. }) | Err(_) => continue,
        };
        let key = repo.meta.full_name.to_ascii_lowercase();
        let found = if repo.attribution == RepoAttribution::Owned {
            owned_attributions(fetcher, repo, &findings).await
        } else {
            contributed_attributions(fetcher, repo, &findings).await
        };
        let found = match found {
            Ok(found) => found,
            Err(e) if e.is_transient() || matches!(e, GhError::RateLimited(_)) => return Err(e),
            Err(e) => {
                warn!(repo = %repo.meta.full_name, error = %e, "commit history unreadable; practices keep the repository's attribution");
                continue;
            }
        };
        for (id, a) in found {
            out.insert((key.clone(), id), a);
        }
    }
    Ok(out)
}

/// The practices whose line one of the candidate's commits added, in someone else's
/// repository or a fork.
async fn contributed_attributions(
    fetcher: &Fetcher<'_>,
    repo: &FetchedRepo,
    findings: &[PracticeFinding],
) -> Result<BTreeMap<String, Attribution>, GhError> {
    let lines = crate::attribution::evidence_lines(findings, &repo.snapshot);
    if lines.is_empty() {
        return Ok(BTreeMap::new());
    }
    let paths = crate::attribution::paths_to_check(&lines, crate::attribution::MAX_FILES_PER_REPO);
    let commits = fetcher
        .candidate_commits(&repo.meta.full_name, &paths)
        .await?;
    Ok(
        crate::attribution::authored_practices(&lines, &commits, repo.meta.from_template)
            .into_iter()
            .map(|id| (id, Attribution::Authored))
            .collect(),
    )
}

/// Line by line in a repository the candidate owns. With the candidate as its only human
/// author, the contributors listing already says whose the lines are; only a template's first
/// commit is read (one request), to set apart what came with it. With other authors, at most
/// [`OWNED_ATTRIBUTION_REQUESTS`] requests in all (the first commit's lookup included) read
/// the candidate's commits to the files with most evidence.
async fn owned_attributions(
    fetcher: &Fetcher<'_>,
    repo: &FetchedRepo,
    findings: &[PracticeFinding],
) -> Result<BTreeMap<String, Attribution>, GhError> {
    let Some(history) = &repo.owned_history else {
        return Ok(BTreeMap::new());
    };
    let full = &repo.meta.full_name;
    let template = repo.meta.template_origin;
    let mut spent = history.requests;
    let first_commit = match (&history.first_commit, template) {
        (Some(first), Some(_)) => {
            spent += 1;
            Some(fetcher.first_commit_files(full, &first.sha).await?)
        }
        _ => None,
    };
    let candidate_history = if history.only_human_author == Some(false) {
        let lines = crate::attribution::evidence_lines(findings, &repo.snapshot);
        let left = OWNED_ATTRIBUTION_REQUESTS.saturating_sub(spent);
        // Half of what is left lists the candidate's commits per file, the rest reads them.
        let paths = crate::attribution::paths_to_check(&lines, (left / 2).max(1).min(left));
        if paths.is_empty() {
            None
        } else {
            Some(
                fetcher
                    .candidate_history(full, &paths, left - paths.len())
                    .await?,
            )
        }
    } else {
        None
    };
    let facts = crate::attribution::OwnedFacts {
        template,
        template_known: template.is_some() || history.first_commit.is_some(),
        only_human_author: history.only_human_author,
        first_commit: first_commit.as_ref(),
        history: candidate_history.as_ref(),
    };
    Ok(crate::attribution::owned_attributions(
        findings,
        &repo.snapshot,
        &facts,
    ))
}

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

/// An upper bound on the requests an evaluation makes, computed from the caps actually asked
/// for, so that it waits for the rate limit's reset rather than starting and running the
/// budget dry half-way: per pull request and per repository (the repository of every pull
/// request is read too) as above, and 8 for the issue, configuration, searches and publishing.
pub fn request_estimate(parsed: &ParsedSubmission) -> u64 {
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

/// Reacts to the comment that asked for a refresh. An acknowledgement only: when GitHub refuses
/// or the comment is gone, the evaluation goes on and the failure is logged.
async fn react(session: &Session, repo: &str, comment: Option<i64>, content: ReactionContent) {
    let Some(id) = comment else { return };
    match session.add_reaction(repo, id, content).await {
        Ok(r) => {
            info!(comment = id, reaction = %r.content, reaction_id = r.id, "reacted to the command")
        }
        Err(e) => {
            warn!(comment = id, reaction = content.as_str(), error = %e, "could not react to the command");
        }
    }
}

/// A stable hash of what a report says, ignoring how many requests it took, so that an
/// unchanged re-evaluation does not edit the comment.
pub fn content_hash(report: &Report) -> String {
    let mut r = report.clone();
    r.api_requests = 0;
    let bytes = serde_json::to_vec(&r).unwrap_or_default();
    hex::encode(sha2::Sha256::digest(&bytes))
}

fn rfc3339_now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

#[derive(Deserialize)]
struct IssueJson {
    #[serde(default)]
    body: Option<String>,
    user: UserJson,
    #[serde(default)]
    labels: Vec<LabelJson>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct UserJson {
    login: String,
}

#[derive(Deserialize)]
struct LabelJson {
    name: String,
}

fn rank(role: &str) -> u8 {
    match role {
        "admin" => 5,
        "maintain" => 4,
        "write" | "push" => 3,
        "triage" => 2,
        "read" | "pull" => 1,
        _ => 0,
    }
}

pub(crate) fn gh_to_job(e: GhError) -> JobError {
    match e {
        GhError::RateLimited(d) => JobError::RetryAfter(d, anyhow::anyhow!("GitHub rate limit")),
        e if e.is_transient() => JobError::Retry(anyhow::Error::new(e)),
        GhError::Config(m) => JobError::Retry(anyhow::anyhow!(m)),
        e => JobError::Retry(anyhow::Error::new(e)),
    }
}

fn store_to_job(e: crate::store::StoreError) -> JobError {
    JobError::Retry(anyhow::Error::new(e))
}

pub struct Pipeline {
    state: Arc<AppState>,
    github: Mutex<Option<(u64, Arc<GitHub>)>>,
}

impl Pipeline {
    pub fn new(state: Arc<AppState>) -> Self {
        Self {
            state,
            github: Mutex::new(None),
        }
    }

    /// One client (one token cache, one rate-limit view) shared by every worker; rebuilt
    /// when the setup flow installs new credentials.
    fn github(&self) -> Result<Arc<GitHub>, JobError> {
        let Some(app) = self.state.app_credentials() else {
            // Not a failure of the job: wait for setup without burning attempts.
            return Err(JobError::RetryAfter(
                std::time::Duration::from_secs(60),
                anyhow::anyhow!("GitHub App credentials are not configured"),
            ));
        };
        let mut guard = self
            .github
            .lock()
            .map_err(|_| JobError::Retry(anyhow::anyhow!("client lock poisoned")))?;
        if let Some((id, gh)) = guard.as_ref()
            && *id == app.app_id
        {
            return Ok(gh.clone());
        }
        let creds = GitHub::app(app.app_id, &app.private_key)
            .map_err(|e| JobError::Permanent(anyhow::Error::new(e)))?;
        let gh = Arc::new(
            GitHub::new(
                &self.state.settings.github_api_url,
                Some(creds),
                Some(self.state.store.clone()),
                self.state.settings.github.clone(),
            )
            .map_err(|e| JobError::Permanent(anyhow::Error::new(e)))?,
        );
        *guard = Some((app.app_id, gh.clone()));
        Ok(gh)
    }

    /// A session for an installation, on the one shared client.
    pub(crate) fn session(&self, installation_id: i64) -> Result<Session, JobError> {
        Ok(self.github()?.session(Some(installation_id)))
    }

    async fn has_permission(
        &self,
        session: &Session,
        repo: &str,
        login: &str,
        min: Permission,
    ) -> Result<bool, GhError> {
        Ok(self.permission_rank(session, repo, login).await? >= rank(min.as_str()))
    }

    /// The login's role on the hiring repository as a rank (0 for none).
    async fn permission_rank(
        &self,
        session: &Session,
        repo: &str,
        login: &str,
    ) -> Result<u8, GhError> {
        let Some(p) = session.collaborator_permission(repo, login).await? else {
            return Ok(0);
        };
        Ok(rank(p.role_name.as_deref().unwrap_or(""))
            .max(rank(p.permission.as_deref().unwrap_or(""))))
    }

    /// `repo_id`, when the job has it, lets the submission follow a renamed repository.
    #[allow(clippy::too_many_arguments)]
    pub async fn evaluate_issue(
        &self,
        installation_id: i64,
        repo: &str,
        repo_id: Option<i64>,
        issue_number: i64,
        trigger: Trigger,
        actor: Option<&str>,
        command_comment: Option<i64>,
    ) -> Result<(), JobError> {
        let span = info_span!("evaluate", installation = installation_id, repo = %repo, issue = issue_number, trigger = %trigger);
        self.evaluate_inner(
            installation_id,
            repo,
            repo_id,
            issue_number,
            trigger,
            actor,
            command_comment,
        )
        .instrument(span)
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn evaluate_inner(
        &self,
        installation_id: i64,
        repo: &str,
        repo_id: Option<i64>,
        issue_number: i64,
        trigger: Trigger,
        actor: Option<&str>,
        command_comment: Option<i64>,
    ) -> Result<(), JobError> {
        let store = &self.state.store;
        if store
            .installation_suspended(installation_id)
            .await
            .map_err(store_to_job)?
        {
            info!("installation suspended; nothing done");
            return Ok(());
        }
        let gh = self.github()?;
        let session = gh.session(Some(installation_id));
        // After `/folio forget`, only a maintainer's refresh (a new consent) brings the issue
        // back; edits and reopening are ignored.
        if store
            .forgotten(repo, issue_number)
            .await
            .map_err(store_to_job)?
            .is_some()
        {
            let consent = match actor {
                Some(a) if trigger == Trigger::Refresh && !a.ends_with("[bot]") => self
                    .has_permission(&session, repo, a, Permission::Triage)
                    .await
                    .map_err(gh_to_job)?,
                _ => false,
            };
            if !consent {
                info!("the candidate withdrew this submission; ignored");
                return Ok(());
            }
            store
                .clear_forgotten(repo, issue_number)
                .await
                .map_err(store_to_job)?;
        }
        let issue: Option<IssueJson> = session
            .get_optional(&format!("/repos/{repo}/issues/{issue_number}"))
            .await
            .map_err(gh_to_job)?;
        let Some(issue) = issue else {
            info!("the issue is gone; nothing to do");
            return Ok(());
        };
        if issue.pull_request.is_some() {
            return Ok(());
        }
        let labels: Vec<String> = issue.labels.iter().map(|l| l.name.clone()).collect();
        let body = issue.body.clone().unwrap_or_default();
        let author = issue.user.login.clone();
        let slug = session.app_slug().await.map_err(gh_to_job)?;
        let bot_login = format!("{slug}[bot]");
        let ctx = CommentContext {
            submitted_by: Some(author.clone()),
            evaluated_at: rfc3339_now(),
            issue_url: issue.html_url.clone(),
            terms_url: Some(self.state.settings.terms_url()),
        };
        let publisher = Publisher {
            session: &session,
            repo,
            issue: issue_number,
            bot_login: &bot_login,
        };

        let config = match crate::hiring_config::read(&session, repo)
            .await
            .map_err(gh_to_job)?
        {
            Ok(c) => c,
            Err(message) => {
                let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
                if !crate::webhook::event::is_submission(Some(&body), &label_refs) {
                    return Ok(());
                }
                warn!(%message, "broken .github/folio.yml");
                let sub = store
                    .upsert_submission(
                        installation_id,
                        repo,
                        repo_id,
                        issue_number,
                        None,
                        Some(&author),
                    )
                    .await
                    .map_err(store_to_job)?;
                let known = store.last_comment_id(sub.id).await.map_err(store_to_job)?;
                let text = crate::render::comment::config_error(&message, &ctx);
                self.notice(
                    &publisher,
                    sub.id,
                    known,
                    &text,
                    EvaluationOutcome::ConfigError,
                )
                .await?;
                return Ok(());
            }
        };
        let names = &config.labels;
        let mut label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        if labels
            .iter()
            .any(|l| l.eq_ignore_ascii_case(&names.submission))
        {
            label_refs.push(crate::webhook::event::SUBMISSION_LABEL);
        }
        if !crate::webhook::event::is_submission(Some(&body), &label_refs) {
            info!("not a submission; left alone");
            return Ok(());
        }
        // The repository's first submission makes the labels if the install did not; a
        // failure here costs the labels' colours, never the evaluation.
        if let Err(e) =
            crate::labels::make_once(store, &session, installation_id, repo, Some(names)).await
        {
            warn!(error = %e, "labels not made; trying again at the next submission");
        }

        let limits = LinkLimits {
            max_pull_requests: config.limits.pull_request_links as usize,
            max_repositories: config.limits.repository_links as usize,
        };
        let parsed = crate::submission::parse(&body, &self.state.settings.web_url, limits);
        let candidate = parsed.candidate.clone().unwrap_or_else(|| author.clone());
        let sub = store
            .upsert_submission(
                installation_id,
                repo,
                repo_id,
                issue_number,
                Some(&candidate),
                Some(&author),
            )
            .await
            .map_err(store_to_job)?;
        let known = store.last_comment_id(sub.id).await.map_err(store_to_job)?;
        let min = config.commands.min_permission;

        // Who may start an evaluation: the candidate, or a maintainer who confirms. A
        // confirmation holds for the candidate and the links it confirmed; when either has
        // changed since, it is cleared and the submission waits for a new one.
        let links = parsed.links_hash();
        let author_is_candidate = author.eq_ignore_ascii_case(&candidate);
        let mut confirmed = sub.confirmed_for(&candidate, &links);
        if sub.confirmed_by.is_some() && !confirmed {
            info!("the confirmation was for another candidate or other links; cleared");
            store
                .confirm_submission(sub.id, None)
                .await
                .map_err(store_to_job)?;
        }
        // Read before anything below records an outcome: the daily limit counts first
        // evaluations, whatever started them.
        let first = store
            .last_evaluation(sub.id)
            .await
            .map_err(store_to_job)?
            .is_none();
        let mut exempt_from_issue_limit = false;
        if trigger == Trigger::Refresh {
            let Some(actor) = actor else { return Ok(()) };
            if actor.eq_ignore_ascii_case(&bot_login) || actor.ends_with("[bot]") {
                return Ok(());
            }
            let actor_rank = self
                .permission_rank(&session, repo, actor)
                .await
                .map_err(gh_to_job)?;
            if actor_rank < rank(min.as_str()) {
                info!(%actor, "refresh refused: not enough permission on the hiring repository");
                return Ok(());
            }
            if !confirmed && !author_is_candidate {
                let confirmation = Confirmation {
                    by: actor.to_string(),
                    candidate: candidate.clone(),
                    links: links.clone(),
                };
                store
                    .confirm_submission(sub.id, Some(&confirmation))
                    .await
                    .map_err(store_to_job)?;
            }
            confirmed = true;
            exempt_from_issue_limit = actor_rank >= rank(Permission::Write.as_str());
        }
        // Re-evaluations of one issue are limited whatever triggers them (opened, edited,
        // reopened, a triager's refresh), so that closing and reopening cannot loop.
        if !exempt_from_issue_limit {
            let hour_ago = self.state.clock.now().as_millis() - 3_600_000;
            let recent = store
                .evaluations_since(sub.id, hour_ago)
                .await
                .map_err(store_to_job)?;
            if recent >= i64::from(config.limits.reevaluations_per_hour) {
                info!(recent, "re-evaluation limit reached for this issue");
                return Ok(());
            }
        }
        if trigger == Trigger::Refresh {
            // Accepted: say so at once on the command, before the evaluation's minutes.
            react(&session, repo, command_comment, ReactionContent::Eyes).await;
        }
        // The author's permission is asked only when it decides something: someone else's
        // submission, or an author over the daily limit (maintainers are not limited). A
        // candidate's own submission then costs no permission request.
        let mut author_is_maintainer = None;
        if !author_is_candidate && !confirmed {
            let m = self
                .has_permission(&session, repo, &author, min)
                .await
                .map_err(gh_to_job)?;
            if !m {
                let text = crate::render::comment::awaiting_confirmation(&author, &candidate, &ctx);
                self.notice(
                    &publisher,
                    sub.id,
                    known,
                    &text,
                    EvaluationOutcome::AwaitingConfirmation,
                )
                .await?;
                return Ok(());
            }
            author_is_maintainer = Some(m);
        }
        // A submission's first evaluation counts against its author's daily limit, whether the
        // issue was opened as one or edited into one; a maintainer's refresh starts it anyway.
        if first && trigger != Trigger::Refresh && author_is_maintainer != Some(true) {
            let day_ago = self.state.clock.now().as_millis() - 86_400_000;
            let count = store
                .submissions_by_author_since(installation_id, &author, day_ago)
                .await
                .map_err(store_to_job)?;
            let over = count > i64::from(config.limits.submissions_per_day);
            if over
                && !self
                    .has_permission(&session, repo, &author, min)
                    .await
                    .map_err(gh_to_job)?
            {
                let problem = format!(
                    "{author} has opened more than {} submissions today; a maintainer can start this one with `/folio refresh`.",
                    config.limits.submissions_per_day
                );
                let text = crate::render::comment::needs_info(&[problem], &ctx);
                self.notice(
                    &publisher,
                    sub.id,
                    known,
                    &text,
                    EvaluationOutcome::RateLimited,
                )
                .await?;
                return Ok(());
            }
        }

        if !parsed.problems.is_empty() {
            let text = crate::render::comment::needs_info(&parsed.problems, &ctx);
            let published = publisher
                .upsert(&text, known, false)
                .await
                .map_err(gh_to_job)?;
            publisher
                .set_labels(&labels, &[&names.needs_info], &[&names.evaluated])
                .await
                .map_err(gh_to_job)?;
            self.record(
                sub.id,
                EvaluationOutcome::NeedsInfo,
                None,
                Some(published.id()),
                None,
                &session,
            )
            .await?;
            return Ok(());
        }

        session
            .ensure_budget(request_estimate(&parsed))
            .map_err(gh_to_job)?;
        let rubric = config
            .rubric()
            .map_err(|e| JobError::Permanent(anyhow::anyhow!("rubric: {e}")))?;
        let table = config
            .practice_table()
            .map_err(|e| JobError::Permanent(anyhow::anyhow!("practices: {e}")))?;
        let fetcher = Fetcher {
            session: &session,
            web_url: &self.state.settings.web_url,
            store: Some(&self.state.store),
            candidate: &candidate,
            archive: crate::fetch::archive_limits(
                &self.state.settings.archive,
                config.limits.max_tarball_bytes(),
            ),
            archive_budget: &self.state.archive_budget,
            files: crate::fetch::FILE_RULES,
        };
        let portfolio = fetcher
            .portfolio(&parsed.pull_requests, &parsed.repositories)
            .await
            .map_err(gh_to_job)?;
        let authored = practice_attributions(&fetcher, &portfolio, &table)
            .await
            .map_err(gh_to_job)?;
        // Analysis and rendering are CPU work (a large portfolio takes a while); off the async
        // threads, so that webhooks and other jobs are not held up meanwhile.
        let web_url = self.state.settings.web_url.clone();
        let requests = session.counters.requests();
        let render_ctx = ctx.clone();
        let (hash, text, report_json) = tokio::task::spawn_blocking(move || {
            let analysis = Analysis {
                table: &table,
                rubric: &rubric,
                web_url: &web_url,
            };
            let report = assemble(
                &analysis, &candidate, &portfolio, &parsed, &authored, requests,
            );
            (
                content_hash(&report),
                crate::render::comment::comment(&report, &render_ctx),
                crate::render::json::json(&report),
            )
        })
        .await
        .map_err(|e| JobError::Retry(anyhow::anyhow!("analysis task failed: {e}")))?;
        let last = store.last_evaluation(sub.id).await.map_err(store_to_job)?;
        let unchanged = last.as_ref().and_then(|l| l.content_hash.as_deref())
            == Some(hash.as_str())
            && last
                .as_ref()
                .is_some_and(|l| l.outcome == EvaluationOutcome::Evaluated);
        // A `/folio forget` that ran while this evaluation fetched wins: nothing is published.
        if store
            .forgotten(repo, issue_number)
            .await
            .map_err(store_to_job)?
            .is_some()
        {
            info!("withdrawn during the evaluation; not published");
            return Ok(());
        }
        let published = publisher
            .upsert(&text, known, unchanged)
            .await
            .map_err(gh_to_job)?;
        publisher
            .set_labels(&labels, &[&names.evaluated], &[&names.needs_info])
            .await
            .map_err(gh_to_job)?;
        // Nothing changed, so the comment was not edited: the 👍 tells whoever asked that the
        // re-evaluation ran. A changed comment is its own answer.
        if trigger == Trigger::Refresh && matches!(published, Published::Unchanged(_)) {
            react(&session, repo, command_comment, ReactionContent::PlusOne).await;
        }
        self.record(
            sub.id,
            EvaluationOutcome::Evaluated,
            Some(report_json),
            Some(published.id()),
            Some(hash),
            &session,
        )
        .await?;
        info!(
            requests = session.counters.requests(),
            billed = session.counters.billed(),
            not_modified = session.counters.not_modified(),
            outcome = ?published,
            "evaluation published"
        );
        Ok(())
    }

    /// Posts (or edits) a notice instead of a report, and records why.
    async fn notice(
        &self,
        publisher: &Publisher<'_>,
        submission_id: i64,
        known: Option<i64>,
        text: &str,
        outcome: EvaluationOutcome,
    ) -> Result<(), JobError> {
        let published = publisher
            .upsert(text, known, false)
            .await
            .map_err(gh_to_job)?;
        self.record(
            submission_id,
            outcome,
            None,
            Some(published.id()),
            None,
            publisher.session,
        )
        .await
    }

    async fn record(
        &self,
        submission_id: i64,
        outcome: EvaluationOutcome,
        report_json: Option<String>,
        comment_id: Option<i64>,
        content_hash: Option<String>,
        session: &Session,
    ) -> Result<(), JobError> {
        metrics::counter!("folio_evaluations_total", "outcome" => outcome.as_str()).increment(1);
        self.state
            .store
            .link_cache(submission_id, &session.cache_links())
            .await
            .map_err(store_to_job)?;
        self.state
            .store
            .record_evaluation(&EvaluationRecord {
                submission_id,
                outcome,
                report_json,
                comment_id,
                content_hash,
                api_requests: session.counters.requests() as i64,
                created_at: self.state.clock.now().as_millis(),
            })
            .await
            .map_err(store_to_job)
    }

    /// A dead evaluation job: tell the issue, in the one comment, how to retry.
    pub async fn report_failure(
        &self,
        installation_id: i64,
        repo: &str,
        issue_number: i64,
        error: &str,
    ) {
        let result: Result<(), JobError> = async {
            let gh = self.github()?;
            let session = gh.session(Some(installation_id));
            let slug = session.app_slug().await.map_err(gh_to_job)?;
            let bot_login = format!("{slug}[bot]");
            let sub = self
                .state
                .store
                .upsert_submission(installation_id, repo, None, issue_number, None, None)
                .await
                .map_err(store_to_job)?;
            let known = self
                .state
                .store
                .last_comment_id(sub.id)
                .await
                .map_err(store_to_job)?;
            // The issue's address lets the notice link handles and references in the reason.
            let web = self.state.settings.web_url.as_str().trim_end_matches('/');
            let ctx = CommentContext {
                submitted_by: None,
                evaluated_at: rfc3339_now(),
                issue_url: Some(format!("{web}/{repo}/issues/{issue_number}")),
                terms_url: Some(self.state.settings.terms_url()),
            };
            // The reason is ours (an error chain), but keep it short and free of secrets.
            let reason: String = error.chars().take(300).collect();
            let text = crate::render::comment::evaluation_failed(&reason, &ctx);
            let publisher = Publisher {
                session: &session,
                repo,
                issue: issue_number,
                bot_login: &bot_login,
            };
            let published = publisher
                .upsert(&text, known, false)
                .await
                .map_err(gh_to_job)?;
            self.record(
                sub.id,
                EvaluationOutcome::Failed,
                None,
                Some(published.id()),
                None,
                &session,
            )
            .await
        }
        .await;
        if let Err(e) = result {
            warn!(error = %e, "could not tell the issue that the evaluation failed");
        }
    }
}

/// `folio evaluate`: the same fetch, analysis and report from a terminal.
pub async fn evaluate_cli(
    settings: &Settings,
    candidate: &str,
    installation: Option<i64>,
    links: &[String],
    format: OutputFormat,
) -> Result<String, CliError> {
    if !crate::submission::valid_login(candidate) {
        return Err(CliError::usage(format!(
            "--candidate {candidate:?} is not a valid GitHub login"
        )));
    }
    let credentials = match (installation, &settings.github_token, &settings.app) {
        (Some(_), _, Some(app)) => {
            GitHub::app(app.app_id, &app.private_key).map_err(|e| CliError::usage(e.to_string()))?
        }
        (Some(_), _, None) => {
            return Err(CliError::usage(
                "--installation needs FOLIO_APP_ID and FOLIO_PRIVATE_KEY_PATH",
            ));
        }
        (None, Some(token), _) => crate::github::Credentials::Token(token.clone()),
        (None, None, _) => {
            return Err(CliError::usage(
                "set GITHUB_TOKEN (a token that can read public repositories), or pass --installation ID with app credentials",
            ));
        }
    };
    let parsed =
        crate::submission::parse(&links.join("\n"), &settings.web_url, LinkLimits::default());
    if parsed.pull_requests.is_empty() && parsed.repositories.is_empty() {
        let reasons: Vec<String> = parsed
            .ignored
            .iter()
            .map(|i| format!("{} ({})", i.link, i.reason))
            .collect();
        return Err(CliError::usage(format!(
            "no usable links: give pull request or repository links on {}{}",
            settings.web_url.host_str().unwrap_or("GitHub"),
            if reasons.is_empty() {
                String::new()
            } else {
                format!("; ignored: {}", reasons.join(", "))
            }
        )));
    }
    let gh = Arc::new(
        GitHub::new(
            &settings.github_api_url,
            Some(credentials),
            None,
            settings.github.clone(),
        )
        .map_err(|e| CliError::usage(e.to_string()))?,
    );
    let session = gh.session(installation);
    let progress = std::io::stderr().is_terminal();
    if progress {
        eprintln!(
            "folio: fetching {} pull request(s) and {} repositor{}…",
            parsed.pull_requests.len(),
            parsed.repositories.len(),
            if parsed.repositories.len() == 1 {
                "y"
            } else {
                "ies"
            }
        );
    }
    let archive_budget = ArchiveBudget::new(settings.archive.max_inflight_bytes);
    let fetcher = Fetcher {
        session: &session,
        web_url: &settings.web_url,
        store: None,
        candidate,
        archive: crate::fetch::archive_limits(
            &settings.archive,
            RepoConfig::default().limits.max_tarball_bytes(),
        ),
        archive_budget: &archive_budget,
        files: crate::fetch::FILE_RULES,
    };
    let portfolio = fetcher
        .portfolio(&parsed.pull_requests, &parsed.repositories)
        .await
        .map_err(|e| match e {
            GhError::Unauthorized(_) => {
                CliError::usage("GitHub rejected GITHUB_TOKEN; check that it is valid")
            }
            other => CliError::Failure(anyhow::Error::new(other).context("fetching from GitHub")),
        })?;
    if progress {
        eprintln!(
            "folio: analyzing ({} requests made)…",
            session.counters.requests()
        );
    }
    let rubric = Rubric::builtin()
        .map_err(|e| CliError::Failure(anyhow::anyhow!("built-in rubric: {e}")))?;
    let table = PracticeTable::builtin();
    let authored = practice_attributions(&fetcher, &portfolio, &table)
        .await
        .map_err(|e| CliError::Failure(anyhow::Error::new(e).context("reading commit history")))?;
    let analysis = Analysis {
        table: &table,
        rubric: &rubric,
        web_url: &settings.web_url,
    };
    let report = assemble(
        &analysis,
        candidate,
        &portfolio,
        &parsed,
        &authored,
        session.counters.requests(),
    );
    Ok(match format {
        OutputFormat::Json => crate::render::json::json(&report),
        OutputFormat::Markdown => crate::render::comment::comment(
            &report,
            &CommentContext {
                submitted_by: None,
                evaluated_at: rfc3339_now(),
                issue_url: None,
                // No service runs to serve `/privacy`: only an address the operator gave.
                terms_url: settings.privacy_url.as_ref().map(url::Url::to_string),
            },
        ),
    })
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

    #[test]
    fn permission_ranks() {
        assert!(rank("maintain") >= rank("triage"));
        assert!(rank("read") < rank("triage"));
        assert_eq!(rank("none"), 0);
    }
}
