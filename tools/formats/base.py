"""What every weight-file reader provides."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FLOAT_DTYPES = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4"}


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
    """One tensor read from a file: flat values for statistics, stored bytes for hashing."""

    entry: TensorEntry
    values: np.ndarray
    raw: memoryview | bytes | None = None


@dataclass
class WeightFile:
    """An opened weight file: declared tensors and format metadata; ``read()`` streams tensors."""

    path: Path
    entries: list[TensorEntry]
    metadata: dict[str, Any] = field(default_factory=dict)

    def read(self) -> Iterator[TensorData]:  # pragma: no cover - interface
        raise NotImplementedError


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
