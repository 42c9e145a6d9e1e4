//! Embedding throughput on CPU: chunks/s and tokens/s for all-MiniLM-L6-v2 (real weights,
//! when fetched) and a BERT-base-sized random model, at batch × sequence 64×64, 32×128,
//! 32×256 and 1×16 (a query).
//!
//! ```sh
//! bash ../shared/models/fetch-minilm.sh target/models/all-MiniLM-L6-v2   # optional
//! cargo bench --bench embed                    # all models
//! cargo bench --bench embed -- minilm          # only models whose name contains "minilm"
//! CSEEK_BENCH_SECONDS=10 RAYON_NUM_THREADS=2 cargo bench --bench embed
//! ```
//! Each shape runs once to warm up, then repeats until `CSEEK_BENCH_SECONDS` (default 5)
//! have passed (at least twice) and reports the mean. Inputs are texts of exactly the
//! target token count (words of the tokenizer's vocabulary), so tokenisation is included.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cseek::embed::testkit::{write_tiny_model, TinySize, WORDS};
use cseek::embed::{Arch, DeviceRequest, EmbedOptions, Embedder};

const SHAPES: &[(usize, usize)] = &[(64, 64), (32, 128), (32, 256), (1, 16)];

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let budget = Duration::from_secs_f64(
        std::env::var("CSEEK_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5.0),
    );
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut models: Vec<(String, PathBuf, Option<&str>)> = Vec::new();

    let minilm = std::env::var_os("CSEEK_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/models/all-MiniLM-L6-v2"));
    if minilm.join("model.safetensors").is_file() {
        models.push(("minilm (all-MiniLM-L6-v2)".into(), minilm, Some("minilm")));
    } else {
        eprintln!(
            "minilm not found at {} (fetch it with ../shared/models/fetch-minilm.sh): skipped",
            minilm.display()
        );
    }
    let base = root.join("target/bench-models/bert-base-random");
    models.push(("bert-base-random (768×12)".into(), base.clone(), None));

    println!("| model | batch×seq | chunks/s | tokens/s | ms/batch |");
    println!("|---|---|---|---|---|");
    for (name, dir, registry) in models {
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
        for &(batch, seq) in SHAPES {
            let opts = EmbedOptions {
                device: DeviceRequest::Cpu,
                model_dir: Some(dir.clone()),
                batch_token_budget: batch * seq,
                max_tokens: Some(seq),
                quiet: true,
                ..Default::default()
            };
            let spec = registry
                .map(str::to_string)
                .unwrap_or_else(|| dir.display().to_string());
            let e = match Embedder::load(&spec, &opts) {
                Ok(e) => e,
                Err(err) => {
                    eprintln!("{name}: {err}");
                    break;
                }
            };
            let text = text_of_tokens(&e, seq);
            let texts: Vec<&str> = vec![text.as_str(); batch];
            let n_tokens: usize = e
                .tokenize(&texts)
                .map(|t| t.iter().map(Vec::len).sum())
                .unwrap_or(0);
            if let Err(err) = e.embed_documents(&texts) {
                eprintln!("{name}: {err}");
                break;
            }
            let start = Instant::now();
            let mut runs = 0u32;
            while runs < 2 || start.elapsed() < budget {
                let _ = e.embed_documents(&texts);
                runs += 1;
            }
            let per = start.elapsed().as_secs_f64() / runs as f64;
            println!(
                "| {name} | {batch}×{seq} | {:.1} | {:.0} | {:.1} |",
                batch as f64 / per,
                n_tokens as f64 / per,
                per * 1e3
            );
        }
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
