//! `POST /webhook`: verify the signature first, parse second, then commit the delivery and its
//! job before answering 2xx (SPEC §8).
//!
//! Deliveries that arrive together are committed in one transaction by a writer task (group
//! commit): each request waits for the commit that holds it, so every 2xx is durable while the
//! fsync cost is shared.

pub mod event;
pub mod verify;

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::{Mutex, Notify, mpsc, oneshot};
use tracing::{Instrument, debug, info, warn};

use crate::server::AppState;
use crate::store::{DynStore, IngestOutcome, NewDelivery, StoreError, now_ms};

#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestFailure {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("could not record the delivery: {0}")]
    Failed(String),
    #[error("the service is shutting down")]
    Closed,
}

type Reply = oneshot::Sender<Result<IngestOutcome, IngestFailure>>;

/// The group-commit writer in front of the store.
#[derive(Clone)]
pub struct Ingestor {
    tx: mpsc::Sender<(NewDelivery, Reply)>,
    /// How long a request waits for its commit before answering 503: a database that hangs
    /// (rather than failing) must not hold GitHub until its own timeout.
    deadline: Duration,
}

impl Ingestor {
    /// Starts `writers` writer tasks. SQLite takes one writer at a time anyway; PostgreSQL
    /// gains from a few concurrent transactions.
    pub fn start(
        store: DynStore,
        max_batch: usize,
        writers: usize,
        deadline: Duration,
        jobs_ready: Arc<Notify>,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<(NewDelivery, Reply)>(max_batch * 8);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..writers.max(1) {
            let rx = rx.clone();
            let store = store.clone();
            let jobs_ready = jobs_ready.clone();
            tokio::spawn(async move {
                loop {
                    let mut batch = Vec::with_capacity(max_batch);
                    let mut replies = Vec::with_capacity(max_batch);
                    {
                        let mut guard = rx.lock().await;
                        match guard.recv().await {
                            Some((d, r)) => {
                                batch.push(d);
                                replies.push(r);
                            }
                            None => return,
                        }
                        // Whatever queued up during the previous commit joins this one.
                        while batch.len() < max_batch {
                            match guard.try_recv() {
                                Ok((d, r)) => {
                                    batch.push(d);
                                    replies.push(r);
                                }
                                Err(_) => break,
                            }
                        }
                    }
                    let started = std::time::Instant::now();
                    let size = batch.len();
                    let result = store.ingest(batch).await;
                    metrics::histogram!("folio_ingest_commit_seconds")
                        .record(started.elapsed().as_secs_f64());
                    metrics::histogram!("folio_ingest_batch_size").record(size as f64);
                    match result {
                        Ok(outcomes) => {
                            let any_job = outcomes
                                .iter()
                                .any(|o| matches!(o, IngestOutcome::Accepted { job_id: Some(_) }));
                            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                                let _ = reply.send(Ok(outcome));
                            }
                            if any_job {
                                jobs_ready.notify_waiters();
                            }
                        }
                        Err(e) => {
                            warn!(error = %e, size, "could not commit deliveries");
                            let failure = match e {
                                StoreError::Unavailable(m) => IngestFailure::Unavailable(m),
                                other => IngestFailure::Failed(other.to_string()),
                            };
                            for reply in replies {
                                let _ = reply.send(Err(failure.clone()));
                            }
                        }
                    }
                }
            });
        }
        Self { tx, deadline }
    }

    pub async fn submit(&self, delivery: NewDelivery) -> Result<IngestOutcome, IngestFailure> {
        let (reply, wait) = oneshot::channel();
        let queued = async {
            self.tx
                .send((delivery, reply))
                .await
                .map_err(|_| IngestFailure::Closed)?;
            wait.await.map_err(|_| IngestFailure::Closed)?
        };
        // Timing out leaves the delivery in the batch: it may still commit, and then a
        // redelivery of it is a duplicate. Only the 2xx has to wait for the commit.
        tokio::time::timeout(self.deadline, queued)
            .await
            .unwrap_or_else(|_| {
                Err(IngestFailure::Unavailable(
                    "the database did not commit the delivery in time".into(),
                ))
            })
    }
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

pub async fn handle(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers.get("x-hub-signature-256").map(|v| v.as_bytes());
    match state.verify_signature(signature, &body) {
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
        let now = now_ms();
        let job = match crate::jobs::plan(&parsed, now) {
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
        let (action, installation_id) = match &parsed {
            event::Event::Installation {
                action,
                installation_id,
                ..
            }
            | event::Event::InstallationRepositories {
                action,
                installation_id,
                ..
            } => (Some(action.clone()), Some(*installation_id)),
            event::Event::Issue {
                action,
                installation_id,
                ..
            }
            | event::Event::IssueComment {
                action,
                installation_id,
                ..
            } => (Some(action.clone()), *installation_id),
            _ => (None, None),
        };
        let delivery = NewDelivery {
            guid: guid.to_string(),
            event: event_name.to_string(),
            action,
            installation_id,
            received_at: now,
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
