//! The file layers of the configuration: the embedded defaults and an optional `--config`
//! file, each parsed on its own with unknown keys rejected, the later overlaid on the earlier.

use serde::Deserialize;

use super::ConfigError;

/// The defaults, as committed.
pub(super) const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// The file layer: every field optional, unknown keys rejected so typos are caught.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileLayer {
    pub(super) listen: Option<String>,
    pub(super) admin_listen: Option<String>,
    pub(super) database_url: Option<String>,
    pub(super) github_api_url: Option<String>,
    pub(super) web_url: Option<String>,
    pub(super) public_url: Option<String>,
    pub(super) privacy_url: Option<String>,
    pub(super) credentials_path: Option<String>,
    pub(super) workers: Option<i64>,
    pub(super) log: Option<String>,
    pub(super) log_format: Option<String>,
    pub(super) app_id: Option<i64>,
    pub(super) private_key_path: Option<String>,
    #[serde(default)]
    pub(super) webhook: WebhookLayer,
    #[serde(default)]
    pub(super) queue: QueueLayer,
    #[serde(default)]
    pub(super) retention: RetentionLayer,
    #[serde(default)]
    pub(super) github: GithubLayer,
    #[serde(default)]
    pub(super) archive: ArchiveLayer,
    #[serde(default)]
    pub(super) reconcile: ReconcileLayer,
    #[serde(default)]
    pub(super) telemetry: TelemetryLayer,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TelemetryLayer {
    pub(super) otlp: Option<bool>,
    pub(super) otlp_endpoint: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WebhookLayer {
    pub(super) max_body_bytes: Option<i64>,
    pub(super) max_inflight_bytes: Option<i64>,
    pub(super) header_read_timeout_seconds: Option<i64>,
    pub(super) max_connections: Option<i64>,
    pub(super) request_timeout_seconds: Option<i64>,
    pub(super) max_batch: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QueueLayer {
    pub(super) lease_seconds: Option<i64>,
    pub(super) max_attempts: Option<i64>,
    pub(super) backoff_base_seconds: Option<i64>,
    pub(super) backoff_max_seconds: Option<i64>,
    pub(super) poll_interval_ms: Option<i64>,
    pub(super) shutdown_grace_seconds: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RetentionLayer {
    pub(super) closed_issue_days: Option<i64>,
    pub(super) cache_days: Option<i64>,
    pub(super) purge_interval_seconds: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GithubLayer {
    pub(super) request_timeout_seconds: Option<i64>,
    pub(super) max_retries: Option<i64>,
    pub(super) retry_base_ms: Option<i64>,
    pub(super) max_concurrent_requests: Option<i64>,
    pub(super) max_response_bytes: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ArchiveLayer {
    pub(super) max_inflight_bytes: Option<i64>,
    pub(super) max_unpacked_bytes: Option<i64>,
    pub(super) max_entries: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReconcileLayer {
    pub(super) interval_seconds: Option<i64>,
    pub(super) lookback_hours: Option<i64>,
    pub(super) max_attempts: Option<i64>,
}

macro_rules! overlay {
    ($base:expr, $top:expr, [$($field:ident),*]) => {
        $( if $top.$field.is_some() { $base.$field = $top.$field; } )*
    };
}

impl FileLayer {
    pub(super) fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::File {
            path: origin.to_string(),
            reason: e.message().to_string(),
        })
    }

    pub(super) fn overlay(&mut self, top: FileLayer) {
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
