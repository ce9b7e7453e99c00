"""The card's identity in its YAML: base model and relation, license, library, pipeline, tags.

The base model comes, in this order, from the lineage inferred from the weights, the
card's own ``base_model``, an adapter's config, or the files (a GGUF header's
``general.base_model.*``, a config's ``_name_or_path``).
"""
from __future__ import annotations

import re

from modellake.store.records import LineageEdge
from modellake.tools.cards.drafting import Draft
from modellake.tools.cards.facts import HUB_RELATIONS, hub_id_for, markers, match_declared

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


# -- base model -------------------------------------------------------------------------
def base_model(d: Draft) -> None:
    """``d.base`` and ``d.relation``, and the ``base_model`` / ``base_model_relation`` YAML."""
    declared = list(d.f.card.base_model) if d.f.card else []
    if d.f.lineage.parents:
        _bases_from_lineage(d, declared)
    elif declared:
        _bases_declared(d, declared)
    elif d.m.adapter_base:
        ev = d.ev.add("declared", "adapter_config.json", "base model of the adapter",
                      base_model_name_or_path=d.m.adapter_base)
        d.relation = "adapter"
        d.base.append((d.m.adapter_base, d.m.adapter_base, ev, None))
    else:
        _bases_from_files(d)
    if d.base:
        _base_metadata(d)


def _bases_from_lineage(d: Draft, declared: list[str]) -> None:
    """The inferred parent (every parent of a merge), named by its Hub id where known."""
    edges = d.f.lineage.parents
    merge = [e for e in edges if e.relation == "merge"]
    chosen = merge if len(merge) >= 2 else [edges[0]]
    d.relation = chosen[0].relation
    for e in chosen:
        ev = d.edge_ev(e)
        d.base.append((_parent_hub_id(d, e, declared), e.parent, ev, e))
    unmatched = [x for x in declared if not any(match_declared([x], lake)
                                                for _, lake, _, _ in d.base)]
    if unmatched:
        d.notes.append(f"the model's card declares base_model {', '.join(unmatched)}; "
                       f"the weights point to {', '.join(b[1] for b in d.base)} "
                       "(the inferred parent is used)")
    for c in d.f.lineage.conflicts:
        d.notes.append(f"lineage conflict: {c.get('message')}")


def _parent_hub_id(d: Draft, e: LineageEdge, declared: list[str]) -> str:
    """The parent's Hub id: as the card declares it, as its own record gives it, or its
    name in this lake (with a note to replace it)."""
    hub = match_declared(declared, e.parent)
    if hub is not None:
        return hub
    found = hub_id_for(d.f.related.get(e.parent), e.parent, declared)
    if found is None:
        d.notes.append(f"base_model {e.parent!r} is the parent's name in this "
                       "lake; replace it with its Hub id before publishing")
        return e.parent
    return found[0]


def _bases_declared(d: Draft, declared: list[str]) -> None:
    """The card's own ``base_model``, less what the weights contradict."""
    card = d.f.card
    rejected = {c.get("declared") for c in d.f.lineage.conflicts
                if c.get("kind") in ("wrong_parent", "unrelated", "reversed")}
    keep = [x for x in declared if x not in rejected]
    for x in declared:
        if x in rejected:
            d.notes.append(f"the card's base_model {x} is left out: the weights "
                           "contradict it (see lineage conflicts)")
    d.relation = HUB_RELATIONS.get((card.base_model_relation or "").strip().lower())
    for x in keep:
        ev = d.declared_card("base_model in the card's metadata", base_model=declared,
                             base_model_relation=card.base_model_relation)
        d.base.append((x, x, ev, None))
    if keep and d.m.has_weights:
        why = d.f.lineage.note or "no parent of it is in this lake"
        d.notes.append(f"base_model {', '.join(keep)} is declared, not checked against "
                       f"weights ({why})")


def _gguf_bases(kv: dict) -> list[str]:
    bases = [kv.get(f"general.base_model.{i}.repo_url") or kv.get(f"general.base_model.{i}.name")
             for i in range(int(kv.get("general.base_model.count") or 0))]
    return [str(b).removeprefix("https://huggingface.co/") for b in bases if b]


def _bases_from_files(d: Draft) -> None:
    """A GGUF header's base models, else a config's ``_name_or_path`` naming another repo."""
    m = d.m
    gguf_bases = _gguf_bases((m.config or {}).get("kv") or {})
    src = (m.config or {}).get("_name_or_path")
    if gguf_bases:
        ev = d.ev.add("declared", "GGUF header", "general.base_model", base_models=gguf_bases)
        d.relation = "quantized"
        d.base += [(b, b, ev, None) for b in gguf_bases]
    elif (isinstance(src, str) and _HUB_ID.match(src)
          and src.rsplit("/", 1)[-1].lower() != m.name.rsplit("/", 1)[-1].lower()):
        ev = d.config_ev("_name_or_path: the checkpoint training started from", ["_name_or_path"])
        d.base.append((src, src, ev, None))


def _base_metadata(d: Draft) -> None:
    d.meta["base_model"] = d.base[0][0] if len(d.base) == 1 else [b[0] for b in d.base]
    hub_rel = HUB_RELATIONS.get(d.relation or "")
    if hub_rel:
        d.meta["base_model_relation"] = hub_rel
    elif d.relation:
        d.notes.append(f"relation {d.relation!r} has no Hub base_model_relation "
                       "value; left for the Hub to infer")


# -- license ----------------------------------------------------------------------------
def card_license(d: Draft) -> None:
    """The card's license, a GGUF header's, or the one license all inferred parents share."""
    f, kv = d.f, (d.m.config or {}).get("kv") or {}
    if f.card and f.card.license:
        ev = d.declared_card("license in the card's metadata", license=f.card.license)
        d.meta["license"] = f.card.license
        d.fields["license"] = f"{f.card.license} {ev.marker}"
        return
    if isinstance(kv.get("general.license"), str):
        ev = d.ev.add("declared", "GGUF header", "general.license", license=kv["general.license"])
        d.meta["license"] = kv["general.license"]
        d.fields["license"] = f"{kv['general.license']} {ev.marker}"
        return
    _inherited_license(d)


def _inherited_license(d: Draft) -> None:
    inherited = []
    for _, lake, edge_ev, _ in d.base:
        parent = d.f.related.get(lake)
        lic = parent.card.license if parent is not None and parent.card else None
        if lic is None and parent is not None:
            lic = ((parent.config or {}).get("kv") or {}).get("general.license")
        if lic and edge_ev.kind == "inferred":
            pev = d.ev.add("declared", f"{lake}/README.md", f"license of {lake}",
                           license=lic, model=lake)
            inherited.append((lake, str(lic), edge_ev, pev))
    if inherited and len({lic for _, lic, _, _ in inherited}) == 1:
        lake, lic, e1, e2 = inherited[0]
        d.meta["license"] = lic
        d.fields["license"] = (f"{lic}, inherited from its parent {lake} (not declared by "
                               f"this model: check it) {markers(e1, e2)}")
        d.notes.append(f"license {lic} is inherited from parent {lake}, not declared")
    elif inherited:
        d.notes.append("its parents have different licenses ("
                       + ", ".join(f"{lake}: {lic}" for lake, lic, _, _ in inherited)
                       + "); no license is set")


# -- library, pipeline, tags ------------------------------------------------------------
def library_and_pipeline(d: Draft) -> None:
    """``library_name`` and ``pipeline_tag``: from the files when the weights are here (noting
    where the card disagrees), else from the card."""
    card, lib, pipe = d.f.card, d.f.library, d.f.pipeline
    if lib and d.m.has_weights:
        ev = d.library_ev()
        d.meta["library_name"] = lib[0]
        if card and card.library_name and card.library_name != lib[0]:
            d.notes.append(f"the card says library_name {card.library_name}; the files "
                           f"say {lib[0]} ({lib[2]})")
        d.section("library", [ev])
    elif card and card.library_name:
        d.declared_card("library_name in the card's metadata", library_name=card.library_name)
        d.meta["library_name"] = card.library_name
    if pipe and d.m.has_weights:
        d.pipeline_ev()
        d.meta["pipeline_tag"] = pipe[0]
        if card and card.pipeline_tag and card.pipeline_tag != pipe[0]:
            d.notes.append(f"the card says pipeline_tag {card.pipeline_tag}; the "
                           f"architecture says {pipe[0]} ({pipe[2]})")
    elif card and card.pipeline_tag:
        d.declared_card("pipeline_tag in the card's metadata", pipeline_tag=card.pipeline_tag)
        d.meta["pipeline_tag"] = card.pipeline_tag


def tags_language_datasets(d: Draft) -> None:
    """The card's tags plus what the files show (library, model type, gguf, quantized,
    pruned or merge); the card's languages and datasets."""
    card, m, i = d.f.card, d.m, d.f.insp
    tags: list[str] = list(card.tags) if card else []
    extra = []
    if d.meta.get("library_name") and d.meta["library_name"] != "gguf":
        extra.append(d.meta["library_name"])
    if m.model_type:
        extra.append(str(m.model_type))
    if m.format == "gguf":
        extra.append("gguf")
    if i.quantization:
        extra.append("quantized")
    if d.relation in ("pruned", "merge"):
        extra.append(d.relation)
    for t in extra:
        if t.lower() not in {x.lower() for x in tags}:
            tags.append(t)
    if tags:
        d.meta["tags"] = tags
    if card and card.language:
        ev = d.declared_card("language in the card's metadata", language=card.language)
        d.meta["language"] = card.language if len(card.language) > 1 else card.language[0]
        d.fields["language"] = f"{', '.join(card.language)} {ev.marker}"
    if card and card.datasets:
        d.meta["datasets"] = list(card.datasets)
