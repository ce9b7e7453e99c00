"""Full-weight facts for the solver, read from the lake's files and cached in the catalog.

``CatalogPairs`` implements ``solve.PairSource`` over catalog records:
pair comparisons and merge fits are computed on demand, streamed from the
weight files, and kept in ``lineage_pairs`` keyed by model id.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from modellake.store.catalog import Catalog
from modellake.store.records import ModelRecord, TensorSummary
from modellake.tools.formats.base import FLOAT_DTYPES
from modellake.tools.lineage.compare import (
    PairStats,
    TensorMemo,
    affine_sums,
    compare,
    is_matrix,
)
from modellake.tools.lineage.detect import (
    MERGE_MIN_COEF,
    MERGE_RESIDUAL,
    MergeFit,
    affine_fit_gram,
    is_merge_child,
)
from modellake.tools.lineage.weights import ModelWeights

CMP_KIND = "cmp-v14"
MERGE_KIND = "merge-v1"
MIN_IDENTITY_NUMEL = 16
RAY_MIN_BYTES = 256 * 2**20  # weights a batch of comparisons reads before it goes to Ray


def float_layout(tensors: list[TensorSummary]) -> list[tuple[str, list[int]]]:
    """(name, shape) of a model's float tensors: the layout its sketch was drawn from."""
    return [(t.name, t.shape) for t in tensors if t.dtype in FLOAT_DTYPES or t.mean is not None]


def sketch_positions(tensors: list[TensorSummary],
                     layout_hash: str) -> list[tuple[str, list[int], np.ndarray]] | None:
    """(tensor, shape, sampled positions) of the sketch of a stored layout, in sketch order
    (None if the layout no longer hashes to ``layout_hash``: the plan cannot be rebuilt)."""
    from modellake.tools.ingest.tensorstats import SketchPlan

    plan = SketchPlan(float_layout(tensors))
    if plan.layout_hash != layout_hash:
        return None
    return [(name, shape, idx) for name, shape in plan.layout
            if (idx := plan.indices(name)) is not None]


def sketch_matrix_mask(tensors: list[TensorSummary], layout_hash: str) -> np.ndarray | None:
    """Which sketch coordinates fall in weight matrices (None if the plan cannot be rebuilt)."""
    positions = sketch_positions(tensors, layout_hash)
    if positions is None:
        return None
    parts = [np.full(idx.size, is_matrix(shape), dtype=bool) for _, shape, idx in positions]
    return np.concatenate(parts) if parts else None


class CatalogPairs:
    """Pair statistics and merge fits of catalog models, cached in ``lineage_pairs``."""

    def __init__(self, catalog: Catalog, records: dict[str, ModelRecord], ray: bool = False) -> None:
        self.cat = catalog
        self.rec = records
        self._summ: dict[int, dict[str, TensorSummary]] = {}
        self.memo = TensorMemo()
        self.computed = 0  # pair comparisons read from files in this session
        self.ray = ray  # compare on the Ray cluster of the running session (one task per child)
        self.computed_on_ray = 0

    def summaries(self, name: str) -> dict[str, TensorSummary]:
        mid = self.rec[name].id
        if mid not in self._summ:
            self._summ[mid] = {t.name: t for t in self.cat.tensors(mid)}
        return self._summ[mid]

    def identity(self, name: str) -> dict[str, str]:
        """Tensor name -> content hash, for tensors whose value says something
        (not constant, not tiny): equal hashes mean an inherited, unchanged tensor."""
        return {n: t.hash for n, t in self.summaries(name).items()
                if t.numel >= MIN_IDENTITY_NUMEL and (t.std or 0.0) > 0.0}

    def stats(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], PairStats]:
        """Statistics for (parent-candidate, child) name pairs, from cache or files."""
        out: dict[tuple[str, str], PairStats] = {}
        keys = {}
        for a, b in pairs:
            ia, ib = self.rec[a].id, self.rec[b].id
            keys[(a, b)] = [(ia, ib, CMP_KIND), (ib, ia, CMP_KIND)]
        cached = self.cat.lineage.pairs([k for ks in keys.values() for k in ks])
        todo: dict[str, list[str]] = defaultdict(list)
        for (a, b), (fwd, back) in keys.items():
            if fwd in cached:
                out[(a, b)] = PairStats.from_dict(cached[fwd])
            elif back in cached:
                out[(a, b)] = PairStats.from_dict(cached[back]).flipped()
            else:
                todo[b].append(a)
        if self.ray and self._worth_a_cluster(todo):
            out.update(self._compare_on_ray(todo))
            return out
        fresh: dict[tuple[int, int, str], dict] = {}
        for b, parents in todo.items():
            for a, st in zip(parents, self._compare(b, parents)):
                out[(a, b)] = st
                fresh[(self.rec[a].id, self.rec[b].id, CMP_KIND)] = st.to_dict()
        self.cat.lineage.put_pairs(fresh)
        return out

    def _worth_a_cluster(self, todo: dict[str, list[str]]) -> bool:
        """Whether these comparisons read enough bytes to pay for Ray tasks (a round of tasks
        costs tens of milliseconds; small models compare faster here)."""
        def size(name: str) -> int:
            return sum(f.size for f in self.rec[name].files)

        return sum(size(b) + sum(size(a) for a in parents) for b, parents in todo.items()) >= RAY_MIN_BYTES

    def _compare_on_ray(self, todo: dict[str, list[str]]) -> dict[tuple[str, str], PairStats]:
        """One Ray task per child and its candidate parents: each reads the weights where
        they lie and stores its comparisons in the catalog in its own transaction."""
        from modellake.tools.cluster import run_tasks

        items = [(self.cat.address, str(self.cat.root), self.rec[b], [self.rec[a] for a in parents])
                 for b, parents in todo.items()]
        out: dict[tuple[str, str], PairStats] = {}
        for (b, parents), result in zip(todo.items(), run_tasks(compare_task, items), strict=True):
            if isinstance(result, BaseException):
                raise result
            self.computed_on_ray += len(parents)
            for a, st in zip(parents, result):
                out[(a, b)] = PairStats.from_dict(st)
        return out

    def cached_among(self, names: list[str]) -> set[tuple[str, str]]:
        """Unordered pairs of ``names`` whose comparison is already in the catalog."""
        ids = {self.rec[n].id: n for n in names}
        keys = [(a, b, CMP_KIND) for a in ids for b in ids if a != b]
        return {tuple(sorted((ids[a], ids[b]))) for a, b, _ in self.cat.lineage.pairs(keys)}

    def _compare(self, child: str, parents: list[str]) -> list[PairStats]:
        self.computed += len(parents)
        readers = [ModelWeights(self.rec[p]) for p in parents]
        try:
            with ModelWeights(self.rec[child]) as cw:
                present = set(cw.names())
                names = [n for n in self.summaries(child) if n in present]
                return compare(cw, readers, self.summaries(child),
                               [self.summaries(p) for p in parents], names, self.memo,
                               (self.rec[child].id, [self.rec[p].id for p in parents]))
        finally:
            for r in readers:
                r.close()

    def merge(self, child: str, parents: list[str]) -> MergeFit | None:
        """Full-weight affine fit of ``child`` by ``parents``; None unless it is a merge."""
        ids = [self.rec[p].id for p in parents]
        key = (self.rec[child].id, ids[0], f"{MERGE_KIND}:{','.join(map(str, ids))}")
        hit = self.cat.lineage.pairs([key]).get(key)
        if hit is None:
            hit = self._merge_fit(child, parents)
            self.cat.lineage.put_pairs({key: hit})
        if not hit.get("merge"):
            return None
        return MergeFit(parents, hit["coefs"], hit["residual_ratio"])

    def _merge_fit(self, child: str, parents: list[str]) -> dict:
        readers = [ModelWeights(self.rec[p]) for p in parents]
        try:
            with ModelWeights(self.rec[child]) as cw:
                names = [n for n, t in self.summaries(child).items() if t.mean is not None]
                gram, rhs, t2, single = affine_sums(cw, readers, names)
        finally:
            for r in readers:
                r.close()
        coef, resid = affine_fit_gram(gram, rhs, t2)
        nearest = math.sqrt(max(min(single), 0.0))
        ratio = resid / nearest if nearest > 0 else 1.0
        ok = (ratio < MERGE_RESIDUAL and bool(np.all(np.abs(coef) >= MERGE_MIN_COEF))
              and is_merge_child(coef.tolist()))
        return {"merge": ok, "coefs": [float(c) for c in coef], "residual_ratio": float(ratio)}


def compare_task(target: str, root: str, child: ModelRecord, parents: list[ModelRecord]) -> list[dict]:
    """In a Ray worker: compare ``child`` with each of ``parents`` from their files, store the
    statistics in the catalog (one transaction) and return them as dicts."""
    from pathlib import Path

    with Catalog(target, root=Path(root)) as cat:
        pairs = CatalogPairs(cat, {r.name: r for r in [child, *parents]})
        stats = pairs._compare(child.name, [p.name for p in parents])
        rows = {(p.id, child.id, CMP_KIND): st.to_dict() for p, st in zip(parents, stats)}
        cat.lineage.put_pairs(rows)
    return [st.to_dict() for st in stats]
