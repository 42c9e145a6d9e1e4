//! Dot products and the exact scan: every row of the memory map against the query,
//! best `k` kept in a small heap.
//!
//! The kernel keeps 16 independent accumulators so the compiler can vectorise it without
//! reordering float sums itself; on x86-64 a copy compiled for AVX2+FMA is picked at run
//! time (the portable build only assumes SSE2).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::vector::matrix::{Matrix, RowReader, Rows};
use crate::vector::VectorHit;

/// A dot-product kernel: `(a, b) -> Σ a[i]·b[i]` over the common length.
pub(crate) type DotFn = fn(&[f32], &[f32]) -> f32;

const LANES: usize = 16;

#[inline(always)]
fn dot_lanes<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..LANES {
            // mul_add is only a single instruction when FMA is enabled; elsewhere it
            // would be a libm call, so the portable kernel multiplies and adds.
            acc[j] = if FMA {
                x[j].mul_add(y[j], acc[j])
            } else {
                acc[j] + x[j] * y[j]
            };
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    // Pairwise reduction of the lanes (also a little more accurate than a running sum).
    let mut width = LANES / 2;
    while width > 0 {
        for j in 0..width {
            acc[j] += acc[j + width];
        }
        width /= 2;
    }
    acc[0] + tail
}

fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    dot_lanes::<false>(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot_avx2_fma(a: &[f32], b: &[f32]) -> f32 {
    dot_lanes::<true>(a, b)
}

#[cfg(target_arch = "x86_64")]
fn dot_avx2_entry(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: `dot_fn` hands this function out only after detecting AVX2 and FMA.
    unsafe { dot_avx2_fma(a, b) }
}

/// The fastest dot kernel for this CPU (detection is cached by std).
pub(crate) fn dot_fn() -> DotFn {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return dot_avx2_entry;
        }
    }
    dot_portable
}

/// A candidate ordered by score, ties broken by the smaller chunk id (so results are
/// deterministic). `Ord` says "better is greater".
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scored {
    pub(crate) score: f32,
    pub(crate) id: u32,
}

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.id.cmp(&self.id))
    }
}

/// Keeps the best `k` candidates seen; the worst of them is at the top of a min-heap.
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<std::cmp::Reverse<Scored>>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.saturating_add(1).min(1 << 16)),
        }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.heap.len() >= self.k
    }

    /// The worst kept candidate, if any.
    pub(crate) fn worst(&self) -> Option<Scored> {
        self.heap.peek().map(|r| r.0)
    }

    /// Offer a candidate; returns whether it was kept.
    #[inline]
    pub(crate) fn push(&mut self, c: Scored) -> bool {
        if self.k == 0 {
            return false;
        }
        if self.heap.len() < self.k {
            self.heap.push(std::cmp::Reverse(c));
            return true;
        }
        match self.heap.peek() {
            Some(w) if c > w.0 => {
                self.heap.pop();
                self.heap.push(std::cmp::Reverse(c));
                true
            }
            _ => false,
        }
    }

    /// Best first.
    pub(crate) fn into_hits(self) -> Vec<VectorHit> {
        // Sorting `Reverse` ascending puts the best candidate first.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| VectorHit {
                chunk_id: r.0.id,
                score: r.0.score,
            })
            .collect()
    }
}

/// Exact top-`k` by dot product over every row (or every row the filter allows).
pub(crate) fn exact(
    matrix: &Matrix,
    query: &[f32],
    k: usize,
    filter: Option<&dyn Fn(u32) -> bool>,
) -> Vec<VectorHit> {
    exact_from(matrix, query, k, filter, 0)
}

/// [`exact`] over the rows from `start` on (the rows a graph does not cover yet).
pub(crate) fn exact_from(
    matrix: &Matrix,
    query: &[f32],
    k: usize,
    filter: Option<&dyn Fn(u32) -> bool>,
    start: usize,
) -> Vec<VectorHit> {
    let dims = matrix.dims();
    let mut top = TopK::new(k);
    if k == 0 || matrix.len() <= start || dims == 0 {
        return top.into_hits();
    }
    let dot = dot_fn();
    // Fast path for f32: iterate rows straight off the map, no bounds checks per row.
    if let Rows::F32(rows) = matrix.rows() {
        let mut floor = f32::NEG_INFINITY;
        for (i, row) in rows.chunks_exact(dims).enumerate().skip(start) {
            let id = i as u32;
            if let Some(f) = filter {
                if !f(id) {
                    continue;
                }
            }
            let score = dot(query, row);
            // Cheap reject before touching the heap (ties still go to push for id order).
            if top.is_full() && score < floor {
                continue;
            }
            if top.push(Scored { score, id }) && top.is_full() {
                floor = top.worst().map_or(f32::NEG_INFINITY, |w| w.score);
            }
        }
        return top.into_hits();
    }
    let mut reader = RowReader::new(matrix);
    let mut floor = f32::NEG_INFINITY;
    for i in start..matrix.len() {
        let id = i as u32;
        if let Some(f) = filter {
            if !f(id) {
                continue;
            }
        }
        let Some(row) = reader.row(i) else { break };
        let score = dot(query, row);
        if top.is_full() && score < floor {
            continue;
        }
        if top.push(Scored { score, id }) && top.is_full() {
            floor = top.worst().map_or(f32::NEG_INFINITY, |w| w.score);
        }
    }
    top.into_hits()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    #[test]
    fn kernels_match_naive_dot_for_all_lengths() {
        for n in [0usize, 1, 7, 15, 16, 17, 33, 384, 385, 768] {
            let a: Vec<f32> = (0..n)
                .map(|i| ((i * 7919) % 113) as f32 / 113.0 - 0.5)
                .collect();
            let b: Vec<f32> = (0..n)
                .map(|i| ((i * 104729) % 97) as f32 / 97.0 - 0.5)
                .collect();
            let want = naive(&a, &b);
            for (name, f) in [("portable", dot_portable as DotFn), ("best", dot_fn())] {
                let got = f(&a, &b) as f64;
                assert!(
                    (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                    "{name} n={n}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn topk_keeps_best_and_breaks_ties_by_id() {
        let mut t = TopK::new(3);
        for (id, score) in [(5, 0.5), (1, 0.9), (2, 0.1), (3, 0.9), (4, 0.7), (0, 0.5)] {
            t.push(Scored { score, id });
        }
        let hits = t.into_hits();
        let ids: Vec<u32> = hits.iter().map(|h| h.chunk_id).collect();
        assert_eq!(ids, vec![1, 3, 4]);
        assert!(TopK::new(0).into_hits().is_empty());
        let mut t = TopK::new(0);
        assert!(!t.push(Scored { score: 1.0, id: 0 }));
    }
}
