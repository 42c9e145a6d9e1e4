//! Line bookkeeping and the byte-budgeted packing shared by every chunking strategy:
//! line windows, splitting an over-budget definition at preferred cut rows, and byte
//! windows for a single line longer than the budget.

use super::{Chunk, ChunkKind, ChunkOptions};
use crate::lang::Language;

/// Byte offsets of line starts. Rows are 0-based here; chunks store 1-based lines.
pub(crate) struct Lines<'a> {
    pub text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' && i + 1 < text.len() {
                starts.push(i + 1);
            }
        }
        if text.is_empty() {
            starts.clear();
        }
        Lines { text, starts }
    }

    /// Number of lines (a final newline does not start another line).
    pub fn count(&self) -> usize {
        self.starts.len()
    }

    /// Byte offset where `row` starts; `count()` maps to the end of the text.
    pub fn start(&self, row: usize) -> usize {
        self.starts.get(row).copied().unwrap_or(self.text.len())
    }

    /// Byte range of rows `[a, b)`, each line with its newline.
    pub fn range(&self, a: usize, b: usize) -> (usize, usize) {
        (self.start(a), self.start(b))
    }

    /// Size in bytes of rows `[a, b)`.
    pub fn size(&self, a: usize, b: usize) -> usize {
        self.start(b) - self.start(a)
    }

    /// The row containing byte offset `byte`.
    pub fn row_of(&self, byte: usize) -> usize {
        match self.starts.binary_search(&byte) {
            Ok(r) => r,
            Err(r) => r.saturating_sub(1),
        }
    }

    /// Text of `row` without its line terminator.
    pub fn line(&self, row: usize) -> &'a str {
        let (s, e) = self.range(row, row + 1);
        self.text[s..e].trim_end_matches(['\n', '\r'])
    }

    /// Whether `row` holds only whitespace.
    pub fn is_blank(&self, row: usize) -> bool {
        self.line(row).trim().is_empty()
    }
}

/// Whether a piece of text is worth a chunk: it has a word other than a block closer
/// (`end`), so lines holding only braces, parentheses or `end` are dropped.
pub(crate) fn meaningful(text: &str) -> bool {
    text.lines().any(|line| {
        let t = line.trim();
        if is_conditional_directive(t) || is_macro_opener(t) {
            return false;
        }
        let (rest, closed) = strip_closers(t);
        let has_word = rest.split(|c: char| !is_word(c)).any(|w| !w.is_empty());
        has_word && !(closed && is_comment(rest))
    })
}

/// Whether a line is blank or only closes blocks (`}`, `end`, `};`, with at most a
/// trailing comment). Preprocessor conditionals are not: their conditions
/// (`#if canImport(UIKit)`) say what the code is for.
pub(crate) fn is_closer(line: &str) -> bool {
    let t = line.trim();
    let (rest, closed) = strip_closers(t);
    t.is_empty() || (closed && (rest.is_empty() || is_comment(rest)))
}

/// `line` without its leading closers (`}`, `)`, `]`, `;`, `,`, `end`, Objective-C's
/// `@end`), and whether there
/// were any (`}  // namespace geo`, `end # module`).
fn strip_closers(t: &str) -> (&str, bool) {
    let mut rest = t;
    loop {
        let r = rest.trim_start_matches(['}', ')', ']', ';', ',', ' ', '\t']);
        let r = r
            .strip_prefix("end")
            .or_else(|| r.strip_prefix("@end"))
            .filter(|r| !r.starts_with(is_word))
            .unwrap_or(r);
        if r.len() == rest.len() {
            break;
        }
        rest = r;
    }
    (rest, rest.len() < t.len())
}

pub(crate) fn is_comment(text: &str) -> bool {
    ["//", "#", "--", "/*", "%"]
        .iter()
        .any(|c| text.starts_with(c))
}

/// A preprocessor conditional (`#ifdef X`, `# if defined(Y)`, `#else`, `#endif /* X */`):
/// structure around code, not code; alone between two definitions it is no answer to
/// any question (C, C++, Objective-C, C#, Swift share the syntax).
/// A line that only opens a macro's body (`cfg_rt! {`), whose items are chunked on their
/// own: structure, like `#ifdef`.
fn is_macro_opener(line: &str) -> bool {
    line.strip_suffix('{')
        .map(str::trim_end)
        .and_then(|l| l.strip_suffix('!'))
        .is_some_and(|name| !name.is_empty() && name.chars().all(|c| is_word(c) || c == ':'))
}

fn is_conditional_directive(line: &str) -> bool {
    let Some(rest) = line.strip_prefix('#') else {
        return false;
    };
    let rest = rest.trim_start();
    ["ifdef", "ifndef", "if", "elif", "else", "endif"]
        .iter()
        .any(|d| {
            rest.strip_prefix(d)
                .is_some_and(|r| !r.starts_with(is_word))
        })
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Largest char boundary `<= i` in `s`.
pub(crate) fn floor_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A byte range of the file to become one chunk (or one part of a split definition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Part {
    pub start: usize,
    pub end: usize,
}

/// Cut rows `[a, b)` into parts of at most `budget` bytes (`later_budget` for every part
/// after the first, which gets a signature line prepended). Parts end at the furthest
/// allowed cut row (`cuts`, sorted) that fits; when none fits, whole lines are packed; a
/// single line over budget is cut into byte windows on char boundaries.
pub(crate) fn pack(
    lines: &Lines,
    a: usize,
    b: usize,
    cuts: &[usize],
    budget: usize,
    later_budget: usize,
) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut s = a;
    while s < b {
        let limit = if parts.is_empty() {
            budget
        } else {
            later_budget
        }
        .max(1);
        // Furthest allowed cut in (s, b] that keeps the part within budget.
        let lo = cuts.partition_point(|&c| c <= s);
        let mut best = None;
        if lines.size(s, b) <= limit {
            best = Some(b);
        } else {
            for &c in cuts[lo..].iter().take_while(|&&c| c < b) {
                if lines.size(s, c) <= limit {
                    best = Some(c);
                } else {
                    break;
                }
            }
        }
        if let Some(e) = best {
            parts.push(Part {
                start: lines.start(s),
                end: lines.start(e),
            });
            s = e;
            continue;
        }
        // No syntactic cut fits: whole lines, then byte windows for one huge line.
        let mut e = s;
        while e < b && lines.size(s, e + 1) <= limit {
            e += 1;
        }
        if e > s {
            parts.push(Part {
                start: lines.start(s),
                end: lines.start(e),
            });
            s = e;
        } else {
            byte_windows(lines, s, limit, &mut parts);
            s += 1;
        }
    }
    parts
}

/// Cut one line into windows of at most `budget` bytes on char boundaries.
fn byte_windows(lines: &Lines, row: usize, budget: usize, parts: &mut Vec<Part>) {
    let (mut s, e) = lines.range(row, row + 1);
    while s < e {
        let mut end = floor_boundary(lines.text, (s + budget).min(e));
        if end <= s {
            // A budget smaller than one char: take the whole char.
            end = s + 1;
            while end < e && !lines.text.is_char_boundary(end) {
                end += 1;
            }
        }
        parts.push(Part { start: s, end });
        s = end;
    }
}

/// Line windows of `opts.window_lines` lines, byte-capped, over rows `[a, b)`.
/// Whitespace-only windows are skipped.
pub(crate) fn windows(lines: &Lines, a: usize, b: usize, opts: &ChunkOptions) -> Vec<Part> {
    let step = opts.window_lines.max(1);
    let mut out = Vec::new();
    let mut s = a;
    while s < b {
        let e = (s + step).min(b);
        for p in pack(lines, s, e, &[], opts.max_chunk_bytes, opts.max_chunk_bytes) {
            if !lines.text[p.start..p.end].trim().is_empty() {
                out.push(p);
            }
        }
        s = e;
    }
    out
}

/// Builds chunks of one file, keeping the invariants in one place: line-aligned ranges
/// (except byte windows), file order, and `text == &file[start..end]` apart from the
/// signature line prepended to later parts of a split definition.
pub(crate) struct Sink<'a> {
    pub path: &'a str,
    pub language: Language,
    pub lines: &'a Lines<'a>,
    pub out: Vec<Chunk>,
}

impl<'a> Sink<'a> {
    pub fn new(path: &'a str, language: Language, lines: &'a Lines<'a>) -> Self {
        Sink {
            path,
            language,
            lines,
            out: Vec::new(),
        }
    }

    /// Push one chunk for `part`; `signature`, if given, is prepended to its text.
    pub fn push(
        &mut self,
        kind: ChunkKind,
        symbol: Option<&str>,
        container: Option<&str>,
        part: Part,
        signature: Option<&str>,
    ) {
        if part.end <= part.start {
            return;
        }
        let body = &self.lines.text[part.start..part.end];
        let text = match signature {
            Some(sig) => format!("{sig}\n{body}"),
            None => body.to_string(),
        };
        let last = part.end - 1;
        self.out.push(Chunk {
            path: self.path.to_string(),
            language: self.language,
            kind,
            symbol: symbol.map(str::to_string),
            container: container.map(str::to_string),
            start_byte: part.start,
            end_byte: part.end,
            start_line: to_line(self.lines.row_of(part.start)),
            end_line: to_line(self.lines.row_of(last)),
            text,
        });
    }

    /// Emit rows `[a, b)` as a definition: one chunk within budget, else parts cut at
    /// `cuts`, each after the first prefixed by `signature`.
    #[allow(clippy::too_many_arguments)]
    pub fn definition(
        &mut self,
        kind: ChunkKind,
        symbol: Option<&str>,
        container: Option<&str>,
        a: usize,
        b: usize,
        cuts: &dyn Fn() -> Vec<usize>,
        signature: &str,
        opts: &ChunkOptions,
    ) {
        if a >= b {
            return;
        }
        let budget = opts.max_chunk_bytes.max(1);
        if self.lines.size(a, b) <= budget {
            let (s, e) = self.lines.range(a, b);
            self.push(kind, symbol, container, Part { start: s, end: e }, None);
            return;
        }
        let sig = signature_line(signature, budget);
        let later = budget.saturating_sub(sig.len() + 1).max(budget / 2);
        let parts = pack(self.lines, a, b, &cuts(), budget, later);
        for (i, p) in parts.into_iter().enumerate() {
            let sig = (i > 0).then_some(sig);
            self.push(kind, symbol, container, p, sig);
        }
    }

    /// Emit rows `[a, b)` of code between definitions as `TopLevel` chunks: blank lines
    /// at either end are trimmed, and chunks with nothing meaningful are dropped.
    pub fn gap(
        &mut self,
        container: Option<&str>,
        mut a: usize,
        mut b: usize,
        cuts: &dyn Fn() -> Vec<usize>,
        opts: &ChunkOptions,
    ) {
        // Blank lines and closers (`}`) at either end belong to no one: without them the
        // chunk starts and ends on content.
        let filler = |r: usize| is_closer(self.lines.line(r));
        while a < b && filler(a) {
            a += 1;
        }
        while b > a && filler(b - 1) {
            b -= 1;
        }
        if a >= b {
            return;
        }
        let budget = opts.max_chunk_bytes.max(1);
        let parts = if self.lines.size(a, b) <= budget {
            let (s, e) = self.lines.range(a, b);
            vec![Part { start: s, end: e }]
        } else {
            pack(self.lines, a, b, &cuts(), budget, budget)
        };
        for p in parts {
            if meaningful(&self.lines.text[p.start..p.end]) {
                self.push(ChunkKind::TopLevel, None, container, p, None);
            }
        }
    }

    /// Emit rows `[a, b)` as `Window` chunks.
    pub fn windows(&mut self, a: usize, b: usize, opts: &ChunkOptions) {
        for p in windows(self.lines, a, b, opts) {
            self.push(ChunkKind::Window, None, None, p, None);
        }
    }
}

/// The signature repeated on later parts: trailing whitespace trimmed, capped so that a
/// huge single-line definition (minified code) does not repeat the whole line.
fn signature_line(line: &str, budget: usize) -> &str {
    let line = line.trim_end();
    let cap = (budget / 4).clamp(16, 240);
    &line[..floor_boundary(line, cap)]
}

fn to_line(row: usize) -> u32 {
    u32::try_from(row + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_without_final_newline() {
        let l = Lines::new("a\nbb\nccc");
        assert_eq!(l.count(), 3);
        assert_eq!(l.range(1, 3), (2, 8));
        assert_eq!(l.line(2), "ccc");
        assert_eq!(l.row_of(4), 1);
        assert_eq!(Lines::new("a\n").count(), 1);
        assert_eq!(Lines::new("").count(), 0);
    }

    #[test]
    fn meaningful_ignores_closers_and_their_comments() {
        assert!(!meaningful("}\n"));
        assert!(!meaningful("  end\nend\n"));
        assert!(!meaningful("})();\n"));
        assert!(!meaningful("}  // namespace geo\n"));
        assert!(!meaningful("end # module\n"));
        assert!(meaningful("# a real comment\n"));
        assert!(meaningful("endpoint = 1\n"));
        assert!(!meaningful("@end\n"));
        assert!(meaningful("@endpoint = 1\n"));
        assert!(meaningful("}\nprivate:\n"));
        // Conditional compilation alone is structure, not content.
        assert!(!meaningful("#ifdef __linux__\n"));
        assert!(!meaningful("#endif  /* __linux__ */\n"));
        assert!(!meaningful("# if defined(_WIN32)\n#else\n"));
        assert!(meaningful("#if X\nstatic int y = 1;\n#endif\n"));
        assert!(meaningful("#include <stdio.h>\n"));
        assert!(meaningful("#define IFDEF 1\n"));
        assert!(meaningful("# iffy comment\n"));
        // So is a line that only opens a macro body whose items are chunks of their own.
        assert!(!meaningful("cfg_rt! {\n}\n"));
        assert!(!meaningful("tokio::cfg_net! {\n"));
        assert!(meaningful("thread_local! { static X: u8 = 1; }\n"));
    }

    #[test]
    fn pack_prefers_cuts_then_lines_then_bytes() {
        let text = "aaaa\nbbbb\ncccc\ndddd\n";
        let l = Lines::new(text);
        // Cut allowed only before row 2: the first part takes rows 0-1.
        let parts = pack(&l, 0, 4, &[2], 10, 10);
        let spans: Vec<_> = parts.iter().map(|p| &text[p.start..p.end]).collect();
        assert_eq!(spans, ["aaaa\nbbbb\n", "cccc\ndddd\n"]);
        // No cuts: whole lines up to the budget.
        let parts = pack(&l, 0, 4, &[], 12, 12);
        assert_eq!(parts.len(), 2);
        // One line over budget: byte windows.
        let long = "x".repeat(25);
        let l = Lines::new(&long);
        let parts = pack(&l, 0, 1, &[], 10, 10);
        let sizes: Vec<_> = parts.iter().map(|p| p.end - p.start).collect();
        assert_eq!(sizes, [10, 10, 5]);
    }

    #[test]
    fn byte_windows_respect_char_boundaries() {
        let text = "ééééé";
        let l = Lines::new(text);
        let parts = pack(&l, 0, 1, &[], 3, 3);
        for p in &parts {
            assert!(text.is_char_boundary(p.start) && text.is_char_boundary(p.end));
            assert!(p.end > p.start);
        }
        assert_eq!(parts.last().map(|p| p.end), Some(text.len()));
    }
}
