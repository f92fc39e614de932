//! Layered configuration: the embedded `config/default.toml`, then an optional `--config`
//! file, then `FOLIO_*` environment variables.
//!
//! Secrets are only taken from the environment or from files, and are held in [`Secret`] so
//! that neither `Debug` nor logs can print them. A setting that is present but invalid is an
//! error that names the setting; a missing secret is not an error (`serve` then runs in setup
//! mode).

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// A secret value whose `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The one door to the value; grep for it to audit where secrets go.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid setting {name}: {reason}")]
    Invalid { name: String, reason: String },
    #[error("cannot read config file {path}: {reason}")]
    File { path: String, reason: String },
}

fn invalid(name: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name: name.to_string(),
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub max_body_bytes: usize,
    /// Webhook body bytes being received at once, across all requests; past it, 503.
    pub max_inflight_bytes: usize,
    /// A connection that has not sent a whole request head by then is closed.
    pub header_read_timeout: Duration,
    /// Open connections on the main listener; more are closed as soon as they are accepted.
    pub max_connections: usize,
    pub request_timeout: Duration,
    pub max_batch: usize,
}

#[derive(Debug, Clone)]
pub struct QueueSettings {
    pub lease: Duration,
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub poll_interval: Duration,
    pub shutdown_grace: Duration,
}

#[derive(Debug, Clone)]
pub struct RetentionSettings {
    pub closed_issue_days: u32,
    pub cache_days: u32,
    pub purge_interval: Duration,
}

/// Asking GitHub again for deliveries that failed (`src/reconcile.rs`).
#[derive(Debug, Clone)]
pub struct ReconcileSettings {
    pub interval: Duration,
    /// Only deliveries this recent are considered.
    pub lookback: Duration,
    /// Redeliveries asked for per failed delivery, at most.
    pub max_attempts: u32,
}

#[derive(Debug, Clone)]
pub struct GithubSettings {
    pub request_timeout: Duration,
    pub max_retries: u32,
    pub retry_base: Duration,
    pub max_concurrent_requests: usize,
    /// The largest response body read from GitHub; a larger one is refused part-way.
    pub max_response_bytes: usize,
}

/// Repository tarballs: what one may cost, and what all of them together may hold.
#[derive(Debug, Clone)]
pub struct ArchiveSettings {
    /// Bytes held by extractions in progress, all evaluations together.
    pub max_inflight_bytes: usize,
    /// What one archive may unpack to, entries that are not read included.
    pub max_unpacked_bytes: u64,
    /// Tar entries in one archive.
    pub max_entries: u64,
}

/// Where OTLP trace export goes. Present only when export is switched on (`FOLIO_OTLP`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpSettings {
    /// The full OTLP/HTTP traces URL, `/v1/traces` included.
    pub traces_endpoint: url::Url,
    pub service_name: String,
}

/// The shortest `FOLIO_SETUP_TOKEN` accepted.
pub(crate) const MIN_SETUP_TOKEN_CHARS: usize = 16;

/// The OpenTelemetry default collector address for OTLP/HTTP.
const OTLP_DEFAULT_ENDPOINT: &str = "http://localhost:4318";

/// GitHub App credentials: present only when all of them are configured.
#[derive(Debug, Clone)]
pub struct AppCredentials {
    pub app_id: u64,
    pub private_key: Secret,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// The admin listener: `/metrics` and the status page, kept off the public webhook port.
    pub admin_listen: SocketAddr,
    pub database_url: String,
    pub github_api_url: url::Url,
    pub web_url: url::Url,
    pub public_url: url::Url,
    /// Where the candidate's terms are published, when not on Folio's own `/privacy` page.
    pub privacy_url: Option<url::Url>,
    pub credentials_path: PathBuf,
    /// The operator's own setup token (`FOLIO_SETUP_TOKEN`); without it one is generated and
    /// kept beside the credentials (`setup_token::path`).
    pub setup_token: Option<Secret>,
    pub workers: usize,
    pub log: String,
    pub log_format: LogFormat,
    /// OTLP trace export; `None` when it is switched off (the default).
    pub otlp: Option<OtlpSettings>,
    pub app: Option<AppCredentials>,
    /// Several secrets are accepted at once so that the secret can be rotated.
    pub webhook_secrets: Vec<Secret>,
    pub github_token: Option<Secret>,
    pub webhook: WebhookSettings,
    pub queue: QueueSettings,
    pub retention: RetentionSettings,
    pub github: GithubSettings,
    pub archive: ArchiveSettings,
    pub reconcile: ReconcileSettings,
}

/// The file layer: every field optional, unknown keys rejected so typos are caught.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLayer {
    listen: Option<String>,
    admin_listen: Option<String>,
    database_url: Option<String>,
    github_api_url: Option<String>,
    web_url: Option<String>,
    public_url: Option<String>,
    privacy_url: Option<String>,
    credentials_path: Option<String>,
    workers: Option<i64>,
    log: Option<String>,
    log_format: Option<String>,
    app_id: Option<i64>,
    private_key_path: Option<String>,
    #[serde(default)]
    webhook: WebhookLayer,
    #[serde(default)]
    queue: QueueLayer,
    #[serde(default)]
    retention: RetentionLayer,
    #[serde(default)]
    github: GithubLayer,
    #[serde(default)]
    archive: ArchiveLayer,
    #[serde(default)]
    reconcile: ReconcileLayer,
    #[serde(default)]
    telemetry: TelemetryLayer,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TelemetryLayer {
    otlp: Option<bool>,
    otlp_endpoint: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookLayer {
    max_body_bytes: Option<i64>,
    max_inflight_bytes: Option<i64>,
    header_read_timeout_seconds: Option<i64>,
    max_connections: Option<i64>,
    request_timeout_seconds: Option<i64>,
    max_batch: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueLayer {
    lease_seconds: Option<i64>,
    max_attempts: Option<i64>,
    backoff_base_seconds: Option<i64>,
    backoff_max_seconds: Option<i64>,
    poll_interval_ms: Option<i64>,
    shutdown_grace_seconds: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionLayer {
    closed_issue_days: Option<i64>,
    cache_days: Option<i64>,
    purge_interval_seconds: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GithubLayer {
    request_timeout_seconds: Option<i64>,
    max_retries: Option<i64>,
    retry_base_ms: Option<i64>,
    max_concurrent_requests: Option<i64>,
    max_response_bytes: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchiveLayer {
    max_inflight_bytes: Option<i64>,
    max_unpacked_bytes: Option<i64>,
    max_entries: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReconcileLayer {
    interval_seconds: Option<i64>,
    lookback_hours: Option<i64>,
    max_attempts: Option<i64>,
}

macro_rules! overlay {
    ($base:expr, $top:expr, [$($field:ident),*]) => {
        $( if $top.$field.is_some() { $base.$field = $top.$field; } )*
    };
}

impl FileLayer {
    fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::File {
            path: origin.to_string(),
            reason: e.message().to_string(),
        })
    }

    fn overlay(&mut self, top: FileLayer) {
        overlay!(
            self,
            top,
            [
                listen,
                admin_listen,
                database_url,
                github_api_url,
                web_url,
                public_url,
                privacy_url,
                credentials_path,
                workers,
                log,
                log_format,
                app_id,
                private_key_path
            ]
        );
        overlay!(
            self.webhook,
            top.webhook,
            [
                max_body_bytes,
                max_inflight_bytes,
                header_read_timeout_seconds,
                max_connections,
                request_timeout_seconds,
                max_batch
            ]
        );
        overlay!(
            self.queue,
            top.queue,
            [
                lease_seconds,
                max_attempts,
                backoff_base_seconds,
                backoff_max_seconds,
                poll_interval_ms,
                shutdown_grace_seconds
            ]
        );
        overlay!(
            self.retention,
            top.retention,
            [closed_issue_days, cache_days, purge_interval_seconds]
        );
        overlay!(
            self.github,
            top.github,
            [
                request_timeout_seconds,
                max_retries,
                retry_base_ms,
                max_concurrent_requests,
                max_response_bytes
            ]
        );
        overlay!(
            self.archive,
            top.archive,
            [max_inflight_bytes, max_unpacked_bytes, max_entries]
        );
        overlay!(
            self.reconcile,
            top.reconcile,
            [interval_seconds, lookback_hours, max_attempts]
        );
        overlay!(self.telemetry, top.telemetry, [otlp, otlp_endpoint]);
    }
}

/// Credentials written by the setup flow (App Manifest conversion).
#[derive(Deserialize, serde::Serialize)]
pub struct StoredCredentials {
    pub app_id: u64,
    pub pem: String,
    pub webhook_secret: String,
    #[serde(default)]
    pub slug: Option<String>,
}

// By hand, so that the key and the secret never reach a log line.
impl fmt::Debug for StoredCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredentials")
            .field("app_id", &self.app_id)
            .field("pem", &"[redacted]")
            .field("webhook_secret", &"[redacted]")
            .field("slug", &self.slug)
            .finish()
    }
}

impl Settings {
    /// Loads settings from the process environment.
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::load_from(config_file, &env)
    }

    /// Loads settings from an explicit environment map (tests pass their own).
    pub fn load_from(
        config_file: Option<&Path>,
        env: &HashMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let mut layer = FileLayer::parse(DEFAULT_TOML, "config/default.toml (embedded)")?;
        if let Some(path) = config_file {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            layer.overlay(FileLayer::parse(&text, &path.display().to_string())?);
        }
        let get = |name: &str| env.get(name).filter(|v| !v.trim().is_empty()).cloned();

        let pick = |name: &str, file: &Option<String>| -> Result<String, ConfigError> {
            get(name)
                .or_else(|| file.clone())
                .ok_or_else(|| invalid(name, "no value and no default"))
        };

        let listen_text = pick("FOLIO_LISTEN", &layer.listen)?;
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            invalid(
                "FOLIO_LISTEN",
                format!("{listen_text:?} is not an address like 127.0.0.1:3000"),
            )
        })?;

        let admin_text = pick("FOLIO_ADMIN_LISTEN", &layer.admin_listen)?;
        let admin_listen: SocketAddr = admin_text.parse().map_err(|_| {
            invalid(
                "FOLIO_ADMIN_LISTEN",
                format!("{admin_text:?} is not an address like 127.0.0.1:9090"),
            )
        })?;
        if admin_listen == listen && listen.port() != 0 {
            return Err(invalid(
                "FOLIO_ADMIN_LISTEN",
                "must differ from FOLIO_LISTEN: the admin pages stay off the public port",
            ));
        }

        let database_url = pick("FOLIO_DATABASE_URL", &layer.database_url)?;
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "FOLIO_DATABASE_URL",
                "must start with sqlite:// or postgres://",
            ));
        }

        let parse_url = |name: &str, value: String| -> Result<url::Url, ConfigError> {
            let u = url::Url::parse(value.trim_end_matches('/'))
                .map_err(|e| invalid(name, format!("{value:?} is not a URL ({e})")))?;
            if !matches!(u.scheme(), "http" | "https") {
                return Err(invalid(name, "must be an http:// or https:// URL"));
            }
            Ok(u)
        };
        let github_api_url = parse_url(
            "FOLIO_GITHUB_API_URL",
            pick("FOLIO_GITHUB_API_URL", &layer.github_api_url)?,
        )?;
        let web_url = parse_url("FOLIO_WEB_URL", pick("FOLIO_WEB_URL", &layer.web_url)?)?;
        let public_url = parse_url(
            "FOLIO_PUBLIC_URL",
            pick("FOLIO_PUBLIC_URL", &layer.public_url)?,
        )?;
        let privacy_url = get("FOLIO_PRIVACY_URL")
            .or_else(|| layer.privacy_url.clone())
            .filter(|v| !v.trim().is_empty())
            .map(|v| parse_url("FOLIO_PRIVACY_URL", v))
            .transpose()?;
        let credentials_path =
            PathBuf::from(pick("FOLIO_CREDENTIALS_PATH", &layer.credentials_path)?);
        // From the environment only, like every secret. A short token could be guessed
        // through the public setup page.
        let setup_token = match env.get("FOLIO_SETUP_TOKEN") {
            None => None,
            Some(t) if t.trim().is_empty() => None,
            Some(t) if t.trim().chars().count() < MIN_SETUP_TOKEN_CHARS => {
                return Err(invalid(
                    "FOLIO_SETUP_TOKEN",
                    format!("must have at least {MIN_SETUP_TOKEN_CHARS} characters"),
                ));
            }
            Some(t) => Some(Secret::new(t.trim())),
        };

        let workers = match get("FOLIO_WORKERS") {
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map_err(|_| invalid("FOLIO_WORKERS", format!("{v:?} is not a whole number")))?,
            None => layer.workers.unwrap_or(4),
        };
        if !(1..=256).contains(&workers) {
            return Err(invalid("FOLIO_WORKERS", "must be between 1 and 256"));
        }

        let log = pick("FOLIO_LOG", &layer.log)?;
        tracing_subscriber::EnvFilter::try_new(&log)
            .map_err(|e| invalid("FOLIO_LOG", format!("{log:?} is not a log filter ({e})")))?;
        let log_format = match pick("FOLIO_LOG_FORMAT", &layer.log_format)?.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid(
                    "FOLIO_LOG_FORMAT",
                    format!("{other:?} is neither text nor json"),
                ));
            }
        };

        let otlp = load_otlp(&layer.telemetry, env)?;

        let app = load_app_credentials(&layer, env, &credentials_path)?;
        let mut webhook_secrets: Vec<Secret> = match get("FOLIO_WEBHOOK_SECRET") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Secret::new)
                .collect(),
            None => Vec::new(),
        };
        if webhook_secrets.is_empty()
            && let Some(stored) = read_stored_credentials(&credentials_path)?
        {
            webhook_secrets.push(Secret::new(stored.webhook_secret));
        }

        let github_token = get("GITHUB_TOKEN").map(Secret::new);

        let positive = |name: &str, v: Option<i64>| -> Result<u64, ConfigError> {
            match v {
                Some(n) if n > 0 => Ok(n as u64),
                Some(_) => Err(invalid(name, "must be a positive number")),
                None => Err(invalid(name, "no value and no default")),
            }
        };
        let w = &layer.webhook;
        let webhook = WebhookSettings {
            max_body_bytes: positive("webhook.max_body_bytes", w.max_body_bytes)? as usize,
            max_inflight_bytes: positive("webhook.max_inflight_bytes", w.max_inflight_bytes)?
                as usize,
            header_read_timeout: Duration::from_secs(positive(
                "webhook.header_read_timeout_seconds",
                w.header_read_timeout_seconds,
            )?),
            max_connections: positive("webhook.max_connections", w.max_connections)? as usize,
            request_timeout: Duration::from_secs(positive(
                "webhook.request_timeout_seconds",
                w.request_timeout_seconds,
            )?),
            max_batch: positive("webhook.max_batch", w.max_batch)? as usize,
        };
        let q = &layer.queue;
        let queue = QueueSettings {
            lease: Duration::from_secs(positive("queue.lease_seconds", q.lease_seconds)?),
            max_attempts: positive("queue.max_attempts", q.max_attempts)? as u32,
            backoff_base: Duration::from_secs(positive(
                "queue.backoff_base_seconds",
                q.backoff_base_seconds,
            )?),
            backoff_max: Duration::from_secs(positive(
                "queue.backoff_max_seconds",
                q.backoff_max_seconds,
            )?),
            poll_interval: Duration::from_millis(positive(
                "queue.poll_interval_ms",
                q.poll_interval_ms,
            )?),
            shutdown_grace: Duration::from_secs(positive(
                "queue.shutdown_grace_seconds",
                q.shutdown_grace_seconds,
            )?),
        };
        let r = &layer.retention;
        let retention = RetentionSettings {
            closed_issue_days: positive("retention.closed_issue_days", r.closed_issue_days)? as u32,
            cache_days: positive("retention.cache_days", r.cache_days)? as u32,
            purge_interval: Duration::from_secs(positive(
                "retention.purge_interval_seconds",
                r.purge_interval_seconds,
            )?),
        };
        let g = &layer.github;
        let github = GithubSettings {
            request_timeout: Duration::from_secs(positive(
                "github.request_timeout_seconds",
                g.request_timeout_seconds,
            )?),
            max_retries: positive("github.max_retries", g.max_retries)? as u32,
            retry_base: Duration::from_millis(positive("github.retry_base_ms", g.retry_base_ms)?),
            max_concurrent_requests: positive(
                "github.max_concurrent_requests",
                g.max_concurrent_requests,
            )? as usize,
            max_response_bytes: positive("github.max_response_bytes", g.max_response_bytes)?
                as usize,
        };
        let a = &layer.archive;
        let archive = ArchiveSettings {
            max_inflight_bytes: positive("archive.max_inflight_bytes", a.max_inflight_bytes)?
                as usize,
            max_unpacked_bytes: positive("archive.max_unpacked_bytes", a.max_unpacked_bytes)?,
            max_entries: positive("archive.max_entries", a.max_entries)?,
        };
        let rc = &layer.reconcile;
        let interval_seconds = match get("FOLIO_RECONCILE_INTERVAL") {
            Some(v) => Some(v.trim().parse::<i64>().map_err(|_| {
                invalid(
                    "FOLIO_RECONCILE_INTERVAL",
                    format!("{v:?} is not a whole number of seconds"),
                )
            })?),
            None => rc.interval_seconds,
        };
        let reconcile = ReconcileSettings {
            interval: Duration::from_secs(positive(
                "FOLIO_RECONCILE_INTERVAL (reconcile.interval_seconds)",
                interval_seconds,
            )?),
            lookback: Duration::from_secs(
                positive("reconcile.lookback_hours", rc.lookback_hours)? * 3600,
            ),
            max_attempts: positive("reconcile.max_attempts", rc.max_attempts)? as u32,
        };

        Ok(Settings {
            listen,
            admin_listen,
            database_url,
            github_api_url,
            web_url,
            public_url,
            privacy_url,
            credentials_path,
            setup_token,
            workers: workers as usize,
            log,
            log_format,
            otlp,
            app,
            webhook_secrets,
            github_token,
            webhook,
            queue,
            retention,
            github,
            archive,
            reconcile,
        })
    }

    /// Where the candidate's terms are: `FOLIO_PRIVACY_URL` when set, else the `/privacy` page
    /// this service serves under its public URL.
    pub fn terms_url(&self) -> String {
        match &self.privacy_url {
            Some(u) => u.to_string(),
            None => format!("{}/privacy", self.public_url.as_str().trim_end_matches('/')),
        }
    }

    /// Whether the service can take webhooks: it needs a secret to check them against.
    pub fn webhooks_enabled(&self) -> bool {
        !self.webhook_secrets.is_empty()
    }

    /// Whether the App is configured, so that setup is over (as `AppState::configured`).
    pub(crate) fn configured(&self) -> bool {
        self.app.is_some() && self.webhooks_enabled()
    }
}

fn read_stored_credentials(path: &Path) -> Result<Option<StoredCredentials>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| invalid("FOLIO_CREDENTIALS_PATH", format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(invalid(
            "FOLIO_CREDENTIALS_PATH",
            format!("{}: {e}", path.display()),
        )),
    }
}

/// The switch is Folio's own (`FOLIO_OTLP`); where to send and under which service name follow
/// the standard OpenTelemetry variables, so that a collector set up for other services works
/// unchanged. The endpoint is resolved here rather than by the exporter so that a bad value
/// stops startup with the variable's name, like every other setting.
fn load_otlp(
    file: &TelemetryLayer,
    env: &HashMap<String, String>,
) -> Result<Option<OtlpSettings>, ConfigError> {
    let get = |name: &str| env.get(name).filter(|v| !v.trim().is_empty()).cloned();
    let on = match get("FOLIO_OTLP") {
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => {
                return Err(invalid(
                    "FOLIO_OTLP",
                    format!("{v:?} is neither true nor false"),
                ));
            }
        },
        None => file.otlp.unwrap_or(false),
    };
    if !on {
        return Ok(None);
    }
    let (name, traces_endpoint) = if let Some(full) = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        // The spec says the per-signal variable is used as given, path and all.
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            full.trim().to_string(),
        )
    } else {
        let (name, base) = match get("OTEL_EXPORTER_OTLP_ENDPOINT") {
            Some(v) => ("OTEL_EXPORTER_OTLP_ENDPOINT", v),
            None => match &file.otlp_endpoint {
                Some(v) => ("telemetry.otlp_endpoint", v.clone()),
                None => ("telemetry.otlp_endpoint", OTLP_DEFAULT_ENDPOINT.to_string()),
            },
        };
        (
            name,
            format!("{}/v1/traces", base.trim().trim_end_matches('/')),
        )
    };
    let url = url::Url::parse(&traces_endpoint)
        .map_err(|e| invalid(name, format!("{traces_endpoint:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(name, "must be an http:// or https:// URL"));
    }
    let service_name = get("OTEL_SERVICE_NAME")
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| "folio".to_string());
    Ok(Some(OtlpSettings {
        traces_endpoint: url,
        service_name,
    }))
}

fn load_app_credentials(
    layer: &FileLayer,
    env: &HashMap<String, String>,
    credentials_path: &Path,
) -> Result<Option<AppCredentials>, ConfigError> {
    let get = |name: &str| env.get(name).filter(|v| !v.trim().is_empty()).cloned();
    let app_id = match get("FOLIO_APP_ID") {
        Some(v) => Some(
            v.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| invalid("FOLIO_APP_ID", format!("{v:?} is not an app id")))?,
        ),
        None => match layer.app_id {
            Some(n) if n > 0 => Some(n as u64),
            Some(_) => return Err(invalid("app_id", "must be a positive number")),
            None => None,
        },
    };
    let key = if let Some(pem) = get("FOLIO_PRIVATE_KEY") {
        // Environment variables often carry the PEM with literal "\n" sequences.
        Some(("FOLIO_PRIVATE_KEY", pem.replace("\\n", "\n")))
    } else if let Some(path) = get("FOLIO_PRIVATE_KEY_PATH").or(layer.private_key_path.clone()) {
        let pem = std::fs::read_to_string(&path).map_err(|e| {
            invalid(
                "FOLIO_PRIVATE_KEY_PATH",
                format!("cannot read {path:?}: {e}"),
            )
        })?;
        Some(("FOLIO_PRIVATE_KEY_PATH", pem))
    } else {
        None
    };

    match (app_id, key) {
        (Some(app_id), Some((name, pem))) => {
            jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| {
                invalid(
                    name,
                    "not an RSA private key in PEM format (download it from the app's settings)",
                )
            })?;
            Ok(Some(AppCredentials {
                app_id,
                private_key: Secret::new(pem),
            }))
        }
        (None, None) => match read_stored_credentials(credentials_path)? {
            Some(stored) => Ok(Some(AppCredentials {
                app_id: stored.app_id,
                private_key: Secret::new(stored.pem),
            })),
            None => Ok(None),
        },
        (Some(_), None) => Err(invalid(
            "FOLIO_PRIVATE_KEY",
            "FOLIO_APP_ID is set but neither FOLIO_PRIVATE_KEY nor FOLIO_PRIVATE_KEY_PATH is",
        )),
        (None, Some((name, _))) => Err(invalid(
            name,
            "a private key is set but FOLIO_APP_ID is not",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        let mut m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // Keep the tests independent of a credentials file in the working directory.
        m.entry("FOLIO_CREDENTIALS_PATH".into())
            .or_insert_with(|| "/nonexistent/folio-credentials.json".into());
        m
    }

    #[test]
    fn defaults_load_without_any_secret() {
        let s = Settings::load_from(None, &env(&[])).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(s.database_url, "sqlite://folio.db");
        assert_eq!(s.workers, 4);
        assert!(s.app.is_none());
        assert!(!s.webhooks_enabled());
    }

    #[test]
    fn env_overrides_file_overrides_default() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("folio.toml");
        std::fs::write(&file, "workers = 7\nlisten = \"0.0.0.0:8080\"\n").unwrap();
        let s = Settings::load_from(Some(&file), &env(&[("FOLIO_WORKERS", "9")])).unwrap();
        assert_eq!(s.workers, 9);
        assert_eq!(s.listen.to_string(), "0.0.0.0:8080");
    }

    #[test]
    fn invalid_setting_names_itself() {
        let err = Settings::load_from(None, &env(&[("FOLIO_WORKERS", "many")])).unwrap_err();
        assert!(err.to_string().contains("FOLIO_WORKERS"), "{err}");
        let err = Settings::load_from(None, &env(&[("FOLIO_LISTEN", "nowhere")])).unwrap_err();
        assert!(err.to_string().contains("FOLIO_LISTEN"), "{err}");
        let err = Settings::load_from(None, &env(&[("FOLIO_APP_ID", "12")])).unwrap_err();
        assert!(err.to_string().contains("FOLIO_PRIVATE_KEY"), "{err}");
    }

    #[test]
    fn admin_listener_defaults_to_loopback_and_is_set_apart() {
        let s = Settings::load_from(None, &env(&[])).unwrap();
        assert_eq!(s.admin_listen.to_string(), "127.0.0.1:9090");
        let s = Settings::load_from(None, &env(&[("FOLIO_ADMIN_LISTEN", "0.0.0.0:9191")])).unwrap();
        assert_eq!(s.admin_listen.to_string(), "0.0.0.0:9191");
        for bad in ["nowhere", "127.0.0.1:3000"] {
            let err = Settings::load_from(None, &env(&[("FOLIO_ADMIN_LISTEN", bad)])).unwrap_err();
            assert!(err.to_string().contains("FOLIO_ADMIN_LISTEN"), "{err}");
        }
    }

    #[test]
    fn setup_token_comes_from_the_environment_and_is_long_enough() {
        let s = Settings::load_from(None, &env(&[])).unwrap();
        assert!(s.setup_token.is_none());
        let s = Settings::load_from(
            None,
            &env(&[("FOLIO_SETUP_TOKEN", " correct-horse-battery-staple ")]),
        )
        .unwrap();
        let token = s.setup_token.expect("a token");
        assert_eq!(token.expose(), "correct-horse-battery-staple");
        assert!(!format!("{token:?}").contains("horse"));
        let err = Settings::load_from(None, &env(&[("FOLIO_SETUP_TOKEN", "hunter2")])).unwrap_err();
        assert!(err.to_string().contains("FOLIO_SETUP_TOKEN"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn terms_url_is_the_privacy_setting_else_the_served_page() {
        let s = Settings::load_from(
            None,
            &env(&[("FOLIO_PUBLIC_URL", "https://folio.example.com/")]),
        )
        .unwrap();
        assert_eq!(s.terms_url(), "https://folio.example.com/privacy");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("folio.toml");
        std::fs::write(&file, "privacy_url = \"https://jobs.example.com/terms\"\n").unwrap();
        let s = Settings::load_from(Some(&file), &env(&[])).unwrap();
        assert_eq!(s.terms_url(), "https://jobs.example.com/terms");
        let s = Settings::load_from(
            Some(&file),
            &env(&[("FOLIO_PRIVACY_URL", "https://hr.example.com/folio-terms")]),
        )
        .unwrap();
        assert_eq!(s.terms_url(), "https://hr.example.com/folio-terms");

        let err =
            Settings::load_from(None, &env(&[("FOLIO_PRIVACY_URL", "ftp://x/terms")])).unwrap_err();
        assert!(err.to_string().contains("FOLIO_PRIVACY_URL"), "{err}");
    }

    #[test]
    fn unknown_key_in_file_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("folio.toml");
        std::fs::write(&file, "webhook_secret = \"oops\"\n").unwrap();
        let err = Settings::load_from(Some(&file), &env(&[])).unwrap_err();
        assert!(err.to_string().contains("webhook_secret"), "{err}");
    }

    #[test]
    fn otlp_is_off_by_default_even_with_an_endpoint() {
        let s = Settings::load_from(
            None,
            &env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")]),
        )
        .unwrap();
        assert_eq!(s.otlp, None);
    }

    #[test]
    fn otlp_endpoint_follows_the_otel_variables() {
        let s = Settings::load_from(None, &env(&[("FOLIO_OTLP", "true")])).unwrap();
        let o = s.otlp.unwrap();
        assert_eq!(
            o.traces_endpoint.as_str(),
            "http://localhost:4318/v1/traces"
        );
        assert_eq!(o.service_name, "folio");

        let s = Settings::load_from(
            None,
            &env(&[
                ("FOLIO_OTLP", "1"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
                ("OTEL_SERVICE_NAME", "folio-staging"),
            ]),
        )
        .unwrap();
        let o = s.otlp.unwrap();
        assert_eq!(
            o.traces_endpoint.as_str(),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(o.service_name, "folio-staging");

        let s = Settings::load_from(
            None,
            &env(&[
                ("FOLIO_OTLP", "on"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
                (
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "https://otel.example/ingest",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(
            s.otlp.unwrap().traces_endpoint.as_str(),
            "https://otel.example/ingest"
        );
    }

    #[test]
    fn otlp_from_the_config_file_and_bad_values_name_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("folio.toml");
        std::fs::write(
            &file,
            "[telemetry]\notlp = true\notlp_endpoint = \"http://otel:4318\"\n",
        )
        .unwrap();
        let s = Settings::load_from(Some(&file), &env(&[])).unwrap();
        assert_eq!(
            s.otlp.unwrap().traces_endpoint.as_str(),
            "http://otel:4318/v1/traces"
        );
        // The environment switches it off again.
        let s = Settings::load_from(Some(&file), &env(&[("FOLIO_OTLP", "false")])).unwrap();
        assert_eq!(s.otlp, None);

        let err = Settings::load_from(None, &env(&[("FOLIO_OTLP", "maybe")])).unwrap_err();
        assert!(err.to_string().contains("FOLIO_OTLP"), "{err}");
        let err = Settings::load_from(
            None,
            &env(&[
                ("FOLIO_OTLP", "true"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            ]),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("OTEL_EXPORTER_OTLP_ENDPOINT"),
            "{err}"
        );
    }

    #[test]
    fn webhook_secret_list_and_redaction() {
        let s = Settings::load_from(
            None,
            &env(&[("FOLIO_WEBHOOK_SECRET", "old-secret, new-secret")]),
        )
        .unwrap();
        assert_eq!(s.webhook_secrets.len(), 2);
        assert_eq!(s.webhook_secrets[1].expose(), "new-secret");
        let printed = format!("{s:?}");
        assert!(!printed.contains("old-secret"));
        assert!(!printed.contains("new-secret"));
    }
}
