//! Do two backends give one model's vectors? Embeds the same texts with both and compares
//! them text by text (`cseek model verify`).
//!
//! One model served two ways — candle here and an Ollama or OpenAI-compatible server, f32
//! and f16, CPU and GPU — should agree to a cosine near 1; a wrong pooling, a missing
//! prefix, a truncated context or a different checkpoint shows up as a low minimum long
//! before it shows up as worse search. [`SAME_MODEL_THRESHOLD`] is the bar for one model
//! computed two ways; [`LOWER_BAR`] (the cosine 0.95 the research cseek comes from
//! demanded before trusting a second backend) is the least that may be called the same
//! model at all.

use serde::Serialize;

use super::{EmbedError, Embedder, Result};

/// Default pass mark: the same model on two backends (rounding and kernel order only).
pub const SAME_MODEL_THRESHOLD: f32 = 0.99;
/// The documented lower bar: below it, two backends do not compute the same model.
pub const LOWER_BAR: f32 = 0.95;

/// One text's agreement.
#[derive(Debug, Clone, Serialize)]
pub struct TextAgreement {
    /// Position in the input.
    pub index: usize,
    /// Cosine of the two vectors.
    pub cosine: f32,
}

/// The outcome of [`compare`].
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Vector dimension (the same on both sides).
    pub dims: usize,
    /// Texts compared.
    pub texts: usize,
    /// Lowest cosine.
    pub min: f32,
    /// Mean cosine.
    pub mean: f32,
    /// The pass mark used.
    pub threshold: f32,
    /// Whether every text reached the threshold.
    pub pass: bool,
    /// Per text, in input order.
    pub per_text: Vec<TextAgreement>,
}

/// Embeds `texts` with `a` and with `b` (as documents, or as queries: each side adds its
/// own prefix) and compares the vectors text by text.
pub fn compare(
    a: &Embedder,
    b: &Embedder,
    texts: &[&str],
    as_queries: bool,
    threshold: f32,
) -> Result<VerifyReport> {
    if texts.is_empty() {
        return Err(EmbedError::InvalidOption("no texts to compare".into()));
    }
    if !(threshold.is_finite() && (-1.0..=1.0).contains(&threshold)) {
        return Err(EmbedError::InvalidOption(format!(
            "threshold {threshold} is not a cosine (-1 to 1)"
        )));
    }
    if a.dims() != b.dims() {
        return Err(EmbedError::InvalidOption(format!(
            "the models give vectors of different sizes ({} and {}): not the same model",
            a.dims(),
            b.dims()
        )));
    }
    let embed = |e: &Embedder| {
        if as_queries {
            e.embed_queries(texts)
        } else {
            e.embed_documents(texts)
        }
    };
    let (va, vb) = (embed(a)?, embed(b)?);
    let per_text: Vec<TextAgreement> = va
        .iter()
        .zip(&vb)
        .enumerate()
        .map(|(index, (x, y))| TextAgreement {
            index,
            cosine: cosine(x, y),
        })
        .collect();
    let min = per_text
        .iter()
        .map(|t| t.cosine)
        .fold(f32::INFINITY, f32::min);
    let mean = per_text.iter().map(|t| t.cosine).sum::<f32>() / per_text.len() as f32;
    Ok(VerifyReport {
        dims: a.dims(),
        texts: per_text.len(),
        min,
        mean,
        threshold,
        pass: min >= threshold,
        per_text,
    })
}

/// Cosine similarity; 0 when either vector is zero (or not finite).
pub fn cosine(x: &[f32], y: &[f32]) -> f32 {
    let dot: f32 = x.iter().zip(y).map(|(a, b)| a * b).sum();
    let nx = x.iter().map(|a| a * a).sum::<f32>().sqrt();
    let ny = y.iter().map(|b| b * b).sum::<f32>().sqrt();
    let c = dot / (nx * ny);
    if c.is_finite() {
        c.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::cosine;

    #[test]
    fn cosine_is_scale_free_and_safe_on_zero() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-6);
        assert!((cosine(&[1.0, 0.0], &[0.0, 3.0])).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
        assert!((cosine(&[1.0, 0.0], &[-1.0, 0.0]) + 1.0).abs() < 1e-6);
    }
}
