//! Every registry model, as a tiny random-weight replica written to a directory in the real
//! checkpoint layout, loaded through the public path (`Embedder::load` with a registry
//! name + `model_dir`, or a plain directory): shapes, normalisation, padding invariance,
//! order, truncation, batching, Matryoshka and half precision.

// Needs the embedding engine: a lexical-only build (`--no-default-features`) skips it.
#![cfg(feature = "embed")]

use std::path::Path;

use cseek::embed::testkit::{write_tiny_model, TinySize};
use cseek::embed::{
    Arch, DeviceRequest, EmbedError, EmbedOptions, Embedder, Pooling, Precision, REGISTRY,
};

const SHORT: &str = "sort a list";
const MEDIUM: &str = "def sort ( xs ) : return sorted ( xs )";
const LONG: &str =
    "how do i parse the config file in python and return the result if the file is open \
                    else print error string for the main search query";

fn opts(dir: &Path) -> EmbedOptions {
    EmbedOptions {
        device: DeviceRequest::Cpu,
        model_dir: Some(dir.to_path_buf()),
        ..Default::default()
    }
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// The checks every architecture must pass; returns the loaded embedder for extra checks.
fn check_model(
    name: &str,
    arch: Arch,
    size: TinySize,
    prefix: &str,
) -> (tempfile::TempDir, Embedder) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    write_tiny_model(&dir, arch, size, prefix).unwrap();
    let e = Embedder::load(name, &opts(&dir)).unwrap_or_else(|err| panic!("{name}: {err}"));
    assert_eq!(e.info().arch, arch);
    let entry = REGISTRY.iter().find(|m| m.name == name).unwrap();
    assert_eq!(e.info().pooling, entry.pooling);

    // Shape and dims.
    let texts = [SHORT, LONG, MEDIUM];
    let batch = e.embed_documents(&texts).unwrap();
    assert_eq!(batch.len(), 3);
    for v in &batch {
        assert_eq!(v.len(), e.dims(), "{name}: wrong dims");
        assert!(v.iter().all(|x| x.is_finite()), "{name}: non-finite output");
        if e.info().normalize {
            assert!((norm(v) - 1.0).abs() < 1e-5, "{name}: norm {}", norm(v));
        }
    }
    // Texts differ → vectors differ (the model is not ignoring its input).
    assert!(
        max_abs(&batch[0], &batch[1]) > 1e-3,
        "{name}: different texts gave the same vector"
    );

    // Padding invariance: alone vs inside a batch of longer texts.
    for (i, t) in texts.iter().enumerate() {
        let alone = e.embed_documents(&[t]).unwrap();
        let d = max_abs(&alone[0], &batch[i]);
        assert!(d < 1e-5, "{name}: text {i} alone vs batched differs by {d}");
    }
    // Output order = input order.
    let rev = e.embed_documents(&[MEDIUM, LONG, SHORT]).unwrap();
    assert!(
        max_abs(&rev[0], &batch[2]) < 1e-5 && max_abs(&rev[2], &batch[0]) < 1e-5,
        "{name}: order"
    );

    // A tiny token budget forces one text per batch: same vectors.
    let small = Embedder::load(
        name,
        &EmbedOptions {
            batch_token_budget: 8,
            ..opts(&dir)
        },
    )
    .unwrap();
    let split = small.embed_documents(&texts).unwrap();
    for (a, b) in split.iter().zip(&batch) {
        assert!(max_abs(a, b) < 1e-5, "{name}: budget-split batches differ");
    }

    // Truncation: an over-long text is cut to the limit, not rejected.
    let limited = Embedder::load(
        name,
        &EmbedOptions {
            max_tokens: Some(12),
            ..opts(&dir)
        },
    )
    .unwrap();
    let huge = LONG.repeat(20);
    let ids = limited.tokenize(&[&huge]).unwrap();
    assert_eq!(ids[0].len(), 12, "{name}: truncation length");
    let v = limited.embed_documents(&[&huge]).unwrap();
    assert_eq!(v[0].len(), e.dims());

    // Half precision: finite and close to f32.
    for dtype in [Precision::F16, Precision::Bf16] {
        let h = Embedder::load(
            name,
            &EmbedOptions {
                dtype: Some(dtype),
                ..opts(&dir)
            },
        )
        .unwrap();
        let hv = h.embed_documents(&texts).unwrap();
        for (a, b) in hv.iter().zip(&batch) {
            assert!(
                a.iter().all(|x| x.is_finite()),
                "{name}: {dtype:?} non-finite"
            );
            let cos: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (norm(a) * norm(b));
            assert!(cos > 0.99, "{name}: {dtype:?} vs f32 cosine {cos}");
        }
    }
    (tmp, e)
}

#[test]
fn minilm_tiny() {
    check_model("minilm", Arch::Bert, TinySize::tiny(), "");
}

#[test]
fn bge_small_tiny_cls_and_query_prefix() {
    let (_tmp, e) = check_model("bge-small", Arch::Bert, TinySize::tiny(), "bert.");
    assert_eq!(e.info().pooling, Pooling::Cls);
    let q = e.embed_queries(&[SHORT]).unwrap();
    let manual = e
        .embed_with_prefix(
            &[SHORT],
            "Represent this sentence for searching relevant passages: ",
        )
        .unwrap();
    assert!(max_abs(&q[0], &manual[0]) < 1e-6);
    let d = e.embed_documents(&[SHORT]).unwrap();
    assert!(max_abs(&q[0], &d[0]) > 1e-3, "query prefix had no effect");
}

#[test]
fn starencoder_tiny() {
    check_model("starencoder", Arch::Bert, TinySize::tiny(), "bert.");
}

#[test]
fn codebert_tiny_roberta_positions() {
    let (tmp, e) = check_model("codebert", Arch::Roberta, TinySize::tiny(), "roberta.");
    // The replica's table has P = 64 + 2 rows; RoBERTa's offset leaves 64 usable positions,
    // below the registry's 512, so the limit is capped by the positions.
    assert_eq!(e.info().max_tokens, 64);
    let long = "a ".repeat(200);
    assert_eq!(e.tokenize(&[&long]).unwrap()[0].len(), 64);
    assert_eq!(e.embed_documents(&[&long]).unwrap()[0].len(), 32);
    drop(tmp);
}

#[test]
fn unixcoder_tiny_encoder_only_framing() {
    let (_tmp, e) = check_model("unixcoder", Arch::Roberta, TinySize::tiny(), "");
    let ids = e.tokenize(&["sort a list"]).unwrap();
    // <s>=0 <encoder-only>=5 </s>=2 … </s>=2 in the replica tokenizer.
    assert_eq!(&ids[0][..3], &[0, 5, 2]);
    assert_eq!(ids[0].last(), Some(&2));
    assert_eq!(ids[0].len(), 3 + 3 + 1);
}

#[test]
fn nomic_embed_text_tiny_matryoshka() {
    // Hidden 128 so that the registry's Matryoshka dim 64 applies to the replica.
    let size = TinySize {
        hidden: 128,
        intermediate: 128,
        ..TinySize::tiny()
    };
    let (tmp, e) = check_model("nomic-embed-text", Arch::NomicBert, size, "");
    let dir = tmp.path().join("nomic-embed-text");
    let full = e.embed_documents(&[MEDIUM]).unwrap();
    let m = Embedder::load(
        "nomic-embed-text",
        &EmbedOptions {
            matryoshka_dim: Some(64),
            ..opts(&dir)
        },
    )
    .unwrap();
    assert_eq!(m.dims(), 64);
    let v = m.embed_documents(&[MEDIUM]).unwrap();
    assert_eq!(v[0].len(), 64);
    assert!((norm(&v[0]) - 1.0).abs() < 1e-5);
    // Nomic's recipe: layer-norm (no affine) over the full vector, truncate, re-normalise.
    let f = &full[0];
    let mean = f.iter().sum::<f32>() / f.len() as f32;
    let var = f.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / f.len() as f32;
    let mut want: Vec<f32> = f
        .iter()
        .take(64)
        .map(|x| (x - mean) / (var + 1e-5).sqrt())
        .collect();
    let n = norm(&want);
    want.iter_mut().for_each(|x| *x /= n);
    assert!(max_abs(&v[0], &want) < 1e-5);
    // Queries carry the task prefix.
    assert_eq!(m.info().query_prefix, "search_query: ");
    assert_eq!(m.info().document_prefix, "search_document: ");
    // A dimension the model does not allow is an error, not a silent truncation.
    let bad = Embedder::load(
        "nomic-embed-text",
        &EmbedOptions {
            matryoshka_dim: Some(100),
            ..opts(&dir)
        },
    );
    assert!(matches!(bad, Err(EmbedError::InvalidOption(_))));
}

#[test]
fn coderankembed_tiny_cls() {
    let (_tmp, e) = check_model("coderankembed", Arch::NomicBert, TinySize::tiny(), "");
    assert_eq!(e.info().pooling, Pooling::Cls);
    assert_eq!(
        e.info().query_prefix,
        "Represent this query for searching relevant code: "
    );
}

#[test]
fn jina_code_tiny_alibi() {
    check_model("jina-code", Arch::JinaBert, TinySize::tiny(), "bert.");
}

#[test]
fn codet5p_tiny_projection() {
    let (_tmp, e) = check_model("codet5p-110m", Arch::T5Encoder, TinySize::tiny(), "");
    // proj maps hidden 32 → 16 in the replica (768 → 256 in the real model).
    assert_eq!(e.dims(), 16);
    assert_eq!(e.info().pooling, Pooling::Cls);
}

#[test]
fn codesage_small_tiny_appends_eos() {
    let (_tmp, e) = check_model(
        "codesage-small",
        Arch::CodeSage,
        TinySize::tiny(),
        "transformer.",
    );
    let ids = e.tokenize(&["sort a list"]).unwrap();
    assert_eq!(ids[0].last(), Some(&0), "<|endoftext|> appended");
    assert_eq!(ids[0].len(), 4);
}

#[test]
fn plain_directory_reads_architecture_from_config() {
    let tmp = tempfile::tempdir().unwrap();
    for (arch, dims) in [
        (Arch::Bert, 32),
        (Arch::Roberta, 32),
        (Arch::NomicBert, 32),
        (Arch::JinaBert, 32),
        (Arch::T5Encoder, 16),
        (Arch::CodeSage, 32),
    ] {
        let dir = tmp.path().join(arch.as_str());
        write_tiny_model(&dir, arch, TinySize::tiny(), "").unwrap();
        let o = EmbedOptions {
            device: DeviceRequest::Cpu,
            ..Default::default()
        };
        let e = Embedder::load(dir.to_str().unwrap(), &o).unwrap();
        assert_eq!(e.info().arch, arch);
        assert_eq!(e.dims(), dims);
        let v = e.embed_documents(&[SHORT]).unwrap();
        assert!((norm(&v[0]) - 1.0).abs() < 1e-5);
        // Local models accept any Matryoshka dim up to the native one (plain truncation).
        let m = Embedder::load(
            dir.to_str().unwrap(),
            &EmbedOptions {
                matryoshka_dim: Some(8),
                ..o.clone()
            },
        )
        .unwrap();
        let mv = m.embed_documents(&[SHORT]).unwrap();
        assert_eq!(mv[0].len(), 8);
        let mut want = v[0][..8].to_vec();
        let n = norm(&want);
        want.iter_mut().for_each(|x| *x /= n);
        assert!(max_abs(&mv[0], &want) < 1e-5);
    }
}

#[test]
fn errors_are_typed_not_panics() {
    let o = EmbedOptions {
        device: DeviceRequest::Cpu,
        allow_download: false,
        ..Default::default()
    };
    // Unknown name.
    assert!(matches!(
        Embedder::load("no-such-model", &o),
        Err(EmbedError::UnknownModel(_))
    ));
    // Registry model absent locally, downloads off: names the three ways.
    std::env::set_var("HF_HOME", tempfile::tempdir().unwrap().path());
    let err = Embedder::load("jina-code", &o).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, EmbedError::ModelNotFound { .. }), "{msg}");
    assert!(
        msg.contains("--model DIR") && msg.contains("HF_HOME") && msg.contains("download"),
        "{msg}"
    );
    // Directory without weights.
    let tmp = tempfile::tempdir().unwrap();
    write_tiny_model(tmp.path(), Arch::Bert, TinySize::tiny(), "").unwrap();
    std::fs::remove_file(tmp.path().join("model.safetensors")).unwrap();
    assert!(matches!(
        Embedder::load(tmp.path().to_str().unwrap(), &o),
        Err(EmbedError::Weights { .. })
    ));
    // Wrong architecture for the registry name.
    let tmp2 = tempfile::tempdir().unwrap();
    write_tiny_model(tmp2.path(), Arch::T5Encoder, TinySize::tiny(), "").unwrap();
    let e = Embedder::load(
        "minilm",
        &EmbedOptions {
            model_dir: Some(tmp2.path().into()),
            ..o.clone()
        },
    );
    assert!(matches!(e, Err(EmbedError::Config { .. })));
    // Broken config.
    std::fs::write(tmp2.path().join("config.json"), "{ not json").unwrap();
    assert!(matches!(
        Embedder::load(tmp2.path().to_str().unwrap(), &o),
        Err(EmbedError::Config { .. })
    ));
    // Missing tensor: a name the loader needs is reported.
    let tmp3 = tempfile::tempdir().unwrap();
    write_tiny_model(tmp3.path(), Arch::Bert, TinySize::tiny(), "").unwrap();
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp3.path().join("config.json")).unwrap())
            .unwrap();
    cfg["num_hidden_layers"] = 3.into();
    std::fs::write(tmp3.path().join("config.json"), cfg.to_string()).unwrap();
    let err = Embedder::load(tmp3.path().to_str().unwrap(), &o).unwrap_err();
    assert!(err.to_string().contains("encoder.layer.2"), "{err}");
    // Explicit GPU on a CPU-only build: an error, not a silent fallback.
    #[cfg(not(feature = "cuda"))]
    {
        let g = Embedder::load(
            tmp3.path().to_str().unwrap(),
            &EmbedOptions {
                device: DeviceRequest::Cuda(0),
                ..o
            },
        );
        assert!(matches!(g, Err(EmbedError::Device(_))));
    }
}

#[test]
fn roberta_models_load_with_vocab_json_and_merges_only() {
    // CodeBERT and UniXcoder publish vocab.json + merges.txt, no tokenizer.json.
    let tmp = tempfile::tempdir().unwrap();
    write_tiny_model(tmp.path(), Arch::Roberta, TinySize::tiny(), "").unwrap();
    let vocab = cseek::embed::testkit::write_roberta_bpe(tmp.path()).unwrap();
    assert!(!tmp.path().join("tokenizer.json").exists());
    let id = |t: &str| vocab[t].as_u64().unwrap() as u32;
    let words = [id("sort"), id("Ġa"), id("Ġlist")];

    let codebert = Embedder::load("codebert", &opts(tmp.path())).unwrap();
    let ids = codebert.tokenize(&["sort a list"]).unwrap();
    assert_eq!(ids[0], [&[0][..], &words, &[2]].concat());

    let unix = Embedder::load("unixcoder", &opts(tmp.path())).unwrap();
    let ids = unix.tokenize(&["sort a list"]).unwrap();
    assert_eq!(ids[0], [&[0, 5, 2][..], &words, &[2]].concat());
    // Special tokens written in the text are recognised as such, not split into bytes.
    let ids = codebert.tokenize(&["sort<mask>"]).unwrap();
    assert_eq!(ids[0], vec![0, id("sort"), 4, 2]);

    let v = unix.embed_documents(&["sort a list", "a list"]).unwrap();
    assert_eq!(v[0].len(), 32);
    assert!((norm(&v[0]) - 1.0).abs() < 1e-5);
}

#[test]
fn a_sentence_transformers_folder_keeps_its_max_seq_length() {
    // A plain folder (no registry entry): the positions allow 64 tokens, but the folder
    // was trained and is served with 16 (sentence_bert_config.json), as MiniLM's 256 of 512.
    let tmp = tempfile::tempdir().unwrap();
    write_tiny_model(tmp.path(), Arch::Bert, TinySize::tiny(), "").unwrap();
    let plain = EmbedOptions {
        device: DeviceRequest::Cpu,
        ..Default::default()
    };
    let dir = tmp.path().to_str().unwrap();
    assert_eq!(Embedder::load(dir, &plain).unwrap().info().max_tokens, 64);
    std::fs::write(
        tmp.path().join("sentence_bert_config.json"),
        r#"{"max_seq_length": 16, "do_lower_case": false}"#,
    )
    .unwrap();
    let e = Embedder::load(dir, &plain).unwrap();
    assert_eq!(e.info().max_tokens, 16);
    let long = "a ".repeat(200);
    assert_eq!(e.tokenize(&[&long]).unwrap()[0].len(), 16);
    // An explicit lower limit still wins.
    let lower = EmbedOptions {
        max_tokens: Some(8),
        ..plain
    };
    assert_eq!(Embedder::load(dir, &lower).unwrap().info().max_tokens, 8);
}
