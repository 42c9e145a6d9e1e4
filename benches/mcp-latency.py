"""MCP round-trip latency of `cseek mcp` (issue 13), with the official Python MCP client.

Usage: target/mcp-venv/bin/python benches/mcp-latency.py CSEEK_BINARY REPO_DIR [N]

REPO_DIR must already be indexed (e.g. `cseek index REPO_DIR --model DIR`). Starts the
server over stdio, times spawn -> `initialize` answered, the first `search` (opens the
index and, in hybrid mode, loads the query model), then N more searches (varied queries,
default 50) and prints p50/p95/max of the round trip as the client sees it.
"""

import asyncio
import os
import statistics
import sys
import time

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

QUERIES = [
    "spawn a task", "read from a socket", "timeout", "mutex lock", "channel send",
    "JoinHandle", "shutdown the runtime", "interval tick", "buffered reader", "semaphore permits",
]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def main(binary, repo, n):
    params = StdioServerParameters(command=binary, args=["mcp", repo], env=dict(os.environ))
    t0 = time.perf_counter()
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            t_init = time.perf_counter() - t0
            t = time.perf_counter()
            await session.call_tool("search", {"query": "read a file", "top_k": 10})
            t_first = time.perf_counter() - t
            times = []
            for i in range(n):
                q = QUERIES[i % len(QUERIES)]
                t = time.perf_counter()
                r = await session.call_tool("search", {"query": q, "top_k": 10})
                times.append(time.perf_counter() - t)
                assert not r.is_error, r
    ms = [x * 1e3 for x in times]
    print(f"start -> initialize answered: {t_init * 1e3:.1f} ms")
    print(f"first search (opens the index, loads the query model): {t_first * 1e3:.1f} ms")
    print(f"search round trip over {n}: p50 {statistics.median(ms):.2f} ms, "
          f"p95 {pct(ms, 95):.2f} ms, max {max(ms):.2f} ms")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 50))
