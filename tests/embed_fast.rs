//! The CPU fast path (`src/embed/fast/`) against the candle-op reference path, on random replicas of every architecture in the registry (BERT, RoBERTa,
//! NomicBERT with rotary + SwiGLU, JinaBERT with ALiBi + Q/K norms + GeGLU, T5 encoder with
//! relative bias + RMSNorm + pre-norm, CodeSage): raw encoder outputs (every position,
//! pads included) and final vectors must agree within 1e-5, at every kernel level this
//! CPU has — the portable fallback forced explicitly — on batches with padding. The path
//! is chosen the way a library user chooses it: `EmbedOptions::kernels` when loading, and
//! `EncoderInput::kernels` for a raw forward pass.

// Needs the embedding engine: a lexical-only build (`--no-default-features`) skips it.
#![cfg(feature = "embed")]

use std::path::Path;

use candle_core::Tensor;
use cseek::embed::config::RawConfig;
use cseek::embed::testkit::{write_tiny_model, TinySize};
use cseek::embed::{
    load_model, DeviceRequest, EmbedOptions, Embedder, EncoderInput, EncoderModel, Isa, Kernels,
    REGISTRY,
};

const TEXTS: &[&str] = &[
    "sort a list",
    "how do i parse the config file in python and return the result if the file is open else \
     print error string for the main search query with a new vec map",
    "def sort ( xs ) : return sorted ( xs )",
    "fn main ( ) { let mut x = vec . new ( ) ; }",
    "error",
];

/// Every fast level to check: the portable fallback always, then what the CPU has.
fn levels() -> Vec<Kernels> {
    let mut v = vec![Kernels::Fast(Isa::Portable)];
    for isa in [Isa::Avx2, Isa::Avx512] {
        if isa.supported() == isa {
            v.push(Kernels::Fast(isa));
        }
    }
    v
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The encoder's raw `[B, L, H]` output for `TEXTS` as one padded batch, run by `kernels`.
fn raw_forward(model: &dyn EncoderModel, ids: &[Vec<u32>], pad: u32, kernels: Kernels) -> Vec<f32> {
    let seq_len = ids.iter().map(Vec::len).max().unwrap();
    let mut host = Vec::new();
    for r in ids {
        host.extend_from_slice(r);
        host.extend(std::iter::repeat_n(pad, seq_len - r.len()));
    }
    let input = EncoderInput {
        input_ids: Tensor::from_vec(host.clone(), (ids.len(), seq_len), model.device()).unwrap(),
        ids_host: host,
        lengths: ids.iter().map(Vec::len).collect(),
        seq_len,
        kernels,
    };
    model
        .forward(&input)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
}

fn check(name: &str, size: TinySize) {
    let entry = REGISTRY.iter().find(|m| m.name == name).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    write_tiny_model(&dir, entry.arch, size, "").unwrap();
    let opts = |kernels| EmbedOptions {
        device: DeviceRequest::Cpu,
        model_dir: Some(dir.clone()),
        kernels,
        ..Default::default()
    };
    let e = Embedder::load(name, &opts(Kernels::Reference)).unwrap();
    assert_eq!(e.kernels(), Kernels::Reference);
    let ids = e.tokenize(TEXTS).unwrap();
    let lengths: Vec<usize> = ids.iter().map(Vec::len).collect();
    assert!(
        lengths.iter().max() > lengths.iter().min(),
        "{name}: the batch must contain padding"
    );

    let model = load_dir(&dir);
    let want_raw = raw_forward(&*model, &ids, 0, Kernels::Reference);
    let want_vecs = e.embed_documents(TEXTS).unwrap();
    // Raw states are not normalised (T5's pre-norm residual stream grows), so their
    // tolerance is 1e-5 relative to the largest magnitude; final vectors: 1e-5 absolute.
    let scale = want_raw.iter().fold(1.0f32, |m, x| m.max(x.abs()));
    for k in levels() {
        let got_raw = raw_forward(&*model, &ids, 0, k);
        let d = max_abs(&got_raw, &want_raw);
        eprintln!(
            "{name} {}: raw max |Δ| = {d:.2e} (max |x| {scale:.1})",
            k.name()
        );
        assert!(
            d < 1e-5 * scale,
            "{name} {}: raw outputs differ by {d} (scale {scale})",
            k.name()
        );
        let fast = Embedder::load(name, &opts(k)).unwrap();
        assert_eq!(fast.kernels(), k);
        let got = fast.embed_documents(TEXTS).unwrap();
        for (i, (g, w)) in got.iter().zip(&want_vecs).enumerate() {
            let d = max_abs(g, w);
            assert!(d < 1e-5, "{name} {}: text {i} differs by {d}", k.name());
        }
    }
}

fn load_dir(dir: &Path) -> Box<dyn EncoderModel> {
    let cfg = RawConfig::read(dir).unwrap();
    let arch = cfg.arch().unwrap();
    load_model(
        dir,
        &cfg,
        arch,
        candle_core::DType::F32,
        &candle_core::Device::Cpu,
    )
    .unwrap()
}

/// Small but not degenerate: head_dim 16, 3 layers, an intermediate width that is not a
/// multiple of the vector width.
fn small() -> TinySize {
    TinySize {
        hidden: 64,
        layers: 3,
        heads: 4,
        intermediate: 136,
        ..TinySize::tiny()
    }
}

#[test]
fn bert_family_fast_matches_reference() {
    for name in ["minilm", "bge-small", "codebert", "unixcoder"] {
        check(name, TinySize::tiny());
        check(name, small());
    }
}

#[test]
fn nomic_rotary_fast_matches_reference() {
    for name in ["nomic-embed-text", "coderankembed"] {
        check(name, TinySize::tiny());
        check(name, small());
    }
}

#[test]
fn jina_alibi_fast_matches_reference() {
    check("jina-code", TinySize::tiny());
    check("jina-code", small());
}

#[test]
fn t5_and_codesage_fast_match_reference() {
    for name in ["codet5p-110m", "codesage-small"] {
        check(name, TinySize::tiny());
        check(name, small());
    }
}

#[test]
fn every_registry_architecture_is_covered() {
    let covered = [
        "minilm",
        "bge-small",
        "codebert",
        "unixcoder",
        "nomic-embed-text",
        "coderankembed",
        "jina-code",
        "codet5p-110m",
        "codesage-small",
    ];
    // Static (Model2Vec) models are a table lookup: there is no transformer to speed up.
    for e in REGISTRY
        .iter()
        .filter(|e| e.arch != cseek::embed::Arch::Model2Vec)
    {
        let arch_covered = covered.iter().any(|c| {
            REGISTRY
                .iter()
                .find(|m| m.name == *c)
                .is_some_and(|m| m.arch == e.arch)
        });
        assert!(
            arch_covered,
            "{} ({:?}) has no fast-path test",
            e.name, e.arch
        );
    }
}

#[test]
fn forcing_a_level_the_cpu_lacks_falls_back_and_still_matches() {
    // Whatever this CPU has, asking for AVX-512 must run (lowered if needed) and agree.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("minilm");
    let entry = REGISTRY.iter().find(|m| m.name == "minilm").unwrap();
    write_tiny_model(&dir, entry.arch, TinySize::tiny(), "").unwrap();
    let opts = |kernels| EmbedOptions {
        device: DeviceRequest::Cpu,
        model_dir: Some(dir.clone()),
        kernels,
        ..Default::default()
    };
    let mut e = Embedder::load("minilm", &opts(Kernels::Fast(Isa::Avx512))).unwrap();
    assert_eq!(e.kernels(), Kernels::Fast(Isa::Avx512.supported()));
    let fast = e.embed_documents(TEXTS).unwrap();
    // Switching on the loaded model is the same choice as loading with it.
    e.set_kernels(Kernels::Reference);
    assert_eq!(e.kernels(), Kernels::Reference);
    let reference = e.embed_documents(TEXTS).unwrap();
    for (f, r) in fast.iter().zip(&reference) {
        assert!(max_abs(f, r) < 1e-5);
    }
    assert_eq!(
        EmbedOptions::default().kernels,
        Kernels::Fast(Isa::detect())
    );
    assert_eq!(
        Kernels::parse("portable"),
        Some(Kernels::Fast(Isa::Portable))
    );
    assert_eq!(Kernels::parse("reference"), Some(Kernels::Reference));
    assert_eq!(Kernels::parse("bogus"), None);
}
