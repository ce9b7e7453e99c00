"""The light runtime: MiniLM exported once to ONNX, checked against torch, run without it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from modellake.tools.embedding import embedder as E
from modellake.tools.embedding import onnx_encoder as O

TEXTS = ["a small encoder for sentiment", "", "Ein Modell für die Erkennung von Sprache.",
         "LLaMA 2 fine-tuned on medical dialogues; 7B parameters; apache-2.0 (Q4_K_M.gguf)",
         "日本語の文章を分類するモデル", "Модель для классификации текста 😀 — naïve café",
         "def forward(self, x):\n    return self.linear(x) * 2", "model card passage " * 200]
QUERY = "small encoder for sentiment"


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory) -> Path:
    """One export per test session, in its own cache folder."""
    d = tmp_path_factory.mktemp("encoder-cache")
    stale = [d / "all-MiniLM-L6-v2-0.0.9-onnx1.onnx", d / "all-MiniLM-L6-v2-0.0.9-onnx1.json"]
    for f in stale:
        f.write_text("an older export")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELLAKE_CACHE", str(d))
        check = O.export()
    assert check.ok and check.tokens_equal and check.max_gap <= O.MAX_GAP, check
    assert not any(f.exists() for f in stale)  # older exports are removed once a new one passed
    return d


@pytest.fixture(scope="session")
def reference():
    """The packaged model through sentence-transformers (what the torch path computes)."""
    return O._sentence_transformer()


@pytest.fixture
def fresh_embedder(monkeypatch):
    """The embedder as in a new process (restored afterwards)."""
    for attr, value in (("_onnx", None), ("_onnx_why", ""), ("_onnx_tried", False), ("_onnx_off", False),
                        ("_override", None)):
        monkeypatch.setattr(E, attr, value)
    monkeypatch.delenv("MODELLAKE_EMBEDDER", raising=False)
    return E


def _export_file(d: Path) -> Path:
    return next(d.glob("*.onnx"))


def _copy_export(src: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    onnx = _export_file(src)
    shutil.copy(onnx, dest / onnx.name)
    shutil.copy(O.record_path(onnx), O.record_path(dest / onnx.name))
    return dest / onnx.name


def test_export_agrees_with_sentence_transformers(export_dir, reference):
    enc, why = O.load(_export_file(export_dir))
    assert enc is not None, why
    want = reference.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    alone = np.concatenate([enc.encode([t], threads=1) for t in TEXTS])
    batched = enc.encode(TEXTS, threads=2)
    for got in (alone, batched):
        assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        assert O.cosine_gap(got, want) <= 1e-4
    record = json.loads(O.record_path(_export_file(export_dir)).read_text())
    assert record["ok"] and record["tokens_equal"] and record["max_gap"] <= 1e-4
    assert record["texts"] == O.CHECK_TEXTS and record["torch_version"] and record["onnxruntime_version"]
    assert record["onnx_bytes"] == _export_file(export_dir).stat().st_size > 10_000_000
    name = _export_file(export_dir).name
    assert O.package_version() in name and f"onnx{O.FORMAT}" in name


def test_token_ids_equal_the_transformers_tokenizer(export_dir, reference):
    enc, why = O.load(_export_file(export_dir))
    assert enc is not None, why
    texts = TEXTS + O.CHECK_TEXTS
    want = reference.tokenizer(texts, truncation=True, max_length=reference.max_seq_length)["input_ids"]
    assert enc.token_ids(texts) == [list(x) for x in want]
    assert [enc.token_ids([t])[0] for t in texts] == [list(x) for x in want]
    long_ids = enc.token_ids([TEXTS[-1]])[0]
    assert len(long_ids) == reference.max_seq_length == 256 and long_ids[0] == 101 and long_ids[-1] == 102


def test_damaged_or_mismatching_exports_are_refused(export_dir, tmp_path):
    bad = _copy_export(export_dir, tmp_path)
    record = json.loads(O.record_path(bad).read_text())

    def refused(**changes) -> str:
        O.record_path(bad).write_text(json.dumps({**record, **changes}))
        enc, why = O.load(bad)
        assert enc is None and why
        return why

    assert "cosine gap 3e-02" in refused(ok=False, reason="cosine gap 3e-02")
    assert "another version" in refused(format=O.FORMAT - 1)
    assert "another version" in refused(package_version="0.0.1")
    assert "does not match its check" in refused(probe_vector=[-x for x in record["probe_vector"]])
    assert "tokenizes the probe text otherwise" in refused(probe_ids=record["probe_ids"][:-1])
    O.record_path(bad).write_text(json.dumps(record))
    data = bytearray(bad.read_bytes())
    rng = np.random.default_rng(0)
    for start in range(len(data) // 2, len(data) - 65536, 1 << 20):  # the encoder layers' weights
        data[start:start + 65536] = rng.integers(0, 256, 65536, dtype=np.uint8).tobytes()
    bad.write_bytes(bytes(data))  # same size, other weights
    enc, why = O.load(bad)
    assert enc is None and ("does not match its check" in why or "cannot be loaded" in why), why
    bad.write_bytes(bytes(data[: len(data) // 2]))  # cut short
    enc, why = O.load(bad)
    assert enc is None and "size changed" in why
    bad.write_bytes(b"\0" * record["onnx_bytes"])  # not ONNX at all
    enc, why = O.load(bad)
    assert enc is None and "cannot be loaded" in why
    enc, why = O.load(tmp_path / "absent.onnx")
    assert enc is None and "no exported encoder" in why


def test_the_embedder_falls_back_to_torch_with_the_reason(fresh_embedder, export_dir, tmp_path, monkeypatch):
    bad = _copy_export(export_dir, tmp_path)
    record = json.loads(O.record_path(bad).read_text())
    O.record_path(bad).write_text(json.dumps({**record, "ok": False, "reason": "cosine gap 3e-02"}))
    bad.unlink()  # a failed export leaves only its record
    monkeypatch.setenv("MODELLAKE_CACHE", str(tmp_path))
    assert not O.needs_export() and not E.needs_prepare()  # a failed check is not retried
    got = E.embed_query(QUERY)
    assert E.runtime() in ("torch", "torch-packed") and "cosine gap 3e-02" in E.why_not_onnx()
    monkeypatch.setattr(E, "_onnx_tried", False)
    (tmp_path / "other").mkdir()
    _copy_export(export_dir, tmp_path / "other")
    monkeypatch.setenv("MODELLAKE_CACHE", str(tmp_path / "other"))
    assert E.runtime() == "onnx" and E.why_not_onnx() == ""
    assert O.cosine_gap(E.embed_query(QUERY)[None], got[None]) <= 1e-4
    assert E.set_onnx(False) is False and E.runtime() != "onnx" and "set_onnx" in E.why_not_onnx()
    assert E.set_onnx(True) is True


def test_first_use_exports_once_and_says_so(fresh_embedder, export_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MODELLAKE_CACHE", str(tmp_path / "cache"))
    made = []

    def fake_export(path=None):  # the session's export stands in for a new one (same files)
        made.append(path)
        _copy_export(export_dir, tmp_path / "cache")
        return O.check_record(_export_file(tmp_path / "cache"))

    monkeypatch.setattr(O, "export", fake_export)
    assert E.needs_prepare()
    calls = []
    assert E.prepare(lambda stage, done, total: calls.append((stage, done, total))) == "onnx"
    assert calls == [("encoder", 0, 1), ("encoder", 1, 1)] and len(made) == 1
    assert not E.needs_prepare() and E.prepare() == "onnx" and len(made) == 1
    assert E.embed(TEXTS[:3]).shape == (3, 384) and E.is_loaded()


def test_an_override_keeps_priority(fresh_embedder, export_dir, monkeypatch):
    monkeypatch.setenv("MODELLAKE_CACHE", str(export_dir))
    E.set_embedder(lambda texts: np.ones((len(texts), 384), np.float32) / np.sqrt(384), "fake")
    assert E.runtime() == "fake" and E.name() == "fake" and not E.needs_prepare()
    assert np.allclose(E.embed_query("x"), 1 / np.sqrt(384))
    E.set_embedder(None)
    assert E.runtime() == "onnx" and E.name() == "all-MiniLM-L6-v2"


_QUERY_CODE = """
import json, sys
from modellake.tools.embedding import embedder as E
q = E.embed_query(sys.argv[1])
b = E.embed([sys.argv[1], "gguf", "a longer card passage " * 50])
print(json.dumps({"runtime": E.runtime(), "query": q.tolist(), "batch": b.tolist(),
                  "imported": sorted({"torch", "transformers", "sentence_transformers"} & set(sys.modules))}))
"""


def test_queries_are_embedded_without_torch(export_dir, reference):
    env = {**os.environ, "MODELLAKE_CACHE": str(export_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("MODELLAKE_EMBEDDER", None)
    proc = subprocess.run([sys.executable, "-c", _QUERY_CODE, QUERY], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert out["runtime"] == "onnx" and out["imported"] == []
    want = reference.encode([QUERY, QUERY, "gguf", "a longer card passage " * 50], normalize_embeddings=True)
    got = np.asarray([out["query"], *out["batch"]], np.float32)
    assert O.cosine_gap(got, want) <= 1e-4


def test_search_list_and_show_never_import_torch(export_dir, tmp_path):
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "sentiment-bert.md").write_text("---\nlicense: mit\npipeline_tag: text-classification\n"
                                             "---\n# sentiment-bert\nClassifies the sentiment of reviews.\n")
    (cards / "chat-llm.md").write_text("---\nlicense: apache-2.0\n---\n# chat-llm\nA chat assistant.\n")
    lake = tmp_path / "lake"
    code = ("import sys\nfrom modellake.ui.cli import main\n"
            f"rc = main(['--lake', {str(lake)!r}] + sys.argv[1:])\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', rc)")
    env = {**os.environ, "MODELLAKE_CACHE": str(export_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("MODELLAKE_EMBEDDER", None)

    def cli(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return proc.stdout

    assert cli("ingest", str(cards)).strip().endswith("NO-TORCH 0")  # cards indexed via ONNX
    found = cli("search", "what is the sentiment of this review")
    assert found.index("sentiment-bert") < found.index("NO-TORCH 0")
    assert cli("list").strip().endswith("NO-TORCH 0")
    assert cli("show", "chat-llm").strip().endswith("NO-TORCH 0")


def test_runs_keep_to_the_text_and_token_budgets():
    lengths = [300, 5, 256, 40, 40, 7, 120, 130, 12, 256, 3] + [10] * 70
    ids = [[1] * n for n in lengths]
    runs = list(O._runs(ids))
    assert sorted(i for run in runs for i in run) == list(range(len(ids)))  # each text once
    for run in runs:
        widest = max(lengths[i] for i in run)
        assert len(run) <= O.BATCH
        assert len(run) == 1 or len(run) * widest <= O.BATCH_TOKENS
    firsts = [lengths[run[0]] for run in runs]
    assert firsts == sorted(firsts)  # sorted by length: little padding
    assert max(len(run) for run in runs) == O.BATCH  # short texts fill a run
