//! Is a comment in English? Only English comments are judged (SPEC §3): the word tables are
//! English, and a wrong verdict on another language would be worse than none.
//!
//! The check reads prose only: code, quotes and links are language-neutral, so a comment made
//! only of code or emoji is judged.

use super::lexicon::{ENGLISH_FUNCTION_WORDS, FOREIGN_FUNCTION_WORDS};
use super::text::Text;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Judgement {
    English,
    NotJudged(String),
}

pub(crate) fn judge(text: &Text) -> Judgement {
    let (mut latin, mut other) = (0usize, 0usize);
    for c in text.prose.chars().filter(|c| c.is_alphabetic()) {
        if c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c) {
            latin += 1;
        } else {
            other += 1;
        }
    }
    if other >= 2 && other * 2 > latin {
        return Judgement::NotJudged("not in English (non-Latin script)".to_string());
    }
    let english = text
        .words
        .iter()
        .filter(|w| ENGLISH_FUNCTION_WORDS.contains(&w.as_str()))
        .count();
    let foreign = text
        .words
        .iter()
        .filter(|w| FOREIGN_FUNCTION_WORDS.contains(&w.as_str()))
        .count();
    let accented = text
        .words
        .iter()
        .filter(|w| w.chars().any(|c| ('\u{00C0}'..='\u{024F}').contains(&c)))
        .count();
    let total = text.prose_word_count();
    if foreign >= 2 && foreign > english {
        return Judgement::NotJudged(format!(
            "not in English ({foreign} foreign function words, {english} English)"
        ));
    }
    if total >= 3 && english == 0 && (foreign >= 1 || accented * 5 >= total) {
        return Judgement::NotJudged("not in English (no English function words)".to_string());
    }
    Judgement::English
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(s: &str) -> bool {
        judge(&Text::parse(s)) == Judgement::English
    }

    #[test]
    fn english_and_neutral_comments_are_judged() {
        assert!(judged("Can you add a test for the empty case?"));
        assert!(judged("LGTM"));
        assert!(judged("👍"));
        assert!(judged("```suggestion\nx = 1\n```"));
        assert!(judged("nit: s/teh/the/"));
        assert!(judged(
            "Why align `object`? This is not commonly used style."
        ));
    }

    #[test]
    fn other_languages_are_not_judged() {
        assert!(!judged("Il suffit de faire: `if rev.reviewer:`"));
        assert!(!judged(
            "Bitte hier noch einen Test hinzufügen, das ist nicht getestet."
        ));
        assert!(!judged(
            "Esto no funciona con una lista vacía, por favor agrega una prueba."
        ));
        assert!(!judged("这里应该加一个测试用例"));
        assert!(!judged("Это сломается на пустом списке"));
        assert!(!judged("Isso não funciona com uma lista vazia."));
    }
}
