//! `folio evaluate`: the same fetch, analysis and report as the service, from a terminal,
//! printed instead of published.

use std::io::IsTerminal;

use super::analysed::ANALYSER;
use super::assemble::{Analysis, assemble, gather};
use crate::analyze::practices::PracticeTable;
use crate::archive::ArchiveBudget;
use crate::cli_error::CliError;
use crate::config::Settings;
use crate::fetch::Fetcher;
use crate::github::{GhError, GitHub};
use crate::model::OutputFormat;
use crate::render::comment::CommentContext;
use crate::repo_config::RepoConfig;
use crate::report::rubric::Rubric;
use crate::submission::LinkLimits;

/// `folio evaluate`: the same fetch, analysis and report from a terminal.
pub(crate) async fn evaluate_cli(
    settings: &Settings,
    candidate: &str,
    installation: Option<i64>,
    links: &[String],
    format: OutputFormat,
) -> Result<String, CliError> {
    if !crate::submission::valid_login(candidate) {
        return Err(CliError::usage(format!(
            "--candidate {candidate:?} is not a valid GitHub login"
        )));
    }
    let credentials = match (installation, &settings.github_token, &settings.app) {
        (Some(_), _, Some(app)) => {
            GitHub::app(app.app_id, &app.private_key).map_err(|e| CliError::usage(e.to_string()))?
        }
        (Some(_), _, None) => {
            return Err(CliError::usage(
                "--installation needs FOLIO_APP_ID and FOLIO_PRIVATE_KEY_PATH",
            ));
        }
        (None, Some(token), _) => crate::github::Credentials::Token(token.clone()),
        (None, None, _) => {
            return Err(CliError::usage(
                "set GITHUB_TOKEN (a token that can read public repositories), or pass --installation ID with app credentials",
            ));
        }
    };
    let parsed =
        crate::submission::parse(&links.join("\n"), &settings.web_url, LinkLimits::default());
    if parsed.pull_requests.is_empty() && parsed.repositories.is_empty() {
        let reasons: Vec<String> = parsed
            .ignored
            .iter()
            .map(|i| format!("{} ({})", i.link, i.reason))
            .collect();
        return Err(CliError::usage(format!(
            "no usable links: give pull request or repository links on {}{}",
            settings.web_url.host_str().unwrap_or("GitHub"),
            if reasons.is_empty() {
                String::new()
            } else {
                format!("; ignored: {}", reasons.join(", "))
            }
        )));
    }
    let gh = crate::github::client(settings, Some(credentials), None)
        .map_err(|e| CliError::usage(e.to_string()))?;
    let session = gh.session(installation);
    let progress = std::io::stderr().is_terminal();
    if progress {
        eprintln!(
            "folio: fetching {} pull request(s) and {} repositor{}…",
            parsed.pull_requests.len(),
            parsed.repositories.len(),
            if parsed.repositories.len() == 1 {
                "y"
            } else {
                "ies"
            }
        );
    }
    let archive_budget = ArchiveBudget::new(settings.archive.max_inflight_bytes);
    let fetcher = Fetcher {
        session: &session,
        web_url: &settings.web_url,
        store: None,
        candidate,
        archive: crate::fetch::archive_limits(
            &settings.archive,
            RepoConfig::default().limits.max_tarball_bytes(),
        ),
        archive_budget: &archive_budget,
        files: crate::fetch::FILE_RULES,
    };
    let portfolio = fetcher
        .portfolio(&parsed.pull_requests, &parsed.repositories)
        .await
        .map_err(|e| match e {
            GhError::Unauthorized(_) => {
                CliError::usage("GitHub rejected GITHUB_TOKEN; check that it is valid")
            }
            other => CliError::Failure(anyhow::Error::new(other).context("fetching from GitHub")),
        })?;
    if progress {
        eprintln!(
            "folio: analyzing ({} requests made)…",
            session.counters.requests()
        );
    }
    let rubric = Rubric::builtin()
        .map_err(|e| CliError::Failure(anyhow::anyhow!("built-in rubric: {e}")))?;
    let table = PracticeTable::builtin();
    let evidence = gather(&fetcher, &portfolio, &table, None, ANALYSER)
        .await
        .map_err(|e| CliError::Failure(anyhow::Error::new(e)))?;
    let analysis = Analysis {
        rubric: &rubric,
        web_url: &settings.web_url,
    };
    let report = assemble(
        &analysis,
        candidate,
        &portfolio,
        &parsed,
        &evidence,
        session.counters.requests(),
    );
    Ok(match format {
        OutputFormat::Json => crate::render::json::json(&report),
        OutputFormat::Markdown => crate::render::comment::comment(
            &report,
            &CommentContext {
                submitted_by: None,
                evaluated_at: super::rfc3339_now(),
                issue_url: None,
                // No service runs to serve `/privacy`: only an address the operator gave.
                terms_url: settings.privacy_url.as_ref().map(url::Url::to_string),
            },
        ),
    })
}
