//! The one place a GitHub client is built, so that every caller gets the same settings: the
//! API address, timeouts and retry policy from the configuration, and the HTTP cache where
//! the caller has a store.

use std::sync::Arc;

use super::{Credentials, GhError, GitHub};
use crate::config::{AppCredentials, Settings};
use crate::store::DynStore;

/// A client with these credentials (none: public data only), caching conditional GETs in
/// `cache` when given.
pub(crate) fn client(
    settings: &Settings,
    credentials: Option<Credentials>,
    cache: Option<DynStore>,
) -> Result<Arc<GitHub>, GhError> {
    Ok(Arc::new(GitHub::new(
        &settings.github_api_url,
        credentials,
        cache,
        settings.github.clone(),
    )?))
}

/// A client that acts as the GitHub App.
pub(crate) fn app_client(
    settings: &Settings,
    app: &AppCredentials,
    cache: Option<DynStore>,
) -> Result<Arc<GitHub>, GhError> {
    client(
        settings,
        Some(GitHub::app(app.app_id, &app.private_key)?),
        cache,
    )
}
