"""Deciding what a compared pair of models is: relation, direction, evidence.

Everything here works on ``PairStats`` (full-weight numbers) and sketches; no
file is read. The thresholds are ratios with a physical meaning, not values
fitted to one lake:

* relatedness: ``|a-b|^2 / (|a|^2+|b|^2)`` over weight matrices is about 1 for
  models trained from independent initializations (their weights are
  near-orthogonal) and far below 1 for relatives; ``REL_MAX`` sits halfway;
* quantized: the child's rows lie on an at-most-8-bit grid and every value is the
  parent's rounded to it; a 16-bit cast is the parent's values rounded exactly;
* pruned: the child has new exact zeros and equals the parent everywhere else;
* adapter: only matrices changed, each by an update of exact low rank (a sharp
  drop in its singular values, not a fading spectrum);
* merge: the child is an affine combination of two or more models whose residual
  is a small fraction of its distance to the nearest single model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modellake.tools.lineage.compare import RANK_PROBES, SHARP_DROP, PairStats

REL_MAX = 0.5            # related below; independent inits give ~1.0
GRID_ROWS = 0.9          # fraction of sampled rows on the rounding grid: quantized
CAST_TENSORS = 0.9       # fraction of changed tensors that are exact 16-bit casts
PRUNE_GAIN = 0.02        # new exact zeros, as a fraction of the changed matrices' elements
PRUNE_KEEP = 0.99        # the child's non-zeros equal to the parent's
LOW_RANK_MAX = 64
MERGE_RESIDUAL = 0.05    # affine-fit residual / distance to the nearest single model
MERGE_MIN_COEF = 0.02
MERGE_HOPELESS = 0.7      # best pair residual beyond which no merge is sought
MERGE_EXTEND_POOL = 16    # nearest candidates tried as a further merge parent
MERGE_GAIN = 0.1          # a further merge parent is kept if it cuts the residual 10x
MAX_MERGE_PARENTS = 3
TAIL_WEIGHT = 2.0        # log-odds per unit of the floor-lift t-statistic (clipped at 4)
DECAY_WEIGHT = 12.0      # log-odds of a decay shrink: exact, it outweighs the statistical cues

FIXED = ("duplicate", "quantized", "pruned")  # relations whose direction the pair itself shows


@dataclass
class PairVerdict:
    """What a compared pair is, oriented parent -> child when the relation shows it."""

    relation: str            # finetune | adapter | quantized | pruned | duplicate | unrelated
    parent_is_a: bool = True  # orientation when ``relation`` is in FIXED
    fixed: bool = False
    confidence: float = 0.5
    evidence: dict[str, Any] = field(default_factory=dict)


def _frac(n: float, d: float) -> float:
    return n / d if d else 0.0


def low_rank(ranks: list[list[float]]) -> bool:
    """Every changed matrix moved by an update of exact low rank: below full (and
    below the probe count of the randomized estimate), with a sharp drop in the
    singular values right after it (``SHARP_DROP``), as a merged LoRA has."""
    return bool(ranks) and all(
        r < min(m, RANK_PROBES) and gap >= SHARP_DROP and r <= LOW_RANK_MAX
        for r, m, gap in (x if len(x) == 3 else (*x, math.inf) for x in ranks))


def base_evidence(st: PairStats) -> dict[str, Any]:
    """The numbers every edge reports."""
    ev: dict[str, Any] = {
        "distance": round(st.distance, 6),
        "relative_distance": round(math.sqrt(st.rel), 4),
        "identical_tensors": round(_frac(st.n_identical, st.n_tensors), 4),
        "changed_tensors": st.changed,
    }
    if st.ranks:
        ev["max_update_rank"] = int(max(x[0] for x in st.ranks))
    return ev


def classify(st: PairStats) -> PairVerdict:
    """Relation of the pair (a, b); for FIXED relations also which one is the parent."""
    ev = base_evidence(st)
    if st.rel >= REL_MAX:
        return PairVerdict("unrelated", confidence=min(1.0, st.rel), evidence=ev)
    if st.changed == 0:
        return PairVerdict("duplicate", fixed=True, confidence=1.0, evidence=ev)
    for a_parent, cast, rows in ((True, st.cast_b, st.qrows_b), (False, st.cast_a, st.qrows_a)):
        if _frac(cast, st.changed) >= CAST_TENSORS:
            ev.update(cast_tensors=round(_frac(cast, st.changed), 4), direction_cue="16-bit cast")
            return PairVerdict("quantized", a_parent, True, 0.97, ev)
        if st.qrows_n and _frac(rows, st.qrows_n) >= GRID_ROWS:
            other = st.qrows_a if a_parent else st.qrows_b
            if _frac(other, st.qrows_n) < 0.5:
                ev.update(grid_rows=round(_frac(rows, st.qrows_n), 4),
                          direction_cue="child values are the parent's rounded to a <=8-bit grid")
                return PairVerdict("quantized", a_parent, True,
                                   round(0.9 + 0.09 * _frac(rows, st.qrows_n), 4), ev)
    for a_parent, cast, grid in ((True, st.cast_b, st.grid_b), (False, st.cast_a, st.grid_a)):
        if cast and grid and _frac(cast + grid, st.changed) >= CAST_TENSORS:
            # a mixed export (GGUF keeps rows that fit no block in 16 bits): every changed
            # tensor is a 16-bit cast or a grid rounding of the parent's
            ev.update(cast_tensors=cast, grid_tensors=grid,
                      direction_cue="child tensors are the parent's cast to 16 bits or rounded to a grid")
            return PairVerdict("quantized", a_parent, True, 0.95, ev)
    for a_parent, gain, keep, nz in ((True, st.new_zero_b, st.keep_b, st.nz_b),
                                     (False, st.new_zero_a, st.keep_a, st.nz_a)):
        # new zeros as a share of the matrices that changed: a pruned copy of a model whose
        # embeddings dominate its size still shows its pruned layers' 50%
        if _frac(gain, st.changed_mat_numel or st.mat_numel) >= PRUNE_GAIN and \
                _frac(keep, nz) >= PRUNE_KEEP:
            ev.update(zero_fraction_gain=round(_frac(gain, st.changed_mat_numel), 4),
                      kept_equal=round(_frac(keep, nz), 6),
                      direction_cue="child has new exact zeros, other weights equal the parent's")
            return PairVerdict("pruned", a_parent, True, round(min(0.99, _frac(keep, nz)), 4), ev)
    if (st.changed_vectors == 0 and st.changed_embeddings == 0 and st.n_identical > 0
            and low_rank(st.ranks)):
        ev["update_ranks"] = sorted({int(x[0]) for x in st.ranks})
        return PairVerdict("adapter", confidence=0.9, evidence=ev)
    return PairVerdict("finetune", confidence=0.8, evidence=ev)


def direction_logodds(st: PairStats) -> tuple[float, dict[str, Any]]:
    """Log-odds that a is the parent of b (not the reverse), with the cues used.

    * norm growth: per changed weight matrix, z = (|b|^2-|a|^2)/|b-a|^2; an update
      that does not cancel the parent's weights makes the child's norm grow
      (z > 0); the median over matrices is robust to the few matrices that weight
      decay or the task shrinks;
    * decay shrink: weights the child's training never touched come out as the
      parent's times (1 - lr*wd)^steps, one common factor below 1 (AdamW);
    * kurtosis: fine-tuning usually lowers it (weak, regime-dependent);
    * floor lift: an update independent of the parent lifts the lower half of each
      matrix's singular values, also when it shrinks the top directions (a
      fine-tune that unlearns makes the norm fall but still lifts the floor);
      a t-statistic of log(floor ratio) over the changed matrices.
    """
    cues: dict[str, Any] = {}
    zmed = st.zmed
    score = 2.5 * max(-2.0, min(2.0, zmed)) if st.z else 0.0
    if st.z:
        cues["norm_growth_z"] = round(zmed, 3)
    if st.spike_count:
        shrink = st.spike_ratio < 1.0
        score += DECAY_WEIGHT if shrink else -DECAY_WEIGHT
        cues["decay_shrink"] = {"ratio": round(st.spike_ratio, 7), "weights": st.spike_count}
    if st.kurt:
        k = float(np.mean(np.sign(st.kurt)))
        score += 1.0 * k
        cues["kurtosis_drop"] = round(k, 3)
    if len(st.tail) >= 2:
        t = np.asarray(st.tail)
        tstat = float(t.mean() / (t.std() / math.sqrt(t.size) + 1e-12))
        score += TAIL_WEIGHT * max(-4.0, min(4.0, tstat))
        cues["floor_lift_t"] = round(tstat, 3)
    return score, cues


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


# ----------------------------------------------------------------- merges

@dataclass
class MergeFit:
    parents: list[int]
    coefs: list[float]
    residual_ratio: float


def affine_fit(target: np.ndarray, cands: np.ndarray) -> tuple[np.ndarray, float]:
    """Coefficients (summing to 1) of the affine combination of ``cands`` rows nearest
    ``target``, and the residual norm."""
    base = cands[-1]
    if cands.shape[0] == 1:
        return np.ones(1), float(np.linalg.norm(target - base))
    a = (cands[:-1] - base).T
    coef, *_ = np.linalg.lstsq(a, target - base, rcond=None)
    full = np.append(coef, 1.0 - coef.sum())
    return full, float(np.linalg.norm(target - full @ cands))


def affine_fit_gram(gram: np.ndarray, rhs: np.ndarray, t2: float) -> tuple[np.ndarray, float]:
    """``affine_fit`` from streamed sums: gram[i,j] = <c_i-c_k, c_j-c_k>,
    rhs[i] = <t-c_k, c_i-c_k>, t2 = |t-c_k|^2 (k the last candidate)."""
    coef = np.linalg.lstsq(gram, rhs, rcond=None)[0] if gram.size else np.zeros(0)
    resid2 = max(t2 - float(rhs @ coef), 0.0)
    return np.append(coef, 1.0 - coef.sum()), math.sqrt(resid2)


def convexity_penalty(coefs: list[float] | np.ndarray) -> float:
    """How far coefficients fall outside [0, 1] (0 for a weighted average)."""
    c = np.asarray(coefs, dtype=np.float64)
    return float(np.sum(np.maximum(-c, 0.0)) + np.sum(np.maximum(c - 1.0, 0.0)))


def is_merge_child(coefs: list[float]) -> bool:
    """Among the affinely dependent set {child} + parents, is the child the merge?

    Affine dependence is symmetric: if m = sum a_i p_i, each p_j is also an affine
    combination of m and the others, with coefficients 1/a_j and -a_i/a_j. The
    merge is the member whose coefficients are closest to a weighted average.
    """
    own = convexity_penalty(coefs)
    for j, a in enumerate(coefs):
        if abs(a) < 1e-12:
            continue
        alt = [1.0 / a] + [-c / a for i, c in enumerate(coefs) if i != j]
        if convexity_penalty(alt) < own - 1e-9:
            return False
    return True


def _best_pair(target: np.ndarray, cands: np.ndarray, anchors: list[int]) -> tuple[float, int, int]:
    """(residual, i, k) of the best two-model affine fit t ~ c_k + a (c_i - c_k), with
    c_k one of ``anchors`` and c_i any candidate (closed form, vectorized over i)."""
    best = (math.inf, -1, -1)
    for k in anchors:
        diff = cands - cands[k]
        tk = target - cands[k]
        den = np.einsum("ij,ij->i", diff, diff)
        alpha = np.where(den > 0, diff @ tk / np.where(den > 0, den, 1.0), 0.0)
        resid = np.einsum("ij,ij->i", diff, diff) * alpha ** 2 - 2 * alpha * (diff @ tk) + tk @ tk
        resid[k] = np.inf
        i = int(np.argmin(resid))
        if resid[i] < best[0]:
            best = (float(resid[i]), i, k)
    return best


def find_merge(target: np.ndarray, cands: np.ndarray, ids: list[int],
               n_anchors: int = 8) -> MergeFit | None:
    """The smallest set of two or more candidates whose affine combination fits
    ``target`` far better than any single candidate (sketch vectors).

    One parent of a weight average is among the nearest candidates; the other may
    lie anywhere (on the far side of the target), so pairs are searched as
    (near anchor, any candidate); further parents are added greedily while the
    fit is poor, or when one cuts the residual by ``1 / MERGE_GAIN``.
    """
    target = target.astype(np.float64)
    cands = cands.astype(np.float64)
    dist = np.linalg.norm(cands - target, axis=1)
    single = float(dist.min()) if dist.size else 0.0
    if single <= 0 or len(ids) < 2:
        return None
    _, i, k = _best_pair(target, cands, [int(j) for j in np.argsort(dist)[:n_anchors]])
    chosen = [i, k]
    coef, resid = affine_fit(target, cands[chosen])
    if resid / single > MERGE_HOPELESS:
        return None
    while len(chosen) < MAX_MERGE_PARENTS:
        # another parent: needed while the fit is poor, kept if it explains far more
        near = [int(j) for j in np.argsort(dist)[:MERGE_EXTEND_POOL]]
        options = [(affine_fit(target, cands[chosen + [j]]), j) for j in near if j not in chosen]
        if not options:
            break
        (c2, r2), j = min(options, key=lambda o: o[0][1])
        if resid / single < MERGE_RESIDUAL and r2 > MERGE_GAIN * resid:
            break
        chosen, coef, resid = chosen + [j], c2, r2
    if resid / single >= MERGE_RESIDUAL:
        return None
    if not (np.all(np.abs(coef) >= MERGE_MIN_COEF) and is_merge_child(coef.tolist())):
        return None
    return MergeFit([ids[j] for j in chosen], coef.tolist(), resid / single)
