//! Distillation of a static (Model2Vec) model from any transformer cseek can run, after
//! model2vec's `distill` recipe (see the project's notes, "Model2Vec distill recipe"):
//!
//! 1. every vocabulary token is embedded in context, framed as the model frames text
//!    (`[CLS] t [SEP]`, `<s> t </s>`, …), and pooled as the model pools (no normalisation);
//! 2. the vectors are reduced to `dims` with PCA (centred, no whitening);
//! 3. each row is scaled by a SIF weight `a / (a + p)`, where `p` is a Zipf frequency
//!    estimated from the token's rank (token-id order), so frequent tokens count less in
//!    a mean;
//! 4. the table is written in the Model2Vec layout (`model.safetensors` with
//!    `embeddings`, `tokenizer.json`, `config.json`), loadable here and by model2vec.
//!
//! Rows are not normalised one by one: that would undo step 3. The outputs of the static
//! model are normalised at encode time (`"normalize": true`).
//!
//! Step 1 is the slow part; its rows are appended to a checkpoint in the output directory
//! after every chunk, so an interrupted run resumes where it stopped.
//!
//! Running a teacher needs the `embed` cargo feature; without it the options, the summary
//! and the PCA / SIF math remain, and [`distill`] returns
//! [`EmbedError::FeatureDisabled`].

use std::path::{Path, PathBuf};

#[cfg(feature = "embed")]
use candle_core::{Device, Tensor};
use rayon::prelude::*;
#[cfg(feature = "embed")]
use serde_json::{json, Value};
#[cfg(feature = "embed")]
use tokenizers::Tokenizer;

#[cfg(feature = "embed")]
use super::checkpoint::Checkpoint;
use super::error::{EmbedError, Result};
use super::{EmbedOptions, Embedder};

/// Checkpoint of embedded token rows (`.distill-partial.f32`, appended per chunk) and
/// what it belongs to (`.distill-partial.json`).
#[cfg(feature = "embed")]
const PARTIAL: &str = ".distill-partial";

/// Options of [`distill`].
#[derive(Debug, Clone)]
pub struct DistillOptions {
    /// Output dimension (PCA components); clamped to the teacher's dimension.
    pub dims: usize,
    /// SIF coefficient `a` of the Zipf weights `a / (a + p)`, in (0, 1); model2vec's
    /// default is 1e-4. `None` turns the weighting off.
    pub sif_coefficient: Option<f64>,
    /// How to load the teacher (device, dtype, threads, batch budget …).
    pub embed: EmbedOptions,
    /// Vocabulary tokens embedded between checkpoints.
    pub chunk: usize,
    /// Continue from a checkpoint left in the output directory by an interrupted run.
    pub resume: bool,
}

impl Default for DistillOptions {
    fn default() -> Self {
        Self {
            dims: 256,
            sif_coefficient: Some(1e-4),
            embed: EmbedOptions::default(),
            chunk: 4096,
            resume: true,
        }
    }
}

/// What [`distill`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DistillSummary {
    /// The output directory.
    pub out: PathBuf,
    /// The teacher's name as loaded.
    pub teacher: String,
    /// Rows of the table (token ids `0..vocab`).
    pub vocab: usize,
    /// Tokens embedded (the rest, `[unusedN]` placeholders and id gaps, get zero rows).
    pub embedded: usize,
    /// Rows taken from a checkpoint instead of being recomputed.
    pub resumed: usize,
    /// The teacher's output dimension.
    pub teacher_dims: usize,
    /// Output dimension.
    pub dims: usize,
    /// Share of the variance the kept components explain.
    pub explained_variance: f64,
    /// Token framing used: ids before and after the token.
    pub framing: (Vec<u32>, Vec<u32>),
}

/// Distils the transformer `from` (registry name, Hugging Face id or directory) into a
/// Model2Vec directory `out`: without the `embed` feature there is no teacher to run, so
/// this is [`EmbedError::FeatureDisabled`] (after the same option checks).
#[cfg(not(feature = "embed"))]
pub fn distill(
    from: &str,
    _out: &Path,
    opts: &DistillOptions,
    _progress: &mut dyn FnMut(usize, usize),
) -> Result<DistillSummary> {
    check_options(opts)?;
    match Embedder::load(from, &opts.embed)? {}
}

/// Rejects a zero dimension and a SIF coefficient outside (0, 1).
fn check_options(opts: &DistillOptions) -> Result<()> {
    if opts.dims == 0 {
        return Err(EmbedError::InvalidOption("--dims must be > 0".into()));
    }
    if let Some(a) = opts.sif_coefficient {
        if !(a > 0.0 && a < 1.0) {
            return Err(EmbedError::InvalidOption(format!(
                "SIF coefficient {a} must be in (0, 1)"
            )));
        }
    }
    Ok(())
}

/// Distils the transformer `from` (registry name, Hugging Face id or directory) into a
/// Model2Vec directory `out`. `progress(done, total)` is called after every chunk of
/// embedded tokens.
#[cfg(feature = "embed")]
pub fn distill(
    from: &str,
    out: &Path,
    opts: &DistillOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<DistillSummary> {
    check_options(opts)?;
    let teacher = Embedder::load(from, &opts.embed)?;
    if teacher.is_static() {
        return Err(EmbedError::InvalidOption(format!(
            "`{from}` is already a static model; distil from a transformer"
        )));
    }
    let dir = teacher.info().dir.clone();
    let tok = raw_tokenizer(&dir)?;
    let tok_err = |detail: String| EmbedError::Tokenizer {
        path: dir.join("tokenizer.json"),
        detail,
    };

    // Vocabulary by id. Ids without a token (gaps) and `[unusedN]` placeholders are not
    // embedded: no text ever produces them, and model2vec drops them too.
    let vocab_map = tok.get_vocab(true);
    let vocab = vocab_map
        .values()
        .map(|&i| i as usize + 1)
        .max()
        .unwrap_or(0);
    let mut by_id: Vec<Option<&str>> = vec![None; vocab];
    for (t, &i) in &vocab_map {
        by_id[i as usize] = Some(t.as_str());
    }
    let kept: Vec<u32> = (0..vocab)
        .filter(|&i| by_id[i].is_some_and(|t| !is_unused_placeholder(t)))
        .map(|i| i as u32)
        .collect();
    if kept.len() < 2 {
        return Err(tok_err(format!("only {} usable tokens", kept.len())));
    }
    let framing = token_framing(&teacher, &tok).map_err(tok_err)?;
    let hidden = teacher.info().native_dims;

    // Step 1, with a checkpoint.
    std::fs::create_dir_all(out).map_err(|source| EmbedError::io("creating", out, source))?;
    let meta = json!({
        "teacher": dir.display().to_string(),
        "hidden": hidden,
        "tokens": kept.len(),
        "first": kept.first(),
        "last": kept.last(),
        "framing": [framing.0, framing.1],
        "dtype": teacher.info().dtype,
    });
    let (mut ckpt, mut rows) = Checkpoint::open(out, PARTIAL, &meta, hidden, opts.resume)?;
    let resumed = rows.len() / hidden;
    progress(resumed, kept.len());
    let chunk = opts.chunk.max(1);
    let mut done = resumed;
    while done < kept.len() {
        let ids = &kept[done..(done + chunk).min(kept.len())];
        let seqs: Vec<Vec<u32>> = ids
            .iter()
            .map(|&id| {
                let mut s = framing.0.clone();
                s.push(id);
                s.extend_from_slice(&framing.1);
                s
            })
            .collect();
        let vecs = teacher.embed_token_ids_raw(&seqs)?;
        let start = rows.len();
        for v in &vecs {
            if v.len() != hidden {
                return Err(EmbedError::InvalidOption(format!(
                    "teacher returned {} dims, expected {hidden}",
                    v.len()
                )));
            }
            for &x in v {
                // model2vec maps NaN to 0; an infinite row would poison the covariance.
                let x = if x.is_finite() { x } else { 0.0 };
                rows.push(x);
            }
        }
        ckpt.append(&rows[start..])?;
        done += ids.len();
        progress(done, kept.len());
    }

    // Step 2: PCA.
    let k = opts.dims.min(hidden);
    let pca = Pca::fit(&rows, kept.len(), hidden, k);
    let mut projected = pca.transform(&rows);

    // Step 3: Zipf/SIF weights by rank among the embedded tokens (id order), as model2vec
    // does after dropping placeholders.
    if let Some(a) = opts.sif_coefficient {
        let w = sif_weights(kept.len(), a);
        for (r, row) in projected.chunks_exact_mut(k).enumerate() {
            row.iter_mut().for_each(|x| *x *= w[r] as f32);
        }
    }

    // Step 4: the full-vocabulary table (row = token id) and the files.
    let mut table = vec![0f32; vocab * k];
    for (r, &id) in kept.iter().enumerate() {
        let id = id as usize;
        table[id * k..(id + 1) * k].copy_from_slice(&projected[r * k..(r + 1) * k]);
    }
    write_model(out, &tok, &table, vocab, k, &teacher, opts)?;
    ckpt.remove()?;
    Ok(DistillSummary {
        out: out.to_path_buf(),
        teacher: teacher.info().name.clone(),
        vocab,
        embedded: kept.len(),
        resumed,
        teacher_dims: hidden,
        dims: k,
        explained_variance: pca.explained_ratio(),
        framing,
    })
}

/// `[unused12]`: BERT's reserved placeholders (model2vec's `\[unused\d+\]`).
#[cfg(feature = "embed")]
fn is_unused_placeholder(t: &str) -> bool {
    t.strip_prefix("[unused")
        .and_then(|r| r.strip_suffix(']'))
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// The teacher's tokenizer as a plain `Tokenizer`, padding and truncation off (RoBERTa
/// `vocab.json` + `merges.txt` models get one built from those files).
#[cfg(feature = "embed")]
fn raw_tokenizer(dir: &Path) -> Result<Tokenizer> {
    let json = dir.join("tokenizer.json");
    let err = |detail: String| EmbedError::Tokenizer {
        path: json.clone(),
        detail,
    };
    let mut tok = if json.is_file() {
        Tokenizer::from_file(&json).map_err(|e| err(e.to_string()))?
    } else {
        super::tokenize::roberta_bpe(dir).map_err(err)?
    };
    // Some tokenizer.json files carry fixed padding/truncation (MiniLM's pads to 128),
    // which would bury a probe word's ids among pads.
    tok.with_padding(None);
    tok.with_truncation(None)
        .map_err(|e| err(format!("turning truncation off: {e}")))?;
    Ok(tok)
}

/// Ids the teacher puts before and after a text, found by framing a probe word and
/// locating its plain ids inside. Uses the embedder's own framing, so templates beyond
/// the tokenizer's (UniXcoder's `<encoder-only>`, CodeSage's appended EOS) carry over.
#[cfg(feature = "embed")]
fn token_framing(
    teacher: &Embedder,
    tok: &Tokenizer,
) -> std::result::Result<(Vec<u32>, Vec<u32>), String> {
    for probe in ["a", "the", "x", "0", "def"] {
        let plain = tok.encode(probe, false).map_err(|e| e.to_string())?;
        let plain = plain.get_ids();
        if plain.is_empty() {
            continue;
        }
        let framed = teacher
            .tokenize(&[probe])
            .map_err(|e| e.to_string())?
            .pop()
            .unwrap_or_default();
        if let Some(p) = framed.windows(plain.len()).position(|w| w == plain) {
            return Ok((framed[..p].to_vec(), framed[p + plain.len()..].to_vec()));
        }
    }
    Err("cannot find the token framing: no probe word survives tokenization".into())
}

/// Zipf/SIF weights `a / (a + p_r)` with `p_r ∝ 1/(r + 2)` for ranks `0..n`.
pub fn sif_weights(n: usize, a: f64) -> Vec<f64> {
    let z: f64 = (0..n).map(|r| 1.0 / (r as f64 + 2.0)).sum();
    (0..n)
        .map(|r| {
            let p = 1.0 / (r as f64 + 2.0) / z;
            a / (a + p)
        })
        .collect()
}

/// A fitted PCA: centre, then project on the top eigenvectors of the covariance.
#[derive(Debug, Clone)]
pub struct Pca {
    /// Column means `[d]`.
    pub mean: Vec<f64>,
    /// Components, row-major `[k, d]`, unit length, by decreasing variance.
    pub components: Vec<f64>,
    /// Variance along each component `[k]`.
    pub variances: Vec<f64>,
    /// Total variance of the data (trace of the covariance).
    pub total_variance: f64,
    /// Input dimension.
    pub d: usize,
    /// Output dimension.
    pub k: usize,
}

impl Pca {
    /// Fits `k` components to `data`, row-major `[n, d]` (`n ≥ 2`, `k ≤ d`). Like sklearn's
    /// full-solver PCA: centred, not whitened; each component's sign is fixed so its
    /// largest-magnitude loading is positive (deterministic output).
    pub fn fit(data: &[f32], n: usize, d: usize, k: usize) -> Self {
        let k = k.min(d);
        let mut mean = vec![0f64; d];
        for row in data.chunks_exact(d) {
            for (m, &x) in mean.iter_mut().zip(row) {
                *m += x as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        let cov = covariance(data, d, &mean, n);
        let total_variance = (0..d).map(|i| cov[i * d + i]).sum();
        let (vals, vecs) = symmetric_eigen(cov, d);
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| vals[b].total_cmp(&vals[a]));
        let mut components = Vec::with_capacity(k * d);
        let mut variances = Vec::with_capacity(k);
        for &c in order.iter().take(k) {
            // Column c of the eigenvector matrix.
            let mut v: Vec<f64> = (0..d).map(|r| vecs[r * d + c]).collect();
            let big = v
                .iter()
                .copied()
                .fold(0f64, |m, x| if x.abs() > m.abs() { x } else { m });
            if big < 0.0 {
                v.iter_mut().for_each(|x| *x = -*x);
            }
            components.extend(v);
            variances.push(vals[c].max(0.0));
        }
        Self {
            mean,
            components,
            variances,
            total_variance,
            d,
            k,
        }
    }

    /// Share of the total variance the kept components explain.
    pub fn explained_ratio(&self) -> f64 {
        if self.total_variance > 0.0 {
            self.variances.iter().sum::<f64>() / self.total_variance
        } else {
            1.0
        }
    }

    /// Projects row-major `[n, d]` rows to `[n, k]`.
    pub fn transform(&self, data: &[f32]) -> Vec<f32> {
        let (d, k) = (self.d, self.k);
        data.par_chunks_exact(d)
            .flat_map_iter(|row| {
                let centred: Vec<f64> = row
                    .iter()
                    .zip(&self.mean)
                    .map(|(&x, m)| x as f64 - m)
                    .collect();
                (0..k).map(move |c| {
                    let comp = &self.components[c * d..(c + 1) * d];
                    comp.iter().zip(&centred).map(|(a, b)| a * b).sum::<f64>() as f32
                })
            })
            .collect()
    }
}

/// Sample covariance `[d, d]` of row-major `[n, d]` data around `mean`, in f64, summed in
/// parallel over blocks of rows.
fn covariance(data: &[f32], d: usize, mean: &[f64], n: usize) -> Vec<f64> {
    let block = 512 * d;
    let mut c = data
        .par_chunks(block)
        .map(|rows| {
            let mut acc = vec![0f64; d * d];
            let mut x = vec![0f64; d];
            for row in rows.chunks_exact(d) {
                for ((xi, &r), m) in x.iter_mut().zip(row).zip(mean) {
                    *xi = r as f64 - m;
                }
                // Upper triangle only; mirrored below.
                for i in 0..d {
                    let xi = x[i];
                    for (a, &xj) in acc[i * d + i..(i + 1) * d].iter_mut().zip(&x[i..]) {
                        *a += xi * xj;
                    }
                }
            }
            acc
        })
        .reduce(
            || vec![0f64; d * d],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        );
    let denom = (n.max(2) - 1) as f64;
    for i in 0..d {
        for j in i..d {
            let v = c[i * d + j] / denom;
            c[i * d + j] = v;
            c[j * d + i] = v;
        }
    }
    c
}

/// Eigen-decomposition of a symmetric `[d, d]` matrix (row-major) by cyclic Jacobi
/// rotations: returns the eigenvalues and the eigenvectors as the columns of a row-major
/// `[d, d]` matrix. O(d³) per sweep; a 384×384 covariance takes about a second.
pub fn symmetric_eigen(mut a: Vec<f64>, d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0f64; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let mut off = 0f64;
        for p in 0..d {
            for q in p + 1..d {
                off += a[p * d + q] * a[p * d + q];
            }
        }
        // Off-diagonal mass negligible relative to the whole matrix: converged.
        if off <= 1e-26 * scale {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                let (app, aqq) = (a[p * d + p], a[q * d + q]);
                if apq.abs() <= 1e-300 || apq.abs() <= 1e-18 * (app.abs() + aqq.abs()) {
                    a[p * d + q] = 0.0;
                    a[q * d + p] = 0.0;
                    continue;
                }
                // Rotation angle that zeroes a[p][q] (Numerical Recipes' `jacobi`).
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..d {
                    let (x, y) = (a[r * d + p], a[r * d + q]);
                    a[r * d + p] = c * x - s * y;
                    a[r * d + q] = s * x + c * y;
                }
                for col in 0..d {
                    let (x, y) = (a[p * d + col], a[q * d + col]);
                    a[p * d + col] = c * x - s * y;
                    a[q * d + col] = s * x + c * y;
                }
                for r in 0..d {
                    let (x, y) = (v[r * d + p], v[r * d + q]);
                    v[r * d + p] = c * x - s * y;
                    v[r * d + q] = s * x + c * y;
                }
            }
        }
    }
    let vals = (0..d).map(|i| a[i * d + i]).collect();
    (vals, v)
}

/// Reads a checkpoint that matches `meta`; whole rows only. Anything else starts over.
/// Writes `model.safetensors`, `tokenizer.json` and `config.json` in the Model2Vec layout.
#[cfg(feature = "embed")]
fn write_model(
    out: &Path,
    tok: &Tokenizer,
    table: &[f32],
    vocab: usize,
    k: usize,
    teacher: &Embedder,
    opts: &DistillOptions,
) -> Result<()> {
    let path = out.join("model.safetensors");
    let t = Tensor::from_slice(table, (vocab, k), &Device::Cpu)?;
    let tensors = std::collections::HashMap::from([("embeddings".to_string(), t)]);
    candle_core::safetensors::save(&tensors, &path).map_err(|e| EmbedError::Weights {
        path: path.clone(),
        detail: e.to_string(),
    })?;

    // As model2vec saves it: no post-processor (static models encode without specials),
    // no padding or truncation.
    let mut tok = tok.clone();
    tok.with_post_processor(None::<tokenizers::PostProcessorWrapper>);
    tok.with_padding(None);
    let tok_path = out.join("tokenizer.json");
    let tok_err = |detail: String| EmbedError::Tokenizer {
        path: tok_path.clone(),
        detail,
    };
    tok.with_truncation(None)
        .map_err(|e| tok_err(e.to_string()))?;
    tok.save(&tok_path, true)
        .map_err(|e| tok_err(e.to_string()))?;

    let info = teacher.info();
    let config = json!({
        "model_type": "model2vec",
        "architectures": ["StaticModel"],
        "tokenizer_name": info.hf_id.clone().unwrap_or_else(|| info.name.clone()),
        "apply_pca": k,
        "apply_zipf": opts.sif_coefficient.is_some(),
        "sif_coefficient": opts.sif_coefficient,
        "hidden_dim": k,
        "seq_length": 1_000_000,
        "normalize": true,
        "pooling": match info.pooling {
            super::Pooling::Mean => "mean",
            super::Pooling::Cls => "first",
            super::Pooling::Last => "last",
        },
        "embedding_dtype": "float32",
        "distilled_by": format!("cseek {}", env!("CARGO_PKG_VERSION")),
    });
    write_json(&out.join("config.json"), &config)
}

#[cfg(feature = "embed")]
fn write_json(path: &Path, v: &Value) -> Result<()> {
    let text =
        serde_json::to_string_pretty(v).map_err(|e| EmbedError::InvalidOption(e.to_string()))?;
    std::fs::write(path, text).map_err(|source| EmbedError::io("writing", path, source))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random numbers in [-1, 1) (no rand dependency).
    fn noise(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    #[test]
    fn jacobi_recovers_known_eigenpairs() {
        // [[2,1],[1,2]]: eigenvalues 3 (along [1,1]) and 1 (along [1,-1]).
        let (vals, vecs) = symmetric_eigen(vec![2.0, 1.0, 1.0, 2.0], 2);
        let mut pairs: Vec<(f64, [f64; 2])> =
            (0..2).map(|c| (vals[c], [vecs[c], vecs[2 + c]])).collect();
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        assert!((pairs[0].0 - 3.0).abs() < 1e-12 && (pairs[1].0 - 1.0).abs() < 1e-12);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((pairs[0].1[0].abs() - h).abs() < 1e-12);
        assert!((pairs[0].1[0] - pairs[0].1[1]).abs() < 1e-12, "{pairs:?}");

        // A random symmetric 12×12: A·v = λ·v for every pair, V orthonormal.
        let d = 12;
        let mut seed = 7;
        let mut a = vec![0f64; d * d];
        for i in 0..d {
            for j in i..d {
                let x = noise(&mut seed);
                a[i * d + j] = x;
                a[j * d + i] = x;
            }
        }
        let (vals, vecs) = symmetric_eigen(a.clone(), d);
        for c in 0..d {
            for r in 0..d {
                let av: f64 = (0..d).map(|j| a[r * d + j] * vecs[j * d + c]).sum();
                assert!((av - vals[c] * vecs[r * d + c]).abs() < 1e-9);
            }
            for c2 in 0..d {
                let dot: f64 = (0..d).map(|r| vecs[r * d + c] * vecs[r * d + c2]).sum();
                let want = if c == c2 { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn pca_finds_a_known_principal_axis() {
        // Points spread widely along u = (1, 2, 2)/3 and narrowly elsewhere, off-centre.
        let u = [1.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0];
        let centre = [5.0, -3.0, 1.0];
        let mut seed = 42;
        let n = 2000;
        let mut data = Vec::with_capacity(n * 3);
        for _ in 0..n {
            let t = 10.0 * noise(&mut seed);
            for i in 0..3 {
                data.push((centre[i] + t * u[i] + 0.1 * noise(&mut seed)) as f32);
            }
        }
        let pca = Pca::fit(&data, n, 3, 2);
        assert_eq!(pca.k, 2);
        for i in 0..3 {
            assert!((pca.mean[i] - centre[i]).abs() < 0.5, "{:?}", pca.mean);
            // Sign fixed: largest loading positive, so it matches u itself.
            assert!(
                (pca.components[i] - u[i]).abs() < 1e-3,
                "{:?}",
                pca.components
            );
        }
        assert!(pca.variances[0] > 100.0 * pca.variances[1]);
        assert!(pca.explained_ratio() > 0.999);
        // Projection: the first coordinate is the position along u, the second is noise.
        let y = pca.transform(&data);
        assert_eq!(y.len(), n * 2);
        let mean0: f32 = y.chunks(2).map(|r| r[0]).sum::<f32>() / n as f32;
        assert!(mean0.abs() < 1e-3, "projected data is centred");
        let (s0, s1) = y.chunks(2).fold((0f32, 0f32), |(a, b), r| {
            (a.max(r[0].abs()), b.max(r[1].abs()))
        });
        assert!(s0 > 9.0 && s1 < 0.5, "{s0} {s1}");
    }

    #[test]
    fn sif_weights_grow_with_rank() {
        let w = sif_weights(1000, 1e-3);
        assert!(w.windows(2).all(|p| p[0] < p[1]));
        assert!(w.iter().all(|&x| x > 0.0 && x < 1.0));
        // Rank 0: p = (1/2)/Z.
        let z: f64 = (0..1000).map(|r| 1.0 / (r as f64 + 2.0)).sum();
        assert!((w[0] - 1e-3 / (1e-3 + 0.5 / z)).abs() < 1e-15);
    }

    #[cfg(feature = "embed")]
    #[test]
    fn unused_placeholders_are_recognised() {
        assert!(is_unused_placeholder("[unused0]"));
        assert!(is_unused_placeholder("[unused993]"));
        assert!(!is_unused_placeholder("[unused]"));
        assert!(!is_unused_placeholder("[UNK]"));
        assert!(!is_unused_placeholder("unused"));
    }
}
