"""PyTorch checkpoints (``pytorch_model.bin``, ``.pt``, ``.pth``), loaded without unpickling code.

Only ``torch.load(weights_only=True)`` is ever used: a checkpoint whose pickle
needs anything beyond tensors and plain containers is refused.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modellake.store.errors import InvalidModelFileError, UnsafeFileError
from modellake.tools.formats.base import TensorData, TensorEntry, WeightFile, torch_tensor_data

_TORCH_TO_ST = {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "float64": "F64",
                "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2", "int64": "I64",
                "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL"}


def _flatten(obj: Any, prefix: str, out: dict[str, Any]) -> None:
    import torch

    if isinstance(obj, torch.Tensor):
        out[prefix] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)


def _load(path: Path) -> dict[str, Any]:
    import pickle

    import torch

    try:
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            obj = torch.load(path, map_location="cpu", weights_only=True)  # legacy format
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsupported pickle"
        raise UnsafeFileError(path, "refused: this pickle needs more than plain tensors to load "
                              f"({first[:160]}); convert it to safetensors from a trusted "
                              "environment") from exc
    except OSError as exc:
        raise InvalidModelFileError(path, f"cannot read file: {exc.strerror or exc}") from exc
    except Exception as exc:  # corrupt zip, truncated file, bad magic...
        raise InvalidModelFileError(path, f"not a readable PyTorch checkpoint ({exc})") from exc
    tensors: dict[str, Any] = {}
    _flatten(obj, "", tensors)
    if not tensors:
        raise InvalidModelFileError(path, "PyTorch checkpoint holds no tensors")
    return tensors


def open_torch(path: Path) -> WeightFile:
    tensors = _load(path)
    entries = []
    for name, t in tensors.items():
        dtype = _TORCH_TO_ST.get(str(t.dtype).removeprefix("torch."), str(t.dtype))
        entries.append(TensorEntry(name, list(t.shape), dtype, t.numel() * t.element_size(),
                                   t.is_floating_point()))
    return _TorchFile(path, entries, {}, tensors)


@dataclass
class _TorchFile(WeightFile):
    tensors: dict[str, Any] = field(default_factory=dict)

    def read(self) -> Iterator[TensorData]:
        for e in self.entries:
            yield torch_tensor_data(e, self.tensors[e.name])
