//! `cseek eval self`: a benchmark mined from the indexed repository itself.
//!
//! Annotated benchmarks exist for a handful of repositories; the one a user cares about is
//! their own. Two kinds of (query, answer) pairs can be read off any index without
//! annotation:
//!
//! - **doc**: the first sentence of a definition's doc comment or docstring → that
//!   definition (`"Read the whole file into a string."` → `fn read_to_string`), for
//!   sentences written on one definition only (not the overloads' shared one). The
//!   sentence is still inside the indexed chunk, so lexical retrieval is favoured: read
//!   these numbers as an upper bound on how well words find code, and compare
//!   configurations against each other rather than against other benchmarks.
//! - **symbol**: a definition's name → that definition, for names defined exactly once
//!   (`parse_config` → its function), outside tests/examples/docs.
//!
//! Sampling is deterministic (pairs ordered by a hash of path and line), so two runs on
//! the same index give the same queries. Scoring is the repository suite's: a result
//! covers the answer when its lines overlap the definition's ([`crate::eval::score`]).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

pub use crate::chunk::doc::doc_sentence;
use crate::chunk::ChunkKind;
use crate::error::Result;
use crate::eval::report::Latency;
use crate::eval::score::{mean, score_query, QueryScore, RankedChunk, Target};
use crate::rank::is_noise_path;
use crate::search::{Mode, SearchOptions, SearchRequest, Searcher};
use crate::store::Store;

/// Which way a pair was mined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum MinedKind {
    /// Doc comment sentence → its definition.
    Doc,
    /// Symbol name → its definition.
    Symbol,
}

impl MinedKind {
    /// Lower-case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            MinedKind::Doc => "doc",
            MinedKind::Symbol => "symbol",
        }
    }
}

/// One mined query and the definition that answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MinedQuery {
    /// How it was mined.
    pub kind: MinedKind,
    /// The query text.
    pub query: String,
    /// Root-relative path of the answer.
    pub path: String,
    /// First line of the answer (1-based).
    pub start_line: u32,
    /// Last line of the answer (inclusive).
    pub end_line: u32,
}

/// Shortest symbol name used as a query: shorter ones (`get`, `run`) are ambiguous even
/// when defined once.
const MIN_SYMBOL_LEN: usize = 5;

fn is_definition(kind: ChunkKind) -> bool {
    matches!(
        kind,
        ChunkKind::Function
            | ChunkKind::Method
            | ChunkKind::Class
            | ChunkKind::Struct
            | ChunkKind::Enum
            | ChunkKind::Trait
            | ChunkKind::Interface
            | ChunkKind::Type
    )
}

/// Mine up to `per_kind` pairs of each kind from every chunk of `store`.
pub fn mine_queries(store: &Store, per_kind: usize) -> Result<Vec<MinedQuery>> {
    // How often each normalised name is defined: only unique names make symbol queries.
    let mut defined: HashMap<String, u32> = HashMap::new();
    let live: Vec<u32> = store
        .live_files()
        .flat_map(|(_, f)| f.chunk_ids())
        .collect();
    for &id in &live {
        let c = store.chunk(id)?;
        if let (Some(s), true) = (c.symbol, is_definition(c.kind)) {
            *defined.entry(s.to_lowercase()).or_default() += 1;
        }
    }
    let mut found: Vec<(blake3::Hash, MinedQuery)> = Vec::new();
    for &id in &live {
        let c = store.chunk(id)?;
        let Some(symbol) = c.symbol else { continue };
        if !is_definition(c.kind) || is_noise_path(c.path) {
            continue;
        }
        let pair = |kind: MinedKind, query: String| {
            let key =
                blake3::hash(format!("{}:{}:{}", kind.name(), c.path, c.start_line).as_bytes());
            (
                key,
                MinedQuery {
                    kind,
                    query,
                    path: c.path.to_string(),
                    start_line: c.start_line,
                    end_line: c.end_line,
                },
            )
        };
        if let Some(doc) = doc_sentence(c.text, c.language) {
            found.push(pair(MinedKind::Doc, doc));
        }
        let name = symbol.trim_start_matches('_');
        if name.chars().count() >= MIN_SYMBOL_LEN && defined.get(&symbol.to_lowercase()) == Some(&1)
        {
            found.push(pair(MinedKind::Symbol, symbol.to_string()));
        }
    }
    // A sentence written on several definitions (the overloads of one method, "Returns
    // the inner reader") has several right answers, of which a query can count only one.
    let mut docs: HashMap<&str, u32> = HashMap::new();
    for (_, q) in &found {
        if q.kind == MinedKind::Doc {
            *docs.entry(q.query.as_str()).or_default() += 1;
        }
    }
    let repeated: HashSet<String> = docs
        .into_iter()
        .filter(|&(_, n)| n > 1)
        .map(|(q, _)| q.to_string())
        .collect();
    found.retain(|(_, q)| q.kind != MinedKind::Doc || !repeated.contains(&q.query));
    found.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut taken: HashMap<MinedKind, usize> = HashMap::new();
    let mut out = Vec::new();
    for (_, q) in found {
        let n = taken.entry(q.kind).or_default();
        if *n < per_kind {
            *n += 1;
            out.push(q);
        }
    }
    out.sort_by(|a, b| (a.kind, &a.path, a.start_line).cmp(&(b.kind, &b.path, b.start_line)));
    Ok(out)
}

/// Settings of a self-evaluation run.
#[derive(Debug, Clone)]
pub struct SelfEvalOptions {
    /// The index to evaluate (built by `cseek index`).
    pub index_dir: PathBuf,
    /// Retrievers to use.
    pub mode: Mode,
    /// Search settings (fusion, ranking, model).
    pub search: SearchOptions,
    /// Most pairs mined per kind.
    pub per_kind: usize,
}

/// Metrics of one kind of mined query.
#[derive(Debug, Clone, Serialize)]
pub struct SelfKindMetrics {
    /// `doc`, `symbol`, or `all`.
    pub kind: String,
    /// Number of queries.
    pub queries: usize,
    /// Mean NDCG@10.
    pub ndcg_at_10: f64,
    /// Mean MRR@10.
    pub mrr_at_10: f64,
    /// Mean Recall@10.
    pub recall_at_10: f64,
}

impl SelfKindMetrics {
    fn of(kind: &str, scores: &[&QueryScore]) -> Self {
        let col =
            |f: fn(&QueryScore) -> f64| mean(&scores.iter().map(|s| f(s)).collect::<Vec<_>>());
        SelfKindMetrics {
            kind: kind.to_string(),
            queries: scores.len(),
            ndcg_at_10: col(|s| s.ndcg),
            mrr_at_10: col(|s| s.mrr),
            recall_at_10: col(|s| s.recall),
        }
    }
}

/// Result of `cseek eval self`.
#[derive(Debug, Clone, Serialize)]
pub struct SelfReport {
    /// The index evaluated.
    pub index_dir: String,
    /// Search mode used.
    pub mode: String,
    /// Chunks in the index.
    pub chunks: usize,
    /// Per kind, then `all` (mean over every query).
    pub metrics: Vec<SelfKindMetrics>,
    /// Query latency.
    pub latency_ms: Latency,
    /// Every query with its score, for inspection.
    pub queries: Vec<SelfQueryResult>,
}

/// One mined query's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct SelfQueryResult {
    /// The pair.
    #[serde(flatten)]
    pub pair: MinedQuery,
    /// Its NDCG@10.
    pub ndcg_at_10: f64,
    /// 1-based rank of the answer in the top 10, if there.
    pub rank: Option<usize>,
}

impl SelfReport {
    /// Plain-text table.
    pub fn to_table(&self) -> String {
        let mut s = format!(
            "self-evaluation of {} ({} chunks, mode {})\n\n| kind | queries | NDCG@10 | MRR@10 | Recall@10 |\n|---|---:|---:|---:|---:|\n",
            self.index_dir, self.chunks, self.mode
        );
        for m in &self.metrics {
            s.push_str(&format!(
                "| {} | {} | {:.4} | {:.4} | {:.4} |\n",
                m.kind, m.queries, m.ndcg_at_10, m.mrr_at_10, m.recall_at_10
            ));
        }
        s.push_str(&format!(
            "\nquery latency p50 {:.2} ms, p95 {:.2} ms\n",
            self.latency_ms.p50, self.latency_ms.p95
        ));
        s
    }
}

/// Mine pairs from the index and run them (see the module docs).
pub fn run_self(opts: &SelfEvalOptions, log: &mut dyn FnMut(&str)) -> Result<SelfReport> {
    let searcher = Searcher::open_with(&opts.index_dir, opts.search.clone())?;
    let pairs = mine_queries(searcher.store(), opts.per_kind)?;
    log(&format!(
        "mined {} doc and {} symbol queries from {}",
        pairs.iter().filter(|p| p.kind == MinedKind::Doc).count(),
        pairs.iter().filter(|p| p.kind == MinedKind::Symbol).count(),
        opts.index_dir.display()
    ));
    let (scores, latencies) = score_pairs(&searcher, &pairs, opts.mode)?;
    let results: Vec<SelfQueryResult> = pairs
        .into_iter()
        .zip(&scores)
        .map(|(pair, score)| SelfQueryResult {
            ndcg_at_10: score.ndcg,
            rank: (score.mrr > 0.0).then(|| (1.0 / score.mrr).round() as usize),
            pair,
        })
        .collect();
    let mut metrics = Vec::new();
    for kind in [MinedKind::Doc, MinedKind::Symbol] {
        let of_kind: Vec<&QueryScore> = scores
            .iter()
            .zip(&results)
            .filter(|(_, r)| r.pair.kind == kind)
            .map(|(s, _)| s)
            .collect();
        metrics.push(SelfKindMetrics::of(kind.name(), &of_kind));
    }
    metrics.push(SelfKindMetrics::of(
        "all",
        &scores.iter().collect::<Vec<_>>(),
    ));
    Ok(SelfReport {
        index_dir: opts.index_dir.display().to_string(),
        mode: opts.mode.name().to_string(),
        chunks: searcher.store().len(),
        metrics,
        latency_ms: Latency::from_ms(&latencies),
        queries: results,
    })
}

/// Run every pair through `searcher`: each one's score and latency (ms).
fn score_pairs(
    searcher: &Searcher,
    pairs: &[MinedQuery],
    mode: Mode,
) -> Result<(Vec<QueryScore>, Vec<f64>)> {
    let mut scores = Vec::with_capacity(pairs.len());
    let mut latencies = Vec::with_capacity(pairs.len());
    for p in pairs {
        let req = SearchRequest {
            mode,
            ..SearchRequest::new(p.query.clone()).top_k(10)
        };
        let t = Instant::now();
        let results = searcher.search(&req)?;
        latencies.push(crate::eval::run::query_ms(t, &results));
        let hits = results.hits;
        let ranked: Vec<RankedChunk> = hits
            .iter()
            .map(|h| RankedChunk::new(h.path.clone(), h.start_line, h.end_line))
            .collect();
        let target = Target::span(p.path.clone(), p.start_line, p.end_line);
        scores.push(score_query(&ranked, &[target]));
    }
    Ok((scores, latencies))
}

/// Mean NDCG@10 over the doc and symbol kinds (each kind the same weight, so the more
/// plentiful kind does not decide alone).
fn objective(pairs: &[MinedQuery], scores: &[QueryScore]) -> f64 {
    let mut per_kind = Vec::new();
    for kind in [MinedKind::Doc, MinedKind::Symbol] {
        let v: Vec<f64> = pairs
            .iter()
            .zip(scores)
            .filter(|(p, _)| p.kind == kind)
            .map(|(_, s)| s.ndcg)
            .collect();
        if !v.is_empty() {
            per_kind.push(mean(&v));
        }
    }
    mean(&per_kind)
}

/// One step of [`fit`]: a parameter set to a value, and the objective it gave.
#[derive(Debug, Clone, Serialize)]
pub struct FitStep {
    /// Parameter name (as its command-line flag, without `--`).
    pub param: String,
    /// Value tried.
    pub value: f32,
    /// Objective (mean over kinds of NDCG@10 on the mined queries).
    pub objective: f64,
}

/// What [`fit`] found.
#[derive(Debug, Clone, Serialize)]
pub struct FitReport {
    /// Objective of the starting parameters.
    pub start: f64,
    /// Objective of the best parameters.
    pub best: f64,
    /// Best fusion parameters.
    pub fusion: crate::fuse::RrfParams,
    /// Best re-ranking parameters.
    pub ranking: crate::rank::RankParams,
    /// Every setting tried.
    pub steps: Vec<FitStep>,
}

impl FitReport {
    /// The flags that reproduce the best parameters.
    pub fn flags(&self) -> String {
        let r = &self.ranking;
        format!(
            "--semantic-weight {} --path-boost {} --identifier-boost {} --definition-boost {} \
             --coherence {} --file-decay {} --noise-penalty {}",
            self.fusion.semantic_weight,
            r.path_boost,
            r.identifier_boost,
            r.definition_boost,
            r.coherence,
            r.file_decay,
            r.noise_penalty
        )
    }
}

/// Fit fusion and re-ranking strengths to the pairs mined from this index: coordinate
/// ascent over a small grid per parameter (two passes), starting from `opts.search`.
/// A value replaces the current one only when it improves the objective by more than
/// 0.001, so ties keep the simpler (earlier) setting.
pub fn fit(opts: &SelfEvalOptions, log: &mut dyn FnMut(&str)) -> Result<FitReport> {
    let mut searcher = Searcher::open_with(&opts.index_dir, opts.search.clone())?;
    let pairs = mine_queries(searcher.store(), opts.per_kind)?;
    let mut fusion = opts.search.fusion;
    let mut ranking = opts.search.ranking;
    let eval = |s: &Searcher| -> Result<f64> {
        let (scores, _) = score_pairs(s, &pairs, opts.mode)?;
        Ok(objective(&pairs, &scores))
    };
    let start = eval(&searcher)?;
    let mut best = start;
    let mut steps = Vec::new();
    log(&format!(
        "fit: {} mined queries, start objective {start:.4}",
        pairs.len()
    ));
    type Setter = fn(&mut crate::fuse::RrfParams, &mut crate::rank::RankParams, f32);
    let mut grid: Vec<(&str, &[f32], Setter)> = vec![
        ("path-boost", &[0.0, 0.25, 0.5, 1.0], |_, r, v| {
            r.path_boost = v
        }),
        ("identifier-boost", &[0.0, 0.25, 0.5, 1.0], |_, r, v| {
            r.identifier_boost = v
        }),
        ("definition-boost", &[0.0, 0.5, 1.0, 2.0], |_, r, v| {
            r.definition_boost = v
        }),
        ("coherence", &[0.0, 0.1, 0.25, 0.5], |_, r, v| {
            r.coherence = v
        }),
        ("file-decay", &[1.0, 0.85, 0.7, 0.5], |_, r, v| {
            r.file_decay = v
        }),
        ("noise-penalty", &[0.0, 0.3, 0.7, 0.9], |_, r, v| {
            r.noise_penalty = v
        }),
    ];
    if searcher.has_vectors() && matches!(opts.mode, Mode::Hybrid | Mode::Auto) {
        grid.push(("semantic-weight", &[0.5, 0.75, 1.0, 1.5], |f, _, v| {
            f.semantic_weight = v
        }));
    }
    for _pass in 0..2 {
        for (name, values, set) in &grid {
            for &v in values.iter() {
                let (mut f, mut r) = (fusion, ranking);
                set(&mut f, &mut r, v);
                if f == fusion && r == ranking {
                    continue;
                }
                searcher.set_scoring(f, r);
                let o = eval(&searcher)?;
                steps.push(FitStep {
                    param: name.to_string(),
                    value: v,
                    objective: o,
                });
                if o > best + 0.001 {
                    best = o;
                    fusion = f;
                    ranking = r;
                    log(&format!("fit: {name} = {v} → {o:.4}"));
                }
            }
            searcher.set_scoring(fusion, ranking);
        }
    }
    Ok(FitReport {
        start,
        best,
        fusion,
        ranking,
        steps,
    })
}
