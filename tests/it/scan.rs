//! Full `folio scan` output of the fixture repositories under `tests/fixtures/repos/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use folio::model::{OutputFormat, PracticeStatus, Report};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/repos")
        .join(name)
}

fn scan_json(name: &str) -> String {
    folio::scan::run(&fixture(name), OutputFormat::Json)
        .unwrap_or_else(|e| panic!("scan {name}: {}", e.one_line()))
}

fn report(name: &str) -> Report {
    serde_json::from_str(&scan_json(name)).unwrap_or_else(|e| panic!("{e}"))
}

fn status_of(r: &Report, id: &str) -> PracticeStatus {
    r.practices
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.status)
        .unwrap_or_else(|| panic!("{id}"))
}

#[test]
fn mature_lib_snapshot() {
    insta::assert_snapshot!("mature_lib", scan_json("mature-lib"));
}

#[test]
fn hobby_project_snapshot() {
    insta::assert_snapshot!("hobby_project", scan_json("hobby-project"));
}

#[test]
fn monorepo_snapshot() {
    insta::assert_snapshot!("monorepo", scan_json("monorepo"));
}

#[test]
fn broken_workflows_snapshot() {
    insta::assert_snapshot!("broken_workflows", scan_json("broken-workflows"));
}

#[test]
fn mature_lib_markdown_snapshot() {
    let md = folio::scan::run(&fixture("mature-lib"), OutputFormat::Markdown)
        .unwrap_or_else(|e| panic!("{}", e.one_line()));
    insta::assert_snapshot!("mature_lib_markdown", md);
}

#[test]
fn key_judgements() {
    let mature = report("mature-lib");
    for id in [
        "lint",
        "format_check",
        "type_check",
        "sast",
        "tests_in_ci",
        "property_based_tests",
        "coverage_gate",
        "matrix_build",
        "ci_cache",
        "least_privilege_token",
        "actions_pinned_by_sha",
        "lockfile",
        "signing",
        "trusted_publishing",
        "release_automation",
        "changelog",
        "security_policy",
        "dependency_vuln_scan",
    ] {
        assert_eq!(
            status_of(&mature, id),
            PracticeStatus::Present,
            "mature-lib {id}"
        );
    }
    assert_eq!(
        status_of(&mature, "semver_tags"),
        PracticeStatus::NotAssessable
    );

    let hobby = report("hobby-project");
    assert_eq!(status_of(&hobby, "lint"), PracticeStatus::Present);
    assert_eq!(status_of(&hobby, "tests_in_ci"), PracticeStatus::Present);
    for id in [
        "coverage_gate",
        "property_based_tests",
        "dependency_vuln_scan",
        "lockfile",
        "actions_pinned_by_sha",
        "format_check",
        "ci_cache",
    ] {
        assert_eq!(
            status_of(&hobby, id),
            PracticeStatus::Absent,
            "hobby-project {id}"
        );
    }

    let mono = report("monorepo");
    for id in [
        "lint",
        "format_check",
        "type_check",
        "tests_in_ci",
        "matrix_build",
        "ci_cache",
        "lockfile",
        "dependency_update_bot",
        "changelog",
        "property_based_tests",
        "release_automation",
        "coverage_gate",
    ] {
        assert_eq!(
            status_of(&mono, id),
            PracticeStatus::Present,
            "monorepo {id}"
        );
    }
    assert_eq!(
        status_of(&mono, "dependency_vuln_scan"),
        PracticeStatus::Absent
    );
    assert_eq!(
        status_of(&mono, "least_privilege_token"),
        PracticeStatus::Absent
    );

    let broken = report("broken-workflows");
    for id in [
        "lint",
        "tests_in_ci",
        "trusted_publishing",
        "least_privilege_token",
        "actions_pinned_by_sha",
        "matrix_build",
    ] {
        assert_eq!(
            status_of(&broken, id),
            PracticeStatus::CouldNotParse,
            "broken-workflows {id}"
        );
    }
    assert_eq!(status_of(&broken, "changelog"), PracticeStatus::Present);
    assert_eq!(status_of(&broken, "coverage_gate"), PracticeStatus::Present);
    assert_eq!(
        broken
            .warnings
            .iter()
            .filter(|w| w.starts_with("could not parse .github/workflows/"))
            .count(),
        3
    );
}

#[test]
fn bad_paths_are_usage_errors() {
    let missing = folio::scan::run(Path::new("/no/such/dir"), OutputFormat::Json);
    assert!(matches!(missing, Err(folio::cli_error::CliError::Usage(_))));
    let file = folio::scan::run(&fixture("mature-lib").join("tox.ini"), OutputFormat::Json);
    assert!(matches!(file, Err(folio::cli_error::CliError::Usage(_))));
}

fn git(dir: &Path, args: &[&str], time: &str) {
    let ok = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
        ])
        .args(args)
        .env("GIT_COMMITTER_DATE", time)
        .env("GIT_AUTHOR_DATE", time)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "git {args:?}");
}

#[test]
fn tags_of_a_git_checkout() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    git(d, &["init", "-q"], "2024-01-01T00:00:00Z");
    let tags = [
        ("v0.1.0", "2024-01-01T00:00:00Z"),
        ("v0.2.0", "2024-02-01T00:00:00Z"),
        ("nightly-2024", "2024-03-01T00:00:00Z"),
        ("1.0.0rc1", "2024-04-01T00:00:00Z"),
        ("v1.0.0", "2024-05-01T00:00:00Z"),
    ];
    for (i, (tag, time)) in tags.iter().enumerate() {
        std::fs::write(d.join("CHANGELOG.md"), format!("release {i}\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        git(d, &["add", "."], time);
        git(d, &["commit", "-q", "-m", tag], time);
        // Annotated tags are dated by the tagged commit, not the tag object.
        git(d, &["tag", "-a", "-m", tag, tag], "2030-01-01T00:00:00Z");
    }
    let r: Report = serde_json::from_str(
        &folio::scan::run(d, OutputFormat::Json).unwrap_or_else(|e| panic!("{}", e.one_line())),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let semver = r
        .practices
        .iter()
        .find(|p| p.id == "semver_tags")
        .unwrap_or_else(|| panic!("semver_tags"));
    assert_eq!(semver.status, PracticeStatus::Present);
    assert_eq!(
        semver.evidence.first().map(|e| e.detail.as_str()),
        Some("tag v1.0.0")
    );
}

#[test]
fn hostile_tree_is_bounded() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    std::fs::create_dir_all(d.join(".github/workflows")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("pyproject.toml"), "x".repeat(2 * 1024 * 1024))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("uv.lock"), b"\x00\x01binary").unwrap_or_else(|e| panic!("{e}"));
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..15 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
            p = i - 1
        ));
    }
    std::fs::write(d.join(".github/workflows/bomb.yml"), bomb).unwrap_or_else(|e| panic!("{e}"));
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/passwd", d.join("SECURITY.md"))
        .unwrap_or_else(|e| panic!("{e}"));
    let r: Report = serde_json::from_str(
        &folio::scan::run(d, OutputFormat::Json).unwrap_or_else(|e| panic!("{}", e.one_line())),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let joined = r.warnings.join("\n");
    assert!(
        joined.contains("skipped pyproject.toml: larger than 1 MiB"),
        "{joined}"
    );
    assert!(joined.contains("skipped uv.lock: binary"), "{joined}");
    assert!(
        joined.contains("could not parse .github/workflows/bomb.yml"),
        "{joined}"
    );
    #[cfg(unix)]
    assert!(
        joined.contains("skipped SECURITY.md: symlink pointing out of the tree"),
        "{joined}"
    );
    assert_eq!(status_of(&r, "security_policy"), PracticeStatus::Absent);
}

#[test]
fn virtualenvs_under_any_name_are_not_walked() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let d = dir.path();
    let venv = d.join("env/lib/python3.12/site-pkgs/somepkg/tests");
    std::fs::create_dir_all(&venv).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("env/pyvenv.cfg"), "home = /usr/bin\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(venv.join("test_x.py"), "from hypothesis import given\n")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("env/uv.lock"), "version = 1\n").unwrap_or_else(|e| panic!("{e}"));
    let r = folio::scan::load_dir(d).unwrap_or_else(|e| panic!("{}", e.one_line()));
    assert!(
        r.files.is_empty(),
        "{:?}",
        r.files.keys().collect::<Vec<_>>()
    );
    // The same files outside a virtualenv are read.
    std::fs::remove_file(d.join("env/pyvenv.cfg")).unwrap_or_else(|e| panic!("{e}"));
    let r = folio::scan::load_dir(d).unwrap_or_else(|e| panic!("{}", e.one_line()));
    assert!(r.files.contains_key("env/uv.lock"));
}

fn scan_text(name: &str) -> String {
    folio::scan::run_text(&fixture(name))
        .unwrap_or_else(|e| panic!("scan {name}: {}", e.one_line()))
}

#[test]
fn mature_lib_text_snapshot() {
    let text = scan_text("mature-lib");
    // A preview of the levels, practices by plain name, `file:line` evidence; no headline count.
    assert!(text.contains("Levels below are a preview"));
    assert!(text.contains("Testing: "));
    assert!(text.contains("Tests run in CI"), "plain names: {text}");
    assert!(!text.contains("tests_in_ci"), "no practice ids: {text}");
    assert!(!text.contains("practices present"), "no N-of-24 headline");
    insta::assert_snapshot!("mature_lib_text", text);
}

#[test]
fn text_has_no_markdown_escapes_or_html() {
    for name in [
        "mature-lib",
        "hobby-project",
        "monorepo",
        "broken-workflows",
    ] {
        let text = scan_text(name);
        for bad in [
            "\\_", "\\*", "\\#", "\\(", "\\[", "\\`", "&lt;", "&gt;", "&amp;", "<", ">", "**",
        ] {
            assert!(!text.contains(bad), "{name}: {bad:?} in\n{text}");
        }
        assert!(
            text.lines().any(|l| {
                let l = l.trim();
                l.split_once(':').is_some_and(|(_, rest)| {
                    rest.split_whitespace()
                        .next()
                        .is_some_and(|n| n.parse::<u32>().is_ok())
                }) && !l.starts_with('-')
            }),
            "{name}: file:line evidence in\n{text}"
        );
    }
}

#[test]
fn text_shows_hidden_and_control_characters_visibly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir_all(d.join(".github/workflows")).expect("mkdir");
    std::fs::write(
        d.join(".github/workflows/ci.yml"),
        "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest \u{202E}evil\u{1b}[31m\n",
    )
    .expect("write");
    let text = folio::scan::run_text(d).unwrap_or_else(|e| panic!("{}", e.one_line()));
    assert!(
        !text.contains('\u{202E}') && !text.contains('\u{1b}'),
        "{text}"
    );
    assert!(
        text.contains("\\u{202E}"),
        "shown as a visible escape: {text}"
    );
}
