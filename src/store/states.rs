//! The states a job and a submission go through, and what came of an evaluation, stored as
//! their lower-case names.

use serde::Serialize;

/// A stored state name that no state has: the database was written by something else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} state {name:?}")]
pub struct UnknownState {
    kind: &'static str,
    name: String,
}

/// Where a job is in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for its run time and a worker.
    Pending,
    /// Leased by a worker.
    Running,
    Done,
    /// Out of attempts; `folio jobs retry` queues it again.
    Dead,
    /// Replaced by a newer pending job for the same key.
    Superseded,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        Self::Pending,
        Self::Running,
        Self::Done,
        Self::Dead,
        Self::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
            Self::Superseded => "superseded",
        }
    }
}

/// What came of one evaluation of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationOutcome {
    /// The evidence comment was posted.
    Evaluated,
    /// The form lacked something; Folio asked for it.
    NeedsInfo,
    /// Someone else's submission waits for a maintainer's confirmation.
    AwaitingConfirmation,
    /// The repository's `.github/folio.yml` is broken.
    ConfigError,
    /// Over the per-issue or per-author limit.
    RateLimited,
    /// The evaluation failed for good.
    Failed,
}

impl EvaluationOutcome {
    pub const ALL: [EvaluationOutcome; 6] = [
        Self::Evaluated,
        Self::NeedsInfo,
        Self::AwaitingConfirmation,
        Self::ConfigError,
        Self::RateLimited,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Evaluated => "evaluated",
            Self::NeedsInfo => "needs_info",
            Self::AwaitingConfirmation => "awaiting_confirmation",
            Self::ConfigError => "config_error",
            Self::RateLimited => "rate_limited",
            Self::Failed => "failed",
        }
    }
}

impl std::str::FromStr for EvaluationOutcome {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == s)
            .ok_or_else(|| UnknownState {
                kind: "evaluation outcome",
                name: s.to_string(),
            })
    }
}

impl TryFrom<String> for EvaluationOutcome {
    type Error = UnknownState;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl std::fmt::Display for EvaluationOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for EvaluationOutcome {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Whether a tracking issue is open; a closed one's submission is purged after the retention
/// period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubmissionState {
    Open,
    Closed,
}

impl SubmissionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

impl std::str::FromStr for JobState {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownState {
                kind: "job",
                name: s.to_string(),
            })
    }
}

impl std::str::FromStr for SubmissionState {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Open, Self::Closed]
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownState {
                kind: "submission",
                name: s.to_string(),
            })
    }
}

/// How rows are read (`#[sqlx(try_from = "String")]`): an unknown name fails the read.
impl TryFrom<String> for JobState {
    type Error = UnknownState;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<String> for SubmissionState {
    type Error = UnknownState;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for SubmissionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// So that a state reads as its stored name in assertions and comparisons.
impl PartialEq<&str> for JobState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<&str> for SubmissionState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_read_back_as_written_and_unknown_names_are_refused() {
        for state in JobState::ALL {
            assert_eq!(state.as_str().parse::<JobState>(), Ok(state));
            assert_eq!(
                serde_json::to_string(&state).expect("json"),
                format!("\"{state}\"")
            );
        }
        for outcome in EvaluationOutcome::ALL {
            assert_eq!(outcome.as_str().parse::<EvaluationOutcome>(), Ok(outcome));
            assert_eq!(
                serde_json::to_string(&outcome).expect("json"),
                format!("\"{outcome}\"")
            );
        }
        for state in [SubmissionState::Open, SubmissionState::Closed] {
            assert_eq!(SubmissionState::try_from(state.to_string()), Ok(state));
        }
        let err = "paused".parse::<JobState>().expect_err("unknown");
        assert_eq!(err.to_string(), "unknown job state \"paused\"");
        assert!(SubmissionState::try_from("Open".to_string()).is_err());
    }
}
