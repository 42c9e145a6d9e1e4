#!/usr/bin/env bash
# Stop a milvus-lite server started by tests/milvus/start.sh: SIGINT (it shuts down
# cleanly and releases its data directory), SIGKILL after 10 s.
# Usage: bash tests/milvus/stop.sh PID
set -uo pipefail
PID="${1:?usage: tests/milvus/stop.sh PID}"
kill -INT "$PID" 2>/dev/null || exit 0
for _ in $(seq 1 50); do
  kill -0 "$PID" 2>/dev/null || exit 0
  sleep 0.2
done
kill -KILL "$PID" 2>/dev/null || true
