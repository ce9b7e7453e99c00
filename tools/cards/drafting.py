"""The card being drafted: its template fields, YAML metadata, notes and numbered evidence.

Each group of card sections (:mod:`.identity`, :mod:`.details`, :mod:`.usage`,
:mod:`.training`, :mod:`.evaluation`, :mod:`.technical`) fills one :class:`Draft`
through the shortcuts here, so a fact gets the same evidence item wherever it is stated.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from modellake.store.records import BenchmarkRun, LineageEdge
from modellake.tools.cards import score as cs
from modellake.tools.cards.facts import Evidence, EvidenceLog, Facts
from modellake.tools.formats import markdown

Writer = Callable[[str, list[dict[str, Any]]], str]
CARRY_CHARS = 700      # at most this much of the model's own card is quoted into one field


def quote(text: str, limit: int = CARRY_CHARS) -> str:
    """Declared prose as a Markdown quote, cut at a line or sentence near ``limit``."""
    text = text.strip()
    if len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = max(text.rfind(". ", 0, limit) + 1, limit // 2)
        text = text[:cut].rstrip() + "\n…"
    out = [f"> {ln}" if ln.strip() else ">" for ln in text.split("\n")]
    if markdown.unclosed_fence(text):
        out.append("> ```")
    return "\n".join(out)


class Draft:
    """One card being built: the fields of the template, the metadata, the evidence."""

    def __init__(self, facts: Facts, writer: Writer | None, repo_id: str | None) -> None:
        self.f = facts
        self.m = facts.model
        self.ev = EvidenceLog()
        self.writer = writer
        self.repo_id = repo_id
        self.fields: dict[str, str] = {}
        self.meta: dict[str, Any] = {}
        self.notes: list[str] = []
        self.section_ev: dict[str, list[Evidence]] = {}
        self.base: list[tuple[str, str, Evidence, LineageEdge | None]] = []  # (id, lake, ev, edge)
        self.relation: str | None = None
        self._weights_ev: Evidence | None = None

    # -- evidence shortcuts ---------------------------------------------------------
    def declared_card(self, claim: str, **data: Any) -> Evidence:
        return self.ev.add("declared", "README.md", claim, **data)

    def weights(self) -> Evidence:
        if self._weights_ev is None:
            i = self.f.insp
            self._weights_ev = self.ev.add(
                "weights", "tensor statistics", "parameter count and sizes",
                num_parameters=i.num_parameters, num_tensors=i.num_tensors,
                weights_nbytes=i.weights_nbytes, dtypes=list(i.dtypes),
                num_layers=i.num_layers, total_size=i.total_size, files=len(i.files))
        return self._weights_ev

    def config_ev(self, claim: str, keys: list[str]) -> Evidence:
        cfg = self.m.config or {}
        if self.m.format == "gguf":
            src = "GGUF header"
        elif self.m.format == "adapter":
            src = "adapter_config.json"
        else:
            src = "config.json"
        return self.ev.add("declared", src, claim, **{k: cfg.get(k) for k in keys if k in cfg})

    def run_ev(self, run: BenchmarkRun) -> Evidence:
        data = dict(run_id=run.id, task=run.task, task_kind=run.task_kind,
                    metrics=dict(run.metrics), stderr=dict(run.stderr or {}),
                    n_samples=run.n_samples, dataset_hash=run.dataset_hash,
                    task_hash=run.task_hash, model=run.model, model_version=run.model_version,
                    trust=run.trust, created_at=run.created_at)
        if run.trust == "measured":
            return self.ev.add("measured", f"run {run.id}", f"{run.task} on {run.model}", **data)
        return self.ev.add("declared", f"run {run.id} (reported)",
                           f"{run.task} on {run.model}, reported by {run.source or 'an import'}",
                           **data)

    def edge_ev(self, e: LineageEdge) -> Evidence:
        return self.ev.add("inferred", f"edge {e.parent} -> {e.child}",
                           f"{e.relation} of {e.parent}", parent=e.parent, child=e.child,
                           relation=e.relation, confidence=e.confidence,
                           evidence=dict(e.evidence or {}))

    def library_ev(self) -> Evidence:
        """The library the files are for (``facts.library``)."""
        lib = self.f.library
        return self.ev.add("declared", lib[1], f"library: {lib[2]}", library_name=lib[0])

    def pipeline_ev(self) -> Evidence:
        """The pipeline the architecture supports (``facts.pipeline``)."""
        pipe = self.f.pipeline
        return self.ev.add("declared", pipe[1], f"pipeline: {pipe[2]}", pipeline_tag=pipe[0])

    def head_ev(self) -> Evidence:
        """The classification head stored beside the encoder (``facts.head``)."""
        h = self.f.head
        return self.ev.add("declared", h["file"], "classification head stored beside the "
                           "encoder", labels=h["labels"], num_labels=h["num_labels"],
                           input_dim=h["input_dim"])

    def quantization_ev(self) -> Evidence:
        """Why the weights count as quantized: detected in the tensors, or declared."""
        i = self.f.insp
        if i.quantization_source == "detected":
            return self.ev.add("weights", "tensor statistics", "quantization detected",
                               quantization=i.quantization, evidence=i.quantization_evidence)
        return self.config_ev("quantization", ["quantization", "quantization_config", "file_type"])

    # -- fields -----------------------------------------------------------------------
    def section(self, key: str, evs: list[Evidence | None]) -> None:
        self.section_ev.setdefault(key, []).extend(e for e in evs if e is not None)

    def carry(self, section: str, key: str) -> tuple[str, Evidence] | None:
        """The model's own card text for a field, quoted, with its evidence."""
        card = self.f.card
        if card is None:
            return None
        found = cs.find_field(card, section, key)
        if not found:
            return None
        heading, text = found
        ev = self.declared_card(f"section {heading!r} of the model's own card", heading=heading)
        return (f"From the model's own card (README.md, section \"{heading}\") {ev.marker}:\n\n"
                f"{quote(text)}"), ev

    def fill(self, key: str, lines: list[str], evs: list[Evidence | None], carry_from: str) -> None:
        """Field ``key``: its paragraphs, then the model's own card text for it (section
        ``carry_from``) quoted; the evidence of both goes to the section of the same name."""
        carried = self.carry(carry_from, key)
        if carried:
            lines.append(carried[0])
            evs.append(carried[1])
        if lines:
            self.fields[key] = "\n\n".join(lines)
            self.section(key, evs)

    def bullet(self, pattern: str) -> tuple[str, Evidence] | None:
        card = self.f.card
        if card is None:
            return None
        found = cs.find_bullet(card.text, pattern)
        if not found:
            return None
        label, value = found
        value = re.sub(r"\s+", " ", value).strip()[:300]
        ev = self.declared_card(f"{label} bullet of the model's own card", label=label,
                                value=value)
        return f"{value} {ev.marker}", ev

    def bullets(self, fields: tuple[tuple[str, str], ...]) -> None:
        """Each field (key, label pattern) the model's own card gives as a bullet."""
        for key, pattern in fields:
            got = self.bullet(pattern)
            if got:
                self.fields[key] = got[0]
