//! JinaBERT v2, "qk-post-norm" variant (jina-embeddings-v2-base-code).
//!
//! Günther et al., "Jina Embeddings 2: 8192-Token General-Purpose Text Embeddings for Long
//! Documents" (2023), arXiv:2310.19923; ALiBi from Press et al., "Train Short, Test Long"
//! (2022), arXiv:2108.12409. Model card: jinaai/jina-embeddings-v2-base-code; the forward
//! pass follows the reference `jina-bert-v2-qk-post-norm` code (as TEI's `jina_code.rs`).
//!
//! Differences from BERT: no position embeddings but a symmetric ALiBi bias
//! `−slope_h·|i−j|` (built here for the actual batch length, not a precomputed 8192² table);
//! LayerNorms on q and k over the full hidden size; the layer is
//! `a = LN_o(Wo·ctx + x); h = LN_1(x + a); y = LN_2(h + down(up ⊙ gelu(gate)))` with
//! `up_gated_layer` holding `[up; gate]`. candle-transformers' `jina_bert` cannot load this
//! checkpoint and has no attention mask; this implementation masks pads.

use candle_core::{DType, Device, Tensor};

use super::config::RawConfig;
use super::error::Result;
use super::layers::{
    embed, padding_bias, Activation, AttentionContext, Encoder, EncoderLayer, FeedForward, Norm,
    NormPlacement, SelfAttention,
};
use super::model::{check_heads, run_encoder, EncoderInput, EncoderModel};
use super::weights::Weights;

/// Hyper-parameters read from `config.json`.
#[derive(Debug, Clone)]
pub struct Config {
    /// `vocab_size`.
    pub vocab_size: usize,
    /// `hidden_size`.
    pub hidden_size: usize,
    /// `num_hidden_layers`.
    pub num_layers: usize,
    /// `num_attention_heads`.
    pub num_heads: usize,
    /// `intermediate_size`.
    pub intermediate_size: usize,
    /// `type_vocab_size`.
    pub type_vocab_size: usize,
    /// `layer_norm_eps`.
    pub layer_norm_eps: f64,
    /// `hidden_act` applied to the gate.
    pub activation: Activation,
}

impl Config {
    /// Maps the config; only the `geglu` feed-forward with q/k LayerNorms is supported.
    pub fn from_raw(cfg: &RawConfig) -> Result<Self> {
        let ff = cfg.str_or(&["feed_forward_type"], "geglu");
        if ff != "geglu" {
            return Err(cfg.err(format!(
                "feed_forward_type `{ff}` is not supported (geglu only)"
            )));
        }
        let act = cfg.str_or(&["hidden_act"], "gelu");
        Ok(Self {
            vocab_size: cfg.usize(&["vocab_size"])?,
            hidden_size: cfg.usize(&["hidden_size"])?,
            num_layers: cfg.usize(&["num_hidden_layers"])?,
            num_heads: cfg.usize(&["num_attention_heads"])?,
            intermediate_size: cfg.usize(&["intermediate_size"])?,
            type_vocab_size: cfg.usize_or(&["type_vocab_size"], 2),
            layer_norm_eps: cfg.f64_or(&["layer_norm_eps"], 1e-12),
            activation: Activation::from_hf(act)
                .ok_or_else(|| cfg.err(format!("unsupported hidden_act `{act}`")))?,
        })
    }
}

/// ALiBi slopes for `n` heads (Press et al.): for the largest power of two `p ≤ n` the
/// geometric sequence `2^(-8/p·k)`, then every other slope of the `2p` sequence.
pub fn alibi_slopes(n: usize) -> Vec<f32> {
    fn pow2(n: usize) -> Vec<f64> {
        let start = 2f64.powf(-8.0 / n as f64);
        (1..=n).map(|k| start.powi(k as i32)).collect()
    }
    if n == 0 {
        return Vec::new();
    }
    let p = 1usize << (usize::BITS - 1 - n.leading_zeros());
    let mut s = pow2(p);
    if p < n {
        s.extend(pow2(2 * p).into_iter().step_by(2).take(n - p));
    }
    s.into_iter().map(|x| x as f32).collect()
}

/// A loaded JinaBERT v2 encoder.
#[derive(Debug)]
pub struct JinaBertModel {
    word: Tensor,
    token_type: Option<Tensor>,
    emb_norm: Norm,
    encoder: Encoder,
    slopes: Vec<f32>,
    config: Config,
    device: Device,
    dtype: DType,
}

impl JinaBertModel {
    /// Loads the weights (keys unprefixed or under `bert.`).
    pub fn load(
        dir: &std::path::Path,
        cfg: &RawConfig,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        let c = Config::from_raw(cfg)?;
        let head_dim = check_heads(c.hidden_size, c.num_heads, cfg)?;
        let w = Weights::open(
            dir,
            dtype,
            device,
            "embeddings.word_embeddings.weight",
            &["", "bert", "model"],
        )?;
        let (h, i, eps) = (c.hidden_size, c.intermediate_size, c.layer_norm_eps);
        let mut layers = Vec::with_capacity(c.num_layers);
        for l in 0..c.num_layers {
            let p = format!("encoder.layer.{l}");
            let s = format!("{p}.attention.self");
            let attn = SelfAttention {
                qkv: w.fused_dense(
                    &[
                        &format!("{s}.query"),
                        &format!("{s}.key"),
                        &format!("{s}.value"),
                    ],
                    h,
                    h,
                    true,
                )?,
                q_norm: Some(w.layer_norm(&format!("{s}.layer_norm_q"), h, eps)?),
                k_norm: Some(w.layer_norm(&format!("{s}.layer_norm_k"), h, eps)?),
                out: w.dense(&format!("{p}.attention.output.dense"), h, h, true)?,
                num_heads: c.num_heads,
                head_dim,
                scale: 1.0 / (head_dim as f64).sqrt(),
                rotary: false,
            };
            let ffn = FeedForward::Gated {
                up_gate: w.dense(&format!("{p}.mlp.up_gated_layer"), 2 * i, h, false)?,
                down: w.dense(&format!("{p}.mlp.down_layer"), h, i, true)?,
                act: c.activation,
            };
            let norms = NormPlacement::JinaDoublePost {
                attn_out: w.layer_norm(&format!("{p}.attention.output.LayerNorm"), h, eps)?,
                norm1: w.layer_norm(&format!("{p}.layer_norm_1"), h, eps)?,
                norm2: w.layer_norm(&format!("{p}.layer_norm_2"), h, eps)?,
            };
            layers.push(EncoderLayer { attn, ffn, norms });
        }
        let token_type = if c.type_vocab_size > 0 {
            Some(w.get(
                "embeddings.token_type_embeddings.weight",
                &[c.type_vocab_size, h],
            )?)
        } else {
            None
        };
        Ok(Self {
            word: w.get("embeddings.word_embeddings.weight", &[c.vocab_size, h])?,
            token_type,
            emb_norm: w.layer_norm("embeddings.LayerNorm", h, eps)?,
            encoder: Encoder {
                layers,
                final_norm: None,
            },
            slopes: alibi_slopes(c.num_heads),
            config: c,
            device: device.clone(),
            dtype,
        })
    }

    /// `[1, heads, L, L]` ALiBi bias for this length.
    fn alibi(&self, len: usize) -> Result<Tensor> {
        let mut v = Vec::with_capacity(self.slopes.len() * len * len);
        for &s in &self.slopes {
            for i in 0..len {
                v.extend((0..len).map(|j| -s * (i as f32 - j as f32).abs()));
            }
        }
        Ok(
            Tensor::from_vec(v, (1, self.slopes.len(), len, len), &self.device)?
                .to_dtype(self.dtype)?,
        )
    }
}

impl EncoderModel for JinaBertModel {
    fn forward(&self, input: &EncoderInput) -> Result<Tensor> {
        let mut x = embed(&self.word, &input.input_ids)?;
        if let Some(tt) = &self.token_type {
            x = x.broadcast_add(&tt.narrow(0, 0, 1)?)?;
        }
        let x = self.emb_norm.forward(&x)?;
        let mask = padding_bias(&input.lengths, input.seq_len, self.dtype, &self.device)?;
        let bias = mask.broadcast_add(&self.alibi(input.seq_len)?)?;
        let ctx = AttentionContext { bias, rope: None };
        run_encoder(&self.encoder, &x, &ctx, input.kernels)
    }
    fn hidden_size(&self) -> usize {
        self.config.hidden_size
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
    use super::alibi_slopes;

    #[test]
    fn alibi_slopes_for_12_heads_match_the_reference_order() {
        let want: Vec<f32> = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 0.5, 1.5, 2.5, 3.5]
            .iter()
            .map(|e: &f64| 2f64.powf(-e) as f32)
            .collect();
        let got = alibi_slopes(12);
        assert_eq!(got.len(), 12);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-7, "{got:?}");
        }
        assert_eq!(alibi_slopes(8).len(), 8);
    }
}
