//! Publishing: the one evidence comment per tracking issue, created once and edited in place,
//! and the issue's labels.
//!
//! Folio finds its comment by the id it stored, or else by the marker AND its own bot user: a
//! marker in anyone else's comment is never trusted.

use tracing::info;

use crate::github::{GhError, Session};
use crate::render::comment::MARKER;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Published {
    Created(i64),
    Edited(i64),
    Unchanged(i64),
}

impl Published {
    pub(crate) fn id(self) -> i64 {
        match self {
            Self::Created(i) | Self::Edited(i) | Self::Unchanged(i) => i,
        }
    }
}

pub(crate) struct Publisher<'a> {
    pub session: &'a Session,
    pub repo: &'a str,
    pub issue: i64,
    /// `<slug>[bot]`: the only author whose marker counts.
    pub bot_login: &'a str,
}

impl Publisher<'_> {
    /// Finds Folio's own comment on the issue.
    pub(crate) async fn find_own(&self) -> Result<Option<i64>, GhError> {
        let comments = self
            .session
            .issue_comments(self.repo, self.issue, 3000)
            .await?;
        Ok(comments
            .into_iter()
            .find(|c| {
                c.user
                    .as_ref()
                    .is_some_and(|u| u.login.eq_ignore_ascii_case(self.bot_login))
                    && c.body.as_deref().is_some_and(|b| b.starts_with(MARKER))
            })
            .map(|c| c.id))
    }

    /// Creates or edits the one comment. `known` is the id stored from the last run;
    /// `unchanged` skips the edit when the content is the same as last time.
    pub(crate) async fn upsert(
        &self,
        body: &str,
        known: Option<i64>,
        unchanged: bool,
    ) -> Result<Published, GhError> {
        let existing = match known {
            Some(id) => Some(id),
            None => self.find_own().await?,
        };
        if let Some(id) = existing {
            if unchanged && known.is_some() {
                return Ok(Published::Unchanged(id));
            }
            match self.session.update_issue_comment(self.repo, id, body).await {
                Ok(_) => {
                    info!(comment = id, "evidence comment edited");
                    return Ok(Published::Edited(id));
                }
                // Someone deleted it: post a new one.
                Err(GhError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let created = self
            .session
            .create_issue_comment(self.repo, self.issue, body)
            .await?;
        info!(comment = created.id, "evidence comment posted");
        Ok(Published::Created(created.id))
    }

    /// Adds `add` and removes `remove`, touching only what differs from `current`.
    pub(crate) async fn set_labels(
        &self,
        current: &[String],
        add: &[&str],
        remove: &[&str],
    ) -> Result<(), GhError> {
        let has = |l: &str| current.iter().any(|c| c.eq_ignore_ascii_case(l));
        let missing: Vec<&str> = add.iter().copied().filter(|l| !has(l)).collect();
        if !missing.is_empty() {
            self.session
                .add_labels(self.repo, self.issue, &missing)
                .await?;
        }
        for l in remove.iter().copied().filter(|l| has(l)) {
            match self.session.remove_label(self.repo, self.issue, l).await {
                Ok(()) | Err(GhError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
