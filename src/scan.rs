//! `folio scan PATH`: load a local directory into a snapshot and run the practice detectors.
//!
//! The loader keeps only the files the detectors read ([`is_wanted_path`]), and is bounded on
//! hostile trees: files over 1 MiB, binaries and symlinks that leave the tree are skipped and
//! listed, and nothing found is executed. Tags come from `git for-each-ref`, which reads refs
//! and runs no repository content.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::analyze::practices::{PracticeTable, analyze_repo_with_warnings, is_wanted_path};
use crate::cli_error::CliError;
use crate::model::{FOLIO_VERSION, OutputFormat, Report};
use crate::snapshot::{RepoSnapshot, SkippedFile, Tag};

/// Files larger than this are not read.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Directories that are tool output or environments, never the project's own files.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "site-packages",
    ".eggs",
    ".cache",
    ".direnv",
    ".pixi",
    ".idea",
    "htmlcov",
];

/// Runs the scan and returns what to print on stdout.
pub fn run(path: &Path, format: OutputFormat) -> Result<String, CliError> {
    check_dir(path)?;
    let snapshot = load_dir(path)?;
    let report = scan_report(&snapshot);
    match format {
        OutputFormat::Json => {
            let mut text =
                serde_json::to_string_pretty(&report).context("serialising the report")?;
            text.push('\n');
            Ok(text)
        }
        OutputFormat::Markdown => Ok(crate::render::scan::markdown(&display_name(path), &report)),
    }
}

fn check_dir(path: &Path) -> Result<(), CliError> {
    if !path.exists() {
        return Err(CliError::usage(format!(
            "{} does not exist; give `folio scan` the path of a local directory",
            path.display()
        )));
    }
    if !path.is_dir() {
        return Err(CliError::usage(format!(
            "{} is not a directory; give `folio scan` the path of a repository checkout",
            path.display()
        )));
    }
    Ok(())
}

/// Runs the scan and returns plain text for a person at a terminal: the criterion levels the
/// directory would earn as the candidate's own work, practices by plain name, `file:line`
/// evidence.
pub fn run_text(path: &Path) -> Result<String, CliError> {
    check_dir(path)?;
    let snapshot = load_dir(path)?;
    let report = scan_report(&snapshot);
    let preview = owned_preview(&report)?;
    Ok(crate::render::scan::text(&display_name(path), &preview))
}

/// The report the service would build if the scanned directory were a repository the
/// candidate owns: the rubric run on the scan's findings.
pub(crate) fn owned_preview(report: &Report) -> Result<Report, CliError> {
    let rubric = crate::report::Rubric::builtin().context("loading the built-in rubric")?;
    let input = crate::report::ReportInput {
        repo_practices: vec![crate::report::RepoPractices {
            repository: None,
            attribution: crate::model::Attribution::Owned,
            findings: report.practices.clone(),
        }],
        warnings: report.warnings.clone(),
        ..Default::default()
    };
    Ok(crate::report::build(input, &rubric))
}

fn display_name(path: &Path) -> String {
    path.canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| path.display().to_string())
}

/// The report of a snapshot: practices and warnings, no candidate, no pull requests.
pub fn scan_report(snapshot: &RepoSnapshot) -> Report {
    let table = PracticeTable::builtin();
    let (practices, mut warnings) = analyze_repo_with_warnings(snapshot, &table);
    for s in snapshot.skipped.iter().take(20) {
        warnings.push(format!("skipped {}: {}", s.path, s.reason));
    }
    if snapshot.skipped.len() > 20 {
        warnings.push(format!(
            "skipped {} more files",
            snapshot.skipped.len() - 20
        ));
    }
    Report {
        folio_version: FOLIO_VERSION.to_string(),
        candidate: None,
        sources: Vec::new(),
        practices,
        pull_requests: Vec::new(),
        reviews: Vec::new(),
        review_comments: Vec::new(),
        criteria: Vec::new(),
        warnings,
        api_requests: 0,
        rubric_version: String::new(),
        practices_by_repository: Vec::new(),
        releases: Vec::new(),
    }
}

/// Reads the wanted files of a directory tree into a snapshot.
pub fn load_dir(root: &Path) -> Result<RepoSnapshot, CliError> {
    let canon_root = root
        .canonicalize()
        .with_context(|| format!("reading {}", root.display()))?;
    let mut files = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut pending: Vec<(PathBuf, String)> = vec![(canon_root.clone(), String::new())];
    while let Some((dir, rel_dir)) = pending.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                skipped.push(SkippedFile {
                    path: rel_dir.clone(),
                    reason: format!("unreadable directory: {e}"),
                });
                continue;
            }
        };
        let entries: Vec<fs::DirEntry> = entries.flatten().collect();
        // A virtualenv under any name (`env/`, `.venv-3.12/`) holds installed packages, never
        // the project's own files.
        if !rel_dir.is_empty() && entries.iter().any(|e| e.file_name() == "pyvenv.cfg") {
            continue;
        }
        let mut rel = String::new();
        for entry in entries {
            let os_name = entry.file_name();
            let name = os_name.to_string_lossy();
            // The entry's own type comes from readdir on most filesystems: no stat per file.
            let Ok(ft) = entry.file_type() else {
                continue;
            };
            if ft.is_dir() && SKIPPED_DIRS.contains(&name.as_ref()) {
                continue;
            }
            rel.clear();
            if !rel_dir.is_empty() {
                rel.push_str(&rel_dir);
                rel.push('/');
            }
            rel.push_str(&name);
            if ft.is_dir() {
                pending.push((entry.path(), rel.clone()));
                continue;
            }
            let mut full = entry.path();
            if ft.is_symlink() {
                match full.canonicalize() {
                    Ok(target) if target.starts_with(&canon_root) && target.is_file() => {
                        full = target
                    }
                    Ok(target) if target.starts_with(&canon_root) => continue,
                    _ => {
                        if is_wanted_path(&rel) {
                            skipped.push(SkippedFile {
                                path: rel.clone(),
                                reason: "symlink pointing out of the tree".into(),
                            });
                        }
                        continue;
                    }
                }
            } else if !ft.is_file() {
                continue;
            }
            if !is_wanted_path(&rel) {
                continue;
            }
            match read_text(&full) {
                Ok(text) => {
                    files.insert(rel.clone(), text);
                }
                Err(reason) => skipped.push(SkippedFile {
                    path: rel.clone(),
                    reason,
                }),
            }
        }
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    let tags = read_tags(&canon_root);
    Ok(RepoSnapshot {
        full_name: None,
        commit: None,
        files,
        skipped,
        tags,
        releases: None,
        activity: None,
    })
}

fn read_text(path: &Path) -> Result<String, String> {
    let file = fs::File::open(path).map_err(|e| format!("unreadable: {e}"))?;
    let mut bytes = Vec::new();
    // Read one byte past the limit to know the file is too large without reading all of it.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("unreadable: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err("larger than 1 MiB".into());
    }
    if bytes.iter().take(8192).any(|b| *b == 0) {
        return Err("binary".into());
    }
    String::from_utf8(bytes).map_err(|_| "binary (not UTF-8)".into())
}

/// Tags of a git checkout, newest tagged commit first; `None` when `root` is not a checkout or
/// git is unavailable.
pub fn read_tags(root: &Path) -> Option<Vec<Tag>> {
    if !root.join(".git").exists() {
        return None;
    }
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        // Repository config could name programs (fsmonitor, pagers); none may run.
        .args(["-c", "core.fsmonitor=false", "-c", "core.pager=cat", "--no-pager", "for-each-ref", "--sort=-creatordate"])
        .arg("--format=%(refname:short)%00%(objectname)%00%(*objectname)%00%(committerdate:unix)%00%(*committerdate:unix)")
        .arg("refs/tags")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(parse_for_each_ref(&String::from_utf8_lossy(&output.stdout)))
}

/// Parses `git for-each-ref` lines (NUL-separated fields): annotated tags take their commit's
/// id and time from the peeled (`*`) fields.
pub fn parse_for_each_ref(text: &str) -> Vec<Tag> {
    let mut tags: Vec<Tag> = text
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\0').collect();
            let name = f.first().filter(|n| !n.is_empty())?.to_string();
            let pick = |peeled: Option<&&str>, direct: Option<&&str>| {
                peeled
                    .filter(|s| !s.is_empty())
                    .or(direct)
                    .map(|s| s.to_string())
            };
            let commit = pick(f.get(2), f.get(1)).filter(|s| !s.is_empty());
            let time = pick(f.get(4), f.get(3)).and_then(|s| s.parse::<i64>().ok());
            Some(Tag {
                name,
                commit_time: time,
                commit,
            })
        })
        .collect();
    tags.sort_by_key(|t| std::cmp::Reverse(t.commit_time));
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn for_each_ref_prefers_peeled_commit() {
        let text = "v1.0.0\x00aaa\x00bbb\x00100\x00200\nv0.9.0\x00ccc\x00\x00150\x00\n";
        let tags = parse_for_each_ref(text);
        assert_eq!(tags[0].name, "v1.0.0");
        assert_eq!(tags[0].commit.as_deref(), Some("bbb"));
        assert_eq!(tags[0].commit_time, Some(200));
        assert_eq!(tags[1].commit_time, Some(150));
    }

    #[test]
    fn missing_path_is_usage_error() {
        let err = run(Path::new("/nonexistent/folio/x"), OutputFormat::Json);
        assert!(matches!(err, Err(CliError::Usage(_))));
    }
}
