//! Whether a practice is `authored` (SPEC §2): one of the candidate's own commits added the
//! line that shows it. Pure functions over fetched commits; the requests live in `fetch`.
//!
//! The test is deliberately narrow. Touching a file is not authoring what is in it: a typo fix
//! three lines away from `--cov-fail-under=90` must not make the threshold the candidate's.
//! So the evidence line's text must be among the lines a candidate commit added to that very
//! file. The first commit of a template-generated repository (it copies the template) and
//! commits made by bots never count.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Attribution, PracticeFinding, PracticeStatus};
use crate::snapshot::RepoSnapshot;

/// Shorter lines (`run: |`, `}`, `- id: x`) are too common to say who wrote a practice.
const MIN_SIGNIFICANT_CHARS: usize = 6;

/// The most files per repository whose history is read: each costs a request, and the
/// evidence of one practice rarely spans more than a couple of files.
pub(crate) const MAX_FILES_PER_REPO: usize = 6;

/// One line of evidence, with the practice it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EvidenceLine {
    pub practice: String,
    pub path: String,
    pub text: String,
}

/// A commit as far as attribution needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CandidateCommit {
    pub sha: String,
    pub parents: usize,
    /// The linked GitHub account of the commit's author, if any.
    pub author_login: Option<String>,
    /// `(path, patch)` for each file the commit changed; GitHub omits patches of huge diffs.
    pub files: Vec<(String, Option<String>)>,
}

/// The lines of the snapshot that show each present practice, in a stable order.
pub(crate) fn evidence_lines(
    findings: &[PracticeFinding],
    snapshot: &RepoSnapshot,
) -> Vec<EvidenceLine> {
    let mut out = Vec::new();
    for f in findings {
        if f.status != PracticeStatus::Present {
            continue;
        }
        for e in &f.evidence {
            let (Some(path), Some(line)) = (&e.path, e.line) else {
                continue;
            };
            let Some(text) = snapshot.files.get(path).and_then(|content| {
                content
                    .lines()
                    .nth(usize::try_from(line).ok()?.checked_sub(1)?)
            }) else {
                continue;
            };
            let text = text.trim();
            if significant(text) {
                out.push(EvidenceLine {
                    practice: f.id.clone(),
                    path: path.clone(),
                    text: text.to_string(),
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.path, &a.practice, &a.text).cmp(&(&b.path, &b.practice, &b.text)));
    out.dedup();
    out
}

/// The files whose history must be read, most evidence first, at most `limit`.
pub(crate) fn paths_to_check(lines: &[EvidenceLine], limit: usize) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for l in lines {
        *counts.entry(l.path.as_str()).or_default() += 1;
    }
    let mut paths: Vec<(&str, usize)> = counts.into_iter().collect();
    paths.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    paths
        .into_iter()
        .take(limit)
        .map(|(p, _)| p.to_string())
        .collect()
}

fn significant(text: &str) -> bool {
    text.chars().filter(|c| c.is_alphanumeric()).count() >= MIN_SIGNIFICANT_CHARS
}

/// The lines a unified diff adds, without the `+` and trimmed.
pub(crate) fn added_lines(patch: &str) -> impl Iterator<Item = &str> {
    patch
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .map(|l| l[1..].trim())
}

fn is_bot(login: Option<&str>) -> bool {
    login.is_some_and(|l| l.ends_with("[bot]"))
}

/// The practice ids whose evidence line was added by one of `commits`, which must already be
/// the candidate's commits to the repository (`commits?author=`).
pub(crate) fn authored_practices(
    lines: &[EvidenceLine],
    commits: &[CandidateCommit],
    from_template: bool,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for c in commits {
        if is_bot(c.author_login.as_deref()) || (from_template && c.parents == 0) {
            continue;
        }
        for (path, patch) in &c.files {
            let Some(patch) = patch else { continue };
            let added: BTreeSet<&str> = added_lines(patch).collect();
            for l in lines.iter().filter(|l| &l.path == path) {
                if added.contains(l.text.as_str()) {
                    out.insert(l.practice.clone());
                }
            }
        }
    }
    out
}

/// How a repository came from a template, when it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateOrigin {
    /// GitHub's `template_repository`.
    GitHub,
    /// A `.cruft.json` at the root.
    Cruft,
    /// A `.copier-answers.yml` at the root.
    Copier,
    /// The first commit's message names cookiecutter.
    Cookiecutter,
}

/// Whether a repository was generated from a template: GitHub's `template_repository`, the
/// answers file cruft or copier leave at the root, or a first commit that names cookiecutter.
pub(crate) fn template_origin(
    github_template: bool,
    files: &BTreeMap<String, String>,
    first_commit_message: Option<&str>,
) -> Option<TemplateOrigin> {
    if github_template {
        Some(TemplateOrigin::GitHub)
    } else if files.contains_key(".cruft.json") {
        Some(TemplateOrigin::Cruft)
    } else if files.contains_key(".copier-answers.yml") {
        Some(TemplateOrigin::Copier)
    } else if first_commit_message.is_some_and(|m| m.to_ascii_lowercase().contains("cookiecutter"))
    {
        Some(TemplateOrigin::Cookiecutter)
    } else {
        None
    }
}

/// One entry of the contributors listing (`anon=1`): a linked account or an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Contributor {
    User(String),
    Bot(String),
    /// An author e-mail linked to no account: nobody can say it is the candidate.
    Anonymous,
}

/// Whether the candidate is the only human author: every human entry is the candidate's login.
/// Unlinked e-mail authors count as other people; bots do not count at all.
pub(crate) fn candidate_is_only_human_author(
    candidate: &str,
    contributors: &[Contributor],
) -> bool {
    let mut seen = false;
    for c in contributors {
        match c {
            Contributor::User(login) if login.eq_ignore_ascii_case(candidate) => seen = true,
            Contributor::User(login) if login.ends_with("[bot]") => {}
            Contributor::Bot(_) => {}
            Contributor::User(_) | Contributor::Anonymous => return false,
        }
    }
    seen
}

/// What is known of one practice's evidence line in a repository the candidate owns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LineFacts {
    /// One of the candidate's own commits added the line; `None` when its history was not read.
    pub added_by_candidate: Option<bool>,
    /// The line was already in the template's first commit; `None` when not known.
    pub in_template_commit: Option<bool>,
}

/// A practice's attribution in a repository the candidate owns (not a fork): `authored` when
/// the candidate's commits added its line, `template` when it came with a template's first
/// commit, `project` when another person added it, and `owned` only where that could not be
/// determined. `only_human_author` is `None` when the contributors lookup failed: unknown is
/// never read as "someone else wrote it".
pub(crate) fn owned_practice_attribution(
    template: Option<TemplateOrigin>,
    only_human_author: Option<bool>,
    line: LineFacts,
) -> Attribution {
    let templated = template.is_some();
    if templated && line.in_template_commit == Some(true) {
        return Attribution::Template;
    }
    let outside_template = !templated || line.in_template_commit == Some(false);
    if line.added_by_candidate == Some(true) {
        return Attribution::Authored;
    }
    if outside_template && only_human_author == Some(true) {
        // Nobody else wrote anything here, and the line did not come with the template.
        return Attribution::Authored;
    }
    if outside_template && line.added_by_candidate == Some(false) {
        return Attribution::Project;
    }
    Attribution::Owned
}

/// The candidate's commits read for some evidence files, and the files for which every commit
/// of theirs was read, so that "none of them added this line" is a fact there, not a guess.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CandidateHistory {
    pub commits: Vec<CandidateCommit>,
    pub complete_paths: BTreeSet<String>,
}

/// The files of a repository's first commit, with their patches (`None` where GitHub left
/// the patch out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirstCommitFiles {
    pub files: BTreeMap<String, Option<String>>,
    /// Whether `files` lists every file of the commit, so that a path missing from it did not
    /// come with the commit.
    pub complete: bool,
}

/// What is known of a repository the candidate owns, for [`owned_attributions`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OwnedFacts<'a> {
    pub template: Option<TemplateOrigin>,
    /// Whether `template` is a fact: `false` when no marker was found and the first commit,
    /// whose message could name cookiecutter, could not be read.
    pub template_known: bool,
    /// `None` when the contributors lookup failed.
    pub only_human_author: Option<bool>,
    /// The template's first commit, when it was read.
    pub first_commit: Option<&'a FirstCommitFiles>,
    /// The candidate's own commits to the evidence files, when they were read.
    pub history: Option<&'a CandidateHistory>,
}

/// Whether the candidate added `text` to `path`: `Some(true)` when one of their commits did,
/// `Some(false)` when every commit of theirs to that file was read and none did, `None`
/// otherwise. A root commit that may be a template's copy is no proof either way.
fn added_by_candidate(
    history: &CandidateHistory,
    path: &str,
    text: &str,
    skip_root: bool,
) -> Option<bool> {
    let mut root_touched = false;
    for c in &history.commits {
        if is_bot(c.author_login.as_deref()) {
            continue;
        }
        for (_, patch) in c.files.iter().filter(|(p, _)| p == path) {
            if skip_root && c.parents == 0 {
                root_touched = true;
                continue;
            }
            if patch
                .as_deref()
                .is_some_and(|patch| added_lines(patch).any(|l| l == text))
            {
                return Some(true);
            }
        }
    }
    (history.complete_paths.contains(path) && !root_touched).then_some(false)
}

/// Whether the first commit brought `text` (or, with `None`, the file itself) to `path`.
fn in_first_commit(first: &FirstCommitFiles, path: &str, text: Option<&str>) -> Option<bool> {
    match (first.files.get(path), text) {
        (Some(_), None) => Some(true),
        (Some(Some(patch)), Some(text)) => Some(added_lines(patch).any(|l| l == text)),
        (Some(None), Some(_)) => None,
        (None, _) => first.complete.then_some(false),
    }
}

/// Credited first, then who else: one line the candidate added makes the practice theirs.
fn attribution_order(a: Attribution) -> u8 {
    match a {
        Attribution::Authored => 5,
        Attribution::Owned => 4,
        Attribution::Reviewed => 3,
        Attribution::Project => 2,
        Attribution::Template => 1,
        Attribution::Unrelated => 0,
    }
}

/// Each present practice's attribution in a repository the candidate owns, line by line
/// through [`owned_practice_attribution`]. A practice shown by files is judged by its lines
/// (or, for a file that is the practice, by the file); the links that only show it running
/// say nothing about who added it. A practice shown only by API facts (tags, releases) is
/// never a template's: templates copy files.
pub(crate) fn owned_attributions(
    findings: &[PracticeFinding],
    snapshot: &RepoSnapshot,
    facts: &OwnedFacts<'_>,
) -> BTreeMap<String, Attribution> {
    // An unknown template origin must not let every line count as the candidate's.
    let (template, only_human) = if facts.template_known {
        (facts.template, facts.only_human_author)
    } else {
        (None, None)
    };
    let skip_root = facts.template.is_some() || !facts.template_known;
    let mut out = BTreeMap::new();
    for f in findings {
        if f.status != PracticeStatus::Present {
            continue;
        }
        let with_path: Vec<&crate::model::Evidence> =
            f.evidence.iter().filter(|e| e.path.is_some()).collect();
        let mut lines: Vec<LineFacts> = Vec::new();
        for e in &with_path {
            let Some(path) = e.path.as_deref() else {
                continue;
            };
            let text = e.line.and_then(|n| {
                let idx = usize::try_from(n).ok()?.checked_sub(1)?;
                snapshot.files.get(path)?.lines().nth(idx).map(str::trim)
            });
            lines.push(match (e.line, text) {
                (Some(_), Some(text)) if significant(text) => LineFacts {
                    added_by_candidate: facts
                        .history
                        .and_then(|h| added_by_candidate(h, path, text, skip_root)),
                    in_template_commit: facts
                        .first_commit
                        .and_then(|fc| in_first_commit(fc, path, Some(text))),
                },
                // A short or missing line cannot say who wrote it.
                (Some(_), _) => LineFacts::default(),
                (None, _) => LineFacts {
                    added_by_candidate: None,
                    in_template_commit: facts
                        .first_commit
                        .and_then(|fc| in_first_commit(fc, path, None)),
                },
            });
        }
        if with_path.is_empty() {
            lines.push(LineFacts {
                added_by_candidate: None,
                in_template_commit: Some(false),
            });
        }
        let best = lines
            .into_iter()
            .map(|l| owned_practice_attribution(template, only_human, l))
            .max_by_key(|a| attribution_order(*a));
        if let Some(a) = best {
            out.insert(f.id.clone(), a);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Evidence;

    fn finding(id: &str, path: &str, line: u32) -> PracticeFinding {
        let mut f = PracticeFinding::new(id, PracticeStatus::Present);
        f.evidence.push(Evidence {
            url: None,
            path: Some(path.into()),
            line: Some(line),
            detail: String::new(),
        });
        f
    }

    fn snapshot(files: &[(&str, &str)]) -> RepoSnapshot {
        RepoSnapshot {
            files: files
                .iter()
                .map(|(p, c)| (p.to_string(), c.to_string()))
                .collect(),
            ..RepoSnapshot::default()
        }
    }

    fn commit(sha: &str, login: &str, parents: usize, path: &str, patch: &str) -> CandidateCommit {
        CandidateCommit {
            sha: sha.into(),
            parents,
            author_login: Some(login.into()),
            files: vec![(path.into(), Some(patch.into()))],
        }
    }

    const CI: &str = "name: ci\non: push\njobs:\n  test:\n    steps:\n      - run: pytest --cov --cov-fail-under=90\n";

    #[test]
    fn the_commit_that_added_the_evidence_line_authors_the_practice() {
        let snap = snapshot(&[(".github/workflows/ci.yml", CI)]);
        let lines = evidence_lines(
            &[finding("coverage_threshold", ".github/workflows/ci.yml", 6)],
            &snap,
        );
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].text, "- run: pytest --cov --cov-fail-under=90");
        let c = commit(
            "a1",
            "octocat",
            1,
            ".github/workflows/ci.yml",
            "@@ -5,1 +5,1 @@\n-      - run: pytest\n+      - run: pytest --cov --cov-fail-under=90\n",
        );
        let got = authored_practices(&lines, &[c], false);
        assert!(got.contains("coverage_threshold"));
    }

    #[test]
    fn a_typo_fix_elsewhere_in_the_file_does_not_count() {
        let snap = snapshot(&[(".github/workflows/ci.yml", CI)]);
        let lines = evidence_lines(
            &[finding("coverage_threshold", ".github/workflows/ci.yml", 6)],
            &snap,
        );
        let c = commit(
            "a1",
            "octocat",
            1,
            ".github/workflows/ci.yml",
            "@@ -1,1 +1,1 @@\n-name: cii\n+name: ci\n",
        );
        assert!(authored_practices(&lines, &[c], false).is_empty());
    }

    #[test]
    fn the_same_line_in_another_file_does_not_count() {
        let snap = snapshot(&[(".github/workflows/ci.yml", CI)]);
        let lines = evidence_lines(
            &[finding("coverage_threshold", ".github/workflows/ci.yml", 6)],
            &snap,
        );
        let c = commit(
            "a1",
            "octocat",
            1,
            "docs/ci.md",
            "@@ -0,0 +1,1 @@\n+      - run: pytest --cov --cov-fail-under=90\n",
        );
        assert!(authored_practices(&lines, &[c], false).is_empty());
    }

    #[test]
    fn bots_and_the_template_copy_never_count() {
        let snap = snapshot(&[(".github/workflows/ci.yml", CI)]);
        let lines = evidence_lines(
            &[finding("coverage_threshold", ".github/workflows/ci.yml", 6)],
            &snap,
        );
        let patch = "@@ -0,0 +1,6 @@\n+      - run: pytest --cov --cov-fail-under=90\n";
        let bot = commit(
            "b1",
            "dependabot[bot]",
            1,
            ".github/workflows/ci.yml",
            patch,
        );
        assert!(authored_practices(&lines, &[bot], false).is_empty());
        let first = commit("t1", "octocat", 0, ".github/workflows/ci.yml", patch);
        assert!(authored_practices(&lines, std::slice::from_ref(&first), true).is_empty());
        // A root commit of a repository not generated from a template is the candidate's own.
        assert!(!authored_practices(&lines, &[first], false).is_empty());
    }

    #[test]
    fn short_lines_and_lines_out_of_range_are_not_evidence_of_authorship() {
        let snap = snapshot(&[("a.yml", "on: push\n}\n")]);
        let lines = evidence_lines(
            &[
                finding("x", "a.yml", 2),
                finding("y", "a.yml", 9),
                finding("z", "a.yml", 0),
            ],
            &snap,
        );
        assert!(lines.is_empty());
    }

    #[test]
    fn paths_with_most_evidence_are_read_first() {
        let l = |p: &str, t: &str| EvidenceLine {
            practice: "p".into(),
            path: p.into(),
            text: t.into(),
        };
        let lines = vec![l("b", "one"), l("a", "two"), l("b", "three")];
        assert_eq!(paths_to_check(&lines, 1), vec!["b".to_string()]);
        assert_eq!(
            paths_to_check(&lines, 5),
            vec!["b".to_string(), "a".to_string()]
        );
    }

    #[test]
    fn added_lines_skip_the_file_header_and_context() {
        let patch = "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n keep\n-old\n+  new  \n";
        assert_eq!(added_lines(patch).collect::<Vec<_>>(), vec!["new"]);
    }

    #[test]
    fn template_markers_are_recognised() {
        let none = BTreeMap::new();
        assert_eq!(
            template_origin(true, &none, None),
            Some(TemplateOrigin::GitHub)
        );
        let cruft = BTreeMap::from([(".cruft.json".to_string(), "{}".to_string())]);
        assert_eq!(
            template_origin(false, &cruft, None),
            Some(TemplateOrigin::Cruft)
        );
        let copier = BTreeMap::from([(
            ".copier-answers.yml".to_string(),
            "_src_path: x".to_string(),
        )]);
        assert_eq!(
            template_origin(false, &copier, None),
            Some(TemplateOrigin::Copier)
        );
        assert_eq!(
            template_origin(
                false,
                &none,
                Some("Initial commit from Cookiecutter template")
            ),
            Some(TemplateOrigin::Cookiecutter)
        );
        assert_eq!(template_origin(false, &none, Some("Initial commit")), None);
        // Deeper copies (test data) are not the repository's own answers file.
        let nested = BTreeMap::from([("tests/data/.cruft.json".to_string(), "{}".to_string())]);
        assert_eq!(template_origin(false, &nested, None), None);
    }

    #[test]
    fn only_human_author_ignores_bots_and_counts_email_authors_as_others() {
        let me = Contributor::User("Octocat".into());
        assert!(candidate_is_only_human_author(
            "octocat",
            std::slice::from_ref(&me)
        ));
        assert!(candidate_is_only_human_author(
            "octocat",
            &[
                me.clone(),
                Contributor::Bot("dependabot[bot]".into()),
                Contributor::User("pre-commit-ci[bot]".into())
            ]
        ));
        assert!(!candidate_is_only_human_author(
            "octocat",
            &[me.clone(), Contributor::Anonymous]
        ));
        assert!(!candidate_is_only_human_author(
            "octocat",
            &[me, Contributor::User("hubot".into())]
        ));
        assert!(!candidate_is_only_human_author("octocat", &[]));
    }

    #[test]
    fn owned_practices_are_split_by_who_added_the_line() {
        use Attribution as A;
        let lf = |by: Option<bool>, tpl: Option<bool>| LineFacts {
            added_by_candidate: by,
            in_template_commit: tpl,
        };
        let cc = Some(TemplateOrigin::Cookiecutter);
        // The candidate's commit added it.
        assert_eq!(
            owned_practice_attribution(None, Some(false), lf(Some(true), None)),
            A::Authored
        );
        // Sole author of a repository not made from a template: every line is theirs.
        assert_eq!(
            owned_practice_attribution(None, Some(true), lf(None, None)),
            A::Authored
        );
        // It came with the template's first commit, whoever the authors are.
        assert_eq!(
            owned_practice_attribution(cc, Some(true), lf(Some(true), Some(true))),
            A::Template
        );
        // Sole author, templated, line added after the template copy.
        assert_eq!(
            owned_practice_attribution(cc, Some(true), lf(None, Some(false))),
            A::Authored
        );
        // Another maintainer added it.
        assert_eq!(
            owned_practice_attribution(None, Some(false), lf(Some(false), None)),
            A::Project
        );
        // Not determined: other authors and no line history, or the contributors lookup failed.
        assert_eq!(
            owned_practice_attribution(None, Some(false), lf(None, None)),
            A::Owned
        );
        assert_eq!(
            owned_practice_attribution(None, None, lf(None, None)),
            A::Owned
        );
        // Templated, but whether the line came with the template is not known.
        assert_eq!(
            owned_practice_attribution(cc, Some(true), lf(None, None)),
            A::Owned
        );
        assert_eq!(
            owned_practice_attribution(cc, Some(false), lf(Some(false), None)),
            A::Owned
        );
    }

    fn present(id: &str, evidence: Vec<Evidence>) -> PracticeFinding {
        let mut f = PracticeFinding::new(id, PracticeStatus::Present);
        f.evidence = evidence;
        f
    }

    fn at(path: &str, line: u32) -> Evidence {
        Evidence {
            url: None,
            path: Some(path.into()),
            line: Some(line),
            detail: String::new(),
        }
    }

    fn link(url: &str) -> Evidence {
        Evidence {
            url: Some(url.into()),
            path: None,
            line: None,
            detail: String::new(),
        }
    }

    const WF: &str = ".github/workflows/ci.yml";
    const LINT_CI: &str =
        "jobs:\n  t:\n    steps:\n      - run: ruff check .\n      - run: mypy --strict src\n";

    fn owned_case(facts: &OwnedFacts<'_>) -> BTreeMap<String, Attribution> {
        let snap = snapshot(&[(WF, LINT_CI), ("SECURITY.md", "Report it.\n")]);
        let findings = vec![
            present(
                "lint",
                vec![at(WF, 4), link("https://github.com/o/r/actions/runs/1")],
            ),
            present("type_check", vec![at(WF, 5)]),
            present(
                "security_policy",
                vec![Evidence {
                    line: None,
                    ..at("SECURITY.md", 1)
                }],
            ),
            present(
                "semver_tags",
                vec![link("https://github.com/o/r/tree/v1.0.0")],
            ),
        ];
        owned_attributions(&findings, &snap, facts)
    }

    #[test]
    fn a_sole_author_owns_every_line_of_a_repository_no_template_made() {
        use Attribution as A;
        let got = owned_case(&OwnedFacts {
            template: None,
            template_known: true,
            only_human_author: Some(true),
            first_commit: None,
            history: None,
        });
        for id in ["lint", "type_check", "security_policy", "semver_tags"] {
            assert_eq!(got[id], A::Authored, "{id}");
        }
        // Whether a template made it is unknown (the first commit was not read): owned.
        let got = owned_case(&OwnedFacts {
            template_known: false,
            ..OwnedFacts {
                only_human_author: Some(true),
                ..OwnedFacts::default()
            }
        });
        assert_eq!(got["lint"], A::Owned);
        assert_eq!(got["semver_tags"], A::Owned);
    }

    #[test]
    fn what_came_with_the_templates_first_commit_is_the_templates() {
        use Attribution as A;
        let first = FirstCommitFiles {
            files: BTreeMap::from([
                (
                    WF.to_string(),
                    Some(
                        "@@ -0,0 +1,4 @@\n+jobs:\n+  t:\n+    steps:\n+      - run: ruff check .\n"
                            .to_string(),
                    ),
                ),
                ("SECURITY.md".to_string(), Some("+Report it.".to_string())),
            ]),
            complete: true,
        };
        let got = owned_case(&OwnedFacts {
            template: Some(TemplateOrigin::Cookiecutter),
            template_known: true,
            only_human_author: Some(true),
            first_commit: Some(&first),
            history: None,
        });
        // The run link beside the template's line does not make the linter the candidate's.
        assert_eq!(got["lint"], A::Template);
        assert_eq!(got["type_check"], A::Authored);
        assert_eq!(got["security_policy"], A::Template);
        // Tags are never copied by a template.
        assert_eq!(got["semver_tags"], A::Authored);
        // The first commit's list was cut: a line missing from it is not known to be later.
        let cut = FirstCommitFiles {
            files: BTreeMap::new(),
            complete: false,
        };
        let got = owned_case(&OwnedFacts {
            template: Some(TemplateOrigin::Cookiecutter),
            template_known: true,
            only_human_author: Some(true),
            first_commit: Some(&cut),
            history: None,
        });
        assert_eq!(got["type_check"], A::Owned);
    }

    #[test]
    fn with_other_authors_the_candidates_commits_decide_line_by_line() {
        use Attribution as A;
        let mypy = commit(
            "c2",
            "octocat",
            1,
            WF,
            "@@ -4,0 +5,1 @@\n+      - run: mypy --strict src\n",
        );
        let history = CandidateHistory {
            commits: vec![mypy.clone()],
            complete_paths: BTreeSet::from([WF.to_string()]),
        };
        let facts = OwnedFacts {
            template: None,
            template_known: true,
            only_human_author: Some(false),
            first_commit: None,
            history: Some(&history),
        };
        let got = owned_case(&facts);
        assert_eq!(got["type_check"], A::Authored);
        assert_eq!(got["lint"], A::Project);
        // Not every commit of theirs to the file was read: not known, so owned.
        let partial = CandidateHistory {
            commits: vec![mypy],
            complete_paths: BTreeSet::new(),
        };
        let got = owned_case(&OwnedFacts {
            history: Some(&partial),
            ..facts
        });
        assert_eq!(got["lint"], A::Owned);
        assert_eq!(got["security_policy"], A::Owned);
    }

    #[test]
    fn the_candidates_root_commit_of_a_templated_repository_proves_nothing() {
        use Attribution as A;
        let root = commit(
            "r1",
            "octocat",
            0,
            WF,
            "@@ -0,0 +1,5 @@\n+      - run: ruff check .\n+      - run: mypy --strict src\n",
        );
        let history = CandidateHistory {
            commits: vec![root],
            complete_paths: BTreeSet::from([WF.to_string()]),
        };
        let got = owned_case(&OwnedFacts {
            template: None,
            template_known: false,
            only_human_author: Some(false),
            first_commit: None,
            history: Some(&history),
        });
        assert_eq!(got["lint"], A::Owned);
        // In a repository no template made, the same root commit is the candidate's work.
        let got = owned_case(&OwnedFacts {
            template: None,
            template_known: true,
            only_human_author: Some(false),
            first_commit: None,
            history: Some(&history),
        });
        assert_eq!(got["lint"], A::Authored);
    }
}
