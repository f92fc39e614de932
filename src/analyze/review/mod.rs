//! Review-comment signals and pull-request analysis (SPEC §2, §3).
//!
//! `comment_signals` judges one comment's text; `analyze_pull_request` attributes a pull
//! request to the candidate and adds the outcome signals (did the thread lead to a change, did
//! the author reply); `reviewer_profile` sums a candidate's reviews up.

mod code_refs;
#[cfg(test)]
mod corpus_tests;
mod features;
mod kind;
mod language;
mod learned;
mod lexicon;
mod pull_request;
mod signals;
mod text;

pub use pull_request::{
    PullRequestAnalysis, ReviewerProfile, analyze_pull_request, is_test_file, reviewer_profile,
};
pub use signals::{SignalReport, comment_features, comment_signals};
