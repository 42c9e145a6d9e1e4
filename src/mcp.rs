//! `cseek mcp`: a Model Context Protocol server over stdio, so coding agents can search a
//! codebase through tools (`search`, `find_related`, `index_status`, `reindex`).
//!
//! A server serves one index or several (a workspace of repositories): every tool takes
//! an optional `index` (a served root, by its directory name or path); without it,
//! `search` merges all indexes into one ranking
//! ([`crate::search::merge_results`]) and `reindex` updates them all. Startup does no
//! I/O beyond what the protocol needs: the
//! index is opened on the first tool call (a memory map, milliseconds), the query model on
//! the first semantic query, the indexing model on the first `reindex` that has chunks to
//! embed. Only JSON-RPC goes to stdout; diagnostics go to stderr, and only when
//! [`McpOptions::verbose`] is set.
//!
//! Every tool answers twice: `structuredContent` (JSON for programs) and a compact text
//! rendering for a model's context, capped by `max_chars`. Bad arguments are MCP errors
//! (`invalid params`); the connection stays open.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{tool, tool_handler, tool_router, ErrorData, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::index::{IndexOptions, IndexSummary, Indexer, Progress};
use crate::lang::Language;
use crate::search::{
    merge_results, IndexResults, Mode, RelatedTo, SearchHit, SearchOptions, SearchRequest,
    Searcher, MAX_TOP_K,
};
use crate::Error;

/// Default cap on the text rendering of a tool result, in characters.
pub const DEFAULT_MAX_CHARS: usize = 8_000;

/// The least text a hit gets in the rendering before lower-ranked hits are dropped.
const MIN_SHARE: usize = 240;

/// What `cseek mcp` serves and how.
#[derive(Debug, Clone)]
pub struct McpOptions {
    /// The trees and indexes served: `reindex` updates them, queries read them. The first
    /// is the default of tools that need one index; a server without any serves nothing.
    pub indexes: Vec<IndexOptions>,
    /// How queries load the model.
    pub search: SearchOptions,
    /// Diagnostics on stderr (never stdout, which carries the protocol).
    pub verbose: bool,
    /// Keep the index current with [`crate::watch::watch`] on a background thread for the
    /// session's life; queries switch to each new generation.
    pub watch: bool,
    /// A Milvus backend (`cseek mcp --backend`): `search` queries its collection (every
    /// repository in it, or the one `index` names), `reindex` mirrors each updated index
    /// into it as the repository of the served index's name.
    pub backend: Option<crate::milvus::MilvusUrl>,
}

/// Why the server stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// The async runtime could not be started.
    #[error("starting the MCP runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The client never completed the MCP handshake, or the transport failed.
    #[error("MCP session: {0}")]
    Session(String),
}

/// Serve `options` over stdin/stdout until the client disconnects.
pub fn serve_stdio(options: McpOptions) -> std::result::Result<(), McpError> {
    // One thread answers the protocol; searches and indexing run on tokio's blocking
    // pool so a slow `reindex` never stalls pings or other requests.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(McpError::Runtime)?;
    let stop = crate::watch::StopHandle::new();
    let watch = if options.watch {
        options.indexes.clone()
    } else {
        Vec::new()
    };
    let watchers: Vec<_> = watch
        .into_iter()
        .map(|index| {
            let (verbose, stop) = (options.verbose, stop.clone());
            std::thread::spawn(move || {
                let mut on_event = |event: crate::watch::WatchEvent| {
                    if verbose {
                        eprintln!("cseek mcp: watch: {event:?}");
                    }
                };
                let settings = crate::watch::WatchOptions::default();
                // A watch that cannot start (no such root, inotify limit) leaves the server
                // answering from the index as it is; `reindex` still works.
                if let Err(e) = crate::watch::watch(&index, &settings, &stop, &mut on_event) {
                    if verbose {
                        eprintln!("cseek mcp: watch stopped: {e}");
                    }
                }
            })
        })
        .collect();
    let served = runtime.block_on(async move {
        let verbose = options.verbose;
        let server = CseekServer::new(options);
        let running = server
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| McpError::Session(e.to_string()))?;
        let reason = running
            .waiting()
            .await
            .map_err(|e| McpError::Session(e.to_string()))?;
        if verbose {
            eprintln!("cseek mcp: session ended ({reason:?})");
        }
        Ok(())
    });
    // An update in flight finishes (it commits atomically either way), then the watch
    // returns.
    stop.stop();
    for thread in watchers {
        let _ = thread.join();
    }
    served
}

/// Shared state: the served indexes and the options.
struct State {
    options: McpOptions,
    served: Vec<Served>,
    /// The backend's searcher, opened on first use (again after a failure).
    milvus: Mutex<Option<Arc<crate::milvus::MilvusSearcher>>>,
}

/// One served index: its searcher (opened lazily, reloaded when the index moves on) and
/// one indexer for the server's life, so the embedding model stays loaded between
/// reindexes.
struct Served {
    /// How tools name it: the root's directory name (made unique).
    name: String,
    index: IndexOptions,
    searcher: RwLock<Option<Searcher>>,
    indexer: Mutex<Indexer>,
}

impl State {
    fn log(&self, message: &str) {
        if self.options.verbose {
            eprintln!("cseek mcp: {message}");
        }
    }

    /// The indexes a tool call is about: the one `name` names (by name or root path), or
    /// all of them.
    fn select(&self, name: Option<&str>) -> Result<Vec<&Served>, ErrorData> {
        let Some(name) = name else {
            if self.served.is_empty() {
                return Err(ErrorData::invalid_request("no index is served", None));
            }
            return Ok(self.served.iter().collect());
        };
        let wanted = std::path::Path::new(name);
        self.served
            .iter()
            .find(|s| s.name == name || s.index.root == wanted)
            .map(|s| vec![s])
            .ok_or_else(|| {
                let names: Vec<&str> = self.served.iter().map(|s| s.name.as_str()).collect();
                ErrorData::invalid_params(
                    format!(
                        "no served index is called {name:?}; served: {}",
                        names.join(", ")
                    ),
                    None,
                )
            })
    }

    /// Whether results should say which index they come from.
    fn several(&self) -> bool {
        self.served.len() > 1
    }
}

impl Served {
    /// Run `f` on a searcher of the current generation, opening or reloading first.
    fn with_searcher<T>(
        &self,
        state: &State,
        f: impl FnOnce(&Searcher) -> Result<T, ErrorData>,
    ) -> Result<T, ErrorData> {
        let fresh = {
            let guard = self.searcher.read().map_err(|_| poisoned())?;
            guard.as_ref().is_some_and(Searcher::is_current)
        };
        if !fresh {
            let mut guard = self.searcher.write().map_err(|_| poisoned())?;
            match guard.as_mut() {
                Some(s) if s.is_current() => {}
                Some(s) => {
                    state.log(&format!("{}: index changed: reloading", self.name));
                    s.reload().map_err(to_mcp)?;
                }
                None => {
                    let dir = &self.index.index_dir;
                    state.log(&format!("opening {}", dir.display()));
                    let open = || Searcher::open_with(dir, state.options.search.clone());
                    let searcher = match open() {
                        // A first `reindex` may be building it right now: wait for that
                        // run (it holds the indexer) and look again.
                        Err(Error::NoIndex { .. }) => {
                            drop(self.indexer.lock().map_err(|_| poisoned())?);
                            open()
                        }
                        other => other,
                    };
                    let mut searcher = searcher.map_err(to_mcp)?;
                    // Another served index of the same model: load the query model once.
                    // `try_read`, never a blocking wait on another index's lock while
                    // holding ours (two opening at once could otherwise deadlock).
                    for other in state.served.iter().filter(|o| !std::ptr::eq(*o, self)) {
                        if let Ok(g) = other.searcher.try_read() {
                            if g.as_ref().is_some_and(|o| searcher.share_query_model(o)) {
                                break;
                            }
                        }
                    }
                    *guard = Some(searcher);
                }
            }
        }
        let guard = self.searcher.read().map_err(|_| poisoned())?;
        match guard.as_ref() {
            Some(s) => f(s),
            None => Err(ErrorData::internal_error("the index is not open", None)),
        }
    }
}

fn poisoned() -> ErrorData {
    ErrorData::internal_error("an earlier request panicked; restart the server", None)
}

/// Library errors as MCP errors: what the caller can fix is `invalid params`.
fn to_mcp(e: Error) -> ErrorData {
    match e {
        Error::InvalidQuery(_) | Error::InvalidOption(_) => {
            ErrorData::invalid_params(e.to_string(), None)
        }
        Error::Locked { .. } => ErrorData::internal_error(
            format!("{e} (with --watch the index updates itself; retry in a moment)"),
            None,
        ),
        Error::NoIndex { .. } => ErrorData::invalid_request(
            format!("{e} (or call the `reindex` tool to build it)"),
            None,
        ),
        _ => ErrorData::internal_error(e.to_string(), None),
    }
}

/// Run blocking work (search, indexing) off the protocol thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ErrorData> + Send + 'static,
) -> Result<T, ErrorData> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ErrorData::internal_error(format!("tool task failed: {e}"), None))?
}

/// The MCP server: tools over one index or several.
#[derive(Clone)]
pub struct CseekServer {
    state: Arc<State>,
    tool_router: ToolRouter<CseekServer>,
}

impl CseekServer {
    /// A server for these options; opens nothing yet.
    pub fn new(options: McpOptions) -> Self {
        let mut served: Vec<Served> = Vec::new();
        for index in &options.indexes {
            let base = index
                .root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "index".to_string());
            let mut name = base.clone();
            let mut n = 1;
            while served.iter().any(|s| s.name == name) {
                n += 1;
                name = format!("{base}-{n}");
            }
            served.push(Served {
                name,
                index: index.clone(),
                searcher: RwLock::new(None),
                indexer: Mutex::new(Indexer::new(index.clone())),
            });
        }
        CseekServer {
            state: Arc::new(State {
                options,
                served,
                milvus: Mutex::default(),
            }),
            tool_router: Self::tool_router(),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
struct SearchParams {
    /// What to look for: plain words ("read a config file") or a symbol (`parseConfig`, `Foo::bar`).
    query: String,
    /// Number of results (default 10).
    #[schemars(range(min = 1, max = 10_000))] // = MAX_TOP_K (a unit test checks)
    top_k: Option<usize>,
    /// auto (default: lexical for symbols, hybrid otherwise), lexical, semantic or hybrid.
    #[schemars(extend("enum" = ["auto", "lexical", "semantic", "hybrid", null]))]
    mode: Option<String>,
    /// Only files of this language (a name from `cseek languages`, e.g. rust, python).
    language: Option<String>,
    /// Only files whose root-relative path matches this glob (e.g. `src/**/*.rs`, `*.py`).
    path: Option<String>,
    /// Size cap of the text rendering in characters (default 8000); chunks are cut to fit.
    max_chars: Option<usize>,
    /// Which served index (its name or root, from `index_status`); default: all of them,
    /// merged into one ranking.
    index: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct RelatedParams {
    /// Root-relative path of an indexed file (with `line`).
    path: Option<String>,
    /// 1-based line in `path`: the chunk containing it is the one to match.
    line: Option<u32>,
    /// Or: a code snippet to find similar code for.
    code: Option<String>,
    /// Number of results (default 10).
    top_k: Option<usize>,
    /// Size cap of the text rendering in characters (default 8000).
    max_chars: Option<usize>,
    /// Which served index `path` belongs to (its name or root, from `index_status`);
    /// needed for `path` when several are served. A `code` snippet without it is matched
    /// in all of them.
    index: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct IndexParams {
    /// Which served index (its name or root, from `index_status`); default: all.
    index: Option<String>,
}

/// One result, as returned in structured content.
#[derive(Debug, Serialize)]
struct Hit {
    /// The served index it comes from, when several are served.
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<String>,
    path: String,
    start_line: u32,
    end_line: u32,
    score: f32,
    language: &'static str,
    kind: Value,
    symbol: Option<String>,
    container: Option<String>,
    text: String,
    truncated: bool,
}

impl Hit {
    fn from_search(h: SearchHit, index: Option<&str>) -> Hit {
        Hit {
            index: index.map(str::to_string),
            path: h.path,
            start_line: h.start_line,
            end_line: h.end_line,
            score: h.score,
            language: h.language.name(),
            kind: serde_json::to_value(h.kind).unwrap_or(Value::Null),
            symbol: h.symbol,
            container: h.container,
            text: h.text,
            truncated: false,
        }
    }

    fn header(&self) -> String {
        let symbol = self.symbol.as_deref().unwrap_or("-");
        let index = self
            .index
            .as_deref()
            .map(|i| format!("[{i}] "))
            .unwrap_or_default();
        format!(
            "## {index}{}:{}-{}  {symbol}  {:.3}\n",
            self.path, self.start_line, self.end_line, self.score
        )
    }
}

/// Cut the hits' texts so the rendering fits in `max_chars`: each hit gets an equal share
/// of what is left, and a short chunk leaves its unused share to the ones after it. Hits
/// whose header no longer fits are dropped (and counted).
fn fit(hits: &mut Vec<Hit>, max_chars: usize) -> usize {
    let mut left = max_chars;
    let mut kept = 0;
    let n = hits.len();
    for (i, hit) in hits.iter_mut().enumerate() {
        let header = hit.header().chars().count() + 1;
        if header + 16 > left {
            break;
        }
        left -= header;
        // Top hits first: when an equal share would leave too little to read, a hit
        // still gets MIN_SHARE and the lowest-ranked ones are left out instead.
        let share = (left / (n - i)).max(MIN_SHARE.min(left));
        let len = hit.text.chars().count();
        if len > share {
            let mut cut: String = hit.text.chars().take(share.saturating_sub(1)).collect();
            // End at a line break when one is near, so the model sees whole lines.
            if let Some(pos) = cut.rfind('\n') {
                if pos > cut.len() / 2 {
                    cut.truncate(pos + 1);
                }
            }
            cut.push('…');
            hit.text = cut;
            hit.truncated = true;
        }
        left = left.saturating_sub(hit.text.chars().count());
        kept += 1;
    }
    let dropped = n - kept;
    hits.truncate(kept);
    dropped
}

fn render_hits(title: &str, hits: &[Hit], dropped: usize, notes: &[String]) -> String {
    let mut out = format!("{title}\n");
    for note in notes {
        out.push_str(&format!("note: {note}\n"));
    }
    for h in hits {
        out.push_str(&h.header());
        out.push_str(&h.text);
        if !h.text.ends_with('\n') {
            out.push('\n');
        }
    }
    if dropped > 0 {
        out.push_str(&format!(
            "({dropped} more results left out to fit max_chars; raise it to see them)\n"
        ));
    }
    out
}

fn hits_result(
    title: String,
    mut hits: Vec<Hit>,
    max_chars: usize,
    extra: Value,
) -> CallToolResult {
    let dropped = fit(&mut hits, max_chars);
    let notes: Vec<String> = extra
        .get("notes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let text = render_hits(&title, &hits, dropped, &notes);
    let mut structured = match extra {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    structured.insert(
        "results".into(),
        serde_json::to_value(&hits).unwrap_or(Value::Null),
    );
    structured.insert("omitted".into(), dropped.into());
    with_text(Value::Object(structured), text)
}

fn with_text(structured: Value, text: String) -> CallToolResult {
    let mut result = CallToolResult::structured(structured);
    // The text block is the compact rendering, not a second copy of the JSON.
    result.content = vec![ContentBlock::text(text)];
    result
}

fn top_k(k: Option<usize>) -> Result<usize, ErrorData> {
    let k = k.unwrap_or(10);
    if k == 0 || k > MAX_TOP_K {
        return Err(ErrorData::invalid_params(
            format!("top_k is {k}; give 1 to {MAX_TOP_K}"),
            None,
        ));
    }
    Ok(k)
}

fn max_chars(m: Option<usize>) -> Result<usize, ErrorData> {
    let m = m.unwrap_or(DEFAULT_MAX_CHARS);
    if m < 200 {
        return Err(ErrorData::invalid_params(
            format!("max_chars is {m}; give at least 200"),
            None,
        ));
    }
    Ok(m)
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn summary_json(s: &IndexSummary) -> Value {
    let mut map = s.to_json();
    map.insert(
        "model".into(),
        serde_json::json!(s.embedding.as_ref().map(|m| m.model.clone())),
    );
    map.insert(
        "semantic_off_reason".into(),
        serde_json::json!(s.semantic_off_reason),
    );
    Value::Object(map)
}

/// Indexing warnings go to stderr when verbose; never to stdout.
struct StderrProgress(bool);
impl Progress for StderrProgress {
    fn warn(&self, message: &str) {
        if self.0 {
            eprintln!("cseek mcp: {message}");
        }
    }
}

#[tool_router]
impl CseekServer {
    /// Search the codebase.
    #[tool(
        description = "Search the indexed codebase by meaning (\"where are retries configured\") or by symbol (`parseConfig`). Returns ranked code chunks: path:start-end, symbol, score and the code. When several indexes are served, results from all of them are merged unless `index` names one."
    )]
    async fn search(
        &self,
        Parameters(p): Parameters<SearchParams>,
    ) -> Result<CallToolResult, ErrorData> {
        if p.query.trim().is_empty() {
            return Err(ErrorData::invalid_params(
                "query is empty; give some words or a symbol name",
                None,
            ));
        }
        let top_k = top_k(p.top_k)?;
        let max_chars = max_chars(p.max_chars)?;
        let mode = match p.mode.as_deref() {
            None => Mode::default(),
            Some(m) => Mode::from_name(m).ok_or_else(|| {
                ErrorData::invalid_params(
                    format!("unknown mode {m:?}; use auto, lexical, semantic or hybrid"),
                    None,
                )
            })?,
        };
        let languages = match p.language.as_deref() {
            None => Vec::new(),
            Some(l) => vec![Language::from_name(l).ok_or_else(|| {
                ErrorData::invalid_params(crate::lang::unknown_language_message(l), None)
            })?],
        };
        if let Some(g) = &p.path {
            globset::Glob::new(g).map_err(|e| {
                ErrorData::invalid_params(format!("bad path glob {g:?}: {e}"), None)
            })?;
        }
        let req = SearchRequest {
            query: p.query,
            top_k,
            mode,
            languages,
            path_glob: p.path,
        };
        let state = self.state.clone();
        let index = p.index;
        blocking(move || {
            if let Some(milvus) = state.milvus()? {
                let repos: Vec<String> = index.into_iter().collect();
                let results = milvus.search(&req, &repos).map_err(to_mcp)?;
                let mode = results.mode.name();
                let title = format!(
                    "{} results for {:?} (mode {mode}, {})",
                    results.hits.len(),
                    req.query,
                    milvus.url()
                );
                let extra = serde_json::json!({
                    "query": req.query,
                    "mode": mode,
                    "notes": results.notes,
                    "backend": milvus.url().to_string(),
                });
                let hits = results
                    .hits
                    .into_iter()
                    .map(|h| Hit::from_search(h.hit, Some(&h.repo)))
                    .collect();
                return Ok(hits_result(title, hits, max_chars, extra));
            }
            let selected = state.select(index.as_deref())?;
            let (hits, mode, notes) =
                state.across(&selected, top_k, |s| s.search(&req).map_err(to_mcp))?;
            let title = format!("{} results for {:?} (mode {mode})", hits.len(), req.query);
            let extra = serde_json::json!({
                "query": req.query,
                "mode": mode,
                "notes": notes,
            });
            Ok(hits_result(title, hits, max_chars, extra))
        })
        .await
    }

    /// Code similar to a chunk or a snippet.
    #[tool(
        description = "Find code similar to a given place (`path` + `line`: the chunk containing that line) or to a `code` snippet: look-alike implementations, callers' patterns, duplicates. Excludes the chunk itself."
    )]
    async fn find_related(
        &self,
        Parameters(p): Parameters<RelatedParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let top_k = top_k(p.top_k)?;
        let max_chars = max_chars(p.max_chars)?;
        let state = self.state.clone();
        blocking(move || {
            let selected = state.select(p.index.as_deref())?;
            let to = match (&p.path, p.line, &p.code) {
                (Some(path), Some(line), None) => {
                    if selected.len() > 1 {
                        return Err(ErrorData::invalid_params(
                            "several indexes are served: name the one `path` is in with `index`",
                            None,
                        ));
                    }
                    RelatedTo::Line { path, line }
                }
                (None, None, Some(code)) if !code.trim().is_empty() => RelatedTo::Code(code),
                _ => {
                    return Err(ErrorData::invalid_params(
                        "give either `path` and `line`, or a non-empty `code` snippet",
                        None,
                    ))
                }
            };
            let mut source = String::new();
            let mut how = "";
            let (hits, _, _) = state.across(&selected, top_k, |s| {
                let related = s.related(to, top_k).map_err(to_mcp)?;
                (source, how) = (related.source, related.method);
                let mode = if how == "vectors" {
                    Mode::Semantic
                } else {
                    Mode::Lexical
                };
                Ok(crate::search::SearchResults {
                    mode,
                    hits: related.hits,
                    notes: Vec::new(),
                    timings: Default::default(),
                })
            })?;
            let title = format!("{} results related to {source} ({how})", hits.len());
            let extra = serde_json::json!({"source": source, "method": how});
            Ok(hits_result(title, hits, max_chars, extra))
        })
        .await
    }

    /// What is indexed and whether it is current.
    #[tool(
        description = "Show what is indexed: files, chunks, embedding model, generation, age in seconds, and whether it is current (for each served index, by name, when there are several). Says so when there is no index yet (call `reindex`)."
    )]
    async fn index_status(
        &self,
        Parameters(p): Parameters<IndexParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let state = self.state.clone();
        blocking(move || {
            let selected = state.select(p.index.as_deref())?;
            let mut statuses = Vec::new();
            let mut lines = Vec::new();
            for served in selected {
                let (status, line) = served.status(&state)?;
                statuses.push(status);
                lines.push(line);
            }
            Ok(state.one_or_all(statuses, lines))
        })
        .await
    }

    /// Bring the index up to date.
    #[tool(
        description = "Update the index with the files changed since the last run (incremental: only changed files are re-read and re-embedded), or build it when there is none. Returns what changed. When several indexes are served, updates all of them unless `index` names one."
    )]
    async fn reindex(
        &self,
        Parameters(p): Parameters<IndexParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let state = self.state.clone();
        blocking(move || {
            let selected = state.select(p.index.as_deref())?;
            let mut summaries = Vec::new();
            let mut lines = Vec::new();
            for served in selected {
                let summary = {
                    let mut indexer = served.indexer.lock().map_err(|_| poisoned())?;
                    state.log(&format!("reindexing {}", served.name));
                    indexer
                        .update(&StderrProgress(state.options.verbose))
                        .map_err(to_mcp)?
                };
                // Queries see the new generation from now on.
                served.with_searcher(&state, |_| Ok(()))?;
                let synced = match &state.options.backend {
                    Some(url) => Some(
                        crate::milvus::sync_index(&summary.index_dir, url, &served.name)
                            .map_err(to_mcp)?,
                    ),
                    None => None,
                };
                lines.push(format!(
                    "{}reindexed ({}) in {:.2} s: {} files, {} chunks; {} files changed, {} removed; {} chunks embedded, {} from cache",
                    state.label(served),
                    summary.kind.name(),
                    summary.seconds,
                    summary.files,
                    summary.chunks,
                    summary.files_changed,
                    summary.files_removed,
                    summary.chunks_embedded,
                    summary.chunks_cached
                ));
                let mut json = summary_json(&summary);
                if let Value::Object(m) = &mut json {
                    m.insert("index".into(), served.name.clone().into());
                    if let Some(s) = &synced {
                        lines.push(format!(
                            "{}mirrored into {}: {} files ({} chunks) sent, {} removed",
                            state.label(served),
                            s.backend,
                            s.files_sent,
                            s.chunks_sent,
                            s.files_removed
                        ));
                        m.insert(
                            "backend".into(),
                            serde_json::to_value(s).unwrap_or(Value::Null),
                        );
                    }
                }
                summaries.push(json);
            }
            Ok(state.one_or_all(summaries, lines))
        })
        .await
    }
}

impl State {
    /// The backend's searcher, when there is a backend (opened now if need be).
    fn milvus(&self) -> Result<Option<Arc<crate::milvus::MilvusSearcher>>, ErrorData> {
        let Some(url) = &self.options.backend else {
            return Ok(None);
        };
        let mut guard = self.milvus.lock().map_err(|_| poisoned())?;
        if let Some(m) = guard.as_ref() {
            return Ok(Some(Arc::clone(m)));
        }
        self.log(&format!("connecting to {url}"));
        let m = Arc::new(
            crate::milvus::MilvusSearcher::open(url, self.options.search.clone())
                .map_err(to_mcp)?,
        );
        *guard = Some(Arc::clone(&m));
        Ok(Some(m))
    }

    /// `[name] ` before a served index's lines when several are served.
    fn label(&self, served: &Served) -> String {
        if self.several() {
            format!("[{}] ", served.name)
        } else {
            String::new()
        }
    }

    /// Run a query on each selected index and merge the answers into one ranking (the
    /// answer itself when there is one index): hits, the mode(s) that ran, notes.
    fn across(
        &self,
        selected: &[&Served],
        top_k: usize,
        mut query: impl FnMut(&Searcher) -> Result<crate::search::SearchResults, ErrorData>,
    ) -> Result<(Vec<Hit>, String, Vec<String>), ErrorData> {
        let name = |s: &Served| self.several().then(|| s.name.clone());
        if let [one] = selected {
            let results = one.with_searcher(self, &mut query)?;
            let label = name(one);
            let hits = results
                .hits
                .into_iter()
                .map(|h| Hit::from_search(h, label.as_deref()))
                .collect();
            return Ok((hits, results.mode.name().to_string(), results.notes));
        }
        let mut lists = Vec::new();
        let mut roots = Vec::new();
        for served in selected {
            let list = served.with_searcher(self, |s| {
                roots.push((s.store().meta().root.clone(), served.name.clone()));
                Ok(IndexResults::new(s, query(s)?))
            })?;
            lists.push(list);
        }
        let merged = merge_results(lists, top_k);
        let mut modes: Vec<&str> = merged.modes.iter().map(|m| m.name()).collect();
        modes.dedup();
        let hits = merged
            .hits
            .into_iter()
            .map(|m| {
                let name = roots
                    .iter()
                    .find(|(r, _)| *r == m.root)
                    .map(|(_, n)| n.as_str());
                Hit::from_search(m.hit, name)
            })
            .collect();
        Ok((hits, modes.join("+"), merged.notes))
    }

    /// One served index's result as before; several as `{"indexes": [...]}` and one text
    /// line each.
    fn one_or_all(&self, mut items: Vec<Value>, lines: Vec<String>) -> CallToolResult {
        let text = lines.join("\n");
        if items.len() == 1 && !self.several() {
            return with_text(items.remove(0), text);
        }
        with_text(serde_json::json!({ "indexes": items }), text)
    }
}

impl Served {
    /// `index_status` of this index: the structured status and its text line.
    fn status(&self, state: &State) -> Result<(Value, String), ErrorData> {
        let dir = self.index.index_dir.clone();
        let status = self.with_searcher(state, |s| {
            let meta = s.store().meta();
            Ok(serde_json::json!({
                "index": self.name,
                "exists": true,
                "index_dir": dir.display().to_string(),
                "root": meta.root.display().to_string(),
                "files": meta.files,
                "chunks": meta.chunks,
                "model": meta.embedding.as_ref().map(|m| m.model.clone()),
                "semantic": s.has_vectors(),
                "generation": s.store().generation(),
                "created_unix": meta.created_unix,
                "age_seconds": now_unix().saturating_sub(meta.created_unix),
                "current": s.is_current(),
            }))
        });
        let status = match status {
            Ok(v) => v,
            Err(e) if !dir.join(crate::store::MANIFEST_FILE).is_file() => {
                serde_json::json!({
                    "index": self.name,
                    "exists": false,
                    "index_dir": dir.display().to_string(),
                    "message": format!("no index yet ({}); call `reindex` to build it", e.message),
                })
            }
            Err(e) => return Err(e),
        };
        let text = if status["exists"] == Value::Bool(true) {
            format!(
                "{}index {}: {} files, {} chunks, model {}, generation {}, {} s old, {}",
                state.label(self),
                status["index_dir"].as_str().unwrap_or(""),
                status["files"],
                status["chunks"],
                status["model"].as_str().unwrap_or("none (lexical only)"),
                status["generation"].as_str().unwrap_or(""),
                status["age_seconds"],
                if status["current"] == Value::Bool(true) {
                    "current"
                } else {
                    "stale"
                }
            )
        } else {
            format!(
                "{}{}",
                state.label(self),
                status["message"].as_str().unwrap_or("no index")
            )
        };
        Ok((status, text))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CseekServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("cseek", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Code search over one or more repositories. `search` finds code by meaning or \
                 symbol; `find_related` finds code similar to a place or a snippet; \
                 `index_status` shows what is indexed (and the names of the indexes when \
                 several are served); `reindex` brings the index up to date after edits.",
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(text: &str) -> Hit {
        Hit {
            index: None,
            path: "a.rs".into(),
            start_line: 1,
            end_line: 2,
            score: 1.0,
            language: "rust",
            kind: Value::Null,
            symbol: None,
            container: None,
            text: text.into(),
            truncated: false,
        }
    }

    #[test]
    fn fit_caps_the_rendering() {
        let mut hits: Vec<Hit> = (0..5).map(|_| hit(&"x = 1;\n".repeat(200))).collect();
        let dropped = fit(&mut hits, 1000);
        // Each kept hit gets at least MIN_SHARE; the lowest-ranked are left out.
        assert!(dropped > 0 && hits.len() + dropped == 5, "{dropped}");
        let text = render_hits("t", &hits, 0, &[]);
        assert!(text.chars().count() <= 1000 + 10, "{}", text.len());
        assert!(hits.iter().all(|h| h.truncated && h.text.ends_with('…')));
        assert!(hits.iter().all(|h| h.text.chars().count() >= MIN_SHARE / 2));

        let mut short: Vec<Hit> = (0..5).map(|_| hit("x = 1;\n")).collect();
        assert_eq!(fit(&mut short, 1000), 0);
        assert!(short.iter().all(|h| !h.truncated));
    }

    #[test]
    fn schema_top_k_bound_is_max_top_k() {
        // The attribute needs a literal; keep it in step with the search limit.
        let schema = serde_json::to_value(schemars::schema_for!(SearchParams)).unwrap();
        assert_eq!(schema["properties"]["top_k"]["maximum"], MAX_TOP_K);
    }
}
