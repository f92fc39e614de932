//! Routes a claimed job to the code that does it.

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use tracing::info;

use crate::jobs::JobPayload;
use crate::state::AppState;
use crate::store::Job;
use crate::worker::{JobError, JobHandler};

pub(crate) struct Dispatcher {
    state: Arc<AppState>,
    pipeline: crate::pipeline::Pipeline,
}

impl Dispatcher {
    pub(crate) fn new(state: Arc<AppState>) -> Self {
        let pipeline = crate::pipeline::Pipeline::new(state.clone());
        Self { state, pipeline }
    }
}

fn payload(job: &Job) -> Result<JobPayload, JobError> {
    serde_json::from_str(&job.payload)
        .context("the job's payload is unreadable")
        .map_err(JobError::Permanent)
}

fn store_err(e: crate::store::StoreError) -> JobError {
    JobError::Retry(anyhow::Error::new(e))
}

/// Before an erasure by name: a submission stored under an earlier name of the repository
/// takes the current one, so that the erasure finds it.
async fn follow_rename(
    store: &crate::store::DynStore,
    repo_id: Option<i64>,
    repo: &str,
    issue_number: i64,
) -> Result<(), JobError> {
    match repo_id {
        Some(id) => store
            .follow_rename(id, repo, issue_number)
            .await
            .map_err(store_err),
        None => Ok(()),
    }
}

#[async_trait]
impl JobHandler for Dispatcher {
    async fn handle(&self, job: &Job) -> Result<(), JobError> {
        let store = &self.state.store;
        match payload(job)? {
            JobPayload::Installation {
                installation_id,
                action,
                account_login,
                account_type,
                label_repositories,
            } => {
                match action.as_str() {
                    "deleted" => {
                        let n = store
                            .delete_installation(installation_id)
                            .await
                            .map_err(store_err)?;
                        info!(
                            installation_id,
                            submissions = n,
                            "installation removed with its data"
                        );
                    }
                    "suspend" => store
                        .set_installation_suspended(installation_id, true)
                        .await
                        .map_err(store_err)?,
                    "unsuspend" => store
                        .set_installation_suspended(installation_id, false)
                        .await
                        .map_err(store_err)?,
                    _ => {
                        if !account_login.is_empty() {
                            let kind = if account_type.is_empty() {
                                "User"
                            } else {
                                &account_type
                            };
                            store
                                .upsert_installation(installation_id, &account_login, kind)
                                .await
                                .map_err(store_err)?;
                        }
                    }
                }
                if !label_repositories.is_empty() && action != "deleted" {
                    let session = self.pipeline.session(installation_id)?;
                    for repo in &label_repositories {
                        crate::labels::make_once(store, &session, installation_id, repo, None)
                            .await
                            .map_err(crate::pipeline::gh_to_job)?;
                    }
                }
                Ok(())
            }
            JobPayload::IssueClosed {
                repo,
                repo_id,
                issue_number,
                closed_at,
                ..
            } => store
                .set_issue_state(&repo, repo_id, issue_number, Some(closed_at))
                .await
                .map_err(store_err),
            JobPayload::IssueDeleted {
                repo,
                repo_id,
                issue_number,
                ..
            } => {
                follow_rename(store, repo_id, &repo, issue_number).await?;
                store
                    .delete_submission(&repo, issue_number, Some(job.id))
                    .await
                    .map_err(store_err)?;
                Ok(())
            }
            JobPayload::Forget {
                installation_id,
                repo,
                repo_id,
                issue_number,
            } => {
                follow_rename(store, repo_id, &repo, issue_number).await?;
                self.pipeline
                    .forget_issue(
                        installation_id,
                        &repo,
                        issue_number,
                        job.actor.as_deref(),
                        job.id,
                    )
                    .await
            }
            JobPayload::Evaluate {
                installation_id,
                repo,
                repo_id,
                issue_number,
                trigger,
                command_comment,
            } => {
                self.pipeline
                    .evaluate_issue(
                        installation_id,
                        &repo,
                        repo_id,
                        issue_number,
                        trigger,
                        job.actor.as_deref(),
                        command_comment,
                    )
                    .await
            }
        }
    }

    async fn on_dead(&self, job: &Job, error: &str) {
        if let Ok(JobPayload::Evaluate {
            installation_id,
            repo,
            issue_number,
            ..
        }) = payload(job)
        {
            self.pipeline
                .report_failure(installation_id, &repo, issue_number, error)
                .await;
        }
    }
}
