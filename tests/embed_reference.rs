//! Numerical parity with an independent implementation for the architectures whose real
//! weights cannot be fetched here.
//!
//! `tests/fixtures/embed/<model>/` holds a tiny random replica (config.json, tokenizer.json,
//! model.safetensors), `inputs.json` (texts, the token ids cseek feeds, pooling recipe)
//! and `expected.json`, computed from the same safetensors by the numpy implementation in
//! `tests/reference/embed_reference.py` (float64, one text at a time, no padding).
//! cseek must match it within 1e-4 per component.
//!
//! Regenerate (only when the replicas change):
//! ```sh
//! cargo test --test embed_reference -- --ignored regenerate_fixtures
//! python3 tests/reference/embed_reference.py $(ls -d tests/fixtures/embed/*/ | grep -v -- -bin/)
//! mkdir -p tests/fixtures/embed/codesage-small-bin
//! cp tests/fixtures/embed/codesage-small/{config,tokenizer}.json tests/fixtures/embed/codesage-small-bin/
//! python3 tests/reference/write_pytorch_bin.py tests/fixtures/embed/codesage-small/model.safetensors \
//!     tests/fixtures/embed/codesage-small-bin/pytorch_model.bin
//! ```

// Needs the embedding engine: a lexical-only build (`--no-default-features`) skips it.
#![cfg(feature = "embed")]

use std::path::{Path, PathBuf};

use cseek::embed::testkit::{write_tiny_model, TinySize};
use cseek::embed::{registry, Arch, DeviceRequest, EmbedOptions, Embedder};
use serde_json::{json, Value};

/// (registry name, architecture, size, key prefix, Matryoshka dim to check)
fn fixtures() -> Vec<(&'static str, Arch, TinySize, &'static str, Option<usize>)> {
    let t = TinySize::tiny();
    vec![
        ("minilm", Arch::Bert, t, "", None),
        ("bge-small", Arch::Bert, t, "bert.", None),
        ("codebert", Arch::Roberta, t, "roberta.", None),
        ("unixcoder", Arch::Roberta, t, "", None),
        (
            "nomic-embed-text",
            Arch::NomicBert,
            TinySize {
                hidden: 128,
                intermediate: 128,
                ..t
            },
            "",
            Some(64),
        ),
        ("coderankembed", Arch::NomicBert, t, "", None),
        ("jina-code", Arch::JinaBert, t, "", None),
        ("codet5p-110m", Arch::T5Encoder, t, "", None),
        ("codesage-small", Arch::CodeSage, t, "", None),
    ]
}

const TEXTS: &[&str] = &[
    "sort a list",
    "def sort ( xs ) : return sorted ( xs )",
    "how do i parse the config file in python and return the result if the file is open else print error \
     string for the main search query with a new vec map",
    "fn main ( ) { let mut x = vec . new ( ) ; }",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/embed")
}

fn load(name: &str, dir: &Path, matryoshka: Option<usize>) -> Embedder {
    let o = EmbedOptions {
        device: DeviceRequest::Cpu,
        model_dir: Some(dir.to_path_buf()),
        matryoshka_dim: matryoshka,
        ..Default::default()
    };
    Embedder::load(name, &o).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
#[ignore = "writes fixtures; run by hand, then run the numpy reference"]
fn regenerate_fixtures() {
    for (name, arch, size, prefix, matryoshka) in fixtures() {
        let dir = root().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        write_tiny_model(&dir, arch, size, prefix).unwrap();
        let e = load(name, &dir, None);
        let ids = e.tokenize(TEXTS).unwrap();
        let entry = registry::lookup(name).unwrap();
        let inputs = json!({
            "model": name,
            "arch": arch.as_str(),
            "key_prefix": prefix,
            "pooling": e.info().pooling,
            "normalize": e.info().normalize,
            "matryoshka": matryoshka.map(|d| json!({"dim": d, "layer_norm": entry.matryoshka_layer_norm})),
            "texts": TEXTS,
            "ids": ids,
        });
        std::fs::write(
            dir.join("inputs.json"),
            serde_json::to_string_pretty(&inputs).unwrap(),
        )
        .unwrap();
        eprintln!("wrote {}", dir.display());
    }
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

fn as_matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn fixtures_match_numpy_reference() {
    for (name, _arch, _size, _prefix, matryoshka) in fixtures() {
        let dir = root().join(name);
        let inputs = read_json(&dir.join("inputs.json"));
        let expected = read_json(&dir.join("expected.json"));
        let e = load(name, &dir, None);

        // Tokenisation is what the reference was fed.
        let ids = e.tokenize(TEXTS).unwrap();
        let want_ids: Vec<Vec<u32>> = serde_json::from_value(inputs["ids"].clone()).unwrap();
        assert_eq!(ids, want_ids, "{name}: token ids changed");

        // Batched and padded here; one by one, unpadded in the reference.
        let got = e.embed_with_prefix(TEXTS, "").unwrap();
        let want = as_matrix(&expected["embeddings"]);
        compare(name, &got, &want);

        if let Some(d) = matryoshka {
            let m = load(name, &dir, Some(d));
            let got = m.embed_with_prefix(TEXTS, "").unwrap();
            compare(
                &format!("{name}@{d}"),
                &got,
                &as_matrix(&expected["matryoshka_embeddings"]),
            );
        }
    }
}

fn compare(name: &str, got: &[Vec<f32>], want: &[Vec<f64>]) {
    assert_eq!(got.len(), want.len(), "{name}: count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "{name}: text {i} dims");
        let d = g
            .iter()
            .zip(w)
            .map(|(a, b)| (*a as f64 - b).abs())
            .fold(0.0, f64::max);
        eprintln!("{name}: text {i}: max |Δ| vs numpy = {d:.2e}");
        assert!(
            d < 1e-4,
            "{name}: text {i} differs from the numpy reference by {d}"
        );
    }
}

/// CodeSage (like CodeBERT and CodeT5+) ships only `pytorch_model.bin`: the same replica
/// converted by `tests/reference/write_pytorch_bin.py` (torch.save's zip layout) must give
/// the numpy reference's vectors.
#[test]
fn pytorch_bin_checkpoint_matches_reference() {
    let dir = root().join("codesage-small-bin");
    assert!(dir.join("pytorch_model.bin").is_file() && !dir.join("model.safetensors").exists());
    let e = load("codesage-small", &dir, None);
    let got = e.embed_with_prefix(TEXTS, "").unwrap();
    let expected = read_json(&root().join("codesage-small/expected.json"));
    compare(
        "codesage-small (.bin)",
        &got,
        &as_matrix(&expected["embeddings"]),
    );
}
