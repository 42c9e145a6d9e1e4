#!/usr/bin/env python3
"""The queries a saved run answers worst, for failure analysis (issue 14).

Input: one or more repo-suite results files (`cseek eval repos ... --results-out F.jsonl`).
Prints each file's NDCG@10 (all / fold A / fold B, scored as `file-signals.py` scores),
then the worst queries of the first file: its score, the other files' scores for the same
query in brackets, the rank of each target in the first run (None: not in the ten), the
targets, and the first results with `*` on those that hit a target. Also, with
`--changed`, only the queries whose score differs between the first two files.

    python3 benches/worst-queries.py A.jsonl [B.jsonl …] --suite ../shared/bench \\
        [--top 40] [--results 6] [--changed]
"""
import argparse
import importlib.util
import json
import os

_spec = importlib.util.spec_from_file_location(
    "file_signals", os.path.join(os.path.dirname(os.path.abspath(__file__)), "file-signals.py"))
fs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", nargs="+")
    ap.add_argument("--suite", required=True)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--results-shown", dest="shown", type=int, default=6)
    ap.add_argument("--changed", action="store_true")
    args = ap.parse_args()
    repos, ann = fs.load_suite(args.suite)
    runs = [{(r["repo"], r["query"]): r for r in map(json.loads, open(p))} for p in args.results]

    def score(key, hits):
        prefix = repos[key[0]].get("target_prefix") or ""
        return fs.ndcg10(hits, ann[key], prefix)

    for path, run in zip(args.results, runs):
        per = {}
        for key, r in run.items():
            per.setdefault(key[0], []).append(score(key, r["results"]))
        m = {k: sum(v) / len(v) for k, v in per.items()}
        mean = lambda xs: sum(xs) / max(1, len(xs))
        print(f"{path}: all {mean(list(m.values())):.4f} "
              f"A {mean([v for k, v in m.items() if k in fs.FOLD_A]):.4f} "
              f"B {mean([v for k, v in m.items() if k not in fs.FOLD_A]):.4f}")

    first = runs[0]
    rows = sorted((score(k, r["results"]), k) for k, r in first.items())
    if args.changed and len(runs) > 1:
        rows = [(s, k) for s, k in rows if k in runs[1] and abs(s - score(k, runs[1][k]["results"])) > 1e-9]
    for s, key in rows[: args.top]:
        a = ann[key]
        targets = a["relevant"] + a.get("secondary", [])
        hits = first[key]["results"]
        others = " ".join(f"{score(key, r[key]['results']):.2f}" for r in runs[1:] if key in r)
        prefix = repos[key[0]].get("target_prefix") or ""
        ranks = [next((i for i, h in enumerate(hits[:10]) if fs.ndcg10([h], {"relevant": [t]}, prefix) > 0),
                      None) for t in targets]
        name = lambda t: t if isinstance(t, str) else f"{t['path']}:{t['start_line']}-{t['end_line']}"
        print(f"\n{s:.2f} [{others}] {key[0]} [{a['category']}] {key[1]}  ranks={ranks}")
        print("   relevant:", [name(t) for t in a["relevant"]], "secondary:",
              [name(t) for t in a.get("secondary", [])])
        for i, h in enumerate(hits[: args.shown]):
            mark = "*" if score(key, [h]) > 0 else " "
            print(f"   {mark}{i} {h['path']}:{h['start_line']}-{h['end_line']} {h['score']:.3f}")


if __name__ == "__main__":
    main()
