//! The CPU fast path of the embed stage: the shared encoder (`layers::Encoder`) run with
//! fused, vectorised kernels on host memory instead of candle ops, for f32 on the CPU: on
//! MiniLM about 1.7–1.9× the reference path's tokens/s on batches and 3× on a one-query
//! batch (`benches/README.md`, "Throughput, levers one at a time").
//!
//! - `encoder` (private): the forward pass — QKV with its bias folded into one `gemm`
//!   call, attention per (batch, head) pair in parallel, per-thread reusable workspaces;
//! - `kernels`: the element-wise and row kernels it calls (activations, norms, softmax,
//!   rotary, query-sized matmuls), compiled for AVX-512, AVX2+FMA and the baseline and
//!   picked at run time ([`Isa`]).
//!
//! Why a folder of its own: it is a second implementation of the same encoder, with its
//! own unsafe code and CPU dispatch, tested against the reference path (within 1e-5 on
//! every architecture, `tests/embed_fast.rs`). Data flows one way: this path reads the
//! layer structs of `embed::layers` (and the shared `embed::activation` description);
//! the reference path knows nothing of it.
//!
//! Which path runs is the caller's choice, a plain value: [`Kernels`] in
//! [`EmbedOptions::kernels`](super::EmbedOptions::kernels) (default: this path at the
//! CPU's best level), kept by the `Embedder` (`Embedder::set_kernels` changes it) and
//! passed with every batch (`EncoderInput::kernels`); `model::run_encoder` is the one
//! place that dispatches. The library reads no environment variable for it (the `cseek`
//! binary maps `CSEEK_EMBED_KERNELS` onto the option). Anything the fast path does not
//! cover (GPU tensors, half precision, unusual layouts) takes the reference path.
//! Per-thread scratch buffers are the only thread-local state: a cache, not a choice.
//!
//! [`Kernels`] and [`Isa`] are plain values and exist in every build; the kernels and
//! the encoder need the `embed` cargo feature.

#[cfg(feature = "embed")]
mod encoder;
#[cfg(feature = "embed")]
pub mod kernels;

#[cfg(feature = "embed")]
pub(crate) use encoder::encoder_forward;

/// Which implementation runs the encoder layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernels {
    /// candle tensor ops, op by op: the reference the fast path is tested against.
    Reference,
    /// The fused CPU path with kernels at this level (lowered to what the CPU supports).
    Fast(Isa),
}

impl Default for Kernels {
    /// The fast path at the CPU's best level.
    fn default() -> Self {
        Kernels::Fast(Isa::detect())
    }
}

impl Kernels {
    /// Parses `reference`, `fast`/`auto` (best level of this CPU), `avx512`, `avx2`,
    /// `portable`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "reference" | "ref" | "candle" => Kernels::Reference,
            "" | "fast" | "auto" => Kernels::Fast(Isa::detect()),
            "avx512" => Kernels::Fast(Isa::Avx512.supported()),
            "avx2" => Kernels::Fast(Isa::Avx2.supported()),
            "portable" => Kernels::Fast(Isa::Portable),
            _ => return None,
        })
    }

    /// `self` with its kernel level lowered to what this CPU supports (what actually runs).
    pub fn supported(self) -> Self {
        match self {
            Kernels::Fast(isa) => Kernels::Fast(isa.supported()),
            r => r,
        }
    }

    /// Short name for reports (`reference`, `fast-avx512`, …).
    pub fn name(self) -> String {
        match self {
            Kernels::Reference => "reference".into(),
            Kernels::Fast(isa) => format!("fast-{}", isa.name()),
        }
    }
}

/// Instruction-set level of the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Baseline target, no run-time features (the fallback).
    Portable,
    /// x86-64 AVX2 + FMA.
    Avx2,
    /// x86-64 AVX-512 (F, BW, DQ, VL).
    Avx512,
}

impl Isa {
    /// The widest level this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if avx512_available() {
                return Isa::Avx512;
            }
            if avx2_available() {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// `self`, lowered to what the CPU supports (asking for AVX-512 on a CPU without it
    /// gives AVX2 or the portable path, never a crash).
    pub fn supported(self) -> Self {
        let best = Self::detect();
        match (self, best) {
            (Isa::Portable, _) | (_, Isa::Portable) => Isa::Portable,
            (Isa::Avx2, _) | (_, Isa::Avx2) => Isa::Avx2,
            (Isa::Avx512, Isa::Avx512) => Isa::Avx512,
        }
    }

    /// Lower-case name (`portable`, `avx2`, `avx512`).
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }
}

/// AVX-512 F, BW, DQ and VL, plus what [`avx2_available`] checks.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx512_available() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512dq")
        && is_x86_feature_detected!("avx512vl")
        && avx2_available()
}

/// AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2_available() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}
