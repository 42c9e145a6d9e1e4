#!/usr/bin/env bash
# Build cseek with the `cuda` feature on a machine with no GPU and no CUDA install (issue 15).
#
#   bash benches/gpu/build.sh            # -> target/cuda/release/cseek
#   CUDA_COMPUTE_CAP=80 bash benches/gpu/build.sh   # another GPU generation (default 90 = H100/H200)
#   eval "$(bash benches/gpu/build.sh --env)"       # only install the toolkit; print its exports
#   bash benches/gpu/build.sh --pack                # and pack target/gpu-carry/ for a device call
#   bash benches/gpu/build.sh --bin cseek           # other arguments go to cargo build
#
# --pack: what benches/gpu/run.sh needs on a GPU machine, under the 64 MiB a device call
# carries (`carry: ["target/gpu-carry"]`): cseek.xz (the binary, stripped), the MiniLM
# weights rounded to f16 (45 MB; f32 is 88 MB and does not compress), and as many dev-corpus
# repositories as fit (bench-corpus.tar.xz; PACK_REPOS="a b" names them, PACK_LIMIT_MB=62
# caps the total with the tracked tree).
#
# The toolkit comes from NVIDIA's wheels on PyPI (pip download + unzip, no pip install):
# nvcc, crt headers, NVVM (cicc, libdevice), the runtime headers and libcudart, CCCL, and the
# libraries cudarc links (cuBLAS, cuBLASLt, cuRAND, NVRTC). All of it goes to
# target/cuda-toolkit/ (0.65 GB of wheels + 1.2 GB unpacked); the build goes to target/cuda/ so the normal
# build in target/release is never touched. Idempotent: a second run downloads and unpacks
# nothing and only re-runs cargo. Not part of CI.
#
# Why CUDA 13.0 and not 12.x: the GPU machine this is meant for (an H200, see
# benches/README.md "GPU (issue 15)") has driver 580 (= CUDA 13.0) and ships the CUDA 13
# runtime libraries (libcublas.so.13, libcublasLt.so.13, libcudart.so.13, libcurand.so.10)
# with its PyTorch. A binary linked against CUDA 12 would need the 12.x
# libraries there (cuBLASLt alone is ~500 MB: it cannot travel with the checkout), and PTX from
# an nvcc newer than the driver (13.1+) would not load. CUDA 13.0's libraries run on any
# driver >= 580.
#
# What the build scripts read (candle-kernels 0.11.1 via cudaforge 0.1.6, cudarc 0.19.10):
#   - nvcc: found on PATH (cudaforge; cudarc runs `nvcc --version` to pick its CUDA API version);
#     CUDA_ROOT/bin/nvcc.profile sets cicc/libdevice/include paths relative to nvcc.
#   - CUDA_COMPUTE_CAP: cudaforge otherwise asks nvidia-smi, which does not exist here.
#     90 becomes sm_90a/compute_90a (Hopper only); 80 makes PTX the driver can JIT on any
#     GPU >= sm_80, but the statically compiled (MoE/GGUF) kernels then only run on sm_8x.
#   - CUDA_HOME / CUDA_PATH / CUDA_ROOT: cudarc's link search (lib, lib/stubs, lib64, …).
#   - Link time: candle-kernels links -lcudart (its libmoe.a is real device code); candle-core
#     turns on cudarc's `dynamic-linking`, so the binary links -lcuda -lnvrtc -lcurand
#     -lcublas -lcublasLt (nothing is dlopen'ed; no driver is needed to build). The result
#     needs libcuda.so.1, libcudart.so.13, libcublas.so.13 (+ libcublasLt.so.13) and
#     libcurand.so.10 at run time; nvrtc is dropped by --as-needed.
#     libcuda.so is the driver and is in no wheel: this script compiles a stub
#     (lib/stubs/libcuda.so, soname libcuda.so.1, one function per cu* symbol cudarc declares,
#     each returning CUDA_ERROR_STUB_LIBRARY), as a full toolkit's lib64/stubs does. At run
#     time the driver's own libcuda.so.1 is used.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

TK=${CSEEK_CUDA_TOOLKIT:-$ROOT/target/cuda-toolkit}
WHEELS=$TK/wheels
CUDA=$TK/cuda                      # the assembled CUDA_HOME (= the wheels' nvidia/cu13)
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/cuda}
JOBS=${JOBS:-2}
PACK=0
args=()
for a in "$@"; do
  if [[ $a == --pack ]]; then PACK=1; else args+=("$a"); fi
done
set -- ${args[@]+"${args[@]}"}

# CUDA 13.0 Update 2, one release across all wheels (nvcc/crt/nvvm/nvrtc 13.0.88, runtime
# 13.0.96, CCCL 13.0.85, cuBLAS 13.1.0.3 and cuRAND 10.4.0.35 ship with 13.0).
WHEEL_PINS=(
  nvidia-cuda-nvcc==13.0.88
  nvidia-cuda-crt==13.0.88
  nvidia-nvvm==13.0.88
  nvidia-cuda-runtime==13.0.96
  nvidia-cuda-cccl==13.0.85
  nvidia-cuda-nvrtc==13.0.88
  nvidia-cublas==13.1.0.3
  nvidia-curand==10.4.0.35
)

say() { printf '[build.sh] %s\n' "$*" >&2; }

# 1. a host C++ compiler for nvcc (it compiles candle-kernels' libmoe.a for real)
if ! command -v g++ >/dev/null; then
  say "installing g++ (apt)"
  apt-get update -qq && apt-get install -y -qq g++
fi

# 2. the wheels (pip checks each file's hash against the index)
mkdir -p "$WHEELS"
for pin in "${WHEEL_PINS[@]}"; do
  name=${pin%%==*}; ver=${pin##*==}
  file_prefix=$(printf '%s' "$name" | tr '-' '_')-$ver-
  if ! ls "$WHEELS/$file_prefix"*.whl >/dev/null 2>&1; then
    say "downloading $pin"
    python3 -m pip download -q --no-deps --only-binary=:all: --disable-pip-version-check \
      -d "$WHEELS" "$pin"
  fi
done

# 3. unpack into one CUDA_HOME (every wheel puts its files under nvidia/cu13/)
stamp="$TK/.unpacked"
want=$(printf '%s\n' "${WHEEL_PINS[@]}")
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  say "unpacking wheels into $CUDA"
  rm -rf "$TK/unpacked" "$CUDA"
  mkdir -p "$TK/unpacked"
  for pin in "${WHEEL_PINS[@]}"; do
    name=${pin%%==*}; ver=${pin##*==}
    unzip -q -o "$WHEELS/$(printf '%s' "$name" | tr '-' '_')-$ver-"*.whl 'nvidia/*' -d "$TK/unpacked"
  done
  mv "$TK/unpacked/nvidia/cu13" "$CUDA"
  rm -rf "$TK/unpacked"
  chmod +x "$CUDA"/bin/* "$CUDA"/nvvm/bin/*

  # the layout of a full toolkit where the build scripts and nvcc.profile look
  ln -sfn lib "$CUDA/lib64"
  mkdir -p "$CUDA/targets/x86_64-linux"
  ln -sfn ../../include "$CUDA/targets/x86_64-linux/include"
  ln -sfn ../../lib "$CUDA/targets/x86_64-linux/lib"
  # unversioned names for -lfoo (wheels ship only the sonames)
  for so in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libnvrtc.so.13; do
    ln -sfn "$so" "$CUDA/lib/${so%.so.*}.so"
  done

  printf '%s\n' "${WHEEL_PINS[@]}" > "$stamp"
fi

# libcuda.so stub for the linker: one function per driver symbol cudarc's bindings can reference
# (and every one cuda.h declares), each returning CUDA_ERROR_STUB_LIBRARY (34), as NVIDIA's
# lib64/stubs/libcuda.so does. Never on LD_LIBRARY_PATH at run time: the driver's libcuda.so.1.
if [[ ! -f $CUDA/lib/stubs/libcuda.so ]]; then
  reg=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.10 2>/dev/null | head -1 || true)
  if [[ -z $reg ]]; then
    cargo fetch --locked >/dev/null
    reg=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.10 | head -1)
  fi
  mkdir -p "$CUDA/lib/stubs"
  { grep -ohE '^pub unsafe fn cu[A-Za-z0-9_]+' "$reg/src/driver/sys/mod.rs" | awk '{print $4}'
    grep -ohE 'CUDAAPI cu[A-Za-z0-9_]+\(' "$CUDA/include/cuda.h" | sed 's/CUDAAPI //; s/($//'
  } | sort -u | sed 's/.*/int &(void) { return 34; }/' >"$CUDA/lib/stubs/cuda_stub.c"
  cc -shared -fPIC -O0 -Wl,-soname,libcuda.so.1 -o "$CUDA/lib/stubs/libcuda.so" "$CUDA/lib/stubs/cuda_stub.c"
  say "libcuda stub: $(wc -l <"$CUDA/lib/stubs/cuda_stub.c") symbols"
fi

# 4. the environment the build scripts read
export CUDA_HOME=$CUDA CUDA_PATH=$CUDA CUDA_ROOT=$CUDA CUDA_TOOLKIT_ROOT_DIR=$CUDA
export PATH=$CUDA/bin:$PATH
# ld resolves the libraries' own NEEDED entries (libcublas -> libcublasLt) through this
export LD_LIBRARY_PATH=$CUDA/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export CUDAFORGE_THREADS=${CUDAFORGE_THREADS:-$JOBS}
if [[ ${1:-} == --env ]]; then
  for v in CUDA_HOME CUDA_PATH CUDA_ROOT CUDA_TOOLKIT_ROOT_DIR PATH LD_LIBRARY_PATH CUDA_COMPUTE_CAP CARGO_TARGET_DIR CUDAFORGE_THREADS; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
  exit 0
fi
say "nvcc: $(nvcc --version | sed -n 4p)"
say "CUDA_HOME=$CUDA_HOME CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP CARGO_TARGET_DIR=$CARGO_TARGET_DIR"

# 5. the build
t0=$(date +%s)
nice -n "${NICE:-19}" cargo build --release --locked --features cuda -j "$JOBS" "$@"
t1=$(date +%s)

BIN=$CARGO_TARGET_DIR/release/cseek
say "built in $((t1 - t0)) s: $BIN ($(du -h "$BIN" | cut -f1))"
say "shared libraries it needs (libcuda.so.1 is the driver's, on the GPU machine):"
ldd "$BIN" | grep -E 'cuda|cublas|curand|nvrtc|stdc\+\+' >&2 || true
say "it cannot run here (no driver); on a GPU machine: bash benches/gpu/run.sh"
((PACK)) || { echo "$BIN"; exit 0; }

# 6. the carry for a device call
CARRY=$ROOT/target/gpu-carry
mkdir -p "$CARRY"
say "packing $CARRY"
if [[ ! -f $CARRY/cseek.xz || $BIN -nt $CARRY/cseek.xz ]]; then
  strip -o "$CARRY/cseek" "$BIN"
  xz -6 -T"$JOBS" -f "$CARRY/cseek"
fi
SRC_MODEL=${SRC_MODEL:-$ROOT/target/models/all-MiniLM-L6-v2}
F16=$CARRY/all-MiniLM-L6-v2-f16
if [[ ! -f $F16/model.safetensors || $SRC_MODEL/model.safetensors -nt $F16/model.safetensors ]]; then
  [[ -f $SRC_MODEL/model.safetensors ]] || bash tests/fetch-minilm.sh "$SRC_MODEL"
  rm -rf "$F16" && mkdir -p "$F16"
  (cd "$SRC_MODEL" && cp -r config.json tokenizer.json tokenizer_config.json special_tokens_map.json \
     vocab.txt modules.json sentence_bert_config.json 1_Pooling "$F16"/)
  # safetensors F32 -> F16, every other tensor as it is (standard library only)
  python3 - "$SRC_MODEL/model.safetensors" "$F16/model.safetensors" <<'PY'
import json, struct, sys
src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
meta = header.pop("__metadata__", None)
out, chunks, off = {}, [], 0
for name, t in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
    a, b = t["data_offsets"]
    raw, dtype = data[a:b], t["dtype"]
    if dtype == "F32":
        k = len(raw) // 4
        raw, dtype = struct.pack(f"<{k}e", *struct.unpack(f"<{k}f", raw)), "F16"
    out[name] = {"dtype": dtype, "shape": t["shape"], "data_offsets": [off, off + len(raw)]}
    chunks.append(raw)
    off += len(raw)
if meta is not None:
    out["__metadata__"] = meta
h = json.dumps(out, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
with open(dst, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    for c in chunks:
        f.write(c)
PY
fi
# the corpus: the named repos, else the smallest first while they fit
CORPUS=${CORPUS:-$ROOT/target/bench-corpus}
limit=$(( ${PACK_LIMIT_MB:-62} * 1024 * 1024 ))
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
used=$(( tree + $(du -cb "$CARRY/cseek.xz" "$F16" | tail -1 | cut -f1) ))
rm -f "$CARRY/bench-corpus.tar.xz"
if [[ -d $CORPUS ]]; then
  if [[ -n ${PACK_REPOS:-} ]]; then repos=($PACK_REPOS); else
    mapfile -t repos < <(cd "$CORPUS" && du -sb -- */ | sort -n | cut -f2 | tr -d /)
  fi
  picked=()
  for r in "${repos[@]}"; do
    [[ -d $CORPUS/$r ]] || continue
    # each repo compressed alone: a slight over-estimate of its share of the one archive
    size=$(tar -C "$CORPUS" -cf - --exclude=.cseek "$r" | xz -6 -T"$JOBS" | wc -c)
    if (( used + size <= limit )); then picked+=("$r"); used=$((used + size)); else
      say "corpus: $r ($((size / 1024)) KiB packed) does not fit"; fi
  done
  if ((${#picked[@]})); then
    tar -C "$CORPUS" -cf - --exclude=.cseek --transform 's,^,bench-corpus/,' "${picked[@]}" \
      | xz -6 -T"$JOBS" >"$CARRY/bench-corpus.tar.xz"
  fi
  say "corpus repos packed: ${picked[*]:-none}"
fi
say "carry: $(du -sh "$CARRY" | cut -f1) in $CARRY (+ $((tree / 1024)) KiB of tracked files); limit 64 MiB"
du -ab "$CARRY" | sort -n | tail -4 >&2
echo "$BIN"
