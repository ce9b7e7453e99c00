"""Ingest: discover model files, read them safely, summarize their tensors, store them.

Public API (behind ``modellake ingest``): :func:`ingest` and :func:`hf_cache_units`.

Inside: :mod:`.discover` (which files make one model), :mod:`.tensorstats` (per-tensor
statistics and the weight sketch, streamed in blocks), :mod:`.pipeline` (one transaction per
model, a report of what was added and what failed).
"""
from __future__ import annotations

from modellake.tools.ingest.pipeline import hf_cache_units, ingest, sha256_file

__all__ = ["hf_cache_units", "ingest", "sha256_file"]
