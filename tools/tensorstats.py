"""Per-tensor statistics and the fixed-size weight sketch, computed while streaming.

Everything here works on one tensor at a time as a flat numpy array, so memory
stays bounded by the largest tensor whatever the model size.
"""
from __future__ import annotations

import hashlib
import json
import math
import zlib
from collections.abc import Sequence

import numpy as np

from modellake.store.records import TensorSummary, WeightSketch

EXACT_LIMIT = 1 << 22      # tensors up to this many elements get exact moments
SAMPLE_SIZE = 1 << 20      # elements sampled for moments of larger tensors
DISTINCT_SAMPLE = 1 << 16  # elements sampled for the distinct-value estimate
SKETCH_DIM = 2048          # coordinates in a weight sketch
ROWS_FOR_DISTINCT = 8


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _sample_index(n: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.integers(0, n, size=k, dtype=np.int64))


def _moments(x: np.ndarray) -> tuple[float, float, float]:
    x = x.astype(np.float64, copy=False)
    mean = float(x.mean())
    d = x - mean
    var = float(np.mean(d * d))
    if var <= 0.0 or not math.isfinite(var):
        return mean, math.sqrt(max(var, 0.0)), 0.0
    kurt = float(np.mean((d * d) ** 2) / (var * var) - 3.0)
    return mean, math.sqrt(var), kurt


def _distinct(flat: np.ndarray, sample: np.ndarray | None) -> int:
    n = flat.size
    if n <= DISTINCT_SAMPLE:
        return int(np.unique(flat).size)
    s = sample if sample is not None and sample.size >= DISTINCT_SAMPLE else flat[
        _sample_index(n, DISTINCT_SAMPLE, n)]
    s = s[:DISTINCT_SAMPLE]
    u = int(np.unique(s).size)
    if u < 0.5 * s.size:  # saturated: few distinct values, the sample saw (nearly) all
        return u
    return int(min(n, round(u / s.size * n)))


def _row_distinct(flat: np.ndarray, shape: Sequence[int]) -> int | None:
    if len(shape) < 2 or flat.size == 0:
        return None
    cols = int(shape[-1])
    rows = flat.size // cols
    picks = np.unique(np.linspace(0, rows - 1, num=min(rows, ROWS_FOR_DISTINCT)).astype(np.int64))
    return max(int(np.unique(flat[r * cols:(r + 1) * cols]).size) for r in picks)


def summarize(name: str, values: np.ndarray, shape: Sequence[int], dtype: str,
              raw: memoryview | bytes | None = None, nbytes: int | None = None) -> TensorSummary:
    """Statistics of one tensor.

    ``values`` is the tensor as a flat numeric numpy array (floats for float or
    dequantized tensors, integers for integer buffers). ``raw`` is its stored
    bytes, hashed exactly; when absent the hash covers ``values``.
    """
    flat = values.reshape(-1)
    n = int(flat.size)
    raw_bytes = raw if raw is not None else flat.tobytes()
    crc = zlib.crc32(raw_bytes)
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([dtype, list(shape), crc]).encode())
    if n:
        h.update(np.ascontiguousarray(flat[_sample_index(n, min(n, 4096), 7)]).tobytes())
    summary = TensorSummary(name=name, shape=[int(s) for s in shape], dtype=dtype, numel=n,
                            nbytes=int(nbytes if nbytes is not None else len(raw_bytes)),
                            hash=h.hexdigest())
    if n == 0 or not np.issubdtype(flat.dtype, np.floating):
        return summary
    sample = flat if n <= EXACT_LIMIT else flat[_sample_index(n, SAMPLE_SIZE, n)]
    mean, std, kurt = _moments(sample)
    summary.mean, summary.std, summary.kurtosis = _finite(mean), _finite(std), _finite(kurt)
    summary.absmax = _finite(max(float(flat.max()), -float(flat.min())))
    summary.zero_fraction = 1.0 - np.count_nonzero(flat) / n
    summary.distinct_estimate = _distinct(flat, sample if n > EXACT_LIMIT else None)
    summary.row_distinct = _row_distinct(flat, shape)
    return summary


class SketchPlan:
    """Which coordinates to sample for a given tensor layout.

    The layout is the sorted list of (name, shape) of a model's float tensors;
    the coordinates are drawn from a generator seeded by the layout's hash, so
    every model with that layout is sampled at the same places.
    """

    def __init__(self, layout: Sequence[tuple[str, Sequence[int]]], dim: int = SKETCH_DIM) -> None:
        self.layout = sorted((n, [int(s) for s in shape]) for n, shape in layout)
        self.layout_hash = hashlib.sha256(json.dumps(self.layout).encode()).hexdigest()[:32]
        sizes = np.array([math.prod(s) for _, s in self.layout], dtype=np.int64)
        self.total = int(sizes.sum())
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        k = min(dim, self.total)
        rng = np.random.default_rng(int(self.layout_hash[:15], 16))
        picks = np.sort(rng.choice(self.total, size=k, replace=False)) if k else np.array([], np.int64)
        which = np.searchsorted(offsets, picks, side="right") - 1
        self._local: dict[str, np.ndarray] = {}
        for i, (tname, _) in enumerate(self.layout):
            sel = picks[which == i] - offsets[i]
            if sel.size:
                self._local[tname] = sel
        self._values: dict[str, np.ndarray] = {}

    def take(self, name: str, flat: np.ndarray) -> None:
        """Record the sampled values of one tensor (flat float array)."""
        idx = self._local.get(name)
        if idx is not None:
            self._values[name] = np.asarray(flat[idx], dtype=np.float32)

    def sketch(self) -> WeightSketch:
        parts = [self._values.get(n, np.full(self._local[n].size, np.nan, np.float32))
                 for n, _ in self.layout if n in self._local]
        vec = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        vec = np.nan_to_num(vec, nan=0.0, posinf=0.0, neginf=0.0)
        return WeightSketch(self.layout_hash, self.total, vec.astype(np.float32).tolist())
