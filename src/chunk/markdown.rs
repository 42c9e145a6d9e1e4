//! Markdown: one `Section` per heading (ATX `#` and setext underlines), found by a line
//! scan that skips fenced code blocks and front matter. A plain scan is enough here and,
//! unlike the block grammar, cannot stumble on odd nesting.

use super::lines::{Lines, Sink};
use super::{ChunkKind, ChunkOptions};

struct Heading {
    row: usize,
    level: usize,
    text: String,
}

/// Chunk a Markdown file into sections; text before the first heading is `TopLevel`.
pub(crate) fn chunk(sink: &mut Sink, opts: &ChunkOptions) {
    let lines = sink.lines;
    let n = lines.count();
    let (headings, code_rows) = scan(lines);
    if headings.is_empty() {
        sink.windows(0, n, opts);
        return;
    }
    sink.gap(None, 0, headings[0].row, &Vec::new, opts);
    // Paragraph starts outside code blocks are the preferred cuts of a long section.
    let para = |a: usize, b: usize| -> Vec<usize> {
        (a + 1..b)
            .filter(|&r| lines.is_blank(r - 1) && !lines.is_blank(r) && !code_rows[r])
            .collect()
    };
    let mut parents: Vec<(usize, String)> = Vec::new();
    for (i, h) in headings.iter().enumerate() {
        let mut end = headings.get(i + 1).map_or(n, |next| next.row);
        while end > h.row + 1 && lines.is_blank(end - 1) {
            end -= 1;
        }
        while parents.last().is_some_and(|(level, _)| *level >= h.level) {
            parents.pop();
        }
        let container = parents.last().map(|(_, t)| t.clone());
        let symbol = (!h.text.is_empty()).then_some(h.text.as_str());
        let cuts = || para(h.row, end);
        sink.definition(
            ChunkKind::Section,
            symbol,
            container.as_deref(),
            h.row,
            end,
            &cuts,
            lines.line(h.row),
            opts,
        );
        parents.push((h.level, h.text.clone()));
    }
}

/// Headings in order, and which rows are inside fenced code (or front matter).
fn scan(lines: &Lines) -> (Vec<Heading>, Vec<bool>) {
    let n = lines.count();
    let mut headings = Vec::new();
    let mut code = vec![false; n];
    let mut fence: Option<(char, usize)> = None;
    let mut row = 0;
    // YAML/TOML front matter is not a setext heading.
    if n > 0 && matches!(lines.line(0).trim_end(), "---" | "+++") {
        let marker = lines.line(0).trim_end();
        code[0] = true;
        row = 1;
        while row < n {
            code[row] = true;
            row += 1;
            if lines.line(row - 1).trim_end() == marker {
                break;
            }
        }
    }
    let mut prev_paragraph = false;
    while row < n {
        let line = lines.line(row);
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if let Some((ch, len)) = fence {
            code[row] = true;
            let run = t.chars().take_while(|&c| c == ch).count();
            if run >= len && t[run * ch.len_utf8()..].trim().is_empty() {
                fence = None;
            }
            row += 1;
            prev_paragraph = false;
            continue;
        }
        if indent <= 3 && (t.starts_with("```") || t.starts_with("~~~")) {
            let ch = t.chars().next().unwrap_or('`');
            fence = Some((ch, t.chars().take_while(|&c| c == ch).count()));
            code[row] = true;
            row += 1;
            prev_paragraph = false;
            continue;
        }
        if indent <= 3 && t.starts_with('#') {
            let level = t.chars().take_while(|&c| c == '#').count();
            let rest = &t[level..];
            if level <= 6 && (rest.is_empty() || rest.starts_with([' ', '\t'])) {
                let text = rest.trim().trim_end_matches('#').trim().to_string();
                headings.push(Heading { row, level, text });
                row += 1;
                prev_paragraph = false;
                continue;
            }
        }
        if prev_paragraph && indent <= 3 && !t.is_empty() {
            let underline = |c: char| t.chars().all(|x| x == c);
            let level = if underline('=') {
                1
            } else if underline('-') {
                2
            } else {
                0
            };
            if level > 0 {
                let text = lines.line(row - 1).trim().to_string();
                headings.push(Heading {
                    row: row - 1,
                    level,
                    text,
                });
                row += 1;
                prev_paragraph = false;
                continue;
            }
        }
        // Only a single-line paragraph directly above can be a setext heading's text.
        prev_paragraph = !t.is_empty()
            && (row == 0 || lines.is_blank(row - 1))
            && !t.starts_with(['-', '*', '+', '>', '|', '<']);
        row += 1;
    }
    (headings, code)
}
