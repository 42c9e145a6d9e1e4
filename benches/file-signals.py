#!/usr/bin/env python3
"""How much re-ordering the first ten results can still gain, and what file-level signals
gain when simulated on a saved run (issue 14, parts 2 and 5).

Input: a repo-suite results file (`cseek eval repos ... --results-out F.jsonl`, top 10
per query), the suite and the corpus. Prints, as mean NDCG@10 over repositories (all /
fold A / fold B as in issue 14):

- the run as recorded, the best re-ordering of its top ten (relevant hits first) and the
  share of queries with any relevant hit in the ten;
- each simulated signal at a few strengths: the hits of natural-language queries
  re-scored as `score * (1 + w * s)`, where `s` is the hit's file's score relative to the
  best file among the ten:
  - `file-bm25`: BM25 of the query over the whole file text plus its path words;
  - `summary-bm25`: BM25 over the file's summary: path words, definition and container
    names, comment lines (what the file declares and says about itself);
  - `file-vector`: cosine of the query with the mean of the file's chunk vectors
    (embedded with `cseek embed --model MODEL`; only with `--model`);
- `coverage`, a chunk-level signal (Lucene's old coordination factor): `s` is the share of
  the query's distinct content words found in the hit's own lines and path, re-scored
  `score * (1 + w * s)` and `score * s^g`;
- `imports p`: hits whose lines are nothing but imports (`import`, `use`, `#include`,
  `require(…)`, Go import blocks …), comments and blank lines re-scored `score * (1 - p)`:
  such a header names other files' modules, not what its own file does.

    python3 benches/file-signals.py F.jsonl --suite ../shared/bench \\
        --corpus target/bench-corpus [--model target/models/minilm-static-256]

Chunks come from `cseek chunks --json` (the release binary), so they are cut as the
index cuts them. Standard library only; tokenisation is a plain identifier split with a
light suffix stemmer, not the engine's analyzer.
"""
import argparse
import collections
import json
import math
import os
import re
import subprocess

FOLD_A = set("aiohttp flask starlette tokio express libuv xmonad dapper snapkit".split())
STOP = set("a an the of to in and or for on with by from is are how what where when which "
           "does do use used using its it this that be as at into via between".split())
COMMENT = re.compile(r"^\s*(#|//|/\*|\*|--|\"\"\"|''')(.*)$")
IMPORT = re.compile(r"^\s*(import\b|from\s+\S+\s+import\b|(pub(\(crate\))?\s+)?use\s|extern\s+crate\b"
                    r"|#\s*include\b|package\s|using\s|(pub(\(crate\))?\s+)?mod\s+\w+;"
                    r"|(local\s+)?\w+\s*=\s*require\b|(const|let|var)\s+.*=\s*require\("
                    r"|export\s+(\*|\{[^}]*\})\s*from\b|[\"']use strict[\"'])")
# Blank lines and the lines of a Go import block or a multi-line `use a::{…};`.
IMPORT_FILLER = re.compile(r"^\s*(\)|\(|\"[^\"]*\"|\w+\s+\"[^\"]*\"|[\w.:]+,?|\}.*;?|\{?)\s*$")
BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "cseek")


def stem(w):
    for suf in ("ing", "ers", "er", "es", "s", "ed", "ion", "ions", "ly"):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            return w[: -len(suf)]
    return w


def toks(text):
    out = []
    for ident in re.findall(r"[A-Za-z0-9_]+", text):
        for p in re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", ident):
            p = p.lower()
            if p not in STOP and len(p) > 1:
                out.append(stem(p))
    return out


def load_suite(suite):
    # The dev suite names its repos list dev-repos.json; benches/heldout, repos.json.
    name = "dev-repos.json" if os.path.exists(os.path.join(suite, "dev-repos.json")) else "repos.json"
    repos = json.load(open(os.path.join(suite, name)))
    repos = repos if isinstance(repos, list) else repos.get("repos", repos)
    ann = {}
    for r in repos:
        for a in json.load(open(os.path.join(suite, "annotations", r["name"] + ".json"))):
            ann[(r["name"], a["query"])] = a
    return {r["name"]: r for r in repos}, ann


def ndcg10(hits, a, prefix):
    tg = []
    for t in a["relevant"] + a.get("secondary", []):
        p, span = (t["path"], (t["start_line"], t["end_line"])) if isinstance(t, dict) else (t, None)
        tg.append((p[len(prefix):] if prefix and p.startswith(prefix) else p, span))
    ranks = set()
    for p, span in tg:
        for i, h in enumerate(hits[:10]):
            same = h["path"] == p or h["path"].endswith("/" + p) or p.endswith("/" + h["path"])
            if same and (span is None or not (h["end_line"] < span[0] or h["start_line"] > span[1])):
                ranks.add(i + 1)
                break
    idcg = sum(1 / math.log2(i + 1) for i in range(1, min(10, len(tg)) + 1))
    return sum(1 / math.log2(r + 1) for r in ranks) / idcg if idcg else 0.0


def chunks_of(repo, corpus):
    base = os.path.join(corpus, repo["name"])
    files = [os.path.relpath(os.path.join(d, f), base)
             for d, _, fs in os.walk(os.path.join(base, repo["root"])) for f in fs]
    out = subprocess.run([BIN, "chunks", "--json"] + files, cwd=base, capture_output=True, text=True)
    return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]


class Bm25:
    def __init__(self, docs):
        self.docs = {p: collections.Counter(v) for p, v in docs.items()}
        self.df = collections.Counter()
        for c in self.docs.values():
            self.df.update(c.keys())
        self.n = len(self.docs)
        self.avg = sum(sum(c.values()) for c in self.docs.values()) / max(1, self.n)

    def score(self, query, path, k1=1.2, b=0.75):
        c = self.docs.get(path)
        if not c:
            return 0.0
        length = sum(c.values())
        s = 0.0
        for t in set(toks(query)):
            f = c.get(t, 0)
            if f:
                idf = math.log(1 + (self.n - self.df[t] + 0.5) / (self.df[t] + 0.5))
                s += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * length / self.avg))
        return s


def embed(texts, model):
    out = subprocess.run([BIN, "embed", "--model", model, "-"], input="\n".join(texts) + "\n",
                         capture_output=True, text=True)
    return json.loads(out.stdout)["vectors"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results")
    ap.add_argument("--suite", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--model")
    args = ap.parse_args()
    repos, ann = load_suite(args.suite)
    lines = [json.loads(l) for l in open(args.results)]
    signals = {"file-bm25": {}, "summary-bm25": {}, "file-vector": {}}
    for name in sorted({r["repo"] for r in lines}):
        chunks = chunks_of(repos[name], args.corpus)
        whole, summary = collections.defaultdict(list), collections.defaultdict(list)
        for c in chunks:
            p = c["path"]
            if p not in whole:
                whole[p] = toks(p.replace("/", " "))
                summary[p] = list(whole[p])
                text = open(os.path.join(args.corpus, name, p), encoding="utf-8", errors="replace").read()
                whole[p] += toks(text)
            summary[p] += toks(c.get("symbol") or "") + toks(c.get("container") or "")
            for l in c["text"].split("\n"):
                m = COMMENT.match(l)
                if m:
                    summary[p] += toks(m.group(2))
        signals["file-bm25"][name] = Bm25(whole)
        signals["summary-bm25"][name] = Bm25(summary)
        if args.model:
            texts = [(".".join(x for x in (c.get("container"), c.get("symbol")) if x) + " " + c["text"])
                     .replace("\n", " ").replace("\r", " ") for c in chunks]
            sums = {}
            for c, v in zip(chunks, embed(texts, args.model)):
                acc = sums.setdefault(c["path"], [0.0] * len(v))
                for i, x in enumerate(v):
                    acc[i] += x
            signals["file-vector"][name] = {p: [x / (math.sqrt(sum(y * y for y in v)) or 1) for x in v]
                                            for p, v in sums.items()}
    qvec = {}
    if args.model:
        qs = sorted({r["query"] for r in lines})
        qvec = dict(zip(qs, embed(qs, args.model)))

    def report(label, order):
        per = collections.defaultdict(list)
        for r in lines:
            per[r["repo"]].append(order(r))
        m = {k: sum(v) / len(v) for k, v in per.items()}
        mean = lambda xs: sum(xs) / max(1, len(xs))
        print(f"{label:28s} all {mean(list(m.values())):.4f} "
              f"A {mean([v for k, v in m.items() if k in FOLD_A]):.4f} "
              f"B {mean([v for k, v in m.items() if k not in FOLD_A]):.4f}")

    def score(r, hits):
        return ndcg10(hits, ann[(r["repo"], r["query"])], repos[r["repo"]].get("target_prefix") or "")

    report("as run", lambda r: score(r, r["results"]))

    def oracle(r):
        rel = [h for h in r["results"] if score(r, [h]) > 0]
        return score(r, rel + [h for h in r["results"] if h not in rel])

    report("best order of the top ten", oracle)
    report("any relevant in the top ten (share)", lambda r: float(any(score(r, [h]) > 0 for h in r["results"])))

    def file_score(kind, r, path):
        if kind == "file-vector":
            fv = signals[kind][r["repo"]].get(path)
            return sum(a * b for a, b in zip(qvec[r["query"]], fv)) if fv else 0.0
        return signals[kind][r["repo"]].score(r["query"], path)

    for kind in ["file-bm25", "summary-bm25"] + (["file-vector"] if args.model else []):
        for w in (0.1, 0.25, 0.5, 1.0):
            def order(r, kind=kind, w=w):
                hits = r["results"]
                if r["category"] == "symbol" or len(r["query"].split()) < 2 or not hits:
                    return score(r, hits)
                s = [file_score(kind, r, h["path"]) for h in hits]
                lo, hi = (min(s), max(s)) if kind == "file-vector" else (0.0, max(s))
                rel = [(x - lo) / ((hi - lo) or 1) for x in s]
                new = sorted(range(len(hits)), key=lambda i: (-hits[i]["score"] * (1 + w * rel[i]), i))
                return score(r, [hits[i] for i in new])
            report(f"{kind} w {w}", order)

    texts = {}

    def coverage(r, h):
        key = (r["repo"], h["path"])
        if key not in texts:
            with open(os.path.join(args.corpus, r["repo"], h["path"]), encoding="utf-8", errors="replace") as f:
                texts[key] = f.read().split("\n")
        words = set(toks(r["query"]))
        found = set(toks("\n".join(texts[key][h["start_line"] - 1:h["end_line"]]) + " " + h["path"]))
        return len(words & found) / max(1, len(words))

    for form, strengths in (("w", (0.1, 0.25, 0.5, 1.0)), ("g", (0.5, 1.0, 2.0))):
        for w in strengths:
            def order(r, form=form, w=w):
                hits = r["results"]
                if r["category"] == "symbol" or len(r["query"].split()) < 2 or not hits:
                    return score(r, hits)
                s = [coverage(r, h) for h in hits]
                f = [(1 + w * x) if form == "w" else max(x, 0.05) ** w for x in s]
                new = sorted(range(len(hits)), key=lambda i: (-hits[i]["score"] * f[i], i))
                return score(r, [hits[i] for i in new])
            report(f"coverage {form} {w}", order)

    def imports_only(r, h):
        coverage(r, h)  # loads the file's lines
        seg = texts[(r["repo"], h["path"])][h["start_line"] - 1:h["end_line"]]
        n = 0
        for l in seg:
            if IMPORT.match(l):
                n += 1
            elif not (IMPORT_FILLER.match(l) or COMMENT.match(l)):
                return False
        return n > 0

    for p in (0.1, 0.3, 0.5, 0.7):
        def order(r, p=p):
            hits = r["results"]
            if r["category"] == "symbol" or len(r["query"].split()) < 2 or not hits:
                return score(r, hits)
            f = [(1 - p) if imports_only(r, h) else 1.0 for h in hits]
            new = sorted(range(len(hits)), key=lambda i: (-hits[i]["score"] * f[i], i))
            return score(r, [hits[i] for i in new])
        report(f"imports p {p}", order)


if __name__ == "__main__":
    main()
