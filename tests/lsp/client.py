"""End-to-end check of `cseek lsp` with pygls's LanguageClient (stdio).

Usage: client.py CSEEK_BINARY REPO_DIR

REPO_DIR must already be indexed (`cseek index REPO_DIR --model none`). The server is
started without a path, so it must serve the workspace the client names in
`initialize`. The script asks workspace/symbol (by symbol and in plain words) and
cseek/search, opens, changes and closes a buffer and checks that searches follow the
unsaved text, saves a new file and waits until it is searchable, sends bad requests and
checks they are errors that leave the connection usable, then shuts down. Any failed
check raises, so the exit status is non-zero. Run by tests/lsp.rs.
"""

import asyncio
import os
import pathlib
import sys
import time

from lsprotocol import types as t
from pygls.exceptions import JsonRpcException
from pygls.lsp.client import LanguageClient


def field(obj, name):
    """A field of a result that pygls may hand back as a dict or as an object."""
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


async def symbols(client, query):
    found = await client.workspace_symbol_async(t.WorkspaceSymbolParams(query=query))
    return [(s.name, s.location.uri, s.kind) for s in found or []]


async def search(client, params):
    result = await client.protocol.send_request_async("cseek/search", params)
    return [
        (field(r, "path"), field(r, "symbol"), field(r, "text")) for r in field(result, "results")
    ]


async def expect_error(client, method, params, code):
    try:
        result = await client.protocol.send_request_async(method, params)
    except JsonRpcException as e:
        assert e.code == code, f"{method}({params}): error code {e.code}, wanted {code}: {e}"
        print(f"ok: {method}({params}) -> error {e.code}: {e.message}")
        return
    raise AssertionError(f"{method}({params}) should fail, got {result!r}")


async def main(binary, repo):
    repo = pathlib.Path(repo).resolve()
    config = repo / "src" / "config.py"
    client = LanguageClient("cseek-lsp-test", "1")
    logs = []
    client.feature(t.WINDOW_LOG_MESSAGE)(lambda params: logs.append(params.message))

    await client.start_io(binary, "lsp", "--model", "none", cwd="/", env=dict(os.environ))
    init = await client.initialize_async(
        t.InitializeParams(
            capabilities=t.ClientCapabilities(),
            workspace_folders=[t.WorkspaceFolder(uri=repo.as_uri(), name="repo")],
        )
    )
    assert init.server_info.name == "cseek", init.server_info
    assert init.capabilities.workspace_symbol_provider, init.capabilities
    client.initialized(t.InitializedParams())
    print("ok: initialize", init.server_info.name, init.server_info.version)

    # workspace/symbol, by name and in plain words.
    found = await symbols(client, "parse_config")
    assert found and found[0][0] == "parse_config", found
    assert found[0][1] == config.as_uri(), found
    assert found[0][2] == t.SymbolKind.Function, found
    print("ok: workspace/symbol parse_config ->", found[0])
    found = await symbols(client, "retry a request with backoff")
    names = [f[0] for f in found[:2]]
    assert set(names) == {"fetch_with_retries", "post_with_retries"}, found
    print("ok: workspace/symbol in plain words ->", names)
    assert await symbols(client, "") == []

    # cseek/search: ranked chunks with their text.
    hits = await search(client, {"query": "connect to the database", "topK": 3})
    assert hits and hits[0][0] == "src/db.rs" and "Connection::open" in hits[0][2], hits
    hits = await search(client, {"query": "retries", "languages": ["rust"]})
    assert all(h[0].endswith(".rs") for h in hits), hits
    print("ok: cseek/search")

    # Unsaved buffers: what the editor shows is what is searched.
    uri = config.as_uri()
    client.text_document_did_open(
        t.DidOpenTextDocumentParams(
            text_document=t.TextDocumentItem(
                uri=uri,
                language_id="python",
                version=1,
                text="def load_settings(path):\n    return open(path).read()\n",
            )
        )
    )
    found = await symbols(client, "load_settings")
    assert found and found[0][0] == "load_settings" and found[0][1] == uri, found
    assert "parse_config" not in [f[0] for f in await symbols(client, "parse_config")]
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                t.TextDocumentContentChangeWholeDocument(
                    text="def read_settings_twice(path):\n    return open(path).read() * 2\n"
                )
            ],
        )
    )
    found = await symbols(client, "read_settings_twice")
    assert found and found[0][0] == "read_settings_twice", found
    assert "load_settings" not in [f[0] for f in await symbols(client, "load_settings")]
    client.text_document_did_close(
        t.DidCloseTextDocumentParams(text_document=t.TextDocumentIdentifier(uri=uri))
    )
    found = await symbols(client, "parse_config")
    assert found and found[0][0] == "parse_config", found
    print("ok: didOpen / didChange / didClose follow the buffer")

    # A saved file is indexed in the background, then searchable.
    extra = repo / "src" / "extra.py"
    extra.write_text("def compress_archive_entries(entries):\n    return sorted(entries)\n")
    client.text_document_did_save(
        t.DidSaveTextDocumentParams(text_document=t.TextDocumentIdentifier(uri=extra.as_uri()))
    )
    deadline = time.monotonic() + 30
    while True:
        found = await symbols(client, "compress_archive_entries")
        if found and found[0][0] == "compress_archive_entries":
            break
        assert time.monotonic() < deadline, f"saved file never became searchable; logs: {logs}"
        await asyncio.sleep(0.1)
    assert any("index updated" in m for m in logs), logs
    print("ok: didSave -> indexed:", [m for m in logs if "index updated" in m][-1])

    # Bad requests are errors; the connection stays usable.
    await expect_error(client, "cseek/search", {"query": ""}, -32602)
    await expect_error(client, "cseek/search", {"query": "x", "mode": "bogus"}, -32602)
    await expect_error(client, "cseek/search", {"query": "x", "topK": 10**9}, -32602)
    await expect_error(client, "cseek/search", {"nonsense": 1}, -32602)
    await expect_error(client, "cseek/nope", {}, -32601)
    assert (await symbols(client, "parse_config"))[0][0] == "parse_config"

    await client.shutdown_async(None)
    client.exit(None)
    await asyncio.wait_for(client.stop(), 10)
    # pygls keeps the server process in a private field; it must have exited by itself.
    code = client._server.returncode
    assert code == 0, f"server exit status {code}"
    print("ok: shutdown, exit status", code)
    print("all LSP checks passed")


if __name__ == "__main__":
    asyncio.run(main(os.path.abspath(sys.argv[1]), sys.argv[2]))
