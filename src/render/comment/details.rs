//! One `<details>` block per criterion: each practice by its plain name with why it matters
//! and a public explanation, the evidence per repository (trimmed to the most telling lines),
//! where it was not found on one line, the candidate's pull requests once each, and the rubric
//! arithmetic nested in "How this level was reached".

use std::fmt::Write as _;

use super::{
    Cut, DETAIL_CHARS, Limits, NOTE_CHARS, TITLE_CHARS, URL_CHARS, link_or_text, links_for,
    web_base,
};
use crate::catalogue::{self, PracticeInfo};
use crate::model::{
    Attribution, Criterion, CriterionResult, Evidence, PracticeFinding, PracticeStatus,
    PullRequestSummary, Report, ReviewSummary,
};
use crate::render::neutralise::{self, code, inline, inline_capped, quote};
use crate::render::text::{iso_date, plural, repo_of, short_url};

pub(super) fn all(
    out: &mut String,
    report: &Report,
    limits: &Limits,
    explain: &[&str],
    cut: &mut Cut,
) {
    out.push_str("### Details\n\n");
    if !limits.details {
        cut.details = true;
        for c in &report.criteria {
            let _ = writeln!(
                out,
                "- **{}** ({}): {}",
                c.id.title(),
                super::summary::level_word(c.level),
                inline(&c.because)
            );
        }
        out.push('\n');
        return;
    }
    for c in &report.criteria {
        criterion(out, report, c, limits, explain, cut);
    }
}

fn criterion(
    out: &mut String,
    report: &Report,
    c: &CriterionResult,
    limits: &Limits,
    explain: &[&str],
    cut: &mut Cut,
) {
    let _ = writeln!(
        out,
        "<details>\n<summary><b>{}</b>: {}</summary>\n",
        c.id.title(),
        super::summary::level_word(c.level),
    );
    match c.id {
        Criterion::CodeReview => code_review(out, report, limits, cut),
        _ => practices(out, report, c.id, limits, explain),
    }
    if c.id == Criterion::Testing {
        pull_requests(out, report, limits, cut);
    }
    if c.id == Criterion::CiCd {
        checks_line(out, report);
    }
    // Folio's own words: with every `[` escaped no link can form, so parentheses stay plain.
    let how = inline(&arithmetic(&c.because))
        .replace("\\(", "(")
        .replace("\\)", ")");
    let _ = writeln!(
        out,
        "<details>\n<summary>How this level was reached</summary>\n\n{how}\n\n</details>\n</details>\n"
    );
}

/// The rubric's arithmetic from a `because`: the thresholds met. Its first sentence is the
/// table's reason and its evidence list repeats the lines above, so both are left out when
/// the arithmetic is there to show. Practice ids become plain names, and "in the candidate's
/// own work", which every such condition says, is said once.
pub(super) fn arithmetic(because: &str) -> String {
    const OWN: &str = " in the candidate's own work";
    let Some(start) = because.find("Met: ") else {
        return because.to_string();
    };
    let rest = &because[start + "Met: ".len()..];
    let met = match rest.find(" Evidence: ") {
        Some(end) => &rest[..end],
        None => rest,
    };
    let met = met.strip_suffix('.').unwrap_or(met);
    let mut own = false;
    let conditions: Vec<String> = met
        .split("; ")
        .map(|cond| {
            let Some((head, tail)) = cond.split_once(OWN) else {
                return cond.to_string();
            };
            own = true;
            match head.strip_suffix(" present") {
                Some(id) if catalogue::get(id).is_some() => {
                    format!("{} present{tail}", catalogue::name_of(id))
                }
                _ => format!("{head}{tail}"),
            }
        })
        .collect();
    if own {
        format!(
            "Met in the candidate's own work: {}.",
            conditions.join("; ")
        )
    } else {
        format!("Met: {}.", conditions.join("; "))
    }
}

fn status_words(f: &PracticeFinding) -> &'static str {
    match (f.status, f.exercised) {
        (PracticeStatus::Present, Some(true)) => "seen running",
        (PracticeStatus::Present, Some(false)) => "not seen running",
        (PracticeStatus::Present, None) => "",
        (PracticeStatus::Absent, _) => "not found",
        (PracticeStatus::CouldNotParse, _) => "unknown: a file that decides it could not be read",
        (PracticeStatus::NotAssessable, _) => "not assessable from the linked material",
    }
}

/// Who put the practice there, in words.
fn who_added(a: Option<Attribution>) -> &'static str {
    match a {
        Some(Attribution::Authored) => "added by the candidate",
        Some(Attribution::Template) => "came with the template",
        Some(Attribution::Project) => "added by another maintainer",
        Some(Attribution::Owned) => "in a repository the candidate owns",
        Some(a @ (Attribution::Reviewed | Attribution::Unrelated)) => a.as_str(),
        None => "unattributed",
    }
}

fn entries_for<'a>(report: &'a Report, id: &str) -> Vec<&'a PracticeFinding> {
    let per_repo: Vec<&PracticeFinding> = report
        .practices_by_repository
        .iter()
        .filter(|f| f.id == id)
        .collect();
    if per_repo.is_empty() {
        report.practices.iter().filter(|f| f.id == id).collect()
    } else {
        per_repo
    }
}

fn repo_label(f: &PracticeFinding) -> String {
    inline_capped(
        f.repository.as_deref().unwrap_or("scanned directory"),
        TITLE_CHARS,
    )
}

/// Who put a group of findings in a repository, in words; context only when it earns no
/// credit.
fn attribution_words(a: Option<Attribution>) -> String {
    // The group names the repository already: "in a repository the candidate owns" would
    // say it twice.
    let who = match a {
        Some(Attribution::Owned) => "owned by the candidate",
        _ => who_added(a),
    };
    if a.is_some_and(Attribution::is_credited) {
        who.to_string()
    } else {
        format!("{who}; context only")
    }
}

/// The order in which practices are worth a reader's time: credited and seen running, then
/// credited, then context only; the catalogue's order within each.
fn telling(entries: &[&PracticeFinding]) -> u8 {
    let credited = |f: &&&PracticeFinding| {
        f.status == PracticeStatus::Present && f.attribution.is_some_and(Attribution::is_credited)
    };
    if entries
        .iter()
        .filter(credited)
        .any(|f| f.exercised == Some(true))
    {
        0
    } else if entries.iter().any(|f| credited(&f)) {
        1
    } else {
        2
    }
}

/// Findings without anything found: where a practice was looked for and not seen.
fn bare(f: &PracticeFinding) -> bool {
    f.status == PracticeStatus::Absent && f.evidence.is_empty()
}

/// One practice found in one repository, with the practices whose first piece of evidence is
/// the same line (a publishing step is both trusted publishing and release automation).
struct Item<'a> {
    infos: Vec<&'a PracticeInfo>,
    finding: &'a PracticeFinding,
    explained: bool,
}

/// A repository and how the practices in it came to be there.
type GroupKey = (String, Option<Attribution>);

fn first_url(f: &PracticeFinding) -> Option<&str> {
    f.evidence.first().and_then(|e| e.url.as_deref())
}

/// The practices of one criterion, grouped by repository and by how they came to be there,
/// most telling first. Those in `explain` also say why they matter, with a public
/// explanation, once. Context that earns no credit is named without its links. Practices
/// found nowhere take one line, and so do the repositories where a practice found elsewhere
/// was not seen.
fn practices(out: &mut String, report: &Report, c: Criterion, limits: &Limits, explain: &[&str]) {
    let (found, nowhere) = found_in(report, c);

    // (repository, attribution) → its practices, in the order first met.
    let mut groups: Vec<(GroupKey, Vec<Item>)> = Vec::new();
    let mut missing: Vec<(String, Vec<String>)> = Vec::new();
    for (info, entries) in &found {
        let mut unexplained = explain.contains(&info.id.as_str());
        for &f in entries {
            if bare(f) {
                let name = inline(&info.name);
                match missing.iter_mut().find(|(r, _)| *r == repo_label(f)) {
                    Some((_, names)) => names.push(name),
                    None => missing.push((repo_label(f), vec![name])),
                }
                continue;
            }
            let key = (repo_label(f), f.attribution);
            let group = match groups.iter().position(|(k, _)| *k == key) {
                Some(g) => &mut groups[g].1,
                None => {
                    groups.push((key, Vec::new()));
                    let last = groups.len() - 1;
                    &mut groups[last].1
                }
            };
            let explained = unexplained && f.attribution.is_some_and(Attribution::is_credited);
            unexplained &= !explained;
            let same_line = group.iter_mut().find(|it| {
                first_url(it.finding).is_some()
                    && first_url(it.finding) == first_url(f)
                    && it.finding.exercised == f.exercised
                    && it.explained == explained
            });
            match same_line {
                Some(it) => it.infos.push(info),
                None => group.push(Item {
                    infos: vec![info],
                    finding: f,
                    explained,
                }),
            }
        }
    }
    for ((repo, attribution), items) in &groups {
        let words = attribution_words(*attribution);
        if attribution.is_some_and(Attribution::is_credited) {
            let _ = writeln!(out, "In {repo} ({words}):");
            for it in items {
                let _ = writeln!(out, "- {}", practice_line(it, limits));
            }
        } else {
            let names: Vec<String> = items.iter().map(context_name).collect();
            let _ = writeln!(out, "In {repo} ({words}): {}.", names.join(", "));
        }
        out.push('\n');
    }
    for (repo, names) in &missing {
        let _ = writeln!(out, "Not found in {repo}: {}.\n", names.join(", "));
    }
    if !nowhere.is_empty() {
        let _ = writeln!(
            out,
            "Not found in any linked repository: {}.\n",
            nowhere.join(", ")
        );
    } else if found.is_empty() {
        out.push_str("No repository was read for this criterion.\n\n");
    }
}

fn names_of(item: &Item) -> String {
    let names: Vec<&str> = item.infos.iter().map(|i| i.name.as_str()).collect();
    names.join(" and ")
}

/// A practice seen in context only: its name and whether it ran.
fn context_name(item: &Item) -> String {
    let status = status_words(item.finding);
    if status.is_empty() {
        inline(&names_of(item))
    } else {
        format!("{} ({status})", inline(&names_of(item)))
    }
}

/// One credited practice: its name linked to the first piece of evidence, what was there,
/// whether it was seen running, further evidence (trimmed) and a note; when explained, why it
/// matters and where it is explained.
fn practice_line(item: &Item, limits: &Limits) -> String {
    let f = item.finding;
    let shown = &f.evidence[..f.evidence.len().min(limits.evidence_per_entry)];
    let name = names_of(item);
    let mut line = match shown.first() {
        Some(first) => evidence(first, &name, limits.snippets),
        None => format!("**{}**", inline(&name)),
    };
    let status = status_words(f);
    if !status.is_empty() {
        let _ = write!(line, ", {status}");
    }
    if shown.len() > 1 {
        let rest: Vec<String> = shown[1..]
            .iter()
            .map(|e| evidence(e, "", limits.snippets))
            .collect();
        let _ = write!(line, "; also {}", rest.join(", "));
    }
    let more = f.evidence.len() - shown.len();
    if more > 0 {
        let _ = write!(line, "; and {more} more");
    }
    if let Some(n) = f.notes.first() {
        let _ = write!(line, " (note: {})", inline_capped(n, NOTE_CHARS));
    }
    if item.explained {
        for info in &item.infos {
            line.push_str(&explanation(info));
        }
    }
    line
}

/// `. Why it matters. ([docs.github.com](…))`, as added to a practice's line.
pub(super) fn explanation(info: &PracticeInfo) -> String {
    format!(". {} {}", inline(&info.why), docs_link(&info.docs))
}

/// The practices of each criterion found with credit, most telling first, and those found
/// nowhere, as names.
fn found_in(
    report: &Report,
    c: Criterion,
) -> (
    Vec<(&'static PracticeInfo, Vec<&PracticeFinding>)>,
    Vec<String>,
) {
    let mut nowhere: Vec<String> = Vec::new();
    let mut found = Vec::new();
    for id in catalogue::ids_of(c) {
        let Some(info) = catalogue::get(&id) else {
            continue;
        };
        let entries = entries_for(report, &id);
        if entries.iter().all(|f| bare(f)) {
            if !entries.is_empty() {
                nowhere.push(inline(&info.name));
            }
            continue;
        }
        found.push((info, entries));
    }
    found.sort_by_key(|(_, entries)| telling(entries));
    (found, nowhere)
}

/// The practices worth explaining, in the order room is given to them: the most telling
/// credited practice of each criterion, then the second of each, and so on.
pub(super) fn explanation_order(report: &Report) -> Vec<&'static PracticeInfo> {
    let per_criterion: Vec<Vec<&'static PracticeInfo>> = report
        .criteria
        .iter()
        .map(|c| {
            found_in(report, c.id)
                .0
                .into_iter()
                .filter(|(_, entries)| telling(entries) < 2)
                .map(|(info, _)| info)
                .collect()
        })
        .collect();
    let longest = per_criterion.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|rank| {
            per_criterion
                .iter()
                .filter_map(move |list| list.get(rank).copied())
        })
        .collect()
}

/// `([docs.github.com](https://docs.github.com/…))`: where a practice is explained, named by
/// its site.
fn docs_link(docs: &str) -> String {
    let host = url::Url::parse(docs)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_start_matches("www.").to_string())
        })
        .unwrap_or_else(|| "explanation".to_string());
    format!("({})", link_or_text(&host, Some(docs)))
}

/// `[Linter](permalink): `ruff check``: the practice named by `name`, or the place (`ci.yml
/// line 12`) when there is no name, linked to the evidence, and, with `snippet`, what was
/// there as code. A detail that only repeats the file's name (a lock file, `SECURITY.md`) is
/// left out.
fn evidence(e: &Evidence, name: &str, snippet: bool) -> String {
    let file = e.path.as_deref().map(file_name);
    let detail = e.detail.trim();
    let just_the_file = file.is_some_and(|n| n == detail || e.path.as_deref() == Some(detail));
    let text = if !name.is_empty() {
        name.to_string()
    } else {
        match (file, e.line) {
            (Some(n), Some(l)) => format!("{n} line {l}"),
            (Some(n), None) => n.to_string(),
            (None, _) => e
                .url
                .as_deref()
                .map_or_else(|| "link".to_string(), short_url),
        }
    };
    let place = match &e.url {
        Some(u) if u.chars().count() <= URL_CHARS && neutralise::url(u).is_some() => {
            neutralise::link(&neutralise::cut(&text, DETAIL_CHARS), u)
        }
        // Without a link, the place is still named, so that the claim can be checked by hand.
        _ => match (e.path.as_deref(), e.line) {
            (Some(p), Some(l)) => format!(
                "{} ({} line {l})",
                inline_capped(&text, DETAIL_CHARS),
                inline_capped(p, DETAIL_CHARS)
            ),
            _ => inline_capped(&text, DETAIL_CHARS),
        },
    };
    if !snippet || detail.is_empty() || just_the_file {
        place
    } else {
        format!("{place}: {}", code(&neutralise::cut(detail, DETAIL_CHARS)))
    }
}

/// The last part of a path: the link it goes with holds the whole path.
fn file_name(path: &str) -> &str {
    path.rsplit('/').find(|s| !s.is_empty()).unwrap_or(path)
}

/// One line per authored pull request: date, state, size, test changes and checks that did
/// not pass.
pub(super) fn pr_line(pr: &PullRequestSummary, report: &Report) -> String {
    let mut head = Vec::new();
    if let Some(d) = pr.opened_at.as_deref().and_then(iso_date) {
        head.push(d.to_string());
    }
    let web = web_base(report);
    let repo = repo_of(&pr.url);
    let mut title = link_or_text(&short_url(&pr.url), Some(&pr.url));
    if let Some(t) = &pr.title {
        let _ = write!(
            title,
            " “{}”",
            quote(t, TITLE_CHARS, links_for(web.as_deref(), repo.as_deref()))
        );
    }
    head.push(title);
    if let Some(s) = pr.state {
        head.push(s.as_str().to_string());
    }
    if let Some(s) = pr.size {
        head.push(format!(
            "+{} −{} in {}",
            s.additions,
            s.deletions,
            plural(s.files as usize, "file")
        ));
    }
    let mut tests = Vec::new();
    if pr.test_files_changed > 0 {
        tests.push(format!(
            "{} (+{} lines)",
            plural(pr.test_files_changed as usize, "test file"),
            pr.test_lines_added,
        ));
    } else {
        tests.push("no test files changed".to_string());
    }
    for (n, what) in [
        (pr.new_tests, "new test"),
        (pr.new_parametrized, "parametrization"),
        (pr.new_fixtures, "fixture"),
        (pr.new_property_tests, "property-based test"),
    ] {
        if n > 0 {
            tests.push(plural(n as usize, what));
        }
    }
    head.push(tests.join(", "));
    // Passing checks are the rule and CI/CD counts them; only the exceptions are marked.
    match pr.checks_passed {
        Some(true) => {}
        Some(false) => head.push("checks did not pass".to_string()),
        None => head.push("no checks seen".to_string()),
    }
    head.join(" · ")
}

fn authored(report: &Report) -> Vec<&PullRequestSummary> {
    let mut prs: Vec<&PullRequestSummary> = report
        .pull_requests
        .iter()
        .filter(|p| p.attribution == Attribution::Authored)
        .collect();
    prs.sort_by(|a, b| b.opened_at.cmp(&a.opened_at));
    prs
}

/// The pull requests the Testing details list, newest first.
pub(super) fn listed_pull_requests<'a>(report: &'a Report, limits: &Limits) -> Vec<&'a str> {
    if !limits.details {
        return Vec::new();
    }
    authored(report)
        .into_iter()
        .take(limits.pull_requests)
        .map(|p| p.url.as_str())
        .collect()
}

fn pull_requests(out: &mut String, report: &Report, limits: &Limits, cut: &mut Cut) {
    let prs = authored(report);
    if prs.is_empty() {
        return;
    }
    out.push_str("**Pull requests by the candidate**\n\n");
    for (i, pr) in prs.iter().enumerate() {
        if i >= limits.pull_requests {
            cut.pull_requests += prs.len() - i;
            let _ = writeln!(out, "- and {} more", plural(prs.len() - i, "pull request"));
            break;
        }
        let _ = writeln!(out, "- {}", pr_line(pr, report));
    }
    out.push('\n');
}

fn checks_line(out: &mut String, report: &Report) {
    let prs = authored(report);
    let known: Vec<&&PullRequestSummary> =
        prs.iter().filter(|p| p.checks_passed.is_some()).collect();
    if known.is_empty() {
        return;
    }
    let passed = known
        .iter()
        .filter(|p| p.checks_passed == Some(true))
        .count();
    if passed == known.len() {
        let _ = writeln!(
            out,
            "Checks passed on {}.\n",
            plural(passed, "authored pull request")
        );
    } else {
        let _ = writeln!(
            out,
            "Checks passed on {passed} of {} with checks; the others are marked under \
             Testing.\n",
            plural(known.len(), "authored pull request")
        );
    }
}

fn review_line(r: &ReviewSummary) -> String {
    let state = match r.state.to_ascii_uppercase().as_str() {
        "APPROVED" => "approved",
        "CHANGES_REQUESTED" => "changes requested",
        "COMMENTED" => "commented",
        "DISMISSED" => "dismissed",
        _ => "reviewed",
    };
    let mut parts = Vec::new();
    if let Some(d) = r.submitted_at.as_deref().and_then(iso_date) {
        parts.push(d.to_string());
    }
    parts.push(link_or_text(
        &format!("review of {}", short_url(&r.pull_request)),
        Some(&r.url),
    ));
    parts.push(state.to_string());
    parts.push(plural(r.comment_count as usize, "comment"));
    if r.rubber_stamp {
        parts.push("approval without a substantive comment".to_string());
    }
    parts.join(" · ")
}

fn code_review(out: &mut String, report: &Report, limits: &Limits, cut: &mut Cut) {
    let n = report.review_comments.len();
    if !report.reviews.is_empty() {
        out.push_str("**Reviews by the candidate**\n\n");
        let mut reviews: Vec<&ReviewSummary> = report.reviews.iter().collect();
        reviews.sort_by(|a, b| {
            a.rubber_stamp
                .cmp(&b.rubber_stamp)
                .then_with(|| b.submitted_at.cmp(&a.submitted_at))
        });
        for (i, r) in reviews.iter().enumerate() {
            if i >= limits.reviews {
                cut.reviews += reviews.len() - i;
                let _ = writeln!(out, "- and {} more", plural(reviews.len() - i, "review"));
                break;
            }
            let _ = writeln!(out, "- {}", review_line(r));
        }
        out.push('\n');
    }
    let answered = report
        .pull_requests
        .iter()
        .filter(|p| p.attribution == Attribution::Authored && p.review_responses > 0)
        .count();
    if answered > 0 {
        // Each pull request is listed once, under Testing.
        let _ = writeln!(
            out,
            "The candidate answered review feedback on {answered} of their pull requests \
             (listed under Testing).\n"
        );
    }
    if n == 0 && report.reviews.is_empty() && answered == 0 {
        out.push_str("No reviews were linked.\n\n");
    }
}
