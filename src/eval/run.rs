//! The eval runners: index (or reuse) each corpus, run every query, score, report.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::chunk::{Chunk, ChunkKind, ChunkOptions};
use crate::embed::EmbedOptions;
use crate::error::{Error, Result};
use crate::eval::beir::{beir_paths, load_beir};
use crate::eval::cache::{Fingerprint, Slot, Stamp};
use crate::eval::report::{BeirMetrics, BeirReport, EvalConfig, Latency, RepoReport, RepoRun};
use crate::eval::score::{score_beir_query, score_query, RankedChunk, CUTOFF};
use crate::eval::suite::{annotations_path, load_annotations, load_repos, RepoSpec};
use crate::fuse::RrfParams;
use crate::index::{build_index, load_model, IndexBuilder, IndexOptions, ModelChoice, NoProgress};
use crate::lang::Language;
use crate::rank::RankParams;
use crate::search::{
    Mode, Ranks, SearchHit, SearchOptions, SearchRequest, SearchResults, Searcher, MAX_TOP_K,
};
use crate::vector::VectorOptions;
use crate::walk::WalkOptions;

/// The default index cache directory (relative to the working directory).
pub const DEFAULT_CACHE_DIR: &str = "target/cseek-eval-cache";

/// Options of [`run_repo_suite`].
#[derive(Debug, Clone)]
pub struct RepoEvalOptions {
    /// The suite directory (holds the repos list and `annotations/`).
    pub suite: PathBuf,
    /// The repos list, relative to `suite` (e.g. `dev-repos.json`).
    pub repos_file: String,
    /// The corpus directory: `<corpus>/<name>/` is each repo's package dir.
    pub corpus: PathBuf,
    /// Search mode.
    pub mode: Mode,
    /// Index cache directory.
    pub cache_dir: PathBuf,
    /// Write one JSON line per query here (see [`ResultLine`]).
    pub results_out: Option<PathBuf>,
    /// Only these repos (empty: all), by name.
    pub repos: Vec<String>,
    /// Results requested per query (at least 10; only the first 10 are scored).
    pub top_k: usize,
    /// Rebuild every index even when the cache fingerprint matches.
    pub rebuild: bool,
    /// Chunking settings (part of the cache fingerprint).
    pub chunk: ChunkOptions,
    /// Walk settings; each repo's `exclude` globs are appended to `walk.exclude`.
    pub walk: WalkOptions,
    /// Embedding model for the indexes (part of the cache fingerprint).
    pub model: ModelChoice,
    /// How to load and run the model.
    pub embed: EmbedOptions,
    /// Fusion parameters for hybrid mode (not part of the fingerprint: ranking only).
    pub fusion: RrfParams,
    /// Re-ranking parameters (not part of the fingerprint).
    pub ranking: RankParams,
    /// Candidates per retriever before fusion (0 = the search default).
    pub depth: usize,
    /// Query through this Milvus backend (`milvus://…`) instead of the local indexes:
    /// each repo's index is mirrored into the collection (as `cseek index --backend`)
    /// and its queries filtered to it.
    pub backend: Option<String>,
}

impl RepoEvalOptions {
    /// Defaults: what `cseek index` and `cseek query` do (the default model, auto mode),
    /// top 10, [`DEFAULT_CACHE_DIR`], all repos.
    pub fn new(
        suite: impl Into<PathBuf>,
        repos_file: impl Into<String>,
        corpus: impl Into<PathBuf>,
    ) -> Self {
        RepoEvalOptions {
            suite: suite.into(),
            repos_file: repos_file.into(),
            corpus: corpus.into(),
            mode: Mode::Auto,
            cache_dir: PathBuf::from(DEFAULT_CACHE_DIR),
            results_out: None,
            repos: Vec::new(),
            top_k: CUTOFF,
            rebuild: false,
            chunk: ChunkOptions::default(),
            walk: WalkOptions::default(),
            model: ModelChoice::Default,
            embed: EmbedOptions::default(),
            fusion: RrfParams::default(),
            ranking: RankParams::default(),
            depth: 0,
            backend: None,
        }
    }
}

/// Options of [`run_beir`].
#[derive(Debug, Clone)]
pub struct BeirEvalOptions {
    /// The BEIR directory (`corpus.jsonl`, `queries.jsonl`, `qrels/test.tsv`).
    pub dir: PathBuf,
    /// Search mode.
    pub mode: Mode,
    /// Index cache directory.
    pub cache_dir: PathBuf,
    /// Write one JSON line per query here (see [`BeirResultLine`]).
    pub results_out: Option<PathBuf>,
    /// Results requested per query (at least 100, for Recall@100).
    pub top_k: usize,
    /// Rebuild the index even when the cache fingerprint matches.
    pub rebuild: bool,
    /// Embedding model for the index (part of the cache fingerprint).
    pub model: ModelChoice,
    /// How to load and run the model.
    pub embed: EmbedOptions,
    /// Fusion parameters for hybrid mode (not part of the fingerprint: ranking only).
    pub fusion: RrfParams,
    /// Re-ranking parameters (not part of the fingerprint).
    pub ranking: RankParams,
    /// Candidates per retriever before fusion (0 = the search default).
    pub depth: usize,
}

impl BeirEvalOptions {
    /// Defaults: what `cseek index` and `cseek query` do (the default model, auto mode),
    /// top 100, [`DEFAULT_CACHE_DIR`].
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        BeirEvalOptions {
            dir: dir.into(),
            mode: Mode::Auto,
            cache_dir: PathBuf::from(DEFAULT_CACHE_DIR),
            results_out: None,
            top_k: 100,
            rebuild: false,
            model: ModelChoice::Default,
            embed: EmbedOptions::default(),
            fusion: RrfParams::default(),
            ranking: RankParams::default(),
            depth: 0,
        }
    }
}

/// One line of a repo suite's `--results-out` file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultLine {
    /// Repo name.
    pub repo: String,
    /// Query text.
    pub query: String,
    /// Query category.
    pub category: String,
    /// The returned chunks in rank order, paths relative to `<corpus>/<repo>/`.
    pub results: Vec<ResultItem>,
}

/// One returned chunk in a results file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultItem {
    /// Path relative to the package dir `<corpus>/<repo>/` (not to `root`).
    pub path: String,
    /// First line, 1-based.
    pub start_line: u32,
    /// Last line, 1-based inclusive.
    pub end_line: u32,
    /// Engine score.
    pub score: f32,
    /// What the chunk is (function, class, …).
    pub kind: ChunkKind,
    /// The symbol the chunk defines, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// Rank (1-based) in the BM25 list and in the vector list, where the chunk was in
    /// them: what each retriever thought of it before fusion and re-ranking.
    pub ranks: Ranks,
}

/// One line of a BEIR `--results-out` file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BeirResultLine {
    /// Query id.
    pub query_id: String,
    /// Query text.
    pub query: String,
    /// `(document id, score)` in rank order.
    pub results: Vec<BeirResultItem>,
}

/// One returned document in a BEIR results file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BeirResultItem {
    /// Document id.
    pub doc_id: String,
    /// Engine score.
    pub score: f32,
}

/// An eval's `top_k` is checked before any index is built: at least what its metrics
/// read (`why`), at most what a search returns.
fn check_top_k(top_k: usize, least: usize, why: &str) -> Result<()> {
    if top_k < least {
        return Err(Error::InvalidOption(format!(
            "top_k must be at least {least} {why}, got {top_k}"
        )));
    }
    if top_k > MAX_TOP_K {
        return Err(Error::InvalidOption(format!(
            "top_k is {top_k}, at most {MAX_TOP_K} results can be asked for"
        )));
    }
    Ok(())
}

/// Run a repository suite: for each repo, index `<corpus>/<name>/<root>` (or reuse the
/// cached index), run its queries, score them (see [`crate::eval::score`]) and aggregate.
/// Progress lines go to `log`.
pub fn run_repo_suite(opts: &RepoEvalOptions, log: &mut dyn FnMut(&str)) -> Result<RepoReport> {
    check_top_k(opts.top_k, CUTOFF, "to score NDCG@10")?;
    let repos_path = opts.suite.join(&opts.repos_file);
    let all = load_repos(&repos_path)?;
    let selected = select_repos(all, &opts.repos, &repos_path)?;
    // Parse every annotations file before indexing anything: a typo fails fast.
    let mut suites = Vec::new();
    for repo in selected {
        let ap = annotations_path(&opts.suite, &repo);
        let queries = load_annotations(&ap)?;
        suites.push((repo, queries));
    }
    let mut out = open_results(opts.results_out.as_deref())?;

    let mut runs = Vec::new();
    let mut latencies = Vec::new();
    let mut ran = RanWith::default();
    let backend = match &opts.backend {
        Some(url) => Some(crate::milvus::MilvusUrl::parse(url)?),
        None => None,
    };
    let mut milvus: Option<crate::milvus::MilvusSearcher> = None;
    for (repo, queries) in &suites {
        let (searcher, stamp, reused) = repo_index(opts, repo, log)?;
        ran.model(&searcher);
        if let Some(url) = &backend {
            let s = crate::milvus::sync_index(searcher.store().index_dir(), url, &repo.name)?;
            log(&format!(
                "{}: mirrored into {url} ({} files, {} chunks sent{}; {:.2} s)",
                repo.name,
                s.files_sent,
                s.chunks_sent,
                if s.full { ", full" } else { "" },
                s.seconds
            ));
            if milvus.is_none() {
                milvus = Some(crate::milvus::MilvusSearcher::open(
                    url,
                    search_options(&opts.embed, &opts.fusion, &opts.ranking, opts.depth),
                )?);
            }
        }
        let scope = std::slice::from_ref(&repo.name);
        let mut scores = Vec::with_capacity(queries.len());
        for q in queries {
            let req = SearchRequest {
                mode: opts.mode,
                ..SearchRequest::new(q.query.clone()).top_k(opts.top_k)
            };
            let t = Instant::now();
            let results = match &milvus {
                Some(m) => m.search(&req, scope)?.into_search_results(),
                None => searcher.search(&req)?,
            };
            latencies.push(query_ms(t, &results));
            ran.mode(results.mode);
            let hits = results.hits;
            let ranked = package_chunks(repo, &hits);
            scores.push((q.category.clone(), score_query(&ranked, &q.targets())));
            if let Some((path, w)) = out.as_mut() {
                let line = ResultLine {
                    repo: repo.name.clone(),
                    query: q.query.clone(),
                    category: q.category.clone(),
                    results: ranked
                        .iter()
                        .zip(&hits)
                        .map(|(c, h)| ResultItem {
                            path: c.path.clone(),
                            start_line: c.start_line,
                            end_line: c.end_line,
                            score: h.score,
                            kind: h.kind,
                            symbol: h.symbol.clone(),
                            ranks: h.ranks,
                        })
                        .collect(),
                };
                write_json_line(w, path, &line)?;
            }
        }
        let n = scores.len().max(1) as f64;
        log(&format!(
            "{}: {} queries, NDCG@10 {:.4}",
            repo.name,
            scores.len(),
            scores.iter().map(|(_, s)| s.ndcg).sum::<f64>() / n
        ));
        runs.push(RepoRun {
            name: repo.name.clone(),
            language: repo.language.clone(),
            queries: scores,
            files: stamp.files,
            chunks: stamp.chunks,
            index_seconds: stamp.seconds,
            index_reused: reused,
        });
    }
    if let Some((path, w)) = out.as_mut() {
        w.flush()
            .map_err(|e| Error::io("writing", path.as_path(), e))?;
    }
    let config = config(
        &ran,
        opts.mode,
        &opts.fusion,
        &opts.ranking,
        opts.top_k,
        repos_path.display().to_string(),
        &opts.cache_dir,
    );
    Ok(RepoReport::from_runs(&runs, &latencies, config))
}

/// The top hits as the scorer sees them: paths made package-relative (`<root>/<path>`).
fn package_chunks(repo: &RepoSpec, hits: &[SearchHit]) -> Vec<RankedChunk> {
    hits.iter()
        .map(|h| RankedChunk::new(repo.package_path(&h.path), h.start_line, h.end_line))
        .collect()
}

fn select_repos(all: Vec<RepoSpec>, names: &[String], path: &Path) -> Result<Vec<RepoSpec>> {
    if names.is_empty() {
        return Ok(all);
    }
    let known: HashSet<&str> = all.iter().map(|r| r.name.as_str()).collect();
    if let Some(bad) = names.iter().find(|n| !known.contains(n.as_str())) {
        let mut list: Vec<&str> = known.into_iter().collect();
        list.sort_unstable();
        return Err(Error::InvalidOption(format!(
            "repo {bad:?} is not in {} (it has: {})",
            path.display(),
            list.join(", ")
        )));
    }
    Ok(all
        .into_iter()
        .filter(|r| names.contains(&r.name))
        .collect())
}

/// Open (reusing when the fingerprint matches) or build one repo's index.
fn repo_index(
    opts: &RepoEvalOptions,
    repo: &RepoSpec,
    log: &mut dyn FnMut(&str),
) -> Result<(Searcher, Stamp, bool)> {
    let package = opts.corpus.join(&repo.name);
    let root_prefix = repo.root_prefix();
    let root = if root_prefix.is_empty() {
        package.clone()
    } else {
        package.join(&root_prefix)
    };
    if !root.is_dir() {
        return Err(Error::InvalidOption(format!(
            "{} is not a directory; fetch the corpus first (e.g. `bash fetch-dev-corpus.sh {}`)",
            root.display(),
            opts.corpus.display()
        )));
    }
    let mut walk = opts.walk.clone();
    walk.exclude.extend(repo.exclude.iter().cloned());
    let walk_json = serde_json::to_string(&walk)
        .map_err(|e| Error::InvalidOption(format!("serializing walk options: {e}")))?;
    let mut fp = Fingerprint::new();
    fp.add(b"repo")
        .add(walk_json.as_bytes())
        .add(format!("{:?}", opts.chunk).as_bytes())
        .add(model_key(&opts.model, &opts.embed).as_bytes());
    fp.add_tree(&root)?;
    let fingerprint = fp.finish();

    let slot = Slot::new(
        &opts.cache_dir,
        "repos",
        &format!("{}/{}", repo.name, model_tag(&opts.model, &opts.embed)),
    );
    if !opts.rebuild {
        if let Some(stamp) = slot.valid_stamp(&fingerprint) {
            match Searcher::open_with(
                &slot.index_dir(),
                search_options(&opts.embed, &opts.fusion, &opts.ranking, opts.depth),
            ) {
                Ok(s) => {
                    log(&format!(
                        "{}: index reused from cache ({} files, {} chunks)",
                        repo.name, stamp.files, stamp.chunks
                    ));
                    return Ok((s, stamp, true));
                }
                Err(e) => log(&format!(
                    "{}: cached index unusable ({e}); rebuilding",
                    repo.name
                )),
            }
        }
    }
    slot.invalidate()?;
    let index_opts = IndexOptions {
        root: root.clone(),
        index_dir: slot.index_dir(),
        walk,
        chunk: opts.chunk.clone(),
        model: opts.model.clone(),
        embed: opts.embed.clone(),
        vectors: VectorOptions::default(),
        rebuild: true,
    };
    let summary = build_index(&index_opts, &NoProgress)?;
    let stamp = Stamp {
        fingerprint,
        seconds: summary.seconds,
        files: summary.files,
        chunks: summary.chunks,
    };
    slot.write_stamp(&stamp)?;
    log(&format!(
        "{}: indexed {} in {:.2} s ({} files, {} chunks, {} embedded)",
        repo.name,
        root.display(),
        summary.seconds,
        summary.files,
        summary.chunks,
        summary.chunks_embedded
    ));
    Ok((
        Searcher::open_with(
            &slot.index_dir(),
            search_options(&opts.embed, &opts.fusion, &opts.ranking, opts.depth),
        )?,
        stamp,
        false,
    ))
}

/// Run a BEIR corpus: index every document as one chunk (or reuse the cached index), run
/// every judged query with `top_k` results, and report MRR@10, NDCG@10, Recall@1/10/100.
pub fn run_beir(opts: &BeirEvalOptions, log: &mut dyn FnMut(&str)) -> Result<BeirReport> {
    check_top_k(opts.top_k, 100, "to score Recall@100")?;
    let data = load_beir(&opts.dir)?;
    let name = opts
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "beir".to_string());
    let (corpus_path, _, _) = beir_paths(&opts.dir);
    let mut fp = Fingerprint::new();
    // The document → chunk scheme: path = `_id`, text = title + "\n" + text, one chunk.
    fp.add(b"beir")
        .add(b"doc-scheme/1")
        .add(model_key(&opts.model, &opts.embed).as_bytes());
    fp.add_file(&corpus_path)?;
    let fingerprint = fp.finish();

    let slot = Slot::new(
        &opts.cache_dir,
        "beir",
        &format!("{name}/{}", model_tag(&opts.model, &opts.embed)),
    );
    let mut cached = None;
    if !opts.rebuild {
        if let Some(stamp) = slot.valid_stamp(&fingerprint) {
            match Searcher::open_with(
                &slot.index_dir(),
                search_options(&opts.embed, &opts.fusion, &opts.ranking, opts.depth),
            ) {
                Ok(s) => cached = Some((s, stamp)),
                Err(e) => log(&format!("{name}: cached index unusable ({e}); rebuilding")),
            }
        }
    }
    let reused = cached.is_some();
    let (searcher, stamp) = match cached {
        Some(c) => {
            log(&format!(
                "{name}: index reused from cache ({} documents)",
                c.1.files
            ));
            c
        }
        None => {
            slot.clear()?;
            let mut b = IndexBuilder::create(&slot.index_dir(), &opts.dir)?;
            let (model, off_reason) = load_model(&opts.model, &opts.embed)?;
            if let Some(reason) = off_reason.filter(|_| opts.model != ModelChoice::Off) {
                log(&format!("{name}: semantic search off: {reason}"));
            }
            if let Some((spec, embedder)) = model {
                b.enable_vectors(
                    spec,
                    std::sync::Arc::new(embedder),
                    &opts.embed,
                    &VectorOptions::default(),
                )?;
            }
            let mut empty = 0usize;
            for d in &data.docs {
                let text = d.indexed_text();
                if text.trim().is_empty() {
                    empty += 1;
                    continue;
                }
                let language = d.language.unwrap_or(Language::Text);
                let kind = match language {
                    Language::Text | Language::Markdown => ChunkKind::Window,
                    _ => ChunkKind::Function,
                };
                let chunk = Chunk {
                    path: d.id.clone(),
                    language,
                    kind,
                    symbol: None,
                    container: None,
                    start_byte: 0,
                    end_byte: text.len(),
                    start_line: 1,
                    end_line: text.lines().count().max(1) as u32,
                    text: text.clone(),
                };
                b.add_file(&d.id, language, &text, vec![chunk])?;
            }
            let summary = b.commit()?;
            if empty > 0 {
                log(&format!(
                    "{name}: {empty} documents with empty text were not indexed"
                ));
            }
            let stamp = Stamp {
                fingerprint,
                seconds: summary.seconds,
                files: summary.files,
                chunks: summary.chunks,
            };
            slot.write_stamp(&stamp)?;
            log(&format!(
                "{name}: indexed {} documents in {:.2} s",
                summary.files, summary.seconds
            ));
            (
                Searcher::open_with(
                    &slot.index_dir(),
                    search_options(&opts.embed, &opts.fusion, &opts.ranking, opts.depth),
                )?,
                stamp,
            )
        }
    };

    let mut ran = RanWith::default();
    ran.model(&searcher);
    let doc_ids: HashSet<&str> = data.docs.iter().map(|d| d.id.as_str()).collect();
    let judged = data.judged_queries();
    let mut out = open_results(opts.results_out.as_deref())?;
    let mut scores = Vec::with_capacity(judged.len());
    let mut latencies = Vec::with_capacity(judged.len());
    let empty_qrels = HashMap::new();
    for q in &judged {
        let hits = if q.text.trim().is_empty() {
            Vec::new()
        } else {
            let req = SearchRequest {
                mode: opts.mode,
                ..SearchRequest::new(q.text.clone()).top_k(opts.top_k)
            };
            let t = Instant::now();
            let results = searcher.search(&req)?;
            latencies.push(query_ms(t, &results));
            ran.mode(results.mode);
            results.hits
        };
        if let Some(h) = hits.iter().find(|h| !doc_ids.contains(h.path.as_str())) {
            return Err(Error::corrupt(
                slot.index_dir(),
                format!("hit path {:?} is not a document id of {name}", h.path),
            ));
        }
        let ranked: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
        let qrels = data.qrels.get(&q.id).unwrap_or(&empty_qrels);
        scores.push(score_beir_query(&ranked, qrels));
        if let Some((path, w)) = out.as_mut() {
            let line = BeirResultLine {
                query_id: q.id.clone(),
                query: q.text.clone(),
                results: hits
                    .iter()
                    .map(|h| BeirResultItem {
                        doc_id: h.path.clone(),
                        score: h.score,
                    })
                    .collect(),
            };
            write_json_line(w, path, &line)?;
        }
    }
    if let Some((path, w)) = out.as_mut() {
        w.flush()
            .map_err(|e| Error::io("writing", path.as_path(), e))?;
    }
    Ok(BeirReport {
        dataset: name,
        headline: BeirMetrics::mean_of(&scores),
        queries: judged.len(),
        unjudged_queries: data.queries.len() - judged.len(),
        documents: data.docs.len(),
        latency_ms: Latency::from_ms(&latencies),
        index_seconds: stamp.seconds,
        index_reused: reused,
        config: config(
            &ran,
            opts.mode,
            &opts.fusion,
            &opts.ranking,
            opts.top_k,
            opts.dir.display().to_string(),
            &opts.cache_dir,
        ),
    })
}

type ResultsWriter = (PathBuf, std::io::BufWriter<std::fs::File>);

fn open_results(path: Option<&Path>) -> Result<Option<ResultsWriter>> {
    let Some(path) = path else { return Ok(None) };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("creating directory", parent, e))?;
    }
    let f = std::fs::File::create(path).map_err(|e| Error::io("creating", path, e))?;
    Ok(Some((path.to_path_buf(), std::io::BufWriter::new(f))))
}

fn write_json_line<T: Serialize>(
    w: &mut std::io::BufWriter<std::fs::File>,
    path: &Path,
    value: &T,
) -> Result<()> {
    serde_json::to_writer(&mut *w, value)
        .map_err(|e| Error::io("writing", path, std::io::Error::other(e)))?;
    w.write_all(b"\n")
        .map_err(|e| Error::io("writing", path, e))
}

/// What an eval actually ran: the modes queries resolved to (`auto` becomes hybrid or
/// lexical per index) and the model the indexes were built with.
#[derive(Default)]
struct RanWith {
    modes: std::collections::BTreeSet<&'static str>,
    model: Option<String>,
}

impl RanWith {
    fn mode(&mut self, mode: Mode) {
        self.modes.insert(mode.name());
    }

    fn model(&mut self, searcher: &Searcher) {
        if let Some(m) = &searcher.store().meta().embedding {
            self.model.get_or_insert_with(|| m.model.clone());
        }
    }

    /// `hybrid`, `lexical+hybrid`; `(auto)` appended when that was asked for.
    fn mode_label(&self, asked: Mode) -> String {
        let ran = if self.modes.is_empty() {
            asked.name().to_string()
        } else {
            self.modes.iter().copied().collect::<Vec<_>>().join("+")
        };
        if asked == Mode::Auto && !self.modes.is_empty() {
            format!("{ran} (auto)")
        } else {
            ran
        }
    }
}

fn config(
    ran: &RanWith,
    mode: Mode,
    fusion: &RrfParams,
    ranking: &RankParams,
    top_k: usize,
    suite: String,
    cache_dir: &Path,
) -> EvalConfig {
    let (git_commit, git_dirty) = git_state();
    EvalConfig {
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        index_format: crate::store::FORMAT_VERSION,
        git_commit,
        git_dirty,
        mode: ran.mode_label(mode),
        model: ran.model.clone(),
        // Re-ranking and file evidence apply in every mode; the RRF constants and list
        // weights only when two lists are fused.
        fusion: Some(serde_json::json!({
            "rrf": ran.modes.contains("hybrid").then_some(fusion),
            "file_evidence": {"weight": fusion.file_weight, "depth": fusion.file_depth},
            "ranking": ranking,
        })),
        top_k,
        suite,
        cache_dir: cache_dir.display().to_string(),
    }
}

fn search_options(
    embed: &EmbedOptions,
    fusion: &RrfParams,
    ranking: &RankParams,
    depth: usize,
) -> SearchOptions {
    SearchOptions {
        embed: EmbedOptions { ..embed.clone() },
        fusion: *fusion,
        ranking: *ranking,
        depth,
        ..SearchOptions::default()
    }
}

/// A short name for the embedding setup: each setup has its own cache slot per repo, so
/// evaluating with one model and then another does not rebuild (and re-embed) either.
fn model_tag(model: &ModelChoice, embed: &EmbedOptions) -> String {
    let hash = blake3::hash(model_key(model, embed).as_bytes());
    hash.to_hex()[..12].to_string()
}

/// The part of the cache fingerprint that names the embedding setup.
fn model_key(model: &ModelChoice, embed: &EmbedOptions) -> String {
    if *model == ModelChoice::Off {
        return "model=off".to_string();
    }
    // The embedding code's fingerprint counts only when there are vectors, so changes
    // to the model code do not invalidate lexical-only indexes.
    let mut key = format!(
        "model={model:?};matryoshka={:?};max_tokens={:?};template={};code={}",
        embed.matryoshka_dim,
        embed.max_tokens,
        crate::index::EMBEDDING_TEMPLATE,
        env!("CSEEK_EMBEDDING_CODE_HASH")
    );
    // (Appended only when set, so the keys of local models stay what they were.)
    if let Some(e) = &embed.remote.endpoint {
        key.push_str(&format!(";endpoint={e}"));
    }
    key
}

/// `git rev-parse HEAD` and whether `git status --porcelain` is non-empty, in the source
/// checkout cseek was built from (falling back to the working directory).
fn git_state() -> (Option<String>, Option<bool>) {
    let run = |dir: &Path, args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let dirs = [
        PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        PathBuf::from("."),
    ];
    for dir in &dirs {
        if let Some(head) = run(dir, &["rev-parse", "HEAD"]) {
            let head = head.trim().to_string();
            if head.is_empty() {
                continue;
            }
            let dirty = run(dir, &["status", "--porcelain"]).map(|s| !s.trim().is_empty());
            return (Some(head), dirty);
        }
    }
    (None, None)
}

/// Milliseconds since `t` spent on one search, less the one-time load of the query model
/// (the first semantic query of a searcher pays it; `cseek query --timings` shows it):
/// the latency percentiles describe queries, not process start-up.
pub(crate) fn query_ms(t: Instant, results: &SearchResults) -> f64 {
    (t.elapsed().as_secs_f64() * 1000.0 - results.timings.model_load_ms).max(0.0)
}
