//! Settings from the layers and the environment: each `FOLIO_*` variable over the file's
//! value, checked and named when invalid; the App's credentials from the environment or the
//! file the setup flow wrote.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::file::{DEFAULT_TOML, FileLayer, TelemetryLayer};
use super::{
    AppCredentials, ArchiveSettings, ConfigError, GithubSettings, LogFormat, MIN_SETUP_TOKEN_CHARS,
    OtlpSettings, QueueSettings, ReconcileSettings, RetentionSettings, Secret, Settings,
    StoredCredentials, WebhookSettings, invalid,
};

/// The OpenTelemetry default collector address for OTLP/HTTP.
const OTLP_DEFAULT_ENDPOINT: &str = "http://localhost:4318";

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
