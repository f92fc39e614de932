//! The first step: read the tracking issue and the hiring repository's configuration, decide
//! whether the issue is a submission at all, and parse it.

use crate::github::{GhError, Session};
use crate::repo_config::{Labels, RepoConfig};
use crate::submission::{LinkLimits, ParsedSubmission};

/// What the tracking issue says, as the evaluation reads it.
#[derive(Debug, Clone)]
pub(crate) struct TrackingIssue {
    pub(crate) labels: Vec<String>,
    pub(crate) body: String,
    pub(crate) author: String,
    pub(crate) html_url: Option<String>,
}

impl TrackingIssue {
    /// A submission by its form, or by the submission label (the configured name counts as
    /// the default one).
    pub(crate) fn is_submission(&self, names: Option<&Labels>) -> bool {
        let mut labels: Vec<&str> = self.labels.iter().map(String::as_str).collect();
        if let Some(names) = names
            && self
                .labels
                .iter()
                .any(|l| l.eq_ignore_ascii_case(&names.submission))
        {
            labels.push(crate::webhook::event::SUBMISSION_LABEL);
        }
        crate::webhook::event::is_submission(Some(&self.body), &labels)
    }

    /// The submission the body holds, within the configured link limits.
    pub(crate) fn parse(&self, config: &RepoConfig, web_url: &url::Url) -> ParsedSubmission {
        let limits = LinkLimits {
            max_pull_requests: config.limits.pull_request_links as usize,
            max_repositories: config.limits.repository_links as usize,
        };
        crate::submission::parse(&self.body, web_url, limits)
    }
}

/// The issue, or `None` when it is gone or is a pull request (GitHub lists those as issues).
pub(crate) async fn read_issue(
    session: &Session,
    repo: &str,
    number: i64,
) -> Result<Option<TrackingIssue>, GhError> {
    let Some(issue) = session.issue(repo, number).await? else {
        return Ok(None);
    };
    if issue.pull_request.is_some() {
        return Ok(None);
    }
    Ok(Some(TrackingIssue {
        labels: issue.labels.into_iter().map(|l| l.name).collect(),
        body: issue.body.unwrap_or_default(),
        author: issue.user.login,
        html_url: issue.html_url,
    }))
}

/// The hiring repository's configuration, or the words that say why its file is not valid.
pub(crate) async fn read_config(
    session: &Session,
    repo: &str,
) -> Result<Result<RepoConfig, String>, GhError> {
    crate::hiring_config::read(session, repo).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(body: &str, labels: &[&str]) -> TrackingIssue {
        TrackingIssue {
            labels: labels.iter().map(|l| l.to_string()).collect(),
            body: body.into(),
            author: "octocat".into(),
            html_url: None,
        }
    }

    #[test]
    fn a_renamed_submission_label_marks_a_submission() {
        let names = Labels {
            submission: "Candidate".into(),
            ..Labels::default()
        };
        let labelled = issue("Hello", &["candidate"]);
        assert!(labelled.is_submission(Some(&names)));
        assert!(!labelled.is_submission(Some(&Labels::default())));
        assert!(!issue("Hello", &["bug"]).is_submission(Some(&names)));
    }
}
