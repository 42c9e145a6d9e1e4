#!/usr/bin/env python3
"""Join two static models over the same vocabulary into one: each token's row is the
first model's row followed by `--weight ×` the second's.

Experiment, not a product path. A text's vector is the normalised mean of its rows, so the
joined model's cosine mixes the two models' (each table is first scaled to a mean row norm
of 1, so `--weight 1` gives them equal say). Used to ask whether a trained table
(`benches/tokenlearn.py`) adds to the distilled one rather than replacing it.

    python3 benches/concat-static.py target/models/minilm-static-256 target/models/tl-A \\
        --weight 1 --out target/models/cat-A
"""
import argparse
import json
import os
import shutil

import numpy as np
from safetensors.numpy import load_file, save_file


def table(model_dir):
    t = load_file(os.path.join(model_dir, "model.safetensors"))["embeddings"].astype(np.float32)
    return t / np.linalg.norm(t, axis=1).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("first")
    ap.add_argument("second")
    ap.add_argument("--weight", type=float, default=1.0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    a, b = table(args.first), table(args.second)
    if a.shape[0] != b.shape[0]:
        raise SystemExit(f"vocabularies differ: {a.shape[0]} and {b.shape[0]} rows")
    joined = np.concatenate([a, args.weight * b], axis=1)
    os.makedirs(args.out, exist_ok=True)
    save_file({"embeddings": joined}, os.path.join(args.out, "model.safetensors"))
    shutil.copy(os.path.join(args.first, "tokenizer.json"), args.out)
    cfg = json.load(open(os.path.join(args.first, "config.json")))
    cfg["hidden_dim"] = joined.shape[1]
    json.dump(cfg, open(os.path.join(args.out, "config.json"), "w"), indent=2)
    print(f"written {args.out} ({joined.shape[0]} x {joined.shape[1]})")


if __name__ == "__main__":
    main()
