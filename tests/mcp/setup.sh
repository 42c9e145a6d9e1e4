#!/usr/bin/env bash
# Prepare the Python MCP client used by tests/mcp.rs: a venv with the official `mcp`
# package (its stdio client) under target/mcp-venv (or $1). Idempotent: a venv that already
# imports the pinned version is kept.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${1:-target/mcp-venv}"
MCP_VERSION="2.3.0"

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('mcp') != '$MCP_VERSION')" 2>/dev/null; then
  echo "mcp $MCP_VERSION already in $VENV"
  exit 0
fi
python3 -c "import venv, ensurepip" 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv; }
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q "mcp==$MCP_VERSION"
echo "mcp $MCP_VERSION installed in $VENV"
