#!/usr/bin/env bash
# A Python venv with pinned packages, for the tests that drive cseek with real clients
# (tests/mcp.rs: the `mcp` package; tests/lsp.rs: `pygls`).
# Usage: bash tests/python-venv.sh VENV REQUIREMENT...   (e.g. target/lsp-venv pygls==2.1.1)
# Idempotent: a venv already holding exactly these requirements is kept.
set -euo pipefail
VENV="$1"
shift
WANT="$*"
STAMP="$VENV/.cseek-requirements"

if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ]; then
  echo "$WANT already in $VENV"
  exit 0
fi
python3 -c "import venv, ensurepip" 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv; }
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q "$@"
echo "$WANT" > "$STAMP"
echo "$WANT installed in $VENV"
