"""Per-tensor statistics and the fixed-size weight sketch, computed while streaming.

``summarize`` works on one whole tensor as a flat numpy array. ``summarize_blocks``
gives the same summary from a tensor's stored elements handed over block by
block (what the safetensors reader streams), so memory stays bounded by the
block size whatever the tensor and model size. It reads each element once, in
cache-sized steps: the zero count and the absolute maximum come from the raw
bit patterns (no float conversion of BF16/F16/F8), the crc32 runs on a helper
thread, 8- and 16-bit tensors get their exact moments from a histogram of their
bit patterns, and only sampled elements are ever converted to floats.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from modellake.store.records import TensorSummary, WeightSketch
from modellake.tools.formats.base import STORED_DTYPES

EXACT_LIMIT = 1 << 22      # tensors up to this many elements get exact moments
SAMPLE_SIZE = 1 << 20      # elements sampled for moments of larger tensors
DISTINCT_SAMPLE = 1 << 16  # elements sampled for the distinct-value estimate
SKETCH_DIM = 2048          # coordinates in a weight sketch
ROWS_FOR_DISTINCT = 8
STEP = 1 << 18             # elements per cache-sized step of the streaming passes
MOMENT_STEP = 1 << 15      # elements per float64 step of the central moments
HIST_MIN = 1 << 16         # 16-bit tensors from this size up get moments from a histogram
ASYNC_CRC_BYTES = 1 << 20  # blocks from this size up get their crc32 on a helper thread

# float dtype -> (unsigned view of its bits, mask of all but the sign, first magnitude
# pattern that is not finite (+inf, or NaN where there is no inf), first NaN pattern).
# For a finite x, |x| grows with its magnitude bits, so max(bits & mask) gives absmax.
_FLOAT_BITS = {
    "F64": (np.dtype(np.uint64), np.uint64(0x7FFF_FFFF_FFFF_FFFF),
            0x7FF0_0000_0000_0000, 0x7FF0_0000_0000_0001),
    "F32": (np.dtype(np.uint32), np.uint32(0x7FFF_FFFF), 0x7F80_0000, 0x7F80_0001),
    "F16": (np.dtype(np.uint16), np.uint16(0x7FFF), 0x7C00, 0x7C01),
    "BF16": (np.dtype(np.uint16), np.uint16(0x7FFF), 0x7F80, 0x7F81),
    "F8_E5M2": (np.dtype(np.uint8), np.uint8(0x7F), 0x7C, 0x7D),
    "F8_E4M3": (np.dtype(np.uint8), np.uint8(0x7F), 0x7F, 0x7F),  # "fn": no inf
}
# 8-bit float dtype -> (exponent bits, mantissa bits, exponent bias); E4M3 is "fn": no inf,
# only its all-ones magnitude is NaN; E5M2 is IEEE-like (inf and NaNs at the top exponent)
_F8_FORMATS = {"F8_E4M3": (4, 3, 7), "F8_E5M2": (5, 2, 15)}


@functools.cache
def _f8_table(dtype: str) -> np.ndarray:
    """float32 value of each 8-bit pattern, bit for bit as torch converts it (what ``read()``
    yields): NaNs keep their sign and payload, with the quiet bit set."""
    ebits, mbits, bias = _F8_FORMATS[dtype]
    code = np.arange(256, dtype=np.uint32)
    sign, exp, man = code >> 7, (code >> mbits) & ((1 << ebits) - 1), code & ((1 << mbits) - 1)
    normal = (exp > 0).astype(np.uint32)
    mag = np.ldexp((man | normal << mbits).astype(np.float64),
                   np.maximum(exp, 1).astype(np.int32) - bias - mbits)  # exact in float32
    table = np.where(sign == 1, -mag, mag).astype(np.float32)
    top = exp == (1 << ebits) - 1
    special = top & (man == (1 << mbits) - 1) if dtype == "F8_E4M3" else top
    quiet_nan = np.where(man > 0, np.uint32(0x0040_0000) | man << (23 - mbits), np.uint32(0))
    table.view(np.uint32)[special] = (sign << 31 | 0x7F80_0000 | quiet_nan)[special]
    table.flags.writeable = False
    return table


def _hist_bins(dtype: str, n: int) -> int:
    """Bins of the bit-pattern histogram that gives a tensor's exact moments (0: none)."""
    width = STORED_DTYPES[dtype].itemsize
    if n > EXACT_LIMIT or width > 2 or (width == 2 and n < HIST_MIN):
        return 0
    return 1 << (8 * width)


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _sample_index(n: int, k: int, seed: int) -> np.ndarray:
    """Sorted positions of a fixed random sample (same n, k, seed: same positions)."""
    if k > DISTINCT_SAMPLE:
        return _big_sample_index(n, k, seed)
    return _small_sample_index(n, k, seed)


def _draw(n: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.integers(0, n, size=k, dtype=np.int64))
    idx.flags.writeable = False  # cached and shared
    return idx


# Layers repeat shapes, so the same samples are drawn over and over: keep a few.
_small_sample_index = functools.lru_cache(maxsize=64)(_draw)  # <= 512 KB each
_big_sample_index = functools.lru_cache(maxsize=4)(_draw)     # 8 MB each


def _sum64(x: np.ndarray) -> float:
    """Sum in float64, in fixed steps (the same for whole and streamed tensors)."""
    total = 0.0
    for i in range(0, x.size, STEP):
        total += float(np.add.reduce(x[i:i + STEP], dtype=np.float64))
    return total


@np.errstate(invalid="ignore", over="ignore")  # inf/NaN tensors: NaN moments, dropped later
def _central(x: np.ndarray, mean: float) -> tuple[float, float]:
    """Sums of the 2nd and 4th powers of ``x - mean``, in float64, cache-sized steps."""
    s2 = s4 = 0.0
    buf = np.empty(min(x.size, MOMENT_STEP), np.float64)
    for i in range(0, x.size, MOMENT_STEP):
        part = x[i:i + MOMENT_STEP]
        d = buf[:part.size]
        np.subtract(part, mean, out=d, dtype=np.float64)
        np.multiply(d, d, out=d)
        s2 += float(np.add.reduce(d))
        np.multiply(d, d, out=d)
        s4 += float(np.add.reduce(d))
    return s2, s4


def _finish_moments(mean: float, var: float, m4: float) -> tuple[float, float, float]:
    if var <= 0.0 or not math.isfinite(var):
        return mean, math.sqrt(max(var, 0.0)), 0.0
    return mean, math.sqrt(var), float(m4 / (var * var) - 3.0)


def _moments(x: np.ndarray, total: float | None = None) -> tuple[float, float, float]:
    """Mean, std and excess kurtosis (two passes in float64; ``total``: the sum if known)."""
    n = x.size
    mean = (_sum64(x) if total is None else total) / n
    s2, s4 = _central(x, mean)
    return _finish_moments(mean, s2 / n, s4 / n)


def _hist_values(dtype: str, bits: np.ndarray) -> np.ndarray:
    """Float64 values of 8- or 16-bit patterns."""
    return _values(dtype, bits.astype(_FLOAT_BITS[dtype][0]).view(STORED_DTYPES[dtype])
                   ).astype(np.float64)


@np.errstate(invalid="ignore", over="ignore")
def _hist_moments(dtype: str, counts: np.ndarray, n: int) -> tuple[float, float, float]:
    """Exact moments of an 8- or 16-bit tensor from the counts of its bit patterns."""
    used = np.flatnonzero(counts)
    c = counts[used].astype(np.float64)
    v = _hist_values(dtype, used)
    mean = float(np.add.reduce(c * v)) / n
    d = v - mean
    d *= d
    var = float(np.add.reduce(c * d)) / n
    d *= d
    return _finish_moments(mean, var, float(np.add.reduce(c * d)) / n)


def _values(dtype: str, stored: np.ndarray) -> np.ndarray:
    """Stored elements as the values ``summarize`` sees (BF16, F8 patterns -> float32)."""
    if dtype == "BF16":
        return (stored.astype(np.uint32) << 16).view(np.float32)
    if dtype in _F8_FORMATS:
        return _f8_table(dtype)[stored]
    return stored


def _count_distinct(x: np.ndarray, dtype: str | None = None) -> int:
    """``np.unique(values).size`` (-0.0 equals 0.0, NaNs count once).

    With a ``dtype`` of at most 16 bits, ``x`` holds stored elements and is counted
    from its bit patterns, which is faster than sorting the floats; so are float16
    values (whose numpy sort can misplace -0.0 and so count a value twice).
    """
    if dtype is None and x.dtype == np.float16:
        dtype = "F16"
    if dtype in _FLOAT_BITS and STORED_DTYPES[dtype].itemsize <= 2 and x.size:
        ubits, mask, _, nan_from = _FLOAT_BITS[dtype]
        bits = x.view(ubits)
        mag = bits & mask
        canon = np.where(mag == 0, ubits.type(0), bits)  # -0.0 -> 0.0
        canon[mag >= nan_from] = mask  # every NaN -> one NaN
        return int(np.count_nonzero(np.bincount(canon, minlength=1)))
    if dtype is not None:
        x = _values(dtype, x)
    return int(np.unique(x).size)


def _distinct_of(n: int, sample: np.ndarray, dtype: str | None = None) -> int:
    s = sample[:DISTINCT_SAMPLE]
    u = _count_distinct(s, dtype)
    if u < 0.5 * s.size:  # saturated: few distinct values, the sample saw (nearly) all
        return u
    return int(min(n, round(u / s.size * n)))


def _distinct(flat: np.ndarray, sample: np.ndarray | None) -> int:
    n = flat.size
    if n <= DISTINCT_SAMPLE:
        return _count_distinct(flat)
    s = sample if sample is not None and sample.size >= DISTINCT_SAMPLE else flat[
        _sample_index(n, DISTINCT_SAMPLE, n)]
    return _distinct_of(n, s)


def _row_picks(n: int, shape: Sequence[int]) -> list[tuple[int, int]] | None:
    """Element ranges of the rows sampled for ``row_distinct``."""
    if len(shape) < 2 or n == 0:
        return None
    cols = int(shape[-1])
    rows = n // cols
    picks = np.unique(np.linspace(0, rows - 1, num=min(rows, ROWS_FOR_DISTINCT)).astype(np.int64))
    return [(int(r) * cols, (int(r) + 1) * cols) for r in picks]


def _row_distinct(flat: np.ndarray, shape: Sequence[int]) -> int | None:
    ranges = _row_picks(flat.size, shape)
    if ranges is None:
        return None
    return max(_count_distinct(flat[a:b]) for a, b in ranges)


_crc_pool: ThreadPoolExecutor | None = None
_crc_lock = threading.Lock()


def _crc_worker() -> ThreadPoolExecutor:
    """One helper thread for crc32 (zlib releases the GIL), so it overlaps the statistics."""
    global _crc_pool
    with _crc_lock:
        if _crc_pool is None:
            _crc_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crc32")
        return _crc_pool


def _tensor_hash(dtype: str, shape: Sequence[int], crc: int, sampled: np.ndarray | None) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([dtype, list(shape), crc]).encode())
    if sampled is not None:
        h.update(np.ascontiguousarray(sampled).tobytes())
    return h.hexdigest()


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
    summary = TensorSummary(name=name, shape=[int(s) for s in shape], dtype=dtype, numel=n,
                            nbytes=int(nbytes if nbytes is not None else len(raw_bytes)),
                            hash=_tensor_hash(dtype, shape, crc, flat[
                                _sample_index(n, min(n, 4096), 7)] if n else None))
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


class _Gather:
    """Collects ``block[idx]`` for sorted global positions ``idx`` as blocks stream by."""

    __slots__ = ("idx", "pos", "parts")

    def __init__(self, idx: np.ndarray) -> None:
        self.idx, self.pos, self.parts = idx, 0, []

    def feed(self, start: int, block: np.ndarray) -> None:
        hi = int(np.searchsorted(self.idx, start + block.size, side="left"))
        if hi > self.pos:
            self.parts.append(block[self.idx[self.pos:hi] - start])  # a copy
            self.pos = hi

    def result(self, dtype: np.dtype) -> np.ndarray:
        if len(self.parts) == 1:
            return self.parts[0]
        return np.concatenate(self.parts) if self.parts else np.empty(0, dtype)


class _Ranges:
    """Collects copies of element ranges ``[a, b)`` as blocks stream by."""

    __slots__ = ("ranges", "parts")

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        self.ranges, self.parts = ranges, [[] for _ in ranges]

    def feed(self, start: int, block: np.ndarray) -> None:
        end = start + block.size
        for (a, b), parts in zip(self.ranges, self.parts):
            if a < end and b > start:
                parts.append(block[max(a, start) - start:min(b, end) - start].copy())

    def results(self) -> list[np.ndarray]:
        return [p[0] if len(p) == 1 else np.concatenate(p) for p in self.parts]


def summarize_blocks(name: str, blocks: Iterable[np.ndarray], shape: Sequence[int], dtype: str,
                     nbytes: int | None = None, sketch_index: np.ndarray | None = None,
                     ) -> tuple[TensorSummary, np.ndarray | None]:
    """Statistics of one tensor handed over as blocks of its stored elements.

    ``blocks`` are flat arrays of dtype ``STORED_DTYPES[dtype]`` (BF16 and F8 as
    their raw bit patterns), in order, covering the tensor once. The summary is the one
    ``summarize`` gives for the same tensor (the moments up to float64 rounding).
    ``sketch_index``: sorted positions whose values to return (as float32) for a
    ``SketchPlan``; the second item is None when not asked for.
    """
    scan = _BlockScan(dtype, [int(s) for s in shape], sketch_index)
    for block in blocks:
        scan.feed(block.reshape(-1))
    return scan.finish(name, nbytes)


class _BlockScan:
    """One streaming pass over a tensor's stored elements, and the summary made of it.

    On the way: the crc32, the zero count and largest magnitude from the bit patterns, and
    what the moments and distinct counts need (by size and dtype: a histogram of the bit
    patterns, the whole tensor, or a fixed sample), besides the elements the hash, the row
    distinct counts and the weight sketch sample.
    """

    def __init__(self, dtype: str, shape: list[int], sketch_index: np.ndarray | None) -> None:
        self.dtype, self.shape = dtype, shape
        self.stored = STORED_DTYPES[dtype]
        self.n = n = math.prod(shape)
        self.bits = _FLOAT_BITS.get(dtype)
        self.is_float = self.bits is not None and n > 0
        self.hashed = _Gather(_sample_index(n, min(n, 4096), 7)) if n else None
        self.gathers = [self.hashed] if self.hashed is not None else []
        self.sampled: _Gather | None = None  # moments (and distinct count) of large tensors
        self.distinct_g: _Gather | None = None  # distinct count of mid-sized ones
        self.sketch_g: _Gather | None = None
        self.rows: _Ranges | None = None
        self.hist: np.ndarray | None = None  # bit-pattern counts: exact moments of 8/16-bit floats
        self.kept: list[np.ndarray] | None = None  # the whole tensor's blocks
        self.crc: int | Future = 0  # running crc32; a Future while the helper thread computes it
        self.nonzero = self.top = 0  # nonzero count, largest magnitude (as bits)
        self.total = 0.0  # float64 sum, for exact moments of 32/64-bit floats
        self.start = 0  # elements seen
        if self.is_float:
            self._plan_float(sketch_index)

    def _plan_float(self, sketch_index: np.ndarray | None) -> None:
        """Choose what the pass over a float tensor collects."""
        n = self.n
        self.scratch = np.empty(min(n, STEP), self.bits[0])
        if n > EXACT_LIMIT:  # moments (and distinct count) from the fixed sample
            self.sampled = _Gather(_sample_index(n, SAMPLE_SIZE, n))
            self.gathers.append(self.sampled)
        else:
            if n > DISTINCT_SAMPLE:
                self.distinct_g = _Gather(_sample_index(n, DISTINCT_SAMPLE, n))
                self.gathers.append(self.distinct_g)
            if bins := _hist_bins(self.dtype, n):
                self.hist = np.zeros(bins, np.int64)  # exact moments from the bit patterns
            if self.hist is None or n <= DISTINCT_SAMPLE:
                self.kept = []  # the whole tensor: exact moments or exact distinct count
        if sketch_index is not None and sketch_index.size:
            self.sketch_g = _Gather(sketch_index)
            self.gathers.append(self.sketch_g)
        picks = _row_picks(n, self.shape)
        self.rows = _Ranges(picks) if picks else None

    def feed(self, block: np.ndarray) -> None:
        """Take the next (flat) block."""
        self._crc(block)
        if self.is_float:
            self._scan_bits(block)
        for g in self.gathers:
            g.feed(self.start, block)
        if self.rows is not None:
            self.rows.feed(self.start, block)
        if self.kept is not None:
            self.kept.append(block)  # at most EXACT_LIMIT elements
        self.start += block.size

    def _crc(self, block: np.ndarray) -> None:
        """Carry the crc32 on: a large block's on the helper thread, one block in flight at most."""
        if isinstance(self.crc, Future):
            self.crc = self.crc.result()  # one block in flight: bounded memory
        if block.nbytes >= ASYNC_CRC_BYTES:
            self.crc = _crc_worker().submit(zlib.crc32, block, self.crc)
        else:
            self.crc = zlib.crc32(block, self.crc)

    def _scan_bits(self, block: np.ndarray) -> None:
        """In cache-sized steps: count the bit patterns into the histogram, or else count
        nonzeros, track the largest magnitude and (a kept 32/64-bit tensor) sum."""
        ubits, mask = self.bits[0], self.bits[1]
        hist, scratch = self.hist, self.scratch
        add = self.kept is not None and self.stored.itemsize >= 4
        nonzero, top, total = self.nonzero, self.top, self.total
        for i in range(0, block.size, STEP):
            part = block[i:i + STEP]
            if hist is not None:
                hist += np.bincount(part.view(ubits), minlength=hist.size)
                continue
            m = scratch[:part.size]
            np.bitwise_and(part.view(ubits), mask, out=m)  # |x| as bits: zeros, absmax
            nonzero += int(np.count_nonzero(m))
            top = max(top, int(m.max()))
            if add:
                total += float(np.add.reduce(part, dtype=np.float64))
        self.nonzero, self.top, self.total = nonzero, top, total

    def finish(self, name: str, nbytes: int | None) -> tuple[TensorSummary, np.ndarray | None]:
        """The summary, and the sketch's values (None when not asked for)."""
        if isinstance(self.crc, Future):
            self.crc = self.crc.result()
        n, dtype, stored = self.n, self.dtype, self.stored
        if self.start != n:
            raise ValueError(f"tensor {name!r}: {self.start} elements streamed for shape {self.shape}")
        summary = TensorSummary(name=name, shape=self.shape, dtype=dtype, numel=n,
                                nbytes=int(nbytes if nbytes is not None else n * stored.itemsize),
                                hash=_tensor_hash(dtype, self.shape, self.crc, _values(
                                    dtype, self.hashed.result(stored)) if self.hashed else None))
        if not self.is_float:
            return summary, None
        whole, one_block = self._whole()
        mean, std, kurt = self._central_moments(whole, one_block)
        summary.mean, summary.std, summary.kurtosis = _finite(mean), _finite(std), _finite(kurt)
        summary.absmax = None if self.top >= self.bits[2] else _finite(_bits_value(dtype, self.top))
        summary.zero_fraction = 1.0 - self.nonzero / n
        summary.distinct_estimate = self._distinct(whole)
        if self.rows is not None:
            summary.row_distinct = max(_count_distinct(r, dtype) for r in self.rows.results())
        picked = None
        if self.sketch_g is not None:
            picked = np.asarray(_values(dtype, self.sketch_g.result(stored)), dtype=np.float32)
        return summary, picked

    def _whole(self) -> tuple[np.ndarray | None, bool]:
        """The kept tensor in one array (None: not kept), and whether it came in one block;
        the blocks are let go."""
        kept, self.kept = self.kept, None
        if kept is None:
            return None, False
        return (kept[0] if len(kept) == 1 else np.concatenate(kept)), len(kept) == 1

    def _central_moments(self, whole: np.ndarray | None, one_block: bool) -> tuple[float, float, float]:
        """Mean, std and kurtosis: exact from the histogram (which also gives the zero count
        and the largest magnitude) or the whole tensor, else from the sample."""
        if self.hist is not None:
            hist, self.hist = self.hist, None
            mask = int(self.bits[1])
            self.nonzero = self.n - int(hist[0] + hist[mask + 1])  # +0.0 and -0.0
            self.top = int((np.flatnonzero(hist) & mask).max())
            return _hist_moments(self.dtype, hist, self.n)
        if whole is not None:  # the step sums above are _sum64's when the tensor came whole
            return _moments(_values(self.dtype, whole),
                            self.total if one_block and self.stored.itemsize >= 4 else None)
        return _moments(_values(self.dtype, self.sampled.result(self.stored)))

    def _distinct(self, whole: np.ndarray | None) -> int:
        """Distinct values: counted exactly in a small tensor, estimated from a sample otherwise."""
        if self.n <= DISTINCT_SAMPLE:
            return _count_distinct(whole, self.dtype)
        sample = self.sampled if self.sampled is not None else self.distinct_g
        return _distinct_of(self.n, sample.result(self.stored), self.dtype)


def _bits_value(dtype: str, top: int) -> float:
    """The float whose bit pattern is ``top``."""
    pattern = np.array([top], _FLOAT_BITS[dtype][0]).view(STORED_DTYPES[dtype])
    return float(_values(dtype, pattern)[0])


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
        which = np.searchsorted(offsets, picks, side="right") - 1  # sorted, as picks are
        self._local: dict[str, np.ndarray] = {}
        hit, first = np.unique(which, return_index=True)  # only the tensors sampled: O(dim)
        for i, a, b in zip(hit.tolist(), first.tolist(), [*first.tolist()[1:], picks.size]):
            self._local[self.layout[i][0]] = picks[a:b] - offsets[i]
        self._values: dict[str, np.ndarray] = {}

    def take(self, name: str, flat: np.ndarray) -> None:
        """Record the sampled values of one tensor (flat float array)."""
        idx = self._local.get(name)
        if idx is not None:
            self._values[name] = np.asarray(flat[idx], dtype=np.float32)

    def indices(self, name: str) -> np.ndarray | None:
        """Sorted positions sampled in tensor ``name`` (None: none)."""
        return self._local.get(name)

    def put(self, name: str, values: np.ndarray) -> None:
        """Record the values at ``indices(name)``, gathered by the caller."""
        self._values[name] = np.asarray(values, dtype=np.float32)

    def sketch(self) -> WeightSketch:
        parts = [self._values.get(n, np.full(self._local[n].size, np.nan, np.float32))
                 for n, _ in self.layout if n in self._local]
        vec = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        vec = np.nan_to_num(vec, nan=0.0, posinf=0.0, neginf=0.0)
        return WeightSketch(self.layout_hash, self.total, vec.astype(np.float32).tolist())
