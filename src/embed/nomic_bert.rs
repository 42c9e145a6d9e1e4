//! NomicBERT encoder.
//!
//! Nussbaum et al., "Nomic Embed: Training a Reproducible Long Context Text Embedder"
//! (2024), arXiv:2402.01613; model cards nomic-ai/nomic-embed-text-v1.5 and
//! nomic-ai/CodeRankEmbed (Suresh et al., "CoRNStack", arXiv:2412.01007).
//!
//! BERT-like post-norm layers with rotary position embeddings (NeoX style, rotate halves,
//! base `rotary_emb_base`, positions from 0, no scaling), a fused bias-free `Wqkv`, and a
//! SwiGLU feed-forward `fc2(fc11(h) ⊙ silu(fc12(h)))`. Embeddings are word + token type 0,
//! then `emb_ln`; no absolute positions, so sequence length is limited only by memory.

use candle_core::{DType, Device, Tensor};

use super::config::RawConfig;
use super::error::Result;
use super::layers::{
    embed, padding_bias, Activation, AttentionContext, Dense, Encoder, EncoderLayer, FeedForward,
    Norm, NormPlacement, Rotary, SelfAttention,
};
use super::model::{check_heads, run_encoder, EncoderInput, EncoderModel};
use super::weights::Weights;

/// Hyper-parameters read from `config.json` (`n_embd`, `n_layer`, …).
#[derive(Debug, Clone)]
pub struct Config {
    /// `vocab_size`.
    pub vocab_size: usize,
    /// `n_embd`.
    pub hidden_size: usize,
    /// `n_layer`.
    pub num_layers: usize,
    /// `n_head`.
    pub num_heads: usize,
    /// `n_inner`.
    pub intermediate_size: usize,
    /// `type_vocab_size`.
    pub type_vocab_size: usize,
    /// `layer_norm_epsilon`.
    pub layer_norm_eps: f64,
    /// `rotary_emb_base`.
    pub rotary_base: f64,
    /// `qkv_proj_bias`.
    pub qkv_bias: bool,
    /// `mlp_fc1_bias`.
    pub fc1_bias: bool,
    /// `mlp_fc2_bias`.
    pub fc2_bias: bool,
}

impl Config {
    /// Maps a `nomic_bert` config; rejects variants the checkpoints above do not use.
    pub fn from_raw(cfg: &RawConfig) -> Result<Self> {
        if cfg.bool_or(&["prenorm"], false) {
            return Err(cfg.err("prenorm NomicBERT is not supported".into()));
        }
        if cfg.bool_or(&["rotary_emb_interleaved"], false) {
            return Err(cfg.err("interleaved rotary is not supported".into()));
        }
        if (cfg.f64_or(&["rotary_emb_fraction"], 1.0) - 1.0).abs() > 1e-9 {
            return Err(cfg.err("rotary_emb_fraction != 1 is not supported".into()));
        }
        let act = cfg.str_or(&["activation_function"], "swiglu");
        if act != "swiglu" {
            return Err(cfg.err(format!("activation `{act}` is not supported (swiglu only)")));
        }
        let hidden = cfg.usize(&["n_embd", "hidden_size"])?;
        Ok(Self {
            vocab_size: cfg.usize(&["vocab_size"])?,
            hidden_size: hidden,
            num_layers: cfg.usize(&["n_layer", "num_hidden_layers"])?,
            num_heads: cfg.usize(&["n_head", "num_attention_heads"])?,
            intermediate_size: cfg.usize_or(&["n_inner", "intermediate_size"], 4 * hidden),
            type_vocab_size: cfg.usize_or(&["type_vocab_size"], 2),
            layer_norm_eps: cfg.f64_or(&["layer_norm_epsilon", "layer_norm_eps"], 1e-12),
            rotary_base: cfg.f64_or(&["rotary_emb_base"], 10_000.0),
            qkv_bias: cfg.bool_or(&["qkv_proj_bias"], false),
            fc1_bias: cfg.bool_or(&["mlp_fc1_bias"], false),
            fc2_bias: cfg.bool_or(&["mlp_fc2_bias"], false),
        })
    }
}

/// A loaded NomicBERT encoder.
#[derive(Debug)]
pub struct NomicBertModel {
    word: Tensor,
    token_type: Option<Tensor>,
    emb_norm: Norm,
    encoder: Encoder,
    rotary: Rotary,
    config: Config,
    device: Device,
    dtype: DType,
}

impl NomicBertModel {
    /// Loads the weights (keys unprefixed, or under `model.` / `bert.`).
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
            &["", "model", "bert"],
        )?;
        let (h, i) = (c.hidden_size, c.intermediate_size);
        let mut layers = Vec::with_capacity(c.num_layers);
        for l in 0..c.num_layers {
            let p = format!("encoder.layers.{l}");
            let attn = SelfAttention {
                qkv: w.dense(&format!("{p}.attn.Wqkv"), 3 * h, h, c.qkv_bias)?,
                q_norm: None,
                k_norm: None,
                out: w.dense(&format!("{p}.attn.out_proj"), h, h, c.qkv_bias)?,
                num_heads: c.num_heads,
                head_dim,
                scale: 1.0 / (head_dim as f64).sqrt(),
                rotary: true,
            };
            // fc11 is the "up" half, fc12 the gate (silu), fused as [up; gate].
            let up = w.dense(&format!("{p}.mlp.fc11"), i, h, c.fc1_bias)?;
            let gate = w.dense(&format!("{p}.mlp.fc12"), i, h, c.fc1_bias)?;
            let up_gate = Dense {
                weight: Tensor::cat(&[&up.weight, &gate.weight], 0)?,
                bias: match (&up.bias, &gate.bias) {
                    (Some(a), Some(b)) => Some(Tensor::cat(&[a, b], 0)?),
                    _ => None,
                },
            };
            let ffn = FeedForward::Gated {
                up_gate,
                down: w.dense(&format!("{p}.mlp.fc2"), h, i, c.fc2_bias)?,
                act: Activation::Silu,
            };
            let norms = NormPlacement::Post {
                attn: w.layer_norm(&format!("{p}.norm1"), h, c.layer_norm_eps)?,
                ffn: w.layer_norm(&format!("{p}.norm2"), h, c.layer_norm_eps)?,
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
            emb_norm: w.layer_norm("emb_ln", h, c.layer_norm_eps)?,
            encoder: Encoder {
                layers,
                final_norm: None,
            },
            rotary: Rotary {
                base: c.rotary_base as f32,
                dim: head_dim,
            },
            config: c,
            device: device.clone(),
            dtype,
        })
    }
}

impl EncoderModel for NomicBertModel {
    fn forward(&self, input: &EncoderInput) -> Result<Tensor> {
        let mut x = embed(&self.word, &input.input_ids)?;
        if let Some(tt) = &self.token_type {
            x = x.broadcast_add(&tt.narrow(0, 0, 1)?)?;
        }
        let x = self.emb_norm.forward(&x)?;
        let ctx = AttentionContext {
            bias: padding_bias(&input.lengths, input.seq_len, self.dtype, &self.device)?,
            rope: Some(
                self.rotary
                    .tables(input.seq_len, self.dtype, &self.device)?,
            ),
        };
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
