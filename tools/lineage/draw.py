"""``modellake lineage --graph out.png|out.svg``: draw the version graph.

Uses graphviz ``dot`` when it is on PATH, else matplotlib (a layered layout:
roots on top, each model one row below its deepest parent). Edges are labelled
with their relation and confidence.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from modellake.store.errors import ModelLakeError

_COLORS = {"finetune": "#1f77b4", "adapter": "#9467bd", "quantized": "#2ca02c",
           "pruned": "#8c564b", "merge": "#d62728", "duplicate": "#7f7f7f"}


def _dot_source(graph) -> str:
    lines = ["digraph lineage {", '  rankdir=TB; node [shape=box, fontsize=10];']
    for fam in graph.families:
        for n in fam:
            style = ', style="bold"' if n in graph.roots else ""
            lines.append(f'  "{n}" [label="{n}"{style}];')
    for e in graph.edges:
        color = _COLORS.get(e.relation, "black")
        lines.append(f'  "{e.parent}" -> "{e.child}" [label="{e.relation} {e.confidence:.2f}", '
                     f'color="{color}", fontcolor="{color}", fontsize=9];')
    lines.append("}")
    return "\n".join(lines)


def _depths(graph) -> dict[str, int]:
    parents: dict[str, list[str]] = {}
    for e in graph.edges:
        parents.setdefault(e.child, []).append(e.parent)
    depth: dict[str, int] = {}

    def get(n: str, seen: frozenset = frozenset()) -> int:
        if n not in depth:
            ps = [p for p in parents.get(n, []) if p not in seen]
            depth[n] = 1 + max((get(p, seen | {n}) for p in ps), default=-1)
        return depth[n]

    for fam in graph.families:
        for n in fam:
            get(n)
    return depth


def _layout(graph) -> dict[str, tuple[float, float]]:
    """x, y of every model: families side by side, one row per depth."""
    depth = _depths(graph)
    pos: dict[str, tuple[float, float]] = {}
    x0 = 0.0
    for fam in graph.families:
        rows: dict[int, list[str]] = {}
        for n in fam:
            rows.setdefault(depth[n], []).append(n)
        width = max(len(r) for r in rows.values())
        for d, names in rows.items():
            offset = (width - len(names)) / 2
            for i, n in enumerate(names):
                pos[n] = (x0 + offset + i, -float(d))
        x0 += width + 1
    return pos


def _matplotlib(graph, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pos = _layout(graph)
    xs = [p[0] for p in pos.values()] or [0]
    ys = [p[1] for p in pos.values()] or [0]
    fig, ax = plt.subplots(figsize=(max(6, 2.2 * (max(xs) - min(xs) + 1)),
                                    max(4, 1.6 * (max(ys) - min(ys) + 1))))
    for e in graph.edges:
        (x1, y1), (x2, y2) = pos[e.parent], pos[e.child]
        color = _COLORS.get(e.relation, "black")
        ax.annotate("", xy=(x2, y2 + 0.12), xytext=(x1, y1 - 0.12),
                    arrowprops={"arrowstyle": "->", "color": color, "lw": 1.2})
        ax.text((x1 + x2) / 2, (y1 + y2) / 2, f"{e.relation} {e.confidence:.2f}", color=color,
                fontsize=7, ha="center", va="center",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    for n, (x, y) in pos.items():
        ax.text(x, y, n, ha="center", va="center", fontsize=8,
                fontweight="bold" if n in graph.roots else "normal",
                bbox={"boxstyle": "round,pad=0.3", "fc": "#f4f4f4", "ec": "#444444"})
    ax.set_xlim(min(xs) - 1, max(xs) + 1)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def draw_graph(graph, path: str | Path) -> Path:
    """Write the graph to ``path`` (.png or .svg); returns the path."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise ModelLakeError(f"cannot draw to {path.name}: use a .png or .svg file name")
    dot = shutil.which("dot")
    if dot:
        subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=_dot_source(graph).encode(),
                       check=True, timeout=120)
    else:
        _matplotlib(graph, path)
    return path
