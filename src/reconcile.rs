//! Missed deliveries. A webhook that Folio could not take (database unavailable: 503; Folio
//! down: no answer) is recorded by GitHub as failed, and GitHub does not retry it by itself. At
//! startup and then periodically, this module reads the app's delivery log
//! (`GET /app/hook/deliveries`, App JWT) and asks GitHub to send the failed ones again
//! (`POST /app/hook/deliveries/{id}/attempts`).
//!
//! A delivery is asked for again only when all of these hold:
//! - GitHub recorded it as a transient failure (no answer, timeout, 408, 429 or 5xx). Other
//!   4xx answers were deliberate rejections (bad signature, not JSON): sending the same bytes
//!   again would be rejected again.
//! - no attempt with the same guid succeeded (a later redelivery answered 2xx);
//! - its guid is not in our deliveries table (the 2xx may have been lost on the way back);
//! - it is within the lookback window (GitHub redelivers only recent deliveries);
//! - fewer than `max_attempts` redeliveries were asked for, and the last one asked for has
//!   already shown up in the log (otherwise it is still on its way, and asking again would
//!   only send a duplicate).

use std::collections::HashMap;
use std::sync::Arc;

use tracing::{debug, info, warn};

use crate::config::{AppCredentials, ReconcileSettings, Settings};
use crate::github::{GhError, GitHub, Session};
use crate::state::AppState;
use crate::store::{DynStore, StoreError};

/// At most this many pages of 100 are read per run: a bound on the work even if GitHub's log
/// is huge; the newest deliveries come first, so those are the ones looked at.
const MAX_PAGES: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("cannot read the webhook delivery log: {0}")]
    List(#[source] GhError),
    #[error("cannot talk to GitHub: {0}")]
    Client(#[source] GhError),
    #[error("database error while reconciling: {0}")]
    Store(#[from] StoreError),
}

/// One entry of GitHub's delivery log (`hook-delivery-item`), only the fields used here.
pub use crate::github::types::HookDelivery as LoggedDelivery;

impl LoggedDelivery {
    fn succeeded(&self) -> bool {
        (200..300).contains(&self.status_code)
    }

    /// A failure that the same request may not meet again. `status_code` is 0 when GitHub got
    /// no answer at all (timed out, could not connect).
    fn transient_failure(&self) -> bool {
        matches!(self.status_code, 0 | 408 | 429 | 500..=599)
    }

    fn delivered_at_ms(&self) -> Option<i64> {
        humantime::parse_rfc3339_weak(&self.delivered_at)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64)
    }
}

/// What one run did, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Log entries read within the lookback window.
    pub listed: usize,
    /// Delivery ids asked for again, in the order asked.
    pub redelivered: Vec<i64>,
    pub already_stored: usize,
    pub succeeded_later: usize,
    pub exhausted: usize,
    pub in_flight: usize,
}

/// A session authenticated as the App (JWT), without the HTTP cache: the delivery log must be
/// read as it is now.
pub fn app_session(settings: &Settings, app: &AppCredentials) -> Result<Session, ReconcileError> {
    let creds = GitHub::app(app.app_id, &app.private_key).map_err(ReconcileError::Client)?;
    let gh = GitHub::new(
        &settings.github_api_url,
        Some(creds),
        None,
        settings.github.clone(),
    )
    .map_err(ReconcileError::Client)?;
    Ok(Arc::new(gh).session(None))
}

/// Reads the delivery log back to the lookback window, grouped by guid (an original delivery
/// and its redeliveries share it).
async fn read_log(
    session: &Session,
    cutoff_ms: i64,
) -> Result<(usize, Vec<(String, Vec<LoggedDelivery>)>), ReconcileError> {
    let mut groups: HashMap<String, Vec<LoggedDelivery>> = HashMap::new();
    let mut listed = 0;
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        let (items, link_next) = session
            .hook_deliveries(next.as_deref())
            .await
            .map_err(ReconcileError::List)?;
        let mut reached_cutoff = false;
        for item in items {
            // An unreadable date is treated as recent: GitHub decides if it is too old.
            if item.delivered_at_ms().is_some_and(|t| t < cutoff_ms) {
                // Newest first: everything after this is older still.
                reached_cutoff = true;
                continue;
            }
            listed += 1;
            groups.entry(item.guid.clone()).or_default().push(item);
        }
        if reached_cutoff || pages >= MAX_PAGES {
            break;
        }
        match link_next {
            Some(n) => next = Some(n),
            None => break,
        }
    }
    let mut groups: Vec<(String, Vec<LoggedDelivery>)> = groups.into_iter().collect();
    // Oldest first, so that the deliveries that waited longest are asked for first.
    groups.sort_by_key(|(_, items)| items.iter().map(|d| d.id).min().unwrap_or(0));
    Ok((listed, groups))
}

/// One pass over the delivery log.
pub async fn run_once(
    session: &Session,
    store: &DynStore,
    settings: &ReconcileSettings,
    now_ms: i64,
) -> Result<Report, ReconcileError> {
    let cutoff = now_ms - settings.lookback.as_millis() as i64;
    let (listed, groups) = read_log(session, cutoff).await?;
    let mut report = Report {
        listed,
        ..Report::default()
    };
    for (guid, attempts) in groups {
        if attempts.iter().any(LoggedDelivery::succeeded) {
            if attempts.iter().any(|d| !d.succeeded()) {
                report.succeeded_later += 1;
            }
            continue;
        }
        if !attempts.iter().any(LoggedDelivery::transient_failure) {
            continue;
        }
        // The first attempt keys our bookkeeping: it stays the same across redeliveries.
        // Without it in the window, the delivery is too old to ask for.
        let Some(original) = attempts
            .iter()
            .filter(|d| !d.redelivery)
            .min_by_key(|d| d.id)
        else {
            continue;
        };
        if store.has_delivery(&guid).await? {
            report.already_stored += 1;
            continue;
        }
        let asked = store.redelivery_attempts(original.id).await?;
        if asked >= i64::from(settings.max_attempts) {
            report.exhausted += 1;
            debug!(%guid, asked, "delivery still failing after the last redelivery allowed");
            continue;
        }
        let logged = attempts.iter().filter(|d| d.redelivery).count() as i64;
        if asked > logged {
            report.in_flight += 1;
            continue;
        }
        match session.redeliver(original.id).await {
            Ok(()) => {
                store.record_redelivery(original.id, &guid).await?;
                metrics::counter!("folio_reconcile_redeliveries_total", "outcome" => "requested")
                    .increment(1);
                info!(%guid, event = %original.event, attempt = asked + 1, "asked GitHub to redeliver a failed delivery");
                report.redelivered.push(original.id);
            }
            // Rate limits and outages affect every request: stop this run, try next time.
            Err(e) if e.is_transient() => {
                metrics::counter!("folio_reconcile_redeliveries_total", "outcome" => "error")
                    .increment(1);
                return Err(ReconcileError::Client(e));
            }
            // This one delivery was refused (e.g. too old to redeliver): the others may not be.
            Err(e) => {
                metrics::counter!("folio_reconcile_redeliveries_total", "outcome" => "refused")
                    .increment(1);
                warn!(%guid, error = %e, "GitHub refused to redeliver");
            }
        }
    }
    Ok(report)
}

/// The background loop started by `server::start`: a run at startup, then one per interval.
/// Without App credentials (setup not done) there is no delivery log to read yet.
pub async fn run_forever(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(state.settings.reconcile.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Replicas share one delivery log; one of them at a time asks for redeliveries, so that
    // two do not spend the same delivery's attempts. The lease outlives one interval, and the
    // holder renews it each time, so another replica takes over only when the holder is gone.
    let owner = format!("{}-{}", std::process::id(), fastrand::u64(..));
    let ttl = state.settings.reconcile.interval * 2 + std::time::Duration::from_secs(30);
    loop {
        tick.tick().await;
        let Some(app) = state.app_credentials() else {
            continue;
        };
        match state.store.try_lease("reconcile", &owner, ttl).await {
            Ok(true) => {}
            Ok(false) => {
                debug!("another replica reconciles deliveries");
                continue;
            }
            Err(e) => {
                warn!(error = %e, "reconciliation skipped: the lease is unreadable");
                continue;
            }
        }
        let session = match app_session(&state.settings, &app) {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, "reconciliation skipped");
                continue;
            }
        };
        match run_once(
            &session,
            &state.store,
            &state.settings.reconcile,
            state.clock.now().as_millis(),
        )
        .await
        {
            Ok(report) if report.redelivered.is_empty() => debug!(?report, "reconciliation"),
            Ok(report) => info!(?report, "reconciliation asked for failed deliveries again"),
            Err(e) => warn!(error = %e, "reconciliation failed; trying again next interval"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(status_code: i64, delivered_at: &str) -> LoggedDelivery {
        LoggedDelivery {
            id: 1,
            guid: "g".into(),
            delivered_at: delivered_at.into(),
            redelivery: false,
            status: String::new(),
            status_code,
            event: "issues".into(),
        }
    }

    #[test]
    fn github_dates_and_outcomes() {
        let d = item(502, "2021-05-12T20:33:44Z");
        assert_eq!(d.delivered_at_ms(), Some(1_620_851_624_000));
        assert!(d.transient_failure() && !d.succeeded());
        assert!(item(0, "").transient_failure());
        assert!(item(202, "").succeeded());
        // A signature rejection would be rejected again: not worth a redelivery.
        assert!(!item(401, "").transient_failure());
    }
}
