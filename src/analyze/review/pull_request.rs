//! One pull request seen from the candidate's side: what they authored (tests with changes,
//! checks, how they answered reviews) or what they reviewed (their reviews and comments, with
//! the outcome of each thread).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Serialize;

use super::signals::{SignalReport, comment_signals, kind_name};
use crate::analyze::python_tests;
use crate::model::{
    Attribution, ChangeSize, CommentKind, PullRequestState, PullRequestSummary,
    ReviewCommentSummary, ReviewSummary, Tone, rfc3339_secs,
};
use crate::snapshot::{CheckRun, PrCommit, PrReview, PrReviewComment, PullRequestSnapshot};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PullRequestAnalysis {
    pub attribution: Attribution,
    /// For pull requests the candidate authored.
    pub summary: Option<PullRequestSummary>,
    /// The candidate's reviews (not on their own pull request).
    pub reviews: Vec<ReviewSummary>,
    /// The candidate's review comments and non-empty review bodies, with outcome signals.
    pub review_comments: Vec<ReviewCommentSummary>,
}

fn same_login(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn is_bot(login: &str) -> bool {
    login.ends_with("[bot]")
}

pub fn analyze_pull_request(pr: &PullRequestSnapshot, candidate: &str) -> PullRequestAnalysis {
    if same_login(&pr.author, candidate) {
        return PullRequestAnalysis {
            attribution: Attribution::Authored,
            summary: Some(authored_summary(pr, candidate)),
            reviews: Vec::new(),
            review_comments: Vec::new(),
        };
    }
    let wrote_review = pr.reviews.iter().any(|r| same_login(&r.author, candidate));
    let wrote_comment = pr
        .review_comments
        .iter()
        .any(|c| same_login(&c.author, candidate));
    if !wrote_review && !wrote_comment {
        return PullRequestAnalysis {
            attribution: Attribution::Unrelated,
            summary: None,
            reviews: Vec::new(),
            review_comments: Vec::new(),
        };
    }
    let mut review_comments = Vec::new();
    let mut substantive_by_review: BTreeMap<u64, bool> = BTreeMap::new();
    for c in pr
        .review_comments
        .iter()
        .filter(|c| same_login(&c.author, candidate))
    {
        let report = comment_signals(&c.body, c.path.as_deref(), c.diff_hunk.as_deref());
        if let Some(review_id) = c.pull_request_review_id {
            *substantive_by_review.entry(review_id).or_default() |= is_substantive(&report);
        }
        review_comments.push(inline_comment_summary(pr, c, report));
    }
    let mut reviews = Vec::new();
    for r in pr
        .reviews
        .iter()
        .filter(|r| same_login(&r.author, candidate))
    {
        let comment_count = pr
            .review_comments
            .iter()
            .filter(|c| c.pull_request_review_id == Some(r.id) && same_login(&c.author, candidate))
            .count() as u32;
        let body_report = (!r.body.trim().is_empty()).then(|| comment_signals(&r.body, None, None));
        let body_substantive = body_report.as_ref().is_some_and(is_substantive);
        let comments_substantive = substantive_by_review.get(&r.id).copied().unwrap_or(false);
        reviews.push(ReviewSummary {
            url: r.html_url.clone(),
            pull_request: pr.html_url.clone(),
            state: r.state.clone(),
            comment_count,
            rubber_stamp: r.state.eq_ignore_ascii_case("APPROVED")
                && !body_substantive
                && !comments_substantive,
            submitted_at: r.submitted_at.and_then(rfc3339_secs),
        });
        if let Some(report) = body_report {
            review_comments.push(review_body_summary(pr, r, report));
        }
    }
    PullRequestAnalysis {
        attribution: Attribution::Reviewed,
        summary: None,
        reviews,
        review_comments,
    }
}

/// A comment that asks for something or raises a problem; a review with none is a rubber
/// stamp when it approves.
fn is_substantive(report: &SignalReport) -> bool {
    let s = &report.signals;
    report.useful_text == Some(true)
        || (s.is_actionable == Some(true)
            && !matches!(
                s.kind,
                Some(CommentKind::ApprovalOnly | CommentKind::PraiseSpecific)
            ))
}

fn excerpt(body: &str) -> Option<String> {
    const MAX: usize = 200;
    let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return None;
    }
    Some(if flat.chars().count() > MAX {
        format!("{}…", flat.chars().take(MAX).collect::<String>())
    } else {
        flat
    })
}

/// Commits pushed after `time` by anyone but a bot: a maintainer pushing the fix a reviewer
/// asked for is still the review taking effect. Commits with no linked account (an email not
/// on any account) count too.
fn commits_after(pr: &PullRequestSnapshot, time: i64) -> impl Iterator<Item = &PrCommit> {
    pr.commits.iter().filter(move |c| {
        c.committed_at.is_some_and(|t| t > time)
            && c.author_login.as_deref().is_none_or(|a| !is_bot(a))
    })
}

fn thread_root(c: &PrReviewComment) -> u64 {
    c.in_reply_to_id.unwrap_or(c.id)
}

fn inline_comment_summary(
    pr: &PullRequestSnapshot,
    c: &PrReviewComment,
    report: SignalReport,
) -> ReviewCommentSummary {
    let mut why = report.why.clone();
    let outdated = match (&c.commit_id, &c.original_commit_id) {
        (Some(now), Some(orig)) if now != orig => Some("its commit is no longer the head's"),
        _ if c.line.is_none() && c.original_line.is_some() => Some("its line is gone"),
        _ => None,
    };
    let has_suggestion = report.signals.has_suggestion_block == Some(true);
    let suggestion_applied = has_suggestion.then(|| {
        commits_after(pr, c.created_at).any(|k| {
            let m = k.message.to_ascii_lowercase();
            m.starts_with("apply suggestion") || m.starts_with("apply suggestions from code review")
        })
    });
    let led_to_change = if let Some(reason) = outdated {
        why.push(format!("led_to_change: the comment is outdated ({reason})"));
        Some(true)
    } else if suggestion_applied == Some(true) {
        why.push("led_to_change: its suggestion was applied".to_string());
        Some(true)
    } else if c.commit_id.is_some() && c.original_commit_id.is_some() && c.line.is_some() {
        // GitHub keeps a comment current only while later commits leave its lines alone.
        Some(false)
    } else {
        None
    };
    let root = thread_root(c);
    let author_replied = pr.review_comments.iter().any(|o| {
        o.id != c.id
            && thread_root(o) == root
            && o.created_at > c.created_at
            && same_login(&o.author, &pr.author)
    });
    if author_replied {
        why.push("author_replied: the author answered in the thread".to_string());
    }
    let useful = combine_useful(&report, led_to_change, &mut why);
    ReviewCommentSummary {
        url: c.html_url.clone(),
        pull_request: pr.html_url.clone(),
        signals: report.signals,
        led_to_change,
        author_replied: Some(author_replied),
        useful,
        why,
        excerpt: excerpt(&c.body),
        suggestion_applied,
        created_at: rfc3339_secs(c.created_at),
    }
}

fn review_body_summary(
    pr: &PullRequestSnapshot,
    r: &PrReview,
    report: SignalReport,
) -> ReviewCommentSummary {
    let mut why = report.why.clone();
    let asks = report.signals.is_actionable == Some(true);
    // A review body points at no lines; commits after an actionable review are the closest
    // outcome the REST API shows.
    let led_to_change = match (asks, r.submitted_at) {
        (true, Some(t)) => {
            let changed = commits_after(pr, t).next().is_some();
            if changed {
                why.push("led_to_change: the author pushed commits after this review".to_string());
            }
            Some(changed)
        }
        _ => None,
    };
    let useful = combine_useful(&report, led_to_change, &mut why);
    ReviewCommentSummary {
        url: r.html_url.clone(),
        pull_request: pr.html_url.clone(),
        signals: report.signals,
        led_to_change,
        author_replied: None,
        useful,
        why,
        excerpt: excerpt(&r.body),
        suggestion_applied: None,
        created_at: r.submitted_at.and_then(rfc3339_secs),
    }
}

/// Text verdict, raised to useful when the thread led to a change. Approvals and praise stay
/// not useful: a later commit near them is not caused by them.
fn combine_useful(
    report: &SignalReport,
    led_to_change: Option<bool>,
    why: &mut Vec<String>,
) -> Option<bool> {
    if !report.judged {
        return None;
    }
    let approval = matches!(
        report.signals.kind,
        Some(CommentKind::ApprovalOnly | CommentKind::PraiseSpecific)
    );
    if led_to_change == Some(true) && !approval && report.useful_text != Some(true) {
        why.push("useful: true (the thread led to a change)".to_string());
        return Some(true);
    }
    report.useful_text
}

/// Test files by the usual Python conventions (and common ones of other languages).
pub fn is_test_file(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    let in_test_dir = lower.split('/').rev().skip(1).any(|d| {
        matches!(
            d,
            "test" | "tests" | "testing" | "__tests__" | "spec" | "specs"
        )
    });
    in_test_dir
        || name == "conftest.py"
        || (name.starts_with("test_") && name.ends_with(".py"))
        || name.ends_with("_test.py")
        || name.ends_with("_tests.py")
        || name.ends_with("_test.go")
        || name.contains(".test.")
        || name.contains(".spec.")
}

const CODE_EXTENSIONS: &[&str] = &[
    "py", "pyx", "pxd", "pyi", "c", "h", "cc", "cpp", "hpp", "rs", "go", "js", "jsx", "ts", "tsx",
    "java", "kt", "rb", "php", "cs", "swift", "scala", "sh", "sql",
];

fn is_code_file(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    CODE_EXTENSIONS.contains(&ext)
        && !lower.starts_with("docs/")
        && !lower.starts_with("doc/")
        && !lower.contains("/migrations/")
}

/// Passed when every completed run succeeded (or was skipped/neutral) and none failed;
/// unknown when there are no runs or some are still running.
fn checks_passed(checks: Option<&Vec<CheckRun>>) -> Option<bool> {
    let checks = checks?;
    if checks.is_empty() {
        return None;
    }
    let failed = checks.iter().any(|c| {
        matches!(
            c.conclusion.as_deref(),
            Some("failure" | "timed_out" | "cancelled" | "action_required" | "startup_failure")
        )
    });
    if failed {
        return Some(false);
    }
    let all_done = checks.iter().all(|c| c.status == "completed");
    let any_success = checks
        .iter()
        .any(|c| c.conclusion.as_deref() == Some("success"));
    (all_done && any_success).then_some(true)
}

fn authored_summary(pr: &PullRequestSnapshot, candidate: &str) -> PullRequestSummary {
    let mut s = PullRequestSummary {
        url: pr.html_url.clone(),
        attribution: Attribution::Authored,
        test_files_changed: 0,
        code_files_changed: 0,
        test_lines_added: 0,
        code_lines_added: 0,
        property_based: false,
        checks_passed: checks_passed(pr.head_checks.as_ref()),
        review_responses: 0,
        title: Some(pr.title.clone()),
        new_tests: 0,
        new_parametrized: 0,
        new_fixtures: 0,
        new_property_tests: 0,
        reviews_received: 0,
        commits_after_review: 0,
        thread_replies: 0,
        opened_at: rfc3339_secs(pr.created_at),
        state: Some(state_of(pr)),
        size: Some(size_of(pr)),
    };
    for f in pr.files.iter().filter(|f| f.status != "removed") {
        if is_test_file(&f.filename) {
            s.test_files_changed += 1;
            s.test_lines_added += f.additions;
            if f.filename.ends_with(".py")
                && let Some(patch) = &f.patch
            {
                let found = python_tests::analyze_patch(patch);
                s.new_tests += found.test_functions;
                s.new_parametrized += found.parametrizations;
                s.new_fixtures += found.fixtures;
                s.new_property_tests += found.property_tests;
            }
        } else if is_code_file(&f.filename) {
            s.code_files_changed += 1;
            s.code_lines_added += f.additions;
        }
    }
    s.property_based = s.new_property_tests > 0;
    responses(pr, candidate, &mut s);
    s
}

fn state_of(pr: &PullRequestSnapshot) -> PullRequestState {
    if pr.merged {
        PullRequestState::Merged
    } else if pr.state.eq_ignore_ascii_case("open") {
        PullRequestState::Open
    } else {
        PullRequestState::Closed
    }
}

/// Over every file GitHub listed, removed ones included: the size a reader would see.
fn size_of(pr: &PullRequestSnapshot) -> ChangeSize {
    pr.files.iter().fold(
        ChangeSize {
            files: u32::try_from(pr.files.len()).unwrap_or(u32::MAX),
            ..ChangeSize::default()
        },
        |mut s, f| {
            s.additions = s.additions.saturating_add(f.additions);
            s.deletions = s.deletions.saturating_add(f.deletions);
            s
        },
    )
}

/// How the candidate answered the reviews they received: commits after a review, replies in
/// its threads. (Whether a thread was resolved is not in the REST API, so it is not claimed.)
fn responses(pr: &PullRequestSnapshot, candidate: &str, s: &mut PullRequestSummary) {
    let by_others = |login: &str| !same_login(login, candidate) && !is_bot(login);
    let received: Vec<&PrReview> = pr
        .reviews
        .iter()
        .filter(|r| by_others(&r.author))
        .filter(|r| {
            !r.body.trim().is_empty()
                || pr
                    .review_comments
                    .iter()
                    .any(|c| c.pull_request_review_id == Some(r.id))
                || !r.state.eq_ignore_ascii_case("APPROVED")
        })
        .collect();
    s.reviews_received = received.len() as u32;
    let others_roots: HashSet<u64> = pr
        .review_comments
        .iter()
        .filter(|c| by_others(&c.author) && c.in_reply_to_id.is_none())
        .map(|c| c.id)
        .collect();
    let my_replies: Vec<&PrReviewComment> = pr
        .review_comments
        .iter()
        .filter(|c| same_login(&c.author, candidate))
        .filter(|c| {
            c.in_reply_to_id
                .is_some_and(|root| others_roots.contains(&root))
        })
        .collect();
    s.thread_replies = my_replies.len() as u32;
    let first_review = received.iter().filter_map(|r| r.submitted_at).min();
    let mine = |k: &&PrCommit| {
        k.author_login
            .as_deref()
            .is_none_or(|a| same_login(a, candidate))
    };
    s.commits_after_review = first_review
        .map(|t| {
            pr.commits
                .iter()
                .filter(mine)
                .filter(|k| k.committed_at.is_some_and(|c| c > t))
                .count() as u32
        })
        .unwrap_or(0);
    let answered: BTreeSet<u64> = received
        .iter()
        .filter(|r| {
            let by_commit = r.submitted_at.is_some_and(|t| {
                pr.commits
                    .iter()
                    .filter(mine)
                    .any(|k| k.committed_at.is_some_and(|c| c > t))
            });
            let roots: HashSet<u64> = pr
                .review_comments
                .iter()
                .filter(|c| c.pull_request_review_id == Some(r.id))
                .map(|c| c.id)
                .collect();
            let by_reply = my_replies
                .iter()
                .any(|c| c.in_reply_to_id.is_some_and(|root| roots.contains(&root)));
            by_commit || by_reply
        })
        .map(|r| r.id)
        .collect();
    s.review_responses = answered.len() as u32;
}

/// A candidate's reviewing, summed over the pull requests they reviewed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewerProfile {
    pub reviews_given: u32,
    pub rubber_stamps: u32,
    pub pull_requests_reviewed: u32,
    pub comments_written: u32,
    /// Comments in English (the others are `not_assessed`).
    pub comments_judged: u32,
    /// Judged comments with a clear verdict (`useful` true or false).
    pub comments_with_verdict: u32,
    pub useful_comments: u32,
    /// `useful_comments / comments_with_verdict`; `None` when no comment has a verdict.
    pub share_useful: Option<f64>,
    pub led_to_change: u32,
    /// Comment kinds and how often each occurs.
    pub kinds: BTreeMap<String, u32>,
    /// Context only: tone never feeds a level.
    pub tones: BTreeMap<String, u32>,
}

pub fn reviewer_profile(
    comments: &[ReviewCommentSummary],
    reviews: &[ReviewSummary],
) -> ReviewerProfile {
    let prs: BTreeSet<&str> = reviews
        .iter()
        .map(|r| r.pull_request.as_str())
        .chain(comments.iter().map(|c| c.pull_request.as_str()))
        .collect();
    let judged: Vec<&ReviewCommentSummary> = comments
        .iter()
        .filter(|c| c.signals.kind.is_some())
        .collect();
    let with_verdict = judged.iter().filter(|c| c.useful.is_some()).count() as u32;
    let useful = judged.iter().filter(|c| c.useful == Some(true)).count() as u32;
    let mut kinds = BTreeMap::new();
    let mut tones = BTreeMap::new();
    for c in &judged {
        if let Some(k) = c.signals.kind {
            *kinds.entry(kind_name(k).to_string()).or_insert(0) += 1;
        }
        if let Some(t) = c.signals.tone {
            let name = match t {
                Tone::Empathetic => "empathetic",
                Tone::Neutral => "neutral",
                Tone::Harsh => "harsh",
            };
            *tones.entry(name.to_string()).or_insert(0) += 1;
        }
    }
    ReviewerProfile {
        reviews_given: reviews.len() as u32,
        rubber_stamps: reviews.iter().filter(|r| r.rubber_stamp).count() as u32,
        pull_requests_reviewed: prs.len() as u32,
        comments_written: comments.len() as u32,
        comments_judged: judged.len() as u32,
        comments_with_verdict: with_verdict,
        useful_comments: useful,
        share_useful: (with_verdict > 0).then(|| f64::from(useful) / f64::from(with_verdict)),
        led_to_change: comments
            .iter()
            .filter(|c| c.led_to_change == Some(true))
            .count() as u32,
        kinds,
        tones,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::PrFile;

    const PR: &str = "https://github.com/o/r/pull/7";

    fn comment(id: u64, author: &str, body: &str, at: i64) -> PrReviewComment {
        PrReviewComment {
            id,
            html_url: format!("{PR}#discussion_r{id}"),
            author: author.into(),
            body: body.into(),
            path: Some("src/app.py".into()),
            diff_hunk: Some(
                "@@ -1,2 +1,3 @@\n+def load(path):\n+    return open(path).read()".into(),
            ),
            line: Some(3),
            original_line: Some(3),
            commit_id: Some("head".into()),
            original_commit_id: Some("head".into()),
            in_reply_to_id: None,
            pull_request_review_id: Some(100),
            created_at: at,
        }
    }

    fn review(id: u64, author: &str, state: &str, body: &str, at: i64) -> PrReview {
        PrReview {
            id,
            html_url: format!("{PR}#pullrequestreview-{id}"),
            author: author.into(),
            state: state.into(),
            body: body.into(),
            commit_id: Some("c1".into()),
            submitted_at: Some(at),
        }
    }

    fn commit(sha: &str, author: &str, message: &str, at: i64) -> PrCommit {
        PrCommit {
            sha: sha.into(),
            author_login: Some(author.into()),
            message: message.into(),
            committed_at: Some(at),
        }
    }

    fn base() -> PullRequestSnapshot {
        PullRequestSnapshot {
            repo: "o/r".into(),
            number: 7,
            html_url: PR.into(),
            title: "Load config lazily".into(),
            author: "alice".into(),
            state: "closed".into(),
            merged: true,
            head_sha: "head".into(),
            created_at: 1_000,
            ..Default::default()
        }
    }

    #[test]
    fn attribution() {
        let mut pr = base();
        assert_eq!(
            analyze_pull_request(&pr, "ALICE").attribution,
            Attribution::Authored
        );
        assert_eq!(
            analyze_pull_request(&pr, "bob").attribution,
            Attribution::Unrelated
        );
        pr.reviews.push(review(100, "bob", "APPROVED", "", 2_000));
        assert_eq!(
            analyze_pull_request(&pr, "bob").attribution,
            Attribution::Reviewed
        );
    }

    #[test]
    fn outdated_comment_led_to_change_and_author_replied() {
        let mut pr = base();
        let mut c = comment(
            1,
            "bob",
            "This leaks the file handle; use a `with` block.",
            2_000,
        );
        c.commit_id = Some("newer".into());
        c.line = None;
        pr.review_comments.push(c);
        let mut reply = comment(2, "alice", "Fixed, thanks!", 2_100);
        reply.in_reply_to_id = Some(1);
        pr.review_comments.push(reply);
        pr.reviews
            .push(review(100, "bob", "CHANGES_REQUESTED", "", 2_000));
        let a = analyze_pull_request(&pr, "bob");
        assert_eq!(a.review_comments.len(), 1);
        let rc = &a.review_comments[0];
        assert_eq!(rc.led_to_change, Some(true));
        assert_eq!(rc.author_replied, Some(true));
        assert_eq!(rc.useful, Some(true));
        assert!(rc.why.iter().any(|w| w.starts_with("led_to_change")));
        assert_eq!(a.reviews[0].comment_count, 1);
        assert!(!a.reviews[0].rubber_stamp);
    }

    #[test]
    fn current_comment_did_not_lead_to_change() {
        let mut pr = base();
        pr.review_comments.push(comment(
            1,
            "bob",
            "Why `read()` and not `read_text()`?",
            2_000,
        ));
        let a = analyze_pull_request(&pr, "bob");
        assert_eq!(a.review_comments[0].led_to_change, Some(false));
        assert_eq!(a.review_comments[0].author_replied, Some(false));
    }

    #[test]
    fn applied_suggestion_counts_as_change() {
        let mut pr = base();
        pr.review_comments.push(comment(
            1,
            "bob",
            "```suggestion\n    return Path(path).read_text()\n```",
            2_000,
        ));
        pr.commits.push(commit(
            "c2",
            "alice",
            "Apply suggestions from code review",
            2_500,
        ));
        let a = analyze_pull_request(&pr, "bob");
        let rc = &a.review_comments[0];
        assert_eq!(rc.suggestion_applied, Some(true));
        assert_eq!(rc.led_to_change, Some(true));
    }

    #[test]
    fn rubber_stamp_and_substantive_approval() {
        let mut pr = base();
        pr.reviews
            .push(review(100, "bob", "APPROVED", "LGTM 👍", 2_000));
        let a = analyze_pull_request(&pr, "bob");
        assert!(a.reviews[0].rubber_stamp);
        assert_eq!(a.review_comments[0].useful, Some(false));

        let mut pr = base();
        pr.reviews.push(review(
            100,
            "bob",
            "APPROVED",
            "LGTM, but please add a test for the empty file case.",
            2_000,
        ));
        let a = analyze_pull_request(&pr, "bob");
        assert!(!a.reviews[0].rubber_stamp);
        assert_eq!(
            a.review_comments[0].signals.kind,
            Some(CommentKind::TestRequest)
        );
    }

    #[test]
    fn non_english_comment_is_not_assessed() {
        let mut pr = base();
        pr.review_comments
            .push(comment(1, "bob", "Il suffit de faire: `if x:`", 2_000));
        let a = analyze_pull_request(&pr, "bob");
        assert_eq!(a.review_comments[0].useful, None);
        assert_eq!(a.review_comments[0].signals.kind, None);
    }

    #[test]
    fn authored_summary_counts_tests_checks_and_responses() {
        let mut pr = base();
        pr.files = vec![
            PrFile {
                filename: "src/app.py".into(),
                status: "modified".into(),
                additions: 20,
                deletions: 3,
                patch: None,
            },
            PrFile {
                filename: "tests/test_app.py".into(),
                status: "modified".into(),
                additions: 12,
                deletions: 0,
                patch: Some(
                    "@@ -1,2 +1,12 @@\n import pytest\n+from hypothesis import given, strategies as st\n+\n+@given(st.text())\n+def test_load_roundtrip(s):\n+    assert s == s\n+\n+@pytest.mark.parametrize(\"p\", [\"a\", \"b\"])\n+def test_load(p):\n+    assert p\n+@pytest.fixture\n+def cfg():\n+    return {}\n"
                        .into(),
                ),
            },
            PrFile {
                filename: "README.md".into(),
                status: "modified".into(),
                additions: 4,
                deletions: 0,
                patch: None,
            },
        ];
        pr.head_checks = Some(vec![
            CheckRun {
                name: "tests".into(),
                status: "completed".into(),
                conclusion: Some("success".into()),
                app_slug: None,
            },
            CheckRun {
                name: "docs".into(),
                status: "completed".into(),
                conclusion: Some("skipped".into()),
                app_slug: None,
            },
        ]);
        pr.reviews.push(review(
            100,
            "bob",
            "CHANGES_REQUESTED",
            "Needs tests.",
            2_000,
        ));
        pr.reviews.push(review(101, "carol", "APPROVED", "", 3_000));
        pr.review_comments
            .push(comment(1, "bob", "Close the file.", 2_000));
        let mut reply = comment(2, "alice", "Done.", 2_200);
        reply.in_reply_to_id = Some(1);
        pr.review_comments.push(reply);
        pr.commits.push(commit("c1", "alice", "first", 1_500));
        pr.commits
            .push(commit("c2", "alice", "address review", 2_500));

        let s = analyze_pull_request(&pr, "alice")
            .summary
            .expect("authored");
        assert_eq!((s.code_files_changed, s.code_lines_added), (1, 20));
        assert_eq!((s.test_files_changed, s.test_lines_added), (1, 12));
        assert_eq!(
            (
                s.new_tests,
                s.new_property_tests,
                s.new_parametrized,
                s.new_fixtures
            ),
            (2, 1, 1, 1)
        );
        assert!(s.property_based);
        assert_eq!(s.checks_passed, Some(true));
        assert_eq!(s.reviews_received, 1);
        assert_eq!(s.review_responses, 1);
        assert_eq!(s.commits_after_review, 1);
        assert_eq!(s.thread_replies, 1);
    }

    #[test]
    fn checks() {
        let run = |status: &str, conclusion: Option<&str>| CheckRun {
            name: "x".into(),
            status: status.into(),
            conclusion: conclusion.map(str::to_string),
            app_slug: None,
        };
        assert_eq!(checks_passed(None), None);
        assert_eq!(checks_passed(Some(&vec![])), None);
        assert_eq!(
            checks_passed(Some(&vec![run("completed", Some("failure"))])),
            Some(false)
        );
        assert_eq!(
            checks_passed(Some(&vec![
                run("completed", Some("success")),
                run("in_progress", None)
            ])),
            None
        );
    }

    #[test]
    fn test_file_conventions() {
        for p in [
            "tests/test_x.py",
            "pkg/tests/helpers.py",
            "conftest.py",
            "x_test.py",
            "src/a.test.ts",
        ] {
            assert!(is_test_file(p), "{p}");
        }
        for p in ["src/testing_utils_not.py", "src/app.py", "docs/tests.md"] {
            assert!(!is_test_file(p), "{p}");
        }
    }

    #[test]
    fn profile_sums_up() {
        let mut pr = base();
        pr.reviews
            .push(review(100, "bob", "APPROVED", "LGTM", 2_000));
        pr.review_comments.push(comment(
            1,
            "bob",
            "won't this fail when `path` is empty?",
            2_000,
        ));
        let a = analyze_pull_request(&pr, "bob");
        let p = reviewer_profile(&a.review_comments, &a.reviews);
        assert_eq!(p.reviews_given, 1);
        assert_eq!(p.pull_requests_reviewed, 1);
        assert_eq!(p.comments_written, 2);
        assert_eq!(p.useful_comments, 1);
        assert_eq!(p.share_useful, Some(0.5));
        assert_eq!(p.kinds.get("defect"), Some(&1));
        assert_eq!(p.kinds.get("approval_only"), Some(&1));
        assert!(!a.reviews[0].rubber_stamp);
        let empty = reviewer_profile(&[], &[]);
        assert_eq!(empty.share_useful, None);
    }
}
