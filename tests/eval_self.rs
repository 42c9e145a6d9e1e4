//! `cseek eval self`: pairs mined from a real (small) index, and their scores.

use std::fs;
use std::path::Path;

use cseek::eval::mine::{mine_queries, run_self, MinedKind, SelfEvalOptions};
use cseek::index::{build_index, IndexOptions, ModelChoice, NoProgress};
use cseek::search::{Mode, SearchOptions, Searcher};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn repo(root: &Path) {
    write(
        root,
        "pkg/files.py",
        "def read_whole_file(path):\n    \"\"\"Read the whole file into one string.\"\"\"\n    with open(path) as f:\n        return f.read()\n\n\ndef tiny(x):\n    return x\n",
    );
    write(
        root,
        "pkg/net.py",
        "class RetryPolicy:\n    \"\"\"Decide how often a failed request is retried.\n\n    Details.\n    \"\"\"\n\n    def backoff_delay(self, attempt):\n        return 2 ** attempt\n",
    );
    write(
        root,
        "src/config.rs",
        "/// Parses the configuration file at the given path.\npub fn parse_config(path: &str) -> Config {\n    todo!()\n}\n\npub struct Config {\n    retries: u32,\n}\n",
    );
    // Definitions in tests are not mined; names defined twice make no symbol query.
    write(
        root,
        "tests/test_files.py",
        "def test_read_whole_file_works():\n    \"\"\"Check that reading a whole file works.\"\"\"\n    assert True\n",
    );
    // One sentence on two definitions (overloads sharing a comment) has two right
    // answers: it makes no doc query.
    write(
        root,
        "src/query.rs",
        "/// Execute a query and return every row.\npub fn query_rows() {}\n\n/// Execute a query and return every row.\npub fn query_rows_async() {}\n",
    );
    write(root, "pkg/a.py", "def duplicate_name():\n    return 1\n");
    write(root, "pkg/b.py", "def duplicate_name():\n    return 2\n");
}

#[test]
fn mines_doc_and_symbol_pairs_and_scores_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    repo(&root);
    let mut opts = IndexOptions::new(&root);
    opts.model = ModelChoice::Off;
    build_index(&opts, &NoProgress).unwrap();
    let index_dir = root.join(".cseek");

    let searcher = Searcher::open(&index_dir).unwrap();
    let pairs = mine_queries(searcher.store(), 100).unwrap();
    let docs: Vec<(&str, &str, u32)> = pairs
        .iter()
        .filter(|p| p.kind == MinedKind::Doc)
        .map(|p| (p.query.as_str(), p.path.as_str(), p.start_line))
        .collect();
    assert_eq!(
        docs,
        [
            ("Read the whole file into one string", "pkg/files.py", 1),
            (
                "Decide how often a failed request is retried",
                "pkg/net.py",
                1
            ),
            (
                "Parses the configuration file at the given path",
                "src/config.rs",
                1
            ),
        ]
    );
    let mut symbols: Vec<&str> = pairs
        .iter()
        .filter(|p| p.kind == MinedKind::Symbol)
        .map(|p| p.query.as_str())
        .collect();
    symbols.sort_unstable();
    // Not `tiny` (too short), not `duplicate_name` (defined twice), nothing from tests/.
    assert_eq!(
        symbols,
        [
            "Config",
            "RetryPolicy",
            "backoff_delay",
            "parse_config",
            "query_rows",
            "query_rows_async",
            "read_whole_file"
        ]
    );
    // Only `per_kind` of each kind.
    assert_eq!(mine_queries(searcher.store(), 1).unwrap().len(), 2);

    let report = run_self(
        &SelfEvalOptions {
            index_dir: index_dir.clone(),
            mode: Mode::Lexical,
            search: SearchOptions::default(),
            per_kind: 100,
        },
        &mut |_| {},
    )
    .unwrap();
    let all = report.metrics.iter().find(|m| m.kind == "all").unwrap();
    assert_eq!(all.queries, 10);
    // On a corpus this small every mined answer is found, each at some rank.
    assert!(
        report.queries.iter().all(|q| q.rank.is_some()),
        "{:#?}",
        report.queries
    );
    let parse = report
        .queries
        .iter()
        .find(|q| q.pair.query == "parse_config")
        .unwrap();
    assert_eq!(parse.rank, Some(1));
    assert!((parse.ndcg_at_10 - 1.0).abs() < 1e-9);
    assert!(all.ndcg_at_10 > 0.5 && all.ndcg_at_10 <= 1.0);
}
