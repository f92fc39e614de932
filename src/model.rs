//! The report's data model: what analysis produces and rendering consumes.
//!
//! Field names are fixed, because the JSON output is a public contract. Extra
//! fields are allowed there; renaming or changing the meaning of these is not.

use serde::{Deserialize, Serialize};

/// Who the evidence is credited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribution {
    Authored,
    Reviewed,
    Owned,
    /// Came with the first commit of a template-generated repository: context, not credited.
    Template,
    Project,
    Unrelated,
}

impl Attribution {
    /// Whether this attribution earns credit towards a level (`template`, `project` and
    /// `unrelated` are context only).
    pub fn is_credited(self) -> bool {
        matches!(self, Self::Authored | Self::Reviewed | Self::Owned)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authored => "authored",
            Self::Reviewed => "reviewed",
            Self::Owned => "owned",
            Self::Template => "template",
            Self::Project => "project",
            Self::Unrelated => "unrelated",
        }
    }
}

/// A linked repository's relation to the candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepoAttribution {
    Owned,
    Fork,
    Contributed,
    Unrelated,
}

impl RepoAttribution {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owned => "owned",
            Self::Fork => "fork",
            Self::Contributed => "contributed",
            Self::Unrelated => "unrelated",
        }
    }
}

/// A practice's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PracticeStatus {
    Present,
    Absent,
    /// A file that would decide the practice could not be read. Never reported as absent.
    CouldNotParse,
    /// The data needed is not there (e.g. `release_notes` offline).
    NotAssessable,
}

impl PracticeStatus {
    /// The tri-state `present` field that goes beside `status`.
    pub fn present(self) -> Option<bool> {
        match self {
            Self::Present => Some(true),
            Self::Absent => Some(false),
            Self::CouldNotParse | Self::NotAssessable => None,
        }
    }
}

/// One piece of evidence behind a claim. Offline scans have `path`/`line` and no `url`;
/// GitHub evaluations add a permalink pinned to a commit SHA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Evidence {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
    /// What was found there: the step, hook, command or setting, as written in the file.
    pub detail: String,
}

/// One practice id's result for one repository (or merged across a portfolio).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PracticeFinding {
    pub id: String,
    /// The practice's plain name from `config/practices.toml`, for readers of the JSON.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub status: PracticeStatus,
    pub present: Option<bool>,
    pub exercised: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub attribution: Option<Attribution>,
    /// The repository the finding comes from (`owner/name`), when there are several.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub repository: Option<String>,
    pub evidence: Vec<Evidence>,
    /// Human-readable notes: files that could not be parsed, near misses worth a look.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub notes: Vec<String>,
}

impl PracticeFinding {
    pub fn new(id: impl Into<String>, status: PracticeStatus) -> Self {
        let id = id.into();
        Self {
            name: crate::catalogue::get(&id)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            id,
            status,
            present: status.present(),
            exercised: None,
            attribution: None,
            repository: None,
            evidence: Vec::new(),
            notes: Vec::new(),
        }
    }
}

pub use crate::catalogue::Criterion;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    NotAssessed,
    None,
    Some,
    Strong,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAssessed => "not_assessed",
            Self::None => "none",
            Self::Some => "some",
            Self::Strong => "strong",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionResult {
    pub id: Criterion,
    pub level: Level,
    pub because: String,
    pub evidence_count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    PullRequest {
        url: String,
        attribution: Attribution,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        title: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        commit: Option<String>,
    },
    Repository {
        url: String,
        attribution: RepoAttribution,
        from_template: bool,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        commit: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullRequestSummary {
    pub url: String,
    pub attribution: Attribution,
    pub test_files_changed: u32,
    pub code_files_changed: u32,
    pub test_lines_added: u32,
    pub code_lines_added: u32,
    pub property_based: bool,
    pub checks_passed: Option<bool>,
    pub review_responses: u32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub title: Option<String>,
    /// New test functions, parametrizations and fixtures found by parsing the Python source.
    #[serde(default)]
    pub new_tests: u32,
    #[serde(default)]
    pub new_parametrized: u32,
    #[serde(default)]
    pub new_fixtures: u32,
    #[serde(default)]
    pub new_property_tests: u32,
    /// Reviews by others with feedback (a body, inline comments, or changes requested).
    #[serde(default)]
    pub reviews_received: u32,
    /// The author's commits pushed after the first such review.
    #[serde(default)]
    pub commits_after_review: u32,
    /// The author's replies in review threads started by others.
    #[serde(default)]
    pub thread_replies: u32,
    /// When it was opened, RFC 3339 (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<PullRequestState>,
    /// Lines added and removed and files changed, over every file of the pull request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<ChangeSize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullRequestState {
    Open,
    Merged,
    Closed,
}

impl PullRequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Merged => "merged",
            Self::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChangeSize {
    pub additions: u32,
    pub deletions: u32,
    pub files: u32,
}

/// A release of a repository the candidate owns, for the activity timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseSummary {
    /// `owner/name`.
    pub repository: String,
    pub tag: String,
    /// RFC 3339 (UTC).
    pub published_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewSummary {
    pub url: String,
    pub pull_request: String,
    pub state: String,
    pub comment_count: u32,
    pub rubber_stamp: bool,
    /// RFC 3339 (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Empathetic,
    Neutral,
    Harsh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommentKind {
    ApprovalOnly,
    NitStyle,
    Question,
    Defect,
    Alternative,
    TestRequest,
    DocRequest,
    Security,
    PraiseSpecific,
    Other,
}

/// Text signals of one review comment. Every field is `None` when the comment is not judged
/// (not in English).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CommentSignals {
    pub references_code: Option<bool>,
    pub has_rationale: Option<bool>,
    pub is_actionable: Option<bool>,
    pub has_suggestion_block: Option<bool>,
    pub proposes_alternative: Option<bool>,
    pub tone: Option<Tone>,
    pub kind: Option<CommentKind>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewCommentSummary {
    pub url: String,
    pub pull_request: String,
    pub signals: CommentSignals,
    pub led_to_change: Option<bool>,
    #[serde(default)]
    pub author_replied: Option<bool>,
    pub useful: Option<bool>,
    /// Why each signal fired, so that a reviewer can check the rating.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub why: Vec<String>,
    /// A short, untrusted excerpt of the comment; neutralised when rendered.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub excerpt: Option<String>,
    /// For comments with a suggestion block: whether a later commit applied a suggestion.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub suggestion_applied: Option<bool>,
    /// When it was written, RFC 3339 (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// The whole evaluation, as `folio evaluate --format json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub folio_version: String,
    pub candidate: Option<String>,
    pub sources: Vec<Source>,
    pub practices: Vec<PracticeFinding>,
    pub pull_requests: Vec<PullRequestSummary>,
    pub reviews: Vec<ReviewSummary>,
    pub review_comments: Vec<ReviewCommentSummary>,
    pub criteria: Vec<CriterionResult>,
    pub warnings: Vec<String>,
    pub api_requests: u64,
    /// The rubric version the levels were computed with.
    #[serde(default)]
    pub rubric_version: String,
    /// The findings before merging, one per practice id and repository, each with its
    /// `repository` and `attribution`: `practices` holds one merged entry per id, and this
    /// keeps which repository each piece of evidence came from and how it is credited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub practices_by_repository: Vec<PracticeFinding>,
    /// Releases of repositories the candidate owns, newest first (for the activity timeline).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub releases: Vec<ReleaseSummary>,
}

/// Unix seconds as RFC 3339 (UTC); `None` for the zero or negative times that stand for
/// "unknown" in snapshots.
pub fn rfc3339_secs(secs: i64) -> Option<String> {
    (secs > 0).then(|| crate::clock::Timestamp::from_secs(secs).rfc3339())
}

pub const FOLIO_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How terminal commands print their results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Markdown,
    Json,
}
