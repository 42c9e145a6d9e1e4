//! `cseek serve`: one loaded embedding model behind HTTP, speaking the embedding APIs of
//! OpenAI and Ollama, so their clients (and cseek's own `--model openai:…` /
//! `--model ollama:…`) can use it.
//!
//! ```no_run
//! use cseek::embed::{EmbedOptions, Embedder};
//! use cseek::serve::{ServeOptions, Server};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let embedder = Embedder::load("minilm", &EmbedOptions::default())?;
//! let server = Server::bind(embedder, &ServeOptions::default())?;
//! println!("listening on {}", server.local_addr());
//! let stop = server.shutdown_handle(); // call stop.shutdown() from elsewhere to end run()
//! server.run()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Routes
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /v1/embeddings` | `{"model", "input": str \| [str], "encoding_format"?: "float" \| "base64", "dimensions"?}` | `{"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model", "usage": {"prompt_tokens", "total_tokens"}}` |
//! | `GET /v1/models` | | `{"object": "list", "data": [{"id", "object": "model", "created", "owned_by": "cseek"}]}` |
//! | `POST /api/embed` | `{"model", "input": str \| [str], "truncate"?, "dimensions"?, "keep_alive"?, "options"?}` | `{"model", "embeddings", "total_duration", "load_duration": 0, "prompt_eval_count"}` |
//! | `POST /api/embeddings` | `{"model", "prompt"}` | `{"embedding"}` |
//! | `GET /api/version`, `GET /api/tags` | | `{"version"}`; `{"models": [{"name", "model", …}]}` |
//! | `GET /health` | | `{"status": "ok", "model", "dims", "queue": {"waiting", "embedding", "capacity", "requests", "rounds"}}` |
//!
//! Texts are embedded as sent: no query or document prefix is added (clients add the
//! model's prefixes, as with any embedding server). Vectors are the model's finished
//! vectors (its pooling and normalisation). `dimensions` truncates to a Matryoshka
//! dimension the model allows and re-normalises; `base64` is little-endian f32 bytes.
//!
//! The `model` field must name the served model: its `--name`, the spec it was loaded
//! by, its registry name or Hugging Face id, or its directory's name (case-insensitive,
//! an Ollama-style `:latest` tag ignored); another name is a 404 that says what is served.
//! Errors are JSON in each API's shape: `{"error": {"message", "type", "code"}}` on
//! `/v1`, `{"error": "…"}` on `/api`.
//!
//! # Batching and limits
//!
//! Handlers tokenize on tokio's blocking pool and queue one job per request; a single
//! worker thread takes whatever is waiting, up to [`ServeOptions::max_batch_tokens`],
//! and runs the model once over all of it (see `queue.rs`). The model's own threads do
//! the parallel work, so one worker keeps the cores busy; the async runtime only moves
//! bytes. A body over [`ServeOptions::max_request_bytes`] or more than
//! [`ServeOptions::max_inputs`] texts is a 413; a full queue a 503 with `Retry-After`;
//! a failure of the model a 500 for the requests whose texts failed. The server has no
//! authentication: it binds loopback unless told otherwise.

mod api;
mod queue;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use tokio::sync::{oneshot, watch};

use crate::embed::{finish, registry, Embedder};
use api::{ApiError, Flavor};
use queue::{Job, JobError, Queue, Refused};

/// The default address: loopback, one port above Ollama's 11434 so both can run.
pub const DEFAULT_ADDR: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    11435,
));

/// How long connections still open at shutdown may take to finish their request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What `Retry-After` says on a full queue, in seconds.
const RETRY_AFTER_SECONDS: &str = "1";

/// Settings of [`Server::bind`].
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen; port 0 picks a free port ([`Server::local_addr`] tells which).
    /// The server has no authentication: a non-loopback address exposes the model to the
    /// network.
    pub addr: SocketAddr,
    /// The model's name in answers and listings; `None`: its registry name, else its
    /// directory's name.
    pub name: Option<String>,
    /// More names the `model` field may use (the `cseek` binary passes the spec the
    /// model was loaded by). The registry name, Hugging Face id and directory name are
    /// always accepted.
    pub aliases: Vec<String>,
    /// Most tokens the worker takes from the queue per round and embeds per model call
    /// (a longer request is embedded in several calls); 0 = automatic (8,192 for a
    /// transformer on the CPU, 65,536 on a GPU or for a static model).
    pub max_batch_tokens: usize,
    /// Largest request body, in bytes (larger: 413).
    pub max_request_bytes: usize,
    /// Most texts in one request (more: 413).
    pub max_inputs: usize,
    /// Most requests waiting for the worker (more: 503); at least 1.
    pub queue: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            addr: DEFAULT_ADDR,
            name: None,
            aliases: Vec::new(),
            max_batch_tokens: 0,
            max_request_bytes: 8 << 20,
            max_inputs: 2048,
            queue: 64,
        }
    }
}

/// What can stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An option is out of range.
    #[error("invalid serve option: {0}")]
    InvalidOption(String),
    /// The async runtime or the embedding thread could not be started.
    #[error("starting the server: {0}")]
    Start(#[source] std::io::Error),
    /// The listener failed while serving.
    #[error("serving HTTP: {0}")]
    Serve(#[source] std::io::Error),
}

/// Ends a running [`Server`]; cheap to clone, callable from any thread (a signal
/// handler's, say) and before [`Server::run`].
#[derive(Clone)]
pub struct ShutdownHandle {
    stop: Arc<watch::Sender<bool>>,
    queue: Arc<Queue>,
}

impl std::fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("stopped", &*self.stop.borrow())
            .finish()
    }
}

impl ShutdownHandle {
    /// Stops accepting connections and requests; waiting requests are answered 503, the
    /// model call in progress finishes its current slice, open connections get
    /// ten seconds to finish, then [`Server::run`] returns.
    pub fn shutdown(&self) {
        self.queue.stop();
        self.stop.send_replace(true);
    }
}

/// A bound, not yet running embedding server (see the module doc).
pub struct Server {
    listener: TcpListener,
    app: Arc<App>,
    stop: Arc<watch::Sender<bool>>,
    batch_tokens: usize,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.listener.local_addr().ok())
            .field("model", &self.app.model.name)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds `options.addr` for `embedder`; nothing is served until [`Server::run`].
    pub fn bind(embedder: Embedder, options: &ServeOptions) -> Result<Self, ServeError> {
        for (value, what) in [
            (options.max_request_bytes, "max_request_bytes"),
            (options.max_inputs, "max_inputs"),
            (options.queue, "queue"),
        ] {
            if value == 0 {
                return Err(ServeError::InvalidOption(format!(
                    "{what} must be at least 1"
                )));
            }
        }
        // Requests are tokenized here and embedded from token ids: a model without a
        // local tokenizer (a remote one) cannot be served.
        if let Err(e) = embedder.tokenize(&["probe"]) {
            return Err(ServeError::InvalidOption(format!(
                "cannot serve `{}`: {e}",
                embedder.info().name
            )));
        }
        let listener = TcpListener::bind(options.addr).map_err(|source| ServeError::Bind {
            addr: options.addr,
            source,
        })?;
        let info = embedder.info();
        let batch_tokens = match options.max_batch_tokens {
            0 if info.device == "cpu" && !embedder.is_static() => 8192,
            0 => 65_536,
            n => n,
        };
        let model = ServedModel::new(&embedder, options);
        let queue = Queue::new(options.queue);
        let app = App {
            weights_bytes: weights_bytes(&info.dir),
            embedder: Arc::new(embedder),
            queue,
            model,
            max_inputs: options.max_inputs,
            max_request_bytes: options.max_request_bytes,
            started: SystemTime::now(),
        };
        let (stop, _) = watch::channel(false);
        Ok(Self {
            listener,
            app: Arc::new(app),
            stop: Arc::new(stop),
            batch_tokens,
        })
    }

    /// The address actually bound (the chosen port when the options said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// The served model's name, as answers and listings give it.
    pub fn model_name(&self) -> &str {
        &self.app.model.name
    }

    /// Every name the `model` field may use.
    pub fn accepted_names(&self) -> &[String] {
        &self.app.model.accepted
    }

    /// The model's output dimension.
    pub fn dims(&self) -> usize {
        self.app.embedder.dims()
    }

    /// The tokens per worker round and model call ([`ServeOptions::max_batch_tokens`]
    /// after the automatic choice).
    pub fn max_batch_tokens(&self) -> usize {
        self.batch_tokens
    }

    /// A handle that ends [`Server::run`].
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            stop: Arc::clone(&self.stop),
            queue: Arc::clone(&self.app.queue),
        }
    }

    /// Serves until [`ShutdownHandle::shutdown`]: an HTTP runtime of two threads and one
    /// embedding thread. Returns once every thread it started has ended (open
    /// connections get ten seconds).
    pub fn run(self) -> Result<(), ServeError> {
        let Server {
            listener,
            app,
            stop,
            batch_tokens,
        } = self;
        // Two threads: they only parse, route and serialise; the model has the cores.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cseek-serve-http")
            .enable_all()
            .build()
            .map_err(ServeError::Start)?;
        let worker = {
            let app = Arc::clone(&app);
            std::thread::Builder::new()
                .name("cseek-serve-embed".into())
                .spawn(move || queue::run_worker(&app.queue, &app.embedder, batch_tokens))
                .map_err(ServeError::Start)?
        };
        let served = runtime.block_on(serve_http(listener, Arc::clone(&app), stop.subscribe()));
        // Also when serving failed: the worker must not wait forever.
        app.queue.stop();
        let _ = worker.join();
        // Tokenization still running on the blocking pool is abandoned, not awaited.
        runtime.shutdown_timeout(Duration::from_secs(1));
        served
    }
}

/// Accepts connections until the stop signal, then lets open ones finish for at most
/// [`SHUTDOWN_GRACE`].
async fn serve_http(
    listener: TcpListener,
    app: Arc<App>,
    stop: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    listener.set_nonblocking(true).map_err(ServeError::Serve)?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(ServeError::Serve)?;
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        // A dropped sender also means stop.
        let _ = rx.wait_for(|s| *s).await;
    };
    let graceful = axum::serve(listener, router(app)).with_graceful_shutdown(stopped(stop.clone()));
    let deadline = async {
        stopped(stop).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        served = std::future::IntoFuture::into_future(graceful) => served.map_err(ServeError::Serve),
        () = deadline => Ok(()),
    }
}

/// The served model: names and the `dimensions` it allows.
struct ServedModel {
    name: String,
    accepted: Vec<String>,
    dims: usize,
    /// `dimensions` values allowed below `dims`; `None`: any.
    matryoshka: Option<&'static [usize]>,
    /// Nomic's recipe layer-norms the full vector before truncating.
    layer_norm: bool,
    normalize: bool,
    max_tokens: usize,
}

impl ServedModel {
    fn new(embedder: &Embedder, options: &ServeOptions) -> Self {
        let info = embedder.info();
        let dir_name = info
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        let entry = info.hf_id.as_deref().and_then(registry::lookup);
        let name = options
            .name
            .clone()
            .or_else(|| entry.map(|e| e.name.to_string()))
            .or_else(|| dir_name.clone())
            .unwrap_or_else(|| info.name.clone());
        let mut accepted = vec![name.clone()];
        let more = options.aliases.iter().cloned().chain(
            [Some(info.name.clone()), info.hf_id.clone(), dir_name]
                .into_iter()
                .flatten(),
        );
        for alias in more {
            if !alias.is_empty() && !accepted.iter().any(|a| a.eq_ignore_ascii_case(&alias)) {
                accepted.push(alias);
            }
        }
        // As `Embedder::load` decides for a load-time `--dims`: a static model or a
        // local model without a registry entry may be cut anywhere, a registry
        // transformer only at the dimensions it was trained for.
        let matryoshka = match entry {
            Some(e) if !embedder.is_static() => Some(e.matryoshka_dims),
            _ => None,
        };
        Self {
            name,
            accepted,
            dims: info.dims,
            matryoshka,
            // When the embedder already truncated (`--dims` below the native size) its
            // vectors were layer-normed first, and cutting them further is plain
            // truncation. At the native size they are either raw (layer norm needed) or
            // already layer-normed, where layer norm again only rescales (mean 0), which
            // the final normalisation undoes.
            layer_norm: entry.is_some_and(|e| e.matryoshka_layer_norm)
                && info.dims == info.native_dims,
            normalize: info.normalize,
            max_tokens: info.max_tokens,
        }
    }

    fn accepts(&self, requested: &str) -> bool {
        let requested = requested.strip_suffix(":latest").unwrap_or(requested);
        self.accepted
            .iter()
            .any(|a| a.eq_ignore_ascii_case(requested))
    }

    fn check_name(&self, requested: &str) -> Result<(), ApiError> {
        if self.accepts(requested) {
            return Ok(());
        }
        let also = self.accepted[1..]
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ");
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "model_not_found",
            format!(
                "model `{requested}` is not served here; this server serves `{}`{}",
                self.name,
                if also.is_empty() {
                    String::new()
                } else {
                    format!(" (also accepted: {also})")
                }
            ),
        ))
    }

    /// Checks a request's `dimensions`.
    fn check_dims(&self, requested: Option<usize>) -> Result<Option<usize>, ApiError> {
        let Some(d) = requested else {
            return Ok(None);
        };
        let refuse = |why: String| Err(ApiError::bad_request("dimensions_unsupported", why));
        if d == 0 || d > self.dims {
            return refuse(format!(
                "`dimensions` {d} is out of range: this model gives {} dimensions",
                self.dims
            ));
        }
        match self.matryoshka {
            Some(allowed) if d != self.dims && !allowed.contains(&d) => {
                if allowed.is_empty() {
                    refuse(format!(
                        "this model does not support `dimensions` (it was not trained for \
                         Matryoshka truncation); it gives {} dimensions",
                        self.dims
                    ))
                } else {
                    let list: Vec<String> = allowed
                        .iter()
                        .filter(|&&a| a <= self.dims)
                        .map(ToString::to_string)
                        .collect();
                    refuse(format!(
                        "`dimensions` {d} is not one this model was trained for: {}",
                        list.join(", ")
                    ))
                }
            }
            _ => Ok(Some(d)),
        }
    }

    /// Applies a checked `dimensions` to finished vectors.
    fn cut(&self, vectors: &mut [Vec<f32>], dims: Option<usize>) {
        if let Some(d) = dims {
            for v in vectors {
                finish(v, d, self.layer_norm, self.normalize);
            }
        }
    }
}

/// Shared state of the handlers.
struct App {
    embedder: Arc<Embedder>,
    queue: Arc<Queue>,
    model: ServedModel,
    max_inputs: usize,
    max_request_bytes: usize,
    started: SystemTime,
    weights_bytes: u64,
}

impl App {
    /// Vectors and the token count for `texts`, through the queue. `truncate: false`
    /// refuses a text that reaches the model's token limit (the tokenizer has cut it,
    /// or it fits exactly: the two cannot be told apart after truncation).
    async fn embed(
        &self,
        texts: Vec<String>,
        truncate: bool,
    ) -> Result<(Vec<Vec<f32>>, usize), ApiError> {
        if texts.len() > self.max_inputs {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_inputs",
                format!(
                    "{} inputs in one request; this server takes at most {} (--max-inputs)",
                    texts.len(),
                    self.max_inputs
                ),
            ));
        }
        if texts.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let ticket = self.queue.reserve().map_err(|refused| match refused {
            Refused::Full => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "queue_full",
                format!(
                    "the server is busy: {} requests are already waiting; retry shortly",
                    self.queue.stats().capacity
                ),
            ),
            Refused::Stopping => shutting_down(),
            Refused::Internal => internal("the request queue is unusable"),
        })?;
        let embedder = Arc::clone(&self.embedder);
        let rows = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            embedder.tokenize(&refs)
        })
        .await
        .map_err(|_| internal("tokenizing the input failed unexpectedly"))?
        .map_err(|e| internal(format!("tokenizing the input failed: {e}")))?;
        if !truncate {
            if let Some(i) = rows.iter().position(|r| r.len() >= self.model.max_tokens) {
                return Err(ApiError::bad_request(
                    "input_too_long",
                    format!(
                        "input {i} reaches the model's limit of {} tokens and \
                         `truncate` is false",
                        self.model.max_tokens
                    ),
                ));
            }
        }
        let tokens = rows.iter().map(Vec::len).sum();
        let (reply, answer) = oneshot::channel();
        ticket.submit(Job { rows, reply });
        match answer.await {
            Ok(Ok(vectors)) => Ok((vectors, tokens)),
            Ok(Err(JobError::ShuttingDown)) => Err(shutting_down()),
            Ok(Err(JobError::Failed(why))) => Err(internal(format!("embedding failed: {why}"))),
            Err(_) => Err(internal("the embedding worker stopped")),
        }
    }

    fn health(&self) -> serde_json::Value {
        let stopping = self.queue.is_stopping();
        serde_json::json!({
            "status": if stopping { "stopping" } else { "ok" },
            "model": self.model.name,
            "dims": self.model.dims,
            "queue": self.queue.stats(),
        })
    }
}

fn shutting_down() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "shutting_down",
        "the server is shutting down",
    )
}

fn internal(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
}

/// Total size of the weight files in `dir` (for Ollama's listing).
fn weights_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.ends_with(".safetensors") || name.ends_with(".bin")
        })
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn router(app: Arc<App>) -> Router {
    let limit = app.max_request_bytes;
    Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .route("/v1/embeddings", post(openai_embeddings))
        .route("/v1/models", get(openai_models))
        .route("/v1/models/{*id}", get(openai_model))
        .route("/api/embed", post(ollama_embed))
        .route("/api/embeddings", post(ollama_legacy))
        .route("/api/version", get(ollama_version))
        .route("/api/tags", get(ollama_tags))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(app)
}

fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("serialising the answer failed: {e}"),
        )
            .into_response(),
    }
}

fn error(flavor: Flavor, e: &ApiError) -> Response {
    let mut response = json(e.status, &e.body(flavor));
    if e.code == "queue_full" {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from_static(RETRY_AFTER_SECONDS),
        );
    }
    response
}

fn reply<T: Serialize>(flavor: Flavor, result: Result<T, ApiError>) -> Response {
    match result {
        Ok(body) => json(StatusCode::OK, &body),
        Err(e) => error(flavor, &e),
    }
}

/// The body, or why it could not be read (over the size limit: 413).
fn body(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request_too_large",
                format!("the request body is over {limit} bytes (--max-request-bytes)"),
            )
        } else {
            ApiError::bad_request(
                "invalid_request_body",
                format!("reading the request body: {}", rejection.body_text()),
            )
        }
    })
}

async fn root() -> &'static str {
    "cseek is running"
}

async fn health(State(app): State<Arc<App>>) -> Response {
    let status = if app.queue.is_stopping() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    json(status, &app.health())
}

async fn openai_embeddings(
    State(app): State<Arc<App>>,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let req: api::OpenAiRequest = api::parse_body(&body(raw, app.max_request_bytes)?)?;
        app.model.check_name(&req.model)?;
        let texts = api::parse_input(&req.input)?;
        if texts.is_empty() {
            return Err(ApiError::bad_request(
                "invalid_input",
                "`input` is an empty array; send at least one string",
            ));
        }
        let encoding = api::parse_encoding(req.encoding_format.as_deref())?;
        let dims = app.model.check_dims(req.dimensions)?;
        let (mut vectors, tokens) = app.embed(texts, true).await?;
        app.model.cut(&mut vectors, dims);
        Ok(api::OpenAiResponse::new(
            &app.model.name,
            vectors,
            tokens,
            encoding,
        ))
    }
    .await;
    reply(Flavor::OpenAi, result)
}

#[derive(Serialize)]
struct OpenAiModel<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    owned_by: &'static str,
}

fn openai_model_object(app: &App) -> OpenAiModel<'_> {
    OpenAiModel {
        id: &app.model.name,
        object: "model",
        created: app
            .started
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        owned_by: "cseek",
    }
}

async fn openai_models(State(app): State<Arc<App>>) -> Response {
    json(
        StatusCode::OK,
        &serde_json::json!({"object": "list", "data": [openai_model_object(&app)]}),
    )
}

async fn openai_model(State(app): State<Arc<App>>, UrlPath(id): UrlPath<String>) -> Response {
    match app.model.check_name(&id) {
        Ok(()) => json(StatusCode::OK, &openai_model_object(&app)),
        Err(e) => error(Flavor::OpenAi, &e),
    }
}

async fn ollama_embed(State(app): State<Arc<App>>, raw: Result<Bytes, BytesRejection>) -> Response {
    let start = Instant::now();
    let result = async {
        let req: api::OllamaEmbedRequest = api::parse_body(&body(raw, app.max_request_bytes)?)?;
        app.model.check_name(&req.model)?;
        let texts = api::parse_input(&req.input)?;
        let dims = app.model.check_dims(req.dimensions)?;
        let (mut vectors, tokens) = app.embed(texts, req.truncate.unwrap_or(true)).await?;
        app.model.cut(&mut vectors, dims);
        Ok(api::OllamaEmbedResponse {
            model: app.model.name.clone(),
            embeddings: vectors,
            total_duration: u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX),
            load_duration: 0,
            prompt_eval_count: tokens,
        })
    }
    .await;
    reply(Flavor::Ollama, result)
}

async fn ollama_legacy(
    State(app): State<Arc<App>>,
    raw: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let req: api::OllamaLegacyRequest = api::parse_body(&body(raw, app.max_request_bytes)?)?;
        app.model.check_name(&req.model)?;
        // As Ollama: an empty prompt gives an empty vector (clients use it to preload).
        if req.prompt.is_empty() {
            return Ok(api::OllamaLegacyResponse {
                embedding: Vec::new(),
            });
        }
        let (vectors, _) = app.embed(vec![req.prompt], true).await?;
        let embedding = vectors
            .into_iter()
            .next()
            .ok_or_else(|| internal("the model returned no vector"))?;
        Ok(api::OllamaLegacyResponse { embedding })
    }
    .await;
    reply(Flavor::Ollama, result)
}

async fn ollama_version() -> Response {
    json(
        StatusCode::OK,
        &serde_json::json!({"version": env!("CARGO_PKG_VERSION")}),
    )
}

async fn ollama_tags(State(app): State<Arc<App>>) -> Response {
    let info = app.embedder.info();
    let modified = app
        .started
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let format = if app.weights_bytes > 0 && info.dir.join("pytorch_model.bin").is_file() {
        "pytorch"
    } else {
        "safetensors"
    };
    let model = serde_json::json!({
        "name": app.model.name,
        "model": app.model.name,
        "modified_at": api::rfc3339(modified),
        "size": app.weights_bytes,
        "digest": "",
        "details": {
            "parent_model": "",
            "format": format,
            "family": info.arch.as_str(),
            "families": [info.arch.as_str()],
            "parameter_size": "",
            "quantization_level": info.dtype,
        },
    });
    json(StatusCode::OK, &serde_json::json!({ "models": [model] }))
}

fn flavor_of(uri: &Uri) -> Flavor {
    if uri.path().starts_with("/api/") {
        Flavor::Ollama
    } else {
        Flavor::OpenAi
    }
}

async fn not_found(uri: Uri) -> Response {
    let e = ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route {}; embeddings are POST /v1/embeddings (OpenAI) or POST /api/embed \
             (Ollama)",
            uri.path()
        ),
    );
    error(flavor_of(&uri), &e)
}

async fn method_not_allowed(uri: Uri) -> Response {
    let e = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not take this method", uri.path()),
    );
    error(flavor_of(&uri), &e)
}
