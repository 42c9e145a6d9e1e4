//! The interface every architecture implements, so that batching, pooling and
//! normalisation exist once (in [`super::Embedder`]).

use candle_core::{DType, Device, Tensor};

use super::error::Result;

/// One padded batch, right-padded, as host data and as a device tensor.
#[derive(Debug, Clone)]
pub struct EncoderInput {
    /// `[B, L]` u32 token ids on the model's device (pads hold the tokenizer's pad id).
    pub input_ids: Tensor,
    /// The same ids on the host, row-major `B × L`.
    pub ids_host: Vec<u32>,
    /// Real (unpadded) length of each row.
    pub lengths: Vec<usize>,
    /// Padded length `L`.
    pub seq_len: usize,
}

/// A transformer encoder producing per-token states.
pub trait EncoderModel: Send + Sync {
    /// Token states `[B, L, H]` in the model dtype. Pad positions may hold anything; they
    /// are masked out of attention here and out of pooling by the caller.
    fn forward(&self, input: &EncoderInput) -> Result<Tensor>;
    /// Hidden size `H`.
    fn hidden_size(&self) -> usize;
    /// A head applied to the pooled vector `[B, H]` (CodeT5+'s `proj`); identity by default.
    fn project(&self, pooled: &Tensor) -> Result<Tensor> {
        Ok(pooled.clone())
    }
    /// Dimension after [`EncoderModel::project`].
    fn output_dims(&self) -> usize {
        self.hidden_size()
    }
    /// Hard limit on tokens imposed by learned absolute positions, if any.
    fn max_positions(&self) -> Option<usize>;
    /// Device of the weights.
    fn device(&self) -> &Device;
    /// Dtype of the weights and activations.
    fn dtype(&self) -> DType;
}

/// Heads / head-dim / scale helper shared by the model files.
pub(crate) fn check_heads(
    hidden: usize,
    heads: usize,
    cfg: &super::config::RawConfig,
) -> Result<usize> {
    if heads == 0 || hidden % heads != 0 {
        return Err(cfg.err(format!(
            "hidden size {hidden} is not divisible by {heads} heads"
        )));
    }
    Ok(hidden / heads)
}
