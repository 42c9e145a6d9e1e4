//! `cseek mcp`: the stdio MCP server.
//!
//! `initialize_is_fast_and_stdout_is_protocol_only` speaks JSON-RPC to the binary directly
//! (no dependencies): the time from spawn to the `initialize` response, and that stdout
//! carries nothing but protocol lines.
//!
//! `python_mcp_client_end_to_end` drives the server with the official Python MCP client
//! (`tests/mcp/client.py`, venv prepared by `bash tests/mcp/setup.sh` under
//! `target/mcp-venv`, or `$CSEEK_MCP_PYTHON`). Without the venv it prints a loud SKIPPED
//! banner and passes, except in CI (`CI` set), where that is a failure.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[cfg(feature = "embed")]
use cseek::embed::testkit::{write_tiny_model, TinySize};
#[cfg(feature = "embed")]
use cseek::embed::Arch;

mod common;

use common::{fixture, index, BIN};

#[test]
fn initialize_is_fast_and_stdout_is_protocol_only() {
    let repo = fixture();
    index(repo.path());
    let start = Instant::now();
    let mut child = Command::new(BIN)
        .arg("mcp")
        .arg(repo.path())
        .env_remove("CSEEK_INDEX")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let send = |stdin: &mut std::process::ChildStdin, v: serde_json::Value| {
        writeln!(stdin, "{v}").unwrap();
        stdin.flush().unwrap();
    };
    send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "cseek-test", "version": "0"}}}),
    );
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let elapsed = start.elapsed();
    let init: serde_json::Value = serde_json::from_str(&line).expect("initialize response");
    assert_eq!(init["id"], 1, "{init}");
    assert_eq!(init["result"]["serverInfo"]["name"], "cseek", "{init}");
    eprintln!("cseek mcp: spawn to initialize response {elapsed:?}");
    // Generous: a loaded CI machine and a debug build. It opens nothing before answering.
    assert!(
        elapsed < Duration::from_secs(5),
        "initialize took {elapsed:?}"
    );

    send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "search", "arguments": {"query": "parse config"}}}),
    );
    send(
        &mut stdin,
        serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "search", "arguments": {"query": "x", "mode": "fuzzy"}}}),
    );
    drop(stdin); // end of input: the server exits
    let mut responses = Vec::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("non-JSON on stdout {line:?}: {e}"));
        assert_eq!(v["jsonrpc"], "2.0", "{v}");
        responses.push(v);
    }
    let status = child.wait().unwrap();
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(status.success(), "exit {status:?}: {stderr}");
    assert!(
        stderr.is_empty(),
        "silent without --verbose, got {stderr:?}"
    );
    let by_id = |id: u64| {
        responses
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no response {id} in {responses:?}"))
    };
    let hits = &by_id(2)["result"]["structuredContent"]["results"];
    assert_eq!(hits[0]["path"], "src/config.py", "{hits}");
    // Invalid params (-32602), not a crash.
    assert_eq!(by_id(3)["error"]["code"], -32602, "{}", by_id(3));
}

/// A `cseek mcp` child spoken to line by line.
struct Session {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Session {
    fn start(args: &[&str], root: &Path) -> Session {
        let mut child = Command::new(BIN)
            .arg("mcp")
            .args(args)
            .arg(root)
            .env_remove("CSEEK_INDEX")
            .env_remove("CSEEK_MODEL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut s = Session {
            child,
            stdin,
            stdout,
        };
        s.request(
            1,
            "initialize",
            serde_json::json!({"protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "cseek-test", "version": "0"}}),
        );
        s.send(serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        s
    }

    fn send(&mut self, v: serde_json::Value) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{v}").unwrap();
        stdin.flush().unwrap();
    }

    /// Requests run concurrently in the server, so each waits for its answer before the
    /// next is sent (a search sent during a reindex would race it).
    fn request(&mut self, id: u64, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.send(
            serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        );
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "server closed early"
            );
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            if v["id"] == id {
                return v;
            }
        }
    }

    /// A tool's structured result (panics on an error response).
    fn tool(&mut self, id: u64, name: &str, args: serde_json::Value) -> serde_json::Value {
        let r = self.request(
            id,
            "tools/call",
            serde_json::json!({"name": name, "arguments": args}),
        );
        assert!(r.get("error").is_none(), "{name}: {r}");
        r["result"]["structuredContent"].clone()
    }

    fn finish(mut self) {
        drop(self.stdin.take()); // end of input: the server exits
        assert!(self.child.wait().unwrap().success());
    }
}

#[test]
fn no_index_yet_status_says_so_and_reindex_builds_it() {
    // The Python test covers the tools in depth; this one needs no Python.
    let repo = fixture();
    let mut s = Session::start(&["--model", "none"], repo.path());
    let status = s.tool(2, "index_status", serde_json::json!({}));
    assert_eq!(status["exists"], false, "{status}");
    let summary = s.tool(3, "reindex", serde_json::json!({}));
    assert_eq!(summary["files"], 4, "{summary}");
    let found = s.tool(4, "search", serde_json::json!({"query": "connect"}));
    assert_eq!(found["results"][0]["path"], "src/db.rs", "{found}");
    s.finish();
}

#[test]
fn several_indexes_are_served_as_one_or_by_name() {
    let a = fixture();
    let b = tempfile::tempdir().unwrap();
    std::fs::write(
        b.path().join("blobs.py"),
        "def save_blob(bucket, key, data):\n    \"\"\"Save a blob under a key.\"\"\"\n    bucket[key] = data\n\n\ndef connect_bucket(url):\n    return open_bucket(url)\n",
    )
    .unwrap();
    let b_root = b.path().to_str().unwrap();
    let mut s = Session::start(&["--model", "none", b_root], a.path());
    // reindex without `index` updates both.
    let summaries = s.tool(2, "reindex", serde_json::json!({}));
    let summaries = summaries["indexes"].as_array().unwrap().clone();
    assert_eq!(summaries.len(), 2, "{summaries:?}");
    let names: Vec<String> = summaries
        .iter()
        .map(|v| v["index"].as_str().unwrap().to_string())
        .collect();
    let (b_name, a_name) = (&names[0], &names[1]);
    assert_ne!(a_name, b_name);
    let status = s.tool(3, "index_status", serde_json::json!({}));
    assert_eq!(status["indexes"].as_array().unwrap().len(), 2, "{status}");

    // One ranking over both, each hit labelled with its index.
    let found = s.tool(
        4,
        "search",
        serde_json::json!({"query": "connect", "top_k": 10}),
    );
    let hits = found["results"].as_array().unwrap();
    let from: std::collections::HashSet<&str> =
        hits.iter().map(|h| h["index"].as_str().unwrap()).collect();
    assert!(
        from.contains(a_name.as_str()) && from.contains(b_name.as_str()),
        "{found}"
    );
    // Or one of them, by name.
    let only_b = s.tool(
        5,
        "search",
        serde_json::json!({"query": "connect", "index": b_name}),
    );
    let hits = only_b["results"].as_array().unwrap();
    assert!(!hits.is_empty());
    assert!(
        hits.iter().all(|h| h["index"] == b_name.as_str()),
        "{only_b}"
    );
    assert_eq!(hits[0]["path"], "blobs.py");

    // A place is in one index: without `index` that is an error, with it an answer.
    let r = s.request(
        6,
        "tools/call",
        serde_json::json!({"name": "find_related",
            "arguments": {"path": "src/net.py", "line": 4}}),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let related = s.tool(
        7,
        "find_related",
        serde_json::json!({"path": "src/net.py", "line": 4, "index": a_name}),
    );
    assert!(
        !related["results"].as_array().unwrap().is_empty(),
        "{related}"
    );
    let r = s.request(
        8,
        "tools/call",
        serde_json::json!({"name": "search", "arguments": {"query": "x", "index": "nope"}}),
    );
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains(a_name.as_str()),
        "{r}"
    );
    s.finish();
}

#[cfg(feature = "embed")]
#[test]
fn find_related_uses_vectors_when_the_index_has_them() {
    // A tiny random-weight static model: similarities are meaningless, but the vector
    // path runs end to end (the chunk itself excluded, results resolved from the store).
    let model = tempfile::tempdir().unwrap();
    write_tiny_model(model.path(), Arch::Model2Vec, TinySize::tiny(), "").unwrap();
    let repo = fixture();
    let model_dir = model.path().to_str().unwrap();
    let mut s = Session::start(&["--model", model_dir], repo.path());
    let summary = s.tool(2, "reindex", serde_json::json!({}));
    assert!(summary["model"].is_string(), "{summary}");
    let status = s.tool(3, "index_status", serde_json::json!({}));
    assert_eq!(status["semantic"], true, "{status}");
    let related = s.tool(
        4,
        "find_related",
        serde_json::json!({"path": "src/net.py", "line": 4, "top_k": 3}),
    );
    assert_eq!(related["method"], "vectors", "{related}");
    let hits = related["results"].as_array().unwrap();
    assert_eq!(hits.len(), 3, "{related}");
    assert!(
        !hits
            .iter()
            .any(|h| h["path"] == "src/net.py" && h["start_line"] == 3),
        "the chunk itself is excluded: {related}"
    );
    let snippet = s.tool(
        5,
        "find_related",
        serde_json::json!({"code": "def retry(): pass"}),
    );
    assert!(
        !snippet["results"].as_array().unwrap().is_empty(),
        "{snippet}"
    );
    s.finish();
}

#[test]
fn watch_keeps_the_index_current() {
    let repo = fixture();
    let mut s = Session::start(&["--watch", "--model", "none"], repo.path());
    let mut id = 10;
    let mut eventually = |s: &mut Session,
                          what: &str,
                          name: &str,
                          args: serde_json::Value,
                          ok: &dyn Fn(&serde_json::Value) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            id += 1;
            let r = s.request(
                id,
                "tools/call",
                serde_json::json!({"name": name, "arguments": args}),
            );
            if ok(&r["result"]["structuredContent"]) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: never happened; last {r}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // The watch's first update builds the missing index.
    eventually(
        &mut s,
        "index built",
        "index_status",
        serde_json::json!({}),
        &|v| v["exists"] == true && v["files"] == 4,
    );
    std::fs::write(
        repo.path().join("src/mailer.py"),
        "def send_invoice_email(customer):\n    return smtp_deliver(customer.address)\n",
    )
    .unwrap();
    eventually(
        &mut s,
        "new file searchable",
        "search",
        serde_json::json!({"query": "send_invoice_email"}),
        &|v| v["results"][0]["path"] == "src/mailer.py",
    );
    s.finish();
}

#[test]
fn python_mcp_client_end_to_end() {
    let repo = fixture();
    index(repo.path());
    let Some(stdout) = common::run_python_client(
        "MCP",
        "CSEEK_MCP_PYTHON",
        "target/mcp-venv",
        "tests/mcp/setup.sh",
        "tests/mcp/client.py",
        repo.path(),
    ) else {
        return;
    };
    assert!(stdout.contains("all MCP checks passed"), "{stdout}");
}
