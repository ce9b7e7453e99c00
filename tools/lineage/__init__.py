"""Lineage: which model was derived from which, inferred from the weights themselves.

Public API (the functions behind ``modellake lineage`` and ``modellake diff``):
:func:`infer_lineage` / :func:`lineage` (the version graph, cached in the catalog),
:func:`audit` (inferred parents against what cards declare), :func:`ancestors`,
:func:`descendants`, :func:`siblings`, :func:`diff` and :func:`draw_graph`.

Inside: :mod:`.weights` (tensors a comparison reads), :mod:`.compare` (pair statistics),
:mod:`.detect` (relation kinds), :mod:`.source` (sketches and cached pairs from the catalog),
:mod:`.links` (candidate pairs across layouts), :mod:`.solve` with :mod:`.arborescence`
(the directed tree), :mod:`.declared` (card claims), :mod:`.graph` (assembly and cache), :mod:`.model_diff`
(what changed between two models, in words), :mod:`.draw` (the picture).
"""
from __future__ import annotations

from modellake.tools.lineage.declared import AuditReport, Conflict
from modellake.tools.lineage.draw import draw_graph
from modellake.tools.lineage.graph import (
    ALGORITHM,
    RELATIONS,
    LineageGraph,
    Relative,
    Relatives,
    ancestors,
    audit,
    descendants,
    infer_lineage,
    lineage,
    siblings,
)
from modellake.tools.lineage.model_diff import ModelDiff, TensorDiff, diff

__all__ = [
    "ALGORITHM", "RELATIONS", "AuditReport", "Conflict", "LineageGraph", "ModelDiff", "Relative",
    "Relatives", "TensorDiff", "ancestors", "audit", "descendants", "diff", "draw_graph",
    "infer_lineage", "lineage", "siblings",
]
