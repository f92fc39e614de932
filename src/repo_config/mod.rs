//! `.github/folio.yml`: the per-repository configuration. Read from the hiring
//! repository, or else from the organisation's `.github` repository, or else the defaults
//! apply. Unknown keys and bad values are rejected with an error that names the key and says
//! what it may be, in words for the person who has to fix the file. The fetching is not here:
//! these functions take the file's text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::analyze::practices::table::{
    ActionRule, CommandRule, CommandSpec, PracticeAdditions, PracticeExtension, PracticeTable,
    TableError,
};
use crate::report::rubric::{Rubric, RubricError, RubricOverrides};

mod error;
mod validate;

pub use error::{ConfigFile, RepoConfigError};
use error::{humanise, strip_location, strip_path};
use validate::validate;

/// Larger files are refused before parsing: a configuration is a few hundred bytes, and YAML
/// aliases can make a small-looking file expensive.
const MAX_FILE_BYTES: usize = 64 * 1024;

/// The whole file. Every section is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepoConfig {
    /// Level thresholds per criterion, applied with [`Rubric::with_overrides`].
    #[serde(default)]
    pub rubric: Option<RubricOverrides>,
    /// Extra tools or equivalents per practice id.
    #[serde(default)]
    pub practices: Option<BTreeMap<String, PracticeExtra>>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub commands: Commands,
}

/// What an organisation adds to one practice's detector table. The detectors decide how each
/// list is used; here they are only checked for shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PracticeExtra {
    /// Tool or command names (`ruff`, `mypy`).
    #[serde(default)]
    pub tools: Vec<String>,
    /// GitHub Actions (`owner/action`).
    #[serde(default)]
    pub actions: Vec<String>,
    /// pre-commit hook ids.
    #[serde(default)]
    pub hooks: Vec<String>,
    /// Command lines or fragments that run the practice.
    #[serde(default)]
    pub commands: Vec<String>,
    /// File names that are the practice (a lock file, a policy).
    #[serde(default)]
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// The most pull request links a submission may hold.
    pub pull_request_links: u32,
    /// The most repository links a submission may hold.
    pub repository_links: u32,
    /// Re-evaluations per issue per hour.
    pub reevaluations_per_hour: u32,
    /// Submissions per day from an author without triage permission (maintainers are not
    /// limited).
    pub submissions_per_day: u32,
    /// The largest repository tarball to download, in megabytes.
    pub max_tarball_mb: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            pull_request_links: 20,
            repository_links: 10,
            reevaluations_per_hour: 6,
            submissions_per_day: 3,
            max_tarball_mb: 100,
        }
    }
}

impl Limits {
    pub fn max_tarball_bytes(&self) -> u64 {
        u64::from(self.max_tarball_mb) * 1024 * 1024
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Labels {
    pub evaluated: String,
    pub needs_info: String,
    pub submission: String,
}

impl Default for Labels {
    fn default() -> Self {
        Self {
            evaluated: "folio: evaluated".into(),
            needs_info: "folio: needs-info".into(),
            submission: "folio: submission".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Commands {
    /// The least permission on the hiring repository needed to run `/folio` commands.
    pub min_permission: Permission,
}

/// Repository permission levels, weakest first, so that `>=` compares them.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    #[default]
    Triage,
    Write,
    Maintain,
    Admin,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Triage => "triage",
            Self::Write => "write",
            Self::Maintain => "maintain",
            Self::Admin => "admin",
        }
    }
}

impl RepoConfig {
    /// The built-in rubric with this file's `rubric:` thresholds applied.
    pub fn rubric(&self) -> Result<Rubric, RubricError> {
        let base = Rubric::builtin()?;
        match &self.rubric {
            Some(o) => base.with_overrides(o),
            None => Ok(base),
        }
    }

    /// The built-in detector table with this file's `practices:` additions. A tool name
    /// counts both as a command and as a pre-commit hook id, since orgs name their wrappers
    /// the same way in both places; a command's first word is the program and the rest are
    /// flags of which one must appear.
    pub fn practice_table(&self) -> Result<PracticeTable, TableError> {
        let mut table = PracticeTable::builtin();
        let Some(practices) = &self.practices else {
            return Ok(table);
        };
        let mut ext = PracticeExtension::default();
        for (id, extra) in practices {
            let mut add = PracticeAdditions::default();
            for tool in &extra.tools {
                add.commands.push(CommandRule::Name(tool.clone()));
                add.hooks.push(tool.clone());
            }
            for command in &extra.commands {
                let mut words = command.split_whitespace().map(str::to_string);
                let cmd = words.next().unwrap_or_default();
                add.commands.push(CommandRule::Full(CommandSpec {
                    cmd,
                    flags_any: words.collect(),
                    not_next: Vec::new(),
                }));
            }
            add.actions
                .extend(extra.actions.iter().cloned().map(ActionRule::Name));
            add.hooks.extend(extra.hooks.iter().cloned());
            add.files.extend(extra.files.iter().cloned());
            ext.0.insert(id.clone(), add);
        }
        table.extend(&ext)?;
        Ok(table)
    }
}

/// Parses and checks one `.github/folio.yml`. An empty file (or one with only comments) gives
/// the defaults.
pub fn parse(text: &str) -> Result<RepoConfig, RepoConfigError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(RepoConfigError {
            file: ConfigFile::Unspecified,
            key: None,
            line: None,
            problem: format!(
                "the file is {} bytes; the most allowed is {MAX_FILE_BYTES}",
                text.len()
            ),
        });
    }
    let untyped: yaml_serde::Value = yaml_serde::from_str(text).map_err(|e| RepoConfigError {
        file: ConfigFile::Unspecified,
        key: None,
        line: e.location().map(|l| l.line()),
        problem: format!("this is not valid YAML: {}", strip_location(&e.to_string())),
    })?;
    if untyped.is_null() {
        return Ok(RepoConfig::default());
    }
    if !untyped.is_mapping() {
        return Err(RepoConfigError {
            file: ConfigFile::Unspecified,
            key: None,
            line: None,
            problem: "the file must be a mapping of sections (rubric, practices, limits, labels, \
                      commands)"
                .into(),
        });
    }
    let de = yaml_serde::Deserializer::from_str(text);
    let config: RepoConfig = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        RepoConfigError {
            file: ConfigFile::Unspecified,
            key: (path != "." && !path.is_empty()).then_some(path),
            line: inner.location().map(|l| l.line()),
            problem: humanise(&strip_path(&strip_location(&inner.to_string()))),
        }
    })?;
    validate(&config)?;
    Ok(config)
}

/// The lookup order: the hiring repository's file, else the organisation's
/// `.github` repository's, else the defaults. A broken file is an error, never silently
/// skipped: falling back would apply rules the organisation did not choose.
pub fn resolve(
    hiring_repo: Option<&str>,
    org_dotgithub: Option<&str>,
) -> Result<RepoConfig, RepoConfigError> {
    match (hiring_repo, org_dotgithub) {
        (Some(text), _) => parse(text).map_err(|e| e.in_file(ConfigFile::HiringRepo)),
        (None, Some(text)) => parse(text).map_err(|e| e.in_file(ConfigFile::OrgDotGithub)),
        (None, None) => Ok(RepoConfig::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALID: &str = "\
# Acme's Folio settings
rubric:
  code_review:
    strong:
      useful_comments: 8
  testing:
    some:
      prs_with_tests: 2
practices:
  lint:
    tools: [ruff-acme]
  dependency_vuln_scan:
    actions: [acme/audit-action]
    commands: [\"acme-audit --strict\"]
limits:
  pull_request_links: 30
  max_tarball_mb: 200
labels:
  evaluated: \"hiring: evaluated\"
commands:
  min_permission: write
";

    #[test]
    fn a_valid_file_is_read() {
        let c = parse(VALID).expect("valid");
        assert_eq!(c.limits.pull_request_links, 30);
        assert_eq!(c.limits.repository_links, 10);
        assert_eq!(c.limits.max_tarball_bytes(), 200 * 1024 * 1024);
        assert_eq!(c.labels.evaluated, "hiring: evaluated");
        assert_eq!(c.labels.needs_info, "folio: needs-info");
        assert_eq!(c.commands.min_permission, Permission::Write);
        let practices = c.practices.as_ref().expect("practices");
        assert_eq!(practices["lint"].tools, vec!["ruff-acme"]);
        let r = c.rubric().expect("rubric");
        assert!(r.version().ends_with("+org"));
    }

    #[test]
    fn an_org_tool_counts_as_the_practice_it_extends() {
        use crate::analyze::practices::analyze_repo;
        use crate::model::PracticeStatus;
        let workflow = "on: [push]\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: ruff-acme check .\n";
        let snapshot = crate::snapshot::RepoSnapshot {
            files: [(
                ".github/workflows/lint.yml".to_string(),
                workflow.to_string(),
            )]
            .into_iter()
            .collect(),
            ..Default::default()
        };
        let status = |table: &PracticeTable| {
            analyze_repo(&snapshot, table)
                .into_iter()
                .find(|f| f.id == "lint")
                .map(|f| f.status)
        };
        let builtin = RepoConfig::default().practice_table().expect("builtin");
        assert_ne!(status(&builtin), Some(PracticeStatus::Present));
        let extended = parse("practices:\n  lint:\n    tools: [ruff-acme]\n")
            .expect("valid")
            .practice_table()
            .expect("extended");
        assert_eq!(status(&extended), Some(PracticeStatus::Present));
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        for text in ["", "   \n", "# only a comment\n", "---\n"] {
            assert_eq!(
                parse(text).expect("empty"),
                RepoConfig::default(),
                "{text:?}"
            );
        }
        let d = RepoConfig::default();
        assert_eq!(d.limits.pull_request_links, 20);
        assert_eq!(d.limits.reevaluations_per_hour, 6);
        assert_eq!(d.limits.submissions_per_day, 3);
        assert_eq!(d.commands.min_permission, Permission::Triage);
        assert_eq!(d.labels.submission, "folio: submission");
    }

    #[test]
    fn an_unknown_key_is_named_with_the_allowed_ones() {
        let e = parse("limits:\n  pull_request_linkz: 5\n").expect_err("unknown key");
        let text = e.to_string();
        assert!(text.contains("pull_request_linkz"), "{text}");
        assert!(text.contains("pull_request_links"), "{text}");
        assert!(text.contains("it may be one of"), "{text}");
        assert_eq!(e.line, Some(2));

        let top = parse("rubrics: {}\n").expect_err("unknown section");
        assert!(top.to_string().contains("`rubric`"), "{top}");
    }

    #[test]
    fn a_wrong_type_is_explained() {
        let e = parse("limits:\n  repository_links: many\n").expect_err("wrong type");
        assert_eq!(e.key.as_deref(), Some("limits.repository_links"));
        assert!(e.to_string().contains("whole number"), "{e}");
        assert!(
            e.problem.starts_with("wrong type"),
            "the key is not said twice: {e}"
        );

        let e = parse("commands:\n  min_permission: owner\n").expect_err("bad value");
        assert_eq!(e.key.as_deref(), Some("commands.min_permission"));
        assert!(e.to_string().contains("`maintain`"), "{e}");
    }

    #[test]
    fn bad_values_are_rejected() {
        let e = parse("limits:\n  pull_request_links: 0\n").expect_err("zero");
        assert!(e.to_string().contains("from 1 to 100"), "{e}");
        assert!(parse("labels:\n  evaluated: \"\"\n").is_err());
        assert!(parse("labels:\n  evaluated: folio: submission\n").is_err());
        let e = parse("labels:\n  evaluated: \"folio: submission\"\n").expect_err("duplicate");
        assert!(
            e.key.as_deref().is_some_and(|k| k.starts_with("labels.")),
            "{e}"
        );
        let e = parse("practices:\n  linting:\n    tools: [x]\n").expect_err("id");
        assert_eq!(e.key.as_deref(), Some("practices.linting"));
        let e = parse("practices:\n  lint:\n    toolz: [x]\n").expect_err("field");
        assert!(e.to_string().contains("toolz"), "{e}");
        let e = parse("rubric:\n  testing:\n    strong:\n      useful_comments: 3\n")
            .expect_err("metric");
        assert_eq!(
            e.key.as_deref(),
            Some("rubric.testing.strong.useful_comments")
        );
        assert!(e.to_string().contains("prs_with_tests"), "{e}");
        let e = parse("rubric:\n  testing:\n    great: {}\n").expect_err("level");
        assert!(e.to_string().contains("great"), "{e}");
        assert!(parse("- a\n- b\n").is_err());
        let e = parse("limits: [\n").expect_err("not YAML");
        assert!(e.to_string().contains("not valid YAML"), "{e}");
    }

    #[test]
    fn the_org_file_is_the_fallback() {
        let org = "limits:\n  repository_links: 4\n";
        let hiring = "limits:\n  repository_links: 7\n";
        assert_eq!(
            resolve(None, Some(org))
                .expect("org")
                .limits
                .repository_links,
            4
        );
        assert_eq!(
            resolve(Some(hiring), Some(org))
                .expect("hiring wins")
                .limits
                .repository_links,
            7
        );
        assert_eq!(
            resolve(None, None).expect("defaults"),
            RepoConfig::default()
        );
        let e = resolve(None, Some("limits: {x: 1}\n")).expect_err("broken org file");
        assert_eq!(e.file, ConfigFile::OrgDotGithub);
        assert!(e.to_string().contains("organisation"), "{e}");
        // A broken hiring-repo file is reported, not skipped in favour of the org's.
        let e = resolve(Some("limits: {x: 1}\n"), Some(org)).expect_err("broken hiring file");
        assert_eq!(e.file, ConfigFile::HiringRepo);
    }

    #[test]
    fn huge_files_are_refused() {
        let big = format!("# {}\n", "x".repeat(MAX_FILE_BYTES));
        assert!(parse(&big).is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = parse(&s);
        }

        #[test]
        fn parse_never_panics_on_yaml_like_text(
            s in proptest::collection::vec(
                prop_oneof![
                    Just("limits:\n".to_string()),
                    Just("  pull_request_links: ".to_string()),
                    Just("rubric:\n  testing:\n    strong:\n      ".to_string()),
                    Just("[".to_string()),
                    Just("&a ".to_string()),
                    Just("*a".to_string()),
                    Just("-1\n".to_string()),
                    Just("1e400\n".to_string()),
                    "[a-z_:{} \\n-]{0,8}",
                ],
                0..12,
            ).prop_map(|v| v.concat())
        ) {
            if let Err(e) = parse(&s) {
                prop_assert!(!e.problem.is_empty());
            }
        }
    }
}
