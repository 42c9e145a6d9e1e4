#!/usr/bin/env bash
# cseek's OpenAI-compatible embedding client against a third-party server.
#
# Installs infinity-emb (pinned, from PyPI) into target/third-party-venv, serves the local
# all-MiniLM-L6-v2 folder with it on 127.0.0.1 under /v1, and checks that
#   (a) `cseek model verify` finds the server's vectors the same as cseek's own (candle) on
#       ~20 varied texts and on 200 chunks of a small index, in text and --json form;
#   (b) `cseek embed --model openai:NAME --endpoint URL` works;
#   (c) an index built through the server answers a query.
# The server is stopped on exit. Not part of CI (it installs torch: ~4 GB, several minutes).
#
# Usage: benches/third-party/openai-server.sh      (from anywhere; works in the repo root)
#   CSEEK      cseek binary (default target/release/cseek)
#   MODEL_DIR  the sentence-transformers folder (default target/models/all-MiniLM-L6-v2)
#   PORT       server port (default 7997)
#   SAMPLE     chunks compared from the index (default 200)
# Exit status: 0 when every required check passed, 1 otherwise.
set -euo pipefail

CALLER_PWD=$PWD
cd "$(dirname "$0")/../.."
ROOT=$PWD

abs() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$CALLER_PWD/$1" ;; esac; }
CSEEK=$(abs "${CSEEK:-$ROOT/target/release/cseek}")
MODEL_DIR=$(cd "$(abs "${MODEL_DIR:-$ROOT/target/models/all-MiniLM-L6-v2}")" && pwd)
PORT=${PORT:-7997}
SAMPLE=${SAMPLE:-200}

NAME=all-MiniLM-L6-v2 # the name the server serves the model under
URL=http://127.0.0.1:$PORT/v1
VENV=$ROOT/target/third-party-venv
WORK=$ROOT/target/third-party
LOG=$WORK/infinity.log

# Pinned: infinity-emb and what decides its numbers or its API. torch comes from PyPI (the
# CUDA build; it runs on CPU here). sentence-transformers <4 and numpy <2 are
# infinity-emb 0.0.78's own bounds.
PINS=(
  "infinity-emb[server,torch]==0.0.78"
  "torch==2.15.0"
  "sentence-transformers==3.4.1"
  "transformers==4.57.6"
  "tokenizers==0.22.2"
  "safetensors==0.8.0"
  "numpy==1.26.4"
  "fastapi==0.165.0"
  "starlette==1.10.0"
  "uvicorn[standard]==0.32.1"
  "pydantic==2.14.4"
  "huggingface_hub==0.36.2"
)

[ -x "$CSEEK" ] || { echo "no cseek binary at $CSEEK (build it: cargo build --release, or set CSEEK)" >&2; exit 2; }
[ -f "$MODEL_DIR/config.json" ] || { echo "no model folder at $MODEL_DIR (set MODEL_DIR)" >&2; exit 2; }
mkdir -p "$WORK"

# ---- 1. the venv (idempotent: reinstalls only when the pins change) -------------------
stamp="$VENV/.pins"
if [ ! -x "$VENV/bin/infinity_emb" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${PINS[*]}" ]; then
  echo "== installing infinity-emb into $VENV (torch is large: a few minutes)"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  nice -n 10 "$VENV/bin/python" -m pip install -q "${PINS[@]}"
  printf '%s' "${PINS[*]}" > "$stamp"
fi
PY=$VENV/bin/python
echo "== infinity-emb $("$PY" -c 'import importlib.metadata as m; print(m.version("infinity-emb"))'), torch $("$PY" -c 'import importlib.metadata as m; print(m.version("torch"))'), sentence-transformers $("$PY" -c 'import importlib.metadata as m; print(m.version("sentence-transformers"))')"

# ---- 2. the server ----------------------------------------------------------------
if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
  echo "something already listens on 127.0.0.1:$PORT: stop it or set PORT" >&2
  exit 2
fi
SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

echo "== starting infinity on $URL (log: $LOG)"
# Offline (no hub look-ups), no telemetry, its cache dir under target/ rather than the cwd,
# no result cache (every request computes), fp32 on CPU like cseek's side.
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DO_NOT_TRACK=1 INFINITY_ANONYMOUS_USAGE_STATS=0 \
INFINITY_HOME="$WORK" \
  "$VENV/bin/infinity_emb" v2 \
    --model-id "$MODEL_DIR" --served-model-name "$NAME" \
    --engine torch --device cpu --dtype float32 \
    --no-bettertransformer --no-compile --no-model-warmup --no-vector-disk-cache \
    --host 127.0.0.1 --port "$PORT" --url-prefix /v1 --log-level warning \
    > "$LOG" 2>&1 &
SERVER_PID=$!

for i in $(seq 300); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "infinity exited while starting; its log:" >&2; tail -30 "$LOG" >&2; exit 1
  fi
  curl -sf "$URL/models" >/dev/null 2>&1 && break
  [ "$i" = 300 ] && { echo "infinity did not answer within 300 s; its log:" >&2; tail -30 "$LOG" >&2; exit 1; }
  sleep 1
done
echo "== serving: $(curl -s "$URL/models" | "$PY" -c 'import json,sys; print([m["id"] for m in json.load(sys.stdin)["data"]])')"

# ---- 3. the checks ------------------------------------------------------------------
RESULTS=()
record() { # name status(0=pass) required(1/0)
  local verdict=PASS
  [ "$2" = 0 ] || verdict=FAIL
  [ "$3" = 1 ] || verdict="$verdict (informational)"
  RESULTS+=("$verdict  $1")
  if [ "$2" != 0 ] && [ "$3" = 1 ]; then FAILED=1; fi
}
FAILED=0
run() { printf '\n$ %s\n' "${*//$ROOT\//}" >&2; "$@"; }
summarise_json() { "$PY" 2>/dev/null -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  json: texts=%d dims=%d min=%.6f mean=%.6f pass=%s" % (d["texts"], d["dims"], d["min"], d["mean"], d["pass"]))' "$1"; }

TEXTS=$WORK/texts.txt
cat > "$TEXTS" <<'EOF'
read a file
how do I parse command line arguments in Rust?
fn main() { println!("hello, world"); }
where is the embedding cache garbage collected?
def fibonacci(n): return n if n < 2 else fibonacci(n-1) + fibonacci(n-2)
SELECT id, name FROM users WHERE created_at > NOW() - INTERVAL '7 days' ORDER BY name;
What does the error "index from another format version" mean?
impl<T: Clone> From<Vec<T>> for Stack<T> { fn from(v: Vec<T>) -> Self { Stack { items: v } } }
async function fetchJson(url) { const r = await fetch(url); if (!r.ok) throw new Error(r.status); return r.json(); }
retry HTTP 429 with exponential backoff and Retry-After header
#include <stdio.h>
int main(int argc, char **argv) { for (int i = 1; i < argc; i++) puts(argv[i]); return 0; }
How can I compute cosine similarity between two vectors?
for (const [k, v] of Object.entries(map)) console.log(`${k}=${v}`);
class LRUCache:\n    def __init__(self, capacity): self.cap = capacity; self.d = OrderedDict()
tokenize the input, truncate to 256 tokens, mean-pool the hidden states and L2-normalise
Which function acquires the writer lock before re-indexing?
let re = Regex::new(r"^(\d{4})-(\d{2})-(\d{2})$").unwrap();
Ünïcödé strings, emoji 🦀 and CJK 代码搜索 in one line
git checkout main && cargo build --release && ./target/release/cseek index .
x
EOF
NTEXTS=$(wc -l < "$TEXTS")

# A small lexical-only index to sample chunks from: a copy of src/, so that no .cseek/
# lands in the repo's own tree.
IDX=$WORK/src-index
rm -rf "$IDX" && mkdir -p "$IDX" && cp -r "$ROOT/src" "$IDX/src"
run "$CSEEK" index --model none -q "$IDX"

# The cseek side two ways: (1) the folder itself; (2) the registry model `minilm` found in
# a Hugging Face cache layout that points at the same folder. Both must cut texts at 256
# tokens, sentence-transformers' max_seq_length (the folder's sentence_bert_config.json,
# the registry entry): only chunks longer than that would show a difference.
HFH=$WORK/hf
snap=$HFH/hub/models--sentence-transformers--all-MiniLM-L6-v2
mkdir -p "$snap/refs" "$snap/snapshots"
printf local > "$snap/refs/main"
ln -sfn "$MODEL_DIR" "$snap/snapshots/local"

verify() { # label required json-out stdin-file command...: runs it, then with --json
  local label=$1 req=$2 out=$3 in=$4; shift 4
  local st=0
  run "$@" < "$in" || st=$?
  record "$label" "$st" "$req"
  st=0
  "$@" --json < "$in" > "$out" || st=$?
  summarise_json "$out" || echo "  json: none (cseek exited $st)"
  record "$label --json" "$st" "$req"
}

echo; echo "== (a) model verify: cseek (candle, the folder) vs infinity"
verify "verify folder vs server, $NTEXTS texts" 1 "$WORK/verify-texts-dir.json" "$TEXTS" \
  "$CSEEK" model verify --model "$MODEL_DIR" --against "openai:$NAME" --endpoint "$URL" -
verify "verify folder vs server, $SAMPLE index chunks" 1 "$WORK/verify-index-dir.json" /dev/null \
  "$CSEEK" --index "$IDX" model verify --model "$MODEL_DIR" --against "openai:$NAME" --endpoint "$URL" --sample "$SAMPLE"

echo; echo "== (a') model verify: cseek (candle, registry minilm = 256 tokens) vs infinity"
export HF_HOME=$HFH
verify "verify minilm vs server, $NTEXTS texts" 1 "$WORK/verify-texts-minilm.json" "$TEXTS" \
  "$CSEEK" model verify --model minilm --offline --against "openai:$NAME" --endpoint "$URL" -
verify "verify minilm vs server, $SAMPLE index chunks" 1 "$WORK/verify-index-minilm.json" /dev/null \
  "$CSEEK" --index "$IDX" model verify --model minilm --offline --against "openai:$NAME" --endpoint "$URL" --sample "$SAMPLE"
unset HF_HOME

echo; echo "== (b) cseek embed through the server"
st=0
run "$CSEEK" embed --model "openai:$NAME" --endpoint "$URL" "read a file" > "$WORK/embed.json" || st=$?
if [ "$st" = 0 ]; then
  "$PY" - "$WORK/embed.json" <<'EOF' || st=$?
import json, math, sys
d = json.load(open(sys.argv[1]))
v = d["vectors"]
assert d["dims"] == 384 and len(v) == 1 and len(v[0]) == 384, d.get("dims")
print("  model=%s dims=%d norm=%.6f" % (d["model"], d["dims"], math.sqrt(sum(x * x for x in v[0]))))
EOF
fi
record "embed openai:$NAME" "$st" 1

echo; echo "== (c) index and query through the server"
E2E=$WORK/e2e
rm -rf "$E2E" && mkdir -p "$E2E"
cp "$ROOT/src/embed/resolve.rs" "$ROOT/src/embed/tokenize.rs" "$ROOT/src/store.rs" "$E2E/"
st=0
run "$CSEEK" index --model "openai:$NAME" --endpoint "$URL" -q "$E2E" || st=$?
if [ "$st" = 0 ]; then
  run "$CSEEK" --index "$E2E" query --mode semantic -k 3 "find a downloaded model in the Hugging Face cache" \
    | tee "$WORK/query.txt" || st=$?
  # resolve.rs is the file about finding models (its doc comment or cached_dir).
  head -1 "$WORK/query.txt" | grep -q '^resolve\.rs:' || { echo "  expected resolve.rs first" >&2; st=1; }
fi
record "index + semantic query via openai:$NAME" "$st" 1

echo
echo "== summary (infinity-emb at $URL, served name $NAME)"
printf '  %s\n' "${RESULTS[@]}"
exit "$FAILED"
