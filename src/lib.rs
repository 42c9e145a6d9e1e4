//! cseek: embedded code search.
//!
//! Ask a codebase a question in plain words ("read a file") or by symbol (`parseConfig`,
//! `Foo::bar`) and get the defining functions, methods and classes back, ranked.
//!
//! # Linking cseek into an editor or tool
//!
//! Two calls do the work: [`index::build_index`] turns a directory into an index (by
//! default in `<root>/.cseek/`), and [`search::Searcher`] answers queries from it. A
//! `Searcher` memory-maps the index, so opening it is instant; keep one per workspace
//! and reuse it for every query (it is `Send + Sync`).
//!
//! The index stays live: calling `build_index` again updates it incrementally (only
//! changed files are re-chunked, and nothing embedded before is embedded again, thanks
//! to the embedding cache), and a run with nothing to do costs a walk. An open
//! `Searcher` keeps answering from the generation it opened across any number of
//! updates; [`search::Searcher::is_current`] tells when a newer one exists and
//! [`search::Searcher::reload`] switches to it. A long-lived host keeps an
//! [`index::Indexer`], which holds the loaded model between updates, or runs
//! [`watch::watch`], which updates on file events.
//!
//! An editor adds two things. Unsaved buffers: [`search::Searcher::set_overlay`] makes
//! searches see a buffer's text instead of its file, without writing anything, until
//! [`search::Searcher::clear_overlay`]. Saves: [`index::Indexer::update_paths`] updates
//! just the saved files, not the whole tree. `examples/live.rs` does all of it.
//!
//! ```
//! use cseek::index::{build_index, IndexOptions, ModelChoice, NoProgress};
//! use cseek::search::{SearchRequest, Searcher};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let root = std::env::temp_dir().join(format!("cseek-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&root)?;
//! std::fs::write(
//!     root.join("config.py"),
//!     "def parse_config(path):\n    \"\"\"Read the configuration file.\"\"\"\n    return open(path).read()\n",
//! )?;
//! let mut opts = IndexOptions::new(&root); // index goes to <root>/.cseek
//! // The default embeds chunks with `minilm` when the model is available (semantic +
//! // lexical search); this example stays lexical-only so it runs anywhere.
//! opts.model = ModelChoice::Off;
//! let summary = build_index(&opts, &NoProgress)?;
//! assert_eq!(summary.files, 1);
//!
//! let searcher = Searcher::open(&opts.index_dir)?;
//! let hits = searcher.search(&SearchRequest::new("parse_config").top_k(5))?.hits;
//! assert_eq!(hits[0].symbol.as_deref(), Some("parse_config"));
//! assert_eq!((hits[0].path.as_str(), hits[0].start_line), ("config.py", 1));
//! # std::fs::remove_dir_all(&root)?;
//! # Ok(())
//! # }
//! ```
//!
//! Errors are [`Error`] values with enough context to show a user (no index yet, an index
//! of another format version, a damaged file, an empty query); nothing panics on bad
//! input.
//!
//! # The pipeline, one module per stage
//!
//! [`walk`] (files, honouring ignore files) → [`chunk`] (tree-sitter definitions) →
//! [`lexical`] (BM25) and [`embed`] (embedding models) → [`store`] (immutable, memory-mapped
//! generations; format in `index-format/`; [`cache`] keeps every vector ever computed) →
//! [`search`]. [`index`] drives the stages;
//! [`watch`] keeps an index current while files change; [`eval`] measures search
//! quality on benchmarks; [`mcp`] serves an index to coding agents over the Model Context
//! Protocol (`cseek mcp`), and [`lsp`] to editors as a language server (`cseek lsp`);
//! [`serve`] serves an embedding model over HTTP (OpenAI and Ollama APIs, `cseek serve`).
#![warn(missing_docs)]

pub mod cache;
pub mod chunk;
pub mod embed;
pub mod error;
pub mod eval;
pub mod fuse;
pub mod index;
pub mod lang;
pub mod lexical;
pub mod lsp;
pub mod mcp;
pub mod milvus;
pub mod rank;
pub mod search;
pub mod serve;
pub mod store;
pub mod vector;
pub mod walk;
pub mod watch;

pub use error::{Error, Result};
