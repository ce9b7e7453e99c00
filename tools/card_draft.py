"""Draft a model card from the lake's evidence (``modellake card NAME``).

Each section of the Hub's model card template is filled only with facts the lake
holds (see :mod:`modellake.tools.card_facts`), each followed by its evidence marker;
a field the lake knows nothing about says "[More Information Needed]" and is listed.
The YAML header is built as a ``huggingface_hub.ModelCardData`` and the card is
rendered with ``ModelCard.from_template`` from ``tools/templates/modelcard_template.md``.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modellake.store.catalog import Catalog
from modellake.store.records import BenchmarkRun, CardDraft, LineageEdge
from modellake.tools import card_score as cs
from modellake.tools.card_facts import (
    HUB_RELATIONS,
    TASK_KIND_PIPELINE,
    Evidence,
    EvidenceLog,
    Facts,
    config_labels,
    gather,
    higher_is_better,
    hub_id_for,
    match_declared,
    markers,
    model_dir,
)
from modellake.tools.card_text import count, mbytes, num, pct, uniq, unsupported_numbers

TEMPLATE_PATH = Path(__file__).resolve().parent / "templates" / "modelcard_template.md"
Writer = Callable[[str, list[dict[str, Any]]], str]
WRITER_SECTIONS = ("model_description", "direct_use", "bias_risks_limitations",
                   "training_procedure", "results_summary")
CARRY_CHARS = 700      # at most this much of the model's own card is quoted into one field
MAX_RESULT_ROWS = 40
REPORTED_NOTE = ("`reported` rows are imported claims, not re-measured here; the model-index "
                 "lists measured runs only.")
STATIC_LINES = (REPORTED_NOTE, "| Task | Metric | Value | ± stderr | Trust | Evidence |",
                "|---|---|---|---|---|---|")
GLOSSARY = (
    "Evidence markers: `[E3 measured: run 12]` is a benchmark run the lake measured "
    "(its id); `[E1 inferred: edge a -> b]` is a lineage edge inferred from the weights "
    "(its numbers are listed under Evidence); `[E2 weights: tensor statistics]` is read "
    "from the stored tensors; `[E4 declared: config.json]` is what a file of the model "
    "(or a reported, not re-measured, result) says.")
_AUTO_CLASS = {"text-classification": "AutoModelForSequenceClassification",
               "token-classification": "AutoModelForTokenClassification",
               "question-answering": "AutoModelForQuestionAnswering",
               "fill-mask": "AutoModelForMaskedLM", "text-generation": "AutoModelForCausalLM",
               "text2text-generation": "AutoModelForSeq2SeqLM", "translation": "AutoModelForSeq2SeqLM",
               "image-classification": "AutoModelForImageClassification",
               "automatic-speech-recognition": "AutoModelForSpeechSeq2Seq"}
# architecture numbers quoted in Model Specifications, from a GGUF header or a config.json
GGUF_SPEC_KEYS = ("architecture", "block_count", "embedding_length", "context_length",
                  "vocab_size", "quantization")
CONFIG_SPEC_KEYS = ("model_type", "num_hidden_layers", "hidden_size", "num_attention_heads",
                    "num_key_value_heads", "intermediate_size", "vocab_size",
                    "max_position_embeddings", "hidden_act")


# ============================================================================ helpers
def _quote(text: str, limit: int = CARRY_CHARS) -> str:
    """Declared prose as a Markdown quote, cut at a line or sentence near ``limit``."""
    text = text.strip()
    if len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = max(text.rfind(". ", 0, limit) + 1, limit // 2)
        text = text[:cut].rstrip() + "\n…"
    lines = text.split("\n")
    out, fence = [], False
    for ln in lines:
        if ln.strip().startswith(("```", "~~~")):
            fence = not fence
        out.append(f"> {ln}" if ln.strip() else ">")
    if fence:
        out.append("> ```")
    return "\n".join(out)


class _Draft:
    """Builds one card: the fields of the template, the metadata, the evidence."""

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
                f"{_quote(text)}"), ev

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

    # -- YAML -------------------------------------------------------------------------
    def base_model(self) -> None:
        m, f = self.m, self.f
        declared = list(f.card.base_model) if f.card else []
        rejected = {c.get("declared") for c in f.lineage.conflicts
                    if c.get("kind") in ("wrong_parent", "unrelated", "reversed")}
        edges = f.lineage.parents
        if edges:
            merge = [e for e in edges if e.relation == "merge"]
            chosen = merge if len(merge) >= 2 else [edges[0]]
            self.relation = chosen[0].relation
            for e in chosen:
                ev = self.edge_ev(e)
                hub = match_declared(declared, e.parent)
                if hub is None:
                    found = hub_id_for(f.related.get(e.parent), e.parent, declared)
                    hub = found[0] if found else e.parent
                    if found is None:
                        self.notes.append(f"base_model {e.parent!r} is the parent's name in this "
                                          "lake; replace it with its Hub id before publishing")
                self.base.append((hub, e.parent, ev, e))
            unmatched = [d for d in declared if not any(match_declared([d], lake)
                                                        for _, lake, _, _ in self.base)]
            if unmatched:
                self.notes.append(f"the model's card declares base_model {', '.join(unmatched)}; "
                                  f"the weights point to {', '.join(b[1] for b in self.base)} "
                                  "(the inferred parent is used)")
            for c in f.lineage.conflicts:
                self.notes.append(f"lineage conflict: {c.get('message')}")
        elif declared:
            keep = [d for d in declared if d not in rejected]
            for d in declared:
                if d in rejected:
                    self.notes.append(f"the card's base_model {d} is left out: the weights "
                                      "contradict it (see lineage conflicts)")
            rel = (f.card.base_model_relation or "").strip().lower() if f.card else ""
            self.relation = HUB_RELATIONS.get(rel)
            for d in keep:
                ev = self.declared_card("base_model in the card's metadata", base_model=declared,
                                        base_model_relation=f.card.base_model_relation)
                self.base.append((d, d, ev, None))
            if keep and m.has_weights:
                why = f.lineage.note or "no parent of it is in this lake"
                self.notes.append(f"base_model {', '.join(keep)} is declared, not checked against "
                                  f"weights ({why})")
        elif m.adapter_base:
            ev = self.ev.add("declared", "adapter_config.json", "base model of the adapter",
                             base_model_name_or_path=m.adapter_base)
            self.relation = "adapter"
            self.base.append((m.adapter_base, m.adapter_base, ev, None))
        else:
            kv = (m.config or {}).get("kv") or {}
            gguf_bases = [kv.get(f"general.base_model.{i}.repo_url") or
                          kv.get(f"general.base_model.{i}.name")
                          for i in range(int(kv.get("general.base_model.count") or 0))]
            gguf_bases = [str(b).removeprefix("https://huggingface.co/") for b in gguf_bases if b]
            src = (m.config or {}).get("_name_or_path")
            if gguf_bases:
                ev = self.ev.add("declared", "GGUF header", "general.base_model",
                                 base_models=gguf_bases)
                self.relation = "quantized"
                self.base += [(b, b, ev, None) for b in gguf_bases]
            elif (isinstance(src, str) and re.match(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$", src)
                  and src.rsplit("/", 1)[-1].lower() != m.name.rsplit("/", 1)[-1].lower()):
                ev = self.config_ev("_name_or_path: the checkpoint training started from",
                                    ["_name_or_path"])
                self.base.append((src, src, ev, None))
        if self.base:
            self.meta["base_model"] = self.base[0][0] if len(self.base) == 1 else \
                [b[0] for b in self.base]
            hub_rel = HUB_RELATIONS.get(self.relation or "")
            if hub_rel:
                self.meta["base_model_relation"] = hub_rel
            elif self.relation:
                self.notes.append(f"relation {self.relation!r} has no Hub base_model_relation "
                                  "value; left for the Hub to infer")

    def license(self) -> None:
        f, m = self.f, self.m
        kv = (m.config or {}).get("kv") or {}
        if f.card and f.card.license:
            ev = self.declared_card("license in the card's metadata", license=f.card.license)
            self.meta["license"] = f.card.license
            self.fields["license"] = f"{f.card.license} {ev.marker}"
            return
        if isinstance(kv.get("general.license"), str):
            ev = self.ev.add("declared", "GGUF header", "general.license",
                             license=kv["general.license"])
            self.meta["license"] = kv["general.license"]
            self.fields["license"] = f"{kv['general.license']} {ev.marker}"
            return
        inherited = []
        for _, lake, edge_ev, _ in self.base:
            parent = f.related.get(lake)
            lic = parent.card.license if parent is not None and parent.card else None
            if lic is None and parent is not None:
                lic = ((parent.config or {}).get("kv") or {}).get("general.license")
            if lic and edge_ev.kind == "inferred":
                pev = self.ev.add("declared", f"{lake}/README.md", f"license of {lake}",
                                  license=lic, model=lake)
                inherited.append((lake, str(lic), edge_ev, pev))
        if inherited and len({lic for _, lic, _, _ in inherited}) == 1:
            lake, lic, e1, e2 = inherited[0]
            self.meta["license"] = lic
            self.fields["license"] = (f"{lic}, inherited from its parent {lake} (not declared by "
                                      f"this model: check it) {markers(e1, e2)}")
            self.notes.append(f"license {lic} is inherited from parent {lake}, not declared")
        elif inherited:
            self.notes.append("its parents have different licenses ("
                              + ", ".join(f"{lake}: {lic}" for lake, lic, _, _ in inherited)
                              + "); no license is set")

    def library_and_pipeline(self) -> None:
        f = self.f
        card = f.card
        lib = f.library
        if lib and self.m.has_weights:
            ev = self.ev.add("declared", lib[1], f"library: {lib[2]}", library_name=lib[0])
            self.meta["library_name"] = lib[0]
            if card and card.library_name and card.library_name != lib[0]:
                self.notes.append(f"the card says library_name {card.library_name}; the files "
                                  f"say {lib[0]} ({lib[2]})")
            self.section("library", [ev])
        elif card and card.library_name:
            self.declared_card("library_name in the card's metadata", library_name=card.library_name)
            self.meta["library_name"] = card.library_name
        pipe = f.pipeline
        if pipe and self.m.has_weights:
            self.ev.add("declared", pipe[1], f"pipeline: {pipe[2]}", pipeline_tag=pipe[0])
            self.meta["pipeline_tag"] = pipe[0]
            if card and card.pipeline_tag and card.pipeline_tag != pipe[0]:
                self.notes.append(f"the card says pipeline_tag {card.pipeline_tag}; the "
                                  f"architecture says {pipe[0]} ({pipe[2]})")
        elif card and card.pipeline_tag:
            self.declared_card("pipeline_tag in the card's metadata", pipeline_tag=card.pipeline_tag)
            self.meta["pipeline_tag"] = card.pipeline_tag

    def tags_language_datasets(self) -> None:
        card, m, i = self.f.card, self.m, self.f.insp
        tags: list[str] = list(card.tags) if card else []
        extra = []
        if self.meta.get("library_name") and self.meta["library_name"] != "gguf":
            extra.append(self.meta["library_name"])
        if m.model_type:
            extra.append(str(m.model_type))
        if m.format == "gguf":
            extra.append("gguf")
        if i.quantization:
            extra.append("quantized")
        if self.relation in ("pruned", "merge"):
            extra.append(self.relation)
        for t in extra:
            if t.lower() not in {x.lower() for x in tags}:
                tags.append(t)
        if tags:
            self.meta["tags"] = tags
        if card and card.language:
            ev = self.declared_card("language in the card's metadata", language=card.language)
            self.meta["language"] = card.language if len(card.language) > 1 else card.language[0]
            self.fields["language"] = f"{', '.join(card.language)} {ev.marker}"
        if card and card.datasets:
            self.meta["datasets"] = list(card.datasets)

    def eval_results(self) -> list[Any]:
        from huggingface_hub import EvalResult

        out = []
        for run in self.f.measured:
            ev = self.run_ev(run)
            task_type = TASK_KIND_PIPELINE.get(run.task_kind) or self.meta.get("pipeline_tag") \
                or "other"
            for metric, value in sorted(run.metrics.items()):
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    continue
                out.append(EvalResult(
                    task_type=task_type, task_name=run.task, dataset_type=run.task,
                    dataset_name=run.task, metric_type=metric, metric_value=round(float(value), 4),
                    metric_name=f"{metric} (modellake run {run.id})"))
            self.section("results", [ev])
        return out

    # -- sections ---------------------------------------------------------------------
    def describe_arch(self) -> tuple[str, list[Evidence]]:
        m = self.m
        cfg = m.config or {}
        if m.format == "gguf":
            ev = self.config_ev("architecture and quantization",
                                ["architecture", "quantization", "file_type", "name"])
            q = f", quantized {m.quantization}" if m.quantization else ""
            return f"{m.architecture} model stored as a GGUF file{q}", [ev]
        if m.format == "adapter":
            ev = self.config_ev("adapter type", ["peft_type", "task_type", "r", "lora_alpha"])
            return f"{(m.model_type or 'adapter').upper()} adapter", [ev]
        archs = [str(a) for a in cfg.get("architectures") or []]
        if archs or m.model_type:
            ev = self.config_ev("architecture", ["model_type", "architectures"])
            what = f"{m.model_type} model" if m.model_type else "model"
            return (f"{what} (`{', '.join(archs)}`)" if archs else what), [ev]
        if m.architecture:
            return f"{m.architecture} model (recognized from its tensor names)", [self.weights()]
        return "", []

    def head_text(self) -> tuple[str, list[Evidence]]:
        h = self.f.head
        if h:
            ev = self.ev.add("declared", h["file"], "classification head stored beside the "
                             "encoder", labels=h["labels"], num_labels=h["num_labels"],
                             input_dim=h["input_dim"])
            labels = f" ({', '.join(h['labels'])})" if h["labels"] else ""
            return (f"a linear classification head with {h['num_labels']} labels{labels}, "
                    f"stored in `{h['file']}`", [ev])
        labels = config_labels(self.m)
        if labels:
            ev = self.config_ev("labels of the head", ["id2label"])
            return f"a head with {len(labels)} labels ({', '.join(labels)})", [ev]
        return "", []

    def details(self) -> None:
        m, i = self.m, self.f.insp
        arch, arch_ev = self.describe_arch()
        head, head_ev = self.head_text()
        summary_ev: list[Evidence] = []
        parts = []
        if arch:
            parts.append(f"`{m.name}` is a {arch}")
            summary_ev += arch_ev
        elif m.has_weights:
            parts.append(f"`{m.name}` is a model in this lake ({m.format} format)")
            summary_ev.append(self.ev.add("weights", "tensor statistics", "format",
                                          format=m.format))
        else:
            parts.append(f"`{m.name}` is in this lake as a model card only: its weights are not")
            summary_ev.append(self.ev.add("weights", "tensor statistics", "weights in the lake",
                                          format=m.format, weights_in_lake=False))
        if i.num_parameters and i.weights_in_lake:
            parts.append(f"{',' if ',' in arch else ''}with {count(i.num_parameters)} parameters")
            summary_ev.append(self.weights())
        sentence = " ".join(parts).replace(" ,with", ", with")
        if head:
            sentence += f" and {head}"
            summary_ev += head_ev
        lines = [f"{sentence}. {markers(*summary_ev)}"]
        if self.base:
            rel = self.relation or "derived"
            words = {"finetune": "fine-tuned from", "quantized": "a quantized version of",
                     "pruned": "a pruned version of", "merge": "a merge of",
                     "adapter": "an adapter on", "duplicate": "an identical copy of"}
            how = "inferred from the weights" if self.base[0][3] is not None else "declared"
            names = " and ".join(b[1] for b in self.base)
            lines.append(f"It is {words.get(rel, 'derived from')} {names} ({how}). "
                         f"{markers(*(b[2] for b in self.base))}")
        if i.quantization:
            if i.quantization_source == "detected":
                qev = self.ev.add("weights", "tensor statistics", "quantization detected",
                                  quantization=i.quantization, evidence=i.quantization_evidence)
            else:
                qev = self.config_ev("quantization", ["quantization", "quantization_config",
                                                      "file_type"])
            lines.append(f"Its weights are quantized: {i.quantization}. {qev.marker}")
        self.section("model_description", summary_ev + [b[2] for b in self.base])
        self.fields["model_summary"] = lines[0]
        self.fields["model_description"] = "\n\n".join(lines[1:] or lines)
        if arch:
            self.fields["model_type"] = f"{arch} {markers(*arch_ev)}"
        if self.base:
            self.fields["finetuned_from"] = "; ".join(
                f"{b[0]} ({b[3].relation}, confidence {num(b[3].confidence)})" if b[3] else b[0]
                for b in self.base) + " " + markers(*(b[2] for b in self.base))
        for key, pattern in (("developers", r"^developed by|^developers?$|^model developers?|"
                                            r"^created by|^model creator"),
                             ("funded_by", r"^funded by"), ("shared_by", r"^shared by")):
            got = self.bullet(pattern)
            if got:
                self.fields[key] = got[0]
        me = hub_id_for(self.m, self.m.name) if self.f.card else None
        bases = {b.lower() for b in (self.f.card.base_model if self.f.card else [])}
        if me and me[1] == "the model's own card" and me[0].lower() not in bases:
            ev = self.declared_card("the model's Hub id, as its card writes it", hub_id=me[0])
            self.fields["repo"] = f"https://huggingface.co/{me[0]} {ev.marker}"
        if self.f.card:
            papers = sorted(set(re.findall(r"arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})",
                                           self.f.card.text)))
            papers += [t.split(":", 1)[1] for t in self.f.card.tags if t.startswith("arxiv:")]
            papers = sorted(set(papers))
            if papers:
                ev = self.declared_card("papers the card links", arxiv=papers)
                self.fields["paper"] = ", ".join(f"https://arxiv.org/abs/{p}" for p in papers) \
                    + f" {ev.marker}"

    def uses(self) -> None:
        f = self.f
        pipe = self.meta.get("pipeline_tag")
        lines, evs = [], []
        if pipe and f.pipeline and self.m.has_weights:
            pev = self.ev.add("declared", f.pipeline[1], f"pipeline: {f.pipeline[2]}",
                              pipeline_tag=f.pipeline[0])
            head, head_ev = self.head_text()
            what = head if head else f"the architecture supports it ({f.pipeline[2]})"
            lines.append(f"`{pipe}`: {what}. {markers(pev, *head_ev)}")
            evs += [pev, *head_ev]
        measured = f.measured
        if measured:
            revs = [self.run_ev(r) for r in measured]
            lines.append("Measured in this lake on: " + ", ".join(f"{r.task} ({r.task_kind})"
                                                                  for r in measured)
                         + f" (see Evaluation). {markers(*revs)}")
            evs += revs
        self.fill("direct_use", lines, evs, carry_from="uses")
        kids = f.lineage.children
        if kids:
            evs = [self.edge_ev(e) for e in kids]
            items = [f"- {e.child}: {e.relation} (confidence {num(e.confidence)}) {ev.marker}"
                     for e, ev in zip(kids, evs)]
            self.fields["downstream_use"] = (f"Models in this lake that derive from it, inferred "
                                             f"from the weights: {markers(*evs)}\n\n"
                                             + "\n".join(items))
        carried = self.carry("uses", "downstream_use")
        if carried:
            self.fields["downstream_use"] = "\n\n".join(
                x for x in (self.fields.get("downstream_use"), carried[0]) if x)
        carried = self.carry("uses", "out_of_scope_use")
        if carried:
            self.fields["out_of_scope_use"] = carried[0]

    def limitations(self) -> None:
        f, i = self.f, self.f.insp
        lines, evs = [], []
        if i.quantization:
            if i.quantization_source == "detected":
                ev = self.ev.add("weights", "tensor statistics", "quantization detected",
                                 quantization=i.quantization, evidence=i.quantization_evidence)
                lines.append(f"- The weights are quantized ({i.quantization_evidence}): they "
                             f"carry less precision than full-precision weights. {ev.marker}")
            else:
                ev = self.config_ev("quantization", ["quantization", "quantization_config",
                                                     "file_type"])
                lines.append(f"- The weights are quantized ({i.quantization}): they carry less "
                             f"precision than full-precision weights. {ev.marker}")
            evs.append(ev)
        if i.matrix_zero_fraction is not None and i.matrix_zero_fraction >= 0.05:
            ev = self.ev.add("weights", "tensor statistics", "sparsity",
                             matrix_zero_fraction=i.matrix_zero_fraction,
                             sparse_tensor_count=i.sparse_tensor_count)
            lines.append(f"- {pct(i.matrix_zero_fraction)} of the weight-matrix entries are "
                         f"exactly zero ({i.sparse_tensor_count} sparse tensors). {ev.marker}")
            evs.append(ev)
        if i.outlier_count:
            top = i.top_kurtosis[0] if i.top_kurtosis else None
            ev = self.ev.add("weights", "tensor statistics", "heavy-tailed tensors",
                             outlier_count=i.outlier_count, outlier_kurtosis=i.outlier_kurtosis,
                             top_tensor=top.name if top else None,
                             top_tensor_kurtosis=top.kurtosis if top else None)
            example = f" (largest: `{top.name}`, {num(top.kurtosis)})" if top else ""
            lines.append(f"- {i.outlier_count} tensor(s) have excess kurtosis above "
                         f"{num(i.outlier_kurtosis)}{example}: a few values dominate their range, "
                         f"which per-tensor quantization handles poorly. {ev.marker}")
            evs.append(ev)
        smoke = [r for r in f.measured if (r.config or {}).get("task_smoke")]
        if smoke:
            revs = [self.run_ev(r) for r in smoke]
            sizes = ", ".join(f"{r.task}: {r.n_samples}" for r in smoke)
            lines.append(f"- The measured results come from smoke-size tasks ({sizes} examples): "
                         f"they show that the model runs, not how well it generalizes. "
                         f"{markers(*revs)}")
            evs += revs
        for e in f.lineage.parents:
            parent = f.related.get(e.parent)
            if parent is None or parent.card is None:
                continue
            found = cs.find_field(parent.card, "bias_risks_limitations", "limitations")
            if found:
                pev = self.ev.add("declared", f"{e.parent}/README.md",
                                  f"limitations section of {e.parent}'s card", heading=found[0])
                lines.append(f"- Its parent {e.parent} documents limitations in its own card "
                             f"(section \"{found[0]}\"); they are likely to apply here as well. "
                             f"{markers(self.edge_ev(e), pev)}")
                evs.append(pev)
        carried = self.carry("bias_risks_limitations", "limitations")
        if carried:
            lines.append(carried[0])
            evs.append(carried[1])
        if lines:
            self.fields["bias_risks_limitations"] = "\n".join(
                ln if ln.startswith("- ") else f"\n{ln}\n" for ln in lines).strip()
            self.section("bias_risks_limitations", evs)
        carried = self.carry("bias_risks_limitations", "recommendations")
        if carried:
            self.fields["bias_recommendations"] = carried[0]

    def get_started(self) -> None:
        m, f = self.m, self.f
        lib = self.meta.get("library_name")
        if not m.has_weights or not lib or not f.library:
            return
        lev = self.ev.add("declared", f.library[1], f"library: {f.library[2]}", library_name=lib)
        if m.format == "gguf":
            gguf = next((f.path for f in m.files if f.path.lower().endswith(".gguf")), None)
            where = str(model_dir(m) / gguf) if gguf and not self.repo_id else \
                (self.repo_id or m.source)
        else:
            where = self.repo_id or str(model_dir(m))
        pipe = self.meta.get("pipeline_tag")
        if lib == "sentence-transformers":
            code = ("from sentence_transformers import SentenceTransformer\n\n"
                    f"model = SentenceTransformer({where!r})\n"
                    "embeddings = model.encode([\"An example sentence\"])")
        elif lib == "transformers":
            cls = _AUTO_CLASS.get(pipe or "", "AutoModel")
            code = (f"from transformers import AutoTokenizer, {cls}\n\n"
                    f"tokenizer = AutoTokenizer.from_pretrained({where!r})\n"
                    f"model = {cls}.from_pretrained({where!r})")
        elif lib == "gguf":
            code = f"llama-cli -m {where} -p \"Hello\""
        elif lib == "peft":
            code = ("from transformers import AutoModel\nfrom peft import PeftModel\n\n"
                    f"base = AutoModel.from_pretrained({m.adapter_base!r})\n"
                    f"model = PeftModel.from_pretrained(base, {where!r})")
        else:
            return
        lang = "bash" if lib == "gguf" else "python"
        note = ""
        if f.head:
            hev = self.ev.add("declared", f.head["file"], "classification head stored beside the "
                              "encoder", labels=f.head["labels"], num_labels=f.head["num_labels"],
                              input_dim=f.head["input_dim"])
            note = (f"\n\nThe classification head is a separate safetensors file, "
                    f"`{f.head['file']}` (labels in its metadata); apply it to the pooled "
                    f"embedding. {hev.marker}")
        self.fields["get_started_code"] = (f"It loads with {lib} ({f.library[2]}). {lev.marker}\n\n"
                                           f"```{lang}\n{code}\n```{note}")

    def training(self) -> None:
        f, m = self.f, self.m
        card = f.card
        data_lines = []
        if card and card.datasets:
            ev = self.declared_card("datasets in the card's metadata", datasets=card.datasets)
            data_lines.append(f"Datasets declared by the card: {', '.join(card.datasets)}. "
                              f"{ev.marker}")
        if self.relation in ("quantized", "pruned", "duplicate") and self.base and self.base[0][3]:
            e = self.base[0][3]
            data_lines.append(f"No training of its own: its weights are {e.parent}'s, "
                              f"{'rounded to a low-bit grid' if e.relation == 'quantized' else ''}"
                              f"{'with more entries set to zero' if e.relation == 'pruned' else ''}"
                              f"{'unchanged' if e.relation == 'duplicate' else ''}"
                              f" (see Training Procedure). {self.edge_ev(e).marker}")
        carried = self.carry("training", "training_data")
        if carried:
            data_lines.append(carried[0])
        if data_lines:
            self.fields["training_data"] = "\n\n".join(data_lines)
        proc, evs = [], []
        for hub, lake, ev, e in self.base:
            if e is None:
                continue
            x = e.evidence or {}
            p = e.parent
            if e.relation == "finetune":
                bits = []
                if "relative_distance" in x:
                    bits.append(f"relative weight distance {num(x['relative_distance'])}")
                if "changed_tensors" in x:
                    bits.append(f"{x['changed_tensors']} tensors changed")
                if "identical_tensors" in x:
                    bits.append(f"{pct(x['identical_tensors'])} of tensors identical")
                if "max_update_rank" in x:
                    bits.append(f"largest update rank {x['max_update_rank']}")
                text = f"Fine-tuned from {p}: " + ", ".join(bits) if bits else f"Fine-tuned from {p}"
            elif e.relation == "quantized":
                if "grid_rows" in x:
                    text = (f"Quantized from {p}: {pct(x['grid_rows'])} of the sampled weight rows "
                            f"are {p}'s values rounded to an at-most-8-bit grid")
                elif "cast_tensors" in x:
                    text = (f"Cast from {p}: {pct(x['cast_tensors'])} of the changed tensors are "
                            f"{p}'s rounded to 16 bits")
                else:
                    text = f"Quantized from {p}"
            elif e.relation == "pruned":
                text = f"Pruned from {p}"
                if "zero_fraction_gain" in x:
                    text += f": {pct(x['zero_fraction_gain'])} of the matrix entries newly zero"
                if "kept_equal" in x:
                    text += f", {pct(x['kept_equal'])} of the other weights equal to {p}'s"
            elif e.relation == "merge":
                coefs = x.get("coefficients") or {}
                text = f"Merged from {', '.join(b[1] for b in self.base)}"
                if coefs:
                    text += " (affine fit coefficients " + ", ".join(
                        f"{k}: {num(v)}" for k, v in coefs.items()) + ")"
                if "residual_ratio" in x:
                    text += f", fit residual {num(x['residual_ratio'])} of the distance"
                if any(line.startswith("Merged from") for line in proc):
                    continue
            elif e.relation == "adapter":
                text = f"A low-rank update of {p}"
                if "max_update_rank" in x:
                    text += f" (largest update rank {x['max_update_rank']})"
            elif e.relation == "duplicate":
                text = f"Identical weights to {p}"
            else:
                text = f"{e.relation} of {p}"
            markers_ = [ev] + ([b[2] for b in self.base] if e.relation == "merge" else [])
            proc.append(f"{text}; confidence {num(e.confidence)}. {markers(*uniq(markers_))}")
            evs += markers_
        self.fill("training_procedure", proc, evs, carry_from="training")
        got = self.bullet(r"^training regime|^precision")
        carried = self.carry("training", "hyperparameters")
        if got:
            self.fields["training_regime"] = got[0]
        elif carried:
            self.fields["training_regime"] = f"in the model's own card, quoted below " \
                                             f"{carried[1].marker}\n\n{carried[0]}"
        i = self.f.insp
        if m.has_weights and i.total_size:
            w = self.weights()
            dt = ", ".join(i.dtypes) if i.dtypes else "unknown dtypes"
            text = f"The model's {len(i.files)} files take {mbytes(i.total_size)}"
            if i.weights_nbytes:
                text += f"; its weights take {mbytes(i.weights_nbytes)} ({dt})"
            self.fields["speeds_sizes_times"] = f"{text}. {w.marker}"

    def evaluation(self) -> None:
        f = self.f
        measured, reported = f.measured, f.reported
        if not measured and not reported:
            return
        data_lines, metric_lines, rows, summary = [], [], [], []
        for r in measured:
            ev = self.run_ev(r)
            smoke = ", a smoke-size task" if (r.config or {}).get("task_smoke") else ""
            data_lines.append(f"- **{r.task}**: {r.n_samples} examples ({r.task_kind} task{smoke}; "
                              f"data sha256 {r.dataset_hash[:12]}). {ev.marker}")
            metric_lines.append(f"- **{r.task}**: " + ", ".join(
                f"{k} ({'higher' if higher_is_better(r, k) else 'lower'} is better)"
                for k in sorted(r.metrics)) + f". {ev.marker}")
        for r in measured + reported:
            ev = self.run_ev(r)
            for k, v in sorted(r.metrics.items()):
                if len(rows) >= MAX_RESULT_ROWS:
                    break
                se = (r.stderr or {}).get(k)
                rows.append(f"| {r.task} | {k} | {num(v)} | {num(se) if se is not None else '-'} "
                            f"| {r.trust} | {ev.marker} |")
        if len(rows) >= MAX_RESULT_ROWS:
            self.notes.append(f"only the first {MAX_RESULT_ROWS} result rows are shown")
        if data_lines:
            self.fields["testing_data"] = "\n".join(data_lines)
            self.fields["testing_metrics"] = "\n".join(metric_lines)
        if rows:
            head = ("| Task | Metric | Value | ± stderr | Trust | Evidence |\n"
                    "|---|---|---|---|---|---|")
            self.fields["results"] = head + "\n" + "\n".join(rows)
            if reported:
                self.fields["results"] += "\n\n" + REPORTED_NOTE
        evs = []
        for e in f.lineage.parents:
            pruns = {r.task_hash: r for r in latest_by_task_hash(f.parent_runs.get(e.parent, []))}
            for r in measured:
                pr = pruns.get(r.task_hash)
                if pr is None or not r.task_hash:
                    continue
                common = sorted(set(r.metrics) & set(pr.metrics))
                if not common:
                    continue
                a, b = self.run_ev(r), self.run_ev(pr)
                diffs = ", ".join(f"{k} {num(r.metrics[k])} vs {num(pr.metrics[k])} "
                                  f"({'+' if r.metrics[k] - pr.metrics[k] >= 0 else ''}"
                                  f"{num(r.metrics[k] - pr.metrics[k])})" for k in common)
                summary.append(f"- Against its parent {e.parent} on {r.task}: {diffs}. "
                               f"{markers(a, b, self.edge_ev(e))}")
                evs += [a, b]
        if summary:
            self.fields["results_summary"] = "\n".join(summary)
            self.section("results_summary", evs)

    def examination(self) -> None:
        i = self.f.insp
        if not i.weights_in_lake or not i.groups:
            return
        w = self.ev.add("weights", "tensor statistics", "parameters by module group",
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
            z = self.ev.add("weights", "tensor statistics", "sparsity",
                            matrix_zero_fraction=i.matrix_zero_fraction,
                            zero_fraction=i.zero_fraction,
                            sparse_tensor_count=i.sparse_tensor_count)
            lines.append(f"- {pct(i.zero_fraction)} of all float weights are exactly zero. "
                         f"{z.marker}")
        self.fields["model_examination"] = "\n".join(lines)

    def specs(self) -> None:
        m, i = self.m, self.f.insp
        cfg = m.config or {}
        lines = []
        keys = GGUF_SPEC_KEYS if m.format == "gguf" else CONFIG_SPEC_KEYS
        got = {k: cfg[k] for k in keys if cfg.get(k) is not None}
        if got:
            ev = self.config_ev("architecture numbers", list(got))
            lines.append("- " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in got.items())
                         + f". {ev.marker}")
        if i.num_parameters and i.weights_in_lake:
            w = self.weights()
            lines.append(f"- {count(i.num_parameters)} parameters in {i.num_tensors} tensors. "
                         f"{w.marker}")
        pipe, head = self.meta.get("pipeline_tag"), self.head_text()
        if pipe and self.f.pipeline and m.has_weights:
            pev = self.ev.add("declared", self.f.pipeline[1], f"pipeline: {self.f.pipeline[2]}",
                              pipeline_tag=self.f.pipeline[0])
            what = head[0] if head[0] else self.f.pipeline[2]
            lines.append(f"- Objective: `{pipe}`, {what}. {markers(pev, *head[1])}")
        carried = self.carry("technical_specifications", "architecture")
        if carried:
            lines.append("\n" + carried[0])
        if lines:
            self.fields["model_specs"] = "\n".join(lines)
        if m.has_weights and i.weights_nbytes:
            w = self.weights()
            self.fields["hardware_requirements"] = (
                f"Holding the weights as stored takes {mbytes(i.weights_nbytes)} of memory "
                f"({', '.join(i.dtypes)}). {w.marker}")
        carried = self.carry("technical_specifications", "compute")
        if carried:
            self.fields["compute_infrastructure"] = carried[0]
        sw = []
        if self.f.library and m.has_weights:
            lev = self.ev.add("declared", self.f.library[1], f"library: {self.f.library[2]}",
                              library_name=self.f.library[0])
            sw.append(f"- {self.f.library[0]} ({self.f.library[2]}). {lev.marker}")
        if cfg.get("transformers_version"):
            ev = self.config_ev("transformers version that saved it", ["transformers_version"])
            sw.append(f"- Saved with transformers {cfg['transformers_version']}. {ev.marker}")
        if m.format == "gguf" and cfg.get("gguf_version"):
            ev = self.config_ev("GGUF version", ["gguf_version"])
            sw.append(f"- GGUF version {cfg['gguf_version']}. {ev.marker}")
        carried = self.carry("technical_specifications", "software")
        if carried:
            sw.append("\n" + carried[0])
        if sw:
            self.fields["software"] = "\n".join(sw)

    def environment_and_citation(self) -> None:
        for key, pattern in (("hardware_type", r"^hardware type"), ("hours_used", r"^hours used"),
                             ("cloud_provider", r"^cloud provider"),
                             ("cloud_region", r"^compute region"),
                             ("co2_emitted", r"^carbon emitted|^co2")):
            got = self.bullet(pattern)
            if got:
                self.fields[key] = got[0]
        card = self.f.card
        if card is None:
            return
        for b in cs.split_blocks(card.text):
            if b.level and re.search(r"citation|bibtex|\bcite\b|reference", b.key):
                fence = re.search(r"```[^\n]*\n.*?```", b.subtree, re.S)
                if fence:
                    ev = self.declared_card(f"citation in section {b.heading!r} of the card",
                                            heading=b.heading)
                    self.fields["citation"] = f"From the model's own card {ev.marker}:\n\n" \
                                              f"{fence.group(0)}"
                    return

    # -- the LLM hook -------------------------------------------------------------------
    def apply_writer(self) -> None:
        if self.writer is None:
            return
        for key in WRITER_SECTIONS:
            evs = uniq(self.section_ev.get(key, []))
            if not evs or not self.fields.get(key):
                continue
            payload = [dict(e.to_dict(), marker=e.marker) for e in evs]
            try:
                text = self.writer(key, payload)
            except Exception as exc:  # noqa: BLE001 - a failing writer leaves the draft as is
                self.notes.append(f"writer failed on {key} ({type(exc).__name__}); "
                                  "the deterministic text is kept")
                continue
            bad = unsupported_numbers(text or "", evs, self.m.name)
            if not text or not text.strip() or bad:
                why = f"numbers not in the evidence: {', '.join(bad[:5])}" if bad else "empty text"
                self.notes.append(f"writer text for {key} rejected ({why}); "
                                  "the deterministic text is kept")
                continue
            text = text.strip()
            missing = [e.marker for e in evs if e.marker not in text]
            self.fields[key] = text + (" " + " ".join(missing) if missing else "")


def latest_by_task_hash(runs: list[BenchmarkRun]) -> list[BenchmarkRun]:
    out: dict[str, BenchmarkRun] = {}
    for r in sorted(runs, key=lambda r: r.id or 0, reverse=True):
        if r.trust == "measured" and r.task_hash and r.task_hash not in out:
            out[r.task_hash] = r
    return list(out.values())


# ============================================================================ numbers
def _unknown_label(missing: str) -> str:
    section, _, label = missing.partition(": ")
    return f"{label} ({cs.SECTIONS[section][0]})"


def render(draft: _Draft, model_id: str, unknowns: list[str] | None = None) -> tuple[str, Any]:
    """The card text and its ``ModelCard``, from the template shipped in the package."""
    from huggingface_hub import ModelCard, ModelCardData

    meta = dict(draft.meta)
    eval_results = meta.pop("eval_results", None)
    data = ModelCardData(
        base_model=meta.pop("base_model", None), license=meta.pop("license", None),
        language=meta.pop("language", None), library_name=meta.pop("library_name", None),
        pipeline_tag=meta.pop("pipeline_tag", None), tags=meta.pop("tags", None),
        datasets=meta.pop("datasets", None), eval_results=eval_results or None,
        model_name=model_id if eval_results else None, **meta)
    evidence = []
    for e in draft.ev.items:
        shown = _evidence_summary(e)
        evidence.append({"id": e.id, "kind": e.kind, "source": e.source, "claim": e.claim,
                         "shown": shown})
    fields = {k: v for k, v in draft.fields.items() if v}
    card = ModelCard.from_template(
        data, template_path=str(TEMPLATE_PATH), model_id=model_id, evidence=evidence,
        unknowns=unknowns or [], notes=draft.notes, glossary=GLOSSARY,
        model_card_authors=("Drafted by modellake from the evidence listed above "
                            + ("(prose sections written by a language model from that evidence "
                               "only)" if draft.writer else "(deterministic, no language model)")
                            + "; review before publishing."),
        **_template_defaults(fields))
    return str(card), card


def _template_defaults(fields: dict[str, str]) -> dict[str, str]:
    """Every template variable (the ones the YAML also sets are overridden, not inherited)."""
    keys = ("model_summary", "model_description", "developers", "funded_by", "shared_by",
            "model_type", "language", "license", "finetuned_from", "repo", "paper", "demo",
            "direct_use", "downstream_use", "out_of_scope_use", "bias_risks_limitations",
            "bias_recommendations", "get_started_code", "training_data", "training_procedure",
            "preprocessing", "training_regime", "speeds_sizes_times", "testing_data",
            "testing_factors", "testing_metrics", "results", "results_summary",
            "model_examination", "hardware_type", "hours_used", "cloud_provider",
            "cloud_region", "co2_emitted", "model_specs", "compute_infrastructure",
            "hardware_requirements", "software", "citation", "model_card_contact")
    return {k: fields.get(k, "") for k in keys}


def _evidence_summary(e: Evidence) -> str:
    d = e.data
    if e.kind in ("measured",) or e.source.startswith("run "):
        ms = ", ".join(f"{k}={num(v)}" for k, v in sorted((d.get("metrics") or {}).items()))
        return (f"task {d.get('task')}, {ms}, n={d.get('n_samples')}, model {d.get('model')}"
                f"@{d.get('model_version')}, {d.get('trust')}")
    if e.kind == "inferred":
        ev = d.get("evidence") or {}
        flat = ", ".join(f"{k}={num(v) if not isinstance(v, (dict, list)) else v}"
                         for k, v in ev.items())
        return f"{d.get('relation')}, confidence {num(d.get('confidence'))}; {flat}"
    parts = []
    for k, v in d.items():
        if v is None or v == [] or v == {}:
            continue
        if isinstance(v, float):
            v = num(v)
        s = f"{k}={v}"
        parts.append(s if len(s) <= 160 else s[:157] + "...")
    return ", ".join(parts)


# ============================================================================ the tool
def draft_card(catalog: Catalog, name: str, *, writer: Writer | None = None,
               repo_id: str | None = None, infer_lineage: bool = True) -> CardDraft:
    """Draft a Hugging Face model card for ``name`` (or ``name@N``) from the lake's evidence.

    ``writer(section, evidence) -> str``, when given, writes the prose of the sections in
    ``WRITER_SECTIONS`` from that section's evidence only (a list of dicts with ``id``,
    ``kind``, ``source``, ``claim``, ``data`` and ``marker``); text holding a number that
    is not in the evidence is rejected and the deterministic text kept. ``repo_id`` is
    the Hub id the card will be published under (used in the code snippet; default: the
    model's path in the lake). ``infer_lineage=False`` uses only lineage edges already
    cached. Raises ``NotFoundError`` for an unknown model.
    """
    from modellake.tools.formats.card import parse_card

    facts = gather(catalog, name, infer_lineage=infer_lineage)
    d = _Draft(facts, writer, repo_id)
    if facts.lineage.note and facts.model.has_weights:
        d.notes.append(facts.lineage.note)
    if facts.runs_note:
        d.notes.append(facts.runs_note)
    d.base_model()
    d.license()
    d.library_and_pipeline()
    d.tags_language_datasets()
    results = d.eval_results()
    if results:
        d.meta["eval_results"] = results
    d.details()
    d.uses()
    d.limitations()
    d.get_started()
    d.training()
    d.evaluation()
    d.examination()
    d.specs()
    d.environment_and_citation()
    d.apply_writer()
    model_id = repo_id or facts.model.name
    text, card = render(d, model_id)
    score = cs.score_card(parse_card(text))
    unknowns = [_unknown_label(m) for m in score.missing if not m.startswith("metadata:")]
    if unknowns:  # the same card, with what it lacks listed under "More Information"
        text, card = render(d, model_id, unknowns)
    metadata = card.data.to_dict()
    return CardDraft(
        model=facts.model.name, text=text, metadata=metadata,
        evidence=[e.to_dict() | {"marker": e.marker} for e in d.ev.items],
        missing=score.missing, completeness=dict(score.sections),
        version=facts.model.version, overall=score.overall, notes=list(d.notes),
        prose="writer" if writer else "deterministic")
