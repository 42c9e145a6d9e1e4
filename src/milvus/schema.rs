//! The collection's schema, the rows cseek sends, and the filter expressions it builds.

use std::collections::HashMap;

use super::client::{CollectionInfo, FieldInfo};
use super::MilvusError;
use crate::lang::Language;
use crate::lexical::{
    abbreviation_terms, agent_terms, body_parts, code_tokens, compound_terms, path_words,
    query_terms,
};
use crate::store::StoredChunk;

/// Primary key: hex of a hash of repo, path and the chunk's position in its file.
pub const FIELD_ID: &str = "id";
/// Repository name.
pub const FIELD_REPO: &str = "repo";
/// Root-relative path.
pub const FIELD_PATH: &str = "path";
/// First line, 1-based.
pub const FIELD_START: &str = "start_line";
/// Last line, 1-based inclusive.
pub const FIELD_END: &str = "end_line";
/// Language name (`cseek languages`).
pub const FIELD_LANGUAGE: &str = "language";
/// Chunk kind (`function`, `method`, …).
pub const FIELD_KIND: &str = "kind";
/// Defined symbol ("" when none).
pub const FIELD_SYMBOL: &str = "symbol";
/// Enclosing container ("" when none).
pub const FIELD_CONTAINER: &str = "container";
/// The chunk's text (cut at [`MAX_VARCHAR`] bytes).
pub const FIELD_TEXT: &str = "text";
/// BLAKE3 of the file's content, hex.
pub const FIELD_FILE_HASH: &str = "file_hash";
/// cseek's code tokens of the chunk as the local index's `body` field holds it (symbol
/// twice, container, text), space-separated: the input of the BM25 function.
pub const FIELD_TOKENS: &str = "tokens";
/// cseek's code tokens of the path without its extension: the input of the second BM25
/// function (the local index's `path` field).
pub const FIELD_PATH_TOKENS: &str = "path_tokens";
/// The chunk's embedding (normalised; inner product).
pub const FIELD_DENSE: &str = "dense";
/// BM25 sparse vector, computed by the server from [`FIELD_TOKENS`].
pub const FIELD_SPARSE: &str = "sparse";
/// BM25 sparse vector, computed by the server from [`FIELD_PATH_TOKENS`].
pub const FIELD_PATH_SPARSE: &str = "path_sparse";

/// The BM25 functions: (function name, analysed VARCHAR input, sparse output).
pub(crate) const BM25_FIELDS: [(&str, &str, &str); 2] = [
    ("cseek_bm25", FIELD_TOKENS, FIELD_SPARSE),
    ("cseek_bm25_path", FIELD_PATH_TOKENS, FIELD_PATH_SPARSE),
];

/// Longest VARCHAR Milvus stores, in bytes.
pub const MAX_VARCHAR: usize = 65_535;

/// Collection property with cseek's schema version.
pub const PROP_FORMAT: &str = "cseek.format";
/// Collection property with the embedding model's metadata (JSON of
/// [`crate::store::EmbeddingMeta`]).
pub const PROP_EMBEDDING: &str = "cseek.embedding";
/// Collection property with the model's identity (what must match to share vectors).
pub const PROP_MODEL: &str = "cseek.model";

/// Collection property: the fusion weights fitted on each repository's doc comments
/// (`fuse::calibrate`), a JSON object of repository name → share of the lexical list.
pub const PROP_FUSION: &str = "cseek.fusion";

/// The fitted shares recorded in a collection's properties, by repository.
pub fn fusion_shares(
    properties: &std::collections::HashMap<String, String>,
) -> std::collections::BTreeMap<String, f64> {
    properties
        .get(PROP_FUSION)
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default()
}
/// Version of this schema (2: the body and path BM25 fields of the local index's format 2).
pub const FORMAT: &str = "2";

/// Longest path tokens kept (bytes).
const MAX_PATH_TOKENS: usize = 8192;

/// A scalar field: VARCHAR of `max_length` bytes, or INT64 when `max_length` is 0.
pub(crate) struct ScalarField {
    pub name: &'static str,
    pub max_length: usize,
    pub primary: bool,
}

/// The scalar fields, in schema order.
pub(crate) fn scalar_fields() -> Vec<ScalarField> {
    let f = |name, max_length| ScalarField {
        name,
        max_length,
        primary: name == FIELD_ID,
    };
    vec![
        f(FIELD_ID, 64),
        f(FIELD_REPO, 256),
        f(FIELD_PATH, 4096),
        f(FIELD_START, 0),
        f(FIELD_END, 0),
        f(FIELD_LANGUAGE, 32),
        f(FIELD_KIND, 32),
        f(FIELD_SYMBOL, 1024),
        f(FIELD_CONTAINER, 1024),
        f(FIELD_TEXT, MAX_VARCHAR),
        f(FIELD_FILE_HASH, 64),
        f(FIELD_TOKENS, MAX_VARCHAR),
        f(FIELD_PATH_TOKENS, MAX_PATH_TOKENS),
    ]
}

/// The fields a search returns.
pub(crate) const OUTPUT_FIELDS: &[&str] = &[
    FIELD_ID,
    FIELD_REPO,
    FIELD_PATH,
    FIELD_START,
    FIELD_END,
    FIELD_LANGUAGE,
    FIELD_KIND,
    FIELD_SYMBOL,
    FIELD_CONTAINER,
    FIELD_TEXT,
];

/// Check that `info` is cseek's collection; returns its vector dimensions.
pub(crate) fn check(collection: &str, info: &CollectionInfo) -> Result<usize, MilvusError> {
    let mismatch = |detail: String| MilvusError::SchemaMismatch {
        collection: collection.to_string(),
        detail,
    };
    let by_name: HashMap<&str, &FieldInfo> =
        info.fields.iter().map(|f| (f.name.as_str(), f)).collect();
    let want_type = |name: &str, ty: &str| -> Result<&FieldInfo, MilvusError> {
        match by_name.get(name) {
            None => Err(mismatch(format!("no field `{name}`"))),
            Some(f) if f.data_type != ty => Err(mismatch(format!(
                "field `{name}` is {}, cseek needs {ty}",
                f.data_type
            ))),
            Some(f) => Ok(f),
        }
    };
    // The version first: an older cseek's collection lacks newer fields, and "another
    // version" says more than "no field".
    match info.properties.get(PROP_FORMAT) {
        Some(v) if v == FORMAT => {}
        Some(v) => {
            return Err(mismatch(format!(
                "cseek schema version {v}, this cseek writes version {FORMAT}"
            )))
        }
        None => return Err(mismatch(format!("no `{PROP_FORMAT}` property"))),
    }
    for f in scalar_fields() {
        want_type(
            f.name,
            if f.max_length == 0 {
                "Int64"
            } else {
                "VarChar"
            },
        )?;
    }
    for (_, _, sparse) in BM25_FIELDS {
        want_type(sparse, "SparseFloatVector")?;
    }
    let dense = want_type(FIELD_DENSE, "FloatVector")?;
    let dims = dense
        .params
        .get("dim")
        .and_then(|d| d.parse::<usize>().ok())
        .ok_or_else(|| mismatch(format!("field `{FIELD_DENSE}` has no dimension")))?;
    Ok(dims)
}

/// The row of one chunk.
pub(crate) fn row(
    repo: &str,
    chunk: &StoredChunk<'_>,
    ordinal: u32,
    file_hash: &str,
    vector: Vec<f32>,
) -> serde_json::Value {
    let id = chunk_key(repo, chunk.path, ordinal);
    serde_json::json!({
        FIELD_ID: id,
        FIELD_REPO: repo,
        FIELD_PATH: chunk.path,
        FIELD_START: chunk.start_line as i64,
        FIELD_END: chunk.end_line as i64,
        FIELD_LANGUAGE: chunk.language.name(),
        FIELD_KIND: chunk.kind.name(),
        FIELD_SYMBOL: cut(chunk.symbol.unwrap_or_default(), 1024),
        FIELD_CONTAINER: cut(chunk.container.unwrap_or_default(), 1024),
        FIELD_TEXT: cut(chunk.text, MAX_VARCHAR),
        FIELD_FILE_HASH: file_hash,
        FIELD_TOKENS: body_tokens(chunk),
        FIELD_PATH_TOKENS: joined(&tokens_of(path_words(chunk.path)), MAX_PATH_TOKENS),
        FIELD_DENSE: vector,
    })
}

/// Primary key of a chunk: stable across runs for the same file position.
pub(crate) fn chunk_key(repo: &str, path: &str, ordinal: u32) -> String {
    let mut h = blake3::Hasher::new();
    h.update(repo.as_bytes());
    h.update(&[0]);
    h.update(path.as_bytes());
    h.update(&[0]);
    h.update(&ordinal.to_le_bytes());
    h.finalize().to_hex()[..32].to_string()
}

/// What the body BM25 function analyses for a chunk: cseek's code tokens of what the
/// local index's `body` field holds (the symbol twice, the container, the text), separated by spaces
/// (Milvus's standard analyzer then splits on the spaces and lowercases, which leaves
/// cseek's tokens as they are).
pub fn body_tokens(chunk: &StoredChunk<'_>) -> String {
    let toks: Vec<String> = body_parts(chunk.symbol, chunk.container, chunk.text)
        .flat_map(tokens_of)
        .collect();
    joined(&toks, MAX_VARCHAR)
}

/// `tokens` joined by spaces, as many as fit in `max` bytes.
fn joined(tokens: &[String], max: usize) -> String {
    let mut out = String::new();
    for t in tokens {
        if out.len() + t.len() + 1 > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(t);
    }
    out
}

/// What the BM25 sub-searches send for a query: the local index's query terms
/// ([`crate::lexical::query_terms`]), the abbreviations and agent nouns of its words and
/// the compounds of adjacent words, as the server's analyzer will split them. The server's BM25 weighs every term alike, so the
/// abbreviations count fully here, where the embedded index gives them half weight.
pub fn query_tokens(query: &str) -> String {
    let terms = query_terms(query);
    let abbreviations = abbreviation_terms(query, &terms);
    let agents = agent_terms(query, &terms);
    let compounds: Vec<String> = compound_terms(query)
        .into_iter()
        .filter(|c| !terms.contains(c))
        .collect();
    let toks: Vec<String> = terms
        .iter()
        .chain(&abbreviations)
        .chain(&agents)
        .chain(&compounds)
        .flat_map(|t| word_pieces(t))
        .collect();
    toks.join(" ")
}

/// cseek's tokens of `text`, as the BM25 analyzer should see them (word characters only).
fn tokens_of(text: &str) -> Vec<String> {
    code_tokens(text)
        .iter()
        .flat_map(|t| word_pieces(t))
        .collect()
}

/// A token cut at anything but word characters, lowercased (what Milvus's standard
/// analyzer would make of it).
fn word_pieces(token: &str) -> Vec<String> {
    token
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|p| !p.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A string literal of Milvus's expression language.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `field in ["a", "b"]`, or `field == "a"` for one value.
pub fn in_list<S: AsRef<str>>(field: &str, values: &[S]) -> String {
    match values {
        [one] => format!("{field} == {}", quote(one.as_ref())),
        _ => format!(
            "{field} in [{}]",
            values
                .iter()
                .map(|v| quote(v.as_ref()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Conjunction of the non-empty expressions.
pub fn all_of(parts: &[String]) -> String {
    let parts: Vec<&String> = parts.iter().filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [] => String::new(),
        [one] => (*one).clone(),
        _ => parts
            .iter()
            .map(|p| format!("({p})"))
            .collect::<Vec<_>>()
            .join(" and "),
    }
}

/// The part of a `--path` glob the server can filter by: a literal directory prefix
/// (`src/**/*.py` → `path like "src/%"`), or nothing. The glob itself is applied to the
/// returned candidates.
pub fn path_prefix_filter(glob: &str) -> String {
    // `*.py`, `**/*.py`: a literal suffix.
    if let Some(ext) = glob
        .strip_prefix("**/*")
        .or_else(|| glob.strip_prefix('*'))
        .filter(|e| e.starts_with('.') && e[1..].chars().all(|c| c.is_ascii_alphanumeric()))
    {
        return format!("{FIELD_PATH} like {}", quote(&format!("%{ext}")));
    }
    if !glob.contains('/') {
        return String::new();
    }
    let literal_end = glob.find(['*', '?', '[', '{', '\\']).unwrap_or(glob.len());
    let literal = &glob[..literal_end];
    // Up to the last '/': a whole directory (`src/cli` also selects `src/cli/...`, and
    // `src/cl*` must not be cut to `src/cl`).
    let dir = match literal.rfind('/') {
        Some(i) => &literal[..=i],
        None => return String::new(),
    };
    // LIKE's own wildcards would need escaping; such prefixes are left to the client.
    let dir = match dir.find(['%', '_']) {
        Some(i) => match dir[..i].rfind('/') {
            Some(j) => &dir[..=j],
            None => return String::new(),
        },
        None => dir,
    };
    if dir.is_empty() || dir == "/" {
        return String::new();
    }
    format!("{FIELD_PATH} like {}", quote(&format!("{dir}%")))
}

/// `language in [...]` for the request's languages.
pub fn language_filter(languages: &[Language]) -> String {
    if languages.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = languages.iter().map(|l| l.name()).collect();
    in_list(FIELD_LANGUAGE, &names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        assert_eq!(in_list("repo", &["a"]), r#"repo == "a""#);
        assert_eq!(in_list("repo", &["a", "b\"c"]), r#"repo in ["a", "b\"c"]"#);
        assert_eq!(path_prefix_filter("*.rs"), r#"path like "%.rs""#);
        assert_eq!(path_prefix_filter("**/*.py"), r#"path like "%.py""#);
        assert_eq!(path_prefix_filter("*_test.go"), "");
        assert_eq!(path_prefix_filter("src/**/*.py"), r#"path like "src/%""#);
        assert_eq!(path_prefix_filter("src/cli"), r#"path like "src/%""#);
        assert_eq!(
            path_prefix_filter("src/my_mod/x.py"),
            r#"path like "src/%""#
        );
        assert_eq!(path_prefix_filter("my_mod/x.py"), "");
        assert_eq!(
            all_of(&["a == 1".into(), String::new(), "b == 2".into()]),
            "(a == 1) and (b == 2)"
        );
        assert_eq!(all_of(&[String::new()]), "");
    }

    #[test]
    fn query_tokens_split_identifiers() {
        // As cseek's analyzer makes them: the whole identifier, its (stemmed) parts;
        // stop words dropped.
        let t = query_tokens("where is parseConfig");
        assert_eq!(t, "parseconfig pars config");
        // A question of several words also asks for its words' abbreviations and agent
        // nouns (`watcher`; forms no code writes, such as `systemm`, match nothing).
        let t = query_tokens("watch the file system");
        assert_eq!(
            t,
            "watch file system fs sys watcher filer systemm watchfile watchfilesystem filesystem"
        );
        assert!(!query_tokens("system").contains("fs"));
    }
}
