//! Eval reports: aggregation of per-query scores, the JSON shape and the readable table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::eval::score::{mean, percentile, BeirQueryScore, QueryScore};

/// NDCG@10, MRR@10 and Recall@10 of a repository suite (a query, a repo, a group).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct RepoMetrics {
    /// NDCG@10 (binary relevance).
    #[serde(rename = "ndcg@10")]
    pub ndcg10: f64,
    /// MRR@10.
    #[serde(rename = "mrr@10")]
    pub mrr10: f64,
    /// Recall@10 (fraction of targets covered).
    #[serde(rename = "recall@10")]
    pub recall10: f64,
}

impl RepoMetrics {
    /// Component-wise mean; zeros for no items.
    pub fn mean_of(items: &[RepoMetrics]) -> RepoMetrics {
        let col = |f: fn(&RepoMetrics) -> f64| mean(&items.iter().map(f).collect::<Vec<_>>());
        RepoMetrics {
            ndcg10: col(|m| m.ndcg10),
            mrr10: col(|m| m.mrr10),
            recall10: col(|m| m.recall10),
        }
    }
}

impl From<QueryScore> for RepoMetrics {
    fn from(s: QueryScore) -> Self {
        RepoMetrics {
            ndcg10: s.ndcg,
            mrr10: s.mrr,
            recall10: s.recall,
        }
    }
}

/// One category: the mean over its queries, pooled across repos.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryEntry {
    /// The metrics.
    #[serde(flatten)]
    pub metrics: RepoMetrics,
    /// Number of queries of the category.
    pub queries: usize,
}

/// One language: the mean over the per-repo means of that language's repos (each repo
/// weighs the same, like the headline).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LanguageEntry {
    /// The metrics.
    #[serde(flatten)]
    pub metrics: RepoMetrics,
    /// The repos of this language, in suite order.
    pub repos: Vec<String>,
    /// Number of queries over those repos.
    pub queries: usize,
}

/// One repo: the mean over its queries, and its index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepoEntry {
    /// The metrics.
    #[serde(flatten)]
    pub metrics: RepoMetrics,
    /// Language label from the repos list.
    pub language: String,
    /// Number of queries.
    pub queries: usize,
    /// Files in the index.
    pub files: u64,
    /// Chunks in the index.
    pub chunks: u64,
    /// Seconds the index took to build (when reused: the time recorded when it was built).
    pub index_seconds: f64,
    /// Whether the index was reused from the cache.
    pub index_reused: bool,
}

/// Query latency percentiles in milliseconds (nearest-rank; see
/// [`crate::eval::score::percentile`]), over every timed `search` call, without the
/// one-time load of the query model that a searcher's first semantic query pays.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Number of timed queries.
    pub queries: usize,
}

impl Latency {
    /// Percentiles of `ms` (zeros when empty).
    pub fn from_ms(ms: &[f64]) -> Latency {
        let p = |q| percentile(ms, q).unwrap_or(0.0);
        Latency {
            p50: p(50.0),
            p95: p(95.0),
            p99: p(99.0),
            queries: ms.len(),
        }
    }
}

/// What produced the numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalConfig {
    /// cseek's crate version.
    pub engine_version: String,
    /// On-disk index format version.
    pub index_format: u32,
    /// `git rev-parse HEAD` of the source checkout, if available.
    pub git_commit: Option<String>,
    /// Whether that checkout had uncommitted changes (`git status --porcelain`), if known.
    pub git_dirty: Option<bool>,
    /// Search mode (`lexical`, `semantic`, `hybrid`).
    pub mode: String,
    /// Embedding model, when the mode uses one (none yet).
    pub model: Option<String>,
    /// Fusion parameters, when the mode fuses (none yet).
    pub fusion: Option<serde_json::Value>,
    /// Results requested per query.
    pub top_k: usize,
    /// The suite: repos-list path, or BEIR directory.
    pub suite: String,
    /// The index cache directory.
    pub cache_dir: String,
}

/// The scores of one repo's queries, ready to aggregate.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoRun {
    /// Repo name.
    pub name: String,
    /// Language label.
    pub language: String,
    /// `(category, score)` per query, in annotation order.
    pub queries: Vec<(String, QueryScore)>,
    /// Files indexed.
    pub files: u64,
    /// Chunks indexed.
    pub chunks: u64,
    /// Index build seconds.
    pub index_seconds: f64,
    /// Whether the index came from the cache.
    pub index_reused: bool,
}

/// The report of a repository suite (`cseek eval repos`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepoReport {
    /// Mean over repos of each repo's mean over its queries.
    pub headline: RepoMetrics,
    /// Per category, mean over the queries of that category.
    pub by_category: BTreeMap<String, CategoryEntry>,
    /// Per language, mean over the repos of that language.
    pub by_language: BTreeMap<String, LanguageEntry>,
    /// Per repo.
    pub by_repo: BTreeMap<String, RepoEntry>,
    /// Query latency over all queries of all repos.
    pub latency_ms: Latency,
    /// Index build seconds per repo.
    pub index_seconds: BTreeMap<String, f64>,
    /// Whether each repo's index was reused from the cache.
    pub index_reused: BTreeMap<String, bool>,
    /// Total number of queries.
    pub queries: usize,
    /// What produced the numbers.
    pub config: EvalConfig,
    /// Repo names in suite order (for the table).
    #[serde(skip)]
    pub repo_order: Vec<String>,
}

impl RepoReport {
    /// Aggregate per-query scores. `latencies_ms` are the timed searches.
    pub fn from_runs(runs: &[RepoRun], latencies_ms: &[f64], config: EvalConfig) -> RepoReport {
        let mut by_repo = BTreeMap::new();
        let mut repo_means = Vec::new();
        let mut cats: BTreeMap<String, Vec<RepoMetrics>> = BTreeMap::new();
        let mut langs: BTreeMap<String, (Vec<RepoMetrics>, Vec<String>, usize)> = BTreeMap::new();
        for run in runs {
            let per_query: Vec<RepoMetrics> = run
                .queries
                .iter()
                .map(|(_, s)| RepoMetrics::from(*s))
                .collect();
            let m = RepoMetrics::mean_of(&per_query);
            repo_means.push(m);
            for ((cat, _), qm) in run.queries.iter().zip(&per_query) {
                cats.entry(cat.clone()).or_default().push(*qm);
            }
            let l = langs.entry(run.language.clone()).or_default();
            l.0.push(m);
            l.1.push(run.name.clone());
            l.2 += run.queries.len();
            by_repo.insert(
                run.name.clone(),
                RepoEntry {
                    metrics: m,
                    language: run.language.clone(),
                    queries: run.queries.len(),
                    files: run.files,
                    chunks: run.chunks,
                    index_seconds: run.index_seconds,
                    index_reused: run.index_reused,
                },
            );
        }
        RepoReport {
            headline: RepoMetrics::mean_of(&repo_means),
            by_category: cats
                .into_iter()
                .map(|(c, v)| {
                    let e = CategoryEntry {
                        metrics: RepoMetrics::mean_of(&v),
                        queries: v.len(),
                    };
                    (c, e)
                })
                .collect(),
            by_language: langs
                .into_iter()
                .map(|(l, (v, repos, queries))| {
                    let e = LanguageEntry {
                        metrics: RepoMetrics::mean_of(&v),
                        repos,
                        queries,
                    };
                    (l, e)
                })
                .collect(),
            latency_ms: Latency::from_ms(latencies_ms),
            index_seconds: runs
                .iter()
                .map(|r| (r.name.clone(), r.index_seconds))
                .collect(),
            index_reused: runs
                .iter()
                .map(|r| (r.name.clone(), r.index_reused))
                .collect(),
            queries: runs.iter().map(|r| r.queries.len()).sum(),
            by_repo,
            config,
            repo_order: runs.iter().map(|r| r.name.clone()).collect(),
        }
    }

    /// A readable table: headline first, then categories, languages, repos, latency.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        let c = &self.config;
        let _ = writeln!(
            s,
            "cseek eval repos: {} ({} repos, {} queries), mode {}, {}",
            c.suite,
            self.by_repo.len(),
            self.queries,
            c.mode,
            commit_label(c)
        );
        let h = &self.headline;
        let _ = writeln!(
            s,
            "headline (mean over repos)   NDCG@10 {:.4}   MRR@10 {:.4}   Recall@10 {:.4}",
            h.ndcg10, h.mrr10, h.recall10
        );
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{:<14} {:>7}  {:>7}  {:>7}  {:>9}",
            "category", "queries", "NDCG@10", "MRR@10", "Recall@10"
        );
        for (name, e) in &self.by_category {
            let _ = writeln!(
                s,
                "{:<14} {:>7}  {}",
                name,
                e.queries,
                metric_cols(&e.metrics)
            );
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{:<14} {:>7}  {:>7}  {:>7}  {:>9}  repos (mean over repos)",
            "language", "queries", "NDCG@10", "MRR@10", "Recall@10"
        );
        for (name, e) in &self.by_language {
            let _ = writeln!(
                s,
                "{:<14} {:>7}  {}  {}",
                name,
                e.queries,
                metric_cols(&e.metrics),
                e.repos.join(", ")
            );
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{:<14} {:<10} {:>7}  {:>7}  {:>7}  {:>9}  {:>6} {:>7} {:>8}  index",
            "repo",
            "language",
            "queries",
            "NDCG@10",
            "MRR@10",
            "Recall@10",
            "files",
            "chunks",
            "index s"
        );
        for name in &self.repo_order {
            if let Some(e) = self.by_repo.get(name) {
                let _ = writeln!(
                    s,
                    "{:<14} {:<10} {:>7}  {}  {:>6} {:>7} {:>8.2}  {}",
                    name,
                    e.language,
                    e.queries,
                    metric_cols(&e.metrics),
                    e.files,
                    e.chunks,
                    e.index_seconds,
                    if e.index_reused { "cached" } else { "built" }
                );
            }
        }
        let _ = writeln!(s);
        let l = &self.latency_ms;
        let _ = writeln!(
            s,
            "query latency (ms, {} queries): p50 {:.2}  p95 {:.2}  p99 {:.2}",
            l.queries, l.p50, l.p95, l.p99
        );
        s
    }
}

fn metric_cols(m: &RepoMetrics) -> String {
    format!("{:>7.4}  {:>7.4}  {:>9.4}", m.ndcg10, m.mrr10, m.recall10)
}

fn commit_label(c: &EvalConfig) -> String {
    match (&c.git_commit, c.git_dirty) {
        (Some(h), Some(true)) => format!("commit {} (+ uncommitted changes)", short(h)),
        (Some(h), _) => format!("commit {}", short(h)),
        (None, _) => "commit unknown".to_string(),
    }
}

fn short(h: &str) -> &str {
    h.get(..10).unwrap_or(h)
}

/// The BEIR headline: MRR@10, NDCG@10, Recall@1/10/100, means over the judged queries.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct BeirMetrics {
    /// MRR@10.
    #[serde(rename = "mrr@10")]
    pub mrr10: f64,
    /// NDCG@10 (graded, linear gain).
    #[serde(rename = "ndcg@10")]
    pub ndcg10: f64,
    /// Recall@1.
    #[serde(rename = "recall@1")]
    pub recall1: f64,
    /// Recall@10.
    #[serde(rename = "recall@10")]
    pub recall10: f64,
    /// Recall@100.
    #[serde(rename = "recall@100")]
    pub recall100: f64,
}

impl BeirMetrics {
    /// Component-wise mean of per-query scores (zeros for none).
    pub fn mean_of(scores: &[BeirQueryScore]) -> BeirMetrics {
        let col = |f: fn(&BeirQueryScore) -> f64| mean(&scores.iter().map(f).collect::<Vec<_>>());
        BeirMetrics {
            mrr10: col(|s| s.mrr10),
            ndcg10: col(|s| s.ndcg10),
            recall1: col(|s| s.recall1),
            recall10: col(|s| s.recall10),
            recall100: col(|s| s.recall100),
        }
    }
}

/// The report of a BEIR corpus (`cseek eval beir`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BeirReport {
    /// Dataset name (the directory's name).
    pub dataset: String,
    /// Means over the judged queries.
    pub headline: BeirMetrics,
    /// Judged (evaluated) queries.
    pub queries: usize,
    /// Queries in `queries.jsonl` without a relevant document (not evaluated).
    pub unjudged_queries: usize,
    /// Documents in the corpus.
    pub documents: usize,
    /// Query latency.
    pub latency_ms: Latency,
    /// Index build seconds (when reused: the time recorded when it was built).
    pub index_seconds: f64,
    /// Whether the index was reused from the cache.
    pub index_reused: bool,
    /// What produced the numbers.
    pub config: EvalConfig,
}

impl BeirReport {
    /// A readable table, headline first.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        let c = &self.config;
        let _ = writeln!(
            s,
            "cseek eval beir: {} ({} queries, {} documents), mode {}, {}",
            self.dataset,
            self.queries,
            self.documents,
            c.mode,
            commit_label(c)
        );
        let h = &self.headline;
        let _ = writeln!(
            s,
            "MRR@10 {:.4}   NDCG@10 {:.4}   Recall@1 {:.4}   Recall@10 {:.4}   Recall@100 {:.4}",
            h.mrr10, h.ndcg10, h.recall1, h.recall10, h.recall100
        );
        if self.unjudged_queries > 0 {
            let _ = writeln!(
                s,
                "({} queries without a relevant document were not evaluated)",
                self.unjudged_queries
            );
        }
        let _ = writeln!(
            s,
            "index: {:.2} s ({})",
            self.index_seconds,
            if self.index_reused {
                "reused from cache"
            } else {
                "built"
            }
        );
        let l = &self.latency_ms;
        let _ = writeln!(
            s,
            "query latency (ms, {} queries): p50 {:.2}  p95 {:.2}  p99 {:.2}",
            l.queries, l.p50, l.p95, l.p99
        );
        s
    }
}
