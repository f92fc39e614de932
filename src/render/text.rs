//! Small wording helpers shared by the comment and the scan views: plurals, dates, short
//! names for GitHub links.

/// `1 review`, `2 reviews`, `1 repository`, `3 repositories`. Irregular plurals are spelled
/// out by the caller through [`count_of`].
pub fn plural(n: usize, singular: &str) -> String {
    if n == 1 {
        return format!("1 {singular}");
    }
    let many = if let Some(stem) = singular.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'o', 'u'])
    {
        format!("{stem}ies")
    } else if singular.ends_with(['s', 'x']) || singular.ends_with("ch") || singular.ends_with("sh")
    {
        format!("{singular}es")
    } else {
        format!("{singular}s")
    };
    format!("{n} {many}")
}

/// `n` with an explicit plural form, for words the rule above gets wrong.
pub fn count_of(n: usize, singular: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {many}")
    }
}

/// The ISO date (`2025-06-02`) of an RFC 3339 time, or `None` when it does not start with one.
pub fn iso_date(rfc3339: &str) -> Option<&str> {
    let d = rfc3339.get(..10)?;
    let b = d.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    (digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10)).then_some(d)
}

/// The month (`2025-06`) of an RFC 3339 time.
pub fn iso_month(rfc3339: &str) -> Option<&str> {
    iso_date(rfc3339).map(|d| &d[..7])
}

/// `owner/repo pull 7` from a pull request or comment URL; written without `#` so that the
/// text itself never cross-links.
pub fn short_url(u: &str) -> String {
    let parsed = match url::Url::parse(u) {
        Ok(p) if matches!(p.scheme(), "https" | "http") => p,
        // Never linked (see `neutralise::url`), so say so rather than echo it.
        _ => return "an address that is not a web link".to_string(),
    };
    let segs: Vec<&str> = parsed
        .path_segments()
        .map(|s| s.filter(|x| !x.is_empty()).collect())
        .unwrap_or_default();
    match segs.as_slice() {
        [owner, repo, "pull", n, ..] => format!("{owner}/{repo} pull {n}"),
        [owner, repo, "issues", n, ..] => format!("{owner}/{repo} issue {n}"),
        [owner, repo, "releases", "tag", tag] => format!("{owner}/{repo} release {tag}"),
        [owner, repo, ..] => format!("{owner}/{repo}"),
        _ => segs.join("/"),
    }
}

/// `owner/repo` of a GitHub URL.
pub fn repo_of(u: &str) -> Option<String> {
    let parsed = url::Url::parse(u).ok()?;
    let mut segs = parsed.path_segments()?.filter(|x| !x.is_empty());
    let owner = segs.next()?;
    let repo = segs.next()?;
    Some(format!("{owner}/{repo}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "review"), "1 review");
        assert_eq!(plural(2, "review"), "2 reviews");
        assert_eq!(plural(0, "review"), "0 reviews");
        assert_eq!(plural(1, "repository"), "1 repository");
        assert_eq!(plural(3, "repository"), "3 repositories");
        assert_eq!(plural(2, "day"), "2 days");
        assert_eq!(plural(2, "fix"), "2 fixes");
        assert_eq!(plural(1, "parametrization"), "1 parametrization");
        assert_eq!(plural(5, "parametrization"), "5 parametrizations");
        assert_eq!(
            count_of(2, "piece of evidence", "pieces of evidence"),
            "2 pieces of evidence"
        );
        assert_eq!(
            count_of(1, "piece of evidence", "pieces of evidence"),
            "1 piece of evidence"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(iso_date("2025-06-02T10:11:12Z"), Some("2025-06-02"));
        assert_eq!(iso_month("2025-06-02T10:11:12Z"), Some("2025-06"));
        assert_eq!(iso_date("2025-06-02"), Some("2025-06-02"));
        assert_eq!(iso_date("yesterday"), None);
        assert_eq!(iso_date("2025-6-2T1"), None);
        assert_eq!(iso_date("ä025-06-02"), None);
    }

    #[test]
    fn short_urls_never_carry_a_hash() {
        assert_eq!(
            short_url("https://github.com/o/r/pull/7#discussion_r1"),
            "o/r pull 7"
        );
        assert_eq!(short_url("https://github.com/o/r"), "o/r");
        assert_eq!(
            short_url("javascript:x"),
            "an address that is not a web link"
        );
        assert_eq!(
            repo_of("https://github.com/o/r/pull/7").as_deref(),
            Some("o/r")
        );
    }
}
