//! The activation functions of the supported checkpoints, as plain descriptions.
//!
//! Both encoder paths read this one enum: the candle-op reference path
//! ([`super::layers`]) and the fused CPU kernels ([`super::fast`]). It lives apart from
//! either so that neither has to import the other to agree on what `"gelu"` means.

/// Activation functions used by the supported checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Exact erf GELU (`"gelu"` in HF configs).
    GeluErf,
    /// tanh approximation (`"gelu_new"`, `"gelu_pytorch_tanh"`).
    GeluTanh,
    /// ReLU.
    Relu,
    /// SiLU / swish.
    Silu,
}

impl Activation {
    /// Parses a Hugging Face `hidden_act` / `activation_function` value.
    pub fn from_hf(name: &str) -> Option<Self> {
        match name {
            "gelu" | "gelu_python" => Some(Self::GeluErf),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" | "gelu_tanh" => Some(Self::GeluTanh),
            "relu" => Some(Self::Relu),
            "silu" | "swish" | "swiglu" => Some(Self::Silu),
            _ => None,
        }
    }
}
