//! The live index: after any sequence of edits an incremental `cseek index` holds the same
//! chunks and identical vectors as a fresh build of the same tree, and answers the same;
//! nothing embedded once is embedded again; readers keep answering across commits; a
//! second writer is refused.

// Most tests here index with a (tiny) model; a lexical-only build (`--no-default-features`)
// runs the others and leaves the model tests' helpers unused.
#![cfg_attr(not(feature = "embed"), allow(dead_code))]

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[cfg(feature = "embed")]
use cseek::embed::testkit::{write_tiny_model, TinySize};
#[cfg(feature = "embed")]
use cseek::embed::Arch;
use cseek::index::{build_index, IndexOptions, ModelChoice, NoProgress, RunKind};
use cseek::lang::Language;
use cseek::search::{Mode, SearchRequest, Searcher};
use cseek::store::IndexLock;

/// SplitMix64: seeded, dependency-free.
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
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const VERBS: &[&str] = &[
    "read", "write", "parse", "load", "send", "retry", "open", "close", "merge", "split",
];
const NOUNS: &[&str] = &[
    "file", "config", "request", "buffer", "socket", "token", "header", "chunk", "cache", "index",
];

/// A source file of `n` functions in one of three languages.
fn random_source(rng: &mut Rng, ext: &str, n: usize) -> String {
    let mut out = String::new();
    for _ in 0..n {
        let (v, o) = (*rng.pick(VERBS), *rng.pick(NOUNS));
        let extra = rng.below(1000);
        match ext {
            "py" => out.push_str(&format!(
                "def {v}_{o}_{extra}(path):\n    \"\"\"{v} the {o}.\"\"\"\n    return {o}({extra})\n\n\n"
            )),
            "rs" => out.push_str(&format!(
                "/// {v} the {o}.\npub fn {v}_{o}_{extra}(x: u32) -> u32 {{\n    x + {extra}\n}}\n\n"
            )),
            _ => out.push_str(&format!(
                "// {v} the {o}\nfunction {v}{o}{extra}(a) {{\n  return a * {extra};\n}}\n\n"
            )),
        }
    }
    out
}

#[cfg(feature = "embed")]
fn tiny_model(dir: &Path) -> PathBuf {
    let size = TinySize {
        hidden: 32,
        ..TinySize::tiny()
    };
    write_tiny_model(dir, Arch::Bert, size, "").expect("write tiny model");
    dir.to_path_buf()
}

#[cfg(feature = "embed")]
fn options(root: &Path, index: &Path, model: &Path, rebuild: bool) -> IndexOptions {
    let mut o = IndexOptions::new(root);
    o.index_dir = index.to_path_buf();
    o.model = ModelChoice::Named(model.to_string_lossy().into_owned());
    o.rebuild = rebuild;
    // Exact vector search: an HNSW graph is approximate, and graphs built in different
    // orders answer differently below the top; the graph's incremental path is tested in
    // tests/vector.rs.
    o.vectors.exact_threshold = usize::MAX;
    o
}

type ChunkKey = (String, u32, u32, Option<String>, Option<String>, String);

/// Every live chunk of an index with its vector.
/// Options for a lexical-only index of `root` at `index`.
fn lexical_options(root: &Path, index: &Path) -> IndexOptions {
    let mut opts = IndexOptions::new(root);
    opts.index_dir = index.to_path_buf();
    opts.model = ModelChoice::Off;
    opts
}

fn snapshot(index: &Path) -> BTreeMap<ChunkKey, Vec<u32>> {
    let s = Searcher::open(index).expect("open");
    let store = s.store();
    let mut out = BTreeMap::new();
    for (_, f) in store.live_files() {
        for id in f.chunk_ids() {
            let c = store.chunk(id).unwrap();
            let v = s
                .vectors()
                .and_then(|v| v.vector(id))
                .expect("a vector per chunk");
            let key = (
                c.path.to_string(),
                c.start_line,
                c.end_line,
                c.symbol.map(str::to_string),
                c.container.map(str::to_string),
                c.text.to_string(),
            );
            // Bit patterns: "identical" means identical.
            let bits = v.iter().map(|x| x.to_bits()).collect();
            assert!(
                out.insert(key, bits).is_none(),
                "duplicate chunk in {index:?}"
            );
        }
    }
    out
}

/// Top-10 of a query as (path, line, score); `None` when the query is refused.
fn top10(s: &Searcher, q: &str, mode: Mode) -> Vec<(String, u32, f32)> {
    s.search(&SearchRequest::new(q).top_k(10).mode(mode))
        .map(|r| {
            r.hits
                .into_iter()
                .map(|h| (h.path, h.start_line, h.score))
                .collect()
        })
        .unwrap_or_default()
}

/// Same results, up to the order of equal scores: scores match position by position, and
/// the hits scoring above the last position's score are the same set.
fn same_results(a: &[(String, u32, f32)], b: &[(String, u32, f32)]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let close = |x: f32, y: f32| (x - y).abs() <= 1e-5 * (1.0 + x.abs());
    if !a.iter().zip(b).all(|(x, y)| close(x.2, y.2)) {
        return false;
    }
    let Some(cut) = a.last().map(|x| x.2) else {
        return true;
    };
    let above = |xs: &[(String, u32, f32)]| {
        let mut v: Vec<(String, u32)> = xs
            .iter()
            .filter(|x| x.2 > cut && !close(x.2, cut))
            .map(|x| (x.0.clone(), x.1))
            .collect();
        v.sort();
        v
    };
    above(a) == above(b)
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// The fixture tree, with every version each path has had (for reverts). Each write gets
/// a distinct mtime, old enough to be trusted, so the (size, mtime) fast path is what
/// detects changes.
struct Tree {
    root: PathBuf,
    history: HashMap<String, Vec<String>>,
    files: Vec<String>,
    age: u64,
}

impl Tree {
    fn write(&mut self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        self.age -= 1;
        set_mtime(&p, self.age);
        self.history
            .entry(rel.to_string())
            .or_default()
            .push(text.to_string());
        if !self.files.iter().any(|f| f == rel) {
            self.files.push(rel.to_string());
        }
    }
}

fn set_mtime(path: &Path, secs_ago: u64) {
    let f = fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs_ago))
        .unwrap();
}

#[cfg(feature = "embed")]
#[test]
fn random_edits_match_a_fresh_build() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    let model = tiny_model(&tmp.path().join("model"));
    let index = tmp.path().join("index");
    fs::create_dir_all(&root).unwrap();
    let mut rng = Rng(0x5eed_1234);
    let mut tree = Tree {
        root: root.clone(),
        history: HashMap::new(),
        files: Vec::new(),
        age: 1_000_000,
    };
    for i in 0..12 {
        let ext = *rng.pick(&["py", "rs", "js"]);
        let n = 1 + rng.below(4);
        let text = random_source(&mut rng, ext, n);
        tree.write(&format!("src/m{i}.{ext}"), &text);
    }
    let queries = [
        "read the file",
        "parse config",
        "retry request",
        "socket buffer",
        "load_cache",
        "token header split",
    ];
    let (mut incremental_runs, mut unchanged_runs, mut drift_steps) = (0, 0, 0);
    let mut embedded_total = 0u64;
    let mut max_diff = 0f32;
    let mut hybrid_near = 0;
    let steps = 200;
    for step in 0..steps {
        // One random edit (sometimes none).
        let action = rng.below(12);
        let mut expect_unchanged = false;
        match action {
            0..=2 => {
                let ext = *rng.pick(&["py", "rs", "js"]);
                let dir = *rng.pick(&["src", "lib", "src/deep"]);
                let n = 1 + rng.below(4);
                let text = random_source(&mut rng, ext, n);
                tree.write(&format!("{dir}/n{step}.{ext}"), &text);
            }
            3..=5 if !tree.files.is_empty() => {
                // Modify: append, drop, or replace a function.
                let rel = rng.pick(&tree.files).clone();
                let ext = rel.rsplit('.').next().unwrap().to_string();
                let old = fs::read_to_string(root.join(&rel)).unwrap();
                let text = match rng.below(3) {
                    0 => format!("{old}{}", random_source(&mut rng, &ext, 1)),
                    1 => old.split("\n\n").skip(1).collect::<Vec<_>>().join("\n\n"),
                    _ => {
                        let n = 1 + rng.below(4);
                        random_source(&mut rng, &ext, n)
                    }
                };
                tree.write(&rel, &text);
            }
            6 if tree.files.len() > 2 => {
                let i = rng.below(tree.files.len());
                let rel = tree.files.swap_remove(i);
                fs::remove_file(root.join(&rel)).unwrap();
            }
            7 | 8 if !tree.files.is_empty() => {
                // Rename (move to another directory, same name and content).
                let i = rng.below(tree.files.len());
                let rel = tree.files.swap_remove(i);
                let name = rel.rsplit('/').next().unwrap();
                let to = format!("moved{step}/{name}");
                fs::create_dir_all(root.join(format!("moved{step}"))).unwrap();
                fs::rename(root.join(&rel), root.join(&to)).unwrap();
                let versions = tree.history.remove(&rel).unwrap_or_default();
                tree.history.insert(to.clone(), versions);
                tree.files.push(to);
            }
            9 | 10 if !tree.files.is_empty() => {
                // Revert a file to an earlier version of its own.
                let rel = rng.pick(&tree.files).clone();
                let versions = tree.history.get(&rel).cloned().unwrap_or_default();
                if versions.len() > 1 {
                    let v = versions[rng.below(versions.len() - 1)].clone();
                    tree.write(&rel, &v);
                } else {
                    expect_unchanged = true;
                }
            }
            _ => expect_unchanged = true,
        }

        let inc = build_index(&options(&root, &index, &model, false), &NoProgress)
            .unwrap_or_else(|e| panic!("step {step}: {e}"));
        if expect_unchanged && step > 0 {
            assert_eq!(inc.kind, RunKind::Unchanged, "step {step}: nothing changed");
            unchanged_runs += 1;
        }
        if inc.kind == RunKind::Incremental {
            incremental_runs += 1;
        }
        embedded_total += inc.chunks_embedded;
        let fresh_dir = tmp.path().join(format!("fresh{}", step % 2));
        let _ = fs::remove_dir_all(&fresh_dir);
        let fresh = build_index(&options(&root, &fresh_dir, &model, true), &NoProgress).unwrap();
        assert_eq!(fresh.kind, RunKind::Full);
        assert_eq!(
            (inc.files, inc.chunks),
            (fresh.files, fresh.chunks),
            "step {step}"
        );

        // Same chunks, and the same vectors: a cold fresh build (which embedded everything
        // itself, in other batches) agrees to float rounding, and a --rebuild of the index
        // (vectors from its cache) bit for bit.
        let a = snapshot(&index);
        let b = snapshot(&fresh_dir);
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "step {step}: chunk sets differ"
        );
        for (k, v) in &a {
            let diff = v
                .iter()
                .zip(&b[k])
                .map(|(x, y)| (f32::from_bits(*x) - f32::from_bits(*y)).abs())
                .fold(0f32, f32::max);
            max_diff = max_diff.max(diff);
            // Batched inference rounds differently with other batch companions (≈ 1e-7);
            // a vector of another chunk would differ by ≈ 1.
            assert!(
                diff < 1e-5,
                "step {step}: vector of {k:?} differs by {diff}"
            );
        }
        // A --rebuild of the index: vectors from its cache, so bit-identical.
        let copy = tmp.path().join("rebuilt");
        let _ = fs::remove_dir_all(&copy);
        copy_dir(&index, &copy);
        let r = build_index(&options(&root, &copy, &model, true), &NoProgress).unwrap();
        assert_eq!(
            (r.kind, r.chunks_embedded),
            (RunKind::Full, 0),
            "step {step}"
        );
        assert!(snapshot(&copy) == a, "step {step}: --rebuild differs");

        // Same answers as the rebuilt index (identical vectors, fresh chunk ids, one merged
        // lexical segment): exactly, except that BM25 may drift while deleted documents
        // await a merge. (The cold build's answers are not compared: its vectors differ by
        // rounding, and re-ranking amplifies a swap of two near-equal scores.)
        let si = Searcher::open(&index).unwrap();
        let sr = Searcher::open(&copy).unwrap();
        let drift = si.lexical_deleted_docs() > 0;
        drift_steps += usize::from(drift);
        for q in queries {
            let (x, y) = (top10(&si, q, Mode::Semantic), top10(&sr, q, Mode::Semantic));
            assert!(
                same_results(&x, &y),
                "step {step} semantic {q:?}:\n{x:?}\n{y:?}"
            );
            for mode in [Mode::Lexical, Mode::Hybrid] {
                let (x, y) = (top10(&si, q, mode), top10(&sr, q, mode));
                if drift {
                    // Bounded drift: the same chunks mostly, in a similar order.
                    let xs: Vec<_> = x.iter().map(|h| (&h.0, h.1)).collect();
                    let common = y.iter().filter(|h| xs.contains(&(&h.0, h.1))).count();
                    assert!(
                        common + 3 >= y.len(),
                        "step {step} {mode:?} {q:?}: drift too large:\n{x:?}\n{y:?}"
                    );
                } else if mode == Mode::Lexical || same_results(&x, &y) {
                    assert!(
                        same_results(&x, &y),
                        "step {step} {mode:?} {q:?}:\n{x:?}\n{y:?}"
                    );
                } else {
                    // Hybrid fuses 100 candidates per list by rank. BM25 sums of several
                    // terms can round differently (1 ulp) in another segment layout, and
                    // a tie below the top 10 then moves a fused score by a rank's worth.
                    hybrid_near += 1;
                    let xs: Vec<_> = x.iter().map(|h| (&h.0, h.1)).collect();
                    let common = y.iter().filter(|h| xs.contains(&(&h.0, h.1))).count();
                    let near = x
                        .iter()
                        .zip(&y)
                        .all(|(a, b)| (a.2 - b.2).abs() <= 0.02 * b.2);
                    assert!(
                        common + 1 >= y.len() && near,
                        "step {step} {mode:?} {q:?}:\n{x:?}\n{y:?}"
                    );
                }
            }
        }
    }
    // The run was mostly incremental (compactions aside), no-change runs committed
    // nothing, and lexical results were exact most of the time.
    assert!(
        incremental_runs > steps / 2,
        "{incremental_runs} incremental runs"
    );
    assert!(unchanged_runs > 0);
    assert!(drift_steps < steps, "{drift_steps} steps with BM25 drift");
    // Rounding-level differences are rare, not the rule.
    assert!(
        hybrid_near * 20 < steps * queries.len(),
        "{hybrid_near} hybrid near-misses"
    );
    // Renames and reverts re-embed nothing: far fewer chunks were embedded than the fresh
    // builds did (each embeds the whole tree).
    let chunks_now = snapshot(&index).len() as u64;
    assert!(embedded_total < chunks_now * 3, "{embedded_total} embedded");
    eprintln!(
        "{steps} steps: {incremental_runs} incremental, {unchanged_runs} unchanged, \
         {drift_steps} with BM25 drift, {hybrid_near} hybrid answers equal only up to \
         rounding, {embedded_total} chunks embedded, max vector difference to a cold build \
         {max_diff:e}"
    );
}

/// Write `n` files of fresh functions, returning the chunk count they add.
fn add_batch(root: &Path, rng: &mut Rng, tag: &str, n: usize) {
    for i in 0..n {
        let text = random_source(rng, "py", 8);
        fs::write(root.join(format!("{tag}_{i}.py")), text).unwrap();
    }
}

fn summary_json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "bad json ({e}): {} / {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// `DIR/repo` with one Python file of two functions, and a tiny model in `DIR/model`
/// (returned as the `--model` argument).
#[cfg(feature = "embed")]
fn small_repo(dir: &Path) -> (PathBuf, String) {
    let root = dir.join("repo");
    fs::create_dir_all(&root).unwrap();
    let model = tiny_model(&dir.join("model"));
    fs::write(
        root.join("a.py"),
        "def alpha():\n    return 1\n\n\ndef beta():\n    return 2\n",
    )
    .unwrap();
    (root, model.to_string_lossy().into_owned())
}

/// `cseek index . --json --model MODEL EXTRA…` in `root`, which must succeed: its summary.
#[cfg(feature = "embed")]
fn index_json(root: &Path, model: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["index", ".", "--json", "--model", model];
    args.extend_from_slice(extra);
    let o = cseek_cmd(root).args(&args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    summary_json(&o)
}

fn cseek_cmd(root: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_cseek"));
    c.current_dir(root)
        .env_remove("CSEEK_INDEX")
        .env_remove("CSEEK_MODEL")
        .env("HF_HUB_OFFLINE", "1");
    c
}

/// Records in the embedding cache file(s) of an index: (bytes - header) / record size.
fn cache_records(index: &Path, dims: usize) -> u64 {
    let Ok(rd) = fs::read_dir(index.join("cache")) else {
        return 0;
    };
    rd.flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".bin"))
        .map(|e| (e.metadata().unwrap().len().saturating_sub(32)) / (40 + 4 * dims as u64))
        .sum()
}

#[cfg(feature = "embed")]
#[test]
fn killed_runs_resume_without_re_embedding() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    fs::create_dir_all(&root).unwrap();
    // A slower model than the equivalence test's, so kills land mid-embedding.
    let model = tmp.path().join("model");
    let size = TinySize {
        hidden: 128,
        layers: 4,
        ..TinySize::tiny()
    };
    write_tiny_model(&model, Arch::Bert, size, "").unwrap();
    let m = model.to_string_lossy().into_owned();
    let mut rng = Rng(42);
    add_batch(&root, &mut rng, "base", 5);
    let o = cseek_cmd(&root)
        .args(["index", ".", "--json", "--model", &m])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let index = root.join(".cseek");

    let mut kills = 0;
    let mut run_ms = 1500u64;
    for cycle in 0..24 {
        // New, never-seen chunks to embed.
        add_batch(&root, &mut rng, &format!("c{cycle}"), 40);
        let before = cache_records(&index, 128);
        let generation_before = fs::read_to_string(index.join("manifest.json")).unwrap();
        let mut child = cseek_cmd(&root)
            .args(["index", ".", "--json", "--model", &m])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let wait = rng.below(run_ms as usize + 1) as u64;
        std::thread::sleep(Duration::from_millis(wait));
        let killed = matches!(child.try_wait(), Ok(None));
        if !killed {
            // The run was done before the kill: aim the next kills earlier (a run's length
            // depends on the machine and its load).
            run_ms = (wait * 3 / 4).max(10);
        }
        // SIGKILL: no chance to clean up.
        unsafe_kill(child.id());
        let _ = child.wait();
        kills += usize::from(killed);
        let persisted = cache_records(&index, 128) - before;

        // The previous generation (or, if the run got to commit, the new one) answers.
        let q = cseek_cmd(&root)
            .args(["query", "read file", "--json"])
            .output()
            .unwrap();
        assert!(
            q.status.success(),
            "cycle {cycle}: query after kill: {}",
            String::from_utf8_lossy(&q.stderr)
        );
        let committed =
            fs::read_to_string(index.join("manifest.json")).unwrap() != generation_before;

        let o = cseek_cmd(&root)
            .args(["index", ".", "--json", "--model", &m])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let s = summary_json(&o);
        let embedded = s["chunks_embedded"].as_u64().unwrap();
        let cached = s["chunks_cached"].as_u64().unwrap();
        if committed {
            assert_eq!(
                embedded + cached,
                0,
                "cycle {cycle}: already committed: {s}"
            );
            continue;
        }
        let new_chunks = embedded + cached;
        // Everything the killed run persisted (but a torn last record) is reused.
        assert!(
            embedded <= new_chunks - persisted.min(new_chunks) + 1,
            "cycle {cycle}: embedded {embedded} of {new_chunks}, {persisted} were persisted"
        );
    }
    assert!(kills >= 20, "only {kills} runs were killed mid-way");
    // And the index is whole: verify reads every byte.
    let v = cseek_cmd(&root)
        .args(["status", "--verify"])
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
}

fn unsafe_kill(pid: u32) {
    // `Child::kill` sends SIGKILL on Unix, but needs the Child; the pid form keeps the
    // call site honest about what is sent.
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
}

#[test]
fn readers_keep_answering_across_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    fs::create_dir_all(&root).unwrap();
    let index = tmp.path().join("index");
    let mut rng = Rng(7);
    add_batch(&root, &mut rng, "a", 5);
    let opts = lexical_options(&root, &index);
    build_index(&opts, &NoProgress).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let queries = Arc::new(AtomicU64::new(0));
    let reloads = Arc::new(AtomicU64::new(0));
    let reader = {
        let (stop, queries, reloads, index) = (
            stop.clone(),
            queries.clone(),
            reloads.clone(),
            index.clone(),
        );
        std::thread::spawn(move || -> Result<(), String> {
            // One long-lived searcher that reloads, and fresh opens in between.
            let mut long = Searcher::open(&index).map_err(|e| e.to_string())?;
            let mut stale = Searcher::open(&index).map_err(|e| e.to_string())?;
            while !stop.load(Ordering::Relaxed) {
                for s in [&long, &stale] {
                    s.search(&SearchRequest::new("read file"))
                        .map_err(|e| format!("query: {e}"))?;
                }
                let fresh = Searcher::open(&index).map_err(|e| format!("open: {e}"))?;
                fresh
                    .search(&SearchRequest::new("parse_config"))
                    .map_err(|e| format!("fresh query: {e}"))?;
                if !long.is_current() {
                    long.reload().map_err(|e| format!("reload: {e}"))?;
                    reloads.fetch_add(1, Ordering::Relaxed);
                }
                // `stale` never reloads: its generation must stay readable.
                let _ = &mut stale;
                queries.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
    };
    let mut commits = 0;
    for i in 0..25 {
        add_batch(&root, &mut rng, &format!("w{i}"), 2);
        if i % 3 == 0 {
            let _ = fs::remove_file(root.join(format!("w{}_0.py", i.max(1) - 1)));
        }
        let s = build_index(&opts, &NoProgress).unwrap();
        commits += usize::from(s.kind != RunKind::Unchanged);
    }
    std::thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    let result = reader.join().unwrap();
    assert_eq!(result, Ok(()), "a reader failed during commits");
    assert!(commits >= 20, "{commits} commits");
    assert!(queries.load(Ordering::Relaxed) > 0);
    assert!(
        reloads.load(Ordering::Relaxed) > 0,
        "the searcher never saw a commit"
    );
    // Generations no reader holds were removed; at most the current and ones still
    // held remain (none now: every reader is gone), so the next run leaves one.
    add_batch(&root, &mut rng, "last", 1);
    build_index(&opts, &NoProgress).unwrap();
    let gens = fs::read_dir(&index)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("gen-"))
        .count();
    assert_eq!(gens, 1, "old generations were not removed");
}

#[test]
fn a_second_writer_is_refused_with_the_holders_pid() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("a.py"), "def f():\n    return 1\n").unwrap();
    let index = root.join(".cseek");
    let lock = IndexLock::acquire(&index).unwrap();
    // The library: a typed error, before any work.
    let mut opts = IndexOptions::new(&root);
    opts.model = ModelChoice::Off;
    match build_index(&opts, &NoProgress) {
        Err(cseek::Error::Locked { holder, .. }) => {
            assert_eq!(holder, Some(std::process::id()))
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    // The binary: one line naming the index and the pid, exit code 2.
    let o = cseek_cmd(&root)
        .args(["index", ".", "--model", "none"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("another cseek is writing"), "{err}");
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    drop(lock);
    let o = cseek_cmd(&root)
        .args(["index", ".", "--model", "none", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success());
}

#[cfg(feature = "embed")]
#[test]
fn json_summary_and_no_change_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, m) = small_repo(tmp.path());
    fs::write(root.join("b.py"), "def gamma():\n    return 3\n").unwrap();
    let run = |extra: &[&str]| index_json(&root, &m, extra);
    let first = run(&[]);
    for key in [
        "files",
        "chunks",
        "files_changed",
        "files_removed",
        "chunks_embedded",
        "chunks_cached",
        "seconds",
        "generation",
    ] {
        assert!(first.get(key).is_some(), "missing {key}: {first}");
    }
    assert_eq!(first["files"], 2);
    assert_eq!(first["chunks_embedded"], first["chunks"]);
    // Nothing changed: nothing committed, nothing embedded.
    let again = run(&[]);
    assert_eq!(again["generation"], first["generation"]);
    assert_eq!(again["kind"], "unchanged");
    assert_eq!(again["chunks_embedded"], 0);
    // A rename re-embeds nothing (the embedded text has no path in it): the cache serves
    // the moved file's chunks.
    fs::rename(root.join("b.py"), root.join("c.py")).unwrap();
    let renamed = run(&[]);
    assert_eq!(renamed["files_changed"], 1);
    assert_eq!(renamed["files_removed"], 1);
    assert_eq!(renamed["chunks_embedded"], 0, "{renamed}");
    assert_eq!(renamed["chunks_cached"], 1, "{renamed}");
    // A new function in a file: only it is embedded.
    fs::write(
        root.join("c.py"),
        "def gamma():\n    return 3\n\n\ndef delta():\n    return 4\n",
    )
    .unwrap();
    let edited = run(&[]);
    assert_eq!(edited["chunks_embedded"], 1, "{edited}");
    // Back to the earlier content and name: every vector is in the cache.
    fs::remove_file(root.join("c.py")).unwrap();
    fs::write(root.join("b.py"), "def gamma():\n    return 3\n").unwrap();
    let back = run(&[]);
    assert_eq!(back["chunks_embedded"], 0, "{back}");
    assert!(back["chunks_cached"].as_u64().unwrap() > 0);
    // --rebuild writes a fresh generation, from the cache.
    let rebuilt = run(&["--rebuild"]);
    assert_eq!(rebuilt["kind"], "full");
    assert_eq!(rebuilt["chunks_embedded"], 0);
    assert_eq!(rebuilt["chunks_cached"], first["chunks"]);
}

/// An index whose lexical part another cseek version wrote (its marker names another
/// format): queries say to re-index, and `cseek index` rebuilds it, vectors from the cache.
#[cfg(feature = "embed")]
#[test]
fn an_older_lexical_format_is_rebuilt_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, m) = small_repo(tmp.path());
    let index = || index_json(&root, &m, &[]);
    let query = || {
        cseek_cmd(&root)
            .args(["query", "alpha", "--format", "files"])
            .output()
            .unwrap()
    };
    let first = index();
    let gens: Vec<PathBuf> = fs::read_dir(root.join(".cseek"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("lexical").is_dir())
        .collect();
    assert_eq!(gens.len(), 1, "{gens:?}");
    let old = cseek::lexical::LEXICAL_FORMAT_VERSION - 1;
    fs::write(
        gens[0].join("lexical").join("cseek-lexical.version"),
        format!("cseek-lexical-format {old}\n"),
    )
    .unwrap();
    let refused = query();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains(&format!("format version {old}")) && err.contains("cseek index"),
        "{err}"
    );
    let rebuilt = index();
    assert_eq!(rebuilt["kind"], "full", "{rebuilt}");
    assert_eq!(rebuilt["chunks_embedded"], 0, "{rebuilt}");
    assert_eq!(rebuilt["chunks_cached"], first["chunks"], "{rebuilt}");
    let answered = query();
    assert!(
        answered.status.success(),
        "{}",
        String::from_utf8_lossy(&answered.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&answered.stdout).trim(), "a.py");
}

/// Cancels after it has seen `after` embedding reports with progress.
struct CancelAfter {
    after: u64,
    seen: AtomicU64,
}

impl cseek::index::Progress for CancelAfter {
    fn embedded(&self, done: u64, _total: u64) {
        if done > 0 {
            self.seen.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn cancelled(&self) -> bool {
        self.seen.load(Ordering::Relaxed) >= self.after
    }
}

#[cfg(feature = "embed")]
#[test]
fn a_cancelled_run_leaves_the_index_and_keeps_its_work() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    fs::create_dir_all(&root).unwrap();
    let model = tmp.path().join("model");
    let size = TinySize {
        hidden: 64,
        layers: 2,
        ..TinySize::tiny()
    };
    write_tiny_model(&model, Arch::Bert, size, "").unwrap();
    let index = tmp.path().join("index");
    let mut rng = Rng(99);
    add_batch(&root, &mut rng, "first", 2);
    let opts = options(&root, &index, &model, false);
    let first = build_index(&opts, &NoProgress).unwrap();
    // Many new chunks, then a cancel once embedding has started.
    add_batch(&root, &mut rng, "more", 150);
    let progress = CancelAfter {
        after: 1,
        seen: AtomicU64::new(0),
    };
    match build_index(&opts, &progress) {
        Err(cseek::Error::Cancelled) => {}
        other => panic!("expected Cancelled, got {other:?}"),
    }
    // The previous generation is still the current one and answers.
    let s = Searcher::open(&index).unwrap();
    assert_eq!(s.store().generation(), first.generation);
    assert_eq!(s.store().meta().files, first.files);
    // The next run finishes, and what the cancelled one embedded is not embedded again.
    let next = build_index(&opts, &NoProgress).unwrap();
    assert_eq!(next.kind, RunKind::Incremental);
    assert!(next.chunks_cached > 0, "{next:?}");
    assert_eq!(
        next.chunks_embedded + next.chunks_cached,
        next.chunks - first.chunks
    );
}

/// Paths of the files a lexical search finds.
fn hit_paths(index: &Path, q: &str) -> Vec<String> {
    let s = Searcher::open(index).unwrap();
    let mut paths: Vec<String> = top10(&s, q, Mode::Lexical)
        .into_iter()
        .map(|(p, _, _)| p)
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

#[test]
fn included_docs_are_searched_with_their_module_and_follow_edits() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    fs::create_dir_all(root.join("src/extract")).unwrap();
    fs::create_dir_all(root.join("src/docs")).unwrap();
    fs::write(
        root.join("src/extract/mod.rs"),
        "#![doc = include_str!(\"../docs/extract.md\")]\n\npub fn has_content_type() -> bool {\n    true\n}\n",
    )
    .unwrap();
    fs::write(
        root.join("src/docs/extract.md"),
        "# Extractors\n\nTypes for pulling zorblax values out of requests.\n",
    )
    .unwrap();
    // A path outside the indexed tree is not followed.
    fs::write(tmp.path().join("outside.md"), "quuxolotl secrets\n").unwrap();
    fs::write(
        root.join("src/lib.rs"),
        "#[doc = include_str!(\"../../outside.md\")]\npub fn f() {}\n",
    )
    .unwrap();
    let index = tmp.path().join("index");
    let opts = lexical_options(&root, &index);
    build_index(&opts, &NoProgress).unwrap();
    assert_eq!(
        hit_paths(&index, "zorblax"),
        ["src/docs/extract.md", "src/extract/mod.rs"]
    );
    assert!(hit_paths(&index, "quuxolotl").is_empty());

    // Nothing changed: nothing is re-chunked, though the includer is read again.
    let again = build_index(&opts, &NoProgress).unwrap();
    assert_eq!(again.files_changed, 0);

    // Only the included file changes: the module's chunk follows it.
    fs::write(
        root.join("src/docs/extract.md"),
        "# Extractors\n\nTypes for pulling flimflam values out of requests.\n",
    )
    .unwrap();
    let edited = build_index(&opts, &NoProgress).unwrap();
    assert_eq!(
        edited.files_changed, 2,
        "the doc and the module that includes it"
    );
    assert_eq!(
        hit_paths(&index, "flimflam"),
        ["src/docs/extract.md", "src/extract/mod.rs"]
    );
    assert!(hit_paths(&index, "zorblax").is_empty());
    // An editor's update of the included file alone (a scoped run) reaches the module too.
    fs::write(
        root.join("src/docs/extract.md"),
        "# Extractors\n\nTypes for pulling wibblewob values out of requests.\n",
    )
    .unwrap();
    let scoped = cseek::index::Indexer::new(opts.clone())
        .update_paths(&["src/docs/extract.md"], &NoProgress)
        .unwrap();
    assert_eq!(scoped.files_changed, 2);
    assert_eq!(
        hit_paths(&index, "wibblewob"),
        ["src/docs/extract.md", "src/extract/mod.rs"]
    );
    assert!(hit_paths(&index, "flimflam").is_empty());
    // An editor's unsaved buffer of the module keeps its included docs too.
    let s = Searcher::open(&index).unwrap();
    s.set_overlay(
        "src/extract/mod.rs",
        "#![doc = include_str!(\"../docs/extract.md\")]\n\npub fn typed_but_unsaved() {}\n",
    )
    .unwrap();
    let paths: Vec<String> = top10(&s, "wibblewob", Mode::Lexical)
        .into_iter()
        .map(|(p, _, _)| p)
        .collect();
    assert!(
        paths.contains(&"src/extract/mod.rs".to_string()),
        "{paths:?}"
    );
    // A fresh build of the same tree has the same answers.
    let mut fresh = opts.clone();
    fresh.index_dir = tmp.path().join("fresh");
    build_index(&fresh, &NoProgress).unwrap();
    assert_eq!(
        hit_paths(&fresh.index_dir, "wibblewob"),
        hit_paths(&index, "wibblewob")
    );
}

/// Counts the files a run reads (`Progress::start`).
#[derive(Default)]
struct CountReads(AtomicU64);

impl cseek::index::Progress for CountReads {
    fn start(&self, files: u64) {
        self.0.store(files, Ordering::Relaxed);
    }
}

#[test]
fn cpp_headers_named_h_are_indexed_as_cpp_and_kept_as_such() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    fs::create_dir_all(root.join("include")).unwrap();
    fs::write(
        root.join("include/sink.h"),
        "#pragma once\nnamespace log {\nclass RotatingSink {\n public:\n  void rotate();\n};\n}\n",
    )
    .unwrap();
    fs::write(
        root.join("include/uv.h"),
        "#ifdef __cplusplus\nextern \"C\" {\n#endif\nint uv_rotate(int fd);\n#ifdef __cplusplus\n}\n#endif\n",
    )
    .unwrap();
    fs::write(root.join("a.c"), "int rotate(void) { return 0; }\n").unwrap();
    // Old enough for their mtimes to be trusted by the next run.
    for f in ["include/sink.h", "include/uv.h", "a.c"] {
        set_mtime(&root.join(f), 60);
    }
    let index = tmp.path().join("index");
    let opts = lexical_options(&root, &index);
    build_index(&opts, &NoProgress).unwrap();
    let meta = cseek::store::Store::open(&index).unwrap().meta().clone();
    let files = |l: Language| meta.languages.get(&l).map_or(0, |c| c.files);
    assert_eq!((files(Language::Cpp), files(Language::C)), (1, 2));
    // `--lang cpp` finds the header's class; `--lang c` does not.
    let s = Searcher::open(&index).unwrap();
    let paths = |lang: Language| -> Vec<String> {
        let mut req = SearchRequest::new("RotatingSink rotate").mode(Mode::Lexical);
        req.languages = vec![lang];
        let mut p: Vec<String> = s
            .search(&req)
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.path)
            .collect();
        p.dedup();
        p
    };
    assert_eq!(paths(Language::Cpp), ["include/sink.h"]);
    assert!(!paths(Language::C).contains(&"include/sink.h".to_string()));
    drop(s);
    // Unchanged files are kept without reading them again, the C++ header too.
    let reads = CountReads::default();
    let again = build_index(&opts, &reads).unwrap();
    assert_eq!(again.files_changed, 0);
    assert_eq!(reads.0.load(Ordering::Relaxed), 0);
}

#[test]
fn objc_matlab_and_component_files_keep_the_language_their_text_says() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    fs::create_dir_all(root.join("src")).unwrap();
    let files = [
        (
            "src/Client.h",
            "#import <Foundation/Foundation.h>\n\nNS_ASSUME_NONNULL_BEGIN\n\n/// Retries requests.\n@interface RetryingClient : NSObject\n- (void)retryRequest:(NSURLRequest *)request;\n@end\n\nNS_ASSUME_NONNULL_END\n",
        ),
        (
            "src/Client.m",
            "#import \"Client.h\"\n\n@implementation RetryingClient\n\n- (void)retryRequest:(NSURLRequest *)request {\n  [self send:request];\n}\n\n@end\n",
        ),
        (
            "matlab/retry_solver.m",
            "function x = retry_solver(A, b)\n% Solves A x = b, retrying with a smaller step.\nx = A \\ b;\nend\n",
        ),
        ("src/dart/retry.dart", "/// Retries.\nFuture<void> retryRequest(Request r) async {\n  await r.send();\n}\n"),
        (
            "web/Retry.vue",
            "<template>\n  <button @click=\"retryRequest\">retry</button>\n</template>\n\n<script setup lang=\"ts\">\nfunction retryRequest(): void {\n  send()\n}\n</script>\n",
        ),
    ];
    for (f, text) in files {
        fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
        fs::write(root.join(f), text).unwrap();
        // Old enough for their mtimes to be trusted by the next run.
        set_mtime(&root.join(f), 60);
    }
    let index = tmp.path().join("index");
    let opts = lexical_options(&root, &index);
    build_index(&opts, &NoProgress).unwrap();
    let s = Searcher::open(&index).unwrap();
    let hits = s
        .search(&SearchRequest::new("retryRequest retry_solver").mode(Mode::Lexical))
        .unwrap()
        .hits;
    let found = |path: &str| {
        hits.iter()
            .find(|h| h.path == path)
            .map(|h| (h.language, h.symbol.clone()))
    };
    let expected = [
        // The header's method is found through the bare macro above its class.
        ("src/Client.h", Language::ObjC, "retryRequest"),
        ("src/Client.m", Language::ObjC, "retryRequest"),
        // MATLAB shares `.m`: it is text, cut by its layout.
        ("matlab/retry_solver.m", Language::Text, "retry_solver"),
        ("src/dart/retry.dart", Language::Dart, "retryRequest"),
        // A Vue component is the language of its script.
        ("web/Retry.vue", Language::TypeScript, "retryRequest"),
    ];
    for (path, language, symbol) in expected {
        assert_eq!(
            found(path),
            Some((language, Some(symbol.to_string()))),
            "{path}"
        );
    }
    drop(s);
    // Unchanged files are kept without reading them again, whatever their text made them.
    let reads = CountReads::default();
    let again = build_index(&opts, &reads).unwrap();
    assert_eq!(again.files_changed, 0);
    assert_eq!(reads.0.load(Ordering::Relaxed), 0);
}

#[test]
fn source_without_a_grammar_is_indexed_by_its_definitions() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    fs::create_dir_all(root.join("lib")).unwrap();
    fs::write(
        root.join("lib/client.clj"),
        "(ns app.client)\n\n(defn retry-with-backoff\n  \"Retries a request with backoff.\"\n  [request]\n  (send request))\n\n(defn -main [] (println \"x\"))\n",
    )
    .unwrap();
    fs::write(
        root.join("lib/kernel.cu"),
        "__global__ void axpy(float a) {}\n",
    )
    .unwrap();
    let index = tmp.path().join("index");
    let opts = lexical_options(&root, &index);
    let summary = build_index(&opts, &NoProgress).unwrap();
    assert_eq!(summary.files, 2);
    let s = Searcher::open(&index).unwrap();
    let hits = s
        .search(&SearchRequest::new("retry-with-backoff").mode(Mode::Lexical))
        .unwrap()
        .hits;
    let first = &hits[0];
    assert_eq!(first.path, "lib/client.clj");
    assert_eq!(first.symbol.as_deref(), Some("retry-with-backoff"));
    assert_eq!((first.start_line, first.end_line), (3, 6));
    assert_eq!(first.language, Language::Text);
    // CUDA is C++.
    let meta = s.store().meta().clone();
    assert_eq!(meta.languages.get(&Language::Cpp).map(|c| c.files), Some(1));
}

#[test]
fn an_index_from_a_newer_cseek_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("repo");
    fs::create_dir_all(&root).unwrap();
    fs::write(
        root.join("a.py"),
        "def read_file(path):\n    return open(path).read()\n",
    )
    .unwrap();
    let index = tmp.path().join("index");
    build_index(&lexical_options(&root, &index), &NoProgress).unwrap();
    // What a newer cseek writes: a language this one does not know, under a newer
    // chunker version.
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(index.join("manifest.json")).unwrap()).unwrap();
    let meta_path = index
        .join(manifest["generation"].as_str().unwrap())
        .join("meta.json");
    let mut meta: serde_json::Value =
        serde_json::from_slice(&fs::read(&meta_path).unwrap()).unwrap();
    let languages = meta["languages"].as_object_mut().unwrap();
    let python = languages.remove("python").unwrap();
    languages.insert("klingon".into(), python);
    let write = |meta: &serde_json::Value| {
        fs::write(&meta_path, serde_json::to_vec(meta).unwrap()).unwrap()
    };
    write(&meta);
    let damaged = Searcher::open(&index).err().unwrap().to_string();
    assert!(
        damaged.contains("damaged") && !damaged.contains("newer"),
        "{damaged}"
    );
    meta["chunker_version"] = serde_json::json!(cseek::chunk::CHUNKER_VERSION + 1);
    write(&meta);
    let newer = Searcher::open(&index).err().unwrap().to_string();
    assert!(
        newer.contains("a newer cseek wrote it") && newer.contains("--rebuild"),
        "{newer}"
    );
}
