//! A fake GitHub for Folio's tests: a real HTTP server on 127.0.0.1 that keeps GitHub as state
//! (apps, installations, users, repositories with commits and files, pull requests, reviews,
//! issues and comments) and answers the REST calls Folio makes the way api.github.com does:
//! the same JSON shapes (built from GitHub's documented examples in
//! `tests/fixtures/github/rest/`), `Link` pagination, ETags and 304s, rate-limit headers,
//! App JWT and installation-token auth, tarball redirects, and faults on request.
//!
//! Tests read like stories:
//!
//! ```ignore
//! let gh = FakeGitHub::start().await;
//! gh.installation(7).organization("acme").repos(&["acme/hiring"]);
//! gh.repo("octocat/hello")
//!     .file("pyproject.toml", "[project]\nname = 'hello'\n")
//!     .tag("v1.0.0")
//!     .release(ReleaseSpec::new("v1.0.0").body("First release"));
//! gh.pull("octocat/hello", 7)
//!     .author("octocat")
//!     .title("Add parser")
//!     .commit(CommitSpec::new("Add parser").file("src/parse.py", "def parse(): ...\n"))
//!     .review(ReviewSpec::new("reviewer", "APPROVED"))
//!     .check_run("tests", "success")
//!     .merged();
//! gh.issue("acme/hiring", 1).author("octocat").body("### GitHub username\n\noctocat");
//! gh.webhook_to(&folio_webhook_url);
//! gh.send_webhook(Event::IssueOpened { repo: "acme/hiring".into(), number: 1 }).await;
//! // ... then assert on gh.issue_comments("acme/hiring", 1), gh.issue_labels(..), gh.requests()
//! ```
//!
//! Each builder call changes the state at once. Authentication follows GitHub: App endpoints
//! want an RS256 JWT from the test key, everything else an installation token (minted through
//! `POST /app/installations/{id}/access_tokens` or `installation_token(id)`) or a personal
//! token (`add_personal_token`). The primary rate limit is one shared `core` bucket (and a
//! `search` bucket) spent by token requests; App JWT calls and `/rate_limit` are free.

mod builders;
mod json;
mod paging;
mod routes;
mod server;
mod state;
mod tarball;
mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use builders::unified_hunk;
pub use builders::{
    CommitSpec, DeliverySpec, InstallationBuilder, IssueBuilder, PullBuilder, ReleaseSpec,
    RepoBuilder, ReviewCommentSpec, ReviewSpec, UserBuilder,
};
pub use paging::{link_header, paginate};
use state::{App, World};
pub use webhooks::Event;

/// The test app's private key (PKCS#1, as GitHub hands them out). Test-only; see
/// `tests/fixtures/keys/README.md`.
const PRIVATE_KEY_PEM: &str = include_str!("../../../fixtures/keys/test-app.pem");
const PUBLIC_KEY_PEM: &str = include_str!("../../../fixtures/keys/test-app.pub.pem");

pub const APP_ID: u64 = 424_242;
pub const APP_SLUG: &str = "folio-test";

pub(crate) type Shared = Arc<Mutex<World>>;

pub(crate) fn lock(world: &Shared) -> MutexGuard<'_, World> {
    // A test that panicked while holding the lock must not hide later assertions behind a
    // poison error; the state itself is still consistent (every mutation is one step).
    world.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Repository permission levels, as `role_name` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Permission {
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

impl Permission {
    pub fn role_name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Triage => "triage",
            Self::Write => "write",
            Self::Maintain => "maintain",
            Self::Admin => "admin",
        }
    }

    /// The legacy `permission` field, which folds triage into read and maintain into write
    /// (GitHub's documented behaviour; `role_name` keeps the precise level).
    pub fn legacy(self) -> &'static str {
        match self {
            Self::Read | Self::Triage => "read",
            Self::Write | Self::Maintain => "write",
            Self::Admin => "admin",
        }
    }
}

/// Who a request authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A valid App JWT.
    App,
    /// A live installation token of this installation.
    Installation(u64),
    /// A personal token registered with `add_personal_token`, for this login.
    Personal(String),
    /// No credentials, or credentials that were rejected.
    None,
}

/// One request the fake received, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    /// As sent: path plus query string (`/repositories/1001/pulls/7/files?page=2`).
    pub path_and_query: String,
    pub status: u16,
    pub token_kind: TokenKind,
}

/// A failure injected in place of (or before) the real answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a GitHub-style error body (e.g. 502, 500, 503).
    Status(u16),
    /// Hold the request for the timeout hold (`set_timeout_hold`, 30 s by default), longer than
    /// a client's timeout, then answer normally if the client is still there.
    Timeout,
    /// 403 with `retry-after` and GitHub's secondary-rate-limit message.
    SecondaryRateLimit { retry_after_secs: u64 },
    /// 403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` this many seconds ahead.
    PrimaryRateLimit { reset_after_secs: u64 },
    /// 302 to this location, as GitHub answers for a tarball (or a hostile proxy might).
    Redirect(String),
    /// 200 with these bytes as a gzip archive: a hostile tarball on the codeload path.
    Archive(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathMatch {
    Any,
    Exact(String),
    Prefix(String),
}

/// Which requests a fault applies to: a path (exact, or prefix), optionally one method. The
/// path is compared without the query string, both as sent and in its `/repos/{owner}/{repo}`
/// form when the request used a `/repositories/{id}` path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    method: Option<String>,
    path: PathMatch,
    /// Text the decoded query string must contain (a search's `q`, for example).
    query: Option<String>,
}

impl Matcher {
    pub fn any() -> Self {
        Self {
            method: None,
            path: PathMatch::Any,
            query: None,
        }
    }

    pub fn exact(path: &str) -> Self {
        Self {
            method: None,
            path: PathMatch::Exact(path.to_string()),
            query: None,
        }
    }

    pub fn prefix(path: &str) -> Self {
        Self {
            method: None,
            path: PathMatch::Prefix(path.to_string()),
            query: None,
        }
    }

    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only requests whose decoded query string contains `text`: one search among several,
    /// e.g. `Matcher::prefix("/search/issues").query_contains("author:app/renovate")`.
    pub fn query_contains(mut self, text: &str) -> Self {
        self.query = Some(text.to_string());
        self
    }

    pub(crate) fn matches(&self, method: &str, paths: &[&str], query: &str) -> bool {
        if let Some(m) = &self.method
            && !m.eq_ignore_ascii_case(method)
        {
            return false;
        }
        if let Some(wanted) = &self.query {
            let decoded: String = url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&");
            if !decoded.contains(wanted.as_str()) {
                return false;
            }
        }
        paths.iter().any(|p| match &self.path {
            PathMatch::Any => true,
            PathMatch::Exact(e) => p == e,
            PathMatch::Prefix(pre) => p.starts_with(pre.as_str()),
        })
    }
}

/// A path given as a plain string is a prefix match.
impl From<&str> for Matcher {
    fn from(path: &str) -> Self {
        Self::prefix(path)
    }
}

/// An issue comment as stored, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentView {
    pub id: u64,
    pub user: String,
    pub body: String,
    /// Created through an installation token (`performed_via_github_app` is set).
    pub via_app: bool,
}

/// A reaction on an issue comment, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionView {
    pub user: String,
    /// GitHub's name for it: `eyes`, `+1`, ...
    pub content: String,
}

/// A delivery in the app's delivery log, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryView {
    pub id: u64,
    pub guid: String,
    pub event: String,
    pub action: Option<String>,
    /// The receiver's status; 0 when it did not answer.
    pub status_code: u16,
    pub status: String,
    pub redelivery: bool,
}

/// The running fake. Dropping it stops the server.
pub struct FakeGitHub {
    world: Shared,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl FakeGitHub {
    /// Binds 127.0.0.1 on a free port and serves until dropped.
    pub async fn start() -> FakeGitHub {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 for the fake GitHub");
        let addr = listener
            .local_addr()
            .expect("local address of the fake GitHub");
        let app = App {
            id: APP_ID,
            slug: APP_SLUG.to_string(),
            name: "Folio Test".to_string(),
            owner: "folio-dev".to_string(),
            client_id: "Iv1.8a61f9b3a7aba766".to_string(),
            webhook_secret: "fake-webhook-secret".to_string(),
        };
        let world: Shared = Arc::new(Mutex::new(World::new(format!("http://{addr}"), app)));
        let (tx, rx) = oneshot::channel();
        let router = server::router(world.clone());
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(err) = serve.await {
                eprintln!("fake GitHub stopped: {err}");
            }
        });
        FakeGitHub {
            world,
            addr,
            shutdown: Some(tx),
            task,
        }
    }

    /// `http://127.0.0.1:PORT`, the API base URL (`FOLIO_GITHUB_API_URL`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn app_id(&self) -> u64 {
        APP_ID
    }

    pub fn app_slug(&self) -> String {
        APP_SLUG.to_string()
    }

    /// `<slug>[bot]`, the login of comments the app writes.
    pub fn bot_login(&self) -> String {
        format!("{APP_SLUG}[bot]")
    }

    pub fn private_key_pem(&self) -> String {
        PRIVATE_KEY_PEM.to_string()
    }

    pub fn public_key_pem(&self) -> String {
        PUBLIC_KEY_PEM.to_string()
    }

    /// The webhook secret the manifest conversion hands out.
    pub fn webhook_secret(&self) -> String {
        lock(&self.world).app.webhook_secret.clone()
    }

    /// A valid App JWT (RS256, `iss` = app id, iat 60 s back, exp 9 min on, as octocrab makes).
    pub fn app_jwt(&self) -> String {
        let now = state::now_secs();
        mint_jwt(APP_ID, now - 60, now + 540)
    }

    /// Issues an installation token directly (no HTTP call), for tests that need one quickly.
    pub fn installation_token(&self, installation_id: u64) -> String {
        let mut world = lock(&self.world);
        server::issue_token(&mut world, installation_id, None)
    }

    /// Registers a personal access token acting as `login` (for `folio evaluate` tests).
    pub fn add_personal_token(&self, token: &str, login: &str) {
        let mut world = lock(&self.world);
        world.ensure_user(login);
        world
            .personal_tokens
            .insert(token.to_string(), login.to_string());
    }

    /// Makes every installation token issued so far expire now; later calls with them get 401.
    pub fn expire_tokens(&self) {
        let mut world = lock(&self.world);
        let past = state::now_secs() - 1;
        for token in world.tokens.values_mut() {
            token.expires_at = past;
        }
    }

    /// A one-time code for `POST /app-manifests/{code}/conversions`.
    pub fn manifest_code(&self) -> String {
        let mut world = lock(&self.world);
        let code = format!("fakecode{}", world.next_id());
        world.manifest_codes.push(code.clone());
        code
    }

    pub fn set_rate_limit_remaining(&self, remaining: u64) {
        let mut world = lock(&self.world);
        world.core.remaining = remaining.min(world.core.limit);
    }

    pub fn rate_limit_remaining(&self) -> u64 {
        lock(&self.world).core.remaining
    }

    /// Extra latency before every answer.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.world).latency = latency;
    }

    /// How long `Fault::Timeout` holds a request.
    pub fn set_timeout_hold(&self, hold: Duration) {
        lock(&self.world).timeout_hold = hold;
    }

    /// The next `times` requests that match get `fault`. Rules are tried in the order added.
    pub fn fail_next(&self, matcher: impl Into<Matcher>, fault: Fault, times: u32) {
        lock(&self.world).faults.push(state::FaultRule {
            matcher: matcher.into(),
            fault,
            remaining: times,
        });
    }

    /// The pull request (and its files, reviews, comments, commits) now answers 404.
    pub fn delete_pull(&self, repo: &str, number: u64) {
        let mut world = lock(&self.world);
        if let Some(pull) = world.repo_mut(repo).and_then(|r| r.pulls.get_mut(&number)) {
            pull.deleted = true;
        }
    }

    /// The issue now answers 404 (GitHub answers 410 Gone for deleted issues it still knows;
    /// 404 is what a token without the issue sees, and what Folio must handle anyway).
    pub fn delete_issue(&self, repo: &str, number: u64) {
        let mut world = lock(&self.world);
        if let Some(issue) = world.repo_mut(repo).and_then(|r| r.issues.get_mut(&number)) {
            issue.deleted = true;
        }
    }

    pub fn requests(&self) -> Vec<Logged> {
        lock(&self.world).log.clone()
    }

    pub fn request_count(&self) -> usize {
        lock(&self.world).log.len()
    }

    pub fn reset_log(&self) {
        lock(&self.world).log.clear();
    }

    /// The issue's comments, oldest first. Reading them marks what the App wrote there as
    /// read: a story that ends with a bot comment it never looked at fails (see `Drop`).
    pub fn issue_comments(&self, repo: &str, number: u64) -> Vec<CommentView> {
        let mut world = lock(&self.world);
        world
            .unread_bot_comments
            .remove(&(repo.to_string(), number));
        world
            .repo(repo)
            .map(|r| {
                r.issue_comments
                    .iter()
                    .filter(|c| c.issue_number == number)
                    .map(|c| CommentView {
                        id: c.id,
                        user: c.user.clone(),
                        body: c.body.clone(),
                        via_app: c.via_app,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The App's comments on the issue, oldest first (read, as `issue_comments` reads).
    pub fn bot_comments(&self, repo: &str, number: u64) -> Vec<CommentView> {
        let bot = self.bot_login();
        self.issue_comments(repo, number)
            .into_iter()
            .filter(|c| c.user == bot)
            .collect()
    }

    /// The one evidence comment the App keeps on the issue, after asserting there is exactly one.
    pub fn evidence_comment(&self, repo: &str, number: u64) -> String {
        let comments = self.bot_comments(repo, number);
        assert_eq!(
            comments.len(),
            1,
            "expected one Folio comment on {repo}#{number}: {comments:#?}"
        );
        assert!(
            comments[0].body.starts_with("<!-- folio:evidence v1 -->"),
            "{}",
            comments[0].body
        );
        comments[0].body.clone()
    }

    /// The repository's labels: name, colour and description, by name.
    pub fn repo_labels(&self, repo: &str) -> Vec<(String, String, Option<String>)> {
        let world = lock(&self.world);
        let mut labels: Vec<_> = world
            .repo(repo)
            .map(|r| {
                r.labels
                    .values()
                    .map(|l| (l.name.clone(), l.color.clone(), l.description.clone()))
                    .collect()
            })
            .unwrap_or_default();
        labels.sort();
        labels
    }

    /// The reactions on an issue comment, in the order they were given.
    pub fn comment_reactions(&self, repo: &str, comment_id: u64) -> Vec<ReactionView> {
        let world = lock(&self.world);
        world
            .repo(repo)
            .map(|r| {
                r.comment_reactions
                    .iter()
                    .filter(|x| x.comment_id == comment_id)
                    .map(|x| ReactionView {
                        user: x.user.clone(),
                        content: x.content.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Label names on an issue or pull request, in the order they were added.
    pub fn issue_labels(&self, repo: &str, number: u64) -> Vec<String> {
        let world = lock(&self.world);
        let Some(r) = world.repo(repo) else {
            return Vec::new();
        };
        if let Some(issue) = r.issues.get(&number) {
            return issue.labels.clone();
        }
        r.pulls
            .get(&number)
            .map(|p| p.labels.clone())
            .unwrap_or_default()
    }

    /// Adds a delivery to the app's delivery log; returns its id.
    pub fn push_delivery(&self, spec: DeliverySpec) -> u64 {
        let mut world = lock(&self.world);
        spec.apply(&mut world)
    }

    /// Delivery ids that `POST /app/hook/deliveries/{id}/attempts` was called for, in order.
    pub fn redelivery_requests(&self) -> Vec<u64> {
        lock(&self.world).redelivery_requests.clone()
    }

    /// Send webhook deliveries (`send_webhook`, redeliveries) to `url`, signed with
    /// `webhook_secret()` (change it with `set_webhook_secret`).
    pub fn webhook_to(&self, url: &str) {
        lock(&self.world).webhook_target = Some(url.to_string());
    }

    pub fn set_webhook_secret(&self, secret: &str) {
        lock(&self.world).app.webhook_secret = secret.to_string();
    }

    /// Delivers `event` to the webhook target (GitHub's headers, `X-Hub-Signature-256`, payload
    /// built from the current state) and records it in the delivery log. Returns the
    /// receiver's status (0: no answer within 10 s, or no target set).
    pub async fn send_webhook(&self, event: Event) -> u16 {
        let prepared = {
            let mut world = lock(&self.world);
            webhooks::prepare(&mut world, &event)
                .unwrap_or_else(|e| panic!("cannot build the {event:?} delivery: {e}"))
        };
        webhooks::send(&self.world, prepared, false).await
    }

    /// The payload the fake would send for `event`, without sending it.
    pub fn webhook_payload(&self, event: Event) -> (String, Vec<u8>) {
        let mut world = lock(&self.world);
        let prepared = webhooks::prepare(&mut world, &event)
            .unwrap_or_else(|e| panic!("cannot build the {event:?} delivery: {e}"));
        (prepared.event.to_string(), prepared.body)
    }

    /// The delivery log, oldest first.
    pub fn deliveries(&self) -> Vec<DeliveryView> {
        lock(&self.world)
            .deliveries
            .iter()
            .map(|d| DeliveryView {
                id: d.id,
                guid: d.guid.clone(),
                event: d.event.clone(),
                action: d.action.clone(),
                status_code: d.status_code,
                status: d.status.clone(),
                redelivery: d.redelivery,
            })
            .collect()
    }

    /// Waits until the delivery log holds at least `count` entries (redeliveries are sent in
    /// the background), or `timeout` passes; returns the log.
    pub async fn wait_for_deliveries(&self, count: usize, timeout: Duration) -> Vec<DeliveryView> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let log = self.deliveries();
            if log.len() >= count || tokio::time::Instant::now() >= deadline {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn user(&self, login: &str) -> UserBuilder {
        UserBuilder::new(self.world.clone(), login)
    }

    pub fn repo(&self, full_name: &str) -> RepoBuilder {
        RepoBuilder::new(self.world.clone(), full_name)
    }

    pub fn pull(&self, repo: &str, number: u64) -> PullBuilder {
        PullBuilder::new(self.world.clone(), repo, number)
    }

    pub fn issue(&self, repo: &str, number: u64) -> IssueBuilder {
        IssueBuilder::new(self.world.clone(), repo, number)
    }

    pub fn installation(&self, id: u64) -> InstallationBuilder {
        InstallationBuilder::new(self.world.clone(), id)
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Graceful shutdown would wait for held (`Fault::Timeout`) connections; tests must not.
        self.task.abort();
        // Everything the bot says is part of the story: a comment written or edited after the
        // story last read the issue is a behaviour nobody checked. A story already failing
        // keeps its own message.
        if std::thread::panicking() {
            return;
        }
        let unread = std::mem::take(&mut lock(&self.world).unread_bot_comments);
        if !unread.is_empty() {
            let list: Vec<String> = unread
                .iter()
                .flat_map(|((repo, issue), comments)| {
                    comments
                        .iter()
                        .map(move |(id, text)| format!("{repo}#{issue} comment {id}: {text:?}"))
                })
                .collect();
            panic!(
                "the story ended with bot comments it never read (call gh.issue_comments):\n{}",
                list.join("\n")
            );
        }
    }
}

/// Signs an App JWT with the test key. Tests of the fake use it to make bad tokens too.
pub fn mint_jwt(iss: u64, iat: i64, exp: i64) -> String {
    let claims = serde_json::json!({ "iat": iat, "exp": exp, "iss": iss });
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(PRIVATE_KEY_PEM.as_bytes())
        .expect("the committed test key parses");
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .expect("signing a JWT with the test key")
}
