//! YAML with line numbers. The typed workflow models keep no positions and reject some valid
//! files, so every YAML input (workflows, pre-commit, dependabot, codecov) goes through this one
//! untyped, positioned tree instead.
//!
//! Hostile input is bounded: nesting deeper than [`MAX_DEPTH`], a tree of more than
//! [`MAX_NODES`] nodes or more than [`MAX_TREE_BYTES`] once aliases are expanded are parse
//! errors, never a stack overflow or an exponential blow-up. Every alias is charged the full
//! size of what it copies, checked before the copy is made.

use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;

pub const MAX_DEPTH: usize = 64;
pub const MAX_NODES: usize = 200_000;
/// The most bytes the expanded tree may hold: scalar text plus [`NODE_BYTES`] per node.
pub const MAX_TREE_BYTES: usize = 16 << 20;
/// What one node costs besides its text, so that many empty nodes are charged too.
const NODE_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar as written; `block` is true for `|` and `>` scalars.
    Scalar {
        text: String,
        block: bool,
        quoted: bool,
    },
    Seq(Vec<Node>),
    /// Keys are kept as scalars' text; complex keys are stringified as empty.
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// 1-based line where the node starts.
    pub line: u32,
    pub value: Value,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The key node itself, for the line of a `key:` that has an empty value.
    pub fn get_key(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, _)| k),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// A plain `null`/`~`/empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, quoted: false, .. } if text.is_empty() || text == "~" || text == "null")
    }

    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(e) => e,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(s) => s,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// The 1-based line of the `i`-th line of a scalar's content. The parser places a block
    /// scalar (`|`, `>`) at its first content line, so the offset is the same for every style.
    pub fn content_line(&self, i: usize) -> u32 {
        self.line + i as u32
    }

    /// A scalar, or the scalars of a sequence, as strings (for `on: [push]`, `args: [...]`).
    pub fn strings(&self) -> Vec<&str> {
        match &self.value {
            Value::Scalar { text, .. } => vec![text.as_str()],
            Value::Seq(items) => items.iter().filter_map(Node::as_str).collect(),
            Value::Map(_) => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct YamlError {
    pub line: u32,
    pub message: String,
}

enum Frame {
    Seq {
        line: u32,
        anchor: usize,
        /// The tree's size when the collection opened, to charge its aliases.
        start: Cost,
        items: Vec<Node>,
    },
    Map {
        line: u32,
        anchor: usize,
        start: Cost,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

/// The size of a tree or subtree: its nodes and its bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    nodes: usize,
    bytes: usize,
}

impl Cost {
    fn since(self, start: Cost) -> Cost {
        Cost {
            nodes: self.nodes - start.nodes,
            bytes: self.bytes - start.bytes,
        }
    }

    /// Adds `more`, or says which budget it would exceed.
    fn charge(&mut self, more: Cost, line: u32) -> Result<(), YamlError> {
        let nodes = self.nodes.saturating_add(more.nodes);
        let bytes = self.bytes.saturating_add(more.bytes);
        if nodes > MAX_NODES {
            return Err(YamlError {
                line,
                message: format!("more than {MAX_NODES} nodes (alias expansion)"),
            });
        }
        if bytes > MAX_TREE_BYTES {
            return Err(YamlError {
                line,
                message: format!("more than {MAX_TREE_BYTES} bytes once aliases are expanded"),
            });
        }
        *self = Cost { nodes, bytes };
        Ok(())
    }
}

/// Parses the first document of `text`. An empty document gives a null scalar.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    match parse_strict(text) {
        Err(first) if first.message.contains("indentation") => {
            // libyaml (PyYAML, GitHub Actions) accepts a flow sequence or mapping whose closing
            // bracket sits at its key's indentation, as in `name: [` ... `]`; saphyr does not.
            // Indenting such closers keeps every line number and changes no value.
            let relaxed: String = text
                .lines()
                .map(|l| {
                    let t = l.trim_start();
                    if t.starts_with(']') || t.starts_with('}') {
                        format!("  {l}\n")
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect();
            parse_strict(&relaxed).map_err(|_| first)
        }
        other => other,
    }
}

fn parse_strict(text: &str) -> Result<Node, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Node, Cost)> = HashMap::new();
    let mut total = Cost::default();
    let mut root: Option<Node> = None;
    for event in parser.by_ref() {
        let (event, span) = event.map_err(|e| YamlError {
            line: e.marker().line() as u32,
            message: e.info().to_string(),
        })?;
        let line = span.start.line() as u32;
        let complete = match event {
            Event::DocumentEnd | Event::StreamEnd => {
                if root.is_some() || stack.is_empty() {
                    break;
                }
                continue;
            }
            Event::Scalar(text, style, anchor, _) => {
                let cost = Cost {
                    nodes: 1,
                    bytes: NODE_BYTES + text.len(),
                };
                total.charge(cost, line)?;
                let node = Node {
                    line,
                    value: Value::Scalar {
                        text: text.into_owned(),
                        block: matches!(style, ScalarStyle::Literal | ScalarStyle::Folded),
                        quoted: matches!(
                            style,
                            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted
                        ),
                    },
                };
                if anchor > 0 {
                    anchors.insert(anchor, (node.clone(), cost));
                }
                Some(node)
            }
            Event::Alias(id) => {
                let (node, cost) = anchors.get(&id).ok_or_else(|| YamlError {
                    line,
                    message: "alias to an unknown anchor".into(),
                })?;
                // Charged before the copy, so that an over-budget alias is never expanded.
                total.charge(*cost, line)?;
                // An alias keeps the position where it is used, so evidence points there.
                Some(Node {
                    line,
                    value: node.value.clone(),
                })
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(YamlError {
                        line,
                        message: format!("nesting deeper than {MAX_DEPTH} levels"),
                    });
                }
                let start = total;
                total.charge(
                    Cost {
                        nodes: 1,
                        bytes: NODE_BYTES,
                    },
                    line,
                )?;
                if matches!(event, Event::SequenceStart(..)) {
                    stack.push(Frame::Seq {
                        line,
                        anchor,
                        start,
                        items: Vec::new(),
                    });
                } else {
                    stack.push(Frame::Map {
                        line,
                        anchor,
                        start,
                        entries: Vec::new(),
                        key: None,
                    });
                }
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match stack.pop() {
                    Some(Frame::Seq {
                        line,
                        anchor,
                        start,
                        items,
                    }) => {
                        let n = Node {
                            line,
                            value: Value::Seq(items),
                        };
                        if anchor > 0 {
                            anchors.insert(anchor, (n.clone(), total.since(start)));
                        }
                        n
                    }
                    Some(Frame::Map {
                        line,
                        anchor,
                        start,
                        entries,
                        ..
                    }) => {
                        let n = Node {
                            line,
                            value: Value::Map(entries),
                        };
                        if anchor > 0 {
                            anchors.insert(anchor, (n.clone(), total.since(start)));
                        }
                        n
                    }
                    None => {
                        return Err(YamlError {
                            line,
                            message: "unbalanced collection".into(),
                        });
                    }
                };
                Some(node)
            }
            _ => None,
        };
        if let Some(node) = complete {
            match stack.last_mut() {
                Some(Frame::Seq { items, .. }) => items.push(node),
                Some(Frame::Map { entries, key, .. }) => match key.take() {
                    Some(k) => entries.push((k, node)),
                    None => {
                        // Complex keys (maps as keys) never matter here; keep them as empty text.
                        let k = if matches!(node.value, Value::Scalar { .. }) {
                            node
                        } else {
                            Node {
                                line: node.line,
                                value: Value::Scalar {
                                    text: String::new(),
                                    block: false,
                                    quoted: false,
                                },
                            }
                        };
                        *key = Some(k);
                    }
                },
                None => root = Some(node),
            }
        }
    }
    Ok(root.unwrap_or(Node {
        line: 1,
        value: Value::Scalar {
            text: String::new(),
            block: false,
            quoted: false,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_lines_of_nested_values() {
        let doc = "on: push\njobs:\n  test:\n    steps:\n      - uses: actions/checkout@v4\n      - run: |\n          pip install .\n          pytest\n";
        let root = parse(doc).unwrap_or_else(|e| panic!("{e}"));
        let steps = root
            .get("jobs")
            .and_then(|j| j.get("test"))
            .and_then(|t| t.get("steps"));
        let steps = steps.map(Node::items).unwrap_or_default();
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].get("uses").map(|n| n.line), Some(5));
        let run = steps[1].get("run").unwrap_or_else(|| panic!("run"));
        assert_eq!(run.content_line(1), 8);
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(parse(&doc).is_err());
    }

    /// An anchored scalar of `len` bytes aliased `times` times in one flow sequence.
    fn scalar_alias_bomb(len: usize, times: usize) -> String {
        let mut doc = format!("big: &a \"{}\"\nall: [", "x".repeat(len));
        doc.push_str(&"*a,".repeat(times));
        doc.push_str("]\n");
        doc
    }

    #[test]
    fn aliases_of_a_long_scalar_are_charged_by_bytes() {
        // Few nodes, but 60 KB copied 2,000 times: 120 MB once expanded.
        let err = parse(&scalar_alias_bomb(60_000, 2_000)).err();
        assert!(
            err.as_ref().is_some_and(|e| e.message.contains("bytes")),
            "{err:?}"
        );
    }

    #[test]
    fn the_reported_alias_bomb_is_refused_without_expanding_it() {
        // The workflow of the report: under 1 MiB, 600 KB aliased 130,000 times (78 GB).
        let doc = scalar_alias_bomb(600_000, 130_000);
        assert!(doc.len() < 1 << 20);
        assert!(parse(&doc).is_err());
    }

    #[test]
    fn aliases_within_the_budget_still_expand() {
        let root = parse(&scalar_alias_bomb(1_000, 100)).unwrap_or_else(|e| panic!("{e}"));
        let all = root.get("all").map(Node::items).unwrap_or_default();
        assert_eq!(all.len(), 100);
        assert_eq!(all[99].as_str().map(str::len), Some(1_000));
    }

    #[test]
    fn deep_nesting_in_block_style_is_bounded() {
        let mut doc = String::new();
        for i in 0..200 {
            doc.push_str(&" ".repeat(i));
            doc.push_str("a:\n");
        }
        assert!(parse(&doc).is_err());
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let doc = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(parse(&doc).is_err());
    }

    #[test]
    fn flow_closer_at_key_indentation_is_accepted() {
        let text = "jobs:\n  t:\n    matrix:\n      name: [\n        \"a\",\n        \"b\",\n      ]\n      os: [x]\n";
        let root = parse(text).unwrap_or_else(|e| panic!("{e}"));
        let matrix = root
            .get("jobs")
            .and_then(|j| j.get("t"))
            .and_then(|t| t.get("matrix"));
        assert_eq!(
            matrix.and_then(|m| m.get("name")).map(Node::strings),
            Some(vec!["a", "b"])
        );
        assert_eq!(matrix.and_then(|m| m.get("os")).map(|n| n.line), Some(8));
    }

    #[test]
    fn broken_yaml_is_an_error() {
        assert!(parse("jobs:\n  a: [unclosed\n  b: {\n").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse(&s);
        }

        #[test]
        fn anchors_and_aliases_stay_within_the_budgets(
            s in "([a-z]{1,3}: (&a|&b)? ?(\\[|\\{)?(\\*a|\\*b|x{1,40})(, \\*a|, \\*b)*(\\]|\\})?\n){0,30}"
        ) {
            if let Ok(root) = parse(&s) {
                let mut nodes = 0usize;
                let mut bytes = 0usize;
                let mut stack = vec![&root];
                while let Some(n) = stack.pop() {
                    nodes += 1;
                    bytes += NODE_BYTES + n.as_str().map_or(0, str::len);
                    stack.extend(n.items());
                    for (k, v) in n.entries() {
                        stack.push(k);
                        stack.push(v);
                    }
                }
                prop_assert!(nodes <= MAX_NODES && bytes <= MAX_TREE_BYTES);
            }
        }

        #[test]
        fn scalar_values_round_trip(key in "[a-z]{1,10}", val in "[a-z0-9]{1,10}") {
            let root = parse(&format!("{key}: v{val}\n")).unwrap_or_else(|e| panic!("{e}"));
            let expected = format!("v{val}");
            prop_assert_eq!(root.get(&key).and_then(Node::as_str), Some(expected.as_str()));
        }
    }
}
