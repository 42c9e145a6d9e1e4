//! Embedding throughput on CPU: tokens/s and achieved GFLOP/s for all-MiniLM-L6-v2 (real
//! weights, when fetched) and a BERT-base-sized random model, at batch × sequence 64×64,
//! 32×128, 32×256 and 1×16 (a query), for each speed lever that can be switched at run
//! time, against the CPU's measured FMA ceiling and numpy's figure from the same run.
//!
//! ```sh
//! bash tests/fetch-minilm.sh target/models/all-MiniLM-L6-v2      # optional
//! cargo bench --bench embed                          # all models, all variants
//! cargo bench --bench embed -- minilm                # models whose name contains "minilm"
//! cargo bench --bench embed --no-default-features --features embed  # gemm without AVX-512 (lever 1 off)
//! CSEEK_BENCH_SECONDS=1 CSEEK_BENCH_REPEATS=5 RAYON_NUM_THREADS=2 cargo bench --bench embed
//! CSEEK_BENCH_VARIANTS=fast-avx512 cargo bench --bench embed -- minilm   # one variant
//! CSEEK_BENCH_SHAPES=32x128 CSEEK_BENCH_NUMPY=0 cargo bench --bench embed  # one shape, no numpy
//! ```
//!
//! Variants (levers of `../shared/notes/cpu-inference.md`), all in one process:
//! - `reference, glibc malloc`: candle ops, malloc defaults (lever 1 only: AVX-512 gemm,
//!   when built with the default `avx512` feature — the header says which);
//! - `reference + malloc reuse`: + lever 2 ([`cseek::embed::alloc`]);
//! - `fast-avx512` / `fast-avx2` / `fast-portable`: + lever 3, the fused path
//!   ([`cseek::embed::fast`]) at each kernel level this CPU has, switched on the loaded
//!   model with `Embedder::set_kernels` ([`cseek::embed::Kernels`]).
//!
//! The machine is shared and noisy: variants are interleaved (each repeat runs every
//! variant once for `CSEEK_BENCH_SECONDS`, default 1.5), repeated `CSEEK_BENCH_REPEATS`
//! times (default 3), and the median is reported. Inputs are texts of exactly the target
//! token count, so tokenisation is included. FLOPs per token count the matmuls only:
//! `2·(4H² + 2HI)` per layer (`2·(4H² + 3HI)` gated) plus attention `4·L·H`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cseek::embed::alloc::set_malloc_reuse;
use cseek::embed::testkit::{write_tiny_model, TinySize, WORDS};
use cseek::embed::{Arch, DeviceRequest, EmbedOptions, Embedder, Isa, Kernels};

const SHAPES: &[(usize, usize)] = &[(64, 64), (32, 128), (32, 256), (1, 16)];

/// One run-time configuration of the levers.
#[derive(Clone, Copy)]
struct Variant {
    name: &'static str,
    kernels: Kernels,
    malloc_reuse: bool,
}

fn variants() -> Vec<Variant> {
    let mut v = vec![
        Variant {
            name: "reference, glibc malloc",
            kernels: Kernels::Reference,
            malloc_reuse: false,
        },
        Variant {
            name: "reference + malloc reuse",
            kernels: Kernels::Reference,
            malloc_reuse: true,
        },
    ];
    for (isa, name) in [
        (Isa::Portable, "fast-portable"),
        (Isa::Avx2, "fast-avx2"),
        (Isa::Avx512, "fast-avx512"),
    ] {
        if isa.supported() == isa {
            v.push(Variant {
                name,
                kernels: Kernels::Fast(isa),
                malloc_reuse: true,
            });
        }
    }
    // CSEEK_BENCH_VARIANTS=fast-avx512,reference: only variants whose name contains one of these.
    match std::env::var("CSEEK_BENCH_VARIANTS") {
        Ok(f) if !f.is_empty() => v
            .into_iter()
            .filter(|x| f.split(',').any(|p| x.name.contains(p.trim())))
            .collect(),
        _ => v,
    }
}

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let seconds = Duration::from_secs_f64(env_f64("CSEEK_BENCH_SECONDS", 1.5));
    let repeats = env_f64("CSEEK_BENCH_REPEATS", 3.0).max(1.0) as usize;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let threads = rayon::current_num_threads();
    let ceiling = fma_ceiling_gflops(Duration::from_millis(500));

    println!(
        "# embed bench: {threads} threads, gemm AVX-512 feature {}, kernels detected: {}, \
         load: {}",
        if cfg!(feature = "avx512") {
            "on"
        } else {
            "off"
        },
        Isa::detect().name(),
        load_average()
    );
    match ceiling {
        Some(c) => println!("# measured FMA ceiling on {threads} threads: {c:.0} GFLOP/s"),
        None => println!("# FMA ceiling: no AVX-512 on this CPU, not measured"),
    }

    let mut models: Vec<(String, PathBuf, Option<&str>)> = Vec::new();
    let minilm = std::env::var_os("CSEEK_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/models/all-MiniLM-L6-v2"));
    if minilm.join("model.safetensors").is_file() {
        models.push(("minilm".into(), minilm.clone(), Some("minilm")));
    } else {
        eprintln!(
            "minilm not found at {} (fetch it with tests/fetch-minilm.sh): skipped",
            minilm.display()
        );
    }
    let base = root.join("target/bench-models/bert-base-random");
    models.push(("bert-base-random".into(), base.clone(), None));

    println!();
    println!(
        "| model | batch×seq | variant | tokens/s | GFLOP/s | % of ceiling (measured in the same rounds) | ms/batch |"
    );
    println!("|---|---|---|---:|---:|---:|---:|");
    for (name, dir, registry) in &models {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        if registry.is_none() && !base.join("model.safetensors").is_file() {
            eprintln!("writing a random BERT-base model to {}", base.display());
            if let Err(e) = write_tiny_model(&base, Arch::Bert, TinySize::bert_base(), "") {
                eprintln!("cannot write the random model: {e}");
                continue;
            }
        }
        let Some(dims) = ModelDims::read(dir) else {
            eprintln!("{name}: unreadable config.json");
            continue;
        };
        for &(batch, seq) in SHAPES {
            // CSEEK_BENCH_SHAPES=32x128,1x16: only these shapes.
            if let Ok(f) = std::env::var("CSEEK_BENCH_SHAPES") {
                if !f.is_empty() && !f.split(',').any(|p| p.trim() == format!("{batch}x{seq}")) {
                    continue;
                }
            }
            if let Err(err) = bench_shape(
                name,
                dir,
                *registry,
                dims,
                (batch, seq),
                seconds,
                repeats,
                ceiling,
            ) {
                eprintln!("{name} {batch}×{seq}: {err}");
            }
        }
    }
    set_malloc_reuse(true);

    // Token budget per batch: a corpus of mixed lengths (like code chunks), default kernels.
    if filter
        .as_deref()
        .is_none_or(|f| "budget".contains(f) || "minilm".contains(f))
        && minilm.is_dir()
        && std::env::var("CSEEK_BENCH_BUDGET").map_or(true, |v| v != "0")
    {
        budget_sweep(&minilm, seconds, repeats);
    }

    let numpy = std::env::var("CSEEK_BENCH_NUMPY").map_or(true, |v| v != "0");
    if numpy && filter.as_deref().is_none_or(|f| "minilm".contains(f)) && minilm.is_dir() {
        numpy_peer(&root, &minilm, seconds);
    }
}

/// Tokens/s over 256 texts of 8–256 tokens for several padded-token budgets, interleaved.
fn budget_sweep(dir: &Path, seconds: Duration, repeats: usize) {
    const BUDGETS: &[usize] = &[1024, 2048, 4096, 8192, 16384];
    let mut embedders = Vec::new();
    for &b in BUDGETS {
        let opts = EmbedOptions {
            device: DeviceRequest::Cpu,
            model_dir: Some(dir.to_path_buf()),
            batch_token_budget: b,
            max_tokens: Some(256),
            ..Default::default()
        };
        match Embedder::load("minilm", &opts) {
            Ok(e) => embedders.push((b, e)),
            Err(e) => {
                eprintln!("budget sweep: {e}");
                return;
            }
        }
    }
    // Lengths spread like chunk sizes: many short, some long (deterministic).
    let texts: Vec<String> = (0..256)
        .map(|i| {
            let words = 6 + (i * 7919 % 97) * (i % 3 + 1) * 2 / 3;
            (0..words)
                .map(|j| WORDS[(i + j * 13) % WORDS.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let Ok(ids) = embedders[0].1.tokenize(&refs) else {
        return;
    };
    let tokens: usize = ids.iter().map(Vec::len).sum();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); BUDGETS.len()];
    for _ in 0..repeats {
        for (i, (_, e)) in embedders.iter().enumerate() {
            let _ = e.embed_documents(&refs);
            let start = Instant::now();
            let mut runs = 0u32;
            while runs < 1 || start.elapsed() < seconds {
                let _ = e.embed_documents(&refs);
                runs += 1;
            }
            times[i].push(start.elapsed().as_secs_f64() / runs as f64);
        }
    }
    println!();
    println!(
        "| budget (padded tokens/batch) | minilm tokens/s, 256 mixed texts ({tokens} tokens) |"
    );
    println!("|---:|---:|");
    for (b, t) in BUDGETS.iter().zip(&mut times) {
        println!("| {b} | {:.0} |", tokens as f64 / median(t));
    }
}

/// Benchmarks every variant on one shape, interleaved, and prints the medians.
#[allow(clippy::too_many_arguments)]
fn bench_shape(
    name: &str,
    dir: &Path,
    registry: Option<&str>,
    dims: ModelDims,
    (batch, seq): (usize, usize),
    seconds: Duration,
    repeats: usize,
    ceiling: Option<f64>,
) -> Result<(), String> {
    let opts = EmbedOptions {
        device: DeviceRequest::Cpu,
        model_dir: Some(dir.to_path_buf()),
        batch_token_budget: batch * seq,
        max_tokens: Some(seq),
        ..Default::default()
    };
    let spec = registry
        .map(str::to_string)
        .unwrap_or_else(|| dir.display().to_string());
    let mut e = Embedder::load(&spec, &opts).map_err(|e| e.to_string())?;
    let text = text_of_tokens(&e, seq);
    let texts: Vec<&str> = vec![text.as_str(); batch];
    let ids = e.tokenize(&texts).map_err(|e| e.to_string())?;
    let n_tokens: usize = ids.iter().map(Vec::len).sum();
    let flops = n_tokens as f64 * dims.flops_per_token(seq);

    let vs = variants();
    let mut per_batch: Vec<Vec<f64>> = vec![Vec::new(); vs.len()];
    // The ceiling is re-measured in every round: on a shared machine it moves with the load,
    // and the share of it a variant reaches is the load-independent figure.
    let mut ceilings = Vec::new();
    for _ in 0..repeats {
        ceilings.extend(fma_ceiling_gflops(Duration::from_millis(150)));
        for (i, v) in vs.iter().enumerate() {
            set_malloc_reuse(v.malloc_reuse);
            // One loaded model, its kernels switched per variant (no reload per variant).
            e.set_kernels(v.kernels);
            e.embed_documents(&texts).map_err(|e| e.to_string())?; // warm-up
            let start = Instant::now();
            let mut runs = 0u32;
            while runs < 2 || start.elapsed() < seconds {
                e.embed_documents(&texts).map_err(|e| e.to_string())?;
                runs += 1;
            }
            let t = start.elapsed().as_secs_f64() / runs as f64;
            per_batch[i].push(t);
        }
    }
    let ceiling = if ceilings.is_empty() {
        ceiling
    } else {
        Some(median(&mut ceilings))
    };
    for (v, times) in vs.iter().zip(&mut per_batch) {
        let per = median(times);
        let gflops = flops / per / 1e9;
        println!(
            "| {name} | {batch}×{seq} | {} | {:.0} | {:.0} | {} | {:.2} |",
            v.name,
            n_tokens as f64 / per,
            gflops,
            ceiling
                .map(|c| format!("{:.0}%", 100.0 * gflops / c))
                .unwrap_or_else(|| "–".into()),
            per * 1e3
        );
    }
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The dimensions that set the FLOP count.
#[derive(Clone, Copy)]
struct ModelDims {
    hidden: f64,
    inter: f64,
    layers: f64,
}

impl ModelDims {
    fn read(dir: &Path) -> Option<Self> {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).ok()?).ok()?;
        let get = |k: &str| v.get(k).and_then(|x| x.as_f64());
        Some(Self {
            hidden: get("hidden_size")?,
            inter: get("intermediate_size")?,
            layers: get("num_hidden_layers")?,
        })
    }

    /// Matmul FLOPs per token at sequence length `seq` (plain BERT feed-forward).
    fn flops_per_token(&self, seq: usize) -> f64 {
        let h = self.hidden;
        self.layers * (2.0 * (4.0 * h * h + 2.0 * h * self.inter) + 4.0 * seq as f64 * h)
    }
}

/// A text that tokenizes to exactly `seq` tokens with `e`'s tokenizer (specials included).
fn text_of_tokens(e: &Embedder, seq: usize) -> String {
    let mut words: Vec<&str> = Vec::new();
    let mut i = 0;
    loop {
        let candidate = {
            let mut w = words.clone();
            w.push(WORDS[i % WORDS.len()]);
            w.join(" ")
        };
        let n = e.tokenize(&[&candidate]).map(|t| t[0].len()).unwrap_or(seq);
        if n > seq || words.len() > 4 * seq {
            return words.join(" ");
        }
        words.push(WORDS[i % WORDS.len()]);
        i += 1;
        if n == seq {
            // Truncation caps at `seq`; one more word would not add a token.
            return words.join(" ");
        }
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The practical f32 ceiling: independent AVX-512 FMA chains on every pool thread.
fn fma_ceiling_gflops(dur: Duration) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        if !is_x86_feature_detected!("avx512f") {
            return None;
        }
        let threads = rayon::current_num_threads();
        let total: f64 = rayon::broadcast(|_| {
            let start = Instant::now();
            let mut flops = 0.0;
            let mut sink = 0.0f32;
            while start.elapsed() < dur {
                // SAFETY: AVX-512F was detected above.
                sink += unsafe { fma_loop(1_000_000) };
                flops += 1_000_000.0 * 12.0 * 16.0 * 2.0;
            }
            std::hint::black_box(sink);
            flops / start.elapsed().as_secs_f64()
        })
        .into_iter()
        .sum();
        let _ = threads;
        Some(total / 1e9)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = dur;
        None
    }
}

/// 12 independent FMA chains (enough to cover latency × 2 ports), `iters` rounds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fma_loop(iters: usize) -> f32 {
    use std::arch::x86_64::*;
    let a = _mm512_set1_ps(0.999_999);
    let b = _mm512_set1_ps(1e-7);
    let mut acc = [_mm512_set1_ps(1.0); 12];
    for _ in 0..iters {
        for x in acc.iter_mut() {
            *x = _mm512_fmadd_ps(*x, a, b);
        }
    }
    let mut s = _mm512_setzero_ps();
    for x in acc {
        s = _mm512_add_ps(s, x);
    }
    _mm512_reduce_add_ps(s)
}

/// Runs `benches/embed_numpy.py` (numpy + its BLAS) on the same model and shapes.
fn numpy_peer(root: &Path, minilm: &Path, seconds: Duration) {
    let script = root.join("benches/embed_numpy.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(minilm)
        .arg("--seconds")
        .arg(format!("{}", seconds.as_secs_f64()))
        .output();
    match out {
        Ok(o) if o.status.success() => {
            println!();
            print!("{}", String::from_utf8_lossy(&o.stdout));
        }
        Ok(o) => eprintln!(
            "numpy peer failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => eprintln!("numpy peer not run (python3: {e})"),
    }
}
