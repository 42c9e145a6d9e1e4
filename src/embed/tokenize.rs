//! Tokenisation with truncation to the model's limit and the model's input framing.

use std::path::{Path, PathBuf};

use tokenizers::{Tokenizer, TruncationParams};

use super::error::{EmbedError, Result};
use super::registry::InputTemplate;

/// A tokenizer configured for one model: no padding (batches pad themselves), truncation
/// to `max_tokens` including special tokens.
pub struct TextEncoder {
    tok: Tokenizer,
    path: PathBuf,
    template: InputTemplate,
    /// Id used to fill padded positions (never attended to, never pooled).
    pub pad_id: u32,
    /// `[<s>, <encoder-only>, </s>]` and `</s>` for UniXcoder framing.
    unix: Option<([u32; 3], u32)>,
    /// End-of-text id for [`InputTemplate::AppendEos`].
    eos: Option<u32>,
}

impl TextEncoder {
    /// Loads `dir/tokenizer.json`. `config_pad` is the config's `pad_token_id`, used only
    /// when the tokenizer names no pad token.
    pub fn load(
        dir: &Path,
        max_tokens: usize,
        template: InputTemplate,
        config_pad: Option<u32>,
    ) -> Result<Self> {
        let json = dir.join("tokenizer.json");
        let path = if json.is_file() || !dir.join("vocab.json").is_file() {
            json
        } else {
            dir.join("vocab.json")
        };
        let err = |detail: String| EmbedError::Tokenizer {
            path: path.clone(),
            detail,
        };
        let mut tok = if path.ends_with("tokenizer.json") {
            Tokenizer::from_file(&path).map_err(|e| err(e.to_string()))?
        } else {
            roberta_bpe(dir).map_err(err)?
        };
        let reserve = match template {
            InputTemplate::Tokenizer => 0,
            InputTemplate::UniXcoder => 4,
            InputTemplate::AppendEos => 1,
        };
        if max_tokens <= reserve + 1 {
            return Err(EmbedError::InvalidOption(format!(
                "max tokens {max_tokens} is too small"
            )));
        }
        let pad_id = tok
            .get_padding()
            .map(|p| p.pad_id)
            .or_else(|| {
                ["[PAD]", "<pad>", "<|padding|>"]
                    .iter()
                    .find_map(|t| tok.token_to_id(t))
            })
            .or(config_pad)
            .unwrap_or(0);
        tok.with_padding(None);
        let params = TruncationParams {
            max_length: max_tokens - reserve,
            ..Default::default()
        };
        tok.with_truncation(Some(params))
            .map_err(|e| err(format!("setting truncation: {e}")))?;
        let id = |t: &str| {
            tok.token_to_id(t)
                .ok_or_else(|| err(format!("token `{t}` missing from the vocabulary")))
        };
        let unix = if template == InputTemplate::UniXcoder {
            Some((
                [id("<s>")?, id("<encoder-only>")?, id("</s>")?],
                id("</s>")?,
            ))
        } else {
            None
        };
        let eos = if template == InputTemplate::AppendEos {
            Some(id("<|endoftext|>")?)
        } else {
            None
        };
        Ok(Self {
            tok,
            path,
            template,
            pad_id,
            unix,
            eos,
        })
    }

    /// Token ids of each text, framed and truncated. Never empty.
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        let with_specials = self.template != InputTemplate::UniXcoder;
        let encs = self
            .tok
            .encode_batch(texts.to_vec(), with_specials)
            .map_err(|e| EmbedError::Tokenizer {
                path: self.path.clone(),
                detail: e.to_string(),
            })?;
        Ok(encs
            .into_iter()
            .map(|e| {
                let ids = e.get_ids();
                let mut out = match (self.template, self.unix, self.eos) {
                    (InputTemplate::UniXcoder, Some((head, sep)), _) => {
                        let mut v = head.to_vec();
                        v.extend_from_slice(ids);
                        v.push(sep);
                        v
                    }
                    (InputTemplate::AppendEos, _, Some(eos)) => {
                        let mut v = ids.to_vec();
                        if v.last() != Some(&eos) {
                            v.push(eos);
                        }
                        v
                    }
                    _ => ids.to_vec(),
                };
                if out.is_empty() {
                    // A tokenizer without specials gives nothing for "": keep one token so
                    // the batch has a row to pool.
                    out.push(self.pad_id);
                }
                out
            })
            .collect())
    }
}

/// A RoBERTa byte-level BPE tokenizer from `vocab.json` + `merges.txt` (the only tokenizer
/// files of CodeBERT and UniXcoder): byte-level pre-tokenizer without prefix space,
/// `<s> … </s>` framing, the five RoBERTa specials (plus `<encoder-only>` etc. when present
/// in the vocabulary) recognised in text.
pub fn roberta_bpe(dir: &Path) -> std::result::Result<Tokenizer, String> {
    use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
    use tokenizers::models::bpe::BPE;
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;
    use tokenizers::processors::roberta::RobertaProcessing;
    use tokenizers::AddedToken;

    let vocab = dir.join("vocab.json");
    let merges = dir.join("merges.txt");
    let (Some(v), Some(m)) = (vocab.to_str(), merges.to_str()) else {
        return Err("non-UTF-8 path".into());
    };
    if !merges.is_file() {
        return Err(format!(
            "no tokenizer.json, and {} is missing",
            merges.display()
        ));
    }
    let bpe = BPE::from_file(v, m)
        .unk_token("<unk>".into())
        .build()
        .map_err(|e| format!("reading vocab.json/merges.txt: {e}"))?;
    let mut tok = Tokenizer::new(bpe);
    let id = |t: &str| {
        tok.token_to_id(t)
            .ok_or_else(|| format!("`{t}` missing from vocab.json"))
    };
    let (cls, sep) = (id("<s>")?, id("</s>")?);
    tok.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)));
    tok.with_decoder(Some(ByteLevelDecoder::default()));
    tok.with_post_processor(Some(
        RobertaProcessing::new(("</s>".into(), sep), ("<s>".into(), cls)).add_prefix_space(false),
    ));
    let specials: Vec<AddedToken> = [
        "<s>",
        "<pad>",
        "</s>",
        "<unk>",
        "<mask>",
        "<encoder-only>",
        "<mask0>",
    ]
    .iter()
    .filter(|t| tok.token_to_id(t).is_some())
    .map(|t| AddedToken::from(t.to_string(), true))
    .collect();
    tok.add_special_tokens(specials)
        .map_err(|e| format!("adding special tokens: {e}"))?;
    Ok(tok)
}
