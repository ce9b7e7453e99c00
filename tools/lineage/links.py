"""Edges across layouts: a GGUF export to its source, an unmerged PEFT adapter to its base."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modellake.store.catalog import Catalog
from modellake.store.records import LineageEdge, ModelRecord
from modellake.tools.lineage.align import (
    Alignment,
    align,
    aligned_readers,
    expand_layers,
    layer_count,
    prefixes,
    strip,
    structural,
)
from modellake.tools.lineage.compare import PairStats, compare
from modellake.tools.lineage.cross import ModelView, layout_words
from modellake.tools.lineage.declared import name_matcher
from modellake.tools.lineage.detect import REL_MAX, base_evidence, classify
from modellake.tools.lineage.source import CatalogPairs, sketch_positions
from modellake.tools.lineage.weights import MappedGGUF, ModelWeights

MIN_COVERAGE = 0.6   # share of the source layout's elements a GGUF must hold (tied heads aside)
GGUF_CANDIDATES = 3
_LORA = re.compile(r"^(?:base_model\.model\.)?(?P<mod>.+)\.lora_(?P<ab>[AB])(?:\.[^.]+)?\.weight$")


def _projected_sketch(view: ModelView, gguf: MappedGGUF, tensors: list,
                      layout_hash: str) -> np.ndarray | None:
    """The GGUF's values at the sketch coordinates of the source layout (zeros where the GGUF
    has no tensor of that shape: a resized or missing tensor says nothing here)."""
    positions = sketch_positions(tensors, layout_hash)
    if positions is None:
        return None
    parts = []
    for name, shape, idx in positions:
        canon = strip(name, view.prefix)
        if canon in gguf.from_hf and gguf.shape(canon) == list(shape):
            parts.append(gguf.get(canon).reshape(-1)[idx].astype(np.float32))
        else:
            parts.append(np.zeros(idx.size, np.float32))
    return np.concatenate(parts) if parts else None


@dataclass
class GGUFHit:
    """One candidate source of a GGUF file, compared on the tensors they share."""

    source: ModelRecord
    stats: PairStats
    alignment: Alignment
    relation: str
    permuted: bool

    @property
    def exact(self) -> bool:
        """The GGUF's values are the source's, up to quantization or a 16-bit cast."""
        return self.relation in ("quantized", "duplicate")

    @property
    def coverage(self) -> float:
        """Share of both models that the other holds: a GGUF that holds all of X and
        nothing else beats one that holds two thirds of a larger model."""
        return round(self.alignment.coverage_a * self.alignment.coverage_b, 3)

    def better_than(self, other: GGUFHit | None) -> bool:
        if other is None:
            return True
        return (self.exact, self.coverage, -self.stats.rel) > (other.exact, other.coverage,
                                                             -other.stats.rel)


def _gguf_view(gw: ModelWeights, rec: ModelRecord, summaries: dict) -> tuple[ModelView, MappedGGUF]:
    """The source's canonical view and the GGUF read under its names, with the task prefix
    under which the most GGUF tensors map."""
    best = None
    for prefix in prefixes(list(summaries)):
        view = ModelView(rec, summaries, prefix)
        names = expand_layers(view.names(), max(gw.gguf_blocks, layer_count(view.names())))
        mapped = MappedGGUF(gw, names, rec.config or {})
        if best is None or len(mapped.from_hf) > len(best[1].from_hf):
            best = (view, mapped)
    return best


def _by_coverage(gw: ModelWeights, by_layout: dict[str, list[ModelRecord]], pairs: CatalogPairs
                 ) -> list[tuple[list[ModelRecord], ModelView, MappedGGUF, float]]:
    """The layouts a GGUF file's names map onto (most of the file), best covered first, each
    with its views and the share of both models that the other holds."""
    out = []
    for members in by_layout.values():
        rep = members[0]
        view, mapped = _gguf_view(gw, rep, pairs.summaries(rep.name))
        al = structural(view, mapped)
        if al.coverage_b >= MIN_COVERAGE:
            out.append((members, view, mapped, round(al.coverage_a * al.coverage_b, 3)))
    return sorted(out, key=lambda x: -x[3])


def _layout_hits(cat: Catalog, members: list[ModelRecord], pairs: CatalogPairs, view: ModelView,
                 mapped: MappedGGUF) -> list[GGUFHit]:
    """The nearest models of one layout to a GGUF file (read under the layout's names)."""
    rep = members[0]
    tensors = cat.tensors(rep.id)
    sketches = {m.name: cat.sketch(m.id) for m in members}
    layout_hash = next((s.layout_hash for s in sketches.values() if s is not None), None)
    vec = _projected_sketch(view, mapped, tensors, layout_hash) if layout_hash else None
    ranked = members
    if vec is not None:
        ranked = sorted(members, key=lambda m: float(np.sum(
            (np.asarray(sketches[m.name].vector) - vec) ** 2)) if sketches[m.name] else np.inf)
    hits = []
    for m in ranked[:GGUF_CANDIDATES]:
        hit = _compare_gguf(m, pairs, view.prefix, mapped)
        if hit is not None:
            hits.append(hit)
    return hits


def _compare_gguf(m: ModelRecord, pairs: CatalogPairs, prefix: str,
                  mapped: MappedGGUF) -> GGUFHit | None:
    src = ModelView(m, pairs.summaries(m.name), prefix)
    best = None
    try:
        for permute in (True, False) if mapped.permute else (False,):
            mapped.permute = permute
            al = align(src, mapped)
            pv, cv = aligned_readers(src, mapped, al)
            st = compare(cv, [pv], None, None, cv.names(), ranks=False)[0]
            if st.n_tensors and st.rel < REL_MAX:
                hit = GGUFHit(m, st, al, classify(st).relation, permute)
                if best is None or st.d2 < best.stats.d2:
                    best = hit
    finally:
        src.close()
        mapped.permute = best.permuted if best is not None else mapped.permute
    return best


def _originals(hits: list[GGUFHit], edges: list[LineageEdge]) -> list[GGUFHit]:
    """Exact sources, less those that are themselves copies of another exact source (a GGUF
    that matches a model and its 16-bit copy equally was exported from the original)."""
    exact = {h.source.name for h in hits if h.exact}
    copies = {e.child for e in edges if e.relation in ("quantized", "duplicate") and
              e.parent in exact and e.child in exact}
    return [h for h in hits if h.source.name not in copies]


def link_gguf(cat: Catalog, rec: ModelRecord, bases: list[ModelRecord],
              pairs: CatalogPairs) -> tuple[LineageEdge | None, str]:
    """The safetensors/pytorch model a GGUF file was exported from, if it is in the lake."""
    by_layout: dict[str, list[ModelRecord]] = defaultdict(list)
    for b in bases:
        if b.layout_hash:
            by_layout[b.layout_hash].append(b)
    hits: list[GGUFHit] = []
    layouts: list = []
    with ModelWeights(rec) as gw:
        layouts = _by_coverage(gw, by_layout, pairs)
        for i, (members, view, mapped, _) in enumerate(layouts):
            hits.extend(_layout_hits(cat, members, pairs, view, mapped))
            best = max((h.coverage for h in hits if h.exact), default=None)
            if best is not None and i + 1 < len(layouts) and best > layouts[i + 1][3] + 1e-9:
                break  # an exact source no later layout can cover as well
    found = None
    for hit in _originals(hits, [e for _, e in cat.lineage.edges()]):
        if hit.better_than(found):
            found = hit
    if found is None:
        if not layouts:
            return None, "no model in the lake has its tensor layout (architecture and sizes)"
        return None, ("the models with its tensor names and shapes are not related to it (their "
                      "weights are near-orthogonal to its values)")
    st = found.stats
    ev = base_evidence(st)
    al = found.alignment
    al.prefix_b = al.prefix_a  # a GGUF file has its own names: no prefix to speak of
    extra = layout_words(al)
    ev.update(gguf_type=rec.quantization, coverage=round(al.coverage_a, 4),
              qk_unpermuted=found.permuted, layout=al.to_dict(),
              direction_cue=f"GGUF {rec.quantization or ''} export: llama.cpp names mapped back, values "
                            f"dequantized{'; ' + extra if extra else ''}".replace("GGUF  ", "GGUF "))
    if not found.exact:
        ev["note"] = ("its values are not a quantization of any model in the lake; this is its "
                      "nearest relative")
    conf = 0.95 if found.exact else round(max(0.5, 0.9 - st.rel), 4)
    return LineageEdge(found.source.name, rec.name, "quantized", conf, ev), ""


def _lora_targets(cat: Catalog, rec: ModelRecord) -> dict[str, tuple[int, int]]:
    """Adapted module -> (out, in) from the lora_A / lora_B shapes."""
    a_in: dict[str, int] = {}
    b_out: dict[str, int] = {}
    for t in cat.tensors(rec.id):
        m = _LORA.match(t.name)
        if m and len(t.shape) == 2:
            if m["ab"] == "A":
                a_in[m["mod"]] = t.shape[1]
            else:
                b_out[m["mod"]] = t.shape[0]
    return {mod: (b_out[mod], a_in[mod]) for mod in a_in if mod in b_out}


def _fits(targets: dict[str, tuple[int, int]], shapes: dict[str, list[int]]) -> bool:
    for mod, (out, inp) in targets.items():
        hits = [s for n, s in shapes.items() if n == f"{mod}.weight" or
                n.endswith(f".{mod}.weight") or f"{mod}.weight".endswith(f".{n}")]
        # [out, in] for a Linear; [in, out] for GPT-2's Conv1D (PEFT's fan_in_fan_out)
        if not any(list(s) in ([out, inp], [inp, out]) for s in hits):
            return False
    return True


def _declared_base(rec: ModelRecord, bases: list[ModelRecord]) -> str | None:
    """The lake model an adapter's ``base_model_name_or_path`` names: the model stored at that
    path (absolute, or relative to the adapter's folder), else a lenient name match."""
    declared = rec.adapter_base
    if not declared:
        return None
    here = Path(rec.source)
    here = here if here.is_dir() else here.parent
    try:
        target = (here / declared).resolve() if not Path(declared).is_absolute() else Path(declared).resolve()
    except (OSError, ValueError):
        target = None
    for b in bases:
        try:
            if target is not None and Path(b.source).resolve() == target:
                return b.name
        except (OSError, ValueError):
            continue
    return name_matcher([b.name for b in bases])(declared)


def link_adapter(cat: Catalog, rec: ModelRecord, bases: list[ModelRecord],
                 pairs: CatalogPairs) -> tuple[LineageEdge | None, str]:
    """The base an unmerged PEFT adapter applies to: the declared base if its shapes fit,
    else a shape-compatible model (preferring family roots); with a note when unlinked."""
    targets = _lora_targets(cat, rec)
    if not targets:
        return None, "its file holds no lora_A / lora_B pairs to check against a base"
    fits = [b for b in bases if _fits(targets, {n: t.shape for n, t in pairs.summaries(b.name).items()})]
    declared = _declared_base(rec, bases)
    ranks = [min(t.shape) for t in cat.tensors(rec.id) if _LORA.match(t.name) and len(t.shape) == 2]
    ev = {"adapted_matrices": len(targets), "shape_compatible_bases": len(fits),
          "lora_rank": min(ranks), "declared_base": rec.adapter_base,
          "weights_confirm": "shapes only: an unmerged adapter holds its low-rank update alone, so "
                             "its weights show which models it fits, not which one it was trained on"}
    if declared is not None and any(b.name == declared for b in fits):
        ev["direction_cue"] = "unmerged PEFT adapter; declared base, shapes match"
        return LineageEdge(declared, rec.name, "adapter", 0.95, ev), ""
    if not fits:
        why = (f"its declared base {declared} does not have the shapes it adapts" if declared else
               f"its declared base {rec.adapter_base!r} is not in the lake" if rec.adapter_base else
               "it declares no base")
        return None, f"{why}, and no model in the lake has the {len(targets)} matrix shapes it adapts"
    has_parent = {e.child for _, e in cat.lineage.edges()}
    fits.sort(key=lambda b: (b.name in has_parent, b.id or 0))
    ev["direction_cue"] = ("unmerged PEFT adapter; base chosen by shape (declared base "
                           + ("incompatible)" if declared else "absent from the lake)"))
    return LineageEdge(fits[0].name, rec.name, "adapter", 0.6 if len(fits) == 1 else 0.3, ev), ""
