#!/usr/bin/env python3
"""Gather training code for `benches/tokenlearn.py` that neither benchmark suite contains.

Experiment, not a product path. Links source trees already on this machine into DEST (one
directory per source) and writes a suite file `SUITE/big.json` and `SUITE/names.txt` in
the format `tokenlearn.py --suite SUITE --repos-file big.json --repos $(cat names.txt)`
reads: 50 crates sampled from the cargo registry (Rust), parts of the Python packages of
a venv and of the Python standard library, `/usr/include` (C) and 40 packages of npm's
own dependencies (JavaScript). Anything named like a repository of the dev or held-out
suite is left out, and so are generated parsers (`tree-sitter-*`) and vendored binaries.

    python3 benches/tl-corpus.py --dest target/tl-big --suite target/tl-big-suite \\
        --venv target/tl-venv

Which crates and npm packages there are depends on the machine (its cargo registry, its
npm); the sample is seeded, so the same machine gives the same corpus.
"""
import argparse
import glob
import json
import os
import random

# Names of the dev suite's and the held-out suite's repositories (prefixes).
SUITES = ("tokio", "axum", "aiohttp", "fastapi", "flask", "requests", "starlette",
          "model2vec", "express", "axios", "libuv", "chi", "xmonad", "gson", "dapper", "trpc",
          "snapkit", "lazy", "rack", "monolog", "spdlog", "kotlinx", "jsoup", "elixir", "ssh",
          "rxjs")
SKIP = ("tree-sitter", "protoc")
VENV_PARTS = ["transformers/models/bert", "transformers/generation", "torch/nn",
              "torch/utils/data", "numpy/lib", "huggingface_hub", "httpx2", "anyio", "click",
              "fsspec", "filelock", "tokenizers", "safetensors", "jinja2", "yaml",
              "networkx/algorithms", "sympy/core", "packaging", "tqdm", "regex"]
STDLIB_PARTS = ["asyncio", "email", "http", "json", "logging", "unittest", "concurrent", "xml",
                "urllib", "importlib", "multiprocessing", "sqlite3", "collections", "wsgiref",
                "zipfile", "tomllib"]


def allowed(name):
    return not name.lower().startswith(SUITES)


def skipped(name):
    return any(s in name.lower() for s in SKIP)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dest", required=True)
    ap.add_argument("--suite", required=True)
    ap.add_argument("--venv", required=True)
    ap.add_argument("--crates", type=int, default=50)
    ap.add_argument("--npm", type=int, default=40)
    args = ap.parse_args()
    rng = random.Random(0)
    os.makedirs(args.dest, exist_ok=True)
    os.makedirs(args.suite, exist_ok=True)
    entries = []

    def add(name, path):
        dst = os.path.join(args.dest, name)
        if not os.path.isdir(path) or os.path.lexists(dst):
            return
        os.symlink(os.path.abspath(path), dst)
        entries.append({"name": name, "root": "."})

    # Sampled in the registry's directory order, then generated code dropped: the order
    # the measured corpus was drawn in.
    crates = [d for d in glob.glob(os.path.expanduser("~/.cargo/registry/src/*/*"))
              if allowed(os.path.basename(d))]
    rng.shuffle(crates)
    for d in crates[: args.crates]:
        if not skipped(os.path.basename(d)):
            add("rs-" + os.path.basename(d), d)
    site = sorted(glob.glob(os.path.join(args.venv, "lib/python3*/site-packages")))
    for part in VENV_PARTS if site else []:
        if allowed(part):
            add("py-" + part.replace("/", "-"), os.path.join(site[0], part))
    stdlib = sorted(glob.glob("/usr/lib/python3.[0-9]*/"))
    for part in STDLIB_PARTS if stdlib else []:
        add("stdlib-" + part, os.path.join(stdlib[-1], part))
    add("c-include", "/usr/include")
    npm = [d for d in glob.glob("/usr/lib/node_modules/npm/node_modules/*")
           if allowed(os.path.basename(d)) and os.path.isdir(d)]
    rng.shuffle(npm)
    for d in npm[: args.npm]:
        add("js-" + os.path.basename(d), d)
    add("js-npm-lib", "/usr/lib/node_modules/npm/lib")

    with open(os.path.join(args.suite, "big.json"), "w") as f:
        json.dump(entries, f)
    with open(os.path.join(args.suite, "names.txt"), "w") as f:
        f.write(",".join(e["name"] for e in entries))
    print(f"{len(entries)} sources linked under {args.dest}")


if __name__ == "__main__":
    main()
