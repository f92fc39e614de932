//! ci_cd: matrix_build, ci_cache, least_privilege_token.

use super::common::{action_specs, ev, finish, uses_ev};
use super::facts::Facts;
use super::table::PracticeDef;
use super::yaml::{Node, Value};
use crate::model::{Evidence, PracticeFinding, PracticeStatus};

pub(super) fn matrix_build(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let mut evidence = Vec::new();
    let wanted = |k: &str| {
        let k = k.to_ascii_lowercase();
        def.matrix_keys.contains(&k) || k.contains("python")
    };
    for wf in &f.workflows {
        for job in &wf.jobs {
            let Some(matrix) = &job.matrix else { continue };
            if let Some(expr) = matrix.as_str() {
                // `matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}` is generated elsewhere.
                if expr.contains("${{") {
                    evidence.push(ev(
                        &wf.path,
                        matrix.line,
                        format!("job `{}` matrix from {expr}", job.id),
                    ));
                }
                continue;
            }
            for (k, v) in matrix.entries() {
                let key = k.as_str().unwrap_or("");
                let values = v.strings();
                if wanted(key) {
                    if values.len() >= 2 || v.as_str().is_some_and(|s| s.contains("${{")) {
                        evidence.push(ev(
                            &wf.path,
                            k.line,
                            format!("job `{}` matrix {key}: [{}]", job.id, values.join(", ")),
                        ));
                    }
                    continue;
                }
                // `toxenv: [py312, py313]`: the key is free, the values are Python versions.
                if key != "include" && key != "exclude" && python_versions(&values) >= 2 {
                    evidence.push(ev(
                        &wf.path,
                        k.line,
                        format!("job `{}` matrix {key}: [{}]", job.id, values.join(", ")),
                    ));
                    continue;
                }
                // `include:` and objects such as `conf: [{py: "3.12", os: ubuntu-latest}]`.
                if key == "exclude" {
                    continue;
                }
                let mut seen: Vec<String> = Vec::new();
                for item in v.items() {
                    for (ik, iv) in item.entries() {
                        let Some(s) = iv.as_str() else { continue };
                        let ik = ik.as_str().unwrap_or("");
                        let pythonish =
                            ik.to_ascii_lowercase().starts_with("py") && python_versions(&[s]) == 1;
                        if (wanted(ik) || pythonish) && !seen.iter().any(|x| x == s) {
                            seen.push(s.to_string());
                        }
                    }
                }
                if seen.len() >= 2 {
                    evidence.push(ev(
                        &wf.path,
                        k.line,
                        format!("job `{}` matrix {key}: [{}]", job.id, seen.join(", ")),
                    ));
                }
            }
        }
    }
    finish("matrix_build", f, def, evidence, Vec::new())
}

/// How many values look like Python versions: `3.12`, `py313`, `pypy3.10`, `cp312`.
fn python_versions(values: &[&str]) -> usize {
    values
        .iter()
        .filter(|v| {
            let v = v.to_ascii_lowercase();
            let rest = ["pypy-", "pypy", "py", "cp", "python"]
                .iter()
                .find_map(|p| v.strip_prefix(p))
                .unwrap_or(&v);
            let rest = rest.trim_start_matches('-');
            let digits: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            (digits.starts_with("3.") && digits.len() >= 3
                || digits.starts_with('3') && digits.len() >= 2)
                && digits.chars().filter(|c| *c == '.').count() <= 2
        })
        .count()
}

pub(super) fn ci_cache(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let evidence: Vec<Evidence> = f.uses_matching(&action_specs(def)).map(uses_ev).collect();
    finish("ci_cache", f, def, evidence, Vec::new())
}

/// Whether a `permissions:` value grants no write scope.
pub(super) fn read_only(p: &Node) -> bool {
    match &p.value {
        Value::Scalar { text, .. } => text == "read-all" || text == "{}",
        Value::Map(entries) => entries
            .iter()
            .all(|(_, v)| matches!(v.as_str(), Some("read") | Some("none"))),
        Value::Seq(_) => false,
    }
}

pub(super) fn least_privilege_token(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let mut evidence = Vec::new();
    let mut notes = Vec::new();
    let mut all_ok = true;
    for wf in f.workflows.iter().filter(|w| w.event_triggered()) {
        match &wf.permissions {
            Some(p) if read_only(p) => {
                let shown = p.as_str().map(str::to_string).unwrap_or_else(|| {
                    let pairs: Vec<String> = p
                        .entries()
                        .iter()
                        .filter_map(|(k, v)| Some(format!("{}: {}", k.as_str()?, v.as_str()?)))
                        .collect();
                    if pairs.is_empty() {
                        "{}".to_string()
                    } else {
                        pairs.join(", ")
                    }
                });
                evidence.push(ev(
                    &wf.path,
                    wf.permissions_line.unwrap_or(p.line),
                    format!("permissions: {shown}"),
                ));
            }
            Some(_) => {
                all_ok = false;
                notes.push(format!(
                    "{}: top-level permissions grant write access",
                    wf.path
                ));
            }
            None => {
                all_ok = false;
                notes.push(format!(
                    "{}: no top-level permissions (the token gets the repository default)",
                    wf.path
                ));
            }
        }
    }
    if !all_ok || evidence.is_empty() {
        let failures = f.failures_of(&def.inputs);
        let mut finding = finish("least_privilege_token", f, def, Vec::new(), notes);
        // A workflow that lacks read-only permissions decides the practice even when another
        // file could not be parsed.
        if !all_ok && !failures.is_empty() {
            finding.status = PracticeStatus::Absent;
            finding.present = Some(false);
        }
        let ok: Vec<String> = evidence.iter().filter_map(|e| e.path.clone()).collect();
        if !ok.is_empty() {
            finding
                .notes
                .push(format!("read-only already: {}", ok.join(", ")));
        }
        return finding;
    }
    finish("least_privilege_token", f, def, evidence, notes)
}
