//! What a queued job asks for. Stored as JSON in `jobs.payload`; the webhook path writes it (`webhook::plan` decides which deliveries become jobs) and
//! the worker reads it. Only what the job needs is kept, not the raw delivery.

use serde::{Deserialize, Serialize};

use crate::store::NewJob;

/// What asked for an evaluation. Stored in the job's JSON by its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Opened,
    Edited,
    Reopened,
    Labeled,
    /// A `/folio refresh` command.
    Refresh,
    Retry,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Edited => "edited",
            Self::Reopened => "reopened",
            Self::Labeled => "labeled",
            Self::Refresh => "refresh",
            Self::Retry => "retry",
        }
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum JobPayload {
    /// Evaluate (or re-evaluate) a tracking issue.
    Evaluate {
        installation_id: i64,
        repo: String,
        /// GitHub's id of the repository (absent from jobs queued before it was kept, and from
        /// retries and reconciliation).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        repo_id: Option<i64>,
        issue_number: i64,
        trigger: Trigger,
        /// The comment that asked, for a `/folio refresh`: Folio reacts to it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command_comment: Option<i64>,
    },
    IssueClosed {
        installation_id: i64,
        repo: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        repo_id: Option<i64>,
        issue_number: i64,
        closed_at: i64,
    },
    IssueDeleted {
        installation_id: i64,
        repo: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        repo_id: Option<i64>,
        issue_number: i64,
    },
    /// `/folio forget` on a tracking issue; the job's actor is who asked.
    Forget {
        installation_id: i64,
        repo: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        repo_id: Option<i64>,
        issue_number: i64,
    },
    Installation {
        installation_id: i64,
        action: String,
        account_login: String,
        account_type: String,
        /// Repositories to make Folio's labels in: those an installation (or a change to it)
        /// added, when there are at most [`crate::labels::MAX_REPOSITORIES_AT_INSTALL`].
        #[serde(default)]
        label_repositories: Vec<String>,
    },
}

impl JobPayload {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Evaluate { .. } => "evaluate",
            Self::IssueClosed { .. } => "issue_closed",
            Self::IssueDeleted { .. } => "issue_deleted",
            Self::Forget { .. } => "forget",
            Self::Installation { .. } => "installation",
        }
    }

    /// Jobs with one key coalesce while pending and never run at once. A deletion shares the
    /// evaluation's key so that it replaces a pending evaluation and waits for a running one.
    pub(crate) fn dedupe_key(&self) -> String {
        match self {
            Self::Evaluate {
                repo, issue_number, ..
            }
            | Self::IssueDeleted {
                repo, issue_number, ..
            } => crate::store::issue_job_key("issue", repo, *issue_number),
            Self::IssueClosed {
                repo, issue_number, ..
            } => crate::store::issue_job_key("issue-state", repo, *issue_number),
            // Its own key: an outsider's refused `/folio forget` must not replace a pending
            // evaluation.
            Self::Forget {
                repo, issue_number, ..
            } => crate::store::issue_job_key("forget", repo, *issue_number),
            // Jobs that make labels keep their own key, so that a later change to the
            // installation does not replace them while they wait.
            Self::Installation {
                installation_id,
                label_repositories,
                ..
            } if label_repositories.is_empty() => format!("installation:{installation_id}"),
            Self::Installation {
                installation_id,
                label_repositories,
                ..
            } => format!(
                "installation:{installation_id}:labels:{}",
                label_repositories.join(",").to_lowercase()
            ),
        }
    }

    pub(crate) fn installation_id(&self) -> i64 {
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
            | Self::Forget {
                installation_id, ..
            }
            | Self::Installation {
                installation_id, ..
            } => *installation_id,
        }
    }

    pub(crate) fn to_job(&self, actor: Option<String>, run_at: i64) -> NewJob {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_are_stored_by_their_names() {
        let all = [
            Trigger::Opened,
            Trigger::Edited,
            Trigger::Reopened,
            Trigger::Labeled,
            Trigger::Refresh,
            Trigger::Retry,
        ];
        for t in all {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<Trigger>(&json).unwrap(), t);
        }
        // A payload queued with the trigger as a string still reads.
        let stored = r#"{"kind":"evaluate","installation_id":1,"repo":"o/r","issue_number":2,"trigger":"refresh"}"#;
        let p: JobPayload = serde_json::from_str(stored).unwrap();
        assert!(matches!(
            p,
            JobPayload::Evaluate {
                trigger: Trigger::Refresh,
                ..
            }
        ));
    }
}
