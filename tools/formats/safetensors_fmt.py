"""Safetensors files: header validated by hand (bounded), tensors streamed via ``safe_open``."""
from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator
from pathlib import Path

from modellake.store.errors import InvalidModelFileError
from modellake.tools.formats.base import (
    FLOAT_DTYPES,
    TensorData,
    TensorEntry,
    WeightFile,
    torch_tensor_data,
)

MAX_HEADER_BYTES = 100 * 1024 * 1024  # the limit the safetensors library itself enforces
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
