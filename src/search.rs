//! Searching: open an index once, answer many queries.
//!
//! A [`Searcher`] holds the memory-mapped store and the lexical index. A query is
//! checked, its filters (`--lang`, `--path`) are turned into the set of files allowed,
//! the retrievers run with the filter applied inside them, and hits are resolved to
//! chunks read from the store.

use std::path::Path;

use globset::{Glob, GlobMatcher};
use serde::Serialize;

use crate::chunk::ChunkKind;
use crate::error::{Error, Result};
use crate::lang::Language;
use crate::lexical::LexicalIndex;
use crate::store::{Store, LEXICAL_DIR};

/// Which retrievers a query uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// BM25 over chunk text, symbols and paths.
    #[default]
    Lexical,
    /// Dense vectors only (needs an index built with an embedding model).
    Semantic,
    /// Both, fused.
    Hybrid,
}

impl Mode {
    /// Parse `lexical`, `semantic` or `hybrid`.
    pub fn from_name(s: &str) -> Option<Mode> {
        match s {
            "lexical" => Some(Mode::Lexical),
            "semantic" => Some(Mode::Semantic),
            "hybrid" => Some(Mode::Hybrid),
            _ => None,
        }
    }

    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
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
    /// How many results to return.
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

/// An open index, ready for queries. Cheap to open (files are memory-mapped); keep one
/// around to answer many queries.
pub struct Searcher {
    store: Store,
    lexical: LexicalIndex,
}

impl Searcher {
    /// Open the index in `index_dir` (the `.cseek` directory).
    pub fn open(index_dir: &Path) -> Result<Searcher> {
        let store = Store::open(index_dir)?;
        let lexical = LexicalIndex::open(&store.generation_dir().join(LEXICAL_DIR))?;
        if lexical.num_docs() != store.len() as u64 {
            return Err(Error::corrupt(
                store.generation_dir(),
                format!(
                    "lexical index has {} documents, store has {} chunks",
                    lexical.num_docs(),
                    store.len()
                ),
            ));
        }
        Ok(Searcher { store, lexical })
    }

    /// The underlying store (metadata, file table, chunks).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Run a query.
    pub fn search(&self, req: &SearchRequest) -> Result<Vec<SearchHit>> {
        if req.query.trim().is_empty() {
            return Err(Error::InvalidQuery(
                "the query is empty; give some words or a symbol name".into(),
            ));
        }
        if req.mode != Mode::Lexical {
            return Err(Error::InvalidOption(format!(
                "mode {} needs an index with vectors, and this index has none; use --mode lexical",
                req.mode.name()
            )));
        }
        if req.top_k == 0 {
            return Ok(Vec::new());
        }
        let allowed = self.allowed_files(req)?;
        if allowed.as_ref().is_some_and(|a| a.is_empty()) {
            return Ok(Vec::new());
        }
        let hits = self
            .lexical
            .search(&req.query, req.top_k, allowed.as_deref())?;
        let mut out = Vec::with_capacity(hits.len());
        for (rank, hit) in hits.into_iter().enumerate() {
            let c = self.store.chunk(hit.chunk_id)?;
            out.push(SearchHit {
                path: c.path.to_string(),
                start_line: c.start_line,
                end_line: c.end_line,
                score: hit.score,
                language: c.language,
                kind: c.kind,
                symbol: c.symbol.map(str::to_string),
                container: c.container.map(str::to_string),
                text: c.text.to_string(),
                ranks: Ranks {
                    lexical: Some(rank + 1),
                    semantic: None,
                },
                chunk_id: c.id,
            });
        }
        Ok(out)
    }

    /// File ids that pass the request's filters, or `None` when there are no filters.
    fn allowed_files(&self, req: &SearchRequest) -> Result<Option<Vec<u32>>> {
        let glob: Option<GlobMatcher> = match &req.path_glob {
            None => None,
            Some(g) => Some(
                Glob::new(g)
                    .map_err(|e| Error::InvalidOption(format!("bad --path glob {g:?}: {e}")))?
                    .compile_matcher(),
            ),
        };
        if glob.is_none() && req.languages.is_empty() {
            return Ok(None);
        }
        let ids = self
            .store
            .files()
            .iter()
            .enumerate()
            .filter(|(_, f)| req.languages.is_empty() || req.languages.contains(&f.language))
            .filter(|(_, f)| glob.as_ref().is_none_or(|g| path_matches(g, &f.path)))
            .map(|(i, _)| i as u32)
            .collect();
        Ok(Some(ids))
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
    fn glob_semantics() {
        assert!(m("*.rs", "src/a/b.rs"));
        assert!(!m("*.rs", "src/a/b.py"));
        assert!(m("src/**/*.rs", "src/a/b.rs"));
        assert!(!m("src/**/*.rs", "tests/b.rs"));
        assert!(m("src/cli", "src/cli/mod.rs"));
        assert!(!m("src/cli", "src/client.rs"));
    }
}
