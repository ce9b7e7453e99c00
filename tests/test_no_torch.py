"""Ingest of safetensors and GGUF files runs without torch (its import alone costs ~1.4 s).

The checks run ``ingest`` in a fresh interpreter and look at its ``sys.modules``; the
models are written here, in the test process, where torch may be used freely.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from modellake.store.catalog import Catalog
from modellake.store.errors import InvalidModelFileError
from modellake.tools.formats import safetensors_fmt
from modellake.tools.formats.safetensors_fmt import open_safetensors
from modellake.tools.ingest.tensorstats import _f8_table, summarize, summarize_blocks

_INGEST = """
import json, sys
from modellake.store.catalog import Catalog
from modellake.tools.ingest import ingest

catalog = Catalog(sys.argv[1])
report = ingest(catalog, [sys.argv[2]], index=False)
catalog.close()
print(json.dumps({"torch": "torch" in sys.modules, "models": [m.name for m in report.models],
                  "errors": [e.error for e in report.errors]}))
"""


def _ingest_in_fresh_process(lake: Path, model: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _INGEST, str(lake), str(model)],
                         capture_output=True, text=True, check=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _check_ingested_without_torch(tmp_path: Path, model: Path, numel: dict[str, int]) -> None:
    lake = tmp_path / "catalog.db"
    result = _ingest_in_fresh_process(lake, model)
    assert result["errors"] == [] and len(result["models"]) == 1
    assert result["torch"] is False, "ingest imported torch"
    with Catalog(lake) as catalog:
        record = catalog.get_model(result["models"][0])
        tensors = {t.name: t for t in catalog.tensors(record.id)}
        assert {name: t.numel for name, t in tensors.items()} == numel
        assert all(t.hash for t in tensors.values())
        assert catalog.sketch(record.id) is not None


def _mixed_tensors() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    w = torch.randn(64, 48, generator=g)
    return {"w.f32": w, "w.f16": w.half(), "w.bf16": w.bfloat16(),
            "w.f8e4m3": w.to(torch.float8_e4m3fn), "w.f8e5m2": w.to(torch.float8_e5m2),
            "position_ids": torch.arange(32, dtype=torch.int64), "scale": torch.tensor(2.0),
            "empty": torch.zeros(0, 4)}


def test_safetensors_directory_ingests_without_torch(tmp_path, bert_dir):
    entries = open_safetensors(bert_dir / "model.safetensors").entries
    numel = {e.name: math.prod(e.shape) for e in entries}
    _check_ingested_without_torch(tmp_path, bert_dir, numel)


def test_every_numpy_dtype_ingests_without_torch(tmp_path):
    model = tmp_path / "mixed"
    model.mkdir()
    tensors = _mixed_tensors()
    save_file(tensors, model / "model.safetensors")
    (model / "config.json").write_text(json.dumps({"model_type": "llama"}))
    _check_ingested_without_torch(tmp_path, model, {k: t.numel() for k, t in tensors.items()})


def test_gguf_ingests_without_torch(tmp_path):
    from test_gguf import TENSORS, write_gguf  # the tiny llama of the GGUF reader's tests (Q8_0 embedding)

    path = write_gguf(tmp_path / "tiny.gguf")
    _check_ingested_without_torch(tmp_path, path, {k: a.size for k, a in TENSORS.items()})


@pytest.mark.parametrize("dtype,torch_dtype", [("F8_E4M3", torch.float8_e4m3fn),
                                               ("F8_E5M2", torch.float8_e5m2)])
def test_f8_table_is_bit_exact_with_torch(dtype, torch_dtype):
    codes = torch.arange(256, dtype=torch.int32).to(torch.uint8)
    expected = codes.view(torch_dtype).float().numpy().view(np.uint32)
    got = _f8_table(dtype)
    assert got.dtype == np.float32
    assert np.array_equal(got.view(np.uint32), expected)  # NaN payloads and -0.0 included


def test_blocks_match_whole_tensor_across_block_ends(tmp_path, monkeypatch):
    """Small blocks (a tensor ending mid-block, many blocks) give the whole-tensor summary."""
    tensors = _mixed_tensors()
    path = tmp_path / "m.safetensors"
    save_file(tensors, path)
    monkeypatch.setattr(safetensors_fmt, "BLOCK_BYTES", 1000)
    wf = open_safetensors(path)
    for streamed, whole in zip(wf.stream(), wf.read(), strict=True):
        e = whole.entry
        ref = summarize(e.name, whole.values, e.shape, e.dtype, whole.raw, e.nbytes)
        blocks = list(streamed.blocks)
        assert all(b.nbytes <= 1000 for b in blocks)
        got, _ = summarize_blocks(e.name, blocks, e.shape, e.dtype, e.nbytes, None)
        assert (got.hash, got.numel, got.absmax, got.zero_fraction, got.distinct_estimate) == (
            ref.hash, ref.numel, ref.absmax, ref.zero_fraction, ref.distinct_estimate), e.name


def test_file_cut_short_while_streaming_is_a_clear_error(tmp_path):
    path = tmp_path / "m.safetensors"
    save_file({"a": torch.randn(64, 64), "b": torch.randn(64, 64)}, path)
    wf = open_safetensors(path)
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size - 100)
    with pytest.raises(InvalidModelFileError, match="truncated") as info:
        for td in wf.stream():
            list(td.blocks)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_overlapping_tensors_are_refused(tmp_path):
    header = json.dumps({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                         "b": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    path = tmp_path / "overlap.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 16)
    with pytest.raises(InvalidModelFileError, match="overlap"):
        open_safetensors(path)
