//! Chunking by layout, for source code in a language cseek has no grammar for (Clojure,
//! Perl, F#, Groovy, MATLAB …; the list is [`crate::lang::CODE_WITHOUT_GRAMMAR`]), and
//! for any file whose parse fails or runs out of time.
//!
//! Nearly every language starts a top-level definition at the left margin and indents its
//! body, and most separate definitions with a blank line. So a *block* starts at a line
//! with the region's smallest indentation that follows a blank line or a closing line
//! (`}`, `end`), and runs to the next block; comments directly above a definition are
//! part of its block. The block's head, the first of its first lines of code at its own
//! indentation that reads as one (so an Erlang `-spec` or an annotation may come first),
//! says what it defines: a definition keyword (`class`, `def`, `fun`, `sub`, `(defn`,
//! `let`, `message` …) followed by a name, or a call-like head that opens a body
//! (`name(args) ->`, `Future<int> fetch() async {`, `name <- function(x)`, Objective-C's
//! `- (id)initWithData:`). A named block becomes a definition chunk with that name, so
//! symbol queries find it; blocks without a name are packed into `TopLevel` chunks. A
//! class-like block over the size budget is cut again at its members, one indentation
//! level in, which become its methods; Objective-C methods between `@implementation
//! Name` and `@end` are Name's.
//!
//! The heads are read by a handful of rules, not a parser: a name can be missed or, in a
//! language with unusual syntax, wrong. The chunks' ranges, text and order keep every
//! invariant of [`super::chunk_file`].

use super::lines::{is_closer, is_comment, Lines, Sink};
use super::{ChunkKind, ChunkOptions};

/// How deep class-like blocks are cut at their members (a class in a namespace …).
const MAX_DEPTH: usize = 2;

/// Chunk the whole file by layout.
pub(super) fn chunk(sink: &mut Sink, opts: &ChunkOptions) {
    let n = sink.lines.count();
    region(sink, 0, n, None, 0, opts);
}

/// Emit rows `[a, b)`: its blocks at the region's base indentation, members of
/// `container` when one is given.
fn region(
    sink: &mut Sink,
    a: usize,
    b: usize,
    container: Option<&str>,
    depth: usize,
    opts: &ChunkOptions,
) {
    let lines = sink.lines;
    let starts = block_starts(sink, a, b);
    if starts.is_empty() {
        sink.gap(container, a, b, &Vec::new, opts);
        return;
    }
    // Code before the first block (a region's first lines are a block start unless blank).
    let mut pending: Option<usize> = (starts[0] > a).then_some(a);
    // Objective-C writes methods at the margin between `@implementation Name` and `@end`:
    // they are Name's.
    let mut section: Option<String> = None;
    for (i, &s) in starts.iter().enumerate() {
        let mut e = starts.get(i + 1).copied().unwrap_or(b);
        while e > s + 1 && lines.is_blank(e - 1) {
            e -= 1;
        }
        let ends_section = (s..e).any(|r| lines.line(r).trim_start().starts_with("@end"));
        let owner = container.or(section.as_deref());
        let Some((head, kind, name)) = find_definition(sink, s, e, owner.is_some()) else {
            pending.get_or_insert(s);
            if ends_section {
                section = None;
            }
            continue;
        };
        if let Some(p) = pending.take() {
            sink.gap(owner, p, s, &|| starts.clone(), opts);
        }
        let starts_section = container.is_none()
            && kind == ChunkKind::Class
            && lines.line(head).trim_start().starts_with('@');
        let container = owner;
        let signature = lines.line(head).trim_end().to_string();
        let over = lines.size(s, e) > opts.max_chunk_bytes;
        let inner = (over && depth < MAX_DEPTH && is_container(kind))
            .then(|| members(sink, head + 1, e))
            .flatten();
        match inner {
            Some(first) => {
                // The header (up to the first member) is the definition; the members are
                // cut as a region of their own, inside it, without the closing lines.
                let outer = indent(lines.line(head));
                let mut end = e;
                while end > first
                    && is_closer(lines.line(end - 1))
                    && indent(lines.line(end - 1)) <= outer
                {
                    end -= 1;
                }
                let mut header_end = first;
                while header_end > s + 1 && lines.is_blank(header_end - 1) {
                    header_end -= 1;
                }
                sink.definition(
                    kind,
                    Some(&name),
                    container,
                    s,
                    header_end,
                    &Vec::new,
                    &signature,
                    opts,
                );
                region(sink, first, end, Some(&name), depth + 1, opts);
            }
            None => {
                let cuts = || blank_rows(lines, s, e);
                sink.definition(kind, Some(&name), container, s, e, &cuts, &signature, opts);
            }
        }
        if ends_section {
            section = None;
        } else if starts_section {
            section = Some(name);
        }
    }
    if let Some(p) = pending {
        sink.gap(container, p, b, &|| starts.clone(), opts);
    }
}

/// Indentation width of a line (a tab counts as four columns).
fn indent(line: &str) -> usize {
    line.chars()
        .take_while(|c| c.is_whitespace())
        .map(|c| if c == '\t' { 4 } else { 1 })
        .sum()
}

/// Rows in `[a, b)` where a block starts: non-blank, at the region's smallest
/// indentation, not a closer, and after a blank line or a closer at that indentation.
fn block_starts(sink: &Sink, a: usize, b: usize) -> Vec<usize> {
    let lines = sink.lines;
    // Closing lines (`}`, `end`) are left out: a class body's last line is its closer.
    let base = (a..b)
        .filter(|&r| !is_closer(lines.line(r)))
        .map(|r| indent(lines.line(r)))
        .min();
    let Some(base) = base else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut after_break = true;
    for r in a..b {
        let line = lines.line(r);
        if lines.is_blank(r) {
            after_break = true;
            continue;
        }
        let at_base = indent(line) == base;
        let closer = is_closer(line);
        if at_base && !closer && after_break {
            out.push(r);
        }
        after_break = at_base && closer;
    }
    out
}

/// How many code rows (comments do not count) into a block its definition's head may
/// be: past annotations and specifications (`-spec f(…) -> ….`, `@override`, a type signature line).
const HEAD_ROWS: usize = 16;

/// The definition a block `[s, e)` starts: the first of its rows at the block's own
/// indentation, among its first [`HEAD_ROWS`], that names one (its row, kind and name).
fn find_definition(
    sink: &Sink,
    s: usize,
    e: usize,
    member: bool,
) -> Option<(usize, ChunkKind, String)> {
    let lines = sink.lines;
    let base = indent(lines.line(s));
    (s..e)
        .filter(|&r| {
            let line = lines.line(r);
            let t = line.trim();
            !t.is_empty() && indent(line) == base && !is_comment(t) && !t.starts_with("(*")
        })
        .take(HEAD_ROWS)
        .find_map(|r| {
            // A body opened on the next line (`int main()` / `{`) opens it here.
            let line = lines.line(r);
            let head = match (r + 1 < e).then(|| lines.line(r + 1).trim_start()) {
                Some(next) if next.starts_with('{') => format!("{} {{", line.trim_end()),
                _ => line.to_string(),
            };
            definition(&head, member).map(|(k, n)| (r, k, n))
        })
}

/// The first member row of a class-like block whose head is at `from - 1`: the first
/// row, one indentation level in, that starts a named definition. `None` when it has none.
fn members(sink: &Sink, from: usize, e: usize) -> Option<usize> {
    let starts = block_starts(sink, from, e);
    starts.iter().enumerate().find_map(|(i, &s)| {
        let end = starts.get(i + 1).copied().unwrap_or(e);
        find_definition(sink, s, end, true).map(|_| s)
    })
}

/// Rows after blank lines in `[a, b)`: where an over-budget definition is best cut.
fn blank_rows(lines: &Lines, a: usize, b: usize) -> Vec<usize> {
    (a + 1..b).filter(|&r| lines.is_blank(r - 1)).collect()
}

fn is_container(kind: ChunkKind) -> bool {
    matches!(
        kind,
        ChunkKind::Class
            | ChunkKind::Struct
            | ChunkKind::Interface
            | ChunkKind::Trait
            | ChunkKind::Enum
            | ChunkKind::Impl
            | ChunkKind::Module
    )
}

/// Words that may come before a definition keyword.
const MODIFIERS: &[&str] = &[
    "public",
    "private",
    "protected",
    "internal",
    "static",
    "final",
    "abstract",
    "async",
    "export",
    "default",
    "override",
    "open",
    "sealed",
    "inline",
    "pub",
    "extern",
    "virtual",
    "unsafe",
    "partial",
    "local",
    "global",
    "my",
    "our",
    "rec",
    "mutable",
    "factory",
    "external",
    "const",
    "synchronized",
    "native",
    "lazy",
    "def",
    "case",
];

/// A definition keyword and the kind of chunk it starts.
fn keyword_kind(word: &str) -> Option<ChunkKind> {
    Some(match word {
        "class" | "object" | "record" | "mixin" | "@interface" | "@implementation"
        | "defrecord" | "deftype" | "defclass" => ChunkKind::Class,
        // Protocol Buffers and Thrift messages, GraphQL inputs.
        "struct" | "message" | "input" => ChunkKind::Struct,
        "interface" | "protocol" | "@protocol" | "defprotocol" | "signature" | "sig"
        | "service" => ChunkKind::Interface,
        "trait" => ChunkKind::Trait,
        "enum" => ChunkKind::Enum,
        "impl" | "extension" | "instance" | "extend" => ChunkKind::Impl,
        "module" | "namespace" | "defmodule" | "functor" => ChunkKind::Module,
        "type" | "typedef" | "typealias" | "newtype" | "alias" => ChunkKind::Type,
        "macro" | "defmacro" | "macro_rules" => ChunkKind::Macro,
        "def" | "defp" | "defn" | "defn-" | "defun" | "fn" | "fun" | "func" | "function"
        | "sub" | "proc" | "method" | "procedure" | "subroutine" | "let" | "val" | "defmethod"
        | "defmulti" | "operator" | "program" | "rpc" => ChunkKind::Function,
        _ => return None,
    })
}

/// Words that look like a call but are control flow.
const CONTROL: &[&str] = &[
    "if", "for", "while", "switch", "return", "catch", "foreach", "elif", "elsif", "unless",
    "until", "when", "match", "print", "assert", "require", "import", "include", "using", "sizeof",
    "typeof", "new", "super", "this", "await", "yield", "throw", "do", "else",
];

/// What a block's head line defines: its kind and name, or `None` for other code.
/// `member`: the head is inside a class-like block, where functions are methods.
fn definition(head: &str, member: bool) -> Option<(ChunkKind, String)> {
    let t = head.trim();
    let head_words = words(t);
    // `keyword name`, after modifiers; Lisp heads open with `(`.
    let mut i = 0;
    while i < head_words.len()
        && MODIFIERS.contains(&head_words[i].as_str())
        && head_words.len() > i + 1
    {
        // `def` and `case` are modifiers only before another keyword (`case class`).
        if (head_words[i] == "def" || head_words[i] == "case")
            && keyword_kind(&head_words[i + 1]).is_none()
        {
            break;
        }
        i += 1;
    }
    let keyword = head_words
        .get(i)
        .and_then(|w| Some((w, keyword_kind(w)?)))
        // Erlang's attributes are written as calls: `-module(kv).`
        .filter(|(w, _)| t.starts_with('-') || !used_as_value(t, w));
    if let Some((_, kind)) = keyword {
        let kind = if kind == ChunkKind::Function && member {
            ChunkKind::Method
        } else {
            kind
        };
        // MATLAB names a function's outputs first: `function [a, b] = name(x)`.
        if head_words[i] == "function" {
            if let Some((outs, rest)) = t.split_once('=') {
                if !outs.contains('(') && rest.contains('(') {
                    let name = words(rest).into_iter().next()?;
                    return Some((kind, name));
                }
            }
        }
        // `let rec f`, `def self.name`: skip to the name.
        let name = head_words[i + 1..].iter().find(|w| {
            !MODIFIERS.contains(&w.as_str()) && *w != "self" && keyword_kind(w).is_none()
        })?;
        return Some((kind, name.clone()));
    }
    if head_words
        .first()
        .is_some_and(|w| CONTROL.contains(&w.as_str()))
    {
        return None;
    }
    // An Objective-C method: `- (void)viewDidLoad {`, `+ (id)parserWithData:(NSData *)d`.
    if let Some(rest) = t.strip_prefix("- (").or_else(|| t.strip_prefix("+ (")) {
        let name = rest.split_once(')')?.1.trim_start();
        let name: String = name
            .chars()
            .take_while(|&c| c.is_alphanumeric() || c == '_')
            .collect();
        let kind = if member {
            ChunkKind::Method
        } else {
            ChunkKind::Function
        };
        return (!name.is_empty()).then_some((kind, name));
    }
    // A call-like head that opens a body: `name(args) ->`, `int main(void) {`,
    // `name <- function(x) {`.
    let paren = t.find('(')?;
    let before = &t[..paren];
    let name = before
        .trim_end()
        .rsplit(|c: char| !is_name_char(c))
        .next()
        .filter(|n| n.starts_with(|c: char| c.is_alphabetic() || c == '_' || c == '$'))?;
    let opens = t.ends_with('{')
        || t.ends_with("->")
        || t.ends_with("=>")
        || t.ends_with(':')
        || t.ends_with('=')
        || t.contains(") {")
        || t.contains(") ->");
    if !opens || CONTROL.contains(&name) || name.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let name = if name == "function" {
        // R and JavaScript-like `name <- function(…)`, `name = function(…)`.
        head_words
            .first()
            .filter(|w| w.as_str() != "function")?
            .clone()
    } else {
        name.to_string()
    };
    let kind = if member {
        ChunkKind::Method
    } else {
        ChunkKind::Function
    };
    Some((kind, name))
}

/// Whether the keyword-like `word` is a value in `head` rather than a keyword: assigned,
/// called or a receiver (R's `type <- "x"`, `class(x)`, `object.method()`).
fn used_as_value(head: &str, word: &str) -> bool {
    let Some(pos) = head.find(word) else {
        return false;
    };
    let rest = head[pos + word.len()..].trim_start();
    ["<-", "=", ":=", ".", "(", ",", ")", ";", "+", "*", "/", "$"]
        .iter()
        .any(|p| rest.starts_with(p))
        && !rest.starts_with("=>")
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '$' | '!' | '?' | '\'' | '-')
}

/// The words of a head: names (letters, digits, `_ $ ! ? ' -`, and a leading `@` or
/// `-`), in order, with Lisp's opening parenthesis and Perl's sigils dropped.
fn words(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    // A word right after `'` is a type variable (OCaml's `'a`) or a quoted atom: no name.
    let mut quoted = false;
    let mut prev = ' ';
    for c in t.chars() {
        let starts_word = cur.is_empty() && (c == '@' || c.is_alphanumeric() || c == '_');
        if starts_word {
            quoted = prev == '\'';
        }
        if starts_word || (!cur.is_empty() && is_name_char(c) && c != '\'') {
            cur.push(c);
        } else if !cur.is_empty() {
            let w = std::mem::take(&mut cur);
            if !quoted {
                out.push(w);
            }
        }
        prev = c;
    }
    if !cur.is_empty() && !quoted {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_name_their_definitions() {
        let cases: &[(&str, Option<(ChunkKind, &str)>)] = &[
            ("class HttpClient {", Some((ChunkKind::Class, "HttpClient"))),
            (
                "abstract class Shape extends Base {",
                Some((ChunkKind::Class, "Shape")),
            ),
            (
                "Future<Response> fetch(Uri url) async {",
                Some((ChunkKind::Function, "fetch")),
            ),
            ("void main() {", Some((ChunkKind::Function, "main"))),
            (
                "let rec fold_left f acc = function",
                Some((ChunkKind::Function, "fold_left")),
            ),
            (
                "handle_call({get, Key}, _From, State) ->",
                Some((ChunkKind::Function, "handle_call")),
            ),
            (
                "(defn parse-config",
                Some((ChunkKind::Function, "parse-config")),
            ),
            ("sub read_file {", Some((ChunkKind::Function, "read_file"))),
            (
                "function [m, s] = stats(x)",
                Some((ChunkKind::Function, "stats")),
            ),
            (
                "function y = twice(x)",
                Some((ChunkKind::Function, "twice")),
            ),
            (
                "read_csv <- function(path, sep = \",\") {",
                Some((ChunkKind::Function, "read_csv")),
            ),
            (
                "@interface Parser : NSObject",
                Some((ChunkKind::Class, "Parser")),
            ),
            (
                "- (void)viewDidLoad {",
                Some((ChunkKind::Function, "viewDidLoad")),
            ),
            (
                "+ (instancetype)parserWithData:(NSData *)data {",
                Some((ChunkKind::Function, "parserWithData")),
            ),
            ("-export([start/0, stop/1]).", None),
            ("type <- \"numeric\"", None),
            ("data <- read.csv(path)", None),
            ("object.method(x) {", Some((ChunkKind::Function, "method"))),
            ("class(x)", None),
            ("message User {", Some((ChunkKind::Struct, "User"))),
            (
                "  rpc GetUser(GetUserRequest) returns (User);",
                Some((ChunkKind::Function, "GetUser")),
            ),
            ("message = compose(user)", None),
            ("module Json = struct", Some((ChunkKind::Module, "Json"))),
            (
                "case class Point(x: Int, y: Int)",
                Some((ChunkKind::Class, "Point")),
            ),
            ("if (x > 0) {", None),
            ("for my $name (qw(DELETE GET)) {", None),
            ("type 'a t = {", Some((ChunkKind::Type, "t"))),
            (
                "class type ['a] stream = object",
                Some((ChunkKind::Class, "stream")),
            ),
            ("import 'package:http/http.dart';", None),
            ("x = compute(1, 2)", None),
        ];
        for (head, want) in cases {
            let got = definition(head, false);
            assert_eq!(
                got.as_ref().map(|(k, n)| (*k, n.as_str())),
                *want,
                "{head:?}"
            );
        }
        assert_eq!(
            definition("  void dispose() {", true),
            Some((ChunkKind::Method, "dispose".to_string()))
        );
    }
}
