"""Model Examination, Technical Specifications, Environmental Impact and Citation."""
from __future__ import annotations

import re

from modellake.tools.cards import score as cs
from modellake.tools.cards.details import head_text
from modellake.tools.cards.drafting import Draft
from modellake.tools.cards.facts import markers
from modellake.tools.cards.text import count, mbytes, pct

# architecture numbers quoted in Model Specifications, from a GGUF header or a config.json
GGUF_SPEC_KEYS = ("architecture", "block_count", "embedding_length", "context_length",
                  "vocab_size", "quantization")
CONFIG_SPEC_KEYS = ("model_type", "num_hidden_layers", "hidden_size", "num_attention_heads",
                    "num_key_value_heads", "intermediate_size", "vocab_size",
                    "max_position_embeddings", "hidden_act")
_ENVIRONMENT = (("hardware_type", r"^hardware type"), ("hours_used", r"^hours used"),
                ("cloud_provider", r"^cloud provider"), ("cloud_region", r"^compute region"),
                ("co2_emitted", r"^carbon emitted|^co2"))


def examination(d: Draft) -> None:
    """Parameters by module group, layers, tied weights and sparsity, from the tensors."""
    i = d.f.insp
    if not i.weights_in_lake or not i.groups:
        return
    w = d.ev.add("weights", "tensor statistics", "parameters by module group",
                 group_parameters={g.group: g.parameters for g in i.groups},
                 group_fractions={g.group: round(g.fraction, 6) for g in i.groups},
                 num_layers=i.num_layers, tied=[t.names for t in (i.tied or [])])
    parts = ", ".join(f"{g.group} {pct(g.fraction)}" for g in i.groups)
    lines = [f"- Parameters by module: {parts}. {w.marker}"]
    if i.num_layers:
        lines.append(f"- {i.num_layers} layers found in the tensor names. {w.marker}")
    for t in (i.tied or [])[:3]:
        lines.append(f"- Tied weights ({t.kind}): {', '.join(t.names)}. {w.marker}")
    if i.zero_fraction is not None:
        z = d.ev.add("weights", "tensor statistics", "sparsity",
                     matrix_zero_fraction=i.matrix_zero_fraction,
                     zero_fraction=i.zero_fraction,
                     sparse_tensor_count=i.sparse_tensor_count)
        lines.append(f"- {pct(i.zero_fraction)} of all float weights are exactly zero. "
                     f"{z.marker}")
    d.fields["model_examination"] = "\n".join(lines)


def specs(d: Draft) -> None:
    """Model architecture and objective, hardware requirements, compute and software."""
    _architecture(d)
    if d.m.has_weights and d.f.insp.weights_nbytes:
        i, w = d.f.insp, d.weights()
        d.fields["hardware_requirements"] = (
            f"Holding the weights as stored takes {mbytes(i.weights_nbytes)} of memory "
            f"({', '.join(i.dtypes)}). {w.marker}")
    carried = d.carry("technical_specifications", "compute")
    if carried:
        d.fields["compute_infrastructure"] = carried[0]
    _software(d)


def _architecture(d: Draft) -> None:
    """Architecture numbers, parameter count, objective, and the card's own text on it."""
    m, i = d.m, d.f.insp
    cfg = m.config or {}
    lines = []
    keys = GGUF_SPEC_KEYS if m.format == "gguf" else CONFIG_SPEC_KEYS
    got = {k: cfg[k] for k in keys if cfg.get(k) is not None}
    if got:
        ev = d.config_ev("architecture numbers", list(got))
        lines.append("- " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in got.items())
                     + f". {ev.marker}")
    if i.num_parameters and i.weights_in_lake:
        w = d.weights()
        lines.append(f"- {count(i.num_parameters)} parameters in {i.num_tensors} tensors. "
                     f"{w.marker}")
    pipe, head = d.meta.get("pipeline_tag"), head_text(d)
    if pipe and d.f.pipeline and m.has_weights:
        pev = d.pipeline_ev()
        what = head[0] if head[0] else d.f.pipeline[2]
        lines.append(f"- Objective: `{pipe}`, {what}. {markers(pev, *head[1])}")
    _fill(d, "model_specs", lines, "architecture")


def _software(d: Draft) -> None:
    """The library, the versions that saved the files, and the card's own software text."""
    m, cfg = d.m, d.m.config or {}
    sw = []
    if d.f.library and m.has_weights:
        sw.append(f"- {d.f.library[0]} ({d.f.library[2]}). {d.library_ev().marker}")
    if cfg.get("transformers_version"):
        ev = d.config_ev("transformers version that saved it", ["transformers_version"])
        sw.append(f"- Saved with transformers {cfg['transformers_version']}. {ev.marker}")
    if m.format == "gguf" and cfg.get("gguf_version"):
        ev = d.config_ev("GGUF version", ["gguf_version"])
        sw.append(f"- GGUF version {cfg['gguf_version']}. {ev.marker}")
    _fill(d, "software", sw, "software")


def _fill(d: Draft, field: str, lines: list[str], own_key: str) -> None:
    """A technical field: the lake's lines, then what the model's own card says under ``own_key``."""
    carried = d.carry("technical_specifications", own_key)
    if carried:
        lines.append("\n" + carried[0])
    if lines:
        d.fields[field] = "\n".join(lines)


def environment(d: Draft) -> None:
    """Environmental Impact: the bullets the model's own card gives."""
    d.bullets(_ENVIRONMENT)


def citation(d: Draft) -> None:
    """The first code block of a citation section of the model's own card."""
    card = d.f.card
    if card is None:
        return
    for b in cs.split_blocks(card.text):
        if b.level and re.search(r"citation|bibtex|\bcite\b|reference", b.key):
            fence = re.search(r"```[^\n]*\n.*?```", b.subtree, re.S)
            if fence:
                ev = d.declared_card(f"citation in section {b.heading!r} of the card",
                                     heading=b.heading)
                d.fields["citation"] = f"From the model's own card {ev.marker}:\n\n" \
                                       f"{fence.group(0)}"
                return
