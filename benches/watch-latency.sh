#!/usr/bin/env bash
# Edit-to-searchable latency of `cseek watch` (lexical-only unless MODEL is set): copy a source tree, watch
# it, make N edits (each appends a function with a new name to a file), and time each
# edit from the write to the `updated` event of `cseek watch --json` (printed right after
# the commit: a Searcher opened then sees it); every edit is then checked with
# `cseek query`. Prints p50/p95/max and what the watch itself reported.
#
# usage: benches/watch-latency.sh [SRC_DIR] [EDITS] [DEBOUNCE_MS]
#   SRC_DIR      tree to copy (default: tokio's src from the cargo registry, else ./src)
#   EDITS        number of edits (default 50)
#   DEBOUNCE_MS  --debounce-ms of the watch (default 200, the default of cseek watch)
# CSEEK=path/to/cseek overrides the binary (default: target/release/cseek, built first).
# MODEL=DIR (or a registry name) watches with that embedding model (default: none, lexical).
set -euo pipefail
cd "$(dirname "$0")/.."

src=${1:-$(ls -d "$HOME"/.cargo/registry/src/*/tokio-1.*/src 2>/dev/null | head -1)}
src=${src:-src}
edits=${2:-50}
debounce=${3:-200}
if [[ -z "${CSEEK:-}" ]]; then
  cargo build --release --quiet
  CSEEK=${CARGO_TARGET_DIR:-target}/release/cseek
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src" "$work/repo"
echo "tree: $src ($(find "$work/repo" -type f | wc -l) files), $edits edits, debounce $debounce ms"

python3 - "$CSEEK" "$work/repo" "$edits" "$debounce" <<'EOF'
import json, random, statistics, subprocess, sys, time, pathlib, threading, queue

cseek, root, edits, debounce = sys.argv[1], pathlib.Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
import os
model = os.environ.get("MODEL", "none")
files = sorted(p for p in root.rglob("*.rs") if ".cseek" not in p.parts)
proc = subprocess.Popen(
    [cseek, "watch", "--json", "--model", model, "--debounce-ms", debounce, str(root)],
    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
events = queue.Queue()
def read():
    for line in proc.stdout:
        events.put((time.perf_counter(), json.loads(line)))
threading.Thread(target=read, daemon=True).start()

def next_event(name, timeout=60):
    end = time.time() + timeout
    while True:
        t, e = events.get(timeout=max(0.1, end - time.time()))
        if e["event"] == name:
            return t, e

_, start = next_event("updated")
next_event("watching")
print(f"start update: {start['files']} files, {start['chunks']} chunks, {start['index_ms']:.0f} ms")

rng = random.Random(7)
wall, reported, index = [], [], []
for i in range(edits):
    time.sleep(rng.uniform(0.3, 0.6))  # idle between edits, like a person saving
    f = rng.choice(files)
    name = f"latency_probe_{i}_{rng.randrange(10**9)}"
    t0 = time.perf_counter()
    with open(f, "a") as fh:
        fh.write(f"\npub fn {name}() -> u32 {{ {i} }}\n")
    t1, e = next_event("updated")
    wall.append((t1 - t0) * 1e3)
    reported.append(e["latency_ms"])
    index.append(e["index_ms"])
    out = subprocess.run([cseek, "query", "--json", "--mode", "lexical", "--index",
                          str(root / ".cseek"), name], capture_output=True, text=True)
    hits = json.loads(out.stdout)["results"]
    assert any(h["symbol"] == name for h in hits), f"edit {i}: {name} not found"

proc.send_signal(2)
code = proc.wait(timeout=60)

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
for label, xs in [("edit -> searchable (wall)", wall),
                  ("reported latency_ms", reported),
                  ("index_ms (build_index)", index),
                  ("wall - index - debounce", [w - i - int(debounce) for w, i in zip(wall, index)])]:
    print(f"{label:26} p50 {pct(xs, 50):6.0f} ms  p95 {pct(xs, 95):6.0f} ms  max {max(xs):6.0f} ms")
print(f"all {edits} edits found by `cseek query`; Ctrl-C exit code {code}")
EOF
