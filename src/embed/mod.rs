//! The embed stage: text → dense vectors with the code-embedding models people use.
//!
//! ```no_run
//! use cseek::embed::{Embedder, EmbedOptions};
//! let e = Embedder::load("minilm", &EmbedOptions::default())?;
//! let docs = e.embed_documents(&["fn main() {}"])?;
//! let query = e.embed_queries(&["entry point"])?;
//! assert_eq!(docs[0].len(), e.dims());
//! # Ok::<(), cseek::embed::EmbedError>(())
//! ```
//!
//! - [`Embedder::load`] resolves a registry name, Hugging Face id or directory
//!   (`resolve`), picks the device ([`device`]), reads the architecture from
//!   `config.json` and loads the weights into one of the model files (`bert`,
//!   `nomic_bert`, `jina_bert`, `t5`, `codesage`), all built on the shared encoder of
//!   `layers`.
//! - Embedding sorts texts by token length, cuts batches by a padded-token budget, pads
//!   within a batch, masks pads out of attention and pooling, and returns vectors in
//!   input order. Texts longer than the model's limit are truncated, never rejected.
//! - Pooling, projection, Matryoshka truncation and normalisation happen once, here.
//! - A Model2Vec directory (detected from its `config.json`, see `static_model`) loads
//!   as a static embedder behind the same API: a vector is the mean of token rows, no
//!   transformer runs. [`distill`] builds such a model from any transformer here, and
//!   `train` (behind the `embed` feature) trains its table on code against the same
//!   transformer (`cseek model distill --train-on DIR`).
//!
//! # Two paths through the encoder
//!
//! `layers` is the reference: candle tensor ops, any device and dtype. [`fast`] runs the
//! same layer structs with fused kernels for f32 on the CPU. Dependencies point one way
//! (`fast` → `layers` → `activation`, never back); which path runs is a value the caller
//! passes, [`EmbedOptions::kernels`] (default: fast at the CPU's best level), carried by
//! the [`Embedder`] into every batch and dispatched in one place, `model::run_encoder`.
//! The library reads no environment variable to choose.
//!
//! # The `embed` cargo feature
//!
//! Everything that needs candle, tokenizers or hf-hub is behind the default-on `embed`
//! feature. Without it (`cargo build --no-default-features`, a lexical-only cseek) this
//! module keeps the same public types for the rest of the crate: [`EmbedOptions`],
//! [`EmbedderInfo`], the [`registry`], [`DeviceRequest`], [`Precision`], [`Kernels`],
//! [`distill::DistillOptions`], [`alloc`]; [`Embedder`] becomes a type with no values
//! whose [`Embedder::load`] returns [`EmbedError::FeatureDisabled`], as do
//! [`select_device`] and [`distill::distill`]. Callers that fall back to lexical search
//! when no model loads need no `cfg` of their own. The static model stays behind the
//! feature too: it needs the `tokenizers` crate.

#[cfg(feature = "embed")]
pub mod activation;
pub mod alloc;
#[cfg(feature = "embed")]
pub mod bert;
#[cfg(feature = "embed")]
mod checkpoint;
#[cfg(feature = "embed")]
pub mod codesage;
#[cfg(feature = "embed")]
pub mod config;
pub mod device;
#[cfg(not(feature = "embed"))]
mod disabled;
pub mod distill;
#[cfg(feature = "embed")]
mod embedder;
mod error;
pub mod fast;
#[cfg(feature = "embed")]
pub mod jina_bert;
#[cfg(feature = "embed")]
pub mod layers;
#[cfg(feature = "embed")]
pub mod model;
#[cfg(feature = "embed")]
pub mod nomic_bert;
pub mod registry;
pub mod remote;
pub mod resolve;
#[cfg(feature = "embed")]
pub mod static_model;
#[cfg(feature = "embed")]
pub mod t5;
#[cfg(feature = "embed")]
#[doc(hidden)]
pub mod testkit;
#[cfg(feature = "embed")]
mod tokenize;
#[cfg(feature = "embed")]
pub mod train;
pub mod verify;
#[cfg(feature = "embed")]
pub mod weights;

use std::path::PathBuf;

use serde::Serialize;

pub use device::{select as select_device, DeviceChoice, DeviceRequest, Precision};
#[cfg(not(feature = "embed"))]
pub use disabled::Embedder;
#[cfg(feature = "embed")]
pub use embedder::{load_model, pool, Embedder};
pub use error::{EmbedError, Result};
pub use fast::{Isa, Kernels};
#[cfg(feature = "embed")]
pub use model::{EncoderInput, EncoderModel};
pub use registry::{Arch, InputTemplate, ModelEntry, Pooling, REGISTRY};

/// Options of [`Embedder::load`].
#[derive(Debug, Clone)]
pub struct EmbedOptions {
    /// Where to run.
    pub device: DeviceRequest,
    /// Weight/activation dtype; `None`: f32 on CPU, f16 on GPU.
    pub dtype: Option<Precision>,
    /// CPU threads, for a program that owns its process: [`set_threads`] applies it
    /// (process-wide: the `cseek` binary calls it). [`Embedder::load`] does not, since a
    /// library must not reconfigure its host's thread pools. `None`: the environment's
    /// `RAYON_NUM_THREADS`, else physical cores.
    pub threads: Option<usize>,
    /// Lower the model's token limit (it is never raised past what positions allow).
    pub max_tokens: Option<usize>,
    /// Matryoshka output dimension (must be one the model allows).
    pub matryoshka_dim: Option<usize>,
    /// Padded tokens (batch × longest) per forward pass; 0 = automatic: 2,048 on CPU
    /// (smaller batches keep the fused kernels' working set in cache: a sweep over 256
    /// mixed texts gave 9.3k tokens/s at 1,024, 8.8k at 2,048, 7.5k at 8,192, 6.4k at
    /// 16,384 — `cargo bench --bench embed`), 16,384 on a GPU (which wants big batches).
    pub batch_token_budget: usize,
    /// Use this directory for the model instead of searching (also for registry names, so
    /// the registry's pooling/prefixes apply to a local copy).
    pub model_dir: Option<PathBuf>,
    /// Permit downloading from the Hugging Face hub. Default `false`: a library makes no
    /// network requests unless its host allows them (the `cseek` binary does, unless
    /// `--offline`).
    pub allow_download: bool,
    /// Which implementation runs the transformer layers. Default: the fused CPU fast path
    /// at the CPU's best level ([`Kernels::default`]), which falls back to the candle-op
    /// reference path wherever it does not apply (GPU, half precision).
    /// [`Kernels::Reference`] forces the reference path (tests, benchmarks); a level the
    /// CPU lacks is lowered to one it has. Ignored by static models.
    pub kernels: Kernels,
    /// How `ollama:NAME` and `openai:NAME` models are reached (endpoint, key, batching,
    /// retries); ignored by local models.
    pub remote: remote::RemoteOptions,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        Self {
            device: DeviceRequest::Auto,
            dtype: None,
            threads: None,
            max_tokens: None,
            matryoshka_dim: None,
            batch_token_budget: 0,
            model_dir: None,
            allow_download: false,
            kernels: Kernels::default(),
            remote: remote::RemoteOptions::default(),
        }
    }
}

/// What was loaded and how it will be used.
#[derive(Debug, Clone, Serialize)]
pub struct EmbedderInfo {
    /// Registry name, or the directory for local models.
    pub name: String,
    /// Hugging Face id when known.
    pub hf_id: Option<String>,
    /// Model directory.
    pub dir: PathBuf,
    /// How the directory was found.
    pub source: String,
    /// Architecture.
    pub arch: Arch,
    /// Pooling.
    pub pooling: Pooling,
    /// L2 normalisation of outputs.
    pub normalize: bool,
    /// Output dimension (after Matryoshka truncation).
    pub dims: usize,
    /// The model's full output dimension.
    pub native_dims: usize,
    /// Token limit.
    pub max_tokens: usize,
    /// Query prefix applied by [`Embedder::embed_queries`].
    pub query_prefix: String,
    /// Document prefix applied by [`Embedder::embed_documents`].
    pub document_prefix: String,
    /// Device name (`cpu`, `cuda:0`, `metal`).
    pub device: String,
    /// How the device was chosen.
    pub device_report: String,
    /// Dtype name.
    pub dtype: String,
    /// For a remote model (`ollama:NAME`, `openai:NAME`): the server's endpoint, which texts
    /// are sent to; `None` for a model run in this process.
    pub endpoint: Option<String>,
}

/// Applies a CPU thread count for candle and rayon (see [`EmbedOptions::threads`]).
/// Process-wide (environment variables candle reads, rayon's global pool): for programs
/// that own their process, never called by the library itself.
pub fn set_threads(n: usize) {
    if n == 0 {
        return;
    }
    // Single-threaded at this point in the CLI; candle reads these when its pools start.
    std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
    // Fails harmlessly if the global pool already exists.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
}

/// Groups indices (sorted by descending length) into batches whose padded size
/// `count × longest` stays within `budget` (a single over-long text forms its own batch).
pub fn plan_batches(lengths: &[usize], budget: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by(|&a, &b| lengths[b].cmp(&lengths[a]).then(a.cmp(&b)));
    let mut batches = Vec::new();
    let mut cur: Vec<usize> = Vec::new();
    let mut longest = 0;
    for i in order {
        let l = lengths[i].max(1);
        let new_longest = longest.max(l);
        if !cur.is_empty() && (cur.len() + 1) * new_longest > budget {
            batches.push(std::mem::take(&mut cur));
            longest = 0;
        }
        longest = longest.max(l);
        cur.push(i);
    }
    if !cur.is_empty() {
        batches.push(cur);
    }
    batches
}

/// Matryoshka truncation and L2 normalisation of one pooled vector, in place.
/// Nomic's recipe (`layer_norm_first`) layer-norms (no affine, ε 1e-5) over the full
/// vector before truncating. Truncated vectors are always re-normalised.
pub fn finish(v: &mut Vec<f32>, dims: usize, layer_norm_first: bool, normalize: bool) {
    let truncating = dims < v.len();
    if layer_norm_first {
        let n = v.len() as f32;
        let mean = v.iter().sum::<f32>() / n;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + 1e-5).sqrt();
        for x in v.iter_mut() {
            *x = (*x - mean) * inv;
        }
    }
    v.truncate(dims);
    if normalize || truncating {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        for x in v.iter_mut() {
            *x /= norm;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_the_budget_and_cover_every_text_once() {
        let lengths = [5, 40, 7, 40, 3, 12];
        let batches = plan_batches(&lengths, 64);
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort();
        assert_eq!(seen, vec![0, 1, 2, 3, 4, 5]);
        for b in &batches {
            let longest = b.iter().map(|&i| lengths[i]).max().unwrap();
            assert!(b.len() == 1 || b.len() * longest <= 64, "{batches:?}");
        }
        // Longest first, so padding within a batch stays small.
        assert_eq!(batches[0], vec![1]);
        // An over-long text still gets a batch of its own.
        assert_eq!(plan_batches(&[1000], 64), vec![vec![0]]);
        assert!(plan_batches(&[], 64).is_empty());
    }

    #[test]
    fn finish_normalises_and_truncates() {
        let mut v = vec![3.0, 4.0, 0.0, 0.0];
        finish(&mut v, 4, false, true);
        assert_eq!(v, vec![0.6, 0.8, 0.0, 0.0]);
        let mut v = vec![3.0, 4.0, 12.0, 0.0];
        finish(&mut v, 2, false, false);
        assert_eq!(v, vec![0.6, 0.8], "truncation always re-normalises");
        let mut z = vec![0.0; 3];
        finish(&mut z, 3, false, true);
        assert!(z.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn device_and_dtype_parsing() {
        assert_eq!(
            "auto".parse::<DeviceRequest>().unwrap(),
            DeviceRequest::Auto
        );
        assert_eq!(
            "CUDA:2".parse::<DeviceRequest>().unwrap(),
            DeviceRequest::Cuda(2)
        );
        assert!("cuda:x".parse::<DeviceRequest>().is_err());
        assert_eq!(device::parse_dtype("bf16").unwrap(), Precision::Bf16);
        assert_eq!(device::parse_dtype(" F16 ").unwrap().name(), "f16");
        assert!(device::parse_dtype("f8").is_err());
    }

    #[cfg(feature = "embed")]
    #[test]
    fn device_selection_and_half_precision_masks() {
        use candle_core::{DType, Device, Tensor};
        assert_eq!(DType::from(Precision::Bf16), DType::BF16);
        // auto never fails: it falls back to the CPU and says why.
        let c = device::select(DeviceRequest::Auto).unwrap();
        assert!(c.report.starts_with("device: auto -> "));
        let half_finite = |x: f32| {
            Tensor::new(&[x], &Device::Cpu)
                .and_then(|t| t.to_dtype(DType::F16))
                .and_then(|t| t.to_dtype(DType::F32))
                .and_then(|t| t.to_vec1::<f32>())
                .map(|v| v[0].is_finite())
                .unwrap_or(false)
        };
        assert!(device::mask_value(DType::F16).is_finite());
        assert!(half_finite(device::mask_value(DType::F16)));
    }

    #[cfg(not(feature = "embed"))]
    #[test]
    fn a_lexical_only_build_says_how_to_get_models() {
        let err = Embedder::load("minilm", &EmbedOptions::default()).unwrap_err();
        assert!(matches!(err, EmbedError::FeatureDisabled), "{err}");
        assert!(err.to_string().contains("rebuild with default features"));
        assert!(matches!(
            select_device(DeviceRequest::Cpu),
            Err(EmbedError::FeatureDisabled)
        ));
        // The registry and the plain option values stay usable.
        assert_eq!(registry::lookup("minilm").map(|e| e.dims), Some(384));
        assert_eq!(Kernels::parse("reference"), Some(Kernels::Reference));
    }

    #[test]
    fn registry_is_consistent() {
        for e in REGISTRY {
            assert!(e.dims > 0 && e.max_tokens > 4, "{}", e.name);
            assert!(e.matryoshka_dims.iter().all(|d| *d <= e.dims), "{}", e.name);
            assert_eq!(registry::lookup(e.hf_id).map(|x| x.name), Some(e.name));
        }
        assert_eq!(registry::lookup("MiniLM").map(|e| e.dims), Some(384));
    }
}
