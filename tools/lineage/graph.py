"""Lineage from weights: which model was derived from which, and how.

Entry points (each returns a record with ``to_dict()`` for ``--json``):

* ``infer_lineage(catalog)`` -> ``LineageGraph``: every edge, root, family and
  declared-vs-inferred conflict of the lake (``modellake lineage``);
  ``lineage(catalog, name)`` keeps the family of one model;
* ``audit(catalog)`` -> ``AuditReport`` (``modellake lineage --audit``);
* ``ancestors`` / ``descendants`` / ``siblings`` -> ``Relatives``;
* ``diff(catalog, a, b)`` -> ``ModelDiff`` (in :mod:`.model_diff`);
* ``draw_graph(graph, path)`` (in :mod:`.draw`).

Models are grouped by tensor layout (``layout_hash``); each group is solved by
:mod:`.solve` from sketches and full-weight comparisons of candidate pairs.
GGUF exports are matched to their source through the gguf name tables, and
unmerged PEFT adapters to their base. Results are cached per group in the
catalog and a group is solved again only when its models changed.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from modellake.store.catalog import Catalog
from modellake.store.errors import NotFoundError, one_line
from modellake.store.records import LineageEdge, ModelRecord, Record
from modellake.tools.lineage.arborescence import components
from modellake.tools.lineage.compare import single_threaded_blas
from modellake.tools.lineage.declared import AuditReport, Conflict, confidence, declarations, derivation, name_matcher
from modellake.tools.lineage.declared import audit as audit_declared
from modellake.tools.lineage.detect import REL_MAX, base_evidence
from modellake.tools.lineage.source import CatalogPairs, sketch_matrix_mask
from modellake.tools.rendering import TABLE_FROM, join, plural, table

if TYPE_CHECKING:
    from modellake.tools.lineage.solve import GroupResult

ALGORITHM = "lineage-4"  # part of every cache fingerprint: bump when results change
RELATIONS = ("finetune", "adapter", "quantized", "pruned", "merge", "duplicate")


@dataclass
class LineageGraph(Record):
    """The inferred version graph (``modellake lineage --json``)."""

    edges: list[LineageEdge] = field(default_factory=list)
    roots: list[str] = field(default_factory=list)
    families: list[list[str]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)   # model -> why the weights link it to nothing

    def parents(self, name: str) -> list[LineageEdge]:
        return [e for e in self.edges if e.child == name]

    def children(self, name: str) -> list[LineageEdge]:
        return [e for e in self.edges if e.parent == name]

    def family(self, name: str) -> list[str]:
        for fam in self.families:
            if name in fam:
                return fam
        raise NotFoundError(f"no model named {name!r} in the lineage graph")

    def subgraph(self, names: list[str]) -> LineageGraph:
        keep = set(names)
        return LineageGraph([e for e in self.edges if e.child in keep and e.parent in keep],
                            [r for r in self.roots if r in keep],
                            [[m for m in f if m in keep] for f in self.families if keep & set(f)],
                            [c for c in self.conflicts if c.model in keep],
                            {m: n for m, n in self.notes.items() if m in keep})

    # -- words -----------------------------------------------------------------------------
    def summary(self) -> str:
        n = sum(len(f) for f in self.families)
        return (f"{plural(n, 'model')} in {plural(len(self.families), 'family', 'families')}, "
                f"{plural(len(self.edges), 'lineage edge')}, {plural(len(self.roots), 'root')}, "
                f"{plural(len(self.conflicts), 'conflict')} with declared base models.")

    def text(self) -> str:
        if not self.families:
            return "The lineage graph is empty: the lake holds no model with weights."
        if len(self.families) == 1:
            fam = self.families[0]
            if len(fam) == 1:
                parts = [f"{fam[0]} has no relatives in the lake: the weights show no parent or "
                         "child of it."]
            else:
                roots = [r for r in self.roots if r in fam]
                parts = [f"The family of {join(roots) or fam[0]} has {len(fam)} models, related "
                         "as the weights show:\n" + self._family_lines(fam)]
        else:
            parts = [self._lake_text()]
        unlinked = [(m, n) for m, n in self.notes.items() if m in self.roots]
        if unlinked:
            parts.append("Files the weights link to no model in the lake, and why:\n"
                         + "\n".join(f"- {m}: {n}" for m, n in unlinked))
        if self.conflicts:
            n = len(self.conflicts)
            parts.append(f"{plural(n, 'declared base model')} "
                         f"{'conflicts' if n == 1 else 'conflict'} with the weights:\n"
                         + "\n".join(f"- {c.text()}" for c in self.conflicts))
        elif self.edges:
            parts.append("No declared base model conflicts with these edges.")
        return "\n\n".join(parts)

    def _lake_text(self) -> str:
        n = sum(len(f) for f in self.families)
        big = [f for f in self.families if len(f) > 1]
        alone = [f[0] for f in self.families if len(f) == 1]
        lead = (f"The lake's {plural(n, 'model')} form "
                f"{plural(len(self.families), 'family', 'families')}"
                + (f", {len(big)} of them with more than one model" if big else "")
                + f". {'Its root' if len(self.roots) == 1 else 'The roots'} (no parent in the "
                f"lake): {join(self.roots)}.")
        parts = [lead]
        for fam in big:
            roots = [r for r in self.roots if r in fam]
            parts.append(f"The family of {join(roots) or fam[0]} ({len(fam)} models):\n"
                         + self._family_lines(fam))
        if alone and big:
            parts.append(f"{join(alone)} {'has' if len(alone) == 1 else 'have'} no relatives in "
                         "the lake.")
        return "\n\n".join(parts)

    def _family_lines(self, fam: list[str]) -> str:
        """One line per derived model, parents before children: "b was fine-tuned from a"."""
        rows = []
        for child in _parents_first(fam, self.edges):
            es = self.parents(child)
            if not es:
                continue
            rel = es[0].relation
            conf = min(e.confidence for e in es)
            declared = all(e.source == "declared" for e in es)
            rows.append((child, rel, [e.parent for e in es], conf, declared))
        if not rows:
            return "(no edges)"
        if len(rows) >= TABLE_FROM:
            return table(["model", "derivation", "from", "confidence"],
                         [[c, derivation(r) + (" (declared by its card)" if d else ""), join(p),
                           f"{x:.2f}"] for c, r, p, x, d in rows])
        return "\n".join(
            f"- {c} was {derivation(r)} {join(p)}{confidence(x)}"
            + (" (declared by its card; not seen in the weights)" if d else "")
            for c, r, p, x, d in rows)


@dataclass
class Relative(Record):
    name: str
    depth: int          # 1 = direct parent/child (siblings: 1)
    relation: str       # relation of the edge that reaches it
    via: str            # the model on the other end of that edge


@dataclass
class Relatives(Record):
    """Answer of ``ancestors`` / ``descendants`` / ``siblings``."""

    model: str
    kind: str
    models: list[Relative] = field(default_factory=list)

    def summary(self) -> str:
        if not self.models:
            return self.text()
        word = {"ancestors": "ancestor", "descendants": "descendant", "siblings": "sibling"}
        return (f"{self.model} has {plural(len(self.models), word.get(self.kind, 'relative'))} in "
                f"the lake: {join([m.name for m in self.models])}.")

    def text(self) -> str:
        x, ms = self.model, self.models
        if not ms:
            return {"ancestors": f"{x} descends from no other model in the lake (by its weights): "
                                 "it is the root of its family, or its parent is not in the lake.",
                    "descendants": f"No model in the lake derives from {x}.",
                    "siblings": f"{x} shares a parent with no other model in the lake."
                    }.get(self.kind, f"{x} has no {self.kind} in the lake.")
        if self.kind == "siblings":
            return self._siblings_text()
        up = self.kind == "ancestors"
        if up:
            lead = (f"{x} descends from {plural(len(ms), 'model')} in the lake (inferred from the "
                    f"weights): {join([m.name for m in ms])}.")
        else:
            lead = (f"{plural(len(ms), 'model')} in the lake {'derives' if len(ms) == 1 else 'derive'}"
                    f" from {x} (inferred from the weights): {join([m.name for m in ms])}.")
        if len(ms) >= TABLE_FROM:
            return lead + "\n\n" + table(
                ["model", "generation", "derivation", "of" if up else "from"],
                [[m.name, _generation(m.depth, up), derivation(m.relation), m.via] for m in ms])
        # one clause per derived model: "c was merged from a and b"
        by_child: dict[str, list[Relative]] = {}
        for m in ms:
            by_child.setdefault(m.via if up else m.name, []).append(m)
        clauses = []
        for child, rs in by_child.items():
            names = [r.name if up else r.via for r in rs]
            if rs[0].relation == "merge" and len(names) == 1:  # its other parents are elsewhere
                names.append("at least one other model")
            clauses.append(f"{child} was {derivation(rs[0].relation)} {join(names)}")
        return lead + " " + "; ".join(clauses) + "."

    def _siblings_text(self) -> str:
        by_parent: dict[str, list[Relative]] = {}
        for m in self.models:
            by_parent.setdefault(m.via, []).append(m)
        if len(self.models) >= TABLE_FROM:
            return (f"{self.model} shares a parent with {plural(len(self.models), 'model')}:\n\n"
                    + table(["model", "derivation", "shared parent"],
                            [[m.name, derivation(m.relation), m.via] for m in self.models]))
        return " ".join(
            f"{self.model} shares its parent {parent} with "
            + join([f"{m.name} ({derivation(m.relation)} it)" for m in ms]) + "."
            for parent, ms in by_parent.items())


def _generation(depth: int, up: bool) -> str:
    names = {1: "parent", 2: "grandparent"} if up else {1: "child", 2: "grandchild"}
    return names.get(depth, f"{depth} generations {'up' if up else 'down'}")


def _parents_first(names: list[str], edges: list[LineageEdge]) -> list[str]:
    """``names`` ordered so that every model comes after its parents (breadth first)."""
    keep = set(names)
    parents: dict[str, set[str]] = {n: set() for n in names}
    for e in edges:
        if e.child in keep and e.parent in keep:
            parents[e.child].add(e.parent)
    out: list[str] = []
    placed: set[str] = set()
    while len(out) < len(names):
        ready = [n for n in names if n not in placed and parents[n] <= placed]
        if not ready:  # a cycle (should not happen): keep the rest in their order
            ready = [n for n in names if n not in placed]
        out += ready
        placed |= set(ready)
    return out


# ----------------------------------------------------------------- grouping

def _fingerprint(parts: list[Any]) -> str:
    return hashlib.sha256(json.dumps([ALGORITHM, parts], default=str).encode()).hexdigest()[:32]


def _groups(records: list[ModelRecord]) -> dict[str, list[ModelRecord]]:
    """Models by comparable layout; GGUF files and PEFT adapters go to their own keys."""
    out: dict[str, list[ModelRecord]] = {}
    for r in records:
        if r.format == "card":
            continue
        if r.format == "gguf":
            key = f"gguf:{r.id}"
        elif r.format == "adapter":
            key = f"adapter:{r.id}"
        else:
            key = f"layout:{r.layout_hash or r.id}"
        out.setdefault(key, []).append(r)
    return out


def _solve_layout(cat: Catalog, members: list[ModelRecord], pairs: CatalogPairs) -> GroupResult:
    """Solve one layout group from its sketches and full-weight comparisons."""
    from modellake.tools.lineage.solve import GroupResult, solve_group  # networkx: only to solve

    members = sorted(members, key=lambda r: r.id or 0)
    names = [r.name for r in members]
    sketches = [cat.sketch(r.id) for r in members]
    if len(members) == 1 or any(s is None for s in sketches):
        return GroupResult([], [[n] for n in names], names)
    x = np.array([s.vector for s in sketches], dtype=np.float32)
    mask = sketch_matrix_mask(cat.tensors(members[0].id), sketches[0].layout_hash)
    order = {r.name: i for i, r in enumerate(members)}
    return solve_group(names, x, mask, pairs, order)


# ----------------------------------------------------------------- inference

def infer_lineage(catalog: Catalog, refresh: bool = False,
                  on_progress: Callable[[str, int, int], None] | None = None,
                  ray: str | None = None) -> LineageGraph:
    """The lake's version graph, solving only the groups whose models changed.

    ``refresh`` forgets the cached results (not the cached comparisons). ``ray``: compare
    weights as tasks on a Ray cluster ("auto", "local" or an address; one task per model
    and its candidate parents, each storing its comparisons in the catalog).
    """
    if ray is None:
        with single_threaded_blas():
            return _infer(catalog, refresh, on_progress)
    from modellake.tools.cluster import ray_session

    with single_threaded_blas(), ray_session(ray, catalog.url):
        return _infer(catalog, refresh, on_progress, ray=True)


def _infer(catalog: Catalog, refresh: bool,
           on_progress: Callable[[str, int, int], None] | None, ray: bool = False) -> LineageGraph:
    records = [r for r in catalog.list_models(with_card=True) if r.has_weights]
    by_name = {r.name: r for r in records}
    pairs = CatalogPairs(catalog, by_name, ray=ray)
    groups = _groups(records)
    known = {} if refresh else catalog.lineage.group_fingerprints()
    layouts = sorted((k, v) for k, v in groups.items() if k.startswith("layout:"))
    for i, (key, members) in enumerate(layouts):
        if on_progress:
            on_progress("lineage", i, len(layouts))
        fp = _fingerprint(sorted((r.id, r.content_hash) for r in members))
        if known.get(key) == fp:
            continue
        res = _solve_layout(catalog, members, pairs)
        catalog.lineage.save_group(key, fp, res.edges, {r.name: r.id for r in members})
    if on_progress:
        on_progress("lineage", len(layouts), len(layouts))
    _link_layouts(catalog, [r for k, rs in layouts for r in rs], pairs, known)
    _link_others(catalog, groups, records, pairs, known)
    stale = set(catalog.lineage.group_fingerprints()) - set(groups) - {CROSS_GROUP}
    if stale:
        catalog.lineage.drop_groups(stale)
    return _assemble(catalog, records, pairs)


CROSS_GROUP = "cross"


def _link_layouts(cat: Catalog, records: list[ModelRecord], pairs: CatalogPairs,
                  known: dict[str, str]) -> None:
    """Link the families of different layouts (task heads, resized vocabularies, dropped
    layers); their edges replace the layout groups' edges of the models they place."""
    from modellake.tools.lineage.cross import CrossLinker

    fp = _fingerprint(sorted((r.id, r.content_hash, r.layout_hash) for r in records))
    if known.get(CROSS_GROUP) == fp:
        return
    edges = [e for g, e in cat.lineage.edges() if g.startswith("layout:")]
    ids = {r.name: r.id for r in records}
    try:
        result = CrossLinker(pairs, records, edges).run()
    except Exception as exc:  # one unreadable model must not stop the lake's lineage
        cat.lineage.save_group(CROSS_GROUP, fp, [], ids, {"error": one_line(exc)})
        return
    cat.lineage.save_group(CROSS_GROUP, fp, result.edges, ids, {"placed": sorted(result.placed)})


def _link_others(cat: Catalog, groups: dict[str, list[ModelRecord]], records: list[ModelRecord],
                 pairs: CatalogPairs, known: dict[str, str]) -> None:
    """Attach GGUF exports and unmerged adapters to their sources."""
    from modellake.tools.lineage.links import link_adapter, link_gguf

    bases = [r for r in records if r.format not in ("gguf", "adapter", "card")]
    base_fp = sorted((r.id, r.content_hash, r.name) for r in bases)
    for key, (rec,) in ((k, v) for k, v in groups.items() if not k.startswith("layout:")):
        fp = _fingerprint([rec.id, rec.content_hash, base_fp])
        if known.get(key) == fp:
            continue
        ids = {r.name: r.id for r in records}
        try:
            edge, note = (link_gguf if rec.format == "gguf" else link_adapter)(cat, rec, bases, pairs)
        except Exception as exc:  # an odd file is a root with a reason, not a failed lineage
            edge, note = None, f"its weights could not be compared: {one_line(exc)}"
        cat.lineage.save_group(key, fp, [edge] if edge else [], ids, {"note": note} if note else {})


def _assemble(cat: Catalog, records: list[ModelRecord], pairs: CatalogPairs) -> LineageGraph:
    """The whole graph from the cached edges, with families, roots and conflicts."""
    names = {r.name for r in records}
    cached = [(g, e) for g, e in cat.lineage.edges() if e.parent in names and e.child in names]
    placed = {e.child for g, e in cached if g == CROSS_GROUP}
    # a model placed across layouts keeps only those edges (its layout group's are replaced)
    edges = [e for g, e in cached if g == CROSS_GROUP or not (g.startswith("layout:") and
                                                              e.child in placed)]
    order = {r.name: r.id or 0 for r in records}
    families = sorted((sorted(c, key=order.__getitem__)
                       for c in components(names, [(e.parent, e.child) for e in edges])),
                      key=lambda f: order[f[0]])
    has_parent = {e.child for e in edges}
    roots = [n for f in families for n in f if n not in has_parent]
    report = audit_declared(records, edges, families, _pair_evidence(pairs))
    return LineageGraph(edges, roots, families, report.conflicts, _notes(cat, records, has_parent))


def _notes(cat: Catalog, records: list[ModelRecord], has_parent: set[str]) -> dict[str, str]:
    """Why a GGUF file or an adapter was linked to nothing (kept with its solved group)."""
    out = {}
    for r in records:
        if r.format in ("gguf", "adapter") and r.name not in has_parent:
            note = cat.lineage.group_detail(f"{r.format}:{r.id}").get("note")
            if note:
                out[r.name] = note
    return out


def _pair_evidence(pairs: CatalogPairs) -> Callable[[str, str], dict[str, Any]]:
    """Weight numbers for a declared pair: compared whole in one layout, through their
    alignment across layouts (task prefix, resized rows, dropped layers)."""
    def evidence(a: str, b: str) -> dict[str, Any]:
        ra, rb = pairs.rec.get(a), pairs.rec.get(b)
        if ra is None or rb is None or ra.layout_hash is None or rb.layout_hash is None:
            return {"comparable": False, "note": "no tensor layout to compare (a GGUF file, an "
                                                 "adapter or a card)"}
        if ra.layout_hash != rb.layout_hash:
            return _aligned_evidence(pairs, a, b)
        st = pairs.stats([(a, b)])[(a, b)]
        ev = base_evidence(st)
        ev["independent_relative_distance"] = 1.0
        ev["related"] = st.rel < REL_MAX
        return ev
    return evidence


def _aligned_evidence(pairs: CatalogPairs, a: str, b: str) -> dict[str, Any]:
    from modellake.tools.lineage.cross import AlignedPairs

    aligned = AlignedPairs(pairs)
    try:
        st, al = aligned.get(a, b)
    finally:
        aligned.close()
    if not st.n_tensors:
        return {"comparable": False, "note": "no tensor of one lines up with the other's"}
    ev = base_evidence(st)
    ev.update(layout=al.to_dict(), independent_relative_distance=1.0, related=st.rel < REL_MAX)
    return ev


# ----------------------------------------------------------------- queries

def lineage(catalog: Catalog, name: str | None = None, refresh: bool = False,
            on_progress: Callable[[str, int, int], None] | None = None,
            ray: str | None = None) -> LineageGraph:
    """``modellake lineage [NAME]``: the whole graph, or the family containing NAME.

    ``on_progress`` gets ``("lineage", groups done, groups)`` while layout groups are solved;
    ``ray``: weight comparisons as tasks on a Ray cluster (see ``infer_lineage``).
    """
    graph = infer_lineage(catalog, refresh=refresh, on_progress=on_progress, ray=ray)
    if name is None:
        return graph
    model = catalog.get_model(name)  # NotFoundError with the usual hint
    if not model.has_weights:  # a card alone: nothing to infer from
        return LineageGraph([], [model.name], [[model.name]],
                            [c for c in graph.conflicts if c.model == model.name])
    return graph.subgraph(graph.family(model.name))


def audit(catalog: Catalog) -> AuditReport:
    """``modellake lineage --audit``: declared vs inferred parents."""
    every = catalog.list_models(with_card=True)
    records = [r for r in every if r.has_weights]
    graph = infer_lineage(catalog)
    pairs = CatalogPairs(catalog, {r.name: r for r in records})
    report = audit_declared(records, graph.edges, graph.families, _pair_evidence(pairs))
    match = name_matcher([r.name for r in every])
    for r in every:
        if not r.has_weights:
            report.unchecked += [{"model": r.name, "declared": d.declared, "in_lake": d.matched is not None}
                                 for d in declarations(r, match) if d.matched != r.name]
    return report


def _walk(graph: LineageGraph, name: str, up: bool) -> list[Relative]:
    out: dict[str, Relative] = {}
    frontier = [name]
    depth = 0
    while frontier:
        depth += 1
        nxt = []
        for n in frontier:
            for e in (graph.parents(n) if up else graph.children(n)):
                other = e.parent if up else e.child
                if other not in out and other != name:
                    out[other] = Relative(other, depth, e.relation, n)
                    nxt.append(other)
        frontier = nxt
    return list(out.values())


def ancestors(catalog: Catalog, name: str) -> Relatives:
    """Every model ``name`` descends from (recursive), nearest first."""
    catalog.get_model(name)
    return Relatives(name, "ancestors", _walk(infer_lineage(catalog), name, up=True))


def descendants(catalog: Catalog, name: str) -> Relatives:
    """Every model derived from ``name`` (recursive), nearest first."""
    catalog.get_model(name)
    return Relatives(name, "descendants", _walk(infer_lineage(catalog), name, up=False))


def siblings(catalog: Catalog, name: str) -> Relatives:
    """Models that share a parent with ``name``."""
    catalog.get_model(name)
    graph = infer_lineage(catalog)
    out: dict[str, Relative] = {}
    for e in graph.parents(name):
        for c in graph.children(e.parent):
            if c.child != name and c.child not in out:
                out[c.child] = Relative(c.child, 1, c.relation, e.parent)
    return Relatives(name, "siblings", list(out.values()))
