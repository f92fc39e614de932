//! What a queued job asks for. Stored as JSON in `jobs.payload`; the webhook path writes it and
//! the worker reads it. Only what the job needs is kept, not the raw delivery.

use serde::{Deserialize, Serialize};

use crate::store::NewJob;
use crate::webhook::event::{Command, Event};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobPayload {
    /// Evaluate (or re-evaluate) a tracking issue.
    Evaluate {
        installation_id: i64,
        repo: String,
        issue_number: i64,
        /// opened, edited, reopened, labeled, refresh, retry
        trigger: String,
    },
    IssueClosed {
        installation_id: i64,
        repo: String,
        issue_number: i64,
        closed_at: i64,
    },
    IssueDeleted {
        installation_id: i64,
        repo: String,
        issue_number: i64,
    },
    Installation {
        installation_id: i64,
        action: String,
        account_login: String,
        account_type: String,
    },
}

impl JobPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Evaluate { .. } => "evaluate",
            Self::IssueClosed { .. } => "issue_closed",
            Self::IssueDeleted { .. } => "issue_deleted",
            Self::Installation { .. } => "installation",
        }
    }

    /// Jobs with one key coalesce while pending and never run at once. A deletion shares the
    /// evaluation's key so that it replaces a pending evaluation and waits for a running one.
    pub fn dedupe_key(&self) -> String {
        match self {
            Self::Evaluate {
                repo, issue_number, ..
            }
            | Self::IssueDeleted {
                repo, issue_number, ..
            } => {
                format!("issue:{}#{issue_number}", repo.to_ascii_lowercase())
            }
            Self::IssueClosed {
                repo, issue_number, ..
            } => {
                format!("issue-state:{}#{issue_number}", repo.to_ascii_lowercase())
            }
            Self::Installation {
                installation_id, ..
            } => format!("installation:{installation_id}"),
        }
    }

    pub fn installation_id(&self) -> i64 {
        match self {
            Self::Evaluate {
                installation_id, ..
            }
            | Self::IssueClosed {
                installation_id, ..
            }
            | Self::IssueDeleted {
                installation_id, ..
            }
            | Self::Installation {
                installation_id, ..
            } => *installation_id,
        }
    }

    pub fn to_job(&self, actor: Option<String>, run_at: i64) -> NewJob {
        NewJob {
            kind: self.kind().to_string(),
            dedupe_key: self.dedupe_key(),
            // Serialising a plain enum of strings and integers cannot fail.
            payload: serde_json::to_string(self).unwrap_or_default(),
            actor,
            run_at,
            installation_id: Some(self.installation_id()),
        }
    }
}

/// What a parsed event asks for: a job (with the actor who asked), or nothing and why.
pub fn plan(event: &Event, now: i64) -> Result<Option<NewJob>, String> {
    match event {
        Event::Ping { .. } => Ok(None),
        Event::Ignored { reason, .. } => Err(reason.clone()),
        Event::Installation {
            action,
            installation_id,
            account_login,
            account_type,
        } => Ok(Some(
            JobPayload::Installation {
                installation_id: *installation_id,
                action: action.clone(),
                account_login: account_login.clone(),
                account_type: account_type.clone(),
            }
            .to_job(None, now),
        )),
        Event::InstallationRepositories {
            installation_id,
            account_login,
            ..
        } => Ok(Some(
            JobPayload::Installation {
                installation_id: *installation_id,
                action: "repositories_changed".into(),
                account_login: account_login.clone().unwrap_or_default(),
                account_type: String::new(),
            }
            .to_job(None, now),
        )),
        Event::Issue {
            action,
            installation_id,
            repo,
            number,
            is_submission,
            body_changed,
            label_added,
            ..
        } => {
            let Some(installation_id) = *installation_id else {
                return Err("no installation in the payload".into());
            };
            let (repo, issue_number) = (repo.clone(), *number);
            let payload = match action.as_str() {
                "closed" => JobPayload::IssueClosed {
                    installation_id,
                    repo,
                    issue_number,
                    closed_at: now,
                },
                "deleted" => JobPayload::IssueDeleted {
                    installation_id,
                    repo,
                    issue_number,
                },
                "opened" | "reopened" if *is_submission => JobPayload::Evaluate {
                    installation_id,
                    repo,
                    issue_number,
                    trigger: action.clone(),
                },
                "edited" if *is_submission && *body_changed => JobPayload::Evaluate {
                    installation_id,
                    repo,
                    issue_number,
                    trigger: "edited".into(),
                },
                "labeled"
                    if label_added.as_deref().is_some_and(|l| {
                        l.eq_ignore_ascii_case(crate::webhook::event::SUBMISSION_LABEL)
                    }) =>
                {
                    JobPayload::Evaluate {
                        installation_id,
                        repo,
                        issue_number,
                        trigger: "labeled".into(),
                    }
                }
                "edited" if !*body_changed => return Err("only the title changed".into()),
                _ => return Err("not a submission".into()),
            };
            Ok(Some(payload.to_job(None, now)))
        }
        Event::IssueComment {
            installation_id,
            repo,
            issue_number,
            author,
            author_is_bot,
            on_pull_request,
            commands,
            ..
        } => {
            if *author_is_bot {
                return Err("comment by a bot".into());
            }
            if *on_pull_request {
                return Err("comment on a pull request".into());
            }
            if !commands.contains(&Command::Refresh) {
                return Err("no /folio command".into());
            }
            let Some(installation_id) = *installation_id else {
                return Err("no installation in the payload".into());
            };
            Ok(Some(
                JobPayload::Evaluate {
                    installation_id,
                    repo: repo.clone(),
                    issue_number: *issue_number,
                    trigger: "refresh".into(),
                }
                .to_job(Some(author.clone()), now),
            ))
        }
    }
}
