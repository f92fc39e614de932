//! static_checks: lint, format_check, type_check, pre_commit, sast.

use super::common::{self, command_specs, ev, finish, tool_evidence};
use super::facts::{Cmd, Facts, command_matches};
use super::table::{CommandSpec, PracticeDef};
use super::tomlpos;
use super::yaml::Node;
use crate::model::PracticeFinding;

pub(super) fn lint(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    finish("lint", f, def, tool_evidence(f, def), Vec::new())
}

pub(super) fn type_check(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    finish("type_check", f, def, tool_evidence(f, def), Vec::new())
}

pub(super) fn format_check(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let mut evidence = tool_evidence(f, def);
    // A formatter that rewrites files, followed in the same job by `git diff --exit-code`.
    let fixers: Vec<CommandSpec> = def.fix_commands.iter().map(|c| c.spec()).collect();
    // The diff guards of each job, by order, so that each formatter finds the first guard
    // after it by binary search instead of scanning every command of CI.
    let mut guards: std::collections::HashMap<Option<(usize, usize)>, Vec<&Cmd>> =
        std::collections::HashMap::new();
    for g in &f.ci {
        common::tick();
        if g.argv.first().map(String::as_str) == Some("git")
            && g.argv.get(1).map(String::as_str) == Some("diff")
            && g.argv.iter().any(|a| a == "--exit-code" || a == "--quiet")
        {
            guards.entry(g.job).or_default().push(g);
        }
    }
    for list in guards.values_mut() {
        list.sort_by_key(|g| g.order);
    }
    for fix in
        f.ci.iter()
            .filter(|c| fixers.iter().any(|r| command_matches(r, &c.argv)))
    {
        common::tick();
        let guard = guards.get(&fix.job).and_then(|list| {
            let i = list.partition_point(|g| g.order <= fix.order);
            list.get(i)
        });
        if let Some(g) = guard {
            evidence.push(common::cmd_ev(fix));
            evidence.push(common::cmd_ev(g));
        }
    }
    finish("format_check", f, def, evidence, Vec::new())
}

pub(super) fn pre_commit(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let evidence = match &f.precommit {
        Some((path, line)) => vec![ev(
            path,
            *line,
            format!("{path} with {} hooks", f.hooks.len()),
        )],
        None => Vec::new(),
    };
    finish("pre_commit", f, def, evidence, Vec::new())
}

/// Ruff rule selectors from `select` / `extend-select` in pyproject or ruff.toml.
fn ruff_selects(f: &Facts) -> Vec<(String, u32, String)> {
    let mut out = Vec::new();
    let mut scan = |path: &str, table: Option<&Node>| {
        let Some(t) = table else { return };
        for key in ["select", "extend-select"] {
            for n in t.get(key).map(Node::items).unwrap_or_default() {
                if let Some(s) = n.as_str() {
                    out.push((path.to_string(), n.line, s.to_string()));
                }
            }
        }
    };
    if let Some(root) = f.pyproject() {
        scan("pyproject.toml", tomlpos::path(root, &["tool", "ruff"]));
        scan(
            "pyproject.toml",
            tomlpos::path(root, &["tool", "ruff", "lint"]),
        );
    }
    for name in ["ruff.toml", ".ruff.toml"] {
        if let Some(root) = f.tomls.get(name) {
            scan(name, Some(root));
            scan(name, root.get("lint"));
        }
    }
    out
}

fn ruff_runs(f: &Facts, lint_def: Option<&PracticeDef>) -> bool {
    let Some(def) = lint_def else { return false };
    let ruff_rules: Vec<CommandSpec> = command_specs(def)
        .into_iter()
        .filter(|c| c.cmd.starts_with("ruff"))
        .collect();
    f.ci_matching(&ruff_rules).next().is_some()
        || f.hooks.iter().any(|h| {
            h.id == "ruff"
                || h.id == "ruff-check"
                || h.runs
                    .iter()
                    .any(|c| ruff_rules.iter().any(|r| command_matches(r, &c.argv)))
        })
        || f.uses.iter().any(|u| u.target.ends_with("/ruff-action"))
}

pub(super) fn sast(
    f: &Facts,
    def: &PracticeDef,
    lint_def: Option<&PracticeDef>,
) -> PracticeFinding {
    let mut evidence = tool_evidence(f, def);
    let mut notes = Vec::new();
    let selected: Vec<_> = ruff_selects(f)
        .into_iter()
        .filter(|(_, _, rule)| {
            def.ruff_rules.iter().any(|r| {
                rule == r
                    || (r.len() == 1
                        && rule.starts_with(r.as_str())
                        && rule[r.len()..].chars().all(|c| c.is_ascii_digit()))
            })
        })
        .collect();
    if !selected.is_empty() {
        if ruff_runs(f, lint_def) {
            for (path, line, rule) in selected {
                evidence.push(ev(
                    &path,
                    line,
                    format!("ruff rules `{rule}` selected (flake8-bandit checks)"),
                ));
            }
        } else {
            notes.push("ruff security rules are selected but nothing runs ruff".into());
        }
    }
    finish("sast", f, def, evidence, notes)
}
