//! [`Embedder`] in a build without the `embed` cargo feature (lexical-only, no candle).
//!
//! The type keeps the engine's API, so the index, search and command-line code compile
//! unchanged in both builds, but it has no values: [`Embedder::load`] always returns
//! [`EmbedError::FeatureDisabled`], and the methods, which need an `Embedder`, can never
//! be called. Callers that treat a failed load as "no vectors" (the default model of
//! `cseek index`) run lexical-only; callers that need a model report the error.

use super::error::{EmbedError, Result};
use super::{EmbedOptions, EmbedderInfo, Kernels};

/// A loaded embedding model — of which a build without the `embed` feature has none
/// (an uninhabited type: see the module doc).
#[derive(Debug)]
pub enum Embedder {}

impl Embedder {
    /// Always [`EmbedError::FeatureDisabled`]: this build has no embedding engine.
    pub fn load(_spec: &str, _opts: &EmbedOptions) -> Result<Self> {
        Err(EmbedError::FeatureDisabled)
    }

    /// True for a Model2Vec static model.
    pub fn is_static(&self) -> bool {
        match *self {}
    }

    /// Output dimension.
    pub fn dims(&self) -> usize {
        match *self {}
    }

    /// What was loaded and how it is used.
    pub fn info(&self) -> &EmbedderInfo {
        match *self {}
    }

    /// The kernels that run the transformer layers.
    pub fn kernels(&self) -> Kernels {
        match *self {}
    }

    /// Switches the kernels of later calls.
    pub fn set_kernels(&mut self, _kernels: Kernels) {
        match *self {}
    }

    /// Embeds documents (code chunks), with the model's document prefix.
    pub fn embed_documents(&self, _texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        match *self {}
    }

    /// Embeds queries, with the model's query prefix.
    pub fn embed_queries(&self, _texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        match *self {}
    }

    /// Token ids the model sees for each text (prefix not added), after truncation.
    pub fn tokenize(&self, _texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        match *self {}
    }

    /// Embeds texts with an explicit prefix.
    pub fn embed_with_prefix(&self, _texts: &[&str], _prefix: &str) -> Result<Vec<Vec<f32>>> {
        match *self {}
    }

    /// Embeds pre-tokenised sequences (already framed and truncated).
    pub fn embed_token_ids(&self, _ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        match *self {}
    }
}
