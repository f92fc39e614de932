//! Neutralising untrusted text (PR titles, comment bodies, file names, step names) before it
//! goes into Markdown that GitHub renders. Nothing here may ping a user or team, cross-link an
//! issue, inject HTML, break a table, or forge Folio's marker.

/// Escape text for use inline in Markdown (tables included): no mentions, no issue refs,
/// no HTML, no markdown control characters, no newlines.
pub fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut prev: Option<char> = None;
    for c in text.chars() {
        match c {
            // A zero-width joiner after `@` and `#` keeps the text readable but stops GitHub
            // from turning it into a mention or a cross-reference.
            '@' => out.push_str("@\u{2060}"),
            '#' => out.push_str("#\u{2060}"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' => out.push_str("&#124;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '~' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' | '\t' => {
                if prev != Some(' ') {
                    out.push(' ');
                }
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
        prev = out.chars().last();
    }
    // `GH-123` cross-links like `#123`.
    out.replace("GH-", "GH\u{2060}-")
        .replace("gh-", "gh\u{2060}-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_and_refs_are_defused() {
        let s = inline("thanks @octocat and @acme/team, see #12 and GH-3");
        assert!(!s.contains("@octocat"));
        assert!(!s.contains("@acme"));
        assert!(!s.contains("#12"));
        assert!(!s.contains("GH-3"));
    }

    #[test]
    fn html_and_tables_are_escaped() {
        let s = inline("</details><!-- folio:evidence v1 --> a|b\nc");
        assert!(!s.contains('<'));
        assert!(!s.contains('|'));
        assert!(!s.contains('\n'));
    }
}
