//! Vector stage benchmark: exact-scan latency by index size, and HNSW build time, recall@10
//! against the exact scan and query latency by `ef_search`, on synthetic unit vectors.
//!
//! ```sh
//! cargo bench --bench vector                       # everything (≈ 3–5 min on 2 cores)
//! cargo bench --bench vector -- --graph-sizes 10000 --scan-sizes 1000,5000
//! ```
//!
//! Options: `--dims N` (384), `--queries N` (200), `--scan-sizes a,b,..`
//! (1000,2000,5000,10000,50000), `--graph-sizes a,b,..` (1000,2000,5000,10000,100000),
//! `--efs a,b,..` (16,32,64,128), `--m N` (16), `--ef-construction N` (100),
//! `--dtype f32|f16` (f32), `--data clustered|uniform` (clustered). Data: unit vectors,
//! either a mixture of topics (centre + noise) or uniform random directions (the worst case
//! for a graph index); queries are fresh vectors from the same source. Latency: wall time per single-threaded query, nearest-rank p50/p95.

use std::path::Path;
use std::time::Instant;

use cseek::vector::{VectorDtype, VectorIndex, VectorOptions, VectorWriter};

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn gauss(&mut self) -> f32 {
        (0..4)
            .map(|_| (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
            .sum()
    }
    fn unit(&mut self, dims: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..dims).map(|_| self.gauss()).collect();
        normalised(v)
    }
}

fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

/// Where vectors come from: uniform random directions (the worst case for a graph: every
/// pair is nearly orthogonal, neighbours barely nearer than the rest), or a mixture of
/// topics (centre + noise, cos(point, centre) ≈ 0.8), closer to how embeddings cluster.
#[derive(Clone, Copy, PartialEq)]
enum Data {
    Uniform,
    Clustered,
}

struct Source {
    data: Data,
    dims: usize,
    centres: Vec<Vec<f32>>,
    rng: Rng,
}

impl Source {
    fn new(data: Data, dims: usize, n: usize, seed: u64) -> Self {
        // Same centres for the data and the queries (fixed seed); ~100 points per topic.
        let mut c = Rng::new(1234);
        let centres = (0..(n / 100).max(10)).map(|_| c.unit(dims)).collect();
        Source {
            data,
            dims,
            centres,
            rng: Rng::new(seed),
        }
    }

    fn next(&mut self) -> Vec<f32> {
        match self.data {
            Data::Uniform => self.rng.unit(self.dims),
            Data::Clustered => {
                let c = &self.centres[self.rng.next_u64() as usize % self.centres.len()];
                let noise = self.rng.unit(self.dims);
                normalised(c.iter().zip(&noise).map(|(a, b)| a + 0.75 * b).collect())
            }
        }
    }
}

struct Args {
    dims: usize,
    queries: usize,
    scan_sizes: Vec<usize>,
    graph_sizes: Vec<usize>,
    efs: Vec<usize>,
    m: usize,
    ef_construction: usize,
    dtype: VectorDtype,
    data: Data,
}

fn parse_list(s: &str) -> Vec<usize> {
    s.split(',').filter_map(|x| x.trim().parse().ok()).collect()
}

fn parse_args() -> Args {
    let mut a = Args {
        dims: 384,
        queries: 200,
        scan_sizes: vec![1000, 2000, 5000, 10_000, 50_000],
        graph_sizes: vec![1000, 2000, 5000, 10_000, 100_000],
        efs: vec![16, 32, 64, 128],
        m: 16,
        ef_construction: 100,
        dtype: VectorDtype::F32,
        data: Data::Clustered,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let val = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--dims" => a.dims = val.parse().unwrap_or(a.dims),
            "--queries" => a.queries = val.parse().unwrap_or(a.queries),
            "--scan-sizes" => a.scan_sizes = parse_list(&val),
            "--graph-sizes" => a.graph_sizes = parse_list(&val),
            "--efs" => a.efs = parse_list(&val),
            "--m" => a.m = val.parse().unwrap_or(a.m),
            "--ef-construction" => a.ef_construction = val.parse().unwrap_or(a.ef_construction),
            "--dtype" => {
                a.dtype = if val == "f16" {
                    VectorDtype::F16
                } else {
                    VectorDtype::F32
                }
            }
            "--data" => {
                a.data = if val == "uniform" {
                    Data::Uniform
                } else {
                    Data::Clustered
                }
            }
            // `cargo bench` passes `--bench`; ignore it and anything unknown.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    if sorted_ms.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted_ms.len() as f64).ceil() as usize;
    sorted_ms[rank.clamp(1, sorted_ms.len()) - 1]
}

fn build(dir: &Path, n: usize, args: &Args, graph: bool) -> (f64, VectorIndex) {
    let opts = VectorOptions {
        dtype: args.dtype,
        exact_threshold: if graph { 0 } else { usize::MAX },
        m: args.m,
        ef_construction: args.ef_construction,
        ..VectorOptions::default()
    };
    let mut src = Source::new(args.data, args.dims, n, 42);
    let mut w = VectorWriter::create(dir, args.dims, &opts).expect("create");
    for _ in 0..n {
        w.add(&src.next()).expect("add");
    }
    let stats = w.finish().expect("finish");
    let t = Instant::now();
    let idx = VectorIndex::open(dir).expect("open");
    eprintln!("    open: {:.3} ms", t.elapsed().as_secs_f64() * 1000.0);
    (stats.build_seconds, idx)
}

/// Per-query latencies (ms, sorted) of `f` over the queries.
fn time_queries(queries: &[Vec<f32>], mut f: impl FnMut(&[f32])) -> Vec<f64> {
    // One untimed warm-up pass pages the files in, as a long-lived searcher would have.
    for q in queries.iter().take(20) {
        f(q);
    }
    let mut ms: Vec<f64> = queries
        .iter()
        .map(|q| {
            let t = Instant::now();
            f(q);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms
}

fn file_mb(dir: &Path, name: &str) -> f64 {
    std::fs::metadata(dir.join(name)).map_or(0.0, |m| m.len() as f64 / 1e6)
}

fn main() {
    let args = parse_args();
    let queries_for = |n: usize| -> Vec<Vec<f32>> {
        let mut src = Source::new(args.data, args.dims, n, 7);
        (0..args.queries).map(|_| src.next()).collect()
    };
    println!(
        "# vector bench: {} data, dims {}, dtype {:?}, {} queries, m {}, ef_construction {}, {} rayon threads",
        if args.data == Data::Uniform { "uniform" } else { "clustered" },
        args.dims,
        args.dtype,
        args.queries,
        args.m,
        args.ef_construction,
        rayon::current_num_threads()
    );

    if !args.scan_sizes.is_empty() {
        println!("\n## exact scan, k = 10");
        println!("| vectors | matrix MB | p50 ms | p95 ms |");
        println!("| ---: | ---: | ---: | ---: |");
    }
    for &n in &args.scan_sizes {
        let tmp = tempfile::tempdir().expect("tempdir");
        eprintln!("scan {n}: writing");
        let queries = queries_for(n);
        let (_, idx) = build(tmp.path(), n, &args, false);
        let ms = time_queries(&queries, |q| {
            std::hint::black_box(idx.search_exact(q, 10, None).expect("search"));
        });
        println!(
            "| {n} | {:.1} | {:.3} | {:.3} |",
            file_mb(tmp.path(), "matrix.bin"),
            percentile(&ms, 50.0),
            percentile(&ms, 95.0)
        );
    }

    if !args.graph_sizes.is_empty() {
        println!("\n## HNSW, k = 10 (recall@10 against the exact scan)");
        println!("| vectors | build s | graph MB | ef_search | recall@10 | p50 ms | p95 ms | exact p50 ms |");
        println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    }
    for &n in &args.graph_sizes {
        let tmp = tempfile::tempdir().expect("tempdir");
        eprintln!("graph {n}: writing + building");
        let queries = queries_for(n);
        let (build_s, mut idx) = build(tmp.path(), n, &args, true);
        let exact: Vec<Vec<u32>> = queries
            .iter()
            .map(|q| {
                idx.search_exact(q, 10, None)
                    .expect("search")
                    .iter()
                    .map(|h| h.chunk_id)
                    .collect()
            })
            .collect();
        let exact_ms = time_queries(&queries, |q| {
            std::hint::black_box(idx.search_exact(q, 10, None).expect("search"));
        });
        for &ef in &args.efs {
            idx.set_ef_search(ef);
            let mut found = 0usize;
            for (q, want) in queries.iter().zip(&exact) {
                let got = idx.search(q, 10, None).expect("search");
                found += got.iter().filter(|h| want.contains(&h.chunk_id)).count();
            }
            let recall = found as f64 / (10 * queries.len()) as f64;
            let ms = time_queries(&queries, |q| {
                std::hint::black_box(idx.search(q, 10, None).expect("search"));
            });
            println!(
                "| {n} | {build_s:.2} | {:.1} | {ef} | {recall:.4} | {:.3} | {:.3} | {:.3} |",
                file_mb(tmp.path(), "graph.bin"),
                percentile(&ms, 50.0),
                percentile(&ms, 95.0),
                percentile(&exact_ms, 50.0),
            );
        }
    }
}
