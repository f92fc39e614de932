//! The worker pool: claims jobs with a lease, keeps the lease alive while working, retries
//! failures with exponential backoff and jitter, marks jobs dead after a bound, and on shutdown
//! lets running jobs finish within a grace period before giving the rest back.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, watch};
use tracing::{Instrument, error, info, warn};

use crate::config::QueueSettings;
use crate::store::{DynStore, Job};

/// How a job failed, and so what the queue does next.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (network, GitHub 5xx, database hiccup).
    #[error("{0:#}")]
    Retry(anyhow::Error),
    /// Try again no sooner than this (rate limits). Does not use up an attempt's backoff.
    #[error("deferred for {0:?}: {1:#}")]
    RetryAfter(Duration, anyhow::Error),
    /// Retrying cannot help; the job is marked dead at once.
    #[error("{0:#}")]
    Permanent(anyhow::Error),
}

#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn handle(&self, job: &Job) -> Result<(), JobError>;
    /// Called once when a job is marked dead, e.g. to tell the issue that evaluation failed.
    async fn on_dead(&self, job: &Job, error: &str);
}

/// Exponential backoff with jitter: attempt 1 waits about `base`, each next one twice as
/// long, capped at `max`; the wait is drawn from the upper half so retries of many jobs spread
/// out instead of arriving together.
pub fn backoff(attempt: u32, base: Duration, max: Duration, unit_random: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let raw = base.saturating_mul(1u32 << exp.min(20)).min(max);
    let factor = 0.5 + 0.5 * unit_random.clamp(0.0, 1.0);
    raw.mul_f64(factor)
}

pub struct WorkerPool {
    shutdown: watch::Sender<bool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl WorkerPool {
    pub fn start(
        store: DynStore,
        handler: Arc<dyn JobHandler>,
        settings: QueueSettings,
        workers: usize,
        jobs_ready: Arc<Notify>,
        instance: &str,
    ) -> Self {
        let (shutdown, rx) = watch::channel(false);
        let handles = (0..workers)
            .map(|i| {
                let worker = Worker {
                    store: store.clone(),
                    handler: handler.clone(),
                    settings: settings.clone(),
                    owner: format!("{instance}/{i}"),
                    jobs_ready: jobs_ready.clone(),
                    shutdown: rx.clone(),
                };
                tokio::spawn(worker.run())
            })
            .collect();
        Self { shutdown, handles }
    }

    /// Stops taking jobs, waits for running ones (each worker enforces the grace period), and
    /// returns when every worker has stopped.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for h in self.handles {
            let _ = h.await;
        }
    }
}

struct Worker {
    store: DynStore,
    handler: Arc<dyn JobHandler>,
    settings: QueueSettings,
    owner: String,
    jobs_ready: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
}

impl Worker {
    /// The store's clock: run times agree with the leases it hands out.
    fn now(&self) -> i64 {
        self.store.clock().now().as_millis()
    }

    async fn run(mut self) {
        loop {
            if *self.shutdown.borrow() {
                return;
            }
            let claimed = self.store.claim(&self.owner, self.settings.lease).await;
            match claimed {
                Ok(Some(job)) => self.run_job(job).await,
                Ok(None) => {
                    let wait = self.settings.poll_interval.mul_f64(0.5 + fastrand::f64());
                    tokio::select! {
                        _ = self.jobs_ready.notified() => {}
                        _ = tokio::time::sleep(wait) => {}
                        _ = self.shutdown.changed() => {}
                    }
                }
                Err(e) => {
                    warn!(error = %e, worker = %self.owner, "cannot claim jobs");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = self.shutdown.changed() => {}
                    }
                }
            }
        }
    }

    async fn run_job(&mut self, job: Job) {
        let span = tracing::info_span!(
            "job",
            job = job.id,
            kind = %job.kind,
            key = %job.dedupe_key,
            delivery = job.delivery.as_deref().unwrap_or(""),
            attempt = job.attempts
        );
        async {
            let started = std::time::Instant::now();
            if job.attempts > i64::from(self.settings.max_attempts) {
                // Its workers kept dying (the lease expired each time): stop trying.
                let msg = "the job was cut off too many times (its worker stopped mid-run)";
                self.finish_dead(&job, msg).await;
                return;
            }
            let outcome = self.run_with_lease(&job).await;
            let elapsed = started.elapsed().as_secs_f64();
            let label = match &outcome {
                Some(Ok(())) => "ok",
                Some(Err(JobError::Permanent(_))) => "dead",
                Some(Err(_)) => "retry",
                None => "released",
            };
            metrics::histogram!("folio_job_duration_seconds", "kind" => job.kind.clone(), "outcome" => label)
                .record(elapsed);
            metrics::counter!("folio_jobs_total", "kind" => job.kind.clone(), "outcome" => label)
                .increment(1);
            match outcome {
                None => {
                    info!("shutting down: job given back to the queue");
                    if let Err(e) = self.store.release(job.id, &self.owner, self.now()).await {
                        warn!(error = %e, "could not release the job; its lease will expire");
                    }
                }
                Some(Ok(())) => match self.store.complete(job.id, &self.owner).await {
                    Ok(true) => info!(elapsed, "job done"),
                    Ok(false) => warn!("job finished after its lease was lost"),
                    Err(e) => warn!(error = %e, "could not mark the job done; it may run again"),
                },
                Some(Err(JobError::Permanent(e))) => {
                    self.finish_dead(&job, &format!("{e:#}")).await;
                }
                Some(Err(err)) => {
                    let attempts = u32::try_from(job.attempts).unwrap_or(u32::MAX);
                    let (delay, message) = match &err {
                        JobError::RetryAfter(d, e) => (*d, format!("{e:#}")),
                        JobError::Retry(e) => (
                            backoff(
                                attempts,
                                self.settings.backoff_base,
                                self.settings.backoff_max,
                                fastrand::f64(),
                            ),
                            format!("{e:#}"),
                        ),
                        JobError::Permanent(_) => (Duration::ZERO, String::new()),
                    };
                    let deferral = matches!(err, JobError::RetryAfter(..));
                    if attempts >= self.settings.max_attempts && !deferral {
                        self.finish_dead(&job, &message).await;
                    } else {
                        let retry_at = self.now() + delay.as_millis() as i64;
                        warn!(error = %message, retry_in = ?delay, "job failed; will retry");
                        // A deferral (rate limit) is not the job's fault: it keeps its attempt.
                        let result = if deferral {
                            self.store
                                .defer(job.id, &self.owner, retry_at, &message)
                                .await
                        } else {
                            self.store
                                .fail(job.id, &self.owner, &message, Some(retry_at))
                                .await
                        };
                        if let Err(e) = result {
                            warn!(error = %e, "could not schedule the retry; the lease will expire");
                        }
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn finish_dead(&self, job: &Job, message: &str) {
        error!(error = %message, "job failed for good");
        match self.store.fail(job.id, &self.owner, message, None).await {
            Ok(_) => self.handler.on_dead(job, message).await,
            Err(e) => warn!(error = %e, "could not mark the job dead"),
        }
    }

    /// Runs the handler while renewing the lease. Returns `None` when shutdown's grace period
    /// ran out before the job finished.
    async fn run_with_lease(&mut self, job: &Job) -> Option<Result<(), JobError>> {
        let work = self.handler.handle(job);
        tokio::pin!(work);
        let renew_every = self.settings.lease / 3;
        let mut renew =
            tokio::time::interval_at(tokio::time::Instant::now() + renew_every, renew_every);
        let mut shutdown = self.shutdown.clone();
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            let grace = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                result = &mut work => return Some(result),
                _ = renew.tick() => {
                    match self.store.heartbeat(job.id, &self.owner, self.settings.lease).await {
                        Ok(true) => {}
                        Ok(false) => warn!("lease lost while working"),
                        Err(e) => warn!(error = %e, "could not renew the lease"),
                    }
                }
                changed = shutdown.changed(), if deadline.is_none() => {
                    if changed.is_err() || *shutdown.borrow() {
                        deadline = Some(tokio::time::Instant::now() + self.settings.shutdown_grace);
                    }
                }
                _ = grace => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_secs(5);
        let max = Duration::from_secs(60);
        assert_eq!(backoff(1, base, max, 1.0), Duration::from_secs(5));
        assert_eq!(backoff(2, base, max, 1.0), Duration::from_secs(10));
        assert_eq!(backoff(3, base, max, 1.0), Duration::from_secs(20));
        assert_eq!(backoff(10, base, max, 1.0), max);
        assert_eq!(backoff(40, base, max, 1.0), max);
        // Jitter keeps the wait within the upper half.
        assert_eq!(backoff(2, base, max, 0.0), Duration::from_secs(5));
        let mid = backoff(2, base, max, 0.5);
        assert!(mid > Duration::from_secs(5) && mid < Duration::from_secs(10));
    }
}
