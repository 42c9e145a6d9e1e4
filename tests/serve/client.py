"""End-to-end check of `cseek serve` with the official `openai` and `ollama` Python clients.

Usage: client.py CSEEK_BINARY MODEL_DIR

Starts `cseek serve --model MODEL_DIR` on a free loopback port, embeds a few texts with
`openai.OpenAI(...).embeddings.create` (its default base64 encoding and float) and with
`ollama.Client(...).embed` / `.embeddings`, lists the models through both clients, checks
that a wrong model name and token-id input are errors the clients raise, stops the server
with Ctrl-C (SIGINT) and checks that it exits 0. The last line printed is JSON:
{"texts", "openai_default", "openai_float", "ollama_embed", "ollama_embeddings"}, which
tests/serve.rs compares with `cseek embed`. Any failed check raises, so the exit status is
non-zero.
"""

import json
import os
import signal
import subprocess
import sys

import ollama
import openai

TEXTS = [
    "def parse_config(path):\n    return open(path).read()",
    "sort a list in python",
    "héllo wörld ✓",
]


def start(binary, model_dir):
    proc = subprocess.Popen(
        [binary, "serve", "--model", model_dir, "--device", "cpu", "--offline", "--addr", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    for line in proc.stderr:
        if line.startswith("cseek serve: ready on http://"):
            return proc, line.split()[4]
        seen.append(line)
    proc.wait()
    raise AssertionError(f"cseek serve never got ready (exit {proc.returncode}):\n{''.join(seen)}")


def expect(error_type, fragment, call):
    try:
        call()
    except error_type as e:
        assert fragment in str(e), f"{error_type.__name__}: {e!s} lacks {fragment!r}"
        print(f"ok: {error_type.__name__}: {e!s}")
        return
    raise AssertionError(f"expected {error_type.__name__}")


def main(binary, model_dir):
    proc, base = start(binary, model_dir)
    try:
        name = os.path.basename(model_dir.rstrip("/"))
        out = {"texts": TEXTS}

        oa = openai.OpenAI(base_url=base + "/v1", api_key="not-needed", max_retries=0)
        # No encoding_format: the client asks for base64 and decodes it itself.
        r = oa.embeddings.create(model=name, input=TEXTS)
        assert [d.index for d in r.data] == [0, 1, 2], r
        assert r.usage.prompt_tokens > 0 and r.usage.total_tokens == r.usage.prompt_tokens, r.usage
        assert r.model == name, r.model
        out["openai_default"] = [d.embedding for d in r.data]
        r = oa.embeddings.create(model=name, input=TEXTS, encoding_format="float")
        out["openai_float"] = [d.embedding for d in r.data]
        assert [m.id for m in oa.models.list()] == [name]
        print("ok: openai embeddings, models")
        expect(openai.NotFoundError, "is not served here", lambda: oa.embeddings.create(model="gpt-4", input="x"))
        expect(openai.BadRequestError, "token ids", lambda: oa.embeddings.create(model=name, input=[[1, 2, 3]]))

        ol = ollama.Client(host=base)
        r = ol.embed(model=name, input=TEXTS)
        assert r.model == name and r.prompt_eval_count > 0, r
        out["ollama_embed"] = [list(v) for v in r.embeddings]
        out["ollama_embeddings"] = list(ol.embeddings(model=name, prompt=TEXTS[0]).embedding)
        assert [m.model for m in ol.list().models] == [name]
        print("ok: ollama embed, embeddings, list")
        try:
            ol.embed(model="llama3", input="x")
            raise AssertionError("expected ollama.ResponseError")
        except ollama.ResponseError as e:
            assert e.status_code == 404 and "is not served here" in e.error, (e.status_code, e.error)
            print(f"ok: ollama.ResponseError {e.status_code}: {e.error}")
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    rest = proc.stderr.read()
    assert code == 0 and "cseek serve: stopped" in rest, (code, rest)
    print("ok: stopped on SIGINT")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
