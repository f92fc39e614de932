//! supply_chain: actions_pinned_by_sha, lockfile, dependency_update_bot, dependency_vuln_scan,
//! sbom, signing, security_policy.

use super::common::{ev, finish, tool_evidence};
use super::facts::{Facts, file_name};
use super::table::PracticeDef;
use super::yaml::{self, Node};
use crate::model::{Evidence, PracticeFinding, PracticeStatus};
use crate::snapshot::Release;

fn is_sha(r: &str) -> bool {
    r.len() == 40 && r.chars().all(|c| c.is_ascii_hexdigit())
}

pub(super) fn actions_pinned_by_sha(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let mut pinned = Vec::new();
    let mut notes = Vec::new();
    let mut unpinned = 0usize;
    for u in f
        .uses
        .iter()
        .filter(|u| !u.raw.starts_with("./") && !u.raw.starts_with("../"))
    {
        let ok = match u.raw.strip_prefix("docker://") {
            Some(image) => image.contains("@sha256:"),
            None => super::workflow::uses_ref(&u.raw).is_some_and(is_sha),
        };
        if ok {
            pinned.push(ev(&u.path, u.line, format!("uses: {}", u.raw)));
        } else {
            unpinned += 1;
            if unpinned <= 10 {
                notes.push(format!(
                    "{}:{}: `{}` is not pinned to a commit SHA",
                    u.path, u.line, u.raw
                ));
            }
        }
    }
    if unpinned > 10 {
        notes.push(format!("{} more unpinned references", unpinned - 10));
    }
    if unpinned > 0 {
        let mut finding = finish("actions_pinned_by_sha", f, def, Vec::new(), notes);
        finding.status = PracticeStatus::Absent;
        finding.present = Some(false);
        return finding;
    }
    if f.workflows.is_empty() && f.failures_of(&def.inputs).is_empty() {
        notes.push("no workflows".into());
    }
    finish("actions_pinned_by_sha", f, def, pinned, notes)
}

fn excluded(path: &str, dirs: &[String]) -> bool {
    path.split('/')
        .rev()
        .skip(1)
        .any(|c| dirs.iter().any(|d| d.eq_ignore_ascii_case(c)))
}

fn is_requirements_file(path: &str) -> bool {
    let name = file_name(path);
    name.ends_with(".txt")
        && (name.contains("requirements")
            || name.contains("constraints")
            || path.split('/').any(|c| c == "requirements"))
}

/// A requirements file in which every requirement carries `--hash=`.
fn hash_pinned(text: &str) -> Option<u32> {
    let mut first = None;
    let mut reqs = 0;
    let mut logical = String::new();
    let mut start = 0u32;
    for (i, line) in text.lines().enumerate() {
        if logical.is_empty() {
            start = i as u32 + 1;
        }
        let l = line.split(" #").next().unwrap_or("").trim();
        if let Some(cont) = l.strip_suffix('\\') {
            logical.push_str(cont);
            logical.push(' ');
            continue;
        }
        logical.push_str(l);
        let stmt = std::mem::take(&mut logical);
        let stmt = stmt.trim();
        if stmt.is_empty() || stmt.starts_with('#') || stmt.starts_with('-') {
            continue;
        }
        reqs += 1;
        if !stmt.contains("--hash=") {
            return None;
        }
        first.get_or_insert(start);
    }
    if reqs > 0 { first } else { None }
}

pub(super) fn lockfile(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let mut evidence = Vec::new();
    let mut notes = Vec::new();
    for (path, text) in &f.snap.files {
        let name = file_name(path);
        let listed = def.files.iter().any(|n| n == name)
            || (name.starts_with("pylock.") && name.ends_with(".toml"));
        if listed {
            if excluded(path, &def.excluded_dirs) {
                notes.push(format!(
                    "{path} is test data or vendored, not the project's lock"
                ));
            } else {
                evidence.push(ev(path, 1, name.to_string()));
            }
        } else if is_requirements_file(path)
            && !excluded(path, &def.excluded_dirs)
            && let Some(line) = hash_pinned(text)
        {
            evidence.push(ev(path, line, "requirements pinned with --hash"));
        }
    }
    finish("lockfile", f, def, evidence, notes)
}

pub(super) fn dependency_update_bot(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let mut evidence = Vec::new();
    let mut notes = Vec::new();
    let mut broken = false;
    for name in &def.files {
        let Some(text) = f.snap.files.get(name) else {
            continue;
        };
        if name.ends_with(".yml") || name.ends_with(".yaml") {
            match yaml::parse(text) {
                Ok(root) => {
                    let updates = root.get("updates").map(Node::items).unwrap_or_default();
                    if name.contains("dependabot") && updates.is_empty() {
                        notes.push(format!("{name} has no `updates` entries"));
                        continue;
                    }
                    let ecos: Vec<&str> = updates
                        .iter()
                        .filter_map(|u| u.get("package-ecosystem").and_then(Node::as_str))
                        .collect();
                    let line = updates.first().map_or(1, |u| u.line);
                    evidence.push(ev(
                        name,
                        line,
                        if ecos.is_empty() {
                            name.clone()
                        } else {
                            format!("dependabot updates: {}", ecos.join(", "))
                        },
                    ));
                }
                Err(e) => {
                    broken = true;
                    notes.push(format!("could not parse {name}: {e}"));
                }
            }
        } else {
            evidence.push(ev(name, 1, format!("{name} (Renovate)")));
        }
    }
    let mut finding = finish("dependency_update_bot", f, def, evidence, notes);
    if broken && finding.status == PracticeStatus::Absent {
        finding.status = PracticeStatus::CouldNotParse;
        finding.present = None;
    }
    if let Some(activity) = &f.snap.activity {
        finding.exercised = activity.dependency_bot_merged_prs.map(|n| n > 0);
    }
    finding
}

pub(super) fn dependency_vuln_scan(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let evidence = tool_evidence(f, def);
    let mut notes = Vec::new();
    if evidence.is_empty() {
        for path in f.snap.files.keys() {
            if def.config_files.iter().any(|c| c == file_name(path)) {
                notes.push(format!("{path} configures a scanner, but nothing runs it"));
            }
        }
    }
    finish("dependency_vuln_scan", f, def, evidence, notes)
}

fn release_asset_evidence(releases: Option<&Vec<Release>>, suffixes: &[String]) -> Vec<Evidence> {
    let mut out = Vec::new();
    for r in releases.into_iter().flatten().filter(|r| !r.draft) {
        if let Some(asset) = r.asset_names.iter().find(|a| has_suffix(a, suffixes)) {
            out.push(Evidence {
                url: r.html_url.clone(),
                path: None,
                line: None,
                detail: format!("release {} asset {asset}", r.tag_name),
            });
        }
    }
    out
}

fn has_suffix(name: &str, suffixes: &[String]) -> bool {
    let n = name.to_ascii_lowercase();
    suffixes
        .iter()
        .any(|s| n.ends_with(&s.to_ascii_lowercase()))
}

pub(super) fn sbom(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let mut evidence = tool_evidence(f, def);
    evidence.extend(
        release_asset_evidence(f.snap.releases.as_ref(), &def.release_assets)
            .into_iter()
            .take(3),
    );
    finish("sbom", f, def, evidence, Vec::new())
}

pub(super) fn signing(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let evidence = tool_evidence(f, def);
    let mut finding = finish("signing", f, def, evidence, Vec::new());
    if f.snap.activity.is_some()
        && let Some(releases) = &f.snap.releases
    {
        let mut published: Vec<&Release> = releases.iter().filter(|r| !r.draft).collect();
        published.sort_by_key(|r| std::cmp::Reverse(r.published_at));
        let recent: Vec<&Release> = published.into_iter().take(2).collect();
        finding.exercised = Some(
            recent.len() == 2
                && recent.iter().all(|r| {
                    r.asset_names
                        .iter()
                        .any(|a| has_suffix(a, &def.release_assets))
                }),
        );
    }
    finding
}

pub(super) fn security_policy(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let mut evidence = Vec::new();
    for path in f.snap.files.keys() {
        let name = file_name(path);
        let dir = path.strip_suffix(name).unwrap_or("").trim_end_matches('/');
        if def.files.iter().any(|n| n.eq_ignore_ascii_case(name))
            && def.dirs.iter().any(|d| d == dir)
        {
            evidence.push(ev(path, 1, name.to_string()));
        }
    }
    finish("security_policy", f, def, evidence, Vec::new())
}
