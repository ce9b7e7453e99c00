"""The files of a demo model: weights written with the layout of a reference file, the
tokenizer and sentence-transformers files copied from a parent, and the JSONL training sets.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

WEIGHTS = "model.safetensors"
HEAD_FILE = "classifier_head.safetensors"

# Files copied from a parent MiniLM directory into a derived one (tokenizer and the
# sentence-transformers wiring). Never the card, the base's training-data list or VCS files.
_SIDE_FILES = (
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                rows.append(json.loads(line))
    return rows


def copy_side_files(src: Path, dst: Path) -> None:
    for rel in _SIDE_FILES:
        s = src / rel
        if s.is_file():
            d = dst / rel
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(s, d)


def copy_config(src: Path, dst: Path) -> None:
    shutil.copyfile(src / "config.json", dst / "config.json")


def read_safetensors(path: Path) -> tuple[dict[str, Any], dict[str, str] | None]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open is no dict
        return tensors, f.metadata()


def write_like(reference: Path, tensors: dict[str, Any], out: Path) -> None:
    """Write ``tensors`` with exactly the names, shapes and dtypes of ``reference``.

    Names missing from ``tensors`` (e.g. the non-persistent ``position_ids`` buffer,
    which ``state_dict()`` omits) are taken unchanged from ``reference``.
    """
    from safetensors.torch import save_file

    ref, meta = read_safetensors(reference)
    extra = sorted(set(tensors) - set(ref))
    if extra:
        raise ValueError(f"tensors not in {reference.name}: {extra[:5]}")
    result = {}
    for name, r in ref.items():
        t = tensors.get(name, r)
        if tuple(t.shape) != tuple(r.shape):
            raise ValueError(f"{name}: shape {tuple(t.shape)} != {tuple(r.shape)}")
        result[name] = t.detach().to(r.dtype).contiguous().clone()
    save_file(result, str(out), metadata=meta or {"format": "pt"})
