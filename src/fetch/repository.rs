//! One repository: its metadata, the candidate's relation to it, the head of its default
//! branch with that commit's check runs, its files, tags, releases, workflow runs and, when
//! the candidate owns it, its history.

use super::runs::{check_runs, head_jobs, head_sha};
use super::{FetchedRepo, Fetcher, RepoError, RepoMeta, kept_text, ts};
use crate::attribution::template_origin;
use crate::github::GhError;
use crate::github::types;
use crate::model::RepoAttribution;
use crate::snapshot::{Release, RepoActivity, RepoSnapshot, Tag};
use crate::submission::RepoRef;

/// Tags read per repository (one page), and releases when it has any tag.
const MAX_TAGS: usize = 100;
const MAX_RELEASES: usize = 30;

fn tag(t: types::Tag) -> Option<Tag> {
    Some(Tag {
        name: t.name?,
        commit_time: None,
        commit: t.commit.and_then(|c| c.sha),
    })
}

fn release(r: types::Release) -> Option<Release> {
    Some(Release {
        tag_name: r.tag_name?,
        name: r.name,
        body: r.body.map(kept_text),
        html_url: r.html_url,
        draft: r.draft.unwrap_or(false),
        prerelease: r.prerelease.unwrap_or(false),
        published_at: r.published_at.as_deref().and_then(ts),
        author_login: r.author.and_then(|a| a.login),
        asset_names: r
            .assets
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| a.name)
            .collect(),
    })
}

impl Fetcher<'_> {
    /// How the candidate relates to a repository they do not own: a linked pull request of
    /// theirs, else one commit of theirs (one request), makes it a contribution.
    async fn relation(
        &self,
        repo: &types::Repository,
        candidate_authored_pr: bool,
    ) -> RepoAttribution {
        let owner_is_candidate = repo.owner.login.eq_ignore_ascii_case(self.candidate);
        if owner_is_candidate && !repo.fork {
            return RepoAttribution::Owned;
        }
        if owner_is_candidate {
            return RepoAttribution::Fork;
        }
        if candidate_authored_pr {
            return RepoAttribution::Contributed;
        }
        let mine = self
            .session
            .commits_by(&repo.full_name, self.candidate, None, 1)
            .await
            .unwrap_or_default();
        if mine.is_empty() {
            RepoAttribution::Unrelated
        } else {
            RepoAttribution::Contributed
        }
    }

    /// `None` when the repository is not public.
    pub(super) async fn repository(
        &self,
        r: &RepoRef,
        candidate_authored_pr: bool,
        bot_merged: Option<u32>,
    ) -> Result<Option<FetchedRepo>, RepoError> {
        let repo = self.session.repository(&r.full_name()).await?;
        if repo.private || repo.visibility.as_deref().is_some_and(|v| v != "public") {
            return Ok(None);
        }
        let full = repo.full_name.clone();
        let branch = repo.default_branch.clone().unwrap_or_else(|| "main".into());
        // The default branch's check runs, asked for by branch name, also say which commit
        // is its head (every run carries `head_sha`), which saves a request per repository;
        // only a branch without runs needs the commit lookup.
        let checks = self.session.branch_check_runs(&full, &branch).await;
        let (default_branch_checks, head_from_checks, head_jobs) = match checks {
            Ok(c) => {
                let sha = head_sha(&c);
                let jobs = head_jobs(&c);
                (Some(check_runs(c)), sha, jobs)
            }
            Err(GhError::NotFound(_)) => (None, None, None),
            Err(e) => return Err(e.into()),
        };
        let head = match head_from_checks {
            Some(sha) => sha,
            None => self.session.commit(&full, &branch).await?.sha,
        };
        let attribution = self.relation(&repo, candidate_authored_pr).await;

        let files = self.files_at(&full, &head);
        let tags_and_releases = async {
            let tags = self.session.tags(&full, MAX_TAGS).await?;
            // A published release always has its tag (GitHub turns a release whose tag is
            // deleted back into a draft), so a repository without tags has none to read.
            let releases = if tags.is_empty() {
                Vec::new()
            } else {
                self.session.releases(&full, MAX_RELEASES).await?
            };
            Ok::<_, GhError>((tags, releases))
        };
        let runs = self.workflow_runs(&full, &branch, head_jobs.as_ref());
        let owned = async {
            match attribution {
                RepoAttribution::Owned => Some(self.owned_history(&full, &head).await),
                _ => None,
            }
        };
        let (files, tags_and_releases, workflow_runs, owned_history) =
            futures::join!(files, tags_and_releases, runs, owned);
        let kept = files?;
        let (tags, releases) = tags_and_releases?;
        let origin = template_origin(
            repo.template_repository.is_some(),
            &kept.files,
            owned_history
                .as_ref()
                .and_then(|h| h.first_commit.as_ref())
                .map(|c| c.message.as_str()),
        );
        Ok(Some(FetchedRepo {
            meta: RepoMeta {
                full_name: full.clone(),
                html_url: repo.html_url,
                owner: repo.owner.login,
                private: false,
                fork: repo.fork,
                parent: repo.parent.map(|p| p.full_name),
                from_template: origin.is_some(),
                template: repo.template_repository.map(|t| t.full_name),
                template_origin: origin,
                default_branch: branch,
            },
            snapshot: RepoSnapshot {
                full_name: Some(full),
                commit: Some(head),
                files: kept.files,
                skipped: kept.skipped,
                tags: Some(tags.into_iter().filter_map(tag).collect()),
                releases: Some(releases.into_iter().filter_map(release).collect()),
                activity: Some(RepoActivity {
                    dependency_bot_merged_prs: bot_merged,
                    default_branch_checks,
                    default_branch: repo.default_branch,
                    workflow_runs,
                }),
            },
            attribution,
            linked: true,
            owned_history,
            left_out: kept.left_out,
        }))
    }
}
