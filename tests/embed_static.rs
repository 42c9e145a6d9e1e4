//! Static (Model2Vec) embedders: loading the format, known answers, and distillation from
//! a tiny random transformer (`cseek::embed::distill`).
//!
//! Two ignored tests work on real models:
//! `CSEEK_DISTILL_FROM=target/models/all-MiniLM-L6-v2 CSEEK_DISTILL_OUT=target/models/minilm-static-256 \
//!  cargo test --release --test embed_static -- --ignored --nocapture distill_real_model`
//! (optionally with `CSEEK_DISTILL_DIMS=N` and `CSEEK_DISTILL_SIF=A|none`)
//! and `CSEEK_STATIC_MODEL=DIR cargo test --release --test embed_static -- --ignored --nocapture
//! static_query_latency`.

// Needs the embedding engine: a lexical-only build (`--no-default-features`) skips it.
#![cfg(feature = "embed")]

use std::ops::ControlFlow;
use std::path::Path;

use cseek::embed::distill::{distill, DistillOptions};
use cseek::embed::testkit::{write_tiny_model, write_tokenizer, TinySize};
use cseek::embed::{Arch, DeviceRequest, EmbedOptions, Embedder};
use serde_json::{json, Value};

fn opts() -> EmbedOptions {
    EmbedOptions {
        device: DeviceRequest::Cpu,
        allow_download: false,
        ..EmbedOptions::default()
    }
}

/// Writes a safetensors file by hand (header JSON + little-endian data), so the tests
/// control dtypes candle cannot write (I32 mapping, F64 weights) and do not share the
/// loader's parsing code.
fn write_safetensors(path: &Path, tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        let start = data.len();
        data.extend_from_slice(bytes);
        header.insert(
            name.to_string(),
            json!({"dtype": dtype, "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let mut h = serde_json::to_vec(&Value::Object(header)).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut file = (h.len() as u64).to_le_bytes().to_vec();
    file.extend(h);
    file.extend(data);
    std::fs::write(path, file).unwrap();
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The id of `word` in the test tokenizer written to `dir`.
fn id_of(dir: &Path, word: &str) -> usize {
    let tok: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("tokenizer.json")).unwrap())
            .unwrap();
    tok["model"]["vocab"][word].as_u64().unwrap() as usize
}

/// A static model with a 4-dim table where only `read` and `file` have rows; the config
/// is potion-code-16M-v2's (no model_type), so detection by absence is exercised.
fn known_answer_dir(dir: &Path, dtype: &str) -> usize {
    let vocab = write_tokenizer(dir, Arch::Bert).unwrap();
    let mut table = vec![0f32; vocab * 4];
    let (read, file) = (id_of(dir, "read"), id_of(dir, "file"));
    table[read * 4..read * 4 + 4].copy_from_slice(&[1.0, 2.0, 0.0, 0.0]);
    table[file * 4..file * 4 + 4].copy_from_slice(&[3.0, 0.0, 4.0, 0.0]);
    let bytes = match dtype {
        "F32" => f32_bytes(&table),
        "F16" => table
            .iter()
            .flat_map(|&x| half::f16::from_f32(x).to_bits().to_le_bytes())
            .collect(),
        _ => unreachable!(),
    };
    write_safetensors(
        &dir.join("model.safetensors"),
        &[("embeddings", dtype, vec![vocab, 4], bytes)],
    );
    std::fs::write(
        dir.join("config.json"),
        r#"{"normalize": true, "embedding_dtype": "float16"}"#,
    )
    .unwrap();
    vocab
}

fn assert_close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-6, "{a:?} vs {b:?}");
    }
}

#[test]
fn known_answer_mean_of_two_rows() {
    for dtype in ["F32", "F16"] {
        let tmp = tempfile::tempdir().unwrap();
        known_answer_dir(tmp.path(), dtype);
        let e = Embedder::load(tmp.path().to_str().unwrap(), &opts()).unwrap();
        assert_eq!(e.dims(), 4);
        assert_eq!(e.info().arch, Arch::Model2Vec);
        assert!(e.is_static());
        // mean([1,2,0,0], [3,0,4,0]) = [2,1,2,0], norm 3.
        let want = [2.0 / 3.0, 1.0 / 3.0, 2.0 / 3.0, 0.0];
        let q = e.embed_queries(&["read file"]).unwrap();
        assert_close(&q[0], &want);
        // Documents and queries are the same for a prefix-less model; case is normalised
        // by the tokenizer; unknown words are dropped, not averaged in as a zero row.
        let d = e
            .embed_documents(&["READ file", "read zzzunknown file", "read"])
            .unwrap();
        assert_close(&d[0], &want);
        assert_close(&d[1], &want);
        let n5 = 5f32.sqrt();
        assert_close(&d[2], &[1.0 / n5, 2.0 / n5, 0.0, 0.0]);
        // No special tokens are added: [CLS]/[SEP] would be ids 2 and 3.
        assert_eq!(
            e.tokenize(&["read file"]).unwrap()[0],
            vec![
                id_of(tmp.path(), "read") as u32,
                id_of(tmp.path(), "file") as u32
            ]
        );
        // Nothing known: the zero vector, finite.
        let z = e.embed_queries(&["zzzunknown", ""]).unwrap();
        assert!(z
            .iter()
            .all(|v| v.len() == 4 && v.iter().all(|x| *x == 0.0)));
    }
}

#[test]
fn weights_and_mapping_are_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let vocab = write_tokenizer(dir, Arch::Bert).unwrap();
    let (read, file) = (id_of(dir, "read"), id_of(dir, "file"));
    // Three rows; `read` → row 0, `file` → row 1, everything else → row 2.
    let mut mapping = vec![2i32; vocab];
    mapping[read] = 0;
    mapping[file] = 1;
    let mut weights = vec![1f64; vocab];
    weights[read] = 2.0;
    write_safetensors(
        &dir.join("model.safetensors"),
        &[
            (
                "embeddings",
                "F32",
                vec![3, 2],
                f32_bytes(&[1.0, 0.0, 0.0, 1.0, 5.0, 5.0]),
            ),
            (
                "mapping",
                "I32",
                vec![vocab],
                mapping.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            (
                "weights",
                "F64",
                vec![vocab],
                weights.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
        ],
    );
    std::fs::write(
        dir.join("config.json"),
        r#"{"model_type": "model2vec", "architectures": ["StaticModel"], "normalize": true}"#,
    )
    .unwrap();
    let e = Embedder::load(dir.to_str().unwrap(), &opts()).unwrap();
    assert_eq!(e.dims(), 2);
    // (2·[1,0] + 1·[0,1]) / 2 = [1, 0.5] → [2,1]/√5.
    let v = e.embed_queries(&["read file"]).unwrap();
    let n5 = 5f32.sqrt();
    assert_close(&v[0], &[2.0 / n5, 1.0 / n5]);
}

#[test]
fn bad_files_give_typed_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let vocab = known_answer_dir(dir, "F32");
    // Mapping to a row that does not exist.
    write_safetensors(
        &dir.join("model.safetensors"),
        &[
            ("embeddings", "F32", vec![1, 2], f32_bytes(&[1.0, 0.0])),
            (
                "mapping",
                "I32",
                vec![vocab],
                vec![7i32; vocab]
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .collect(),
            ),
        ],
    );
    let err = Embedder::load(dir.to_str().unwrap(), &opts()).unwrap_err();
    assert!(err.to_string().contains("mapping"), "{err}");
    // No embedding tensor at all.
    write_safetensors(
        &dir.join("model.safetensors"),
        &[("other", "F32", vec![1, 2], f32_bytes(&[1.0, 0.0]))],
    );
    let err = Embedder::load(dir.to_str().unwrap(), &opts()).unwrap_err();
    assert!(err.to_string().contains("no embedding tensor"), "{err}");
    // Truncated file.
    std::fs::write(dir.join("model.safetensors"), [1u8, 2, 3]).unwrap();
    assert!(Embedder::load(dir.to_str().unwrap(), &opts()).is_err());
}

#[test]
fn registry_names_load_from_a_local_dir_and_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    write_tiny_model(tmp.path(), Arch::Model2Vec, TinySize::tiny(), "").unwrap();
    let o = EmbedOptions {
        model_dir: Some(tmp.path().to_path_buf()),
        ..opts()
    };
    let e = Embedder::load("potion-code", &o).unwrap();
    assert_eq!(e.info().name, "potion-code");
    assert_eq!(
        e.info().hf_id.as_deref(),
        Some("minishlab/potion-code-16M-v2")
    );
    assert_eq!(e.dims(), 32);
    assert_eq!(e.info().max_tokens, 512);
    let v = e.embed_documents(&["fn main", "def sort"]).unwrap();
    for x in &v {
        let n: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((n - 1.0).abs() < 1e-5);
    }
    // A transformer name pointed at a static directory is refused.
    let err = Embedder::load("minilm", &o).unwrap_err();
    assert!(err.to_string().contains("Model2Vec"), "{err}");
    // PCA-ordered columns allow truncation.
    let o8 = EmbedOptions {
        matryoshka_dim: Some(8),
        ..o.clone()
    };
    assert_eq!(Embedder::load("potion-base-8m", &o8).unwrap().dims(), 8);
}

fn distill_opts(dims: usize) -> DistillOptions {
    DistillOptions {
        dims,
        embed: opts(),
        chunk: 16,
        ..DistillOptions::default()
    }
}

#[test]
fn distil_a_tiny_transformer_and_load_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let teacher = tmp.path().join("teacher");
    write_tiny_model(&teacher, Arch::Bert, TinySize::tiny(), "").unwrap();
    // Fixed padding and truncation in tokenizer.json, as all-MiniLM-L6-v2 ships them:
    // distillation must see through both.
    let tj = teacher.join("tokenizer.json");
    let mut tok: Value = serde_json::from_str(&std::fs::read_to_string(&tj).unwrap()).unwrap();
    tok["padding"] = json!({"strategy": {"Fixed": 16}, "direction": "Right",
        "pad_to_multiple_of": null, "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"});
    tok["truncation"] =
        json!({"max_length": 8, "strategy": "LongestFirst", "stride": 0, "direction": "Right"});
    std::fs::write(&tj, tok.to_string()).unwrap();
    let out = tmp.path().join("static");
    let mut calls = Vec::new();
    let s = distill(
        teacher.to_str().unwrap(),
        &out,
        &distill_opts(8),
        &mut |d, t| calls.push((d, t)),
    )
    .unwrap();
    let vocab = id_of(&teacher, "searching") + 1;
    assert_eq!(
        (s.vocab, s.embedded, s.dims, s.teacher_dims),
        (vocab, vocab, 8, 32)
    );
    assert_eq!(s.framing, (vec![2], vec![3]), "[CLS] t [SEP]");
    assert!(s.explained_variance > 0.0 && s.explained_variance <= 1.0 + 1e-9);
    assert_eq!(calls.first(), Some(&(0, vocab)));
    assert_eq!(calls.last(), Some(&(vocab, vocab)));
    assert!(calls.windows(2).all(|w| w[0].0 < w[1].0));

    // The Model2Vec layout, with the keys other tools read.
    let cfg: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["model_type"], "model2vec");
    assert_eq!(cfg["architectures"], json!(["StaticModel"]));
    assert_eq!(cfg["hidden_dim"], 8);
    assert_eq!(cfg["apply_pca"], 8);
    assert_eq!(cfg["apply_zipf"], true);
    assert_eq!(cfg["normalize"], true);
    assert_eq!(cfg["sif_coefficient"], 1e-4);
    let tok: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("tokenizer.json")).unwrap())
            .unwrap();
    assert!(
        tok["post_processor"].is_null(),
        "saved without post-processor"
    );
    let st =
        candle_core::safetensors::load(out.join("model.safetensors"), &candle_core::Device::Cpu)
            .unwrap();
    assert_eq!(st["embeddings"].dims(), &[vocab, 8]);
    assert!(
        !out.join(".distill-partial.f32").exists(),
        "checkpoint removed"
    );

    // Loads back as an embedder with the requested dims, unit vectors, distinct texts.
    let e = Embedder::load(out.to_str().unwrap(), &opts()).unwrap();
    assert_eq!(e.dims(), 8);
    assert_eq!(e.info().arch, Arch::Model2Vec);
    let v = e
        .embed_queries(&["sort a list", "read the config file"])
        .unwrap();
    for x in &v {
        let n: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((n - 1.0).abs() < 1e-5, "{x:?}");
    }
    let cos: f32 = v[0].iter().zip(&v[1]).map(|(a, b)| a * b).sum();
    assert!(cos < 0.999);

    // A static model cannot be a teacher.
    let err = distill(
        out.to_str().unwrap(),
        &tmp.path().join("x"),
        &distill_opts(4),
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("already a static model"), "{err}");
}

#[test]
fn distillation_resumes_from_its_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let teacher = tmp.path().join("teacher");
    write_tiny_model(&teacher, Arch::Bert, TinySize::tiny(), "").unwrap();
    let spec = teacher.to_str().unwrap();
    let fresh = tmp.path().join("fresh");
    distill(spec, &fresh, &distill_opts(8), &mut |_, _| {}).unwrap();

    // Interrupt a run after two chunks (the callback panics, as a kill would stop it).
    let out = tmp.path().join("resumed");
    let o = distill_opts(8);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        distill(spec, &out, &o, &mut |done, _| {
            if done >= 32 {
                panic!("interrupted");
            }
        })
    }));
    assert!(r.is_err());
    assert!(out.join(".distill-partial.f32").exists());
    let s = distill(spec, &out, &o, &mut |_, _| {}).unwrap();
    assert_eq!(s.resumed, 32);

    let load = |d: &Path| {
        candle_core::safetensors::load(d.join("model.safetensors"), &candle_core::Device::Cpu)
            .unwrap()["embeddings"]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
    };
    let (a, b) = (load(&fresh), load(&out));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-4, "{x} vs {y}");
    }
}

/// Distils a real model (see the file header); prints the summary and the wall time.
#[test]
#[ignore]
fn distill_real_model() {
    let (Ok(from), Ok(out)) = (
        std::env::var("CSEEK_DISTILL_FROM"),
        std::env::var("CSEEK_DISTILL_OUT"),
    ) else {
        eprintln!("set CSEEK_DISTILL_FROM and CSEEK_DISTILL_OUT");
        return;
    };
    // Optional: CSEEK_DISTILL_DIMS (default 256), CSEEK_DISTILL_SIF (default 1e-4; `none`
    // turns the Zipf weighting off).
    let dims = std::env::var("CSEEK_DISTILL_DIMS")
        .ok()
        .map(|d| d.parse().expect("CSEEK_DISTILL_DIMS: an integer"))
        .unwrap_or(256);
    let sif = match std::env::var("CSEEK_DISTILL_SIF").ok().as_deref() {
        None => Some(1e-4),
        Some("none") => None,
        Some(a) => Some(a.parse().expect("CSEEK_DISTILL_SIF: a number or `none`")),
    };
    let o = DistillOptions {
        dims,
        sif_coefficient: sif,
        embed: EmbedOptions {
            device: DeviceRequest::Auto,
            ..opts()
        },
        ..DistillOptions::default()
    };
    let t = std::time::Instant::now();
    let mut last = 0;
    let s = distill(&from, Path::new(&out), &o, &mut |d, n| {
        if d >= last + 5000 || d == n {
            eprintln!("  {d}/{n} tokens, {:.1}s", t.elapsed().as_secs_f64());
            last = d;
        }
    })
    .unwrap();
    eprintln!(
        "{}\nwall time: {:.1}s",
        serde_json::to_string_pretty(&s).unwrap(),
        t.elapsed().as_secs_f64()
    );
}

/// Query embedding latency of a static model (microseconds expected).
#[test]
#[ignore]
fn static_query_latency() {
    let Ok(dir) = std::env::var("CSEEK_STATIC_MODEL") else {
        eprintln!("set CSEEK_STATIC_MODEL");
        return;
    };
    let e = Embedder::load(&dir, &opts()).unwrap();
    let queries = [
        "read a file",
        "parse command line arguments",
        "how do I sort a list in python",
        "open a tcp connection with a timeout and retry on failure",
    ];
    for q in queries {
        e.embed_queries(&[q]).unwrap();
    }
    let n = 20_000;
    let t = std::time::Instant::now();
    for i in 0..n {
        std::hint::black_box(e.embed_queries(&[queries[i % queries.len()]]).unwrap());
    }
    let per = t.elapsed().as_secs_f64() / n as f64 * 1e6;
    eprintln!(
        "static query embedding: {per:.1} µs/query ({} dims)",
        e.dims()
    );
}

/// A tiny BERT teacher in `root/teacher`, a table distilled from it at 8 of its 32 dims in
/// `root/static`, and `n` texts of 3 to 8 vocabulary words in a fixed pseudo-random order.
fn training_setup(root: &Path, n: usize) -> (std::path::PathBuf, std::path::PathBuf, Vec<String>) {
    use cseek::embed::testkit::WORDS;
    let teacher_dir = root.join("teacher");
    write_tiny_model(&teacher_dir, Arch::Bert, TinySize::tiny(), "").unwrap();
    let out = root.join("static");
    // Fewer dimensions than the teacher's 32: the trained map must bring them back.
    distill(
        teacher_dir.to_str().unwrap(),
        &out,
        &distill_opts(8),
        &mut |_, _| {},
    )
    .unwrap();
    let words: Vec<&str> = WORDS.iter().copied().filter(|w| w.len() > 1).collect();
    let mut seed = 7u64;
    let texts: Vec<String> = (0..n)
        .map(|i| {
            (0..3 + i % 6)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    words[(seed >> 33) as usize % words.len()]
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    (teacher_dir, out, texts)
}

#[test]
fn train_a_distilled_table_towards_its_teacher() {
    use cseek::embed::train::{train_static, TrainOptions, TrainProgress};
    let tmp = tempfile::tempdir().unwrap();
    let (teacher_dir, out, texts) = training_setup(tmp.path(), 120);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let teacher = Embedder::load(teacher_dir.to_str().unwrap(), &opts()).unwrap();
    let mut seen = Vec::new();
    let s = train_static(
        &out,
        &teacher,
        &refs,
        &TrainOptions {
            learning_rate: 1e-2,
            batch: 16,
            ..TrainOptions::default()
        },
        &mut |p| {
            seen.push(p);
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    assert_eq!((s.texts, s.held_back, s.dims), (120, 12, 32));
    // The teacher's pass is reported from 0 to all texts, then every epoch in turn.
    let teacher_done: Vec<(usize, usize)> = seen
        .iter()
        .filter_map(|p| match *p {
            TrainProgress::Teacher { done, total } => Some((done, total)),
            TrainProgress::Epoch { .. } => None,
        })
        .collect();
    assert_eq!(teacher_done, [(0, 120), (120, 120)], "{seen:?}");
    let epochs: Vec<usize> = seen
        .iter()
        .filter_map(|p| match *p {
            TrainProgress::Epoch { epoch, .. } => Some(epoch),
            TrainProgress::Teacher { .. } => None,
        })
        .collect();
    assert!(
        s.epochs >= 1 && epochs == (1..=s.epochs).collect::<Vec<_>>(),
        "{s:?} {seen:?}"
    );
    assert!(
        s.final_loss < s.initial_loss * 0.9,
        "held-back loss must fall: {s:?}"
    );
    // The written table loads as a static model in the teacher's dimension, in the
    // teacher's space.
    assert!(!out.join("model.safetensors.training").exists());
    assert!(!out.join("config.json.training").exists());
    let trained = Embedder::load(out.to_str().unwrap(), &opts()).unwrap();
    assert!(trained.is_static());
    assert_eq!(trained.dims(), 32);
    let probe = ["sort the list", "return a list"];
    let want = teacher.embed_documents(&probe).unwrap();
    let got = trained.embed_documents(&probe).unwrap();
    for (w, g) in want.iter().zip(&got) {
        let dot: f32 = w.iter().zip(g).map(|(a, b)| a * b).sum();
        let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(dot / (n(w) * n(g)) > 0.0, "cosine with the teacher {}", dot);
    }
    // A table that is not a plain distilled one, or too few texts, is an error.
    let err = train_static(
        &out,
        &teacher,
        &["sort"],
        &TrainOptions::default(),
        &mut |_| ControlFlow::Continue(()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("at least 2 texts"), "{err}");
    let err = train_static(
        &teacher_dir,
        &teacher,
        &refs,
        &TrainOptions::default(),
        &mut |_| ControlFlow::Continue(()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("static"), "{err}");
}

#[test]
fn cancelled_training_keeps_the_model_and_resumes_the_teacher_pass() {
    use cseek::embed::train::{train_static, TrainOptions, TrainProgress};
    let tmp = tempfile::tempdir().unwrap();
    // More texts than the teacher embeds between two checkpoints (256).
    let (teacher_dir, out, texts) = training_setup(tmp.path(), 300);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let teacher = Embedder::load(teacher_dir.to_str().unwrap(), &opts()).unwrap();
    let train = |progress: &mut dyn FnMut(TrainProgress) -> ControlFlow<()>| {
        train_static(&out, &teacher, &refs, &TrainOptions::default(), progress)
    };
    let stop_after_a_part = |p: TrainProgress| match p {
        TrainProgress::Teacher { done, .. } if done > 0 => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    };
    // Stopped once the first part is embedded: a typed error, the distilled model
    // untouched, the part kept.
    let err = train(&mut |p| stop_after_a_part(p)).unwrap_err();
    assert!(matches!(err, cseek::embed::EmbedError::Cancelled), "{err}");
    assert_eq!(
        Embedder::load(out.to_str().unwrap(), &opts())
            .unwrap()
            .dims(),
        8
    );
    let partial = out.join(".train-partial.f32");
    assert_eq!(std::fs::metadata(&partial).unwrap().len(), 256 * 32 * 4);
    // The next run starts after those 256 texts and finishes.
    let mut first = None;
    let s = train(&mut |p| {
        first.get_or_insert(p);
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(
        first,
        Some(TrainProgress::Teacher {
            done: 256,
            total: 300
        })
    );
    assert_eq!((s.texts, s.dims), (300, 32));
    assert!(!partial.exists() && !out.join(".train-partial.json").exists());
    // A checkpoint left by a run on other texts is not reused.
    let (_, again, _) = training_setup(&tmp.path().join("again"), 0);
    let run = |texts: &[&str], progress: &mut dyn FnMut(TrainProgress) -> ControlFlow<()>| {
        train_static(&again, &teacher, texts, &TrainOptions::default(), progress)
    };
    assert!(run(&refs, &mut |p| stop_after_a_part(p)).is_err());
    let mut first = None;
    assert!(run(&refs[1..], &mut |p| {
        first.get_or_insert(p);
        ControlFlow::Break(())
    })
    .is_err());
    assert_eq!(
        first,
        Some(TrainProgress::Teacher {
            done: 0,
            total: 299
        })
    );
}
