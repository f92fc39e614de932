//! Paths and web links built from untrusted names. Every segment (an owner, a repository, a
//! file path component, a branch, a label) is percent-encoded on its own, so that a name such
//! as `%2e%2e/x` or `a?b#c` stays one segment and can never point at another resource.

use std::fmt::Write as _;

/// Percent-encodes one path segment: everything but RFC 3986's unreserved characters.
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    // `.` and `..` are dot-segments that URL parsers resolve away even when written as
    // `%2E`; escaping the `%` keeps them a literal name that points nowhere else.
    match out.as_str() {
        "." => "%252E".to_string(),
        ".." => "%252E%252E".to_string(),
        _ => out,
    }
}

/// A `/`-separated path (a file in a repository), each component encoded on its own.
pub fn segments(path: &str) -> String {
    path.split('/').map(segment).collect::<Vec<_>>().join("/")
}

/// A query-string value.
pub fn query_value(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `owner/name` as two encoded segments.
pub fn repo(full_name: &str) -> String {
    match full_name.split_once('/') {
        Some((owner, name)) => format!("{}/{}", segment(owner), segment(name)),
        None => segment(full_name),
    }
}

fn base(web: &url::Url) -> &str {
    web.as_str().trim_end_matches('/')
}

/// The repository's page.
pub fn repository(web: &url::Url, full_name: &str) -> String {
    format!("{}/{}", base(web), repo(full_name))
}

/// A file at one commit, with an optional line anchor.
pub fn blob(web: &url::Url, full_name: &str, sha: &str, path: &str, line: Option<u32>) -> String {
    let anchor = line.map(|l| format!("#L{l}")).unwrap_or_default();
    format!(
        "{}/blob/{}/{}{anchor}",
        repository(web, full_name),
        segment(sha),
        segments(path)
    )
}

/// A pull request's page.
pub fn pull_request(web: &url::Url, full_name: &str, number: u64) -> String {
    format!("{}/pull/{number}", repository(web, full_name))
}

/// A tag's page.
pub fn tag(web: &url::Url, full_name: &str, tag: &str) -> String {
    format!(
        "{}/releases/tag/{}",
        repository(web, full_name),
        segment(tag)
    )
}

/// A workflow run's page.
pub fn run(web: &url::Url, full_name: &str, run_id: u64) -> String {
    format!("{}/actions/runs/{run_id}", repository(web, full_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> url::Url {
        url::Url::parse("https://github.com/").unwrap()
    }

    #[test]
    fn a_hostile_file_name_stays_one_segment() {
        let link = blob(&web(), "o/r", "abc", "%2e%2e/x", Some(3));
        assert_eq!(link, "https://github.com/o/r/blob/abc/%252e%252e/x#L3");
        let link = blob(&web(), "o/r", "abc", "../../../evil?x=1#y", None);
        assert_eq!(
            link,
            "https://github.com/o/r/blob/abc/%252E%252E/%252E%252E/%252E%252E/evil%3Fx%3D1%23y"
        );
        // Parsed back, the path still has the repository's prefix.
        let parsed = url::Url::parse(&link).unwrap();
        assert!(parsed.path().starts_with("/o/r/blob/abc/"));
        assert_eq!(parsed.query(), None);
        assert_eq!(parsed.fragment(), None);
    }

    #[test]
    fn ordinary_links_are_unchanged() {
        assert_eq!(
            blob(
                &web(),
                "octo/hello",
                "0123",
                ".github/workflows/ci.yml",
                Some(12)
            ),
            "https://github.com/octo/hello/blob/0123/.github/workflows/ci.yml#L12"
        );
        assert_eq!(
            pull_request(&web(), "octo/hello", 7),
            "https://github.com/octo/hello/pull/7"
        );
        assert_eq!(
            tag(&web(), "octo/hello", "v1.0/rc 1"),
            "https://github.com/octo/hello/releases/tag/v1.0%2Frc%201"
        );
        assert_eq!(
            run(&web(), "octo/hello", 42),
            "https://github.com/octo/hello/actions/runs/42"
        );
        assert_eq!(repository(&web(), "a/b"), "https://github.com/a/b");
    }

    #[test]
    fn segments_encode_separators_and_dot_segments() {
        assert_eq!(segment("feature/x"), "feature%2Fx");
        assert_eq!(segment(".."), "%252E%252E");
        assert_eq!(segment("a b+c"), "a%20b%2Bc");
        assert_eq!(repo("../x"), "%252E%252E/x");
    }
}
