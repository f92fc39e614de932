//! INI files as Python's `configparser` reads them (`setup.cfg`, `tox.ini`, `.coveragerc`,
//! `pytest.ini`, `.flake8`), keeping the line of every value line for evidence.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniValue {
    pub key_line: u32,
    /// Each non-empty line of the value (the first is the text after `=`), with its line.
    pub lines: Vec<(u32, String)>,
}

impl IniValue {
    pub fn joined(&self) -> String {
        self.lines
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IniSection {
    pub name: String,
    pub line: u32,
    pub entries: Vec<(String, IniValue)>,
}

impl IniSection {
    pub fn get(&self, key: &str) -> Option<&IniValue> {
        let key = key.to_ascii_lowercase();
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k.replace('-', "_") == key.replace('-', "_"))
            .map(|(_, v)| v)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ini {
    pub sections: Vec<IniSection>,
}

impl Ini {
    pub fn section(&self, name: &str) -> Option<&IniSection> {
        self.sections.iter().find(|s| s.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct IniError {
    pub line: u32,
    pub message: String,
}

/// Parses leniently where configparser is lenient (comments, continuation lines) and fails
/// where it fails (a key outside any section, an unterminated section header).
pub fn parse(text: &str) -> Result<Ini, IniError> {
    let mut ini = Ini::default();
    let mut current: Option<(String, IniValue)> = None;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx as u32 + 1;
        let trimmed = raw.trim();
        let indented = raw.starts_with([' ', '\t']);
        if trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if indented && current.is_some() {
            if let Some((_, v)) = current.as_mut() {
                v.lines
                    .push((line_no, strip_inline_comment(trimmed).to_string()));
            }
            continue;
        }
        if let Some((k, v)) = current.take() {
            push_entry(&mut ini, k, v);
        }
        if trimmed.starts_with('[') {
            let Some(end) = trimmed.find(']') else {
                return Err(IniError {
                    line: line_no,
                    message: "unterminated section header".into(),
                });
            };
            ini.sections.push(IniSection {
                name: trimmed[1..end].trim().to_string(),
                line: line_no,
                entries: Vec::new(),
            });
            continue;
        }
        let split = trimmed.find(['=', ':']);
        let (key, value) = match split {
            Some(pos) => (trimmed[..pos].trim(), trimmed[pos + 1..].trim()),
            None => (trimmed, ""),
        };
        if ini.sections.is_empty() {
            return Err(IniError {
                line: line_no,
                message: "key outside any section".into(),
            });
        }
        let mut lines = Vec::new();
        let value = strip_inline_comment(value);
        if !value.is_empty() {
            lines.push((line_no, value.to_string()));
        }
        current = Some((
            key.to_ascii_lowercase(),
            IniValue {
                key_line: line_no,
                lines,
            },
        ));
    }
    if let Some((k, v)) = current.take() {
        push_entry(&mut ini, k, v);
    }
    Ok(ini)
}

fn strip_inline_comment(s: &str) -> &str {
    // configparser only strips inline comments when a prefix is configured; tox and setuptools
    // treat ` #` as a comment, which is what real files rely on.
    match s.find(" #") {
        Some(pos) => s[..pos].trim_end(),
        None => s,
    }
}

fn push_entry(ini: &mut Ini, key: String, value: IniValue) {
    if let Some(section) = ini.sections.last_mut() {
        section.entries.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sections_values_and_continuations() {
        let text = "[tox]\nenvlist = py312, lint\n\n[testenv]\ncommands =\n    pytest {posargs}\n    # not this\n    coverage report --fail-under=90\n";
        let ini = parse(text).unwrap_or_else(|e| panic!("{e}"));
        let env = ini.section("testenv").unwrap_or_else(|| panic!("testenv"));
        let cmds = env.get("commands").unwrap_or_else(|| panic!("commands"));
        assert_eq!(
            cmds.lines,
            vec![
                (6, "pytest {posargs}".to_string()),
                (8, "coverage report --fail-under=90".to_string())
            ]
        );
        assert_eq!(
            ini.section("tox")
                .and_then(|s| s.get("envlist"))
                .map(|v| v.key_line),
            Some(2)
        );
    }

    #[test]
    fn commented_out_key_is_absent() {
        let ini = parse("[coverage:report]\n# fail_under = 90\nshow_missing = true\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            ini.section("coverage:report")
                .and_then(|s| s.get("fail_under"))
                .is_none()
        );
    }

    #[test]
    fn key_before_section_fails() {
        assert!(parse("a = 1\n").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = parse(&s);
        }

        #[test]
        fn values_round_trip(k in "[a-z_]{1,10}", v in "[a-z0-9.]{1,10}") {
            let ini = parse(&format!("[s]\n{k} = {v}\n")).unwrap_or_else(|e| panic!("{e}"));
            let got = ini.section("s").and_then(|s| s.get(&k)).map(IniValue::joined);
            prop_assert_eq!(got, Some(v));
        }
    }
}
