//! The eval index cache: an index is rebuilt only when its fingerprint changes.
//!
//! Layout: `<cache_dir>/<kind>/<name>/index/` holds the index and
//! `<cache_dir>/<kind>/<name>/stamp.json` the fingerprint it was built with (written last,
//! so an interrupted build is never reused). One slot per suite entry and embedding
//! setup (`name` is `<repo>/<model tag>`, so switching between models reuses both
//! indexes): a changed fingerprint replaces the slot's old index. Two evals at once
//! with the same setup must use different cache directories (`--cache`).
//!
//! The fingerprint is a blake3 hash over: a cache-scheme version, cseek's crate version,
//! the index format version, a hash of the indexing source code (`build.rs`), the indexing
//! settings (walk + chunk options, as the caller
//! renders them), and the corpus: every file under the indexed directory (nothing is
//! skipped, so excluded files count too) with its relative path, size and blake3 content
//! hash. Content hashes rather than mtimes, so re-unpacking an unchanged corpus still
//! reuses the index.
//!
//! So a ranking change reuses indexes and a chunking change rebuilds them. `rebuild`
//! forces a rebuild (the report always says whether each index was reused).

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Bump when the cache layout or the fingerprint inputs change.
const SCHEME: &str = "cseek-eval-cache/2";

/// What the stamp file records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stamp {
    /// The fingerprint (hex).
    pub fingerprint: String,
    /// Build seconds.
    pub seconds: f64,
    /// Files indexed.
    pub files: u64,
    /// Chunks indexed.
    pub chunks: u64,
}

/// One cache slot.
#[derive(Debug, Clone)]
pub struct Slot {
    dir: PathBuf,
}

impl Slot {
    /// The slot for `<cache_dir>/<kind>/<name>`.
    pub fn new(cache_dir: &Path, kind: &str, name: &str) -> Slot {
        Slot {
            dir: cache_dir.join(kind).join(name),
        }
    }

    /// Where the index lives.
    pub fn index_dir(&self) -> PathBuf {
        self.dir.join("index")
    }

    fn stamp_path(&self) -> PathBuf {
        self.dir.join("stamp.json")
    }

    /// The stamp, if present, readable and for `fingerprint`.
    pub fn valid_stamp(&self, fingerprint: &str) -> Option<Stamp> {
        let text = std::fs::read_to_string(self.stamp_path()).ok()?;
        let stamp: Stamp = serde_json::from_str(&text).ok()?;
        (stamp.fingerprint == fingerprint).then_some(stamp)
    }

    /// Drop the stamp and the index, and create the empty slot directory.
    pub fn clear(&self) -> Result<()> {
        let stamp = self.stamp_path();
        if stamp.exists() {
            std::fs::remove_file(&stamp).map_err(|e| Error::io("removing", &stamp, e))?;
        }
        let index = self.index_dir();
        if index.exists() {
            std::fs::remove_dir_all(&index).map_err(|e| Error::io("removing", &index, e))?;
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Error::io("creating directory", &self.dir, e))
    }

    /// Drop the stamp but keep the index, for a rebuild in place: the indexer re-chunks
    /// every file and takes the vectors of unchanged chunk texts from the index's
    /// embedding cache, so a new chunking rule does not mean embedding a corpus again.
    /// Without a stamp, a build that fails or is killed leaves nothing that looks valid.
    pub fn invalidate(&self) -> Result<()> {
        let stamp = self.stamp_path();
        if stamp.exists() {
            std::fs::remove_file(&stamp).map_err(|e| Error::io("removing", &stamp, e))?;
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Error::io("creating directory", &self.dir, e))
    }

    /// Record a finished build (atomically: written to a temporary file, then renamed).
    pub fn write_stamp(&self, stamp: &Stamp) -> Result<()> {
        let path = self.stamp_path();
        let tmp = self.dir.join("stamp.json.tmp");
        let text = serde_json::to_string_pretty(stamp)
            .map_err(|e| Error::InvalidOption(format!("serializing cache stamp: {e}")))?;
        std::fs::write(&tmp, text).map_err(|e| Error::io("writing", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io("renaming", &path, e))
    }
}

/// Incremental fingerprint builder. Every input is length-prefixed, so distinct input
/// sequences cannot collide by concatenation.
pub struct Fingerprint(blake3::Hasher);

impl Default for Fingerprint {
    fn default() -> Self {
        Self::new()
    }
}

impl Fingerprint {
    /// Start with the scheme, crate version, index format version and the fingerprint of
    /// the indexing code (computed by `build.rs`), so any change to chunking or indexing
    /// code invalidates cached indexes.
    pub fn new() -> Self {
        let mut f = Fingerprint(blake3::Hasher::new());
        f.add(SCHEME.as_bytes());
        f.add(env!("CARGO_PKG_VERSION").as_bytes());
        f.add(&crate::store::FORMAT_VERSION.to_le_bytes());
        f.add(env!("CSEEK_INDEXING_CODE_HASH").as_bytes());
        f
    }

    /// Add one input.
    pub fn add(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// Add every file under `dir` (recursively, not following symlinks; a symlink adds its
    /// target path): relative path, size and content hash, in path order.
    pub fn add_tree(&mut self, dir: &Path) -> Result<&mut Self> {
        let mut files = Vec::new();
        list_tree(dir, dir, &mut files)?;
        files.sort();
        let hashed: Vec<Result<(String, u64, [u8; 32])>> = files
            .par_iter()
            .map(|(rel, abs, link)| match link {
                Some(target) => Ok((rel.clone(), 0, *blake3::hash(target.as_bytes()).as_bytes())),
                None => {
                    let bytes = std::fs::read(abs).map_err(|e| Error::io("reading", abs, e))?;
                    Ok((
                        rel.clone(),
                        bytes.len() as u64,
                        *blake3::hash(&bytes).as_bytes(),
                    ))
                }
            })
            .collect();
        self.add(&(files.len() as u64).to_le_bytes());
        for h in hashed {
            let (rel, size, hash) = h?;
            self.add(rel.as_bytes());
            self.add(&size.to_le_bytes());
            self.add(&hash);
        }
        Ok(self)
    }

    /// Add one file's content.
    pub fn add_file(&mut self, path: &Path) -> Result<&mut Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io("reading", path, e))?;
        self.add(&bytes);
        Ok(self)
    }

    /// The hex digest.
    pub fn finish(&self) -> String {
        self.0.finalize().to_hex().to_string()
    }
}

type TreeEntry = (String, PathBuf, Option<String>);

fn list_tree(root: &Path, dir: &Path, out: &mut Vec<TreeEntry>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("reading directory", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("reading directory", dir, e))?;
        let path = entry.path();
        let ft = entry
            .file_type()
            .map_err(|e| Error::io("reading metadata of", &path, e))?;
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        if ft.is_symlink() {
            let target = std::fs::read_link(&path)
                .map_err(|e| Error::io("reading link", &path, e))?
                .to_string_lossy()
                .into_owned();
            out.push((rel, path, Some(target)));
        } else if ft.is_dir() {
            list_tree(root, &path, out)?;
        } else if ft.is_file() {
            out.push((rel, path, None));
        }
    }
    Ok(())
}
