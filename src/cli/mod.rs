//! Command-line interface: argument parsing (clap), progress display (indicatif) and
//! output formatting. All the work is done by the library; errors become one readable
//! message on stderr and a non-zero exit code.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use console::style;
use indicatif::{ProgressBar, ProgressStyle};

use cseek::chunk::{chunk_kinds, ChunkOptions};
use cseek::embed::remote::{ApiKey, RemoteOptions};
use cseek::embed::{DeviceRequest, EmbedOptions};
use cseek::eval::mine::{fit, run_self, SelfEvalOptions};
use cseek::eval::run::{run_beir, run_repo_suite, BeirEvalOptions, RepoEvalOptions};
use cseek::fuse::RrfParams;
use cseek::index::{build_index, IndexOptions, IndexSummary, ModelChoice, Progress, RunKind};
use cseek::lang::Language;
use cseek::rank::RankParams;
use cseek::search::{Mode, RelatedTo, SearchHit, SearchOptions, SearchRequest, Searcher};
use cseek::store::{self, Store};
use cseek::vector::VectorDtype;
use cseek::walk::{WalkOptions, DEFAULT_EXCLUDED_DIRS};
use cseek::watch::{watch, Cause, StopHandle, Trigger, Update, WatchEvent, WatchOptions};

mod embed;

#[derive(Parser)]
#[command(
    name = "cseek",
    version,
    about = "Search a codebase by meaning or by symbol.",
    long_about = "Search a codebase by meaning or by symbol.\n\n\
        Index a repository once with `cseek index DIR`, then ask questions from anywhere \
        inside it: `cseek query \"read a file\"` or `cseek query parseConfig`."
)]
struct Cli {
    /// Index directory to use instead of looking for `.cseek/` upward from the current
    /// directory (or, for `cseek index` and `cseek watch`, instead of `<DIR>/.cseek`).
    /// An indexed root (holding `.cseek/`) also works. `cseek query` takes it several
    /// times to search several indexes as one.
    #[arg(long, global = true, env = "CSEEK_INDEX", value_name = "DIR")]
    index: Vec<PathBuf>,

    /// Server of a remote model (`--model ollama:NAME`: default http://localhost:11434;
    /// `--model openai:NAME`: the base URL, e.g. http://127.0.0.1:8080/v1, default
    /// https://api.openai.com/v1). Queries use the server the index was built with unless
    /// this is given. The key, if the server wants one, is read from CSEEK_API_KEY or
    /// OPENAI_API_KEY.
    #[arg(long, global = true, env = "CSEEK_ENDPOINT", value_name = "URL")]
    endpoint: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Index a directory (walk, chunk, build the search indexes).
    Index(IndexArgs),
    /// Index a directory, then keep the index current while its files change (one
    /// update per burst of changes) until Ctrl-C.
    Watch(WatchArgs),
    /// Search the index.
    Query(QueryArgs),
    /// Show what is indexed: files, chunks, languages, skipped files, format, age.
    Status(StatusArgs),
    /// List supported languages, their extensions and what counts as a chunk.
    Languages(JsonFlag),
    /// Show how files are cut into chunks (lines, kind, symbol, container), as `cseek
    /// index` would cut them: for checking what a language's definitions become.
    Chunks(ChunksArgs),
    /// Measure retrieval quality on benchmark suites.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// List the embedding models cseek knows (dims, licence, cached locally).
    Models(embed::ModelsArgs),
    /// Embed texts with a model and print {"model", "dims", "vectors"} as JSON.
    Embed(embed::EmbedArgs),
    /// Build models: `cseek model distill --from NAME|DIR --out DIR [--dims 256]`.
    #[command(subcommand)]
    Model(embed::ModelCommand),
    /// Serve the index to coding agents over MCP (JSON-RPC on stdin/stdout): tools
    /// search, find_related, index_status, reindex.
    Mcp(McpArgs),
    /// Serve the index to editors as a language server (LSP on stdin/stdout):
    /// workspace/symbol with cseek's ranking, a `cseek/search` request, unsaved buffers
    /// searched as they are, saved files re-indexed.
    Lsp(LspArgs),
    /// Serve an embedding model over HTTP with the OpenAI (`POST /v1/embeddings`) and
    /// Ollama (`POST /api/embed`) APIs, on loopback by default, until Ctrl-C. Texts are
    /// embedded as sent (no prefix added); concurrent requests share the model's batches.
    Serve(ServeArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// Model to serve: registry name (see `cseek models`), Hugging Face id, or a model
    /// directory.
    #[arg(long, short = 'm', value_name = "NAME|DIR")]
    model: String,
    #[command(flatten)]
    load: embed::LoadArgs,
    /// Address to listen on, HOST:PORT (port 0: a free port, printed when ready). There is
    /// no authentication: an address other than loopback exposes the model to the network.
    #[arg(long, default_value_t = cseek::serve::DEFAULT_ADDR.to_string(), value_name = "HOST:PORT")]
    addr: String,
    /// The model's name in answers and listings (default: its registry name, else its
    /// directory's name). Requests may also name it as given to --model.
    #[arg(long)]
    name: Option<String>,
    /// Most tokens the embedding thread takes per round: requests waiting together are
    /// embedded in one model call. 0 = automatic (8192 on CPU, 65536 on GPU or for a
    /// static model).
    #[arg(long, default_value_t = 0, value_name = "N")]
    max_batch_tokens: usize,
    /// Largest request body (bytes; suffixes K, M, G); larger is refused (413).
    #[arg(long, default_value = "8M", value_parser = parse_size, value_name = "SIZE")]
    max_request_bytes: u64,
    /// Most texts in one request; more is refused (413).
    #[arg(long, default_value_t = 2048, value_parser = positive, value_name = "N")]
    max_inputs: usize,
    /// Most requests waiting for the model; more are refused (503, Retry-After).
    #[arg(long, default_value_t = 64, value_parser = positive, value_name = "N")]
    queue: usize,
}

#[derive(Args)]
struct LspArgs {
    /// Directory to serve (default: the workspace the editor opens, else the current
    /// directory); the index is `<DIR>/.cseek` unless `--index`.
    path: Option<PathBuf>,
    /// Embedding model when the index is first built (default: as `cseek index`; `none`
    /// = lexical only). Queries use the index's own model.
    #[arg(long, env = "CSEEK_MODEL", value_name = "NAME|DIR")]
    model: Option<String>,
    /// Where to run the model: auto, cpu, cuda[:N], metal.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Do not bring the index up to date when the session starts (saved files are still
    /// re-indexed).
    #[arg(long)]
    no_update: bool,
}

#[derive(Args)]
struct McpArgs {
    /// Directories whose indexes to serve (each index is `<DIR>/.cseek`, or `--index` for
    /// a single directory); `reindex` indexes them. Several are searched as one.
    #[arg(default_value = ".", num_args = 1..)]
    paths: Vec<PathBuf>,
    /// Embedding model for `reindex` when the index does not exist yet (default: as
    /// `cseek index`; `none` = lexical only). Queries use the index's own model.
    #[arg(long, env = "CSEEK_MODEL", value_name = "NAME|DIR")]
    model: Option<String>,
    /// Where to run the model: auto, cpu, cuda[:N], metal.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Diagnostics on stderr (stdout carries only the protocol).
    #[arg(long, short)]
    verbose: bool,
    /// Keep the index current while files change (as `cseek watch`, in the background;
    /// the first update builds the index if there is none).
    #[arg(long)]
    watch: bool,
    /// Search a Milvus collection (milvus://HOST:PORT[/DATABASE][?collection=NAME]): all
    /// its repositories, or the one a tool call's `index` names; `reindex` mirrors the
    /// served indexes into it.
    #[arg(long, env = "CSEEK_BACKEND", value_name = "URL")]
    backend: Option<String>,
}

#[derive(Args)]
struct IndexArgs {
    /// Directory to index.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Skip files larger than this (bytes; suffixes K, M, G allowed).
    #[arg(long, default_value = "1M", value_parser = parse_size)]
    max_file_size: u64,
    /// Also leave out paths matching this gitignore-style glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Do not skip the well-known build and vendor directories (node_modules, target …).
    #[arg(long)]
    no_default_excludes: bool,
    /// Follow symbolic links (loops are detected and skipped).
    #[arg(long)]
    follow: bool,
    /// Skip files that are not valid UTF-8 instead of decoding them lossily.
    #[arg(long)]
    strict_utf8: bool,
    /// Chunk size budget in bytes; larger definitions are split.
    #[arg(long, default_value_t = ChunkOptions::default().max_chunk_bytes)]
    max_chunk_bytes: usize,
    /// Embedding model: a name from `cseek models`, a Hugging Face id, a local model
    /// directory, or `none` for a lexical-only index. Default: `minilm` when it can be
    /// found or downloaded, else lexical-only with a warning.
    #[arg(long, env = "CSEEK_MODEL", value_name = "NAME|DIR")]
    model: Option<String>,
    /// Where to run the model: auto, cpu, cuda[:N], metal.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Store vectors as f16 (half the size, tiny precision loss).
    #[arg(long)]
    f16: bool,
    /// No progress bar or summary line.
    #[arg(long, short)]
    quiet: bool,
    /// Also print the seconds spent in each stage (walk, read+chunk, write, commit).
    #[arg(long)]
    timings: bool,
    /// Build a fresh index instead of updating the existing one (vectors still come from
    /// the embedding cache; nothing embedded before is embedded again).
    #[arg(long, conflicts_with = "only")]
    rebuild: bool,
    /// Update only these files or directories (repeatable; relative to the current
    /// directory or absolute, under the indexed directory): a deleted or now-ignored one
    /// is removed, nothing else in the tree is looked at. For editors' save hooks and git
    /// hooks that know what changed.
    #[arg(long, value_name = "PATH")]
    only: Vec<PathBuf>,
    /// Print one JSON summary object on stdout (files, chunks, files_changed,
    /// files_removed, chunks_embedded, chunks_cached, seconds, generation, kind).
    #[arg(long)]
    json: bool,
    /// Also mirror the index into Milvus: milvus://HOST:PORT[/DATABASE][?collection=NAME]
    /// (changed files' chunks sent, removed files' deleted; see README "Milvus backend").
    #[arg(long, env = "CSEEK_BACKEND", value_name = "URL")]
    backend: Option<String>,
    /// Repository name in the Milvus collection (default: the directory's name).
    #[arg(long, value_name = "NAME", requires = "backend")]
    repo: Option<String>,
}

#[derive(Args)]
struct WatchArgs {
    /// (`--json` prints one JSON object per event per line on stdout: `updated`,
    /// `watching`, `error`, `warning`, `root-missing`, `root-back`, `stopped`.)
    #[command(flatten)]
    index: IndexArgs,
    /// Update once the tree has been quiet this many milliseconds.
    #[arg(long, default_value_t = 200, value_name = "MS")]
    debounce_ms: u64,
    /// Update at the latest this many milliseconds after the first change of a burst,
    /// even while changes keep coming.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    max_delay_ms: u64,
}

#[derive(Args)]
struct QueryArgs {
    /// The query: plain words ("read a file") or a symbol (parseConfig, Foo::bar).
    #[arg(required_unless_present = "related", num_args = 1..)]
    query: Vec<String>,
    /// Instead of a query: code similar to the chunk at PATH:LINE (the chunk itself left
    /// out). PATH is relative to the current directory, or to the indexed root.
    #[arg(long, value_name = "PATH:LINE", conflicts_with = "query")]
    related: Option<String>,
    /// Number of results (0 to 10000).
    #[arg(long, short = 'k', default_value_t = 10)]
    top_k: usize,
    /// Output: text (for people), json (one object), jsonl (one hit per line), vimgrep
    /// (`path:line:col:first line`, for quickfix lists), files (unique paths, best first).
    /// Paths of vimgrep and files are relative to the current directory when under it.
    #[arg(long, default_value = "text", value_parser = ["text", "json", "jsonl", "vimgrep", "files"])]
    format: String,
    /// Same as `--format json`.
    #[arg(long)]
    json: bool,
    /// Only files of this language (repeatable; see `cseek languages`).
    #[arg(long, value_name = "LANG")]
    lang: Vec<String>,
    /// Only files whose path matches this glob (`*.rs`, `src/**/*.py`, `src/cli`).
    #[arg(long, value_name = "GLOB")]
    path: Option<String>,
    /// Retrievers to use; auto = hybrid when the index has vectors, else lexical.
    #[arg(long, default_value = "auto", value_parser = ["auto", "lexical", "semantic", "hybrid"])]
    mode: String,
    /// Lines of each chunk to show (text output).
    #[arg(long, default_value_t = 4)]
    lines: usize,
    /// Model for the query embedding (default: the one the index was built with).
    #[arg(long, value_name = "NAME|DIR")]
    model: Option<String>,
    /// Where to run the model: auto, cpu, cuda[:N], metal.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Print where the query's time went (stderr).
    #[arg(long)]
    timings: bool,
    /// A workspace file: one indexed root (or index directory) per line, relative to the
    /// file's directory; `#` starts a comment. Searched as one, with the `--index`es.
    #[arg(long, value_name = "FILE")]
    workspace: Option<PathBuf>,
    /// Query a Milvus collection instead of local indexes:
    /// milvus://HOST:PORT[/DATABASE][?collection=NAME] (vector and BM25 searches there,
    /// cseek's fusion and re-ranking here). All its repositories are searched unless --repo is given.
    #[arg(long, env = "CSEEK_BACKEND", value_name = "URL", conflicts_with_all = ["related", "workspace"])]
    backend: Option<String>,
    /// With --backend: only this repository (repeatable).
    #[arg(long = "repo", value_name = "NAME", requires = "backend")]
    repos: Vec<String>,
    #[command(flatten)]
    fusion: FusionArgs,
}

/// Reciprocal rank fusion parameters (hybrid mode).
#[derive(Args)]
struct FusionArgs {
    /// RRF constant k: larger flattens the difference between top ranks.
    #[arg(long, default_value_t = RrfParams::default().k, value_parser = non_negative_f32)]
    rrf_k: f32,
    /// Weight of the lexical (BM25) list in fusion [default: the index's fitted weight for
    /// natural-language queries (`cseek status` shows it), else 1]. Giving this or
    /// --semantic-weight fixes both.
    #[arg(long, value_parser = finite_f32)]
    lexical_weight: Option<f32>,
    /// Weight of the semantic (vector) list in fusion [default: the index's fitted weight,
    /// else 1].
    #[arg(long, value_parser = finite_f32)]
    semantic_weight: Option<f32>,
    /// Weight of the semantic list for symbol-like queries (`parseConfig`, `Foo::bar`).
    #[arg(long, default_value_t = RrfParams::default().symbol_semantic_weight, value_parser = finite_f32)]
    symbol_semantic_weight: f32,
    /// Weight of file evidence (a file scored by all its chunks lifts its best one; 0 = off).
    #[arg(long, default_value_t = RrfParams::default().file_weight, value_parser = finite_f32)]
    file_weight: f32,
    /// Candidates per retriever that file evidence is gathered from (0 = --depth).
    #[arg(long, default_value_t = RrfParams::default().file_depth)]
    file_depth: usize,
    /// Candidates per retriever before fusion and re-ranking (0 = 100).
    #[arg(long, default_value_t = 0)]
    depth: usize,
    /// Score multiplier per extra chunk of the same file in the results (1 = off).
    #[arg(long, default_value_t = RankParams::default().file_decay, value_parser = finite_f32)]
    file_decay: f32,
    /// Fraction of the score removed from tests/examples/docs/vendored code unless the
    /// query asks for them, and from code for the other platform family (`src/win/` on
    /// Unix) unless the query names a platform (0 = off).
    #[arg(long, default_value_t = RankParams::default().noise_penalty, value_parser = finite_f32)]
    noise_penalty: f32,
    /// Strength of query words found in the file path (0 = off).
    #[arg(long, default_value_t = RankParams::default().path_boost, value_parser = finite_f32)]
    path_boost: f32,
    /// Extra weight of a file whose name is spelled entirely by query words (0 = off).
    #[arg(long, default_value_t = RankParams::default().name_boost, value_parser = finite_f32)]
    name_boost: f32,
    /// Strength of query words found in the chunk's symbol and container names (0 = off).
    #[arg(long, default_value_t = RankParams::default().identifier_boost, value_parser = finite_f32)]
    identifier_boost: f32,
    /// Extra weight of a chunk that defines a symbol named in the query (0 = off).
    #[arg(long, default_value_t = RankParams::default().definition_boost, value_parser = finite_f32)]
    definition_boost: f32,
    /// Share of a file's other good chunks added to each of its chunks (0 = off).
    #[arg(long, default_value_t = RankParams::default().coherence, value_parser = finite_f32)]
    coherence: f32,
    /// Turn every re-ranking signal off (the fused order, unchanged).
    #[arg(long)]
    no_rerank: bool,
    /// How hybrid mode combines the two lists: by rank (rrf) or by standardised score.
    #[arg(long, value_enum, default_value = "rrf")]
    fusion: FusionChoice,
}

/// `--fusion`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum FusionChoice {
    Rrf,
    Scores,
}

impl FusionArgs {
    fn ranking(&self) -> RankParams {
        if self.no_rerank {
            return RankParams::off();
        }
        RankParams {
            file_decay: self.file_decay,
            noise_penalty: self.noise_penalty,
            path_boost: self.path_boost,
            name_boost: self.name_boost,
            identifier_boost: self.identifier_boost,
            definition_boost: self.definition_boost,
            coherence: self.coherence,
        }
    }

    fn params(&self) -> RrfParams {
        RrfParams {
            k: self.rrf_k,
            lexical_weight: self
                .lexical_weight
                .unwrap_or(RrfParams::default().lexical_weight),
            semantic_weight: self
                .semantic_weight
                .unwrap_or(RrfParams::default().semantic_weight),
            fitted_weights: self.lexical_weight.is_none() && self.semantic_weight.is_none(),
            symbol_semantic_weight: self.symbol_semantic_weight,
            file_weight: self.file_weight,
            file_depth: self.file_depth,
            method: match self.fusion {
                FusionChoice::Rrf => cseek::fuse::FusionMethod::Rrf,
                FusionChoice::Scores => cseek::fuse::FusionMethod::Scores,
            },
        }
    }
}

#[derive(Args)]
struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Read every file of the index and check it: cseek's own files against the
    /// checksums in the manifest, tantivy's against theirs, then open it for search.
    /// Exit code 2 and one line per problem when anything is damaged.
    #[arg(long)]
    verify: bool,
}

#[derive(Args)]
struct ChunksArgs {
    /// Files to chunk; a directory is walked as `cseek index` walks it (ignore files,
    /// hidden and excluded directories, size and type checks).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print each chunk's text too.
    #[arg(long)]
    text: bool,
    /// Print JSON lines (one chunk per line) instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct JsonFlag {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Repository suite (the format of shared/bench): index each repo, score every query.
    Repos(EvalReposArgs),
    /// BEIR corpus (corpus.jsonl, queries.jsonl, qrels/test.tsv): one chunk per document.
    Beir(EvalBeirArgs),
    /// Your own repository: queries mined from the index (doc sentence → definition,
    /// name → definition), scored like the repository suite. Uses the index that
    /// `cseek query` would (`--index`, `CSEEK_INDEX`, or `.cseek` above the current
    /// directory).
    #[command(name = "self")]
    SelfEval(EvalSelfArgs),
}

#[derive(Args)]
struct EvalSelfArgs {
    /// Retrievers to use; auto = hybrid when the index has vectors, else lexical.
    #[arg(long, default_value = "auto", value_parser = ["auto", "lexical", "semantic", "hybrid"])]
    mode: String,
    /// Most queries mined per kind (doc, symbol).
    #[arg(long, default_value_t = 200)]
    per_kind: usize,
    /// Where to run the query model: auto, cpu, cuda[:N], metal.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Write the report (with every query and its rank) as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Fit fusion and re-ranking strengths to the mined queries (coordinate ascent from
    /// the given flags) and print the flags of the best setting.
    #[arg(long)]
    fit: bool,
    #[command(flatten)]
    fusion: FusionArgs,
}

#[derive(Args)]
struct EvalReposArgs {
    /// Suite directory (holds the repos file and annotations/).
    #[arg(long)]
    suite: PathBuf,
    /// Repos file, relative to the suite directory.
    #[arg(long, default_value = "dev-repos.json")]
    repos_file: String,
    /// Directory holding the unpacked repositories (`<corpus>/<name>/`).
    #[arg(long)]
    corpus: PathBuf,
    /// Only these repos (repeatable).
    #[arg(long = "repo", value_name = "NAME")]
    repos: Vec<String>,
    #[command(flatten)]
    common: EvalCommon,
    /// Write one JSON line per query with its results (re-scorable).
    #[arg(long, value_name = "FILE")]
    results_out: Option<PathBuf>,
    /// Results asked for per query (at least 10): a deeper list in `--results-out` for
    /// failure analysis; the scores use the first ten.
    #[arg(long, default_value_t = 10, value_name = "N")]
    top_k: usize,
    /// Evaluate through a Milvus backend (milvus://HOST:PORT[/DATABASE][?collection=NAME]):
    /// each repo's index is mirrored into it and queried there.
    #[arg(long, value_name = "URL")]
    backend: Option<String>,
}

#[derive(Args)]
struct EvalBeirArgs {
    /// BEIR directory.
    dir: PathBuf,
    #[command(flatten)]
    common: EvalCommon,
    /// Write one JSON line per query with its results.
    #[arg(long, value_name = "FILE")]
    results_out: Option<PathBuf>,
}

#[derive(Args)]
struct EvalCommon {
    /// Retrievers to use; auto (as `cseek query`) = hybrid when the index has vectors,
    /// else lexical. The report says which ran.
    #[arg(long, default_value = "auto", value_parser = ["auto", "lexical", "semantic", "hybrid"])]
    mode: String,
    /// Embedding model for the indexes (default: the one `cseek index` picks; `none` =
    /// lexical only).
    #[arg(long, value_name = "NAME|DIR")]
    model: Option<String>,
    /// Where to run the model: auto, cpu, cuda[:N], metal.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    #[command(flatten)]
    fusion: FusionArgs,
    /// Where built indexes are cached between runs.
    #[arg(long, default_value = cseek::eval::run::DEFAULT_CACHE_DIR, value_name = "DIR")]
    cache: PathBuf,
    /// Rebuild indexes even when the cached one matches the corpus and settings.
    #[arg(long)]
    rebuild: bool,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let key = ["CSEEK_API_KEY", "OPENAI_API_KEY"]
        .iter()
        .find_map(|v| std::env::var(v).ok().and_then(ApiKey::new));
    let _ = embed::REMOTE.set(RemoteOptions {
        endpoint: cli.endpoint.clone(),
        api_key: key,
        ..RemoteOptions::default()
    });
    // The program owns its process: keep freed memory for the next batch (see
    // `cseek::embed::alloc`; the library never does this to its host).
    cseek::embed::alloc::tune_malloc();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            // `{:#}` prints the chain of causes on one line: "context: cause".
            eprintln!("{} {err:#}", style("error:").for_stderr().red().bold());
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Query(args) = cli.command {
        return cmd_query(&cli.index, args);
    }
    let index = match cli.index.as_slice() {
        [] => None,
        [one] => Some(one.as_path()),
        _ => bail!("only `cseek query` takes several --index; give this command one"),
    };
    match cli.command {
        Command::Index(args) => cmd_index(index, args),
        Command::Watch(args) => cmd_watch(index, args),
        Command::Query(_) => unreachable!("handled above"),
        Command::Status(args) => cmd_status(index, args),
        Command::Languages(args) => cmd_languages(args),
        Command::Chunks(args) => cmd_chunks(args),
        Command::Eval(cmd) => cmd_eval(index, cmd),
        Command::Models(args) => embed::cmd_models(args),
        Command::Embed(args) => embed::cmd_embed(args),
        Command::Model(cmd) => embed::cmd_model(index, cmd),
        Command::Mcp(args) => cmd_mcp(index, args),
        Command::Lsp(args) => cmd_lsp(index, args),
        Command::Serve(args) => cmd_serve(args),
    }
}

fn positive(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{s:?} is not a positive whole number")),
    }
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let mult = match c.to_ascii_uppercase() {
                'K' => 1024,
                'M' => 1024 * 1024,
                'G' => 1024 * 1024 * 1024,
                _ => return Err(format!("unknown size suffix {c:?}; use K, M or G")),
            };
            (&s[..i], mult)
        }
        _ => (s, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 1048576, 512K, 1M)"))?;
    n.checked_mul(mult).ok_or_else(|| "size too large".into())
}

/// Fusion and ranking strengths must be finite: NaN or infinity would turn every score
/// into NaN or infinity and the order into noise.
fn finite_f32(s: &str) -> Result<f32, String> {
    let v: f32 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("{s} is not a finite number"))
    }
}

/// The RRF constant is added to ranks (`weight / (k + rank)`); below 0 a score divides by
/// zero or turns negative.
fn non_negative_f32(s: &str) -> Result<f32, String> {
    let v = finite_f32(s)?;
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{s} is negative; use 0 or more"))
    }
}

fn cwd() -> anyhow::Result<PathBuf> {
    std::env::current_dir().context("cannot read the current directory")
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, files: u64) {
        self.0.set_length(files);
        self.0.set_message("chunking");
    }
    fn file_done(&self) {
        self.0.inc(1);
    }
    fn embedded(&self, done: u64, total: u64) {
        self.0
            .set_message(format!("embedded {done}/{total} chunks"));
    }
    fn finishing(&self) {
        self.0.set_message("writing index");
    }
    fn warn(&self, message: &str) {
        self.0.suspend(|| {
            eprintln!(
                "{} {message}",
                style("warning:").for_stderr().yellow().bold()
            );
        });
    }
}

fn model_choice(model: Option<&str>) -> ModelChoice {
    match model {
        None => ModelChoice::Default,
        Some("none" | "off") => ModelChoice::Off,
        Some(m) => ModelChoice::Named(m.to_string()),
    }
}

fn embed_options(device: &str) -> anyhow::Result<EmbedOptions> {
    let device: DeviceRequest = device
        .parse()
        .map_err(|e| anyhow::anyhow!("bad --device {device:?}: {e}"))?;
    Ok(EmbedOptions {
        device,
        // The command line may fetch a model from the hub (HF_HUB_OFFLINE=1 stops it).
        allow_download: true,
        kernels: embed::kernels_from_env()?,
        remote: embed::remote_options(),
        ..EmbedOptions::default()
    })
}

/// The options `cseek index` and `cseek watch` share.
fn index_options(index: Option<&Path>, args: &IndexArgs) -> anyhow::Result<IndexOptions> {
    let mut opts = IndexOptions::new(&args.path);
    if let Some(dir) = index {
        opts.index_dir = dir.to_path_buf();
    }
    opts.walk = WalkOptions {
        max_file_bytes: args.max_file_size,
        exclude: args.exclude.clone(),
        use_default_excludes: !args.no_default_excludes,
        follow_links: args.follow,
        lossy_utf8: !args.strict_utf8,
    };
    opts.chunk.max_chunk_bytes = args.max_chunk_bytes.max(256);
    opts.model = model_choice(args.model.as_deref());
    opts.embed = embed_options(&args.device)?;
    if args.f16 {
        opts.vectors.dtype = VectorDtype::F16;
    }
    opts.rebuild = args.rebuild;
    Ok(opts)
}

fn cmd_index(index: Option<&Path>, args: IndexArgs) -> anyhow::Result<ExitCode> {
    let opts = index_options(index, &args)?;
    let show_bar = !args.quiet && !args.json && std::io::stderr().is_terminal();
    let bar = ProgressBar::new(0);
    if show_bar {
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} files ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let result = if args.only.is_empty() {
        build_index(&opts, &Bar(bar.clone()))
    } else {
        // As typed: relative to the current directory, which the library resolves against
        // the root when given absolute paths.
        let here = cwd()?;
        let paths: Vec<PathBuf> = args.only.iter().map(|p| here.join(p)).collect();
        cseek::index::Indexer::new(opts.clone()).update_paths(&paths, &Bar(bar.clone()))
    };
    bar.finish_and_clear();
    let summary = result.with_context(|| format!("indexing {}", args.path.display()))?;
    let synced = match &args.backend {
        Some(url) => Some(sync_backend(url, &opts, &summary, args.repo.as_deref())?),
        None => None,
    };
    if args.json {
        let mut json = summary_json(&summary);
        if let (Some(s), Some(obj)) = (&synced, json.as_object_mut()) {
            obj.insert("backend".into(), serde_json::to_value(s)?);
        }
        println!("{json}");
        return Ok(ExitCode::SUCCESS);
    }
    report_index(&summary, args.quiet, args.timings);
    if let (Some(s), false) = (&synced, args.quiet) {
        eprintln!("{}", sync_line(s));
    }
    Ok(ExitCode::SUCCESS)
}

/// Mirror the index just built into the Milvus backend at `url`.
fn sync_backend(
    url: &str,
    opts: &IndexOptions,
    summary: &IndexSummary,
    repo: Option<&str>,
) -> anyhow::Result<cseek::milvus::SyncSummary> {
    let url = cseek::milvus::MilvusUrl::parse(url)?;
    let repo = match repo {
        Some(r) => r.to_string(),
        None => {
            let root = std::fs::canonicalize(&opts.root).unwrap_or_else(|_| opts.root.clone());
            cseek::milvus::default_repo_name(&root)
        }
    };
    Ok(cseek::milvus::sync_index(&summary.index_dir, &url, &repo)?)
}

/// What `cseek index --backend` says about the sync (stderr).
fn sync_line(s: &cseek::milvus::SyncSummary) -> String {
    format!(
        "milvus: {}{} files ({} chunks) sent, {} removed; repo `{}` holds {} chunks at {} ({:.2} s)",
        if s.full { "full sync, " } else { "" },
        s.files_sent,
        s.chunks_sent,
        s.files_removed,
        s.repo,
        s.chunks,
        s.backend,
        s.seconds
    )
}

/// `cseek query --backend URL`: the collection's searches, fused and re-ranked here.
fn cmd_query_backend(url: &str, args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let query = args.query.join(" ");
    if query.trim().is_empty() {
        bail!("the query is empty; give some words or a symbol name");
    }
    let req = query_request(&query, args)?;
    let url = cseek::milvus::MilvusUrl::parse(url)?;
    let t_open = std::time::Instant::now();
    let searcher = cseek::milvus::MilvusSearcher::open(&url, query_search_options(args)?)?;
    let open_ms = t_open.elapsed().as_secs_f64() * 1e3;
    let t_search = std::time::Instant::now();
    let results = searcher.search(&req, &args.repos)?;
    let search_ms = t_search.elapsed().as_secs_f64() * 1e3;
    for note in &results.notes {
        eprintln!("{} {note}", style("note:").for_stderr().yellow().bold());
    }
    if args.timings {
        let t = &results.timings;
        eprintln!(
            "timings (ms): connect {open_ms:.2}, model load {:.1}, query embedding {:.2}, \
             milvus search {:.2}, re-rank {:.2}, search total {search_ms:.2}",
            t.model_load_ms, t.embed_ms, t.vector_ms, t.fuse_ms
        );
    }
    let mut out = std::io::stdout().lock();
    let format = if args.json {
        "json"
    } else {
        args.format.as_str()
    };
    match format {
        "json" => {
            #[derive(serde::Serialize)]
            struct Output<'a> {
                query: &'a str,
                mode: Mode,
                backend: String,
                results: &'a [cseek::milvus::RepoHit],
            }
            let json = Output {
                query: &query,
                mode: results.mode,
                backend: url.to_string(),
                results: &results.hits,
            };
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
        "jsonl" => {
            for hit in &results.hits {
                writeln!(out, "{}", serde_json::to_string(hit)?)?;
            }
        }
        _ if results.hits.is_empty() && format == "text" => {
            eprintln!("no results for {query:?}")
        }
        _ => print_labelled_hits(
            &mut out,
            results
                .hits
                .iter()
                .map(|h| (format!("{}/{}", h.repo, h.hit.path), &h.hit)),
            format,
            args.lines,
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Hits from several roots (indexes, or a backend's repositories) in a text format, each
/// under the path it is shown by: `files` (unique paths), `vimgrep`, or `text`.
fn print_labelled_hits<'a>(
    out: &mut impl Write,
    hits: impl Iterator<Item = (String, &'a SearchHit)>,
    format: &str,
    lines: usize,
) -> std::io::Result<()> {
    let mut seen = std::collections::HashSet::new();
    for (path, hit) in hits {
        match format {
            "files" => {
                if seen.insert(path.clone()) {
                    writeln!(out, "{path}")?;
                }
            }
            "vimgrep" => {
                let first = hit.text.lines().next().unwrap_or_default().trim_end();
                writeln!(out, "{path}:{}:1:{first}", hit.start_line)?;
            }
            _ => {
                let shown = SearchHit {
                    path,
                    ..hit.clone()
                };
                print_hit(out, &shown, lines)?;
            }
        }
    }
    Ok(())
}

/// The one-object summary of an indexing run (`cseek index --json`).
fn summary_json(summary: &IndexSummary) -> serde_json::Value {
    serde_json::Value::Object(summary.to_json())
}

/// What `cseek index` says about a finished index (stderr).
fn report_index(summary: &IndexSummary, quiet: bool, timings: bool) {
    if !quiet {
        eprintln!("{}", summary_line(summary));
        if let Some(why) = &summary.model_reason {
            eprintln!("{why}");
        }
        match &summary.embedding {
            Some(e) => eprintln!(
                "semantic search on: {} vectors from model `{}` ({} dims, {:.1} s embedding)",
                summary.chunks, e.model, e.dims, e.seconds
            ),
            None => eprintln!("semantic search off: lexical (BM25) index only"),
        }
        // Too few doc comments is normal (`cseek status` says so); a failed fit is news.
        if let Some(note) = summary
            .fusion_note
            .as_deref()
            .filter(|n| n.starts_with(cseek::index::FUSION_FIT_FAILED))
        {
            eprintln!("warning: fusion weights left at 1 : 1, {note}");
        }
    }
    if timings {
        eprintln!("stages: {}", stages_line(summary));
    }
}

fn stages_line(summary: &IndexSummary) -> String {
    let stages: Vec<String> = summary
        .stage_seconds
        .iter()
        .map(|(stage, s)| format!("{stage} {s:.3} s"))
        .collect();
    stages.join(", ")
}

fn cmd_watch(index: Option<&Path>, args: WatchArgs) -> anyhow::Result<ExitCode> {
    let mut opts = index_options(index, &args.index)?;
    // `--rebuild` applies to the first update only: later ones are incremental.
    let rebuild_first = std::mem::take(&mut opts.rebuild);
    let settings = WatchOptions {
        rebuild_first,
        debounce: Duration::from_millis(args.debounce_ms),
        max_delay: Duration::from_millis(args.max_delay_ms),
        ..WatchOptions::default()
    };
    let stop = StopHandle::new();
    let on_signal = stop.clone();
    // Ctrl-C (and SIGTERM, SIGHUP) stop the watch; an update in flight finishes first.
    // A second one exits at once: every commit is an atomic rename, so the index on
    // disk is whole either way.
    ctrlc::set_handler(move || {
        if on_signal.is_stopped() {
            eprintln!("interrupted again: exiting now");
            std::process::exit(130);
        }
        on_signal.stop();
    })
    .context("installing the Ctrl-C handler")?;
    let (json, quiet, timings) = (args.index.json, args.index.quiet, args.index.timings);
    let backend = args.index.backend.clone();
    let repo = args.index.repo.clone();
    let mut on_event = |event: WatchEvent| {
        print_watch_event(&event, json, quiet, timings);
        // `--backend`: every update is mirrored (a failure is reported, the watch goes on
        // and the next update sends what was missed).
        if let (WatchEvent::Updated(u), Some(url)) = (&event, &backend) {
            match sync_backend(url, &opts, &u.summary, repo.as_deref()) {
                Ok(s) if json => {
                    println!("{}", serde_json::json!({"event": "mirrored", "backend": s}))
                }
                Ok(s) if !quiet => eprintln!("{}", sync_line(&s)),
                Ok(_) => {}
                Err(e) if json => println!(
                    "{}",
                    serde_json::json!({"event": "error", "message": format!("{e:#}")})
                ),
                Err(e) => eprintln!("{} {e:#}", style("error:").for_stderr().red().bold()),
            }
        }
    };
    watch(&opts, &settings, &stop, &mut on_event)
        .with_context(|| format!("watching {}", args.index.path.display()))?;
    if json {
        println!("{}", serde_json::json!({"event": "stopped"}));
    } else if !quiet {
        eprintln!("stopped; the index is current as of the last update");
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_mcp(index: Option<&Path>, args: McpArgs) -> anyhow::Result<ExitCode> {
    if index.is_some() && args.paths.len() > 1 {
        bail!("--index names the index of one directory; serve several without it");
    }
    let embed = embed_options(&args.device)?;
    let mut indexes = Vec::with_capacity(args.paths.len());
    for path in &args.paths {
        let mut opts = IndexOptions::new(path);
        if let Some(dir) = index {
            opts.index_dir = dir.to_path_buf();
        }
        opts.model = model_choice(args.model.as_deref());
        opts.embed = embed.clone();
        if args.verbose {
            eprintln!(
                "cseek mcp: serving {} (index {}) on stdio",
                path.display(),
                opts.index_dir.display()
            );
        }
        indexes.push(opts);
    }
    let search = SearchOptions {
        // Queries follow the index's model; naming it is only needed to pick one for a
        // first build, and `none` must not clash with an index that has vectors.
        model: None,
        embed,
        ..SearchOptions::default()
    };
    let backend = match &args.backend {
        Some(url) => Some(cseek::milvus::MilvusUrl::parse(url)?),
        None => None,
    };
    cseek::mcp::serve_stdio(cseek::mcp::McpOptions {
        indexes,
        search,
        verbose: args.verbose,
        watch: args.watch,
        backend,
    })?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_lsp(index: Option<&Path>, args: LspArgs) -> anyhow::Result<ExitCode> {
    let mut opts = IndexOptions::new(args.path.clone().unwrap_or_default());
    opts.model = model_choice(args.model.as_deref());
    opts.embed = embed_options(&args.device)?;
    let search = SearchOptions {
        // As for `cseek mcp`: queries follow the index's model.
        model: None,
        embed: opts.embed.clone(),
        ..SearchOptions::default()
    };
    cseek::lsp::serve_stdio(cseek::lsp::LspOptions {
        root: args.path,
        index_dir: index.map(Path::to_path_buf),
        index: opts,
        search,
        update_on_start: !args.no_update,
    })?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    use std::net::ToSocketAddrs;
    let addr = args
        .addr
        .to_socket_addrs()
        .with_context(|| format!("bad --addr {:?} (HOST:PORT)", args.addr))?
        .next()
        .with_context(|| format!("--addr {:?} resolves to no address", args.addr))?;
    if cseek::embed::remote::parse_spec(&args.model).is_some() {
        bail!(
            "`{}` is a model on another server; cseek serve serves a model it runs itself \
             (a registry name, Hugging Face id or model directory)",
            args.model
        );
    }
    let opts = args.load.options()?;
    if let Some(n) = opts.threads {
        cseek::embed::set_threads(n); // the program owns its process
    }
    let embedder = cseek::embed::Embedder::load(&args.model, &opts)
        .with_context(|| format!("loading model `{}`", args.model))?;
    let device = embedder.info().device.clone();
    let server = cseek::serve::Server::bind(
        embedder,
        &cseek::serve::ServeOptions {
            addr,
            name: args.name,
            aliases: vec![args.model.clone()],
            max_batch_tokens: args.max_batch_tokens,
            max_request_bytes: usize::try_from(args.max_request_bytes).unwrap_or(usize::MAX),
            max_inputs: args.max_inputs,
            queue: args.queue,
        },
    )?;
    let local = server.local_addr();
    if !local.ip().is_loopback() {
        eprintln!(
            "{} listening on {local}, which is not loopback: cseek serve has no \
             authentication, anyone who can reach this address can use the model",
            style("warning:").yellow().bold().for_stderr()
        );
    }
    // Ctrl-C (and SIGTERM, SIGHUP) stop the server: waiting requests are answered 503,
    // open ones get a few seconds. A second one exits at once.
    let stop = server.shutdown_handle();
    let stopping = std::sync::atomic::AtomicBool::new(false);
    ctrlc::set_handler(move || {
        if stopping.swap(true, std::sync::atomic::Ordering::SeqCst) {
            eprintln!("interrupted again: exiting now");
            std::process::exit(130);
        }
        stop.shutdown();
    })
    .context("installing the Ctrl-C handler")?;
    eprintln!(
        "cseek serve: ready on http://{local} (model {}, {} dims, {device}): POST /v1/embeddings \
         (OpenAI), POST /api/embed (Ollama); Ctrl-C stops",
        server.model_name(),
        server.dims()
    );
    server.run()?;
    eprintln!("cseek serve: stopped");
    Ok(ExitCode::SUCCESS)
}

fn print_watch_event(event: &WatchEvent, json: bool, quiet: bool, timings: bool) {
    if json {
        if let WatchEvent::Error { message, .. } = event {
            eprintln!(
                "{} update failed: {message}",
                style("error:").for_stderr().red().bold()
            );
        }
        if let Some(value) = watch_event_json(event) {
            println!("{value}");
        }
        return;
    }
    match event {
        WatchEvent::Updated(u) if u.trigger.cause == Cause::Start => {
            report_index(&u.summary, quiet, timings);
        }
        WatchEvent::Updated(u) => {
            if !quiet {
                println!("{}", update_line(u));
            }
            if timings {
                eprintln!("stages: {}", stages_line(&u.summary));
            }
        }
        WatchEvent::Watching { root, .. } if !quiet => {
            eprintln!("watching {} (Ctrl-C to stop)", root.display());
        }
        WatchEvent::Error {
            message,
            trigger,
            retry_in,
        } => eprintln!(
            "{} update failed ({}; retrying in {} s): {message}",
            style("error:").for_stderr().red().bold(),
            trigger_text(trigger),
            retry_in.as_secs_f64().round()
        ),
        WatchEvent::Warning(message) => {
            eprintln!(
                "{} {message}",
                style("warning:").for_stderr().yellow().bold()
            );
        }
        WatchEvent::RootMissing { root } => eprintln!(
            "{} {} is gone (deleted or moved); waiting for it to come back (Ctrl-C to stop)",
            style("note:").for_stderr().yellow().bold(),
            root.display()
        ),
        WatchEvent::RootBack { root } => {
            eprintln!(
                "{} {} is back; updating",
                style("note:").for_stderr().yellow().bold(),
                root.display()
            );
        }
        _ => {}
    }
}

/// `updated in 84 ms (index 31 ms): 120 files, 950 chunks, 3 skipped — 2 events, 1 path: src/lib.rs`
fn update_line(u: &Update) -> String {
    let s = &u.summary;
    let skipped: u64 = s.skipped.values().sum();
    let embedded = if s.embedding.is_some() {
        format!(
            ", {} chunks embedded ({} cached)",
            s.chunks_embedded, s.chunks_cached
        )
    } else {
        String::new()
    };
    format!(
        "updated in {} ms (index {} ms): {} changed, {} removed{embedded}; {} files, {} chunks, {skipped} skipped — {}",
        u.latency.as_millis(),
        u.took.as_millis(),
        s.files_changed,
        s.files_removed,
        s.files,
        s.chunks,
        trigger_text(&u.trigger)
    )
}

fn trigger_text(t: &Trigger) -> String {
    if t.cause != Cause::Changes {
        return t.cause.name().replace('-', " ");
    }
    let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut text = format!(
        "{}, {}",
        plural(t.events, "event"),
        plural(t.paths as u64, "path")
    );
    if !t.examples.is_empty() {
        text.push_str(": ");
        text.push_str(&t.examples.join(", "));
        if t.paths > t.examples.len() {
            text.push_str(", …");
        }
    }
    text
}

fn watch_event_json(event: &WatchEvent) -> Option<serde_json::Value> {
    let trigger = |t: &Trigger| {
        serde_json::json!({
            "cause": t.cause.name(),
            "events": t.events,
            "paths": t.paths,
            "examples": t.examples,
        })
    };
    Some(match event {
        WatchEvent::Updated(u) => {
            let s = &u.summary;
            let mut event = s.to_json();
            for (key, value) in [
                ("event", serde_json::json!("updated")),
                (
                    "latency_ms",
                    serde_json::json!(u.latency.as_secs_f64() * 1e3),
                ),
                ("index_ms", serde_json::json!(u.took.as_secs_f64() * 1e3)),
                (
                    "skipped",
                    serde_json::json!(s.skipped.values().sum::<u64>()),
                ),
                (
                    "model",
                    serde_json::json!(s.embedding.as_ref().map(|e| e.model.as_str())),
                ),
                ("index_dir", serde_json::json!(s.index_dir)),
                ("trigger", trigger(&u.trigger)),
            ] {
                event.insert(key.to_string(), value);
            }
            serde_json::Value::Object(event)
        }
        WatchEvent::Watching { root, index_dir } => {
            serde_json::json!({"event": "watching", "root": root, "index_dir": index_dir})
        }
        WatchEvent::Error {
            message,
            trigger: t,
            retry_in,
        } => serde_json::json!({
            "event": "error",
            "message": message,
            "trigger": trigger(t),
            "retry_in_ms": retry_in.as_millis() as u64,
        }),
        WatchEvent::Warning(message) => {
            serde_json::json!({"event": "warning", "message": message})
        }
        WatchEvent::RootMissing { root } => {
            serde_json::json!({"event": "root-missing", "root": root})
        }
        WatchEvent::RootBack { root } => serde_json::json!({"event": "root-back", "root": root}),
        _ => return None,
    })
}

fn summary_line(s: &IndexSummary) -> String {
    let skipped: u64 = s.skipped.values().sum();
    let detail = if skipped == 0 {
        String::new()
    } else {
        let parts: Vec<String> = s.skipped.iter().map(|(r, n)| format!("{n} {r}")).collect();
        format!(" ({})", parts.join(", "))
    };
    let run = match s.kind {
        RunKind::Unchanged => "up to date".to_string(),
        RunKind::Incremental => format!(
            "updated: {} changed, {} removed",
            s.files_changed, s.files_removed
        ),
        RunKind::Full => format!(
            "full build{}",
            s.full_reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ),
    };
    let vectors = if s.embedding.is_some() && s.kind != RunKind::Unchanged {
        format!(
            "; {} chunks embedded, {} from cache",
            s.chunks_embedded, s.chunks_cached
        )
    } else {
        String::new()
    };
    format!(
        "indexed {} files, {} chunks ({run}{vectors}), skipped {skipped}{detail} in {:.2} s -> {}",
        s.files,
        s.chunks,
        s.seconds,
        s.index_dir.display()
    )
}

fn open_searcher(index: Option<&Path>, options: SearchOptions) -> anyhow::Result<Searcher> {
    let dir = store::find_index_dir(index, &cwd()?)?;
    Ok(Searcher::open_with(&dir, options)?)
}

/// The indexes a query searches: every `--index`, then the workspace file's entries.
fn query_indexes(indexes: &[PathBuf], workspace: Option<&Path>) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = indexes.to_vec();
    if let Some(file) = workspace {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the workspace file {}", file.display()))?;
        let base = file.parent().unwrap_or(Path::new("."));
        for line in text.lines() {
            let entry = line.split('#').next().unwrap_or_default().trim();
            if !entry.is_empty() {
                out.push(base.join(entry));
            }
        }
        if out.len() == indexes.len() {
            bail!("the workspace file {} lists no roots", file.display());
        }
    }
    Ok(out)
}

fn cmd_query(indexes: &[PathBuf], args: QueryArgs) -> anyhow::Result<ExitCode> {
    if let Some(url) = &args.backend {
        return cmd_query_backend(url, &args);
    }
    let dirs = query_indexes(indexes, args.workspace.as_deref())?;
    if dirs.len() > 1 {
        return cmd_query_many(&dirs, args);
    }
    let index = dirs.first().map(PathBuf::as_path);
    let query = args.query.join(" ");
    if args.related.is_none() && query.trim().is_empty() {
        bail!("the query is empty; give some words or a symbol name");
    }
    // Flags are checked before the index is opened.
    let req = query_request(&query, &args)?;
    let t_open = std::time::Instant::now();
    let options = query_search_options(&args)?;
    let searcher = open_searcher(index, options)?;
    let open_ms = t_open.elapsed().as_secs_f64() * 1e3;
    let t_search = std::time::Instant::now();
    let (query, results) = match &args.related {
        None => (query, searcher.search(&req)?),
        Some(place) => related_results(&searcher, place, args.top_k)?,
    };
    let search_ms = t_search.elapsed().as_secs_f64() * 1e3;
    for note in &results.notes {
        eprintln!("{} {note}", style("note:").for_stderr().yellow().bold());
    }
    if args.timings {
        let t = &results.timings;
        eprintln!(
            "timings (ms): open {open_ms:.2}, model load {:.1}, query embedding {:.2}, \
             bm25 {:.2}, vectors {:.2}, fusion+fetch {:.2}, search total {search_ms:.2}",
            t.model_load_ms, t.embed_ms, t.lexical_ms, t.vector_ms, t.fuse_ms
        );
    }
    let hits = &results.hits;
    let mut out = std::io::stdout().lock();
    let format = if args.json {
        "json"
    } else {
        args.format.as_str()
    };
    match format {
        "json" => {
            // A struct, not `json!`, so keys keep this documented order.
            #[derive(serde::Serialize)]
            struct Output<'a> {
                query: &'a str,
                mode: Mode,
                results: &'a [SearchHit],
            }
            let json = Output {
                query: &query,
                mode: results.mode,
                results: hits,
            };
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
        "jsonl" => {
            for hit in hits {
                writeln!(out, "{}", serde_json::to_string(hit)?)?;
            }
        }
        "vimgrep" | "files" => {
            let root = &searcher.store().meta().root;
            // Canonical, like the recorded root, so that prefixes compare.
            let here = cwd().map(|d| std::fs::canonicalize(&d).unwrap_or(d))?;
            let mut seen = std::collections::HashSet::new();
            for hit in hits {
                let path = display_path(root, &here, &hit.path);
                if format == "files" {
                    if seen.insert(path.clone()) {
                        writeln!(out, "{path}")?;
                    }
                    continue;
                }
                // The chunk's first line, on one line (quickfix entries are lines).
                let first = hit.text.lines().next().unwrap_or_default().trim_end();
                writeln!(out, "{path}:{}:1:{first}", hit.start_line)?;
            }
        }
        _ if hits.is_empty() => eprintln!("no results for {query:?}"),
        _ => {
            for hit in hits {
                print_hit(&mut out, hit, args.lines)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How `cseek query` opens its searcher(s): model, device, fusion and ranking flags.
fn query_search_options(args: &QueryArgs) -> anyhow::Result<SearchOptions> {
    Ok(SearchOptions {
        model: args.model.clone(),
        embed: embed_options(&args.device)?,
        fusion: args.fusion.params(),
        ranking: args.fusion.ranking(),
        depth: args.fusion.depth,
    })
}

/// The request `cseek query` sends: the query with its top-k, mode and filters.
fn query_request(query: &str, args: &QueryArgs) -> anyhow::Result<SearchRequest> {
    let mut languages = Vec::new();
    for name in &args.lang {
        match Language::from_name(name) {
            Some(l) => languages.push(l),
            None => bail!(cseek::lang::unknown_language_message(name)),
        }
    }
    Ok(SearchRequest {
        query: query.to_string(),
        top_k: args.top_k,
        mode: Mode::from_name(&args.mode).unwrap_or_default(),
        languages,
        path_glob: args.path.clone(),
    })
}

/// `cseek query` over several indexes, merged into one list (see
/// `cseek::search::MultiSearcher`); every hit is shown with its root.
fn cmd_query_many(dirs: &[PathBuf], args: QueryArgs) -> anyhow::Result<ExitCode> {
    if args.related.is_some() {
        bail!("--related searches one index; give one --index");
    }
    let query = args.query.join(" ");
    if query.trim().is_empty() {
        bail!("the query is empty; give some words or a symbol name");
    }
    let req = query_request(&query, &args)?;
    let here = cwd().map(|d| std::fs::canonicalize(&d).unwrap_or(d))?;
    let mut index_dirs = Vec::with_capacity(dirs.len());
    for dir in dirs {
        index_dirs.push(store::find_index_dir(Some(dir), &here)?);
    }
    let options = query_search_options(&args)?;
    let searcher = cseek::search::MultiSearcher::open(&index_dirs, &options)?;
    let results = searcher.search(&req)?;
    for note in &results.notes {
        eprintln!("{} {note}", style("note:").for_stderr().yellow().bold());
    }
    let mut out = std::io::stdout().lock();
    let format = if args.json {
        "json"
    } else {
        args.format.as_str()
    };
    match format {
        "json" => {
            #[derive(serde::Serialize)]
            struct Output<'a> {
                query: &'a str,
                modes: &'a [Mode],
                merge: cseek::search::Merge,
                results: &'a [cseek::search::MultiHit],
            }
            let json = Output {
                query: &query,
                modes: &results.modes,
                merge: results.merge,
                results: &results.hits,
            };
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
        "jsonl" => {
            for hit in &results.hits {
                writeln!(out, "{}", serde_json::to_string(hit)?)?;
            }
        }
        _ if results.hits.is_empty() && format == "text" => {
            eprintln!("no results for {query:?}")
        }
        _ => print_labelled_hits(
            &mut out,
            results
                .hits
                .iter()
                .map(|h| (display_path(&h.root, &here, &h.hit.path), &h.hit)),
            format,
            args.lines,
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `--related PATH:LINE`: the related chunks as search results (labelled by their source).
fn related_results(
    searcher: &Searcher,
    place: &str,
    top_k: usize,
) -> anyhow::Result<(String, cseek::search::SearchResults)> {
    let (path, line) = place
        .rsplit_once(':')
        .and_then(|(p, l)| Some((p, l.parse::<u32>().ok()?)))
        .ok_or_else(|| anyhow::anyhow!("--related takes PATH:LINE, got {place:?}"))?;
    // A path as typed (relative to the current directory) or already root-relative.
    let root = &searcher.store().meta().root;
    let rel = std::fs::canonicalize(path)
        .ok()
        .and_then(|abs| abs.strip_prefix(root).ok().map(Path::to_path_buf))
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_else(|| path.to_string());
    let related = searcher.related(RelatedTo::Line { path: &rel, line }, top_k)?;
    let mode = if related.method == "vectors" {
        Mode::Semantic
    } else {
        Mode::Lexical
    };
    Ok((
        format!("related to {}", related.source),
        cseek::search::SearchResults {
            mode,
            hits: related.hits,
            notes: Vec::new(),
            timings: Default::default(),
        },
    ))
}

/// A root-relative result path as an editor opens it from `here`: relative when the file
/// is below `here`, absolute otherwise.
fn display_path(root: &Path, here: &Path, rel: &str) -> String {
    let abs = root.join(rel);
    match abs.strip_prefix(here) {
        Ok(p) => p.to_string_lossy().into_owned(),
        Err(_) => abs.to_string_lossy().into_owned(),
    }
}

fn print_hit(out: &mut impl Write, hit: &SearchHit, lines: usize) -> std::io::Result<()> {
    let symbol = match (&hit.container, &hit.symbol) {
        (Some(c), Some(s)) => format!("{c}.{s}"),
        (None, Some(s)) => s.clone(),
        _ => format!("<{}>", hit.kind),
    };
    writeln!(
        out,
        "{}  {}  {}",
        style(format!("{}:{}-{}", hit.path, hit.start_line, hit.end_line))
            .green()
            .bold(),
        style(symbol).cyan(),
        style(format!("{:.3}", hit.score)).dim()
    )?;
    for line in hit.text.lines().take(lines) {
        writeln!(out, "    {}", style(line).dim())?;
    }
    writeln!(out)
}

/// `cseek status --verify`.
fn verify_index(dir: &Path) -> anyhow::Result<ExitCode> {
    let store = Store::open(dir)?;
    let mut problems = store.verify()?;
    let lexical_dir = store.generation_dir().join(store::LEXICAL_DIR);
    problems.extend(
        cseek::lexical::verify(&lexical_dir)?
            .into_iter()
            .map(|p| format!("{}/{p}", store::LEXICAL_DIR)),
    );
    if problems.is_empty() {
        if let Err(e) = Searcher::open(dir) {
            problems.push(e.to_string());
        }
    }
    if problems.is_empty() {
        println!(
            "index {} ({}) verified: every file intact",
            dir.display(),
            store.generation()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for p in &problems {
        eprintln!("damaged: {p}");
    }
    bail!(
        "the index at {} is damaged ({} problems); rebuild it with `cseek index --rebuild`",
        dir.display(),
        problems.len()
    )
}

fn cmd_status(index: Option<&Path>, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let dir = store::find_index_dir(index, &cwd()?)?;
    if args.verify {
        return verify_index(&dir);
    }
    let store = Store::open(&dir)?;
    let meta = store.meta();
    let age = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs().saturating_sub(meta.created_unix))
        .unwrap_or(0);
    if args.json {
        let json = serde_json::json!({
            "index_dir": dir,
            "generation": store.generation(),
            "age_seconds": age,
            "meta": meta,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("index      {}", dir.display());
    println!("root       {}", meta.root.display());
    println!(
        "format     v{} (written by cseek {})",
        meta.format_version, meta.cseek_version
    );
    println!(
        "built      {} ago, in {:.2} s",
        human_duration(age),
        meta.seconds
    );
    println!("files      {}", meta.files);
    println!("chunks     {}", meta.chunks);
    if meta.dead_chunks > 0 {
        // Left by incremental updates until a compaction; searches skip them.
        println!(
            "dead       {} chunk records of removed or changed files",
            meta.dead_chunks
        );
    }
    match (&meta.embedding, &meta.semantic_off_reason) {
        (Some(e), _) => println!(
            "semantic   on: model `{}`{}, {} dims, {} vectors ({}){}",
            e.model,
            match (&e.endpoint, &e.hf_id) {
                (Some(url), _) => format!(" at {url}"),
                (None, Some(h)) => format!(" ({h})"),
                (None, None) => String::new(),
            },
            e.dims,
            meta.chunks,
            e.vector_dtype,
            if e.graph {
                ", HNSW graph"
            } else {
                ", exact scan"
            }
        ),
        (None, Some(reason)) => println!("semantic   off: {reason}"),
        (None, None) => println!("semantic   off"),
    }
    if let Some(fit) = meta.fusion.as_ref().filter(|f| f.prior) {
        let (l, s) = fit.weights();
        let why = meta.fusion_note.as_deref().unwrap_or("not fitted");
        println!(
            "fusion     lexical {l:.1} : semantic {s:.1} for questions in words, the static \
             model's prior ({why})"
        );
    } else if let Some(fit) = &meta.fusion {
        let (l, s) = fit.weights();
        println!(
            "fusion     lexical {l:.1} : semantic {s:.1} for questions in words, fitted on {} \
             doc comments",
            fit.pairs
        );
    } else if let Some(note) = &meta.fusion_note {
        println!("fusion     lexical 1.0 : semantic 1.0 (the default; {note})");
    }
    if !meta.languages.is_empty() {
        println!("languages");
        for (lang, c) in &meta.languages {
            println!(
                "  {:<12} {:>7} files {:>8} chunks",
                lang.name(),
                c.files,
                c.chunks
            );
        }
    }
    let skipped: u64 = meta.skipped.values().sum();
    println!("skipped    {skipped}");
    for (reason, n) in &meta.skipped {
        let examples = meta
            .skipped_examples
            .get(reason)
            .map(|v| v.join(", "))
            .unwrap_or_default();
        println!("  {:<17} {n:>6}  e.g. {examples}", reason.name());
    }
    if meta.lossy_utf8_files > 0 {
        println!(
            "note       {} files were not valid UTF-8 and were decoded lossily",
            meta.lossy_utf8_files
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn human_duration(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", secs / 60),
        3600..=86_399 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

fn cmd_chunks(args: ChunksArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let opts = cseek::chunk::ChunkOptions::default();
    let mut files: Vec<PathBuf> = Vec::new();
    for path in &args.files {
        if path.is_dir() {
            let (found, _) = cseek::walk::walk(path, &cseek::walk::WalkOptions::default(), None)
                .with_context(|| format!("walking {}", path.display()))?;
            files.extend(found.into_iter().map(|c| c.abs_path));
        } else {
            files.push(path.clone());
        }
    }
    for path in &files {
        let Some(language) = cseek::walk::language_of(path) else {
            eprintln!(
                "{} {}: not a file type cseek indexes",
                style("warning:").yellow().bold().for_stderr(),
                path.display()
            );
            continue;
        };
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        let name = path.to_string_lossy().replace('\\', "/");
        for c in cseek::chunk::chunk_file(&name, &text, language, &opts) {
            if args.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({
                        "path": c.path, "start_line": c.start_line, "end_line": c.end_line,
                        "kind": c.kind, "symbol": c.symbol, "container": c.container,
                        "language": c.language, "text": c.text,
                    })
                )?;
                continue;
            }
            writeln!(
                out,
                "{}:{}-{}  {}  {}{}",
                c.path,
                c.start_line,
                c.end_line,
                c.kind,
                c.container
                    .as_deref()
                    .map(|k| format!("{k}."))
                    .unwrap_or_default(),
                c.symbol.as_deref().unwrap_or("-")
            )?;
            if args.text {
                for line in c.text.lines() {
                    writeln!(out, "    {line}")?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_languages(args: JsonFlag) -> anyhow::Result<ExitCode> {
    let rows: Vec<_> = Language::ALL
        .iter()
        .map(|l| {
            let kinds: Vec<&str> = chunk_kinds(*l).iter().map(|k| k.name()).collect();
            (l.name(), l.extensions(), kinds)
        })
        .collect();
    if args.json {
        let json: Vec<_> = rows
            .iter()
            .map(|(n, e, k)| serde_json::json!({"name": n, "extensions": e, "chunks": k}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<12} {:<32} chunks", "language", "extensions");
    for (name, exts, kinds) in rows {
        println!("{name:<12} {:<32} {}", exts.join(" "), kinds.join(", "));
    }
    println!(
        "\nSource without a grammar here, indexed as text and cut at its definitions by layout:\n{}",
        cseek::lang::CODE_WITHOUT_GRAMMAR.join(" ")
    );
    println!(
        "(A .m file that is Objective-C, and a .vue or .svelte component's <script>, are \
         parsed with their grammar.)"
    );
    println!(
        "\nDirectories skipped by default: {}",
        DEFAULT_EXCLUDED_DIRS.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_eval(index: Option<&Path>, cmd: EvalCommand) -> anyhow::Result<ExitCode> {
    // Progress lines go to stderr so stdout carries only the report table.
    let mut log = |line: &str| eprintln!("{line}");
    match cmd {
        EvalCommand::Repos(args) => {
            let mut opts = RepoEvalOptions::new(&args.suite, &args.repos_file, &args.corpus);
            opts.mode = Mode::from_name(&args.common.mode).unwrap_or_default();
            opts.cache_dir = args.common.cache;
            opts.rebuild = args.common.rebuild;
            opts.results_out = args.results_out;
            opts.top_k = args.top_k;
            opts.repos = args.repos;
            opts.model = eval_model(args.common.model.as_deref(), opts.mode)?;
            opts.embed = embed_options(&args.common.device)?;
            opts.fusion = args.common.fusion.params();
            opts.ranking = args.common.fusion.ranking();
            opts.depth = args.common.fusion.depth;
            opts.backend = args.backend;
            let report = run_repo_suite(&opts, &mut log)?;
            print!("{}", report.to_table());
            write_report(args.common.json.as_deref(), &report)?;
        }
        EvalCommand::Beir(args) => {
            let mut opts = BeirEvalOptions::new(&args.dir);
            opts.mode = Mode::from_name(&args.common.mode).unwrap_or_default();
            opts.cache_dir = args.common.cache;
            opts.rebuild = args.common.rebuild;
            opts.results_out = args.results_out;
            opts.model = eval_model(args.common.model.as_deref(), opts.mode)?;
            opts.embed = embed_options(&args.common.device)?;
            opts.fusion = args.common.fusion.params();
            opts.ranking = args.common.fusion.ranking();
            opts.depth = args.common.fusion.depth;
            let report = run_beir(&opts, &mut log)?;
            print!("{}", report.to_table());
            write_report(args.common.json.as_deref(), &report)?;
        }
        EvalCommand::SelfEval(args) => {
            let opts = SelfEvalOptions {
                index_dir: store::find_index_dir(index, &cwd()?)?,
                mode: Mode::from_name(&args.mode).unwrap_or_default(),
                search: SearchOptions {
                    embed: embed_options(&args.device)?,
                    fusion: args.fusion.params(),
                    ranking: args.fusion.ranking(),
                    depth: args.fusion.depth,
                    ..SearchOptions::default()
                },
                per_kind: args.per_kind,
            };
            if args.fit {
                let report = fit(&opts, &mut log)?;
                println!(
                    "objective (mean over kinds of NDCG@10 on mined queries): {:.4} -> {:.4}\nbest: {}",
                    report.start,
                    report.best,
                    report.flags()
                );
                write_report(args.json.as_deref(), &report)?;
            } else {
                let report = run_self(&opts, &mut log)?;
                print!("{}", report.to_table());
                write_report(args.json.as_deref(), &report)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Eval indexes carry vectors only when a model is named; semantic modes need one.
/// The model an eval indexes with: as `cseek index` (the default model unless one is
/// named; `none` = lexical only), so that eval measures what users run. Semantic and
/// hybrid modes cannot run without one.
fn eval_model(model: Option<&str>, mode: Mode) -> anyhow::Result<ModelChoice> {
    let choice = model_choice(model);
    if choice == ModelChoice::Off && matches!(mode, Mode::Semantic | Mode::Hybrid) {
        bail!("--mode {} needs a model; drop `--model none`", mode.name());
    }
    Ok(choice)
}

fn write_report(path: Option<&Path>, report: &impl serde::Serialize) -> anyhow::Result<()> {
    let Some(path) = path else { return Ok(()) };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let json = serde_json::to_vec_pretty(report)?;
    std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("report written to {}", path.display());
    Ok(())
}
