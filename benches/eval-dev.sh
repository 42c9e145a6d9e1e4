#!/usr/bin/env bash
# Run cseek's development evals: the 18-repo suite (../shared/bench), the held-out suite
# (benches/heldout: 8 codebases in languages the dev suite lacks, never tuned on) and the
# two BEIR sets (../shared/evalsets/cosqa-dev, csn-ruby-valid). Reports go to target/eval/.
#
# Usage (from anywhere):  bash benches/eval-dev.sh [extra `cseek eval` flags, e.g. --mode lexical --rebuild]
# Environment: SHARED (default: ../shared relative to the repo root), CORPUS (default:
# target/bench-corpus), HELDOUT (default: target/heldout-corpus), OUT (default: target/eval).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

shared="${SHARED:-../shared}"
corpus="${CORPUS:-target/bench-corpus}"
heldout="${HELDOUT:-target/heldout-corpus}"
out="${OUT:-target/eval}"

if [[ ! -f "$shared/bench/dev-repos.json" ]]; then
    echo "error: $shared/bench/dev-repos.json not found; set SHARED to the shared directory" >&2
    exit 1
fi

# The fetch script is idempotent (about 1 s when everything is present).
bash "$shared/bench/fetch-dev-corpus.sh" "$corpus" >&2
bash benches/heldout/fetch.sh "$heldout" >&2

cargo build --release --bin cseek
cseek="$repo_root/target/release/cseek"
mkdir -p "$out"

echo "== repos: dev-repos.json" >&2
"$cseek" eval repos --suite "$shared/bench" --repos-file dev-repos.json --corpus "$corpus" \
    --json "$out/dev.json" --results-out "$out/dev-results.jsonl" "$@"

echo "== repos: benches/heldout" >&2
"$cseek" eval repos --suite benches/heldout --repos-file repos.json --corpus "$heldout" \
    --json "$out/heldout.json" --results-out "$out/heldout-results.jsonl" "$@"

for set in cosqa-dev csn-ruby-valid; do
    echo "== beir: $set" >&2
    "$cseek" eval beir "$shared/evalsets/$set" \
        --json "$out/$set.json" --results-out "$out/$set-results.jsonl" "$@"
done

echo "reports in $out/: dev.json, heldout.json, cosqa-dev.json, csn-ruby-valid.json (+ *-results.jsonl)" >&2
