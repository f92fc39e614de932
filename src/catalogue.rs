//! The practice registry: every practice id, its criterion, its plain name, why it matters and
//! a link to a public explanation, read from the embedded `config/practices.toml`. That file is
//! the only place a practice id is declared; analysis, the rubric and rendering all read it
//! from here.

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// The six criteria of the hiring document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    CodeReview,
    Testing,
    StaticChecks,
    CiCd,
    ReleaseEngineering,
    SupplyChain,
}

impl Criterion {
    pub const ALL: [Criterion; 6] = [
        Self::CodeReview,
        Self::Testing,
        Self::StaticChecks,
        Self::CiCd,
        Self::ReleaseEngineering,
        Self::SupplyChain,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CodeReview => "code_review",
            Self::Testing => "testing",
            Self::StaticChecks => "static_checks",
            Self::CiCd => "ci_cd",
            Self::ReleaseEngineering => "release_engineering",
            Self::SupplyChain => "supply_chain",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::CodeReview => "Code review",
            Self::Testing => "Testing",
            Self::StaticChecks => "Static checks",
            Self::CiCd => "CI/CD",
            Self::ReleaseEngineering => "Release engineering",
            Self::SupplyChain => "Supply chain",
        }
    }
}

const BUILTIN: &str = include_str!("../config/practices.toml");

/// What readers and the rubric need to know about one practice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PracticeInfo {
    pub id: String,
    pub criterion: Criterion,
    /// Plain words, used wherever the practice is named (link text, table cells).
    pub name: String,
    /// One line on why the practice matters.
    pub why: String,
    /// A good public explanation (tool docs, GitHub Docs, PyPA, OpenSSF).
    pub docs: String,
}

/// The reader-facing keys of one practice table; the detector keys are read elsewhere.
#[derive(Deserialize)]
struct Entry {
    criterion: Criterion,
    name: String,
    why: String,
    docs: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CatalogueError {
    #[error("the practice table is not valid TOML: {0}")]
    Parse(String),
    #[error("practice `{id}`: {problem}")]
    Invalid { id: String, problem: String },
}

fn parse(text: &str) -> Result<Vec<PracticeInfo>, CatalogueError> {
    // `toml::Table` keeps the file's order (the `preserve_order` feature), which is the order
    // practices are listed in everywhere.
    let table: toml::Table =
        toml::from_str(text).map_err(|e| CatalogueError::Parse(e.to_string()))?;
    let mut out = Vec::with_capacity(table.len());
    for (id, value) in table {
        let invalid = |problem: String| CatalogueError::Invalid {
            id: id.clone(),
            problem,
        };
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(invalid("ids are lowercase words joined by `_`".into()));
        }
        let entry: Entry = value
            .try_into()
            .map_err(|e: toml::de::Error| invalid(e.to_string()))?;
        if entry.criterion == Criterion::CodeReview {
            return Err(invalid("code_review has no repository practices".into()));
        }
        for (key, text) in [("name", &entry.name), ("why", &entry.why)] {
            if text.trim().is_empty() || text.contains('\n') {
                return Err(invalid(format!("`{key}` must be one non-empty line")));
            }
        }
        if !entry.docs.starts_with("https://") {
            return Err(invalid("`docs` must be an https link".into()));
        }
        out.push(PracticeInfo {
            id,
            criterion: entry.criterion,
            name: entry.name,
            why: entry.why,
            docs: entry.docs,
        });
    }
    Ok(out)
}

static BUILTIN_CATALOGUE: LazyLock<Vec<PracticeInfo>> = LazyLock::new(|| match parse(BUILTIN) {
    Ok(list) => list,
    Err(e) => {
        // A unit test parses the embedded file, so this only happens with a broken build.
        tracing::error!(error = %e, "embedded practice table is invalid");
        Vec::new()
    }
});

/// Every practice, in the order of `config/practices.toml`.
pub(crate) fn all() -> &'static [PracticeInfo] {
    &BUILTIN_CATALOGUE
}

pub(crate) fn get(id: &str) -> Option<&'static PracticeInfo> {
    all().iter().find(|p| p.id == id)
}

/// Every practice id, in file order.
pub(crate) fn ids() -> impl Iterator<Item = &'static str> {
    all().iter().map(|p| p.id.as_str())
}

pub(crate) fn criterion_of(id: &str) -> Option<Criterion> {
    get(id).map(|p| p.criterion)
}

/// The ids that feed one criterion, in file order.
pub(crate) fn ids_of(criterion: Criterion) -> Vec<String> {
    all()
        .iter()
        .filter(|p| p.criterion == criterion)
        .map(|p| p.id.clone())
        .collect()
}

/// The plain name of a practice, or the id itself for an id the table does not know.
pub(crate) fn name_of(id: &str) -> &str {
    get(id).map_or(id, |p| p.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_declares_every_practice_with_reader_text() {
        let list = parse(BUILTIN).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(list.len(), 24);
        assert_eq!(list.len(), all().len());
        assert_eq!(list[0].id, "lint");
        assert_eq!(list[23].id, "release_notes");
        for p in &list {
            assert_ne!(p.name, p.id, "{} needs a plain name", p.id);
            assert!(p.why.ends_with('.'), "{}", p.id);
        }
        assert_eq!(criterion_of("least_privilege_token"), Some(Criterion::CiCd));
        assert_eq!(name_of("sast"), "Security analysis of the code");
        assert_eq!(name_of("unknown_id"), "unknown_id");
        assert_eq!(
            ids_of(Criterion::Testing),
            [
                "tests_in_ci",
                "property_based_tests",
                "coverage_gate",
                "mutation_testing"
            ]
        );
    }

    #[test]
    fn broken_entries_are_rejected_with_their_id() {
        let missing_why = "[x]\ncriterion = \"testing\"\nname = \"X\"\ndocs = \"https://e.x\"\n";
        assert!(matches!(parse(missing_why), Err(CatalogueError::Invalid { id, .. }) if id == "x"));
        let plain_http =
            "[x]\ncriterion = \"testing\"\nname = \"X\"\nwhy = \"W.\"\ndocs = \"http://e.x\"\n";
        assert!(parse(plain_http).is_err());
        let review = "[x]\ncriterion = \"code_review\"\nname = \"X\"\nwhy = \"W.\"\ndocs = \"https://e.x\"\n";
        assert!(parse(review).is_err());
        let order = "[b]\ncriterion = \"testing\"\nname = \"B\"\nwhy = \"W.\"\ndocs = \"https://e.x\"\n\
                     [a]\ncriterion = \"testing\"\nname = \"A\"\nwhy = \"W.\"\ndocs = \"https://e.x\"\n";
        let ids: Vec<String> = parse(order)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(ids, ["b", "a"], "file order is kept");
    }
}
