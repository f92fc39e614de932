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
