"""Training Details: data, procedure (how the weights relate to the parent's), regime, sizes."""
from __future__ import annotations

from collections.abc import Callable

from modellake.store.records import LineageEdge
from modellake.tools.cards.drafting import Draft
from modellake.tools.cards.facts import markers
from modellake.tools.cards.text import mbytes, num, pct, uniq

_NO_TRAINING = {"quantized": "rounded to a low-bit grid", "pruned": "with more entries set to zero",
                "duplicate": "unchanged"}


def training(d: Draft) -> None:
    """The Training Details fields, each from the evidence or the model's own card."""
    _training_data(d)
    _training_procedure(d)
    _training_regime(d)
    _sizes(d)


def _training_data(d: Draft) -> None:
    """The card's datasets; "no training of its own" for a quantized, pruned or copied model."""
    card = d.f.card
    lines = []
    if card and card.datasets:
        ev = d.declared_card("datasets in the card's metadata", datasets=card.datasets)
        lines.append(f"Datasets declared by the card: {', '.join(card.datasets)}. {ev.marker}")
    if d.relation in _NO_TRAINING and d.base and d.base[0][3]:
        e = d.base[0][3]
        lines.append(f"No training of its own: its weights are {e.parent}'s, "
                     f"{_NO_TRAINING.get(e.relation, '')}"
                     f" (see Training Procedure). {d.edge_ev(e).marker}")
    carried = d.carry("training", "training_data")
    if carried:
        lines.append(carried[0])
    if lines:
        d.fields["training_data"] = "\n\n".join(lines)


def _training_procedure(d: Draft) -> None:
    """One line per inferred parent edge: what the weights show of how it was derived."""
    proc, evs = [], []
    for _, _, ev, e in d.base:
        if e is None:
            continue
        if e.relation == "merge" and any(line.startswith("Merged from") for line in proc):
            continue  # one line for all the parents of a merge
        text = _PROCEDURE.get(e.relation, _other)(d, e)
        markers_ = [ev] + ([b[2] for b in d.base] if e.relation == "merge" else [])
        proc.append(f"{text}; confidence {num(e.confidence)}. {markers(*uniq(markers_))}")
        evs += markers_
    d.fill("training_procedure", proc, evs, carry_from="training")


def _finetuned(d: Draft, e: LineageEdge) -> str:
    x, p = e.evidence or {}, e.parent
    bits = []
    if "relative_distance" in x:
        bits.append(f"relative weight distance {num(x['relative_distance'])}")
    if "changed_tensors" in x:
        bits.append(f"{x['changed_tensors']} tensors changed")
    if "identical_tensors" in x:
        bits.append(f"{pct(x['identical_tensors'])} of tensors identical")
    if "max_update_rank" in x:
        bits.append(f"largest update rank {x['max_update_rank']}")
    return f"Fine-tuned from {p}: " + ", ".join(bits) if bits else f"Fine-tuned from {p}"


def _quantized(d: Draft, e: LineageEdge) -> str:
    x, p = e.evidence or {}, e.parent
    if "grid_rows" in x:
        return (f"Quantized from {p}: {pct(x['grid_rows'])} of the sampled weight rows "
                f"are {p}'s values rounded to an at-most-8-bit grid")
    if "cast_tensors" in x:
        return (f"Cast from {p}: {pct(x['cast_tensors'])} of the changed tensors are "
                f"{p}'s rounded to 16 bits")
    return f"Quantized from {p}"


def _pruned(d: Draft, e: LineageEdge) -> str:
    x, p = e.evidence or {}, e.parent
    text = f"Pruned from {p}"
    if "zero_fraction_gain" in x:
        text += f": {pct(x['zero_fraction_gain'])} of the matrix entries newly zero"
    if "kept_equal" in x:
        text += f", {pct(x['kept_equal'])} of the other weights equal to {p}'s"
    return text


def _merged(d: Draft, e: LineageEdge) -> str:
    x = e.evidence or {}
    coefs = x.get("coefficients") or {}
    text = f"Merged from {', '.join(b[1] for b in d.base)}"
    if coefs:
        text += " (affine fit coefficients " + ", ".join(
            f"{k}: {num(v)}" for k, v in coefs.items()) + ")"
    if "residual_ratio" in x:
        text += f", fit residual {num(x['residual_ratio'])} of the distance"
    return text


def _adapter(d: Draft, e: LineageEdge) -> str:
    x = e.evidence or {}
    text = f"A low-rank update of {e.parent}"
    if "max_update_rank" in x:
        text += f" (largest update rank {x['max_update_rank']})"
    return text


def _duplicate(d: Draft, e: LineageEdge) -> str:
    return f"Identical weights to {e.parent}"


def _other(d: Draft, e: LineageEdge) -> str:
    return f"{e.relation} of {e.parent}"


_PROCEDURE: dict[str, Callable[[Draft, LineageEdge], str]] = {
    "finetune": _finetuned, "quantized": _quantized, "pruned": _pruned, "merge": _merged,
    "adapter": _adapter, "duplicate": _duplicate}


def _training_regime(d: Draft) -> None:
    """The card's precision / regime bullet, else its hyperparameters section quoted."""
    got = d.bullet(r"^training regime|^precision")
    carried = d.carry("training", "hyperparameters")
    if got:
        d.fields["training_regime"] = got[0]
    elif carried:
        d.fields["training_regime"] = f"in the model's own card, quoted below " \
                                      f"{carried[1].marker}\n\n{carried[0]}"


def _sizes(d: Draft) -> None:
    """How much space the files and the weights take."""
    i = d.f.insp
    if not (d.m.has_weights and i.total_size):
        return
    w = d.weights()
    dt = ", ".join(i.dtypes) if i.dtypes else "unknown dtypes"
    text = f"The model's {len(i.files)} files take {mbytes(i.total_size)}"
    if i.weights_nbytes:
        text += f"; its weights take {mbytes(i.weights_nbytes)} ({dt})"
    d.fields["speeds_sizes_times"] = f"{text}. {w.marker}"
