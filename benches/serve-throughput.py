"""Throughput of `cseek serve` (issue 15) against `cseek embed -` on the same texts.

Usage: python3 benches/serve-throughput.py CSEEK_BINARY MODEL [N_TEXTS] [SOURCE_DIR]

MODEL is what `--model` takes (a registry name or a model directory). The texts are
N_TEXTS (default 512) windows of 8 lines of the Rust sources under SOURCE_DIR (default
src/), joined into one line each (`cseek embed -` reads one text per line): code chunks
of realistic length. Prints:

- `cseek embed -`: the whole process (model load included) and the load alone (one text),
  so the steady rate is (N - 1) / (t_all - t_one);
- `cseek serve`: texts/s through POST /v1/embeddings with 1, 4 and 16 concurrent clients
  (threads with keep-alive connections), each request carrying 1 or 16 texts, and how many
  requests shared a model call on average (from /health); the server is started once,
  warmed up with one request, and every request must answer 200.

Only the standard library: no venv needed.
"""

import http.client
import json
import os
import queue
import subprocess
import sys
import threading
import time


def texts_from(source_dir, n):
    lines = []
    for root, _, files in sorted(os.walk(source_dir)):
        for name in sorted(files):
            if name.endswith(".rs"):
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    lines.extend(l.strip() for l in f if l.strip())
    windows = [" ".join(lines[i:i + 8]) for i in range(0, len(lines) - 8, 8)]
    assert len(windows) >= n, f"only {len(windows)} windows under {source_dir}"
    return windows[:n]


def time_embed(binary, model, texts):
    t = time.perf_counter()
    out = subprocess.run(
        [binary, "embed", "--model", model, "--device", "cpu", "--offline", "-"],
        input="\n".join(texts) + "\n", capture_output=True, text=True, check=True,
    )
    elapsed = time.perf_counter() - t
    assert len(json.loads(out.stdout)["vectors"]) == len(texts)
    return elapsed


def start_server(binary, model):
    proc = subprocess.Popen(
        [binary, "serve", "--model", model, "--device", "cpu", "--offline", "--addr", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    for line in proc.stderr:
        if line.startswith("cseek serve: ready on http://"):
            host, port = line.split()[4][len("http://"):].rsplit(":", 1)
            return proc, host, int(port), line.strip()
    raise SystemExit(f"cseek serve did not start (exit {proc.wait()})")


def get(host, port, path):
    c = http.client.HTTPConnection(host, port)
    c.request("GET", path)
    return json.loads(c.getresponse().read())


def run_clients(host, port, name, texts, clients, per_request):
    requests = queue.Queue()
    for i in range(0, len(texts), per_request):
        requests.put(texts[i:i + per_request])
    failures = []

    def client():
        c = http.client.HTTPConnection(host, port, timeout=600)
        while True:
            try:
                batch = requests.get_nowait()
            except queue.Empty:
                return
            body = json.dumps({"model": name, "input": batch, "encoding_format": "base64"})
            c.request("POST", "/v1/embeddings", body, {"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            if r.status != 200 or len(json.loads(data)["data"]) != len(batch):
                failures.append((r.status, data[:200]))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t
    assert not failures, failures[:3]
    return elapsed


def main(binary, model, n, source_dir):
    texts = texts_from(source_dir, n)
    chars = sum(len(t) for t in texts) / len(texts)
    print(f"{n} texts, {chars:.0f} characters on average, model {model}")
    t_one = min(time_embed(binary, model, texts[:1]) for _ in range(3))
    t_all = time_embed(binary, model, texts)
    print(f"cseek embed -: {t_all:.2f} s for all ({n / t_all:.1f} texts/s), "
          f"{t_one:.2f} s for one text (load); steady {(n - 1) / (t_all - t_one):.1f} texts/s")
    proc, host, port, ready = start_server(binary, model)
    print(ready)
    try:
        name = get(host, port, "/v1/models")["data"][0]["id"]
        run_clients(host, port, name, texts[:16], 1, 16)  # warm-up
        print("| clients | texts per request | seconds | texts/s | requests per model round |")
        print("|---:|---:|---:|---:|---:|")
        for per_request in (1, 16):
            for clients in (1, 4, 16):
                before = get(host, port, "/health")["queue"]
                s = run_clients(host, port, name, texts, clients, per_request)
                after = get(host, port, "/health")["queue"]
                merged = (after["requests"] - before["requests"]) / (after["rounds"] - before["rounds"])
                print(f"| {clients} | {per_request} | {s:.2f} | {n / s:.1f} | {merged:.1f} |", flush=True)
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 2:
        raise SystemExit(__doc__)
    main(args[0], args[1], int(args[2]) if len(args) > 2 else 512, args[3] if len(args) > 3 else "src")
