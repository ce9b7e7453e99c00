"""Load lake models for benchmark tasks, or refuse clearly when a model cannot do a task.

Models are loaded with ``transformers`` from the files the catalog points at, local files
only. GGUF files go through transformers' own GGUF loader (weights dequantized to float32)
for the architectures it supports; anything else is refused with a message that says what
to do instead.
"""
from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modellake.store.errors import TaskError
from modellake.store.records import ModelRecord

DECODER_TYPES = {
    "gpt2", "gptj", "gpt_neo", "gpt_neox", "gpt_bigcode", "llama", "mistral", "mixtral",
    "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2", "gemma3", "gemma3_text",
    "phi", "phi3", "opt", "falcon", "bloom", "mpt", "starcoder2", "olmo", "olmo2", "stablelm",
    "smollm3", "granite", "cohere", "mamba", "nemotron", "deci", "lfm2",
}
CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel")
SIDE_HEAD_FILE = "classifier_head.safetensors"
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer.model", "vocab.json",
                   "spiece.model", "sentencepiece.bpe.model")


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """No progress bars or load-report warnings from transformers while we load models."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[int]:
    """Use ``n`` threads (default: every core) inside, restore the caller's setting after."""
    import torch

    old = torch.get_num_threads()
    n = n or os.cpu_count() or 1
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(old)


SMALL_MODEL_PARAMS = 5_000_000
ENGINES = ("auto", "transformers")


def _others_running(samples: int = 3, gap_s: float = 0.01) -> float | None:
    """Runnable tasks of *other* work right now: the median of a few ``procs_running``
    samples of /proc/stat, less this thread (None where /proc is not there)."""
    import time

    counts = []
    for i in range(samples):
        try:
            with open("/proc/stat", encoding="ascii") as f:
                line = next((ln for ln in f if ln.startswith("procs_running")), None)
        except OSError:
            return None
        if line is None:
            return None
        counts.append(int(line.split()[1]))
        if i + 1 < samples:
            time.sleep(gap_s)
    counts.sort()
    return max(0.0, counts[len(counts) // 2] - 1.0)


def idle_cores() -> int:
    """Cores not busy with other work right now, at least 1.

    Read from the runnable-task count (less this process's own thread), not from the load
    average, which remembers this process's own recent work for a minute (so a benchmark
    that just ran would keep itself to one core). The 1-minute load average is the fallback.
    """
    cores = os.cpu_count() or 1
    busy = _others_running()
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except (OSError, AttributeError):
            return cores
    return max(1, min(cores, int(cores - busy + 0.5)))


def threads_for(record: ModelRecord) -> int:
    """Torch threads for a model: every idle core for real models; one for tiny ones.

    Intra-op threads synchronise at every matrix product: on cores that other processes
    keep busy, or for products too small to split, extra threads cost far more than they
    give (measured here: 10x slower for a 1M-parameter model, 0.66x for MiniLM, on 2 cores
    with a load average of 5).
    """
    if record.num_parameters is not None and record.num_parameters < SMALL_MODEL_PARAMS:
        return 1
    return idle_cores()


def resolve_device(device: str | None) -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TaskError(f"device {device!r} requested but torch sees no CUDA device; use --device cpu")
    return device


def verify_files(record: ModelRecord) -> None:
    """Check that the model's files on disk are still the ones the catalog hashed."""
    from modellake.store.records import FileRecord
    from modellake.tools.ingest.pipeline import content_hash, sha256_file

    src = Path(record.source)
    base = src if src.is_dir() else src.parent
    now = []
    for f in record.files:
        p = base / f.path
        if not p.is_file():
            raise TaskError(f"model {record.name}: file {p} listed at ingest is missing; "
                            f"re-ingest the model (`modellake ingest {record.source}`)")
        if p.stat().st_size != f.size:
            now = None
            break
        now.append(FileRecord(f.path, f.size, sha256_file(p)))
    if now is None or content_hash(now) != record.content_hash:
        raise TaskError(f"model {record.name}: its files changed since ingest (content hash "
                        f"differs); re-ingest it (`modellake ingest {record.source}`) so the run "
                        "is recorded against the weights actually evaluated")


@dataclass
class ClassifierHead:
    """A trained classification head the task can use, with its label mapping."""

    source: str                    # "transformers" | "sidecar"
    labels: list[str]              # head output index -> label name


def _norm_label(x: Any) -> str:
    return str(x).strip().lower()


class ModelHandle:
    """One lake model opened for benchmarking; loads each variant (encoder, LM...) once."""

    def __init__(self, record: ModelRecord, device: str = "cpu", verify: bool = True,
                 engine: str = "auto") -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}")
        self.record = record
        self.device = device
        self.engine = engine          # auto: packed encoder forward where it is exact
        self.forward: str | None = None       # what computed the current run's embeddings
        self.packed_note: str | None = None   # what the packed-forward check decided
        self._tok: Any = None
        self._loaded: dict[str, Any] = {}
        if record.format == "card":
            raise TaskError(f"model {record.name} is card-only (no weights in the lake): there is "
                            "nothing to run; ingest its weights to benchmark it, or import its "
                            f"reported results with `modellake import-results FILE --model {record.name}`")
        if record.format == "adapter":
            raise TaskError(f"model {record.name} is a PEFT adapter (of {record.adapter_base or 'an unknown base'}): "
                            "merge it into its base model first (peft `merge_and_unload()`), save "
                            "the result with its tokenizer, and ingest that")
        src = Path(record.source)
        if not src.exists():
            raise TaskError(f"model {record.name}: its files at {src} are gone; re-ingest the "
                            "model from where it lives now")
        self.gguf_file: str | None = None
        if record.format == "gguf":
            self.root = src.parent if src.is_file() else src
            self.gguf_file = src.name if src.is_file() else next(
                (p.name for p in sorted(src.glob("*.gguf"))), None)
            self._check_gguf_runtime()
            self.config: dict[str, Any] = {"model_type": record.architecture, "architectures": []}
        else:
            if not src.is_dir():
                raise TaskError(f"model {record.name} is a bare weight file ({src.name}) without "
                                "config.json or tokenizer; put it in a directory with the config and "
                                "tokenizer files of its architecture and ingest that directory")
            self.root = src
            cfg = src / "config.json"
            if not cfg.is_file():
                raise TaskError(f"model {record.name}: no config.json in {src}; transformers cannot "
                                "build the model without it")
            self.config = json.loads(cfg.read_text(encoding="utf-8"))
        if verify:
            verify_files(record)

    # -- what the model is ----------------------------------------------------
    @property
    def architectures(self) -> list[str]:
        return list(self.config.get("architectures") or [])

    @property
    def model_type(self) -> str:
        return str(self.config.get("model_type") or self.record.architecture or "")

    @property
    def is_causal_lm(self) -> bool:
        if self.gguf_file:
            return True
        if self.architectures:
            return any(a.endswith(CAUSAL_SUFFIXES) for a in self.architectures)
        return self.model_type in DECODER_TYPES

    @property
    def is_decoder_family(self) -> bool:
        return (self.is_causal_lm or self.model_type in DECODER_TYPES
                or any("ForConditionalGeneration" in a for a in self.architectures)
                or bool(self.config.get("is_encoder_decoder")))

    @property
    def is_masked_lm(self) -> bool:
        return any(a.endswith(("ForMaskedLM", "ForPreTraining")) for a in self.architectures)

    def describe(self) -> str:
        return self.architectures[0] if self.architectures else (self.model_type or "unknown architecture")

    def _check_gguf_runtime(self) -> None:
        arch = (self.record.architecture or "").lower()
        try:
            import gguf  # noqa: F401
            from transformers.integrations.ggml import GGUF_CONFIG_MAPPING
            supported = set(GGUF_CONFIG_MAPPING)
        except ImportError:
            supported = set()
        if self.gguf_file is None or arch not in supported:
            raise TaskError(
                f"model {self.record.name} is a GGUF file of architecture {arch or 'unknown'!r} and "
                "there is no runtime here that can run it (transformers' GGUF loader reads "
                f"{', '.join(sorted(supported)) or 'nothing: the gguf package is missing'}); "
                "convert it to a transformers directory (config.json + safetensors + tokenizer) "
                "and ingest that")

    def check(self, kind: str) -> None:
        """Raise :class:`TaskError` unless this model can do a task of ``kind``."""
        name, what = self.record.name, self.describe()
        if kind in ("similarity", "classification") and self.is_decoder_family:
            raise TaskError(f"model {name} is a generative model ({what}); {kind} tasks mean-pool "
                            "an encoder's hidden states, so they need an encoder (BERT-like) model "
                            "(try a probe or perplexity task instead)")
        if kind == "perplexity" and not self.is_causal_lm:
            raise TaskError(f"model {name} is a {what}, not a causal language model: perplexity "
                            "needs a next-token head (…ForCausalLM); for a masked LM use a "
                            "pseudo_perplexity task")
        if kind == "pseudo_perplexity" and not self.is_masked_lm:
            raise TaskError(f"model {name} is a {what} without a masked-LM head: pseudo-perplexity "
                            "needs …ForMaskedLM weights" + (
                                "; for a causal LM use a perplexity task" if self.is_causal_lm else
                                " (a sentence-embedding checkpoint has none)"))
        if self.gguf_file and not self.has_tokenizer_files():
            raise TaskError(f"model {name}: its GGUF file {self.gguf_file} carries no tokenizer "
                            "(no tokenizer.ggml.model in its metadata): convert it again with its "
                            "tokenizer, or benchmark the model it was converted from")
        if not self.has_tokenizer_files():
            raise TaskError(f"model {name} has no tokenizer in {self.root} (none of "
                            f"{', '.join(TOKENIZER_FILES)}): copy its base model's tokenizer files "
                            "next to its weights and re-ingest")

    def has_tokenizer_files(self) -> bool:
        if self.gguf_file:  # GGUF files carry their tokenizer, when written with one
            kv = (self.record.config or {}).get("kv")
            return not isinstance(kv, dict) or "tokenizer.ggml.model" in kv
        return any((self.root / f).is_file() for f in TOKENIZER_FILES)

    # -- loading ----------------------------------------------------------------
    def _kwargs(self) -> dict[str, Any]:
        kw: dict[str, Any] = {"local_files_only": True}
        if self.gguf_file:
            kw["gguf_file"] = self.gguf_file
        return kw

    def tokenizer(self) -> Any:
        if self._tok is None:
            from transformers import AutoTokenizer

            try:
                with quiet_transformers():
                    tok = AutoTokenizer.from_pretrained(str(self.root), **self._kwargs())
            except Exception as exc:  # noqa: BLE001 - transformers raises many kinds here
                said = (str(exc).splitlines() or [""])[0][:200]  # the library's words, quoted
                raise TaskError(f"model {self.record.name}: cannot load its tokenizer from "
                                f"{self.root} ({type(exc).__name__}: \"{said}\"); copy its base "
                                "model's tokenizer files next to its weights") from exc
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token or tok.unk_token
            if tok.pad_token is None:
                raise TaskError(f"model {self.record.name}: its tokenizer has no pad, eos or unk "
                                "token to pad batches with")
            self._tok = tok
        return self._tok

    def cached(self, key: str, build: Any) -> Any:
        """``build()``'s result, computed once per opened model (dropped by :meth:`close`)."""
        if key not in self._loaded:
            self._loaded[key] = build()
        return self._loaded[key]

    def _load(self, key: str, auto_cls: Any, allowed_missing: tuple[str, ...] = ()) -> Any:
        if key in self._loaded:
            return self._loaded[key]
        import torch

        try:
            with quiet_transformers():
                model, info = auto_cls.from_pretrained(str(self.root), dtype=torch.float32,
                                                       output_loading_info=True, **self._kwargs())
        except TaskError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise TaskError(f"model {self.record.name}: transformers cannot load it as "
                            f"{auto_cls.__name__} ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:200]})") from exc
        missing = [k for k in info.get("missing_keys", [])
                   if not any(k.startswith(p) or f".{p}" in k for p in allowed_missing)]
        if missing:
            raise TaskError(f"model {self.record.name}: its checkpoint lacks weights that "
                            f"{auto_cls.__name__} needs ({', '.join(sorted(missing)[:4])}"
                            f"{'…' if len(missing) > 4 else ''}); it has no trained head for this task")
        model.eval().to(self.device)
        self._loaded[key] = model
        return model

    def encoder(self) -> Any:
        from transformers import AutoModel

        return self._load("encoder", AutoModel, allowed_missing=("pooler",))

    def causal_lm(self) -> Any:
        from transformers import AutoModelForCausalLM

        return self._load("causal", AutoModelForCausalLM)

    def masked_lm(self) -> Any:
        from transformers import AutoModelForMaskedLM

        return self._load("masked", AutoModelForMaskedLM)

    def sequence_classifier(self) -> Any:
        from transformers import AutoModelForSequenceClassification

        return self._load("seqcls", AutoModelForSequenceClassification)

    def sidecar_head(self) -> tuple[Any, Any] | None:
        """(weight, bias) of a ``classifier_head.safetensors`` next to the encoder, if any."""
        if "sidecar" in self._loaded:
            return self._loaded["sidecar"]
        from safetensors.torch import load_file

        p = self.root / SIDE_HEAD_FILE
        out = None
        if p.is_file():
            t = load_file(str(p))
            if "classifier.weight" in t and "classifier.bias" in t:
                out = (t["classifier.weight"].float().to(self.device),
                       t["classifier.bias"].float().to(self.device))
        self._loaded["sidecar"] = out
        return out

    def classifier_head(self, task_labels: list[str]) -> tuple[ClassifierHead | None, str]:
        """The model's own head when its labels are exactly the task's labels, else why not."""
        wanted = {_norm_label(x) for x in task_labels}
        if any(a.endswith("ForSequenceClassification") for a in self.architectures):
            id2label = self.config.get("id2label") or {}
            n = len(id2label) or int(self.config.get("num_labels") or 2)
            labels = [str(id2label.get(str(i), id2label.get(i, f"LABEL_{i}"))) for i in range(n)]
            if {_norm_label(x) for x in labels} == wanted and len(labels) == len(wanted):
                return ClassifierHead("transformers", labels), ""
            return None, (f"its {self.architectures[0]} head has labels {labels}, not the task's "
                          f"{sorted(task_labels)}")
        p = self.root / SIDE_HEAD_FILE
        if p.is_file():
            from safetensors import safe_open

            with safe_open(str(p), framework="pt") as f:
                meta = f.metadata() or {}
            try:
                id2label = json.loads(meta.get("id2label", "{}"))
            except ValueError:
                id2label = {}
            if meta.get("pooling", "mean") != "mean":
                return None, f"{SIDE_HEAD_FILE} uses {meta.get('pooling')!r} pooling, not mean"
            labels = [str(id2label.get(str(i), f"LABEL_{i}")) for i in range(len(id2label))]
            if labels and {_norm_label(x) for x in labels} == wanted and len(labels) == len(wanted):
                return ClassifierHead("sidecar", labels), ""
            return None, f"its {SIDE_HEAD_FILE} has labels {labels}, not the task's {sorted(task_labels)}"
        return None, "it has no classification head"

    def close(self) -> None:
        self._loaded.clear()
        self._tok = None
