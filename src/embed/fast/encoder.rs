//! The forward pass of the CPU fast path ([`crate::embed::layers::Encoder`]): f32 on the CPU,
//! every architecture of the registry through the same code, the differences (position
//! scheme, activation, gating, norm kind and placement, Q/K norms, score scale) taken as
//! parameters from the layer description, exactly as the reference path reads them.
//!
//! What it does differently from the candle-op reference path, and why (measured in
//! `../shared/notes/cpu-inference.md`):
//! - **Matmuls go straight to `gemm`** (candle's own kernel crate, AVX-512 with the
//!   `avx512` cargo feature) on host slices: the QKV projection is one call with its bias
//!   folded in (the output is pre-filled with the bias and accumulated into), and the other
//!   biases are deferred to the pass that follows anyway.
//! - **Attention runs per (batch, head) pair in parallel** (rayon, so the thread count is
//!   the pool's): scores `scale·QKᵀ` for one head stay in a per-thread `L×L` block that fits
//!   in L2, softmax (with the additive mask / ALiBi / T5 bias, one pass) runs on it in
//!   place and `P·V` is written straight into the head's columns of the context matrix — no
//!   transposes, no `[B, heads, L, L]` tensors, no separate scale / mask / softmax passes.
//!   Candle instead runs hundreds of small matmuls one after another, too small to split
//!   across cores.
//! - **Element-wise work is fused and vectorised** ([`super::kernels`]): bias + GELU (erf
//!   or tanh) / SiLU / gated product in one pass; residual + bias + LayerNorm/RMSNorm in
//!   one pass; rotary on q and k in place.
//! - **No fresh memory per batch**: intermediate buffers live in a per-thread workspace
//!   that grows to the largest batch seen and is reused, so the kernel's page-fault storm
//!   on first touch of fresh allocations (a third of CPU time at 32×256) disappears.
//!
//! [`encoder_forward`] returns `None` for what it does not cover (GPU tensors, half
//! precision, unusual tensor layouts); the caller then runs the reference path.

use std::cell::RefCell;

use candle_core::{CpuStorage, DType, Device, Storage, StorageRef, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;

use super::kernels::{self, NormRef};
use super::Isa;
use crate::embed::error::{EmbedError, Result};
use crate::embed::layers::{
    AttentionContext, Dense, Encoder, EncoderLayer, FeedForward, Norm, NormPlacement, SelfAttention,
};

// Per-thread scratch (see the module doc): caches, reused by the next pass on the thread.
thread_local! {
    static WORKSPACE: RefCell<Workspace> = RefCell::new(Workspace::default());
    static SCORES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static SMALL_OUT: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Reusable intermediate buffers of one forward pass (see the module doc).
#[derive(Default)]
struct Workspace {
    hidden: Vec<f32>,
    normed: Vec<f32>,
    qkv: Vec<f32>,
    context: Vec<f32>,
    proj: Vec<f32>,
    ff: Vec<f32>,
    ff2: Vec<f32>,
}

/// The first `n` elements of `v`, growing it if needed (contents are overwritten by the
/// caller, so stale values from an earlier batch never leak).
fn sized(v: &mut Vec<f32>, n: usize) -> &mut [f32] {
    if v.len() < n {
        v.resize(n, 0.0);
    }
    &mut v[..n]
}

fn compute_err(msg: impl Into<String>) -> EmbedError {
    EmbedError::Compute(candle_core::Error::Msg(msg.into()))
}

/// A read view of a contiguous f32 CPU tensor, without copying it.
struct HostF32<'a> {
    guard: StorageRef<'a>,
    start: usize,
    len: usize,
}

impl HostF32<'_> {
    fn slice(&self) -> &[f32] {
        match &*self.guard {
            Storage::Cpu(CpuStorage::F32(v)) => {
                v.get(self.start..self.start + self.len).unwrap_or(&[])
            }
            _ => &[],
        }
    }
}

/// Whether `t` can be read as a contiguous f32 slice on the CPU.
fn readable(t: &Tensor) -> bool {
    t.dtype() == DType::F32 && t.device().is_cpu() && t.is_contiguous()
}

fn host(t: &Tensor) -> Result<HostF32<'_>> {
    let (guard, layout) = t.storage_and_layout();
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| compute_err("fast path: non-contiguous tensor"))?;
    if !matches!(&*guard, Storage::Cpu(CpuStorage::F32(v)) if v.len() >= end) {
        return Err(compute_err("fast path: tensor is not f32 on the CPU"));
    }
    Ok(HostF32 {
        guard,
        start,
        len: end - start,
    })
}

/// Host views of a [`Norm`]'s parameters.
struct NormHost<'a> {
    weight: HostF32<'a>,
    bias: Option<HostF32<'a>>,
    eps: f32,
    layer_norm: bool,
}

impl<'a> NormHost<'a> {
    fn new(n: &'a Norm) -> Result<Self> {
        Ok(match n {
            Norm::LayerNorm { weight, bias, eps } => Self {
                weight: host(weight)?,
                bias: Some(host(bias)?),
                eps: *eps,
                layer_norm: true,
            },
            Norm::RmsNorm { weight, eps } => Self {
                weight: host(weight)?,
                bias: None,
                eps: *eps,
                layer_norm: false,
            },
        })
    }

    fn get(&self) -> NormRef<'_> {
        NormRef {
            weight: self.weight.slice(),
            bias: self.bias.as_ref().map(HostF32::slice),
            eps: self.eps,
            layer_norm: self.layer_norm,
        }
    }
}

fn norm_readable(n: &Norm) -> bool {
    match n {
        Norm::LayerNorm { weight, bias, .. } => readable(weight) && readable(bias),
        Norm::RmsNorm { weight, .. } => readable(weight),
    }
}

fn dense_readable(d: &Dense) -> bool {
    readable(&d.weight) && d.bias.as_ref().is_none_or(readable) && d.weight.rank() == 2
}

/// Whether the fast path covers this encoder and these inputs (else: reference path).
fn supported(enc: &Encoder, x: &Tensor, ctx: &AttentionContext) -> bool {
    if x.dtype() != DType::F32 || !x.device().is_cpu() || x.rank() != 3 {
        return false;
    }
    if ctx.bias.rank() != 4 || !ctx.bias.device().is_cpu() {
        return false;
    }
    let layers_ok = enc.layers.iter().all(|layer| {
        let a = &layer.attn;
        let inner = a.num_heads * a.head_dim;
        let rope_ok = match (&ctx.rope, a.rotary) {
            (Some((cos, _)), true) => {
                cos.dims().last().is_some_and(|&w| 2 * w == a.head_dim) && a.head_dim % 2 == 0
            }
            _ => true,
        };
        let ffn_ok = match &layer.ffn {
            FeedForward::Plain { fc1, fc2, .. } => dense_readable(fc1) && dense_readable(fc2),
            FeedForward::Gated { up_gate, down, .. } => {
                dense_readable(up_gate) && dense_readable(down) && up_gate.out_dim() % 2 == 0
            }
        };
        let norms_ok = match &layer.norms {
            NormPlacement::Post { attn, ffn } | NormPlacement::Pre { attn, ffn } => {
                norm_readable(attn) && norm_readable(ffn)
            }
            NormPlacement::JinaDoublePost {
                attn_out,
                norm1,
                norm2,
            } => norm_readable(attn_out) && norm_readable(norm1) && norm_readable(norm2),
        };
        dense_readable(&a.qkv)
            && dense_readable(&a.out)
            && a.qkv.out_dim() == 3 * inner
            && a.q_norm.as_ref().is_none_or(norm_readable)
            && a.k_norm.as_ref().is_none_or(norm_readable)
            && rope_ok
            && ffn_ok
            && norms_ok
    });
    layers_ok && enc.final_norm.as_ref().is_none_or(norm_readable)
}

/// Elements spanned by a `rows × cols` matrix with these strides.
fn extent(rows: usize, cols: usize, rs: usize, cs: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * rs + (cols - 1) * cs + 1
    }
}

fn parallelism(threads: usize) -> Parallelism {
    if threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    }
}

/// One matrix operand: a slice and its row / column strides.
#[derive(Clone, Copy)]
struct Operand<'a> {
    data: &'a [f32],
    rs: usize,
    cs: usize,
}

/// `dst[m×n] (row stride dst_rs) = beta · lhs[m×k] · rhs[k×n]`, plus the old `dst` when
/// `accumulate`. Extents are checked, so a wrong shape is an error, never a wild access.
#[allow(clippy::too_many_arguments)]
fn gemm(
    dst: &mut [f32],
    dst_rs: usize,
    lhs: Operand<'_>,
    rhs: Operand<'_>,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
    beta: f32,
    threads: usize,
) -> Result<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    if extent(m, n, dst_rs, 1) > dst.len()
        || extent(m, k, lhs.rs, lhs.cs) > lhs.data.len()
        || extent(k, n, rhs.rs, rhs.cs) > rhs.data.len()
    {
        return Err(compute_err(format!(
            "fast path: matmul {m}×{k}·{k}×{n} does not fit its buffers"
        )));
    }
    // SAFETY: the three extents were checked above, so every element gemm reads or writes
    // lies inside its slice; `dst` is a unique borrow, so it aliases neither operand.
    unsafe {
        gemm_raw(
            dst.as_mut_ptr(),
            dst_rs,
            lhs,
            rhs,
            (m, n, k),
            accumulate,
            beta,
            threads,
        );
    }
    Ok(())
}

/// # Safety
/// `dst` must be valid for writes over `extent(m, n, dst_rs, 1)` elements that no other
/// thread touches during the call, and must not overlap `lhs` or `rhs`, whose extents must
/// lie inside their slices.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_raw(
    dst: *mut f32,
    dst_rs: usize,
    lhs: Operand<'_>,
    rhs: Operand<'_>,
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
    beta: f32,
    threads: usize,
) {
    // gemm computes dst = alpha·dst + beta·lhs·rhs (alpha ignored when dst is not read).
    gemm::gemm(
        m,
        n,
        k,
        dst,
        1,
        dst_rs as isize,
        accumulate,
        lhs.data.as_ptr(),
        lhs.cs as isize,
        lhs.rs as isize,
        rhs.data.as_ptr(),
        rhs.cs as isize,
        rhs.rs as isize,
        1.0f32,
        beta,
        false,
        false,
        false,
        parallelism(threads),
    );
}

/// A raw pointer that may cross threads; each task writes a disjoint region of it.
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: only used by `attention`, whose tasks write pairwise disjoint regions (one
// (batch, head) block of rows × columns each) of a buffer that outlives the parallel loop.
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// Taking `self` makes closures capture the whole (Send) wrapper, not the raw field.
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Batches with fewer rows (tokens, pads included) than this run single-threaded.
const SMALL_ROWS: usize = 48;

/// Shapes and per-batch data shared by all layers of one forward pass.
struct Ctx<'a> {
    isa: Isa,
    threads: usize,
    batch: usize,
    len: usize,
    rows: usize,
    bias: &'a BiasHost,
    rope: Option<(&'a [f32], &'a [f32])>,
}

/// The additive attention bias as f32 host data with broadcast strides (0 along size-1
/// dimensions), indexed `[batch, head, query, key]`.
struct BiasHost {
    data: Vec<f32>,
    strides: [usize; 3],
}

impl BiasHost {
    fn new(bias: &Tensor, batch: usize, heads: usize, len: usize) -> Result<Self> {
        let dims = bias.dims();
        let fits = |d: usize, want: usize| d == want || d == 1;
        let t = if dims.len() == 4
            && fits(dims[0], batch)
            && fits(dims[1], heads)
            && fits(dims[2], len)
            && dims[3] == len
        {
            bias.clone()
        } else {
            bias.broadcast_as((batch, heads, len, len))?
        };
        let dims = t.dims().to_vec();
        let data = t
            .to_dtype(DType::F32)?
            .contiguous()?
            .flatten_all()?
            .to_vec1::<f32>()?;
        // Row-major strides of the stored shape, zeroed along broadcast dimensions.
        let s2 = dims[3];
        let s1 = dims[2] * s2;
        let s0 = dims[1] * s1;
        let z = |d: usize, s: usize| if d == 1 { 0 } else { s };
        Ok(Self {
            data,
            strides: [z(dims[0], s0), z(dims[1], s1), z(dims[2], s2)],
        })
    }

    fn row(&self, b: usize, h: usize, i: usize, len: usize) -> Option<&[f32]> {
        let off = b * self.strides[0] + h * self.strides[1] + i * self.strides[2];
        self.data.get(off..off + len)
    }
}

/// Runs `enc` on `x` `[B, L, H]` with the fast path, or returns `None` when the fast path
/// does not cover this model / input (the caller then runs the reference path).
pub(crate) fn encoder_forward(
    enc: &Encoder,
    x: &Tensor,
    ctx: &AttentionContext,
    isa: Isa,
) -> Result<Option<Tensor>> {
    if !supported(enc, x, ctx) {
        return Ok(None);
    }
    let (batch, len, hidden) = x.dims3()?;
    let heads = enc.layers.first().map_or(1, |l| l.attn.num_heads);
    if enc.layers.iter().any(|l| l.attn.num_heads != heads) {
        return Ok(None);
    }
    let bias = BiasHost::new(&ctx.bias, batch, heads, len)?;
    let rope_host = match &ctx.rope {
        Some((cos, sin)) => Some((
            cos.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?,
            sin.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?,
        )),
        None => None,
    };
    // Below a few dozen rows (a query) splitting the work costs more in synchronisation
    // than it gains — and far more when the cores are shared and a waiting thread is
    // descheduled — so small batches run on the calling thread alone.
    let threads = if batch * len < SMALL_ROWS {
        1
    } else {
        rayon::current_num_threads()
    };
    let c = Ctx {
        isa: isa.supported(),
        threads,
        batch,
        len,
        rows: batch * len,
        bias: &bias,
        rope: rope_host
            .as_ref()
            .map(|(c, s)| (c.as_slice(), s.as_slice())),
    };
    // Taken out of the thread-local (not borrowed) so that a nested forward pass on this
    // thread (rayon work stealing inside a caller's parallel loop) gets its own buffers.
    let mut ws = WORKSPACE.with(RefCell::take);
    let x = x.contiguous()?;
    {
        let xv = host(&x)?;
        sized(&mut ws.hidden, c.rows * hidden).copy_from_slice(xv.slice());
    }
    let mut hidden_buf = std::mem::take(&mut ws.hidden);
    let h = &mut hidden_buf[..c.rows * hidden];
    for layer in &enc.layers {
        layer_forward(layer, h, hidden, &mut ws, &c)?;
    }
    if let Some(n) = &enc.final_norm {
        let n = NormHost::new(n)?;
        par_add_bias_norm(&c, h, hidden, None, None, Some(n.get()));
    }
    let out = Tensor::from_slice(h, (batch, len, hidden), &Device::Cpu)?;
    ws.hidden = hidden_buf;
    WORKSPACE.with(|w| w.replace(ws));
    Ok(Some(out))
}

/// Rows per parallel task of the row-wise passes: a few tasks per thread for balance.
fn chunk_rows(c: &Ctx<'_>, rows: usize) -> usize {
    (rows / (4 * c.threads.max(1))).max(1)
}

/// Runs `f` on chunks of `step` elements of `data` (with the chunk index): in parallel on
/// the pool, or in order on this thread when the pass is single-threaded.
fn each_chunk<F>(c: &Ctx<'_>, data: &mut [f32], step: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    if step == 0 {
        return;
    }
    if c.threads <= 1 {
        data.chunks_mut(step).enumerate().for_each(|(i, d)| f(i, d));
    } else {
        data.par_chunks_mut(step)
            .enumerate()
            .for_each(|(i, d)| f(i, d));
    }
}

/// [`each_chunk`] over `data` zipped with the matching chunks of `other`.
fn each_chunk_zip<F>(c: &Ctx<'_>, data: &mut [f32], step: usize, other: &[f32], ostep: usize, f: F)
where
    F: Fn(&mut [f32], &[f32]) + Sync + Send,
{
    if step == 0 || ostep == 0 {
        return;
    }
    if c.threads <= 1 {
        data.chunks_mut(step)
            .zip(other.chunks(ostep))
            .for_each(|(d, o)| f(d, o));
    } else {
        data.par_chunks_mut(step)
            .zip(other.par_chunks(ostep))
            .for_each(|(d, o)| f(d, o));
    }
}

/// `dst[r] = norm(dst[r] + other[r] + bias)` over all rows, in parallel.
fn par_add_bias_norm(
    c: &Ctx<'_>,
    dst: &mut [f32],
    width: usize,
    other: Option<&[f32]>,
    bias: Option<&[f32]>,
    norm: Option<NormRef<'_>>,
) {
    let step = chunk_rows(c, dst.len() / width.max(1)) * width;
    if step == 0 {
        return;
    }
    match other {
        Some(o) => each_chunk_zip(c, dst, step, o, step, |d, o| {
            kernels::add_bias_norm(c.isa, d, width, Some(o), bias, norm)
        }),
        None => each_chunk(c, dst, step, |_, d| {
            kernels::add_bias_norm(c.isa, d, width, None, bias, norm)
        }),
    }
}

/// `dst = x · Wᵀ` (`x`: `rows × in`), plus the bias when `with_bias` (pre-filled and
/// accumulated into, i.e. folded into the matmul).
fn linear(c: &Ctx<'_>, dst: &mut [f32], x: &[f32], d: &Dense, with_bias: bool) -> Result<()> {
    let w = host(&d.weight)?;
    let (out, inp) = d.weight.dims2()?;
    if c.rows < SMALL_ROWS {
        let b = if with_bias { bias_of(d)? } else { None };
        let b = b.as_ref().map(HostF32::slice);
        if x.len() < c.rows * inp
            || dst.len() < c.rows * out
            || w.slice().len() < out * inp
            || b.is_some_and(|b| b.len() < out)
        {
            return Err(compute_err(
                "fast path: small matmul does not fit its buffers",
            ));
        }
        small_linear(
            c.isa,
            &mut dst[..c.rows * out],
            &x[..c.rows * inp],
            &w.slice()[..out * inp],
            (c.rows, inp, out),
            b,
        );
        return Ok(());
    }
    let mut accumulate = false;
    if with_bias {
        if let Some(b) = &d.bias {
            let b = host(b)?;
            if b.slice().len() != out {
                return Err(compute_err(
                    "fast path: bias length differs from the output width",
                ));
            }
            for row in dst.chunks_exact_mut(out) {
                row.copy_from_slice(b.slice());
            }
            accumulate = true;
        }
    }
    gemm(
        dst,
        out,
        Operand {
            data: x,
            rs: inp,
            cs: 1,
        },
        // Wᵀ[k, n] = W[n, k]: row stride 1, column stride `in`.
        Operand {
            data: w.slice(),
            rs: 1,
            cs: inp,
        },
        (c.rows, out, inp),
        accumulate,
        1.0,
        c.threads,
    )
}

/// Multiply-adds from which a small matmul is split across the pool: only the feed-forward
/// projections of a query (16 × 384 × 1536 for MiniLM). On the shared 2-vCPU machine with the
/// other core busy, splitting the smaller projections too measured no better than not
/// splitting at all (within the ±0.4 ms noise); on an idle machine the split adds the second
/// core's bandwidth to the weight stream that bounds this size.
const SMALL_PAR_WORK: usize = 1 << 23;

/// [`kernels::small_matmul_nt`] for a query-sized batch (`rows` < [`SMALL_ROWS`]): the
/// output columns are split into a few blocks computed in parallel on the pool, each block
/// reading only its own weight rows (the weights, not the arithmetic, are most of the cost
/// at this size, so splitting by columns doubles the bandwidth too). Each block is written
/// to a contiguous scratch area and copied into its columns of `dst` afterwards, so the
/// parallel part stays in safe Rust. Small products run on the calling thread.
fn small_linear(
    isa: Isa,
    dst: &mut [f32],
    x: &[f32],
    w: &[f32],
    (rows, inp, out): (usize, usize, usize),
    bias: Option<&[f32]>,
) {
    let threads = rayon::current_num_threads();
    if threads <= 1 || rows * inp * out < SMALL_PAR_WORK || out < 16 || rows == 0 {
        kernels::small_matmul_nt(isa, dst, x, w, inp, out, bias);
        return;
    }
    // Two blocks per thread for balance, each a multiple of 4 columns (the kernel's block).
    let per = (out / (2 * threads)).div_ceil(4) * 4;
    // Taken out of the thread-local, not borrowed: while this thread waits for the parallel
    // loop it may run another forward pass's task that gets here too.
    let mut scratch = SMALL_OUT.with(RefCell::take);
    let tmp = sized(&mut scratch, rows * out);
    tmp.par_chunks_mut(rows * per)
        .zip(w.par_chunks(per * inp))
        .enumerate()
        .for_each(|(i, (t, wc))| {
            let n = t.len() / rows;
            let b = bias.map(|b| &b[i * per..i * per + n]);
            kernels::small_matmul_nt(isa, t, x, wc, inp, n, b);
        });
    for (i, t) in tmp.chunks(rows * per).enumerate() {
        let n = t.len() / rows;
        for (r, src) in t.chunks_exact(n).enumerate() {
            dst[r * out + i * per..r * out + i * per + n].copy_from_slice(src);
        }
    }
    SMALL_OUT.with(|s| s.replace(scratch));
}

fn bias_of(d: &Dense) -> Result<Option<HostF32<'_>>> {
    d.bias.as_ref().map(host).transpose()
}

/// Self-attention of `x` (`rows × hidden`) into `ws.proj`, without the output bias (the
/// caller adds it in its residual pass).
fn attention(
    c: &Ctx<'_>,
    a: &SelfAttention,
    x: &[f32],
    ws: &mut Workspace,
    hidden: usize,
) -> Result<()> {
    let (heads, d) = (a.num_heads, a.head_dim);
    let inner = heads * d;
    let stride = 3 * inner;
    let qkv = sized(&mut ws.qkv, c.rows * stride);
    linear(c, qkv, x, &a.qkv, true)?;

    // JinaBERT: LayerNorm on q and on k over the full width, before the head split.
    let step = chunk_rows(c, c.rows) * stride;
    for (n, offset) in [(&a.q_norm, 0), (&a.k_norm, inner)] {
        if let Some(n) = n {
            let n = NormHost::new(n)?;
            let nr = n.get();
            each_chunk(c, qkv, step, |_, rows| {
                kernels::norm_columns(c.isa, rows, stride, offset, nr)
            });
        }
    }
    if a.rotary {
        if let Some((cos, sin)) = c.rope {
            let half = d / 2;
            let len = c.len;
            // Tables were checked against L × head_dim/2 when built; rows are b·L + position.
            if cos.len() < len * half || sin.len() < len * half {
                return Err(compute_err("fast path: rotary table too short"));
            }
            let rows = chunk_rows(c, c.rows);
            each_chunk(c, qkv, rows * stride, |chunk, block| {
                for (j, row) in block.chunks_exact_mut(stride).enumerate() {
                    let p = (chunk * rows + j) % len;
                    let (cs, sn) = (
                        &cos[p * half..(p + 1) * half],
                        &sin[p * half..(p + 1) * half],
                    );
                    kernels::rope_row(c.isa, row, 0, heads, d, cs, sn);
                    kernels::rope_row(c.isa, row, inner, heads, d, cs, sn);
                }
            });
        }
    }

    let qkv: &[f32] = qkv;
    let context = sized(&mut ws.context, c.rows * inner);
    let len = c.len;
    let scale = a.scale as f32;
    let out = SendPtr(context.as_mut_ptr());
    let out_len = context.len();
    let task = |task: usize| -> Result<()> {
        let (b, h) = (task / heads, task % heads);
        let base = b * len * stride + h * d;
        let q = qkv.get(base..).unwrap_or(&[]);
        let k = qkv.get(base + inner..).unwrap_or(&[]);
        let v = qkv.get(base + 2 * inner..).unwrap_or(&[]);
        SCORES.with(|s| -> Result<()> {
            let mut s = s.borrow_mut();
            let s = sized(&mut s, len * len);
            // scale · Q Kᵀ: the scale rides on gemm's beta.
            gemm(
                s,
                len,
                Operand {
                    data: q,
                    rs: stride,
                    cs: 1,
                },
                Operand {
                    data: k,
                    rs: 1,
                    cs: stride,
                },
                (len, len, d),
                false,
                scale,
                1,
            )?;
            for (i, row) in s.chunks_exact_mut(len).enumerate() {
                let bias = c
                    .bias
                    .row(b, h, i, len)
                    .ok_or_else(|| compute_err("fast path: attention bias too short"))?;
                kernels::softmax_row(c.isa, row, 1.0, Some(bias));
            }
            let first = b * len * inner + h * d;
            if first + extent(len, d, inner, 1) > out_len
                || extent(len, len, len, 1) > s.len()
                || extent(len, d, stride, 1) > v.len()
            {
                return Err(compute_err("fast path: attention output out of range"));
            }
            // SAFETY: the extents were checked just above; this task's destination is
            // rows b·L..(b+1)·L × columns h·d..(h+1)·d of `context`, disjoint from every
            // other task's, and `context` is not read while the loop runs.
            unsafe {
                gemm_raw(
                    out.get().add(first),
                    inner,
                    Operand {
                        data: s,
                        rs: len,
                        cs: 1,
                    },
                    Operand {
                        data: v,
                        rs: stride,
                        cs: 1,
                    },
                    (len, d, len),
                    false,
                    1.0,
                    1,
                );
            }
            Ok(())
        })
    };
    if c.threads <= 1 {
        (0..c.batch * heads).try_for_each(task)?;
    } else {
        (0..c.batch * heads).into_par_iter().try_for_each(task)?;
    }

    let proj = sized(&mut ws.proj, c.rows * hidden);
    linear(c, proj, context, &a.out, false)
}

/// Feed-forward of `x` into `ws.ff2` (plain) or `ws.ff2` via `ws.ff` (gated), without the
/// last bias; returns the buffer holding the result.
fn feed_forward<'w>(
    c: &Ctx<'_>,
    f: &FeedForward,
    x: &[f32],
    ws: &'w mut Workspace,
    hidden: usize,
) -> Result<&'w [f32]> {
    match f {
        FeedForward::Plain { fc1, fc2, act } => {
            let inter = fc1.out_dim();
            let ff = sized(&mut ws.ff, c.rows * inter);
            linear(c, ff, x, fc1, false)?;
            let b1 = bias_of(fc1)?;
            let b1 = b1.as_ref().map(HostF32::slice);
            let step = chunk_rows(c, c.rows) * inter;
            each_chunk(c, ff, step, |_, rows| {
                kernels::bias_act(c.isa, rows, inter, b1, *act)
            });
            let out = sized(&mut ws.ff2, c.rows * hidden);
            linear(c, out, ff, fc2, false)?;
            Ok(out)
        }
        FeedForward::Gated { up_gate, down, act } => {
            let two = up_gate.out_dim();
            let inter = two / 2;
            let ug = sized(&mut ws.ff, c.rows * two);
            linear(c, ug, x, up_gate, false)?;
            let bias = bias_of(up_gate)?;
            let bias = bias.as_ref().map(HostF32::slice);
            let gated = sized(&mut ws.ff2, c.rows * inter);
            let rows = chunk_rows(c, c.rows);
            each_chunk_zip(c, gated, rows * inter, ug, rows * two, |o, u| {
                kernels::gated_act(c.isa, o, u, inter, bias, *act)
            });
            let out = sized(&mut ws.proj, c.rows * hidden);
            linear(c, out, gated, down, false)?;
            Ok(out)
        }
    }
}

fn ffn_out_bias(f: &FeedForward) -> Result<Option<HostF32<'_>>> {
    match f {
        FeedForward::Plain { fc2, .. } => bias_of(fc2),
        FeedForward::Gated { down, .. } => bias_of(down),
    }
}

/// One encoder layer on `x` (`rows × hidden`) in place.
fn layer_forward(
    layer: &EncoderLayer,
    x: &mut [f32],
    hidden: usize,
    ws: &mut Workspace,
    c: &Ctx<'_>,
) -> Result<()> {
    let out_bias = bias_of(&layer.attn.out)?;
    let out_bias = out_bias.as_ref().map(HostF32::slice);
    let ffn_bias = ffn_out_bias(&layer.ffn)?;
    let ffn_bias = ffn_bias.as_ref().map(HostF32::slice);
    match &layer.norms {
        NormPlacement::Post { attn, ffn } => {
            // h = N1(x + attn(x)); y = N2(h + ffn(h))
            let (n1, n2) = (NormHost::new(attn)?, NormHost::new(ffn)?);
            attention(c, &layer.attn, x, ws, hidden)?;
            par_add_bias_norm(
                c,
                x,
                hidden,
                Some(&ws.proj[..x.len()]),
                out_bias,
                Some(n1.get()),
            );
            let f = feed_forward(c, &layer.ffn, x, ws, hidden)?;
            par_add_bias_norm(c, x, hidden, Some(f), ffn_bias, Some(n2.get()));
        }
        NormPlacement::Pre { attn, ffn } => {
            // h = x + attn(N1 x); y = h + ffn(N2 h)
            let (n1, n2) = (NormHost::new(attn)?, NormHost::new(ffn)?);
            let mut normed = std::mem::take(&mut ws.normed);
            let nx = sized(&mut normed, x.len());
            nx.copy_from_slice(x);
            par_add_bias_norm(c, nx, hidden, None, None, Some(n1.get()));
            attention(c, &layer.attn, nx, ws, hidden)?;
            par_add_bias_norm(c, x, hidden, Some(&ws.proj[..x.len()]), out_bias, None);
            nx.copy_from_slice(x);
            par_add_bias_norm(c, nx, hidden, None, None, Some(n2.get()));
            let f = feed_forward(c, &layer.ffn, nx, ws, hidden);
            let f = match f {
                Ok(f) => f,
                Err(e) => {
                    ws.normed = normed;
                    return Err(e);
                }
            };
            par_add_bias_norm(c, x, hidden, Some(f), ffn_bias, None);
            ws.normed = normed;
        }
        NormPlacement::JinaDoublePost {
            attn_out,
            norm1,
            norm2,
        } => {
            // a = Na(attn(x) + x); h = N1(x + a); y = N2(h + ffn(h))
            let (na, n1, n2) = (
                NormHost::new(attn_out)?,
                NormHost::new(norm1)?,
                NormHost::new(norm2)?,
            );
            attention(c, &layer.attn, x, ws, hidden)?;
            let proj = &mut ws.proj[..x.len()];
            par_add_bias_norm(c, proj, hidden, Some(x), out_bias, Some(na.get()));
            par_add_bias_norm(
                c,
                x,
                hidden,
                Some(&ws.proj[..x.len()]),
                None,
                Some(n1.get()),
            );
            let f = feed_forward(c, &layer.ffn, x, ws, hidden)?;
            par_add_bias_norm(c, x, hidden, Some(f), ffn_bias, Some(n2.get()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The column split of a query-sized projection (run on the pool when it has more than
    /// one thread) gives what one unsplit kernel call gives, at every level, including an
    /// output width that is not a multiple of the blocks.
    #[test]
    fn split_small_linear_matches_one_call() {
        let (rows, inp, out) = (16, 384, 1542);
        assert!(rows * inp * out >= SMALL_PAR_WORK);
        let x: Vec<f32> = (0..rows * inp)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.01)
            .collect();
        let w: Vec<f32> = (0..out * inp)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) * 0.01)
            .collect();
        let b: Vec<f32> = (0..out).map(|i| i as f32 * 0.001).collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("thread pool");
        for isa in [Isa::Portable, Isa::Avx2, Isa::Avx512] {
            let isa = isa.supported();
            let mut want = vec![0.0; rows * out];
            kernels::small_matmul_nt(isa, &mut want, &x, &w, inp, out, Some(&b));
            let mut got = vec![f32::NAN; rows * out];
            pool.install(|| small_linear(isa, &mut got, &x, &w, (rows, inp, out), Some(&b)));
            assert_eq!(got, want, "{isa:?}");
        }
    }
}
