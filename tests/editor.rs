//! What an editor linking the library needs beyond build-and-search: unsaved buffers
//! searched in place of their files (overlays), and updates of just the files it saved.

use std::fs;
use std::path::{Path, PathBuf};

#[cfg(feature = "embed")]
use cseek::embed::testkit::{write_tiny_model, TinySize};
#[cfg(feature = "embed")]
use cseek::embed::Arch;
use cseek::index::{IndexOptions, Indexer, ModelChoice, NoProgress, RunKind};
#[cfg(feature = "embed")]
use cseek::search::RelatedTo;
use cseek::search::{Mode, SearchHit, SearchRequest, Searcher};
use cseek::Error;

const CONFIG_PY: &str = "def parse_config(path):\n    \"\"\"Read the configuration file.\"\"\"\n    return open(path).read()\n\n\ndef write_report(rows):\n    \"\"\"Write rows as a report.\"\"\"\n    return '\\n'.join(rows)\n";
const NET_PY: &str = "def send_request(url, retries=3):\n    \"\"\"Send an HTTP request, retrying on failure.\"\"\"\n    for attempt in range(retries):\n        pass\n\n\ndef close_socket(sock):\n    sock.close()\n";
const LIB_RS: &str = "/// Parse the configuration of the server.\npub fn parse_server_config(text: &str) -> usize {\n    text.len()\n}\n";

struct Repo {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    index: PathBuf,
}

fn repo() -> Repo {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("repo");
    fs::create_dir_all(root.join("src")).expect("mkdir");
    fs::write(root.join("config.py"), CONFIG_PY).expect("write");
    fs::write(root.join("net.py"), NET_PY).expect("write");
    fs::write(root.join("src/lib.rs"), LIB_RS).expect("write");
    let index = tmp.path().join("index");
    Repo {
        _tmp: tmp,
        root,
        index,
    }
}

fn options(repo: &Repo, model: Option<&Path>) -> IndexOptions {
    let mut o = IndexOptions::new(&repo.root);
    o.index_dir = repo.index.clone();
    o.model = match model {
        Some(m) => ModelChoice::Named(m.to_string_lossy().into_owned()),
        None => ModelChoice::Off,
    };
    o
}

#[cfg(feature = "embed")]
fn tiny_model(dir: &Path) -> PathBuf {
    let size = TinySize {
        hidden: 32,
        ..TinySize::tiny()
    };
    write_tiny_model(dir, Arch::Bert, size, "").expect("write tiny model");
    dir.to_path_buf()
}

fn search(s: &Searcher, q: &str, mode: Mode) -> Vec<SearchHit> {
    s.search(&SearchRequest::new(q).top_k(10).mode(mode))
        .expect("search")
        .hits
}

fn has_symbol(hits: &[SearchHit], symbol: &str) -> bool {
    hits.iter().any(|h| h.symbol.as_deref() == Some(symbol))
}

fn symbols(hits: &[SearchHit]) -> Vec<(String, Option<String>)> {
    hits.iter()
        .map(|h| (h.path.clone(), h.symbol.clone()))
        .collect()
}

#[test]
fn an_overlay_replaces_its_file_in_searches_until_cleared() {
    let r = repo();
    Indexer::new(options(&r, None))
        .update(&NoProgress)
        .expect("index");
    let s = Searcher::open(&r.index).expect("open");
    let before = search(&s, "parse_config", Mode::Lexical);
    assert_eq!(before[0].symbol.as_deref(), Some("parse_config"));

    // The buffer renames the function and adds one: searches see the buffer, not the file.
    s.set_overlay(
        "config.py",
        "def load_settings(path):\n    \"\"\"Read the settings file.\"\"\"\n    return open(path).read()\n\n\ndef dump_settings(cfg):\n    return str(cfg)\n",
    )
    .expect("overlay");
    let hits = search(&s, "load_settings", Mode::Lexical);
    assert_eq!(
        (
            hits[0].path.as_str(),
            hits[0].symbol.as_deref(),
            hits[0].start_line
        ),
        ("config.py", Some("load_settings"), 1)
    );
    assert!(
        !has_symbol(&search(&s, "parse_config", Mode::Lexical), "parse_config"),
        "the saved version of config.py must not be searched while it has an overlay"
    );
    // Other files are untouched.
    assert_eq!(
        search(&s, "send_request", Mode::Lexical)[0]
            .symbol
            .as_deref(),
        Some("send_request")
    );
    // An absolute path under the root names the same overlay.
    assert_eq!(s.overlay_paths(), vec!["config.py".to_string()]);
    s.set_overlay(r.root.join("config.py"), "def third_version():\n    pass\n")
        .expect("overlay by absolute path");
    assert_eq!(s.overlay_paths(), vec!["config.py".to_string()]);
    assert!(!has_symbol(
        &search(&s, "load_settings", Mode::Lexical),
        "load_settings"
    ));

    // A new, unsaved file.
    s.set_overlay("src/new_module.rs", "pub fn freshly_typed_function() {}\n")
        .expect("overlay");
    let hits = search(&s, "freshly_typed_function", Mode::Lexical);
    assert_eq!(hits[0].path, "src/new_module.rs");

    // Filters apply to buffers as to files.
    let req = SearchRequest::new("freshly_typed_function")
        .top_k(10)
        .mode(Mode::Lexical);
    let mut only_py = req.clone();
    only_py.languages = vec![cseek::lang::Language::Python];
    assert!(s.search(&only_py).expect("search").hits.is_empty());
    let mut under_src = req.clone();
    under_src.path_glob = Some("src/**".into());
    assert_eq!(s.search(&under_src).expect("search").hits.len(), 1);

    // Outside the root: refused.
    assert!(matches!(
        s.set_overlay("/elsewhere/x.py", "def x(): pass\n"),
        Err(Error::InvalidOption(_))
    ));
    assert!(matches!(
        s.set_overlay("../x.py", "def x(): pass\n"),
        Err(Error::InvalidOption(_))
    ));

    assert!(s.clear_overlay("config.py").expect("clear"));
    assert!(!s.clear_overlay("config.py").expect("clear again"));
    assert_eq!(
        symbols(&search(&s, "parse_config", Mode::Lexical)),
        symbols(&before)
    );
    s.clear_overlays();
    assert!(s.overlay_paths().is_empty());
    assert!(!has_symbol(
        &search(&s, "freshly_typed_function", Mode::Lexical),
        "freshly_typed_function"
    ));
}

/// A buffer identical to its saved file changes nothing: the same hits, the same scores
/// (BM25 with the index's statistics; vectors the index already has), in every mode.
#[cfg(feature = "embed")]
#[test]
fn an_overlay_equal_to_the_file_gives_identical_results() {
    let r = repo();
    let model_dir = r.root.parent().expect("parent").join("model");
    let model = tiny_model(&model_dir);
    Indexer::new(options(&r, Some(&model)))
        .update(&NoProgress)
        .expect("index");
    let s = Searcher::open(&r.index).expect("open");
    let queries = [
        "parse config",
        "send request retry",
        "close",
        "write_report",
    ];
    let run = |s: &Searcher| {
        let mut out = Vec::new();
        for q in queries {
            for mode in [Mode::Lexical, Mode::Semantic, Mode::Hybrid] {
                for h in search(s, q, mode) {
                    out.push((q, mode, h.path, h.start_line, h.end_line, h.score));
                }
            }
        }
        out
    };
    let plain = run(&s);
    for file in ["config.py", "net.py", "src/lib.rs"] {
        let text = fs::read_to_string(r.root.join(file)).expect("read");
        s.set_overlay(file, text).expect("overlay");
    }
    let overlaid = run(&s);
    assert_eq!(plain.len(), overlaid.len());
    for (a, b) in plain.iter().zip(&overlaid) {
        assert_eq!((a.0, a.1, &a.2, a.3, a.4), (b.0, b.1, &b.2, b.3, b.4));
        assert!(
            (a.5 - b.5).abs() <= 1e-5 * a.5.abs().max(1.0),
            "{a:?} vs {b:?}"
        );
    }
}

#[cfg(feature = "embed")]
#[test]
fn semantic_search_and_related_code_see_buffers() {
    let r = repo();
    let model_dir = r.root.parent().expect("parent").join("model");
    let model = tiny_model(&model_dir);
    Indexer::new(options(&r, Some(&model)))
        .update(&NoProgress)
        .expect("index");
    let s = Searcher::open(&r.index).expect("open");
    let body = "def compute_checksum(data):\n    total = 0\n    for byte in data:\n        total = (total * 31 + byte) % 65521\n    return total\n";
    s.set_overlay("checksum.py", body).expect("overlay");
    // The query is the chunk's own embedded text: its vector is the chunk's, the nearest.
    let hits = search(&s, &format!("compute_checksum\n{body}"), Mode::Semantic);
    assert_eq!(
        (hits[0].path.as_str(), hits[0].symbol.as_deref()),
        ("checksum.py", Some("compute_checksum"))
    );
    assert!(hits[0].score > 0.999, "{}", hits[0].score);

    // Related code from a line of the buffer: never the source chunk itself.
    let related = s
        .related(
            RelatedTo::Line {
                path: "checksum.py",
                line: 3,
            },
            5,
        )
        .expect("related");
    assert!(
        related.source.starts_with("checksum.py:1-5"),
        "{}",
        related.source
    );
    assert!(!related.hits.is_empty());
    assert!(related.hits.iter().all(|h| h.path != "checksum.py"));

    // Related from an indexed file can find the buffer (a copy of a saved function).
    s.set_overlay("copy.py", CONFIG_PY).expect("overlay");
    let related = s
        .related(
            RelatedTo::Line {
                path: "config.py",
                line: 2,
            },
            3,
        )
        .expect("related");
    assert_eq!(
        (
            related.hits[0].path.as_str(),
            related.hits[0].symbol.as_deref()
        ),
        ("copy.py", Some("parse_config"))
    );
    assert!(related.hits[0].score > 0.999);
}

#[test]
fn overlays_survive_a_reload() {
    let r = repo();
    let mut indexer = Indexer::new(options(&r, None));
    indexer.update(&NoProgress).expect("index");
    let mut s = Searcher::open(&r.index).expect("open");
    s.set_overlay("net.py", "def open_tunnel():\n    pass\n")
        .expect("overlay");
    fs::write(r.root.join("extra.py"), "def extra_helper():\n    pass\n").expect("write");
    indexer.update(&NoProgress).expect("update");
    assert!(!s.is_current());
    s.reload().expect("reload");
    assert_eq!(
        search(&s, "extra_helper", Mode::Lexical)[0].path,
        "extra.py"
    );
    assert_eq!(search(&s, "open_tunnel", Mode::Lexical)[0].path, "net.py");
    assert!(!has_symbol(
        &search(&s, "send_request", Mode::Lexical),
        "send_request"
    ));
}

#[test]
fn updating_named_paths_touches_only_them() {
    let r = repo();
    let mut indexer = Indexer::new(options(&r, None));
    indexer.update(&NoProgress).expect("index");

    // Two files change on disk; only one is named.
    fs::write(
        r.root.join("config.py"),
        "def renamed_parser(path):\n    pass\n",
    )
    .expect("write");
    fs::write(
        r.root.join("net.py"),
        "def renamed_sender(url):\n    pass\n",
    )
    .expect("write");
    let summary = indexer
        .update_paths(&["config.py"], &NoProgress)
        .expect("update one");
    assert_eq!(summary.kind, RunKind::Incremental);
    assert_eq!((summary.files_changed, summary.files_removed), (1, 0));
    assert_eq!(summary.files, 3);
    let s = Searcher::open(&r.index).expect("open");
    assert_eq!(
        search(&s, "renamed_parser", Mode::Lexical)[0].path,
        "config.py"
    );
    assert!(
        !has_symbol(
            &search(&s, "renamed_sender", Mode::Lexical),
            "renamed_sender"
        ),
        "net.py was not named, so its new content is not indexed yet"
    );
    assert_eq!(search(&s, "send_request", Mode::Lexical)[0].path, "net.py");

    // A deleted file, named by absolute path, is removed; a new one is added.
    fs::remove_file(r.root.join("config.py")).expect("rm");
    fs::write(r.root.join("src/extra.rs"), "pub fn brand_new_thing() {}\n").expect("write");
    let summary = indexer
        .update_paths(
            &[r.root.join("config.py"), PathBuf::from("src/extra.rs")],
            &NoProgress,
        )
        .expect("update two");
    assert_eq!((summary.files_changed, summary.files_removed), (1, 1));
    let s = Searcher::open(&r.index).expect("open");
    assert!(!has_symbol(
        &search(&s, "renamed_parser", Mode::Lexical),
        "renamed_parser"
    ));
    assert_eq!(
        search(&s, "brand_new_thing", Mode::Lexical)[0].path,
        "src/extra.rs"
    );

    // The walk's rules hold for named paths: an ignored file is not added, and a file
    // that becomes ignored is removed.
    fs::write(r.root.join(".gitignore"), "secret.py\nsrc/extra.rs\n").expect("write");
    fs::write(r.root.join("secret.py"), "def hidden_secret():\n    pass\n").expect("write");
    let summary = indexer
        .update_paths(&["secret.py", "src/extra.rs"], &NoProgress)
        .expect("update ignored");
    assert_eq!((summary.files_changed, summary.files_removed), (0, 1));
    let s = Searcher::open(&r.index).expect("open");
    assert!(!has_symbol(
        &search(&s, "hidden_secret", Mode::Lexical),
        "hidden_secret"
    ));
    assert!(!has_symbol(
        &search(&s, "brand_new_thing", Mode::Lexical),
        "brand_new_thing"
    ));

    // A directory is updated whole; nothing to do commits nothing.
    fs::remove_file(r.root.join(".gitignore")).expect("rm");
    let summary = indexer
        .update_paths(&["src"], &NoProgress)
        .expect("update dir");
    assert_eq!((summary.files_changed, summary.files_removed), (1, 0));
    let summary = indexer.update_paths(&["src"], &NoProgress).expect("again");
    assert_eq!(summary.kind, RunKind::Unchanged);

    // Paths outside the root are refused before anything is done.
    for bad in ["../elsewhere.py", "/tmp"] {
        assert!(matches!(
            indexer.update_paths(&[bad], &NoProgress),
            Err(Error::InvalidOption(_))
        ));
    }

    // The full update afterwards picks up what the named runs left alone (net.py).
    let summary = indexer.update(&NoProgress).expect("full");
    assert_eq!(
        summary.files_changed, 2,
        "net.py, and secret.py now that it is not ignored"
    );
    let s = Searcher::open(&r.index).expect("open");
    assert_eq!(
        search(&s, "renamed_sender", Mode::Lexical)[0].path,
        "net.py"
    );
}
