//! A repository's files at one commit: the snapshot cache by commit SHA, else the tarball,
//! downloaded under the process-wide archive budget and extracted as it arrives.

use std::collections::BTreeMap;

use serde::Deserialize;
use tracing::debug;

use super::{Fetcher, RepoError};
use crate::archive::{self, ExtractError, Extracted, StreamError, TooLarge};
use crate::github::GhError;
use crate::snapshot::SkippedFile;

/// Downloads of one archive, when the connection fails part-way.
const MAX_ARCHIVE_ATTEMPTS: u32 = 3;

impl Fetcher<'_> {
    /// The files the analyzers need at one commit: from the snapshot cache, or from the
    /// repository tarball (then cached by commit SHA). An archive over a cap is remembered the
    /// same way, so that the next evaluation does not download it again.
    pub(super) async fn files_at(&self, full: &str, sha: &str) -> Result<Extracted, RepoError> {
        if self.store.is_some() {
            self.session
                .note_cache_link(crate::store::CacheLink::Snapshot {
                    repo: full.to_string(),
                    commit: sha.to_string(),
                });
        }
        if let Some(store) = self.store
            && let Ok(Some(bytes)) = store.snapshot_get(full, sha).await
            && let Some(cached) = CachedFiles::decode(&bytes)
        {
            match cached.too_large {
                Some(verdict) if verdict.holds_under(&self.archive) => {
                    debug!(repo = full, sha, %verdict, "too large, as found before");
                    return Err(RepoError::TooLarge(verdict));
                }
                // A cap was raised since: the archive gets another try.
                Some(_) => {}
                None => {
                    debug!(repo = full, sha, "repository snapshot from cache");
                    return Ok(Extracted {
                        files: cached.files,
                        skipped: cached.skipped,
                        left_out: cached.left_out,
                    });
                }
            }
        }
        let result = self.download_files(full, sha).await;
        let none = Extracted::default();
        let (kept, too_large) = match &result {
            Ok(kept) => (kept, None),
            Err(RepoError::TooLarge(verdict)) => (&none, Some(*verdict)),
            Err(RepoError::GitHub(_)) => return result,
        };
        let cached = CachedFilesRef {
            files: &kept.files,
            skipped: &kept.skipped,
            left_out: &kept.left_out,
            too_large,
        };
        if let Some(store) = self.store
            && let Some(bytes) = cached.encode()
        {
            let _ = store.snapshot_put(full, sha, &bytes).await;
        }
        result
    }

    /// Downloads the archive and extracts it as it arrives, under the process-wide budget.
    async fn download_files(&self, full: &str, sha: &str) -> Result<Extracted, RepoError> {
        // Reserved before the download starts, so that waiting holds no connection open.
        let _held = self.archive_budget.reserve(self.archive.held_bytes()).await;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let download = self.session.tarball(full, sha).await?;
            let extracted =
                archive::extract_stream(download.into_stream(), self.files, self.archive).await;
            return match extracted {
                Ok(kept) => Ok(kept),
                Err(StreamError::Extract(ExtractError::TooLarge(verdict))) => {
                    Err(RepoError::TooLarge(verdict))
                }
                Err(StreamError::Extract(ExtractError::Unreadable(e))) => {
                    Err(RepoError::GitHub(GhError::Decode {
                        path: full.to_string(),
                        message: format!("unreadable archive: {e}"),
                    }))
                }
                // Cut off part-way: the archive again, from its start.
                Err(StreamError::Source(e))
                    if e.is_transient() && attempt < MAX_ARCHIVE_ATTEMPTS =>
                {
                    debug!(repo = full, error = %e, "archive download cut off; again");
                    continue;
                }
                Err(StreamError::Source(e)) => Err(RepoError::GitHub(e)),
            };
        }
    }
}

/// What the snapshot cache keeps per repository and commit: the files kept, or the verdict
/// that the archive is over a cap.
#[derive(Deserialize)]
struct CachedFiles {
    files: BTreeMap<String, String>,
    skipped: Vec<SkippedFile>,
    #[serde(default)]
    left_out: Vec<String>,
    #[serde(default)]
    too_large: Option<TooLarge>,
}

impl CachedFiles {
    /// Reads an entry: gzip-compressed JSON, or plain JSON as entries were first written.
    fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let unpacked = std::io::BufReader::new(flate2::read::GzDecoder::new(bytes));
            serde_json::from_reader(unpacked).ok()
        } else {
            serde_json::from_slice(bytes).ok()
        }
    }
}

/// [`CachedFiles`] as written, borrowing what was just extracted.
#[derive(serde::Serialize)]
struct CachedFilesRef<'a> {
    files: &'a BTreeMap<String, String>,
    skipped: &'a [SkippedFile],
    left_out: &'a [String],
    too_large: Option<TooLarge>,
}

impl CachedFilesRef<'_> {
    /// JSON written straight into gzip: the kept text is never copied whole as JSON, and the
    /// entry kept for the cache's days is a fraction of its size.
    fn encode(&self) -> Option<Vec<u8>> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        serde_json::to_writer(&mut gz, self).ok()?;
        gz.finish().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_files_are_stored_compressed_and_read_either_way() {
        let files = BTreeMap::from([("pyproject.toml".to_string(), "x = 1\n".repeat(1000))]);
        let skipped = vec![SkippedFile {
            path: "big.txt".into(),
            reason: "larger than 1024 KiB".into(),
        }];
        let left_out = vec!["a.txt".to_string()];
        let entry = CachedFilesRef {
            files: &files,
            skipped: &skipped,
            left_out: &left_out,
            too_large: None,
        };
        let packed = entry.encode().unwrap();
        assert!(packed.len() < 1000, "{}", packed.len());
        let read = CachedFiles::decode(&packed).unwrap();
        assert_eq!(
            (read.files, read.skipped, read.left_out),
            (files.clone(), skipped, left_out)
        );
        // An entry written before compression, or before `too_large`, still reads.
        let legacy = serde_json::json!({"files": files, "skipped": []}).to_string();
        let read = CachedFiles::decode(legacy.as_bytes()).unwrap();
        assert_eq!(read.files, files);
        assert!(read.too_large.is_none());
        let verdict = CachedFilesRef {
            files: &BTreeMap::new(),
            skipped: &[],
            left_out: &[],
            too_large: Some(TooLarge::Entries { limit: 9 }),
        };
        let read = CachedFiles::decode(&verdict.encode().unwrap()).unwrap();
        assert_eq!(read.too_large, Some(TooLarge::Entries { limit: 9 }));
    }
}
