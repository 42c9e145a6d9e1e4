//! Lexical retrieval: a tantivy BM25 index over chunks with a code-aware tokenizer.
//!
//! One tantivy document per chunk. Fields (none stored; the caller keeps chunk text and
//! metadata elsewhere and only needs `chunk_id` back):
//!
//! | field          | content                                         | analysis                     |
//! |----------------|-------------------------------------------------|------------------------------|
//! | `body`         | symbol name (twice), container name, chunk text | code analyzer                |
//! | `path`         | file path without extension                     | code analyzer                |
//! | `symbol_exact` | symbol keys: `foo::bar`, `parse_config`          | raw, no field norms          |
//! | `file_id`      | file id                                         | u64, indexed + fast (filter) |
//! | `chunk_id`     | chunk id                                        | u64, fast (read back)        |
//!
//! A query is analyzed with the same code analyzer and becomes a disjunction of term
//! queries over `body` and (with a lower boost) `path`, plus, when the whole query is a
//! symbol name, exact-symbol term queries on `symbol_exact` that make its definition
//! outrank its callers. A question of several words also asks, at half weight, for the
//! abbreviations code writes for its words (`file system` → `fs`, `address` → `addr`;
//! `abbrev`) and for the agent nouns of its verbs (`checks` → `Checker`; `agent`), and,
//! at full weight, for its adjacent words joined as code joins them
//! (`thread pool` → `threadpool`, `json reader` → `JsonReader`).
//! Scores are BM25.
//!
//! `body` is how BM25F weighs fields (Robertson, Zaragoza and Taylor, "Simple BM25
//! extension to multiple weighted fields", CIKM 2004): a field's weight is how often its
//! words are repeated, so a word's counts from the name and the text add up *before* BM25
//! saturates them, and one length normalisation covers the chunk. Scoring the name and
//! the text as separate BM25 fields instead counts a word's rarity once per field it
//! occurs in, which let chunks that merely repeat one query word in their name, container
//! and path outrank the answer (measured in `benches/README.md`: lexical NDCG@10 0.813 →
//! 0.844 on the dev suite). The path stays a field of its own: a file named after the
//! query is a signal of its own, not more text. `symbol_exact` also answers
//! [`LexicalIndex::defines_symbol`].
//!
//! User text never goes through tantivy's query parser, so it has no syntax to get wrong.

mod abbrev;
mod agent;
mod tokenize;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::index::SegmentComponent;
use tantivy::indexer::NoMergePolicy;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::store::Compressor;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use crate::chunk::ChunkKind;
use crate::error::{Error, Result};
use crate::lang::Language;

pub use tokenize::code_tokens;
use tokenize::{identifiers, lowercase, parts, Analyzer, CodeTokenizer};
pub(crate) use tokenize::{word_parts, PartStemmer};

/// Name under which the code analyzer is registered with tantivy.
pub const TOKENIZER_NAME: &str = "cseek_code";

/// Version of this module's on-disk layout *and* analysis. Bump it whenever the schema or
/// the tokenizer changes, since an index is only searchable with the analyzer that built it.
pub const LEXICAL_FORMAT_VERSION: u32 = 2;

/// Written last by [`LexicalWriter::finish`]: its presence means the index is complete.
const MARKER_FILE: &str = "cseek-lexical.version";
const MARKER_PREFIX: &str = "cseek-lexical-format ";

/// Indexing memory budget. Large enough that tens of thousands of chunks fit in one
/// in-memory segment.
const WRITER_MEMORY_BYTES: usize = 192 << 20;
/// Writer memory of an in-memory index: tantivy's smallest budget (15 MB; not public
/// there), far above what a few unsaved buffers need.
const IN_MEMORY_WRITER_BYTES: usize = 15_000_000;

/// Longest `symbol_exact` key kept.
const MAX_KEY_LEN: usize = 512;

/// At most this many distinct query tokens are searched (a pasted code snippet as a query
/// would otherwise build a query with thousands of clauses).
const MAX_QUERY_TOKENS: usize = 128;

/// How many times the symbol's name is written into `body`: its BM25F field weight (the
/// container and the text count once).
pub const SYMBOL_REPEAT: usize = 2;
/// Boost of a query word found in the path, relative to one found in `body`.
pub const PATH_BOOST: f32 = 0.6;
// Exact-symbol boosts on `symbol_exact` when the whole query is a symbol (or qualified
// symbol), in its own spelling or in normalised (snake) form. Being BM25 term scores
// they scale with how rare the symbol is, like everything else in the query.
const BOOST_EXACT_FULL: f32 = 6.0;
/// Weight of an abbreviation of a query word (`addr` for `address`, see `abbrev`)
/// against the word's own: half, a prior (an abbreviation may stand for other words
/// too). Measured at 0, ¼, ½ and 1 (`benches/README.md`, "Abbreviations"): ½ gains or
/// ties in both folds of the dev suite, lexical and hybrid, and on both BEIR sets.
const ABBREVIATION_BOOST: f32 = 0.5;
const BOOST_NORM_FULL: f32 = 3.0;
/// Weight of an agent noun of a query word (`checker` for `checks`, see `agent`) against
/// the word's own: half, like an abbreviation (a derived form, and `handle` is a noun
/// as often as a verb). Measured at 0, ¼, ½ and 1 (`benches/README.md`, "Agent nouns"):
/// ½ gains or ties in both folds of the dev suite with the static hybrid, and on the
/// held-out suite lexical and hybrid.
const AGENT_BOOST: f32 = 0.5;
/// Weight of a compound of adjacent query words (`threadpool` for `thread pool`, see
/// [`compound_terms`]) against a word's own. Measured at 0, ½, 1 and 2
/// (`benches/README.md`, "Compounds"): 1 is best in both folds of the dev suite, lexical
/// and hybrid, and gains on both BEIR sets.
const COMPOUND_BOOST: f32 = 1.0;

/// Small English function words dropped from multi-word queries (`where are retries
/// configured`). A query made only of them is searched as is.
pub(crate) const STOPWORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "of", "to", "in", "on",
    "at", "by", "for", "with", "from", "and", "or", "how", "what", "where", "which", "who", "when",
    "why", "does", "do", "did", "i", "we", "you", "it", "its", "this", "that", "there", "can",
    "me", "my",
];

/// One chunk as the lexical index sees it.
#[derive(Debug, Clone, Copy)]
pub struct LexicalDoc<'a> {
    /// Id of the chunk, returned by searches.
    pub chunk_id: u32,
    /// Id of the chunk's file, used by the `allowed_files` filter.
    pub file_id: u32,
    /// Path of the file relative to the indexed root, `/`-separated.
    pub path: &'a str,
    /// Language of the file (not indexed yet; filtering by language goes through
    /// `allowed_files`).
    pub language: Language,
    /// What the chunk is (not indexed yet).
    pub kind: ChunkKind,
    /// Name of the defined symbol, if the chunk is a definition.
    pub symbol: Option<&'a str>,
    /// Name of the enclosing container (class, impl type, module), if any.
    pub container: Option<&'a str>,
    /// The chunk's text.
    pub text: &'a str,
}

impl<'a> LexicalDoc<'a> {
    /// The document of `chunk`, under these ids.
    pub fn of_chunk(chunk_id: u32, file_id: u32, chunk: &'a crate::chunk::Chunk) -> Self {
        LexicalDoc {
            chunk_id,
            file_id,
            path: &chunk.path,
            language: chunk.language,
            kind: chunk.kind,
            symbol: chunk.symbol.as_deref(),
            container: chunk.container.as_deref(),
            text: &chunk.text,
        }
    }
}

/// One search result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LexicalHit {
    /// The chunk's id, as given to [`LexicalWriter::add`].
    pub chunk_id: u32,
    /// BM25 score (higher is better; comparable only within one query).
    pub score: f32,
}

/// The schema's fields.
#[derive(Clone, Copy)]
struct Fields {
    body: Field,
    path: Field,
    symbol_exact: Field,
    file_id: Field,
    chunk_id: Field,
}

impl Fields {
    /// The tantivy document of one chunk.
    fn document(&self, doc: &LexicalDoc) -> TantivyDocument {
        let f = self;
        let mut d = TantivyDocument::new();
        d.add_u64(f.chunk_id, u64::from(doc.chunk_id));
        d.add_u64(f.file_id, u64::from(doc.file_id));
        d.add_text(f.path, path_words(doc.path));
        for part in body_parts(doc.symbol, doc.container, doc.text) {
            d.add_text(f.body, part);
        }
        if let Some(symbol) = doc.symbol {
            // An impl block is named after its type but does not define it: exact-symbol
            // hits are for the struct/enum/trait itself, or impls would crowd it out.
            if doc.kind != ChunkKind::Impl {
                for key in symbol_keys(symbol, doc.container) {
                    d.add_text(f.symbol_exact, key);
                }
            }
        }
        d
    }

    fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let code = |record: IndexRecordOption| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(TOKENIZER_NAME)
                    .set_index_option(record),
            )
        };
        // No positions: nothing queries them yet and they double the index size. (Phrase or
        // proximity boosting would need them, and a format version bump.)
        let body = b.add_text_field("body", code(IndexRecordOption::WithFreqs));
        let path = b.add_text_field("path", code(IndexRecordOption::WithFreqs));
        // Field norms off: a chunk has 1–6 keys and how many must not change its score.
        let symbol_exact = b.add_text_field(
            "symbol_exact",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::Basic)
                    .set_fieldnorms(false),
            ),
        );
        let file_id = b.add_u64_field(
            "file_id",
            NumericOptions::default().set_indexed().set_fast(),
        );
        let chunk_id = b.add_u64_field("chunk_id", NumericOptions::default().set_fast());
        let fields = Fields {
            body,
            path,
            symbol_exact,
            file_id,
            chunk_id,
        };
        (b.build(), fields)
    }

    /// The fields of an existing index, or `None` if its schema is not ours.
    fn from_schema(schema: &Schema) -> Option<Fields> {
        let f = |name: &str| schema.get_field(name).ok();
        Some(Fields {
            body: f("body")?,
            path: f("path")?,
            symbol_exact: f("symbol_exact")?,
            file_id: f("file_id")?,
            chunk_id: f("chunk_id")?,
        })
    }
}

fn register_tokenizer(index: &Index) {
    index
        .tokenizers()
        .register(TOKENIZER_NAME, TextAnalyzer::from(CodeTokenizer::default()));
}

/// Lowercased identifiers of `s` joined with `::`, in their own spelling (`exact`) and
/// normalised to snake case (`norm`): `Foo.parseJSON` → (`foo::parsejson`, `foo::parse_json`).
/// Separators (`.`, `::`, `#`, `->`, spaces, parentheses) all become `::`, so a query
/// `Foo.bar` or `Foo::bar()` meets a method `bar` in container `Foo` whatever the language.
fn key_forms(s: &str) -> (String, String) {
    let mut exact = String::new();
    let mut norm = String::new();
    for (start, end) in identifiers(s) {
        let ident = &s[start..end];
        let ps = parts(ident);
        if ps.is_empty() {
            continue;
        }
        if !exact.is_empty() {
            exact.push_str("::");
            norm.push_str("::");
        }
        exact.push_str(&lowercase(ident));
        for (k, &(a, b)) in ps.iter().enumerate() {
            if k > 0 {
                norm.push('_');
            }
            norm.push_str(&lowercase(&ident[a..b]));
        }
    }
    (exact, norm)
}

/// Drops generic arguments and parameter lists from a container name (`Foo<T>` → `Foo`),
/// which users don't type when they qualify a symbol.
fn strip_generics(container: &str) -> &str {
    container
        .find(['<', '[', '('])
        .map_or(container, |i| &container[..i])
}

/// The `symbol_exact` keys of a chunk: its symbol, and qualified by the full container
/// path and by the container's last component; each in exact and normalised form.
fn symbol_keys(symbol: &str, container: Option<&str>) -> Vec<String> {
    let (exact, norm) = key_forms(symbol);
    if exact.is_empty() {
        return Vec::new();
    }
    let mut keys = vec![exact.clone(), norm.clone()];
    if let Some(container) = container {
        let (cexact, cnorm) = key_forms(strip_generics(container));
        if !cexact.is_empty() {
            keys.push(format!("{cexact}::{exact}"));
            keys.push(format!("{cnorm}::{norm}"));
            let last = |s: &str| s.rsplit("::").next().unwrap_or_default().to_string();
            keys.push(format!("{}::{exact}", last(&cexact)));
            keys.push(format!("{}::{norm}", last(&cnorm)));
        }
    }
    // Far below tantivy's term length limit; a symbol this long is not typed by anyone.
    keys.retain(|k| k.len() <= MAX_KEY_LEN);
    keys.sort();
    keys.dedup();
    keys
}

/// What `body` holds for a chunk, in order: the symbol [`SYMBOL_REPEAT`] times, the
/// container, the text. (The Milvus backend feeds its BM25 field the same.)
pub(crate) fn body_parts<'a>(
    symbol: Option<&'a str>,
    container: Option<&'a str>,
    text: &'a str,
) -> impl Iterator<Item = &'a str> {
    let symbol = symbol
        .into_iter()
        .flat_map(|s| std::iter::repeat_n(s, SYMBOL_REPEAT));
    symbol.chain(container).chain(std::iter::once(text))
}

/// The words of a path worth matching, as `path` indexes them: the extension is dropped
/// (`.rs` says nothing a query asks about and every file of the language has it).
pub(crate) fn path_words(path: &str) -> &str {
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    match path[name_start..].rfind('.') {
        Some(dot) if dot > 0 => &path[..name_start + dot],
        _ => path,
    }
}

fn corrupt(dir: &Path, what: &str, err: impl std::fmt::Display) -> Error {
    // Some tantivy errors span several lines; an error is shown as one.
    let err = err.to_string();
    let err: Vec<&str> = err
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Error::corrupt(dir, format!("{what}: {}", err.join(" ")))
}

thread_local! {
    /// How many [`contained`] calls are running on this thread (they may nest).
    static CONTAINED: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Whether the current thread is inside a region where cseek catches panics and turns
/// them into errors (tantivy reading a damaged index). A program's panic hook can stay
/// quiet for those: the `cseek` binary does, the library installs no hook.
#[doc(hidden)]
pub fn panic_is_contained() -> bool {
    CONTAINED.with(|c| c.get() > 0)
}

/// Runs `f`, which calls into tantivy on the index in `dir`, and turns a panic into
/// [`Error::CorruptIndex`]. Tantivy trusts its files: a flipped byte in a term dictionary,
/// posting list or fast field panics (index out of bounds, failed asserts) instead of
/// returning an error, and cseek must not take down the editor it runs in.
fn contained<T>(dir: &Path, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    struct Depth;
    impl Drop for Depth {
        fn drop(&mut self) {
            CONTAINED.with(|c| c.set(c.get().saturating_sub(1)));
        }
    }
    CONTAINED.with(|c| c.set(c.get().saturating_add(1)));
    let depth = Depth;
    // AssertUnwindSafe: after a panic the tantivy objects involved are dropped or only
    // ever answer with errors again; nothing half-updated is read afterwards (the index
    // is read-only).
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    drop(depth);
    result.unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        // The first line is enough (assert messages go on over several).
        let msg = msg.lines().next().unwrap_or_default();
        Err(corrupt(
            dir,
            what,
            format!("tantivy failed on a damaged file: {msg}"),
        ))
    })
}

/// Checks the fast fields, doc store and field norms of every segment against the
/// checksums tantivy keeps in their footers. Tantivy trusts counts read from its files,
/// and in two places a damaged count makes it allocate without bound, which aborts the
/// process (no panic to catch): the column dictionary of the fast fields (a block's value
/// count drives a loop that pushes until memory runs out) and the doc store's skip index
/// (`Vec::with_capacity` of a count from the file). These files are small, about 10 bytes
/// per chunk together; the postings and terms, the bulk of the index, are not read in full
/// here, and damage there panics inside tantivy, which [`contained`] turns into an error.
fn verify_small_files(index: &Index, dir: &Path) -> Result<()> {
    let metas = index
        .searchable_segment_metas()
        .map_err(|e| corrupt(dir, "cannot read segments", e))?;
    for meta in &metas {
        for component in [
            SegmentComponent::FastFields,
            SegmentComponent::Store,
            SegmentComponent::FieldNorms,
        ] {
            let file = meta.relative_path(component);
            let path = dir.join(&file);
            let intact = index
                .directory()
                .validate_checksum(&file)
                .map_err(|e| corrupt(&path, "cannot read", e))?;
            if !intact {
                return Err(Error::corrupt(path, "checksum mismatch"));
            }
        }
    }
    Ok(())
}

/// An incremental update merges all segments when it leaves more than this many (each
/// segment costs a little per query) ...
const MAX_SEGMENTS: usize = 8;
/// ... or when more than this fraction of the documents are deleted. Until a merge, BM25
/// statistics (document frequencies, average lengths) still count deleted documents, so
/// this bounds how far an incremental index's scores drift from a fresh build's.
const MAX_DELETED_FRACTION: f64 = 0.10;

/// Builds a lexical index in a directory, from nothing or from a previous one.
pub struct LexicalWriter {
    dir: PathBuf,
    index: Index,
    writer: IndexWriter<TantivyDocument>,
    fields: Fields,
    /// Built from scratch (merge everything at the end) rather than updated.
    fresh: bool,
}

/// Tantivy's own lock files: never carried from one directory to another.
const TANTIVY_LOCKS: &[&str] = &[".tantivy-writer.lock", ".tantivy-meta.lock"];

impl LexicalWriter {
    /// Starts a new index in `dir` (created if missing; must not already hold an index).
    pub fn create(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
        let (schema, fields) = Fields::schema();
        // Nothing is stored, so the doc store only holds empty docs: don't compress it.
        let settings = IndexSettings {
            docstore_compression: Compressor::None,
            ..IndexSettings::default()
        };
        let index = Index::builder()
            .schema(schema)
            .settings(settings)
            .create_in_dir(dir)?;
        LexicalWriter::start(index, fields, dir, true)
    }

    fn start(index: Index, fields: Fields, dir: &Path, fresh: bool) -> Result<Self> {
        register_tokenizer(&index);
        // One indexing thread: with several, documents land in segments in an order that
        // depends on thread timing, so the merged index (and score ties, and float sums)
        // differ from build to build. Reproducible evals are worth the ~1.5x build time.
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY_BYTES)?;
        // Segments are merged once, at the end (see `finish`): merging while indexing
        // would redo work.
        writer.set_merge_policy(Box::new(NoMergePolicy));
        Ok(LexicalWriter {
            dir: dir.to_path_buf(),
            index,
            writer,
            fields,
            fresh,
        })
    }

    /// Continues the complete index in `base` in the new directory `dir`: `base`'s files
    /// are hard-linked (copied where links are impossible) and then only added to. Tantivy
    /// never rewrites a file (segments are write-once, `meta.json` is replaced by rename),
    /// so `base` stays intact for its readers. Then [`delete_file`](Self::delete_file) and
    /// [`add`](Self::add) apply the changes.
    pub fn create_from(base: &Path, dir: &Path) -> Result<Self> {
        // Refuse an incomplete or foreign base before building on it.
        LexicalIndex::open(base)?;
        fs::create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
        let entries = fs::read_dir(base).map_err(|e| Error::io("reading", base, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("reading", base, e))?;
            let name = entry.file_name();
            let name_str = name.to_string_lossy();
            if name_str == MARKER_FILE || TANTIVY_LOCKS.contains(&name_str.as_ref()) {
                continue;
            }
            let (from, to) = (entry.path(), dir.join(&name));
            if fs::hard_link(&from, &to).is_err() {
                fs::copy(&from, &to).map_err(|e| Error::io("copying", &from, e))?;
            }
        }
        let index = Index::open_in_dir(dir).map_err(|e| corrupt(dir, "cannot open", e))?;
        let fields = Fields::from_schema(&index.schema())
            .ok_or_else(|| Error::corrupt(dir, "the lexical index has an unexpected schema"))?;
        LexicalWriter::start(index, fields, dir, false)
    }

    /// Deletes every chunk of file `file_id` (added before this call).
    pub fn delete_file(&mut self, file_id: u32) {
        self.writer.delete_term(Term::from_field_u64(
            self.fields.file_id,
            u64::from(file_id),
        ));
    }

    /// Adds one chunk.
    pub fn add(&mut self, doc: &LexicalDoc) -> Result<()> {
        self.writer.add_document(self.fields.document(doc))?;
        Ok(())
    }

    /// Commits, merges segments and marks the directory complete; it is immutable
    /// afterwards. A fresh index is merged into one segment (one segment searches
    /// fastest); an updated one only when it has more than `MAX_SEGMENTS` (8) segments or
    /// more than `MAX_DELETED_FRACTION` (10%) deleted documents (a merge purges them), so a
    /// small update costs a small new segment, not a rewrite.
    pub fn finish(mut self) -> Result<()> {
        self.writer.commit()?;
        let metas = self.index.searchable_segment_metas()?;
        let max_doc: u64 = metas.iter().map(|m| u64::from(m.max_doc())).sum();
        let deleted: u64 = metas.iter().map(|m| u64::from(m.num_deleted_docs())).sum();
        let too_many_deleted = deleted as f64 > MAX_DELETED_FRACTION * max_doc as f64;
        if metas.len() > 1 && (self.fresh || metas.len() > MAX_SEGMENTS || too_many_deleted)
            || metas.len() == 1 && too_many_deleted
        {
            let ids: Vec<_> = metas.iter().map(|m| m.id()).collect();
            self.writer.merge(&ids).wait()?;
        }
        self.writer.garbage_collect_files().wait()?;
        self.writer.wait_merging_threads()?;
        let marker = self.dir.join(MARKER_FILE);
        let mut file = fs::File::create(&marker).map_err(|e| Error::io("creating", &marker, e))?;
        file.write_all(format!("{MARKER_PREFIX}{LEXICAL_FORMAT_VERSION}\n").as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("writing", &marker, e))?;
        Ok(())
    }
}

/// Check every file of the lexical index in `dir` against tantivy's own checksums.
/// Returns the names of damaged files (empty: intact); an index that cannot be opened at
/// all is an error.
pub fn verify(dir: &Path) -> Result<Vec<String>> {
    LexicalIndex::open(dir)?;
    let index = Index::open_in_dir(dir).map_err(|e| corrupt(dir, "cannot open", e))?;
    let bad = index
        .validate_checksum()
        .map_err(|e| corrupt(dir, "cannot check", e))?;
    let mut names: Vec<String> = bad.iter().map(|p| p.display().to_string()).collect();
    names.sort();
    Ok(names)
}

/// An opened (memory-mapped, read-only) lexical index.
pub struct LexicalIndex {
    // Kept so the searcher's segments stay registered with the index.
    _reader: IndexReader,
    searcher: Searcher,
    fields: Fields,
    /// `chunk_id` column of each segment, by segment ordinal.
    chunk_ids: Vec<Column<u64>>,
    dir: PathBuf,
}

impl LexicalIndex {
    /// Opens the index in `dir`. A missing, incomplete or damaged directory gives
    /// [`Error::CorruptIndex`]; one written by another format version gives
    /// [`Error::FormatVersion`].
    pub fn open(dir: &Path) -> Result<Self> {
        Self::check_format(dir)?;
        contained(dir, "cannot open", || Self::open_tantivy(dir))
    }

    /// Checks only the version marker in `dir` (it reads one small file): the errors of
    /// [`open`](Self::open) for a missing or unfinished index and for another format
    /// version, without opening the index itself.
    pub fn check_format(dir: &Path) -> Result<()> {
        let marker = dir.join(MARKER_FILE);
        let content = match fs::read_to_string(&marker) {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let detail = if dir.is_dir() {
                    "the lexical index is incomplete (its build did not finish)"
                } else {
                    "the lexical index directory is missing"
                };
                return Err(Error::corrupt(dir, detail));
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(corrupt(dir, "unreadable lexical version marker", e))
            }
            Err(e) => return Err(Error::io("reading", marker, e)),
        };
        let found = content
            .trim()
            .strip_prefix(MARKER_PREFIX)
            .and_then(|v| v.parse::<u32>().ok())
            .ok_or_else(|| Error::corrupt(&marker, "malformed lexical version marker"))?;
        if found != LEXICAL_FORMAT_VERSION {
            return Err(Error::FormatVersion {
                path: dir.to_path_buf(),
                found,
                supported: LEXICAL_FORMAT_VERSION,
                hint: "rebuild it with `cseek index`",
            });
        }
        Ok(())
    }

    /// The tantivy part of [`open`](Self::open) (may panic on damaged files).
    fn open_tantivy(dir: &Path) -> Result<Self> {
        let index = Index::open_in_dir(dir).map_err(|e| corrupt(dir, "cannot open", e))?;
        verify_small_files(&index, dir)?;
        let fields = Fields::from_schema(&index.schema())
            .ok_or_else(|| Error::corrupt(dir, "the lexical index has an unexpected schema"))?;
        register_tokenizer(&index);
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| corrupt(dir, "cannot read segments", e))?;
        let searcher = reader.searcher();
        let chunk_ids = searcher
            .segment_readers()
            .iter()
            .map(|seg| seg.fast_fields().u64("chunk_id"))
            .collect::<tantivy::Result<Vec<_>>>()
            .map_err(|e| corrupt(dir, "cannot read chunk ids", e))?;
        // The document count of a segment comes from meta.json (no checksum) and sizes
        // the collector's buffers; the field norms (checksummed above) hold one byte per
        // document, so they vouch for it.
        for (seg, ids) in searcher.segment_readers().iter().zip(&chunk_ids) {
            let norms = seg
                .get_fieldnorms_reader(fields.body)
                .map_err(|e| corrupt(dir, "cannot read field norms", e))?;
            if norms.num_docs() != seg.max_doc() || ids.num_docs() != seg.max_doc() {
                return Err(Error::corrupt(
                    dir,
                    format!(
                        "a segment of {} documents has {} field norms and {} chunk ids",
                        seg.max_doc(),
                        norms.num_docs(),
                        ids.num_docs()
                    ),
                ));
            }
        }
        Ok(LexicalIndex {
            _reader: reader,
            searcher,
            fields,
            chunk_ids,
            dir: dir.to_path_buf(),
        })
    }

    /// A small index held in memory, for text that is not on disk (an editor's unsaved
    /// buffers): same schema and analysis as an index built by [`LexicalWriter`].
    pub fn in_memory<'a>(docs: impl IntoIterator<Item = LexicalDoc<'a>>) -> Result<Self> {
        let dir = PathBuf::from("<unsaved buffers>");
        let (schema, fields) = Fields::schema();
        let index = Index::create_in_ram(schema);
        register_tokenizer(&index);
        let mut writer: IndexWriter<TantivyDocument> =
            index.writer_with_num_threads(1, IN_MEMORY_WRITER_BYTES)?;
        for doc in docs {
            writer.add_document(fields.document(&doc))?;
        }
        writer.commit()?;
        let reader: IndexReader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let searcher = reader.searcher();
        let chunk_ids = searcher
            .segment_readers()
            .iter()
            .map(|seg| seg.fast_fields().u64("chunk_id"))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(LexicalIndex {
            _reader: reader,
            searcher,
            fields,
            chunk_ids,
            dir,
        })
    }

    /// Number of chunks in the index.
    pub fn num_docs(&self) -> u64 {
        self.searcher.num_docs()
    }

    /// Documents deleted by incremental updates but not yet merged away. While there are
    /// any, BM25 statistics still count them (a bounded drift from a fresh build's scores:
    /// see `MAX_DELETED_FRACTION`).
    pub fn num_deleted_docs(&self) -> u64 {
        self.searcher
            .segment_readers()
            .iter()
            .map(|s| u64::from(s.num_deleted_docs()))
            .sum()
    }

    /// Whether `query`, as a whole, is the name of a definition in the index (in the
    /// spelling given or its snake-case normal form, qualified forms included): `Router`
    /// when a `struct Router` or `class Router` exists. Search uses this to tell a symbol
    /// lookup from a plain word without guessing from capitalisation alone.
    pub fn defines_symbol(&self, query: &str) -> Result<bool> {
        let (exact, norm) = key_forms(query);
        if exact.is_empty() {
            return Ok(false);
        }
        contained(&self.dir, "cannot look up a symbol", || {
            for key in [exact, norm] {
                let term = Term::from_field_text(self.fields.symbol_exact, &key);
                // Counted, not `doc_freq` alone: that still counts documents deleted by an
                // incremental update.
                if self.searcher.doc_freq(&term).map_err(|e| self.damaged(e))? > 0
                    && self
                        .searcher
                        .search(
                            &TermQuery::new(term, IndexRecordOption::Basic),
                            &tantivy::collector::Count,
                        )
                        .map_err(|e| self.damaged(e))?
                        > 0
                {
                    return Ok(true);
                }
            }
            Ok(false)
        })
    }

    /// A tantivy error while reading: the index is damaged (cseek's own files are
    /// complete and immutable once committed, so nothing else makes a read fail).
    fn damaged(&self, err: tantivy::TantivyError) -> Error {
        corrupt(&self.dir, "cannot read", err)
    }

    /// The best `limit` chunks for `query`, best first. With `allowed_files`, only chunks of
    /// those file ids are considered (the filter is part of the tantivy query, so the top
    /// `limit` are the top among allowed chunks).
    ///
    /// An empty query, or one with nothing but punctuation, is [`Error::InvalidQuery`].
    /// Any other text is valid: it is analyzed, never parsed.
    pub fn search(
        &self,
        query: &str,
        limit: usize,
        allowed_files: Option<&[u32]>,
    ) -> Result<Vec<LexicalHit>> {
        self.search_with(query, limit, allowed_files, &[], None)
    }

    /// [`search`](Self::search) with two more controls: `excluded_files` are left out (an
    /// editor's unsaved buffers stand in for them), and `statistics` scores with another
    /// index's BM25 statistics (document frequencies, average lengths) — a small index of
    /// unsaved buffers scored with the main index's statistics gives scores comparable with
    /// the main index's own, so the two lists merge by score.
    pub fn search_with(
        &self,
        query: &str,
        limit: usize,
        allowed_files: Option<&[u32]>,
        excluded_files: &[u32],
        statistics: Option<&LexicalIndex>,
    ) -> Result<Vec<LexicalHit>> {
        let scoring = build_query(&self.fields, query)?;
        if limit == 0 || allowed_files.is_some_and(|f| f.is_empty()) {
            return Ok(Vec::new());
        }
        let file_terms = |files: &[u32]| {
            let terms = files
                .iter()
                .map(|&id| Term::from_field_u64(self.fields.file_id, u64::from(id)))
                .collect::<Vec<_>>();
            // Boost 0: a filter restricts, it must not add to the score.
            Box::new(BoostQuery::new(Box::new(TermSetQuery::new(terms)), 0.0)) as Box<dyn Query>
        };
        let mut clauses = vec![(Occur::Must, scoring)];
        if let Some(files) = allowed_files {
            clauses.push((Occur::Must, file_terms(files)));
        }
        if !excluded_files.is_empty() {
            clauses.push((Occur::MustNot, file_terms(excluded_files)));
        }
        let query: Box<dyn Query> = if clauses.len() == 1 {
            clauses.remove(0).1
        } else {
            Box::new(BooleanQuery::new(clauses))
        };
        let statistics: &dyn tantivy::query::Bm25StatisticsProvider =
            statistics.map_or(&self.searcher, |s| &s.searcher);
        // More results than documents cannot come back; the collector allocates its heap
        // by `limit`, so an absurd limit must not reach it.
        let limit = limit.min(
            usize::try_from(self.num_docs())
                .unwrap_or(usize::MAX)
                .max(1),
        );
        let mut hits = contained(&self.dir, "cannot search", || {
            let top = self
                .searcher
                .search_with_statistics_provider(
                    &query,
                    &TopDocs::with_limit(limit).order_by_score(),
                    statistics,
                )
                .map_err(|e| self.damaged(e))?;
            top.into_iter()
                .map(|(score, addr)| {
                    let id = self
                        .chunk_ids
                        .get(addr.segment_ord as usize)
                        .and_then(|col| col.first(addr.doc_id))
                        .and_then(|id| u32::try_from(id).ok())
                        .ok_or_else(|| {
                            Error::corrupt(&self.dir, "a document has no valid chunk id")
                        })?;
                    Ok(LexicalHit {
                        chunk_id: id,
                        score,
                    })
                })
                .collect::<Result<Vec<_>>>()
        })?;
        // Equal scores come back in file order, so results never depend on collector
        // internals.
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.chunk_id.cmp(&b.chunk_id))
        });
        Ok(hits)
    }
}

/// One identifier of a query, analyzed.
struct QueryIdent {
    /// Lowercased identifier, as written.
    whole: String,
    /// The analyzer's tokens for it (what the index holds for the same identifier).
    tokens: Vec<String>,
    /// A single-part word (`where`), as opposed to `read_file` or `HTTPServer`.
    single: bool,
}

fn analyze_query(query: &str) -> Vec<QueryIdent> {
    let mut analyzer = Analyzer::default();
    let mut out = Vec::new();
    for (start, end) in identifiers(query) {
        let ident = &query[start..end];
        let mut tokens = Vec::new();
        analyzer.analyze_ident(ident, 0, 0, &mut |e| tokens.push(e.text.to_string()));
        if tokens.is_empty() {
            continue;
        }
        out.push(QueryIdent {
            whole: lowercase(ident),
            single: parts(ident).len() == 1,
            tokens,
        });
    }
    out
}

/// The distinct terms a query searches for, in query order: the analyzer's tokens of its
/// identifiers, stop words dropped from a query that has other words, at most
/// 128. Empty when the query has no words or identifiers.
pub fn query_terms(query: &str) -> Vec<String> {
    let mut idents = analyze_query(query);
    if idents.len() > 1 {
        let is_stop = |i: &QueryIdent| i.single && STOPWORDS.contains(&i.whole.as_str());
        if !idents.iter().all(is_stop) {
            idents.retain(|i| !is_stop(i));
        }
    }
    let mut terms: Vec<String> = Vec::new();
    for t in idents.into_iter().flat_map(|i| i.tokens) {
        if terms.len() >= MAX_QUERY_TOKENS {
            break;
        }
        if !terms.contains(&t) {
            terms.push(t);
        }
    }
    terms
}

/// Longest run of adjacent query words joined into one compound term.
const MAX_COMPOUND_WORDS: usize = 3;

/// The compounds code writes for adjacent words of a question of several words: `thread
/// pool` → `threadpool`, `json reader` → `jsonreader` (which `JsonReader`, `threadpool.c`
/// and `uv_threadpool_init` index as a whole identifier or a part). Runs of two and
/// three adjacent plain words, stop words dropped first (`read a file` → `readfile`);
/// words of one letter are not joined (`X's` is not `xs`). A compound absent from an
/// index costs nothing, so no dictionary is needed to propose them.
pub(crate) fn compound_terms(query: &str) -> Vec<String> {
    let mut idents = analyze_query(query);
    if idents.len() < 2 {
        return Vec::new();
    }
    idents.retain(|i| !(i.single && STOPWORDS.contains(&i.whole.as_str())));
    let mut out: Vec<String> = Vec::new();
    for i in 0..idents.len() {
        let mut compound = String::new();
        for (n, ident) in idents[i..].iter().take(MAX_COMPOUND_WORDS).enumerate() {
            let word = &ident.whole;
            let plain = ident.single && word.chars().all(char::is_alphabetic);
            if !plain || word.chars().count() < 2 {
                break;
            }
            compound.push_str(word);
            if n > 0 && !out.contains(&compound) && out.len() < MAX_QUERY_TOKENS {
                out.push(compound.clone());
            }
        }
    }
    out
}

/// The abbreviations code writes for the words of a question of several words
/// (`file system` → `fs`, `address` → `addr`), given its [`query_terms`]; none for a
/// single word, which is a name to look up, not words to paraphrase. Shared by every
/// BM25 backend, so the embedded index and Milvus expand a query alike.
pub(crate) fn abbreviation_terms(query: &str, terms: &[String]) -> Vec<String> {
    if query.split_whitespace().nth(1).is_none() {
        return Vec::new();
    }
    abbrev::expansions(terms)
}

/// The agent nouns code names things by for the verbs of a question of several words
/// (`check` → `checker`, `format` → `formatter`; see `agent`), given its [`query_terms`].
pub(crate) fn agent_terms(query: &str, terms: &[String]) -> Vec<String> {
    let idents = analyze_query(query);
    if idents.len() < 2 {
        return Vec::new();
    }
    let words: Vec<&str> = idents
        .iter()
        .filter(|i| i.single && !STOPWORDS.contains(&i.whole.as_str()))
        .map(|i| i.whole.as_str())
        .collect();
    agent::expansions(&words, terms)
}

/// Builds the scoring query for `query` (see the module docs).
fn build_query(fields: &Fields, query: &str) -> Result<Box<dyn Query>> {
    if query.trim().is_empty() {
        return Err(Error::InvalidQuery("the query is empty".to_string()));
    }
    let terms = query_terms(query);
    if terms.is_empty() {
        return Err(Error::InvalidQuery(format!(
            "`{}` has no words or identifiers to search for",
            query.trim()
        )));
    }
    let term_query = |field: Field, text: &str, boost: f32| -> (Occur, Box<dyn Query>) {
        let q = TermQuery::new(
            Term::from_field_text(field, text),
            IndexRecordOption::WithFreqs,
        );
        (Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost)))
    };
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = terms
        .iter()
        .flat_map(|t| {
            [
                term_query(fields.body, t, 1.0),
                term_query(fields.path, t, PATH_BOOST),
            ]
        })
        .collect();
    // A question in words also asks for the abbreviations code writes for its words
    // (`file system` → `fs`), weighted below the words themselves.
    for a in abbreviation_terms(query, &terms) {
        clauses.push(term_query(fields.body, &a, ABBREVIATION_BOOST));
        clauses.push(term_query(fields.path, &a, PATH_BOOST * ABBREVIATION_BOOST));
    }
    // … and the agent nouns of its verbs (`check` → `checker`), weighted as abbreviations.
    for a in agent_terms(query, &terms) {
        clauses.push(term_query(fields.body, &a, AGENT_BOOST));
        clauses.push(term_query(fields.path, &a, PATH_BOOST * AGENT_BOOST));
    }
    // … and the compounds code writes for its adjacent words (`thread pool` →
    // `threadpool`), weighted as a word.
    for c in compound_terms(query) {
        if !terms.contains(&c) {
            clauses.push(term_query(fields.body, &c, COMPOUND_BOOST));
            clauses.push(term_query(fields.path, &c, PATH_BOOST * COMPOUND_BOOST));
        }
    }
    // The whole query names a symbol (`parse_config`, `Foo::bar`): its definition must
    // outrank the chunks that call it many times.
    let (exact, norm) = key_forms(query);
    if !exact.is_empty() {
        if norm != exact {
            clauses.push(term_query(fields.symbol_exact, &norm, BOOST_NORM_FULL));
        }
        clauses.push(term_query(fields.symbol_exact, &exact, BOOST_EXACT_FULL));
    }
    Ok(Box::new(BooleanQuery::new(clauses)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_forms_normalise_separators_and_case() {
        let kf = |s: &str| key_forms(s);
        assert_eq!(
            kf("Foo.parseJSON"),
            ("foo::parsejson".into(), "foo::parse_json".into())
        );
        assert_eq!(kf("Foo::bar()"), ("foo::bar".into(), "foo::bar".into()));
        assert_eq!(
            kf("parse_config"),
            ("parse_config".into(), "parse_config".into())
        );
        assert_eq!(
            kf("Getting Started"),
            ("getting::started".into(), "getting::started".into())
        );
        assert_eq!(kf("();"), (String::new(), String::new()));
    }

    #[test]
    fn symbol_keys_cover_qualified_forms() {
        assert_eq!(symbol_keys("bar", Some("Foo<T>")), ["bar", "foo::bar"]);
        assert_eq!(
            symbol_keys("parseJSON", Some("app.io.JsonReader")),
            [
                "app::io::json_reader::parse_json",
                "app::io::jsonreader::parsejson",
                "json_reader::parse_json",
                "jsonreader::parsejson",
                "parse_json",
                "parsejson",
            ]
        );
        assert!(symbol_keys("()", None).is_empty());
    }

    #[test]
    fn questions_find_code_written_in_abbreviations() {
        let doc = |chunk_id: u32, text: &'static str| LexicalDoc {
            chunk_id,
            file_id: chunk_id,
            path: "src/x.c",
            language: Language::C,
            kind: ChunkKind::Function,
            symbol: None,
            container: None,
            text,
        };
        let index = LexicalIndex::in_memory([
            doc(0, "int read_all(int x) { read(x); read(x); }"),
            doc(1, "int uv_fs_read(uv_req_t* req) { return 0; }"),
        ])
        .unwrap();
        // Without the abbreviation the chunk that reads twice wins on `read` alone.
        let hits = index.search("read", 2, None).unwrap();
        assert_eq!(hits[0].chunk_id, 0);
        let hits = index.search("file system read", 2, None).unwrap();
        assert_eq!(hits[0].chunk_id, 1, "{hits:?}");
        // A one-word query is not expanded: `system` alone does not ask for `sys`.
        let sys = LexicalIndex::in_memory([doc(0, "int sys_call(void) {}")]).unwrap();
        assert!(sys.search("system", 1, None).unwrap().is_empty());
    }

    #[test]
    fn questions_find_classes_named_for_what_they_do() {
        let doc = |chunk_id: u32, path: &'static str, text: &'static str| LexicalDoc {
            chunk_id,
            file_id: chunk_id,
            path,
            language: Language::TypeScript,
            kind: ChunkKind::Class,
            symbol: None,
            container: None,
            text,
        };
        let index = LexicalIndex::in_memory([
            doc(0, "src/app.ts", "class AppError { error: Error }"),
            doc(1, "src/output.ts", "class ErrorFormatter { apply(e) {} }"),
            doc(2, "src/a.ts", "function a() { throw new Error() }"),
            doc(3, "src/b.ts", "function b() { return 1 }"),
        ])
        .unwrap();
        // `error` three times in one chunk beats once; the agent noun of `formatted` decides.
        let hits = index.search("errors", 2, None).unwrap();
        assert_eq!(hits[0].chunk_id, 0);
        let hits = index.search("how errors are formatted", 2, None).unwrap();
        assert_eq!(hits[0].chunk_id, 1, "{hits:?}");
        let q = "check plugin updates";
        assert!(agent_terms(q, &query_terms(q)).contains(&"checker".to_string()));
        // One word is a name to look up, not a verb to paraphrase.
        assert!(agent_terms("check", &query_terms("check")).is_empty());
    }

    #[test]
    fn adjacent_words_form_compounds() {
        assert_eq!(
            compound_terms("thread pool size"),
            ["threadpool", "threadpoolsize", "poolsize"]
        );
        // Stop words drop out before joining; one-letter words and identifiers never join.
        assert_eq!(compound_terms("read a file"), ["readfile"]);
        assert_eq!(compound_terms("X's state"), Vec::<String>::new());
        assert_eq!(compound_terms("parse_config file"), Vec::<String>::new());
        assert!(compound_terms("reader").is_empty());
    }

    #[test]
    fn questions_find_identifiers_written_as_one_word() {
        let doc = |chunk_id: u32, path: &'static str, text: &'static str| LexicalDoc {
            chunk_id,
            file_id: chunk_id,
            path,
            language: Language::Java,
            kind: ChunkKind::Class,
            symbol: None,
            container: None,
            text,
        };
        let index = LexicalIndex::in_memory([
            doc(0, "src/Util.java", "json and reader"),
            doc(
                1,
                "src/Stream.java",
                "class JsonReader { Token peek() { return next; } }",
            ),
        ])
        .unwrap();
        // `json` and `reader` alone favour the short chunk that has both; the compound
        // `jsonreader` is the class the question names.
        let hits = index.search("json reader", 2, None).unwrap();
        assert_eq!(hits[0].chunk_id, 1, "{hits:?}");
    }

    #[test]
    fn path_words_drop_the_extension() {
        assert_eq!(path_words("src/io/read-file.rs"), "src/io/read-file");
        assert_eq!(path_words("Makefile"), "Makefile");
        assert_eq!(path_words("conf/.gitignore"), "conf/.gitignore");
        assert_eq!(path_words("a.d/b"), "a.d/b");
    }
}
