//! Model resolution through the Hugging Face cache (hub layout under `HF_HOME`).
//! A separate test binary because it sets `HF_HOME` for the whole process.

// Needs the embedding engine: a lexical-only build (`--no-default-features`) skips it.
#![cfg(feature = "embed")]

use cseek::embed::testkit::{write_tiny_model, TinySize};
use cseek::embed::{Arch, DeviceRequest, EmbedError, EmbedOptions, Embedder};

#[test]
fn registry_name_resolves_from_the_hf_cache_without_network() {
    let home = tempfile::tempdir().unwrap();
    std::env::set_var("HF_HOME", home.path());
    let repo = home.path().join("hub/models--BAAI--bge-small-en-v1.5");
    let rev = "0123456789abcdef0123456789abcdef01234567";
    write_tiny_model(
        &repo.join("snapshots").join(rev),
        Arch::Bert,
        TinySize::tiny(),
        "",
    )
    .unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), rev).unwrap();

    let o = EmbedOptions {
        device: DeviceRequest::Cpu,
        allow_download: false,
        ..Default::default()
    };
    let e = Embedder::load("bge-small", &o).unwrap();
    assert_eq!(e.info().source, "Hugging Face cache");
    assert_eq!(e.info().hf_id.as_deref(), Some("BAAI/bge-small-en-v1.5"));
    assert_eq!(e.embed_queries(&["sort a list"]).unwrap()[0].len(), 32);
    // The Hugging Face id works as a spec too.
    assert!(Embedder::load("BAAI/bge-small-en-v1.5", &o).is_ok());

    // An incomplete snapshot (no weights) is not used; offline → the three-ways error.
    std::fs::remove_file(repo.join("snapshots").join(rev).join("model.safetensors")).unwrap();
    std::env::set_var("HF_HUB_OFFLINE", "1");
    let err = Embedder::load(
        "bge-small",
        &EmbedOptions {
            allow_download: true,
            ..o
        },
    )
    .unwrap_err();
    assert!(matches!(err, EmbedError::ModelNotFound { .. }));
    assert!(err.to_string().contains("HF_HUB_OFFLINE"), "{err}");
}
