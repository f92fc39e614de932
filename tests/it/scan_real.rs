//! Detector accuracy on fixtures built from real Python repositories (`tests/fixtures/real/`).
//!
//! Each fixture holds the CI and tool files of one real project, trimmed, and an
//! `expected.toml` whose labels were written by hand from the SPEC §3 definitions. The test
//! scans every fixture, prints a per-practice confusion table, and fails on any disagreement
//! with a label that is not listed as `unsure` (labels the SPEC leaves to judgement are
//! reported only).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use folio::analyze::practices::PRACTICE_IDS;
use folio::model::{OutputFormat, PracticeStatus, Report};
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    #[allow(dead_code)]
    source: String,
    labels: BTreeMap<String, PracticeStatus>,
    #[serde(default)]
    unsure: Vec<String>,
}

struct Case {
    name: String,
    expected: Expected,
    actual: BTreeMap<String, PracticeStatus>,
}

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real")
}

fn load_cases() -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_root())
        .unwrap_or_else(|e| panic!("reading tests/fixtures/real: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expected.toml").is_file())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(dir.join("expected.toml"))
                .unwrap_or_else(|e| panic!("{name}/expected.toml: {e}"));
            let expected: Expected =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{name}/expected.toml: {e}"));
            let json = folio::scan::run(&dir, OutputFormat::Json)
                .unwrap_or_else(|e| panic!("scan {name}: {}", e.one_line()));
            let report: Report =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
            let actual = report
                .practices
                .iter()
                .map(|p| (p.id.clone(), p.status))
                .collect();
            Case {
                name,
                expected,
                actual,
            }
        })
        .collect()
}

#[derive(Default)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
    tn: u32,
    /// Labels whose exact status matched (absent vs could_not_parse included).
    exact: u32,
    total: u32,
}

impl Counts {
    /// F1 of `present`; a practice never present in labels or output scores 1.
    fn f1(&self) -> f64 {
        let denom = 2 * self.tp + self.fp + self.fn_;
        if denom == 0 {
            1.0
        } else {
            f64::from(2 * self.tp) / f64::from(denom)
        }
    }
}

fn status_name(s: PracticeStatus) -> &'static str {
    match s {
        PracticeStatus::Present => "present",
        PracticeStatus::Absent => "absent",
        PracticeStatus::CouldNotParse => "could_not_parse",
        PracticeStatus::NotAssessable => "not_assessable",
    }
}

#[test]
fn every_fixture_labels_every_practice() {
    let cases = load_cases();
    assert!(cases.len() >= 8, "expected at least 8 real fixtures");
    for c in &cases {
        for id in PRACTICE_IDS.iter() {
            assert!(
                c.expected.labels.contains_key(*id),
                "{}: no label for {id}",
                c.name
            );
        }
        for id in c.expected.labels.keys().chain(c.expected.unsure.iter()) {
            assert!(
                PRACTICE_IDS.contains(&id.as_str()),
                "{}: unknown practice id {id}",
                c.name
            );
        }
    }
}

#[test]
fn real_repositories_match_hand_labels() {
    let cases = load_cases();
    let mut per_practice: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut wrong_sure = Vec::new();
    let mut wrong_unsure = Vec::new();
    for c in &cases {
        for id in PRACTICE_IDS.iter() {
            let Some(&want) = c.expected.labels.get(*id) else {
                continue;
            };
            let got = c.actual.get(*id).copied();
            let counts = per_practice.entry(id).or_default();
            counts.total += 1;
            let want_p = want == PracticeStatus::Present;
            let got_p = got == Some(PracticeStatus::Present);
            match (want_p, got_p) {
                (true, true) => counts.tp += 1,
                (false, true) => counts.fp += 1,
                (true, false) => counts.fn_ += 1,
                (false, false) => counts.tn += 1,
            }
            if got == Some(want) {
                counts.exact += 1;
            } else {
                let line = format!(
                    "{}: {id} labelled {} but scanned {}",
                    c.name,
                    status_name(want),
                    got.map_or("missing", status_name)
                );
                if c.expected.unsure.iter().any(|u| u == id) {
                    wrong_unsure.push(line);
                } else {
                    wrong_sure.push(line);
                }
            }
        }
    }

    println!(
        "{:<24} {:>3} {:>3} {:>3} {:>3} {:>6} {:>5}",
        "practice", "TP", "FP", "FN", "TN", "exact", "F1"
    );
    let mut exact = 0;
    let mut total = 0;
    let mut f1_sum = 0.0;
    for (id, k) in &per_practice {
        println!(
            "{id:<24} {:>3} {:>3} {:>3} {:>3} {:>3}/{:<2} {:>5.2}",
            k.tp,
            k.fp,
            k.fn_,
            k.tn,
            k.exact,
            k.total,
            k.f1()
        );
        exact += k.exact;
        total += k.total;
        f1_sum += k.f1();
    }
    let accuracy = f64::from(exact) / f64::from(total.max(1));
    let macro_f1 = f1_sum / per_practice.len().max(1) as f64;
    println!(
        "{} fixtures, {exact}/{total} labels right ({:.1}%), macro F1 {macro_f1:.3}",
        cases.len(),
        accuracy * 100.0
    );
    for w in &wrong_unsure {
        println!("judgement call: {w}");
    }
    assert!(
        wrong_sure.is_empty(),
        "labels the scan got wrong:\n{}",
        wrong_sure.join("\n")
    );
    assert!(accuracy >= 0.95, "accuracy {accuracy:.3} below 0.95");
    assert!(macro_f1 >= 0.9, "macro F1 {macro_f1:.3} below 0.9");
}
