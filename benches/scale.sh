#!/usr/bin/env bash
# Scale benchmark (issue 16): indexes of about 100k and 1M chunks of real code, built with
# the static model, then measured by benches/scale.rs (open time, latency per mode on 1 and
# N threads, HNSW recall@10 against an exact scan, resident memory).
#
#   bash benches/scale.sh [OUT_DIR]        # default target/scale
#   env: MODEL (target/models/minilm-static-256), SIZES ("250k 1m"), THREADS (8),
#        INDEX_ARGS (extra `cseek index` flags, e.g. --f16)
#
# Corpus: the sources of every crate in cseek's own Cargo.lock (`cargo fetch` puts them
# under ~/.cargo/registry/src: Rust mostly, with C, C++, Python, JavaScript, shell in the
# -sys and tooling crates) plus the dev suite's 18 repositories (target/bench-corpus,
# `../shared/bench/fetch-dev-corpus.sh`): real code, nothing repeated. "1m" is all of it
# (1.10M chunks); "250k" the crates in name order up to a tenth of the bytes (0.26M
# chunks: the small crates come first); "100k" up to 3.5% of the bytes. The
# corpus is a directory of symbolic links, indexed with --follow.
#
# Writes OUT_DIR/SIZE/{index.json,index.time,index.log,serve.json,serve.time} and prints a
# summary line per size.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-target/scale}
MODEL=${MODEL:-target/models/minilm-static-256}
SIZES=${SIZES:-250k 1m}
THREADS=${THREADS:-8}
INDEX_ARGS=${INDEX_ARGS:-}
BIN=target/release/cseek

cargo build --release --quiet
cargo bench --no-run --quiet --bench scale 2>/dev/null
SCALE=$(ls -t target/release/deps/scale-* | grep -v '\.d$' | head -1)
[ -d "$MODEL" ] || { echo "no model at $MODEL (see benches/README.md: cseek model distill)" >&2; exit 2; }
[ -d target/bench-corpus ] || { echo "no dev corpus at target/bench-corpus (../shared/bench/fetch-dev-corpus.sh target/bench-corpus)" >&2; exit 2; }
mkdir -p "$OUT"

# The dev suite's queries, one per line.
python3 - "$OUT/queries.txt" <<'EOF'
import glob, json, sys
qs = [q["query"] for f in sorted(glob.glob("../shared/bench/annotations/*.json")) for q in json.load(open(f))]
open(sys.argv[1], "w").write("\n".join(qs) + "\n")
EOF

# Crate directories of Cargo.lock, in name order, with their source bytes.
cargo fetch --quiet
cargo metadata --format-version 1 --locked --quiet | python3 -c '
import json, os, sys
pkgs = json.load(sys.stdin)["packages"]
dirs = sorted({os.path.dirname(p["manifest_path"]) for p in pkgs if "/registry/src/" in p["manifest_path"]})
for d in dirs:
    n = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)
    print(n, d)
' > "$OUT/crates.txt"

for size in $SIZES; do
  dir="$OUT/$size"
  rm -rf "$dir/corpus" "$dir/index"
  mkdir -p "$dir/corpus"
  ln -s "$(realpath target/bench-corpus)" "$dir/corpus/bench-corpus"
  case "$size" in
    1m) share=1 ;;
    250k) share=0.1 ;;
    100k) share=0.035 ;;
    *) echo "unknown size $size (100k, 250k, 1m)" >&2; exit 2 ;;
  esac
  python3 - "$OUT/crates.txt" "$share" "$dir/corpus" <<'EOF'
import os, sys
rows = [l.split(" ", 1) for l in open(sys.argv[1]).read().splitlines()]
total = sum(int(n) for n, _ in rows)
budget, used = float(sys.argv[2]) * total, 0
for n, d in rows:
    if used >= budget:
        break
    os.symlink(d.strip(), os.path.join(sys.argv[3], os.path.basename(d.strip())))
    used += int(n)
EOF
  # shellcheck disable=SC2086
  /usr/bin/time -v -o "$dir/index.time" "$BIN" index "$dir/corpus" --index "$dir/index" \
    --follow --model "$MODEL" --timings --json $INDEX_ARGS > "$dir/index.json" 2> "$dir/index.log"
  /usr/bin/time -v -o "$dir/serve.time" "$SCALE" --index "$dir/index" \
    --queries "$OUT/queries.txt" --threads "$THREADS" > "$dir/serve.json"
  python3 - "$dir" <<'EOF'
import json, os, re, sys
d = sys.argv[1]
idx = json.load(open(f"{d}/index.json")); srv = json.load(open(f"{d}/serve.json"))
t = open(f"{d}/index.time").read()
peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(f"{d}/index") for f in fs) / 2**20
c = idx["chunks"]
line = f"{d}: {c} chunks, index {idx['seconds']:.1f} s, {size:.0f} MB ({size / c * 1000:.2f} MB per 1k chunks), peak RSS indexing {peak:.0f} MB; open {srv['open_ms']:.1f} ms"
for m in ("lexical", "semantic", "hybrid"):
    if m in srv:
        s = srv[m]["single_thread"]; cc = srv[m]["concurrent"]
        line += f"; {m} p50/p95/p99 {s['p50']}/{s['p95']}/{s['p99']} ms, {srv['threads']} threads {cc['p50']}/{cc['p95']}/{cc['p99']} ms {srv[m]['concurrent_qps']:.0f} q/s"
if "recall_at_10" in srv:
    r = srv["recall_at_10"]
    line += f"; exact scan p50 {r['exact_ms']['p50']} ms; recall@10 " + ", ".join(f"ef {e['ef_search']}: {e['recall']:.4f} ({e['graph_ms']['p50']} ms)" for e in r["by_ef"])
a = srv["rss_after_queries"]; line += f"; serving RSS {a['rss_mb']:.0f} MB (anon {a['anon_mb']:.0f}, mapped files {a['file_mb']:.0f})"
print(line)
EOF
done
