//! Several indexes searched as one: `cseek query --index A --index B`, a workspace file,
//! and `MultiSearcher` in the library (how lists merge when scores are and are not
//! comparable).

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

#[cfg(feature = "embed")]
use cseek::embed::testkit::{write_tiny_model, TinySize};
#[cfg(feature = "embed")]
use cseek::embed::Arch;
#[cfg(feature = "embed")]
use cseek::index::{build_index, IndexOptions, ModelChoice, NoProgress};
#[cfg(feature = "embed")]
use cseek::search::{Merge, Mode, MultiSearcher, SearchOptions, SearchRequest};

const BIN: &str = env!("CARGO_BIN_EXE_cseek");

fn cseek(cwd: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_remove("CSEEK_INDEX")
        .env("NO_COLOR", "1")
        .output()
        .expect("run cseek")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "cseek failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Two repositories: a storage service in Python, an HTTP client in Rust.
fn two_repos(base: &Path) {
    let a = base.join("storage");
    let b = base.join("client");
    fs::create_dir_all(a.join("store")).expect("mkdir");
    fs::create_dir_all(b.join("src")).expect("mkdir");
    fs::write(
        a.join("store/blobs.py"),
        "def save_blob(bucket, key, data):\n    \"\"\"Save a blob under a key.\"\"\"\n    bucket[key] = data\n\n\ndef load_blob(bucket, key):\n    return bucket[key]\n",
    )
    .expect("write");
    fs::write(
        b.join("src/http.rs"),
        "/// Send a request, retrying on timeouts.\npub fn send_with_retry(url: &str, retries: u32) -> bool {\n    retries > 0 && !url.is_empty()\n}\n\n/// Save the response body to a blob.\npub fn save_blob_response(body: &[u8]) -> usize {\n    body.len()\n}\n",
    )
    .expect("write");
}

#[test]
fn query_over_several_indexes_and_a_workspace_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path();
    two_repos(base);
    for repo in ["storage", "client"] {
        ok(&cseek(base, &["index", repo, "--model", "none", "-q"]));
    }

    // Roots (holding .cseek/) or index directories, mixed.
    let out = ok(&cseek(
        base,
        &[
            "query",
            "save blob",
            "--index",
            "storage",
            "--index",
            "client/.cseek",
            "--json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["merge"], "score", "{v}");
    let results = v["results"].as_array().expect("results");
    let roots: Vec<&str> = results
        .iter()
        .map(|r| r["root"].as_str().expect("root"))
        .collect();
    assert!(roots.iter().any(|r| r.ends_with("/storage")), "{roots:?}");
    assert!(roots.iter().any(|r| r.ends_with("/client")), "{roots:?}");
    let symbols: Vec<&str> = results
        .iter()
        .filter_map(|r| r["symbol"].as_str())
        .collect();
    assert!(symbols.contains(&"save_blob") && symbols.contains(&"save_blob_response"));
    // Scores are non-increasing: one ranking, not two lists glued together.
    let scores: Vec<f64> = results
        .iter()
        .map(|r| r["score"].as_f64().expect("score"))
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // A workspace file, relative to its own directory; files and vimgrep output are paths
    // an editor opens from the current directory.
    fs::write(
        base.join("cseek-workspace"),
        "# my projects\nstorage\nclient   # the Rust one\n\n",
    )
    .expect("write");
    let files = ok(&cseek(
        base,
        &[
            "query",
            "save blob",
            "--workspace",
            "cseek-workspace",
            "--format",
            "files",
        ],
    ));
    let files: Vec<&str> = files.lines().collect();
    assert!(files.contains(&"storage/store/blobs.py"), "{files:?}");
    assert!(files.contains(&"client/src/http.rs"), "{files:?}");
    let vimgrep = ok(&cseek(
        base,
        &[
            "query",
            "retrying on timeouts",
            "--workspace",
            "cseek-workspace",
            "--format",
            "vimgrep",
            "-k",
            "1",
        ],
    ));
    assert!(vimgrep.starts_with("client/src/http.rs:1:1:"), "{vimgrep}");
    // Filters apply in every index.
    let rust_only = ok(&cseek(
        base,
        &[
            "query",
            "save blob",
            "--workspace",
            "cseek-workspace",
            "--lang",
            "rust",
            "--format",
            "files",
        ],
    ));
    assert_eq!(rust_only.trim(), "client/src/http.rs");

    // What does not make sense with several indexes says so.
    let o = cseek(base, &["status", "--index", "storage", "--index", "client"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("only `cseek query`"));
    let o = cseek(
        base,
        &[
            "query",
            "--related",
            "storage/store/blobs.py:2",
            "--workspace",
            "cseek-workspace",
        ],
    );
    assert!(!o.status.success());
    let o = cseek(base, &["query", "x", "--workspace", "missing-file"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("workspace file"));
    let o = cseek(
        base,
        &["query", "x", "--index", "storage", "--index", "nowhere"],
    );
    assert!(!o.status.success());
}

#[cfg(feature = "embed")]
#[test]
fn lists_merge_by_score_when_comparable_else_by_rank() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path();
    two_repos(base);
    let model = base.join("model");
    let size = TinySize {
        hidden: 32,
        ..TinySize::tiny()
    };
    write_tiny_model(&model, Arch::Bert, size, "").expect("tiny model");
    let index = |repo: &str, with_model: bool| {
        let mut o = IndexOptions::new(base.join(repo));
        o.index_dir = base.join(format!("{repo}-{with_model}"));
        o.model = if with_model {
            ModelChoice::Named(model.to_string_lossy().into_owned())
        } else {
            ModelChoice::Off
        };
        build_index(&o, &NoProgress).expect("index");
        o.index_dir
    };
    let (a_lex, b_lex) = (index("storage", false), index("client", false));
    let (a_vec, b_vec) = (index("storage", true), index("client", true));
    let req = SearchRequest::new("save blob").top_k(10);

    let lexical = MultiSearcher::open(&[a_lex.clone(), b_lex], &SearchOptions::default())
        .expect("open")
        .search(&req)
        .expect("search");
    assert_eq!(lexical.merge, Merge::Score);
    assert_eq!(lexical.modes, vec![Mode::Lexical, Mode::Lexical]);

    let hybrid = MultiSearcher::open(&[a_vec, b_vec.clone()], &SearchOptions::default())
        .expect("open")
        .search(&req)
        .expect("search");
    assert_eq!(hybrid.merge, Merge::Score);
    assert_eq!(hybrid.modes, vec![Mode::Hybrid, Mode::Hybrid]);

    // A lexical-only index and a hybrid one: BM25 and fused scores differ in scale, so the
    // lists interleave by rank: each index's best hit comes before either's second.
    let mixed = MultiSearcher::open(&[a_lex, b_vec], &SearchOptions::default())
        .expect("open")
        .search(&req)
        .expect("search");
    assert_eq!(mixed.merge, Merge::Rank);
    assert_eq!(mixed.modes, vec![Mode::Lexical, Mode::Hybrid]);
    let first_two: Vec<bool> = mixed
        .hits
        .iter()
        .take(2)
        .map(|h| h.root.ends_with("storage"))
        .collect();
    assert_eq!(first_two, vec![true, false], "{:?}", mixed.hits);
    assert!(mixed.hits.len() <= 10);
}

/// Indexes built with one model share one query model; others do not.
#[cfg(feature = "embed")]
#[test]
fn indexes_of_one_model_share_the_query_model() {
    use cseek::search::Searcher;
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path();
    two_repos(base);
    let tiny = |dir: &str, hidden: usize| {
        let path = base.join(dir);
        let size = TinySize {
            hidden,
            ..TinySize::tiny()
        };
        write_tiny_model(&path, Arch::Bert, size, "").expect("tiny model");
        path
    };
    let (m1, m2) = (tiny("m1", 32), tiny("m2", 48));
    let index = |repo: &str, model: Option<&Path>, name: &str| {
        let mut o = IndexOptions::new(base.join(repo));
        o.index_dir = base.join(name);
        o.model = match model {
            Some(m) => ModelChoice::Named(m.to_string_lossy().into_owned()),
            None => ModelChoice::Off,
        };
        build_index(&o, &NoProgress).expect("index");
        Searcher::open(&o.index_dir).expect("open")
    };
    let a = index("storage", Some(&m1), "a");
    let mut b = index("client", Some(&m1), "b");
    let mut c = index("client", Some(&m2), "c");
    let mut d = index("client", None, "d");
    assert!(b.share_query_model(&a));
    assert!(!c.share_query_model(&a), "another model");
    assert!(!d.share_query_model(&a), "no model at all");
    // Shared or not, the answers are the same.
    let alone = index("client", Some(&m1), "b2");
    let req = SearchRequest::new("save blob")
        .top_k(5)
        .mode(Mode::Semantic);
    let shared = b.search(&req).expect("search").hits;
    let own = alone.search(&req).expect("search").hits;
    assert_eq!(shared, own);
}
