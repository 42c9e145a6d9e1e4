//! Abbreviations programmers write for common words: a question says "file system",
//! "reference counting", "address", the code says `fs`, `ref`, `addr`.
//!
//! BM25 matches only the words it is given, and code, C and Go above all, is written in
//! abbreviations that no stemmer relates to the word (`uv_fs_read`, `uv_ref`, `dlopen`).
//! Expanding a query word with its usual abbreviations is the classic remedy (Hill,
//! Pollock and Vijay-Shanker, "AMAP: automatically mining abbreviation expansions in
//! programs", ICSE 2008, go the other way, from code to words; the pairs are the same).
//! The table is of general programming vocabulary, not of any one codebase. It leaves
//! out abbreviations that some language writes on every line whatever the code is about:
//! keywords and built-in types (`fn`, `func`, `def`, `impl`, `var`, `val`, `char`, `int`,
//! `if`) and Go's `err`; and `win`, which names Windows code more often than a window.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::tokenize::PartStemmer;

/// `(words, abbreviations)`: one or two words (two: a phrase, matched in order) and what
/// code writes for them.
const TABLE: &[(&str, &[&str])] = &[
    ("address", &["addr"]),
    ("administrator", &["admin"]),
    ("allocate", &["alloc"]),
    ("allocation", &["alloc"]),
    ("allocator", &["alloc"]),
    ("argument", &["arg", "args", "argv"]),
    ("arguments", &["args", "argv"]),
    ("asynchronous", &["async"]),
    ("attribute", &["attr", "attrs"]),
    ("authentication", &["auth"]),
    ("authorization", &["auth"]),
    ("average", &["avg"]),
    ("buffer", &["buf"]),
    ("callback", &["cb"]),
    ("certificate", &["cert"]),
    ("column", &["col"]),
    ("command", &["cmd"]),
    ("compare", &["cmp"]),
    ("comparison", &["cmp"]),
    ("configuration", &["config", "cfg", "conf"]),
    ("connection", &["conn"]),
    ("context", &["ctx"]),
    ("control", &["ctrl"]),
    ("coordinate", &["coord"]),
    ("count", &["cnt"]),
    ("counter", &["cnt"]),
    ("current", &["cur", "curr"]),
    ("database", &["db"]),
    ("declaration", &["decl"]),
    ("description", &["desc"]),
    ("descriptor", &["desc"]),
    ("destination", &["dst", "dest"]),
    ("directory", &["dir"]),
    ("distance", &["dist"]),
    ("document", &["doc"]),
    ("documentation", &["doc", "docs"]),
    ("element", &["elem"]),
    ("environment", &["env"]),
    ("escape", &["esc"]),
    ("execute", &["exec"]),
    ("execution", &["exec"]),
    ("expression", &["expr"]),
    ("extension", &["ext"]),
    ("frequency", &["freq"]),
    ("generate", &["gen"]),
    ("generator", &["gen"]),
    ("hexadecimal", &["hex"]),
    ("identifier", &["id"]),
    ("image", &["img"]),
    ("index", &["idx"]),
    ("information", &["info"]),
    ("initialization", &["init"]),
    ("initialize", &["init"]),
    ("instance", &["inst"]),
    ("interface", &["iface"]),
    ("iterator", &["iter"]),
    ("keyboard", &["kbd"]),
    ("language", &["lang"]),
    ("length", &["len"]),
    ("library", &["lib"]),
    ("manager", &["mgr"]),
    ("message", &["msg"]),
    ("milliseconds", &["ms"]),
    ("miscellaneous", &["misc"]),
    ("number", &["num"]),
    ("object", &["obj"]),
    ("operation", &["op"]),
    ("original", &["orig"]),
    ("package", &["pkg"]),
    ("parameter", &["param", "params"]),
    ("password", &["passwd"]),
    ("pointer", &["ptr"]),
    ("position", &["pos"]),
    ("previous", &["prev"]),
    ("process", &["proc"]),
    ("properties", &["props"]),
    ("property", &["prop"]),
    ("random", &["rand"]),
    ("receive", &["recv"]),
    ("reference", &["ref"]),
    ("references", &["refs"]),
    ("register", &["reg"]),
    ("repository", &["repo"]),
    ("request", &["req"]),
    ("response", &["resp"]),
    ("schedule", &["sched"]),
    ("scheduler", &["sched"]),
    ("segment", &["seg"]),
    ("separator", &["sep"]),
    ("sequence", &["seq"]),
    ("server", &["srv"]),
    ("service", &["svc"]),
    ("session", &["sess"]),
    ("signal", &["sig"]),
    ("socket", &["sock"]),
    ("source", &["src"]),
    ("specification", &["spec"]),
    ("statement", &["stmt"]),
    ("statistics", &["stats"]),
    ("synchronize", &["sync"]),
    ("synchronous", &["sync"]),
    ("system", &["sys"]),
    ("template", &["tmpl", "tpl"]),
    ("temporary", &["tmp", "temp"]),
    ("terminal", &["tty"]),
    ("token", &["tok"]),
    ("transaction", &["txn"]),
    ("utilities", &["utils"]),
    ("utility", &["util"]),
    ("version", &["ver"]),
    ("abstract syntax", &["ast"]),
    ("command line", &["cli"]),
    ("dynamic library", &["dl"]),
    ("dynamic loading", &["dl"]),
    ("file descriptor", &["fd"]),
    ("file system", &["fs"]),
    ("garbage collection", &["gc"]),
    ("garbage collector", &["gc"]),
    ("key value", &["kv"]),
    ("message queue", &["mq"]),
    ("pseudo terminal", &["pty"]),
    ("regular expression", &["regex"]),
    ("standard error", &["stderr"]),
    ("standard input", &["stdin"]),
    ("standard output", &["stdout"]),
    ("user interface", &["ui"]),
    ("virtual machine", &["vm"]),
];

/// Stems of one or two words → abbreviation terms, as the analyzer indexes them.
type Table = HashMap<(String, Option<String>), Vec<String>>;

fn table() -> &'static Table {
    static TABLE_BY_STEM: OnceLock<Table> = OnceLock::new();
    TABLE_BY_STEM.get_or_init(|| {
        let mut stemmer = PartStemmer::default();
        let mut out: Table = HashMap::new();
        for (words, abbrevs) in TABLE {
            let mut w = words.split(' ').map(|w| stemmer.stem(w).to_string());
            let key = (w.next().unwrap_or_default(), w.next());
            let terms = out.entry(key).or_default();
            for a in *abbrevs {
                let t = stemmer.stem(a).to_string();
                if !terms.contains(&t) {
                    terms.push(t);
                }
            }
        }
        out
    })
}

/// The abbreviation terms for a query's terms (stems, in query order), not already among
/// them: each word's own, and each pair of adjacent words' (`file system` → `fs`).
pub(crate) fn expansions(terms: &[String]) -> Vec<String> {
    let t = table();
    let mut out: Vec<String> = Vec::new();
    let mut add = |v: Option<&Vec<String>>| {
        for a in v.into_iter().flatten() {
            if !terms.contains(a) && !out.contains(a) {
                out.push(a.clone());
            }
        }
    };
    for (i, w) in terms.iter().enumerate() {
        add(t.get(&(w.clone(), None)));
        if let Some(next) = terms.get(i + 1) {
            add(t.get(&(w.clone(), Some(next.clone()))));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(q: &str) -> Vec<String> {
        super::super::query_terms(q)
    }

    #[test]
    fn words_and_phrases_expand() {
        assert_eq!(
            expansions(&terms("handle reference counting")),
            ["ref", "cnt"]
        );
        assert_eq!(
            expansions(&terms("file system operations")),
            ["fs", "sys", "op"]
        );
        assert_eq!(
            expansions(&terms("network interface address")),
            ["ifac", "addr"]
        );
    }

    #[test]
    fn nothing_for_plain_words_or_present_abbreviations() {
        assert!(expansions(&terms("read the whole file")).is_empty());
        assert!(expansions(&terms("buffer buf")).is_empty());
    }
}
