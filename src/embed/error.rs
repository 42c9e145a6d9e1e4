//! Typed errors of the embed stage.

use std::path::PathBuf;

/// Everything that can go wrong while resolving, loading or running an embedding model.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The model could not be found locally and could not be downloaded.
    #[error(
        "model `{spec}` is not available ({detail}).\nProvide it in one of three ways:\n  \
         1. pass a local directory holding config.json, tokenizer.json and model.safetensors \
         (or pytorch_model.bin): --model DIR, or --model NAME --model-dir DIR;\n  \
         2. put it in the Hugging Face cache (HF_HOME, hub layout), e.g. with \
         `huggingface-cli download {hf_id}` on a machine with network access;\n  \
         3. allow the download: network access to huggingface.co and HF_HUB_OFFLINE unset."
    )]
    ModelNotFound {
        /// What the user asked for.
        spec: String,
        /// The Hugging Face id tried (or the spec itself).
        hf_id: String,
        /// What was tried and why it failed.
        detail: String,
    },

    /// The name is neither a registry model nor an existing directory.
    #[error(
        "unknown model `{0}`: not a registry name (see `cseek models`) nor an existing directory"
    )]
    UnknownModel(String),

    /// A file of the model directory is missing or unreadable.
    #[error("{action} {path}: {source}")]
    Io {
        /// What we were doing.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// `config.json` is malformed or describes something we do not support.
    #[error("model config {path}: {detail}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },

    /// The architecture named in `config.json` has no implementation here.
    #[error("unsupported architecture in {path}: {detail}; supported: BERT, RoBERTa, NomicBERT, JinaBERT v2 (ALiBi), T5 encoder / CodeT5+ embedding, CodeSage, Model2Vec static")]
    UnsupportedArchitecture {
        /// The config file.
        path: PathBuf,
        /// model_type / architectures found.
        detail: String,
    },

    /// The tokenizer could not be loaded or failed on a text.
    #[error("tokenizer {path}: {detail}")]
    Tokenizer {
        /// tokenizer.json of the model.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },

    /// The weight files are missing, damaged, or lack tensors the architecture needs.
    #[error("weights in {path}: {detail}")]
    Weights {
        /// The model directory or weight file.
        path: PathBuf,
        /// What went wrong (e.g. the missing tensor name).
        detail: String,
    },

    /// The requested device cannot be used.
    #[error("device: {0}")]
    Device(String),

    /// An option is out of range (Matryoshka dim, max tokens, dtype ...).
    #[error("invalid embed option: {0}")]
    InvalidOption(String),

    /// A remote model's server could not be used: unreachable, refused the request, or
    /// answered something that is not the vectors asked for.
    #[error("{server}: {message}")]
    Remote {
        /// Which server (protocol and endpoint, no credentials).
        server: String,
        /// What went wrong, and what to do about it where known.
        message: String,
    },

    /// The caller's progress callback asked to stop. What the teacher computed so far is
    /// kept in a checkpoint, which the next run on the same input resumes from.
    #[error("stopped by the caller; the next run resumes from what was computed")]
    Cancelled,

    /// A tensor operation failed while running the model.
    #[cfg(feature = "embed")]
    #[error("model computation failed: {0}")]
    Compute(#[from] candle_core::Error),

    /// This build has no embedding engine: it was compiled without the `embed` cargo
    /// feature (a lexical-only build), so no model can be loaded or run.
    #[error(
        "cseek was built without the `embed` feature; rebuild with default features to use \
         embedding models"
    )]
    FeatureDisabled,
}

impl EmbedError {
    /// An [`EmbedError::Io`] of `action` on `path`.
    #[cfg(feature = "embed")]
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        EmbedError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Result alias of the embed stage.
pub type Result<T, E = EmbedError> = std::result::Result<T, E>;
