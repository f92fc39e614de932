//! GitHub Actions workflows and local composite actions, read from the positioned YAML tree:
//! triggers, permissions, jobs, steps (`uses`, `with`, `run`, `env`), `strategy.matrix` and
//! reusable-workflow calls.

use super::yaml::{self, Node};

#[derive(Debug, Clone)]
pub struct Step {
    pub line: u32,
    pub uses: Option<(String, u32)>,
    pub with: Option<Node>,
    pub run: Option<Node>,
    pub env: Vec<(String, String)>,
    /// `shell:` of the step, when set.
    pub shell: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    /// The job's `name:`, which is what the Actions API calls the job (expressions unexpanded).
    pub name: Option<String>,
    pub line: u32,
    pub permissions: Option<Node>,
    /// A reusable workflow called at job level.
    pub uses: Option<(String, u32)>,
    pub with: Option<Node>,
    pub matrix: Option<Node>,
    pub env: Vec<(String, String)>,
    pub steps: Vec<Step>,
    /// `defaults.run.shell` of the job.
    pub shell: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Workflow {
    pub path: String,
    pub triggers: Vec<String>,
    pub permissions: Option<Node>,
    pub permissions_line: Option<u32>,
    pub env: Vec<(String, String)>,
    pub jobs: Vec<Job>,
    /// `defaults.run.shell` of the workflow.
    pub shell: Option<String>,
}

impl Workflow {
    /// Workflows only other workflows call (`workflow_call` alone) inherit their caller's token.
    pub fn event_triggered(&self) -> bool {
        self.triggers.iter().any(|t| t != "workflow_call")
    }
}

/// Whether a `shell:` runs its script as shell commands; `python` and custom `{0}` templates
/// other than the usual shells run code the command table cannot read.
pub fn is_command_shell(shell: &str) -> bool {
    let first = shell.split_whitespace().next().unwrap_or("");
    matches!(first, "bash" | "sh" | "pwsh" | "powershell" | "cmd")
}

fn default_shell(node: &Node) -> Option<String> {
    node.get("defaults")
        .and_then(|d| d.get("run"))
        .and_then(|r| r.get("shell"))
        .and_then(Node::as_str)
        .map(str::to_string)
}

pub fn is_workflow_path(path: &str) -> bool {
    path.starts_with(".github/workflows/")
        && !path[".github/workflows/".len()..].contains('/')
        && (path.ends_with(".yml") || path.ends_with(".yaml"))
}

pub fn is_action_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "action.yml" || name == "action.yaml"
}

fn env_pairs(node: Option<&Node>) -> Vec<(String, String)> {
    node.map(|n| {
        n.entries()
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str()?.to_string(),
                    v.as_str().unwrap_or("").to_string(),
                ))
            })
            .collect()
    })
    .unwrap_or_default()
}

fn parse_steps(node: Option<&Node>) -> Vec<Step> {
    node.map(Node::items)
        .unwrap_or_default()
        .iter()
        .map(|s| Step {
            line: s.line,
            uses: s
                .get("uses")
                .and_then(|u| Some((u.as_str()?.trim().to_string(), u.line))),
            with: s.get("with").cloned(),
            run: s.get("run").cloned(),
            env: env_pairs(s.get("env")),
            shell: s.get("shell").and_then(Node::as_str).map(str::to_string),
        })
        .collect()
}

pub fn parse_workflow(path: &str, text: &str) -> Result<Workflow, String> {
    let root = yaml::parse(text).map_err(|e| e.to_string())?;
    if !root.is_map() {
        return Err("not a mapping".into());
    }
    // YAML 1.1 readers turn a bare `on` key into `true`; both spellings occur in real files.
    let on = root.get("on").or_else(|| root.get("true"));
    let triggers: Vec<String> = match on {
        Some(n) if n.is_map() => n
            .entries()
            .iter()
            .filter_map(|(k, _)| k.as_str().map(str::to_string))
            .collect(),
        Some(n) => n.strings().into_iter().map(str::to_string).collect(),
        None => Vec::new(),
    };
    let Some(jobs_node) = root.get("jobs").filter(|j| j.is_map()) else {
        return Err("no `jobs` mapping".into());
    };
    let jobs = jobs_node
        .entries()
        .iter()
        .map(|(k, j)| Job {
            id: k.as_str().unwrap_or("").to_string(),
            name: j.get("name").and_then(Node::as_str).map(str::to_string),
            line: k.line,
            permissions: j.get("permissions").cloned(),
            uses: j
                .get("uses")
                .and_then(|u| Some((u.as_str()?.trim().to_string(), u.line))),
            with: j.get("with").cloned(),
            matrix: j.get("strategy").and_then(|s| s.get("matrix")).cloned(),
            env: env_pairs(j.get("env")),
            steps: parse_steps(j.get("steps")),
            shell: default_shell(j),
        })
        .collect();
    Ok(Workflow {
        path: path.to_string(),
        triggers,
        permissions: root.get("permissions").cloned(),
        permissions_line: root.get_key("permissions").map(|k| k.line),
        env: env_pairs(root.get("env")),
        jobs,
        shell: default_shell(&root),
    })
}

/// A local composite action: its steps run inside the calling job.
pub fn parse_action(text: &str) -> Result<Vec<Step>, String> {
    let root = yaml::parse(text).map_err(|e| e.to_string())?;
    Ok(parse_steps(root.get("runs").and_then(|r| r.get("steps"))))
}

/// `owner/repo/path` of a `uses:` reference, lower-cased, without the ref.
pub fn uses_target(uses: &str) -> String {
    uses.split('@')
        .next()
        .unwrap_or(uses)
        .trim()
        .to_ascii_lowercase()
}

pub fn uses_ref(uses: &str) -> Option<&str> {
    uses.split_once('@').map(|(_, r)| r.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jobs_steps_and_triggers() {
        let text = "on:\n  push:\n  workflow_call:\npermissions:\n  contents: read\njobs:\n  test:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        python-version: ['3.12', '3.13']\n    steps:\n      - uses: actions/checkout@v4\n      - run: pytest\n  call:\n    uses: ./.github/workflows/reusable.yml\n";
        let wf = parse_workflow(".github/workflows/ci.yml", text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(wf.triggers, vec!["push", "workflow_call"]);
        assert!(wf.event_triggered());
        assert_eq!(wf.permissions_line, Some(4));
        assert_eq!(wf.jobs.len(), 2);
        assert_eq!(wf.jobs[0].steps[0].uses.as_ref().map(|u| u.1), Some(13));
        assert!(wf.jobs[0].matrix.is_some());
        assert_eq!(
            wf.jobs[1].uses.as_ref().map(|u| u.0.as_str()),
            Some("./.github/workflows/reusable.yml")
        );
    }

    #[test]
    fn workflow_call_only_is_not_event_triggered() {
        let wf = parse_workflow("w.yml", "on: workflow_call\njobs: {}\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!wf.event_triggered());
    }

    #[test]
    fn paths() {
        assert!(is_workflow_path(".github/workflows/ci.yml"));
        assert!(!is_workflow_path(".github/workflows/sub/ci.yml"));
        assert!(is_action_path(".github/actions/setup/action.yml"));
    }
}
