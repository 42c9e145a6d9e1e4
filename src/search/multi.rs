//! Several indexes searched as one: a workspace of repositories, or an organisation's
//! code on one machine. Each index answers the query on its own (its own statistics,
//! model, filters and re-ranking); the lists are merged into one ranking in which every
//! hit carries its root.
//!
//! How lists merge depends on whether their scores mean the same thing. When every index
//! ran the same mode, and the semantic ones share a model, scores are comparable (BM25
//! with similar statistics, cosine of one model, or rank-based fusion scores) and the
//! lists merge by score. Otherwise (one index lexical-only, another hybrid; two models)
//! they merge by rank, reciprocal rank fusion over the per-index lists, so no index wins
//! by its score scale alone.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Mode, SearchHit, SearchOptions, SearchRequest, Searcher};
use crate::error::Result;

/// Constant of the rank merge (as in reciprocal rank fusion).
const RANK_MERGE_K: f32 = 60.0;

/// Several open indexes queried together.
pub struct MultiSearcher {
    searchers: Vec<Searcher>,
}

/// A hit and the root of the index it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiHit {
    /// The indexed root the hit's path is relative to.
    pub root: PathBuf,
    /// The hit, as its index ranked it (its `score` is the merged list's).
    #[serde(flatten)]
    pub hit: SearchHit,
}

/// How the per-index lists were merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Merge {
    /// By score: the indexes' scores are comparable.
    Score,
    /// By rank (reciprocal rank fusion): they are not.
    Rank,
}

/// The answer of several indexes to one query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiResults {
    /// Merged results, best first, at most the request's `top_k`.
    pub hits: Vec<MultiHit>,
    /// The mode each index ran, in the order of the searchers.
    pub modes: Vec<Mode>,
    /// How the lists were merged.
    pub merge: Merge,
    /// Things the user should know, prefixed with the root they concern.
    pub notes: Vec<String>,
}

impl MultiSearcher {
    /// Searchers already open, queried in this order (it breaks exact ties).
    pub fn new(searchers: Vec<Searcher>) -> MultiSearcher {
        MultiSearcher { searchers }
    }

    /// Open these index directories with the same options.
    /// Indexes built with the same model share one query model
    /// ([`Searcher::share_query_model`]): it is loaded once.
    pub fn open(index_dirs: &[PathBuf], options: &SearchOptions) -> Result<MultiSearcher> {
        let mut searchers = index_dirs
            .iter()
            .map(|dir| Searcher::open_with(dir, options.clone()))
            .collect::<Result<Vec<_>>>()?;
        for i in 1..searchers.len() {
            let (earlier, rest) = searchers.split_at_mut(i);
            for e in earlier.iter() {
                if rest[0].share_query_model(e) {
                    break;
                }
            }
        }
        Ok(MultiSearcher { searchers })
    }

    /// The searchers, in query order.
    pub fn searchers(&self) -> &[Searcher] {
        &self.searchers
    }

    /// Run `req` on every index and merge the results (see the module docs). The first
    /// error (an empty query, a bad filter) is returned as is.
    pub fn search(&self, req: &SearchRequest) -> Result<MultiResults> {
        let lists = self
            .searchers
            .iter()
            .map(|s| Ok(IndexResults::new(s, s.search(req)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(merge_results(lists, req.top_k))
    }
}

/// One index's answer to a query, as [`merge_results`] takes it.
pub struct IndexResults {
    root: PathBuf,
    mode: Mode,
    /// The model behind the vectors, when any took part: scores of two models do not compare.
    model: Option<String>,
    hits: Vec<SearchHit>,
    notes: Vec<String>,
}

impl IndexResults {
    /// What `searcher` answered.
    pub fn new(searcher: &Searcher, results: super::SearchResults) -> IndexResults {
        let meta = searcher.store().meta();
        IndexResults {
            root: meta.root.clone(),
            mode: results.mode,
            model: meta.embedding.as_ref().map(|m| {
                format!(
                    "{}|{:?}|{}|{:?}",
                    m.model, m.hf_id, m.dims, m.matryoshka_dim
                )
            }),
            hits: results.hits,
            notes: results.notes,
        }
    }
}

/// Merge the answers of several indexes into one ranking of at most `top_k` (see the
/// module docs); earlier lists win exact ties.
pub fn merge_results(lists: Vec<IndexResults>, top_k: usize) -> MultiResults {
    let modes: Vec<Mode> = lists.iter().map(|l| l.mode).collect();
    let merge = if comparable(&lists) {
        Merge::Score
    } else {
        Merge::Rank
    };
    let mut notes = Vec::new();
    let mut hits: Vec<(f32, usize, MultiHit)> = Vec::new();
    for (index, list) in lists.into_iter().enumerate() {
        let root = list.root;
        notes.extend(
            list.notes
                .iter()
                .map(|n| format!("{}: {n}", root.display())),
        );
        for (rank, mut hit) in list.hits.into_iter().enumerate() {
            if merge == Merge::Rank {
                hit.score = 1.0 / (RANK_MERGE_K + rank as f32 + 1.0);
            }
            hits.push((
                hit.score,
                index,
                MultiHit {
                    root: root.clone(),
                    hit,
                },
            ));
        }
    }
    hits.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then_with(|| key(&a.2).cmp(&key(&b.2)))
    });
    hits.truncate(top_k);
    MultiResults {
        hits: hits.into_iter().map(|h| h.2).collect(),
        modes,
        merge,
        notes,
    }
}

/// Whether the lists' scores mean the same thing: one mode for all, and one model
/// wherever vectors took part.
fn comparable(lists: &[IndexResults]) -> bool {
    let Some(first) = lists.first() else {
        return true;
    };
    lists.iter().all(|l| l.mode == first.mode)
        && (first.mode == Mode::Lexical || lists.iter().all(|l| l.model == first.model))
}

/// Order of hits with equal scores from the same index.
fn key(h: &MultiHit) -> (&Path, &str, u32) {
    (&h.root, &h.hit.path, h.hit.start_line)
}
