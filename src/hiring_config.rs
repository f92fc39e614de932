//! The hiring repository's `.github/folio.yml`, else the one in the organization's `.github`
//! repository: read through the typed client, parsed by [`crate::repo_config`].

use crate::github::{GhError, Session};
use crate::repo_config::RepoConfig;

/// `Ok(Err(message))` when a file exists but is not a valid configuration: the caller tells
/// the issue, in words, instead of failing the job.
pub(crate) async fn read(
    session: &Session,
    repo: &str,
) -> Result<Result<RepoConfig, String>, GhError> {
    const PATH: &str = ".github/folio.yml";
    let hiring = session
        .file_contents(repo, PATH)
        .await?
        .and_then(|f| f.text());
    let org_file = match &hiring {
        Some(_) => None,
        None => {
            let owner = repo.split('/').next().unwrap_or(repo);
            session
                .file_contents(&format!("{owner}/.github"), PATH)
                .await?
                .and_then(|f| f.text())
        }
    };
    Ok(
        crate::repo_config::resolve(hiring.as_deref(), org_file.as_deref())
            .map_err(|e| e.to_string()),
    )
}
