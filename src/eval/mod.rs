//! `cseek eval`: retrieval quality on repository suites and BEIR corpora.
