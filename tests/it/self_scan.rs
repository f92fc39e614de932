//! Folio holds its own repository to the standard it reads in others: `folio scan` of the
//! repository root finds its CI, release and supply-chain practices in its own files.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Each practice the repository must show, and the file its evidence must come from, so that a
/// fixture under `tests/` cannot stand in for the project's own files.
const OWN_PRACTICES: &[(&str, &str)] = &[
    ("actions_pinned_by_sha", ".github/workflows/"),
    ("least_privilege_token", ".github/workflows/"),
    ("dependency_update_bot", ".github/dependabot.yml"),
    ("security_policy", "SECURITY.md"),
    ("changelog", "CHANGELOG.md"),
    ("release_automation", ".github/workflows/release.yml"),
    ("sbom", ".github/workflows/release.yml"),
    ("signing", ".github/workflows/release.yml"),
];

fn self_scan() -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_folio"))
        .arg("scan")
        .arg(root)
        .args(["--format", "json"])
        .output()
        .expect("run folio scan");
    assert!(
        out.status.success(),
        "folio scan failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("folio scan prints a JSON report")
}

#[test]
fn folio_scan_of_its_own_repository_finds_its_ci_release_and_supply_chain_practices() {
    let report = self_scan();
    assert_eq!(report["candidate"], Value::Null);
    let practices = report["practices"].as_array().expect("practices");

    // Every workflow, the Dependabot file and the rest could be read.
    let unreadable: Vec<&Value> = practices
        .iter()
        .filter(|p| p["status"] == "could_not_parse")
        .collect();
    assert!(unreadable.is_empty(), "could not parse: {unreadable:#?}");

    for (id, own_file) in OWN_PRACTICES {
        let practice = practices
            .iter()
            .find(|p| p["id"] == *id)
            .unwrap_or_else(|| panic!("{id} is not in the report"));
        assert_eq!(practice["status"], "present", "{id}: {practice:#}");
        assert_eq!(practice["present"], true, "{id}: {practice:#}");
        let paths: Vec<&str> = practice["evidence"]
            .as_array()
            .expect("evidence")
            .iter()
            .filter_map(|e| e["path"].as_str())
            .collect();
        assert!(
            paths.iter().any(|p| p.starts_with(own_file)),
            "{id}: no evidence from {own_file}, only {paths:?}"
        );
    }
}

/// `uses: owner/repo@<40 hex> # vX.Y.Z`: the SHA that runs, and the release it was taken from,
/// so that a reader (and Dependabot) can tell which version is pinned.
fn pinned_with_version(reference: &str) -> bool {
    let Some((_, rest)) = reference.split_once('@') else {
        return false;
    };
    let Some((sha, comment)) = rest.split_once(" # v") else {
        return false;
    };
    let parts: Vec<&str> = comment.trim().split('.').collect();
    sha.len() == 40
        && sha
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[test]
fn every_action_of_the_workflows_names_its_release_beside_the_sha() {
    assert!(pinned_with_version(
        "actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2"
    ));
    assert!(!pinned_with_version(
        "actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6"
    ));
    assert!(!pinned_with_version("actions/checkout@v6.0.2 # v6.0.2"));

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect(".github/workflows") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("workflow");
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_start().trim_start_matches("- ");
            let Some(reference) = line.strip_prefix("uses:") else {
                continue;
            };
            let reference = reference.trim();
            if reference.starts_with("./") {
                continue;
            }
            assert!(
                pinned_with_version(reference),
                "{}:{}: {reference}",
                path.display(),
                n + 1
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} actions found");
}

/// The release workflow publishes the tag's CHANGELOG.md section as the release's notes, and
/// refuses a tag that is not Cargo.toml's version: the changelog must have a section for the
/// version being built.
#[test]
fn the_changelog_has_notes_for_the_crate_version_and_the_release_script_finds_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join(".github/scripts/release-notes.sh");
    let run = |version: &str| {
        Command::new("bash")
            .arg(&script)
            .arg(version)
            .output()
            .expect("run release-notes.sh")
    };

    let out = run(env!("CARGO_PKG_VERSION"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let notes = String::from_utf8(out.stdout).expect("UTF-8 notes");
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md")).expect("CHANGELOG.md");
    assert!(!notes.trim().is_empty());
    assert!(changelog.contains(notes.trim()), "{notes}");
    // Only that version's section: no other version heading comes along.
    assert!(!notes.contains("## ["), "{notes}");

    let out = run("999.0.0");
    assert!(!out.status.success(), "a version that is not Cargo.toml's");
}
