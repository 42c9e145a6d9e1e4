#!/usr/bin/env python3
"""Symbol queries on the dev corpus: the defining chunk must be rank 1.

usage: python3 benches/symbol-queries.py [--corpus target/bench-corpus] [--cseek target/release/cseek]

Indexes each needed repo of ../shared/bench (its `root`, honouring `exclude`) into
target/symbol-idx/<repo>, runs `cseek query SYMBOL --json`, and checks that the first
result is a chunk that defines the symbol (its `symbol` field) in the expected file.
Prints one line per query and exits 1 if any is not at rank 1.
"""
import argparse, json, os, subprocess, sys

# (repo, query, expected path suffix, expected symbol name)
CASES = [
    ("flask", "Flask.make_response", "app.py", "make_response"),
    ("flask", "make_response", "helpers.py", "make_response"),
    ("requests", "merge_environment_settings", "sessions.py", "merge_environment_settings"),
    ("requests", "HTTPAdapter", "adapters.py", "HTTPAdapter"),
    ("requests", "get_netrc_auth", "utils.py", "get_netrc_auth"),
    ("fastapi", "solve_dependencies", "dependencies/utils.py", "solve_dependencies"),
    ("fastapi", "APIRouter", "routing.py", "APIRouter"),
    ("fastapi", "jsonable_encoder", "encoders.py", "jsonable_encoder"),
    ("starlette", "StaticFiles", "staticfiles.py", "StaticFiles"),
    ("starlette", "run_in_threadpool", "concurrency.py", "run_in_threadpool"),
    ("starlette", "request_response", "routing.py", "request_response"),
    ("starlette", "WebSocket", "websockets.py", "WebSocket"),
    ("aiohttp", "BasicAuth", "helpers.py", "BasicAuth"),
    ("aiohttp", "CookieJar", "cookiejar.py", "CookieJar"),
    ("model2vec", "StaticModel", "model.py", "StaticModel"),
    ("model2vec", "distill", "distill/distillation.py", "distill"),
    ("tokio", "JoinSet", "task/join_set.rs", "JoinSet"),
    ("tokio", "JoinSet::spawn_local", "task/join_set.rs", "spawn_local"),
    ("axum", "Router", "routing/mod.rs", "Router"),
    ("express", "createApplication", "express.js", "createApplication"),
    ("axios", "mergeConfig", "core/mergeConfig.js", "mergeConfig"),
    ("axios", "buildURL", "helpers/buildURL.js", "buildURL"),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo_root = os.path.dirname(here)
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(repo_root, "target/bench-corpus"))
    ap.add_argument("--suite", default=os.path.join(repo_root, "../shared/bench"))
    ap.add_argument("--cseek", default=os.path.join(repo_root, "target/release/cseek"))
    args = ap.parse_args()
    repos = {r["name"]: r for r in json.load(open(os.path.join(args.suite, "dev-repos.json")))}
    indexed = set()
    failures = 0
    for repo, query, path_suffix, symbol in CASES:
        idx = os.path.join(repo_root, "target/symbol-idx", repo)
        if repo not in indexed:
            r = repos[repo]
            cmd = [args.cseek, "index", os.path.join(args.corpus, repo, r["root"]), "--index", idx, "--quiet"]
            for g in r.get("exclude", []):
                cmd += ["--exclude", g]
            subprocess.run(cmd, check=True)
            indexed.add(repo)
        out = subprocess.run([args.cseek, "query", query, "--json", "--index", idx, "-k", "10"],
                             check=True, capture_output=True, text=True).stdout
        results = json.loads(out)["results"]
        rank = next((i + 1 for i, h in enumerate(results)
                     if h["symbol"] == symbol and (h["path"] == path_suffix or h["path"].endswith("/" + path_suffix))), None)
        ok = rank == 1
        failures += not ok
        top = results[0] if results else {}
        print(f"{'ok  ' if ok else 'FAIL'} {repo:<10} {query:<28} rank={rank}  top={top.get('path')}:{top.get('start_line')} {top.get('symbol')}")
    print(f"{len(CASES) - failures}/{len(CASES)} symbol queries have the definition at rank 1")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
