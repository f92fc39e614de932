//! The HTTP service: routes, shared state, startup and graceful shutdown.
//!
//! Two listeners. The public one (`FOLIO_LISTEN`) takes GitHub's webhooks and serves what
//! strangers may see: `/healthz` and `/readyz` (the probes of Kubernetes and load balancers
//! reach the pod there), `/privacy`, and the setup pages until the App is configured. The admin
//! one (`FOLIO_ADMIN_LISTEN`, loopback by default) serves `/metrics` and the status page, which
//! tell the operator about traffic and queue depth and tell nobody else anything.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower_http::timeout::TimeoutLayer;
use tracing::{info, warn};

use crate::config::Settings;
use crate::dispatch::Dispatcher;
use crate::ingest::Ingestor;
use crate::state::AppState;
use crate::store::DynStore;
use crate::worker::{JobHandler, WorkerPool};

/// One Prometheus recorder per process: `metrics` allows a single global recorder, and tests
/// start several apps in one process.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            handle
        })
        .clone()
}

/// The public listener's routes. `/metrics` and the status page are not among them: they are
/// on [`admin_router`], and here they answer 404.
pub fn router(state: Arc<AppState>) -> Router {
    let max_body = state.settings.webhook.max_body_bytes;
    let timeout = state.settings.webhook.request_timeout;
    Router::new()
        .route(
            "/webhook",
            post(crate::webhook::handle).layer(DefaultBodyLimit::max(max_body)),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/privacy", get(privacy))
        .route(
            "/",
            get(crate::setup::entry)
                .post(crate::setup::register)
                .layer(DefaultBodyLimit::max(crate::setup::MAX_FORM_BYTES)),
        )
        .route("/setup/callback", get(crate::setup::callback))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .with_state(state)
}

/// The admin listener's routes: Prometheus metrics and the status page.
pub fn admin_router(state: Arc<AppState>) -> Router {
    let timeout = state.settings.webhook.request_timeout;
    Router::new()
        .route("/metrics", get(metrics_page))
        .route("/", get(status_page))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if let Err(e) = state.store.ping().await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unreachable: {e}"),
        )
            .into_response();
    }
    if !state.configured() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not set up: GitHub App credentials or webhook secret missing",
        )
            .into_response();
    }
    (StatusCode::OK, "ready").into_response()
}

/// The candidate's terms with this service's retention periods. Folio's own text only: no
/// request data reaches the page.
async fn privacy(State(state): State<Arc<AppState>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, crate::privacy::CONTENT_TYPE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        crate::privacy::page(&state.settings.retention),
    )
        .into_response()
}

async fn metrics_page(State(state): State<Arc<AppState>>) -> Response {
    if let Ok(stats) = state.store.queue_stats().await {
        metrics::gauge!("folio_queue_depth", "state" => "pending").set(stats.pending as f64);
        metrics::gauge!("folio_queue_depth", "state" => "running").set(stats.running as f64);
        metrics::gauge!("folio_queue_depth", "state" => "dead").set(stats.dead as f64);
        metrics::gauge!("folio_queue_oldest_job_age_seconds")
            .set(stats.oldest_due_age_ms as f64 / 1000.0);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// Version, health, queue and 24-hour outcome counts: no candidate names.
async fn status_page(State(state): State<Arc<AppState>>) -> Response {
    let version = crate::model::FOLIO_VERSION;
    let stats = state.store.queue_stats().await.unwrap_or_default();
    let installations = state.store.installation_count().await.unwrap_or(0);
    let day_ago = state.clock.now().as_millis() - 86_400_000;
    let outcomes = state
        .store
        .outcome_counts(day_ago)
        .await
        .unwrap_or_default();
    let healthy = state.store.ping().await.is_ok();
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Folio</title></head><body>\
         <h1>Folio {version}</h1>\
         <p>Health: {health}. Up for {up} s. GitHub App: {app}.</p>\
         <table><tr><th>installations</th><td>{installations}</td></tr>\
         <tr><th>queue: pending</th><td>{p}</td></tr><tr><th>queue: running</th><td>{r}</td></tr>\
         <tr><th>queue: dead</th><td>{d}</td></tr>\
         <tr><th>evaluations (24 h)</th><td>{e}</td></tr><tr><th>needs info (24 h)</th><td>{n}</td></tr>\
         <tr><th>failed (24 h)</th><td>{f}</td></tr></table></body></html>",
        health = if healthy {
            "ok"
        } else {
            "database unreachable"
        },
        up = state.started.elapsed().as_secs(),
        app = if state.configured() {
            "configured"
        } else {
            "not set up (open the public address and enter the token that <code>folio setup-token</code> prints)"
        },
        p = stats.pending,
        r = stats.running,
        d = stats.dead,
        e = outcomes.evaluated,
        n = outcomes.needs_info,
        f = outcomes.failed,
    );
    (StatusCode::OK, Html(body)).into_response()
}

/// A running service: the HTTP server, the ingestor, the workers, the purge loop and the
/// reconciliation of missed deliveries.
pub struct Running {
    pub addr: SocketAddr,
    /// Where the admin listener took its address (`FOLIO_ADMIN_LISTEN`).
    pub admin_addr: SocketAddr,
    pub state: Arc<AppState>,
    shutdown: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    admin_server: tokio::task::JoinHandle<anyhow::Result<()>>,
    workers: Option<WorkerPool>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Graceful stop: no new requests, running jobs finish within the grace period, the rest
    /// stay queued for the next start.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        if let Some(w) = self.workers.take() {
            w.shutdown().await;
        }
        for b in self.background.drain(..) {
            b.abort();
        }
        let admin = match self.admin_server.await {
            Ok(r) => r,
            Err(e) => Err(anyhow::anyhow!("admin server task failed: {e}")),
        };
        match self.server.await {
            Ok(r) => r,
            Err(e) => Err(anyhow::anyhow!("server task failed: {e}")),
        }?;
        admin
    }
}

/// Starts everything on an already-bound public listener; the admin listener is bound here, on
/// `FOLIO_ADMIN_LISTEN`. `handler` overrides the job handler (tests).
pub async fn start(
    settings: Settings,
    store: DynStore,
    listener: TcpListener,
    handler: Option<Arc<dyn JobHandler>>,
) -> anyhow::Result<Running> {
    let addr = listener.local_addr().context("listener has no address")?;
    let admin_listener = TcpListener::bind(settings.admin_listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (FOLIO_ADMIN_LISTEN)",
                settings.admin_listen
            )
        })?;
    let admin_addr = admin_listener
        .local_addr()
        .context("admin listener has no address")?;
    let setup_token = open_setup(&settings);
    // One clock for the service and its store: leases, run times and ages agree.
    let clock = store.clock().clone();
    let jobs_ready = Arc::new(Notify::new());
    // PostgreSQL flushes the WAL of concurrent commits together, so a few transactions in
    // flight share one fsync; more than a few make the batches smaller and the server's CPU per
    // delivery (which shares the cores) larger. SQLite commits one at a time on its writer thread, which merges the batches
    // queued behind the one committing into its next transaction: several writers here keep
    // that queue filled, so the next commit starts the moment one ends.
    let writers = 4;
    // Answer 503 before GitHub's own 10 s timeout would record a timeout instead.
    let deadline = settings.webhook.request_timeout.mul_f64(0.75);
    let ingestor = Ingestor::start(
        store.clone(),
        settings.webhook.max_batch,
        writers,
        deadline,
        jobs_ready.clone(),
    );
    let state = Arc::new(AppState {
        secrets: RwLock::new(settings.webhook_secrets.clone()),
        app: RwLock::new(settings.app.clone()),
        settings: settings.clone(),
        store: store.clone(),
        ingestor,
        jobs_ready: jobs_ready.clone(),
        metrics: metrics_handle(),
        started: Instant::now(),
        clock: clock.clone(),
        setup: crate::state::SetupGate::new(setup_token),
        webhook_bytes: Arc::new(tokio::sync::Semaphore::new(
            settings
                .webhook
                .max_inflight_bytes
                .min(tokio::sync::Semaphore::MAX_PERMITS),
        )),
        archive_budget: crate::archive::ArchiveBudget::new(settings.archive.max_inflight_bytes),
    });
    let handler: Arc<dyn JobHandler> = match handler {
        Some(h) => h,
        None => Arc::new(Dispatcher::new(state.clone())),
    };
    let instance = format!("{}-{}", hostname(), std::process::id());
    let workers = WorkerPool::start(
        store.clone(),
        handler,
        settings.queue.clone(),
        settings.workers,
        jobs_ready,
        &instance,
    );

    let purge_store = store.clone();
    let purge_clock = clock.clone();
    let retention = settings.retention.clone();
    let purge = tokio::spawn(async move {
        let mut tick = tokio::time::interval(retention.purge_interval);
        loop {
            tick.tick().await;
            match purge_store
                .purge(
                    purge_clock.now().as_millis(),
                    retention.closed_issue_days,
                    retention.cache_days,
                )
                .await
            {
                Ok(c) => info!(?c, "retention purge"),
                Err(e) => warn!(error = %e, "retention purge failed"),
            }
        }
    });

    let reconcile = tokio::spawn(crate::reconcile::run_forever(state.clone()));

    let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    let app = router(state.clone());
    let limits = ConnectionLimits {
        header_read_timeout: state.settings.webhook.header_read_timeout,
        max_connections: state.settings.webhook.max_connections,
    };
    let server = tokio::spawn(serve_connections(
        listener,
        app,
        limits,
        shutdown_rx.clone(),
    ));
    let admin_server = tokio::spawn(serve_connections(
        admin_listener,
        admin_router(state.clone()),
        limits,
        shutdown_rx,
    ));
    info!(%addr, %admin_addr, backend = store.backend(), configured = state.configured(), "folio is listening");
    Ok(Running {
        addr,
        admin_addr,
        state,
        shutdown,
        server,
        admin_server,
        workers: Some(workers),
        background: vec![purge, reconcile],
    })
}

/// The setup token when setup is open, and a log line saying where to find it (never the
/// token itself: logs travel to log stores that more people read). When the App is already
/// configured, a token file left from an earlier setup is deleted.
fn open_setup(settings: &Settings) -> Option<crate::config::Secret> {
    if settings.configured() {
        match crate::setup_token::remove(&settings.credentials_path) {
            Ok(true) => info!("setup is done: deleted the leftover setup token file"),
            Ok(false) => {}
            Err(e) => {
                warn!(error = %format!("{e:#}"), "cannot delete the leftover setup token file")
            }
        }
        return None;
    }
    // Not fatal (SPEC §4: only an invalid setting stops startup): the service still serves its
    // probes, and this line says why setup stays closed.
    let token = match crate::setup_token::load_or_create(settings) {
        Ok(t) => t,
        Err(e) => {
            warn!(
                error = %format!("{e:#}"),
                "no GitHub App credentials, and setup stays closed: /webhook answers 503"
            );
            return None;
        }
    };
    let public = settings.public_url.as_str().trim_end_matches('/');
    match &token.source {
        crate::setup_token::Source::Environment => warn!(
            setup_url = %format!("{public}/"),
            "no GitHub App credentials: /webhook answers 503 until setup is done; open the setup \
             page and enter the setup token you set in FOLIO_SETUP_TOKEN"
        ),
        crate::setup_token::Source::File(path) => warn!(
            setup_url = %format!("{public}/"),
            token_file = %path.display(),
            "no GitHub App credentials: /webhook answers 503 until setup is done; open the setup \
             page and enter the one-time setup token, which `folio setup-token` prints (or read \
             the token file)"
        ),
    }
    Some(token.secret)
}

#[derive(Debug, Clone, Copy)]
struct ConnectionLimits {
    header_read_timeout: Duration,
    max_connections: usize,
}

/// Serves each accepted connection with hyper directly: a header-read timeout (so a client
/// that trickles its request head cannot hold a connection) and a cap on open connections (so
/// that many such clients cannot exhaust file descriptors). Over the cap, a connection is
/// closed as soon as it is accepted. On shutdown, open connections finish their requests.
async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    mut shutdown_rx: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt as _;

    let open = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let stop = async move {
        let _ = shutdown_rx.wait_for(|v| *v).await;
    };
    tokio::pin!(stop);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            metrics::counter!("folio_connections_refused_total").increment(1);
            drop(stream);
            continue;
        };
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                app.clone().oneshot(req.map(axum::body::Body::new))
            });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout);
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "folio".to_string())
}

/// `folio serve`: runs until SIGTERM or SIGINT.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let store = crate::store::connect(&settings.database_url)
        .await
        .with_context(|| format!("opening {}", redact_url(&settings.database_url)))?;
    store.migrate().await.context("applying migrations")?;
    let released = store
        .release_orphans()
        .await
        .context("releasing jobs cut off by the last stop")?;
    if released > 0 {
        info!(
            jobs = released,
            "jobs cut off by the last stop run again now"
        );
    }
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let running = start(settings, store, listener, None).await?;
    shutdown_signal().await;
    info!("shutting down: finishing running jobs");
    running.stop().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// Database URLs may carry a password; never print it.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
