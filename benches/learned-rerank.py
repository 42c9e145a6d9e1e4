#!/usr/bin/env python3
"""Would a learned re-ranker over the engine's own list beat its hand-set order? (issue 14)

Input: a repo-suite results file with a deeper list than ten (`cseek eval repos ...
--top-k 40 --results-out R.jsonl`; each item carries its kind, symbol and the ranks the
two retrievers gave it). Each returned chunk gets a few features that the engine could
compute at query time (its position and score in the engine's order, the two retrievers'
ranks, what kind of chunk it is, how long, where its file sits, how many of the list's
chunks share its file); a linear scorer over them re-orders the list.

The weights are fitted by 2-fold cross-validation over repositories, as the issue asks:
fitted on fold A (coordinate ascent on the mean per-repository NDCG@10, started from "the
engine's order"), scored on fold B, and the other way round. Prints the engine's NDCG@10
and the re-ranked one, all / fold A / fold B, where each fold's re-ranked score is the one
from weights fitted on the other fold. With `--ceiling` it also fits on every repository
and scores the same queries: no held-out data, so not a result but an upper bound on what
re-weighting these features can reach.

    python3 benches/learned-rerank.py R.jsonl --suite ../shared/bench [--depth 40] [--ceiling]
"""
import argparse
import importlib.util
import json
import math
import os
import random

_spec = importlib.util.spec_from_file_location(
    "file_signals", os.path.join(os.path.dirname(os.path.abspath(__file__)), "file-signals.py"))
fs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fs)

HUBS = {"mod", "index", "__init__", "lib", "main", "init", "core"}
TYPE_KINDS = {"class", "struct", "enum", "trait", "interface", "impl", "module", "type"}


def features(items, depth):
    """One feature vector per item (the engine's order is items' order)."""
    items = items[:depth]
    top = max(items[0]["score"], 1e-9) if items else 1.0
    per_file = {}
    first_of_file = {}
    for i, h in enumerate(items):
        per_file[h["path"]] = per_file.get(h["path"], 0) + 1
        first_of_file.setdefault(h["path"], i)
    stems = {os.path.basename(h["path"]).split(".")[0] for h in items}
    out = []
    for i, h in enumerate(items):
        name = os.path.basename(h["path"])
        stem = name.split(".")[0]
        lr = h.get("ranks", {}).get("lexical")
        sr = h.get("ranks", {}).get("semantic")
        lines = h["end_line"] - h["start_line"] + 1
        kind = h.get("kind", "")
        dots = name.count(".")
        out.append([
            math.log(max(h["score"], 1e-9) / top),          # engine score, relative
            -math.log1p(i),                                   # engine position
            -math.log1p(lr) if lr is not None else -math.log1p(depth * 2),
            -math.log1p(sr) if sr is not None else -math.log1p(depth * 2),
            1.0 if lr is None or sr is None else 0.0,        # only one retriever found it
            1.0 if kind in TYPE_KINDS else 0.0,
            1.0 if kind in ("top_level", "window", "") else 0.0,   # loose code, not a definition
            math.log(max(lines, 1)),
            -float(h["path"].count("/")),
            1.0 if stem in HUBS else 0.0,
            math.log(per_file[h["path"]]),
            1.0 if first_of_file[h["path"]] == i else 0.0,
            # `SqlMapper.cs` beside `SqlMapper.TypeHandler.cs`: the base of a split file
            1.0 if dots == 1 and any(s != stem and s.startswith(stem) for s in stems) else 0.0,
            1.0 if dots > 1 else 0.0,
        ])
    return out


NAMES = ["score", "position", "lexical rank", "semantic rank", "one retriever", "type kind",
         "loose code", "log lines", "-depth", "hub name", "log chunks of file",
         "first of its file", "base of split file", "split file part"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results")
    ap.add_argument("--suite", required=True)
    ap.add_argument("--depth", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--ceiling", action="store_true")
    args = ap.parse_args()
    repos, ann = fs.load_suite(args.suite)
    rows = [json.loads(l) for l in open(args.results)]
    data = []
    for r in rows:
        key = (r["repo"], r["query"])
        prefix = repos[r["repo"]].get("target_prefix") or ""
        items = r["results"][: args.depth]
        data.append((r["repo"], items, features(items, args.depth), ann[key], prefix))

    def ndcg_of(w, sel):
        per = {}
        for repo, items, fx, a, prefix in sel:
            order = sorted(range(len(items)), key=lambda i: -sum(a_ * b for a_, b in zip(w, fx[i])))
            per.setdefault(repo, []).append(fs.ndcg10([items[i] for i in order], a, prefix))
        return sum(sum(v) / len(v) for v in per.values()) / max(1, len(per))

    base = [1.0] + [0.0] * (len(NAMES) - 1)
    steps = [-2, -1, -0.5, -0.25, -0.1, -0.05, 0.05, 0.1, 0.25, 0.5, 1, 2]

    def fit(sel):
        w = list(base)
        best = ndcg_of(w, sel)
        rng = random.Random(0)
        for _ in range(args.rounds):
            dims = list(range(1, len(w)))
            rng.shuffle(dims)
            for d in dims:
                for s in steps:
                    t = list(w)
                    t[d] += s
                    v = ndcg_of(t, sel)
                    if v > best + 1e-6:
                        best, w = v, t
        return w, best

    fold_a = [d for d in data if d[0] in fs.FOLD_A]
    fold_b = [d for d in data if d[0] not in fs.FOLD_A]
    print(f"engine order: all {ndcg_of(base, data):.4f} A {ndcg_of(base, fold_a):.4f} "
          f"B {ndcg_of(base, fold_b):.4f}")
    wa, fa = fit(fold_a)
    wb, fb = fit(fold_b)
    held_b = ndcg_of(wa, fold_b)
    held_a = ndcg_of(wb, fold_a)
    print(f"fitted on A: A {fa:.4f} -> held-out B {held_b:.4f}")
    print(f"fitted on B: B {fb:.4f} -> held-out A {held_a:.4f}")
    print(f"cross-validated: all {(held_a + held_b) / 2:.4f} A {held_a:.4f} B {held_b:.4f}")
    for n, a, b in zip(NAMES, wa, wb):
        print(f"  {n:22s} A {a:+.2f}  B {b:+.2f}")
    if args.ceiling:
        _, top = fit(data)
        print(f"fitted on all, scored on the same (a ceiling, not a result): {top:.4f}")


if __name__ == "__main__":
    main()
