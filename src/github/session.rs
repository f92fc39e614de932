//! One evaluation's view of GitHub ([`Session`]): one identity, one set of counters, the
//! database cache for conditional requests, and the verbs (`GET` a document, every page of a
//! list, `POST`, `PATCH`, `DELETE`, a bounded download) that [`super::api`] builds on.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http_body_util::BodyExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Digest;

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
}
