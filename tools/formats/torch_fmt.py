"""PyTorch checkpoints (``pytorch_model.bin``, ``.pt``, ``.pth``), loaded without unpickling code.

Only ``torch.load(weights_only=True)`` is ever used: a checkpoint whose pickle
needs anything beyond tensors and plain containers is refused.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modellake.store.errors import InvalidModelFileError, UnsafeFileError
from modellake.tools.formats.base import TensorData, TensorEntry, WeightFile, torch_tensor_data

_GLOBAL_IN_MESSAGE = re.compile(r"GLOBAL ([\w.]+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SCAN_BYTES = 64 * 1024 * 1024  # of a pickle scanned (never run) for the global it needs
SCAN_OPS = 1 << 20
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
    import warnings

    import torch

    try:
        with warnings.catch_warnings():  # "Detected pickle protocol 4...": the refusal says it all
            warnings.simplefilter("ignore")
            try:
                obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError as exc:
                if "mmap" not in str(exc):
                    raise
                obj = torch.load(path, map_location="cpu", weights_only=True)  # legacy format
    except pickle.UnpicklingError as exc:
        raise UnsafeFileError(path, _refusal(path, str(exc))) from exc
    except OSError as exc:
        raise InvalidModelFileError(path, f"cannot read file: {exc.strerror or exc}") from exc
    except Exception as exc:  # corrupt zip, truncated file, bad magic...
        raise InvalidModelFileError(path, "not a readable PyTorch checkpoint "
                                    f"({type(exc).__name__}: {_one_line(str(exc))})") from exc
    tensors: dict[str, Any] = {}
    _flatten(obj, "", tensors)
    if not tensors:
        raise InvalidModelFileError(path, "PyTorch checkpoint holds no tensors")
    return tensors


def _refusal(path: Path, message: str) -> str:
    """One line saying why weights-only loading refused the pickle, naming the global it needs."""
    found = _GLOBAL_IN_MESSAGE.search(message)
    name = found.group(1) if found else _first_refused_global(path)
    advice = "convert the checkpoint to safetensors in a trusted environment"
    if name:
        return (f"pickle refused: modellake refuses to unpickle global {name!r} (only tensors and "
                f"plain containers are loaded); {advice}")
    lines = [ln for ln in _ANSI.sub("", message).splitlines() if ln.strip()]
    why = next((ln.strip() for ln in lines if ln.startswith(("Unsupported", "Trying"))), "")
    return (f"pickle refused: it needs more than tensors and plain containers to load"
            f"{f' ({why[:160]})' if why else ''}; {advice}")


def _one_line(text: str) -> str:
    lines = [ln.strip() for ln in _ANSI.sub("", text).splitlines() if ln.strip()]
    return (lines[0] if lines else "unknown error")[:200]


def _pickle_bytes(path: Path) -> bytes:
    """The checkpoint's pickle: ``data.pkl`` of a zip checkpoint, else the file (a prefix)."""
    import zipfile

    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                name = next((n for n in z.namelist() if n.endswith("data.pkl")), None)
                if name is None:
                    return b""
                with z.open(name) as f:
                    return f.read(SCAN_BYTES)
        with path.open("rb") as f:
            return f.read(SCAN_BYTES)
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError):
        return b""


def _first_refused_global(path: Path) -> str | None:
    """The first global the pickle imports that weights-only loading does not allow (read
    with ``pickletools``, which never runs it); None if none is found."""
    import io
    import pickletools

    strings: list[str] = []
    try:
        from torch._weights_only_unpickler import _get_allowed_globals  # private: may go away

        allowed = _get_allowed_globals()
        for i, (op, arg, _) in enumerate(pickletools.genops(io.BytesIO(_pickle_bytes(path)))):
            if i > SCAN_OPS:
                break
            name = None
            if op.name in ("GLOBAL", "INST") and isinstance(arg, str):
                name = ".".join(arg.split(" ", 1))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                name = f"{strings[-2]}.{strings[-1]}"
            elif isinstance(arg, str):
                strings = [*strings[-1:], arg]
            if name and name not in allowed:
                return name
    except Exception:  # noqa: BLE001 - a malformed pickle, a torch without that list: no name
        return None
    return None


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
