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
    // Appended after `Text`: the index stores a language as its position in this list.
    Dart,
    OCaml,
    ObjC,
    Erlang,
    R,
}

impl Language {
    /// Every language, in a stable order (also the order of `cseek languages`). Indexes
    /// store a language as its position here, so new languages are appended.
    pub const ALL: [Language; 29] = [
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
        Language::Dart,
        Language::OCaml,
        Language::ObjC,
        Language::Erlang,
        Language::R,
    ];

    /// What starts a line comment: `#` in Python, Ruby, shell, Elixir, Julia and R, `--`
    /// in Lua, Haskell and SQL, `%` in Erlang, `//` elsewhere (OCaml has none: its
    /// comments are `(* … *)` blocks). PHP also takes `#`, and text cut by layout may
    /// use any of them.
    pub fn line_comment(self) -> &'static str {
        match self {
            Language::Python
            | Language::Ruby
            | Language::Bash
            | Language::Elixir
            | Language::Julia
            | Language::R => "#",
            Language::Lua | Language::Haskell | Language::Sql => "--",
            Language::Erlang => "%",
            _ => "//",
        }
    }

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
            Language::Dart => "dart",
            Language::OCaml => "ocaml",
            Language::ObjC => "objc",
            Language::Erlang => "erlang",
            Language::R => "r",
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
            Language::Cpp => &[
                "cc", "cpp", "cxx", "c++", "hh", "hpp", "hxx", "h++", "ipp", "inl", "tpp", "cu",
                "cuh", "ino",
            ],
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
            Language::Dart => &["dart"],
            // Interfaces (`.mli`) are another grammar; they are chunked by layout.
            Language::OCaml => &["ml"],
            // `.m` is MATLAB's too: see [`Language::refine`]. Objective-C++ (`.mm`) mixes
            // in C++, which this grammar does not read; it is chunked by layout.
            Language::ObjC => &["m"],
            Language::Erlang => &["erl", "hrl"],
            Language::R => &["r"],
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
            "ml" => Some(Language::OCaml),
            "objective-c" | "objectivec" | "obj-c" => Some(Language::ObjC),
            "erl" => Some(Language::Erlang),
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

/// Extensions of source code in languages without a grammar here (Clojure, Perl, F#,
/// Groovy, Nim, OCaml interfaces, Elm …). Such files are indexed as [`Language::Text`]
/// and cut into chunks by their layout (top-level blocks and the definitions their first
/// lines name) rather than by fixed line windows. `m` is here for MATLAB, whose files
/// share Objective-C's extension and are told apart by their text, and `vue` and
/// `svelte` for components without a `<script>`; one with a script is parsed as its
/// script's language ([`Language::refine`]).
pub const CODE_WITHOUT_GRAMMAR: &[&str] = &[
    "mli", "re", "rei", "res", "resi", "clj", "cljs", "cljc", "pl", "pm", "m", "mm", "fs", "fsi",
    "fsx", "groovy", "gradle", "vue", "svelte", "nim", "cr", "d", "hx", "el", "lisp", "rkt", "tcl",
    "ps1", "psm1", "nix", "elm", "purs", "sol", "f90", "f95", "f03", "pas", "vb", "ada", "adb",
    "ads", "coffee", "tf", "hcl", "proto", "thrift", "graphql", "gql", "cmake", "awk", "fish",
    "vim", "gleam", "odin", "jsonnet", "pyx", "pxd", "pxi", "cob", "cbl", "sv", "svh", "vhd",
    "vhdl", "mojo",
];

/// Names of languages whose source is indexed without a grammar, with their extensions
/// (from [`CODE_WITHOUT_GRAMMAR`]), so that asking for one by name gets an answer that
/// helps.
const NAMED_WITHOUT_GRAMMAR: &[(&str, &str)] = &[
    ("ocaml-interface", "mli"),
    ("reason", "re"),
    ("rescript", "res"),
    ("clojure", "clj"),
    ("perl", "pl"),
    ("matlab", "m"),
    ("octave", "m"),
    ("objective-c++", "mm"),
    ("fsharp", "fs"),
    ("f#", "fs"),
    ("groovy", "groovy"),
    ("vue", "vue"),
    ("svelte", "svelte"),
    ("nim", "nim"),
    ("crystal", "cr"),
    ("d", "d"),
    ("haxe", "hx"),
    ("elisp", "el"),
    ("lisp", "lisp"),
    ("racket", "rkt"),
    ("tcl", "tcl"),
    ("powershell", "ps1"),
    ("nix", "nix"),
    ("elm", "elm"),
    ("purescript", "purs"),
    ("solidity", "sol"),
    ("fortran", "f90"),
    ("pascal", "pas"),
    ("ada", "adb"),
    ("coffeescript", "coffee"),
    ("terraform", "tf"),
    ("protobuf", "proto"),
    ("thrift", "thrift"),
    ("graphql", "graphql"),
    ("gleam", "gleam"),
    ("odin", "odin"),
    ("cython", "pyx"),
    ("cobol", "cob"),
    ("verilog", "sv"),
    ("vhdl", "vhd"),
    ("mojo", "mojo"),
];

/// The error message for a language name that [`Language::from_name`] does not know. A
/// language whose files are indexed without a grammar is said to be text, with the path
/// glob that selects its files instead.
pub fn unknown_language_message(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    match NAMED_WITHOUT_GRAMMAR.iter().find(|(l, _)| *l == n) {
        Some((l, ext)) => format!(
            "{l} has no grammar here: its files are indexed as text, so select them by \
             path instead (e.g. the glob **/*.{ext})"
        ),
        None => format!("unknown language {name:?}; `cseek languages` lists them"),
    }
}

/// Whether `path` names source code in a language without a grammar
/// ([`CODE_WITHOUT_GRAMMAR`]).
pub fn is_code_without_grammar(path: &str) -> bool {
    path.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty()
            && !stem.ends_with('/')
            && CODE_WITHOUT_GRAMMAR.contains(&ext.to_ascii_lowercase().as_str())
    })
}

impl Language {
    /// The language of a file's `text` where its extension alone cannot tell:
    /// - a `.h` header is C unless it uses syntax only Objective-C ([`looks_like_objc`])
    ///   or C++ ([`looks_like_cpp`]) has. Projects in both commonly name their headers
    ///   `.h`; read by the C grammar, such a header is mostly parse errors and its classes
    ///   become anonymous top-level text. Both grammars read C well, so a C header taken
    ///   for either loses little.
    /// - a `.m` file is Objective-C only if it looks like it; otherwise it is MATLAB or
    ///   Octave, which is [`Language::Text`] chunked by layout.
    /// - a Vue or Svelte component (`.vue`, `.svelte`) is the language of its `<script>`
    ///   (TypeScript for `lang="ts"`, else JavaScript), which is parsed with the template
    ///   around it left as text; one without a script stays text.
    pub fn refine(self, path: &str, text: &str) -> Language {
        let ext = path.rsplit_once('.').map_or("", |(_, ext)| ext);
        match self {
            Language::C if ext.eq_ignore_ascii_case("h") => {
                if looks_like_objc(text) {
                    Language::ObjC
                } else if looks_like_cpp(text) {
                    Language::Cpp
                } else {
                    self
                }
            }
            Language::ObjC if ext.eq_ignore_ascii_case("m") && !looks_like_objc(text) => {
                Language::Text
            }
            Language::Text if is_component(path) => component_scripts(text)
                .first()
                .map_or(Language::Text, |s| s.language),
            _ => self,
        }
    }

    /// Whether a file whose path says `self` may have been indexed as `stored`: the same
    /// language, or one its text refines it to ([`Language::refine`]). A file stored
    /// under any other language was indexed under other rules and is read again.
    pub fn admits(self, stored: Language) -> bool {
        stored == self
            || matches!(
                (self, stored),
                (Language::C, Language::Cpp | Language::ObjC)
                    | (Language::ObjC, Language::Text)
                    | (
                        Language::Text,
                        Language::JavaScript | Language::TypeScript | Language::Tsx
                    )
            )
    }
}

/// Whether `path` is a Vue or Svelte single-file component.
pub(crate) fn is_component(path: &str) -> bool {
    path.rsplit_once('.').is_some_and(|(_, ext)| {
        ext.eq_ignore_ascii_case("vue") || ext.eq_ignore_ascii_case("svelte")
    })
}

/// A `<script>` block of a single-file component.
pub(crate) struct ComponentScript {
    /// Its language: TypeScript for `lang="ts"` (TSX for `lang="tsx"`), else JavaScript.
    pub language: Language,
    /// Byte range of its code, between the tags.
    pub code: std::ops::Range<usize>,
}

/// The `<script>` blocks of a Vue or Svelte component (`<script setup lang="ts">`,
/// Svelte's `<script context="module">`), in file order; a block without its closing tag
/// ends the scan. Only tags at the start of a line count, as components write them, so a
/// `<script>` inside the template's text or a string is not taken for one.
pub(crate) fn component_scripts(text: &str) -> Vec<ComponentScript> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let at = offset;
        offset += line.len();
        if out
            .last()
            .is_some_and(|s: &ComponentScript| s.code.end > at)
        {
            continue;
        }
        let t = line.trim_start();
        let Some(rest) = t.strip_prefix("<script") else {
            continue;
        };
        if !rest.starts_with(|c: char| c == '>' || c.is_whitespace()) {
            continue;
        }
        let Some(close) = rest.find('>') else {
            continue;
        };
        let attrs = &rest[..close];
        let start = at + (line.len() - t.len()) + "<script".len() + close + 1;
        let Some(len) = text.get(start..).and_then(|r| r.find("</script>")) else {
            break;
        };
        let lang = attrs
            .split_whitespace()
            .find_map(|a| a.strip_prefix("lang="))
            .map(|v| v.trim_matches(['"', '\'']).to_ascii_lowercase());
        let language = match lang.as_deref() {
            Some("ts" | "typescript") => Language::TypeScript,
            Some("tsx") => Language::Tsx,
            _ => Language::JavaScript,
        };
        out.push(ComponentScript {
            language,
            code: start..start + len,
        });
    }
    out
}

/// Whether C-family source is Objective-C: a line that starts with `@interface`,
/// `@implementation`, `@protocol`, `@class` or `#import`. None of them is C or C++ (GCC's
/// `#import` is an Objective-C extension), and MATLAB, the other owner of `.m`, comments
/// with `%` and has no `@` or `#` directives.
pub fn looks_like_objc(text: &str) -> bool {
    text.lines().any(|line| {
        let t = line.trim_start();
        [
            "@interface",
            "@implementation",
            "@protocol",
            "@class",
            "#import",
        ]
        .iter()
        .any(|w| {
            t.strip_prefix(w)
                .is_some_and(|r| r.starts_with(|c: char| c.is_whitespace() || c == '<' || c == '"'))
        })
    })
}

/// Whether C or C++ source uses C++-only syntax at the start of a line: `namespace`,
/// `template <`, `class Name`, an access specifier (`public:`), `using namespace`, or
/// `std::` anywhere. One such line decides: none of them is valid C, and a C header's
/// `extern "C"` guard for C++ readers has none of them.
pub fn looks_like_cpp(text: &str) -> bool {
    fn keyword<'a>(line: &'a str, word: &str) -> Option<&'a str> {
        let rest = line.strip_prefix(word)?;
        let next = rest.chars().next()?;
        (next.is_whitespace() || "{<:".contains(next)).then(|| rest.trim_start())
    }
    let ident_start = |s: &str| s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    text.lines().any(|line| {
        let t = line.trim_start();
        keyword(t, "namespace").is_some_and(|r| ident_start(r) || r.starts_with('{'))
            || keyword(t, "template").is_some_and(|r| r.starts_with('<'))
            || keyword(t, "class").is_some_and(ident_start)
            || keyword(t, "using").is_some_and(|r| r.starts_with("namespace"))
            || ["public", "private", "protected"]
                .iter()
                .any(|w| keyword(t, w).is_some_and(|r| r.starts_with(':') && !r.starts_with("::")))
            || t.contains("std::")
    })
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
            Language::Dart => tree_sitter_dart::LANGUAGE,
            Language::OCaml => tree_sitter_ocaml::LANGUAGE_OCAML,
            Language::ObjC => tree_sitter_objc::LANGUAGE,
            Language::Erlang => tree_sitter_erlang::LANGUAGE,
            Language::R => tree_sitter_r::LANGUAGE,
            Language::Markdown | Language::Text => return None,
        };
        Some(f.into())
    }

    /// The chunk query (`grammars/<name>.scm`) for this language's grammar, or `None` when
    /// [`Language::grammar`] is `None`. Some are assembled from shared parts: TSX shares
    /// `typescript.scm`; it and `javascript.scm` get `ecmascript.scm` appended; `c.scm`,
    /// `cpp.scm` and Objective-C's `objc.scm` + `c.scm` get `cfamily.scm`. See the module
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
            Language::Dart => include_str!("../grammars/dart.scm"),
            Language::OCaml => include_str!("../grammars/ocaml.scm"),
            // The Objective-C grammar extends C's: its own definitions first (they take
            // precedence where both match), then C's.
            Language::ObjC => concat!(
                include_str!("../grammars/objc.scm"),
                include_str!("../grammars/c.scm"),
                include_str!("../grammars/cfamily.scm")
            ),
            Language::Erlang => include_str!("../grammars/erlang.scm"),
            Language::R => include_str!("../grammars/r.scm"),
            Language::Markdown | Language::Text => return None,
        })
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpp_headers_are_told_from_c_headers_by_their_text() {
        let cpp = [
            "#pragma once\nnamespace fmt {\nint f();\n}\n",
            "namespace detail{ }\n",
            "template <typename T>\nstruct box { T v; };\n",
            "template<class T> T id(T t);\n",
            "class Logger : public Sink {\n public:\n  void log();\n};\n",
            "struct S {\nprivate:\n  int x;\n};\n",
            "using namespace std;\n",
            "inline size_t n(const std::string& s) { return s.size(); }\n",
        ];
        for text in cpp {
            assert!(looks_like_cpp(text), "{text:?}");
            assert_eq!(Language::C.refine("include/x.h", text), Language::Cpp);
            assert_eq!(Language::C.refine("include/X.H", text), Language::Cpp);
        }
        let c = [
            // The guard C headers carry for C++ readers.
            "#ifdef __cplusplus\nextern \"C\" {\n#endif\nint uv_run(uv_loop_t* loop);\n#ifdef __cplusplus\n}\n#endif\n",
            // C names that start like the keywords.
            "int classify(int c);\nstatic int template_count;\nint namespaces[4];\n",
            "/* A class of errors.\n * namespace: none\n */\nenum err { E1 };\n",
            "label: public_api = 1;\nprivate_data *p;\n",
            "struct s { int public; };\n",
        ];
        for text in c {
            assert!(!looks_like_cpp(text), "{text:?}");
            assert_eq!(Language::C.refine("x.h", text), Language::C);
        }
        // Only `.h` is ambiguous: a `.c` file stays C, and other languages are untouched.
        assert_eq!(Language::C.refine("x.c", cpp[0]), Language::C);
        assert_eq!(Language::Cpp.refine("x.h", c[0]), Language::Cpp);
        assert_eq!(Language::Python.refine("x.h", cpp[0]), Language::Python);
    }

    #[test]
    fn component_scripts_are_found_with_their_language() {
        let vue = "<template>\n  <p>{{ a }}</p>\n</template>\n\n<script setup lang=\"ts\">\nconst a = 1\n</script>\n<script lang='tsx'>\nexport default {}\n</script>\n";
        let scripts = component_scripts(vue);
        let got: Vec<(Language, &str)> = scripts
            .iter()
            .map(|s| (s.language, &vue[s.code.clone()]))
            .collect();
        assert_eq!(
            got,
            [
                (Language::TypeScript, "\nconst a = 1\n"),
                (Language::Tsx, "\nexport default {}\n")
            ]
        );
        assert_eq!(
            Language::Text.refine("src/A.vue", vue),
            Language::TypeScript
        );
        let svelte = "<script context=\"module\">\n  export const x = 1;\n</script>\n<p>{x}</p>\n";
        assert_eq!(
            Language::Text.refine("A.svelte", svelte),
            Language::JavaScript
        );
        // No script, a tag that is not one, an unclosed one: text.
        for text in [
            "<template><p/></template>\n",
            "<scripts>\n</scripts>\n",
            "<p>use a <script> tag</p>\n",
            "<script>\nlet a = 1;\n",
        ] {
            assert!(component_scripts(text).is_empty(), "{text:?}");
            assert_eq!(Language::Text.refine("A.vue", text), Language::Text);
        }
        // Only components: a text file with a script tag stays text.
        assert_eq!(Language::Text.refine("notes.txt", vue), Language::Text);
        assert!(Language::Text.admits(Language::TypeScript));
    }

    #[test]
    fn objc_is_told_from_c_and_matlab_by_its_text() {
        let objc = [
            "#import <Foundation/Foundation.h>\n\n@interface Client : NSObject\n@end\n",
            "@protocol Sending\n- (void)send;\n@end\n",
            "@class NSURL;\nint f(void);\n",
            "#import \"Client.h\"\n",
            "  @implementation Client\n@end\n",
        ];
        for text in objc {
            assert!(looks_like_objc(text), "{text:?}");
            assert_eq!(Language::C.refine("Client.h", text), Language::ObjC);
            assert_eq!(Language::ObjC.refine("Client.m", text), Language::ObjC);
        }
        let matlab = [
            "function y = area(r)\n% AREA of a circle\ny = pi * r^2;\nend\n",
            "classdef Account < handle\n  properties\n    Balance = 0\n  end\nend\n",
            // `@` in MATLAB makes function handles; it never starts a line with a keyword.
            "f = @(x) x.^2;\n@interfaces = 1;\n",
        ];
        for text in matlab {
            assert!(!looks_like_objc(text), "{text:?}");
            assert_eq!(Language::ObjC.refine("area.m", text), Language::Text);
        }
        // A C header stays C; what a refinement may produce is admitted when reading the
        // index back, and nothing else is.
        assert_eq!(
            Language::C.refine("uv.h", "int uv_run(void);\n"),
            Language::C
        );
        assert!(Language::C.admits(Language::ObjC) && Language::ObjC.admits(Language::Text));
        assert!(!Language::Text.admits(Language::ObjC) && !Language::ObjC.admits(Language::C));
    }

    #[test]
    fn languages_without_a_grammar_are_named_in_errors() {
        for (name, ext) in NAMED_WITHOUT_GRAMMAR {
            assert!(CODE_WITHOUT_GRAMMAR.contains(ext), "{name}: {ext}");
            assert!(Language::from_name(name).is_none(), "{name} has a grammar");
        }
        let m = unknown_language_message("Clojure");
        assert!(
            m.contains("indexed as text") && m.contains("**/*.clj"),
            "{m}"
        );
        for (name, lang) in [
            ("dart", Language::Dart),
            ("OCaml", Language::OCaml),
            ("objective-c", Language::ObjC),
            ("erlang", Language::Erlang),
            ("R", Language::R),
        ] {
            assert_eq!(Language::from_name(name), Some(lang));
        }
        assert!(unknown_language_message("klingon").contains("unknown language"));
    }
}
