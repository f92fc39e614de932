//! The GitHub REST client: App authentication, installation tokens, retries with backoff,
//! pagination, conditional requests and request counting. Every byte Folio reads from GitHub
//! goes through [`Session`].
//!
//! octocrab is the transport (its base URL works for GitHub Enterprise Server and the test
//! fake), but its own auth, retries and pagination are not used: its retries fire at once, it
//! drops the auth header on absolute pagination links when the base URL is custom, and its cache
//! is keyed by URL alone (`../shared/DEPENDENCIES.md`). Those three live here instead.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::BodyExt;
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Digest;
use tokio::sync::{Mutex, Semaphore};
use tracing::{debug, warn};

use crate::config::{GithubSettings, Secret};
use crate::store::{CachedResponse, DynStore, now_ms};

#[derive(Debug, thiserror::Error)]
pub enum GhError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("GitHub refused access to {path}: {message}")]
    Forbidden { path: String, message: String },
    #[error("GitHub rejected the credentials for {0}")]
    Unauthorized(String),
    /// Out of rate limit; try again after the given time.
    #[error("rate limited for {0:?}")]
    RateLimited(Duration),
    #[error("GitHub answered {status} for {path} after retries")]
    Server { status: u16, path: String },
    #[error("network error for {path}: {message}")]
    Transport { path: String, message: String },
    #[error("{path} is larger than the limit of {limit} bytes")]
    TooLarge { path: String, limit: u64 },
    #[error("GitHub answered {status} for {path}: {message}")]
    Other {
        status: u16,
        path: String,
        message: String,
    },
    #[error("unexpected response from {path}: {message}")]
    Decode { path: String, message: String },
    #[error("{0}")]
    Config(String),
}

impl GhError {
    /// Worth retrying the whole job later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Server { .. } | Self::Transport { .. } | Self::RateLimited(_)
        )
    }
}

/// How Folio authenticates.
pub enum Credentials {
    App {
        app_id: u64,
        key: Box<jsonwebtoken::EncodingKey>,
    },
    Token(Secret),
}

struct CachedToken {
    token: Secret,
    expires_at: i64,
}

#[derive(Debug, Clone, Copy, Default)]
struct RateState {
    remaining: Option<u64>,
    reset_at: Option<i64>,
}

/// Per-request tallies of one evaluation.
#[derive(Debug, Default)]
pub struct Counters {
    /// Every HTTP request sent to GitHub, including retries.
    pub requests: AtomicU64,
    /// Requests answered 304 from the cache; GitHub does not count these against the limit.
    pub not_modified: AtomicU64,
    /// Requests that cost rate limit.
    pub billed: AtomicU64,
}

impl Counters {
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    pub fn billed(&self) -> u64 {
        self.billed.load(Ordering::Relaxed)
    }
    pub fn not_modified(&self) -> u64 {
        self.not_modified.load(Ordering::Relaxed)
    }
}

pub struct GitHub {
    octo: Octocrab,
    api: String,
    api_path: String,
    credentials: Option<Credentials>,
    tokens: Mutex<HashMap<i64, CachedToken>>,
    rate: std::sync::Mutex<HashMap<String, RateState>>,
    permits: Semaphore,
    cache: Option<DynStore>,
    settings: GithubSettings,
    pub app_slug: std::sync::Mutex<Option<String>>,
}

/// A response as Folio uses it.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub link_next: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body: Bytes,
    pub from_cache: bool,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[derive(Serialize)]
struct Claims {
    iat: i64,
    exp: i64,
    iss: String,
}

impl GitHub {
    pub fn new(
        api_url: &url::Url,
        credentials: Option<Credentials>,
        cache: Option<DynStore>,
        settings: GithubSettings,
    ) -> Result<Self, GhError> {
        let api = api_url.as_str().trim_end_matches('/').to_string();
        let octo = Octocrab::builder()
            .base_uri(api.as_str())
            .map_err(|e| GhError::Config(format!("FOLIO_GITHUB_API_URL: {e}")))?
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(settings.request_timeout))
            .build()
            .map_err(|e| GhError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            octo,
            api_path: api_url.path().trim_end_matches('/').to_string(),
            api,
            credentials,
            tokens: Mutex::new(HashMap::new()),
            rate: std::sync::Mutex::new(HashMap::new()),
            permits: Semaphore::new(settings.max_concurrent_requests.max(1)),
            cache,
            settings,
            app_slug: std::sync::Mutex::new(None),
        })
    }

    pub fn app(app_id: u64, pem: &Secret) -> Result<Credentials, GhError> {
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.expose().as_bytes())
            .map_err(|_| GhError::Config("the app private key is not an RSA PEM key".into()))?;
        Ok(Credentials::App {
            app_id,
            key: Box::new(key),
        })
    }

    /// An RS256 JWT for app-level calls: issued 60 s in the past to absorb clock drift, valid
    /// for 9 minutes (GitHub allows at most 10).
    pub fn app_jwt(&self) -> Result<String, GhError> {
        let Some(Credentials::App { app_id, key }) = &self.credentials else {
            return Err(GhError::Config("no GitHub App credentials".into()));
        };
        let now = unix_now();
        let claims = Claims {
            iat: now - 60,
            exp: now + 540,
            iss: app_id.to_string(),
        };
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            key,
        )
        .map_err(|e| GhError::Config(format!("cannot sign the app JWT: {e}")))
    }

    /// A session for one evaluation, authenticated as an installation or with the token.
    pub fn session(self: &Arc<Self>, installation: Option<i64>) -> Session {
        Session {
            gh: self.clone(),
            installation,
            counters: Arc::new(Counters::default()),
        }
    }

    async fn installation_token(&self, id: i64, counters: &Counters) -> Result<Secret, GhError> {
        // One lock for the map: concurrent workers wait for one mint instead of each minting.
        let mut tokens = self.tokens.lock().await;
        if let Some(t) = tokens.get(&id)
            && t.expires_at - unix_now() > 300
        {
            return Ok(t.token.clone());
        }
        let jwt = self.app_jwt()?;
        let path = format!("/app/installations/{id}/access_tokens");
        let resp = self
            .send_with_retries(
                "POST",
                &path,
                Some(b"{}".to_vec()),
                &format!("Bearer {jwt}"),
                None,
                counters,
                "app",
            )
            .await?;
        #[derive(serde::Deserialize)]
        struct Token {
            token: String,
            expires_at: Option<String>,
        }
        let t: Token = decode(&path, &resp.body)?;
        let expires_at = t
            .expires_at
            .as_deref()
            .and_then(|s| humantime::parse_rfc3339_weak(s).ok())
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
            .unwrap_or_else(|| unix_now() + 3000);
        let token = Secret::new(t.token);
        tokens.insert(
            id,
            CachedToken {
                token: token.clone(),
                expires_at,
            },
        );
        Ok(token)
    }

    async fn forget_token(&self, id: i64) {
        self.tokens.lock().await.remove(&id);
    }

    fn url_for(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_string()
        } else {
            format!("{}{}", self.api, path_or_url)
        }
    }

    /// Turns a `Link` URL into a path and query under the API base, so the request carries
    /// our credentials (and never goes to another host).
    pub fn relative_link(&self, link: &str) -> Option<String> {
        let u = url::Url::parse(link).ok()?;
        let mut path = u.path().to_string();
        if !self.api_path.is_empty()
            && let Some(rest) = path.strip_prefix(&self.api_path)
        {
            path = rest.to_string();
        }
        Some(match u.query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        })
    }

    /// GitHub keeps separate budgets per resource (`core`, `search`, …) for one identity, and
    /// says which one an answer spent in `x-ratelimit-resource`. Mixing them would let the
    /// small search budget (30 a minute) hold back every evaluation for an hour.
    fn resource_of(path: &str) -> &'static str {
        if path.starts_with("/search/") {
            "search"
        } else {
            "core"
        }
    }

    fn rate_check(&self, scope: &str, path: &str, reserve: u64) -> Result<(), GhError> {
        let key = format!("{scope}|{}", Self::resource_of(path));
        let state = self
            .rate
            .lock()
            .map(|m| m.get(&key).copied().unwrap_or_default())
            .unwrap_or_default();
        if let (Some(remaining), Some(reset)) = (state.remaining, state.reset_at) {
            let wait = reset - unix_now();
            if remaining < reserve && wait > 0 {
                return Err(GhError::RateLimited(Duration::from_secs(wait as u64 + 1)));
            }
        }
        Ok(())
    }

    fn rate_update(&self, scope: &str, headers: &http::HeaderMap) {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i64>().ok())
        };
        if let Some(remaining) = num("x-ratelimit-remaining") {
            let resource = headers
                .get("x-ratelimit-resource")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("core")
                .to_string();
            if resource == "core" {
                metrics::gauge!("folio_github_rate_limit_remaining").set(remaining as f64);
            }
            if let Ok(mut m) = self.rate.lock() {
                m.insert(
                    format!("{scope}|{resource}"),
                    RateState {
                        remaining: Some(remaining.max(0) as u64),
                        reset_at: num("x-ratelimit-reset"),
                    },
                );
            }
        }
    }

    /// Sends one logical request, retrying 5xx, timeouts and rate limits with backoff and
    /// jitter. `scope` keys the rate-limit state (one budget per installation).
    #[allow(clippy::too_many_arguments)]
    async fn send_with_retries(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        auth: &str,
        cached: Option<&CachedResponse>,
        counters: &Counters,
        scope: &str,
    ) -> Result<ApiResponse, GhError> {
        let url = self.url_for(path);
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut builder = http::Request::builder()
                .method(method)
                .uri(&url)
                .header(http::header::AUTHORIZATION, auth)
                .header(http::header::ACCEPT, "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28");
            if let Some(c) = cached {
                if let Some(etag) = &c.etag {
                    builder = builder.header(http::header::IF_NONE_MATCH, etag);
                } else if let Some(lm) = &c.last_modified {
                    builder = builder.header(http::header::IF_MODIFIED_SINCE, lm);
                }
            }
            let request = match &body {
                Some(b) => builder
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(octocrab::OctoBody::from(b.clone())),
                None => builder.body(octocrab::OctoBody::empty()),
            }
            .map_err(|e| GhError::Config(format!("bad request for {path}: {e}")))?;

            let permit = self.permits.acquire().await;
            counters.requests.fetch_add(1, Ordering::Relaxed);
            let sent = tokio::time::timeout(self.settings.request_timeout, async {
                let resp = self.octo.execute(request).await?;
                let (parts, body) = resp.into_parts();
                let bytes = body.collect().await?.to_bytes();
                Ok::<_, octocrab::Error>((parts, bytes))
            })
            .await;
            drop(permit);

            let retry_delay = |attempt: u32| {
                crate::worker::backoff(
                    attempt,
                    self.settings.retry_base,
                    self.settings.retry_base * 16,
                    fastrand::f64(),
                )
            };
            let (parts, bytes) = match sent {
                Ok(Ok(x)) => x,
                Ok(Err(e)) => {
                    metrics::counter!("folio_github_requests_total", "status" => "error")
                        .increment(1);
                    if attempt > self.settings.max_retries {
                        return Err(GhError::Transport {
                            path: path.to_string(),
                            message: e.to_string(),
                        });
                    }
                    debug!(%path, error = %e, "transport error; retrying");
                    tokio::time::sleep(retry_delay(attempt)).await;
                    continue;
                }
                Err(_) => {
                    metrics::counter!("folio_github_requests_total", "status" => "timeout")
                        .increment(1);
                    if attempt > self.settings.max_retries {
                        return Err(GhError::Transport {
                            path: path.to_string(),
                            message: "timed out".into(),
                        });
                    }
                    debug!(%path, "timeout; retrying");
                    tokio::time::sleep(retry_delay(attempt)).await;
                    continue;
                }
            };
            let status = parts.status.as_u16();
            metrics::counter!("folio_github_requests_total", "status" => status.to_string())
                .increment(1);
            self.rate_update(scope, &parts.headers);
            // A 304 costs no rate limit, and neither do App-JWT calls (minting a token,
            // `/app`): GitHub bills the installation's budget only.
            if status != 304 && scope != "app" {
                counters.billed.fetch_add(1, Ordering::Relaxed);
            }
            let header = |name: &str| {
                parts
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            if status == 304 {
                counters.not_modified.fetch_add(1, Ordering::Relaxed);
                let Some(c) = cached else {
                    return Err(GhError::Decode {
                        path: path.to_string(),
                        message: "304 without a cached copy".into(),
                    });
                };
                let (link_next, body) = unpack_cached(&c.body);
                return Ok(ApiResponse {
                    status: 200,
                    link_next,
                    etag: c.etag.clone(),
                    last_modified: c.last_modified.clone(),
                    body,
                    from_cache: true,
                });
            }
            if (200..300).contains(&status) {
                return Ok(ApiResponse {
                    status,
                    link_next: header("link").and_then(|l| next_link(&l)),
                    etag: header("etag"),
                    last_modified: header("last-modified"),
                    body: bytes,
                    from_cache: false,
                });
            }
            let message = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| {
                    v.get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_default();
            let retry_after = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
            let remaining = header("x-ratelimit-remaining").and_then(|v| v.parse::<u64>().ok());
            let reset = header("x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok());
            let rate_limited = status == 429
                || (status == 403
                    && (retry_after.is_some()
                        || remaining == Some(0)
                        || message.to_ascii_lowercase().contains("rate limit")));
            if rate_limited {
                let wait = match (retry_after, remaining, reset) {
                    (Some(s), _, _) => Duration::from_secs(s),
                    (None, Some(0), Some(r)) => Duration::from_secs((r - unix_now()).max(1) as u64),
                    // A secondary limit without a hint: GitHub asks for at least a minute.
                    _ => Duration::from_secs(60),
                };
                warn!(%path, ?wait, "GitHub rate limit");
                // Short waits are absorbed here; long ones defer the whole job.
                if wait <= Duration::from_secs(10) && attempt <= self.settings.max_retries {
                    tokio::time::sleep(wait + Duration::from_millis(fastrand::u64(0..250))).await;
                    continue;
                }
                return Err(GhError::RateLimited(wait));
            }
            if status >= 500 {
                if attempt > self.settings.max_retries {
                    return Err(GhError::Server {
                        status,
                        path: path.to_string(),
                    });
                }
                debug!(%path, status, "server error; retrying");
                tokio::time::sleep(retry_delay(attempt)).await;
                continue;
            }
            return Err(match status {
                401 => GhError::Unauthorized(path.to_string()),
                404 | 410 => GhError::NotFound(path.to_string()),
                403 => GhError::Forbidden {
                    path: path.to_string(),
                    message,
                },
                _ => GhError::Other {
                    status,
                    path: path.to_string(),
                    message,
                },
            });
        }
    }
}

/// The cached body keeps the `Link` header on its first line: a 304 has no body, and pages
/// must still chain.
fn pack_cached(link_next: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 64);
    out.extend_from_slice(link_next.unwrap_or("").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

fn unpack_cached(stored: &[u8]) -> (Option<String>, Bytes) {
    match stored.iter().position(|b| *b == b'\n') {
        Some(i) => {
            let link = String::from_utf8_lossy(&stored[..i]).to_string();
            (
                (!link.is_empty()).then_some(link),
                Bytes::copy_from_slice(&stored[i + 1..]),
            )
        }
        None => (None, Bytes::copy_from_slice(stored)),
    }
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let mut pieces = part.split(';');
        let target = pieces.next()?.trim();
        let is_next = pieces.any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        (is_next && target.starts_with('<') && target.ends_with('>'))
            .then(|| target[1..target.len() - 1].to_string())
    })
}

fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, GhError> {
    serde_json::from_slice(body).map_err(|e| GhError::Decode {
        path: path.to_string(),
        message: e.to_string(),
    })
}

/// One evaluation's view of GitHub: one identity, one set of counters.
#[derive(Clone)]
pub struct Session {
    gh: Arc<GitHub>,
    installation: Option<i64>,
    pub counters: Arc<Counters>,
}

impl Session {
    pub fn client(&self) -> &Arc<GitHub> {
        &self.gh
    }

    fn scope(&self) -> String {
        match (self.installation, &self.gh.credentials) {
            (Some(id), _) => format!("installation:{id}"),
            (None, Some(Credentials::Token(t))) => {
                let digest = sha2::Sha256::digest(t.expose().as_bytes());
                format!("token:{}", &hex::encode(digest)[..16])
            }
            _ => "anonymous".to_string(),
        }
    }

    async fn auth(&self) -> Result<String, GhError> {
        match (self.installation, &self.gh.credentials) {
            (Some(id), Some(Credentials::App { .. })) => {
                let token = self.gh.installation_token(id, &self.counters).await?;
                Ok(format!("token {}", token.expose()))
            }
            (None, Some(Credentials::Token(t))) => Ok(format!("Bearer {}", t.expose())),
            (None, Some(Credentials::App { .. })) => Ok(format!("Bearer {}", self.gh.app_jwt()?)),
            _ => Err(GhError::Config(
                "no credentials: set GITHUB_TOKEN, or configure the GitHub App".into(),
            )),
        }
    }

    /// Fails fast (as a deferral) when this identity's remaining rate limit is below `needed`.
    pub fn ensure_budget(&self, needed: u64) -> Result<(), GhError> {
        self.gh.rate_check(&self.scope(), "/", needed)
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        conditional: bool,
    ) -> Result<ApiResponse, GhError> {
        self.gh.rate_check(&self.scope(), path, 5)?;
        let scope = self.scope();
        let cache = if conditional {
            self.gh.cache.as_ref()
        } else {
            None
        };
        let cached = match cache {
            Some(store) => store.cache_get(&scope, path).await.ok().flatten(),
            None => None,
        };
        let mut auth = self.auth().await?;
        let mut retried_auth = false;
        loop {
            let result = self
                .gh
                .send_with_retries(
                    method,
                    path,
                    body.clone(),
                    &auth,
                    cached.as_ref(),
                    &self.counters,
                    &scope,
                )
                .await;
            match result {
                // A revoked or expired installation token: mint a new one, once.
                Err(GhError::Unauthorized(_)) if !retried_auth && self.installation.is_some() => {
                    if let Some(id) = self.installation {
                        self.gh.forget_token(id).await;
                    }
                    auth = self.auth().await?;
                    retried_auth = true;
                }
                Ok(resp) => {
                    if cache.is_some() {
                        // A 304 answered from our copy is a hit; anything fetched in full is
                        // a miss, whether we had no copy or a stale one.
                        let result = if resp.from_cache { "hit" } else { "miss" };
                        metrics::counter!("folio_github_cache_total", "result" => result)
                            .increment(1);
                    }
                    // Only responses GitHub can validate later are worth keeping.
                    if let (Some(store), false, true) = (
                        cache,
                        resp.from_cache,
                        resp.etag.is_some() || resp.last_modified.is_some(),
                    ) {
                        store
                            .cache_put(
                                &scope,
                                path,
                                &CachedResponse {
                                    etag: resp.etag.clone(),
                                    last_modified: resp.last_modified.clone(),
                                    body: pack_cached(resp.link_next.as_deref(), &resp.body),
                                    stored_at: now_ms(),
                                },
                            )
                            .await
                            .ok();
                    }
                    return Ok(resp);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// GET a JSON document, conditionally (a 304 costs no rate limit).
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, GhError> {
        let resp = self.request("GET", path, None, true).await?;
        decode(path, &resp.body)
    }

    /// GET, with 404 as `None`.
    pub async fn get_optional<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, GhError> {
        match self.get_json(path).await {
            Ok(v) => Ok(Some(v)),
            Err(GhError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// GET every page of a list, following `Link: rel="next"` by path and query, up to
    /// `max_items`.
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
        max_items: usize,
    ) -> Result<Vec<T>, GhError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut next = Some(format!("{path}{sep}per_page=100"));
        let mut out = Vec::new();
        while let Some(p) = next.take() {
            let resp = self.request("GET", &p, None, true).await?;
            let items: Vec<T> = decode(&p, &resp.body)?;
            out.extend(items);
            if out.len() >= max_items {
                out.truncate(max_items);
                break;
            }
            next = resp
                .link_next
                .as_deref()
                .and_then(|l| self.gh.relative_link(l));
        }
        Ok(out)
    }

    /// One page of a list, always fetched in full (never answered from the cache), with the
    /// `Link: rel="next"` target as a path under the API base.
    pub async fn get_page<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<(Vec<T>, Option<String>), GhError> {
        let resp = self.request("GET", path, None, false).await?;
        let items = decode(path, &resp.body)?;
        let next = resp
            .link_next
            .as_deref()
            .and_then(|l| self.gh.relative_link(l));
        Ok((items, next))
    }

    /// POST without a body, for actions GitHub answers with an empty `202 Accepted`.
    pub async fn post_empty(&self, path: &str) -> Result<(), GhError> {
        self.request("POST", path, None, false).await.map(|_| ())
    }

    /// GET a search's `items` (one page of up to 100: enough to tell whether a bot's pull
    /// requests were merged).
    pub async fn search_issues(&self, query: &str) -> Result<Vec<serde_json::Value>, GhError> {
        let q: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
        let path = format!("/search/issues?q={q}&per_page=100");
        #[derive(serde::Deserialize)]
        struct Results {
            #[serde(default)]
            items: Vec<serde_json::Value>,
        }
        let r: Results = self.get_json(&path).await?;
        Ok(r.items)
    }

    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, GhError> {
        let bytes = serde_json::to_vec(body).map_err(|e| GhError::Config(e.to_string()))?;
        let resp = self.request("POST", path, Some(bytes), false).await?;
        decode(path, &resp.body)
    }

    pub async fn patch_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, GhError> {
        let bytes = serde_json::to_vec(body).map_err(|e| GhError::Config(e.to_string()))?;
        let resp = self.request("PATCH", path, Some(bytes), false).await?;
        decode(path, &resp.body)
    }

    pub async fn delete(&self, path: &str) -> Result<(), GhError> {
        self.request("DELETE", path, None, false).await.map(|_| ())
    }

    /// Downloads a body of at most `limit` bytes (a tarball behind GitHub's redirect), reading
    /// it as a stream so that an oversized archive is cut off early.
    pub async fn download(&self, path: &str, limit: u64) -> Result<Vec<u8>, GhError> {
        self.gh.rate_check(&self.scope(), path, 5)?;
        let auth = self.auth().await?;
        let url = self.gh.url_for(path);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let request = http::Request::builder()
                .method("GET")
                .uri(&url)
                .header(http::header::AUTHORIZATION, &auth)
                .body(octocrab::OctoBody::empty())
                .map_err(|e| GhError::Config(e.to_string()))?;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            self.counters.billed.fetch_add(1, Ordering::Relaxed);
            let permit = self.gh.permits.acquire().await;
            let result = tokio::time::timeout(self.gh.settings.request_timeout * 4, async {
                let resp = self
                    .gh
                    .octo
                    .execute(request)
                    .await
                    .map_err(|e| e.to_string())?;
                let status = resp.status().as_u16();
                if !(200..300).contains(&status) {
                    return Ok(Err(status));
                }
                let mut body = resp.into_body();
                let mut out = Vec::new();
                while let Some(frame) = body.frame().await {
                    let frame = frame.map_err(|e| e.to_string())?;
                    if let Some(data) = frame.data_ref() {
                        out.extend_from_slice(data);
                        if out.len() as u64 > limit {
                            return Ok(Ok(None));
                        }
                    }
                }
                Ok::<_, String>(Ok(Some(out)))
            })
            .await;
            drop(permit);
            match result {
                Ok(Ok(Ok(Some(bytes)))) => return Ok(bytes),
                Ok(Ok(Ok(None))) => {
                    return Err(GhError::TooLarge {
                        path: path.to_string(),
                        limit,
                    });
                }
                Ok(Ok(Err(404))) => return Err(GhError::NotFound(path.to_string())),
                Ok(Ok(Err(status))) if status < 500 => {
                    return Err(GhError::Other {
                        status,
                        path: path.to_string(),
                        message: "download refused".into(),
                    });
                }
                other => {
                    if attempt > self.gh.settings.max_retries {
                        return Err(GhError::Transport {
                            path: path.to_string(),
                            message: format!("{other:?}"),
                        });
                    }
                    tokio::time::sleep(crate::worker::backoff(
                        attempt,
                        self.gh.settings.retry_base,
                        self.gh.settings.retry_base * 16,
                        fastrand::f64(),
                    ))
                    .await;
                }
            }
        }
    }

    /// The app's slug (its bot user is `<slug>[bot]`), fetched once with the app JWT.
    pub async fn app_slug(&self) -> Result<String, GhError> {
        if let Some(s) = self.gh.app_slug.lock().ok().and_then(|s| s.clone()) {
            return Ok(s);
        }
        let jwt = self.gh.app_jwt()?;
        let resp = self
            .gh
            .send_with_retries(
                "GET",
                "/app",
                None,
                &format!("Bearer {jwt}"),
                None,
                &self.counters,
                "app",
            )
            .await?;
        #[derive(serde::Deserialize)]
        struct App {
            slug: String,
        }
        let app: App = decode("/app", &resp.body)?;
        if let Ok(mut s) = self.gh.app_slug.lock() {
            *s = Some(app.slug.clone());
        }
        Ok(app.slug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_in_githubs_format() {
        let h = "<https://api.github.com/repositories/1300192/issues?page=2>; rel=\"next\", <https://api.github.com/repositories/1300192/issues?page=7>; rel=\"last\"";
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://api.github.com/repositories/1300192/issues?page=2")
        );
        assert_eq!(next_link("<https://x/y?page=1>; rel=\"prev\""), None);
    }

    #[test]
    fn cache_envelope_round_trips() {
        let packed = pack_cached(Some("https://x/?page=2"), b"[1,2]\n");
        let (link, body) = unpack_cached(&packed);
        assert_eq!(link.as_deref(), Some("https://x/?page=2"));
        assert_eq!(&body[..], b"[1,2]\n");
        let (link, _) = unpack_cached(&pack_cached(None, b"{}"));
        assert_eq!(link, None);
    }

    #[tokio::test]
    async fn links_become_relative_to_the_api_base() {
        let settings =
            crate::config::Settings::load_from(None, &Default::default()).map(|s| s.github);
        let settings = settings.unwrap_or_else(|_| unreachable!());
        let gh = GitHub::new(
            &url::Url::parse("https://ghe.example/api/v3").unwrap(),
            None,
            None,
            settings,
        )
        .unwrap();
        assert_eq!(
            gh.relative_link("https://ghe.example/api/v3/repositories/5/pulls?page=3")
                .as_deref(),
            Some("/repositories/5/pulls?page=3")
        );
    }
}
