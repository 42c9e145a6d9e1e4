//! Queries through Milvus: the retrievers' searches on the server, cseek's fusion and
//! re-ranking on the client.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Instant;

use serde::Serialize;

use super::client::{Client, Row, SubSearch};
use super::schema::{self, FIELD_REPO, FIELD_SYMBOL, OUTPUT_FIELDS};
use super::{MilvusError, MilvusUrl};
use crate::chunk::ChunkKind;
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::fuse::{classify_query, fuse_lists, Lists, QueryKind, RrfParams};
use crate::lang::Language;
use crate::lexical::PATH_BOOST;
use crate::rank::{rerank, Candidate};
use crate::search::{
    embed_query, Mode, QueryTimings, Ranks, RequestFilter, SearchHit, SearchOptions, SearchRequest,
    SearchResults, MAX_TOP_K,
};
use crate::store::EmbeddingMeta;

/// Candidates asked of Milvus when [`SearchOptions::depth`] is 0 (as the local search).
const DEFAULT_DEPTH: usize = 100;

/// A hit and the repository it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepoHit {
    /// Repository name in the collection.
    pub repo: String,
    /// The hit (its path is relative to the repository's root; `chunk_id` is 0).
    #[serde(flatten)]
    pub hit: SearchHit,
}

/// The answer of the collection to one query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MilvusResults {
    /// The mode that ran.
    pub mode: Mode,
    /// Results, best first.
    pub hits: Vec<RepoHit>,
    /// Things the user should know.
    pub notes: Vec<String>,
    /// Time per stage (`vector_ms`: the server's search, both retrievers).
    pub timings: QueryTimings,
}

impl MilvusResults {
    /// As the local search's results (the repository of each hit dropped).
    pub fn into_search_results(self) -> SearchResults {
        SearchResults {
            mode: self.mode,
            hits: self.hits.into_iter().map(|h| h.hit).collect(),
            notes: self.notes,
            timings: self.timings,
        }
    }
}

/// A collection, ready for queries: the connection, the embedding model recorded in the
/// collection (loaded on the first query that needs it) and the ranking options.
pub struct MilvusSearcher {
    client: Client,
    url: MilvusUrl,
    dims: usize,
    embedding: EmbeddingMeta,
    options: SearchOptions,
    embedder: OnceLock<std::result::Result<Embedder, String>>,
    /// Fitted shares of the lexical list, by repository (see `fuse::calibrate`).
    shares: std::collections::BTreeMap<String, f64>,
}

impl MilvusSearcher {
    /// Connect and check the collection (it must exist and have cseek's schema).
    pub fn open(url: &MilvusUrl, options: SearchOptions) -> Result<MilvusSearcher> {
        let client = Client::connect(url)?;
        let info = client
            .describe(&url.collection)?
            .ok_or_else(|| MilvusError::NoCollection {
                collection: url.collection.clone(),
                addr: url.addr.clone(),
                url: url.to_string(),
            })?;
        let dims = schema::check(&url.collection, &info)?;
        let embedding: EmbeddingMeta = info
            .properties
            .get(schema::PROP_EMBEDDING)
            .and_then(|j| serde_json::from_str(j).ok())
            .ok_or_else(|| MilvusError::SchemaMismatch {
                collection: url.collection.clone(),
                detail: format!("no readable `{}` property", schema::PROP_EMBEDDING),
            })?;
        if embedding.dims != dims {
            return Err(MilvusError::DimensionMismatch {
                collection: url.collection.clone(),
                found: dims,
                expected: embedding.dims,
                what: format!("its recorded model `{}`", embedding.model),
            }
            .into());
        }
        client.load(&url.collection)?;
        let shares = schema::fusion_shares(&info.properties);
        Ok(MilvusSearcher {
            shares,
            client,
            url: url.clone(),
            dims,
            embedding,
            options,
            embedder: OnceLock::new(),
        })
    }

    /// The backend's URL.
    pub fn url(&self) -> &MilvusUrl {
        &self.url
    }

    /// The embedding model the collection's vectors come from.
    pub fn embedding(&self) -> &EmbeddingMeta {
        &self.embedding
    }

    /// Change the ranking options for the following queries.
    pub fn set_options(&mut self, options: SearchOptions) {
        self.options = options;
    }

    /// Chunks in the collection (of these repositories; all when empty).
    pub fn count(&self, repos: &[String]) -> Result<u64> {
        let filter = if repos.is_empty() {
            String::new()
        } else {
            schema::in_list(FIELD_REPO, repos)
        };
        Ok(self.client.count(&self.url.collection, &filter)?)
    }

    fn embedder(&self, timings: &mut QueryTimings) -> std::result::Result<&Embedder, String> {
        let t = Instant::now();
        let loaded = self.embedder.get_or_init(|| {
            let meta = &self.embedding;
            let spec = self
                .options
                .model
                .clone()
                .unwrap_or_else(|| meta.model.clone());
            let mut opts = self.options.embed.clone();
            if opts.matryoshka_dim.is_none() {
                opts.matryoshka_dim = meta.matryoshka_dim;
            }
            if opts.remote.endpoint.is_none() && self.options.model.is_none() {
                opts.remote.endpoint = meta.endpoint.clone();
            }
            let e = Embedder::load(&spec, &opts).map_err(|e| e.to_string())?;
            if e.dims() != self.dims {
                return Err(MilvusError::DimensionMismatch {
                    collection: self.url.collection.clone(),
                    found: self.dims,
                    expected: e.dims(),
                    what: format!("model `{spec}`"),
                }
                .to_string());
            }
            Ok(e)
        });
        timings.model_load_ms += t.elapsed().as_secs_f64() * 1e3;
        loaded.as_ref().map_err(Clone::clone)
    }

    /// The fusion parameters a query of `kind` over `repos` (all when empty) runs with:
    /// the options', with the mean of the searched repositories' fitted shares for
    /// natural-language queries (as a local search uses its index's fit).
    pub fn fusion_for(&self, kind: QueryKind, repos: &[String]) -> RrfParams {
        let shares: Vec<f64> = if repos.is_empty() {
            self.shares.values().copied().collect()
        } else {
            repos
                .iter()
                .filter_map(|r| self.shares.get(r).copied())
                .collect()
        };
        let mean = (!shares.is_empty()).then(|| shares.iter().sum::<f64>() / shares.len() as f64);
        self.options.fusion.for_query_fitted(kind, mean)
    }

    /// Run a query over these repositories (all of the collection's when empty): the
    /// dense, body-BM25 and path-BM25 searches on the server with the filters, then
    /// cseek's fusion, file evidence and re-ranking of their lists.
    pub fn search(&self, req: &SearchRequest, repos: &[String]) -> Result<MilvusResults> {
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
        let filter = RequestFilter::new(req)?;
        let mut timings = QueryTimings::default();
        let mut notes = Vec::new();
        let mut mode = match req.mode {
            Mode::Auto => Mode::Hybrid,
            m => m,
        };
        let query_vector = embed_query(req, &mut mode, &mut timings, &mut notes, |t| {
            self.embedder(t)
        })?;
        if req.top_k == 0 {
            return Ok(MilvusResults {
                mode,
                hits: Vec::new(),
                notes,
                timings,
            });
        }
        let depth = if self.options.depth == 0 {
            DEFAULT_DEPTH
        } else {
            self.options.depth
        }
        .max(req.top_k);
        let scope = if repos.is_empty() {
            String::new()
        } else {
            schema::in_list(FIELD_REPO, repos)
        };
        let expr = schema::all_of(&[
            scope.clone(),
            schema::language_filter(&req.languages),
            req.path_glob
                .as_deref()
                .map(schema::path_prefix_filter)
                .unwrap_or_default(),
        ]);

        let t = Instant::now();
        let mut kind = classify_query(&req.query);
        // A one-word query naming a definition is a symbol lookup (as the local search).
        let word = req.query.trim();
        if kind == QueryKind::NaturalLanguage && word.split_whitespace().nth(1).is_none() {
            let is_symbol = schema::all_of(&[scope, schema::in_list(FIELD_SYMBOL, &[word])]);
            if !self
                .client
                .query(&self.url.collection, &is_symbol, &[FIELD_SYMBOL], 1)?
                .is_empty()
            {
                kind = QueryKind::Symbol;
            }
        }
        let text = schema::query_tokens(&req.query);
        let fusion = self.fusion_for(kind, repos);
        // The lists the local search fuses, as deep: the dense one, and the lexical one
        // from the body and path BM25 fields (summed here as the local index sums them).
        let files_on = fusion.file_weight > 0.0;
        let pool = if files_on {
            depth.max(fusion.file_depth)
        } else {
            depth
        };
        let lexical_on = mode != Mode::Semantic && !text.is_empty();
        let mut searches = Vec::new();
        if let Some(v) = &query_vector {
            searches.push((SubSearch::Dense(v.clone()), pool as i64));
        }
        if lexical_on {
            searches.push((SubSearch::Text(text.clone()), pool as i64));
            searches.push((SubSearch::Path(text), pool as i64));
        }
        if searches.is_empty() {
            return Ok(MilvusResults {
                mode,
                hits: Vec::new(),
                notes,
                timings,
            });
        }
        let mut found = self
            .client
            .search_all(&self.url.collection, searches, &expr, OUTPUT_FIELDS)?
            .into_iter();
        let dense_rows = match query_vector {
            Some(_) => found.next().unwrap_or_default(),
            None => Vec::new(),
        };
        let body_rows = found.next().unwrap_or_default();
        let path_rows = found.next().unwrap_or_default();
        timings.vector_ms = t.elapsed().as_secs_f64() * 1e3;

        let t = Instant::now();
        // Rows by primary key, numbered for cseek's fusion functions.
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut hits: Vec<RepoHit> = Vec::new();
        let mut numbered = |rows: &[(Row, f32)]| -> Vec<(u32, f32)> {
            let mut out = Vec::with_capacity(rows.len());
            for (row, score) in rows {
                let Some(key) = row.get(schema::FIELD_ID).and_then(|v| v.as_str()) else {
                    continue;
                };
                if let Some(&id) = ids.get(key) {
                    out.push((id, *score));
                    continue;
                }
                let hit = hit_of(row, 0.0);
                if !filter.admits(&hit.hit.path, hit.hit.language) {
                    continue;
                }
                let id = hits.len() as u32;
                hits.push(hit);
                ids.insert(key.to_string(), id);
                out.push((id, *score));
            }
            out
        };
        let semantic = numbered(&dense_rows);
        let body = numbered(&body_rows);
        let path = numbered(&path_rows);
        let order = |a: u32, b: u32| {
            let key = |id: u32| {
                hits.get(id as usize)
                    .map(|h| (h.repo.as_str(), h.hit.path.as_str(), h.hit.start_line))
            };
            key(a).cmp(&key(b))
        };
        let lexical = sum_fields(&body, &path, PATH_BOOST, pool, order);
        let lists = match mode {
            Mode::Hybrid => Lists::Hybrid,
            Mode::Semantic => Lists::Semantic,
            _ => Lists::Lexical,
        };
        let fused = fuse_lists(&lexical, &semantic, lists, depth, &fusion, |id: u32| {
            hits.get(id as usize)
                .map(|h| (h.repo.clone(), h.hit.path.clone()))
                .unwrap_or_default()
        });
        for f in &fused {
            if let Some(h) = hits.get_mut(f.chunk_id as usize) {
                h.hit.score = f.score;
            }
        }
        // Candidates in fused order.
        let mut slots: Vec<Option<RepoHit>> = hits.into_iter().map(Some).collect();
        let hits: Vec<RepoHit> = fused
            .iter()
            .filter_map(|f| slots.get_mut(f.chunk_id as usize).and_then(Option::take))
            .collect();
        let many_repos = hits.iter().any(|h| h.repo != hits[0].repo);
        let keys: Vec<String> = hits
            .iter()
            .map(|h| {
                if many_repos {
                    format!("{}/{}", h.repo, h.hit.path)
                } else {
                    h.hit.path.clone()
                }
            })
            .collect();
        let candidates: Vec<Candidate<'_>> = hits
            .iter()
            .zip(&keys)
            .enumerate()
            .map(|(index, (h, key))| Candidate {
                index,
                score: h.hit.score,
                path: key,
                symbol: h.hit.symbol.as_deref(),
                container: h.hit.container.as_deref(),
                text: &h.hit.text,
            })
            .collect();
        let ranked = rerank(&req.query, kind, candidates, &self.options.ranking);
        let order: Vec<(usize, f32)> = ranked.iter().map(|c| (c.index, c.score)).collect();
        let mut slots: Vec<Option<RepoHit>> = hits.into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(req.top_k.min(order.len()));
        for (index, score) in order.into_iter().take(req.top_k) {
            if let Some(mut h) = slots.get_mut(index).and_then(Option::take) {
                h.hit.score = score;
                out.push(h);
            }
        }
        timings.fuse_ms = t.elapsed().as_secs_f64() * 1e3;
        Ok(MilvusResults {
            mode,
            hits: out,
            notes,
            timings,
        })
    }
}

/// One lexical list from the body and path BM25 lists (`(id, score)`): each item scores
/// `body + path_boost · path` (0 where a list lacks it, as a field that does not match
/// adds nothing locally), best first, ties in `order`, at most `limit`.
fn sum_fields(
    body: &[(u32, f32)],
    path: &[(u32, f32)],
    path_boost: f32,
    limit: usize,
    order: impl Fn(u32, u32) -> std::cmp::Ordering,
) -> Vec<(u32, f32)> {
    let mut sum: HashMap<u32, f32> = HashMap::new();
    for &(id, score) in body {
        *sum.entry(id).or_default() += score;
    }
    for &(id, score) in path {
        *sum.entry(id).or_default() += path_boost * score;
    }
    let mut out: Vec<(u32, f32)> = sum.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| order(a.0, b.0)));
    out.truncate(limit);
    out
}

/// A result row as a hit.
fn hit_of(row: &Row, score: f32) -> RepoHit {
    let s = |name: &str| {
        row.get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let n = |name: &str| {
        row.get(name)
            .and_then(|v| v.as_i64())
            .unwrap_or_default()
            .clamp(0, u32::MAX as i64) as u32
    };
    let opt = |name: &str| Some(s(name)).filter(|v| !v.is_empty());
    let kind_name = s(schema::FIELD_KIND);
    RepoHit {
        repo: s(FIELD_REPO),
        hit: SearchHit {
            path: s(schema::FIELD_PATH),
            start_line: n(schema::FIELD_START),
            end_line: n(schema::FIELD_END),
            score,
            language: Language::from_name(&s(schema::FIELD_LANGUAGE)).unwrap_or(Language::Text),
            kind: ChunkKind::ALL
                .into_iter()
                .find(|k| k.name() == kind_name)
                .unwrap_or(ChunkKind::Window),
            symbol: opt(FIELD_SYMBOL),
            container: opt(schema::FIELD_CONTAINER),
            text: s(schema::FIELD_TEXT),
            ranks: Ranks::default(),
            chunk_id: 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_and_path_lists_sum_as_fields_do() {
        let body = [(1, 4.0), (2, 3.0), (3, 1.0)];
        let path = [(3, 5.0), (4, 1.0)];
        // Ties (2 and 3 at 3.0) in the caller's order: the lower id here.
        let out = sum_fields(&body, &path, 0.4, 10, |a, b| a.cmp(&b));
        assert_eq!(out, [(1, 4.0), (2, 3.0), (3, 3.0), (4, 0.4)]);
        let out = sum_fields(&body, &path, 0.4, 2, |a, b| b.cmp(&a));
        assert_eq!(out, [(1, 4.0), (3, 3.0)]);
    }
}
