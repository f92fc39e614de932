//! What every part of the running service shares: settings, the store, the ingest writer, the
//! clock, the swappable App credentials and the setup gate. It sits low, below the webhook
//! handler, the worker's job code and the setup page, so that they all read it and none of
//! them has to import the server that builds it.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::PrometheusHandle;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use tokio::sync::Notify;

use crate::clock::SharedClock;
use crate::config::{AppCredentials, Secret, Settings};
use crate::ingest::Ingestor;
use crate::store::DynStore;

pub struct AppState {
    pub settings: Settings,
    pub store: DynStore,
    pub ingestor: Ingestor,
    pub jobs_ready: Arc<Notify>,
    pub metrics: PrometheusHandle,
    pub started: Instant,
    /// Where every service module reads "now", so that tests can move time instead of sleeping.
    pub clock: SharedClock,
    /// The setup token and the pending App Manifest `state` values.
    pub setup: SetupGate,
    /// One permit per webhook body byte being received (`webhook.max_inflight_bytes`).
    pub webhook_bytes: Arc<tokio::sync::Semaphore>,
    /// Bytes held by repository archive extractions, all jobs together
    /// (`archive.max_inflight_bytes`).
    pub(crate) archive_budget: crate::archive::ArchiveBudget,
    /// Swappable so that the setup flow can switch to serving webhooks without a restart.
    pub(crate) secrets: RwLock<Vec<Secret>>,
    pub(crate) app: RwLock<Option<AppCredentials>>,
}

impl AppState {
    pub fn webhook_secrets(&self) -> Vec<Secret> {
        self.secrets.read().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn app_credentials(&self) -> Option<AppCredentials> {
        self.app.read().ok().and_then(|a| a.clone())
    }

    pub fn set_credentials(&self, app: AppCredentials, secret: Secret) {
        if let Ok(mut a) = self.app.write() {
            *a = Some(app);
        }
        if let Ok(mut s) = self.secrets.write() {
            *s = vec![secret];
        }
    }

    pub fn configured(&self) -> bool {
        self.app_credentials().is_some() && !self.webhook_secrets().is_empty()
    }
}

/// GitHub's manifest codes expire after an hour; a state outliving that is useless.
const STATE_TTL: Duration = Duration::from_secs(3600);
/// Each page view mints a state; the cap keeps reloads from growing memory without bound.
pub(crate) const MAX_PENDING_STATES: usize = 64;

/// The one-time setup token and the `state` values handed out by the setup page.
pub struct SetupGate {
    /// `None` once setup is over, or when the service started configured: then nothing opens
    /// the setup pages.
    token: RwLock<Option<Secret>>,
    states: Mutex<Vec<(String, Instant)>>,
    /// One registration at a time: a second tab's callback must not register a second app.
    pub(crate) finishing: tokio::sync::Mutex<()>,
}

impl SetupGate {
    pub fn new(token: Option<Secret>) -> Self {
        Self {
            token: RwLock::new(token),
            states: Mutex::new(Vec::new()),
            finishing: tokio::sync::Mutex::new(()),
        }
    }

    /// Whether `presented` is the setup token. Both sides are hashed first, so that the
    /// constant-time comparison does not even reveal the token's length.
    pub(crate) fn token_matches(&self, presented: &str) -> bool {
        let Ok(token) = self.token.read() else {
            return false;
        };
        match token.as_ref() {
            Some(t) => {
                let want = Sha256::digest(t.expose().as_bytes());
                let got = Sha256::digest(presented.as_bytes());
                bool::from(want.as_slice().ct_eq(got.as_slice()))
            }
            None => false,
        }
    }

    /// Forgets the token: setup is over.
    pub(crate) fn close(&self) {
        if let Ok(mut t) = self.token.write() {
            *t = None;
        }
    }

    /// Mints a `state` for one trip to GitHub and back.
    pub fn issue_state(&self) -> anyhow::Result<String> {
        let state = random_hex()?;
        let mut states = self
            .states
            .lock()
            .map_err(|_| anyhow::anyhow!("setup state lock poisoned"))?;
        let now = Instant::now();
        states.retain(|(_, at)| now.duration_since(*at) < STATE_TTL);
        if states.len() >= MAX_PENDING_STATES {
            states.remove(0);
        }
        states.push((state.clone(), now));
        Ok(state)
    }

    /// Accepts a `state` once: a match is removed, so a replayed callback is refused.
    pub fn take_state(&self, presented: &str) -> bool {
        let Ok(mut states) = self.states.lock() else {
            return false;
        };
        let now = Instant::now();
        states.retain(|(_, at)| now.duration_since(*at) < STATE_TTL);
        // Every pending state is compared, in constant time, so timing reveals nothing.
        let mut found = None;
        for (i, (state, _)) in states.iter().enumerate() {
            if bool::from(presented.as_bytes().ct_eq(state.as_bytes())) {
                found = Some(i);
            }
        }
        match found {
            Some(i) => {
                states.remove(i);
                true
            }
            None => false,
        }
    }
}

pub(crate) fn random_hex() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no secure random numbers available: {e}"))?;
    Ok(hex::encode(bytes))
}
