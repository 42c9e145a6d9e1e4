//! Milvus as a backend: an index's chunks mirrored into a Milvus collection, and queries
//! answered by Milvus's searches, fused and re-ranked by cseek as the local index's are.
//!
//! `cseek index --backend milvus://HOST:PORT[/DATABASE]` builds (or updates) the local
//! index as always, then mirrors it: [`sync_index`] sends the chunks of changed files,
//! with the vectors the local pipeline computed (the embedding cache still spares
//! re-embedding), and deletes the chunks of changed and removed files. The local index
//! stays the source of truth for incrementality; a state file in the index directory
//! records what the collection holds for the repository, and a row count that does not
//! match it (a wiped server, an interrupted run) makes the next sync send everything.
//!
//! One collection holds many repositories (a `repo` field; the root's directory name by
//! default): [`MilvusSearcher`] searches them together (org-wide) or filtered to some.
//! A query runs three searches on the server at once, with `--lang`, `--path` and repo
//! filters applied there: dense vectors (inner product of normalised vectors), and BM25
//! over two sparse fields fed by cseek's code tokenizer — the chunk's body (symbol twice,
//! container, text: what the local index's `body` field holds) and its path — so Milvus's
//! BM25 sees the split identifier tokens cseek's lexical index sees (`parseConfig` matches
//! `parse config`). cseek then sums the two BM25 lists as tantivy sums the fields, and
//! fuses and re-ranks with the local search's own functions ([`crate::fuse::fuse_lists`],
//! [`crate::rank::rerank`]), so a collection ranks as the embedded index does. (Milvus's
//! hybrid-search rankers cannot: one ranker per search, and RRF or normalised weights
//! where a weighted sum of two raw BM25 scores is needed.)
//!
//! Schema (see [`schema`]): `id` (primary key, a hash of repo, path and position),
//! `repo`, `path`, `start_line`, `end_line`, `language`, `kind`, `symbol`, `container`,
//! `text`, `file_hash`, `tokens` and `path_tokens` (analysed, inputs of the two BM25
//! functions), `dense`, and `sparse` and `path_sparse` (their outputs). The collection's properties record the
//! embedding model (`cseek.embedding`), so a query embeds with the model the vectors came
//! from, without any local index.
//!
//! The client is the official Milvus Rust SDK (`milvus-sdk-rust`, Apache-2.0), behind the
//! `milvus` feature; without it every call fails with [`MilvusError::FeatureDisabled`].
// Without the client, what only it reads goes unused.
#![cfg_attr(not(feature = "milvus"), allow(dead_code))]

mod client;
pub mod schema;
mod search;
mod sync;

use std::fmt;

pub use search::{MilvusResults, MilvusSearcher, RepoHit};
pub use sync::{sync_index, SyncSummary};

/// Default collection name (`?collection=NAME` in the URL changes it).
pub const DEFAULT_COLLECTION: &str = "cseek";

/// Errors of the Milvus backend, each one line a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum MilvusError {
    /// The backend URL is malformed.
    #[error("bad --backend {url:?}: {detail} (expected milvus://HOST:PORT[/DATABASE][?collection=NAME])")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        detail: String,
    },
    /// Nothing answers at the address.
    #[error(
        "cannot reach Milvus at {addr}: start it with tests/milvus/start.sh or check the address"
    )]
    Unreachable {
        /// `host:port`.
        addr: String,
    },
    /// The collection exists but was not made by cseek, or by an incompatible version.
    #[error("the Milvus collection `{collection}` does not have cseek's schema ({detail}); choose another collection with ?collection=NAME, or drop it")]
    SchemaMismatch {
        /// Collection name.
        collection: String,
        /// What differs.
        detail: String,
    },
    /// The collection's vectors and the model's differ in size.
    #[error("the Milvus collection `{collection}` holds {found}-dim vectors, {what} gives {expected}-dim vectors; use another collection (?collection=NAME) or the collection's model")]
    DimensionMismatch {
        /// Collection name.
        collection: String,
        /// Dimensions of the collection.
        found: usize,
        /// Dimensions of the index or model.
        expected: usize,
        /// The model or index that gives `expected`.
        what: String,
    },
    /// The collection's vectors come from another model than the index's.
    #[error("the Milvus collection `{collection}` holds vectors of model `{found}`, this index was built with `{expected}`; use another collection (?collection=NAME) or re-index with that model")]
    ModelMismatch {
        /// Collection name.
        collection: String,
        /// The collection's model.
        found: String,
        /// The index's model.
        expected: String,
    },
    /// No collection of that name.
    #[error("no collection `{collection}` in Milvus at {addr}; fill it first with `cseek index --backend {url}`")]
    NoCollection {
        /// Collection name.
        collection: String,
        /// `host:port`.
        addr: String,
        /// The backend URL.
        url: String,
    },
    /// The index has no vectors; the backend needs them for its dense field.
    #[error("the Milvus backend needs an index with vectors; this one is lexical-only ({0}); index with a model")]
    NoVectors(String),
    /// The server refused or failed a request.
    #[error("Milvus failed {action}: {detail}")]
    Server {
        /// What we were doing.
        action: &'static str,
        /// The server's message, on one line.
        detail: String,
    },
    /// This build has no Milvus client.
    #[error("this cseek was built without the `milvus` feature; rebuild with `--features milvus`")]
    FeatureDisabled,
}

/// A parsed `milvus://HOST:PORT[/DATABASE][?collection=NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilvusUrl {
    /// `host:port`.
    pub addr: String,
    /// Database, when given (default: the server's `default`).
    pub database: Option<String>,
    /// Collection holding the chunks.
    pub collection: String,
}

impl MilvusUrl {
    /// Parse a backend URL.
    pub fn parse(url: &str) -> Result<MilvusUrl, MilvusError> {
        let bad = |detail: &str| MilvusError::BadUrl {
            url: url.to_string(),
            detail: detail.to_string(),
        };
        let rest = url
            .strip_prefix("milvus://")
            .ok_or_else(|| bad("it must start with milvus://"))?;
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (addr, database) = match rest.split_once('/') {
            Some((a, d)) => (a, Some(d.trim_end_matches('/'))),
            None => (rest, None),
        };
        let (host, port) = addr
            .rsplit_once(':')
            .ok_or_else(|| bad("the port is missing"))?;
        if host.is_empty() {
            return Err(bad("the host is missing"));
        }
        port.parse::<u16>()
            .map_err(|_| bad(&format!("{port:?} is not a port number")))?;
        let valid_name = |s: &str| {
            !s.is_empty()
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !s.starts_with(|c: char| c.is_ascii_digit())
        };
        let database = database.filter(|d| !d.is_empty()).map(str::to_string);
        if let Some(d) = &database {
            if !valid_name(d) {
                return Err(bad("a database name is letters, digits and _"));
            }
        }
        let mut collection = DEFAULT_COLLECTION.to_string();
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            match pair.split_once('=') {
                Some(("collection", c)) if valid_name(c) => collection = c.to_string(),
                Some(("collection", _)) => {
                    return Err(bad("a collection name is letters, digits and _"))
                }
                _ => return Err(bad(&format!("unknown parameter {pair:?}"))),
            }
        }
        Ok(MilvusUrl {
            addr: addr.to_string(),
            database,
            collection,
        })
    }
}

impl fmt::Display for MilvusUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "milvus://{}", self.addr)?;
        if let Some(d) = &self.database {
            write!(f, "/{d}")?;
        }
        if self.collection != DEFAULT_COLLECTION {
            write!(f, "?collection={}", self.collection)?;
        }
        Ok(())
    }
}

/// The repository name of an indexed root: its directory name.
pub fn default_repo_name(root: &std::path::Path) -> String {
    root.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "root".to_string())
}

/// A server message on one line (gRPC errors can carry newlines and long chains).
pub(crate) fn one_line(s: &str) -> String {
    let line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 400 {
        let cut: String = line.chars().take(400).collect();
        format!("{cut}…")
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let u = MilvusUrl::parse("milvus://127.0.0.1:19530").unwrap();
        assert_eq!(u.addr, "127.0.0.1:19530");
        assert_eq!(u.database, None);
        assert_eq!(u.collection, DEFAULT_COLLECTION);
        let u = MilvusUrl::parse("milvus://db.example:1/code?collection=org_code").unwrap();
        assert_eq!(u.database.as_deref(), Some("code"));
        assert_eq!(u.collection, "org_code");
        assert_eq!(
            u.to_string(),
            "milvus://db.example:1/code?collection=org_code"
        );
        for bad in [
            "http://x:1",
            "milvus://x",
            "milvus://:1",
            "milvus://x:port",
            "milvus://x:1?collection=a-b",
            "milvus://x:1?c=1",
        ] {
            assert!(MilvusUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
