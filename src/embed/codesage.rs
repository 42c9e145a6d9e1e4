//! CodeSage encoder (codesage/codesage-small-v2 and relatives).
//!
//! Zhang et al., "Code Representation Learning at Scale" (ICLR 2024), arXiv:2402.01935.
//! Model card: codesage/codesage-small-v2 (`modeling_codesage.py`).
//!
//! GPT-2-style pre-LN blocks with **bidirectional** attention (no causal mask):
//! `x = wte + wpe`; per block `x += c_proj(attn(ln_1 x)); x += c_proj(gelu_tanh(c_fc(ln_2 x)))`;
//! final `ln_f`. Weights are GPT-2 `Conv1D` (`[in, out]`), transposed once at load. The
//! tokenizer appends `<|endoftext|>` (see [`super::registry::InputTemplate::AppendEos`]).

use candle_core::{DType, Device, Tensor};

use super::config::RawConfig;
use super::error::Result;
use super::layers::{
    embed, padding_bias, Activation, AttentionContext, Encoder, EncoderLayer, FeedForward,
    NormPlacement, SelfAttention,
};
use super::model::{check_heads, run_encoder, EncoderInput, EncoderModel};
use super::weights::Weights;

/// Hyper-parameters read from `config.json`.
#[derive(Debug, Clone)]
pub struct Config {
    /// `vocab_size`.
    pub vocab_size: usize,
    /// `hidden_size` / `n_embd`.
    pub hidden_size: usize,
    /// `num_hidden_layers` / `n_layer`.
    pub num_layers: usize,
    /// `num_attention_heads` / `n_head`.
    pub num_heads: usize,
    /// `intermediate_size` / `n_inner`.
    pub intermediate_size: usize,
    /// `max_position_embeddings` / `n_positions`.
    pub max_positions: usize,
    /// `layer_norm_epsilon`.
    pub eps: f64,
    /// `activation_function`.
    pub activation: Activation,
}

impl Config {
    /// Maps the config (GPT-2 and BERT key spellings both accepted).
    pub fn from_raw(cfg: &RawConfig) -> Result<Self> {
        let act = cfg.str_or(&["activation_function", "hidden_act"], "gelu_new");
        let hidden = cfg.usize(&["hidden_size", "n_embd"])?;
        let pos = cfg.str_or(&["position_embedding_type"], "absolute");
        if pos != "absolute" {
            return Err(cfg.err(format!("position_embedding_type `{pos}` is not supported")));
        }
        Ok(Self {
            vocab_size: cfg.usize(&["vocab_size"])?,
            hidden_size: hidden,
            num_layers: cfg.usize(&["num_hidden_layers", "n_layer"])?,
            num_heads: cfg.usize(&["num_attention_heads", "n_head"])?,
            intermediate_size: cfg.usize_or(&["intermediate_size", "n_inner"], 4 * hidden),
            max_positions: cfg.usize(&["max_position_embeddings", "n_positions"])?,
            eps: cfg.f64_or(&["layer_norm_epsilon", "layer_norm_eps"], 1e-5),
            activation: Activation::from_hf(act)
                .ok_or_else(|| cfg.err(format!("unsupported activation `{act}`")))?,
        })
    }
}

/// A loaded CodeSage encoder.
#[derive(Debug)]
pub struct CodeSageModel {
    wte: Tensor,
    wpe: Tensor,
    encoder: Encoder,
    config: Config,
    device: Device,
    dtype: DType,
}

impl CodeSageModel {
    /// Loads the weights (keys unprefixed or under `transformer.` / `encoder.`).
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
            "wte.weight",
            &["", "transformer", "encoder", "model"],
        )?;
        let (h, i) = (c.hidden_size, c.intermediate_size);
        let mut layers = Vec::with_capacity(c.num_layers);
        for l in 0..c.num_layers {
            let p = format!("h.{l}");
            let attn = SelfAttention {
                qkv: w.conv1d(&format!("{p}.attn.c_attn"), h, 3 * h)?,
                q_norm: None,
                k_norm: None,
                out: w.conv1d(&format!("{p}.attn.c_proj"), h, h)?,
                num_heads: c.num_heads,
                head_dim,
                scale: 1.0 / (head_dim as f64).sqrt(),
                rotary: false,
            };
            let ffn = FeedForward::Plain {
                fc1: w.conv1d(&format!("{p}.mlp.c_fc"), h, i)?,
                fc2: w.conv1d(&format!("{p}.mlp.c_proj"), i, h)?,
                act: c.activation,
            };
            let norms = NormPlacement::Pre {
                attn: w.layer_norm(&format!("{p}.ln_1"), h, c.eps)?,
                ffn: w.layer_norm(&format!("{p}.ln_2"), h, c.eps)?,
            };
            layers.push(EncoderLayer { attn, ffn, norms });
        }
        Ok(Self {
            wte: w.get("wte.weight", &[c.vocab_size, h])?,
            wpe: w.get("wpe.weight", &[c.max_positions, h])?,
            encoder: Encoder {
                layers,
                final_norm: Some(w.layer_norm("ln_f", h, c.eps)?),
            },
            config: c,
            device: device.clone(),
            dtype,
        })
    }
}

impl EncoderModel for CodeSageModel {
    fn forward(&self, input: &EncoderInput) -> Result<Tensor> {
        let x = embed(&self.wte, &input.input_ids)?;
        let pos = self.wpe.narrow(0, 0, input.seq_len)?.unsqueeze(0)?;
        let x = x.broadcast_add(&pos)?;
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
        Some(self.config.max_positions)
    }
    fn device(&self) -> &Device {
        &self.device
    }
    fn dtype(&self) -> DType {
        self.dtype
    }
}
