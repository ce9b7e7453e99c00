"""Statistics behind the benchmarks: rank correlation, F1, bootstrap, CKA/RSA, a linear probe.

Pure numpy. Every random draw takes an explicit seed, so a run is reproducible bit for
bit on the same machine.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


# --------------------------------------------------------------------------- correlation
def rankdata(x: Sequence[float] | np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (like ``scipy.stats.rankdata``)."""
    a = np.asarray(x, dtype=np.float64)
    n = a.size
    order = np.argsort(a, kind="mergesort")
    ranks = np.empty(n, dtype=np.float64)
    sorted_a = a[order]
    # boundaries of runs of equal values
    starts = np.flatnonzero(np.r_[True, sorted_a[1:] != sorted_a[:-1]])
    ends = np.r_[starts[1:], n]
    avg = (starts + ends - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def pearson(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Pearson correlation; NaN when either side is constant or has fewer than 2 values."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.size < 2:
        return float("nan")
    a = a - a.mean()
    b = b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def spearman(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Spearman's rho: Pearson correlation of the (tie-averaged) ranks."""
    return pearson(rankdata(x), rankdata(y))


# --------------------------------------------------------------------------- classification
def accuracy(gold: Sequence[Any], pred: Sequence[Any]) -> float:
    if not len(gold):
        return float("nan")
    return float(np.mean([g == p for g, p in zip(gold, pred)]))


def macro_f1(gold: Sequence[Any], pred: Sequence[Any]) -> float:
    """Unweighted mean of per-label F1 over the labels seen in gold or predictions.

    Same definition as scikit-learn's ``f1_score(average="macro")`` with
    ``zero_division=0``.
    """
    labels = sorted(set(gold) | set(pred), key=str)
    if not labels:
        return float("nan")
    scores = []
    for lab in labels:
        tp = sum(1 for g, p in zip(gold, pred) if g == lab and p == lab)
        fp = sum(1 for g, p in zip(gold, pred) if g != lab and p == lab)
        fn = sum(1 for g, p in zip(gold, pred) if g == lab and p != lab)
        den = 2 * tp + fp + fn
        scores.append(2 * tp / den if den else 0.0)
    return float(np.mean(scores))


def macro_f1_codes(gold: np.ndarray, pred: np.ndarray, k: int) -> float:
    """:func:`macro_f1` on integer class codes ``0..k-1`` (vectorized, for bootstraps)."""
    gold = np.asarray(gold, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    if gold.size == 0:
        return float("nan")
    tp = np.bincount(gold[gold == pred], minlength=k).astype(np.float64)
    pc = np.bincount(pred, minlength=k)
    gc = np.bincount(gold, minlength=k)
    den = tp + pc + gc - tp  # 2tp + fp + fn
    present = (pc + gc) > 0
    f1 = np.where(den > 0, 2 * tp / np.maximum(den, 1), 0.0)
    return float(f1[present].mean())


# --------------------------------------------------------------------------- bootstrap
Stat = Callable[[np.ndarray], dict[str, float]]  # metrics of the examples at these indices


def bootstrap_se(n: int, stat: Stat, metric: str, n_boot: int = 500,
                 seed: int = 0) -> float | None:
    """Standard error of one metric when the ``n`` examples are resampled with replacement."""
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        v = stat(rng.integers(0, n, n)).get(metric)
        if v is not None and np.isfinite(v):
            vals.append(v)
    return float(np.std(vals, ddof=1)) if len(vals) > 1 else None


def paired_bootstrap(n: int, stat_a: Stat, stat_b: Stat, metric: str, n_boot: int = 1000,
                     seed: int = 0) -> dict[str, float] | None:
    """Distribution of ``metric(b) - metric(a)`` when the same examples are resampled for both.

    ``stat_a`` and ``stat_b`` compute the metrics of two models' per-sample outputs on the
    same ``n`` examples (same order). Returns the standard error and the 2.5 / 97.5
    percentiles of the difference.
    """
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        va = stat_a(idx).get(metric)
        vb = stat_b(idx).get(metric)
        if va is not None and vb is not None and np.isfinite(va) and np.isfinite(vb):
            diffs.append(vb - va)
    if len(diffs) < 2:
        return None
    d = np.asarray(diffs)
    return {"se": float(d.std(ddof=1)), "lo": float(np.percentile(d, 2.5)),
            "hi": float(np.percentile(d, 97.5))}


# --------------------------------------------------------------------------- representations
def _centered_gram(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    return x @ x.T


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA (Kornblith et al. 2019) between two representations of the same n inputs.

    ``x`` is n x d1, ``y`` is n x d2: the widths need not match. 1.0 means the two
    representations are equal up to rotation and isotropic scaling.
    """
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"CKA needs the same inputs: {x.shape[0]} vs {y.shape[0]} rows")
    k = _centered_gram(x)
    l_ = _centered_gram(y)
    den = np.linalg.norm(k) * np.linalg.norm(l_)
    return float((k * l_).sum() / den) if den > 0 else float("nan")


def _cosine_matrix(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.where(norms > 0, norms, 1.0)
    return x @ x.T


def rsa(x: np.ndarray, y: np.ndarray) -> float:
    """Representational similarity: Spearman between the input-by-input cosine matrices."""
    iu = np.triu_indices(x.shape[0], k=1)
    return spearman(_cosine_matrix(x)[iu], _cosine_matrix(y)[iu])


def mean_row_cosine(x: np.ndarray, y: np.ndarray) -> float:
    """Mean cosine between matching rows (same width only: the same output space)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    num = (x * y).sum(axis=1)
    den = np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1)
    return float(np.mean(np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)))


# --------------------------------------------------------------------------- linear probe
def train_linear_probe(x_train: np.ndarray, y_train: Sequence[int], num_classes: int, *,
                       l2: float = 1e-2, max_iter: int = 5000, tol: float = 1e-7,
                       seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """Multinomial logistic regression on standardized features, in numpy.

    Minimizes mean cross-entropy + ``l2 * ||W||^2`` by accelerated gradient descent
    (Nesterov, step 1/L, adaptive restart) from zero weights. The objective is strongly
    convex, so the solution is unique and does not depend on ``seed`` (kept for the record).
    Returns a function mapping features to class probabilities.
    """
    del seed  # deterministic by construction
    x = np.asarray(x_train, dtype=np.float64)
    n, d = x.shape
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    sd = np.where(sd > 1e-8, sd, 1.0)
    xs = np.hstack([(x - mu) / sd, np.ones((n, 1))])  # last column: the bias
    y = np.zeros((n, num_classes))
    y[np.arange(n), np.asarray(list(y_train), dtype=int)] = 1.0
    reg = np.full((d + 1, 1), 2 * l2)
    reg[-1] = 0.0  # the bias is not penalized
    lips = 0.5 * np.linalg.norm(xs, 2) ** 2 / n + 2 * l2
    step = 1.0 / lips

    def grad(w: np.ndarray) -> np.ndarray:
        z = xs @ w
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        return xs.T @ (p - y) / n + reg * w

    w = np.zeros((d + 1, num_classes))
    v = w.copy()
    t = 1.0
    for _ in range(max_iter):
        g = grad(v)
        if np.abs(g).max() < tol:
            w = v
            break
        w_next = v - step * g
        if float(((v - w_next) * (w_next - w)).sum()) > 0:  # adaptive restart
            t = 1.0
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        v = w_next + ((t - 1) / t_next) * (w_next - w)
        w, t = w_next, t_next

    def predict_proba(feats: np.ndarray) -> np.ndarray:
        f = np.asarray(feats, dtype=np.float64)
        z = np.hstack([(f - mu) / sd, np.ones((f.shape[0], 1))]) @ w
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    return predict_proba
