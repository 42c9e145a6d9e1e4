//! Code-aware re-ranking of the fused candidate list.
//!
//! Retrieval scores chunks one at a time; a developer judges a result list as a whole.
//! Two signals fix what per-chunk scores cannot see, each switchable for ablation
//! (`cseek eval … --no-diversity`, `--noise-penalty 0`):
//!
//! - **Diversity**: the n-th chunk of the same file is worth less than the first (its
//!   score is multiplied by `file_decay^(n-1)`), so ten slots are not spent on one file
//!   unless its chunks are far ahead of everything else.
//! - **Noise penalty**: tests, examples, benchmarks, docs, vendored/compat code and
//!   declaration stubs (`.d.ts`) rank below the implementation they mirror — unless the
//!   query asks for them (`test`, `example`, `bench`, `doc` …).

use serde::Serialize;

/// Re-ranking parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RankParams {
    /// Multiplier applied per extra chunk of the same file (1 = off).
    pub file_decay: f32,
    /// Fraction of the score removed from noise paths (0 = off).
    pub noise_penalty: f32,
}

impl Default for RankParams {
    fn default() -> Self {
        RankParams {
            file_decay: 0.7,
            noise_penalty: 0.3,
        }
    }
}

/// One candidate: its score and what the re-ranker needs to know of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate<'a> {
    /// Index into the caller's list (returned in the new order).
    pub index: usize,
    /// Score from retrieval / fusion (higher is better).
    pub score: f32,
    /// Root-relative path of the chunk's file.
    pub path: &'a str,
}

/// Path components and file-name patterns of code that mirrors the implementation
/// rather than being it.
const NOISE_DIRS: &[&str] = &[
    "test",
    "tests",
    "testing",
    "__tests__",
    "spec",
    "specs",
    "example",
    "examples",
    "bench",
    "benches",
    "benchmark",
    "benchmarks",
    "doc",
    "docs",
    "vendor",
    "vendored",
    "third_party",
    "compat",
    "legacy",
    "deprecated",
    "fixtures",
    "mocks",
];

/// Query words that say the user wants exactly that kind of file.
const NOISE_WORDS: &[&str] = &[
    "test",
    "tests",
    "testing",
    "spec",
    "mock",
    "fixture",
    "example",
    "examples",
    "bench",
    "benchmark",
    "doc",
    "docs",
    "documentation",
    "vendor",
    "vendored",
    "compat",
    "legacy",
    "deprecated",
    "stub",
    "stubs",
    "typing",
    "types",
];

/// Whether a root-relative path is test/example/bench/docs/vendored code or a stub.
pub fn is_noise_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let mut components = lower.split('/').peekable();
    while let Some(c) = components.next() {
        let is_file = components.peek().is_none();
        if !is_file && NOISE_DIRS.contains(&c) {
            return true;
        }
        if is_file {
            let stem = c.split('.').next().unwrap_or(c);
            if stem.starts_with("test_")
                || stem.ends_with("_test")
                || stem.ends_with("_tests")
                || stem == "conftest"
                || c.contains(".test.")
                || c.contains(".spec.")
                || c.ends_with(".d.ts")
                || c.ends_with(".pyi")
            {
                return true;
            }
        }
    }
    false
}

/// Whether the query asks for tests, examples, docs … itself.
pub fn query_wants_noise(query: &str) -> bool {
    query
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| NOISE_WORDS.contains(&w.to_ascii_lowercase().as_str()))
}

/// Re-rank candidates (given best first). Returns them best first with adjusted scores.
pub fn rerank<'a>(
    query: &str,
    mut candidates: Vec<Candidate<'a>>,
    params: &RankParams,
) -> Vec<Candidate<'a>> {
    if params.noise_penalty > 0.0 && !query_wants_noise(query) {
        let keep = 1.0 - params.noise_penalty.clamp(0.0, 1.0);
        for c in &mut candidates {
            if is_noise_path(c.path) {
                c.score *= keep;
            }
        }
    }
    sort(&mut candidates);
    if params.file_decay < 1.0 {
        // Walk in score order: a file's n-th chunk gets decay^(n-1). Sorting again can
        // only move decayed chunks down, so one pass settles the order.
        let mut seen: std::collections::HashMap<&str, i32> = std::collections::HashMap::new();
        for c in &mut candidates {
            let n = seen.entry(c.path).or_insert(0);
            c.score *= params.file_decay.powi(*n);
            *n += 1;
        }
        sort(&mut candidates);
    }
    candidates
}

fn sort(c: &mut [Candidate<'_>]) {
    c.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(index: usize, score: f32, path: &str) -> Candidate<'_> {
        Candidate { index, score, path }
    }

    #[test]
    fn noise_paths() {
        for p in [
            "tests/test_app.py",
            "src/foo/tests/mod.rs",
            "lib/app.test.js",
            "types/index.d.ts",
            "examples/demo.rs",
            "docs/conf.py",
            "pkg/test_utils.py",
            "src/conftest.py",
        ] {
            assert!(is_noise_path(p), "{p}");
        }
        for p in [
            "src/app.py",
            "lib/router.js",
            "src/testing_utils_impl.rs",
            "contest.py",
            "latest/x.py",
        ] {
            assert!(!is_noise_path(p), "{p}");
        }
    }

    #[test]
    fn noise_is_demoted_unless_asked_for() {
        let params = RankParams {
            file_decay: 1.0,
            noise_penalty: 0.5,
        };
        let c = vec![cand(0, 1.0, "tests/test_a.py"), cand(1, 0.8, "src/a.py")];
        let out = rerank("parse config", c.clone(), &params);
        assert_eq!(out[0].path, "src/a.py");
        assert!((out[1].score - 0.5).abs() < 1e-6);
        let out = rerank("tests for parse config", c, &params);
        assert_eq!(out[0].path, "tests/test_a.py");
    }

    #[test]
    fn later_chunks_of_a_file_decay() {
        let params = RankParams {
            file_decay: 0.5,
            noise_penalty: 0.0,
        };
        // a.py: 1.0, 0.9 (→ 0.45), 0.8 (→ 0.2); b.py: 0.6
        let c = vec![
            cand(0, 1.0, "a.py"),
            cand(1, 0.9, "a.py"),
            cand(2, 0.8, "a.py"),
            cand(3, 0.6, "b.py"),
        ];
        let out = rerank("q", c, &params);
        let order: Vec<usize> = out.iter().map(|c| c.index).collect();
        assert_eq!(order, vec![0, 3, 1, 2]);
        assert!((out[2].score - 0.45).abs() < 1e-6);
        assert!((out[3].score - 0.2).abs() < 1e-6);
    }

    #[test]
    fn off_means_unchanged() {
        let params = RankParams {
            file_decay: 1.0,
            noise_penalty: 0.0,
        };
        let c = vec![cand(0, 1.0, "tests/a.py"), cand(1, 1.0, "tests/a.py")];
        assert_eq!(rerank("q", c.clone(), &params), c);
    }
}
