//! Fetching a portfolio from GitHub into immutable snapshots: the only I/O of an evaluation.
//! Independent requests run concurrently within a bound; every list is paginated; repository
//! files come from one tarball per repository at one commit, cached by commit SHA.

use futures::stream::{self, StreamExt};
use tracing::{Instrument, debug, info_span};

use crate::archive::{ArchiveBudget, FileRules, Limits, TooLarge};
use crate::attribution::TemplateOrigin;
use crate::config::ArchiveSettings;
use crate::github::{GhError, Session};
use crate::model::RepoAttribution;
use crate::snapshot::{PullRequestSnapshot, RepoSnapshot};
use crate::store::DynStore;
use crate::submission::{PrRef, RepoRef};

mod authorship;
mod dependency_bots;
mod files;
mod pull_request;
mod repository;
mod runs;

pub(crate) use authorship::{MAX_ATTRIBUTION_COMMITS, OWNED_ATTRIBUTION_REQUESTS, OwnedHistory};
pub(crate) use pull_request::{
    MAX_PR_COMMITS, MAX_PR_FILES, MAX_PR_REVIEW_COMMENTS, MAX_PR_REVIEWS,
};
pub(crate) use runs::MAX_JOB_REQUESTS;

const CONCURRENCY: usize = 4;

#[derive(Debug, Clone, PartialEq)]
pub struct RepoMeta {
    pub full_name: String,
    pub html_url: String,
    pub owner: String,
    pub private: bool,
    pub fork: bool,
    pub parent: Option<String>,
    pub from_template: bool,
    pub template: Option<String>,
    /// How it came from a template: GitHub's template, cruft's or copier's answers file, or
    /// (read for owned repositories only) a first commit that names cookiecutter.
    pub template_origin: Option<TemplateOrigin>,
    pub default_branch: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FetchedRepo {
    pub meta: RepoMeta,
    pub snapshot: RepoSnapshot,
    pub attribution: RepoAttribution,
    /// Whether it was linked directly (else it is the repository of a linked pull request).
    pub linked: bool,
    /// Contributors and first commit, for a repository the candidate owns.
    pub owned_history: Option<OwnedHistory>,
    /// Wanted text files not kept, past the text kept per repository (sorted).
    pub left_out: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Portfolio {
    pub pull_requests: Vec<PullRequestSnapshot>,
    pub repositories: Vec<FetchedRepo>,
    /// Links that could not be used, with the reason, for the report's warnings.
    pub warnings: Vec<String>,
}

fn ts(s: &str) -> Option<i64> {
    humantime::parse_rfc3339_weak(s.trim_end_matches('Z'))
        .or_else(|_| humantime::parse_rfc3339(s))
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
}

fn warning_for(link: &str, e: &GhError) -> String {
    match e {
        GhError::NotFound(_) => {
            format!("{link}: not found (deleted, renamed, or not public); skipped")
        }
        GhError::Forbidden { .. } => {
            format!("{link}: not public or not readable; skipped")
        }
        GhError::TooLarge { limit, .. } => {
            format!("{link}: one of GitHub's answers for it is larger than {limit} bytes; skipped")
        }
        // Where to is left out: the comment is public, the address may be anything.
        GhError::Redirect { .. } => {
            format!("{link}: GitHub redirected the request away from GitHub; skipped")
        }
        other => format!("{link}: could not be fetched ({other}); skipped"),
    }
}

/// Why a repository was not read.
#[derive(Debug)]
enum RepoError {
    GitHub(GhError),
    /// Its archive is over a cap.
    TooLarge(TooLarge),
}

impl From<GhError> for RepoError {
    fn from(e: GhError) -> Self {
        Self::GitHub(e)
    }
}

impl RepoError {
    fn warning(&self, link: &str) -> String {
        match self {
            Self::GitHub(e) => warning_for(link, e),
            Self::TooLarge(t) => {
                format!("{link}: too large to analyse ({t}); its files were not read")
            }
        }
    }
}

/// Texts kept from pull requests and releases (review and comment bodies, diff hunks, commit
/// messages, release notes), at most this many bytes each: GitHub allows 64 K characters, and
/// a quote or a signal needs far less.
pub(crate) const MAX_KEPT_TEXT_BYTES: usize = 8 * 1024;

fn kept_text(text: String) -> String {
    match crate::render::neutralise::cut_bytes(&text, MAX_KEPT_TEXT_BYTES) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(cut) => cut,
    }
}

/// The repository files analysis reads, and those it reads first when a repository's text is
/// over its budget.
pub(crate) const FILE_RULES: FileRules = FileRules {
    wanted: crate::analyze::practices::is_wanted_path,
    first: crate::analyze::practices::is_read_first,
};

/// The caps of one archive: the operator's settings, the installation's `max_tarball_mb`, and
/// no more kept text than analysis parses per repository.
pub(crate) fn archive_limits(settings: &ArchiveSettings, max_tarball_bytes: u64) -> Limits {
    Limits {
        compressed_bytes: max_tarball_bytes,
        unpacked_bytes: settings.max_unpacked_bytes,
        entries: settings.max_entries,
        kept_bytes: crate::analyze::practices::MAX_PARSED_BYTES,
    }
}

/// Errors that say nothing about one link but about the whole evaluation: GitHub is
/// unavailable, or it rejects our credentials. They fail (or defer) the evaluation instead of
/// turning every link into a warning.
fn is_fatal(e: &GhError) -> bool {
    e.is_transient() || matches!(e, GhError::Unauthorized(_))
}

pub struct Fetcher<'a> {
    pub session: &'a Session,
    pub web_url: &'a url::Url,
    pub store: Option<&'a DynStore>,
    pub candidate: &'a str,
    /// What one repository archive may cost.
    pub(crate) archive: Limits,
    /// Bytes held by archive extractions, shared by every evaluation of the process.
    pub(crate) archive_budget: &'a ArchiveBudget,
    /// Which repository files the analyzers need, and which first.
    pub(crate) files: FileRules,
}

impl Fetcher<'_> {
    pub async fn portfolio(&self, prs: &[PrRef], repos: &[RepoRef]) -> Result<Portfolio, GhError> {
        let mut out = Portfolio::default();
        let results: Vec<(String, Result<Option<PullRequestSnapshot>, GhError>)> =
            stream::iter(prs.iter().cloned())
                .map(|p| async move {
                    let link = format!(
                        "{}/{}/pull/{}",
                        self.web_url.as_str().trim_end_matches('/'),
                        p.repo.full_name(),
                        p.number
                    );
                    let span =
                        info_span!("pull_request", repo = %p.repo.full_name(), pr = p.number);
                    (link, self.pull_request(&p).instrument(span).await)
                })
                .buffered(CONCURRENCY)
                .collect()
                .await;
        let mut repo_order: Vec<(RepoRef, bool)> =
            repos.iter().map(|r| (r.clone(), true)).collect();
        for (link, r) in results {
            match r {
                Ok(Some(pr)) => {
                    let (owner, name) = pr.repo.split_once('/').unwrap_or((&pr.repo, ""));
                    let rr = RepoRef {
                        owner: owner.to_string(),
                        name: name.to_string(),
                    };
                    if !repo_order
                        .iter()
                        .any(|(x, _)| x.full_name().eq_ignore_ascii_case(&rr.full_name()))
                    {
                        repo_order.push((rr, false));
                    }
                    out.pull_requests.push(pr);
                }
                Ok(None) => out
                    .warnings
                    .push(format!("{link}: not public; not evaluated and not quoted")),
                Err(e) if is_fatal(&e) => return Err(e),
                Err(e) => out.warnings.push(warning_for(&link, &e)),
            }
        }

        let authored_in: Vec<String> = out
            .pull_requests
            .iter()
            .filter(|p| p.author.eq_ignore_ascii_case(self.candidate))
            .map(|p| p.repo.to_ascii_lowercase())
            .collect();
        let bot_merged = self.dependency_bot_prs(&repo_order).await;
        let results: Vec<(String, bool, Result<Option<FetchedRepo>, RepoError>)> =
            stream::iter(repo_order)
                .map(|(r, linked)| {
                    let authored = authored_in.contains(&r.full_name().to_ascii_lowercase());
                    let bot = bot_merged.of(&r.full_name());
                    async move {
                        let link = format!(
                            "{}/{}",
                            self.web_url.as_str().trim_end_matches('/'),
                            r.full_name()
                        );
                        let span = info_span!("repository", repo = %r.full_name());
                        let res = self
                            .repository(&r, authored, bot)
                            .instrument(span)
                            .await
                            .map(|o| {
                                o.map(|mut f| {
                                    f.linked = linked;
                                    f
                                })
                            });
                        (link, linked, res)
                    }
                })
                .buffered(CONCURRENCY)
                .collect()
                .await;
        for (link, linked, r) in results {
            match r {
                Ok(Some(repo)) => {
                    // Only a repository that is analysed has text that was left out of it.
                    if !repo.left_out.is_empty() && repo.attribution != RepoAttribution::Unrelated {
                        let left_out: Vec<&str> =
                            repo.left_out.iter().map(String::as_str).collect();
                        out.warnings.push(format!(
                            "{}: {}",
                            repo.meta.full_name,
                            crate::analyze::practices::budget_warning(
                                &left_out,
                                self.archive.kept_bytes
                            )
                        ));
                    }
                    out.repositories.push(repo)
                }
                Ok(None) if linked => out
                    .warnings
                    .push(format!("{link}: not public; not evaluated and not quoted")),
                Ok(None) => {}
                Err(RepoError::GitHub(e)) if is_fatal(&e) => return Err(e),
                Err(e) if linked => out.warnings.push(e.warning(&link)),
                Err(e) => debug!(%link, error = ?e, "repository of a pull request not fetched"),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(ts("2011-01-26T19:01:12Z"), Some(1296068472));
    }
}
