"""What every weight-file reader provides."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FLOAT_DTYPES = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4"}

# numpy dtype that holds the stored elements of a dtype, for the dtypes that can be
# summarized straight from their stored bytes (BF16, F8: raw bit patterns; BOOL: bytes)
STORED_DTYPES: dict[str, np.dtype] = {k: np.dtype(v) for k, v in {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16,
    "F8_E4M3": np.uint8, "F8_E5M2": np.uint8,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.uint8,
}.items()}


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
