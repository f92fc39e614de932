//! Logging: `tracing` with text or JSON output. Spans carry the delivery id, job id, repository
//! and pull request, so one evaluation can be followed through the logs.
//!
//! With the cargo feature `otel` and `FOLIO_OTLP` on, the same spans are also exported as
//! OpenTelemetry traces over OTLP/HTTP (protobuf). The feature is off by default: the exporter
//! stack adds nine crates and, through feature unification, rebuilds sqlx and reqwest, which
//! the 2-core CI should not pay for on every run.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogFormat, OtlpSettings};

/// Holds the trace exporter, if any, so that buffered spans can be flushed at shutdown.
#[must_use = "call shutdown() so that buffered spans are exported before the process ends"]
pub struct Telemetry {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are being exported.
    pub fn exporting(&self) -> bool {
        #[cfg(feature = "otel")]
        {
            self.provider.is_some()
        }
        #[cfg(not(feature = "otel"))]
        {
            false
        }
    }

    /// Exports the spans still buffered and stops the exporter.
    pub async fn shutdown(self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider {
            // The exporter's HTTP client is blocking and flushing waits on it; keep that off the
            // async workers.
            let failure = match tokio::task::spawn_blocking(move || provider.shutdown()).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(e.to_string()),
            };
            if let Some(e) = failure {
                // Logging may already be gone at this point; stderr is not.
                eprintln!("folio: flushing OpenTelemetry spans failed: {e}");
            }
        }
    }
}

/// Installs the global subscriber. `otlp` is `Some` when export is switched on in the settings.
///
/// A second init (tests) leaves the first subscriber in place.
pub fn init(filter: &str, format: LogFormat, otlp: Option<&OtlpSettings>) -> Telemetry {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let (text, json) = match format {
        LogFormat::Text => (
            Some(
                tracing_subscriber::fmt::layer()
                    // Colour codes are for people at a terminal; in a file, a pipe or a log
                    // store they are noise that breaks grep.
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(std::io::stderr),
            ),
            None,
        ),
        LogFormat::Json => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(true)
                    .with_writer(std::io::stderr),
            ),
        ),
    };
    let registry = tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json);

    #[cfg(feature = "otel")]
    {
        let provider = match otlp.map(otel::provider).transpose() {
            Ok(p) => p,
            Err(e) => {
                // Logs still work, and losing traces is no reason to refuse to serve.
                eprintln!("folio: OpenTelemetry export is off: {e:#}");
                None
            }
        };
        let layer = provider.as_ref().map(otel::layer);
        if registry.with(layer).try_init().is_err() {
            // Someone else's subscriber won; spans would never reach this exporter.
            return Telemetry { provider: None };
        }
        Telemetry { provider }
    }

    #[cfg(not(feature = "otel"))]
    {
        if let Some(o) = otlp {
            // Said on stderr so that it shows whatever the log filter is.
            eprintln!("{}", built_without_otel(o));
        }
        let _ = registry.try_init();
        Telemetry {}
    }
}

/// The startup line for export switched on in a binary that cannot export.
#[cfg(not(feature = "otel"))]
fn built_without_otel(o: &OtlpSettings) -> String {
    format!(
        "folio: FOLIO_OTLP is on but this binary was built without the `otel` feature; \
         spans are NOT exported to {} (rebuild with `cargo build --features otel`)",
        o.traces_endpoint
    )
}

#[cfg(feature = "otel")]
mod otel {
    use anyhow::Context;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::FilterFn;
    use tracing_subscriber::registry::LookupSpan;

    use crate::config::OtlpSettings;

    pub(super) fn provider(settings: &OtlpSettings) -> anyhow::Result<SdkTracerProvider> {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            // Set in code so that OTEL_EXPORTER_OTLP_PROTOCOL=grpc cannot pick a transport that
            // is not compiled in; the endpoint was resolved and checked by the settings.
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(settings.traces_endpoint.as_str())
            .build()
            .with_context(|| {
                format!(
                    "building the OTLP exporter for {}",
                    settings.traces_endpoint
                )
            })?;
        let resource = Resource::builder()
            .with_service_name(settings.service_name.clone())
            .with_attribute(opentelemetry::KeyValue::new(
                "service.version",
                env!("CARGO_PKG_VERSION"),
            ))
            .build();
        Ok(SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build())
    }

    pub(super) fn layer<S>(provider: &SdkTracerProvider) -> impl Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("folio"))
            // The exporter's own HTTP client and the SDK log through `tracing`; tracing those
            // would make every export produce spans for the next one.
            .with_filter(FilterFn::new(|meta| {
                let t = meta.target();
                !["opentelemetry", "hyper", "reqwest", "h2"]
                    .iter()
                    .any(|p| t.starts_with(p))
            }))
    }
}

#[cfg(all(test, not(feature = "otel")))]
mod tests {
    use super::*;

    // `init` itself is not called here: it would install a global subscriber that prints the
    // logs of every other unit test. tests/otel.rs covers it with the feature on.
    #[test]
    fn without_the_feature_the_setting_is_refused_out_loud() {
        let o = OtlpSettings {
            traces_endpoint: url::Url::parse("http://collector:4318/v1/traces").unwrap(),
            service_name: "folio".into(),
        };
        let line = built_without_otel(&o);
        assert!(line.contains("without the `otel` feature"), "{line}");
        assert!(line.contains("http://collector:4318/v1/traces"), "{line}");
        assert!(!line.contains('\n'), "one line: {line}");
    }
}
