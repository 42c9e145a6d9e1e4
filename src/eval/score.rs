//! Pure scoring: path matching, target ranks, NDCG/MRR/Recall for repository suites,
//! graded BEIR metrics, means and percentiles. Nothing here touches the engine or the
//! file system, so every number can be checked by hand (see `tests/eval_scoring.rs`).
//!
//! # Repository-suite metrics (`shared/bench/README.md`, "Scoring")
//!
//! Only the first [`CUTOFF`] (10) returned chunks are looked at. Relevant and secondary
//! targets are pooled with the same weight; `n` is their number as listed.
//!
//! * **Target rank**: the 1-based rank of the *first* chunk in the cut-off list whose path
//!   matches the target's path ([`path_matches`]) and which covers the target: any chunk of
//!   the file for a whole-file target, a chunk whose line range overlaps the span (not
//!   `chunk_end < start_line || chunk_start > end_line`) for a span target.
//! * **NDCG@10** = DCG / IDCG with binary gains, `DCG = Σ 1/log2(r + 1)` over the *distinct*
//!   ranks `r` obtained by the targets (one chunk covering two targets counts once), and
//!   `IDCG = Σ_{i=1..min(10, n)} 1/log2(i + 1)`.
//! * **MRR@10** = `1 / r_min`, where `r_min` is the rank of the first returned chunk (within
//!   the top 10) that covers at least one target — equivalently the smallest target rank;
//!   0 when no target is covered in the top 10.
//! * **Recall@10** = (number of targets with a rank) / `n`: the fraction of the listed
//!   targets covered by some chunk of the top 10.
//!
//! # BEIR metrics (trec_eval / pytrec_eval conventions, as BEIR reports them)
//!
//! A qrels entry with score `> 0` is relevant, its score is its gain. Documents are taken in
//! the engine's rank order (no re-sorting by score, so ties keep the engine's order, unlike
//! trec_eval which breaks score ties by document id).
//!
//! * **NDCG@k** = `Σ_{r ≤ k} gain(d_r)/log2(r + 1)` divided by the same sum over the
//!   relevant gains sorted in decreasing order (linear gain, as trec_eval's `ndcg_cut`).
//! * **MRR@k** = `1 / r` for the first document within the top `k` with gain `> 0`, else 0.
//! * **Recall@k** = |relevant ∩ top k| / |relevant|.

use std::collections::{HashMap, HashSet};

/// The rank cut-off of the repository suites and of MRR@10 / NDCG@10 everywhere.
pub const CUTOFF: usize = 10;

/// An inclusive, 1-based line span `start_line..=end_line`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// First line, 1-based.
    pub start_line: u32,
    /// Last line, 1-based, inclusive (`>= start_line`).
    pub end_line: u32,
}

/// A relevance target of a repository query: a whole file or a line span of a file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The target's path as annotated (an upstream checkout path).
    pub path: String,
    /// `None` for a whole-file target.
    pub span: Option<Span>,
}

impl Target {
    /// A whole-file target.
    pub fn file(path: impl Into<String>) -> Self {
        Target {
            path: path.into(),
            span: None,
        }
    }

    /// A span target (the caller guarantees `1 <= start_line <= end_line`).
    pub fn span(path: impl Into<String>, start_line: u32, end_line: u32) -> Self {
        Target {
            path: path.into(),
            span: Some(Span {
                start_line,
                end_line,
            }),
        }
    }
}

/// One returned chunk as the scorer sees it: a path and an inclusive line range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankedChunk {
    /// Path of the chunk's file (package-relative or absolute; `\` is read as `/`).
    pub path: String,
    /// First line, 1-based.
    pub start_line: u32,
    /// Last line, 1-based, inclusive.
    pub end_line: u32,
}

impl RankedChunk {
    /// Shorthand constructor.
    pub fn new(path: impl Into<String>, start_line: u32, end_line: u32) -> Self {
        RankedChunk {
            path: path.into(),
            start_line,
            end_line,
        }
    }
}

/// The three per-query numbers of a repository suite.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QueryScore {
    /// NDCG@10 with binary relevance.
    pub ndcg: f64,
    /// Reciprocal rank of the first chunk covering any target (0 if none in the top 10).
    pub mrr: f64,
    /// Fraction of the targets covered within the top 10.
    pub recall: f64,
}

/// Whether a returned file path and a target path name the same file under the README's
/// two-way suffix rule: after turning `\` into `/`, `file == target`, or `file` ends with
/// `"/" + target`, or `target` ends with `"/" + file` (so only whole components match).
pub fn path_matches(file: &str, target: &str) -> bool {
    let file = file.replace('\\', "/");
    let target = target.replace('\\', "/");
    if file.is_empty() || target.is_empty() {
        return false;
    }
    file == target || ends_with_component(&file, &target) || ends_with_component(&target, &file)
}

/// `long` ends with `"/" + short`.
fn ends_with_component(long: &str, short: &str) -> bool {
    long.len() > short.len()
        && long.ends_with(short)
        && long.as_bytes()[long.len() - short.len() - 1] == b'/'
}

/// Whether a chunk covers a target: same file, and for a span target, overlapping lines.
pub fn covers(chunk: &RankedChunk, target: &Target) -> bool {
    if !path_matches(&chunk.path, &target.path) {
        return false;
    }
    match target.span {
        None => true,
        Some(s) => !(chunk.end_line < s.start_line || chunk.start_line > s.end_line),
    }
}

/// For each target (in order), the 1-based rank of the first chunk among the first
/// [`CUTOFF`] of `chunks` that covers it, or `None`.
pub fn target_ranks(chunks: &[RankedChunk], targets: &[Target]) -> Vec<Option<usize>> {
    let top = &chunks[..chunks.len().min(CUTOFF)];
    targets
        .iter()
        .map(|t| top.iter().position(|c| covers(c, t)).map(|i| i + 1))
        .collect()
}

/// `1 / log2(rank + 1)`, the discount of a 1-based rank.
pub fn discount(rank: usize) -> f64 {
    1.0 / ((rank as f64) + 1.0).log2()
}

/// The ideal DCG of `n` binary targets at cut-off 10: `Σ_{i=1..min(10, n)} 1/log2(i + 1)`.
pub fn binary_idcg(n_targets: usize) -> f64 {
    (1..=n_targets.min(CUTOFF)).map(discount).sum()
}

/// Score one repository query: NDCG@10, MRR@10 and Recall@10 of `chunks` (in rank order;
/// only the first 10 count) against `targets`. With no targets every number is 0 (the
/// suite loader rejects such queries, so this only guards against division by zero).
pub fn score_query(chunks: &[RankedChunk], targets: &[Target]) -> QueryScore {
    if targets.is_empty() {
        return QueryScore::default();
    }
    let ranks = target_ranks(chunks, targets);
    let distinct: HashSet<usize> = ranks.iter().flatten().copied().collect();
    let dcg: f64 = distinct.iter().map(|&r| discount(r)).sum();
    let ndcg = dcg / binary_idcg(targets.len());
    let mrr = distinct.iter().min().map_or(0.0, |&r| 1.0 / r as f64);
    let hit = ranks.iter().filter(|r| r.is_some()).count();
    QueryScore {
        ndcg,
        mrr,
        recall: hit as f64 / targets.len() as f64,
    }
}

/// The BEIR numbers of one query.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BeirQueryScore {
    /// MRR@10.
    pub mrr10: f64,
    /// NDCG@10 with graded (linear) gains.
    pub ndcg10: f64,
    /// Recall@1.
    pub recall1: f64,
    /// Recall@10.
    pub recall10: f64,
    /// Recall@100.
    pub recall100: f64,
}

/// Score one BEIR query: `ranked` are document ids in rank order (at least the first 100
/// should be given for Recall@100), `qrels` maps document id to its relevance score.
/// Entries with score `<= 0` are not relevant. A query without relevant documents scores 0
/// everywhere (the runner leaves such queries out, as BEIR does).
pub fn score_beir_query(ranked: &[&str], qrels: &HashMap<String, i32>) -> BeirQueryScore {
    let gain = |id: &str| qrels.get(id).copied().filter(|&g| g > 0).unwrap_or(0);
    let n_rel = qrels.values().filter(|&&g| g > 0).count();
    if n_rel == 0 {
        return BeirQueryScore::default();
    }
    // A run must not count a document twice; keep the first occurrence of each id.
    let mut seen = HashSet::new();
    let ranked: Vec<&str> = ranked
        .iter()
        .copied()
        .filter(|id| seen.insert(*id))
        .collect();

    let mrr10 = ranked
        .iter()
        .take(CUTOFF)
        .position(|id| gain(id) > 0)
        .map_or(0.0, |i| 1.0 / (i + 1) as f64);

    let dcg: f64 = ranked
        .iter()
        .take(CUTOFF)
        .enumerate()
        .map(|(i, id)| gain(id) as f64 * discount(i + 1))
        .sum();
    let mut ideal: Vec<i32> = qrels.values().copied().filter(|&g| g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(CUTOFF)
        .enumerate()
        .map(|(i, &g)| g as f64 * discount(i + 1))
        .sum();

    let recall =
        |k: usize| ranked.iter().take(k).filter(|id| gain(id) > 0).count() as f64 / n_rel as f64;
    BeirQueryScore {
        mrr10,
        ndcg10: dcg / idcg,
        recall1: recall(1),
        recall10: recall(10),
        recall100: recall(100),
    }
}

/// Arithmetic mean; 0 for an empty slice.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// Nearest-rank percentile: the smallest value such that at least `p`% of the values are
/// `<=` it, i.e. `sorted[ceil(p/100 · n) - 1]` (and the minimum for `p = 0`). `None` for
/// no values. NaNs sort last.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, n) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_suffix_only() {
        assert!(path_matches("a/b/c.py", "b/c.py"));
        assert!(path_matches("b/c.py", "a/b/c.py"));
        assert!(!path_matches("a/xb/c.py", "b/c.py"));
        assert!(!path_matches("c.py", "abc.py"));
        assert!(path_matches("a\\b\\c.py", "b/c.py"));
        assert!(!path_matches("", "c.py"));
    }

    #[test]
    fn percentile_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(|i| i as f64).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 95.0), Some(95.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
