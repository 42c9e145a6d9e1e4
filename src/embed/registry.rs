//! The models cseek knows by name, with the facts needed to use each one correctly
//! (pooling, normalisation, prefixes, limits, licence). Facts come from the model cards
//! and configs; see `/shared/notes/model-architectures.md` of the project for sources.

use serde::Serialize;

/// Model architectures implemented in `cseek::embed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    /// BERT (absolute positions from 0): MiniLM, BGE, StarEncoder.
    Bert,
    /// RoBERTa (positions offset by `pad_token_id + 1`): CodeBERT, UniXcoder.
    Roberta,
    /// NomicBERT (rotary, SwiGLU): nomic-embed-text, CodeRankEmbed.
    NomicBert,
    /// JinaBERT v2 "qk-post-norm" with ALiBi: jina-embeddings-v2-base-code.
    JinaBert,
    /// T5 encoder with a linear projection: CodeT5+ 110m embedding.
    T5Encoder,
    /// CodeSage: GPT-2 style pre-LN blocks, bidirectional.
    CodeSage,
    /// Model2Vec static embeddings: mean of per-token rows, no transformer (potion models,
    /// `cseek model distill` output).
    Model2Vec,
    /// A model run by an embedding server (`ollama:NAME`, `openai:NAME`, see
    /// [`remote`](super::remote)): its architecture is the server's business.
    Remote,
}

impl Arch {
    /// Short human name.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Bert => "bert",
            Arch::Roberta => "roberta",
            Arch::NomicBert => "nomic-bert",
            Arch::JinaBert => "jina-bert",
            Arch::T5Encoder => "t5-encoder",
            Arch::CodeSage => "codesage",
            Arch::Model2Vec => "model2vec",
            Arch::Remote => "remote",
        }
    }
}

/// How token states become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pooling {
    /// Σ(mask·h)/Σmask over all real tokens, special tokens included.
    Mean,
    /// The first token's state (`[CLS]` / `<s>`).
    Cls,
    /// The last real token's state.
    Last,
}

/// How the token sequence is framed around the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputTemplate {
    /// Whatever the tokenizer's post-processor adds (`[CLS] … [SEP]`, `<s> … </s>`).
    Tokenizer,
    /// UniXcoder encoder-only mode: `<s> <encoder-only> </s> … </s>`.
    UniXcoder,
    /// Tokenizer specials, then the end-of-text token appended (CodeSage's
    /// `add_eos_token=True`; without it quality drops, per its model card).
    AppendEos,
}

/// One entry of the model registry.
#[derive(Debug, Clone, Serialize)]
pub struct ModelEntry {
    /// Name used on the command line (`--model NAME`).
    pub name: &'static str,
    /// Hugging Face repository id.
    pub hf_id: &'static str,
    /// Architecture (also read from `config.json` and checked at load).
    pub arch: Arch,
    /// Pooling of token states.
    pub pooling: Pooling,
    /// Whether the final vector is L2-normalised.
    pub normalize: bool,
    /// Prefix prepended to queries.
    pub query_prefix: &'static str,
    /// Prefix prepended to documents (code chunks).
    pub document_prefix: &'static str,
    /// Token limit applied by cseek (longer texts are truncated, never rejected).
    pub max_tokens: usize,
    /// Output dimension.
    pub dims: usize,
    /// Allowed Matryoshka truncations (empty: none).
    pub matryoshka_dims: &'static [usize],
    /// Nomic's Matryoshka recipe: layer-norm (no affine) over the full vector before truncating.
    pub matryoshka_layer_norm: bool,
    /// Sequence framing.
    pub template: InputTemplate,
    /// Licence of the weights.
    pub licence: &'static str,
    /// Caveats a user should know.
    pub notes: &'static str,
}

const fn entry(
    name: &'static str,
    hf_id: &'static str,
    arch: Arch,
    pooling: Pooling,
    dims: usize,
    max_tokens: usize,
    licence: &'static str,
) -> ModelEntry {
    ModelEntry {
        name,
        hf_id,
        arch,
        pooling,
        normalize: true,
        query_prefix: "",
        document_prefix: "",
        max_tokens,
        dims,
        matryoshka_dims: &[],
        matryoshka_layer_norm: false,
        template: InputTemplate::Tokenizer,
        licence,
        notes: "",
    }
}

/// Every model cseek knows by name.
pub static REGISTRY: &[ModelEntry] = &[
    ModelEntry {
        notes: "the fast CPU model; sentence-transformers' max_seq_length is 256",
        ..entry(
            "minilm",
            "sentence-transformers/all-MiniLM-L6-v2",
            Arch::Bert,
            Pooling::Mean,
            384,
            256,
            "Apache-2.0",
        )
    },
    ModelEntry {
        query_prefix: "Represent this sentence for searching relevant passages: ",
        notes: "query instruction per the model card (optional in v1.5)",
        ..entry(
            "bge-small",
            "BAAI/bge-small-en-v1.5",
            Arch::Bert,
            Pooling::Cls,
            384,
            512,
            "MIT",
        )
    },
    ModelEntry {
        notes: "ALiBi, 8192 tokens; cseek builds ALiBi for the actual length",
        ..entry(
            "jina-code",
            "jinaai/jina-embeddings-v2-base-code",
            Arch::JinaBert,
            Pooling::Mean,
            768,
            8192,
            "Apache-2.0",
        )
    },
    ModelEntry {
        notes: "first-token state projected 768->256, L2-normalised",
        ..entry(
            "codet5p-110m",
            "Salesforce/codet5p-110m-embedding",
            Arch::T5Encoder,
            Pooling::Cls,
            256,
            512,
            "BSD-3-Clause",
        )
    },
    ModelEntry {
        query_prefix: "search_query: ",
        document_prefix: "search_document: ",
        matryoshka_dims: &[768, 512, 256, 128, 64],
        matryoshka_layer_norm: true,
        notes: "task prefixes required; trained at 2048 tokens",
        ..entry(
            "nomic-embed-text",
            "nomic-ai/nomic-embed-text-v1.5",
            Arch::NomicBert,
            Pooling::Mean,
            768,
            8192,
            "Apache-2.0",
        )
    },
    ModelEntry {
        query_prefix: "Represent this query for searching relevant code: ",
        notes: "CLS pooling per its 1_Pooling/config.json; query prefix required",
        ..entry(
            "coderankembed",
            "nomic-ai/CodeRankEmbed",
            Arch::NomicBert,
            Pooling::Cls,
            768,
            8192,
            "MIT",
        )
    },
    ModelEntry {
        notes: "MLM/RTD-pretrained, no official sentence pooling: mean used; weak retriever without fine-tuning",
        ..entry(
            "codebert",
            "microsoft/codebert-base",
            Arch::Roberta,
            Pooling::Mean,
            768,
            512,
            "MIT",
        )
    },
    ModelEntry {
        template: InputTemplate::UniXcoder,
        notes: "encoder-only framing <s> <encoder-only> </s> ... </s>, mean pooling as in unixcoder.py",
        ..entry(
            "unixcoder",
            "microsoft/unixcoder-base",
            Arch::Roberta,
            Pooling::Mean,
            768,
            1023,
            "Apache-2.0",
        )
    },
    ModelEntry {
        notes: "MLM+NSP-trained, no sentence objective: a weak retriever, for comparison only; gated on the hub (accept BigCode OpenRAIL-M first)",
        ..entry(
            "starencoder",
            "bigcode/starencoder",
            Arch::Bert,
            Pooling::Mean,
            768,
            1024,
            "BigCode-OpenRAIL-M",
        )
    },
    ModelEntry {
        template: InputTemplate::AppendEos,
        notes: "appends <|endoftext|> as its tokenizer's add_eos_token does; Matryoshka recipe unpublished, so not offered",
        ..entry(
            "codesage-small",
            "codesage/codesage-small-v2",
            Arch::CodeSage,
            Pooling::Mean,
            1024,
            2048,
            "Apache-2.0",
        )
    },
    ModelEntry {
        notes: "static (Model2Vec): mean of token rows, microseconds per query on a CPU; code-specialised, distilled from CodeRankEmbed",
        ..entry(
            "potion-code",
            "minishlab/potion-code-16M-v2",
            Arch::Model2Vec,
            Pooling::Mean,
            256,
            512,
            "MIT",
        )
    },
    ModelEntry {
        notes: "static (Model2Vec): mean of token rows, microseconds per query on a CPU; general English, distilled from bge-base-en-v1.5",
        ..entry(
            "potion-base-8m",
            "minishlab/potion-base-8M",
            Arch::Model2Vec,
            Pooling::Mean,
            256,
            512,
            "MIT",
        )
    },
];

/// Looks a model up by its cseek name or its Hugging Face id (case-insensitive).
pub fn lookup(name: &str) -> Option<&'static ModelEntry> {
    REGISTRY
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(name) || e.hf_id.eq_ignore_ascii_case(name))
}
