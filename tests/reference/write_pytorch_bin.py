#!/usr/bin/env python3
"""Convert a model.safetensors into a PyTorch `pytorch_model.bin` without torch.

Several code models (CodeBERT, CodeT5+ embedding, CodeSage) publish only
`pytorch_model.bin`. This writes the same zip layout `torch.save` produces (protocol-2
pickle of an OrderedDict whose tensors reduce to `torch._utils._rebuild_tensor_v2` over
persistent `('storage', torch.FloatStorage, key, 'cpu', numel)` records, raw little-endian
storages under `archive/data/<key>`), so cseek's .bin loading can be tested offline.

usage: python3 tests/reference/write_pytorch_bin.py SRC/model.safetensors DEST/pytorch_model.bin
"""
import collections
import json
import pickle
import struct
import sys
import types
import zipfile

import numpy as np

# Stand-ins so the pickle names the same globals torch.save writes.
_torch = types.ModuleType("torch")
_utils = types.ModuleType("torch._utils")
sys.modules.setdefault("torch", _torch)
sys.modules.setdefault("torch._utils", _utils)


def _rebuild_tensor_v2(*args):  # never called: only its name is pickled
    raise NotImplementedError


_rebuild_tensor_v2.__module__ = "torch._utils"
_rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
_utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class FloatStorage:
    pass


FloatStorage.__module__ = "torch"
_torch.FloatStorage = FloatStorage
_torch._utils = _utils


class _Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class _Tensor:
    def __init__(self, key, arr):
        self.storage = _Storage(key, arr.size)
        self.shape = tuple(arr.shape)

    def __reduce__(self):
        stride, acc = [], 1
        for d in reversed(self.shape):
            stride.insert(0, acc)
            acc *= d
        return (_rebuild_tensor_v2, (self.storage, 0, self.shape, tuple(stride), False, collections.OrderedDict()))


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return None


def read_safetensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = collections.OrderedDict()
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", "only f32 supported"
        s, e = meta["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + s : 8 + n + e], dtype="<f4").reshape(meta["shape"])
    return out


def main(src, dest):
    tensors = read_safetensors(src)
    state = collections.OrderedDict()
    storages = {}
    for i, (name, arr) in enumerate(tensors.items()):
        state[name] = _Tensor(str(i), arr)
        storages[str(i)] = np.ascontiguousarray(arr, dtype="<f4").tobytes()
    import io

    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(state)
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        z.writestr("archive/byteorder", "little")
        for key, raw in storages.items():
            z.writestr(f"archive/data/{key}", raw)
        z.writestr("archive/version", "3\n")
    print(f"{dest}: {len(state)} tensors")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
