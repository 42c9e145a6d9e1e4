#!/usr/bin/env python3
"""Tune the re-ranking constants jointly by coordinate ascent on one fold, report the other.

Each constant is tuned alone elsewhere (benches/README.md); this checks whether moving
them together finds anything the one-at-a-time tuning missed. For each tuning fold, the
ascent moves one constant at a time to the best of a few values when that beats the
current point on the tuning fold by more than `--min-gain`, for `--passes` passes; then
the end point is scored on the other fold next to the defaults.

    python3 benches/cv-tune.py --cseek target/release/cseek --suite ../shared/bench \\
        --corpus target/bench-corpus --model target/models/minilm-static-256 \\
        --cache target/eval-cache-static --folds target/foldA.json target/foldB.json

The fold files are subsets of the suite's `dev-repos.json` (absolute paths are passed on).
"""
import argparse
import importlib.util
import json
import os
import subprocess
import tempfile

_spec = importlib.util.spec_from_file_location(
    "file_signals", os.path.join(os.path.dirname(os.path.abspath(__file__)), "file-signals.py"))
fs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fs)

# The flags of `cseek eval repos` and their defaults (`--help`).
DEFAULTS = {
    "rrf-k": 60, "file-weight": 4, "file-depth": 200, "file-decay": 0.5,
    "noise-penalty": 0.7, "path-boost": 1, "name-boost": 0.1, "identifier-boost": 0,
    "definition-boost": 1, "coherence": 0.25,
}
# Values tried around the current one: a multiplicative step, or these for a zero.
STEPS = [0.5, 0.75, 1.33, 2.0]
FROM_ZERO = {"identifier-boost": [0.1, 0.25, 0.5]}
CAPS = {"file-decay": 1.0, "noise-penalty": 1.0}


def run(args, fold, params):
    repos, ann = fs.load_suite(args.suite)
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as f:
        out = f.name
    cmd = [args.cseek, "eval", "repos", "--suite", args.suite, "--corpus", args.corpus,
           "--model", args.model, "--cache", args.cache, "--repos-file", os.path.abspath(fold),
           "--results-out", out]
    if args.mode:
        cmd += ["--mode", args.mode]
    for k, v in params.items():
        cmd += [f"--{k}", str(v)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    per = {}
    for line in open(out):
        r = json.loads(line)
        key = (r["repo"], r["query"])
        prefix = repos[r["repo"]].get("target_prefix") or ""
        per.setdefault(r["repo"], []).append(fs.ndcg10(r["results"], ann[key], prefix))
    os.unlink(out)
    return sum(sum(v) / len(v) for v in per.values()) / len(per)


def candidates(name, value):
    if value == 0:
        return FROM_ZERO.get(name, [])
    out = []
    for s in STEPS:
        v = value * s
        v = round(min(v, CAPS.get(name, v)), 4)
        if name in ("rrf-k", "file-depth"):
            v = int(round(v))
        if v != value and v not in out:
            out.append(v)
    return out + ([0] if name in FROM_ZERO or name in ("name-boost", "coherence") else [])


def ascend(args, fold):
    point = dict(DEFAULTS)
    best = run(args, fold, point)
    print(f"  defaults: {best:.4f}", flush=True)
    for p in range(args.passes):
        moved = False
        for name in DEFAULTS:
            scores = []
            for v in candidates(name, point[name]):
                s = run(args, fold, {**point, name: v})
                scores.append((s, v))
            if not scores:
                continue
            s, v = max(scores)
            print(f"  pass {p + 1} {name}: {point[name]} ({best:.4f}) tried "
                  + ", ".join(f"{v2}={s2:.4f}" for s2, v2 in scores), flush=True)
            if s > best + args.min_gain:
                point[name], best, moved = v, s, True
                print(f"    -> {name} = {v}: {best:.4f}", flush=True)
        if not moved:
            break
    return point, best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cseek", required=True)
    ap.add_argument("--suite", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--mode", default=None)
    ap.add_argument("--folds", nargs=2, required=True)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--min-gain", type=float, default=0.002)
    args = ap.parse_args()
    names = [os.path.basename(f) for f in args.folds]
    for tune, test, tname, xname in ((args.folds[0], args.folds[1], names[0], names[1]),
                                     (args.folds[1], args.folds[0], names[1], names[0])):
        print(f"tune on {tname}:", flush=True)
        point, best = ascend(args, tune)
        changed = {k: v for k, v in point.items() if v != DEFAULTS[k]}
        base = run(args, test, DEFAULTS)
        held = run(args, test, point)
        print(f"tuned on {tname}: {changed or 'defaults'} ({best:.4f}); "
              f"{xname}: defaults {base:.4f} -> {held:.4f}", flush=True)


if __name__ == "__main__":
    main()
