//! Tree-sitter chunking: parse, run the language's chunk query, turn the captured
//! definitions into a tree of containers and members, and emit chunks in file order.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::OnceLock;
use std::time::Instant;

use tree_sitter::StreamingIterator;
use tree_sitter::{
    Node, ParseOptions, Parser, Query, QueryCursor, QueryCursorOptions, Range, Tree,
};

use super::lines::{Lines, Sink};
use super::{ChunkKind, ChunkOptions};
use crate::lang::Language;

/// A compiled grammar and chunk query, built once per language.
pub(crate) struct Compiled {
    pub grammar: tree_sitter::Language,
    pub query: Query,
    /// Capture index -> definition kind (`None` for `@name`/`@container`/others).
    kinds: Vec<Option<ChunkKind>>,
    name_capture: Option<u32>,
    container_capture: Option<u32>,
}

/// The compiled query of `language`, or an error message when the grammar or query is
/// broken (a cseek bug; callers fall back to windows, and a test compiles every query).
pub(crate) fn compiled(language: Language) -> Result<&'static Compiled, String> {
    // One cell per language, filled on first use: compiling a query costs tens of
    // milliseconds, and a repository usually holds a few languages, not all of them.
    static CACHE: [OnceLock<Result<Compiled, String>>; Language::ALL.len()] =
        [const { OnceLock::new() }; Language::ALL.len()];
    let slot = Language::ALL
        .iter()
        .position(|l| *l == language)
        .and_then(|i| CACHE.get(i))
        .ok_or_else(|| format!("{language} is not in Language::ALL"))?;
    match slot.get_or_init(|| compile(language)) {
        Ok(c) => Ok(c),
        Err(e) => Err(e.clone()),
    }
}

fn compile(language: Language) -> Result<Compiled, String> {
    let grammar = language.grammar().ok_or("no grammar")?;
    let source = language.chunk_query_source().ok_or("no query file")?;
    let query = Query::new(&grammar, source).map_err(|e| e.to_string())?;
    let mut kinds = Vec::new();
    let mut name_capture = None;
    let mut container_capture = None;
    for (i, name) in query.capture_names().iter().enumerate() {
        let i = u32::try_from(i).map_err(|e| e.to_string())?;
        kinds.push(match *name {
            "name" => {
                name_capture = Some(i);
                None
            }
            "container" => {
                container_capture = Some(i);
                None
            }
            other => match other.strip_prefix("definition.") {
                Some(k) => Some(kind_from_capture(k).ok_or(format!("unknown capture @{other}"))?),
                None => None,
            },
        });
    }
    Ok(Compiled {
        grammar,
        query,
        kinds,
        name_capture,
        container_capture,
    })
}

fn kind_from_capture(name: &str) -> Option<ChunkKind> {
    ChunkKind::ALL
        .into_iter()
        .filter(|k| k.is_definition())
        .find(|k| k.name() == name)
}

/// The kinds a language's query captures, plus `Method` where functions can sit in a
/// class-like container.
pub(crate) fn kinds(language: Language) -> Vec<ChunkKind> {
    let Ok(c) = compiled(language) else {
        return Vec::new();
    };
    let mut out: Vec<ChunkKind> = c.kinds.iter().flatten().copied().collect();
    if out.contains(&ChunkKind::Function) && out.iter().any(|k| class_like(*k)) {
        out.push(ChunkKind::Method);
    }
    out.sort();
    out.dedup();
    out
}

/// Containers whose functions are methods. A module's functions stay functions.
fn class_like(kind: ChunkKind) -> bool {
    matches!(
        kind,
        ChunkKind::Class
            | ChunkKind::Struct
            | ChunkKind::Enum
            | ChunkKind::Trait
            | ChunkKind::Interface
            | ChunkKind::Impl
    )
}

/// Whether a definition of this kind has its member definitions split out.
fn is_container(kind: ChunkKind) -> bool {
    !matches!(
        kind,
        ChunkKind::Function | ChunkKind::Method | ChunkKind::Variable
    )
}

/// A captured definition.
struct Def<'t> {
    node: Node<'t>,
    kind: ChunkKind,
    name: Option<String>,
    /// Row of the name, whose line is repeated on later parts of a split definition.
    name_row: usize,
    /// Container named by the query itself (Go receiver, C++ `A::f`).
    container: Option<String>,
    /// Rows `[start, end]` after adding leading comments/attributes and trimming.
    start_row: usize,
    end_row: usize,
    parent: Option<usize>,
    children: Vec<usize>,
    /// Pattern index and name position: deterministic tie-breaks between patterns.
    order: (usize, usize),
}

/// Chunk `text` with tree-sitter. `None` means "use line windows": no grammar, a broken
/// query, a failed or timed-out parse. A file without definitions is cut into windows
/// here, after its licence header.
pub(crate) fn chunk(sink: &mut Sink, opts: &ChunkOptions) -> Option<()> {
    let lines = sink.lines;
    let text = lines.text;
    let compiled = compiled(sink.language).ok()?;
    let deadline = Instant::now() + opts.parse_timeout;

    let mut parser = Parser::new();
    parser.set_language(&compiled.grammar).ok()?;
    if crate::lang::is_component(sink.path) {
        // A Vue or Svelte component: only its scripts are code of this language; the
        // template and styles around them stay text.
        let scripts = script_ranges(lines);
        if scripts.is_empty() || parser.set_included_ranges(&scripts).is_err() {
            return None;
        }
    }
    let bytes = text.as_bytes();
    let (masked, macro_rows) = match sink.language {
        Language::C | Language::Cpp | Language::ObjC => mask_bare_macros(text),
        Language::Haskell => mask_cpp_directives(text),
        _ => (None, Vec::new()),
    };
    let parsed = masked.as_deref().unwrap_or(bytes);
    let mut progress = |_: &tree_sitter::ParseState| {
        if Instant::now() > deadline {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let tree = parser.parse_with_options(
        &mut |i, _| parsed.get(i..).unwrap_or_default(),
        None,
        Some(ParseOptions::new().progress_callback(&mut progress)),
    )?;
    let root = tree.root_node();
    let inner = macro_body_trees(compiled, sink.language, &tree, bytes, deadline);

    let mut defs = collect_defs(compiled, root, bytes, deadline)?;
    for t in &inner {
        defs.extend(collect_defs(compiled, t.root_node(), bytes, deadline)?);
    }
    order_defs(&mut defs);
    if defs.is_empty() {
        // Nothing to chunk by (Go's `doc.go`, Java's `package-info.java`, an `__init__.py`
        // of imports): line windows, still without the licence header.
        let mut start = licence_end(root, lines);
        while start < lines.count() && lines.is_blank(start) {
            start += 1;
        }
        sink.windows(start, lines.count(), opts);
        return Some(());
    }
    let roots: Vec<Node> = std::iter::once(root)
        .chain(inner.iter().map(Tree::root_node))
        .collect();
    build_tree(&mut defs, &roots, lines, sink.language, &macro_rows);

    let tops: Vec<usize> = (0..defs.len())
        .filter(|&i| defs[i].parent.is_none())
        .collect();
    let cx = Cx {
        language: sink.language,
        defs: &defs,
        lines,
        opts,
    };
    cx.region(
        sink,
        licence_end(root, lines),
        lines.count(),
        &tops,
        None,
        root,
    );
    Some(())
}

/// The `<script>` blocks of a component as tree-sitter ranges.
fn script_ranges(lines: &Lines) -> Vec<Range> {
    let point = |byte: usize| {
        let row = lines.row_of(byte);
        tree_sitter::Point::new(row, byte.saturating_sub(lines.start(row)))
    };
    crate::lang::component_scripts(lines.text)
        .into_iter()
        .filter(|s| !s.code.is_empty())
        .map(|s| Range {
            start_byte: s.code.start,
            end_byte: s.code.end,
            start_point: point(s.code.start),
            end_point: point(s.code.end),
        })
        .collect()
}

/// `text` with its C preprocessor lines (`#if`, `#else`, `#endif`, `#define` …) turned
/// into spaces, and the rows of those lines (`None` and no rows when there is none).
/// Haskell libraries choose between versions with `{-# LANGUAGE CPP #-}`; the grammar
/// does not know the directives, and an `#else` between two versions of a function
/// leaves everything after it unparsed. Both versions then parse as definitions. Bytes
/// keep their positions, so the tree still describes `text`; like a bare macro, a
/// directive right above a definition joins its chunk, with the signature and comment
/// above it.
fn mask_cpp_directives(text: &str) -> (Option<Vec<u8>>, Vec<usize>) {
    const DIRECTIVES: [&str; 12] = [
        "if", "ifdef", "ifndef", "elif", "else", "endif", "define", "undef", "include", "error",
        "warning", "line",
    ];
    let rows: Vec<usize> = text
        .split_inclusive('\n')
        .enumerate()
        .filter(|(_, line)| {
            line.trim_start().strip_prefix('#').is_some_and(|rest| {
                let rest = rest.trim_start();
                let word = rest
                    .find(|c: char| !c.is_ascii_alphabetic())
                    .map_or(rest, |end| &rest[..end]);
                DIRECTIVES.contains(&word)
            })
        })
        .map(|(row, _)| row)
        .collect();
    (blank_rows(text, &rows), rows)
}

/// `text` with the given rows (0-based, ascending) turned into spaces, line ends kept, so
/// every byte keeps its position; `None` when there is no row to blank.
fn blank_rows(text: &str, rows: &[usize]) -> Option<Vec<u8>> {
    if rows.is_empty() {
        return None;
    }
    let mut buf = text.as_bytes().to_vec();
    let mut wanted = rows.iter().peekable();
    let mut start = 0;
    for (row, line) in text.split_inclusive('\n').enumerate() {
        if wanted.next_if_eq(&&row).is_some() {
            let body = line.trim_end_matches(['\n', '\r']).len();
            buf[start..start + body].fill(b' ');
        }
        start += line.len();
    }
    Some(buf)
}

/// `text` with each line that holds only a macro, written as an upper-case name with
/// optional arguments, turned into spaces, and the rows of those lines (`None` and no
/// rows when there is none). C-family code puts such lines between declarations:
/// `NS_ASSUME_NONNULL_BEGIN` and GNUstep's `GS_EXPORT_CLASS` in Objective-C headers,
/// GLib's `G_BEGIN_DECLS`, export macros above a function. Not knowing that they expand
/// to nothing, a grammar reads one as the type of a declaration that swallows what
/// follows: an Objective-C header's `@interface` and its methods, a C++ class. Only lines
/// where a declaration may start count (after a directive, `;`, `}` or the top of the
/// file, comments between), so an enum's last constant is never blanked, nor a line that
/// continues a `#define`. Bytes keep their positions, so the tree still describes
/// `text`. A macro line directly above a definition is its attribute and joins its
/// chunk, with the comment above it.
fn mask_bare_macros(text: &str) -> (Option<Vec<u8>>, Vec<usize>) {
    fn is_macro(t: &str) -> bool {
        let name_end = t
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(t.len());
        let (name, args) = t.split_at(name_end);
        let args = args.trim_start();
        name.chars().any(|c| c.is_ascii_uppercase())
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && (args.is_empty()
                || (args.starts_with('(')
                    && args.ends_with(')')
                    && args.matches('(').count() == args.matches(')').count()))
    }
    fn ends_declaration(t: &str) -> bool {
        t.starts_with('#') || t.starts_with('@') || [";", "}", "*/"].iter().any(|e| t.ends_with(e))
    }
    // Comment lines leave the state as it was: a macro under a doc comment after `}`
    // qualifies, an enum constant under a comment inside the enum does not.
    let mut in_comment = false;
    let mut rows = Vec::new();
    let mut boundary = true;
    // The previous line ended with `\`: this one continues it (a `#define`'s body).
    let mut continued = false;
    for (row, line) in text.split_inclusive('\n').enumerate() {
        let t = line.trim();
        if in_comment {
            in_comment = !t.contains("*/");
        } else if std::mem::replace(&mut continued, t.ends_with('\\')) {
            boundary = !continued;
        } else if t.starts_with("/*") {
            in_comment = !t.contains("*/");
        } else if !t.is_empty() && !t.starts_with("//") {
            if boundary && is_macro(t) {
                rows.push(row);
            } else {
                boundary = ends_declaration(t);
            }
        }
    }
    (blank_rows(text, &rows), rows)
}

/// Words that make a comment a licence or copyright notice.
const LICENCE_WORDS: [&str; 4] = ["copyright", "license", "licence", "all rights reserved"];

/// The row after a licence header: comment paragraphs at the very top of the file that
/// name a copyright or licence, each followed by a blank line (a comment touching the code
/// below documents it). Short comments before it (a shebang, a modeline) go with it. Such
/// a header repeats in every file of a project, so kept it would be a near-duplicate chunk
/// per file whose boilerplate ("in no event", "use", "copy") matches questions and skews
/// word statistics; it is no one's answer. 0 when the file has none.
fn licence_end(root: Node, lines: &Lines) -> usize {
    // Paragraphs of leading comments: (first row, last row, names a licence).
    let mut paragraphs: Vec<(usize, usize, bool)> = Vec::new();
    let mut cursor = root.walk();
    for n in root.children(&mut cursor) {
        // PHP files open with `<?php` and often `declare(strict_types=1);` before it.
        if paragraphs.is_empty() && matches!(n.kind(), "php_tag" | "declare_statement") {
            continue;
        }
        if !n.kind().contains("comment") {
            break;
        }
        let text = lines.text.get(n.byte_range()).unwrap_or_default();
        // Inner doc comments (Rust `//!`, `/*!`) document the module even when they
        // mention its licence.
        let doc = text.starts_with("//!") || text.starts_with("/*!");
        let lower = text.to_lowercase();
        let licence = !doc && LICENCE_WORDS.iter().any(|w| lower.contains(w));
        let (s, e) = (n.start_position().row, last_row(n));
        match paragraphs.last_mut() {
            Some(p) if s <= p.1 + 1 => {
                p.1 = p.1.max(e);
                p.2 = (p.2 || licence) && !doc;
            }
            _ => paragraphs.push((s, e, licence)),
        }
    }
    let mut end = 0;
    for (s, e, licence) in paragraphs {
        let blank_after = e + 1 >= lines.count() || lines.is_blank(e + 1);
        if licence && blank_after {
            end = e + 1;
        } else if e - s >= 2 {
            break;
        }
    }
    end
}

fn collect_defs<'t>(
    c: &Compiled,
    root: Node<'t>,
    bytes: &[u8],
    deadline: Instant,
) -> Option<Vec<Def<'t>>> {
    let mut cursor = QueryCursor::new();
    let mut timed_out = false;
    let mut progress = |_: &tree_sitter::QueryCursorState| {
        if Instant::now() > deadline {
            timed_out = true;
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let mut matches = cursor.matches_with_options(
        &c.query,
        root,
        bytes,
        QueryCursorOptions::new().progress_callback(&mut progress),
    );
    // Keyed by the name node: several patterns may capture the same name with nested
    // nodes (`decorated_definition` around `function_definition`, `export_statement`
    // around a class); the largest node wins, so wrappers come with the definition.
    let mut by_name: HashMap<usize, Def<'t>> = HashMap::new();
    let mut unnamed: Vec<Def<'t>> = Vec::new();
    while let Some(m) = matches.next() {
        let mut def_node = None;
        let mut name_node = None;
        let mut container = None;
        for cap in m.captures() {
            if Some(cap.index) == c.name_capture {
                name_node.get_or_insert(cap.node);
            } else if Some(cap.index) == c.container_capture {
                container.get_or_insert(cap.node);
            } else if let Some(Some(kind)) = c.kinds.get(cap.index as usize) {
                def_node.get_or_insert((cap.node, *kind));
            }
        }
        let Some((node, kind)) = def_node else {
            continue;
        };
        // A one-line binding (`const debug = …;`, `MAX = 3`) reads with the lines around
        // it, imports and other constants; only one whose value spans lines (an object, a
        // configured call) is a unit of its own. Many one-line chunks would each outrank
        // their file on a single shared word.
        if kind == ChunkKind::Variable && node.start_position().row == node.end_position().row {
            continue;
        }
        let name = name_node.map(|n| clean_name(&String::from_utf8_lossy(&bytes[n.byte_range()])));
        let def = Def {
            node,
            kind,
            name,
            name_row: name_node.unwrap_or(node).start_position().row,
            container: container.map(|n| {
                container_name(&clean_name(&String::from_utf8_lossy(
                    &bytes[n.byte_range()],
                )))
            }),
            start_row: 0,
            end_row: 0,
            parent: None,
            children: Vec::new(),
            order: (m.pattern_index, name_node.map_or(0, |n| n.start_byte())),
        };
        match name_node {
            Some(n) => {
                // Larger node first, then the earlier pattern.
                let rank = |d: &Def| (std::cmp::Reverse(d.node.byte_range().len()), d.order.0);
                if by_name
                    .get(&n.id())
                    .is_none_or(|old| rank(&def) < rank(old))
                {
                    by_name.insert(n.id(), def);
                }
            }
            None => unnamed.push(def),
        }
    }
    drop(matches);
    if timed_out {
        return None;
    }
    Some(by_name.into_values().chain(unnamed).collect())
}

/// Sort definitions by position (outer before inner) and keep one per node: when two
/// patterns name different parts of one node, the earlier pattern wins, so files list
/// specific patterns before catch-alls.
fn order_defs(defs: &mut Vec<Def>) {
    defs.sort_by_key(|d| {
        (
            d.node.start_byte(),
            std::cmp::Reverse(d.node.end_byte()),
            d.order,
        )
    });
    defs.dedup_by(|b, a| a.node.id() == b.node.id());
}

/// How many macro bodies deep definitions are still looked for.
const MACRO_DEPTH: usize = 4;

/// Trees of the `{ … }` bodies of item-level macro invocations, in languages whose macros
/// wrap whole items: Rust crates gate modules of code behind `cfg_rt! { impl … }`,
/// `cfg_if! { … }` or `pin_project! { struct … }`, and tree-sitter sees only tokens there,
/// so every function inside would be one nameless chunk. Each body is parsed again, alone,
/// through tree-sitter's included ranges, which keeps the file's byte and row coordinates;
/// a body that does not parse cleanly as items (an expression macro, `lazy_static!`'s
/// `static ref`) stays text. Bodies inside bodies are followed [`MACRO_DEPTH`] deep.
fn macro_body_trees(
    c: &Compiled,
    language: Language,
    tree: &Tree,
    bytes: &[u8],
    deadline: Instant,
) -> Vec<Tree> {
    let mut out = Vec::new();
    if language != Language::Rust {
        return out;
    }
    let mut pending: Vec<(Range, usize)> = item_macro_bodies(tree.root_node())
        .into_iter()
        .map(|r| (r, 1))
        .collect();
    let mut parser = Parser::new();
    if pending.is_empty() || parser.set_language(&c.grammar).is_err() {
        return out;
    }
    let mut progress = |_: &tree_sitter::ParseState| {
        if Instant::now() > deadline {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    while let Some((range, depth)) = pending.pop() {
        if parser.set_included_ranges(&[range]).is_err() {
            continue;
        }
        let parsed = parser.parse_with_options(
            &mut |i, _| bytes.get(i..).unwrap_or_default(),
            None,
            Some(ParseOptions::new().progress_callback(&mut progress)),
        );
        let Some(t) = parsed else {
            // Out of time; the query over the file will find that out too.
            break;
        };
        if t.root_node().has_error() {
            continue;
        }
        if depth < MACRO_DEPTH {
            pending.extend(
                item_macro_bodies(t.root_node())
                    .into_iter()
                    .map(|r| (r, depth + 1)),
            );
        }
        out.push(t);
    }
    out
}

/// Inner ranges (between the braces) of Rust macro invocations written as items: at the
/// top of a file or in an `impl`, `trait` or `mod` body, not inside a function.
fn item_macro_bodies(root: Node) -> Vec<Range> {
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        let mut walker = n.walk();
        for child in n.children(&mut walker) {
            match child.kind() {
                "macro_invocation" => out.extend(brace_body(child)),
                "mod_item" | "impl_item" | "trait_item" | "declaration_list" => stack.push(child),
                _ => {}
            }
        }
    }
    out
}

/// The range between `{` and `}` of a macro invocation's token tree, if braced and not
/// blank.
fn brace_body(invocation: Node) -> Option<Range> {
    let mut walker = invocation.walk();
    let tokens = invocation
        .children(&mut walker)
        .find(|c| c.kind() == "token_tree")?;
    let open = tokens.child(0).filter(|c| c.kind() == "{")?;
    let close = tokens
        .child(tokens.child_count().checked_sub(1)?)
        .filter(|c| c.kind() == "}")?;
    (close.start_byte() > open.end_byte()).then(|| Range {
        start_byte: open.end_byte(),
        end_byte: close.start_byte(),
        start_point: open.end_position(),
        end_point: close.start_position(),
    })
}

/// Collapse whitespace (multi-line generic types) and cap the length of a symbol name.
fn clean_name(raw: &str) -> String {
    let s: Vec<&str> = raw.split_whitespace().collect();
    let s = s.join(" ");
    // Quoted names (Zig tests, SQL identifiers) read better without quotes.
    let s = match s.as_bytes() {
        [q @ (b'"' | b'\'' | b'`'), .., l] if q == l && s.len() >= 2 => {
            s[1..s.len() - 1].to_string()
        }
        _ => s,
    };
    let cut = super::lines::floor_boundary(&s, 200);
    s[..cut].to_string()
}

/// A container as its class is named: C++ `Matrix<T>::at` belongs to `Matrix`, as the
/// methods written inside the class do.
fn container_name(raw: &str) -> String {
    match raw.find('<') {
        Some(i) if i > 0 && raw.ends_with('>') => raw[..i].trim_end().to_string(),
        _ => raw.to_string(),
    }
}

/// Nest definitions by containment, drop those inside functions (they stay part of their
/// function's chunk), fix kinds and containers, and compute each definition's rows.
fn build_tree<'t>(
    defs: &mut Vec<Def<'t>>,
    roots: &[Node<'t>],
    lines: &Lines,
    language: Language,
    macro_rows: &[usize],
) {
    let mut leading = HashMap::new();
    for &root in roots {
        leading_nodes(root, lines, language, &mut leading);
    }
    // Parents by containment; defs are sorted by (start asc, end desc).
    let mut stack: Vec<usize> = Vec::new();
    let mut parent = vec![None; defs.len()];
    for i in 0..defs.len() {
        let (s, e) = (defs[i].node.start_byte(), defs[i].node.end_byte());
        while let Some(&top) = stack.last() {
            if defs[top].node.start_byte() <= s && e <= defs[top].node.end_byte() {
                break;
            }
            stack.pop();
        }
        parent[i] = stack.last().copied();
        stack.push(i);
    }
    // Keep a definition only if every ancestor is a container.
    let mut keep = vec![true; defs.len()];
    for i in 0..defs.len() {
        if let Some(p) = parent[i] {
            keep[i] = keep[p] && is_container(defs[p].kind);
        }
    }
    let old: Vec<Def> = std::mem::take(defs);
    let mut remap = vec![None; old.len()];
    for (i, d) in old.into_iter().enumerate() {
        if keep[i] {
            remap[i] = Some(defs.len());
            let mut d = d;
            d.parent = parent[i].and_then(|p| remap[p]);
            defs.push(d);
        }
    }
    for i in 0..defs.len() {
        let parent = defs[i].parent;
        if let Some(p) = parent {
            defs[p].children.push(i);
        }
        let parent_kind = parent.map(|p| defs[p].kind);
        if defs[i].container.is_none() {
            // An unnamed container (Kotlin `companion object`) passes on its own container.
            defs[i].container =
                parent.and_then(|p| defs[p].name.clone().or_else(|| defs[p].container.clone()));
        }
        defs[i].kind = match defs[i].kind {
            ChunkKind::Function if parent_kind.is_some_and(class_like) => ChunkKind::Method,
            ChunkKind::Method if parent.is_none() && defs[i].container.is_none() => {
                ChunkKind::Function
            }
            k => k,
        };
        let node = defs[i].node;
        let name = defs[i].name.as_deref();
        defs[i].start_row = leading_start(node, name, lines, language, &leading, macro_rows);
        defs[i].end_row = end_row(node);
    }
}

/// Last row of a node, ignoring trailing comments (tree-sitter-python puts comments that
/// precede a dedent inside the block) and a final newline the node may include.
fn end_row(node: Node) -> usize {
    let mut n = node;
    loop {
        let mut walker = n.walk();
        let children: Vec<Node> = n.children(&mut walker).collect();
        let last = children.into_iter().rev().find(|c| {
            let comment = c.is_extra() && c.kind().contains("comment");
            !comment && !c.byte_range().is_empty()
        });
        match last {
            Some(c) => n = c,
            None => break,
        }
    }
    let end = n.end_position();
    if end.column == 0 && end.row > node.start_position().row {
        end.row - 1
    } else {
        end.row
    }
}

/// Comments and attributes that start their line, added to `out` by the row they end on
/// (the largest one when several end there). Found in one walk of the tree: asking
/// tree-sitter for parents or descendants per definition scans sibling lists and goes
/// quadratic on files with thousands of top-level items.
fn leading_nodes<'t>(
    root: Node<'t>,
    lines: &Lines,
    language: Language,
    out: &mut HashMap<usize, Node<'t>>,
) {
    let mut cursor = root.walk();
    'walk: loop {
        let n = cursor.node();
        let mut descend = true;
        if attaches(n, None, lines, language) {
            let start = n.start_position();
            let l = lines.line(start.row);
            if l.len() - l.trim_start().len() == start.column {
                let row = last_row(n);
                let keep = out
                    .get(&row)
                    .is_none_or(|old| old.start_byte() > n.start_byte());
                if keep {
                    out.insert(row, n);
                }
            }
            // Nothing inside a comment or attribute matters here.
            descend = false;
        }
        if descend && cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
}

/// First row of a definition, extended upward over comments and attributes directly
/// above it (no blank line between, each alone on its lines), so doc comments, Rust
/// `#[...]`, Haskell signatures and Elixir `@doc` travel with the definition. A `/** … */`
/// doc block right above the definition may stand one blank line off (the Javadoc and
/// JSDoc habit of many projects, express among them): it still documents what follows.
/// A bare macro line (`macro_rows`, see [`mask_bare_macros`]) counts as an attribute.
fn leading_start(
    node: Node,
    name: Option<&str>,
    lines: &Lines,
    language: Language,
    leading: &HashMap<usize, Node>,
    macro_rows: &[usize],
) -> usize {
    let mut row = node.start_position().row;
    while row > 0 {
        let prev = row - 1;
        if macro_rows.binary_search(&prev).is_ok() {
            row = prev;
            continue;
        }
        let f = match leading.get(&prev) {
            Some(&f) => f,
            None if row == node.start_position().row && prev > 0 && lines.is_blank(prev) => {
                match leading.get(&(prev - 1)) {
                    Some(&f) if lines.text[f.byte_range()].starts_with("/**") => f,
                    _ => break,
                }
            }
            None => break,
        };
        if f.start_byte() >= node.start_byte() || !attaches(f, name, lines, language) {
            break;
        }
        // Nothing but a comment may follow it on its last line (`#[allow(dead_code)] // why`).
        let rest_end = lines.start(prev + 1);
        let rest = lines
            .text
            .get(f.end_byte()..rest_end)
            .unwrap_or_default()
            .trim();
        if !rest.is_empty() && !is_line_comment(rest, language) {
            break;
        }
        row = f.start_position().row;
    }
    row
}

/// Whether `rest`, the end of a line after an attribute or comment, is a comment.
fn is_line_comment(rest: &str, language: Language) -> bool {
    if language == Language::OCaml {
        return rest.starts_with("(*") && rest.ends_with("*)");
    }
    rest.starts_with(language.line_comment()) || (rest.starts_with("/*") && rest.ends_with("*/"))
}

/// Last row of a node; a node ending at column 0 (Rust doc comments include their
/// newline) ends on the row before.
fn last_row(n: Node) -> usize {
    let end = n.end_position();
    if end.column == 0 && end.row > n.start_position().row {
        end.row - 1
    } else {
        end.row
    }
}

/// Nodes that belong to the definition below them.
fn attaches(n: Node, name: Option<&str>, lines: &Lines, language: Language) -> bool {
    let kind = n.kind();
    if kind.contains("comment") {
        return true;
    }
    match language {
        Language::Rust => kind == "attribute_item",
        Language::Haskell => {
            kind == "haddock" || (kind == "signature" && names(n, "name", name, lines))
        }
        Language::Erlang => kind == "spec" && names(n, "fun", name, lines),
        Language::Elixir => kind == "unary_operator" && lines.text[n.byte_range()].starts_with('@'),
        Language::Java => kind == "annotation",
        // The Kotlin grammar sometimes reads an annotation with arguments on its own line
        // (`@Suppress("FunctionName")` above `public fun Job(…)`) as an expression: the
        // annotation applied to its parenthesised arguments.
        Language::Kotlin => {
            kind == "annotation"
                || (kind == "annotated_expression"
                    && n.child(0).is_some_and(|c| c.kind() == "annotation")
                    && n.named_child_count() <= 2
                    && (n.named_child_count() < 2
                        || n.named_child(1)
                            .is_some_and(|c| c.kind() == "parenthesized_expression")))
        }
        // Decorators on class members (`@Get(':id')`, `@Input()`): those on a class come
        // with its `export` statement already.
        Language::TypeScript | Language::Tsx | Language::JavaScript => kind == "decorator",
        // A string statement right above a definition is its docstring.
        Language::Julia => kind == "string_literal",
        _ => false,
    }
}

/// Whether the `field` child of a signature (Haskell's `f :: …`, Erlang's `-spec f(…)`)
/// names the definition below it, `name`; with no name to compare, any signature does.
/// An operator's signature names it in parentheses (`(|>) :: …`), and one Haskell
/// signature may name several (`front, back :: …`, its `names` list).
fn names(n: Node, field: &str, name: Option<&str>, lines: &Lines) -> bool {
    let Some(name) = name else {
        return true;
    };
    let is_name = |s: Node| {
        let t = lines.text.get(s.byte_range()).unwrap_or_default();
        t == name || t.strip_prefix('(').and_then(|t| t.strip_suffix(')')) == Some(name)
    };
    if let Some(s) = n.child_by_field_name(field) {
        return is_name(s);
    }
    let Some(list) = n.child_by_field_name("names") else {
        return false;
    };
    let mut cursor = list.walk();
    let found = list.named_children(&mut cursor).any(is_name);
    found
}

/// Shared state for emitting one file.
struct Cx<'a, 't> {
    language: Language,
    defs: &'a [Def<'t>],
    lines: &'a Lines<'a>,
    opts: &'a ChunkOptions,
}

impl Cx<'_, '_> {
    /// Emit rows `[a, b)` holding the definitions `members` (in order) and the code
    /// between them, which belongs to `container` (`node` supplies cut points).
    fn region(
        &self,
        sink: &mut Sink,
        a: usize,
        b: usize,
        members: &[usize],
        container: Option<&str>,
        node: Node,
    ) {
        let mut cur = a;
        let gap_cuts = || self.cuts(node);
        let mut k = 0;
        while k < members.len() {
            let i = members[k];
            // Clauses of one function (Haskell equations, Elixir `def` and Erlang clauses) with
            // only blank lines between them form one chunk.
            let mut last = k;
            while last + 1 < members.len() && self.same_function(members[last], members[last + 1]) {
                last += 1;
            }
            let group = &members[k..=last];
            k = last + 1;
            let d = &self.defs[i];
            let s = d.start_row.max(cur);
            let e = self.defs[members[last]].end_row.min(b.saturating_sub(1));
            if e < s {
                // Shares its only line with the previous chunk, which already holds it.
                continue;
            }
            sink.gap(container, cur, s, &gap_cuts, self.opts);
            self.definition(sink, group, s, e + 1);
            cur = e + 1;
        }
        sink.gap(container, cur, b, &gap_cuts, self.opts);
    }

    /// Whether definition `b` continues definition `a` (another clause of it).
    fn same_function(&self, a: usize, b: usize) -> bool {
        let (da, db) = (&self.defs[a], &self.defs[b]);
        matches!(
            self.language,
            Language::Haskell | Language::Elixir | Language::Erlang
        ) && matches!(
            da.kind,
            ChunkKind::Function | ChunkKind::Method | ChunkKind::Macro
        ) && da.kind == db.kind
            && da.name.is_some()
            && da.name == db.name
            && (da.end_row + 1..db.start_row).all(|r| self.lines.is_blank(r))
    }

    /// Emit the definition `group[0]` (with further clauses `group[1..]`) over rows `[s, e)`.
    fn definition(&self, sink: &mut Sink, group: &[usize], s: usize, e: usize) {
        let i = group[0];
        let d = &self.defs[i];
        let sig = self.lines.line(d.name_row.clamp(s, e.saturating_sub(1)));
        let sym = d.name.as_deref();
        let cont = d.container.as_deref();
        let cuts = || {
            let mut c: Vec<usize> = group
                .iter()
                .flat_map(|&g| self.cuts(self.defs[g].node))
                .collect();
            c.sort_unstable();
            c.dedup();
            // A doc comment that fits in half a chunk stays with the code it documents: a
            // split must not leave it as a part of its own (a first part of nothing but
            // the comment, the code without it).
            let code = d.node.start_position().row;
            if code > s && self.lines.size(s, code) <= self.opts.max_chunk_bytes / 2 {
                c.retain(|&r| r != code);
            }
            c
        };
        if is_container(d.kind) && group.len() == 1 {
            if let Some(&first) = d.children.first() {
                let body = self.defs[first].start_row;
                if body > s && body < e {
                    let mut head_end = body;
                    while head_end > s + 1 && self.lines.is_blank(head_end - 1) {
                        head_end -= 1;
                    }
                    sink.definition(d.kind, sym, cont, s, head_end, &cuts, sig, self.opts);
                    self.region(sink, body, e, &d.children, sym, d.node);
                    return;
                }
            }
        }
        sink.definition(d.kind, sym, cont, s, e, &cuts, sig, self.opts);
    }

    /// Rows where an over-budget `node` may be cut: starts of its children, recursing
    /// into children that are themselves over budget, but never inside a child kept whole.
    fn cuts(&self, node: Node) -> Vec<usize> {
        let budget = self.opts.max_chunk_bytes;
        let mut cuts = vec![node.start_position().row];
        let mut blocked: Vec<(usize, usize)> = Vec::new();
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            let mut walker = n.walk();
            for c in n.children(&mut walker) {
                let (sr, er) = (c.start_position().row, c.end_position().row);
                cuts.push(sr);
                let size = self.lines.size(sr, (er + 1).min(self.lines.count()));
                if size > budget && c.child_count() > 0 {
                    stack.push(c);
                } else if er > sr {
                    blocked.push((sr + 1, er));
                }
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        blocked.sort_unstable();
        // Drop cuts inside a blocked interval (sweep over sorted intervals).
        let mut out = Vec::with_capacity(cuts.len());
        let mut j = 0;
        let mut reach = 0; // max end of intervals starting at or before the cut
        for c in cuts {
            while j < blocked.len() && blocked[j].0 <= c {
                reach = reach.max(blocked[j].1 + 1);
                j += 1;
            }
            if c >= reach {
                out.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haskell_cpp_directives_are_blanked_in_place() {
        let text = "{-# LANGUAGE CPP #-}\nf :: Int\n#if MIN_VERSION_base(4,8,0)\nf = 1\n  #  else\nf = 2\n#endif\ng = x#\n";
        let (masked, rows) = mask_cpp_directives(text);
        assert_eq!(rows, [2, 4, 6]);
        let masked = String::from_utf8(masked.unwrap()).unwrap();
        assert_eq!(masked.len(), text.len());
        let blank: Vec<bool> = masked.lines().map(|l| l.trim().is_empty()).collect();
        assert_eq!(
            blank,
            [false, false, true, false, true, false, true, false],
            "{masked}"
        );
        assert_eq!(
            mask_cpp_directives("f = 1\n#!not a directive\n"),
            (None, Vec::new())
        );
    }

    #[test]
    fn bare_macro_lines_are_blanked_where_a_declaration_may_start() {
        let text = "NS_ASSUME_NONNULL_BEGIN\n\n/** A client. */\nGS_EXPORT_CLASS\n@interface C : NSObject\n@end\n#define F(a) \\\n  G(a)\nAPI_AVAILABLE(macos(10.12))\nint f(void);\nenum e {\n  A,\n  // the last one\n  B\n};\nx = y +\n  Z\nint g(void) {\n  return 0;\n}\n/*\n  Prose without stars.\n*/\nGS_EXPORT_CLASS\n  NS_ASSUME_NONNULL_END\r\n";
        let (masked, rows) = mask_bare_macros(text);
        // Not: `G(a)` (a `#define` body), `B` (in the enum), `Z` (an expression).
        assert_eq!(rows, [0, 3, 8, 23, 24]);
        let masked = String::from_utf8(masked.unwrap()).unwrap();
        assert_eq!(masked.len(), text.len());
        for (row, (m, t)) in masked.lines().zip(text.lines()).enumerate() {
            if rows.contains(&row) {
                assert!(m.trim().is_empty() && m.len() == t.len(), "{row}: {m:?}");
            } else {
                assert_eq!(m, t);
            }
        }
        assert_eq!(
            mask_bare_macros("int main(void) { return 0; }\n"),
            (None, vec![])
        );
    }

    #[test]
    fn every_grammar_query_compiles() {
        for lang in Language::ALL {
            if lang.grammar().is_some() {
                if let Err(e) = compiled(lang) {
                    panic!("{lang}: {e}");
                }
                assert!(!kinds(lang).is_empty(), "{lang}");
            }
        }
    }

    #[test]
    fn containers_drop_template_arguments() {
        assert_eq!(container_name("Matrix<T>"), "Matrix");
        assert_eq!(container_name("std::map<K, V>"), "std::map");
        assert_eq!(container_name("Point"), "Point");
        assert_eq!(container_name("operator<"), "operator<");
    }

    #[test]
    fn clean_name_collapses_and_unquotes() {
        assert_eq!(clean_name("Map<\n  K,\n  V>"), "Map< K, V>");
        assert_eq!(clean_name("\"push and pop\""), "push and pop");
        assert_eq!(clean_name("\""), "\"");
    }
}
