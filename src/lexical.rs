//! Lexical retrieval: a tantivy BM25 index over chunks with a code-aware tokenizer.
