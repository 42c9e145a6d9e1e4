//! Repository-suite files: the repos list (`dev-repos.json`) and `annotations/<name>.json`
//! (format in `shared/bench/README.md`). Malformed files give [`Error::BadInput`] naming
//! the file and the line (serde_json's position; for an invalid target or query it is the
//! line where that JSON value ends).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::eval::score::{Span, Target};

/// One repository of a suite (a record of the repos list). Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RepoSpec {
    /// Repository name: `<corpus>/<name>/` is its package dir and `annotations/<name>.json`
    /// its queries.
    pub name: String,
    /// Language label used for the per-language report (e.g. `python`).
    pub language: String,
    /// Directory to index, relative to the package dir (`""` or `"."` for the package dir).
    pub root: String,
    /// Gitignore-style globs, relative to `root`, of files not to index.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Prefix that upstream target paths carry beyond the package dir (informational: the
    /// two-way suffix rule already handles it).
    #[serde(default)]
    pub target_prefix: String,
}

impl RepoSpec {
    /// `root` normalised: no leading `./`, no trailing `/`, `""` for the package dir.
    pub fn root_prefix(&self) -> String {
        normalize_root(&self.root)
    }

    /// The package-relative path of a path relative to the indexed root.
    pub fn package_path(&self, root_relative: &str) -> String {
        let root = self.root_prefix();
        let rel = root_relative.replace('\\', "/");
        let rel = rel.trim_start_matches("./");
        if root.is_empty() {
            rel.to_string()
        } else {
            format!("{root}/{rel}")
        }
    }
}

fn normalize_root(root: &str) -> String {
    let mut r = root.replace('\\', "/");
    while let Some(rest) = r.strip_prefix("./") {
        r = rest.to_string();
    }
    let r = r.trim_end_matches('/');
    if r == "." {
        String::new()
    } else {
        r.to_string()
    }
}

/// One annotated query of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The query text.
    pub query: String,
    /// Primary targets.
    pub relevant: Vec<Target>,
    /// Secondary targets (same weight as primary).
    pub secondary: Vec<Target>,
    /// `semantic`, `architecture` or `symbol` (any non-empty label is accepted).
    pub category: String,
}

impl Query {
    /// Relevant and secondary targets together, relevant first.
    pub fn targets(&self) -> Vec<Target> {
        self.relevant
            .iter()
            .chain(self.secondary.iter())
            .cloned()
            .collect()
    }
}

#[derive(Deserialize)]
struct RawQuery {
    query: String,
    relevant: Vec<TargetRepr>,
    #[serde(default)]
    secondary: Vec<TargetRepr>,
    category: String,
}

impl TryFrom<RawQuery> for Query {
    type Error = String;

    fn try_from(raw: RawQuery) -> std::result::Result<Self, String> {
        if raw.query.trim().is_empty() {
            return Err("empty query text".into());
        }
        if raw.category.trim().is_empty() {
            return Err(format!("query {:?}: empty category", raw.query));
        }
        if raw.relevant.is_empty() && raw.secondary.is_empty() {
            return Err(format!(
                "query {:?}: no relevant or secondary targets",
                raw.query
            ));
        }
        Ok(Query {
            query: raw.query,
            relevant: raw.relevant.into_iter().map(|t| t.0).collect(),
            secondary: raw.secondary.into_iter().map(|t| t.0).collect(),
            category: raw.category,
        })
    }
}

// Validation errors are raised inside `visit_map`/`visit_str`, so serde_json attaches the
// position of the value itself (the end of the query object, the end of the target) rather
// than that of an enclosing array.
impl<'de> Deserialize<'de> for Query {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Query;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a query object {query, relevant, secondary, category}")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Query, A::Error> {
                let raw = RawQuery::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Query::try_from(raw).map_err(serde::de::Error::custom)
            }
        }
        d.deserialize_map(V)
    }
}

/// A target as written: a path string or `{path, start_line, end_line}`.
struct TargetRepr(Target);

impl<'de> Deserialize<'de> for TargetRepr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TargetRepr;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a target: a path string or {path, start_line, end_line}")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<TargetRepr, E> {
                TargetRepr::try_from(serde_json::Value::String(s.to_string())).map_err(E::custom)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<TargetRepr, A::Error> {
                let mut obj = serde_json::Map::new();
                while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                    obj.insert(k, v);
                }
                TargetRepr::try_from(serde_json::Value::Object(obj))
                    .map_err(serde::de::Error::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl TryFrom<serde_json::Value> for TargetRepr {
    type Error = String;

    fn try_from(v: serde_json::Value) -> std::result::Result<Self, String> {
        use serde_json::Value;
        match v {
            Value::String(p) if !p.trim().is_empty() => Ok(TargetRepr(Target::file(p))),
            Value::String(_) => Err("empty target path".into()),
            Value::Object(map) => {
                let path = match map.get("path") {
                    Some(Value::String(p)) if !p.trim().is_empty() => p.clone(),
                    Some(_) => return Err("span target: `path` must be a non-empty string".into()),
                    None => return Err("span target: missing field `path`".into()),
                };
                let line = |key: &str| -> std::result::Result<u32, String> {
                    let v = map
                        .get(key)
                        .ok_or_else(|| format!("span target {path:?}: missing field `{key}`"))?;
                    v.as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .filter(|&n| n >= 1)
                        .ok_or_else(|| {
                            format!(
                                "span target {path:?}: `{key}` must be a line number >= 1, got {v}"
                            )
                        })
                };
                let start_line = line("start_line")?;
                let end_line = line("end_line")?;
                if end_line < start_line {
                    return Err(format!(
                        "span target {path:?}: end_line {end_line} is before start_line {start_line}"
                    ));
                }
                Ok(TargetRepr(Target {
                    path,
                    span: Some(Span {
                        start_line,
                        end_line,
                    }),
                }))
            }
            other => Err(format!(
                "a target must be a path string or {{path, start_line, end_line}}, got {other}"
            )),
        }
    }
}

/// Turn a serde_json error into [`Error::BadInput`] for `path`, moving serde_json's
/// "at line L column C" into the error's line field.
pub(crate) fn json_error(path: &Path, line_offset: usize, e: serde_json::Error) -> Error {
    let msg = e.to_string();
    let detail = match msg.rfind(" at line ") {
        Some(i) if e.line() > 0 => format!("{} (column {})", &msg[..i], e.column()),
        _ => msg,
    };
    Error::BadInput {
        path: path.to_path_buf(),
        line: if e.line() > 0 {
            e.line() + line_offset
        } else {
            line_offset
        },
        detail,
    }
}

pub(crate) fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io("reading", path, e))
}

/// Parse a repos list (a JSON array of [`RepoSpec`]). `path` is only used in errors.
/// Names must be unique, non-empty, and a single path component.
pub fn parse_repos(text: &str, path: &Path) -> Result<Vec<RepoSpec>> {
    let repos: Vec<RepoSpec> = serde_json::from_str(text).map_err(|e| json_error(path, 0, e))?;
    let mut seen = std::collections::HashSet::new();
    for r in &repos {
        let bad = |detail: String| Error::BadInput {
            path: path.to_path_buf(),
            line: 0,
            detail,
        };
        if r.name.is_empty() || r.name == "." || r.name == ".." || r.name.contains(['/', '\\']) {
            return Err(bad(format!(
                "repo name {:?} is not a plain directory name",
                r.name
            )));
        }
        if normalize_root(&r.root).split('/').any(|c| c == "..") || Path::new(&r.root).is_absolute()
        {
            return Err(bad(format!(
                "repo {:?}: root {:?} must be relative and inside the package dir",
                r.name, r.root
            )));
        }
        if !seen.insert(r.name.clone()) {
            return Err(bad(format!("repo {:?} is listed twice", r.name)));
        }
    }
    Ok(repos)
}

/// Parse an annotations file (a JSON array of [`Query`]). `path` is only used in errors.
pub fn parse_annotations(text: &str, path: &Path) -> Result<Vec<Query>> {
    serde_json::from_str(text).map_err(|e| json_error(path, 0, e))
}

/// Read and parse a repos list file.
pub fn load_repos(path: &Path) -> Result<Vec<RepoSpec>> {
    parse_repos(&read_to_string(path)?, path)
}

/// Read and parse an annotations file.
pub fn load_annotations(path: &Path) -> Result<Vec<Query>> {
    parse_annotations(&read_to_string(path)?, path)
}

/// The annotations file of a repo: `<suite>/annotations/<name>.json`.
pub fn annotations_path(suite: &Path, repo: &RepoSpec) -> PathBuf {
    suite
        .join("annotations")
        .join(format!("{}.json", repo.name))
}
