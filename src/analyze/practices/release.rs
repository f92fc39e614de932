//! release_engineering: trusted_publishing, release_automation, changelog, semver_tags,
//! release_notes.

use super::common::{action_specs, cmd_ev, command_specs, ev, finish, uses_ev};
use super::facts::{Facts, file_name};
use super::table::PracticeDef;
use super::testing::setting_evidence;
use super::yaml::{Node, Value};
use crate::model::{Evidence, PracticeFinding, PracticeStatus};

fn grants_id_token(p: &Node) -> bool {
    match &p.value {
        Value::Scalar { text, .. } => text == "write-all",
        Value::Map(_) => p.get("id-token").and_then(Node::as_str) == Some("write"),
        Value::Seq(_) => false,
    }
}

/// Whether the job that runs a step may mint an OIDC token: the job's own `permissions`
/// replace the workflow's entirely.
fn job_has_id_token(f: &Facts, job: Option<(usize, usize)>) -> bool {
    let Some((wi, ji)) = job else { return false };
    let Some(wf) = f.workflows.get(wi) else {
        return false;
    };
    let Some(j) = wf.jobs.get(ji) else {
        return false;
    };
    match (&j.permissions, &wf.permissions) {
        (Some(p), _) => grants_id_token(p),
        (None, Some(p)) => grants_id_token(p),
        (None, None) => caller_has_id_token(f, &wf.path, 0),
    }
}

/// A reusable workflow without `permissions:` runs with its caller job's token.
fn caller_has_id_token(f: &Facts, called: &str, depth: usize) -> bool {
    if depth > 3 {
        return false;
    }
    f.workflows.iter().any(|w| {
        w.jobs.iter().any(|j| {
            let calls = j
                .uses
                .as_ref()
                .is_some_and(|(u, _)| u.trim_start_matches("./").split('@').next() == Some(called));
            calls
                && match (&j.permissions, &w.permissions) {
                    (Some(p), _) | (None, Some(p)) => grants_id_token(p),
                    (None, None) => caller_has_id_token(f, &w.path, depth + 1),
                }
        })
    })
}

pub(super) fn trusted_publishing(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let mut evidence = Vec::new();
    let mut notes = Vec::new();
    for u in f.uses_matching(&action_specs(def)) {
        let secret = def
            .secret_inputs
            .iter()
            .find(|k| u.with.as_ref().and_then(|w| w.get(k)).is_some());
        match (job_has_id_token(f, u.job), secret) {
            (true, None) => evidence.push(uses_ev(u)),
            (_, Some(k)) => notes.push(format!(
                "{}:{}: publishes with a `{k}` secret",
                u.path, u.line
            )),
            (false, None) => notes.push(format!(
                "{}:{}: publish job lacks `id-token: write`",
                u.path, u.line
            )),
        }
    }
    for c in f.ci_matching(&command_specs(def)) {
        let flag = def
            .secret_flags
            .iter()
            .any(|fl| super::shell::has_flag(&c.argv, fl));
        let env = c
            .env
            .iter()
            .any(|(k, v)| def.secret_env.iter().any(|s| s == k) && v.contains("secrets."));
        if flag || env {
            notes.push(format!(
                "{}:{}: `{}` passes a token or password",
                c.path, c.line, c.text
            ));
        } else if job_has_id_token(f, c.job) {
            evidence.push(cmd_ev(c));
        } else {
            notes.push(format!(
                "{}:{}: publish job lacks `id-token: write`",
                c.path, c.line
            ));
        }
    }
    finish("trusted_publishing", f, def, evidence, notes)
}

pub(super) fn release_automation(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let mut evidence: Vec<Evidence> = f.ci_matching(&command_specs(def)).map(cmd_ev).collect();
    evidence.extend(f.uses_matching(&action_specs(def)).map(uses_ev));
    let mut finding = finish("release_automation", f, def, evidence, Vec::new());
    if f.snap.activity.is_some()
        && let Some(releases) = &f.snap.releases
    {
        finding.exercised = Some(releases.iter().any(|r| {
            r.author_login
                .as_deref()
                .is_some_and(|l| l.ends_with("[bot]"))
        }));
    }
    finding
}

fn excluded(path: &str, dirs: &[String]) -> bool {
    path.split('/')
        .rev()
        .skip(1)
        .any(|c| dirs.iter().any(|d| d.eq_ignore_ascii_case(c)))
}

/// Folders of Python projects: the root and every folder holding a pyproject/setup file.
fn project_dirs(f: &Facts) -> Vec<String> {
    let mut dirs = vec![String::new()];
    for path in f.snap.files.keys() {
        let name = file_name(path);
        if matches!(name, "pyproject.toml" | "setup.py" | "setup.cfg") {
            let d = path
                .strip_suffix(name)
                .unwrap_or("")
                .trim_end_matches('/')
                .to_string();
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        }
    }
    dirs
}

/// Whether `dir` is a place a changelog belongs: a project folder, its `docs/` (any depth),
/// its package folder (`pkg/`, `src/pkg/`).
fn changelog_place(dir: &str, projects: &[String]) -> bool {
    projects.iter().any(|p| {
        let rel = if p.is_empty() {
            Some(dir)
        } else if dir == p {
            Some("")
        } else {
            dir.strip_prefix(&format!("{p}/"))
        };
        let Some(rel) = rel else { return false };
        if rel.is_empty() {
            return true;
        }
        let parts: Vec<&str> = rel.split('/').collect();
        matches!(parts[0], "docs" | "doc")
            || parts.len() == 1
            || (parts.len() == 2 && parts[0] == "src")
    })
}

pub(super) fn changelog(f: &Facts, def: &PracticeDef) -> PracticeFinding {
    let mut evidence = Vec::new();
    let mut notes = Vec::new();
    let projects = project_dirs(f);
    let mut fragment_dirs: Vec<String> = Vec::new();
    for path in f.snap.files.keys() {
        let name = file_name(path);
        let dir = path.strip_suffix(name).unwrap_or("").trim_end_matches('/');
        if excluded(path, &def.excluded_dirs) {
            continue;
        }
        // `history.py` or a Django app called `news` is code, not a changelog.
        if is_code(name) {
            continue;
        }
        let stem = name.split('.').next().unwrap_or("").to_ascii_lowercase();
        if def.files.contains(&stem) && changelog_place(dir, &projects) {
            evidence.push(ev(path, 1, name.to_string()));
            continue;
        }
        let parent = file_name(dir);
        if def.dirs.iter().any(|d| d == parent) && !fragment_dirs.iter().any(|d| d == dir) {
            let grand = dir.strip_suffix(parent).unwrap_or("").trim_end_matches('/');
            if changelog_place(grand, &projects) || grand.is_empty() {
                fragment_dirs.push(dir.to_string());
                evidence.push(ev(path, 1, format!("changelog fragments in {dir}/")));
            }
        }
    }
    evidence.extend(setting_evidence(f, &def.settings, false));
    if evidence.is_empty() {
        for path in f.snap.files.keys() {
            let stem = file_name(path)
                .split('.')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if def.files.contains(&stem) {
                notes.push(format!(
                    "{path} is not the project's changelog (test data, vendored or elsewhere)"
                ));
            }
        }
    }
    finish("changelog", f, def, evidence, notes)
}

/// Source files, which a changelog or a changelog fragment never is.
fn is_code(name: &str) -> bool {
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => return false,
    };
    matches!(
        ext.as_str(),
        "py" | "pyi"
            | "pyx"
            | "pxd"
            | "js"
            | "ts"
            | "html"
            | "css"
            | "json"
            | "yml"
            | "yaml"
            | "toml"
            | "cfg"
            | "ini"
            | "sh"
            | "c"
            | "h"
            | "rs"
            | "go"
            | "sql"
            | "pyc"
    )
}

/// `vX.Y.Z` or `X.Y.Z`, with an optional pre-release or build suffix.
pub(super) fn is_semver(tag: &str) -> bool {
    let t = tag.strip_prefix(['v', 'V']).unwrap_or(tag);
    let mut parts = t.splitn(3, '.');
    let (Some(a), Some(b), Some(c)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|ch| ch.is_ascii_digit());
    let patch: String = c.chars().take_while(char::is_ascii_digit).collect();
    let rest = &c[patch.len()..];
    digits(a)
        && digits(b)
        && digits(&patch)
        && (rest.is_empty()
            || rest.starts_with(['-', '+', '.'])
            || rest.starts_with(|ch: char| ch.is_ascii_alphabetic())
                && rest
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '.'))
}

/// The repository's web address, from a release's `html_url` (`…/releases/tag/<tag>`): the
/// API gives it on the host the reader browses, GitHub Enterprise Server included.
fn release_base(releases: Option<&[crate::snapshot::Release]>) -> Option<String> {
    releases?.iter().find_map(|r| {
        let url = r.html_url.as_deref()?;
        url.find("/releases/tag/").map(|i| url[..i].to_string())
    })
}

/// A tag name as a URL path segment: characters with a meaning in URLs are escaped.
fn encode_ref(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for ch in name.chars() {
        match ch {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '.' | '_' | '~' | '/' | '+' => out.push(ch),
            _ => {
                let mut buf = [0u8; 4];
                for b in ch.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

pub(super) fn semver_tags(f: &Facts, _def: &PracticeDef) -> PracticeFinding {
    let Some(tags) = &f.snap.tags else {
        let mut finding = PracticeFinding::new("semver_tags", PracticeStatus::NotAssessable);
        finding
            .notes
            .push("no git tags available (not a git checkout)".into());
        return finding;
    };
    let mut sorted: Vec<_> = tags.iter().enumerate().collect();
    // Newest tagged commit first; tags without a time keep their given order, after the rest.
    sorted.sort_by_key(|(i, t)| {
        (
            t.commit_time.is_none(),
            std::cmp::Reverse(t.commit_time),
            *i,
        )
    });
    let recent: Vec<_> = sorted.into_iter().take(5).map(|(_, t)| t).collect();
    let matching: Vec<_> = recent.iter().filter(|t| is_semver(&t.name)).collect();
    let status = if matching.len() >= 3 {
        PracticeStatus::Present
    } else {
        PracticeStatus::Absent
    };
    let mut finding = PracticeFinding::new("semver_tags", status);
    let base = release_base(f.snap.releases.as_deref());
    finding.evidence = matching
        .iter()
        .map(|t| Evidence {
            url: base
                .as_ref()
                .map(|b| format!("{b}/releases/tag/{}", encode_ref(&t.name))),
            path: None,
            line: None,
            detail: format!("tag {}", t.name),
        })
        .collect();
    finding.notes.push(format!(
        "{} of the {} most recent tags look like semantic versions",
        matching.len(),
        recent.len()
    ));
    finding
}

pub(super) fn release_notes(f: &Facts, _def: &PracticeDef) -> PracticeFinding {
    let Some(releases) = &f.snap.releases else {
        let mut finding = PracticeFinding::new("release_notes", PracticeStatus::NotAssessable);
        finding
            .notes
            .push("GitHub releases are only known from the API".into());
        return finding;
    };
    let with_notes: Vec<_> = releases
        .iter()
        .filter(|r| !r.draft && r.body.as_deref().is_some_and(|b| !b.trim().is_empty()))
        .collect();
    let status = if with_notes.is_empty() {
        PracticeStatus::Absent
    } else {
        PracticeStatus::Present
    };
    let mut finding = PracticeFinding::new("release_notes", status);
    finding.evidence = with_notes
        .iter()
        .take(5)
        .map(|r| Evidence {
            url: r.html_url.clone(),
            path: None,
            line: None,
            detail: format!("release {} has notes", r.tag_name),
        })
        .collect();
    finding
}

#[cfg(test)]
mod tag_link_tests {
    use super::*;
    use crate::snapshot::Release;

    fn release(url: Option<&str>) -> Release {
        Release {
            tag_name: "v1.0.0".into(),
            name: None,
            body: None,
            html_url: url.map(str::to_string),
            draft: false,
            prerelease: false,
            published_at: None,
            author_login: None,
            asset_names: Vec::new(),
        }
    }

    #[test]
    fn tag_links_come_from_the_release_host() {
        let rs = vec![
            release(None),
            release(Some("https://ghe.example/o/r/releases/tag/v1.0.0")),
        ];
        assert_eq!(
            release_base(Some(&rs)).as_deref(),
            Some("https://ghe.example/o/r")
        );
        assert_eq!(release_base(Some(&[release(None)])), None);
        assert_eq!(release_base(None), None);
        assert_eq!(encode_ref("v1.0.0"), "v1.0.0");
        assert_eq!(encode_ref("v1 #2?"), "v1%20%232%3F");
    }
}
