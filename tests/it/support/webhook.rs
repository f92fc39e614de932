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
/// `name` may also be a full file name ending in `.json`; `fixture_payload("ping", "payload")`
/// reads ping's `payload.json`.
pub fn fixture_payload(event: &str, name: &str) -> Vec<u8> {
    let dir = fixtures_dir().join("webhooks").join(event);
    // Upstream names are `<action>[.<variant>].payload.json`, except ping's plain `payload.json`.
    let candidates = if name.ends_with(".json") {
        vec![name.to_string()]
    } else {
        vec![format!("{name}.payload.json"), format!("{name}.json")]
    };
    let path = candidates
        .iter()
        .map(|file| dir.join(file))
        .find(|p| p.is_file())
        .unwrap_or_else(|| dir.join(&candidates[0]));
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

/// The headers GitHub sends with a webhook delivery (see the fixtures README, "Webhook delivery
/// headers"), signed with `secret`. `guid` is the `X-GitHub-Delivery` id.
pub fn delivery_headers(
    event: &str,
    guid: &str,
    secret: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    vec![
        ("content-type".into(), "application/json".into()),
        ("user-agent".into(), "GitHub-Hookshot/044aadd".into()),
        ("x-github-event".into(), event.into()),
        ("x-github-delivery".into(), guid.into()),
        ("x-github-hook-id".into(), "292430182".into()),
        (
            "x-github-hook-installation-target-type".into(),
            "integration".into(),
        ),
        (
            "x-github-hook-installation-target-id".into(),
            super::fake_github::APP_ID.to_string(),
        ),
        ("x-hub-signature-256".into(), sign(secret, body)),
    ]
}

/// POSTs a signed delivery to `url` (Folio's `/webhook`), as GitHub would.
pub async fn deliver(
    client: &reqwest::Client,
    url: &str,
    event: &str,
    guid: &str,
    secret: &str,
    body: &[u8],
) -> reqwest::Result<reqwest::Response> {
    let mut request = client.post(url).body(body.to_vec());
    for (name, value) in delivery_headers(event, guid, secret, body) {
        request = request.header(name, value);
    }
    request.send().await
}
