//! Fetched data to a report: each repository analysed once ([`super::analysed`]), who added
//! each practice read from history, and the report built from both. The service and
//! `folio evaluate` share [`gather`] and [`assemble`], so both produce the same report from the
//! same fetched data.

use std::collections::{BTreeMap, HashMap};

use tracing::warn;

use super::analysed::{ANALYSER, Analyser, Analyses, AttemptLog, RepoAnalysis, analyse_portfolio};
use super::outcome::Evaluated;
use super::{Pipeline, gh_to_job, store_to_job};
use crate::analyze::practices::PracticeTable;
use crate::analyze::review::analyze_pull_request;
use crate::fetch::{FetchedRepo, Fetcher, OWNED_ATTRIBUTION_REQUESTS, Portfolio};
use crate::github::{GhError, Session};
use crate::model::{Attribution, PracticeFinding, RepoAttribution, Report, Source};
use crate::render::comment::CommentContext;
use crate::repo_config::RepoConfig;
use crate::report::rubric::Rubric;
use crate::report::{RepoPractices, ReportInput};
use crate::store::StoreError;
use crate::submission::ParsedSubmission;
use crate::worker::JobError;

/// Why the evidence could not be gathered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GatherError {
    #[error("reading commit history: {0}")]
    GitHub(#[from] GhError),
    #[error("recording the analysis: {0}")]
    Store(#[from] StoreError),
}

/// What the report is built from besides the fetched data.
#[derive(Debug, Clone, Default)]
pub(crate) struct Evidence {
    pub(crate) analyses: Analyses,
    pub(crate) attributions: PracticeAttributions,
}

/// Analyses each repository once, then reads who added each practice.
pub(crate) async fn gather(
    fetcher: &Fetcher<'_>,
    portfolio: &Portfolio,
    table: &PracticeTable,
    log: Option<AttemptLog<'_>>,
    analyser: Analyser,
) -> Result<Evidence, GatherError> {
    let analyses = analyse_portfolio(portfolio, table, log, analyser).await?;
    let attributions = practice_attributions(fetcher, portfolio, &analyses).await?;
    Ok(Evidence {
        analyses,
        attributions,
    })
}

impl Pipeline {
    /// Fetches the portfolio, analyses it and renders the report, and says whether it is
    /// the same as the last one.
    pub(super) async fn report(
        &self,
        session: &Session,
        config: &RepoConfig,
        candidate: String,
        parsed: ParsedSubmission,
        submission_id: i64,
        ctx: &CommentContext,
    ) -> Result<Evaluated, JobError> {
        let rubric = config
            .rubric()
            .map_err(|e| JobError::Permanent(anyhow::anyhow!("rubric: {e}")))?;
        let table = config
            .practice_table()
            .map_err(|e| JobError::Permanent(anyhow::anyhow!("practices: {e}")))?;
        let settings = &self.state.settings;
        let fetcher = Fetcher {
            session,
            web_url: &settings.web_url,
            store: Some(&self.state.store),
            candidate: &candidate,
            archive: crate::fetch::archive_limits(
                &settings.archive,
                config.limits.max_tarball_bytes(),
            ),
            archive_budget: &self.state.archive_budget,
            files: crate::fetch::FILE_RULES,
        };
        let portfolio = fetcher
            .portfolio(&parsed.pull_requests, &parsed.repositories)
            .await
            .map_err(gh_to_job)?;
        let log = AttemptLog {
            store: self.state.store.as_ref(),
            submission_id,
        };
        let evidence = gather(&fetcher, &portfolio, &table, Some(log), ANALYSER)
            .await
            .map_err(|e| match e {
                GatherError::GitHub(e) => gh_to_job(e),
                GatherError::Store(e) => store_to_job(e),
            })?;
        // Building and rendering the report is CPU work (a large portfolio takes a while);
        // off the async threads, so that webhooks and other jobs are not held up meanwhile.
        let web_url = settings.web_url.clone();
        let requests = session.counters.requests();
        let render_ctx = ctx.clone();
        let (content_hash, text, report_json) = tokio::task::spawn_blocking(move || {
            let analysis = Analysis {
                rubric: &rubric,
                web_url: &web_url,
            };
            let report = assemble(
                &analysis, &candidate, &portfolio, &parsed, &evidence, requests,
            );
            (
                super::content_hash(&report),
                crate::render::comment::comment(&report, &render_ctx),
                crate::render::json::json(&report),
            )
        })
        .await
        .map_err(|e| JobError::Retry(anyhow::anyhow!("analysis task failed: {e}")))?;
        let last = self
            .state
            .store
            .last_evaluation(submission_id)
            .await
            .map_err(store_to_job)?;
        let unchanged = last.as_ref().is_some_and(|l| {
            l.content_hash.as_deref() == Some(content_hash.as_str())
                && l.outcome == crate::store::EvaluationOutcome::Evaluated
        });
        Ok(Evaluated {
            text,
            report_json,
            content_hash,
            unchanged,
        })
    }
}

/// The fixed parts of a report: the rubric and the web host.
pub(crate) struct Analysis<'a> {
    pub(crate) rubric: &'a Rubric,
    pub(crate) web_url: &'a url::Url,
}

/// Builds the report from fetched data and the evidence gathered from it. Pure: no I/O, no
/// clock.
pub(crate) fn assemble(
    analysis: &Analysis<'_>,
    candidate: &str,
    portfolio: &Portfolio,
    parsed: &ParsedSubmission,
    evidence: &Evidence,
    api_requests: u64,
) -> Report {
    let (rubric, web_url) = (analysis.rubric, analysis.web_url);
    let attributions = &evidence.attributions;
    let web = web_url.as_str().trim_end_matches('/');
    let mut warnings: Vec<String> = Vec::new();
    for i in &parsed.ignored {
        warnings.push(format!("{}: {}; ignored", i.link, i.reason));
    }
    warnings.extend(parsed.warnings.iter().cloned());
    warnings.extend(portfolio.warnings.iter().cloned());

    let mut sources = Vec::new();
    let mut pull_requests = Vec::new();
    let mut reviews = Vec::new();
    let mut review_comments = Vec::new();
    for pr in &portfolio.pull_requests {
        let analysis = analyze_pull_request(pr, candidate);
        if analysis.attribution == Attribution::Unrelated {
            warnings.push(format!(
                "{}: {candidate} neither authored nor reviewed this pull request; not credited",
                pr.html_url
            ));
        }
        sources.push(Source::PullRequest {
            url: pr.html_url.clone(),
            attribution: analysis.attribution,
            title: Some(pr.title.clone()),
            commit: Some(pr.head_sha.clone()),
        });
        pull_requests.extend(analysis.summary);
        reviews.extend(analysis.reviews);
        review_comments.extend(analysis.review_comments);
    }

    let mut repo_practices = Vec::new();
    for repo in &portfolio.repositories {
        if repo.linked || repo.attribution != RepoAttribution::Unrelated {
            sources.push(Source::Repository {
                url: format!("{web}/{}", repo.meta.full_name),
                attribution: repo.attribution,
                from_template: repo.meta.from_template,
                commit: repo.snapshot.commit.clone(),
            });
        }
        if repo.attribution == RepoAttribution::Unrelated {
            if repo.linked {
                warnings.push(format!(
                    "{web}/{}: no commits by {candidate}; listed, not credited",
                    repo.meta.full_name
                ));
            }
            continue;
        }
        // A file that trips a parser costs its repository's findings, with a warning that
        // says so, never the evaluation of the rest.
        let mut findings = match evidence.analyses.of(repo) {
            Some(RepoAnalysis::Analysed { findings, notes }) => {
                warnings.extend(notes.iter().cloned());
                findings.clone()
            }
            Some(RepoAnalysis::Unknown { warning }) => {
                warnings.push(warning.clone());
                Vec::new()
            }
            None => Vec::new(),
        };
        let sha = repo.snapshot.commit.clone().unwrap_or_default();
        for f in &mut findings {
            f.repository = Some(repo.meta.full_name.clone());
            if let Some(a) =
                attributions.get(&(repo.meta.full_name.to_ascii_lowercase(), f.id.clone()))
            {
                f.attribution = Some(*a);
            }
            for e in &mut f.evidence {
                if e.url.is_none()
                    && let Some(path) = &e.path
                {
                    let anchor = e.line.map(|l| format!("#L{l}")).unwrap_or_default();
                    e.url = Some(format!(
                        "{web}/{}/blob/{sha}/{path}{anchor}",
                        repo.meta.full_name
                    ));
                }
            }
        }
        let attribution = match repo.attribution {
            RepoAttribution::Owned => Attribution::Owned,
            _ => Attribution::Project,
        };
        repo_practices.push(RepoPractices {
            repository: Some(repo.meta.full_name.clone()),
            attribution,
            findings,
        });
    }

    let mut report = crate::report::build(
        ReportInput {
            candidate: Some(candidate.to_string()),
            sources,
            repo_practices,
            pull_requests,
            reviews,
            review_comments,
            warnings,
            api_requests,
        },
        rubric,
    );
    report.releases = portfolio
        .repositories
        .iter()
        .filter(|r| r.attribution == RepoAttribution::Owned)
        .flat_map(|r| crate::activity::owned_releases(&r.meta.full_name, &r.snapshot))
        .collect();
    report
}

/// Practice attributions decided line by line, keyed by (lower-case `owner/name`, practice
/// id); a practice missing here keeps its repository's attribution.
pub(crate) type PracticeAttributions = HashMap<(String, String), Attribution>;

/// Who added each practice, from the repositories' history. In a project the candidate
/// contributed to (or a fork), a practice is `authored` where their commits added its line. In
/// a repository they own, it is `authored`, `template` or `project` line by line
/// ([`crate::attribution::owned_attributions`]), and stays `owned` where that could not be
/// determined. Reading history is best effort: when it fails the practices keep their
/// repository's attribution.
async fn practice_attributions(
    fetcher: &Fetcher<'_>,
    portfolio: &Portfolio,
    analyses: &Analyses,
) -> Result<PracticeAttributions, GhError> {
    let mut out = HashMap::new();
    for repo in &portfolio.repositories {
        if repo.attribution == RepoAttribution::Unrelated {
            continue;
        }
        // The warning for a repository left unknown is given once, by the report.
        let Some(RepoAnalysis::Analysed { findings, .. }) = analyses.of(repo) else {
            continue;
        };
        let key = repo.meta.full_name.to_ascii_lowercase();
        let found = if repo.attribution == RepoAttribution::Owned {
            owned_attributions(fetcher, repo, findings).await
        } else {
            contributed_attributions(fetcher, repo, findings).await
        };
        let found = match found {
            Ok(found) => found,
            Err(e) if e.is_transient() || matches!(e, GhError::RateLimited(_)) => return Err(e),
            Err(e) => {
                warn!(repo = %repo.meta.full_name, error = %e, "commit history unreadable; practices keep the repository's attribution");
                continue;
            }
        };
        for (id, a) in found {
            out.insert((key.clone(), id), a);
        }
    }
    Ok(out)
}

/// The practices whose line one of the candidate's commits added, in someone else's
/// repository or a fork.
async fn contributed_attributions(
    fetcher: &Fetcher<'_>,
    repo: &FetchedRepo,
    findings: &[PracticeFinding],
) -> Result<BTreeMap<String, Attribution>, GhError> {
    let lines = crate::attribution::evidence_lines(findings, &repo.snapshot);
    if lines.is_empty() {
        return Ok(BTreeMap::new());
    }
    let paths = crate::attribution::paths_to_check(&lines, crate::attribution::MAX_FILES_PER_REPO);
    let commits = fetcher
        .candidate_commits(&repo.meta.full_name, &paths)
        .await?;
    Ok(
        crate::attribution::authored_practices(&lines, &commits, repo.meta.from_template)
            .into_iter()
            .map(|id| (id, Attribution::Authored))
            .collect(),
    )
}

/// Line by line in a repository the candidate owns. With the candidate as its only human
/// author, the contributors listing already says whose the lines are; only a template's first
/// commit is read (one request), to set apart what came with it. With other authors, at most
/// [`OWNED_ATTRIBUTION_REQUESTS`] requests in all (the first commit's lookup included) read
/// the candidate's commits to the files with most evidence.
async fn owned_attributions(
    fetcher: &Fetcher<'_>,
    repo: &FetchedRepo,
    findings: &[PracticeFinding],
) -> Result<BTreeMap<String, Attribution>, GhError> {
    let Some(history) = &repo.owned_history else {
        return Ok(BTreeMap::new());
    };
    let full = &repo.meta.full_name;
    let template = repo.meta.template_origin;
    let mut spent = history.requests;
    let first_commit = match (&history.first_commit, template) {
        (Some(first), Some(_)) => {
            spent += 1;
            Some(fetcher.first_commit_files(full, &first.sha).await?)
        }
        _ => None,
    };
    let candidate_history = if history.only_human_author == Some(false) {
        let lines = crate::attribution::evidence_lines(findings, &repo.snapshot);
        let left = OWNED_ATTRIBUTION_REQUESTS.saturating_sub(spent);
        // Half of what is left lists the candidate's commits per file, the rest reads them.
        let paths = crate::attribution::paths_to_check(&lines, (left / 2).max(1).min(left));
        if paths.is_empty() {
            None
        } else {
            Some(
                fetcher
                    .candidate_history(full, &paths, left - paths.len())
                    .await?,
            )
        }
    } else {
        None
    };
    let facts = crate::attribution::OwnedFacts {
        template,
        template_known: template.is_some() || history.first_commit.is_some(),
        only_human_author: history.only_human_author,
        first_commit: first_commit.as_ref(),
        history: candidate_history.as_ref(),
    };
    Ok(crate::attribution::owned_attributions(
        findings,
        &repo.snapshot,
        &facts,
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::analyze::practices::{RepoOutcome, analyze_repo_guarded};
    use crate::archive::ArchiveBudget;
    use crate::config::{ArchiveSettings, GithubSettings};
    use crate::fetch::RepoMeta;
    use crate::github::GitHub;
    use crate::snapshot::RepoSnapshot;

    static ANALYSED: AtomicUsize = AtomicUsize::new(0);

    fn counting(snapshot: &RepoSnapshot, table: &PracticeTable) -> RepoOutcome {
        ANALYSED.fetch_add(1, Ordering::SeqCst);
        analyze_repo_guarded(snapshot, table)
    }

    fn repo(full_name: &str, attribution: RepoAttribution, files: &[(&str, &str)]) -> FetchedRepo {
        FetchedRepo {
            meta: RepoMeta {
                full_name: full_name.into(),
                html_url: format!("https://github.com/{full_name}"),
                owner: full_name.split('/').next().unwrap_or_default().into(),
                private: false,
                fork: false,
                parent: None,
                from_template: false,
                template: None,
                template_origin: None,
                default_branch: "main".into(),
            },
            snapshot: RepoSnapshot {
                full_name: Some(full_name.into()),
                commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
                files: files
                    .iter()
                    .map(|(p, t)| (p.to_string(), t.to_string()))
                    .collect(),
                ..RepoSnapshot::default()
            },
            attribution,
            linked: true,
            owned_history: None,
            left_out: Vec::new(),
        }
    }

    /// Attribution and the report read one analysis per repository: the candidate's own, a
    /// project they contributed to, and none for one that is not theirs.
    #[tokio::test]
    async fn each_repository_is_analysed_once_per_evaluation() {
        let owned = [(
            ".github/workflows/ci.yml",
            "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest\n",
        )];
        let portfolio = Portfolio {
            repositories: vec![
                repo("octocat/hello", RepoAttribution::Owned, &owned),
                repo("psf/requests", RepoAttribution::Contributed, &[]),
                repo("someone/else", RepoAttribution::Unrelated, &owned),
            ],
            ..Portfolio::default()
        };
        // Nothing here needs a request: no history for the owned repository, no evidence
        // lines in the contributed one. The address answers nothing, should one be made.
        let api = url::Url::parse("http://127.0.0.1:9/").unwrap();
        let settings = GithubSettings {
            request_timeout: Duration::from_millis(200),
            max_retries: 0,
            retry_base: Duration::from_millis(1),
            max_concurrent_requests: 1,
            max_response_bytes: 1 << 20,
        };
        let gh = Arc::new(GitHub::new(&api, None, None, settings).unwrap());
        let session = gh.session(None);
        let archive = ArchiveSettings {
            max_inflight_bytes: 1 << 20,
            max_unpacked_bytes: 1 << 20,
            max_entries: 100,
        };
        let budget = ArchiveBudget::new(archive.max_inflight_bytes);
        let web = url::Url::parse("https://github.com/").unwrap();
        let fetcher = Fetcher {
            session: &session,
            web_url: &web,
            store: None,
            candidate: "octocat",
            archive: crate::fetch::archive_limits(&archive, 1 << 20),
            archive_budget: &budget,
            files: crate::fetch::FILE_RULES,
        };
        let table = PracticeTable::builtin();
        let evidence = gather(&fetcher, &portfolio, &table, None, counting)
            .await
            .unwrap();
        let rubric = Rubric::builtin().unwrap();
        let analysis = Analysis {
            rubric: &rubric,
            web_url: &web,
        };
        let report = assemble(
            &analysis,
            "octocat",
            &portfolio,
            &ParsedSubmission::default(),
            &evidence,
            0,
        );
        assert_eq!(ANALYSED.load(Ordering::SeqCst), 2);
        assert_eq!(session.counters.requests(), 0);
        let in_hello = report
            .practices_by_repository
            .iter()
            .filter(|p| p.repository.as_deref() == Some("octocat/hello"))
            .count();
        assert!(in_hello > 0, "{:#?}", report.practices_by_repository);
    }
}
