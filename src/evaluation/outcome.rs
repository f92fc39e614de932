//! The last step of every evaluation, whatever it ends in: the one comment is posted or
//! edited (a report or a notice), the labels follow, and the outcome is recorded. Public text
//! never carries an internal error: the detail goes to the log.

use tracing::warn;

use super::{Pipeline, gh_to_job, store_to_job};
use crate::github::Session;
use crate::publish::{Published, Publisher};
use crate::render::comment::CommentContext;
use crate::repo_config::Labels;
use crate::store::EvaluationRecord;
use crate::worker::JobError;

use crate::store::EvaluationOutcome;

/// The public words of a failed evaluation: what happened, never why in Folio's terms.
pub(crate) const FAILED_REASON: &str =
    "Folio could not finish this evaluation; the details are in Folio's log.";

/// A comment instead of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    /// `.github/folio.yml` is not valid; the words say where (they quote the operator's own
    /// file, not Folio's internals).
    ConfigError(String),
    /// The submission cannot be evaluated as it stands: no usable link, and so on.
    NeedsInfo(Vec<String>),
    /// The author opened more first submissions today than allowed.
    OverDailyLimit { author: String, per_day: u32 },
    /// Someone else's submission waits for a maintainer.
    AwaitingConfirmation { author: String, candidate: String },
    /// The job gave up.
    Failed,
}

impl Notice {
    pub(crate) fn kind(&self) -> EvaluationOutcome {
        match self {
            Self::ConfigError(_) => EvaluationOutcome::ConfigError,
            Self::NeedsInfo(_) => EvaluationOutcome::NeedsInfo,
            Self::OverDailyLimit { .. } => EvaluationOutcome::RateLimited,
            Self::AwaitingConfirmation { .. } => EvaluationOutcome::AwaitingConfirmation,
            Self::Failed => EvaluationOutcome::Failed,
        }
    }

    pub(crate) fn text(&self, ctx: &CommentContext) -> String {
        use crate::render::comment as c;
        match self {
            Self::ConfigError(message) => c::config_error(message, ctx),
            Self::NeedsInfo(problems) => c::needs_info(problems, ctx),
            Self::OverDailyLimit { author, per_day } => c::needs_info(
                &[format!(
                    "{author} has opened more than {per_day} submissions today; a maintainer can start this one with `/folio refresh`."
                )],
                ctx,
            ),
            Self::AwaitingConfirmation { author, candidate } => {
                c::awaiting_confirmation(author, candidate, ctx)
            }
            Self::Failed => c::evaluation_failed(FAILED_REASON, ctx),
        }
    }
}

/// A report, rendered.
#[derive(Debug, Clone)]
pub(crate) struct Evaluated {
    pub(crate) text: String,
    pub(crate) report_json: String,
    pub(crate) content_hash: String,
    /// The same report as the last one: the comment is left as it is.
    pub(crate) unchanged: bool,
}

#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Notice(Notice),
    Evaluated(Evaluated),
}

impl Outcome {
    pub(crate) fn kind(&self) -> EvaluationOutcome {
        match self {
            Self::Notice(n) => n.kind(),
            Self::Evaluated(_) => EvaluationOutcome::Evaluated,
        }
    }

    /// The labels to add and to remove, by their configured names; `None` leaves them.
    fn labels<'a>(&self, names: &'a Labels) -> Option<([&'a str; 1], [&'a str; 1])> {
        match self {
            Self::Evaluated(_) => Some(([&names.evaluated], [&names.needs_info])),
            Self::Notice(Notice::NeedsInfo(_)) => Some(([&names.needs_info], [&names.evaluated])),
            Self::Notice(_) => None,
        }
    }
}

/// Where the outcome goes: the issue's one comment and its labels.
pub(crate) struct Target<'a> {
    pub(crate) publisher: &'a Publisher<'a>,
    pub(crate) submission_id: i64,
    /// The comment Folio wrote before, if the store knows it.
    pub(crate) known_comment: Option<i64>,
    /// The issue's labels now and the configured names; `None` when the configuration could
    /// not be read (labels are then left alone).
    pub(crate) labels: Option<(&'a [String], &'a Labels)>,
}

impl Pipeline {
    /// Posts or edits the one comment, sets the labels and records the outcome.
    pub(crate) async fn finish(
        &self,
        target: &Target<'_>,
        outcome: Outcome,
        ctx: &CommentContext,
    ) -> Result<Published, JobError> {
        let publisher = target.publisher;
        let kind = outcome.kind();
        let (text, unchanged) = match &outcome {
            Outcome::Notice(n) => (n.text(ctx), false),
            Outcome::Evaluated(e) => (e.text.clone(), e.unchanged),
        };
        let published = publisher
            .upsert(&text, target.known_comment, unchanged)
            .await
            .map_err(gh_to_job)?;
        if let Some((current, names)) = target.labels
            && let Some((add, remove)) = outcome.labels(names)
        {
            publisher
                .set_labels(current, &add, &remove)
                .await
                .map_err(gh_to_job)?;
        }
        let (report_json, content_hash) = match outcome {
            Outcome::Evaluated(e) => (Some(e.report_json), Some(e.content_hash)),
            Outcome::Notice(_) => (None, None),
        };
        self.record(
            target.submission_id,
            kind,
            report_json,
            Some(published.id()),
            content_hash,
            publisher.session,
        )
        .await?;
        Ok(published)
    }

    async fn record(
        &self,
        submission_id: i64,
        outcome: EvaluationOutcome,
        report_json: Option<String>,
        comment_id: Option<i64>,
        content_hash: Option<String>,
        session: &Session,
    ) -> Result<(), JobError> {
        metrics::counter!("folio_evaluations_total", "outcome" => outcome.as_str()).increment(1);
        self.state
            .store
            .link_cache(submission_id, &session.cache_links())
            .await
            .map_err(store_to_job)?;
        self.state
            .store
            .record_evaluation(&EvaluationRecord {
                submission_id,
                outcome,
                report_json,
                comment_id,
                content_hash,
                api_requests: session.counters.requests() as i64,
                created_at: self.state.clock.now().as_millis(),
            })
            .await
            .map_err(store_to_job)
    }

    /// A dead evaluation job: the one comment says, in plain words, that it failed and how
    /// to retry; what went wrong goes to the log with the job's id.
    pub(crate) async fn report_failure(
        &self,
        job_id: i64,
        installation_id: i64,
        repo: &str,
        repo_id: Option<i64>,
        issue_number: i64,
        error: &str,
    ) {
        warn!(job = job_id, repo = %repo, issue = issue_number, %error, "evaluation failed for good");
        let result: Result<(), JobError> = async {
            let session = self.session(installation_id)?;
            let bot_login = super::bot_login(&session).await?;
            let sub = self
                .state
                .store
                .upsert_submission(installation_id, repo, repo_id, issue_number, None, None)
                .await
                .map_err(store_to_job)?;
            let known_comment = self
                .state
                .store
                .last_comment_id(sub.id)
                .await
                .map_err(store_to_job)?;
            let web = self.state.settings.web_url.as_str().trim_end_matches('/');
            let ctx = CommentContext {
                submitted_by: None,
                evaluated_at: super::rfc3339_now(),
                issue_url: Some(format!("{web}/{repo}/issues/{issue_number}")),
                terms_url: Some(self.state.settings.terms_url()),
            };
            let publisher = Publisher {
                session: &session,
                repo,
                issue: issue_number,
                bot_login: &bot_login,
            };
            let target = Target {
                publisher: &publisher,
                submission_id: sub.id,
                known_comment,
                labels: None,
            };
            self.finish(&target, Outcome::Notice(Notice::Failed), &ctx)
                .await
                .map(|_| ())
        }
        .await;
        if let Err(e) = result {
            warn!(job = job_id, error = %e, "could not tell the issue that the evaluation failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> CommentContext {
        CommentContext {
            submitted_by: None,
            evaluated_at: "2026-01-01T00:00:00Z".into(),
            issue_url: None,
            terms_url: None,
        }
    }

    #[test]
    fn each_notice_is_recorded_as_its_outcome() {
        let cases = [
            (Notice::ConfigError("bad".into()), "config_error"),
            (Notice::NeedsInfo(vec!["no link".into()]), "needs_info"),
            (
                Notice::OverDailyLimit {
                    author: "someone".into(),
                    per_day: 3,
                },
                "rate_limited",
            ),
            (
                Notice::AwaitingConfirmation {
                    author: "a".into(),
                    candidate: "b".into(),
                },
                "awaiting_confirmation",
            ),
            (Notice::Failed, "failed"),
        ];
        for (notice, outcome) in cases {
            assert_eq!(notice.kind().as_str(), outcome);
            assert!(
                notice
                    .text(&ctx())
                    .starts_with(crate::render::comment::MARKER)
            );
        }
    }

    #[test]
    fn a_failure_notice_says_what_happened_in_plain_words() {
        let text = Notice::Failed.text(&ctx());
        assert!(text.contains("could not finish this evaluation"), "{text}");
        assert!(text.contains("/folio refresh"), "{text}");
    }
}
