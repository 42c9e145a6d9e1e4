//! Tiny random-weight replicas of every supported checkpoint, written to a directory in
//! the same layout as the real ones (`config.json`, `tokenizer.json`, `model.safetensors`).
//! Used by tests, fixtures and benchmarks; tensor names and shapes are spelled out here
//! independently of the loaders (from the checkpoint tables in the project's notes), so a
//! loader that asks for a wrong name fails.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use serde_json::{json, Value};

use super::error::{EmbedError, Result};
use super::registry::Arch;

/// Sizes of a replica.
#[derive(Debug, Clone, Copy)]
pub struct TinySize {
    /// Hidden size.
    pub hidden: usize,
    /// Layers.
    pub layers: usize,
    /// Heads.
    pub heads: usize,
    /// Feed-forward size.
    pub intermediate: usize,
    /// Rows of the embedding table (at least the tokenizer's vocabulary).
    pub vocab: usize,
    /// Position-table rows for absolute-position models.
    pub positions: usize,
    /// Standard deviation of random matrices.
    pub std: f32,
}

impl TinySize {
    /// The size used by tests and fixtures: hidden 32, 2 layers, 4 heads.
    pub fn tiny() -> Self {
        Self {
            hidden: 32,
            layers: 2,
            heads: 4,
            intermediate: 64,
            vocab: 0,
            positions: 64,
            std: 0.2,
        }
    }
    /// BERT-base dimensions (for benchmarks).
    pub fn bert_base() -> Self {
        Self {
            hidden: 768,
            layers: 12,
            heads: 12,
            intermediate: 3072,
            vocab: 30522,
            positions: 512,
            std: 0.02,
        }
    }
}

/// Words of the replica tokenizers' vocabularies (lower-case; unknown words map to unk).
pub const WORDS: &[&str] = &[
    "fn",
    "def",
    "return",
    "the",
    "a",
    "sort",
    "list",
    "in",
    "python",
    "how",
    "do",
    "i",
    "x",
    "y",
    "xs",
    "(",
    ")",
    ":",
    "{",
    "}",
    ".",
    ",",
    "=",
    "self",
    "parse",
    "config",
    "file",
    "read",
    "open",
    "error",
    "result",
    "let",
    "mut",
    "for",
    "if",
    "else",
    "while",
    "class",
    "struct",
    "impl",
    "pub",
    "use",
    "import",
    "from",
    "sorted",
    "sorting",
    "weather",
    "is",
    "sunny",
    "today",
    "query",
    "search",
    "code",
    "main",
    "print",
    "string",
    "int",
    "vec",
    "map",
    "new",
    "search_query",
    "search_document",
    "represent",
    "this",
    "for",
    "relevant",
    "passages",
    "sentence",
    "searching",
];

/// Special tokens of each tokenizer style, in id order, and the framing tokens.
fn specials(arch: Arch) -> (Vec<&'static str>, Option<(&'static str, &'static str)>) {
    match arch {
        // A remote model has no local files; a BERT vocabulary is as good as any.
        Arch::Bert | Arch::NomicBert | Arch::Model2Vec | Arch::Remote => (
            vec!["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
            Some(("[CLS]", "[SEP]")),
        ),
        Arch::Roberta | Arch::JinaBert => (
            vec!["<s>", "<pad>", "</s>", "<unk>", "<mask>", "<encoder-only>"],
            Some(("<s>", "</s>")),
        ),
        Arch::T5Encoder => (vec!["<pad>", "<s>", "</s>", "<unk>"], Some(("<s>", "</s>"))),
        Arch::CodeSage => (vec!["<|endoftext|>", "<unk>", "<pad>"], None),
    }
}

/// Writes a WordLevel `tokenizer.json` in the style of `arch`; returns the vocabulary size.
pub fn write_tokenizer(dir: &Path, arch: Arch) -> Result<usize> {
    let (sp, frame) = specials(arch);
    let mut vocab = serde_json::Map::new();
    let mut added = Vec::new();
    for (i, t) in sp.iter().enumerate() {
        vocab.insert((*t).to_string(), json!(i));
        added.push(
            json!({"id": i, "content": t, "single_word": false, "lstrip": false, "rstrip": false,
                          "normalized": false, "special": true}),
        );
    }
    for w in WORDS {
        if !vocab.contains_key(*w) {
            let id = vocab.len();
            vocab.insert((*w).to_string(), json!(id));
        }
    }
    let unk = sp
        .iter()
        .find(|t| t.contains("unk") || t.contains("UNK"))
        .copied()
        .unwrap_or("<unk>");
    let post = match frame {
        Some((cls, sep)) => {
            let tok =
                |t: &str, type_id: u32| json!({"SpecialToken": {"id": t, "type_id": type_id}});
            let seq = |s: &str, type_id: u32| json!({"Sequence": {"id": s, "type_id": type_id}});
            json!({
                "type": "TemplateProcessing",
                "single": [tok(cls, 0), seq("A", 0), tok(sep, 0)],
                "pair": [tok(cls, 0), seq("A", 0), tok(sep, 0), seq("B", 1), tok(sep, 1)],
                "special_tokens": {
                    cls: {"id": cls, "ids": [vocab[cls]], "tokens": [cls]},
                    sep: {"id": sep, "ids": [vocab[sep]], "tokens": [sep]},
                }
            })
        }
        None => Value::Null,
    };
    let n = vocab.len();
    let tok = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": post,
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": unk},
    });
    write_json(&dir.join("tokenizer.json"), &tok)?;
    Ok(n)
}

fn write_json(path: &Path, v: &Value) -> Result<()> {
    let text =
        serde_json::to_string_pretty(v).map_err(|e| EmbedError::InvalidOption(e.to_string()))?;
    std::fs::write(path, text).map_err(|source| EmbedError::Io {
        action: "writing",
        path: path.to_path_buf(),
        source,
    })
}

/// What kind of random values a tensor gets.
#[derive(Clone, Copy)]
enum Kind {
    /// A weight matrix / embedding table.
    Matrix,
    /// A norm scale: 1 + noise.
    Scale,
    /// A bias: small noise.
    Bias,
}

/// The `config.json` and the tensor list (name, shape, kind) of a replica.
fn layout(arch: Arch, s: TinySize) -> (Value, Vec<(String, Vec<usize>, Kind)>) {
    use Kind::*;
    let (h, i, v, p, n) = (s.hidden, s.intermediate, s.vocab, s.positions, s.layers);
    let mut t: Vec<(String, Vec<usize>, Kind)> = Vec::new();
    let mut add = |name: String, shape: Vec<usize>, kind: Kind| t.push((name, shape, kind));
    let ln = |add: &mut dyn FnMut(String, Vec<usize>, Kind), name: &str| {
        add(format!("{name}.weight"), vec![h], Scale);
        add(format!("{name}.bias"), vec![h], Bias);
    };
    let config = match arch {
        Arch::Bert | Arch::Roberta => {
            let roberta = arch == Arch::Roberta;
            let positions = if roberta { p + 2 } else { p };
            let types = if roberta { 1 } else { 2 };
            add(
                "embeddings.word_embeddings.weight".into(),
                vec![v, h],
                Matrix,
            );
            add(
                "embeddings.position_embeddings.weight".into(),
                vec![positions, h],
                Matrix,
            );
            add(
                "embeddings.token_type_embeddings.weight".into(),
                vec![types, h],
                Matrix,
            );
            ln(&mut add, "embeddings.LayerNorm");
            for l in 0..n {
                let q = format!("encoder.layer.{l}");
                for m in ["query", "key", "value"] {
                    add(format!("{q}.attention.self.{m}.weight"), vec![h, h], Matrix);
                    add(format!("{q}.attention.self.{m}.bias"), vec![h], Bias);
                }
                add(
                    format!("{q}.attention.output.dense.weight"),
                    vec![h, h],
                    Matrix,
                );
                add(format!("{q}.attention.output.dense.bias"), vec![h], Bias);
                ln(&mut add, &format!("{q}.attention.output.LayerNorm"));
                add(format!("{q}.intermediate.dense.weight"), vec![i, h], Matrix);
                add(format!("{q}.intermediate.dense.bias"), vec![i], Bias);
                add(format!("{q}.output.dense.weight"), vec![h, i], Matrix);
                add(format!("{q}.output.dense.bias"), vec![h], Bias);
                ln(&mut add, &format!("{q}.output.LayerNorm"));
            }
            add("pooler.dense.weight".into(), vec![h, h], Matrix);
            add("pooler.dense.bias".into(), vec![h], Bias);
            json!({
                "architectures": [if roberta { "RobertaModel" } else { "BertModel" }],
                "model_type": if roberta { "roberta" } else { "bert" },
                "vocab_size": v, "hidden_size": h, "num_hidden_layers": n, "num_attention_heads": s.heads,
                "intermediate_size": i, "hidden_act": "gelu", "max_position_embeddings": positions,
                "type_vocab_size": types, "layer_norm_eps": if roberta { 1e-5 } else { 1e-12 },
                "pad_token_id": if roberta { 1 } else { 0 }, "position_embedding_type": "absolute",
            })
        }
        Arch::NomicBert => {
            add(
                "embeddings.word_embeddings.weight".into(),
                vec![v, h],
                Matrix,
            );
            add(
                "embeddings.token_type_embeddings.weight".into(),
                vec![2, h],
                Matrix,
            );
            ln(&mut add, "emb_ln");
            for l in 0..n {
                let q = format!("encoder.layers.{l}");
                add(format!("{q}.attn.Wqkv.weight"), vec![3 * h, h], Matrix);
                add(format!("{q}.attn.out_proj.weight"), vec![h, h], Matrix);
                add(format!("{q}.mlp.fc11.weight"), vec![i, h], Matrix);
                add(format!("{q}.mlp.fc12.weight"), vec![i, h], Matrix);
                add(format!("{q}.mlp.fc2.weight"), vec![h, i], Matrix);
                ln(&mut add, &format!("{q}.norm1"));
                ln(&mut add, &format!("{q}.norm2"));
            }
            json!({
                "architectures": ["NomicBertModel"], "model_type": "nomic_bert",
                "n_embd": h, "n_layer": n, "n_head": s.heads, "n_inner": i, "activation_function": "swiglu",
                "n_positions": 8192, "max_trained_positions": 2048, "rotary_emb_base": 1000,
                "rotary_emb_fraction": 1.0, "rotary_emb_interleaved": false, "rotary_scaling_factor": null,
                "prenorm": false, "qkv_proj_bias": false, "mlp_fc1_bias": false, "mlp_fc2_bias": false,
                "layer_norm_epsilon": 1e-12, "vocab_size": v, "type_vocab_size": 2, "causal": false,
            })
        }
        Arch::JinaBert => {
            add(
                "embeddings.word_embeddings.weight".into(),
                vec![v, h],
                Matrix,
            );
            add(
                "embeddings.token_type_embeddings.weight".into(),
                vec![2, h],
                Matrix,
            );
            ln(&mut add, "embeddings.LayerNorm");
            for l in 0..n {
                let q = format!("encoder.layer.{l}");
                for m in ["query", "key", "value"] {
                    add(format!("{q}.attention.self.{m}.weight"), vec![h, h], Matrix);
                    add(format!("{q}.attention.self.{m}.bias"), vec![h], Bias);
                }
                ln(&mut add, &format!("{q}.attention.self.layer_norm_q"));
                ln(&mut add, &format!("{q}.attention.self.layer_norm_k"));
                add(
                    format!("{q}.attention.output.dense.weight"),
                    vec![h, h],
                    Matrix,
                );
                add(format!("{q}.attention.output.dense.bias"), vec![h], Bias);
                ln(&mut add, &format!("{q}.attention.output.LayerNorm"));
                ln(&mut add, &format!("{q}.layer_norm_1"));
                add(
                    format!("{q}.mlp.up_gated_layer.weight"),
                    vec![2 * i, h],
                    Matrix,
                );
                add(format!("{q}.mlp.down_layer.weight"), vec![h, i], Matrix);
                add(format!("{q}.mlp.down_layer.bias"), vec![h], Bias);
                ln(&mut add, &format!("{q}.layer_norm_2"));
            }
            json!({
                "architectures": ["JinaBertForMaskedLM"], "model_type": "bert",
                "hidden_size": h, "num_hidden_layers": n, "num_attention_heads": s.heads, "intermediate_size": i,
                "hidden_act": "gelu", "feed_forward_type": "geglu", "position_embedding_type": "alibi",
                "max_position_embeddings": 8192, "type_vocab_size": 2, "vocab_size": v,
                "layer_norm_eps": 1e-12, "pad_token_id": 0, "emb_pooler": "mean",
            })
        }
        Arch::T5Encoder => {
            let d_kv = h / s.heads;
            add("shared.weight".into(), vec![v, h], Matrix);
            for l in 0..n {
                let q = format!("encoder.block.{l}.layer");
                for m in ["q", "k", "v", "o"] {
                    add(
                        format!("{q}.0.SelfAttention.{m}.weight"),
                        vec![h, h],
                        Matrix,
                    );
                }
                if l == 0 {
                    add(
                        format!("{q}.0.SelfAttention.relative_attention_bias.weight"),
                        vec![32, s.heads],
                        Matrix,
                    );
                }
                add(format!("{q}.0.layer_norm.weight"), vec![h], Scale);
                add(
                    format!("{q}.1.DenseReluDense.wi.weight"),
                    vec![i, h],
                    Matrix,
                );
                add(
                    format!("{q}.1.DenseReluDense.wo.weight"),
                    vec![h, i],
                    Matrix,
                );
                add(format!("{q}.1.layer_norm.weight"), vec![h], Scale);
            }
            add("encoder.final_layer_norm.weight".into(), vec![h], Scale);
            add("proj.weight".into(), vec![h / 2, h], Matrix);
            add("proj.bias".into(), vec![h / 2], Bias);
            json!({
                "architectures": ["CodeT5p_Embedding"], "model_type": "codet5p_embedding",
                "d_model": h, "d_kv": d_kv, "d_ff": i, "num_layers": n, "num_heads": s.heads, "embed_dim": h / 2,
                "feed_forward_proj": "relu", "dense_act_fn": "relu", "is_gated_act": false,
                "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128,
                "layer_norm_epsilon": 1e-6, "vocab_size": v, "n_positions": 512,
                "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2,
            })
        }
        // Served elsewhere: no config, no tensors.
        Arch::Remote => json!({}),
        Arch::Model2Vec => {
            // A static table: one row per token id, the layout `cseek model distill` writes.
            add("embeddings".into(), vec![v, h], Matrix);
            json!({
                "model_type": "model2vec", "architectures": ["StaticModel"], "hidden_dim": h,
                "normalize": true, "apply_pca": h, "apply_zipf": true, "seq_length": 1000000,
            })
        }
        Arch::CodeSage => {
            add("wte.weight".into(), vec![v, h], Matrix);
            add("wpe.weight".into(), vec![p, h], Matrix);
            for l in 0..n {
                let q = format!("h.{l}");
                ln(&mut add, &format!("{q}.ln_1"));
                add(format!("{q}.attn.c_attn.weight"), vec![h, 3 * h], Matrix);
                add(format!("{q}.attn.c_attn.bias"), vec![3 * h], Bias);
                add(format!("{q}.attn.c_proj.weight"), vec![h, h], Matrix);
                add(format!("{q}.attn.c_proj.bias"), vec![h], Bias);
                ln(&mut add, &format!("{q}.ln_2"));
                add(format!("{q}.mlp.c_fc.weight"), vec![h, i], Matrix);
                add(format!("{q}.mlp.c_fc.bias"), vec![i], Bias);
                add(format!("{q}.mlp.c_proj.weight"), vec![i, h], Matrix);
                add(format!("{q}.mlp.c_proj.bias"), vec![h], Bias);
            }
            ln(&mut add, "ln_f");
            json!({
                "architectures": ["CodeSage"], "model_type": "codesage", "activation_function": "gelu_new",
                "hidden_size": h, "num_hidden_layers": n, "num_attention_heads": s.heads, "intermediate_size": i,
                "layer_norm_epsilon": 1e-5, "max_position_embeddings": p, "vocab_size": v,
                "position_embedding_type": "absolute", "eos_token_id": 0, "pad_token_id": v - 1,
            })
        }
    };
    (config, t)
}

/// `n` samples of N(0, 1), the same for the same `name` on every run and machine: tests
/// that compare two code paths on a random model must not depend on the luck of the draw
/// (candle's CPU `randn` is unseeded). SplitMix64 seeded from the name, Box–Muller.
fn normal_values(name: &str, n: usize) -> Vec<f32> {
    let hash = blake3::hash(name.as_bytes());
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&hash.as_bytes()[..8]);
    let mut state = u64::from_le_bytes(seed);
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // 53 random bits → (0, 1]
        ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    };
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let (u1, u2) = (next(), next());
        let r = (-2.0 * u1.ln()).sqrt();
        let t = std::f64::consts::TAU * u2;
        out.push((r * t.cos()) as f32);
        out.push((r * t.sin()) as f32);
    }
    out.truncate(n);
    out
}

/// Writes a random replica of `arch` into `dir` (created if needed). `size.vocab` is raised
/// to the tokenizer's vocabulary when smaller. `prefix` is prepended to every tensor name
/// (e.g. `"bert."`) to exercise prefix fallback.
pub fn write_tiny_model(dir: &Path, arch: Arch, mut size: TinySize, prefix: &str) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| EmbedError::Io {
        action: "creating",
        path: dir.to_path_buf(),
        source,
    })?;
    let n_vocab = write_tokenizer(dir, arch)?;
    size.vocab = size.vocab.max(n_vocab);
    let (config, tensors) = layout(arch, size);
    write_json(&dir.join("config.json"), &config)?;
    let dev = Device::Cpu;
    let mut map: HashMap<String, Tensor> = HashMap::new();
    for (name, shape, kind) in tensors {
        let n: usize = shape.iter().product();
        let r = Tensor::from_vec(normal_values(&name, n), shape.as_slice(), &dev)?;
        let t = match kind {
            Kind::Matrix => (r * size.std as f64)?,
            Kind::Scale => ((r * 0.1)? + 1.0)?,
            Kind::Bias => (r * 0.1)?,
        };
        map.insert(format!("{prefix}{name}"), t.to_dtype(DType::F32)?);
    }
    let path = dir.join("model.safetensors");
    candle_core::safetensors::save(&map, &path).map_err(|e| EmbedError::Weights {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    Ok(())
}

/// Writes a tiny RoBERTa byte-level BPE tokenizer as `vocab.json` + `merges.txt` (the
/// layout of CodeBERT/UniXcoder, which ship no tokenizer.json) and removes any
/// `tokenizer.json`. Returns the vocabulary (token → id).
pub fn write_roberta_bpe(dir: &Path) -> Result<serde_json::Map<String, Value>> {
    let mut vocab = serde_json::Map::new();
    let mut push = |t: &str| {
        if !vocab.contains_key(t) {
            let id = vocab.len();
            vocab.insert(t.to_string(), json!(id));
        }
    };
    for t in ["<s>", "<pad>", "</s>", "<unk>", "<mask>", "<encoder-only>"] {
        push(t);
    }
    // Byte-level alphabet for the test texts ("Ġ" is the byte-level space).
    for c in "abcdefghijklmnopqrstuvwxyz()_:.,=Ġ".chars() {
        push(&c.to_string());
    }
    let merges = [
        "s o", "so r", "sor t", "l i", "li s", "lis t", "Ġ a", "Ġ list",
    ];
    for m in merges {
        push(&m.replace(' ', ""));
    }
    write_json(&dir.join("vocab.json"), &Value::Object(vocab.clone()))?;
    let text = format!("#version: 0.2\n{}\n", merges.join("\n"));
    let path = dir.join("merges.txt");
    std::fs::write(&path, text).map_err(|source| EmbedError::Io {
        action: "writing",
        path,
        source,
    })?;
    let tj = dir.join("tokenizer.json");
    if tj.is_file() {
        std::fs::remove_file(&tj).map_err(|source| EmbedError::Io {
            action: "removing",
            path: tj,
            source,
        })?;
    }
    Ok(vocab)
}
