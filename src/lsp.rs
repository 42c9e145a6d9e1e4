//! `cseek lsp`: a language server over stdio, so an editor's "go to symbol in workspace"
//! runs on cseek's ranking, plain-words queries included, and sees unsaved edits.
//!
//! - `workspace/symbol`: the query is searched as `cseek query` searches it (auto mode),
//!   and the ranked chunks come back as symbols: name, kind, container, location.
//! - `cseek/search` (a custom request): ranked chunks with their text, for clients that
//!   show more than a symbol list. Params: `{"query", "topK"?, "mode"?, "languages"?,
//!   "path"?}`; result: `{"mode", "results": [{"uri", "path", "range", "symbol", "kind",
//!   "container", "language", "score", "text"}]}`.
//! - `textDocument/didOpen` / `didChange` / `didClose` keep the buffers as overlays of the
//!   searcher ([`Searcher::set_overlay`]): searches see what the editor shows, saved or not.
//! - `textDocument/didSave` and `workspace/didChangeWatchedFiles` update just those files
//!   in the index ([`Indexer::update_paths`]) on a background thread; searches switch to
//!   the new generation when it is committed. When the session starts, the index is
//!   brought up to date (built, when there is none).
//!
//! Only the protocol goes to stdout. Messages for the user (index built, update failed)
//! go to the client as `window/logMessage`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::mpsc::{channel, Receiver, Sender};

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{
    DidChangeTextDocumentParams, DidChangeWatchedFilesParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, InitializeParams, Location,
    LogMessageParams, MessageType, Position, Range, ServerCapabilities, SymbolInformation,
    SymbolKind, TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, Uri, WorkspaceSymbolParams,
};
use serde::{Deserialize, Serialize};

use crate::chunk::ChunkKind;
use crate::error::Error;
use crate::index::{IndexOptions, Indexer, NoProgress};
use crate::lang::Language;
use crate::search::{Mode, SearchHit, SearchOptions, SearchRequest, Searcher, MAX_TOP_K};

/// Results of a `workspace/symbol` request: a list to pick from, not a page to read.
const SYMBOL_RESULTS: usize = 50;

/// Results of a `cseek/search` request without `topK`.
const DEFAULT_TOP_K: usize = 10;

/// The custom search request's method name.
pub const SEARCH_METHOD: &str = "cseek/search";

/// What `cseek lsp` serves and how.
#[derive(Debug, Clone)]
pub struct LspOptions {
    /// The tree to serve; `None`: the client's workspace (its first folder, or its root
    /// URI), else the current directory.
    pub root: Option<PathBuf>,
    /// Where the index lives; `None`: `<root>/.cseek`.
    pub index_dir: Option<PathBuf>,
    /// How the index is built and updated (its `root` and `index_dir` are replaced by
    /// the ones chosen above).
    pub index: IndexOptions,
    /// How queries load the model.
    pub search: SearchOptions,
    /// Bring the index up to date when the session starts (build it when missing).
    pub update_on_start: bool,
}

/// Why the server stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum LspError {
    /// The client broke the protocol (no `initialize` first, malformed messages).
    #[error("LSP protocol: {0}")]
    Protocol(String),
    /// Reading stdin or writing stdout failed.
    #[error("LSP transport: {0}")]
    Io(#[from] std::io::Error),
}

/// Serve `options` over stdin/stdout until the client sends `exit`.
pub fn serve_stdio(options: LspOptions) -> Result<(), LspError> {
    let (connection, io_threads) = Connection::stdio();
    serve(&connection, options)?;
    drop(connection);
    io_threads.join()?;
    Ok(())
}

/// Serve `options` on an established connection (stdio, a socket, or in memory for
/// tests) until the client sends `exit`.
pub fn serve(connection: &Connection, options: LspOptions) -> Result<(), LspError> {
    let (id, params) = connection
        .initialize_start()
        .map_err(|e| LspError::Protocol(e.to_string()))?;
    let init: InitializeParams = serde_json::from_value(params)
        .map_err(|e| LspError::Protocol(format!("bad initialize params: {e}")))?;
    let root = match options.root.clone().or_else(|| client_root(&init)) {
        Some(root) => root,
        None => std::env::current_dir()?,
    };
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    let mut index = options.index.clone();
    index.index_dir = options
        .index_dir
        .clone()
        .unwrap_or_else(|| root.join(crate::store::DEFAULT_DIR_NAME));
    index.root = root.clone();
    let result = serde_json::json!({
        "capabilities": capabilities(),
        "serverInfo": {"name": "cseek", "version": env!("CARGO_PKG_VERSION")},
    });
    connection
        .initialize_finish(id, result)
        .map_err(|e| LspError::Protocol(e.to_string()))?;

    let (jobs, job_queue) = channel();
    let worker = {
        let (index, sender) = (index.clone(), connection.sender.clone());
        std::thread::spawn(move || update_loop(index, &job_queue, |m| sender.send(m).is_ok()))
    };
    if options.update_on_start {
        let _ = jobs.send(Job::All);
    }
    let mut server = Server {
        root,
        index_dir: index.index_dir.clone(),
        search: options.search,
        searcher: None,
        buffers: BTreeMap::new(),
        jobs,
    };
    let served = server.run(connection);
    // The update in flight finishes (it commits atomically either way); queued ones are
    // dropped with the channel.
    drop(server);
    let _ = worker.join();
    served
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        workspace_symbol_provider: Some(lsp_types::OneOf::Left(true)),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                // Whole buffers: an overlay is the buffer's text, so incremental edits
                // would only be re-assembled here.
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                ..TextDocumentSyncOptions::default()
            },
        )),
        ..ServerCapabilities::default()
    }
}

/// The workspace the client opened: its first folder, else its root URI.
fn client_root(init: &InitializeParams) -> Option<PathBuf> {
    if let Some(folder) = init.workspace_folders.as_ref().and_then(|f| f.first()) {
        return uri_to_path(&folder.uri);
    }
    #[allow(deprecated)] // still what many clients send
    init.root_uri.as_ref().and_then(uri_to_path)
}

fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    url::Url::parse(uri.as_str()).ok()?.to_file_path().ok()
}

fn path_to_uri(path: &Path) -> Option<Uri> {
    let url = url::Url::from_file_path(path).ok()?;
    Uri::from_str(url.as_str()).ok()
}

/// Work for the indexing thread.
enum Job {
    /// A full incremental update.
    All,
    /// An update of these files only.
    Paths(Vec<PathBuf>),
}

/// The indexing thread: one [`Indexer`] for the session (the model stays loaded), jobs
/// queued while one runs are merged into one run.
/// `send` gives a message to the client and says whether the connection is still open.
fn update_loop(options: IndexOptions, jobs: &Receiver<Job>, send: impl Fn(Message) -> bool) {
    let mut indexer = Indexer::new(options);
    while let Ok(first) = jobs.recv() {
        let mut all = matches!(first, Job::All);
        let mut paths: Vec<PathBuf> = match first {
            Job::All => Vec::new(),
            Job::Paths(p) => p,
        };
        while let Ok(more) = jobs.try_recv() {
            match more {
                Job::All => all = true,
                Job::Paths(p) => paths.extend(p),
            }
        }
        let result = if all {
            indexer.update(&NoProgress)
        } else {
            let unique: HashSet<PathBuf> = paths.into_iter().collect();
            let paths: Vec<PathBuf> = unique.into_iter().collect();
            indexer.update_paths(&paths, &NoProgress)
        };
        let (kind, message) = match result {
            Ok(s) if s.kind == crate::index::RunKind::Unchanged => continue,
            Ok(s) => (
                MessageType::INFO,
                format!(
                    "cseek: index updated ({} files, {} chunks; {} changed, {} removed) in {:.2} s",
                    s.files, s.chunks, s.files_changed, s.files_removed, s.seconds
                ),
            ),
            Err(e) => (
                MessageType::ERROR,
                format!("cseek: index update failed: {e}"),
            ),
        };
        let note = Notification::new(
            lsp_types::notification::LogMessage::METHOD.to_string(),
            LogMessageParams { typ: kind, message },
        );
        if !send(note.into()) {
            return;
        }
    }
}

/// The session: the open buffers (kept here too, so a searcher opened later gets them),
/// the searcher, and the queue of the indexing thread.
struct Server {
    root: PathBuf,
    index_dir: PathBuf,
    search: SearchOptions,
    searcher: Option<Searcher>,
    buffers: BTreeMap<String, String>,
    jobs: Sender<Job>,
}

/// A request's failure, as the LSP error it becomes.
struct Failure {
    code: ErrorCode,
    message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let code = match e {
            Error::InvalidQuery(_) | Error::InvalidOption(_) => ErrorCode::InvalidParams,
            _ => ErrorCode::RequestFailed,
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

fn invalid_params(message: impl Into<String>) -> Failure {
    Failure {
        code: ErrorCode::InvalidParams,
        message: message.into(),
    }
}

/// Params of `cseek/search`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SearchParams {
    query: String,
    top_k: Option<usize>,
    mode: Option<String>,
    languages: Option<Vec<String>>,
    path: Option<String>,
}

/// The answer to `cseek/search`.
#[derive(Debug, Serialize)]
struct SearchAnswer {
    /// The mode that ran (auto resolved).
    mode: Mode,
    results: Vec<SearchResult>,
}

/// One result of `cseek/search`.
#[derive(Debug, Serialize)]
struct SearchResult {
    uri: Option<Uri>,
    path: String,
    range: Range,
    symbol: Option<String>,
    kind: ChunkKind,
    container: Option<String>,
    language: Language,
    score: f32,
    text: String,
}

impl Server {
    fn run(&mut self, connection: &Connection) -> Result<(), LspError> {
        for message in &connection.receiver {
            match message {
                Message::Request(req) => {
                    if connection
                        .handle_shutdown(&req)
                        .map_err(|e| LspError::Protocol(e.to_string()))?
                    {
                        return Ok(());
                    }
                    let response = self.answer(req);
                    if connection.sender.send(response.into()).is_err() {
                        return Ok(());
                    }
                }
                Message::Notification(n) => {
                    if n.method == lsp_types::notification::Exit::METHOD {
                        return Ok(());
                    }
                    self.notified(n);
                }
                Message::Response(_) => {}
            }
        }
        Ok(())
    }

    fn answer(&mut self, req: Request) -> Response {
        let id: RequestId = req.id.clone();
        let result = match req.method.as_str() {
            lsp_types::request::WorkspaceSymbolRequest::METHOD => {
                serde_json::from_value::<WorkspaceSymbolParams>(req.params)
                    .map_err(|e| invalid_params(e.to_string()))
                    .and_then(|p| self.workspace_symbol(&p.query))
                    .and_then(|v| to_json(&v))
            }
            SEARCH_METHOD => serde_json::from_value::<SearchParams>(req.params)
                .map_err(|e| invalid_params(e.to_string()))
                .and_then(|p| self.custom_search(p))
                .and_then(|v| to_json(&v)),
            _ => Err(Failure {
                code: ErrorCode::MethodNotFound,
                message: format!("cseek does not answer {}", req.method),
            }),
        };
        match result {
            Ok(value) => Response::new_ok(id, value),
            Err(f) => Response::new_err(id, f.code as i32, f.message),
        }
    }

    fn notified(&mut self, n: Notification) {
        use lsp_types::notification as note;
        match n.method.as_str() {
            note::DidOpenTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) {
                    self.set_buffer(&p.text_document.uri, p.text_document.text);
                }
            }
            note::DidChangeTextDocument::METHOD => {
                if let Ok(mut p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) {
                    // Full sync: the last change holds the whole text.
                    if let Some(change) = p.content_changes.pop() {
                        self.set_buffer(&p.text_document.uri, change.text);
                    }
                }
            }
            note::DidCloseTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) {
                    if let Some(rel) = self.relative(&p.text_document.uri) {
                        self.buffers.remove(&rel);
                        if let Some(s) = &self.searcher {
                            let _ = s.clear_overlay(&rel);
                        }
                    }
                }
            }
            note::DidSaveTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidSaveTextDocumentParams>(n.params) {
                    if let Some(path) = uri_to_path(&p.text_document.uri) {
                        let _ = self.jobs.send(Job::Paths(vec![path]));
                    }
                }
            }
            note::DidChangeWatchedFiles::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidChangeWatchedFilesParams>(n.params) {
                    let paths: Vec<PathBuf> = p
                        .changes
                        .iter()
                        .filter_map(|c| uri_to_path(&c.uri))
                        .collect();
                    if !paths.is_empty() {
                        let _ = self.jobs.send(Job::Paths(paths));
                    }
                }
            }
            // Anything else (initialized, $/cancelRequest, …) needs nothing from us.
            _ => {}
        }
    }

    /// The root-relative path of a document, when it is under the root.
    fn relative(&self, uri: &Uri) -> Option<String> {
        let path = uri_to_path(uri)?;
        crate::walk::relative_to_root(&self.root, &self.root, &path).ok()
    }

    fn set_buffer(&mut self, uri: &Uri, text: String) {
        let Some(rel) = self.relative(uri) else {
            return; // a file outside the workspace: not ours to search
        };
        if let Some(s) = &self.searcher {
            let _ = s.set_overlay(&rel, text.clone());
        }
        self.buffers.insert(rel, text);
    }

    /// A searcher of the index's current generation, with the open buffers.
    fn searcher(&mut self) -> Result<&Searcher, Failure> {
        let stale = self.searcher.as_ref().is_none_or(|s| !s.is_current());
        if stale {
            match &mut self.searcher {
                Some(s) => s.reload()?,
                None => {
                    let s =
                        Searcher::open_with(&self.index_dir, self.search.clone()).map_err(|e| {
                            match e {
                                Error::NoIndex { .. } => Failure {
                                    code: ErrorCode::RequestFailed,
                                    message: format!(
                                        "cseek has no index of {} yet; it is being built, try \
                                     again in a moment",
                                        self.root.display()
                                    ),
                                },
                                e => Failure::from(e),
                            }
                        })?;
                    for (path, text) in &self.buffers {
                        s.set_overlay(path, text.clone())?;
                    }
                    self.searcher = Some(s);
                }
            }
        }
        self.searcher
            .as_ref()
            .ok_or_else(|| invalid_params("no searcher"))
    }

    fn workspace_symbol(&mut self, query: &str) -> Result<Vec<SymbolInformation>, Failure> {
        // An empty query is how some clients ask for "everything": nothing is ranked by it.
        if query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let root = self.root.clone();
        let req = SearchRequest::new(query).top_k(SYMBOL_RESULTS);
        let hits = self.searcher()?.search(&req)?.hits;
        Ok(hits
            .into_iter()
            .filter_map(|h| symbol_information(&root, h))
            .collect())
    }

    fn custom_search(&mut self, p: SearchParams) -> Result<SearchAnswer, Failure> {
        let top_k = p.top_k.unwrap_or(DEFAULT_TOP_K);
        if top_k > MAX_TOP_K {
            return Err(invalid_params(format!(
                "topK is {top_k}, at most {MAX_TOP_K}"
            )));
        }
        let mut req = SearchRequest::new(p.query).top_k(top_k);
        if let Some(m) = &p.mode {
            req.mode = Mode::from_name(m).ok_or_else(|| {
                invalid_params(format!(
                    "unknown mode {m:?} (auto, lexical, semantic, hybrid)"
                ))
            })?;
        }
        for name in p.languages.unwrap_or_default() {
            req.languages.push(
                Language::from_name(&name)
                    .ok_or_else(|| invalid_params(crate::lang::unknown_language_message(&name)))?,
            );
        }
        req.path_glob = p.path;
        let root = self.root.clone();
        let found = self.searcher()?.search(&req)?;
        let results = found
            .hits
            .into_iter()
            .map(|h| SearchResult {
                uri: path_to_uri(&root.join(&h.path)),
                range: range(&h),
                path: h.path,
                symbol: h.symbol,
                kind: h.kind,
                container: h.container,
                language: h.language,
                score: h.score,
                text: h.text,
            })
            .collect();
        Ok(SearchAnswer {
            mode: found.mode,
            results,
        })
    }
}

/// Lines of a hit as an LSP range (0-based lines; the whole of the last line).
fn range(h: &SearchHit) -> Range {
    Range {
        start: Position::new(h.start_line.saturating_sub(1), 0),
        end: Position::new(h.end_line, 0),
    }
}

fn symbol_information(root: &Path, h: SearchHit) -> Option<SymbolInformation> {
    let uri = path_to_uri(&root.join(&h.path))?;
    let name = h
        .symbol
        .clone()
        .unwrap_or_else(|| format!("{}:{}", h.path, h.start_line));
    #[allow(deprecated)] // `deprecated` is a required field of the struct
    Some(SymbolInformation {
        name,
        kind: symbol_kind(h.kind),
        tags: None,
        deprecated: None,
        location: Location::new(uri, range(&h)),
        container_name: h.container,
    })
}

fn symbol_kind(kind: ChunkKind) -> SymbolKind {
    match kind {
        ChunkKind::Function => SymbolKind::FUNCTION,
        ChunkKind::Method => SymbolKind::METHOD,
        ChunkKind::Class | ChunkKind::Impl => SymbolKind::CLASS,
        ChunkKind::Struct => SymbolKind::STRUCT,
        ChunkKind::Enum => SymbolKind::ENUM,
        ChunkKind::Trait | ChunkKind::Interface => SymbolKind::INTERFACE,
        ChunkKind::Module => SymbolKind::MODULE,
        ChunkKind::Type => SymbolKind::TYPE_PARAMETER,
        ChunkKind::Macro => SymbolKind::FUNCTION,
        ChunkKind::Section => SymbolKind::NAMESPACE,
        ChunkKind::TopLevel | ChunkKind::Window => SymbolKind::FILE,
        ChunkKind::Variable => SymbolKind::VARIABLE,
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, Failure> {
    serde_json::to_value(value).map_err(|e| Failure {
        code: ErrorCode::InternalError,
        message: e.to_string(),
    })
}
