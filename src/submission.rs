//! Reading a tracking issue: the issue form's sections, or links anywhere in a free-form body.
//! Only links to the configured GitHub host are followed; everything else is listed as ignored
//! with the reason, and no request is ever made for it (no SSRF).

use serde::Serialize;

pub(crate) const NO_RESPONSE: &str = "_No response_";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RepoRef {
    pub owner: String,
    pub name: String,
}

impl RepoRef {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
    fn key(&self) -> String {
        self.full_name().to_ascii_lowercase()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PrRef {
    pub repo: RepoRef,
    pub number: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredLink {
    pub link: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParsedSubmission {
    /// From the form's username field; `None` means "the issue's author".
    pub candidate: Option<String>,
    pub pull_requests: Vec<PrRef>,
    pub repositories: Vec<RepoRef>,
    pub ignored: Vec<IgnoredLink>,
    /// Problems that make the submission unusable, in words the submitter can act on.
    pub problems: Vec<String>,
    /// Notes for reviewers (limits applied, links merged).
    pub warnings: Vec<String>,
}

impl ParsedSubmission {
    /// A digest of the links Folio would read, independent of their order, case and
    /// duplicates: a maintainer's confirmation holds for these links only.
    pub fn links_hash(&self) -> String {
        use sha2::Digest as _;
        let mut links: Vec<String> = self
            .pull_requests
            .iter()
            .map(|p| format!("pr {}#{}", p.repo.full_name(), p.number))
            .chain(
                self.repositories
                    .iter()
                    .map(|r| format!("repo {}", r.full_name())),
            )
            .map(|l| l.to_lowercase())
            .collect();
        links.sort();
        links.dedup();
        hex::encode(sha2::Sha256::digest(links.join("\n").as_bytes()))
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkLimits {
    pub max_pull_requests: usize,
    pub max_repositories: usize,
}

impl Default for LinkLimits {
    fn default() -> Self {
        Self {
            max_pull_requests: 20,
            max_repositories: 10,
        }
    }
}

/// GitHub's rules for a user or organisation login: 1–39 ASCII letters, digits or single
/// hyphens, not starting or ending with a hyphen.
pub(crate) fn valid_login(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 39
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// GitHub's rules for a repository name: 1–100 of letters, digits, `.`, `-`, `_`, and not
/// `.` or `..`.
pub(crate) fn valid_repo_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

fn sections(body: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in body.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            out.push((h.trim().to_string(), String::new()));
        } else if let Some((_, text)) = out.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    out
}

/// Candidate URLs in free text: anything starting with http:// or https://, cut at whitespace
/// and at Markdown's link delimiters.
fn urls(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("http") {
        let candidate = &rest[i..];
        if !(candidate.starts_with("http://") || candidate.starts_with("https://")) {
            rest = &rest[i + 4..];
            continue;
        }
        let end = candidate
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '`' | ')' | ']' | '|')
            })
            .unwrap_or(candidate.len());
        let mut url = &candidate[..end];
        url = url.trim_end_matches(['.', ',', ';', ':', '!', '?']);
        out.push(url.to_string());
        rest = &candidate[end..];
    }
    out
}

enum Link {
    Repo(RepoRef),
    Pull(PrRef),
}

fn classify(raw: &str, web: &url::Url) -> Result<Link, String> {
    let u = url::Url::parse(raw).map_err(|_| "not a valid URL".to_string())?;
    let same_host = u.host_str().map(|h| h.to_ascii_lowercase())
        == web.host_str().map(|h| h.to_ascii_lowercase())
        && u.port_or_known_default() == web.port_or_known_default()
        && matches!(u.scheme(), "http" | "https");
    if !same_host {
        return Err(format!(
            "not a link to {}",
            web.host_str().unwrap_or("the configured GitHub")
        ));
    }
    if u.username() != "" || u.password().is_some() {
        return Err("links with credentials are not followed".into());
    }
    let base_path = web.path().trim_end_matches('/');
    let path = u.path().strip_prefix(base_path).unwrap_or(u.path());
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segs.len() < 2 {
        return Err("not a pull request or repository link".into());
    }
    let owner = segs[0];
    let name = segs[1].strip_suffix(".git").unwrap_or(segs[1]);
    if !valid_login(owner) {
        return Err(format!("{owner:?} is not a valid GitHub owner name"));
    }
    if !valid_repo_name(name) {
        return Err(format!("{name:?} is not a valid repository name"));
    }
    let repo = RepoRef {
        owner: owner.to_string(),
        name: name.to_string(),
    };
    match segs.get(2).copied() {
        None | Some("tree") | Some("blob") => Ok(Link::Repo(repo)),
        Some("pull") | Some("pulls") => match segs.get(3).and_then(|n| n.parse::<u64>().ok()) {
            Some(number) if number > 0 => Ok(Link::Pull(PrRef { repo, number })),
            _ => Err("a pull request link needs a number".into()),
        },
        Some(_) => Err("not a pull request or repository link".into()),
    }
}

/// Parses a tracking issue's body. `web` is `FOLIO_WEB_URL`.
pub(crate) fn parse(body: &str, web: &url::Url, limits: LinkLimits) -> ParsedSubmission {
    let mut out = ParsedSubmission::default();
    let secs = sections(body);
    let is_form = secs.iter().any(|(h, _)| h == "GitHub username");
    let mut link_text = String::new();
    if is_form {
        for (heading, text) in &secs {
            let value = text.trim();
            match heading.as_str() {
                "GitHub username" => {
                    if !value.is_empty() && value != NO_RESPONSE {
                        let login = value
                            .lines()
                            .next()
                            .unwrap_or("")
                            .trim()
                            .trim_start_matches('@')
                            .trim_start_matches("https://github.com/")
                            .trim_end_matches('/');
                        if valid_login(login) {
                            out.candidate = Some(login.to_string());
                        } else {
                            out.problems.push(format!(
                                "The GitHub username {:?} is not a valid GitHub login.",
                                login.chars().take(60).collect::<String>()
                            ));
                        }
                    }
                }
                // Notes are free text for reviewers; links there are not evidence.
                "Notes" => {}
                _ => {
                    if value != NO_RESPONSE {
                        link_text.push_str(text);
                        link_text.push('\n');
                    }
                }
            }
        }
    } else {
        link_text = body.to_string();
    }

    let mut seen = std::collections::HashSet::new();
    let mut merged = 0;
    for raw in urls(&link_text) {
        match classify(&raw, web) {
            Ok(Link::Repo(r)) => {
                if seen.insert(format!("repo:{}", r.key())) {
                    out.repositories.push(r);
                } else {
                    merged += 1;
                }
            }
            Ok(Link::Pull(p)) => {
                if seen.insert(format!("pr:{}#{}", p.repo.key(), p.number)) {
                    out.pull_requests.push(p);
                } else {
                    merged += 1;
                }
            }
            Err(reason) => {
                if !out.ignored.iter().any(|i| i.link == raw) {
                    out.ignored.push(IgnoredLink { link: raw, reason });
                }
            }
        }
    }
    if merged > 0 {
        out.warnings
            .push(format!("{merged} repeated link(s) were merged."));
    }
    if out.pull_requests.len() > limits.max_pull_requests {
        out.warnings.push(format!(
            "{} pull request links were given; only the first {} are evaluated.",
            out.pull_requests.len(),
            limits.max_pull_requests
        ));
        out.pull_requests.truncate(limits.max_pull_requests);
    }
    if out.repositories.len() > limits.max_repositories {
        out.warnings.push(format!(
            "{} repository links were given; only the first {} are evaluated.",
            out.repositories.len(),
            limits.max_repositories
        ));
        out.repositories.truncate(limits.max_repositories);
    }
    if out.pull_requests.is_empty() && out.repositories.is_empty() {
        out.problems.push(format!(
            "No pull request or repository links to {} were found. Add links such as {}/OWNER/REPO/pull/123 or {}/OWNER/REPO, one per line.",
            web.host_str().unwrap_or("GitHub"),
            web.as_str().trim_end_matches('/'),
            web.as_str().trim_end_matches('/'),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn web() -> url::Url {
        url::Url::parse("https://github.com").unwrap()
    }

    const FORM: &str = "### GitHub username\n\n@octocat\n\n### Pull requests\n\nhttps://github.com/psf/requests/pull/6000\nhttps://github.com/psf/requests/pull/6000/files\n\n### Repositories\n\nhttps://github.com/octocat/hello-world\nhttps://gitlab.com/octocat/x\n\n### Notes\n\nSee https://github.com/octocat/secret-plans too\n";

    #[test]
    fn issue_form() {
        let s = parse(FORM, &web(), LinkLimits::default());
        assert_eq!(s.candidate.as_deref(), Some("octocat"));
        assert_eq!(s.pull_requests.len(), 1);
        assert_eq!(s.pull_requests[0].number, 6000);
        assert_eq!(
            s.repositories,
            vec![RepoRef {
                owner: "octocat".into(),
                name: "hello-world".into()
            }]
        );
        assert_eq!(s.ignored.len(), 1);
        assert!(s.ignored[0].reason.contains("github.com"));
        assert!(s.problems.is_empty());
        assert_eq!(
            s.warnings,
            vec!["1 repeated link(s) were merged.".to_string()]
        );
    }

    #[test]
    fn empty_form_fields_and_free_form_bodies() {
        let s = parse(
            "### GitHub username\n\n_No response_\n\n### Pull requests\n\n_No response_\n\n### Repositories\n\n_No response_",
            &web(),
            LinkLimits::default(),
        );
        assert_eq!(s.candidate, None);
        assert_eq!(s.problems.len(), 1);

        let s = parse(
            "Hi! My work: [a PR](https://github.com/pallets/flask/pull/5000), and <https://github.com/me/tool>.",
            &web(),
            LinkLimits::default(),
        );
        assert_eq!(s.pull_requests.len(), 1);
        assert_eq!(s.repositories[0].name, "tool");
    }

    #[test]
    fn names_are_checked() {
        let s = parse(
            "https://github.com/-bad-/x https://github.com/ok/.. https://github.com/ok/fine.git https://github.com/ok/r/issues/3 https://github.com/ok/r/pull/x",
            &web(),
            LinkLimits::default(),
        );
        assert_eq!(s.repositories.len(), 1);
        assert_eq!(s.repositories[0].name, "fine");
        assert_eq!(s.ignored.len(), 4);
    }

    #[test]
    fn limits_apply() {
        let body: String = (1..=25)
            .map(|n| format!("https://github.com/o/r/pull/{n}\n"))
            .collect();
        let s = parse(&body, &web(), LinkLimits::default());
        assert_eq!(s.pull_requests.len(), 20);
        assert!(s.warnings.iter().any(|w| w.contains("first 20")));
    }

    #[test]
    fn enterprise_host() {
        let ghes = url::Url::parse("https://ghe.acme.corp").unwrap();
        let s = parse(
            "https://ghe.acme.corp/team/app/pull/4 https://github.com/o/r",
            &ghes,
            LinkLimits::default(),
        );
        assert_eq!(s.pull_requests.len(), 1);
        assert_eq!(s.ignored.len(), 1);
    }

    proptest! {
        #[test]
        fn never_follows_other_hosts(host in "[a-z]{1,10}\\.(com|org|io)", path in "[a-z0-9/]{0,30}") {
            prop_assume!(host != "github.com");
            let body = format!("https://{host}/{path}");
            let s = parse(&body, &web(), LinkLimits::default());
            prop_assert!(s.pull_requests.is_empty() && s.repositories.is_empty());
        }

        #[test]
        fn any_text_parses_without_panic(body in "\\PC{0,400}") {
            let _ = parse(&body, &web(), LinkLimits::default());
        }

        #[test]
        fn logins(s in "[A-Za-z0-9-]{0,45}") {
            let ok = valid_login(&s);
            prop_assert_eq!(ok, !s.is_empty() && s.len() <= 39 && !s.starts_with('-') && !s.ends_with('-') && !s.contains("--"));
        }
    }

    #[test]
    fn the_links_hash_ignores_order_and_case_and_sees_any_change() {
        let web = url::Url::parse("https://github.com").expect("url");
        let parse_links = |links: &str| {
            parse(
                &format!("### GitHub username\n\noctocat\n\n### Pull requests\n\n{links}\n"),
                &web,
                LinkLimits::default(),
            )
        };
        let a =
            parse_links("https://github.com/psf/requests/pull/1\nhttps://github.com/octocat/hello");
        let b =
            parse_links("https://github.com/octocat/Hello\nhttps://github.com/PSF/requests/pull/1");
        assert_eq!(a.links_hash(), b.links_hash());
        let c =
            parse_links("https://github.com/psf/requests/pull/2\nhttps://github.com/octocat/hello");
        assert_ne!(a.links_hash(), c.links_hash());
        let d = parse_links("https://github.com/octocat/hello");
        assert_ne!(a.links_hash(), d.links_hash());
    }
}
