//! Which deliveries become jobs: the webhook path asks this right after parsing, so that a
//! delivery Folio does not act on is answered without a job.

use super::event::{Command, Event};
use crate::jobs::{JobPayload, Trigger};
use crate::store::NewJob;

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
                    trigger: if action == "opened" {
                        Trigger::Opened
                    } else {
                        Trigger::Reopened
                    },
                },
                "edited" if *is_submission && *body_changed => JobPayload::Evaluate {
                    installation_id,
                    repo,
                    issue_number,
                    trigger: Trigger::Edited,
                },
                "labeled"
                    if label_added.as_deref().is_some_and(|l| {
                        l.eq_ignore_ascii_case(super::event::SUBMISSION_LABEL)
                    }) =>
                {
                    JobPayload::Evaluate {
                        installation_id,
                        repo,
                        issue_number,
                        trigger: Trigger::Labeled,
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
            let forget = commands.contains(&Command::Forget);
            if !forget && !commands.contains(&Command::Refresh) {
                return Err("no /folio command".into());
            }
            let Some(installation_id) = *installation_id else {
                return Err("no installation in the payload".into());
            };
            // A withdrawal outweighs a refresh in the same comment.
            if forget {
                return Ok(Some(
                    JobPayload::Forget {
                        installation_id,
                        repo: repo.clone(),
                        issue_number: *issue_number,
                    }
                    .to_job(Some(author.clone()), now),
                ));
            }
            Ok(Some(
                JobPayload::Evaluate {
                    installation_id,
                    repo: repo.clone(),
                    issue_number: *issue_number,
                    trigger: Trigger::Refresh,
                }
                .to_job(Some(author.clone()), now),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobPayload;

    fn comment(commands: Vec<Command>) -> Event {
        Event::IssueComment {
            action: "created".into(),
            installation_id: Some(7),
            repo: "Acme/Hiring".into(),
            issue_number: 3,
            comment_id: 1,
            author: "octocat".into(),
            author_is_bot: false,
            on_pull_request: false,
            commands,
        }
    }

    #[test]
    fn forget_becomes_its_own_job_with_who_asked() {
        let job = plan(&comment(vec![Command::Refresh, Command::Forget]), 5)
            .expect("planned")
            .expect("a job");
        assert_eq!(job.kind, "forget");
        assert_eq!(job.actor.as_deref(), Some("octocat"));
        // Not the evaluation's key: a refused forget cannot replace a pending evaluation.
        assert_eq!(job.dedupe_key, "forget:acme/hiring#3");
        let refresh = plan(&comment(vec![Command::Refresh]), 5)
            .expect("planned")
            .expect("a job");
        assert_ne!(refresh.dedupe_key, job.dedupe_key);
        let payload: JobPayload = serde_json::from_str(&job.payload).expect("json");
        assert_eq!(
            payload,
            JobPayload::Forget {
                installation_id: 7,
                repo: "Acme/Hiring".into(),
                issue_number: 3
            }
        );
        assert!(plan(&comment(vec![]), 5).is_err());
    }
}
