//! Doc comments of a definition chunk: where they are and their first sentence.
//!
//! A definition's doc comment says in words what its code does, which makes it the one
//! (question, answer) pair every codebase carries: `cseek eval self` scores search on
//! these pairs, and the indexer fits the weight of lexical against semantic search on
//! them ([`crate::fuse::calibrate`]). Both need the sentence, and the indexer also needs
//! the chunk without it (a question is asked of code that does not already hold its
//! words).

use std::ops::Range;

use crate::lang::Language;

/// Fewest and most words a doc sentence may have to be used as a query.
const DOC_WORDS: (usize, usize) = (3, 24);

/// A doc comment found in a chunk's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocComment {
    /// The comment's words, markers (`///`, `*`, quotes) removed.
    pub text: String,
    /// The lines of the chunk's text it occupies (0-based, end exclusive).
    pub lines: Range<usize>,
}

impl DocComment {
    /// Its first sentence, cleaned of markup, when it is prose of a usable length.
    pub fn sentence(&self) -> Option<String> {
        first_sentence(&self.text)
    }

    /// `text` (the chunk it was found in) without the comment's lines.
    pub fn remove_from(&self, text: &str) -> String {
        let kept: Vec<&str> = text
            .lines()
            .enumerate()
            .filter(|(i, _)| !self.lines.contains(i))
            .map(|(_, l)| l)
            .collect();
        kept.join("\n")
    }
}

/// The doc comment or docstring of a definition chunk: a Python docstring, else the
/// comment lines the chunker kept above the definition.
pub fn doc_comment(text: &str, language: Language) -> Option<DocComment> {
    let string_doc = match language {
        Language::Python => python_docstring(text),
        Language::Elixir => string_above(text, "@doc"),
        Language::Julia => string_above(text, ""),
        _ => None,
    };
    string_doc.or_else(|| leading_comment(text, language))
}

/// A doc string above the definition, opened on the chunk's first line that starts with
/// `opener`: Elixir's `@doc """ … """` or `@doc "…"`, after any other attributes (an
/// empty `opener` takes a string that opens the chunk, Julia's docstring). Lines indented four spaces or more inside
/// it are code (Julia's signature block) and left out of the text.
fn string_above(text: &str, opener: &str) -> Option<DocComment> {
    // Other attributes may come first (`@impl true`).
    let (start, first) = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .find(|(_, l)| {
            let t = l.trim_start();
            t.starts_with(opener) || opener.is_empty() || !t.starts_with('@')
        })
        .filter(|(_, l)| l.trim_start().starts_with(opener))?;
    let rest = first.trim_start()[opener.len()..].trim();
    if let Some(body) = rest.strip_prefix("\"\"\"") {
        let mut doc = body.to_string();
        for (i, l) in text.lines().enumerate().skip(start + 1) {
            if l.trim() == "\"\"\"" {
                return Some(DocComment {
                    text: doc,
                    lines: start..i + 1,
                });
            }
            let indent = l.len() - l.trim_start().len();
            if indent < 4 + first.len() - first.trim_start().len() {
                doc.push(' ');
                doc.push_str(l.trim());
            }
        }
        return None;
    }
    let body = rest.strip_prefix('"')?.strip_suffix('"')?;
    Some(DocComment {
        text: body.to_string(),
        lines: start..start + 1,
    })
}

/// The first sentence of the doc comment or docstring of a definition chunk, cleaned of
/// comment markers and markup, if it has one of a usable length.
pub fn doc_sentence(text: &str, language: Language) -> Option<String> {
    doc_comment(text, language)?.sentence()
}

/// The docstring of a Python `def`/`class` chunk: the string literal that opens its body.
fn python_docstring(text: &str) -> Option<DocComment> {
    let mut lines = text.lines().enumerate().skip_while(|(_, l)| {
        let t = l.trim_start();
        !(t.starts_with("def ") || t.starts_with("async def ") || t.starts_with("class "))
    });
    // Skip the (possibly multi-line) signature up to the line ending with `:`.
    for (_, l) in lines.by_ref() {
        if l.trim_end().ends_with(':') {
            break;
        }
    }
    let (start, first) = lines.next()?;
    let body = first
        .trim()
        .trim_start_matches(['r', 'R', 'u', 'U', 'b', 'B']);
    let quote = ["\"\"\"", "'''", "\"", "'"]
        .into_iter()
        .find(|q| body.starts_with(q))?;
    let mut doc = body[quote.len()..].to_string();
    if let Some(end) = doc.find(quote) {
        doc.truncate(end);
        return Some(DocComment {
            text: doc,
            lines: start..start + 1,
        });
    }
    let mut end = start + 1;
    for (i, l) in lines.take(20) {
        end = i + 1;
        if let Some(close) = l.find(quote) {
            doc.push(' ');
            doc.push_str(&l[..close]);
            return Some(DocComment {
                text: doc,
                lines: start..end,
            });
        }
        doc.push(' ');
        doc.push_str(l.trim());
    }
    Some(DocComment {
        text: doc,
        lines: start..end,
    })
}

/// Comment lines at the start of a chunk (doc comments the chunker kept with their
/// definition): `///`, `//`, `/** … */`, `*`, and where the language writes them (see
/// [`Language::line_comment`]) `#` (R's `#'`), `--` (Lua's `---@param` annotations
/// too) and Erlang's `%%` (its `@doc` tag dropped), and OCaml's `(** … *)`, whose inner
/// lines need no marker. Elsewhere such a line is code: `#if DEBUG` in C#, a `#private`
/// field in JavaScript, `(*f)(x)` in C; one above the comment (`#region`, `#[inline]`) is
/// skipped, one below it ends the comment.
///
/// Rule lines (`%%=====`, `/******`, `// ------`) split the comment into blocks, and the
/// text is the last block that is not a section banner: a short title framed by rules
/// (`%% Internal functions` between two `%%====` lines) names the section the definition
/// happens to open, not the definition. The Erlang skeleton's `Function: f(Args) -> …`
/// line is a signature, and its `Description:` label is dropped. `lines` still covers the
/// whole comment, rules and banners included, so [`DocComment::remove_from`] leaves code.
fn leading_comment(text: &str, language: Language) -> Option<DocComment> {
    let ocaml = language == Language::OCaml;
    // Layout-cut text may be in any language.
    let any = matches!(language, Language::Text | Language::Markdown);
    let marker = language.line_comment();
    let hash = any || marker == "#" || language == Language::Php;
    let dashes = any || marker == "--";
    let percent = any || marker == "%";
    // Blocks of comment lines between rule lines.
    let mut blocks = vec![Block::default()];
    // Inside the skeleton's `Function: f(Args) -> {ok, State} |` signature, which may
    // continue over several lines, up to `Description:`.
    let mut in_signature = false;
    let (mut start, mut end) = (None, 0);
    // Inside an OCaml `(* … *)` block that has not closed yet.
    let mut in_block = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() && start.is_none() && !in_block {
            continue;
        }
        let stripped = if in_block {
            in_block = !t.contains("*)");
            t.trim_end_matches("*)")
        } else if let Some(r) = t
            .strip_prefix("(**")
            .or_else(|| t.strip_prefix("(*"))
            .filter(|_| ocaml)
        {
            in_block = !r.contains("*)");
            r.trim_end().trim_end_matches("*)")
        } else if let Some(r) = t.strip_prefix("///").or_else(|| t.strip_prefix("//!")) {
            r
        } else if let Some(r) = t.strip_prefix("//") {
            r
        } else if let Some(r) = t.strip_prefix("/**").or_else(|| t.strip_prefix("/*")) {
            r.trim_end_matches("*/")
        } else if t.starts_with("*/") {
            end = i + 1;
            continue;
        } else if let Some(r) = t.strip_prefix('*') {
            r.trim_end_matches("*/")
        } else if t.starts_with('#') && (!hash || t.starts_with("#[") || t.starts_with("#!")) {
            // Attributes and directives (`#[inline]`, `#region`, `#if DEBUG`) above the
            // doc comment are skipped; below it, they end it.
            if start.is_none() {
                continue;
            }
            break;
        } else if let Some(r) = t.strip_prefix("#'").filter(|_| hash) {
            r
        } else if let Some(r) = t.strip_prefix('#').filter(|_| hash) {
            r
        } else if let Some(r) = t.strip_prefix("--").filter(|_| dashes) {
            // `---` and `---@param` (LuaCATS annotations); Haddock's `-- |` and `-- ^`.
            let r = r.trim_start_matches('-').trim_start();
            r.strip_prefix(['|', '^']).unwrap_or(r)
        } else if t.starts_with('%') && percent {
            let r = t.trim_start_matches('%').trim_start();
            r.strip_prefix("@doc").unwrap_or(r)
        } else {
            break;
        };
        start.get_or_insert(i);
        end = i + 1;
        let stripped = stripped.trim();
        let Some(block) = blocks.last_mut() else {
            break;
        };
        if is_rule(stripped) || (stripped.is_empty() && t.len() >= 6 && is_rule(t)) {
            if block.text.trim().is_empty() {
                block.ruled_above = true;
            } else {
                blocks.push(Block {
                    ruled_above: true,
                    ..Block::default()
                });
            }
            in_signature = false;
            continue;
        }
        block.lines += 1;
        if stripped.starts_with("Function:") || stripped.starts_with("Func:") {
            in_signature = true;
        }
        let stripped = match stripped.strip_prefix("Description:") {
            Some(rest) => {
                in_signature = false;
                rest
            }
            None if in_signature => continue,
            None => stripped,
        };
        block.text.push(' ');
        block.text.push_str(stripped.trim());
    }
    let start = start?;
    // A block with text followed by a rule always has a block after it.
    let last = blocks.len().saturating_sub(1);
    let text = blocks
        .into_iter()
        .enumerate()
        .filter(|(_, b)| !b.text.trim().is_empty())
        .filter(|(n, b)| {
            let banner = b.ruled_above && *n < last && b.lines == 1;
            !(banner && b.text.split_whitespace().count() <= BANNER_WORDS)
        })
        .map(|(_, b)| b.text)
        .next_back()
        // Only banners: still a comment to remove, but no words about the definition.
        .unwrap_or_default();
    Some(DocComment {
        text,
        lines: start..end,
    })
}

/// Comment lines between two rule lines (or the comment's ends).
#[derive(Default)]
struct Block {
    /// Their words, markers removed.
    text: String,
    /// How many lines (blank comment lines included).
    lines: usize,
    /// Whether a rule line is right above them.
    ruled_above: bool,
}

/// Whether a doc comment is written in XML tags (C#'s `<summary>` … `</summary>`).
fn is_xml_doc(doc: &str) -> bool {
    ["<summary>", "<param name=", "<returns>", "<remarks>"]
        .iter()
        .any(|tag| doc.contains(tag))
}

/// The summary of an XML doc comment as plain text: up to the first block tag after the
/// summary (`<param …>`, `<returns>` …), tags removed; an inline reference
/// (`<see cref="Task"/>`, `<paramref name="sql"/>`) becomes the name it refers to.
fn xml_doc_text(doc: &str) -> String {
    // `doc` is trimmed: a summary opens it.
    let body = doc.strip_prefix("<summary>").unwrap_or(doc);
    let end = [
        "</summary>",
        "<param ",
        "<returns",
        "<remarks",
        "<example",
        "<exception",
        "<typeparam ",
    ]
    .iter()
    .filter_map(|tag| body.find(tag))
    .min()
    .unwrap_or(body.len());
    let mut out = String::with_capacity(end);
    let mut rest = &body[..end];
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = &rest[open..];
            break;
        };
        let tag = &rest[open + 1..open + close];
        // The value of the tag's attribute, if it has one: the name it refers to.
        if let Some((_, value)) = tag.split_once("=\"") {
            out.push_str(value.split('"').next().unwrap_or_default());
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// Most words of a section title framed by rule lines (`Internal application API`).
const BANNER_WORDS: usize = 4;

/// A comment line made only of a repeated separator (`=====`, `-----`, `*****`, `%%%%`):
/// at least three characters, all of them punctuation used for rules.
fn is_rule(s: &str) -> bool {
    s.chars().count() >= 3 && s.chars().all(|c| "=-*#%~_+/<>.".contains(c))
}

/// The first sentence of `doc`, without markup, when it has a usable number of words and
/// is prose (not a license, a lint directive or a parameter list).
fn first_sentence(doc: &str) -> Option<String> {
    let xml;
    let mut doc = doc.trim();
    if is_xml_doc(doc) {
        xml = xml_doc_text(doc);
        doc = xml.trim();
    }
    // A comment of tags only (`@param opts Options`, `@private`).
    if doc.starts_with('@') {
        return None;
    }
    let mut end = doc.len();
    for pat in [
        ". ",
        ".\n",
        "\n\n",
        " @",
        " :param",
        " Args:",
        " Returns:",
        " # ",
    ] {
        if let Some(i) = doc.find(pat) {
            end = end.min(i);
        }
    }
    let sentence: String = doc[..end]
        .trim_end_matches('.')
        .chars()
        .filter(|c| !matches!(c, '`' | '[' | ']' | '*'))
        .collect();
    const NOT_PROSE: &[&str] = &[
        "copyright",
        "license",
        "noqa",
        "pylint",
        "eslint",
        "todo",
        "fixme",
        "safety:",
        "type:",
        "deprecated",
        "http://",
        "https://",
    ];
    let lower = sentence.to_lowercase();
    if NOT_PROSE.iter().any(|w| lower.contains(w)) {
        return None;
    }
    let words: Vec<&str> = sentence.split_whitespace().collect();
    if words.len() < DOC_WORDS.0 || words.len() > DOC_WORDS.1 {
        return None;
    }
    Some(words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_docstrings() {
        let f = "def read_file(path):\n    \"\"\"Read the whole file into a string.\n\n    More.\n    \"\"\"\n    return open(path).read()\n";
        assert_eq!(
            doc_sentence(f, Language::Python).as_deref(),
            Some("Read the whole file into a string")
        );
        let doc = doc_comment(f, Language::Python).unwrap();
        assert_eq!(doc.lines, 1..5);
        assert_eq!(
            doc.remove_from(f),
            "def read_file(path):\n    return open(path).read()"
        );
        let f = "@app.route('/')\ndef index(\n    a,\n    b,\n):\n    '''Render the `index` page for the user'''\n    pass\n";
        assert_eq!(
            doc_sentence(f, Language::Python).as_deref(),
            Some("Render the index page for the user")
        );
        assert_eq!(doc_comment(f, Language::Python).unwrap().lines, 5..6);
        assert_eq!(
            doc_sentence("def f():\n    return 1\n", Language::Python),
            None
        );
    }

    #[test]
    fn comment_docs() {
        let f = "/// Parses the configuration file\n/// at `path`.\n#[inline]\npub fn parse_config() {}\n";
        assert_eq!(
            doc_sentence(f, Language::Rust).as_deref(),
            Some("Parses the configuration file at path")
        );
        assert_eq!(
            doc_comment(f, Language::Rust).unwrap().remove_from(f),
            "#[inline]\npub fn parse_config() {}"
        );
        let f = "/**\n * Create a new router. Another sentence.\n * @param x\n */\nfunction Router() {}\n";
        assert_eq!(
            doc_sentence(f, Language::JavaScript).as_deref(),
            Some("Create a new router")
        );
        assert_eq!(
            doc_comment(f, Language::JavaScript).unwrap().remove_from(f),
            "function Router() {}"
        );
        // Too short, or not prose.
        assert_eq!(doc_sentence("// Helper.\nfn f() {}", Language::Rust), None);
        // Elixir's `@doc` and Julia's docstrings.
        let ex = "  @doc \"\"\"\n  Starts a client for the host.\n\n  More.\n  \"\"\"\n  @spec start(String.t()) :: :ok\n  def start(host), do: :ok\n";
        assert_eq!(
            doc_sentence(ex, Language::Elixir).as_deref(),
            Some("Starts a client for the host")
        );
        assert_eq!(doc_comment(ex, Language::Elixir).unwrap().lines, 0..5);
        let ex = "@impl true\n@doc \"Stops the client now.\"\ndef stop(c), do: :ok\n";
        assert_eq!(
            doc_sentence(ex, Language::Elixir).as_deref(),
            Some("Stops the client now")
        );
        assert_eq!(
            doc_comment("@doc false\ndef f, do: 1\n", Language::Elixir),
            None
        );
        let jl = "\"\"\"\n    read_table(path)\n\nRead a table from a CSV file.\n\"\"\"\nfunction read_table(path)\nend\n";
        assert_eq!(
            doc_sentence(jl, Language::Julia).as_deref(),
            Some("Read a table from a CSV file")
        );
        // OCaml, Erlang and R (roxygen) doc comments.
        let ml = "(** [read_file path] reads the whole file\n    at [path]. *)\nlet read_file path =\n  really_input_string (open_in path)\n";
        assert_eq!(
            doc_sentence(ml, Language::OCaml).as_deref(),
            Some("read_file path reads the whole file at path")
        );
        assert_eq!(doc_comment(ml, Language::OCaml).unwrap().lines, 0..2);
        let erl = "%% @doc Starts a client for the host.\n%% More.\n-spec start(string()) -> ok.\nstart(H) -> ok.\n";
        assert_eq!(
            doc_sentence(erl, Language::Erlang).as_deref(),
            Some("Starts a client for the host")
        );
        let r =
            "#' Detect the presence of a pattern\n#'\n#' @export\nstr_detect <- function(s, p) s\n";
        assert_eq!(
            doc_sentence(r, Language::R).as_deref(),
            Some("Detect the presence of a pattern")
        );
        // Rule lines split a comment; a short title between two rules is a section
        // banner, and the Erlang skeleton's signature lines are not prose.
        let erl = "%%====================================================================\n%% Internal application API\n%%====================================================================\nstart_link(A) -> ok.\n";
        assert_eq!(doc_sentence(erl, Language::Erlang), None);
        let doc = doc_comment(erl, Language::Erlang).unwrap();
        assert_eq!(doc.lines, 0..3);
        assert_eq!(doc.remove_from(erl), "start_link(A) -> ok.");
        let erl = "%%=====\n%% API\n%%=====\n%% Supposed to be called by the supervisor\nstart_link(A) -> ok.\n";
        assert_eq!(
            doc_sentence(erl, Language::Erlang).as_deref(),
            Some("Supposed to be called by the supervisor")
        );
        let erl = "%%--------------------------------------------------------------------\n%% Function: init(Args) -> {ok, State} |\n%%                         ignore               |\n%%                         {stop, Reason}\n%%\n%% Description: Initiates the server\n%%--------------------------------------------------------------------\ninit(A) -> {ok, A}.\n";
        assert_eq!(
            doc_sentence(erl, Language::Erlang).as_deref(),
            Some("Initiates the server")
        );
        let c = "/*****************************************************************\n * Parse the header block of the archive.\n *****************************************************************/\nint parse(void);\n";
        assert_eq!(
            doc_sentence(c, Language::C).as_deref(),
            Some("Parse the header block of the archive")
        );
        // C# XML doc comments: the summary's text, references by name; directives are
        // code, not comment.
        let cs = "#region Query\n/// <summary>\n/// Executes a query, returning the data typed as <typeparamref name=\"T\"/>.\n/// </summary>\n/// <param name=\"sql\">The SQL.</param>\n#if DEBUG\npublic T Query<T>(string sql) {}\n";
        assert_eq!(
            doc_sentence(cs, Language::CSharp).as_deref(),
            Some("Executes a query, returning the data typed as T")
        );
        assert_eq!(doc_comment(cs, Language::CSharp).unwrap().lines, 1..5);
        let cs =
            "/// <summary>Gets the <see cref=\"DbString\"/> as text</summary>\nstring Text() {}\n";
        assert_eq!(
            doc_sentence(cs, Language::CSharp).as_deref(),
            Some("Gets the DbString as text")
        );
        // A JavaScript private field is code; Lua's annotations are not a sentence.
        assert_eq!(
            doc_comment("#count = 0;\nget() {}\n", Language::JavaScript),
            None
        );
        let hs =
            "-- | The default number of workspaces\n-- and their names.\nworkspaces :: [String]\n";
        assert_eq!(
            doc_sentence(hs, Language::Haskell).as_deref(),
            Some("The default number of workspaces and their names")
        );
        let lua = "---@param plugin LazyPlugin\n---@return string?\nfunction M.name(plugin) end\n";
        assert_eq!(doc_sentence(lua, Language::Lua), None);
        let lua = "--- Gets the runtime path without after directories\n---@private\nfunction M.rtp() end\n";
        assert_eq!(
            doc_sentence(lua, Language::Lua).as_deref(),
            Some("Gets the runtime path without after directories")
        );
        assert_eq!(
            doc_sentence(
                "// TODO: make this faster later on\nfn f() {}",
                Language::Rust
            ),
            None
        );
        assert_eq!(
            doc_sentence("fn f() {}\n// trailing words here ok", Language::Rust),
            None
        );
    }
}
