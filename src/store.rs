//! Storage: the index directory, its generations, and the memory-mapped chunk store.
//!
//! An index directory holds a small `manifest.json` that names the current
//! *generation*: a directory of immutable files written once by `cseek index`. A new
//! index is written into a fresh generation and made current by atomically renaming a
//! new manifest over the old one, so an interrupted run leaves the previous index
//! usable and readers never see a half-written index. The byte layouts are specified in
//! `index-format/README.md`; keep the two in step.
//!
//! Generations share nothing on disk but are built from each other: an incremental run
//! copies the previous generation's chunk files and appends the chunks of changed files,
//! so chunk ids are stable across generations. A removed or changed file's old slot in
//! the file table is marked dead (its chunks stay in the files, unreachable) until a
//! compaction rewrites the generation from scratch. A chunk is *live* when its file slot
//! is.
//!
//! Chunk metadata is a fixed-size record per chunk (`chunks.bin`, read zero-copy through
//! `memmap2` + `bytemuck`), with the variable-length strings (symbol, container, text) in
//! `text.bin`; opening an index maps the files and reads nothing else, so it is instant
//! and memory use is what the OS pages in.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use bytemuck::{Pod, Zeroable};
use memmap2::Mmap;
use serde::{Deserialize, Serialize};

use crate::chunk::{Chunk, ChunkKind};
use crate::error::{Error, Result};
use crate::lang::Language;
use crate::walk::{SkipReason, WalkOptions};

/// The on-disk format version this build reads and writes. Bump it on any incompatible
/// change to a file of a generation (see `index-format/README.md`).
pub const FORMAT_VERSION: u32 = 3;

/// Name of the manifest file in an index directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Default name of the index directory inside an indexed root.
pub const DEFAULT_DIR_NAME: &str = ".cseek";

const CHUNKS_FILE: &str = "chunks.bin";
const TEXT_FILE: &str = "text.bin";
const FILES_FILE: &str = "files.postcard";
const META_FILE: &str = "meta.json";
/// Subdirectory of a generation holding the tantivy index.
pub const LEXICAL_DIR: &str = "lexical";
/// Subdirectory of a generation holding the vectors (absent when semantic search is off).
pub const VECTORS_DIR: &str = "vectors";
const CHUNKS_MAGIC: [u8; 8] = *b"CSKCHNK\0";
const HEADER_LEN: usize = 16;
const LOCK_FILE: &str = "lock";
/// Empty file in each generation; readers hold a shared lock on it, and a generation is
/// only removed by a writer that can lock it exclusively (no reader left).
const READERS_LOCK_FILE: &str = "readers.lock";
/// Files of a generation that cseek writes itself (tantivy's files carry their own
/// checksums), checksummed in the manifest. Paths relative to the generation directory.
const OWN_FILES: &[&str] = &[
    CHUNKS_FILE,
    TEXT_FILE,
    FILES_FILE,
    META_FILE,
    "vectors/vectors.json",
    "vectors/matrix.bin",
    "vectors/graph.bin",
];

/// The small file that names the current generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `"cseek-index"`; tells a cseek index apart from other JSON.
    pub format: String,
    /// On-disk format version of the generation it points to.
    pub format_version: u32,
    /// Directory name of the current generation, inside the index directory.
    pub generation: String,
    /// blake3 (hex) of each of cseek's own files in the generation, by path relative to
    /// the generation directory; checked by [`Store::verify`] (`cseek status --verify`).
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
}

/// Per-language counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanguageCounts {
    /// Files of this language.
    pub files: u64,
    /// Chunks of this language.
    pub chunks: u64,
}

/// Everything `cseek status` shows, stored per generation as `meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexMeta {
    /// On-disk format version.
    pub format_version: u32,
    /// Version of the cseek that wrote it.
    pub cseek_version: String,
    /// Absolute path of the indexed root.
    pub root: PathBuf,
    /// Unix time (seconds) the generation was committed.
    pub created_unix: u64,
    /// Seconds the indexing run took.
    pub seconds: f64,
    /// Indexed files.
    pub files: u64,
    /// Chunks (live ones: what searches can return).
    pub chunks: u64,
    /// Chunk records in the files that belong to removed or changed files (kept until a
    /// compaction; searches skip them).
    #[serde(default)]
    pub dead_chunks: u64,
    /// Counts per language.
    pub languages: BTreeMap<Language, LanguageCounts>,
    /// Skipped files per reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// A few example paths per skip reason.
    pub skipped_examples: BTreeMap<SkipReason, Vec<String>>,
    /// Files decoded lossily because they were not valid UTF-8.
    pub lossy_utf8_files: u64,
    /// Walk settings used.
    pub walk: WalkOptions,
    /// Chunk size budget used, in bytes.
    pub max_chunk_bytes: usize,
    /// [`CHUNKER_VERSION`](crate::chunk::CHUNKER_VERSION) of the rules that made the
    /// chunks (0: written before it was recorded).
    #[serde(default)]
    pub chunker_version: u32,
    /// How chunks were embedded; `None` when the index has no vectors.
    pub embedding: Option<EmbeddingMeta>,
    /// Why the index has no vectors (no model available, turned off), for `cseek status`.
    pub semantic_off_reason: Option<String>,
    /// The lexical:semantic weights fitted on the index's own doc comments (absent: not
    /// fitted, the defaults apply). See [`crate::fuse::calibrate`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fusion: Option<crate::fuse::calibrate::FusionCalibration>,
    /// Why `fusion` is absent from an index with vectors: too few documented definitions
    /// to fit on, or what made the fit fail (absent: fitted, or nothing to fit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fusion_note: Option<String>,
}

/// How the chunks of an index were embedded. Queries must use the same model, prefixes
/// and dimensions, so all of it is recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingMeta {
    /// The model as the user named it (registry name, directory, or `ollama:NAME` /
    /// `openai:NAME` for a served model).
    pub model: String,
    /// For a served model, the server's endpoint (no credentials): queries embed there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Hugging Face id, when known.
    pub hf_id: Option<String>,
    /// Architecture name.
    pub arch: String,
    /// Vector dimensions stored (after any Matryoshka truncation).
    pub dims: usize,
    /// Matryoshka dimension asked for, if any.
    pub matryoshka_dim: Option<usize>,
    /// Pooling name.
    pub pooling: String,
    /// Prefix put before queries.
    pub query_prefix: String,
    /// Prefix put before documents (chunks).
    pub document_prefix: String,
    /// Token limit chunks were truncated to.
    pub max_tokens: usize,
    /// Name of the template that turned a chunk into the text embedded.
    pub template: String,
    /// Element type of the stored vectors (`f32`, `f16`).
    pub vector_dtype: String,
    /// Whether an HNSW graph was built (else queries scan).
    pub graph: bool,
    /// Seconds spent embedding.
    pub seconds: f64,
}

/// One slot of the file table (`files.postcard`). Slots are only ever appended; a file
/// that is removed or changed has its slot marked dead and (when changed) gets a new one,
/// so file ids, like chunk ids, are stable across incremental generations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Root-relative path with `/` separators.
    pub path: String,
    /// Language it was chunked as.
    pub language: Language,
    /// Size in bytes of the file on disk when it was read.
    pub size: u64,
    /// Modification time when it was read (ns since the Unix epoch); 0 when unknown or too
    /// recent to trust, which makes the next incremental run compare hashes; 1 for a file
    /// that includes documentation from other files, which every run reads again.
    pub mtime_ns: u64,
    /// blake3 of the raw bytes (for a file that includes documentation, of those bytes'
    /// hash and the included texts: `index-format/README.md`).
    pub hash: [u8; 32],
    /// Index of its first chunk.
    pub first_chunk: u32,
    /// Number of chunks.
    pub chunk_count: u32,
    /// Whether the file is part of the index (false: removed or replaced by a newer slot).
    pub live: bool,
    /// Whether it was decoded lossily (not valid UTF-8).
    pub lossy: bool,
}

impl FileRecord {
    /// Its chunk ids.
    pub fn chunk_ids(&self) -> std::ops::Range<u32> {
        self.first_chunk..self.first_chunk.saturating_add(self.chunk_count)
    }
}

/// Fixed-size chunk record of `chunks.bin` (48 bytes, little-endian, see index-format).
#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct ChunkRecord {
    text_offset: u64,
    file_id: u32,
    start_line: u32,
    end_line: u32,
    start_byte: u32,
    end_byte: u32,
    symbol_len: u32,
    container_len: u32,
    text_len: u32,
    kind: u8,
    flags: u8,
    reserved: [u8; 6],
}

const FLAG_SYMBOL: u8 = 1;
const FLAG_CONTAINER: u8 = 2;
const RECORD_LEN: usize = std::mem::size_of::<ChunkRecord>();

fn kind_code(kind: ChunkKind) -> u8 {
    ChunkKind::ALL.iter().position(|k| *k == kind).unwrap_or(0) as u8
}

/// Find an index: `explicit` if given (from `--index` / `CSEEK_INDEX`: an index directory,
/// or an indexed root holding `.cseek/`), otherwise the first `.cseek/` holding a manifest
/// in `start` or one of its ancestors.
pub fn find_index_dir(explicit: Option<&Path>, start: &Path) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        if dir.join(MANIFEST_FILE).is_file() {
            return Ok(dir.to_path_buf());
        }
        let inside = dir.join(DEFAULT_DIR_NAME);
        if inside.join(MANIFEST_FILE).is_file() {
            return Ok(inside);
        }
        return Err(Error::NoIndex {
            where_: format!("at {}", dir.display()),
        });
    }
    for dir in start.ancestors() {
        let candidate = dir.join(DEFAULT_DIR_NAME);
        if candidate.join(MANIFEST_FILE).is_file() {
            return Ok(candidate);
        }
    }
    Err(Error::NoIndex {
        where_: format!("in {} or any parent directory", start.display()),
    })
}

/// Read and check the manifest of an index directory.
pub fn read_manifest(index_dir: &Path) -> Result<Manifest> {
    let path = index_dir.join(MANIFEST_FILE);
    let bytes = std::fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NoIndex {
                where_: format!("at {}", index_dir.display()),
            }
        } else {
            Error::io("reading", &path, e)
        }
    })?;
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| Error::corrupt(&path, format!("unreadable manifest: {e}")))?;
    if manifest.format != "cseek-index" {
        return Err(Error::corrupt(&path, "not a cseek index manifest"));
    }
    check_version(index_dir, manifest.format_version)?;
    if manifest.generation.contains(['/', '\\']) || manifest.generation.starts_with('.') {
        return Err(Error::corrupt(&path, "bad generation name"));
    }
    Ok(manifest)
}

/// The writer lock of an index directory (`<index>/lock`, an advisory `flock`). Taken
/// before any other work of an indexing run, so a second writer fails at once with
/// [`Error::Locked`] naming the holder's pid; released when dropped (or when the process
/// dies: the kernel drops the lock with it).
#[derive(Debug)]
pub struct IndexLock {
    file: File,
    index_dir: PathBuf,
}

impl IndexLock {
    /// Take the lock of `index_dir` (created if missing, with a `.gitignore` so it is
    /// never committed).
    pub fn acquire(index_dir: &Path) -> Result<IndexLock> {
        std::fs::create_dir_all(index_dir)
            .map_err(|e| Error::io("creating directory", index_dir, e))?;
        let gitignore = index_dir.join(".gitignore");
        if !gitignore.exists() {
            std::fs::write(&gitignore, "# cseek index: never commit\n*\n")
                .map_err(|e| Error::io("writing", &gitignore, e))?;
        }
        let lock_path = index_dir.join(LOCK_FILE);
        let mut file = File::options()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io("opening", &lock_path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&lock_path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
                return Err(Error::Locked {
                    path: index_dir.to_path_buf(),
                    holder,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io("locking", &lock_path, e))
            }
        }
        // The holder's pid, for the message a second writer prints. Best effort: the lock
        // itself is what excludes.
        use std::io::{Seek, SeekFrom};
        let _ = file
            .set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| write!(file, "{}", std::process::id()));
        Ok(IndexLock {
            file,
            index_dir: index_dir.to_path_buf(),
        })
    }

    /// The locked index directory.
    pub fn index_dir(&self) -> &Path {
        &self.index_dir
    }

    /// Another handle on the same lock (the lock is held until every handle is dropped).
    fn share(&self) -> Result<IndexLock> {
        Ok(IndexLock {
            file: self
                .file
                .try_clone()
                .map_err(|e| Error::io("locking", self.index_dir.join(LOCK_FILE), e))?,
            index_dir: self.index_dir.clone(),
        })
    }

    /// Remove what earlier runs left behind: `tmp-gen-*` directories of interrupted runs,
    /// and every generation but the current one that no reader has open (readers hold a
    /// shared lock on its `readers.lock`; a generation still in use is kept for a later
    /// run). Best effort: a failure leaves files, never a broken index.
    pub fn collect_garbage(&self) {
        let current = read_manifest(&self.index_dir).ok().map(|m| m.generation);
        let Ok(rd) = std::fs::read_dir(&self.index_dir) else {
            return;
        };
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("tmp-gen-") {
                let _ = std::fs::remove_dir_all(entry.path());
                continue;
            }
            if !name.starts_with("gen-") || Some(&name) == current.as_ref() {
                continue;
            }
            match File::open(entry.path().join(READERS_LOCK_FILE)) {
                Ok(f) => {
                    if f.try_lock().is_ok() {
                        // Exclusive: no reader has it open, and a reader arriving now
                        // finds it locked or gone and re-reads the manifest.
                        let _ = std::fs::remove_dir_all(entry.path());
                    }
                }
                // No lock file: not a complete generation of this format.
                Err(_) => {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
}

/// The error for a generation file that does not decode. A newer cseek keeps the format
/// version when it only adds values (a language is appended to [`Language::ALL`]), and
/// this one cannot read those values; the chunker version in `meta.json`, read without
/// its schema, tells that case from damage.
///
/// [`Language::ALL`]: crate::lang::Language::ALL
fn undecodable(path: &Path, e: impl std::fmt::Display, meta_bytes: &[u8]) -> Error {
    let ours = crate::chunk::CHUNKER_VERSION;
    let newer = serde_json::from_slice::<serde_json::Value>(meta_bytes)
        .ok()
        .and_then(|m| m.get("chunker_version")?.as_u64())
        .filter(|&v| v > u64::from(ours));
    Error::corrupt(
        path,
        match newer {
            Some(v) => format!(
                "{e}; a newer cseek wrote it (chunker v{v}; this one is v{ours}), \
                 so upgrading cseek also reads it"
            ),
            None => e.to_string(),
        },
    )
}

fn check_version(index_dir: &Path, found: u32) -> Result<()> {
    if found == FORMAT_VERSION {
        return Ok(());
    }
    Err(Error::FormatVersion {
        path: index_dir.to_path_buf(),
        found,
        supported: FORMAT_VERSION,
        hint: if found > FORMAT_VERSION {
            "it was written by a newer cseek: upgrade cseek, or rebuild the index with this one (`cseek index`)"
        } else {
            "it was written by an older cseek: rebuild it with `cseek index`"
        },
    })
}

/// Writes one new generation. Nothing is visible to readers until [`commit`].
///
/// A writer starts empty, or from a base generation (incremental): the base's chunk and
/// text files are copied and the new chunks appended, so every chunk keeps its id.
///
/// [`commit`]: GenerationWriter::commit
pub struct GenerationWriter {
    index_dir: PathBuf,
    tmp_dir: PathBuf,
    name: String,
    chunks: BufWriter<File>,
    text: BufWriter<File>,
    text_len: u64,
    files: Vec<FileRecord>,
    n_chunks: u32,
    _lock: IndexLock,
}

impl GenerationWriter {
    /// Start a new generation in the locked index directory, empty or continuing `base`
    /// (a generation of the same index: its files are copied, its chunk ids kept).
    pub fn create(lock: &IndexLock, base: Option<&Store>) -> Result<Self> {
        let index_dir = lock.index_dir().to_path_buf();
        let lock = lock.share()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let name = format!("gen-{}-{}", now.as_millis(), std::process::id());
        let tmp_dir = index_dir.join(format!("tmp-{name}"));
        std::fs::create_dir_all(&tmp_dir)
            .map_err(|e| Error::io("creating directory", &tmp_dir, e))?;
        let chunks_path = tmp_dir.join(CHUNKS_FILE);
        let text_path = tmp_dir.join(TEXT_FILE);
        let (chunks, text, text_len, files, n_chunks) = match base {
            None => {
                let mut chunks = BufWriter::new(create_file(&chunks_path)?);
                // Header: magic, version, count (patched at commit).
                chunks
                    .write_all(&chunks_header(0))
                    .map_err(|e| Error::io("writing", &chunks_path, e))?;
                let text = BufWriter::new(create_file(&text_path)?);
                (chunks, text, 0, Vec::new(), 0)
            }
            Some(base) => {
                // A copy, not a link: the base stays immutable for its readers. The kernel
                // copies (copy_file_range), cloning extents where the filesystem can.
                let copy = |from: &str, to: &Path| -> Result<File> {
                    let src = base.generation_dir().join(from);
                    std::fs::copy(&src, to).map_err(|e| Error::io("copying", &src, e))?;
                    let mut f = File::options()
                        .write(true)
                        .open(to)
                        .map_err(|e| Error::io("opening", to, e))?;
                    use std::io::{Seek, SeekFrom};
                    f.seek(SeekFrom::End(0))
                        .map_err(|e| Error::io("opening", to, e))?;
                    Ok(f)
                };
                let chunks = BufWriter::new(copy(CHUNKS_FILE, &chunks_path)?);
                let text_file = copy(TEXT_FILE, &text_path)?;
                let text_len = text_file
                    .metadata()
                    .map_err(|e| Error::io("reading", &text_path, e))?
                    .len();
                let n = u32::try_from(base.len())
                    .map_err(|_| Error::corrupt(base.generation_dir(), "too many chunks"))?;
                (
                    chunks,
                    BufWriter::new(text_file),
                    text_len,
                    base.files().to_vec(),
                    n,
                )
            }
        };
        Ok(GenerationWriter {
            index_dir,
            tmp_dir,
            name,
            chunks,
            text,
            text_len,
            files,
            n_chunks,
            _lock: lock,
        })
    }

    /// The directory the generation is being written to (for the lexical index).
    pub fn dir(&self) -> &Path {
        &self.tmp_dir
    }

    /// Name the generation will have once committed.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of chunk records so far; the id the next chunk gets.
    pub fn next_chunk_id(&self) -> u32 {
        self.n_chunks
    }

    /// Number of file slots so far; the id the next file gets.
    pub fn next_file_id(&self) -> u32 {
        self.files.len() as u32
    }

    /// The file table so far (every slot, live or dead).
    pub fn files(&self) -> &[FileRecord] {
        &self.files
    }

    /// Mark file slot `file_id` dead: its chunks leave the index. Returns how many chunks
    /// that was (0 for an unknown or already dead slot).
    pub fn remove_file(&mut self, file_id: u32) -> u32 {
        match self.files.get_mut(file_id as usize) {
            Some(f) if f.live => {
                f.live = false;
                f.chunk_count
            }
            _ => 0,
        }
    }

    /// Update the recorded modification time of a live file whose content did not change.
    pub fn touch_file(&mut self, file_id: u32, mtime_ns: u64) {
        if let Some(f) = self.files.get_mut(file_id as usize) {
            f.mtime_ns = mtime_ns;
        }
    }

    /// Add a file and its chunks in a new slot (chunk ids are assigned consecutively).
    pub fn add_file(&mut self, file: NewFile<'_>, chunks: &[Chunk]) -> Result<()> {
        let file_id = self.files.len() as u32;
        let first_chunk = self.n_chunks;
        for chunk in chunks {
            self.add_chunk(file_id, chunk)?;
        }
        self.files.push(FileRecord {
            path: file.path.to_string(),
            language: file.language,
            size: file.size,
            mtime_ns: file.mtime_ns,
            hash: file.hash,
            first_chunk,
            chunk_count: self.n_chunks - first_chunk,
            live: true,
            lossy: file.lossy,
        });
        Ok(())
    }

    fn add_chunk(&mut self, file_id: u32, chunk: &Chunk) -> Result<()> {
        let symbol = chunk.symbol.as_deref().unwrap_or("");
        let container = chunk.container.as_deref().unwrap_or("");
        let mut flags = 0;
        if chunk.symbol.is_some() {
            flags |= FLAG_SYMBOL;
        }
        if chunk.container.is_some() {
            flags |= FLAG_CONTAINER;
        }
        let too_big = |what: &str| {
            Error::InvalidOption(format!(
                "{}: {what} too large for the index format",
                chunk.path
            ))
        };
        let record = ChunkRecord {
            text_offset: self.text_len,
            file_id,
            start_line: chunk.start_line,
            end_line: chunk.end_line,
            start_byte: u32::try_from(chunk.start_byte).map_err(|_| too_big("offset"))?,
            end_byte: u32::try_from(chunk.end_byte).map_err(|_| too_big("offset"))?,
            symbol_len: u32::try_from(symbol.len()).map_err(|_| too_big("symbol"))?,
            container_len: u32::try_from(container.len()).map_err(|_| too_big("container"))?,
            text_len: u32::try_from(chunk.text.len()).map_err(|_| too_big("chunk"))?,
            kind: kind_code(chunk.kind),
            flags,
            reserved: [0; 6],
        };
        let text_path = || self.tmp_dir.join(TEXT_FILE);
        for part in [symbol, container, chunk.text.as_str()] {
            self.text
                .write_all(part.as_bytes())
                .map_err(|e| Error::io("writing", text_path(), e))?;
            self.text_len += part.len() as u64;
        }
        self.chunks
            .write_all(bytemuck::bytes_of(&record))
            .map_err(|e| Error::io("writing", self.tmp_dir.join(CHUNKS_FILE), e))?;
        self.n_chunks = self
            .n_chunks
            .checked_add(1)
            .ok_or_else(|| too_big("chunk count"))?;
        Ok(())
    }

    /// Finish the files, move the generation into place and make it current. Returns the
    /// generation's name. Older generations are left for [`IndexLock::collect_garbage`]
    /// (a reader may still have them open).
    pub fn commit(self, meta: &IndexMeta) -> Result<String> {
        let GenerationWriter {
            index_dir,
            tmp_dir,
            name,
            chunks,
            text,
            files,
            n_chunks,
            _lock,
            ..
        } = self;
        let chunks_path = tmp_dir.join(CHUNKS_FILE);
        let mut chunks = chunks
            .into_inner()
            .map_err(|e| Error::io("writing", &chunks_path, e.into_error()))?;
        // Patch the record count into the header.
        use std::io::{Seek, SeekFrom};
        chunks
            .seek(SeekFrom::Start(0))
            .and_then(|_| chunks.write_all(&chunks_header(n_chunks)))
            .and_then(|_| chunks.sync_all())
            .map_err(|e| Error::io("writing", &chunks_path, e))?;
        let text_path = tmp_dir.join(TEXT_FILE);
        text.into_inner()
            .map_err(|e| Error::io("writing", &text_path, e.into_error()))?
            .sync_all()
            .map_err(|e| Error::io("writing", &text_path, e))?;
        let files_bytes = postcard::to_stdvec(&files)
            .map_err(|e| Error::corrupt(&tmp_dir, format!("encoding file table: {e}")))?;
        write_synced(&tmp_dir.join(FILES_FILE), &files_bytes)?;
        let meta_bytes = serde_json::to_vec_pretty(meta)
            .map_err(|e| Error::corrupt(&tmp_dir, format!("encoding meta: {e}")))?;
        write_synced(&tmp_dir.join(META_FILE), &meta_bytes)?;
        write_synced(&tmp_dir.join(READERS_LOCK_FILE), b"")?;
        let checksums = checksum_files(&tmp_dir)?;

        let final_dir = index_dir.join(&name);
        std::fs::rename(&tmp_dir, &final_dir).map_err(|e| Error::io("renaming", &tmp_dir, e))?;
        let manifest = Manifest {
            format: "cseek-index".into(),
            format_version: FORMAT_VERSION,
            generation: name.clone(),
            checksums,
        };
        let manifest_bytes = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| Error::corrupt(&index_dir, format!("encoding manifest: {e}")))?;
        let tmp_manifest = index_dir.join(format!("{MANIFEST_FILE}.tmp"));
        write_synced(&tmp_manifest, &manifest_bytes)?;
        // The atomic step: readers see either the old or the new manifest.
        let manifest_path = index_dir.join(MANIFEST_FILE);
        std::fs::rename(&tmp_manifest, &manifest_path)
            .map_err(|e| Error::io("renaming", &tmp_manifest, e))?;
        if let Ok(d) = File::open(&index_dir) {
            let _ = d.sync_all(); // persist the rename; best effort on platforms without dir fsync
        }
        Ok(name)
    }
}

/// A file to add to a generation (see [`GenerationWriter::add_file`]).
#[derive(Debug, Clone, Copy)]
pub struct NewFile<'a> {
    /// Root-relative path, `/`-separated.
    pub path: &'a str,
    /// Language it was chunked as.
    pub language: Language,
    /// Size on disk when read.
    pub size: u64,
    /// Modification time when read (0: unknown, or too recent to trust; 1: the file
    /// includes documentation from other files).
    pub mtime_ns: u64,
    /// blake3 of the raw bytes (with the included documentation, if any).
    pub hash: [u8; 32],
    /// Whether it was decoded lossily.
    pub lossy: bool,
}

fn chunks_header(count: u32) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(&CHUNKS_MAGIC);
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[12..16].copy_from_slice(&count.to_le_bytes());
    header
}

/// blake3 of each of cseek's own files present in a generation directory.
fn checksum_files(dir: &Path) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for rel in OWN_FILES {
        let path = dir.join(rel);
        match File::open(&path) {
            Ok(mut f) => {
                let mut hasher = blake3::Hasher::new();
                std::io::copy(&mut f, &mut hasher).map_err(|e| Error::io("reading", &path, e))?;
                out.insert(rel.to_string(), hasher.finalize().to_hex().to_string());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("reading", &path, e)),
        }
    }
    Ok(out)
}

fn create_file(path: &Path) -> Result<File> {
    File::create(path).map_err(|e| Error::io("creating", path, e))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = create_file(path)?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io("writing", path, e))
}

/// A committed generation, opened read-only with its chunk files memory-mapped.
pub struct Store {
    index_dir: PathBuf,
    generation: String,
    generation_dir: PathBuf,
    checksums: BTreeMap<String, String>,
    meta: IndexMeta,
    files: Vec<FileRecord>,
    chunks: Mmap,
    text: Mmap,
    n_chunks: usize,
    live_chunks: usize,
    /// Shared lock on the generation's `readers.lock`: while held, no writer removes it.
    _readers: File,
}

/// A chunk read back from the store, borrowing its strings from the mapped file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredChunk<'a> {
    /// Chunk id.
    pub id: u32,
    /// Id of its file (index into [`Store::files`]).
    pub file_id: u32,
    /// Root-relative path of its file.
    pub path: &'a str,
    /// Language of its file.
    pub language: Language,
    /// What it is.
    pub kind: ChunkKind,
    /// Defined symbol, if any.
    pub symbol: Option<&'a str>,
    /// Enclosing container, if any.
    pub container: Option<&'a str>,
    /// First line, 1-based.
    pub start_line: u32,
    /// Last line, 1-based inclusive.
    pub end_line: u32,
    /// Byte range start in the file.
    pub start_byte: u32,
    /// Byte range end in the file.
    pub end_byte: u32,
    /// The chunk's text.
    pub text: &'a str,
}

impl Store {
    /// Open the current generation of the index in `index_dir`.
    ///
    /// A commit may replace the manifest and remove the generation it named between our
    /// reading the one and opening the other; then the manifest is read again, a few
    /// times, before a failure is reported as damage.
    pub fn open(index_dir: &Path) -> Result<Store> {
        retry_on_commit(index_dir, |m| Store::open_generation(index_dir, m))
    }

    /// Open the generation `manifest` names.
    pub fn open_generation(index_dir: &Path, manifest: &Manifest) -> Result<Store> {
        let generation_dir = index_dir.join(&manifest.generation);
        if !generation_dir.is_dir() {
            return Err(Error::corrupt(
                &generation_dir,
                "the generation named by the manifest is missing",
            ));
        }
        // Lock first, so the files read below cannot be removed under us.
        let lock_path = generation_dir.join(READERS_LOCK_FILE);
        let readers =
            File::open(&lock_path).map_err(|e| Error::corrupt(&lock_path, e.to_string()))?;
        match readers.try_lock_shared() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::corrupt(
                    &generation_dir,
                    "the generation is being removed by a writer",
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io("locking", &lock_path, e))
            }
        }
        let meta_path = generation_dir.join(META_FILE);
        let meta_bytes =
            std::fs::read(&meta_path).map_err(|e| Error::corrupt(&meta_path, e.to_string()))?;
        let meta: IndexMeta = serde_json::from_slice(&meta_bytes)
            .map_err(|e| undecodable(&meta_path, e, &meta_bytes))?;
        check_version(index_dir, meta.format_version)?;
        let files_path = generation_dir.join(FILES_FILE);
        let files_bytes =
            std::fs::read(&files_path).map_err(|e| Error::corrupt(&files_path, e.to_string()))?;
        let files: Vec<FileRecord> = postcard::from_bytes(&files_bytes)
            .map_err(|e| undecodable(&files_path, e, &meta_bytes))?;
        let chunks = map_file(&generation_dir.join(CHUNKS_FILE))?;
        let text = map_file(&generation_dir.join(TEXT_FILE))?;
        let n_chunks = check_chunks_header(&generation_dir.join(CHUNKS_FILE), &chunks)?;
        let mut store = Store {
            index_dir: index_dir.to_path_buf(),
            generation: manifest.generation.clone(),
            generation_dir,
            checksums: manifest.checksums.clone(),
            meta,
            files,
            chunks,
            text,
            n_chunks,
            live_chunks: 0,
            _readers: readers,
        };
        store.check_consistency()?;
        store.live_chunks = store
            .files
            .iter()
            .filter(|f| f.live)
            .map(|f| f.chunk_count as usize)
            .sum();
        Ok(store)
    }

    /// Cheap structural checks so that a damaged index is reported, not trusted.
    fn check_consistency(&self) -> Result<()> {
        let path = self.generation_dir.join(FILES_FILE);
        let mut expected_first = 0u64;
        for f in &self.files {
            if u64::from(f.first_chunk) != expected_first {
                return Err(Error::corrupt(&path, "file table out of order"));
            }
            expected_first += u64::from(f.chunk_count);
        }
        if expected_first != self.n_chunks as u64 {
            return Err(Error::corrupt(
                &path,
                format!(
                    "file table covers {expected_first} chunks, chunk file has {}",
                    self.n_chunks
                ),
            ));
        }
        Ok(())
    }

    /// Name of the generation this store reads.
    pub fn generation(&self) -> &str {
        &self.generation
    }

    /// Whether this store still reads the current generation (false once a commit made
    /// another one current, or the manifest cannot be read).
    pub fn is_current(&self) -> bool {
        read_manifest(&self.index_dir).is_ok_and(|m| m.generation == self.generation)
    }

    /// Recompute the checksums of cseek's own files in this generation and compare them
    /// with the manifest's. Returns one line per problem (empty: all files intact). It
    /// reads every byte: for `cseek status --verify`, not for every open.
    pub fn verify(&self) -> Result<Vec<String>> {
        let actual = checksum_files(&self.generation_dir)?;
        let mut problems = Vec::new();
        for (file, expected) in &self.checksums {
            match actual.get(file) {
                None => problems.push(format!("{file}: missing")),
                Some(a) if a != expected => problems.push(format!("{file}: checksum mismatch")),
                Some(_) => {}
            }
        }
        for file in actual.keys() {
            if !self.checksums.contains_key(file) {
                problems.push(format!("{file}: not in the manifest"));
            }
        }
        Ok(problems)
    }

    /// The index directory this store was opened from.
    pub fn index_dir(&self) -> &Path {
        &self.index_dir
    }

    /// Directory of the current generation.
    pub fn generation_dir(&self) -> &Path {
        &self.generation_dir
    }

    /// Index metadata (what `cseek status` shows).
    pub fn meta(&self) -> &IndexMeta {
        &self.meta
    }

    /// The file table, indexed by file id: every slot, dead ones included (see
    /// [`FileRecord::live`]).
    pub fn files(&self) -> &[FileRecord] {
        &self.files
    }

    /// The live files with their ids.
    pub fn live_files(&self) -> impl Iterator<Item = (u32, &FileRecord)> {
        self.files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.live)
            .map(|(i, f)| (i as u32, f))
    }

    /// Number of chunk records, dead ones included: chunk ids are `0..len()`.
    pub fn len(&self) -> usize {
        self.n_chunks
    }

    /// Whether the index has no chunk records.
    pub fn is_empty(&self) -> bool {
        self.n_chunks == 0
    }

    /// Number of live chunks (what searches can return).
    pub fn live_len(&self) -> usize {
        self.live_chunks
    }

    /// Whether chunk `id` is live (its file is part of the index).
    pub fn is_live(&self, id: u32) -> bool {
        self.records()
            .get(id as usize)
            .and_then(|r| self.files.get(r.file_id as usize))
            .is_some_and(|f| f.live && f.chunk_ids().contains(&id))
    }

    /// A per-chunk mask of live chunks, indexed by chunk id.
    pub fn live_mask(&self) -> Vec<bool> {
        let mut mask = vec![false; self.n_chunks];
        for (_, f) in self.live_files() {
            let r = f.chunk_ids();
            if let Some(slice) = mask.get_mut(r.start as usize..r.end as usize) {
                slice.fill(true);
            }
        }
        mask
    }

    fn records(&self) -> &[ChunkRecord] {
        // Length and alignment were checked on open; an empty slice is the safe fallback.
        let body = self
            .chunks
            .get(HEADER_LEN..HEADER_LEN + self.n_chunks * RECORD_LEN)
            .unwrap_or(&[]);
        bytemuck::try_cast_slice(body).unwrap_or(&[])
    }

    /// Read chunk `id`. Fails with [`Error::CorruptIndex`] if its record points outside
    /// the files or at invalid UTF-8.
    pub fn chunk(&self, id: u32) -> Result<StoredChunk<'_>> {
        let chunks_path = || self.generation_dir.join(CHUNKS_FILE);
        let rec = self
            .records()
            .get(id as usize)
            .ok_or_else(|| Error::corrupt(chunks_path(), format!("no chunk {id}")))?;
        let file = self
            .files
            .get(rec.file_id as usize)
            .filter(|f| f.chunk_ids().contains(&id))
            .ok_or_else(|| Error::corrupt(chunks_path(), format!("chunk {id}: bad file id")))?;
        let kind = *ChunkKind::ALL
            .get(rec.kind as usize)
            .ok_or_else(|| Error::corrupt(chunks_path(), format!("chunk {id}: bad kind")))?;
        let mut at = usize::try_from(rec.text_offset).unwrap_or(usize::MAX);
        let mut take = |len: u32| -> Result<&str> {
            let len = len as usize;
            let bytes = at
                .checked_add(len)
                .and_then(|end| self.text.get(at..end))
                .ok_or_else(|| {
                    Error::corrupt(
                        self.generation_dir.join(TEXT_FILE),
                        format!("chunk {id} out of range"),
                    )
                })?;
            at += len;
            std::str::from_utf8(bytes).map_err(|_| {
                Error::corrupt(
                    self.generation_dir.join(TEXT_FILE),
                    format!("chunk {id}: invalid UTF-8"),
                )
            })
        };
        let symbol = take(rec.symbol_len)?;
        let container = take(rec.container_len)?;
        let text = take(rec.text_len)?;
        Ok(StoredChunk {
            id,
            file_id: rec.file_id,
            path: &file.path,
            language: file.language,
            kind,
            symbol: (rec.flags & FLAG_SYMBOL != 0).then_some(symbol),
            container: (rec.flags & FLAG_CONTAINER != 0).then_some(container),
            start_line: rec.start_line,
            end_line: rec.end_line,
            start_byte: rec.start_byte,
            end_byte: rec.end_byte,
            text,
        })
    }
}

/// Run `open` on the generation the manifest names; when it fails and meanwhile a commit
/// named another generation, try again (a few times) with that one.
pub fn retry_on_commit<T>(
    index_dir: &Path,
    mut open: impl FnMut(&Manifest) -> Result<T>,
) -> Result<T> {
    let mut manifest = read_manifest(index_dir)?;
    let mut attempts = 0;
    loop {
        match open(&manifest) {
            Ok(v) => return Ok(v),
            Err(e) => {
                attempts += 1;
                let now = read_manifest(index_dir)?;
                if now.generation == manifest.generation || attempts >= 8 {
                    return Err(e);
                }
                manifest = now;
            }
        }
    }
}

fn map_file(path: &Path) -> Result<Mmap> {
    let file = File::open(path).map_err(|e| Error::corrupt(path, e.to_string()))?;
    // SAFETY: generation files are immutable once committed (written to a temp dir,
    // renamed into place, never modified); cseek never writes to a mapped file.
    unsafe { Mmap::map(&file) }.map_err(|e| Error::io("mapping", path, e))
}

fn check_chunks_header(path: &Path, map: &[u8]) -> Result<usize> {
    if map.len() < HEADER_LEN || map[..8] != CHUNKS_MAGIC {
        return Err(Error::corrupt(path, "bad header"));
    }
    let version = u32::from_le_bytes([map[8], map[9], map[10], map[11]]);
    if version != FORMAT_VERSION {
        return Err(Error::corrupt(
            path,
            format!("chunk file version {version}"),
        ));
    }
    let count = u32::from_le_bytes([map[12], map[13], map[14], map[15]]) as usize;
    let expected = count
        .checked_mul(RECORD_LEN)
        .and_then(|n| n.checked_add(HEADER_LEN));
    if expected != Some(map.len()) {
        return Err(Error::corrupt(
            path,
            format!(
                "{count} records need {:?} bytes, file has {}",
                expected,
                map.len()
            ),
        ));
    }
    // mmap is page-aligned and the header is 16 bytes, so records are 8-aligned.
    if bytemuck::try_cast_slice::<u8, ChunkRecord>(&map[HEADER_LEN..]).is_err() {
        return Err(Error::corrupt(path, "misaligned records"));
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_layout_is_48_bytes() {
        assert_eq!(RECORD_LEN, 48);
        assert_eq!(std::mem::align_of::<ChunkRecord>(), 8);
    }
}
