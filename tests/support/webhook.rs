//! Webhook test helpers: GitHub's example payloads (copied into `tests/fixtures/github/`, so a
//! clean clone has them) and `X-Hub-Signature-256` signing.

use std::path::PathBuf;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `tests/fixtures/github`.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/github")
}

/// The bytes of `webhooks/{event}/{name}.payload.json` (GitHub's file names, e.g.
/// `fixture_payload("issues", "opened")`, `fixture_payload("issue_comment", "created.with-installation")`).
/// `name` may also be a full file name ending in `.json`.
pub fn fixture_payload(event: &str, name: &str) -> Vec<u8> {
    let file = if name.ends_with(".json") {
        name.to_string()
    } else {
        format!("{name}.payload.json")
    };
    let path = fixtures_dir().join("webhooks").join(event).join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The payload parsed, for tests that adjust fields before sending it.
pub fn fixture_json(event: &str, name: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture_payload(event, name))
        .unwrap_or_else(|e| panic!("webhooks/{event}/{name} is not JSON: {e}"))
}

/// A recorded exchange file from `recorded/`, parsed.
pub fn recorded(name: &str) -> serde_json::Value {
    let path = fixtures_dir().join("recorded").join(name);
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// `sha256=<hex>`: the `X-Hub-Signature-256` GitHub sends for `body` with `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
