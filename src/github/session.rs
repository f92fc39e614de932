//! One evaluation's view of GitHub ([`Session`]): one identity, one set of counters, the
//! database cache for conditional requests, and the verbs (`GET` a document, every page of a
//! list, `POST`, `PATCH`, `DELETE`, a bounded download) that [`super::api`] builds on.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures::Stream;
use http_body_util::BodyExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Digest;

use super::transport::{self, ExchangeError, Outgoing};
use super::{ApiResponse, Counters, Credentials, GhError, GitHub};
use crate::store::{CacheLink, CachedResponse};

/// The cached body keeps the `Link` header on its first line: a 304 has no body, and pages
/// must still chain.
pub(super) fn pack_cached(link_next: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 64);
    out.extend_from_slice(link_next.unwrap_or("").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

pub(super) fn unpack_cached(stored: &[u8]) -> (Option<String>, Bytes) {
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
pub(super) fn next_link(header: &str) -> Option<String> {
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

pub(super) fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, GhError> {
    serde_json::from_slice(body).map_err(|e| GhError::Decode {
        path: path.to_string(),
        message: e.to_string(),
    })
}

/// One evaluation's view of GitHub: one identity, one set of counters.
#[derive(Clone)]
pub struct Session {
    pub(super) gh: Arc<GitHub>,
    pub(super) installation: Option<i64>,
    pub counters: Arc<Counters>,
    /// The cache entries this session read or wrote (responses, repository snapshots), so
    /// that the evaluation can link them to its submission and erasure can find them.
    pub(super) cache_links: Arc<std::sync::Mutex<std::collections::BTreeSet<CacheLink>>>,
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

    /// The cache entries this session used, as erasure links.
    pub fn cache_links(&self) -> Vec<CacheLink> {
        self.cache_links
            .lock()
            .map(|links| links.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Notes a cache entry used on this session's behalf outside the HTTP cache (a repository
    /// snapshot).
    pub fn note_cache_link(&self, link: CacheLink) {
        if let Ok(mut links) = self.cache_links.lock() {
            links.insert(link);
        }
    }

    /// This identity's core rate limit as GitHub last reported it (`None` before any answer).
    pub(crate) fn rate_view(&self) -> Option<super::RateView> {
        self.gh.rate_view(&self.scope(), "/")
    }

    /// Fails fast (as a deferral) unless this identity's remaining rate limit covers `needed`
    /// and still leaves [`super::RATE_RESERVE`].
    pub fn ensure_budget(&self, needed: u64) -> Result<(), GhError> {
        self.gh
            .rate_check(&self.scope(), "/", needed + super::RATE_RESERVE)
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        conditional: bool,
    ) -> Result<ApiResponse, GhError> {
        self.gh
            .rate_check(&self.scope(), path, super::RATE_RESERVE)?;
        let scope = self.scope();
        let cache = if conditional {
            self.gh.cache.as_ref()
        } else {
            None
        };
        let cached = match cache {
            Some(store) => {
                self.note_cache_link(CacheLink::Http {
                    scope: scope.clone(),
                    url: path.to_string(),
                });
                store.cache_get(&scope, path).await.ok().flatten()
            }
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
                    Some(&auth),
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
                                    stored_at: self.gh.clock.now().as_millis(),
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
        self.get_all_map(path, max_items, |item| item).await
    }

    /// [`Self::get_all`], turning each item into what is kept as its page arrives, so that
    /// no more than one page of GitHub's answer is held at a time.
    pub async fn get_all_map<T: DeserializeOwned, U>(
        &self,
        path: &str,
        max_items: usize,
        mut keep: impl FnMut(T) -> U,
    ) -> Result<Vec<U>, GhError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut next = Some(format!("{path}{sep}per_page=100"));
        let mut out = Vec::new();
        while let Some(p) = next.take() {
            let resp = self.request("GET", &p, None, true).await?;
            let items: Vec<T> = decode(&p, &resp.body)?;
            let room = max_items.saturating_sub(out.len());
            out.extend(items.into_iter().take(room).map(&mut keep));
            if out.len() >= max_items {
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

    /// Starts downloading `path` (a tarball, behind GitHub's redirect): the answer's body is
    /// returned unread, for the caller to read as it arrives. Failures before the body (5xx,
    /// timeouts) are retried here; a failure part-way is the caller's to retry.
    pub async fn download(&self, path: &str) -> Result<Download, GhError> {
        self.gh
            .rate_check(&self.scope(), path, super::RATE_RESERVE)?;
        let auth = transport::authorization(&self.auth().await?)?;
        let url = self.gh.url_for(path);
        let settings = &self.gh.settings;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            self.counters.billed.fetch_add(1, Ordering::Relaxed);
            let permit = self.gh.permits.clone().acquire_owned().await;
            let outgoing = Outgoing {
                method: http::Method::GET,
                url: &url,
                headers: http::HeaderMap::new(),
                auth: Some(&auth),
                body: None,
            };
            let result =
                tokio::time::timeout(settings.request_timeout, self.gh.exchange(outgoing)).await;
            let message = match result {
                Ok(Ok(resp)) if resp.status().is_success() => {
                    return Ok(Download {
                        body: resp.into_body(),
                        path: path.to_string(),
                        // The whole body within four request timeouts, as one slow answer.
                        deadline: tokio::time::Instant::now() + settings.request_timeout * 4,
                        _permit: permit.ok(),
                    });
                }
                Ok(Ok(resp)) => {
                    let status = resp.status().as_u16();
                    match status {
                        404 | 410 => return Err(GhError::NotFound(path.to_string())),
                        s if s < 500 => {
                            return Err(GhError::Other {
                                status,
                                path: path.to_string(),
                                message: "download refused".into(),
                            });
                        }
                        _ => format!("GitHub answered {status}"),
                    }
                }
                Ok(Err(ExchangeError::Redirect(location))) => {
                    return Err(GhError::Redirect {
                        path: path.to_string(),
                        location,
                    });
                }
                Ok(Err(ExchangeError::Transport(e))) => e,
                Err(_) => "timed out".to_string(),
            };
            drop(permit);
            if attempt > settings.max_retries {
                return Err(GhError::Transport {
                    path: path.to_string(),
                    message,
                });
            }
            tokio::time::sleep(crate::worker::backoff(
                attempt,
                settings.retry_base,
                settings.retry_base * 16,
                fastrand::f64(),
            ))
            .await;
        }
    }
}

/// A download in progress: the body of a successful answer, read chunk by chunk. It holds one
/// of the client's request permits until it is dropped.
pub struct Download {
    body: transport::Body,
    path: String,
    deadline: tokio::time::Instant,
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Download {
    /// The body's chunks as they arrive; a network failure or the deadline ends it with an
    /// error.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, GhError>> + Unpin + Send {
        Box::pin(futures::stream::unfold(Some(self), |state| async move {
            let mut d = state?;
            loop {
                let failed = |message: String, d: &Download| {
                    Some((
                        Err(GhError::Transport {
                            path: d.path.clone(),
                            message,
                        }),
                        None,
                    ))
                };
                match tokio::time::timeout_at(d.deadline, d.body.frame()).await {
                    Err(_) => return failed("timed out part-way".into(), &d),
                    Ok(None) => return None,
                    Ok(Some(Err(e))) => return failed(e.to_string(), &d),
                    Ok(Some(Ok(frame))) => {
                        if let Ok(data) = frame.into_data() {
                            return Some((Ok(data), Some(d)));
                        }
                    }
                }
            }
        }))
    }
}
