//! OTLP trace export end to end (only with `--features otel`): a real Folio takes a signed
//! delivery, and a stand-in collector on loopback must receive the delivery span as OTLP/HTTP
//! protobuf once telemetry is shut down.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed test step panics by design

#[path = "it/harness/mod.rs"]
mod harness;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use folio::config::{LogFormat, Settings};
use harness::*;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use prost::Message;

#[derive(Debug)]
struct Received {
    method: String,
    path: String,
    content_type: Option<String>,
    body: Bytes,
}

type Log = Arc<Mutex<Vec<Received>>>;

/// Records every request, whatever its path, so that a wrong path shows up in the assertion.
async fn collector(State(log): State<Log>, req: Request) -> StatusCode {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = axum::body::to_bytes(req.into_body(), 16 * 1024 * 1024)
        .await
        .expect("body");
    log.lock().expect("lock").push(Received {
        method,
        path,
        content_type,
        body,
    });
    StatusCode::OK
}

fn string_attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| match &v.value {
            Some(any_value::Value::StringValue(s)) => Some(s.as_str()),
            _ => None,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_span_reaches_the_collector_on_shutdown() {
    let log: Log = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let collector_addr = listener.local_addr().expect("addr");
    let app = axum::Router::new()
        .fallback(collector)
        .with_state(log.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // Through the settings, as `folio serve` does: the switch plus the standard variables.
    let (mut env, dir) = sqlite_env();
    env.insert("FOLIO_OTLP".into(), "true".into());
    env.insert(
        "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
        format!("http://{collector_addr}"),
    );
    env.insert("OTEL_SERVICE_NAME".into(), "folio-otel-test".into());
    let settings = Settings::load_from(None, &env).expect("settings");
    let telemetry = folio::telemetry::init("info", LogFormat::Text, settings.otlp.as_ref());
    assert!(telemetry.exporting(), "export should be on");

    let app = spawn_with(env, Some(dir), None).await;
    let guid = "otel-delivery-7f3a";
    let resp = app
        .deliver("ping", guid, &fixture("ping", "payload.json"))
        .await;
    assert!(resp.status().is_success(), "{}", resp.status());
    app.stop().await;

    // Nothing may have been sent yet (the batch waits up to 5 s); shutdown must flush it.
    telemetry.shutdown().await;

    let received = std::mem::take(&mut *log.lock().expect("lock"));
    assert!(!received.is_empty(), "the collector received nothing");
    let mut delivery_spans = Vec::new();
    for r in &received {
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/v1/traces"));
        assert_eq!(r.content_type.as_deref(), Some("application/x-protobuf"));
        assert!(!r.body.is_empty());
        let export = ExportTraceServiceRequest::decode(r.body.clone()).expect("OTLP protobuf");
        for rs in export.resource_spans {
            let resource = rs.resource.expect("resource");
            assert_eq!(
                string_attr(&resource.attributes, "service.name"),
                Some("folio-otel-test")
            );
            for ss in rs.scope_spans {
                for span in ss.spans {
                    if span.name == "delivery" {
                        delivery_spans.push(span);
                    }
                }
            }
        }
    }
    let span = delivery_spans
        .iter()
        .find(|s| string_attr(&s.attributes, "delivery") == Some(guid))
        .unwrap_or_else(|| panic!("no delivery span for {guid}: {delivery_spans:?}"));
    assert_eq!(string_attr(&span.attributes, "event"), Some("ping"));
    assert_eq!(span.trace_id.len(), 16);

    server.abort();
}
