//! BERT and RoBERTa encoders.
//!
//! BERT: Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for
//! Language Understanding" (2019), arXiv:1810.04805. RoBERTa: Liu et al., "RoBERTa: A
//! Robustly Optimized BERT Pretraining Approach" (2019), arXiv:1907.11692.
//!
//! Checkpoints served: sentence-transformers/all-MiniLM-L6-v2, BAAI/bge-small-en-v1.5,
//! bigcode/starencoder (BERT); microsoft/codebert-base, microsoft/unixcoder-base (RoBERTa).
//!
//! Post-norm layers: `h = LN(x + Attn(x)); y = LN(h + W2·gelu(W1·h))`, scores scaled by
//! 1/√head_dim. The only difference that matters here is the position ids: BERT counts
//! from 0; RoBERTa counts real tokens from `pad_token_id + 1` and gives pads
//! `pad_token_id` (HF `create_position_ids_from_input_ids`), hence P = 514 / 1026.
//! Masking uses a finite negative (never `f32::MIN`, which is −inf in half precision).

use candle_core::{DType, Device, Tensor};

use super::config::RawConfig;
use super::error::Result;
use super::layers::{
    embed, padding_bias, Activation, AttentionContext, Encoder, EncoderLayer, FeedForward, Norm,
    NormPlacement, SelfAttention,
};
use super::model::{check_heads, run_encoder, EncoderInput, EncoderModel};
use super::registry::Arch;
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
    /// `hidden_act`.
    pub activation: Activation,
    /// `max_position_embeddings`.
    pub max_position_embeddings: usize,
    /// `type_vocab_size` (0: no token-type table).
    pub type_vocab_size: usize,
    /// `layer_norm_eps`.
    pub layer_norm_eps: f64,
    /// `pad_token_id`.
    pub pad_token_id: usize,
    /// RoBERTa-style position ids (offset by `pad_token_id + 1`).
    pub roberta_positions: bool,
}

impl Config {
    /// Maps a BERT/RoBERTa `config.json`.
    pub fn from_raw(cfg: &RawConfig, arch: Arch) -> Result<Self> {
        let act = cfg.str_or(&["hidden_act"], "gelu");
        let activation = Activation::from_hf(act)
            .ok_or_else(|| cfg.err(format!("unsupported hidden_act `{act}`")))?;
        let pos_type = cfg.str_or(&["position_embedding_type"], "absolute");
        if pos_type != "absolute" {
            return Err(cfg.err(format!(
                "position_embedding_type `{pos_type}` is not supported for BERT"
            )));
        }
        Ok(Self {
            vocab_size: cfg.usize(&["vocab_size"])?,
            hidden_size: cfg.usize(&["hidden_size"])?,
            num_layers: cfg.usize(&["num_hidden_layers"])?,
            num_heads: cfg.usize(&["num_attention_heads"])?,
            intermediate_size: cfg.usize(&["intermediate_size"])?,
            activation,
            max_position_embeddings: cfg.usize(&["max_position_embeddings"])?,
            type_vocab_size: cfg.usize_or(&["type_vocab_size"], 2),
            layer_norm_eps: cfg.f64_or(&["layer_norm_eps"], 1e-12),
            pad_token_id: cfg
                .usize_or(&["pad_token_id"], if arch == Arch::Roberta { 1 } else { 0 }),
            roberta_positions: arch == Arch::Roberta,
        })
    }
}

/// A loaded BERT or RoBERTa encoder.
#[derive(Debug)]
pub struct BertModel {
    word: Tensor,
    position: Tensor,
    token_type: Option<Tensor>,
    emb_norm: Norm,
    encoder: Encoder,
    config: Config,
    device: Device,
    dtype: DType,
}

impl BertModel {
    /// Loads the weights; tries keys unprefixed, then `bert.` / `roberta.` / `model.`.
    pub fn load(
        dir: &std::path::Path,
        cfg: &RawConfig,
        arch: Arch,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        let c = Config::from_raw(cfg, arch)?;
        let head_dim = check_heads(c.hidden_size, c.num_heads, cfg)?;
        let w = Weights::open(
            dir,
            dtype,
            device,
            "embeddings.word_embeddings.weight",
            &["", "bert", "roberta", "model", "encoder_model"],
        )?;
        let (h, i) = (c.hidden_size, c.intermediate_size);
        let token_type = if c.type_vocab_size > 0 {
            Some(w.get(
                "embeddings.token_type_embeddings.weight",
                &[c.type_vocab_size, h],
            )?)
        } else {
            None
        };
        let mut layers = Vec::with_capacity(c.num_layers);
        for l in 0..c.num_layers {
            let p = format!("encoder.layer.{l}");
            let attn = SelfAttention {
                qkv: w.fused_dense(
                    &[
                        &format!("{p}.attention.self.query"),
                        &format!("{p}.attention.self.key"),
                        &format!("{p}.attention.self.value"),
                    ],
                    h,
                    h,
                    true,
                )?,
                q_norm: None,
                k_norm: None,
                out: w.dense(&format!("{p}.attention.output.dense"), h, h, true)?,
                num_heads: c.num_heads,
                head_dim,
                scale: 1.0 / (head_dim as f64).sqrt(),
                rotary: false,
            };
            let ffn = FeedForward::Plain {
                fc1: w.dense(&format!("{p}.intermediate.dense"), i, h, true)?,
                fc2: w.dense(&format!("{p}.output.dense"), h, i, true)?,
                act: c.activation,
            };
            let norms = NormPlacement::Post {
                attn: w.layer_norm(
                    &format!("{p}.attention.output.LayerNorm"),
                    h,
                    c.layer_norm_eps,
                )?,
                ffn: w.layer_norm(&format!("{p}.output.LayerNorm"), h, c.layer_norm_eps)?,
            };
            layers.push(EncoderLayer { attn, ffn, norms });
        }
        Ok(Self {
            word: w.get("embeddings.word_embeddings.weight", &[c.vocab_size, h])?,
            position: w.get(
                "embeddings.position_embeddings.weight",
                &[c.max_position_embeddings, h],
            )?,
            token_type,
            emb_norm: w.layer_norm("embeddings.LayerNorm", h, c.layer_norm_eps)?,
            encoder: Encoder {
                layers,
                final_norm: None,
            },
            config: c,
            device: device.clone(),
            dtype,
        })
    }

    /// Position ids `[B, L]` for the batch (see the module doc for RoBERTa's offset).
    fn position_ids(&self, input: &EncoderInput) -> Result<Tensor> {
        let (b, l) = (input.lengths.len(), input.seq_len);
        let mut pos = Vec::with_capacity(b * l);
        for &n in &input.lengths {
            if self.config.roberta_positions {
                // cumsum(mask)·mask + pad_idx: real tokens pad+1, pad+2, …; pads get pad_idx.
                let pad = self.config.pad_token_id as u32;
                pos.extend((0..l).map(|j| if j < n { pad + 1 + j as u32 } else { pad }));
            } else {
                pos.extend((0..l).map(|j| j as u32));
            }
        }
        Ok(Tensor::from_vec(pos, (b, l), &self.device)?)
    }
}

impl EncoderModel for BertModel {
    fn forward(&self, input: &EncoderInput) -> Result<Tensor> {
        let mut x = embed(&self.word, &input.input_ids)?;
        x = (x + embed(&self.position, &self.position_ids(input)?)?)?;
        if let Some(tt) = &self.token_type {
            // All token types are 0: add row 0 to every position.
            x = x.broadcast_add(&tt.narrow(0, 0, 1)?)?;
        }
        let x = self.emb_norm.forward(&x)?;
        let ctx = AttentionContext {
            bias: padding_bias(&input.lengths, input.seq_len, self.dtype, &self.device)?,
            rope: None,
        };
        run_encoder(&self.encoder, &x, &ctx, input.kernels)
    }
    fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }
    fn max_positions(&self) -> Option<usize> {
        let offset = if self.config.roberta_positions {
            self.config.pad_token_id + 1
        } else {
            0
        };
        Some(self.config.max_position_embeddings.saturating_sub(offset))
    }
    fn device(&self) -> &Device {
        &self.device
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
}
