"""Minimum spanning arborescence (Chu-Liu/Edmonds), lean enough for families of hundreds.

``networkx.minimum_spanning_arborescence`` copies its graph at every contraction
step: about 3 s for 250 models and 3,000 candidate edges, and the solver calls it
several times per family. This is the same algorithm on integer arrays: pick the
cheapest edge into every node, contract each cycle into one node (reducing the
cost of the edges entering it), repeat, then expand. The root is free: a virtual
root reaches every node at a cost above any tree, so exactly one of its edges is
used. ``tests/test_lineage.py`` checks it against networkx.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable


def _contract_cycle(best_in: list[int], src: list[int], root: int, n: int) -> tuple[list[int], int]:
    """Node -> cycle id (``-1``: in no cycle) for the cycles of the chosen in-edges."""
    cycle_of = [-1] * n
    state = [0] * n  # 0 unseen, 1 on the current walk, 2 done
    cycles = 0
    for start in range(n):
        walk, v = [], start
        while v != root and state[v] == 0:
            state[v] = 1
            walk.append(v)
            v = src[best_in[v]]
        if v != root and state[v] == 1:  # the walk closed a new cycle at v
            u = v
            while True:
                cycle_of[u] = cycles
                u = src[best_in[u]]
                if u == v:
                    break
            cycles += 1
        for u in walk:
            state[u] = 2
    return cycle_of, cycles


def _edmonds(n: int, root: int, src: list[int], dst: list[int], cost: list[float]) -> list[int]:
    """Indices of the edges of a minimum arborescence rooted at ``root`` over nodes 0..n-1."""
    best_in = [-1] * n
    for e, (v, c) in enumerate(zip(dst, cost)):
        if v != root and src[e] != v and (best_in[v] < 0 or c < cost[best_in[v]]):
            best_in[v] = e
    if any(best_in[v] < 0 for v in range(n) if v != root):
        raise ValueError("some node cannot be reached")
    cycle_of, cycles = _contract_cycle(best_in, src, root, n)
    if not cycles:
        return [best_in[v] for v in range(n) if v != root]
    new_id, m = [0] * n, cycles  # cycle k -> node k; others after
    for v in range(n):
        if cycle_of[v] >= 0:
            new_id[v] = cycle_of[v]
        else:
            new_id[v], m = m, m + 1
    keep, s2, d2, c2 = [], [], [], []
    for e in range(len(src)):
        a, b = new_id[src[e]], new_id[dst[e]]
        if a == b:
            continue
        c = cost[e] - (cost[best_in[dst[e]]] if cycle_of[dst[e]] >= 0 else 0.0)
        keep.append(e)
        s2.append(a)
        d2.append(b)
        c2.append(c)
    chosen = [keep[i] for i in _edmonds(m, new_id[root], s2, d2, c2)]
    entered = {dst[e] for e in chosen}  # the node of each cycle that its in-edge enters
    out = list(chosen)
    for v in range(n):
        if cycle_of[v] >= 0 and v not in entered:
            out.append(best_in[v])
    return out


def min_spanning_arborescence(nodes: Iterable[Hashable],
                              edges: dict[tuple[Hashable, Hashable], float]) -> dict[Hashable, Hashable]:
    """child -> parent of a minimum-cost spanning arborescence (free root) of a weakly
    connected directed graph given as ``{(u, v): cost}``."""
    names = list(nodes)
    index = {x: i for i, x in enumerate(names)}
    n = len(names)
    if n < 2:
        return {}
    big = 1.0 + 2.0 * sum(abs(c) for c in edges.values())
    src, dst, cost = [], [], []
    for (u, v), c in edges.items():
        src.append(index[u])
        dst.append(index[v])
        cost.append(float(c))
    for i in range(n):  # virtual root n reaches every node at a cost no tree undercuts
        src.append(n)
        dst.append(i)
        cost.append(big)
    chosen = _edmonds(n + 1, n, src, dst, cost)
    return {names[dst[e]]: names[src[e]] for e in chosen if src[e] != n}


def components(nodes: set[str], links: list[tuple[str, str]]) -> list[set[str]]:
    """Connected components (union-find; a cached graph is read without importing networkx)."""
    parent = {n: n for n in nodes}

    def root(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in links:
        parent[root(a)] = root(b)
    groups: dict[str, set[str]] = {}
    for n in nodes:
        groups.setdefault(root(n), set()).add(n)
    return list(groups.values())
