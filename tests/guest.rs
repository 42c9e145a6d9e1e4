//! A library is a guest in its host's process: indexing and searching through the crate
//! leave the environment untouched and print nothing.

// Needs the embedding engine: a lexical-only build (`--no-default-features`) skips it.
#![cfg(feature = "embed")]

use std::fs;
use std::process::Command;

use cseek::embed::testkit::{write_tiny_model, TinySize};
use cseek::embed::Arch;
use cseek::index::{build_index, IndexOptions, ModelChoice, NoProgress};
use cseek::search::{Mode, SearchRequest, Searcher};

/// The work a host does: index (with a model), update, search in every mode, reload.
fn host_work(dir: &std::path::Path) {
    let root = dir.join("repo");
    fs::create_dir_all(&root).unwrap();
    fs::write(
        root.join("a.py"),
        "def read_file(path):\n    return open(path).read()\n",
    )
    .unwrap();
    let model = dir.join("model");
    write_tiny_model(&model, Arch::Bert, TinySize::tiny(), "").unwrap();
    let mut opts = IndexOptions::new(&root);
    opts.model = ModelChoice::Named(model.to_string_lossy().into_owned());
    build_index(&opts, &NoProgress).unwrap();
    let mut s = Searcher::open(&opts.index_dir).unwrap();
    fs::write(root.join("b.py"), "def parse_config():\n    pass\n").unwrap();
    build_index(&opts, &NoProgress).unwrap();
    assert!(!s.is_current());
    s.reload().unwrap();
    for mode in [Mode::Lexical, Mode::Semantic, Mode::Hybrid, Mode::Auto] {
        let r = s
            .search(&SearchRequest::new("parse_config").mode(mode))
            .unwrap();
        assert!(!r.hits.is_empty(), "{mode:?}");
    }
    // A damaged query is an error value, not output.
    assert!(s.search(&SearchRequest::new("  ")).is_err());
}

#[test]
fn the_library_leaves_the_environment_alone() {
    let before: Vec<(String, String)> = std::env::vars().collect();
    let tmp = tempfile::tempdir().unwrap();
    host_work(tmp.path());
    let after: Vec<(String, String)> = std::env::vars().collect();
    assert_eq!(before, after, "the library changed the environment");
}

/// Run by `the_library_prints_nothing` in a child process, whose stderr is the real one.
#[test]
#[ignore = "run as a child by the_library_prints_nothing"]
fn child_host_work() {
    let dir = std::env::var("CSEEK_GUEST_DIR").expect("set by the parent");
    host_work(std::path::Path::new(&dir));
}

#[test]
fn the_library_prints_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    // `--nocapture`: anything the library prints reaches the child's real stdout/stderr
    // instead of the test harness's capture.
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_host_work",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CSEEK_GUEST_DIR", tmp.path())
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "{stdout}");
    assert!(
        stderr.trim().is_empty(),
        "the library wrote to stderr:\n{stderr}"
    );
    // The harness's own lines are all that stdout may hold.
    for line in stdout.lines() {
        let harness = line.is_empty()
            || line.starts_with("running ")
            || line.starts_with("test ")
            || line.starts_with("test result:");
        assert!(harness, "the library wrote to stdout: {line:?}");
    }
}
