#!/usr/bin/env bash
# Prepare the Python clients used by tests/serve.rs: a venv with the official `openai` and
# `ollama` packages under target/serve-venv (or $1). tests/serve/client.py calls a running
# `cseek serve` with both.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash tests/python-venv.sh "${1:-target/serve-venv}" "openai==3.51.0" "ollama==0.6.3"
