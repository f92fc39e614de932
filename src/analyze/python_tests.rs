//! New tests in a pull request's Python patch, found with a real parser (tree-sitter-python):
//! test functions, `@pytest.mark.parametrize`, `@pytest.fixture` and Hypothesis `@given`,
//! whatever names they were imported under.
//!
//! GitHub's patch holds only hunks, so each hunk's new side (context plus added lines) is
//! rebuilt and parsed on its own. A hunk that starts inside a block is wrapped in synthetic
//! `if True:` blocks so that its indentation parses; a definition counts as new only when its
//! `def` line was added.

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;
use tree_sitter::{Node, Parser};

/// What the added lines of one file's patch contribute to the test suite.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PythonTestFindings {
    /// New `test*` functions and methods (pytest's default collection rule).
    pub test_functions: u32,
    /// New `parametrize` decorators.
    pub parametrizations: u32,
    /// New fixtures (`@pytest.fixture`, `@pytest_asyncio.fixture`, or an imported `fixture`).
    pub fixtures: u32,
    /// New Hypothesis `@given` tests.
    pub property_tests: u32,
    /// Names of the new test functions, in patch order.
    pub test_names: Vec<String>,
    /// Hunks the parser could only partly read (a hunk cut inside a string, say). Their other
    /// definitions are still counted.
    pub hunks_with_errors: u32,
    /// Why the file was not read at all: over [`MAX_PATCH_BYTES`] or [`MAX_PARSE_TIME`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// The largest patch handed to tree-sitter: a hostile 1 MiB test file costs seconds and
/// hundreds of MB to parse, and real test files added in one pull request are far smaller.
pub const MAX_PATCH_BYTES: usize = 256 << 10;
/// The longest tree-sitter may spend on one file's hunks, checked from its progress callback.
pub const MAX_PARSE_TIME: std::time::Duration = std::time::Duration::from_secs(2);

impl PythonTestFindings {
    fn add(&mut self, other: PythonTestFindings) {
        self.test_functions += other.test_functions;
        self.parametrizations += other.parametrizations;
        self.fixtures += other.fixtures;
        self.property_tests += other.property_tests;
        self.test_names.extend(other.test_names);
        self.hunks_with_errors += other.hunks_with_errors;
        if self.skipped.is_none() {
            self.skipped = other.skipped;
        }
    }

    /// The warning for a skipped file, naming it and why.
    pub fn skip_warning(&self, path: &str) -> Option<String> {
        self.skipped
            .as_ref()
            .map(|why| format!("skipped tests in {path}: {why}"))
    }
}

/// One hunk's new side: its lines and which of them were added.
#[derive(Debug, Default)]
struct Hunk {
    lines: Vec<String>,
    added: Vec<bool>,
}

fn split_hunks(patch: &str) -> Vec<Hunk> {
    let mut hunks = Vec::new();
    let mut current: Option<Hunk> = None;
    for line in patch.lines() {
        if line.starts_with("@@") {
            if let Some(h) = current.take() {
                hunks.push(h);
            }
            current = Some(Hunk::default());
            continue;
        }
        let Some(h) = current.as_mut() else {
            // Text before the first hunk header (a full file with no header) is all new.
            let mut h = Hunk::default();
            h.lines.push(line.to_string());
            h.added.push(true);
            current = Some(h);
            continue;
        };
        if let Some(rest) = line.strip_prefix('+') {
            h.lines.push(rest.to_string());
            h.added.push(true);
        } else if let Some(rest) = line.strip_prefix(' ') {
            h.lines.push(rest.to_string());
            h.added.push(false);
        } else if line.is_empty() {
            h.lines.push(String::new());
            h.added.push(false);
        }
        // '-' lines are the old side; "\ No newline at end of file" is a marker.
    }
    if let Some(h) = current {
        hunks.push(h);
    }
    hunks
}

fn indentation(line: &str) -> usize {
    line.chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .map(|c| if c == '\t' { 8 } else { 1 })
        .sum()
}

/// The hunk's text, preceded by synthetic blocks for every indentation level it starts inside,
/// and how many synthetic lines were added.
fn wrap(hunk: &Hunk) -> (String, usize) {
    let levels: BTreeSet<usize> = hunk
        .lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indentation(l))
        .collect();
    let first = hunk
        .lines
        .iter()
        .find(|l| !l.trim().is_empty())
        .map(|l| indentation(l))
        .unwrap_or(0);
    let mut prefix = String::new();
    let mut count = 0;
    let mut below: Vec<usize> = levels.into_iter().filter(|&l| l < first).collect();
    if below.first() != Some(&0) {
        below.insert(0, 0);
    }
    if first > 0 {
        for level in below {
            prefix.push_str(&" ".repeat(level));
            prefix.push_str("if True:\n");
            count += 1;
        }
    }
    let mut text = prefix;
    for line in &hunk.lines {
        text.push_str(&line.replace('\t', "        "));
        text.push('\n');
    }
    (text, count)
}

/// Local names that refer to the decorators we look for.
#[derive(Debug, Default)]
struct Names {
    pytest_modules: HashSet<String>,
    mark_names: HashSet<String>,
    parametrize_names: HashSet<String>,
    fixture_names: HashSet<String>,
    hypothesis_modules: HashSet<String>,
    given_names: HashSet<String>,
    strategies_aliases: HashSet<String>,
    /// `given` names imported from somewhere else (pytest-bdd has a `given` too).
    foreign_given: HashSet<String>,
}

impl Names {
    fn with_defaults() -> Names {
        let mut n = Names::default();
        // Conventional names: the import may sit outside every hunk of the patch.
        n.pytest_modules.insert("pytest".into());
        n.hypothesis_modules.insert("hypothesis".into());
        n
    }
}

fn text_of<'a>(node: Node<'_>, src: &'a [u8]) -> &'a str {
    node.utf8_text(src).unwrap_or("")
}

fn collect_imports(node: Node<'_>, src: &[u8], names: &mut Names) {
    match node.kind() {
        "import_statement" => {
            let mut cursor = node.walk();
            for child in node.children_by_field_name("name", &mut cursor) {
                let (module, alias) = name_and_alias(child, src);
                let local = alias.clone().unwrap_or_else(|| module.clone());
                match module.as_str() {
                    "pytest" => {
                        names.pytest_modules.insert(local);
                    }
                    "hypothesis" => {
                        names.hypothesis_modules.insert(local);
                    }
                    "hypothesis.strategies" => {
                        if let Some(a) = alias {
                            names.strategies_aliases.insert(a);
                        } else {
                            names.hypothesis_modules.insert("hypothesis".into());
                        }
                    }
                    _ => {}
                }
            }
        }
        "import_from_statement" => {
            let module = node
                .child_by_field_name("module_name")
                .map(|m| text_of(m, src).to_string())
                .unwrap_or_default();
            let mut cursor = node.walk();
            for child in node.children_by_field_name("name", &mut cursor) {
                let (name, alias) = name_and_alias(child, src);
                let local = alias.unwrap_or_else(|| name.clone());
                match (module.as_str(), name.as_str()) {
                    ("pytest", "mark") => {
                        names.mark_names.insert(local);
                    }
                    ("pytest", "fixture") | ("pytest_asyncio", "fixture") => {
                        names.fixture_names.insert(local);
                    }
                    ("pytest.mark", "parametrize") => {
                        names.parametrize_names.insert(local);
                    }
                    ("hypothesis", "given") => {
                        names.given_names.insert(local);
                    }
                    ("hypothesis", "strategies") => {
                        names.strategies_aliases.insert(local);
                    }
                    (_, "given") => {
                        names.foreign_given.insert(local);
                    }
                    _ => {}
                }
            }
        }
        _ => {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                collect_imports(child, src, names);
            }
        }
    }
}

fn name_and_alias(node: Node<'_>, src: &[u8]) -> (String, Option<String>) {
    if node.kind() == "aliased_import" {
        let name = node
            .child_by_field_name("name")
            .map(|n| text_of(n, src).to_string())
            .unwrap_or_default();
        let alias = node
            .child_by_field_name("alias")
            .map(|n| text_of(n, src).to_string());
        (name, alias)
    } else {
        (text_of(node, src).to_string(), None)
    }
}

/// The decorator's callee as a dotted name without whitespace: `pytest.mark.parametrize`.
fn decorator_name(decorator: Node<'_>, src: &[u8]) -> (String, String) {
    let raw = text_of(decorator, src).trim_start_matches('@');
    let (callee, args) = match raw.find('(') {
        Some(i) => (&raw[..i], &raw[i..]),
        None => (raw, ""),
    };
    (
        callee.chars().filter(|c| !c.is_whitespace()).collect(),
        args.to_string(),
    )
}

#[derive(Debug, PartialEq, Eq)]
enum Decorator {
    Parametrize,
    Fixture,
    Given,
    Other,
}

fn classify(callee: &str, args: &str, names: &Names) -> Decorator {
    let parts: Vec<&str> = callee.split('.').collect();
    match parts.as_slice() {
        [m, "mark", "parametrize"] if names.pytest_modules.contains(*m) => Decorator::Parametrize,
        [m, "parametrize"] if names.mark_names.contains(*m) => Decorator::Parametrize,
        [p] if names.parametrize_names.contains(*p) => Decorator::Parametrize,
        [m, "fixture"] if names.pytest_modules.contains(*m) || *m == "pytest_asyncio" => {
            Decorator::Fixture
        }
        [f] if names.fixture_names.contains(*f) => Decorator::Fixture,
        [m, "given"] if names.hypothesis_modules.contains(*m) => Decorator::Given,
        [g] if names.given_names.contains(*g) => Decorator::Given,
        ["given"] if !names.foreign_given.contains("given") => {
            // Imported outside the patch: accept it when its arguments are strategies.
            let uses_strategies = names
                .strategies_aliases
                .iter()
                .any(|a| args.contains(&format!("{a}.")))
                || args.contains("strategies.")
                || args.contains("st.");
            if uses_strategies {
                Decorator::Given
            } else {
                Decorator::Other
            }
        }
        _ => Decorator::Other,
    }
}

fn walk_definitions(
    node: Node<'_>,
    src: &[u8],
    names: &Names,
    is_added: &dyn Fn(usize) -> bool,
    out: &mut PythonTestFindings,
) {
    match node.kind() {
        "decorated_definition" => {
            let Some(def) = node.child_by_field_name("definition") else {
                return;
            };
            if def.kind() == "function_definition" {
                let name_node = def.child_by_field_name("name");
                let def_added = name_node.is_some_and(|n| is_added(n.start_position().row));
                let name = name_node.map(|n| text_of(n, src)).unwrap_or("");
                let mut cursor = node.walk();
                let decorators: Vec<Decorator> = node
                    .children(&mut cursor)
                    .filter(|c| c.kind() == "decorator")
                    .map(|d| {
                        let (callee, args) = decorator_name(d, src);
                        (
                            classify(&callee, &args, names),
                            is_added(d.start_position().row),
                        )
                    })
                    .filter(|(_, added)| *added || def_added)
                    .map(|(kind, _)| kind)
                    .collect();
                out.parametrizations += decorators
                    .iter()
                    .filter(|d| **d == Decorator::Parametrize)
                    .count() as u32;
                if def_added {
                    if decorators.contains(&Decorator::Fixture) {
                        out.fixtures += 1;
                    } else if name.starts_with("test") {
                        out.test_functions += 1;
                        out.test_names.push(name.to_string());
                        if decorators.contains(&Decorator::Given) {
                            out.property_tests += 1;
                        }
                    }
                }
            }
            walk_definitions(def, src, names, is_added, out);
        }
        "function_definition" => {
            if let Some(n) = node.child_by_field_name("name")
                && is_added(n.start_position().row)
                && text_of(n, src).starts_with("test")
                && node
                    .parent()
                    .is_none_or(|p| p.kind() != "decorated_definition")
            {
                out.test_functions += 1;
                out.test_names.push(text_of(n, src).to_string());
            }
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                walk_definitions(child, src, names, is_added, out);
            }
        }
        _ => {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                walk_definitions(child, src, names, is_added, out);
            }
        }
    }
}

/// The deepest syntax tree walked; real test code stays far below it.
pub const MAX_TREE_DEPTH: usize = 256;

/// Whether the tree has a node deeper than `limit`, found without recursion.
fn deeper_than(tree: &tree_sitter::Tree, limit: usize) -> bool {
    let mut cursor = tree.walk();
    let mut depth = 0usize;
    loop {
        if cursor.goto_first_child() {
            depth += 1;
            if depth > limit {
                return true;
            }
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return false;
            }
            depth -= 1;
        }
    }
}

fn new_parser() -> Option<Parser> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .ok()?;
    Some(parser)
}

/// Finds the tests added by one file's unified-diff patch (GitHub's `patch` field).
pub fn analyze_patch(patch: &str) -> PythonTestFindings {
    if patch.len() > MAX_PATCH_BYTES {
        return PythonTestFindings {
            skipped: Some(format!(
                "{} bytes, over the {MAX_PATCH_BYTES}-byte budget per file",
                patch.len()
            )),
            ..PythonTestFindings::default()
        };
    }
    let Some(mut parser) = new_parser() else {
        return PythonTestFindings::default();
    };
    let deadline = std::time::Instant::now() + MAX_PARSE_TIME;
    let hunks = split_hunks(patch);
    let mut parsed = Vec::with_capacity(hunks.len());
    let mut names = Names::with_defaults();
    // Imports first, across every hunk: a decorator in one hunk may use an alias imported in
    // another.
    for hunk in &hunks {
        let (text, offset) = wrap(hunk);
        let bytes = text.as_bytes();
        let mut over_time = |_: &tree_sitter::ParseState| {
            if std::time::Instant::now() > deadline {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        };
        let options = tree_sitter::ParseOptions::new().progress_callback(&mut over_time);
        let tree = parser.parse_with_options(
            &mut |i, _| bytes.get(i..).unwrap_or_default(),
            None,
            Some(options),
        );
        let Some(tree) = tree else {
            // Cancelled by the callback: no partial count, one clear reason.
            return PythonTestFindings {
                skipped: Some(format!(
                    "parsing took longer than {} s",
                    MAX_PARSE_TIME.as_secs()
                )),
                ..PythonTestFindings::default()
            };
        };
        if deeper_than(&tree, MAX_TREE_DEPTH) {
            // The walkers below recurse; a tree this deep is no test file anyway.
            return PythonTestFindings {
                skipped: Some(format!("syntax nested deeper than {MAX_TREE_DEPTH} levels")),
                ..PythonTestFindings::default()
            };
        }
        {
            collect_imports(tree.root_node(), text.as_bytes(), &mut names);
            parsed.push((tree, text, offset));
        }
    }
    let mut findings = PythonTestFindings::default();
    for ((tree, text, offset), hunk) in parsed.iter().zip(&hunks) {
        let mut one = PythonTestFindings::default();
        let is_added = |row: usize| {
            row.checked_sub(*offset)
                .and_then(|i| hunk.added.get(i))
                .copied()
                .unwrap_or(false)
        };
        walk_definitions(
            tree.root_node(),
            text.as_bytes(),
            &names,
            &is_added,
            &mut one,
        );
        if tree.root_node().has_error() {
            one.hunks_with_errors += 1;
        }
        findings.add(one);
    }
    findings
}

/// Finds the tests of a whole new file (every line counts as added).
pub fn analyze_source(source: &str) -> PythonTestFindings {
    let patch: String = source.lines().map(|l| format!("+{l}\n")).collect();
    analyze_patch(&format!("@@ -0,0 +1 @@\n{patch}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deeply_nested_code_is_skipped_not_a_stack_overflow() {
        let n = 50_000;
        let src = format!(
            "def test_a():\n    x = {}1{}\n",
            "(".repeat(n),
            ")".repeat(n)
        );
        let found = analyze_source(&src);
        assert!(
            found
                .skipped
                .as_deref()
                .is_some_and(|w| w.contains("nested deeper")),
            "{found:?}"
        );
        let shallow = analyze_source("def test_a():\n    x = ((1))\n");
        assert_eq!((shallow.test_functions, shallow.skipped), (1, None));
    }

    #[test]
    fn a_patch_over_the_byte_budget_is_skipped_with_a_reason() {
        let line = "def test_x(): pass\n";
        let src = line.repeat(MAX_PATCH_BYTES / line.len() + 10);
        let found = analyze_source(&src);
        assert_eq!(found.test_functions, 0);
        let warning = found.skip_warning("tests/test_big.py").unwrap_or_default();
        assert!(
            warning.starts_with("skipped tests in tests/test_big.py: ")
                && warning.contains("budget"),
            "{warning}"
        );
        assert_eq!(analyze_source(line).skipped, None);
    }

    fn patch_of(src: &str) -> String {
        let body: String = src.lines().map(|l| format!("+{l}\n")).collect();
        format!("@@ -0,0 +1,{} @@\n{body}", src.lines().count())
    }

    #[test]
    fn counts_functions_methods_and_nested_helpers() {
        let src = r#"
import pytest


def helper():
    def test_inner_not_collected_but_named_test():
        pass
    return 1


class TestParser:
    def test_empty(self):
        assert parse("") == []

    async def test_async(self):
        await run()

    def setup_method(self):
        self.x = 1


def test_top_level():
    assert helper() == 1
"#;
        let f = analyze_patch(&patch_of(src));
        assert_eq!(
            f.test_names,
            vec![
                "test_inner_not_collected_but_named_test",
                "test_empty",
                "test_async",
                "test_top_level"
            ]
        );
        assert_eq!(f.test_functions, 4);
        assert_eq!(f.hunks_with_errors, 0);
    }

    #[test]
    fn parametrize_fixture_and_given_under_aliases() {
        let src = r#"
import pytest as pt
from pytest import mark as m, fixture as fx
from hypothesis import given as g, settings
import hypothesis.strategies as st
import hypothesis as hyp


@pt.fixture(scope="session")
def db():
    return {}


@fx
def client(db):
    yield db


@pt.mark.parametrize("a,b", [(1, 2), (3, 4)])
@m.parametrize("c", [1])
def test_add(a, b, c):
    assert a + b


@g(st.integers(), st.text())
@settings(max_examples=10)
def test_roundtrip(n, s):
    assert n == n


@hyp.given(x=st.lists(st.integers()))
def test_sorted(x):
    assert sorted(sorted(x)) == sorted(x)
"#;
        let f = analyze_patch(&patch_of(src));
        assert_eq!(f.fixtures, 2);
        assert_eq!(f.parametrizations, 2);
        assert_eq!(f.test_functions, 3);
        assert_eq!(f.property_tests, 2);
    }

    #[test]
    fn pytest_bdd_given_is_not_hypothesis() {
        let src = r#"
from pytest_bdd import given, scenario

@given("a user")
def test_user():
    pass
"#;
        let f = analyze_patch(&patch_of(src));
        assert_eq!(f.test_functions, 1);
        assert_eq!(f.property_tests, 0);
    }

    #[test]
    fn only_added_definitions_count_in_a_hunk_inside_a_class() {
        // A hunk that starts inside a class body: context lines are indented, and only the
        // added method is new. The import of `given` is in an earlier hunk.
        let patch = "@@ -1,3 +1,4 @@\n import pytest\n+from hypothesis import given, strategies as st\n \n \n@@ -40,6 +41,12 @@ class TestCodec:\n     def test_existing(self):\n         assert True\n \n+    @given(st.binary())\n+    def test_decode_inverts_encode(self, data):\n+        assert decode(encode(data)) == data\n+\n+    @pytest.mark.parametrize(\"n\", [0, 1])\n+    def test_sizes(self, n):\n+        assert n >= 0\n \n class TestOther:\n";
        let f = analyze_patch(patch);
        assert_eq!(
            f.test_names,
            vec!["test_decode_inverts_encode", "test_sizes"]
        );
        assert_eq!(f.property_tests, 1);
        assert_eq!(f.parametrizations, 1);
    }

    #[test]
    fn decorator_added_to_existing_function_counts_parametrize_only() {
        let patch = "@@ -10,3 +10,4 @@\n+@pytest.mark.parametrize(\"x\", [1, 2])\n def test_old(x):\n     assert x\n";
        let f = analyze_patch(patch);
        assert_eq!(f.parametrizations, 1);
        assert_eq!(f.test_functions, 0);
    }

    #[test]
    fn given_without_visible_import_needs_strategies() {
        let patch = "@@ -5,2 +5,8 @@\n+@given(st.integers())\n+def test_a(n):\n+    pass\n+\n+@given(\"a step\")\n+def test_b():\n+    pass\n";
        let f = analyze_patch(patch);
        assert_eq!(f.property_tests, 1);
        assert_eq!(f.test_functions, 2);
    }

    #[test]
    fn removed_lines_and_broken_hunks_do_not_count() {
        let patch = "@@ -1,4 +1,3 @@\n-def test_removed():\n-    pass\n+x = \"\"\"unterminated\n+def test_in_string():\n";
        let f = analyze_patch(patch);
        // The removed test is not new. Error recovery still reads the `def` after the
        // unterminated string, so the hunk is flagged as only partly read.
        assert_eq!(f.test_names, vec!["test_in_string"]);
        assert_eq!(f.hunks_with_errors, 1);
    }

    #[test]
    fn deeply_nested_start_is_wrapped() {
        let patch = "@@ -1,5 +1,6 @@ class A:\n         return 1\n+    def test_mid(self):\n+        pass\n \n+def test_after():\n+    pass\n";
        let f = analyze_patch(patch);
        assert_eq!(f.test_names, vec!["test_mid", "test_after"]);
        assert_eq!(f.hunks_with_errors, 0);
    }

    #[test]
    fn whole_source() {
        let f = analyze_source("def test_one():\n    pass\n");
        assert_eq!(f.test_functions, 1);
    }
}
