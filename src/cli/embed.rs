//! `cseek models` and `cseek embed`: inspect the model registry and embed texts with a
//! model, printing JSON — what a user needs to check a model, and what the validation
//! step compares across backends.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use cseek::embed::distill::{distill, DistillOptions};
use cseek::embed::{
    device, resolve, DeviceRequest, EmbedOptions, Embedder, Kernels, Pooling, REGISTRY,
};

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
    /// How to load the model (shared with `cseek serve`).
    #[command(flatten)]
    pub load: LoadArgs,
    /// Embed the texts as queries (adds the model's query prefix); default: documents.
    #[arg(long)]
    pub query: bool,
    /// Texts to embed; a single `-` reads one text per line from stdin.
    #[arg(required = true, value_name = "TEXT")]
    pub texts: Vec<String>,
}

/// How to load and run a model: the flags `cseek embed` and `cseek serve` share.
#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// Load the registry model named by --model from this directory (no search, no download).
    #[arg(long, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
    /// auto, cpu, cuda, cuda:N or metal. `auto` reports its choice on stderr.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// f32, f16 or bf16 (default: f32 on CPU, f16 on GPU).
    #[arg(long)]
    pub dtype: Option<String>,
    /// CPU threads, at most 256 (default or 0: RAYON_NUM_THREADS, else the physical cores).
    #[arg(long, value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Lower the model's token limit; longer texts are truncated.
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// Matryoshka output dimension (only the dims the model allows).
    #[arg(long, value_name = "N")]
    pub dims: Option<usize>,
    /// Padded tokens per forward pass (batch size × longest text); 0 = automatic (2048 on
    /// CPU, 16384 on GPU).
    #[arg(long, default_value_t = 0)]
    pub batch_tokens: usize,
    /// Never download; use local directories and the Hugging Face cache only.
    #[arg(long)]
    pub offline: bool,
}

/// How this process reaches remote models (`--endpoint`, the key from the environment),
/// set once when the command line is read.
pub static REMOTE: std::sync::OnceLock<cseek::embed::remote::RemoteOptions> =
    std::sync::OnceLock::new();

/// [`REMOTE`], for every command's embed options.
pub fn remote_options() -> cseek::embed::remote::RemoteOptions {
    REMOTE.get().cloned().unwrap_or_default()
}

/// Most threads `--threads` accepts. Each is a real OS thread in rayon's pool, and an
/// absurd count never finishes starting them (measured: 4,096 threads on 2 cores did not
/// finish embedding one text in a minute; 256 took half a second).
const MAX_THREADS: usize = 256;

/// `--threads`: at most [`MAX_THREADS`]; 0 keeps the default.
fn parse_threads(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a thread count"))?;
    if n <= MAX_THREADS {
        Ok(n)
    } else {
        Err(format!("at most {MAX_THREADS} threads"))
    }
}

impl EmbedArgs {
    /// Library options from the flags.
    pub fn options(&self) -> anyhow::Result<EmbedOptions> {
        self.load.options()
    }
}

impl LoadArgs {
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
            kernels: kernels_from_env()?,
            remote: remote_options(),
        })
    }
}

/// The embed stage's kernels for this process: `CSEEK_EMBED_KERNELS` (`reference`, `fast`,
/// `avx512`, `avx2`, `portable`; anything else is reported and ignored) when set, else the
/// library default. The program reads the variable and puts the choice in
/// [`EmbedOptions::kernels`]; the library reads none.
pub fn kernels_from_env() -> anyhow::Result<Kernels> {
    Ok(match std::env::var("CSEEK_EMBED_KERNELS") {
        Ok(v) => Kernels::parse(&v).unwrap_or_else(|| {
            // A typo in a tuning variable must not stop a search that may not even embed.
            eprintln!(
                "{} ignoring CSEEK_EMBED_KERNELS={v:?} (reference, fast, avx512, avx2, portable)",
                console::style("warning:").yellow().bold().for_stderr()
            );
            Kernels::default()
        }),
        Err(_) => Kernels::default(),
    })
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
    if let Some(n) = opts.threads {
        cseek::embed::set_threads(n); // the program owns its process
    }
    let embedder = Embedder::load(&args.model, &opts)
        .with_context(|| format!("loading model `{}`", args.model))?;
    eprintln!("cseek embed: {}", embedder.info().device_report);
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

/// `cseek model …`: build models.
#[derive(Subcommand, Debug, Clone)]
pub enum ModelCommand {
    /// Distil a static (Model2Vec) model from a transformer: every vocabulary token is
    /// embedded in context, reduced with PCA and Zipf-weighted (with --train-on, then trained
    /// on code against the transformer). The output directory loads
    /// with --model DIR here and with model2vec elsewhere.
    Distill(DistillArgs),
    /// Check that two backends give the same vectors: embeds the same texts with --model
    /// and with --against (candle vs a server, f32 vs f16, CPU vs GPU) and reports the
    /// cosine per text, the minimum and the mean. Exits 1 when the minimum is below
    /// --threshold.
    Verify(VerifyArgs),
}

/// Arguments of `cseek model verify`.
#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// The first backend: registry name, Hugging Face id, model directory, `ollama:NAME`
    /// or `openai:NAME` (its server from the global --endpoint).
    #[arg(long, short = 'm', value_name = "MODEL")]
    pub model: String,
    /// The second backend, in the same forms.
    #[arg(long, value_name = "MODEL")]
    pub against: String,
    /// Server of --against when it is remote and not at the global --endpoint.
    #[arg(long, value_name = "URL")]
    pub against_endpoint: Option<String>,
    /// Device of --model: auto, cpu, cuda, cuda:N or metal.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Device of --against.
    #[arg(long, default_value = "auto")]
    pub against_device: String,
    /// Dtype of --model: f32, f16 or bf16 (default: f32 on CPU, f16 on GPU).
    #[arg(long)]
    pub dtype: Option<String>,
    /// Dtype of --against.
    #[arg(long)]
    pub against_dtype: Option<String>,
    /// Pass mark for the lowest cosine: 0.99 for one model computed two ways; 0.95 is
    /// the least that may be called the same model.
    #[arg(long, default_value_t = cseek::embed::verify::SAME_MODEL_THRESHOLD)]
    pub threshold: f32,
    /// Embed the texts as queries (each side adds its query prefix); default: documents.
    #[arg(long)]
    pub query: bool,
    /// With the global --index: compare on this many chunks of that index (spread evenly
    /// over it), embedded as the index embeds them.
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// Never download models.
    #[arg(long)]
    pub offline: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Texts to compare on; a single `-` reads one per line from stdin.
    #[arg(value_name = "TEXT")]
    pub texts: Vec<String>,
}

/// Arguments of `cseek model distill`.
#[derive(Args, Debug, Clone)]
pub struct DistillArgs {
    /// Teacher: registry name, Hugging Face id, or a transformer model directory.
    #[arg(long = "from", value_name = "NAME|DIR")]
    pub from: String,
    /// Output directory (created; a checkpoint there is resumed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Output dimension (PCA components; at most the teacher's dimension).
    #[arg(long, default_value_t = 256)]
    pub dims: usize,
    /// SIF coefficient a of the Zipf weights a/(a+p), in (0, 1).
    #[arg(long, default_value_t = 1e-4, value_name = "A")]
    pub sif_coefficient: f64,
    /// Do not weight tokens by estimated frequency.
    #[arg(long)]
    pub no_zipf: bool,
    /// Start over instead of resuming a checkpoint found in --out.
    #[arg(long)]
    pub no_resume: bool,
    /// auto, cpu, cuda, cuda:N or metal (for running the teacher).
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// f32, f16 or bf16 for the teacher (default: f32 on CPU, f16 on GPU).
    #[arg(long)]
    pub dtype: Option<String>,
    /// CPU threads, at most 256 (default or 0: RAYON_NUM_THREADS, else the physical cores).
    #[arg(long, value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Padded tokens per forward pass; 0 = automatic (2048 on CPU, 16384 on GPU).
    #[arg(long, default_value_t = 0)]
    pub batch_tokens: usize,
    /// Never download; use local directories and the Hugging Face cache only.
    #[arg(long)]
    pub offline: bool,
    /// Then train the table on the code under DIR (its chunks, cut as `cseek index` cuts
    /// them) so that a chunk's vector matches the teacher's: the output keeps the
    /// teacher's dimension. Slower to build; better on questions put in other words than
    /// the code's (benches/README.md, "A static table trained on other code").
    #[arg(long, value_name = "DIR")]
    pub train_on: Option<PathBuf>,
    /// Most chunks to train on (an even sample of the tree's chunks).
    #[arg(long, default_value_t = 8000, value_name = "N")]
    pub train_chunks: usize,
    /// Most passes over the training chunks (training stops when a held-back tenth
    /// stops improving).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub train_epochs: usize,
}

/// The texts `cseek index` would embed for the code under `dir`, an even sample of at most
/// `max` of them.
#[cfg(feature = "embed")]
fn training_texts(dir: &std::path::Path, max: usize) -> anyhow::Result<Vec<String>> {
    use cseek::walk::{read_file, walk, WalkOptions};
    let wopts = WalkOptions::default();
    let (files, _) =
        walk(dir, &wopts, None).with_context(|| format!("walking {}", dir.display()))?;
    let copts = cseek::chunk::ChunkOptions::default();
    let mut texts = Vec::new();
    for f in &files {
        let Ok(text) = read_file(f, &wopts) else {
            continue; // binary, unreadable or too large: counted by `cseek index`, not here
        };
        for c in cseek::chunk::chunk_file(&f.rel_path, &text.text, f.language, &copts) {
            texts.push(cseek::index::embedding_text(
                &c.path,
                c.container.as_deref(),
                c.symbol.as_deref(),
                &c.text,
            ));
        }
    }
    if texts.len() > max {
        let step = texts.len() as f64 / max.max(1) as f64;
        texts = (0..max)
            .filter_map(|i| texts.get((i as f64 * step) as usize).cloned())
            .collect();
    }
    Ok(texts)
}

/// Runs a `cseek model` subcommand.
pub fn cmd_model(index: Option<&std::path::Path>, cmd: ModelCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ModelCommand::Distill(args) => cmd_distill(args),
        ModelCommand::Verify(args) => cmd_verify(index, args),
    }
}

/// Most chunks `cseek model verify --sample` takes (each is embedded twice).
const MAX_SAMPLE: usize = 100_000;

/// `cseek model verify`: loads both backends, compares, prints, exits 1 on a fail.
pub fn cmd_verify(index: Option<&std::path::Path>, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let texts = match (args.sample, index) {
        (Some(n), Some(dir)) => {
            if !args.texts.is_empty() {
                anyhow::bail!("give texts or --index DIR --sample N, not both");
            }
            sample_chunks(dir, n.min(MAX_SAMPLE))?
        }
        (Some(_), None) => anyhow::bail!("--sample N needs --index DIR (the chunks to sample)"),
        (None, _) => read_texts(&args.texts, &mut std::io::stdin().lock())?,
    };
    if texts.is_empty() {
        anyhow::bail!("no texts to compare: give some, `-` for stdin, or --index DIR --sample N");
    }
    let side = |device: &str,
                dtype: Option<&str>,
                endpoint: Option<&String>|
     -> anyhow::Result<EmbedOptions> {
        let mut remote = remote_options();
        if let Some(e) = endpoint {
            remote.endpoint = Some(e.clone());
        }
        Ok(EmbedOptions {
            device: device
                .parse()
                .map_err(|e| anyhow::anyhow!("bad device {device:?}: {e}"))?,
            dtype: dtype.map(device::parse_dtype).transpose()?,
            allow_download: !args.offline,
            kernels: kernels_from_env()?,
            remote,
            ..EmbedOptions::default()
        })
    };
    let load = |spec: &str, opts: &EmbedOptions| {
        Embedder::load(spec, opts).with_context(|| format!("loading model `{spec}`"))
    };
    let a = load(
        &args.model,
        &side(&args.device, args.dtype.as_deref(), None)?,
    )?;
    let b = load(
        &args.against,
        &side(
            &args.against_device,
            args.against_dtype.as_deref(),
            args.against_endpoint.as_ref(),
        )?,
    )?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let report = cseek::embed::verify::compare(&a, &b, &refs, args.query, args.threshold)?;
    let mut out = std::io::stdout().lock();
    let describe = |e: &Embedder| {
        let i = e.info();
        format!("{} ({}, {}, {})", i.name, i.source, i.device, i.dtype)
    };
    if args.json {
        let per_text: Vec<_> = report
            .per_text
            .iter()
            .map(|t| serde_json::json!({"index": t.index, "cosine": t.cosine, "text": preview(&texts[t.index], 80)}))
            .collect();
        let json = serde_json::json!({
            "model": describe(&a), "against": describe(&b), "dims": report.dims,
            "texts": report.texts, "min": report.min, "mean": report.mean,
            "threshold": report.threshold, "pass": report.pass, "per_text": per_text,
        });
        writeln!(out, "{json}")?;
    } else {
        writeln!(
            out,
            "model:   {}
against: {}",
            describe(&a),
            describe(&b)
        )?;
        // The worst texts first: that is where a backend differs.
        let mut worst: Vec<_> = report.per_text.iter().collect();
        worst.sort_by(|x, y| x.cosine.total_cmp(&y.cosine));
        for t in worst.iter().take(10) {
            writeln!(
                out,
                "  {:.6}  #{:<5} {}",
                t.cosine,
                t.index,
                preview(&texts[t.index], 70)
            )?;
        }
        if worst.len() > 10 {
            writeln!(out, "  … {} more", worst.len() - 10)?;
        }
        writeln!(
            out,
            "{} texts, {} dims: min cosine {:.6}, mean {:.6} -> {} (threshold {})",
            report.texts,
            report.dims,
            report.min,
            report.mean,
            if report.pass { "PASS" } else { "FAIL" },
            report.threshold
        )?;
    }
    Ok(if report.pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `n` chunk texts spread evenly over the live chunks of the index at `dir`, as the index
/// embeds them.
fn sample_chunks(dir: &std::path::Path, n: usize) -> anyhow::Result<Vec<String>> {
    let dir = cseek::store::find_index_dir(Some(dir), std::path::Path::new("."))?;
    let store = cseek::store::Store::open(&dir)
        .with_context(|| format!("opening the index at {}", dir.display()))?;
    let live: Vec<u32> = (0..store.len() as u32)
        .filter(|&id| store.is_live(id))
        .collect();
    let n = n.min(live.len());
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let id = live[k * live.len() / n.max(1)];
        let c = store.chunk(id)?;
        out.push(cseek::index::embedding_text(
            c.path,
            c.container,
            c.symbol,
            c.text,
        ));
    }
    Ok(out)
}

/// The first line of `text`, at most `max` characters.
fn preview(text: &str, max: usize) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut s: String = line.chars().take(max).collect();
    if line.chars().count() > max {
        s.push('…');
    }
    s
}

/// `cseek model distill`: distils, shows a progress bar, prints a JSON summary.
pub fn cmd_distill(args: DistillArgs) -> anyhow::Result<ExitCode> {
    let device: DeviceRequest = args.device.parse()?;
    let dtype = args.dtype.as_deref().map(device::parse_dtype).transpose()?;
    if let Some(n) = args.threads {
        cseek::embed::set_threads(n); // the program owns its process
    }
    let opts = DistillOptions {
        dims: args.dims,
        sif_coefficient: (!args.no_zipf).then_some(args.sif_coefficient),
        embed: EmbedOptions {
            device,
            dtype,
            threads: args.threads,
            batch_token_budget: args.batch_tokens,
            allow_download: !args.offline,
            kernels: kernels_from_env()?,
            ..EmbedOptions::default()
        },
        resume: !args.no_resume,
        ..DistillOptions::default()
    };
    let bar =
        progress_bar("{spinner} distilling {bar:40} {pos}/{len} tokens ({per_sec}, eta {eta})");
    let start = std::time::Instant::now();
    let summary = distill(&args.from, &args.out, &opts, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .with_context(|| format!("distilling `{}` into {}", args.from, args.out.display()))?;
    bar.finish_and_clear();
    let mut v = serde_json::to_value(&summary)?;
    if let Some(dir) = &args.train_on {
        v["trained"] = train(dir, &args, &opts)?;
    }
    v["seconds"] = serde_json::json!((start.elapsed().as_secs_f64() * 10.0).round() / 10.0);
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(ExitCode::SUCCESS)
}

/// A progress bar drawn on stderr when it is a terminal, hidden otherwise (logs and pipes
/// get the summary only).
fn progress_bar(template: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

/// `--train-on`: trains the distilled table in `args.out` on the code under `dir`.
#[cfg(feature = "embed")]
fn train(
    dir: &std::path::Path,
    args: &DistillArgs,
    opts: &DistillOptions,
) -> anyhow::Result<serde_json::Value> {
    use cseek::embed::train::TrainProgress;
    let texts = training_texts(dir, args.train_chunks)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let teacher = Embedder::load(&args.from, &opts.embed)
        .with_context(|| format!("loading the teacher `{}`", args.from))?;
    eprintln!("training on {} chunks of {}", refs.len(), dir.display());
    let bar = progress_bar("{spinner} teacher {bar:40} {pos}/{len} chunks ({per_sec}, eta {eta})");
    let s = cseek::embed::train::train_static(
        &args.out,
        &teacher,
        &refs,
        &cseek::embed::train::TrainOptions {
            epochs: args.train_epochs,
            ..Default::default()
        },
        &mut |p| {
            match p {
                TrainProgress::Teacher { done, total } => {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                    if done == total {
                        bar.finish_and_clear();
                    }
                }
                TrainProgress::Epoch { epoch, loss } => {
                    eprintln!("epoch {epoch}: held-back cosine distance {loss:.4}")
                }
            }
            std::ops::ControlFlow::Continue(())
        },
    )
    .with_context(|| format!("training {} on {}", args.out.display(), dir.display()))?;
    Ok(serde_json::json!({
        "chunks": s.texts, "held_back": s.held_back, "epochs": s.epochs,
        "initial_loss": s.initial_loss, "final_loss": s.final_loss, "dims": s.dims,
    }))
}

/// Without the embedding engine there is no teacher to train against.
#[cfg(not(feature = "embed"))]
fn train(
    _dir: &std::path::Path,
    _args: &DistillArgs,
    _opts: &DistillOptions,
) -> anyhow::Result<serde_json::Value> {
    anyhow::bail!("--train-on needs the `embed` feature")
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// Stand-in for the `cseek model` subcommand, to exercise the clap definitions.
    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: ModelCommand,
    }

    #[cfg(feature = "embed")]
    #[test]
    fn distill_command_parses_and_runs() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let teacher = tmp.path().join("teacher");
        cseek::embed::testkit::write_tiny_model(
            &teacher,
            cseek::embed::Arch::Bert,
            cseek::embed::testkit::TinySize::tiny(),
            "",
        )
        .expect("tiny model");
        // `cseek model distill` from the tiny teacher into `out`, 6 dimensions, then `extra`.
        let parse = |out: &std::path::Path, extra: &[&str]| {
            let mut argv = vec![
                "cseek-model",
                "distill",
                "--from",
                teacher.to_str().expect("utf-8 path"),
                "--out",
                out.to_str().expect("utf-8 path"),
                "--dims",
                "6",
                "--device",
                "cpu",
                "--offline",
            ];
            argv.extend_from_slice(extra);
            Cli::try_parse_from(argv).expect("parses")
        };
        let out = tmp.path().join("out");
        let cli = parse(&out, &["--sif-coefficient", "0.001"]);
        let ModelCommand::Distill(args) = &cli.cmd else {
            panic!("parsed as another command");
        };
        assert_eq!((args.dims, args.sif_coefficient), (6, 0.001));
        assert!(!args.no_zipf && !args.no_resume);
        cmd_model(None, cli.cmd).expect("distils");
        let e = Embedder::load(
            out.to_str().expect("utf-8 path"),
            &EmbedOptions {
                ..EmbedOptions::default()
            },
        )
        .expect("loads back");
        assert_eq!(e.dims(), 6);
        assert!(Cli::try_parse_from(["cseek-model", "distill", "--out", "x"]).is_err());

        // --train-on: the table is trained on the chunks of a tree and takes the teacher's
        // dimension (the tiny teacher's 32).
        let code = tmp.path().join("code");
        std::fs::create_dir_all(&code).expect("mkdir");
        let words = cseek::embed::testkit::WORDS;
        for i in 0..12 {
            let body: Vec<&str> = (0..6)
                .map(|j| words[(i * 7 + j * 3) % words.len()])
                .collect();
            std::fs::write(
                code.join(format!("m{i}.py")),
                format!("def f{i}():\n    {}\n", body.join(" ")),
            )
            .expect("write");
        }
        let trained = tmp.path().join("trained");
        let cli = parse(
            &trained,
            &[
                "--train-on",
                code.to_str().expect("utf-8 path"),
                "--train-epochs",
                "3",
            ],
        );
        cmd_model(None, cli.cmd).expect("distils and trains");
        let e = Embedder::load(
            trained.to_str().expect("utf-8 path"),
            &EmbedOptions::default(),
        )
        .expect("loads back");
        assert_eq!(e.dims(), 32);
    }
}
