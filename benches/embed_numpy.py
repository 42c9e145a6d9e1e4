#!/usr/bin/env python3
"""The numpy peer of `cargo bench --bench embed`: all-MiniLM-L6-v2 forward pass in float32
with numpy's BLAS (OpenBLAS in the PyPI wheels), same shapes, tokens/s and GFLOP/s.

    python3 benches/embed_numpy.py target/models/all-MiniLM-L6-v2 [--seconds 1.5] [--check]

Inputs are random token ids (tokenisation is not timed, unlike the Rust bench, which
includes it; it is a few % there). The thread count is numpy's BLAS default (all cores),
or OPENBLAS_NUM_THREADS. `--check` also prints the mean-pooled, normalised vector of one
text so it can be compared with `cseek embed` (exact erf via the same rational
approximation as the Rust kernels: numpy has no erf and scipy is not required).
"""

import argparse
import json
import struct
import sys
import time

import numpy as np

SHAPES = [(64, 64), (32, 128), (32, 256), (1, 16)]


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__" or v["dtype"] != "F32":
            continue  # e.g. the I64 `position_ids` buffer
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype=np.float32).reshape(v["shape"])
    return out


def erf(x):
    """Eigen's rational erf approximation (max error ~1e-7), vectorised."""
    x = np.clip(x, -4.0, 4.0)
    x2 = x * x
    p = np.float32(-2.72614225801306e-10)
    for c in (2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
              -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02):
        p = p * x2 + np.float32(c)
    p = p * x
    q = np.float32(-1.45660718464996e-05)
    for c in (-2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
              -1.42647390514189e-02):
        q = q * x2 + np.float32(c)
    return p / q


def layer_norm(x, w, b, eps):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b


class MiniLM:
    def __init__(self, d):
        cfg = json.load(open(f"{d}/config.json"))
        w = load_safetensors(f"{d}/model.safetensors")
        w = {k.removeprefix("bert."): v for k, v in w.items()}
        self.h = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.eps = cfg.get("layer_norm_eps", 1e-12)
        self.inter = cfg["intermediate_size"]
        self.n_layers = cfg["num_hidden_layers"]
        self.vocab = cfg["vocab_size"]
        self.word = w["embeddings.word_embeddings.weight"]
        self.pos = w["embeddings.position_embeddings.weight"]
        self.tt = w["embeddings.token_type_embeddings.weight"][0]
        self.eln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}."
            g = lambda n: w[p + n]
            qkv_w = np.ascontiguousarray(np.concatenate(
                [g(f"attention.self.{n}.weight") for n in ("query", "key", "value")]).T)
            qkv_b = np.concatenate([g(f"attention.self.{n}.bias") for n in ("query", "key", "value")])
            self.layers.append(dict(
                qkv_w=qkv_w, qkv_b=qkv_b,
                o_w=np.ascontiguousarray(g("attention.output.dense.weight").T),
                o_b=g("attention.output.dense.bias"),
                ln1=(g("attention.output.LayerNorm.weight"), g("attention.output.LayerNorm.bias")),
                f1_w=np.ascontiguousarray(g("intermediate.dense.weight").T),
                f1_b=g("intermediate.dense.bias"),
                f2_w=np.ascontiguousarray(g("output.dense.weight").T),
                f2_b=g("output.dense.bias"),
                ln2=(g("output.LayerNorm.weight"), g("output.LayerNorm.bias")),
            ))

    def forward(self, ids, lengths):
        b, l = ids.shape
        h, nh = self.h, self.heads
        d = h // nh
        x = self.word[ids] + self.pos[:l][None] + self.tt
        x = layer_norm(x, *self.eln, self.eps).reshape(b * l, h)
        mask = np.where(np.arange(l)[None, :] < np.array(lengths)[:, None], 0.0, -1e9)
        mask = mask.astype(np.float32)[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(d))
        for L in self.layers:
            qkv = x @ L["qkv_w"] + L["qkv_b"]
            qkv = qkv.reshape(b, l, 3, nh, d).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            s = (q @ k.transpose(0, 1, 3, 2)) * scale + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            c = (s @ v).transpose(0, 2, 1, 3).reshape(b * l, h)
            x = layer_norm(x + c @ L["o_w"] + L["o_b"], *L["ln1"], self.eps)
            f = x @ L["f1_w"] + L["f1_b"]
            f = 0.5 * f * (1.0 + erf(f * np.float32(0.7071067811865476)))
            x = layer_norm(x + f @ L["f2_w"] + L["f2_b"], *L["ln2"], self.eps)
        return x.reshape(b, l, h)

    def flops_per_token(self, seq):
        h, i = self.h, self.inter
        return self.n_layers * (2 * (4 * h * h + 2 * h * i) + 4 * seq * h)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--check", nargs="*", type=int, help="token ids of one text")
    a = ap.parse_args()
    m = MiniLM(a.model_dir)
    if a.check:
        ids = np.array([a.check])
        hs = m.forward(ids, [len(a.check)])[0].mean(0)
        print(json.dumps((hs / np.linalg.norm(hs)).tolist()))
        return
    rng = np.random.default_rng(0)
    print("| peer | batch×seq | tokens/s | GFLOP/s | ms/batch |")
    print("|---|---|---:|---:|---:|")
    for b, l in SHAPES:
        ids = rng.integers(1000, m.vocab, size=(b, l))
        m.forward(ids, [l] * b)
        times = []
        for _ in range(a.repeats):
            start, runs = time.perf_counter(), 0
            while runs < 2 or time.perf_counter() - start < a.seconds:
                m.forward(ids, [l] * b)
                runs += 1
            times.append((time.perf_counter() - start) / runs)
        per = sorted(times)[len(times) // 2]
        tok = b * l / per
        print(f"| numpy {np.__version__} (OpenBLAS) | {b}×{l} | {tok:.0f} | "
              f"{tok * m.flops_per_token(l) / 1e9:.0f} | {per * 1e3:.2f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
