//! Device and dtype selection. `auto` prefers a GPU when this binary was built with the
//! `cuda` or `metal` feature and a device answers; the choice is always reported so the
//! caller can print it (falling back to CPU is never silent).
//!
//! [`DeviceRequest`] and [`Precision`] are plain values, in every build; opening a device
//! needs the `embed` feature (without it [`select`] returns
//! [`EmbedError::FeatureDisabled`]).

use std::str::FromStr;

#[cfg(feature = "embed")]
use candle_core::{DType, Device};

use super::error::{EmbedError, Result};

/// What the user asked for with `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceRequest {
    /// A GPU if one is usable, else the CPU (announced).
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device N (needs the `cuda` feature).
    Cuda(usize),
    /// Apple Metal (needs the `metal` feature).
    Metal,
}

impl FromStr for DeviceRequest {
    type Err = EmbedError;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            "metal" | "mps" => Ok(Self::Metal),
            _ => match s.strip_prefix("cuda:") {
                Some(n) => n
                    .parse()
                    .map(Self::Cuda)
                    .map_err(|_| EmbedError::InvalidOption(format!("bad CUDA ordinal in `{s}`"))),
                None => Err(EmbedError::InvalidOption(format!(
                    "unknown device `{s}`: use auto, cpu, cuda, cuda:N or metal"
                ))),
            },
        }
    }
}

/// The selected device and a one-line account of why, for stderr.
#[derive(Debug, Clone)]
pub struct DeviceChoice {
    /// The device tensors live on.
    #[cfg(feature = "embed")]
    pub device: Device,
    /// Human-readable name, e.g. `cpu`, `cuda:0`.
    pub name: String,
    /// What happened, e.g. "auto: no GPU support compiled in; using CPU".
    pub report: String,
}

/// Opens the requested device. Explicit GPU requests fail with an error when unusable;
/// `auto` falls back to the CPU and says so in `report`. A build without the `embed`
/// feature has no device to run a model on: [`EmbedError::FeatureDisabled`].
#[cfg(not(feature = "embed"))]
pub fn select(_req: DeviceRequest) -> Result<DeviceChoice> {
    Err(EmbedError::FeatureDisabled)
}

/// Opens the requested device. Explicit GPU requests fail with an error when unusable;
/// `auto` falls back to the CPU and says so in `report`.
#[cfg(feature = "embed")]
pub fn select(req: DeviceRequest) -> Result<DeviceChoice> {
    let cpu = |report: String| DeviceChoice {
        device: Device::Cpu,
        name: "cpu".into(),
        report,
    };
    match req {
        DeviceRequest::Cpu => Ok(cpu("device: cpu (requested)".into())),
        DeviceRequest::Cuda(n) => {
            if !candle_core::utils::cuda_is_available() {
                return Err(EmbedError::Device(
                    "this cseek was built without CUDA support (rebuild with `--features cuda`)"
                        .into(),
                ));
            }
            let device = Device::new_cuda(n)
                .map_err(|e| EmbedError::Device(format!("CUDA device {n} unusable: {e}")))?;
            Ok(DeviceChoice {
                device,
                name: format!("cuda:{n}"),
                report: format!("device: cuda:{n} (requested)"),
            })
        }
        DeviceRequest::Metal => {
            if !candle_core::utils::metal_is_available() {
                return Err(EmbedError::Device(
                    "this cseek was built without Metal support (rebuild with `--features metal`)"
                        .into(),
                ));
            }
            let device = Device::new_metal(0)
                .map_err(|e| EmbedError::Device(format!("Metal device unusable: {e}")))?;
            Ok(DeviceChoice {
                device,
                name: "metal".into(),
                report: "device: metal (requested)".into(),
            })
        }
        DeviceRequest::Auto => {
            let mut tried = Vec::new();
            if candle_core::utils::cuda_is_available() {
                match Device::new_cuda(0) {
                    Ok(device) => {
                        return Ok(DeviceChoice {
                            device,
                            name: "cuda:0".into(),
                            report: "device: auto -> cuda:0 (GPU found)".into(),
                        })
                    }
                    Err(e) => tried.push(format!("CUDA: {e}")),
                }
            } else {
                tried.push("built without the `cuda` feature".into());
            }
            if candle_core::utils::metal_is_available() {
                match Device::new_metal(0) {
                    Ok(device) => {
                        return Ok(DeviceChoice {
                            device,
                            name: "metal".into(),
                            report: "device: auto -> metal (GPU found)".into(),
                        })
                    }
                    Err(e) => tried.push(format!("Metal: {e}")),
                }
            }
            Ok(cpu(format!(
                "device: auto -> cpu (no GPU: {})",
                tried.join("; ")
            )))
        }
    }
}

/// The float type of a model's weights and activations ([`super::EmbedOptions::dtype`],
/// `--dtype`): a plain value, so the options do not depend on the tensor library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit IEEE float.
    F32,
    /// 16-bit IEEE half precision.
    F16,
    /// bfloat16.
    Bf16,
}

impl Precision {
    /// Lower-case name (`f32`, `f16`, `bf16`), as [`parse_dtype`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Bf16 => "bf16",
        }
    }
}

#[cfg(feature = "embed")]
impl From<Precision> for DType {
    fn from(p: Precision) -> Self {
        match p {
            Precision::F32 => DType::F32,
            Precision::F16 => DType::F16,
            Precision::Bf16 => DType::BF16,
        }
    }
}

/// Parses `f32`, `f16`, `bf16`.
pub fn parse_dtype(s: &str) -> Result<Precision> {
    match s.trim().to_ascii_lowercase().as_str() {
        "f32" | "float32" => Ok(Precision::F32),
        "f16" | "float16" | "half" => Ok(Precision::F16),
        "bf16" | "bfloat16" => Ok(Precision::Bf16),
        other => Err(EmbedError::InvalidOption(format!(
            "unknown dtype `{other}`: use f32, f16 or bf16"
        ))),
    }
}

/// Default dtype: f32 on CPU (half precision is not faster there), f16 on a GPU.
#[cfg(feature = "embed")]
pub fn default_dtype(device: &Device) -> DType {
    if device.is_cpu() {
        DType::F32
    } else {
        DType::F16
    }
}

/// A finite large negative value for additive attention masks. `f32::MIN` would become
/// −inf in f16/bf16 and turn `0 × −inf` into NaN; −1e4 still underflows `exp` to exactly 0.
#[cfg(feature = "embed")]
pub fn mask_value(dtype: DType) -> f32 {
    match dtype {
        DType::F16 | DType::BF16 => -1.0e4,
        _ => -1.0e9,
    }
}
