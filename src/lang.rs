//! The languages cseek knows: names, file extensions, and (for those with a tree-sitter
//! grammar) the grammar and the query file from `grammars/` that says what a chunk is.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// A language cseek can chunk. Files of unknown type that are still text are
/// [`Language::Text`] and are chunked by line windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)] // the variant names are the documentation
pub enum Language {
    Python,
    Rust,
    Go,
    Java,
    JavaScript,
    TypeScript,
    Tsx,
    C,
    Cpp,
    CSharp,
    Ruby,
    Php,
    Kotlin,
    Scala,
    Swift,
    Bash,
    Lua,
    Haskell,
    Elixir,
    Zig,
    Julia,
    Sql,
    Markdown,
    Text,
}

impl Language {
    /// Every language, in a stable order (also the order of `cseek languages`).
    pub const ALL: [Language; 24] = [
        Language::Python,
        Language::Rust,
        Language::Go,
        Language::Java,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::C,
        Language::Cpp,
        Language::CSharp,
        Language::Ruby,
        Language::Php,
        Language::Kotlin,
        Language::Scala,
        Language::Swift,
        Language::Bash,
        Language::Lua,
        Language::Haskell,
        Language::Elixir,
        Language::Zig,
        Language::Julia,
        Language::Sql,
        Language::Markdown,
        Language::Text,
    ];

    /// The canonical lowercase name, as used by `--lang` and in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Rust => "rust",
            Language::Go => "go",
            Language::Java => "java",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::C => "c",
            Language::Cpp => "cpp",
            Language::CSharp => "csharp",
            Language::Ruby => "ruby",
            Language::Php => "php",
            Language::Kotlin => "kotlin",
            Language::Scala => "scala",
            Language::Swift => "swift",
            Language::Bash => "bash",
            Language::Lua => "lua",
            Language::Haskell => "haskell",
            Language::Elixir => "elixir",
            Language::Zig => "zig",
            Language::Julia => "julia",
            Language::Sql => "sql",
            Language::Markdown => "markdown",
            Language::Text => "text",
        }
    }

    /// File extensions (without the dot, lowercase) that select this language.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Language::Python => &["py", "pyi", "pyw"],
            Language::Rust => &["rs"],
            Language::Go => &["go"],
            Language::Java => &["java"],
            Language::JavaScript => &["js", "mjs", "cjs", "jsx"],
            Language::TypeScript => &["ts", "mts", "cts"],
            Language::Tsx => &["tsx"],
            Language::C => &["c", "h"],
            Language::Cpp => &["cc", "cpp", "cxx", "c++", "hh", "hpp", "hxx", "h++", "ipp"],
            Language::CSharp => &["cs"],
            Language::Ruby => &["rb", "rake", "gemspec"],
            Language::Php => &["php", "phtml"],
            Language::Kotlin => &["kt", "kts"],
            Language::Scala => &["scala", "sc"],
            Language::Swift => &["swift"],
            Language::Bash => &["sh", "bash", "zsh"],
            Language::Lua => &["lua"],
            Language::Haskell => &["hs", "lhs"],
            Language::Elixir => &["ex", "exs"],
            Language::Zig => &["zig"],
            Language::Julia => &["jl"],
            Language::Sql => &["sql"],
            Language::Markdown => &["md", "markdown", "mdx"],
            Language::Text => &["txt", "rst", "adoc"],
        }
    }

    /// Parse a `--lang` value: the canonical name or a common alias (`py`, `js`, `c++` ...).
    pub fn from_name(name: &str) -> Option<Language> {
        let n = name.trim().to_ascii_lowercase();
        let alias = match n.as_str() {
            "py" => Some(Language::Python),
            "rs" => Some(Language::Rust),
            "golang" => Some(Language::Go),
            "js" | "node" => Some(Language::JavaScript),
            "ts" => Some(Language::TypeScript),
            "c++" | "cxx" => Some(Language::Cpp),
            "c#" | "cs" => Some(Language::CSharp),
            "rb" => Some(Language::Ruby),
            "kt" => Some(Language::Kotlin),
            "sh" | "shell" => Some(Language::Bash),
            "hs" => Some(Language::Haskell),
            "ex" => Some(Language::Elixir),
            "jl" => Some(Language::Julia),
            "md" => Some(Language::Markdown),
            "txt" => Some(Language::Text),
            _ => None,
        };
        alias.or_else(|| Language::ALL.into_iter().find(|l| l.name() == n))
    }

    /// The language of a file, from its extension (or, for a few well-known names, its
    /// file name). `None` means "unknown": the walker still indexes it as [`Language::Text`]
    /// if it turns out to be text.
    pub fn from_path(path: &Path) -> Option<Language> {
        let file_name = path.file_name()?.to_str()?;
        match file_name {
            "Rakefile" | "Gemfile" => return Some(Language::Ruby),
            ".bashrc" | ".zshrc" | ".profile" => return Some(Language::Bash),
            _ => {}
        }
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Language::ALL
            .into_iter()
            .find(|l| l.extensions().contains(&ext.as_str()))
    }
}

impl Language {
    /// The tree-sitter grammar of this language, or `None` for languages chunked without
    /// one ([`Language::Markdown`] is chunked by a heading scan, [`Language::Text`] by windows).
    pub fn grammar(self) -> Option<tree_sitter::Language> {
        let f: tree_sitter_language::LanguageFn = match self {
            Language::Python => tree_sitter_python::LANGUAGE,
            Language::Rust => tree_sitter_rust::LANGUAGE,
            Language::Go => tree_sitter_go::LANGUAGE,
            Language::Java => tree_sitter_java::LANGUAGE,
            Language::JavaScript => tree_sitter_javascript::LANGUAGE,
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT,
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX,
            Language::C => tree_sitter_c::LANGUAGE,
            Language::Cpp => tree_sitter_cpp::LANGUAGE,
            Language::CSharp => tree_sitter_c_sharp::LANGUAGE,
            Language::Ruby => tree_sitter_ruby::LANGUAGE,
            Language::Php => tree_sitter_php::LANGUAGE_PHP,
            Language::Kotlin => tree_sitter_kotlin_ng::LANGUAGE,
            Language::Scala => tree_sitter_scala::LANGUAGE,
            Language::Swift => tree_sitter_swift::LANGUAGE,
            Language::Bash => tree_sitter_bash::LANGUAGE,
            Language::Lua => tree_sitter_lua::LANGUAGE,
            Language::Haskell => tree_sitter_haskell::LANGUAGE,
            Language::Elixir => tree_sitter_elixir::LANGUAGE,
            Language::Zig => tree_sitter_zig::LANGUAGE,
            Language::Julia => tree_sitter_julia::LANGUAGE,
            Language::Sql => tree_sitter_sequel::LANGUAGE,
            Language::Markdown | Language::Text => return None,
        };
        Some(f.into())
    }

    /// The chunk query (`grammars/<name>.scm`; TSX shares `typescript.scm`, and both it and
    /// `javascript.scm` get `ecmascript.scm` appended, `c.scm` and `cpp.scm` get `cfamily.scm`) for this language's grammar, or
    /// `None` when [`Language::grammar`] is `None`. See the module
    /// docs of [`crate::chunk`] for the capture convention.
    pub fn chunk_query_source(self) -> Option<&'static str> {
        Some(match self {
            Language::Python => include_str!("../grammars/python.scm"),
            Language::Rust => include_str!("../grammars/rust.scm"),
            Language::Go => include_str!("../grammars/go.scm"),
            Language::Java => include_str!("../grammars/java.scm"),
            Language::JavaScript => concat!(
                include_str!("../grammars/javascript.scm"),
                include_str!("../grammars/ecmascript.scm")
            ),
            // TSX is TypeScript with JSX, which holds no definitions of its own.
            Language::TypeScript | Language::Tsx => concat!(
                include_str!("../grammars/typescript.scm"),
                include_str!("../grammars/ecmascript.scm")
            ),
            Language::C => concat!(
                include_str!("../grammars/c.scm"),
                include_str!("../grammars/cfamily.scm")
            ),
            Language::Cpp => concat!(
                include_str!("../grammars/cpp.scm"),
                include_str!("../grammars/cfamily.scm")
            ),
            Language::CSharp => include_str!("../grammars/csharp.scm"),
            Language::Ruby => include_str!("../grammars/ruby.scm"),
            Language::Php => include_str!("../grammars/php.scm"),
            Language::Kotlin => include_str!("../grammars/kotlin.scm"),
            Language::Scala => include_str!("../grammars/scala.scm"),
            Language::Swift => include_str!("../grammars/swift.scm"),
            Language::Bash => include_str!("../grammars/bash.scm"),
            Language::Lua => include_str!("../grammars/lua.scm"),
            Language::Haskell => include_str!("../grammars/haskell.scm"),
            Language::Elixir => include_str!("../grammars/elixir.scm"),
            Language::Zig => include_str!("../grammars/zig.scm"),
            Language::Julia => include_str!("../grammars/julia.scm"),
            Language::Sql => include_str!("../grammars/sql.scm"),
            Language::Markdown | Language::Text => return None,
        })
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
