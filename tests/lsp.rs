//! `cseek lsp`: the language server.
//!
//! `python_lsp_client_end_to_end` drives the binary with pygls's LanguageClient
//! (`tests/lsp/client.py`, venv prepared by `bash tests/lsp/setup.sh` under
//! `target/lsp-venv`, or `$CSEEK_LSP_PYTHON`): workspace/symbol, cseek/search, buffers,
//! saves, bad requests, shutdown. Without the venv it prints a loud SKIPPED banner and
//! passes, except in CI (`CI` set), where that is a failure.
//!
//! `a_session_without_an_index_builds_one` runs the server in-process on a memory
//! connection: a workspace with no index answers with an error that says so until the
//! start-of-session update has built it.

mod common;

use std::time::{Duration, Instant};

use common::{fixture, index};
use cseek::index::{IndexOptions, ModelChoice};
use cseek::lsp::{serve, LspOptions};
use cseek::search::SearchOptions;
use lsp_server::{Connection, Message, Notification, Request, RequestId};

#[test]
fn python_lsp_client_end_to_end() {
    let repo = fixture();
    index(repo.path());
    let Some(stdout) = common::run_python_client(
        "LSP",
        "CSEEK_LSP_PYTHON",
        "target/lsp-venv",
        "tests/lsp/setup.sh",
        "tests/lsp/client.py",
        repo.path(),
    ) else {
        return;
    };
    assert!(stdout.contains("all LSP checks passed"), "{stdout}");
}

fn request(client: &Connection, id: i32, method: &str, params: serde_json::Value) -> Message {
    client
        .sender
        .send(Request::new(RequestId::from(id), method.to_string(), params).into())
        .expect("send");
    // Log messages may come first; the response is what we wait for.
    loop {
        match client
            .receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("an answer")
        {
            Message::Response(r) if r.id == RequestId::from(id) => return Message::Response(r),
            _ => continue,
        }
    }
}

#[test]
fn a_session_without_an_index_builds_one() {
    let repo = fixture();
    let (server, client) = Connection::memory();
    let mut index_opts = IndexOptions::new(repo.path());
    index_opts.model = ModelChoice::Off;
    let options = LspOptions {
        root: Some(repo.path().to_path_buf()),
        index_dir: None,
        index: index_opts,
        search: SearchOptions::default(),
        update_on_start: true,
    };
    let thread = std::thread::spawn(move || serve(&server, options));

    let init = request(
        &client,
        1,
        "initialize",
        serde_json::json!({"capabilities": {}}),
    );
    let Message::Response(init) = init else {
        unreachable!()
    };
    let caps = init.response_result.expect("initialize result");
    assert_eq!(caps["serverInfo"]["name"], "cseek");
    assert_eq!(caps["capabilities"]["workspaceSymbolProvider"], true);
    client
        .sender
        .send(Notification::new("initialized".into(), serde_json::json!({})).into())
        .expect("send");

    // Until the first update commits, queries say why they cannot be answered.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut saw_building = false;
    let mut id = 2;
    let symbols = loop {
        let Message::Response(r) = request(
            &client,
            id,
            "workspace/symbol",
            serde_json::json!({"query": "parse_config"}),
        ) else {
            unreachable!()
        };
        id += 1;
        match r.response_result {
            Ok(v) => break v,
            Err(e) => {
                assert!(e.message.contains("being built"), "{}", e.message);
                saw_building = true;
            }
        }
        assert!(Instant::now() < deadline, "the index was never built");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(symbols[0]["name"], "parse_config", "{symbols}");
    assert!(symbols[0]["location"]["uri"]
        .as_str()
        .is_some_and(|u| u.starts_with("file://") && u.ends_with("/src/config.py")));
    eprintln!("answered 'being built' first: {saw_building}");
    assert!(repo.path().join(".cseek").is_dir());

    let Message::Response(r) = request(&client, id, "shutdown", serde_json::Value::Null) else {
        unreachable!()
    };
    assert!(r.response_result.is_ok());
    client
        .sender
        .send(Notification::new("exit".into(), serde_json::Value::Null).into())
        .expect("send");
    thread.join().expect("server thread").expect("served");
}
