//! Chunking: split a source file into the units search returns — functions, methods,
//! classes and other definitions, found by tree-sitter queries in `grammars/<lang>.scm`.

use serde::{Deserialize, Serialize};

use crate::lang::Language;

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
}

impl ChunkKind {
    /// Every kind, in a stable order (the order of their numeric codes in the store).
    pub const ALL: [ChunkKind; 14] = [
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
