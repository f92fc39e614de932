//! Python source read with tree-sitter (never imported or run): nox sessions and the commands
//! they run, and Hypothesis use in tests.

use tree_sitter::{Node, Parser, Tree};

fn parse(text: &str) -> Option<Tree> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .ok()?;
    parser.parse(text, None)
}

fn text_of<'a>(node: Node<'_>, src: &'a str) -> &'a str {
    node.utf8_text(src.as_bytes()).unwrap_or("")
}

/// Every node of the tree, walked with an explicit stack so deep nesting cannot overflow.
fn walk<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>)) {
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        visit(node);
        let mut cursor = node.walk();
        let children: Vec<Node<'t>> = node.children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
}

/// The value of a string literal without its quotes and prefixes; `None` for f-strings with
/// interpolations and anything else.
fn string_value(node: Node<'_>, src: &str) -> Option<String> {
    if node.kind() != "string" {
        return None;
    }
    let mut out = String::new();
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "string_content" => out.push_str(text_of(child, src)),
            "interpolation" => return None,
            _ => {}
        }
    }
    Some(out)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoxSession {
    pub name: String,
    pub line: u32,
    pub tags: Vec<String>,
    /// `session.run(...)` commands: the literal leading string arguments, with their line.
    pub commands: Vec<(u32, Vec<String>)>,
    /// Sessions started with `session.notify(...)`.
    pub notifies: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Noxfile {
    pub sessions: Vec<NoxSession>,
    /// `nox.options.sessions`, when set.
    pub default_sessions: Option<Vec<String>>,
}

/// Reads a noxfile. A file tree-sitter cannot parse cleanly is an error, reported as "could
/// not parse" by the caller.
pub fn parse_noxfile(src: &str) -> Result<Noxfile, String> {
    let tree = parse(src).ok_or("tree-sitter failed")?;
    let root = tree.root_node();
    if root.has_error() {
        return Err("syntax error".into());
    }
    let mut nox = Noxfile::default();
    walk(root, |node| match node.kind() {
        "decorated_definition" => {
            if let Some(session) = session_of(node, src) {
                nox.sessions.push(session);
            }
        }
        "assignment" => {
            let left = node.child_by_field_name("left").map(|l| text_of(l, src));
            if left == Some("nox.options.sessions")
                && let Some(right) = node.child_by_field_name("right")
            {
                let mut names = Vec::new();
                let mut cursor = right.walk();
                for item in right.named_children(&mut cursor) {
                    if let Some(s) = string_value(item, src) {
                        names.push(s);
                    }
                }
                nox.default_sessions = Some(names);
            }
        }
        _ => {}
    });
    Ok(nox)
}

fn session_of(node: Node<'_>, src: &str) -> Option<NoxSession> {
    let def = node.child_by_field_name("definition")?;
    if def.kind() != "function_definition" {
        return None;
    }
    let mut name = text_of(def.child_by_field_name("name")?, src).to_string();
    let mut tags = Vec::new();
    let mut is_session = false;
    let mut cursor = node.walk();
    for dec in node
        .children(&mut cursor)
        .filter(|c| c.kind() == "decorator")
    {
        let text = text_of(dec, src);
        let head = text
            .trim_start_matches('@')
            .split('(')
            .next()
            .unwrap_or("")
            .trim();
        if head == "nox.session" || head == "session" || head.ends_with(".session") {
            is_session = true;
            walk(dec, |n| {
                if n.kind() == "keyword_argument" {
                    let key = n.child_by_field_name("name").map(|k| text_of(k, src));
                    let value = n.child_by_field_name("value");
                    match (key, value) {
                        (Some("name"), Some(v)) => {
                            if let Some(s) = string_value(v, src) {
                                name = s;
                            }
                        }
                        (Some("tags"), Some(v)) => {
                            let mut c = v.walk();
                            for item in v.named_children(&mut c) {
                                if let Some(s) = string_value(item, src) {
                                    tags.push(s);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            });
        }
    }
    if !is_session {
        return None;
    }
    let mut commands = Vec::new();
    let mut notifies = Vec::new();
    walk(def, |n| {
        if n.kind() != "call" {
            return;
        }
        let Some(func) = n.child_by_field_name("function") else {
            return;
        };
        let f = text_of(func, src);
        let method = f.rsplit('.').next().unwrap_or("");
        let Some(args) = n.child_by_field_name("arguments") else {
            return;
        };
        let mut literal = Vec::new();
        let mut c = args.walk();
        for arg in args.named_children(&mut c) {
            match string_value(arg, src) {
                Some(s) => literal.push(s),
                None => break,
            }
        }
        if !f.contains('.') || literal.is_empty() {
            return;
        }
        match method {
            "run" | "run_always" | "run_install" => {
                commands.push((n.start_position().row as u32 + 1, literal));
            }
            "notify" => notifies.push(literal[0].clone()),
            _ => {}
        }
    });
    Some(NoxSession {
        name,
        line: def.start_position().row as u32 + 1,
        tags,
        commands,
        notifies,
    })
}

/// The first line where a test module uses Hypothesis (`import hypothesis`, `from hypothesis
/// import ...`, `@given`), with the statement as written.
pub fn hypothesis_use(src: &str, modules: &[String]) -> Option<(u32, String)> {
    // Cheap filter first: most test files never mention it, and parsing costs more than a scan.
    if !modules.iter().any(|m| src.contains(m.as_str())) {
        return None;
    }
    let tree = parse(src)?;
    let mut found: Option<(u32, String)> = None;
    walk(tree.root_node(), |n| {
        if found.is_some() {
            return;
        }
        let hit = match n.kind() {
            "import_from_statement" => n
                .child_by_field_name("module_name")
                .map(|m| text_of(m, src))
                .is_some_and(|m| {
                    modules
                        .iter()
                        .any(|x| m == x || m.starts_with(&format!("{x}.")))
                }),
            "import_statement" => {
                let mut c = n.walk();
                let names: Vec<String> = n
                    .named_children(&mut c)
                    .map(|x| {
                        text_of(x, src)
                            .split(" as ")
                            .next()
                            .unwrap_or("")
                            .trim()
                            .to_string()
                    })
                    .collect();
                names.iter().any(|m| {
                    modules
                        .iter()
                        .any(|x| m == x || m.starts_with(&format!("{x}.")))
                })
            }
            _ => false,
        };
        if hit {
            found = Some((
                n.start_position().row as u32 + 1,
                text_of(n, src).lines().next().unwrap_or("").to_string(),
            ));
        }
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nox_sessions_and_commands() {
        let src = r#"
import nox

nox.options.sessions = ["tests", "lint"]

@nox.session(python=["3.12", "3.13"])
def tests(session: nox.Session) -> None:
    session.install(".[test]")
    session.run("pytest", "--cov", *session.posargs)

@nox.session(name="lint", tags=["style"])
def lint_it(session):
    session.run("ruff", "check", ".")
    session.notify("tests")

def helper(session):
    session.run("mypy")
"#;
        let nox = parse_noxfile(src).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            nox.default_sessions,
            Some(vec!["tests".into(), "lint".into()])
        );
        assert_eq!(nox.sessions.len(), 2);
        assert_eq!(
            nox.sessions[0].commands,
            vec![(9, vec!["pytest".to_string(), "--cov".to_string()])]
        );
        assert_eq!(nox.sessions[1].name, "lint");
        assert_eq!(nox.sessions[1].tags, vec!["style"]);
        assert_eq!(nox.sessions[1].notifies, vec!["tests"]);
    }

    #[test]
    fn broken_noxfile_is_an_error() {
        assert!(parse_noxfile("def x(:\n").is_err());
    }

    #[test]
    fn hypothesis_imports() {
        let m = vec!["hypothesis".to_string()];
        assert_eq!(
            hypothesis_use("import os\nfrom hypothesis import given\n", &m).map(|h| h.0),
            Some(2)
        );
        assert!(hypothesis_use("import hypothesis.strategies as st\n", &m).is_some());
        // A mention in a comment or string is not use.
        assert!(hypothesis_use("# we could use hypothesis here\nx = 'hypothesis'\n", &m).is_none());
    }
}
