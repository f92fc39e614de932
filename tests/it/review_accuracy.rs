//! Recomputes the accuracy of the review-comment signals on the labelled set
//! (`tests/data/review_comments.jsonl`) and checks it against the table in
//! `docs/review-signals.md`. The holdout split was never used to tune the rules.
//!
//! To print the table after a deliberate change: `FOLIO_PRINT_ACCURACY=1 cargo test --test
//! review_accuracy -- --nocapture`.

use std::collections::BTreeMap;

use folio::analyze::review::comment_signals;
use folio::model::{CommentKind, CommentSignals, Tone};
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Deserialize)]
struct Labels {
    references_code: Option<bool>,
    has_rationale: Option<bool>,
    is_actionable: Option<bool>,
    has_suggestion_block: Option<bool>,
    proposes_alternative: Option<bool>,
    tone: Option<Tone>,
    kind: Option<CommentKind>,
}

#[derive(Debug, Deserialize)]
struct Row {
    url: String,
    body: String,
    path: Option<String>,
    diff_hunk: Option<String>,
    lang: String,
    labels: Labels,
    useful: Option<bool>,
    split: String,
}

fn rows() -> Vec<Row> {
    let text = include_str!("../data/review_comments.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("valid labelled row"))
        .collect()
}

#[derive(Default, Clone, Copy)]
struct Tally {
    agree: u32,
    total: u32,
}

impl Tally {
    fn add(&mut self, ok: bool) {
        self.total += 1;
        self.agree += u32::from(ok);
    }
    fn pct(self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            100.0 * f64::from(self.agree) / f64::from(self.total)
        }
    }
    fn cell(self) -> String {
        format!("{:.1}% ({}/{})", self.pct(), self.agree, self.total)
    }
}

const SIGNALS: [&str; 9] = [
    "references_code",
    "has_rationale",
    "is_actionable",
    "has_suggestion_block",
    "proposes_alternative",
    "tone",
    "kind",
    "useful (clear cases)",
    "language (not judged when not English)",
];

fn measure(split: &str) -> BTreeMap<&'static str, Tally> {
    let mut t: BTreeMap<&'static str, Tally> =
        SIGNALS.iter().map(|s| (*s, Tally::default())).collect();
    for row in rows().iter().filter(|r| r.split == split) {
        let report = comment_signals(&row.body, row.path.as_deref(), row.diff_hunk.as_deref());
        let english = row.lang == "en";
        if let Some(x) = t.get_mut("language (not judged when not English)") {
            x.add(report.judged == english);
        }
        if !english {
            continue;
        }
        let s: &CommentSignals = &report.signals;
        let l = &row.labels;
        let pairs = [
            ("references_code", s.references_code, l.references_code),
            ("has_rationale", s.has_rationale, l.has_rationale),
            ("is_actionable", s.is_actionable, l.is_actionable),
            (
                "has_suggestion_block",
                s.has_suggestion_block,
                l.has_suggestion_block,
            ),
            (
                "proposes_alternative",
                s.proposes_alternative,
                l.proposes_alternative,
            ),
        ];
        for (name, got, want) in pairs {
            if let (Some(want), Some(x)) = (want, t.get_mut(name)) {
                x.add(got == Some(want));
            }
        }
        if let (Some(want), Some(x)) = (l.tone, t.get_mut("tone")) {
            x.add(s.tone == Some(want));
        }
        if let (Some(want), Some(x)) = (l.kind, t.get_mut("kind")) {
            x.add(s.kind == Some(want));
        }
        // "Clearly useful / clearly not useful": rows labelled null are left out; a missing
        // verdict on a clear row counts as a disagreement.
        if let (Some(want), Some(x)) = (row.useful, t.get_mut("useful (clear cases)")) {
            x.add(report.useful_text == Some(want));
        }
    }
    t
}

fn table() -> String {
    let tune = measure("tune");
    let holdout = measure("holdout");
    let mut out = String::from("| signal | holdout (never tuned on) | tune |\n|---|---|---|\n");
    for name in SIGNALS {
        out.push_str(&format!(
            "| {name} | {} | {} |\n",
            holdout[name].cell(),
            tune[name].cell()
        ));
    }
    out
}

const BEGIN: &str = "<!-- accuracy:begin -->\n";
const END: &str = "<!-- accuracy:end -->";

#[test]
fn docs_table_matches_measured_accuracy() {
    let measured = table();
    if std::env::var_os("FOLIO_PRINT_ACCURACY").is_some() {
        println!("{measured}");
    }
    let doc = include_str!("../../docs/review-signals.md");
    let start = doc
        .find(BEGIN)
        .expect("docs/review-signals.md has the accuracy:begin marker");
    let end = doc
        .find(END)
        .expect("docs/review-signals.md has the accuracy:end marker");
    let in_doc = &doc[start + BEGIN.len()..end];
    assert_eq!(
        in_doc.trim(),
        measured.trim(),
        "the accuracy table in docs/review-signals.md is stale:\n{measured}"
    );
}

/// The holdout figures reported in the docs, as floors: a change to the rules must not lower
/// them (agreeing counts out of the same totals).
const HOLDOUT_FLOORS: &[(&str, u32)] = &[
    ("references_code", 37),
    ("has_rationale", 31),
    // The learned model, better on the larger corpus, loses a few comments here.
    ("is_actionable", 29),
    ("has_suggestion_block", 37),
    ("proposes_alternative", 34),
    // This set labelled hedges ("might", "you could", "IMO") empathetic; the one labelling guide
    // calls hedging alone neutral, and the rules follow the guide, which costs three holdout
    // comments here.
    ("tone", 30),
    ("kind", 26),
    ("useful (clear cases)", 27),
    ("language (not judged when not English)", 38),
];

#[test]
fn holdout_accuracy_does_not_fall_below_reported_figures() {
    let holdout = measure("holdout");
    for (name, floor) in HOLDOUT_FLOORS {
        let got = holdout[name].agree;
        assert!(
            got >= *floor,
            "{name}: {got} agreeing on the holdout, reported {floor}"
        );
    }
}

#[test]
fn split_follows_the_url_hash_rule() {
    for row in rows() {
        let digest = Sha256::digest(row.url.as_bytes());
        let first = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        let expected = if first % 10 < 3 { "holdout" } else { "tune" };
        assert_eq!(row.split, expected, "{}", row.url);
    }
}

#[test]
fn labelled_set_is_large_enough() {
    let rows = rows();
    assert!(rows.len() >= 80, "{} rows", rows.len());
    assert!(
        rows.iter()
            .all(|r| r.url.starts_with("https://github.com/"))
    );
}

/// Lists disagreements on the tune split, for tuning the rules. Never run on the holdout.
#[test]
#[ignore = "a tuning aid that prints; run with --ignored --nocapture"]
fn print_tune_disagreements() {
    for row in rows()
        .iter()
        .filter(|r| r.split == "tune" && r.lang == "en")
    {
        let r = comment_signals(&row.body, row.path.as_deref(), row.diff_hunk.as_deref());
        let s = &r.signals;
        let l = &row.labels;
        let mut diffs = Vec::new();
        let b = [
            ("rc", s.references_code, l.references_code),
            ("rat", s.has_rationale, l.has_rationale),
            ("act", s.is_actionable, l.is_actionable),
            ("sug", s.has_suggestion_block, l.has_suggestion_block),
            ("alt", s.proposes_alternative, l.proposes_alternative),
        ];
        for (n, got, want) in b {
            if want.is_some() && got != want {
                diffs.push(format!("{n}: got {got:?} want {want:?}"));
            }
        }
        if l.tone.is_some() && s.tone != l.tone {
            diffs.push(format!("tone: got {:?} want {:?}", s.tone, l.tone));
        }
        if l.kind.is_some() && s.kind != l.kind {
            diffs.push(format!("kind: got {:?} want {:?}", s.kind, l.kind));
        }
        if row.useful.is_some() && r.useful_text != row.useful {
            diffs.push(format!(
                "useful: got {:?} want {:?}",
                r.useful_text, row.useful
            ));
        }
        if !diffs.is_empty() {
            let body: String = row.body.chars().take(90).collect();
            println!(
                "--- {body:?}\n    {}\n    why: {:?}",
                diffs.join("; "),
                r.why
            );
        }
    }
}
