//! Files only the service's own user may read: the App credentials, the setup token and the
//! SQLite database. Each is created with mode 0600 from its first byte (the mode is set on the
//! open file, so the umask cannot widen or narrow it), and written whole or not at all.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// What to do when the target already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IfExists {
    /// Replace it whole (a rename over it).
    Replace,
    /// Leave it as it is: whoever created it first wins.
    Keep,
}

/// Whether [`write`] put the bytes in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    Yes,
    /// The file existed and [`IfExists::Keep`] was asked for.
    AlreadyThere,
}

/// Writes `bytes` to `path` through a private temporary file in the same directory, then a
/// rename ([`IfExists::Replace`]) or a hard link, which fails if the target exists
/// ([`IfExists::Keep`]), so that a crash never leaves a half-written file and two processes
/// starting at once agree on one content.
pub(crate) fn write(path: &Path, bytes: &[u8], if_exists: IfExists) -> anyhow::Result<Written> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?
        .to_string_lossy()
        .into_owned();
    let mut suffix = [0u8; 6];
    getrandom::fill(&mut suffix)
        .map_err(|e| anyhow::anyhow!("no secure random numbers available: {e}"))?;
    let tmp = dir.join(format!(".{name}.{}.tmp", hex::encode(suffix)));
    let result = (|| -> anyhow::Result<Written> {
        let mut f = create_new_private(&tmp)?;
        f.write_all(bytes)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("syncing {}", tmp.display()))?;
        match if_exists {
            IfExists::Replace => {
                std::fs::rename(&tmp, path)
                    .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
                Ok(Written::Yes)
            }
            IfExists::Keep => {
                let linked = std::fs::hard_link(&tmp, path);
                let _ = std::fs::remove_file(&tmp);
                match linked {
                    Ok(()) => Ok(Written::Yes),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Ok(Written::AlreadyThere)
                    }
                    Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
                }
            }
        }
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    let written = result?;
    // Make the rename or link itself durable; not every filesystem lets a directory be synced.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(written)
}

/// Creates `path` empty with mode 0600 unless it exists. For SQLite, which creates a new
/// database file with mode 0644 less the umask and gives its `-wal` and `-shm` files the
/// database file's mode: made here first, all three stay private.
pub(crate) fn create_empty_if_missing(path: &Path) -> anyhow::Result<()> {
    match create_new_private(path) {
        Ok(f) => f
            .sync_all()
            .with_context(|| format!("syncing {}", path.display())),
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::AlreadyExists) =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn create_new_private(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let f = options
        .open(path)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("creating {}", path.display()))?;
    // The mode given to open() is narrowed by the umask; setting it on the open file is not.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("making {} private", path.display()))?;
    }
    Ok(f)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn keep_leaves_the_first_content_and_replace_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        assert_eq!(
            write(&path, b"first", IfExists::Keep).unwrap(),
            Written::Yes
        );
        assert_eq!(
            write(&path, b"second", IfExists::Keep).unwrap(),
            Written::AlreadyThere
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        assert_eq!(
            write(&path, b"third", IfExists::Replace).unwrap(),
            Written::Yes
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"third");
        assert_eq!(mode(&path), 0o600);
        // No temporary file is left behind either way.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(write(&dir.path().join("missing/token"), b"x", IfExists::Keep).is_err());
    }

    #[test]
    fn an_empty_file_is_made_private_and_an_existing_one_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("folio.db");
        create_empty_if_missing(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        std::fs::write(&path, b"data").unwrap();
        create_empty_if_missing(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"data");
        assert!(create_empty_if_missing(&dir.path().join("missing/folio.db")).is_err());
    }
}
