#!/usr/bin/env bash
# Ranking constants on code the dev suite does not have: for each directory, index it with
# the static model, score `cseek eval self` (doc sentence -> definition and name ->
# definition queries mined from the index) with the defaults, then let `--fit` search
# the ranking flags. The fitted flags show which constants the mined queries would move;
# mined queries target one definition, so what moves here (file decay above all) need not
# help file-level questions.
#
#   bash benches/self-check.sh DIR [DIR …]
# Environment: CSEEK (binary, default target/release/cseek), MODEL (default
# target/models/minilm-static-256), OUT (index directory root, default target/self-check).
set -euo pipefail
CSEEK=${CSEEK:-target/release/cseek}
MODEL=${MODEL:-target/models/minilm-static-256}
OUT=${OUT:-target/self-check}
mkdir -p "$OUT"
for dir in "$@"; do
  index="$OUT/$(echo "$dir" | tr '/' '_')"
  "$CSEEK" index "$dir" --index "$index" --model "$MODEL" > /dev/null
  echo "== $dir"
  "$CSEEK" eval self --index "$index" | grep '^| \(doc\|symbol\|all\) '
  "$CSEEK" eval self --index "$index" --fit | grep '^\(objective\|best\)'
done
