"""Edges across layouts: a GGUF export to its source, an unmerged PEFT adapter to its base."""
from __future__ import annotations

import re
from collections import defaultdict

import numpy as np

from modellake.store.catalog import Catalog
from modellake.store.records import LineageEdge, ModelRecord
from modellake.tools.lineage.compare import PairStats, compare
from modellake.tools.lineage.declared import name_matcher
from modellake.tools.lineage.detect import REL_MAX, base_evidence
from modellake.tools.lineage.source import CatalogPairs, sketch_positions
from modellake.tools.lineage.weights import MappedGGUF, ModelWeights

MIN_COVERAGE = 0.6   # share of the source layout's elements a GGUF must hold (tied heads aside)
GGUF_CANDIDATES = 3
_LORA = re.compile(r"^(?:base_model\.model\.)?(?P<mod>.+)\.lora_(?P<ab>[AB])(?:\.[^.]+)?\.weight$")


def _projected_sketch(mapped: MappedGGUF, tensors: list, layout_hash: str) -> np.ndarray | None:
    """The GGUF's values at the sketch coordinates of the source layout."""
    positions = sketch_positions(tensors, layout_hash)
    if positions is None:
        return None
    parts = []
    for name, _, idx in positions:
        if name in mapped.from_hf:
            parts.append(mapped.get(name).reshape(-1)[idx].astype(np.float32))
        else:
            parts.append(np.zeros(idx.size, np.float32))
    return np.concatenate(parts) if parts else None


def _best_source(cat: Catalog, gw: ModelWeights, members: list[ModelRecord],
                 pairs: CatalogPairs) -> tuple[ModelRecord, PairStats, MappedGGUF, float] | None:
    """The nearest related model of one layout to a GGUF file, if the names map."""
    tensors = cat.tensors(members[0].id)
    shapes = {t.name: t.shape for t in tensors if t.mean is not None}
    mapped = MappedGGUF(gw, list(shapes), members[0].config or {})
    coverage = mapped.coverage(shapes)
    if coverage < MIN_COVERAGE:
        return None
    sketches = {m.name: cat.sketch(m.id) for m in members}
    layout_hash = next((s.layout_hash for s in sketches.values() if s is not None), None)
    vec = _projected_sketch(mapped, tensors, layout_hash) if layout_hash else None
    if vec is not None:
        ranked = sorted(members, key=lambda m: float(np.sum(
            (np.asarray(sketches[m.name].vector) - vec) ** 2)) if sketches[m.name] else np.inf)
    else:
        ranked = members
    top = ranked[:GGUF_CANDIDATES]
    names = [n for n in mapped.names() if n in shapes]
    best = None
    best_permute = True
    for permute in (True, False) if mapped.permute else (False,):
        mapped.permute = permute
        readers = [ModelWeights(m) for m in top]
        try:
            stats = compare(mapped, readers, None, [pairs.summaries(m.name) for m in top], names)
        finally:
            for r in readers:
                r.close()
        for m, st in zip(top, stats):
            if st.rel < REL_MAX and (best is None or st.d2 < best[1].d2):
                best = (m, st, mapped, coverage)
                best_permute = permute
    if best is not None:
        best[2].permute = best_permute
    return best


def link_gguf(cat: Catalog, rec: ModelRecord, bases: list[ModelRecord],
              pairs: CatalogPairs) -> LineageEdge | None:
    """The safetensors/pytorch model a GGUF file was exported from, if it is in the lake."""
    by_layout: dict[str, list[ModelRecord]] = defaultdict(list)
    for b in bases:
        if b.layout_hash:
            by_layout[b.layout_hash].append(b)
    found = None
    with ModelWeights(rec) as gw:
        for members in by_layout.values():
            hit = _best_source(cat, gw, members, pairs)
            if hit is not None and (found is None or hit[1].d2 < found[1].d2):
                found = hit
    if found is None:
        return None
    src, st, mapped, coverage = found
    ev = base_evidence(st)
    ev.update(gguf_type=rec.quantization, coverage=round(coverage, 4),
              qk_unpermuted=mapped.permute,
              direction_cue="GGUF export: llama.cpp names mapped to the source's, dequantized")
    conf = 0.95 if st.rel < 0.01 else round(max(0.5, 0.95 - st.rel), 4)
    return LineageEdge(src.name, rec.name, "quantized", conf, ev)


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
        if not any(list(s) == [out, inp] for s in hits):
            return False
    return True


def link_adapter(cat: Catalog, rec: ModelRecord, bases: list[ModelRecord],
                 pairs: CatalogPairs) -> LineageEdge | None:
    """The base an unmerged PEFT adapter applies to: declared if its shapes fit, else a
    shape-compatible model (preferring family roots)."""
    targets = _lora_targets(cat, rec)
    if not targets:
        return None
    fits = [b for b in bases if _fits(targets, {n: t.shape for n, t in pairs.summaries(b.name).items()})]
    declared = name_matcher([b.name for b in bases])(rec.adapter_base) if rec.adapter_base else None
    ranks = [min(t.shape) for t in cat.tensors(rec.id) if _LORA.match(t.name) and len(t.shape) == 2]
    ev = {"adapted_matrices": len(targets), "shape_compatible_bases": len(fits),
          "lora_rank": min(ranks), "declared_base": rec.adapter_base}
    if declared is not None and any(b.name == declared for b in fits):
        ev["direction_cue"] = "unmerged PEFT adapter; declared base, shapes match"
        return LineageEdge(declared, rec.name, "adapter", 0.95, ev)
    if not fits:
        return None
    has_parent = {e.child for _, e in cat.lineage.edges()}
    fits.sort(key=lambda b: (b.name in has_parent, b.id or 0))
    ev["direction_cue"] = "unmerged PEFT adapter; base chosen by shape (declared base absent " \
                          "or incompatible)"
    return LineageEdge(fits[0].name, rec.name, "adapter", 0.6 if len(fits) == 1 else 0.3, ev)
