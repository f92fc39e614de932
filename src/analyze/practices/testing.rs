//! testing: tests_in_ci, property_based_tests, coverage_gate, mutation_testing.

use super::common::{command_specs, ev, finish, tool_evidence, uses_ev};
use super::facts::{Facts, command_matches, file_name};
use super::python;
use super::table::{PracticeDef, SettingRule};
use super::tomlpos;
use super::yaml::{self, Node};
use crate::model::{Evidence, PracticeFinding};

pub(super) fn tests_in_ci(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let evidence = tool_evidence(f, def);
    let mut finding = finish("tests_in_ci", f, def, evidence, Vec::new());
    if let Some(activity) = &f.snap.activity {
        finding.exercised = activity.default_branch_checks.as_ref().map(|checks| {
            let specs = command_specs(def);
            let mut job_ids: Vec<String> = Vec::new();
            for c in
                f.ci.iter()
                    .filter(|c| specs.iter().any(|s| command_matches(s, &c.argv)))
            {
                if let Some((wi, ji)) = c.job
                    && let Some(job) = f.workflows.get(wi).and_then(|w| w.jobs.get(ji))
                {
                    job_ids.push(job.id.to_ascii_lowercase());
                }
            }
            checks.iter().any(|ch| {
                let name = ch.name.to_ascii_lowercase();
                let runs_tests = job_ids.iter().any(|j| name.contains(j.as_str()))
                    || ["test", "pytest", "tox", "nox"]
                        .iter()
                        .any(|k| name.contains(k));
                runs_tests && ch.conclusion.as_deref() == Some("success")
            })
        });
    }
    finding
}

/// Test modules: under a test folder, `test_*.py`, `*_test.py`, `conftest.py`.
pub(super) fn is_test_file(path: &str) -> bool {
    if !path.ends_with(".py") {
        return false;
    }
    let name = file_name(path);
    name.starts_with("test_")
        || name.ends_with("_test.py")
        || name == "conftest.py"
        || name == "tests.py"
        || path
            .split('/')
            .rev()
            .skip(1)
            .any(|c| matches!(c, "tests" | "test" | "testing"))
}

pub(super) fn property_based_tests(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let mut evidence = Vec::new();
    let mut count = 0usize;
    for (path, text) in f.snap.files.iter().filter(|(p, _)| is_test_file(p)) {
        if let Some((line, stmt)) = python::hypothesis_use(text, &def.plugins) {
            count += 1;
            if evidence.len() < 5 {
                evidence.push(ev(path, line, stmt));
            }
        }
    }
    let notes = if count > evidence.len() {
        vec![format!("{count} test modules use Hypothesis")]
    } else {
        Vec::new()
    };
    finish("property_based_tests", f, def, evidence, notes)
}

/// A setting from the table that is set (and, for thresholds, above zero).
pub(super) fn setting_evidence(f: &Facts, rules: &[SettingRule], threshold: bool) -> Vec<Evidence> {
    let mut out = Vec::new();
    for rule in rules {
        // The same file name in a sub-project (a monorepo package) counts, but not in tests.
        let matches = |path: &str| {
            path == rule.file
                || (path.ends_with(&format!("/{}", rule.file))
                    && !path.split('/').any(|c| {
                        matches!(
                            c,
                            "tests"
                                | "test"
                                | "fixtures"
                                | "testdata"
                                | "test_data"
                                | "vendor"
                                | "_vendor"
                        )
                    }))
        };
        if rule.file.ends_with(".toml") {
            for (path, root) in f.tomls.iter().filter(|(p, _)| matches(p)) {
                let keys: Vec<&str> = rule.section.split('.').collect();
                let Some(section) = tomlpos::path(root, &keys) else {
                    continue;
                };
                match &rule.key {
                    None => out.push(ev(
                        path,
                        section_line(section),
                        format!("[{}]", rule.section),
                    )),
                    Some(key) => {
                        let Some(v) = section
                            .get(key)
                            .or_else(|| section.get(&key.replace('_', "-")))
                        else {
                            continue;
                        };
                        let text = v
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.strings().join(" "));
                        if value_counts(&text, &rule.contains_any, threshold) {
                            out.push(ev(path, v.line, format!("{key} = {text}")));
                        }
                    }
                }
            }
        } else {
            for (path, ini) in f.inis.iter().filter(|(p, _)| matches(p)) {
                let Some(section) = ini.section(&rule.section) else {
                    continue;
                };
                match &rule.key {
                    None => out.push(ev(path, section.line, format!("[{}]", rule.section))),
                    Some(key) => {
                        let Some(v) = section.get(key) else { continue };
                        let text = v.joined();
                        if value_counts(&text, &rule.contains_any, threshold) {
                            let line = v.lines.first().map_or(v.key_line, |l| l.0);
                            out.push(ev(
                                path,
                                line,
                                format!("{key} = {}", text.replace('\n', " ")),
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}

fn section_line(n: &Node) -> u32 {
    n.entries()
        .first()
        .map_or(n.line, |(k, _)| k.line.saturating_sub(1).max(1))
}

fn value_counts(text: &str, contains_any: &[String], threshold: bool) -> bool {
    if !contains_any.is_empty() {
        return contains_any.iter().any(|c| {
            text.split_whitespace().any(|w| {
                w.strip_prefix(c.as_str()).is_some_and(|rest| {
                    let v = rest.trim_start_matches('=');
                    v.parse::<f64>()
                        .map_or(!v.is_empty() || rest.is_empty(), |n| n > 0.0)
                })
            })
        });
    }
    if threshold {
        return text
            .trim()
            .trim_end_matches('%')
            .parse::<f64>()
            .is_ok_and(|n| n > 0.0);
    }
    !text.trim().is_empty()
}

fn codecov_evidence(f: &Facts, def: &PracticeDef) -> (Vec<Evidence>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for (path, text) in &f.snap.files {
        let name = file_name(path);
        let at_root = path == name || path == &format!(".github/{name}");
        if !at_root || !def.files.iter().any(|n| n == name) {
            continue;
        }
        let Ok(root) = yaml::parse(text) else {
            notes.push(format!("could not parse {path}"));
            continue;
        };
        let Some(status) = root.get("coverage").and_then(|c| c.get("status")) else {
            continue;
        };
        for kind in ["project", "patch"] {
            let Some(k) = status.get(kind) else { continue };
            for (name, cfg) in k.entries() {
                let informational = cfg.get("informational").and_then(Node::as_str) == Some("true");
                let target = cfg.get("target");
                match target.and_then(Node::as_str) {
                    Some(t) if !informational && t != "0" && t != "0%" => {
                        out.push(ev(
                            path,
                            target.map_or(cfg.line, |n| n.line),
                            format!("codecov {kind}.{} target: {t}", name.as_str().unwrap_or("")),
                        ));
                    }
                    _ if informational => notes.push(format!(
                        "{path}: codecov {kind} status is informational only"
                    )),
                    _ => {}
                }
            }
        }
    }
    (out, notes)
}

pub(super) fn coverage_gate(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let mut evidence: Vec<Evidence> = f
        .ci_matching(&command_specs(def))
        .map(super::common::cmd_ev)
        .collect();
    evidence.extend(setting_evidence(f, &def.settings, true));
    let (cc, notes) = codecov_evidence(f, def);
    evidence.extend(cc);
    evidence.extend(
        f.uses_matching(&super::common::action_specs(def))
            .map(uses_ev),
    );
    finish("coverage_gate", f, def, evidence, notes)
}

pub(super) fn mutation_testing(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let specs = command_specs(def);
    let mut evidence: Vec<Evidence> = f.ci_matching(&specs).map(super::common::cmd_ev).collect();
    evidence.extend(
        f.all_runner_cmds
            .iter()
            .filter(|c| specs.iter().any(|s| command_matches(s, &c.argv)))
            .map(super::common::cmd_ev),
    );
    evidence.extend(setting_evidence(f, &def.settings, false));
    for path in f.snap.files.keys() {
        if def.files.iter().any(|n| n == path) {
            evidence.push(ev(path, 1, format!("{path} configures mutation testing")));
        }
    }
    finish("mutation_testing", f, def, evidence, Vec::new())
}
