//! TOML (pyproject.toml, tox.toml, hatch.toml, ruff.toml) read into the same positioned tree
//! as YAML, so that detectors walk one shape and evidence keeps real line numbers.

use super::yaml::{Node, Value};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The longest error text kept: the parser quotes the offending line, which may be huge.
pub const MAX_ERROR_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TomlError(pub String);

/// Parses a TOML document. Integers, floats, booleans and dates become scalars as written.
pub fn parse(text: &str) -> Result<Node, TomlError> {
    let table = DeTable::parse(text).map_err(|e| TomlError(capped(&e.to_string())))?;
    let starts = line_starts(text);
    Ok(convert_table(table.get_ref(), 1, &starts))
}

/// One line of at most [`MAX_ERROR_CHARS`] characters, ending in `…` when cut.
fn capped(message: &str) -> String {
    let mut out = String::new();
    for (i, c) in message.chars().enumerate() {
        if i + 1 >= MAX_ERROR_CHARS {
            out.push('…');
            break;
        }
        out.push(if c == '\n' { ' ' } else { c });
    }
    out
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

fn line_of(starts: &[usize], offset: usize) -> u32 {
    let idx = match starts.binary_search(&offset) {
        Ok(i) => i,
        Err(i) => i.saturating_sub(1),
    };
    idx as u32 + 1
}

fn scalar(text: String, line: u32) -> Node {
    Node {
        line,
        value: Value::Scalar {
            text,
            block: false,
            quoted: false,
        },
    }
}

fn convert_table(table: &DeTable<'_>, line: u32, starts: &[usize]) -> Node {
    let mut entries: Vec<(Node, Node)> = table
        .iter()
        .map(|(k, v)| {
            let key_line = line_of(starts, k.span().start);
            (
                scalar(k.get_ref().to_string(), key_line),
                convert(v, starts),
            )
        })
        .collect();
    // The map keeps keys sorted; file order reads better in evidence.
    entries.sort_by_key(|(k, _)| k.line);
    Node {
        line,
        value: Value::Map(entries),
    }
}

fn convert(value: &Spanned<DeValue<'_>>, starts: &[usize]) -> Node {
    let line = line_of(starts, value.span().start);
    match value.get_ref() {
        DeValue::String(s) => Node {
            line,
            value: Value::Scalar {
                text: s.to_string(),
                block: false,
                quoted: true,
            },
        },
        DeValue::Integer(i) => scalar(i.as_str().to_string(), line),
        DeValue::Float(f) => scalar(f.as_str().to_string(), line),
        DeValue::Boolean(b) => scalar(b.to_string(), line),
        DeValue::Datetime(d) => scalar(d.to_string(), line),
        DeValue::Array(items) => Node {
            line,
            value: Value::Seq(items.iter().map(|v| convert(v, starts)).collect()),
        },
        DeValue::Table(t) => convert_table(t, line, starts),
    }
}

/// Walks a dotted path of keys (`["tool", "coverage", "report"]`).
pub fn path<'a>(root: &'a Node, keys: &[&str]) -> Option<&'a Node> {
    keys.iter().try_fold(root, |node, key| node.get(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_keys_and_values() {
        let text = "[project]\nname = \"x\"\n\n[tool.coverage.report]\n# fail_under = 50\nfail_under = 90\n";
        let root = parse(text).unwrap_or_else(|e| panic!("{e}"));
        let fu = path(&root, &["tool", "coverage", "report", "fail_under"]);
        assert_eq!(fu.map(|n| n.line), Some(6));
        assert_eq!(fu.and_then(Node::as_str), Some("90"));
    }

    #[test]
    fn arrays_keep_element_lines() {
        let root = parse("a = [\n  \"x\",\n  \"y\",\n]\n").unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<u32> = root
            .get("a")
            .map(|a| a.items().iter().map(|n| n.line).collect())
            .unwrap_or_default();
        assert_eq!(lines, vec![2, 3]);
    }

    #[test]
    fn error_text_is_capped_whatever_the_line_length() {
        // A 1 MiB line with an error at its end: the message must not carry the line.
        let text = format!("a = \"{}\" x\n", "y".repeat(1 << 20));
        let err = parse(&text).err().map(|e| e.0).unwrap_or_default();
        assert!(!err.is_empty());
        assert!(
            err.chars().count() <= MAX_ERROR_CHARS,
            "{} chars",
            err.len()
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let n = 100_000;
        let text = format!("a = {}{}\n", "[".repeat(n), "]".repeat(n));
        assert!(parse(&text).is_err());
        let text = format!("a = {}1{}\n", "{b = ".repeat(n), "}".repeat(n));
        assert!(parse(&text).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_text_never_panics_and_errors_stay_short(s in "[\\[\\]{}=\"'a-z0-9.,#\n ]{0,300}") {
            if let Err(e) = parse(&s) {
                proptest::prop_assert!(e.0.chars().count() <= MAX_ERROR_CHARS);
            }
        }
    }

    #[test]
    fn invalid_toml_fails() {
        assert!(parse("[tool\nx = ").is_err());
    }
}
