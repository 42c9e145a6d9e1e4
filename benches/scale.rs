//! Scale benchmark (issue 16), the serving half: on an index that `benches/scale.sh` built,
//! measure the time to open it, query latency per mode (one thread, then N threads at once:
//! latency under load and throughput), HNSW recall@10 against an exact scan, and how much
//! of the process is resident (the index is memory-mapped: only what queries touch is
//! read).
//!
//! ```sh
//! cargo bench --bench scale -- --index DIR --queries FILE [--threads 8] [--recall 1000] [--efs 32,64,128,256]
//! ```
//!
//! `--queries FILE`: one query per line (the dev suite's natural-language and symbol
//! queries; `benches/scale.sh` writes them). Recall queries: those lines, then the first
//! line of evenly spread chunks until `--recall` are had, embedded as queries. Latency:
//! wall time of `Searcher::search` (top 10, default options), nearest-rank percentiles,
//! after one untimed pass. Prints one JSON object (for the table in benches/README.md).

use std::path::PathBuf;
use std::time::Instant;

use cseek::embed::{EmbedOptions, Embedder};
use cseek::search::{Mode, SearchRequest, Searcher};

struct Args {
    index: PathBuf,
    queries: PathBuf,
    threads: usize,
    recall: usize,
    efs: Vec<usize>,
    /// Graph variants (`m:ef_construction`) rebuilt from the index's vectors and measured
    /// instead of serving (choosing defaults); `rows` limits how many vectors they take.
    graphs: Vec<(usize, usize)>,
    rows: usize,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        index: PathBuf::new(),
        queries: PathBuf::new(),
        threads: 8,
        recall: 1000,
        efs: vec![32, 64, 128, 256],
        graphs: Vec::new(),
        rows: usize::MAX,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--index" => a.index = value()?.into(),
            "--queries" => a.queries = value()?.into(),
            "--threads" => a.threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--recall" => a.recall = value()?.parse().map_err(|e| format!("--recall: {e}"))?,
            "--efs" => {
                a.efs = value()?
                    .split(',')
                    .map(|v| v.trim().parse().map_err(|e| format!("--efs: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--graphs" => {
                for v in value()?.split(',') {
                    let (m, efc) = v
                        .split_once(':')
                        .ok_or(format!("--graphs: {v} is not M:EFC"))?;
                    a.graphs.push((
                        m.parse().map_err(|e| format!("--graphs: {e}"))?,
                        efc.parse().map_err(|e| format!("--graphs: {e}"))?,
                    ));
                }
            }
            "--rows" => a.rows = value()?.parse().map_err(|e| format!("--rows: {e}"))?,
            // cargo bench passes --bench
            "--bench" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.index.as_os_str().is_empty() || a.queries.as_os_str().is_empty() {
        return Err("usage: scale --index DIR --queries FILE [--threads N] [--recall N]".into());
    }
    Ok(a)
}

/// Resident memory of this process from /proc (kB): total, anonymous, file-backed (maps).
fn rss() -> serde_json::Value {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    serde_json::json!({
        "rss_mb": field("VmRSS:") as f64 / 1024.0,
        "anon_mb": field("RssAnon:") as f64 / 1024.0,
        "file_mb": field("RssFile:") as f64 / 1024.0,
        "peak_mb": field("VmHWM:") as f64 / 1024.0,
    })
}

fn percentiles(mut ms: Vec<f64>) -> serde_json::Value {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| {
        if ms.is_empty() {
            return 0.0;
        }
        let i = ((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1;
        (ms[i] * 1000.0).round() / 1000.0
    };
    serde_json::json!({ "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "n": ms.len() })
}

fn time_queries(searcher: &Searcher, queries: &[String], mode: Mode) -> Result<Vec<f64>, String> {
    let mut out = Vec::with_capacity(queries.len());
    for q in queries {
        let req = SearchRequest::new(q.as_str()).top_k(10).mode(mode);
        let t = Instant::now();
        searcher.search(&req).map_err(|e| e.to_string())?;
        out.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(out)
}

/// Recall@10 of `graph` against its exact scan for the query vectors, at its own
/// `ef_search` and then each of `efs`; and the exact scan's latency.
fn recall_sweep(
    graph: &mut cseek::vector::VectorIndex,
    qv: &[Vec<f32>],
    efs: &[usize],
) -> Result<(Vec<serde_json::Value>, serde_json::Value), String> {
    let mut exact = Vec::with_capacity(qv.len());
    let mut exact_ms = Vec::new();
    for v in qv {
        let t = Instant::now();
        exact.push(graph.search_exact(v, 10, None).map_err(|e| e.to_string())?);
        exact_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mut sweep = Vec::new();
    let mut all = vec![graph.ef_search()];
    all.extend(efs.iter().copied().filter(|&e| e != graph.ef_search()));
    for ef in all {
        graph.set_ef_search(ef);
        let (mut found, mut total) = (0usize, 0usize);
        let mut graph_ms = Vec::new();
        for (v, exact) in qv.iter().zip(&exact) {
            let t = Instant::now();
            let approx = graph.search(v, 10, None).map_err(|e| e.to_string())?;
            graph_ms.push(t.elapsed().as_secs_f64() * 1e3);
            // Ties at the 10th score: any item scoring at least the exact 10th counts.
            let cut = exact.last().map_or(f32::NEG_INFINITY, |h| h.score);
            found += approx
                .iter()
                .filter(|h| h.score >= cut - 1e-6)
                .count()
                .min(exact.len());
            total += exact.len();
        }
        sweep.push(serde_json::json!({
            "ef_search": ef,
            "recall": found as f64 / total.max(1) as f64,
            "graph_ms": percentiles(graph_ms),
        }));
    }
    Ok((sweep, percentiles(exact_ms)))
}

/// `--graphs`: rebuild the graph from the index's vectors with each (m, ef_construction)
/// in a temporary directory; build time and the recall sweep of each.
fn graph_variants(
    searcher: &Searcher,
    a: &Args,
    qv: &[Vec<f32>],
) -> Result<serde_json::Value, String> {
    let vectors = searcher.vectors().ok_or("the index has no vectors")?;
    let rows = vectors.len().min(a.rows);
    let mut out = Vec::new();
    for &(m, efc) in &a.graphs {
        let tmp = std::env::temp_dir().join(format!(
            "cseek-scale-graph-{}-{m}-{efc}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&tmp);
        let opts = cseek::vector::VectorOptions {
            m,
            ef_construction: efc,
            exact_threshold: 1,
            ..Default::default()
        };
        let mut w = cseek::vector::VectorWriter::create(&tmp, vectors.dims(), &opts)
            .map_err(|e| e.to_string())?;
        for id in 0..rows {
            let v = vectors.vector(id as u32).ok_or("a row is missing")?;
            w.add(&v).map_err(|e| e.to_string())?;
        }
        let stats = w.finish().map_err(|e| e.to_string())?;
        let mut g = cseek::vector::VectorIndex::open(&tmp).map_err(|e| e.to_string())?;
        let (sweep, exact_ms) = recall_sweep(&mut g, qv, &a.efs)?;
        let _ = std::fs::remove_dir_all(&tmp);
        out.push(serde_json::json!({
            "m": m, "ef_construction": efc, "rows": rows,
            "build_seconds": stats.build_seconds, "exact_ms": exact_ms, "by_ef": sweep,
        }));
        eprintln!("{}", out.last().map(|v| v.to_string()).unwrap_or_default());
    }
    Ok(serde_json::Value::Array(out))
}

/// `n` query embeddings: the query lines, then the first line of evenly spread chunks.
fn query_vectors(
    searcher: &Searcher,
    queries: &[String],
    n: usize,
) -> Result<Vec<Vec<f32>>, String> {
    let model = &searcher
        .store()
        .meta()
        .embedding
        .as_ref()
        .ok_or("the index has no vectors")?
        .model;
    let embedder = Embedder::load(model, &EmbedOptions::default()).map_err(|e| e.to_string())?;
    let chunks = searcher.store().len();
    let mut texts: Vec<String> = queries.iter().take(n).cloned().collect();
    let step = (chunks / n.max(1)).max(1);
    let mut id = 0usize;
    while texts.len() < n && id < chunks {
        if let Ok(c) = searcher.store().chunk(id as u32) {
            if let Some(line) = c.text.lines().map(str::trim).find(|l| l.len() > 10) {
                texts.push(line.to_string());
            }
        }
        id += step;
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    embedder.embed_queries(&refs).map_err(|e| e.to_string())
}

fn run() -> Result<(), String> {
    let a = args()?;
    let queries: Vec<String> = std::fs::read_to_string(&a.queries)
        .map_err(|e| format!("{}: {e}", a.queries.display()))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let t = Instant::now();
    let searcher = Searcher::open(&a.index).map_err(|e| e.to_string())?;
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    if !a.graphs.is_empty() {
        let qv = query_vectors(&searcher, &queries, a.recall)?;
        let variants = graph_variants(&searcher, &a, &qv)?;
        println!(
            "{}",
            serde_json::to_string_pretty(&variants).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    let rss_open = rss();
    let chunks = searcher.store().len();
    let mut report = serde_json::json!({
        "index": a.index.display().to_string(),
        "chunks": chunks,
        "open_ms": open_ms,
        "rss_after_open": rss_open,
        "threads": a.threads,
    });

    let modes: Vec<Mode> = if searcher.has_vectors() {
        vec![Mode::Lexical, Mode::Semantic, Mode::Hybrid]
    } else {
        vec![Mode::Lexical]
    };
    // First query of each mode, cold: loads the query model and touches the maps.
    for &mode in &modes {
        let t = Instant::now();
        let req = SearchRequest::new(queries.first().map_or("search", |q| q.as_str())).mode(mode);
        searcher.search(&req).map_err(|e| e.to_string())?;
        report[format!("first_{}_ms", mode.name())] = (t.elapsed().as_secs_f64() * 1e3).into();
    }
    for &mode in &modes {
        time_queries(&searcher, &queries, mode)?; // warm-up pass, untimed
        let single = time_queries(&searcher, &queries, mode)?;
        let t = Instant::now();
        let per_thread: Vec<Result<Vec<f64>, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..a.threads)
                .map(|i| {
                    let searcher = &searcher;
                    // Each thread starts at another offset so they do not march in step.
                    let mut qs = queries.clone();
                    qs.rotate_left(i * queries.len() / a.threads.max(1));
                    s.spawn(move || time_queries(searcher, &qs, mode))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("a query thread panicked".into()))
                })
                .collect()
        });
        let wall = t.elapsed().as_secs_f64();
        let mut loaded = Vec::new();
        for r in per_thread {
            loaded.extend(r?);
        }
        let n = loaded.len();
        report[mode.name()] = serde_json::json!({
            "single_thread": percentiles(single),
            "concurrent": percentiles(loaded),
            "concurrent_qps": n as f64 / wall,
        });
    }
    report["rss_after_queries"] = rss();

    if let Some(vectors) = searcher.vectors() {
        // Recall@10 of the graph against an exact scan, for real query embeddings.
        let qv = query_vectors(&searcher, &queries, a.recall)?;
        let dir = searcher
            .store()
            .generation_dir()
            .join(cseek::store::VECTORS_DIR);
        let mut graph = cseek::vector::VectorIndex::open(&dir).map_err(|e| e.to_string())?;
        let (sweep, exact_ms) = recall_sweep(&mut graph, &qv, &a.efs)?;
        report["recall_at_10"] = serde_json::json!({
            "queries": qv.len(),
            "graph": vectors.has_graph(),
            "index_ef_search": vectors.ef_search(),
            "exact_ms": exact_ms,
            "by_ef": sweep,
        });
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("scale: {e}");
        std::process::exit(2);
    }
}
