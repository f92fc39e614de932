//! Everything the detectors need, read once from a snapshot: workflows, local actions,
//! pre-commit hooks, the commands CI runs (followed through task runners), config files, and
//! the files that could not be parsed.

use std::collections::BTreeMap;

use super::ini::{self, Ini};
use super::runners::{RawCmd, Runners, Tasks};
use super::shell;
use super::table::{ActionSpec, CommandSpec, InputKind};
use super::tomlpos;
use super::workflow::{self, Step, Workflow};
use super::yaml::{self, Node};
use crate::snapshot::RepoSnapshot;

mod expand;

/// A command that runs, normalised, with where it is written and how CI reaches it.
#[derive(Debug, Clone)]
pub(super) struct Cmd {
    pub argv: Vec<String>,
    pub text: String,
    pub path: String,
    pub line: u32,
    /// How CI reaches it, when through a task runner or script: `tox env lint via ...`.
    pub via: Option<String>,
    /// (workflow index, job index) of the CI job it runs in; `usize::MAX` for local actions.
    pub job: Option<(usize, usize)>,
    /// Position within the job, for "format, then `git diff --exit-code`".
    pub order: usize,
    pub env: Vec<(String, String)>,
}

/// A `uses:` in a workflow step, a job (reusable workflow) or a local composite action.
#[derive(Debug, Clone)]
pub(super) struct Uses {
    pub target: String,
    pub raw: String,
    pub path: String,
    pub line: u32,
    pub with: Option<Node>,
    pub job: Option<(usize, usize)>,
}

#[derive(Debug, Clone)]
pub(super) struct Hook {
    pub id: String,
    pub repo: String,
    pub line: u32,
    pub entry: Option<String>,
    pub args: Vec<String>,
    pub additional_dependencies: Vec<String>,
    /// For a hook with an `entry` (local hooks): the entry with its args, then whatever it
    /// reaches through task runners and scripts (`entry: make`, `args: [lint]`).
    pub runs: Vec<Cmd>,
}

#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub kind: InputKind,
    pub path: String,
    pub message: String,
}

pub(super) struct Facts<'a> {
    pub snap: &'a RepoSnapshot,
    pub workflows: Vec<Workflow>,
    pub ci: Vec<Cmd>,
    pub uses: Vec<Uses>,
    pub hooks: Vec<Hook>,
    pub precommit: Option<(String, u32)>,
    pub runners: Runners,
    /// Commands in every task-runner task, called by CI or not (for "configured" practices).
    pub all_runner_cmds: Vec<Cmd>,
    pub tomls: BTreeMap<String, Node>,
    pub inis: BTreeMap<String, Ini>,
    pub failures: Vec<Failure>,
}

const MAX_DEPTH: usize = 5;
/// The most commands reached through task runners and scripts from one starting list.
const MAX_EXPANDED: usize = 20_000;

pub(super) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl<'a> Facts<'a> {
    pub(super) fn gather(snap: &'a RepoSnapshot) -> Facts<'a> {
        let files = &snap.files;
        let mut failures = Vec::new();
        let mut tomls = BTreeMap::new();
        let mut inis = BTreeMap::new();
        for (path, text) in files {
            let name = file_name(path);
            // Config files inside test data describe other projects, not this one.
            if path
                .split('/')
                .rev()
                .skip(1)
                .any(|c| matches!(c, "tests" | "test" | "fixtures" | "testdata" | "test_data"))
            {
                continue;
            }
            if name.ends_with(".toml") {
                match tomlpos::parse(text) {
                    Ok(n) => {
                        tomls.insert(path.clone(), n);
                    }
                    Err(e) => failures.push(Failure {
                        kind: InputKind::Pyproject,
                        path: path.clone(),
                        message: e.to_string(),
                    }),
                }
            } else if matches!(
                name,
                "setup.cfg" | "tox.ini" | ".coveragerc" | "pytest.ini" | ".flake8" | "scriv.ini"
            ) {
                match ini::parse(text) {
                    Ok(i) => {
                        inis.insert(path.clone(), i);
                    }
                    Err(e) => failures.push(Failure {
                        kind: InputKind::Pyproject,
                        path: path.clone(),
                        message: e.to_string(),
                    }),
                }
            }
        }
        let runners = Runners::load(files);
        for (path, message) in &runners.failures {
            failures.push(Failure {
                kind: InputKind::TaskRunners,
                path: path.clone(),
                message: message.clone(),
            });
        }

        let mut workflows = Vec::new();
        for (path, text) in files.iter().filter(|(p, _)| workflow::is_workflow_path(p)) {
            match workflow::parse_workflow(path, text) {
                Ok(w) => workflows.push(w),
                Err(message) => failures.push(Failure {
                    kind: InputKind::Workflows,
                    path: path.clone(),
                    message,
                }),
            }
        }
        let mut actions: BTreeMap<String, Vec<Step>> = BTreeMap::new();
        for (path, text) in files.iter().filter(|(p, _)| workflow::is_action_path(p)) {
            match workflow::parse_action(text) {
                Ok(steps) => {
                    actions.insert(path.clone(), steps);
                }
                Err(message) => failures.push(Failure {
                    kind: InputKind::Workflows,
                    path: path.clone(),
                    message,
                }),
            }
        }

        let mut hooks = Vec::new();
        let mut precommit = None;
        for name in [".pre-commit-config.yaml", ".pre-commit-config.yml"] {
            let Some(text) = files.get(name) else {
                continue;
            };
            match yaml::parse(text) {
                Ok(root) if root.get("repos").is_some() => {
                    precommit = Some((
                        name.to_string(),
                        root.get_key("repos").map_or(1, |k| k.line),
                    ));
                    for repo in root.get("repos").map(Node::items).unwrap_or_default() {
                        let url = repo
                            .get("repo")
                            .and_then(Node::as_str)
                            .unwrap_or("")
                            .to_string();
                        for hook in repo.get("hooks").map(Node::items).unwrap_or_default() {
                            let Some(id) = hook.get("id").and_then(Node::as_str) else {
                                continue;
                            };
                            hooks.push(Hook {
                                id: id.to_string(),
                                repo: url.clone(),
                                line: hook.get("id").map_or(hook.line, |n| n.line),
                                entry: hook.get("entry").and_then(Node::as_str).map(str::to_string),
                                args: hook
                                    .get("args")
                                    .map(|d| d.strings().into_iter().map(str::to_string).collect())
                                    .unwrap_or_default(),
                                additional_dependencies: hook
                                    .get("additional_dependencies")
                                    .map(|d| d.strings().into_iter().map(str::to_string).collect())
                                    .unwrap_or_default(),
                                runs: Vec::new(),
                            });
                        }
                    }
                }
                Ok(_) => failures.push(Failure {
                    kind: InputKind::PreCommit,
                    path: name.to_string(),
                    message: "no `repos` list".into(),
                }),
                Err(e) => failures.push(Failure {
                    kind: InputKind::PreCommit,
                    path: name.to_string(),
                    message: e.to_string(),
                }),
            }
        }

        let mut facts = Facts {
            snap,
            workflows,
            ci: Vec::new(),
            uses: Vec::new(),
            hooks,
            precommit,
            runners,
            all_runner_cmds: Vec::new(),
            tomls,
            inis,
            failures,
        };
        facts.collect_ci(&actions);
        facts.collect_runner_cmds();
        facts.collect_hook_runs();
        facts
    }

    fn collect_ci(&mut self, actions: &BTreeMap<String, Vec<Step>>) {
        let mut ci = Vec::new();
        let mut uses = Vec::new();
        for (wi, wf) in self.workflows.iter().enumerate() {
            for (ji, job) in wf.jobs.iter().enumerate() {
                let mut order = 0;
                if let Some((u, line)) = &job.uses {
                    uses.push(Uses {
                        target: workflow::uses_target(u),
                        raw: u.clone(),
                        path: wf.path.clone(),
                        line: *line,
                        with: job.with.clone(),
                        job: Some((wi, ji)),
                    });
                }
                let mut env: Vec<(String, String)> = wf.env.clone();
                env.extend(job.env.iter().cloned());
                let mut steps: Vec<(String, Step)> = job
                    .steps
                    .iter()
                    .map(|s| (wf.path.clone(), s.clone()))
                    .collect();
                // Local composite actions run inside the job: inline their steps once.
                let mut inlined = Vec::new();
                let mut inlined_paths = std::collections::HashSet::new();
                for (_, s) in &steps {
                    if let Some((u, _)) = &s.uses
                        && let Some(local) = u.strip_prefix("./")
                    {
                        let local = local.trim_end_matches('/');
                        for name in ["action.yml", "action.yaml"] {
                            let p = format!("{local}/{name}");
                            // Once per job: a job calling the same action in every step
                            // would otherwise copy its steps once per call.
                            if !inlined_paths.insert(p.clone()) {
                                continue;
                            }
                            if let Some(a) = actions.get(&p) {
                                inlined.extend(a.iter().map(|st| (p.clone(), st.clone())));
                            }
                        }
                    }
                }
                steps.extend(inlined);
                for (path, step) in steps {
                    order += 1;
                    if let Some((u, line)) = &step.uses {
                        uses.push(Uses {
                            target: workflow::uses_target(u),
                            raw: u.clone(),
                            path: path.clone(),
                            line: *line,
                            with: step.with.clone(),
                            job: Some((wi, ji)),
                        });
                    }
                    // `shell: python` (or a custom interpreter) runs code, not commands.
                    let shell_ok = step
                        .shell
                        .as_deref()
                        .or(job.shell.as_deref())
                        .or(wf.shell.as_deref())
                        .is_none_or(workflow::is_command_shell);
                    // Wrapper actions run a script given as an input: `run:` of
                    // gh-problem-matcher-wrap, run-on-arch-action or xvfb-action, `command:`
                    // of nick-fields/retry. cibuildwheel runs `CIBW_TEST_COMMAND`.
                    let wrapped = step
                        .uses
                        .as_ref()
                        .and(step.with.as_ref())
                        .and_then(|w| w.get("run").or_else(|| w.get("command")));
                    let cibw = step
                        .uses
                        .as_ref()
                        .filter(|(u, _)| workflow::uses_target(u).starts_with("pypa/cibuildwheel"))
                        .and_then(|_| {
                            step.env
                                .iter()
                                .chain(job.env.iter())
                                .chain(wf.env.iter())
                                .find(|(k, _)| k == "CIBW_TEST_COMMAND")
                                .map(|(_, v)| v.clone())
                        });
                    let script_node = match (&step.run, wrapped) {
                        (Some(run), _) if shell_ok => Some(run),
                        (None, Some(w)) => Some(w),
                        _ => None,
                    };
                    if let Some(text) = cibw {
                        order += 1;
                        ci.push(Cmd {
                            argv: shell::normalize(&shell::words(&text)),
                            text,
                            path: path.clone(),
                            line: step.line,
                            via: Some("cibuildwheel CIBW_TEST_COMMAND".into()),
                            job: Some((wi, ji)),
                            order,
                            env: env.clone(),
                        });
                    }
                    if let Some(run) = script_node
                        && let Some(script) = run.as_str()
                    {
                        let mut step_env = env.clone();
                        step_env.extend(step.env.iter().cloned());
                        for (i, text) in shell::commands(script) {
                            order += 1;
                            let argv = shell::normalize(&shell::words(&text));
                            ci.push(Cmd {
                                argv,
                                text,
                                path: path.clone(),
                                line: run.content_line(i),
                                via: None,
                                job: Some((wi, ji)),
                                order,
                                env: step_env.clone(),
                            });
                        }
                    }
                }
            }
        }
        // Composite actions that no workflow here uses still hold `uses:` lines to pin.
        let used_at: std::collections::HashSet<(String, u32)> =
            uses.iter().map(|u| (u.path.clone(), u.line)).collect();
        let used_at: std::collections::HashSet<(&str, u32)> =
            used_at.iter().map(|(p, l)| (p.as_str(), *l)).collect();
        for (path, steps) in actions {
            super::common::tick();
            for step in steps {
                if let Some((u, line)) = &step.uses
                    && !used_at.contains(&(path.as_str(), *line))
                {
                    uses.push(Uses {
                        target: workflow::uses_target(u),
                        raw: u.clone(),
                        path: path.clone(),
                        line: *line,
                        with: step.with.clone(),
                        job: None,
                    });
                }
            }
        }
        let mut expanded = Vec::new();
        for c in &ci {
            self.expand(c, 0, &mut expanded);
        }
        ci.extend(expanded);
        self.ci = ci;
        self.uses = uses;
    }

    /// What each hook with an `entry` runs: pre-commit calls `entry args... files`.
    fn collect_hook_runs(&mut self) {
        let Some((path, _)) = self.precommit.clone() else {
            return;
        };
        let mut all = Vec::new();
        for h in &self.hooks {
            let Some(entry) = &h.entry else {
                all.push(Vec::new());
                continue;
            };
            let mut words = shell::words(entry);
            words.extend(h.args.iter().cloned());
            let text = words.join(" ");
            let cmd = Cmd {
                argv: shell::normalize(&words),
                text,
                path: path.clone(),
                line: h.line,
                via: Some(format!("pre-commit hook `{}`", h.id)),
                job: None,
                order: 0,
                env: Vec::new(),
            };
            let mut runs = Vec::new();
            self.expand(&cmd, 0, &mut runs);
            runs.insert(0, cmd);
            all.push(runs);
        }
        for (h, runs) in self.hooks.iter_mut().zip(all) {
            h.runs = runs;
        }
    }

    fn collect_runner_cmds(&mut self) {
        let mut all = Vec::new();
        let mut push = |tasks: &Tasks, kind: &str| {
            for (name, cmds) in &tasks.tasks {
                for c in cmds {
                    for (i, part) in shell::commands(&c.text) {
                        let piece = RawCmd {
                            path: c.path.clone(),
                            line: c.line + i as u32,
                            text: part,
                        };
                        all.push(to_cmd(&piece, format!("{kind} {name}"), None, 0, &[]));
                    }
                }
            }
        };
        if let Some(t) = &self.runners.tox {
            push(t, "tox env");
        }
        if let Some(t) = &self.runners.nox {
            push(t, "nox session");
        }
        push(&self.runners.hatch, "hatch script");
        push(&self.runners.poe, "poe task");
        push(&self.runners.pdm, "pdm script");
        for t in self.runners.make.values() {
            push(t, "make target");
        }
        if let Some(t) = &self.runners.just {
            push(t, "just recipe");
        }
        self.all_runner_cmds = all;
    }

    /// Commands reachable from CI that match one of `rules`.
    pub(super) fn ci_matching<'s>(
        &'s self,
        rules: &'s [CommandSpec],
    ) -> impl Iterator<Item = &'s Cmd> + 's {
        self.ci
            .iter()
            .filter(move |c| rules.iter().any(|r| command_matches(r, &c.argv)))
    }

    pub(super) fn uses_matching<'s>(
        &'s self,
        rules: &'s [ActionSpec],
    ) -> impl Iterator<Item = &'s Uses> + 's {
        self.uses
            .iter()
            .filter(move |u| rules.iter().any(|r| action_matches(r, u)))
    }

    pub(super) fn failures_of(&self, kinds: &[InputKind]) -> Vec<&Failure> {
        self.failures
            .iter()
            .filter(|f| kinds.contains(&f.kind))
            .collect()
    }

    pub(super) fn pyproject(&self) -> Option<&Node> {
        self.tomls.get("pyproject.toml")
    }
}

fn to_cmd(
    raw: &RawCmd,
    via: String,
    job: Option<(usize, usize)>,
    order: usize,
    env: &[(String, String)],
) -> Cmd {
    let words: Vec<String> = shell::words(&raw.text)
        .into_iter()
        .filter(|w| !(w.starts_with('{') && w.ends_with('}')))
        .collect();
    Cmd {
        argv: shell::normalize(&words),
        text: raw.text.clone(),
        path: raw.path.clone(),
        line: raw.line,
        via: Some(via),
        job,
        order,
        env: env.to_vec(),
    }
}

/// Whether a normalised command matches a rule: the rule's words are the tool and then its
/// leading positional words (options between them are skipped).
pub(super) fn command_matches(rule: &CommandSpec, argv: &[String]) -> bool {
    let words: Vec<&str> = rule.cmd.split_whitespace().collect();
    let Some((first, rest)) = words.split_first() else {
        return false;
    };
    if argv.first().map(|t| t.as_str()) != Some(&first.to_ascii_lowercase()) {
        return false;
    }
    let pos = shell::positionals(argv);
    for (i, w) in rest.iter().enumerate() {
        if pos.get(i) != Some(w) {
            return false;
        }
    }
    if !rule.not_next.is_empty()
        && let Some(next) = pos.get(rest.len())
        && rule.not_next.iter().any(|n| n == next)
    {
        return false;
    }
    rule.flags_any.is_empty() || rule.flags_any.iter().any(|f| flag_given(argv, f))
}

/// `--flag` given at all, or for `--flag=prefix*`, given with a value that starts with
/// `prefix` (as `--flag=value` or `--flag value`).
fn flag_given(argv: &[String], rule: &str) -> bool {
    let Some((flag, pattern)) = rule.split_once('=') else {
        return shell::has_flag(argv, rule);
    };
    let prefix = pattern.trim_end_matches('*');
    argv.iter().enumerate().any(|(i, w)| {
        w.strip_prefix(flag)
            .and_then(|r| r.strip_prefix('='))
            .is_some_and(|v| v.starts_with(prefix))
            || (w == flag && argv.get(i + 1).is_some_and(|v| v.starts_with(prefix)))
    })
}

fn truthy(s: &str) -> bool {
    let s = s.trim().to_ascii_lowercase();
    !(s.is_empty() || s == "false" || s == "0" || s == "no" || s == "none" || s == "off")
}

pub(super) fn action_matches(rule: &ActionSpec, uses: &Uses) -> bool {
    let want = rule.uses.to_ascii_lowercase();
    if !(uses.target == want || uses.target.starts_with(&format!("{want}/"))) {
        return false;
    }
    let Some(input) = &rule.input else {
        return true;
    };
    let value = uses
        .with
        .as_ref()
        .and_then(|w| w.get(input))
        .and_then(Node::as_str);
    let words: Vec<&str> = value
        .map(|v| v.split_whitespace().collect())
        .unwrap_or_default();
    if rule.excludes.iter().any(|x| words.contains(&x.as_str())) {
        return false;
    }
    if !rule.contains_any.is_empty() {
        return rule
            .contains_any
            .iter()
            .any(|x| words.contains(&x.as_str()));
    }
    // An input named only to exclude words (ruff-action's `args`) may be absent.
    !rule.excludes.is_empty() || value.is_some_and(truthy)
}
