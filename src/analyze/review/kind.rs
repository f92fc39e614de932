//! The `kind` of a review comment, decided in the order the labelling guide implies: a named
//! security risk first, then a concrete failure (a comment that names what goes wrong is a
//! defect even when it also proposes the fix), then requests for tests and docs, style
//! remarks, proposals, questions, approvals and praise; whatever is left (process remarks,
//! objections without a proposal, bare rejections, reactions) is `other`.

use super::code_refs::substitution;
use super::lexicon::*;
use super::signals::{imperative_sentence, info_question};
use super::text::{Text, Words, find_phrase, has_phrase, raw_tokens, words_of};
use crate::model::{CommentKind, Tone};

/// What the other rules decided about a comment, which `kind` builds on.
pub(super) struct Facts<'a> {
    pub text: &'a Text,
    pub references_code: bool,
    pub has_rationale: bool,
    pub is_actionable: bool,
    pub proposes_alternative: bool,
    pub tone: Tone,
}

/// Defect words that need a question or a condition around them to mean a defect ("what if it
/// is empty?"), since on their own they often just describe the code.
const WEAK_DEFECT: &[&str] = &[
    "none",
    "null",
    "empty",
    "zero",
    "exception",
    "raises",
    "never",
    "duplicate",
    "duplicated",
    "hang",
    "hangs",
    "blocks",
    "lost",
    "loses",
    "break",
    "fail",
    "fails",
    "failing",
    "race",
];

/// Judgements that something is wrong without saying what goes wrong ("This is wrong."). They
/// mean a defect only with some substance around them: named code, or a sentence of their own
/// beyond the bare verdict; a bare verdict is a rejection (`other`).
const VAGUE_DEFECT: &[&str] = &[
    "bug",
    "buggy",
    "broken",
    "wrong",
    "incorrect",
    "not correct",
];

/// Prose words a vague verdict needs around it to count as a defect report.
const VAGUE_DEFECT_MIN_WORDS: usize = 6;

/// Words that make "bug" talk about the pull request's category or a report, not a defect in
/// the change ("this is a bug fix", "thanks for the bug report").
const BUG_AS_CATEGORY: &[&str] = &["fix", "fixes", "fixed", "fixing", "report", "ticket"];

/// Words that turn "wrong" into a style remark ("Wrong format.").
const STYLE_CONTEXT: &[&str] = &[
    "format",
    "formatting",
    "style",
    "indentation",
    "indent",
    "spelling",
    "typo",
    "name",
    "naming",
    "wording",
    "order",
];

/// Words that, next to an approval, make a sentence about the process rather than the change:
/// "Thanks for the report! I've created a ticket." is `other`.
const PROCESS: &[&str] = &[
    "rebase",
    "squash",
    "ticket",
    "backport",
    "release",
    "milestone",
    "close",
    "closing",
    "reopen",
    "separate pr",
    "another pr",
    "follow up",
    "follow-up",
    "left suggestions",
    "left some comments",
    "inline comments",
    "a few comments",
    "i'll take a look",
    "i will take a look",
    "i'll review",
    "research",
    "implications",
];

/// Approval words beyond the general list: reports that the change was tried and works, and
/// agreement, which the guide counts as approval.
const APPROVAL_EXTRA: &[&str] = &[
    "looks ok",
    "look ok",
    "let's go",
    "ok when",
    "is fine",
    "this is fine",
    "we will merge",
    "will merge",
    "i'll merge",
    "integrating",
    "thankyou",
    "lgmt",
    "can confirm",
    "i confirm",
    "confirmed",
    "works for me",
    "it works",
    "this works",
    "still works",
    "works fine",
    "works well",
    "works now",
    "tested",
    "i agree",
    "agree with",
    "beautiful",
    "sounds good",
    "cool",
];

/// Approvals that say so outright, whatever else the comment says.
const EXPLICIT_APPROVAL: &[&str] = &[
    "lgtm",
    "lgmt",
    "sgtm",
    "looks good",
    "look good",
    "looks great",
    "approved",
    "approve",
    "approving",
    "ship it",
    "good to go",
    "good to merge",
    "ready to merge",
    "+1",
    "looks ok",
    "let's go",
    "we will merge",
    "will merge",
    "i'll merge",
];

/// Approval words that are not approvals on their own: a merge notice is `other` ("merged"),
/// an approval only with thanks around it.
const MERGE_NOTICE: &[&str] = &["merged", "merging"];

/// Once an approval is found, how many words of other sentences it may carry before the
/// comment is about something else.
const APPROVAL_MAX_OTHER_WORDS: usize = 14;

/// What praise says is good: a quality of the result, not only a noun near a praise word.
const PRAISE_QUALITIES: &[&str] = &[
    "clearer",
    "cleaner",
    "easier",
    "simpler",
    "more readable",
    "much better",
    "nicer",
    "elegant",
    "well tested",
    "well written",
    "well structured",
    "thought through",
    "clear",
    "makes the",
    "makes it",
    "make it",
    "helps",
];

/// Phrases that withdraw a request: "no need to add a test", "I don't think it's necessary".
const NOT_NEEDED: &[&str] = &[
    "no need",
    "not necessary",
    "isn't necessary",
    "not needed",
    "isn't needed",
    "don't need",
    "doesn't need",
    "don't think it's necessary",
    "not required",
    "don't require",
    "doesn't require",
];

/// Question forms that state a problem rather than ask about one.
const POINTED_DEFECT_QUESTIONS: &[&str] = &[
    "won't this",
    "wouldn't this",
    "doesn't this",
    "isn't this",
    "won't that",
    "wouldn't that",
    "doesn't that",
    "isn't that",
    "won't it",
    "wouldn't it",
    "doesn't it",
    "what happens if",
    "what happens when",
    "what if",
    "aren't we",
    "don't we",
];

/// Modal verbs that make a sentence a proposal rather than a statement about the change.
const HYPOTHETICAL: &[&str] = &["would", "could", "should", "might"];

/// The kind of one comment and why.
pub(super) fn kind(f: &Facts<'_>) -> (CommentKind, String) {
    let words = &f.text.words;
    let sec_words = security_words(f.text);
    if let Some(p) = find_phrase(&sec_words, SECURITY) {
        return (CommentKind::Security, format!("security term \"{p}\""));
    }
    let test_ask = asked_in_one_sentence(f.text, TEST_REQUEST, TEST_ASK);
    if let Some(p) = defect(f, test_ask.is_some()) {
        return (CommentKind::Defect, format!("reports a problem (\"{p}\")"));
    }
    if let Some(p) = test_ask {
        return (
            CommentKind::TestRequest,
            format!("asks for tests (\"{p}\")"),
        );
    }
    let nit_lead = words
        .first()
        .is_some_and(|w| matches!(w.as_str(), "nit" | "nitpick" | "sty" | "typo"));
    if nit_lead {
        return (CommentKind::NitStyle, "marked as a nit".to_string());
    }
    if let Some(p) = asked_in_one_sentence(f.text, DOC_REQUEST, DOC_ASK) {
        return (
            CommentKind::DocRequest,
            format!("asks for documentation (\"{p}\")"),
        );
    }
    if let Some(p) = find_phrase(words, NIT) {
        return (CommentKind::NitStyle, format!("style or wording (\"{p}\")"));
    }
    if f.text.suggestion_blocks > 0 || substitution(f.text).is_some() {
        return (CommentKind::NitStyle, "an exact small edit".to_string());
    }
    if f.proposes_alternative {
        let p = find_phrase(words, ALTERNATIVE).unwrap_or("offers other code");
        return (
            CommentKind::Alternative,
            format!("proposes another approach (\"{p}\")"),
        );
    }
    let info_questions = f
        .text
        .sentences
        .iter()
        .zip(&f.text.questions)
        .any(|(s, q)| *q && info_question(s));
    if is_question(f.text) && (!f.is_actionable || info_questions) {
        return (CommentKind::Question, "asks a question".to_string());
    }
    if let Some(answer) = approval_or_praise(f) {
        return answer;
    }
    if f.text.prose_word_count() == 0 && !f.text.has_code() && !f.text.prose.contains("![") {
        return (CommentKind::ApprovalOnly, "no words".to_string());
    }
    (CommentKind::Other, "none of the other kinds".to_string())
}

/// The failure a comment names, if it names one.
fn defect(f: &Facts<'_>, asks_for_test: bool) -> Option<&'static str> {
    let words = &f.text.words;
    let conditional = is_question(f.text) || has_phrase(words, "if") || has_phrase(words, "when");
    let substantial = f.references_code || f.text.prose_word_count() >= VAGUE_DEFECT_MIN_WORDS;
    // A phrase absent from the whole comment is absent from each sentence: look only for those
    // present, in the table's order.
    let all = Words::new(words);
    let present: Vec<&'static str> = DEFECT.iter().copied().filter(|p| all.has(p)).collect();
    if present.is_empty() {
        return None;
    }
    for (sentence, &question) in f.text.sentences.iter().zip(&f.text.questions) {
        // "Can you add a regression test?" asks for a test; it does not report a regression.
        let test_sentence = find_phrase(sentence, TEST_REQUEST).is_some();
        // A question that only mentions a failure hints at it ("Is this a breaking change?");
        // a pointed one states it ("Won't this overflow when n is 0?").
        let pointed = find_phrase(sentence, POINTED_DEFECT_QUESTIONS).is_some();
        if question && !pointed {
            continue;
        }
        for p in present.iter().copied().filter(|p| has_phrase(sentence, p)) {
            let weak = WEAK_DEFECT.contains(&p);
            // "Can you add a test for the empty list?" asks for a test, not about a bug.
            if weak && (asks_for_test || !conditional) {
                continue;
            }
            if p == "regression" && test_sentence {
                continue;
            }
            if VAGUE_DEFECT.contains(&p) {
                if !substantial {
                    continue;
                }
                if p == "wrong" && find_phrase(sentence, STYLE_CONTEXT).is_some() {
                    continue;
                }
                if p == "bug" && find_phrase(sentence, BUG_AS_CATEGORY).is_some() {
                    continue;
                }
            }
            return Some(p);
        }
    }
    None
}

/// `approval_only` or `praise_specific`, when the approval is what the comment is about.
fn approval_or_praise(f: &Facts<'_>) -> Option<(CommentKind, String)> {
    let text = f.text;
    // "Oh great, another global." is not an approval.
    if f.is_actionable || f.tone == Tone::Harsh {
        return None;
    }
    let symbol = APPROVAL_SYMBOLS
        .iter()
        .copied()
        .find(|s| text.prose.contains(s))
        .or_else(|| raw_tokens(&text.prose).any(|t| t == "+1").then_some("+1"));
    let approves = |s: &[String]| {
        let words = Words::new(s);
        APPROVAL
            .iter()
            .copied()
            .find(|p| !MERGE_NOTICE.contains(p) && words.has(p))
            .or_else(|| find_phrase(s, APPROVAL_EXTRA))
    };
    let mut praise = None;
    let mut other_words = 0;
    let mut process = None;
    for sentence in &text.sentences {
        match approves(sentence) {
            Some(p) => praise = praise.or(Some((p, sentence))),
            None => {
                other_words += sentence.len();
                process = process.or_else(|| find_phrase(sentence, PROCESS));
            }
        }
    }
    if praise.is_none() && symbol.is_none() {
        return None;
    }
    if let Some(p) = process {
        return Some((
            CommentKind::Other,
            format!("a process remark beside the approval (\"{p}\")"),
        ));
    }
    // An explicit approval ("LGTM", "+1") stays one whatever else the comment notes, as long
    // as it asks for nothing; a word of praise among other remarks does not.
    let explicit = symbol.is_some() || praise.is_some_and(|(p, _)| EXPLICIT_APPROVAL.contains(&p));
    if other_words > APPROVAL_MAX_OTHER_WORDS && !explicit {
        return None;
    }
    // Praise is specific when a statement (not a question, not a "would make it clearer"
    // proposal) says what is good: a quality, of a named part of the change or in a sentence
    // of the praise itself.
    let statements = text
        .sentences
        .iter()
        .zip(&text.questions)
        .filter(|(s, q)| !**q && find_phrase(s, HYPOTHETICAL).is_none())
        .map(|(s, _)| s);
    for sentence in statements {
        let Some(quality) = find_phrase(sentence, PRAISE_QUALITIES) else {
            continue;
        };
        if let Some(target) = find_phrase(sentence, PRAISE_TARGETS) {
            return Some((CommentKind::PraiseSpecific, format!("praises the {target}")));
        }
        if praise.is_some_and(|(_, p)| std::ptr::eq(p, sentence)) && sentence.len() >= 6 {
            return Some((
                CommentKind::PraiseSpecific,
                format!("says what is good (\"{quality}\")"),
            ));
        }
    }
    let what = praise.map(|(p, _)| p).or(symbol).unwrap_or_default();
    Some((
        CommentKind::ApprovalOnly,
        format!("approval with no request (\"{what}\")"),
    ))
}

/// Whether one sentence holds a phrase of `what` and a phrase of `ask` (or is an imperative):
/// "Please add a test", not "great job with the docs. Please revert the .py change".
/// A sentence that says something is not needed ("no need to add a test") asks for nothing.
fn asked_in_one_sentence<'p>(text: &Text, what: &[&'p str], ask: &[&str]) -> Option<&'p str> {
    find_phrase(&text.words, what)?;
    text.sentences.iter().find_map(|s| {
        let found = find_phrase(s, what)?;
        if find_phrase(s, NOT_NEEDED).is_some() {
            return None;
        }
        (find_phrase(s, ask).is_some()
            || imperative_sentence(s).is_some()
            || find_phrase(s, ACTION_PHRASES).is_some())
        .then_some(found)
    })
}

fn is_question(text: &Text) -> bool {
    text.prose.contains('?')
}

fn security_words(text: &Text) -> Vec<String> {
    let mut words = text.words.clone();
    // Suggestion blocks are the author's text re-proposed; only the reviewer's own words and
    // the code they name carry the reviewer's concern.
    for s in &text.code_spans {
        words.extend(words_of(s));
    }
    words
}

#[cfg(test)]
mod tests {
    use super::super::comment_signals;
    use crate::model::{CommentKind as K, Tone};

    /// The six comments of issue 16, with the labels the guide gives them.
    const ISSUE_EXAMPLES: &[(&str, K, Option<Tone>, Option<bool>)] = &[
        (
            "This will break on Windows because os.rename does not overwrite; use os.replace instead.",
            K::Defect,
            None,
            Some(true),
        ),
        (
            "We already have a retry helper in utils/retry.py; could you reuse it here instead of a second backoff loop?",
            K::Alternative,
            None,
            None,
        ),
        (
            "This runs one query per author inside the loop (N+1); prefetch them with select_related('author').",
            K::Defect,
            None,
            Some(true),
        ),
        (
            "Two workers can both pass this check before either runs SELECT ... FOR UPDATE, so the row is claimed twice.",
            K::Defect,
            Some(Tone::Neutral),
            Some(true),
        ),
        (
            "Great work, the new Protocol makes the adapter boundary much clearer.",
            K::PraiseSpecific,
            Some(Tone::Empathetic),
            None,
        ),
        ("This is wrong.", K::Other, None, Some(false)),
    ];

    #[test]
    fn the_issue_examples_get_the_guide_labels() {
        for (body, kind, tone, useful) in ISSUE_EXAMPLES {
            let r = comment_signals(body, None, None);
            assert_eq!(r.signals.kind, Some(*kind), "{body}: {:?}", r.why);
            if let Some(tone) = tone {
                assert_eq!(r.signals.tone, Some(*tone), "{body}: {:?}", r.why);
            }
            if let Some(useful) = useful {
                assert_eq!(r.useful_text, Some(*useful), "{body}: {:?}", r.why);
            }
        }
    }

    #[test]
    fn merge_notices_and_process_remarks_beside_thanks_are_other() {
        for body in [
            "merged",
            "Thanks for the report! I've created a ticket for it.",
            "Thanks :+1: I left suggestions.",
        ] {
            let r = comment_signals(body, None, None);
            assert_eq!(r.signals.kind, Some(K::Other), "{body}: {:?}", r.why);
        }
        for body in [
            "merged, thanks!",
            "+1",
            "Can confirm this still works on Ubuntu 22.04.",
        ] {
            let r = comment_signals(body, None, None);
            assert_eq!(r.signals.kind, Some(K::ApprovalOnly), "{body}: {:?}", r.why);
        }
    }

    #[test]
    fn a_bare_verdict_is_a_rejection_but_a_reasoned_one_is_a_defect() {
        let bare = comment_signals("This is wrong.", None, None);
        assert_eq!(bare.signals.kind, Some(K::Other), "{:?}", bare.why);
        let reasoned = comment_signals(
            "This is wrong: `parse` returns the header, not the body.",
            None,
            None,
        );
        assert_eq!(reasoned.signals.kind, Some(K::Defect), "{:?}", reasoned.why);
        let category = comment_signals(
            "I take the view that this is a bug fix, given the intention was to support it.",
            None,
            None,
        );
        assert_ne!(category.signals.kind, Some(K::Defect), "{:?}", category.why);
    }

    #[test]
    fn capitals_in_sql_code_and_acronyms_are_not_shouting() {
        for body in [
            "Two workers can both pass this check before either runs SELECT ... FOR UPDATE.",
            "Use `SELECT ... FOR UPDATE SKIP LOCKED` here.",
            "This sends a DELETE with JSON over HTTPS; the API wants POST.",
            "MAX_BACKOFF_MULTIPLIER should come from the config, not a literal.",
            "Should this log at DEBUG or WARNING level?",
        ] {
            let r = comment_signals(body, None, None);
            assert_ne!(r.signals.tone, Some(Tone::Harsh), "{body}: {:?}", r.why);
        }
        let r = comment_signals("WHY IS THIS GLOBAL AGAIN", None, None);
        assert_eq!(r.signals.tone, Some(Tone::Harsh), "{:?}", r.why);
    }
}
