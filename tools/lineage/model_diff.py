"""``modellake diff A B``: which tensors are identical, which changed and how, and a verdict.

Tensors with equal catalog hashes are identical without being read. Changed
tensors are read one pair at a time: relative norm of the change and, for
matrices, the numerical rank of the change (SVD, singular values above
``RANK_RTOL`` times the largest). The verdict reuses the lineage relation tests.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modellake.store.catalog import Catalog
from modellake.store.records import ModelRecord, Record, TensorSummary
from modellake.tools.lineage.compare import (
    compare,
    is_embedding,
    is_matrix,
    numerical_rank,
    single_threaded_blas,
)
from modellake.tools.lineage.declared import noun_of
from modellake.tools.lineage.detect import classify, direction_logodds
from modellake.tools.lineage.weights import MappedGGUF, ModelWeights
from modellake.tools.rendering import join, plural

RANK_RTOL = 1e-3
EXACT_SVD_MAX = 4096 * 1024   # elements up to which the rank is exact whatever the shape...
GRAM_MAX = 2048               # ...and beyond, when the short side is at most this
_LAYER = re.compile(r"(?:^|\.)(?:layers?|h|blk|block|blocks)\.(\d+)\.")
_HEAD = re.compile(r"(lm_head|^cls\.|classifier|^score\.|qa_outputs|^output\.weight)")
_FINAL_NORM = re.compile(r"(ln_f\.|final_layer_norm|^model\.norm\.|^norm\.|output_norm)")


@dataclass
class TensorDiff(Record):
    """One tensor of A against the same tensor of B."""

    name: str
    status: str                       # identical | changed | only_in_a | only_in_b | reshaped
    shape: list[int] = field(default_factory=list)
    relative_change: float | None = None   # |B - A| / |A|
    rank: int | None = None                # numerical rank of B - A (matrices)
    full_rank: int | None = None           # min(rows, cols)


@dataclass
class ModelDiff(Record):
    """``modellake diff A B --json``."""

    a: str
    b: str
    verdict: str
    relation: str | None = None
    parent: str | None = None          # which of the two is the parent, when known
    identical: int = 0
    changed: int = 0
    only_in_a: int = 0
    only_in_b: int = 0
    relative_distance: float | None = None
    tensors: list[TensorDiff] = field(default_factory=list)

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
        return "\n\n".join(p for p in parts if p)

    def _share(self) -> str:
        """"64% of tensors identical, the rest changed slightly"."""
        both = self.identical + self.changed
        if not both:
            return ""
        typical = sorted(_finite(t.relative_change) for t in self.tensors if t.status == "changed")
        size = _size(typical[len(typical) // 2] if typical else self.relative_distance)
        if not self.changed:
            return "every tensor identical"
        if not self.identical:
            return f"every tensor changed{size}"
        pct = 100 * self.identical / both
        shown = f"{self.identical} of {both} tensors ({pct:.0f}%)" if pct >= 1 else \
            f"{self.identical} of {both} tensors"
        return f"{shown} identical, the other {self.changed} changed{size}"

    def _verdict_sentence(self) -> str:
        a, b, child = self.a, self.b, self.child()
        share = self._share()
        tail = f": {share}." if share else "."
        if self.relation is None:
            if not (self.identical or self.changed):
                return (f"{a} and {b} share no comparable weight tensors (different architectures "
                        "or layouts), so their weights cannot show how they are related.")
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
        return f"{child} is {noun_of(self.relation)} {self.parent}{tail}"

    def _how(self) -> str:
        """The verdict's own account of the change, as a sentence."""
        child = self.child()
        if child is None or self.relation in (None, "duplicate", "merge"):
            return ""
        what = self.verdict.removeprefix(f"{child} is {self.parent} ")
        what = re.sub(r" \([^()]* is the parent\)$", "", what).rstrip(".")
        for pattern, sentence in _HOW:
            m = re.fullmatch(pattern, what)
            if m:
                return sentence.format(*m.groups(), parent=self.parent)
        return f"It was {what}." if what != self.verdict else ""

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


def _readers(ra: ModelRecord, rb: ModelRecord, sa: dict[str, TensorSummary],
             sb: dict[str, TensorSummary]):
    """Readers of A and B under common (HF) names, mapping a GGUF side if needed."""
    wa, wb = ModelWeights(ra), ModelWeights(rb)
    if wa.is_gguf and not wb.is_gguf:
        return MappedGGUF(wa, list(sb), rb.config or {}), wb, wa, wb
    if wb.is_gguf and not wa.is_gguf:
        return wa, MappedGGUF(wb, list(sa), ra.config or {}), wa, wb
    return wa, wb, wa, wb


def _tensor_rows(ga, gb, names_a: dict[str, list[int]], names_b: dict[str, list[int]],
                 sa: dict[str, TensorSummary], sb: dict[str, TensorSummary]) -> list[TensorDiff]:
    rows = []
    for name in list(dict.fromkeys([*names_a, *names_b])):
        if name not in names_b:
            rows.append(TensorDiff(name, "only_in_a", names_a[name]))
            continue
        if name not in names_a:
            rows.append(TensorDiff(name, "only_in_b", names_b[name]))
            continue
        if list(names_a[name]) != list(names_b[name]):
            rows.append(TensorDiff(name, "reshaped", names_b[name]))
            continue
        ta, tb = sa.get(name), sb.get(name)
        if ta is not None and tb is not None and ta.hash == tb.hash:
            rows.append(TensorDiff(name, "identical", names_a[name], 0.0))
            continue
        a = np.asarray(ga.get(name), dtype=np.float32)  # float32 is exact for the difference
        b = np.asarray(gb.get(name), dtype=np.float32)  # of float32 (or narrower) weights
        d = b - a
        na = float(np.linalg.norm(a.ravel()))
        rel = float(np.linalg.norm(d.ravel())) / na if na > 0 else (0.0 if not d.any() else math.inf)
        row = TensorDiff(name, "identical" if not d.any() else "changed", names_a[name],
                         round(rel, 6))
        if row.status == "changed" and is_matrix(a.shape):
            row.rank, row.full_rank = _rank(d)
        rows.append(row)
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


def _finetune_phrase(rows: list[TensorDiff]) -> str:
    changed = {tensor_group(r.name) for r in rows if r.status == "changed"}
    same = {tensor_group(r.name) for r in rows if r.status == "identical"} - changed
    layers_same = [g for g in same if g.startswith("layer ")]
    if not same:
        return "fine-tuned on all layers"
    if not layers_same:
        return f"fine-tuned on all layers except {_ranges(sorted(same))}"
    order = sorted(changed | same, key=lambda g: (not g.startswith("layer"), g.startswith("layer") and
                                                   int(g.split()[1]), g))
    return (f"fine-tuned on {_ranges([g for g in order if g in changed])} only "
            f"({_ranges([g for g in order if g in same])} unchanged)")


def _cached_edge(cat: Catalog, a: str, b: str):
    for _, e in cat.lineage.edges():
        if {e.parent, e.child} == {a, b}:
            return e
    return None


def diff(catalog: Catalog, a: str, b: str) -> ModelDiff:
    """Compare model ``a`` with model ``b`` (``name`` or ``name@version``)."""
    with single_threaded_blas():
        return _diff(catalog, a, b)


def _diff(cat: Catalog, a: str, b: str) -> ModelDiff:
    ra, rb = cat.get_model(a), cat.get_model(b)
    sa = {t.name: t for t in cat.tensors(ra.id) if t.mean is not None}
    sb = {t.name: t for t in cat.tensors(rb.id) if t.mean is not None}
    ga, gb, wa, wb = _readers(ra, rb, sa, sb)
    try:
        names_a = {n: (sa[n].shape if n in sa else ga.weights.shape(ga.from_hf[n]))
                   for n in (ga.names() if isinstance(ga, MappedGGUF) else sa)}
        names_b = {n: (sb[n].shape if n in sb else gb.weights.shape(gb.from_hf[n]))
                   for n in (gb.names() if isinstance(gb, MappedGGUF) else sb)}
        rows = _tensor_rows(ga, gb, names_a, names_b, sa, sb)
        common = [n for n in names_b if n in names_a and list(names_a[n]) == list(names_b[n])]
        st = compare(gb, [ga], None if isinstance(gb, MappedGGUF) else sb,
                     [None if isinstance(ga, MappedGGUF) else sa], common)[0]
    finally:
        wa.close()
        wb.close()
    out = ModelDiff(ra.name, rb.name, "", identical=sum(r.status == "identical" for r in rows),
                    changed=sum(r.status == "changed" for r in rows),
                    only_in_a=sum(r.status == "only_in_a" for r in rows),
                    only_in_b=sum(r.status == "only_in_b" for r in rows),
                    relative_distance=round(math.sqrt(st.rel), 4), tensors=rows)
    _verdict(cat, out, ra, rb, st, rows)
    return out


def _verdict(cat: Catalog, out: ModelDiff, ra: ModelRecord, rb: ModelRecord, st, rows) -> None:
    """Fill relation, parent and the one-line verdict."""
    v = classify(st)
    edge = _cached_edge(cat, ra.name, rb.name)
    if st.n_tensors == 0 or not st.mat_numel:
        out.verdict = (f"{ra.name} and {rb.name} share no comparable weight tensors "
                       "(different architectures or layouts): no relation can be read from weights")
        return
    if v.relation == "unrelated":
        out.verdict = (f"{ra.name} and {rb.name} are unrelated: their weights are near-orthogonal "
                       f"(relative distance {math.sqrt(st.rel):.2f}; independent initializations "
                       "give about 1.0)")
        return
    if v.fixed or ra.format == "gguf" or rb.format == "gguf":
        if ra.format == "gguf" or rb.format == "gguf":
            a_parent = rb.format == "gguf"
            v.relation = "quantized"
        else:
            a_parent = v.parent_is_a
    elif edge is not None:
        a_parent = edge.parent == ra.name
        v.relation = edge.relation if edge.relation in ("finetune", "adapter") else v.relation
    else:
        a_parent = direction_logodds(st)[0] >= 0
    parent, child = (ra, rb) if a_parent else (rb, ra)
    out.relation, out.parent = v.relation, parent.name
    if edge is not None and edge.relation == "merge":
        others = [e.parent for _, e in cat.lineage.edges() if e.child == edge.child]
        out.relation = "merge"
        out.verdict = f"{edge.child} is a merge of {' and '.join(others)}"
        return
    out.verdict = f"{child.name} is {parent.name} " + _what(v.relation, st, rows, child)
    if not a_parent:
        out.verdict += f" ({rb.name} is the parent)"


def _what(relation: str, st, rows: list[TensorDiff], child: ModelRecord) -> str:
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
    return _finetune_phrase(rows)
