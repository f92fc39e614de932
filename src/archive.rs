//! Reading a repository tarball as it arrives: gzip, then tar, one entry at a time, so that the
//! archive is never whole in memory. Caps on compressed bytes, unpacked bytes and entries stop a
//! gzip bomb or an archive of millions of empty files early; the text kept is bounded by a
//! budget that admits the files analysis reads first; and all extractions together hold at most
//! [`ArchiveBudget`]'s bytes.

use std::cell::Cell;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit, mpsc};

use crate::snapshot::SkippedFile;

/// Files larger than this are not read (a hostile repository must not exhaust memory).
pub(crate) const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// A GNU long name or a pax header: real ones hold a path of a few hundred bytes, while the tar
/// crate would read any size into memory.
const MAX_HEADER_RECORD_BYTES: u64 = 64 * 1024;
/// Skipped files recorded per archive; the rest are skipped without a record.
const MAX_SKIPPED_RECORDS: usize = 1_000;
/// Compressed bytes between the download and the decoder, per extraction.
const PIPE_BYTES: usize = 1 << 20;

/// What one archive may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The archive as downloaded.
    pub compressed_bytes: u64,
    /// Everything the gzip stream unpacks to, entries that are not read included.
    pub unpacked_bytes: u64,
    /// Tar entries of any kind (directories and header records too).
    pub entries: u64,
    /// Text kept from the archive: files analysis reads first, then the smallest.
    pub kept_bytes: usize,
}

impl Limits {
    /// The most memory one extraction holds: the kept text, one file being read, and the pipe.
    pub(crate) fn held_bytes(&self) -> usize {
        self.kept_bytes + MAX_FILE_BYTES as usize + PIPE_BYTES
    }
}

/// Which files of an archive are kept.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileRules {
    /// The files analysis reads at all.
    pub wanted: fn(&str) -> bool,
    /// Among them, those kept before any other when the kept-text budget is short.
    pub first: fn(&str) -> bool,
}

/// Why a repository's files were not read. Kept with the commit, so that an archive over a cap
/// is not downloaded again while the cap stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "cap", rename_all = "snake_case")]
pub(crate) enum TooLarge {
    #[error("its archive is larger than {limit} bytes")]
    Compressed { limit: u64 },
    #[error("its archive unpacks to more than {limit} bytes")]
    Unpacked { limit: u64 },
    #[error("its archive holds more than {limit} entries")]
    Entries { limit: u64 },
}

impl TooLarge {
    /// Whether this verdict, reached under an earlier cap, still holds under `limits`: once a
    /// cap is raised past the one it was reached under, the archive deserves another try.
    pub(crate) fn holds_under(&self, limits: &Limits) -> bool {
        match *self {
            Self::Compressed { limit } => limits.compressed_bytes <= limit,
            Self::Unpacked { limit } => limits.unpacked_bytes <= limit,
            Self::Entries { limit } => limits.entries <= limit,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ExtractError {
    #[error("the repository is too large: {0}")]
    TooLarge(TooLarge),
    #[error("unreadable archive: {0}")]
    Unreadable(io::Error),
}

/// What was kept of one archive.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Extracted {
    pub files: BTreeMap<String, String>,
    pub skipped: Vec<SkippedFile>,
    /// Wanted text files left out because the kept-text budget was spent, sorted.
    pub left_out: Vec<String>,
}

/// Bytes held by archive extractions, all evaluations together. Each extraction reserves the
/// most it can hold before its download starts and gives it back when done, so that many at
/// once wait for each other instead of adding up, and none can wait for another forever.
pub(crate) struct ArchiveBudget {
    permits: Semaphore,
    total: u32,
}

impl ArchiveBudget {
    pub(crate) fn new(total_bytes: usize) -> Self {
        let total = u32::try_from(total_bytes).unwrap_or(u32::MAX);
        Self {
            permits: Semaphore::new(total as usize),
            total,
        }
    }

    /// Waits for `bytes` (at most the whole budget, so that one large reservation still runs).
    pub(crate) async fn reserve(&self, bytes: usize) -> Option<SemaphorePermit<'_>> {
        let n = u32::try_from(bytes).unwrap_or(u32::MAX).min(self.total);
        // The semaphore is never closed; `None` would only mean "no reservation to give back".
        self.permits.acquire_many(n).await.ok()
    }

    /// Bytes not reserved right now.
    #[cfg(test)]
    fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

/// Counts bytes read through it and fails once there are more than `limit`, recording which cap
/// was passed (the tar crate wraps errors, so the reason travels beside them).
struct Capped<R> {
    inner: R,
    read: u64,
    limit: u64,
    over: Rc<Cell<Option<TooLarge>>>,
    verdict: TooLarge,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Never more than one byte past the cap: enough to know it was passed.
        let room = (self.limit - self.read.min(self.limit)).saturating_add(1);
        let len = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..len])?;
        self.read += n as u64;
        if self.read > self.limit {
            self.over.set(Some(self.verdict));
            return Err(io::Error::other(self.verdict));
        }
        Ok(n)
    }
}

/// The kept text, within its budget: when a file does not fit, the files that come last in
/// analysis' order (not read first, then the largest) leave until it does.
struct Kept {
    files: BTreeMap<String, String>,
    used: usize,
    budget: usize,
    order: BinaryHeap<(bool, usize, String)>,
    left_out: Vec<String>,
}

impl Kept {
    fn offer(&mut self, path: String, text: String, first: bool) {
        // A path twice in one archive: the first copy stands.
        if self.files.contains_key(&path) {
            return;
        }
        self.used += text.len();
        self.order.push((!first, text.len(), path.clone()));
        self.files.insert(path, text);
        while self.used > self.budget {
            let Some((_, len, worst)) = self.order.pop() else {
                break;
            };
            self.files.remove(&worst);
            self.used -= len;
            self.left_out.push(worst);
        }
    }
}

/// Reads a GitHub tarball (`{owner}-{repo}-{sha}/...`) from `source`, keeping the wanted text
/// files. Nothing in it is executed; links, oversized and binary files are skipped with a
/// reason. Reading stops at the first cap passed.
pub(crate) fn extract(
    source: impl Read,
    rules: FileRules,
    limits: &Limits,
) -> Result<Extracted, ExtractError> {
    let over = Rc::new(Cell::new(None));
    let compressed = Capped {
        inner: source,
        read: 0,
        limit: limits.compressed_bytes,
        over: over.clone(),
        verdict: TooLarge::Compressed {
            limit: limits.compressed_bytes,
        },
    };
    let unpacked = Capped {
        inner: flate2::read::GzDecoder::new(compressed),
        read: 0,
        limit: limits.unpacked_bytes,
        over: over.clone(),
        verdict: TooLarge::Unpacked {
            limit: limits.unpacked_bytes,
        },
    };
    let mut archive = tar::Archive::new(unpacked);
    let mut out = Extracted::default();
    let mut kept = Kept {
        files: BTreeMap::new(),
        used: 0,
        budget: limits.kept_bytes,
        order: BinaryHeap::new(),
        left_out: Vec::new(),
    };
    let read = read_entries(
        &mut archive,
        rules,
        limits,
        &over,
        &mut kept,
        &mut out.skipped,
    );
    if let Some(verdict) = over.get() {
        return Err(ExtractError::TooLarge(verdict));
    }
    read.map_err(ExtractError::Unreadable)?;
    kept.left_out.sort_unstable();
    let reason = format!(
        "past the {} MiB of text kept per repository",
        limits.kept_bytes >> 20
    );
    for path in &kept.left_out {
        skip(&mut out.skipped, path, &reason);
    }
    out.files = kept.files;
    out.left_out = kept.left_out;
    Ok(out)
}

fn skip(skipped: &mut Vec<SkippedFile>, path: &str, reason: &str) {
    if skipped.len() < MAX_SKIPPED_RECORDS {
        skipped.push(SkippedFile {
            path: path.to_string(),
            reason: reason.to_string(),
        });
    }
}

/// A header record (GNU long name, pax extensions), refused past [`MAX_HEADER_RECORD_BYTES`].
fn header_record(entry: &mut impl Read, size: u64) -> io::Result<Vec<u8>> {
    if size > MAX_HEADER_RECORD_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a tar header record of {size} bytes"),
        ));
    }
    let mut out = Vec::with_capacity(size as usize);
    entry.read_to_end(&mut out)?;
    Ok(out)
}

/// Walks the raw entries (so that long names and pax headers are read under a cap here rather
/// than whole by the tar crate), keeping what `rules` want.
fn read_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    rules: FileRules,
    limits: &Limits,
    over: &Cell<Option<TooLarge>>,
    kept: &mut Kept,
    skipped: &mut Vec<SkippedFile>,
) -> io::Result<()> {
    let mut long_name: Option<Vec<u8>> = None;
    let mut pax_path: Option<Vec<u8>> = None;
    let mut count = 0u64;
    for entry in archive.entries()?.raw(true) {
        count += 1;
        if count > limits.entries {
            let verdict = TooLarge::Entries {
                limit: limits.entries,
            };
            over.set(Some(verdict));
            return Err(io::Error::other(verdict));
        }
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        let size = entry.size();
        if kind.is_gnu_longname() {
            let mut name = header_record(&mut entry, size)?;
            while name.last() == Some(&0) {
                name.pop();
            }
            long_name = Some(name);
            continue;
        }
        if kind.is_pax_local_extensions() {
            let record = header_record(&mut entry, size)?;
            pax_path = tar::PaxExtensions::new(&record)
                .filter_map(Result::ok)
                .find(|e| e.key_bytes() == b"path")
                .map(|e| e.value_bytes().to_vec());
            continue;
        }
        if kind.is_gnu_longlink() || kind.is_pax_global_extensions() {
            continue;
        }
        let raw_path = match (long_name.take(), pax_path.take()) {
            (Some(name), _) | (None, Some(name)) => name,
            (None, None) => entry.header().path_bytes().into_owned(),
        };
        let raw_path = String::from_utf8_lossy(&raw_path);
        // Drop the archive's top directory.
        let Some((_, rel)) = raw_path.split_once('/') else {
            continue;
        };
        if rel.is_empty() || rel.split('/').any(|c| c == "..") {
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            if (rules.wanted)(rel) {
                skip(skipped, rel, "symbolic link; not followed");
            }
            continue;
        }
        if !kind.is_file() || !(rules.wanted)(rel) {
            continue;
        }
        if size > MAX_FILE_BYTES {
            skip(
                skipped,
                rel,
                &format!("larger than {} KiB", MAX_FILE_BYTES / 1024),
            );
            continue;
        }
        let mut buf = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut buf)?;
        if buf.contains(&0) {
            skip(skipped, rel, "binary");
            continue;
        }
        match String::from_utf8(buf) {
            Ok(text) => kept.offer(rel.to_string(), text, (rules.first)(rel)),
            Err(_) => skip(skipped, rel, "not UTF-8 text"),
        }
    }
    Ok(())
}

/// The blocking side of the pipe: compressed chunks as the download delivers them. Each chunk
/// holds its share of the pipe's bytes until it has been read.
struct PipeReader {
    rx: mpsc::Receiver<(Bytes, OwnedSemaphorePermit)>,
    current: Bytes,
    held: Option<OwnedSemaphorePermit>,
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            self.held = None;
            match self.rx.blocking_recv() {
                Some((chunk, permit)) => {
                    self.current = chunk;
                    self.held = Some(permit);
                }
                // The download ended, or failed (the sender says which).
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// Why a streamed extraction did not finish.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StreamError<E> {
    /// The download failed part-way.
    #[error("{0}")]
    Source(E),
    #[error(transparent)]
    Extract(#[from] ExtractError),
}

/// Extracts an archive while it downloads: the chunks of `body` go through a pipe of at most
/// [`PIPE_BYTES`] to [`extract`] on a blocking thread. When extraction stops early (a cap, the
/// end of the archive), the download is dropped with it.
pub(crate) async fn extract_stream<E, S>(
    mut body: S,
    rules: FileRules,
    limits: Limits,
) -> Result<Extracted, StreamError<E>>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let (tx, rx) = mpsc::channel(64);
    let pipe = Arc::new(Semaphore::new(PIPE_BYTES));
    let reader = PipeReader {
        rx,
        current: Bytes::new(),
        held: None,
    };
    let extraction = tokio::task::spawn_blocking(move || extract(reader, rules, &limits));
    let mut failed = None;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) if chunk.is_empty() => {}
            Ok(chunk) => {
                let share = u32::try_from(chunk.len().min(PIPE_BYTES)).unwrap_or(u32::MAX);
                let Ok(permit) = pipe.clone().acquire_many_owned(share).await else {
                    break;
                };
                if tx.send((chunk, permit)).await.is_err() {
                    // The extraction has finished or stopped at a cap: nothing more is read.
                    break;
                }
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    drop(tx);
    drop(body);
    let result = extraction.await.map_err(|e| {
        StreamError::Extract(ExtractError::Unreadable(io::Error::other(format!(
            "the extraction task failed: {e}"
        ))))
    })?;
    match (result, failed) {
        // A cap passed is the verdict even if the download failed after it.
        (Err(ExtractError::TooLarge(t)), _) => Err(ExtractError::TooLarge(t).into()),
        (_, Some(e)) => Err(StreamError::Source(e)),
        (result, None) => result.map_err(StreamError::Extract),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tarball(entries: &[(&str, &[u8])], links: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (path, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            builder
                .append_data(&mut h, format!("o-r-abc1234/{path}"), *data)
                .unwrap();
        }
        for (path, target) in links {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            builder
                .append_link(&mut h, format!("o-r-abc1234/{path}"), target)
                .unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    fn wanted(p: &str) -> bool {
        p.ends_with(".yml") || p.ends_with(".toml") || p.ends_with(".bin") || p.ends_with(".txt")
    }

    fn first(p: &str) -> bool {
        p.ends_with(".yml")
    }

    const RULES: FileRules = FileRules { wanted, first };

    fn limits() -> Limits {
        Limits {
            compressed_bytes: 100 << 20,
            unpacked_bytes: 100 << 20,
            entries: 10_000,
            kept_bytes: 8 << 20,
        }
    }

    #[test]
    fn keeps_wanted_text_and_skips_the_rest() {
        let big = vec![b'a'; (MAX_FILE_BYTES + 1) as usize];
        let long = format!("{}/deep.toml", "d".repeat(150));
        let gz = tarball(
            &[
                (".github/workflows/ci.yml", b"on: push\n"),
                ("pyproject.toml", b"[project]\n"),
                ("src/app.py", b"print()\n"),
                ("data.bin", b"\x00\x01"),
                ("huge.toml", &big),
                (&long, b"x = 1\n"),
            ],
            &[("evil.yml", "/etc/passwd")],
        );
        let out = extract(gz.as_slice(), RULES, &limits()).unwrap();
        let escape = raw_tarball("o-r-abc1234/../escape.toml", b"x = 1\n");
        let none = extract(gzip(&escape).as_slice(), RULES, &limits()).unwrap();
        assert!(none.files.is_empty(), "{none:?}");
        assert_eq!(
            out.files.keys().collect::<Vec<_>>(),
            vec![".github/workflows/ci.yml", long.as_str(), "pyproject.toml"]
        );
        let reasons: Vec<_> = out
            .skipped
            .iter()
            .map(|s| (s.path.as_str(), s.reason.as_str()))
            .collect();
        assert!(reasons.contains(&("data.bin", "binary")), "{reasons:?}");
        assert!(reasons.contains(&("huge.toml", "larger than 1024 KiB")));
        assert!(reasons.contains(&("evil.yml", "symbolic link; not followed")));
        assert!(out.left_out.is_empty());
    }

    /// The kept set is what analysis would read of everything: files read first, then the
    /// smallest, whatever order the archive has them in.
    #[test]
    fn the_kept_text_budget_keeps_what_analysis_reads_first() {
        let gz = tarball(
            &[
                ("a-large.txt", &[b'a'; 4000]),
                ("b-small.txt", &[b'b'; 1000]),
                ("c-medium.txt", &[b'c'; 2000]),
                ("z/ci.yml", &[b'z'; 3000]),
            ],
            &[],
        );
        let out = extract(
            gz.as_slice(),
            RULES,
            &Limits {
                kept_bytes: 6_500,
                ..limits()
            },
        )
        .unwrap();
        assert_eq!(
            out.files.keys().collect::<Vec<_>>(),
            vec!["b-small.txt", "c-medium.txt", "z/ci.yml"]
        );
        assert_eq!(out.left_out, vec!["a-large.txt"]);
        assert!(
            out.skipped
                .iter()
                .any(|s| s.path == "a-large.txt" && s.reason.starts_with("past the"))
        );
    }

    /// One regular file under a path written as is (the tar crate refuses `..` when building).
    fn raw_tarball(path: &str, data: &[u8]) -> Vec<u8> {
        let mut h = tar::Header::new_ustar();
        h.as_mut_bytes()[..path.len()].copy_from_slice(path.as_bytes());
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        let mut raw = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut raw);
            builder.append(&h, data).unwrap();
            builder.finish().unwrap();
        }
        raw
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    /// A gzip bomb (a small archive of zeros that unpacks to far more) stops at the cap on
    /// unpacked bytes, having read no more than that.
    #[test]
    fn a_gzip_bomb_stops_at_the_unpacked_cap() {
        // One file of 32 MiB of zeros, in an archive a thousandth of that.
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        let mut h = tar::Header::new_gnu();
        h.set_size(32 << 20);
        h.set_mode(0o644);
        h.set_cksum();
        builder
            .append_data(&mut h, "o-r-abc1234/bomb.txt", io::repeat(0).take(32 << 20))
            .unwrap();
        let bomb = builder.into_inner().unwrap().finish().unwrap();
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        let started = std::time::Instant::now();
        let err = extract(
            bomb.as_slice(),
            RULES,
            &Limits {
                unpacked_bytes: 4 << 20,
                ..limits()
            },
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                ExtractError::TooLarge(TooLarge::Unpacked { limit }) if limit == 4 << 20
            ),
            "{err:?}"
        );
        // 4 MiB of the 32 unpacked: well under a second even unoptimised.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn an_archive_over_the_compressed_cap_is_too_large() {
        let gz = tarball(&[("a.txt", &[b'a'; 10_000])], &[]);
        let err = extract(
            gz.as_slice(),
            RULES,
            &Limits {
                compressed_bytes: 100,
                ..limits()
            },
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                ExtractError::TooLarge(TooLarge::Compressed { limit: 100 })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn an_archive_of_too_many_entries_is_too_large() {
        let names: Vec<String> = (0..50).map(|i| format!("f{i}.md")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
        let gz = tarball(&entries, &[]);
        let err = extract(
            gz.as_slice(),
            RULES,
            &Limits {
                entries: 20,
                ..limits()
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, ExtractError::TooLarge(TooLarge::Entries { limit: 20 })),
            "{err:?}"
        );
    }

    /// A GNU long name the size of a file is a header record no real archive has; the tar
    /// crate would read it whole into memory.
    #[test]
    fn an_oversized_long_name_is_refused_unread() {
        let mut raw = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut raw);
            let name = vec![b'n'; (MAX_HEADER_RECORD_BYTES + 1) as usize];
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::GNULongName);
            h.set_size(name.len() as u64);
            h.set_cksum();
            builder.append(&h, name.as_slice()).unwrap();
            builder.finish().unwrap();
        }
        let err = extract(gzip(&raw).as_slice(), RULES, &limits()).unwrap_err();
        assert!(
            matches!(&err, ExtractError::Unreadable(e) if e.to_string().contains("header record")),
            "{err:?}"
        );
    }

    /// Paths from pax headers (what `git archive` writes for long names) are honoured.
    #[test]
    fn pax_paths_are_read() {
        let path = format!("o-r-abc1234/{}/pyproject.toml", "p".repeat(120));
        let record = format!(" path={path}\n");
        // The length counts itself: three digits here.
        let record = format!("{}{record}", record.len() + 3);
        let mut raw = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut raw);
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(tar::EntryType::XHeader);
            h.set_path("pax").unwrap();
            h.set_size(record.len() as u64);
            h.set_cksum();
            builder.append(&h, record.as_bytes()).unwrap();
            let mut h = tar::Header::new_ustar();
            h.set_path("o-r-abc1234/short.toml").unwrap();
            h.set_size(6);
            h.set_cksum();
            builder.append(&h, &b"x = 1\n"[..]).unwrap();
            builder.finish().unwrap();
        }
        let out = extract(gzip(&raw).as_slice(), RULES, &limits()).unwrap();
        let expected = path.split_once('/').unwrap().1;
        assert_eq!(out.files.keys().collect::<Vec<_>>(), vec![expected]);
    }

    #[test]
    fn a_verdict_holds_until_its_cap_is_raised() {
        let l = limits();
        let t = TooLarge::Compressed {
            limit: l.compressed_bytes,
        };
        assert!(t.holds_under(&l));
        assert!(t.holds_under(&Limits {
            compressed_bytes: l.compressed_bytes / 2,
            ..l
        }));
        assert!(!t.holds_under(&Limits {
            compressed_bytes: l.compressed_bytes * 2,
            ..l
        }));
        let json = serde_json::to_string(&TooLarge::Entries { limit: 5 }).unwrap();
        assert_eq!(json, r#"{"cap":"entries","limit":5}"#);
    }

    fn chunks(data: &[u8], size: usize) -> Vec<Result<Bytes, String>> {
        data.chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect()
    }

    #[tokio::test]
    async fn a_stream_is_extracted_as_it_arrives() {
        let gz = tarball(&[("pyproject.toml", b"[project]\n")], &[]);
        let body = futures::stream::iter(chunks(&gz, 7));
        let out = extract_stream(body, RULES, limits()).await.unwrap();
        assert_eq!(out.files.keys().collect::<Vec<_>>(), vec!["pyproject.toml"]);
    }

    #[tokio::test]
    async fn a_download_failing_part_way_is_a_source_error() {
        let gz = tarball(&[("pyproject.toml", &[b'x'; 100_000])], &[]);
        let mut parts = chunks(&gz[..gz.len() / 2], 1000);
        parts.push(Err("connection reset".to_string()));
        let err = extract_stream(futures::stream::iter(parts), RULES, limits())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StreamError::Source(m) if m == "connection reset"),
            "{err:?}"
        );
    }

    /// A download over the compressed cap stops being read soon after the cap: at most the
    /// pipe's bytes more.
    #[tokio::test]
    async fn a_download_over_the_compressed_cap_stops_being_read() {
        let mut noise = vec![0u8; 3 << 20];
        fastrand::Rng::with_seed(7).fill(&mut noise);
        let gz = tarball(&[("noise.bin", &noise)], &[]);
        let pulled = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = pulled.clone();
        let body = futures::stream::iter(chunks(&gz, 4096)).inspect(move |c| {
            if let Ok(c) = c {
                counter.fetch_add(c.len(), std::sync::atomic::Ordering::Relaxed);
            }
        });
        let err = extract_stream(
            body,
            RULES,
            Limits {
                compressed_bytes: 1 << 20,
                ..limits()
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                StreamError::Extract(ExtractError::TooLarge(TooLarge::Compressed { .. }))
            ),
            "{err:?}"
        );
        let pulled = pulled.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            pulled <= (1 << 20) + PIPE_BYTES + 3 * 4096,
            "{pulled} of {}",
            gz.len()
        );
    }

    #[tokio::test]
    async fn the_budget_lends_at_most_what_it_has() {
        let budget = ArchiveBudget::new(1000);
        let held = budget.reserve(5000).await;
        assert!(held.is_some());
        assert_eq!(budget.available(), 0);
        drop(held);
        assert_eq!(budget.available(), 1000);
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        fn small_limits() -> Limits {
            Limits {
                compressed_bytes: 64 << 10,
                unpacked_bytes: 256 << 10,
                entries: 64,
                kept_bytes: 16 << 10,
            }
        }

        /// Whatever the bytes, extraction ends with files or an error, within its caps.
        fn holds(result: Result<Extracted, ExtractError>, limits: &Limits) {
            if let Ok(x) = result {
                let kept: usize = x.files.values().map(String::len).sum();
                assert!(kept <= limits.kept_bytes, "kept {kept}");
                assert!(x.files.len() as u64 <= limits.entries);
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            #[test]
            fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
                let limits = small_limits();
                holds(extract(data.as_slice(), RULES, &limits), &limits);
                holds(extract(gzip(&data).as_slice(), RULES, &limits), &limits);
            }

            #[test]
            fn damaged_archives_never_panic(
                entries in proptest::collection::vec(
                    ("[a-z]{1,12}(/[a-z_]{1,12}){0,3}\\.(yml|toml|txt|bin)", proptest::collection::vec(any::<u8>(), 0..2048)),
                    0..12,
                ),
                flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..16),
            ) {
                let entries: Vec<(&str, &[u8])> =
                    entries.iter().map(|(p, d)| (p.as_str(), d.as_slice())).collect();
                let mut archive = tarball(&entries, &[]);
                // Damage the compressed stream and, separately, the tar inside it.
                let mut raw = flate2::read::GzDecoder::new(archive.as_slice());
                let mut inner = Vec::new();
                let _ = raw.read_to_end(&mut inner);
                for (at, byte) in &flips {
                    if !archive.is_empty() {
                        let n = archive.len();
                        archive[at % n] ^= byte;
                    }
                    if !inner.is_empty() {
                        let n = inner.len();
                        inner[at % n] ^= byte;
                    }
                }
                let limits = small_limits();
                holds(extract(archive.as_slice(), RULES, &limits), &limits);
                holds(extract(gzip(&inner).as_slice(), RULES, &limits), &limits);
            }
        }
    }
}
