//! The code-aware analyzer shared by indexing and querying.
//!
//! Text is cut into *identifiers* (runs of letters, digits and `_`, with `-` joining two
//! words as in `read-file`). Each identifier is emitted whole (lowercased, unstemmed, so an
//! exact identifier still matches exactly) followed by its *parts* — the camelCase /
//! PascalCase / acronym / snake / kebab / digit pieces — lowercased and English-stemmed, so
//! natural-language words meet identifier parts (`retries` ↔ `max_retries` ↔ `RetryConfig`).
//!
//! Positions: the whole identifier takes the position of its first part and spans all of
//! them (`position_length`), the parts take consecutive positions, so adjacent words in the
//! text stay adjacent whether they were written `read_file` or `read file`.

use std::collections::HashMap;

use tantivy::tokenizer::{
    Language as StemLanguage, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer,
};

/// Identifiers longer than this (bytes) are skipped: they are blobs (base64, minified code,
/// hashes), whose parts would flood the index with junk terms.
const MAX_IDENT_LEN: usize = 256;

/// Parts shorter than this are not stemmed (Snowball leaves them alone anyway; skipping
/// saves the lookup).
const MIN_STEM_LEN: usize = 3;

/// The stem cache is cleared when it grows past this many entries, to bound memory on
/// corpora with huge vocabularies. Code vocabularies are Zipfian, so hits dominate.
const STEM_CACHE_MAX: usize = 200_000;

/// Is `c` part of an identifier?
fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Byte ranges of the identifiers in `text`, in order.
///
/// A `-` joins an identifier when preceded by a letter or digit and followed by a letter
/// (`read-file`, `max-retries`), but not in `x-1`, `a - b`, `--flag` or `p->next`.
pub(crate) fn identifiers(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        // Skip to the start of the next identifier.
        let start = loop {
            let (i, c) = chars.next()?;
            if is_ident_char(c) {
                break i;
            }
        };
        let mut end = text.len();
        let mut prev_alnum = true;
        while let Some(&(i, c)) = chars.peek() {
            if is_ident_char(c) {
                prev_alnum = c.is_alphanumeric();
                chars.next();
                continue;
            }
            if c == '-' && prev_alnum {
                let next_is_letter = text[i + 1..]
                    .chars()
                    .next()
                    .is_some_and(|n| n.is_alphabetic());
                if next_is_letter {
                    prev_alnum = false;
                    chars.next();
                    continue;
                }
            }
            end = i;
            break;
        }
        Some((start, end))
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Upper,
    Lower,
    Digit,
}

fn class(c: char) -> Class {
    if c.is_numeric() {
        Class::Digit
    } else if c.is_uppercase() {
        Class::Upper
    } else {
        // Lowercase letters and caseless scripts (CJK, ...) behave alike.
        Class::Lower
    }
}

/// Byte ranges (relative to `ident`) of the parts of one identifier.
///
/// `parseJSON2Yaml` → `parse`, `JSON`, `2`, `Yaml`; `HTTPServerError` → `HTTP`, `Server`,
/// `Error`; `MAX_RETRIES` → `MAX`, `RETRIES`; `read-file` → `read`, `file`.
pub(crate) fn parts(ident: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = ident.char_indices().collect();
    let mut start: Option<usize> = None;
    for (k, &(i, c)) in chars.iter().enumerate() {
        if c == '_' || c == '-' {
            if let Some(s) = start.take() {
                out.push((s, i));
            }
            continue;
        }
        let Some(s) = start else {
            start = Some(i);
            continue;
        };
        let prev = class(chars[k - 1].1);
        let cur = class(c);
        let boundary = match (prev, cur) {
            (Class::Lower, Class::Upper) => true,
            (Class::Digit, Class::Digit) => false,
            (Class::Digit, _) | (_, Class::Digit) => true,
            // End of an acronym: the last capital starts the next word (`HTTPServer`).
            (Class::Upper, Class::Upper) => chars
                .get(k + 1)
                .is_some_and(|&(_, n)| n != '_' && n != '-' && class(n) == Class::Lower),
            _ => false,
        };
        if boundary {
            out.push((s, i));
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, ident.len()));
    }
    out
}

/// Lowercases `s` into `out` (cleared first), with an ASCII fast path.
fn lowercase_into(s: &str, out: &mut String) {
    out.clear();
    if s.is_ascii() {
        out.push_str(s);
        out.make_ascii_lowercase();
    } else {
        out.extend(s.chars().flat_map(char::to_lowercase));
    }
}

/// Lowercased copy of `s`.
pub(crate) fn lowercase(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    lowercase_into(s, &mut out);
    out
}

/// A tokenizer that emits its whole input as one token; wrapped in tantivy's [`Stemmer`]
/// it gives us Snowball stemming of a single word without depending on the stemmer
/// crate directly.
#[derive(Clone)]
struct OneToken;

struct OneTokenStream {
    token: Token,
    done: bool,
}

impl Tokenizer for OneToken {
    type TokenStream<'a> = OneTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> OneTokenStream {
        OneTokenStream {
            token: Token {
                offset_from: 0,
                offset_to: text.len(),
                position: 0,
                text: text.to_string(),
                position_length: 1,
            },
            done: false,
        }
    }
}

impl TokenStream for OneTokenStream {
    fn advance(&mut self) -> bool {
        !std::mem::replace(&mut self.done, true)
    }
    fn token(&self) -> &Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// English stemming of identifier parts, memoised.
#[derive(Clone)]
pub(crate) struct PartStemmer {
    stemmer: TextAnalyzer,
    cache: HashMap<String, String>,
}

impl Default for PartStemmer {
    fn default() -> Self {
        PartStemmer {
            stemmer: TextAnalyzer::builder(OneToken)
                .filter(Stemmer::new(StemLanguage::English))
                .build(),
            cache: HashMap::new(),
        }
    }
}

impl PartStemmer {
    /// The stem of a lowercased part. Only ASCII words of 3+ letters are stemmed: the
    /// stemmer is English, and digits or short pieces (`id`, `x`) must stay as they are.
    pub(crate) fn stem<'s>(&'s mut self, part: &'s str) -> &'s str {
        if part.len() < MIN_STEM_LEN || !part.bytes().all(|b| b.is_ascii_lowercase()) {
            return part;
        }
        if !self.cache.contains_key(part) {
            if self.cache.len() >= STEM_CACHE_MAX {
                self.cache.clear();
            }
            let mut stream = self.stemmer.token_stream(part);
            let stemmed = if stream.advance() {
                stream.token().text.clone()
            } else {
                part.to_string()
            };
            self.cache.insert(part.to_string(), stemmed);
        }
        self.cache.get(part).map_or(part, String::as_str)
    }
}

/// The words of `text` as `(lowercased part, stem)` pairs: identifiers split into their
/// camel/snake/kebab parts, in order, duplicates kept. What the re-ranker compares query
/// words with paths and symbol names by.
pub(crate) fn word_parts(text: &str, stemmer: &mut PartStemmer) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (s, e) in identifiers(text) {
        let ident = &text[s..e];
        for (ps, pe) in parts(ident) {
            let part = lowercase(&ident[ps..pe]);
            let stem = stemmer.stem(&part).to_string();
            out.push((part, stem));
        }
    }
    out
}

/// One token produced by [`Analyzer::analyze`], before it is copied into a tantivy token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Emit<'a> {
    pub text: &'a str,
    pub offset_from: usize,
    pub offset_to: usize,
    pub position: usize,
    pub position_length: usize,
}

/// The analyzer: identifier splitting, lowercasing, part stemming.
#[derive(Clone, Default)]
pub(crate) struct Analyzer {
    stemmer: PartStemmer,
    whole: String,
    part: String,
    part_ranges: Vec<(usize, usize)>,
}

impl Analyzer {
    /// Runs the analyzer over `text`, calling `emit` for each token in order. Positions
    /// start at 0.
    pub(crate) fn analyze(&mut self, text: &str, mut emit: impl FnMut(Emit<'_>)) {
        let mut position = 0;
        for (start, end) in identifiers(text) {
            position += self.analyze_ident(&text[start..end], start, position, &mut emit);
        }
    }

    /// Emits the tokens of one identifier found at byte `base` with first position
    /// `position`; returns how many positions it used.
    pub(crate) fn analyze_ident(
        &mut self,
        ident: &str,
        base: usize,
        position: usize,
        emit: &mut impl FnMut(Emit<'_>),
    ) -> usize {
        if ident.len() > MAX_IDENT_LEN {
            return 1;
        }
        self.part_ranges = parts(ident);
        let n = self.part_ranges.len();
        if n == 0 {
            // Only underscores: nothing searchable.
            return 0;
        }
        lowercase_into(ident, &mut self.whole);
        let end = base + ident.len();
        if n == 1 {
            let (ps, pe) = self.part_ranges[0];
            // `__init__` also yields `init`; `parse` is emitted once, not as whole + part.
            if ps != 0 || pe != ident.len() {
                emit(Emit {
                    text: &self.whole,
                    offset_from: base,
                    offset_to: end,
                    position,
                    position_length: 1,
                });
            }
            lowercase_into(&ident[ps..pe], &mut self.part);
            let (from, to) = (base + ps, base + pe);
            emit(Emit {
                text: &self.part,
                offset_from: from,
                offset_to: to,
                position,
                position_length: 1,
            });
            // A standalone word keeps its exact form *and* adds its stem at the same
            // position: exact matches score above inflected ones.
            let stem = self.stemmer.stem(&self.part);
            if stem != self.part {
                emit(Emit {
                    text: stem,
                    offset_from: from,
                    offset_to: to,
                    position,
                    position_length: 1,
                });
            }
            return 1;
        }
        emit(Emit {
            text: &self.whole,
            offset_from: base,
            offset_to: end,
            position,
            position_length: n,
        });
        for k in 0..n {
            let (ps, pe) = self.part_ranges[k];
            lowercase_into(&ident[ps..pe], &mut self.part);
            let stem = self.stemmer.stem(&self.part);
            emit(Emit {
                text: stem,
                offset_from: base + ps,
                offset_to: base + pe,
                position: position + k,
                position_length: 1,
            });
        }
        n
    }
}

/// The tantivy tokenizer (registered as [`super::TOKENIZER_NAME`]).
///
/// Tokens are produced into a reusable buffer, so indexing allocates almost nothing per
/// token after warm-up.
#[derive(Clone, Default)]
pub(crate) struct CodeTokenizer {
    analyzer: Analyzer,
    buffer: Vec<Token>,
}

/// Token stream over [`CodeTokenizer`]'s buffer.
pub(crate) struct CodeTokenStream<'a> {
    /// At least one slot long (a placeholder when there are no tokens), so `token()` before
    /// or after the stream never indexes out of bounds.
    tokens: &'a mut [Token],
    len: usize,
    next: usize,
}

impl Tokenizer for CodeTokenizer {
    type TokenStream<'a> = CodeTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CodeTokenStream<'a> {
        let buffer = &mut self.buffer;
        let mut len = 0;
        self.analyzer.analyze(text, |e| {
            if len == buffer.len() {
                buffer.push(Token::default());
            }
            let t = &mut buffer[len];
            t.text.clear();
            t.text.push_str(e.text);
            t.offset_from = e.offset_from;
            t.offset_to = e.offset_to;
            t.position = e.position;
            t.position_length = e.position_length;
            len += 1;
        });
        // Don't keep a huge buffer alive after one giant document.
        if buffer.len() > 1 << 16 && len < 1 << 12 {
            buffer.truncate(1 << 12);
            buffer.shrink_to_fit();
        }
        if buffer.is_empty() {
            buffer.push(Token::default());
        }
        CodeTokenStream {
            tokens: &mut self.buffer[..len.max(1)],
            len,
            next: 0,
        }
    }
}

impl TokenStream for CodeTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next < self.len {
            self.next += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next.saturating_sub(1)]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next.saturating_sub(1)]
    }
}

/// The analyzer's output for `text`: the token texts in order (see the module docs).
pub fn code_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    Analyzer::default().analyze(text, |e| out.push(e.text.to_string()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        code_tokens(s)
    }

    /// (text, position, position_length, offset_from, offset_to) of every token, as the
    /// tantivy tokenizer hands them to the indexer.
    fn stream(s: &str) -> Vec<(String, usize, usize, usize, usize)> {
        let mut tokenizer = CodeTokenizer::default();
        let mut stream = tokenizer.token_stream(s);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push((
                t.text.clone(),
                t.position,
                t.position_length,
                t.offset_from,
                t.offset_to,
            ));
        }
        out
    }

    #[test]
    fn single_part_identifier_is_emitted_once() {
        assert_eq!(toks("config"), ["config"]);
        assert_eq!(toks("x"), ["x"]);
        assert_eq!(toks("Config"), ["config"]);
        // A standalone word adds its stem (same position) when stemming changes it.
        assert_eq!(toks("parse"), ["parse", "pars"]);
    }

    #[test]
    fn camel_and_pascal_case() {
        assert_eq!(toks("parseConfig"), ["parseconfig", "pars", "config"]);
        assert_eq!(toks("ParseConfig"), ["parseconfig", "pars", "config"]);
        assert_eq!(toks("readFile"), ["readfile", "read", "file"]);
    }

    #[test]
    fn acronyms() {
        assert_eq!(
            toks("HTTPServerError"),
            ["httpservererror", "http", "server", "error"]
        );
        assert_eq!(toks("IOError"), ["ioerror", "io", "error"]);
        assert_eq!(
            toks("getHTTPResponseCode"),
            ["gethttpresponsecode", "get", "http", "respons", "code"]
        );
        assert_eq!(toks("HTTP"), ["http"]);
    }

    #[test]
    fn digits_split_from_letters() {
        assert_eq!(
            toks("parseJSON2Yaml"),
            ["parsejson2yaml", "pars", "json", "2", "yaml"]
        );
        assert_eq!(toks("utf8"), ["utf8", "utf", "8"]);
        assert_eq!(toks("x86_64"), ["x86_64", "x", "86", "64"]);
        assert_eq!(toks("1024"), ["1024"]);
    }

    #[test]
    fn snake_screaming_and_kebab() {
        assert_eq!(toks("parse_config"), ["parse_config", "pars", "config"]);
        assert_eq!(toks("MAX_RETRIES"), ["max_retries", "max", "retri"]);
        assert_eq!(toks("read-file"), ["read-file", "read", "file"]);
        assert_eq!(toks("__init__"), ["__init__", "init"]);
        assert_eq!(toks("_"), Vec::<String>::new());
    }

    #[test]
    fn hyphen_joins_only_words() {
        // Subtraction, flags' leading dashes, arrows and spaced minus are separators.
        assert_eq!(toks("x-1"), ["x", "1"]);
        assert_eq!(toks("a - b"), ["a", "b"]);
        assert_eq!(toks("--max-retries"), ["max-retries", "max", "retri"]);
        assert_eq!(toks("p->next"), ["p", "next"]);
    }

    #[test]
    fn splits_on_punctuation_and_paths() {
        assert_eq!(toks("foo(bar, baz);"), ["foo", "bar", "baz"]);
        assert_eq!(toks("Foo::bar"), ["foo", "bar"]);
        assert_eq!(
            toks("src/io/read-file"),
            ["src", "io", "read-file", "read", "file"]
        );
        assert_eq!(toks("  ;;{}  "), Vec::<String>::new());
    }

    #[test]
    fn stemming_applies_to_parts_not_whole_identifiers() {
        assert_eq!(toks("retries"), ["retries", "retri"]);
        assert_eq!(toks("retry"), ["retry", "retri"]);
        assert_eq!(toks("RetryConfig"), ["retryconfig", "retri", "config"]);
        assert_eq!(toks("configured"), ["configured", "configur"]);
        assert_eq!(toks("configuration"), ["configuration", "configur"]);
    }

    #[test]
    fn unicode_identifiers() {
        assert_eq!(toks("ÜberClass"), ["überclass", "über", "class"]);
        assert_eq!(toks("naïveFoo"), ["naïvefoo", "naïve", "foo"]);
        assert_eq!(toks("数据库"), ["数据库"]);
    }

    #[test]
    fn giant_identifiers_are_skipped() {
        let blob = "aB".repeat(200);
        assert_eq!(toks(&format!("x {blob} y")), ["x", "y"]);
    }

    #[test]
    fn positions_and_offsets() {
        let t = stream("readFile(path) parse x");
        assert_eq!(
            t,
            [
                ("readfile".to_string(), 0, 2, 0, 8),
                ("read".to_string(), 0, 1, 0, 4),
                ("file".to_string(), 1, 1, 4, 8),
                ("path".to_string(), 2, 1, 9, 13),
                ("parse".to_string(), 3, 1, 15, 20),
                ("pars".to_string(), 3, 1, 15, 20),
                ("x".to_string(), 4, 1, 21, 22),
            ]
        );
        // `read_file` and `read file` put `read` and `file` at adjacent positions alike.
        let spaced = stream("read file");
        assert_eq!((spaced[0].1, spaced[1].1), (0, 1));
    }

    #[test]
    fn empty_stream_is_safe() {
        let mut tokenizer = CodeTokenizer::default();
        let mut stream = tokenizer.token_stream("");
        assert!(!stream.advance());
        let _ = stream.token();
    }

    #[test]
    fn tokenizer_buffer_is_reused_correctly() {
        let mut tokenizer = CodeTokenizer::default();
        let long: Vec<String> = {
            let mut s = tokenizer.token_stream("alphaBeta gammaDelta");
            let mut v = Vec::new();
            while let Some(t) = s.next() {
                v.push(t.text.clone());
            }
            v
        };
        assert_eq!(long.len(), 6);
        let mut s = tokenizer.token_stream("zeta");
        assert_eq!(s.next().map(|t| t.text.clone()), Some("zeta".to_string()));
        assert!(s.next().is_none());
    }
}
