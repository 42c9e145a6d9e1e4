//! Dense vectors in the index: hybrid search with a (tiny, random) embedding model, the
//! lexical-only fallback when no model is available, model mismatch, damaged vectors.

// Needs the embedding engine: a lexical-only build (`--no-default-features`) skips it.
#![cfg(feature = "embed")]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cseek::embed::testkit::{write_tiny_model, TinySize};
use cseek::embed::Arch;

fn cseek(cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cseek"));
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("CSEEK_INDEX")
        .env_remove("CSEEK_MODEL")
        // Never reach out to the hub from tests.
        .env("HF_HUB_OFFLINE", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run cseek")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "bad json ({e}): {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            stderr(o)
        )
    })
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn fixture_repo(root: &Path) {
    write(
        root,
        "src/files.py",
        "def read_file(path):\n    \"\"\"Read a whole file.\"\"\"\n    with open(path) as f:\n        return f.read()\n\n\ndef write_file(path, data):\n    with open(path, 'w') as f:\n        f.write(data)\n",
    );
    write(
        root,
        "src/net.py",
        "class Client:\n    def get(self, url, retries=3):\n        for _ in range(retries):\n            pass\n\n    def post(self, url, body):\n        return body\n",
    );
    write(
        root,
        "src/config.rs",
        "/// Load the configuration.\npub fn parse_config(text: &str) -> Config {\n    Config::default()\n}\n",
    );
}

fn tiny_model(dir: &Path, arch: Arch, hidden: usize) -> PathBuf {
    let size = TinySize {
        hidden,
        ..TinySize::tiny()
    };
    write_tiny_model(dir, arch, size, "").expect("write tiny model");
    dir.to_path_buf()
}

#[test]
fn hybrid_search_with_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    fixture_repo(&repo);
    let model = tiny_model(&dir.path().join("model"), Arch::Bert, 32);
    let m = model.to_str().unwrap();
    let o = cseek(&repo, &["index", ".", "--model", m], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("semantic search on"), "{}", stderr(&o));

    let v = json(&cseek(&repo, &["status", "--json"], &[]));
    assert_eq!(v["meta"]["embedding"]["dims"], 32);
    assert_eq!(v["meta"]["embedding"]["model"], m);

    // Auto mode is hybrid on an index with vectors; every hit reports both ranks' source.
    let o = cseek(&repo, &["query", "read_file", "--json"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["mode"], "hybrid");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results[0]["symbol"], "read_file");
    // Every chunk is in the vector list (the index is tiny), so every hit has a
    // semantic rank; the lexical match also has a lexical rank.
    assert!(results.iter().all(|r| r["ranks"]["semantic"].is_u64()));
    assert_eq!(results[0]["ranks"]["lexical"], 1);

    // Semantic only: ranks come from vectors alone.
    let v = json(&cseek(
        &repo,
        &["query", "anything at all", "--json", "--mode", "semantic"],
        &[],
    ));
    assert_eq!(v["mode"], "semantic");
    let results = v["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(results.iter().all(|r| r["ranks"]["lexical"].is_null()));

    // Filters apply to both retrievers.
    let v = json(&cseek(
        &repo,
        &["query", "config file", "--json", "--lang", "rust"],
        &[],
    ));
    let results = v["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(results.iter().all(|r| r["language"] == "rust"));

    // Lexical mode on a hybrid index works without loading the model.
    let v = json(&cseek(
        &repo,
        &["query", "retries", "--json", "--mode", "lexical"],
        &[],
    ));
    assert_eq!(v["mode"], "lexical");
    assert_eq!(v["results"][0]["path"], "src/net.py");
}

#[test]
fn querying_with_another_model_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    fixture_repo(&repo);
    let a = tiny_model(&dir.path().join("a"), Arch::Bert, 32);
    let b = tiny_model(&dir.path().join("b"), Arch::Bert, 48);
    let o = cseek(&repo, &["index", ".", "--model", a.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cseek(
        &repo,
        &["query", "read", "--model", b.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("built with model") && e.contains(a.to_str().unwrap()),
        "{e}"
    );
}

#[test]
fn no_model_available_falls_back_to_lexical_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    fixture_repo(&repo);
    let empty_cache = dir.path().join("hf");
    fs::create_dir_all(&empty_cache).unwrap();
    // No --model: the default model is looked for, not found (empty cache, offline).
    let o = cseek(&repo, &["index", "."], &[("HF_HOME", &empty_cache)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("warning: semantic search is OFF"), "{e}");
    assert_eq!(
        e.matches("semantic search is OFF").count(),
        1,
        "warned once: {e}"
    );
    let o = cseek(&repo, &["status"], &[]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("semantic   off"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let v = json(&cseek(&repo, &["query", "read_file", "--json"], &[]));
    assert_eq!(v["mode"], "lexical");
    assert_eq!(v["results"][0]["symbol"], "read_file");
    // Asking for semantic search on a lexical index says why it cannot.
    let o = cseek(&repo, &["query", "read", "--mode", "hybrid"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("needs an index with vectors"),
        "{}",
        stderr(&o)
    );

    // A model named explicitly but missing is an error, not a silent fallback.
    let o = cseek(
        &repo,
        &["index", ".", "--model", "minilm"],
        &[("HF_HOME", &empty_cache)],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("three ways"), "{}", stderr(&o));
}

#[test]
fn damaged_vectors_give_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    fixture_repo(&repo);
    let model = tiny_model(&dir.path().join("model"), Arch::Bert, 32);
    let o = cseek(
        &repo,
        &["index", ".", "--model", model.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let idx = repo.join(".cseek");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(idx.join("manifest.json")).unwrap()).unwrap();
    let vectors = idx
        .join(manifest["generation"].as_str().unwrap())
        .join("vectors");
    // Truncate every file of the vector directory.
    for entry in fs::read_dir(&vectors).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            let bytes = fs::read(&p).unwrap();
            fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        }
    }
    let o = cseek(&repo, &["query", "read_file"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("damaged"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
}
