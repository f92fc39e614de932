//! Evidence helpers shared by the detector families.

use super::facts::{Cmd, Facts, Hook, Uses, command_matches, file_name};
use super::table::{ActionSpec, CommandSpec, PracticeDef};
use super::yaml::Node;
use crate::model::{Evidence, PracticeFinding, PracticeStatus};

#[cfg(test)]
thread_local! {
    static WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts one unit of work in loops whose length depends on the repository, so that tests
/// can bound the analysis by operations rather than by wall time.
#[inline]
pub(super) fn tick() {
    #[cfg(test)]
    WORK.with(|w| w.set(w.get() + 1));
}

/// The units counted by [`tick`] on this thread so far.
#[cfg(test)]
pub fn work_done() -> u64 {
    WORK.with(std::cell::Cell::get)
}

/// The most evidence items kept per practice; the rest are counted in a note.
pub(super) const MAX_EVIDENCE: usize = 12;

pub(super) fn ev(path: &str, line: u32, detail: impl Into<String>) -> Evidence {
    Evidence {
        url: None,
        path: Some(path.to_string()),
        line: Some(line),
        detail: detail.into(),
    }
}

pub(super) fn cmd_ev(c: &Cmd) -> Evidence {
    let detail = match &c.via {
        Some(via) => format!("{} ({via})", c.text),
        None => c.text.clone(),
    };
    ev(&c.path, c.line, detail)
}

pub(super) fn uses_ev(u: &Uses) -> Evidence {
    let mut detail = format!("uses: {}", u.raw);
    if let Some(with) = &u.with {
        let inputs: Vec<String> = with
            .entries()
            .iter()
            .filter_map(|(k, v)| Some(format!("{}: {}", k.as_str()?, v.as_str()?)))
            .filter(|s| s.len() < 80)
            .collect();
        if !inputs.is_empty() {
            detail.push_str(&format!(" (with {})", inputs.join(", ")));
        }
    }
    ev(&u.path, u.line, detail)
}

pub(super) fn hook_ev(path: &str, h: &Hook) -> Evidence {
    let repo = if h.repo.is_empty() {
        "local".to_string()
    } else {
        h.repo.clone()
    };
    ev(path, h.line, format!("pre-commit hook `{}` ({repo})", h.id))
}

pub(super) fn command_specs(def: &PracticeDef) -> Vec<CommandSpec> {
    def.commands.iter().map(|c| c.spec()).collect()
}

pub(super) fn action_specs(def: &PracticeDef) -> Vec<ActionSpec> {
    def.actions.iter().map(|a| a.spec()).collect()
}

/// The names a Python project runs itself by: its distribution name, its console scripts and
/// the packages they live in (`python -m mylinter` is normalised to `mylinter`), with `-`
/// and `_` alike. Read from `[project]` of pyproject.toml.
fn own_names(project: &Node) -> Vec<String> {
    let norm = |s: &str| s.trim().to_ascii_lowercase().replace('_', "-");
    let mut names: Vec<String> = project
        .get("name")
        .and_then(Node::as_str)
        .map(norm)
        .into_iter()
        .collect();
    for (k, v) in project
        .get("scripts")
        .map(Node::entries)
        .unwrap_or_default()
    {
        names.extend(k.as_str().map(norm));
        // `mylinter.cli:main`: the top package.
        if let Some(target) = v.as_str()
            && let Some(package) = target.split([':', '.']).next()
        {
            names.push(norm(package));
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

/// Whether the project's own description, keywords or classifiers use one of `words` (whole
/// words or phrases, any case).
fn describes_itself(project: &Node, words: &[String]) -> bool {
    let mut text: Vec<&str> = project
        .get("description")
        .map(Node::strings)
        .unwrap_or_default();
    for key in ["keywords", "classifiers"] {
        text.extend(project.get(key).map(Node::strings).unwrap_or_default());
    }
    let tokens = |s: &str| -> Vec<String> {
        s.to_ascii_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    text.iter().any(|t| {
        let have = tokens(t);
        words.iter().any(|w| {
            let want = tokens(w);
            !want.is_empty() && have.windows(want.len()).any(|win| win == want.as_slice())
        })
    })
}

/// A tool's run on its own code: a command CI reaches (directly or through a task runner)
/// that runs the project itself on some path, when the project's metadata says it is the kind
/// of tool `def` names in `self_run_words`. A linter linting itself is a linter in CI, whether
/// or not the table lists it.
pub(super) fn self_run_evidence(f: &Facts, def: &PracticeDef) -> Vec<Evidence> {
    if def.self_run_words.is_empty() {
        return Vec::new();
    }
    let Some(project) = f.pyproject().and_then(|p| p.get("project")) else {
        return Vec::new();
    };
    if !describes_itself(project, &def.self_run_words) {
        return Vec::new();
    }
    let names = own_names(project);
    f.ci.iter()
        .filter(|c| {
            c.argv
                .first()
                .is_some_and(|t| names.contains(&t.replace('_', "-")))
                // `mylinter --version` is a smoke test, not a run on the code.
                && !super::shell::positionals(&c.argv).is_empty()
        })
        .map(cmd_ev)
        .collect()
}

/// Commands CI runs, actions CI uses and pre-commit hooks that the table names for `def`.
pub(super) fn tool_evidence(f: &Facts, def: &PracticeDef) -> Vec<Evidence> {
    let cmds = command_specs(def);
    let acts = action_specs(def);
    let mut out: Vec<Evidence> = f.ci_matching(&cmds).map(cmd_ev).collect();
    out.extend(f.uses_matching(&acts).map(uses_ev));
    out.extend(hook_evidence(f, def));
    out.extend(plugin_evidence(f, def));
    out.extend(self_run_evidence(f, def));
    out
}

pub(super) fn hook_evidence(f: &Facts, def: &PracticeDef) -> Vec<Evidence> {
    let Some((path, _)) = &f.precommit else {
        return Vec::new();
    };
    let cmds = command_specs(def);
    let mut out = Vec::new();
    for h in &f.hooks {
        if def.hooks.iter().any(|id| id.eq_ignore_ascii_case(&h.id)) {
            out.push(hook_ev(path, h));
            continue;
        }
        // A hook's entry, or what it reaches: `entry: make` with `args: [lint]`.
        let hit = h
            .runs
            .iter()
            .position(|c| cmds.iter().any(|r| command_matches(r, &c.argv)));
        match hit {
            Some(0) => out.push(hook_ev(path, h)),
            Some(i) => out.push(cmd_ev(&h.runs[i])),
            None => {}
        }
    }
    out
}

/// Plugins of a host tool (flake8-isort for flake8) count when the host runs and the plugin
/// is declared as a dependency somewhere.
pub(super) fn plugin_evidence(f: &Facts, def: &PracticeDef) -> Vec<Evidence> {
    let Some(host) = &def.plugin_host else {
        return Vec::new();
    };
    let host_rule = CommandSpec {
        cmd: host.clone(),
        flags_any: Vec::new(),
        not_next: Vec::new(),
    };
    let host_runs = f
        .ci_matching(std::slice::from_ref(&host_rule))
        .next()
        .is_some()
        || f.hooks.iter().any(|h| h.id.eq_ignore_ascii_case(host));
    if !host_runs {
        return Vec::new();
    }
    def.plugins
        .iter()
        .filter_map(|p| requirement_evidence(f, p))
        .collect()
}

fn requirement_name(spec: &str) -> String {
    spec.trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect::<String>()
        .to_ascii_lowercase()
        .replace('_', "-")
}

/// Where `name` is declared as a requirement: pre-commit `additional_dependencies`, any string
/// in a TOML file's arrays or tables, INI values, requirements files.
pub(super) fn requirement_evidence(f: &Facts, name: &str) -> Option<Evidence> {
    let want = name.to_ascii_lowercase().replace('_', "-");
    if let Some((path, _)) = &f.precommit {
        for h in &f.hooks {
            if h.additional_dependencies
                .iter()
                .any(|d| requirement_name(d) == want)
            {
                return Some(ev(
                    path,
                    h.line,
                    format!("pre-commit hook `{}` with {name}", h.id),
                ));
            }
        }
    }
    for (path, root) in &f.tomls {
        let mut hit = None;
        walk_nodes(root, &mut |n: &Node| {
            if hit.is_none()
                && let Some(s) = n.as_str()
                && requirement_name(s) == want
            {
                hit = Some(n.line);
            }
        });
        if let Some(line) = hit {
            return Some(ev(path, line, format!("{name} declared as a dependency")));
        }
    }
    for (path, text) in &f.snap.files {
        let n = file_name(path);
        let is_req =
            n.ends_with(".txt") && (n.contains("requirements") || path.contains("requirements/"));
        if is_req || n == "tox.ini" || n == "setup.cfg" {
            for (i, line) in text.lines().enumerate() {
                let l = line
                    .trim()
                    .trim_start_matches("deps")
                    .trim_start_matches(['=', ' ']);
                if !l.starts_with('#') && requirement_name(l) == want {
                    return Some(ev(path, i as u32 + 1, line.trim().to_string()));
                }
            }
        }
    }
    None
}

pub(super) fn walk_nodes(node: &Node, visit: &mut dyn FnMut(&Node)) {
    visit(node);
    for item in node.items() {
        walk_nodes(item, visit);
    }
    for (_, v) in node.entries() {
        walk_nodes(v, visit);
    }
}

/// Builds the finding: present with evidence; else `could_not_parse` when a file of one of the
/// practice's inputs could not be read; else absent.
pub(super) fn finish(
    id: &str,
    f: &Facts,
    def: &PracticeDef,
    evidence: Vec<Evidence>,
    mut notes: Vec<String>,
) -> PracticeFinding {
    // A set, not a scan of what is kept: a workflow of thousands of steps gives thousands of
    // evidence items, and comparing each with every other is quadratic.
    let mut seen: std::collections::HashSet<(Option<String>, Option<u32>)> =
        std::collections::HashSet::with_capacity(evidence.len());
    let mut unique: Vec<Evidence> = Vec::with_capacity(evidence.len());
    for e in evidence {
        tick();
        if seen.insert((e.path.clone(), e.line)) {
            unique.push(e);
        }
    }
    let failures = f.failures_of(&def.inputs);
    for fl in &failures {
        notes.push(format!("could not parse {}: {}", fl.path, fl.message));
    }
    let status = if !unique.is_empty() {
        PracticeStatus::Present
    } else if !failures.is_empty() {
        PracticeStatus::CouldNotParse
    } else {
        PracticeStatus::Absent
    };
    if unique.len() > MAX_EVIDENCE {
        notes.push(format!(
            "{} more places not listed",
            unique.len() - MAX_EVIDENCE
        ));
        unique.truncate(MAX_EVIDENCE);
    }
    let mut finding = PracticeFinding::new(id, status);
    finding.evidence = unique;
    finding.notes = notes;
    finding
}
