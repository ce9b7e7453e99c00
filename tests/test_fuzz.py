"""A short, fixed-seed run of the hostile-input fuzzer (bench/fuzz.py): zero failures.

The long run (a million cases) is ``bench/fuzz.py --cases 1000000``; see its docstring.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parent.parent / "bench" / "fuzz.py"


def _fuzz_module():
    spec = importlib.util.spec_from_file_location("modellake_bench_fuzz", FUZZ)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_short_fuzz_run_has_no_failures(tmp_path):
    fuzz = _fuzz_module()
    totals, failures = fuzz.run(["--cases", "4000", "--seed", "20", "--workers", "2",
                                 "--seconds", "50", "--out", str(tmp_path / "failures")])
    assert not failures, "\n".join(f"{o.fmt}:{o.index} {o.status}\n{o.detail}" for o in failures[:5])
    assert set(totals) == set(fuzz.FORMATS)
    assert sum(t.cases for t in totals.values()) >= 1000  # even on a slow machine
    for fmt, tally in totals.items():
        assert tally.status["ok"] and (fmt == "card" or tally.status["refused"]), (fmt, tally.status)
