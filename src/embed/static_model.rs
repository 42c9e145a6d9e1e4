//! Static (Model2Vec) embeddings: one vector per vocabulary token, a text's vector is the
//! mean of its tokens' rows. No transformer runs, so a query embeds in microseconds on
//! any CPU.
//!
//! Format (see the project's notes, "Model2Vec static format"): a directory with
//! `config.json`, `tokenizer.json` and `model.safetensors` holding `embeddings`
//! `[rows, dim]` (F32, F16, BF16, F64 or I8), optionally `weights` `[vocab]` (a per-token
//! scale) and `mapping` `[vocab]` (token id → row, vocabulary quantisation).
//!
//! Encoding follows model2vec's `encode()`: cut the string to `max_tokens × median token
//! length` characters, tokenize *without* special tokens, drop the unknown-token id, keep
//! at most `max_tokens` ids, average their (weighted) rows, then L2-normalise. A text with
//! no known token gets the zero vector.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tokenizers::Tokenizer;

use super::config::RawConfig;
use super::error::{EmbedError, Result};

/// `config.json` keys that only transformer configs carry; a config with none of them and
/// no `model_type`/`architectures` is a Model2Vec config (potion-code-16M-v2's config is
/// just `{"normalize": true, "embedding_dtype": "float16"}`).
const TRANSFORMER_KEYS: &[&str] = &[
    "hidden_size",
    "num_hidden_layers",
    "d_model",
    "n_embd",
    "n_layer",
    "num_layers",
];

/// Names of the embedding tensor across layouts (model2vec, sentence-transformers,
/// model2vec-rs), in lookup order.
const EMBEDDING_NAMES: &[&str] = &["embeddings", "embedding.weight", "0"];

/// True when `cfg` describes a Model2Vec static model rather than a transformer.
pub fn is_static_config(cfg: &RawConfig) -> bool {
    let model_type = cfg.str_or(&["model_type"], "");
    if model_type.eq_ignore_ascii_case("model2vec") {
        return true;
    }
    let static_arch = cfg
        .value
        .get("architectures")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .any(|s| s.eq_ignore_ascii_case("StaticModel"))
        });
    if static_arch {
        return true;
    }
    model_type.is_empty()
        && cfg.value.get("architectures").is_none()
        && !TRANSFORMER_KEYS.iter().any(|k| cfg.value.get(*k).is_some())
}

/// A loaded static model: the embedding table, optional weights and mapping, and the
/// tokenizer configured for plain (special-token-free) encoding.
pub struct StaticModel {
    /// Row-major `[rows, dims]` table.
    table: Vec<f32>,
    rows: usize,
    dims: usize,
    /// Per-token-id scale (`weights`), if the file carries one.
    weights: Option<Vec<f32>>,
    /// Token id → row (`mapping`), if the file carries one.
    mapping: Option<Vec<u32>>,
    tok: Tokenizer,
    tok_path: PathBuf,
    unk_id: Option<u32>,
    /// Character cap applied before tokenizing (`max_tokens × median token length`).
    max_chars: usize,
    max_tokens: usize,
    /// Whether `config.json` asks for normalised outputs (informational: cseek always
    /// normalises, since its vector index ranks by dot product).
    pub config_normalize: bool,
}

impl std::fmt::Debug for StaticModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticModel")
            .field("rows", &self.rows)
            .field("dims", &self.dims)
            .field("weights", &self.weights.is_some())
            .field("mapping", &self.mapping.is_some())
            .finish_non_exhaustive()
    }
}

impl StaticModel {
    /// Loads the Model2Vec directory `dir`; texts are cut to `max_tokens` tokens.
    pub fn load(dir: &Path, cfg: &RawConfig, max_tokens: usize) -> Result<Self> {
        if max_tokens == 0 {
            return Err(EmbedError::InvalidOption("max tokens must be > 0".into()));
        }
        let st_path = dir.join("model.safetensors");
        let tensors = SafeTensors::read(&st_path)?;
        let (name, emb) = EMBEDDING_NAMES
            .iter()
            .find_map(|n| tensors.get(n).map(|t| (*n, t)))
            .ok_or_else(|| EmbedError::Weights {
                path: st_path.clone(),
                detail: format!(
                    "no embedding tensor (looked for {}); found {:?}",
                    EMBEDDING_NAMES.join(", "),
                    tensors.names()
                ),
            })?;
        let [rows, dims] = emb.shape[..] else {
            return Err(tensors.err(format!("`{name}` has shape {:?}, not 2-D", emb.shape)));
        };
        if rows == 0 || dims == 0 {
            return Err(tensors.err(format!("`{name}` is empty: {:?}", emb.shape)));
        }
        let table = tensors.f32s(emb, name)?;
        let weights = match tensors.get("weights") {
            Some(t) => Some(tensors.f32s(t, "weights")?),
            None => None,
        };
        let mapping = match tensors.get("mapping") {
            Some(t) => {
                let m = tensors.ints(t, "mapping")?;
                if let Some(bad) = m.iter().find(|&&r| r < 0 || r as usize >= rows) {
                    return Err(tensors.err(format!("`mapping` holds row {bad} of {rows}")));
                }
                Some(m.into_iter().map(|r| r as u32).collect())
            }
            None => None,
        };
        let (tok, tok_path, unk_id) = load_plain_tokenizer(dir)?;
        let id_limit = mapping.as_ref().map(Vec::len).unwrap_or(rows);
        if let Some(w) = &weights {
            if w.len() < id_limit {
                return Err(tensors.err(format!(
                    "`weights` has {} entries for {id_limit} token ids",
                    w.len()
                )));
            }
        }
        let median = median_token_chars(&tok);
        Ok(Self {
            table,
            rows,
            dims,
            weights,
            mapping,
            tok,
            tok_path,
            unk_id,
            max_chars: max_tokens.saturating_mul(median.max(1)),
            max_tokens,
            config_normalize: cfg.bool_or(&["normalize"], true),
        })
    }

    /// Output dimension.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Rows of the embedding table.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Token limit per text.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Token ids used for each text: no special tokens, unknown ids dropped, truncated.
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        let cut: Vec<&str> = texts.iter().map(|t| cut_chars(t, self.max_chars)).collect();
        let encs = if cut.len() == 1 {
            // One text (a query): skip encode_batch's thread-pool hand-off.
            vec![self
                .tok
                .encode(cut[0], false)
                .map_err(|e| self.tok_err(e))?]
        } else {
            self.tok
                .encode_batch(cut, false)
                .map_err(|e| self.tok_err(e))?
        };
        Ok(encs
            .into_iter()
            .map(|e| {
                let mut ids: Vec<u32> = e
                    .get_ids()
                    .iter()
                    .copied()
                    .filter(|&id| Some(id) != self.unk_id)
                    .collect();
                ids.truncate(self.max_tokens);
                ids
            })
            .collect())
    }

    /// The (weighted) mean of the rows of `ids`, not normalised; zero when no id is known.
    /// Ids outside the table are skipped: a tokenizer larger than the table (added tokens)
    /// must not crash a search.
    pub fn mean_of(&self, ids: &[u32]) -> Vec<f32> {
        let mut acc = vec![0f32; self.dims];
        let mut n = 0usize;
        for &id in ids {
            let id = id as usize;
            let row = match &self.mapping {
                Some(m) => match m.get(id) {
                    Some(&r) => r as usize,
                    None => continue,
                },
                None => id,
            };
            if row >= self.rows {
                continue;
            }
            let w = match &self.weights {
                Some(w) => match w.get(id) {
                    Some(&w) => w,
                    None => continue,
                },
                None => 1.0,
            };
            let r = &self.table[row * self.dims..(row + 1) * self.dims];
            for (a, x) in acc.iter_mut().zip(r) {
                *a += w * x;
            }
            n += 1;
        }
        if n > 0 {
            let inv = 1.0 / n as f32;
            acc.iter_mut().for_each(|a| *a *= inv);
        }
        acc
    }

    fn tok_err(&self, e: impl std::fmt::Display) -> EmbedError {
        EmbedError::Tokenizer {
            path: self.tok_path.clone(),
            detail: e.to_string(),
        }
    }
}

/// Loads `dir/tokenizer.json` with padding and truncation off (both done here) and returns
/// it with the id of its `model.unk_token`, which model2vec drops from every text.
fn load_plain_tokenizer(dir: &Path) -> Result<(Tokenizer, PathBuf, Option<u32>)> {
    let path = dir.join("tokenizer.json");
    let err = |detail: String| EmbedError::Tokenizer {
        path: path.clone(),
        detail,
    };
    let text = std::fs::read_to_string(&path).map_err(|source| EmbedError::Io {
        action: "reading",
        path: path.clone(),
        source,
    })?;
    let json: Value = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    let mut tok: Tokenizer = text.parse().map_err(|e| err(format!("{e}")))?;
    tok.with_padding(None);
    tok.with_truncation(None)
        .map_err(|e| err(format!("turning truncation off: {e}")))?;
    let unk_id = json
        .pointer("/model/unk_token")
        .and_then(Value::as_str)
        .and_then(|t| tok.token_to_id(t));
    Ok((tok, path, unk_id))
}

/// Median character length of the vocabulary's strings (model2vec's `median_token_length`).
fn median_token_chars(tok: &Tokenizer) -> usize {
    let mut lens: Vec<usize> = tok
        .get_vocab(false)
        .keys()
        .map(|t| t.chars().count())
        .collect();
    if lens.is_empty() {
        return 1;
    }
    let mid = lens.len() / 2;
    *lens.select_nth_unstable(mid).1
}

/// `s` cut to at most `max` characters, on a character boundary.
fn cut_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// One tensor entry of a safetensors header.
#[derive(Debug)]
struct RawTensor {
    dtype: String,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

/// A safetensors file read whole. Parsed here rather than through candle because the
/// format's `mapping` is I32 and quantised tables are I8, which candle's loader rejects.
struct SafeTensors {
    path: PathBuf,
    data: Vec<u8>,
    /// Offset of the data section.
    base: usize,
    tensors: HashMap<String, RawTensor>,
}

impl SafeTensors {
    fn read(path: &Path) -> Result<Self> {
        let data = std::fs::read(path).map_err(|source| EmbedError::Io {
            action: "reading",
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |detail: String| EmbedError::Weights {
            path: path.to_path_buf(),
            detail,
        };
        let n = data
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| bad("shorter than a safetensors header".into()))?;
        let base = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_add(8))
            .filter(|&b| b <= data.len())
            .ok_or_else(|| bad(format!("header length {n} exceeds the file")))?;
        let header: Value = serde_json::from_slice(&data[8..base])
            .map_err(|e| bad(format!("header is not JSON: {e}")))?;
        let obj = header
            .as_object()
            .ok_or_else(|| bad("header is not a JSON object".into()))?;
        let mut tensors = HashMap::new();
        for (name, v) in obj {
            if name == "__metadata__" {
                continue;
            }
            let dtype = v.get("dtype").and_then(Value::as_str).unwrap_or("");
            let shape: Option<Vec<usize>> = v.get("shape").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|d| d.as_u64().map(|d| d as usize))
                    .collect()
            });
            let offs: Option<Vec<usize>> =
                v.get("data_offsets").and_then(Value::as_array).map(|a| {
                    a.iter()
                        .filter_map(|d| d.as_u64().map(|d| d as usize))
                        .collect()
                });
            let (Some(shape), Some(offs)) = (shape, offs) else {
                return Err(bad(format!("tensor `{name}` has no shape/data_offsets")));
            };
            let [start, end] = offs[..] else {
                return Err(bad(format!("tensor `{name}` has bad data_offsets")));
            };
            if start > end || base + end > data.len() {
                return Err(bad(format!("tensor `{name}` lies outside the file")));
            }
            tensors.insert(
                name.clone(),
                RawTensor {
                    dtype: dtype.to_string(),
                    shape,
                    start,
                    end,
                },
            );
        }
        Ok(Self {
            path: path.to_path_buf(),
            data,
            base,
            tensors,
        })
    }

    fn get(&self, name: &str) -> Option<&RawTensor> {
        self.tensors.get(name)
    }

    fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    fn err(&self, detail: String) -> EmbedError {
        EmbedError::Weights {
            path: self.path.clone(),
            detail,
        }
    }

    /// The bytes of `t`, checked against its shape and an element size.
    fn bytes(&self, t: &RawTensor, name: &str, size: usize) -> Result<&[u8]> {
        let count: usize = t.shape.iter().product();
        let b = &self.data[self.base + t.start..self.base + t.end];
        if b.len() != count * size {
            return Err(self.err(format!(
                "`{name}` ({}, {:?}) holds {} bytes",
                t.dtype,
                t.shape,
                b.len()
            )));
        }
        Ok(b)
    }

    /// A float (or I8) tensor as f32. I8 tables are used as is: a global scale does not
    /// change a normalised mean.
    fn f32s(&self, t: &RawTensor, name: &str) -> Result<Vec<f32>> {
        let le2 = |c: &[u8]| u16::from_le_bytes([c[0], c[1]]);
        Ok(match t.dtype.as_str() {
            "F32" => self
                .bytes(t, name, 4)?
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            "F64" => self
                .bytes(t, name, 8)?
                .chunks_exact(8)
                .map(|c| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(c);
                    f64::from_le_bytes(a) as f32
                })
                .collect(),
            "F16" => self
                .bytes(t, name, 2)?
                .chunks_exact(2)
                .map(|c| half::f16::from_bits(le2(c)).to_f32())
                .collect(),
            "BF16" => self
                .bytes(t, name, 2)?
                .chunks_exact(2)
                .map(|c| half::bf16::from_bits(le2(c)).to_f32())
                .collect(),
            "I8" => self
                .bytes(t, name, 1)?
                .iter()
                .map(|&b| b as i8 as f32)
                .collect(),
            other => return Err(self.err(format!("`{name}` has unsupported dtype {other}"))),
        })
    }

    /// An integer tensor (I32 or I64) as i64.
    fn ints(&self, t: &RawTensor, name: &str) -> Result<Vec<i64>> {
        Ok(match t.dtype.as_str() {
            "I32" => self
                .bytes(t, name, 4)?
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect(),
            "I64" => self
                .bytes(t, name, 8)?
                .chunks_exact(8)
                .map(|c| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(c);
                    i64::from_le_bytes(a)
                })
                .collect(),
            other => return Err(self.err(format!("`{name}` has unsupported dtype {other}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_chars_respects_char_boundaries() {
        assert_eq!(cut_chars("héllo", 2), "hé");
        assert_eq!(cut_chars("abc", 10), "abc");
        assert_eq!(cut_chars("", 0), "");
    }

    #[test]
    fn detects_static_configs() {
        let cfg = |v: Value| RawConfig {
            value: v,
            path: PathBuf::from("config.json"),
        };
        assert!(is_static_config(&cfg(serde_json::json!({
            "normalize": true, "embedding_dtype": "float16"
        }))));
        assert!(is_static_config(&cfg(serde_json::json!({
            "model_type": "model2vec", "architectures": ["StaticModel"], "hidden_dim": 256
        }))));
        assert!(!is_static_config(&cfg(serde_json::json!({
            "model_type": "bert", "hidden_size": 384
        }))));
        // A transformer config that lacks model_type is still a transformer.
        assert!(!is_static_config(&cfg(serde_json::json!({"d_model": 512}))));
    }
}
