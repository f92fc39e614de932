//! The endpoints. Each reads or changes the state under the lock and returns a `Reply`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::builders::{ensure_label, pull_files, pull_head};
use super::json::{self, SearchHit};
use super::paging::{page_params, paginate};
use super::server::{Ctx, DOCS, Reply, ReplyBody, issue_token};
use super::state::{CommentReaction, IssueComment, Repo, Selection, World, hex40, key, now_secs};
use super::{TokenKind, tarball};

const NOT_ACCESSIBLE: &str = "Resource not accessible by integration";

pub fn dispatch(w: &mut World, ctx: &Ctx<'_>, segs: &[&str]) -> Reply {
    let url = format!("{}{}", w.base_url, ctx.path);
    match (ctx.method.as_str(), segs) {
        ("GET", ["app"]) => Reply::ok(json::app(w)),
        ("GET", ["app", "installations"]) => {
            let items = w
                .installations
                .values()
                .map(|i| json::installation(w, i))
                .collect();
            paged_array(items, ctx.query, &url)
        }
        ("GET", ["app", "installations", id]) => {
            match parse_id(id).and_then(|id| w.installations.get(&id)) {
                Some(inst) => Reply::ok(json::installation(w, inst)),
                None => Reply::not_found(),
            }
        }
        ("POST", ["app", "installations", id, "access_tokens"]) => access_token(w, ctx, id),
        ("GET", ["app", "hook", "deliveries"]) => deliveries(w, ctx, &url),
        ("GET", ["app", "hook", "deliveries", id]) => {
            match parse_id(id).and_then(|id| w.deliveries.iter().find(|d| d.id == id)) {
                Some(d) => Reply::ok(json::delivery(d)),
                None => Reply::not_found(),
            }
        }
        ("POST", ["app", "hook", "deliveries", id, "attempts"]) => redeliver(w, id),
        ("GET", ["repos", owner, name, "installation"]) => {
            let Some(repo) = w.repo(&format!("{owner}/{name}")) else {
                return Reply::not_found();
            };
            let found = w.installations.values().find(|i| covers(i, repo));
            match found {
                Some(inst) => Reply::ok(json::installation(w, inst)),
                None => Reply::not_found(),
            }
        }
        ("GET", ["orgs" | "users", account, "installation"]) => {
            match w
                .installations
                .values()
                .find(|i| key(&i.account) == key(account))
            {
                Some(inst) => Reply::ok(json::installation(w, inst)),
                None => Reply::not_found(),
            }
        }
        ("POST", ["app-manifests", code, "conversions"]) => manifest_conversion(w, code),
        ("GET", ["codeload", owner, name, "legacy.tar.gz", reference @ ..]) => {
            codeload(w, ctx, owner, name, &reference.join("/"))
        }
        ("GET", ["rate_limit"]) => Reply::ok(json::rate_limit(w)),
        ("GET", ["user"]) => match &ctx.who {
            TokenKind::Personal(login) => Reply::ok(json::user(w, login)),
            _ => Reply::error(StatusCode::FORBIDDEN, NOT_ACCESSIBLE, DOCS),
        },
        ("GET", ["users", login]) => match w.user(login) {
            Some(u) => {
                let login = u.login.clone();
                let mut v = json::user(w, &login);
                let public = w
                    .repos
                    .values()
                    .filter(|r| key(&r.owner) == key(&login) && !r.private)
                    .count();
                v["public_repos"] = json!(public);
                Reply::ok(v)
            }
            None => Reply::not_found(),
        },
        ("GET", ["installation", "repositories"]) => installation_repos(w, ctx, &url),
        ("GET", ["search", "issues"]) => search_issues(w, ctx, &url),
        (_, ["repos", owner, name, rest @ ..]) => {
            repo_routes(w, ctx, &format!("{owner}/{name}"), rest)
        }
        _ => Reply::not_found(),
    }
}

fn parse_id(text: &str) -> Option<u64> {
    text.parse().ok()
}

fn paged_array(items: Vec<Value>, query: &str, url: &str) -> Reply {
    let (page, link) = paginate(items, query, url);
    Reply::ok(Value::Array(page)).link(link)
}

fn covers(inst: &super::state::Installation, repo: &Repo) -> bool {
    match &inst.selection {
        Selection::All => key(&repo.owner) == key(&inst.account),
        Selection::Selected(list) => list.contains(&key(&repo.full_name())),
    }
}

/// The installation (and the token's repo scope, if any) gives access to `repo`.
fn installation_can(w: &World, ctx: &Ctx<'_>, repo: &Repo) -> bool {
    let TokenKind::Installation(id) = ctx.who else {
        return false;
    };
    let scoped_ok = ctx
        .scope
        .as_ref()
        .is_none_or(|s| s.contains(&key(&repo.full_name())));
    scoped_ok && w.installations.get(&id).is_some_and(|i| covers(i, repo))
}

/// Public repositories are readable by any valid token; private ones only by installations
/// that include them and by users with a role on them. Invisible means 404, as on GitHub.
fn can_read(w: &World, ctx: &Ctx<'_>, repo: &Repo) -> bool {
    if !repo.private {
        return true;
    }
    match &ctx.who {
        TokenKind::Installation(_) => installation_can(w, ctx, repo),
        TokenKind::Personal(login) => repo.permission_of(login).is_some(),
        _ => false,
    }
}

/// Write access for issue operations: the installation must include the repository; a user
/// needs at least `min` (commenting on a public repository needs no role at all).
fn check_write(
    w: &World,
    ctx: &Ctx<'_>,
    repo: &Repo,
    min: Option<super::Permission>,
) -> Result<(), Reply> {
    match &ctx.who {
        TokenKind::Installation(_) if installation_can(w, ctx, repo) => Ok(()),
        TokenKind::Installation(_) => {
            Err(Reply::error(StatusCode::FORBIDDEN, NOT_ACCESSIBLE, DOCS))
        }
        TokenKind::Personal(login) => match (min, repo.permission_of(login)) {
            (None, _) => Ok(()),
            (Some(min), Some(have)) if have >= min => Ok(()),
            _ => Err(Reply::error(
                StatusCode::FORBIDDEN,
                "Must have admin rights to Repository.",
                DOCS,
            )),
        },
        _ => Err(Reply::bad_credentials()),
    }
}

fn access_token(w: &mut World, ctx: &Ctx<'_>, id: &str) -> Reply {
    let Some(inst) = parse_id(id)
        .and_then(|id| w.installations.get(&id))
        .cloned()
    else {
        return Reply::not_found();
    };
    if inst.suspended {
        return Reply::error(
            StatusCode::FORBIDDEN,
            "This installation has been suspended",
            DOCS,
        );
    }
    let request: Value = serde_json::from_slice(ctx.body).unwrap_or(Value::Null);
    let mut scope: Option<Vec<String>> = None;
    if let Some(names) = request.get("repositories").and_then(Value::as_array) {
        let list = names
            .iter()
            .filter_map(Value::as_str)
            .map(|n| key(&format!("{}/{n}", inst.account)))
            .collect();
        scope = Some(list);
    }
    if let Some(ids) = request.get("repository_ids").and_then(Value::as_array) {
        let mut list = scope.unwrap_or_default();
        for id in ids.iter().filter_map(Value::as_u64) {
            match w.repo_by_id(id) {
                Some(r) => list.push(key(&r.full_name())),
                None => list.push(format!("#{id}")),
            }
        }
        scope = Some(list);
    }
    if let Some(list) = &scope {
        let all_ok = list
            .iter()
            .all(|k| w.repos.get(k).is_some_and(|r| covers(&inst, r)));
        if !all_ok {
            return Reply::json(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({
                    "message": "There is at least one repository that does not exist or is not accessible to the parent installation.",
                    "documentation_url": "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app",
                    "status": "422",
                }),
            );
        }
    }
    let token = issue_token(w, inst.id, scope.clone());
    let expires_at = w
        .tokens
        .get(&token)
        .map(|t| t.expires_at)
        .unwrap_or_default();
    let repo_keys: Vec<String> = match (&scope, &inst.selection) {
        (Some(list), _) => list.clone(),
        (None, Selection::Selected(list)) => list.clone(),
        (None, Selection::All) => Vec::new(),
    };
    let repos: Vec<&Repo> = repo_keys.iter().filter_map(|k| w.repos.get(k)).collect();
    Reply::json(
        StatusCode::CREATED,
        json::access_token(w, &inst, &token, expires_at, &repos),
    )
}

/// Newest first, with GitHub's cursor pagination for this endpoint (`cursor=v1_{id}`).
fn deliveries(w: &World, ctx: &Ctx<'_>, url: &str) -> Reply {
    let (per_page, _) = page_params(ctx.query);
    let cursor = ctx
        .query
        .split('&')
        .find_map(|p| p.strip_prefix("cursor="))
        .and_then(|c| c.trim_start_matches("v1_").parse::<u64>().ok());
    let mut all: Vec<_> = w.deliveries.iter().collect();
    all.sort_by_key(|d| std::cmp::Reverse(d.id));
    let start = cursor
        .and_then(|c| all.iter().position(|d| d.id <= c))
        .unwrap_or(if cursor.is_some() { all.len() } else { 0 });
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(per_page)
        .map(|d| json::delivery(d))
        .collect();
    let link = all.get(start + per_page).map(|next| {
        format!(
            "<{url}?per_page={per_page}&cursor=v1_{}>; rel=\"next\"",
            next.id
        )
    });
    Reply::ok(Value::Array(page)).link(link)
}

fn redeliver(w: &mut World, id: &str) -> Reply {
    let Some(original) = parse_id(id)
        .and_then(|id| w.deliveries.iter().find(|d| d.id == id))
        .cloned()
    else {
        return Reply::not_found();
    };
    w.redelivery_requests.push(original.id);
    if w.webhook_target.is_some()
        && let Some(prepared) = w.delivery_payloads.get(&original.id).cloned()
    {
        // Sent for real once this request has been answered (GitHub redelivers
        // asynchronously too); the new attempt then shows in the log with its outcome.
        w.pending_redeliveries.push(prepared);
        return Reply::json(StatusCode::ACCEPTED, json!({}));
    }
    // No receiver configured: record a successful redelivery, as a stand-in for one.
    let new_id = w.next_id();
    let mut again = original;
    again.id = new_id;
    again.redelivery = true;
    again.delivered_at = now_secs();
    again.status = "OK".to_string();
    again.status_code = 200;
    w.deliveries.push(again);
    Reply::json(StatusCode::ACCEPTED, json!({}))
}

fn manifest_conversion(w: &mut World, code: &str) -> Reply {
    let Some(pos) = w.manifest_codes.iter().position(|c| c == code) else {
        return Reply::not_found();
    };
    // Codes are single use, as on GitHub (they also expire after an hour).
    w.manifest_codes.remove(pos);
    let mut v = json::app(w);
    v["client_secret"] = json!("fake-client-secret-0123456789abcdef01234567");
    v["webhook_secret"] = json!(w.app.webhook_secret);
    v["pem"] = json!(super::PRIVATE_KEY_PEM);
    Reply::json(StatusCode::CREATED, v)
}

fn installation_repos(w: &World, ctx: &Ctx<'_>, url: &str) -> Reply {
    let TokenKind::Installation(id) = ctx.who else {
        return Reply::error(StatusCode::FORBIDDEN, NOT_ACCESSIBLE, DOCS);
    };
    let Some(inst) = w.installations.get(&id) else {
        return Reply::not_found();
    };
    let repos: Vec<Value> = w
        .repos
        .values()
        .filter(|r| installation_can(w, ctx, r))
        .map(|r| json::repo(w, r))
        .collect();
    let total = repos.len();
    let (page, link) = paginate(repos, ctx.query, url);
    Reply::ok(json!({
        "total_count": total,
        "repository_selection": match inst.selection { Selection::All => "all", Selection::Selected(_) => "selected" },
        "repositories": page,
    }))
    .link(link)
}

fn codeload(w: &mut World, ctx: &Ctx<'_>, owner: &str, name: &str, reference: &str) -> Reply {
    let full = format!("{owner}/{name}");
    let Some(repo) = w.repo(&full) else {
        return Reply::not_found();
    };
    if repo.private {
        let token = ctx
            .query
            .split('&')
            .find_map(|p| p.strip_prefix("token="))
            .unwrap_or("");
        let valid = w
            .codeload_tokens
            .get(token)
            .is_some_and(|(k, exp)| *k == key(&full) && *exp > now_secs());
        if !valid {
            return Reply::not_found();
        }
    }
    let Some(commit) = repo.resolve(reference).and_then(|sha| repo.commit(&sha)) else {
        return Reply::not_found();
    };
    match tarball::build(
        &repo.owner,
        &repo.name,
        &commit.sha,
        commit.date,
        &commit.tree,
    ) {
        Ok(bytes) => Reply {
            status: StatusCode::OK,
            body: ReplyBody::Raw {
                bytes,
                content_type: "application/x-gzip".to_string(),
            },
            headers: Vec::new(),
        }
        .header(
            "content-disposition",
            format!(
                "attachment; filename={}.tar.gz",
                tarball::top_dir(&repo.owner, &repo.name, &commit.sha)
            ),
        ),
        Err(err) => Reply::error(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string(), DOCS),
    }
}

fn repo_routes(w: &mut World, ctx: &Ctx<'_>, full: &str, rest: &[&str]) -> Reply {
    let Some(repo) = w.repo(full) else {
        return Reply::not_found();
    };
    if !can_read(w, ctx, repo) {
        return Reply::not_found();
    }
    // GitHub's next links for repository lists use the stable `/repositories/{id}` form.
    let link_url = format!("{}/repositories/{}/{}", w.base_url, repo.id, rest.join("/"));
    let link_url = link_url.trim_end_matches('/').to_string();
    let m = ctx.method.as_str();
    match (m, rest) {
        ("GET", []) => Reply::ok(json::repo(w, repo)),
        ("GET", ["pulls", n, sub @ ..]) => pulls(w, ctx, repo, n, sub, &link_url),
        ("GET", ["commits"]) => list_commits(w, ctx, repo, &link_url),
        ("GET", ["contributors"]) => contributors(w, ctx, repo, &link_url),
        ("GET", ["commits", reference]) => {
            match repo.resolve(reference).and_then(|s| repo.commit(&s)) {
                Some(c) => Reply::ok(json::commit(w, repo, c, true)),
                None => Reply::json(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"message": format!("No commit found for SHA: {reference}"),
                           "documentation_url": "https://docs.github.com/rest/commits/commits#get-a-commit",
                           "status": "422"}),
                ),
            }
        }
        ("GET", ["commits", reference, "check-runs"]) => {
            let sha = repo
                .resolve(reference)
                .unwrap_or_else(|| reference.to_string());
            let name = ctx
                .query
                .split('&')
                .find_map(|p| p.strip_prefix("check_name="))
                .map(str::to_string);
            let runs: Vec<Value> = repo
                .check_runs
                .iter()
                .rev()
                .filter(|c| c.head_sha == sha)
                .filter(|c| name.as_deref().is_none_or(|n| n == c.name))
                .map(|c| json::check_run(w, repo, c))
                .collect();
            let total = runs.len();
            let (page, link) = paginate(runs, ctx.query, &link_url);
            Reply::ok(json!({"total_count": total, "check_runs": page})).link(link)
        }
        ("GET", ["actions", "runs"]) => {
            let status = ctx.query.split('&').find_map(|p| p.strip_prefix("status="));
            let mut runs: Vec<_> = repo
                .workflow_runs
                .iter()
                .filter(|r| {
                    status.is_none_or(|s| r.status == s || r.conclusion.as_deref() == Some(s))
                })
                .collect();
            runs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
            let items: Vec<Value> = runs.iter().map(|r| json::workflow_run(repo, r)).collect();
            let total = items.len();
            let (page, link) = paginate(items, ctx.query, &link_url);
            Reply::ok(json!({"total_count": total, "workflow_runs": page})).link(link)
        }
        ("GET", ["actions", "runs", id, "jobs"]) => {
            let Some(run) =
                parse_id(id).and_then(|id| repo.workflow_runs.iter().find(|r| r.id == id))
            else {
                return Reply::not_found();
            };
            let items: Vec<Value> = run
                .jobs
                .iter()
                .map(|j| json::workflow_job(repo, run, j))
                .collect();
            let total = items.len();
            let (page, link) = paginate(items, ctx.query, &link_url);
            Reply::ok(json!({"total_count": total, "jobs": page})).link(link)
        }
        ("GET", ["tags"]) => {
            let items = repo.tags.iter().rev().map(|t| json::tag(repo, t)).collect();
            paged_array(items, ctx.query, &link_url)
        }
        ("GET", ["releases"]) => {
            let show_drafts = check_write(w, ctx, repo, Some(super::Permission::Write)).is_ok();
            let mut releases: Vec<_> = repo
                .releases
                .iter()
                .filter(|r| show_drafts || !r.draft)
                .collect();
            releases.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
            let items = releases.iter().map(|r| json::release(w, repo, r)).collect();
            paged_array(items, ctx.query, &link_url)
        }
        ("GET", ["contents", path @ ..]) => contents(ctx, repo, &path.join("/")),
        ("GET", ["git", "trees", reference]) => git_tree(ctx, repo, reference),
        ("GET", ["tarball", reference @ ..]) => {
            let reference = if reference.is_empty() {
                repo.default_branch.clone()
            } else {
                reference.join("/")
            };
            let Some(sha) = repo.resolve(&reference) else {
                return Reply::not_found();
            };
            let (owner, name, private, repo_key) = (
                repo.owner.clone(),
                repo.name.clone(),
                repo.private,
                key(&repo.full_name()),
            );
            let mut location =
                format!("{}/codeload/{owner}/{name}/legacy.tar.gz/{sha}", w.base_url);
            if private {
                let token = format!(
                    "CL{}",
                    &hex40(&[sha.as_bytes(), &w.next_id().to_be_bytes()])[..30]
                );
                w.codeload_tokens
                    .insert(token.clone(), (repo_key, now_secs() + 300));
                location.push_str(&format!("?token={token}"));
            }
            Reply {
                status: StatusCode::FOUND,
                body: ReplyBody::Raw {
                    bytes: Vec::new(),
                    content_type: "text/html;charset=utf-8".to_string(),
                },
                headers: Vec::new(),
            }
            .header("location", location)
        }
        ("GET", ["issues", "comments", id]) => {
            match parse_id(id).and_then(|id| repo.issue_comments.iter().find(|c| c.id == id)) {
                Some(c) => Reply::ok(json::issue_comment(w, repo, c)),
                None => Reply::not_found(),
            }
        }
        // GitHub's v3 docs: endpoints that take PATCH also accept POST (octocrab's
        // `update_comment` relies on it).
        ("PATCH" | "POST", ["issues", "comments", id]) => edit_comment(w, ctx, full, id),
        ("DELETE", ["issues", "comments", id]) => delete_comment(w, ctx, full, id),
        ("POST", ["issues", "comments", id, "reactions"]) => react(w, ctx, full, id),
        ("GET", ["issues", n]) => {
            let Some(n) = parse_id(n) else {
                return Reply::not_found();
            };
            if let Some(issue) = repo.issues.get(&n).filter(|i| !i.deleted) {
                return Reply::ok(json::issue(w, repo, issue));
            }
            match repo.pulls.get(&n).filter(|p| !p.deleted) {
                Some(p) => Reply::ok(json::pull_as_issue(w, repo, p)),
                None => Reply::not_found(),
            }
        }
        ("GET", ["issues", n, "comments"]) => {
            let Some(n) = parse_id(n).filter(|n| issue_exists(repo, *n)) else {
                return Reply::not_found();
            };
            let items = repo
                .issue_comments
                .iter()
                .filter(|c| c.issue_number == n)
                .map(|c| json::issue_comment(w, repo, c))
                .collect();
            paged_array(items, ctx.query, &link_url)
        }
        ("POST", ["issues", n, "comments"]) => create_comment(w, ctx, full, n),
        ("GET", ["issues", n, "labels"]) => {
            let Some(n) = parse_id(n).filter(|n| issue_exists(repo, *n)) else {
                return Reply::not_found();
            };
            let names = labels_of(repo, n);
            paged_array(
                match json::labels(repo, &names) {
                    Value::Array(items) => items,
                    _ => Vec::new(),
                },
                ctx.query,
                &link_url,
            )
        }
        ("POST", ["issues", n, "labels"]) => add_labels(w, ctx, full, n),
        ("POST", ["labels"]) => create_label(w, ctx, full),
        ("DELETE", ["issues", n, "labels", name]) => remove_label(w, ctx, full, n, name),
        ("GET", ["collaborators", login, "permission"]) => {
            let Some(user) = w.user(login) else {
                return Reply::error(
                    StatusCode::NOT_FOUND,
                    &format!("{login} is not a user"),
                    "https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user",
                );
            };
            let login = user.login.clone();
            let (legacy, role) = match repo.permission_of(&login) {
                Some(p) => (p.legacy(), p.role_name()),
                None if !repo.private => ("read", "read"),
                None => ("none", "none"),
            };
            Reply::ok(json::collaborator_permission(w, &login, legacy, role))
        }
        _ => Reply::not_found(),
    }
}

fn issue_exists(repo: &Repo, n: u64) -> bool {
    repo.issues.get(&n).is_some_and(|i| !i.deleted)
        || repo.pulls.get(&n).is_some_and(|p| !p.deleted)
}

fn labels_of(repo: &Repo, n: u64) -> Vec<String> {
    if let Some(issue) = repo.issues.get(&n) {
        return issue.labels.clone();
    }
    repo.pulls
        .get(&n)
        .map(|p| p.labels.clone())
        .unwrap_or_default()
}

fn pulls(w: &World, ctx: &Ctx<'_>, repo: &Repo, n: &str, sub: &[&str], link_url: &str) -> Reply {
    let Some(pull) = parse_id(n)
        .and_then(|n| repo.pulls.get(&n))
        .filter(|p| !p.deleted)
    else {
        return Reply::error(
            StatusCode::NOT_FOUND,
            "Not Found",
            "https://docs.github.com/rest/pulls/pulls#get-a-pull-request",
        );
    };
    match sub {
        [] => Reply::ok(json::pull(w, repo, pull)),
        ["files"] => {
            let head = pull_head(w, &repo.full_name(), pull.number);
            let items = pull_files(repo, pull)
                .iter()
                .map(|f| json::diff_entry(repo, &head, f))
                .collect();
            paged_array(items, ctx.query, link_url)
        }
        ["reviews"] => {
            let items = pull
                .reviews
                .iter()
                .map(|r| json::review(w, repo, pull, r))
                .collect();
            paged_array(items, ctx.query, link_url)
        }
        ["comments"] => {
            let items = pull
                .review_comments
                .iter()
                .map(|c| json::review_comment(w, repo, pull, c))
                .collect();
            paged_array(items, ctx.query, link_url)
        }
        ["commits"] => {
            let items = pull
                .commits
                .iter()
                .filter_map(|s| repo.commit(s))
                .map(|c| json::commit(w, repo, c, false))
                .collect();
            paged_array(items, ctx.query, link_url)
        }
        _ => Reply::not_found(),
    }
}

fn query_value(query: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn list_commits(w: &World, ctx: &Ctx<'_>, repo: &Repo, link_url: &str) -> Reply {
    let start = match query_value(ctx.query, "sha") {
        Some(reference) => match repo.resolve(&reference) {
            Some(sha) => sha,
            None => {
                return Reply::json(
                    StatusCode::NOT_FOUND,
                    json!({"message": "No commit found for SHA: ".to_string() + &reference,
                           "documentation_url": "https://docs.github.com/rest/commits/commits#list-commits",
                           "status": "404"}),
                );
            }
        },
        None => match repo.head_sha() {
            Some(sha) => sha,
            None => {
                return Reply::error(StatusCode::CONFLICT, "Git Repository is empty.", DOCS);
            }
        },
    };
    let path = query_value(ctx.query, "path");
    let author = query_value(ctx.query, "author");
    let since = query_value(ctx.query, "since").and_then(|t| super::state::parse_time(&t));
    let until = query_value(ctx.query, "until").and_then(|t| super::state::parse_time(&t));
    let items = repo
        .history(&start)
        .into_iter()
        .filter(|c| {
            path.as_deref().is_none_or(|p| {
                let p = p.trim_matches('/');
                c.files
                    .iter()
                    .any(|f| f.filename == p || f.filename.starts_with(&format!("{p}/")))
            })
        })
        .filter(|c| {
            author.as_deref().is_none_or(|a| {
                c.author_login
                    .as_deref()
                    .is_some_and(|l| l.eq_ignore_ascii_case(a))
                    || c.author_email.eq_ignore_ascii_case(a)
            })
        })
        .filter(|c| since.is_none_or(|s| c.date >= s) && until.is_none_or(|u| c.date <= u))
        .map(|c| json::commit(w, repo, c, false))
        .collect();
    paged_array(items, ctx.query, link_url)
}

/// GitHub's contributors listing: the default branch's authors by commit count, most first;
/// with `anon=1`, e-mail authors no account claims too. An empty repository answers 204.
fn contributors(w: &World, ctx: &Ctx<'_>, repo: &Repo, link_url: &str) -> Reply {
    let Some(head) = repo.head_sha() else {
        return Reply {
            status: StatusCode::NO_CONTENT,
            body: ReplyBody::Empty,
            headers: Vec::new(),
        };
    };
    let anon = query_value(ctx.query, "anon").is_some_and(|a| a == "1" || a == "true");
    // (login, email, name) of an author, then their commits, in order of first appearance.
    type Author = (Option<String>, String, String);
    let mut counts: Vec<(Author, u64)> = Vec::new();
    for c in repo.history(&head) {
        if c.author_login.is_none() && !anon {
            continue;
        }
        let who = match &c.author_login {
            Some(login) => (Some(login.clone()), String::new(), String::new()),
            None => (None, c.author_email.clone(), c.author_name.clone()),
        };
        match counts.iter_mut().find(|(k, _)| *k == who) {
            Some((_, n)) => *n += 1,
            None => counts.push((who, 1)),
        }
    }
    counts.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let items = counts
        .into_iter()
        .map(|((login, email, name), n)| json::contributor(w, login.as_deref(), &email, &name, n))
        .collect();
    paged_array(items, ctx.query, link_url)
}

fn wants_raw(ctx: &Ctx<'_>) -> bool {
    ctx.headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains(".raw"))
}

fn contents(ctx: &Ctx<'_>, repo: &Repo, path: &str) -> Reply {
    let reference = query_value(ctx.query, "ref").unwrap_or_else(|| repo.default_branch.clone());
    let Some(commit) = repo.resolve(&reference).and_then(|s| repo.commit(&s)) else {
        if repo.commits.is_empty() {
            return Reply::error(StatusCode::NOT_FOUND, "This repository is empty.", DOCS);
        }
        return Reply::json(
            StatusCode::NOT_FOUND,
            json!({"message": format!("No commit found for the ref {reference}"),
                   "documentation_url": "https://docs.github.com/rest/repos/contents#get-repository-content",
                   "status": "404"}),
        );
    };
    let path = path.trim_matches('/');
    if let Some(bytes) = commit.tree.get(path) {
        if wants_raw(ctx) {
            return Reply {
                status: StatusCode::OK,
                body: ReplyBody::Raw {
                    bytes: bytes.clone(),
                    content_type: "application/vnd.github.raw; charset=utf-8".to_string(),
                },
                headers: Vec::new(),
            };
        }
        return Reply::ok(json::content_file(repo, path, &reference, bytes));
    }
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    let mut entries: Vec<(String, bool, usize)> = Vec::new();
    for (file, bytes) in commit.tree.range(prefix.clone()..) {
        let Some(rest) = file.strip_prefix(&prefix) else {
            break;
        };
        let (child, is_dir) = match rest.split_once('/') {
            Some((dir, _)) => (format!("{prefix}{dir}"), true),
            None => (file.clone(), false),
        };
        if entries.last().is_none_or(|(last, _, _)| *last != child) {
            entries.push((child, is_dir, bytes.len()));
        }
    }
    if entries.is_empty() {
        return Reply::error(
            StatusCode::NOT_FOUND,
            "Not Found",
            "https://docs.github.com/rest/repos/contents#get-repository-content",
        );
    }
    Reply::ok(Value::Array(
        entries
            .into_iter()
            .map(|(p, is_dir, size)| json::content_entry(repo, &p, &reference, is_dir, size))
            .collect(),
    ))
}

fn git_tree(ctx: &Ctx<'_>, repo: &Repo, reference: &str) -> Reply {
    let Some(commit) = repo.resolve(reference).and_then(|s| repo.commit(&s)) else {
        return Reply::not_found();
    };
    let recursive = query_value(ctx.query, "recursive").is_some();
    let mut files = Vec::new();
    let mut dirs = std::collections::BTreeSet::new();
    for (path, bytes) in &commit.tree {
        let parts: Vec<&str> = path.split('/').collect();
        if recursive {
            for i in 1..parts.len() {
                dirs.insert(parts[..i].join("/"));
            }
            files.push((path.clone(), bytes.len(), hex40(&[b"blob", bytes])));
        } else if parts.len() > 1 {
            dirs.insert(parts[0].to_string());
        } else {
            files.push((path.clone(), bytes.len(), hex40(&[b"blob", bytes])));
        }
    }
    let dirs: Vec<String> = dirs.into_iter().collect();
    Reply::ok(json::tree(repo, &commit.sha, &files, &dirs))
}

fn comment_author(w: &World, ctx: &Ctx<'_>) -> Option<(String, bool)> {
    match &ctx.who {
        TokenKind::Installation(_) => Some((w.app.bot_login(), true)),
        TokenKind::Personal(login) => Some((login.clone(), false)),
        _ => None,
    }
}

fn body_field(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Value>(body)
        .ok()?
        .get("body")?
        .as_str()
        .map(str::to_string)
}

fn validation_failed(field: &str) -> Reply {
    Reply::json(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"message": "Invalid request.\n\n\"{field}\" wasn't supplied.".replace("{field}", field),
               "documentation_url": DOCS, "status": "422"}),
    )
}

fn create_comment(w: &mut World, ctx: &Ctx<'_>, full: &str, n: &str) -> Reply {
    let Some(repo) = w.repo(full) else {
        return Reply::not_found();
    };
    let Some(n) = parse_id(n).filter(|n| issue_exists(repo, *n)) else {
        return Reply::not_found();
    };
    if let Err(reply) = check_write(w, ctx, repo, None) {
        return reply;
    }
    let Some(body) = body_field(ctx.body) else {
        return validation_failed("body");
    };
    if body.chars().count() > 65_536 {
        return Reply::json(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": "Validation Failed",
                   "errors": [{"resource": "IssueComment", "code": "custom", "field": "body",
                               "message": "body is too long (maximum is 65536 characters)"}],
                   "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
                   "status": "422"}),
        );
    }
    let Some((user, via_app)) = comment_author(w, ctx) else {
        return Reply::bad_credentials();
    };
    w.ensure_user(&user);
    let id = w.next_id();
    let at = now_secs();
    let comment = IssueComment {
        id,
        issue_number: n,
        user,
        body,
        created_at: at,
        updated_at: at,
        via_app,
    };
    let Some(repo) = w.repo_mut(full) else {
        return Reply::not_found();
    };
    repo.issue_comments.push(comment.clone());
    if comment.via_app {
        w.note_bot_comment(full, n, id, &comment.body);
    }
    let Some(repo) = w.repo(full) else {
        return Reply::not_found();
    };
    let v = json::issue_comment(w, repo, &comment);
    let location = format!("{}/repos/{full}/issues/comments/{id}", w.base_url);
    Reply::json(StatusCode::CREATED, v).header("location", location)
}

/// The reactions GitHub accepts on a comment.
const REACTIONS: [&str; 8] = [
    "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
];

/// GitHub answers 201 with a new reaction, or 200 with the one this user already gave; 422
/// for a reaction it does not know. An installation reacts where it is installed; anyone
/// signed in reacts on a public repository.
fn react(w: &mut World, ctx: &Ctx<'_>, full: &str, id: &str) -> Reply {
    let Some(repo) = w.repo(full) else {
        return Reply::not_found();
    };
    let Some(comment_id) =
        parse_id(id).filter(|id| repo.issue_comments.iter().any(|c| c.id == *id))
    else {
        return Reply::not_found();
    };
    if let Err(reply) = check_write(w, ctx, repo, None) {
        return reply;
    }
    let content = serde_json::from_slice::<Value>(ctx.body)
        .ok()
        .and_then(|v| v.get("content")?.as_str().map(str::to_string));
    let Some(content) = content.filter(|c| REACTIONS.contains(&c.as_str())) else {
        return validation_failed("content");
    };
    let Some((user, _)) = comment_author(w, ctx) else {
        return Reply::bad_credentials();
    };
    if let Some(existing) = repo
        .comment_reactions
        .iter()
        .find(|r| r.comment_id == comment_id && r.user == user && r.content == content)
    {
        return Reply::ok(json::reaction(w, existing, false));
    }
    w.ensure_user(&user);
    let reaction = CommentReaction {
        id: w.next_id(),
        comment_id,
        user,
        content,
        created_at: now_secs(),
    };
    let Some(repo) = w.repo_mut(full) else {
        return Reply::not_found();
    };
    repo.comment_reactions.push(reaction.clone());
    Reply::json(StatusCode::CREATED, json::reaction(w, &reaction, true))
}

/// GitHub answers 204 with no body; an app deletes only what it wrote, a person their own
/// comments or any with write permission.
fn delete_comment(w: &mut World, ctx: &Ctx<'_>, full: &str, id: &str) -> Reply {
    let Some(repo) = w.repo(full) else {
        return Reply::not_found();
    };
    let Some(existing) = parse_id(id)
        .and_then(|id| repo.issue_comments.iter().find(|c| c.id == id))
        .cloned()
    else {
        return Reply::not_found();
    };
    let allowed = match &ctx.who {
        TokenKind::Installation(_) => installation_can(w, ctx, repo) && existing.via_app,
        TokenKind::Personal(login) => {
            login.eq_ignore_ascii_case(&existing.user)
                || repo
                    .permission_of(login)
                    .is_some_and(|p| p >= super::Permission::Write)
        }
        _ => false,
    };
    if !allowed {
        return Reply::error(StatusCode::FORBIDDEN, NOT_ACCESSIBLE, DOCS);
    }
    if let Some(r) = w.repo_mut(full) {
        r.issue_comments.retain(|c| c.id != existing.id);
    }
    Reply {
        status: StatusCode::NO_CONTENT,
        body: ReplyBody::Empty,
        headers: Vec::new(),
    }
}

fn edit_comment(w: &mut World, ctx: &Ctx<'_>, full: &str, id: &str) -> Reply {
    let Some(repo) = w.repo(full) else {
        return Reply::not_found();
    };
    let Some(existing) = parse_id(id)
        .and_then(|id| repo.issue_comments.iter().find(|c| c.id == id))
        .cloned()
    else {
        return Reply::not_found();
    };
    // An app edits only what it wrote; a person edits their own comments, or any with write.
    let allowed = match &ctx.who {
        TokenKind::Installation(_) => {
            if !installation_can(w, ctx, repo) {
                return Reply::error(StatusCode::FORBIDDEN, NOT_ACCESSIBLE, DOCS);
            }
            existing.via_app
        }
        TokenKind::Personal(login) => {
            login.eq_ignore_ascii_case(&existing.user)
                || repo
                    .permission_of(login)
                    .is_some_and(|p| p >= super::Permission::Write)
        }
        _ => false,
    };
    if !allowed {
        return Reply::error(StatusCode::FORBIDDEN, NOT_ACCESSIBLE, DOCS);
    }
    let Some(body) = body_field(ctx.body) else {
        return validation_failed("body");
    };
    let at = now_secs();
    let Some(comment) = w
        .repo_mut(full)
        .and_then(|r| r.issue_comments.iter_mut().find(|c| c.id == existing.id))
    else {
        return Reply::not_found();
    };
    comment.body = body;
    comment.updated_at = at.max(comment.created_at);
    let comment = comment.clone();
    if comment.via_app {
        w.note_bot_comment(full, comment.issue_number, comment.id, &comment.body);
    }
    match w.repo(full) {
        Some(repo) => Reply::ok(json::issue_comment(w, repo, &comment)),
        None => Reply::not_found(),
    }
}

fn requested_labels(body: &[u8]) -> Option<Vec<String>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let list = match &value {
        Value::Array(items) => items,
        Value::Object(_) => value.get("labels")?.as_array()?,
        _ => return None,
    };
    Some(
        list.iter()
            .filter_map(|l| match l {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_string),
                _ => None,
            })
            .collect(),
    )
}

fn set_labels(w: &mut World, full: &str, n: u64, f: impl FnOnce(&mut Vec<String>)) -> Vec<String> {
    let Some(repo) = w.repo_mut(full) else {
        return Vec::new();
    };
    let labels = match repo.issues.get_mut(&n) {
        Some(issue) => &mut issue.labels,
        None => match repo.pulls.get_mut(&n) {
            Some(pull) => &mut pull.labels,
            None => return Vec::new(),
        },
    };
    f(labels);
    labels.clone()
}

fn add_labels(w: &mut World, ctx: &Ctx<'_>, full: &str, n: &str) -> Reply {
    let Some(repo) = w.repo(full) else {
        return Reply::not_found();
    };
    let Some(n) = parse_id(n).filter(|n| issue_exists(repo, *n)) else {
        return Reply::not_found();
    };
    if let Err(reply) = check_write(w, ctx, repo, Some(super::Permission::Triage)) {
        return reply;
    }
    let Some(wanted) = requested_labels(ctx.body) else {
        return validation_failed("labels");
    };
    let mut canonical = Vec::new();
    for name in &wanted {
        canonical.push(ensure_label(w, full, name, None).name);
    }
    let names = set_labels(w, full, n, |labels| {
        for name in canonical {
            if !labels.iter().any(|l| l.eq_ignore_ascii_case(&name)) {
                labels.push(name);
            }
        }
    });
    match w.repo(full) {
        Some(repo) => Reply::ok(json::labels(repo, &names)),
        None => Reply::not_found(),
    }
}

/// `POST /repos/{r}/labels`: 201 with the label, or 422 `already_exists` when a label of that
/// name exists in any case.
fn create_label(w: &mut World, ctx: &Ctx<'_>, full: &str) -> Reply {
    let Some(repo) = w.repo(full) else {
        return Reply::not_found();
    };
    if let Err(reply) = check_write(w, ctx, repo, Some(super::Permission::Triage)) {
        return reply;
    }
    let body: Value = serde_json::from_slice(ctx.body).unwrap_or(Value::Null);
    let Some(name) = body.get("name").and_then(Value::as_str).map(str::to_string) else {
        return validation_failed("name");
    };
    if repo.labels.contains_key(&key(&name)) {
        return Reply::json(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": "Validation Failed",
                   "errors": [{"resource": "Label", "code": "already_exists", "field": "name"}],
                   "documentation_url": "https://docs.github.com/rest/issues/labels#create-a-label",
                   "status": "422"}),
        );
    }
    let color = body
        .get("color")
        .and_then(Value::as_str)
        .map(str::to_string);
    let description = body
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_string);
    ensure_label(w, full, &name, color.as_deref());
    if let Some(label) = w.repo_mut(full).and_then(|r| r.labels.get_mut(&key(&name))) {
        label.description = description;
    }
    match w.repo(full) {
        Some(repo) => Reply::json(StatusCode::CREATED, json::created_label(repo, &name)),
        None => Reply::not_found(),
    }
}

fn remove_label(w: &mut World, ctx: &Ctx<'_>, full: &str, n: &str, name: &str) -> Reply {
    let Some(repo) = w.repo(full) else {
        return Reply::not_found();
    };
    let Some(n) = parse_id(n).filter(|n| issue_exists(repo, *n)) else {
        return Reply::not_found();
    };
    if let Err(reply) = check_write(w, ctx, repo, Some(super::Permission::Triage)) {
        return reply;
    }
    if !labels_of(repo, n)
        .iter()
        .any(|l| l.eq_ignore_ascii_case(name))
    {
        return Reply::error(
            StatusCode::NOT_FOUND,
            "Label does not exist",
            "https://docs.github.com/rest/issues/labels#remove-a-label-from-an-issue",
        );
    }
    let names = set_labels(w, full, n, |labels| {
        labels.retain(|l| !l.eq_ignore_ascii_case(name))
    });
    match w.repo(full) {
        Some(repo) => Reply::ok(json::labels(repo, &names)),
        None => Reply::not_found(),
    }
}

/// Splits a search query on spaces, keeping `"quoted values"` together.
pub fn search_terms(q: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for ch in q.chars() {
        match ch {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    terms.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        terms.push(current);
    }
    terms
}

struct Candidate<'a> {
    repo: &'a Repo,
    hit: SearchHit<'a>,
    number: u64,
    created_at: i64,
}

fn search_issues(w: &World, ctx: &Ctx<'_>, url: &str) -> Reply {
    let Some(q) = query_value(ctx.query, "q").filter(|q| !q.trim().is_empty()) else {
        return Reply::json(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": "Validation Failed",
                   "errors": [{"resource": "Search", "field": "q", "code": "missing"}],
                   "documentation_url": "https://docs.github.com/rest/search/search#search-issues-and-pull-requests",
                   "status": "422"}),
        );
    };
    let mut candidates: Vec<Candidate<'_>> = Vec::new();
    for repo in w.repos.values().filter(|r| can_read(w, ctx, r)) {
        for issue in repo.issues.values().filter(|i| !i.deleted) {
            candidates.push(Candidate {
                repo,
                hit: SearchHit::Issue(issue),
                number: issue.number,
                created_at: issue.created_at,
            });
        }
        for pull in repo.pulls.values().filter(|p| !p.deleted) {
            candidates.push(Candidate {
                repo,
                hit: SearchHit::Pull(pull),
                number: pull.number,
                created_at: pull.created_at,
            });
        }
    }
    let terms = search_terms(&q);
    candidates.retain(|c| terms.iter().all(|t| search_match(c, t)));
    let ascending = query_value(ctx.query, "order").as_deref() == Some("asc");
    candidates.sort_by(|a, b| {
        let ord = a
            .created_at
            .cmp(&b.created_at)
            .then(a.number.cmp(&b.number));
        if ascending { ord } else { ord.reverse() }
    });
    let total = candidates.len();
    let items: Vec<Value> = candidates
        .into_iter()
        .map(|c| json::search_item(w, c.repo, c.hit))
        .collect();
    let (page, link) = paginate(items, ctx.query, url);
    Reply::ok(json::search_page(total, page)).link(link)
}

fn search_match(c: &Candidate<'_>, term: &str) -> bool {
    let (negated, term) = match term.strip_prefix('-') {
        Some(rest) if rest.contains(':') => (true, rest),
        _ => (false, term),
    };
    let (author, title, body, labels, state, merged, is_pull, reviewers) = match &c.hit {
        SearchHit::Issue(i) => (
            &i.author,
            &i.title,
            i.body.as_deref(),
            &i.labels,
            i.state.as_str(),
            false,
            false,
            Vec::new(),
        ),
        SearchHit::Pull(p) => (
            &p.author,
            &p.title,
            p.body.as_deref(),
            &p.labels,
            p.state.as_str(),
            p.merged,
            true,
            p.reviews.iter().map(|r| r.user.as_str()).collect(),
        ),
    };
    let matched = match term.split_once(':') {
        Some((qualifier, value)) => match qualifier.to_ascii_lowercase().as_str() {
            "repo" => key(&c.repo.full_name()) == key(value),
            "user" | "org" | "owner" => key(&c.repo.owner) == key(value),
            "author" => {
                let login = match value.strip_prefix("app/") {
                    Some(app) => format!("{app}[bot]"),
                    None => value.to_string(),
                };
                key(author) == key(&login)
            }
            "reviewed-by" => reviewers.iter().any(|r| key(r) == key(value)),
            "label" => labels.iter().any(|l| l.eq_ignore_ascii_case(value)),
            "state" => state == value,
            "is" | "type" => match value {
                "pr" | "pull-request" => is_pull,
                "issue" => !is_pull,
                "open" | "closed" => state == value,
                "merged" => merged,
                "unmerged" => is_pull && !merged && state == "closed",
                "public" => !c.repo.private,
                "private" => c.repo.private,
                _ => false,
            },
            "in" => true,
            _ => false,
        },
        None => {
            let needle = term.to_lowercase();
            title.to_lowercase().contains(&needle)
                || body.is_some_and(|b| b.to_lowercase().contains(&needle))
        }
    };
    matched != negated
}
