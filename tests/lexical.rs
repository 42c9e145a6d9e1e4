//! The lexical index end to end: build a real tantivy index in a temporary directory from
//! hand-made chunks, reopen it, and check what searches return.

use std::path::Path;

use cseek::chunk::ChunkKind;
use cseek::lang::Language;
use cseek::lexical::{LexicalDoc, LexicalIndex, LexicalWriter};
use cseek::Error;

/// An owned chunk for the test corpus.
struct Doc {
    chunk_id: u32,
    file_id: u32,
    path: &'static str,
    language: Language,
    kind: ChunkKind,
    symbol: Option<&'static str>,
    container: Option<&'static str>,
    text: String,
}

#[allow(clippy::too_many_arguments)]
fn doc(
    chunk_id: u32,
    file_id: u32,
    path: &'static str,
    language: Language,
    kind: ChunkKind,
    symbol: Option<&'static str>,
    container: Option<&'static str>,
    text: impl Into<String>,
) -> Doc {
    Doc {
        chunk_id,
        file_id,
        path,
        language,
        kind,
        symbol,
        container,
        text: text.into(),
    }
}

/// A long chunk that calls `call` `times` times among other code, like a real caller.
fn caller(name: &str, call: &str, times: usize) -> String {
    let mut s = format!("fn {name}(items: &[Item]) -> Result<()> {{\n");
    for i in 0..times {
        s.push_str(&format!(
            "    let value_{i} = {call}(&items[{i}].source)?;\n    store.insert(value_{i}.key(), value_{i});\n"
        ));
    }
    s.push_str("    Ok(())\n}\n");
    s
}

/// A small but realistic multi-language corpus: definitions, heavy callers of them, and
/// unrelated code.
fn corpus() -> Vec<Doc> {
    use ChunkKind::*;
    use Language::*;
    vec![
        // Rust `parse_config` and three chunks hammering it.
        doc(100, 1, "src/config.rs", Rust, Function, Some("parse_config"), None,
            "pub fn parse_config(text: &str) -> Result<Config> {\n    toml::from_str(text).map_err(Error::from)\n}\n"),
        doc(101, 2, "src/loader.rs", Rust, Function, Some("load_all"), None, caller("load_all", "parse_config", 12)),
        doc(102, 2, "src/loader.rs", Rust, Function, Some("reload"), None, caller("reload", "parse_config", 8)),
        doc(103, 3, "src/watch.rs", Rust, Function, Some("watch_configs"), None,
            format!("// parse_config is called for every changed file; parse_config errors are logged\n{}", caller("watch_configs", "parse_config", 10))),
        // JavaScript `parseConfig` and callers.
        doc(110, 4, "web/config.js", JavaScript, Function, Some("parseConfig"), None,
            "export function parseConfig(raw) {\n  return JSON.parse(raw);\n}\n"),
        doc(111, 5, "web/app.js", JavaScript, Function, Some("boot"), None,
            "function boot(sources) {\n".to_string() + &"  const c = parseConfig(sources.next()); apply(parseConfig(c.raw));\n".repeat(10) + "}\n"),
        // Methods `bar` in two classes, and code calling Foo.bar a lot.
        doc(120, 6, "pkg/foo.py", Python, Class, Some("Foo"), None,
            "class Foo:\n    \"\"\"A foo.\"\"\"\n    def __init__(self):\n        self.n = 0\n"),
        doc(121, 6, "pkg/foo.py", Python, Method, Some("bar"), Some("Foo"),
            "    def bar(self, x):\n        return self.n + x\n"),
        doc(122, 7, "pkg/baz.py", Python, Method, Some("bar"), Some("Baz"),
            "    def bar(self):\n        return 'baz'\n"),
        doc(123, 8, "pkg/use_foo.py", Python, Function, Some("run"), None,
            "def run():\n".to_string() + &"    foo = Foo()\n    total += foo.bar(1) + Foo().bar(2)\n".repeat(8)),
        // HTTPServer class and heavy users.
        doc(130, 9, "net/server.py", Python, Class, Some("HTTPServer"), None,
            "class HTTPServer(BaseServer):\n    def __init__(self, addr):\n        self.addr = addr\n"),
        doc(131, 10, "net/main.py", Python, Function, Some("main"), None,
            "def main():\n".to_string() + &"    srv = HTTPServer(addr)  # start an HTTPServer\n    servers.append(srv)\n".repeat(9)),
        // Natural-language targets.
        doc(140, 11, "web/fs.js", JavaScript, Function, Some("readFile"), None,
            "async function readFile(path) {\n  const handle = await open(path);\n  return handle.text();\n}\n"),
        doc(141, 12, "tools/io_utils.py", Python, Function, Some("read_file"), None,
            "def read_file(path):\n    with open(path) as f:\n        return f.read()\n"),
        doc(142, 13, "src/net/retry.rs", Rust, Struct, Some("RetryConfig"), None,
            "pub struct RetryConfig {\n    pub max_retries: u32,\n    pub backoff_ms: u64,\n}\n"),
        doc(143, 14, "src/net/client.rs", Rust, Function, Some("send"), None,
            "pub fn send(req: Request) -> Response {\n    let conn = pool.get();\n    conn.write_all(req.bytes());\n    conn.response()\n}\n"),
        doc(144, 15, "src/render.rs", Rust, Function, Some("render_page"), None,
            "fn render_page(page: &Page) -> String {\n    let mut html = String::new();\n    for block in &page.blocks { html.push_str(&block.to_html()); }\n    html\n}\n"),
        doc(145, 16, "README.md", Markdown, Section, Some("Getting Started"), None,
            "## Getting Started\n\nInstall the tool and run it on a repository.\n"),
        doc(146, 17, "src/db.rs", Rust, TopLevel, None, None,
            "use std::fs::File;\nconst WHERE_CLAUSE: &str = \"select * from t where a = 1\";\n"),
    ]
}

fn build(dir: &Path, docs: &[Doc]) {
    let mut w = LexicalWriter::create(dir).expect("create");
    for d in docs {
        w.add(&LexicalDoc {
            chunk_id: d.chunk_id,
            file_id: d.file_id,
            path: d.path,
            language: d.language,
            kind: d.kind,
            symbol: d.symbol,
            container: d.container,
            text: &d.text,
        })
        .expect("add");
    }
    w.finish().expect("finish");
}

fn index() -> (tempfile::TempDir, LexicalIndex) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("lexical");
    build(&dir, &corpus());
    let idx = LexicalIndex::open(&dir).expect("open");
    (tmp, idx)
}

fn ids(idx: &LexicalIndex, query: &str, limit: usize) -> Vec<u32> {
    idx.search(query, limit, None)
        .unwrap_or_else(|e| panic!("search {query:?}: {e}"))
        .iter()
        .map(|h| h.chunk_id)
        .collect()
}

fn first(idx: &LexicalIndex, query: &str) -> u32 {
    let hits = ids(idx, query, 10);
    *hits
        .first()
        .unwrap_or_else(|| panic!("no hit for {query:?}"))
}

#[test]
fn counts_documents() {
    let (_tmp, idx) = index();
    assert_eq!(idx.num_docs(), corpus().len() as u64);
}

#[test]
fn symbol_queries_rank_the_definition_first() {
    let (_tmp, idx) = index();
    for (query, def) in [
        ("parse_config", 100),
        ("parseConfig", 110),
        ("Foo::bar", 121),
        ("Foo.bar", 121),
        ("Foo.bar()", 121),
        ("Baz::bar", 122),
        ("HTTPServer", 130),
        ("Foo", 120),
        ("readFile", 140),
        ("read_file", 141),
        ("RetryConfig", 142),
    ] {
        let hits = ids(&idx, query, 10);
        assert_eq!(hits.first(), Some(&def), "{query:?} ranked {hits:?}");
    }
}

#[test]
fn definition_beats_heavy_callers_by_a_margin() {
    let (_tmp, idx) = index();
    let hits = idx.search("parse_config", 10, None).expect("search");
    // The definition, then the same symbol in another language's spelling, then the
    // callers (they do mention it, a lot).
    assert_eq!(hits[0].chunk_id, 100);
    assert_eq!(hits[1].chunk_id, 110);
    let callers: Vec<u32> = hits[2..5].iter().map(|h| h.chunk_id).collect();
    for c in [101, 102, 103] {
        assert!(callers.contains(&c), "caller {c} missing from {hits:?}");
    }
    assert!(hits[0].score > hits[2].score * 2.0, "{hits:?}");
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn cross_style_symbol_queries_find_both_spellings() {
    let (_tmp, idx) = index();
    // The camelCase and snake_case definitions come before every caller, in either order.
    for query in ["parseConfig", "parse_config", "parse-config"] {
        let top2 = ids(&idx, query, 2);
        let mut sorted = top2.clone();
        sorted.sort();
        assert_eq!(sorted, [100, 110], "{query:?} top 2: {top2:?}");
    }
}

#[test]
fn natural_language_queries_match_identifier_parts() {
    let (_tmp, idx) = index();
    let hits = ids(&idx, "read a file", 2);
    let mut sorted = hits.clone();
    sorted.sort();
    assert_eq!(sorted, [140, 141], "read a file: {hits:?}");

    // `retries` meets `max_retries` and `RetryConfig` only through part splitting and
    // stemming.
    assert_eq!(first(&idx, "where are retries configured"), 142);
    assert_eq!(first(&idx, "max retries"), 142);
    assert_eq!(first(&idx, "render html page"), 144);
    // A word found only in a path (`io_utils`) still lifts that file's chunk.
    assert!(ids(&idx, "utils", 5).contains(&141));
    // Stemming: inflected words meet identifier parts.
    assert_eq!(first(&idx, "retrying"), 142);
    let top2 = ids(&idx, "parsing configs", 2);
    assert!(top2.contains(&100) && top2.contains(&110), "{top2:?}");
    // Markdown headings are symbols too.
    assert_eq!(first(&idx, "getting started"), 145);
}

#[test]
fn a_word_counts_once_wherever_it_occurs_in_a_chunk() {
    // BM25F: the name, the container and the text are one bag of words, so a chunk that
    // repeats one query word in all three does not outrank one whose text has both.
    use ChunkKind::*;
    use Language::*;
    let docs = vec![
        doc(1, 1, "src/api.rs", Rust, Method, Some("retry"), Some("Retry"),
            "fn retry(&self) -> Result<()> {\n    self.inner.call()\n}\n"),
        doc(2, 2, "src/client.rs", Rust, Function, Some("send"), None,
            "fn send(req: Request) -> Result<()> {\n    // retry with exponential backoff\n    sleep(backoff);\n}\n"),
        doc(3, 3, "src/other.rs", Rust, Function, Some("other"), None, "fn other() {}\n"),
    ];
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("lexical");
    build(&dir, &docs);
    let idx = LexicalIndex::open(&dir).expect("open");
    assert_eq!(ids(&idx, "retry backoff", 3), [2, 1]);
}

#[test]
fn symbol_in_a_longer_query_still_finds_its_definition() {
    let (_tmp, idx) = index();
    assert_eq!(first(&idx, "where is parseConfig defined"), 110);
    assert_eq!(first(&idx, "the HTTPServer class"), 130);
}

#[test]
fn allowed_files_filters_inside_the_query() {
    let (_tmp, idx) = index();
    let hits = idx.search("parse_config", 10, Some(&[2])).expect("search");
    let got: Vec<u32> = hits.iter().map(|h| h.chunk_id).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.contains(&101) && got.contains(&102), "{got:?}");

    // The limit applies after filtering: the best allowed chunk is returned even though
    // many disallowed chunks score higher.
    let hits = idx
        .search("parse_config", 1, Some(&[3, 99]))
        .expect("search");
    assert_eq!(hits.iter().map(|h| h.chunk_id).collect::<Vec<_>>(), [103]);

    // Filtering does not change scores.
    let all = idx.search("parse_config", 10, None).expect("search");
    let unfiltered_103 = all.iter().find(|h| h.chunk_id == 103).expect("103");
    assert!((unfiltered_103.score - hits[0].score).abs() < 1e-4);

    assert!(idx
        .search("parse_config", 10, Some(&[]))
        .expect("search")
        .is_empty());
    assert!(idx
        .search("parse_config", 10, Some(&[12345]))
        .expect("search")
        .is_empty());
}

#[test]
fn limit_is_respected() {
    let (_tmp, idx) = index();
    assert_eq!(ids(&idx, "parse_config", 2).len(), 2);
    assert!(ids(&idx, "parse_config", 0).is_empty());
}

#[test]
fn empty_queries_are_rejected() {
    let (_tmp, idx) = index();
    for query in [
        "", "   ", "\n\t", "(){};", "-- :: ->", "@#$%^&*", "{ ) ]", "\\",
    ] {
        match idx.search(query, 10, None) {
            Err(Error::InvalidQuery(msg)) => assert!(!msg.is_empty()),
            other => panic!("{query:?}: expected InvalidQuery, got {other:?}"),
        }
    }
}

#[test]
fn query_syntax_characters_are_plain_text() {
    let (_tmp, idx) = index();
    for query in [
        "foo(bar",
        "a:b",
        "-x",
        "+y",
        "\"unterminated",
        "title:foo^2",
        "[1 TO 5]",
        "AND OR NOT",
        "parse_config*",
        "path:src",
        "Foo::bar(",
        "\\x",
        "é",
    ] {
        assert!(
            idx.search(query, 10, None).is_ok(),
            "{query:?} should not error"
        );
    }
    // Punctuation around a symbol does not get in the way.
    assert_eq!(first(&idx, "`parse_config(`"), 100);
    assert_eq!(first(&idx, "-parse_config"), 100);
}

#[test]
fn unknown_words_find_nothing() {
    let (_tmp, idx) = index();
    assert!(ids(&idx, "zzzqqq", 10).is_empty());
}

fn expect_corrupt(dir: &Path) {
    match LexicalIndex::open(dir) {
        Err(Error::CorruptIndex { path, detail }) => {
            assert!(!detail.is_empty());
            assert!(path.starts_with(dir), "{path:?}");
        }
        Err(other) => panic!("{dir:?}: expected CorruptIndex, got {other:?}"),
        Ok(_) => panic!("{dir:?}: expected CorruptIndex, got an index"),
    }
}

#[test]
fn missing_directory_is_corrupt_index() {
    let tmp = tempfile::tempdir().expect("tempdir");
    expect_corrupt(&tmp.path().join("nope"));
    // An empty directory too.
    expect_corrupt(tmp.path());
}

#[test]
fn garbage_directory_is_corrupt_index() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("lexical");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("meta.json"), b"{ not json").expect("write");
    std::fs::write(dir.join("garbage.idx"), [0xffu8; 300]).expect("write");
    expect_corrupt(&dir);
    // Even with a valid-looking marker, a garbage tantivy meta is reported as damage.
    std::fs::write(
        dir.join("cseek-lexical.version"),
        format!(
            "cseek-lexical-format {}\n",
            cseek::lexical::LEXICAL_FORMAT_VERSION
        ),
    )
    .expect("write");
    expect_corrupt(&dir);
    std::fs::write(dir.join("cseek-lexical.version"), [0xfe, 0xff, 0x00]).expect("write");
    expect_corrupt(&dir);
}

#[test]
fn any_damaged_file_is_corrupt_index() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let good = tmp.path().join("good");
    build(&good, &corpus());
    let names: Vec<String> = std::fs::read_dir(&good)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        // Lock files carry no data.
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    assert!(names.len() >= 5, "{names:?}");
    for name in &names {
        for (k, garbage) in [vec![], b"xx".to_vec(), vec![0xffu8; 5000]]
            .into_iter()
            .enumerate()
        {
            let dir = tmp.path().join(format!("bad-{k}-{name}"));
            std::fs::create_dir_all(&dir).expect("mkdir");
            for n in &names {
                std::fs::copy(good.join(n), dir.join(n)).expect("copy");
            }
            std::fs::write(dir.join(name), &garbage).expect("write");
            expect_corrupt(&dir);
        }
    }
}

#[test]
fn unfinished_build_is_corrupt_index() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("lexical");
    let mut w = LexicalWriter::create(&dir).expect("create");
    w.add(&LexicalDoc {
        chunk_id: 1,
        file_id: 1,
        path: "a.rs",
        language: Language::Rust,
        kind: ChunkKind::Function,
        symbol: Some("a"),
        container: None,
        text: "fn a() {}",
    })
    .expect("add");
    drop(w); // never finished
    expect_corrupt(&dir);
}

#[test]
fn other_format_version_is_reported() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("lexical");
    build(&dir, &corpus());
    std::fs::write(
        dir.join("cseek-lexical.version"),
        b"cseek-lexical-format 999\n",
    )
    .expect("write");
    match LexicalIndex::open(&dir) {
        Err(Error::FormatVersion { found, .. }) => assert_eq!(found, 999),
        Err(other) => panic!("expected FormatVersion, got {other:?}"),
        Ok(_) => panic!("expected FormatVersion, got an index"),
    }
}

#[test]
fn creating_over_an_existing_index_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("lexical");
    build(&dir, &corpus());
    assert!(LexicalWriter::create(&dir).is_err());
    // ...and the existing index is untouched.
    assert_eq!(
        LexicalIndex::open(&dir).expect("open").num_docs(),
        corpus().len() as u64
    );
}

#[test]
fn empty_index_searches_fine() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("lexical");
    build(&dir, &[]);
    let idx = LexicalIndex::open(&dir).expect("open");
    assert_eq!(idx.num_docs(), 0);
    assert!(idx.search("anything", 10, None).expect("search").is_empty());
}

#[test]
fn many_chunks_build_into_one_searchable_index() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("lexical");
    let mut docs = corpus();
    // Enough filler that the writer's threads each produce a segment to merge.
    for i in 0..3000u32 {
        docs.push(doc(
            10_000 + i,
            100 + i / 10,
            "gen/filler.rs",
            Language::Rust,
            ChunkKind::Function,
            None,
            None,
            format!(
                "fn filler_{i}(x: u32) -> u32 {{ helper_{}(x) + {i} }}",
                i % 17
            ),
        ));
    }
    build(&dir, &docs);
    let idx = LexicalIndex::open(&dir).expect("open");
    assert_eq!(idx.num_docs(), docs.len() as u64);
    assert_eq!(first(&idx, "parse_config"), 100);
    assert_eq!(first(&idx, "filler_2999"), 12_999);
    // Every chunk calling `helper_3` ranks above those calling other helpers (which
    // match only the part `helper`).
    let hits = idx.search("helper_3", 1000, None).expect("search");
    let n = (0..3000).filter(|i| i % 17 == 3).count();
    assert!(hits.len() > n);
    assert!(hits[..n].iter().all(|h| (h.chunk_id - 10_000) % 17 == 3));
}

/// Build and query speed on real code: every `.rs` file under `$CSEEK_LEX_BENCH_DIR`, cut
/// into 40-line windows. Run with
/// `CSEEK_LEX_BENCH_DIR=~/.cargo/registry/src cargo test --release --test lexical -- --ignored --nocapture`.
#[test]
#[ignore]
fn bench_build_and_search() {
    let Some(root) = std::env::var_os("CSEEK_LEX_BENCH_DIR") else {
        return;
    };
    let mut files = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(root)];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut chunks: Vec<(u32, String, String)> = Vec::new();
    for (fid, f) in files.iter().enumerate() {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        for w in lines.chunks(40) {
            chunks.push((fid as u32, f.to_string_lossy().into_owned(), w.join("\n")));
        }
        if chunks.len() >= 50_000 {
            break;
        }
    }
    let bytes: usize = chunks.iter().map(|c| c.2.len()).sum();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("lexical");
    let t = std::time::Instant::now();
    let mut w = LexicalWriter::create(&dir).expect("create");
    for (i, (fid, path, text)) in chunks.iter().enumerate() {
        w.add(&LexicalDoc {
            chunk_id: i as u32,
            file_id: *fid,
            path,
            language: Language::Rust,
            kind: ChunkKind::Window,
            symbol: None,
            container: None,
            text,
        })
        .expect("add");
    }
    let added = t.elapsed();
    w.finish().expect("finish");
    let build = t.elapsed();
    println!("add {added:?}, finish {:?}", build - added);
    let t = std::time::Instant::now();
    let idx = LexicalIndex::open(&dir).expect("open");
    let open = t.elapsed();
    let size: u64 = std::fs::read_dir(&dir)
        .expect("read_dir")
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    let queries = [
        "parse_config",
        "TokenStream",
        "read a file",
        "where are retries configured",
        "HashMap::new",
        "serialize json value",
    ];
    let t = std::time::Instant::now();
    let mut n = 0;
    for _ in 0..20 {
        for q in queries {
            n += idx.search(q, 20, None).expect("search").len();
        }
    }
    let per_query = t.elapsed() / (20 * queries.len() as u32);
    println!(
        "{} chunks, {:.1} MB text: build {build:?}, open {open:?}, index {:.1} MB, {per_query:?}/query ({n} hits)",
        chunks.len(),
        bytes as f64 / 1e6,
        size as f64 / 1e6
    );
}
