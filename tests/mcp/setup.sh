#!/usr/bin/env bash
# Prepare the Python MCP client used by tests/mcp.rs: a venv with the official `mcp`
# package (its stdio client) under target/mcp-venv (or $1).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash tests/python-venv.sh "${1:-target/mcp-venv}" "mcp==2.3.0"
