//! Layered configuration: the embedded `config/default.toml`, then an optional `--config`
//! file, then `FOLIO_*` environment variables.
//!
//! Secrets are only taken from the environment or from files, and are held in [`Secret`] so
//! that neither `Debug` nor logs can print them. A setting that is present but invalid is an
//! error that names the setting; a missing secret is not an error (`serve` then runs in setup
//! mode).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

mod file;
mod load;

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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

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
