//! The request pipeline, in GitHub's order: latency, injected faults, authentication, primary
//! rate limit, the endpoint itself, then conditional requests (ETag / 304) and the headers every
//! answer carries. Every request is logged.

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::routes;
use super::state::{IssuedToken, World, now_secs};
use super::{Fault, Logged, Shared, TokenKind, lock};

pub const DOCS: &str = "https://docs.github.com/rest";

pub enum ReplyBody {
    Json(Value),
    Raw {
        bytes: Vec<u8>,
        content_type: String,
    },
    Empty,
}

/// An answer before the pipeline adds its common headers.
pub struct Reply {
    pub status: StatusCode,
    pub body: ReplyBody,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    pub fn json(status: StatusCode, value: Value) -> Self {
        Self {
            status,
            body: ReplyBody::Json(value),
            headers: Vec::new(),
        }
    }

    pub fn ok(value: Value) -> Self {
        Self::json(StatusCode::OK, value)
    }

    pub fn error(status: StatusCode, message: &str, documentation_url: &str) -> Self {
        Self::json(
            status,
            json!({
                "message": message,
                "documentation_url": documentation_url,
                "status": status.as_u16().to_string(),
            }),
        )
    }

    pub fn not_found() -> Self {
        Self::error(StatusCode::NOT_FOUND, "Not Found", DOCS)
    }

    pub fn bad_credentials() -> Self {
        Self::error(StatusCode::UNAUTHORIZED, "Bad credentials", DOCS)
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn link(self, link: Option<String>) -> Self {
        match link {
            Some(l) => self.header("link", l),
            None => self,
        }
    }
}

/// What a handler sees of the request.
pub struct Ctx<'a> {
    pub method: &'a Method,
    /// Canonical path: `/repositories/{id}/...` already rewritten to `/repos/{o}/{r}/...`.
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub who: TokenKind,
    /// For repo-scoped installation tokens, the repositories they were limited to.
    pub scope: Option<Vec<String>>,
}

pub fn router(world: Shared) -> Router {
    Router::new().fallback(handle).with_state(world)
}

fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `/repositories/{id}/rest` → `/repos/{owner}/{name}/rest` (GitHub's `Link` URLs use the
/// former); other paths are only percent-decoded.
fn canonical_path(world: &World, raw: &str) -> String {
    let decoded: Vec<String> = raw.split('/').map(percent_decode).collect();
    if decoded.len() >= 3
        && decoded[1] == "repositories"
        && let Ok(id) = decoded[2].parse::<u64>()
        && let Some(repo) = world.repo_by_id(id)
    {
        let mut parts = vec![
            String::new(),
            "repos".to_string(),
            repo.owner.clone(),
            repo.name.clone(),
        ];
        parts.extend(decoded[3..].iter().cloned());
        return parts.join("/");
    }
    decoded.join("/")
}

enum Class {
    Public,
    App,
    Token,
}

fn classify(method: &Method, segs: &[&str]) -> Class {
    match (method.as_str(), segs) {
        ("POST", ["app-manifests", _, "conversions"]) => Class::Public,
        (_, ["codeload", ..]) => Class::Public,
        (_, ["app"]) | (_, ["app", ..]) => Class::App,
        ("GET", ["repos", _, _, "installation"])
        | ("GET", ["orgs", _, "installation"])
        | ("GET", ["users", _, "installation"]) => Class::App,
        _ => Class::Token,
    }
}

fn credential(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer") {
        Some(rest.trim().to_string())
    } else {
        None
    }
}

/// Checks an App JWT as GitHub does; the error messages are GitHub's.
pub fn verify_jwt(token: &str, app_id: u64) -> Result<(), &'static str> {
    const UNDECODABLE: &str = "A JSON web token could not be decoded";
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(super::PUBLIC_KEY_PEM.as_bytes())
        .map_err(|_| UNDECODABLE)?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    // The time claims are checked below with GitHub's own rules and messages.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<HashMap<String, Value>>(token, &key, &validation)
        .map_err(|_| UNDECODABLE)?;
    let claims = data.claims;
    let iss_ok = match claims.get("iss") {
        Some(Value::Number(n)) => n.as_u64() == Some(app_id),
        Some(Value::String(s)) => s.parse::<u64>().ok() == Some(app_id),
        _ => false,
    };
    if !iss_ok {
        return Err("'Issuer' claim ('iss') must be an Integer");
    }
    let now = now_secs();
    let iat = claims.get("iat").and_then(Value::as_i64).ok_or(
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
    )?;
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or(
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    )?;
    if iat > now + 60 {
        return Err(
            "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
        );
    }
    if exp <= now {
        return Err(
            "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        );
    }
    if exp - iat > 600 {
        return Err("'Expiration time' claim ('exp') is too far in the future");
    }
    Ok(())
}

/// Mints an installation token (`ghs_` + 36 characters) valid for one hour.
pub fn issue_token(world: &mut World, installation_id: u64, repos: Option<Vec<String>>) -> String {
    let n = world.next_id();
    let digest = hex::encode(Sha256::digest(format!(
        "{installation_id}:{n}:{}",
        now_secs()
    )));
    let token = format!("ghs_{}", &digest[..36]);
    world.tokens.insert(
        token.clone(),
        IssuedToken {
            installation_id,
            expires_at: now_secs() + 3600,
            repos,
        },
    );
    token
}

fn authenticate(
    world: &World,
    class: &Class,
    headers: &HeaderMap,
) -> Result<(TokenKind, Option<Vec<String>>), Reply> {
    match class {
        Class::Public => Ok((TokenKind::None, None)),
        Class::App => {
            let Some(token) = credential(headers) else {
                return Err(Reply::error(
                    StatusCode::UNAUTHORIZED,
                    "A JSON web token could not be decoded",
                    DOCS,
                ));
            };
            verify_jwt(&token, world.app.id)
                .map(|()| (TokenKind::App, None))
                .map_err(|msg| Reply::error(StatusCode::UNAUTHORIZED, msg, DOCS))
        }
        Class::Token => {
            let token = credential(headers).ok_or_else(Reply::bad_credentials)?;
            if let Some(issued) = world.tokens.get(&token) {
                let live = issued.expires_at > now_secs()
                    && world
                        .installations
                        .get(&issued.installation_id)
                        .is_some_and(|i| !i.suspended);
                if live {
                    return Ok((
                        TokenKind::Installation(issued.installation_id),
                        issued.repos.clone(),
                    ));
                }
                return Err(Reply::bad_credentials());
            }
            if let Some(login) = world.personal_tokens.get(&token) {
                return Ok((TokenKind::Personal(login.clone()), None));
            }
            Err(Reply::bad_credentials())
        }
    }
}

fn take_fault(
    world: &mut World,
    method: &str,
    raw: &str,
    canonical: &str,
    query: &str,
) -> Option<Fault> {
    let rule = world
        .faults
        .iter_mut()
        .find(|r| r.remaining > 0 && r.matcher.matches(method, &[raw, canonical], query))?;
    rule.remaining -= 1;
    let fault = rule.fault.clone();
    world.faults.retain(|r| r.remaining > 0);
    Some(fault)
}

fn fault_reply(world: &mut World, fault: &Fault, request_id: &str) -> Reply {
    match fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::BAD_GATEWAY);
            let message = status.canonical_reason().unwrap_or("Server Error");
            Reply::error(status, message, DOCS)
        }
        Fault::SecondaryRateLimit { retry_after_secs } => Reply::error(
            StatusCode::FORBIDDEN,
            &format!(
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID {request_id}."
            ),
            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        )
        .header("retry-after", retry_after_secs.to_string()),
        Fault::PrimaryRateLimit { reset_after_secs } => {
            let reset = now_secs() + *reset_after_secs as i64;
            let limit = world.core.limit;
            Reply::error(
                StatusCode::FORBIDDEN,
                &format!(
                    "API rate limit exceeded. If you reach out to GitHub Support for help, please include the request ID {request_id}."
                ),
                "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits",
            )
            .header("x-ratelimit-limit", limit.to_string())
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-used", limit.to_string())
            .header("x-ratelimit-reset", reset.to_string())
            .header("x-ratelimit-resource", "core")
        }
        Fault::Timeout => Reply::error(StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout", DOCS),
        Fault::Redirect(location) => Reply {
            status: StatusCode::FOUND,
            body: ReplyBody::Raw {
                bytes: Vec::new(),
                content_type: "text/html;charset=utf-8".to_string(),
            },
            headers: Vec::new(),
        }
        .header("location", location.clone()),
        Fault::Archive(bytes) => Reply {
            status: StatusCode::OK,
            body: ReplyBody::Raw {
                bytes: bytes.clone(),
                content_type: "application/x-gzip".to_string(),
            },
            headers: Vec::new(),
        },
    }
}

/// A strong validator: the quoted SHA-256 of the body (GitHub sends `W/"..."` for most JSON;
/// either form is valid, and weak comparison is what `If-None-Match` uses).
fn etag_of(bytes: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Sha256::digest(bytes)))
}

fn if_none_match_hits(headers: &HeaderMap, etag: &str) -> bool {
    let Some(value) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let bare = etag.trim_start_matches("W/");
    value
        .split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == bare)
}

async fn handle(State(world): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 32 << 20)
        .await
        .unwrap_or_default();
    let method = parts.method;
    let raw_path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| raw_path.clone());

    let (latency, fault, canonical, request_id) = {
        let mut w = lock(&world);
        let canonical = canonical_path(&w, &raw_path);
        let fault = take_fault(&mut w, method.as_str(), &raw_path, &canonical, &query);
        (w.latency, fault, canonical, w.request_id())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if fault == Some(Fault::Timeout) {
        let hold = lock(&world).timeout_hold;
        tokio::time::sleep(hold).await;
    }

    let mut w = lock(&world);
    let segs: Vec<&str> = canonical.trim_start_matches('/').split('/').collect();
    let class = classify(&method, &segs);
    let search = segs.first() == Some(&"search");

    let mut counts_against_limit = false;
    let mut who = TokenKind::None;
    let reply = match fault.as_ref().filter(|f| **f != Fault::Timeout) {
        Some(fault) => fault_reply(&mut w, fault, &request_id),
        None => match authenticate(&w, &class, &parts.headers) {
            Err(reply) => reply,
            Ok((kind, scope)) => {
                who = kind.clone();
                let metered = matches!(kind, TokenKind::Installation(_) | TokenKind::Personal(_))
                    && segs.first() != Some(&"rate_limit");
                let bucket = if search { &mut w.search } else { &mut w.core };
                bucket.refresh();
                if metered && bucket.remaining == 0 {
                    let reset = bucket.reset;
                    Reply::error(
                        StatusCode::FORBIDDEN,
                        &format!(
                            "API rate limit exceeded for {}. If you reach out to GitHub Support for help, please include the request ID {request_id}.",
                            match &kind {
                                TokenKind::Installation(id) => format!("installation ID {id}"),
                                _ => "user".to_string(),
                            }
                        ),
                        "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-rate-limits",
                    )
                    .header("x-ratelimit-reset", reset.to_string())
                } else {
                    counts_against_limit = metered;
                    let ctx = Ctx {
                        method: &method,
                        path: &canonical,
                        query: &query,
                        headers: &parts.headers,
                        body: &body,
                        who: kind,
                        scope,
                    };
                    routes::dispatch(&mut w, &ctx, &segs)
                }
            }
        },
    };

    let (status, mut headers, bytes) = finish(
        &mut w,
        reply,
        &method,
        &parts.headers,
        search,
        counts_against_limit,
        &request_id,
    );
    w.log.push(Logged {
        method: method.to_string(),
        path_and_query,
        status: status.as_u16(),
        token_kind: who,
    });
    let redeliveries = std::mem::take(&mut w.pending_redeliveries);
    drop(w);
    for prepared in redeliveries {
        let world = world.clone();
        tokio::spawn(async move {
            super::webhooks::send(&world, prepared, true).await;
        });
    }

    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    std::mem::swap(response.headers_mut(), &mut headers);
    response
}

fn finish(
    w: &mut World,
    reply: Reply,
    method: &Method,
    request_headers: &HeaderMap,
    search: bool,
    metered: bool,
    request_id: &str,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut status = reply.status;
    let mut headers = HeaderMap::new();
    let (mut bytes, content_type) = match reply.body {
        ReplyBody::Json(mut value) => {
            super::json::localize(&mut value, &w.base_url);
            (
                serde_json::to_vec(&value).unwrap_or_default(),
                Some("application/json; charset=utf-8".to_string()),
            )
        }
        ReplyBody::Raw {
            bytes,
            content_type,
        } => (bytes, Some(content_type)),
        ReplyBody::Empty => (Vec::new(), None),
    };

    if *method == Method::GET && status == StatusCode::OK && content_type.is_some() {
        let etag = etag_of(&bytes);
        if if_none_match_hits(request_headers, &etag) {
            status = StatusCode::NOT_MODIFIED;
            bytes.clear();
        }
        insert(&mut headers, "etag", &etag);
        insert(
            &mut headers,
            "cache-control",
            "private, max-age=60, s-maxage=60",
        );
        insert(
            &mut headers,
            "vary",
            "Accept, Authorization, Cookie, X-GitHub-OTP",
        );
    }
    // GitHub documents that a 304 does not count against the primary rate limit.
    let bucket = if search { &mut w.search } else { &mut w.core };
    if metered && status != StatusCode::NOT_MODIFIED {
        bucket.remaining = bucket.remaining.saturating_sub(1);
    }
    insert(&mut headers, "x-ratelimit-limit", &bucket.limit.to_string());
    insert(
        &mut headers,
        "x-ratelimit-remaining",
        &bucket.remaining.to_string(),
    );
    insert(&mut headers, "x-ratelimit-reset", &bucket.reset.to_string());
    insert(&mut headers, "x-ratelimit-used", &bucket.used().to_string());
    insert(
        &mut headers,
        "x-ratelimit-resource",
        if search { "search" } else { "core" },
    );
    insert(&mut headers, "x-github-request-id", request_id);
    insert(
        &mut headers,
        "x-github-media-type",
        "github.v3; format=json",
    );
    insert(&mut headers, "x-github-api-version-selected", "2022-11-28");
    if let Some(ct) = content_type
        && status != StatusCode::NOT_MODIFIED
    {
        insert(&mut headers, "content-type", &ct);
    }
    // Handler headers last: a fault's own `x-ratelimit-*` values win over the bucket's.
    for (name, value) in reply.headers {
        insert(&mut headers, &name, &value);
    }
    (status, headers, bytes)
}

fn insert(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        header::HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        headers.insert(name, value);
    }
}
