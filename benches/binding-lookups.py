#!/usr/bin/env python3
"""Module-level bindings looked up by name: is the binding's own chunk first?

usage: python3 benches/binding-lookups.py --list-with NEW_CSEEK --cseek CSEEK [--corpus DIR]
           [--model DIR] [--work DIR]

The queries come from the chunker itself: every chunk of kind `variable` that
`NEW_CSEEK chunks` makes of the dev repositories (a module-level binding whose value
spans lines: Flask's `g = LocalProxy(…)`, axios's `HttpStatusCode = {…}`). Each
repository is indexed by CSEEK (old or new) and each binding's name is asked as a query
(`cseek query NAME --json`); a hit is a result of the binding's file whose lines cover
the binding's first line. Prints rank-1 and in-top-10 rates per language and overall,
so two binaries can be compared on the same queries (the chunker that lists them and
the one under test may differ).
"""
import argparse, collections, fnmatch, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--list-with", required=True)
    ap.add_argument("--cseek", required=True)
    ap.add_argument("--corpus", default=os.path.join(HERE, "..", "target", "bench-corpus"))
    ap.add_argument("--suite", default=os.path.join(HERE, "..", "..", "shared", "bench"))
    ap.add_argument("--model")
    ap.add_argument("--work", default=os.path.join(HERE, "..", "target", "binding-lookups"))
    a = ap.parse_args()
    repos = json.load(open(os.path.join(a.suite, "dev-repos.json")))
    repos = repos if isinstance(repos, list) else repos.get("repos", repos)
    per_lang = collections.defaultdict(lambda: [0, 0, 0])
    for r in repos:
        root = os.path.join(a.corpus, r["name"], r["root"])
        exclude = r.get("exclude", [])
        # The suite's `exclude` globs (aiohttp's generated C) are left out of both the
        # queries and the index, as the suite leaves them out.
        files = [p for p in (os.path.relpath(os.path.join(d, f), root)
                             for d, _, fs in os.walk(root) for f in fs)
                 if not any(fnmatch.fnmatch(p, g) or fnmatch.fnmatch(p, g.removeprefix("**/"))
                            for g in exclude)]
        out = subprocess.run([a.list_with, "chunks", "--json"] + files, cwd=root,
                             capture_output=True, text=True).stdout
        seen = collections.Counter()
        bindings = []
        for line in out.splitlines():
            c = json.loads(line)
            if c.get("kind") == "variable" and c.get("symbol"):
                seen[c["symbol"]] += 1
                bindings.append(c)
        # A name bound in several files has no single right answer: left out.
        bindings = [c for c in bindings if seen[c["symbol"]] == 1]
        if not bindings:
            continue
        idx = os.path.join(a.work, os.path.basename(a.cseek) + "-" + r["name"])
        cmd = [a.cseek, "--index", idx, "index", root] + (["--model", a.model] if a.model else [])
        for g in exclude:
            cmd += ["--exclude", g]
        subprocess.run(cmd, capture_output=True, check=True)
        for c in bindings:
            q = subprocess.run([a.cseek, "--index", idx, "query", c["symbol"], "--json", "-k", "10"],
                               capture_output=True, text=True)
            hits = json.loads(q.stdout).get("results", []) if q.returncode == 0 else []
            rank = next((i + 1 for i, h in enumerate(hits)
                         if h["path"].endswith(c["path"]) and h["start_line"] <= c["start_line"] <= h["end_line"]), None)
            st = per_lang[r["language"]]
            st[0] += 1
            st[1] += rank == 1
            st[2] += rank is not None
            if rank != 1:
                print(f"  {r['name']}: {c['symbol']} ({c['path']}:{c['start_line']}) rank {rank}", file=sys.stderr)
    tot = [sum(v[i] for v in per_lang.values()) for i in range(3)]
    for lang, (n, one, ten) in sorted(per_lang.items()):
        print(f"{lang:11} {n:4} queries  rank 1: {one / n:.3f}  top 10: {ten / n:.3f}")
    print(f"{'all':11} {tot[0]:4} queries  rank 1: {tot[1] / tot[0]:.3f}  top 10: {tot[2] / tot[0]:.3f}")


if __name__ == "__main__":
    main()
