//! `src/cli/embed.rs` (the `cseek models` / `cseek embed` subcommands), compiled here
//! directly so it is tested before it is wired into the binary's command enum.

// Needs the embedding engine: a lexical-only build (`--no-default-features`) skips it.
#![cfg(feature = "embed")]

#[path = "../src/cli/embed.rs"]
#[allow(dead_code)]
mod embed_cli;

use clap::Parser;
use cseek::embed::testkit::{write_tiny_model, TinySize};
use cseek::embed::{Arch, DeviceRequest, Embedder, REGISTRY};
use embed_cli::{read_texts, write_embeddings, write_models, EmbedArgs, ModelsArgs};

#[derive(Parser)]
struct EmbedCli {
    #[command(flatten)]
    args: EmbedArgs,
}

#[test]
fn models_lists_every_registry_entry() {
    let mut buf = Vec::new();
    write_models(&mut buf, &ModelsArgs { json: false }, |id| {
        id == "BAAI/bge-small-en-v1.5"
    })
    .unwrap();
    let text = String::from_utf8(buf).unwrap();
    for e in REGISTRY {
        let line = text
            .lines()
            .find(|l| l.starts_with(e.name))
            .unwrap_or_else(|| panic!("{} missing", e.name));
        assert!(
            line.contains(e.hf_id)
                && line.contains(e.licence)
                && line.contains(&e.dims.to_string())
        );
        assert_eq!(line.ends_with("yes"), e.name == "bge-small");
    }
    let mut buf = Vec::new();
    write_models(&mut buf, &ModelsArgs { json: true }, |_| false).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v.as_array().unwrap().len(), REGISTRY.len());
    let nomic = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "nomic-embed-text")
        .unwrap();
    assert_eq!(
        nomic["matryoshka_dims"],
        serde_json::json!([768, 512, 256, 128, 64])
    );
}

#[test]
fn embed_args_parse_into_options() {
    let c = EmbedCli::try_parse_from([
        "embed",
        "--model",
        "coderankembed",
        "--query",
        "--device",
        "cpu",
        "--dtype",
        "f16",
        "--threads",
        "2",
        "--dims",
        "256",
        "--max-tokens",
        "128",
        "--offline",
        "hello",
        "world",
    ])
    .unwrap();
    let o = c.args.options().unwrap();
    assert_eq!(o.device, DeviceRequest::Cpu);
    assert_eq!(o.dtype, Some(cseek::embed::Precision::F16));
    assert_eq!(
        (o.threads, o.matryoshka_dim, o.max_tokens),
        (Some(2), Some(256), Some(128))
    );
    assert!(!o.allow_download && c.args.query);
    assert_eq!(c.args.texts, ["hello", "world"]);
    let bad = EmbedCli::try_parse_from(["embed", "--device", "tpu", "x"]).unwrap();
    assert!(bad.args.options().is_err());
    assert!(
        EmbedCli::try_parse_from(["embed"]).is_err(),
        "texts are required"
    );
    let cuda = EmbedCli::try_parse_from(["embed", "--device", "cuda:1", "x"]).unwrap();
    assert_eq!(cuda.args.options().unwrap().device, DeviceRequest::Cuda(1));
}

#[test]
fn stdin_dash_reads_lines() {
    let mut input = std::io::Cursor::new("first text\n\nsecond text\n");
    let t = read_texts(&["-".to_string()], &mut input).unwrap();
    assert_eq!(t, ["first text", "second text"]);
    let t = read_texts(
        &["-".to_string(), "x".to_string()],
        &mut std::io::Cursor::new(""),
    )
    .unwrap();
    assert_eq!(t, ["-", "x"]);
}

#[test]
fn embed_prints_model_dims_vectors_json() {
    let tmp = tempfile::tempdir().unwrap();
    write_tiny_model(tmp.path(), Arch::Bert, TinySize::tiny(), "").unwrap();
    let c = EmbedCli::try_parse_from([
        "embed",
        "--model",
        "bge-small",
        "--model-dir",
        tmp.path().to_str().unwrap(),
        "--device",
        "cpu",
        "a",
        "sort a list",
    ])
    .unwrap();
    let e = Embedder::load(&c.args.model, &c.args.options().unwrap()).unwrap();
    let mut buf = Vec::new();
    write_embeddings(&mut buf, &e, &c.args.texts, false).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v["model"], "bge-small");
    assert_eq!(v["dims"], 32);
    let vecs = v["vectors"].as_array().unwrap();
    assert_eq!(vecs.len(), 2);
    assert!(vecs.iter().all(|r| r.as_array().unwrap().len() == 32));
    // --query uses the query prefix, so the vector differs.
    let mut qbuf = Vec::new();
    write_embeddings(&mut qbuf, &e, &c.args.texts, true).unwrap();
    let q: serde_json::Value = serde_json::from_slice(&qbuf).unwrap();
    assert_ne!(q["vectors"][1], v["vectors"][1]);
}
