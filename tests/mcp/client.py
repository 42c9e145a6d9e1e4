"""End-to-end check of `cseek mcp` with the official Python MCP client (stdio).

Usage: client.py CSEEK_BINARY REPO_DIR

REPO_DIR must already be indexed (`cseek index REPO_DIR --model none`). The script
lists the tools, searches, finds related code, checks that bad arguments are MCP errors
that leave the connection usable, reads the index status, and reindexes after adding a
file. Any failed check raises, so the exit status is non-zero. Run by tests/mcp.rs.
"""

import asyncio
import os
import sys

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError


def text_of(result):
    return "\n".join(getattr(c, "text", "") for c in result.content)


async def expect_error(session, name, arguments, fragment):
    try:
        result = await session.call_tool(name, arguments)
    except MCPError as e:
        message = str(e)
        assert fragment in message, f"{name}({arguments}): error {message!r} lacks {fragment!r}"
        print(f"ok: {name}({arguments}) -> error: {message}")
        return
    raise AssertionError(f"{name}({arguments}) should fail, got {text_of(result)!r} error={result.is_error}")


async def main(binary, repo):
    params = StdioServerParameters(command=binary, args=["mcp", repo], env=dict(os.environ))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            assert init.server_info.name == "cseek", init.server_info

            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert set(tools) >= {"search", "find_related", "index_status", "reindex"}, tools
            assert "query" in tools["search"].input_schema["properties"]
            print("ok: tools", sorted(tools))

            # search: the expected file, structured and as text.
            r = await session.call_tool("search", {"query": "parse config file", "top_k": 5})
            assert not r.is_error, text_of(r)
            paths = [h["path"] for h in r.structured_content["results"]]
            assert paths and paths[0] == "src/config.py", paths
            assert "src/config.py:" in text_of(r), text_of(r)
            print("ok: search ->", paths)

            # filters and the size cap.
            r = await session.call_tool(
                "search", {"query": "connect", "language": "rust", "path": "src/**", "max_chars": 300}
            )
            hits = r.structured_content["results"]
            assert hits and all(h["path"].endswith(".rs") for h in hits), hits
            assert len(text_of(r)) <= 400, len(text_of(r))
            print("ok: filtered search ->", [h["path"] for h in hits])

            # find_related from a place: the other retry loop, not the chunk itself.
            r = await session.call_tool("find_related", {"path": "src/net.py", "line": 3, "top_k": 3})
            assert not r.is_error, text_of(r)
            hits = r.structured_content["results"]
            assert hits, text_of(r)
            assert not any(h["path"] == "src/net.py" and h["start_line"] <= 3 <= h["end_line"] for h in hits), hits
            assert hits[0]["path"] == "src/client.py", hits
            print("ok: find_related(path, line) ->", [(h["path"], h["symbol"]) for h in hits])

            r = await session.call_tool("find_related", {"code": "for attempt in range(retries): backoff"})
            assert r.structured_content["results"], text_of(r)
            print("ok: find_related(code) ->", [h["path"] for h in r.structured_content["results"]])

            # Bad arguments: MCP errors, and the server keeps answering.
            await expect_error(session, "search", {"query": "x", "mode": "fuzzy"}, "unknown mode")
            await expect_error(session, "search", {"query": "x", "top_k": 10**6}, "top_k")
            await expect_error(session, "search", {"query": "   "}, "empty")
            await expect_error(session, "search", {"query": "x", "language": "klingon"}, "unknown language")
            await expect_error(session, "search", {"query": "x", "path": "src/[a"}, "glob")
            await expect_error(session, "find_related", {"path": "src/net.py", "line": 9999}, "line 9999")
            await expect_error(session, "find_related", {"path": "nope.py", "line": 1}, "not in the index")
            await expect_error(session, "find_related", {}, "path")
            r = await session.call_tool("search", {"query": "parse config file"})
            assert r.structured_content["results"], "server stopped answering after errors"
            print("ok: still answering after errors")

            r = await session.call_tool("index_status", {})
            st = r.structured_content
            assert st["exists"] and st["files"] == 4 and st["current"], st
            print("ok: index_status ->", text_of(r))

            # reindex after adding a file: the new function is found.
            with open(os.path.join(repo, "src", "mailer.py"), "w") as f:
                f.write("def send_invoice_email(customer):\n    return smtp_deliver(customer.address)\n")
            r = await session.call_tool("reindex", {})
            s = r.structured_content
            assert s["files_changed"] == 1 and s["files"] == 5, s
            print("ok: reindex ->", text_of(r))
            r = await session.call_tool("search", {"query": "send_invoice_email"})
            paths = [h["path"] for h in r.structured_content["results"]]
            assert paths and paths[0] == "src/mailer.py", paths
            print("ok: new function found after reindex")
    print("all MCP checks passed")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
