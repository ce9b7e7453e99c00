"""Solving one layout group: families, anchored edges, arborescence, placement checks.

1. Sketches give every pair's approximate distance and relatedness; each model
   keeps its ``k`` nearest related neighbours as candidates (both ways).
2. Candidate pairs are compared on full weights (``PairSource``); pairs whose
   weights are near-orthogonal are unrelated. Families are the connected parts.
3. Anchors first: copies whose relation shows the direction (duplicate,
   quantized, pruned) and merges (an affine fit of two or more models) are
   attached to their source and taken out of the tree problem: they are leaves.
4. The remaining models of a family get a minimum spanning arborescence
   (Chu-Liu/Edmonds) over the candidate edges, each costing its placement
   distance (a high quantile of the elementwise difference) times
   ``1 + BETA * (1 - p)``, ``p`` the direction probability; low-rank adapter
   updates cost less, in proportion to their rank.
5. Placement checks, each banning an edge and re-solving the arborescence:
   Occam (v no closer to its parent than to its grandparent: v is a sibling)
   and tensor identity (bit-identical tensors are inherited, so the models
   sharing one stay connected through models that hold it too).
6. Each tree is hung from the root that best agrees with the direction cues of
   its edges and with chain consistency: siblings share the drift of their
   training, so reading a sibling as the parent of its parent makes the path
   turn back on itself. Occam moves follow the final orientation.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import networkx as nx
import numpy as np

from modellake.store.records import LineageEdge
from modellake.tools.lineage.arborescence import min_spanning_arborescence
from modellake.tools.lineage.compare import PairStats
from modellake.tools.lineage.detect import (
    FIXED,
    MergeFit,
    PairVerdict,
    base_evidence,
    classify,
    direction_logodds,
    find_merge,
    sigmoid,
)

K_NEIGHBOURS = 6       # sketch candidates per model
SKETCH_REL_MAX = 0.7   # looser than REL_MAX: sketches are noisy, full weights decide
BETA = 0.25             # weight of the direction penalty in arborescence costs
OCCAM_TOL = 0.02       # occam check: v no closer to p than to g, within this share of |p - g|
MAX_ROUNDS = 8         # arborescence re-solves after placement checks
TURN_TOL = 0.1         # a path whose two updates have cosine below -TURN_TOL turns back...
TURN_WEIGHT = 20.0     # ...costing this many log-odds per unit of cosine
ADAPTER_DISCOUNT = 0.25  # cost factor of an edge whose update is an adapter's...
ADAPTER_RANK_UNIT = 8    # ...of this rank (scaled linearly with the update's mean rank)
MERGE_POOL = 64         # nearest models searched for merge parents


class PairSource(Protocol):
    """Full-weight facts about models of one group, computed on demand (and cached)."""

    def stats(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], PairStats]: ...
    def merge(self, child: str, parents: list[str]) -> MergeFit | None: ...
    def identity(self, name: str) -> dict[str, str]: ...


@dataclass
class GroupResult:
    edges: list[LineageEdge] = field(default_factory=list)
    families: list[list[str]] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)


@dataclass
class SketchTables:
    """Pairwise sketch distances and relatedness.

    ``d2``: squared distance; ``near``: mean squared difference over the
    coordinates where both are non-zero (a pruned copy is at 0 from its source),
    used to rank candidates; ``rel``: relatedness over weight-matrix coordinates.
    """

    d2: np.ndarray
    near: np.ndarray
    rel: np.ndarray


def _nonzero_sq_diff(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sum of squared differences, sum of squares of both, count) over the
    coordinates where both rows are non-zero, for all pairs of rows."""
    sq, nz = x * x, (x != 0).astype(np.float64)
    den = sq @ nz.T + nz @ sq.T
    return np.maximum(den - 2 * x @ x.T, 0.0), den, nz @ nz.T


def sketch_tables(x: np.ndarray, matrix_mask: np.ndarray | None) -> SketchTables:
    """All-pairs distances and non-zero-coordinate relatedness of sketch rows."""
    x = x.astype(np.float64)
    n2 = (x * x).sum(1)
    d2 = np.maximum(n2[:, None] + n2[None, :] - 2 * x @ x.T, 0.0)
    diff, _, count = _nonzero_sq_diff(x)
    num, den, _ = _nonzero_sq_diff(x if matrix_mask is None else x * matrix_mask)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(den > 0, num / den, 0.0)
        near = np.where(count > 0, diff / np.maximum(count, 1.0), np.inf)
    return SketchTables(d2, near, rel)


def candidate_pairs(t: SketchTables, k: int | None = None) -> set[tuple[int, int]]:
    """Unordered index pairs: each model with its ``k`` nearest related models."""
    k = k or K_NEIGHBOURS
    n = t.d2.shape[0]
    out: set[tuple[int, int]] = set()
    for i in range(n):
        order = np.argsort(t.near[i], kind="stable")
        picked = [j for j in order if j != i and t.rel[i, j] < SKETCH_REL_MAX][:k]
        out.update((min(i, j), max(i, j)) for j in picked)
    return out


def _core_candidates(core: list[str], index: dict[str, int], t: SketchTables,
                     pairs: _Pairs) -> set[tuple[str, str]]:
    """Each core model with its ``K_NEIGHBOURS`` nearest core models (copies and merges,
    taken out of the tree problem, must not crowd the tree's own candidates out)."""
    idx = np.array([index[n] for n in core])
    out: set[tuple[str, str]] = set()
    for a in core:
        near = t.near[index[a], idx]
        for j in np.argsort(near, kind="stable")[:K_NEIGHBOURS + 1]:
            b = core[int(j)]
            if b != a and t.rel[index[a], index[b]] < SKETCH_REL_MAX:
                out.add((a, b) if index[a] < index[b] else (b, a))
    pairs.ensure(sorted(out))
    out = {p for p in out if pairs.verdict(*p).relation != "unrelated"}
    return out | _bridges(core, index, t, pairs, out)


def _join_parts(graph: nx.Graph, names: list[str], index: dict[str, int], t: SketchTables,
                pairs: _Pairs) -> set[tuple[str, str]]:
    """Related pairs that join parts of the candidate graph (edges added to ``graph``).

    A tight cluster (a model and its many children) can hold all of its members'
    nearest neighbours, cutting it off from its own parent. Each part tries its
    nearest sketch-related model in another part on full weights; parts of unrelated
    families stay apart (their pairs are compared once and found unrelated).
    """
    idx = np.array([index[n] for n in names])
    near = t.near[np.ix_(idx, idx)]
    tried: set[tuple[str, str]] = set()
    out: set[tuple[str, str]] = set()
    while True:
        label = {n: i for i, c in enumerate(nx.connected_components(graph)) for n in c}
        lab = np.array([label[n] for n in names])
        if lab.max() == 0:
            return out
        joined = False
        for part in range(int(lab.max()) + 1):
            rows = np.flatnonzero(lab == part)
            sub = near[rows].copy()
            sub[:, lab == part] = np.inf
            sub[t.rel[np.ix_(idx[rows], idx)] >= SKETCH_REL_MAX] = np.inf
            for _ in range(2):  # its two nearest outside pairs
                k = int(np.argmin(sub))
                i, j = divmod(k, sub.shape[1])
                if not np.isfinite(sub[i, j]):
                    break
                sub[i, j] = np.inf
                a, b = names[int(rows[i])], names[int(j)]
                pair = (a, b) if index[a] < index[b] else (b, a)
                if pair in tried:
                    continue
                tried.add(pair)
                if pairs.verdict(*pair).relation != "unrelated":
                    graph.add_edge(*pair)
                    out.add(pair)
                    joined = True
                    break
            if joined:
                break
        if not joined:
            return out


def _bridges(core: list[str], index: dict[str, int], t: SketchTables, pairs: _Pairs,
             cand: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Pairs that join the candidate graph's separate parts (nearest pair between parts,
    Kruskal-style), so that a family gets one tree: a tight cluster, such as a model
    with many children, must still reach its own parent."""
    g = nx.Graph()
    g.add_nodes_from(core)
    g.add_edges_from(cand)
    idx = np.array([index[n] for n in core])
    near = t.near[np.ix_(idx, idx)]
    out: set[tuple[str, str]] = set()
    while nx.number_connected_components(g) > 1:
        label = {n: i for i, c in enumerate(nx.connected_components(g)) for n in c}
        lab = np.array([label[n] for n in core])
        masked = np.where(lab[:, None] == lab[None, :], np.inf, near)
        i, j = np.unravel_index(int(np.argmin(masked)), masked.shape)
        a, b = core[int(i)], core[int(j)]
        pair = (a, b) if index[a] < index[b] else (b, a)
        pairs.ensure([pair])
        g.add_edge(a, b)
        if pairs.verdict(*pair).relation != "unrelated":
            out.add(pair)
    return out


class _Pairs:
    """Oriented access to unordered pair statistics and their verdicts."""

    def __init__(self, source: PairSource) -> None:
        self.source = source
        self.st: dict[tuple[str, str], PairStats] = {}
        self._verdicts: dict[tuple[str, str], PairVerdict] = {}
        self._logodds: dict[tuple[str, str], float] = {}

    def ensure(self, pairs: list[tuple[str, str]]) -> None:
        todo = [p for p in pairs if p not in self.st and (p[1], p[0]) not in self.st]
        if todo:
            self.st.update(self.source.stats(list(dict.fromkeys(todo))))

    def get(self, a: str, b: str) -> PairStats:
        """Stats with a as the would-be parent and b as the would-be child."""
        if (a, b) not in self.st and (b, a) not in self.st:
            self.ensure([(a, b)])
        if (a, b) not in self.st:
            self.st[(a, b)] = self.st[(b, a)].flipped()
        return self.st[(a, b)]

    def verdict(self, a: str, b: str) -> PairVerdict:
        if (a, b) not in self._verdicts:
            self._verdicts[(a, b)] = classify(self.get(a, b))
        return self._verdicts[(a, b)]

    def logodds(self, a: str, b: str) -> float:
        if (a, b) not in self._logodds:
            self._logodds[(a, b)] = direction_logodds(self.get(a, b))[0]
        return self._logodds[(a, b)]


def _anchors(pairs: _Pairs, verdicts: dict[tuple[str, str], PairVerdict],
             order: dict[str, int]) -> dict[str, LineageEdge]:
    """child -> edge for copies whose relation shows the direction (nearest source wins)."""
    offers: list[tuple[float, LineageEdge]] = []
    for (a, b), v in verdicts.items():
        if v.relation not in FIXED:
            continue
        parent, child = (a, b) if v.parent_is_a else (b, a)
        if v.relation == "duplicate":  # no direction in the weights: the earlier entry is the original
            parent, child = sorted((a, b), key=order.__getitem__)
        offers.append((pairs.get(parent, child).distance,
                       LineageEdge(parent, child, v.relation, v.confidence, v.evidence)))
    chosen: dict[str, LineageEdge] = {}
    for _, e in sorted(offers, key=lambda o: o[0]):
        if e.child in chosen:
            continue
        up, seen = e.parent, set()
        while up in chosen and up not in seen:  # no cycles among anchors
            seen.add(up)
            up = chosen[up].parent
        if up == e.child:
            continue
        chosen[e.child] = e
    return chosen


def _merges(family: list[str], anchored: set[str], index: dict[str, int], sk: np.ndarray,
            t: SketchTables, pairs: _Pairs, source: PairSource) -> dict[str, list[LineageEdge]]:
    """child -> merge edges, for models that are an affine combination of others."""
    out: dict[str, list[LineageEdge]] = {}
    for v in family:
        if v in anchored:
            continue
        i = index[v]
        pool = [u for u in family if u != v and u not in out]
        if len(pool) < 2:
            continue
        pool = sorted(pool, key=lambda u: t.d2[i, index[u]])[:MERGE_POOL]
        fit = find_merge(sk[i], sk[[index[u] for u in pool]], list(range(len(pool))))
        if fit is None:
            continue
        parents = [pool[j] for j in fit.parents]
        full = source.merge(v, parents)
        if full is None:
            continue
        ev = {"coefficients": {p: round(c, 4) for p, c in zip(parents, full.coefs)},
              "residual_ratio": float(f"{full.residual_ratio:.3g}"),
              "direction_cue": "affine combination of its parents (a merge is a child)"}
        conf = round(max(0.5, 1.0 - 10 * full.residual_ratio), 4)
        out[v] = [LineageEdge(p, v, "merge", conf, dict(ev, **base_evidence(pairs.get(p, v))))
                  for p in parents]
    return out


def _cost(pairs: _Pairs, a: str, b: str) -> float:
    """Arborescence cost of the edge a -> b: placement distance, raised when the
    direction is doubtful and lowered for a low-rank update with everything else
    identical (an adapter: the distance of a strong low-rank update says little,
    its structure says a lot), in proportion to the rank of the update (MoTHer's
    LoRA distance: an adapter differs from its parent by rank r, from its
    grandparent or a sibling by 2r)."""
    st = pairs.get(a, b)
    cost = st.placement * (1.0 + BETA * (1.0 - sigmoid(pairs.logodds(a, b))))
    if pairs.verdict(a, b).relation != "adapter":
        return cost
    mean_rank = sum(x[0] for x in st.ranks) / len(st.ranks)
    return cost * ADAPTER_DISCOUNT * mean_rank / ADAPTER_RANK_UNIT


def _arborescence(core: list[str], cand: set[tuple[str, str]], pairs: _Pairs,
                  banned: set[tuple[str, str]]) -> dict[str, str]:
    """child -> parent over the core models (Chu-Liu/Edmonds; one tree per part)."""
    members = set(core)
    edges: dict[tuple[str, str], float] = {}
    for a, b in cand:
        if a in members and b in members:
            for u, v in ((a, b), (b, a)):
                if (u, v) not in banned:
                    edges[(u, v)] = _cost(pairs, u, v)
    return min_spanning_arborescence(core, edges)


def _descendants(parent: dict[str, str], v: str) -> set[str]:
    kids: dict[str, list[str]] = {}
    for c, p in parent.items():
        kids.setdefault(p, []).append(c)
    out, stack = set(), [v]
    while stack:
        for c in kids.get(stack.pop(), []):
            if c not in out:
                out.add(c)
                stack.append(c)
    return out


@dataclass
class _Context:
    """What the placement checks need besides the tree."""

    core: list[str]
    family: list[str]
    fixed: dict[str, list[str]]        # anchored child -> its parents
    ident: dict[str, dict[str, str]]   # model -> tensor name -> content hash
    pairs: _Pairs
    sk: np.ndarray                     # sketches, rows by ``index`` (for re-rooting)
    index: dict[str, int]
    holders: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (tensor, hash) ->

    def __post_init__(self) -> None:
        for name in self.family:
            for t, h in self.ident[name].items():
                self.holders.setdefault((t, h), set()).add(name)


def _occam(ctx: _Context, parent: dict[str, str], v: str) -> str | None:
    """The grandparent, if v sits as close to it as to its parent.

    When v is no closer to p than to p's parent g (within ``OCCAM_TOL`` of p's own
    update), nothing of p's update shows in v: v is p's sibling, one level too deep.
    Only for a dense fine-tune p, whose Adam update reaches its ceiling on many
    weights and so shows in the placement distance of any descendant.
    """
    p = parent[v]
    g = parent.get(p)
    if g is None:
        return None
    pr = ctx.pairs
    if pr.verdict(g, p).relation != "finetune" or pr.verdict(p, v).relation != "finetune":
        return None  # low-rank updates need not show at (or hide) the top quantile
    gain = pr.get(g, v).placement - pr.get(p, v).placement
    if gain <= OCCAM_TOL * pr.get(g, p).placement and pr.logodds(g, v) > 0:
        return g
    return None


def _identity_holders(ctx: _Context, parent: dict[str, str], v: str) -> list[str] | None:
    """None if v's parent holds every tensor value v shares outside its subtree; else the
    core models that do (where v may go instead).

    A bit-identical tensor is inherited unchanged, so the models holding one value
    of a tensor form a connected part of the tree: v's parent must hold every value
    v shares with a model outside v's subtree.
    """
    links = dict(parent)
    links.update({c: ps[0] for c, ps in ctx.fixed.items()})
    sub = _descendants(links, v) | {v}
    for c, ps in ctx.fixed.items():  # a merge child hangs under each of its parents
        if any(x in sub for x in ps):
            sub.add(c)
    iv = ctx.ident[v]
    shared = {t for t, h in iv.items() if ctx.holders[(t, h)] - sub}
    if all(ctx.ident[parent[v]].get(t) == iv[t] for t in shared):
        return None
    return [u for u in ctx.core if u not in sub
            and all(ctx.ident[u].get(t) == iv[t] for t in shared)]


def _violations(ctx: _Context, parent: dict[str, str]) -> tuple[set, set]:
    """(edges to ban, candidate pairs to add) found by the placement checks."""
    bans: set[tuple[str, str]] = set()
    extra: set[tuple[str, str]] = set()
    for v, p in parent.items():
        g = _occam(ctx, parent, v)
        if g is not None:
            bans.add((p, v))
            extra.add((g, v))
            continue
        holders = _identity_holders(ctx, parent, v)
        if holders is not None:
            bans.add((p, v))
            extra.update((u, v) for u in holders)
    return bans, extra


def _solve_core(ctx: _Context, cand: set[tuple[str, str]]) -> dict[str, str]:
    """Arborescence, re-solved without the edges the placement checks reject."""
    cand = set(cand)
    banned: set[tuple[str, str]] = set()
    parent = _arborescence(ctx.core, cand, ctx.pairs, banned)
    for _ in range(MAX_ROUNDS):
        bans, extra = _violations(ctx, parent)
        new = bans - banned
        if not new:
            break
        ctx.pairs.ensure(sorted(extra - cand))
        cand |= extra
        banned |= new
        parent = _arborescence(ctx.core, cand, ctx.pairs, banned)
    return parent


def _neighbours(parent: dict[str, str]) -> dict[str, list[str]]:
    nb: dict[str, list[str]] = {}
    for c, p in parent.items():
        nb.setdefault(c, []).append(p)
        nb.setdefault(p, []).append(c)
    return nb


def _orient(nb: dict[str, list[str]], root: str) -> dict[str, str]:
    """child -> parent of the tree ``nb`` hung from ``root``."""
    parent: dict[str, str] = {}
    stack, seen = [root], {root}
    while stack:
        u = stack.pop()
        for v in nb.get(u, []):
            if v not in seen:
                seen.add(v)
                parent[v] = u
                stack.append(v)
    return parent


def _turn_penalties(nb: dict[str, list[str]], sk: np.ndarray, index: dict[str, int]
                    ) -> dict[tuple[str, str, str], float]:
    """Penalty of passing a -> v -> b (a parent of v, b a child): the two updates
    pointing back at each other (cosine below -TURN_TOL, from sketches).

    Children of one parent share the drift of their training (same base, similar
    data), so reading a sibling as the parent of its parent makes the path
    child -> parent -> sibling turn back on itself; real chains of fine-tunes do not.
    """
    out: dict[tuple[str, str, str], float] = {}
    for v, ns in nb.items():
        if len(ns) < 2:
            continue
        x = sk[index[v]].astype(np.float64)
        ups = {n: x - sk[index[n]] for n in ns}          # update n -> v
        norms = {n: float(np.linalg.norm(u)) for n, u in ups.items()}
        for a in ns:
            for b in ns:
                if a == b or not norms[a] or not norms[b]:
                    continue
                cos = float(ups[a] @ -ups[b]) / (norms[a] * norms[b])  # (v - a) . (b - v)
                if cos < -TURN_TOL:
                    out[(a, v, b)] = TURN_WEIGHT * (cos + TURN_TOL)
    return out


def _reroot(core: list[str], parent: dict[str, str], pairs: _Pairs, sk: np.ndarray,
            index: dict[str, int]) -> dict[str, str]:
    """Hang each tree from the root that best agrees with the direction cues of its edges
    and with chain consistency (``_turn_penalties``); placement is kept."""
    nb = _neighbours(parent)
    if not nb:
        return parent
    turns = _turn_penalties(nb, sk, index)
    lo: dict[tuple[str, str], float] = {}
    for c, p in parent.items():
        x = pairs.logodds(p, c)
        lo[(p, c)], lo[(c, p)] = x, -x
    out: dict[str, str] = {}
    for part in nx.connected_components(nx.Graph([(c, p) for c, p in parent.items()])):
        best = None
        for r in sorted(part, key=core.index):
            orient = _orient(nb, r)
            score = sum(lo[(p, c)] for c, p in orient.items())
            score += sum(turns.get((orient[p], p, c), 0.0) for c, p in orient.items() if p in orient)
            if best is None or score > best[0] + 1e-9:
                best = (score, orient)
        out.update(best[1])
    return out


def _settle(ctx: _Context, parent: dict[str, str]) -> dict[str, str]:
    """Re-root, then move models the Occam check puts one level too deep, until stable."""
    for _ in range(MAX_ROUNDS):
        parent = _reroot(ctx.core, parent, ctx.pairs, ctx.sk, ctx.index)
        moved = dict(parent)
        for v in list(moved):
            g = _occam(ctx, moved, v)
            if g is not None and _identity_holders(ctx, dict(moved, **{v: g}), v) is None:
                moved[v] = g
        if moved == parent:
            break
        parent = moved
    return parent


def solve_group(names: list[str], sketches: np.ndarray, matrix_mask: np.ndarray | None,
                source: PairSource, order: dict[str, int] | None = None) -> GroupResult:
    """Edges, families and roots of the models of one layout group."""
    order = order or {n: i for i, n in enumerate(names)}
    index = {n: i for i, n in enumerate(names)}
    if len(names) == 1:
        return GroupResult([], [list(names)], list(names))
    t = sketch_tables(sketches, matrix_mask)
    cand_idx = candidate_pairs(t)
    pairs = _Pairs(source)
    cand = [(names[i], names[j]) for i, j in sorted(cand_idx)]
    pairs.ensure(cand)
    verdicts = {(a, b): pairs.verdict(a, b) for a, b in cand}
    related = {p for p, v in verdicts.items() if v.relation != "unrelated"}
    graph = nx.Graph()
    graph.add_nodes_from(names)
    graph.add_edges_from(related)
    for pair in _join_parts(graph, names, index, t, pairs):  # clusters that kNN left apart
        verdicts[pair] = pairs.verdict(*pair)
        related.add(pair)
    result = GroupResult()
    dupes = _duplicates(verdicts, order)
    for comp in sorted(nx.connected_components(graph), key=lambda c: sorted(c)):
        members = sorted(comp, key=order.__getitem__)
        family = [n for n in members if n not in dupes]
        fam_set = set(family)
        fam_verdicts = {p: v for p, v in verdicts.items()
                        if p in related and p[0] in fam_set and p[1] in fam_set}
        anchors = _anchors(pairs, fam_verdicts, order)
        merges = _merges(family, set(anchors), index, sketches, t, pairs, source)
        core = [n for n in family if n not in anchors and n not in merges]
        fam_cand = {p for p in related if p[0] in fam_set} | _core_candidates(core, index, t, pairs)
        fixed = {c: [e.parent] for c, e in anchors.items()}
        fixed.update({c: [e.parent for e in es] for c, es in merges.items()})
        ctx = _Context(core, family, fixed, {n: source.identity(n) for n in family}, pairs,
                       sketches, index)
        parent = _settle(ctx, _solve_core(ctx, fam_cand))

        def cost(u: str, v: str) -> float:
            return _cost(pairs, u, v)

        for v, u in parent.items():
            result.edges.append(_core_edge(u, v, pairs, parent, core, cost))
        result.edges.extend(anchors.values())
        for es in merges.values():
            result.edges.extend(es)
        result.edges.extend(_duplicate_edges(dupes, fam_set, result.edges))
        result.families.append(members)
        result.roots.extend(n for n in core if n not in parent)
    return result


def _duplicates(verdicts: dict[tuple[str, str], PairVerdict],
                order: dict[str, int]) -> dict[str, str]:
    """copy -> original for bit-identical models (the earliest entry is the original).

    Copies are taken out before solving (as the Model Atlas does) and get their
    original's parents afterwards: two identical quantizations of one model are
    both its quantized children, not one the child of the other.
    """
    g = nx.Graph([p for p, v in verdicts.items() if v.relation == "duplicate"])
    out: dict[str, str] = {}
    for comp in nx.connected_components(g):
        first, *rest = sorted(comp, key=order.__getitem__)
        out.update({n: first for n in rest})
    return out


def _duplicate_edges(dupes: dict[str, str], family: set[str],
                     edges: list[LineageEdge]) -> list[LineageEdge]:
    """The edges of every copy whose original is in ``family``."""
    out: list[LineageEdge] = []
    for copy, orig in dupes.items():
        if orig not in family:
            continue
        incoming = [e for e in edges if e.child == orig]
        if not incoming:
            out.append(LineageEdge(orig, copy, "duplicate", 1.0, {
                "identical_tensors": 1.0, "direction_cue": "bit-identical copy; "
                "the earlier entry in the lake is taken as the original"}))
        out.extend(LineageEdge(e.parent, copy, e.relation, e.confidence,
                               dict(e.evidence, duplicate_of=orig)) for e in incoming)
    return out


def _core_edge(u: str, v: str, pairs: _Pairs, parent: dict[str, str], core: list[str],
               cost: Callable[[str, str], float]) -> LineageEdge:
    """A tree edge with its relation, confidence (direction x placement margin), evidence."""
    verdict = pairs.verdict(u, v)
    lo, cues = direction_logodds(pairs.get(u, v))
    banned = _descendants(parent, v) | {v, u}
    alts = [cost(w, v) for w in core if w not in banned and ((w, v) in pairs.st or (v, w) in pairs.st)]
    c1 = cost(u, v)
    margin = 1.0 if not alts or c1 <= 0 else max(0.0, min(1.0, 4 * (min(alts) - c1) / c1))
    ev = dict(verdict.evidence)
    ev["direction_cue"] = cues
    ev["direction_logodds"] = round(lo, 3)
    # the edge's own cues, or (when they disagree) the tree's chain consistency
    ev["oriented_by"] = "edge cues" if lo >= 0 else "tree consistency (siblings' shared drift)"
    p_dir = sigmoid(lo) if lo >= 0 else 0.5
    relation = verdict.relation if verdict.relation in ("finetune", "adapter") else "finetune"
    return LineageEdge(u, v, relation, round(p_dir * (0.5 + 0.5 * margin), 4), ev)
