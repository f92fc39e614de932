//! Folio's three labels in a hiring repository (a submission, evaluated, needs more
//! information), named as `.github/folio.yml` says. They are made when the App is installed on
//! at most [`MAX_REPOSITORIES_AT_INSTALL`] repositories, otherwise when a repository's first
//! submission arrives, so that the issue form's label works from the start. A label that
//! exists already is left exactly as it is.

use tracing::{info, warn};

use crate::github::{GhError, Session};
use crate::repo_config::Labels;
use crate::store::DynStore;

/// Beyond this many repositories at install (an organization-wide installation, say), labels
/// are made lazily: most of those repositories will never see a submission.
pub(crate) const MAX_REPOSITORIES_AT_INSTALL: usize = 5;

/// Name, colour and description of each label; GitHub caps descriptions at 100 characters.
fn specs(names: &Labels) -> [(&str, &'static str, &'static str); 3] {
    [
        (
            names.submission.as_str(),
            "1d76db",
            "A portfolio for Folio to read: it posts one evidence comment",
        ),
        (
            names.evaluated.as_str(),
            "5319e7",
            "Folio posted its evidence comment on this issue",
        ),
        (
            names.needs_info.as_str(),
            "fbca04",
            "Folio needs more from the submitter: see its comment",
        ),
    ]
}

/// Creates whichever of the labels is missing; returns the names it created.
pub(crate) async fn ensure(
    session: &Session,
    repo: &str,
    names: &Labels,
) -> Result<Vec<String>, GhError> {
    let mut created = Vec::new();
    for (name, color, description) in specs(names) {
        // One request per label: GitHub refuses a duplicate name (in any case) with 422,
        // which is how an existing label is never overwritten.
        if session.create_label(repo, name, color, description).await? {
            created.push(name.to_string());
        }
    }
    Ok(created)
}

/// Makes the labels in `repo` once: reads the repository's configuration for their names and
/// remembers that it was done. A repository Folio cannot read or write is logged and left.
pub(crate) async fn make_once(
    store: &DynStore,
    session: &Session,
    installation_id: i64,
    repo: &str,
    names: Option<&Labels>,
) -> Result<(), GhError> {
    match store.labels_made(repo).await {
        Ok(true) => return Ok(()),
        Ok(false) => {}
        Err(e) => {
            warn!(repo, error = %e, "could not tell whether the labels were made; trying");
        }
    }
    let configured;
    let names = match names {
        Some(n) => n,
        None => {
            configured = match crate::hiring_config::read(session, repo).await? {
                Ok(c) => c.labels,
                // A broken configuration is reported on the first submission; until then
                // the default names are the best guess, and nothing is recorded.
                Err(message) => {
                    warn!(repo, %message, "broken .github/folio.yml; labels not made yet");
                    return Ok(());
                }
            };
            &configured
        }
    };
    match ensure(session, repo, names).await {
        Ok(created) => {
            info!(repo, ?created, "labels checked");
            if let Err(e) = store.record_labels_made(installation_id, repo).await {
                warn!(repo, error = %e, "could not record that the labels were made");
            }
            Ok(())
        }
        Err(e @ (GhError::NotFound(_) | GhError::Forbidden { .. })) => {
            warn!(repo, error = %e, "labels could not be made in this repository");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_label_has_a_colour_and_a_description_github_accepts() {
        let names = Labels::default();
        for (name, color, description) in specs(&names) {
            assert!(!name.is_empty());
            assert_eq!(color.len(), 6, "{color}");
            assert!(color.chars().all(|c| c.is_ascii_hexdigit()), "{color}");
            assert!(description.chars().count() <= 100, "{description}");
        }
    }

    #[test]
    fn the_configured_names_are_used() {
        let names = Labels {
            evaluated: "hiring: done".into(),
            needs_info: "hiring: more".into(),
            submission: "hiring: portfolio".into(),
        };
        let made: Vec<&str> = specs(&names).iter().map(|s| s.0).collect();
        assert_eq!(made, ["hiring: portfolio", "hiring: done", "hiring: more"]);
    }
}
