//! Task runners that CI calls: tox, nox, hatch, make, just, poe, pdm scripts and shell scripts.
//! Each one is read into named tasks of commands, so that a CI step `tox -e lint` can be
//! followed to the commands it runs. A tool that runs only in a task CI never calls does not
//! run in CI.

use std::collections::BTreeMap;

use super::ini::{self, Ini};
use super::python;
use super::shell;
use super::tomlpos;
use super::yaml::Node;

/// One command line in a file, before normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCmd {
    pub path: String,
    pub line: u32,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct Tasks {
    /// Task name → its commands.
    pub tasks: BTreeMap<String, Vec<RawCmd>>,
    /// Task name → other tasks it runs first (make prerequisites, just dependencies).
    pub deps: BTreeMap<String, Vec<String>>,
    /// What runs when the runner is called without a task name.
    pub default: Vec<String>,
    /// Tags (nox) → task names.
    pub tags: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Default)]
pub struct Runners {
    pub tox: Option<Tasks>,
    pub tox_base: Vec<RawCmd>,
    pub nox: Option<Tasks>,
    /// `env:script` (default env as `default:script`).
    pub hatch: Tasks,
    pub make: BTreeMap<String, Tasks>,
    pub just: Option<Tasks>,
    pub poe: Tasks,
    pub pdm: Tasks,
    /// invoke tasks from `tasks.py` (names with `_` as `-`, as invoke shows them).
    pub invoke: Tasks,
    /// Parse failures: (path, message).
    pub failures: Vec<(String, String)>,
}

fn raw(path: &str, line: u32, text: &str) -> RawCmd {
    RawCmd {
        path: path.to_string(),
        line,
        text: text.trim().to_string(),
    }
}

/// Expands `py{39,310}-lint` into each combination.
pub fn brace_expand(s: &str) -> Vec<String> {
    let Some(open) = s.find('{') else {
        return vec![s.to_string()];
    };
    let Some(close_rel) = s[open..].find('}') else {
        return vec![s.to_string()];
    };
    let close = open + close_rel;
    let (head, alts, tail) = (&s[..open], &s[open + 1..close], &s[close + 1..]);
    let mut out = Vec::new();
    for alt in alts.split(',') {
        for rest in brace_expand(tail) {
            out.push(format!("{head}{}{rest}", alt.trim()));
            if out.len() > 512 {
                return out;
            }
        }
    }
    out
}

/// Splits an env list on commas, spaces and newlines outside braces.
fn split_list(s: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '{' => {
                depth += 1;
                cur.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            ',' | '\n' | ' ' if depth == 0 => items.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    items.push(cur);
    items
        .iter()
        .map(|x| x.trim())
        .filter(|x| !x.is_empty())
        .flat_map(brace_expand)
        .collect()
}

/// tox's factor conditions: `lint: ruff check` applies to envs whose name has factor `lint`.
fn factor_applies(cond: &str, env: &str) -> bool {
    let factors: Vec<&str> = env.split('-').collect();
    cond.split(',').any(|alt| {
        brace_expand(alt.trim()).iter().any(|alt| {
            alt.split('-').all(|f| match f.strip_prefix('!') {
                Some(neg) => !factors.contains(&neg),
                None => factors.contains(&f),
            })
        })
    })
}

fn tox_lines(path: &str, value: &ini::IniValue, env: &str) -> Vec<RawCmd> {
    let mut out = Vec::new();
    for (line, text) in &value.lines {
        let text = text.trim();
        // `- cmd` ignores the exit code in tox; it still runs.
        let text = text.strip_prefix("- ").unwrap_or(text);
        let text = match text.split_once(": ") {
            Some((cond, rest)) if !cond.contains(' ') && !cond.is_empty() => {
                if !factor_applies(cond, env) {
                    continue;
                }
                rest
            }
            _ => text,
        };
        out.push(raw(path, *line, text));
    }
    out
}

fn read_tox_ini(path: &str, ini: &Ini, prefix: &str, tasks: &mut Tasks, base: &mut Vec<RawCmd>) {
    let head = if prefix.is_empty() {
        "tox".to_string()
    } else {
        format!("{prefix}tox")
    };
    if let Some(s) = ini.section(&head) {
        if let Some(v) = s.get("env_list").or_else(|| s.get("envlist")) {
            tasks.default = split_list(&v.joined());
        }
        if let Some(labels) = s.get("labels") {
            for (_, l) in &labels.lines {
                if let Some((name, envs)) = l.split_once('=') {
                    tasks.tags.insert(name.trim().to_string(), split_list(envs));
                }
            }
        }
    }
    let base_section = format!("{prefix}testenv");
    let base_value = ini
        .section(&base_section)
        .and_then(|s| s.get("commands"))
        .cloned();
    if let Some(v) = &base_value {
        *base = tox_lines(path, v, "");
    }
    let mut names: Vec<String> = tasks.default.clone();
    for s in &ini.sections {
        if let Some(name) = s.name.strip_prefix(&format!("{base_section}:")) {
            names.extend(brace_expand(name.trim()));
        }
    }
    names.sort();
    names.dedup();
    for env in names {
        let own = ini
            .sections
            .iter()
            .filter(|s| {
                s.name
                    .strip_prefix(&format!("{base_section}:"))
                    .is_some_and(|n| brace_expand(n.trim()).contains(&env))
            })
            .find_map(|s| s.get("commands"));
        let cmds = match own.or(base_value.as_ref()) {
            Some(v) => tox_lines(path, v, &env),
            None => Vec::new(),
        };
        tasks.tasks.insert(env, cmds);
    }
}

/// tox 4 native TOML: `[env.NAME] commands = [["pytest", "{posargs}"]]`.
fn read_tox_toml(path: &str, root: &Node, tasks: &mut Tasks, base: &mut Vec<RawCmd>) {
    let cmds_of = |n: &Node| -> Vec<RawCmd> {
        n.get("commands")
            .map(|c| {
                c.items()
                    .iter()
                    .map(|cmd| {
                        let words: Vec<String> = cmd
                            .items()
                            .iter()
                            .filter_map(|w| w.as_str().map(str::to_string))
                            .collect();
                        raw(path, cmd.line, &words.join(" "))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    if let Some(list) = root.get("env_list") {
        tasks.default = list.strings().into_iter().map(str::to_string).collect();
    }
    if let Some(envbase) = root.get("env_run_base") {
        *base = cmds_of(envbase);
    }
    if let Some(envs) = root.get("env") {
        for (k, v) in envs.entries() {
            let own = cmds_of(v);
            let cmds = if v.get("commands").is_some() {
                own
            } else {
                base.clone()
            };
            tasks
                .tasks
                .insert(k.as_str().unwrap_or("").to_string(), cmds);
        }
    }
    for name in tasks.default.clone() {
        tasks.tasks.entry(name).or_insert_with(|| base.clone());
    }
}

fn read_make(path: &str, text: &str) -> Tasks {
    let mut tasks = Tasks::default();
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<String> = None;
    // A recipe line ending in `\` continues on the next one: `. venv/bin/activate && \`.
    let mut continued: Option<(u32, String)> = None;
    for (idx, line) in text.lines().enumerate() {
        let line_no = idx as u32 + 1;
        if let Some((start, mut joined)) = continued.take() {
            let part = line.trim();
            match part.strip_suffix('\\') {
                Some(more) => {
                    joined.push_str(more.trim_end());
                    joined.push(' ');
                    continued = Some((start, joined));
                }
                None => {
                    joined.push_str(part);
                    push_recipe(&mut tasks, current.as_ref(), path, start, &joined, &vars);
                }
            }
            continue;
        }
        if let Some(recipe) = line.strip_prefix('\t') {
            let cmd = recipe.trim().trim_start_matches(['@', '-', '+']);
            match cmd.strip_suffix('\\') {
                Some(head) => continued = Some((line_no, format!("{} ", head.trim_end()))),
                None => push_recipe(&mut tasks, current.as_ref(), path, line_no, cmd, &vars),
            }
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some((name, value)) = assignment(trimmed) {
            vars.insert(name, value);
            current = None;
            continue;
        }
        if let Some((targets, prereqs)) = trimmed.split_once(':')
            && !prereqs.starts_with('=')
        {
            let prereqs: Vec<String> = prereqs
                .split(';')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .filter(|p| !p.starts_with('|'))
                .map(str::to_string)
                .collect();
            let names: Vec<String> = targets.split_whitespace().map(str::to_string).collect();
            for name in &names {
                if tasks.default.is_empty() && !name.starts_with('.') && !name.contains('%') {
                    tasks.default.push(name.clone());
                }
                tasks
                    .deps
                    .entry(name.clone())
                    .or_default()
                    .extend(prereqs.clone());
                tasks.tasks.entry(name.clone()).or_default();
            }
            current = names.into_iter().next();
            continue;
        }
        current = None;
    }
    tasks
}

fn push_recipe(
    tasks: &mut Tasks,
    target: Option<&String>,
    path: &str,
    line: u32,
    cmd: &str,
    vars: &BTreeMap<String, String>,
) {
    let Some(t) = target else { return };
    let cmd = substitute(cmd.trim(), vars);
    if !cmd.is_empty() && !cmd.starts_with('#') {
        tasks
            .tasks
            .entry(t.clone())
            .or_default()
            .push(raw(path, line, &cmd));
    }
}

fn assignment(line: &str) -> Option<(String, String)> {
    for op in [":=", "?=", "+=", "::=", "="] {
        if let Some((name, value)) = line.split_once(op) {
            let name = name.trim().trim_start_matches("export ").trim();
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Some((name.to_string(), value.trim().to_string()));
            }
            return None;
        }
    }
    None
}

fn substitute(cmd: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = cmd.to_string();
    // A few rounds resolve variables defined through other variables.
    for _ in 0..3 {
        for (k, v) in vars {
            out = out
                .replace(&format!("$({k})"), v)
                .replace(&format!("${{{k}}}"), v);
        }
    }
    out.replace("$(MAKE)", "make").replace("${MAKE}", "make")
}

fn read_just(path: &str, text: &str) -> Tasks {
    let mut tasks = Tasks::default();
    let mut current: Option<String> = None;
    for (idx, line) in text.lines().enumerate() {
        let line_no = idx as u32 + 1;
        if line.starts_with([' ', '\t']) {
            if let Some(t) = &current {
                let cmd = line.trim().trim_start_matches(['@', '-']);
                if !cmd.is_empty() && !cmd.starts_with('#') {
                    tasks
                        .tasks
                        .entry(t.clone())
                        .or_default()
                        .push(raw(path, line_no, cmd));
                }
            }
            continue;
        }
        let trimmed = line.trim();
        current = None;
        if trimmed.is_empty()
            || trimmed.starts_with('#')
            || trimmed.starts_with('[')
            || trimmed.starts_with("set ")
        {
            continue;
        }
        if trimmed.contains(":=") {
            continue;
        }
        if let Some((head, deps)) = trimmed.split_once(':') {
            let name = head
                .trim_start_matches('@')
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            if name.is_empty() || name == "alias" {
                continue;
            }
            if tasks.default.is_empty() {
                tasks.default.push(name.clone());
            }
            tasks.deps.insert(
                name.clone(),
                deps.split_whitespace().map(str::to_string).collect(),
            );
            tasks.tasks.entry(name.clone()).or_default();
            current = Some(name);
        }
    }
    tasks
}

/// Scripts as pyproject writes them: a string, a list of strings, or a table with `cmd`,
/// `shell`, `sequence` or `composite`.
fn script_cmds(path: &str, node: &Node) -> Vec<RawCmd> {
    if let Some(s) = node.as_str() {
        return shell::commands(s)
            .into_iter()
            .map(|(i, c)| raw(path, node.line + i as u32, &c))
            .collect();
    }
    if !node.items().is_empty() {
        return node
            .items()
            .iter()
            .flat_map(|n| script_cmds(path, n))
            .collect();
    }
    for key in ["cmd", "shell", "sequence", "composite", "script"] {
        if let Some(v) = node.get(key) {
            return script_cmds(path, v);
        }
    }
    Vec::new()
}

/// The string literal of a `c.run("...")` call on one line, if any.
fn run_literal(line: &str) -> Option<&str> {
    let at = line.find(".run(")? + ".run(".len();
    let rest = line[at..].trim_start();
    let rest = rest.strip_prefix(['f', 'r']).unwrap_or(rest);
    let quote = rest.chars().next().filter(|q| matches!(q, '"' | '\''))?;
    let body = &rest[1..];
    body.find(quote).map(|end| &body[..end])
}

/// invoke's `tasks.py`: each `@task` function, with the command strings its `c.run(...)`
/// calls pass. Python is not run: only literal strings count.
fn read_invoke(path: &str, text: &str) -> Tasks {
    let mut tasks = Tasks::default();
    let mut decorated = false;
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let top_level = !line.starts_with([' ', '\t']);
        if top_level && trimmed.starts_with("@task") {
            decorated = true;
            continue;
        }
        if top_level && let Some(rest) = trimmed.strip_prefix("def ") {
            current = decorated.then(|| {
                rest.split('(')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .replace('_', "-")
            });
            decorated = false;
            continue;
        }
        if top_level
            && !trimmed.is_empty()
            && !trimmed.starts_with('#')
            && !trimmed.starts_with('@')
        {
            current = None;
            decorated = false;
            continue;
        }
        if let (Some(name), Some(cmd)) = (&current, run_literal(line)) {
            tasks.tasks.entry(name.clone()).or_default().push(raw(
                path,
                u32::try_from(i + 1).unwrap_or(u32::MAX),
                cmd,
            ));
        }
    }
    tasks
}

impl Runners {
    pub fn load(files: &BTreeMap<String, String>) -> Runners {
        let mut r = Runners::default();
        let mut tox = Tasks::default();
        let mut tox_found = false;
        for name in ["tox.ini", "setup.cfg"] {
            let Some(text) = files.get(name) else {
                continue;
            };
            match ini::parse(text) {
                Ok(parsed) => {
                    let prefix = if name == "setup.cfg" { "tox:" } else { "" };
                    let head = if prefix.is_empty() { "tox" } else { "tox:tox" };
                    if parsed.section(head).is_some()
                        || parsed
                            .sections
                            .iter()
                            .any(|s| s.name.starts_with(&format!("{prefix}testenv")))
                    {
                        read_tox_ini(name, &parsed, prefix, &mut tox, &mut r.tox_base);
                        tox_found = true;
                    }
                }
                Err(e) => r.failures.push((name.to_string(), e.to_string())),
            }
        }
        if let Some(text) = files.get("tox.toml") {
            match tomlpos::parse(text) {
                Ok(root) => {
                    read_tox_toml("tox.toml", &root, &mut tox, &mut r.tox_base);
                    tox_found = true;
                }
                Err(e) => r.failures.push(("tox.toml".into(), e.to_string())),
            }
        }
        if let Some(text) = files.get("pyproject.toml")
            && let Ok(root) = tomlpos::parse(text)
        {
            if let Some(t) = tomlpos::path(&root, &["tool", "tox"]) {
                if let Some(legacy) = t.get("legacy_tox_ini").and_then(Node::as_str) {
                    if let Ok(parsed) = ini::parse(legacy) {
                        read_tox_ini("pyproject.toml", &parsed, "", &mut tox, &mut r.tox_base);
                        // Lines inside the string are relative to it; shift them to the file.
                        let offset = t.get("legacy_tox_ini").map(|n| n.line).unwrap_or(1);
                        for cmds in tox.tasks.values_mut() {
                            for c in cmds.iter_mut().filter(|c| c.path == "pyproject.toml") {
                                c.line += offset;
                            }
                        }
                        tox_found = true;
                    }
                } else {
                    read_tox_toml("pyproject.toml", t, &mut tox, &mut r.tox_base);
                    tox_found = true;
                }
            }
            for (file_key, keys) in [
                ("hatch", &["tool", "hatch", "envs"][..]),
                ("poe", &["tool", "poe", "tasks"][..]),
                ("pdm", &["tool", "pdm", "scripts"][..]),
            ] {
                let Some(node) = tomlpos::path(&root, keys) else {
                    continue;
                };
                for (k, v) in node.entries() {
                    let name = k.as_str().unwrap_or("").to_string();
                    match file_key {
                        "hatch" => {
                            if let Some(scripts) = v.get("scripts") {
                                for (sk, sv) in scripts.entries() {
                                    let key = format!("{name}:{}", sk.as_str().unwrap_or(""));
                                    r.hatch.tasks.insert(key, script_cmds("pyproject.toml", sv));
                                }
                            }
                        }
                        "poe" => {
                            r.poe.tasks.insert(name, script_cmds("pyproject.toml", v));
                        }
                        _ => {
                            r.pdm.tasks.insert(name, script_cmds("pyproject.toml", v));
                        }
                    }
                }
            }
        }
        if let Some(text) = files.get("hatch.toml")
            && let Ok(root) = tomlpos::parse(text)
            && let Some(envs) = root.get("envs")
        {
            for (k, v) in envs.entries() {
                if let Some(scripts) = v.get("scripts") {
                    for (sk, sv) in scripts.entries() {
                        let key =
                            format!("{}:{}", k.as_str().unwrap_or(""), sk.as_str().unwrap_or(""));
                        r.hatch.tasks.insert(key, script_cmds("hatch.toml", sv));
                    }
                }
            }
        }
        if tox_found {
            r.tox = Some(tox);
        }
        if let Some(text) = files.get("noxfile.py") {
            match python::parse_noxfile(text) {
                Ok(nox) => {
                    let mut tasks = Tasks::default();
                    for s in &nox.sessions {
                        let cmds = s
                            .commands
                            .iter()
                            .map(|(line, words)| raw("noxfile.py", *line, &words.join(" ")))
                            .collect();
                        tasks.tasks.insert(s.name.clone(), cmds);
                        tasks.deps.insert(s.name.clone(), s.notifies.clone());
                        for t in &s.tags {
                            tasks
                                .tags
                                .entry(t.clone())
                                .or_default()
                                .push(s.name.clone());
                        }
                    }
                    tasks.default = nox
                        .default_sessions
                        .unwrap_or_else(|| nox.sessions.iter().map(|s| s.name.clone()).collect());
                    r.nox = Some(tasks);
                }
                Err(e) => r.failures.push(("noxfile.py".into(), e)),
            }
        }
        for (path, text) in files {
            let name = path.rsplit('/').next().unwrap_or(path);
            let dir = path.strip_suffix(name).unwrap_or("").trim_end_matches('/');
            if matches!(name, "Makefile" | "makefile" | "GNUmakefile") {
                r.make.insert(dir.to_string(), read_make(path, text));
            }
        }
        for name in ["justfile", "Justfile", ".justfile"] {
            if let Some(text) = files.get(name) {
                r.just = Some(read_just(name, text));
            }
        }
        if let Some(text) = files.get("tasks.py") {
            r.invoke = read_invoke("tasks.py", text);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tox_envs_with_factors_and_inheritance() {
        let f = files(&[(
            "tox.ini",
            "[tox]\nenvlist = py{312,313}, lint\n\n[testenv]\ncommands =\n    pytest {posargs}\n    py313: coverage report\n\n[testenv:lint]\ncommands = ruff check .\n",
        )]);
        let r = Runners::load(&f);
        let tox = r.tox.unwrap_or_default();
        assert_eq!(tox.default, vec!["py312", "py313", "lint"]);
        let texts = |env: &str| {
            tox.tasks
                .get(env)
                .map(|c| c.iter().map(|c| c.text.clone()).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        assert_eq!(texts("py312"), vec!["pytest {posargs}"]);
        assert_eq!(texts("py313"), vec!["pytest {posargs}", "coverage report"]);
        assert_eq!(texts("lint"), vec!["ruff check ."]);
    }

    #[test]
    fn makefile_targets_vars_and_prereqs() {
        let f = files(&[(
            "Makefile",
            "PY := uv run\n.PHONY: lint\nlint: fmt\n\t@$(PY) ruff check .\nfmt:\n\t$(PY) ruff format .\n",
        )]);
        let r = Runners::load(&f);
        let make = r.make.get("").cloned().unwrap_or_default();
        assert_eq!(make.default, vec!["lint"]);
        assert_eq!(
            make.tasks.get("lint").map(|c| c[0].text.clone()),
            Some("uv run ruff check .".to_string())
        );
        assert_eq!(make.deps.get("lint"), Some(&vec!["fmt".to_string()]));
    }

    #[test]
    fn makefile_continued_recipe_lines() {
        let f = files(&[(
            "Makefile",
            "VENV_BIN := env/bin\nlint: env\n\t. $(VENV_BIN)/activate && \\\n\t\truff check src && \\\n\t\tmypy src\ntest:\n\tpytest\n",
        )]);
        let r = Runners::load(&f);
        let make = r.make.get("").cloned().unwrap_or_default();
        let lint = make.tasks.get("lint").cloned().unwrap_or_default();
        assert_eq!(lint.len(), 1);
        assert_eq!(lint[0].line, 3);
        assert_eq!(
            lint[0].text,
            ". env/bin/activate && ruff check src && mypy src"
        );
        assert_eq!(make.tasks.get("test").map(|c| c[0].line), Some(7));
    }

    #[test]
    fn hatch_scripts() {
        let f = files(&[(
            "pyproject.toml",
            "[tool.hatch.envs.types.scripts]\ncheck = \"mypy --install-types src\"\n[tool.hatch.envs.default.scripts]\ncov = [\"coverage run -m pytest\", \"coverage report\"]\n",
        )]);
        let r = Runners::load(&f);
        assert_eq!(r.hatch.tasks.get("types:check").map(|c| c[0].line), Some(2));
        assert_eq!(r.hatch.tasks.get("default:cov").map(Vec::len), Some(2));
    }

    #[test]
    fn justfile_recipes() {
        let f = files(&[(
            "justfile",
            "default: test\n\n# run tests\ntest *args:\n    uv run pytest {{args}}\n",
        )]);
        let r = Runners::load(&f);
        let just = r.just.unwrap_or_default();
        assert_eq!(just.tasks.get("test").map(|c| c[0].line), Some(5));
    }

    #[test]
    fn invoke_tasks_and_their_run_calls() {
        let text = "from invoke import task\n\n@task\ndef lint(c):\n    c.run(\"ruff check .\")\n    c.run(f'mypy {SRC}')\n\ndef helper(c):\n    c.run(\"echo no\")\n\n@task(pre=[lint])\ndef type_check(ctx):\n    ctx.run('mypy src', pty=True)\n";
        let t = read_invoke("tasks.py", text);
        let lint: Vec<&str> = t.tasks["lint"].iter().map(|c| c.text.as_str()).collect();
        assert_eq!(lint, vec!["ruff check .", "mypy {SRC}"]);
        assert_eq!(t.tasks["lint"][0].line, 5);
        assert_eq!(t.tasks["type-check"][0].text, "mypy src");
        assert!(!t.tasks.contains_key("helper"));
    }
}
