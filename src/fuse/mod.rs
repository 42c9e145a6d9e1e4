//! Fusion: combine ranked lists from several retrievers into one.
//!
//! Reciprocal rank fusion (Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion
//! outperforms Condorcet and individual Rank Learning Methods", SIGIR 2009): an item's
//! fused score is `Σ weight / (k + rank)` over the lists it appears in. Only ranks are
//! used, so BM25 scores and cosine similarities need no calibration against each other.
//! How much each list weighs is fitted per index ([`calibrate`]).

pub mod calibrate;

/// What a query looks like, which decides how much each retriever is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryKind {
    /// An identifier as written in code: `parseConfig`, `parse_config`, `Foo::bar`,
    /// `Foo.bar`, `__init__`. BM25 with exact-symbol boosts finds its definition; a
    /// general embedding model mostly finds look-alikes.
    Symbol,
    /// Words: `read a file`, `session management`, or a single plain word.
    NaturalLanguage,
}

/// Classify a query. A single token counts as a symbol when it carries a mark of code:
/// an underscore, `::`, `.`, `->`, brackets, a digit after letters, or an upper-case
/// letter past the first in a word with lower-case letters (camelCase, PascalCase). One
/// plain word (`session`) is natural language: it is as likely a topic as a name.
pub fn classify_query(query: &str) -> QueryKind {
    let q = query.trim();
    if q.is_empty() || q.split_whitespace().nth(1).is_some() {
        return QueryKind::NaturalLanguage;
    }
    let code_punct = q.contains('_')
        || q.contains("::")
        || q.contains("->")
        || q.contains(['(', ')', '<', '>', '#', '$'])
        || (q.contains('.') && !q.ends_with('.'));
    // An upper-case letter past the first, in a word that also has lower-case letters:
    // camelCase, PascalCase with two humps, `HTTPServer` (not `README`, not `Session`).
    let has_lower = q.chars().any(char::is_lowercase);
    let inner_upper = has_lower && q.chars().skip(1).any(char::is_uppercase);
    let mut letter_digit = false;
    let mut prev_letter = false;
    for c in q.chars() {
        if c.is_ascii_digit() && prev_letter {
            letter_digit = true;
        }
        prev_letter = c.is_alphabetic();
    }
    if code_punct || inner_upper || letter_digit {
        QueryKind::Symbol
    } else {
        QueryKind::NaturalLanguage
    }
}

/// Parameters of reciprocal rank fusion.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RrfParams {
    /// The `k` constant: larger flattens the difference between top ranks (default 60,
    /// the value of the original paper).
    pub k: f32,
    /// Weight of the lexical (BM25) list.
    pub lexical_weight: f32,
    /// Weight of the semantic (vector) list.
    pub semantic_weight: f32,
    /// Weight of the semantic list for [`QueryKind::Symbol`] queries (replaces
    /// `semantic_weight` for them). Default 0: a symbol lookup is answered in BM25 order
    /// (exact-symbol boosts put the definition first), and vector hits only fill the list
    /// below the lexical ones. A general embedding model ranks look-alike chunks above
    /// the definition (measured on the dev suite: symbol NDCG@10 0.97 at weight 0, 0.95
    /// at 0.1, 0.91 at 0.25, 0.88 at 1).
    pub symbol_semantic_weight: f32,
    /// Weight of file evidence: files scored by all their chunks in each retriever's
    /// deeper list ([`rank_files`], [`add_files`]), each file's best chunk lifted by its
    /// file's evidence (0 = off). Not used for symbol queries.
    pub file_weight: f32,
    /// Candidates per retriever that file evidence is gathered from (0 = the fusion depth).
    pub file_depth: usize,
    /// How the two lists are combined: by rank ([`rrf`]) or by score ([`score_fusion`]).
    pub method: FusionMethod,
    /// For natural-language queries, use the lexical and semantic weights fitted on the
    /// index's own doc comments ([`calibrate`]) instead of `lexical_weight` and
    /// `semantic_weight`, when the index has them (default true; searches of an index
    /// without a fit, or of no index, use the two weights as given).
    pub fitted_weights: bool,
}

/// How a lexical and a semantic list are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FusionMethod {
    /// Reciprocal rank fusion ([`rrf`]): ranks only.
    #[default]
    Rrf,
    /// Standardised scores ([`score_fusion`]): how far each item stands above its list.
    Scores,
}

impl Default for RrfParams {
    fn default() -> Self {
        RrfParams {
            k: 60.0,
            lexical_weight: 1.0,
            semantic_weight: 1.0,
            symbol_semantic_weight: 0.0,
            // Chosen by 2-fold cross-validation over the dev suite's repositories
            // (benches/README.md, "File evidence"): a plateau from 2 to 8.
            file_weight: 4.0,
            file_depth: 200,
            method: FusionMethod::Rrf,
            fitted_weights: true,
        }
    }
}

impl RrfParams {
    /// The parameters for a query of `kind` on an index whose fitted share of the lexical
    /// list is `fitted` ([`calibrate`]): a natural-language query takes the fit's weights
    /// unless [`fitted_weights`](Self::fitted_weights) is off; then as
    /// [`for_query`](Self::for_query).
    pub fn for_query_fitted(&self, kind: QueryKind, fitted: Option<f64>) -> RrfParams {
        let mut params = *self;
        if let (QueryKind::NaturalLanguage, true, Some(share)) = (kind, self.fitted_weights, fitted)
        {
            (params.lexical_weight, params.semantic_weight) = calibrate::share_weights(share);
        }
        params.for_query(kind)
    }

    /// The parameters to use for a query of this kind.
    pub fn for_query(&self, kind: QueryKind) -> RrfParams {
        match kind {
            QueryKind::Symbol => RrfParams {
                semantic_weight: self.symbol_semantic_weight,
                // A lookup of one definition: the file it is in follows from it.
                file_weight: 0.0,
                ..*self
            },
            QueryKind::NaturalLanguage => *self,
        }
    }
}

/// Fuse a lexical and a semantic list by score: each list's scores are standardised
/// (minus the list's mean, over its standard deviation) and measured from the list's
/// lowest, so an item missing from a list gets 0 from it, and the fused score is
/// `Σ weight · (z − z_min)`. Measuring from the lowest keeps every fused score ≥ 0: the
/// re-ranker's boosts multiply scores, and a boosted negative score would sink.
/// Unlike [`rrf`], a list whose top stands far above the rest outweighs one whose scores
/// are flat, and a weak retriever can be given little say without its ranks still
/// counting in full ("dist-based" fusion; Kamalloo et al. and others compare it with RRF).
/// `lexical` and `semantic` are `(chunk id, score)`, best first.
pub fn score_fusion(
    lexical: &[(u32, f32)],
    semantic: &[(u32, f32)],
    params: &RrfParams,
) -> Vec<Fused> {
    let mut items: Vec<Fused> = Vec::with_capacity(lexical.len() + semantic.len());
    let mut index = std::collections::HashMap::with_capacity(items.capacity());
    for (li, list) in [lexical, semantic].into_iter().enumerate() {
        let weight = if li == 0 {
            params.lexical_weight
        } else {
            params.semantic_weight
        };
        let n = list.len() as f64;
        if n == 0.0 {
            continue;
        }
        let mean = list.iter().map(|&(_, s)| f64::from(s)).sum::<f64>() / n;
        let var = list
            .iter()
            .map(|&(_, s)| (f64::from(s) - mean).powi(2))
            .sum::<f64>()
            / n;
        let sd = if var.sqrt() > 1e-12 { var.sqrt() } else { 1.0 };
        let lowest = list
            .iter()
            .map(|&(_, s)| f64::from(s))
            .fold(f64::INFINITY, f64::min);
        // z − z_min = (score − lowest) / sd.
        let above = |s: f32| ((f64::from(s) - lowest) / sd) as f32;
        for (i, &(id, score)) in list.iter().enumerate() {
            let item = fused_item(&mut items, &mut index, id);
            let seen = if li == 0 {
                &mut item.lexical_rank
            } else {
                &mut item.semantic_rank
            };
            if seen.is_none() {
                *seen = Some(i + 1);
                let v = weight * above(score);
                item.score += if v.is_finite() { v } else { 0.0 };
            }
        }
    }
    sort_fused(&mut items);
    items
}

/// One fused item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fused {
    /// Chunk id.
    pub chunk_id: u32,
    /// Fused score.
    pub score: f32,
    /// 1-based rank in the lexical list, if present.
    pub lexical_rank: Option<usize>,
    /// 1-based rank in the semantic list, if present.
    pub semantic_rank: Option<usize>,
}

/// Fuse a lexical and a semantic list (chunk ids, best first). Ties are broken by the
/// better single rank, then by chunk id, so the output is deterministic.
pub fn rrf(lexical: &[u32], semantic: &[u32], params: &RrfParams) -> Vec<Fused> {
    let mut items: Vec<Fused> = Vec::with_capacity(lexical.len() + semantic.len());
    let mut index = std::collections::HashMap::with_capacity(items.capacity());
    for (list, is_lexical) in [(lexical, true), (semantic, false)] {
        let weight = if is_lexical {
            params.lexical_weight
        } else {
            params.semantic_weight
        };
        for (i, &id) in list.iter().enumerate() {
            let rank = i + 1;
            let item = fused_item(&mut items, &mut index, id);
            // A list should not name an id twice; if it does, its first (best) rank counts.
            let seen = if is_lexical {
                &mut item.lexical_rank
            } else {
                &mut item.semantic_rank
            };
            if seen.is_none() {
                *seen = Some(rank);
                item.score += weight / (params.k + rank as f32);
            }
        }
    }
    sort_fused(&mut items);
    items
}

/// The item of `id` in `items` (added, unscored, on first sight); `index` maps ids to
/// positions.
fn fused_item<'a>(
    items: &'a mut Vec<Fused>,
    index: &mut std::collections::HashMap<u32, usize>,
    id: u32,
) -> &'a mut Fused {
    let slot = *index.entry(id).or_insert_with(|| {
        items.push(Fused {
            chunk_id: id,
            score: 0.0,
            lexical_rank: None,
            semantic_rank: None,
        });
        items.len() - 1
    });
    &mut items[slot]
}

/// Best first; ties by the better single rank, then by chunk id (deterministic).
fn sort_fused(items: &mut [Fused]) {
    let best_rank = |f: &Fused| {
        f.lexical_rank
            .unwrap_or(usize::MAX)
            .min(f.semantic_rank.unwrap_or(usize::MAX))
    };
    items.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(best_rank(a).cmp(&best_rank(b)))
            .then(a.chunk_id.cmp(&b.chunk_id))
    });
}

/// How much each further chunk of a file adds to its file's evidence (the best counts
/// fully, the second half, the third a quarter …): several matching chunks make a file
/// more likely what the query is about, without a file of a hundred weak matches
/// outweighing one of a few strong ones.
pub const FILE_EVIDENCE_DECAY: f32 = 0.5;

/// One file's evidence in one retriever's list.
#[derive(Debug, Clone, PartialEq)]
pub struct FileEvidence<K> {
    /// The file.
    pub file: K,
    /// Its best chunk in the list.
    pub best: u32,
    /// `Σ FILE_EVIDENCE_DECAY^i · score_i` over its chunks in the list, in score order.
    pub score: f32,
}

/// Files ranked by one retriever's list (`(chunk id, score)`, best first), best first;
/// `file_of` maps a chunk to its file. Scores must be non-negative (BM25, or cosine
/// clamped at 0).
pub fn rank_files<K: Clone + Eq + std::hash::Hash + Ord>(
    list: &[(u32, f32)],
    file_of: impl Fn(u32) -> K,
) -> Vec<FileEvidence<K>> {
    let mut files: std::collections::HashMap<K, (u32, f32, f32)> = Default::default();
    for &(id, score) in list {
        let entry = files.entry(file_of(id)).or_insert((id, 0.0, 1.0));
        entry.1 += entry.2 * score.max(0.0);
        entry.2 *= FILE_EVIDENCE_DECAY;
    }
    let mut out: Vec<FileEvidence<K>> = files
        .into_iter()
        .map(|(file, (best, score, _))| FileEvidence { file, best, score })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.file.cmp(&b.file))
    });
    out
}

/// Add file evidence to fused results. Each list of `lists` (from [`rank_files`] on one
/// retriever, with that retriever's fusion weight) gives every file its evidence relative
/// to the list's best file (1 for the best); a file's evidence `E` is the weighted mean
/// over the lists, in [0, 1]. Its representative chunk then gains `file_weight / 2 · E ·
/// scale`, where `scale` is what a chunk ranked first by every retriever scores (`2 / (k +
/// 1)` for RRF): so `file_weight` 2 makes the best file's evidence worth as much as a
/// chunk's best fused score. The representative is the file's best chunk in `fused` when
/// it has one there, else its best chunk in the first list that has the file (added to
/// `fused`). `fused` is re-sorted.
///
/// Evidence is by score, not rank: a file that matches far better than the rest lifts its
/// chunk far, files that barely match lift theirs little (rank-based file fusion measured
/// worse: it lifts every file in the list almost equally, crowding out second chunks of
/// the right file).
pub fn add_files<K: Clone + Eq + std::hash::Hash + Ord>(
    fused: &mut Vec<Fused>,
    lists: &[(&[FileEvidence<K>], f32)],
    file_of: impl Fn(u32) -> K,
    file_weight: f32,
    scale: f32,
) {
    if file_weight <= 0.0 {
        return;
    }
    // Lists with nothing in them (a retriever the mode does not run) do not count.
    let total_weight: f32 = lists
        .iter()
        .filter(|(l, _)| l.first().is_some_and(|f| f.score > 0.0))
        .map(|(_, w)| w.max(0.0))
        .sum();
    if total_weight <= 0.0 {
        return;
    }
    let mut files: std::collections::HashMap<K, (f32, u32)> = Default::default();
    for (list, weight) in lists {
        let Some(top) = list.first().map(|f| f.score).filter(|t| *t > 0.0) else {
            continue;
        };
        for f in list.iter() {
            let e = files.entry(f.file.clone()).or_insert((0.0, f.best));
            e.0 += weight.max(0.0) * f.score / top / total_weight;
        }
    }
    // Each file's best chunk already fused (fused is best first).
    let mut first: std::collections::HashMap<K, usize> = Default::default();
    for (i, f) in fused.iter().enumerate() {
        first.entry(file_of(f.chunk_id)).or_insert(i);
    }
    let mut added: Vec<(K, f32, u32)> = files.into_iter().map(|(k, (e, b))| (k, e, b)).collect();
    // Files not fused yet join in a fixed order, so results do not depend on hashing.
    added.sort_by(|a, b| a.0.cmp(&b.0));
    for (file, evidence, best) in added {
        let bonus = file_weight / 2.0 * evidence * scale;
        match first.get(&file) {
            Some(&i) => fused[i].score += bonus,
            None => fused.push(Fused {
                chunk_id: best,
                score: bonus,
                lexical_rank: None,
                semantic_rank: None,
            }),
        }
    }
    fused.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.chunk_id.cmp(&b.chunk_id))
    });
}

/// Which lists a search ran, and so how [`fuse_lists`] combines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lists {
    /// Both retrievers: fused by [`RrfParams::method`].
    Hybrid,
    /// The lexical list alone, in its own scores.
    Lexical,
    /// The semantic list alone, in its own scores.
    Semantic,
}

/// The candidates of one query from its retrievers' lists (`(chunk id, score)`, best
/// first, each as deep as the file evidence needs): the best `depth` of each list fused
/// as `lists` says, then file evidence ([`rank_files`], [`add_files`]) from the whole
/// lists when `params.file_weight > 0`; `file_of` maps a chunk to its file. The local
/// index and the Milvus backend both rank through this, so the two agree.
pub fn fuse_lists<K: Clone + Eq + std::hash::Hash + Ord>(
    lexical: &[(u32, f32)],
    semantic: &[(u32, f32)],
    lists: Lists,
    depth: usize,
    params: &RrfParams,
    file_of: impl Fn(u32) -> K,
) -> Vec<Fused> {
    let top = |l: &[(u32, f32)]| l.len().min(depth);
    let (lex, sem) = (&lexical[..top(lexical)], &semantic[..top(semantic)]);
    let ids = |l: &[(u32, f32)]| l.iter().map(|p| p.0).collect::<Vec<u32>>();
    let mut fused = match lists {
        Lists::Hybrid if params.method == FusionMethod::Scores => score_fusion(lex, sem, params),
        Lists::Hybrid => rrf(&ids(lex), &ids(sem), params),
        Lists::Semantic => single_list(sem, false),
        Lists::Lexical => single_list(lex, true),
    };
    if params.file_weight > 0.0 {
        // What a chunk first in every list scores: file evidence is measured in it.
        let scale = match lists {
            Lists::Hybrid if params.method == FusionMethod::Rrf => {
                (params.lexical_weight + params.semantic_weight) / (params.k + 1.0)
            }
            // Scores (never negative) and single lists: the first item's score.
            _ => fused.first().map_or(0.0, |f| f.score.max(0.0)),
        };
        let ranked = [
            (rank_files(lexical, &file_of), params.lexical_weight),
            (rank_files(semantic, &file_of), params.semantic_weight),
        ];
        let refs: Vec<(&[FileEvidence<K>], f32)> =
            ranked.iter().map(|(l, w)| (l.as_slice(), *w)).collect();
        add_files(&mut fused, &refs, &file_of, params.file_weight, scale);
    }
    fused
}

/// One retriever's list as results: its own scores, its ranks.
fn single_list(list: &[(u32, f32)], lexical: bool) -> Vec<Fused> {
    list.iter()
        .enumerate()
        .map(|(i, &(chunk_id, score))| Fused {
            chunk_id,
            score,
            lexical_rank: lexical.then_some(i + 1),
            semantic_rank: (!lexical).then_some(i + 1),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuse_lists_fuses_the_top_and_gathers_files_from_the_whole_lists() {
        let lexical = [(1, 3.0), (2, 2.0)];
        let semantic = [(2, 0.9), (3, 0.5)];
        let file_of = |id: u32| if id == 3 { "b" } else { "a" };
        let no_files = RrfParams {
            file_weight: 0.0,
            ..RrfParams::default()
        };
        // Hybrid without file evidence is plain RRF of the lists' tops.
        let fused = fuse_lists(&lexical, &semantic, Lists::Hybrid, 10, &no_files, file_of);
        assert_eq!(fused, rrf(&[1, 2], &[2, 3], &no_files));
        // One list alone keeps its scores and ranks; depth cuts it.
        let fused = fuse_lists(&lexical, &semantic, Lists::Lexical, 1, &no_files, file_of);
        assert_eq!(
            fused,
            [Fused {
                chunk_id: 1,
                score: 3.0,
                lexical_rank: Some(1),
                semantic_rank: None
            }]
        );
        // File evidence reads the whole lists: file b's only chunk (3, below the depth of
        // 1) joins the candidates.
        let fused = fuse_lists(
            &lexical,
            &semantic,
            Lists::Hybrid,
            1,
            &RrfParams::default(),
            file_of,
        );
        let ids: Vec<u32> = fused.iter().map(|f| f.chunk_id).collect();
        assert_eq!(ids.len(), 3, "{fused:?}");
        assert!(ids.contains(&3), "{fused:?}");
    }

    #[test]
    fn hand_computed_score_fusion() {
        // Lexical scores 3, 2, 1: mean 2, sd sqrt(2/3); semantic 0.9, 0.5: mean 0.7, sd 0.2.
        let lexical = [(1, 3.0), (2, 2.0), (3, 1.0)];
        let semantic = [(3, 0.9), (4, 0.5)];
        let p = RrfParams {
            lexical_weight: 1.0,
            semantic_weight: 2.0,
            method: FusionMethod::Scores,
            ..RrfParams::default()
        };
        let out = score_fusion(&lexical, &semantic, &p);
        let sd = (2.0f32 / 3.0).sqrt();
        let z = |id: u32| out.iter().find(|f| f.chunk_id == id).map(|f| f.score);
        // Each list's z measured from its lowest (lexical −1/sd, semantic −1); missing
        // from a list = 0 from it.
        let close = |a: Option<f32>, b: f32| a.is_some_and(|a| (a - b).abs() < 1e-4);
        // Each is (lexical z + 1/sd) + 2 × (semantic z + 1).
        assert!(close(z(1), 2.0 / sd));
        assert!(close(z(2), 1.0 / sd));
        assert!(close(z(3), 4.0));
        assert!(close(z(4), 0.0));
        assert!(out.iter().all(|f| f.score >= 0.0));
        assert_eq!(
            out.iter().map(|f| f.chunk_id).collect::<Vec<_>>(),
            vec![3, 1, 2, 4]
        );
        assert_eq!(
            (out[0].lexical_rank, out[0].semantic_rank),
            (Some(3), Some(1))
        );
        // A flat list (all scores equal) contributes nothing but its order of presence.
        let flat = score_fusion(&[(7, 1.0), (8, 1.0)], &[], &p);
        assert!(flat.iter().all(|f| f.score == 0.0 && f.score.is_finite()));
        assert!(score_fusion(&[], &[], &p).is_empty());
    }

    #[test]
    fn hand_computed_rrf() {
        let p = RrfParams::default();
        // 7: lexical 1 + semantic 3 = 1/61 + 1/63; 9: lexical 2 = 1/62; 5: semantic 1 = 1/61;
        // 8: semantic 2 = 1/62.
        let out = rrf(&[7, 9], &[5, 8, 7], &p);
        let ids: Vec<u32> = out.iter().map(|f| f.chunk_id).collect();
        assert_eq!(ids, vec![7, 5, 8, 9]);
        assert!((out[0].score - (1.0 / 61.0 + 1.0 / 63.0)).abs() < 1e-7);
        assert_eq!(out[0].lexical_rank, Some(1));
        assert_eq!(out[0].semantic_rank, Some(3));
        // 8 and 9 tie at 1/62: the better single rank is equal (2), so chunk id decides.
        assert_eq!(out[2].score, out[3].score);
    }

    #[test]
    fn weights_shift_the_order() {
        let p = RrfParams {
            semantic_weight: 0.5,
            ..RrfParams::default()
        };
        let out = rrf(&[1], &[2], &p);
        assert_eq!(out[0].chunk_id, 1);
        let p = RrfParams {
            lexical_weight: 0.5,
            ..RrfParams::default()
        };
        assert_eq!(rrf(&[1], &[2], &p)[0].chunk_id, 2);
    }

    #[test]
    fn query_kinds() {
        for q in [
            "parseConfig",
            "parse_config",
            "Foo::bar",
            "Foo.bar",
            "HTTPServer",
            "__init__",
            "utf8",
            "JoinSet::spawn_local",
        ] {
            assert_eq!(classify_query(q), QueryKind::Symbol, "{q}");
        }
        for q in [
            "read a file",
            "session",
            "Session",
            "where is parseConfig called",
            "",
            "retries.",
        ] {
            assert_eq!(classify_query(q), QueryKind::NaturalLanguage, "{q}");
        }
    }

    #[test]
    fn duplicates_and_empty_lists() {
        let p = RrfParams::default();
        assert!(rrf(&[], &[], &p).is_empty());
        let out = rrf(&[3, 3], &[], &p);
        assert_eq!(out.len(), 1);
        assert!((out[0].score - 1.0 / 61.0).abs() < 1e-7);
    }

    #[test]
    fn file_evidence_adds_decaying_chunk_scores() {
        // File a: 4.0 + 0.5·2.0 = 5.0; file b: 4.5 alone.
        let files = rank_files(&[(1, 4.5), (2, 4.0), (3, 2.0)], |id| {
            if id == 1 {
                "b"
            } else {
                "a"
            }
        });
        let got: Vec<(&str, u32, f32)> = files.iter().map(|f| (f.file, f.best, f.score)).collect();
        assert_eq!(got, vec![("a", 2, 5.0), ("b", 1, 4.5)]);
        // A hundred weak matches do not outweigh one strong one: Σ 0.5^i · 1 < 2.
        let mut weak: Vec<(u32, f32)> = (10..110).map(|id| (id, 1.0)).collect();
        weak.insert(0, (1, 2.5));
        let files = rank_files(&weak, |id| if id == 1 { "strong" } else { "weak" });
        assert_eq!(files[0].file, "strong");
    }

    #[test]
    fn file_evidence_lifts_the_best_chunk_of_the_best_file() {
        // Fused: chunk 1 (file x) first, chunks 2 and 3 of file y next, 4 (file z) last.
        let fused = |scores: [f32; 4]| -> Vec<Fused> {
            [1, 2, 3, 4]
                .iter()
                .zip(scores)
                .map(|(&chunk_id, score)| Fused {
                    chunk_id,
                    score,
                    lexical_rank: None,
                    semantic_rank: None,
                })
                .collect()
        };
        let file_of = |id: u32| match id {
            1 => "x",
            2 | 3 => "y",
            _ => "z",
        };
        // y has all the evidence, x a little, z none.
        let ev = |file, best, score| FileEvidence { file, best, score };
        let list = [ev("y", 2, 10.0), ev("x", 1, 1.0)];
        let mut f = fused([0.05, 0.04, 0.03, 0.01]);
        add_files(&mut f, &[(&list, 1.0)], file_of, 2.0, 0.05);
        let order: Vec<u32> = f.iter().map(|f| f.chunk_id).collect();
        // y's best chunk gains 0.05 (its file is the best: E = 1), x's 0.005; chunk 3,
        // y's second, gains nothing: one lift per file.
        assert_eq!(order, vec![2, 1, 3, 4]);
        assert!((f[0].score - 0.09).abs() < 1e-6);
        assert!((f[1].score - 0.055).abs() < 1e-6);
        // Off: nothing moves. A file with evidence but no fused chunk joins with its best.
        let mut f = fused([0.05, 0.04, 0.03, 0.01]);
        add_files(&mut f, &[(&list, 1.0)], file_of, 0.0, 0.05);
        assert_eq!(
            f.iter().map(|f| f.chunk_id).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
        let mut f = fused([0.05, 0.04, 0.03, 0.01]);
        let list = [ev("w", 9, 3.0)];
        add_files(&mut f, &[(&list, 1.0), (&[][..], 1.0)], file_of, 2.0, 0.1);
        assert_eq!(
            f[0].chunk_id, 9,
            "an empty list does not dilute the evidence"
        );
    }
}
