//! Training a static (Model2Vec) model's token table on code, after Model2Vec's follow-up
//! recipe *tokenlearn* (MinishLab, 2024; the recipe `potion-code` was made with).
//!
//! [`distill`](super::distill::distill) places each token by embedding it alone, so a
//! static model knows a token only as its teacher sees it out of context. Training moves
//! each row so that the normalised sum of a text's rows matches the teacher's embedding of
//! the whole text:
//!
//! 1. the teacher embeds every training text (normalised), in parts appended to a
//!    checkpoint in the model directory, so an interrupted or cancelled run resumes there;
//! 2. the student's parameters are its table `[vocab, d]` and one linear map `[d, t]` into
//!    the teacher's space; a text's student vector is `normalise(Σ rows · map)`;
//! 3. Adam minimises the mean cosine distance over mini-batches; a tenth of the texts is
//!    held back and training stops when their loss stops falling;
//! 4. the best table times the map is written back (`[vocab, t]`), so the saved model's
//!    cosine is the one trained, and it loads like any other static model.
//!
//! Measured in `benches/README.md` ("A static table trained on other code"): trained on
//! code neither benchmark suite contains, the table gains on both.

use std::ops::ControlFlow;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde_json::Value;

use super::checkpoint::Checkpoint;
use super::error::{EmbedError, Result};
use super::Embedder;

/// Options of [`train_static`].
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Passes over the training texts at most (training stops earlier when the held-back
    /// texts' loss stops falling).
    pub epochs: usize,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// Texts per optimisation step.
    pub batch: usize,
    /// Seed of the shuffles (the held-back split and each epoch's order).
    pub seed: u64,
    /// Reuse the teacher's vectors that an interrupted or cancelled run on the same texts
    /// left in the model directory (`.train-partial.f32`), instead of embedding them again.
    pub resume: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 20,
            learning_rate: 1e-3,
            batch: 64,
            seed: 1,
            resume: true,
        }
    }
}

/// What [`train_static`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSummary {
    /// Texts trained on (texts with no known token are left out).
    pub texts: usize,
    /// Of those, held back to decide when to stop.
    pub held_back: usize,
    /// Epochs run.
    pub epochs: usize,
    /// Mean cosine distance of the held-back texts before training.
    pub initial_loss: f64,
    /// The same after training (the best epoch's, which is what was written).
    pub final_loss: f64,
    /// Output dimension (the teacher's).
    pub dims: usize,
}

/// What [`train_static`] reports while it runs: the teacher's pass takes most of the time
/// on a CPU (minutes for thousands of texts), the epochs the rest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrainProgress {
    /// The teacher has embedded `done` of the `total` texts it will embed.
    Teacher {
        /// Texts embedded so far.
        done: usize,
        /// Texts to embed (those with a known token).
        total: usize,
    },
    /// An epoch has ended.
    Epoch {
        /// Epochs run so far, from 1.
        epoch: usize,
        /// The held-back texts' mean cosine distance after it.
        loss: f64,
    },
}

/// Texts the teacher embeds between two [`TrainProgress::Teacher`] reports (and
/// checkpoints).
const TEACHER_PART: usize = 256;

/// The teacher's vectors of the texts, kept in the model directory until training ends.
const PARTIAL: &str = ".train-partial";

/// Trains the static model in `model_dir` (written by `distill`, a plain table: no
/// `mapping` or `weights` tensor) on `texts` against `teacher`, and writes the result back
/// into `model_dir`.
///
/// `progress` hears of the teacher's pass and of every epoch; returning
/// [`ControlFlow::Break`] stops the run with [`EmbedError::Cancelled`], leaving the model
/// as it was and the teacher's vectors computed so far in a checkpoint that the next run
/// on the same texts resumes from (with [`TrainOptions::resume`]).
pub fn train_static(
    model_dir: &Path,
    teacher: &Embedder,
    texts: &[&str],
    opts: &TrainOptions,
    progress: &mut dyn FnMut(TrainProgress) -> ControlFlow<()>,
) -> Result<TrainSummary> {
    if opts.batch == 0 || opts.epochs == 0 {
        return Err(EmbedError::InvalidOption(
            "training needs a batch size and a number of epochs above 0".into(),
        ));
    }
    if !(opts.learning_rate > 0.0 && opts.learning_rate.is_finite()) {
        return Err(EmbedError::InvalidOption(format!(
            "learning rate {} must be a positive number",
            opts.learning_rate
        )));
    }
    let dir = model_dir.to_str().ok_or_else(|| {
        EmbedError::InvalidOption(format!("{} is not valid UTF-8", model_dir.display()))
    })?;
    let student = Embedder::load(dir, &super::EmbedOptions::default())?;
    if !student.is_static() {
        return Err(EmbedError::InvalidOption(format!(
            "{} is not a static (Model2Vec) model",
            model_dir.display()
        )));
    }
    let path = model_dir.join("model.safetensors");
    let weights_err = |detail: String| EmbedError::Weights {
        path: path.clone(),
        detail,
    };
    let mut tensors = candle_core::safetensors::load(&path, &Device::Cpu)
        .map_err(|e| weights_err(e.to_string()))?;
    if tensors.contains_key("mapping") || tensors.contains_key("weights") {
        return Err(weights_err(
            "a table with a `mapping` or `weights` tensor cannot be trained; train the output of \
             `cseek model distill`"
                .into(),
        ));
    }
    let table = tensors
        .remove("embeddings")
        .ok_or_else(|| weights_err("no `embeddings` tensor".into()))?
        .to_dtype(DType::F32)?;
    let (vocab, d) = table.dims2()?;

    // The student sees what the teacher saw: the teacher's token ids without its framing,
    // cut where the teacher cuts (a distilled student shares the teacher's tokenizer).
    let max_ids = teacher.info().max_tokens.max(1);
    let mut ids = student.tokenize(texts)?;
    let mut keep = Vec::new();
    for (i, t) in ids.iter_mut().enumerate() {
        t.retain(|&id| (id as usize) < vocab);
        t.truncate(max_ids);
        if !t.is_empty() {
            keep.push(i);
        }
    }
    if keep.len() < 2 {
        return Err(EmbedError::InvalidOption(format!(
            "training needs at least 2 texts with known tokens, found {}",
            keep.len()
        )));
    }
    let kept: Vec<&str> = keep.iter().map(|&i| texts[i]).collect();
    let (mut target, checkpoint) =
        teacher_vectors(model_dir, teacher, &kept, opts.resume, progress)?;
    let t_dims = teacher.dims();
    let ids: Vec<Vec<u32>> = keep.iter().map(|&i| std::mem::take(&mut ids[i])).collect();
    for v in target.chunks_exact_mut(t_dims) {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        v.iter_mut().for_each(|x| *x /= n);
    }
    let target = Tensor::from_vec(target, (kept.len(), t_dims), &Device::Cpu)?;

    let mut rng = Lcg(opts.seed);
    let mut order: Vec<usize> = (0..ids.len()).collect();
    rng.shuffle(&mut order);
    let held_back = (ids.len() / 10).max(1);
    let (val, train) = order.split_at(held_back);
    let mut train = train.to_vec();

    let table = Var::from_tensor(&table)?;
    let map = Var::from_tensor(&initial_map(d, t_dims, &mut rng)?)?;
    let mut adam = AdamW::new(
        vec![table.clone(), map.clone()],
        ParamsAdamW {
            lr: opts.learning_rate,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )?;
    let loss_of = |idx: &[usize]| -> Result<Tensor> {
        batch_loss(table.as_tensor(), map.as_tensor(), &ids, &target, idx)
    };
    // The held-back texts' mean loss, in parts of 256 to bound the gather matrix.
    let held_loss = || -> Result<f64> {
        let mut sum = 0.0;
        for part in val.chunks(256) {
            sum += f64::from(loss_of(part)?.to_scalar::<f32>()?) * part.len() as f64;
        }
        Ok(sum / val.len() as f64)
    };
    let initial_loss = held_loss()?;
    let mut best = (
        initial_loss,
        table.as_tensor().copy()?,
        map.as_tensor().copy()?,
    );
    let mut epochs = 0;
    for epoch in 0..opts.epochs {
        rng.shuffle(&mut train);
        for step in train.chunks(opts.batch) {
            let loss = loss_of(step)?;
            adam.backward_step(&loss)?;
        }
        epochs = epoch + 1;
        let loss = held_loss()?;
        if progress(TrainProgress::Epoch {
            epoch: epochs,
            loss,
        })
        .is_break()
        {
            return Err(EmbedError::Cancelled);
        }
        if loss < best.0 {
            best = (loss, table.as_tensor().copy()?, map.as_tensor().copy()?);
        } else {
            break;
        }
    }

    let (final_loss, best_table, best_map) = best;
    let folded = best_table.matmul(&best_map)?.contiguous()?;
    // Written beside and renamed over, so a run killed while writing leaves the distilled
    // model whole.
    let out = std::collections::HashMap::from([("embeddings".to_string(), folded)]);
    let tmp = model_dir.join("model.safetensors.training");
    candle_core::safetensors::save(&out, &tmp).map_err(|e| weights_err(e.to_string()))?;
    update_config(model_dir, t_dims, ids.len())?;
    std::fs::rename(&tmp, &path).map_err(|source| EmbedError::io("replacing", &path, source))?;
    checkpoint.remove()?;
    Ok(TrainSummary {
        texts: ids.len(),
        held_back,
        epochs,
        initial_loss,
        final_loss,
        dims: t_dims,
    })
}

/// The teacher's vectors of `texts` (rows of `teacher.dims()`), embedded in parts that
/// are appended to a checkpoint in `dir`, resumed from it when it holds the same run's,
/// and the checkpoint, to be removed once the trained table is written.
fn teacher_vectors(
    dir: &Path,
    teacher: &Embedder,
    texts: &[&str],
    resume: bool,
    progress: &mut dyn FnMut(TrainProgress) -> ControlFlow<()>,
) -> Result<(Vec<f32>, Checkpoint)> {
    let width = teacher.dims();
    if width == 0 {
        return Err(EmbedError::InvalidOption(
            "the teacher's vectors have no dimensions".into(),
        ));
    }
    let mut hash = blake3::Hasher::new();
    for t in texts {
        hash.update(&(t.len() as u64).to_le_bytes());
        hash.update(t.as_bytes());
    }
    let meta = serde_json::json!({
        "teacher": teacher.info().name,
        "dims": width,
        "max_tokens": teacher.info().max_tokens,
        "texts": texts.len(),
        "blake3": hash.finalize().to_hex().to_string(),
    });
    let (mut ckpt, mut rows) = Checkpoint::open(dir, PARTIAL, &meta, width, resume)?;
    rows.truncate(texts.len() * width);
    let mut done = rows.len() / width;
    let mut report = |done| {
        progress(TrainProgress::Teacher {
            done,
            total: texts.len(),
        })
    };
    if report(done).is_break() {
        return Err(EmbedError::Cancelled);
    }
    for part in texts[done..].chunks(TEACHER_PART) {
        let vecs = teacher.embed_documents(part)?;
        if vecs.len() != part.len() || vecs.iter().any(|v| v.len() != width) {
            return Err(EmbedError::InvalidOption(format!(
                "the teacher returned {} vectors for {} texts, or not of {width} dims",
                vecs.len(),
                part.len()
            )));
        }
        let start = rows.len();
        rows.extend(vecs.into_iter().flatten());
        ckpt.append(&rows[start..])?;
        done += part.len();
        if report(done).is_break() {
            return Err(EmbedError::Cancelled);
        }
    }
    Ok((rows, ckpt))
}

/// Mean cosine distance between the student's vectors of the texts `idx` and their
/// targets. The rows of all the texts' tokens are gathered once and summed per text by a
/// 0/1 matrix, so one step is two matrix products however long the texts are.
fn batch_loss(
    table: &Tensor,
    map: &Tensor,
    ids: &[Vec<u32>],
    target: &Tensor,
    idx: &[usize],
) -> Result<Tensor> {
    let flat: Vec<u32> = idx.iter().flat_map(|&i| ids[i].iter().copied()).collect();
    let n = flat.len();
    let mut sums = vec![0f32; idx.len() * n];
    let mut at = 0;
    for (row, &i) in idx.iter().enumerate() {
        for _ in 0..ids[i].len() {
            sums[row * n + at] = 1.0;
            at += 1;
        }
    }
    let dev = table.device();
    let rows = table.index_select(&Tensor::from_vec(flat, n, dev)?, 0)?;
    let summed = Tensor::from_vec(sums, (idx.len(), n), dev)?.matmul(&rows)?;
    let out = summed.matmul(map)?;
    let norm = out.sqr()?.sum_keepdim(1)?.sqrt()?.maximum(1e-12)?;
    let out = out.broadcast_div(&norm)?;
    let want = target.index_select(
        &Tensor::from_vec(
            idx.iter().map(|&i| i as u32).collect::<Vec<_>>(),
            idx.len(),
            dev,
        )?,
        0,
    )?;
    let cos = (out * want)?.sum(1)?;
    Ok(cos.affine(-1.0, 1.0)?.mean(0)?)
}

/// The map's starting point: the identity when the table already has the teacher's
/// dimension (a distilled table with all components kept is a rotation of the teacher's
/// space), else small random values.
fn initial_map(d: usize, t: usize, rng: &mut Lcg) -> Result<Tensor> {
    if d == t {
        return Ok(Tensor::eye(d, DType::F32, &Device::Cpu)?);
    }
    let scale = (1.0 / d as f64).sqrt();
    let v: Vec<f32> = (0..d * t).map(|_| (rng.unit() * scale) as f32).collect();
    Ok(Tensor::from_vec(v, (d, t), &Device::Cpu)?)
}

/// Records the new dimension and what the table was trained on in `config.json`.
fn update_config(dir: &Path, dims: usize, texts: usize) -> Result<()> {
    let path = dir.join("config.json");
    let io = |source| EmbedError::io("updating", &path, source);
    let text = std::fs::read_to_string(&path).map_err(io)?;
    let mut cfg: Value = serde_json::from_str(&text).map_err(|e| EmbedError::Config {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    if let Some(map) = cfg.as_object_mut() {
        map.insert("hidden_dim".into(), dims.into());
        map.insert("trained_texts".into(), texts.into());
    }
    let text =
        serde_json::to_string_pretty(&cfg).map_err(|e| EmbedError::InvalidOption(e.to_string()))?;
    let tmp = dir.join("config.json.training");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)
}

/// A small deterministic generator (no rand dependency): shuffles and starting values.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }

    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f64 {
        (self.next() as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}
