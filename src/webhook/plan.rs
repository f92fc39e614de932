//! Which deliveries become jobs: the webhook path asks this right after parsing, so that a
//! delivery Folio does not act on is answered without a job.

use super::event::{Command, Event};
use crate::jobs::{JobPayload, Trigger};
use crate::store::NewJob;

/// The repositories to make labels in at install: all of them when there are few, none
/// otherwise (their first submission makes them).
fn label_targets(repositories: &[String]) -> Vec<String> {
    if repositories.len() <= crate::labels::MAX_REPOSITORIES_AT_INSTALL {
        repositories.to_vec()
    } else {
        Vec::new()
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
            repositories,
        } => Ok(Some(
            JobPayload::Installation {
                installation_id: *installation_id,
                action: action.clone(),
                account_login: account_login.clone(),
                account_type: account_type.clone(),
                label_repositories: if matches!(
                    action.as_str(),
                    "created" | "new_permissions_accepted"
                ) {
                    label_targets(repositories)
                } else {
                    Vec::new()
                },
            }
            .to_job(None, now),
        )),
        Event::InstallationRepositories {
            installation_id,
            account_login,
            added,
            ..
        } => Ok(Some(
            JobPayload::Installation {
                installation_id: *installation_id,
                action: "repositories_changed".into(),
                account_login: account_login.clone().unwrap_or_default(),
                account_type: String::new(),
                label_repositories: label_targets(added),
            }
            .to_job(None, now),
        )),
        Event::Issue {
            action,
            installation_id,
            repo,
            repo_id,
            number,
            is_submission,
            body_changed,
            label_added,
            ..
        } => {
            let Some(installation_id) = *installation_id else {
                return Err("no installation in the payload".into());
            };
            let (repo, repo_id, issue_number) = (repo.clone(), *repo_id, *number);
            let payload = match action.as_str() {
                "closed" => JobPayload::IssueClosed {
                    installation_id,
                    repo,
                    repo_id,
                    issue_number,
                    closed_at: now,
                },
                "deleted" => JobPayload::IssueDeleted {
                    installation_id,
                    repo,
                    repo_id,
                    issue_number,
                },
                "opened" | "reopened" if *is_submission => JobPayload::Evaluate {
                    installation_id,
                    repo,
                    repo_id,
                    issue_number,
                    trigger: if action == "opened" {
                        Trigger::Opened
                    } else {
                        Trigger::Reopened
                    },
                    command_comment: None,
                },
                "edited" if *is_submission && *body_changed => JobPayload::Evaluate {
                    installation_id,
                    repo,
                    repo_id,
                    issue_number,
                    trigger: Trigger::Edited,
                    command_comment: None,
                },
                "labeled"
                    if label_added.as_deref().is_some_and(|l| {
                        l.eq_ignore_ascii_case(super::event::SUBMISSION_LABEL)
                    }) =>
                {
                    JobPayload::Evaluate {
                        installation_id,
                        repo,
                        repo_id,
                        issue_number,
                        trigger: Trigger::Labeled,
                        command_comment: None,
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
            repo_id,
            issue_number,
            comment_id,
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
                        repo_id: *repo_id,
                        issue_number: *issue_number,
                    }
                    .to_job(Some(author.clone()), now),
                ));
            }
            Ok(Some(
                JobPayload::Evaluate {
                    installation_id,
                    repo: repo.clone(),
                    repo_id: *repo_id,
                    issue_number: *issue_number,
                    trigger: Trigger::Refresh,
                    command_comment: Some(*comment_id),
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
            repo_id: Some(42),
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
        // Folio reacts to the comment that asked for the refresh.
        let asked: JobPayload = serde_json::from_str(&refresh.payload).expect("json");
        assert!(matches!(
            asked,
            JobPayload::Evaluate {
                trigger: Trigger::Refresh,
                command_comment: Some(1),
                ..
            }
        ));
        let payload: JobPayload = serde_json::from_str(&job.payload).expect("json");
        assert_eq!(
            payload,
            JobPayload::Forget {
                installation_id: 7,
                repo: "Acme/Hiring".into(),
                repo_id: Some(42),
                issue_number: 3
            }
        );
        assert!(plan(&comment(vec![]), 5).is_err());
    }

    fn installed(action: &str, count: usize) -> JobPayload {
        let event = Event::Installation {
            action: action.into(),
            installation_id: 9,
            account_login: "acme".into(),
            account_type: "Organization".into(),
            repositories: (0..count).map(|i| format!("acme/r{i}")).collect(),
        };
        let job = plan(&event, 1).expect("planned").expect("a job");
        serde_json::from_str(&job.payload).expect("json")
    }

    fn label_repositories(p: &JobPayload) -> Vec<String> {
        match p {
            JobPayload::Installation {
                label_repositories, ..
            } => label_repositories.clone(),
            other => panic!("not an installation job: {other:?}"),
        }
    }

    #[test]
    fn labels_are_made_at_install_on_five_repositories_or_fewer_only() {
        assert_eq!(label_repositories(&installed("created", 5)).len(), 5);
        assert!(label_repositories(&installed("created", 6)).is_empty());
        assert!(label_repositories(&installed("deleted", 1)).is_empty());
        assert!(label_repositories(&installed("suspend", 1)).is_empty());
        let added = Event::InstallationRepositories {
            action: "added".into(),
            installation_id: 9,
            account_login: Some("acme".into()),
            added: vec!["acme/new".into()],
            removed: vec![],
        };
        let job = plan(&added, 1).expect("planned").expect("a job");
        let payload: JobPayload = serde_json::from_str(&job.payload).expect("json");
        assert_eq!(label_repositories(&payload), ["acme/new"]);
        // Its own key: a later change to the installation cannot replace it while it waits.
        assert_ne!(job.dedupe_key, "installation:9");
    }

    #[test]
    fn an_installation_job_queued_before_labels_existed_still_reads() {
        let old = r#"{"kind":"installation","installation_id":3,"action":"created","account_login":"acme","account_type":"User"}"#;
        let payload: JobPayload = serde_json::from_str(old).expect("old payload");
        assert!(label_repositories(&payload).is_empty());
    }
}
