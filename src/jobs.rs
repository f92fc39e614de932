//! What a queued job asks for. Stored as JSON in `jobs.payload`; the webhook path writes it (`webhook::plan` decides which deliveries become jobs) and
//! the worker reads it. Only what the job needs is kept, not the raw delivery.

use serde::{Deserialize, Serialize};

use crate::store::NewJob;

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
