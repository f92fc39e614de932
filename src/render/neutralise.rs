//! Neutralising untrusted text (pull request titles, comment bodies, file lines, step names)
//! before it goes into Markdown that GitHub renders. Nothing here may ping a user or team,
//! cross-link an issue, inject HTML, break a table, open or close a `<details>` block, or
//! forge Folio's marker, and nothing here adds an invisible character: what a reader copies
//! is what the source said.
//!
//! - a handle (`@name`) becomes a link to the profile, without the `@`;
//! - an issue or pull request reference (`#12`, `o/r#12`, `GH-12`) becomes an explicit link;
//! - web addresses and code go into code spans, whose fence is wider than any backtick run
//!   inside, and which GitHub never turns into mentions, references or links;
//! - zero-width, joiner and bidi characters of the source are shown as visible escapes
//!   (`\u{200B}`);
//! - HTML and Markdown control characters in prose are escaped;
//! - quotes are cut on grapheme boundaries before any of this, with an ellipsis.

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_segmentation::UnicodeSegmentation;

/// Where handles and references in a piece of text point: the web base for profiles and the
/// repository the text was written in (`owner/name`), for `#12`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Links<'a> {
    pub web: Option<&'a str>,
    pub repo: Option<&'a str>,
}

impl Links<'_> {
    /// No context: handles and references go into code spans, which GitHub leaves inert.
    pub const NONE: Links<'static> = Links {
        web: None,
        repo: None,
    };
}

/// Characters that hide or reorder text: shown as visible escapes, never passed through.
pub fn is_invisible_or_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

fn visible_escape(c: char) -> String {
    format!("\\u{{{:04X}}}", c as u32)
}

/// At most `max` grapheme clusters of `text`; when it is longer, `max - 1` of them (trailing
/// spaces dropped) and an ellipsis. A cluster is never split, so an emoji or an accented
/// letter is never cut in half.
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    let mut iter = text.grapheme_indices(true);
    match iter.nth(max) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let end = text
                .grapheme_indices(true)
                .nth(max.saturating_sub(1))
                .map_or(text.len(), |(i, _)| i);
            let mut s = text[..end].trim_end().to_string();
            s.push('…');
            Cow::Owned(s)
        }
    }
}

/// At most `max` bytes of `text`; when it is longer, the graphemes that fit before an
/// ellipsis (trailing spaces dropped). Like [`cut`], a cluster is never split; only the first
/// `max` bytes are looked at, however long the text.
pub fn cut_bytes(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let room = max.saturating_sub('…'.len_utf8());
    let end = text
        .grapheme_indices(true)
        .map(|(i, g)| i + g.len())
        .take_while(|end| *end <= room)
        .last()
        .unwrap_or(0);
    let mut s = text[..end].trim_end().to_string();
    s.push('…');
    Cow::Owned(s)
}

/// Prose, with no link context.
pub fn inline(text: &str) -> String {
    prose(text, Links::NONE)
}

/// Like [`inline`], cut first to at most `max` graphemes of the original.
pub fn inline_capped(text: &str, max: usize) -> String {
    prose(&cut(text, max), Links::NONE)
}

/// A quote of untrusted prose: cut to `max` graphemes, then neutralised with `links`.
pub fn quote(text: &str, max: usize, links: Links<'_>) -> String {
    prose(&cut(text, max), links)
}

fn is_handle_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn is_repo_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Whether `chars[i..]` starts with `word`, ignoring ASCII case.
fn starts_with_ci(chars: &[char], i: usize, word: &str) -> bool {
    let n = word.chars().count();
    chars.len() >= i + n
        && chars[i..i + n]
            .iter()
            .zip(word.chars())
            .all(|(a, b)| a.eq_ignore_ascii_case(&b))
}

/// Escape text for use inline in Markdown (tables included): mentions become profile links,
/// references explicit links, addresses code spans; no HTML, no Markdown control characters,
/// no newlines.
pub fn prose(text: &str, links: Links<'_>) -> String {
    // Control characters are dropped up front: dropped later, they would join what stands on
    // either side (`@` NUL `a` into a mention) after the checks had seen them apart.
    let chars: Vec<char> = text
        .chars()
        .filter(|&c| !c.is_control() || matches!(c, '\r' | '\n' | '\t') || is_invisible_or_bidi(c))
        .collect();
    let mut out = String::with_capacity(text.len() + 16);
    if starts_a_block(&chars) {
        // Text placed after `- ` or at the start of a line must not open a list of its own.
        out.push('\\');
    }
    let mut last_was_space = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // GitHub looks for mentions, references and addresses in the rendered text, so what
        // matters is the character already written before this one.
        let at_word_start = out.chars().next_back().is_none_or(|p| !p.is_alphanumeric());
        // Web addresses: GitHub would autolink them, and a link to an issue cross-references
        // it. A code span shows them without either.
        // Schemes go into a span wherever they start, so that no word boundary rule of
        // GitHub's has to be relied on.
        if starts_with_ci(&chars, i, "https://")
            || starts_with_ci(&chars, i, "http://")
            || starts_with_ci(&chars, i, "ftp://")
            || (at_word_start && starts_with_ci(&chars, i, "www."))
        {
            let end = chars[i..]
                .iter()
                .position(|c| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
                .map_or(chars.len(), |p| i + p);
            // Closing punctuation after an address belongs to the sentence, as GitHub reads it.
            let mut end = end;
            while end > i + 4 && matches!(chars[end - 1], ')' | '.' | ',' | ';' | ':' | '!' | '?') {
                end -= 1;
            }
            let s: String = chars[i..end].iter().collect();
            out.push_str(&code(&s));
            i = end;
            last_was_space = false;
            continue;
        }
        if c == '@' && at_word_start && chars.get(i + 1).is_some_and(|n| is_handle_char(*n)) {
            let end = chars[i + 1..]
                .iter()
                .position(|c| !is_handle_char(*c))
                .map_or(chars.len(), |p| i + 1 + p);
            let handle: String = chars[i + 1..end].iter().collect();
            out.push_str(&handle_link(&handle, links));
            i = end;
            last_was_space = false;
            continue;
        }
        if let Some((end, number)) = reference_at(&chars, i, at_word_start) {
            // `owner/name` just before `#12` names the repository the reference is in.
            let repo = repo_before(&chars, i);
            let shown: String = chars[i..end].iter().collect();
            out.push_str(&reference_link(
                &shown,
                number,
                repo.as_deref().or(links.repo),
                links,
            ));
            i = end;
            last_was_space = false;
            continue;
        }
        if starts_with_ci(&chars, i, "folio:") {
            // Never spell Folio's marker, even as visible text: the colon as an entity.
            let word: String = chars[i..i + 5].iter().collect();
            out.push_str(&word);
            out.push_str("&#58;");
            i += 6;
            last_was_space = false;
            continue;
        }
        let was_space = matches!(c, ' ' | '\r' | '\n' | '\t');
        match c {
            '\r' | '\n' | '\t' | ' ' => {
                if !last_was_space {
                    out.push(' ');
                }
            }
            c if is_invisible_or_bidi(c) => {
                out.push('`');
                out.push_str(&visible_escape(c));
                out.push('`');
            }
            '#' => out.push_str("\\#"),
            // An `@` before a letter that is not a handle's (`@¹`, `@é`) pings nobody on GitHub
            // today; written as an entity, no future reading of handles can make it one.
            '@' if at_word_start && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric()) => {
                out.push_str("&#64;");
            }
            c if c.is_control() => {}
            c => push_escaped(&mut out, c),
        }
        last_was_space = was_space;
        i += 1;
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '"' => out.push_str("&quot;"),
        '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '~' | '{' | '}' | '$'
        | '#' => {
            out.push('\\');
            out.push(c);
        }
        c => out.push(c),
    }
}

fn escape_plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    out
}

/// `#12` or `GH-12` at `i` (the latter at a word start only): the end index and the number.
fn reference_at(chars: &[char], i: usize, at_word_start: bool) -> Option<(usize, u64)> {
    let digits_from = if chars[i] == '#' {
        i + 1
    } else if at_word_start && starts_with_ci(chars, i, "gh-") {
        i + 3
    } else {
        return None;
    };
    let n = chars[digits_from..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if n == 0 || n > 12 {
        return None;
    }
    let end = digits_from + n;
    // A scheme right after the number becomes a code span, which ends the word for GitHub.
    let scheme_follows = ["https://", "http://", "ftp://"]
        .iter()
        .any(|s| starts_with_ci(chars, end, s));
    // `_` counts as a boundary: escaped, it no longer joins the number in the text.
    if chars.get(end).is_some_and(|c| c.is_alphanumeric()) && !scheme_follows {
        return None;
    }
    let number: String = chars[digits_from..end].iter().collect();
    Some((end, number.parse().ok()?))
}

/// `owner/name` directly before index `i`, when there is one.
fn repo_before(chars: &[char], i: usize) -> Option<String> {
    let name_len = chars[..i]
        .iter()
        .rev()
        .take_while(|c| is_repo_char(**c))
        .count();
    let slash = i.checked_sub(name_len + 1)?;
    if name_len == 0 || chars[slash] != '/' {
        return None;
    }
    let owner_len = chars[..slash]
        .iter()
        .rev()
        .take_while(|c| is_handle_char(**c))
        .count();
    if owner_len == 0 {
        return None;
    }
    Some(chars[slash - owner_len..i].iter().collect())
}

fn handle_link(handle: &str, links: Links<'_>) -> String {
    match links.web.and_then(|w| url(&format!("{w}/{handle}"))) {
        Some(u) if !handle.starts_with(['-', '_']) => {
            format!("[{}]({u})", escape_plain(handle))
        }
        _ => code(&format!("@{handle}")),
    }
}

fn reference_link(shown: &str, number: u64, repo: Option<&str>, links: Links<'_>) -> String {
    let target = match (links.web, repo) {
        (Some(w), Some(r)) => url(&format!("{w}/{r}/issues/{number}")),
        _ => None,
    };
    match target {
        Some(u) => format!("[{}]({u})", escape_plain(shown)),
        None => code(shown),
    }
}

/// `-`, `+` or `1.` / `1)` at the start: a list marker. Only the first character needs a
/// backslash.
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

/// Code or a file line as a code span: the fence is one backtick longer than any run inside,
/// line breaks become spaces, and hidden characters are shown as visible escapes. A spelled
/// `folio:` is split around an entity colon so that the text never reads as Folio's marker.
pub fn code(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => shown.push(' '),
            c if is_invisible_or_bidi(c) || c.is_control() => shown.push_str(&visible_escape(c)),
            c => shown.push(c),
        }
    }
    // `<` goes outside the span as an entity, so that no raw tag or HTML comment appears in
    // the comment's source, even where Markdown would show it literally.
    let lower = shown.to_ascii_lowercase();
    let mut out = String::with_capacity(shown.len() + 8);
    let mut start = 0;
    let mut at = 0;
    while at < shown.len() {
        if lower[at..].starts_with("folio:") {
            out.push_str(&one_span(&shown[start..at + 5]));
            out.push_str("&#58;");
            at += 6;
            start = at;
        } else if shown[at..].starts_with('<') {
            out.push_str(&one_span(&shown[start..at]));
            out.push_str("&lt;");
            at += 1;
            start = at;
        } else {
            at += shown[at..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out.push_str(&one_span(&shown[start..]));
    out
}

fn one_span(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    // CommonMark strips one space from each side of a span that is not all spaces.
    let pad = if s.trim_start_matches(' ').is_empty() {
        ""
    } else if s.starts_with(['`', ' ']) || s.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    let mut out = String::with_capacity(s.len() + 2 * fence.len() + 2);
    let _ = write!(out, "{fence}{pad}{s}{pad}{fence}");
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
                    let _ = write!(out, "%{b:02X}");
                }
            }
        }
    }
    Some(out)
}

/// `[text](url)` with both halves neutralised, or just the text when the URL is not safe.
/// The text is Folio's own or a short label: it gets no link context.
pub fn link(text: &str, raw_url: &str) -> String {
    match url(raw_url) {
        Some(u) => format!("[{}]({u})", inline(text)),
        None => inline(text),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    const WEB: Links<'static> = Links {
        web: Some("https://github.com"),
        repo: Some("o/r"),
    };

    /// Text outside code spans and outside link texts: what GitHub scans for mentions,
    /// references and autolinks.
    pub(crate) fn scanned_text(s: &str) -> String {
        let chars: Vec<char> = s.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '\\' => {
                    out.push(' ');
                    i += 2;
                }
                '&' if chars.get(i + 1) == Some(&'#') => {
                    // A numeric entity (`&#58;`) renders as one character, not as `#58`.
                    let n = chars[i + 2..]
                        .iter()
                        .take_while(|c| c.is_ascii_digit())
                        .count();
                    out.push(' ');
                    i += 2 + n + usize::from(chars.get(i + 2 + n) == Some(&';'));
                }
                '`' => {
                    let n = chars[i..].iter().take_while(|c| **c == '`').count();
                    let fence: String = "`".repeat(n);
                    let rest: String = chars[i + n..].iter().collect();
                    match rest.find(&fence) {
                        Some(p) => {
                            out.push(' ');
                            i += n + rest[..p].chars().count() + n;
                        }
                        None => {
                            out.push('`');
                            i += n;
                        }
                    }
                }
                '[' => {
                    // `[text](url)`: the text is inside a link and never linked again.
                    let rest: String = chars[i..].iter().collect();
                    match rest.find("](") {
                        Some(p) => {
                            let close = rest[p..].find(')').map_or(rest.len(), |q| p + q + 1);
                            out.push(' ');
                            i += rest[..close].chars().count();
                        }
                        None => {
                            out.push('[');
                            i += 1;
                        }
                    }
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        out
    }

    /// What GitHub would turn into a notification or a cross-reference, or what would end an
    /// enclosing construct, in text that [`prose`] produced.
    pub(crate) fn dangerous(s: &str) -> Option<&'static str> {
        if s.contains(['<', '>', '\n', '\r']) {
            return Some("structure");
        }
        if s.chars().any(is_invisible_or_bidi) {
            return Some("invisible character");
        }
        let lower = s.to_lowercase();
        if lower.contains("folio:evidence") || lower.contains("<!--") {
            return Some("marker");
        }
        let text = scanned_text(s);
        let chars: Vec<char> = text.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            let next = chars.get(i + 1).copied().unwrap_or(' ');
            let prev = i.checked_sub(1).map(|p| chars[p]).unwrap_or(' ');
            match c {
                '@' if (next.is_ascii_alphanumeric() || next == '-' || next == '_')
                    && !prev.is_alphanumeric() =>
                {
                    return Some("mention");
                }
                '#' if next.is_ascii_digit() => return Some("issue reference"),
                '`' | '|' => return Some("unescaped"),
                _ => {}
            }
        }
        let scanned = text.to_lowercase();
        let at_start = |i: usize| !scanned[..i].ends_with(char::is_alphanumeric);
        let gh = scanned.match_indices("gh-").any(|(i, _)| {
            let rest = &scanned[i + 3..];
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            // `GH-4x` is not a reference: the number must end the word.
            digits > 0
                && !rest[digits..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                && at_start(i)
        });
        if gh {
            return Some("GH- reference");
        }
        for scheme in ["https://", "http://", "ftp://", "www."] {
            if scanned.match_indices(scheme).any(|(i, _)| at_start(i)) {
                return Some("autolink");
            }
        }
        None
    }

    #[test]
    fn mentions_become_profile_links_without_the_at_sign() {
        let s = prose("thanks @octocat and @acme/team", WEB);
        assert_eq!(
            s,
            "thanks [octocat](https://github.com/octocat) and [acme](https://github.com/acme)/team"
        );
        assert_eq!(inline("ping @octocat"), "ping `@octocat`");
        assert_eq!(inline("mail a@b.example"), "mail a@b.example");
    }

    #[test]
    fn an_at_sign_before_any_letter_is_written_as_an_entity() {
        for text in ["@¹", "see @é", "x @\u{00B2}y"] {
            let out = prose(text, WEB);
            assert!(!out.contains('@'), "{text:?} → {out}");
        }
        assert!(
            prose("mail me at a@b.c", WEB).contains("a@b.c"),
            "an address stays"
        );
        assert!(prose("just @ alone", WEB).contains('@'));
    }

    #[test]
    fn references_become_explicit_links() {
        assert_eq!(
            prose("see #12 and GH-3, other/repo#5", WEB),
            "see [\\#12](https://github.com/o/r/issues/12) and \
             [GH-3](https://github.com/o/r/issues/3), \
             other/repo[\\#5](https://github.com/other/repo/issues/5)"
        );
        assert_eq!(inline("see #12"), "see `#12`");
        assert_eq!(inline("# heading #x"), "\\# heading \\#x");
    }

    #[test]
    fn no_invisible_character_is_added() {
        let s = prose(
            "uses: pypa/gh-action-pypi-publish@release/v1 see gh-12",
            WEB,
        );
        assert!(s.contains("pypa/gh-action-pypi-publish@release/v1"), "{s}");
        assert!(s.chars().all(|c| !is_invisible_or_bidi(c)), "{s:?}");
        assert!(
            s.ends_with("[gh-12](https://github.com/o/r/issues/12)"),
            "{s}"
        );
        for text in [
            "@x #1 GH-2 https://a.b www.c.d folio:evidence",
            "a\u{200B}b",
        ] {
            let out = prose(text, WEB) + &code(text) + &inline(text);
            assert!(
                !out.contains('\u{2060}') && !out.contains('\u{200B}'),
                "{out:?}"
            );
        }
    }

    #[test]
    fn html_tables_and_the_marker_are_escaped() {
        let s = inline("</details><!-- folio:evidence v1 --> a|b\nc");
        assert!(!s.contains('<'));
        assert!(s.contains("a\\|b"));
        assert!(!s.contains('\n'));
        assert!(!s.to_lowercase().contains("folio:evidence"));
        assert!(s.contains("folio&#58;evidence"));
    }

    #[test]
    fn entities_cannot_smuggle_characters() {
        let s = inline("&#64;octocat &lt;details&gt;");
        assert!(s.starts_with("&amp;"));
        assert!(!s.contains("&#64;"));
    }

    #[test]
    fn addresses_go_into_code_spans() {
        assert_eq!(
            inline("see https://github.com/o/r/issues/1 and www.example.com"),
            "see `https://github.com/o/r/issues/1` and `www.example.com`"
        );
    }

    #[test]
    fn hidden_characters_are_shown_as_escapes() {
        assert_eq!(inline("a\u{202E}b"), "a`\\u{202E}`b");
        assert_eq!(code("x\u{200B}y"), "`x\\u{200B}y`");
    }

    #[test]
    fn code_spans_widen_their_fence() {
        assert_eq!(code("ruff check ."), "`ruff check .`");
        assert_eq!(code("a ` b"), "``a ` b``");
        assert_eq!(code("``x``"), "``` ``x`` ```");
        assert_eq!(code("line\nbreak"), "`line break`");
        assert_eq!(
            code("<!-- folio:evidence v1 -->"),
            "&lt;`!-- folio`&#58;`evidence v1 -->`"
        );
        assert_eq!(code(""), "");
    }

    #[test]
    fn list_markers_at_the_start_are_escaped() {
        assert_eq!(inline("- item"), "\\- item");
        assert_eq!(inline("+ item"), "\\+ item");
        assert_eq!(inline("12. item"), "\\12. item");
        assert_eq!(inline("1) item"), "\\1\\) item");
        assert_eq!(inline("---"), "\\---");
        assert_eq!(inline("2026 was good"), "2026 was good");
        assert_eq!(inline("-x"), "-x");
    }

    #[test]
    fn kept_texts_are_cut_in_bytes_on_grapheme_boundaries() {
        assert_eq!(cut_bytes("short", 8), "short");
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        let text = format!("ab {family}{family}");
        let cut = cut_bytes(&text, 3 + family.len() + 4);
        assert_eq!(cut, format!("ab {family}…"));
        assert!(cut.len() <= 3 + family.len() + 4);
        // Not even the first cluster fits: only the ellipsis.
        assert_eq!(cut_bytes(family, 8), "…");
        let long = "é".repeat(10_000);
        let cut = cut_bytes(&long, 8 * 1024);
        assert!(cut.len() <= 8 * 1024 && cut.ends_with('…'), "{}", cut.len());
    }

    #[test]
    fn quotes_are_cut_on_grapheme_boundaries() {
        assert_eq!(cut("abcdef", 10), "abcdef");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("ab cdef", 4), "ab…");
        // A family emoji is one grapheme of several code points; it is kept whole or dropped.
        let family = "👨\u{200D}👩\u{200D}👧";
        assert_eq!(
            cut(&format!("{family}{family}xyz"), 2),
            format!("{family}…")
        );
        assert_eq!(cut("e\u{301}e\u{301}e\u{301}", 2), "e\u{301}…");
        assert_eq!(inline_capped("abcdef", 4), "abc…");
        // Cut before neutralising: an escape is never cut in half.
        assert_eq!(quote("a<b<c<d", 3, Links::NONE), "a&lt;…");
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

    fn hostile() -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            Just("@".to_string()),
            Just("#".to_string()),
            Just("#12".to_string()),
            Just("GH-".to_string()),
            Just("gH-4".to_string()),
            Just("o/r".to_string()),
            Just("<!-- folio:evidence v1 -->".to_string()),
            Just("</details>".to_string()),
            Just("https://".to_string()),
            Just("wWw.".to_string()),
            Just("|".to_string()),
            Just("`".to_string()),
            Just("``".to_string()),
            Just("\\".to_string()),
            Just("[".to_string()),
            Just("](".to_string()),
            Just(")".to_string()),
            Just("&#64;".to_string()),
            Just("\n".to_string()),
            Just(" ".to_string()),
            Just("\u{202E}".to_string()),
            Just("\u{2060}".to_string()),
            Just("\u{200D}".to_string()),
            "[a-z0-9/_.-]{0,6}",
            any::<char>().prop_map(String::from),
        ];
        proptest::collection::vec(pieces, 0..24).prop_map(|v| v.concat())
    }

    /// Every code span in `s`: its content between the fences.
    pub(crate) fn code_spans(s: &str) -> Vec<String> {
        let chars: Vec<char> = s.chars().collect();
        let mut spans = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '\\' {
                i += 2;
                continue;
            }
            if chars[i] != '`' {
                i += 1;
                continue;
            }
            let n = chars[i..].iter().take_while(|c| **c == '`').count();
            let mut j = i + n;
            let mut found = None;
            while j < chars.len() {
                if chars[j] == '`' {
                    let m = chars[j..].iter().take_while(|c| **c == '`').count();
                    if m == n {
                        found = Some(j);
                        break;
                    }
                    j += m;
                } else {
                    j += 1;
                }
            }
            match found {
                Some(j) => {
                    spans.push(chars[i + n..j].iter().collect());
                    i = j + n;
                }
                None => i += n,
            }
        }
        spans
    }

    proptest! {
        #[test]
        fn prose_output_is_inert(s in hostile()) {
            for links in [Links::NONE, WEB] {
                let out = prose(&s, links);
                prop_assert_eq!(dangerous(&out), None, "input {:?} gave {:?}", s, out);
            }
        }

        #[test]
        fn a_dropped_control_character_joins_nothing(a in "[@#]", b in "[a-z0-9]{1,8}") {
            let out = prose(&format!("{a}\u{0}{b}"), WEB);
            prop_assert_eq!(dangerous(&out), None, "gave {:?}", out);
        }

        #[test]
        fn prose_output_is_inert_for_any_string(s in any::<String>()) {
            let out = prose(&s, WEB);
            prop_assert_eq!(dangerous(&out), None, "input {:?} gave {:?}", s, out);
        }

        #[test]
        fn no_code_span_holds_a_hidden_character(s in hostile()) {
            let out = format!("{} {} {}", code(&s), prose(&s, WEB), inline_capped(&s, 9));
            for span in code_spans(&out) {
                prop_assert!(
                    !span.chars().any(is_invisible_or_bidi),
                    "span {:?} of {:?}", span, out
                );
            }
            prop_assert!(!out.chars().any(is_invisible_or_bidi));
        }

        #[test]
        fn code_spans_hold_the_text_whole(s in "[a-z `]{1,20}") {
            let out = code(&s);
            let spans = code_spans(&out);
            prop_assert_eq!(spans.len(), 1);
            let inner = &spans[0];
            let stripped = if inner.starts_with(' ') && inner.ends_with(' ') && inner.trim() != "" {
                &inner[1..inner.len() - 1]
            } else {
                inner.as_str()
            };
            prop_assert_eq!(stripped, s.as_str());
        }

        #[test]
        fn capped_output_is_inert_and_bounded(s in hostile(), max in 1usize..40) {
            let out = inline_capped(&s, max);
            prop_assert_eq!(dangerous(&out), None);
            prop_assert!(out.chars().count() <= max * 64 + 1);
        }

        #[test]
        fn plain_words_pass_unchanged(s in "[a-zA-Z][a-zA-Z0-9 ,;=+/-]{0,40}") {
            prop_assume!(!s.contains("  ") && !s.ends_with(' '));
            let lower = s.to_lowercase();
            prop_assume!(!lower.contains("www.") && !lower.contains("gh-"));
            prop_assert_eq!(inline(&s), s);
        }

        #[test]
        fn safe_urls_have_no_breaking_characters(s in any::<String>()) {
            if let Some(u) = url(&format!("https://github.com/{s}")) {
                prop_assert!(!u.contains([' ', '(', ')', '<', '>', '"', '\'', '|', '`', '[', ']', '\\', '\n', '@']));
            }
        }
    }
}
