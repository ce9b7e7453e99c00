"""Model Details: what the model is (architecture, size, head), where it comes from, its
quantization, and the people, repository and papers its own card names."""
from __future__ import annotations

import re

from modellake.tools.cards.drafting import Draft
from modellake.tools.cards.facts import Evidence, config_labels, hub_id_for, markers
from modellake.tools.cards.text import count, num

_DERIVED_WORDS = {"finetune": "fine-tuned from", "quantized": "a quantized version of",
                  "pruned": "a pruned version of", "merge": "a merge of",
                  "adapter": "an adapter on", "duplicate": "an identical copy of"}
_PEOPLE = (("developers", r"^developed by|^developers?$|^model developers?|"
                          r"^created by|^model creator"),
           ("funded_by", r"^funded by"), ("shared_by", r"^shared by"))


def describe_arch(d: Draft) -> tuple[str, list[Evidence]]:
    """What kind of model it is ("bert model (`BertModel`)"), with its evidence."""
    m = d.m
    cfg = m.config or {}
    if m.format == "gguf":
        ev = d.config_ev("architecture and quantization",
                         ["architecture", "quantization", "file_type", "name"])
        q = f", quantized {m.quantization}" if m.quantization else ""
        return f"{m.architecture} model stored as a GGUF file{q}", [ev]
    if m.format == "adapter":
        ev = d.config_ev("adapter type", ["peft_type", "task_type", "r", "lora_alpha"])
        return f"{(m.model_type or 'adapter').upper()} adapter", [ev]
    archs = [str(a) for a in cfg.get("architectures") or []]
    if archs or m.model_type:
        ev = d.config_ev("architecture", ["model_type", "architectures"])
        what = f"{m.model_type} model" if m.model_type else "model"
        return (f"{what} (`{', '.join(archs)}`)" if archs else what), [ev]
    if m.architecture:
        return f"{m.architecture} model (recognized from its tensor names)", [d.weights()]
    return "", []


def head_text(d: Draft) -> tuple[str, list[Evidence]]:
    """The model's head: a classification head stored beside it, or its config's labels."""
    h = d.f.head
    if h:
        ev = d.head_ev()
        labels = f" ({', '.join(h['labels'])})" if h["labels"] else ""
        return (f"a linear classification head with {h['num_labels']} labels{labels}, "
                f"stored in `{h['file']}`", [ev])
    labels = config_labels(d.m)
    if labels:
        ev = d.config_ev("labels of the head", ["id2label"])
        return f"a head with {len(labels)} labels ({', '.join(labels)})", [ev]
    return "", []


def details(d: Draft) -> None:
    """The summary, the description (lineage, quantization), model type, base model, and the
    people, repository and papers of the Model Details section."""
    arch, arch_ev = describe_arch(d)
    summary, summary_ev = _summary(d, arch, arch_ev)
    lines = [summary, *_lineage_line(d), *_quantization_line(d)]
    d.section("model_description", summary_ev + [b[2] for b in d.base])
    d.fields["model_summary"] = lines[0]
    d.fields["model_description"] = "\n\n".join(lines[1:] or lines)
    if arch:
        d.fields["model_type"] = f"{arch} {markers(*arch_ev)}"
    if d.base:
        d.fields["finetuned_from"] = "; ".join(
            f"{b[0]} ({b[3].relation}, confidence {num(b[3].confidence)})" if b[3] else b[0]
            for b in d.base) + " " + markers(*(b[2] for b in d.base))
    d.bullets(_PEOPLE)
    _repo(d)
    _papers(d)


def _summary(d: Draft, arch: str, arch_ev: list[Evidence]) -> tuple[str, list[Evidence]]:
    """"`name` is a <arch> with N parameters and <head>." and its evidence."""
    m, i = d.m, d.f.insp
    head, head_ev = head_text(d)
    evs: list[Evidence] = []
    if arch:
        parts = [f"`{m.name}` is a {arch}"]
        evs += arch_ev
    elif m.has_weights:
        parts = [f"`{m.name}` is a model in this lake ({m.format} format)"]
        evs.append(d.ev.add("weights", "tensor statistics", "format", format=m.format))
    else:
        parts = [f"`{m.name}` is in this lake as a model card only: its weights are not"]
        evs.append(d.ev.add("weights", "tensor statistics", "weights in the lake",
                            format=m.format, weights_in_lake=False))
    if i.num_parameters and i.weights_in_lake:
        parts.append(f"{',' if ',' in arch else ''}with {count(i.num_parameters)} parameters")
        evs.append(d.weights())
    sentence = " ".join(parts).replace(" ,with", ", with")
    if head:
        sentence += f" and {head}"
        evs += head_ev
    return f"{sentence}. {markers(*evs)}", evs


def _lineage_line(d: Draft) -> list[str]:
    """"It is fine-tuned from X (inferred from the weights)." when it has a base model."""
    if not d.base:
        return []
    how = "inferred from the weights" if d.base[0][3] is not None else "declared"
    names = " and ".join(b[1] for b in d.base)
    return [f"It is {_DERIVED_WORDS.get(d.relation or 'derived', 'derived from')} {names} "
            f"({how}). {markers(*(b[2] for b in d.base))}"]


def _quantization_line(d: Draft) -> list[str]:
    i = d.f.insp
    if not i.quantization:
        return []
    return [f"Its weights are quantized: {i.quantization}. {d.quantization_ev().marker}"]


def _repo(d: Draft) -> None:
    """The model's Hub repository, when its own card writes its id (and not as a base)."""
    me = hub_id_for(d.m, d.m.name) if d.f.card else None
    bases = {b.lower() for b in (d.f.card.base_model if d.f.card else [])}
    if me and me[1] == "the model's own card" and me[0].lower() not in bases:
        ev = d.declared_card("the model's Hub id, as its card writes it", hub_id=me[0])
        d.fields["repo"] = f"https://huggingface.co/{me[0]} {ev.marker}"


def _papers(d: Draft) -> None:
    """The arXiv papers the card links or tags."""
    card = d.f.card
    if not card:
        return
    papers = re.findall(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})", card.text)
    papers += [t.split(":", 1)[1] for t in card.tags if t.startswith("arxiv:")]
    papers = sorted(set(papers))
    if papers:
        ev = d.declared_card("papers the card links", arxiv=papers)
        d.fields["paper"] = ", ".join(f"https://arxiv.org/abs/{p}" for p in papers) \
            + f" {ev.marker}"
