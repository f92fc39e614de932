//! JSON answers, each built from GitHub's documented example for that endpoint (the files in
//! `tests/fixtures/github/rest/`) with the fields the state knows overridden, so that fields
//! Folio does not read still look like GitHub's.

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::builders::{pull_files, pull_head};
use super::state::{
    Asset, CheckRun, CommentReaction, Commit, Delivery, FileChange, Installation, Issue,
    IssueComment, Label, Pull, Release, Repo, Review, ReviewComment, Selection, TagRef,
    WorkflowRun, World, key, rfc3339,
};

macro_rules! rest_fixture {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/github/rest/",
                $name,
                ".json"
            )),
        )
    };
}

const FIXTURES: &[(&str, &str)] = &[
    rest_fixture!("get-app.200"),
    rest_fixture!("get-app_installations.200"),
    rest_fixture!("get-app_hook_deliveries.200"),
    rest_fixture!("post-app_installations_installation_id_access_tokens.201"),
    rest_fixture!("get-repos_owner_repo.200"),
    rest_fixture!("get-repos_owner_repo_pulls_pull_number.200"),
    rest_fixture!("get-repos_owner_repo_pulls_pull_number_files.200"),
    rest_fixture!("get-repos_owner_repo_pulls_pull_number_reviews.200"),
    rest_fixture!("get-repos_owner_repo_pulls_pull_number_comments.200"),
    rest_fixture!("get-repos_owner_repo_pulls_pull_number_commits.200"),
    rest_fixture!("get-repos_owner_repo_issues_issue_number_comments.200"),
    rest_fixture!("post-repos_owner_repo_issues_comments_comment_id_reactions.200"),
    rest_fixture!("post-repos_owner_repo_issues_comments_comment_id_reactions.201"),
    rest_fixture!("patch-repos_owner_repo_issues_issue_number.200"),
    rest_fixture!("post-repos_owner_repo_issues_issue_number_labels.200"),
    rest_fixture!("post-repos_owner_repo_labels.201"),
    rest_fixture!("get-repos_owner_repo_contents_path.200"),
    rest_fixture!("get-repos_owner_repo_contents_path.200.response-if-content-is-a-directory"),
    rest_fixture!("get-repos_owner_repo_git_trees_tree_sha.200"),
    rest_fixture!("get-repos_owner_repo_releases.200"),
    rest_fixture!("get-repos_owner_repo_tags.200"),
    rest_fixture!("get-repos_owner_repo_commits_ref_check-runs.200"),
    rest_fixture!("get-repos_owner_repo_actions_runs.200"),
    rest_fixture!("get-repos_owner_repo_actions_runs_run_id_jobs.200"),
    rest_fixture!("get-repos_owner_repo_collaborators_username_permission.200"),
    rest_fixture!("get-repos_owner_repo_contributors.200"),
    rest_fixture!("get-search_issues.200"),
    rest_fixture!("get-users_username.200"),
    rest_fixture!("get-rate_limit.200"),
];

/// The documented example, parsed once; arrays give their first item.
fn template(name: &str) -> Value {
    static PARSED: OnceLock<HashMap<&'static str, Value>> = OnceLock::new();
    let parsed = PARSED.get_or_init(|| {
        FIXTURES
            .iter()
            .map(|(name, text)| {
                let value: Value = serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("fixture {name} is not JSON: {e}"));
                let value = match value {
                    Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
                    other => other,
                };
                (*name, value)
            })
            .collect()
    });
    parsed
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("no fixture named {name}"))
}

fn obj(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("made an object above"),
    }
}

fn set(value: &mut Value, field: &str, new: Value) {
    obj(value).insert(field.to_string(), new);
}

/// Rewrites the example's identity inside its URL fields (`url`, `*_url`, `href`), recursively,
/// e.g. `octocat/Hello-World` → the repository's name, `/pulls/1347` → `/pulls/7`.
fn retarget(value: &mut Value, swaps: &[(&str, &str)]) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if let Value::String(s) = v {
                    if k == "url" || k.ends_with("_url") || k == "href" {
                        for (from, to) in swaps {
                            *s = s.replace(from, to);
                        }
                    }
                } else {
                    retarget(v, swaps);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| retarget(v, swaps)),
        _ => {}
    }
}

/// Points API URLs at the fake; web URLs (`https://github.com/...`) stay as GitHub's, because
/// Folio's links in comments are web links.
pub fn localize(value: &mut Value, base: &str) {
    match value {
        Value::String(s) => {
            if s.starts_with("https://api.github.com") {
                *s = s.replacen("https://api.github.com", base, 1);
            } else if s.starts_with("https://uploads.github.com") {
                *s = s.replacen("https://uploads.github.com", base, 1);
            }
        }
        Value::Object(map) => map.values_mut().for_each(|v| localize(v, base)),
        Value::Array(items) => items.iter_mut().for_each(|v| localize(v, base)),
        _ => {}
    }
}

fn node_id(kind: &str, id: u64) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("0{}:{kind}{id}", kind.len()))
}

pub fn user(world: &World, login: &str) -> Value {
    let mut v = template("get-users_username.200");
    let (id, kind, name, created) = match world.user(login) {
        Some(u) => (u.id, u.kind.clone(), u.name.clone(), u.created_at),
        None => (0, "User".to_string(), None, 0),
    };
    let url_login = login.replace("[bot]", "%5Bbot%5D");
    retarget(&mut v, &[("/octocat", &format!("/{url_login}"))]);
    let m = obj(&mut v);
    m.insert("login".into(), json!(login));
    m.insert("id".into(), json!(id));
    m.insert("node_id".into(), json!(node_id("User", id)));
    m.insert(
        "avatar_url".into(),
        json!(format!("https://avatars.githubusercontent.com/u/{id}?v=4")),
    );
    m.insert("type".into(), json!(kind));
    m.insert("user_view_type".into(), json!("public"));
    m.insert("name".into(), json!(name));
    m.insert("created_at".into(), json!(rfc3339(created)));
    v
}

/// The short user object embedded in other objects (no profile fields).
pub fn simple_user(world: &World, login: &str) -> Value {
    let mut v = user(world, login);
    let m = obj(&mut v);
    for field in [
        "name",
        "company",
        "blog",
        "location",
        "email",
        "hireable",
        "bio",
        "twitter_username",
        "public_repos",
        "public_gists",
        "followers",
        "following",
        "created_at",
        "updated_at",
    ] {
        m.remove(field);
    }
    v
}

fn author_association(repo: &Repo, login: &str) -> &'static str {
    if key(login) == key(&repo.owner) {
        "OWNER"
    } else if repo.collaborators.contains_key(&key(login)) {
        "COLLABORATOR"
    } else if repo
        .pulls
        .values()
        .any(|p| p.merged && key(&p.author) == key(login))
    {
        "CONTRIBUTOR"
    } else {
        "NONE"
    }
}

pub fn repo(world: &World, repo: &Repo) -> Value {
    repo_depth(world, repo, 0)
}

fn repo_depth(world: &World, r: &Repo, depth: u8) -> Value {
    let mut v = template("get-repos_owner_repo.200");
    let full = r.full_name();
    retarget(&mut v, &[("octocat/Hello-World", &full)]);
    let owner = simple_user(world, &r.owner);
    let is_org = world
        .user(&r.owner)
        .map(|u| u.kind == "Organization")
        .unwrap_or(false);
    let nested = |name: &Option<String>| -> Value {
        match name.as_deref().and_then(|n| world.repo(n)) {
            Some(other) if depth < 1 => repo_depth(world, other, depth + 1),
            _ => Value::Null,
        }
    };
    let parent = nested(&r.fork_parent);
    let pushed = r
        .head_sha()
        .and_then(|h| r.commit(&h).map(|c| c.date))
        .unwrap_or(r.created_at);
    let m = obj(&mut v);
    m.insert("id".into(), json!(r.id));
    m.insert("node_id".into(), json!(node_id("Repository", r.id)));
    m.insert("name".into(), json!(r.name));
    m.insert("full_name".into(), json!(full));
    m.insert("owner".into(), owner.clone());
    m.insert("private".into(), json!(r.private));
    m.insert(
        "visibility".into(),
        json!(if r.private { "private" } else { "public" }),
    );
    m.insert(
        "html_url".into(),
        json!(format!("https://github.com/{full}")),
    );
    m.insert(
        "clone_url".into(),
        json!(format!("https://github.com/{full}.git")),
    );
    m.insert(
        "git_url".into(),
        json!(format!("git://github.com/{full}.git")),
    );
    m.insert(
        "ssh_url".into(),
        json!(format!("git@github.com:{full}.git")),
    );
    m.insert(
        "svn_url".into(),
        json!(format!("https://github.com/{full}")),
    );
    m.insert("mirror_url".into(), Value::Null);
    m.insert("homepage".into(), Value::Null);
    m.insert("description".into(), json!(r.description));
    m.insert("language".into(), json!("Python"));
    m.insert("fork".into(), json!(r.fork_parent.is_some()));
    m.insert("is_template".into(), json!(r.is_template));
    m.insert("archived".into(), json!(r.archived));
    m.insert("default_branch".into(), json!(r.default_branch));
    m.insert("created_at".into(), json!(rfc3339(r.created_at)));
    m.insert("updated_at".into(), json!(rfc3339(pushed)));
    m.insert("pushed_at".into(), json!(rfc3339(pushed)));
    m.insert("topics".into(), json!([]));
    m.insert("license".into(), Value::Null);
    m.insert("temp_clone_token".into(), Value::Null);
    m.insert("template_repository".into(), nested(&r.template_repository));
    m.insert(
        "organization".into(),
        if is_org { owner } else { Value::Null },
    );
    if depth > 0 || r.fork_parent.is_none() {
        m.remove("parent");
        m.remove("source");
    } else {
        // `source` is the root of the fork network; one level is all the stories need.
        m.insert("source".into(), parent.clone());
        m.insert("parent".into(), parent);
    }
    v
}

pub fn installation(world: &World, inst: &Installation) -> Value {
    let mut v = template("get-app_installations.200");
    let account = simple_user(world, &inst.account);
    let target_type = world
        .user(&inst.account)
        .map(|u| u.kind.clone())
        .unwrap_or_else(|| "User".to_string());
    let target_id = world.user(&inst.account).map(|u| u.id).unwrap_or_default();
    let m = obj(&mut v);
    m.insert("id".into(), json!(inst.id));
    m.insert("account".into(), account);
    m.insert(
        "access_tokens_url".into(),
        json!(format!(
            "https://api.github.com/app/installations/{}/access_tokens",
            inst.id
        )),
    );
    m.insert(
        "html_url".into(),
        json!(format!(
            "https://github.com/organizations/{}/settings/installations/{}",
            inst.account, inst.id
        )),
    );
    m.insert("app_id".into(), json!(world.app.id));
    m.insert("app_slug".into(), json!(world.app.slug));
    m.insert("target_id".into(), json!(target_id));
    m.insert("target_type".into(), json!(target_type));
    m.insert("permissions".into(), app_permissions());
    m.insert("events".into(), app_events());
    m.insert(
        "repository_selection".into(),
        json!(match inst.selection {
            Selection::All => "all",
            Selection::Selected(_) => "selected",
        }),
    );
    m.insert("created_at".into(), json!(rfc3339(inst.created_at)));
    m.insert("updated_at".into(), json!(rfc3339(inst.created_at)));
    m.insert(
        "suspended_at".into(),
        if inst.suspended {
            json!(rfc3339(inst.created_at + 60))
        } else {
            Value::Null
        },
    );
    m.insert("suspended_by".into(), Value::Null);
    v
}

/// What Folio's manifest asks for (`deploy/github-app-manifest.json`): read code and pull
/// requests, write issues.
pub fn app_permissions() -> Value {
    json!({
        "checks": "read",
        "contents": "read",
        "issues": "write",
        "metadata": "read",
        "pull_requests": "read"
    })
}

fn app_events() -> Value {
    json!(["issues", "issue_comment", "installation_repositories"])
}

pub fn app(world: &World) -> Value {
    let mut v = template("get-app.200");
    let slug = world.app.slug.clone();
    retarget(&mut v, &[("octoapp", &slug)]);
    let owner = simple_user(world, &world.app.owner);
    let installations = world.installations.len();
    let m = obj(&mut v);
    m.insert("id".into(), json!(world.app.id));
    m.insert("slug".into(), json!(slug));
    m.insert("client_id".into(), json!(world.app.client_id));
    m.insert(
        "node_id".into(),
        json!(node_id("Integration", world.app.id)),
    );
    m.insert("owner".into(), owner);
    m.insert("name".into(), json!(world.app.name));
    m.insert(
        "html_url".into(),
        json!(format!("https://github.com/apps/{}", world.app.slug)),
    );
    m.insert("permissions".into(), app_permissions());
    m.insert("events".into(), app_events());
    m.insert("installations_count".into(), json!(installations));
    v
}

pub fn access_token(
    world: &World,
    inst: &Installation,
    token: &str,
    expires_at: i64,
    repos: &[&Repo],
) -> Value {
    let mut v = template("post-app_installations_installation_id_access_tokens.201");
    let m = obj(&mut v);
    m.insert("token".into(), json!(token));
    m.insert("expires_at".into(), json!(rfc3339(expires_at)));
    m.insert("permissions".into(), app_permissions());
    match &inst.selection {
        Selection::All if repos.is_empty() => {
            m.insert("repository_selection".into(), json!("all"));
            m.remove("repositories");
        }
        _ => {
            m.insert("repository_selection".into(), json!("selected"));
            m.insert(
                "repositories".into(),
                Value::Array(repos.iter().map(|r| repo(world, r)).collect()),
            );
        }
    }
    v
}

pub fn delivery(d: &Delivery) -> Value {
    let mut v = template("get-app_hook_deliveries.200");
    let m = obj(&mut v);
    m.insert("id".into(), json!(d.id));
    m.insert("guid".into(), json!(d.guid));
    m.insert("delivered_at".into(), json!(rfc3339(d.delivered_at)));
    m.insert("redelivery".into(), json!(d.redelivery));
    m.insert("duration".into(), json!(d.duration));
    m.insert("status".into(), json!(d.status));
    m.insert("status_code".into(), json!(d.status_code));
    m.insert("event".into(), json!(d.event));
    m.insert("action".into(), json!(d.action));
    m.insert("installation_id".into(), json!(d.installation_id));
    m.insert("repository_id".into(), json!(d.repository_id));
    m.insert("throttled_at".into(), Value::Null);
    v
}

fn label_json(r: &Repo, name: &str) -> Value {
    let mut v = template("post-repos_owner_repo_issues_issue_number_labels.200");
    let label = r.labels.get(&key(name)).cloned().unwrap_or(Label {
        id: 0,
        name: name.to_string(),
        color: "ededed".to_string(),
        description: None,
    });
    let m = obj(&mut v);
    m.insert("id".into(), json!(label.id));
    m.insert("node_id".into(), json!(node_id("Label", label.id)));
    m.insert(
        "url".into(),
        json!(format!(
            "https://api.github.com/repos/{}/labels/{}",
            r.full_name(),
            name.replace(' ', "%20")
        )),
    );
    m.insert("name".into(), json!(label.name));
    m.insert("description".into(), json!(label.description));
    m.insert("color".into(), json!(label.color));
    m.insert("default".into(), json!(false));
    v
}

/// The answer to `POST /repos/{r}/labels`: the same label object, from its own example.
pub fn created_label(r: &Repo, name: &str) -> Value {
    let mut v = template("post-repos_owner_repo_labels.201");
    let full = label_json(r, name);
    if let (Some(m), Some(from)) = (v.as_object_mut(), full.as_object()) {
        for (k, value) in from {
            if m.contains_key(k) {
                m.insert(k.clone(), value.clone());
            }
        }
    }
    v
}

pub fn labels(r: &Repo, names: &[String]) -> Value {
    Value::Array(names.iter().map(|n| label_json(r, n)).collect())
}

/// An issue (or the issue side of a pull request, which has a `pull_request` key).
fn issue_like(world: &World, r: &Repo, number: u64, id: u64, fields: IssueFields<'_>) -> Value {
    let mut v = template("patch-repos_owner_repo_issues_issue_number.200");
    let full = r.full_name();
    retarget(
        &mut v,
        &[
            ("octocat/Hello-World", &full),
            ("issues/1347", &format!("issues/{number}")),
        ],
    );
    let comments = r
        .issue_comments
        .iter()
        .filter(|c| c.issue_number == number)
        .count();
    let m = obj(&mut v);
    m.insert("id".into(), json!(id));
    m.insert("node_id".into(), json!(node_id("Issue", id)));
    m.insert("number".into(), json!(number));
    m.insert("title".into(), json!(fields.title));
    m.insert("body".into(), json!(fields.body));
    m.insert("state".into(), json!(fields.state));
    m.insert("state_reason".into(), json!(fields.state_reason));
    m.insert("user".into(), simple_user(world, fields.author));
    m.insert("labels".into(), labels(r, fields.labels));
    m.insert("assignee".into(), Value::Null);
    m.insert("assignees".into(), json!([]));
    m.insert("milestone".into(), Value::Null);
    m.insert("locked".into(), json!(false));
    m.insert("active_lock_reason".into(), Value::Null);
    m.insert("pinned_comment".into(), Value::Null);
    m.insert("comments".into(), json!(comments));
    m.insert("created_at".into(), json!(rfc3339(fields.created_at)));
    m.insert("updated_at".into(), json!(rfc3339(fields.updated_at)));
    m.insert("closed_at".into(), json!(fields.closed_at.map(rfc3339)));
    m.insert("closed_by".into(), Value::Null);
    m.insert(
        "author_association".into(),
        json!(author_association(r, fields.author)),
    );
    m.insert(
        "html_url".into(),
        json!(format!(
            "https://github.com/{full}/{}/{number}",
            if fields.pull.is_some() {
                "pull"
            } else {
                "issues"
            }
        )),
    );
    match fields.pull {
        Some(merged_at) => {
            m.insert(
                "pull_request".into(),
                json!({
                    "url": format!("https://api.github.com/repos/{full}/pulls/{number}"),
                    "html_url": format!("https://github.com/{full}/pull/{number}"),
                    "diff_url": format!("https://github.com/{full}/pull/{number}.diff"),
                    "patch_url": format!("https://github.com/{full}/pull/{number}.patch"),
                    "merged_at": merged_at.map(rfc3339),
                }),
            );
        }
        None => {
            m.remove("pull_request");
        }
    }
    v
}

struct IssueFields<'a> {
    title: &'a str,
    body: Option<&'a str>,
    author: &'a str,
    state: &'a str,
    state_reason: Option<&'a str>,
    labels: &'a [String],
    created_at: i64,
    updated_at: i64,
    closed_at: Option<i64>,
    /// `Some(merged_at)` for a pull request.
    pull: Option<Option<i64>>,
}

pub fn issue(world: &World, r: &Repo, i: &Issue) -> Value {
    issue_like(
        world,
        r,
        i.number,
        i.id,
        IssueFields {
            title: &i.title,
            body: i.body.as_deref(),
            author: &i.author,
            state: &i.state,
            state_reason: i.state_reason.as_deref(),
            labels: &i.labels,
            created_at: i.created_at,
            updated_at: i.updated_at,
            closed_at: i.closed_at,
            pull: None,
        },
    )
}

pub fn pull_as_issue(world: &World, r: &Repo, p: &Pull) -> Value {
    let closed = p.closed_at.unwrap_or(p.created_at);
    issue_like(
        world,
        r,
        p.number,
        // The issue side of a pull request has its own id on GitHub, distinct from the pull's.
        p.id + 500_000,
        IssueFields {
            title: &p.title,
            body: p.body.as_deref(),
            author: &p.author,
            state: &p.state,
            state_reason: None,
            labels: &p.labels,
            created_at: p.created_at,
            updated_at: p.closed_at.unwrap_or(p.created_at),
            closed_at: p.closed_at,
            pull: Some(p.merged.then_some(closed)),
        },
    )
}

/// A reaction as `POST /repos/{o}/{r}/issues/comments/{id}/reactions` answers it: `created`,
/// or the one the user had given already.
pub fn reaction(world: &World, r: &CommentReaction, created: bool) -> Value {
    let mut v = template(if created {
        "post-repos_owner_repo_issues_comments_comment_id_reactions.201"
    } else {
        "post-repos_owner_repo_issues_comments_comment_id_reactions.200"
    });
    let m = obj(&mut v);
    m.insert("id".into(), json!(r.id));
    m.insert("node_id".into(), json!(node_id("Reaction", r.id)));
    m.insert("user".into(), simple_user(world, &r.user));
    m.insert("content".into(), json!(r.content));
    m.insert("created_at".into(), json!(rfc3339(r.created_at)));
    v
}

pub fn issue_comment(world: &World, r: &Repo, c: &IssueComment) -> Value {
    let mut v = template("get-repos_owner_repo_issues_issue_number_comments.200");
    let full = r.full_name();
    let is_pull = r.pulls.contains_key(&c.issue_number) && !r.issues.contains_key(&c.issue_number);
    let m = obj(&mut v);
    m.insert("id".into(), json!(c.id));
    m.insert("node_id".into(), json!(node_id("IssueComment", c.id)));
    m.insert(
        "url".into(),
        json!(format!(
            "https://api.github.com/repos/{full}/issues/comments/{}",
            c.id
        )),
    );
    m.insert(
        "html_url".into(),
        json!(format!(
            "https://github.com/{full}/{}/{}#issuecomment-{}",
            if is_pull { "pull" } else { "issues" },
            c.issue_number,
            c.id
        )),
    );
    m.insert(
        "issue_url".into(),
        json!(format!(
            "https://api.github.com/repos/{full}/issues/{}",
            c.issue_number
        )),
    );
    m.insert("body".into(), json!(c.body));
    m.insert("user".into(), simple_user(world, &c.user));
    m.insert("created_at".into(), json!(rfc3339(c.created_at)));
    m.insert("updated_at".into(), json!(rfc3339(c.updated_at)));
    m.insert(
        "author_association".into(),
        json!(if c.via_app {
            "NONE"
        } else {
            author_association(r, &c.user)
        }),
    );
    m.insert(
        "performed_via_github_app".into(),
        if c.via_app { app(world) } else { Value::Null },
    );
    v
}

fn branch_end(world: &World, r: &Repo, repo_key: &str, reference: &str, sha: &str) -> Value {
    let owner_repo = world.repo(repo_key).unwrap_or(r);
    json!({
        "label": format!("{}:{}", owner_repo.owner, reference),
        "ref": reference,
        "sha": sha,
        "user": simple_user(world, &owner_repo.owner),
        "repo": repo(world, owner_repo),
    })
}

pub fn pull(world: &World, r: &Repo, p: &Pull) -> Value {
    let mut v = template("get-repos_owner_repo_pulls_pull_number.200");
    let full = r.full_name();
    let head = pull_head(world, &full, p.number);
    let n = p.number;
    retarget(
        &mut v,
        &[
            ("octocat/Hello-World", &full),
            ("pulls/1347", &format!("pulls/{n}")),
            ("pull/1347", &format!("pull/{n}")),
            ("issues/1347", &format!("issues/{n}")),
            ("6dcb09b5b57875f334f61aebed695e2e4193db5e", &head),
        ],
    );
    let files = pull_files(r, p);
    let base_sha = p
        .commits
        .first()
        .and_then(|s| r.commit(s))
        .and_then(|c| c.parents.first().cloned())
        .or_else(|| r.branches.get(&p.base_ref).cloned())
        .unwrap_or_default();
    let comments = r
        .issue_comments
        .iter()
        .filter(|c| c.issue_number == n)
        .count();
    let m = obj(&mut v);
    m.insert("id".into(), json!(p.id));
    m.insert("node_id".into(), json!(node_id("PullRequest", p.id)));
    m.insert("number".into(), json!(n));
    m.insert("state".into(), json!(p.state));
    m.insert("title".into(), json!(p.title));
    m.insert("body".into(), json!(p.body));
    m.insert("user".into(), simple_user(world, &p.author));
    m.insert("labels".into(), labels(r, &p.labels));
    m.insert("milestone".into(), Value::Null);
    m.insert("assignee".into(), Value::Null);
    m.insert("assignees".into(), json!([]));
    m.insert("requested_reviewers".into(), json!([]));
    m.insert("requested_teams".into(), json!([]));
    m.insert("created_at".into(), json!(rfc3339(p.created_at)));
    m.insert(
        "updated_at".into(),
        json!(rfc3339(p.closed_at.unwrap_or(p.created_at))),
    );
    m.insert("closed_at".into(), json!(p.closed_at.map(rfc3339)));
    m.insert(
        "merged_at".into(),
        json!(if p.merged {
            p.closed_at.map(rfc3339)
        } else {
            None
        }),
    );
    m.insert(
        "merge_commit_sha".into(),
        json!(p.merged.then(|| head.clone())),
    );
    m.insert(
        "head".into(),
        branch_end(world, r, &p.head_repo, &p.head_ref, &head),
    );
    m.insert(
        "base".into(),
        branch_end(world, r, &key(&full), &p.base_ref, &base_sha),
    );
    m.insert(
        "author_association".into(),
        json!(author_association(r, &p.author)),
    );
    m.insert("auto_merge".into(), Value::Null);
    m.insert("draft".into(), json!(p.draft));
    m.insert("merged".into(), json!(p.merged));
    m.insert(
        "mergeable".into(),
        if p.state == "open" {
            json!(true)
        } else {
            Value::Null
        },
    );
    m.insert(
        "mergeable_state".into(),
        json!(if p.state == "open" {
            "clean"
        } else {
            "unknown"
        }),
    );
    m.insert(
        "merged_by".into(),
        p.merged_by
            .as_deref()
            .map(|l| simple_user(world, l))
            .unwrap_or(Value::Null),
    );
    m.insert("comments".into(), json!(comments));
    m.insert("review_comments".into(), json!(p.review_comments.len()));
    m.insert("commits".into(), json!(p.commits.len().max(1)));
    m.insert(
        "additions".into(),
        json!(files.iter().map(|f| f.additions).sum::<u64>()),
    );
    m.insert(
        "deletions".into(),
        json!(files.iter().map(|f| f.deletions).sum::<u64>()),
    );
    m.insert("changed_files".into(), json!(files.len()));
    v
}

pub fn diff_entry(r: &Repo, sha: &str, f: &FileChange) -> Value {
    let mut v = template("get-repos_owner_repo_pulls_pull_number_files.200");
    let full = r.full_name();
    let path = &f.filename;
    let m = obj(&mut v);
    m.insert("sha".into(), json!(f.blob_sha));
    m.insert("filename".into(), json!(path));
    m.insert("status".into(), json!(f.status));
    m.insert("additions".into(), json!(f.additions));
    m.insert("deletions".into(), json!(f.deletions));
    m.insert("changes".into(), json!(f.additions + f.deletions));
    m.insert(
        "blob_url".into(),
        json!(format!("https://github.com/{full}/blob/{sha}/{path}")),
    );
    m.insert(
        "raw_url".into(),
        json!(format!("https://github.com/{full}/raw/{sha}/{path}")),
    );
    m.insert(
        "contents_url".into(),
        json!(format!(
            "https://api.github.com/repos/{full}/contents/{path}?ref={sha}"
        )),
    );
    match &f.patch {
        Some(p) => {
            m.insert("patch".into(), json!(p));
        }
        None => {
            m.remove("patch");
        }
    }
    if let Some(prev) = &f.previous_filename {
        m.insert("previous_filename".into(), json!(prev));
    }
    v
}

pub fn review(world: &World, r: &Repo, p: &Pull, rv: &Review) -> Value {
    let mut v = template("get-repos_owner_repo_pulls_pull_number_reviews.200");
    let full = r.full_name();
    let n = p.number;
    retarget(
        &mut v,
        &[
            ("octocat/Hello-World", &full),
            (
                "pull/12#pullrequestreview-80",
                &format!("pull/{n}#pullrequestreview-{}", rv.id),
            ),
            ("pulls/12", &format!("pulls/{n}")),
        ],
    );
    let m = obj(&mut v);
    m.insert("id".into(), json!(rv.id));
    m.insert("node_id".into(), json!(node_id("PullRequestReview", rv.id)));
    m.insert("user".into(), simple_user(world, &rv.user));
    m.insert("body".into(), json!(rv.body));
    m.insert("state".into(), json!(rv.state));
    m.insert(
        "html_url".into(),
        json!(format!(
            "https://github.com/{full}/pull/{n}#pullrequestreview-{}",
            rv.id
        )),
    );
    m.insert("submitted_at".into(), json!(rfc3339(rv.submitted_at)));
    m.insert("commit_id".into(), json!(rv.commit_id));
    m.insert(
        "author_association".into(),
        json!(author_association(r, &rv.user)),
    );
    v
}

pub fn review_comment(world: &World, r: &Repo, p: &Pull, c: &ReviewComment) -> Value {
    let mut v = template("get-repos_owner_repo_pulls_pull_number_comments.200");
    let full = r.full_name();
    let n = p.number;
    let html = format!("https://github.com/{full}/pull/{n}#discussion_r{}", c.id);
    let api = format!(
        "https://api.github.com/repos/{full}/pulls/comments/{}",
        c.id
    );
    let pr_api = format!("https://api.github.com/repos/{full}/pulls/{n}");
    let m = obj(&mut v);
    m.insert("url".into(), json!(api));
    m.insert("pull_request_review_id".into(), json!(c.review_id));
    m.insert("id".into(), json!(c.id));
    m.insert(
        "node_id".into(),
        json!(node_id("PullRequestReviewComment", c.id)),
    );
    m.insert("diff_hunk".into(), json!(c.diff_hunk));
    m.insert("path".into(), json!(c.path));
    m.insert("position".into(), json!(c.line));
    m.insert("original_position".into(), json!(c.original_line));
    m.insert("commit_id".into(), json!(c.commit_id));
    m.insert("original_commit_id".into(), json!(c.original_commit_id));
    match c.in_reply_to_id {
        Some(id) => {
            m.insert("in_reply_to_id".into(), json!(id));
        }
        None => {
            m.remove("in_reply_to_id");
        }
    }
    m.insert("user".into(), simple_user(world, &c.user));
    m.insert("body".into(), json!(c.body));
    m.insert("created_at".into(), json!(rfc3339(c.created_at)));
    m.insert("updated_at".into(), json!(rfc3339(c.created_at)));
    m.insert("html_url".into(), json!(html));
    m.insert("pull_request_url".into(), json!(pr_api));
    m.insert(
        "author_association".into(),
        json!(author_association(r, &c.user)),
    );
    m.insert(
        "_links".into(),
        json!({
            "self": {"href": api},
            "html": {"href": html},
            "pull_request": {"href": pr_api},
        }),
    );
    m.insert("start_line".into(), json!(c.start_line));
    m.insert("original_start_line".into(), json!(c.start_line));
    m.insert(
        "start_side".into(),
        if c.start_line.is_some() {
            json!(c.side)
        } else {
            Value::Null
        },
    );
    m.insert("line".into(), json!(c.line));
    m.insert("original_line".into(), json!(c.original_line));
    m.insert("side".into(), json!(c.side));
    m.insert("subject_type".into(), json!("line"));
    v
}

/// A commit as list endpoints give it; `detail` adds `stats` and `files` as
/// `GET /repos/{o}/{r}/commits/{sha}` does.
pub fn commit(world: &World, r: &Repo, c: &Commit, detail: bool) -> Value {
    let mut v = template("get-repos_owner_repo_pulls_pull_number_commits.200");
    let full = r.full_name();
    retarget(
        &mut v,
        &[
            ("octocat/Hello-World", &full),
            ("6dcb09b5b57875f334f61aebed695e2e4193db5e", &c.sha),
        ],
    );
    let person =
        |date: i64| json!({"name": c.author_name, "email": c.author_email, "date": rfc3339(date)});
    let gh_user = |login: &Option<String>| {
        login
            .as_deref()
            .map(|l| simple_user(world, l))
            .unwrap_or(Value::Null)
    };
    let tree_sha = super::state::hex40(&[b"tree", c.sha.as_bytes()]);
    let m = obj(&mut v);
    m.insert("sha".into(), json!(c.sha));
    m.insert(
        "node_id".into(),
        json!(
            base64::engine::general_purpose::STANDARD
                .encode(format!("06:Commit{}:{}", r.id, c.sha))
        ),
    );
    m.insert(
        "html_url".into(),
        json!(format!("https://github.com/{full}/commit/{}", c.sha)),
    );
    m.insert(
        "commit".into(),
        json!({
            "url": format!("https://api.github.com/repos/{full}/git/commits/{}", c.sha),
            "author": person(c.date),
            "committer": person(c.date),
            "message": c.message,
            "tree": {"url": format!("https://api.github.com/repos/{full}/git/trees/{tree_sha}"), "sha": tree_sha},
            "comment_count": 0,
            "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null},
        }),
    );
    m.insert("author".into(), gh_user(&c.author_login));
    m.insert("committer".into(), gh_user(&c.committer_login));
    m.insert(
        "parents".into(),
        Value::Array(
            c.parents
                .iter()
                .map(|p| {
                    json!({
                        "url": format!("https://api.github.com/repos/{full}/commits/{p}"),
                        "html_url": format!("https://github.com/{full}/commit/{p}"),
                        "sha": p,
                    })
                })
                .collect(),
        ),
    );
    if detail {
        let additions: u64 = c.files.iter().map(|f| f.additions).sum();
        let deletions: u64 = c.files.iter().map(|f| f.deletions).sum();
        m.insert(
            "stats".into(),
            json!({"total": additions + deletions, "additions": additions, "deletions": deletions}),
        );
        m.insert(
            "files".into(),
            Value::Array(c.files.iter().map(|f| diff_entry(r, &c.sha, f)).collect()),
        );
    }
    v
}

pub fn tag(r: &Repo, t: &TagRef) -> Value {
    let mut v = template("get-repos_owner_repo_tags.200");
    let full = r.full_name();
    let m = obj(&mut v);
    m.insert("name".into(), json!(t.name));
    m.insert(
        "commit".into(),
        json!({"sha": t.sha, "url": format!("https://api.github.com/repos/{full}/commits/{}", t.sha)}),
    );
    m.insert(
        "zipball_url".into(),
        json!(format!(
            "https://api.github.com/repos/{full}/zipball/refs/tags/{}",
            t.name
        )),
    );
    m.insert(
        "tarball_url".into(),
        json!(format!(
            "https://api.github.com/repos/{full}/tarball/refs/tags/{}",
            t.name
        )),
    );
    m.insert(
        "node_id".into(),
        json!(
            base64::engine::general_purpose::STANDARD
                .encode(format!("03:Ref{}:refs/tags/{}", r.id, t.name))
        ),
    );
    v
}

pub fn release(world: &World, r: &Repo, rel: &Release) -> Value {
    let mut v = template("get-repos_owner_repo_releases.200");
    let full = r.full_name();
    let tag = &rel.tag_name;
    let asset_template = v
        .get("assets")
        .and_then(|a| a.get(0))
        .cloned()
        .unwrap_or(Value::Null);
    let assets: Vec<Value> = rel
        .assets
        .iter()
        .map(|a: &Asset| {
            let mut av = asset_template.clone();
            let m = obj(&mut av);
            m.insert(
                "url".into(),
                json!(format!(
                    "https://api.github.com/repos/{full}/releases/assets/{}",
                    a.id
                )),
            );
            m.insert(
                "browser_download_url".into(),
                json!(format!(
                    "https://github.com/{full}/releases/download/{tag}/{}",
                    a.name
                )),
            );
            m.insert("id".into(), json!(a.id));
            m.insert("node_id".into(), json!(node_id("ReleaseAsset", a.id)));
            m.insert("name".into(), json!(a.name));
            m.insert("label".into(), Value::Null);
            m.insert("content_type".into(), json!(a.content_type));
            m.insert("size".into(), json!(a.size));
            m.insert(
                "digest".into(),
                json!(format!(
                    "sha256:{}",
                    super::state::hex40(&[a.name.as_bytes()])
                )),
            );
            m.insert("download_count".into(), json!(0));
            m.insert("created_at".into(), json!(rfc3339(rel.created_at)));
            m.insert("updated_at".into(), json!(rfc3339(rel.created_at)));
            m.insert("uploader".into(), simple_user(world, &rel.author));
            av
        })
        .collect();
    let m = obj(&mut v);
    m.insert(
        "url".into(),
        json!(format!(
            "https://api.github.com/repos/{full}/releases/{}",
            rel.id
        )),
    );
    m.insert(
        "html_url".into(),
        json!(format!("https://github.com/{full}/releases/tag/{tag}")),
    );
    m.insert(
        "assets_url".into(),
        json!(format!(
            "https://api.github.com/repos/{full}/releases/{}/assets",
            rel.id
        )),
    );
    m.insert(
        "upload_url".into(),
        json!(format!(
            "https://uploads.github.com/repos/{full}/releases/{}/assets{{?name,label}}",
            rel.id
        )),
    );
    m.insert(
        "tarball_url".into(),
        json!(format!("https://api.github.com/repos/{full}/tarball/{tag}")),
    );
    m.insert(
        "zipball_url".into(),
        json!(format!("https://api.github.com/repos/{full}/zipball/{tag}")),
    );
    m.insert("id".into(), json!(rel.id));
    m.insert("node_id".into(), json!(node_id("Release", rel.id)));
    m.insert("tag_name".into(), json!(tag));
    m.insert("target_commitish".into(), json!(r.default_branch));
    m.insert("name".into(), json!(rel.name));
    m.insert("body".into(), json!(rel.body));
    m.insert("draft".into(), json!(rel.draft));
    m.insert("prerelease".into(), json!(rel.prerelease));
    m.insert("created_at".into(), json!(rfc3339(rel.created_at)));
    m.insert(
        "published_at".into(),
        if rel.draft {
            Value::Null
        } else {
            json!(rfc3339(rel.created_at))
        },
    );
    m.insert("author".into(), simple_user(world, &rel.author));
    m.insert("assets".into(), Value::Array(assets));
    v
}

pub fn workflow_run(r: &Repo, run: &WorkflowRun) -> Value {
    let base = template("get-repos_owner_repo_actions_runs.200");
    let mut v = base
        .get("workflow_runs")
        .and_then(|a| a.get(0))
        .cloned()
        .unwrap_or(Value::Null);
    let full = r.full_name();
    retarget(&mut v, &[("octo-org/octo-repo", &full)]);
    let m = obj(&mut v);
    m.insert("id".into(), json!(run.id));
    m.insert("node_id".into(), json!(node_id("WorkflowRun", run.id)));
    // GitHub appends the ref the workflow file was read at.
    m.insert(
        "path".into(),
        json!(format!("{}@{}", run.path, run.head_branch)),
    );
    m.insert("event".into(), json!(run.event));
    m.insert("head_branch".into(), json!(run.head_branch));
    m.insert("head_sha".into(), json!(run.head_sha));
    m.insert("check_suite_id".into(), json!(run.check_suite_id));
    m.insert("status".into(), json!(run.status));
    m.insert("conclusion".into(), json!(run.conclusion));
    m.insert("created_at".into(), json!(rfc3339(run.created_at)));
    m.insert("updated_at".into(), json!(rfc3339(run.created_at + 60)));
    m.insert(
        "html_url".into(),
        json!(format!("https://github.com/{full}/actions/runs/{}", run.id)),
    );
    m.insert(
        "url".into(),
        json!(format!(
            "https://api.github.com/repos/{full}/actions/runs/{}",
            run.id
        )),
    );
    m.insert(
        "jobs_url".into(),
        json!(format!(
            "https://api.github.com/repos/{full}/actions/runs/{}/jobs",
            run.id
        )),
    );
    v
}

pub fn workflow_job(r: &Repo, run: &WorkflowRun, job: &(u64, String, Option<String>)) -> Value {
    let base = template("get-repos_owner_repo_actions_runs_run_id_jobs.200");
    let mut v = base
        .get("jobs")
        .and_then(|a| a.get(0))
        .cloned()
        .unwrap_or(Value::Null);
    let full = r.full_name();
    retarget(&mut v, &[("octo-org/octo-repo", &full)]);
    let (id, name, conclusion) = job;
    let m = obj(&mut v);
    m.insert("id".into(), json!(id));
    m.insert("run_id".into(), json!(run.id));
    m.insert("node_id".into(), json!(node_id("CheckRun", *id)));
    m.insert("name".into(), json!(name));
    m.insert("head_sha".into(), json!(run.head_sha));
    m.insert("head_branch".into(), json!(run.head_branch));
    m.insert("status".into(), json!("completed"));
    m.insert("conclusion".into(), json!(conclusion));
    m.insert("workflow_name".into(), json!(run.path));
    m.insert(
        "html_url".into(),
        json!(format!(
            "https://github.com/{full}/actions/runs/{}/job/{id}",
            run.id
        )),
    );
    m.insert(
        "run_url".into(),
        json!(format!(
            "https://api.github.com/repos/{full}/actions/runs/{}",
            run.id
        )),
    );
    v
}

pub fn check_run(world: &World, r: &Repo, c: &CheckRun) -> Value {
    let base = template("get-repos_owner_repo_commits_ref_check-runs.200");
    let mut v = base
        .get("check_runs")
        .and_then(|a| a.get(0))
        .cloned()
        .unwrap_or(Value::Null);
    let full = r.full_name();
    retarget(&mut v, &[("github/hello-world", &full)]);
    let started = c.completed_at - 90;
    let mut app = v.get("app").cloned().unwrap_or(Value::Null);
    {
        let am = obj(&mut app);
        am.insert("slug".into(), json!(c.app_slug));
        am.insert("id".into(), json!(15368));
        am.insert("name".into(), json!("GitHub Actions"));
        am.insert("owner".into(), simple_user(world, "github"));
        am.insert(
            "html_url".into(),
            json!(format!("https://github.com/apps/{}", c.app_slug)),
        );
    }
    let m = obj(&mut v);
    m.insert("id".into(), json!(c.id));
    m.insert("node_id".into(), json!(node_id("CheckRun", c.id)));
    m.insert("head_sha".into(), json!(c.head_sha));
    m.insert("name".into(), json!(c.name));
    m.insert("status".into(), json!(c.status));
    m.insert("conclusion".into(), json!(c.conclusion));
    m.insert(
        "url".into(),
        json!(format!(
            "https://api.github.com/repos/{full}/check-runs/{}",
            c.id
        )),
    );
    m.insert(
        "html_url".into(),
        json!(format!("https://github.com/{full}/runs/{}", c.id)),
    );
    m.insert(
        "details_url".into(),
        json!(format!("https://github.com/{full}/runs/{}", c.id)),
    );
    m.insert("started_at".into(), json!(rfc3339(started)));
    m.insert("completed_at".into(), json!(rfc3339(c.completed_at)));
    if let Some(suite) = c.check_suite_id {
        m.insert("check_suite".into(), json!({"id": suite}));
    }
    m.insert("app".into(), app);
    m.insert("pull_requests".into(), json!([]));
    v
}

/// One entry of the contributors listing: an account with its commit count, or, with
/// `anon=1`, an author e-mail that no account claims.
pub fn contributor(world: &World, login: Option<&str>, email: &str, name: &str, n: u64) -> Value {
    let mut v = template("get-repos_owner_repo_contributors.200");
    match login {
        Some(login) => {
            let user = simple_user(world, login);
            if let (Value::Object(m), Value::Object(u)) = (&mut v, user) {
                m.extend(u);
            }
        }
        None => {
            v = json!({"type": "Anonymous", "email": email, "name": name});
        }
    }
    obj(&mut v).insert("contributions".into(), json!(n));
    v
}

pub fn collaborator_permission(world: &World, login: &str, permission: &str, role: &str) -> Value {
    let mut v = template("get-repos_owner_repo_collaborators_username_permission.200");
    let mut u = simple_user(world, login);
    set(&mut u, "role_name", json!(role));
    let m = obj(&mut v);
    m.insert("permission".into(), json!(permission));
    m.insert("role_name".into(), json!(role));
    m.insert("user".into(), u);
    v
}

/// GitHub wraps base64 file content at 60 characters, with a trailing newline.
fn wrapped_base64(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 60 + 1);
    for chunk in encoded.as_bytes().chunks(60) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

fn content_links(
    full: &str,
    path: &str,
    sha: &str,
    reference: &str,
    kind: &str,
) -> (String, String, String, Option<String>) {
    let api = format!("https://api.github.com/repos/{full}/contents/{path}?ref={reference}");
    let git = format!("https://api.github.com/repos/{full}/git/{kind}/{sha}");
    let html = format!(
        "https://github.com/{full}/{}/{reference}/{path}",
        if kind == "blobs" { "blob" } else { "tree" }
    );
    let download = (kind == "blobs")
        .then(|| format!("https://raw.githubusercontent.com/{full}/{reference}/{path}"));
    (api, git, html, download)
}

pub fn content_file(r: &Repo, path: &str, reference: &str, bytes: &[u8]) -> Value {
    let mut v = template("get-repos_owner_repo_contents_path.200");
    let full = r.full_name();
    let sha = super::state::hex40(&[b"blob", bytes]);
    let (api, git, html, download) = content_links(&full, path, &sha, reference, "blobs");
    let name = path.rsplit('/').next().unwrap_or(path);
    let m = obj(&mut v);
    m.insert("type".into(), json!("file"));
    m.insert("encoding".into(), json!("base64"));
    m.insert("size".into(), json!(bytes.len()));
    m.insert("name".into(), json!(name));
    m.insert("path".into(), json!(path));
    m.insert("content".into(), json!(wrapped_base64(bytes)));
    m.insert("sha".into(), json!(sha));
    m.insert("url".into(), json!(api));
    m.insert("git_url".into(), json!(git));
    m.insert("html_url".into(), json!(html));
    m.insert("download_url".into(), json!(download));
    m.insert(
        "_links".into(),
        json!({"self": api, "git": git, "html": html}),
    );
    v
}

/// One entry of a directory listing: `file` or `dir`.
pub fn content_entry(r: &Repo, path: &str, reference: &str, is_dir: bool, size: usize) -> Value {
    let mut v =
        template("get-repos_owner_repo_contents_path.200.response-if-content-is-a-directory");
    let full = r.full_name();
    let kind = if is_dir { "trees" } else { "blobs" };
    let sha = super::state::hex40(&[kind.as_bytes(), path.as_bytes(), reference.as_bytes()]);
    let (api, git, html, download) = content_links(&full, path, &sha, reference, kind);
    let name = path.rsplit('/').next().unwrap_or(path);
    let m = obj(&mut v);
    m.insert("type".into(), json!(if is_dir { "dir" } else { "file" }));
    m.insert("size".into(), json!(if is_dir { 0 } else { size }));
    m.insert("name".into(), json!(name));
    m.insert("path".into(), json!(path));
    m.insert("sha".into(), json!(sha));
    m.insert("url".into(), json!(api));
    m.insert("git_url".into(), json!(git));
    m.insert("html_url".into(), json!(html));
    m.insert("download_url".into(), json!(download));
    m.insert(
        "_links".into(),
        json!({"self": api, "git": git, "html": html}),
    );
    v
}

pub fn tree(r: &Repo, sha: &str, files: &[(String, usize, String)], dirs: &[String]) -> Value {
    let mut v = template("get-repos_owner_repo_git_trees_tree_sha.200");
    let full = r.full_name();
    let mut entries: Vec<Value> = dirs
        .iter()
        .map(|d| {
            let tsha = super::state::hex40(&[b"tree", d.as_bytes(), sha.as_bytes()]);
            json!({"path": d, "mode": "040000", "type": "tree", "sha": tsha,
                   "url": format!("https://api.github.com/repos/{full}/git/trees/{tsha}")})
        })
        .collect();
    entries.extend(files.iter().map(|(path, size, bsha)| {
        json!({"path": path, "mode": "100644", "type": "blob", "sha": bsha, "size": size,
               "url": format!("https://api.github.com/repos/{full}/git/blobs/{bsha}")})
    }));
    entries.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    let m = obj(&mut v);
    m.insert("sha".into(), json!(sha));
    m.insert(
        "url".into(),
        json!(format!(
            "https://api.github.com/repos/{full}/git/trees/{sha}"
        )),
    );
    m.insert("tree".into(), Value::Array(entries));
    m.insert("truncated".into(), json!(false));
    v
}

pub fn search_item(world: &World, r: &Repo, item: SearchHit<'_>) -> Value {
    let mut v = match item {
        SearchHit::Issue(i) => issue(world, r, i),
        SearchHit::Pull(p) => pull_as_issue(world, r, p),
    };
    let m = obj(&mut v);
    m.insert("score".into(), json!(1.0));
    m.insert(
        "repository_url".into(),
        json!(format!("https://api.github.com/repos/{}", r.full_name())),
    );
    v
}

pub enum SearchHit<'a> {
    Issue(&'a Issue),
    Pull(&'a Pull),
}

pub fn search_page(total: usize, items: Vec<Value>) -> Value {
    let mut v = template("get-search_issues.200");
    let m = obj(&mut v);
    m.insert("total_count".into(), json!(total));
    m.insert("incomplete_results".into(), json!(false));
    m.insert("items".into(), Value::Array(items));
    v
}

pub fn rate_limit(world: &World) -> Value {
    let mut v = template("get-rate_limit.200");
    let bucket = |b: &super::state::RateBucket| json!({"limit": b.limit, "remaining": b.remaining, "reset": b.reset, "used": b.used()});
    let core = bucket(&world.core);
    let search = bucket(&world.search);
    if let Some(resources) = v.get_mut("resources") {
        set(resources, "core", core.clone());
        set(resources, "search", search);
    }
    set(&mut v, "rate", core);
    v
}
