//! The internal event type: only what Folio acts on, parsed from GitHub's payloads with our own
//! minimal structs. octocrab's typed models reject actions they don't know, and a valid, signed
//! delivery must never be refused for that, so unknown events and actions become `Ignored`.

use serde::{Deserialize, Serialize};

/// Folio's own label and form heading that mark an issue as a submission.
pub const SUBMISSION_LABEL: &str = "folio: submission";
pub const FORM_HEADING: &str = "### GitHub username";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Ping {
        hook_id: Option<i64>,
        app_id: Option<i64>,
    },
    Installation {
        action: String,
        installation_id: i64,
        account_login: String,
        account_type: String,
        /// The repositories the installation selects, as the payload lists them.
        repositories: Vec<String>,
    },
    InstallationRepositories {
        action: String,
        installation_id: i64,
        account_login: Option<String>,
        added: Vec<String>,
        removed: Vec<String>,
    },
    Issue {
        action: String,
        installation_id: Option<i64>,
        repo: String,
        /// GitHub's id of the repository, which stays across renames.
        repo_id: Option<i64>,
        number: i64,
        author: String,
        is_submission: bool,
        /// For `edited`: whether the body changed (title-only edits don't re-evaluate).
        body_changed: bool,
        label_added: Option<String>,
    },
    IssueComment {
        action: String,
        installation_id: Option<i64>,
        repo: String,
        repo_id: Option<i64>,
        issue_number: i64,
        comment_id: i64,
        author: String,
        author_is_bot: bool,
        on_pull_request: bool,
        commands: Vec<Command>,
    },
    Ignored {
        event: String,
        action: Option<String>,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Refresh,
    /// The candidate withdraws: erase the submission's data and the evidence comment.
    Forget,
    Unknown(String),
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The body is not JSON at all (400).
    #[error("body is not valid JSON: {0}")]
    NotJson(String),
}

#[derive(Deserialize)]
struct Account {
    login: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct InstallationRef {
    id: i64,
    #[serde(default)]
    account: Option<Account>,
}

#[derive(Deserialize)]
struct RepoRef {
    full_name: String,
    #[serde(default)]
    id: Option<i64>,
}

#[derive(Deserialize)]
struct Label {
    name: String,
}

#[derive(Deserialize)]
struct User {
    login: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct Issue {
    number: i64,
    user: User,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    labels: Vec<Label>,
    /// Only its presence matters; `IgnoredAny` skips it without building a value.
    #[serde(default)]
    pull_request: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Comment {
    id: i64,
    user: User,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    performed_via_github_app: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Hook {
    #[serde(default)]
    app_id: Option<i64>,
}

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    installation: Option<InstallationRef>,
    #[serde(default)]
    repository: Option<RepoRef>,
    #[serde(default)]
    issue: Option<Issue>,
    #[serde(default)]
    comment: Option<Comment>,
    #[serde(default)]
    label: Option<Label>,
    /// Which fields changed; their old values are not needed.
    #[serde(default)]
    changes: Option<std::collections::HashMap<String, serde::de::IgnoredAny>>,
    #[serde(default)]
    hook_id: Option<i64>,
    #[serde(default)]
    hook: Option<Hook>,
    #[serde(default)]
    repositories: Vec<RepoRef>,
    #[serde(default)]
    repositories_added: Vec<RepoRef>,
    #[serde(default)]
    repositories_removed: Vec<RepoRef>,
}

fn ignored(event: &str, action: Option<String>, reason: impl Into<String>) -> Event {
    Event::Ignored {
        event: event.to_string(),
        action,
        reason: reason.into(),
    }
}

/// Whether an issue is a Folio submission: the form's heading, or the submission label.
pub fn is_submission(body: Option<&str>, labels: &[&str]) -> bool {
    body.is_some_and(|b| b.lines().any(|l| l.trim() == FORM_HEADING))
        || labels
            .iter()
            .any(|l| l.eq_ignore_ascii_case(SUBMISSION_LABEL))
}

/// Parses a delivery into the internal event. Only a body that is not JSON is an error; a JSON
/// body that lacks what an action needs is ignored with a reason.
pub fn parse(event: &str, body: &[u8]) -> Result<Event, EventError> {
    // One pass into the minimal structs; only when that fails is the body checked again to
    // tell "not JSON" (400) from "JSON of another shape" (acknowledged and ignored).
    let payload: Payload = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(e) => {
            let raw: serde_json::Value =
                serde_json::from_slice(body).map_err(|e| EventError::NotJson(e.to_string()))?;
            let action = raw
                .get("action")
                .and_then(|a| a.as_str())
                .map(str::to_string);
            return Ok(ignored(
                event,
                action,
                format!("unexpected payload shape: {e}"),
            ));
        }
    };
    let action = payload.action.clone();
    let act = action.as_deref().unwrap_or("");
    Ok(match event {
        "ping" => Event::Ping {
            hook_id: payload.hook_id,
            app_id: payload.hook.and_then(|h| h.app_id),
        },
        "installation" => {
            if !matches!(
                act,
                "created" | "deleted" | "suspend" | "unsuspend" | "new_permissions_accepted"
            ) {
                return Ok(ignored(event, action, "action not modelled"));
            }
            let Some(inst) = payload.installation else {
                return Ok(ignored(event, action, "payload has no installation"));
            };
            let (login, kind) = inst
                .account
                .map(|a| (a.login, a.kind.unwrap_or_else(|| "User".into())))
                .unwrap_or_else(|| (String::new(), "User".into()));
            Event::Installation {
                action: act.to_string(),
                installation_id: inst.id,
                account_login: login,
                account_type: kind,
                repositories: payload
                    .repositories
                    .into_iter()
                    .map(|r| r.full_name)
                    .collect(),
            }
        }
        "installation_repositories" => {
            if !matches!(act, "added" | "removed") {
                return Ok(ignored(event, action, "action not modelled"));
            }
            let Some(inst) = payload.installation else {
                return Ok(ignored(event, action, "payload has no installation"));
            };
            Event::InstallationRepositories {
                action: act.to_string(),
                installation_id: inst.id,
                account_login: inst.account.map(|a| a.login),
                added: payload
                    .repositories_added
                    .into_iter()
                    .map(|r| r.full_name)
                    .collect(),
                removed: payload
                    .repositories_removed
                    .into_iter()
                    .map(|r| r.full_name)
                    .collect(),
            }
        }
        "issues" => {
            if !matches!(
                act,
                "opened" | "edited" | "reopened" | "closed" | "deleted" | "labeled"
            ) {
                return Ok(ignored(event, action, "action not modelled"));
            }
            let (Some(issue), Some(repo)) = (payload.issue, payload.repository) else {
                return Ok(ignored(event, action, "payload has no issue or repository"));
            };
            if issue.pull_request.is_some() {
                return Ok(ignored(event, action, "a pull request, not an issue"));
            }
            let labels: Vec<&str> = issue.labels.iter().map(|l| l.name.as_str()).collect();
            let body_changed = match &payload.changes {
                // GitHub lists what changed; when it says nothing, assume the body may have.
                Some(c) if !c.is_empty() => c.contains_key("body"),
                _ => true,
            };
            Event::Issue {
                action: act.to_string(),
                installation_id: payload.installation.map(|i| i.id),
                repo: repo.full_name,
                repo_id: repo.id,
                number: issue.number,
                author: issue.user.login,
                is_submission: is_submission(issue.body.as_deref(), &labels),
                body_changed: act == "edited" && body_changed,
                label_added: payload.label.map(|l| l.name),
            }
        }
        "issue_comment" => {
            if act != "created" {
                return Ok(ignored(event, action, "action not modelled"));
            }
            let (Some(issue), Some(comment), Some(repo)) =
                (payload.issue, payload.comment, payload.repository)
            else {
                return Ok(ignored(
                    event,
                    action,
                    "payload has no issue, comment or repository",
                ));
            };
            let author_is_bot = comment.user.kind.as_deref() == Some("Bot")
                || comment.user.login.ends_with("[bot]")
                || comment.performed_via_github_app.is_some();
            Event::IssueComment {
                action: act.to_string(),
                installation_id: payload.installation.map(|i| i.id),
                repo: repo.full_name,
                repo_id: repo.id,
                issue_number: issue.number,
                comment_id: comment.id,
                author: comment.user.login,
                author_is_bot,
                on_pull_request: issue.pull_request.is_some(),
                commands: parse_commands(comment.body.as_deref().unwrap_or("")),
            }
        }
        other => ignored(other, action, "event not modelled"),
    })
}

/// Finds `/folio <command>` lines outside fenced code, indented code, quotes and HTML
/// comments, so that quoting someone's command, showing it in an example or hiding it in a
/// comment never triggers it. A quote runs on through the lines that lazily continue it, up to
/// a blank line, as Markdown renders it.
pub fn parse_commands(body: &str) -> Vec<Command> {
    let mut out = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    let mut in_comment = false;
    let mut in_quote = false;
    for raw in body.lines() {
        let visible;
        let line = if fence.is_some() {
            raw
        } else {
            visible = strip_html_comments(raw, &mut in_comment);
            visible.as_str()
        };
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if fence.is_none() && trimmed.is_empty() {
            // A truly blank line ends a quote; a line that held only a comment does not.
            if raw.trim().is_empty() && !in_comment {
                in_quote = false;
            }
            continue;
        }
        let fence_char = trimmed.chars().next();
        if let Some(c @ ('`' | '~')) = fence_char {
            let run = trimmed.chars().take_while(|x| *x == c).count();
            if run >= 3 && indent < 4 {
                match fence {
                    None => {
                        // A fence interrupts the paragraph that lazily continued a quote.
                        in_quote = false;
                        fence = Some((c, run));
                    }
                    Some((fc, fr)) if fc == c && run >= fr && trimmed[run..].trim().is_empty() => {
                        fence = None
                    }
                    _ => {}
                }
                continue;
            }
        }
        if fence.is_some() {
            continue;
        }
        if indent < 4 && trimmed.starts_with('>') {
            in_quote = true;
            continue;
        }
        if in_quote || indent >= 4 {
            continue;
        }
        let mut words = trimmed.split_whitespace();
        if words.next() != Some("/folio") {
            continue;
        }
        match words.next() {
            Some(w) if w.eq_ignore_ascii_case("refresh") => out.push(Command::Refresh),
            Some(w) if w.eq_ignore_ascii_case("forget") => out.push(Command::Forget),
            Some(w) => out.push(Command::Unknown(w.chars().take(40).collect())),
            None => out.push(Command::Unknown(String::new())),
        }
    }
    out
}

/// The text of `line` outside HTML comments; `in_comment` carries an open comment across
/// lines.
fn strip_html_comments(line: &str, in_comment: &mut bool) -> String {
    let mut visible = String::new();
    let mut rest = line;
    loop {
        if *in_comment {
            match rest.find("-->") {
                Some(end) => {
                    *in_comment = false;
                    rest = &rest[end + 3..];
                }
                None => return visible,
            }
        } else {
            match rest.find("<!--") {
                Some(start) => {
                    visible.push_str(&rest[..start]);
                    *in_comment = true;
                    rest = &rest[start + 4..];
                }
                None => {
                    visible.push_str(rest);
                    return visible;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_outside_code_and_quotes_only() {
        assert_eq!(parse_commands("/folio refresh"), vec![Command::Refresh]);
        assert_eq!(parse_commands("/folio Forget"), vec![Command::Forget]);
        assert!(parse_commands("> /folio forget").is_empty());
        assert_eq!(
            parse_commands("please\n  /folio   Refresh  \n"),
            vec![Command::Refresh]
        );
        assert!(parse_commands("> /folio refresh").is_empty());
        assert!(parse_commands("```\n/folio refresh\n```").is_empty());
        assert!(parse_commands("~~~~\n/folio refresh\n~~~\n/folio refresh").is_empty());
        assert_eq!(
            parse_commands("```\n/folio refresh\n```\n/folio refresh"),
            vec![Command::Refresh]
        );
        assert!(parse_commands("    /folio refresh").is_empty());
        assert!(parse_commands("run /folio refresh later").is_empty());
        assert_eq!(
            parse_commands("/folio bogus"),
            vec![Command::Unknown("bogus".into())]
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_bodies_never_panic(body in "(\\PC|\n|>|<!--|-->|```|/folio refresh){0,60}") {
            let commands = parse_commands(&body);
            proptest::prop_assert!(commands.len() <= body.lines().count());
        }

        #[test]
        fn a_command_inside_a_comment_never_counts(before in "[a-z \n]{0,40}", after in "[a-z \n]{0,40}") {
            let body = format!("{before}<!--{after}\n/folio refresh\n{after}-->");
            proptest::prop_assert!(!parse_commands(&body).contains(&Command::Refresh));
        }
    }

    #[test]
    fn lazy_continuation_of_a_quote_is_quoted() {
        // A line after `>` continues the quote until a blank line (CommonMark's laziness).
        assert!(parse_commands("> they wrote\n/folio refresh").is_empty());
        assert!(parse_commands("> a\n> b\nstill quoted\n/folio refresh").is_empty());
        assert_eq!(
            parse_commands("> they wrote\n\n/folio refresh"),
            vec![Command::Refresh]
        );
        assert!(parse_commands("  > indented quote\n/folio refresh").is_empty());
    }

    #[test]
    fn html_comments_hide_commands() {
        assert!(parse_commands("<!-- /folio refresh -->").is_empty());
        assert!(parse_commands("<!--\n/folio refresh\n-->").is_empty());
        assert!(parse_commands("text <!-- start\n\n/folio refresh\n\nend --> more").is_empty());
        assert_eq!(
            parse_commands("<!-- note -->\n/folio refresh"),
            vec![Command::Refresh]
        );
        assert_eq!(
            parse_commands("<!--\nhidden\n-->\n/folio refresh"),
            vec![Command::Refresh]
        );
        // An unclosed comment hides the rest of the body, as GitHub renders it.
        assert!(parse_commands("<!-- never closed\n/folio refresh").is_empty());
    }

    #[test]
    fn code_fences_inside_comments_and_quotes_do_not_leak() {
        assert_eq!(
            parse_commands("<!--\n```\n-->\n/folio refresh"),
            vec![Command::Refresh]
        );
        assert_eq!(
            parse_commands("> ```\n\n/folio refresh"),
            vec![Command::Refresh]
        );
    }

    #[test]
    fn not_json_is_an_error_but_odd_shapes_are_ignored() {
        assert!(parse("issues", b"{not json").is_err());
        let e = parse("issues", br#"{"action":"opened"}"#).unwrap();
        assert!(matches!(e, Event::Ignored { .. }), "{e:?}");
        let e = parse("issues", br#"{"action":"typed","issue":{}}"#).unwrap();
        assert!(matches!(e, Event::Ignored { .. }), "{e:?}");
        let e = parse("issues", br#"{"action":"opened","issue":"x"}"#).unwrap();
        assert!(matches!(e, Event::Ignored { .. }), "{e:?}");
        let e = parse("star", br#"{"action":"created"}"#).unwrap();
        assert!(matches!(e, Event::Ignored { .. }), "{e:?}");
    }

    #[test]
    fn submission_detection() {
        assert!(is_submission(Some("### GitHub username\n\noctocat"), &[]));
        assert!(is_submission(None, &["Folio: Submission"]));
        assert!(!is_submission(
            Some("my bug report ### GitHub username"),
            &[]
        ));
    }
}
