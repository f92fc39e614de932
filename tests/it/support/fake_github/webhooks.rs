//! Webhook deliveries from the fake to the app under test: payloads built from GitHub's example
//! payloads (`tests/fixtures/github/webhooks/`) with the objects replaced by the state's, signed
//! like GitHub signs them, POSTed, and recorded in the app's delivery log with the receiver's
//! answer (so `GET /app/hook/deliveries` shows real outcomes, and redelivery re-sends them).

use std::time::Duration;

use serde_json::{Value, json};

use super::json;
use super::state::{Delivery, World, hex40, key, now_secs};
use super::{Shared, lock};

macro_rules! webhook_fixture {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/github/webhooks/",
            $path
        ))
    };
}

/// An event to deliver. Issues and comments must exist in the fake already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Ping,
    IssueOpened {
        repo: String,
        number: u64,
    },
    /// `previous_body` fills `changes.body.from`, as GitHub sends when the body was edited.
    IssueEdited {
        repo: String,
        number: u64,
        previous_body: Option<String>,
    },
    IssueLabeled {
        repo: String,
        number: u64,
        label: String,
    },
    /// GitHub publishes no example for `issues.closed`; derived from `reopened`, as the
    /// fixtures README suggests.
    IssueClosed {
        repo: String,
        number: u64,
    },
    IssueReopened {
        repo: String,
        number: u64,
    },
    IssueCommentCreated {
        repo: String,
        number: u64,
        comment_id: u64,
    },
    IssueCommentEdited {
        repo: String,
        number: u64,
        comment_id: u64,
        previous_body: String,
    },
    InstallationCreated {
        installation: u64,
    },
    InstallationDeleted {
        installation: u64,
    },
    InstallationRepositoriesAdded {
        installation: u64,
        repos: Vec<String>,
    },
}

/// A payload ready to send.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub event: &'static str,
    pub action: Option<String>,
    pub guid: String,
    pub body: Vec<u8>,
    pub installation_id: Option<u64>,
    pub repository_id: Option<u64>,
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("webhook fixture is not JSON: {e}"))
}

fn installation_for(world: &World, repo: &super::state::Repo) -> Option<u64> {
    world
        .installations
        .values()
        .find(|i| match &i.selection {
            super::state::Selection::All => key(&i.account) == key(&repo.owner),
            super::state::Selection::Selected(list) => list.contains(&key(&repo.full_name())),
        })
        .map(|i| i.id)
}

fn short_repo(r: &super::state::Repo) -> Value {
    json!({"id": r.id, "node_id": format!("R_{}", r.id), "name": r.name,
           "full_name": r.full_name(), "private": r.private})
}

/// Builds the payload under the lock; the caller sends it without holding the lock.
pub fn prepare(world: &mut World, event: &Event) -> Result<Prepared, String> {
    let mut installation_id = None;
    let mut repository_id = None;
    let (name, mut payload) = match event {
        Event::Ping => {
            let mut p = fixture(webhook_fixture!("ping/with-app_id.payload.json"));
            p["hook"]["app_id"] = json!(world.app.id);
            if let Some(m) = p.as_object_mut() {
                m.remove("repository");
                m.remove("sender");
            }
            ("ping", p)
        }
        Event::IssueOpened { repo, number }
        | Event::IssueEdited { repo, number, .. }
        | Event::IssueLabeled { repo, number, .. }
        | Event::IssueClosed { repo, number }
        | Event::IssueReopened { repo, number } => {
            let r = world
                .repo(repo)
                .ok_or_else(|| format!("no repository {repo}"))?;
            let issue = r
                .issues
                .get(number)
                .ok_or_else(|| format!("no issue {repo}#{number}"))?;
            let (name, mut p) = match event {
                Event::IssueOpened { .. } => (
                    "issues",
                    fixture(webhook_fixture!("issues/opened.payload.json")),
                ),
                Event::IssueEdited { previous_body, .. } => {
                    let mut p = fixture(webhook_fixture!("issues/edited.payload.json"));
                    p["changes"] = match previous_body {
                        Some(from) => json!({"body": {"from": from}}),
                        None => json!({}),
                    };
                    ("issues", p)
                }
                Event::IssueLabeled { label, .. } => {
                    let mut p = fixture(webhook_fixture!("issues/labeled.payload.json"));
                    let names = vec![label.clone()];
                    p["label"] = json::labels(r, &names)
                        .get(0)
                        .cloned()
                        .unwrap_or(Value::Null);
                    ("issues", p)
                }
                Event::IssueReopened { .. } => (
                    "issues",
                    fixture(webhook_fixture!("issues/reopened.payload.json")),
                ),
                _ => {
                    let mut p = fixture(webhook_fixture!("issues/reopened.payload.json"));
                    p["action"] = json!("closed");
                    ("issues", p)
                }
            };
            p["issue"] = json::issue(world, r, issue);
            p["repository"] = json::repo(world, r);
            p["sender"] = json::simple_user(world, &issue.author);
            installation_id = installation_for(world, r);
            repository_id = Some(r.id);
            (name, p)
        }
        Event::IssueCommentCreated {
            repo,
            number,
            comment_id,
        }
        | Event::IssueCommentEdited {
            repo,
            number,
            comment_id,
            ..
        } => {
            let r = world
                .repo(repo)
                .ok_or_else(|| format!("no repository {repo}"))?;
            let comment = r
                .issue_comments
                .iter()
                .find(|c| c.id == *comment_id)
                .ok_or_else(|| format!("no comment {comment_id}"))?;
            let issue = match r.issues.get(number) {
                Some(i) => json::issue(world, r, i),
                None => match r.pulls.get(number) {
                    Some(p) => json::pull_as_issue(world, r, p),
                    None => return Err(format!("no issue {repo}#{number}")),
                },
            };
            let mut p = fixture(webhook_fixture!("issue_comment/created.payload.json"));
            if let Event::IssueCommentEdited { previous_body, .. } = event {
                p["action"] = json!("edited");
                p["changes"] = json!({"body": {"from": previous_body}});
            }
            p["issue"] = issue;
            p["comment"] = json::issue_comment(world, r, comment);
            p["repository"] = json::repo(world, r);
            p["sender"] = json::simple_user(world, &comment.user);
            installation_id = installation_for(world, r);
            repository_id = Some(r.id);
            ("issue_comment", p)
        }
        Event::InstallationCreated { installation }
        | Event::InstallationDeleted { installation } => {
            let inst = world
                .installations
                .get(installation)
                .ok_or_else(|| format!("no installation {installation}"))?;
            let mut p = fixture(webhook_fixture!("installation/created.payload.json"));
            if matches!(event, Event::InstallationDeleted { .. }) {
                p["action"] = json!("deleted");
            }
            let repos: Vec<Value> = world
                .repos
                .values()
                .filter(|r| installation_for(world, r) == Some(inst.id))
                .map(short_repo)
                .collect();
            p["installation"] = json::installation(world, inst);
            p["repositories"] = Value::Array(repos);
            p["sender"] = json::simple_user(world, &inst.account);
            if let Some(m) = p.as_object_mut() {
                m.remove("requester");
            }
            installation_id = Some(inst.id);
            ("installation", p)
        }
        Event::InstallationRepositoriesAdded {
            installation,
            repos,
        } => {
            let inst = world
                .installations
                .get(installation)
                .ok_or_else(|| format!("no installation {installation}"))?;
            let mut p = fixture(webhook_fixture!(
                "installation_repositories/added.payload.json"
            ));
            let added: Vec<Value> = repos
                .iter()
                .filter_map(|n| world.repo(n))
                .map(short_repo)
                .collect();
            p["installation"] = json::installation(world, inst);
            p["repositories_added"] = Value::Array(added);
            p["repositories_removed"] = json!([]);
            p["requester"] = Value::Null;
            p["sender"] = json::simple_user(world, &inst.account);
            installation_id = Some(inst.id);
            ("installation_repositories", p)
        }
    };
    if let Some(id) = installation_id
        && payload
            .get("installation")
            .is_none_or(|i| i.get("account").is_none())
    {
        // App deliveries carry the installation as `{id, node_id}`.
        payload["installation"] =
            json!({"id": id, "node_id": format!("MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u{id}")});
    }
    json::localize(&mut payload, &world.base_url);
    let action = payload
        .get("action")
        .and_then(Value::as_str)
        .map(str::to_string);
    let n = world.next_id();
    let h = hex40(&[b"guid", &n.to_be_bytes()]);
    let guid = format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    );
    let body = serde_json::to_vec(&payload).map_err(|e| e.to_string())?;
    Ok(Prepared {
        event: name,
        action,
        guid,
        body,
        installation_id,
        repository_id,
    })
}

/// POSTs the delivery and records it (with the payload, for redelivery). Returns the
/// receiver's status, or 0 when it did not answer in time.
pub async fn send(world: &Shared, prepared: Prepared, redelivery: bool) -> u16 {
    let (target, secret) = {
        let w = lock(world);
        (w.webhook_target.clone(), w.app.webhook_secret.clone())
    };
    let Some(url) = target else {
        return 0;
    };
    let started = std::time::Instant::now();
    let mut request = reqwest::Client::new()
        .post(&url)
        .timeout(Duration::from_secs(10))
        .body(prepared.body.clone());
    for (name, value) in super::super::webhook::delivery_headers(
        prepared.event,
        &prepared.guid,
        &secret,
        &prepared.body,
    ) {
        request = request.header(name, value);
    }
    let (status_code, status) = match request.send().await {
        Ok(res) => {
            let code = res.status().as_u16();
            (code, super::builders::delivery_status(code))
        }
        Err(e) if e.is_timeout() => (0, "timed out".to_string()),
        Err(_) => (0, "failed to connect to host".to_string()),
    };
    let mut w = lock(world);
    let id = w.next_id();
    w.deliveries.push(Delivery {
        id,
        guid: prepared.guid.clone(),
        delivered_at: now_secs(),
        redelivery,
        duration: started.elapsed().as_secs_f64(),
        status,
        status_code,
        event: prepared.event.to_string(),
        action: prepared.action.clone(),
        installation_id: prepared.installation_id,
        repository_id: prepared.repository_id,
    });
    w.delivery_payloads.insert(id, prepared);
    status_code
}
