//! End-to-end behaviour of the `cseek` binary on good and bad input.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn cseek(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cseek"))
        .args(args)
        .current_dir(cwd)
        .env_remove("CSEEK_INDEX")
        // Lexical-only: these tests are about walking, chunking, storage and the CLI;
        // tests/semantic.rs covers models.
        .env("CSEEK_MODEL", "none")
        .output()
        .expect("run cseek")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, bytes).unwrap();
}

fn sample_repo(root: &Path) {
    write(
        root,
        "src/config.py",
        b"import os\n\n\ndef parse_config(path):\n    \"\"\"Read the configuration file.\"\"\"\n    with open(path) as f:\n        return f.read()\n\n\nclass Loader:\n    def load(self, path):\n        return parse_config(path)\n",
    );
    write(
        root,
        "src/net.rs",
        b"/// Retry a request.\npub fn retry_request(max_retries: u32) -> bool {\n    max_retries > 0\n}\n\npub struct Client;\n\nimpl Client {\n    pub fn send(&self) {}\n}\n",
    );
    write(root, "README.md", b"# Sample\n\nA sample repository.\n");
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("bad json ({e}): {}", stdout(o)))
}

#[test]
fn index_query_status_languages() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    sample_repo(root);
    let o = cseek(root, &["index", "."]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("indexed 3 files"), "{}", stderr(&o));
    assert!(root.join(".cseek/.gitignore").is_file());

    // Found upward from a subdirectory; paths relative to the indexed root.
    let o = cseek(
        &root.join("src"),
        &["query", "parse_config", "--json", "--top-k", "3"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["query"], "parse_config");
    let first = &v["results"][0];
    assert_eq!(first["path"], "src/config.py");
    assert_eq!(first["symbol"], "parse_config");
    assert_eq!(first["kind"], "function");
    assert_eq!(first["language"], "python");
    assert_eq!(first["start_line"], 4);
    assert_eq!(first["end_line"], 7);
    assert!(first["text"]
        .as_str()
        .unwrap()
        .starts_with("def parse_config"));

    // Text output: path:start-end symbol score.
    let o = cseek(root, &["query", "retry", "request"]);
    assert!(o.status.success());
    assert!(
        stdout(&o).starts_with("src/net.rs:1-4  retry_request"),
        "{}",
        stdout(&o)
    );

    // Filters.
    let o = cseek(root, &["query", "parse_config", "--json", "--lang", "rust"]);
    let v = json(&o);
    assert!(v["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["language"] == "rust"));
    let o = cseek(root, &["query", "sample", "--json", "--path", "*.md"]);
    let v = json(&o);
    assert_eq!(v["results"][0]["path"], "README.md");
    assert!(!cseek(root, &["query", "x", "--lang", "cobol"])
        .status
        .success());

    let o = cseek(root, &["status"]);
    assert!(o.status.success());
    let s = stdout(&o);
    assert!(s.contains("files      3"), "{s}");
    assert!(s.contains("python"), "{s}");
    let o = cseek(root, &["status", "--json"]);
    assert_eq!(json(&o)["meta"]["files"], 3);

    let o = cseek(root, &["languages", "--json"]);
    let v = json(&o);
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    for l in ["python", "rust", "go", "zig", "sql", "markdown"] {
        assert!(names.contains(&l), "{l} missing");
    }
}

#[test]
fn query_before_index_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let o = cseek(dir.path(), &["query", "anything"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cseek index"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
}

#[test]
fn empty_query_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    sample_repo(dir.path());
    assert!(cseek(dir.path(), &["index"]).status.success());
    let o = cseek(dir.path(), &["query", "  "]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("query is empty"), "{}", stderr(&o));
}

#[test]
fn empty_repo_indexes_and_queries() {
    let dir = tempfile::tempdir().unwrap();
    let o = cseek(dir.path(), &["index"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("indexed 0 files, 0 chunks"));
    let o = cseek(dir.path(), &["query", "x", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["results"].as_array().unwrap().len(), 0);
}

#[test]
fn bad_files_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    sample_repo(r);
    // One huge minified JS file (over the limit) and one big single-line one under it.
    let mut huge = b"var a=1;".repeat(200_000);
    huge.push(b'\n');
    write(r, "dist2/app.js", &huge);
    let mut long_line = b"function f(a){return a+1};".repeat(10_000);
    long_line.push(b'\n');
    write(r, "lib/bundle.js", &long_line);
    write(r, "src/blob.py", b"\x7fELF\0\0\x01binary");
    write(
        r,
        "src/latin1.py",
        b"# caf\xe9\ndef latin():\n    return 1\n",
    );
    write(
        r,
        "src/broken.py",
        b"def ok_before():\n    return 1\n\ndef broken():\n    x = = 2\n    y = )\n\ndef ok_after():\n    return 3\n",
    );
    let o = cseek(r, &["index", "--json-unused-flag-check"]);
    assert!(!o.status.success(), "unknown flags are rejected");
    let o = cseek(r, &["index"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&cseek(r, &["status", "--json"]));
    let meta = &v["meta"];
    assert_eq!(meta["skipped"]["too-large"], 1, "{meta}");
    assert_eq!(meta["skipped"]["binary"], 1, "{meta}");
    assert_eq!(meta["lossy_utf8_files"], 1, "{meta}");
    assert_eq!(meta["skipped_examples"]["binary"][0], "src/blob.py");

    // The syntax-error file is still chunked: its good definitions are findable.
    let v = json(&cseek(r, &["query", "ok_after", "--json"]));
    assert_eq!(v["results"][0]["path"], "src/broken.py");
    assert_eq!(v["results"][0]["symbol"], "ok_after");
    // The lossily decoded file is searchable too.
    let v = json(&cseek(r, &["query", "latin", "--json"]));
    assert_eq!(v["results"][0]["path"], "src/latin1.py");
    // The long single line is split into bounded chunks.
    let v = json(&cseek(
        r,
        &["query", "function", "--json", "--path", "lib/*", "-k", "50"],
    ));
    let results = v["results"].as_array().unwrap();
    assert!(results.len() > 10);
    assert!(results
        .iter()
        .all(|r| r["text"].as_str().unwrap().len() < 20_000));
}

#[cfg(unix)]
#[test]
fn symlink_loop_and_unreadable_file_do_not_abort() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    sample_repo(r);
    std::os::unix::fs::symlink(r.join("src"), r.join("src/loop")).unwrap();
    let o = cseek(r, &["index", "--follow"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&cseek(r, &["status", "--json"]));
    assert_eq!(v["meta"]["files"], 3);
    assert_eq!(v["meta"]["skipped"]["walk-error"], 1);
}

#[test]
fn newer_format_version_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    sample_repo(dir.path());
    assert!(cseek(dir.path(), &["index"]).status.success());
    let manifest = dir.path().join(".cseek/manifest.json");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        text.replace(
            &format!("\"format_version\": {}", cseek::store::FORMAT_VERSION),
            "\"format_version\": 99",
        ),
    )
    .unwrap();
    let o = cseek(dir.path(), &["query", "parse"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("format version 99"), "{e}");
    assert!(e.contains("newer cseek"), "{e}");
}

#[test]
fn damaged_index_is_reported_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    sample_repo(dir.path());
    assert!(cseek(dir.path(), &["index"]).status.success());
    let idx = dir.path().join(".cseek");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(idx.join("manifest.json")).unwrap()).unwrap();
    let gen = idx.join(manifest["generation"].as_str().unwrap());
    let chunks = gen.join("chunks.bin");
    let bytes = fs::read(&chunks).unwrap();
    fs::write(&chunks, &bytes[..bytes.len() - 5]).unwrap();
    let o = cseek(dir.path(), &["query", "parse"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("damaged") && e.contains("cseek index"), "{e}");

    fs::write(idx.join("manifest.json"), b"{not json").unwrap();
    let o = cseek(dir.path(), &["status"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("damaged"), "{}", stderr(&o));
}

#[test]
fn interrupted_reindex_leaves_previous_index_usable() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    sample_repo(r);
    assert!(cseek(r, &["index"]).status.success());
    // What a run killed mid-way leaves behind: a half-written temporary generation.
    let tmp = r.join(".cseek/tmp-gen-1-1");
    fs::create_dir_all(tmp.join("lexical")).unwrap();
    fs::write(tmp.join("chunks.bin"), b"partial").unwrap();
    let v = json(&cseek(r, &["query", "parse_config", "--json"]));
    assert_eq!(v["results"][0]["symbol"], "parse_config");
    // The next run cleans it up and switches generations; the old one goes too, since no
    // reader has it open (a reader's shared lock would keep it).
    write(r, "src/extra.py", b"def extra_thing():\n    pass\n");
    assert!(cseek(r, &["index"]).status.success());
    assert!(!tmp.exists());
    let v = json(&cseek(r, &["query", "extra_thing", "--json"]));
    assert_eq!(v["results"][0]["symbol"], "extra_thing");
    assert!(cseek(r, &["index"]).status.success());
    let gens = fs::read_dir(r.join(".cseek"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("gen-")
        })
        .count();
    assert_eq!(gens, 1, "only the current generation");
}

#[test]
fn index_flag_and_env_put_the_index_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let idx = dir.path().join("idx");
    sample_repo(&repo);
    let o = cseek(&repo, &["index", ".", "--index", idx.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!repo.join(".cseek").exists());
    let o = Command::new(env!("CARGO_BIN_EXE_cseek"))
        .args(["query", "parse_config", "--json"])
        .current_dir(dir.path())
        .env("CSEEK_INDEX", &idx)
        .env("CSEEK_MODEL", "none")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["results"][0]["path"], "src/config.py");
}

#[test]
fn output_formats_for_tools_and_editors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    sample_repo(root);
    assert!(cseek(root, &["index", "."]).status.success());
    let q = |format: &str, cwd: &Path| {
        let o = cseek(
            cwd,
            &["query", "parse config load", "--format", format, "-k", "5"],
        );
        assert!(o.status.success(), "{format}: {}", stderr(&o));
        stdout(&o)
    };
    // vimgrep: path:line:col:text, paths relative to the current directory.
    let v = q("vimgrep", root);
    assert!(!v.is_empty());
    for line in v.lines() {
        let parts: Vec<&str> = line.splitn(4, ':').collect();
        assert_eq!(parts.len(), 4, "{line}");
        assert!(root.join(parts[0]).is_file(), "{line}");
        assert!(parts[1].parse::<u32>().unwrap() >= 1, "{line}");
        assert_eq!(parts[2], "1", "{line}");
    }
    assert!(v.starts_with("src/config.py:"), "{v}");
    // From a subdirectory, paths stay openable from there.
    let sub = q("vimgrep", &root.join("src"));
    assert!(sub.starts_with("config.py:"), "{sub}");
    // files: unique paths, best first.
    let f = q("files", root);
    let files: Vec<&str> = f.lines().collect();
    let unique: std::collections::HashSet<&&str> = files.iter().collect();
    assert_eq!(unique.len(), files.len(), "{f}");
    assert_eq!(files[0], "src/config.py");
    // jsonl: one hit per line; json: one object; --json is the same as --format json.
    let l = q("jsonl", root);
    let hits: Vec<serde_json::Value> = l
        .lines()
        .map(|x| serde_json::from_str(x).unwrap())
        .collect();
    assert!(!hits.is_empty());
    assert_eq!(hits[0]["path"], "src/config.py");
    let j: serde_json::Value = serde_json::from_str(&q("json", root)).unwrap();
    assert_eq!(j["results"].as_array().unwrap().len(), hits.len());
    let alias = json(&cseek(
        root,
        &["query", "parse config load", "--json", "-k", "5"],
    ));
    assert_eq!(alias, j);
    // An unknown format is a usage error.
    let o = cseek(root, &["query", "x", "--format", "xml"]);
    assert!(!o.status.success());
}

#[test]
fn related_finds_similar_code_but_not_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    sample_repo(root);
    assert!(cseek(root, &["index", "."]).status.success());
    // Line 5 is inside parse_config (lines 4-7); Loader.load calls it.
    let o = cseek(root, &["query", "--related", "src/config.py:5", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    assert!(v["query"].as_str().unwrap().contains("parse_config"), "{v}");
    let hits = v["results"].as_array().unwrap();
    assert!(!hits.is_empty(), "{v}");
    assert!(
        hits.iter().all(|h| h["symbol"] != "parse_config"),
        "the source chunk came back: {v}"
    );
    assert!(hits.iter().any(|h| h["symbol"] == "load"), "{v}");
    // From a subdirectory, the path as typed there.
    let o = cseek(
        &root.join("src"),
        &["query", "--related", "config.py:5", "--format", "files"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // Bad places are one-line errors, exit code 2.
    for bad in ["src/config.py:999", "nope.py:1", "src/config.py"] {
        let o = cseek(root, &["query", "--related", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert_eq!(
            stderr(&o).trim().lines().count(),
            1,
            "{bad}: {}",
            stderr(&o)
        );
    }
}

/// Colour only on a terminal, never with `NO_COLOR`. A terminal comes from `script(1)`
/// (util-linux / bsdutils, on every Linux this runs on).
#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    const ESC: &str = "\x1b[";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    sample_repo(root);
    assert!(cseek(root, &["index", "."]).status.success());
    let piped = cseek(root, &["query", "parse_config"]);
    assert!(stdout(&piped).contains("parse_config"));
    assert!(!stdout(&piped).contains(ESC), "{}", stdout(&piped));

    let on_terminal = |no_color: bool| {
        let command = format!("{} query parse_config", env!("CARGO_BIN_EXE_cseek"));
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &command, "/dev/null"])
            .current_dir(root)
            .env_remove("CSEEK_INDEX")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR")
            .env("TERM", "xterm-256color");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let out = cmd.output().expect("run script(1)");
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let coloured = on_terminal(false);
    assert!(
        coloured.contains("parse_config") && coloured.contains(ESC),
        "{coloured:?}"
    );
    let plain = on_terminal(true);
    assert!(
        plain.contains("parse_config") && !plain.contains(ESC),
        "{plain:?}"
    );
}

#[test]
fn chunks_shows_how_a_file_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    sample_repo(root);
    let out = cseek(root, &["chunks", "src/config.py", "src/net.rs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("src/config.py:4-7  function  parse_config"),
        "{text}"
    );
    assert!(text.contains("Loader.load"), "{text}");
    assert!(
        text.contains("src/net.rs:1-4  function  retry_request"),
        "{text}"
    );
    let out = cseek(root, &["chunks", "--json", "src/config.py"]);
    let first: serde_json::Value = serde_json::from_str(
        stdout(&out)
            .lines()
            .find(|l| l.contains("parse_config"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["kind"], "function");
    assert!(first["text"]
        .as_str()
        .unwrap()
        .starts_with("def parse_config"));
    // A file type cseek does not index is a warning, not a failure; a missing file is.
    write(root, "logo.png", b"\x89PNG");
    let out = cseek(root, &["chunks", "logo.png"]);
    assert!(out.status.success() && stderr(&out).contains("not a file type"));
    assert!(!cseek(root, &["chunks", "missing.py"]).status.success());
    // A directory is walked as `cseek index` walks it: the binary file is left out.
    let out = cseek(root, &["chunks", "."]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("config.py:4-7  function  parse_config")
            && text.contains("net.rs:1-4  function  retry_request")
            && !text.contains("logo.png")
            && !stderr(&out).contains("not a file type"),
        "{text}"
    );
}

#[test]
fn index_only_updates_the_named_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    sample_repo(root);
    assert!(cseek(root, &["index", "."]).status.success());
    write(
        root,
        "src/config.py",
        b"def load_settings_file(path):\n    return path\n",
    );
    write(root, "src/net.rs", b"pub fn reconnect_socket_now() {}\n");
    let out = cseek(root, &["index", ".", "--only", "src/config.py", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = json(&out);
    assert_eq!(summary["files_changed"], 1, "{summary}");
    let found =
        |q: &str| json(&cseek(root, &["query", q, "--json"]))["results"][0]["symbol"].clone();
    assert_eq!(found("load_settings_file"), "load_settings_file");
    // src/net.rs was not named: the index still has its old content.
    assert_eq!(found("retry_request"), "retry_request");
    // A path outside the indexed directory is an error that says so.
    let out = cseek(root, &["index", ".", "--only", "/etc/hostname"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not under the indexed root"),
        "{}",
        stderr(&out)
    );
}
