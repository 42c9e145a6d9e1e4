#!/usr/bin/env python3
"""Train a static model on code (after tokenlearn): fit each token's row so that the
normalised sum of a text's rows matches the transformer's embedding of that text.

Experiment, not a product path. `cseek model distill` embeds each vocabulary token
alone; this script starts from such a table and trains it on windows of real source
files, so tokens are placed by the contexts code uses them in.

    python3 -m venv target/tl-venv && target/tl-venv/bin/pip install torch transformers
    target/release/cseek model distill --from target/models/all-MiniLM-L6-v2 --dims 384 \
        --out target/models/minilm-static-384
    target/tl-venv/bin/python benches/tokenlearn.py --teacher target/models/all-MiniLM-L6-v2 \
        --init target/models/minilm-static-384 --suite ../shared/bench \
        --corpus target/bench-corpus --repos aiohttp,flask,... --out target/models/tl-A

The model is written in the Model2Vec layout (`model.safetensors` with `embeddings`,
the init's `tokenizer.json` and `config.json`). Teacher vectors are cached per corpus
under `--cache` so a second training run skips the transformer.
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import sys

import numpy as np
import torch
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer
from transformers import AutoModel

EXTS = {".py", ".rs", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".go", ".c", ".h", ".hs", ".java",
        ".cs", ".swift", ".lua", ".rb", ".php", ".kt", ".ex", ".erl", ".cpp", ".hpp", ".cc"}


def windows(root, lines_per=30, max_per_repo=2000, seed=0):
    """Windows of `lines_per` lines (half overlapping) from the source files under root."""
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        for f in sorted(files):
            if os.path.splitext(f)[1] not in EXTS:
                continue
            try:
                text = open(os.path.join(d, f), encoding="utf-8").read()
            except (UnicodeDecodeError, OSError):
                continue
            ls = text.splitlines()
            for s in range(0, max(1, len(ls)), lines_per // 2):
                w = "\n".join(ls[s:s + lines_per]).strip()
                if len(w) >= 80:
                    out.append(w)
    random.Random(seed).shuffle(out)
    return out[:max_per_repo]


def load_teacher(model_dir, max_len=256):
    """The teacher's tokenizer (truncating as the model does, no padding) and model."""
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.enable_truncation(max_len)
    tok.no_padding()
    model = AutoModel.from_pretrained(model_dir)
    model.eval()
    torch.set_num_threads(os.cpu_count() or 2)
    return tok, model


def teacher_vectors(teacher, texts, batch=32):
    tok, model = teacher
    vecs, ids = [], []
    for i in range(0, len(texts), batch):
        enc = [tok.encode(t) for t in texts[i:i + batch]]
        n = max(len(e.ids) for e in enc)
        inp = torch.zeros((len(enc), n), dtype=torch.long)
        mask = torch.zeros((len(enc), n), dtype=torch.long)
        for j, e in enumerate(enc):
            inp[j, :len(e.ids)] = torch.tensor(e.ids)
            mask[j, :len(e.ids)] = 1
            ids.append(e.ids[1:-1])  # the student sees no [CLS]/[SEP]
        with torch.no_grad():
            h = model(input_ids=inp, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).float()
        v = (h * m).sum(1) / m.sum(1)
        vecs.append(torch.nn.functional.normalize(v, dim=-1).numpy())
        print(f"\rteacher {i + len(enc)}/{len(texts)}", end="", file=sys.stderr)
    print(file=sys.stderr)
    return np.concatenate(vecs), ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", required=True)
    ap.add_argument("--init", required=True)
    ap.add_argument("--suite", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--repos", required=True, help="comma-separated repo names")
    ap.add_argument("--repos-file", default="dev-repos.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--cache", default="target/tl-cache")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--max-per-repo", type=int, default=2000)
    args = ap.parse_args()

    repos = {r["name"]: r for r in json.load(open(os.path.join(args.suite, args.repos_file)))}
    texts, teach, ids = [], [], []
    os.makedirs(args.cache, exist_ok=True)
    teacher = None  # loaded on the first repository without cached vectors
    for name in args.repos.split(","):
        r = repos[name]
        key = hashlib.blake2b(f"{name}:{r['root']}:{args.max_per_repo}".encode(), digest_size=8).hexdigest()
        cache = os.path.join(args.cache, f"{name}-{key}.npz")
        if os.path.exists(cache):
            z = np.load(cache, allow_pickle=True)
            # Equal-length id lists come back as rows of a 2-D object array.
            v, i = z["v"], [np.asarray(x, dtype=np.int64) for x in z["ids"]]
        else:
            ws = windows(os.path.join(args.corpus, name, r["root"]), max_per_repo=args.max_per_repo)
            print(f"{name}: {len(ws)} windows", file=sys.stderr)
            if not ws:
                continue
            teacher = teacher or load_teacher(args.teacher)
            v, i = teacher_vectors(teacher, ws)
            np.savez(cache, v=v, ids=np.array([np.array(x, dtype=np.int64) for x in i], dtype=object))
        teach.append(v)
        ids.extend(i)
    teach = torch.tensor(np.concatenate(teach))

    table = load_file(os.path.join(args.init, "model.safetensors"))["embeddings"]
    vocab, dim = table.shape
    emb = torch.nn.EmbeddingBag(vocab, dim, mode="sum")
    emb.weight.data = torch.tensor(table, dtype=torch.float32)
    # A linear map into the teacher's space, folded into the table at the end so the
    # written model's cosine is the one trained.
    proj = torch.nn.Linear(dim, teach.shape[1], bias=False)
    torch.nn.init.orthogonal_(proj.weight)
    n = len(ids)
    order = list(range(n))
    random.Random(1).shuffle(order)
    val, train = order[: n // 10], order[n // 10:]

    def batch_loss(idx):
        flat = torch.cat([torch.tensor(ids[k]) for k in idx])
        offs = torch.tensor([0] + [len(ids[k]) for k in idx[:-1]]).cumsum(0)
        out = torch.nn.functional.normalize(proj(emb(flat, offs)), dim=-1)
        return (1 - (out * teach[idx]).sum(-1)).mean()

    opt = torch.optim.Adam(list(emb.parameters()) + list(proj.parameters()), lr=args.lr)
    best, best_state = float("inf"), None
    for ep in range(args.epochs):
        random.Random(ep).shuffle(train)
        for s in range(0, len(train), 64):
            idx = [k for k in train[s:s + 64] if len(ids[k]) > 0]
            if not idx:
                continue
            opt.zero_grad()
            batch_loss(idx).backward()
            opt.step()
        with torch.no_grad():
            vl = float(np.mean([batch_loss([k for k in val[s:s + 256] if len(ids[k]) > 0]).item()
                                for s in range(0, len(val), 256)]))
        print(f"epoch {ep}: validation cosine distance {vl:.4f}", file=sys.stderr)
        if vl < best:
            best = vl
            best_state = (emb.weight.detach().clone(), proj.weight.detach().clone())
        else:
            break
    w, p = best_state
    folded = (w @ p.T).numpy().astype(np.float32)
    os.makedirs(args.out, exist_ok=True)
    save_file({"embeddings": folded}, os.path.join(args.out, "model.safetensors"))
    shutil.copy(os.path.join(args.init, "tokenizer.json"), args.out)
    cfg = json.load(open(os.path.join(args.init, "config.json")))
    cfg["hidden_dim"] = folded.shape[1]
    cfg["trained_on"] = args.repos
    json.dump(cfg, open(os.path.join(args.out, "config.json"), "w"), indent=2)
    print(f"written {args.out} ({vocab} x {folded.shape[1]}), best validation {best:.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
