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
    // Two doc comments are too few to fit fusion weights on: the defaults apply, and
    // status says why.
    assert!(v["meta"]["fusion"].is_null(), "{v}");
    assert_eq!(
        v["meta"]["fusion_note"], "not fitted: 2 documented definitions, at least 20 needed",
        "{v}"
    );
    let o = cseek(&repo, &["status"], &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(
            "fusion     lexical 1.0 : semantic 1.0 (the default; not fitted: 2 documented"
        ),
        "{out}"
    );

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
fn a_static_model_that_cannot_be_fitted_gets_its_prior() {
    // Two doc comments are too few to fit on. A transformer keeps 1 : 1 (above); a
    // static model gets the share the fits choose for static models.
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    fixture_repo(&repo);
    let model = tiny_model(&dir.path().join("model"), Arch::Model2Vec, 32);
    let o = cseek(
        &repo,
        &["index", ".", "--model", model.to_str().unwrap(), "--json"],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = json(&o);
    let fit = &summary["fusion"];
    assert_eq!(fit["prior"], true, "{summary}");
    assert_eq!(
        fit["lexical_share"].as_f64(),
        Some(cseek::fuse::calibrate::STATIC_PRIOR_SHARE),
        "{summary}"
    );
    assert_eq!(fit["pairs"], 2, "{summary}");
    assert_eq!(
        summary["fusion_note"], "not fitted: 2 documented definitions, at least 20 needed",
        "{summary}"
    );
    let o = cseek(&repo, &["status"], &[]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(
            "fusion     lexical 1.4 : semantic 0.6 for questions in words, the static model's \
             prior (not fitted: 2 documented"
        ),
        "{out}"
    );
}

/// A distinct made-up word per number (the analyzer keeps it whole).
fn word(i: usize) -> String {
    let letter = |n: usize| char::from(b'a' + (n % 26) as u8);
    format!("kv{}{}", letter(i / 26), letter(i))
}

#[test]
fn fusion_weights_are_fitted_on_the_repos_own_doc_comments() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    // Documented functions whose code uses the words of their doc sentence, and a few
    // without docs. A random-weight model's vectors know nothing of the words, so the
    // fit must give BM25 all the say it may.
    for i in 0..30 {
        let (a, b) = (word(2 * i), word(2 * i + 1));
        write(
            &repo,
            &format!("src/m{i}.rs"),
            &format!(
                "/// Opens the {a} and flushes every {b} it holds.\npub fn open_{a}() {{\n    \
                 let {a} = {b}_store();\n    {a}.flush_{b}();\n}}\n"
            ),
        );
    }
    for i in 0..10 {
        write(
            &repo,
            &format!("src/h{i}.rs"),
            &format!("pub fn helper_{}() -> u32 {{\n    {i}\n}}\n", word(100 + i)),
        );
    }
    let model = tiny_model(&dir.path().join("model"), Arch::Bert, 32);
    let m = model.to_str().unwrap();
    let o = cseek(&repo, &["index", ".", "--model", m, "--json"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = json(&o);
    assert!(summary["fusion_note"].is_null(), "{summary}");
    let fit = summary["fusion"].clone();
    assert_eq!(fit["pairs"], 30, "{fit}");
    let curve = fit["curve"].as_array().unwrap();
    assert_eq!(curve.len(), 11);
    let (semantic_only, lexical_only) = (
        curve[0][1].as_f64().unwrap(),
        curve[10][1].as_f64().unwrap(),
    );
    assert!(lexical_only > semantic_only + 0.3, "{fit}");
    assert_eq!(fit["lexical_share"].as_f64(), Some(0.7), "{fit}");
    let v = json(&cseek(&repo, &["status", "--json"], &[]));
    assert_eq!(v["meta"]["fusion"], fit);
    let o = cseek(&repo, &["status"], &[]);
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("fusion     lexical 1.4 : semantic 0.6 for questions in words, fitted on 30 doc comments"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // Questions in words run with the fitted weights; symbol lookups keep their own, and
    // weights given by the caller win.
    use cseek::fuse::QueryKind;
    use cseek::search::{SearchOptions, Searcher};
    let index = repo.join(".cseek");
    let s = Searcher::open(&index).unwrap();
    let words = s.fusion_for(QueryKind::NaturalLanguage);
    assert!(
        (words.lexical_weight - 1.4).abs() < 1e-5 && (words.semantic_weight - 0.6).abs() < 1e-5
    );
    let symbol = s.fusion_for(QueryKind::Symbol);
    assert_eq!((symbol.lexical_weight, symbol.semantic_weight), (1.0, 0.0));
    let mut fixed = SearchOptions::default();
    fixed.fusion.fitted_weights = false;
    let s = Searcher::open_with(&index, fixed).unwrap();
    let words = s.fusion_for(QueryKind::NaturalLanguage);
    assert_eq!((words.lexical_weight, words.semantic_weight), (1.0, 1.0));
    drop(s);

    // An incremental update keeps the fit; a rebuild fits again, to the same weights.
    write(
        &repo,
        "src/h0.rs",
        "pub fn helper_changed() -> u32 {\n    7\n}\n",
    );
    let o = cseek(&repo, &["index", ".", "--model", m, "--json"], &[]);
    let v = json(&o);
    assert_eq!(v["kind"], "incremental", "{v}");
    assert_eq!(v["fusion"], fit);
    let v = json(&cseek(
        &repo,
        &["index", ".", "--model", m, "--json", "--rebuild"],
        &[],
    ));
    assert_eq!(v["kind"], "full", "{v}");
    assert_eq!(v["fusion"]["lexical_share"], fit["lexical_share"]);
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
