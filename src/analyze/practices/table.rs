//! The practice table: which tools, actions, hook ids, commands, settings and file names count
//! for each practice. The built-in table is `config/practices.toml`, embedded in the binary; an
//! org extends it from `.github/folio.yml`. Adding a tool is a data change.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::Criterion;

const BUILTIN: &str = include_str!("../../../config/practices.toml");

/// A command pattern: the tool's words (`ruff check`), optionally with flags of which one must
/// be given (`--check`), or positional words that must not follow (`ruff format`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum CommandRule {
    Name(String),
    Full(CommandSpec),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    pub cmd: String,
    #[serde(default)]
    pub flags_any: Vec<String>,
    #[serde(default)]
    pub not_next: Vec<String>,
}

impl CommandRule {
    pub fn spec(&self) -> CommandSpec {
        match self {
            Self::Name(cmd) => CommandSpec {
                cmd: cmd.clone(),
                flags_any: Vec::new(),
                not_next: Vec::new(),
            },
            Self::Full(spec) => spec.clone(),
        }
    }
}

/// An action (or reusable workflow) by `owner/repo[/path]`, optionally only with an input set
/// (`cache` on setup-python) or with words in an input (`args: format --check`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ActionRule {
    Name(String),
    Full(ActionSpec),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    pub uses: String,
    /// The input that must be set to a true-ish value (or, with `contains_any`, that must hold
    /// one of those words).
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub contains_any: Vec<String>,
    /// Words that, when present in `input`, disqualify the step. A missing input is fine.
    #[serde(default)]
    pub excludes: Vec<String>,
}

impl ActionRule {
    pub fn spec(&self) -> ActionSpec {
        match self {
            Self::Name(uses) => ActionSpec {
                uses: uses.clone(),
                input: None,
                contains_any: Vec::new(),
                excludes: Vec::new(),
            },
            Self::Full(spec) => spec.clone(),
        }
    }
}

/// A setting in a config file: `section` is a dotted TOML path or an INI section name. Without
/// `key`, the section itself is the setting.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingRule {
    pub file: String,
    pub section: String,
    #[serde(default)]
    pub key: Option<String>,
    /// The value must contain one of these (e.g. `--cov-fail-under` inside `addopts`).
    #[serde(default)]
    pub contains_any: Vec<String>,
}

/// The inputs a practice is decided from; a file of one of these kinds that cannot be parsed
/// turns an absent practice into `could_not_parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    Workflows,
    PreCommit,
    Pyproject,
    TaskRunners,
    BotConfig,
    Codecov,
    Tests,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PracticeDef {
    pub criterion: Criterion,
    /// Plain name, why it matters and a public explanation: read by [`crate::catalogue`].
    pub name: String,
    pub why: String,
    pub docs: String,
    #[serde(default)]
    pub inputs: Vec<InputKind>,
    #[serde(default)]
    pub commands: Vec<CommandRule>,
    #[serde(default)]
    pub actions: Vec<ActionRule>,
    #[serde(default)]
    pub hooks: Vec<String>,
    /// Plugins (requirement names) that count when their host tool runs.
    #[serde(default)]
    pub plugins: Vec<String>,
    #[serde(default)]
    pub plugin_host: Option<String>,
    /// Commands that rewrite files; followed by `git diff --exit-code` they become a check.
    #[serde(default)]
    pub fix_commands: Vec<CommandRule>,
    #[serde(default)]
    pub settings: Vec<SettingRule>,
    /// File names (matched case-insensitively on the last path component).
    #[serde(default)]
    pub files: Vec<String>,
    /// Directories whose files count (fragments), or where `files` may live.
    #[serde(default)]
    pub dirs: Vec<String>,
    /// Path components that disqualify a file (test data, vendored code).
    #[serde(default)]
    pub excluded_dirs: Vec<String>,
    /// Config files of a tool that count for nothing alone (noted as a near miss).
    #[serde(default)]
    pub config_files: Vec<String>,
    /// Release asset name suffixes that show the practice on published releases.
    #[serde(default)]
    pub release_assets: Vec<String>,
    /// Ruff rule selectors that make ruff count (e.g. `S` for sast).
    #[serde(default)]
    pub ruff_rules: Vec<String>,
    /// Matrix keys that mean Python versions or operating systems.
    #[serde(default)]
    pub matrix_keys: Vec<String>,
    /// Inputs, flags and environment variables that pass a long-lived secret.
    #[serde(default)]
    pub secret_inputs: Vec<String>,
    #[serde(default)]
    pub secret_flags: Vec<String>,
    #[serde(default)]
    pub secret_env: Vec<String>,
    /// Words by which a project's own metadata says it is this kind of tool (a linter): its
    /// run on its own code then counts, as any listed tool's would.
    #[serde(default)]
    pub self_run_words: Vec<String>,
}

/// An org's additions for one practice (`practices:`). Only lists that extend what
/// counts; the built-in meaning of a practice cannot be removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PracticeAdditions {
    #[serde(default)]
    pub commands: Vec<CommandRule>,
    #[serde(default)]
    pub actions: Vec<ActionRule>,
    #[serde(default)]
    pub hooks: Vec<String>,
    #[serde(default)]
    pub plugins: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub config_files: Vec<String>,
}

/// The `practices:` section of `.github/folio.yml`: practice id → additions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct PracticeExtension(pub BTreeMap<String, PracticeAdditions>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("unknown practice id `{0}` (known ids: {1})")]
    UnknownPractice(String, String),
    #[error("practice `{practice}`: empty {what} entry")]
    EmptyEntry {
        practice: String,
        what: &'static str,
    },
    #[error("the practice table is invalid: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PracticeTable {
    practices: BTreeMap<String, PracticeDef>,
}

impl PracticeTable {
    /// The embedded table. It is checked by a unit test, so a broken table never ships; should
    /// it fail anyway, an empty table makes every practice absent rather than crashing.
    pub fn builtin() -> PracticeTable {
        match Self::parse(BUILTIN) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "embedded practice table is invalid");
                PracticeTable {
                    practices: BTreeMap::new(),
                }
            }
        }
    }

    pub fn parse(text: &str) -> Result<PracticeTable, TableError> {
        let practices: BTreeMap<String, PracticeDef> =
            toml::from_str(text).map_err(|e| TableError::Invalid(e.to_string()))?;
        for id in practices.keys() {
            if !super::PRACTICE_IDS.contains(&id.as_str()) {
                return Err(TableError::UnknownPractice(
                    id.clone(),
                    super::PRACTICE_IDS.join(", "),
                ));
            }
        }
        Ok(PracticeTable { practices })
    }

    pub fn extend(&mut self, extra: &PracticeExtension) -> Result<(), TableError> {
        for (id, add) in &extra.0 {
            let Some(def) = self.practices.get_mut(id) else {
                return Err(TableError::UnknownPractice(
                    id.clone(),
                    super::PRACTICE_IDS.join(", "),
                ));
            };
            let empty = |what: &'static str| TableError::EmptyEntry {
                practice: id.clone(),
                what,
            };
            if add.commands.iter().any(|c| c.spec().cmd.trim().is_empty()) {
                return Err(empty("command"));
            }
            if add.actions.iter().any(|a| a.spec().uses.trim().is_empty()) {
                return Err(empty("action"));
            }
            if add
                .hooks
                .iter()
                .chain(&add.plugins)
                .chain(&add.files)
                .any(|h| h.trim().is_empty())
            {
                return Err(empty("name"));
            }
            def.commands.extend(add.commands.iter().cloned());
            def.actions.extend(add.actions.iter().cloned());
            def.hooks.extend(add.hooks.iter().cloned());
            def.plugins.extend(add.plugins.iter().cloned());
            def.files.extend(add.files.iter().cloned());
            def.config_files.extend(add.config_files.iter().cloned());
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&PracticeDef> {
        self.practices.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_covers_every_practice() {
        let table = PracticeTable::parse(BUILTIN).unwrap_or_else(|e| panic!("{e}"));
        for id in super::super::PRACTICE_IDS.iter() {
            let def = table
                .get(id)
                .unwrap_or_else(|| panic!("{id} missing from the table"));
            assert_eq!(Some(def.criterion), super::super::criterion_of(id), "{id}");
        }
    }

    #[test]
    fn extension_adds_a_tool() {
        let mut table = PracticeTable::builtin();
        let ext: PracticeExtension = serde_json::from_value(serde_json::json!({
            "lint": {"commands": ["wemake-lint"], "hooks": ["wemake"]}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        table.extend(&ext).unwrap_or_else(|e| panic!("{e}"));
        let lint = table.get("lint").unwrap_or_else(|| panic!("lint"));
        assert!(lint.hooks.iter().any(|h| h == "wemake"));
    }

    #[test]
    fn extension_rejects_unknown_ids_and_fields() {
        let mut table = PracticeTable::builtin();
        let ext: PracticeExtension =
            serde_json::from_value(serde_json::json!({"linting": {"hooks": ["x"]}}))
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            table.extend(&ext),
            Err(TableError::UnknownPractice(..))
        ));
        let bad: Result<PracticeExtension, _> =
            serde_json::from_value(serde_json::json!({"lint": {"tools": ["x"]}}));
        assert!(bad.is_err());
    }
}
