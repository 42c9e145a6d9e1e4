//! Finding a model's files: a local directory, the Hugging Face cache, or a download.
//!
//! Resolution order for a spec: (1) an explicit directory (the spec itself when it is a
//! path, or `EmbedOptions::model_dir`); (2) the Hugging Face cache (`HF_HOME`, hub layout:
//! `$HF_HOME/hub/models--org--name/snapshots/<rev>/`); (3) a download with `hf-hub`
//! unless `HF_HUB_OFFLINE` is set or downloads are disabled. Failure names all three.
//!
//! The cache lookup and the download need `hf-hub`, part of the `embed` cargo feature;
//! without it only the plain checks on a directory remain, and no model is cached.

use std::path::{Path, PathBuf};

#[cfg(feature = "embed")]
use super::error::{EmbedError, Result};
#[cfg(feature = "embed")]
use super::registry;
use super::registry::ModelEntry;

/// A model directory ready to load, and the registry entry it belongs to (if any).
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    /// Directory holding config.json, tokenizer.json and the weights.
    pub dir: PathBuf,
    /// The registry entry, when the spec named one.
    pub entry: Option<&'static ModelEntry>,
    /// Where it was found: "local directory", "Hugging Face cache", "downloaded".
    pub source: &'static str,
}

/// Weight file names looked for, in order of preference.
pub const WEIGHT_FILES: &[&str] = &[
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
];

/// True when `dir` has a tokenizer: `tokenizer.json`, or RoBERTa's `vocab.json` +
/// `merges.txt` (CodeBERT and UniXcoder ship only those).
pub fn has_tokenizer(dir: &Path) -> bool {
    dir.join("tokenizer.json").is_file()
        || (dir.join("vocab.json").is_file() && dir.join("merges.txt").is_file())
}

/// True when `dir` looks like a loadable model directory.
pub fn is_model_dir(dir: &Path) -> bool {
    dir.join("config.json").is_file()
        && has_tokenizer(dir)
        && WEIGHT_FILES.iter().any(|f| dir.join(f).is_file())
}

/// Resolves `spec` (registry name, Hugging Face id or directory) to a local directory.
///
/// `model_dir` overrides the search for a registry model; `allow_download` permits step 3.
#[cfg(feature = "embed")]
pub fn resolve(
    spec: &str,
    model_dir: Option<&Path>,
    allow_download: bool,
) -> Result<ResolvedModel> {
    let entry = registry::lookup(spec);
    if let Some(dir) = model_dir {
        return local(dir, entry);
    }
    let as_path = Path::new(spec);
    if entry.is_none() && as_path.exists() {
        return local(as_path, None);
    }
    // A Hugging Face id that is not in the registry still resolves through the cache/hub;
    // the architecture then comes from its config.json.
    let hf_id = match entry {
        Some(e) => e.hf_id.to_string(),
        None if spec.contains('/') && !spec.starts_with('.') && !spec.starts_with('/') => {
            spec.to_string()
        }
        None => return Err(EmbedError::UnknownModel(spec.to_string())),
    };
    if let Some(dir) = cached_dir(&hf_id) {
        return Ok(ResolvedModel {
            dir,
            entry,
            source: "Hugging Face cache",
        });
    }
    let offline = std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| !v.is_empty() && v != "0");
    let why_no_download = if !allow_download {
        "downloads disabled".to_string()
    } else if offline {
        "HF_HUB_OFFLINE is set".to_string()
    } else {
        match download(&hf_id) {
            Ok(dir) => {
                return Ok(ResolvedModel {
                    dir,
                    entry,
                    source: "downloaded",
                })
            }
            Err(e) => format!("download failed: {e}"),
        }
    };
    Err(EmbedError::ModelNotFound {
        spec: spec.to_string(),
        hf_id: hf_id.clone(),
        detail: format!(
            "not in the Hugging Face cache at {}; {why_no_download}",
            hf_hub::Cache::from_env().path().display()
        ),
    })
}

#[cfg(feature = "embed")]
fn local(dir: &Path, entry: Option<&'static ModelEntry>) -> Result<ResolvedModel> {
    let missing = |f: &str| EmbedError::Io {
        action: "model directory lacks",
        path: dir.join(f),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
    };
    if !dir.join("config.json").is_file() {
        return Err(missing("config.json"));
    }
    if !has_tokenizer(dir) {
        return Err(missing("tokenizer.json"));
    }
    if !WEIGHT_FILES.iter().any(|f| dir.join(f).is_file()) {
        return Err(EmbedError::Weights {
            path: dir.to_path_buf(),
            detail: format!("no weight file (looked for {})", WEIGHT_FILES.join(", ")),
        });
    }
    Ok(ResolvedModel {
        dir: dir.to_path_buf(),
        entry,
        source: "local directory",
    })
}

/// The snapshot directory of `hf_id` in the Hugging Face cache, if complete.
#[cfg(feature = "embed")]
pub fn cached_dir(hf_id: &str) -> Option<PathBuf> {
    let cache = hf_hub::Cache::from_env();
    let config = cache.model(hf_id.to_string()).get("config.json")?;
    let dir = config.parent()?.to_path_buf();
    is_model_dir(&dir).then_some(dir)
}

/// Without the `embed` feature there is no hub client, and no cached model could be
/// loaded anyway: always `None`.
#[cfg(not(feature = "embed"))]
pub fn cached_dir(_hf_id: &str) -> Option<PathBuf> {
    None
}

#[cfg(feature = "embed")]
fn download(hf_id: &str) -> std::result::Result<PathBuf, String> {
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(false)
        .build()
        .map_err(|e| e.to_string())?;
    let repo = api.model(hf_id.to_string());
    let config = repo.get("config.json").map_err(|e| e.to_string())?;
    if let Err(e) = repo.get("tokenizer.json") {
        // RoBERTa-family repos (CodeBERT, UniXcoder) have only vocab.json + merges.txt.
        repo.get("vocab.json")
            .map_err(|_| format!("no tokenizer.json ({e}) nor vocab.json"))?;
        repo.get("merges.txt").map_err(|e| e.to_string())?;
    }
    // Pooling config is optional (sentence-transformers layout).
    let _ = repo.get("1_Pooling/config.json");
    let mut last_err = String::new();
    let mut have_weights = false;
    for f in ["model.safetensors", "pytorch_model.bin"] {
        match repo.get(f) {
            Ok(_) => {
                have_weights = true;
                break;
            }
            Err(e) => last_err = e.to_string(),
        }
    }
    if !have_weights {
        return Err(format!("no weights: {last_err}"));
    }
    config
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| "cache path has no parent".to_string())
}
