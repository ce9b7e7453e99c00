"""Find the models inside the paths a user hands to ``ingest``.

A *unit* is one model: a Hugging Face directory, a PEFT adapter directory, a
single weight file, or a card on its own. Directory trees are walked.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from modellake.store.errors import InvalidModelFileError, UnsupportedFormatError
from modellake.store.records import IngestError
from modellake.tools.formats.base import JSON_CONTAINER_FLOOR, load_json

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
_SKIP_DIRS = {".git", ".cache", "__pycache__", ".venv", "node_modules", ".ipynb_checkpoints"}
MAX_JSON_BYTES = 32 * 1024 * 1024  # shard indexes of the largest models: ~10 MB
MAX_JSON_CONTAINERS = 16 * JSON_CONTAINER_FLOOR  # objects and arrays (real configs: a few hundred)


@dataclass
class ModelUnit:
    """One model found on disk, before anything is read from its weights."""

    kind: str  # hf | adapter | safetensors | torch | gguf | card
    root: Path  # the directory, or the file for single-file models
    weight_files: list[Path] = field(default_factory=list)
    card_path: Path | None = None
    config_path: Path | None = None
    name: str | None = None  # a default name other than the path's stem (HF cache repos)

    @property
    def default_name(self) -> str:
        if self.name:
            return self.name
        return self.root.name if self.root.is_dir() else self.root.stem

    @property
    def files(self) -> list[Path]:
        """Every file that makes up this model (hashed for change detection)."""
        if self.root.is_file():
            return [self.root]
        out = set(self.weight_files)
        out.update(p for p in (self.card_path, self.config_path) if p)
        for p in self.root.iterdir():  # GGUF exports beside a model are models of their own
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() != ".gguf":
                out.add(p)
        return sorted(out)


def _is_weight(p: Path) -> bool:
    return p.suffix in WEIGHT_SUFFIXES and not p.name.startswith("training_args")


def read_json(path: Path) -> dict:
    """A small JSON file (config, index) as a dict, with a clear error otherwise (bounded
    cost: size, objects and arrays, nesting)."""
    try:
        if not path.is_file():
            raise InvalidModelFileError(path, "not a regular file")
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise InvalidModelFileError(path, f"JSON file of {size} bytes is too large to be a config "
                                        f"(limit {MAX_JSON_BYTES})")
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidModelFileError(path, f"cannot read file: {exc.strerror or exc}") from exc
    data = load_json(path, raw, path.name, MAX_JSON_CONTAINERS)
    if not isinstance(data, dict):
        raise InvalidModelFileError(path, "invalid JSON (expected an object)")
    return data


def _shards(directory: Path, index_name: str) -> list[Path] | None:
    index = directory / index_name
    if not index.is_file():
        return None
    weight_map = read_json(index).get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise InvalidModelFileError(index, "shard index has no weight_map")
    for value in weight_map.values():
        if not isinstance(value, str):
            raise InvalidModelFileError(index, f"shard index maps a tensor to {value!r:.60}, not a "
                                        "file name")
    shards = []
    for name in sorted(set(weight_map.values())):
        if not name or "/" in name or "\\" in name or "\0" in name or name in (".", ".."):
            raise InvalidModelFileError(index, f"shard path {name[:200]!r} points outside the model")
        s = directory / name
        if not _is_file(s):
            raise InvalidModelFileError(index, f"shard {name[:200]!r} listed in the index is missing")
        shards.append(s)
    return shards


def _is_file(p: Path) -> bool:
    """``p.is_file()`` that is False, not an error, for any name the OS cannot look up (too long,
    not encodable)."""
    try:
        return p.is_file()
    except (OSError, ValueError):
        return False


def _weights_in(directory: Path) -> list[Path]:
    for index in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        shards = _shards(directory, index)
        if shards is not None:
            return shards
    for canonical in ("model.safetensors", "pytorch_model.bin"):  # what transformers loads
        if (directory / canonical).is_file():
            return [directory / canonical]
    files = sorted(p for p in directory.iterdir() if p.is_file() and _is_weight(p))
    st = [p for p in files if p.suffix == ".safetensors"]
    if st:
        return st
    return [p for p in files if p.suffix in (".bin", ".pt", ".pth")]


def _has_front_matter(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(8).lstrip(b"\xef\xbb\xbf").lstrip().startswith(b"---")
    except OSError:
        return False


def unit_for_dir(d: Path) -> ModelUnit | None:
    """The model a directory holds directly, if any (its subdirectories aside)."""
    card = d / "README.md" if (d / "README.md").is_file() else None
    if (d / "adapter_config.json").is_file():
        weights = [p for p in (d / "adapter_model.safetensors", d / "adapter_model.bin") if p.is_file()]
        return ModelUnit("adapter", d, weights[:1], card, d / "adapter_config.json")
    config = d / "config.json" if (d / "config.json").is_file() else None
    weights = _weights_in(d)
    if config and weights:
        return ModelUnit("hf", d, weights, card, config)
    loose = weights + sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() == ".gguf")
    if len(loose) == 1:  # one weight file and its card: a model named after the directory
        return ModelUnit(unit_for_file(loose[0]).kind, d, loose, card, config)
    if card and not loose and _has_front_matter(card):
        return ModelUnit("card", d, [], card, config)
    return None  # several loose weight files: each its own unit, found by the walk


def unit_for_file(p: Path) -> ModelUnit:
    suffix = p.suffix.lower()
    if suffix == ".gguf":
        return ModelUnit("gguf", p, [p])
    if suffix == ".safetensors":
        return ModelUnit("safetensors", p, [p])
    if suffix in (".bin", ".pt", ".pth"):
        return ModelUnit("torch", p, [p])
    if suffix == ".md":
        return ModelUnit("card", p, [], p)
    raise UnsupportedFormatError(p, "unsupported file type (expected .safetensors, .gguf, "
                                 ".bin/.pt/.pth, .md, or a model directory)")


def discover(path: Path) -> tuple[list[ModelUnit], list[tuple[Path, Exception]]]:
    """All models under ``path`` and the paths that failed while looking."""
    if not path.exists():
        return [], [(path, InvalidModelFileError(path, "no such file or directory"))]
    if not path.is_file() and not path.is_dir():
        return [], [(path, UnsupportedFormatError(path, "not a regular file or a directory (a device, "
                                                  "pipe or socket?), so not a model file"))]
    if path.is_file():
        try:
            return [unit_for_file(path)], []
        except InvalidModelFileError as exc:
            return [], [(path, exc)]
    units: list[ModelUnit] = []
    errors: list[tuple[Path, Exception]] = []
    for dirpath, dirnames, filenames in os.walk(path, onerror=lambda e: errors.append(
            (Path(e.filename), InvalidModelFileError(e.filename, f"cannot read: {e.strerror}")))):
        d = Path(dirpath)
        dirnames[:] = sorted(n for n in dirnames if n not in _SKIP_DIRS and not n.startswith("."))
        try:
            unit = unit_for_dir(d)
            claimed = set(unit.files) if unit else set()
        except InvalidModelFileError as exc:
            errors.append((d, exc))
            continue
        except OSError as exc:  # a file that vanished or cannot be read while looking
            errors.append((d, InvalidModelFileError(d, f"cannot read: {exc.strerror or exc}")))
            continue
        if unit:
            units.append(unit)
        for fname in sorted(filenames):
            f = d / fname
            if f in claimed or fname.startswith(".") or not f.is_file():
                continue  # devices, pipes and sockets are never read
            if f.suffix.lower() in WEIGHT_SUFFIXES and not fname.startswith("training_args"):
                if unit and unit.kind in ("hf", "adapter") and f.suffix != ".gguf":
                    continue  # optimizer states, alternates of the unit's own weights
                units.append(unit_for_file(f))
                if (d / "README.md").is_file() and _has_front_matter(d / "README.md"):
                    units[-1].card_path = d / "README.md"  # quantized variants share the card
            elif f.suffix.lower() == ".md" and fname != "README.md" and _has_front_matter(f):
                units.append(unit_for_file(f))
    if not units and not errors:
        errors.append((path, UnsupportedFormatError(path, "no model files found here")))
    return units, errors


def one_name_for_many(name: str | None, units: list[ModelUnit], paths: Sequence[Path]) -> IngestError | None:
    """The error of a ``--name`` given for more than one model (None when it names one)."""
    if name is None or len(units) <= 1:
        return None
    return IngestError(", ".join(str(p) for p in paths),
                       f"--name {name!r} applies to one model, but {len(units)} were found; "
                       "ingest them one at a time or drop --name")
