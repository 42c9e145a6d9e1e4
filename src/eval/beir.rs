//! BEIR-layout corpora: `corpus.jsonl`, `queries.jsonl` and `qrels/test.tsv`.
//! Every malformed line gives [`Error::BadInput`] with the file and 1-based line.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::eval::suite::{json_error, read_to_string};
use crate::lang::Language;

/// One corpus document.
#[derive(Debug, Clone, PartialEq)]
pub struct BeirDoc {
    /// The document id (`_id`; a JSON number is turned into its decimal string).
    pub id: String,
    /// Optional title (empty titles are `None`).
    pub title: Option<String>,
    /// The document text.
    pub text: String,
    /// `metadata.lang` (or `metadata.language`) when it names a language cseek knows.
    pub language: Option<Language>,
}

impl BeirDoc {
    /// The text that is indexed: `title + "\n" + text` when there is a title, else `text`.
    pub fn indexed_text(&self) -> String {
        match &self.title {
            Some(t) => format!("{t}\n{}", self.text),
            None => self.text.clone(),
        }
    }
}

/// One query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeirQuery {
    /// `_id`.
    pub id: String,
    /// Query text.
    pub text: String,
}

/// A loaded BEIR dataset.
#[derive(Debug, Clone, Default)]
pub struct BeirDataset {
    /// Documents in file order.
    pub docs: Vec<BeirDoc>,
    /// Queries in file order.
    pub queries: Vec<BeirQuery>,
    /// query id → (document id → score), as listed in the qrels file.
    pub qrels: BTreeMap<String, HashMap<String, i32>>,
}

impl BeirDataset {
    /// The queries that are evaluated: those with at least one qrels entry of score `> 0`,
    /// in `queries.jsonl` order. (Queries without judgements are skipped, as in BEIR.)
    pub fn judged_queries(&self) -> Vec<&BeirQuery> {
        self.queries
            .iter()
            .filter(|q| {
                self.qrels
                    .get(&q.id)
                    .is_some_and(|m| m.values().any(|&s| s > 0))
            })
            .collect()
    }
}

/// The three files of a BEIR directory.
pub fn beir_paths(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        dir.join("corpus.jsonl"),
        dir.join("queries.jsonl"),
        dir.join("qrels").join("test.tsv"),
    )
}

#[derive(Deserialize)]
struct RawDoc {
    #[serde(rename = "_id")]
    id: RawId,
    text: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct RawQuery {
    #[serde(rename = "_id")]
    id: RawId,
    text: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawId {
    Str(String),
    Int(i64),
}

impl RawId {
    fn into_string(self) -> String {
        match self {
            RawId::Str(s) => s,
            RawId::Int(n) => n.to_string(),
        }
    }
}

/// Iterate the non-blank lines of a JSON-lines text with their 1-based line numbers.
fn jsonl_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty())
}

fn bad(path: &Path, line: usize, detail: impl Into<String>) -> Error {
    Error::BadInput {
        path: path.to_path_buf(),
        line,
        detail: detail.into(),
    }
}

/// Parse `corpus.jsonl`. Ids must be unique and non-empty.
pub fn parse_corpus(text: &str, path: &Path) -> Result<Vec<BeirDoc>> {
    let mut docs = Vec::new();
    let mut seen = HashSet::new();
    for (line, l) in jsonl_lines(text) {
        let raw: RawDoc = serde_json::from_str(l).map_err(|e| json_error(path, line - 1, e))?;
        let id = raw.id.into_string();
        if id.is_empty() {
            return Err(bad(path, line, "empty `_id`"));
        }
        if !seen.insert(id.clone()) {
            return Err(bad(path, line, format!("duplicate document id {id:?}")));
        }
        let language = raw.metadata.as_ref().and_then(|m| {
            m.get("lang")
                .or_else(|| m.get("language"))
                .and_then(|v| v.as_str())
                .and_then(Language::from_name)
        });
        docs.push(BeirDoc {
            id,
            title: raw.title.filter(|t| !t.trim().is_empty()),
            text: raw.text,
            language,
        });
    }
    Ok(docs)
}

/// Parse `queries.jsonl`. Ids must be unique and non-empty.
pub fn parse_queries(text: &str, path: &Path) -> Result<Vec<BeirQuery>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (line, l) in jsonl_lines(text) {
        let raw: RawQuery = serde_json::from_str(l).map_err(|e| json_error(path, line - 1, e))?;
        let id = raw.id.into_string();
        if id.is_empty() {
            return Err(bad(path, line, "empty `_id`"));
        }
        if !seen.insert(id.clone()) {
            return Err(bad(path, line, format!("duplicate query id {id:?}")));
        }
        out.push(BeirQuery { id, text: raw.text });
    }
    Ok(out)
}

/// Parse `qrels/*.tsv`: `query-id <TAB> corpus-id <TAB> score` per line. The first line is
/// skipped when its score column is not an integer (the header). A pair listed twice is an
/// error.
pub fn parse_qrels(text: &str, path: &Path) -> Result<BTreeMap<String, HashMap<String, i32>>> {
    let mut qrels: BTreeMap<String, HashMap<String, i32>> = BTreeMap::new();
    for (i, l) in text.lines().enumerate() {
        let line = i + 1;
        let l = l.trim_end_matches('\r');
        if l.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = l.split('\t').collect();
        if cols.len() != 3 {
            return Err(bad(
                path,
                line,
                format!(
                    "expected 3 tab-separated columns (query-id, corpus-id, score), found {}",
                    cols.len()
                ),
            ));
        }
        let score = match cols[2].trim().parse::<i32>() {
            Ok(s) => s,
            Err(_) if line == 1 => continue, // header
            Err(_) => {
                return Err(bad(
                    path,
                    line,
                    format!("score {:?} is not an integer", cols[2]),
                ))
            }
        };
        let (q, d) = (cols[0].trim(), cols[1].trim());
        if q.is_empty() || d.is_empty() {
            return Err(bad(path, line, "empty query or corpus id"));
        }
        if qrels
            .entry(q.to_string())
            .or_default()
            .insert(d.to_string(), score)
            .is_some()
        {
            return Err(bad(path, line, format!("pair ({q}, {d}) listed twice")));
        }
    }
    Ok(qrels)
}

/// Load a BEIR directory. Qrels that name an unknown query or document are an error (with
/// the qrels line), since they would silently lower or inflate the scores.
pub fn load_beir(dir: &Path) -> Result<BeirDataset> {
    let (cp, qp, rp) = beir_paths(dir);
    let docs = parse_corpus(&read_to_string(&cp)?, &cp)?;
    let queries = parse_queries(&read_to_string(&qp)?, &qp)?;
    let qrels_text = read_to_string(&rp)?;
    let qrels = parse_qrels(&qrels_text, &rp)?;
    check_qrels(&docs, &queries, &qrels_text, &rp)?;
    Ok(BeirDataset {
        docs,
        queries,
        qrels,
    })
}

fn check_qrels(
    docs: &[BeirDoc],
    queries: &[BeirQuery],
    qrels_text: &str,
    path: &Path,
) -> Result<()> {
    let doc_ids: HashSet<&str> = docs.iter().map(|d| d.id.as_str()).collect();
    let query_ids: HashSet<&str> = queries.iter().map(|q| q.id.as_str()).collect();
    for (i, l) in qrels_text.lines().enumerate() {
        let cols: Vec<&str> = l.trim_end_matches('\r').split('\t').collect();
        if cols.len() != 3 || cols[2].trim().parse::<i32>().is_err() {
            continue; // header or blank (parse_qrels already rejected anything else)
        }
        if !query_ids.contains(cols[0].trim()) {
            return Err(bad(
                path,
                i + 1,
                format!("unknown query id {:?}", cols[0].trim()),
            ));
        }
        if !doc_ids.contains(cols[1].trim()) {
            return Err(bad(
                path,
                i + 1,
                format!("unknown corpus id {:?}", cols[1].trim()),
            ));
        }
    }
    Ok(())
}
