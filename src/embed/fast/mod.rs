//! The CPU fast path of the encoder (see [`encoder`] and [`kernels`]).

mod encoder;
pub mod kernels;

pub(crate) use encoder::encoder_forward;
pub use encoder::{current, default_kernels, with_kernels, Kernels};
