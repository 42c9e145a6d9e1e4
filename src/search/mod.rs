//! Searching: open an index once, answer many queries.
//!
//! A [`Searcher`] holds the memory-mapped store, the lexical index and, when the index
//! has them, the vectors. A query is checked, its filters (`--lang`, `--path`) become the
//! set of files allowed, each retriever runs with the filter applied inside it, the lists
//! are fused (reciprocal rank fusion, [`crate::fuse`]) and hits are resolved to chunks read
//! from the store. The embedding model is loaded on the first query that needs it, so
//! lexical queries never pay for it.

mod multi;
mod overlay;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Instant;

use globset::{Glob, GlobMatcher};
use serde::Serialize;

use crate::chunk::ChunkKind;
use crate::embed::{EmbedOptions, Embedder};
use crate::error::{Error, Result};
use crate::fuse::{classify_query, fuse_lists, Fused, Lists, QueryKind, RrfParams};
use crate::lang::Language;
use crate::lexical::LexicalIndex;
use crate::rank::{rerank, Candidate, RankParams};
use crate::store::{self, EmbeddingMeta, Store, StoredChunk, LEXICAL_DIR, VECTORS_DIR};
use crate::vector::{normalize, VectorIndex};
pub use multi::{merge_results, IndexResults, Merge, MultiHit, MultiResults, MultiSearcher};
use overlay::{Buffer, Overlays, Prepared, VectorCache, VectorSource};

/// Which retrievers a query uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Hybrid when the index has vectors and the model loads, lexical otherwise.
    #[default]
    Auto,
    /// BM25 over chunk text, symbols and paths.
    Lexical,
    /// Dense vectors only (needs an index built with an embedding model).
    Semantic,
    /// Both, fused.
    Hybrid,
}

impl Mode {
    /// Parse `auto`, `lexical`, `semantic` or `hybrid`.
    pub fn from_name(s: &str) -> Option<Mode> {
        match s {
            "auto" => Some(Mode::Auto),
            "lexical" => Some(Mode::Lexical),
            "semantic" => Some(Mode::Semantic),
            "hybrid" => Some(Mode::Hybrid),
            _ => None,
        }
    }

    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Lexical => "lexical",
            Mode::Semantic => "semantic",
            Mode::Hybrid => "hybrid",
        }
    }
}

/// A query and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// The query text: words, a symbol, or both.
    pub query: String,
    /// How many results to return (0: none; at most [`MAX_TOP_K`]).
    pub top_k: usize,
    /// Retrievers to use.
    pub mode: Mode,
    /// Only files of these languages (empty: all).
    pub languages: Vec<Language>,
    /// Only files whose root-relative path matches this glob (e.g. `src/**/*.rs`).
    pub path_glob: Option<String>,
}

impl SearchRequest {
    /// A request for the top 10 results with default options.
    pub fn new(query: impl Into<String>) -> Self {
        SearchRequest {
            query: query.into(),
            top_k: 10,
            mode: Mode::default(),
            languages: Vec::new(),
            path_glob: None,
        }
    }

    /// Set the number of results.
    pub fn top_k(mut self, k: usize) -> Self {
        self.top_k = k;
        self
    }

    /// Set the mode.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
}

/// Where a hit came from in each retriever (1-based ranks), for `--json` and debugging.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Ranks {
    /// Rank in the BM25 list, if it was there.
    pub lexical: Option<usize>,
    /// Rank in the vector list, if it was there.
    pub semantic: Option<usize>,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// Root-relative path of the file.
    pub path: String,
    /// First line, 1-based.
    pub start_line: u32,
    /// Last line, 1-based inclusive.
    pub end_line: u32,
    /// Score (higher is better; comparable within one query only).
    pub score: f32,
    /// Language of the file.
    pub language: Language,
    /// What the chunk is.
    pub kind: ChunkKind,
    /// Defined symbol, if any.
    pub symbol: Option<String>,
    /// Enclosing container, if any.
    pub container: Option<String>,
    /// The chunk's text.
    pub text: String,
    /// Ranks in each retriever.
    pub ranks: Ranks,
    /// Chunk id in this index generation.
    #[serde(skip)]
    pub chunk_id: u32,
}

/// Where a query's time went, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct QueryTimings {
    /// Loading the embedding model (first semantic query only).
    pub model_load_ms: f64,
    /// Embedding the query.
    pub embed_ms: f64,
    /// BM25 retrieval.
    pub lexical_ms: f64,
    /// Vector retrieval.
    pub vector_ms: f64,
    /// Fusion and reading the hits from the store.
    pub fuse_ms: f64,
}

/// The answer to a query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// The mode that actually ran (`auto` resolved; `lexical` when semantic search was
    /// unavailable).
    pub mode: Mode,
    /// Results, best first.
    pub hits: Vec<SearchHit>,
    /// Things the user should know (e.g. why semantic search did not run).
    pub notes: Vec<String>,
    /// Time per stage.
    pub timings: QueryTimings,
}

/// How a [`Searcher`] loads the model for semantic queries.
#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    /// Model to embed queries with; `None`: the one the index was built with. Naming a
    /// different model than the index's is an error.
    pub model: Option<String>,
    /// Loading options (device, threads …).
    pub embed: EmbedOptions,
    /// Fusion parameters.
    pub fusion: RrfParams,
    /// Candidates taken from each retriever before fusion and re-ranking (at least
    /// `top_k`; 0 = 100).
    pub depth: usize,
    /// Code-aware re-ranking of the fused list.
    pub ranking: RankParams,
}

/// What embedding a query depends on: model, Hugging Face id, dimensions, Matryoshka cut,
/// query prefix.
type QueryModel = (String, Option<String>, usize, Option<usize>, String);

/// Candidates per retriever when [`SearchOptions::depth`] is 0.
const DEFAULT_DEPTH: usize = 100;

/// The largest [`SearchRequest::top_k`] a search accepts; more is
/// [`Error::InvalidOption`]. Far beyond what anyone reads, and it keeps the work and
/// memory of one query bounded whatever number a caller passes.
pub const MAX_TOP_K: usize = 10_000;

/// An open index, ready for queries. Cheap to open (files are memory-mapped); keep one
/// around to answer many queries.
pub struct Searcher {
    store: Store,
    lexical: LexicalIndex,
    vectors: Option<VectorIndex>,
    /// Live chunks by id, when some records are dead (`None`: all live).
    live: Option<Vec<bool>>,
    options: SearchOptions,
    /// Shared with the searchers of other indexes that embed queries the same way (see
    /// [`Searcher::share_query_model`]), so the model is loaded once.
    embedder: Arc<OnceLock<std::result::Result<Embedder, String>>>,
    /// Unsaved buffers searched instead of their files (see [`Searcher::set_overlay`]).
    overlays: RwLock<Arc<Overlays>>,
    overlay_vectors: VectorCache,
}

impl Searcher {
    /// Open the index in `index_dir` (the `.cseek` directory) with default options.
    pub fn open(index_dir: &Path) -> Result<Searcher> {
        Self::open_with(index_dir, SearchOptions::default())
    }

    /// Open the index in `index_dir` with these options.
    ///
    /// The searcher reads one generation for its whole life, whatever commits happen
    /// meanwhile (see [`is_current`](Self::is_current) and [`reload`](Self::reload)); a
    /// commit that lands while it opens is waited out, not reported as damage.
    pub fn open_with(index_dir: &Path, options: SearchOptions) -> Result<Searcher> {
        store::retry_on_commit(index_dir, |manifest| {
            Self::open_generation(index_dir, manifest, options.clone())
        })
    }

    fn open_generation(
        index_dir: &Path,
        manifest: &store::Manifest,
        options: SearchOptions,
    ) -> Result<Searcher> {
        let store = Store::open_generation(index_dir, manifest)?;
        let lexical = LexicalIndex::open(&store.generation_dir().join(LEXICAL_DIR))?;
        if lexical.num_docs() != store.live_len() as u64 {
            return Err(Error::corrupt(
                store.generation_dir(),
                format!(
                    "lexical index has {} documents, store has {} chunks",
                    lexical.num_docs(),
                    store.live_len()
                ),
            ));
        }
        let vectors = match &store.meta().embedding {
            None => None,
            Some(meta) => {
                let dir = store.generation_dir().join(VECTORS_DIR);
                let v = VectorIndex::open(&dir)?;
                if v.len() != store.len() || v.dims() != meta.dims {
                    return Err(Error::corrupt(
                        &dir,
                        format!(
                            "{} vectors of {} dims for {} chunks of a {}-dim model",
                            v.len(),
                            v.dims(),
                            store.len(),
                            meta.dims
                        ),
                    ));
                }
                Some(v)
            }
        };
        if let (Some(requested), Some(meta)) = (&options.model, &store.meta().embedding) {
            if !same_model(requested, meta) {
                return Err(Error::InvalidOption(format!(
                    "this index was built with model `{}`{}; query it with that model (or \
                     omit --model), or re-index with `cseek index --model {requested}`",
                    meta.model,
                    meta.hf_id
                        .as_deref()
                        .map(|id| format!(" ({id})"))
                        .unwrap_or_default()
                )));
            }
        }
        // Dead chunk records (of removed or changed files) stay in the vector matrix until
        // a compaction; vector searches skip them.
        let live = (store.live_len() < store.len()).then(|| store.live_mask());
        Ok(Searcher {
            store,
            lexical,
            vectors,
            live,
            options,
            embedder: Arc::new(OnceLock::new()),
            overlays: RwLock::default(),
            overlay_vectors: VectorCache::default(),
        })
    }

    /// Lexical documents deleted by incremental updates and not yet merged away: while
    /// non-zero, BM25 scores may differ slightly from a fresh build's.
    pub fn lexical_deleted_docs(&self) -> u64 {
        self.lexical.num_deleted_docs()
    }

    /// The vector index, when the index has vectors.
    pub fn vectors(&self) -> Option<&VectorIndex> {
        self.vectors.as_ref()
    }

    /// Whether this searcher reads the index's current generation (false after a commit:
    /// [`reload`](Self::reload) to see it).
    pub fn is_current(&self) -> bool {
        self.store.is_current()
    }

    /// Re-open the current generation, keeping the options and the loaded query model
    /// (when the new generation was built with the same one). Until it returns, and on
    /// error, `self` keeps answering from its generation.
    pub fn reload(&mut self) -> Result<()> {
        let mut next = Searcher::open_with(self.store.index_dir(), self.options.clone())?;
        let same_model = next.query_model() == self.query_model();
        if same_model {
            next.embedder = Arc::clone(&self.embedder);
        }
        // The buffers stay; what was derived from the old generation is redone.
        *next.overlays.get_mut().unwrap_or_else(|p| p.into_inner()) =
            Arc::new(self.overlay_snapshot().rebased());
        if same_model {
            next.overlay_vectors = std::mem::take(&mut self.overlay_vectors);
        }
        *self = next;
        Ok(())
    }

    /// Use `from`'s query model (loaded yet or not) when both searchers embed queries the
    /// same way: the same recorded model, dimensions, Matryoshka cut and query prefix, and
    /// the same options. Searchers of several indexes then load the model once, on the
    /// first semantic query of any of them. Returns whether it is now shared.
    pub fn share_query_model(&mut self, from: &Searcher) -> bool {
        let same = self.query_model().is_some()
            && self.query_model() == from.query_model()
            && self.options.model == from.options.model
            && format!("{:?}", self.options.embed) == format!("{:?}", from.options.embed);
        if same {
            self.embedder = Arc::clone(&from.embedder);
        }
        same
    }

    /// The query side of the index's model: what embedding a query depends on.
    fn query_model(&self) -> Option<QueryModel> {
        self.store.meta().embedding.as_ref().map(|m| {
            (
                m.model.clone(),
                m.hf_id.clone(),
                m.dims,
                m.matryoshka_dim,
                m.query_prefix.clone(),
            )
        })
    }

    /// The underlying store (metadata, file table, chunks).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The search options in use.
    pub fn options(&self) -> &SearchOptions {
        &self.options
    }

    /// Change fusion and re-ranking parameters for the following queries (the loaded
    /// model is kept, so trying many settings costs no reload).
    pub fn set_scoring(&mut self, fusion: RrfParams, ranking: RankParams) {
        self.options.fusion = fusion;
        self.options.ranking = ranking;
    }

    /// Whether the index has vectors (semantic and hybrid modes are possible).
    pub fn has_vectors(&self) -> bool {
        self.vectors.is_some()
    }

    /// The fusion parameters a query of `kind` runs with: the options', with the
    /// weights fitted on the index's doc comments for natural-language queries (unless
    /// [`RrfParams::fitted_weights`] is off, or the index has no fit).
    pub fn fusion_for(&self, kind: QueryKind) -> RrfParams {
        let fitted = self.store.meta().fusion.as_ref().map(|f| f.lexical_share);
        self.options.fusion.for_query_fitted(kind, fitted)
    }

    /// The query embedder, loaded on first use. Errors are remembered: a model that
    /// failed to load is not retried for every query.
    fn embedder(&self, timings: &mut QueryTimings) -> std::result::Result<&Embedder, String> {
        let meta = self
            .store
            .meta()
            .embedding
            .as_ref()
            .ok_or_else(|| "the index has no vectors".to_string())?;
        let t = Instant::now();
        let loaded = self.embedder.get_or_init(|| {
            let spec = self
                .options
                .model
                .clone()
                .unwrap_or_else(|| meta.model.clone());
            let mut opts = self.options.embed.clone();
            if opts.matryoshka_dim.is_none() {
                opts.matryoshka_dim = meta.matryoshka_dim;
            }
            // A served model answers queries at the server that embedded the chunks.
            if opts.remote.endpoint.is_none() && self.options.model.is_none() {
                opts.remote.endpoint = meta.endpoint.clone();
            }
            let e = Embedder::load(&spec, &opts).map_err(|e| e.to_string())?;
            if e.dims() != meta.dims {
                return Err(format!(
                    "model `{spec}` gives {}-dim vectors, the index holds {}-dim vectors",
                    e.dims(),
                    meta.dims
                ));
            }
            Ok(e)
        });
        timings.model_load_ms += t.elapsed().as_secs_f64() * 1e3;
        loaded.as_ref().map_err(Clone::clone)
    }

    /// Search `text` as the content of `path` (root-relative, or absolute under the
    /// indexed root) instead of what the index holds for it: an editor's unsaved buffer.
    /// Replaces an earlier overlay of the same path; the file need not exist or be
    /// indexed yet (a new, unsaved file). Nothing is written and nothing is committed:
    /// the overlay lives in this searcher, and is kept by [`reload`](Self::reload). It
    /// costs nothing until the next search, which chunks the buffer (and, for semantic
    /// queries, embeds the chunks whose text is new).
    ///
    /// BM25 scores of buffer chunks use the index's statistics, which still count the
    /// saved version of the file: a negligible drift for a handful of buffers.
    pub fn set_overlay(&self, path: impl AsRef<Path>, text: impl Into<String>) -> Result<()> {
        let path = self.overlay_key(path.as_ref())?;
        let mut overlays = self.overlays.write().unwrap_or_else(|p| p.into_inner());
        *overlays = Arc::new(overlays.with(Buffer::new(path, text.into())));
        Ok(())
    }

    /// Drop the overlay of `path`: searches see the indexed file again. Returns whether
    /// there was one.
    pub fn clear_overlay(&self, path: impl AsRef<Path>) -> Result<bool> {
        let path = self.overlay_key(path.as_ref())?;
        let mut overlays = self.overlays.write().unwrap_or_else(|p| p.into_inner());
        if !overlays.contains(&path) {
            return Ok(false);
        }
        *overlays = Arc::new(overlays.without(&path));
        Ok(true)
    }

    /// Drop every overlay.
    pub fn clear_overlays(&self) {
        *self.overlays.write().unwrap_or_else(|p| p.into_inner()) = Arc::default();
    }

    /// Root-relative paths that have an overlay, sorted.
    pub fn overlay_paths(&self) -> Vec<String> {
        self.overlay_snapshot().paths()
    }

    fn overlay_snapshot(&self) -> Arc<Overlays> {
        Arc::clone(&self.overlays.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The path under which the index records `path`.
    fn overlay_key(&self, path: &Path) -> Result<String> {
        let root = &self.store.meta().root;
        crate::walk::relative_to_root(root, root, path)
    }

    /// A chunk of the store or of the overlays.
    fn chunk<'a>(&'a self, overlays: Option<&'a Prepared>, id: u32) -> Result<StoredChunk<'a>> {
        match overlays.and_then(|p| p.chunk(id)) {
            Some(c) => Ok(c),
            None => self.store.chunk(id),
        }
    }

    /// Where the overlays get their vectors (the query model, loaded by now).
    fn vector_source<'a>(
        &'a self,
        vectors: &'a VectorIndex,
        timings: &mut QueryTimings,
    ) -> Result<VectorSource<'a>> {
        let embedder = self
            .embedder(timings)
            .map_err(|e| Error::InvalidOption(format!("cannot embed the unsaved buffers: {e}")))?;
        Ok(VectorSource {
            embedder,
            store: &self.store,
            vectors,
            cache: &self.overlay_vectors,
        })
    }

    /// Run a query.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults> {
        if req.query.trim().is_empty() {
            return Err(Error::InvalidQuery(
                "the query is empty; give some words or a symbol name".into(),
            ));
        }
        if req.top_k > MAX_TOP_K {
            return Err(Error::InvalidOption(format!(
                "top_k (--top-k) is {}, at most {MAX_TOP_K} results can be asked for",
                req.top_k
            )));
        }
        let mut timings = QueryTimings::default();
        let mut notes = Vec::new();
        let mut mode = req.mode;
        if matches!(mode, Mode::Semantic | Mode::Hybrid) && self.vectors.is_none() {
            return Err(Error::InvalidOption(format!(
                "mode {} needs an index with vectors, and this index has none ({}); use \
                 --mode lexical, or re-index with a model",
                mode.name(),
                self.store
                    .meta()
                    .semantic_off_reason
                    .as_deref()
                    .unwrap_or("built without a model")
            )));
        }
        if mode == Mode::Auto {
            mode = if self.vectors.is_some() {
                Mode::Hybrid
            } else {
                Mode::Lexical
            };
        }
        // Embed the query first: if the model cannot be loaded, auto mode falls back.
        let query_vector = embed_query(req, &mut mode, &mut timings, &mut notes, |t| {
            self.embedder(t)
        })?;
        if req.top_k == 0 {
            return Ok(SearchResults {
                mode,
                hits: Vec::new(),
                notes,
                timings,
            });
        }
        let overlays = self.overlay_snapshot();
        let prepared = overlays.prepared(&self.store)?;
        let prepared = prepared.as_deref();
        let hidden: &[u32] = prepared.map_or(&[], |p| &p.hidden_files);
        let filter = RequestFilter::new(req)?;
        let keep = |c: &StoredChunk<'_>| filter.admits(c.path, c.language);
        let allowed = self.allowed_files(&filter, hidden);
        // Fusion and re-ranking need candidates beyond the top k to choose from.
        let depth = if self.options.depth == 0 {
            DEFAULT_DEPTH
        } else {
            self.options.depth
        }
        .max(req.top_k);
        let mut kind = classify_query(&req.query);
        // A one-word query that names a definition in this codebase (`Router`,
        // `Session`) is a symbol lookup too, whatever its capitalisation.
        if kind == QueryKind::NaturalLanguage
            && req.query.split_whitespace().nth(1).is_none()
            && (self.lexical.defines_symbol(&req.query)?
                || prepared.is_some_and(|p| p.defines_symbol(&req.query).unwrap_or(false)))
        {
            kind = QueryKind::Symbol;
        }
        let fusion = self.fusion_for(kind);
        // File evidence comes from deeper lists than chunk fusion takes.
        let files_on = fusion.file_weight > 0.0;
        let pool = if files_on {
            depth.max(fusion.file_depth)
        } else {
            depth
        };

        let (mut lexical_ids, mut lexical_scores) = (Vec::new(), Vec::new());
        if mode != Mode::Semantic
            && (prepared.is_some() || allowed.as_ref().is_none_or(|a| !a.is_empty()))
        {
            let t = Instant::now();
            (lexical_ids, lexical_scores) = self.top_in_canonical_order(pool, prepared, |n| {
                let mut hits: Vec<(u32, f32)> = self
                    .lexical
                    .search_with(&req.query, n, allowed.as_deref(), hidden, None)?
                    .into_iter()
                    .map(|h| (h.chunk_id, h.score))
                    .collect();
                if let Some(p) = prepared {
                    merge_by_score(
                        &mut hits,
                        p.lexical(&req.query, n, &self.lexical, &keep)?,
                        n,
                    );
                }
                Ok(hits)
            })?;
            timings.lexical_ms = t.elapsed().as_secs_f64() * 1e3;
        }
        let (mut semantic_ids, mut semantic_scores) = (Vec::new(), Vec::new());
        if let (Some(vectors), Some(qv)) = (&self.vectors, &query_vector) {
            let t = Instant::now();
            let allowed_chunks = allowed.as_ref().map(|files| self.chunk_mask(files));
            let mask = allowed_chunks
                .as_ref()
                .or(prepared.and_then(|p| p.vector_mask.as_ref()))
                .or(self.live.as_ref());
            let filter =
                mask.map(|mask| move |id: u32| mask.get(id as usize).copied().unwrap_or(false));
            let filter_ref: Option<&dyn Fn(u32) -> bool> =
                filter.as_ref().map(|f| f as &dyn Fn(u32) -> bool);
            let source = match prepared {
                Some(_) => Some(self.vector_source(vectors, &mut timings)?),
                None => None,
            };
            (semantic_ids, semantic_scores) = self.top_in_canonical_order(pool, prepared, |n| {
                let mut hits: Vec<(u32, f32)> = vectors
                    .search(qv, n, filter_ref)?
                    .into_iter()
                    .map(|h| (h.chunk_id, h.score))
                    .collect();
                if let (Some(p), Some(source)) = (prepared, &source) {
                    merge_by_score(&mut hits, p.semantic(qv, n, source, &keep)?, n);
                }
                Ok(hits)
            })?;
            timings.vector_ms = t.elapsed().as_secs_f64() * 1e3;
        }

        let t = Instant::now();
        let pairs = |ids: &[u32], scores: &[f32]| -> Vec<(u32, f32)> {
            ids.iter().copied().zip(scores.iter().copied()).collect()
        };
        let (lexical, semantic) = (
            pairs(&lexical_ids, &lexical_scores),
            pairs(&semantic_ids, &semantic_scores),
        );
        // Files by path (overlay chunks have no file id of the store), looked up once.
        let mut paths: HashMap<u32, String> = HashMap::new();
        if files_on {
            for &(id, _) in lexical.iter().chain(&semantic) {
                if let std::collections::hash_map::Entry::Vacant(e) = paths.entry(id) {
                    e.insert(self.chunk(prepared, id)?.path.to_string());
                }
            }
        }
        let lists = match mode {
            Mode::Hybrid => Lists::Hybrid,
            Mode::Semantic => Lists::Semantic,
            _ => Lists::Lexical,
        };
        let fused = fuse_lists(&lexical, &semantic, lists, depth, &fusion, |id| {
            paths.get(&id).cloned().unwrap_or_default()
        });
        let mut candidates = Vec::with_capacity(fused.len());
        for (index, f) in fused.iter().enumerate() {
            let c = self.chunk(prepared, f.chunk_id)?;
            candidates.push(Candidate {
                index,
                score: f.score,
                path: c.path,
                symbol: c.symbol,
                container: c.container,
                text: c.text,
            });
        }
        let ranked = rerank(&req.query, kind, candidates, &self.options.ranking);
        let mut hits = Vec::with_capacity(req.top_k.min(fused.len()));
        for r in ranked.into_iter().take(req.top_k) {
            let f = Fused {
                score: r.score,
                ..fused[r.index]
            };
            let c = self.chunk(prepared, f.chunk_id)?;
            hits.push(SearchHit::from_chunk(
                &c,
                f.score,
                Ranks {
                    lexical: f.lexical_rank,
                    semantic: f.semantic_rank,
                },
            ));
        }
        timings.fuse_ms = t.elapsed().as_secs_f64() * 1e3;
        Ok(SearchResults {
            mode,
            hits,
            notes,
            timings,
        })
    }

    /// The best `depth` of a retriever's list (`fetch(n)`: its best `n`), equal scores in
    /// path and line order instead of the retriever's own (chunk id, segment) order: those
    /// depend on the index's history (an incremental update appends), results must not.
    /// A group of equal scores cut by `depth` is fetched whole first (up to 8 × `depth`),
    /// so which of its members make the cut does not depend on that order either.
    fn top_in_canonical_order(
        &self,
        depth: usize,
        overlays: Option<&Prepared>,
        mut fetch: impl FnMut(usize) -> Result<Vec<(u32, f32)>>,
    ) -> Result<(Vec<u32>, Vec<f32>)> {
        // No list is longer than the index: a library caller's absurd depth asks for no
        // absurd allocation.
        let depth = depth.min(self.store.len() + overlays.map_or(0, Prepared::len));
        let mut limit = depth;
        let mut hits = fetch(limit.saturating_add(1))?;
        while hits.len() > limit
            && limit > 0
            && hits[limit].1 == hits[limit - 1].1
            && limit < depth.saturating_mul(8)
        {
            limit = limit.saturating_mul(2);
            hits = fetch(limit.saturating_add(1))?;
        }
        let (mut ids, mut scores): (Vec<u32>, Vec<f32>) = hits.into_iter().unzip();
        self.order_ties(&mut ids, &mut scores, overlays)?;
        ids.truncate(depth);
        scores.truncate(depth);
        Ok((ids, scores))
    }

    /// Order runs of equal scores by (path, start line, end line).
    fn order_ties(
        &self,
        ids: &mut [u32],
        scores: &mut [f32],
        overlays: Option<&Prepared>,
    ) -> Result<()> {
        let mut i = 0;
        while i < ids.len() {
            let mut j = i + 1;
            while j < ids.len() && scores[j] == scores[i] {
                j += 1;
            }
            if j - i > 1 {
                let mut group = Vec::with_capacity(j - i);
                for &id in &ids[i..j] {
                    let c = self.chunk(overlays, id)?;
                    group.push((c.path, c.start_line, c.end_line, id));
                }
                group.sort_unstable();
                for (slot, g) in ids[i..j].iter_mut().zip(group) {
                    *slot = g.3;
                }
            }
            i = j;
        }
        Ok(())
    }

    /// A per-chunk mask of the chunks of `files` (file ids), for the vector filter.
    fn chunk_mask(&self, files: &[u32]) -> Vec<bool> {
        let mut mask = vec![false; self.store.len()];
        for &f in files {
            if let Some(rec) = self.store.files().get(f as usize) {
                let start = rec.first_chunk as usize;
                let end = (start + rec.chunk_count as usize).min(mask.len());
                if let Some(slice) = mask.get_mut(start..end) {
                    slice.fill(true);
                }
            }
        }
        mask
    }

    /// Live file ids that pass the request's filter and have no overlay, or `None` when
    /// neither narrows the index.
    fn allowed_files(&self, filter: &RequestFilter, hidden: &[u32]) -> Option<Vec<u32>> {
        if filter.is_none() {
            // Overlays alone narrow nothing here: the retrievers leave out the hidden files
            // themselves, which is cheaper than listing every other file.
            return None;
        }
        Some(
            self.store
                .live_files()
                .filter(|(id, f)| filter.admits(&f.path, f.language) && !hidden.contains(id))
                .map(|(id, _)| id)
                .collect(),
        )
    }
}

/// The query's vector when `mode` needs one. In auto mode a model that cannot be loaded
/// makes the query lexical (with a note saying why); asked for by name, it is an error.
pub(crate) fn embed_query<'e>(
    req: &SearchRequest,
    mode: &mut Mode,
    timings: &mut QueryTimings,
    notes: &mut Vec<String>,
    embedder: impl FnOnce(&mut QueryTimings) -> std::result::Result<&'e Embedder, String>,
) -> Result<Option<Vec<f32>>> {
    if *mode == Mode::Lexical {
        return Ok(None);
    }
    match embedder(timings) {
        Ok(embedder) => {
            let t = Instant::now();
            let mut v = embedder.embed_queries(&[req.query.as_str()])?;
            timings.embed_ms = t.elapsed().as_secs_f64() * 1e3;
            Ok(v.pop().map(|mut q| {
                normalize(&mut q);
                q
            }))
        }
        Err(reason) if req.mode == Mode::Auto => {
            notes.push(format!(
                "semantic search unavailable, lexical only: {reason}"
            ));
            *mode = Mode::Lexical;
            Ok(None)
        }
        Err(reason) => Err(Error::InvalidOption(format!(
            "cannot run a {} query: {reason}",
            mode.name()
        ))),
    }
}

/// A request's `--lang` and `--path` filters.
pub(crate) struct RequestFilter<'a> {
    glob: Option<GlobMatcher>,
    languages: &'a [Language],
}

impl<'a> RequestFilter<'a> {
    pub(crate) fn new(req: &'a SearchRequest) -> Result<Self> {
        let glob = match &req.path_glob {
            None => None,
            Some(g) => Some(
                Glob::new(g)
                    .map_err(|e| Error::InvalidOption(format!("bad --path glob {g:?}: {e}")))?
                    .compile_matcher(),
            ),
        };
        Ok(RequestFilter {
            glob,
            languages: &req.languages,
        })
    }

    fn is_none(&self) -> bool {
        self.glob.is_none() && self.languages.is_empty()
    }

    pub(crate) fn admits(&self, path: &str, language: Language) -> bool {
        (self.languages.is_empty() || self.languages.contains(&language))
            && self.glob.as_ref().is_none_or(|g| path_matches(g, path))
    }
}

/// Merge `more` into `hits` (both best first) by score, keeping the best `limit`.
fn merge_by_score(hits: &mut Vec<(u32, f32)>, more: Vec<(u32, f32)>, limit: usize) {
    if more.is_empty() {
        return;
    }
    hits.extend(more);
    hits.sort_by(|a, b| b.1.total_cmp(&a.1));
    hits.truncate(limit);
}

impl SearchHit {
    fn from_chunk(c: &StoredChunk<'_>, score: f32, ranks: Ranks) -> SearchHit {
        SearchHit {
            path: c.path.to_string(),
            start_line: c.start_line,
            end_line: c.end_line,
            score,
            language: c.language,
            kind: c.kind,
            symbol: c.symbol.map(str::to_string),
            container: c.container.map(str::to_string),
            text: c.text.to_string(),
            ranks,
            chunk_id: c.id,
        }
    }
}

/// What [`Searcher::related`] finds code similar to.
#[derive(Debug, Clone, Copy)]
pub enum RelatedTo<'a> {
    /// The innermost chunk of a file (path relative to the indexed root) that contains
    /// a line (1-based).
    Line {
        /// Root-relative path, `/`-separated.
        path: &'a str,
        /// 1-based line.
        line: u32,
    },
    /// A code snippet.
    Code(&'a str),
}

/// What [`Searcher::related`] found.
#[derive(Debug, Clone)]
pub struct Related {
    /// Similar chunks, best first (never the source chunk itself).
    pub hits: Vec<SearchHit>,
    /// The source as a label: `path:start-end (symbol)`, or "the snippet".
    pub source: String,
    /// How they were found: `vectors` (the source's embedding) or `lexical` (a query of
    /// its identifiers, when the index has no vectors).
    pub method: &'static str,
}

/// Identifiers taken from a chunk for the lexical query of [`Searcher::related`].
const RELATED_IDENTIFIERS: usize = 32;

impl Searcher {
    /// Code similar to a place in the index or to a snippet: by the source chunk's stored
    /// vector (a snippet is embedded as a query) when the index has vectors, else by a
    /// lexical query of its first identifiers. The source chunk itself is left out.
    /// Errors: a path not in the index or a line outside its chunks, a `top_k` above
    /// [`MAX_TOP_K`], an empty snippet ([`Error::InvalidOption`] / [`Error::InvalidQuery`]).
    pub fn related(&self, to: RelatedTo<'_>, top_k: usize) -> Result<Related> {
        if top_k > MAX_TOP_K {
            return Err(Error::InvalidOption(format!(
                "at most {MAX_TOP_K} results, got {top_k}"
            )));
        }
        let method = if self.vectors.is_some() {
            "vectors"
        } else {
            "lexical"
        };
        match to {
            RelatedTo::Code(code) => {
                if code.trim().is_empty() {
                    return Err(Error::InvalidQuery("the snippet is empty".into()));
                }
                let hits = if self.vectors.is_some() {
                    let req = SearchRequest::new(code).top_k(top_k).mode(Mode::Semantic);
                    self.search(&req)?.hits
                } else {
                    self.lexical_related(code, None, top_k)?
                };
                Ok(Related {
                    hits,
                    source: "the snippet".into(),
                    method,
                })
            }
            RelatedTo::Line { path, line } => {
                let overlays = self.overlay_snapshot();
                let prepared = overlays.prepared(&self.store)?;
                let prepared = prepared.as_deref();
                let source = self.chunk_at(prepared, path, line)?;
                let label = format!(
                    "{}:{}-{}{}",
                    source.path,
                    source.start_line,
                    source.end_line,
                    source.symbol.map(|s| format!(" ({s})")).unwrap_or_default()
                );
                let id = source.id;
                let hits = match &self.vectors {
                    Some(vectors) => self.vector_related(vectors, prepared, id, top_k)?,
                    None => self.lexical_related(source.text, Some(id), top_k)?,
                };
                Ok(Related {
                    hits,
                    source: label,
                    method,
                })
            }
        }
    }

    /// Chunks nearest to chunk `id`'s vector, `id` itself and hidden files left out.
    fn vector_related(
        &self,
        vectors: &VectorIndex,
        prepared: Option<&Prepared>,
        id: u32,
        top_k: usize,
    ) -> Result<Vec<SearchHit>> {
        let mut timings = QueryTimings::default();
        let source = match prepared {
            Some(_) => Some(self.vector_source(vectors, &mut timings)?),
            None => None,
        };
        let query = match (prepared.and_then(|p| p.chunk(id)), &source) {
            (Some(_), Some(source)) => prepared
                .map(|p| p.vector(id, source))
                .transpose()?
                .flatten(),
            _ => vectors.vector(id),
        };
        let Some(query) = query else {
            return Ok(Vec::new());
        };
        let mask = prepared
            .and_then(|p| p.vector_mask.as_ref())
            .or(self.live.as_ref());
        let filter =
            |c: u32| c != id && mask.is_none_or(|m| m.get(c as usize).copied().unwrap_or(false));
        let mut found: Vec<(u32, f32)> = vectors
            .search(&query, top_k, Some(&filter))?
            .into_iter()
            .map(|h| (h.chunk_id, h.score))
            .collect();
        if let (Some(p), Some(source)) = (prepared, &source) {
            let more = p.semantic(&query, top_k.saturating_add(1), source, &|c| c.id != id)?;
            merge_by_score(&mut found, more, top_k);
        }
        found
            .into_iter()
            .enumerate()
            .map(|(rank, (chunk_id, score))| {
                let c = self.chunk(prepared, chunk_id)?;
                Ok(SearchHit::from_chunk(
                    &c,
                    score,
                    Ranks {
                        lexical: None,
                        semantic: Some(rank + 1),
                    },
                ))
            })
            .collect()
    }

    /// The innermost chunk containing `line` of `path`: of its overlay when it has one,
    /// else of the indexed file (chunks of a file may nest).
    fn chunk_at<'a>(
        &'a self,
        prepared: Option<&'a Prepared>,
        path: &str,
        line: u32,
    ) -> Result<StoredChunk<'a>> {
        let wanted = path.trim_start_matches("./");
        let ids: Vec<u32> = match prepared.filter(|p| p.has_buffer(wanted)) {
            Some(p) => p.chunks_of(wanted).collect(),
            None => self
                .store
                .live_files()
                .find(|(_, f)| f.path == wanted)
                .ok_or_else(|| {
                    Error::InvalidOption(format!(
                        "{path:?} is not in the index (paths are relative to the indexed root)"
                    ))
                })?
                .1
                .chunk_ids()
                .collect(),
        };
        let mut best: Option<StoredChunk<'_>> = None;
        let mut last_line = 0;
        for id in ids {
            let c = self.chunk(prepared, id)?;
            last_line = last_line.max(c.end_line);
            if c.start_line <= line
                && line <= c.end_line
                && best
                    .as_ref()
                    .is_none_or(|b| c.end_line - c.start_line < b.end_line - b.start_line)
            {
                best = Some(c);
            }
        }
        best.ok_or_else(|| {
            Error::InvalidOption(format!(
                "line {line} is outside {path} (its chunks cover lines 1-{last_line})"
            ))
        })
    }

    fn lexical_related(
        &self,
        text: &str,
        exclude: Option<u32>,
        top_k: usize,
    ) -> Result<Vec<SearchHit>> {
        let query = identifiers(text, RELATED_IDENTIFIERS);
        if query.is_empty() || top_k == 0 {
            return Ok(Vec::new());
        }
        let req = SearchRequest::new(query)
            .top_k((top_k + 1).min(MAX_TOP_K))
            .mode(Mode::Lexical);
        Ok(self
            .search(&req)?
            .hits
            .into_iter()
            .filter(|h| Some(h.chunk_id) != exclude)
            .take(top_k)
            .collect())
    }
}

/// The first `n` distinct identifiers of `text` (3+ characters, not starting with a
/// digit), space-separated: a lexical query that stands for a piece of code.
fn identifiers(text: &str, n: usize) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        if word.chars().count() < 3 || word.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        if seen.insert(word.to_lowercase()) {
            out.push(word);
            if out.len() == n {
                break;
            }
        }
    }
    out.join(" ")
}

/// Whether a model named at query time is the one the index was built with: the same
/// name, the same Hugging Face id, or the same directory.
fn same_model(requested: &str, meta: &EmbeddingMeta) -> bool {
    if requested == meta.model || meta.hf_id.as_deref() == Some(requested) {
        return true;
    }
    if let Some(entry) = crate::embed::registry::lookup(requested) {
        return meta.hf_id.as_deref() == Some(entry.hf_id);
    }
    match (
        std::fs::canonicalize(requested),
        std::fs::canonicalize(&meta.model),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A glob without a `/` matches a file name anywhere (`*.rs`), as in gitignore; a glob
/// with one matches the whole root-relative path (`src/**/*.rs`), or a prefix directory.
fn path_matches(glob: &GlobMatcher, path: &str) -> bool {
    if glob.is_match(path) {
        return true;
    }
    let pattern = glob.glob().glob();
    if !pattern.contains('/') {
        return path
            .rsplit('/')
            .next()
            .is_some_and(|name| glob.is_match(name));
    }
    // `src/cli` selects everything below src/cli.
    path.match_indices('/')
        .any(|(i, _)| glob.is_match(&path[..i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(g: &str, p: &str) -> bool {
        path_matches(&Glob::new(g).map(|g| g.compile_matcher()).unwrap(), p)
    }

    #[test]
    fn searcher_can_be_shared_between_threads() {
        // The crate docs promise editors can keep one Searcher and query from any thread.
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Searcher>();
    }

    #[test]
    fn related_identifiers_are_unique_and_ordered() {
        assert_eq!(
            identifiers("fn parse_config(path: &Path) { parse_config(1) }", 10),
            "parse_config path"
        );
        assert_eq!(identifiers("a bb 123 ccc ddd", 1), "ccc");
    }

    #[test]
    fn glob_semantics() {
        assert!(m("*.rs", "src/a/b.rs"));
        assert!(!m("*.rs", "src/a/b.py"));
        assert!(m("src/**/*.rs", "src/a/b.rs"));
        assert!(!m("src/**/*.rs", "tests/b.rs"));
        assert!(m("src/cli", "src/cli/mod.rs"));
        assert!(!m("src/cli", "src/client.rs"));
    }
}
