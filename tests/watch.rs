//! `cseek watch` and `cseek::watch::watch` on a real file system: changes become
//! searchable, bursts become few updates, a vanished root is waited for, Ctrl-C leaves a
//! usable index. Lexical-only (no model needed). Deadlines are generous and every wait
//! polls, so a slow machine makes the tests slower, not flaky.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cseek::index::{IndexOptions, ModelChoice};
use cseek::search::{Mode, SearchRequest, Searcher};
use cseek::watch::{watch, Cause, StopHandle, WatchEvent, WatchOptions};

/// How long anything may take before a test fails.
const DEADLINE: Duration = Duration::from_secs(30);

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn python_fn(name: &str) -> String {
    format!("def {name}(path):\n    \"\"\"Probe function.\"\"\"\n    return path\n")
}

/// Whether the index at `index_dir` has a chunk defining `symbol`.
fn defines(index_dir: &Path, symbol: &str) -> bool {
    let Ok(searcher) = Searcher::open(index_dir) else {
        return false;
    };
    let req = SearchRequest::new(symbol).top_k(50).mode(Mode::Lexical);
    searcher
        .search(&req)
        .is_ok_and(|r| r.hits.iter().any(|h| h.symbol.as_deref() == Some(symbol)))
}

/// Poll `cond` until it holds; panic with `what` after [`DEADLINE`].
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn test_settings() -> WatchOptions {
    WatchOptions {
        debounce: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        poll_interval: Duration::from_millis(200),
        ..WatchOptions::default()
    }
}

/// `watch` running on a thread, its events on a channel.
struct LibWatch {
    events: Receiver<WatchEvent>,
    stop: StopHandle,
    thread: Option<JoinHandle<cseek::Result<()>>>,
    index_dir: PathBuf,
}

impl LibWatch {
    fn start(root: &Path) -> LibWatch {
        let mut opts = IndexOptions::new(root);
        opts.model = ModelChoice::Off;
        let index_dir = opts.index_dir.clone();
        let stop = StopHandle::new();
        let (tx, events) = mpsc::channel();
        let thread_stop = stop.clone();
        let thread = std::thread::spawn(move || {
            watch(&opts, &test_settings(), &thread_stop, &mut |e| {
                let _ = tx.send(e);
            })
        });
        let w = LibWatch {
            events,
            stop,
            thread: Some(thread),
            index_dir,
        };
        w.wait_for("the watch to start", |e| {
            matches!(e, WatchEvent::Watching { .. })
        });
        w
    }

    /// Wait for an event matching `pred`; returns the events seen before it, and it.
    fn wait_for(&self, what: &str, pred: impl Fn(&WatchEvent) -> bool) -> Vec<WatchEvent> {
        let start = Instant::now();
        let mut seen = Vec::new();
        loop {
            let left = DEADLINE.saturating_sub(start.elapsed());
            match self.events.recv_timeout(left) {
                Ok(e) => {
                    let done = pred(&e);
                    seen.push(e);
                    if done {
                        return seen;
                    }
                }
                Err(_) => panic!("timed out waiting for {what}; saw {seen:#?}"),
            }
        }
    }

    /// Events until none has come for `quiet` (panics if that never happens).
    fn drain_until_quiet(&self, quiet: Duration) -> Vec<WatchEvent> {
        let start = Instant::now();
        let mut seen = Vec::new();
        loop {
            match self.events.recv_timeout(quiet) {
                Ok(e) => seen.push(e),
                Err(RecvTimeoutError::Timeout) => return seen,
                Err(RecvTimeoutError::Disconnected) => panic!("watch ended: {seen:#?}"),
            }
            assert!(
                start.elapsed() < DEADLINE,
                "the watch never went quiet: {seen:#?}"
            );
        }
    }

    fn finish(mut self) {
        self.stop.stop();
        let result = self
            .thread
            .take()
            .unwrap()
            .join()
            .expect("watch thread panicked");
        result.expect("watch returned an error");
    }
}

impl Drop for LibWatch {
    fn drop(&mut self) {
        self.stop.stop(); // a failed test must not leave the thread running
    }
}

fn updates(events: &[WatchEvent], cause: Cause) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, WatchEvent::Updated(u) if u.trigger.cause == cause))
        .count()
}

#[test]
fn library_watch_follows_create_modify_delete() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write(&root.join("src/main.py"), &python_fn("existing_function"));
    let w = LibWatch::start(&root);
    assert!(defines(&w.index_dir, "existing_function"), "start update");

    // A file in directories that did not exist when watching began.
    let file = root.join("src/new/deep/probe.py");
    write(&file, &python_fn("watch_probe_alpha"));
    eventually("the new file to be searchable", || {
        defines(&w.index_dir, "watch_probe_alpha")
    });

    write(&file, &python_fn("watch_probe_beta"));
    eventually("the modified file to be searchable", || {
        defines(&w.index_dir, "watch_probe_beta") && !defines(&w.index_dir, "watch_probe_alpha")
    });

    fs::remove_file(&file).unwrap();
    eventually("the deleted file to be gone", || {
        !defines(&w.index_dir, "watch_probe_beta")
    });
    assert!(defines(&w.index_dir, "existing_function"));

    // A renamed directory: its files move with it.
    write(&root.join("lib/a/mod.py"), &python_fn("moved_function"));
    eventually("the file in lib/ to be searchable", || {
        defines(&w.index_dir, "moved_function")
    });
    fs::rename(root.join("lib"), root.join("pkg")).unwrap();
    write(&root.join("pkg/a/later.py"), &python_fn("after_the_move"));
    eventually("a file written into the renamed directory", || {
        defines(&w.index_dir, "after_the_move")
    });
    w.finish();
}

#[test]
fn burst_of_writes_is_few_updates_and_idle_watch_stays_idle() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    write(&root.join("a.py"), &python_fn("first_function"));
    let w = LibWatch::start(&root);

    // The start update wrote the index inside the root while watching: that must not
    // trigger anything.
    let idle = w.drain_until_quiet(Duration::from_millis(1500));
    assert_eq!(updates(&idle, Cause::Changes), 0, "{idle:#?}");

    for i in 0..200 {
        write(
            &root.join(format!("burst/f{i:03}.py")),
            &python_fn(&format!("burst_fn_{i:03}")),
        );
    }
    eventually("the whole burst to be searchable", || {
        defines(&w.index_dir, "burst_fn_000") && defines(&w.index_dir, "burst_fn_199")
    });
    // Every event since the idle check: those of the burst.
    let events = w.drain_until_quiet(Duration::from_millis(1500));
    let n = updates(&events, Cause::Changes);
    assert!(n <= 5, "200 writes made {n} updates: {events:#?}");
    let files: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Updated(u) => Some(u.summary.files),
            _ => None,
        })
        .collect();
    assert_eq!(files.last(), Some(&201), "{events:#?}");

    // Nothing changes now: no update (a self-triggering loop would show here).
    let idle = w.drain_until_quiet(Duration::from_millis(1500));
    assert_eq!(updates(&idle, Cause::Changes), 0, "{idle:#?}");
    w.finish();
}

#[test]
fn root_deleted_or_moved_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write(&root.join("one.py"), &python_fn("before_deletion"));
    let w = LibWatch::start(&root);

    fs::remove_dir_all(&root).unwrap();
    w.wait_for("RootMissing after deletion", |e| {
        matches!(e, WatchEvent::RootMissing { .. })
    });
    // The index lived inside the root and went with it; it comes back with the root.
    write(&root.join("two.py"), &python_fn("after_recreation"));
    let seen = w.wait_for(
        "an update after the root is back",
        |e| matches!(e, WatchEvent::Updated(u) if u.trigger.cause == Cause::RootBack),
    );
    assert!(
        seen.iter()
            .any(|e| matches!(e, WatchEvent::RootBack { .. })),
        "{seen:#?}"
    );
    assert!(defines(&w.index_dir, "after_recreation"));
    assert!(!defines(&w.index_dir, "before_deletion"));

    // Watching resumed on the new directory.
    write(&root.join("three.py"), &python_fn("after_resume"));
    eventually("a change after the root came back", || {
        defines(&w.index_dir, "after_resume")
    });

    // Moved away and back.
    let moved = dir.path().join("repo-moved");
    fs::rename(&root, &moved).unwrap();
    w.wait_for("RootMissing after a move", |e| {
        matches!(e, WatchEvent::RootMissing { .. })
    });
    fs::rename(&moved, &root).unwrap();
    w.wait_for(
        "the update after moving back",
        |e| matches!(e, WatchEvent::Updated(u) if u.trigger.cause == Cause::RootBack),
    );
    write(&root.join("four.py"), &python_fn("after_move_back"));
    eventually("a change after moving back", || {
        defines(&w.index_dir, "after_move_back")
    });
    w.finish();
}

#[test]
fn deleted_index_directory_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    write(&root.join("a.py"), &python_fn("kept_function"));
    let w = LibWatch::start(&root);
    fs::remove_dir_all(&w.index_dir).unwrap();
    w.wait_for(
        "the index to be rebuilt",
        |e| matches!(e, WatchEvent::Updated(u) if u.trigger.cause == Cause::IndexMissing),
    );
    assert!(defines(&w.index_dir, "kept_function"));
    w.finish();
}

#[test]
fn failed_update_is_reported_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    write(&root.join("a.py"), &python_fn("kept_function"));
    let w = LibWatch::start(&root);
    // A file where the index directory should be: every update fails. (The watch may
    // rebuild the directory between the two calls; then try again.)
    loop {
        let _ = fs::remove_dir_all(&w.index_dir);
        if fs::write(&w.index_dir, "in the way").is_ok() {
            break;
        }
    }
    write(&root.join("b.py"), &python_fn("retried_function"));
    let b_py = |t: &cseek::watch::Trigger| t.examples.iter().any(|p| p == "b.py");
    let seen = w.wait_for(
        "a failed update",
        |e| matches!(e, WatchEvent::Error { trigger, .. } if b_py(trigger)),
    );
    let Some(WatchEvent::Error { retry_in, .. }) = seen.last() else {
        unreachable!()
    };
    assert!(*retry_in >= test_settings().max_delay, "{seen:#?}");
    // Out of the way again: the retry succeeds without another change.
    fs::remove_file(&w.index_dir).unwrap();
    w.wait_for(
        "the retried update",
        |e| matches!(e, WatchEvent::Updated(u) if b_py(&u.trigger)),
    );
    assert!(defines(&w.index_dir, "retried_function"));
    w.finish();
}

#[test]
fn missing_root_is_an_error_before_watching() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = IndexOptions::new(dir.path().join("nope"));
    opts.model = ModelChoice::Off;
    let mut events = Vec::new();
    let err = watch(&opts, &test_settings(), &StopHandle::new(), &mut |e| {
        events.push(e)
    })
    .expect_err("no such directory");
    assert!(err.to_string().contains("nope"), "{err}");
    assert!(events.is_empty(), "{events:#?}");
}

// ---- the binary ----

/// `cseek watch --json` as a child process; stdout lines parsed on a thread.
struct BinWatch {
    child: Child,
    lines: Receiver<serde_json::Value>,
}

impl BinWatch {
    fn start(root: &Path) -> BinWatch {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cseek"))
            .args(["watch", "--json", "--model", "none", "--debounce-ms", "100"])
            .arg(root)
            .env_remove("CSEEK_INDEX")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run cseek watch");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let w = BinWatch { child, lines };
        w.wait_for_event("watching");
        w
    }

    fn wait_for_event(&self, name: &str) -> serde_json::Value {
        let start = Instant::now();
        loop {
            let left = DEADLINE.saturating_sub(start.elapsed());
            let v = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {name:?} event from cseek watch"));
            if v["event"] == name {
                return v;
            }
        }
    }

    #[cfg(unix)]
    fn interrupt(&self) {
        let ok = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -INT failed");
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < DEADLINE, "cseek watch did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for BinWatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(unix)]
#[test]
fn binary_updates_then_ctrl_c_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    write(&root.join("a.py"), &python_fn("first_function"));
    let mut w = BinWatch::start(&root);
    let index_dir = root.join(".cseek");

    write(&root.join("b.py"), &python_fn("binary_probe"));
    let update = w.wait_for_event("updated");
    assert_eq!(update["trigger"]["cause"], "changes", "{update}");
    assert_eq!(update["files"], 2, "{update}");
    assert!(defines(&index_dir, "binary_probe"));

    w.interrupt();
    let status = w.wait_exit();
    assert_eq!(status.code(), Some(0), "{status:?}");
    let last = w.wait_for_event("stopped");
    assert_eq!(last["event"], "stopped");
    // The index opens and answers after the watch is gone.
    assert!(defines(&index_dir, "binary_probe"));
    assert!(defines(&index_dir, "first_function"));
}

#[cfg(unix)]
#[test]
fn binary_survives_root_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write(&root.join("a.py"), &python_fn("first_function"));
    let mut w = BinWatch::start(&root);

    fs::remove_dir_all(&root).unwrap();
    w.wait_for_event("root-missing");
    assert!(w.child.try_wait().unwrap().is_none(), "cseek watch exited");
    write(&root.join("b.py"), &python_fn("back_again"));
    w.wait_for_event("root-back");
    let update = w.wait_for_event("updated");
    assert_eq!(update["trigger"]["cause"], "root-back", "{update}");
    assert!(defines(&root.join(".cseek"), "back_again"));

    w.interrupt();
    assert_eq!(w.wait_exit().code(), Some(0));
}

#[test]
fn binary_missing_root_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cseek"))
        .args(["watch", "--model", "none"])
        .arg(dir.path().join("nope"))
        .env_remove("CSEEK_INDEX")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error:") && stderr.contains("nope"),
        "{stderr}"
    );
}
