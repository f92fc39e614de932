//! The features the learned review-comment model reads: words and word pairs of the reviewer's
//! own prose, letter groups inside words, the comment's Markdown structure, and what the rules
//! decided. The training script asks `folio review-signals --features` for these same strings,
//! so training and inference can never extract features differently.

use std::collections::BTreeSet;

use super::text::{CODE_MARK, Text};
use crate::model::{CommentKind, Tone};

/// What the rules decided, given to the model as features of their own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RuleVotes {
    pub references_code: bool,
    pub has_rationale: bool,
    pub is_actionable: bool,
    pub proposes_alternative: bool,
    pub tone: Tone,
    pub kind: CommentKind,
    pub useful: Option<bool>,
}

/// Words longer than this are identifiers or noise; their letter groups say nothing general.
const MAX_WORD_FOR_LETTERS: usize = 24;
/// A comment's features are bounded whatever its length: the first words carry its intent.
const MAX_WORDS: usize = 400;

/// The distinct feature strings of one comment, sorted.
pub(crate) fn extract(text: &Text, rules: &RuleVotes) -> Vec<String> {
    let mut out = BTreeSet::new();
    for_each(text, rules, |f| {
        if !out.contains(f) {
            out.insert(f.to_string());
        }
    });
    out.into_iter().collect()
}

/// Calls `emit` with each feature of one comment (a feature may come more than once). One
/// buffer serves every feature, so inference allocates nothing per feature.
pub(crate) fn for_each(text: &Text, rules: &RuleVotes, mut emit: impl FnMut(&str)) {
    let mut buf = String::with_capacity(64);
    let mut put = |parts: &[&str]| {
        buf.clear();
        for part in parts {
            buf.push_str(part);
        }
        emit(&buf);
    };
    let words = &text.words[..text.words.len().min(MAX_WORDS)];
    let mut padded = String::with_capacity(4 * MAX_WORD_FOR_LETTERS + 2);
    let mut bounds: Vec<usize> = Vec::with_capacity(MAX_WORD_FOR_LETTERS + 3);
    for w in words {
        put(&["w:", token(w)]);
        if w.chars().all(char::is_alphabetic) && w.chars().count() <= MAX_WORD_FOR_LETTERS {
            // Letter groups of 4 over "<word>": by char boundaries, so any script works.
            padded.clear();
            padded.push('<');
            padded.push_str(w);
            padded.push('>');
            bounds.clear();
            bounds.extend(padded.char_indices().map(|(i, _)| i));
            bounds.push(padded.len());
            for win in bounds.windows(5) {
                put(&["c:", &padded[win[0]..win[4]]]);
            }
        }
    }
    let mut budget = MAX_WORDS;
    for sentence in &text.sentences {
        let take = sentence.len().min(budget);
        for pair in sentence[..take].windows(2) {
            put(&["b:", token(&pair[0]), "_", token(&pair[1])]);
        }
        budget -= take;
        if budget == 0 {
            break;
        }
    }
    if let Some(first) = words.first() {
        put(&["f:", token(first)]);
        if let Some(second) = words.get(1) {
            put(&["f:", token(first), "_", token(second)]);
        }
    }

    let questions = text.questions.iter().filter(|q| **q).count();
    if questions > 0 {
        put(&["q:any"]);
    }
    if text.questions.last() == Some(&true) {
        put(&["q:last"]);
    }
    if text.questions.first() == Some(&true) {
        put(&["q:first"]);
    }
    if !text.questions.is_empty() && questions == text.questions.len() {
        put(&["q:all"]);
    }
    put(&["n:words", length_bucket(words.len())]);
    put(&["n:sentences", length_bucket(text.sentences.len())]);
    let structure = [
        (!text.code_spans.is_empty(), "s:code_span"),
        (!text.code_blocks.is_empty(), "s:code_block"),
        (text.suggestion_blocks > 0, "s:suggestion"),
        (!text.quoted.is_empty(), "s:quote"),
        (text.prose.contains('!'), "s:exclamation"),
        (rules.references_code, "r:references_code"),
        (rules.has_rationale, "r:has_rationale"),
        (rules.is_actionable, "r:is_actionable"),
        (rules.proposes_alternative, "r:proposes_alternative"),
    ];
    for (on, name) in structure {
        if on {
            put(&[name]);
        }
    }
    put(&["r:tone_", tone_name(rules.tone)]);
    put(&["r:kind_", super::signals::kind_name(rules.kind)]);
    put(&[match rules.useful {
        Some(true) => "r:useful_yes",
        Some(false) => "r:useful_no",
        None => "r:useful_unknown",
    }]);
}

/// The code-span and link marks read as words of their own.
fn token(w: &str) -> &str {
    if w == CODE_MARK { "<code>" } else { w }
}

fn length_bucket(n: usize) -> &'static str {
    match n {
        0 => "0",
        1..=3 => "1-3",
        4..=8 => "4-8",
        9..=20 => "9-20",
        21..=50 => "21-50",
        _ => "51+",
    }
}

pub(crate) fn tone_name(t: Tone) -> &'static str {
    match t {
        Tone::Empathetic => "empathetic",
        Tone::Neutral => "neutral",
        Tone::Harsh => "harsh",
    }
}

/// A feature in words, for `--explain` and the report's `why`.
pub(crate) fn describe(feature: &str) -> String {
    let (kind, rest) = feature.split_once(':').unwrap_or(("", feature));
    match kind {
        "w" => format!("the word \"{rest}\""),
        "b" => format!("the words \"{}\"", rest.replace('_', " ")),
        "c" => format!(
            "letters \"{}\"",
            rest.trim_matches(|c| c == '<' || c == '>')
        ),
        "f" => format!("starts with \"{}\"", rest.replace('_', " ")),
        "q" => match rest {
            "any" => "asks a question".to_string(),
            "last" => "ends with a question".to_string(),
            "first" => "opens with a question".to_string(),
            _ => "only questions".to_string(),
        },
        "n" => format!(
            "length ({})",
            rest.replace("words", "words: ")
                .replace("sentences", "sentences: ")
        ),
        "s" => format!("has a {}", rest.replace('_', " ")),
        "r" => format!("rule: {}", rest.replace('_', " ")),
        _ => feature.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn votes() -> RuleVotes {
        RuleVotes {
            references_code: true,
            has_rationale: false,
            is_actionable: true,
            proposes_alternative: false,
            tone: Tone::Neutral,
            kind: CommentKind::Question,
            useful: None,
        }
    }

    #[test]
    fn words_pairs_letters_structure_and_rules() {
        let text = Text::parse("Why not use `os.replace` here?\n\n```suggestion\nx\n```");
        let f = extract(&text, &votes());
        for want in [
            "w:why",
            "b:why_not",
            "f:why_not",
            "c:<why",
            "w:<code>",
            "q:last",
            "s:code_span",
            "s:suggestion",
            "r:references_code",
            "r:kind_question",
            "r:tone_neutral",
            "r:useful_unknown",
        ] {
            assert!(f.iter().any(|x| x == want), "missing {want} in {f:?}");
        }
        assert!(!f.iter().any(|x| x == "r:has_rationale"));
        let mut sorted = f.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, f, "sorted and distinct");
    }

    #[test]
    fn a_huge_comment_has_a_bounded_feature_set() {
        let body = (0..50_000).map(|i| format!("word{i} ")).collect::<String>();
        let text = Text::parse(&body);
        let f = extract(&text, &votes());
        assert!(f.len() <= 2 * MAX_WORDS + 40, "{} features", f.len());
    }

    #[test]
    fn describes_features_in_words() {
        assert_eq!(describe("w:because"), "the word \"because\"");
        assert_eq!(describe("b:could_you"), "the words \"could you\"");
        assert_eq!(describe("q:last"), "ends with a question");
    }
}
