//! Following a command into the task runner or script it calls (tox, nox, make, just, poe,
//! pdm, hatch, invoke, `uv run`, pre-commit), under a cap on depth and on the total, because
//! runners calling each other fan out at every level.

use super::*;

impl Facts<'_> {
    /// Follows a command into the task runner or script it calls, appending what runs there.
    pub(super) fn expand(&self, cmd: &Cmd, depth: usize, out: &mut Vec<Cmd>) {
        // Task runners calling each other fan out at every level: the total is capped too.
        if depth >= MAX_DEPTH || cmd.argv.is_empty() || out.len() >= MAX_EXPANDED {
            return;
        }
        let called_at = format!("{}:{}", cmd.path, cmd.line);
        let argv = &cmd.argv;
        let tool = argv[0].as_str();
        let mut found: Vec<(String, RawCmd)> = Vec::new();
        let pos = shell::positionals(argv);
        match tool {
            "tox" => {
                if let Some(tox) = &self.runners.tox {
                    let mut envs = option_values(argv, &["-e", "--env", "--envlist"]);
                    if envs.is_empty()
                        && let Some((_, v)) = cmd.env.iter().rev().find(|(k, _)| k == "TOXENV")
                    {
                        envs = vec![v.clone()];
                    }
                    let labels = option_values(argv, &["-m", "--labels"]);
                    let mut names: Vec<String> = envs
                        .iter()
                        .flat_map(|e| e.split(',').map(str::to_string))
                        .collect();
                    for l in labels {
                        names.extend(tox.tags.get(&l).cloned().unwrap_or_default());
                    }
                    let all = names
                        .iter()
                        .any(|n| n.contains("${{") || n == "ALL" || n.contains('$'));
                    if all || names.is_empty() && argv.iter().any(|a| a == "-f") {
                        names = tox.tasks.keys().cloned().collect();
                    } else if names.is_empty() {
                        names = if tox.default.is_empty() {
                            tox.tasks.keys().cloned().collect()
                        } else {
                            tox.default.clone()
                        };
                    }
                    for n in names {
                        let cmds = tox.tasks.get(&n).cloned().unwrap_or_else(|| {
                            self.runners
                                .tox_base
                                .iter()
                                .filter(|_| !n.is_empty())
                                .cloned()
                                .collect()
                        });
                        found.extend(cmds.into_iter().map(|c| (format!("tox env {n}"), c)));
                    }
                }
            }
            "nox" => {
                if let Some(nox) = &self.runners.nox {
                    let mut names =
                        option_values_multi(argv, &["-s", "--session", "--sessions", "-e"]);
                    for t in option_values_multi(argv, &["-t", "--tags"]) {
                        names.extend(nox.tags.get(&t).cloned().unwrap_or_default());
                    }
                    if names.iter().any(|n| n.contains('$')) {
                        names = nox.tasks.keys().cloned().collect();
                    } else if names.is_empty() {
                        names = nox.default.clone();
                    }
                    let mut seen = Vec::new();
                    while let Some(n) = names.pop() {
                        let base = n.split(['(', '-']).next().unwrap_or(&n).to_string();
                        let key = if nox.tasks.contains_key(&n) {
                            n.clone()
                        } else {
                            base
                        };
                        if seen.contains(&key) || seen.len() > 64 {
                            continue;
                        }
                        seen.push(key.clone());
                        if let Some(cmds) = nox.tasks.get(&key) {
                            found.extend(
                                cmds.iter()
                                    .cloned()
                                    .map(|c| (format!("nox session {key}"), c)),
                            );
                        }
                        names.extend(nox.deps.get(&key).cloned().unwrap_or_default());
                    }
                }
            }
            "hatch" if pos.first() == Some(&"run") => {
                let rest: Vec<String> = argv
                    .iter()
                    .skip(1)
                    .skip_while(|a| *a != "run")
                    .skip(1)
                    .skip_while(|a| a.starts_with('-') || a.starts_with('+'))
                    .cloned()
                    .collect();
                if let Some(target) = rest.first() {
                    let key = if target.contains(':') {
                        target.clone()
                    } else {
                        format!("default:{target}")
                    };
                    // `hatch run test:cov` may name a matrix env such as `test.py3.12:cov`.
                    let key = match key.split_once(':') {
                        Some((env, s)) => format!("{}:{s}", env.split('.').next().unwrap_or(env)),
                        None => key,
                    };
                    if let Some(cmds) = self.runners.hatch.tasks.get(&key) {
                        found.extend(
                            cmds.iter()
                                .cloned()
                                .map(|c| (format!("hatch script {key}"), c)),
                        );
                    } else {
                        self.push_inner(cmd, &rest, depth, out);
                    }
                }
            }
            "pdm" if pos.first() == Some(&"run") => {
                let rest: Vec<String> = argv
                    .iter()
                    .skip(2)
                    .skip_while(|a| a.starts_with('-'))
                    .cloned()
                    .collect();
                if let Some(target) = rest.first() {
                    if let Some(cmds) = self.runners.pdm.tasks.get(target) {
                        found.extend(
                            cmds.iter()
                                .cloned()
                                .map(|c| (format!("pdm script {target}"), c)),
                        );
                    } else {
                        self.push_inner(cmd, &rest, depth, out);
                    }
                }
            }
            "poe" => {
                if let Some(target) = pos.first()
                    && let Some(cmds) = self.runners.poe.tasks.get(*target)
                {
                    found.extend(
                        cmds.iter()
                            .cloned()
                            .map(|c| (format!("poe task {target}"), c)),
                    );
                }
            }
            "invoke" | "inv" => {
                for target in pos.iter().filter(|p| !p.starts_with('-')) {
                    if let Some(cmds) = self.runners.invoke.tasks.get(*target) {
                        found.extend(
                            cmds.iter()
                                .cloned()
                                .map(|c| (format!("invoke task {target}"), c)),
                        );
                    }
                }
            }
            "make" | "gmake" => {
                let dir = option_values(argv, &["-C", "--directory"])
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                let dir = dir
                    .trim_start_matches("./")
                    .trim_end_matches('/')
                    .to_string();
                if let Some(make) = self.runners.make.get(&dir) {
                    let mut targets: Vec<String> = pos
                        .iter()
                        .filter(|p| !p.contains('=') && **p != dir)
                        .map(|p| p.to_string())
                        .collect();
                    if targets.is_empty() {
                        targets = make.default.clone();
                    }
                    found.extend(task_closure(make, targets, "make target"));
                }
            }
            "just" => {
                if let Some(just) = &self.runners.just {
                    let mut targets: Vec<String> =
                        pos.iter().take(1).map(|p| p.to_string()).collect();
                    if targets.is_empty() {
                        targets = just.default.clone();
                    }
                    found.extend(task_closure(just, targets, "just recipe"));
                }
            }
            _ => {
                // Shell scripts: `bash scripts/test.sh`, `./scripts/lint.sh`.
                let script = if matches!(tool, "bash" | "sh" | "zsh") {
                    pos.first().map(|s| s.to_string())
                } else if tool.ends_with(".sh") {
                    cmd.text
                        .split_whitespace()
                        .find(|w| w.ends_with(".sh"))
                        .map(str::to_string)
                } else {
                    // An executable named by its path, as `scripts/test` or `./ci/lint`.
                    shell::words(&cmd.text)
                        .into_iter()
                        .find(|w| !w.contains('=') || w.starts_with('-'))
                        .filter(|w| w.contains('/'))
                        .filter(|w| self.snap.files.contains_key(w.trim_start_matches("./")))
                };
                if let Some(script) = script {
                    let p = script.trim_start_matches("./").to_string();
                    if let Some(text) = self.snap.files.get(&p) {
                        for (i, line) in shell::commands(text) {
                            found.push((
                                format!("script {p}"),
                                RawCmd {
                                    path: p.clone(),
                                    line: i as u32 + 1,
                                    text: line,
                                },
                            ));
                        }
                    }
                }
            }
        }
        for (via, raw) in found {
            // A recipe line is itself a small script: `cd x && pytest`, `for ...; do ...; done`.
            for (i, part) in shell::commands(&raw.text) {
                let piece = RawCmd {
                    path: raw.path.clone(),
                    line: raw.line + i as u32,
                    text: part,
                };
                let c = to_cmd(
                    &piece,
                    format!("{via}, called at {called_at}"),
                    cmd.job,
                    cmd.order,
                    &cmd.env,
                );
                out.push(c.clone());
                self.expand(&c, depth + 1, out);
            }
        }
    }

    fn push_inner(&self, outer: &Cmd, rest: &[String], depth: usize, out: &mut Vec<Cmd>) {
        let argv = shell::normalize(rest);
        if argv.is_empty() {
            return;
        }
        let mut c = outer.clone();
        c.argv = argv;
        out.push(c.clone());
        self.expand(&c, depth + 1, out);
    }
}

fn task_closure(tasks: &Tasks, mut pending: Vec<String>, kind: &str) -> Vec<(String, RawCmd)> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    while let Some(t) = pending.pop() {
        if seen.contains(&t) || seen.len() > 128 {
            continue;
        }
        seen.push(t.clone());
        if let Some(cmds) = tasks.tasks.get(&t) {
            out.extend(cmds.iter().cloned().map(|c| (format!("{kind} {t}"), c)));
        }
        pending.extend(tasks.deps.get(&t).cloned().unwrap_or_default());
    }
    out
}

/// Values of an option written `-e x`, `-e=x`, `--env x`, `-ex`.
fn option_values(argv: &[String], names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        for n in names {
            if a == n {
                if let Some(v) = argv.get(i + 1) {
                    out.push(v.clone());
                }
            } else if let Some(v) = a.strip_prefix(&format!("{n}=")) {
                out.push(v.to_string());
            } else if n.len() == 2
                && !n.starts_with("--")
                && a.starts_with(n)
                && !a.starts_with("--")
                && a.len() > 2
            {
                out.push(a[2..].to_string());
            }
        }
        i += 1;
    }
    out
}

/// Like [`option_values`], but `-s a b c` takes every word until the next option (nox).
fn option_values_multi(argv: &[String], names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        if names.contains(&argv[i].as_str()) {
            i += 1;
            while i < argv.len() && !argv[i].starts_with('-') {
                out.push(argv[i].clone());
                i += 1;
            }
            continue;
        }
        for n in names {
            if let Some(v) = argv[i].strip_prefix(&format!("{n}=")) {
                out.extend(v.split(',').map(str::to_string));
            }
        }
        i += 1;
    }
    out
}
