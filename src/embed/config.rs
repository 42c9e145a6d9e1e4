//! Reading `config.json`: architecture detection and typed access to keys that differ in
//! name between families (`hidden_size` / `n_embd` / `d_model` …).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::error::{EmbedError, Result};
use super::registry::Arch;

/// A parsed `config.json`.
#[derive(Debug, Clone)]
pub struct RawConfig {
    /// The JSON object.
    pub value: Value,
    /// Where it came from (for error messages).
    pub path: PathBuf,
}

impl RawConfig {
    /// Reads `dir/config.json`.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|source| EmbedError::Io {
            action: "reading",
            path: path.clone(),
            source,
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|e| EmbedError::Config {
            path: path.clone(),
            detail: format!("not valid JSON: {e}"),
        })?;
        if !value.is_object() {
            return Err(EmbedError::Config {
                path,
                detail: "not a JSON object".into(),
            });
        }
        Ok(Self { value, path })
    }

    fn first<'a>(&'a self, keys: &[&str]) -> Option<&'a Value> {
        keys.iter()
            .find_map(|k| self.value.get(*k).filter(|v| !v.is_null()))
    }

    /// A required non-negative integer under the first present key.
    pub fn usize(&self, keys: &[&str]) -> Result<usize> {
        self.first(keys)
            .and_then(Value::as_u64)
            .map(|v| v as usize)
            .ok_or_else(|| self.err(format!("missing or non-integer key {}", keys.join(" / "))))
    }

    /// An optional integer with a default.
    pub fn usize_or(&self, keys: &[&str], default: usize) -> usize {
        self.first(keys)
            .and_then(Value::as_u64)
            .map(|v| v as usize)
            .unwrap_or(default)
    }

    /// An optional float with a default.
    pub fn f64_or(&self, keys: &[&str], default: f64) -> f64 {
        self.first(keys).and_then(Value::as_f64).unwrap_or(default)
    }

    /// An optional string with a default.
    pub fn str_or<'a>(&'a self, keys: &[&str], default: &'a str) -> &'a str {
        self.first(keys).and_then(Value::as_str).unwrap_or(default)
    }

    /// An optional bool with a default.
    pub fn bool_or(&self, keys: &[&str], default: bool) -> bool {
        self.first(keys).and_then(Value::as_bool).unwrap_or(default)
    }

    /// A config error about this file.
    pub fn err(&self, detail: String) -> EmbedError {
        EmbedError::Config {
            path: self.path.clone(),
            detail,
        }
    }

    /// `model_type` and `architectures`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "model_type={:?}, architectures={}",
            self.str_or(&["model_type"], "?"),
            self.value
                .get("architectures")
                .map(|v| v.to_string())
                .unwrap_or_else(|| "?".into())
        )
    }

    /// Detects the architecture from `model_type`, `architectures` and telltale keys.
    pub fn arch(&self) -> Result<Arch> {
        let model_type = self.str_or(&["model_type"], "").to_ascii_lowercase();
        let archs: Vec<String> = self
            .value
            .get("architectures")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default();
        let any_arch = |needle: &str| archs.iter().any(|a| a.contains(needle));
        let arch = match model_type.as_str() {
            "nomic_bert" => Arch::NomicBert,
            "codesage" => Arch::CodeSage,
            "t5" | "codet5p_embedding" | "mt5" => Arch::T5Encoder,
            "roberta" | "xlm-roberta" => Arch::Roberta,
            "bert"
                if any_arch("jinabert")
                    || self.str_or(&["position_embedding_type"], "") == "alibi" =>
            {
                Arch::JinaBert
            }
            "bert" => Arch::Bert,
            _ if any_arch("nomicbert") => Arch::NomicBert,
            _ if any_arch("codet5p") || any_arch("t5encoder") => Arch::T5Encoder,
            _ if any_arch("codesage") => Arch::CodeSage,
            _ if any_arch("roberta") => Arch::Roberta,
            _ if any_arch("jinabert") => Arch::JinaBert,
            _ if any_arch("bert") => Arch::Bert,
            _ => {
                return Err(EmbedError::UnsupportedArchitecture {
                    path: self.path.clone(),
                    detail: self.describe(),
                })
            }
        };
        Ok(arch)
    }
}

/// Reads `1_Pooling/config.json` (sentence-transformers layout) if present.
pub fn sentence_transformers_pooling(dir: &Path) -> Option<super::registry::Pooling> {
    use super::registry::Pooling;
    let text = std::fs::read_to_string(dir.join("1_Pooling").join("config.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let on = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    if on("pooling_mode_cls_token") {
        Some(Pooling::Cls)
    } else if on("pooling_mode_lasttoken") {
        Some(Pooling::Last)
    } else if on("pooling_mode_mean_tokens") {
        Some(Pooling::Mean)
    } else {
        None
    }
}

/// The token limit a sentence-transformers folder was trained and is served with
/// (`max_seq_length` in `sentence_bert_config.json`), often below the positions the
/// architecture has (all-MiniLM-L6-v2: 256 of 512). Servers built on sentence-transformers
/// cut there, so a folder loaded without a registry entry must too, or long chunks get
/// other vectors than those servers give.
pub fn sentence_transformers_max_length(dir: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(dir.join("sentence_bert_config.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v.get("max_seq_length")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0)
}
