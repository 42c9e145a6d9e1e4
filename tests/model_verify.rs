//! `cseek model verify`: two backends, the same texts, cosine per text and a verdict.
//! (Against a served model — `cseek serve` — see tests/serve.rs.)
#![cfg(feature = "embed")]

use std::path::Path;
use std::process::{Command, Output};

use cseek::embed::testkit::{write_tiny_model, TinySize};
use cseek::embed::Arch;

fn cseek(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cseek"))
        .args(args)
        .env_remove("CSEEK_INDEX")
        .env_remove("CSEEK_ENDPOINT")
        .output()
        .expect("run cseek")
}

fn tiny(dir: &Path, arch: Arch, size: TinySize) -> String {
    write_tiny_model(dir, arch, size, "").unwrap();
    dir.to_str().unwrap().to_string()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

#[test]
fn one_model_two_ways_passes_and_two_models_fail() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bert = tiny(a.path(), Arch::Bert, TinySize::tiny());
    let nomic = tiny(b.path(), Arch::NomicBert, TinySize::tiny());
    let texts = ["fn main() {}", "read a file", "def parse(x): return x"];

    // The same weights loaded twice.
    let mut args = vec![
        "model",
        "verify",
        "--model",
        &bert,
        "--against",
        &bert,
        "--device",
        "cpu",
        "--against-device",
        "cpu",
        "--json",
    ];
    args.extend(texts);
    let o = cseek(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    assert_eq!(v["pass"], true);
    assert_eq!(v["texts"], 3);
    assert!(v["min"].as_f64().unwrap() > 0.9999, "{v}");
    assert_eq!(v["per_text"].as_array().unwrap().len(), 3);

    // Two different models of one size: a low cosine, exit status 1, text verdict.
    let mut args = vec![
        "model",
        "verify",
        "--model",
        &bert,
        "--against",
        &nomic,
        "--device",
        "cpu",
        "--against-device",
        "cpu",
    ];
    args.extend(texts);
    let o = cseek(&args);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("FAIL (threshold 0.99)"), "{out}");

    // ... which a lower threshold lets through only if every cosine reaches it.
    let mut args = vec![
        "model",
        "verify",
        "--model",
        &bert,
        "--against",
        &nomic,
        "--threshold=-1",
        "--json",
    ];
    args.extend(texts);
    let o = cseek(&args);
    assert!(o.status.success());
    assert_eq!(json(&o)["pass"], true);
}

#[test]
fn bad_comparisons_are_clear_errors() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let small = tiny(a.path(), Arch::Bert, TinySize::tiny());
    let wide = tiny(
        b.path(),
        Arch::Bert,
        TinySize {
            hidden: 48,
            heads: 4,
            ..TinySize::tiny()
        },
    );
    let o = cseek(&[
        "model",
        "verify",
        "--model",
        &small,
        "--against",
        &wide,
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("different sizes"));

    let o = cseek(&["model", "verify", "--model", &small, "--against", &small]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no texts to compare"));

    let o = cseek(&[
        "model",
        "verify",
        "--model",
        &small,
        "--against",
        &small,
        "--sample",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--sample N needs --index"));

    let o = cseek(&[
        "model",
        "verify",
        "--model",
        &small,
        "--against",
        &small,
        "--threshold",
        "3",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a cosine"));
}

#[test]
fn sample_compares_on_an_index_s_chunks() {
    let m = tempfile::tempdir().unwrap();
    let model = tiny(m.path(), Arch::Bert, TinySize::tiny());
    let repo = tempfile::tempdir().unwrap();
    for i in 0..6 {
        std::fs::write(
            repo.path().join(format!("m{i}.py")),
            format!("def f{i}(x):\n    return x + {i}\n\n\ndef g{i}():\n    pass\n"),
        )
        .unwrap();
    }
    let o = cseek(&[
        "index",
        "--model",
        "none",
        "-q",
        repo.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let root = repo.path().to_str().unwrap();
    let o = cseek(&[
        "model",
        "verify",
        "--index",
        root,
        "--sample",
        "5",
        "--model",
        &model,
        "--against",
        &model,
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    assert_eq!(v["texts"], 5);
    // Spread over the index: the previews name different functions.
    let previews: std::collections::BTreeSet<String> = v["per_text"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(previews.len(), 5, "{v}");
}
