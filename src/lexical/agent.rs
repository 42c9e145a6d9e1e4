//! Agent nouns: a question says what code does ("how updates are checked", "parse the
//! header", "format the output"), the code names the thing that does it (`Checker`,
//! `HeaderParser`, `LineFormatter`).
//!
//! English stemming joins `checks`, `checked` and `checking`, but not `checker`: Snowball
//! leaves the agent suffix `-er` on short words (`reader`, `parser`) and strips it from
//! long ones only (`scheduler` → `schedul`). Classes named for what they do are the
//! commonest naming pattern in object-oriented code of every language, so a question's
//! verbs also ask for their `-er` nouns. The forms are made by rule, not looked up: a form
//! that no code writes is a term absent from the index and costs nothing.

use super::tokenize::PartStemmer;

/// Shortest word given agent nouns: `run` → `runner`, not `go` → `goer`.
const MIN_WORD_LEN: usize = 3;

/// Is `c` an English vowel (for the doubling rule; `y` counts as a consonant here)?
fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u')
}

/// The `-er` forms of a stem: `read` → `reader`, `write` → `writer`, `pars` (`parse`) →
/// `parser`, and for a stem ending consonant–vowel–consonant also the doubled form
/// (`format` → `formatter`, `log` → `logger`; both are proposed, since whether English
/// doubles depends on stress: `listener`, not `listenner`).
fn forms(stem: &str) -> Vec<String> {
    let b = stem.as_bytes();
    let mut out = Vec::new();
    if stem.ends_with('e') {
        out.push(format!("{stem}r"));
        return out;
    }
    out.push(format!("{stem}er"));
    if let [.., c1, v, c2] = b {
        if !is_vowel(*c1) && is_vowel(*v) && !is_vowel(*c2) && !matches!(c2, b'w' | b'x' | b'y') {
            out.push(format!("{stem}{}er", *c2 as char));
        }
    }
    out
}

/// The index terms of the agent nouns of `words` (a question's plain words, lowercased,
/// stop words already dropped), leaving out terms in `terms` (what the query already
/// searches for). Words that are agent nouns already (`-er`, `-or`) propose nothing.
pub(crate) fn expansions(words: &[&str], terms: &[String]) -> Vec<String> {
    let mut stemmer = PartStemmer::default();
    let mut out: Vec<String> = Vec::new();
    for w in words {
        let plain = w.len() >= MIN_WORD_LEN && w.bytes().all(|c| c.is_ascii_lowercase());
        if !plain || w.ends_with("er") || w.ends_with("or") || w.ends_with("ers") {
            continue;
        }
        let stem = stemmer.stem(w).to_string();
        for f in forms(&stem) {
            let t = stemmer.stem(&f).to_string();
            if t != stem && !terms.contains(&t) && !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nouns(words: &[&str]) -> Vec<String> {
        expansions(words, &[])
    }

    #[test]
    fn verbs_ask_for_their_agent_nouns() {
        assert_eq!(nouns(&["read"]), ["reader"]);
        assert_eq!(nouns(&["parsing"]), ["parser"]);
        assert_eq!(nouns(&["handles"]), ["handler"]);
        assert_eq!(nouns(&["writing"]), ["writer"]);
        assert_eq!(nouns(&["checks"]), ["checker"]);
        // Doubling is proposed beside the plain form; `formatter` is indexed by its stem.
        assert_eq!(nouns(&["format"]), ["formatt"]);
        assert_eq!(nouns(&["log"]), ["loger", "logger"]);
    }

    #[test]
    fn nouns_and_short_words_propose_nothing() {
        assert!(nouns(&["parser", "handlers", "executor", "go", "x2"]).is_empty());
        // `schedule`'s agent noun stems to `schedul`, which the query already asks for.
        assert!(!nouns(&["schedule"]).contains(&"schedul".to_string()));
        assert!(expansions(&["read"], &["reader".to_string()]).is_empty());
    }
}
