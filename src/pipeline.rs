//! One evaluation, end to end: tracking issue → fetch → analyze → report → render → publish.

use std::sync::Arc;

use crate::server::AppState;
use crate::worker::JobError;

pub struct Pipeline {
    state: Arc<AppState>,
}

impl Pipeline {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    pub async fn evaluate_issue(
        &self,
        installation_id: i64,
        repo: &str,
        issue_number: i64,
        trigger: &str,
        actor: Option<&str>,
    ) -> Result<(), JobError> {
        let _ = (installation_id, repo, issue_number, trigger, actor);
        if self.state.app_credentials().is_none() {
            return Err(JobError::Retry(anyhow::anyhow!(
                "GitHub App credentials are not configured"
            )));
        }
        Err(JobError::Permanent(anyhow::anyhow!("evaluation is not wired yet")))
    }

    pub async fn report_failure(&self, installation_id: i64, repo: &str, issue_number: i64, error: &str) {
        let _ = (installation_id, repo, issue_number, error);
    }
}

/// `folio evaluate`: the same pipeline from a terminal.
pub async fn evaluate_cli(
    settings: &crate::config::Settings,
    candidate: &str,
    installation: Option<i64>,
    links: &[String],
    format: crate::model::OutputFormat,
) -> Result<String, crate::cli_error::CliError> {
    let _ = (settings, candidate, installation, links, format);
    Err(crate::cli_error::CliError::usage("folio evaluate is not wired yet"))
}
