"""Full-weight comparison of two models of one layout, streamed tensor by tensor.

``compare(child, parents)`` reads each tensor of ``child`` once and the same
tensor of every candidate parent, one tensor pair in memory at a time, and
returns one ``PairStats`` per parent: plain numbers from which the relation,
the direction and the evidence of an edge are decided (:mod:`.detect`).
Tensors whose catalog hashes are equal are not read at all.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from modellake.store.records import TensorSummary

CHUNK = 1 << 22            # elements per float64 step
RATIO_BINS = 20_000        # histogram of child/parent ratios in (1 - RATIO_SPAN, 1 + RATIO_SPAN)
RATIO_SPAN = 1e-2
RATIO_STRIDE = 4           # sampling of large tensors for the decay-shrink histogram
ROWS_PER_TENSOR = 4        # rows sampled per matrix for the quantization-grid test
MAX_LEVELS = 256           # a grid of at most 2^8 steps: an 8-bit (or narrower) code
SYMMETRIC_LEVELS = (127, 8, 7, 15, 31, 63)  # top level of symmetric int8/int4/... block codes
FP16_SLACK = 2.0 ** -10    # relative slack of a code whose scale was stored in float16
RANK_PROBES = 48           # random probes of the randomized rank estimate
SHARP_DROP = 30.0          # singular-value drop that marks an exact rank
QUANTILES = (0.99, 0.999, 0.9999)  # of |b - a| over all weights (exact: a top-1 % pool)
_EMBED = re.compile(r"(embed|wte\.|wpe\.|token_embd|position|shared\.weight)")


class TensorReader(Protocol):
    def names(self) -> list[str]: ...
    def get(self, name: str) -> np.ndarray: ...


def single_threaded_blas() -> contextlib.AbstractContextManager:
    """Limit BLAS/LAPACK to one thread while comparing (many small products: threads only
    add waiting, badly so on a loaded machine). A no-op without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def is_embedding(name: str) -> bool:
    return bool(_EMBED.search(name))


def is_matrix(shape: Sequence[int]) -> bool:
    """A weight matrix (2-D or more, both sides > 1), not a vector."""
    return len(shape) >= 2 and min(int(shape[0]), math.prod(shape[1:])) > 1


@dataclass
class PairStats:
    """How ``b`` (the would-be child) differs from ``a`` (the would-be parent).

    Sums run over float tensors present in both with equal shapes. ``*_nz``
    sums use only coordinates where both are non-zero (pruning-proof).
    """

    n_tensors: int = 0
    n_identical: int = 0
    identical_names: list[str] = field(default_factory=list)
    numel: int = 0
    d2: float = 0.0
    a2: float = 0.0
    b2: float = 0.0
    mat_d2_nz: float = 0.0
    mat_a2_nz: float = 0.0
    mat_b2_nz: float = 0.0
    mat_numel: int = 0
    mat_rel: list[float] = field(default_factory=list)  # per matrix: |a-b|^2/(|a|^2+|b|^2), non-zeros
    z: list[float] = field(default_factory=list)       # (|b|^2-|a|^2)/|b-a|^2 per changed matrix
    kurt: list[float] = field(default_factory=list)    # kurtosis(a) - kurtosis(b) per changed matrix
    tail: list[float] = field(default_factory=list)    # log(floor(b) / floor(a)) per changed matrix
    ranks: list[list[float]] = field(default_factory=list)  # [rank, min dim, gap] per changed matrix
    # (measured only when every vector tensor is unchanged: the adapter signature)
    changed_vectors: int = 0
    changed_matrices: int = 0
    changed_embeddings: int = 0
    new_zero_b: int = 0        # b == 0 where a != 0 (matrices)
    new_zero_a: int = 0
    keep_b: int = 0            # b != 0 and b == a, over changed matrices
    nz_b: int = 0
    keep_a: int = 0
    nz_a: int = 0
    changed_mat_numel: int = 0
    spike_count: int = 0       # coordinates where b == s * a for one common s != 1
    spike_ratio: float = 1.0
    qrows_b: int = 0           # sampled rows where b is a grid rounding of a
    qrows_a: int = 0
    qrows_n: int = 0
    cast_b: int = 0            # changed tensors where b is exactly a cast of a to 16 bits
    cast_a: int = 0
    grid_b: int = 0            # changed matrices whose every sampled row b rounds a onto a grid
    grid_a: int = 0
    changed: int = 0
    abs_quantiles: list[float] = field(default_factory=list)  # of |b - a| at QUANTILES
    abs_max: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PairStats:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def flipped(self) -> PairStats:
        """The same comparison with the roles of a and b exchanged."""
        d = self.to_dict()
        for x, y in (("a2", "b2"), ("mat_a2_nz", "mat_b2_nz"), ("new_zero_a", "new_zero_b"),
                     ("keep_a", "keep_b"), ("nz_a", "nz_b"), ("qrows_a", "qrows_b"),
                     ("cast_a", "cast_b"), ("grid_a", "grid_b")):
            d[x], d[y] = d[y], d[x]
        d["z"] = [-v for v in self.z]
        d["kurt"] = [-v for v in self.kurt]
        d["tail"] = [-v for v in self.tail]
        d["spike_ratio"] = 1.0 / self.spike_ratio if self.spike_ratio else 1.0
        return PairStats.from_dict(d)

    # -- derived numbers ------------------------------------------------------
    @property
    def distance(self) -> float:
        return math.sqrt(max(self.d2, 0.0))

    @property
    def rel(self) -> float:
        """Median over weight matrices of |a-b|^2 / (|a|^2+|b|^2) (non-zero coordinates).

        About 1 for independent initializations (near-orthogonal weights), 0 for a
        shared tensor; the median ignores the few matrices an adapter rewrites heavily.
        """
        if self.mat_rel:
            return float(np.median(self.mat_rel))
        den = self.mat_a2_nz + self.mat_b2_nz
        return self.mat_d2_nz / den if den > 0 else 0.0

    @property
    def placement(self) -> float:
        """Placement distance: the 99.9th percentile of |b - a| over all weights.

        Adam moves every weight by at most about lr per step, so a fine-tune's
        update has a ceiling; a sibling's weights differ from it by two such
        updates whose large coordinates rarely all agree. A high quantile of the
        elementwise difference keeps siblings apart even when their updates share
        a common direction that makes them close in L2 (the reason MoTHer uses a
        max-type distance); the quantile, unlike the max, ignores a few outliers.
        """
        return self.abs_quantiles[1] if self.abs_quantiles else self.distance

    @property
    def zmed(self) -> float:
        return float(np.median(self.z)) if self.z else 0.0


class _Acc:
    """Per-pair accumulators beyond plain sums: the decay-ratio histogram and the
    largest 1 % of |b - a| (for exact high quantiles)."""

    def __init__(self, total: int, ratios: bool = True) -> None:
        self.ratios = ratios
        self.hist = np.zeros(RATIO_BINS, np.int64)
        self.total = total
        self.keep = max(1, math.ceil((1.0 - QUANTILES[0]) * total) + 1)
        self.pool = np.zeros(0, np.float32)
        self.floor = 0.0  # smallest value of a full pool
        self.abs_max = 0.0

    def add_abs(self, ad: np.ndarray) -> None:
        """Offer |b - a| of a chunk to the pool of the largest values."""
        # below the floor a value cannot enter a full pool; zeros never need to (quantiles
        # count the coordinates never offered as 0)
        ad = ad[ad > self.floor]
        if ad.size > 8 * self.keep and ad.size > 65536:
            # a threshold from a sample keeps the partition small; exact, since when at least
            # ``keep`` values pass it, the ``keep`` largest are all among them
            sample = ad[:: max(1, ad.size // 16384)]
            t = float(np.quantile(sample, 1.0 - 2.0 * self.keep / ad.size))
            passed = ad[ad >= t]
            if passed.size >= self.keep:
                ad = passed
        if ad.size > self.keep:
            ad = np.partition(ad, ad.size - self.keep)[-self.keep:]
        self.pool = np.concatenate([self.pool, ad])
        if self.pool.size > 2 * self.keep or (self.floor == 0 and self.pool.size >= self.keep):
            # keep the ``keep`` largest; the smallest of them is a floor no later value below
            # it can pass (set as soon as the pool first fills, so later chunks are filtered)
            if self.pool.size > self.keep:
                self.pool = np.partition(self.pool, self.pool.size - self.keep)[-self.keep:]
            self.floor = float(self.pool.min())

    def add_ratios(self, x: np.ndarray, y: np.ndarray, ad: np.ndarray) -> None:
        """Histogram of y / x where it is within RATIO_SPAN of 1 (but not 1), on every
        RATIO_STRIDE-th weight of larger tensors (a decay shrink covers many; counts
        are of the weights looked at)."""
        if not self.ratios:
            return
        if x.size > 4096:
            x, y, ad = x[::RATIO_STRIDE], y[::RATIO_STRIDE], ad[::RATIO_STRIDE]
        near = np.abs(x)
        near *= RATIO_SPAN
        near = (ad < near) & (ad > 0)
        if not near.any():
            return
        r = y[near].astype(np.float64) / x[near]
        idx = ((r - (1.0 - RATIO_SPAN)) * (RATIO_BINS / (2 * RATIO_SPAN))).astype(np.intp)
        self.hist += np.bincount(np.clip(idx, 0, RATIO_BINS - 1), minlength=RATIO_BINS)

    def quantiles(self, total: int) -> list[float]:
        """Quantiles of |b - a| over ``total`` coordinates (the ones never offered are 0)."""
        top = np.sort(self.pool)[::-1]
        self.abs_max = float(top[0]) if top.size else 0.0
        out = []
        for q in QUANTILES:
            k = int(math.floor((1.0 - q) * total))  # values above the quantile
            out.append(float(top[k]) if k < top.size else 0.0)
        return out

    def spike(self) -> tuple[int, float]:
        h = self.hist
        if not h.any():
            return 0, 1.0
        i = int(np.argmax(h))
        peak = int(h[max(0, i - 1):i + 2].sum())
        lo, hi = max(0, i - 100), min(h.size, i + 101)
        background = float(np.median(h[lo:hi]))
        if peak < 12 or peak < 10 * (3 * background + 1):
            return 0, 1.0
        return peak, 1.0 - RATIO_SPAN + (i + 0.5) * (2 * RATIO_SPAN / RATIO_BINS)


def grid_step(row: np.ndarray) -> float | None:
    """The step of the affine grid a row's values lie on (an 8-bit-or-less code), if any."""
    u = np.unique(row)
    if u.size < 3 or u.size > MAX_LEVELS + 1:
        return None
    gaps = np.diff(u.astype(np.float64))
    g0 = float(gaps.min())
    span = float(u[-1] - u[0])
    if g0 <= 0 or span / g0 > 4 * MAX_LEVELS + 2:  # too fine for any 8-bit grid
        return None
    for k in (1, 2, 3, 4):
        s = g0 / k
        q = gaps / s
        if np.all(np.abs(q - np.round(q)) < 1e-3) and span / s <= MAX_LEVELS + 0.5:
            return s
    # symmetric block formats (GGUF Q8_0, Q4_0...): a few of 255 levels in a block of 32 leave
    # gaps of many steps; the largest magnitude sits on the top level, so step = max / levels
    top = float(np.abs(u).max())
    for levels in SYMMETRIC_LEVELS:
        s = top / levels
        q = u.astype(np.float64) / s
        if np.all(np.abs(q - np.round(q)) < 1e-3):
            return s
    return None


def rounds_onto_grid(src: np.ndarray, dst: np.ndarray) -> bool:
    """``dst`` is ``src`` rounded to the nearest point of a grid of at most 8 bits: one
    grid for the whole row, or one per group of consecutive weights (block formats,
    tried only when the first group is on a grid)."""
    gap = np.abs(dst.astype(np.float64) - src)
    for size in (dst.size, 128, 64, 32, 16):
        if size > dst.size or dst.size % size or (
                size < dst.size and grid_step(dst[:size]) is None):
            continue
        ok = True
        for lo in range(0, dst.size, size):
            block = dst[lo:lo + size]
            step = grid_step(block)
            if step is None or not _rounded(gap[lo:lo + size], block, step):
                ok = False
                break
        if ok:
            return True
    return False


def _rounded(gap: np.ndarray, block: np.ndarray, step: float) -> bool:
    """Every value of ``block`` is within half a ``step`` of the source (``gap``), or within a
    whole step at either end of the block's range (a code clipped to its last level, as
    GGUF's Q4_0 does for the value opposite its largest). A block format stores its step in
    16 bits after rounding with the exact one: a code q lands up to |q| * step * 2^-11 off."""
    slack = 1e-12 + np.abs(block) * FP16_SLACK
    over = gap > 0.5 * step * 1.001 + slack
    if not over.any():
        return True
    ends = (block == block.max()) | (block == block.min())
    return bool(np.all(ends[over] & (gap[over] <= step * 1.001 + slack[over])))


def _on_grid_count(src: np.ndarray, dst: np.ndarray, picks: np.ndarray) -> int:
    """Sampled rows where dst rounds src onto a grid; stops early when the first two fail
    (a quantized tensor has every row on its grid)."""
    hits = 0
    for i, r in enumerate(picks):
        hit = rounds_onto_grid(src[r], dst[r])
        hits += hit
        if i == 1 and hits == 0:
            return 0
    return hits


def _rows_on_grid(a: np.ndarray, b: np.ndarray, a_grid: bool = True,
                  b_grid: bool = True) -> tuple[int, int, int]:
    """(rows where b rounds a onto a grid, rows where a rounds b, rows checked);
    ``a_grid`` / ``b_grid`` False: that side is known to be off any grid."""
    rows = a.reshape(a.shape[0], -1)
    brows = b.reshape(b.shape[0], -1)
    picks = np.unique(np.linspace(0, rows.shape[0] - 1, ROWS_PER_TENSOR).astype(int))
    qb = _on_grid_count(rows, brows, picks) if b_grid else 0
    qa = _on_grid_count(brows, rows, picks) if a_grid else 0
    return qb, qa, len(picks)


def _round_bf16(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 -> float32 (round to nearest even), in numpy."""
    bits = x.astype(np.float32).view(np.uint32)
    bits = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    return bits.view(np.float32)


def _round_f16(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return x.astype(np.float16).astype(np.float32)


def _is_cast(src: np.ndarray, dst: np.ndarray) -> bool:
    """``dst`` is exactly ``src`` rounded to float16 or bfloat16 (and ``src`` is not)."""
    head_s, head_d = src.reshape(-1)[:4096], dst.reshape(-1)[:4096]
    for cast in (_round_f16, _round_bf16):
        if not np.array_equal(cast(head_s), head_d):  # cheap rejection first
            continue
        c = cast(src)
        if np.array_equal(c, dst) and not np.array_equal(c, src):
            return True
    return False


def rank_and_gap(d: np.ndarray, rtol: float = 1e-3,
                 probes: int | None = RANK_PROBES) -> tuple[int, float]:
    """The rank at the sharpest drop of a matrix's singular values, and that drop.

    A merged low-rank update has an exact rank r: its singular values fall by
    orders of magnitude right after the r-th (to float rounding noise), though the
    r values themselves may spread widely. A dense update's spectrum just fades
    (no drop much above 1). Drops are looked for from values above
    ``rtol / 1000`` of the largest; without one of ``SHARP_DROP`` or more, the
    rank counts values above ``rtol`` of the largest and the drop is 1.

    With ``probes`` and a matrix wider than that, a randomized range sketch
    ``d @ omega`` is used; a rank equal to ``probes`` then means "at least".
    """
    m = d.reshape(d.shape[0], -1).astype(np.float64)
    if probes is not None and min(m.shape) > probes:
        rng = np.random.default_rng(0)
        m = m @ rng.standard_normal((m.shape[1], probes))
    s = np.linalg.svd(m, compute_uv=False)
    if s.size == 0 or s[0] <= 0:
        return 0, math.inf
    live = int(np.count_nonzero(s > rtol / 1000 * s[0]))
    stop = min(live, s.size - 1)  # drops from every non-negligible value to the next
    if stop > 0:
        ratios = s[:stop] / np.maximum(s[1:stop + 1], s[0] * 1e-300)
        i = int(np.argmax(ratios))
        if ratios[i] >= SHARP_DROP:
            return i + 1, float(ratios[i])
    return int(np.count_nonzero(s > rtol * s[0])), 1.0


def numerical_rank(d: np.ndarray, rtol: float = 1e-3, probes: int | None = RANK_PROBES) -> int:
    """Rank of a matrix: singular values above ``rtol`` times the largest."""
    return rank_and_gap(d, rtol, probes)[0]


def _rank_tol(dtype: str | None) -> float:
    return 5e-2 if dtype in ("F16", "BF16") else 1e-3


def _sums(st: PairStats, acc: _Acc, a: np.ndarray, b: np.ndarray, matrix: bool,
          zeros: bool = True) -> tuple[float, float]:
    """Accumulate the elementwise sums of one tensor in float32 chunks (dot products
    accumulate accurately enough); returns this tensor's |b-a|^2 and <b-a, b+a>.
    ``zeros`` False: the catalog says neither tensor holds an exact zero."""
    fa, fb = a.reshape(-1), b.reshape(-1)
    local = np.zeros(3)  # this matrix's non-zero d2, a2, b2
    dd_t = ds_t = 0.0
    for i in range(0, fa.size, CHUNK):
        x, y = fa[i:i + CHUNK], fb[i:i + CHUNK]
        d = y - x
        dd, xx, yy = float(np.dot(d, d)), float(np.dot(x, x)), float(np.dot(y, y))
        dd_t += dd
        if matrix:
            ds_t += float(np.dot(d, x + y))
        st.d2, st.a2, st.b2 = st.d2 + dd, st.a2 + xx, st.b2 + yy
        if matrix and zeros:
            xz, yz = x == 0, y == 0
            both = ~(xz | yz)
            dn, xn, yn = d[both], x[both], y[both]
            local += (float(np.dot(dn, dn)), float(np.dot(xn, xn)), float(np.dot(yn, yn)))
            st.new_zero_b += int(np.count_nonzero(yz & ~xz))
            st.new_zero_a += int(np.count_nonzero(xz & ~yz))
            eq = d == 0
            st.keep_b += int(np.count_nonzero(~yz & eq))
            st.nz_b += int(np.count_nonzero(~yz))
            st.keep_a += int(np.count_nonzero(~xz & eq))
            st.nz_a += int(np.count_nonzero(~xz))
        elif matrix:  # no zeros: nothing pruned, every weight is non-zero
            local += (dd, xx, yy)
            same = int(np.count_nonzero(d == 0)) if dd else x.size
            st.keep_b += same
            st.keep_a += same
            st.nz_b += x.size
            st.nz_a += x.size
        if dd:
            ad = np.abs(d)
            acc.add_abs(ad)
            acc.add_ratios(x, y, ad)
    if matrix:
        st.mat_d2_nz += local[0]
        st.mat_a2_nz += local[1]
        st.mat_b2_nz += local[2]
        den = local[1] + local[2]
        st.mat_rel.append(float(local[0] / den) if den > 0 else 0.0)
    return dd_t, ds_t


def _add_identical(st: PairStats, name: str, t: TensorSummary) -> None:
    """Count a tensor whose catalog hashes are equal on both sides from its summary alone."""
    matrix = is_matrix(t.shape)
    st.numel += t.numel
    if matrix:
        st.mat_numel += t.numel
    norm2 = t.numel * ((t.std or 0.0) ** 2 + (t.mean or 0.0) ** 2)
    st.n_identical += 1
    st.identical_names.append(name)
    st.a2 += norm2
    st.b2 += norm2
    if matrix:
        st.mat_rel.append(0.0)
        nz = norm2  # zeros add nothing to a norm
        st.mat_a2_nz += nz
        st.mat_b2_nz += nz


class TensorMemo:
    """Per (model key, tensor name) facts that do not depend on the pair, computed once:
    the noise floor of a matrix's spectrum, whether its rows sit on a quantization
    grid, whether its values are exactly 16-bit floats."""

    MAX_SIDE = 1024  # larger matrices get no spectrum (a full SVD would dominate the cost)
    ratios = True    # histogram child/parent ratios (the decay-shrink direction cue)

    def __init__(self) -> None:
        self.memo: dict[tuple[object, str, str], object] = {}

    def _get(self, kind: str, key: object, name: str, fn):
        k = (key, name, kind)
        if k not in self.memo:
            self.memo[k] = fn()
        return self.memo[k]

    def floor(self, key: object, name: str, x: np.ndarray) -> float | None:
        """Sum of the lower half of the singular values (the spectrum's noise floor)."""
        def compute() -> float | None:
            m = x.reshape(x.shape[0], -1)
            if min(m.shape) > self.MAX_SIDE:
                return None
            s = np.linalg.svd(m.astype(np.float64), compute_uv=False)
            return float(s[len(s) // 2:].sum())
        return self._get("floor", key, name, compute)

    def gridded(self, key: object, name: str, x: np.ndarray) -> bool:
        """The first row lies on an at-most-8-bit grid (whole or in groups)."""
        return self._get("grid", key, name, lambda: rounds_onto_grid(
            x.reshape(x.shape[0], -1)[0], x.reshape(x.shape[0], -1)[0]))

    def half_precision(self, key: object, name: str, x: np.ndarray) -> bool:
        """The values are exactly representable as float16 or bfloat16."""
        return self._get("half", key, name, lambda: _is_half(x))


class DistanceOnly(TensorMemo):
    """Facts that switch off the copy tests (16-bit cast, quantization grid, spectrum floor)
    and the decay-ratio histogram: enough to rank candidates by distance and relatedness,
    at a fraction of the cost."""

    ratios = False

    def floor(self, key: object, name: str, x: np.ndarray) -> float | None:
        return None

    def gridded(self, key: object, name: str, x: np.ndarray) -> bool:
        return False

    def half_precision(self, key: object, name: str, x: np.ndarray) -> bool:
        return False


def _is_half(x: np.ndarray) -> bool:
    head = np.ascontiguousarray(x.reshape(-1)[:4096], dtype=np.float32)
    if np.array_equal(head.astype(np.float16).astype(np.float32), head):
        return True
    return not np.any(head.view(np.uint32) & np.uint32(0xFFFF))


def _changed(st: PairStats, acc: _Acc, name: str, a: np.ndarray, b: np.ndarray,
             ta: TensorSummary | None, tb: TensorSummary | None,
             memo: tuple[TensorMemo, object, object] | None = None,
             with_rank: bool = True) -> None:
    """Compare one tensor that differs (or may differ) between a and b."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    matrix = is_matrix(a.shape)
    if matrix:
        st.mat_numel += a.size
    zeros = ta is None or tb is None or bool(ta.zero_fraction) or bool(tb.zero_fraction)
    dd, ds = _sums(st, acc, a, b, matrix, zeros)
    if dd == 0.0 and np.array_equal(a, b):
        st.n_identical += 1
        st.identical_names.append(name)
        return
    st.changed += 1
    tm, key_a, key_b = memo if memo is not None else (None, None, None)
    if tm is None or tm.half_precision(key_b, name, b):
        st.cast_b += int(_is_cast(a, b))
    if tm is None or tm.half_precision(key_a, name, a):
        st.cast_a += int(_is_cast(b, a))
    if not matrix:
        st.changed_vectors += 1
        return
    st.changed_mat_numel += a.size
    qb, qa, qn = _rows_on_grid(a, b, tm is None or tm.gridded(key_a, name, a),
                               tm is None or tm.gridded(key_b, name, b))
    st.qrows_b, st.qrows_a, st.qrows_n = st.qrows_b + qb, st.qrows_a + qa, st.qrows_n + qn
    st.grid_b, st.grid_a = st.grid_b + (qb == qn), st.grid_a + (qa == qn)
    if is_embedding(name):
        st.changed_embeddings += 1
        return
    st.changed_matrices += 1
    if dd > 0:
        st.z.append(ds / dd)  # (|b|^2 - |a|^2) / |b - a|^2, computed stably
    if ta is not None and tb is not None and ta.kurtosis is not None and tb.kurtosis is not None:
        st.kurt.append(ta.kurtosis - tb.kurtosis)
    if tm is not None:
        fa, fb = tm.floor(key_a, name, a), tm.floor(key_b, name, b)
        if fa and fb:
            st.tail.append(math.log(fb / fa))
    if with_rank:
        d = (b - a).reshape(a.shape[0], -1)
        dtype = tb.dtype if tb is not None else None
        r, gap = rank_and_gap(d, _rank_tol(dtype))
        st.ranks.append([r, min(d.shape), min(gap, 1e12)])


def compare(child: TensorReader, parents: Sequence[TensorReader],
            child_summ: dict[str, TensorSummary] | None = None,
            parent_summ: Sequence[dict[str, TensorSummary] | None] | None = None,
            names: list[str] | None = None, memo: TensorMemo | None = None,
            keys: tuple[object, Sequence[object]] | None = None,
            ranks: bool = True) -> list[PairStats]:
    """Compare ``child`` with each of ``parents`` (a = parent, b = child), one tensor at a time.

    ``child_summ`` / ``parent_summ``: catalog summaries by tensor name; equal
    hashes mark identical tensors, which are then not read. ``memo`` and ``keys``
    (child key, parent keys): per-model tensor facts, computed once per key.
    ``ranks`` False: no update ranks (they tell adapters, which never change a layout).
    """
    cmp = _Comparison(child, parents, child_summ, parent_summ, names, memo, keys)
    if not ranks:
        cmp.ranked = [False] * len(parents)
    return cmp.run()


class _Comparison:
    """One :func:`compare` call: the readers, their catalog summaries and the running sums
    of every (child, parent) pair."""

    def __init__(self, child: TensorReader, parents: Sequence[TensorReader],
                 child_summ: dict[str, TensorSummary] | None,
                 parent_summ: Sequence[dict[str, TensorSummary] | None] | None,
                 names: list[str] | None, memo: TensorMemo | None,
                 keys: tuple[object, Sequence[object]] | None) -> None:
        self.child, self.parents, self.memo, self.keys = child, parents, memo, keys
        self.parent_summ = list(parent_summ or [None] * len(parents))
        self.stats = [PairStats() for _ in parents]
        self.cs = child_summ or {}
        self.names = names if names is not None else child.names()
        total = self._known_numel() or (child.total() if hasattr(child, "total") else 0)
        self.accs = [_Acc(total or 10**9, memo.ratios if memo else True) for _ in parents]
        self.ranked = [_wants_rank(self.cs, ps) for ps in self.parent_summ]

    def _known_numel(self) -> int:
        """Elements of the compared tensors, as far as the child's summaries tell."""
        if not self.cs:
            return 0
        return sum(t.numel for n in self.names if (t := self.cs.get(n)) is not None)

    def run(self) -> list[PairStats]:
        for name in self.names:
            tb = self.cs.get(name)
            if tb is not None and tb.mean is None and tb.numel:
                continue  # an integer buffer, not a weight
            self._tensor(name, tb)
        for st, acc in zip(self.stats, self.accs):
            _add_abs_tail(st, acc)
        return self.stats

    def _tensor(self, name: str, tb: TensorSummary | None) -> None:
        """Compare the child's tensor ``name`` with each parent's; the child's is read at
        most once, and not at all where every parent's catalog hash equals it."""
        b: np.ndarray | None = None
        for st, acc, parent, ps in zip(self.stats, self.accs, self.parents, self.parent_summ):
            ta = ps.get(name) if ps else None
            if not _summaries_match(ps, ta, tb):
                continue
            if ta is not None and tb is not None and ta.hash == tb.hash:
                st.n_tensors += 1
                _add_identical(st, name, ta)
                continue
            if b is None:
                b = self.child.get(name)
            a = _tensor_of_shape(parent, name, b.shape)
            if a is None:
                continue
            st.n_tensors += 1
            st.numel += a.size
            i = self.parents.index(parent)
            _changed(st, acc, name, a, b, ta, tb, self._facts(i), self.ranked[i])

    def _facts(self, i: int) -> tuple[TensorMemo, object, object] | None:
        """The memo with the keys of parent ``i`` and of the child, when both were given."""
        return (self.memo, self.keys[1][i], self.keys[0]) if self.memo and self.keys else None


def _wants_rank(cs: dict[str, TensorSummary], ps: dict[str, TensorSummary] | None) -> bool:
    """Whether ranks of the changed matrices are wanted: they matter only for an adapter,
    whose parent's vectors are all unchanged (unknown summaries: wanted)."""
    return not cs or ps is None or all(ps.get(n) is not None and ps[n].hash == t.hash
                                       for n, t in cs.items() if len(t.shape) < 2)


def _summaries_match(ps: dict[str, TensorSummary] | None, ta: TensorSummary | None,
                     tb: TensorSummary | None) -> bool:
    """Whether the summaries allow comparing a tensor: the parent has it (when its
    summaries are known) and the shapes agree (when both are known)."""
    if ps is not None and ta is None:
        return False
    return ta is None or tb is None or ta.shape == tb.shape


def _tensor_of_shape(reader: TensorReader, name: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """``reader``'s tensor ``name``, or None where it has none of that shape."""
    try:
        a = reader.get(name)
    except KeyError:
        return None
    return a if a.shape == shape else None


def _add_abs_tail(st: PairStats, acc: _Acc) -> None:
    """The spike, the high quantiles and the maximum of |b - a| over all weights."""
    st.spike_count, st.spike_ratio = acc.spike()
    st.abs_quantiles = acc.quantiles(st.numel)
    st.abs_max = acc.abs_max


def affine_sums(target: TensorReader, cands: Sequence[TensorReader],
                names: list[str]) -> tuple[np.ndarray, np.ndarray, float, list[float]]:
    """Streamed sums for an affine least-squares fit of ``target`` by ``cands``.

    Returns (gram, rhs, t2, single_d2): with k the last candidate,
    gram[i, j] = <c_i - c_k, c_j - c_k>, rhs[i] = <t - c_k, c_i - c_k>,
    t2 = |t - c_k|^2, and single_d2[i] = |t - c_i|^2.
    """
    k = len(cands)
    gram = np.zeros((k - 1, k - 1))
    rhs = np.zeros(k - 1)
    t2 = 0.0
    single = np.zeros(k)
    for name in names:
        try:
            t = target.get(name).reshape(-1)
            cs = [c.get(name).reshape(-1) for c in cands]
        except KeyError:
            continue
        if any(c.size != t.size for c in cs):
            continue
        for i in range(0, t.size, CHUNK):
            tt = t[i:i + CHUNK].astype(np.float64)
            cc = np.stack([c[i:i + CHUNK] for c in cs]).astype(np.float64)
            diff = cc[:-1] - cc[-1]
            tk = tt - cc[-1]
            gram += diff @ diff.T
            rhs += diff @ tk
            t2 += float(tk @ tk)
            dd = cc - tt
            single += np.einsum("ij,ij->i", dd, dd)
    return gram, rhs, t2, single.tolist()
