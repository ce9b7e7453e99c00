"""Safetensors files: header validated by hand (bounded), tensors streamed via ``safe_open``.

``safe_open`` memory-maps the file and hands out zero-copy tensors; every page
read stays mapped (and counted in the process's RSS) while the handle or any
tensor from it is alive. ``stream()`` therefore hands large tensors over in
blocks and reopens the file whenever ``WINDOW_BYTES`` have been read through
one handle, so ingest memory stays bounded whatever the file size.
"""
from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
WINDOW_BYTES = 64 * 1024 * 1024  # bytes read through one safe_open handle before reopening
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


def _validate(path: Path, header: dict, data_len: int) -> None:
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (start, end) = info["dtype"], info["shape"], info["data_offsets"]
            numel = math.prod(int(s) for s in shape)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidModelFileError(path, f"corrupt safetensors header entry {name!r}") from exc
        if not (0 <= start <= end <= data_len):
            raise InvalidModelFileError(path, f"truncated or corrupt safetensors file: tensor "
                                        f"{name!r} lies outside the file's data")
        width = _DTYPE_BYTES.get(dtype)
        if width is not None and numel * width != end - start:
            raise InvalidModelFileError(path, f"corrupt safetensors header: tensor {name!r} "
                                        f"has {end - start} bytes for shape {shape} {dtype}")


def open_safetensors(path: Path) -> WeightFile:
    header, _ = read_header(path)
    meta = header.pop("__metadata__", None) or {}
    entries = [TensorEntry(name, [int(s) for s in info["shape"]], info["dtype"],
                           info["data_offsets"][1] - info["data_offsets"][0],
                           info["dtype"] in FLOAT_DTYPES)
               for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])]
    return _SafetensorsFile(path, entries, {"safetensors_metadata": meta})


class _SafetensorsFile(WeightFile):
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
        window = _Window(self.path)
        try:
            for e in self.entries:
                if e.dtype in STORED_DTYPES:
                    yield TensorData(e, None, None, blocks=window.blocks(e))
                else:  # F8_E8M0, F4...: converted by torch, whole
                    try:
                        td = torch_tensor_data(e, window.tensor(e.name, e.nbytes))
                    except Exception as exc:
                        raise InvalidModelFileError(
                            self.path, f"cannot read safetensors data: {exc}") from exc
                    yield td
                    del td
        finally:
            window.close()


class _Window:
    """A ``safe_open`` handle that is reopened after ``WINDOW_BYTES`` have been read.

    Closing the handle (and dropping the tensors taken from it) unmaps the pages
    read so far; they stay in the page cache but leave this process's RSS.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: Any = None
        self._used = 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.__exit__(None, None, None)
            self._handle = None
        self._used = 0

    def _open(self, nbytes: int) -> Any:
        if self._handle is not None and self._used and self._used + nbytes > WINDOW_BYTES:
            self.close()
        if self._handle is None:
            from safetensors import safe_open

            self._handle = safe_open(str(self.path), framework="pt")
        self._used += nbytes
        return self._handle

    def tensor(self, name: str, nbytes: int) -> Any:
        return self._open(nbytes).get_tensor(name)

    def blocks(self, e: TensorEntry) -> Iterator[np.ndarray]:
        """The stored elements of ``e`` as flat numpy views, ``BLOCK_BYTES`` at a time."""
        import torch

        dtype = STORED_DTYPES[e.dtype]
        numel = math.prod(e.shape)
        step = max(1, BLOCK_BYTES // dtype.itemsize)
        for start in range(0, numel, step):
            stop = min(numel, start + step)
            try:
                t = self.tensor(e.name, (stop - start) * dtype.itemsize)
                block = t.reshape(-1)[start:stop].view(torch.uint8).numpy().view(dtype)
            except Exception as exc:  # safetensors raises its own error types
                raise InvalidModelFileError(
                    self.path, f"cannot read safetensors data: {exc}") from exc
            del t
            yield block
            del block  # no reference into this handle's map survives a reopen
