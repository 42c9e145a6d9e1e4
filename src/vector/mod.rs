//! Dense vectors: storage on memory-mapped files, exact scan and HNSW search.
//!
//! A vectors directory (inside an index generation; layout in `index-format/README.md`,
//! section "vectors/") holds one embedding per chunk, row *i* for chunk *i*:
//!
//! - `matrix.bin`: a raw little-endian f32 or f16 matrix, mapped and read zero-copy, so
//!   opening is instant and memory use is what the OS pages in;
//! - `graph.bin` (only with at least [`VectorOptions::exact_threshold`] vectors): an HNSW
//!   graph built with `hnsw_rs` and stored as flat adjacency arrays, searched straight
//!   from the map (see `graph.rs` for why not hnsw_rs's own dump);
//! - `vectors.json`: dims, count, dtype, search settings and the byte length of each
//!   file, written last, so a directory without it was never finished.
//!
//! Vectors are L2-normalised by the caller; the score of a hit is the dot product (the
//! cosine similarity). [`VectorIndex::search`] uses the graph when there is one and scans
//! otherwise; a filter is applied inside either search, and when it is so selective that
//! the graph walk would reach fewer than `k` allowed chunks, or would walk most of the
//! graph to find them, the search falls back to an exact scan of the allowed rows, so a
//! filtered search still returns `k` hits whenever `k` chunks are allowed.
//!
//! ```
//! use cseek::vector::{VectorIndex, VectorOptions, VectorWriter};
//! # fn main() -> cseek::Result<()> {
//! # let dir = std::env::temp_dir().join(format!("cseek-vector-doc-{}", std::process::id()));
//! let mut writer = VectorWriter::create(&dir, 2, &VectorOptions::default())?;
//! writer.add(&[1.0, 0.0])?; // chunk 0
//! writer.add(&[0.0, 1.0])?; // chunk 1
//! let stats = writer.finish()?;
//! assert_eq!((stats.count, stats.graph), (2, false)); // tiny: exact scan, no graph
//!
//! let index = VectorIndex::open(&dir)?;
//! let hits = index.search(&[0.6, 0.8], 1, None)?;
//! assert_eq!(hits[0].chunk_id, 1);
//! let only_even = |id: u32| id % 2 == 0;
//! assert_eq!(index.search(&[0.6, 0.8], 1, Some(&only_even))?[0].chunk_id, 0);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```
//!
//! Nothing here prints: hnsw_rs only logs through `log` (silent unless the program
//! installs a logger), and its printing/exiting paths (reload, `m > 256`) are never taken.

mod graph;
mod matrix;
mod scan;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use graph::Graph;
use matrix::{Matrix, MatrixWriter};

/// Name of the metadata file inside a vectors directory.
pub const META_FILE: &str = "vectors.json";
/// Version of the vectors directory layout (`vectors.json`, `matrix.bin`, `graph.bin`).
pub const VECTORS_VERSION: u32 = 1;
const FORMAT_NAME: &str = "cseek-vectors";

/// Scale to unit length: the vector index ranks by dot product, which is cosine only for
/// unit vectors, and some models (CodeBERT, StarEncoder) do not normalise. All-zero
/// vectors stay zero; non-finite values are left for the vector writer to reject.
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Element type of the stored matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VectorDtype {
    /// 32-bit floats: exact, 4 bytes per dimension.
    #[default]
    F32,
    /// IEEE half precision: half the size (and half the memory bandwidth of a scan);
    /// scores differ from f32 by about 1e-3.
    F16,
}

/// How a vectors directory is built and searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorOptions {
    /// Element type on disk. Default [`VectorDtype::F32`].
    pub dtype: VectorDtype,
    /// Below this many vectors no graph is built and every search is an exact scan.
    /// Default 10,000: a scan of 10k × 384 f32 takes about 1 ms on one core and is exact,
    /// and building the graph would cost seconds (measurements in `benches/README.md`).
    pub exact_threshold: usize,
    /// Beam width of the graph search on layer 0 (at least `k` is used), for graphs of
    /// up to 100k vectors; a larger graph stores a wider beam ([`ef_search_for`]), since
    /// recall falls as the graph grows. Default 64. Stored with the index;
    /// [`VectorIndex::set_ef_search`] overrides it.
    pub ef_search: usize,
    /// HNSW links per node and layer (layer 0 keeps up to `2·m`). Default 32; clamped to
    /// 2..=256 (hnsw_rs exits the process above 256). Measured on 1.1M chunks of real code
    /// (`benches/README.md`, "Scale"): m 16 reaches recall@10 0.887 at ef 256, m 32 0.955,
    /// for 2.6× the build time.
    pub m: usize,
    /// Beam width while building the graph. Default 200; at least `m` is used.
    pub ef_construction: usize,
}

impl Default for VectorOptions {
    fn default() -> Self {
        VectorOptions {
            dtype: VectorDtype::F32,
            exact_threshold: 10_000,
            ef_search: 64,
            m: 32,
            ef_construction: 200,
        }
    }
}

/// The beam width a graph of `rows` vectors is searched with by default: `base` up to
/// 100k rows, doubled for every fourfold growth beyond (128 to 400k, 256 to 1.6M, 512
/// to 6.4M, …, up to 4,096; a larger `base` is kept as given). Measured on real code with m 32 (`benches/README.md`,
/// "Scale"): recall@10 0.965 at 100k with ef 64, 0.955 at 1.1M with ef 256 (0.927 with
/// 128); the wider beam costs about 1 ms at 1.1M, against a 60 ms exact scan.
pub fn ef_search_for(base: usize, rows: usize) -> usize {
    let mut ef = base.max(1);
    let mut limit = 100_000usize;
    while rows > limit && ef < 4096 {
        ef = (ef * 2).min(4096);
        limit = limit.saturating_mul(4);
    }
    ef.max(base)
}

/// What [`VectorWriter::finish`] built.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorStats {
    /// Vectors stored.
    pub count: usize,
    /// Dimensions per vector.
    pub dims: usize,
    /// Whether an HNSW graph was built (`count >= exact_threshold`).
    pub graph: bool,
    /// Seconds `finish` took (graph build included).
    pub build_seconds: f64,
}

/// One search result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VectorHit {
    /// The chunk (row) id.
    pub chunk_id: u32,
    /// Dot product with the query (cosine similarity for unit vectors); higher is better.
    pub score: f32,
}

/// Contents of `vectors.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct VectorsMeta {
    format: String,
    version: u32,
    dims: usize,
    count: usize,
    dtype: VectorDtype,
    /// Byte length of `matrix.bin`.
    matrix_bytes: u64,
    /// Byte length of `graph.bin`, when there is a graph.
    graph_bytes: Option<u64>,
    /// Rows the graph covers (`0..graph_rows`); later rows were appended by incremental
    /// updates and are scanned exactly. Absent: the graph covers every row.
    #[serde(default)]
    graph_rows: Option<usize>,
    ef_search: usize,
    m: usize,
    ef_construction: usize,
    exact_threshold: usize,
    build_seconds: f64,
}

/// Writes a vectors directory: [`add`](Self::add) each chunk's vector in chunk-id order,
/// then [`finish`](Self::finish).
///
/// Rows stream to disk as they come; `finish` builds the graph (when there are enough
/// vectors) from the written matrix, using all cores, and writes the metadata last.
pub struct VectorWriter {
    dir: PathBuf,
    dims: usize,
    opts: VectorOptions,
    matrix: MatrixWriter,
    /// Rows covered by a graph carried over from the base (hard-linked `graph.bin`).
    base_graph: Option<(usize, u64)>,
}

/// An incremental update keeps the base's graph, scanning the rows appended after it,
/// while those are at most this many ...
pub const GRAPH_TAIL_MIN: usize = 2_000;
/// ... or this fraction of the rows the graph covers, whichever is larger; past that the
/// graph is rebuilt over every row. An exact scan of 2,000 rows of 384 f32 takes about
/// 0.2 ms, and a rebuild costs seconds (measurements in `benches/README.md`).
pub const GRAPH_TAIL_FRACTION: f64 = 0.10;

impl VectorWriter {
    /// Start writing vectors of `dims` dimensions into `dir` (created if missing;
    /// existing vector files in it are replaced).
    pub fn create(dir: &Path, dims: usize, opts: &VectorOptions) -> Result<Self> {
        if dims == 0 || dims > u32::MAX as usize {
            return Err(Error::InvalidOption(format!(
                "vector dimensions must be 1..={}, got {dims}",
                u32::MAX
            )));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
        // A stale metadata file must not vouch for the new, half-written files.
        match std::fs::remove_file(dir.join(META_FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::io("removing", dir.join(META_FILE), e))
            }
            _ => {}
        }
        let matrix = MatrixWriter::create(dir, dims, opts.dtype)?;
        Ok(VectorWriter {
            dir: dir.to_path_buf(),
            dims,
            opts: opts.clone(),
            matrix,
            base_graph: None,
        })
    }

    /// Continue the vectors of `base` (a finished vectors directory) in the new directory
    /// `dir`: the matrix is copied and appended to, the graph kept (hard-linked) while
    /// the appended rows stay few (see [`GRAPH_TAIL_MIN`]). The base's dims and dtype are
    /// kept; `opts` gives the graph settings for a rebuild.
    pub fn create_from(base: &VectorIndex, dir: &Path, opts: &VectorOptions) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating directory", dir, e))?;
        let dims = base.dims();
        let matrix =
            MatrixWriter::create_from(&base.dir, dir, dims, base.dtype(), base.len() as u64)?;
        let mut base_graph = None;
        if let Some(g) = &base.graph {
            let from = base.dir.join(graph::GRAPH_FILE);
            let to = dir.join(graph::GRAPH_FILE);
            let linked =
                std::fs::hard_link(&from, &to).or_else(|_| std::fs::copy(&from, &to).map(|_| ()));
            if linked.is_ok() {
                base_graph = Some((base.graph_rows, g.byte_len()));
            }
        }
        Ok(VectorWriter {
            dir: dir.to_path_buf(),
            dims,
            opts: VectorOptions {
                dtype: base.dtype(),
                ..opts.clone()
            },
            matrix,
            base_graph,
        })
    }

    /// Append the vector of the next chunk (the *i*-th call is chunk *i*).
    ///
    /// It must have `dims` finite values and unit length (±1%), or be all zeros (a chunk
    /// that then matches nothing); anything else is [`Error::InvalidOption`], since the
    /// dot-product scores would be meaningless.
    pub fn add(&mut self, v: &[f32]) -> Result<()> {
        let id = self.matrix.count();
        if v.len() != self.dims {
            return Err(Error::InvalidOption(format!(
                "vector {id} has {} dimensions, the index has {}",
                v.len(),
                self.dims
            )));
        }
        if id >= u64::from(u32::MAX) {
            return Err(Error::InvalidOption(
                "more than 2^32 - 1 vectors in one index".into(),
            ));
        }
        let norm2: f64 = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
        if !norm2.is_finite() {
            return Err(Error::InvalidOption(format!(
                "vector {id} has non-finite values"
            )));
        }
        if norm2 != 0.0 && (norm2.sqrt() - 1.0).abs() > 0.01 {
            return Err(Error::InvalidOption(format!(
                "vector {id} has norm {:.4}; vectors must be L2-normalised",
                norm2.sqrt()
            )));
        }
        self.matrix.push(v)
    }

    /// Number of vectors added so far.
    pub fn len(&self) -> usize {
        self.matrix.count() as usize
    }

    /// Whether no vector was added yet.
    pub fn is_empty(&self) -> bool {
        self.matrix.count() == 0
    }

    /// Finish the matrix, build and write the graph when `count >= exact_threshold`
    /// (and `count > 0`), then write `vectors.json`. Every file is fsynced.
    pub fn finish(self) -> Result<VectorStats> {
        let started = Instant::now();
        let VectorWriter {
            dir,
            dims,
            opts,
            matrix,
            base_graph,
        } = self;
        let count = matrix.count() as usize;
        let matrix_bytes = matrix.finish()?;
        let want_graph = count > 0 && count >= opts.exact_threshold;
        let graph_path = dir.join(graph::GRAPH_FILE);
        let keep_base = base_graph.filter(|&(rows, _)| {
            let tail = count.saturating_sub(rows);
            want_graph
                && rows <= count
                && tail <= GRAPH_TAIL_MIN.max((rows as f64 * GRAPH_TAIL_FRACTION) as usize)
        });
        // Unlink any carried-over graph before writing a new one: it may be a hard link
        // to the base generation's file, which must not change.
        if keep_base.is_none() {
            match std::fs::remove_file(&graph_path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io("removing", &graph_path, e))
                }
                _ => {}
            }
        }
        let (graph_bytes, graph_rows) = if let Some((rows, bytes)) = keep_base {
            (Some(bytes), rows)
        } else if want_graph {
            let m = Matrix::open(&dir, opts.dtype, dims, count, matrix_bytes)?;
            let data = graph::build(&m, opts.m, opts.ef_construction)?;
            (Some(graph::write(&dir, &data)?), count)
        } else {
            (None, 0)
        };
        let build_seconds = started.elapsed().as_secs_f64();
        let meta = VectorsMeta {
            format: FORMAT_NAME.into(),
            version: VECTORS_VERSION,
            dims,
            count,
            dtype: opts.dtype,
            matrix_bytes,
            graph_bytes,
            graph_rows: graph_bytes.map(|_| graph_rows),
            ef_search: ef_search_for(opts.ef_search, graph_rows),
            m: opts.m.clamp(2, graph::MAX_M),
            ef_construction: opts.ef_construction.max(opts.m.clamp(2, graph::MAX_M)),
            exact_threshold: opts.exact_threshold,
            build_seconds,
        };
        let path = dir.join(META_FILE);
        let bytes = serde_json::to_vec_pretty(&meta)
            .map_err(|e| Error::corrupt(&path, format!("encoding: {e}")))?;
        write_synced(&path, &bytes)?;
        Ok(VectorStats {
            count,
            dims,
            graph: graph_bytes.is_some(),
            build_seconds,
        })
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).map_err(|e| Error::io("creating", path, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io("writing", path, e))
}

/// An opened vectors directory. Opening maps the files and checks their headers and
/// sizes (a damaged directory is [`Error::CorruptIndex`], never a panic); it reads no
/// vectors. `Send + Sync`: share one per index.
pub struct VectorIndex {
    dir: PathBuf,
    matrix: Matrix,
    graph: Option<Graph>,
    /// Rows the graph covers; rows after them are scanned.
    graph_rows: usize,
    ef_search: usize,
}

impl std::fmt::Debug for VectorIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VectorIndex")
            .field("dir", &self.dir)
            .field("len", &self.len())
            .field("dims", &self.dims())
            .field("dtype", &self.dtype())
            .field("graph", &self.has_graph())
            .field("ef_search", &self.ef_search)
            .finish()
    }
}

impl VectorIndex {
    /// Open the vectors directory `dir` written by [`VectorWriter`].
    pub fn open(dir: &Path) -> Result<Self> {
        let meta_path = dir.join(META_FILE);
        let bytes = std::fs::read(&meta_path).map_err(|e| {
            Error::corrupt(
                &meta_path,
                if e.kind() == std::io::ErrorKind::NotFound {
                    "missing (the vectors were never finished)".to_string()
                } else {
                    e.to_string()
                },
            )
        })?;
        let meta: VectorsMeta = serde_json::from_slice(&bytes)
            .map_err(|e| Error::corrupt(&meta_path, e.to_string()))?;
        if meta.format != FORMAT_NAME || meta.version != VECTORS_VERSION {
            return Err(Error::corrupt(
                &meta_path,
                format!(
                    "format {:?} version {}, expected {FORMAT_NAME:?} version {VECTORS_VERSION}",
                    meta.format, meta.version
                ),
            ));
        }
        if meta.dims == 0 || meta.dims > u32::MAX as usize || meta.count > u32::MAX as usize {
            return Err(Error::corrupt(&meta_path, "bad dims or count"));
        }
        let matrix = Matrix::open(dir, meta.dtype, meta.dims, meta.count, meta.matrix_bytes)?;
        let graph_rows = meta.graph_rows.unwrap_or(meta.count);
        if graph_rows > meta.count {
            return Err(Error::corrupt(
                &meta_path,
                "graph covers more rows than exist",
            ));
        }
        let graph = match meta.graph_bytes {
            Some(len) => Some(Graph::open(dir, graph_rows, len)?),
            None => None,
        };
        Ok(VectorIndex {
            dir: dir.to_path_buf(),
            matrix,
            graph,
            graph_rows: if meta.graph_bytes.is_some() {
                graph_rows
            } else {
                0
            },
            ef_search: meta.ef_search.max(1),
        })
    }

    /// Number of vectors (= chunks).
    pub fn len(&self) -> usize {
        self.matrix.len()
    }

    /// Whether there are no vectors.
    pub fn is_empty(&self) -> bool {
        self.matrix.len() == 0
    }

    /// Dimensions per vector.
    pub fn dims(&self) -> usize {
        self.matrix.dims()
    }

    /// Element type on disk.
    pub fn dtype(&self) -> VectorDtype {
        self.matrix.dtype()
    }

    /// Whether searches use an HNSW graph (otherwise they scan).
    pub fn has_graph(&self) -> bool {
        self.graph.is_some()
    }

    /// The graph search's beam width (stored at build time).
    pub fn ef_search(&self) -> usize {
        self.ef_search
    }

    /// Override the graph search's beam width (clamped to at least 1): larger is slower
    /// and closer to exact.
    pub fn set_ef_search(&mut self, ef: usize) {
        self.ef_search = ef.max(1);
    }

    /// The best `k` chunks by dot product with `query`, best first (ties: lower chunk id
    /// first). Uses the graph when there is one, otherwise an exact scan. `filter`, when
    /// given, is asked about chunk ids during the search; only chunks it accepts are
    /// returned, and `k` of them whenever at least `k` are accepted.
    ///
    /// Errors: [`Error::InvalidQuery`] for a query of the wrong length or with non-finite
    /// values; [`Error::CorruptIndex`] if the graph turns out damaged.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&dyn Fn(u32) -> bool>,
    ) -> Result<Vec<VectorHit>> {
        self.check_query(query)?;
        if let Some(graph) = &self.graph {
            if let Some(mut hits) = graph.search(&self.matrix, query, k, self.ef_search, filter)? {
                if self.graph_rows < self.len() {
                    // Rows appended since the graph was built: scanned, then merged.
                    hits.extend(scan::exact_from(
                        &self.matrix,
                        query,
                        k,
                        filter,
                        self.graph_rows,
                    ));
                    hits.sort_by(|a, b| {
                        b.score
                            .total_cmp(&a.score)
                            .then(a.chunk_id.cmp(&b.chunk_id))
                    });
                    hits.truncate(k);
                }
                return Ok(hits);
            }
        }
        Ok(scan::exact(&self.matrix, query, k, filter))
    }

    /// The stored vector of chunk `id` (as f32), or `None` past the end.
    pub fn vector(&self, id: u32) -> Option<Vec<f32>> {
        matrix::RowReader::new(&self.matrix)
            .row(id as usize)
            .map(<[f32]>::to_vec)
    }

    /// Rows the HNSW graph covers (0 without a graph); rows after them are scanned.
    pub fn graph_rows(&self) -> usize {
        self.graph_rows
    }

    /// Like [`search`](Self::search), but always an exact scan of every row (for tests,
    /// recall measurement, and callers that need exact results).
    pub fn search_exact(
        &self,
        query: &[f32],
        k: usize,
        filter: Option<&dyn Fn(u32) -> bool>,
    ) -> Result<Vec<VectorHit>> {
        self.check_query(query)?;
        Ok(scan::exact(&self.matrix, query, k, filter))
    }

    fn check_query(&self, query: &[f32]) -> Result<()> {
        if query.len() != self.dims() {
            return Err(Error::InvalidQuery(format!(
                "query vector has {} dimensions, the index has {}",
                query.len(),
                self.dims()
            )));
        }
        if query.iter().any(|x| !x.is_finite()) {
            return Err(Error::InvalidQuery(
                "query vector has non-finite values".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: u64, dims: usize) -> Vec<f32> {
        // xorshift: deterministic, no rand dependency.
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut v: Vec<f32> = (0..dims)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        v
    }

    #[test]
    fn writer_rejects_bad_vectors_and_options() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(matches!(
            VectorWriter::create(tmp.path(), 0, &VectorOptions::default()),
            Err(Error::InvalidOption(_))
        ));
        let mut w = VectorWriter::create(tmp.path(), 3, &VectorOptions::default()).unwrap();
        assert!(matches!(w.add(&[1.0, 0.0]), Err(Error::InvalidOption(_))));
        assert!(matches!(
            w.add(&[f32::NAN, 0.0, 0.0]),
            Err(Error::InvalidOption(_))
        ));
        assert!(matches!(
            w.add(&[2.0, 0.0, 0.0]),
            Err(Error::InvalidOption(_))
        ));
        w.add(&[0.0, 0.0, 0.0]).unwrap(); // zero vector: allowed, matches nothing
        w.add(&[0.0, 1.0, 0.0]).unwrap();
        assert_eq!(w.len(), 2);
        let stats = w.finish().unwrap();
        assert_eq!((stats.count, stats.dims, stats.graph), (2, 3, false));
        let idx = VectorIndex::open(tmp.path()).unwrap();
        assert!(matches!(
            idx.search(&[1.0, 0.0], 1, None),
            Err(Error::InvalidQuery(_))
        ));
        assert!(matches!(
            idx.search(&[f32::INFINITY, 0.0, 0.0], 1, None),
            Err(Error::InvalidQuery(_))
        ));
        assert_eq!(
            idx.search(&[0.0, 1.0, 0.0], 1, None).unwrap()[0].chunk_id,
            1
        );
    }

    #[test]
    fn huge_m_is_clamped_not_fatal() {
        // hnsw_rs would call process::exit for m > 256.
        let tmp = tempfile::tempdir().unwrap();
        let opts = VectorOptions {
            exact_threshold: 0,
            m: 10_000,
            ef_construction: 1,
            ..VectorOptions::default()
        };
        let mut w = VectorWriter::create(tmp.path(), 8, &opts).unwrap();
        for i in 0..50 {
            w.add(&unit(i, 8)).unwrap();
        }
        assert!(w.finish().unwrap().graph);
        let idx = VectorIndex::open(tmp.path()).unwrap();
        let q = unit(7, 8);
        assert_eq!(idx.search(&q, 1, None).unwrap()[0].chunk_id, 7);
    }

    #[test]
    fn graph_file_round_trips_structure() {
        let tmp = tempfile::tempdir().unwrap();
        let opts = VectorOptions {
            exact_threshold: 0,
            ..VectorOptions::default()
        };
        let mut w = VectorWriter::create(tmp.path(), 16, &opts).unwrap();
        for i in 0..300 {
            w.add(&unit(i, 16)).unwrap();
        }
        w.finish().unwrap();
        let m = Matrix::open(
            tmp.path(),
            VectorDtype::F32,
            16,
            300,
            (matrix::HEADER_LEN + 300 * 16 * 4) as u64,
        )
        .unwrap();
        let data = graph::build(&m, 8, 50).unwrap();
        assert_eq!(data.layers[0].offsets.len(), 301);
        // Every node has neighbours on layer 0, none of them itself.
        for i in 0..300 {
            let (a, b) = (data.layers[0].offsets[i], data.layers[0].offsets[i + 1]);
            assert!(b > a, "node {i} isolated");
            assert!(!data.layers[0].neighbours[a as usize..b as usize].contains(&(i as u32)));
        }
        // Upper layers shrink and contain the entry point at the top.
        for pair in data.layers.windows(2) {
            assert!(pair[1].offsets.len() <= pair[0].offsets.len());
        }
        if data.layers.len() > 1 {
            assert!(data.layers.last().unwrap().ids.contains(&data.entry));
        }
    }
}
