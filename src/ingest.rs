//! The group-commit writer in front of the store: deliveries that arrive together are
//! committed in one transaction by a writer task; each request waits for the commit that holds
//! it, so every 2xx is durable while the fsync cost is shared.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Notify, mpsc, oneshot};
use tracing::warn;

use crate::store::{DynStore, IngestOutcome, NewDelivery};

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
                            // A full disk answers 503 like a database that is away: GitHub
                            // records a failure, which reconciliation asks for again.
                            let failure = if e.is_unavailable() {
                                IngestFailure::Unavailable(e.to_string())
                            } else {
                                IngestFailure::Failed(e.to_string())
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
