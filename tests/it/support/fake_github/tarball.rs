//! Repository tarballs shaped like GitHub's `legacy.tar.gz`: gzip, a pax global header whose
//! comment is the commit SHA (what `git archive` writes), then one top directory
//! `{owner}-{repo}-{short sha}/` holding the tree, directories included.

use std::collections::BTreeSet;
use std::io::Write as _;

use flate2::Compression;
use flate2::write::GzEncoder;
use tar::{Builder, EntryType, Header};

pub fn top_dir(owner: &str, repo: &str, sha: &str) -> String {
    format!("{owner}-{repo}-{}", &sha[..sha.len().min(7)])
}

pub fn build(
    owner: &str,
    repo: &str,
    sha: &str,
    mtime: i64,
    files: &std::collections::BTreeMap<String, Vec<u8>>,
) -> std::io::Result<Vec<u8>> {
    let top = top_dir(owner, repo, sha);
    let mut builder = Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    let mtime = u64::try_from(mtime).unwrap_or_default();

    let record = format!(" comment={sha}\n");
    // A pax record's length prefix counts itself; 2 digits cover any 40-hex comment line.
    let pax = format!("{}{record}", record.len() + 2);
    let mut header = Header::new_ustar();
    header.set_entry_type(EntryType::XGlobalHeader);
    header.set_path("pax_global_header")?;
    header.set_size(pax.len() as u64);
    header.set_mode(0o666);
    header.set_mtime(mtime);
    header.set_cksum();
    builder.append(&header, pax.as_bytes())?;

    let mut dirs = BTreeSet::new();
    dirs.insert(String::new());
    for path in files.keys() {
        let mut prefix = String::new();
        for part in path
            .split('/')
            .collect::<Vec<_>>()
            .iter()
            .rev()
            .skip(1)
            .rev()
        {
            prefix.push_str(part);
            prefix.push('/');
            dirs.insert(prefix.clone());
        }
    }
    for dir in &dirs {
        let mut header = Header::new_ustar();
        header.set_entry_type(EntryType::Directory);
        header.set_path(format!("{top}/{dir}"))?;
        header.set_size(0);
        header.set_mode(0o775);
        header.set_mtime(mtime);
        header.set_cksum();
        builder.append(&header, std::io::empty())?;
    }
    for (path, content) in files {
        let mut header = Header::new_ustar();
        header.set_entry_type(EntryType::Regular);
        header.set_size(content.len() as u64);
        header.set_mode(0o664);
        header.set_mtime(mtime);
        // `append_data` writes GNU long-name records for paths over 100 bytes, as git does.
        builder.append_data(&mut header, format!("{top}/{path}"), content.as_slice())?;
    }
    let mut gz = builder.into_inner()?;
    gz.flush()?;
    gz.finish()
}
