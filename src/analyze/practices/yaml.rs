//! YAML with line numbers. The typed workflow models keep no positions and reject some valid
//! files, so every YAML input (workflows, pre-commit, dependabot, codecov) goes through this one
//! untyped, positioned tree instead.
//!
//! Hostile input is bounded: nesting deeper than [`MAX_DEPTH`] and alias expansion beyond
//! [`MAX_NODES`] are parse errors, never a stack overflow or an exponential blow-up.

use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;

pub const MAX_DEPTH: usize = 64;
pub const MAX_NODES: usize = 200_000;

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
        items: Vec<Node>,
    },
    Map {
        line: u32,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
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
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut nodes = 0usize;
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
                nodes += 1;
                if anchor > 0 {
                    anchors.insert(anchor, node.clone());
                }
                Some(node)
            }
            Event::Alias(id) => {
                let node = anchors.get(&id).cloned().ok_or_else(|| YamlError {
                    line,
                    message: "alias to an unknown anchor".into(),
                })?;
                nodes += count(&node);
                if nodes > MAX_NODES {
                    return Err(YamlError {
                        line,
                        message: "too many nodes (alias expansion)".into(),
                    });
                }
                // An alias keeps the position where it is used, so evidence points there.
                Some(Node {
                    line,
                    value: node.value,
                })
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(YamlError {
                        line,
                        message: format!("nesting deeper than {MAX_DEPTH} levels"),
                    });
                }
                nodes += 1;
                if matches!(event, Event::SequenceStart(..)) {
                    stack.push(Frame::Seq {
                        line,
                        anchor,
                        items: Vec::new(),
                    });
                } else {
                    stack.push(Frame::Map {
                        line,
                        anchor,
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
                        items,
                    }) => {
                        let n = Node {
                            line,
                            value: Value::Seq(items),
                        };
                        if anchor > 0 {
                            anchors.insert(anchor, n.clone());
                        }
                        n
                    }
                    Some(Frame::Map {
                        line,
                        anchor,
                        entries,
                        ..
                    }) => {
                        let n = Node {
                            line,
                            value: Value::Map(entries),
                        };
                        if anchor > 0 {
                            anchors.insert(anchor, n.clone());
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
        if nodes > MAX_NODES {
            return Err(YamlError {
                line,
                message: "too many nodes".into(),
            });
        }
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

fn count(node: &Node) -> usize {
    match &node.value {
        Value::Scalar { .. } => 1,
        Value::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        Value::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count(k) + count(v))
                .sum::<usize>()
        }
    }
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
        fn scalar_values_round_trip(key in "[a-z]{1,10}", val in "[a-z0-9]{1,10}") {
            let root = parse(&format!("{key}: v{val}\n")).unwrap_or_else(|e| panic!("{e}"));
            let expected = format!("v{val}");
            prop_assert_eq!(root.get(&key).and_then(Node::as_str), Some(expected.as_str()));
        }
    }
}
