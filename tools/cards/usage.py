"""Uses, Bias, Risks and Limitations, and How to Get Started with the Model."""
from __future__ import annotations

from modellake.tools.cards import score as cs
from modellake.tools.cards.details import head_text
from modellake.tools.cards.drafting import Draft
from modellake.tools.cards.facts import Evidence, markers, model_dir
from modellake.tools.cards.text import num, pct

_AUTO_CLASS = {"text-classification": "AutoModelForSequenceClassification",
               "token-classification": "AutoModelForTokenClassification",
               "question-answering": "AutoModelForQuestionAnswering",
               "fill-mask": "AutoModelForMaskedLM", "text-generation": "AutoModelForCausalLM",
               "text2text-generation": "AutoModelForSeq2SeqLM", "translation": "AutoModelForSeq2SeqLM",
               "image-classification": "AutoModelForImageClassification",
               "automatic-speech-recognition": "AutoModelForSpeechSeq2Seq"}
Limitation = tuple[str, list[Evidence]]  # a line of the section, the evidence it adds to it


# -- uses -------------------------------------------------------------------------------
def uses(d: Draft) -> None:
    """Direct use (pipeline, measured tasks), downstream use (derived models), out of scope."""
    _direct_use(d)
    _downstream_use(d)
    carried = d.carry("uses", "out_of_scope_use")
    if carried:
        d.fields["out_of_scope_use"] = carried[0]


def _direct_use(d: Draft) -> None:
    f = d.f
    pipe = d.meta.get("pipeline_tag")
    lines, evs = [], []
    if pipe and f.pipeline and d.m.has_weights:
        pev = d.pipeline_ev()
        head, head_ev = head_text(d)
        what = head if head else f"the architecture supports it ({f.pipeline[2]})"
        lines.append(f"`{pipe}`: {what}. {markers(pev, *head_ev)}")
        evs += [pev, *head_ev]
    measured = f.measured
    if measured:
        revs = [d.run_ev(r) for r in measured]
        lines.append("Measured in this lake on: " + ", ".join(f"{r.task} ({r.task_kind})"
                                                              for r in measured)
                     + f" (see Evaluation). {markers(*revs)}")
        evs += revs
    d.fill("direct_use", lines, evs, carry_from="uses")


def _downstream_use(d: Draft) -> None:
    kids = d.f.lineage.children
    if kids:
        evs = [d.edge_ev(e) for e in kids]
        items = [f"- {e.child}: {e.relation} (confidence {num(e.confidence)}) {ev.marker}"
                 for e, ev in zip(kids, evs)]
        d.fields["downstream_use"] = (f"Models in this lake that derive from it, inferred "
                                      f"from the weights: {markers(*evs)}\n\n" + "\n".join(items))
    carried = d.carry("uses", "downstream_use")
    if carried:
        d.fields["downstream_use"] = "\n\n".join(
            x for x in (d.fields.get("downstream_use"), carried[0]) if x)


# -- limitations ------------------------------------------------------------------------
def limitations(d: Draft) -> None:
    """What the weights and runs show (quantized, sparse, heavy-tailed, smoke-size results),
    the parents' documented limitations, and the model's own card text."""
    found = [x for x in (_quantized(d), _sparse(d), _heavy_tailed(d), _smoke_sized(d))
             if x is not None]
    found += _parents_limitations(d)
    carried = d.carry("bias_risks_limitations", "limitations")
    if carried:
        found.append((carried[0], [carried[1]]))
    if found:
        d.fields["bias_risks_limitations"] = "\n".join(
            ln if ln.startswith("- ") else f"\n{ln}\n" for ln, _ in found).strip()
        d.section("bias_risks_limitations", [e for _, evs in found for e in evs])
    carried = d.carry("bias_risks_limitations", "recommendations")
    if carried:
        d.fields["bias_recommendations"] = carried[0]


def _quantized(d: Draft) -> Limitation | None:
    i = d.f.insp
    if not i.quantization:
        return None
    ev = d.quantization_ev()
    how = i.quantization_evidence if i.quantization_source == "detected" else i.quantization
    return (f"- The weights are quantized ({how}): they carry less precision than "
            f"full-precision weights. {ev.marker}"), [ev]


def _sparse(d: Draft) -> Limitation | None:
    i = d.f.insp
    if i.matrix_zero_fraction is None or i.matrix_zero_fraction < 0.05:
        return None
    ev = d.ev.add("weights", "tensor statistics", "sparsity",
                  matrix_zero_fraction=i.matrix_zero_fraction,
                  sparse_tensor_count=i.sparse_tensor_count)
    return (f"- {pct(i.matrix_zero_fraction)} of the weight-matrix entries are "
            f"exactly zero ({i.sparse_tensor_count} sparse tensors). {ev.marker}"), [ev]


def _heavy_tailed(d: Draft) -> Limitation | None:
    i = d.f.insp
    if not i.outlier_count:
        return None
    top = i.top_kurtosis[0] if i.top_kurtosis else None
    ev = d.ev.add("weights", "tensor statistics", "heavy-tailed tensors",
                  outlier_count=i.outlier_count, outlier_kurtosis=i.outlier_kurtosis,
                  top_tensor=top.name if top else None,
                  top_tensor_kurtosis=top.kurtosis if top else None)
    example = f" (largest: `{top.name}`, {num(top.kurtosis)})" if top else ""
    return (f"- {i.outlier_count} tensor(s) have excess kurtosis above "
            f"{num(i.outlier_kurtosis)}{example}: a few values dominate their range, "
            f"which per-tensor quantization handles poorly. {ev.marker}"), [ev]


def _smoke_sized(d: Draft) -> Limitation | None:
    smoke = [r for r in d.f.measured if (r.config or {}).get("task_smoke")]
    if not smoke:
        return None
    revs = [d.run_ev(r) for r in smoke]
    sizes = ", ".join(f"{r.task}: {r.n_samples}" for r in smoke)
    return (f"- The measured results come from smoke-size tasks ({sizes} examples): "
            f"they show that the model runs, not how well it generalizes. "
            f"{markers(*revs)}"), revs


def _parents_limitations(d: Draft) -> list[Limitation]:
    """A pointer to each inferred parent whose own card documents limitations."""
    out = []
    for e in d.f.lineage.parents:
        parent = d.f.related.get(e.parent)
        if parent is None or parent.card is None:
            continue
        found = cs.find_field(parent.card, "bias_risks_limitations", "limitations")
        if found:
            pev = d.ev.add("declared", f"{e.parent}/README.md",
                           f"limitations section of {e.parent}'s card", heading=found[0])
            out.append((f"- Its parent {e.parent} documents limitations in its own card "
                        f"(section \"{found[0]}\"); they are likely to apply here as well. "
                        f"{markers(d.edge_ev(e), pev)}", [pev]))
    return out


# -- get started ------------------------------------------------------------------------
def get_started(d: Draft) -> None:
    """A loading snippet for the model's library, pointing at the files or the Hub id."""
    m, f = d.m, d.f
    lib = d.meta.get("library_name")
    if not m.has_weights or not lib or not f.library:
        return
    lev = d.library_ev()
    code = _load_code(d, lib, _where(d))
    if code is None:
        return
    lang = "bash" if lib == "gguf" else "python"
    d.fields["get_started_code"] = (f"It loads with {lib} ({f.library[2]}). {lev.marker}\n\n"
                                    f"```{lang}\n{code}\n```{_head_note(d)}")


def _where(d: Draft) -> str:
    """What the snippet loads: the Hub id it will be published under, else the files."""
    m = d.m
    if m.format != "gguf":
        return d.repo_id or str(model_dir(m))
    gguf = next((x.path for x in m.files if x.path.lower().endswith(".gguf")), None)
    return str(model_dir(m) / gguf) if gguf and not d.repo_id else (d.repo_id or m.source)


def _load_code(d: Draft, lib: str, where: str) -> str | None:
    if lib == "sentence-transformers":
        return ("from sentence_transformers import SentenceTransformer\n\n"
                f"model = SentenceTransformer({where!r})\n"
                "embeddings = model.encode([\"An example sentence\"])")
    if lib == "transformers":
        cls = _AUTO_CLASS.get(d.meta.get("pipeline_tag") or "", "AutoModel")
        return (f"from transformers import AutoTokenizer, {cls}\n\n"
                f"tokenizer = AutoTokenizer.from_pretrained({where!r})\n"
                f"model = {cls}.from_pretrained({where!r})")
    if lib == "gguf":
        return f"llama-cli -m {where} -p \"Hello\""
    if lib == "peft":
        return ("from transformers import AutoModel\nfrom peft import PeftModel\n\n"
                f"base = AutoModel.from_pretrained({d.m.adapter_base!r})\n"
                f"model = PeftModel.from_pretrained(base, {where!r})")
    return None


def _head_note(d: Draft) -> str:
    """How to apply a classification head stored beside the encoder."""
    h = d.f.head
    if not h:
        return ""
    return (f"\n\nThe classification head is a separate safetensors file, "
            f"`{h['file']}` (labels in its metadata); apply it to the pooled "
            f"embedding. {d.head_ev().marker}")
