//! Splits a review comment's Markdown into prose, code and quotes, so that each signal reads
//! the part it is about: tone and kind come from the reviewer's own words, never from quoted
//! code or someone else's quoted text.

/// Replaces an inline code span inside prose, so that word rules can still see that code was
/// named at that place in the sentence ("use `with`").
pub(crate) const CODE_MARK: &str = "xcodespanx";
const URL_MARK: &str = "xurlx";

#[derive(Debug, Default)]
pub(crate) struct Text {
    /// The reviewer's own words, original case, with code spans replaced by [`CODE_MARK`].
    pub prose: String,
    pub code_spans: Vec<String>,
    /// Contents of fenced or indented code blocks that are not suggestions.
    pub code_blocks: Vec<String>,
    pub suggestion_blocks: usize,
    /// Contents of suggestion blocks (the proposed replacement lines).
    pub suggestions: Vec<String>,
    pub quoted: Vec<String>,
    /// Links in the reviewer's prose (Markdown links and bare URLs; images are not links).
    pub links: usize,
    /// Lower-case words of `prose`.
    pub words: Vec<String>,
    /// Sentences of `prose`, each as lower-case words.
    pub sentences: Vec<Vec<String>>,
    /// For each sentence, whether it ends with a question mark.
    pub questions: Vec<bool>,
}

impl Text {
    pub(crate) fn parse(body: &str) -> Text {
        let mut text = Text::default();
        let mut lines = body.lines().peekable();
        let mut prev_blank = true;
        let mut indented: Option<String> = None;
        while let Some(line) = lines.next() {
            let trimmed = line.trim_start();
            if let Some((fence_char, fence_len, info)) = fence_open(trimmed) {
                flush_indented(&mut indented, &mut text);
                let mut content = String::new();
                for inner in lines.by_ref() {
                    let t = inner.trim_start();
                    if is_fence_close(t, fence_char, fence_len) {
                        break;
                    }
                    content.push_str(inner);
                    content.push('\n');
                }
                if info.to_ascii_lowercase().starts_with("suggestion") {
                    text.suggestion_blocks += 1;
                    text.suggestions.push(content);
                } else {
                    text.code_blocks.push(content);
                }
                prev_blank = false;
                continue;
            }
            let indent = line.len() - trimmed.len();
            if !trimmed.is_empty() && line.starts_with("    ") && indent >= 4 {
                if let Some(block) = indented.as_mut() {
                    block.push_str(trimmed);
                    block.push('\n');
                    continue;
                }
                if prev_blank {
                    indented = Some(format!("{trimmed}\n"));
                    continue;
                }
            } else if !trimmed.is_empty() {
                flush_indented(&mut indented, &mut text);
            }
            if let Some(q) = trimmed.strip_prefix('>') {
                text.quoted.push(q.trim().to_string());
                prev_blank = false;
                continue;
            }
            prev_blank = trimmed.is_empty();
            if indented.is_some() && prev_blank {
                continue;
            }
            let cleaned = strip_inline(trimmed, &mut text.code_spans);
            // An image is not a link; a lone "![" with no link after it takes nothing away.
            text.links += trimmed
                .matches("](")
                .count()
                .saturating_sub(trimmed.matches("![").count().min(1))
                + cleaned.matches(URL_MARK).count();
            text.prose.push_str(&cleaned);
            text.prose.push('\n');
        }
        flush_indented(&mut indented, &mut text);
        text.words = words_of(&text.prose);
        (text.sentences, text.questions) = split_sentences(&text.prose);
        text
    }

    pub(crate) fn has_code(&self) -> bool {
        !self.code_spans.is_empty() || !self.code_blocks.is_empty()
    }

    /// Whether the comment holds any prose words other than code and link markers.
    pub(crate) fn prose_word_count(&self) -> usize {
        self.words
            .iter()
            .filter(|w| w.as_str() != CODE_MARK && w.as_str() != URL_MARK)
            .count()
    }
}

fn flush_indented(indented: &mut Option<String>, text: &mut Text) {
    if let Some(block) = indented.take() {
        text.code_blocks.push(block);
    }
}

/// An opening code fence: three or more backticks or tildes, then an optional info string.
fn fence_open(line: &str) -> Option<(char, usize, &str)> {
    let first = line.chars().next()?;
    if first != '`' && first != '~' {
        return None;
    }
    let len = line.chars().take_while(|&c| c == first).count();
    if len < 3 {
        return None;
    }
    let info = &line[len..];
    // A backtick fence's info string cannot hold a backtick (CommonMark); such a line is
    // inline code, not a fence.
    if first == '`' && info.contains('`') {
        return None;
    }
    Some((first, len, info.trim()))
}

fn is_fence_close(line: &str, fence_char: char, fence_len: usize) -> bool {
    let len = line.chars().take_while(|&c| c == fence_char).count();
    len >= fence_len && line[len..].trim().is_empty()
}

/// Removes inline code spans, link targets and bare URLs from one line of prose.
fn strip_inline(line: &str, spans: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(pos) = rest.find('`') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        let run = after.chars().take_while(|&c| c == '`').count();
        let closing = "`".repeat(run);
        let body = &after[run..];
        match body.find(closing.as_str()) {
            Some(end) => {
                spans.push(body[..end].trim().to_string());
                out.push(' ');
                out.push_str(CODE_MARK);
                out.push(' ');
                rest = &body[end + run..];
            }
            None => {
                out.push_str(&after[..run]);
                rest = body;
            }
        }
    }
    out.push_str(rest);
    strip_links(&out)
}

fn strip_links(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    // Markdown link targets: keep the link text, drop the "(url)".
    while let Some(pos) = rest.find("](") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        match after.find(')') {
            Some(end) => rest = &after[end + 1..],
            None => {
                rest = after;
                break;
            }
        }
    }
    out.push_str(rest);
    out.split(' ')
        .map(|w| {
            if w.starts_with("http://") || w.starts_with("https://") {
                URL_MARK
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '\''
}

pub(crate) fn words_of(s: &str) -> Vec<String> {
    s.replace(['\u{2019}', '\u{2018}'], "'")
        .split(|c: char| !is_word_char(c))
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

fn split_sentences(prose: &str) -> (Vec<Vec<String>>, Vec<bool>) {
    let mut out = Vec::new();
    let mut questions = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = prose.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        let ends = matches!(c, '!' | '?' | '\n' | ';' | ':')
            || (c == '.' && (next.is_whitespace() || next == '.'));
        if ends {
            let words = words_of(&current);
            if !words.is_empty() {
                out.push(words);
                questions.push(c == '?');
            }
            current.clear();
        } else {
            current.push(c);
        }
    }
    let words = words_of(&current);
    if !words.is_empty() {
        out.push(words);
        questions.push(false);
    }
    (out, questions)
}

/// Raw tokens of prose (whitespace separated, surrounding punctuation removed), original case.
pub(crate) fn raw_tokens(prose: &str) -> impl Iterator<Item = &str> {
    prose.split_whitespace().map(|t| {
        t.trim_matches(|c: char| {
            matches!(
                c,
                ',' | ';' | ':' | '!' | '?' | '"' | '\'' | '(' | ')' | '[' | ']' | '*' | '<' | '>'
            )
        })
        .trim_end_matches('.')
    })
}

/// Whether `words` contains `phrase` (space-separated lower-case words) as consecutive words.
pub(crate) fn has_phrase(words: &[String], phrase: &str) -> bool {
    // Called for every phrase of every table on every comment: no allocation, and the rest of
    // the phrase is compared only where its first word matches.
    // Phrases are a few bytes long: a plain scan beats the general searcher here.
    let (first, rest) = match phrase.bytes().position(|b| b == b' ') {
        Some(at) => (&phrase[..at], Some(&phrase[at + 1..])),
        None => (phrase, None),
    };
    let lead = first.as_bytes().first();
    words.iter().enumerate().any(|(i, w)| {
        w.len() == first.len()
            && w.as_bytes().first() == lead
            && w == first
            && rest.is_none_or(|rest| {
                let mut next = words[i + 1..].iter();
                rest.split(' ').all(|p| next.next().is_some_and(|w| w == p))
            })
    })
}

/// Where `phrase` starts in `words`, as consecutive whole words.
pub(crate) fn phrase_starts<'a>(
    words: &'a [String],
    phrase: &'a str,
) -> impl Iterator<Item = usize> + 'a {
    let parts: Vec<&str> = phrase.split(' ').collect();
    (0..words.len()).filter(move |&i| {
        words.len() - i >= parts.len() && parts.iter().zip(&words[i..]).all(|(p, w)| w == p)
    })
}

/// The first phrase of `phrases` found in `words`.
pub(crate) fn find_phrase<'p>(words: &[String], phrases: &[&'p str]) -> Option<&'p str> {
    let words = Words::new(words);
    phrases.iter().copied().find(|p| words.has(p))
}

/// Words with a 256-bit signature of their (first byte, length) pairs, for testing many
/// phrases against the same words: a phrase whose first word's pair is missing from the
/// signature cannot occur, and is ruled out without a scan. Exact: the signature only skips
/// scans that would have failed.
pub(crate) struct Words<'w> {
    words: &'w [String],
    signature: [u64; 4],
}

impl<'w> Words<'w> {
    pub(crate) fn new(words: &'w [String]) -> Words<'w> {
        let mut signature = [0u64; 4];
        for w in words {
            if let Some(&b) = w.as_bytes().first() {
                let bit = signature_bit(b, w.len());
                signature[bit / 64] |= 1 << (bit % 64);
            }
        }
        Words { words, signature }
    }

    /// Whether the words contain `phrase` as consecutive words ([`has_phrase`]).
    pub(crate) fn has(&self, phrase: &str) -> bool {
        let first_len = phrase
            .bytes()
            .position(|b| b == b' ')
            .unwrap_or(phrase.len());
        match phrase.as_bytes().first() {
            Some(&b) => {
                let bit = signature_bit(b, first_len);
                self.signature[bit / 64] & (1 << (bit % 64)) != 0 && has_phrase(self.words, phrase)
            }
            None => has_phrase(self.words, phrase),
        }
    }
}

fn signature_bit(first_byte: u8, len: usize) -> usize {
    (usize::from(first_byte).wrapping_mul(31).wrapping_add(len)) & 255
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrase_starts_finds_every_occurrence() {
        let words = words_of("stupid me, but this stupid code is stupid");
        assert_eq!(
            phrase_starts(&words, "stupid").collect::<Vec<_>>(),
            [0, 4, 7]
        );
        assert_eq!(phrase_starts(&words, "stupid me").collect::<Vec<_>>(), [0]);
        assert_eq!(phrase_starts(&words, "is stupid now").count(), 0);
    }

    #[test]
    fn the_signature_never_hides_a_phrase() {
        let words = words_of("Please don't add a regression test; use `os.replace` instead, é");
        let w = Words::new(&words);
        for phrase in [
            "please",
            "don't add",
            "add a regression test",
            "instead é",
            "é",
            "use",
            "replace instead",
        ] {
            assert_eq!(w.has(phrase), has_phrase(&words, phrase), "{phrase}");
        }
        assert!(!w.has("missing phrase"));
        assert!(!w.has(""));
    }

    #[test]
    fn phrases_match_consecutive_whole_words_only() {
        let words: Vec<String> = ["please", "add", "a", "test", "here"]
            .iter()
            .map(|w| w.to_string())
            .collect();
        assert!(has_phrase(&words, "add a test"));
        assert!(has_phrase(&words, "here"));
        assert!(!has_phrase(&words, "add test"));
        assert!(!has_phrase(&words, "test here please"));
        assert!(!has_phrase(&words, "tes"));
        assert!(!has_phrase(&[], "add"));
    }

    #[test]
    fn an_unfinished_image_mark_is_not_a_negative_link_count() {
        assert_eq!(Text::parse("![").links, 0);
        assert_eq!(
            Text::parse("see ![x](a.png) and [docs](https://example.com)").links,
            1
        );
    }

    #[test]
    fn separates_suggestion_code_quote_and_prose() {
        let t = Text::parse(
            "> quoted text\nUse `foo()` here.\n```suggestion\nx = 1\n```\n```python\ny = 2\n```",
        );
        assert_eq!(t.quoted, vec!["quoted text"]);
        assert_eq!(t.code_spans, vec!["foo()"]);
        assert_eq!(t.suggestion_blocks, 1);
        assert_eq!(t.suggestions, vec!["x = 1\n"]);
        assert_eq!(t.code_blocks, vec!["y = 2\n"]);
        assert!(t.words.contains(&"use".to_string()));
        assert!(!t.words.contains(&"quoted".to_string()));
    }

    #[test]
    fn suggestion_fence_with_space_and_tildes() {
        assert_eq!(Text::parse("``` suggestion\na\n```").suggestion_blocks, 1);
        assert_eq!(Text::parse("~~~suggestion\na\n~~~").suggestion_blocks, 1);
        assert_eq!(Text::parse("```\na\n```").suggestion_blocks, 0);
    }

    #[test]
    fn unclosed_backtick_is_kept_as_text() {
        let t = Text::parse("to have `'` on all versions and ` alone");
        assert_eq!(t.code_spans, vec!["'"]);
    }

    #[test]
    fn indented_code_after_blank_line() {
        let t = Text::parse("do something like\n\n    def foo(arg=x):\n      ...\n\nthen more");
        assert_eq!(t.code_blocks.len(), 1);
        assert!(t.words.contains(&"then".to_string()));
    }

    #[test]
    fn links_keep_text_drop_target() {
        let t = Text::parse("see [the docs](https://example.com/x) and https://a.b/c");
        assert!(t.words.contains(&"docs".to_string()));
        assert!(!t.prose.contains("example.com"));
        assert!(!t.prose.contains("a.b/c"));
    }

    #[test]
    fn phrase_matching() {
        let w = words_of("Might be better to do this");
        assert!(has_phrase(&w, "be better to"));
        assert!(!has_phrase(&w, "better be"));
    }
}
