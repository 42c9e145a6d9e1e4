//! Typed errors of the library. The binary turns them into readable messages.

use std::path::PathBuf;

/// Everything that can go wrong in cseek's library.
///
/// Each variant carries enough context (paths, versions) for a message that tells the
/// user what happened and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation on a specific path failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What we were doing, e.g. "reading", "creating directory".
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// No index was found where one was expected.
    #[error("no cseek index found {where_}; run `cseek index <DIR>` first")]
    NoIndex {
        /// Human description of where we looked.
        where_: String,
    },

    /// The index was written by a different (older or newer) on-disk format.
    #[error("the index at {path} has format version {found}, this cseek reads version {supported}; {hint}")]
    FormatVersion {
        /// Index directory.
        path: PathBuf,
        /// Version found on disk.
        found: u32,
        /// Version this build reads and writes.
        supported: u32,
        /// What to do: re-index, or upgrade cseek.
        hint: &'static str,
    },

    /// The index exists but a file in it is damaged or inconsistent.
    #[error("the index at {path} is damaged ({detail}); rebuild it with `cseek index --rebuild`")]
    CorruptIndex {
        /// The damaged file or directory.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },

    /// Another process is writing this index (it holds the writer lock).
    #[error("another cseek is writing the index at {path}{}; wait for it to finish, or stop it", holder.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked {
        /// The index directory.
        path: PathBuf,
        /// Process id of the writer, when it could be read from the lock file.
        holder: Option<u32>,
    },

    /// An indexing run was stopped by its caller ([`crate::index::Progress::cancelled`]);
    /// the previous index is unchanged, and what was embedded is in the cache.
    #[error("indexing was cancelled; the previous index is unchanged")]
    Cancelled,

    /// The query was rejected before running (e.g. empty).
    #[error("invalid query: {0}")]
    InvalidQuery(String),

    /// A user-supplied option is invalid (bad glob, unknown language, ...).
    #[error("invalid option: {0}")]
    InvalidOption(String),

    /// A tree-sitter grammar or query file could not be loaded (a bug in cseek's grammars).
    #[error("grammar for {language}: {detail}")]
    Grammar {
        /// Language name.
        language: &'static str,
        /// What went wrong.
        detail: String,
    },

    /// The tantivy lexical index failed.
    #[error("lexical index: {0}")]
    Lexical(#[from] tantivy::TantivyError),

    /// The embedding stage failed (model not found, unsupported, inference error).
    #[error(transparent)]
    Embed(#[from] crate::embed::EmbedError),

    /// The Milvus backend failed (server down, schema or dimension mismatch, …).
    #[error(transparent)]
    Milvus(#[from] crate::milvus::MilvusError),

    /// A benchmark or suite file is malformed.
    #[error("{path}:{line}: {detail}")]
    BadInput {
        /// File being read.
        path: PathBuf,
        /// 1-based line number (0 when not line-oriented).
        line: usize,
        /// What is wrong.
        detail: String,
    },
}

impl Error {
    /// Shorthand for [`Error::Io`].
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::CorruptIndex`].
    pub fn corrupt(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        Error::CorruptIndex {
            path: path.into(),
            detail: detail.into(),
        }
    }
}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
