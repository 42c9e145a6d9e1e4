//! Chunking: split a source file into the units search returns — functions, methods,
//! classes and other definitions, found by tree-sitter queries in `grammars/<lang>.scm`.
//!
//! # Query capture convention
//!
//! Each `grammars/<lang>.scm` marks a definition by capturing its whole node as
//! `@definition.<kind>`, where `<kind>` is a [`ChunkKind::name`] of a definition kind
//! (`function`, `method`, `class`, `struct`, `enum`, `trait`, `interface`, `impl`,
//! `module`, `type`, `macro`), and its name as `@name`. An optional `@container` names the
//! container when it is not the enclosing node (a Go method's receiver type, C++ `A::f`).
//! When several patterns capture the same `@name` node, the largest definition node wins,
//! so a pattern on a wrapper (`decorated_definition`, `export_statement`,
//! `template_declaration`) pulls the wrapper into the chunk; when two patterns capture
//! the same definition node, the earlier pattern in the file wins. Comments directly
//! above a definition are added by the chunker, not the query.
//!
//! # Rules
//!
//! * Every definition is its own chunk. A function whose nearest enclosing definition is
//!   class-like (class, struct, enum, trait, interface, impl) is a [`ChunkKind::Method`];
//!   definitions inside a function or method stay part of it.
//! * A container with member definitions yields a header chunk (its start up to its first
//!   member), the members, and `TopLevel` chunks (with `container` set) for code between
//!   and after members; chunks with nothing but braces or `end` are dropped.
//! * Comments and attributes directly above a definition (no blank line) belong to it, and
//!   so does a `/** … */` doc block one blank line above it.
//! * A licence header (comment paragraphs at the top of the file naming a copyright or
//!   licence, followed by a blank line) belongs to no chunk.
//! * Items inside the `{ … }` body of a Rust macro invocation written as an item
//!   (`cfg_rt! { impl Handle { … } }`, `pin_project! { struct … }`) are chunked like any
//!   others when the body parses as items; other bodies stay text.
//! * Code between top-level definitions becomes `TopLevel` chunks, without the blank and
//!   closer-only (`}`) lines at their ends; blank-only gaps vanish.
//! * A chunk over [`ChunkOptions::max_chunk_bytes`] is split at syntactic boundaries
//!   (children of its node, recursing into over-budget children), then whole lines, then
//!   byte windows on char boundaries for a single over-long line. A doc comment of at most
//!   half the budget is never split from the code below it.
//! * C, C++ and Objective-C lines that hold only a macro (`NS_ASSUME_NONNULL_BEGIN`,
//!   `G_BEGIN_DECLS`, an export macro above `@interface` or a function) are parsed as
//!   blank, so the declarations around them parse; one right above a definition joins its
//!   chunk like an attribute.
//! * A Vue or Svelte component is parsed as the language of its `<script>` blocks, and
//!   only they are parsed; its template and styles are `TopLevel` text.
//! * Source code in a language without a grammar here (Clojure, Perl, F#, MATLAB …,
//!   [`crate::lang::CODE_WITHOUT_GRAMMAR`]) is cut by its layout ([`layout`](mod@layout)):
//!   top-level blocks, named by the definition their first lines start.
//!   So is a file whose parse fails or times out.
//! * Other files without a grammar, files that yield no definitions, and files that look
//!   minified are cut into line windows ([`ChunkKind::Window`]). Markdown is cut into one
//!   [`ChunkKind::Section`] per heading.
//!
//! # Ranges and text
//!
//! Chunks of a file are in file order and never overlap. Lines are 1-based inclusive,
//! bytes `[start_byte, end_byte)` index the file's text, and chunks start at line starts
//! (only byte windows of an over-long line do not). For every chunk except the second and
//! later parts of a split definition, `text == &file[start_byte..end_byte]`. Those later
//! parts repeat the definition's signature line (the line holding its name, capped in
//! length): `text == signature + "\n" + &file[start_byte..end_byte]`, so each part says
//! what it belongs to, while the ranges cover only the part itself. All parts keep the
//! definition's kind, symbol and container. The indexer may also append documentation
//! that lives in another file to the chunk naming it (Rust's `#[doc =
//! include_str!("…")]`, [`include`](mod@include)); [`chunk_file`] itself reads nothing but `text`.

pub mod doc;
pub mod include;
pub mod layout;
mod lines;
mod markdown;
mod syntax;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::lang::Language;

/// Version of the chunking rules, recorded in every index. Bumped by any change that
/// alters the chunks of some file, so an index written by another version is re-chunked
/// on its next update (vectors of unchanged chunk texts still come from the cache).
pub const CHUNKER_VERSION: u32 = 15;

/// Knobs of [`chunk_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkOptions {
    /// Largest chunk, in bytes of the file (a split part's repeated signature aside).
    pub max_chunk_bytes: usize,
    /// Lines per window when a file is chunked by line windows.
    pub window_lines: usize,
    /// Time allowed for parsing and querying one file before falling back to chunking by
    /// layout,
    /// so pathological input cannot stall indexing. Generous on purpose (a 1 MB file
    /// takes ~0.4 s in release): a tight deadline would make chunking depend on machine
    /// load, and indexes must be reproducible.
    pub parse_timeout: Duration,
    /// Files whose average line is longer than this (minified bundles, data blobs) skip
    /// parsing and are cut into windows: their definitions are not useful chunks.
    pub minified_line_bytes: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        ChunkOptions {
            max_chunk_bytes: 2500,
            window_lines: 40,
            parse_timeout: Duration::from_secs(20),
            minified_line_bytes: 1000,
        }
    }
}

/// Split `text` (the file at root-relative `path`) into chunks.
///
/// `language` is the one the path says; the text can refine it (a `.h` header written in
/// C++ is chunked, and its chunks labelled, as C++: [`Language::refine`]).
///
/// Never fails: a parse failure or timeout falls back to chunking by layout, other
/// problems to line windows. An empty file has no chunks. Thread-safe; grammars and
/// queries are compiled once per process.
pub fn chunk_file(path: &str, text: &str, language: Language, opts: &ChunkOptions) -> Vec<Chunk> {
    chunk_refined(path, text, language.refine(path, text), opts)
}

/// [`chunk_file`] for a caller that has refined the language already (the indexer, which
/// also records it), so the text is not scanned twice.
pub(crate) fn chunk_refined(
    path: &str,
    text: &str,
    language: Language,
    opts: &ChunkOptions,
) -> Vec<Chunk> {
    let lines = lines::Lines::new(text);
    let mut sink = lines::Sink::new(path, language, &lines);
    let n = lines.count();
    if text.trim().is_empty() {
        return Vec::new();
    }
    let minified = text.len() / n.max(1) > opts.minified_line_bytes;
    match language {
        Language::Markdown => markdown::chunk(&mut sink, opts),
        _ if minified => sink.windows(0, n, opts),
        Language::Text if crate::lang::is_code_without_grammar(path) => {
            layout::chunk(&mut sink, opts)
        }
        Language::Text => sink.windows(0, n, opts),
        _ => {
            if syntax::chunk(&mut sink, opts).is_none() {
                // No tree: the layout still finds most definitions (measured on the dev
                // suite: 0.874 against 0.853 for windows and 0.887 for the grammars).
                sink.out.clear();
                layout::chunk(&mut sink, opts);
            } else {
                return merge_same_name(sink.out, text, opts);
            }
        }
    }
    sink.out
}

/// Merge runs of adjacent definitions with the same kind, name and container (only blank
/// lines between them) into one chunk while it fits the size budget: a TypeScript
/// function's overload signatures and its implementation, a Python property's getter and
/// setter, a C# method's overloads. A reader sees one definition there; apart, the
/// signatures are one-line chunks that answer nothing. Parts of a split definition
/// (their text is not the file's slice) are never merged.
fn merge_same_name(chunks: Vec<Chunk>, text: &str, opts: &ChunkOptions) -> Vec<Chunk> {
    let whole = |c: &Chunk| text.get(c.start_byte..c.end_byte) == Some(c.text.as_str());
    let mut out: Vec<Chunk> = Vec::with_capacity(chunks.len());
    for c in chunks {
        if let Some(prev) = out.last_mut() {
            let between = text.get(prev.end_byte..c.start_byte).unwrap_or("x");
            if c.symbol.is_some()
                && c.kind != ChunkKind::TopLevel
                && (prev.kind, &prev.symbol, &prev.container) == (c.kind, &c.symbol, &c.container)
                && between.trim().is_empty()
                && c.end_byte - prev.start_byte <= opts.max_chunk_bytes
                && whole(prev)
                && whole(&c)
            {
                prev.end_byte = c.end_byte;
                prev.end_line = c.end_line;
                prev.text = text[prev.start_byte..prev.end_byte].to_string();
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// For `cseek languages`: what counts as a chunk in this language (the definition kinds
/// its query captures, `Method` where functions can be members, `Section` for Markdown,
/// `Window` for plain text). Code between definitions is always `TopLevel` and not listed.
pub fn chunk_kinds(language: Language) -> Vec<ChunkKind> {
    match language {
        Language::Markdown => vec![ChunkKind::Section],
        Language::Text => vec![ChunkKind::Window],
        _ => syntax::kinds(language),
    }
}

/// Check that `language`'s grammar loads and its chunk query compiles (a test helper;
/// a failure is a bug in cseek's `grammars/`). Languages without a grammar pass.
pub fn check_query(language: Language) -> crate::Result<()> {
    if language.grammar().is_none() {
        return Ok(());
    }
    syntax::compiled(language)
        .map(|_| ())
        .map_err(|detail| crate::Error::Grammar {
            language: language.name(),
            detail,
        })
}

/// What a chunk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChunkKind {
    /// A free function.
    Function,
    /// A function defined inside a class, impl, trait or similar container.
    Method,
    /// A class (or object/record in languages that call it that).
    Class,
    /// A struct.
    Struct,
    /// An enum.
    Enum,
    /// A trait, protocol or type class.
    Trait,
    /// An interface.
    Interface,
    /// A Rust `impl` block (or a similar extension block).
    Impl,
    /// A module, namespace or package block.
    Module,
    /// A type alias or other type definition.
    Type,
    /// A macro definition.
    Macro,
    /// A Markdown section (a heading and its body).
    Section,
    /// Code between definitions: imports, constants, top-level statements.
    TopLevel,
    /// A fixed line window, used when a file has no grammar or cannot be parsed.
    Window,
    /// A module-level variable or constant bound to a name: Flask's `g = LocalProxy(…)`,
    /// `export const appRouter = router({…})`, Rust's `static`, Go's `var ErrClosed = …`.
    /// Libraries expose objects under such names, and people look them up by name.
    Variable,
}

impl ChunkKind {
    /// Every kind, in a stable order (the order of their numeric codes in the store).
    pub const ALL: [ChunkKind; 15] = [
        ChunkKind::Function,
        ChunkKind::Method,
        ChunkKind::Class,
        ChunkKind::Struct,
        ChunkKind::Enum,
        ChunkKind::Trait,
        ChunkKind::Interface,
        ChunkKind::Impl,
        ChunkKind::Module,
        ChunkKind::Type,
        ChunkKind::Macro,
        ChunkKind::Section,
        ChunkKind::TopLevel,
        ChunkKind::Window,
        ChunkKind::Variable,
    ];

    /// Lowercase name, as printed and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            ChunkKind::Function => "function",
            ChunkKind::Method => "method",
            ChunkKind::Class => "class",
            ChunkKind::Struct => "struct",
            ChunkKind::Enum => "enum",
            ChunkKind::Trait => "trait",
            ChunkKind::Interface => "interface",
            ChunkKind::Impl => "impl",
            ChunkKind::Module => "module",
            ChunkKind::Type => "type",
            ChunkKind::Macro => "macro",
            ChunkKind::Section => "section",
            ChunkKind::TopLevel => "top_level",
            ChunkKind::Window => "window",
            ChunkKind::Variable => "variable",
        }
    }

    /// Whether the chunk is a definition (has a name a symbol query can hit).
    pub fn is_definition(self) -> bool {
        !matches!(
            self,
            ChunkKind::Section | ChunkKind::TopLevel | ChunkKind::Window
        )
    }
}

impl std::fmt::Display for ChunkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One unit of search: a definition or a group of top-level lines from one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Path of the file relative to the indexed root, with `/` separators.
    pub path: String,
    /// Language of the file.
    pub language: Language,
    /// What the chunk is.
    pub kind: ChunkKind,
    /// Name of the defined symbol (`parse_config`), if the chunk is a definition.
    pub symbol: Option<String>,
    /// Name of the enclosing container (class of a method, impl type, module), if any.
    pub container: Option<String>,
    /// Byte offset of the first byte in the file's text.
    pub start_byte: usize,
    /// Byte offset one past the last byte.
    pub end_byte: usize,
    /// First line, 1-based.
    pub start_line: u32,
    /// Last line, 1-based, inclusive.
    pub end_line: u32,
    /// The chunk's text. For a part of a split definition, starts with the signature line
    /// of the definition, so each part says what it belongs to.
    pub text: String,
}
