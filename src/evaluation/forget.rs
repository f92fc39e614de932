//! `/folio forget` on a tracking issue: the candidate (or someone with triage permission or
//! higher) withdraws the submission. Folio deletes its evidence comment, erases what it stored
//! for the issue, answers once, and then leaves the issue alone until a maintainer's
//! `/folio refresh`.

use tracing::{Instrument, info, info_span};

use super::{Pipeline, gh_to_job, store_to_job};
use crate::publish::Publisher;
use crate::repo_config::Permission;
use crate::submission::LinkLimits;
use crate::worker::JobError;

impl Pipeline {
    /// `actor` wrote the command; `job_id` is the job running it (its row outlives the
    /// erasure without the actor).
    pub(crate) async fn forget_issue(
        &self,
        installation_id: i64,
        repo: &str,
        issue_number: i64,
        actor: Option<&str>,
        job_id: i64,
    ) -> Result<(), JobError> {
        let span = info_span!("forget", installation = installation_id, repo = %repo, issue = issue_number);
        self.forget_inner(installation_id, repo, issue_number, actor, job_id)
            .instrument(span)
            .await
    }

    async fn forget_inner(
        &self,
        installation_id: i64,
        repo: &str,
        issue_number: i64,
        actor: Option<&str>,
        job_id: i64,
    ) -> Result<(), JobError> {
        let store = &self.state.store;
        let Some(actor) = actor.filter(|a| !a.ends_with("[bot]")) else {
            return Ok(());
        };
        // Answered once already: a repeated command writes nothing.
        if store
            .forgotten(repo, issue_number)
            .await
            .map_err(store_to_job)?
            == Some(true)
        {
            info!("already forgotten; nothing to do");
            return Ok(());
        }
        let gh = self.github()?;
        let session = gh.session(Some(installation_id));
        let sub = store
            .submission(repo, issue_number)
            .await
            .map_err(store_to_job)?;
        let issue = session.issue(repo, issue_number).await.map_err(gh_to_job)?;
        // Folio ignores every issue that is not a submission, withdrawals included.
        let is_submission = issue.as_ref().is_some_and(|i| {
            let labels: Vec<&str> = i.labels.iter().map(|l| l.name.as_str()).collect();
            crate::webhook::event::is_submission(i.body.as_deref(), &labels)
        });
        if sub.is_none() && !is_submission {
            info!("not a submission; left alone");
            return Ok(());
        }
        // The candidate the stored submission names, else the one the issue names now.
        let candidate = sub.as_ref().and_then(|s| s.candidate.clone()).or_else(|| {
            issue.as_ref().and_then(|i| {
                let body = i.body.as_deref().unwrap_or_default();
                let parsed = crate::submission::parse(
                    body,
                    &self.state.settings.web_url,
                    LinkLimits::default(),
                );
                parsed.candidate.or_else(|| Some(i.user.login.clone()))
            })
        });
        let is_candidate = candidate
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(actor));
        if !is_candidate
            && !self
                .has_permission(&session, repo, actor, Permission::Triage)
                .await
                .map_err(gh_to_job)?
        {
            info!(%actor, "forget refused: neither the candidate nor triage permission");
            return Ok(());
        }

        let slug = session.app_slug().await.map_err(gh_to_job)?;
        let bot_login = format!("{slug}[bot]");
        let known = match &sub {
            Some(s) => store.last_comment_id(s.id).await.map_err(store_to_job)?,
            None => None,
        };
        let publisher = Publisher {
            session: &session,
            repo,
            issue: issue_number,
            bot_login: &bot_login,
        };
        let own = match known {
            Some(id) => Some(id),
            None if issue.is_some() => publisher.find_own().await.map_err(gh_to_job)?,
            None => None,
        };
        let mut comment_deleted = false;
        if let Some(id) = own {
            comment_deleted = session
                .delete_issue_comment(repo, id)
                .await
                .map_err(gh_to_job)?;
        }
        let erased = store
            .forget_submission(repo, issue_number, Some(job_id))
            .await
            .map_err(store_to_job)?;
        if issue.is_some() {
            let web = self.state.settings.web_url.as_str().trim_end_matches('/');
            let text =
                crate::render::comment::forgotten(candidate.as_deref(), web, comment_deleted);
            session
                .create_issue_comment(repo, issue_number, &text)
                .await
                .map_err(gh_to_job)?;
        }
        store
            .mark_forget_answered(repo, issue_number)
            .await
            .map_err(store_to_job)?;
        info!(
            submissions = erased.submissions,
            evaluations = erased.evaluations,
            jobs = erased.jobs,
            comment_deleted,
            "submission forgotten at the candidate's request"
        );
        Ok(())
    }
}
