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
mod runs;
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

/// The most text of one repository that the parsers read; the fetch layer may keep more.
pub const MAX_PARSED_BYTES: usize = 8 << 20;

/// The snapshot cut to [`MAX_PARSED_BYTES`], and one warning when files were left out.
/// Workflows, local actions and root configuration files are admitted first, then the rest
/// from the smallest, so that one huge file costs itself and not the others.
fn within_budget(
    snapshot: &RepoSnapshot,
    budget: usize,
) -> (std::borrow::Cow<'_, RepoSnapshot>, Option<String>) {
    let total: usize = snapshot.files.values().map(String::len).sum();
    if total <= budget {
        return (std::borrow::Cow::Borrowed(snapshot), None);
    }
    let mut order: Vec<(&String, &String)> = snapshot.files.iter().collect();
    order.sort_by_key(|(path, text)| (!is_read_first(path), text.len(), path.as_str()));
    let mut used = 0usize;
    let mut kept = RepoSnapshot {
        full_name: snapshot.full_name.clone(),
        commit: snapshot.commit.clone(),
        files: Default::default(),
        skipped: snapshot.skipped.clone(),
        tags: snapshot.tags.clone(),
        releases: snapshot.releases.clone(),
        activity: snapshot.activity.clone(),
    };
    let mut left_out: Vec<&str> = Vec::new();
    for (path, text) in order {
        if used + text.len() <= budget {
            used += text.len();
            kept.files.insert(path.clone(), text.clone());
        } else {
            left_out.push(path);
            kept.skipped.push(crate::snapshot::SkippedFile {
                path: path.clone(),
                reason: format!("past the {budget}-byte budget of parsed text per repository"),
            });
        }
    }
    left_out.sort_unstable();
    (
        std::borrow::Cow::Owned(kept),
        Some(budget_warning(&left_out, budget)),
    )
}

/// Files admitted before any other when a repository's text is over the budget: workflows,
/// local actions and root configuration files.
pub fn is_read_first(path: &str) -> bool {
    workflow::is_workflow_path(path) || workflow::is_action_path(path) || ROOT_FILES.contains(&path)
}

/// The one warning for the files (sorted) left out of a repository's budget of parsed text,
/// whether here or already by the fetch layer, which keeps no more text than the budget.
pub fn budget_warning(left_out: &[&str], budget: usize) -> String {
    let shown: Vec<&str> = left_out.iter().take(10).copied().collect();
    let more = left_out.len() - shown.len();
    let mut warning = format!(
        "{} files not analysed, past the {} MiB budget of parsed text per repository: {}",
        left_out.len(),
        budget >> 20,
        shown.join(", ")
    );
    if more > 0 {
        warning.push_str(&format!(" and {more} more"));
    }
    warning
}

/// One finding for every id of [`PRACTICE_IDS`], in that order.
pub fn analyze_repo(snapshot: &RepoSnapshot, table: &PracticeTable) -> Vec<PracticeFinding> {
    let (snapshot, _) = within_budget(snapshot, MAX_PARSED_BYTES);
    analyze_facts(&snapshot, &facts::Facts::gather(&snapshot), table)
}

/// [`analyze_repo`] and [`parse_warnings`] from one reading of the snapshot.
pub fn analyze_repo_with_warnings(
    snapshot: &RepoSnapshot,
    table: &PracticeTable,
) -> (Vec<PracticeFinding>, Vec<String>) {
    let (snapshot, budget_warning) = within_budget(snapshot, MAX_PARSED_BYTES);
    let facts = facts::Facts::gather(&snapshot);
    let findings = analyze_facts(&snapshot, &facts, table);
    let mut warnings = failure_warnings(&facts);
    warnings.extend(budget_warning);
    (findings, warnings)
}

/// What analysing one repository gave: its findings and warnings, or a notice that it could
/// not be analysed within Folio's limits (the service then marks the repository unknown and
/// completes the job for the rest).
#[derive(Debug)]
pub enum RepoOutcome {
    Analysed {
        findings: Vec<PracticeFinding>,
        warnings: Vec<String>,
    },
    OverLimits {
        warning: String,
    },
}

/// [`analyze_repo_with_warnings`] under `catch_unwind`: a file that trips a bug in a parser
/// costs that repository, never the process and the other jobs in it.
pub fn analyze_repo_guarded(snapshot: &RepoSnapshot, table: &PracticeTable) -> RepoOutcome {
    guarded(snapshot, || analyze_repo_with_warnings(snapshot, table))
}

fn guarded(
    snapshot: &RepoSnapshot,
    analyze: impl FnOnce() -> (Vec<PracticeFinding>, Vec<String>),
) -> RepoOutcome {
    // Nothing the closure borrows is used after a panic, so no broken invariant can be seen.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(analyze)) {
        Ok((findings, warnings)) => RepoOutcome::Analysed { findings, warnings },
        Err(_) => RepoOutcome::OverLimits {
            warning: format!(
                "a file in {} could not be analysed within Folio's limits",
                snapshot.full_name.as_deref().unwrap_or("this repository")
            ),
        },
    }
}

fn analyze_facts(
    snapshot: &RepoSnapshot,
    facts: &facts::Facts,
    table: &PracticeTable,
) -> Vec<PracticeFinding> {
    let mut findings: Vec<PracticeFinding> = PRACTICE_IDS
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
        .collect();
    runs::apply(facts, table, &mut findings);
    findings
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
    // Template markers: a repository made with cruft or copier keeps its answers here.
    ".cruft.json",
    // invoke's task file.
    "tasks.py",
    ".copier-answers.yml",
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

#[cfg(test)]
mod guard_tests {
    use super::*;

    fn snapshot() -> RepoSnapshot {
        RepoSnapshot {
            full_name: Some("octo/hostile".into()),
            ..RepoSnapshot::default()
        }
    }

    #[test]
    fn a_panicking_analyzer_gives_over_limits_not_a_crash() {
        let outcome = guarded(&snapshot(), || panic!("a deliberately failing analyzer"));
        match outcome {
            RepoOutcome::OverLimits { warning } => assert_eq!(
                warning,
                "a file in octo/hostile could not be analysed within Folio's limits"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_healthy_analysis_passes_through() {
        let table = PracticeTable::builtin();
        match analyze_repo_guarded(&snapshot(), &table) {
            RepoOutcome::Analysed { findings, .. } => {
                assert_eq!(findings.len(), PRACTICE_IDS.len())
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn files_past_the_repository_budget_are_left_out_with_one_warning() {
        let mut snap = snapshot();
        let wf = "on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: ruff check .\n";
        snap.files
            .insert(".github/workflows/ci.yml".into(), wf.to_string());
        for i in 0..3 {
            snap.files
                .insert(format!("requirements-{i}.txt"), "x\n".repeat(1_000));
        }
        snap.files.insert("CHANGELOG.md".into(), "y".repeat(10_000));
        let (cut, warning) = within_budget(&snap, wf.len() + 4_500);
        assert!(cut.files.contains_key(".github/workflows/ci.yml"));
        assert!(cut.files.contains_key("requirements-0.txt"));
        assert!(cut.files.contains_key("requirements-1.txt"));
        assert!(!cut.files.contains_key("requirements-2.txt"));
        assert!(!cut.files.contains_key("CHANGELOG.md"));
        assert_eq!(cut.skipped.len(), 2);
        let warning = warning.unwrap_or_default();
        assert!(
            warning.starts_with("2 files not analysed, past the")
                && warning.contains("CHANGELOG.md, requirements-2.txt"),
            "{warning}"
        );
        let (same, none) = within_budget(&snap, MAX_PARSED_BYTES);
        assert!(matches!(same, std::borrow::Cow::Borrowed(_)) && none.is_none());
    }

    #[test]
    fn analysis_warns_when_the_repository_is_over_budget() {
        let mut snap = snapshot();
        snap.files
            .insert("CHANGELOG.md".into(), "z".repeat(MAX_PARSED_BYTES + 1));
        let table = PracticeTable::builtin();
        let (_, warnings) = analyze_repo_with_warnings(&snap, &table);
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("1 files not analysed")),
            "{warnings:?}"
        );
    }

    #[test]
    fn workflow_analysis_is_linear_in_steps() {
        // Formatters each followed by a diff guard, and a local action of many pinned steps
        // that no workflow uses: both were scanned once per step.
        let n = 3_000u64;
        let mut wf = String::from("on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n");
        let mut action = String::from("runs:\n  using: composite\n  steps:\n");
        for i in 0..n {
            wf.push_str(&format!(
                "      - run: black src{i}\n      - run: git diff --exit-code\n"
            ));
            action.push_str(&format!("    - uses: actions/cache@v{i}\n"));
        }
        let mut snap = snapshot();
        snap.files.insert(".github/workflows/ci.yml".into(), wf);
        snap.files
            .insert(".github/actions/unused/action.yml".into(), action);
        let table = PracticeTable::builtin();
        let before = common::work_done();
        let findings = analyze_repo(&snap, &table);
        let work = common::work_done() - before;
        assert_eq!(findings.len(), PRACTICE_IDS.len());
        // Quadratic work would be about n * n = 9,000,000 units.
        assert!(work < 200 * n, "{work} units of work for {n} steps");
    }

    #[test]
    fn thousands_of_workflow_steps_keep_every_distinct_evidence_line() {
        let mut wf = String::from("on: push\njobs:\n  t:\n    runs-on: x\n    steps:\n");
        for i in 0..5_000 {
            wf.push_str(&format!("      - run: ruff check t{i}\n"));
        }
        let mut snap = snapshot();
        snap.files.insert(".github/workflows/ci.yml".into(), wf);
        let table = PracticeTable::builtin();
        let lint = analyze_repo(&snap, &table)
            .into_iter()
            .find(|f| f.id == "lint")
            .unwrap_or_else(|| panic!("no lint finding"));
        assert_eq!(lint.evidence.len(), common::MAX_EVIDENCE);
        assert!(
            lint.notes
                .iter()
                .any(|n| n.starts_with(&format!("{} more", 5_000 - common::MAX_EVIDENCE))),
            "{:?}",
            lint.notes
        );
    }
}
