//! The default model per situation: on a CPU the static code model when it can be
//! found, else MiniLM, else lexical-only — and the reason is reported. Models are put in a
//! fake Hugging Face cache (`HF_HOME`, hub layout) so no network is involved. One test
//! function, because `HF_HOME` is process-wide.

// Needs the embedding engine: a lexical-only build (`--no-default-features`) skips it.
#![cfg(feature = "embed")]

use std::path::Path;

use cseek::embed::testkit::{write_tiny_model, TinySize};
use cseek::embed::{Arch, DeviceRequest, EmbedOptions};
use cseek::index::{default_models, load_model_explained, ModelChoice};

/// Put a tiny model of `arch` in the hub cache under `hf_id`.
fn cache_model(hf_home: &Path, hf_id: &str, arch: Arch) {
    let repo = hf_home
        .join("hub")
        .join(format!("models--{}", hf_id.replace('/', "--")));
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "0123abcd").unwrap();
    write_tiny_model(&repo.join("snapshots/0123abcd"), arch, TinySize::tiny(), "").unwrap();
}

#[test]
fn cpu_default_prefers_the_static_code_model_then_falls_back() {
    let cpu = default_models(false);
    assert_eq!(cpu[0].0, "potion-code");
    assert_eq!(cpu.last().unwrap().0, "minilm");
    assert_eq!(default_models(true)[0].0, "jina-code");

    let tmp = tempfile::tempdir().unwrap();
    std::env::set_var("HF_HOME", tmp.path());
    std::env::set_var("HF_HUB_OFFLINE", "1");
    let opts = EmbedOptions {
        device: DeviceRequest::Cpu,
        ..EmbedOptions::default()
    };

    // Nothing available: lexical-only, and the reason names every model tried.
    let (model, off, why) = load_model_explained(&ModelChoice::Default, &opts).unwrap();
    assert!(model.is_none() && why.is_none());
    let off = off.unwrap();
    assert!(
        off.contains("potion-code") && off.contains("minilm"),
        "{off}"
    );

    // Only MiniLM: used, and the line says the static model was not available.
    cache_model(
        tmp.path(),
        "sentence-transformers/all-MiniLM-L6-v2",
        Arch::Bert,
    );
    let (model, off, why) = load_model_explained(&ModelChoice::Default, &opts).unwrap();
    assert_eq!(model.map(|m| m.0).as_deref(), Some("minilm"));
    assert!(off.is_none());
    let why = why.unwrap();
    assert!(
        why.contains("`minilm`") && why.contains("not available: `potion-code`"),
        "{why}"
    );

    // Both: the static code model wins on a CPU.
    cache_model(tmp.path(), "minishlab/potion-code-16M-v2", Arch::Model2Vec);
    let (model, _, why) = load_model_explained(&ModelChoice::Default, &opts).unwrap();
    let (name, embedder) = model.unwrap();
    assert_eq!(name, "potion-code");
    assert_eq!(embedder.info().arch, Arch::Model2Vec);
    assert!(why.unwrap().contains("static code model"));

    // A named model is used as named.
    let (model, _, why) =
        load_model_explained(&ModelChoice::Named("minilm".into()), &opts).unwrap();
    assert_eq!(model.map(|m| m.0).as_deref(), Some("minilm"));
    assert!(why.unwrap().contains("named by the user"));
}
