//! Repository practice detectors (SPEC §3), driven by `config/practices.toml`.
//!
//! Analysis is pure: [`analyze_repo`] reads only a [`RepoSnapshot`], so the same code serves
//! `folio scan` (a local directory) and a fetched GitHub tarball. Files are parsed for what
//! they mean (workflow steps, hook ids, tox envs, nox sessions, TOML/INI settings), never
//! grepped; nothing in the repository is executed.

mod ci;
mod common;
mod facts;
pub mod ini;
pub mod python;
mod release;
pub mod runners;
pub mod shell;
mod static_checks;
mod supply_chain;
pub mod table;
mod testing;
pub mod tomlpos;
pub mod workflow;
pub mod yaml;

pub use table::{PracticeExtension, PracticeTable, TableError};

use std::sync::LazyLock;

use crate::model::{Criterion, PracticeFinding, PracticeStatus};
use crate::snapshot::RepoSnapshot;

/// Every practice id, in the order of `config/practices.toml` (see [`crate::catalogue`]).
pub static PRACTICE_IDS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| crate::catalogue::ids().collect());

pub fn criterion_of(practice_id: &str) -> Option<Criterion> {
    crate::catalogue::criterion_of(practice_id)
}

type Detector = fn(&facts::Facts, &table::PracticeDef, &PracticeTable) -> PracticeFinding;

/// The registry: one detector per practice id.
fn detector(id: &str) -> Option<Detector> {
    Some(match id {
        "lint" => |f, d, _| static_checks::lint(f, d),
        "format_check" => |f, d, _| static_checks::format_check(f, d),
        "type_check" => |f, d, _| static_checks::type_check(f, d),
        "pre_commit" => |f, d, _| static_checks::pre_commit(f, d),
        "sast" => |f, d, t| static_checks::sast(f, d, t.get("lint")),
        "tests_in_ci" => |f, d, _| testing::tests_in_ci(f, d),
        "property_based_tests" => |f, d, _| testing::property_based_tests(f, d),
        "coverage_gate" => |f, d, _| testing::coverage_gate(f, d),
        "mutation_testing" => |f, d, _| testing::mutation_testing(f, d),
        "matrix_build" => |f, d, _| ci::matrix_build(f, d),
        "ci_cache" => |f, d, _| ci::ci_cache(f, d),
        "least_privilege_token" => |f, d, _| ci::least_privilege_token(f, d),
        "actions_pinned_by_sha" => |f, d, _| supply_chain::actions_pinned_by_sha(f, d),
        "lockfile" => |f, d, _| supply_chain::lockfile(f, d),
        "dependency_update_bot" => |f, d, _| supply_chain::dependency_update_bot(f, d),
        "dependency_vuln_scan" => |f, d, _| supply_chain::dependency_vuln_scan(f, d),
        "sbom" => |f, d, _| supply_chain::sbom(f, d),
        "signing" => |f, d, _| supply_chain::signing(f, d),
        "security_policy" => |f, d, _| supply_chain::security_policy(f, d),
        "trusted_publishing" => |f, d, _| release::trusted_publishing(f, d),
        "release_automation" => |f, d, _| release::release_automation(f, d),
        "changelog" => |f, d, _| release::changelog(f, d),
        "semver_tags" => |f, d, _| release::semver_tags(f, d),
        "release_notes" => |f, d, _| release::release_notes(f, d),
        _ => return None,
    })
}

/// One finding for every id of [`PRACTICE_IDS`], in that order.
pub fn analyze_repo(snapshot: &RepoSnapshot, table: &PracticeTable) -> Vec<PracticeFinding> {
    analyze_facts(snapshot, &facts::Facts::gather(snapshot), table)
}

/// [`analyze_repo`] and [`parse_warnings`] from one reading of the snapshot.
pub fn analyze_repo_with_warnings(
    snapshot: &RepoSnapshot,
    table: &PracticeTable,
) -> (Vec<PracticeFinding>, Vec<String>) {
    let facts = facts::Facts::gather(snapshot);
    let findings = analyze_facts(snapshot, &facts, table);
    (findings, failure_warnings(&facts))
}

fn analyze_facts(
    snapshot: &RepoSnapshot,
    facts: &facts::Facts,
    table: &PracticeTable,
) -> Vec<PracticeFinding> {
    PRACTICE_IDS
        .iter()
        .map(|id| match (table.get(id), detector(id)) {
            (Some(def), Some(run)) => {
                let mut finding = run(facts, def, table);
                finding.repository = snapshot.full_name.clone();
                finding
            }
            _ => {
                let mut f = PracticeFinding::new(*id, PracticeStatus::NotAssessable);
                f.notes
                    .push("this practice is missing from the practice table".into());
                f
            }
        })
        .collect()
}

/// Files that could not be parsed, as "could not parse PATH: reason" warnings.
pub fn parse_warnings(snapshot: &RepoSnapshot) -> Vec<String> {
    failure_warnings(&facts::Facts::gather(snapshot))
}

fn failure_warnings(facts: &facts::Facts) -> Vec<String> {
    facts
        .failures
        .iter()
        .map(|f| format!("could not parse {}: {}", f.path, f.message))
        .collect()
}

const ROOT_FILES: &[&str] = &[
    "pyproject.toml",
    "setup.cfg",
    "setup.py",
    "tox.ini",
    "tox.toml",
    "noxfile.py",
    "hatch.toml",
    "Makefile",
    "makefile",
    "GNUmakefile",
    "justfile",
    "Justfile",
    ".justfile",
    ".coveragerc",
    "pytest.ini",
    ".flake8",
    "ruff.toml",
    ".ruff.toml",
    "codecov.yml",
    ".codecov.yml",
    "codecov.yaml",
    ".codecov.yaml",
    ".pre-commit-config.yaml",
    ".pre-commit-config.yml",
    "renovate.json",
    "renovate.json5",
    ".renovaterc",
    ".renovaterc.json",
    ".renovaterc.json5",
    ".pyup.yml",
    "cosmic-ray.toml",
    ".cosmic-ray.toml",
    "mutmut_config.py",
    "towncrier.toml",
    ".safety-policy.yml",
    "osv-scanner.toml",
    "trivy.yaml",
    ".snyk",
    ".trivyignore",
];

const LOCK_FILES: &[&str] = &[
    "uv.lock",
    "poetry.lock",
    "pdm.lock",
    "Pipfile.lock",
    "pylock.toml",
    "pixi.lock",
    "conda-lock.yml",
];

const CHANGELOG_STEMS: &[&str] = &[
    "changelog",
    "changes",
    "history",
    "news",
    "release-notes",
    "release_notes",
    "releasenotes",
    "whatsnew",
    "whats_new",
];

const FRAGMENT_DIRS: &[&str] = &[
    "changelog.d",
    "newsfragments",
    "news",
    "changes",
    "changelog",
    ".changeset",
    "changelog_fragments",
    "history",
    "releases",
    "release-notes",
];

/// Which files the analyzers read; the GitHub tarball loader and `folio scan` keep only these.
pub fn is_wanted_path(path: &str) -> bool {
    let path = path.trim_start_matches("./");
    let name = path.rsplit('/').next().unwrap_or(path);
    let dir = path.strip_suffix(name).unwrap_or("").trim_end_matches('/');
    let depth = path.matches('/').count();
    if workflow::is_workflow_path(path)
        || path.starts_with(".github/")
            && (name.ends_with(".yml")
                || name.ends_with(".yaml")
                || name.ends_with(".json")
                || name.ends_with(".json5")
                || name.eq_ignore_ascii_case("security.md"))
    {
        return true;
    }
    if workflow::is_action_path(path)
        || path.starts_with(".gitlab/") && name.starts_with("renovate")
    {
        return true;
    }
    if ROOT_FILES.contains(&name)
        && (depth == 0
            || matches!(
                name,
                "pyproject.toml"
                    | "setup.cfg"
                    | "setup.py"
                    | "Makefile"
                    | "tox.ini"
                    | "noxfile.py"
                    | "ruff.toml"
            ))
    {
        return true;
    }
    if LOCK_FILES.contains(&name) || name.starts_with("pylock.") && name.ends_with(".toml") {
        return true;
    }
    if name.ends_with(".txt")
        && (name.contains("requirements")
            || name.contains("constraints")
            || dir.split('/').any(|c| c == "requirements"))
    {
        return true;
    }
    if name.ends_with(".sh") && depth <= 3 {
        return true;
    }
    // Extension-less scripts CI calls by path: `scripts/test`, `ci/lint`, `bin/check`.
    let parent_dir = dir.rsplit('/').next().unwrap_or(dir);
    if !name.contains('.')
        && depth <= 3
        && matches!(
            parent_dir,
            "scripts" | "script" | "bin" | "ci" | "tools" | "tasks"
        )
    {
        return true;
    }
    if name.eq_ignore_ascii_case("security.md") && (depth == 0 || dir == "docs") {
        return true;
    }
    let stem = name.split('.').next().unwrap_or("").to_ascii_lowercase();
    if CHANGELOG_STEMS.contains(&stem.as_str()) {
        return true;
    }
    let parent = dir.rsplit('/').next().unwrap_or(dir);
    if FRAGMENT_DIRS.contains(&parent) {
        return true;
    }
    name.ends_with(".py") && testing::is_test_file(path)
}

#[cfg(test)]
mod tests;
