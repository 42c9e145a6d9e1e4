//! Fitting the lexical:semantic weight of fusion to the corpus, at index time.
//!
//! Which retriever deserves more say depends on the model and on the corpus, not on the
//! query: on repositories whose questions name what files are about, BM25 carries
//! (measured: the dev suite prefers 1.4 : 0.6), while with a transformer model on
//! single-function corpora the vectors do (cosqa-dev with MiniLM: the best share of
//! BM25 is ≤ 0.3). Per-query evidence (score gaps, agreement of the lists) does not tell
//! these apart (benches/README.md, "Fusion by standardised score"), but the corpus does:
//! its doc comments are questions answered by the code below them.
//!
//! So the indexer builds a small test from the corpus it has just indexed. It samples,
//! deterministically (by a hash of path and line, so a rebuild picks the same ones), up
//! to [`MAX_PAIRS`] definitions that open with a doc sentence ([`crate::chunk::doc`]) and
//! up to [`MAX_OTHERS`] other chunks, and removes every doc comment from them: a corpus
//! as if no code were documented, since a question must be answered by code that does not
//! already hold its words. Each doc sentence is a query whose answer is its definition.
//! Both retrievers rank that corpus: BM25 with the index's statistics, and the model's
//! vectors (the index's own for chunks that had no doc comment, one embedding for each
//! that had). Reciprocal rank fusion then runs at every share of the lexical list in
//! [`SHARES`], and a share within [`CHOSEN_SHARES`] among those whose fused lists rank
//! the answers as well as the best one (NDCG@10, one relevant answer; [`choose`] says
//! which) is recorded in the index (`meta.json`, `fusion`). Natural-language queries use
//! it; symbol lookups keep their own weights.
//!
//! Fewer than [`MIN_PAIRS`] pairs (a corpus without doc comments) fit nothing. Then a
//! transformer model keeps the default 1 : 1, and a static model gets
//! [`STATIC_PRIOR_SHARE`] ([`prior`]): what the fits choose for each kind of model on
//! corpora that can be fitted. Only a fresh generation is fitted; an incremental update
//! keeps the previous fit (a few changed files do not move it).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use serde::{Deserialize, Serialize};

use crate::chunk::{doc::doc_comment, Chunk};
use crate::embed::Embedder;
use crate::error::Result;
use crate::lexical::{LexicalDoc, LexicalIndex};
use crate::vector::{normalize, VectorIndex};

/// Most pairs sampled: enough that the fitted share is stable to about ±0.1 (the grid's
/// step), few enough that a transformer model embeds them in seconds.
pub const MAX_PAIRS: usize = 200;

/// Fewest pairs a fit is made from; below, the default weights stay.
pub const MIN_PAIRS: usize = 20;

/// Shares of the lexical list scored: lexical weight `2s`, semantic weight `2(1 − s)`,
/// so 0.5 is the default 1 : 1. The whole range is scored and recorded; the choice is
/// made within [`CHOSEN_SHARES`].
pub const SHARES: [f64; 11] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// The shares a fit may choose. Neither list is ever turned off (0.1 at the least), and
/// the lexical side is capped at 0.7: doc sentences are written by the code's author in
/// the code's own words, so mined pairs overstate BM25 (on the dev repositories they
/// choose 0.9–1.0, where the repositories' own questions are best near 0.7). Chosen by
/// 2-fold cross-validation over the dev repositories among caps 0.6, 0.7, 0.8 and none
/// (benches/README.md, "Fusion weights fitted per index").
pub const CHOSEN_SHARES: std::ops::RangeInclusive<f64> = 0.1..=0.7;

/// Other chunks sampled as the corpus the answers compete in.
pub const MAX_OTHERS: usize = 2000;

/// The lexical share of an index with a static model that cannot be fitted (too few
/// doc comments). A static model embeds a bag of tokens, and the fits say BM25 deserves
/// more say beside it: with the distilled MiniLM static model 12 of the 17 dev
/// repositories that can be fitted choose 0.7 (the most common choice in each fold of
/// issue 14: 4 of 8 in fold A, 8 of 9 in fold B), where with MiniLM itself 15 of 17 choose
/// 1 : 1, the default that transformer models keep (benches/README.md, "A prior for
/// indexes that cannot be fitted").
pub const STATIC_PRIOR_SHARE: f64 = 0.7;

/// Candidates per retriever the answer is ranked among (the search's fusion depth).
const DEPTH: usize = 100;

/// The fusion weights fitted on an index's own doc comments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FusionCalibration {
    /// Share of the lexical list for natural-language queries: lexical weight `2s`,
    /// semantic weight `2(1 − s)`.
    pub lexical_share: f64,
    /// Pairs it was fitted on.
    pub pairs: usize,
    /// The RRF `k` it was fitted with.
    pub k: f32,
    /// NDCG@10 of the pairs' answers at each share tried, `(share, ndcg)`.
    pub curve: Vec<(f64, f64)>,
    /// Not fitted: the share is the [`prior`] for the model's kind (`pairs` is then the
    /// number of doc comments found, too few to fit on, and `curve` is empty). Absent in
    /// older indexes, read as `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prior: bool,
}

/// The fusion weights of an index that cannot be fitted (`documented` doc comments,
/// fewer than [`MIN_PAIRS`]): [`STATIC_PRIOR_SHARE`] for a static model; `None`, the
/// default 1 : 1, for any other.
pub fn prior(static_model: bool, documented: usize, k: f32) -> Option<FusionCalibration> {
    static_model.then(|| FusionCalibration {
        lexical_share: prior_share(true),
        pairs: documented,
        k,
        curve: Vec::new(),
        prior: true,
    })
}

/// The lexical share a model's kind starts from: [`STATIC_PRIOR_SHARE`] for a static
/// model, 1 : 1 for any other. An index that cannot be fitted keeps it ([`prior`]), and a
/// fit moves off it only on clear evidence ([`choose`]).
pub fn prior_share(static_model: bool) -> f64 {
    if static_model {
        STATIC_PRIOR_SHARE
    } else {
        0.5
    }
}

impl FusionCalibration {
    /// `(lexical_weight, semantic_weight)` for natural-language queries.
    pub fn weights(&self) -> (f32, f32) {
        share_weights(self.lexical_share)
    }
}

/// `(lexical_weight, semantic_weight)` for a share `s` of the lexical list: `2s` and
/// `2(1 − s)`, so 0.5 is 1 : 1 and the two always sum to 2.
pub fn share_weights(s: f64) -> (f32, f32) {
    let s = if s.is_finite() {
        s.clamp(0.0, 1.0)
    } else {
        0.5
    };
    ((2.0 * s) as f32, (2.0 * (1.0 - s)) as f32)
}

/// A chunk of the calibration corpus, its doc comment removed when it had one.
#[derive(Debug, Clone)]
pub struct Sampled {
    /// The chunk's id in the index.
    pub chunk_id: u32,
    /// The chunk, its text without its doc comment.
    chunk: Chunk,
    /// Whether a doc comment was removed (the index's vector is then not this text's).
    had_doc: bool,
}

/// A doc sentence and the definition it documents.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The doc sentence: the query.
    pub query: String,
    /// The definition, without its doc comment: the answer.
    pub answer: Sampled,
}

/// Chooses the calibration corpus while chunks stream through the indexer: the `pairs`
/// documented definitions and the `others` chunks with the smallest hashes of path and
/// line, so the choice does not depend on the order files arrive in.
#[derive(Debug)]
pub struct PairSampler {
    pairs: Smallest<Pair>,
    others: Smallest<Sampled>,
    /// How many definitions carry each doc sentence (by hash): a sentence on several
    /// (overloads sharing one comment) has several right answers and makes no pair.
    sentences: HashMap<[u8; 16], u32>,
}

/// The `cap` items with the smallest keys.
#[derive(Debug)]
struct Smallest<T> {
    cap: usize,
    heap: BinaryHeap<Keyed<T>>,
}

#[derive(Debug)]
struct Keyed<T>([u8; 32], T);

impl<T> PartialEq for Keyed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<T> Eq for Keyed<T> {}
impl<T> PartialOrd for Keyed<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Keyed<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl<T> Smallest<T> {
    fn new(cap: usize) -> Self {
        Smallest {
            cap,
            heap: BinaryHeap::new(),
        }
    }

    /// Whether an item of this key would be kept.
    fn admits(&self, key: &[u8; 32]) -> bool {
        self.cap > 0 && (self.heap.len() < self.cap || self.heap.peek().is_some_and(|t| *key < t.0))
    }

    fn push(&mut self, key: [u8; 32], item: T) {
        self.heap.push(Keyed(key, item));
        if self.heap.len() > self.cap {
            self.heap.pop();
        }
    }

    fn into_sorted(self) -> Vec<T> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|k| k.1)
            .collect()
    }
}

impl Default for PairSampler {
    fn default() -> Self {
        PairSampler::new(MAX_PAIRS, MAX_OTHERS)
    }
}

impl PairSampler {
    /// A sampler keeping at most `pairs` pairs and `others` other chunks.
    pub fn new(pairs: usize, others: usize) -> Self {
        PairSampler {
            pairs: Smallest::new(pairs),
            others: Smallest::new(others),
            sentences: HashMap::new(),
        }
    }

    /// Consider chunk `chunk_id` (every chunk of the index is offered).
    pub fn offer(&mut self, chunk_id: u32, chunk: &Chunk) {
        let key =
            *blake3::hash(format!("{}:{}", chunk.path, chunk.start_line).as_bytes()).as_bytes();
        let doc = doc_comment(&chunk.text, chunk.language);
        let sentence = doc
            .as_ref()
            .filter(|_| chunk.kind.is_definition())
            .and_then(|d| d.sentence());
        if let Some(sentence) = &sentence {
            *self.sentences.entry(sentence_key(sentence)).or_default() += 1;
        }
        let (pair, other) = (self.pairs.admits(&key), self.others.admits(&key));
        if !pair && !other {
            return;
        }
        let sampled = |text: String| Sampled {
            chunk_id,
            chunk: Chunk {
                text,
                ..chunk.clone()
            },
            had_doc: doc.is_some(),
        };
        let text = doc
            .as_ref()
            .map_or_else(|| chunk.text.clone(), |d| d.remove_from(&chunk.text));
        if text.trim().is_empty() {
            return;
        }
        match sentence.filter(|_| pair) {
            Some(query) => self.pairs.push(
                key,
                Pair {
                    query,
                    answer: sampled(text),
                },
            ),
            None if other => self.others.push(key, sampled(text)),
            None => {}
        }
    }

    /// Pairs kept so far.
    pub fn len(&self) -> usize {
        self.pairs.heap.len()
    }

    /// Whether no pair was kept.
    pub fn is_empty(&self) -> bool {
        self.pairs.heap.is_empty()
    }

    /// The pairs whose sentence documents one definition only, and the other chunks,
    /// each in key order.
    pub fn into_parts(self) -> (Vec<Pair>, Vec<Sampled>) {
        let sentences = self.sentences;
        let mut pairs = self.pairs.into_sorted();
        pairs.retain(|p| {
            sentences
                .get(&sentence_key(&p.query))
                .is_some_and(|&n| n == 1)
        });
        (pairs, self.others.into_sorted())
    }
}

/// The key a doc sentence is counted under.
fn sentence_key(sentence: &str) -> [u8; 16] {
    let mut key = [0; 16];
    key.copy_from_slice(&blake3::hash(sentence.as_bytes()).as_bytes()[..16]);
    key
}

/// Where one pair's answer lands in each retriever's list, and the other chunks there.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// 1-based rank of the answer in the lexical list (`None`: below the depth).
    pub lexical_rank: Option<usize>,
    /// 1-based rank of the answer in the semantic list.
    pub semantic_rank: Option<usize>,
    /// The other chunks of the lexical list, best first.
    pub lexical_others: Vec<u32>,
    /// The other chunks of the semantic list, best first.
    pub semantic_others: Vec<u32>,
}

/// Fit the lexical share on `pairs` (see the module docs), with `others` as the rest of
/// the calibration corpus. `lexical` gives the BM25 statistics and `vectors` the stored
/// vectors of chunks that had no doc comment. `None` when there are fewer than
/// [`MIN_PAIRS`] pairs.
pub fn calibrate(
    pairs: &[Pair],
    others: &[Sampled],
    lexical: &LexicalIndex,
    vectors: &VectorIndex,
    embedder: &Embedder,
    k: f32,
) -> Result<Option<FusionCalibration>> {
    if pairs.len() < MIN_PAIRS {
        return Ok(None);
    }
    // The corpus: the answers first (corpus id = pair index), then the others.
    let corpus: Vec<&Sampled> = pairs.iter().map(|p| &p.answer).chain(others).collect();
    let bm25 = LexicalIndex::in_memory(
        corpus
            .iter()
            .enumerate()
            .map(|(i, c)| LexicalDoc::of_chunk(i as u32, 0, &c.chunk)),
    )?;
    // Vectors: the index's where the text is the indexed one, else embedded now.
    let mut dense: Vec<Option<Vec<f32>>> = corpus
        .iter()
        .map(|c| (!c.had_doc).then(|| vectors.vector(c.chunk_id)).flatten())
        .collect();
    let missing: Vec<usize> = (0..corpus.len()).filter(|&i| dense[i].is_none()).collect();
    let texts: Vec<String> = missing
        .iter()
        .map(|&i| {
            let c = &corpus[i].chunk;
            crate::index::embedding_text(
                &c.path,
                c.container.as_deref(),
                c.symbol.as_deref(),
                &c.text,
            )
        })
        .collect();
    for batch in missing.chunks(EMBED_BATCH).zip(texts.chunks(EMBED_BATCH)) {
        let refs: Vec<&str> = batch.1.iter().map(String::as_str).collect();
        for (&i, v) in batch.0.iter().zip(embedder.embed_documents(&refs)?) {
            dense[i] = Some(v);
        }
    }
    let dense: Vec<Vec<f32>> = dense
        .into_iter()
        .map(|v| {
            let mut v = v.unwrap_or_default();
            normalize(&mut v);
            v
        })
        .collect();
    let mut queries =
        embedder.embed_queries(&pairs.iter().map(|p| p.query.as_str()).collect::<Vec<_>>())?;
    let mut placements = Vec::with_capacity(pairs.len());
    for (i, (p, q)) in pairs.iter().zip(queries.iter_mut()).enumerate() {
        normalize(q);
        let answer = i as u32;
        let lexical_list: Vec<u32> = bm25
            .search_with(&p.query, corpus.len(), None, &[], Some(lexical))
            .or_else(|e| match e {
                // A sentence of nothing but stop words or punctuation.
                crate::Error::InvalidQuery(_) => Ok(Vec::new()),
                e => Err(e),
            })?
            .into_iter()
            .map(|h| h.chunk_id)
            .collect();
        let mut semantic: Vec<(u32, f32)> = dense
            .iter()
            .enumerate()
            .map(|(j, v)| (j as u32, v.iter().zip(q.iter()).map(|(a, b)| a * b).sum()))
            .collect();
        semantic.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let semantic_list: Vec<u32> = semantic.into_iter().map(|h| h.0).collect();
        placements.push(placement(answer, &lexical_list, &semantic_list));
    }
    Ok(Some(fit(&placements, k, prior_share(embedder.is_static()))))
}

/// Texts embedded per call.
const EMBED_BATCH: usize = 64;

/// The answer's ranks in the two lists (cut at [`DEPTH`]) and the others above the cut.
fn placement(answer: u32, lexical: &[u32], semantic: &[u32]) -> Placement {
    let split = |list: &[u32]| {
        let top = &list[..list.len().min(DEPTH)];
        (
            top.iter().position(|&id| id == answer).map(|r| r + 1),
            top.iter().copied().filter(|&id| id != answer).collect(),
        )
    };
    let (lexical_rank, lexical_others) = split(lexical);
    let (semantic_rank, semantic_others) = split(semantic);
    Placement {
        lexical_rank,
        semantic_rank,
        lexical_others,
        semantic_others,
    }
}

/// Score every share in [`SHARES`] and choose one within [`CHOSEN_SHARES`] (see
/// [`choose`]; `prior` is the share the model's kind starts from, [`prior_share`]).
pub fn fit(placements: &[Placement], k: f32, prior: f64) -> FusionCalibration {
    let per_pair: Vec<Vec<f64>> = SHARES
        .iter()
        .map(|&s| {
            placements
                .iter()
                .map(|p| {
                    let (wl, ws) = share_weights(s);
                    ndcg_at_10(fused_rank(p, wl, ws, k))
                })
                .collect()
        })
        .collect();
    let n = placements.len().max(1) as f64;
    let curve: Vec<(f64, f64)> = SHARES
        .iter()
        .zip(&per_pair)
        .map(|(&s, v)| (s, v.iter().sum::<f64>() / n))
        .collect();
    FusionCalibration {
        lexical_share: SHARES[choose(&per_pair, prior)],
        pairs: placements.len(),
        k,
        curve,
        prior: false,
    }
}

/// Which share to keep, given each share's NDCG@10 per pair (indexed as [`SHARES`]): of
/// the shares in [`CHOSEN_SHARES`] whose mean is within one standard error of the best
/// share's (the error of the pairs' paired differences; the one-standard-error rule of
/// Breiman et al., *Classification and Regression Trees*, 1984), the `prior` share (what
/// the model's kind gets without a fit, [`prior_share`]) when it is among them, else the
/// one in their middle. The pairs move the share off the prior only when they show
/// clearly that another is better; and when they do, the middle of the shares that are
/// as good as the best is the choice least at the mercy of noise (the one nearest the
/// prior sits at the edge of that plateau, next to where the pairs say fusion gets worse:
/// measured in `benches/README.md`, "Abbreviations").
pub fn choose(per_pair: &[Vec<f64>], prior: f64) -> usize {
    let n = per_pair.first().map_or(0, Vec::len).max(1) as f64;
    let mean = |i: usize| per_pair[i].iter().sum::<f64>() / n;
    // (A small tolerance: shares are grid values, 0.7 must not fall out by rounding.)
    let allowed = |s: f64| *CHOSEN_SHARES.start() - 1e-6 <= s && s <= *CHOSEN_SHARES.end() + 1e-6;
    let candidates: Vec<usize> = (0..SHARES.len().min(per_pair.len()))
        .filter(|&i| allowed(SHARES[i]))
        .collect();
    let Some(&first) = candidates.first() else {
        return SHARES
            .iter()
            .position(|s| (s - prior).abs() < 1e-6)
            .unwrap_or(0);
    };
    let nearest_prior = |a: usize, b: usize| (SHARES[a] - prior).abs() < (SHARES[b] - prior).abs();
    let mut best = first;
    for &i in &candidates {
        if mean(i) > mean(best) + 1e-12
            || ((mean(i) - mean(best)).abs() <= 1e-12 && nearest_prior(i, best))
        {
            best = i;
        }
    }
    let within: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| {
            let diffs: Vec<f64> = per_pair[best]
                .iter()
                .zip(&per_pair[i])
                .map(|(b, x)| b - x)
                .collect();
            let m = diffs.iter().sum::<f64>() / n;
            let var = diffs.iter().map(|d| (d - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
            m <= (var / n).sqrt() + 1e-12
        })
        .collect();
    if let Some(&at_prior) = within.iter().find(|&&i| (SHARES[i] - prior).abs() < 1e-6) {
        return at_prior;
    }
    let center = within.iter().map(|&i| SHARES[i]).sum::<f64>() / within.len().max(1) as f64;
    let off = |i: usize| (SHARES[i] - center).abs();
    within.iter().copied().fold(best, |c, i| {
        if off(i) < off(c) - 1e-9 || ((off(i) - off(c)).abs() <= 1e-9 && nearest_prior(i, c)) {
            i
        } else {
            c
        }
    })
}

/// The answer's 1-based rank in the fused list (`None`: in neither list).
fn fused_rank(p: &Placement, wl: f32, ws: f32, k: f32) -> Option<usize> {
    let rrf = |w: f32, rank: Option<usize>| rank.map_or(0.0, |r| w / (k + r as f32));
    let answer = rrf(wl, p.lexical_rank) + rrf(ws, p.semantic_rank);
    if p.lexical_rank.is_none() && p.semantic_rank.is_none() {
        return None;
    }
    // The others' ranks, shifted below the answer where it was inserted above them.
    let mut scores: HashMap<u32, f32> = HashMap::new();
    for (list, own, w) in [
        (&p.lexical_others, p.lexical_rank, wl),
        (&p.semantic_others, p.semantic_rank, ws),
    ] {
        for (i, &id) in list.iter().enumerate() {
            let mut rank = i + 1;
            if own.is_some_and(|r| r <= rank) {
                rank += 1;
            }
            *scores.entry(id).or_default() += rrf(w, Some(rank));
        }
    }
    Some(1 + scores.values().filter(|&&s| s > answer).count())
}

fn ndcg_at_10(rank: Option<usize>) -> f64 {
    match rank {
        Some(r) if r <= 10 => 1.0 / ((r + 1) as f64).log2(),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Language;

    fn placement(lexical: Option<usize>, semantic: Option<usize>) -> Placement {
        // Ten other chunks in each list, some in both.
        Placement {
            lexical_rank: lexical,
            semantic_rank: semantic,
            lexical_others: (100..110).collect(),
            semantic_others: (105..115).collect(),
        }
    }

    /// The answer second in one list and in neither list's top otherwise; the lists'
    /// other chunks are distinct.
    fn second_in(lexical: bool) -> Placement {
        let (l, s) = if lexical {
            (Some(2), None)
        } else {
            (None, Some(2))
        };
        Placement {
            lexical_rank: l,
            semantic_rank: s,
            lexical_others: (100..110).collect(),
            semantic_others: (200..210).collect(),
        }
    }

    #[test]
    fn answers_found_by_one_retriever_pull_the_share_its_way() {
        // BM25 finds every answer, the vectors none: 1 : 1 ranks each third, more BM25
        // second.
        let fit_l = fit(&vec![second_in(true); 30], 60.0, 0.5);
        assert!(fit_l.lexical_share > 0.5, "{fit_l:?}");
        assert!(fit_l.lexical_share <= *CHOSEN_SHARES.end() + 1e-6);
        let fit_s = fit(&vec![second_in(false); 30], 60.0, 0.5);
        assert!(fit_s.lexical_share < 0.5, "{fit_s:?}");
        assert!(fit_s.lexical_share >= *CHOSEN_SHARES.start() - 1e-6);
        // First in both lists: every share ranks it first, and 1 : 1 stays.
        assert_eq!(
            fit(&vec![placement(Some(1), Some(1)); 30], 60.0, 0.5).lexical_share,
            0.5
        );
        // Evidence both ways in equal measure is no evidence: 1 : 1 stays.
        let mixed: Vec<Placement> = (0..30).map(|i| second_in(i % 2 == 0)).collect();
        let fit_m = fit(&mixed, 60.0, 0.5);
        assert_eq!(fit_m.lexical_share, 0.5, "{fit_m:?}");
        // A curve point per share scored.
        assert_eq!(fit_m.curve.len(), SHARES.len());
    }

    #[test]
    fn the_middle_of_the_plateau_is_chosen_when_one_to_one_is_off_it() {
        // 40 pairs; shares 0.1–0.3 tie at the top (each pair scores the same), the rest
        // are clearly worse: the middle, 0.2, not the edge nearest 1 : 1.
        let row = |v: f64| vec![v; 40];
        let mut per_pair: Vec<Vec<f64>> = SHARES
            .iter()
            .map(|&s| {
                if (0.05..0.35).contains(&s) {
                    row(0.8)
                } else {
                    row(0.5)
                }
            })
            .collect();
        assert_eq!(SHARES[choose(&per_pair, 0.5)], 0.2);
        // 1 : 1 as good as the best: it stays.
        per_pair[5] = row(0.8);
        assert_eq!(SHARES[choose(&per_pair, 0.5)], 0.5);
        // A plateau of one share is that share.
        let only: Vec<Vec<f64>> = SHARES
            .iter()
            .map(|&s| row(if (s - 0.7).abs() < 1e-9 { 0.9 } else { 0.4 }))
            .collect();
        assert_eq!(SHARES[choose(&only, 0.5)], 0.7);
        // No pairs, no evidence: 1 : 1.
        assert_eq!(SHARES[choose(&[], 0.5)], 0.5);
        // A static model's prior is 0.7: it stays while it is as good as the best, and
        // gives way only to clearly better shares.
        let mut rising: Vec<Vec<f64>> = SHARES
            .iter()
            .map(|&s| {
                let step = (s * 10.0).round() as usize;
                // A slight rise with the share, lost in noise that differs by share.
                (0..40)
                    .map(|i| 0.5 + s * 0.02 + ((i * 7 + step * 3) % 5) as f64 * 0.1)
                    .collect()
            })
            .collect();
        assert_eq!(SHARES[choose(&rising, 0.5)], 0.5);
        assert_eq!(SHARES[choose(&rising, STATIC_PRIOR_SHARE)], 0.7);
        rising[2] = row(0.95);
        assert_eq!(SHARES[choose(&rising, STATIC_PRIOR_SHARE)], 0.2);
        assert_eq!(SHARES[choose(&[], STATIC_PRIOR_SHARE)], 0.7);
    }

    #[test]
    fn fused_rank_counts_the_others_above_the_answer() {
        let p = placement(Some(3), None);
        // Lexical only: the answer keeps its lexical rank.
        assert_eq!(fused_rank(&p, 2.0, 0.0, 60.0), Some(3));
        // Semantic only: it is in no list that counts, so the ten semantic others are
        // above it (the lexical others, at zero like it, are not).
        assert_eq!(fused_rank(&p, 0.0, 2.0, 60.0), Some(11));
        assert_eq!(fused_rank(&placement(None, None), 1.0, 1.0, 60.0), None);
    }

    #[test]
    fn sampler_keeps_documented_definitions_whatever_the_order() {
        let chunk = |i: u32| Chunk {
            path: format!("src/f{i}.rs"),
            language: Language::Rust,
            kind: crate::chunk::ChunkKind::Function,
            symbol: Some(format!("f{i}")),
            container: None,
            start_byte: 0,
            end_byte: 0,
            start_line: 1,
            end_line: 2,
            text: if i.is_multiple_of(2) {
                format!("/// Reads the whole file number {i} into memory.\nfn f{i}() {{}}")
            } else {
                format!("fn f{i}() {{}}")
            },
        };
        let mut a = PairSampler::new(5, 3);
        let mut b = PairSampler::new(5, 3);
        for i in 0..40 {
            a.offer(i, &chunk(i));
            b.offer(39 - i, &chunk(39 - i));
        }
        let ((pa, oa), (pb, ob)) = (a.into_parts(), b.into_parts());
        assert_eq!(pa.len(), 5);
        assert_eq!(oa.len(), 3);
        let ids = |s: Vec<&Sampled>| s.iter().map(|s| s.chunk_id).collect::<Vec<_>>();
        assert_eq!(
            ids(pa.iter().map(|p| &p.answer).collect()),
            ids(pb.iter().map(|p| &p.answer).collect())
        );
        assert_eq!(ids(oa.iter().collect()), ids(ob.iter().collect()));
        let first = &pa[0].answer;
        assert!(first.chunk_id.is_multiple_of(2));
        assert_eq!(
            pa[0].query,
            format!("Reads the whole file number {} into memory", first.chunk_id)
        );
        // The answer is the code without its doc comment.
        assert_eq!(first.chunk.text, format!("fn f{}() {{}}", first.chunk_id));
        assert!(first.had_doc);
        // Undocumented chunks are only ever others.
        assert!(oa
            .iter()
            .all(|o| !o.chunk_id.is_multiple_of(2) && !o.had_doc));
    }

    #[test]
    fn a_sentence_on_several_definitions_makes_no_pair() {
        let chunk = |i: u32, doc: &str| Chunk {
            path: format!("src/f{i}.cs"),
            language: Language::CSharp,
            kind: crate::chunk::ChunkKind::Method,
            symbol: Some("Query".into()),
            container: None,
            start_byte: 0,
            end_byte: 0,
            start_line: 1,
            end_line: 2,
            text: format!("/// <summary>\n/// {doc}\n/// </summary>\nvoid Query{i}() {{}}"),
        };
        let mut s = PairSampler::new(10, 10);
        // Three overloads share one comment (only one of them need be sampled).
        s.offer(0, &chunk(0, "Execute a query asynchronously using Task."));
        s.offer(1, &chunk(1, "Execute a single-row query using Task."));
        s.offer(2, &chunk(2, "Execute a query asynchronously using Task."));
        let (pairs, _) = s.into_parts();
        let queries: Vec<&str> = pairs.iter().map(|p| p.query.as_str()).collect();
        assert_eq!(queries, ["Execute a single-row query using Task"]);
    }
}
