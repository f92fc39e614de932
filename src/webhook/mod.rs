//! `POST /webhook`: verify the signature first, parse second, then commit the delivery and its
//! job (through [`crate::ingest`]) before answering 2xx, so that every 2xx is durable and a
//! delivery GitHub saw accepted is never lost.

pub mod event;
pub(crate) mod plan;
pub mod verify;

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header as http_header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::json;
use tracing::{Instrument, debug, info, warn};

use crate::state::AppState;
use crate::store::{IngestOutcome, NewDelivery};

/// Checks a delivery's signature against the configured secrets without copying them (this
/// runs for every webhook). `None` when no secret is configured.
fn verify_signature(
    state: &AppState,
    header: Option<&[u8]>,
    body: &[u8],
) -> Option<Result<(), verify::SignatureError>> {
    let secrets = state.secrets.read().ok()?;
    if secrets.is_empty() {
        return None;
    }
    Some(verify::verify(&secrets, header, body))
}

/// The SHA-256 of a signed body, in hex: a replay of the body under a new delivery id is
/// known by it.
fn body_hash(body: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(body))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

fn count(event: &str, outcome: &'static str) {
    // Event names are bounded by GitHub's list, but an attacker with the secret could send
    // anything; keep the label set small. Static labels spare an allocation per delivery.
    let event: &'static str = match event {
        "none" => "none",
        "ping" => "ping",
        "installation" => "installation",
        "installation_repositories" => "installation_repositories",
        "issues" => "issues",
        "issue_comment" => "issue_comment",
        _ => "other",
    };
    metrics::counter!("folio_webhook_deliveries_total", "event" => event, "outcome" => outcome)
        .increment(1);
}

/// What must hold before a single body byte is read: a secret is configured, the signature
/// header is well formed, the declared length is within the limit, and the in-flight byte
/// budget has room for it. Unauthenticated senders can then cost a few header bytes each, not
/// the body they announce.
fn admit(state: &AppState, headers: &HeaderMap) -> Result<u32, Box<Response>> {
    let configured = state.secrets.read().map(|s| !s.is_empty()).unwrap_or(false);
    if !configured {
        count("none", "not_configured");
        return Err(Box::new(reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "Folio is not set up yet: no webhook secret is configured"}),
        )));
    }
    let signature = headers.get("x-hub-signature-256").map(|v| v.as_bytes());
    if let Err(e) = verify::claimed_digest(signature) {
        count("none", "bad_signature");
        debug!(error = %e, "rejected webhook before reading its body");
        return Err(Box::new(reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": e.to_string()}),
        )));
    }
    let max = state.settings.webhook.max_body_bytes;
    let declared = headers
        .get(http_header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        count("none", "too_large");
        return Err(Box::new(reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": format!("webhook bodies are limited to {max} bytes")}),
        )));
    }
    // Without a declared length, the most the body may grow to is reserved.
    let reserve = declared.map_or(max as u64, |n| n.min(max as u64));
    Ok(u32::try_from(reserve).unwrap_or(u32::MAX))
}

enum BodyError {
    TooLarge,
    Unreadable(axum::Error),
}

/// Reads the body frame by frame into one buffer sized from the declared length, so that a
/// body costs its own size once: collecting the frames and then joining them would hold it
/// twice, and the in-flight budget counts each body once.
async fn read_body(mut body: Body, max: usize, expected: usize) -> Result<Bytes, BodyError> {
    let mut buf = Vec::with_capacity(expected.min(max));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BodyError::Unreadable)?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > max {
                return Err(BodyError::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

pub async fn handle(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let reserve = match admit(&state, &headers) {
        Ok(n) => n,
        Err(refused) => return *refused,
    };
    let Ok(_permit) = state.webhook_bytes.clone().try_acquire_many_owned(reserve) else {
        count("none", "busy");
        warn!(
            bytes = reserve,
            "webhook refused: the in-flight body budget is full"
        );
        let mut r = reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "too many webhook bytes in flight; try again"}),
        );
        r.headers_mut().insert(
            http_header::RETRY_AFTER,
            http::HeaderValue::from_static("5"),
        );
        return r;
    };
    let max = state.settings.webhook.max_body_bytes;
    let body = match read_body(body, max, reserve as usize).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            count("none", "too_large");
            return reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"error": format!("webhook bodies are limited to {max} bytes")}),
            );
        }
        Err(BodyError::Unreadable(e)) => {
            count("none", "bad_request");
            debug!(error = %e, "webhook body could not be read");
            return reply(
                StatusCode::BAD_REQUEST,
                json!({"error": "the request body could not be read"}),
            );
        }
    };
    let signature = headers.get("x-hub-signature-256").map(|v| v.as_bytes());
    match verify_signature(&state, signature, &body) {
        None => {
            count("none", "not_configured");
            return reply(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "Folio is not set up yet: no webhook secret is configured"}),
            );
        }
        Some(Err(e)) => {
            count("none", "bad_signature");
            debug!(error = %e, "rejected webhook");
            return reply(StatusCode::UNAUTHORIZED, json!({"error": e.to_string()}));
        }
        Some(Ok(())) => {}
    }
    let (Some(event_name), Some(guid)) = (
        header(&headers, "x-github-event"),
        header(&headers, "x-github-delivery"),
    ) else {
        count("none", "bad_request");
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "missing X-GitHub-Event or X-GitHub-Delivery header"}),
        );
    };
    if guid.is_empty() || guid.len() > 100 {
        count(event_name, "bad_request");
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"error": "X-GitHub-Delivery must be 1 to 100 characters"}),
        );
    }
    let span = tracing::info_span!("delivery", delivery = %guid, event = %event_name);
    async move {
        let parsed = match event::parse(event_name, &body) {
            Ok(e) => e,
            Err(e) => {
                count(event_name, "bad_json");
                return reply(StatusCode::BAD_REQUEST, json!({"error": e.to_string()}));
            }
        };
        let now = state.clock.now().as_millis();
        let job = match plan::plan(&parsed, now) {
            Ok(job) => job,
            Err(reason) => {
                count(event_name, "ignored");
                info!(%reason, "delivery ignored");
                return reply(
                    StatusCode::OK,
                    json!({"status": "ignored", "reason": reason}),
                );
            }
        };
        let (action, installation_id, issue) = match &parsed {
            event::Event::Installation {
                action,
                installation_id,
                ..
            }
            | event::Event::InstallationRepositories {
                action,
                installation_id,
                ..
            } => (Some(action.clone()), Some(*installation_id), None),
            event::Event::Issue {
                action,
                installation_id,
                repo,
                number,
                ..
            }
            | event::Event::IssueComment {
                action,
                installation_id,
                repo,
                issue_number: number,
                ..
            } => (
                Some(action.clone()),
                *installation_id,
                Some((repo.clone(), *number)),
            ),
            _ => (None, None, None),
        };
        let delivery = NewDelivery {
            guid: guid.to_string(),
            event: event_name.to_string(),
            action,
            installation_id,
            received_at: now,
            issue,
            body_hash: Some(body_hash(&body)),
            job,
        };
        match state.ingestor.submit(delivery).await {
            Ok(IngestOutcome::Accepted { job_id }) => {
                count(event_name, "accepted");
                info!(job = ?job_id, "delivery recorded");
                if matches!(parsed, event::Event::Ping { .. }) {
                    return reply(StatusCode::OK, json!({"status": "pong"}));
                }
                reply(
                    StatusCode::ACCEPTED,
                    json!({"status": "queued", "job": job_id}),
                )
            }
            Ok(IngestOutcome::Duplicate) => {
                count(event_name, "duplicate");
                info!("duplicate delivery acknowledged");
                reply(StatusCode::OK, json!({"status": "duplicate"}))
            }
            Err(e) => {
                count(event_name, "unavailable");
                warn!(error = %e, "delivery not recorded");
                // 503 makes GitHub record a failure, which reconciliation asks for again.
                reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"error": e.to_string()}),
                )
            }
        }
    }
    .instrument(span)
    .await
}
