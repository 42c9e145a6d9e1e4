//! Indexing: the pipeline that turns a directory into an index generation.
//!
//! walk → read + chunk (rayon, in batches of files) → store + lexical index, while an
//! embedding stage on its own thread turns chunks into vectors → commit, atomically.
//! [`build_index`] is what `cseek index` runs; [`IndexBuilder`] is the lower-level entry
//! for callers that bring their own chunks (BEIR corpora in `eval`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use rayon::prelude::*;

use crate::chunk::{chunk_file, Chunk, ChunkOptions};
use crate::embed::{EmbedOptions, Embedder};
use crate::error::{Error, Result};
use crate::lang::Language;
use crate::lexical::{LexicalDoc, LexicalWriter};
use crate::store::{
    EmbeddingMeta, GenerationWriter, IndexMeta, LanguageCounts, FORMAT_VERSION, LEXICAL_DIR,
    VECTORS_DIR,
};
use crate::vector::{normalize, VectorOptions, VectorStats, VectorWriter};
use crate::walk::{self, SkipReason, WalkOptions, WalkStats};

/// The model tried last when the user names none (and the one `cseek eval` means by the
/// default): small, fast on CPU, and good enough to make hybrid search beat BM25 alone.
pub const DEFAULT_MODEL: &str = "minilm";

/// Models tried in order when the user names none, and why each is the choice, for a
/// CPU (`gpu == false`) or a GPU. The first one that can be loaded (local directory,
/// Hugging Face cache, or download) is used; when none can, the index is lexical-only.
///
/// - CPU: a static code model first — an index is built at thousands of chunks per
///   second and a query embeds in microseconds, and with BM25 and code-aware ranking its
///   hybrid results come close to a transformer's; then MiniLM (the best model measured
///   with `cseek eval` that runs everywhere, about 10× slower to index).
/// - GPU: a code transformer first (quality; the GPU makes its cost small), then the CPU
///   list.
pub fn default_models(gpu: bool) -> &'static [(&'static str, &'static str)] {
    const CPU: &[(&str, &str)] = &[
        (
            "potion-code",
            "static code model, the CPU default: indexes thousands of chunks per second",
        ),
        (
            "minilm",
            "small transformer, the CPU fallback when no static code model is available",
        ),
    ];
    const GPU: &[(&str, &str)] = &[
        ("jina-code", "code transformer, the GPU default"),
        (
            "potion-code",
            "static code model (no code transformer available)",
        ),
        ("minilm", "small transformer (no code model available)"),
    ];
    if gpu {
        GPU
    } else {
        CPU
    }
}

/// Name of the template [`embedding_text`] implements, recorded in the index.
pub const EMBEDDING_TEMPLATE: &str = "path-symbol-text-v1";

/// Which embedding model an index run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelChoice {
    /// No vectors: lexical search only.
    Off,
    /// [`DEFAULT_MODEL`] if it can be loaded (local, cached or downloaded); otherwise
    /// the index is built lexical-only and a warning says how to enable semantic search.
    Default,
    /// This model (registry name, Hugging Face id or directory); failing to load it is
    /// an error.
    Named(String),
}

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
    /// Embedding model.
    pub model: ModelChoice,
    /// How to load and run the model.
    pub embed: EmbedOptions,
    /// Vector storage and search settings.
    pub vectors: VectorOptions,
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
            model: ModelChoice::Default,
            embed: EmbedOptions::default(),
            vectors: VectorOptions::default(),
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
    /// `done` of the `total` chunks produced so far have been embedded.
    fn embedded(&self, done: u64, total: u64) {
        let _ = (done, total);
    }
    /// All files are chunked; the index is being written and committed.
    fn finishing(&self) {}
    /// Something the user should know (printed once, prominently, by the CLI).
    fn warn(&self, message: &str) {
        let _ = message;
    }
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
    /// Seconds per stage (`walk`, `read+chunk`, `write`, `embed-wait`, `commit`), to find
    /// the slow one.
    pub stage_seconds: BTreeMap<String, f64>,
    /// The model used, when the index has vectors.
    pub embedding: Option<EmbeddingMeta>,
    /// Why the index has no vectors, when it has none.
    pub semantic_off_reason: Option<String>,
    /// Which model was used and why (e.g. the CPU default, after what was unavailable).
    pub model_reason: Option<String>,
}

/// A loaded model and the name it was asked for by, or none (lexical-only).
pub type LoadedModel = Option<(String, Embedder)>;

/// Resolve the model choice: `Ok(None)` with a reason when running lexical-only.
pub fn load_model(
    choice: &ModelChoice,
    opts: &EmbedOptions,
) -> Result<(LoadedModel, Option<String>)> {
    load_model_explained(choice, opts).map(|(m, off, _)| (m, off))
}

/// [`load_model`], plus one line saying which model was used and why (for
/// [`ModelChoice::Default`]: the situation, and what was tried before it).
pub fn load_model_explained(
    choice: &ModelChoice,
    opts: &EmbedOptions,
) -> Result<(LoadedModel, Option<String>, Option<String>)> {
    match choice {
        ModelChoice::Off => Ok((None, Some("turned off (--model none)".into()), None)),
        ModelChoice::Named(spec) => Ok((
            Some((spec.clone(), Embedder::load(spec, opts)?)),
            None,
            Some(format!("model `{spec}` (named by the user)")),
        )),
        ModelChoice::Default => {
            let gpu = crate::embed::select_device(opts.device).is_ok_and(|d| d.name != "cpu");
            let mut tried = Vec::new();
            for (name, why) in default_models(gpu) {
                match Embedder::load(name, opts) {
                    Ok(e) => {
                        let mut line = format!("model `{name}`: {why}");
                        if !tried.is_empty() {
                            line.push_str(&format!("; not available: {}", tried.join("; ")));
                        }
                        return Ok((Some((name.to_string(), e)), None, Some(line)));
                    }
                    // First line only: each error's multi-line help would repeat per model.
                    Err(err) => tried.push(format!(
                        "`{name}` ({})",
                        err.to_string()
                            .lines()
                            .next()
                            .unwrap_or_default()
                            .trim_end_matches(':')
                    )),
                }
            }
            Ok((
                None,
                Some(format!(
                    "no default model could be loaded: {}",
                    tried.join("; ")
                )),
                None,
            ))
        }
    }
}

/// Index a directory: walk it, chunk every file, build the lexical index and (when a
/// model is available) the vectors, and commit a new generation. The previous generation
/// stays usable until the commit succeeds.
pub fn build_index(opts: &IndexOptions, progress: &dyn Progress) -> Result<IndexSummary> {
    let t0 = Instant::now();
    let root =
        std::fs::canonicalize(&opts.root).map_err(|e| Error::io("opening", &opts.root, e))?;
    let index_dir = absolute(&opts.index_dir);
    let (model, off_reason, model_reason) = load_model_explained(&opts.model, &opts.embed)?;
    if let Some(reason) = &off_reason {
        if opts.model != ModelChoice::Off {
            progress.warn(&format!(
                "semantic search is OFF for this index: {reason}\n\
                 The index is lexical-only (BM25). To enable semantic search, make a model \
                 available and re-index, e.g. `cseek index --model DIR` with a local model \
                 directory; `cseek models` lists the models cseek knows."
            ));
        }
    }
    let (candidates, mut stats) = walk::walk(&root, &opts.walk, Some(&index_dir))?;
    let t_walk = t0.elapsed().as_secs_f64();
    progress.start(candidates.len() as u64);

    let mut builder = IndexBuilder::create(&index_dir, &root)?;
    builder.max_chunk_bytes = opts.chunk.max_chunk_bytes;
    builder.walk = opts.walk.clone();
    builder.semantic_off_reason = off_reason;
    if let Some((spec, embedder)) = model {
        builder.enable_vectors(spec, Arc::new(embedder), &opts.embed, &opts.vectors)?;
    }
    let mut t_chunk = 0.0;
    let mut t_write = 0.0;
    // Batches bound memory: only one batch of file texts and chunks is alive at a time,
    // while rayon keeps the cores busy within the batch.
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
        builder.report_embedding(progress);
    }
    let t = Instant::now();
    builder.wait_for_embeddings(progress)?;
    let t_embed_wait = t.elapsed().as_secs_f64();
    progress.finishing();
    let t = Instant::now();
    builder.stats = stats;
    let mut summary = builder.commit_at(t0)?;
    let t_commit = t.elapsed().as_secs_f64();
    summary.stage_seconds = BTreeMap::from([
        ("walk".to_string(), t_walk),
        ("read+chunk".to_string(), t_chunk),
        ("write".to_string(), t_write),
        // Time chunking was done but embedding was not: the embedding stage's lag.
        ("embed-wait".to_string(), t_embed_wait),
        ("commit".to_string(), t_commit),
    ]);
    summary.model_reason = model_reason;
    Ok(summary)
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The text embedded for a chunk: where it lives and what it defines, then its code.
/// Models truncate long inputs from the end, so the context goes first.
pub fn embedding_text(
    path: &str,
    container: Option<&str>,
    symbol: Option<&str>,
    text: &str,
) -> String {
    let mut out = String::with_capacity(path.len() + text.len() + 64);
    out.push_str(path);
    out.push('\n');
    match (container, symbol) {
        (Some(c), Some(s)) => {
            out.push_str(c);
            out.push('.');
            out.push_str(s);
            out.push('\n');
        }
        (None, Some(s)) | (Some(s), None) => {
            out.push_str(s);
            out.push('\n');
        }
        (None, None) => {}
    }
    out.push_str(text);
    out
}

/// Chunks sent to the embedding thread at a time: enough for length-sorted batching to
/// pay off, small enough that progress moves.
const EMBED_GROUP: usize = 256;

/// The embedding stage: a thread that embeds groups of chunk texts in order and appends
/// the vectors to the vector files.
struct EmbedStage {
    sender: Option<SyncSender<Vec<String>>>,
    handle: Option<JoinHandle<Result<(VectorStats, f64)>>>,
    pending: Vec<String>,
    meta: EmbeddingMeta,
    sent: u64,
    /// Chunks embedded so far, counted by the thread.
    done: Arc<AtomicU64>,
}

impl EmbedStage {
    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let group = std::mem::take(&mut self.pending);
        self.sent += group.len() as u64;
        let failed = match &self.sender {
            Some(tx) => tx.send(group).is_err(),
            None => true,
        };
        if failed {
            // The thread stopped early: its error says why.
            return Err(self.join().err().unwrap_or_else(|| {
                Error::InvalidOption("the embedding stage stopped unexpectedly".into())
            }));
        }
        Ok(())
    }

    fn join(&mut self) -> Result<(VectorStats, f64)> {
        self.sender = None; // closes the channel: the thread finishes its queue and returns
        match self.handle.take() {
            Some(h) => h
                .join()
                .map_err(|_| Error::InvalidOption("the embedding thread panicked".into()))?,
            None => Err(Error::InvalidOption(
                "the embedding stage already finished".into(),
            )),
        }
    }
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
    embed: Option<EmbedStage>,
    languages: BTreeMap<Language, LanguageCounts>,
    files: u64,
    chunks: u64,
    stats: WalkStats,
    walk: WalkOptions,
    max_chunk_bytes: usize,
    semantic_off_reason: Option<String>,
    started: Instant,
}

impl IndexBuilder {
    /// Start a new generation in `index_dir` for files under `root` (lexical only until
    /// [`enable_vectors`](Self::enable_vectors)).
    pub fn create(index_dir: &Path, root: &Path) -> Result<Self> {
        let generation = GenerationWriter::create(index_dir)?;
        let lexical_dir = generation.dir().join(LEXICAL_DIR);
        std::fs::create_dir_all(&lexical_dir)
            .map_err(|e| Error::io("creating directory", &lexical_dir, e))?;
        let lexical = LexicalWriter::create(&lexical_dir)?;
        Ok(IndexBuilder {
            root: root.to_path_buf(),
            generation,
            lexical,
            embed: None,
            languages: BTreeMap::new(),
            files: 0,
            chunks: 0,
            stats: WalkStats::default(),
            walk: WalkOptions::default(),
            max_chunk_bytes: ChunkOptions::default().max_chunk_bytes,
            semantic_off_reason: Some("no embedding model was given".into()),
            started: Instant::now(),
        })
    }

    /// Embed every chunk added from now on with `embedder` (on a thread of its own, so
    /// chunking continues meanwhile) and store the vectors. Call before adding files.
    /// `spec` is the model as the user named it, recorded in the index.
    pub fn enable_vectors(
        &mut self,
        spec: String,
        embedder: Arc<Embedder>,
        embed_opts: &EmbedOptions,
        vector_opts: &VectorOptions,
    ) -> Result<()> {
        if self.chunks > 0 {
            return Err(Error::InvalidOption(
                "enable_vectors must be called before any file is added".into(),
            ));
        }
        let dir = self.generation.dir().join(VECTORS_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating directory", &dir, e))?;
        let info = embedder.info().clone();
        let mut writer = VectorWriter::create(&dir, info.dims, vector_opts)?;
        let (tx, rx) = sync_channel::<Vec<String>>(4);
        let done = Arc::new(AtomicU64::new(0));
        let done_in_thread = Arc::clone(&done);
        let handle = std::thread::Builder::new()
            .name("cseek-embed".into())
            .spawn(move || -> Result<(VectorStats, f64)> {
                let mut seconds = 0.0;
                for group in rx {
                    let t = Instant::now();
                    let refs: Vec<&str> = group.iter().map(String::as_str).collect();
                    let vectors = embedder.embed_documents(&refs)?;
                    seconds += t.elapsed().as_secs_f64();
                    for mut v in vectors {
                        normalize(&mut v);
                        writer.add(&v)?;
                    }
                    done_in_thread.fetch_add(refs.len() as u64, Ordering::Relaxed);
                }
                Ok((writer.finish()?, seconds))
            })
            .map_err(|e| Error::io("starting the embedding thread", &dir, e))?;
        self.embed = Some(EmbedStage {
            sender: Some(tx),
            handle: Some(handle),
            pending: Vec::with_capacity(EMBED_GROUP),
            meta: EmbeddingMeta {
                model: spec,
                hf_id: info.hf_id.clone(),
                arch: info.arch.as_str().to_string(),
                dims: info.dims,
                matryoshka_dim: embed_opts.matryoshka_dim,
                pooling: format!("{:?}", info.pooling).to_lowercase(),
                query_prefix: info.query_prefix.clone(),
                document_prefix: info.document_prefix.clone(),
                max_tokens: info.max_tokens,
                template: EMBEDDING_TEMPLATE.to_string(),
                vector_dtype: match vector_opts.dtype {
                    crate::vector::VectorDtype::F32 => "f32",
                    crate::vector::VectorDtype::F16 => "f16",
                }
                .to_string(),
                graph: false,
                seconds: 0.0,
            },
            sent: 0,
            done,
        });
        self.semantic_off_reason = None;
        Ok(())
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
            if let Some(stage) = &mut self.embed {
                stage.pending.push(embedding_text(
                    path,
                    chunk.container.as_deref(),
                    chunk.symbol.as_deref(),
                    &chunk.text,
                ));
                if stage.pending.len() >= EMBED_GROUP {
                    stage.flush()?;
                }
            }
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

    fn report_embedding(&self, progress: &dyn Progress) {
        if let Some(stage) = &self.embed {
            progress.embedded(stage.done.load(Ordering::Relaxed), self.chunks);
        }
    }

    /// Send the last chunks to the embedding stage and wait until it has embedded them
    /// all, reporting progress meanwhile. [`commit`](Self::commit) does this too; calling
    /// it first only adds progress reports.
    pub fn wait_for_embeddings(&mut self, progress: &dyn Progress) -> Result<()> {
        let Some(stage) = &mut self.embed else {
            return Ok(());
        };
        stage.flush()?;
        while stage.done.load(Ordering::Relaxed) < stage.sent
            && stage.handle.as_ref().is_some_and(|h| !h.is_finished())
        {
            progress.embedded(stage.done.load(Ordering::Relaxed), self.chunks);
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        progress.embedded(stage.done.load(Ordering::Relaxed), self.chunks);
        Ok(())
    }

    /// Record that a file was skipped (shown by `cseek status`).
    pub fn skip(&mut self, reason: SkipReason, path: &str) {
        self.stats.skip(reason, path);
    }

    /// Finish the lexical index and the vectors, write the metadata and make the
    /// generation current.
    pub fn commit(self) -> Result<IndexSummary> {
        let started = self.started;
        self.commit_at(started)
    }

    fn commit_at(mut self, started: Instant) -> Result<IndexSummary> {
        let embedding = match self.embed.take() {
            None => None,
            Some(mut stage) => {
                stage.flush()?;
                let (stats, seconds) = stage.join()?;
                if stats.count as u64 != self.chunks {
                    return Err(Error::InvalidOption(format!(
                        "embedding produced {} vectors for {} chunks",
                        stats.count, self.chunks
                    )));
                }
                let mut meta = stage.meta;
                meta.graph = stats.graph;
                meta.seconds = seconds;
                Some(meta)
            }
        };
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
            embedding,
            semantic_off_reason: self.semantic_off_reason,
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
            embedding: meta.embedding,
            semantic_off_reason: meta.semantic_off_reason,
            model_reason: None,
        })
    }
}
