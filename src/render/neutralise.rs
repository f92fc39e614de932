//! Neutralising untrusted text (PR titles, comment bodies, file names, step names) before it
//! goes into Markdown that GitHub renders. Nothing here may ping a user or team, cross-link an
//! issue, inject HTML, break a table, open or close a `<details>` block, or forge Folio's
//! marker.

/// U+2060 WORD JOINER: invisible, keeps text readable, and breaks GitHub's mention, issue
/// reference and autolink patterns, which need their characters to be adjacent.
const WJ: char = '\u{2060}';

/// Characters that reorder or hide text: an attacker could use them to make a link or a
/// level read differently from what it is.
fn is_invisible_or_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
            | '\u{00AD}'
            | '\u{180E}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// Escape text for use inline in Markdown (tables included): no mentions, no issue refs, no
/// autolinks, no HTML, no markdown control characters, no newlines.
pub fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut last_was_space = false;
    let chars: Vec<char> = text.chars().filter(|c| !is_invisible_or_bidi(*c)).collect();
    if starts_a_block(&chars) {
        // Text placed after `- ` or at the start of a line must not open a list of its own.
        out.push('\\');
    }
    for (i, &c) in chars.iter().enumerate() {
        let was_space = matches!(c, ' ' | '\r' | '\n' | '\t');
        match c {
            '@' => {
                out.push('@');
                out.push(WJ);
            }
            '#' => {
                out.push('#');
                out.push(WJ);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '~' | '{' | '}' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '-' if i >= 2
                && chars[i - 1].eq_ignore_ascii_case(&'h')
                && chars[i - 2].eq_ignore_ascii_case(&'g') =>
            {
                // `GH-123` cross-links like `#123`, in any case.
                out.push(WJ);
                out.push('-');
            }
            ':' if chars.get(i + 1) == Some(&'/') && chars.get(i + 2) == Some(&'/') => {
                // `https://…` would autolink, and a link to an issue or pull request makes
                // GitHub cross-reference it.
                out.push(':');
                out.push(WJ);
            }
            '.' if i >= 3 && chars[i - 3..i].iter().all(|w| w.eq_ignore_ascii_case(&'w')) => {
                out.push(WJ);
                out.push('.');
            }
            ':' if i >= 5 && ends_with_ignore_case(&chars[..i], "folio") => {
                // Never spell Folio's marker, even as visible text.
                out.push(':');
                out.push(WJ);
            }
            '\r' | '\n' | '\t' => {
                if !last_was_space {
                    out.push(' ');
                }
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
        last_was_space = was_space;
    }
    out
}

/// `-`, `+` or `1.` / `1)` at the start: a list marker. Only the first character needs a
/// backslash (`1\.` for the ordered case is not needed: `\1.` is not a marker either).
fn starts_a_block(chars: &[char]) -> bool {
    let ends_marker = |at: usize| matches!(chars.get(at), None | Some(' ' | '\t' | '\n' | '\r'));
    match chars.first() {
        // `---` (a rule, or a heading underline) as well as `- item`.
        Some('-') => ends_marker(1) || chars.get(1) == Some(&'-'),
        Some('+') => ends_marker(1),
        Some(c) if c.is_ascii_digit() => {
            let digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
            digits <= 9 && matches!(chars.get(digits), Some('.' | ')')) && ends_marker(digits + 1)
        }
        _ => false,
    }
}

fn ends_with_ignore_case(chars: &[char], word: &str) -> bool {
    let n = word.chars().count();
    chars.len() >= n
        && chars[chars.len() - n..]
            .iter()
            .zip(word.chars())
            .all(|(a, b)| a.eq_ignore_ascii_case(&b))
}

/// Like [`inline`], shortened first to at most `max_chars` characters of the original (an
/// ellipsis marks the cut), so that one long title cannot crowd out the rest of a comment.
pub fn inline_capped(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return inline(text);
    }
    let cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    let mut out = inline(cut.trim_end());
    out.push('…');
    out
}

/// A URL that is safe inside `[text](url)` and `<a href>`: only `http(s)`, and every character
/// that could end the link, start HTML or break a table is percent-encoded. `None` when the
/// URL must not be linked at all.
pub fn url(raw: &str) -> Option<String> {
    let lower = raw.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            'A'..='Z'
            | 'a'..='z'
            | '0'..='9'
            | '-'
            | '.'
            | '_'
            | '~'
            | '/'
            | ':'
            | '?'
            | '='
            | '&'
            | '%'
            | '+'
            | ','
            | ';'
            | '#' => out.push(c),
            // `@` is kept out too: `https://github.com/@user` style paths must not matter,
            // and percent-encoding is harmless in URLs GitHub builds.
            c => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    Some(out)
}

/// `[text](url)` with both halves neutralised, or just the text when the URL is not safe.
pub fn link(text: &str, raw_url: &str) -> String {
    match url(raw_url) {
        Some(u) => format!("[{}]({u})", inline(text)),
        None => inline(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mentions_and_refs_are_defused() {
        let s = inline("thanks @octocat and @acme/team, see #12 and GH-3, gh-4, o/r#5");
        assert!(!s.contains("@octocat"));
        assert!(!s.contains("@acme"));
        assert!(!s.contains("#12"));
        assert!(!s.contains("GH-3"));
        assert!(!s.contains("gh-4"));
        assert!(!s.contains("#5"));
    }

    #[test]
    fn html_and_tables_are_escaped() {
        let s = inline("</details><!-- folio:evidence v1 --> a|b\nc");
        assert!(!s.contains('<'));
        assert!(s.contains("a\\|b"));
        assert!(!s.contains('\n'));
        assert!(!s.contains("folio:evidence"));
    }

    #[test]
    fn entities_cannot_smuggle_characters() {
        // `&#64;` would render as `@` if `&` were kept.
        let s = inline("&#64;octocat &lt;details&gt;");
        assert!(s.starts_with("&amp;"));
        assert!(!s.contains("&#64;"));
    }

    #[test]
    fn autolinks_are_broken() {
        let s = inline("see https://github.com/o/r/issues/1 and www.example.com");
        assert!(!s.contains("https://"));
        assert!(!s.to_lowercase().contains("www."));
    }

    #[test]
    fn bidi_and_invisible_characters_are_dropped() {
        let s = inline("a\u{202E}b\u{200B}c\u{2060}@x");
        assert!(s.starts_with("abc@\u{2060}x"), "{s:?}");
    }

    #[test]
    fn list_markers_at_the_start_are_escaped() {
        assert_eq!(inline("- item"), "\\- item");
        assert_eq!(inline("+ item"), "\\+ item");
        assert_eq!(inline("12. item"), "\\12. item");
        assert_eq!(inline("1) item"), "\\1\\) item");
        assert_eq!(inline("---"), "\\---");
        assert_eq!(inline("2026 was good"), "2026 was good");
        assert_eq!(inline("2026.12.1"), "2026.12.1");
        assert_eq!(inline("-x"), "-x");
        assert_eq!(inline("a - b"), "a - b");
    }

    #[test]
    fn capping_marks_the_cut() {
        assert_eq!(inline_capped("abcdef", 10), "abcdef");
        assert_eq!(inline_capped("abcdef", 4), "abc…");
    }

    #[test]
    fn urls_are_checked_and_encoded() {
        assert_eq!(url("javascript:alert(1)"), None);
        assert_eq!(url("/relative"), None);
        assert_eq!(
            url("https://github.com/o/r/blob/abc/a b(c).py#L3").as_deref(),
            Some("https://github.com/o/r/blob/abc/a%20b%28c%29.py#L3")
        );
        assert_eq!(link("x", "ftp://x"), "x");
    }

    /// What GitHub would turn into a notification or a cross-reference, or what would end an
    /// enclosing construct, in text that [`inline`] produced.
    pub(crate) fn dangerous(s: &str) -> Option<&'static str> {
        let chars: Vec<char> = s.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            let next = chars.get(i + 1).copied().unwrap_or(' ');
            match c {
                '@' if next.is_alphanumeric() || next == '_' || next == '-' => {
                    return Some("mention");
                }
                '#' if next.is_alphanumeric() => return Some("issue reference"),
                '<' | '>' | '\n' | '\r' => return Some("structure"),
                '`' | '|' if i == 0 || chars[i - 1] != '\\' => return Some("unescaped"),
                _ => {}
            }
        }
        let lower = s.to_lowercase();
        if lower.contains("gh-") {
            return Some("GH- reference");
        }
        if lower.contains("://") || lower.contains("www.") {
            return Some("autolink");
        }
        if lower.contains("folio:evidence") || lower.contains("<!--") {
            return Some("marker");
        }
        None
    }

    fn hostile() -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            Just("@".to_string()),
            Just("#".to_string()),
            Just("GH-".to_string()),
            Just("gH-".to_string()),
            Just("<!-- folio:evidence v1 -->".to_string()),
            Just("</details>".to_string()),
            Just("<details>".to_string()),
            Just("https://".to_string()),
            Just("wWw.".to_string()),
            Just("|".to_string()),
            Just("`".to_string()),
            Just("\\".to_string()),
            Just("&#64;".to_string()),
            Just("\n".to_string()),
            Just("\u{202E}".to_string()),
            Just("\u{2060}".to_string()),
            "[a-z0-9/_.-]{0,6}",
            any::<char>().prop_map(String::from),
        ];
        proptest::collection::vec(pieces, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn inline_output_is_inert(s in hostile()) {
            let out = inline(&s);
            prop_assert_eq!(dangerous(&out), None, "input {:?} gave {:?}", s, out);
        }

        #[test]
        fn inline_output_is_inert_for_any_string(s in any::<String>()) {
            let out = inline(&s);
            prop_assert_eq!(dangerous(&out), None, "input {:?} gave {:?}", s, out);
        }

        #[test]
        fn capped_output_is_inert_and_bounded(s in hostile(), max in 1usize..40) {
            let out = inline_capped(&s, max);
            prop_assert_eq!(dangerous(&out), None);
            // Escaping at most multiplies a character by six (`&quot;`).
            prop_assert!(out.chars().count() <= max * 6 + 1);
        }

        #[test]
        fn plain_words_pass_unchanged(s in "[a-zA-Z][a-zA-Z0-9 ,;=+/-]{0,40}") {
            let lower = s.to_lowercase();
            prop_assume!(!lower.contains("gh-") && !lower.contains("www."));
            let collapsed = inline(&s);
            prop_assert_eq!(collapsed, s);
        }

        #[test]
        fn safe_urls_have_no_breaking_characters(s in any::<String>()) {
            if let Some(u) = url(&format!("https://github.com/{s}")) {
                prop_assert!(!u.contains([' ', '(', ')', '<', '>', '"', '\'', '|', '`', '[', ']', '\\', '\n', '@']));
            }
        }
    }
}
