#!/usr/bin/env bash
# Start a milvus-lite gRPC server on loopback for the Milvus backend's tests
# (tests/milvus.rs) and for trying `--backend milvus://127.0.0.1:PORT`.
# Usage: bash tests/milvus/start.sh PORT [DATA_DIR]
#   Installs milvus-lite (pinned) into target/milvus-venv if needed, starts
#   `python -m milvus_lite server` on 127.0.0.1:PORT with its data in DATA_DIR (default
#   target/milvus-data/PORT; kept across restarts), waits until the port answers, and
#   prints the server's PID on stdout (its log: DATA_DIR.log). Stop it with
#   tests/milvus/stop.sh PID.
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT="${1:?usage: tests/milvus/start.sh PORT [DATA_DIR]}"
DATA="${2:-target/milvus-data/$PORT}"
VENV="${CSEEK_MILVUS_VENV:-target/milvus-venv}"

bash tests/python-venv.sh "$VENV" "milvus-lite==3.2.2" "pymilvus==3.0.2" >&2

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "port $PORT on 127.0.0.1 is already in use" >&2
  exit 1
fi
mkdir -p "$(dirname "$DATA")"
LOG="$DATA.log"
# `python -m milvus_lite server`, with SIGINT restored (a background job starts with it
# ignored): stop.sh interrupts it, and it shuts down cleanly.
nohup "$VENV/bin/python" -c '
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from milvus_lite.cmdline import main
sys.exit(main(sys.argv[1:]))
' server --data-dir "$DATA" --host 127.0.0.1 --port "$PORT" >"$LOG" 2>&1 </dev/null &
PID=$!
for _ in $(seq 1 300); do
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "milvus-lite exited before answering; its log ($LOG):" >&2
    cat "$LOG" >&2
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "milvus-lite listening on 127.0.0.1:$PORT (pid $PID, data $DATA)" >&2
    echo "$PID"
    exit 0
  fi
  sleep 0.2
done
echo "milvus-lite did not answer on 127.0.0.1:$PORT within 60 s; its log ($LOG):" >&2
cat "$LOG" >&2
kill "$PID" 2>/dev/null || true
exit 1
