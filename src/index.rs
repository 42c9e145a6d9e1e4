//! Indexing: the pipeline that turns a directory into an index generation.
//!
//! walk → read + chunk (rayon, in batches of files) → store + lexical index, while an
//! embedding stage on its own thread turns chunks into vectors → commit, atomically.
//! [`build_index`] is what `cseek index` runs; [`IndexBuilder`] is the lower-level entry
//! for callers that bring their own chunks (BEIR corpora in `eval`).
//!
//! Runs are incremental. The writer lock is taken first; then the walk's (size, mtime)
//! of each file is compared with the previous generation's file table, files that may
//! have changed are read and their blake3 compared, and only changed files are chunked.
//! The new generation continues the previous one (chunk ids are stable): removed and
//! changed files' slots are marked dead, the lexical index gets deletes and adds, the
//! vectors are appended. Every vector comes from the embedding cache
//! (`<index>/cache/`, keyed by model identity and embedded text) when it holds it, so
//! nothing embedded once is embedded again — after a rename, a revert, a branch switch,
//! or a killed run, whose finished batches the cache kept. When dead chunks pass
//! [`COMPACT_DEAD_FRACTION`], the run writes a fresh generation instead (chunks of
//! unchanged files are copied from the previous one, vectors come from the cache), which
//! is exactly what `--rebuild` would build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use rayon::prelude::*;

use std::collections::{HashMap, HashSet};

use crate::cache::{cache_key, EmbeddingCache};
use crate::chunk::{chunk_refined, include, Chunk, ChunkOptions};
use crate::embed::{EmbedOptions, Embedder};
use crate::error::{Error, Result};
use crate::fuse::calibrate::{self, FusionCalibration, PairSampler};
use crate::fuse::RrfParams;
use crate::lang::Language;
use crate::lexical::{LexicalDoc, LexicalIndex, LexicalWriter};
use crate::store::{
    EmbeddingMeta, GenerationWriter, IndexLock, IndexMeta, LanguageCounts, NewFile, Store,
    StoredChunk, FORMAT_VERSION, LEXICAL_DIR, VECTORS_DIR,
};
use crate::vector::{normalize, VectorIndex, VectorOptions, VectorStats, VectorWriter};
use crate::walk::{self, Candidate, SkipReason, WalkOptions, WalkStats};

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
pub const EMBEDDING_TEMPLATE: &str = "symbol-text-v2";

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
    /// Build a fresh generation from scratch instead of updating the previous one
    /// (vectors still come from the embedding cache).
    pub rebuild: bool,
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
            rebuild: false,
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
    /// Return `true` to stop the run (an editor closing the workspace, a user pressing
    /// cancel). It is asked between batches of files and of embeddings; the run then ends
    /// with [`Error::Cancelled`], the previous generation stays current, and vectors
    /// already computed stay in the cache for the next run.
    fn cancelled(&self) -> bool {
        false
    }
}

fn check_cancelled(progress: &dyn Progress) -> Result<()> {
    if progress.cancelled() {
        Err(Error::Cancelled)
    } else {
        Ok(())
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
    /// Files added or whose content changed (chunked again).
    pub files_changed: u64,
    /// Files removed from the index (deleted, now ignored, or unreadable).
    pub files_removed: u64,
    /// Chunks actually run through the model in this run.
    pub chunks_embedded: u64,
    /// New chunks whose vectors came from the embedding cache.
    pub chunks_cached: u64,
    /// The current generation after the run.
    pub generation: String,
    /// How the run went: `unchanged` (nothing to do, nothing committed), `incremental`
    /// (the previous generation updated), or `full` (a fresh generation).
    pub kind: RunKind,
    /// Why the run was full rather than incremental (no index yet, `--rebuild`, settings
    /// changed, compaction, an unreadable previous index).
    pub full_reason: Option<String>,
    /// The fusion weights the index holds, fitted on its own doc comments (see
    /// [`crate::fuse::calibrate`]); `None`: the default weights.
    pub fusion: Option<FusionCalibration>,
    /// Why an index with vectors has no fitted weights (too few doc comments, or the
    /// fit's error); `None` when fitted or when there was nothing to fit.
    pub fusion_note: Option<String>,
}

impl IndexSummary {
    /// What the run did, as the JSON object `cseek index --json` prints: `files`,
    /// `chunks`, `files_changed`, `files_removed`, `chunks_embedded`, `chunks_cached`,
    /// `seconds`, `generation`, `kind`. `cseek watch --json` and the MCP server's
    /// `reindex` add their own fields to it.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        let v = serde_json::json!({
            "files": self.files,
            "chunks": self.chunks,
            "files_changed": self.files_changed,
            "files_removed": self.files_removed,
            "chunks_embedded": self.chunks_embedded,
            "chunks_cached": self.chunks_cached,
            "seconds": self.seconds,
            "generation": self.generation,
            "kind": self.kind.name(),
            "stage_seconds": self.stage_seconds,
            "fusion": self.fusion,
            "fusion_note": self.fusion_note,
        });
        match v {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }
}

/// How an indexing run updated the index (see [`IndexSummary::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// Nothing changed; no generation was written.
    Unchanged,
    /// The previous generation was continued with the changes.
    Incremental,
    /// A fresh generation was written.
    Full,
}

impl RunKind {
    /// Lower-case name (`unchanged`, `incremental`, `full`).
    pub fn name(self) -> &'static str {
        match self {
            RunKind::Unchanged => "unchanged",
            RunKind::Incremental => "incremental",
            RunKind::Full => "full",
        }
    }
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

/// When an incremental run would leave more than this fraction of the chunk records dead
/// (belonging to removed or changed files), it writes a fresh generation instead: dead
/// records cost disk, scan time and BM25 drift, and a fresh generation costs a re-read of
/// the files plus cache look-ups (measurements in `benches/README.md`).
pub const COMPACT_DEAD_FRACTION: f64 = 0.25;
/// ... but never below this many dead records (small indexes rebuild in milliseconds
/// anyway, and compacting them often would only churn).
pub const COMPACT_MIN_DEAD: u64 = 1_000;

/// A file whose mtime is this close to the start of the run is recorded with an unknown
/// mtime: it may change again within the timestamp's resolution, unseen ("racily clean",
/// as git calls it), so the next run compares its hash.
const RACY_MTIME_NS: u64 = 2_000_000_000;

/// What to do with one walked file in this run.
enum Plan {
    /// Same size and mtime as in the previous generation: keep its chunks.
    Keep(u32),
    /// Read it; `Some(id)` is its slot in the previous generation.
    Read(Option<u32>),
}

/// A file read in this run.
enum Outcome {
    /// Content identical to the previous generation's (only the mtime moved).
    Same(u32, u64),
    /// New or changed content, chunked.
    Changed {
        old: Option<u32>,
        file: FileData,
        chunks: Vec<Chunk>,
    },
    /// Could not be indexed (binary, too large, unreadable …).
    Skipped(Option<u32>, SkipReason),
}

/// Owned version of [`NewFile`], carried from the reading threads.
struct FileData {
    /// The language its text was chunked as ([`Language::refine`] of the walker's).
    language: Language,
    size: u64,
    mtime_ns: u64,
    hash: [u8; 32],
    lossy: bool,
}

/// Index a directory: walk it, chunk every changed file, update the lexical index and
/// (when a model is available) the vectors, and commit a new generation. The previous
/// generation stays usable (and answers queries) until the commit succeeds; a run that
/// finds nothing changed commits nothing.
pub fn build_index(opts: &IndexOptions, progress: &dyn Progress) -> Result<IndexSummary> {
    Indexer::new(opts.clone()).update(progress)
}

/// A model as loaded for indexing: the model (or none), why there is none, and which
/// was chosen and why.
type ModelLoad = (
    Option<(String, Arc<Embedder>)>,
    Option<String>,
    Option<String>,
);

/// Successive indexing runs of one index that share what they can: the loaded embedding
/// model, so that a long-lived caller (`cseek watch`, an editor) pays the model load
/// once, not per update. [`build_index`] is one run of a new `Indexer`.
pub struct Indexer {
    opts: IndexOptions,
    model: Option<ModelLoad>,
}

impl Indexer {
    /// An indexer for these options; nothing is loaded until a run needs it.
    pub fn new(opts: IndexOptions) -> Self {
        Indexer { opts, model: None }
    }

    /// The options it indexes with.
    pub fn options(&self) -> &IndexOptions {
        &self.opts
    }

    /// Whether the next runs build a fresh generation ([`IndexOptions::rebuild`]).
    pub fn set_rebuild(&mut self, rebuild: bool) {
        self.opts.rebuild = rebuild;
    }

    /// Bring the index up to date with the tree (see [`build_index`]). The model is
    /// loaded on the first run that has chunks to embed, and kept.
    pub fn update(&mut self, progress: &dyn Progress) -> Result<IndexSummary> {
        run_index(&self.opts, &mut self.model, progress, None)
    }

    /// Bring only these files (or directories) up to date: each is re-read and, when its
    /// content changed, re-chunked and re-embedded; one that no longer exists, or that the
    /// walk's rules now leave out (an ignore file, a size limit), is removed from the
    /// index. Nothing else in the tree is looked at, so an editor's save costs the work of
    /// that file and a commit, not a walk of the repository. Paths are absolute or relative
    /// to the root; one outside the root is [`Error::InvalidOption`].
    ///
    /// Skip counts (`cseek status`) are carried over from the previous generation and
    /// refreshed by the next [`update`](Self::update). Without a previous index, or when a
    /// fresh generation is due anyway (another model, a compaction), this is a full
    /// [`update`](Self::update).
    pub fn update_paths<P: AsRef<Path>>(
        &mut self,
        paths: &[P],
        progress: &dyn Progress,
    ) -> Result<IndexSummary> {
        let root = std::fs::canonicalize(&self.opts.root)
            .map_err(|e| Error::io("opening", &self.opts.root, e))?;
        let rels = paths
            .iter()
            .map(|p| walk::relative_to_root(&self.opts.root, &root, p.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        run_index(&self.opts, &mut self.model, progress, Some(&rels))
    }
}

fn run_index(
    opts: &IndexOptions,
    loaded: &mut Option<ModelLoad>,
    progress: &dyn Progress,
    scope: Option<&[String]>,
) -> Result<IndexSummary> {
    let t0 = Instant::now();
    let run_started_ns = walk_clock_ns();
    let root =
        std::fs::canonicalize(&opts.root).map_err(|e| Error::io("opening", &opts.root, e))?;
    let index_dir = absolute(&opts.index_dir);
    // The lock comes before any work: a second writer learns at once, not after a model
    // load and a walk.
    let lock = IndexLock::acquire(&index_dir)?;
    lock.collect_garbage();
    let (base, mut full_reason) = if opts.rebuild {
        (None, Some("--rebuild".to_string()))
    } else {
        open_base(&index_dir, &root, opts)
    };
    // A scoped run continues the previous generation; without one it is a full run.
    // Its scope grows by the files that include documentation from another file
    // ([`INCLUDES_DOCS_MTIME`]): the edit that names the included file must reach the
    // file that includes it.
    let scope_paths: Option<Vec<String>> = match (scope, &base) {
        (Some(paths), Some(b)) => {
            let mut paths = paths.to_vec();
            paths.extend(
                b.live_files()
                    .filter(|(_, f)| f.mtime_ns == INCLUDES_DOCS_MTIME)
                    .map(|(_, f)| f.path.to_string()),
            );
            Some(paths)
        }
        _ => None,
    };
    let scope_paths = scope_paths.as_deref();
    let scope = scope_paths.map(walk::Scope::new);
    let (candidates, mut stats) = match (scope_paths, &base) {
        (Some(paths), Some(b)) => {
            let (found, _) = walk::walk_paths(&root, &opts.walk, Some(&index_dir), paths)?;
            let stats = WalkStats {
                skipped: b.meta().skipped.clone(),
                examples: b.meta().skipped_examples.clone(),
                lossy_utf8: 0,
            };
            (found, stats)
        }
        _ => walk::walk(&root, &opts.walk, Some(&index_dir))?,
    };
    let t_walk = t0.elapsed().as_secs_f64();
    check_cancelled(progress)?;

    // Which files need reading: new ones, and known ones whose size or mtime moved.
    let base_paths: HashMap<&str, u32> = base
        .as_ref()
        .map(|b| {
            b.live_files()
                .map(|(id, f)| (f.path.as_str(), id))
                .collect()
        })
        .unwrap_or_default();
    let plans: Vec<Plan> = candidates
        .iter()
        .map(|c| match (base_paths.get(c.rel_path.as_str()), &base) {
            (Some(&id), Some(b)) => {
                let f = &b.files()[id as usize];
                // A scoped run was asked for these files: read them, whatever they look like.
                if scope.is_none()
                    && f.size == c.size
                    && f.mtime_ns != 0
                    && f.mtime_ns == c.mtime_ns
                    && c.language.admits(f.language)
                {
                    Plan::Keep(id)
                } else {
                    Plan::Read(Some(id))
                }
            }
            _ => Plan::Read(None),
        })
        .collect();
    let to_read: Vec<usize> = (0..candidates.len())
        .filter(|&i| matches!(plans[i], Plan::Read(_)))
        .collect();
    progress.start(to_read.len() as u64);
    let t = Instant::now();
    let outcomes = read_and_chunk(
        &candidates,
        &plans,
        &to_read,
        base.as_ref(),
        opts,
        run_started_ns,
        progress,
    )?;
    let t_chunk = t.elapsed().as_secs_f64();

    // Everything the run changes, against the previous generation.
    let walked: HashSet<&str> = candidates.iter().map(|c| c.rel_path.as_str()).collect();
    let mut removed: Vec<u32> = base
        .as_ref()
        .map(|b| {
            b.live_files()
                .filter(|(_, f)| !walked.contains(f.path.as_str()))
                .filter(|(_, f)| scope.as_ref().is_none_or(|s| s.covers(&f.path)))
                .map(|(id, _)| id)
                .collect()
        })
        .unwrap_or_default();
    let mut touched = Vec::new();
    let mut changed = 0u64;
    let mut new_chunks = 0u64;
    // Changed files' old slots: removed from the index, but counted as "changed".
    let mut replaced = 0u64;
    for o in outcomes.values() {
        match o {
            // Content unchanged: only a new trustworthy mtime is worth recording (a file
            // too recent to trust stays unknown, and is hashed again next time).
            Outcome::Same(id, mtime) => {
                let recorded = base.as_ref().map(|b| b.files()[*id as usize].mtime_ns);
                if recorded != Some(*mtime) {
                    touched.push((*id, *mtime));
                }
            }
            Outcome::Changed { old, chunks, .. } => {
                changed += 1;
                new_chunks += chunks.len() as u64;
                replaced += u64::from(old.is_some());
                removed.extend(*old);
            }
            Outcome::Skipped(old, _) => removed.extend(*old),
        }
    }
    removed.sort_unstable();
    // Each old slot appears once: walked files have one outcome, the others none.
    let files_removed = removed.len() as u64 - replaced;
    // (A scoped run carries the previous counts: whether a path was counted before is
    // not recorded, so counting it again could count it twice.)
    for (i, o) in outcomes.iter().filter(|_| scope.is_none()) {
        if let Outcome::Skipped(_, reason) = o {
            stats.skip(*reason, &candidates[*i].rel_path);
        }
    }

    // Nothing changed and the model asked for is the one the index has: done, without
    // even loading the model (a no-change run must cost a walk, not a model load).
    if let Some(b) = base.as_ref().filter(|b| {
        // The crate version is part of the model identity (see `model_identity`).
        b.meta().cseek_version == env!("CARGO_PKG_VERSION")
            && same_model_choice(opts, b.meta().embedding.as_ref())
    }) {
        let nothing_changed = changed == 0
            && removed.is_empty()
            && touched.is_empty()
            && b.meta().skipped == stats.skipped;
        if nothing_changed {
            return Ok(IndexSummary {
                index_dir,
                files: b.meta().files,
                chunks: b.meta().chunks,
                skipped: skipped_by_name(&stats),
                seconds: t0.elapsed().as_secs_f64(),
                stage_seconds: BTreeMap::from([
                    ("walk".to_string(), t_walk),
                    ("read+chunk".to_string(), t_chunk),
                ]),
                embedding: b.meta().embedding.clone(),
                semantic_off_reason: b.meta().semantic_off_reason.clone(),
                model_reason: None,
                files_changed: 0,
                files_removed: 0,
                chunks_embedded: 0,
                chunks_cached: 0,
                generation: b.generation().to_string(),
                kind: RunKind::Unchanged,
                full_reason: None,
                fusion: b.meta().fusion.clone(),
                fusion_note: b.meta().fusion_note.clone(),
            });
        }
    }
    let t = Instant::now();
    let (model, off_reason, model_reason) = match loaded {
        Some(m) => m.clone(),
        None => {
            let (m, off, why) = load_model_explained(&opts.model, &opts.embed)?;
            let m = (m.map(|(spec, e)| (spec, Arc::new(e))), off, why);
            *loaded = Some(m.clone());
            m
        }
    };
    let t_model = t.elapsed().as_secs_f64();
    if let Some(endpoint) = model
        .as_ref()
        .and_then(|(_, e)| e.info().endpoint.as_deref())
        .filter(|e| !crate::embed::remote::is_local_url(e))
        // Said once, when the index is first built, not on every update.
        .filter(|_| base.is_none())
    {
        progress.warn(&format!(
            "source code leaves this machine: chunks are sent to {endpoint} to be embedded"
        ));
    }
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
    let embedding = model
        .as_ref()
        .map(|(spec, e)| embedding_meta(spec.clone(), e, &opts.embed, &opts.vectors));
    if let Some(b) = &base {
        let identity =
            |m: Option<&EmbeddingMeta>| m.map(|m| (model_identity(m), m.vector_dtype.clone()));
        if identity(b.meta().embedding.as_ref()) != identity(embedding.as_ref()) {
            full_reason = Some("the embedding model or its settings changed".into());
        }
    }
    if let (Some(b), None) = (&base, &full_reason) {
        // Compaction: too many dead records after this update → a fresh generation.
        let removed_chunks: u64 = removed
            .iter()
            .map(|&id| u64::from(b.files()[id as usize].chunk_count))
            .sum();
        let dead = b.meta().dead_chunks + removed_chunks;
        let total = b.len() as u64 + new_chunks;
        if dead > COMPACT_MIN_DEAD && dead as f64 > COMPACT_DEAD_FRACTION * total as f64 {
            full_reason = Some(format!(
                "compaction: {dead} of {total} chunk records would be dead"
            ));
        }
    }

    let incremental = base.is_some() && full_reason.is_none();
    if scope.is_some() && !incremental {
        // A fresh generation is due (another model, a compaction): it is built from a
        // walk of the whole tree, not of a few paths.
        drop((lock, base));
        return run_index(opts, loaded, progress, None);
    }
    let t = Instant::now();
    let mut builder =
        IndexBuilder::start(lock, &root, if incremental { base.as_ref() } else { None })?;
    builder.max_chunk_bytes = opts.chunk.max_chunk_bytes;
    builder.walk = opts.walk.clone();
    builder.semantic_off_reason = off_reason;
    if let (Some((_, embedder)), Some(meta)) = (model, embedding) {
        let base_vectors = match (&base, incremental) {
            (Some(b), true) => Some(VectorIndex::open(&b.generation_dir().join(VECTORS_DIR))?),
            _ => None,
        };
        builder.start_vectors(embedder, meta, base_vectors.as_ref(), &opts.vectors)?;
    }
    let t_prepare = t.elapsed().as_secs_f64();
    let t = Instant::now();
    if incremental {
        for &id in &removed {
            builder.remove_file(id);
        }
        for (id, mtime) in touched {
            builder.generation.touch_file(id, mtime);
        }
        // Changed and new files, in path order, as new slots.
        for (i, o) in outcomes {
            if let Outcome::Changed { file, chunks, .. } = o {
                let c = &candidates[i];
                builder.add_new_file(&c.rel_path, &file, chunks)?;
                builder.report_embedding(progress);
                check_cancelled(progress)?;
            }
        }
    } else {
        // A fresh generation in path order: unchanged files' chunks come from the base.
        let mut outcomes = outcomes;
        for (i, c) in candidates.iter().enumerate() {
            let outcome = outcomes.remove(&i);
            // A kept file's mtime: the recorded one, or the one its re-read trusts.
            let kept = match (&plans[i], &outcome) {
                (Plan::Keep(id), _) => Some((*id, None)),
                (Plan::Read(_), Some(Outcome::Same(id, mtime))) => Some((*id, Some(*mtime))),
                _ => None,
            };
            match (kept, outcome) {
                (Some((id, read_mtime)), _) => {
                    let Some(b) = &base else { continue };
                    let f = &b.files()[id as usize];
                    let chunks = f
                        .chunk_ids()
                        .map(|cid| b.chunk(cid).map(|sc| owned_chunk(&sc)))
                        .collect::<Result<Vec<_>>>()?;
                    let mtime = read_mtime.unwrap_or(f.mtime_ns);
                    let data = FileData {
                        language: f.language,
                        size: f.size,
                        mtime_ns: mtime,
                        hash: f.hash,
                        lossy: f.lossy,
                    };
                    builder.add_new_file(&c.rel_path, &data, chunks)?;
                }
                (_, Some(Outcome::Changed { file, chunks, .. })) => {
                    builder.add_new_file(&c.rel_path, &file, chunks)?;
                }
                _ => {}
            }
            builder.report_embedding(progress);
            check_cancelled(progress)?;
        }
    }
    let t_write = t.elapsed().as_secs_f64();
    let t = Instant::now();
    builder.wait_for_embeddings(progress)?;
    let t_embed_wait = t.elapsed().as_secs_f64();
    check_cancelled(progress)?;
    progress.finishing();
    let t = Instant::now();
    builder.stats = stats;
    builder.files_changed = changed;
    builder.files_removed = files_removed;
    builder.kind = if incremental {
        RunKind::Incremental
    } else {
        RunKind::Full
    };
    builder.full_reason = full_reason;
    // Readers of the base may be gone now; our own handle must not keep it alive.
    drop(base);
    let mut summary = builder.commit_at(t0)?;
    let t_commit = t.elapsed().as_secs_f64();
    summary.stage_seconds.extend([
        ("walk".to_string(), t_walk),
        ("read+chunk".to_string(), t_chunk),
        ("load-model".to_string(), t_model),
        // Copying and linking the previous generation's files, opening the cache.
        ("prepare".to_string(), t_prepare),
        ("write".to_string(), t_write),
        // Time chunking was done but embedding was not: the embedding stage's lag.
        ("embed-wait".to_string(), t_embed_wait),
        ("commit".to_string(), t_commit),
    ]);
    summary.model_reason = model_reason;
    Ok(summary)
}

/// Read and chunk the files that need it, in parallel batches (bounded memory).
#[allow(clippy::too_many_arguments)]
fn read_and_chunk(
    candidates: &[Candidate],
    plans: &[Plan],
    to_read: &[usize],
    base: Option<&Store>,
    opts: &IndexOptions,
    run_started_ns: u64,
    progress: &dyn Progress,
) -> Result<BTreeMap<usize, Outcome>> {
    let mut out = BTreeMap::new();
    // Included documentation is read only from inside the tree.
    let root = opts.root.canonicalize().ok();
    for batch in to_read.chunks(256) {
        check_cancelled(progress)?;
        let results: Vec<(usize, Outcome)> = batch
            .par_iter()
            .map(|&i| {
                let c = &candidates[i];
                let old = match plans[i] {
                    Plan::Read(old) => old,
                    Plan::Keep(id) => Some(id),
                };
                let outcome = match walk::read_file(c, &opts.walk) {
                    Err(reason) => Outcome::Skipped(old, reason),
                    Ok(ft) => {
                        let docs = match &root {
                            Some(root) => include::read_included_docs(
                                &c.abs_path,
                                root,
                                &ft.text,
                                c.language,
                                opts.walk.lossy_utf8,
                            ),
                            None => Vec::new(),
                        };
                        let (hash, mtime_ns) = if docs.is_empty() {
                            (ft.hash, trusted_mtime(c.mtime_ns, run_started_ns))
                        } else {
                            // The file's content is its text and the docs it includes: an
                            // edit to either changes its hash. Its own mtime does not move
                            // when only an included file changes, so it is not recorded.
                            (hash_with_docs(&ft.hash, &docs), INCLUDES_DOCS_MTIME)
                        };
                        let language = c.language.refine(&c.rel_path, &ft.text);
                        let same = old.and_then(|id| base.map(|b| &b.files()[id as usize]));
                        match same {
                            Some(f) if f.hash == hash && f.language == language => {
                                Outcome::Same(old.unwrap_or_default(), mtime_ns)
                            }
                            _ => {
                                let mut chunks =
                                    chunk_refined(&c.rel_path, &ft.text, language, &opts.chunk);
                                include::attach_included_docs(&mut chunks, &docs);
                                Outcome::Changed {
                                    old,
                                    file: FileData {
                                        language,
                                        size: c.size,
                                        mtime_ns,
                                        hash,
                                        lossy: ft.lossy,
                                    },
                                    chunks,
                                }
                            }
                        }
                    }
                };
                progress.file_done();
                (i, outcome)
            })
            .collect();
        out.extend(results);
    }
    Ok(out)
}

/// The hash of a file that includes `docs`: its own bytes' hash, then each included
/// path and text.
fn hash_with_docs(own: &[u8; 32], docs: &[include::IncludedDoc]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(b"cseek doc includes v1\0");
    h.update(own);
    for include::IncludedDoc { path, text, .. } in docs {
        h.update(&(path.len() as u64).to_le_bytes());
        h.update(path.as_bytes());
        h.update(&(text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    }
    *h.finalize().as_bytes()
}

/// The previous generation, when this run can continue it; otherwise why not.
/// A fresh generation may still take unchanged files' chunks from it (`full_reason` set),
/// so only settings that change chunks rule it out here; the model is compared later.
fn open_base(
    index_dir: &Path,
    root: &Path,
    opts: &IndexOptions,
) -> (Option<Store>, Option<String>) {
    let store = match Store::open(index_dir) {
        Ok(s) => s,
        Err(Error::NoIndex { .. }) => return (None, Some("no index yet".into())),
        Err(e) => return (None, Some(format!("the previous index is unusable ({e})"))),
    };
    // Its lexical index is continued, so it must be of this build's format (an older
    // cseek's, or no finished one, means a fresh generation; the embedding cache keeps
    // the vectors). Only the version marker is read: the index is opened once, later.
    match LexicalIndex::check_format(&store.generation_dir().join(LEXICAL_DIR)) {
        Ok(_) => {}
        Err(Error::FormatVersion { found, .. }) => {
            return (
                None,
                Some(format!(
                    "the previous index's lexical part has format {found}, written by another \
                     cseek version"
                )),
            )
        }
        Err(e) => return (None, Some(format!("the previous index is unusable ({e})"))),
    }
    let meta = store.meta();
    let why = if meta.root != root {
        Some(format!(
            "it indexed another directory ({})",
            meta.root.display()
        ))
    } else if meta.walk != opts.walk {
        Some("walk settings changed".to_string())
    } else if meta.max_chunk_bytes != opts.chunk.max_chunk_bytes {
        Some("chunk size changed".to_string())
    } else if meta.chunker_version != crate::chunk::CHUNKER_VERSION {
        Some(
            "the chunking rules changed (another cseek version): every file is re-chunked"
                .to_string(),
        )
    } else {
        None
    };
    match why {
        Some(why) => (None, Some(why)),
        None => (Some(store), None),
    }
}

/// Whether the model `opts` asks for is, by name and settings, the one recorded in an
/// index (`None`: lexical-only), so that a run with nothing to do need not load it.
fn same_model_choice(opts: &IndexOptions, recorded: Option<&EmbeddingMeta>) -> bool {
    let settings = |m: &EmbeddingMeta| {
        m.matryoshka_dim == opts.embed.matryoshka_dim
            && m.vector_dtype
                == match opts.vectors.dtype {
                    crate::vector::VectorDtype::F32 => "f32",
                    crate::vector::VectorDtype::F16 => "f16",
                }
            && m.template == EMBEDDING_TEMPLATE
    };
    match (&opts.model, recorded) {
        (ModelChoice::Off, None) => true,
        (ModelChoice::Named(spec), Some(m)) => {
            let canonical = |s: &str| std::fs::canonicalize(s).ok();
            // A served model is the same only at the same server.
            let endpoint = crate::embed::remote::parse_spec(spec).map(|(protocol, _)| {
                crate::embed::remote::endpoint_url(protocol, &opts.embed.remote).ok()
            });
            (m.model == *spec || canonical(spec).is_some_and(|c| Some(c) == canonical(&m.model)))
                && endpoint.unwrap_or(None) == m.endpoint
                && settings(m)
        }
        // Built with a default model: the same defaults would pick it again (a better one
        // appearing in the cache is picked up by the next run that has changes to embed).
        (ModelChoice::Default, Some(m)) => {
            default_models(false)
                .iter()
                .chain(default_models(true))
                .any(|(name, _)| *name == m.model)
                && settings(m)
        }
        _ => false,
    }
}

/// Wall clock now, in ns since the Unix epoch (comparable with file mtimes).
fn walk_clock_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The mtime recorded for a file that includes documentation from other files
/// ([`include`]): never a file's real mtime (1 ns after the epoch), so every update reads
/// the file again and compares hashes, which cover the included texts; and unlike 0 (too
/// recent to trust), it tells a scoped update which files to read with the paths it was
/// given.
const INCLUDES_DOCS_MTIME: u64 = 1;

/// `mtime` when it is old enough to trust as a change detector, else 0 (unknown).
fn trusted_mtime(mtime: u64, run_started_ns: u64) -> u64 {
    if mtime == 0 || mtime.saturating_add(RACY_MTIME_NS) > run_started_ns {
        0
    } else {
        mtime
    }
}

fn owned_chunk(c: &StoredChunk<'_>) -> Chunk {
    Chunk {
        path: c.path.to_string(),
        language: c.language,
        kind: c.kind,
        symbol: c.symbol.map(str::to_string),
        container: c.container.map(str::to_string),
        start_byte: c.start_byte as usize,
        end_byte: c.end_byte as usize,
        start_line: c.start_line,
        end_line: c.end_line,
        text: c.text.to_string(),
    }
}

fn skipped_by_name(stats: &WalkStats) -> BTreeMap<String, u64> {
    stats
        .skipped
        .iter()
        .map(|(r, n)| (r.name().to_string(), *n))
        .collect()
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Everything that decides what vector a text gets: two indexes (or two runs) with the
/// same identity may share cached vectors. The crate version is part of it, since a new
/// cseek may compute embeddings differently.
pub fn model_identity(meta: &EmbeddingMeta) -> String {
    // A local model directory is the same model however it is spelled.
    let model = std::fs::canonicalize(&meta.model)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| meta.model.clone());
    format!(
        "cseek {}|model {}|endpoint {}|hf {}|arch {}|dims {}|matryoshka {:?}|pooling {}|doc-prefix {:?}|max-tokens {}|template {}",
        env!("CARGO_PKG_VERSION"),
        model,
        meta.endpoint.as_deref().unwrap_or("-"),
        meta.hf_id.as_deref().unwrap_or("-"),
        meta.arch,
        meta.dims,
        meta.matryoshka_dim,
        meta.pooling,
        meta.document_prefix,
        meta.max_tokens,
        meta.template
    )
}

/// What the index records about the model (see [`EmbeddingMeta`]).
fn embedding_meta(
    spec: String,
    embedder: &Embedder,
    embed_opts: &EmbedOptions,
    vector_opts: &VectorOptions,
) -> EmbeddingMeta {
    let info = embedder.info();
    // A local model directory is recorded absolute: queries run from any directory.
    let model = match std::fs::canonicalize(&spec) {
        Ok(p) if p.is_dir() => p.to_string_lossy().into_owned(),
        _ => spec,
    };
    EmbeddingMeta {
        model,
        endpoint: info.endpoint.clone(),
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
    }
}

/// The text embedded for a chunk: what it defines (container and symbol), then its code.
/// Models truncate long inputs from the end, so the name goes first. The path is left
/// out, so that a moved or renamed file's chunks keep their vectors (the embedding cache
/// serves them); ranking matches query words against paths separately (`rank`).
pub fn embedding_text(
    _path: &str,
    container: Option<&str>,
    symbol: Option<&str>,
    text: &str,
) -> String {
    let mut out = String::with_capacity(text.len() + 64);
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
/// pay off, small enough that progress moves. It is also what a killed run can lose:
/// each group's vectors go to the cache as soon as they are computed.
const EMBED_GROUP: usize = 256;

/// A chunk for the embedding stage: its cache key and the text to embed on a miss.
struct EmbedJob {
    key: [u8; 32],
    text: String,
}

/// What the embedding thread hands back.
struct EmbedDone {
    stats: VectorStats,
    seconds: f64,
    cache: EmbeddingCache,
}

/// The embedding stage: a thread that takes groups of chunks in order, looks each up in
/// the cache, embeds the misses, persists them to the cache, and appends every vector to
/// the vector files.
struct EmbedStage {
    sender: Option<SyncSender<Vec<EmbedJob>>>,
    handle: Option<JoinHandle<Result<EmbedDone>>>,
    pending: Vec<EmbedJob>,
    meta: EmbeddingMeta,
    identity: String,
    /// The model, kept for fitting the fusion weights after the last chunk.
    model: Arc<Embedder>,
    /// Documented definitions the fusion weights are fitted on (fresh generations only).
    pairs: PairSampler,
    sent: u64,
    /// Chunks done (embedded or cached) so far, counted by the thread.
    done: Arc<AtomicU64>,
    /// Chunks run through the model so far.
    embedded: Arc<AtomicU64>,
    /// Set when the stage is dropped unfinished (a cancelled or failed run): the thread
    /// stops before its next group instead of embedding what is queued.
    abandoned: Arc<AtomicBool>,
}

impl Drop for EmbedStage {
    fn drop(&mut self) {
        self.abandoned.store(true, Ordering::Relaxed);
    }
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

    fn join(&mut self) -> Result<EmbedDone> {
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

/// The embedding thread's loop.
fn embed_loop(
    rx: std::sync::mpsc::Receiver<Vec<EmbedJob>>,
    embedder: Arc<Embedder>,
    mut writer: VectorWriter,
    mut cache: EmbeddingCache,
    done: Arc<AtomicU64>,
    embedded: Arc<AtomicU64>,
    abandoned: Arc<AtomicBool>,
) -> Result<EmbedDone> {
    let dims = cache.dims();
    let mut seconds = 0.0;
    for group in rx {
        if abandoned.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let mut rows = vec![0f32; group.len() * dims];
        let mut misses = Vec::new();
        for (i, job) in group.iter().enumerate() {
            if !cache.get_into(&job.key, &mut rows[i * dims..(i + 1) * dims]) {
                misses.push(i);
            }
        }
        if !misses.is_empty() {
            let t = Instant::now();
            let texts: Vec<&str> = misses.iter().map(|&i| group[i].text.as_str()).collect();
            let vectors = embedder.embed_documents(&texts)?;
            seconds += t.elapsed().as_secs_f64();
            if vectors.len() != misses.len() {
                return Err(Error::InvalidOption(format!(
                    "the model returned {} vectors for {} texts",
                    vectors.len(),
                    misses.len()
                )));
            }
            for (&i, mut v) in misses.iter().zip(vectors) {
                if v.len() != dims {
                    return Err(Error::InvalidOption(format!(
                        "the model returned a {}-dim vector, expected {dims}",
                        v.len()
                    )));
                }
                normalize(&mut v);
                rows[i * dims..(i + 1) * dims].copy_from_slice(&v);
            }
            // Persisted before anything else: a run killed after this point does not
            // embed these again.
            let entries: Vec<([u8; 32], &[f32])> = misses
                .iter()
                .map(|&i| (group[i].key, &rows[i * dims..(i + 1) * dims]))
                .collect();
            cache.insert_batch(&entries)?;
            embedded.fetch_add(misses.len() as u64, Ordering::Relaxed);
        }
        for row in rows.chunks_exact(dims) {
            writer.add(row)?;
        }
        done.fetch_add(group.len() as u64, Ordering::Relaxed);
    }
    Ok(EmbedDone {
        stats: writer.finish()?,
        seconds,
        cache,
    })
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
    index_dir: PathBuf,
    lock: IndexLock,
    generation: GenerationWriter,
    lexical: LexicalWriter,
    embed: Option<EmbedStage>,
    /// Chunks added in this run.
    new_chunks: u64,
    stats: WalkStats,
    walk: WalkOptions,
    max_chunk_bytes: usize,
    semantic_off_reason: Option<String>,
    started: Instant,
    files_changed: u64,
    files_removed: u64,
    kind: RunKind,
    full_reason: Option<String>,
    /// The fusion weights of the base generation (kept by an incremental update).
    fusion: Option<FusionCalibration>,
    /// Why the base generation has no fitted weights (kept with them).
    fusion_note: Option<String>,
}

impl IndexBuilder {
    /// Start a fresh generation in `index_dir` for files under `root` (lexical only until
    /// [`enable_vectors`](Self::enable_vectors)). Takes the index's writer lock.
    pub fn create(index_dir: &Path, root: &Path) -> Result<Self> {
        let lock = IndexLock::acquire(index_dir)?;
        lock.collect_garbage();
        IndexBuilder::start(lock, root, None)
    }

    /// Start a generation, fresh or continuing `base`.
    fn start(lock: IndexLock, root: &Path, base: Option<&Store>) -> Result<Self> {
        let generation = GenerationWriter::create(&lock, base)?;
        let lexical_dir = generation.dir().join(LEXICAL_DIR);
        let lexical = match base {
            Some(b) => {
                LexicalWriter::create_from(&b.generation_dir().join(LEXICAL_DIR), &lexical_dir)?
            }
            None => {
                std::fs::create_dir_all(&lexical_dir)
                    .map_err(|e| Error::io("creating directory", &lexical_dir, e))?;
                LexicalWriter::create(&lexical_dir)?
            }
        };
        Ok(IndexBuilder {
            root: root.to_path_buf(),
            index_dir: lock.index_dir().to_path_buf(),
            lock,
            generation,
            lexical,
            embed: None,
            new_chunks: 0,
            stats: WalkStats::default(),
            walk: WalkOptions::default(),
            max_chunk_bytes: ChunkOptions::default().max_chunk_bytes,
            semantic_off_reason: Some("no embedding model was given".into()),
            started: Instant::now(),
            files_changed: 0,
            files_removed: 0,
            kind: if base.is_some() {
                RunKind::Incremental
            } else {
                RunKind::Full
            },
            full_reason: None,
            fusion: base.and_then(|b| b.meta().fusion.clone()),
            fusion_note: base.and_then(|b| b.meta().fusion_note.clone()),
        })
    }

    /// Embed every chunk added from now on with `embedder` (on a thread of its own, so
    /// chunking continues meanwhile) and store the vectors. Call before adding files.
    /// `spec` is the model as the user named it, recorded in the index. Vectors the
    /// index's embedding cache holds are taken from it.
    pub fn enable_vectors(
        &mut self,
        spec: String,
        embedder: Arc<Embedder>,
        embed_opts: &EmbedOptions,
        vector_opts: &VectorOptions,
    ) -> Result<()> {
        if self.new_chunks > 0 || self.kind != RunKind::Full {
            return Err(Error::InvalidOption(
                "enable_vectors must be called on a fresh builder, before any file is added".into(),
            ));
        }
        let meta = embedding_meta(spec, &embedder, embed_opts, vector_opts);
        self.start_vectors(embedder, meta, None, vector_opts)
    }

    fn start_vectors(
        &mut self,
        embedder: Arc<Embedder>,
        meta: EmbeddingMeta,
        base: Option<&VectorIndex>,
        vector_opts: &VectorOptions,
    ) -> Result<()> {
        let dir = self.generation.dir().join(VECTORS_DIR);
        let writer = match base {
            Some(b) => {
                if b.dims() != meta.dims {
                    return Err(Error::corrupt(
                        self.generation.dir(),
                        "previous vectors have other dimensions than the model",
                    ));
                }
                VectorWriter::create_from(b, &dir, vector_opts)?
            }
            None => VectorWriter::create(&dir, meta.dims, vector_opts)?,
        };
        if writer.len() != self.generation.next_chunk_id() as usize {
            return Err(Error::corrupt(
                self.generation.dir(),
                format!(
                    "previous generation has {} vectors for {} chunks",
                    writer.len(),
                    self.generation.next_chunk_id()
                ),
            ));
        }
        let identity = model_identity(&meta);
        let cache = EmbeddingCache::open(&self.index_dir.join(CACHE_DIR), &identity, meta.dims)?;
        let (tx, rx) = sync_channel::<Vec<EmbedJob>>(4);
        let done = Arc::new(AtomicU64::new(0));
        let embedded = Arc::new(AtomicU64::new(0));
        let abandoned = Arc::new(AtomicBool::new(false));
        let (d, e, a) = (
            Arc::clone(&done),
            Arc::clone(&embedded),
            Arc::clone(&abandoned),
        );
        let handle = std::thread::Builder::new()
            .name("cseek-embed".into())
            .spawn({
                let embedder = Arc::clone(&embedder);
                move || embed_loop(rx, embedder, writer, cache, d, e, a)
            })
            .map_err(|e| Error::io("starting the embedding thread", &dir, e))?;
        self.embed = Some(EmbedStage {
            sender: Some(tx),
            handle: Some(handle),
            pending: Vec::with_capacity(EMBED_GROUP),
            meta,
            identity,
            model: embedder,
            pairs: PairSampler::default(),
            sent: 0,
            done,
            embedded,
            abandoned,
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
        let data = FileData {
            language,
            size: text.len() as u64,
            mtime_ns: 0,
            hash: *blake3::hash(text.as_bytes()).as_bytes(),
            lossy: false,
        };
        self.add_new_file(path, &data, chunks)
    }

    fn add_new_file(&mut self, path: &str, data: &FileData, chunks: Vec<Chunk>) -> Result<()> {
        let language = data.language;
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
                if self.kind == RunKind::Full {
                    stage.pairs.offer(first + i as u32, chunk);
                }
                let text = embedding_text(
                    path,
                    chunk.container.as_deref(),
                    chunk.symbol.as_deref(),
                    &chunk.text,
                );
                stage.pending.push(EmbedJob {
                    key: cache_key(&stage.identity, &text),
                    text,
                });
                if stage.pending.len() >= EMBED_GROUP {
                    stage.flush()?;
                }
            }
        }
        self.generation.add_file(
            NewFile {
                path,
                language,
                size: data.size,
                mtime_ns: data.mtime_ns,
                hash: data.hash,
                lossy: data.lossy,
            },
            &chunks,
        )?;
        self.new_chunks += chunks.len() as u64;
        Ok(())
    }

    /// Remove a file of the base generation (its chunks leave the index).
    fn remove_file(&mut self, file_id: u32) {
        self.generation.remove_file(file_id);
        self.lexical.delete_file(file_id);
    }

    fn report_embedding(&self, progress: &dyn Progress) {
        if let Some(stage) = &self.embed {
            progress.embedded(stage.done.load(Ordering::Relaxed), self.new_chunks);
        }
    }

    /// Send the last chunks to the embedding stage and wait until it has embedded them
    /// all, reporting progress meanwhile. [`commit`](Self::commit) does this too; calling
    /// it first only adds progress reports.
    pub fn wait_for_embeddings(&mut self, progress: &dyn Progress) -> Result<()> {
        let total = self.new_chunks;
        let Some(stage) = &mut self.embed else {
            return Ok(());
        };
        stage.flush()?;
        let mut waited = 0u64;
        while stage.done.load(Ordering::Relaxed) < stage.sent
            && stage.handle.as_ref().is_some_and(|h| !h.is_finished())
        {
            progress.embedded(stage.done.load(Ordering::Relaxed), total);
            check_cancelled(progress)?;
            // Short waits first: a small update is done in a millisecond or two.
            let ms = if waited < 50 { 1 } else { 20 };
            std::thread::sleep(std::time::Duration::from_millis(ms));
            waited += ms;
        }
        progress.embedded(stage.done.load(Ordering::Relaxed), total);
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
        let mut chunks_embedded = 0;
        let mut cache = None;
        let mut vectors_seconds = None;
        let mut fusion_seconds = None;
        let mut fitted = None;
        let embedding = match self.embed.take() {
            None => None,
            Some(mut stage) => {
                stage.flush()?;
                let done = stage.join()?;
                if done.stats.count != self.generation.next_chunk_id() as usize {
                    return Err(Error::InvalidOption(format!(
                        "embedding produced {} vectors for {} chunks",
                        done.stats.count,
                        self.generation.next_chunk_id()
                    )));
                }
                chunks_embedded = stage.embedded.load(Ordering::Relaxed);
                let mut meta = stage.meta.clone();
                meta.graph = done.stats.graph;
                meta.seconds = done.seconds;
                vectors_seconds = Some(done.stats.build_seconds);
                cache = Some((done.cache, stage.identity.clone()));
                fitted = Some((std::mem::take(&mut stage.pairs), Arc::clone(&stage.model)));
                Some(meta)
            }
        };
        self.lexical.finish()?;
        let (fusion, fusion_note) = match (fitted, self.kind) {
            (Some((pairs, model)), RunKind::Full) => {
                let t = Instant::now();
                let found = pairs.len();
                // The fit only improves ranking: should it fail (a served model gone
                // meanwhile), the complete index is committed with the default weights,
                // and the note says why (`cseek status`, `index --json`).
                let fit = match fit_fusion(self.generation.dir(), pairs, &model) {
                    Ok(Some(f)) => (Some(f), None),
                    Ok(None) => (
                        calibrate::prior(model.is_static(), found, RrfParams::default().k),
                        Some(format!(
                            "not fitted: {found} documented definitions, at least {} needed",
                            calibrate::MIN_PAIRS
                        )),
                    ),
                    Err(e) => (None, Some(format!("{FUSION_FIT_FAILED}: {e}"))),
                };
                fusion_seconds = Some(t.elapsed().as_secs_f64());
                fit
            }
            // An incremental update keeps the base's fit; an index without vectors has
            // nothing to fit.
            (Some(_), _) => (self.fusion.take(), self.fusion_note.take()),
            (None, _) => (None, None),
        };
        // Counts from the file table: what is live now, whatever the run did.
        let mut languages: BTreeMap<Language, LanguageCounts> = BTreeMap::new();
        let (mut files, mut chunks, mut dead, mut lossy) = (0u64, 0u64, 0u64, 0u64);
        for f in self.generation.files() {
            if f.live {
                let c = languages.entry(f.language).or_default();
                c.files += 1;
                c.chunks += u64::from(f.chunk_count);
                files += 1;
                chunks += u64::from(f.chunk_count);
                lossy += u64::from(f.lossy);
            } else {
                dead += u64::from(f.chunk_count);
            }
        }
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
            files,
            chunks,
            dead_chunks: dead,
            languages,
            skipped: self.stats.skipped.clone(),
            skipped_examples: self.stats.examples.clone(),
            lossy_utf8_files: lossy,
            walk: self.walk,
            max_chunk_bytes: self.max_chunk_bytes,
            chunker_version: crate::chunk::CHUNKER_VERSION,
            embedding,
            semantic_off_reason: self.semantic_off_reason,
            fusion,
            fusion_note,
        };
        let generation = self.generation.commit(&meta)?;
        self.lock.collect_garbage();
        if let Some((mut c, identity)) = cache {
            // The cache only ever speeds things up: failing to tidy it is not an error of
            // the run, whose generation is committed. We hold the lock, so the current
            // generation is the one just written.
            let budget = cache_budget(chunks);
            if c.len() > budget {
                if let Ok(keep) = Store::open(&self.index_dir)
                    .and_then(|store| live_cache_keys(&store, &identity))
                {
                    let _ = c.gc(&keep, budget);
                }
            }
            let _ = c.sync();
        }
        Ok(IndexSummary {
            index_dir: self.index_dir,
            files: meta.files,
            chunks: meta.chunks,
            skipped: meta
                .skipped
                .iter()
                .map(|(r, n)| (r.name().to_string(), *n))
                .collect(),
            seconds,
            // Finishing the vectors: the HNSW graph build, when there is one.
            stage_seconds: vectors_seconds
                .map(|s| ("vectors".to_string(), s))
                .into_iter()
                .chain(fusion_seconds.map(|s| ("fit-fusion".to_string(), s)))
                .collect(),
            fusion: meta.fusion,
            fusion_note: meta.fusion_note,
            embedding: meta.embedding,
            semantic_off_reason: meta.semantic_off_reason,
            model_reason: None,
            files_changed: self.files_changed,
            files_removed: self.files_removed,
            chunks_embedded,
            chunks_cached: self.new_chunks.saturating_sub(chunks_embedded),
            generation,
            kind: self.kind,
            full_reason: self.full_reason,
        })
    }
}

/// How [`IndexSummary::fusion_note`] starts when fitting the fusion weights failed (as
/// opposed to finding too few doc comments to fit on, which is no error).
pub const FUSION_FIT_FAILED: &str = "the fit failed";

/// Fit the fusion weights on the documented definitions of a fresh generation in `dir`
/// (see [`crate::fuse::calibrate`]), reading its finished lexical index and vectors.
fn fit_fusion(
    dir: &Path,
    pairs: PairSampler,
    model: &Embedder,
) -> Result<Option<FusionCalibration>> {
    if pairs.len() < calibrate::MIN_PAIRS {
        return Ok(None);
    }
    let lexical = LexicalIndex::open(&dir.join(LEXICAL_DIR))?;
    let vectors = VectorIndex::open(&dir.join(VECTORS_DIR))?;
    let (pairs, others) = pairs.into_parts();
    calibrate::calibrate(
        &pairs,
        &others,
        &lexical,
        &vectors,
        model,
        RrfParams::default().k,
    )
}

/// Cache keys of every live chunk of `store` (what the cache's garbage collection keeps).
fn live_cache_keys(store: &Store, identity: &str) -> Result<HashSet<[u8; 32]>> {
    let mut keys = HashSet::with_capacity(store.live_len());
    for (_, f) in store.live_files() {
        for id in f.chunk_ids() {
            let c = store.chunk(id)?;
            keys.insert(cache_key(
                identity,
                &embedding_text(c.path, c.container, c.symbol, c.text),
            ));
        }
    }
    Ok(keys)
}

/// Name of the embedding cache directory inside an index directory.
pub const CACHE_DIR: &str = "cache";

/// Entries the embedding cache may keep: every live chunk's vector, plus as many others
/// again (the other side of a branch switch, recently reverted edits), at least 10,000.
fn cache_budget(live_chunks: u64) -> usize {
    usize::try_from(live_chunks.saturating_mul(2))
        .unwrap_or(usize::MAX)
        .max(10_000)
}
