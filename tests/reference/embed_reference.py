#!/usr/bin/env python3
"""Independent numpy reference for cseek's embedding architectures.

Written from the published architecture descriptions (HF modeling code conventions, the
model cards, the project's checkpoint notes), not from cseek's Rust code. It reads a
fixture directory (config.json, model.safetensors, inputs.json with token ids and the
pooling recipe), runs each sequence alone (batch 1, no padding) in float64, and writes
expected.json. Needs only numpy.

usage: python3 tests/reference/embed_reference.py tests/fixtures/embed/*/
"""
import json
import math
import struct
import sys
from pathlib import Path

import numpy as np

_erf = np.vectorize(math.erf)


def load_safetensors(path):
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    dtypes = {"F32": np.float32, "F16": np.float16, "F64": np.float64}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        s, e = meta["data_offsets"]
        arr = np.frombuffer(data[base + s : base + e], dtype=dtypes[meta["dtype"]])
        out[name] = arr.reshape(meta["shape"]).astype(np.float64)
    return out


def strip_prefix(w, prefix):
    return {k[len(prefix) :]: v for k, v in w.items() if k.startswith(prefix)}


# ---- building blocks -------------------------------------------------------------------
def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def rms_norm(x, g, eps):
    return x / np.sqrt((x**2).mean(-1, keepdims=True) + eps) * g


def gelu(x):  # exact (erf)
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def silu(x):
    return x / (1.0 + np.exp(-x))


def softmax(s):
    s = s - s.max(-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(-1, keepdims=True)


def linear(x, w, b=None):  # nn.Linear: w is [out, in]
    y = x @ w.T
    return y if b is None else y + b


def split_heads(x, nh):  # [L, H] -> [nh, L, hd]
    L, H = x.shape
    return x.reshape(L, nh, H // nh).transpose(1, 0, 2)


def merge_heads(x):  # [nh, L, hd] -> [L, H]
    nh, L, hd = x.shape
    return x.transpose(1, 0, 2).reshape(L, nh * hd)


def attention(q, k, v, nh, scale, bias=None, rope=None):
    q, k, v = split_heads(q, nh), split_heads(k, nh), split_heads(v, nh)
    if rope is not None:
        q, k = rope(q), rope(k)
    s = q @ k.transpose(0, 2, 1) * scale
    if bias is not None:
        s = s + bias
    return merge_heads(softmax(s) @ v)


# ---- architectures ----------------------------------------------------------------------
def bert(w, c, ids, roberta):
    H, nh, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"]
    L = len(ids)
    if roberta:  # HF create_position_ids_from_input_ids: cumsum(ids != pad) + pad
        pad = c["pad_token_id"]
        pos = np.arange(1, L + 1) + pad
    else:
        pos = np.arange(L)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][pos]
    x = x + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    act = {"gelu": gelu, "gelu_new": gelu_tanh}[c["hidden_act"]]
    for i in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        g = lambda n: w[p + n]
        q = linear(x, g("attention.self.query.weight"), g("attention.self.query.bias"))
        k = linear(x, g("attention.self.key.weight"), g("attention.self.key.bias"))
        v = linear(x, g("attention.self.value.weight"), g("attention.self.value.bias"))
        a = attention(q, k, v, nh, 1.0 / math.sqrt(H // nh))
        a = linear(a, g("attention.output.dense.weight"), g("attention.output.dense.bias"))
        x = layer_norm(x + a, g("attention.output.LayerNorm.weight"), g("attention.output.LayerNorm.bias"), eps)
        m = act(linear(x, g("intermediate.dense.weight"), g("intermediate.dense.bias")))
        m = linear(m, g("output.dense.weight"), g("output.dense.bias"))
        x = layer_norm(x + m, g("output.LayerNorm.weight"), g("output.LayerNorm.bias"), eps)
    return x


def nomic_bert(w, c, ids):
    H, nh, eps = c["n_embd"], c["n_head"], c["layer_norm_epsilon"]
    hd = H // nh
    L = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["emb_ln.weight"], w["emb_ln.bias"], eps)
    inv = 1.0 / (c["rotary_emb_base"] ** (np.arange(0, hd, 2) / hd))
    ang = np.arange(L)[:, None] * inv[None, :]  # [L, hd/2]
    cos, sin = np.cos(ang), np.sin(ang)

    def rope(t):  # GPT-NeoX rotate_half, non-interleaved
        t1, t2 = t[..., : hd // 2], t[..., hd // 2 :]
        return np.concatenate([t1 * cos - t2 * sin, t2 * cos + t1 * sin], axis=-1)

    for i in range(c["n_layer"]):
        p = f"encoder.layers.{i}."
        qkv = x @ w[p + "attn.Wqkv.weight"].T
        q, k, v = qkv[:, :H], qkv[:, H : 2 * H], qkv[:, 2 * H :]
        a = attention(q, k, v, nh, 1.0 / math.sqrt(hd), rope=rope) @ w[p + "attn.out_proj.weight"].T
        h = layer_norm(x + a, w[p + "norm1.weight"], w[p + "norm1.bias"], eps)
        m = (h @ w[p + "mlp.fc11.weight"].T) * silu(h @ w[p + "mlp.fc12.weight"].T)
        m = m @ w[p + "mlp.fc2.weight"].T
        x = layer_norm(h + m, w[p + "norm2.weight"], w[p + "norm2.bias"], eps)
    return x


def alibi_slopes(n):
    def pow2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]

    if math.log2(n).is_integer():
        return pow2(n)
    p = 2 ** math.floor(math.log2(n))
    return pow2(p) + pow2(2 * p)[0::2][: n - p]


def jina_bert(w, c, ids):
    H, nh, eps, I = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"], c["intermediate_size"]
    L = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    slopes = np.array(alibi_slopes(nh))
    dist = np.abs(np.arange(L)[None, :] - np.arange(L)[:, None])
    alibi = -slopes[:, None, None] * dist[None]
    for i in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        g = lambda n: w[p + n]
        ln = lambda t, n: layer_norm(t, g(n + ".weight"), g(n + ".bias"), eps)
        q = ln(linear(x, g("attention.self.query.weight"), g("attention.self.query.bias")), "attention.self.layer_norm_q")
        k = ln(linear(x, g("attention.self.key.weight"), g("attention.self.key.bias")), "attention.self.layer_norm_k")
        v = linear(x, g("attention.self.value.weight"), g("attention.self.value.bias"))
        ctx = attention(q, k, v, nh, 1.0 / math.sqrt(H // nh), bias=alibi)
        a = ln(linear(ctx, g("attention.output.dense.weight"), g("attention.output.dense.bias")) + x,
               "attention.output.LayerNorm")
        h = ln(x + a, "layer_norm_1")
        u = h @ g("mlp.up_gated_layer.weight").T
        m = linear(u[:, :I] * gelu(u[:, I:]), g("mlp.down_layer.weight"), g("mlp.down_layer.bias"))
        x = ln(h + m, "layer_norm_2")
    return x


def t5_bucket(rel, num_buckets, max_distance):
    # HF T5Attention._relative_position_bucket, bidirectional, float32 log like torch
    num_buckets //= 2
    ret = np.where(rel > 0, num_buckets, 0)
    n = np.abs(rel)
    max_exact = num_buckets // 2
    nf = np.maximum(n, 1).astype(np.float32)
    large = max_exact + (
        np.log(nf / np.float32(max_exact)) / np.float32(math.log(max_distance / max_exact))
        * np.float32(num_buckets - max_exact)
    ).astype(np.int64)
    large = np.minimum(large, num_buckets - 1)
    return ret + np.where(n < max_exact, n, large)


def t5_encoder(w, c, ids):
    nh, eps = c["num_heads"], c["layer_norm_epsilon"]
    L = len(ids)
    x = w["shared.weight"][ids]
    rel = np.arange(L)[None, :] - np.arange(L)[:, None]  # memory - query
    b = t5_bucket(rel, c["relative_attention_num_buckets"], c["relative_attention_max_distance"])
    table = w["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]  # [buckets, heads]
    bias = table[b].transpose(2, 0, 1)  # [heads, L, L]
    for i in range(c["num_layers"]):
        p = f"encoder.block.{i}.layer."
        n = rms_norm(x, w[p + "0.layer_norm.weight"], eps)
        q, k, v = (n @ w[p + f"0.SelfAttention.{m}.weight"].T for m in "qkv")
        x = x + attention(q, k, v, nh, 1.0, bias=bias) @ w[p + "0.SelfAttention.o.weight"].T
        n = rms_norm(x, w[p + "1.layer_norm.weight"], eps)
        x = x + np.maximum(n @ w[p + "1.DenseReluDense.wi.weight"].T, 0) @ w[p + "1.DenseReluDense.wo.weight"].T
    return rms_norm(x, w["encoder.final_layer_norm.weight"], eps)


def codesage(w, c, ids):
    H, nh, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_epsilon"]
    L = len(ids)
    x = w["wte.weight"][ids] + w["wpe.weight"][np.arange(L)]
    for i in range(c["num_hidden_layers"]):
        p = f"h.{i}."
        conv = lambda t, n: t @ w[p + n + ".weight"] + w[p + n + ".bias"]  # GPT-2 Conv1D [in, out]
        a = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = conv(a, "attn.c_attn")
        q, k, v = qkv[:, :H], qkv[:, H : 2 * H], qkv[:, 2 * H :]
        x = x + conv(attention(q, k, v, nh, 1.0 / math.sqrt(H // nh)), "attn.c_proj")
        m = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        x = x + conv(gelu_tanh(conv(m, "mlp.c_fc")), "mlp.c_proj")
    return layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps)


# ---- pooling and driver -----------------------------------------------------------------
def l2(v):
    return v / max(np.linalg.norm(v), 1e-12)


def embed_one(arch, w, c, ids, spec):
    ids = np.array(ids, dtype=np.int64)
    if arch in ("bert", "roberta"):
        h = bert(w, c, ids, arch == "roberta")
    elif arch == "nomic-bert":
        h = nomic_bert(w, c, ids)
    elif arch == "jina-bert":
        h = jina_bert(w, c, ids)
    elif arch == "t5-encoder":
        h = t5_encoder(w, c, ids)
    elif arch == "codesage":
        h = codesage(w, c, ids)
    else:
        raise SystemExit(f"unknown arch {arch}")
    pooled = {"mean": lambda: h.mean(0), "cls": lambda: h[0], "last": lambda: h[-1]}[spec["pooling"]]()
    if arch == "t5-encoder" and "proj.weight" in w:
        pooled = linear(pooled, w["proj.weight"], w["proj.bias"])
    return pooled


def run(fixture):
    d = Path(fixture)
    spec = json.loads((d / "inputs.json").read_text())
    c = json.loads((d / "config.json").read_text())
    w = strip_prefix(load_safetensors(d / "model.safetensors"), spec["key_prefix"])
    arch = spec["arch"]
    pooled = [embed_one(arch, w, c, ids, spec) for ids in spec["ids"]]
    out = {"embeddings": [(l2(p) if spec["normalize"] else p).tolist() for p in pooled]}
    m = spec.get("matryoshka")
    if m:
        res = []
        for p in pooled:
            if m["layer_norm"]:  # nomic: F.layer_norm(x, (dim,)) without affine, eps 1e-5
                p = (p - p.mean()) / np.sqrt(p.var() + 1e-5)
            res.append(l2(p[: m["dim"]]).tolist())
        out["matryoshka_embeddings"] = res
    out["generator"] = "tests/reference/embed_reference.py (numpy float64, unpadded, one text at a time)"
    (d / "expected.json").write_text(json.dumps(out, indent=1))
    print(f"{d}: {len(pooled)} vectors of {len(out['embeddings'][0])} dims")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for f in sys.argv[1:]:
        run(f)
