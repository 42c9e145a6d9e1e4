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

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
