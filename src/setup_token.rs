//! The one-time setup token: whoever presents it may register the GitHub App that this Folio
//! will trust, so it is required on every setup request.
//!
//! It is the operator's `FOLIO_SETUP_TOKEN`, or else a random token that `folio serve` keeps
//! in a private file beside the credentials file. The file outlives restarts until setup
//! completes, so that a token already fetched stays good, and `folio setup-token` reads it from
//! the same place (through `docker exec` or `kubectl exec` as well). The token never goes to
//! the log: the log names the command and the file instead.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::config::{MIN_SETUP_TOKEN_CHARS, Secret, Settings};
use crate::private_file::{self, IfExists, Written};

/// Where the generated token is kept: beside the credentials file, named after it
/// (`folio-credentials.json` → `folio-credentials.setup-token`).
pub(crate) fn path(credentials_path: &Path) -> PathBuf {
    let candidate = credentials_path.with_extension("setup-token");
    if candidate == credentials_path {
        let mut name = credentials_path.as_os_str().to_owned();
        name.push(".setup-token");
        return PathBuf::from(name);
    }
    candidate
}

/// Where the token that opens setup comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// `FOLIO_SETUP_TOKEN`, chosen by the operator.
    Environment,
    /// The generated token's file.
    File(PathBuf),
}

#[derive(Debug)]
pub(crate) struct SetupToken {
    pub(crate) secret: Secret,
    pub(crate) source: Source,
}

/// For `folio serve` in setup mode: `FOLIO_SETUP_TOKEN`, else the token in the file beside the
/// credentials, generated now if there is none (or none that is usable).
pub(crate) fn load_or_create(settings: &Settings) -> anyhow::Result<SetupToken> {
    if let Some(secret) = &settings.setup_token {
        return Ok(SetupToken {
            secret: secret.clone(),
            source: Source::Environment,
        });
    }
    let file = path(&settings.credentials_path);
    let context = || {
        format!(
            "cannot keep the setup token in {} (make its directory writable, or set FOLIO_SETUP_TOKEN)",
            file.display()
        )
    };
    let fresh = crate::state::random_hex()?;
    let token = match private_file::write(&file, fresh.as_bytes(), IfExists::Keep)
        .with_context(context)?
    {
        Written::Yes => fresh,
        Written::AlreadyThere => match read(&file).with_context(context)? {
            Some(existing) => existing,
            None => {
                tracing::warn!(path = %file.display(), "the setup token file held no usable token; replacing it");
                private_file::write(&file, fresh.as_bytes(), IfExists::Replace)
                    .with_context(context)?;
                fresh
            }
        },
    };
    Ok(SetupToken {
        secret: Secret::new(token),
        source: Source::File(file),
    })
}

/// Why `folio setup-token` has no token to print.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LookupError {
    #[error("Folio is already set up (it has its GitHub App credentials): there is no setup token")]
    AlreadySetUp,
    #[error(
        "no setup token yet: {} does not exist; start `folio serve` with the same settings, which creates it",
        .0.display()
    )]
    NoneYet(PathBuf),
    #[error("{} holds no setup token; restart `folio serve` to make a new one", .0.display())]
    Unusable(PathBuf),
    #[error(transparent)]
    Unreadable(#[from] anyhow::Error),
}

/// For `folio setup-token`: the token a service with these settings accepts. Reads only, so
/// that it never makes a token the running service does not know.
pub(crate) fn lookup(settings: &Settings) -> Result<Secret, LookupError> {
    if settings.configured() {
        return Err(LookupError::AlreadySetUp);
    }
    if let Some(secret) = &settings.setup_token {
        return Ok(secret.clone());
    }
    let file = path(&settings.credentials_path);
    if !file.exists() {
        return Err(LookupError::NoneYet(file));
    }
    match read(&file)? {
        Some(token) => Ok(Secret::new(token)),
        None => Err(LookupError::Unusable(file)),
    }
}

/// Deletes the generated token once setup is over; `Ok(false)` when there was none.
pub(crate) fn remove(credentials_path: &Path) -> anyhow::Result<bool> {
    let file = path(credentials_path);
    match std::fs::remove_file(&file) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("removing {}", file.display())),
    }
}

/// The token in `file`, if it holds one: printable, without spaces, long enough.
fn read(file: &Path) -> anyhow::Result<Option<String>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let token = text.trim();
    let usable = token.chars().count() >= MIN_SETUP_TOKEN_CHARS
        && token.chars().all(|c| c.is_ascii_graphic());
    Ok(usable.then(|| token.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(dir: &Path, extra: &[(&str, &str)]) -> Settings {
        let mut env: HashMap<String, String> = extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.insert(
            "FOLIO_CREDENTIALS_PATH".into(),
            dir.join("folio-credentials.json").display().to_string(),
        );
        Settings::load_from(None, &env).unwrap()
    }

    #[test]
    fn the_file_sits_beside_the_credentials() {
        assert_eq!(
            path(Path::new("/data/folio-credentials.json")),
            Path::new("/data/folio-credentials.setup-token")
        );
        assert_eq!(path(Path::new("creds")), Path::new("creds.setup-token"));
        assert_eq!(
            path(Path::new("/x/a.setup-token")),
            Path::new("/x/a.setup-token.setup-token")
        );
    }

    #[test]
    fn a_generated_token_is_private_kept_across_restarts_and_removed_after_setup() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path(), &[]);
        let file = path(&s.credentials_path);
        assert!(matches!(lookup(&s), Err(LookupError::NoneYet(_))));

        let first = load_or_create(&s).unwrap();
        assert_eq!(first.source, Source::File(file.clone()));
        assert_eq!(first.secret.expose().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The next start, and the CLI, see the same token.
        assert_eq!(
            load_or_create(&s).unwrap().secret.expose(),
            first.secret.expose()
        );
        assert_eq!(lookup(&s).unwrap().expose(), first.secret.expose());

        assert!(remove(&s.credentials_path).unwrap());
        assert!(!remove(&s.credentials_path).unwrap());
        assert!(matches!(lookup(&s), Err(LookupError::NoneYet(_))));
        let next = load_or_create(&s).unwrap();
        assert_ne!(next.secret.expose(), first.secret.expose());
    }

    #[test]
    fn an_unusable_file_is_replaced_by_serve_and_refused_by_the_cli() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path(), &[]);
        let file = path(&s.credentials_path);
        std::fs::write(&file, "short\n").unwrap();
        assert!(matches!(lookup(&s), Err(LookupError::Unusable(_))));
        let t = load_or_create(&s).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), t.secret.expose());
        // A token the operator wrote into the file is taken as it is.
        std::fs::write(&file, "operator-chosen-token-1234\n").unwrap();
        assert_eq!(
            load_or_create(&s).unwrap().secret.expose(),
            "operator-chosen-token-1234"
        );
    }

    #[test]
    fn the_environment_wins_and_writes_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(
            dir.path(),
            &[("FOLIO_SETUP_TOKEN", "from-the-environment-42")],
        );
        let t = load_or_create(&s).unwrap();
        assert_eq!(t.source, Source::Environment);
        assert_eq!(t.secret.expose(), "from-the-environment-42");
        assert_eq!(lookup(&s).unwrap().expose(), "from-the-environment-42");
        assert!(!path(&s.credentials_path).exists());
    }

    #[test]
    fn a_configured_service_has_no_token() {
        let dir = tempfile::tempdir().unwrap();
        let key = include_str!("../tests/fixtures/keys/test-app.pem");
        let s = settings(
            dir.path(),
            &[
                ("FOLIO_APP_ID", "7"),
                ("FOLIO_PRIVATE_KEY", key),
                ("FOLIO_WEBHOOK_SECRET", "s"),
                ("FOLIO_SETUP_TOKEN", "from-the-environment-42"),
            ],
        );
        assert!(matches!(lookup(&s), Err(LookupError::AlreadySetUp)));
    }
}
