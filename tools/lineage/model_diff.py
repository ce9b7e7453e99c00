"""``modellake diff A B``: which tensors are identical, which changed and how, and a verdict.

Both models are read under canonical names and lined up by :mod:`.align` (a task
prefix, a new head, appended vocabulary rows, dropped layers, a GGUF export's own
names). Tensors with equal catalog hashes are identical without being read. Changed
tensors are read one pair at a time: relative norm of the change and, for
matrices, the numerical rank of the change (SVD, singular values above
``RANK_RTOL`` times the largest).

The verdict follows the lineage graph: only a pair joined by an edge is called a
derivation ("X is Y fine-tuned on ...", oriented and named as the edge says);
any other pair is described by its kinship (siblings, cousins, same family,
unrelated) and by where the weights differ, without a derivation verb.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modellake.store.catalog import Catalog
from modellake.store.records import LineageEdge, ModelRecord, Record, TensorSummary
from modellake.tools.lineage.align import (
    Alignment,
    align,
    aligned_readers,
    best_prefixes,
    groups,
    strip,
)
from modellake.tools.lineage.compare import (
    PairStats,
    compare,
    is_embedding,
    is_matrix,
    numerical_rank,
    single_threaded_blas,
)
from modellake.tools.lineage.declared import derivation, noun_of
from modellake.tools.lineage.detect import classify
from modellake.tools.lineage.graph import LineageGraph, infer_lineage
from modellake.tools.lineage.weights import ModelWeights
from modellake.tools.rendering import join, plural

RANK_RTOL = 1e-3
EXACT_SVD_MAX = 4096 * 1024   # elements up to which the rank is exact whatever the shape...
GRAM_MAX = 2048               # ...and beyond, when the short side is at most this
_LAYER = re.compile(r"(?:^|\.)(?:layers?|h|blk|block|blocks)\.(\d+)\.")
_HEAD = re.compile(r"(lm_head|^cls\.|classifier|^score\.|qa_outputs|^output\.weight)")
_FINAL_NORM = re.compile(r"(ln_f\.|final_layer_norm|^model\.norm\.|^norm\.|output_norm)")
_DISTANCE = re.compile(r" \(relative distance [^()]*\)")
# kinship words of a pair with no edge between them (``ModelDiff.kinship`` and ``relation``)
KIN = ("siblings", "cousins", "same family", "versions", "different families")


@dataclass
class TensorDiff(Record):
    """One tensor of A against the same tensor of B."""

    name: str
    status: str                       # identical | changed | only_in_a | only_in_b | reshaped
    shape: list[int] = field(default_factory=list)
    relative_change: float | None = None   # |B - A| / |A|
    rank: int | None = None                # numerical rank of B - A (matrices)
    full_rank: int | None = None           # min(rows, cols)
    resized: list[int] | None = None       # [rows in A, rows in B]: compared on the common rows


@dataclass
class ModelDiff(Record):
    """``modellake diff A B --json``."""

    a: str
    b: str
    verdict: str
    relation: str | None = None        # the edge's relation, or a kinship word (``KIN``)
    parent: str | None = None          # which of the two is the parent: only with an edge
    identical: int = 0
    changed: int = 0
    only_in_a: int = 0
    only_in_b: int = 0
    relative_distance: float | None = None
    tensors: list[TensorDiff] = field(default_factory=list)
    # "parent and child", "siblings", "cousins", "same family", "versions", "different families"
    # or "unrelated": what the lineage graph says of the pair
    kinship: str | None = None
    layout: dict[str, Any] | None = None   # layout facts of an edge across layouts (align)
    profiles: dict[str, str] = field(default_factory=dict)  # name -> what it is, when weights can't compare

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["reshaped"] = sum(t.status == "reshaped" for t in self.tensors)  # a count the text states
        return d

    # -- words -----------------------------------------------------------------------------
    def child(self) -> str | None:
        """The derived one of the two, when the verdict knows which is the parent."""
        if self.parent == self.a:
            return self.b
        if self.parent == self.b:
            return self.a
        return None

    def summary(self) -> str:
        return self._verdict_sentence()

    def text(self) -> str:
        parts = [" ".join(x for x in (self._verdict_sentence(), self._how()) if x)]
        changed = [t for t in self.tensors if t.status == "changed"]
        if changed and self.relation not in (None, "duplicate"):
            parts.append(self._where(changed))
        odd = []
        for n, where in ((self.only_in_a, self.a), (self.only_in_b, self.b)):
            if n:
                odd.append(f"{plural(n, 'tensor')} {'exists' if n == 1 else 'exist'} only in {where}")
        reshaped = sum(t.status == "reshaped" for t in self.tensors)
        if reshaped:
            odd.append(f"{plural(reshaped, 'tensor')} changed shape")
        if odd:
            parts.append(join(odd) + ".")
        parts.append(self._resized())
        return "\n\n".join(p for p in parts if p)

    def _resized(self) -> str:
        """"embeddings.word_embeddings.weight: 3 rows appended in vocab" (compared on the rows
        both have)."""
        out = []
        child = self.child()
        for t in self.tensors:
            if not t.resized:
                continue
            ra, rb = t.resized
            n, more, less = abs(rb - ra), *((self.b, self.a) if rb > ra else (self.a, self.b))
            if child is None:
                out.append(f"{t.name}: {max(ra, rb)} rows in {more}, {min(ra, rb)} in {less}")
            else:
                out.append(f"{t.name}: {plural(n, 'row')} {'appended' if child == more else 'removed'} "
                           f"in {child}")
        if not out:
            return ""
        more = f"; and {plural(len(out) - 3, 'other resized tensor')}" if len(out) > 3 else ""
        return "; ".join(out[:3]) + more + " (compared on the rows both have)."

    def _share(self) -> str:
        """"64% of tensors identical, the rest changed slightly"."""
        both = self.identical + self.changed
        if not both:
            return ""
        typical = sorted(_finite(t.relative_change) for t in self.tensors if t.status == "changed")
        size = _size(typical[len(typical) // 2] if typical else self.relative_distance)
        if not self.changed:
            return f"all {both} tensors identical"
        if not self.identical:
            return f"all {both} tensors changed{size}"
        pct = 100 * self.identical / both
        shown = f"{self.identical} of {both} tensors ({pct:.0f}%)" if pct >= 1 else \
            f"{self.identical} of {both} tensors"
        return f"{shown} identical, the other {self.changed} changed{size}"

    def _verdict_sentence(self) -> str:
        a, b, child = self.a, self.b, self.child()
        share = self._share()
        tail = f": {share}." if share else "."
        if self.kinship in KIN:
            return _plain(self.verdict)
        if self.relation is None:
            if not (self.identical or self.changed):
                told = " ".join(f"{n} is {p}." for n, p in self.profiles.items())
                return (f"{a} and {b} share no comparable weight tensors (different architectures "
                        "or layouts), so their weights cannot show how they are related." +
                        (f" What they are: {told}" if told else ""))
            if "unrelated" in self.verdict:
                return (f"{a} and {b} are unrelated: their weights look independently "
                        "initialized.")
            return self.verdict.rstrip(".") + "."
        if child is None:
            return f"{a} and {b}: {self.verdict.rstrip('.')}."
        if self.relation == "duplicate":
            return f"{child} is an exact copy of {self.parent}: every tensor is bit-identical."
        if self.relation == "merge" and " is a merge of " in self.verdict:
            return self.verdict.rstrip(".") + tail
        if " by the lineage graph, but " in self.verdict:
            return _plain(self.verdict)
        return f"{child} is {noun_of(self.relation)} {self.parent}{tail}"

    def _how(self) -> str:
        """The verdict's own account of the change, as a sentence."""
        child = self.child()
        if child is None or self.relation in (None, "duplicate", "merge"):
            return ""
        what = re.sub(r" \([^()]* is the parent\)$", "", self.verdict).rstrip(".")
        if what.startswith(f"{child} keeps layers "):
            return f"It {what.removeprefix(child + ' ')}."
        head = f"{child} is {self.parent} "
        if not what.startswith(head):
            return ""
        what = what[len(head):]
        for pattern, sentence in _HOW:
            m = re.fullmatch(pattern, what)
            if m:
                return sentence.format(*m.groups(), parent=self.parent)
        return f"It was {what}."

    def _where(self, changed: list[TensorDiff]) -> str:
        """Which parts of the network changed most, and the three most changed tensors."""
        groups: dict[str, list[float]] = {}
        for t in changed:
            groups.setdefault(tensor_group(t.name), []).append(_finite(t.relative_change))
        ranked = sorted(groups, key=lambda g: -sum(groups[g]) / len(groups[g]))
        out = []
        if len(ranked) > 1:
            out.append("The largest changes are in "
                       + join([g if g.startswith("layer ") else f"the {g}" for g in ranked[:3]])
                       + ".")
        top = sorted(changed, key=lambda t: -_finite(t.relative_change))[:3]
        out.append(("The most changed tensors are " if len(top) > 1 else "The changed tensor is ")
                   + join([_tensor_words(t) for t in top]) + ".")
        return " ".join(out)


# the verdict's phrases (see ``_what``) as sentences about the child
_HOW: tuple[tuple[str, str], ...] = (
    (r"fine-tuned on (.+)", "It was fine-tuned on {0}."),
    (r"quantized: every weight matrix rounded to (.+)",
     "Every weight matrix was rounded to {0}."),
    (r"cast to (.+)", "Its weights were cast to {0}."),
    (r"exported to GGUF ?(.*?) \(values match after dequantization\)",
     "It was exported to GGUF {0}; its values match {parent}'s after dequantization."),
    (r"pruned: (.+) set to zero, all other weights unchanged",
     "{0} were set to zero; all other weights are unchanged."),
    (r"with a rank-(\S+) update on (\d+) matrices and everything else identical .*",
     "It differs from {parent} by a rank-{0} update on {1} matrices (a merged low-rank "
     "adapter); everything else is identical."),
)


def _plain(verdict: str) -> str:
    """A verdict as a sentence of the text, without its statistics."""
    return _DISTANCE.sub("", verdict).rstrip(".") + "."


def _size(change: float | None) -> str:
    """" slightly" for a small relative change (a typical changed tensor's, or the model's)."""
    if not isinstance(change, (int, float)) or math.isnan(change):
        return ""
    if change < 0.05:
        return " slightly"
    if change < 0.3:
        return " moderately"
    return " substantially"


def _finite(x: float | None) -> float:
    return 0.0 if x is None or math.isnan(x) else min(x, 1e9)


def _tensor_words(t: TensorDiff) -> str:
    """"encoder.layer.5.output.dense.weight (changed by 1.2%, a rank-8 change)"."""
    rc = t.relative_change
    if rc is None or math.isnan(rc):
        how = "changed"
    elif math.isinf(rc):
        how = "was all zeros before"
    else:
        pct = 100 * rc
        how = "changed by " + (f"{pct:.0f}%" if pct >= 10 else f"{pct:.1f}%" if pct >= 1
                               else f"{pct:.2g}%" if pct >= 0.01 else "under 0.01%")
    if t.rank is not None and t.full_rank and t.rank <= t.full_rank // 4:
        how += f", a rank-{t.rank} change of a rank-{t.full_rank} matrix"
    return f"{t.name} ({how})"


def tensor_group(name: str) -> str:
    """Part of the network a tensor belongs to (for verdicts)."""
    m = _LAYER.search(name)
    if m:
        return f"layer {int(m.group(1))}"
    if is_embedding(name):
        return "embeddings"
    if _HEAD.search(name):
        return "head"
    if "pooler" in name:
        return "pooler"
    if _FINAL_NORM.search(name):
        return "final norm"
    return "other"


def _rank(d: np.ndarray) -> tuple[int, int]:
    """(numerical rank of a change, full rank). Up to ``EXACT_SVD_MAX`` elements, or with a
    short side up to ``GRAM_MAX`` (an embedding matrix), the singular values come from the
    eigenvalues of the small Gram matrix (float64: exact enough for a relative tolerance of
    1e-3, and ~10x faster than an SVD of the tall matrix); beyond, a randomized estimate."""
    m = d.reshape(d.shape[0], -1).astype(np.float64)
    full = min(m.shape)
    if m.size > EXACT_SVD_MAX and full > GRAM_MAX:
        return numerical_rank(m, RANK_RTOL, 256), full
    g = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    ev = np.linalg.eigvalsh(g)
    top = float(ev[-1]) if ev.size else 0.0
    if top <= 0:
        return 0, full
    return int(np.count_nonzero(ev > (RANK_RTOL ** 2) * top)), full


class _Sides:
    """The two models of a diff under canonical names: x is A (or the edge's parent), y is B
    (or its child). A GGUF side is read under the names of the other side."""

    def __init__(self, x: ModelRecord, y: ModelRecord, sx: dict[str, TensorSummary],
                 sy: dict[str, TensorSummary]) -> None:
        from modellake.tools.lineage.cross import ModelView  # networkx: only when reading

        self._weights: ModelWeights | None = None
        self.gguf = (x.format == "gguf") != (y.format == "gguf")
        if self.gguf:
            self._open_gguf(x, y, sx, sy)
            return
        px, py = best_prefixes(list(sx), list(sy))
        self.x, self.y = ModelView(x, sx, px), ModelView(y, sy, py)
        self.sx, self.sy = _canonical(sx, px), _canonical(sy, py)

    def _open_gguf(self, x: ModelRecord, y: ModelRecord, sx: dict[str, TensorSummary],
                   sy: dict[str, TensorSummary]) -> None:
        """One side is a GGUF file: it is read under the other side's canonical names."""
        from modellake.tools.lineage.links import _gguf_view

        x_is_gguf = x.format == "gguf"
        gguf, src, summ = (x, y, sy) if x_is_gguf else (y, x, sx)
        self._weights = ModelWeights(gguf)
        try:
            view, mapped = _gguf_view(self._weights, src, summ)
        except BaseException:
            self._weights.close()
            raise
        canon = _canonical(summ, view.prefix)
        self.x, self.y = (mapped, view) if x_is_gguf else (view, mapped)
        self.sx, self.sy = (None, canon) if x_is_gguf else (canon, None)

    def align(self) -> Alignment:
        al = align(self.x, self.y)
        al.prefix_a, al.prefix_b = getattr(self.x, "prefix", ""), getattr(self.y, "prefix", "")
        return al

    def close(self) -> None:
        for side in (self.x, self.y):
            if hasattr(side, "close"):
                side.close()
        if self._weights is not None:
            self._weights.close()


def _canonical(summ: dict[str, TensorSummary], prefix: str) -> dict[str, TensorSummary]:
    return {strip(n, prefix): t for n, t in summ.items()}


def _compared_summaries(al: Alignment, summ: dict[str, TensorSummary] | None, side: str,
                        y: Any) -> dict[str, TensorSummary] | None:
    """One side's catalog summaries under the child's names, for ``compare``: a tensor compared
    on its common rows (or transposed) gets that shape and a hash of its own (read, not assumed
    identical)."""
    if summ is None:
        return None
    out = {}
    for m in al.matches:
        t = summ.get(m.a if side == "a" else m.b)
        if t is None:
            return None
        if m.how != "same":
            shape = [m.rows, *y.shape(m.b)[1:]] if m.how == "rows" else list(y.shape(m.b))
            t = dataclasses.replace(t, shape=shape, numel=math.prod(shape), hash=f"{side}:{t.hash}",
                                    kurtosis=None)
        out[m.b] = t
    return out


def _read(sides: _Sides, al: Alignment, flip: bool) -> tuple[list[TensorDiff], PairStats]:
    """Tensor rows (named as in A, or in the parent) and the pair statistics of y against x."""
    pv, cv = aligned_readers(sides.x, sides.y, al)
    rows = [_match_row(m, pv, cv, sides, flip) for m in al.matches]
    rows += _unmatched_rows(sides, al, flip)
    st = compare(cv, [pv], _compared_summaries(al, sides.sy, "b", sides.y),
                 [_compared_summaries(al, sides.sx, "a", sides.y)], cv.names())[0]
    return rows, st


def _match_row(m: Any, pv: Any, cv: Any, sides: _Sides, flip: bool) -> TensorDiff:
    shape = list(sides.y.shape(m.b))
    resized = None
    if m.how == "rows":
        resized = [int(sides.x.shape(m.a)[0]), shape[0]]
        resized = resized[::-1] if flip else resized
    ta = sides.sx.get(m.a) if sides.sx else None
    tb = sides.sy.get(m.b) if sides.sy else None
    if m.how == "same" and ta is not None and tb is not None and ta.hash == tb.hash:
        return TensorDiff(m.a, "identical", shape, 0.0, resized=resized)
    a = np.asarray(pv.get(m.b), dtype=np.float32)  # float32 is exact for the difference
    b = np.asarray(cv.get(m.b), dtype=np.float32)  # of float32 (or narrower) weights
    d = b - a if not flip else a - b
    base = a if not flip else b
    na = float(np.linalg.norm(base.ravel()))
    rel = float(np.linalg.norm(d.ravel())) / na if na > 0 else (0.0 if not d.any() else math.inf)
    row = TensorDiff(m.a, "identical" if not d.any() else "changed", shape, round(rel, 6),
                     resized=resized)
    if row.status == "changed" and is_matrix(a.shape):
        row.rank, row.full_rank = _rank(d)
    return row


def _unmatched_rows(sides: _Sides, al: Alignment, flip: bool) -> list[TensorDiff]:
    """Tensors only in x or only in y; a name in both with shapes that do not line up is
    'reshaped'."""
    both = set(al.a_only) & set(al.b_only)
    x_only, y_only = ("only_in_b", "only_in_a") if flip else ("only_in_a", "only_in_b")
    rows = [TensorDiff(n, x_only, list(sides.x.shape(n))) for n in al.a_only if n not in both]
    rows += [TensorDiff(n, y_only, list(sides.y.shape(n))) for n in al.b_only if n not in both]
    rows += [TensorDiff(n, "reshaped", list(sides.y.shape(n))) for n in al.b_only if n in both]
    return rows


def _ranges(groups: list[str]) -> str:
    """'layer 0', 'layer 1', 'layer 3', 'head' -> 'layers 0-1 and 3, the head'."""
    layers = sorted(int(g.split()[1]) for g in groups if g.startswith("layer "))
    spans: list[str] = []
    for x in layers:
        if spans and spans[-1].split("-")[-1] == str(x - 1):
            spans[-1] = f"{spans[-1].split('-')[0]}-{x}"
        else:
            spans.append(str(x))
    parts = []
    if spans:
        parts.append(("layer " if len(layers) == 1 else "layers ") + ", ".join(spans))
    parts += [f"the {g}" for g in groups if not g.startswith("layer ")]
    if len(parts) > 1:
        return ", ".join(parts[:-1]) + " and " + parts[-1]
    return parts[0] if parts else "nothing"


def _where_differ(rows: list[TensorDiff], same_word: str) -> str | None:
    """"all layers", "all layers except the pooler", "layers 0-1 only (the embeddings
    unchanged)": where the compared tensors differ (None: nowhere)."""
    changed = {tensor_group(r.name) for r in rows if r.status == "changed"}
    same = {tensor_group(r.name) for r in rows if r.status == "identical"} - changed
    if not changed:
        return None
    if not same:
        return "all layers"
    if not [g for g in same if g.startswith("layer ")]:
        return f"all layers except {_ranges(sorted(same))}"
    order = sorted(changed | same, key=lambda g: (not g.startswith("layer"), g.startswith("layer") and
                                                   int(g.split()[1]), g))
    return (f"{_ranges([g for g in order if g in changed])} only "
            f"({_ranges([g for g in order if g in same])} {same_word})")


def _edge(graph: LineageGraph, a: str, b: str) -> LineageEdge | None:
    return next((e for e in graph.edges if {e.parent, e.child} == {a, b} and a != b), None)


def _floats(cat: Catalog, rec: ModelRecord) -> dict[str, TensorSummary]:
    return {t.name: t for t in cat.tensors(rec.id) if t.mean is not None}


def diff(catalog: Catalog, a: str, b: str) -> ModelDiff:
    """Compare model ``a`` with model ``b`` (``name`` or ``name@version``)."""
    graph = infer_lineage(catalog)
    with single_threaded_blas():
        return _diff(catalog, graph, a, b)


def _diff(cat: Catalog, graph: LineageGraph, a: str, b: str) -> ModelDiff:
    ra, rb = cat.get_model(a), cat.get_model(b)
    edge = _edge(graph, ra.name, rb.name)
    flip = edge is not None and edge.parent == rb.name
    x, y = (rb, ra) if flip else (ra, rb)
    sides = _Sides(x, y, _floats(cat, x), _floats(cat, y))
    try:
        al = sides.align()
        rows, st = _read(sides, al, flip)
    finally:
        sides.close()
    out = ModelDiff(ra.name, rb.name, "", identical=sum(r.status == "identical" for r in rows),
                    changed=sum(r.status == "changed" for r in rows),
                    only_in_a=sum(r.status == "only_in_a" for r in rows),
                    only_in_b=sum(r.status == "only_in_b" for r in rows),
                    relative_distance=round(math.sqrt(st.rel), 4), tensors=rows)
    if edge is not None:
        _edge_verdict(out, graph, edge, (x, y), st, al, sides.gguf)
    else:
        _kin_verdict(out, graph, st, al)
    if not (out.identical or out.changed):  # nothing to compare tensor by tensor: what each model is
        out.profiles = {m.name: _profile(m) for m in (ra, rb)}
    return out


def _profile(m: ModelRecord) -> str:
    """"a gemma3 model with 268.1M parameters and 18 layers, stored as gguf (Q4_K_M)"."""
    from modellake.tools.inspection import human_count
    from modellake.tools.query.facts import get_fact

    arch = m.architecture or m.model_type or "unknown-architecture"
    bits = [f"{human_count(m.num_parameters)} parameters"] if m.num_parameters else []
    layers = get_fact("layers").value(m)
    if layers:
        bits.append(f"{int(layers)} layers")
    what = f"a{'n' if arch[:1].lower() in 'aeiou' else ''} {arch} model" + (
        f" with {join(bits)}" if bits else "")
    return what + f", stored as {m.format}" + (f" ({m.quantization})" if m.quantization else "")


# ----------------------------------------------------------------- a pair joined by an edge

def _edge_verdict(out: ModelDiff, graph: LineageGraph, edge: LineageEdge,
                  pair: tuple[ModelRecord, ModelRecord], st: PairStats, al: Alignment,
                  gguf: bool) -> None:
    """Relation, parent and verdict as the edge says (``pair``: parent, child)."""
    parent, child = pair
    out.relation, out.parent, out.kinship = edge.relation, parent.name, "parent and child"
    if not al.same_layout and not gguf:
        out.layout = al.to_dict()
    if edge.relation == "merge":
        out.verdict = f"{child.name} is a merge of {join([e.parent for e in graph.parents(child.name)])}"
        return
    if child.format == "adapter":
        out.verdict = _unmerged_adapter(edge, parent.name, child.name)
        return
    out.verdict = _derived(edge.relation, parent, child, st, out.tensors, al, gguf)
    if parent.name == out.b:
        out.verdict += f" ({out.b} is the parent)"


def _unmerged_adapter(edge: LineageEdge, parent: str, child: str) -> str:
    """An adapter saved alone holds its low-rank update, not weights to compare."""
    ev = edge.evidence or {}
    rank = ev.get("lora_rank")
    n = ev.get("adapted_matrices")
    how = (f"a rank-{rank} " if rank else "an ") + "unmerged LoRA adapter for " + parent
    what = f"it adapts {plural(n, 'matrix', 'matrices')} whose shapes fit {parent}" if n else \
        f"its shapes fit {parent}"
    return (f"{child} is {how}: {what}; an adapter file holds only its low-rank update, so the "
            "weights confirm the fit, not which model of those shapes it was trained on")


def _derived(relation: str, parent: ModelRecord, child: ModelRecord, st: PairStats,
             rows: list[TensorDiff], al: Alignment, gguf: bool) -> str:
    p, c = parent.name, child.name
    if st.n_tensors == 0 or not st.mat_numel:
        return (f"{c} is {noun_of(relation)} {p} by the lineage graph, but they share no "
                "comparable weight tensors")
    if classify(st).relation == "unrelated":
        return (f"{c} is {noun_of(relation)} {p} by the lineage graph, but their weights are "
                f"near-orthogonal (relative distance {math.sqrt(st.rel):.2f})")
    layout = "" if gguf else _layout_clause(al)
    kept = al.kept_layers()
    if kept is not None and al.layers_b < al.layers_a:
        where = _where_differ(rows, "unchanged")
        return (f"{c} keeps layers {', '.join(map(str, kept))} of {p} (others dropped), "
                + (f"with changes on {where}" if where else "unchanged") + layout)
    words = relation if relation in _WORDED else classify(st).relation
    return f"{c} is {p} {_what(words, st, rows, child)}" + layout


_WORDED = ("finetune", "adapter", "quantized", "pruned", "duplicate")


def _layout_clause(al: Alignment) -> str:
    """", with a new classifier and the 'bert.' prefix": the child's layout against the
    parent's (x is the parent, y the child)."""
    reshaped = set(al.a_only) & set(al.b_only)
    with_ = [f"a new {m}" for m in _modules([n for n in al.b_only if n not in reshaped])]
    without = [f"the {m}" for m in _modules([n for n in al.a_only if n not in reshaped])]
    rows = al.appended_rows()
    if rows:
        with_.append(f"{plural(rows, 'appended vocabulary row')}" if rows > 0 else
                     f"{plural(-rows, 'vocabulary row')} fewer")
    if al.layers_b > al.layers_a:
        with_.append(plural(al.layers_b - al.layers_a, "added layer"))
    if al.prefix_b and al.prefix_b != al.prefix_a:
        with_.append(f"the '{al.prefix_b}.' prefix")
    if al.prefix_a and al.prefix_a != al.prefix_b:
        without.append(f"the '{al.prefix_a}.' prefix")
    out = f", with {join(with_)}" if with_ else ""
    return out + ((" and" if with_ else ",") + f" without {join(without)}" if without else "")


def _modules(names: list[str]) -> list[str]:
    """Tensor names outside the layer stack folded to their module: 'classifier', 'pooler',
    'embeddings.token_type_embeddings'."""
    return [g for g in groups(names) if not g.startswith("layer ")]


# ----------------------------------------------------------------- a pair with no edge

def _kin_verdict(out: ModelDiff, graph: LineageGraph, st: PairStats, al: Alignment) -> None:
    """Kinship and difference, without a derivation verb (x is A, y is B)."""
    a, b = out.a, out.b
    kin, how = _kinship(graph, a, b)
    comparable = st.n_tensors > 0 and st.mat_numel > 0
    unrelated = comparable and classify(st).relation == "unrelated"
    if kin == "unrelated" and not comparable:
        out.kinship = kin
        out.verdict = (f"{a} and {b} share no comparable weight tensors (different architectures "
                       "or layouts): no relation can be read from weights")
        return
    if kin == "unrelated" and unrelated:
        out.kinship = kin
        out.verdict = (f"{a} and {b} are unrelated: their weights are near-orthogonal "
                       f"(relative distance {math.sqrt(st.rel):.2f}; independent initializations "
                       "give about 1.0)")
        return
    out.kinship = out.relation = "different families" if kin == "unrelated" else kin
    lead = {"siblings": "are siblings", "cousins": "are cousins", "same family": "are in the same family",
            "versions": "are two versions of one model"}.get(kin, "are in different families of the "
                                                              "lineage graph")
    parts = [f"{a} and {b} {lead}" + (f": {how}" if how else ""), _weights_words(st, out.tensors),
             _contrast(al, a, b)]
    out.verdict = "; ".join(p for p in parts if p)


def _kinship(graph: LineageGraph, a: str, b: str) -> tuple[str, str]:
    """(kinship word, how the lineage graph relates the two, in words)."""
    if a == b:
        return "versions", ""
    if b not in _family(graph, a):
        return "unrelated", ""
    pa, pb = _parents(graph, a), _parents(graph, b)
    shared = [p for p in pa if p in pb]
    if shared:
        return "siblings", _siblings_words(a, b, shared, pa, pb)
    up_a = {g: p for p in pa for g in _parents(graph, p)}
    up_b = {g: p for p in pb for g in _parents(graph, p)}
    common = [g for g in up_a if g in up_b]
    if common:
        g = common[0]
        return "cousins", f"{a} descends from {g} through {up_a[g]}, {b} through {up_b[g]}"
    return "same family", _ancestor_words(graph, a, b)


def _family(graph: LineageGraph, name: str) -> list[str]:
    return next((f for f in graph.families if name in f), [])


def _parents(graph: LineageGraph, name: str) -> dict[str, str]:
    """Parent -> relation of its edge."""
    return {e.parent: e.relation for e in graph.parents(name)}


def _siblings_words(a: str, b: str, shared: list[str], pa: dict[str, str],
                    pb: dict[str, str]) -> str:
    """"both fine-tuned from X", or how each came from X."""
    ra, rb = pa[shared[0]], pb[shared[0]]
    if ra == rb:
        return f"both {derivation(ra)} {join(shared)}"
    return (f"{a} was {derivation(ra)} {join(shared)} and {b} was {derivation(rb)} "
            + ("it" if len(shared) == 1 else "them"))


def _ancestor_words(graph: LineageGraph, a: str, b: str) -> str:
    """"b descends from a through m", or "their nearest common ancestor is r"."""
    la, lb = _lines(graph, a), _lines(graph, b)
    common = [n for n in la if n in lb]
    if not common:
        return "the lineage graph connects them, but they share no ancestor"
    n = min(common, key=lambda n: (max(len(la[n]), len(lb[n])), len(la[n]) + len(lb[n])))
    if n in (a, b):
        low, path = (b, lb[n]) if n == a else (a, la[n])
        via = path[-2:0:-1] if len(path) > 3 else [p for p in _parents(graph, low) if n in _lines(graph, p)]
        return f"{low} descends from {n} through {join(via)}"
    return f"their nearest common ancestor is {n}"


def _lines(graph: LineageGraph, name: str) -> dict[str, list[str]]:
    """Every ancestor of ``name`` (and itself) -> the path up to it, nearest first."""
    out = {name: [name]}
    frontier = [name]
    while frontier:
        nxt = []
        for x in frontier:
            for e in graph.parents(x):
                if e.parent not in out:
                    out[e.parent] = out[x] + [e.parent]
                    nxt.append(e.parent)
        frontier = nxt
    return out


def _weights_words(st: PairStats, rows: list[TensorDiff]) -> str:
    """How the weights differ, without a derivation verb."""
    if st.n_tensors == 0 or not st.mat_numel:
        return "they share no comparable weight tensors"
    if classify(st).relation == "unrelated":
        return f"yet their weights are near-orthogonal (relative distance {math.sqrt(st.rel):.2f})"
    where = _where_differ(rows, "identical")
    if where is None:
        return "every compared tensor is identical"
    d = math.sqrt(st.rel)
    shown = f"{d:.3f}" if d >= 0.0005 else "below 0.001"
    return f"their weights differ on {where} (relative distance {shown})"


def _contrast(al: Alignment, a: str, b: str) -> str:
    """How the layouts of a and b differ, as facts about each ("only b has a classifier")."""
    reshaped = set(al.a_only) & set(al.b_only)
    parts = []
    for who, names in ((b, al.b_only), (a, al.a_only)):
        mods = _modules([n for n in names if n not in reshaped])
        if mods:
            parts.append(f"only {who} has {join([_article(m) for m in mods])}")
    rows = al.appended_rows()
    if rows:
        parts.append(f"{b if rows > 0 else a} has {plural(abs(rows), 'more vocabulary row')}")
    if al.layers_a != al.layers_b:
        parts.append(f"{a} has {plural(al.layers_a, 'layer')}, {b} {al.layers_b}")
    for who, prefix in ((a, al.prefix_a), (b, al.prefix_b)):
        if prefix and al.prefix_a != al.prefix_b:
            parts.append(f"{who}'s tensor names carry the '{prefix}.' prefix")
    return "; ".join(parts)


def _article(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


# ----------------------------------------------------------------- words of a derivation

def _what(relation: str, st: PairStats, rows: list[TensorDiff], child: ModelRecord) -> str:
    if relation == "duplicate":
        return "copied unchanged (every tensor bit-identical)"
    if relation == "quantized":
        if child.format == "gguf":
            return f"exported to GGUF {child.quantization or ''} (values match after dequantization)"
        if st.changed and st.cast_b + st.cast_a >= 0.9 * st.changed:
            return f"cast to {'/'.join(d for d in child.dtypes if d in ('F16', 'BF16')) or '16 bits'}"
        return "quantized: every weight matrix rounded to a grid of at most 8 bits per row"
    if relation == "pruned":
        gain = max(st.new_zero_a, st.new_zero_b) / max(st.changed_mat_numel, 1)
        return (f"pruned: {100 * gain:.0f}% of the weights of its {st.changed} pruned matrices "
                "set to zero, all other weights unchanged")
    if relation == "adapter":
        ranks = sorted({r.rank for r in rows if r.rank is not None})
        n = sum(r.status == "changed" for r in rows)
        return (f"with a rank-{'/'.join(map(str, ranks))} update on {n} matrices and everything "
                "else identical (a merged low-rank adapter)")
    where = _where_differ(rows, "unchanged")
    return f"fine-tuned on {where}" if where else "unchanged (every compared tensor identical)"
