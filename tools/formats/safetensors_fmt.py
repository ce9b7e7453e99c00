"""Safetensors files: header validated by hand (bounded), tensors streamed without torch.

``stream()`` hands tensors of the dtypes numpy can hold over in blocks of at most
``BLOCK_BYTES``: read-only numpy arrays over a memory map of just that block's
pages, unmapped when the last view of the block goes. Nothing is copied, and RSS
holds only the blocks in use whatever the file size. Every tensor's bytes were
checked against the file size with the header; a file cut short since then gives
a clear error when the block is mapped (one cut short while a mapped block is being
read still kills the process, as with any memory map: the torch reader had the same).
torch, whose import alone costs over a second, is needed only by ``read()`` and for
the dtypes numpy has no type for (F8_E8M0, F4...), and imported there.
"""
from __future__ import annotations

import json
import math
import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from modellake.store.errors import InvalidModelFileError
from modellake.tools.formats.base import (
    FLOAT_DTYPES,
    INT64_MAX,
    JSON_CONTAINER_FLOOR,
    STORED_DTYPES,
    TensorData,
    TensorEntry,
    WeightFile,
    check_tensor_count,
    is_count,
    load_json,
    tensor_limit,
    torch_tensor_data,
)

MAX_HEADER_BYTES = 100 * 1024 * 1024  # the limit the safetensors library itself enforces
HEADER_FLOOR = 4 * 1024 * 1024  # a header may be this long, plus one byte per 64 of data
HEADER_SHARE = 64              # (real headers: ~150 bytes per tensor of megabytes)
MAX_DIMS = 32
BLOCK_BYTES = 16 * 1024 * 1024   # stream() hands tensors over in blocks of at most this
DTYPE_BITS = {"F64": 64, "F32": 32, "F16": 16, "BF16": 16, "F8_E4M3": 8, "F8_E5M2": 8,
              "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "F8_E8M0": 8, "F6_E2M3": 6, "F6_E3M2": 6,
              "F4": 4, "C64": 64, "I64": 64, "I32": 32, "I16": 16, "I8": 8, "U64": 64,
              "U32": 32, "U16": 16, "U8": 8, "BOOL": 8}  # every dtype the safetensors format names


def max_header_bytes(data_bytes: int) -> int:
    """The longest header a file with ``data_bytes`` bytes of tensor data may have."""
    return min(MAX_HEADER_BYTES, HEADER_FLOOR + max(0, data_bytes) // HEADER_SHARE)


def _read_prefix(path: Path) -> tuple[bytes, int]:
    """The raw header bytes, length-checked against the file; and the file's size."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            prefix = f.read(8)
            if len(prefix) < 8:
                raise InvalidModelFileError(path, "truncated safetensors file (no header length)")
            (n,) = struct.unpack("<Q", prefix)
            if n > MAX_HEADER_BYTES:
                raise InvalidModelFileError(path, f"safetensors header of {n} bytes exceeds the "
                                            f"{MAX_HEADER_BYTES} byte limit (corrupt or hostile file)")
            if 8 + n > size:
                raise InvalidModelFileError(path, f"truncated safetensors file: header claims {n} "
                                            f"bytes but the file has {size}")
            limit = max_header_bytes(size - 8 - n)
            if n > limit:
                raise InvalidModelFileError(path, f"safetensors header of {n} bytes exceeds the "
                                            f"{limit} byte limit for {size - 8 - n} bytes of data "
                                            "(corrupt or hostile file)")
            return f.read(n), size
    except OSError as exc:
        raise InvalidModelFileError(path, f"cannot read file: {exc.strerror or exc}") from exc


def read_header(path: Path) -> tuple[dict, int]:
    """Parse and validate a safetensors header; returns (header, data start offset).

    Costs are bounded by the file's size: the header's length and its JSON containers, and
    the tensor count (``base.tensor_limit``) are checked before any per-tensor work.
    """
    raw, size = _read_prefix(path)
    data_len = size - 8 - len(raw)
    header = load_json(path, raw, "safetensors header", 4 * tensor_limit(data_len) + JSON_CONTAINER_FLOOR)
    if not isinstance(header, dict):
        raise InvalidModelFileError(path, "corrupt safetensors header (not a JSON object)")
    check_tensor_count(path, len(header) - ("__metadata__" in header), data_len)
    _check_metadata(path, header.get("__metadata__"))
    _validate(path, header, data_len)
    return header, 8 + len(raw)


def _check_metadata(path: Path, meta: object) -> None:
    """``__metadata__``: absent, null or strings to strings, as the safetensors library requires."""
    if meta is None:
        return
    if not isinstance(meta, dict):
        raise InvalidModelFileError(path, "corrupt safetensors header: __metadata__ is "
                                    f"{_json_type(meta)}, not an object of strings")
    for key, value in meta.items():
        if not isinstance(value, str):
            raise InvalidModelFileError(path, f"corrupt safetensors header: __metadata__[{key[:80]!r}] "
                                        f"is {_json_type(value)}, not a string")


def _json_type(x: object) -> str:
    """What a JSON value is, with its article: "an array", "a string"..."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "an integer", float: "a number", type(None): "null"}
    return names.get(type(x), type(x).__name__)


def _entry(path: Path, name: str, info: object) -> tuple[str, list[int], int, int]:
    """(dtype, shape, start, end) of one header entry, every field type-checked."""
    def bad(why: str) -> InvalidModelFileError:
        return InvalidModelFileError(path, f"corrupt safetensors header: tensor {name[:200]!r} {why}")

    if not isinstance(info, dict):
        raise bad(f"is {_json_type(info)}, not an object")
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise bad("has a name that is not valid Unicode (a lone surrogate)") from None
    missing = [k for k in ("dtype", "shape", "data_offsets") if k not in info]
    if missing:
        raise bad(f"has no {missing[0]}")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str):
        raise bad(f"has a dtype that is {_json_type(dtype)}, not a string")
    if dtype not in DTYPE_BITS:
        raise bad(f"has unknown dtype {dtype[:40]!r}")
    if not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(is_count(d) for d in shape):
        raise bad(f"has shape {_short(shape)}: expected a list of at most {MAX_DIMS} "
                  "non-negative integers")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(is_count(o) for o in offsets)):
        raise bad(f"has data_offsets {_short(offsets)}: expected [start, end], non-negative integers")
    return dtype, shape, offsets[0], offsets[1]


def _short(x: object) -> str:
    text = json.dumps(x) if isinstance(x, (list, dict, str, int, float)) else repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _validate(path: Path, header: dict, data_len: int) -> None:
    """Every tensor's entry well formed, its bytes inside the file and of the size its shape
    and dtype need; the tensors tile the data without gaps or overlaps, as the safetensors
    library requires (no byte is read twice, however hostile the header)."""
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, shape, start, end = _entry(path, name, info)
        if not (start <= end <= data_len):
            raise InvalidModelFileError(path, f"truncated or corrupt safetensors file: tensor "
                                        f"{name[:200]!r} lies outside the file's data")
        numel = math.prod(shape)
        if numel > INT64_MAX or numel * DTYPE_BITS[dtype] != (end - start) * 8:
            raise InvalidModelFileError(path, f"corrupt safetensors header: tensor {name[:200]!r} "
                                        f"has {end - start} bytes for shape {_short(shape)} {dtype}")
        spans.append((start, end, name))
    _check_tiling(path, sorted(spans), data_len)


def _check_tiling(path: Path, spans: list[tuple[int, int, str]], data_len: int) -> None:
    at = 0
    for start, end, name in spans:
        if start != at:
            raise InvalidModelFileError(path, f"corrupt safetensors header: tensor {name[:200]!r} "
                                        f"starts at data byte {start}, not {at} (gap or overlap)")
        at = end
    if at != data_len:
        raise InvalidModelFileError(path, f"corrupt safetensors file: {data_len - at} bytes "
                                    "after the last tensor's data")


def open_safetensors(path: Path) -> WeightFile:
    header, data_start = read_header(path)
    meta = header.pop("__metadata__", None) or {}
    entries, offsets = [], {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        start, end = info["data_offsets"]
        entries.append(TensorEntry(name, list(info["shape"]), info["dtype"], end - start,
                                   info["dtype"] in FLOAT_DTYPES))
        offsets[name] = data_start + start
    return _SafetensorsFile(path, entries, {"safetensors_metadata": meta}, offsets)


@dataclass
class _SafetensorsFile(WeightFile):
    offsets: dict[str, int] = field(default_factory=dict)  # tensor name -> first byte in the file

    def read(self) -> Iterator[TensorData]:
        from safetensors import safe_open

        try:
            with safe_open(str(self.path), framework="pt") as f:
                for e in self.entries:
                    yield torch_tensor_data(e, f.get_tensor(e.name))
        except InvalidModelFileError:
            raise
        except Exception as exc:  # safetensors raises its own error types
            raise InvalidModelFileError(self.path, f"cannot read safetensors data: {exc}") from exc

    def stream(self) -> Iterator[TensorData]:
        """Like ``read()``, with tensors of the common dtypes in blocks of stored elements."""
        for e in self.entries:
            if e.dtype in STORED_DTYPES:
                yield TensorData(e, None, None, blocks=self._blocks(e))
            else:  # F8_E8M0, F4...: numpy has no such type
                yield self._through_torch(e)

    def _blocks(self, e: TensorEntry) -> Iterator[np.ndarray]:
        """The stored elements of ``e``, ``BLOCK_BYTES`` at a time, as read-only arrays."""
        dtype = STORED_DTYPES[e.dtype]
        numel = math.prod(e.shape)
        if numel == 0:
            return
        step = max(1, BLOCK_BYTES // dtype.itemsize)
        try:
            f = self.path.open("rb", buffering=0)
        except OSError as exc:
            raise InvalidModelFileError(self.path, f"cannot read file: {exc.strerror or exc}") from exc
        with f:
            for start in range(0, numel, step):
                yield self._map(f, self.offsets[e.name] + start * dtype.itemsize,
                                min(step, numel - start), dtype, e.name)

    def _map(self, f: BinaryIO, offset: int, count: int, dtype: np.dtype, name: str) -> np.ndarray:
        """``count`` elements from byte ``offset``, over a map of just their pages that is
        unmapped when the last view of it goes (so RSS holds only the blocks in use)."""
        skip = offset % mmap.ALLOCATIONGRANULARITY
        try:
            m = mmap.mmap(f.fileno(), skip + count * dtype.itemsize, offset=offset - skip,
                          access=mmap.ACCESS_READ)
        except ValueError as exc:  # the file is shorter than when its header was checked
            raise InvalidModelFileError(self.path, f"truncated safetensors file: tensor {name!r} "
                                        "ends past the end of the file (changed while reading?)"
                                        ) from exc
        except OSError as exc:
            raise InvalidModelFileError(self.path, f"cannot read file: {exc.strerror or exc}") from exc
        return np.frombuffer(m, dtype, count, skip)

    def _through_torch(self, e: TensorEntry) -> TensorData:
        from safetensors import safe_open

        try:
            with safe_open(str(self.path), framework="pt") as f:
                return torch_tensor_data(e, f.get_tensor(e.name))
        except Exception as exc:  # safetensors raises its own error types
            raise InvalidModelFileError(self.path, f"cannot read safetensors data: {exc}") from exc
