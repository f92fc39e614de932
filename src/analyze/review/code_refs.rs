//! Whether a review comment points at code: code spans, identifiers shared with the diff
//! hunk, code-like tokens in prose, quoted changed text, line references, `s/old/new/` edits.

use std::collections::HashSet;

use super::lexicon::*;
use super::signals::short;
use super::text::{CODE_MARK, Text, raw_tokens};

/// Identifier-like tokens of a diff hunk (the code the comment is attached to).
pub(super) fn hunk_identifiers(hunk: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    for line in hunk.lines() {
        if line.starts_with("@@") {
            // The hunk header's trailing context (a function name) is code as well.
            if let Some(idx) = line.rfind("@@")
                && idx > 1
            {
                collect_identifiers(&line[idx + 2..], &mut out);
            }
            continue;
        }
        collect_identifiers(line, &mut out);
    }
    out
}

pub(super) fn collect_identifiers(line: &str, out: &mut HashSet<String>) {
    for tok in line.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if tok.chars().count() >= 3 && tok.chars().any(char::is_alphabetic) {
            out.insert(tok.to_string());
        }
    }
}

pub(super) fn is_common(word: &str) -> bool {
    COMMON_WORDS.contains(&word.to_lowercase().as_str())
}

/// Whether a prose token looks like code: snake_case, camelCase, a dotted name, a call, a path.
pub(super) fn code_like(tok: &str) -> Option<&'static str> {
    if tok.is_empty() || tok.starts_with("http") || tok == CODE_MARK {
        return None;
    }
    let letters = tok.chars().filter(|c| c.is_alphabetic()).count();
    if letters == 0 {
        return None;
    }
    let lower = tok.to_lowercase();
    if FILE_EXTENSIONS
        .iter()
        .any(|ext| lower.ends_with(ext) && lower.len() > ext.len() + 1)
    {
        return Some("names file");
    }
    if tok.ends_with("()") && tok.len() > 2 {
        return Some("names call");
    }
    let word_chars = tok
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '.');
    if !word_chars {
        return None;
    }
    // `_private` reads as emphasis in Markdown more often than as a name; `__dunder__` is code.
    let underscored = tok.contains('_') && (!tok.starts_with('_') || tok.starts_with("__"));
    if underscored && letters >= 2 {
        return Some("names identifier");
    }
    let chars: Vec<char> = tok.chars().collect();
    let camel = chars
        .windows(2)
        .any(|w| w[0].is_lowercase() && w[1].is_uppercase());
    if camel && chars.len() >= 4 {
        return Some("names identifier");
    }
    if let Some((a, b)) = tok.split_once('.') {
        let ok = |s: &str| s.len() >= 2 && s.chars().all(|c| c.is_alphanumeric() || c == '_');
        if ok(a)
            && ok(b.split('.').next().unwrap_or(""))
            && !matches!(lower.as_str(), "e.g" | "i.e")
        {
            return Some("names dotted name");
        }
    }
    None
}

/// Phrases of two or more words between quotes: the comment quotes the changed text.
pub(super) fn quoted_phrases(prose: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (open, close) in [('"', '"'), ('\u{201c}', '\u{201d}'), ('\'', '\'')] {
        let chars: Vec<char> = prose.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let boundary_before = i == 0 || !chars[i - 1].is_alphanumeric();
            if chars[i] == open
                && boundary_before
                && let Some(rel) = chars[i + 1..].iter().position(|&c| c == close || c == '\n')
            {
                let end = i + 1 + rel;
                let boundary_after = chars.get(end + 1).is_none_or(|c| !c.is_alphanumeric());
                if chars[end] == close && boundary_after {
                    let inner: String = chars[i + 1..end].iter().collect();
                    let n = inner.split_whitespace().count();
                    if (2..=20).contains(&n) {
                        out.push(inner);
                    }
                    i = end + 1;
                    continue;
                }
            }
            i += 1;
        }
    }
    out
}

/// A sed-style edit, `s/old/new/`, at the start of a word.
pub(super) fn substitution(text: &Text) -> Option<String> {
    text.prose.lines().find_map(|line| {
        let start = line
            .match_indices("s/")
            .find(|(i, _)| *i == 0 || !line[..*i].ends_with(|c: char| c.is_alphanumeric()))?
            .0;
        let rest = &line[start..];
        let end = rest.rfind('/')?;
        (rest[..=end].matches('/').count() >= 2 && end > 2).then(|| short(&rest[..=end]))
    })
}

pub(super) fn is_doc_path(path: Option<&str>) -> bool {
    path.is_some_and(|p| {
        let p = p.to_ascii_lowercase();
        [".rst", ".md", ".txt", ".po"]
            .iter()
            .any(|e| p.ends_with(e))
    })
}

pub(super) fn references_code(
    text: &Text,
    hunk: Option<&HashSet<String>>,
    why: &mut Vec<String>,
) -> bool {
    let reason = if text.suggestion_blocks > 0 {
        Some("proposes replacement code in a suggestion block".to_string())
    } else if let Some(span) = text.code_spans.iter().find(|s| !s.is_empty()) {
        Some(format!("quotes code `{}`", short(span)))
    } else if !text.code_blocks.is_empty() {
        Some("contains a code block".to_string())
    } else if let Some(sub) = substitution(text) {
        Some(format!("gives a substitution {sub}"))
    } else if let Some((tok, what)) =
        raw_tokens(&text.prose).find_map(|t| code_like(t).map(|w| (t, w)))
    {
        Some(format!("{what} `{}`", short(tok)))
    } else if let Some(n) = line_reference(&text.words) {
        Some(format!("points at line {n}"))
    } else if let Some(shared) = hunk.and_then(|h| shared_identifier(text, h)) {
        Some(format!("shares `{shared}` with the diff hunk"))
    } else {
        quoted_phrases(&text.prose)
            .first()
            .map(|q| format!("quotes \"{}\"", short(q)))
    };
    match reason {
        Some(r) => {
            why.push(format!("references_code: {r}"));
            true
        }
        None => false,
    }
}

pub(super) fn line_reference(words: &[String]) -> Option<String> {
    words.windows(2).find_map(|w| {
        (matches!(w[0].as_str(), "line" | "lines" | "l")
            && w[1].chars().all(|c| c.is_ascii_digit()))
        .then(|| w[1].clone())
    })
}

pub(super) fn shared_identifier(text: &Text, hunk: &HashSet<String>) -> Option<String> {
    raw_tokens(&text.prose)
        .flat_map(|t| t.split(|c: char| !(c.is_alphanumeric() || c == '_')))
        .find(|t| t.chars().count() >= 3 && hunk.contains(*t) && !is_common(t) && *t != CODE_MARK)
        .map(str::to_string)
}
