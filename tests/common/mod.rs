//! Helpers shared by the tests that drive the `cseek` binary with real protocol clients
//! (tests/mcp.rs, tests/lsp.rs).

#![allow(dead_code)] // each test crate uses its own subset

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_cseek");

/// A small repository: a config parser, two look-alike retry loops, a Rust function.
pub fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let files = [
        (
            "config.py",
            "def parse_config(path):\n    \"\"\"Read the configuration file and parse its settings.\"\"\"\n    with open(path) as f:\n        return dict(line.split(\"=\", 1) for line in f if \"=\" in line)\n",
        ),
        (
            "net.py",
            "import time\n\ndef fetch_with_retries(url, retries=3, backoff=0.5):\n    for attempt in range(retries):\n        try:\n            return http_get(url)\n        except TimeoutError:\n            time.sleep(backoff * 2 ** attempt)\n    raise TimeoutError(url)\n",
        ),
        (
            "client.py",
            "import time\n\ndef post_with_retries(url, body, retries=5, backoff=1.0):\n    for attempt in range(retries):\n        try:\n            return http_post(url, body)\n        except TimeoutError:\n            time.sleep(backoff * 2 ** attempt)\n    raise TimeoutError(url)\n",
        ),
        (
            "db.rs",
            "/// Connect to the database at `url`.\npub fn connect(url: &str) -> Connection {\n    Connection::open(url)\n}\n",
        ),
    ];
    for (name, text) in files {
        std::fs::write(src.join(name), text).unwrap();
    }
    dir
}

/// Index `root` lexical-only with the binary.
pub fn index(root: &Path) {
    let out = Command::new(BIN)
        .args(["index", "--model", "none", "-q"])
        .arg(root)
        .env_remove("CSEEK_INDEX")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cseek index failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a Python client script (`script`: `client.py CSEEK_BINARY REPO_DIR`) with the
/// interpreter of the venv its setup script prepares (or `$python_env`), asserts it
/// succeeded and returns its stdout. Without the venv it prints a loud SKIPPED banner and
/// returns `None`, except in CI (`CI` set), where that is a failure.
pub fn run_python_client(
    what: &str,
    python_env: &str,
    venv: &str,
    setup: &str,
    script: &str,
    repo: &Path,
) -> Option<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = match std::env::var_os(python_env) {
        Some(p) => PathBuf::from(p),
        None => manifest.join(venv).join("bin/python"),
    };
    if !python.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but the Python {what} client is missing: run `bash {setup}` \
             (creates {venv}) or set {python_env}"
        );
        // Written to stderr directly so the harness's capture does not hide it.
        let _ = writeln!(
            std::io::stderr(),
            "\n================ SKIPPED: {what} end-to-end (Python client) ================\n\
             {venv} is missing. Prepare it: bash {setup}\n\
             (or set {python_env} to a python with the client installed)\n\
             ========================================================================\n"
        );
        return None;
    }
    let out = Command::new(&python)
        .arg(manifest.join(script))
        .arg(BIN)
        .arg(repo)
        .env_remove("CSEEK_INDEX")
        .output()
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    Some(stdout)
}
