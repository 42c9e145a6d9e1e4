//! Nothing a user can hand cseek makes it panic, abort or hang: damaged index files and
//! absurd numbers end in a result or an error.
//!
//! The mutation test builds small indexes (lexical-only with the binary; with vectors and
//! an HNSW graph through the library and a tiny random model), then, for every file of
//! the current generation, many times: damages a scratch copy of the file (flipped or
//! overwritten bytes, truncation, extension), opens the index and queries it in-process
//! (a panic is caught and fails the test with file and seed), and for a subset of the
//! attempts runs the `cseek` binary on it too (an abort shows up as a signal, a hang as a
//! blown deadline). Seeds are fixed, so a failure replays; `CSEEK_DAMAGE_ROUNDS=N`
//! multiplies the attempts per file for a deeper local run, `CSEEK_DAMAGE_SEED` changes
//! the seed, and `CSEEK_DAMAGE_VERBOSE=1` prints each attempt before it runs (to find an
//! in-process abort, which kills the test without a message).

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[cfg(feature = "embed")]
use cseek::embed::testkit::{write_tiny_model, TinySize};
#[cfg(feature = "embed")]
use cseek::embed::Arch;
#[cfg(feature = "embed")]
use cseek::index::{build_index, IndexOptions, ModelChoice, NoProgress};
use cseek::lang::Language;
use cseek::search::{Mode, SearchOptions, SearchRequest, Searcher, MAX_TOP_K};
#[cfg(feature = "embed")]
use cseek::vector::VectorDtype;

/// Mutations per file (before `CSEEK_DAMAGE_ROUNDS`); tantivy's files get more, they
/// are the ones whose reader trusts its input most.
const ATTEMPTS_PER_FILE: usize = 48;
const ATTEMPTS_PER_TANTIVY_FILE: usize = 96;
/// One attempt in this many also runs the binary.
const BINARY_EVERY: usize = 7;
/// A binary run or an in-process attempt taking longer than this is a hang.
const DEADLINE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// Fixture

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

const WORDS: &[&str] = &[
    "read", "file", "config", "parse", "retry", "request", "client", "cache", "token", "user",
    "session", "write", "socket", "buffer", "handler", "route", "query", "index", "store", "json",
];

/// A few Python, Rust and JavaScript files with enough functions (≈ 70 chunks) that the
/// HNSW graph gets more than one layer.
fn fixture_repo(root: &Path) {
    write(
        root,
        "src/files.py",
        "def read_file(path):\n    \"\"\"Read a whole file.\"\"\"\n    with open(path) as f:\n        return f.read()\n\n\ndef write_file(path, data):\n    with open(path, 'w') as f:\n        f.write(data)\n",
    );
    write(
        root,
        "src/net.py",
        "class Client:\n    def get(self, url, retries=3):\n        for _ in range(retries):\n            pass\n\n    def post(self, url, body):\n        return body\n",
    );
    write(
        root,
        "src/config.rs",
        "/// Load the configuration.\npub fn parse_config(text: &str) -> Config {\n    Config::default()\n}\n\npub struct Config {\n    pub retries: u32,\n}\n",
    );
    let w = |i: usize| WORDS[i % WORDS.len()];
    for f in 0..4 {
        let mut py = String::new();
        let mut rs = String::new();
        let mut js = String::new();
        for i in 0..6 {
            let (a, b, c) = (w(f * 7 + i), w(f * 3 + i * 5 + 1), w(i * 11 + f + 2));
            py.push_str(&format!(
                "def {a}_{b}_{i}(value):\n    \"\"\"{a} the {b} of a {c}.\"\"\"\n    return value + {i}\n\n\n"
            ));
            rs.push_str(&format!(
                "/// {c} {a} {b}.\npub fn {b}_{c}_{i}(x: u32) -> u32 {{\n    x * {i} + 1\n}}\n\n"
            ));
            js.push_str(&format!(
                "// {b} {c}\nfunction {c}{i}{a}(x) {{\n  return x + \"{a} {b}\";\n}}\n\n"
            ));
        }
        write(root, &format!("pkg{f}/mod{f}.py"), &py);
        write(root, &format!("crate{f}/lib{f}.rs"), &rs);
        write(root, &format!("web{f}/app{f}.js"), &js);
    }
}

fn cseek_cmd(hf_home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cseek"));
    cmd.env_remove("CSEEK_INDEX")
        .env_remove("CSEEK_MODEL")
        // Never reach out to the hub, never load a cached model.
        .env("HF_HUB_OFFLINE", "1")
        .env("HF_HOME", hf_home);
    cmd
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The generation directory named by `<index>/manifest.json` (whatever files it holds).
fn generation_dir(index: &Path) -> PathBuf {
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(index.join("manifest.json")).unwrap()).unwrap();
    index.join(manifest["generation"].as_str().unwrap())
}

/// Every file below `dir`, relative to it, sorted.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            fs::copy(&p, &dest).unwrap();
        }
    }
}

/// An index of the fixture repository, and what a query on it may use.
struct Fixture {
    name: &'static str,
    /// The pristine index directory (`.cseek`).
    index: PathBuf,
    vectors: bool,
}

fn lexical_fixture(base: &Path, hf_home: &Path) -> Fixture {
    let repo = base.join("repo-lexical");
    fixture_repo(&repo);
    let o = cseek_cmd(hf_home)
        .args(["index", ".", "--model", "none", "--quiet"])
        .current_dir(&repo)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    Fixture {
        name: "lexical",
        index: repo.join(".cseek"),
        vectors: false,
    }
}

/// Built through the library: the vector exact-scan threshold (0 here, so `graph.bin`
/// exists) and the graph's `m` (small, for several layers) are not CLI flags.
#[cfg(feature = "embed")]
fn vector_fixture(base: &Path, dtype: VectorDtype, name: &'static str) -> Fixture {
    let repo = base.join(format!("repo-{name}"));
    fixture_repo(&repo);
    let model = base.join(format!("model-{name}"));
    let size = TinySize {
        hidden: 32,
        ..TinySize::tiny()
    };
    write_tiny_model(&model, Arch::Bert, size, "").unwrap();
    let mut opts = IndexOptions::new(&repo);
    opts.model = ModelChoice::Named(model.to_str().unwrap().to_string());
    opts.embed.allow_download = false;
    opts.vectors.exact_threshold = 0;
    opts.vectors.m = 4;
    opts.vectors.dtype = dtype;
    let summary = build_index(&opts, &NoProgress).unwrap();
    assert!(summary.embedding.is_some());
    let gen = generation_dir(&opts.index_dir);
    assert!(gen.join("vectors/graph.bin").is_file(), "no graph built");
    Fixture {
        name,
        index: opts.index_dir,
        vectors: true,
    }
}

// ---------------------------------------------------------------------------------------
// Mutations

/// SplitMix64: seeded, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// `lexical/<segment>.term` for tantivy's `lexical/<32 hex digits>.term`: segment names
/// are random uuids, and seeds and the summary must not depend on them.
fn stable_name(name: &str) -> String {
    let is_uuid = |w: &str| w.len() == 32 && w.bytes().all(|b| b.is_ascii_hexdigit());
    name.split('/')
        .map(|part| match part.split_once('.') {
            Some((stem, ext)) if is_uuid(stem) => format!("<segment>.{ext}"),
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// An offset: anywhere, or (headers and footers being where lengths and offsets live)
/// near the start or the end of the file.
fn offset(rng: &mut Rng, len: usize) -> usize {
    match rng.below(4) {
        0 => rng.below(len.min(64)),
        1 => len - 1 - rng.below(len.min(64)),
        _ => rng.below(len),
    }
}

/// Replaces one number of a JSON file with an extreme one (counts, lengths, dims, doc
/// counts): byte flips alone mostly make JSON unparsable, which tests little.
fn mutate_json_number(rng: &mut Rng, bytes: &mut Vec<u8>) -> Option<String> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            runs.push(start..i);
        } else {
            i += 1;
        }
    }
    if runs.is_empty() {
        return None;
    }
    const EXTREME: &[&str] = &[
        "18446744073709551615",
        "18446744073709551616",
        "4294967295",
        "4294967296",
        "2147483648",
        "99999999999",
        "0",
        "1",
        "-1",
        "1e308",
        "0.5",
    ];
    let run = runs[rng.below(runs.len())].clone();
    let value = EXTREME[rng.below(EXTREME.len())];
    let old = String::from_utf8_lossy(&bytes[run.clone()]).into_owned();
    bytes.splice(run.clone(), value.bytes());
    Some(format!(
        "replaced number {old} at {} with {value}",
        run.start
    ))
}

/// Damages `bytes`; returns a description (kind and offsets) for failure messages.
fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>, json: bool) -> String {
    let len = bytes.len();
    if json && rng.below(2) == 0 {
        if let Some(what) = mutate_json_number(rng, bytes) {
            return what;
        }
    }
    let kind = if len == 0 { 9 } else { rng.below(10) };
    match kind {
        // Flip 1–8 random bytes (the common case).
        0..=4 => {
            let n = 1 + rng.below(8);
            let mut at = Vec::new();
            for _ in 0..n {
                let i = offset(rng, len);
                bytes[i] ^= 1 + rng.below(255) as u8;
                at.push(i);
            }
            format!("flipped bytes at {at:?}")
        }
        // Overwrite a 4- or 8-byte word with an extreme value: huge lengths and counts.
        5 | 6 => {
            let width = if rng.below(2) == 0 { 4 } else { 8 };
            let i = offset(rng, len).min(len.saturating_sub(width));
            let value: u64 = match rng.below(4) {
                0 => u64::MAX,
                1 => 0,
                2 => 0x7FFF_FFFF,
                _ => rng.next(),
            };
            let end = (i + width).min(len);
            bytes[i..end].copy_from_slice(&value.to_le_bytes()[..end - i]);
            format!("overwrote {} bytes at {i} with {value:#x}", end - i)
        }
        // Truncate.
        7 | 8 => {
            let to = rng.below(len);
            bytes.truncate(to);
            format!("truncated to {to} of {len} bytes")
        }
        // Extend with random bytes (or, for an empty file, give it some).
        _ => {
            let extra = 1 + rng.below(64);
            for _ in 0..extra {
                bytes.push(rng.next() as u8);
            }
            format!("appended {extra} bytes to {len}")
        }
    }
}

// ---------------------------------------------------------------------------------------
// Attempts

/// Queries of different kinds: words, a symbol, one plain word naming a definition.
const QUERIES: &[&str] = &["read a file", "parse_config", "Client", "retry handler"];

fn modes(vectors: bool) -> &'static [Mode] {
    if vectors {
        &[Mode::Auto, Mode::Lexical, Mode::Semantic, Mode::Hybrid]
    } else {
        &[Mode::Auto, Mode::Lexical]
    }
}

fn search_options() -> SearchOptions {
    let mut o = SearchOptions::default();
    o.embed.allow_download = false;
    o
}

/// How an in-process attempt ended (a panic is caught by the caller).
enum Outcome {
    /// The index opened and every query answered.
    Ok,
    /// Opening failed with an error.
    OpenError,
    /// The index opened, some query failed with an error.
    QueryError,
}

/// Opens and queries the (damaged) index in-process. Errors are fine; a panic is not.
fn library_attempt(index: &Path, vectors: bool, rng: &mut Rng) -> Outcome {
    let Ok(searcher) = Searcher::open_with(index, search_options()) else {
        return Outcome::OpenError;
    };
    let mut outcome = Outcome::Ok;
    for _ in 0..3 {
        let mut req = SearchRequest::new(QUERIES[rng.below(QUERIES.len())])
            .mode(modes(vectors)[rng.below(modes(vectors).len())])
            .top_k(1 + rng.below(20));
        match rng.below(4) {
            0 => req.languages = vec![Language::Python],
            1 => req.path_glob = Some("crate*/**".into()),
            _ => {}
        }
        // Keep querying after an error: a damaged part may only break some queries.
        if searcher.search(&req).is_err() {
            outcome = Outcome::QueryError;
        }
    }
    outcome
}

fn start_binary(index: &Path, vectors: bool, rng: &mut Rng, hf_home: &Path) -> (Child, String) {
    let query = QUERIES[rng.below(QUERIES.len())];
    let mode = modes(vectors)[rng.below(modes(vectors).len())].name();
    let mut cmd = cseek_cmd(hf_home);
    cmd.arg("--index")
        .arg(index)
        .args(["query", query, "--json", "--mode", mode])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    limit_memory(&mut cmd);
    let desc = format!("cseek query {query:?} --mode {mode}");
    (cmd.spawn().unwrap(), desc)
}

/// Address space a binary run may use: a runaway allocation then fails at once (an
/// abort, reported with its input) instead of eating the machine's memory until the
/// deadline. Far above what a query on the fixture needs.
const CHILD_MEMORY: u64 = 8 << 30;

#[cfg(unix)]
fn limit_memory(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only calls
    // setrlimit, which is async-signal-safe; it allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: CHILD_MEMORY as libc::rlim_t,
                rlim_max: CHILD_MEMORY as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn limit_memory(_cmd: &mut Command) {}

/// Waits for `child` until the deadline (then kills it: a hang).
fn wait_with_deadline(mut child: Child) -> (Option<ExitStatus>, String) {
    let started = Instant::now();
    let mut err = child.stderr.take().unwrap();
    // Read stderr on a thread so a chatty child cannot block on a full pipe.
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    (status, reader.join().unwrap_or_default())
}

#[derive(Default)]
struct Counts {
    attempts: usize,
    ok: usize,
    open_errors: usize,
    query_errors: usize,
    binary: usize,
}

/// What is running now: since when, a description, and the binary's pid if one runs.
type Current = Arc<Mutex<(Instant, String, Option<u32>)>>;

/// Ends the whole test process with a message when one in-process attempt runs past the
/// deadline (a hang cannot be interrupted from inside), killing the binary it started.
fn watchdog(current: Current) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        let (since, what, child) = current.lock().unwrap().clone();
        if !what.is_empty() && since.elapsed() > DEADLINE {
            eprintln!("HANG: in-process attempt running for {DEADLINE:?}: {what}");
            if let Some(pid) = child {
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            }
            std::process::exit(3);
        }
    });
}

/// Panics caught by cseek's containment (see `quiet_contained_panics`), by location.
static CAUGHT: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

/// Like the `cseek` binary: panics that cseek contains (tantivy on a damaged file) are
/// not printed; they are counted by location instead, for the summary. Others print.
fn quiet_contained_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if cseek::lexical::panic_is_contained() {
            let at = info
                .location()
                .map(|l| {
                    // Shorten registry paths to `crate-x.y.z/src/…`.
                    let file = l.file();
                    let file = file.rfind("/registry/src/").map_or(file, |i| {
                        let rest = &file[i + "/registry/src/".len()..];
                        rest.find('/').map_or(rest, |j| &rest[j + 1..])
                    });
                    format!("{file}:{}", l.line())
                })
                .unwrap_or_default();
            *CAUGHT.lock().unwrap().entry(at).or_default() += 1;
        } else {
            default(info);
        }
    }));
}

#[test]
fn damaged_index_files_never_panic_abort_or_hang() {
    quiet_contained_panics();
    let tmp = tempfile::tempdir().unwrap();
    let hf_home = tmp.path().join("hf");
    fs::create_dir_all(&hf_home).unwrap();
    let rounds: usize = std::env::var("CSEEK_DAMAGE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let base_seed: u64 = std::env::var("CSEEK_DAMAGE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED);
    let verbose = std::env::var_os("CSEEK_DAMAGE_VERBOSE").is_some();

    #[allow(unused_mut)] // only pushed to with the embedding engine
    let mut fixtures = vec![lexical_fixture(tmp.path(), &hf_home)];
    // A lexical-only build (`--no-default-features`) has no model to build vectors with.
    #[cfg(feature = "embed")]
    fixtures.extend([
        vector_fixture(tmp.path(), VectorDtype::F32, "vectors-f32"),
        vector_fixture(tmp.path(), VectorDtype::F16, "vectors-f16"),
    ]);
    let current: Current = Arc::new(Mutex::new((Instant::now(), String::new(), None)));
    watchdog(current.clone());

    let started = Instant::now();
    let mut failures: Vec<String> = Vec::new();
    let mut table: BTreeMap<String, Counts> = BTreeMap::new();
    let mut attempt_no = 0usize;
    // Binary runs that reported a panic caught inside tantivy (quietly, as one line).
    let mut binary_contained = 0usize;
    for fx in &fixtures {
        // The pristine index answers (else the test would prove nothing).
        let s = Searcher::open_with(&fx.index, search_options()).unwrap();
        for &mode in modes(fx.vectors) {
            let r = s
                .search(&SearchRequest::new("read a file").mode(mode))
                .unwrap();
            assert!(!r.hits.is_empty(), "{}: no hits in mode {mode:?}", fx.name);
        }
        drop(s);

        let scratch = tmp.path().join(format!("scratch-{}", fx.name));
        copy_dir(&fx.index, &scratch);
        let gen = generation_dir(&scratch);
        // The manifest, then every file of the generation, named relative to it.
        // Tantivy's lock files (created by readers) are not index data.
        let mut files = vec![(
            "../manifest.json".to_string(),
            scratch.join("manifest.json"),
        )];
        files.extend(
            files_below(&gen)
                .into_iter()
                .filter(|p| !p.to_string_lossy().contains(".tantivy-"))
                .map(|rel| (rel.to_string_lossy().replace('\\', "/"), gen.join(rel))),
        );
        let gen_name = gen.file_name().unwrap().to_string_lossy().into_owned();
        for (rel_name, path) in &files {
            let key = format!("{}: {rel_name}", fx.name);
            // Seeds must not depend on tantivy's random segment names.
            let stable = format!("{}: {}", fx.name, stable_name(rel_name));
            let pristine = fs::read(path).unwrap();
            let tantivy = rel_name.starts_with("lexical/");
            let n = rounds
                * if tantivy {
                    ATTEMPTS_PER_TANTIVY_FILE
                } else {
                    ATTEMPTS_PER_FILE
                };
            let counts = table.entry(key.clone()).or_default();
            for i in 0..n {
                attempt_no += 1;
                let seed =
                    base_seed ^ fnv(&stable) ^ (i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
                let mut rng = Rng(seed);
                let mut bytes = pristine.clone();
                let what = mutate(&mut rng, &mut bytes, rel_name.ends_with(".json"));
                fs::write(path, &bytes).unwrap();
                let desc = format!("{key} (generation {gen_name}): {what}, seed {seed:#x}");
                if verbose {
                    eprintln!("attempt {attempt_no}: {desc}");
                }
                counts.attempts += 1;

                // The binary runs alongside the in-process attempt (both only read).
                let child = attempt_no
                    .is_multiple_of(BINARY_EVERY)
                    .then(|| start_binary(&scratch, fx.vectors, &mut rng, &hf_home));

                *current.lock().unwrap() = (
                    Instant::now(),
                    desc.clone(),
                    child.as_ref().map(|(c, _)| c.id()),
                );
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    library_attempt(&scratch, fx.vectors, &mut rng)
                }));
                {
                    let mut cur = current.lock().unwrap();
                    cur.1.clear();
                    cur.2 = None;
                }
                match outcome {
                    Ok(Outcome::Ok) => counts.ok += 1,
                    Ok(Outcome::OpenError) => counts.open_errors += 1,
                    Ok(Outcome::QueryError) => counts.query_errors += 1,
                    Err(payload) => {
                        let msg = payload
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| payload.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        failures.push(format!("PANIC in the library: {desc}: {msg}"));
                    }
                }

                if let Some((child, cmd)) = child {
                    counts.binary += 1;
                    let (status, err) = wait_with_deadline(child);
                    match status {
                        None => failures.push(format!("HANG of `{cmd}`: {desc}")),
                        Some(s) if !matches!(s.code(), Some(0 | 2)) => failures.push(format!(
                            "`{cmd}` exited with {s} (signal = abort, 101 = panic): {desc}\n{err}"
                        )),
                        Some(_) if err.contains("panicked") => {
                            failures.push(format!("`{cmd}` printed a panic message: {desc}\n{err}"))
                        }
                        // An error is one line that says what is wrong.
                        Some(s)
                            if s.code() == Some(2)
                                && (err.lines().count() != 1 || !err.starts_with("error:")) =>
                        {
                            failures.push(format!(
                                "`{cmd}` did not print one error line: {desc}\n{err}"
                            ))
                        }
                        Some(_) => {
                            if err.contains("tantivy failed") {
                                binary_contained += 1;
                            }
                        }
                    }
                }
            }
            fs::write(path, &pristine).unwrap();
        }
    }

    let total: usize = table.values().map(|c| c.attempts).sum();
    let binary: usize = table.values().map(|c| c.binary).sum();
    eprintln!(
        "{:<52} {:>8} {:>6} {:>6} {:>6} {:>6}",
        "file (generation-relative)", "attempts", "ok", "open!", "query!", "binary"
    );
    for (file, c) in &table {
        let file = stable_name(file);
        eprintln!(
            "{file:<52} {:>8} {:>6} {:>6} {:>6} {:>6}",
            c.attempts, c.ok, c.open_errors, c.query_errors, c.binary
        );
    }
    let caught = CAUGHT.lock().unwrap();
    if !caught.is_empty() {
        eprintln!("panics inside tantivy caught by cseek (location: count):");
        for (at, n) in caught.iter() {
            eprintln!("  {at}: {n}");
        }
    }
    eprintln!(
        "{total} mutations ({binary} also through the binary, {binary_contained} of which \
         reported a caught tantivy panic as one error line) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {total} damaged indexes were not handled:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Three fixtures; a lexical-only build has the lexical one alone (≈ 1,150 mutations).
    let min_total = if cfg!(feature = "embed") { 2000 } else { 1000 };
    assert!(total >= min_total, "only {total} mutations");
    let tantivy: usize = table
        .iter()
        .filter(|(f, _)| f.contains(": lexical/"))
        .map(|(_, c)| c.attempts)
        .sum();
    assert!(tantivy >= 500, "only {tantivy} mutations of tantivy files");
}

// ---------------------------------------------------------------------------------------
// Absurd numbers

fn run(cmd: &mut Command) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.code().is_some(),
        "killed by a signal: {}",
        stderr(&out)
    );
    out
}

#[test]
fn absurd_top_k_is_an_error_and_zero_is_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let hf_home = tmp.path().join("hf");
    fs::create_dir_all(&hf_home).unwrap();
    let fx = lexical_fixture(tmp.path(), &hf_home);
    let repo = fx.index.parent().unwrap();
    let query = |k: &str| {
        run(cseek_cmd(&hf_home)
            .args(["query", "read a file", "--json", "-k", k])
            .current_dir(repo))
    };
    for k in [
        "100000000000000",
        "18446744073709551615",
        &(MAX_TOP_K + 1).to_string(),
    ] {
        let o = query(k);
        assert_eq!(o.status.code(), Some(2), "-k {k}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(&MAX_TOP_K.to_string()), "-k {k}: {e}");
        assert!(!e.contains("panicked"), "-k {k}: {e}");
    }
    // Not a number for clap: a usage error, exit code 2.
    for k in ["18446744073709551616", "-1", "1e3"] {
        let o = query(k);
        assert_eq!(o.status.code(), Some(2), "-k {k}: {}", stderr(&o));
    }
    let o = query("0");
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["results"].as_array().map(Vec::len), Some(0));
    let o = query(&MAX_TOP_K.to_string());
    assert!(o.status.success(), "{}", stderr(&o));

    // The library says the same.
    let s = Searcher::open(&fx.index).unwrap();
    let e = s
        .search(&SearchRequest::new("read").top_k(usize::MAX))
        .unwrap_err();
    assert!(matches!(e, cseek::Error::InvalidOption(_)), "{e}");
    assert!(s
        .search(&SearchRequest::new("read").top_k(0))
        .unwrap()
        .hits
        .is_empty());
    // A huge candidate depth is bounded by the index, not allocated.
    let mut opts = search_options();
    opts.depth = usize::MAX;
    let s = Searcher::open_with(&fx.index, opts).unwrap();
    assert!(!s
        .search(&SearchRequest::new("read a file"))
        .unwrap()
        .hits
        .is_empty());
}

#[test]
fn absurd_cli_numbers_never_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let hf_home = tmp.path().join("hf");
    fs::create_dir_all(&hf_home).unwrap();
    let fx = lexical_fixture(tmp.path(), &hf_home);
    let repo = fx.index.parent().unwrap().to_path_buf();
    let q = |args: &[&str]| {
        let mut all = vec!["query", "read a file", "--json"];
        all.extend_from_slice(args);
        let o = run(cseek_cmd(&hf_home).args(&all).current_dir(&repo));
        assert!(
            matches!(o.status.code(), Some(0 | 2)),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
        o
    };
    // Fusion and ranking strengths: not finite is an error naming the flag; finite but
    // extreme values are accepted and still give results.
    for flag in [
        "--rrf-k",
        "--lexical-weight",
        "--semantic-weight",
        "--symbol-semantic-weight",
        "--file-decay",
        "--noise-penalty",
        "--path-boost",
        "--identifier-boost",
        "--definition-boost",
        "--coherence",
    ] {
        for v in ["NaN", "inf", "-inf", "1e39"] {
            let o = q(&[&format!("{flag}={v}")]);
            assert_eq!(o.status.code(), Some(2), "{flag} {v}");
            assert!(stderr(&o).contains(flag), "{flag} {v}: {}", stderr(&o));
        }
        for v in ["0", "-1e30", "1e30", "-1"] {
            q(&[&format!("{flag}={v}")]);
        }
    }
    q(&["--lines", "18446744073709551615"]);
    q(&["--lines", "0"]);

    // Index numbers.
    let run_index = |args: &[&str]| {
        let mut all = vec!["index", ".", "--model", "none", "--quiet"];
        all.extend_from_slice(args);
        let o = run(cseek_cmd(&hf_home).args(&all).current_dir(&repo));
        assert!(
            matches!(o.status.code(), Some(0 | 2)),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
        o
    };
    assert_eq!(
        run_index(&["--max-file-size", "99999999999G"])
            .status
            .code(),
        Some(2)
    );
    assert!(run_index(&["--max-file-size", "18446744073709551615"])
        .status
        .success());
    assert!(run_index(&["--max-file-size", "0"]).status.success());
    assert!(run_index(&["--max-chunk-bytes", "0"]).status.success());
    assert!(run_index(&["--max-chunk-bytes", "18446744073709551615"])
        .status
        .success());
    let o = q(&[]);
    assert!(o.status.success());
}

#[cfg(feature = "embed")]
#[test]
fn absurd_embed_numbers_never_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let hf_home = tmp.path().join("hf");
    fs::create_dir_all(&hf_home).unwrap();
    let model = tmp.path().join("model");
    write_tiny_model(&model, Arch::Bert, TinySize::tiny(), "").unwrap();
    let m = model.to_str().unwrap();
    let out = tmp.path().join("out");
    let out = out.to_str().unwrap();
    let max = "18446744073709551615";
    let embed = |args: &[&str]| {
        let mut all = vec!["embed", "--model", m, "--offline"];
        all.extend_from_slice(args);
        all.push("read a file");
        run(cseek_cmd(&hf_home).args(&all).current_dir(tmp.path()))
    };
    let distill = |args: &[&str]| {
        let mut all = vec!["model", "distill", "--from", m, "--out", out, "--offline"];
        all.extend_from_slice(args);
        run(cseek_cmd(&hf_home).args(&all).current_dir(tmp.path()))
    };
    let check = |o: &Output, want: Option<i32>, what: &str| {
        let e = stderr(o);
        assert!(!e.contains("panicked"), "{what}: {e}");
        match want {
            Some(code) => assert_eq!(o.status.code(), Some(code), "{what}: {e}"),
            None => assert!(matches!(o.status.code(), Some(0 | 2)), "{what}: {e}"),
        }
    };
    // Thousands of threads never finish starting: a bound, not a hang.
    for n in ["100000", max] {
        let o = embed(&["--threads", n]);
        check(&o, Some(2), "--threads");
        assert!(stderr(&o).contains("at most 256"), "{}", stderr(&o));
        let o = distill(&["--threads", n]);
        check(&o, Some(2), "distill --threads");
    }
    check(&embed(&["--threads", "0"]), Some(0), "--threads 0");
    check(&embed(&["--threads", "3"]), Some(0), "--threads 3");
    for flag in ["--max-tokens", "--dims", "--batch-tokens"] {
        for v in [max, "0", "1"] {
            check(&embed(&[flag, v]), None, &format!("embed {flag} {v}"));
        }
    }
    for (flag, v) in [
        ("--dims", max),
        ("--dims", "0"),
        ("--batch-tokens", max),
        ("--sif-coefficient", "NaN"),
        ("--sif-coefficient", "inf"),
        ("--sif-coefficient", "1e-300"),
    ] {
        check(&distill(&[flag, v]), None, &format!("distill {flag} {v}"));
    }
}

#[test]
fn absurd_library_numbers_are_bounded() {
    use cseek::lexical::LexicalIndex;
    use cseek::vector::{VectorIndex, VectorOptions, VectorWriter};

    // Vectors: k and ef far beyond the index, with and without a filter.
    let tmp = tempfile::tempdir().unwrap();
    let opts = VectorOptions {
        exact_threshold: 0,
        m: 4,
        ..VectorOptions::default()
    };
    let mut w = VectorWriter::create(tmp.path(), 8, &opts).unwrap();
    let mut rng = Rng(7);
    for _ in 0..200 {
        let mut v: Vec<f32> = (0..8).map(|_| rng.below(1000) as f32 - 500.0).collect();
        cseek::vector::normalize(&mut v);
        w.add(&v).unwrap();
    }
    assert!(w.finish().unwrap().graph);
    let mut index = VectorIndex::open(tmp.path()).unwrap();
    index.set_ef_search(usize::MAX);
    let q = [0.5f32, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0];
    let even = |id: u32| id.is_multiple_of(2);
    assert_eq!(index.search(&q, usize::MAX, None).unwrap().len(), 200);
    assert_eq!(
        index.search(&q, usize::MAX, Some(&even)).unwrap().len(),
        100
    );
    assert_eq!(index.search(&q, 0, None).unwrap().len(), 0);
    assert!(index.search(&[f32::NAN; 8], 5, None).is_err());

    // Lexical: a limit far beyond the document count.
    let hf_home = tmp.path().join("hf");
    fs::create_dir_all(&hf_home).unwrap();
    let fx = lexical_fixture(tmp.path(), &hf_home);
    let lexical = LexicalIndex::open(&generation_dir(&fx.index).join("lexical")).unwrap();
    let hits = lexical.search("read a file", usize::MAX, None).unwrap();
    assert!(!hits.is_empty() && hits.len() as u64 <= lexical.num_docs());
}
