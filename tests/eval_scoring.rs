//! Scoring of `cseek eval`, checked against hand-computed values.
//!
//! Notation: d(r) = 1 / log2(r + 1), so d(1) = 1, d(2) = 0.6309298, d(3) = 0.5,
//! d(4) = 0.4306766, d(5) = 0.3868528, d(10) = 0.2890648.

use std::collections::HashMap;
use std::path::Path;

use cseek::eval::beir::{parse_corpus, parse_qrels, parse_queries};
use cseek::eval::report::{EvalConfig, RepoReport, RepoRun};
use cseek::eval::score::{
    covers, path_matches, percentile, score_beir_query, score_query, target_ranks, QueryScore,
    RankedChunk, Target,
};
use cseek::eval::suite::{parse_annotations, parse_repos, RepoSpec};
use cseek::Error;

const EPS: f64 = 1e-6;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < EPS
}

#[track_caller]
fn assert_close(actual: f64, expected: f64) {
    assert!(close(actual, expected), "expected {expected}, got {actual}");
}

fn c(path: &str, a: u32, b: u32) -> RankedChunk {
    RankedChunk::new(path, a, b)
}

/// Ten chunks of files that match nothing.
fn noise(n: usize) -> Vec<RankedChunk> {
    (0..n)
        .map(|i| c(&format!("lib/noise{i}.js"), 1, 10))
        .collect()
}

#[test]
fn whole_file_and_span_targets() {
    let targets = [Target::file("lib/a.js"), Target::span("lib/b.js", 10, 20)];
    let chunks = [
        c("lib/b.js", 1, 9),   // rank 1: right file, ends before the span
        c("lib/a.js", 5, 8),   // rank 2: any chunk of a.js hits the whole-file target
        c("lib/b.js", 21, 30), // rank 3: starts after the span
        c("lib/b.js", 20, 25), // rank 4: overlaps the span at line 20
    ];
    assert_eq!(target_ranks(&chunks, &targets), vec![Some(2), Some(4)]);
    let s = score_query(&chunks, &targets);
    // DCG = d(2) + d(4) = 0.6309298 + 0.4306766 = 1.0616063
    // IDCG (2 targets) = d(1) + d(2) = 1.6309298;  NDCG = 1.0616063 / 1.6309298 = 0.6509209
    assert_close(s.ndcg, 0.650_920_9);
    // First chunk covering any target is rank 2: MRR = 1/2.  Both targets hit: recall 2/2.
    assert_close(s.mrr, 0.5);
    assert_close(s.recall, 1.0);
}

#[test]
fn span_overlap_boundaries() {
    let t = Target::span("a.py", 10, 20);
    assert!(covers(&c("a.py", 1, 10), &t)); // ends on the first line
    assert!(covers(&c("a.py", 20, 40), &t)); // starts on the last line
    assert!(covers(&c("a.py", 12, 13), &t)); // inside
    assert!(covers(&c("a.py", 1, 99), &t)); // around
    assert!(!covers(&c("a.py", 1, 9), &t));
    assert!(!covers(&c("a.py", 21, 40), &t));
    assert!(!covers(&c("b.py", 12, 13), &t)); // other file
}

#[test]
fn two_targets_hit_by_one_chunk_count_once() {
    let targets = [Target::file("a.py"), Target::span("a.py", 5, 9)];
    let chunks = [c("a.py", 1, 20), c("b.py", 1, 5)];
    assert_eq!(target_ranks(&chunks, &targets), vec![Some(1), Some(1)]);
    let s = score_query(&chunks, &targets);
    // distinct ranks {1}: DCG = d(1) = 1 (not 2);  IDCG = d(1) + d(2) = 1.6309298
    // NDCG = 1 / 1.6309298 = 0.6131472
    assert_close(s.ndcg, 0.613_147_2);
    assert_close(s.mrr, 1.0);
    assert_close(s.recall, 1.0); // both targets are covered
}

#[test]
fn only_the_first_covering_chunk_counts() {
    // The target is covered at ranks 2 and 3; its rank is 2 and rank 3 adds nothing.
    let targets = [Target::file("a.py")];
    let chunks = [c("b.py", 1, 5), c("a.py", 1, 5), c("a.py", 6, 9)];
    let s = score_query(&chunks, &targets);
    // DCG = d(2) = 0.6309298; IDCG = 1
    assert_close(s.ndcg, 0.630_929_8);
    assert_close(s.mrr, 0.5);
}

#[test]
fn target_at_rank_11_scores_zero_and_rank_10_does_not() {
    let targets = [Target::file("lib/a.js")];
    let mut chunks = noise(10);
    chunks.push(c("lib/a.js", 1, 5)); // rank 11
    assert_eq!(target_ranks(&chunks, &targets), vec![None]);
    assert_eq!(score_query(&chunks, &targets), QueryScore::default());

    let mut chunks = noise(9);
    chunks.push(c("lib/a.js", 1, 5)); // rank 10
    let s = score_query(&chunks, &targets);
    // NDCG = d(10) / d(1) = 1/log2(11) = 0.2890648;  MRR = 1/10
    assert_close(s.ndcg, 0.289_064_8);
    assert_close(s.mrr, 0.1);
    assert_close(s.recall, 1.0);
}

#[test]
fn suffix_matching_in_both_directions() {
    // returned path longer than the target (absolute or package path vs upstream path)
    assert!(path_matches(
        "/corpus/fastapi/fastapi/routing.py",
        "fastapi/routing.py"
    ));
    // target longer than the returned path (the crates' workspace prefix `tokio/`)
    assert!(path_matches("src/sync/mutex.rs", "tokio/src/sync/mutex.rs"));
    assert!(path_matches("lib/response.js", "lib/response.js"));
    assert!(path_matches("lib\\response.js", "lib/response.js"));
    // whole components only
    assert!(!path_matches("xfastapi/routing.py", "fastapi/routing.py"));
    assert!(!path_matches("fastapi/routing.py", "i/routing.py.bak"));
    assert!(!path_matches(
        "src/sync/xmutex.rs",
        "tokio/src/sync/mutex.rs"
    ));

    // ... and the scorer uses it: a target hit through the reverse direction.
    let s = score_query(
        &[c("src/sync/mutex.rs", 1, 50)],
        &[Target::file("tokio/src/sync/mutex.rs")],
    );
    assert_close(s.ndcg, 1.0);
}

#[test]
fn ambiguous_suffix_needs_package_relative_paths() {
    let repo = RepoSpec {
        name: "fastapi".into(),
        language: "python".into(),
        root: "fastapi".into(),
        exclude: vec![],
        target_prefix: String::new(),
    };
    let target = [Target::file("fastapi/dependencies/utils.py")];
    // Relative to root, fastapi's own `fastapi/utils.py` is just `utils.py`, which the
    // two-way suffix rule would accept for `fastapi/dependencies/utils.py`:
    assert!(path_matches("utils.py", "fastapi/dependencies/utils.py"));
    assert_close(score_query(&[c("utils.py", 1, 9)], &target).ndcg, 1.0);
    // Made package-relative as the runner does, it is `fastapi/utils.py` and no longer
    // matches; the real file still does.
    assert_eq!(repo.package_path("utils.py"), "fastapi/utils.py");
    let wrong = c(&repo.package_path("utils.py"), 1, 9);
    assert_eq!(score_query(&[wrong], &target), QueryScore::default());
    let right = c(&repo.package_path("dependencies/utils.py"), 1, 9);
    assert_close(score_query(&[right], &target).ndcg, 1.0);

    // Roots `""`, `"."`, `"./src/"` and `"src/flask"` are all handled.
    let mut r = repo.clone();
    for (root, expected) in [
        ("", "a/b.py"),
        (".", "a/b.py"),
        ("./src/", "src/a/b.py"),
        ("src/flask", "src/flask/a/b.py"),
    ] {
        r.root = root.into();
        assert_eq!(r.package_path("a/b.py"), expected, "root {root:?}");
    }
}

#[test]
fn idcg_is_capped_at_ten_targets() {
    let targets: Vec<Target> = (0..12).map(|i| Target::file(format!("f{i}.py"))).collect();
    // Ten of the twelve targets at ranks 1..10: DCG = IDCG = Σ_{i=1..10} d(i) = 4.5435593
    let chunks: Vec<RankedChunk> = (0..10).map(|i| c(&format!("f{i}.py"), 1, 2)).collect();
    let s = score_query(&chunks, &targets);
    assert_close(s.ndcg, 1.0);
    assert_close(s.recall, 10.0 / 12.0); // 0.8333333
    assert_close(s.mrr, 1.0);

    // One of the twelve at rank 1: NDCG = 1 / 4.5435593 = 0.2200918 (not 1 / Σ_{1..12}).
    let s = score_query(&[c("f7.py", 1, 2)], &targets);
    assert_close(s.ndcg, 0.220_091_8);
    assert_close(s.recall, 1.0 / 12.0);
}

#[test]
fn empty_result_list_scores_zero() {
    let s = score_query(&[], &[Target::file("a.py"), Target::span("b.py", 1, 2)]);
    assert_eq!(s, QueryScore::default());
    assert_eq!(target_ranks(&[], &[Target::file("a.py")]), vec![None]);
}

#[test]
fn beir_metrics_on_a_hand_case() {
    let qrels: HashMap<String, i32> = [("d1", 2), ("d2", 1), ("d3", 1), ("d4", 0)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    // ranks: 1 d4 (score 0: not relevant), 2 d2 (gain 1), 3 x, 4 d1 (gain 2), 5..=49 filler,
    // 50 d3 (gain 1), 51..=60 filler.
    let fillers: Vec<String> = (0..60).map(|i| format!("x{i}")).collect();
    let mut ranked: Vec<&str> = vec!["d4", "d2", "x", "d1"];
    ranked.extend(fillers[..45].iter().map(String::as_str));
    ranked.push("d3");
    ranked.extend(fillers[45..].iter().map(String::as_str));
    assert_eq!(ranked[49], "d3");

    let s = score_beir_query(&ranked, &qrels);
    // MRR@10: first relevant is d2 at rank 2 -> 0.5
    assert_close(s.mrr10, 0.5);
    // DCG@10 = 1·d(2) + 2·d(4) = 0.6309298 + 0.8613531 = 1.4922829
    // IDCG@10 = gains sorted [2, 1, 1]: 2·d(1) + d(2) + d(3) = 2 + 0.6309298 + 0.5 = 3.1309298
    // NDCG@10 = 1.4922829 / 3.1309298 = 0.4766261
    assert_close(s.ndcg10, 0.476_626_1);
    // 3 relevant docs (d4 has score 0): @1 none, @10 d2 + d1, @100 all three
    assert_close(s.recall1, 0.0);
    assert_close(s.recall10, 2.0 / 3.0);
    assert_close(s.recall100, 1.0);

    // Relevant at rank 1, nothing else: MRR 1, Recall@1 = 1/3, NDCG = 1/3.1309298 = 0.3193941
    let s = score_beir_query(&["d2"], &qrels);
    assert_close(s.mrr10, 1.0);
    assert_close(s.recall1, 1.0 / 3.0);
    assert_close(s.ndcg10, 0.319_394_1);

    // A document returned twice counts once.
    let s = score_beir_query(&["d2", "d2", "d3"], &qrels);
    // DCG = d(1) + d(2) (d3 moves up to rank 2 once the duplicate is dropped) = 1.6309298
    assert_close(s.ndcg10, 1.630_929_8 / 3.130_929_8);

    // Empty run.
    assert_close(score_beir_query(&[], &qrels).ndcg10, 0.0);
}

#[test]
fn percentiles_are_nearest_rank() {
    // 20 values 1..=20: p50 = ceil(10)th = 10, p95 = ceil(19)th = 19, p99 = ceil(19.8)th = 20
    let v: Vec<f64> = (1..=20).rev().map(f64::from).collect();
    assert_eq!(percentile(&v, 50.0), Some(10.0));
    assert_eq!(percentile(&v, 95.0), Some(19.0));
    assert_eq!(percentile(&v, 99.0), Some(20.0));
    assert_eq!(percentile(&[], 50.0), None);
}

fn config() -> EvalConfig {
    EvalConfig {
        engine_version: "test".into(),
        index_format: 1,
        git_commit: None,
        git_dirty: None,
        mode: "lexical".into(),
        model: None,
        fusion: None,
        top_k: 10,
        suite: "fixture".into(),
        cache_dir: "cache".into(),
    }
}

fn q(cat: &str, ndcg: f64, mrr: f64, recall: f64) -> (String, QueryScore) {
    (cat.to_string(), QueryScore { ndcg, mrr, recall })
}

#[test]
fn report_aggregation_weights() {
    let run = |name: &str, lang: &str, queries| RepoRun {
        name: name.into(),
        language: lang.into(),
        queries,
        files: 3,
        chunks: 7,
        index_seconds: 0.5,
        index_reused: name == "b",
    };
    let runs = [
        // repo a (python): NDCG mean (1 + 0 + 0.5)/3 = 0.5; MRR (1 + 0 + 0.5)/3 = 0.5;
        // recall (1 + 0 + 1)/3 = 0.6666667
        run(
            "a",
            "python",
            vec![
                q("symbol", 1.0, 1.0, 1.0),
                q("semantic", 0.0, 0.0, 0.0),
                q("semantic", 0.5, 0.5, 1.0),
            ],
        ),
        // repo b (python): NDCG 0.2, MRR 0.25, recall 0.5
        run("b", "python", vec![q("semantic", 0.2, 0.25, 0.5)]),
        // repo c (rust): NDCG 0.8, MRR 1, recall 1
        run("c", "rust", vec![q("architecture", 0.8, 1.0, 1.0)]),
    ];
    let r = RepoReport::from_runs(&runs, &[3.0, 1.0, 2.0, 4.0, 5.0], config());
    // headline: mean over repos, NDCG (0.5 + 0.2 + 0.8)/3 = 0.5 (the mean over the 5
    // queries would be 2.5/5 = 0.5 too, so check MRR, where they differ):
    // MRR (0.5 + 0.25 + 1)/3 = 0.5833333 (query mean: 2.75/5 = 0.55)
    assert_close(r.headline.ndcg10, 0.5);
    assert_close(r.headline.mrr10, 0.583_333_3);
    // recall (0.6666667 + 0.5 + 1)/3 = 0.7222222
    assert_close(r.headline.recall10, 0.722_222_2);
    // category semantic pools queries across repos: NDCG (0 + 0.5 + 0.2)/3 = 0.2333333
    let sem = &r.by_category["semantic"];
    assert_eq!(sem.queries, 3);
    assert_close(sem.metrics.ndcg10, 0.233_333_3);
    assert_close(r.by_category["symbol"].metrics.ndcg10, 1.0);
    // python = mean of repo means a, b: NDCG (0.5 + 0.2)/2 = 0.35, MRR (0.5+0.25)/2 = 0.375
    let py = &r.by_language["python"];
    assert_eq!(py.repos, vec!["a".to_string(), "b".to_string()]);
    assert_eq!(py.queries, 4);
    assert_close(py.metrics.ndcg10, 0.35);
    assert_close(py.metrics.mrr10, 0.375);
    assert_close(r.by_language["rust"].metrics.ndcg10, 0.8);
    assert_close(r.by_repo["a"].metrics.recall10, 2.0 / 3.0);
    assert!(r.index_reused["b"] && !r.index_reused["a"]);
    // latency: 5 values sorted [1,2,3,4,5]: p50 = 3rd = 3, p95 = p99 = 5th = 5
    assert_eq!(
        (r.latency_ms.p50, r.latency_ms.p95, r.latency_ms.p99),
        (3.0, 5.0, 5.0)
    );

    // JSON shape.
    let v = serde_json::to_value(&r).unwrap();
    for key in ["ndcg@10", "mrr@10", "recall@10"] {
        assert!(v["headline"][key].is_number(), "headline.{key}");
        assert!(v["by_category"]["semantic"][key].is_number());
        assert!(v["by_language"]["python"][key].is_number());
        assert!(v["by_repo"]["a"][key].is_number());
    }
    for key in ["p50", "p95", "p99"] {
        assert!(v["latency_ms"][key].is_number());
    }
    assert_eq!(v["index_seconds"]["c"], 0.5);
    assert_eq!(v["index_reused"]["b"], true);
    assert!(v["config"]["git_commit"].is_null());
    assert_eq!(v["config"]["mode"], "lexical");

    // The table starts with the headline.
    let t = r.to_table();
    let second = t.lines().nth(1).unwrap();
    assert!(second.starts_with("headline"), "{t}");
    assert!(
        second.contains("0.5000") && second.contains("0.5833"),
        "{t}"
    );
}

// ---- malformed suite files -------------------------------------------------------------

#[track_caller]
fn assert_bad_input(err: Error, file: &str, line: usize, detail_has: &str) {
    match &err {
        Error::BadInput {
            path,
            line: l,
            detail,
        } => {
            assert_eq!(path, Path::new(file), "{err}");
            assert_eq!(*l, line, "{err}");
            assert!(detail.contains(detail_has), "{err}");
            // and the message names both
            let msg = err.to_string();
            assert!(msg.starts_with(&format!("{file}:{line}: ")), "{msg}");
        }
        other => panic!("expected BadInput, got {other:?}"),
    }
}

#[test]
fn annotations_parse_both_target_forms() {
    let text = r#"[
  {"query": "q1", "relevant": ["a/b.py"], "secondary": [{"path": "c.py", "start_line": 3, "end_line": 9}], "category": "semantic"},
  {"query": "q2", "relevant": [{"path": "d.js", "start_line": 1, "end_line": 1}], "category": "symbol"}
]"#;
    let qs = parse_annotations(text, Path::new("x.json")).unwrap();
    assert_eq!(qs.len(), 2);
    assert_eq!(
        qs[0].targets(),
        vec![Target::file("a/b.py"), Target::span("c.py", 3, 9)]
    );
    assert_eq!(qs[1].targets(), vec![Target::span("d.js", 1, 1)]);
    assert!(qs[1].secondary.is_empty());
}

#[test]
fn annotations_bad_json_names_file_and_line() {
    // missing comma after the "query" value on line 3
    let text = "[\n  {\n    \"query\": \"q\"\n    \"relevant\": [\"a.py\"],\n    \"secondary\": [],\n    \"category\": \"symbol\"\n  }\n]\n";
    let err = parse_annotations(text, Path::new("annotations/demo.json")).unwrap_err();
    // serde_json reports the token where the comma was expected: line 4
    assert_bad_input(err, "annotations/demo.json", 4, "expected `,`");
}

#[test]
fn annotations_missing_field_names_file_and_line() {
    let text = "[\n  {\"query\": \"a\", \"relevant\": [\"a.py\"], \"category\": \"symbol\"},\n  {\"query\": \"b\", \"relevant\": [\"b.py\"]}\n]\n";
    let err = parse_annotations(text, Path::new("ann.json")).unwrap_err();
    assert_bad_input(err, "ann.json", 3, "missing field `category`");
}

#[test]
fn annotations_bad_span_names_file_and_line() {
    let text = "[\n  {\"query\": \"a\",\n   \"relevant\": [\n     {\"path\": \"a.py\", \"start_line\": 9, \"end_line\": 3}\n   ],\n   \"category\": \"symbol\"}\n]\n";
    let err = parse_annotations(text, Path::new("ann.json")).unwrap_err();
    assert_bad_input(err, "ann.json", 4, "end_line 3 is before start_line 9");

    let zero = "[{\"query\": \"a\", \"relevant\": [{\"path\": \"a.py\", \"start_line\": 0, \"end_line\": 3}], \"category\": \"symbol\"}]";
    let err = parse_annotations(zero, Path::new("ann.json")).unwrap_err();
    assert_bad_input(
        err,
        "ann.json",
        1,
        "`start_line` must be a line number >= 1",
    );

    let missing = "[\n{\"query\": \"a\", \"relevant\": [{\"path\": \"a.py\", \"start_line\": 2}], \"category\": \"symbol\"}]";
    let err = parse_annotations(missing, Path::new("ann.json")).unwrap_err();
    assert_bad_input(err, "ann.json", 2, "missing field `end_line`");

    let number = "[\n\n{\"query\": \"a\", \"relevant\": [7], \"category\": \"symbol\"}]";
    let err = parse_annotations(number, Path::new("ann.json")).unwrap_err();
    assert_bad_input(err, "ann.json", 3, "expected a target: a path string");
}

#[test]
fn annotations_query_without_targets_is_rejected() {
    let text =
        "[\n{\"query\": \"a\", \"relevant\": [], \"secondary\": [], \"category\": \"symbol\"}\n]";
    let err = parse_annotations(text, Path::new("ann.json")).unwrap_err();
    assert_bad_input(err, "ann.json", 2, "no relevant or secondary targets");
}

#[test]
fn repos_list_parses_and_rejects_bad_records() {
    let text = r#"[
  {"name": "aiohttp", "language": "python", "root": "aiohttp", "exclude": ["**/*.c"], "n_queries": 21},
  {"name": "tokio", "language": "rust", "root": "src", "target_prefix": "tokio/"}
]"#;
    let repos = parse_repos(text, Path::new("repos.json")).unwrap();
    assert_eq!(repos.len(), 2);
    assert_eq!(repos[0].exclude, vec!["**/*.c".to_string()]);
    assert!(repos[1].exclude.is_empty());
    assert_eq!(repos[1].target_prefix, "tokio/");

    let missing_root = "[\n  {\"name\": \"a\", \"language\": \"python\"}\n]";
    let err = parse_repos(missing_root, Path::new("repos.json")).unwrap_err();
    assert_bad_input(err, "repos.json", 2, "missing field `root`");

    let escape = r#"[{"name": "a", "language": "python", "root": "../x"}]"#;
    assert!(matches!(
        parse_repos(escape, Path::new("r.json")),
        Err(Error::BadInput { .. })
    ));
    let dup = r#"[{"name": "a", "language": "x", "root": ""}, {"name": "a", "language": "x", "root": ""}]"#;
    assert!(matches!(
        parse_repos(dup, Path::new("r.json")),
        Err(Error::BadInput { .. })
    ));
}

#[test]
fn beir_files_parse_and_errors_name_the_line() {
    let corpus = "{\"_id\": \"d0\", \"text\": \"def f(): pass\", \"metadata\": {\"lang\": \"python\"}}\n{\"_id\": 7, \"title\": \"T\", \"text\": \"body\"}\n";
    let docs = parse_corpus(corpus, Path::new("corpus.jsonl")).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].language, Some(cseek::lang::Language::Python));
    assert_eq!(docs[1].id, "7");
    assert_eq!(docs[1].indexed_text(), "T\nbody");
    assert_eq!(docs[0].indexed_text(), "def f(): pass");

    let bad = "{\"_id\": \"d0\", \"text\": \"x\"}\n\n{\"_id\": \"d1\"}\n";
    let err = parse_corpus(bad, Path::new("corpus.jsonl")).unwrap_err();
    assert_bad_input(err, "corpus.jsonl", 3, "missing field `text`");

    let dup = "{\"_id\": \"q\", \"text\": \"x\"}\n{\"_id\": \"q\", \"text\": \"y\"}\n";
    let err = parse_queries(dup, Path::new("queries.jsonl")).unwrap_err();
    assert_bad_input(err, "queries.jsonl", 2, "duplicate query id");

    let qrels = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t2\nq2\td1\t0\n";
    let m = parse_qrels(qrels, Path::new("test.tsv")).unwrap();
    assert_eq!(m["q1"]["d2"], 2);
    assert_eq!(m["q2"]["d1"], 0);

    let bad = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\tone\n";
    let err = parse_qrels(bad, Path::new("test.tsv")).unwrap_err();
    assert_bad_input(err, "test.tsv", 3, "not an integer");
    let bad = "query-id\tcorpus-id\tscore\nq1 d1 1\n";
    let err = parse_qrels(bad, Path::new("test.tsv")).unwrap_err();
    assert_bad_input(err, "test.tsv", 2, "expected 3 tab-separated columns");
}

// ---- end to end on the fixture suite (tests/fixtures/eval/mini) ------------------------

use cseek::eval::{run_beir, run_repo_suite, BeirEvalOptions, RepoEvalOptions};

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval/mini")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

#[derive(serde::Deserialize)]
struct Line {
    repo: String,
    query: String,
    category: String,
    results: Vec<Item>,
}

#[derive(serde::Deserialize)]
struct Item {
    path: String,
    start_line: u32,
    end_line: u32,
    #[allow(dead_code)]
    score: f64,
    kind: String,
    symbol: Option<String>,
    ranks: ItemRanks,
}

#[derive(serde::Deserialize, PartialEq, Debug)]
struct ItemRanks {
    lexical: Option<usize>,
    semantic: Option<usize>,
}

fn read_lines(path: &Path) -> Vec<Line> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn repo_suite_end_to_end_with_cache_and_results_file() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    copy_tree(&fixture().join("corpus"), &corpus);
    let mut opts = RepoEvalOptions::new(fixture(), "repos.json", &corpus);
    opts.cache_dir = tmp.path().join("cache");
    opts.results_out = Some(tmp.path().join("out/results.jsonl"));
    // Lexical-only (the default model depends on what this machine has cached).
    opts.model = cseek::index::ModelChoice::Off;
    let mut log = Vec::new();
    let r = run_repo_suite(&opts, &mut |l| log.push(l.to_string())).unwrap();
    assert_eq!(
        r.config.mode, "lexical (auto)",
        "auto resolved, and said so"
    );
    assert_eq!(r.queries, 3);
    assert!(!r.index_reused["demo"]);
    // retry.py, parser.py, helpers/utils.py; backoff.gen.py is excluded and README.txt is
    // outside the root.
    assert_eq!(r.by_repo["demo"].files, 3, "{log:?}");
    assert_eq!(r.latency_ms.queries, 3);

    // Every result path is package-relative (under `src/demo/`), the excluded file never
    // appears, and re-scoring the results file independently gives the report's numbers.
    let lines = read_lines(&tmp.path().join("out/results.jsonl"));
    assert_eq!(lines.len(), 3);
    let ann =
        cseek::eval::suite::load_annotations(&fixture().join("annotations/demo.json")).unwrap();
    let mut ndcg = Vec::new();
    for (line, q) in lines.iter().zip(&ann) {
        assert_eq!(
            (line.repo.as_str(), line.query.as_str()),
            ("demo", q.query.as_str())
        );
        assert_eq!(line.category, q.category);
        assert!(!line.results.is_empty() && line.results.len() <= 10);
        for it in &line.results {
            assert!(it.path.starts_with("src/demo/"), "{}", it.path);
            assert!(!it.path.ends_with(".gen.py"), "{}", it.path);
            assert!(it.start_line >= 1 && it.end_line >= it.start_line);
            // Lexical mode: every result came from the BM25 list, none from vectors.
            assert!(it.ranks.lexical.is_some_and(|r| r >= 1) && it.ranks.semantic.is_none());
            assert!(!it.kind.is_empty());
        }
        let chunks: Vec<RankedChunk> = line
            .results
            .iter()
            .map(|i| c(&i.path, i.start_line, i.end_line))
            .collect();
        ndcg.push(score_query(&chunks, &q.targets()).ndcg);
    }
    assert_close(r.headline.ndcg10, ndcg.iter().sum::<f64>() / 3.0);
    // The symbol query names one function of one file: it must be found at rank 1.
    assert_eq!(lines[2].results[0].path, "src/demo/helpers/utils.py");
    assert_eq!(lines[2].results[0].symbol.as_deref(), Some("slugify"));
    assert_eq!(lines[2].results[0].kind, "function");
    assert_close(r.by_category["symbol"].metrics.ndcg10, 1.0);

    // Fewer than 10 results each (the fixture has six chunks): a deeper list adds nothing.
    let mut deep = opts.clone();
    deep.top_k = 40;
    deep.results_out = Some(tmp.path().join("out/deep.jsonl"));
    assert_eq!(
        run_repo_suite(&deep, &mut |_| {}).unwrap().headline,
        r.headline
    );
    let key = |i: &Item| (i.path.clone(), i.start_line, i.end_line);
    let keys = |ls: &[Line]| -> Vec<Vec<_>> {
        ls.iter()
            .map(|l| l.results.iter().map(key).collect())
            .collect()
    };
    assert_eq!(
        keys(&read_lines(&tmp.path().join("out/deep.jsonl"))),
        keys(&lines)
    );
    // Too few to score, or more than a search returns: an error before any indexing.
    for absurd in [5, usize::MAX] {
        let mut bad = opts.clone();
        bad.top_k = absurd;
        bad.cache_dir = tmp.path().join("unused-cache");
        assert!(matches!(
            run_repo_suite(&bad, &mut |_| {}),
            Err(Error::InvalidOption(_))
        ));
        assert!(
            !bad.cache_dir.exists(),
            "nothing was built for top_k {absurd}"
        );
    }

    // Second run: same corpus and settings, the index is reused and the numbers are equal.
    let r2 = run_repo_suite(&opts, &mut |_| {}).unwrap();
    assert!(r2.index_reused["demo"]);
    assert_eq!(r2.headline, r.headline);
    assert_eq!(r2.by_repo["demo"].files, 3);

    // A changed file (same size even) invalidates the cache.
    let f = corpus.join("demo/src/demo/retry.py");
    let t = std::fs::read_to_string(&f)
        .unwrap()
        .replace("OSError", "IOError");
    std::fs::write(&f, t).unwrap();
    let r3 = run_repo_suite(&opts, &mut |_| {}).unwrap();
    assert!(!r3.index_reused["demo"]);
    // So does a changed setting.
    let r4 = run_repo_suite(&opts, &mut |_| {}).unwrap();
    assert!(r4.index_reused["demo"]);
    let mut changed = opts.clone();
    changed.walk.max_file_bytes = 4096;
    assert!(!run_repo_suite(&changed, &mut |_| {}).unwrap().index_reused["demo"]);
    // And `rebuild` forces it.
    let mut rebuild = opts.clone();
    rebuild.rebuild = true;
    assert!(!run_repo_suite(&rebuild, &mut |_| {}).unwrap().index_reused["demo"]);

    // An unknown repo in the subset is an error, not an empty report.
    let mut subset = opts.clone();
    subset.repos = vec!["nope".into()];
    assert!(matches!(
        run_repo_suite(&subset, &mut |_| {}),
        Err(Error::InvalidOption(_))
    ));
}

/// `top_k` above 10 writes deeper lists to the results file (for failure analysis) and
/// leaves the scores, which read the first ten, as they were.
#[test]
fn repo_suite_deeper_results_keep_the_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("suite");
    std::fs::create_dir_all(suite.join("annotations")).unwrap();
    std::fs::write(
        suite.join("repos.json"),
        r#"[{"name": "many", "language": "python", "registry": "none", "root": ".",
             "target_prefix": ""}]"#,
    )
    .unwrap();
    std::fs::write(
        suite.join("annotations/many.json"),
        r#"[{"query": "convert the widget", "relevant": ["widgets_7.py"],
             "category": "semantic"}]"#,
    )
    .unwrap();
    let corpus = tmp.path().join("corpus/many");
    std::fs::create_dir_all(&corpus).unwrap();
    // 25 files, each one function that converts a widget: 25 matches for the query.
    for i in 0..25 {
        std::fs::write(
            corpus.join(format!("widgets_{i}.py")),
            format!("def convert_widget_{i}(widget):\n    return widget.convert({i})\n"),
        )
        .unwrap();
    }
    let mut opts = RepoEvalOptions::new(&suite, "repos.json", tmp.path().join("corpus"));
    opts.cache_dir = tmp.path().join("cache");
    opts.model = cseek::index::ModelChoice::Off;
    opts.results_out = Some(tmp.path().join("top10.jsonl"));
    let r10 = run_repo_suite(&opts, &mut |_| {}).unwrap();
    let mut deep = opts.clone();
    deep.top_k = 20;
    deep.results_out = Some(tmp.path().join("top20.jsonl"));
    let r20 = run_repo_suite(&deep, &mut |_| {}).unwrap();
    assert_eq!(r20.headline, r10.headline);
    let (l10, l20) = (
        read_lines(&tmp.path().join("top10.jsonl")),
        read_lines(&tmp.path().join("top20.jsonl")),
    );
    assert_eq!((l10[0].results.len(), l20[0].results.len()), (10, 20));
    for (a, b) in l10[0].results.iter().zip(&l20[0].results) {
        assert_eq!((&a.path, a.start_line), (&b.path, b.start_line));
    }
}

#[test]
fn beir_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let mut opts = BeirEvalOptions::new(fixture().join("beir"));
    opts.cache_dir = tmp.path().join("cache");
    let r = run_beir(&opts, &mut |_| {}).unwrap();
    assert_eq!((r.documents, r.queries, r.unjudged_queries), (3, 2, 1));
    assert!(!r.index_reused);
    // Each query names its document's distinctive word (slugify, checksum): rank 1 each.
    assert_close(r.headline.mrr10, 1.0);
    assert_close(r.headline.recall1, 1.0);
    assert_close(r.headline.ndcg10, 1.0);
    let r2 = run_beir(&opts, &mut |_| {}).unwrap();
    assert!(r2.index_reused);
    for absurd in [99, usize::MAX] {
        let bad = BeirEvalOptions {
            top_k: absurd,
            ..opts.clone()
        };
        assert!(matches!(
            run_beir(&bad, &mut |_| {}),
            Err(Error::InvalidOption(_))
        ));
    }
    assert_eq!(r2.headline, r.headline);
    let v = serde_json::to_value(&r).unwrap();
    for key in ["mrr@10", "ndcg@10", "recall@1", "recall@10", "recall@100"] {
        assert!(v["headline"][key].is_number(), "{key}");
    }
}

/// The real dev suite. Needs the corpus:
/// `bash ../shared/bench/fetch-dev-corpus.sh target/bench-corpus`, then
/// `cargo test --release --test eval_scoring dev_suite -- --ignored --nocapture`.
#[test]
#[ignore]
fn dev_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let suite = root.join("../shared/bench");
    let mut opts = RepoEvalOptions::new(&suite, "dev-repos.json", root.join("target/bench-corpus"));
    // CSEEK_EVAL_CACHE overrides the cache dir (e.g. a fresh one, to time cold builds).
    let cache = std::env::var_os("CSEEK_EVAL_CACHE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target/cseek-eval-cache"));
    opts.cache_dir = cache.clone();
    opts.results_out = Some(root.join("target/eval/dev-results.jsonl"));
    let r = run_repo_suite(&opts, &mut |l| eprintln!("{l}")).unwrap();
    println!("{}", r.to_table());
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
    assert_eq!(r.queries, 203);
    for set in ["cosqa-dev", "csn-ruby-valid"] {
        let mut b = BeirEvalOptions::new(root.join("../shared/evalsets").join(set));
        b.cache_dir = cache.clone();
        b.results_out = Some(cache.join(format!("{set}-results.jsonl")));
        let r = run_beir(&b, &mut |l| eprintln!("{l}")).unwrap();
        println!("{}", r.to_table());
    }
}

/// The fixture suite in a copy under `tmp`, with a tiny random model written there; the
/// model's path is the second value.
#[cfg(feature = "embed")]
fn suite_with_tiny_model(tmp: &Path) -> (RepoEvalOptions, String) {
    let corpus = tmp.join("corpus");
    copy_tree(&fixture().join("corpus"), &corpus);
    let model = tmp.join("model");
    cseek::embed::testkit::write_tiny_model(
        &model,
        cseek::embed::Arch::Model2Vec,
        cseek::embed::testkit::TinySize::tiny(),
        "",
    )
    .unwrap();
    let model = model.to_string_lossy().into_owned();
    let mut opts = RepoEvalOptions::new(fixture(), "repos.json", &corpus);
    opts.cache_dir = tmp.join("cache");
    opts.model = cseek::index::ModelChoice::Named(model.clone());
    (opts, model)
}

/// Without `--mode`, eval runs what `cseek query` runs: hybrid when the index has vectors.
#[cfg(feature = "embed")]
#[test]
fn eval_default_mode_is_the_query_default() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut opts, model) = suite_with_tiny_model(tmp.path());
    let r = run_repo_suite(&opts, &mut |_| {}).unwrap();
    assert_eq!(r.config.mode, "hybrid (auto)");
    assert_eq!(r.config.model.as_deref(), Some(model.as_str()));
    opts.mode = cseek::search::Mode::Lexical;
    let r = run_repo_suite(&opts, &mut |_| {}).unwrap();
    assert_eq!(r.config.mode, "lexical");
}

/// A rebuild (asked for, or after the corpus or a chunking rule changed) re-chunks in
/// place: vectors of unchanged chunk texts come from the index's embedding cache.
#[cfg(feature = "embed")]
#[test]
fn eval_rebuilds_keep_the_embedding_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let (opts, _) = suite_with_tiny_model(tmp.path());
    let corpus = tmp.path().join("corpus");
    let embedded = |opts: &RepoEvalOptions| -> u64 {
        let mut log = Vec::new();
        run_repo_suite(opts, &mut |l| log.push(l.to_string())).unwrap();
        let line = log
            .iter()
            .find(|l| l.contains("indexed"))
            .expect("an index was built");
        let n = line.rsplit_once(", ").unwrap().1;
        n.trim_end_matches(" embedded)").parse().unwrap()
    };
    assert!(embedded(&opts) > 0);
    let mut rebuild = opts.clone();
    rebuild.rebuild = true;
    assert_eq!(embedded(&rebuild), 0);
    // A changed file: only its new chunk text is embedded.
    let f = corpus.join("demo/src/demo/retry.py");
    let t = std::fs::read_to_string(&f).unwrap();
    std::fs::write(
        &f,
        format!("{t}\n\ndef jitter(delay):\n    return delay / 2\n"),
    )
    .unwrap();
    assert_eq!(embedded(&opts), 1);
}
