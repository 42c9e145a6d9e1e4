//! The transformer encoder shared by every architecture.
//!
//! One [`EncoderLayer`] type serves BERT, RoBERTa, NomicBERT, JinaBERT, T5 and CodeSage; the
//! architectures differ only in parameters of it:
//! - position scheme: absolute embeddings (added before the encoder, by the model), rotary
//!   (applied to q/k inside [`SelfAttention`]), or an additive per-head bias (ALiBi, T5
//!   relative buckets) that the model folds into the attention bias once per batch;
//! - Q/K LayerNorm (JinaBERT) and score scale (T5 does not scale);
//! - feed-forward: plain two-layer with an activation, or gated (SwiGLU, GeGLU);
//! - norm placement: post-norm (BERT), pre-norm (T5, CodeSage), Jina's double post-norm.
//!
//! Q, K and V are always one fused `[3H, H]` projection (fused at load time), and the
//! attention takes one additive bias tensor (padding mask + position bias).
//!
//! The `forward` methods here are the candle-op reference path. The CPU fast path
//! ([`super::fast`]: fused QKV with bias, per-(batch, head) attention kernel, fused
//! element-wise passes) reads these same structs; this module knows nothing of it, and
//! the choice between the two is made above both ([`super::model::run_encoder`]).

use candle_core::{DType, Device, Module, Tensor, D};

pub use super::activation::Activation;
use super::error::Result;

/// A dense layer `y = x·Wᵀ + b` with `W` stored `[out, in]`.
#[derive(Debug, Clone)]
pub struct Dense {
    /// `[out, in]`.
    pub weight: Tensor,
    /// `[out]`, if any.
    pub bias: Option<Tensor>,
}

impl Dense {
    /// Applies the layer to `[..., in]`, flattening leading dimensions into one GEMM.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        let (last, lead) = match dims.split_last() {
            Some((l, lead)) => (*l, lead.to_vec()),
            None => return Ok(x.clone()),
        };
        let rows: usize = lead.iter().product();
        let x2 = x.reshape((rows, last))?;
        let mut y = x2.matmul(&self.weight.t()?)?;
        if let Some(b) = &self.bias {
            y = y.broadcast_add(b)?;
        }
        let mut out_dims = lead;
        out_dims.push(self.weight.dim(0)?);
        Ok(y.reshape(out_dims)?)
    }

    /// Output features.
    pub fn out_dim(&self) -> usize {
        self.weight.dims().first().copied().unwrap_or(0)
    }
}

/// Normalisation layers.
#[derive(Debug, Clone)]
pub enum Norm {
    /// LayerNorm with affine weight and bias.
    LayerNorm {
        /// γ.
        weight: Tensor,
        /// β.
        bias: Tensor,
        /// ε.
        eps: f32,
    },
    /// RMSNorm (T5): no mean subtraction, no bias.
    RmsNorm {
        /// γ.
        weight: Tensor,
        /// ε.
        eps: f32,
    },
}

impl Norm {
    /// Normalises over the last dimension.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = x.contiguous()?;
        Ok(match self {
            Norm::LayerNorm { weight, bias, eps } => {
                candle_nn::ops::layer_norm(&x, weight, bias, *eps)?
            }
            Norm::RmsNorm { weight, eps } => candle_nn::ops::rms_norm(&x, weight, *eps)?,
        })
    }
}

/// Applies an activation with candle's definitions (the fast path's kernels match them).
fn activate(act: Activation, x: &Tensor) -> Result<Tensor> {
    Ok(match act {
        Activation::GeluErf => x.gelu_erf()?,
        Activation::GeluTanh => x.gelu()?,
        Activation::Relu => x.relu()?,
        Activation::Silu => x.silu()?,
    })
}

/// The feed-forward block.
#[derive(Debug, Clone)]
pub enum FeedForward {
    /// `fc2(act(fc1 x))`.
    Plain {
        /// Up projection.
        fc1: Dense,
        /// Down projection.
        fc2: Dense,
        /// Activation.
        act: Activation,
    },
    /// `down(up(x) ⊙ act(gate(x)))`, with up and gate fused into one `[2I, H]` projection,
    /// the first half being "up" and the second the gate.
    Gated {
        /// Fused up+gate projection.
        up_gate: Dense,
        /// Down projection.
        down: Dense,
        /// Activation on the gate half.
        act: Activation,
    },
}

impl FeedForward {
    /// Applies the block.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            FeedForward::Plain { fc1, fc2, act } => fc2.forward(&activate(*act, &fc1.forward(x)?)?),
            FeedForward::Gated { up_gate, down, act } => {
                let ug = up_gate.forward(x)?;
                let i = up_gate.out_dim() / 2;
                let up = ug.narrow(D::Minus1, 0, i)?;
                let gate = ug.narrow(D::Minus1, i, i)?;
                down.forward(&(up * activate(*act, &gate)?)?)
            }
        }
    }
}

/// Rotary position embedding (NeoX style: rotate halves), cos/sin tables built for the
/// actual sequence length of each batch.
#[derive(Debug, Clone, Copy)]
pub struct Rotary {
    /// Base θ.
    pub base: f32,
    /// Rotated dimensions per head (= head_dim for the supported models).
    pub dim: usize,
}

impl Rotary {
    /// `(cos, sin)`, each `[len, dim/2]`, for positions `0..len`.
    pub fn tables(&self, len: usize, dtype: DType, device: &Device) -> Result<(Tensor, Tensor)> {
        let half = self.dim / 2;
        let mut cos = Vec::with_capacity(len * half);
        let mut sin = Vec::with_capacity(len * half);
        for p in 0..len {
            for i in 0..half {
                let inv = 1.0f32 / self.base.powf((2 * i) as f32 / self.dim as f32);
                let a = p as f32 * inv;
                cos.push(a.cos());
                sin.push(a.sin());
            }
        }
        let cos = Tensor::from_vec(cos, (len, half), device)?.to_dtype(dtype)?;
        let sin = Tensor::from_vec(sin, (len, half), device)?.to_dtype(dtype)?;
        Ok((cos, sin))
    }
}

/// Multi-head self-attention with fused QKV and one additive bias.
#[derive(Debug, Clone)]
pub struct SelfAttention {
    /// Fused `[3H, H]` projection, rows in q, k, v order.
    pub qkv: Dense,
    /// LayerNorm on q over the full hidden size before the head split (JinaBERT).
    pub q_norm: Option<Norm>,
    /// LayerNorm on k (JinaBERT).
    pub k_norm: Option<Norm>,
    /// Output projection.
    pub out: Dense,
    /// Number of heads.
    pub num_heads: usize,
    /// Per-head dimension.
    pub head_dim: usize,
    /// Score scale (1/√head_dim, or 1 for T5).
    pub scale: f64,
    /// Whether rotary embeddings are applied to q and k.
    pub rotary: bool,
}

/// Per-batch inputs of the attention beyond the hidden states.
#[derive(Debug, Clone)]
pub struct AttentionContext {
    /// Additive bias broadcastable to `[B, heads, L, L]` (mask, plus ALiBi or T5 bias).
    pub bias: Tensor,
    /// `(cos, sin)` rotary tables for this length, when the model uses rotary positions.
    pub rope: Option<(Tensor, Tensor)>,
}

impl SelfAttention {
    /// `x: [B, L, H]` → `[B, L, H]` (after the output projection).
    pub fn forward(&self, x: &Tensor, ctx: &AttentionContext) -> Result<Tensor> {
        let (b, l, _) = x.dims3()?;
        let inner = self.num_heads * self.head_dim;
        let qkv = self.qkv.forward(x)?;
        let mut q = qkv.narrow(D::Minus1, 0, inner)?;
        let mut k = qkv.narrow(D::Minus1, inner, inner)?;
        let v = qkv.narrow(D::Minus1, 2 * inner, inner)?;
        if let Some(n) = &self.q_norm {
            q = n.forward(&q)?;
        }
        if let Some(n) = &self.k_norm {
            k = n.forward(&k)?;
        }
        let heads = |t: Tensor| -> Result<Tensor> {
            Ok(t.reshape((b, l, self.num_heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let (mut q, mut k, v) = (heads(q)?, heads(k)?, heads(v)?);
        if self.rotary {
            if let Some((cos, sin)) = &ctx.rope {
                q = candle_nn::rotary_emb::rope(&q, cos, sin)?;
                k = candle_nn::rotary_emb::rope(&k, cos, sin)?;
            }
        }
        let mut scores = q.matmul(&k.t()?)?;
        if self.scale != 1.0 {
            scores = (scores * self.scale)?;
        }
        let scores = scores.broadcast_add(&ctx.bias)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, l, inner))?;
        self.out.forward(&out)
    }
}

/// Where the norms sit in a layer.
#[derive(Debug, Clone)]
pub enum NormPlacement {
    /// BERT: `h = N1(x + attn(x)); y = N2(h + ffn(h))`.
    Post {
        /// After attention.
        attn: Norm,
        /// After the feed-forward.
        ffn: Norm,
    },
    /// T5, GPT-2: `h = x + attn(N1 x); y = h + ffn(N2 h)`.
    Pre {
        /// Before attention.
        attn: Norm,
        /// Before the feed-forward.
        ffn: Norm,
    },
    /// JinaBERT v2 qk-post-norm: `a = Na(attn(x) + x); h = N1(x + a); y = N2(h + ffn(h))`
    /// (the residual is added twice, as in the reference implementation).
    JinaDoublePost {
        /// `attention.output.LayerNorm`.
        attn_out: Norm,
        /// `layer_norm_1`.
        norm1: Norm,
        /// `layer_norm_2`.
        norm2: Norm,
    },
}

/// One encoder layer.
#[derive(Debug, Clone)]
pub struct EncoderLayer {
    /// Self-attention.
    pub attn: SelfAttention,
    /// Feed-forward.
    pub ffn: FeedForward,
    /// Norm placement.
    pub norms: NormPlacement,
}

impl EncoderLayer {
    /// `[B, L, H]` → `[B, L, H]`.
    pub fn forward(&self, x: &Tensor, ctx: &AttentionContext) -> Result<Tensor> {
        match &self.norms {
            NormPlacement::Post { attn, ffn } => {
                let h = attn.forward(&(x + self.attn.forward(x, ctx)?)?)?;
                ffn.forward(&(&h + self.ffn.forward(&h)?)?)
            }
            NormPlacement::Pre { attn, ffn } => {
                let h = (x + self.attn.forward(&attn.forward(x)?, ctx)?)?;
                Ok((&h + self.ffn.forward(&ffn.forward(&h)?)?)?)
            }
            NormPlacement::JinaDoublePost {
                attn_out,
                norm1,
                norm2,
            } => {
                let a = attn_out.forward(&(self.attn.forward(x, ctx)? + x)?)?;
                let h = norm1.forward(&(x + a)?)?;
                norm2.forward(&(&h + self.ffn.forward(&h)?)?)
            }
        }
    }
}

/// A stack of layers plus an optional final norm (T5, CodeSage).
#[derive(Debug, Clone)]
pub struct Encoder {
    /// Layers in order.
    pub layers: Vec<EncoderLayer>,
    /// Norm after the last layer.
    pub final_norm: Option<Norm>,
}

impl Encoder {
    /// Runs all layers with candle tensor ops: the reference path, on any device and
    /// dtype. Which path runs a batch is chosen above this module, by
    /// [`super::model::run_encoder`] from the caller's [`super::Kernels`].
    pub fn forward(&self, x: &Tensor, ctx: &AttentionContext) -> Result<Tensor> {
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.forward(&h, ctx)?;
        }
        match &self.final_norm {
            Some(n) => n.forward(&h),
            None => Ok(h),
        }
    }
}

/// The additive padding bias `[B, 1, 1, L]`: 0 for real tokens, a large finite negative
/// for pads (see [`super::device::mask_value`]).
pub fn padding_bias(
    lengths: &[usize],
    len: usize,
    dtype: DType,
    device: &Device,
) -> Result<Tensor> {
    let neg = super::device::mask_value(dtype);
    let mut v = Vec::with_capacity(lengths.len() * len);
    for &n in lengths {
        v.extend((0..len).map(|j| if j < n { 0.0f32 } else { neg }));
    }
    Ok(Tensor::from_vec(v, (lengths.len(), 1, 1, len), device)?.to_dtype(dtype)?)
}

/// Embedding lookup `[B, L]` ids → `[B, L, H]`.
pub fn embed(table: &Tensor, ids: &Tensor) -> Result<Tensor> {
    let emb = candle_nn::Embedding::new(table.clone(), table.dim(1)?);
    Ok(emb.forward(ids)?)
}
