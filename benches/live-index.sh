#!/usr/bin/env bash
# Live-index benchmark (issue 12): what an incremental `cseek index` costs on tokio.
#
#   benches/live-index.sh MODEL_DIR [LABEL]
#
# MODEL_DIR: a model directory (e.g. target/models/minilm-static-256, made by
#   `cseek model distill --from target/models/all-MiniLM-L6-v2 --dims 256 --out ...`, or
#   target/models/all-MiniLM-L6-v2 from tests/fetch-minilm.sh).
# Needs: target/release/cseek (cargo build --release), target/bench-corpus/tokio (from
#   ../shared/bench/fetch-dev-corpus.sh target/bench-corpus) and tokio 1.50.0's source in
#   the cargo registry (any project depending on tokio = "=1.50.0", then `cargo fetch`).
# Prints one line per measurement: wall ms (process start to exit, median of runs where
# several), the run's JSON summary, and peak RSS (GNU time) for the full and incremental
# runs.
set -euo pipefail
cd "$(dirname "$0")/.."
model="$1"
label="${2:-$(basename "$model")}"
bin="$PWD/target/release/cseek"
work="${CSEEK_BENCH_DIR:-/tmp/cseek-live-bench}/$label"
old_tokio="$(ls -d "$HOME"/.cargo/registry/src/*/tokio-1.50.0 | head -1)"
rm -rf "$work" && mkdir -p "$work"
cp -a target/bench-corpus/tokio/src "$work/tree"
tree="$work/tree"
idx="$work/index"

ms() { date +%s%N; }
run() { "$bin" index "$tree" --index "$idx" --model "$model" --json "$@"; }
timed() { # LABEL ARGS...: wall ms + summary
  local what="$1"; shift
  local t0 t1 out
  t0=$(ms); out=$(run "$@"); t1=$(ms)
  echo "$label  $what  wall_ms=$(( (t1 - t0) / 1000000 ))  $out"
}
rss() { # LABEL ARGS...: peak RSS in MB
  local what="$1"; shift
  /usr/bin/time -f "%M" -o "$work/rss" "$bin" index "$tree" --index "$idx" --model "$model" --json "$@" >/dev/null
  echo "$label  $what  peak_rss_mb=$(( $(cat "$work/rss") / 1024 ))"
}

# Full build (cold: empty cache), with its peak RSS.
rm -rf "$idx"
/usr/bin/time -f "%M" -o "$work/rss" bash -c "t0=\$(date +%s%N); '$bin' index '$tree' --index '$idx' --model '$model' --json > '$work/full.json'; t1=\$(date +%s%N); echo \$(( (t1 - t0) / 1000000 )) > '$work/full.ms'"
echo "$label  full-cold  wall_ms=$(cat "$work/full.ms")  $(cat "$work/full.json")  peak_rss_mb=$(( $(cat "$work/rss") / 1024 ))"

# No change, 7 runs: median wall time.
walls=()
for _ in 1 2 3 4 5 6 7; do
  t0=$(ms); run >/dev/null; t1=$(ms); walls+=($(( (t1 - t0) / 1000000 )))
done
sorted=($(printf '%s\n' "${walls[@]}" | sort -n))
echo "$label  no-change  wall_ms_median=${sorted[3]}  all=${walls[*]}  $(run)"

# One edited file: a new function appended to one file (then the edit reverted), 5 times.
f="$tree/sync/mutex.rs"
cp "$f" "$work/mutex.rs.orig"
for i in 1 2 3 4 5; do
  printf '\n/// Benchmark edit %s.\npub fn bench_edit_%s_%s() -> u32 {\n    %s\n}\n' "$i" "$i" "$RANDOM" "$i" >> "$f"
  timed "one-file-edit-$i"
  cp "$work/mutex.rs.orig" "$f"
  timed "revert-$i"
done
# Peak RSS of an incremental run.
printf '\n/// Benchmark edit for RSS.\npub fn bench_edit_rss_%s() {}\n' "$RANDOM" >> "$f"
rss "incremental-one-file"
cp "$work/mutex.rs.orig" "$f"
run > /dev/null

# Jump between two releases: 1.51.1 (bench corpus) -> 1.50.0 -> back.
rm -rf "$tree" && cp -a "$old_tokio/src" "$tree"
timed "jump-1.51.1-to-1.50.0"
rm -rf "$tree" && cp -a target/bench-corpus/tokio/src "$tree"
timed "jump-back-to-1.51.1"

# A fresh build with a warm cache (what --rebuild and compaction cost).
timed "rebuild-warm-cache" --rebuild
du -sh "$idx/cache" | sed "s|^|$label  cache-size  |"
