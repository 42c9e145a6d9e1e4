#!/usr/bin/env python3
"""Re-weight a static model's rows by token frequencies counted in code (SIF).

Experiment, not a product path. `cseek model distill` scales each row by a Zipf weight
`a / (a + p)` where `p` is guessed from the token's rank in the vocabulary (model2vec's
rule). This script counts how often each token occurs in real source files instead and
writes a model whose `weights` tensor is `a / (a + p_code)` (optionally times the Zipf
weight), so tokens code is full of (`self`, `(`, `return`) weigh little.

    target/release/cseek model distill --from target/models/all-MiniLM-L6-v2 --dims 256 \
        --no-zipf --out target/models/minilm-static-256-raw
    python3 benches/corpus-sif.py --raw target/models/minilm-static-256-raw \
        --zipf target/models/minilm-static-256 --corpus target/bench-corpus/aiohttp ... \
        --out target/models/sif-A --a 1e-4 [--times-zipf]

`--zipf` is the default distilled model (same table with the Zipf weight folded in); it
is read only to recover the Zipf weight per row for `--times-zipf`.
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer

EXTS = {".py", ".rs", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".go", ".c", ".h", ".hs", ".java",
        ".cs", ".swift", ".lua", ".rb", ".php", ".kt", ".ex", ".erl", ".cpp", ".hpp", ".cc"}


def source_files(root):
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        for f in sorted(files):
            if os.path.splitext(f)[1] in EXTS:
                yield os.path.join(d, f)


def count(tok, roots, vocab):
    counts = np.zeros(vocab, dtype=np.float64)
    texts = []
    for r in roots:
        for p in source_files(r):
            try:
                with open(p, encoding="utf-8") as fh:
                    texts.append(fh.read()[:200_000])
            except (UnicodeDecodeError, OSError):
                continue
    for i in range(0, len(texts), 256):
        for enc in tok.encode_batch(texts[i:i + 256], add_special_tokens=False):
            ids = np.asarray(enc.ids, dtype=np.int64)
            ids = ids[ids < vocab]
            np.add.at(counts, ids, 1.0)
    return counts, len(texts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--zipf", required=True)
    ap.add_argument("--corpus", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--a", type=float, default=1e-4)
    ap.add_argument("--times-zipf", action="store_true")
    args = ap.parse_args()

    raw = load_file(os.path.join(args.raw, "model.safetensors"))["embeddings"].astype(np.float32)
    zipf = load_file(os.path.join(args.zipf, "model.safetensors"))["embeddings"].astype(np.float32)
    tok = Tokenizer.from_file(os.path.join(args.raw, "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    counts, nfiles = count(tok, args.corpus, raw.shape[0])
    p = counts / max(counts.sum(), 1.0)
    w = args.a / (args.a + p)
    if args.times_zipf:
        # The Zipf weight of each row: the ratio of the two tables' norms.
        rn = np.linalg.norm(raw, axis=1)
        zn = np.linalg.norm(zipf, axis=1)
        w = w * np.where(rn > 0, zn / np.maximum(rn, 1e-12), 0.0)
    os.makedirs(args.out, exist_ok=True)
    for f in ("tokenizer.json", "config.json"):
        shutil.copy(os.path.join(args.raw, f), os.path.join(args.out, f))
    save_file({"embeddings": raw, "weights": w.astype(np.float32)},
              os.path.join(args.out, "model.safetensors"))
    top = np.argsort(-counts)[:15]
    print(f"{nfiles} files, {int(counts.sum())} tokens; most frequent: "
          + ", ".join(f"{tok.id_to_token(int(i))}={w[i]:.3f}" for i in top), file=sys.stderr)


if __name__ == "__main__":
    main()
