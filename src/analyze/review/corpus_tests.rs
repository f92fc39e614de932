//! The embedded model against the labelled corpus it was trained from: it must be retrained
//! whenever the corpus or its labels change, and Rust's inference must reproduce the accuracy
//! the training script measured on the frozen test split.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::comment_signals;
use super::learned;
use super::signals::kind_name;
use crate::model::Tone;

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/review-corpus")
}

fn sha256(name: &str) -> String {
    let bytes = std::fs::read(corpus_dir().join(name)).unwrap();
    hex::encode(Sha256::digest(&bytes))
}

#[derive(Deserialize)]
struct Comment {
    id: String,
    text: String,
    repo: String,
    #[serde(default)]
    path: Option<String>,
}

#[derive(Deserialize)]
struct Labels {
    id: String,
    kind: String,
    has_rationale: bool,
    is_actionable: bool,
    references_code: bool,
    has_suggestion_block: bool,
    proposes_alternative: bool,
    tone: Tone,
    usefulness: u8,
}

/// The rows of a JSON-lines file of the corpus. A comment not in English has labels for
/// `has_suggestion_block` only, and is left out: it is not judged.
fn read<T: for<'a> Deserialize<'a>>(name: &str) -> Vec<T> {
    std::fs::read_to_string(corpus_dir().join(name))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| name != "labels.jsonl" || l.contains("\"kind\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// (signal, issue 16's target, floor: the measured test-split figure where the target is not met).
/// Only `references_code` meets its target today.
const TARGETS: &[(&str, f64, f64)] = &[
    ("kind", 0.75, 0.485),
    ("has_rationale", 0.85, 0.799),
    ("is_actionable", 0.85, 0.768),
    ("proposes_alternative", 0.85, 0.785),
    ("references_code", 0.85, 0.85),
    ("useful", 0.85, 0.812),
];

/// Issue 16: no kind with at least 15 test items under this recall.
const MIN_RECALL: f64 = 0.6;

/// Measured recall of the kinds that do not meet [`MIN_RECALL`] yet.
const RECALL_FLOORS: &[(&str, f64)] = &[
    ("alternative", 0.379),
    ("defect", 0.18),
    ("doc_request", 0.32),
    ("nit_style", 0.506),
    ("other", 0.576),
    ("praise_specific", 0.111),
    ("question", 0.564),
    ("test_request", 0.529),
];

/// Harsh verdicts on the test split whose comment is not labelled harsh, at most. Issue 16
/// asks for a harsh precision of 0.9; today 5 of 6 harsh verdicts are wrong (the split grew
/// from 205 to 470 comments with batches 3 and 4).
const MAX_WRONG_HARSH: u32 = 5;

#[test]
fn the_model_was_trained_on_the_corpus_as_it_is() {
    let model = learned::model().expect("the embedded model parses");
    assert_eq!(
        model.corpus_sha256,
        sha256("comments.jsonl"),
        "comments.jsonl changed: run scripts/train_review_model.py"
    );
    assert_eq!(
        model.labels_sha256,
        sha256("labels.jsonl"),
        "labels.jsonl changed: run scripts/train_review_model.py"
    );
}

#[test]
fn test_split_accuracy_is_what_training_measured() {
    let model = learned::model().expect("the embedded model parses");
    #[derive(Deserialize)]
    struct Split {
        test_repos: HashSet<String>,
    }
    let split: Split =
        serde_json::from_str(&std::fs::read_to_string(corpus_dir().join("split.json")).unwrap())
            .unwrap();
    let labels: BTreeMap<String, Labels> = read::<Labels>("labels.jsonl")
        .into_iter()
        .map(|l| (l.id.clone(), l))
        .collect();
    let mut right: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    // Per labelled kind: (right, total); and Folio's harsh verdicts: (labelled harsh, total).
    let mut recall: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let mut harsh = (0u32, 0u32);
    let mut score = |signal: &'static str, ok: bool| {
        let e = right.entry(signal).or_default();
        e.0 += u32::from(ok);
        e.1 += 1;
    };
    for c in read::<Comment>("comments.jsonl") {
        if !split.test_repos.contains(&c.repo) {
            continue;
        }
        let Some(l) = labels.get(&c.id) else { continue };
        let r = comment_signals(&c.text, c.path.as_deref(), None);
        if !r.judged {
            continue;
        }
        let s = &r.signals;
        score("kind", s.kind.map(kind_name) == Some(l.kind.as_str()));
        let e = recall.entry(l.kind.clone()).or_default();
        e.0 += u32::from(s.kind.map(kind_name) == Some(l.kind.as_str()));
        e.1 += 1;
        if s.tone == Some(Tone::Harsh) {
            harsh.0 += u32::from(l.tone == Tone::Harsh);
            harsh.1 += 1;
        }
        score("has_rationale", s.has_rationale == Some(l.has_rationale));
        score("is_actionable", s.is_actionable == Some(l.is_actionable));
        score(
            "references_code",
            s.references_code == Some(l.references_code),
        );
        score(
            "has_suggestion_block",
            s.has_suggestion_block == Some(l.has_suggestion_block),
        );
        score(
            "proposes_alternative",
            s.proposes_alternative == Some(l.proposes_alternative),
        );
        score("tone", s.tone == Some(l.tone));
        match l.usefulness {
            1 => score("useful", r.useful_text == Some(false)),
            3 => score("useful", r.useful_text == Some(true)),
            _ => {}
        }
    }
    let accuracy = |s: &str| {
        let (ok, n) = right[s];
        f64::from(ok) / f64::from(n)
    };
    for (signal, recorded) in &model.test_accuracy {
        let measured = accuracy(signal);
        // f32 inference against f64 training may tip a comment sitting on a threshold.
        assert!(
            (measured - recorded).abs() <= 0.02,
            "{signal}: Rust measures {measured:.3}, training recorded {recorded:.3}"
        );
    }
    // Issue 16's targets; where one is not met yet, the floor is the figure measured when the
    // model was last trained, so that nothing falls back unnoticed.
    for (signal, target, floor) in TARGETS {
        let measured = accuracy(signal);
        assert!(
            measured >= target.min(*floor) - 1e-9,
            "{signal}: {measured:.3} on the test split, under both the target {target} and the \
             floor {floor}"
        );
    }
    for (kind, (ok, n)) in &recall {
        if *n < 15 {
            continue;
        }
        let r = f64::from(*ok) / f64::from(*n);
        let floor = RECALL_FLOORS
            .iter()
            .find(|(k, _)| k == kind)
            .map_or(MIN_RECALL, |(_, f)| f.min(MIN_RECALL));
        assert!(
            r >= floor - 1e-9,
            "{kind}: recall {r:.3} ({ok}/{n}) under {floor}"
        );
    }
    // Harsh is a strong claim: with fewer than ten harsh verdicts the counts are the figure.
    assert!(
        harsh.1 - harsh.0 <= MAX_WRONG_HARSH,
        "{} of {} harsh verdicts on the test split are not labelled harsh",
        harsh.1 - harsh.0,
        harsh.1
    );
    // The exact signals stay with the rules, which must hold up on real comments.
    assert_eq!(accuracy("has_suggestion_block"), 1.0);
    assert!(
        accuracy("references_code") >= 0.85,
        "{}",
        accuracy("references_code")
    );
}
