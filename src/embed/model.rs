//! The interface every architecture implements, so that batching, pooling and
//! normalisation exist once (in [`super::Embedder`]), and [`run_encoder`], the one place
//! that picks the path running the shared encoder: above both the reference layers and
//! the CPU fast path, so neither imports the other.

use candle_core::{DType, Device, Tensor};

use super::error::Result;
use super::fast::{self, Kernels};
use super::layers::{AttentionContext, Encoder};

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
    /// Which implementation runs the encoder layers for this batch (the embedder's
    /// [`super::EmbedOptions::kernels`]); the model hands it to [`run_encoder`].
    pub kernels: Kernels,
}

/// Runs `encoder` on `x` `[B, L, H]` with the chosen kernels: the fused CPU path when
/// `kernels` asks for it and it covers this model and input (f32 on the CPU), else the
/// candle-op reference path ([`Encoder::forward`]).
pub fn run_encoder(
    encoder: &Encoder,
    x: &Tensor,
    ctx: &AttentionContext,
    kernels: Kernels,
) -> Result<Tensor> {
    if let Kernels::Fast(isa) = kernels {
        if let Some(y) = fast::encoder_forward(encoder, x, ctx, isa)? {
            return Ok(y);
        }
    }
    encoder.forward(x, ctx)
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
    if heads == 0 || !hidden.is_multiple_of(heads) {
        return Err(cfg.err(format!(
            "hidden size {hidden} is not divisible by {heads} heads"
        )));
    }
    Ok(hidden / heads)
}
