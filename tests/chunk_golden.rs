//! Golden tests of the chunker: one fixture per language under
//! `tests/fixtures/chunk/<lang>/input.<ext>` with its expected chunk listing in
//! `expected.txt` (`start-end kind symbol container`, `-` for none). Run with
//! `CSEEK_BLESS=1` to rewrite the listings, then check them by hand against the fixture.

use std::path::PathBuf;

use cseek::chunk::{check_query, chunk_file, chunk_kinds, Chunk, ChunkKind, ChunkOptions};
use cseek::lang::Language;

fn fixture_dir(lang: Language) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/chunk")
        .join(lang.name())
}

fn fixture(lang: Language) -> (String, String) {
    let ext = lang.extensions()[0];
    let rel = format!("input.{ext}");
    let path = fixture_dir(lang).join(&rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    (format!("{}/{rel}", lang.name()), text)
}

fn render(chunks: &[Chunk]) -> String {
    let mut out = String::new();
    for c in chunks {
        out.push_str(&format!(
            "{}-{} {} {} {}\n",
            c.start_line,
            c.end_line,
            c.kind,
            c.symbol.as_deref().unwrap_or("-"),
            c.container.as_deref().unwrap_or("-"),
        ));
    }
    out
}

/// Ranges in order, never overlapping, starting at line starts, lines matching bytes,
/// and `text == &file[start..end]` unless `split` allows a signature prefix.
fn check_invariants(text: &str, chunks: &[Chunk]) {
    let newlines: Vec<usize> = text
        .bytes()
        .enumerate()
        .filter(|&(_, b)| b == b'\n')
        .map(|(i, _)| i)
        .collect();
    let mut prev_end = 0;
    for c in chunks {
        assert!(c.start_byte >= prev_end, "overlap or disorder at {c:?}");
        assert!(
            c.start_byte < c.end_byte && c.end_byte <= text.len(),
            "{c:?}"
        );
        let slice = &text[c.start_byte..c.end_byte];
        let line_of = |b: usize| newlines.partition_point(|&n| n < b) as u32 + 1;
        assert_eq!(c.start_line, line_of(c.start_byte), "{c:?}");
        assert_eq!(c.end_line, line_of(c.end_byte - 1), "{c:?}");
        if c.text != slice {
            let sig_len = c.text.len() - slice.len();
            assert!(
                c.text.ends_with(slice) && c.text[..sig_len].ends_with('\n'),
                "text is neither the slice nor signature + slice: {c:?}"
            );
            assert!(c.kind.is_definition() || c.kind == ChunkKind::Section);
        }
        prev_end = c.end_byte;
    }
}

fn golden(lang: Language) {
    let (path, text) = fixture(lang);
    let chunks = chunk_file(&path, &text, lang, &ChunkOptions::default());
    check_invariants(&text, &chunks);
    for c in &chunks {
        assert_eq!(c.path, path);
        assert_eq!(c.language, lang);
        // The fixtures are small: nothing is split, so text is exactly the slice.
        assert_eq!(c.text, &text[c.start_byte..c.end_byte], "{c:?}");
    }
    let got = render(&chunks);
    let expected_path = fixture_dir(lang).join("expected.txt");
    if std::env::var_os("CSEEK_BLESS").is_some() {
        std::fs::write(&expected_path, &got).expect("writing expected.txt");
        return;
    }
    let expected = std::fs::read_to_string(&expected_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", expected_path.display()));
    assert_eq!(
        got,
        expected,
        "chunks of {path} differ from {} (CSEEK_BLESS=1 rewrites it)",
        expected_path.display()
    );
}

macro_rules! golden_tests {
    ($($name:ident => $lang:expr),* $(,)?) => {
        $(#[test] fn $name() { golden($lang); })*
    };
}

golden_tests! {
    golden_python => Language::Python,
    golden_rust => Language::Rust,
    golden_go => Language::Go,
    golden_java => Language::Java,
    golden_javascript => Language::JavaScript,
    golden_typescript => Language::TypeScript,
    golden_tsx => Language::Tsx,
    golden_c => Language::C,
    golden_cpp => Language::Cpp,
    golden_csharp => Language::CSharp,
    golden_ruby => Language::Ruby,
    golden_php => Language::Php,
    golden_kotlin => Language::Kotlin,
    golden_scala => Language::Scala,
    golden_swift => Language::Swift,
    golden_bash => Language::Bash,
    golden_lua => Language::Lua,
    golden_haskell => Language::Haskell,
    golden_elixir => Language::Elixir,
    golden_zig => Language::Zig,
    golden_julia => Language::Julia,
    golden_sql => Language::Sql,
    golden_markdown => Language::Markdown,
    golden_text => Language::Text,
    golden_dart => Language::Dart,
    golden_ocaml => Language::OCaml,
    golden_objc => Language::ObjC,
    golden_erlang => Language::Erlang,
    golden_r => Language::R,
}

#[test]
fn every_query_compiles() {
    for lang in Language::ALL {
        if let Err(e) = check_query(lang) {
            panic!("{e}");
        }
        let kinds = chunk_kinds(lang);
        assert!(!kinds.is_empty(), "{lang} has no chunk kinds");
        assert!(
            lang.grammar().is_some() == lang.chunk_query_source().is_some(),
            "{lang}: grammar and query file must come together"
        );
    }
}

#[test]
fn every_fixture_keeps_invariants_on_a_small_budget() {
    // A tight budget forces splits everywhere: the invariants must still hold.
    for budget in [60, 200, 700] {
        let opts = ChunkOptions {
            max_chunk_bytes: budget,
            window_lines: 7,
            ..ChunkOptions::default()
        };
        for lang in Language::ALL {
            let (path, text) = fixture(lang);
            let chunks = chunk_file(&path, &text, lang, &opts);
            check_invariants(&text, &chunks);
            for c in &chunks {
                assert!(
                    c.end_byte - c.start_byte <= budget,
                    "{lang}: chunk over budget {budget}: {c:?}"
                );
            }
        }
    }
}

#[test]
fn empty_and_blank_files_have_no_chunks() {
    for lang in Language::ALL {
        let opts = ChunkOptions::default();
        assert!(chunk_file("e", "", lang, &opts).is_empty(), "{lang}");
        assert!(
            chunk_file("e", "\n  \n\t\n", lang, &opts).is_empty(),
            "{lang}"
        );
    }
}

/// The chunks (parts of a split definition included) named `symbol`, in file order.
fn parts_of<'a>(chunks: &'a [Chunk], symbol: &str) -> Vec<&'a Chunk> {
    chunks
        .iter()
        .filter(|c| c.symbol.as_deref() == Some(symbol))
        .collect()
}

#[test]
fn over_budget_function_is_split_with_signature_repeated() {
    let mut text = String::from("import os\n\n\ndef big(a, b):\n    \"\"\"Doc.\"\"\"\n");
    for i in 0..60 {
        text.push_str(&format!("    if a > {i}:\n        b = b + {i}\n"));
    }
    text.push_str("    return b\n\n\ndef small():\n    return 1\n");
    let opts = ChunkOptions {
        max_chunk_bytes: 300,
        ..ChunkOptions::default()
    };
    let chunks = chunk_file("big.py", &text, Language::Python, &opts);
    check_invariants(&text, &chunks);
    let parts = parts_of(&chunks, "big");
    assert!(parts.len() >= 4, "{}", render(&chunks));
    assert!(parts[0].text.starts_with("def big(a, b):"));
    for p in &parts[1..] {
        assert!(p.text.starts_with("def big(a, b):\n"), "{p:?}");
        assert_eq!(p.kind, ChunkKind::Function);
        assert_eq!(
            &p.text["def big(a, b):\n".len()..],
            &text[p.start_byte..p.end_byte]
        );
        // Cut on statement boundaries: every part starts at an `if` or the `return`.
        let first = text[p.start_byte..].trim_start();
        assert!(
            first.starts_with("if ") || first.starts_with("return"),
            "{p:?}"
        );
    }
    // Parts tile the function: contiguous and in order.
    for w in parts.windows(2) {
        assert_eq!(w[0].end_byte, w[1].start_byte);
        assert!(w[0].end_line < w[1].start_line);
    }
    let last = chunks.last().expect("chunks");
    assert_eq!(last.symbol.as_deref(), Some("small"));
}

#[test]
fn a_split_keeps_the_doc_comment_with_the_code_it_documents() {
    // A JSDoc block one blank line above an assignment whose function fits the budget
    // but not with its comment (express's `res.send`): the split must not leave the
    // comment as a part of its own.
    let mut text = String::from(
        "/**\n * Send a response.\n *\n * Examples: res.send({ some: 'json' });\n */\n\nres.send = function send(body) {\n",
    );
    for i in 0..12 {
        text.push_str(&format!("  var chunk{i} = body + {i};\n"));
    }
    text.push_str("  return this;\n};\n");
    let code_start = text.find("res.send =").expect("code");
    let opts = ChunkOptions {
        max_chunk_bytes: text.len() - 40,
        ..ChunkOptions::default()
    };
    assert!(
        text.len() - code_start <= opts.max_chunk_bytes,
        "the code alone fits"
    );
    let chunks = chunk_file("response.js", &text, Language::JavaScript, &opts);
    check_invariants(&text, &chunks);
    let parts = parts_of(&chunks, "send");
    assert_eq!(parts.len(), 2, "{}", render(&chunks));
    assert!(
        parts[0].text.starts_with("/**") && parts[0].text.contains("res.send = function send"),
        "the first part holds the comment and the start of the code: {}",
        render(&chunks)
    );
    // A doc comment longer than half the budget is still cut where the code starts.
    let long_doc = format!("/**\n{} */\n", " * Words about sending.\n".repeat(40));
    let text = format!(
        "{long_doc}{}",
        &text[text.find("res.send =").expect("code")..]
    );
    let chunks = chunk_file("response.js", &text, Language::JavaScript, &opts);
    check_invariants(&text, &chunks);
    assert!(
        chunks
            .iter()
            .any(|c| c.start_byte == long_doc.len() && c.symbol.as_deref() == Some("send")),
        "{}",
        render(&chunks)
    );
}

#[test]
fn one_huge_line_becomes_byte_windows() {
    // Multi-byte chars: windows must cut on char boundaries.
    let line = "é€x".repeat(5000);
    let text = format!("short\n{line}\nend\n");
    let opts = ChunkOptions::default();
    let chunks = chunk_file("t.txt", &text, Language::Text, &opts);
    check_invariants(&text, &chunks);
    assert!(chunks.len() >= line.len() / opts.max_chunk_bytes);
    assert!(chunks
        .iter()
        .all(|c| c.end_byte - c.start_byte <= opts.max_chunk_bytes));
    assert!(chunks.iter().all(|c| c.kind == ChunkKind::Window));
}

#[test]
fn minified_javascript_is_bounded() {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 300_000 {
        text.push_str(&format!(
            "function f{i}(a,b){{var c=a+b;if(c>{i}){{return c*2}}return [a,b,\"s{i}\"]}};"
        ));
        i += 1;
    }
    let opts = ChunkOptions::default();
    let chunks = chunk_file("app.min.js", &text, Language::JavaScript, &opts);
    check_invariants(&text, &chunks);
    assert!(
        chunks.len() <= 2 * text.len() / opts.max_chunk_bytes + 2,
        "{}",
        chunks.len()
    );
    assert!(chunks.iter().all(|c| c.text.len() <= opts.max_chunk_bytes));
    let covered: usize = chunks.iter().map(|c| c.end_byte - c.start_byte).sum();
    assert_eq!(covered, text.len());
}

/// A 1 MB file is chunked completely (no fallback to windows). How fast is measured in
/// release by `benches/`, not asserted here: timed unit tests flake under load.
#[test]
fn one_megabyte_file_chunks_completely() {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 1_000_000 {
        text.push_str(&format!(
            "class C{i}:\n    \"\"\"Doc {i}.\"\"\"\n\n    def m{i}(self, x):\n        return x + {i}\n\n\ndef f{i}(y):\n    return [y] * {i}\n\n\n"
        ));
        i += 1;
    }
    let chunks = chunk_file("big.py", &text, Language::Python, &ChunkOptions::default());
    check_invariants(&text, &chunks);
    assert_eq!(chunks.len(), 3 * i, "class header, method, function each");
}

#[test]
fn syntax_errors_keep_recovered_definitions() {
    let text = "def good(a):\n    return a\n\n\ndef broken(:\n    x = = 1\n\n\nclass Fine:\n    def m(self):\n        return 2\n";
    let chunks = chunk_file("e.py", text, Language::Python, &ChunkOptions::default());
    check_invariants(text, &chunks);
    let syms: Vec<_> = chunks.iter().filter_map(|c| c.symbol.as_deref()).collect();
    assert!(syms.contains(&"good"), "{}", render(&chunks));
    assert!(syms.contains(&"m"), "{}", render(&chunks));

    let rust = "fn ok() -> u32 { 1 }\n\nfn bad( { let = ; }\n\nstruct S { a: u32 }\n\nimpl S {\n    fn get(&self) -> u32 { self.a }\n}\n";
    let chunks = chunk_file("e.rs", rust, Language::Rust, &ChunkOptions::default());
    check_invariants(rust, &chunks);
    let syms: Vec<_> = chunks.iter().filter_map(|c| c.symbol.as_deref()).collect();
    assert!(
        syms.contains(&"ok") && syms.contains(&"get"),
        "{}",
        render(&chunks)
    );
}

#[test]
fn methods_know_their_container() {
    let text = "/// A point.\n#[derive(Debug)]\nstruct P { x: i32 }\n\nimpl std::fmt::Display for P {\n    /// Formats.\n    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {\n        write!(f, \"{}\", self.x)\n    }\n}\n";
    let chunks = chunk_file("p.rs", text, Language::Rust, &ChunkOptions::default());
    check_invariants(text, &chunks);
    assert_eq!(
        render(&chunks),
        "1-3 struct P -\n5-5 impl P -\n6-9 method fmt P\n",
        "doc comment and attribute go with the struct; the impl's `}}` line is dropped"
    );
}

#[test]
fn items_inside_rust_macro_bodies_are_chunks() {
    // tokio-style feature gates: the items inside are ordinary code a reader looks for.
    let text = "cfg_rt! {\n    /// Spawns a task.\n    pub fn spawn() {}\n\n    impl Handle {\n        #[inline]\n        pub fn enter(&self) {}\n    }\n}\n\nimpl Builder {\n    cfg_io! {\n        /// Enables I/O.\n        pub fn enable_io(&mut self) {}\n    }\n}\n\ncfg_if::cfg_if! {\n    if #[cfg(unix)] { fn unix() {} }\n}\n\nfn main() {\n    println! {\n        \"{}\", 1\n    }\n}\n";
    assert_eq!(
        listing("m.rs", text, Language::Rust),
        "2-3 function spawn -\n5-5 impl Handle -\n6-7 method enter Handle\n11-12 impl Builder -\n13-14 method enable_io Builder\n18-19 top_level - -\n22-26 function main -\n",
        "doc comments and attributes inside the body travel with their items; a body that is \
         not items (`cfg_if!`) stays text, and macros inside functions stay part of them"
    );
    // Nested gates, and a body that does not parse as items (`lazy_static!`).
    let text = "cfg_a! {\n    cfg_b! {\n        struct Deep;\n    }\n}\n\nlazy_static! {\n    static ref X: u8 = 1;\n}\n";
    assert_eq!(
        listing("n.rs", text, Language::Rust),
        "3-3 struct Deep -\n7-8 top_level - -\n"
    );
}

/// Chunks of `text` as `start-end kind symbol` lines.
fn listing(path: &str, text: &str, lang: Language) -> String {
    let chunks = chunk_file(path, text, lang, &ChunkOptions::default());
    check_invariants(text, &chunks);
    render(&chunks)
}

#[test]
fn licence_headers_belong_to_no_chunk() {
    // A block-comment licence above includes: the includes stay, the licence goes.
    let c = "/* Copyright Joyent, Inc. All rights reserved.\n *\n * Permission is hereby granted, free of charge.\n */\n\n#include <stdio.h>\n\nint main(void) {\n  return 0;\n}\n";
    assert_eq!(
        listing("m.c", c, Language::C),
        "6-6 top_level - -\n8-10 function main -\n"
    );
    // Line comments, and a shebang before them.
    let py = "#!/usr/bin/env python\n# Copyright 2024 The Authors.\n# Licensed under the Apache License, Version 2.0\n\nimport os\n\n\ndef f():\n    return os.sep\n";
    assert_eq!(
        listing("m.py", py, Language::Python),
        "5-5 top_level - -\n8-9 function f -\n"
    );
    // `//` lines joined by empty `//` lines are one paragraph (SnapKit's header).
    let swift = "//\n//  Kit\n//\n//  Copyright (c) 2011 Kit Team\n//\n//  Permission is hereby granted\n\nimport UIKit\n\nfunc f() -> Int { 1 }\n";
    assert_eq!(
        listing("m.swift", swift, Language::Swift),
        "8-8 top_level - -\n10-10 function f -\n"
    );
    // A comment touching the code below documents it, even when it names a licence.
    let go = "// License returns the licence text.\nfunc License() string { return \"MIT\" }\n";
    assert_eq!(
        listing("m.go", go, Language::Go),
        "1-2 function License -\n"
    );
    // Module docs (`//!`) stay, whatever they mention.
    let rs = "//! Parses things. Licensed under MIT.\n\nfn parse() {}\n";
    assert_eq!(
        listing("m.rs", rs, Language::Rust),
        "1-1 top_level - -\n3-3 function parse -\n"
    );
    // PHP's opening tag and `declare` come before the licence and go with it.
    let php = "<?php\n\ndeclare(strict_types=1);\n\n/*\n * (c) A. Author\n *\n * For the full copyright and license information, see LICENSE.\n */\n\nnamespace App;\n\nfunction f() { return 1; }\n";
    assert_eq!(
        listing("m.php", php, Language::Php),
        "11-11 top_level - -\n13-13 function f -\n"
    );
    // A licence below the first code is an ordinary comment.
    let late = "#include <a.h>\n\n/* Copyright A. */\n\nint x(void) { return 1; }\n";
    assert_eq!(
        listing("l.c", late, Language::C),
        "1-3 top_level - -\n5-5 function x -\n"
    );
}

#[test]
fn markdown_sections_by_heading() {
    let text = "Intro line.\n\n# Title\n\nText.\n\n## Install\n\n```sh\n# not a heading\n```\n\nSetext\n------\n\nMore.\n\n# Other\n";
    let chunks = chunk_file("r.md", text, Language::Markdown, &ChunkOptions::default());
    check_invariants(text, &chunks);
    assert_eq!(
        render(&chunks),
        "1-1 top_level - -\n3-5 section Title -\n7-11 section Install Title\n13-16 section Setext Title\n18-18 section Other -\n"
    );
    // A long section is windowed, each later part repeating the heading.
    let long = format!("# Big\n\n{}", "word word word word.\n\n".repeat(400));
    let chunks = chunk_file("l.md", &long, Language::Markdown, &ChunkOptions::default());
    check_invariants(&long, &chunks);
    assert!(chunks.len() > 2);
    assert!(chunks
        .iter()
        .all(|c| c.kind == ChunkKind::Section && c.text.starts_with("# Big")));
}

#[test]
fn text_files_are_line_windows() {
    let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
    let chunks = chunk_file("a.txt", &text, Language::Text, &ChunkOptions::default());
    check_invariants(&text, &chunks);
    let r: Vec<_> = chunks.iter().map(|c| (c.start_line, c.end_line)).collect();
    assert_eq!(r, vec![(1, 40), (41, 80), (81, 100)]);
}

#[test]
fn file_without_definitions_is_windowed() {
    let text = "import os\nprint(os.getcwd())\n";
    let chunks = chunk_file("s.py", text, Language::Python, &ChunkOptions::default());
    assert_eq!(render(&chunks), "1-2 window - -\n");
    // Its licence header belongs to no chunk all the same (Go's `doc.go`).
    let go = "// Copyright 2012 The Authors. All rights reserved.\n// Use of this source code is governed by a BSD-style license.\n\n// Package mux routes requests.\npackage mux\n";
    assert_eq!(listing("doc.go", go, Language::Go), "4-5 window - -\n");
}

#[test]
fn chunking_is_thread_safe() {
    let inputs: Vec<(Language, String, String)> = Language::ALL
        .into_iter()
        .map(|l| {
            let (p, t) = fixture(l);
            (l, p, t)
        })
        .collect();
    let expected: Vec<Vec<Chunk>> = inputs
        .iter()
        .map(|(l, p, t)| chunk_file(p, t, *l, &ChunkOptions::default()))
        .collect();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for ((l, p, t), want) in inputs.iter().zip(&expected) {
                    assert_eq!(&chunk_file(p, t, *l, &ChunkOptions::default()), want);
                }
            });
        }
    });
}

/// Debug aid, not a test: `CSEEK_DUMP=path/to/file cargo test --test chunk_golden dump --
/// --ignored --nocapture` prints the chunks of any file.
#[test]
#[ignore]
fn dump() {
    let Some(path) = std::env::var_os("CSEEK_DUMP") else {
        return;
    };
    let path = PathBuf::from(path);
    let text = std::fs::read_to_string(&path).expect("read");
    let lang = Language::from_path(&path).unwrap_or(Language::Text);
    if std::env::var_os("CSEEK_TREE").is_some() {
        if let Some(g) = lang.grammar() {
            let mut parser = tree_sitter::Parser::new();
            parser.set_language(&g).expect("grammar");
            let tree = parser.parse(&text, None).expect("parse");
            print_tree(tree.root_node(), None, 0);
        }
    }
    let chunks = chunk_file("x", &text, lang, &ChunkOptions::default());
    for c in &chunks {
        println!(
            "{}-{} {} {} {}",
            c.start_line,
            c.end_line,
            c.kind,
            c.symbol.as_deref().unwrap_or("-"),
            c.container.as_deref().unwrap_or("-")
        );
    }
}

fn print_tree(node: tree_sitter::Node, field: Option<&str>, depth: usize) {
    if depth > 9 {
        return;
    }
    if node.is_named() {
        println!(
            "{}{}{} [{}-{}]",
            "  ".repeat(depth),
            field.map(|f| format!("{f}: ")).unwrap_or_default(),
            node.kind(),
            node.start_position().row + 1,
            node.end_position().row + 1
        );
    }
    let mut cursor = node.walk();
    if cursor.goto_first_child() {
        loop {
            print_tree(cursor.node(), cursor.field_name(), depth + 1);
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
}

#[test]
fn cpp_headers_named_h_are_chunked_as_cpp() {
    // fmt- and spdlog-style headers: `.h`, so C by their name, C++ by their text.
    let text = "#pragma once\n#include <string>\n\nnamespace log {\n\n/// A sink.\nclass Sink {\n public:\n  virtual ~Sink() = default;\n  void flush() { write(\"\"); }\n};\n\ntemplate <typename T>\nT clamp(T v, T lo, T hi) {\n  return v < lo ? lo : v > hi ? hi : v;\n}\n\n}  // namespace log\n";
    let chunks = chunk_file(
        "include/log/sink.h",
        text,
        Language::C,
        &ChunkOptions::default(),
    );
    check_invariants(text, &chunks);
    assert!(
        chunks.iter().all(|c| c.language == Language::Cpp),
        "{chunks:?}"
    );
    let named: Vec<(&str, ChunkKind)> = chunks
        .iter()
        .filter_map(|c| Some((c.symbol.as_deref()?, c.kind)))
        .collect();
    assert!(named.contains(&("Sink", ChunkKind::Class)), "{named:?}");
    assert!(named.contains(&("flush", ChunkKind::Method)), "{named:?}");
    assert!(named.contains(&("clamp", ChunkKind::Function)), "{named:?}");
    // A C header keeps the C grammar and its label.
    let c = "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\nint uv_run(uv_loop_t* loop, int mode);\n\n#ifdef __cplusplus\n}\n#endif\n";
    let chunks = chunk_file("include/uv.h", c, Language::C, &ChunkOptions::default());
    assert!(
        chunks.iter().all(|c| c.language == Language::C),
        "{chunks:?}"
    );
}

#[test]
fn annotations_bring_the_doc_comment_above_them() {
    // kotlinx.coroutines' `Job.kt`: after a class body the Kotlin grammar reads an
    // annotation with arguments on its own line as an expression; the KDoc above it still
    // documents the function below.
    let kt = "interface Job {\n    fun cancel()\n}\n\n/**\n * Creates a new job object in an active state.\n */\n@Suppress(\"FunctionName\")\npublic fun Job(parent: Job? = null): Job = JobImpl(parent)\n\n/** From an executor. */\n@JvmName(\"from\") // a nice Java API\npublic fun Executor.asDispatcher(): Dispatcher = Wrapper(this)\n";
    assert_eq!(
        listing("Job.kt", kt, Language::Kotlin),
        "1-1 interface Job -\n2-2 method cancel Job\n5-9 function Job -\n11-13 function asDispatcher -\n"
    );
    // A comment after an attribute on its line does not cut the attribute off.
    let rs = "/// Which one.\n#[allow(dead_code)] // used by tests only\nfn pick() {}\n";
    assert_eq!(listing("p.rs", rs, Language::Rust), "1-3 function pick -\n");
    // Code after a comment on its line does: the comment is not the definition's.
    let c = "/* state */ static int n;\nint next(void) { return ++n; }\n";
    assert_eq!(
        listing("n.c", c, Language::C),
        "1-1 top_level - -\n2-2 function next -\n"
    );
}

/// Chunks by layout: `lang` is a language with a grammar whose parse is given no time
/// (the fallback when a parse fails), or `Language::Text` for source without a grammar.
fn layout_listing(path: &str, text: &str, lang: Language) -> String {
    let opts = ChunkOptions {
        parse_timeout: std::time::Duration::ZERO,
        ..ChunkOptions::default()
    };
    let chunks = chunk_file(path, text, lang, &opts);
    check_invariants(text, &chunks);
    render(&chunks)
}

#[test]
fn layout_cuts_code_at_its_definitions() {
    let dart = "import 'package:http/http.dart' as http;\n\n/// Fetches pages.\nclass PageClient {\n  final http.Client _client;\n\n  PageClient(this._client);\n\n  /// One page.\n  @override\n  Future<String> fetchPage(Uri url) async {\n    final r = await _client.get(url);\n    return r.body;\n  }\n\n  void close() {\n    _client.close();\n  }\n}\n\nvoid main() {\n  print('hi');\n}\n";
    // Within the budget a class is one chunk.
    assert_eq!(
        layout_listing("lib/client.dart", dart, Language::Dart),
        "1-1 top_level - -\n3-19 class PageClient -\n21-23 function main -\n"
    );
    // Over it, the class is cut at its members, which become its methods.
    let opts = ChunkOptions {
        max_chunk_bytes: 200,
        parse_timeout: std::time::Duration::ZERO,
        ..ChunkOptions::default()
    };
    let chunks = chunk_file("lib/client.dart", dart, Language::Dart, &opts);
    check_invariants(dart, &chunks);
    assert_eq!(
        render(&chunks),
        "1-1 top_level - -\n3-7 class PageClient -\n9-14 method fetchPage PageClient\n16-18 method close PageClient\n21-23 function main -\n"
    );
    // The grammar agrees, and names the constructor-holding head the same way.
    assert_eq!(
        render(&chunk_file("lib/client.dart", dart, Language::Dart, &ChunkOptions { max_chunk_bytes: 200, ..ChunkOptions::default() })),
        "1-1 top_level - -\n3-7 class PageClient -\n9-14 method fetchPage PageClient\n16-18 method close PageClient\n21-23 function main -\n"
    );
    // Erlang: a function's `-spec` and clauses are one chunk named by the function.
    let erl = "-module(kv).\n-export([get/2]).\n\n%% Looks a key up.\n-spec get(Key :: term(), map()) -> term().\nget(Key, Map) when is_map(Map) ->\n    maps:get(Key, Map);\nget(_, _) ->\n    undefined.\n";
    assert_eq!(
        layout_listing("src/kv.erl", erl, Language::Erlang),
        "1-2 module kv -\n4-9 function get -\n"
    );
    // OCaml and R.
    let ml = "type 'a tree = Leaf | Node of 'a tree * 'a * 'a tree\n\nlet rec insert x = function\n  | Leaf -> Node (Leaf, x, Leaf)\n  | t -> t\n";
    assert_eq!(
        layout_listing("tree.ml", ml, Language::OCaml),
        "1-1 type tree -\n3-5 function insert -\n"
    );
    let r = "read_table <- function(path) {\n  read.csv(path)\n}\n";
    assert_eq!(
        layout_listing("R/io.R", r, Language::R),
        "1-3 function read_table -\n"
    );
    // Objective-C: methods at the margin between `@implementation` and `@end` are the
    // class's; a C function after `@end` is no one's.
    let m = "#import \"Parser.h\"\n\n@implementation Parser\n\n- (instancetype)initWithData:(NSData *)data\n{\n  return self;\n}\n\n+ (id)parserWithData:(NSData *)data {\n  return nil;\n}\n@end\n\nstatic int helper(void) {\n  return 0;\n}\n";
    assert_eq!(
        layout_listing("Source/Parser.m", m, Language::ObjC),
        "1-1 top_level - -\n3-3 class Parser -\n5-8 method initWithData Parser\n10-13 method parserWithData Parser\n15-17 function helper -\n"
    );
    // Languages without a grammar: Clojure, Perl, MATLAB (whose `.m` is not
    // Objective-C, so it is text).
    let clj = "(ns app.config)\n\n(defn load-config\n  \"Reads the config.\"\n  [path]\n  (slurp path))\n";
    assert_eq!(
        listing("src/app/config.clj", clj, Language::Text),
        "1-1 top_level - -\n3-6 function load-config -\n"
    );
    let pl = "package Reader;\nuse strict;\n\nsub read_file {\n  my ($path) = @_;\n  return 1;\n}\n\nfor my $m (qw(a b)) {\n  print $m;\n}\n";
    assert_eq!(
        listing("lib/Reader.pm", pl, Language::Text),
        "1-2 top_level - -\n4-7 function read_file -\n9-10 top_level - -\n"
    );
    let matlab = "function y = area(r)\n% AREA of a circle.\ny = pi * r^2;\nend\n\nfunction p = perimeter(r)\np = 2 * pi * r;\nend\n";
    let chunks = chunk_file(
        "geom/area.m",
        matlab,
        Language::ObjC,
        &ChunkOptions::default(),
    );
    check_invariants(matlab, &chunks);
    assert!(
        chunks.iter().all(|c| c.language == Language::Text),
        "{chunks:?}"
    );
    assert_eq!(
        render(&chunks),
        "1-4 function area -\n6-8 function perimeter -\n"
    );
    // Prose stays in line windows.
    let txt = "A note.\n\nclass notes are here (see below) {\n";
    assert_eq!(
        listing("notes.txt", txt, Language::Text),
        "1-3 window - -\n"
    );
}

#[test]
fn a_parse_that_runs_out_of_time_falls_back_to_layout() {
    let text = "class Store:\n    def load(self, path):\n        return open(path).read()\n\n\ndef save(path, data):\n    open(path, 'w').write(data)\n";
    // The grammar cuts the class at its method; layout keeps a class within the budget
    // whole.
    assert_eq!(
        listing("io.py", text, Language::Python),
        "1-1 class Store -\n2-3 method load Store\n6-7 function save -\n"
    );
    let opts = ChunkOptions {
        parse_timeout: std::time::Duration::ZERO,
        ..ChunkOptions::default()
    };
    let chunks = chunk_file("io.py", text, Language::Python, &opts);
    check_invariants(text, &chunks);
    assert_eq!(render(&chunks), "1-3 class Store -\n6-7 function save -\n");
}

#[test]
fn bare_macro_lines_do_not_break_c_family_parses() {
    let c = "#include <glib.h>\n\nG_BEGIN_DECLS\n\n/* Opens a file. */\nMY_EXPORT\nint open_file(const char *p) {\n  return 0;\n}\n\nG_END_DECLS\n";
    // The export macro and the comment above it join the function.
    assert_eq!(
        listing("io.c", c, Language::C),
        "1-3 top_level - -\n5-9 function open_file -\n11-11 top_level - -\n"
    );
    // In C++ the macro after the functions used to swallow the class below it; right
    // above the class, it now joins it.
    let cpp =
        format!("{c}class Widget : public QObject {{\n  Q_OBJECT\npublic:\n  void show();\n}};\n");
    assert_eq!(
        listing("io.cpp", &cpp, Language::Cpp),
        "1-3 top_level - -\n5-9 function open_file -\n11-16 class Widget -\n"
    );
    // A line that continues a `#define`, or an enum's last constant, is not a bare macro.
    let defines = "#define SET_ERROR(req, e) \\\n  SET_STATUS((req), FROM_WIN32(e))\n\nenum mode {\n  MODE_READ,\n  /* Also creates. */\n  MODE_WRITE\n};\n\nstatic int mode_of(int m) {\n  return m;\n}\n";
    assert_eq!(
        listing("mode.c", defines, Language::C),
        "1-2 macro SET_ERROR -\n4-8 enum mode -\n10-12 function mode_of -\n"
    );
}

#[test]
fn vue_and_svelte_scripts_are_parsed_in_place() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chunk/components");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    // `<script setup lang="ts">`: TypeScript; the template and style stay text around it.
    let vue = read("Counter.vue");
    let chunks = chunk_file(
        "src/Counter.vue",
        &vue,
        Language::Text,
        &ChunkOptions::default(),
    );
    check_invariants(&vue, &chunks);
    assert!(chunks.iter().all(|c| c.language == Language::TypeScript));
    assert_eq!(
        render(&chunks),
        "1-10 top_level - -\n12-16 function increment -\n18-20 function doubled -\n21-25 top_level - -\n"
    );
    // The options API: methods of the exported object.
    let vue = read("List.vue");
    let chunks = chunk_file(
        "src/List.vue",
        &vue,
        Language::Text,
        &ChunkOptions::default(),
    );
    check_invariants(&vue, &chunks);
    assert!(chunks.iter().all(|c| c.language == Language::JavaScript));
    let named: Vec<&str> = chunks.iter().filter_map(|c| c.symbol.as_deref()).collect();
    assert_eq!(named, ["data", "load", "clear"]);
    // Svelte, script first.
    let svelte = read("Form.svelte");
    assert_eq!(
        listing("src/Form.svelte", &svelte, Language::Text),
        "1-2 top_level - -\n3-5 function submit -\n6-10 top_level - -\n"
    );
    // A component without a script is text, cut by layout.
    let template = "<template>\n  <p>hi</p>\n</template>\n";
    let chunks = chunk_file(
        "src/Hi.vue",
        template,
        Language::Text,
        &ChunkOptions::default(),
    );
    assert!(
        chunks.iter().all(|c| c.language == Language::Text),
        "{chunks:?}"
    );
}
