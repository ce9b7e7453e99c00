"""Lineage across layouts: families whose tensor layouts differ but whose weights are kin.

Each layout group is solved on its own (:mod:`.solve`); this stage then links the
families of different layouts, reading both models of a pair through
:mod:`.align` (task prefixes, appended vocabulary rows, dropped layers):

1. Layouts are *alignable* when most of the smaller one's elements have a
   counterpart in the other. Their layouts alone often say which way a derivation
   went (``Alignment.direction``: a task head or vocabulary rows are added,
   layers are dropped); otherwise the weights' direction cues of the two family
   roots decide.
2. Two families of alignable layouts are kin when their roots' aligned weights are
   related (a cheap look at the word embeddings first, then the full comparison).
3. Every family with a kin family upstream is placed again: each of its core
   members (the models not anchored as copies or merges) looks for its nearest
   model upstream by descending the upstream family's tree, and a minimum
   arborescence over the family's own pairs plus those outside edges decides
   where each member hangs. Siblings that share a layout (two classifiers
   fine-tuned from one encoder) then hang from their common parent instead of
   from each other, and the member nearest the parent becomes the family's root.

The edges of re-placed members replace their layout group's edges
(``graph._assemble``); aligned comparisons are cached like the others.
"""
from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modellake.store.records import LineageEdge, ModelRecord, TensorSummary
from modellake.tools.lineage.align import (
    WORD_EMBED,
    Alignment,
    Match,
    align,
    aligned_readers,
    best_prefixes,
    strip,
    structural,
)
from modellake.tools.lineage.arborescence import components, min_spanning_arborescence
from modellake.tools.lineage.compare import DistanceOnly, PairStats, compare
from modellake.tools.lineage.detect import REL_MAX, base_evidence, classify, direction_logodds, sigmoid
from modellake.tools.lineage.solve import BETA, SKETCH_REL_MAX, _cost, _Pairs
from modellake.tools.lineage.source import CatalogPairs, sketch_positions
from modellake.tools.lineage.weights import ModelWeights

XCMP_KIND = "xcmp-v4"
MIN_SHARE = 0.5        # alignable: share of the smaller layout's elements with a counterpart
ALL_PAIRS_MAX = 12     # families up to this many core members compare all their pairs
TOP_K = 4              # upstream models nearest in sketch compared in full with each member
OCCAM_SHARE = 0.03     # an ancestor this much farther from a model than its nearest is preferred
ANCHORED = ("quantized", "pruned", "duplicate", "merge")


# ----------------------------------------------------------------- reading

class ModelView:
    """A lake model under canonical names (its task prefix stripped), opened on first read."""

    def __init__(self, rec: ModelRecord, summaries: dict[str, TensorSummary], prefix: str) -> None:
        self.rec, self.prefix = rec, prefix
        floats = {n: t for n, t in summaries.items() if t.mean is not None}
        self._shapes = {strip(n, prefix): list(t.shape) for n, t in floats.items()}
        self._real = {strip(n, prefix): n for n in floats}
        self._w: ModelWeights | None = None

    def names(self) -> list[str]:
        return list(self._shapes)

    def shape(self, name: str) -> list[int]:
        return self._shapes[name]

    def get(self, name: str) -> np.ndarray:
        if self._w is None:
            self._w = ModelWeights(self.rec)
        return self._w.get(self._real[name])

    def close(self) -> None:
        if self._w is not None:
            self._w.close()
            self._w = None


def alignment_to_dict(al: Alignment) -> dict[str, Any]:
    d = dataclasses.asdict(al)
    d["layer_map"] = {str(k): v for k, v in al.layer_map.items()}
    return d


def alignment_from_dict(d: dict[str, Any]) -> Alignment:
    d = dict(d)
    d["matches"] = [Match(**m) for m in d.get("matches", [])]
    d["layer_map"] = {int(k): int(v) for k, v in d.get("layer_map", {}).items()}
    d["resized"] = {k: (int(v[0]), int(v[1])) for k, v in d.get("resized", {}).items()}
    return Alignment(**d)


class AlignedPairs:
    """Aligned comparisons of lake models across layouts, cached in ``lineage_pairs``."""

    def __init__(self, pairs: CatalogPairs) -> None:
        self.pairs = pairs
        self.cat = pairs.cat
        self.rec = pairs.rec
        self._views: dict[tuple[str, str], ModelView] = {}
        self._prefix: dict[tuple[str, str], tuple[str, str]] = {}
        self._memo: dict[tuple[str, str, str], tuple[PairStats, Alignment]] = {}
        self._embed: dict[tuple[str, str], np.ndarray | None] = {}
        self._sketch: dict[str, np.ndarray | None] = {}

    def view(self, name: str, prefix: str) -> ModelView:
        key = (name, prefix)
        if key not in self._views:
            self._views[key] = ModelView(self.rec[name], self.pairs.summaries(name), prefix)
        return self._views[key]

    def prefixes(self, a: str, b: str) -> tuple[str, str]:
        la, lb = self.rec[a].layout_hash or a, self.rec[b].layout_hash or b
        if (la, lb) not in self._prefix:
            self._prefix[(la, lb)] = best_prefixes(list(self.pairs.summaries(a)),
                                                   list(self.pairs.summaries(b)))
        return self._prefix[(la, lb)]

    def structure(self, a: str, b: str) -> Alignment:
        """Names and shapes only (layers matched by index)."""
        pa, pb = self.prefixes(a, b)
        al = structural(self.view(a, pa), self.view(b, pb))
        al.prefix_a, al.prefix_b = pa, pb
        return al

    def get(self, a: str, b: str, full: bool = False) -> tuple[PairStats, Alignment]:
        """Statistics of b against a (a the would-be parent) over their aligned tensors;
        ``full`` False: distance and relatedness only (no cast, grid or spectrum tests),
        which is all that ranking candidates needs."""
        kind = XCMP_KIND if full else XCMP_KIND + "-distance"
        if (a, b, kind) in self._memo:
            return self._memo[(a, b, kind)]
        key = (self.rec[a].id, self.rec[b].id, kind)
        hit = self.cat.lineage.pairs([key]).get(key)
        if hit is None:
            st, al = self._compute(a, b, full)
            self.cat.lineage.put_pairs({key: {"stats": st.to_dict(), "align": alignment_to_dict(al)}})
        else:
            st, al = PairStats.from_dict(hit["stats"]), alignment_from_dict(hit["align"])
        self._memo[(a, b, kind)] = (st, al)
        return st, al

    def _compute(self, a: str, b: str, full: bool) -> tuple[PairStats, Alignment]:
        pa, pb = self.prefixes(a, b)
        va, vb = self.view(a, pa), self.view(b, pb)
        al = align(va, vb)
        al.prefix_a, al.prefix_b = pa, pb
        pv, cv = aligned_readers(va, vb, al)
        self.pairs.computed += 1
        if full:
            st = compare(cv, [pv], None, None, cv.names(), ranks=al.same_layout)[0]
        else:
            st = compare(cv, [pv], None, None, cv.names(), DistanceOnly(), (0, [1]), ranks=False)[0]
        return st, al

    def sketch(self, name: str) -> np.ndarray | None:
        if name not in self._sketch:
            sk = self.cat.sketch(self.rec[name].id)
            self._sketch[name] = np.asarray(sk.vector, np.float32) if sk is not None else None
        return self._sketch[name]

    def projected(self, v: str, rep: str) -> np.ndarray | None:
        """v's values at the sketch coordinates of ``rep``'s layout, read through their
        alignment (zeros where v has no counterpart: the sketch distance skips zeros)."""
        sk = self.cat.sketch(self.rec[rep].id)
        if sk is None:
            return None
        positions = sketch_positions(self.cat.tensors(self.rec[rep].id), sk.layout_hash)
        if positions is None:
            return None
        pa, pb = self.prefixes(rep, v)
        va, vb = self.view(rep, pa), self.view(v, pb)
        by_a = {m.a: m for m in align(va, vb).matches}
        parts = []
        for name, shape, idx in positions:
            vals = np.zeros(idx.size, np.float32)
            m = by_a.get(strip(name, pa))
            if m is not None:
                x = np.asarray(vb.get(m.b), np.float32)
                flat = (x.T if m.how == "transposed" else x).reshape(-1)
                limit = m.rows * math.prod(shape[1:]) if m.how == "rows" else flat.size
                ok = idx < min(limit, flat.size)
                vals[ok] = flat[idx[ok]]
            parts.append(vals)
        return np.concatenate(parts) if parts else None

    def embedding_rel(self, a: str, b: str) -> float | None:
        """Relatedness of the word embeddings' common rows (None: no embedding to look at)."""
        pa, pb = self.prefixes(a, b)
        x, y = self._embedding(a, pa), self._embedding(b, pb)
        if x is None or y is None or x.shape[1:] != y.shape[1:]:
            return None
        n = min(x.shape[0], y.shape[0])
        xs, ys = x[:n].ravel(), y[:n].ravel()
        d = xs - ys
        den = float(xs @ xs + ys @ ys)
        return float(d @ d) / den if den > 0 else None

    def _embedding(self, name: str, prefix: str) -> np.ndarray | None:
        if (name, prefix) not in self._embed:
            v = self.view(name, prefix)
            hit = next((n for n in v.names() if WORD_EMBED.search(n)), None)
            self._embed[(name, prefix)] = (np.asarray(v.get(hit), np.float32)
                                           if hit and len(v.shape(hit)) == 2 else None)
        return self._embed[(name, prefix)]

    def close(self) -> None:
        for v in self._views.values():
            v.close()
        self._views.clear()


# ----------------------------------------------------------------- families

@dataclass
class Family:
    layout: str
    members: list[str]
    parent: dict[str, list[str]] = field(default_factory=dict)   # child -> parents (own layout)
    relation: dict[str, str] = field(default_factory=dict)       # child -> relation of its edge

    @property
    def core(self) -> list[str]:
        """Members whose place is decided by the tree (not copies or merges)."""
        return [m for m in self.members if self.relation.get(m) not in ANCHORED]

    @property
    def root(self) -> str:
        core = self.core or self.members
        return next((m for m in core if m not in self.parent), core[0])

    def children(self, name: str) -> list[str]:
        return [c for c, ps in self.parent.items() if name in ps]


def families(layouts: dict[str, list[ModelRecord]], edges: list[LineageEdge]) -> list[Family]:
    """The families of each layout, from the layout groups' edges."""
    out: list[Family] = []
    for lay, recs in layouts.items():
        names = [r.name for r in recs]
        inside = set(names)
        own = [e for e in edges if e.parent in inside and e.child in inside]
        for comp in sorted(components(set(names), [(e.parent, e.child) for e in own]),
                           key=lambda c: min(names.index(n) for n in c)):
            members = [n for n in names if n in comp]
            fam = Family(lay, members)
            keep = set(members)
            for e in own:
                if e.child in keep:
                    fam.parent.setdefault(e.child, []).append(e.parent)
                    fam.relation[e.child] = e.relation
            out.append(fam)
    return out


# ----------------------------------------------------------------- the stage

@dataclass
class CrossResult:
    edges: list[LineageEdge] = field(default_factory=list)
    placed: set[str] = field(default_factory=set)   # models whose layout-group edges are replaced


class CrossLinker:
    """Links the families of alignable layouts (see the module docstring)."""

    def __init__(self, pairs: CatalogPairs, records: list[ModelRecord], edges: list[LineageEdge]):
        self.ap = AlignedPairs(pairs)
        self.inner = _Pairs(pairs)
        self.order = {r.name: r.id or 0 for r in records}
        layouts: dict[str, list[ModelRecord]] = defaultdict(list)
        for r in sorted(records, key=lambda r: r.id or 0):
            if r.format not in ("gguf", "adapter", "card") and r.layout_hash:
                layouts[r.layout_hash].append(r)
        self.layouts = dict(layouts)
        self.fams = families(self.layouts, edges)
        self.fam_of = {m: f for f in self.fams for m in f.members}

    def run(self) -> CrossResult:
        result = CrossResult()
        if len(self.layouts) < 2:
            return result
        try:
            upstream = self._kin()
            for fam in _topological(self.fams, upstream):
                ups = upstream.get(id(fam))
                if ups:
                    self._place(fam, ups, result)
        finally:
            self.ap.close()
        return result

    # -- which families are kin, and which way -----------------------------------------------
    def _alignable(self) -> dict[tuple[str, str], int]:
        """(layout a, layout b) -> direction (+1: a upstream) for alignable layouts."""
        out: dict[tuple[str, str], int] = {}
        keys = sorted(self.layouts)
        for i, la in enumerate(keys):
            for lb in keys[i + 1:]:
                a, b = self.layouts[la][0].name, self.layouts[lb][0].name
                al = self.ap.structure(a, b)
                small = min(al.numel_a, al.numel_b)
                shared = al.matched_a if al.numel_a <= al.numel_b else al.matched_b
                if small and shared >= MIN_SHARE * small:
                    out[(la, lb)] = al.direction()
        return out

    def _kin(self) -> dict[int, list[Family]]:
        """id(family) -> its kin families upstream."""
        arcs: list[tuple[float, Family, Family]] = []
        by_layout: dict[str, list[Family]] = defaultdict(list)
        for f in self.fams:
            by_layout[f.layout].append(f)
        alignable = self._alignable()
        for decided in (True, False):  # arcs the layouts decide first; the weights' for the rest
            upstream = {id(fb) for _, _, fb in arcs}
            for (la, lb), way in alignable.items():
                if bool(way) != decided:
                    continue
                for fa in by_layout[la]:
                    for fb in by_layout[lb]:
                        if not decided and (id(fa) in upstream or id(fb) in upstream):
                            continue  # cousins through a common parent, not parent and child
                        arc = self._kin_arc(fa, fb, way)
                        if arc is not None:
                            arcs.append(arc)
        return _acyclic(arcs)

    def _kin_arc(self, fa: Family, fb: Family, way: int) -> tuple[float, Family, Family] | None:
        a, b = fa.root, fb.root
        emb = self.ap.embedding_rel(a, b)
        if emb is not None and emb >= SKETCH_REL_MAX:
            return None
        st, _ = self.ap.get(a, b)
        if st.rel >= REL_MAX or not st.n_tensors:
            return None
        if way:
            return (10.0, fa, fb) if way > 0 else (10.0, fb, fa)
        lo = direction_logodds(st)[0]
        return (abs(lo), fa, fb) if lo >= 0 else (abs(lo), fb, fa)

    # -- placing one family --------------------------------------------------------------------
    def _place(self, fam: Family, ups: list[Family], result: CrossResult) -> None:
        core, copies = self._distinct(fam.core)
        outside: dict[str, tuple[str, float]] = {}
        for v in core:
            hit = self._nearest_upstream(v, ups)
            if hit is not None:
                outside[v] = hit
        if not outside:
            return
        costs = self._inner_costs(fam, core)
        x = "\0outside"
        for v, (_, c) in outside.items():
            costs[(x, v)] = c
        parent = min_spanning_arborescence([x, *core], costs)
        if any(v not in parent for v in core):  # not all reachable: keep the layout group's tree
            return
        for v in core:
            p = parent[v]
            if p == x:
                result.edges.append(self._outside_edge(outside[v][0], v))
            else:
                result.edges.append(self._inner_edge(fam, p, v))
            result.placed.add(v)
        # members re-placed here keep their own parents' view for later families
        fam.parent.update({v: [outside[v][0] if parent[v] == x else parent[v]] for v in core})
        copies.update({c: fam.parent[c][0] for c, rel in fam.relation.items() if rel == "duplicate"})
        _copy_edges(copies, result)

    def _distinct(self, names: list[str]) -> tuple[list[str], dict[str, str]]:
        """(models with distinct weights, copy -> the earliest model with the same weights)."""
        first: dict[tuple, str] = {}
        copies: dict[str, str] = {}
        for n in sorted(names, key=self.order.__getitem__):
            sig = tuple(sorted(self.ap.pairs.identity(n).items()))
            if sig and sig in first:
                copies[n] = first[sig]
            else:
                first.setdefault(sig, n)
        return [n for n in names if n not in copies], copies



    def _nearest_upstream(self, v: str, ups: list[Family]) -> tuple[str, float] | None:
        """The upstream model nearest to v: the kin families' members nearest in sketch
        (v projected onto their layout), compared in full."""
        best: tuple[str, float, Family] | None = None
        for up in ups:
            for u in self._candidates(v, up):
                c = self._outside_cost(u, v)
                if c is not None and (best is None or c < best[1]):
                    best = (u, c, up)
        return self._occam(v, *best) if best is not None else None

    def _occam(self, v: str, u: str, cost: float, up: Family) -> tuple[str, float]:
        """u's ancestors as near to v as u (within ``OCCAM_SHARE``) are the simpler parent: a
        sibling of v trained on similar data shares v's drift and can sit a hair nearer than
        their common parent, and a quantized copy of the parent sits as near as the parent,
        while a real child of u is nearer u by u's own update."""
        while True:
            ps = up.parent.get(u, [])
            if len(ps) != 1:  # a root, or a merge
                return u, cost
            c = self._outside_cost(ps[0], v)
            if c is None or c > cost * (1.0 + OCCAM_SHARE):
                return u, cost
            u, cost = ps[0], c

    def _candidates(self, v: str, up: Family) -> list[str]:
        """The ``TOP_K`` members of a kin family nearest to v by sketch (all, when few); v is
        projected through its alignment with the family's root (layers matched on kin)."""
        members = up.members
        if len(members) <= TOP_K:
            return members
        vec = self.ap.projected(v, up.root)
        rows = [self.ap.sketch(m) for m in members]
        if vec is None or any(r is None or r.size != vec.size for r in rows):
            return members
        x = np.stack(rows)
        both = (x != 0) & (vec != 0)
        near = np.where(both, (x - vec) ** 2, 0.0).sum(1) / np.maximum(both.sum(1), 1)
        return [members[i] for i in np.argsort(near, kind="stable")[:TOP_K]]

    def _outside_cost(self, u: str, v: str) -> float | None:
        st, al = self.ap.get(u, v)
        if st.rel >= REL_MAX or not st.n_tensors:
            return None
        p = 1.0 if al.direction() > 0 else sigmoid(direction_logodds(st)[0])
        return st.placement * (1.0 + BETA * (1.0 - p))

    def _inner_costs(self, fam: Family, core: list[str]) -> dict[tuple[str, str], float]:
        if len(core) <= ALL_PAIRS_MAX:
            pairs = {(a, b) for i, a in enumerate(core) for b in core[i + 1:]}
        else:  # the pairs the layout group's solve compared, and its tree
            keep = set(core)
            pairs = set(self.ap.pairs.cached_among(core))
            pairs |= {tuple(sorted((c, p))) for c, ps in fam.parent.items() for p in ps
                      if c in keep and p in keep}
        self.inner.ensure(sorted(pairs))
        out: dict[tuple[str, str], float] = {}
        for a, b in pairs:
            if self.inner.verdict(a, b).relation == "unrelated":
                continue
            out[(a, b)] = _cost(self.inner, a, b)
            out[(b, a)] = _cost(self.inner, b, a)
        return out

    # -- edges ---------------------------------------------------------------------------------
    def _outside_edge(self, u: str, v: str) -> LineageEdge:
        st, al = self.ap.get(u, v, full=True)
        verdict = classify(st)
        relation = cross_relation(verdict.relation, al)
        ev = base_evidence(st)
        ev["layout"] = al.to_dict()
        ev["direction_cue"] = layout_words(al) or "weights' direction cues (same tensors, other names)"
        way = al.direction()
        conf = 0.9 if way > 0 else round(sigmoid(direction_logodds(st)[0]), 4)
        return LineageEdge(u, v, relation, round(min(conf, max(0.5, 1.0 - st.rel)), 4), ev)

    def _inner_edge(self, fam: Family, p: str, v: str) -> LineageEdge:
        verdict = self.inner.verdict(p, v)
        lo, cues = direction_logodds(self.inner.get(p, v))
        ev = dict(verdict.evidence)
        ev["direction_cue"] = cues
        ev["oriented_by"] = "placed with its family's link across layouts"
        relation = verdict.relation if verdict.relation in ("finetune", "adapter") else "finetune"
        return LineageEdge(p, v, relation, round(max(0.5, sigmoid(lo)), 4), ev)


def _copy_edges(copies: dict[str, str], result: CrossResult) -> None:
    """Bit-identical copies take their original's new parents (as in the layout solve)."""
    for c, orig in copies.items():
        if orig not in result.placed:
            continue
        for e in [e for e in result.edges if e.child == orig]:
            result.edges.append(LineageEdge(e.parent, c, e.relation, e.confidence,
                                            dict(e.evidence, duplicate_of=orig)))
        result.placed.add(c)


def cross_relation(relation: str, al: Alignment) -> str:
    """The relation of an edge across layouts: dropped layers are structured pruning; a copy
    that only gained a head or vocabulary rows was trained (a fine-tune)."""
    if al.kept_layers() is not None and al.layers_b < al.layers_a:
        return "pruned"
    if relation in ("quantized", "pruned", "adapter"):
        return relation
    return "finetune"


def layout_words(al: Alignment) -> str:
    """What the layouts say, in words: 'new classifier, 3 appended vocabulary rows'."""
    parts: list[str] = []
    new = al.to_dict().get("new_tensors", [])
    heads = [g for g in new if not g.startswith("layer ")]
    if heads:
        parts.append(f"new {', '.join(heads)}")
    if (rows := al.appended_rows()) > 0:
        parts.append(f"{rows} appended vocabulary row{'s' if rows != 1 else ''}")
    if (kept := al.kept_layers()) is not None and al.layers_b < al.layers_a:
        parts.append(f"keeps layers {', '.join(map(str, kept))} of {al.layers_a}")
    if al.prefix_a != al.prefix_b:
        parts.append(f"tensor names {'with' if al.prefix_b else 'without'} the "
                     f"'{al.prefix_b or al.prefix_a}.' prefix")
    return "; ".join(parts)


def _acyclic(arcs: list[tuple[float, Family, Family]]) -> dict[int, list[Family]]:
    """Upstream lists from arcs (strongest first), skipping any arc that closes a cycle."""
    ups: dict[int, list[Family]] = defaultdict(list)
    down: dict[int, set[int]] = defaultdict(set)

    def reaches(a: int, b: int) -> bool:
        stack, seen = [a], set()
        while stack:
            x = stack.pop()
            if x == b:
                return True
            if x not in seen:
                seen.add(x)
                stack.extend(down[x])
        return False

    for _, fa, fb in sorted(arcs, key=lambda t: -t[0]):
        if reaches(id(fb), id(fa)):
            continue
        ups[id(fb)].append(fa)
        down[id(fa)].add(id(fb))
    return ups


def _topological(fams: list[Family], ups: dict[int, list[Family]]) -> Iterable[Family]:
    done: set[int] = set()
    out: list[Family] = []

    def visit(f: Family) -> None:
        if id(f) in done:
            return
        done.add(id(f))
        for u in ups.get(id(f), []):
            visit(u)
        out.append(f)

    for f in fams:
        visit(f)
    return out
