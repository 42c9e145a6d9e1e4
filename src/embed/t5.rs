//! T5 encoder with an optional linear projection (CodeT5+ 110m embedding).
//!
//! Raffel et al., "Exploring the Limits of Transfer Learning with a Unified Text-to-Text
//! Transformer" (2020), arXiv:1910.10683; Wang et al., "CodeT5+: Open Code Large Language
//! Models for Code Understanding and Generation" (2023), arXiv:2305.07922. Model card:
//! Salesforce/codet5p-110m-embedding (`CodeT5pEmbeddingModel` = `T5EncoderModel` + `proj`).
//!
//! Pre-norm layers with RMSNorm (no bias anywhere), unscaled scores, and a bidirectional
//! relative-position bias computed once from block 0's bucket table and added in every
//! layer, together with the padding mask (candle-transformers' T5 encoder takes no mask).
//! Embedding = L2(proj(h[:, 0])) — pooling and normalisation are done by the caller.

use candle_core::{DType, Device, Tensor};

use super::config::RawConfig;
use super::error::Result;
use super::layers::{
    embed, padding_bias, Activation, AttentionContext, Dense, Encoder, EncoderLayer, FeedForward,
    NormPlacement, SelfAttention,
};
use super::model::{run_encoder, EncoderInput, EncoderModel};
use super::weights::Weights;

/// Hyper-parameters read from a T5 / `codet5p_embedding` config.
#[derive(Debug, Clone)]
pub struct Config {
    /// `vocab_size`.
    pub vocab_size: usize,
    /// `d_model`.
    pub d_model: usize,
    /// `d_kv` (per-head dimension).
    pub d_kv: usize,
    /// `d_ff`.
    pub d_ff: usize,
    /// `num_layers`.
    pub num_layers: usize,
    /// `num_heads`.
    pub num_heads: usize,
    /// `relative_attention_num_buckets`.
    pub num_buckets: usize,
    /// `relative_attention_max_distance`.
    pub max_distance: usize,
    /// `layer_norm_epsilon`.
    pub eps: f64,
    /// Activation of the feed-forward (`feed_forward_proj`).
    pub activation: Activation,
    /// `gated-*` feed-forward (T5 v1.1: `wi_0` gate, `wi_1` up).
    pub gated: bool,
}

impl Config {
    /// Maps the config (CodeT5+'s custom config type included).
    pub fn from_raw(cfg: &RawConfig) -> Result<Self> {
        let proj = cfg.str_or(&["feed_forward_proj"], "relu");
        let (gated, act_name) = match proj.strip_prefix("gated-") {
            Some(a) => (true, a),
            None => (false, proj),
        };
        let activation = Activation::from_hf(act_name)
            .ok_or_else(|| cfg.err(format!("unsupported feed_forward_proj `{proj}`")))?;
        let d_model = cfg.usize(&["d_model"])?;
        let num_heads = cfg.usize(&["num_heads"])?;
        Ok(Self {
            vocab_size: cfg.usize(&["vocab_size"])?,
            d_model,
            d_kv: cfg.usize_or(&["d_kv"], d_model / num_heads.max(1)),
            d_ff: cfg.usize(&["d_ff"])?,
            num_layers: cfg.usize(&["num_layers"])?,
            num_heads,
            num_buckets: cfg.usize_or(&["relative_attention_num_buckets"], 32),
            max_distance: cfg.usize_or(&["relative_attention_max_distance"], 128),
            eps: cfg.f64_or(&["layer_norm_epsilon"], 1e-6),
            activation,
            gated,
        })
    }
}

/// T5's bidirectional relative-position bucket for `rel = key_pos − query_pos`
/// (HF `_relative_position_bucket`, computed in f32 like the reference).
pub fn relative_bucket(rel: i64, num_buckets: usize, max_distance: usize) -> usize {
    let half = (num_buckets / 2) as i64;
    let mut ret = if rel > 0 { half } else { 0 };
    let n = rel.abs();
    let max_exact = half / 2;
    if n < max_exact {
        ret += n;
    } else {
        let v = ((n as f32 / max_exact as f32).ln() / (max_distance as f32 / max_exact as f32).ln()
            * (half - max_exact) as f32) as i64;
        ret += (max_exact + v).min(half - 1);
    }
    ret as usize
}

/// A loaded T5 encoder (+ projection).
#[derive(Debug)]
pub struct T5EncoderModel {
    shared: Tensor,
    encoder: Encoder,
    /// `[buckets, heads]` relative bias table, host copy.
    rel_table: Vec<f32>,
    proj: Option<Dense>,
    config: Config,
    device: Device,
    dtype: DType,
}

impl T5EncoderModel {
    /// Loads the weights (keys unprefixed, or under `transformer.` / `model.`).
    pub fn load(
        dir: &std::path::Path,
        cfg: &RawConfig,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        let c = Config::from_raw(cfg)?;
        let w = Weights::open(
            dir,
            dtype,
            device,
            "encoder.block.0.layer.0.SelfAttention.q.weight",
            &["", "transformer", "model"],
        )?;
        let (h, inner, ff) = (c.d_model, c.num_heads * c.d_kv, c.d_ff);
        let mut layers = Vec::with_capacity(c.num_layers);
        for l in 0..c.num_layers {
            let p = format!("encoder.block.{l}.layer");
            let attn = SelfAttention {
                qkv: w.fused_dense(
                    &[
                        &format!("{p}.0.SelfAttention.q"),
                        &format!("{p}.0.SelfAttention.k"),
                        &format!("{p}.0.SelfAttention.v"),
                    ],
                    inner,
                    h,
                    false,
                )?,
                q_norm: None,
                k_norm: None,
                out: w.dense(&format!("{p}.0.SelfAttention.o"), h, inner, false)?,
                num_heads: c.num_heads,
                head_dim: c.d_kv,
                // T5 folds the scale into its initialisation: scores are not scaled.
                scale: 1.0,
                rotary: false,
            };
            let d = format!("{p}.1.DenseReluDense");
            let ffn = if c.gated {
                let gate = w.dense(&format!("{d}.wi_0"), ff, h, false)?;
                let up = w.dense(&format!("{d}.wi_1"), ff, h, false)?;
                FeedForward::Gated {
                    up_gate: Dense {
                        weight: Tensor::cat(&[&up.weight, &gate.weight], 0)?,
                        bias: None,
                    },
                    down: w.dense(&format!("{d}.wo"), h, ff, false)?,
                    act: c.activation,
                }
            } else {
                FeedForward::Plain {
                    fc1: w.dense(&format!("{d}.wi"), ff, h, false)?,
                    fc2: w.dense(&format!("{d}.wo"), h, ff, false)?,
                    act: c.activation,
                }
            };
            let norms = NormPlacement::Pre {
                attn: w.rms_norm(&format!("{p}.0.layer_norm"), h, c.eps)?,
                ffn: w.rms_norm(&format!("{p}.1.layer_norm"), h, c.eps)?,
            };
            layers.push(EncoderLayer { attn, ffn, norms });
        }
        let shared = if w.has("shared.weight") {
            w.get("shared.weight", &[c.vocab_size, h])?
        } else {
            w.get("encoder.embed_tokens.weight", &[c.vocab_size, h])?
        };
        let rel_table = w
            .get(
                "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                &[c.num_buckets, c.num_heads],
            )?
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let proj = if w.has("proj.weight") {
            let stored = w.shape_of("proj.weight").and_then(|s| s.first().copied());
            let embed_dim = cfg.usize_or(&["embed_dim", "projection_dim"], stored.unwrap_or(h));
            Some(w.dense("proj", embed_dim, h, w.has("proj.bias"))?)
        } else {
            None
        };
        Ok(Self {
            shared,
            encoder: Encoder {
                layers,
                final_norm: Some(w.rms_norm("encoder.final_layer_norm", h, c.eps)?),
            },
            rel_table,
            proj,
            config: c,
            device: device.clone(),
            dtype,
        })
    }

    /// `[1, heads, L, L]` relative-position bias for this length.
    fn position_bias(&self, len: usize) -> Result<Tensor> {
        let heads = self.config.num_heads;
        let mut v = vec![0f32; heads * len * len];
        for i in 0..len {
            for j in 0..len {
                let b = relative_bucket(
                    j as i64 - i as i64,
                    self.config.num_buckets,
                    self.config.max_distance,
                );
                for hd in 0..heads {
                    v[(hd * len + i) * len + j] = self.rel_table[b * heads + hd];
                }
            }
        }
        Ok(Tensor::from_vec(v, (1, heads, len, len), &self.device)?.to_dtype(self.dtype)?)
    }
}

impl EncoderModel for T5EncoderModel {
    fn forward(&self, input: &EncoderInput) -> Result<Tensor> {
        let x = embed(&self.shared, &input.input_ids)?;
        let mask = padding_bias(&input.lengths, input.seq_len, self.dtype, &self.device)?;
        let bias = mask.broadcast_add(&self.position_bias(input.seq_len)?)?;
        let ctx = AttentionContext { bias, rope: None };
        run_encoder(&self.encoder, &x, &ctx, input.kernels)
    }
    fn hidden_size(&self) -> usize {
        self.config.d_model
    }
    fn project(&self, pooled: &Tensor) -> Result<Tensor> {
        match &self.proj {
            Some(p) => p.forward(pooled),
            None => Ok(pooled.clone()),
        }
    }
    fn output_dims(&self) -> usize {
        self.proj
            .as_ref()
            .map(Dense::out_dim)
            .unwrap_or(self.config.d_model)
    }
    fn max_positions(&self) -> Option<usize> {
        None
    }
    fn device(&self) -> &Device {
        &self.device
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
}

#[cfg(test)]
mod tests {
    use super::relative_bucket;

    #[test]
    fn buckets_are_exact_near_and_logarithmic_far() {
        // Keys before the query use buckets 0..16, after it 16..32.
        assert_eq!(relative_bucket(0, 32, 128), 0);
        assert_eq!(relative_bucket(-3, 32, 128), 3);
        assert_eq!(relative_bucket(3, 32, 128), 19);
        assert_eq!(relative_bucket(-8, 32, 128), 8);
        assert_eq!(relative_bucket(-16, 32, 128), 10);
        assert_eq!(relative_bucket(-127, 32, 128), 15);
        assert_eq!(relative_bucket(-1000, 32, 128), 15);
        assert_eq!(relative_bucket(1000, 32, 128), 31);
    }
}
