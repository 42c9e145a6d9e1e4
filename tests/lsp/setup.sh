#!/usr/bin/env bash
# Prepare the Python LSP client used by tests/lsp.rs: a venv with `pygls` (its
# LanguageClient speaks LSP to a server over stdio) under target/lsp-venv (or $1).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash tests/python-venv.sh "${1:-target/lsp-venv}" "pygls==2.1.1"
