//! The vector stage end to end: write vectors directories in temporary directories,
//! reopen them, and check searches against a brute-force reference; damage the files and
//! check that opening or searching reports `Error::CorruptIndex` (a panic or a
//! `process::exit` would kill this test binary).

use std::collections::HashSet;
use std::path::Path;

use cseek::vector::{VectorDtype, VectorHit, VectorIndex, VectorOptions, VectorWriter};
use cseek::Error;

/// Deterministic xorshift generator (no `rand` dependency).
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
    /// Roughly Gaussian (sum of uniforms): random directions are then isotropic enough.
    fn gauss(&mut self) -> f32 {
        (0..4)
            .map(|_| (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
            .sum()
    }
    fn unit(&mut self, dims: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dims).map(|_| self.gauss()).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        v
    }
}

fn random_vectors(seed: u64, n: usize, dims: usize) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.unit(dims)).collect()
}

/// Random unit vectors around `topics` random centres (centre + noise, cos ≈ 0.8 to the
/// centre), the way embeddings of related code cluster. Uniform random directions in 384
/// dimensions are the worst case for any graph index (all pairs nearly orthogonal) and
/// need a far wider beam; `benches/README.md` has numbers for both.
fn clustered_vectors(seed: u64, n: usize, dims: usize, topics: usize) -> Vec<Vec<f32>> {
    let centres = random_vectors(1234, topics, dims);
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let c = &centres[rng.next_u64() as usize % topics];
            let noise = rng.unit(dims);
            let mut v: Vec<f32> = c.iter().zip(&noise).map(|(a, b)| a + 0.75 * b).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            v
        })
        .collect()
}

fn write(dir: &Path, vectors: &[Vec<f32>], opts: &VectorOptions) -> cseek::vector::VectorStats {
    let dims = vectors.first().map_or(8, Vec::len);
    let mut w = VectorWriter::create(dir, dims, opts).unwrap();
    for v in vectors {
        w.add(v).unwrap();
    }
    w.finish().unwrap()
}

/// Brute force in f64: (id, score) best first, ties by id.
fn brute_force(
    vectors: &[Vec<f32>],
    q: &[f32],
    k: usize,
    allow: impl Fn(u32) -> bool,
) -> Vec<(u32, f64)> {
    let mut all: Vec<(u32, f64)> = vectors
        .iter()
        .enumerate()
        .filter(|(i, _)| allow(*i as u32))
        .map(|(i, v)| {
            let s = v.iter().zip(q).map(|(a, b)| *a as f64 * *b as f64).sum();
            (i as u32, s)
        })
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

fn ids(hits: &[VectorHit]) -> Vec<u32> {
    hits.iter().map(|h| h.chunk_id).collect()
}

fn graph_opts() -> VectorOptions {
    VectorOptions {
        exact_threshold: 0, // always build the graph
        ..VectorOptions::default()
    }
}

fn assert_corrupt(r: cseek::Result<VectorIndex>, what: &str) {
    match r {
        Err(Error::CorruptIndex { .. }) => {}
        Err(e) => panic!("{what}: expected CorruptIndex, got {e}"),
        Ok(_) => panic!("{what}: opened a damaged directory"),
    }
}

#[test]
fn f32_round_trip_and_exact_scan_match_brute_force() {
    let tmp = tempfile::tempdir().unwrap();
    let vectors = random_vectors(1, 1500, 48);
    let stats = write(tmp.path(), &vectors, &VectorOptions::default());
    assert_eq!((stats.count, stats.dims, stats.graph), (1500, 48, false));
    let idx = VectorIndex::open(tmp.path()).unwrap();
    assert_eq!((idx.len(), idx.dims(), idx.has_graph()), (1500, 48, false));
    assert_eq!(idx.dtype(), VectorDtype::F32);

    let mut rng = Rng::new(99);
    for _ in 0..20 {
        let q = rng.unit(48);
        let want = brute_force(&vectors, &q, 10, |_| true);
        for hits in [
            idx.search_exact(&q, 10, None).unwrap(),
            idx.search(&q, 10, None).unwrap(),
        ] {
            assert_eq!(ids(&hits), want.iter().map(|w| w.0).collect::<Vec<_>>());
            for (h, w) in hits.iter().zip(&want) {
                assert!(
                    (h.score as f64 - w.1).abs() < 1e-5,
                    "{} vs {}",
                    h.score,
                    w.1
                );
            }
        }
    }
    // A stored vector finds itself with score 1.
    let hits = idx.search(&vectors[321], 3, None).unwrap();
    assert_eq!(hits[0].chunk_id, 321);
    assert!((hits[0].score - 1.0).abs() < 1e-5);
    // k larger than the index, and k = 0.
    assert_eq!(idx.search(&vectors[0], 5000, None).unwrap().len(), 1500);
    assert!(idx.search(&vectors[0], 0, None).unwrap().is_empty());
}

#[test]
fn f16_round_trip_is_close_to_f32() {
    let tmp32 = tempfile::tempdir().unwrap();
    let tmp16 = tempfile::tempdir().unwrap();
    let vectors = random_vectors(2, 800, 384);
    write(tmp32.path(), &vectors, &VectorOptions::default());
    let opts16 = VectorOptions {
        dtype: VectorDtype::F16,
        ..VectorOptions::default()
    };
    write(tmp16.path(), &vectors, &opts16);
    let size = |d: &Path| std::fs::metadata(d.join("matrix.bin")).unwrap().len();
    assert_eq!(size(tmp32.path()) - 32, 2 * (size(tmp16.path()) - 32));

    let i32 = VectorIndex::open(tmp32.path()).unwrap();
    let i16 = VectorIndex::open(tmp16.path()).unwrap();
    assert_eq!(i16.dtype(), VectorDtype::F16);
    let mut rng = Rng::new(5);
    for _ in 0..10 {
        let q = rng.unit(384);
        let a = i32.search_exact(&q, 800, None).unwrap();
        let b = i16.search_exact(&q, 800, None).unwrap();
        // Same vectors, scores within f16 rounding.
        let by_id: std::collections::HashMap<u32, f32> =
            b.iter().map(|h| (h.chunk_id, h.score)).collect();
        for h in &a {
            let s16 = by_id[&h.chunk_id];
            assert!((h.score - s16).abs() < 2e-3, "{} vs {s16}", h.score);
        }
        // Top hit identical unless the top two are within f16 noise.
        if a[0].score - a[1].score > 4e-3 {
            assert_eq!(a[0].chunk_id, b[0].chunk_id);
        }
    }
    let hits = i16.search(&vectors[17], 1, None).unwrap();
    assert_eq!(hits[0].chunk_id, 17);
    assert!((hits[0].score - 1.0).abs() < 2e-3);
}

/// Recall@10 of the graph search against the exact scan, averaged over `queries`.
fn recall_at_10(idx: &VectorIndex, queries: &[Vec<f32>]) -> f64 {
    let mut found = 0usize;
    for q in queries {
        let exact: HashSet<u32> = ids(&idx.search_exact(q, 10, None).unwrap())
            .into_iter()
            .collect();
        let approx = idx.search(q, 10, None).unwrap();
        assert_eq!(approx.len(), 10);
        found += approx
            .iter()
            .filter(|h| exact.contains(&h.chunk_id))
            .count();
    }
    found as f64 / (10 * queries.len()) as f64
}

#[test]
fn hnsw_agrees_with_exact_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let vectors = clustered_vectors(3, 3000, 384, 30);
    let stats = write(tmp.path(), &vectors, &graph_opts());
    assert!(stats.graph);
    assert!(tmp.path().join("graph.bin").is_file());
    let idx = VectorIndex::open(tmp.path()).unwrap();
    assert!(idx.has_graph());
    assert_eq!(idx.ef_search(), VectorOptions::default().ef_search);
    let queries = clustered_vectors(4, 100, 384, 30);
    let recall = recall_at_10(&idx, &queries);
    assert!(recall >= 0.99, "recall@10 {recall}");
    // Off-distribution queries (uniform random directions) still get k results, and a
    // wider beam makes them nearly exact.
    let mut idx = idx;
    idx.set_ef_search(1000);
    let odd = random_vectors(5, 20, 384);
    assert!(recall_at_10(&idx, &odd) >= 0.99);
    idx.set_ef_search(VectorOptions::default().ef_search);
    // Scores of graph hits are the true dot products, best first.
    let q = &queries[0];
    let hits = idx.search(q, 10, None).unwrap();
    for h in &hits {
        let want: f32 = vectors[h.chunk_id as usize]
            .iter()
            .zip(q)
            .map(|(a, b)| a * b)
            .sum();
        assert!((h.score - want).abs() < 1e-5);
    }
    assert!(hits.windows(2).all(|p| p[0].score >= p[1].score));
    // Stored vectors find themselves through the graph.
    for i in (0..3000).step_by(97) {
        assert_eq!(
            idx.search(&vectors[i], 1, None).unwrap()[0].chunk_id,
            i as u32
        );
    }
}

#[test]
fn filtered_search_returns_only_allowed_ids_and_k_of_them() {
    let tmp = tempfile::tempdir().unwrap();
    let vectors = random_vectors(6, 2000, 32);
    write(tmp.path(), &vectors, &graph_opts());
    let idx = VectorIndex::open(tmp.path()).unwrap();
    assert!(idx.has_graph());
    let queries = random_vectors(7, 20, 32);

    // 10% allowed: still k hits, all allowed, nearly all of the exact filtered top-k.
    let tenth = |id: u32| id % 10 == 3;
    let mut found = 0;
    for q in &queries {
        let hits = idx.search(q, 10, Some(&tenth)).unwrap();
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|h| tenth(h.chunk_id)));
        let want: HashSet<u32> = brute_force(&vectors, q, 10, tenth)
            .iter()
            .map(|w| w.0)
            .collect();
        found += hits.iter().filter(|h| want.contains(&h.chunk_id)).count();
        let exact = idx.search_exact(q, 10, Some(&tenth)).unwrap();
        assert_eq!(
            ids(&exact),
            brute_force(&vectors, q, 10, tenth)
                .iter()
                .map(|w| w.0)
                .collect::<Vec<_>>()
        );
    }
    assert!(found as f64 / (10 * queries.len()) as f64 >= 0.95);

    // Very selective (12 allowed ids far apart in the graph): exactly the filtered top-k.
    let few: HashSet<u32> = (0..12).map(|i| i * 163 + 5).collect();
    let allow_few = |id: u32| few.contains(&id);
    for q in &queries {
        let hits = idx.search(q, 10, Some(&allow_few)).unwrap();
        let want: Vec<u32> = brute_force(&vectors, q, 10, allow_few)
            .iter()
            .map(|w| w.0)
            .collect();
        assert_eq!(ids(&hits), want);
    }

    // Fewer allowed than k: all of them, nothing else.
    let three = |id: u32| id == 1 || id == 999 || id == 1998;
    let hits = idx.search(&queries[0], 10, Some(&three)).unwrap();
    let mut got = ids(&hits);
    got.sort_unstable();
    assert_eq!(got, vec![1, 999, 1998]);

    // Nothing allowed.
    let none = |_: u32| false;
    assert!(idx.search(&queries[0], 10, Some(&none)).unwrap().is_empty());
}

#[test]
fn empty_index_works() {
    for opts in [VectorOptions::default(), graph_opts()] {
        let tmp = tempfile::tempdir().unwrap();
        let w = VectorWriter::create(tmp.path(), 16, &opts).unwrap();
        assert!(w.is_empty());
        let stats = w.finish().unwrap();
        assert_eq!((stats.count, stats.dims, stats.graph), (0, 16, false));
        let idx = VectorIndex::open(tmp.path()).unwrap();
        assert_eq!((idx.len(), idx.dims(), idx.has_graph()), (0, 16, false));
        assert!(idx.is_empty());
        let q = Rng::new(1).unit(16);
        assert!(idx.search(&q, 10, None).unwrap().is_empty());
        assert!(idx.search_exact(&q, 10, None).unwrap().is_empty());
    }
}

/// A small directory with a graph, for the damage tests.
fn damaged_fixture() -> (tempfile::TempDir, Vec<Vec<f32>>) {
    let tmp = tempfile::tempdir().unwrap();
    let vectors = random_vectors(8, 400, 16);
    let stats = write(tmp.path(), &vectors, &graph_opts());
    assert!(stats.graph);
    assert!(VectorIndex::open(tmp.path()).is_ok());
    (tmp, vectors)
}

fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.path().join(entry.file_name())).unwrap();
    }
    to
}

#[test]
fn damaged_files_are_corrupt_index_errors() {
    let (good, _) = damaged_fixture();
    let damage = |what: &str, f: &dyn Fn(&Path)| {
        let dir = copy_dir(good.path());
        f(dir.path());
        assert_corrupt(VectorIndex::open(dir.path()), what);
    };
    let edit = |file: &'static str, g: fn(&mut Vec<u8>)| {
        move |dir: &Path| {
            let p = dir.join(file);
            let mut bytes = std::fs::read(&p).unwrap();
            g(&mut bytes);
            std::fs::write(&p, bytes).unwrap();
        }
    };

    damage(
        "truncated matrix",
        &edit("matrix.bin", |b| b.truncate(b.len() - 10)),
    );
    damage(
        "matrix cut to half a header",
        &edit("matrix.bin", |b| b.truncate(16)),
    );
    damage("empty matrix file", &edit("matrix.bin", |b| b.clear()));
    damage(
        "matrix with extra bytes",
        &edit("matrix.bin", |b| b.extend([0u8; 64])),
    );
    damage("wrong matrix magic", &edit("matrix.bin", |b| b[0] = b'X'));
    damage("wrong matrix version", &edit("matrix.bin", |b| b[8] = 9));
    damage("wrong matrix dtype", &edit("matrix.bin", |b| b[12] = 1));
    damage("wrong matrix dims", &edit("matrix.bin", |b| b[16] = 17));
    damage("wrong matrix count", &edit("matrix.bin", |b| b[24] = 0xFF));
    damage("missing matrix", &|d: &Path| {
        std::fs::remove_file(d.join("matrix.bin")).unwrap()
    });
    damage("missing graph", &|d: &Path| {
        std::fs::remove_file(d.join("graph.bin")).unwrap()
    });
    damage(
        "truncated graph",
        &edit("graph.bin", |b| b.truncate(b.len() - 4)),
    );
    damage("wrong graph magic", &edit("graph.bin", |b| b[3] ^= 0x55));
    damage(
        "graph with bad layer count",
        &edit("graph.bin", |b| b[16] = 200),
    );
    damage(
        "graph entry out of range",
        &edit("graph.bin", |b| b[22] = 0xFF),
    );
    damage("garbage graph (same length)", &|d: &Path| {
        let p = d.join("graph.bin");
        let len = std::fs::metadata(&p).unwrap().len() as usize;
        let mut rng = Rng::new(11);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        std::fs::write(&p, bytes).unwrap();
    });
    damage("garbage graph (other length)", &|d: &Path| {
        std::fs::write(d.join("graph.bin"), b"this is not a graph").unwrap();
    });
    damage("graph is a directory", &|d: &Path| {
        std::fs::remove_file(d.join("graph.bin")).unwrap();
        std::fs::create_dir(d.join("graph.bin")).unwrap();
    });
    damage("missing metadata", &|d: &Path| {
        std::fs::remove_file(d.join("vectors.json")).unwrap()
    });
    damage(
        "garbage metadata",
        &edit("vectors.json", |b| b.truncate(b.len() / 2)),
    );
    damage("metadata of another format", &|d: &Path| {
        let p = d.join("vectors.json");
        let s = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, s.replace("\"version\": 1", "\"version\": 7")).unwrap();
    });
    damage("metadata count disagrees", &|d: &Path| {
        let p = d.join("vectors.json");
        let s = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, s.replace("\"count\": 400", "\"count\": 401")).unwrap();
    });
}

/// Garbage inside a structurally valid graph (neighbour ids, offsets) must surface as
/// `CorruptIndex` from `open` or `search`, or at worst as wrong-but-valid hits; never as
/// a panic.
#[test]
fn garbage_inside_the_graph_never_panics() {
    let (good, vectors) = damaged_fixture();
    let q = &vectors[3];
    let bytes = std::fs::read(good.path().join("graph.bin")).unwrap();
    let words = bytes.len() / 4;
    let levels = u32::from_le_bytes(bytes[16..20].try_into().unwrap()) as usize;
    let body_start = 8 + 2 * levels; // first word after the layer directory
    let mut corrupt_seen = false;
    for seed in 0..40u64 {
        let dir = copy_dir(good.path());
        let mut b = bytes.clone();
        let mut rng = Rng::new(seed + 100);
        for _ in 0..(1 + seed % 8) {
            let w = body_start + (rng.next_u64() as usize % (words - body_start));
            let v = if seed % 2 == 0 {
                u32::MAX - (rng.next_u64() % 3) as u32
            } else {
                rng.next_u64() as u32
            };
            b[4 * w..4 * w + 4].copy_from_slice(&v.to_le_bytes());
        }
        std::fs::write(dir.path().join("graph.bin"), &b).unwrap();
        match VectorIndex::open(dir.path()) {
            Err(Error::CorruptIndex { .. }) => corrupt_seen = true,
            Err(e) => panic!("seed {seed}: unexpected error {e}"),
            Ok(idx) => {
                for k in [1, 10, 400] {
                    match idx.search(q, k, None) {
                        Ok(hits) => assert!(hits.iter().all(|h| (h.chunk_id as usize) < 400)),
                        Err(Error::CorruptIndex { .. }) => corrupt_seen = true,
                        Err(e) => panic!("seed {seed}: unexpected error {e}"),
                    }
                }
            }
        }
    }
    assert!(corrupt_seen);

    // A neighbour id out of range on layer 0 is found by the search.
    let dir = copy_dir(good.path());
    let mut b = bytes.clone();
    let n = 400;
    let first_neighbour = body_start + n + 1; // layer 0: offsets (n+1 words), then neighbours
    for w in first_neighbour..words.min(first_neighbour + 4000) {
        b[4 * w..4 * w + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    }
    std::fs::write(dir.path().join("graph.bin"), &b).unwrap();
    if let Ok(idx) = VectorIndex::open(dir.path()) {
        assert!(matches!(
            idx.search(q, 10, None),
            Err(Error::CorruptIndex { .. })
        ));
        // The exact scan does not read the graph.
        assert_eq!(idx.search_exact(q, 1, None).unwrap()[0].chunk_id, 3);
    }
}

#[test]
fn rewriting_a_directory_replaces_it() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), &random_vectors(9, 300, 8), &graph_opts());
    assert!(tmp.path().join("graph.bin").exists());
    // Second write below the threshold: no graph, and the old graph file is gone.
    let small = random_vectors(10, 50, 8);
    let stats = write(tmp.path(), &small, &VectorOptions::default());
    assert!(!stats.graph);
    assert!(!tmp.path().join("graph.bin").exists());
    let idx = VectorIndex::open(tmp.path()).unwrap();
    assert_eq!(idx.len(), 50);
    assert_eq!(idx.search(&small[42], 1, None).unwrap()[0].chunk_id, 42);
}

#[test]
fn appended_rows_are_scanned_until_the_graph_is_rebuilt() {
    // A base of 3,000 rows with a graph; an update appends rows. While the appended tail is
    // small the base graph is kept (hard-linked) and the tail scanned; past the policy's
    // bound the graph is rebuilt over every row. Either way search finds every row.
    let tmp = tempfile::tempdir().unwrap();
    let base_dir = tmp.path().join("base");
    let vectors = clustered_vectors(11, 4000, 64, 20);
    let opts = VectorOptions {
        exact_threshold: 100,
        ..VectorOptions::default()
    };
    write(&base_dir, &vectors[..3000], &opts);
    let base = VectorIndex::open(&base_dir).unwrap();
    assert_eq!(base.graph_rows(), 3000);

    let next_dir = tmp.path().join("next");
    let mut w = VectorWriter::create_from(&base, &next_dir, &opts).unwrap();
    assert_eq!(w.len(), 3000);
    for v in &vectors[3000..3200] {
        w.add(v).unwrap();
    }
    assert!(w.finish().unwrap().graph);
    let next = VectorIndex::open(&next_dir).unwrap();
    assert_eq!((next.len(), next.graph_rows()), (3200, 3000), "graph kept");
    // The base is untouched.
    assert_eq!(VectorIndex::open(&base_dir).unwrap().len(), 3000);
    for (i, v) in vectors[..3200].iter().enumerate().step_by(37) {
        assert_eq!(
            next.search(v, 1, None).unwrap()[0].chunk_id,
            i as u32,
            "row {i}"
        );
        assert_eq!(next.vector(i as u32).as_deref(), Some(v.as_slice()));
    }
    let queries = clustered_vectors(12, 50, 64, 20);
    assert!(recall_at_10(&next, &queries) >= 0.97);
    // A filter applies to the scanned tail too.
    let only_tail = |id: u32| id >= 3000;
    for h in next.search(&vectors[10], 10, Some(&only_tail)).unwrap() {
        assert!(h.chunk_id >= 3000);
    }

    // Past the bound (max(2,000, 10% of the graph)), the graph is rebuilt over all rows.
    let last_dir = tmp.path().join("last");
    let mut w = VectorWriter::create_from(&next, &last_dir, &opts).unwrap();
    for v in &vectors[3200..] {
        w.add(v).unwrap();
    }
    // 800 more: the tail is 1,000 ≤ 2,000, still kept.
    w.finish().unwrap();
    let last = VectorIndex::open(&last_dir).unwrap();
    assert_eq!((last.len(), last.graph_rows()), (4000, 3000));
    let rebuilt_dir = tmp.path().join("rebuilt");
    let mut w = VectorWriter::create_from(&last, &rebuilt_dir, &opts).unwrap();
    let more = clustered_vectors(13, 2500, 64, 20);
    for v in &more {
        w.add(v).unwrap();
    }
    w.finish().unwrap();
    let rebuilt = VectorIndex::open(&rebuilt_dir).unwrap();
    assert_eq!(
        (rebuilt.len(), rebuilt.graph_rows()),
        (6500, 6500),
        "graph rebuilt"
    );
    // The rebuild wrote a new file: the previous directory's graph is intact.
    let last = VectorIndex::open(&last_dir).unwrap();
    assert_eq!(last.graph_rows(), 3000);
    assert!(recall_at_10(&last, &queries) >= 0.97);
    assert!(recall_at_10(&rebuilt, &queries) >= 0.97);
}

#[test]
fn larger_graphs_are_searched_with_a_wider_beam() {
    use cseek::vector::ef_search_for;
    assert_eq!(ef_search_for(64, 0), 64);
    assert_eq!(ef_search_for(64, 100_000), 64);
    assert_eq!(ef_search_for(64, 100_001), 128);
    assert_eq!(ef_search_for(64, 400_000), 128);
    assert_eq!(ef_search_for(64, 1_102_911), 256);
    assert_eq!(ef_search_for(64, 1_600_001), 512);
    // Bounded, whatever the size or the base.
    assert_eq!(ef_search_for(64, usize::MAX), 4096);
    assert_eq!(ef_search_for(10_000, usize::MAX), 10_000);
    assert_eq!(ef_search_for(0, 5), 1);
}
