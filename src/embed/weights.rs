//! Weight loading: safetensors (single or sharded) or PyTorch `.bin`, in the requested
//! dtype, with key-prefix fallback (`""`, `bert.`, `roberta.`, `transformer.` …) because
//! uploads of the same architecture differ there.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use super::error::{EmbedError, Result};
use super::layers::{Dense, Norm};

/// Tensors of one checkpoint, with the key prefix that was detected.
pub struct Weights {
    vb: VarBuilder<'static>,
    path: PathBuf,
}

impl Weights {
    /// Opens the weight file(s) of `dir` and picks the first prefix under which `probe`
    /// exists (e.g. probe `embeddings.word_embeddings.weight`, prefixes `["", "bert"]`).
    pub fn open(
        dir: &Path,
        dtype: DType,
        device: &Device,
        probe: &str,
        prefixes: &[&str],
    ) -> Result<Self> {
        let werr = |detail: String| EmbedError::Weights {
            path: dir.to_path_buf(),
            detail,
        };
        let single = dir.join("model.safetensors");
        let index = dir.join("model.safetensors.index.json");
        let bin = dir.join("pytorch_model.bin");
        let vb = if single.is_file() {
            // SAFETY: the file is mapped read-only; cseek does not modify model files while
            // they are loaded (the usual caveat of mmap applies to external writers).
            unsafe { VarBuilder::from_mmaped_safetensors(&[&single], dtype, device) }
                .map_err(|e| werr(format!("reading model.safetensors: {e}")))?
        } else if index.is_file() {
            let shards = shard_files(&index)?;
            unsafe { VarBuilder::from_mmaped_safetensors(&shards, dtype, device) }
                .map_err(|e| werr(format!("reading sharded safetensors: {e}")))?
        } else if bin.is_file() {
            VarBuilder::from_pth(&bin, dtype, device)
                .map_err(|e| werr(format!("reading pytorch_model.bin: {e}")))?
        } else {
            return Err(werr(
                "no model.safetensors, model.safetensors.index.json or pytorch_model.bin".into(),
            ));
        };
        for p in prefixes {
            let cand = if p.is_empty() { vb.clone() } else { vb.pp(*p) };
            if cand.contains_tensor(probe) {
                return Ok(Self {
                    vb: cand,
                    path: dir.to_path_buf(),
                });
            }
        }
        Err(werr(format!(
            "tensor `{probe}` not found under any of the prefixes {:?}; is this the right architecture?",
            prefixes
        )))
    }

    /// A tensor by name, with its shape checked.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        self.vb.get(shape, name).map_err(|e| EmbedError::Weights {
            path: self.path.clone(),
            detail: format!("tensor `{}{name}`: {e}", self.prefix_display()),
        })
    }

    /// A tensor's shape, when it exists (for sizes that configs do not state).
    pub fn shape_of(&self, name: &str) -> Option<Vec<usize>> {
        self.vb.get_unchecked(name).ok().map(|t| t.dims().to_vec())
    }

    /// True when the tensor exists.
    pub fn has(&self, name: &str) -> bool {
        self.vb.contains_tensor(name)
    }

    fn prefix_display(&self) -> String {
        let p = self.vb.prefix();
        if p.is_empty() {
            p
        } else {
            format!("{p}.")
        }
    }

    /// A dense layer `{name}.weight` `[out, in]` and optionally `{name}.bias` `[out]`.
    pub fn dense(&self, name: &str, out: usize, inp: usize, bias: bool) -> Result<Dense> {
        let weight = self.get(&format!("{name}.weight"), &[out, inp])?;
        let bias = if bias {
            Some(self.get(&format!("{name}.bias"), &[out])?)
        } else {
            None
        };
        Ok(Dense { weight, bias })
    }

    /// A GPT-2 `Conv1D` stored `[in, out]`, transposed once here into a [`Dense`].
    pub fn conv1d(&self, name: &str, inp: usize, out: usize) -> Result<Dense> {
        let weight = self
            .get(&format!("{name}.weight"), &[inp, out])?
            .t()?
            .contiguous()?;
        let bias = Some(self.get(&format!("{name}.bias"), &[out])?);
        Ok(Dense { weight, bias })
    }

    /// Several dense layers with the same input, fused row-wise into one (Q,K,V → QKV).
    pub fn fused_dense(&self, names: &[&str], out: usize, inp: usize, bias: bool) -> Result<Dense> {
        let parts = names
            .iter()
            .map(|n| self.dense(n, out, inp, bias))
            .collect::<Result<Vec<_>>>()?;
        let ws: Vec<&Tensor> = parts.iter().map(|d| &d.weight).collect();
        let weight = Tensor::cat(&ws, 0)?;
        let bias = if bias {
            let bs: Vec<&Tensor> = parts.iter().filter_map(|d| d.bias.as_ref()).collect();
            Some(Tensor::cat(&bs, 0)?)
        } else {
            None
        };
        Ok(Dense { weight, bias })
    }

    /// LayerNorm `{name}.weight`/`{name}.bias`; also accepts the old `gamma`/`beta` names.
    pub fn layer_norm(&self, name: &str, dim: usize, eps: f64) -> Result<Norm> {
        let (w, b) = if self.has(&format!("{name}.gamma")) {
            ("gamma", "beta")
        } else {
            ("weight", "bias")
        };
        Ok(Norm::LayerNorm {
            weight: self.get(&format!("{name}.{w}"), &[dim])?,
            bias: self.get(&format!("{name}.{b}"), &[dim])?,
            eps: eps as f32,
        })
    }

    /// RMSNorm `{name}.weight`.
    pub fn rms_norm(&self, name: &str, dim: usize, eps: f64) -> Result<Norm> {
        Ok(Norm::RmsNorm {
            weight: self.get(&format!("{name}.weight"), &[dim])?,
            eps: eps as f32,
        })
    }
}

fn shard_files(index: &Path) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(index).map_err(|source| EmbedError::Io {
        action: "reading",
        path: index.to_path_buf(),
        source,
    })?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| EmbedError::Weights {
        path: index.to_path_buf(),
        detail: format!("bad shard index: {e}"),
    })?;
    let dir = index.parent().unwrap_or(Path::new("."));
    let mut files: Vec<PathBuf> = v
        .get("weight_map")
        .and_then(|m| m.as_object())
        .map(|m| {
            m.values()
                .filter_map(|f| f.as_str())
                .map(|f| dir.join(f))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.dedup();
    if files.is_empty() {
        return Err(EmbedError::Weights {
            path: index.to_path_buf(),
            detail: "empty weight_map".into(),
        });
    }
    Ok(files)
}
