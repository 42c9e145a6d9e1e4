//! The Milvus backend against a real server (milvus-lite): two repositories indexed into
//! one collection and searched together and filtered, an edit and a deletion mirrored,
//! answers after a server restart, and the errors users meet (server down, dimension and
//! schema mismatch) as one clear line.
//!
//! Needs a server: `CSEEK_MILVUS=milvus://127.0.0.1:PORT` (or `127.0.0.1:PORT`), e.g.
//! from `bash tests/milvus/start.sh PORT` (`.ci/run` does this). Without it the tests
//! print why they skip, except in CI (`CI` set), where that is a failure. The restart
//! test starts a server of its own with the same script.

// Needs the embedding engine (the backend stores dense vectors).
#![cfg(all(feature = "embed", feature = "milvus"))]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cseek::embed::testkit::{write_tiny_model, TinySize};
use cseek::embed::Arch;

const BIN: &str = env!("CARGO_BIN_EXE_cseek");

/// The backend URL of the shared server, or `None` (after saying why) to skip.
fn server() -> Option<String> {
    match std::env::var("CSEEK_MILVUS") {
        Ok(v) if !v.trim().is_empty() => {
            let v = v.trim();
            Some(if v.starts_with("milvus://") {
                v.trim_end_matches('/').to_string()
            } else {
                format!("milvus://{v}")
            })
        }
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but CSEEK_MILVUS is not: start a server with \
                 `bash tests/milvus/start.sh PORT` and export CSEEK_MILVUS=127.0.0.1:PORT"
            );
            // Written to stderr directly so the harness's capture does not hide it.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED tests/milvus.rs: CSEEK_MILVUS is not set (start a server with \
                 `bash tests/milvus/start.sh 19530` and export CSEEK_MILVUS=127.0.0.1:19530) ***\n"
            );
            None
        }
    }
}

/// A collection of its own for each test (they run in parallel on one server).
fn backend(base: &str, test: &str) -> String {
    format!(
        "{base}?collection=t{}_{test}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    )
}

fn cseek(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("CSEEK_INDEX")
        .env_remove("CSEEK_MODEL")
        .env_remove("CSEEK_BACKEND")
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("run cseek")
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "cseek failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    o
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tiny_model(dir: &Path, hidden: usize) -> PathBuf {
    let size = TinySize {
        hidden,
        ..TinySize::tiny()
    };
    write_tiny_model(dir, Arch::Bert, size, "").expect("write tiny model");
    dir.to_path_buf()
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// Repository `billing` (Python) and `storage` (Rust, Go).
fn two_repos(dir: &Path) -> (PathBuf, PathBuf) {
    let a = dir.join("billing");
    write(
        &a,
        "src/config.py",
        "def parse_config(path):\n    \"\"\"Read the configuration file and parse its settings.\"\"\"\n    with open(path) as f:\n        return dict(line.split(\"=\", 1) for line in f if \"=\" in line)\n",
    );
    write(
        &a,
        "src/net.py",
        "import time\n\ndef fetch_with_retries(url, retries=3, backoff=0.5):\n    for attempt in range(retries):\n        try:\n            return http_get(url)\n        except TimeoutError:\n            time.sleep(backoff * 2 ** attempt)\n    raise TimeoutError(url)\n",
    );
    write(
        &a,
        "src/invoice.py",
        "class Invoice:\n    def total_amount(self):\n        \"\"\"Sum of the invoice lines.\"\"\"\n        return sum(l.amount for l in self.lines)\n",
    );
    let b = dir.join("storage");
    write(
        &b,
        "src/db.rs",
        "/// Connect to the database at `url`.\npub fn connect_database(url: &str) -> Connection {\n    Connection::open(url)\n}\n",
    );
    write(
        &b,
        "src/config.rs",
        "/// Parse the storage configuration file.\npub fn parse_config(text: &str) -> Config {\n    Config::from_str(text)\n}\n",
    );
    write(
        &b,
        "cache/lru.go",
        "package cache\n\n// Evict removes the least recently used entry.\nfunc (c *Cache) Evict() {\n\tc.list.Remove(c.list.Back())\n}\n",
    );
    (a, b)
}

fn index(root: &Path, model: &Path, url: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "index",
        "--json",
        "--model",
        model.to_str().unwrap(),
        "--backend",
        url,
    ];
    args.extend_from_slice(extra);
    args.push(root.to_str().unwrap());
    let o = ok(cseek(&args));
    serde_json::from_slice(&o.stdout).expect("index --json")
}

/// (repo, path, symbol) of each hit of a JSON query.
fn query(url: &str, words: &str, extra: &[&str]) -> Vec<(String, String, String)> {
    let mut args = vec!["query", "--json", "-k", "20", "--backend", url];
    args.extend_from_slice(extra);
    args.push(words);
    let o = ok(cseek(&args));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("query --json");
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|h| {
            (
                h["repo"].as_str().unwrap_or_default().to_string(),
                h["path"].as_str().unwrap_or_default().to_string(),
                h["symbol"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn two_repos_searched_org_wide_and_filtered() {
    let Some(base) = server() else { return };
    let url = backend(&base, "org");
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(&dir.path().join("model"), 32);
    let (a, b) = two_repos(dir.path());
    let sa = index(&a, &model, &url, &[]);
    assert_eq!(sa["backend"]["repo"], "billing");
    assert_eq!(sa["backend"]["full"], true);
    assert_eq!(sa["backend"]["files_sent"], 3);
    let sb = index(&b, &model, &url, &["--repo", "storage-svc"]);
    assert_eq!(sb["backend"]["repo"], "storage-svc");
    assert_eq!(sb["backend"]["chunks"], sb["chunks"]);

    // Org-wide: the definition in each repository.
    let hits = query(&url, "parse_config", &[]);
    let top2: Vec<(&str, &str)> = hits[..2]
        .iter()
        .map(|(r, p, _)| (r.as_str(), p.as_str()))
        .collect();
    assert!(top2.contains(&("billing", "src/config.py")), "{hits:?}");
    assert!(top2.contains(&("storage-svc", "src/config.rs")), "{hits:?}");

    // Filtered to one repository, to a language, to a path.
    let hits = query(&url, "parse_config", &["--repo", "storage-svc"]);
    assert_eq!(hits[0].1, "src/config.rs");
    assert!(hits.iter().all(|(r, _, _)| r == "storage-svc"), "{hits:?}");
    let hits = query(&url, "connect to the database", &["--path", "*.py"]);
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|(_, p, _)| p.ends_with(".py")), "{hits:?}");
    let hits = query(&url, "configuration", &["--lang", "python"]);
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|(_, p, _)| p.ends_with(".py")), "{hits:?}");
    let hits = query(&url, "evict entry", &["--path", "cache/**"]);
    assert_eq!(hits[0].2, "Evict", "{hits:?}");
    assert!(hits.iter().all(|(_, p, _)| p == "cache/lru.go"), "{hits:?}");
    // Identifiers split as cseek's lexical index splits them: `totalAmount` finds
    // `total_amount`, lexical mode (BM25 in Milvus) alone.
    let hits = query(&url, "totalAmount", &["--mode", "lexical"]);
    assert_eq!(hits[0].2, "total_amount", "{hits:?}");
    // Text output names the repository.
    let o = ok(cseek(&[
        "query",
        "--backend",
        &url,
        "--format",
        "files",
        "connect database",
    ]));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .is_some_and(|l| l == "storage-svc/src/db.rs"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn fitted_fusion_weights_travel_with_the_rows() {
    let Some(base) = server() else { return };
    let url = backend(&base, "fit");
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(&dir.path().join("model"), 32);
    // A repository with enough doc comments to fit on (a random-weight model: BM25 gets
    // the most say allowed), and one with too few.
    let docs = dir.path().join("documented");
    let word = |i: usize| {
        format!(
            "kv{}{}",
            char::from(b'a' + (i / 26) as u8),
            char::from(b'a' + (i % 26) as u8)
        )
    };
    for i in 0..25 {
        let (a, b) = (word(2 * i), word(2 * i + 1));
        write(
            &docs,
            &format!("src/m{i}.rs"),
            &format!("/// Opens the {a} and flushes every {b} it holds.\npub fn open_{a}() {{\n    {a}.flush_{b}();\n}}\n"),
        );
    }
    let (billing, _) = two_repos(dir.path());
    let fitted = index(&docs, &model, &url, &[]);
    assert_eq!(fitted["fusion"]["pairs"], 25, "{fitted}");
    let share = fitted["fusion"]["lexical_share"].as_f64().unwrap();
    let unfitted = index(&billing, &model, &url, &[]);
    assert!(unfitted["fusion"].is_null(), "{unfitted}");

    use cseek::fuse::{calibrate::share_weights, QueryKind};
    use cseek::milvus::{MilvusSearcher, MilvusUrl};
    let s = MilvusSearcher::open(&MilvusUrl::parse(&url).unwrap(), Default::default()).unwrap();
    let weights = |repos: &[&str]| {
        let repos: Vec<String> = repos.iter().map(|r| r.to_string()).collect();
        let f = s.fusion_for(QueryKind::NaturalLanguage, &repos);
        (f.lexical_weight, f.semantic_weight)
    };
    // The documented repository's own fit, alone or org-wide (the only fit there is);
    // the other repository keeps 1 : 1; symbol lookups are untouched.
    assert_eq!(weights(&["documented"]), share_weights(share));
    assert_eq!(weights(&[]), share_weights(share));
    assert_eq!(weights(&["billing"]), (1.0, 1.0));
    let symbol = s.fusion_for(QueryKind::Symbol, &[]);
    assert_eq!((symbol.lexical_weight, symbol.semantic_weight), (1.0, 0.0));
}

#[test]
fn edits_and_deletions_are_mirrored() {
    let Some(base) = server() else { return };
    let url = backend(&base, "edit");
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(&dir.path().join("model"), 32);
    let (a, _) = two_repos(dir.path());
    index(&a, &model, &url, &[]);
    assert_eq!(
        query(&url, "fetch_with_retries", &[])[0].2,
        "fetch_with_retries"
    );

    // Nothing changed: nothing sent.
    let s = index(&a, &model, &url, &[]);
    assert_eq!(s["backend"]["full"], false);
    assert_eq!(s["backend"]["files_sent"], 0);

    // An edit: the new definition is found, the old one is gone.
    write(
        &a,
        "src/net.py",
        "import time\n\ndef fetch_with_backoff(url, retries=3):\n    for attempt in range(retries):\n        time.sleep(2 ** attempt)\n    return http_get(url)\n",
    );
    let s = index(&a, &model, &url, &[]);
    assert_eq!(s["backend"]["full"], false);
    assert_eq!(s["backend"]["files_sent"], 1);
    let hits = query(&url, "fetch_with_backoff", &[]);
    assert_eq!(hits[0].2, "fetch_with_backoff", "{hits:?}");
    assert!(
        hits.iter().all(|(_, _, s)| s != "fetch_with_retries"),
        "{hits:?}"
    );

    // A deletion: the file's chunks are gone.
    std::fs::remove_file(a.join("src/invoice.py")).unwrap();
    let s = index(&a, &model, &url, &[]);
    assert_eq!(s["backend"]["files_removed"], 1);
    assert_eq!(s["backend"]["chunks"], s["chunks"]);
    let hits = query(&url, "invoice total amount", &[]);
    assert!(
        hits.iter().all(|(_, p, _)| p != "src/invoice.py"),
        "{hits:?}"
    );

    // The collection lost track (here: the repository's rows deleted behind cseek's
    // back, as a wiped server would): the next run notices and sends everything.
    let state = std::fs::read_dir(a.join(".cseek"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("milvus-sync-"))
        .expect("sync state file");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.path()).unwrap()).unwrap();
    v["chunks"] = serde_json::json!(999);
    std::fs::write(state.path(), v.to_string()).unwrap();
    let s = index(&a, &model, &url, &[]);
    assert_eq!(s["backend"]["full"], true);
    assert_eq!(s["backend"]["chunks"], s["chunks"]);
    assert_eq!(
        query(&url, "fetch_with_backoff", &[])[0].2,
        "fetch_with_backoff"
    );
}

#[test]
fn mismatches_and_a_down_server_are_one_clear_line() {
    let Some(base) = server() else { return };
    let url = backend(&base, "err");
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(&dir.path().join("model"), 32);
    let other = tiny_model(&dir.path().join("model48"), 48);
    let (a, b) = two_repos(dir.path());
    index(&a, &model, &url, &[]);

    // Another model's vectors of another size into the same collection.
    let o = cseek(&[
        "index",
        "-q",
        "--model",
        other.to_str().unwrap(),
        "--backend",
        &url,
        b.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(
        e.contains("holds 32-dim vectors") && e.contains("48-dim"),
        "{e}"
    );

    // A collection that is not cseek's.
    let venv_python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/milvus-venv/bin/python");
    if venv_python.is_file() {
        let foreign = format!("f{}", std::process::id());
        let addr = base
            .trim_start_matches("milvus://")
            .split(['/', '?'])
            .next()
            .unwrap();
        let script = format!(
            "from pymilvus import MilvusClient, DataType\n\
             c = MilvusClient(uri='http://{addr}')\n\
             s = c.create_schema(auto_id=False)\n\
             s.add_field('id', DataType.INT64, is_primary=True)\n\
             s.add_field('dense', DataType.FLOAT_VECTOR, dim=32)\n\
             ip = c.prepare_index_params()\n\
             ip.add_index(field_name='dense', index_type='AUTOINDEX', metric_type='IP')\n\
             c.create_collection('{foreign}', schema=s, index_params=ip)\n"
        );
        let py = Command::new(&venv_python)
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            py.status.success(),
            "{}",
            String::from_utf8_lossy(&py.stderr)
        );
        let o = cseek(&[
            "query",
            "--backend",
            &format!("{base}?collection={foreign}"),
            "x",
        ]);
        assert!(!o.status.success());
        let e = stderr(&o);
        assert_eq!(e.trim().lines().count(), 1, "{e}");
        assert!(e.contains("does not have cseek's schema"), "{e}");
    }

    // No collection of that name.
    let o = cseek(&[
        "query",
        "--backend",
        &format!("{base}?collection=none_here"),
        "x",
    ]);
    assert!(
        stderr(&o).contains("no collection `none_here`"),
        "{}",
        stderr(&o)
    );

    // Nothing listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let o = cseek(&[
        "query",
        "--backend",
        &format!("milvus://127.0.0.1:{port}"),
        "x",
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    assert!(
        e.contains(&format!(
            "cannot reach Milvus at 127.0.0.1:{port}: start it with tests/milvus/start.sh"
        )),
        "{e}"
    );
}

/// Starts `tests/milvus/start.sh PORT DATA`, returns the server's PID.
fn start_server(port: u16, data: &Path) -> String {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = Command::new("bash")
        .arg(manifest.join("tests/milvus/start.sh"))
        .arg(port.to_string())
        .arg(data)
        .output()
        .expect("run start.sh");
    assert!(
        o.status.success(),
        "start.sh: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn stop_server(pid: &str) {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let _ = Command::new("bash")
        .arg(manifest.join("tests/milvus/stop.sh"))
        .arg(pid)
        .status();
}

/// Stops the server when the test ends, passed or not.
struct Server(String);
impl Drop for Server {
    fn drop(&mut self) {
        stop_server(&self.0);
    }
}

#[test]
fn answers_after_a_server_restart() {
    if server().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("milvus-data");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("milvus://127.0.0.1:{port}");
    let model = tiny_model(&dir.path().join("model"), 32);
    let (a, _) = two_repos(dir.path());
    {
        let _server = Server(start_server(port, &data));
        index(&a, &model, &url, &[]);
        assert_eq!(query(&url, "parse_config", &[])[0].1, "src/config.py");
    }
    let _server = Server(start_server(port, &data));
    let hits = query(&url, "parse_config", &[]);
    assert_eq!(hits[0].1, "src/config.py", "{hits:?}");
    // And the mirror is still in step: nothing to send.
    let s = index(&a, &model, &url, &[]);
    assert_eq!(s["backend"]["full"], false);
    assert_eq!(s["backend"]["files_sent"], 0);
}

#[test]
fn mcp_searches_the_collection() {
    use std::io::{BufRead, BufReader};
    let Some(base) = server() else { return };
    let url = backend(&base, "mcp");
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(&dir.path().join("model"), 32);
    let (a, b) = two_repos(dir.path());
    index(&a, &model, &url, &[]);
    index(&b, &model, &url, &[]);
    let mut child = Command::new(BIN)
        .args(["mcp", "--backend", &url])
        .arg(&a)
        .env_remove("CSEEK_INDEX")
        .env_remove("CSEEK_BACKEND")
        .env("CSEEK_MODEL", &model)
        .env("HF_HUB_OFFLINE", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut call = |msg: serde_json::Value| -> Option<serde_json::Value> {
        writeln!(stdin, "{msg}").unwrap();
        stdin.flush().unwrap();
        msg.get("id")?;
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        Some(serde_json::from_str(&line).unwrap())
    };
    call(
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}}}),
    );
    call(serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let search = |call: &mut dyn FnMut(serde_json::Value) -> Option<serde_json::Value>,
                  args: serde_json::Value| {
        let r = call(
            serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "search", "arguments": args}}),
        )
        .unwrap();
        r["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}"))
            .to_string()
    };
    // Org-wide: the other repository's code is found too.
    let text = search(
        &mut call,
        serde_json::json!({"query": "connect_database", "top_k": 3}),
    );
    assert!(text.contains("[storage] src/db.rs"), "{text}");
    // Filtered to one repository.
    let text = search(
        &mut call,
        serde_json::json!({"query": "parse_config", "top_k": 5, "index": "billing"}),
    );
    assert!(text.contains("[billing] src/config.py"), "{text}");
    assert!(!text.contains("[storage]"), "{text}");
    drop(stdin);
    let _ = child.wait();
}
