//! Indexing: the pipeline that turns a directory into an index generation.
//!
//! walk → (read + chunk, in parallel with rayon) → store + lexical index, committed
//! atomically. [`build_index`] is what `cseek index` runs; [`IndexBuilder`] is the
//! lower-level entry for callers that bring their own chunks (BEIR corpora in `eval`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use crate::chunk::{chunk_file, Chunk, ChunkOptions};
use crate::error::Result;
use crate::lang::Language;
use crate::lexical::{LexicalDoc, LexicalWriter};
use crate::store::{GenerationWriter, IndexMeta, LanguageCounts, FORMAT_VERSION, LEXICAL_DIR};
use crate::walk::{self, SkipReason, WalkOptions, WalkStats};

/// What to index and how.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// The directory to index.
    pub root: PathBuf,
    /// Where the index goes (by convention `<root>/.cseek`).
    pub index_dir: PathBuf,
    /// Walk settings.
    pub walk: WalkOptions,
    /// Chunking settings.
    pub chunk: ChunkOptions,
}

impl IndexOptions {
    /// Index `root` into `<root>/.cseek` with default settings.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        IndexOptions {
            index_dir: root.join(crate::store::DEFAULT_DIR_NAME),
            root,
            walk: WalkOptions::default(),
            chunk: ChunkOptions::default(),
        }
    }
}

/// Receives progress events from [`build_index`]. Called from worker threads.
pub trait Progress: Sync {
    /// The walk is done and `files` files will be read and chunked.
    fn start(&self, files: u64) {
        let _ = files;
    }
    /// One more file was processed.
    fn file_done(&self) {}
    /// All files are chunked; the index is being written and committed.
    fn finishing(&self) {}
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}

/// What an indexing run did.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSummary {
    /// Where the index was written.
    pub index_dir: PathBuf,
    /// Files indexed.
    pub files: u64,
    /// Chunks indexed.
    pub chunks: u64,
    /// Skipped files per reason name.
    pub skipped: BTreeMap<String, u64>,
    /// Wall-clock seconds for the whole run.
    pub seconds: f64,
    /// Seconds per stage (`walk`, `read+chunk`, `write`, `commit`), to find the slow one.
    pub stage_seconds: BTreeMap<String, f64>,
}

/// Index a directory: walk it, chunk every file, build the lexical index, and commit a
/// new generation. The previous generation stays usable until the commit succeeds.
pub fn build_index(opts: &IndexOptions, progress: &dyn Progress) -> Result<IndexSummary> {
    let t0 = Instant::now();
    let root = std::fs::canonicalize(&opts.root)
        .map_err(|e| crate::Error::io("opening", &opts.root, e))?;
    let index_dir = absolute(&opts.index_dir);
    let (candidates, mut stats) = walk::walk(&root, &opts.walk, Some(&index_dir))?;
    let t_walk = t0.elapsed().as_secs_f64();
    progress.start(candidates.len() as u64);

    let mut builder = IndexBuilder::create(&index_dir, &root)?;
    builder.max_chunk_bytes = opts.chunk.max_chunk_bytes;
    builder.walk = opts.walk.clone();
    let mut t_chunk = 0.0;
    let mut t_write = 0.0;
    // Batches bound memory: only one batch of file texts and chunks is alive at a time,
    // while rayon keeps both cores busy within the batch.
    for batch in candidates.chunks(256) {
        let t = Instant::now();
        let processed: Vec<_> = batch
            .par_iter()
            .map(|c| {
                let r = walk::read_file(c, &opts.walk).map(|ft| {
                    let chunks = chunk_file(&c.rel_path, &ft.text, c.language, &opts.chunk);
                    (ft, chunks)
                });
                progress.file_done();
                r
            })
            .collect();
        t_chunk += t.elapsed().as_secs_f64();
        let t = Instant::now();
        for (candidate, result) in batch.iter().zip(processed) {
            match result {
                Ok((ft, chunks)) => {
                    if ft.lossy {
                        stats.lossy_utf8 += 1;
                    }
                    builder.add_file_with_hash(
                        &candidate.rel_path,
                        candidate.language,
                        ft.text.len() as u64,
                        ft.hash,
                        chunks,
                    )?;
                }
                Err(reason) => stats.skip(reason, &candidate.rel_path),
            }
        }
        t_write += t.elapsed().as_secs_f64();
    }
    progress.finishing();
    let t = Instant::now();
    builder.stats = stats;
    let mut summary = builder.commit_at(t0)?;
    let t_commit = t.elapsed().as_secs_f64();
    summary.stage_seconds = BTreeMap::from([
        ("walk".to_string(), t_walk),
        ("read+chunk".to_string(), t_chunk),
        ("write".to_string(), t_write),
        ("commit".to_string(), t_commit),
    ]);
    Ok(summary)
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Builds an index generation from chunks the caller provides.
///
/// ```no_run
/// # fn main() -> cseek::Result<()> {
/// use cseek::chunk::{Chunk, ChunkKind};
/// use cseek::index::IndexBuilder;
/// use cseek::lang::Language;
/// let mut b = IndexBuilder::create("/tmp/idx".as_ref(), "/tmp".as_ref())?;
/// let text = "def f():\n    return 1\n";
/// b.add_file("a.py", Language::Python, text, vec![Chunk {
///     path: "a.py".into(), language: Language::Python, kind: ChunkKind::Function,
///     symbol: Some("f".into()), container: None, start_byte: 0, end_byte: text.len(),
///     start_line: 1, end_line: 2, text: text.into() }])?;
/// b.commit()?;
/// # Ok(()) }
/// ```
pub struct IndexBuilder {
    root: PathBuf,
    generation: GenerationWriter,
    lexical: LexicalWriter,
    languages: BTreeMap<Language, LanguageCounts>,
    files: u64,
    chunks: u64,
    stats: WalkStats,
    walk: WalkOptions,
    max_chunk_bytes: usize,
    started: Instant,
}

impl IndexBuilder {
    /// Start a new generation in `index_dir` for files under `root`.
    pub fn create(index_dir: &Path, root: &Path) -> Result<Self> {
        let generation = GenerationWriter::create(index_dir)?;
        let lexical_dir = generation.dir().join(LEXICAL_DIR);
        std::fs::create_dir_all(&lexical_dir)
            .map_err(|e| crate::Error::io("creating directory", &lexical_dir, e))?;
        let lexical = LexicalWriter::create(&lexical_dir)?;
        Ok(IndexBuilder {
            root: root.to_path_buf(),
            generation,
            lexical,
            languages: BTreeMap::new(),
            files: 0,
            chunks: 0,
            stats: WalkStats::default(),
            walk: WalkOptions::default(),
            max_chunk_bytes: ChunkOptions::default().max_chunk_bytes,
            started: Instant::now(),
        })
    }

    /// Add one file and its chunks. `text` is the file's content (hashed for change
    /// detection).
    pub fn add_file(
        &mut self,
        path: &str,
        language: Language,
        text: &str,
        chunks: Vec<Chunk>,
    ) -> Result<()> {
        let hash = *blake3::hash(text.as_bytes()).as_bytes();
        self.add_file_with_hash(path, language, text.len() as u64, hash, chunks)
    }

    fn add_file_with_hash(
        &mut self,
        path: &str,
        language: Language,
        size: u64,
        hash: [u8; 32],
        chunks: Vec<Chunk>,
    ) -> Result<()> {
        let file_id = self.generation.next_file_id();
        let first = self.generation.next_chunk_id();
        for (i, chunk) in chunks.iter().enumerate() {
            self.lexical.add(&LexicalDoc {
                chunk_id: first + i as u32,
                file_id,
                path,
                language,
                kind: chunk.kind,
                symbol: chunk.symbol.as_deref(),
                container: chunk.container.as_deref(),
                text: &chunk.text,
            })?;
        }
        self.generation
            .add_file(path, language, size, hash, &chunks)?;
        let counts = self.languages.entry(language).or_default();
        counts.files += 1;
        counts.chunks += chunks.len() as u64;
        self.files += 1;
        self.chunks += chunks.len() as u64;
        Ok(())
    }

    /// Record that a file was skipped (shown by `cseek status`).
    pub fn skip(&mut self, reason: SkipReason, path: &str) {
        self.stats.skip(reason, path);
    }

    /// Finish the lexical index, write the metadata and make the generation current.
    pub fn commit(self) -> Result<IndexSummary> {
        let started = self.started;
        self.commit_at(started)
    }

    fn commit_at(self, started: Instant) -> Result<IndexSummary> {
        self.lexical.finish()?;
        let seconds = started.elapsed().as_secs_f64();
        let meta = IndexMeta {
            format_version: FORMAT_VERSION,
            cseek_version: env!("CARGO_PKG_VERSION").to_string(),
            root: self.root.clone(),
            created_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            seconds,
            files: self.files,
            chunks: self.chunks,
            languages: self.languages,
            skipped: self.stats.skipped.clone(),
            skipped_examples: self.stats.examples.clone(),
            lossy_utf8_files: self.stats.lossy_utf8,
            walk: self.walk,
            max_chunk_bytes: self.max_chunk_bytes,
        };
        let index_dir = self
            .generation
            .dir()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        self.generation.commit(&meta)?;
        Ok(IndexSummary {
            index_dir,
            files: meta.files,
            chunks: meta.chunks,
            skipped: meta
                .skipped
                .iter()
                .map(|(r, n)| (r.name().to_string(), *n))
                .collect(),
            seconds,
            stage_seconds: BTreeMap::new(),
        })
    }
}
