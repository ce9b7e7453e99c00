"""What every weight-file reader provides, and the limits every reader applies to untrusted input."""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modellake.store.errors import InvalidModelFileError

FLOAT_DTYPES = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4"}

# numpy dtype that holds the stored elements of a dtype, for the dtypes that can be
# summarized straight from their stored bytes (BF16, F8: raw bit patterns; BOOL: bytes)
STORED_DTYPES: dict[str, np.dtype] = {k: np.dtype(v) for k, v in {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16,
    "F8_E4M3": np.uint8, "F8_E5M2": np.uint8,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.uint8,
}.items()}

# Tensors a file may declare: a floor for tiny test models, plus one per 8 KiB of data.
# Real models hold far fewer (Gemma 3 270M: 236 tensors in 250 MB; DeepSeek-V3 shards: ~1000
# in 4 GB); the bound keeps the per-tensor work of a hostile header in proportion to its file.
MIN_TENSOR_LIMIT = 4096
BYTES_PER_TENSOR = 8192
INT64_MAX = (1 << 63) - 1
JSON_CONTAINER_FLOOR = 4096  # objects and arrays any JSON file may hold, whatever its size


def tensor_limit(data_bytes: int) -> int:
    """How many tensors a file with ``data_bytes`` bytes of tensor data may declare."""
    return MIN_TENSOR_LIMIT + max(0, data_bytes) // BYTES_PER_TENSOR


def check_tensor_count(path: object, count: int, data_bytes: int) -> None:
    """Refuse a header that declares more tensors than its file's size can justify."""
    limit = tensor_limit(data_bytes)
    if count > limit:
        raise InvalidModelFileError(path, f"header declares {count} tensors, more than the {limit} "
                                    f"allowed for {data_bytes} bytes of data ({MIN_TENSOR_LIMIT} plus "
                                    f"one per {BYTES_PER_TENSOR} bytes): corrupt or hostile file")


def load_json(path: object, raw: bytes, what: str, max_containers: int) -> Any:
    """Parse untrusted JSON with bounded cost: at most ``max_containers`` objects and arrays
    (counted from the bytes before parsing: an upper bound), no RecursionError, no raw
    decoder exception; ``what`` names the file's role in messages."""
    containers = raw.count(b"{") + raw.count(b"[")
    if containers > max_containers:
        raise InvalidModelFileError(path, f"{what} has up to {containers} JSON objects and arrays, "
                                    f"more than the {max_containers} allowed: corrupt or hostile file")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidModelFileError(path, f"corrupt {what} (not JSON: not UTF-8 at byte {exc.start})"
                                    ) from None
    except RecursionError:
        raise InvalidModelFileError(path, f"corrupt {what} (JSON nested too deeply: "
                                    "a corrupt or hostile file)") from None
    except ValueError as exc:  # JSONDecodeError; integers of more than 4300 digits
        raise InvalidModelFileError(path, f"corrupt {what} (not JSON: {_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def is_count(x: object) -> bool:
    """A non-negative int64 (bools excluded)."""
    return type(x) is int and 0 <= x <= INT64_MAX


@dataclass
class TensorEntry:
    """A tensor as declared by a file header (nothing read yet)."""

    name: str
    shape: list[int]
    dtype: str  # safetensors-style names (F32, BF16, I64...) or a GGUF type (Q4_K, Q8_0...)
    nbytes: int
    is_float: bool = True  # float or quantized float: a parameter, not an integer buffer


@dataclass
class TensorData:
    """One tensor read from a file: flat values for statistics, stored bytes for hashing.

    A reader's ``stream()`` may hand a large tensor over in ``blocks`` instead: flat
    arrays of its stored elements in order (dtype ``STORED_DTYPES[entry.dtype]``),
    to be iterated once; ``values`` and ``raw`` are then ``None``. The blocks may be
    read-only views of a memory map that lives as long as they do: a consumer keeps
    copies of what it needs, not the blocks, once it is done with the tensor.
    """

    entry: TensorEntry
    values: np.ndarray | None
    raw: memoryview | bytes | None = None
    blocks: Iterable[np.ndarray] | None = None


@dataclass
class WeightFile:
    """An opened weight file: declared tensors and format metadata; ``read()`` streams tensors."""

    path: Path
    entries: list[TensorEntry]
    metadata: dict[str, Any] = field(default_factory=dict)

    def read(self) -> Iterator[TensorData]:  # pragma: no cover - interface
        raise NotImplementedError

    def stream(self) -> Iterator[TensorData]:
        """Like ``read()``, but large tensors may come in ``blocks`` (bounded memory)."""
        return self.read()


def torch_tensor_data(entry: TensorEntry, t: Any) -> TensorData:
    """Wrap a CPU torch tensor: float values for statistics, stored bytes for hashing."""
    import torch

    t = t.detach().contiguous()
    raw = t.reshape(-1).view(torch.uint8).numpy() if t.numel() else b""
    if t.dtype in (torch.float32, torch.float16, torch.float64):
        values = t.numpy()
    elif t.is_floating_point():
        values = t.float().numpy()
    elif t.dtype == torch.bool:
        values = t.to(torch.uint8).numpy()
    else:
        values = t.numpy()
    return TensorData(entry, values.reshape(-1), raw)
