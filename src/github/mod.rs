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
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use serde::Serialize;
use tokio::sync::{Mutex, Semaphore};
use tracing::{debug, warn};

use crate::clock::SharedClock;
use crate::config::{GithubSettings, Secret};
use crate::store::{CachedResponse, DynStore};

pub mod api;
pub(crate) mod client;
mod session;
mod transport;
pub mod types;
pub mod web;

pub(crate) use client::{app_client, client};
pub use session::{Download, Session};
use session::{next_link, unpack_cached};
use transport::{ExchangeError, Outgoing};

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
    /// A response body over `github.max_response_bytes`, refused before it was all read.
    #[error("GitHub's answer for {path} is larger than the limit of {limit} bytes")]
    TooLarge { path: String, limit: u64 },
    /// A redirect away from GitHub's hosts, which is not followed.
    #[error("GitHub redirected {path} to {location}, which is not followed")]
    Redirect { path: String, location: String },
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

/// What no request may take the rate limit below, and what an evaluation leaves at least.
pub(crate) const RATE_RESERVE: u64 = 5;

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

/// One identity's rate limit as GitHub last reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateView {
    pub(crate) remaining: u64,
    /// Seconds until the limit resets (0 or less: it has reset).
    pub(crate) reset_in_secs: i64,
}

impl RateView {
    /// How long to wait before `needed` requests fit, or `None` when they fit now (or the
    /// window has reset, so the count is stale).
    pub(crate) fn wait_for(self, needed: u64) -> Option<Duration> {
        (self.remaining < needed && self.reset_in_secs > 0)
            .then(|| Duration::from_secs(self.reset_in_secs as u64 + 1))
    }
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
    api_url: url::Url,
    api_path: String,
    credentials: Option<Credentials>,
    tokens: Mutex<HashMap<i64, CachedToken>>,
    rate: std::sync::Mutex<HashMap<String, RateState>>,
    permits: Arc<Semaphore>,
    cache: Option<DynStore>,
    settings: GithubSettings,
    pub(crate) app_slug: std::sync::Mutex<Option<String>>,
    /// Token expiry and rate-limit resets are compared with this clock.
    clock: SharedClock,
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
        // Every request carries an absolute URL; octocrab's base is only the origin, so that it
        // never prefixes the API's path to a redirect target outside it (a GHES `/_codeload`).
        let origin = api_url.origin().ascii_serialization();
        let octo = Octocrab::builder()
            .base_uri(origin.as_str())
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
            api_url: api_url.clone(),
            credentials,
            tokens: Mutex::new(HashMap::new()),
            rate: std::sync::Mutex::new(HashMap::new()),
            permits: Arc::new(Semaphore::new(settings.max_concurrent_requests.max(1))),
            cache,
            settings,
            app_slug: std::sync::Mutex::new(None),
            clock: crate::clock::system(),
        })
    }

    /// Replaces the wall clock (tests, and the service's one injected clock).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    fn unix_now(&self) -> i64 {
        self.clock.now().as_secs()
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
        let now = self.unix_now();
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
            cache_links: Arc::default(),
        }
    }

    async fn installation_token(&self, id: i64, counters: &Counters) -> Result<Secret, GhError> {
        // One lock for the map: concurrent workers wait for one mint instead of each minting.
        let mut tokens = self.tokens.lock().await;
        if let Some(t) = tokens.get(&id)
            && t.expires_at - self.unix_now() > 300
        {
            return Ok(t.token.clone());
        }
        let t = self.create_installation_token(id, counters).await?;
        let expires_at = t
            .expires_at
            .as_deref()
            .and_then(|s| humantime::parse_rfc3339_weak(s).ok())
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
            .unwrap_or_else(|| self.unix_now() + 3000);
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
        match Self::rate_view_of(state, self.unix_now()).and_then(|v| v.wait_for(reserve)) {
            Some(wait) => Err(GhError::RateLimited(wait)),
            None => Ok(()),
        }
    }

    fn rate_view_of(state: RateState, now: i64) -> Option<RateView> {
        match (state.remaining, state.reset_at) {
            (Some(remaining), Some(reset)) => Some(RateView {
                remaining,
                reset_in_secs: reset - now,
            }),
            _ => None,
        }
    }

    /// What `scope` has left of the limit `path` counts against, as GitHub last said.
    pub(crate) fn rate_view(&self, scope: &str, path: &str) -> Option<RateView> {
        let key = format!("{scope}|{}", Self::resource_of(path));
        let state = self.rate.lock().ok()?.get(&key).copied()?;
        Self::rate_view_of(state, self.unix_now())
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
    pub(crate) async fn send_with_retries(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        auth: Option<&str>,
        cached: Option<&CachedResponse>,
        counters: &Counters,
        scope: &str,
    ) -> Result<ApiResponse, GhError> {
        let retries = self.settings.max_retries;
        self.send(method, path, body, auth, cached, counters, scope, retries)
            .await
    }

    /// Sends one unauthenticated request, without retries.
    pub(crate) async fn send_once(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        counters: &Counters,
    ) -> Result<ApiResponse, GhError> {
        self.send(method, path, body, None, None, counters, "anonymous", 0)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        auth: Option<&str>,
        cached: Option<&CachedResponse>,
        counters: &Counters,
        scope: &str,
        max_retries: u32,
    ) -> Result<ApiResponse, GhError> {
        let url = self.url_for(path);
        let auth = auth.map(transport::authorization).transpose()?;
        let method = http::Method::from_bytes(method.as_bytes())
            .map_err(|e| GhError::Config(format!("bad method for {path}: {e}")))?;
        let limit = self.settings.max_response_bytes;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut headers = http::HeaderMap::new();
            headers.insert(
                http::header::ACCEPT,
                http::HeaderValue::from_static("application/vnd.github+json"),
            );
            headers.insert(
                "x-github-api-version",
                http::HeaderValue::from_static("2022-11-28"),
            );
            if let Some(c) = cached {
                let validator = match (&c.etag, &c.last_modified) {
                    (Some(etag), _) => Some((http::header::IF_NONE_MATCH, etag)),
                    (None, Some(lm)) => Some((http::header::IF_MODIFIED_SINCE, lm)),
                    (None, None) => None,
                };
                if let Some((name, value)) = validator
                    && let Ok(value) = http::HeaderValue::from_str(value)
                {
                    headers.insert(name, value);
                }
            }
            let outgoing = Outgoing {
                method: method.clone(),
                url: &url,
                headers,
                auth: auth.as_ref(),
                body: body.clone(),
            };

            let permit = self.permits.acquire().await;
            counters.requests.fetch_add(1, Ordering::Relaxed);
            let sent = tokio::time::timeout(self.settings.request_timeout, async {
                let resp = self.exchange(outgoing).await?;
                let (parts, body) = resp.into_parts();
                let bytes = transport::read_capped(body, limit)
                    .await
                    .map_err(|e| ExchangeError::Transport(e.to_string()))?;
                Ok::<_, ExchangeError>((parts, bytes))
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
                Ok(Ok((parts, Some(bytes)))) => (parts, bytes),
                Ok(Ok((_, None))) => {
                    return Err(GhError::TooLarge {
                        path: path.to_string(),
                        limit: limit as u64,
                    });
                }
                Ok(Err(ExchangeError::Redirect(location))) => {
                    return Err(GhError::Redirect {
                        path: path.to_string(),
                        location,
                    });
                }
                Ok(Err(ExchangeError::Transport(e))) => {
                    metrics::counter!("folio_github_requests_total", "status" => "error")
                        .increment(1);
                    if attempt > max_retries {
                        return Err(GhError::Transport {
                            path: path.to_string(),
                            message: e,
                        });
                    }
                    debug!(%path, error = %e, "transport error; retrying");
                    tokio::time::sleep(retry_delay(attempt)).await;
                    continue;
                }
                Err(_) => {
                    metrics::counter!("folio_github_requests_total", "status" => "timeout")
                        .increment(1);
                    if attempt > max_retries {
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
                    (None, Some(0), Some(r)) => {
                        Duration::from_secs((r - self.unix_now()).max(1) as u64)
                    }
                    // A secondary limit without a hint: GitHub asks for at least a minute.
                    _ => Duration::from_secs(60),
                };
                warn!(%path, ?wait, "GitHub rate limit");
                // Short waits are absorbed here; long ones defer the whole job.
                if wait <= Duration::from_secs(10) && attempt <= max_retries {
                    tokio::time::sleep(wait + Duration::from_millis(fastrand::u64(0..250))).await;
                    continue;
                }
                return Err(GhError::RateLimited(wait));
            }
            if status >= 500 {
                if attempt > max_retries {
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

#[cfg(test)]
mod tests {
    use super::session::{next_link, pack_cached, unpack_cached};
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
