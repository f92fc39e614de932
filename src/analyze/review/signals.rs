//! The text signals of one review comment, each with the reason it fired.
//!
//! The rules are word tables (see `lexicon`) over the reviewer's own prose, plus Markdown
//! structure (code spans, suggestion blocks). They were written from the definitions in
//! `docs/review-signals.md` and tuned on the `tune` split of `tests/data/review_comments.jsonl`
//! only; the `holdout` split measures them.

use std::collections::BTreeMap;

use serde::Serialize;

use super::code_refs::{
    hunk_identifiers, is_doc_path, quoted_phrases, references_code, substitution,
};
use super::features::{self, RuleVotes};
use super::kind::{Facts, kind};
use super::language::{self, Judgement};
use super::learned::{self, Prediction};
use super::lexicon::*;
use super::text::{
    CODE_MARK, Text, Words, find_phrase, has_phrase, phrase_starts, raw_tokens, words_of,
};
use crate::model::{CommentKind, CommentSignals, Tone};

/// Signals of one comment, with `useful` judged from the text alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalReport {
    pub signals: CommentSignals,
    /// `None` when the comment is not judged, or when the text alone cannot tell.
    pub useful_text: Option<bool>,
    /// One short line per signal that fired (`"signal: reason"`), or why nothing was judged.
    pub why: Vec<String>,
    /// False for comments that are not in English: every signal is then `None`.
    pub judged: bool,
    /// How sure the learned model is of each signal it decided (0.5–1), by signal name. A
    /// signal under its threshold is `None` in `signals` and keeps its probability here.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub confidence: BTreeMap<&'static str, f32>,
}

/// The signals the learned model decides; the exact ones (`has_suggestion_block`, and
/// `references_code`, which reads code spans, links and identifiers) stay with the rules.
pub(crate) const LEARNED: [&str; 6] = [
    "kind",
    "has_rationale",
    "is_actionable",
    "proposes_alternative",
    "tone",
    "useful",
];

/// Computes the text signals of a review comment. `diff_hunk`, when given, sharpens
/// `references_code` (identifiers shared with the code); every signal works without it.
pub fn comment_signals(body: &str, path: Option<&str>, diff_hunk: Option<&str>) -> SignalReport {
    let text = Text::parse(body);
    if let Judgement::NotJudged(reason) = language::judge(&text) {
        return SignalReport {
            signals: CommentSignals::default(),
            useful_text: None,
            why: vec![format!("not judged: {reason}")],
            judged: false,
            confidence: BTreeMap::new(),
        };
    }
    let mut why = Vec::new();
    let rules = rule_votes(&text, path, diff_hunk, &mut why);
    let mut report = SignalReport {
        signals: CommentSignals {
            references_code: Some(rules.references_code),
            has_rationale: Some(rules.has_rationale),
            is_actionable: Some(rules.is_actionable),
            has_suggestion_block: Some(text.suggestion_blocks > 0),
            proposes_alternative: Some(rules.proposes_alternative),
            tone: Some(rules.tone),
            kind: Some(rules.kind),
        },
        useful_text: rules.useful,
        why,
        judged: true,
        confidence: BTreeMap::new(),
    };
    if let Some(model) = learned::model().filter(|m| m.decides_anything()) {
        let mut ids = Vec::with_capacity(256);
        features::for_each(&text, &rules, |f| {
            ids.extend(model.id(f));
        });
        ids.sort_unstable();
        ids.dedup();
        for signal in LEARNED {
            if let Some(p) = model.predict(signal, &ids)
                && model_speaks(&rules, signal, &p)
            {
                apply(
                    &mut report,
                    &rules,
                    signal,
                    &p,
                    &model.decisive(signal, &ids, &p),
                );
            }
        }
    }
    report
}

/// The features of one comment, as the learned model reads them (`None`: not judged).
pub fn comment_features(
    body: &str,
    path: Option<&str>,
    diff_hunk: Option<&str>,
) -> Option<Vec<String>> {
    let text = Text::parse(body);
    if let Judgement::NotJudged(_) = language::judge(&text) {
        return None;
    }
    let rules = rule_votes(&text, path, diff_hunk, &mut Vec::new());
    Some(features::extract(&text, &rules))
}

/// What the rules alone decide, each with its reason in `why`.
fn rule_votes(
    text: &Text,
    path: Option<&str>,
    diff_hunk: Option<&str>,
    why: &mut Vec<String>,
) -> RuleVotes {
    let hunk = diff_hunk.map(hunk_identifiers);
    // Prose files share ordinary words with comments about them; only code sharpens.
    let hunk = hunk.filter(|_| !is_doc_path(path));
    let references_code = references_code(text, hunk.as_ref(), why);
    if text.suggestion_blocks > 0 {
        why.push("has_suggestion_block: a ```suggestion block".to_string());
    }
    let has_rationale = has_rationale(text, why);
    let proposes_alternative = proposes_alternative(text, why);
    let is_actionable = is_actionable(text, proposes_alternative, why);
    let tone = tone(text, why);
    let facts = Facts {
        text,
        references_code,
        has_rationale,
        is_actionable,
        proposes_alternative,
        tone,
    };
    let (kind, kind_reason) = kind(&facts);
    why.push(format!("kind: {} ({kind_reason})", kind_name(kind)));
    let useful = useful_from_text(&facts, kind, why);
    RuleVotes {
        references_code,
        has_rationale,
        is_actionable,
        proposes_alternative,
        tone,
        kind,
        useful,
    }
}

/// Puts the model's answer for one signal in the report, replacing the rule's answer and its
/// reason. Harsh needs the rules' word too: calling someone's words harsh is a strong claim,
/// and the rules only say it for dismissal, disparagement, sarcasm or shouting in prose.
fn apply(
    report: &mut SignalReport,
    rules: &RuleVotes,
    signal: &'static str,
    p: &Prediction,
    decisive: &[(String, f32)],
) {
    report.confidence.insert(signal, p.probability);
    report.why.retain(|w| !w.starts_with(&format!("{signal}:")));
    let reasons: Vec<String> = decisive
        .iter()
        .map(|(f, _)| features::describe(f))
        .collect();
    let because = if reasons.is_empty() {
        String::from("no strong words either way")
    } else {
        reasons.join(", ")
    };
    let Some(class) = p.class.as_deref() else {
        report.why.push(format!(
            "{signal}: uncertain ({:.2}; {because})",
            p.probability
        ));
        let s = &mut report.signals;
        match signal {
            "kind" => s.kind = None,
            "has_rationale" => s.has_rationale = None,
            "is_actionable" => s.is_actionable = None,
            "proposes_alternative" => s.proposes_alternative = None,
            "tone" => s.tone = None,
            _ => report.useful_text = None,
        }
        return;
    };
    let s = &mut report.signals;
    let yes = class == "true";
    match signal {
        "kind" => s.kind = parse_kind(class),
        "has_rationale" => s.has_rationale = Some(yes),
        "is_actionable" => s.is_actionable = Some(yes),
        "proposes_alternative" => s.proposes_alternative = Some(yes),
        "tone" => {
            let tone = match class {
                "empathetic" => Tone::Empathetic,
                "harsh" if rules.tone == Tone::Harsh => Tone::Harsh,
                _ => Tone::Neutral,
            };
            s.tone = Some(tone);
        }
        _ => report.useful_text = Some(yes),
    }
    report.why.push(format!(
        "{signal}: {class} ({:.2}; {because})",
        p.probability
    ));
}

/// Whether the model's answer replaces the rules' for one signal: from its override up; or
/// when it is unsure too (under its threshold) and says otherwise, so that neither is trusted
/// and the signal is uncertain. Elsewhere the rules' answer and reason stand.
fn model_speaks(rules: &RuleVotes, signal: &str, p: &Prediction) -> bool {
    p.overrides_rules || (p.class.is_none() && rules_answer(rules, signal) != Some(&*p.top))
}

/// The rules' answer for one learned signal, in the model's class names.
fn rules_answer(rules: &RuleVotes, signal: &str) -> Option<&'static str> {
    let yes_no = |b: bool| if b { "true" } else { "false" };
    match signal {
        "kind" => Some(kind_name(rules.kind)),
        "has_rationale" => Some(yes_no(rules.has_rationale)),
        "is_actionable" => Some(yes_no(rules.is_actionable)),
        "proposes_alternative" => Some(yes_no(rules.proposes_alternative)),
        "tone" => Some(features::tone_name(rules.tone)),
        _ => rules.useful.map(yes_no),
    }
}

pub(crate) fn parse_kind(name: &str) -> Option<CommentKind> {
    Some(match name {
        "approval_only" => CommentKind::ApprovalOnly,
        "nit_style" => CommentKind::NitStyle,
        "question" => CommentKind::Question,
        "defect" => CommentKind::Defect,
        "alternative" => CommentKind::Alternative,
        "test_request" => CommentKind::TestRequest,
        "doc_request" => CommentKind::DocRequest,
        "security" => CommentKind::Security,
        "praise_specific" => CommentKind::PraiseSpecific,
        "other" => CommentKind::Other,
        _ => return None,
    })
}

pub(crate) fn kind_name(kind: CommentKind) -> &'static str {
    match kind {
        CommentKind::ApprovalOnly => "approval_only",
        CommentKind::NitStyle => "nit_style",
        CommentKind::Question => "question",
        CommentKind::Defect => "defect",
        CommentKind::Alternative => "alternative",
        CommentKind::TestRequest => "test_request",
        CommentKind::DocRequest => "doc_request",
        CommentKind::Security => "security",
        CommentKind::PraiseSpecific => "praise_specific",
        CommentKind::Other => "other",
    }
}

pub(super) fn short(s: &str) -> String {
    const MAX: usize = 40;
    let s = s.trim();
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

fn has_rationale(text: &Text, why: &mut Vec<String>) -> bool {
    if let Some(p) = find_phrase(&text.words, RATIONALE) {
        why.push(format!("has_rationale: gives a reason (\"{p}\")"));
        return true;
    }
    // A link to a document, a specification or an earlier discussion is a reason given.
    if text.links > 0 {
        why.push("has_rationale: links to a reference".to_string());
        return true;
    }
    false
}

/// The sentence's start when its first verb (after lead words such as "nit:" or "maybe") is
/// an imperative.
pub(super) fn imperative_sentence(s: &[String]) -> Option<String> {
    let first = s.iter().find(|w| !LEAD_WORDS.contains(&w.as_str()))?;
    IMPERATIVE_VERBS
        .contains(&first.as_str())
        .then(|| s.iter().take(4).cloned().collect::<Vec<_>>().join(" "))
}

fn imperative(text: &Text) -> Option<String> {
    text.sentences.iter().find_map(|s| imperative_sentence(s))
}

fn code_only(text: &Text) -> bool {
    text.prose_word_count() == 0 && (!text.code_blocks.is_empty() || text.suggestion_blocks > 0)
}

/// Questions that seek information ("Does this mean…?") rather than ask for a change ("Can you
/// rebase?"). A request phrased as a question still counts as a request.
pub(super) fn info_question(sentence: &[String]) -> bool {
    let first = sentence.iter().find(|w| !LEAD_WORDS.contains(&w.as_str()));
    let starts = first.is_some_and(|w| {
        matches!(
            w.as_str(),
            "does"
                | "do"
                | "did"
                | "is"
                | "are"
                | "was"
                | "were"
                | "has"
                | "have"
                | "how"
                | "what"
                | "which"
                | "who"
                | "when"
                | "where"
                | "why"
                | "out"
        )
    });
    starts
        && !has_phrase(sentence, "why not")
        && !has_phrase(sentence, "how about")
        && !has_phrase(sentence, "what about")
}

/// Questions that point at a problem or a choice the author can change.
const POINTED_QUESTIONS: &[&str] = &[
    "wouldn't this",
    "won't this",
    "isn't this",
    "aren't we",
    "doesn't this",
    "will this",
    "what happens",
    "what if",
    "is this intended",
    "a good name",
    "good name",
    "better name",
];

fn is_actionable(text: &Text, proposes_alternative: bool, why: &mut Vec<String>) -> bool {
    let nit_lead = text
        .words
        .first()
        .is_some_and(|w| matches!(w.as_str(), "nit" | "nitpick" | "sty" | "typo"));
    let mut reason = if text.suggestion_blocks > 0 {
        Some("proposes an exact change (suggestion block)".to_string())
    } else if let Some(sub) = substitution(text) {
        Some(format!("substitution {sub}"))
    } else if code_only(text) {
        Some("proposes code".to_string())
    } else if nit_lead && text.prose_word_count() > 2 {
        Some("a nit with a remark".to_string())
    } else {
        None
    };
    if reason.is_none() {
        for (sentence, &question) in text.sentences.iter().zip(&text.questions) {
            let asks_to_explain = find_phrase(
                sentence,
                &["explain", "describe", "clarify", "elaborate", "expand on"],
            )
            .is_some();
            if question && (info_question(sentence) || asks_to_explain) {
                if let Some(p) = find_phrase(sentence, POINTED_QUESTIONS) {
                    reason = Some(format!("questions the change (\"{p}\")"));
                } else if sentence.first().is_some_and(|w| w == "why")
                    && sentence.iter().any(|w| w == CODE_MARK)
                {
                    reason = Some("questions a choice in the named code".to_string());
                }
            } else if let Some(p) = find_phrase(sentence, ACTION_PHRASES) {
                reason = Some(format!("asks for a change (\"{p}\")"));
            } else if let Some(s) = imperative_sentence(sentence) {
                reason = Some(format!("imperative \"{}\"", s.replace(CODE_MARK, "`…`")));
            }
            if reason.is_some() {
                break;
            }
        }
    }
    if reason.is_none() && proposes_alternative {
        reason = Some("proposes another way".to_string());
    }
    match reason {
        Some(r) => {
            why.push(format!("is_actionable: {r}"));
            true
        }
        None => false,
    }
}

fn proposes_alternative(text: &Text, why: &mut Vec<String>) -> bool {
    let only_quote = {
        let quotes = quoted_phrases(&text.prose);
        !quotes.is_empty() && {
            let quoted_words: usize = quotes.iter().map(|q| words_of(q).len()).sum();
            quoted_words + 1 >= text.prose_word_count()
        }
    };
    let reason = if text.suggestion_blocks > 0 {
        Some("suggests replacement lines".to_string())
    } else if let Some(sub) = substitution(text) {
        Some(format!("substitution {sub}"))
    } else if code_only(text) {
        Some("offers code".to_string())
    } else if has_phrase(&text.words, &format!("i e {CODE_MARK}"))
        || has_phrase(&text.words, &format!("e g {CODE_MARK}"))
    {
        Some("gives replacement code (\"i.e./e.g. `…`\")".to_string())
    } else if let Some(p) = find_phrase(&text.words, ALTERNATIVE) {
        Some(format!("proposes another way (\"{p}\")"))
    } else if only_quote {
        Some("offers replacement wording".to_string())
    } else {
        imperative(text)
            .filter(|s| {
                let first = s.split(' ').find(|w| !LEAD_WORDS.contains(w)).unwrap_or("");
                matches!(first, "use" | "replace" | "switch" | "prefer" | "rename")
            })
            .map(|s| format!("imperative \"{}\"", s.replace(CODE_MARK, "`…`")))
    };
    match reason {
        Some(r) => {
            why.push(format!("proposes_alternative: {r}"));
            true
        }
        None => false,
    }
}

const ACRONYMS: &[&str] = &[
    "LGTM",
    "SGTM",
    "TODO",
    "NOTE",
    "FIXME",
    "HTTP",
    "HTTPS",
    "JSON",
    "YAML",
    "TOML",
    "HTML",
    "API",
    "CPU",
    "URL",
    "README",
    "CHANGELOG",
    "PEP",
    "STY",
    "RST",
    "PTAL",
    "WIP",
    "IIUC",
    "IMO",
    "IMHO",
    "AFAIK",
    "FYI",
    "NEWS",
    "ACKS",
    "MUST",
    "SHOULD",
];

fn tone(text: &Text, why: &mut Vec<String>) -> Tone {
    let prose_lower = text.prose.to_lowercase();
    // "/s" marks sarcasm only as a token of its own, not inside a path ("TQ/Sisi"); "?!" is
    // surprise more often than scorn, so it is not a marker.
    let sarcasm = ["🙄", "🤦", ":facepalm:", ":roll_eyes:"]
        .into_iter()
        .find(|m| prose_lower.contains(m))
        .or_else(|| {
            prose_lower
                .split_whitespace()
                .any(|t| t == "/s")
                .then_some("/s")
        });
    // Capitals are shouting only when they carry the sentence: known acronyms, SQL keywords
    // and log levels are names, and a few capitalised words among ordinary prose are emphasis
    // or code ("runs SELECT ... FOR UPDATE").
    let shouting: Vec<&str> = raw_tokens(&text.prose)
        .filter(|t| {
            t.chars().count() >= 4
                && t.chars().all(|c| c.is_ascii_uppercase())
                && !ACRONYMS.contains(t)
                && !SQL_AND_CONSTANT_WORDS.contains(t)
        })
        .collect();
    let prose_words = raw_tokens(&text.prose)
        .filter(|t| t.chars().any(char::is_alphabetic))
        .count();
    let shouting = if shouting.len() * 2 >= prose_words {
        shouting
    } else {
        Vec::new()
    };
    // A word of disparagement in a comment that thanks the author for the change is aimed at
    // something else ("a terrible practice, so this patch is more than welcome. Thanks!").
    let thanks = find_phrase(&text.words, THANKS).is_some();
    let words = Words::new(&text.words);
    // The word spans of self-mockery ("stupid me"): a harsh phrase counts unless every place
    // it occurs lies inside one.
    let excused: Vec<(usize, usize)> = NOT_AIMED_AT_THE_AUTHOR
        .iter()
        .filter(|e| words.has(e))
        .flat_map(|e| {
            let n = e.split(' ').count();
            phrase_starts(&text.words, e).map(move |i| (i, i + n))
        })
        .collect();
    let harsh = HARSH.iter().copied().find(|p| {
        if !words.has(p) || (thanks && DISPARAGING_WORDS.contains(p)) {
            return false;
        }
        let n = p.split(' ').count();
        phrase_starts(&text.words, p).any(|i| !excused.iter().any(|&(a, b)| a <= i && i + n <= b))
    });
    if let Some(p) = harsh {
        why.push(format!("tone: harsh (\"{p}\")"));
        return Tone::Harsh;
    }
    if let Some(m) = sarcasm {
        why.push(format!("tone: harsh (sarcasm marker \"{m}\")"));
        return Tone::Harsh;
    }
    if shouting.len() >= 2 {
        why.push(format!("tone: harsh (shouting \"{}\")", shouting.join(" ")));
        return Tone::Harsh;
    }
    if let Some(p) = find_phrase(&text.words, EMPATHY) {
        why.push(format!("tone: empathetic (\"{p}\")"));
        return Tone::Empathetic;
    }
    if let Some(e) = EMPATHY_EMOJI.iter().find(|e| prose_lower.contains(*e)) {
        why.push(format!("tone: empathetic (\"{e}\")"));
        return Tone::Empathetic;
    }
    Tone::Neutral
}

fn useful_from_text(f: &Facts<'_>, kind: CommentKind, why: &mut Vec<String>) -> Option<bool> {
    let verdict = match kind {
        CommentKind::ApprovalOnly | CommentKind::PraiseSpecific => {
            Some((false, "approval or praise with nothing to act on"))
        }
        CommentKind::Security | CommentKind::Defect => Some((true, "raises a problem")),
        _ if f.is_actionable
            && (f.references_code
                || f.has_rationale
                || matches!(
                    kind,
                    CommentKind::TestRequest
                        | CommentKind::DocRequest
                        | CommentKind::Alternative
                        | CommentKind::NitStyle
                )) =>
        {
            Some((true, "a specific request"))
        }
        CommentKind::Question if f.references_code => Some((true, "a question about named code")),
        _ if f.proposes_alternative && f.references_code => {
            Some((true, "proposes another way for named code"))
        }
        _ if !f.is_actionable && !f.references_code => Some((false, "nothing specific to act on")),
        _ => None,
    };
    verdict.map(|(useful, reason)| {
        why.push(format!("useful: {useful} ({reason})"));
        useful
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use CommentKind as K;

    fn sig(body: &str) -> SignalReport {
        comment_signals(body, None, None)
    }

    /// (comment, expected kind, expected useful-from-text)
    const KIND_CASES: &[(&str, CommentKind, Option<bool>)] = &[
        ("won't this overflow when n is 0?", K::Defect, Some(true)),
        (
            "LGTM, but `parse()` should reject an empty header, otherwise we silently return None.",
            K::Defect,
            Some(true),
        ),
        ("LGTM", K::ApprovalOnly, Some(false)),
        ("LGTM 👍", K::ApprovalOnly, Some(false)),
        ("Thanks for the fix!", K::ApprovalOnly, Some(false)),
        (
            "Can you add a test for the empty list?",
            K::TestRequest,
            Some(true),
        ),
        (
            "Please document the new `timeout` parameter in the docstring.",
            K::DocRequest,
            Some(true),
        ),
        (
            "This builds the SQL with an f-string from user input; use a parameterised query.",
            K::Security,
            Some(true),
        ),
        (
            "Why not use `functools.cache` instead of the hand-written dict?",
            K::Alternative,
            Some(true),
        ),
        ("nit: s/recieve/receive/", K::NitStyle, Some(true)),
        (
            "```suggestion\n    return sorted(items)\n```",
            K::NitStyle,
            Some(true),
        ),
        (
            "Out of curiosity, why a matrix with a single version?",
            K::Question,
            Some(false),
        ),
        (
            "Nice, the new error message for a bad config file reads much better.",
            K::PraiseSpecific,
            Some(false),
        ),
        (
            "Looks like there are conflicts. Can you rebase?",
            K::Other,
            // A bare process request has usefulness 1 (the corpus's settling rules, batch 3).
            Some(false),
        ),
    ];

    #[test]
    fn kinds_and_useful_from_text() {
        for (body, kind, useful) in KIND_CASES {
            let r = sig(body);
            assert_eq!(r.signals.kind, Some(*kind), "{body}: {:?}", r.why);
            assert_eq!(r.useful_text, *useful, "{body}: {:?}", r.why);
            assert!(r.why.iter().any(|w| w.starts_with("kind:")), "{body}");
        }
    }

    type Flags = (bool, bool, bool, bool, bool);

    /// (comment, references_code, has_rationale, is_actionable, has_suggestion_block,
    /// proposes_alternative)
    const FLAG_CASES: &[(&str, Flags)] = &[
        ("LGTM", (false, false, false, false, false)),
        // A suggestion block with no explanation.
        (
            "```suggestion\n    if not items:\n        return []\n```",
            (true, false, true, true, true),
        ),
        // Code only, no suggestion block.
        (
            "```python\nwith open(path) as f:\n    data = f.read()\n```",
            (true, false, true, false, true),
        ),
        (
            "This could be removed: department_api is already tested in `test_course.py`",
            (true, true, true, false, false),
        ),
        (
            "Use `pathlib.Path` here because `os.path.join` breaks on Windows drive letters.",
            (true, true, true, false, true),
        ),
        ("Nor this one", (false, false, false, false, false)),
        (
            "Does this mean that we will drop Python 3.8?",
            (false, false, false, false, false),
        ),
        (
            "Can you please explain how this is safer?",
            (false, false, false, false, false),
        ),
    ];

    #[test]
    fn boolean_signals() {
        for (body, (rc, rat, act, sug, alt)) in FLAG_CASES {
            let r = sig(body);
            let s = &r.signals;
            let got = (
                s.references_code,
                s.has_rationale,
                s.is_actionable,
                s.has_suggestion_block,
                s.proposes_alternative,
            );
            assert_eq!(
                got,
                (Some(*rc), Some(*rat), Some(*act), Some(*sug), Some(*alt)),
                "{body}: {:?}",
                r.why
            );
        }
    }

    #[test]
    fn every_fired_signal_says_why() {
        let r = sig("Use `pathlib.Path` here because `os.path.join` breaks on Windows.");
        for name in [
            "references_code",
            "has_rationale",
            "is_actionable",
            "proposes_alternative",
        ] {
            assert!(
                r.why.iter().any(|w| w.starts_with(&format!("{name}:"))),
                "{name} missing in {:?}",
                r.why
            );
        }
        let quiet = sig("LGTM");
        // Not actionable: the rules say nothing, and the model, if it answers, answers no.
        assert!(
            !quiet
                .why
                .iter()
                .any(|w| w.starts_with("is_actionable") && !w.starts_with("is_actionable: false")),
            "{:?}",
            quiet.why
        );
    }

    const TONE_CASES: &[(&str, Tone)] = &[
        // Not aimed at the author: self-mockery, a technical term, the reviewer's own confusion.
        (
            "Stupid me, I read `rc1` as \"Release Candidate 1\".",
            Tone::Neutral,
        ),
        (
            "May I be nitpicky about lazy string formatting in logging?",
            Tone::Neutral,
        ),
        (
            "Here, I have no idea what RF00169.cm actually is.",
            Tone::Neutral,
        ),
        // Aimed at the author or the change, whatever else the comment says.
        (
            "Stupid question, but why did you write such stupid code?",
            Tone::Harsh,
        ),
        ("This is stupid, I know you meant well.", Tone::Harsh),
        (
            "It makes no sense to me. This whole PR makes no sense.",
            Tone::Harsh,
        ),
        ("This makes no sense. Did you even run it?", Tone::Harsh),
        ("You have no idea what this code does.", Tone::Harsh),
        ("I have no idea what you were thinking here.", Tone::Harsh),
        ("This is a lazy fix.", Tone::Harsh),
        (
            "Thanks! Maybe rename this to `max_retries`?",
            Tone::Empathetic,
        ),
        // Hedging alone is neutral (the guide); thanks or a softener is empathetic.
        (
            "I think this should be a set, since we only test membership.",
            Tone::Neutral,
        ),
        ("Feel free to keep it as a list.", Tone::Empathetic),
        ("LGTM 👍", Tone::Empathetic),
        (
            "I am not familiar with Windows; does this work there?",
            Tone::Neutral,
        ),
        ("The mocks live in tests/Sisi now.", Tone::Neutral),
        ("Rename this to `max_retries`.", Tone::Neutral),
        (
            "Please open these kinds of PRs in your own fork.",
            Tone::Neutral,
        ),
        ("Oh great, another global variable. Genius.", Tone::Harsh),
        (
            "Sure, because what this codebase needed was more magic numbers /s",
            Tone::Harsh,
        ),
        ("This is useless.", Tone::Harsh),
        (
            "It seems you're not familiar with Python basics.",
            Tone::Harsh,
        ),
        ("WHY IS THIS GLOBAL AGAIN", Tone::Harsh),
    ];

    #[test]
    fn tone() {
        for (body, tone) in TONE_CASES {
            let r = sig(body);
            assert_eq!(r.signals.tone, Some(*tone), "{body}: {:?}", r.why);
        }
    }

    #[test]
    fn non_english_is_not_judged() {
        for body in [
            "Il suffit de faire: `if rev.reviewer:`",
            "Bitte hier noch einen Test hinzufügen, das ist nicht getestet.",
            "这里应该加一个测试用例",
        ] {
            let r = sig(body);
            assert!(!r.judged, "{body}");
            assert_eq!(r.signals, CommentSignals::default(), "{body}");
            assert_eq!(r.useful_text, None);
            assert!(r.why[0].starts_with("not judged"));
        }
    }

    #[test]
    fn diff_hunk_sharpens_references_code() {
        let body = "Should this handle the timeout too?";
        let hunk = "@@ -1,3 +1,4 @@ def fetch(url):\n+    resp = session.get(url, timeout=timeout)";
        assert_eq!(sig(body).signals.references_code, Some(false));
        let r = comment_signals(body, Some("src/client.py"), Some(hunk));
        assert_eq!(r.signals.references_code, Some(true), "{:?}", r.why);
        assert!(r.why.iter().any(|w| w.contains("shares `timeout`")));
        // Prose files share ordinary words with any comment; they do not sharpen.
        let doc = comment_signals(body, Some("docs/usage.rst"), Some("+Set the timeout."));
        assert_eq!(doc.signals.references_code, Some(false));
    }

    #[test]
    fn empty_and_odd_input_do_not_panic() {
        for body in ["", " ", "```", "`", "> only a quote", "s/", "\u{0}", "?!?!"] {
            let _ = sig(body);
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics_and_is_consistent(body in "\\PC{0,300}", hunk in proptest::option::of("\\PC{0,200}")) {
            let r = comment_signals(&body, Some("a.py"), hunk.as_deref());
            let s = &r.signals;
            if r.judged {
                prop_assert!(s.kind.is_some() && s.tone.is_some());
                // A suggestion block always implies an actionable, code-referencing comment.
                if s.has_suggestion_block == Some(true) {
                    prop_assert_eq!(s.is_actionable, Some(true));
                    prop_assert_eq!(s.references_code, Some(true));
                }
            } else {
                prop_assert_eq!(s, &CommentSignals::default());
                prop_assert_eq!(r.useful_text, None);
            }
        }

        #[test]
        fn suggestion_fence_is_found_anywhere(prefix in "[a-zA-Z ,.]{0,60}", code in "[a-z_ =()0-9]{0,40}") {
            let body = format!("{prefix}\n```suggestion\n{code}\n```\n");
            let r = comment_signals(&body, None, None);
            if r.judged {
                prop_assert_eq!(r.signals.has_suggestion_block, Some(true));
            }
        }
    }
}
