//! The HNSW graph: built with `hnsw_rs`, stored by us as flat `u32` adjacency arrays in
//! `graph.bin`, searched by us straight from the memory map.
//!
//! Why not `hnsw_rs`'s own dump and reload: its dump stores every vector a second time
//! (as f32, even for an f16 matrix), its reload reads the whole graph into a web of
//! `Arc`s (seconds and hundreds of MB for 100k vectors, on every open), the loaded
//! `Hnsw` borrows its loader, and the loader panics or calls `std::process::exit` on a
//! missing or damaged file. The layout here is a few flat arrays: opening is a map plus
//! O(n) cheap checks, the vectors are read from `matrix.bin` only, and a damaged file is
//! an `Error::CorruptIndex`. The search is the standard HNSW one (greedy descent through
//! the upper layers, then a best-first beam of width `ef` on layer 0, Malkov & Yashunin
//! alg. 2), with the filter applied inside the beam: rejected nodes are still walked
//! through but never enter the results.
//!
//! Layout (all little-endian `u32`, so the map is read as one `&[u32]`):
//!
//! ```text
//! header (8 words): magic "CSKVGRF\0" (2 words), version, count n, levels L, entry, 0, 0
//! directory (2·L words): for each layer l: nodes_l, edges_l        (nodes_0 = n)
//! then for each layer l = 0 .. L-1:
//!   ids      (nodes_l words, only for l ≥ 1): the nodes present, strictly increasing
//!   offsets  (nodes_l + 1 words): node i's neighbours are neighbours[offsets[i]..offsets[i+1]]
//!   neighbours (edges_l words): chunk ids, nearest first
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use hnsw_rs::anndists::dist::distances::DistDot;
use hnsw_rs::hnsw::Hnsw;
use memmap2::Mmap;

use crate::error::{Error, Result};
use crate::vector::matrix::{Matrix, RowReader};
use crate::vector::scan::{dot_fn, Scored, TopK};
use crate::vector::VectorHit;

/// File name inside the vectors directory.
pub(crate) const GRAPH_FILE: &str = "graph.bin";
const MAGIC: [u8; 8] = *b"CSKVGRF\0";
const VERSION: u32 = 1;
const HEADER_WORDS: usize = 8;
/// hnsw_rs uses at most 16 layers; anything above this is damage.
const MAX_LEVELS: usize = 64;
/// hnsw_rs calls `std::process::exit` for `max_nb_connection > 256`.
pub(crate) const MAX_M: usize = 256;
/// Rows converted per `parallel_insert_slice` call: bounds the temporary f32 copy.
const BUILD_BATCH: usize = 8192;
/// hnsw_rs's `DistDot` asserts `dot <= 1.000002`; f32 rounding of a unit vector (or the
/// f16 round trip) can overshoot that, so the build sees every vector renormalised and
/// scaled by this factor. A common scale does not change which neighbour is nearer.
const BUILD_SCALE: f64 = 1.0 - 1e-4;

/// One layer of the graph, in memory (build side).
#[derive(Debug, Default)]
pub(crate) struct LayerData {
    /// Nodes present (empty for layer 0, which holds every node).
    pub(crate) ids: Vec<u32>,
    pub(crate) offsets: Vec<u32>,
    pub(crate) neighbours: Vec<u32>,
}

/// A built graph, ready to be written.
#[derive(Debug)]
pub(crate) struct GraphData {
    pub(crate) count: u32,
    pub(crate) entry: u32,
    pub(crate) layers: Vec<LayerData>,
}

/// Build the HNSW graph of every row of `matrix` with hnsw_rs (`DistDot`, all cores).
pub(crate) fn build(matrix: &Matrix, m: usize, ef_construction: usize) -> Result<GraphData> {
    let n = matrix.len();
    let dims = matrix.dims();
    let m = m.clamp(2, MAX_M);
    let ef_construction = ef_construction.max(m);
    let hnsw: Hnsw<f32, DistDot> = Hnsw::new(m, n, 16, ef_construction, DistDot);
    let mut reader = RowReader::new(matrix);
    let mut batch: Vec<f32> = Vec::with_capacity(BUILD_BATCH.min(n) * dims);
    let mut start = 0usize;
    while start < n {
        let end = (start + BUILD_BATCH).min(n);
        batch.clear();
        for i in start..end {
            let row = reader.row(i).unwrap_or(&[]);
            let norm = row
                .iter()
                .map(|x| f64::from(*x) * f64::from(*x))
                .sum::<f64>()
                .sqrt();
            let scale = if norm > 0.0 { BUILD_SCALE / norm } else { 0.0 };
            batch.extend(row.iter().map(|x| (f64::from(*x) * scale) as f32));
        }
        let items: Vec<(&[f32], usize)> = batch
            .chunks_exact(dims.max(1))
            .enumerate()
            .map(|(j, row)| (row, start + j))
            .collect();
        hnsw.parallel_insert_slice(&items);
        start = end;
    }
    extract(&hnsw, n)
}

/// Copy hnsw_rs's graph into flat per-layer adjacency arrays.
fn extract(hnsw: &Hnsw<f32, DistDot>, n: usize) -> Result<GraphData> {
    let lost =
        || Error::InvalidOption("HNSW build lost or duplicated points (hnsw_rs bug?)".into());
    let mut level: Vec<Option<u8>> = vec![None; n];
    let mut adjacency: Vec<Vec<Vec<u32>>> = vec![Vec::new(); n];
    for point in hnsw.get_point_indexation() {
        let id = point.get_origin_id();
        let slot = level.get_mut(id).ok_or_else(lost)?;
        if slot.is_some() {
            return Err(lost());
        }
        let l = point.get_point_id().0;
        *slot = Some(l);
        let mut per_layer = point.get_neighborhood_id();
        per_layer.truncate(usize::from(l) + 1);
        adjacency[id] = per_layer
            .into_iter()
            .map(|ns| {
                let mut out: Vec<u32> = Vec::with_capacity(ns.len());
                for nb in ns {
                    let nid = nb.get_origin_id();
                    // Drop self-loops, strays and repeats; keep nearest-first order.
                    if nid != id && nid < n && !out.contains(&(nid as u32)) {
                        out.push(nid as u32);
                    }
                }
                out
            })
            .collect();
    }
    let mut levels = Vec::with_capacity(n);
    for l in &level {
        levels.push(l.ok_or_else(lost)?);
    }
    let top = levels.iter().copied().max().unwrap_or(0);
    // Any node of the top layer is a valid entry; the smallest id keeps it deterministic.
    let entry = levels.iter().position(|l| *l == top).unwrap_or(0) as u32;
    let mut layers = Vec::with_capacity(usize::from(top) + 1);
    for l in 0..=usize::from(top) {
        let mut layer = LayerData::default();
        layer.offsets.push(0);
        for (id, node_level) in levels.iter().enumerate() {
            if usize::from(*node_level) < l {
                continue;
            }
            if l > 0 {
                layer.ids.push(id as u32);
            }
            if let Some(ns) = adjacency[id].get(l) {
                // An upper-layer neighbour must itself be in that layer.
                layer.neighbours.extend(
                    ns.iter()
                        .copied()
                        .filter(|nb| usize::from(levels[*nb as usize]) >= l),
                );
            }
            layer.offsets.push(layer.neighbours.len() as u32);
        }
        layers.push(layer);
    }
    Ok(GraphData {
        count: n as u32,
        entry,
        layers,
    })
}

/// Write `graph.bin`, fsynced. Returns its length in bytes.
pub(crate) fn write(dir: &Path, graph: &GraphData) -> Result<u64> {
    let path = dir.join(GRAPH_FILE);
    let file = File::create(&path).map_err(|e| Error::io("creating", &path, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut words: u64 = 0;
    let mut put = |out: &mut BufWriter<File>, xs: &[u32]| -> std::io::Result<()> {
        for x in xs {
            out.write_all(&x.to_le_bytes())?;
        }
        words += xs.len() as u64;
        Ok(())
    };
    let magic_lo = u32::from_le_bytes([MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3]]);
    let magic_hi = u32::from_le_bytes([MAGIC[4], MAGIC[5], MAGIC[6], MAGIC[7]]);
    let header = [
        magic_lo,
        magic_hi,
        VERSION,
        graph.count,
        graph.layers.len() as u32,
        graph.entry,
        0,
        0,
    ];
    let result = (|| {
        put(&mut out, &header)?;
        for layer in &graph.layers {
            let nodes = layer.offsets.len().saturating_sub(1) as u32;
            put(&mut out, &[nodes, layer.neighbours.len() as u32])?;
        }
        for (l, layer) in graph.layers.iter().enumerate() {
            if l > 0 {
                put(&mut out, &layer.ids)?;
            }
            put(&mut out, &layer.offsets)?;
            put(&mut out, &layer.neighbours)?;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    })();
    result.map_err(|e| Error::io("writing", &path, e))?;
    Ok(words * 4)
}

/// Word ranges of one layer inside the mapped file.
#[derive(Debug, Clone)]
struct Layer {
    /// `None` for layer 0 (node i is chunk i).
    ids: Option<std::ops::Range<usize>>,
    offsets: std::ops::Range<usize>,
    neighbours: std::ops::Range<usize>,
}

/// A memory-mapped, validated `graph.bin`.
pub(crate) struct Graph {
    path: PathBuf,
    map: Mmap,
    count: usize,
    entry: u32,
    layers: Vec<Layer>,
}

impl Graph {
    /// Length of `graph.bin` in bytes.
    pub(crate) fn byte_len(&self) -> u64 {
        self.map.len() as u64
    }

    /// Map and check `graph.bin`: header, exact length, offsets monotone and in range,
    /// upper-layer ids sorted and in range, entry present in the top layer. Neighbour ids
    /// are checked as the search reads them.
    pub(crate) fn open(dir: &Path, count: usize, expected_len: u64) -> Result<Graph> {
        let path = dir.join(GRAPH_FILE);
        let file = File::open(&path).map_err(|e| Error::corrupt(&path, e.to_string()))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("reading", &path, e))?
            .len();
        if len != expected_len {
            return Err(Error::corrupt(
                &path,
                format!("{len} bytes, the metadata says {expected_len}"),
            ));
        }
        if len < (HEADER_WORDS * 4) as u64 || len % 4 != 0 {
            return Err(Error::corrupt(&path, format!("bad length {len}")));
        }
        // SAFETY: files of a committed generation are immutable; cseek never writes a
        // mapped file.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io("mapping", &path, e))?;
        let (layers, entry) = {
            let bad = |detail: String| Error::corrupt(&path, detail);
            let w: &[u32] =
                bytemuck::try_cast_slice(&map[..]).map_err(|_| bad("misaligned".into()))?;
            if map[..8] != MAGIC {
                return Err(bad("not a cseek vector graph (bad magic)".into()));
            }
            if w[2] != VERSION {
                return Err(bad(format!(
                    "graph file version {}, expected {VERSION}",
                    w[2]
                )));
            }
            if w[3] as usize != count {
                return Err(bad(format!("{} nodes, the matrix has {count} rows", w[3])));
            }
            let levels = w[4] as usize;
            let entry = w[5];
            if levels == 0 || levels > MAX_LEVELS {
                return Err(bad(format!("{levels} layers")));
            }
            if entry as usize >= count {
                return Err(bad(format!("entry point {entry} out of range")));
            }
            let dir_end = HEADER_WORDS + 2 * levels;
            let directory = w
                .get(HEADER_WORDS..dir_end)
                .ok_or_else(|| bad("truncated layer directory".into()))?;
            let mut at = dir_end;
            let mut layers = Vec::with_capacity(levels);
            let mut prev_nodes = count;
            for l in 0..levels {
                let nodes = directory[2 * l] as usize;
                let edges = directory[2 * l + 1] as usize;
                if (l == 0 && nodes != count) || nodes > prev_nodes || nodes == 0 {
                    return Err(bad(format!("layer {l}: {nodes} nodes")));
                }
                prev_nodes = nodes;
                let mut take = |words: usize| -> Result<std::ops::Range<usize>> {
                    let end = at
                        .checked_add(words)
                        .filter(|e| *e <= w.len())
                        .ok_or_else(|| bad(format!("layer {l} runs past the end of the file")))?;
                    let r = at..end;
                    at = end;
                    Ok(r)
                };
                let ids = if l > 0 { Some(take(nodes)?) } else { None };
                let offsets = take(nodes + 1)?;
                let neighbours = take(edges)?;
                if let Some(ids) = &ids {
                    let ids = &w[ids.clone()];
                    if ids.windows(2).any(|p| p[0] >= p[1])
                        || ids.last().is_some_and(|x| *x as usize >= count)
                    {
                        return Err(bad(format!("layer {l}: node ids unsorted or out of range")));
                    }
                }
                let offs = &w[offsets.clone()];
                if offs.first() != Some(&0)
                    || offs.last().map(|x| *x as usize) != Some(edges)
                    || offs.windows(2).any(|p| p[0] > p[1])
                {
                    return Err(bad(format!("layer {l}: bad adjacency offsets")));
                }
                layers.push(Layer {
                    ids,
                    offsets,
                    neighbours,
                });
            }
            if at != w.len() {
                return Err(bad(format!("{} trailing words", w.len() - at)));
            }
            let top = &layers[levels - 1];
            if let Some(ids) = &top.ids {
                if w[ids.clone()].binary_search(&entry).is_err() {
                    return Err(bad("entry point missing from the top layer".into()));
                }
            }
            (layers, entry)
        };
        Ok(Graph {
            path,
            map,
            count,
            entry,
            layers,
        })
    }

    fn words(&self) -> &[u32] {
        // Length and alignment were checked on open.
        bytemuck::try_cast_slice(&self.map[..]).unwrap_or(&[])
    }

    fn corrupt(&self, detail: impl Into<String>) -> Error {
        Error::corrupt(&self.path, detail)
    }

    /// Neighbours of `node` in layer `l`.
    fn neighbours<'w>(&self, w: &'w [u32], l: usize, node: u32) -> Result<&'w [u32]> {
        let layer = &self.layers[l];
        let slot = match &layer.ids {
            None => node as usize,
            Some(ids) => w[ids.clone()]
                .binary_search(&node)
                .map_err(|_| self.corrupt(format!("layer {l}: node {node} missing")))?,
        };
        let offs = &w[layer.offsets.clone()];
        let (a, b) = match (offs.get(slot), offs.get(slot + 1)) {
            (Some(a), Some(b)) => (*a as usize, *b as usize),
            _ => return Err(self.corrupt(format!("layer {l}: node {node} out of range"))),
        };
        // Offsets are monotone and end at `edges` (checked on open), so this is in range.
        w[layer.neighbours.clone()]
            .get(a..b)
            .ok_or_else(|| self.corrupt(format!("layer {l}: bad offsets for node {node}")))
    }

    /// Approximate top-`k`. Returns `Ok(None)` when the graph search is not the right
    /// tool for this query: the filter rejects so much that the beam would walk most of
    /// the graph (a scan of the allowed rows is then cheaper), or fewer than `k` allowed
    /// results were reached. The caller then scans exactly.
    pub(crate) fn search(
        &self,
        matrix: &Matrix,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<&dyn Fn(u32) -> bool>,
    ) -> Result<Option<Vec<VectorHit>>> {
        let n = self.count;
        if k == 0 || n == 0 {
            return Ok(Some(Vec::new()));
        }
        let w = self.words();
        let dot = dot_fn();
        let mut rows = RowReader::new(matrix);
        let mut score = |id: u32| -> Result<f32> {
            rows.row(id as usize)
                .map(|r| dot(query, r))
                .ok_or_else(|| self.corrupt(format!("neighbour {id} out of range")))
        };
        let allowed = |id: u32| filter.is_none_or(|f| f(id));

        // Greedy descent through the upper layers.
        let mut cur = Scored {
            id: self.entry,
            score: score(self.entry)?,
        };
        for l in (1..self.layers.len()).rev() {
            loop {
                let mut moved = false;
                for &nb in self.neighbours(w, l, cur.id)? {
                    let s = score(nb)?;
                    if s > cur.score {
                        cur = Scored { id: nb, score: s };
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
            }
        }

        // Best-first beam on layer 0.
        let ef = ef.max(k);
        // With a filter, past this many distance computations a scan of the allowed rows
        // is cheaper than walking on (and the scan is exact).
        let budget = if filter.is_some() {
            // Saturating: `ef` comes from `vectors.json` or the caller, and may be absurd.
            (n / 4).max(ef.saturating_mul(4))
        } else {
            usize::MAX
        };
        let mut visited = vec![0u64; n.div_ceil(64)];
        let mut mark = |id: u32| -> bool {
            let (word, bit) = (id as usize / 64, 1u64 << (id % 64));
            match visited.get_mut(word) {
                Some(v) if *v & bit == 0 => {
                    *v |= bit;
                    true
                }
                _ => false,
            }
        };
        mark(cur.id);
        let mut candidates = std::collections::BinaryHeap::new();
        candidates.push(cur);
        let mut results = TopK::new(ef);
        if allowed(cur.id) {
            results.push(cur);
        }
        let mut computed = 1usize;
        while let Some(c) = candidates.pop() {
            if results.is_full() && results.worst().is_some_and(|worst| c < worst) {
                break;
            }
            for &nb in self.neighbours(w, 0, c.id)? {
                if nb as usize >= n {
                    return Err(self.corrupt(format!("neighbour {nb} out of range")));
                }
                if !mark(nb) {
                    continue;
                }
                let s = Scored {
                    id: nb,
                    score: score(nb)?,
                };
                computed += 1;
                if !results.is_full() || results.worst().is_some_and(|worst| s > worst) {
                    candidates.push(s);
                    if allowed(nb) {
                        results.push(s);
                    }
                }
            }
            if computed > budget {
                return Ok(None);
            }
        }
        let mut hits = results.into_hits();
        if hits.len() < k.min(n) {
            // Not enough reached (tiny or disconnected graph, or a selective filter).
            return Ok(None);
        }
        hits.truncate(k);
        Ok(Some(hits))
    }
}
