//! `cseek serve` end to end: the built binary on a free loopback port, driven over HTTP.
//!
//! - Both protocols (OpenAI `/v1/embeddings`, float and base64; Ollama `/api/embed` and
//!   `/api/embeddings`) return the vectors `cseek embed` gives for the same texts, on the
//!   real all-MiniLM-L6-v2 (found as tests/embed_minilm.rs finds it; skipped with a banner
//!   when absent, a failure under `CSEEK_REQUIRE_MINILM=1`, as in CI) and on tiny random
//!   models, which also prove that the server adds no prefix and that `dimensions`
//!   follows the model's Matryoshka rules.
//! - Every failure is a JSON error in its API's shape with the right status, and leaves
//!   the server serving; a full queue is a 503 with `Retry-After`; Ctrl-C stops the
//!   server with exit status 0.
//! - The official Python clients (`openai`, `ollama`; `tests/serve/client.py`, venv from
//!   `bash tests/serve/setup.sh`) get the same vectors.
//! - cseek's own remote client (`--model openai:NAME` / `ollama:NAME`): `cseek model verify`
//!   passes against the local model, and an index built through the server holds the
//!   local index's vectors and ranks the fixture suite identically.

// Needs the embedding engine: a lexical-only build (`--no-default-features`) skips it.
#![cfg(feature = "embed")]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::BIN;

/// Generous: a loaded CI machine and a debug build (loading MiniLM, embedding a batch).
const DEADLINE: Duration = Duration::from_secs(120);

/// A running `cseek serve`; killed if a test fails before stopping it.
struct Served {
    child: Child,
    base: String,
    stderr: Receiver<String>,
    ready_line: String,
    /// What it printed before the ready line.
    preamble: String,
}

impl Served {
    /// Starts `cseek serve ARGS --addr 127.0.0.1:0` and waits for its ready line.
    fn start(args: &[&str]) -> Self {
        Self::start_at("127.0.0.1:0", args)
    }

    fn start_at(addr: &str, args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(["--device", "cpu", "--offline", "--addr", addr])
            .args(args)
            .env_remove("CSEEK_INDEX")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cseek serve");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let start = Instant::now();
        let mut seen = Vec::new();
        loop {
            let left = DEADLINE.saturating_sub(start.elapsed());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("cseek serve: ready on http://") {
                        let addr = rest.split_whitespace().next().unwrap_or_default();
                        return Self {
                            child,
                            base: format!("http://{addr}"),
                            stderr: rx,
                            ready_line: line.clone(),
                            preamble: seen.join("\n"),
                        };
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "cseek serve {args:?} never got ready; stderr:\n{}",
                        seen.join("\n")
                    );
                }
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn post(&self, path: &str, body: &Value) -> Reply {
        post_raw(&self.url(path), &body.to_string())
    }

    fn get(&self, path: &str) -> Reply {
        reply(ureq::get(&self.url(path)).call())
    }

    fn interrupt(&self) {
        let ok = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -INT failed");
    }

    /// Waits for the process to end (a deadline, not a sleep: it returns as soon as it
    /// has), then returns its status and what it printed after the ready line.
    fn wait_exit(&mut self) -> (ExitStatus, String) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                let rest: Vec<String> = self.stderr.try_iter().collect();
                return (status, rest.join("\n"));
            }
            assert!(start.elapsed() < DEADLINE, "cseek serve did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Ctrl-C, then: exit status 0 and the stop message.
    fn stop_cleanly(mut self) {
        self.interrupt();
        let (status, rest) = self.wait_exit();
        assert!(status.success(), "cseek serve exited with {status}: {rest}");
        assert!(rest.contains("cseek serve: stopped"), "{rest}");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An answer: status, JSON body (`Null` when not JSON), `Retry-After`.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: Value,
    retry_after: Option<String>,
}

fn reply(r: Result<ureq::Response, ureq::Error>) -> Reply {
    let response = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("HTTP transport error: {e}"),
    };
    let status = response.status();
    let retry_after = response.header("retry-after").map(str::to_string);
    let text = response.into_string().expect("read body");
    Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        retry_after,
    }
}

fn post_raw(url: &str, body: &str) -> Reply {
    reply(
        ureq::post(url)
            .set("Content-Type", "application/json")
            .send_string(body),
    )
}

/// `cseek embed ARGS TEXTS…` → its vectors (documents: with the model's document prefix).
fn cseek_embed(args: &[&str], texts: &[&str]) -> Vec<Vec<f64>> {
    let out = Command::new(BIN)
        .arg("embed")
        .args(["--device", "cpu", "--offline"])
        .args(args)
        .arg("--")
        .args(texts)
        .output()
        .expect("run cseek embed");
    assert!(
        out.status.success(),
        "cseek embed failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("cseek embed prints JSON");
    matrix(&v["vectors"])
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array of vectors: {v}"))
        .iter()
        .map(vector)
        .collect()
}

fn vector(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a vector: {v}"))
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "dimensions differ");
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn assert_same(what: &str, got: &[Vec<f64>], want: &[Vec<f64>]) {
    assert_eq!(got.len(), want.len(), "{what}: number of vectors");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let c = cosine(g, w);
        assert!(
            c > 0.9999,
            "{what}: vector {i} has cosine {c} to cseek embed's"
        );
    }
}

/// Little-endian f32s from OpenAI's base64 encoding.
fn decode_base64(s: &str) -> Vec<f64> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("valid base64");
    assert_eq!(bytes.len() % 4, 0, "whole f32s");
    bytes
        .chunks_exact(4)
        .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect()
}

fn openai_vectors(r: &Reply) -> Vec<Vec<f64>> {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["object"], "list");
    let data = r.body["data"].as_array().expect("data");
    for (i, d) in data.iter().enumerate() {
        assert_eq!(
            (d["object"].as_str(), d["index"].as_u64()),
            (Some("embedding"), Some(i as u64))
        );
    }
    data.iter()
        .map(|d| match &d["embedding"] {
            Value::String(s) => decode_base64(s),
            v => vector(v),
        })
        .collect()
}

/// all-MiniLM-L6-v2, where tests/embed_minilm.rs looks for it.
fn minilm() -> Option<PathBuf> {
    let dir = std::env::var_os("CSEEK_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/models/all-MiniLM-L6-v2")
        });
    if dir.join("model.safetensors").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CSEEK_REQUIRE_MINILM").is_none(),
        "CSEEK_REQUIRE_MINILM is set but {} is missing",
        dir.display()
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n================ SKIPPED: cseek serve with MiniLM ================\n\
         {} is missing. Fetch it: bash tests/fetch-minilm.sh target/models/all-MiniLM-L6-v2\n\
         (or set CSEEK_MINILM_DIR)\n\
         ==================================================================\n",
        dir.display()
    );
    None
}

fn tiny_model(dir: &Path, arch: cseek::embed::Arch, size: cseek::embed::testkit::TinySize) {
    cseek::embed::testkit::write_tiny_model(dir, arch, size, "").expect("write a tiny model");
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// MiniLM when present, else a tiny random BERT written under `scratch`.
fn minilm_or_tiny(scratch: &Path) -> PathBuf {
    minilm().unwrap_or_else(|| {
        let dir = scratch.join("tiny");
        tiny_model(
            &dir,
            cseek::embed::Arch::Bert,
            cseek::embed::testkit::TinySize::tiny(),
        );
        dir
    })
}

/// A model directory's name: the name `cseek serve` serves it under.
fn dir_name(dir: &Path) -> &str {
    dir.file_name()
        .and_then(|n| n.to_str())
        .expect("a directory name")
}

const TEXTS: &[&str] = &[
    "def parse_config(path):\n    return open(path).read()",
    "read a file",
    "héllo wörld ✓ — unicode survives the trip",
];

#[test]
fn minilm_over_both_protocols_matches_cseek_embed() {
    let Some(dir) = minilm() else {
        return;
    };
    // minilm has no document prefix, so `cseek embed` (documents) embeds the texts as
    // they are, like the server: like is compared with like.
    let entry = cseek::embed::registry::lookup("minilm").expect("registry entry");
    assert_eq!(entry.document_prefix, "");
    let load = ["--model", "minilm", "--model-dir", s(&dir)];
    let want = cseek_embed(&load, TEXTS);
    let served = Served::start(&load);
    assert!(
        served.ready_line.contains("model minilm, 384 dims"),
        "{}",
        served.ready_line
    );

    let float = served.post(
        "/v1/embeddings",
        &json!({"model": "minilm", "input": TEXTS, "encoding_format": "float"}),
    );
    assert_same("openai float", &openai_vectors(&float), &want);
    assert_eq!(float.body["model"], "minilm");
    let tokens = float.body["usage"]["prompt_tokens"]
        .as_u64()
        .expect("usage");
    assert!(tokens > 10, "{}", float.body["usage"]);
    assert_eq!(float.body["usage"]["total_tokens"].as_u64(), Some(tokens));

    // base64 is the same floats, bit for bit.
    let b64 = served.post(
        "/v1/embeddings",
        &json!({"model": "sentence-transformers/all-MiniLM-L6-v2", "input": TEXTS,
                "encoding_format": "base64"}),
    );
    assert!(b64.body["data"][0]["embedding"].is_string(), "{}", b64.body);
    // (JSON numbers are the shortest decimals that read back as the same f32.)
    let f32s = |m: Vec<Vec<f64>>| -> Vec<Vec<f32>> {
        m.into_iter()
            .map(|v| v.into_iter().map(|x| x as f32).collect())
            .collect()
    };
    assert!(
        f32s(openai_vectors(&b64)) == f32s(openai_vectors(&float)),
        "base64 and float encodings differ"
    );

    let one = served.post(
        "/v1/embeddings",
        &json!({"model": "MiniLM", "input": TEXTS[1]}),
    );
    assert_same("openai one string", &openai_vectors(&one), &want[1..2]);

    let ollama = served.post(
        "/api/embed",
        &json!({"model": "all-MiniLM-L6-v2:latest", "input": TEXTS, "keep_alive": "5m",
                "options": {"temperature": 0}}),
    );
    assert_eq!(ollama.status, 200, "{}", ollama.body);
    assert_same("ollama embed", &matrix(&ollama.body["embeddings"]), &want);
    assert_eq!(ollama.body["model"], "minilm");
    assert_eq!(ollama.body["prompt_eval_count"].as_u64(), Some(tokens));
    assert_eq!(ollama.body["load_duration"], 0);
    assert!(ollama.body["total_duration"]
        .as_u64()
        .is_some_and(|ns| ns > 0));

    let legacy = served.post(
        "/api/embeddings",
        &json!({"model": "minilm", "prompt": TEXTS[0]}),
    );
    assert_eq!(legacy.status, 200, "{}", legacy.body);
    assert_same(
        "ollama legacy",
        &[vector(&legacy.body["embedding"])],
        &want[..1],
    );

    // MiniLM was not trained for Matryoshka truncation.
    let dims = served.post(
        "/v1/embeddings",
        &json!({"model": "minilm", "input": "x", "dimensions": 128}),
    );
    assert_eq!(dims.status, 400, "{}", dims.body);
    assert!(dims.body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("Matryoshka")));

    let health = served.get("/health");
    assert_eq!(health.status, 200);
    assert_eq!(
        (
            &health.body["status"],
            &health.body["model"],
            &health.body["dims"]
        ),
        (&json!("ok"), &json!("minilm"), &json!(384))
    );
    served.stop_cleanly();
}

/// A tiny NomicBERT served as `nomic-embed-text`: a document prefix and Matryoshka
/// dimensions (768, 512, 256, 128, 64; this replica is 128 wide).
#[test]
fn no_prefix_is_added_and_dimensions_follow_the_model() {
    use cseek::embed::{testkit::TinySize, Arch};
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("tiny-nomic");
    let size = TinySize {
        hidden: 128,
        intermediate: 256,
        ..TinySize::tiny()
    };
    tiny_model(&dir, Arch::NomicBert, size);
    let load = ["--model", "nomic-embed-text", "--model-dir", s(&dir)];
    let texts = ["sort a list in python", "read the config file"];
    let prefixed: Vec<String> = texts
        .iter()
        .map(|t| format!("search_document: {t}"))
        .collect();
    let docs = cseek_embed(&load, &texts); // cseek embed adds the document prefix
    let docs64 = cseek_embed(&[&load[..], &["--dims", "64"]].concat(), &texts);
    let served = Served::start(&[&load[..], &["--name", "tiny"]].concat());

    // The client's own prefix gives cseek embed's document vectors; without it they differ.
    let with = served.post(
        "/v1/embeddings",
        &json!({"model": "tiny", "input": prefixed}),
    );
    assert_same("client-prefixed", &openai_vectors(&with), &docs);
    assert_eq!(with.body["model"], "tiny", "answers use --name");
    let raw = served.post("/v1/embeddings", &json!({"model": "tiny", "input": texts}));
    let c = cosine(&openai_vectors(&raw)[0], &docs[0]);
    assert!(
        c < 0.9999,
        "the server added the document prefix itself (cosine {c})"
    );

    // dimensions: Nomic's recipe (layer norm, truncate, normalise), as `--dims` does.
    for (path, name) in [
        ("/v1/embeddings", "nomic-embed-text"),
        ("/api/embed", "tiny-nomic"),
    ] {
        let r = served.post(
            path,
            &json!({"model": name, "input": prefixed, "dimensions": 64}),
        );
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let got = if path == "/api/embed" {
            matrix(&r.body["embeddings"])
        } else {
            openai_vectors(&r)
        };
        assert!(got.iter().all(|v| v.len() == 64));
        assert_same(path, &got, &docs64);
        let norm = got[0].iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{path}: norm {norm}");
    }
    for bad in [100, 0, 256] {
        let r = served.post(
            "/v1/embeddings",
            &json!({"model": "tiny", "input": "x", "dimensions": bad}),
        );
        assert_eq!(r.status, 400, "dimensions {bad}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "dimensions_unsupported");
        let r = served.post(
            "/api/embed",
            &json!({"model": "tiny", "input": "x", "dimensions": bad}),
        );
        assert_eq!(r.status, 400, "dimensions {bad}: {}", r.body);
        assert!(
            r.body["error"].is_string(),
            "Ollama's error shape: {}",
            r.body
        );
    }
    let r = served.post(
        "/v1/embeddings",
        &json!({"model": "tiny", "input": "x", "dimensions": 100}),
    );
    let message = r.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("128, 64"),
        "names the dimensions allowed: {message}"
    );

    // Every name of the model is accepted, and listed as --name.
    for name in [
        "tiny",
        "TINY:latest",
        "nomic-embed-text",
        "nomic-ai/nomic-embed-text-v1.5",
        "tiny-nomic",
    ] {
        let r = served.post("/api/embed", &json!({"model": name, "input": "x"}));
        assert_eq!(r.status, 200, "{name}: {}", r.body);
    }
    let models = served.get("/v1/models");
    assert_eq!(
        models.body,
        json!({"object": "list", "data": [{"id": "tiny", "object": "model", "owned_by": "cseek",
               "created": models.body["data"][0]["created"]}]})
    );
    assert_eq!(
        served.get("/v1/models/nomic-ai/nomic-embed-text-v1.5").body["id"],
        "tiny"
    );
    let tags = served.get("/api/tags");
    assert_eq!(tags.body["models"][0]["name"], "tiny");
    assert_eq!(tags.body["models"][0]["details"]["family"], "nomic-bert");
    assert_eq!(
        served.get("/api/version").body["version"],
        env!("CARGO_PKG_VERSION")
    );
    served.stop_cleanly();
}

/// A tiny model whose directory has no registry entry: any `dimensions` up to its width.
#[test]
fn a_local_model_truncates_to_any_dimension() {
    use cseek::embed::{testkit::TinySize, Arch};
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("my-model");
    tiny_model(&dir, Arch::Bert, TinySize::tiny());
    let want = cseek_embed(&["--model", s(&dir), "--dims", "7"], TEXTS);
    let served = Served::start(&["--model", s(&dir)]);
    assert!(
        served.ready_line.contains("model my-model, 32 dims"),
        "{}",
        served.ready_line
    );
    let r = served.post(
        "/v1/embeddings",
        &json!({"model": "my-model", "input": TEXTS, "dimensions": 7}),
    );
    assert_same("dimensions 7", &openai_vectors(&r), &want);
    let r = served.post(
        "/v1/embeddings",
        &json!({"model": s(&dir), "input": TEXTS, "dimensions": 33}),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    served.stop_cleanly();
}

#[test]
fn every_failure_is_a_json_error_in_its_apis_shape() {
    use cseek::embed::{testkit::TinySize, Arch};
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("tiny");
    tiny_model(&dir, Arch::Bert, TinySize::tiny());
    let served = Served::start(&[
        "--model",
        s(&dir),
        "--max-request-bytes",
        "4K",
        "--max-inputs",
        "3",
    ]);
    let openai = |body: &str| post_raw(&served.url("/v1/embeddings"), body);
    let ollama = |body: &str| post_raw(&served.url("/api/embed"), body);
    let check = |r: Reply, status: u16, code: &str, fragment: &str| {
        assert_eq!(r.status, status, "{}", r.body);
        let e = &r.body["error"];
        let message = match e {
            Value::String(m) => m.clone(),
            _ => {
                assert_eq!(e["code"], code, "{}", r.body);
                let kind = if status >= 500 {
                    "server_error"
                } else {
                    "invalid_request_error"
                };
                assert_eq!(e["type"], kind, "{}", r.body);
                e["message"].as_str().expect("a message").to_string()
            }
        };
        assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
    };

    // Another model: 404, saying which one is served.
    let wrong = r#"{"model": "gpt-4", "input": "x"}"#;
    check(
        openai(wrong),
        404,
        "model_not_found",
        "this server serves `tiny`",
    );
    check(ollama(wrong), 404, "", "model `gpt-4` is not served here");
    check(
        post_raw(
            &served.url("/api/embeddings"),
            r#"{"model": "x", "prompt": "y"}"#,
        ),
        404,
        "",
        "serves `tiny`",
    );
    // Not JSON; JSON of the wrong shape.
    check(
        openai(r#"{"model": "tiny", "input": "#),
        400,
        "invalid_request_body",
        "not valid JSON",
    );
    check(ollama("input=x"), 400, "", "not valid JSON");
    check(
        openai(r#"{"input": "x"}"#),
        400,
        "invalid_request_body",
        "missing field `model`",
    );
    check(
        openai(r#"{"model": 3, "input": "x"}"#),
        400,
        "invalid_request_body",
        "invalid type",
    );
    check(
        openai(r#"{"model": "tiny", "input": 5}"#),
        400,
        "invalid_input",
        "`input` is a number",
    );
    check(
        ollama(r#"{"model": "tiny", "input": ["a", null]}"#),
        400,
        "",
        "`input[1]` is null",
    );
    check(
        openai(r#"{"model": "tiny", "input": []}"#),
        400,
        "invalid_input",
        "empty",
    );
    check(
        openai(r#"{"model": "tiny", "input": "x", "encoding_format": "hex"}"#),
        400,
        "invalid_encoding_format",
        "\"hex\"",
    );
    // Token ids.
    for ids in ["[1, 2, 3]", "[[1, 2], [3]]"] {
        let body = format!(r#"{{"model": "tiny", "input": {ids}}}"#);
        check(openai(&body), 400, "token_ids_unsupported", "token ids");
        check(ollama(&body), 400, "", "token ids");
    }
    // Limits: body size (4 KiB) and inputs (3).
    let big = json!({"model": "tiny", "input": "word ".repeat(2000)}).to_string();
    check(
        openai(&big),
        413,
        "request_too_large",
        "--max-request-bytes",
    );
    check(ollama(&big), 413, "", "over 4096 bytes");
    let four = r#"{"model": "tiny", "input": ["a", "b", "c", "d"]}"#;
    check(openai(four), 413, "too_many_inputs", "at most 3");
    check(ollama(four), 413, "", "4 inputs");
    // Ollama with truncate: false refuses a text the model would cut.
    let long = json!({"model": "tiny", "input": "sort ".repeat(200), "truncate": false});
    check(ollama(&long.to_string()), 400, "", "`truncate` is false");
    // Routes and methods.
    check(
        served.get("/v1/embedding"),
        404,
        "not_found",
        "POST /v1/embeddings",
    );
    check(served.get("/api/nope"), 404, "", "no route /api/nope");
    check(
        served.get("/v1/embeddings"),
        405,
        "method_not_allowed",
        "/v1/embeddings",
    );
    check(
        served.get("/v1/models/gpt-4"),
        404,
        "model_not_found",
        "serves `tiny`",
    );

    // After all that, the server still serves (nothing panicked, no lock poisoned).
    let r = served.post(
        "/v1/embeddings",
        &json!({"model": "tiny", "input": ["a", "b", "c"]}),
    );
    assert_eq!(openai_vectors(&r).len(), 3);
    let r = served.post(
        "/api/embed",
        &json!({"model": "tiny", "input": "sort ".repeat(200)}),
    );
    assert_eq!(r.status, 200, "truncated by default: {}", r.body);
    assert_eq!(served.get("/health").status, 200);
    served.stop_cleanly();
}

/// `--queue 1`: one request embedding, one waiting, the next refused with 503 and
/// `Retry-After`. The first request is large on a slow (wide) model and the server
/// embeds it in small slices, so it is still running when the third request comes (the
/// test watches `/health` to know when each request has been taken or queued, instead
/// of sleeping); Ctrl-C then stops the server within one slice, answering both 503.
#[test]
fn a_full_queue_answers_503_and_ctrl_c_stops_the_work() {
    use cseek::embed::{testkit::TinySize, Arch};
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("wide");
    let size = TinySize {
        hidden: 256,
        layers: 4,
        heads: 4,
        intermediate: 1024,
        positions: 128,
        ..TinySize::tiny()
    };
    tiny_model(&dir, Arch::Bert, size);
    let mut served = Served::start(&[
        "--model",
        s(&dir),
        "--queue",
        "1",
        "--max-batch-tokens",
        "128",
        "--max-inputs",
        "100000",
        "--max-request-bytes",
        "64M",
    ]);
    let health = |s: &Served| s.get("/health").body["queue"].clone();
    // Polls /health (a state to reach, with a deadline; no fixed sleeps).
    let wait_until = |s: &Served, what: &str, ok: &dyn Fn(&Value) -> bool| {
        let start = Instant::now();
        loop {
            let q = health(s);
            if ok(&q) {
                return;
            }
            assert!(start.elapsed() < DEADLINE, "never {what}: {q}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    // 2,000 texts of 114 tokens: most of an hour for this model in a debug build
    // (measured: 68 tokens/s), still many seconds in a release build; one text per
    // model call (--max-batch-tokens 128), so a stop waits for one text only.
    let line = "fn parse the config file and read it , sort the list in python ".repeat(8);
    let huge = json!({"model": "wide", "input": vec![line; 2_000]}).to_string();
    let url = served.url("/v1/embeddings");
    let a = std::thread::spawn(move || post_raw(&url, &huge));
    wait_until(&served, "took the large request", &|q| q["embedding"] == 1);
    let url = served.url("/api/embed");
    let b = std::thread::spawn(move || post_raw(&url, r#"{"model": "wide", "input": "x"}"#));
    wait_until(&served, "queued the second request", &|q| q["waiting"] == 1);

    for (path, openai) in [("/v1/embeddings", true), ("/api/embed", false)] {
        let r = served.post(path, &json!({"model": "wide", "input": "x"}));
        assert_eq!(r.status, 503, "{path}: {}", r.body);
        assert_eq!(r.retry_after.as_deref(), Some("1"), "{path}");
        let message = if openai {
            assert_eq!(r.body["error"]["code"], "queue_full");
            &r.body["error"]["message"]
        } else {
            &r.body["error"]
        };
        assert!(
            message.as_str().is_some_and(|m| m.contains("busy")),
            "{}",
            r.body
        );
    }
    assert_eq!(
        health(&served),
        json!({"waiting": 1, "embedding": 1, "capacity": 1, "requests": 1, "rounds": 1})
    );

    served.interrupt();
    let (status, rest) = served.wait_exit();
    assert!(status.success(), "exit {status}: {rest}");
    for (name, r) in [
        ("large", a.join().expect("client A")),
        ("queued", b.join().expect("client B")),
    ] {
        assert_eq!(r.status, 503, "{name}: {}", r.body);
        let text = r.body.to_string();
        assert!(text.contains("shutting down"), "{name}: {text}");
    }
}

#[test]
fn a_non_loopback_address_is_served_with_a_warning() {
    use cseek::embed::{testkit::TinySize, Arch};
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("tiny");
    tiny_model(&dir, Arch::Bert, TinySize::tiny());
    let served = Served::start_at("0.0.0.0:0", &["--model", s(&dir)]);
    assert!(
        served.ready_line.contains("0.0.0.0:"),
        "{}",
        served.ready_line
    );
    assert!(
        served.preamble.contains("not loopback") && served.preamble.contains("no authentication"),
        "{}",
        served.preamble
    );
    served.stop_cleanly();
    let out = Command::new(BIN)
        .args(["serve", "--model", s(&dir), "--queue", "0"])
        .output()
        .expect("run cseek serve");
    assert!(!out.status.success(), "--queue 0 is refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--queue"));
}

#[test]
fn a_model_that_cannot_load_is_one_clear_error() {
    let out = Command::new(BIN)
        .args([
            "serve",
            "--model",
            "/no/such/model",
            "--offline",
            "--addr",
            "127.0.0.1:0",
        ])
        .output()
        .expect("run cseek serve");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loading model `/no/such/model`"), "{err}");
    // A model on another server is not something to serve again (and no connection is
    // tried: nothing listens there).
    let out = Command::new(BIN)
        .args([
            "serve",
            "--model",
            "ollama:nomic-embed-text",
            "--addr",
            "127.0.0.1:0",
        ])
        .args(["--endpoint", "http://127.0.0.1:9"])
        .output()
        .expect("run cseek serve");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is a model on another server"), "{err}");
}

/// The official `openai` and `ollama` Python clients against a running server
/// (`tests/serve/client.py` starts it), compared with `cseek embed`. MiniLM when
/// present, else a tiny model: the protocol is what is checked here.
#[test]
fn official_python_clients_get_cseek_embeds_vectors() {
    use cseek::embed::{testkit::TinySize, Arch};
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = match minilm() {
        Some(dir) => dir,
        None => {
            let dir = tmp.path().join("tiny");
            tiny_model(&dir, Arch::Bert, TinySize::tiny());
            dir
        }
    };
    let Some(stdout) = common::run_python_client(
        "openai/ollama",
        "CSEEK_SERVE_PYTHON",
        "target/serve-venv",
        "tests/serve/setup.sh",
        "tests/serve/client.py",
        &model,
    ) else {
        return;
    };
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .expect("the client prints its vectors as JSON");
    let got: Value = serde_json::from_str(line).expect("JSON");
    let texts: Vec<&str> = got["texts"]
        .as_array()
        .expect("texts")
        .iter()
        .map(|t| t.as_str().expect("a text"))
        .collect();
    let want = cseek_embed(&["--model", s(&model)], &texts);
    for key in ["openai_default", "openai_float", "ollama_embed"] {
        assert_same(key, &matrix(&got[key]), &want);
    }
    assert_same(
        "ollama_embeddings",
        &[vector(&got["ollama_embeddings"])],
        &want[..1],
    );
}

/// cseek's own remote-model client (`openai:NAME`, `ollama:NAME`) against the server:
/// `cseek model verify` passes against the model run locally, and `cseek embed` through
/// the server gives the local vectors. MiniLM when present, else a tiny model.
#[test]
fn cseeks_remote_client_gets_the_local_models_vectors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = minilm_or_tiny(tmp.path());
    let name = dir_name(&model);
    let served = Served::start(&["--model", s(&model)]);
    let openai = served.url("/v1");
    for (spec, endpoint) in [
        (format!("openai:{name}"), openai.as_str()),
        (format!("ollama:{name}"), served.base.as_str()),
    ] {
        let out = Command::new(BIN)
            .args(["model", "verify", "--model", s(&model), "--device", "cpu"])
            .args(["--against", &spec, "--against-endpoint", endpoint])
            .args(["--offline", "--json", "--"])
            .args(TEXTS)
            .env_remove("CSEEK_ENDPOINT")
            .output()
            .expect("run cseek model verify");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{spec}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_str(stdout.trim()).expect("JSON report");
        assert_eq!(report["pass"], true, "{report}");
        assert!(
            report["min"].as_f64().is_some_and(|m| m > 0.9999),
            "{report}"
        );
        assert_eq!(report["texts"], TEXTS.len());
    }
    let remote = cseek_embed(
        &["--model", &format!("openai:{name}"), "--endpoint", &openai],
        TEXTS,
    );
    assert_same(
        "cseek embed openai:",
        &remote,
        &cseek_embed(&["--model", s(&model)], TEXTS),
    );
    served.stop_cleanly();
}

/// Copies a directory tree (the fixture suite's corpus into a scratch directory).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// The one index under an eval cache directory, with its vectors.
fn cached_index_vectors(cache: &Path) -> Vec<Vec<f32>> {
    let repo = cache.join("repos/demo");
    let index = std::fs::read_dir(&repo)
        .expect("cached repo")
        .filter_map(Result::ok)
        .map(|e| e.path().join("index"))
        .find(|p| p.is_dir())
        .expect("a cached index");
    let store = cseek::store::Store::open(&index).expect("open the index");
    let vectors =
        cseek::vector::VectorIndex::open(&store.generation_dir().join(cseek::store::VECTORS_DIR))
            .expect("open its vectors");
    (0..vectors.len() as u32)
        .map(|id| vectors.vector(id).expect("a vector per chunk"))
        .collect()
}

#[test]
fn an_index_built_through_cseek_serve_equals_the_local_one() {
    // The fixture suite (tests/fixtures/eval/mini) indexed and scored three ways: with the
    // local model, and through `cseek serve` over each protocol. The vectors must agree
    // chunk by chunk and the suite must rank identically.
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = minilm_or_tiny(tmp.path());
    let name = dir_name(&model);
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval/mini");
    let corpus = tmp.path().join("corpus");
    copy_tree(&suite.join("corpus"), &corpus);
    let served = Served::start(&["--model", s(&model)]);
    let openai = served.url("/v1");
    let runs = [
        ("local", s(&model).to_string(), None),
        ("openai", format!("openai:{name}"), Some(openai.as_str())),
        (
            "ollama",
            format!("ollama:{name}"),
            Some(served.base.as_str()),
        ),
    ];
    let mut results = Vec::new();
    for (label, spec, endpoint) in runs {
        let cache = tmp.path().join(format!("cache-{label}"));
        let out_file = tmp.path().join(format!("{label}.jsonl"));
        let mut cmd = Command::new(BIN);
        cmd.args([
            "eval",
            "repos",
            "--suite",
            s(&suite),
            "--repos-file",
            "repos.json",
        ])
        .args([
            "--corpus",
            s(&corpus),
            "--model",
            &spec,
            "--mode",
            "semantic",
        ])
        .args(["--cache", s(&cache), "--results-out", s(&out_file)])
        .env_remove("CSEEK_INDEX")
        .env_remove("CSEEK_ENDPOINT");
        if let Some(e) = endpoint {
            cmd.args(["--endpoint", e]);
        }
        let out = cmd.output().expect("run cseek eval");
        assert!(
            out.status.success(),
            "{label}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<Value> = std::fs::read_to_string(&out_file)
            .expect("results file")
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect();
        assert_eq!(lines.len(), 3, "{label}: three queries");
        results.push((label, lines, cached_index_vectors(&cache)));
    }
    let (_, local, local_vectors) = &results[0];
    assert!(!local_vectors.is_empty());
    for (label, lines, vectors) in &results[1..] {
        assert_eq!(vectors.len(), local_vectors.len(), "{label}: chunks");
        for (i, (a, b)) in vectors.iter().zip(local_vectors).enumerate() {
            let a: Vec<f64> = a.iter().map(|&x| f64::from(x)).collect();
            let b: Vec<f64> = b.iter().map(|&x| f64::from(x)).collect();
            assert!(cosine(&a, &b) > 0.9999, "{label}: chunk {i}");
        }
        for (got, want) in lines.iter().zip(local) {
            let hits = |l: &Value| -> Vec<(String, u64, u64)> {
                l["results"]
                    .as_array()
                    .expect("results")
                    .iter()
                    .map(|r| {
                        (
                            r["path"].as_str().unwrap_or_default().to_string(),
                            r["start_line"].as_u64().unwrap_or(0),
                            r["end_line"].as_u64().unwrap_or(0),
                        )
                    })
                    .collect()
            };
            assert_eq!(hits(got), hits(want), "{label}: {}", want["query"]);
        }
    }
    served.stop_cleanly();
}
