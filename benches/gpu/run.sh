#!/usr/bin/env bash
# The one script a GPU machine runs (issue 15): parity with the CPU, embedding throughput,
# index time of the dev corpus. Written for the H200 machine that some sessions are lent
# (16 cores, driver 580 / CUDA 13.0, no network), time-boxed to ~8 minutes (BUDGET seconds).
#
#   bash benches/gpu/run.sh                  # results in ${OUT:-target/gpu-results}
#   BUDGET=300 REPOS="chi axum" bash benches/gpu/run.sh
#
# Inputs (each falls back to the packed copy that `bash benches/gpu/build.sh --pack` puts in
# target/gpu-carry/, which is what fits the 64 MiB a device call can carry):
#   BIN     target/cuda/release/cseek             (built by benches/gpu/build.sh)
#           else target/gpu-carry/cseek.xz
#   MODEL   target/models/all-MiniLM-L6-v2        (f32, 88 MB)
#           else target/gpu-carry/all-MiniLM-L6-v2-f16 (the same weights rounded to f16;
#           min cosine 0.999999 against f32 on CPU, so parity below measures the GPU, not this)
#   CORPUS  target/bench-corpus                    else target/gpu-carry/bench-corpus.tar.xz
# Run-time libraries: the binary needs libcudart.so.13, libcublas.so.13 (+ libcublasLt.so.13)
# and libcurand.so.10, and the driver's libcuda.so.1 (nvrtc is linked --as-needed and dropped).
# They are NOT carried (cuBLASLt alone is 540 MB): this script finds them on the machine (the
# CUDA 13 wheels of its PyTorch, or /usr/local/cuda) or in target/cuda-toolkit/cuda/lib when
# build.sh's toolkit is there, sets LD_LIBRARY_PATH to those directories (never to the stub
# libcuda of build.sh), and stops if one is missing. CSEEK_CUDA_LIBS=DIR:DIR puts directories
# first. Python 3 with tokenizers, numpy and safetensors (all in that machine's image) counts
# tokens and writes the random BERT-base.
#
# Output (at most 8 files, for the device tool): summary.txt (also printed), nvidia-smi.txt,
# parity.json, throughput.tsv, index.tsv, log.txt.
# A device call:  run(command="bash benches/gpu/run.sh", carry=["target/gpu-carry"],
#                     timeout_s=560)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/target/gpu-results}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=${WORK:-/tmp/cseek-gpu}
rm -rf "$WORK"
mkdir -p "$WORK"
BUDGET=${BUDGET:-480}
DEVICE=${DEVICE:-cuda}   # DEVICE=cpu BIN=target/release/cseek: a dry run of this script on a CPU
T0=$(date +%s)
LOG=$OUT/log.txt
: >"$LOG"
CARRY=$ROOT/target/gpu-carry

say() { printf '[run.sh +%ss] %s\n' "$(($(date +%s) - T0))" "$*" | tee -a "$LOG" >&2; }
left() { echo $((BUDGET - ($(date +%s) - T0))); }
# tmo WANT: a timeout of WANT seconds, or less when the budget is nearly spent (at least 5)
tmo() { local l; l=$(($(left) - 15)); ((l < $1)) && echo $((l > 5 ? l : 5)) || echo "$1"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# ---------------------------------------------------------------- inputs
BIN=${BIN:-$ROOT/target/cuda/release/cseek}
if [[ ! -x $BIN && -f $CARRY/cseek.xz ]]; then
  xz -dc "$CARRY/cseek.xz" >"$WORK/cseek" && chmod +x "$WORK/cseek" && BIN=$WORK/cseek
fi
MODEL=${MODEL:-$ROOT/target/models/all-MiniLM-L6-v2}
[[ -f $MODEL/model.safetensors ]] || MODEL=$CARRY/all-MiniLM-L6-v2-f16
CORPUS=${CORPUS:-$ROOT/target/bench-corpus}
if [[ ! -d $CORPUS && -f $CARRY/bench-corpus.tar.xz ]]; then
  tar -xJf "$CARRY/bench-corpus.tar.xz" -C "$WORK" && CORPUS=$WORK/bench-corpus
fi
say "binary $BIN, model $MODEL, corpus $CORPUS, budget ${BUDGET}s"
[[ -x $BIN ]] || { say "no binary: run benches/gpu/build.sh (and --pack) first"; exit 2; }
[[ -f $MODEL/model.safetensors ]] || { say "no model at $MODEL"; exit 2; }

# ---------------------------------------------------------------- run-time libraries
# the CUDA libraries the binary names (ldd lists them found or not), less the driver's libcuda
mapfile -t need < <(ldd "$BIN" | awk '$1 ~ /^lib(cudart|cublas|cublasLt|curand|nvrtc)\.so/ { print $1 }')
((${#need[@]})) || need=(libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10)
[[ " ${need[*]} " == *" libcublas.so.13 "* && " ${need[*]} " != *" libcublasLt.so.13 "* ]] && need+=(libcublasLt.so.13)
cands=()
IFS=: read -r -a extra <<<"${CSEEK_CUDA_LIBS:-}"
cands+=("${extra[@]}")
for py in python3 /opt/torch/.venv/bin/python3; do
  command -v "$py" >/dev/null || continue
  while read -r d; do cands+=("$d"); done < <("$py" - <<'EOF' 2>/dev/null
import glob, os, site, sys
roots = site.getsitepackages() + [site.getusersitepackages()] + sys.path
for r in roots:
    for d in sorted(glob.glob(os.path.join(r, "nvidia", "*", "lib")) + glob.glob(os.path.join(r, "nvidia", "*", "*", "lib"))):
        print(d)
EOF
)
done
cands+=(/usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda/lib
        "$ROOT/target/cuda-toolkit/cuda/lib")
libdirs=()
for lib in "${need[@]}"; do
  found=
  for d in "${cands[@]}"; do
    [[ -n $d && -e $d/$lib ]] && { found=$d; break; }
  done
  if [[ -z $found ]]; then
    say "MISSING $lib (looked in: ${cands[*]}); set CSEEK_CUDA_LIBS"
    exit 3
  fi
  [[ " ${libdirs[*]} " == *" $found "* ]] || libdirs+=("$found")
done
# never the stub libcuda.so of build.sh's toolkit: the driver's libcuda.so.1 must win
export LD_LIBRARY_PATH=$(IFS=:; echo "${libdirs[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
say "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
ldd "$BIN" | grep -E 'cuda|cublas|curand|nvrtc' | tee -a "$LOG" >&2
if ldd "$BIN" | grep -q 'not found'; then
  say "unresolved libraries:"; ldd "$BIN" | grep 'not found' | tee -a "$LOG" >&2; exit 3
fi

# ---------------------------------------------------------------- GPU
{
  nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
  echo
  nvidia-smi
} >"$OUT/nvidia-smi.txt" 2>&1
GPU=$(nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader 2>/dev/null | head -1)
say "GPU: ${GPU:-none found}"

# smoke test; also pays the driver's one-time PTX JIT: candle loads every kernel module when it
# opens the device, and the driver compiles the compute_90a PTX to SASS and caches it
export CUDA_CACHE_PATH=${CUDA_CACHE_PATH:-$WORK/nv-compute-cache} CUDA_CACHE_MAXSIZE=${CUDA_CACHE_MAXSIZE:-4294967296}
t=$(now)
if ! timeout "$(tmo 240)" "$BIN" embed --model "$MODEL" --device "$DEVICE" "read a file" "fn main() {}" \
    >"$WORK/smoke.json" 2>>"$LOG"; then
  say "cseek embed --device cuda FAILED (see log.txt)"; tail -20 "$LOG" >&2; exit 4
fi
SMOKE_S=$(since "$t")
say "first CUDA embed (context, model load, PTX JIT) ${SMOKE_S}s"

# ---------------------------------------------------------------- parity vs CPU
REPOS=${REPOS:-$(ls "$CORPUS")}
PARITY_REPO=${PARITY_REPO:-chi}
[[ -d $CORPUS/$PARITY_REPO ]] || PARITY_REPO=$(ls "$CORPUS" | head -1)
timeout "$(tmo 60)" "$BIN" index "$CORPUS/$PARITY_REPO" --index "$WORK/ix-parity" --model none -q \
  >>"$LOG" 2>&1
echo '{' >"$OUT/parity.json"
first=1
for dt in ${PARITY_DTYPES:-f16 bf16 f32}; do
  t=$(now)
  timeout "$(tmo 90)" "$BIN" model verify --model "$MODEL" --device cpu --dtype f32 \
    --against "$MODEL" --against-device "$DEVICE" --against-dtype "$dt" \
    --index "$WORK/ix-parity" --sample "${PARITY_SAMPLE:-200}" --json >"$WORK/parity-$dt.json" 2>>"$LOG"
  rc=$?
  ((first)) || echo ',' >>"$OUT/parity.json"
  first=0
  printf '"%s": ' "$dt" >>"$OUT/parity.json"
  if [[ -s $WORK/parity-$dt.json ]]; then cat "$WORK/parity-$dt.json" >>"$OUT/parity.json"; else echo null >>"$OUT/parity.json"; fi
  say "parity cpu f32 vs cuda $dt: exit $rc in $(since "$t")s"
done
echo '}' >>"$OUT/parity.json"

# ---------------------------------------------------------------- throughput
# Texts: the chunks of a few dev-corpus repos as the chunker cuts them (real code), one per
# line, in a fixed order. Tokens are counted with the model's tokenizer, truncated as cseek
# truncates: at MAX_TOKENS, passed to `cseek embed --max-tokens` (512, what a model directory
# gets by default: its max_position_embeddings).
TPUT_REPOS=${TPUT_REPOS:-$(ls "$CORPUS")}
files=()
for r in $TPUT_REPOS; do
  [[ -d $CORPUS/$r ]] || continue
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$CORPUS/$r" -type f \
    \( -name '*.rs' -o -name '*.py' -o -name '*.java' -o -name '*.go' -o -name '*.ts' -o -name '*.js' \
       -o -name '*.c' -o -name '*.h' -o -name '*.cs' -o -name '*.lua' -o -name '*.hs' -o -name '*.swift' \) \
    -print0 | sort -z)
done
"$BIN" chunks --json --text "${files[@]}" 2>>"$LOG" | python3 -c '
import json, random, sys
texts = [" ".join(json.loads(line)["text"].split()) for line in sys.stdin]
texts = [t for t in texts if t]
random.Random(15).shuffle(texts)  # mix the repos (languages) in a fixed order
print("\n".join(texts))' >"$WORK/texts-all.txt"
N_LARGE=${N_LARGE:-8192}
N_SMALL=${N_SMALL:-1024}
export MAX_TOKENS=${MAX_TOKENS:-512}
head -n "$N_LARGE" "$WORK/texts-all.txt" >"$WORK/texts-large.txt"
head -n "$N_SMALL" "$WORK/texts-all.txt" >"$WORK/texts-small.txt"
N_LARGE=$(wc -l <"$WORK/texts-large.txt")
N_SMALL=$(wc -l <"$WORK/texts-small.txt")
# tokens <file> <model dir>: tokens cseek feeds the model for these texts
tokens() {
  python3 - "$1" "$2" <<'EOF'
import json, os, sys
from tokenizers import Tokenizer
texts, model = sys.argv[1], sys.argv[2]
tok = Tokenizer.from_file(os.path.join(model, "tokenizer.json"))
tok.no_truncation(); tok.no_padding()
limit = int(os.environ.get("MAX_TOKENS", "512"))
lines = open(texts).read().splitlines()
print(sum(min(len(e.ids), limit) for e in tok.encode_batch(lines)))
EOF
}

# A random-weight BERT-base (110M parameters) next to MiniLM: cseek::embed::testkit's
# bert_base() size, but with MiniLM's real tokenizer so that token counts are real.
BASE=$WORK/bert-base-random
python3 - "$MODEL" "$BASE" <<'EOF' >>"$LOG" 2>&1
import json, os, shutil, sys
import numpy as np
from safetensors.numpy import save_file
src, dst = sys.argv[1], sys.argv[2]
H, L, A, I = 768, 12, 12, 3072
os.makedirs(os.path.join(dst, "1_Pooling"), exist_ok=True)
for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
          "modules.json", "sentence_bert_config.json"):
    if os.path.exists(os.path.join(src, f)):
        shutil.copy(os.path.join(src, f), dst)
cfg = json.load(open(os.path.join(src, "config.json")))
cfg.update(hidden_size=H, num_hidden_layers=L, num_attention_heads=A, intermediate_size=I,
           _name_or_path="random-bert-base")
json.dump(cfg, open(os.path.join(dst, "config.json"), "w"), indent=1)
pool = json.load(open(os.path.join(src, "1_Pooling", "config.json")))
pool["word_embedding_dimension"] = H
json.dump(pool, open(os.path.join(dst, "1_Pooling", "config.json"), "w"), indent=1)
rng = np.random.default_rng(15)
V, P = cfg["vocab_size"], cfg["max_position_embeddings"]
m = lambda *s: (rng.standard_normal(s, dtype=np.float32) * 0.02).astype(np.float16)
z = lambda n: np.zeros(n, np.float16)
o = lambda n: np.ones(n, np.float16)
t = {"embeddings.word_embeddings.weight": m(V, H), "embeddings.position_embeddings.weight": m(P, H),
     "embeddings.token_type_embeddings.weight": m(cfg["type_vocab_size"], H),
     "embeddings.LayerNorm.weight": o(H), "embeddings.LayerNorm.bias": z(H),
     "embeddings.position_ids": np.arange(P, dtype=np.int64)[None, :],
     "pooler.dense.weight": m(H, H), "pooler.dense.bias": z(H)}
for l in range(L):
    p = f"encoder.layer.{l}."
    for n in ("query", "key", "value"):
        t[p + f"attention.self.{n}.weight"] = m(H, H); t[p + f"attention.self.{n}.bias"] = z(H)
    t[p + "attention.output.dense.weight"] = m(H, H); t[p + "attention.output.dense.bias"] = z(H)
    t[p + "attention.output.LayerNorm.weight"] = o(H); t[p + "attention.output.LayerNorm.bias"] = z(H)
    t[p + "intermediate.dense.weight"] = m(I, H); t[p + "intermediate.dense.bias"] = z(I)
    t[p + "output.dense.weight"] = m(H, I); t[p + "output.dense.bias"] = z(H)
    t[p + "output.LayerNorm.weight"] = o(H); t[p + "output.LayerNorm.bias"] = z(H)
save_file(t, os.path.join(dst, "model.safetensors"))
print("bert-base-random parameters:", sum(v.size for k, v in t.items() if k != "embeddings.position_ids"))
EOF
[[ -f $BASE/model.safetensors ]] || say "could not write the random BERT-base (numpy/safetensors missing?): skipped"

# flops_per_token <model dir> <tokens> <texts>: matmul FLOPs per token, 2 x the non-embedding
# parameters of the linear layers, 2*(4H^2 + 2HI) per layer, plus attention 4*S*H per layer at
# the mean sequence length S (the same count as benches/embed.rs)
flops_per_token() {
  python3 - "$1" "$2" "$3" <<'EOF'
import json, os, sys
c = json.load(open(os.path.join(sys.argv[1], "config.json")))
H, I, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
S = int(sys.argv[2]) / max(1, int(sys.argv[3]))
print(L * (2 * (4 * H * H + 2 * H * I) + 4 * S * H))
EOF
}

PEAK_TFLOPS=${PEAK_TFLOPS:-989}   # H200 SXM dense f16/bf16 tensor-core peak (datasheet)
printf 'model\tdtype\ttexts_small\ttexts_large\ttokens_small\ttokens_large\tseconds_small\tseconds_large\ttexts_per_s\ttokens_per_s\tflops_per_token\ttflops\tpct_of_peak\n' >"$OUT/throughput.tsv"
for spec in "minilm:$MODEL:${MINILM_DTYPES:-f16 bf16 f32}" "bert-base-random:$BASE:${BASE_DTYPES:-f16 bf16}"; do
  IFS=: read -r name dir dtypes <<<"$spec"
  [[ -f $dir/model.safetensors ]] || continue
  tok_s=$(tokens "$WORK/texts-small.txt" "$dir" 2>>"$LOG")
  tok_l=$(tokens "$WORK/texts-large.txt" "$dir" 2>>"$LOG")
  fpt=$(flops_per_token "$dir" "$tok_l" "$N_LARGE")
  for dt in $dtypes; do
    (($(left) > 60)) || { say "budget: skipping $name $dt"; continue; }
    # the marginal rate between two runs (N_SMALL and N_LARGE texts) removes start-up: CUDA
    # context, model load; JSON output of the vectors stays in (it is part of `cseek embed`)
    t=$(now); timeout "$(tmo 120)" "$BIN" embed --model "$dir" --device "$DEVICE" --dtype "$dt" \
      --max-tokens "$MAX_TOKENS" - <"$WORK/texts-small.txt" >/dev/null 2>>"$LOG"; rs=$?; s_small=$(since "$t")
    t=$(now); timeout "$(tmo 240)" "$BIN" embed --model "$dir" --device "$DEVICE" --dtype "$dt" \
      --max-tokens "$MAX_TOKENS" - <"$WORK/texts-large.txt" >/dev/null 2>>"$LOG"; rl=$?; s_large=$(since "$t")
    if ((rs != 0 || rl != 0)); then
      say "$name $dt: cseek embed failed (exit $rs/$rl)"
      printf '%s\t%s\tFAILED\n' "$name" "$dt" >>"$OUT/throughput.tsv"
      continue
    fi
    awk -v n="$name" -v d="$dt" -v ns="$N_SMALL" -v nl="$N_LARGE" -v ts="${tok_s:-0}" -v tl="${tok_l:-0}" \
        -v ss="$s_small" -v sl="$s_large" -v f="$fpt" -v peak="$PEAK_TFLOPS" 'BEGIN {
      dt = sl - ss; if (dt <= 0) dt = 1e-9
      tps = (tl - ts) / dt; xps = (nl - ns) / dt; tf = tps * f / 1e12
      printf "%s\t%s\t%d\t%d\t%d\t%d\t%.3f\t%.3f\t%.0f\t%.0f\t%.3g\t%.2f\t%.3f\n", n, d, ns, nl, ts, tl, ss, sl, xps, tps, f, tf, 100 * tf / peak }' \
      >>"$OUT/throughput.tsv"
    say "$name $dt: $N_SMALL texts ${s_small}s, $N_LARGE texts ${s_large}s"
  done
done

# ---------------------------------------------------------------- index time of the dev corpus
printf 'repo\tseconds_wall\tfiles\tchunks\tchunks_embedded\tindex_seconds\tembed_line\n' >"$OUT/index.tsv"
for r in $REPOS; do
  [[ -d $CORPUS/$r ]] || continue
  (($(left) > 25)) || { say "budget: index of $r and later repos skipped"; break; }
  t=$(now)
  timeout "$(tmo 120)" "$BIN" index "$CORPUS/$r" --index "$WORK/ix/$r" --model "$MODEL" \
    --device "$DEVICE" --timings >"$WORK/index-$r.txt" 2>&1
  rc=$?
  wall=$(since "$t")
  cat "$WORK/index-$r.txt" >>"$LOG"
  # "indexed 82 files, 598 chunks (…; 593 chunks embedded, …) … in 1.34 s -> …"
  line=$(grep -m1 '^indexed' "$WORK/index-$r.txt")
  files=$(sed -nE 's/^indexed ([0-9]+) files.*/\1/p' <<<"$line")
  chunks=$(sed -nE 's/^indexed [0-9]+ files, ([0-9]+) chunks.*/\1/p' <<<"$line")
  emb=$(sed -nE 's/.* ([0-9]+) chunks embedded.*/\1/p' <<<"$line")
  secs=$(sed -nE 's/.* in ([0-9.]+) s .*/\1/p' <<<"$line")
  embl=$(grep -m1 -oE '\([^)]*s embedding\)' "$WORK/index-$r.txt" | tr -d '()')
  ((rc == 0)) || embl="FAILED exit $rc"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$wall" "${files:-}" "${chunks:-}" "${emb:-}" "${secs:-}" "${embl:-}" >>"$OUT/index.tsv"
  say "index $r: ${secs:-?} s (${chunks:-?} chunks, ${embl:-})"
done

# ---------------------------------------------------------------- summary
{
  echo "cseek GPU run (issue 15), $(date -u +%FT%TZ)"
  echo "GPU: ${GPU:-?}; binary: $BIN; model: $MODEL"
  echo "first CUDA embed (context + load + PTX JIT): ${SMOKE_S}s"
  echo
  echo "parity: CPU f32 vs $DEVICE, ${PARITY_SAMPLE:-200} chunks of $PARITY_REPO (min / mean cosine, pass at 0.99)"
  python3 - "$OUT/parity.json" <<'EOF'
import json, sys
for dt, r in json.load(open(sys.argv[1])).items():
    print(f"  {dt:5s} " + ("no result" if r is None else f"min {r['min']:.6f}  mean {r['mean']:.6f}  pass {r['pass']}  ({r['texts']} texts)"))
EOF
  echo
  echo "throughput (cseek embed, marginal between $N_SMALL and $N_LARGE real code chunks; peak ${PEAK_TFLOPS} TFLOP/s)"
  awk -F'\t' 'NR == 1 { next } $3 == "FAILED" { printf "  %-17s %-5s FAILED\n", $1, $2; next }
    { printf "  %-17s %-5s %9.0f texts/s %11.0f tokens/s %8.2f TFLOP/s %6.2f%% of peak\n", $1, $2, $9, $10, $12, $13 }' "$OUT/throughput.tsv"
  echo
  echo "index time, --device $DEVICE, model $(basename "$MODEL") (cseek index --timings)"
  awk -F'\t' 'NR == 1 { next } { n++; s += $6; c += $4; e += $5
    printf "  %-12s %8s s %7s chunks  %s\n", $1, $6, $4, $7 } END {
    if (n) printf "  total: %d repos, %d chunks (%d embedded), %.2f s\n", n, c, e, s }' "$OUT/index.tsv"
  echo
  echo "elapsed $(($(date +%s) - T0)) s of a ${BUDGET} s budget"
} | tee "$OUT/summary.txt"
