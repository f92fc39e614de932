//! One evaluation, end to end, one step a module:
//! [`intake`] reads the tracking issue and the configuration and parses the submission;
//! [`gate`] decides who may ask and whether it runs now (pure); [`assemble`] fetches, analyses
//! each repository once ([`analysed`], under crash-loop protection) and builds the report;
//! [`outcome`] posts the one comment (a report or a notice) and records how it ended.
//! [`estimate`] bounds the requests, [`cli`] is `folio evaluate` (the same report, printed),
//! and [`forget`] is `/folio forget`.

mod analysed;
mod assemble;
mod cli;
mod estimate;
mod forget;
mod gate;
mod intake;
mod outcome;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use sha2::Digest;
use tracing::{Instrument, info, info_span, warn};

pub(crate) use cli::evaluate_cli;
use gate::{Budget, Refresh, Requester};
use intake::TrackingIssue;
use outcome::{Notice, Outcome, Target};

use crate::github::types::ReactionContent;
use crate::github::{GhError, GitHub, Session};
use crate::jobs::Trigger;
use crate::model::Report;
use crate::publish::{Published, Publisher};
use crate::render::comment::CommentContext;
use crate::repo_config::{Permission, RepoConfig};
use crate::state::AppState;
use crate::store::{Confirmation, Submission};
use crate::submission::ParsedSubmission;
use crate::worker::JobError;

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
pub(crate) fn content_hash(report: &Report) -> String {
    let mut r = report.clone();
    r.api_requests = 0;
    let bytes = serde_json::to_vec(&r).unwrap_or_default();
    hex::encode(sha2::Sha256::digest(&bytes))
}

fn rfc3339_now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// The App's bot user, whose comments are Folio's.
async fn bot_login(session: &Session) -> Result<String, JobError> {
    let slug = session.app_slug().await.map_err(gh_to_job)?;
    Ok(format!("{slug}[bot]"))
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

/// One evaluation job: which issue, and what started it.
#[derive(Debug, Clone, Copy)]
struct Request<'a> {
    installation_id: i64,
    repo: &'a str,
    /// The repository's id, when the job has it: the submission follows a rename.
    repo_id: Option<i64>,
    issue_number: i64,
    trigger: Trigger,
    /// Who commented the command, for a refresh.
    actor: Option<&'a str>,
    command_comment: Option<i64>,
}

/// What the gate let through.
enum Admission {
    Go,
    /// Nothing is done and nothing is said (a bot, a refused refresh, a limit reached).
    Stop,
    Notice(Notice),
}

pub(crate) struct Pipeline {
    state: Arc<AppState>,
    github: Mutex<Option<(u64, Arc<GitHub>)>>,
}

impl Pipeline {
    pub(crate) fn new(state: Arc<AppState>) -> Self {
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
        let gh =
            crate::github::app_client(&self.state.settings, &app, Some(self.state.store.clone()))
                .map_err(|e| JobError::Permanent(anyhow::Error::new(e)))?;
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
        Ok(gate::at_least(
            self.permission_rank(session, repo, login).await?,
            min,
        ))
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
        Ok(gate::role_rank(
            p.role_name.as_deref(),
            p.permission.as_deref(),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn evaluate_issue(
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
        let req = Request {
            installation_id,
            repo,
            repo_id,
            issue_number,
            trigger,
            actor,
            command_comment,
        };
        self.evaluate_inner(req).instrument(span).await
    }

    async fn evaluate_inner(&self, req: Request<'_>) -> Result<(), JobError> {
        let store = &self.state.store;
        let (repo, issue_number) = (req.repo, req.issue_number);
        if store
            .installation_suspended(req.installation_id)
            .await
            .map_err(store_to_job)?
        {
            info!("installation suspended; nothing done");
            return Ok(());
        }
        let session = self.session(req.installation_id)?;
        if !self.readmitted(&session, req).await? {
            return Ok(());
        }
        let Some(issue) = intake::read_issue(&session, repo, issue_number)
            .await
            .map_err(gh_to_job)?
        else {
            info!("the issue is gone or is a pull request; nothing to do");
            return Ok(());
        };
        let bot_login = bot_login(&session).await?;
        let ctx = CommentContext {
            submitted_by: Some(issue.author.clone()),
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

        let config = match intake::read_config(&session, repo)
            .await
            .map_err(gh_to_job)?
        {
            Ok(c) => c,
            Err(message) => {
                if !issue.is_submission(None) {
                    return Ok(());
                }
                warn!(%message, "broken .github/folio.yml");
                let sub = store
                    .upsert_submission(
                        req.installation_id,
                        repo,
                        req.repo_id,
                        issue_number,
                        None,
                        Some(&issue.author),
                    )
                    .await
                    .map_err(store_to_job)?;
                let target = Target {
                    publisher: &publisher,
                    submission_id: sub.id,
                    known_comment: store.last_comment_id(sub.id).await.map_err(store_to_job)?,
                    labels: None,
                };
                let notice = Outcome::Notice(Notice::ConfigError(message));
                self.finish(&target, notice, &ctx).await?;
                return Ok(());
            }
        };
        let names = &config.labels;
        if !issue.is_submission(Some(names)) {
            info!("not a submission; left alone");
            return Ok(());
        }
        // The repository's first submission makes the labels if the install did not; a
        // failure here costs the labels' colours, never the evaluation.
        if let Err(e) =
            crate::labels::make_once(store, &session, req.installation_id, repo, Some(names)).await
        {
            warn!(error = %e, "labels not made; trying again at the next submission");
        }

        let parsed = issue.parse(&config, &self.state.settings.web_url);
        let candidate = parsed
            .candidate
            .clone()
            .unwrap_or_else(|| issue.author.clone());
        let sub = store
            .upsert_submission(
                req.installation_id,
                repo,
                req.repo_id,
                issue_number,
                Some(candidate.as_str()),
                Some(issue.author.as_str()),
            )
            .await
            .map_err(store_to_job)?;
        let target = Target {
            publisher: &publisher,
            submission_id: sub.id,
            known_comment: store.last_comment_id(sub.id).await.map_err(store_to_job)?,
            labels: Some((&issue.labels, names)),
        };
        let who = Who {
            issue: &issue,
            sub: &sub,
            candidate: &candidate,
            parsed: &parsed,
            bot_login: &bot_login,
        };
        match self.admit(&session, req, &config, &who).await? {
            Admission::Go => {}
            Admission::Stop => return Ok(()),
            Admission::Notice(notice) => {
                self.finish(&target, Outcome::Notice(notice), &ctx).await?;
                return Ok(());
            }
        }
        if !parsed.problems.is_empty() {
            let notice = Notice::NeedsInfo(parsed.problems.clone());
            self.finish(&target, Outcome::Notice(notice), &ctx).await?;
            return Ok(());
        }
        let estimate = estimate::request_estimate(&parsed);
        if let Budget::Defer(wait) = gate::budget(session.rate_view(), estimate) {
            return Err(JobError::RetryAfter(
                wait,
                anyhow::anyhow!("GitHub rate limit"),
            ));
        }

        let evaluated = self
            .report(&session, &config, candidate, parsed, sub.id, &ctx)
            .await?;
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
        let published = self
            .finish(&target, Outcome::Evaluated(evaluated), &ctx)
            .await?;
        // Nothing changed, so the comment was not edited: the 👍 tells whoever asked that the
        // re-evaluation ran. A changed comment is its own answer.
        if req.trigger == Trigger::Refresh && matches!(published, Published::Unchanged(_)) {
            react(
                &session,
                repo,
                req.command_comment,
                ReactionContent::PlusOne,
            )
            .await;
        }
        info!(
            requests = session.counters.requests(),
            billed = session.counters.billed(),
            not_modified = session.counters.not_modified(),
            outcome = ?published,
            "evaluation published"
        );
        Ok(())
    }

    /// After `/folio forget`, only a maintainer's refresh (a new consent) brings the issue
    /// back; edits and reopening are ignored. `false`: leave the issue alone.
    async fn readmitted(&self, session: &Session, req: Request<'_>) -> Result<bool, JobError> {
        let store = &self.state.store;
        if store
            .forgotten(req.repo, req.issue_number)
            .await
            .map_err(store_to_job)?
            .is_none()
        {
            return Ok(true);
        }
        let consent = match gate::consent_asker(req.trigger, req.actor) {
            Some(a) => self
                .has_permission(session, req.repo, a, Permission::Triage)
                .await
                .map_err(gh_to_job)?,
            None => false,
        };
        if !consent {
            info!("the candidate withdrew this submission; ignored");
            return Ok(false);
        }
        store
            .clear_forgotten(req.repo, req.issue_number)
            .await
            .map_err(store_to_job)?;
        Ok(true)
    }

    /// Who may start an evaluation: the candidate, or a maintainer who confirms. A
    /// confirmation holds for the candidate and the links it confirmed; when either has
    /// changed since, it is cleared and the submission waits for a new one. The decisions are
    /// [`gate`]'s; this looks up what they need, and only that.
    async fn admit(
        &self,
        session: &Session,
        req: Request<'_>,
        config: &RepoConfig,
        who: &Who<'_>,
    ) -> Result<Admission, JobError> {
        let store = &self.state.store;
        let (repo, sub, candidate) = (req.repo, who.sub, who.candidate);
        let author = who.issue.author.as_str();
        let min = config.commands.min_permission;
        let links = who.parsed.links_hash();
        let author_is_candidate = author.eq_ignore_ascii_case(candidate);
        let mut confirmed = sub.confirmed_for(candidate, &links);
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
        match gate::requester(req.trigger, req.actor, who.bot_login) {
            Requester::Issue => {}
            Requester::Ignored => return Ok(Admission::Stop),
            Requester::Person(actor) => {
                let rank = self
                    .permission_rank(session, repo, actor)
                    .await
                    .map_err(gh_to_job)?;
                match gate::refresh(rank, min, confirmed, author_is_candidate) {
                    Refresh::Refused => {
                        info!(%actor, "refresh refused: not enough permission on the hiring repository");
                        return Ok(Admission::Stop);
                    }
                    Refresh::Accepted {
                        confirms,
                        exempt_from_issue_limit: exempt,
                    } => {
                        if confirms {
                            let confirmation = Confirmation {
                                by: actor.to_string(),
                                candidate: candidate.to_string(),
                                links: links.clone(),
                            };
                            store
                                .confirm_submission(sub.id, Some(&confirmation))
                                .await
                                .map_err(store_to_job)?;
                        }
                        confirmed = true;
                        exempt_from_issue_limit = exempt;
                    }
                }
            }
        }
        let recent = if exempt_from_issue_limit {
            0
        } else {
            store
                .evaluations_since(sub.id, self.state.clock.now().as_millis() - 3_600_000)
                .await
                .map_err(store_to_job)?
        };
        let per_hour = config.limits.reevaluations_per_hour;
        if gate::over_issue_limit(recent, per_hour, exempt_from_issue_limit) {
            info!(recent, "re-evaluation limit reached for this issue");
            return Ok(Admission::Stop);
        }
        if req.trigger == Trigger::Refresh {
            // Accepted: say so at once on the command, before the evaluation's minutes.
            react(session, repo, req.command_comment, ReactionContent::Eyes).await;
        }
        // A candidate's own submission costs no permission request.
        let mut author_is_maintainer = None;
        if gate::author_must_be_maintainer(author_is_candidate, confirmed) {
            let m = self
                .has_permission(session, repo, author, min)
                .await
                .map_err(gh_to_job)?;
            if !m {
                return Ok(Admission::Notice(Notice::AwaitingConfirmation {
                    author: author.to_string(),
                    candidate: candidate.to_string(),
                }));
            }
            author_is_maintainer = Some(m);
        }
        if gate::daily_limit_applies(first, req.trigger, author_is_maintainer) {
            let count = store
                .submissions_by_author_since(
                    req.installation_id,
                    author,
                    self.state.clock.now().as_millis() - 86_400_000,
                )
                .await
                .map_err(store_to_job)?;
            let per_day = config.limits.submissions_per_day;
            if gate::over_daily_limit(count, per_day)
                && !self
                    .has_permission(session, repo, author, min)
                    .await
                    .map_err(gh_to_job)?
            {
                return Ok(Admission::Notice(Notice::OverDailyLimit {
                    author: author.to_string(),
                    per_day,
                }));
            }
        }
        Ok(Admission::Go)
    }
}

/// The submission the gate decides on.
struct Who<'a> {
    issue: &'a TrackingIssue,
    sub: &'a Submission,
    candidate: &'a str,
    parsed: &'a ParsedSubmission,
    bot_login: &'a str,
}
