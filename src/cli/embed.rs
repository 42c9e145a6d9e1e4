//! `cseek models` and `cseek embed`: inspect the model registry and embed texts with a
//! model, printing JSON — what a user needs to check a model, and what the validation
//! step compares across backends.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use cseek::embed::{device, resolve, DeviceRequest, EmbedOptions, Embedder, Pooling, REGISTRY};

/// Arguments of `cseek models`.
#[derive(Args, Debug, Clone)]
pub struct ModelsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `cseek embed`.
#[derive(Args, Debug, Clone)]
pub struct EmbedArgs {
    /// Registry name (see `cseek models`), Hugging Face id, or a model directory.
    #[arg(long, short = 'm', default_value = "minilm", value_name = "NAME|DIR")]
    pub model: String,
    /// Load the registry model named by --model from this directory (no search, no download).
    #[arg(long, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
    /// Embed the texts as queries (adds the model's query prefix); default: documents.
    #[arg(long)]
    pub query: bool,
    /// auto, cpu, cuda, cuda:N or metal. `auto` reports its choice on stderr.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// f32, f16 or bf16 (default: f32 on CPU, f16 on GPU).
    #[arg(long)]
    pub dtype: Option<String>,
    /// CPU threads (default: RAYON_NUM_THREADS, else the physical cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Lower the model's token limit; longer texts are truncated.
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// Matryoshka output dimension (only the dims the model allows).
    #[arg(long, value_name = "N")]
    pub dims: Option<usize>,
    /// Padded tokens per forward pass (batch size × longest text).
    #[arg(long, default_value_t = 8192)]
    pub batch_tokens: usize,
    /// Never download; use local directories and the Hugging Face cache only.
    #[arg(long)]
    pub offline: bool,
    /// Texts to embed; a single `-` reads one text per line from stdin.
    #[arg(required = true, value_name = "TEXT")]
    pub texts: Vec<String>,
}

impl EmbedArgs {
    /// Library options from the flags.
    pub fn options(&self) -> anyhow::Result<EmbedOptions> {
        let device: DeviceRequest = self.device.parse()?;
        let dtype = self.dtype.as_deref().map(device::parse_dtype).transpose()?;
        Ok(EmbedOptions {
            device,
            dtype,
            threads: self.threads,
            max_tokens: self.max_tokens,
            matryoshka_dim: self.dims,
            batch_token_budget: self.batch_tokens,
            model_dir: self.model_dir.clone(),
            allow_download: !self.offline,
            quiet: false,
        })
    }
}

/// `cseek models`: the registry with dims, licence and whether each model is cached.
pub fn cmd_models(args: ModelsArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    write_models(&mut out, &args, |id| resolve::cached_dir(id).is_some())?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the registry listing; `cached` says whether a Hugging Face id is in the cache.
pub fn write_models(
    out: &mut dyn Write,
    args: &ModelsArgs,
    cached: impl Fn(&str) -> bool,
) -> anyhow::Result<()> {
    let pool = |p: Pooling| match p {
        Pooling::Mean => "mean",
        Pooling::Cls => "cls",
        Pooling::Last => "last",
    };
    if args.json {
        let rows: Vec<_> = REGISTRY
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name, "hf_id": e.hf_id, "arch": e.arch.as_str(), "dims": e.dims,
                    "matryoshka_dims": e.matryoshka_dims, "max_tokens": e.max_tokens,
                    "pooling": pool(e.pooling), "normalize": e.normalize,
                    "query_prefix": e.query_prefix, "document_prefix": e.document_prefix,
                    "licence": e.licence, "cached": cached(e.hf_id), "notes": e.notes,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<17} {:<40} {:<11} {:>5} {:<14} {:>6} {:<5} {:<19} cached",
        "name", "hugging face id", "arch", "dims", "matryoshka", "tokens", "pool", "licence"
    )?;
    for e in REGISTRY {
        let m: Vec<String> = e.matryoshka_dims.iter().map(|d| d.to_string()).collect();
        writeln!(
            out,
            "{:<17} {:<40} {:<11} {:>5} {:<14} {:>6} {:<5} {:<19} {}",
            e.name,
            e.hf_id,
            e.arch.as_str(),
            e.dims,
            if m.is_empty() {
                "-".to_string()
            } else {
                m.join(",")
            },
            e.max_tokens,
            pool(e.pooling),
            e.licence,
            if cached(e.hf_id) { "yes" } else { "no" }
        )?;
    }
    writeln!(
        out,
        "\nAny local directory with config.json, tokenizer.json and model.safetensors (or \
         pytorch_model.bin) also works: cseek embed --model DIR TEXT…"
    )?;
    Ok(())
}

/// `cseek embed`: prints `{"model": …, "dims": n, "vectors": [[…], …]}`.
pub fn cmd_embed(args: EmbedArgs) -> anyhow::Result<ExitCode> {
    let texts = read_texts(&args.texts, &mut std::io::stdin().lock())?;
    let opts = args.options()?;
    let embedder = Embedder::load(&args.model, &opts)
        .with_context(|| format!("loading model `{}`", args.model))?;
    let mut out = std::io::stdout().lock();
    write_embeddings(&mut out, &embedder, &texts, args.query)?;
    Ok(ExitCode::SUCCESS)
}

/// Expands a lone `-` into the lines of `stdin` (empty lines skipped).
pub fn read_texts(args: &[String], stdin: &mut dyn BufRead) -> anyhow::Result<Vec<String>> {
    if args.len() == 1 && args[0] == "-" {
        let mut texts = Vec::new();
        for line in stdin.lines() {
            let line = line.context("reading texts from stdin")?;
            if !line.trim().is_empty() {
                texts.push(line);
            }
        }
        return Ok(texts);
    }
    Ok(args.to_vec())
}

/// Embeds `texts` and writes the JSON object.
pub fn write_embeddings(
    out: &mut dyn Write,
    e: &Embedder,
    texts: &[String],
    query: bool,
) -> anyhow::Result<()> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = if query {
        e.embed_queries(&refs)?
    } else {
        e.embed_documents(&refs)?
    };
    // A struct, not `json!`, so the keys keep the documented order.
    #[derive(serde::Serialize)]
    struct Output<'a, V: serde::Serialize> {
        model: &'a str,
        dims: usize,
        vectors: V,
    }
    let json = Output {
        model: &e.info().name,
        dims: e.dims(),
        vectors: &vectors,
    };
    writeln!(out, "{}", serde_json::to_string(&json)?)?;
    Ok(())
}
