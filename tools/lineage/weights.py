"""Random access to one model's tensors for lineage: by name, one tensor at a time.

The lake references weight files where they lie (``ModelRecord.source``); this
module finds them again and reads single tensors as float32 arrays with their
logical shape. A GGUF file is read under the Hugging Face names of a source
model's layout: names are mapped with the ``gguf`` package's tensor name
tables and llama.cpp's permutation of the Q/K rows is undone.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from modellake.store.errors import InvalidModelFileError
from modellake.store.records import ModelRecord

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
_NUMPY_DTYPES = {"F64", "F32", "F16", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL"}
_PERMUTED_ARCHS = {"llama", "mistral", "mixtral", "granite"}  # convert_hf_to_gguf permutes q/k
_TABLE_PREFIXES = ("model", "transformer", "bert")
_CONV1D_ARCHS = {"gpt2", "starcoder", "gptbigcode"}  # HF Conv1D (in, out): convert_hf_to_gguf transposes
_CONV1D = re.compile(r"(?:^|\.)(?:c_attn|c_proj|c_fc|q_attn)\.weight$")


def weight_paths(record: ModelRecord) -> list[Path]:
    """The weight files of a model, found from its source and its file list."""
    src = Path(record.source)
    base = src if src.is_dir() else src.parent
    return [base / f.path for f in record.files if f.path.lower().endswith(WEIGHT_SUFFIXES)]


class ModelWeights:
    """One model's float tensors by name; nothing is held but open file handles."""

    def __init__(self, record: ModelRecord) -> None:
        self.record = record
        self._where: dict[str, Any] = {}  # tensor name -> reader
        self._handles: list[Any] = []
        self._gguf: Any = None
        for path in weight_paths(record):
            if not path.is_file():
                raise InvalidModelFileError(path, f"weight file of {record.name!r} is missing "
                                            "(moved or deleted since ingest)")
            self._open(path)

    def _open(self, path: Path) -> None:
        suffix = path.suffix.lower()
        if suffix == ".safetensors":
            from safetensors import safe_open

            from modellake.tools.formats.safetensors_fmt import read_header

            header, _ = read_header(path)
            fast = safe_open(str(path), framework="np")  # numpy: far cheaper per tensor
            slow = None
            self._handles.append(fast)
            for name, info in header.items():
                if name == "__metadata__":
                    continue
                if info.get("dtype") in _NUMPY_DTYPES:
                    self._where[name] = fast
                else:  # bfloat16, float8: through torch
                    slow = slow or safe_open(str(path), framework="pt")
                    self._where[name] = slow
            if slow is not None:
                self._handles.append(slow)
        elif suffix == ".gguf":
            from modellake.tools.formats.gguf_fmt import open_gguf

            self._gguf = open_gguf(path)
            for e in self._gguf.entries:
                self._where[e.name] = self._gguf
        else:
            from modellake.tools.formats.torch_fmt import open_torch

            wf = open_torch(path)
            for name in wf.tensors:
                self._where[name] = wf.tensors

    @property
    def is_gguf(self) -> bool:
        return self._gguf is not None

    @property
    def gguf_metadata(self) -> dict[str, Any]:
        return self._gguf.metadata if self._gguf is not None else {}

    @property
    def gguf_blocks(self) -> int:
        """The block (layer) count a GGUF file's metadata gives (0: none, or not a GGUF)."""
        meta = self.gguf_metadata
        arch = meta.get("architecture") or "llama"
        return int(meta.get("block_count") or meta.get("kv", {}).get(f"{arch}.block_count") or 0)

    def names(self) -> list[str]:
        return list(self._where)

    def shape(self, name: str) -> list[int]:
        src = self._where[name]
        if src is self._gguf:
            return next(e.shape for e in self._gguf.entries if e.name == name)
        if isinstance(src, dict):
            return list(src[name].shape)
        return list(src.get_slice(name).get_shape())

    def get(self, name: str) -> np.ndarray:
        """One tensor as float32 with its logical shape."""
        src = self._where[name]
        if src is self._gguf:
            entry = next(e for e in self._gguf.entries if e.name == name)
            td = next(iter(self._gguf.read(names={name})))
            return np.asarray(td.values, dtype=np.float32).reshape(entry.shape)
        t = src[name] if isinstance(src, dict) else src.get_tensor(name)
        if isinstance(t, np.ndarray):
            return t.astype(np.float32, copy=False)
        return t.detach().float().numpy()

    def close(self) -> None:
        self._handles.clear()
        self._where.clear()

    def __enter__(self) -> ModelWeights:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------- GGUF names

def _gguf_arch(arch: str):
    from gguf import MODEL_ARCH, MODEL_ARCH_NAMES

    for key, value in MODEL_ARCH_NAMES.items():
        if value == arch:
            return key
    return MODEL_ARCH.LLAMA if arch is None else None


def gguf_name_map(arch: str, n_blocks: int, hf_names: list[str]) -> dict[str, str]:
    """GGUF tensor name -> Hugging Face name, for the HF names of a source model."""
    from gguf import get_tensor_name_map

    key = _gguf_arch(arch)
    if key is None:
        return {}
    table = get_tensor_name_map(key, n_blocks)
    out: dict[str, str] = {}
    for hf in hf_names:
        for suffix in (".weight", ".bias"):
            if hf.endswith(suffix):
                stem = hf[: -len(suffix)]
                # the tables know most stems bare and some only under the usual prefixes
                for form in (stem, *(f"{p}.{stem}" for p in _TABLE_PREFIXES)):
                    g = table.get_name(form)
                    if g is not None:
                        out.setdefault(g + suffix, hf)
                        break
    return out


def unpermute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's Q/K row permutation (HF rotary half-split order back)."""
    rows = w.shape[0]
    if n_head <= 0 or rows % (2 * n_head):
        return w
    half = rows // n_head // 2
    return w.reshape(n_head, half, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


class MappedGGUF:
    """A GGUF model read under the HF names of a source layout (see ``gguf_name_map``)."""

    def __init__(self, weights: ModelWeights, hf_names: list[str], hf_config: dict[str, Any]):
        meta = weights.gguf_metadata
        kv = meta.get("kv", {})
        arch = meta.get("architecture") or "llama"
        n_blocks = weights.gguf_blocks or int(hf_config.get("num_hidden_layers") or 0)
        self.weights = weights
        self.arch = arch
        self.to_hf = gguf_name_map(arch, n_blocks, hf_names)
        self.from_hf = {hf: g for g, hf in self.to_hf.items() if g in set(weights.names())}
        self.n_head = int(kv.get(f"{arch}.attention.head_count") or
                          hf_config.get("num_attention_heads") or 0)
        self.n_head_kv = int(kv.get(f"{arch}.attention.head_count_kv") or
                             hf_config.get("num_key_value_heads") or self.n_head)
        self.permute = arch in _PERMUTED_ARCHS  # undo llama.cpp's Q/K permutation on read

    def names(self) -> list[str]:
        return list(self.from_hf)

    def transposed(self, hf_name: str) -> bool:
        """A GPT-2 Conv1D weight, stored (out, in) in GGUF against HF's (in, out): square ones
        too, which no shape would tell. It is read as stored (its quantization blocks run along
        the stored rows); the alignment compares it transposed."""
        return self.arch in _CONV1D_ARCHS and bool(_CONV1D.search(hf_name))

    def shape(self, hf_name: str) -> list[int]:
        return self.weights.shape(self.from_hf[hf_name])

    def get(self, hf_name: str) -> np.ndarray:
        x = self.weights.get(self.from_hf[hf_name])
        if self.permute and x.ndim == 2:
            if hf_name.endswith("q_proj.weight"):
                return unpermute_qk(x, self.n_head)
            if hf_name.endswith("k_proj.weight"):
                return unpermute_qk(x, self.n_head_kv)
        return x
