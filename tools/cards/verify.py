"""Check a drafted card against the lake: every statement backed, every number from evidence.

``verify_draft(catalog, draft)`` returns the problems it finds (empty when the card is
sound):

* the card parses with ``huggingface_hub.ModelCard`` (metadata errors raise) and
  round-trips: parsing the text and writing it again gives the same card;
* every statement line of every template section carries an evidence marker that is in
  ``draft.evidence``; quoted lines (``> ...``) are text of the model's own stored card;
* every number in a statement is one of its evidence's numbers;
* every evidence item agrees with the lake: the run exists with those metrics, the
  lineage edge exists with that relation, the statistic equals the stored one, the
  declared value is in the file named.
"""
from __future__ import annotations

import math
import re
from typing import Any

from modellake.store.catalog import Catalog
from modellake.store.errors import NotFoundError
from modellake.store.records import CardDraft, CardInfo, ModelRecord
from modellake.tools.cards import score as cs
from modellake.tools.cards.evaluation import STATIC_LINES
from modellake.tools.cards.facts import (
    Evidence,
    Facts,
    gather,
    library_of,
    pipeline_of,
    read_side_head,
)
from modellake.tools.cards.text import unsupported_numbers
from modellake.tools.formats import markdown
from modellake.tools.inspection import Inspection

MARKER = re.compile(r"\[(E\d+) (measured|inferred|weights|declared): ([^\]]+)\]")
# sections that hold no claims about the model: the marker legend, the list of unknowns
# and drafting notes, the evidence list itself, the card's authorship
UNCHECKED = ("glossary", "more information", "evidence", "model card authors",
             "model card contact")


def validate_card(text: str) -> list[str]:
    """Problems ``huggingface_hub`` finds parsing a card, and whether it round-trips."""
    from huggingface_hub import ModelCard

    problems: list[str] = []
    try:
        card = ModelCard(text)  # ignore_metadata_errors=False: invalid metadata raises
    except Exception as exc:  # noqa: BLE001 - hub raises ValueError and friends
        return [f"huggingface_hub rejects the card: {exc}"]
    again = ModelCard(str(card))
    if str(again) != str(card) or again.data.to_dict() != card.data.to_dict():
        problems.append("the card does not round-trip through ModelCard")
    data = card.data.to_dict()
    rel = data.get("base_model_relation")
    if rel is not None and rel not in ("adapter", "merge", "quantized", "finetune"):
        problems.append(f"base_model_relation {rel!r} is not a Hub value")
    if rel is not None and not data.get("base_model"):
        problems.append("base_model_relation without base_model")
    if "model-index" in data and not isinstance(data["model-index"], list):
        problems.append("model-index is not a list")
    return problems


def _states_nothing(line: str) -> bool:
    """A comment, a fixed line of the template, a placeholder, boilerplate or an empty bullet."""
    if line.startswith("<!--") or line in STATIC_LINES or cs.is_placeholder(line):
        return True
    if any(rx.match(line) for rx in cs._BOILERPLATE):  # noqa: SLF001
        return True
    bl = cs._bullet(line)  # noqa: SLF001
    return bool(bl and cs.is_placeholder(bl[1]))


def _statement_lines(body: str) -> list[tuple[str, str, int]]:
    """(section heading path, line, line number) of lines that state something."""
    out = []
    for sec in markdown.sections(body, setext=False):
        heads = [cs._norm_heading(t) for t in sec.path]  # noqa: SLF001
        if any(h.startswith(UNCHECKED) for h in heads):
            continue
        lines = [(ln.text.strip(), ln.number) for ln in sec.lines if ln.kind == "text"]
        out += [(" / ".join(heads), s, n) for s, n in lines if s and not _states_nothing(s)]
    return out


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    return a == b


def verify_evidence(catalog: Catalog, model_name: str, ev: Evidence) -> list[str]:
    """Where one evidence item disagrees with the lake (empty when it agrees)."""
    facts = _facts_cache(catalog, model_name)
    if ev.source.startswith("run "):
        return _check_run(catalog, ev)
    if ev.kind == "inferred":
        return _check_edge(catalog, facts, ev)
    if ev.kind == "weights":
        return _check_weights(facts.insp, ev)
    return _check_declared(catalog, facts.model, ev)


def _check_run(catalog: Catalog, ev: Evidence) -> list[str]:
    """A benchmark run: it exists, with those metrics, task, model and trust."""
    d = ev.data
    try:
        run = catalog.runs.get(int(d["run_id"]), with_outputs=False)
    except (NotFoundError, KeyError, ValueError):
        return [f"{ev.id}: run {d.get('run_id')} is not in the lake"]
    bad = []
    if not _close(run.metrics, d.get("metrics")):
        bad.append(f"{ev.id}: run {run.id} metrics {run.metrics} != {d.get('metrics')}")
    if run.task != d.get("task") or run.model != d.get("model") or run.trust != d.get("trust"):
        bad.append(f"{ev.id}: run {run.id} is {run.task}/{run.model}/{run.trust}")
    if (ev.kind == "measured") != (run.trust == "measured"):
        bad.append(f"{ev.id}: marked {ev.kind} but the run is {run.trust}")
    return bad


def _check_edge(catalog: Catalog, facts: Facts, ev: Evidence) -> list[str]:
    """An inferred lineage edge: it exists, with that relation and confidence."""
    d, m = ev.data, facts.model
    edges = facts.lineage.parents + facts.lineage.children
    if d.get("child") != m.name and d.get("parent") != m.name:
        other = _facts_cache(catalog, d.get("child"))
        edges = other.lineage.parents
    hit = [e for e in edges if e.parent == d.get("parent") and e.child == d.get("child")]
    if not hit:
        return [f"{ev.id}: no inferred edge {d.get('parent')} -> {d.get('child')}"]
    if hit[0].relation != d.get("relation") or not _close(hit[0].confidence,
                                                          d.get("confidence")):
        return [f"{ev.id}: edge is {hit[0].relation} {hit[0].confidence}"]
    return []


def _check_weights(insp: Inspection, ev: Evidence) -> list[str]:
    """Tensor statistics: each equals the stored inspection's."""
    d, bad = ev.data, []
    for key, val in d.items():
        if hasattr(insp, key) and key not in ("files",):
            if not _close(getattr(insp, key), val):
                bad.append(f"{ev.id}: {key} is {getattr(insp, key)!r}, not {val!r}")
    if "files" in d and d["files"] != len(insp.files):
        bad.append(f"{ev.id}: {len(insp.files)} files, not {d['files']}")
    if "group_parameters" in d:
        groups = {g.group: g.parameters for g in insp.groups or []}
        if groups != d["group_parameters"]:
            bad.append(f"{ev.id}: parameters by group are {groups}")
    if "top_tensor" in d:
        top = (insp.top_kurtosis or [None])[0]
        if top is None or top.name != d["top_tensor"] or not _close(
                top.kurtosis, d.get("top_tensor_kurtosis")):
            bad.append(f"{ev.id}: the most heavy-tailed tensor is {top and top.name}")
    return bad


def _check_declared(catalog: Catalog, m: ModelRecord, ev: Evidence) -> list[str]:
    """A declared value: it is in the file named (the card, a parent's card, a config, ...)."""
    src = ev.source
    if src == "README.md":
        return _check_card(m.card, ev)
    if src.endswith("/README.md"):
        return _check_other_card(catalog, src[: -len("/README.md")], ev)
    if src in ("config.json", "GGUF header", "adapter_config.json"):
        return _check_config(m, ev)
    if src == "model files":
        return []
    return _check_file(m, ev)


def _check_card(card: CardInfo | None, ev: Evidence) -> list[str]:
    d = ev.data
    if card is None:
        return [f"{ev.id}: the model has no card"]
    bad = []
    fields = {"license": card.license, "base_model": card.base_model,
              "language": card.language, "datasets": card.datasets,
              "pipeline_tag": card.pipeline_tag, "library_name": card.library_name,
              "base_model_relation": card.base_model_relation}
    for key, val in d.items():
        if key in fields and not _close(fields[key], val):
            bad.append(f"{ev.id}: the card's {key} is {fields[key]!r}, not {val!r}")
    if "heading" in d and d["heading"] not in card.text:
        bad.append(f"{ev.id}: no section {d['heading']!r} in the card")
    if "value" in d and re.sub(r"\s+", " ", d["value"])[:80] not in \
            re.sub(r"\s+", " ", card.text):
        bad.append(f"{ev.id}: the card does not say {d['value']!r}")
    if "hub_id" in d and d["hub_id"].lower() not in card.text.lower():
        bad.append(f"{ev.id}: the card does not write {d['hub_id']}")
    return bad


def _check_other_card(catalog: Catalog, other: str, ev: Evidence) -> list[str]:
    """Another model's card (a parent's): its license, its section."""
    d = ev.data
    try:
        rec = catalog.get_model(other)
    except NotFoundError:
        return [f"{ev.id}: no model {other} in the lake"]
    bad = []
    lic = rec.card.license if rec.card else None
    if lic is None:
        lic = ((rec.config or {}).get("kv") or {}).get("general.license")
    if "license" in d and str(lic) != str(d["license"]):
        bad.append(f"{ev.id}: {other}'s license is {lic!r}")
    if "heading" in d and (rec.card is None or d["heading"] not in rec.card.text):
        bad.append(f"{ev.id}: {other}'s card has no section {d['heading']!r}")
    return bad


def _check_config(m: ModelRecord, ev: Evidence) -> list[str]:
    """A config.json / GGUF header / adapter_config.json value, or what the files show."""
    src, cfg = ev.source, m.config or {}
    kv = cfg.get("kv") or {}
    lib, pipe = library_of(m), pipeline_of(m, read_side_head(m))
    bad = []
    for key, val in ev.data.items():
        if key == "library_name":
            ok = lib is not None and lib[0] == val
        elif key == "pipeline_tag":
            ok = pipe is not None and pipe[0] == val
        elif key == "license":
            ok = kv.get("general.license") == val
        elif key == "base_models":
            ok = True
        elif key == "base_model_name_or_path":
            ok = m.adapter_base == val
        else:
            ok = _close(cfg.get(key, kv.get(key)), val)
        if not ok:
            bad.append(f"{ev.id}: {src} {key} is not {val!r}")
    if src == "config.json" and "config.json" not in {f.path for f in m.files}:
        bad.append(f"{ev.id}: the model has no config.json")
    return bad


def _check_file(m: ModelRecord, ev: Evidence) -> list[str]:
    """Another file of the model: it exists, and the library, pipeline, head it shows."""
    d, src = ev.data, ev.source
    if src not in {f.path for f in m.files}:
        return [f"{ev.id}: the model has no file {src}"]
    bad = []
    if "library_name" in d:
        lib = library_of(m)
        if lib is None or lib[0] != d["library_name"]:
            bad.append(f"{ev.id}: library is {lib}")
    if "pipeline_tag" in d:
        pipe = pipeline_of(m, read_side_head(m))
        if pipe is None or pipe[0] != d["pipeline_tag"]:
            bad.append(f"{ev.id}: pipeline is {pipe}")
    if "labels" in d:
        head = read_side_head(m)
        if head is None or head["labels"] != d["labels"]:
            bad.append(f"{ev.id}: head labels are {head and head['labels']}")
    return bad


_CACHE: dict[tuple[int, str], Any] = {}


def _facts_cache(catalog: Catalog, name: str):
    key = (id(catalog), name)
    if key not in _CACHE:
        _CACHE[key] = gather(catalog, name, infer_lineage=False)
    return _CACHE[key]


def verify_draft(catalog: Catalog, draft: CardDraft) -> list[str]:
    """Every problem of a drafted card (empty list: every statement is backed by the lake)."""
    from huggingface_hub import ModelCard

    _CACHE.clear()
    problems = validate_card(draft.markdown)
    if problems:
        return problems
    card = ModelCard(draft.markdown)
    if card.data.to_dict() != draft.metadata:
        problems.append("the card's metadata differs from draft.metadata")
    evidence = {e["id"]: Evidence(e["id"], e["kind"], e["source"], e["claim"], e.get("data") or {})
                for e in draft.evidence}
    name = f"{draft.model}@{draft.version}" if draft.version else draft.model
    stored = _facts_cache(catalog, name).model.card
    stored_text = re.sub(r"\s+", " ", stored.text) if stored else ""
    for heading, line, n in _statement_lines(card.text):
        if line.startswith(">"):
            quoted = re.sub(r"\s+", " ", line.lstrip("> ").strip())
            if quoted and quoted != "…" and quoted not in stored_text \
                    and not _quoted_meaningful(quoted, stored):
                problems.append(f"line {n} ({heading}): quoted text is not in the model's card: "
                                f"{line[:80]!r}")
            continue
        ids = MARKER.findall(line)
        if not ids:
            problems.append(f"line {n} ({heading}): no evidence marker: {line[:100]!r}")
            continue
        evs = []
        for eid, kind, _ in ids:
            ev = evidence.get(eid)
            if ev is None or ev.kind != kind:
                problems.append(f"line {n}: marker {eid} is not in the evidence list")
            else:
                evs.append(ev)
        bad = unsupported_numbers(line, evs, draft.model, *_names(evs))
        if bad:
            problems.append(f"line {n} ({heading}): numbers not in its evidence {bad}: "
                            f"{line[:100]!r}")
    for ev in evidence.values():
        problems += verify_evidence(catalog, name, ev)
    _CACHE.clear()
    return problems


def _names(evs: list[Evidence]) -> list[str]:
    out = []
    for e in evs:
        for k in ("parent", "child", "model", "task", "top_tensor", "heading"):
            v = e.data.get(k)
            if isinstance(v, str):
                out.append(v)
        out += [str(x) for x in e.data.get("labels") or []]
        for k in ("base_model", "architectures", "datasets", "base_models"):
            v = e.data.get(k)
            out += [str(x) for x in (v if isinstance(v, list) else [v] if v else [])]
        coefs = e.data.get("evidence", {}).get("coefficients") if isinstance(
            e.data.get("evidence"), dict) else None
        out += list(coefs or {})
    return out


def _quoted_meaningful(quoted: str, stored: Any) -> bool:
    """Quoted text may differ from the stored text only by removed placeholders/comments."""
    if stored is None:
        return False
    clean = re.sub(r"\s+", " ", cs.meaningful(stored.text))
    return quoted in clean
