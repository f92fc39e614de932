//! Checks of the source tree's shape, so that the layering survives the next feature: no import
//! cycle between top-level modules, no GitHub API path outside `src/github/`, and no source file
//! over 600 lines of code before its test module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_CODE_LINES: usize = 600;

/// Files allowed over the line limit: data tables only.
const OVER_LIMIT_ALLOWED: &[&str] = &[
    // Word tables: lists of review phrases, longer than code but read as data.
    "analyze/review/lexicon.rs",
];

/// Files that still build GitHub API paths themselves; each moves its calls into
/// `github::api` and leaves this list.
const PATH_LITERALS_ALLOWED: &[&str] = &[];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source before its `#[cfg(test)]` module.
fn code_part(text: &str) -> &str {
    let start = text.match_indices("#[cfg(test)]\n").find(|(i, m)| {
        let next = text[i + m.len()..].lines().next().unwrap_or("");
        next.trim_start_matches("pub(crate) ")
            .starts_with("mod tests")
    });
    match start {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

fn sources() -> Vec<(String, String)> {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let rel = p
                .strip_prefix(&root)
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&p).ok()?;
            Some((rel, text))
        })
        .collect()
}

fn top_module(rel: &str) -> String {
    let first = rel.split('/').next().unwrap_or(rel);
    first.trim_end_matches(".rs").to_string()
}

/// `crate::x` references, including `crate::{x::.., y}` groups.
fn referenced_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn module_graph(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in files {
        let module = top_module(rel);
        if module == "lib" || module == "main" || rel.ends_with("architecture_tests.rs") {
            continue;
        }
        let deps = graph.entry(module.clone()).or_default();
        for m in referenced_modules(code_part(text)) {
            if m != module {
                deps.insert(m);
            }
        }
    }
    graph
}

/// One cycle in the graph, if there is any.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let start = path.iter().position(|p| p == next).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            let mut path = Vec::new();
            if let Some(c) = visit(node, graph, &mut state, &mut path) {
                return Some(c);
            }
        }
    }
    None
}

/// String literals that look like GitHub REST paths.
fn api_path_literals(code: &str) -> Vec<String> {
    const PREFIXES: &[&str] = &[
        "\"/repos/",
        "\"/app/",
        "\"/app\"",
        "\"/app-manifests/",
        "\"/search/",
        "\"/installation/",
        "\"/orgs/",
        "\"/users/",
        "\"{}/repos/",
    ];
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter(|l| PREFIXES.iter().any(|p| l.contains(p)))
        .map(|l| l.trim().to_string())
        .collect()
}

fn code_lines(code: &str) -> usize {
    code.lines()
        .filter(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with("//")
        })
        .count()
}

#[test]
fn top_level_modules_form_no_import_cycle() {
    let graph = module_graph(&sources());
    assert!(graph.contains_key("server"), "the source tree was not read");
    assert_eq!(find_cycle(&graph), None, "import cycle between modules");
}

#[test]
fn no_github_api_path_outside_the_client() {
    let mut found = Vec::new();
    for (rel, text) in sources() {
        if rel.starts_with("github/")
            || rel.ends_with("architecture_tests.rs")
            || PATH_LITERALS_ALLOWED.contains(&rel.as_str())
        {
            continue;
        }
        for l in api_path_literals(code_part(&text)) {
            found.push(format!("{rel}: {l}"));
        }
    }
    assert!(
        found.is_empty(),
        "GitHub API paths outside src/github/: {found:#?}"
    );
}

fn is_test_module_file(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name == "tests.rs" || name.ends_with("_tests.rs") || rel.contains("/tests/")
}

#[test]
fn no_source_file_is_over_the_line_limit() {
    let mut over = Vec::new();
    for (rel, text) in sources() {
        // A test module kept in a file of its own is all test code.
        if is_test_module_file(&rel) {
            continue;
        }
        let n = code_lines(code_part(&text));
        if n > MAX_CODE_LINES && !OVER_LIMIT_ALLOWED.contains(&rel.as_str()) {
            over.push(format!("{rel}: {n} lines"));
        }
    }
    assert!(
        over.is_empty(),
        "files over {MAX_CODE_LINES} lines: {over:?}"
    );
}

/// An entry for a file that was split, renamed or removed would wave through whatever is
/// later written under that name.
#[test]
fn the_allow_lists_name_existing_files() {
    let files: BTreeSet<String> = sources().into_iter().map(|(rel, _)| rel).collect();
    let stale: Vec<&str> = OVER_LIMIT_ALLOWED
        .iter()
        .chain(PATH_LITERALS_ALLOWED)
        .copied()
        .filter(|f| !files.contains(*f))
        .collect();
    assert!(
        stale.is_empty(),
        "allow-list entries with no file: {stale:?}"
    );
}

#[test]
fn the_checks_catch_what_they_are_for() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert!(find_cycle(&graph).is_some());
    graph.insert("b".to_string(), BTreeSet::new());
    assert_eq!(find_cycle(&graph), None);
    assert_eq!(
        referenced_modules("use crate::{store::X, clock};\nlet x = crate::github::web::repo(r);"),
        BTreeSet::from(["store".into(), "clock".into(), "github".into()])
    );
    assert_eq!(
        api_path_literals("let p = format!(\"/repos/{r}/issues\");\n// \"/repos/\" in a comment"),
        vec!["let p = format!(\"/repos/{r}/issues\");".to_string()]
    );
    assert_eq!(code_lines("a\n\n// c\nb\n"), 2);
    assert_eq!(code_part("x\n#[cfg(test)]\nmod tests {}\n"), "x\n");
    assert_eq!(
        code_part("x\n#[cfg(test)]\npub(crate) mod tests {}\n"),
        "x\n"
    );
    assert_eq!(
        code_part("x\n#[cfg(test)]\nmod corpus_tests;\ny\n"),
        "x\n#[cfg(test)]\nmod corpus_tests;\ny\n"
    );
}
