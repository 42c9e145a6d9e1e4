//! Documentation kept in another file: Rust's `#[doc = include_str!("…")]`.
//!
//! Rust crates often write a module's or an item's documentation in a Markdown file and
//! pull it in with an attribute: `#![doc = include_str!("../docs/extract.md")]` at the top
//! of `extract/mod.rs`, `#[doc = include_str!("../docs/routing/nest.md")]` above
//! `Router::nest`. rustdoc shows that text as the item's documentation, so a reader knows
//! what the module is about; the chunker, which sees one file, sees only the attribute.
//!
//! [`doc_includes`] finds the attributes in a file's text; the indexer, which may read
//! files, reads what they name (inside the indexed tree only) and
//! [`attach_included_docs`] appends each text to the chunk holding its attribute, so the
//! words that describe a module are searched where the module is (measured on axum's
//! dev queries: `benches/README.md`). Chunk ranges stay those of the code; only the text
//! grows, the way a split part's text starts with its definition's signature.
//!
//! Only a plain string literal is followed: `include_str!(concat!(env!(…), "…"))` names
//! its file through the build environment, which the indexer does not know.

use std::io::Read;
use std::path::Path;

use crate::chunk::Chunk;
use crate::lang::Language;

/// Most bytes of one included file that are added to a chunk: a bound on the work and on
/// the chunk, not a tuned value. A smaller cap loses the words a module's guide uses
/// further down (axum's `extract.md` names `FromRequestParts` after its first 2.5 KB):
/// measured in lexical mode, 2.5 KB 0.8727, 32 KiB 0.8751 (`benches/README.md`).
pub const MAX_INCLUDED_DOC_BYTES: usize = 32 * 1024;

/// Most included files followed per source file, so a generated file of thousands of
/// attributes cannot make indexing read thousands of files.
pub const MAX_DOC_INCLUDES: usize = 64;

/// One `doc = include_str!("path")` attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocInclude {
    /// Byte offset of the `include_str!` in the file's text: it belongs to the chunk that
    /// holds this offset.
    pub offset: usize,
    /// The path as written, relative to the including file's directory.
    pub path: String,
}

/// The documentation includes of a file's `text` (none for languages without them), in
/// file order, at most [`MAX_DOC_INCLUDES`].
pub fn doc_includes(text: &str, language: Language) -> Vec<DocInclude> {
    const MACRO: &str = "include_str!";
    if language != Language::Rust {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(MACRO) {
        let offset = from + i;
        from = offset + MACRO.len();
        if out.len() == MAX_DOC_INCLUDES {
            break;
        }
        if !is_doc_value(&text[..offset]) || for_doctests_only(text, offset) {
            continue;
        }
        if let Some(path) = string_argument(&text[from..]) {
            out.push(DocInclude {
                offset,
                path: path.to_string(),
            });
        }
    }
    out
}

/// Whether the text before a macro call ends with `doc =` inside an attribute: `#[doc =`,
/// `#![doc =`, or `cfg_attr(…, doc =`.
fn is_doc_value(before: &str) -> bool {
    let Some(rest) = before.trim_end().strip_suffix('=') else {
        return false;
    };
    let Some(rest) = rest.trim_end().strip_suffix("doc") else {
        return false;
    };
    // `doc` must be a whole word (not `mydoc =`), opening an attribute or an argument.
    matches!(rest.trim_end().chars().last(), Some('[' | '(' | ','))
}

/// Whether the attribute at `offset` belongs to an item compiled only for doctests:
/// `#[doc = include_str!("../README.md")] #[cfg(doctest)] pub struct ReadmeDoctests;` runs
/// a README's examples as tests and documents nothing (rustdoc never shows it), so the
/// README must not become that dummy item's text; nor must `#[cfg_attr(doctest, doc =
/// …)]`. The item's attributes are the lines starting with `#` around the one at
/// `offset`.
fn for_doctests_only(text: &str, offset: usize) -> bool {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let is_attr = |l: &&str| l.trim_start().starts_with('#');
    let above = text[..line_start].lines().rev().take_while(is_attr);
    let here_and_below = text[line_start..].lines().take_while(is_attr);
    above.chain(here_and_below).any(|l| {
        let l = l.replace(' ', "");
        (l.contains("cfg(doctest)") || l.contains("cfg_attr(doctest,"))
            && !l.contains("not(doctest)")
    })
}

/// The literal of `("path")` at the start of `after` (after the macro's name), when it is
/// a plain string without escapes.
fn string_argument(after: &str) -> Option<&str> {
    let rest = after.trim_start().strip_prefix('(')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    let path = &rest[..end];
    let closed = rest[end + 1..].trim_start().starts_with(')');
    (closed && !path.is_empty() && !path.contains(['\\', '\n'])).then_some(path)
}

/// One included file, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludedDoc {
    /// Where its attribute is ([`DocInclude::offset`]).
    pub offset: usize,
    /// The path as written.
    pub path: String,
    /// Its text, at most [`MAX_INCLUDED_DOC_BYTES`].
    pub text: String,
}

/// The documentation that `text`, the content of `file`, includes from other files: each
/// of its [`doc_includes`] that resolves to a readable text file inside `root` (the
/// indexed tree, canonical), at most [`MAX_INCLUDED_DOC_BYTES`] of it. A missing file, one
/// outside the tree (also through a symlink), and one that is not a regular file (a FIFO
/// would block), binary, or not UTF-8 (unless `lossy_utf8`) is left out: the attribute
/// stays plain code. The one place in chunking that reads files, for the indexer and for
/// an editor's unsaved buffers alike.
pub fn read_included_docs(
    file: &Path,
    root: &Path,
    text: &str,
    language: Language,
    lossy_utf8: bool,
) -> Vec<IncludedDoc> {
    let Some(dir) = file.parent() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for inc in doc_includes(text, language) {
        let Ok(target) = dir.join(&inc.path).canonicalize() else {
            continue;
        };
        if !target.starts_with(root) || !target.is_file() {
            continue;
        }
        let Ok(f) = std::fs::File::open(&target) else {
            continue;
        };
        let mut bytes = Vec::new();
        if f.take(MAX_INCLUDED_DOC_BYTES as u64)
            .read_to_end(&mut bytes)
            .is_err()
        {
            continue;
        }
        // A character cut at the limit is dropped; otherwise the walk's rules for text
        // decide.
        if let Err(e) = std::str::from_utf8(&bytes) {
            if e.error_len().is_none() {
                bytes.truncate(e.valid_up_to());
            }
        }
        if let Ok(ft) = crate::walk::decode(bytes, lossy_utf8) {
            out.push(IncludedDoc {
                offset: inc.offset,
                path: inc.path,
                text: cap_included_doc(ft.text),
            });
        }
    }
    out
}

/// Append each of `docs` to the chunk whose bytes hold its offset (an attribute outside
/// every chunk documents the definition after it, so the next chunk takes it; after the
/// last chunk, the last). Texts are separated from the code by a blank line.
pub fn attach_included_docs(chunks: &mut [Chunk], docs: &[IncludedDoc]) {
    for IncludedDoc { offset, text, .. } in docs {
        let doc = text.trim();
        if doc.is_empty() {
            continue;
        }
        let at = chunks
            .iter()
            .position(|c| *offset < c.end_byte)
            .or(chunks.len().checked_sub(1));
        if let Some(chunk) = at.and_then(|i| chunks.get_mut(i)) {
            chunk.text.push_str("\n\n");
            chunk.text.push_str(doc);
        }
    }
}

/// `text` cut to at most [`MAX_INCLUDED_DOC_BYTES`], at a char boundary.
fn cap_included_doc(mut text: String) -> String {
    if text.len() > MAX_INCLUDED_DOC_BYTES {
        let mut end = MAX_INCLUDED_DOC_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{chunk_file, ChunkOptions};

    fn doc(offset: usize, text: &str) -> IncludedDoc {
        IncludedDoc {
            offset,
            path: "x.md".into(),
            text: text.into(),
        }
    }

    fn paths(text: &str) -> Vec<String> {
        doc_includes(text, Language::Rust)
            .into_iter()
            .map(|d| d.path)
            .collect()
    }

    #[test]
    fn finds_inner_outer_and_cfg_attr_doc_includes() {
        let text = r#"#![doc = include_str!("../docs/extract.md")]
use x;
impl Router {
    #[doc = include_str!( "../docs/routing/nest.md" )]
    pub fn nest(self) {}
    #[cfg_attr(docsrs, doc = include_str!("a.md"))]
    fn a() {}
}
"#;
        assert_eq!(
            paths(text),
            ["../docs/extract.md", "../docs/routing/nest.md", "a.md"]
        );
    }

    #[test]
    fn ignores_readmes_included_only_to_run_their_examples() {
        let text = r#"pub use style::*;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../GUIDE.md")]
pub struct GuideDoctests;

#[cfg_attr(doctest, doc = include_str!("../TUTORIAL.md"))]
pub struct TutorialDoctests;
"#;
        assert!(paths(text).is_empty(), "{:?}", paths(text));
        // Documentation everywhere but in doctests is documentation.
        let text = r#"#![cfg_attr(not(doctest), doc = include_str!("../README.md"))]
#![warn(missing_docs)]
"#;
        assert_eq!(paths(text), ["../README.md"]);
    }

    #[test]
    fn ignores_other_uses_of_include_str() {
        let text = r#"const SQL: &str = include_str!("schema.sql");
#[mydoc = include_str!("x.md")]
#[doc = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))]
#[doc = include_str!("bad\"escape.md")]
#[doc = include_str!("")]
fn f() {}
"#;
        assert!(paths(text).is_empty(), "{:?}", paths(text));
        assert!(doc_includes(r#"#![doc = include_str!("a.md")]"#, Language::Python).is_empty());
    }

    #[test]
    fn follows_at_most_the_cap_of_includes() {
        let text = "#[doc = include_str!(\"a.md\")]\n".repeat(MAX_DOC_INCLUDES + 10);
        assert_eq!(paths(&text).len(), MAX_DOC_INCLUDES);
    }

    #[test]
    fn attaches_each_text_to_the_chunk_holding_its_attribute() {
        let text = r#"#![doc = include_str!("../docs/extract.md")]

use http::HeaderMap;

pub fn has_content_type(headers: &HeaderMap) -> bool {
    headers.contains_key("content-type")
}

#[doc = include_str!("../docs/other.md")]
pub fn other() {}
"#;
        let mut chunks = chunk_file(
            "src/extract/mod.rs",
            text,
            Language::Rust,
            &ChunkOptions::default(),
        );
        let before: Vec<(u32, u32)> = chunks.iter().map(|c| (c.start_line, c.end_line)).collect();
        let docs: Vec<IncludedDoc> = doc_includes(text, Language::Rust)
            .into_iter()
            .zip([
                "Types and traits for extracting data from requests.",
                "  \n",
            ])
            .map(|(d, t)| doc(d.offset, t))
            .collect();
        assert_eq!(docs.len(), 2);
        attach_included_docs(&mut chunks, &docs);
        let holder = chunks.iter().find(|c| c.start_line == 1).unwrap();
        assert!(holder.text.starts_with("#![doc"));
        assert!(holder
            .text
            .ends_with("\n\nTypes and traits for extracting data from requests."));
        // A blank text adds nothing; no other chunk changed; ranges are the code's.
        let other = chunks
            .iter()
            .find(|c| c.symbol.as_deref() == Some("other"))
            .unwrap();
        assert!(
            other.text.ends_with("pub fn other() {}\n"),
            "{:?}",
            other.text
        );
        assert_eq!(
            chunks
                .iter()
                .filter(|c| c.text.contains("extracting data"))
                .count(),
            1
        );
        let after: Vec<(u32, u32)> = chunks.iter().map(|c| (c.start_line, c.end_line)).collect();
        assert_eq!(before, after);
    }

    #[test]
    fn an_attribute_outside_every_chunk_goes_to_the_next_or_the_last() {
        let mut chunks = chunk_file(
            "a.rs",
            "fn a() {}\n\nfn b() {}\n",
            Language::Rust,
            &ChunkOptions::default(),
        );
        assert_eq!(chunks.len(), 2);
        let end_a = chunks[0].end_byte;
        attach_included_docs(&mut chunks, &[doc(end_a, "next"), doc(10_000, "last")]);
        assert!(chunks[1].text.contains("next") && chunks[1].text.ends_with("last"));
        assert!(!chunks[0].text.contains("next"));
        attach_included_docs(&mut [], &[doc(0, "nowhere")]);
    }

    #[test]
    fn reads_included_files_inside_the_tree_only() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        std::fs::create_dir_all(root.join("src/docs")).unwrap();
        std::fs::write(root.join("src/docs/a.md"), "Alpha docs.").unwrap();
        std::fs::write(root.join("src/docs/bin.md"), b"bin\0ary").unwrap();
        std::fs::write(tmp.path().join("outside.md"), "Secret.").unwrap();
        std::fs::write(
            root.join("src/docs/long.md"),
            format!("x{}", "é".repeat(MAX_INCLUDED_DOC_BYTES)),
        )
        .unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(tmp.path().join("outside.md"), root.join("src/docs/link.md"))
            .unwrap();
        let root = root.canonicalize().unwrap();
        let text = r#"#![doc = include_str!("docs/a.md")]
#[doc = include_str!("docs/missing.md")]
#[doc = include_str!("docs/bin.md")]
#[doc = include_str!("../../outside.md")]
#[doc = include_str!("docs/link.md")]
#[doc = include_str!("docs")]
#[doc = include_str!("docs/long.md")]
fn f() {}
"#;
        let docs = read_included_docs(&root.join("src/lib.rs"), &root, text, Language::Rust, false);
        let got: Vec<(&str, usize)> = docs
            .iter()
            .map(|d| (d.path.as_str(), d.text.len()))
            .collect();
        // The long file is cut at the cap, before the character the cap splits.
        assert_eq!(
            got,
            [
                ("docs/a.md", 11),
                ("docs/long.md", MAX_INCLUDED_DOC_BYTES - 1)
            ]
        );
        assert_eq!(docs[0].text, "Alpha docs.");
        assert_eq!(docs[0].offset, text.find("include_str!").unwrap());
        assert!(
            read_included_docs(&root.join("src/lib.rs"), &root, text, Language::Go, false)
                .is_empty()
        );
    }

    #[test]
    fn caps_a_long_text_at_a_char_boundary() {
        let long = "é".repeat(MAX_INCLUDED_DOC_BYTES);
        let capped = cap_included_doc(long);
        assert!(
            capped.len() <= MAX_INCLUDED_DOC_BYTES && capped.len() + 1 >= MAX_INCLUDED_DOC_BYTES
        );
        assert_eq!(cap_included_doc("short".into()), "short");
    }
}
