//! The remote embedders (`ollama:NAME`, `openai:NAME`) against a scripted HTTP server on
//! loopback: what the client sends, how it reads both protocols' answers, and how it
//! fails — server down, too slow, 429 then success, 5xx to the end, wrong dimensions,
//! malformed JSON, oversized requests. (Real servers — `cseek serve` and the Python
//! clients of both protocols — are exercised in tests/serve.rs.)
#![cfg(feature = "embed")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cseek::embed::remote::{ApiKey, RemoteOptions};
use cseek::embed::{EmbedOptions, Embedder};
use cseek::index::{build_index, IndexOptions, ModelChoice, NoProgress};
use cseek::search::{Mode, SearchOptions, SearchRequest, Searcher};
use serde_json::{json, Value};

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: Option<String>,
    body: Value,
}

/// What the script answers: status, extra headers, body.
type Answer = (u16, Vec<(&'static str, String)>, String);

/// A loopback HTTP/1.1 server answering each request with `script(n, request)`, where `n`
/// counts requests from 0. One connection per request (`Connection: close`).
struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn start(script: impl Fn(usize, &Seen) -> Answer + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (seen2, script) = (seen.clone(), Arc::new(script));
        let count = Arc::new(AtomicUsize::new(0));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (seen, script, count) = (seen2.clone(), script.clone(), count.clone());
                std::thread::spawn(move || serve_one(stream, &seen, &*script, &count));
            }
        });
        Server { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve_one(
    stream: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    script: &(dyn Fn(usize, &Seen) -> Answer + Send + Sync),
    count: &AtomicUsize,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let (mut length, mut authorization) = (0usize, None);
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        let (name, value) = h.split_once(':').unwrap_or((&h, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "authorization" => authorization = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    let req = Seen {
        path,
        authorization,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    seen.lock().unwrap().push(req.clone());
    let n = count.fetch_add(1, Ordering::SeqCst);
    let (status, headers, body) = script(n, &req);
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(body.as_bytes());
}

/// A deterministic 6-dim vector per text (not normalised: the client normalises).
fn vector_of(text: &str) -> Vec<f32> {
    let h = blake3::hash(text.as_bytes());
    h.as_bytes()[..6]
        .iter()
        .map(|&b| f32::from(b) + 1.0)
        .collect()
}

fn inputs(req: &Seen) -> Vec<String> {
    match &req.body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
        _ => Vec::new(),
    }
}

fn ollama_answer(req: &Seen) -> Answer {
    let v: Vec<Vec<f32>> = inputs(req).iter().map(|t| vector_of(t)).collect();
    (
        200,
        vec![],
        json!({"model": req.body["model"], "embeddings": v}).to_string(),
    )
}

/// OpenAI-style, items deliberately in reverse order (they carry their index).
fn openai_answer(req: &Seen) -> Answer {
    let data: Vec<Value> = inputs(req)
        .iter()
        .enumerate()
        .rev()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": vector_of(t)}))
        .collect();
    (
        200,
        vec![],
        json!({"object": "list", "data": data, "model": req.body["model"]}).to_string(),
    )
}

fn options(url: &str) -> EmbedOptions {
    EmbedOptions {
        remote: RemoteOptions {
            endpoint: Some(url.to_string()),
            timeout: Duration::from_secs(10),
            ..RemoteOptions::default()
        },
        ..EmbedOptions::default()
    }
}

fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn texts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("fn f{i}() {{ {i} }}")).collect()
}

#[test]
fn ollama_batches_in_order_and_normalises() {
    let server = Server::start(|_, req| ollama_answer(req));
    let mut opts = options(&server.url);
    opts.remote.batch_size = 3;
    let e = Embedder::load("ollama:fake-embed", &opts).expect("load");
    assert_eq!(e.dims(), 6);
    assert_eq!(e.info().endpoint.as_deref(), Some(server.url.as_str()));
    let t = texts(10);
    let refs: Vec<&str> = t.iter().map(String::as_str).collect();
    let got = e.embed_documents(&refs).expect("embed");
    assert_eq!(got.len(), 10);
    for (text, v) in t.iter().zip(&got) {
        let want = normalised(vector_of(text));
        assert!(
            v.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-6),
            "{text}"
        );
    }
    let seen = server.seen();
    // One probe, then 10 texts in batches of 3 (concurrently, so in any order).
    assert_eq!(seen.len(), 1 + 4);
    assert!(seen
        .iter()
        .all(|s| s.path == "/api/embed" && s.body["model"] == "fake-embed"));
    let mut sizes: Vec<usize> = seen[1..].iter().map(|s| inputs(s).len()).collect();
    sizes.sort();
    assert_eq!(sizes, [1, 3, 3, 3]);
    assert!(seen.iter().all(|s| s.authorization.is_none()));
}

#[test]
fn openai_reorders_by_index_and_sends_the_key() {
    let server = Server::start(|_, req| openai_answer(req));
    let mut opts = options(&format!("{}/v1/", server.url));
    opts.remote.api_key = ApiKey::new("sk-test-123");
    assert!(
        !format!("{opts:?}").contains("sk-test-123"),
        "the key leaks into Debug"
    );
    let e = Embedder::load("openai:fake-embed", &opts).expect("load");
    let t = texts(5);
    let refs: Vec<&str> = t.iter().map(String::as_str).collect();
    let got = e.embed_queries(&refs).expect("embed");
    for (text, v) in t.iter().zip(&got) {
        assert!(v
            .iter()
            .zip(&normalised(vector_of(text)))
            .all(|(a, b)| (a - b).abs() < 1e-6));
    }
    let seen = server.seen();
    assert!(seen.iter().all(|s| s.path == "/v1/embeddings"));
    assert!(seen.iter().all(|s| s.body["encoding_format"] == "float"));
    assert!(seen
        .iter()
        .all(|s| s.authorization.as_deref() == Some("Bearer sk-test-123")));
}

#[test]
fn matryoshka_truncates_and_renormalises() {
    let server = Server::start(|_, req| ollama_answer(req));
    let mut opts = options(&server.url);
    opts.matryoshka_dim = Some(4);
    let e = Embedder::load("ollama:fake-embed", &opts).expect("load");
    assert_eq!(e.dims(), 4);
    let v = e.embed_documents(&["x"]).unwrap().remove(0);
    let mut want = vector_of("x");
    want.truncate(4);
    assert!(v
        .iter()
        .zip(&normalised(want))
        .all(|(a, b)| (a - b).abs() < 1e-6));
    opts.matryoshka_dim = Some(7);
    let err = Embedder::load("ollama:fake-embed", &opts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("dimension 7"), "{err}");
}

#[test]
fn rate_limits_are_retried_then_succeed() {
    // The probe passes; the next two requests are told to wait, the third succeeds.
    let server = Server::start(|n, req| match n {
        1 | 2 => (
            429,
            vec![("Retry-After", "0".into())],
            r#"{"error":"slow down"}"#.into(),
        ),
        _ => ollama_answer(req),
    });
    let e = Embedder::load("ollama:fake-embed", &options(&server.url)).expect("load");
    let v = e.embed_documents(&["a"]).expect("embed after retries");
    assert_eq!(v.len(), 1);
    assert_eq!(server.seen().len(), 4);
}

#[test]
fn server_errors_give_up_after_the_retries() {
    let server = Server::start(|n, req| match n {
        0 => ollama_answer(req),
        _ => (
            503,
            vec![("Retry-After", "0".into())],
            r#"{"error":"overloaded"}"#.into(),
        ),
    });
    let mut opts = options(&server.url);
    opts.remote.retries = 2;
    let e = Embedder::load("ollama:fake-embed", &opts).expect("load");
    let err = e.embed_documents(&["a"]).unwrap_err().to_string();
    assert!(
        err.contains("HTTP 503") && err.contains("overloaded"),
        "{err}"
    );
    assert!(err.contains("3 attempts"), "{err}");
    assert_eq!(server.seen().len(), 1 + 3);
}

#[test]
fn an_unreachable_server_is_one_clear_error() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Embedder::load(
        "ollama:nomic-embed-text",
        &options(&format!("http://127.0.0.1:{port}")),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("cannot reach the server") && err.contains("ollama serve"),
        "{err}"
    );
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[test]
fn a_slow_server_times_out() {
    let server = Server::start(|_, req| {
        std::thread::sleep(Duration::from_millis(1500));
        ollama_answer(req)
    });
    let mut opts = options(&server.url);
    opts.remote.timeout = Duration::from_millis(300);
    let err = Embedder::load("ollama:fake-embed", &opts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no answer within 0.3 s"), "{err}");
}

#[test]
fn wrong_answers_are_refused() {
    // Dimensions change after the probe.
    let server = Server::start(|n, req| match n {
        0 => ollama_answer(req),
        _ => (
            200,
            vec![],
            json!({"embeddings": [[1.0, 2.0, 3.0]]}).to_string(),
        ),
    });
    let e = Embedder::load("ollama:fake-embed", &options(&server.url)).unwrap();
    let err = e.embed_documents(&["a"]).unwrap_err().to_string();
    assert!(err.contains("3 dimensions, expected 6"), "{err}");

    let cases: [(&str, Answer); 5] = [
        ("not JSON", (200, vec![], "<html>oops</html>".into())),
        (
            "asked for 1 vectors, got 2",
            (
                200,
                vec![],
                json!({"embeddings": [[1.0], [2.0]]}).to_string(),
            ),
        ),
        (
            "no `embeddings` array",
            (200, vec![], json!({"vectors": []}).to_string()),
        ),
        (
            "not a finite number",
            (200, vec![], r#"{"embeddings": [[1.0, "x"]]}"#.into()),
        ),
        (
            "too large",
            (
                413,
                vec![],
                json!({"error": "request entity too large"}).to_string(),
            ),
        ),
    ];
    for (want, answer) in cases {
        let server = Server::start(move |_, _| answer.clone());
        let err = Embedder::load("ollama:fake-embed", &options(&server.url))
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "want {want:?} in: {err}");
    }
    // An unknown model: the server's message and the name asked for.
    let server = Server::start(|_, _| {
        (
            404,
            vec![],
            json!({"error": "model \"nope\" not found"}).to_string(),
        )
    });
    let err = Embedder::load("ollama:nope", &options(&server.url))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("HTTP 404") && err.contains("no model `nope`") && err.contains("ollama pull"),
        "{err}"
    );
    // Token ids make no sense for a served model.
    let server = Server::start(|_, req| ollama_answer(req));
    let e = Embedder::load("ollama:fake-embed", &options(&server.url)).unwrap();
    assert!(e.tokenize(&["a"]).is_err());
    assert!(e.embed_token_ids(&[vec![1, 2]]).is_err());
}

#[test]
fn an_index_built_through_a_server_queries_through_it() {
    let server = Server::start(|_, req| ollama_answer(req));
    let repo = tempfile::tempdir().unwrap();
    std::fs::write(repo.path().join("a.py"), "def alpha():\n    return 1\n").unwrap();
    std::fs::write(repo.path().join("b.py"), "def beta():\n    return 2\n").unwrap();
    let mut opts = IndexOptions::new(repo.path());
    opts.model = ModelChoice::Named("ollama:fake-embed".into());
    opts.embed = options(&server.url);
    let summary = build_index(&opts, &NoProgress).expect("index");
    let meta = summary.embedding.expect("vectors");
    assert_eq!(meta.model, "ollama:fake-embed");
    assert_eq!(meta.endpoint.as_deref(), Some(server.url.as_str()));
    assert_eq!(meta.arch, "remote");
    let sent = server.seen().len();

    // Nothing changed: no request at all (the model is not even contacted).
    build_index(&opts, &NoProgress).expect("re-index");
    assert_eq!(server.seen().len(), sent);

    // A query with no endpoint given goes to the server the index recorded.
    let s = Searcher::open_with(&summary.index_dir, SearchOptions::default()).unwrap();
    let hits = s
        .search(&SearchRequest::new("def beta():\n    return 2").mode(Mode::Semantic))
        .expect("semantic search")
        .hits;
    assert!(!hits.is_empty());
    assert!(server.seen().len() > sent);
}
