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
    STORED_DTYPES,
    TensorData,
    TensorEntry,
    WeightFile,
    torch_tensor_data,
)

MAX_HEADER_BYTES = 100 * 1024 * 1024  # the limit the safetensors library itself enforces
BLOCK_BYTES = 16 * 1024 * 1024   # stream() hands tensors over in blocks of at most this
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
                "F8_E8M0": 1, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4,
                "U16": 2, "U8": 1, "BOOL": 1}


def read_header(path: Path) -> tuple[dict, int]:
    """Parse and validate a safetensors header; returns (header, data start offset)."""
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
            raw = f.read(n)
    except OSError as exc:
        raise InvalidModelFileError(path, f"cannot read file: {exc.strerror or exc}") from exc
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidModelFileError(path, f"corrupt safetensors header (not JSON: {exc})") from exc
    if not isinstance(header, dict):
        raise InvalidModelFileError(path, "corrupt safetensors header (not a JSON object)")
    _validate(path, header, size - 8 - n)
    return header, 8 + n


def _is_count(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _validate(path: Path, header: dict, data_len: int) -> None:
    """Every tensor's entry well formed, its bytes inside the file and of the size its shape
    and dtype need; the tensors tile the data without gaps or overlaps, as the safetensors
    library requires (no byte is read twice, however hostile the header)."""
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, end) = info["dtype"], info["shape"], info["data_offsets"]
            if not all(_is_count(x) for x in (*shape, start, end)):
                raise ValueError("shape and offsets must be non-negative integers")
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidModelFileError(path, f"corrupt safetensors header entry {name!r}") from exc
        if not (start <= end <= data_len):
            raise InvalidModelFileError(path, f"truncated or corrupt safetensors file: tensor "
                                        f"{name!r} lies outside the file's data")
        width = _DTYPE_BYTES.get(dtype)
        if width is not None and math.prod(shape) * width != end - start:
            raise InvalidModelFileError(path, f"corrupt safetensors header: tensor {name!r} "
                                        f"has {end - start} bytes for shape {shape} {dtype}")
        spans.append((start, end, name))
    _check_tiling(path, sorted(spans), data_len)


def _check_tiling(path: Path, spans: list[tuple[int, int, str]], data_len: int) -> None:
    at = 0
    for start, end, name in spans:
        if start != at:
            raise InvalidModelFileError(path, f"corrupt safetensors header: tensor {name!r} "
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
