//! Element-wise and row kernels of the CPU fast path ([`super`]), written once in
//! plain safe Rust and compiled three times: for AVX-512, for AVX2+FMA and for the baseline
//! target (portable fallback). The variant is chosen at run time from the CPU's features
//! ([`Isa::detect`]), so one binary runs everywhere; [`Isa::Portable`] can be forced to test
//! the fallback on a machine that has the wide units.
//!
//! Why this shape: without `-C target-cpu=native` rustc compiles for SSE2, so the plain loops
//! would never use 256/512-bit registers. A `#[target_feature]` wrapper around an
//! `#[inline(always)]` body lets LLVM vectorise the same source for each ISA. Reductions are
//! written with 16 independent accumulators so they vectorise without fast-math.
//!
//! The transcendental functions are branch-free polynomial approximations (Cephes `expf`,
//! Eigen's rational `erf`) accurate to a few ulp, far inside the 1e-5 the fast path must
//! keep against the reference path.

use super::Isa;
#[cfg(target_arch = "x86_64")]
use super::{avx2_available, avx512_available};
use crate::embed::activation::Activation;

/// Defines `pub fn $name(isa: Isa, args…)` that runs `$body` compiled for `isa`.
/// The feature check is repeated at the call (std caches it in an atomic), so a caller
/// passing `Isa::Avx512` on a CPU without it gets the portable code, not undefined behaviour.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        $vis fn $name(isa: Isa, $($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
            unsafe fn v4($($arg: $ty),*) {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn v3($($arg: $ty),*) {
                body($($arg),*)
            }

            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 if avx512_available() => {
                    // SAFETY: the CPU has every feature `v4` is compiled for (checked above).
                    unsafe { v4($($arg),*) }
                }
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 | Isa::Avx512 if avx2_available() => {
                    // SAFETY: the CPU has AVX2 and FMA (checked above).
                    unsafe { v3($($arg),*) }
                }
                _ => body($($arg),*),
            }
        }
    };
}

/// Lanes of the manual accumulators: one AVX-512 register of f32.
const LANES: usize = 16;

/// `exp(x)` for f32, Cephes polynomial (≈ 1 ulp on the clamped range); inputs below
/// −87.3 give exactly 0, like the libm result underflowing (masked scores must vanish).
#[inline(always)]
pub fn exp_approx(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    // 88 (not ln(f32::MAX) ≈ 88.72) keeps 2^fx ≤ 2^127, a normal float, so one scale works.
    const HI: f32 = 88.0;
    const LO: f32 = -87.336_55;
    let xc = x.clamp(LO, HI);
    let fx = (xc * LOG2E + 0.5).floor();
    let r = xc - fx * C1 - fx * C2;
    let z = r * r;
    let mut y = 1.987_569_1e-4_f32;
    y = y * r + 1.398_199_9e-3;
    y = y * r + 8.333_452e-3;
    y = y * r + 4.166_579_6e-2;
    y = y * r + 1.666_666_5e-1;
    y = y * r + 0.5; // the polynomial's 5.0000001e-1, as an f32
    y = y * z + r + 1.0;
    // 2^fx from the exponent bits. fx + 127 ∈ [1, 254] is an integer-valued float; adding
    // 2^23 puts that integer in the low mantissa bits, so a bit cast and a subtraction give
    // it without a float→int conversion (`as i32` saturates and is not vectorised).
    let biased = (fx + 127.0 + 8_388_608.0).to_bits() - 0x4B00_0000;
    let v = y * f32::from_bits(biased << 23);
    if x < LO {
        0.0
    } else {
        v
    }
}

/// `erf(x)` for f32: Eigen's rational approximation on [−4, 4] (erf is ±1 to f32
/// precision outside), max error ≈ 1e-7.
#[inline(always)]
pub fn erf_approx(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 - 2.101_024e-6;
    p = p * x2 - 5.692_506_4e-5;
    p = p * x2 - 7.349_906_3e-4;
    p = p * x2 - 2.954_600_1e-3;
    p = p * x2 - 1.609_603_3e-2;
    p *= x;
    let mut q = -1.456_607_2e-5_f32;
    q = q * x2 - 2.133_740_6e-4;
    q = q * x2 - 1.682_827e-3;
    q = q * x2 - 7.373_329_3e-3;
    q = q * x2 - 1.426_474e-2;
    p / q
}

/// One activation value, matching candle's definitions (see [`Activation`]).
#[inline(always)]
fn activate(act: Activation, x: f32) -> f32 {
    match act {
        Activation::GeluErf => 0.5 * x * (1.0 + erf_approx(x * std::f32::consts::FRAC_1_SQRT_2)),
        Activation::GeluTanh => {
            // tanh(u) = 1 − 2 / (exp(2u) + 1); exact at both saturations.
            let u = 0.797_884_6 * x * (1.0 + 0.044_715 * x * x);
            let t = 1.0 - 2.0 / (exp_approx(2.0 * u) + 1.0);
            0.5 * x * (1.0 + t)
        }
        Activation::Relu => x.max(0.0),
        Activation::Silu => x / (1.0 + exp_approx(-x)),
    }
}

multiversion! {
    /// `x[r, j] = act(x[r, j] + bias[j])` over rows of `bias.len()` (or of `width` without bias).
    pub fn bias_act(x: &mut [f32], width: usize, bias: Option<&[f32]>, act: Activation) {
        if width == 0 {
            return;
        }
        // The match is hoisted out of the loop so each arm vectorises on its own.
        macro_rules! run {
            ($f:expr) => {
                match bias {
                    Some(b) => {
                        for row in x.chunks_exact_mut(width) {
                            for (v, bb) in row.iter_mut().zip(b) {
                                *v = $f(*v + *bb);
                            }
                        }
                    }
                    None => {
                        for v in x.iter_mut() {
                            *v = $f(*v);
                        }
                    }
                }
            };
        }
        match act {
            Activation::GeluErf => run!(|v| activate(Activation::GeluErf, v)),
            Activation::GeluTanh => run!(|v| activate(Activation::GeluTanh, v)),
            Activation::Relu => run!(|v| activate(Activation::Relu, v)),
            Activation::Silu => run!(|v| activate(Activation::Silu, v)),
        }
    }
}

multiversion! {
    /// Gated feed-forward input: for each row of `ug` (`[up | gate]`, each `inter` wide, plus
    /// `bias` of `2·inter` if any), `out[r, j] = up[r, j] · act(gate[r, j])`.
    pub fn gated_act(out: &mut [f32], ug: &[f32], inter: usize, bias: Option<&[f32]>, act: Activation) {
        if inter == 0 {
            return;
        }
        macro_rules! run {
            ($f:expr) => {
                for (o, row) in out.chunks_exact_mut(inter).zip(ug.chunks_exact(2 * inter)) {
                    let (up, gate) = row.split_at(inter);
                    match bias {
                        Some(b) => {
                            let (bu, bg) = b.split_at(inter);
                            for j in 0..inter {
                                o[j] = (up[j] + bu[j]) * $f(gate[j] + bg[j]);
                            }
                        }
                        None => {
                            for j in 0..inter {
                                o[j] = up[j] * $f(gate[j]);
                            }
                        }
                    }
                }
            };
        }
        match act {
            Activation::GeluErf => run!(|v| activate(Activation::GeluErf, v)),
            Activation::GeluTanh => run!(|v| activate(Activation::GeluTanh, v)),
            Activation::Relu => run!(|v| activate(Activation::Relu, v)),
            Activation::Silu => run!(|v| activate(Activation::Silu, v)),
        }
    }
}

/// Sum with [`LANES`] independent accumulators (vectorises without reassociation flags).
#[inline(always)]
fn sum(x: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f32>() + tail.iter().sum::<f32>()
}

/// Σ (x − m)².
#[inline(always)]
fn sum_sq_dev(x: &[f32], m: f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            let d = c[i] - m;
            acc[i] += d * d;
        }
    }
    acc.iter().sum::<f32>() + tail.iter().map(|v| (v - m) * (v - m)).sum::<f32>()
}

#[inline(always)]
fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            acc[i] = if c[i] > acc[i] { c[i] } else { acc[i] };
        }
    }
    let m = acc
        .iter()
        .fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a });
    tail.iter().fold(m, |a, &b| if b > a { b } else { a })
}

/// Host copy of a [`crate::embed::layers::Norm`]: LayerNorm (`bias: Some`) or RMSNorm.
#[derive(Debug, Clone, Copy)]
pub struct NormRef<'a> {
    /// γ.
    pub weight: &'a [f32],
    /// β for LayerNorm; `None` means RMSNorm (no centring, no shift).
    pub bias: Option<&'a [f32]>,
    /// ε.
    pub eps: f32,
    /// LayerNorm (centre, then scale) or RMSNorm.
    pub layer_norm: bool,
}

#[inline(always)]
fn norm_row(row: &mut [f32], n: &NormRef<'_>) {
    let len = row.len() as f32;
    if n.layer_norm {
        let mean = sum(row) / len;
        let inv = 1.0 / (sum_sq_dev(row, mean) / len + n.eps).sqrt();
        match n.bias {
            Some(b) => {
                for ((v, w), bb) in row.iter_mut().zip(n.weight).zip(b) {
                    *v = (*v - mean) * inv * w + bb;
                }
            }
            None => {
                for (v, w) in row.iter_mut().zip(n.weight) {
                    *v = (*v - mean) * inv * w;
                }
            }
        }
    } else {
        let inv = 1.0 / (sum_sq_dev(row, 0.0) / len + n.eps).sqrt();
        for (v, w) in row.iter_mut().zip(n.weight) {
            *v = *v * inv * w;
        }
    }
}

multiversion! {
    /// Rows of `width`: `dst[r] = norm(dst[r] + other[r] + bias)`, every part optional —
    /// residual add, deferred projection bias and the norm in one pass over memory.
    pub fn add_bias_norm(
        dst: &mut [f32],
        width: usize,
        other: Option<&[f32]>,
        bias: Option<&[f32]>,
        norm: Option<NormRef<'_>>,
    ) {
        if width == 0 {
            return;
        }
        for (r, row) in dst.chunks_exact_mut(width).enumerate() {
            if let Some(o) = other {
                for (v, x) in row.iter_mut().zip(&o[r * width..(r + 1) * width]) {
                    *v += x;
                }
            }
            if let Some(b) = bias {
                for (v, x) in row.iter_mut().zip(b) {
                    *v += x;
                }
            }
            if let Some(n) = &norm {
                norm_row(row, n);
            }
        }
    }
}

multiversion! {
    /// Norm over a column window `[offset, offset + n.weight.len())` of each row of `stride`
    /// (JinaBERT's LayerNorm on q and on k inside the fused QKV rows).
    pub fn norm_columns(x: &mut [f32], stride: usize, offset: usize, norm: NormRef<'_>) {
        let w = norm.weight.len();
        for row in x.chunks_exact_mut(stride) {
            norm_row(&mut row[offset..offset + w], &norm);
        }
    }
}

multiversion! {
    /// Softmax of one score row in place after adding `scale`·s + `bias` (bias optional),
    /// as `softmax(scale·s + bias)`.
    pub fn softmax_row(s: &mut [f32], scale: f32, bias: Option<&[f32]>) {
        match bias {
            Some(b) => {
                for (v, bb) in s.iter_mut().zip(b) {
                    *v = *v * scale + bb;
                }
            }
            None => {
                if scale != 1.0 {
                    for v in s.iter_mut() {
                        *v *= scale;
                    }
                }
            }
        }
        let m = max(s);
        for v in s.iter_mut() {
            *v = exp_approx(*v - m);
        }
        let inv = 1.0 / sum(s);
        for v in s.iter_mut() {
            *v *= inv;
        }
    }
}

multiversion! {
    /// NeoX rotary embedding (rotate halves) on `heads` consecutive `head_dim` blocks
    /// starting at `offset` of one row, with this position's `cos`/`sin` (`head_dim/2` each).
    pub fn rope_row(row: &mut [f32], offset: usize, heads: usize, head_dim: usize, cos: &[f32], sin: &[f32]) {
        let half = head_dim / 2;
        for h in 0..heads {
            let base = offset + h * head_dim;
            let (x1, x2) = row[base..base + head_dim].split_at_mut(half);
            for i in 0..half {
                let (a, b) = (x1[i], x2[i]);
                x1[i] = a * cos[i] - b * sin[i];
                x2[i] = a * sin[i] + b * cos[i];
            }
        }
    }
}

/// Dot product with [`LANES`] accumulators.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

multiversion! {
    /// The generic body of [`small_matmul_nt`] (portable and AVX2 levels, and the output
    /// columns past the last multiple of 4 at the AVX-512 level): one dot product per
    /// output element.
    #[allow(clippy::too_many_arguments)]
    fn small_matmul_nt_dots(dst: &mut [f32], x: &[f32], w: &[f32], inp: usize, out: usize, first: usize, bias: Option<&[f32]>) {
        if inp == 0 || out == 0 {
            return;
        }
        let rows = x.len() / inp;
        for (o, wr) in w.chunks_exact(inp).enumerate().take(out).skip(first) {
            let b = bias.map_or(0.0, |b| b[o]);
            for r in 0..rows {
                dst[r * out + o] = dot(&x[r * inp..(r + 1) * inp], wr) + b;
            }
        }
    }
}

/// `dst[r, o] = Σₖ x[r, k] · w[o, k]` (+ `bias[o]`) for a few rows (`x`: rows × `inp`,
/// `w`: `out` × `inp`, both row-major; rows = `x.len() / inp`).
///
/// For a query (1–48 tokens) this beats a blocked GEMM, whose packing of the whole weight
/// matrix costs more than the arithmetic at that size. At the AVX-512 level it runs a
/// register-blocked kernel (4 weight rows × up to 4 input rows = 16 accumulators, each
/// weight row read once per 4 input rows and reduced once per output element): about 6×
/// the one-dot-per-element loop, which spent most of its time in horizontal sums. Other
/// levels run that loop.
///
/// Panics if a slice is shorter than its shape (callers check; see `encoder::linear`).
pub fn small_matmul_nt(
    isa: Isa,
    dst: &mut [f32],
    x: &[f32],
    w: &[f32],
    inp: usize,
    out: usize,
    bias: Option<&[f32]>,
) {
    if inp == 0 || out == 0 {
        return;
    }
    let rows = x.len() / inp;
    assert!(
        dst.len() >= rows * out && w.len() >= out * inp && bias.is_none_or(|b| b.len() >= out),
        "small_matmul_nt: slices shorter than {rows}×{inp}·{inp}×{out}"
    );
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 && avx512_available() {
        let blocked = out / 4 * 4;
        // SAFETY: the CPU has AVX-512F/DQ (checked just above) and the slice lengths were
        // asserted above to cover rows × inp (x), out × inp (w), rows × out (dst), out (bias).
        unsafe { avx512::small_nt(dst, x, w, inp, out, blocked, rows, bias) };
        if blocked < out {
            small_matmul_nt_dots(isa, dst, &x[..rows * inp], w, inp, out, blocked, bias);
        }
        return;
    }
    small_matmul_nt_dots(isa, dst, &x[..rows * inp], w, inp, out, 0, bias);
}

/// The AVX-512 small-matmul kernel. Its intrinsics are stable since Rust 1.89, like the
/// AVX-512 `target_feature` names the `multiversion!` kernels above already enable, so the
/// crate needs 1.89 either way (Cargo.toml's `rust-version` still says 1.85).
#[cfg(target_arch = "x86_64")]
#[allow(clippy::incompatible_msrv)]
mod avx512 {
    use std::arch::x86_64::*;

    /// How many weight rows ahead the first row block prefetches (the next block of 4).
    const AHEAD: usize = 4;

    /// Sums of each of four vectors, as one 4-lane vector `[Σa, Σb, Σc, Σd]`.
    #[inline(always)]
    unsafe fn hsum4(a: __m512, b: __m512, c: __m512, d: __m512) -> __m128 {
        #[inline(always)]
        unsafe fn half(v: __m512) -> __m128 {
            let v = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps::<1>(v));
            _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v))
        }
        let ab = _mm_hadd_ps(half(a), half(b));
        let cd = _mm_hadd_ps(half(c), half(d));
        _mm_hadd_ps(ab, cd)
    }

    /// One block: output columns `o..o+4` for input rows `r..r+R`; with `PREFETCH`, the
    /// weight rows of the next block are prefetched (a prefetch never faults, so reaching
    /// past the end of `w` on the last block is harmless: the address is formed with
    /// `wrapping_add` and only prefetched, never read).
    ///
    /// # Safety
    /// AVX-512F/DQ available; `x` valid for `(r+R)·inp` reads, `w` for `(o+4)·inp`, `dst`
    /// for `(r+R−1)·out + o + 4` writes, `bias` (when non-null) for `o + 4` reads.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn block<const R: usize, const PREFETCH: bool>(
        dst: *mut f32,
        x: *const f32,
        w: *const f32,
        inp: usize,
        out: usize,
        o: usize,
        r: usize,
        bias: *const f32,
    ) {
        let wp = [
            w.add(o * inp),
            w.add((o + 1) * inp),
            w.add((o + 2) * inp),
            w.add((o + 3) * inp),
        ];
        let mut acc = [[_mm512_setzero_ps(); 4]; R];
        let mut k = 0;
        while k + 16 <= inp {
            if PREFETCH {
                // A later block's weight rows, one cache line each per step:
                // the weights stream from L3/DRAM once per query and the load latency,
                // not the arithmetic, bounds this kernel.
                for p in wp {
                    _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(AHEAD * inp + k).cast::<i8>());
                }
            }
            let wv = [
                _mm512_loadu_ps(wp[0].add(k)),
                _mm512_loadu_ps(wp[1].add(k)),
                _mm512_loadu_ps(wp[2].add(k)),
                _mm512_loadu_ps(wp[3].add(k)),
            ];
            for (i, a) in acc.iter_mut().enumerate() {
                let xv = _mm512_loadu_ps(x.add((r + i) * inp + k));
                for j in 0..4 {
                    a[j] = _mm512_fmadd_ps(xv, wv[j], a[j]);
                }
            }
            k += 16;
        }
        if k < inp {
            let m: __mmask16 = (1u32 << (inp - k)).wrapping_sub(1) as __mmask16;
            let wv = [
                _mm512_maskz_loadu_ps(m, wp[0].add(k)),
                _mm512_maskz_loadu_ps(m, wp[1].add(k)),
                _mm512_maskz_loadu_ps(m, wp[2].add(k)),
                _mm512_maskz_loadu_ps(m, wp[3].add(k)),
            ];
            for (i, a) in acc.iter_mut().enumerate() {
                let xv = _mm512_maskz_loadu_ps(m, x.add((r + i) * inp + k));
                for j in 0..4 {
                    a[j] = _mm512_fmadd_ps(xv, wv[j], a[j]);
                }
            }
        }
        let b = if bias.is_null() {
            _mm_setzero_ps()
        } else {
            _mm_loadu_ps(bias.add(o))
        };
        for (i, a) in acc.iter().enumerate() {
            let s = _mm_add_ps(hsum4(a[0], a[1], a[2], a[3]), b);
            _mm_storeu_ps(dst.add((r + i) * out + o), s);
        }
    }

    /// Columns `0..blocked` (a multiple of 4) of [`super::small_matmul_nt`].
    ///
    /// # Safety
    /// AVX-512F/DQ available; `x.len() ≥ rows·inp`, `w.len() ≥ out·inp`,
    /// `dst.len() ≥ rows·out`, `bias.len() ≥ out`, `blocked ≤ out`.
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma,sse3")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn small_nt(
        dst: &mut [f32],
        x: &[f32],
        w: &[f32],
        inp: usize,
        out: usize,
        blocked: usize,
        rows: usize,
        bias: Option<&[f32]>,
    ) {
        let (d, xp, wp) = (dst.as_mut_ptr(), x.as_ptr(), w.as_ptr());
        let bp = bias.map_or(std::ptr::null(), <[f32]>::as_ptr);
        let mut o = 0;
        while o + 4 <= blocked {
            // The first row block of each column block prefetches the next one's weights.
            let mut r = 0;
            if rows >= 4 {
                block::<4, true>(d, xp, wp, inp, out, o, 0, bp);
                r = 4;
            }
            while r + 4 <= rows {
                block::<4, false>(d, xp, wp, inp, out, o, r, bp);
                r += 4;
            }
            match (rows - r, r == 0) {
                (3, true) => block::<3, true>(d, xp, wp, inp, out, o, r, bp),
                (3, false) => block::<3, false>(d, xp, wp, inp, out, o, r, bp),
                (2, true) => block::<2, true>(d, xp, wp, inp, out, o, r, bp),
                (2, false) => block::<2, false>(d, xp, wp, inp, out, o, r, bp),
                (1, true) => block::<1, true>(d, xp, wp, inp, out, o, r, bp),
                (1, false) => block::<1, false>(d, xp, wp, inp, out, o, r, bp),
                _ => {}
            }
            o += 4;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_isas() -> Vec<Isa> {
        vec![Isa::Portable, Isa::Avx2.supported(), Isa::detect()]
    }

    #[test]
    fn exp_matches_libm() {
        let mut worst = 0.0f32;
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = x.exp();
            let rel = ((exp_approx(x) - want) / want).abs();
            worst = worst.max(rel);
            x += 0.0137;
        }
        assert!(worst < 3e-7, "relative error {worst}");
        assert_eq!(exp_approx(-1e9), 0.0);
        assert_eq!(exp_approx(-88.0), 0.0);
        assert!(exp_approx(88.3).is_finite() && exp_approx(1e9).is_finite());
        assert_eq!(exp_approx(0.0), 1.0);
    }

    #[test]
    fn erf_matches_candle() {
        let mut worst = 0.0f32;
        let mut x = -6.0f32;
        while x < 6.0 {
            let want = candle_core::cpu::erf::erf_f64(x as f64) as f32;
            worst = worst.max((erf_approx(x) - want).abs());
            x += 0.001;
        }
        assert!(worst < 5e-7, "absolute error {worst}");
    }

    #[test]
    fn every_isa_gives_the_same_activations_as_the_scalar_definition() {
        let xs: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.021).collect();
        for act in [
            Activation::GeluErf,
            Activation::GeluTanh,
            Activation::Relu,
            Activation::Silu,
        ] {
            let want: Vec<f32> = xs
                .iter()
                .map(|&x| {
                    let x = x as f64;
                    (match act {
                        Activation::GeluErf => {
                            0.5 * x * (1.0 + candle_core::cpu::erf::erf_f64(x / 2f64.sqrt()))
                        }
                        Activation::GeluTanh => {
                            0.5 * x
                                * (1.0
                                    + ((2.0 / std::f64::consts::PI).sqrt()
                                        * (x + 0.044715 * x * x * x))
                                        .tanh())
                        }
                        Activation::Relu => x.max(0.0),
                        Activation::Silu => x / (1.0 + (-x).exp()),
                    }) as f32
                })
                .collect();
            for isa in all_isas() {
                let mut got = xs.clone();
                bias_act(isa, &mut got, 10, None, act);
                let d = got
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(d < 2e-6, "{act:?} on {isa:?}: {d}");
            }
        }
    }

    #[test]
    fn softmax_and_norm_agree_across_isas() {
        let row: Vec<f32> = (0..77)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.3)
            .collect();
        let bias: Vec<f32> = (0..77).map(|i| if i > 70 { -1e9 } else { 0.0 }).collect();
        let mut want = row.clone();
        for v in &mut want {
            *v *= 0.5;
        }
        for (v, b) in want.iter_mut().zip(&bias) {
            *v += b;
        }
        let m = want.iter().cloned().fold(f32::MIN, f32::max);
        let e: Vec<f64> = want.iter().map(|v| ((v - m) as f64).exp()).collect();
        let z: f64 = e.iter().sum();
        for isa in all_isas() {
            let mut s = row.clone();
            softmax_row(isa, &mut s, 0.5, Some(&bias));
            for (g, w) in s.iter().zip(&e) {
                assert!((*g as f64 - w / z).abs() < 1e-7, "{isa:?}");
            }
            assert!(s[71..].iter().all(|&p| p == 0.0), "masked keys get 0");

            let w: Vec<f32> = (0..77).map(|i| 1.0 + i as f32 * 0.01).collect();
            let b: Vec<f32> = (0..77).map(|i| i as f32 * -0.02).collect();
            let mut x = row.clone();
            add_bias_norm(
                isa,
                &mut x,
                77,
                None,
                None,
                Some(NormRef {
                    weight: &w,
                    bias: Some(&b),
                    eps: 1e-12,
                    layer_norm: true,
                }),
            );
            let mean = row.iter().map(|&v| v as f64).sum::<f64>() / 77.0;
            let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / 77.0;
            for i in 0..77 {
                let want = (row[i] as f64 - mean) / var.sqrt() * w[i] as f64 + b[i] as f64;
                assert!((x[i] as f64 - want).abs() < 2e-6, "{isa:?} {i}");
            }
        }
    }

    #[test]
    fn small_matmul_matches_naive_on_every_isa() {
        for (rows, inp, out) in [(3, 37, 5), (7, 48, 12), (16, 33, 9), (1, 16, 4), (5, 5, 3)] {
            let x: Vec<f32> = (0..rows * inp)
                .map(|i| (i % 7) as f32 * 0.1 - 0.3)
                .collect();
            let w: Vec<f32> = (0..out * inp).map(|i| (i % 5) as f32 * 0.2 - 0.4).collect();
            let b: Vec<f32> = (0..out).map(|i| i as f32).collect();
            for isa in all_isas() {
                let mut dst = vec![0.0; rows * out];
                small_matmul_nt(isa, &mut dst, &x, &w, inp, out, Some(&b));
                for r in 0..rows {
                    for o in 0..out {
                        let want: f32 = (0..inp)
                            .map(|k| x[r * inp + k] * w[o * inp + k])
                            .sum::<f32>()
                            + b[o];
                        assert!((dst[r * out + o] - want).abs() < 1e-5, "{isa:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn asking_for_more_than_the_cpu_has_is_lowered() {
        assert_eq!(Isa::Portable.supported(), Isa::Portable);
        let best = Isa::detect();
        assert_eq!(Isa::Avx512.supported(), best);
    }
}
