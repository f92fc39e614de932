//! Detector tests: for each practice a positive, a negative and the near miss that must not
//! count.

use super::*;
use crate::model::PracticeStatus;
use crate::snapshot::RepoSnapshot;

fn snap(files: &[(&str, &str)]) -> RepoSnapshot {
    RepoSnapshot {
        files: files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect(),
        ..RepoSnapshot::default()
    }
}

fn status(files: &[(&str, &str)], id: &str) -> PracticeStatus {
    finding(&snap(files), id).status
}

fn finding(s: &RepoSnapshot, id: &str) -> crate::model::PracticeFinding {
    analyze_repo(s, &PracticeTable::builtin())
        .into_iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no finding for {id}"))
}

const P: PracticeStatus = PracticeStatus::Present;
const A: PracticeStatus = PracticeStatus::Absent;

fn wf(run: &str) -> String {
    format!(
        "on: [push, pull_request]\npermissions:\n  contents: read\njobs:\n  ci:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: |\n          {}\n",
        run.replace('\n', "\n          ")
    )
}

#[test]
fn one_finding_per_id_in_order() {
    let got: Vec<String> = analyze_repo(&snap(&[]), &PracticeTable::builtin())
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(
        got,
        PRACTICE_IDS
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
}

#[test]
fn lint() {
    assert_eq!(
        status(
            &[(
                ".github/workflows/ci.yml",
                &wf("uv run --frozen ruff check .")
            )],
            "lint"
        ),
        P
    );
    assert_eq!(
        status(
            &[(
                ".pre-commit-config.yaml",
                "repos:\n  - repo: https://github.com/PyCQA/flake8\n    rev: 7.1.0\n    hooks:\n      - id: flake8\n"
            )],
            "lint"
        ),
        P
    );
    assert_eq!(
        status(&[(".github/workflows/ci.yml", &wf("pytest"))], "lint"),
        A
    );
    // `ruff format` is a formatter, not the linter.
    assert_eq!(
        status(
            &[(".github/workflows/ci.yml", &wf("ruff format --check ."))],
            "lint"
        ),
        A
    );
    // A tox env CI never calls does not run in CI.
    let tox = "[tox]\nenvlist = py312\n[testenv]\ncommands = pytest\n[testenv:lint]\ncommands = flake8 src\n";
    assert_eq!(
        status(
            &[("tox.ini", tox), (".github/workflows/ci.yml", &wf("tox"))],
            "lint"
        ),
        A
    );
    assert_eq!(
        status(
            &[
                ("tox.ini", tox),
                (".github/workflows/ci.yml", &wf("tox -e lint"))
            ],
            "lint"
        ),
        P
    );
}

#[test]
fn lint_through_make_and_scripts() {
    let make = "lint:\n\truff check src\n";
    assert_eq!(
        status(
            &[
                ("Makefile", make),
                (".github/workflows/ci.yml", &wf("make lint"))
            ],
            "lint"
        ),
        P
    );
    let f = finding(
        &snap(&[
            (
                "scripts/lint.sh",
                "#!/bin/bash\nset -e\nmypy fastapi\nruff check fastapi tests\n",
            ),
            (
                ".github/workflows/ci.yml",
                &wf("uv run bash scripts/lint.sh"),
            ),
        ]),
        "lint",
    );
    assert_eq!(f.status, P);
    assert_eq!(f.evidence[0].path.as_deref(), Some("scripts/lint.sh"));
    assert_eq!(f.evidence[0].line, Some(4));
}

#[test]
fn format_check() {
    assert_eq!(
        status(
            &[(".github/workflows/ci.yml", &wf("black --check ."))],
            "format_check"
        ),
        P
    );
    assert_eq!(
        status(
            &[(".github/workflows/ci.yml", &wf("ruff format --diff"))],
            "format_check"
        ),
        P
    );
    assert_eq!(
        status(
            &[(
                ".github/workflows/ci.yml",
                &wf("ruff format .\ngit diff --exit-code")
            )],
            "format_check"
        ),
        P
    );
    // Formatting in CI without a check or a diff guard fails nothing.
    assert_eq!(
        status(
            &[(".github/workflows/ci.yml", &wf("black ."))],
            "format_check"
        ),
        A
    );
    assert_eq!(
        status(
            &[(
                ".pre-commit-config.yaml",
                "repos:\n- repo: https://github.com/astral-sh/ruff-pre-commit\n  rev: v0.6.0\n  hooks:\n  - id: ruff-format\n"
            )],
            "format_check"
        ),
        P
    );
    let flake8 = "repos:\n- repo: https://github.com/PyCQA/flake8\n  rev: 7.0.0\n  hooks:\n  - id: flake8\n    additional_dependencies: [flake8-isort]\n";
    assert_eq!(
        status(&[(".pre-commit-config.yaml", flake8)], "format_check"),
        P
    );
}

#[test]
fn type_check() {
    assert_eq!(
        status(
            &[(".github/workflows/ci.yml", &wf("mypy src"))],
            "type_check"
        ),
        P
    );
    let hatch = "[tool.hatch.envs.types.scripts]\ncheck = \"mypy --install-types --non-interactive src tests\"\n";
    assert_eq!(
        status(
            &[
                ("pyproject.toml", hatch),
                (".github/workflows/ci.yml", &wf("hatch run types:check"))
            ],
            "type_check"
        ),
        P
    );
    // mypy configured but never run.
    assert_eq!(
        status(
            &[
                ("pyproject.toml", "[tool.mypy]\nstrict = true\n"),
                (".github/workflows/ci.yml", &wf("pytest"))
            ],
            "type_check"
        ),
        A
    );
}

#[test]
fn pre_commit() {
    assert_eq!(
        status(&[(".pre-commit-config.yaml", "repos: []\n")], "pre_commit"),
        P
    );
    assert_eq!(status(&[], "pre_commit"), A);
    assert_eq!(
        status(&[(".pre-commit-config.yaml", "repos: [\n")], "pre_commit"),
        PracticeStatus::CouldNotParse
    );
}

#[test]
fn sast() {
    let codeql = "on: push\npermissions: {}\njobs:\n  analyze:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: github/codeql-action/init@v3\n      - uses: github/codeql-action/analyze@v3\n";
    assert_eq!(
        status(&[(".github/workflows/codeql.yml", codeql)], "sast"),
        P
    );
    assert_eq!(
        status(
            &[(".github/workflows/ci.yml", &wf("bandit -r src"))],
            "sast"
        ),
        P
    );
    // zizmor and actionlint lint workflows; they are not SAST.
    assert_eq!(
        status(
            &[(".github/workflows/ci.yml", &wf("uvx zizmor .\nactionlint"))],
            "sast"
        ),
        A
    );
    let ruff_s = "[tool.ruff.lint]\nselect = [\"E\", \"F\", \"S\"]\n";
    assert_eq!(
        status(
            &[
                ("pyproject.toml", ruff_s),
                (".github/workflows/ci.yml", &wf("ruff check"))
            ],
            "sast"
        ),
        P
    );
    // `SIM` is not `S`, and S rules that nothing runs do not count.
    assert_eq!(
        status(
            &[
                ("pyproject.toml", "[tool.ruff.lint]\nselect = [\"SIM\"]\n"),
                (".github/workflows/ci.yml", &wf("ruff check"))
            ],
            "sast"
        ),
        A
    );
    assert_eq!(status(&[("pyproject.toml", ruff_s)], "sast"), A);
}

#[test]
fn tests_in_ci() {
    assert_eq!(
        status(
            &[(".github/workflows/ci.yml", &wf("python -m pytest -x"))],
            "tests_in_ci"
        ),
        P
    );
    let nox = "import nox\n\n@nox.session\ndef tests(session):\n    session.run(\"pytest\")\n";
    let f = finding(
        &snap(&[
            ("noxfile.py", nox),
            (".github/workflows/ci.yml", &wf("nox -s tests-3.12")),
        ]),
        "tests_in_ci",
    );
    assert_eq!(f.status, P);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.path.as_deref() == Some("noxfile.py") && e.line == Some(5))
    );
    assert_eq!(
        status(
            &[(".github/workflows/ci.yml", &wf("pip install ."))],
            "tests_in_ci"
        ),
        A
    );
    // A test command in a Makefile no workflow calls.
    assert_eq!(
        status(
            &[
                ("Makefile", "test:\n\tpytest\n"),
                (".github/workflows/ci.yml", &wf("make docs"))
            ],
            "tests_in_ci"
        ),
        A
    );
}

#[test]
fn tests_in_ci_exercised_from_checks() {
    let mut s = snap(&[(".github/workflows/ci.yml", &wf("pytest"))]);
    assert_eq!(finding(&s, "tests_in_ci").exercised, None);
    s.activity = Some(crate::snapshot::RepoActivity {
        dependency_bot_merged_prs: Some(0),
        default_branch_checks: Some(vec![crate::snapshot::CheckRun {
            name: "ci (3.12)".into(),
            status: "completed".into(),
            conclusion: Some("success".into()),
            app_slug: None,
        }]),
        ..Default::default()
    });
    assert_eq!(finding(&s, "tests_in_ci").exercised, Some(true));
    assert_eq!(finding(&s, "dependency_update_bot").exercised, Some(false));
}

#[test]
fn property_based_tests() {
    assert_eq!(
        status(
            &[(
                "tests/test_props.py",
                "from hypothesis import given, strategies as st\n"
            )],
            "property_based_tests"
        ),
        P
    );
    assert_eq!(
        status(
            &[("tests/test_x.py", "def test_x():\n    assert True\n")],
            "property_based_tests"
        ),
        A
    );
    // Hypothesis used by the library itself, outside the tests.
    assert_eq!(
        status(
            &[("src/pkg/strategies.py", "import hypothesis\n")],
            "property_based_tests"
        ),
        A
    );
}

#[test]
fn coverage_gate() {
    assert_eq!(
        status(
            &[(
                "pyproject.toml",
                "[tool.coverage.report]\nfail_under = 95\n"
            )],
            "coverage_gate"
        ),
        P
    );
    assert_eq!(
        status(
            &[(
                ".github/workflows/ci.yml",
                &wf("pytest --cov=pkg --cov-fail-under=90")
            )],
            "coverage_gate"
        ),
        P
    );
    // A commented-out threshold is not in force.
    assert_eq!(
        status(
            &[(
                "pyproject.toml",
                "[tool.coverage.report]\n# fail_under = 95\nshow_missing = true\n"
            )],
            "coverage_gate"
        ),
        A
    );
    assert_eq!(
        status(
            &[("setup.cfg", "[coverage:report]\nfail_under = 0\n")],
            "coverage_gate"
        ),
        A
    );
    assert_eq!(
        status(
            &[(
                "codecov.yml",
                "coverage:\n  status:\n    project:\n      default:\n        target: 90%\n"
            )],
            "coverage_gate"
        ),
        P
    );
    assert_eq!(
        status(
            &[(
                "codecov.yml",
                "coverage:\n  status:\n    project:\n      default:\n        target: 90%\n        informational: true\n"
            )],
            "coverage_gate"
        ),
        A
    );
}

#[test]
fn mutation_testing() {
    assert_eq!(
        status(
            &[(
                "pyproject.toml",
                "[tool.mutmut]\npaths_to_mutate = [\"src/\"]\n"
            )],
            "mutation_testing"
        ),
        P
    );
    assert_eq!(
        status(
            &[(
                "pyproject.toml",
                "[tool.pytest.ini_options]\naddopts = \"-q\"\n"
            )],
            "mutation_testing"
        ),
        A
    );
    assert_eq!(
        status(
            &[("requirements-dev.txt", "mutmut==3.0\n")],
            "mutation_testing"
        ),
        A
    );
}

#[test]
fn matrix_build() {
    let m = "on: push\njobs:\n  t:\n    strategy:\n      matrix:\n        python-version: ['3.12', '3.13']\n    steps: []\n";
    assert_eq!(
        status(&[(".github/workflows/ci.yml", m)], "matrix_build"),
        P
    );
    let one = "on: push\njobs:\n  t:\n    strategy:\n      matrix:\n        python-version: ['3.12']\n    steps: []\n";
    assert_eq!(
        status(&[(".github/workflows/ci.yml", one)], "matrix_build"),
        A
    );
    let other = "on: push\njobs:\n  t:\n    strategy:\n      matrix:\n        docs-theme: [a, b]\n    steps: []\n";
    assert_eq!(
        status(&[(".github/workflows/ci.yml", other)], "matrix_build"),
        A
    );
    let toxenv = "on: push\njobs:\n  t:\n    strategy:\n      matrix:\n        toxenv: [py312, py313, lint]\n    steps: []\n";
    assert_eq!(
        status(&[(".github/workflows/ci.yml", toxenv)], "matrix_build"),
        P
    );
    let nested = "on: push\njobs:\n  t:\n    strategy:\n      matrix:\n        conf:\n          - { py: \"3.12\", os: ubuntu-latest }\n          - { py: \"3.13\", os: ubuntu-latest }\n    steps: []\n";
    assert_eq!(
        status(&[(".github/workflows/ci.yml", nested)], "matrix_build"),
        P
    );
    // Near miss: a list of objects that vary neither Python nor the OS.
    let docs = "on: push\njobs:\n  t:\n    strategy:\n      matrix:\n        site:\n          - { name: a, url: x }\n          - { name: b, url: y }\n    steps: []\n";
    assert_eq!(
        status(&[(".github/workflows/ci.yml", docs)], "matrix_build"),
        A
    );
}

#[test]
fn ci_cache() {
    let cached = "on: push\njobs:\n  t:\n    steps:\n      - uses: actions/setup-python@v5\n        with:\n          python-version: '3.12'\n          cache: pip\n";
    assert_eq!(
        status(&[(".github/workflows/ci.yml", cached)], "ci_cache"),
        P
    );
    let uncached = "on: push\njobs:\n  t:\n    steps:\n      - uses: actions/setup-python@v5\n        with:\n          python-version: '3.12'\n      - uses: astral-sh/setup-uv@v6\n        with:\n          enable-cache: false\n";
    assert_eq!(
        status(&[(".github/workflows/ci.yml", uncached)], "ci_cache"),
        A
    );
}

#[test]
fn least_privilege_token() {
    assert_eq!(
        status(
            &[(".github/workflows/ci.yml", &wf("pytest"))],
            "least_privilege_token"
        ),
        P
    );
    let open = "on: push\njobs:\n  t:\n    runs-on: x\n    steps: []\n";
    assert_eq!(
        status(
            &[
                (".github/workflows/ci.yml", &wf("pytest")),
                (".github/workflows/other.yml", open)
            ],
            "least_privilege_token"
        ),
        A
    );
    // A reusable workflow without permissions inherits its caller's token.
    let called = "on: workflow_call\njobs:\n  t:\n    runs-on: x\n    steps: []\n";
    assert_eq!(
        status(
            &[
                (".github/workflows/ci.yml", &wf("pytest")),
                (".github/workflows/called.yml", called)
            ],
            "least_privilege_token"
        ),
        P
    );
    assert_eq!(status(&[], "least_privilege_token"), A);
    let write = "on: push\npermissions:\n  contents: write\njobs: {}\n";
    assert_eq!(
        status(
            &[(".github/workflows/ci.yml", write)],
            "least_privilege_token"
        ),
        A
    );
}

#[test]
fn actions_pinned_by_sha() {
    let sha = "on: push\njobs:\n  t:\n    steps:\n      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n      - uses: ./.github/actions/setup\n";
    assert_eq!(
        status(
            &[(".github/workflows/ci.yml", sha)],
            "actions_pinned_by_sha"
        ),
        P
    );
    // One tag-pinned action among SHA-pinned ones.
    let mixed = format!("{sha}      - uses: astral-sh/setup-uv@v6\n");
    let f = finding(
        &snap(&[(".github/workflows/ci.yml", &mixed)]),
        "actions_pinned_by_sha",
    );
    assert_eq!(f.status, A);
    assert!(f.notes.iter().any(|n| n.contains("astral-sh/setup-uv@v6")));
    assert_eq!(status(&[], "actions_pinned_by_sha"), A);
    // Local composite actions are checked too.
    let action = "runs:\n  using: composite\n  steps:\n    - uses: actions/setup-python@v5\n";
    assert_eq!(
        status(
            &[
                (".github/workflows/ci.yml", sha),
                (".github/actions/setup/action.yml", action)
            ],
            "actions_pinned_by_sha"
        ),
        A
    );
}

#[test]
fn lockfile() {
    assert_eq!(status(&[("uv.lock", "version = 1\n")], "lockfile"), P);
    // A lock file under test data is not the project's.
    assert_eq!(status(&[("tests/data/poetry.lock", "x")], "lockfile"), A);
    assert_eq!(
        status(
            &[(
                "requirements.txt",
                "requests==2.32.3 \\\n    --hash=sha256:abc\n"
            )],
            "lockfile"
        ),
        P
    );
    // Pins without hashes are not a lock.
    assert_eq!(
        status(&[("requirements.txt", "requests==2.32.3\n")], "lockfile"),
        A
    );
}

#[test]
fn dependency_update_bot() {
    assert_eq!(
        status(
            &[(
                ".github/dependabot.yml",
                "version: 2\nupdates:\n  - package-ecosystem: pip\n    directory: /\n"
            )],
            "dependency_update_bot"
        ),
        P
    );
    assert_eq!(
        status(&[("renovate.json", "{}")], "dependency_update_bot"),
        P
    );
    assert_eq!(
        status(
            &[(".github/dependabot.yml", "version: 2\n")],
            "dependency_update_bot"
        ),
        A
    );
    assert_eq!(
        finding(&snap(&[("renovate.json", "{}")]), "dependency_update_bot").exercised,
        None
    );
}

#[test]
fn dependency_vuln_scan() {
    assert_eq!(
        status(
            &[(".github/workflows/ci.yml", &wf("uvx pip-audit"))],
            "dependency_vuln_scan"
        ),
        P
    );
    let review = "on: pull_request\njobs:\n  r:\n    steps:\n      - uses: actions/dependency-review-action@v4\n";
    assert_eq!(
        status(
            &[(".github/workflows/dr.yml", review)],
            "dependency_vuln_scan"
        ),
        P
    );
    // A scanner's config with no step that runs it.
    let f = finding(
        &snap(&[(".safety-policy.yml", "security: {}\n")]),
        "dependency_vuln_scan",
    );
    assert_eq!(f.status, A);
    assert!(!f.notes.is_empty());
}

#[test]
fn sbom_and_signing() {
    assert_eq!(
        status(
            &[(
                ".github/workflows/r.yml",
                &wf("cyclonedx-py environment -o sbom.json")
            )],
            "sbom"
        ),
        P
    );
    assert_eq!(
        status(
            &[(".github/workflows/r.yml", &wf("pip install cyclonedx-bom"))],
            "sbom"
        ),
        A
    );
    let attest =
        "on: push\njobs:\n  b:\n    steps:\n      - uses: actions/attest-build-provenance@v2\n";
    assert_eq!(status(&[(".github/workflows/r.yml", attest)], "signing"), P);
    // The publish action without `attestations: true` is not explicit signing.
    let publish =
        "on: push\njobs:\n  b:\n    steps:\n      - uses: pypa/gh-action-pypi-publish@release/v1\n";
    assert_eq!(
        status(&[(".github/workflows/r.yml", publish)], "signing"),
        A
    );
    let explicit = "on: push\njobs:\n  b:\n    steps:\n      - uses: pypa/gh-action-pypi-publish@release/v1\n        with:\n          attestations: true\n";
    assert_eq!(
        status(&[(".github/workflows/r.yml", explicit)], "signing"),
        P
    );
}

#[test]
fn security_policy() {
    assert_eq!(
        status(&[(".github/SECURITY.md", "x")], "security_policy"),
        P
    );
    assert_eq!(status(&[("SECURITY.md", "x")], "security_policy"), P);
    assert_eq!(
        status(&[("src/pkg/SECURITY.md", "x")], "security_policy"),
        A
    );
}

#[test]
fn trusted_publishing() {
    let tp = "on:\n  release:\n    types: [published]\njobs:\n  pypi:\n    runs-on: ubuntu-latest\n    permissions:\n      id-token: write\n    steps:\n      - uses: pypa/gh-action-pypi-publish@release/v1\n";
    assert_eq!(
        status(
            &[(".github/workflows/release.yml", tp)],
            "trusted_publishing"
        ),
        P
    );
    assert_eq!(
        status(
            &[(".github/workflows/release.yml", tp)],
            "release_automation"
        ),
        P
    );
    let token = "on: release\npermissions:\n  id-token: write\njobs:\n  pypi:\n    steps:\n      - uses: pypa/gh-action-pypi-publish@release/v1\n        with:\n          password: ${{ secrets.PYPI_TOKEN }}\n";
    assert_eq!(
        status(
            &[(".github/workflows/release.yml", token)],
            "trusted_publishing"
        ),
        A
    );
    // Job-level permissions replace the workflow's, dropping id-token.
    let dropped = "on: release\npermissions:\n  id-token: write\njobs:\n  pypi:\n    permissions:\n      contents: read\n    steps:\n      - run: uv publish\n";
    assert_eq!(
        status(
            &[(".github/workflows/release.yml", dropped)],
            "trusted_publishing"
        ),
        A
    );
    let twine = "on: release\njobs:\n  pypi:\n    permissions:\n      id-token: write\n    env:\n      TWINE_PASSWORD: ${{ secrets.PYPI }}\n    steps:\n      - run: twine upload dist/*\n";
    assert_eq!(
        status(
            &[(".github/workflows/release.yml", twine)],
            "trusted_publishing"
        ),
        A
    );
}

#[test]
fn release_automation() {
    assert_eq!(
        status(
            &[(".github/workflows/r.yml", &wf("gh release create v1.0.0"))],
            "release_automation"
        ),
        P
    );
    assert_eq!(
        status(
            &[(".github/workflows/r.yml", &wf("python -m build"))],
            "release_automation"
        ),
        A
    );
}

#[test]
fn changelog() {
    assert_eq!(status(&[("CHANGELOG.md", "# Changes\n")], "changelog"), P);
    assert_eq!(status(&[("docs/changes.rst", "x")], "changelog"), P);
    assert_eq!(
        status(&[("changelog.d/123.feature.md", "Added x.")], "changelog"),
        P
    );
    assert_eq!(status(&[("tests/data/CHANGELOG.md", "x")], "changelog"), A);
    assert_eq!(
        status(&[("src/pkg/_vendor/lib/HISTORY.md", "x")], "changelog"),
        A
    );
    // Near misses: code that happens to carry a changelog's name.
    assert_eq!(status(&[("src/pkg/history.py", "x = 1")], "changelog"), A);
    assert_eq!(
        status(
            &[("news/models.py", "x = 1"), ("news/__init__.py", "")],
            "changelog"
        ),
        A
    );
    assert_eq!(status(&[("NEWS", "1.0: first")], "changelog"), P);
    // Folders of per-release notes.
    assert_eq!(status(&[("docs/releases/5.0.txt", "x")], "changelog"), P);
    assert_eq!(status(&[("docs/history/hatch.md", "x")], "changelog"), P);
}

#[test]
fn semver_tags_and_release_notes() {
    let mut s = snap(&[]);
    assert_eq!(
        finding(&s, "semver_tags").status,
        PracticeStatus::NotAssessable
    );
    assert_eq!(
        finding(&s, "release_notes").status,
        PracticeStatus::NotAssessable
    );
    let tag = |n: &str, t: i64| crate::snapshot::Tag {
        name: n.into(),
        commit_time: Some(t),
        commit: None,
    };
    s.tags = Some(vec![
        tag("v2.0.0", 5),
        tag("v1.9.0", 4),
        tag("nightly", 6),
        tag("1.8.0rc1", 3),
        tag("old", 1),
    ]);
    assert_eq!(finding(&s, "semver_tags").status, P);
    s.tags = Some(vec![tag("v2.0", 5), tag("release-1", 4), tag("v1.0.0", 3)]);
    assert_eq!(finding(&s, "semver_tags").status, A);
    s.releases = Some(vec![crate::snapshot::Release {
        tag_name: "v1".into(),
        name: None,
        body: Some("  ".into()),
        html_url: None,
        draft: false,
        prerelease: false,
        published_at: None,
        author_login: None,
        asset_names: vec![],
    }]);
    assert_eq!(finding(&s, "release_notes").status, A);
}

#[test]
fn broken_workflow_is_could_not_parse_not_absent() {
    let s = snap(&[(".github/workflows/ci.yml", "jobs:\n  t:\n    steps: [\n")]);
    assert_eq!(
        finding(&s, "tests_in_ci").status,
        PracticeStatus::CouldNotParse
    );
    assert_eq!(finding(&s, "tests_in_ci").present, None);
    assert!(parse_warnings(&s)[0].starts_with("could not parse .github/workflows/ci.yml"));
    // A present practice stays present even with a broken sibling.
    let s2 = snap(&[
        (".github/workflows/ci.yml", "jobs: [\n"),
        ("CHANGELOG.md", "x"),
    ]);
    assert_eq!(finding(&s2, "changelog").status, P);
}

#[test]
fn wanted_paths() {
    for p in [
        ".github/workflows/ci.yml",
        "pyproject.toml",
        "uv.lock",
        "requirements/dev.txt",
        "tests/test_a.py",
        "CHANGES.rst",
        "changelog.d/1.bugfix",
        "noxfile.py",
        ".github/dependabot.yml",
        "SECURITY.md",
        ".github/actions/x/action.yml",
    ] {
        assert!(is_wanted_path(p), "{p}");
    }
    for p in [
        "src/pkg/core.py",
        "README.md",
        "docs/index.rst",
        "assets/logo.png",
    ] {
        assert!(!is_wanted_path(p), "{p}");
    }
}

#[test]
fn local_hook_entry_followed_through_make() {
    let makefile = "lint:\n\tuv run ruff check src\n\tuv run ruff format --check src\nformat:\n\tuv run ruff format src\n";
    let hook = |target: &str| {
        format!(
            "repos:\n- repo: local\n  hooks:\n  - id: lint\n    name: Lint\n    entry: make\n    args: [{target}]\n    language: system\n    pass_filenames: false\n"
        )
    };
    let lint = hook("lint");
    let files = [
        (".pre-commit-config.yaml", lint.as_str()),
        ("Makefile", makefile),
    ];
    assert_eq!(status(&files, "lint"), P);
    assert_eq!(status(&files, "format_check"), P);
    // Near miss: the hook runs a target with no linter in it.
    let format = hook("format");
    let files = [
        (".pre-commit-config.yaml", format.as_str()),
        ("Makefile", makefile),
    ];
    assert_eq!(status(&files, "lint"), A);
    assert_eq!(status(&files, "type_check"), A);
}

#[test]
fn extensionless_scripts_called_by_path() {
    let ci = wf("scripts/check\nscripts/coverage");
    let check = "#!/bin/sh -e\nexport PREFIX=\"\"\nset -x\n${PREFIX}ruff check $SOURCE_FILES\n${PREFIX}mypy $SOURCE_FILES\n";
    let cov = "#!/bin/sh -e\n${PREFIX}coverage report --show-missing --fail-under=100\n";
    let files = [
        (".github/workflows/ci.yml", ci.as_str()),
        ("scripts/check", check),
        ("scripts/coverage", cov),
    ];
    assert_eq!(status(&files, "lint"), P);
    assert_eq!(status(&files, "type_check"), P);
    assert_eq!(status(&files, "coverage_gate"), P);
    // Near miss: a script that exists but that CI never calls.
    let ci = wf("scripts/coverage");
    let files = [
        (".github/workflows/ci.yml", ci.as_str()),
        ("scripts/check", check),
    ];
    assert_eq!(status(&files, "lint"), A);
    assert!(is_wanted_path("scripts/check"));
    assert!(!is_wanted_path("src/pkg/scripts/deep/check"));
    assert!(!is_wanted_path("docs/LICENSE"));
}

#[test]
fn python_shell_steps_are_not_commands() {
    let wf = "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - shell: python\n        run: |\n          import subprocess\n          pytest = 'not a command'\n";
    assert_eq!(status(&[(".github/workflows/t.yml", wf)], "tests_in_ci"), A);
    let bash = wf.replace("shell: python", "shell: bash");
    assert_eq!(
        status(&[(".github/workflows/t.yml", &bash)], "tests_in_ci"),
        P
    );
    // A workflow-wide default applies to every step.
    let defaulted = "on: push\ndefaults:\n  run:\n    shell: python\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest\n";
    assert_eq!(
        status(&[(".github/workflows/t.yml", defaulted)], "tests_in_ci"),
        A
    );
}

#[test]
fn build_and_inspect_attestation_is_signing() {
    let wf = |with: &str| {
        format!(
            "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    permissions:\n      id-token: write\n      attestations: write\n    steps:\n      - uses: hynek/build-and-inspect-python-package@v2\n{with}"
        )
    };
    let on = wf("        with:\n          attest-build-provenance-github: 'true'\n");
    assert_eq!(status(&[(".github/workflows/b.yml", &on)], "signing"), P);
    let off = wf("        with:\n          attest-build-provenance-github: 'false'\n");
    assert_eq!(status(&[(".github/workflows/b.yml", &off)], "signing"), A);
    assert_eq!(
        status(&[(".github/workflows/b.yml", &wf(""))], "signing"),
        A
    );
}

#[test]
fn trusted_publishing_through_a_reusable_workflow() {
    let called = "on:\n  workflow_call:\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: pypa/gh-action-pypi-publish@release/v1\n";
    let caller = |perms: &str| {
        format!(
            "on:\n  release:\n    types: [published]\njobs:\n  pypi:\n    uses: ./.github/workflows/publish.yml\n    permissions:\n      {perms}\n"
        )
    };
    let ok = caller("id-token: write");
    let files = [
        (".github/workflows/publish.yml", called),
        (".github/workflows/release.yml", ok.as_str()),
    ];
    assert_eq!(status(&files, "trusted_publishing"), P);
    let no = caller("contents: read");
    let files = [
        (".github/workflows/publish.yml", called),
        (".github/workflows/release.yml", no.as_str()),
    ];
    assert_eq!(status(&files, "trusted_publishing"), A);
    assert_eq!(
        status(
            &[(".github/workflows/publish.yml", called)],
            "trusted_publishing"
        ),
        A
    );
}

#[test]
fn wrapper_actions_run_their_script_input() {
    let wf = |with: &str| {
        format!(
            "on: push\njobs:\n  l:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: liskin/gh-problem-matcher-wrap@v2\n        with:\n{with}"
        )
    };
    let flake8 = wf("          linters: flake8\n          run: flake8 src tests\n");
    assert_eq!(status(&[(".github/workflows/l.yml", &flake8)], "lint"), P);
    let one_word = wf("          run: flake8\n");
    assert_eq!(status(&[(".github/workflows/l.yml", &one_word)], "lint"), P);
    // Near miss: github-script's `script:` is JavaScript, not a command line.
    let js = "on: push\njobs:\n  l:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/github-script@v7\n        with:\n          script: flake8\n";
    assert_eq!(status(&[(".github/workflows/l.yml", js)], "lint"), A);
    let cibw = "on: push\njobs:\n  w:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: pypa/cibuildwheel@v2.21\n        env:\n          CIBW_TEST_COMMAND: pytest {project}/tests\n";
    assert_eq!(
        status(&[(".github/workflows/w.yml", cibw)], "tests_in_ci"),
        P
    );
    let no_test = cibw.replace(
        "CIBW_TEST_COMMAND: pytest {project}/tests",
        "CIBW_SKIP: pp*",
    );
    assert_eq!(
        status(&[(".github/workflows/w.yml", &no_test)], "tests_in_ci"),
        A
    );
}

#[test]
fn pip_audit_in_cyclonedx_format_counts_for_sbom() {
    for run in [
        "pip-audit -f cyclonedx-json -o sbom.json",
        "pip-audit --format=cyclonedx-xml",
        "uv run pip-audit --format cyclonedx-json",
    ] {
        let s = snap(&[(".github/workflows/ci.yml", &wf(run))]);
        assert_eq!(finding(&s, "sbom").status, PracticeStatus::Present, "{run}");
        assert_eq!(
            finding(&s, "dependency_vuln_scan").status,
            PracticeStatus::Present,
            "{run}"
        );
    }
    for run in [
        "pip-audit",
        "pip-audit -f json",
        "pip-audit --format=markdown",
    ] {
        let s = snap(&[(".github/workflows/ci.yml", &wf(run))]);
        assert_eq!(finding(&s, "sbom").status, PracticeStatus::Absent, "{run}");
    }
}

#[test]
fn invoke_tasks_called_by_ci_are_followed() {
    let tasks = "from invoke import task\n\n@task\ndef lint(c):\n    c.run(\"ruff check src\")\n\n@task\ndef types(c):\n    c.run(\"mypy src\")\n";
    let s = snap(&[
        (".github/workflows/ci.yml", &wf("uv run invoke lint")),
        ("tasks.py", tasks),
    ]);
    let lint = finding(&s, "lint");
    assert_eq!(lint.status, PracticeStatus::Present);
    assert!(
        lint.evidence
            .iter()
            .any(|e| e.path.as_deref() == Some("tasks.py") && e.line == Some(5))
    );
    // A task CI never calls does not run in CI.
    assert_eq!(finding(&s, "type_check").status, PracticeStatus::Absent);
}

/// A linter project linting itself: its own tool, which no table lists, run on its code
/// through a tox env that CI calls, counts for `lint`; running an app that is not a linter,
/// a version smoke test, or an env CI never calls does not.
#[test]
fn a_linter_linting_itself_counts() {
    let pyproject = |description: &str| {
        format!(
            "[project]\nname = \"my-linter\"\ndescription = \"{description}\"\nkeywords = [\"python\"]\n[project.scripts]\nmylint = \"my_linter.cli:main\"\n"
        )
    };
    let tox = |cmd: &str| {
        format!(
            "[tox]\nenvlist = py,lint\n[testenv]\ncommands = pytest\n[testenv:lint]\ncommands = {cmd}\n"
        )
    };
    let ci = wf("tox -e lint");
    let linter = pyproject("A fast linter for Python");
    let with = |meta: &str, tox: &str, ci: &str| {
        status(
            &[
                ("pyproject.toml", meta),
                ("tox.ini", tox),
                (".github/workflows/ci.yml", ci),
            ],
            "lint",
        )
    };
    assert_eq!(with(&linter, &tox("python -m my_linter src"), &ci), P);
    assert_eq!(with(&linter, &tox("mylint src tests"), &ci), P);
    // Directly in a workflow step, too.
    assert_eq!(with(&linter, &tox("pytest"), &wf("mylint .")), P);
    let evidence = finding(
        &snap(&[
            ("pyproject.toml", &linter),
            ("tox.ini", &tox("python -m my_linter src")),
            (".github/workflows/ci.yml", &ci),
        ]),
        "lint",
    )
    .evidence;
    assert_eq!(evidence[0].path.as_deref(), Some("tox.ini"));
    assert_eq!(evidence[0].line, Some(6));
    // Near misses.
    let app = pyproject("A command-line app for notes");
    assert_eq!(with(&app, &tox("python -m my_linter src"), &ci), A);
    assert_eq!(with(&linter, &tox("mylint --version"), &ci), A);
    assert_eq!(
        with(&linter, &tox("python -m my_linter src"), &wf("tox -e py")),
        A
    );
    assert_eq!(with(&linter, &tox("python -m other_tool src"), &ci), A);
}
