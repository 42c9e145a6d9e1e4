//! The embedding engine behind [`Embedder`] (the `embed` cargo feature): loading a
//! transformer or a static model, batching, pooling and finishing vectors.

use candle_core::{DType, Device, IndexOp, Tensor};

use super::config::{self, RawConfig};
use super::error::{EmbedError, Result};
use super::model::{EncoderInput, EncoderModel};
use super::registry::{Arch, InputTemplate, Pooling};
use super::remote::{self, Protocol, RemoteClient};
use super::tokenize::TextEncoder;
use super::{
    bert, codesage, device, finish, jina_bert, nomic_bert, plan_batches, resolve, static_model, t5,
    EmbedOptions, EmbedderInfo, Kernels,
};

/// A loaded model with its tokenizer and usage profile.
pub struct Embedder {
    engine: Engine,
    info: EmbedderInfo,
    matryoshka_layer_norm: bool,
    budget: usize,
    kernels: Kernels,
}

/// What computes the vectors: a transformer (tokens in context) or a static table.
enum Engine {
    /// A transformer with its framing tokenizer.
    Transformer {
        model: Box<dyn EncoderModel>,
        tokenizer: TextEncoder,
    },
    /// A Model2Vec table (mean of token rows).
    Static(static_model::StaticModel),
    /// An embedding server.
    Remote(RemoteClient),
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// Loads the architecture named by `cfg` from `dir`.
pub fn load_model(
    dir: &std::path::Path,
    cfg: &RawConfig,
    arch: Arch,
    dtype: DType,
    device: &Device,
) -> Result<Box<dyn EncoderModel>> {
    Ok(match arch {
        Arch::Bert | Arch::Roberta => {
            Box::new(bert::BertModel::load(dir, cfg, arch, dtype, device)?)
        }
        Arch::NomicBert => Box::new(nomic_bert::NomicBertModel::load(dir, cfg, dtype, device)?),
        Arch::JinaBert => Box::new(jina_bert::JinaBertModel::load(dir, cfg, dtype, device)?),
        Arch::T5Encoder => Box::new(t5::T5EncoderModel::load(dir, cfg, dtype, device)?),
        Arch::CodeSage => Box::new(codesage::CodeSageModel::load(dir, cfg, dtype, device)?),
        Arch::Model2Vec => {
            return Err(cfg.err(
                "a Model2Vec static model has no transformer to load; use Embedder::load".into(),
            ))
        }
        Arch::Remote => {
            return Err(cfg.err(
                "a remote model runs on its server; use Embedder::load(\"ollama:NAME\")".into(),
            ))
        }
    })
}

impl Embedder {
    /// Resolves and loads `spec`: a registry name (`cseek models`), a Hugging Face id, or a
    /// model directory (`config.json`, `tokenizer.json`, weights).
    ///
    /// Nothing process-wide happens here: no output (the device choice is in
    /// [`EmbedderInfo::device_report`]), no environment changes, no allocator tuning (a
    /// program opts in with [`super::alloc::tune_malloc`]; the `cseek` binary does), no network
    /// unless [`EmbedOptions::allow_download`].
    pub fn load(spec: &str, opts: &EmbedOptions) -> Result<Self> {
        if let Some((protocol, name)) = remote::parse_spec(spec) {
            return Self::load_remote(spec, protocol, name, opts);
        }
        let resolved = resolve::resolve(spec, opts.model_dir.as_deref(), opts.allow_download)?;
        let dir = resolved.dir.clone();
        let cfg = RawConfig::read(&dir)?;
        // Before device selection: a static model never needs (or initialises) a GPU.
        if static_model::is_static_config(&cfg) {
            return Self::load_static(resolved, &cfg, opts);
        }
        let choice = device::select(opts.device)?;
        let budget = match opts.batch_token_budget {
            0 if choice.device.is_cpu() => 2048,
            0 => 16384,
            n => n,
        };
        let dtype = opts
            .dtype
            .map(DType::from)
            .unwrap_or_else(|| device::default_dtype(&choice.device));
        let entry = resolved.entry;
        let arch = cfg.arch()?;
        if let Some(e) = entry {
            if e.arch != arch {
                return Err(cfg.err(format!(
                    "`{}` is a {} model but this config.json describes {} ({})",
                    e.name,
                    e.arch.as_str(),
                    arch.as_str(),
                    cfg.describe()
                )));
            }
        }
        let model = load_model(&dir, &cfg, arch, dtype, &choice.device)?;
        let native_dims = model.output_dims();

        let default_pool = if arch == Arch::T5Encoder {
            Pooling::Cls
        } else {
            Pooling::Mean
        };
        let pooling = entry
            .map(|e| e.pooling)
            .unwrap_or_else(|| config::sentence_transformers_pooling(&dir).unwrap_or(default_pool));
        // Local models are normalised: cseek ranks by cosine.
        let normalize = entry.map(|e| e.normalize).unwrap_or(true);
        let limit = entry
            .map(|e| e.max_tokens)
            .or_else(|| config::sentence_transformers_max_length(&dir))
            .or_else(|| model.max_positions())
            .unwrap_or_else(|| cfg.usize_or(&["n_positions", "max_position_embeddings"], 512));
        let hard = model.max_positions().unwrap_or(usize::MAX);
        let max_tokens = opts.max_tokens.unwrap_or(limit).min(limit).min(hard);

        let dims = match opts.matryoshka_dim {
            None => native_dims,
            Some(d) => {
                let allowed = match entry {
                    Some(e) => e.matryoshka_dims.contains(&d) || d == native_dims,
                    None => d > 0 && d <= native_dims,
                };
                if !allowed {
                    let list = entry
                        .map(|e| format!("{:?}", e.matryoshka_dims))
                        .unwrap_or_default();
                    return Err(EmbedError::InvalidOption(format!(
                        "Matryoshka dimension {d} is not allowed for this model (allowed: {} {list})",
                        if entry.is_some_and(|e| e.matryoshka_dims.is_empty()) { "none;" } else { "" }
                    )));
                }
                d
            }
        };
        let template = entry
            .map(|e| e.template)
            .unwrap_or(InputTemplate::Tokenizer);
        let config_pad = cfg
            .value
            .get("pad_token_id")
            .and_then(|v| v.as_u64())
            .map(|v| v as u32);
        let tokenizer = TextEncoder::load(&dir, max_tokens, template, config_pad)?;

        let info = EmbedderInfo {
            name: entry
                .map(|e| e.name.to_string())
                .unwrap_or_else(|| dir.display().to_string()),
            hf_id: entry.map(|e| e.hf_id.to_string()),
            dir,
            source: resolved.source.to_string(),
            arch,
            pooling,
            normalize,
            dims,
            native_dims,
            max_tokens,
            query_prefix: entry
                .map(|e| e.query_prefix.to_string())
                .unwrap_or_default(),
            document_prefix: entry
                .map(|e| e.document_prefix.to_string())
                .unwrap_or_default(),
            device: choice.name,
            device_report: choice.report,
            dtype: format!("{dtype:?}").to_lowercase(),
            endpoint: None,
        };
        Ok(Self {
            engine: Engine::Transformer { model, tokenizer },
            info,
            // Nomic applies its layer norm whenever a Matryoshka dim is asked for (768 too).
            matryoshka_layer_norm: opts.matryoshka_dim.is_some()
                && entry.is_some_and(|e| e.matryoshka_layer_norm),
            budget,
            kernels: opts.kernels.supported(),
        })
    }

    /// Connects to a served model. The registry supplies prefixes and limits when the
    /// server's name for the model is one it knows (a registry name or Hugging Face id,
    /// an Ollama tag such as `:latest` aside).
    fn load_remote(
        spec: &str,
        protocol: Protocol,
        name: &str,
        opts: &EmbedOptions,
    ) -> Result<Self> {
        let client = RemoteClient::connect(protocol, name, &opts.remote)?;
        let base = name.split(':').next().unwrap_or(name);
        let entry = super::registry::lookup(name).or_else(|| super::registry::lookup(base));
        let native_dims = client.dims();
        let dims = prefix_dims(opts.matryoshka_dim, native_dims, "the server's vectors")?;
        let endpoint = client.endpoint().to_string();
        let leaves = if remote::is_local_url(&endpoint) {
            ""
        } else {
            "; texts leave this machine"
        };
        let info = EmbedderInfo {
            name: spec.to_string(),
            hf_id: entry.map(|e| e.hf_id.to_string()),
            dir: std::path::PathBuf::new(),
            source: format!("{protocol} server at {endpoint}"),
            arch: Arch::Remote,
            pooling: entry.map(|e| e.pooling).unwrap_or(Pooling::Mean),
            normalize: true,
            dims,
            native_dims,
            max_tokens: entry.map(|e| e.max_tokens).unwrap_or(8192),
            query_prefix: entry
                .map(|e| e.query_prefix.to_string())
                .unwrap_or_default(),
            document_prefix: entry
                .map(|e| e.document_prefix.to_string())
                .unwrap_or_default(),
            device: "remote".into(),
            device_report: format!("device: remote ({protocol} server at {endpoint}{leaves})"),
            dtype: "f32".into(),
            endpoint: Some(endpoint),
        };
        Ok(Self {
            engine: Engine::Remote(client),
            info,
            matryoshka_layer_norm: opts.matryoshka_dim.is_some()
                && entry.is_some_and(|e| e.matryoshka_layer_norm),
            budget: opts.batch_token_budget,
            kernels: opts.kernels.supported(),
        })
    }

    /// Loads a Model2Vec directory. The table is looked up on the CPU whatever device was
    /// asked for: there is no matrix product to accelerate.
    fn load_static(
        resolved: resolve::ResolvedModel,
        cfg: &RawConfig,
        opts: &EmbedOptions,
    ) -> Result<Self> {
        let entry = resolved.entry;
        if let Some(e) = entry {
            if e.arch != Arch::Model2Vec {
                return Err(cfg.err(format!(
                    "`{}` is a {} model but this config.json describes a Model2Vec static model",
                    e.name,
                    e.arch.as_str()
                )));
            }
        }
        // model2vec's default max_length; static models have no position limit.
        let limit = entry.map(|e| e.max_tokens).unwrap_or(512);
        let max_tokens = opts.max_tokens.unwrap_or(limit).min(limit);
        let model = static_model::StaticModel::load(&resolved.dir, cfg, max_tokens)?;
        let native_dims = model.dims();
        // PCA orders the columns by variance, so a prefix is a meaningful truncation.
        let dims = prefix_dims(opts.matryoshka_dim, native_dims, "this static model")?;
        let report = "device: static model -> cpu (a table lookup, no device needed)".to_string();
        let dir = resolved.dir;
        let info = EmbedderInfo {
            name: entry
                .map(|e| e.name.to_string())
                .unwrap_or_else(|| dir.display().to_string()),
            hf_id: entry.map(|e| e.hf_id.to_string()),
            dir,
            source: resolved.source.to_string(),
            arch: Arch::Model2Vec,
            pooling: Pooling::Mean,
            // Always: the vector index ranks by dot product (cosine on unit vectors).
            normalize: true,
            dims,
            native_dims,
            max_tokens,
            query_prefix: entry
                .map(|e| e.query_prefix.to_string())
                .unwrap_or_default(),
            document_prefix: entry
                .map(|e| e.document_prefix.to_string())
                .unwrap_or_default(),
            device: "cpu".into(),
            device_report: report,
            dtype: "f32".into(),
            endpoint: None,
        };
        Ok(Self {
            engine: Engine::Static(model),
            info,
            matryoshka_layer_norm: false,
            // A table lookup has no working set to keep in cache: big batches are fine.
            budget: match opts.batch_token_budget {
                0 => 16384,
                n => n,
            },
            kernels: opts.kernels.supported(),
        })
    }

    /// True for a Model2Vec static model.
    pub fn is_static(&self) -> bool {
        matches!(self.engine, Engine::Static(_))
    }

    /// Output dimension.
    pub fn dims(&self) -> usize {
        self.info.dims
    }

    /// What was loaded and how it is used.
    pub fn info(&self) -> &EmbedderInfo {
        &self.info
    }

    /// The kernels that run the transformer layers ([`EmbedOptions::kernels`], lowered to
    /// what this CPU supports).
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    /// Switches the kernels of later calls without reloading the model (benchmarks
    /// interleave variants on one loaded model); a level the CPU lacks is lowered.
    pub fn set_kernels(&mut self, kernels: Kernels) {
        self.kernels = kernels.supported();
    }

    /// Embeds documents (code chunks), with the model's document prefix.
    pub fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed_with_prefix(texts, &self.info.document_prefix)
    }

    /// Embeds queries, with the model's query prefix.
    pub fn embed_queries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed_with_prefix(texts, &self.info.query_prefix)
    }

    /// Token ids the model sees for each text (prefix not added), after truncation.
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        match &self.engine {
            Engine::Transformer { tokenizer, .. } => tokenizer.encode(texts),
            Engine::Static(m) => m.tokenize(texts),
            Engine::Remote(_) => Err(no_tokenizer()),
        }
    }

    /// Embeds texts with an explicit prefix.
    pub fn embed_with_prefix(&self, texts: &[&str], prefix: &str) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let prefixed: Vec<String>;
        let inputs: Vec<&str> = if prefix.is_empty() {
            texts.to_vec()
        } else {
            prefixed = texts.iter().map(|t| format!("{prefix}{t}")).collect();
            prefixed.iter().map(String::as_str).collect()
        };
        if let Engine::Remote(client) = &self.engine {
            let mut vectors = client.embed(&inputs)?;
            for v in &mut vectors {
                finish(v, self.info.dims, self.matryoshka_layer_norm, true);
            }
            return Ok(vectors);
        }
        let ids = self.tokenize(&inputs)?;
        self.embed_token_ids(&ids)
    }

    /// Embeds pre-tokenised sequences (already framed and truncated).
    pub fn embed_token_ids(&self, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        self.embed_ids(ids, true)
    }

    /// Pooled (and projected) vectors without Matryoshka truncation or normalisation: what
    /// distillation feeds to PCA, as model2vec does with the raw pooled output.
    pub(crate) fn embed_token_ids_raw(&self, ids: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        self.embed_ids(ids, false)
    }

    fn embed_ids(&self, ids: &[Vec<u32>], finished: bool) -> Result<Vec<Vec<f32>>> {
        if let Engine::Remote(_) = &self.engine {
            return Err(no_tokenizer());
        }
        if let Engine::Static(m) = &self.engine {
            return Ok(ids
                .iter()
                .map(|row| {
                    let mut v = m.mean_of(row);
                    if finished {
                        finish(&mut v, self.info.dims, false, self.info.normalize);
                    }
                    v
                })
                .collect());
        }
        let lengths: Vec<usize> = ids.iter().map(Vec::len).collect();
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); ids.len()];
        for batch in plan_batches(&lengths, self.budget) {
            let rows: Vec<&[u32]> = batch.iter().map(|&i| ids[i].as_slice()).collect();
            let vecs = self.run_batch(&rows, finished)?;
            for (i, v) in batch.into_iter().zip(vecs) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn run_batch(&self, rows: &[&[u32]], finished: bool) -> Result<Vec<Vec<f32>>> {
        let Engine::Transformer { model, tokenizer } = &self.engine else {
            return Err(EmbedError::InvalidOption(
                "internal: run_batch on a static model".into(),
            ));
        };
        let device = model.device();
        let seq_len = rows.iter().map(|r| r.len()).max().unwrap_or(1).max(1);
        let lengths: Vec<usize> = rows.iter().map(|r| r.len()).collect();
        let mut ids_host = Vec::with_capacity(rows.len() * seq_len);
        for r in rows {
            ids_host.extend_from_slice(r);
            ids_host.extend(std::iter::repeat_n(tokenizer.pad_id, seq_len - r.len()));
        }
        let input_ids = Tensor::from_vec(ids_host.clone(), (rows.len(), seq_len), device)?;
        let input = EncoderInput {
            input_ids,
            ids_host,
            lengths: lengths.clone(),
            seq_len,
            kernels: self.kernels,
        };
        let hidden = model.forward(&input)?.to_dtype(DType::F32)?;
        let pooled = pool(&hidden, &lengths, self.info.pooling)?;
        let projected = model
            .project(&pooled.to_dtype(model.dtype())?)?
            .to_dtype(DType::F32)?;
        let mut vecs: Vec<Vec<f32>> = projected.to_vec2()?;
        if !finished {
            return Ok(vecs);
        }
        for v in &mut vecs {
            finish(
                v,
                self.info.dims,
                self.matryoshka_layer_norm,
                self.info.normalize,
            );
        }
        Ok(vecs)
    }
}

/// Pools `[B, L, H]` f32 states over each row's real tokens.
pub fn pool(hidden: &Tensor, lengths: &[usize], pooling: Pooling) -> Result<Tensor> {
    let (b, l, _) = hidden.dims3()?;
    Ok(match pooling {
        Pooling::Cls => hidden.i((.., 0, ..))?.contiguous()?,
        Pooling::Last => {
            let rows = (0..b)
                .map(|r| hidden.i((r, lengths[r].max(1) - 1, ..)))
                .collect::<candle_core::Result<Vec<_>>>()?;
            Tensor::stack(&rows, 0)?
        }
        Pooling::Mean => {
            let mut m = Vec::with_capacity(b * l);
            for &n in lengths {
                m.extend((0..l).map(|j| if j < n { 1.0f32 } else { 0.0 }));
            }
            let mask = Tensor::from_vec(m, (b, l, 1), hidden.device())?;
            let counts: Vec<f32> = lengths.iter().map(|&n| n.max(1) as f32).collect();
            let counts = Tensor::from_vec(counts, (b, 1), hidden.device())?;
            hidden
                .broadcast_mul(&mask)?
                .sum(1)?
                .broadcast_div(&counts)?
        }
    })
}

/// Token-level calls on a remote model: its tokenizer lives on the server.
fn no_tokenizer() -> EmbedError {
    EmbedError::InvalidOption(
        "a remote model (ollama:/openai:) has no local tokenizer: it embeds texts, not token ids"
            .into(),
    )
}

/// The output dimension when any prefix of the `native` columns may be asked for (static
/// and served models; transformers check the registry's Matryoshka list instead).
fn prefix_dims(asked: Option<usize>, native: usize, what: &str) -> Result<usize> {
    match asked {
        None => Ok(native),
        Some(d) if d > 0 && d <= native => Ok(d),
        Some(d) => Err(EmbedError::InvalidOption(format!(
            "dimension {d} is not allowed for {what} (1..={native})"
        ))),
    }
}
