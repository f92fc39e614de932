//! First-run setup: registering the GitHub App through GitHub's App Manifest flow.
//!
//! While Folio has no app credentials, `/` asks for the one-time setup token (`setup_token`);
//! a POST with the right token answers a page whose button posts the manifest
//! (`deploy/github-app-manifest.json`, with URLs filled from `FOLIO_PUBLIC_URL`) to GitHub.
//! GitHub creates the app and sends the browser back to `/setup/callback` with a one-time
//! `code`, which Folio exchanges for the app id, private key and webhook secret. Those are
//! written to `FOLIO_CREDENTIALS_PATH` (mode 0600) and swapped into the running service.
//!
//! Whoever completes this flow owns the app that Folio will trust. Where the visitor connects
//! from proves nothing (behind a plain reverse proxy everyone arrives from loopback), so the
//! token is always required. It travels only in a POSTed form, never in a URL, where it would
//! reach browser history, proxy logs and `Referer` headers. The pages answer only a `Host` that
//! names this service, so that a page on another site cannot reach them through DNS
//! rebinding. The callback accepts only a `state` that the token-checked page handed out, once.
//! After setup the routes close and the token is deleted.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

mod callback;
mod manifest;
mod page;

pub use callback::{CallbackQuery, callback, write_credentials};
pub use manifest::{MANIFEST_TEMPLATE, manifest, registration_url};
pub use page::{SetupForm, entry, escape, register, registration_page};

/// The setup form is two short fields; anything longer is not from it.
pub(crate) const MAX_FORM_BYTES: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "the setup token is missing or wrong: run `folio setup-token` where Folio runs to print it"
    )]
    Forbidden,
    #[error(
        "this page answers only at the address in FOLIO_PUBLIC_URL, or at localhost, 127.0.0.1 or [::1]"
    )]
    MisdirectedHost,
    #[error("the request has no valid Host header")]
    NoHost,
    #[error("setup is finished: this Folio already has its GitHub App credentials")]
    Closed,
    #[error("{0}")]
    BadRequest(String),
    #[error("GitHub did not complete the registration: {0}")]
    GitHub(String),
    #[error("{0}")]
    Internal(String),
}

impl SetupError {
    fn status(&self) -> StatusCode {
        match self {
            SetupError::Forbidden => StatusCode::FORBIDDEN,
            SetupError::MisdirectedHost => StatusCode::MISDIRECTED_REQUEST,
            SetupError::NoHost => StatusCode::BAD_REQUEST,
            SetupError::Closed => StatusCode::NOT_FOUND,
            SetupError::BadRequest(_) => StatusCode::BAD_REQUEST,
            SetupError::GitHub(_) => StatusCode::BAD_GATEWAY,
            SetupError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for SetupError {
    fn into_response(self) -> Response {
        let body = format!(
            "<h1>Folio setup</h1><p>{}</p><p><a href=\"/\">Back</a></p>",
            escape(&self.to_string())
        );
        page::page_response(self.status(), "Folio setup", &body)
    }
}

/// Host names that always reach the machine itself; an operator may use them through an SSH
/// tunnel or `kubectl port-forward`.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// Whether the request's `Host` is `FOLIO_PUBLIC_URL`'s host or a loopback name (any port).
///
/// A browser sends the name it resolved, so a page on `attacker.example` whose name was
/// rebound to this machine's address still says `Host: attacker.example` and is refused.
pub fn check_host(public_url: &url::Url, headers: &HeaderMap) -> Result<(), SetupError> {
    let raw = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or(SetupError::NoHost)?;
    let host = host_name(raw).ok_or(SetupError::NoHost)?;
    let public = public_url
        .host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase());
    if public.as_deref() == Some(host.as_str()) || LOOPBACK_HOSTS.contains(&host.as_str()) {
        Ok(())
    } else {
        Err(SetupError::MisdirectedHost)
    }
}

/// The host part of a `Host` header, lower-cased, without its port or a trailing dot; IPv6
/// addresses keep their brackets. `None` for anything that is not a bare host[:port].
fn host_name(raw: &str) -> Option<String> {
    let authority: axum::http::uri::Authority = raw.trim().parse().ok()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host().trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::http::HeaderValue;

    use crate::config::Secret;
    use crate::state::SetupGate;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    fn host(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn only_the_public_host_or_a_loopback_name_is_answered() {
        let public = url::Url::parse("https://Folio.Example.com/folio").unwrap();
        for ok in [
            "folio.example.com",
            "FOLIO.example.com:443",
            "folio.example.com.",
            "localhost",
            "localhost:3000",
            "127.0.0.1:3000",
            "[::1]",
            "[::1]:3000",
        ] {
            assert!(check_host(&public, &host(ok)).is_ok(), "{ok}");
        }
        for rebound in [
            "attacker.example",
            "folio.example.com.attacker.example",
            "127.0.0.2",
            "10.0.0.5:3000",
            "[::2]",
            "0.0.0.0",
        ] {
            assert!(
                matches!(
                    check_host(&public, &host(rebound)),
                    Err(SetupError::MisdirectedHost)
                ),
                "{rebound}"
            );
        }
        for broken in ["", "user@folio.example.com", "folio.example.com/x", "a b"] {
            assert!(
                matches!(check_host(&public, &host(broken)), Err(SetupError::NoHost)),
                "{broken:?}"
            );
        }
        assert!(matches!(
            check_host(&public, &HeaderMap::new()),
            Err(SetupError::NoHost)
        ));
        assert_eq!(
            SetupError::MisdirectedHost.status(),
            StatusCode::MISDIRECTED_REQUEST
        );
        // A public URL on an address works by that address.
        let by_ip = url::Url::parse("http://192.0.2.10:3000").unwrap();
        assert!(check_host(&by_ip, &host("192.0.2.10:3000")).is_ok());
        assert!(check_host(&by_ip, &host("192.0.2.11:3000")).is_err());
    }

    #[test]
    fn the_token_matches_exactly_and_not_once_closed() {
        let gate = SetupGate::new(Some(Secret::new(TOKEN)));
        assert!(gate.token_matches(TOKEN));
        for wrong in [
            "",
            "nope",
            &TOKEN[..31],
            &format!("{TOKEN}0"),
            &TOKEN.to_uppercase(),
        ] {
            assert!(!gate.token_matches(wrong), "{wrong:?}");
        }
        gate.close();
        assert!(!gate.token_matches(TOKEN));
        let none = SetupGate::new(None);
        assert!(!none.token_matches(""));
    }

    #[test]
    fn states_are_random_and_work_once() {
        let a = SetupGate::new(None);
        let b = SetupGate::new(None);
        let s1 = a.issue_state().unwrap();
        let s2 = a.issue_state().unwrap();
        assert_ne!(s1, s2);
        assert_eq!(s1.len(), 64);
        assert!(
            !b.take_state(&s1),
            "a state belongs to the gate that issued it"
        );
        assert!(!a.take_state(""));
        assert!(a.take_state(&s2));
        assert!(!a.take_state(&s2));
        assert!(a.take_state(&s1));
    }

    #[test]
    fn pending_states_are_capped_oldest_first() {
        let gate = SetupGate::new(None);
        let first = gate.issue_state().unwrap();
        let rest: Vec<String> = (0..crate::state::MAX_PENDING_STATES)
            .map(|_| gate.issue_state().unwrap())
            .collect();
        assert!(!gate.take_state(&first));
        assert!(rest.iter().all(|s| gate.take_state(s)));
    }
}
