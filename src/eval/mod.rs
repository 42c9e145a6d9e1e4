//! `cseek eval`: retrieval quality on repository suites and BEIR corpora.
//!
//! * [`run_repo_suite`] runs a repository suite (`shared/bench`: a repos list plus
//!   `annotations/<name>.json`): each repo's `<corpus>/<name>/<root>` is indexed (honouring
//!   its `exclude` globs), every query is run, and the top 10 chunks are scored exactly as
//!   the suite README's "Scoring" section says ([`score`] documents every definition).
//!   Reported: NDCG@10, MRR@10 and Recall@10 — headline (mean over repos, each repo the
//!   same weight), per category (mean over the queries of the category, pooled across
//!   repos), per language (mean over the per-repo means of that language's repos), per
//!   repo (mean over its queries) — plus index seconds per repo and query latency
//!   p50/p95/p99.
//! * [`mine::run_self`] (`cseek eval self`) mines doc-sentence → definition and
//!   name → definition pairs from any index and scores them the same way.
//! * [`run_beir`] runs a BEIR-layout corpus: each document is one chunk, and MRR@10,
//!   NDCG@10 (graded) and Recall@1/10/100 are reported, means over the judged queries.
//!
//! Indexes are cached ([`cache`]): an unchanged corpus with unchanged settings reuses its
//! index, and every report says whether it did.

pub mod beir;
pub mod cache;
pub mod mine;
pub mod report;
pub mod run;
pub mod score;
pub mod suite;

pub use report::{BeirReport, RepoReport};
pub use run::{
    run_beir, run_repo_suite, BeirEvalOptions, RepoEvalOptions, ResultItem, ResultLine,
    DEFAULT_CACHE_DIR,
};
