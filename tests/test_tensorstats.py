"""Streamed block statistics agree with whole-tensor statistics, for every float dtype."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from modellake.tools.formats.safetensors_fmt import open_safetensors
from modellake.tools.ingest.tensorstats import SketchPlan, summarize


def _tensors():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(300, 257, generator=g)
    w[w.abs() < 0.3] = 0.0  # plenty of exact zeros
    w[0, 0] = -0.0
    return {
        "f32": w.clone(),
        "f16": w.to(torch.float16),
        "bf16": w.to(torch.bfloat16),
        "f64": w.to(torch.float64)[:50],
        "int8q": (torch.round(w * 20).clamp(-127, 127) / 20),  # few distinct values per row
        "bias": torch.zeros(257),
        "ids": torch.arange(64, dtype=torch.int64),
    }


@pytest.mark.parametrize("name", list(_tensors()))
def test_stream_matches_whole_tensor(tmp_path, name):
    t = _tensors()[name]
    path = tmp_path / "m.safetensors"
    save_file({name: t.contiguous()}, path)
    wf = open_safetensors(path)
    [streamed] = [td for td in wf.stream()]
    assert streamed.blocks is not None  # the streaming path is the one under test
    [whole] = [td for td in wf.read()]
    e = whole.entry
    ref = summarize(e.name, whole.values, e.shape, e.dtype, whole.raw, e.nbytes)
    if streamed.blocks is None:
        got = summarize(e.name, streamed.values, e.shape, e.dtype, streamed.raw, e.nbytes)
    else:
        from modellake.tools.ingest.tensorstats import summarize_blocks

        got, _ = summarize_blocks(e.name, streamed.blocks, e.shape, e.dtype, e.nbytes, None)
    assert got.hash == ref.hash and got.numel == ref.numel
    for field in ("zero_fraction", "absmax", "distinct_estimate", "row_distinct"):
        assert getattr(got, field) == getattr(ref, field), field
    for field in ("mean", "std", "kurtosis"):
        a, b = getattr(got, field), getattr(ref, field)
        assert (a is None and b is None) or a == pytest.approx(b, rel=1e-9, abs=1e-12), field
    if t.is_floating_point():
        exact = t.double()
        assert got.zero_fraction == pytest.approx((exact == 0).double().mean().item())
        assert got.absmax == pytest.approx(exact.abs().max().item())


def test_sketch_coordinates_depend_only_on_layout():
    layout = [("a", [10, 10]), ("b", [5])]
    p1, p2 = SketchPlan(layout, dim=20), SketchPlan(list(reversed(layout)), dim=20)
    assert p1.layout_hash == p2.layout_hash
    x = np.arange(100, dtype=np.float32)
    y = np.arange(5, dtype=np.float32)
    for p in (p1, p2):
        p.take("a", x)
        p.take("b", y)
    assert p1.sketch().vector == p2.sketch().vector
    assert len(p1.sketch().vector) == 20 and p1.sketch().total_numel == 105
