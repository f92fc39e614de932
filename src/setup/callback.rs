//! The end of setup: GitHub sends the browser back with a one-time code, which Folio
//! exchanges for the new App's credentials, stores privately and starts using at once.

use std::sync::Arc;

use anyhow::Context as _;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tracing::{info, warn};

use super::page::{PRIVATE_REPO_ADVICE, escape, page_response};
use super::{SetupError, check_host};
use crate::config::{AppCredentials, Secret, StoredCredentials};
use crate::github::types::ManifestConversion;
use crate::github::{GhError, GitHub};
use crate::private_file::{self, IfExists};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
}

/// `GET /setup/callback?code=…&state=…`: GitHub sends the browser here after creating the app.
pub async fn callback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, SetupError> {
    if state.configured() {
        return Err(SetupError::Closed);
    }
    check_host(&state.settings.public_url, &headers)?;
    let presented = q.state.as_deref().unwrap_or("");
    // The state both ties the callback to a page this Folio served and proves that the visitor
    // presented the setup token there, so the callback needs no token of its own.
    if presented.is_empty() || !state.setup.take_state(presented) {
        return Err(SetupError::BadRequest(
            "the setup link is unknown, expired or already used: open the setup page again".into(),
        ));
    }
    let code = q.code.as_deref().unwrap_or("");
    if code.is_empty()
        || code.len() > 256
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(SetupError::BadRequest(
            "GitHub's answer has no usable code".into(),
        ));
    }

    let _one_at_a_time = state.setup.finishing.lock().await;
    if state.configured() {
        return Err(SetupError::Closed);
    }
    let conv = convert(&state, code).await?;
    let Some(webhook_secret) = conv.webhook_secret.filter(|s| !s.is_empty()) else {
        return Err(SetupError::GitHub(
            "the new app has no webhook secret; set one in its settings and configure Folio by hand"
                .into(),
        ));
    };
    jsonwebtoken::EncodingKey::from_rsa_pem(conv.pem.as_bytes()).map_err(|_| {
        SetupError::GitHub("the private key GitHub returned is not an RSA PEM key".into())
    })?;
    let html_url = url::Url::parse(&conv.html_url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| SetupError::GitHub("the new app has no valid html_url".into()))?;

    let path = state.settings.credentials_path.clone();
    let creds = StoredCredentials {
        app_id: conv.id,
        pem: conv.pem,
        webhook_secret,
        slug: conv.slug,
    };
    let app_id = creds.app_id;
    let written = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            write_credentials(&path, &creds)?;
            // Setup is over: the token must not open anything again, even after a restart
            // that loses the credentials file.
            let removed = crate::setup_token::remove(&path);
            Ok::<_, anyhow::Error>((creds, removed))
        })
        .await
    };
    let stored = match written {
        Ok(Ok((stored, removed))) => {
            if let Err(e) = removed {
                warn!(error = %format!("{e:#}"), "cannot delete the setup token file; delete it by hand");
            }
            stored
        }
        Ok(Err(e)) => {
            warn!(error = %format!("{e:#}"), "cannot store the new app credentials");
            return Err(SetupError::Internal(format!(
                "GitHub created app {app_id} ({html_url}), but Folio could not write {}: {e:#}. \
                 Generate a private key in the app's settings and configure Folio by hand \
                 (FOLIO_APP_ID, FOLIO_PRIVATE_KEY_PATH, FOLIO_WEBHOOK_SECRET).",
                path.display()
            )));
        }
        Err(e) => return Err(SetupError::Internal(format!("storage task failed: {e}"))),
    };
    state.setup.close();
    state.set_credentials(
        AppCredentials {
            app_id: stored.app_id,
            private_key: Secret::new(stored.pem),
        },
        Secret::new(stored.webhook_secret),
    );
    info!(app_id = stored.app_id, path = %path.display(), "GitHub App registered; webhooks enabled");

    let install = format!(
        "{}/installations/new",
        html_url.as_str().trim_end_matches('/')
    );
    let body = format!(
        "<h1>Folio is set up</h1>\
         <p>GitHub App {id} is registered and Folio now accepts its webhooks. Its credentials \
         are in <code>{path}</code> (keep that file private and backed up).</p>\
         <p><a id=\"install\" href=\"{install}\">Install the app</a> on your hiring repository, \
         then copy <code>deploy/issue-template/portfolio.yml</code> to \
         <code>.github/ISSUE_TEMPLATE/</code> there. Folio creates its labels in the repositories \
         you select (up to 5 at install; otherwise at each one's first submission).</p>\
         {PRIVATE_REPO_ADVICE}",
        id = stored.app_id,
        path = escape(&path.display().to_string()),
        install = escape(&install),
    );
    Ok(page_response(StatusCode::OK, "Folio: set up", &body))
}

/// Exchanges the code through the GitHub client: unauthenticated (the code itself is the
/// credential) and sent once, since a code works once.
async fn convert(state: &AppState, code: &str) -> Result<ManifestConversion, SetupError> {
    let api = &state.settings.github_api_url;
    let github = GitHub::new(api, None, None, state.settings.github.clone())
        .map_err(|e| SetupError::Internal(e.to_string()))?
        .with_clock(state.clock.clone());
    github
        .convert_manifest(code)
        .await
        .map_err(|e| SetupError::GitHub(conversion_failure(api, &e)))
}

/// Why the exchange failed, for the person setting Folio up.
fn conversion_failure(api: &url::Url, e: &GhError) -> String {
    match e {
        GhError::NotFound(_) => {
            "the code is unknown or expired (codes last one hour and work once); start again".into()
        }
        GhError::Transport { message, .. } => {
            format!(
                "cannot reach {}: {message}",
                api.as_str().trim_end_matches('/')
            )
        }
        GhError::Decode { message, .. } => format!("unexpected conversion answer: {message}"),
        GhError::Server { status, .. } | GhError::Other { status, .. } => {
            format!("the conversion answered {status}")
        }
        GhError::Unauthorized(_) => "the conversion answered 401".into(),
        GhError::Forbidden { .. } => "the conversion answered 403".into(),
        other => format!("the conversion failed: {other}"),
    }
}

/// Writes the credentials where `Settings::load` will find them next time: whole (a crash
/// never leaves a half-written file) and private (mode 0600).
pub fn write_credentials(path: &std::path::Path, creds: &StoredCredentials) -> anyhow::Result<()> {
    let json = serde_json::to_vec_pretty(creds).context("encoding the credentials")?;
    private_file::write(path, &json, IfExists::Replace)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_exchange_says_what_to_do() {
        let api = url::Url::parse("https://ghe.example.com/api/v3/").unwrap();
        let gone = conversion_failure(&api, &GhError::NotFound("/app-manifests/x".into()));
        assert!(gone.contains("unknown or expired"), "{gone}");
        let down = GhError::Transport {
            path: "/app-manifests/x/conversions".into(),
            message: "connection refused".into(),
        };
        assert_eq!(
            conversion_failure(&api, &down),
            "cannot reach https://ghe.example.com/api/v3: connection refused"
        );
        let refused = GhError::Other {
            status: 422,
            path: "/app-manifests/x/conversions".into(),
            message: "Validation Failed".into(),
        };
        assert_eq!(
            conversion_failure(&api, &refused),
            "the conversion answered 422"
        );
    }

    #[test]
    fn credentials_file_is_private_and_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds.json");
        std::fs::write(&path, "old").unwrap();
        let creds = StoredCredentials {
            app_id: 7,
            pem: "PEM".into(),
            webhook_secret: "s3cret".into(),
            slug: Some("folio".into()),
        };
        write_credentials(&path, &creds).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let back: StoredCredentials =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!((back.app_id, back.pem.as_str()), (7, "PEM"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(!format!("{back:?}").contains("s3cret"));
        assert!(write_credentials(&dir.path().join("missing/creds.json"), &creds).is_err());
    }
}
